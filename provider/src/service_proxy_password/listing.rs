//! Identity, list resource and generated configuration of
//! `primus_service_proxy_password`: the identity is `{ proxy_user }`.

use ppin::ProxyStatus;
use tfplug::{
    async_trait,
    diag::Diagnostics,
    resource::{
        GenerateConfig, Identity, IdentityAttribute, IdentitySchema, List, ListRequest, Listed,
    },
    schema::Schema,
    value::Type,
};

use super::{ServiceProxyPasswordResource, ServiceProxyPasswordState, TYPE_NAME};
use crate::client::{Client, CONFIGURED};
use crate::listing::{entries, no_filters, NoFilters};

impl ServiceProxyPasswordState {
    /// `self` with `id`, `users` and `status` as `ppin -l` shows a stored password.
    pub(super) fn stored(mut self, proxy: ProxyStatus) -> Self {
        self.id = Some(self.proxy_user.clone());
        self.users = Some(proxy.users);
        self.status = Some(CONFIGURED.to_owned());
        self
    }
}

impl Identity<Client> for ServiceProxyPasswordResource {
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new().attribute(
            IdentityAttribute::required("proxy_user", Type::String)
                .description("The CloudHSM service proxy user whose password this is."),
        )
    }
}

#[async_trait]
impl List<Client> for ServiceProxyPasswordResource {
    type Config = NoFilters;

    fn list_schema(&self) -> Schema {
        no_filters()
    }

    /// The service proxy users of `primus.cfg` whose password
    /// `.secrets.cfg` holds, with the state a `read` after import records
    /// (no password). Reads the files only.
    async fn list(
        &self,
        req: ListRequest<'_, Client, NoFilters>,
    ) -> Result<Vec<Listed<ServiceProxyPasswordState>>, Diagnostics> {
        let listing = entries(req.client, TYPE_NAME).await?;
        Ok(listing
            .proxies
            .into_iter()
            .filter(|p| p.configured)
            .map(|p| {
                let name = p.proxy_user.clone();
                let state = ServiceProxyPasswordState {
                    proxy_user: name.clone(),
                    ..Default::default()
                };
                Listed::new(name, state.stored(p))
            })
            .collect())
    }
}

/// The generated configuration names the proxy user; the password is
/// sensitive or write-only and never written.
impl GenerateConfig<Client> for ServiceProxyPasswordResource {}
