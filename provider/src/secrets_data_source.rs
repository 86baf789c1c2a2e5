//! `data.primus_secrets`: what `ppin -l` lists. Reads `primus.cfg` and the
//! entry names of `.secrets.cfg`; decrypts nothing and returns no secret.

use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    data_source::{DataReadRequest, DataReadResponse, DataSource},
    diag::Diagnostics,
    schema::{Attribute, Schema},
    value::Type,
};

use crate::client::Client;
use crate::client::CONFIGURED;
use crate::diagnostics::fail;
use crate::host::{host_block, HostConfig};

pub(crate) const TYPE_NAME: &str = "primus_secrets";

/// `status` of a user or proxy without a stored secret, as `ppin -l` prints it.
const MISSING: &str = "MISSING";

pub(crate) struct SecretsDataSource;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    let user = Type::object([
        ("name", Type::String),
        ("slot_id", Type::Number),
        ("proxy_user", Type::String),
        ("status", Type::String),
        ("hsms", Type::list(Type::String)),
    ]);
    let proxy = Type::object([
        ("name", Type::String),
        ("status", Type::String),
        ("users", Type::list(Type::String)),
    ]);
    Schema::new()
        .markdown_description(
            "What `ppin -l` shows: every slot user and service proxy user of `primus.cfg`, with whether \
             `.secrets.cfg` holds its secret. Nothing is decrypted and no secret is returned.",
        )
        .block(host_block())
        .attribute(Attribute::computed("config_file", Type::String).markdown_description("The `primus.cfg` read."))
        .attribute(
            Attribute::computed("secrets_file", Type::String).markdown_description("The `.secrets.cfg` read."),
        )
        .attribute(Attribute::computed("users", Type::list(user)).markdown_description(
            "Slot users in `primus.cfg` order: `name`, `slot_id`, `proxy_user` (null without a CloudHSM proxy), \
             `status` (`Configured` or `MISSING`) and `hsms` (the HSM names serving it, in the order tried).",
        ))
        .attribute(Attribute::computed("service_proxies", Type::list(proxy)).markdown_description(
            "Service proxy users: `name`, `status` (`Configured` or `MISSING`) and `users` (the slot users behind it).",
        ))
}

// --------------------------------------------------------- state types

/// One slot user of `primus.cfg`.
#[derive(Serialize, Deserialize)]
pub(crate) struct UserEntry {
    name: String,
    slot_id: u32,
    proxy_user: Option<String>,
    status: String,
    hsms: Vec<String>,
}

/// One service proxy user of `primus.cfg`.
#[derive(Serialize, Deserialize)]
pub(crate) struct ProxyEntry {
    name: String,
    status: String,
    users: Vec<String>,
}

/// The results of `data.primus_secrets`.
#[derive(Serialize, Deserialize)]
pub(crate) struct SecretsState {
    host: Option<HostConfig>,
    config_file: Option<String>,
    secrets_file: Option<String>,
    users: Option<Vec<UserEntry>>,
    service_proxies: Option<Vec<ProxyEntry>>,
}

// ---------------------------------------------------- data source impl

#[async_trait]
impl DataSource<Client> for SecretsDataSource {
    type State = SecretsState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        req: DataReadRequest<'_, Client, SecretsState>,
    ) -> Result<DataReadResponse<SecretsState>, Diagnostics> {
        let host = req.config.host;
        let ppin = req.client.ppin(TYPE_NAME, host.as_ref()).await?;
        let config = ppin.config().map_err(|e| fail(&e, TYPE_NAME, None))?;
        let listing = ppin.list().await.map_err(|e| fail(&e, TYPE_NAME, None))?;
        let users = listing
            .users
            .into_iter()
            .map(|u| UserEntry {
                name: u.user,
                slot_id: u.slot_id,
                proxy_user: u.proxy_user,
                status: status(u.configured),
                hsms: u.hsms,
            })
            .collect();
        let proxies = listing
            .proxies
            .into_iter()
            .map(|p| ProxyEntry {
                name: p.proxy_user,
                status: status(p.configured),
                users: p.users,
            })
            .collect();
        Ok(DataReadResponse::new(SecretsState {
            config_file: Some(config.path().display().to_string()),
            secrets_file: Some(ppin.secrets_file().display().to_string()),
            host,
            users: Some(users),
            service_proxies: Some(proxies),
        }))
    }
}

fn status(configured: bool) -> String {
    if configured { CONFIGURED } else { MISSING }.to_owned()
}

#[cfg(test)]
mod tests;
