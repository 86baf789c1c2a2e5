//! `data.primus_partition_log`: what `ppin --fetchlog` dumps. Logs in at
//! one HSM with the user's stored permanent secret and reads the user's
//! partition log, so an operator can audit who traded a setup password
//! (`Login request: ... with setup password ...`) and when. The HSM logs
//! names and addresses, never a password or secret.

use ppin::{LogOrder, LogRequest};
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    data_source::{DataReadRequest, DataReadResponse, DataSource},
    diag::{AttributePath, Diagnostic, Diagnostics},
    schema::{Attribute, Schema},
    value::Type,
};

use crate::client::Client;
use crate::diagnostics::fail;
use crate::host::{host_block, HostConfig};

pub(crate) const TYPE_NAME: &str = "primus_partition_log";

pub(crate) struct PartitionLogDataSource;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    Schema::new()
        .markdown_description(
            "What `ppin --fetchlog` dumps: the partition log of `user` on one HSM, read with the user's stored \
             permanent secret (one API login, never retried; the HSM's configuration must allow log fetching). \
             Each line is the HSM's syslog-style entry, e.g. `2021 Apr  1 09:31:28 UTC NUFENEN notice MSCNG \
             Process: Login request: User: DEMO-TEST Client: ... with setup password over TCP connection ...`: \
             the lines with `with setup password` show who traded a setup password, from which address, when. \
             The HSM's log ring buffer may have overwritten old entries.",
        )
        .attribute(
            Attribute::required("user", Type::String)
                .markdown_description("The slot user whose log is read (`--user`); it needs a stored permanent secret."),
        )
        .attribute(Attribute::required("hsm", Type::String).markdown_description(
            "The HSM, by its name (`hsm0`) or its host exactly as in `primus.cfg` (`--hsm`): each HSM of a \
             redundant cluster keeps its own log.",
        ))
        .block(host_block())
        .attribute(
            Attribute::optional("since", Type::String)
                .markdown_description("Only entries from this day on, `YYYY-MM-DD`, from 00:00 UTC (`--since`)."),
        )
        .attribute(
            Attribute::optional("reverse", Type::Bool)
                .markdown_description("Newest entry first (`--reverse`); oldest first by default."),
        )
        .attribute(
            Attribute::computed("slots", Type::Number)
                .markdown_description("How many slots of the user the HSM serves (`Number of slots`)."),
        )
        .attribute(
            Attribute::computed("lines", Type::list(Type::String))
                .markdown_description("The log lines, in the order asked for."),
        )
}

// --------------------------------------------------------- state types

/// Arguments and results of `data.primus_partition_log`.
#[derive(Serialize, Deserialize)]
pub(crate) struct PartitionLogState {
    user: String,
    hsm: String,
    since: Option<String>,
    reverse: Option<bool>,
    host: Option<HostConfig>,
    slots: Option<usize>,
    lines: Option<Vec<String>>,
}

// ---------------------------------------------------- data source impl

#[async_trait]
impl DataSource<Client> for PartitionLogDataSource {
    type State = PartitionLogState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        req: DataReadRequest<'_, Client, PartitionLogState>,
    ) -> Result<DataReadResponse<PartitionLogState>, Diagnostics> {
        let mut state = req.config;
        let since = match state.since.as_deref() {
            None => None,
            Some(text) => Some(LogRequest::parse_day(text).ok_or_else(|| {
                let mut diags = Diagnostics::new();
                diags.push(
                    Diagnostic::error(
                        "Invalid Day",
                        format!("since = {text:?} is not a day in the form YYYY-MM-DD, e.g. \"2021-04-01\"."),
                    )
                    .at(AttributePath::root("since")),
                );
                diags
            })?),
        };
        let order = if state.reverse == Some(true) {
            LogOrder::NewestFirst
        } else {
            LogOrder::OldestFirst
        };
        let request = LogRequest::new(state.user.clone(), state.hsm.clone())
            .since(since)
            .order(order);
        let log = req
            .client
            .ppin(TYPE_NAME, state.host.as_ref())
            .await?
            .fetch_log(&request)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, Some(AttributePath::root("hsm"))))?;
        state.slots = Some(log.slots);
        state.lines = Some(log.lines);
        Ok(DataReadResponse::new(state))
    }
}
