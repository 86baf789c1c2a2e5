//! `data.primus_connection_test`: what `ppin -t` does. Logs in at the HSM
//! with the stored permanent secret of each selected user; any failed
//! login fails the read with the HSM's answer.

use ppin::{PpinError, TestFilter};
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
    Schema::new()
        .markdown_description(
            "What `ppin -t` does: logs in at the HSM with the stored permanent secret of each selected user, one \
             after the other, and fails when any login fails (a failed login is never retried). Without `user` \
             and `slot_id`, every user with a stored permanent secret is tested.",
        )
        .attribute(Attribute::optional("user", Type::String).markdown_description("Test only this user (`ppin -t --user`)."))
        .attribute(
            Attribute::optional("slot_id", Type::Number)
                .markdown_description("Test only users on this slot id (`ppin -t --slotid`)."),
        )
        .attribute(Attribute::computed("logins", Type::list(login)).markdown_description(
            "One entry per successful login: `user`, `slot_id`, `hsm` (its name in `primus.cfg`), `address` \
             (`host:port`) and `server` (the HSM's name and version).",
        ))
}

// --------------------------------------------------------- state types

/// One successful login.
#[derive(Serialize, Deserialize)]
pub(crate) struct Login {
    user: String,
    slot_id: u32,
    /// Null when the engine cannot tell (the vendor's tool does not say).
    hsm: Option<String>,
    address: Option<String>,
    server: Option<String>,
}

/// Arguments and results of `data.primus_connection_test`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ConnectionTestState {
    user: Option<String>,
    slot_id: Option<u32>,
    logins: Option<Vec<Login>>,
}

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
        let filter = TestFilter::new(state.user.clone(), state.slot_id);
        let tests = req
            .client
            .ppin(TYPE_NAME)?
            .test(&filter)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, Some(AttributePath::root("user"))))?;
        let mut diags = Diagnostics::new();
        let mut logins = Vec::new();
        for test in tests {
            match test.outcome {
                Ok(served) => logins.push(Login {
                    user: served.user,
                    slot_id: served.slot_id,
                    hsm: served.hsm,
                    address: served.address,
                    server: served.server,
                }),
                // Without an explicit user, users that were never onboarded are not tested, as there is nothing to log in with.
                Err(PpinError::NotConfigured { .. }) if !explicit_user => {}
                Err(e) => diags.push(ppin_error(&e, TYPE_NAME, None)),
            }
        }
        if logins.is_empty() && !diags.has_errors() {
            diags.error(
                "No Permanent Secret To Test",
                "None of the selected users has a permanent secret in .secrets.cfg; add one with \
                 primus_permanent_secret first, or select a user with `user`.",
            );
        }
        diags.into_result()?;
        state.logins = Some(logins);
        Ok(DataReadResponse::new(state))
    }
}

#[cfg(test)]
mod tests;
