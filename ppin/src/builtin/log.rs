//! The built-in engine's `ppin --fetchlog`: one HSM of the user's cluster,
//! a login with the stored permanent secret, the log pages read to the end.

use std::time::SystemTime;

use hsm_wire::LogQuery;
use secrets_cfg::EntryKind;

use super::BuiltinEngine;
use crate::engine::Engine;
use crate::error::PpinError;
use crate::model::{LogRequest, PartitionLog};
use crate::users;

impl BuiltinEngine {
    /// The partition log of `request.user` on `request.hsm`. Behind a
    /// CloudHSM service proxy the connection authenticates with the stored
    /// proxy password first, as every request of the user does. Only that
    /// HSM is asked: each HSM of a cluster keeps its own log.
    pub(super) async fn partition_log(
        &self,
        request: &LogRequest,
    ) -> Result<PartitionLog, PpinError> {
        let (slot_user, slots) = users::log_source(&*self.config()?, request)?;
        let user = slot_user.user_name.as_str();
        let secret =
            self.get(EntryKind::User, user)
                .await?
                .ok_or_else(|| PpinError::NotConfigured {
                    user: user.to_owned(),
                })?;
        let proxy = self.proxy_password(&slot_user).await?;
        let mut session = self.session(&slot_user, proxy).await?;
        let query = LogQuery {
            since: request.since.map(start_of_day),
            order: request.order,
        };
        let fetched = session.connection.fetch_log(user, &secret, &query).await;
        let lines = session.check(Some(user), fetched)?;
        session.finish(&slot_user).await;
        Ok(PartitionLog::new(request.since, slots, lines))
    }
}

/// 00:00 UTC of `date`, the first instant `--since DATE` keeps.
fn start_of_day(date: time::Date) -> SystemTime {
    date.midnight().assume_utc().into()
}
