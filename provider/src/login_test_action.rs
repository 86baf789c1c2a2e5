//! `action "primus_login_test"`: what `ppin -t --user USER` does, on demand
//! (`terraform apply -invoke=action.primus_login_test.NAME`), so a login
//! is spent only when someone asks for one, never on every plan. The login
//! itself is the door's ([`ppin::Ppin::login`]), as for
//! `data.primus_connection_test`.

use ppin::Served;
use serde::Deserialize;
use tfplug::{
    action::{Action, InvokeRequest},
    async_trait,
    diag::{AttributePath, Diagnostic, Diagnostics},
    schema::{Attribute, Schema},
    value::Type,
};

use crate::client::Client;
use crate::diagnostics::ppin_error;
use crate::host::{host_block, HostConfig};

pub(crate) const TYPE_NAME: &str = "primus_login_test";

pub(crate) struct LoginTestAction;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    Schema::new()
        .markdown_description(
            "Logs in at the HSM as one slot user with its stored permanent secret, as `ppin -t --user USER` \
             does, when invoked: `terraform apply -invoke=action.primus_login_test.NAME`. Unlike \
             `data.primus_connection_test`, which logs in on every plan, it costs a login only when asked for. \
             A failed login fails the run with the HSM's answer and is never retried; a user without a stored \
             permanent secret fails before anything is sent to the HSM.",
        )
        .attribute(
            Attribute::required("user", Type::String)
                .markdown_description("The slot user (`user_name` in `primus.cfg`) to log in as."),
        )
        .block(host_block())
}

// --------------------------------------------------------- state types

/// The `config` block of `action "primus_login_test"`.
#[derive(Deserialize)]
pub(crate) struct LoginTestConfig {
    user: String,
    host: Option<HostConfig>,
}

// --------------------------------------------------------- action impl

#[async_trait]
impl Action<Client> for LoginTestAction {
    type Config = LoginTestConfig;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn invoke(
        &self,
        req: InvokeRequest<'_, Client, LoginTestConfig>,
    ) -> Result<Diagnostics, Diagnostics> {
        let user = req.config.user;
        let ppin = req.client.ppin(TYPE_NAME, req.config.host.as_ref()).await?;
        req.progress.report(format!(
            "Logging in at the HSM as '{user}' with its stored permanent secret (ppin -t --user {user})"
        ));
        match ppin.login(&user).await {
            Ok(served) => {
                req.progress.report(format!(
                    "Login as '{user}' succeeded{}",
                    where_served(&served)
                ));
                Ok(Diagnostics::new())
            }
            Err(e) => {
                let cause = ppin_error(&e, TYPE_NAME, Some(AttributePath::root("user")));
                let detail = format!("The login test of '{user}' failed. {}", cause.detail);
                let mut failed = Diagnostic::error(cause.summary, detail);
                failed.path = cause.path;
                Err(failed.into())
            }
        }
    }
}

/// "on hsm0 (10.0.0.1:2310, Primus 2.8)": the parts the engine knows.
fn where_served(served: &Served) -> String {
    let details: Vec<&str> = [&served.address, &served.server]
        .into_iter()
        .filter_map(Option::as_deref)
        .collect();
    match (&served.hsm, details.is_empty()) {
        (Some(hsm), true) => format!(" on {hsm}"),
        (Some(hsm), false) => format!(" on {hsm} ({})", details.join(", ")),
        (None, false) => format!(" on {}", details.join(", ")),
        (None, true) => String::new(),
    }
}

#[cfg(test)]
mod tests;
