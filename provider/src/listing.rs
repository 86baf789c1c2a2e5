//! Identity, `list` blocks (`terraform query`) and generated configuration
//! of the resources whose objects are `.secrets.cfg` entries: each is
//! identified by its name, lists what `ppin -l` shows stored (names only,
//! nothing decrypted, no HSM contacted) and takes no filters (the provider
//! block says where the files are). An entry the import could not open is
//! left out with a warning naming it, so the others can still be adopted. A resource says what differs in
//! [`SecretsEntryResource`]; [`listed_as_secrets_entries!`] writes the rest.

use ppin::{Listing, Ppin, PpinError};
use serde::Deserialize;
use tfplug::{
    diag::{Diagnostic, Diagnostics},
    resource::{IdentityAttribute, IdentitySchema, ListResponse, Listed, Resource},
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

    /// Whether the stored entry `name` opens as an import's `read` will open
    /// it; `Err` says why not. By default the read opens nothing (it looks at
    /// the listing only), so every entry does.
    async fn check_opens(_ppin: &Ppin, _name: &str) -> Result<(), PpinError> {
        Ok(())
    }
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
/// An entry that does not open (see [`SecretsEntryResource::check_opens`])
/// is not listed: its import would fail, and with it the plan of every
/// other import. A warning names it instead.
pub(crate) async fn list<R: SecretsEntryResource>(
    client: &Client,
) -> Result<ListResponse<R::State>, Diagnostics> {
    let ppin = client.ppin(R::TYPE_NAME)?;
    let listing = ppin
        .list()
        .await
        .map_err(|e| fail(&e, R::TYPE_NAME, None))?;
    let mut listed = Vec::new();
    let mut warnings = Diagnostics::new();
    for (name, state) in R::stored(listing, ppin) {
        match R::check_opens(ppin, &name).await {
            Ok(()) => listed.push(Listed::new(name, state)),
            Err(error) => warnings.push(not_listed::<R>(&name, &error)),
        }
    }
    Ok(ListResponse::new(listed).with_warnings(warnings))
}

/// The warning for the entry `name` that does not open.
fn not_listed<R: SecretsEntryResource>(name: &str, error: &PpinError) -> Diagnostic {
    Diagnostic::warning(
        "Damaged Entry Not Listed",
        format!(
            "The {} entry '{name}' is not listed, so that the others can be adopted: {error}. Once the entry \
             opens again (or is removed), `terraform query` lists it as before.",
            R::TYPE_NAME
        ),
    )
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
                tfplug::resource::ListResponse<
                    <Self as tfplug::resource::Resource<$crate::client::Client>>::State,
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
