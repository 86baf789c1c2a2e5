//! Identity, `list` blocks (`terraform query`) and generated configuration
//! of the resources whose objects are `.secrets.cfg` entries: each is
//! identified by its name, lists what `ppin -l` shows stored (names only,
//! nothing decrypted, no HSM contacted) and takes no filters (the provider
//! block says where the files are). A resource says what differs in
//! [`SecretsEntryResource`]; [`listed_as_secrets_entries!`] writes the rest.

use ppin::{Listing, Ppin};
use serde::Deserialize;
use tfplug::{
    diag::Diagnostics,
    resource::{IdentityAttribute, IdentitySchema, Listed, Resource},
    schema::Schema,
    value::Type,
};

use crate::client::Client;
use crate::diagnostics::fail;

/// A resource each object of which is one `.secrets.cfg` entry.
pub(crate) trait SecretsEntryResource: Resource<Client> {
    /// The resource type, for diagnostics.
    const TYPE_NAME: &'static str;
    /// The attribute naming the entry, its identity (`user`, `proxy_user`).
    const NAME_ATTRIBUTE: &'static str;
    /// The description of [`NAME_ATTRIBUTE`](Self::NAME_ATTRIBUTE) in the identity.
    const NAME_DESCRIPTION: &'static str;

    /// The entries `listing` shows stored, each with its name and the state
    /// a `read` after import records (no password).
    fn stored(listing: Listing, ppin: &Ppin) -> Vec<(String, Self::State)>;
}

/// The empty `config` block of a `list` block.
#[derive(Deserialize)]
pub(crate) struct NoFilters {}

/// The schema of [`NoFilters`].
pub(crate) fn no_filters() -> Schema {
    Schema::new().description(
        "No filters: every entry of the .secrets.cfg the provider block names is listed.",
    )
}

/// The identity of `R`: the name of its entry.
pub(crate) fn identity_schema<R: SecretsEntryResource>() -> IdentitySchema {
    IdentitySchema::new().attribute(
        IdentityAttribute::required(R::NAME_ATTRIBUTE, Type::String)
            .description(R::NAME_DESCRIPTION),
    )
}

/// The objects of `R` that `.secrets.cfg` holds. Reads the files only.
pub(crate) async fn list<R: SecretsEntryResource>(
    client: &Client,
) -> Result<Vec<Listed<R::State>>, Diagnostics> {
    let ppin = client.ppin(R::TYPE_NAME)?;
    let listing = ppin
        .list()
        .await
        .map_err(|e| fail(&e, R::TYPE_NAME, None))?;
    Ok(R::stored(listing, ppin)
        .into_iter()
        .map(|(name, state)| Listed::new(name, state))
        .collect())
}

/// Implements tfplug's `Identity`, `List` and `GenerateConfig` for a
/// [`SecretsEntryResource`] with the functions above. A macro because the
/// orphan rule forbids implementing tfplug's traits for every
/// `SecretsEntryResource` at once.
macro_rules! listed_as_secrets_entries {
    ($resource:ty) => {
        impl tfplug::resource::Identity<$crate::client::Client> for $resource {
            fn identity_schema(&self) -> tfplug::resource::IdentitySchema {
                $crate::listing::identity_schema::<Self>()
            }
        }

        #[tfplug::async_trait]
        impl tfplug::resource::List<$crate::client::Client> for $resource {
            type Config = $crate::listing::NoFilters;

            fn list_schema(&self) -> tfplug::schema::Schema {
                $crate::listing::no_filters()
            }

            async fn list(
                &self,
                req: tfplug::resource::ListRequest<
                    '_,
                    $crate::client::Client,
                    $crate::listing::NoFilters,
                >,
            ) -> Result<
                Vec<
                    tfplug::resource::Listed<
                        <Self as tfplug::resource::Resource<$crate::client::Client>>::State,
                    >,
                >,
                tfplug::diag::Diagnostics,
            > {
                $crate::listing::list::<Self>(req.client).await
            }
        }

        /// The generated configuration names the entry; passwords are
        /// sensitive or write-only and never written.
        impl tfplug::resource::GenerateConfig<$crate::client::Client> for $resource {}
    };
}
pub(crate) use listed_as_secrets_entries;
