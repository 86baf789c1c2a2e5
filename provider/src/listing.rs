//! What the list resources share: `list` blocks take no filters (the
//! provider block says where the files are), and read names only.

use ppin::Listing;
use serde::Deserialize;
use tfplug::{diag::Diagnostics, schema::Schema};

use crate::client::Client;
use crate::diagnostics::fail;

/// The empty `config` block of a `list` block.
#[derive(Deserialize)]
pub(crate) struct NoFilters {}

/// The schema of [`NoFilters`].
pub(crate) fn no_filters() -> Schema {
    Schema::new().description(
        "No filters: every entry of the .secrets.cfg the provider block names is listed.",
    )
}

/// The users and proxies of `primus.cfg` with whether `.secrets.cfg` holds
/// their entry, as `ppin -l` lists them: names only, nothing decrypted,
/// no HSM contacted.
pub(crate) async fn entries(client: &Client, resource_type: &str) -> Result<Listing, Diagnostics> {
    let ppin = client.ppin(resource_type)?;
    ppin.list().await.map_err(|e| fail(&e, resource_type, None))
}
