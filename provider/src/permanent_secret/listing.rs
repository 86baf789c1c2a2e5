//! Identity, list resource and generated configuration of
//! `primus_permanent_secret`: the identity is `{ user }`.

use tfplug::{
    async_trait,
    diag::Diagnostics,
    resource::{
        GenerateConfig, Identity, IdentityAttribute, IdentitySchema, List, ListRequest, Listed,
    },
    schema::Schema,
    value::Type,
};

use super::{PermanentSecretResource, PermanentSecretState, TYPE_NAME};
use crate::client::Client;
use crate::listing::{entries, no_filters, NoFilters};

impl PermanentSecretState {
    /// What an import of `user` knows before `read`: the names, no password.
    pub(super) fn imported(user: String) -> Self {
        PermanentSecretState {
            id: Some(user.clone()),
            user,
            ..Default::default()
        }
    }
}

impl Identity<Client> for PermanentSecretResource {
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new().attribute(
            IdentityAttribute::required("user", Type::String)
                .description("The partition user whose permanent secret this is."),
        )
    }
}

#[async_trait]
impl List<Client> for PermanentSecretResource {
    type Config = NoFilters;

    fn list_schema(&self) -> Schema {
        no_filters()
    }

    /// The users of `primus.cfg` whose permanent secret `.secrets.cfg`
    /// holds, each with the state a `read` after import records (no
    /// password). Reads the files only.
    async fn list(
        &self,
        req: ListRequest<'_, Client, NoFilters>,
    ) -> Result<Vec<Listed<PermanentSecretState>>, Diagnostics> {
        let listing = entries(req.client, TYPE_NAME).await?;
        let ppin = req.client.ppin(TYPE_NAME)?;
        Ok(listing
            .users
            .into_iter()
            .filter(|u| u.configured)
            .map(|u| {
                let state = PermanentSecretState::imported(u.user.clone()).configured(ppin);
                Listed::new(u.user, state)
            })
            .collect())
    }
}

/// The generated configuration names the user; passwords are sensitive or
/// write-only and never written.
impl GenerateConfig<Client> for PermanentSecretResource {}
