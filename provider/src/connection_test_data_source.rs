//! `data.primus_connection_test`: what `ppin -t` does. Connects to each
//! selected HSM and logs in each selected slot with its stored permanent
//! secret; any failed connection or login fails the read with its reason.
//! The tool's version (`ppin -v`) is recorded beside the report.

use std::collections::HashSet;

use ppin::TestFilter;
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    data_source::{DataReadRequest, DataReadResponse, DataSource},
    diag::{AttributePath, Diagnostics},
    schema::{Attribute, Schema},
    value::Type,
};

use crate::client::Client;
use crate::diagnostics::{fail, ppin_error};
use crate::host::{host_block, HostConfig};

pub(crate) const TYPE_NAME: &str = "primus_connection_test";

pub(crate) struct ConnectionTestDataSource;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    let login = Type::object([
        ("user", Type::String),
        ("slot_id", Type::Number),
        ("hsm", Type::String),
        ("address", Type::String),
        ("server", Type::String),
    ]);
    let slot = Type::object([
        ("slot", Type::String),
        ("slot_id", Type::Number),
        ("user", Type::String),
        ("outcome", Type::String),
    ]);
    let hsm = Type::object([
        ("name", Type::String),
        ("host", Type::String),
        ("port", Type::Number),
        ("firmware", Type::String),
        ("outcome", Type::String),
        ("slots", Type::list(slot)),
    ]);
    Schema::new()
        .markdown_description(
            "What `ppin -t` (`ppin --test`) does: connects to each selected HSM and logs in each selected slot \
             with its stored permanent secret, one after the other, and fails when any connection or login fails \
             (nothing is retried). Without filters, every HSM and slot of `primus.cfg` is tested; slots of users \
             without a stored permanent secret are reported, not failed, unless `user` names them.",
        )
        .block(host_block())
        .attribute(Attribute::optional("user", Type::String).markdown_description("Test only the slots of this user (`ppin -t --user`)."))
        .attribute(
            Attribute::optional("slot_id", Type::Number)
                .markdown_description("Test only slots with this id (`ppin -t --slotid`)."),
        )
        .attribute(Attribute::optional("hsm", Type::String).markdown_description(
            "Test only this HSM (`ppin -t --hsm`): its name in `primus.cfg` (`hsm0`) or its host, as written there.",
        ))
        .attribute(
            Attribute::optional("slot", Type::String)
                .markdown_description("Test only slots of this name in `primus.cfg`, e.g. `slot0` (`ppin -t --slot`)."),
        )
        .attribute(Attribute::computed("logins", Type::list(login)).markdown_description(
            "One entry per successful login: `user`, `slot_id`, `hsm` (its name in `primus.cfg`), `address` \
             (`host:port`) and `server` (the HSM's name and version, or with the vendor's tool its firmware).",
        ))
        .attribute(Attribute::computed("hsms", Type::list(hsm)).markdown_description(
            "The report, one entry per tested HSM: `name` (`hsm0`), `host` and `port` as the tool connected to \
             them, `firmware` (the built-in engine: the server's name and version), `outcome` (`OK`), and \
             `slots`, each with `slot` (`slot0`), `slot_id`, `user` and `outcome` (`OK`, or why a user without \
             a permanent secret was not logged in).",
        ))
        .attribute(Attribute::computed("tool_version", Type::String).markdown_description(
            "The first line of `ppin -v`, e.g. `Primus HSM PKCS#11 2.2.4` with the vendor's tool; with the \
             built-in engine, this provider's `ppin` version.",
        ))
}

// --------------------------------------------------------- state types

/// One successful login.
#[derive(Serialize, Deserialize)]
pub(crate) struct Login {
    user: String,
    slot_id: u32,
    /// Null when the engine cannot tell.
    hsm: Option<String>,
    address: Option<String>,
    server: Option<String>,
}

/// One slot of the report.
#[derive(Serialize, Deserialize)]
pub(crate) struct SlotOutcome {
    slot: String,
    slot_id: u32,
    user: String,
    outcome: String,
}

/// One HSM of the report.
#[derive(Serialize, Deserialize)]
pub(crate) struct HsmOutcome {
    name: String,
    host: String,
    port: u16,
    firmware: Option<String>,
    outcome: String,
    slots: Vec<SlotOutcome>,
}

/// Arguments and results of `data.primus_connection_test`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ConnectionTestState {
    user: Option<String>,
    slot_id: Option<u32>,
    hsm: Option<String>,
    slot: Option<String>,
    host: Option<HostConfig>,
    logins: Option<Vec<Login>>,
    hsms: Option<Vec<HsmOutcome>>,
    tool_version: Option<String>,
}

/// What the outcome attributes say of a success.
const OK: &str = "OK";

// ---------------------------------------------------- data source impl

#[async_trait]
impl DataSource<Client> for ConnectionTestDataSource {
    type State = ConnectionTestState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        req: DataReadRequest<'_, Client, ConnectionTestState>,
    ) -> Result<DataReadResponse<ConnectionTestState>, Diagnostics> {
        let mut state = req.config;
        let explicit_user = state.user.is_some();
        let filter = TestFilter::new(state.user.clone(), state.slot_id)
            .with_hsm(state.hsm.clone())
            .with_slot(state.slot.clone());
        let ppin = req.client.ppin(TYPE_NAME, state.host.as_ref()).await?;
        let report = ppin
            .test(&filter)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, Some(AttributePath::root("user"))))?;
        // Users never onboarded have nothing to log in with: unless named, their slots are reported, not failed.
        // The listing says which they are whatever the engine (the vendor's report does not).
        let onboarded: HashSet<String> = if explicit_user {
            HashSet::new()
        } else {
            let listing = ppin.list().await.map_err(|e| fail(&e, TYPE_NAME, None))?;
            listing
                .users
                .into_iter()
                .filter(|u| u.configured)
                .map(|u| u.user)
                .collect()
        };
        let mut diags = Diagnostics::new();
        let mut logins = Vec::new();
        let mut hsms = Vec::new();
        for hsm in report.hsms {
            let (firmware, outcome) = match hsm.firmware {
                Ok(firmware) => (Some(firmware), OK.to_owned()),
                Err(e) => {
                    diags.push(ppin_error(&e, TYPE_NAME, Some(AttributePath::root("hsm"))));
                    (None, e.to_string())
                }
            };
            let mut slots = Vec::new();
            for slot in hsm.slots {
                let outcome = match slot.outcome {
                    Ok(served) => {
                        logins.push(Login {
                            user: served.user,
                            slot_id: served.slot_id,
                            hsm: served.hsm,
                            address: served.address,
                            server: served.server,
                        });
                        OK.to_owned()
                    }
                    Err(e) if !explicit_user && !onboarded.contains(&slot.user) => e.to_string(),
                    Err(e) => {
                        diags.push(ppin_error(&e, TYPE_NAME, None));
                        e.to_string()
                    }
                };
                slots.push(SlotOutcome {
                    slot: slot.slot,
                    slot_id: slot.slot_id,
                    user: slot.user,
                    outcome,
                });
            }
            hsms.push(HsmOutcome {
                name: hsm.hsm,
                host: hsm.host,
                port: hsm.port,
                firmware,
                outcome,
                slots,
            });
        }
        if logins.is_empty() && !diags.has_errors() {
            diags.error(
                "No Permanent Secret To Test",
                "None of the selected users has a permanent secret in .secrets.cfg; add one with \
                 primus_permanent_secret first, or select a user with `user`.",
            );
        }
        diags.into_result()?;
        let versions = ppin
            .versions()
            .await
            .map_err(|e| fail(&e, TYPE_NAME, None))?;
        state.logins = Some(logins);
        state.hsms = Some(hsms);
        state.tool_version = Some(versions.tool);
        Ok(DataReadResponse::new(state))
    }
}

#[cfg(test)]
mod tests;
