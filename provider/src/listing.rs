//! Identity, `list` blocks (`terraform query`) and generated configuration
//! of the resources whose objects are `.secrets.cfg` entries: each is
//! identified by its name, lists what `ppin -l` shows stored (names only,
//! nothing decrypted, no HSM contacted) on this machine or the `host` the
//! `list` block names, and is identified by its name and that host's
//! `host_id`. An entry the import could not open is left out with a
//! warning naming it, so the others can still be adopted. A resource says
//! what differs in
//! [`SecretsEntryResource`]; [`listed_as_secrets_entries!`] writes the rest.

use ppin::{Listing, Ppin, PpinError};
use serde::Deserialize;
use tfplug::{
    diag::{Diagnostic, Diagnostics},
    resource::{IdentityAttribute, IdentitySchema, IdentityValue, ListResponse, Listed, Resource},
    schema::Schema,
    value::Type,
};

use crate::client::Client;
use crate::diagnostics::fail;
use crate::host::{host_block, import_id, HostConfig};

/// A resource each object of which is one `.secrets.cfg` entry.
pub(crate) trait SecretsEntryResource: Resource<Client> {
    /// The resource type, for diagnostics.
    const TYPE_NAME: &'static str;
    /// The attribute naming the entry, its identity (`user`, `proxy_user`).
    const NAME_ATTRIBUTE: &'static str;
    /// The description of [`NAME_ATTRIBUTE`](Self::NAME_ATTRIBUTE) in the identity.
    const NAME_DESCRIPTION: &'static str;

    /// The entries `listing` shows stored on `host`, each with its name and
    /// the state a `read` after import records (no password).
    fn stored(
        listing: Listing,
        ppin: &Ppin,
        host: Option<&HostConfig>,
    ) -> Vec<(String, Self::State)>;

    /// Whether the stored entry `name` opens as an import's `read` will open
    /// it; `Err` says why not. By default the read opens nothing (it looks at
    /// the listing only), so every entry does.
    async fn check_opens(_ppin: &Ppin, _name: &str) -> Result<(), PpinError> {
        Ok(())
    }
}

/// The `config` block of a `list` block: which host to list.
#[derive(Deserialize)]
pub(crate) struct ListConfig {
    host: Option<HostConfig>,
}

/// The schema of [`ListConfig`].
pub(crate) fn list_config() -> Schema {
    Schema::new()
        .description(
            "Every entry of the .secrets.cfg of the host named (default: the machine Terraform runs on) is listed.",
        )
        .block(host_block())
}

/// The identity of `R`: the name of its entry, and its host.
pub(crate) fn identity_schema<R: SecretsEntryResource>() -> IdentitySchema {
    IdentitySchema::new()
        .attribute(
            IdentityAttribute::required(R::NAME_ATTRIBUTE, Type::String)
                .description(R::NAME_DESCRIPTION),
        )
        .attribute(
            IdentityAttribute::optional("host_id", Type::String)
                .description("The host as ADDRESS:PORT; unset for the machine Terraform runs on."),
        )
}

/// The import id an identity of `R` stands for.
pub(crate) fn identity_import_id<R: SecretsEntryResource>(
    identity: &IdentityValue<'_>,
) -> Result<String, Diagnostics> {
    let name = identity.get(R::NAME_ATTRIBUTE).as_str().unwrap_or_default();
    Ok(import_id(identity.get("host_id").as_str(), name))
}

/// The objects of `R` that `.secrets.cfg` holds on the host of `config`.
/// Reads the files only. An entry that does not open (see
/// [`SecretsEntryResource::check_opens`]) is not listed: its import would
/// fail, and with it the plan of every other import. A warning names it
/// instead.
pub(crate) async fn list<R: SecretsEntryResource>(
    client: &Client,
    config: &ListConfig,
) -> Result<ListResponse<R::State>, Diagnostics> {
    let host = config.host.as_ref();
    let ppin = client.ppin(R::TYPE_NAME, host).await?;
    let listing = ppin
        .list()
        .await
        .map_err(|e| fail(&e, R::TYPE_NAME, None))?;
    let mut listed = Vec::new();
    let mut warnings = Diagnostics::new();
    for (name, state) in R::stored(listing, &ppin, host) {
        match R::check_opens(&ppin, &name).await {
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

            fn import_id(
                &self,
                identity: &tfplug::resource::IdentityValue<'_>,
            ) -> Result<String, tfplug::diag::Diagnostics> {
                $crate::listing::identity_import_id::<Self>(identity)
            }
        }

        #[tfplug::async_trait]
        impl tfplug::resource::List<$crate::client::Client> for $resource {
            type Config = $crate::listing::ListConfig;

            fn list_schema(&self) -> tfplug::schema::Schema {
                $crate::listing::list_config()
            }

            async fn list(
                &self,
                req: tfplug::resource::ListRequest<
                    '_,
                    $crate::client::Client,
                    $crate::listing::ListConfig,
                >,
            ) -> Result<
                tfplug::resource::ListResponse<
                    <Self as tfplug::resource::Resource<$crate::client::Client>>::State,
                >,
                tfplug::diag::Diagnostics,
            > {
                $crate::listing::list::<Self>(req.client, &req.config).await
            }
        }

        /// The generated configuration names the entry; passwords are
        /// sensitive or write-only and never written.
        impl tfplug::resource::GenerateConfig<$crate::client::Client> for $resource {}
    };
}
pub(crate) use listed_as_secrets_entries;
