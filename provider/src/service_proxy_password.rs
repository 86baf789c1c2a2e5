//! `primus_service_proxy_password`: the CloudHSM service proxy password in
//! `.secrets.cfg` (`ppin -p` / `ppin -x`), needed before any permanent
//! secret of a user behind that proxy can be fetched.

use ppin::{Listing, Ppin, PpinError, ProxyStatus};
use secrets_cfg::{EntryKind, Password};
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    diag::{AttributePath, Diagnostic, Diagnostics},
    resource::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ImportRequest,
        ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest, Plan, ReadRequest,
        ReadResponse, Resource, UpdateRequest, UpdateResponse, ValidateConfig, ValidateRequest,
    },
    schema::{Attribute, Schema, WriteOnlyFallback},
    validators,
    value::{from_value, Field, Type},
};

use crate::client::{Client, CONFIGURED};
use crate::credentials::{PasswordPair, Supplied, VERSION};
use crate::diagnostics::fail;
use crate::host::{
    host_block, host_id, host_id_attribute, import_id, split_import_id, HostConfig, OnHost,
};
use crate::listing::{listed_as_secrets_entries, SecretsEntryResource};
use crate::planning::PlanCheck;

pub(crate) const TYPE_NAME: &str = "primus_service_proxy_password";

const PASSWORD: PasswordPair = PasswordPair {
    plain: "password",
    write_only: "password_wo",
};

pub(crate) struct ServiceProxyPasswordResource;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    Schema::new()
        .markdown_description(
            "The password of a CloudHSM service proxy user, stored ciphered in `.secrets.cfg` as `ppin -p` does \
             (`ppin -x` on destroy). CloudHSM requires it before the permanent secret of any user behind the \
             proxy can be fetched, so make those `primus_permanent_secret` resources depend on it. The HSM is \
             not contacted: a wrong password shows at the next permanent secret or connection test. A plan \
             that creates it warns when `.secrets.cfg` could not be written (file type, directory, lock, key \
             and its permissions).\n\n\
             Without `password` (or `password_wo`), creating adopts the password already stored for the proxy \
             user (e.g. with `ppin -p` by hand), changing nothing; a proxy user with no stored password then \
             fails the plan. With a password, a stored one is not silently overwritten: import it. See the \
             guide [Adopting hosts onboarded with ppin](../guides/adopting-hosts.md).",
        )
        .attribute(
            Attribute::computed("id", Type::String)
                .use_state_for_unknown()
                .markdown_description(
                    "The proxy user name on this machine, `ssh://ADDRESS:PORT/PROXY_USER` on a host; also the \
                     import id.",
                ),
        )
        .attribute(
            Attribute::required("proxy_user", Type::String)
                .requires_replace()
                .validator(validators::string_length(1, 256))
                .markdown_description("The service proxy user (`proxy_user` of a slot in `primus.cfg`). Changing it replaces the resource."),
        )
        .attribute(Attribute::optional(PASSWORD.plain, Type::String).sensitive().markdown_description(
            "The service proxy password; leave it unset to adopt the stored one. Kept in the state as a \
             sensitive value; with Terraform 1.11 or later prefer `password_wo`.",
        ))
        .attribute(
            Attribute::optional(PASSWORD.write_only, Type::String)
                .write_only(WriteOnlyFallback::Reject)
                .markdown_description(
                    "Write-only twin of `password` (Terraform 1.11 or later): never stored in plan or state. Needs \
                     `password_wo_version`; older Terraform versions refuse it.",
                ),
        )
        .attribute(Attribute::optional(VERSION, Type::Number).markdown_description(
            "Rotation trigger: raising it stores the configured password again. Required with `password_wo`, \
             whose changes Terraform cannot see; refused without a password.",
        ))
        .block(host_block())
        .attribute(host_id_attribute())
        .attribute(
            Attribute::computed("users", Type::list(Type::String))
                .use_state_for_unknown()
                .markdown_description("The slot users behind this proxy in `primus.cfg`."),
        )
        .attribute(
            Attribute::computed("status", Type::String)
                .use_state_for_unknown()
                .markdown_description("`Configured` while the password is in `.secrets.cfg`."),
        )
}

// --------------------------------------------------------- state types

/// The attributes of `primus_service_proxy_password`.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct ServiceProxyPasswordState {
    id: Option<String>,
    proxy_user: String,
    password: Option<Password>,
    password_wo: Option<Password>,
    password_wo_version: Option<i64>,
    host: Option<HostConfig>,
    host_id: Option<String>,
    users: Option<Vec<String>>,
    status: Option<String>,
}

impl ServiceProxyPasswordState {
    /// Only the names: what an import knows before `read`, and what a
    /// presence check carries (never a password).
    fn named(proxy_user: String, host: Option<HostConfig>) -> Self {
        ServiceProxyPasswordState {
            proxy_user,
            host,
            ..Default::default()
        }
    }

    /// `self` with `id`, `users` and `status` as `ppin -l` shows a stored password.
    fn stored(mut self, proxy: ProxyStatus) -> Self {
        self.host_id = host_id(self.host.as_ref());
        self.id = Some(import_id(self.host_id.as_deref(), &self.proxy_user));
        self.users = Some(proxy.users);
        self.status = Some(CONFIGURED.to_owned());
        self
    }
}

/// The attributes validation looks at, typed.
#[derive(Default, Deserialize)]
#[serde(default)] // an absent attribute is null
pub(crate) struct ServiceProxyPasswordConfig {
    password: Field<Password>,
    password_wo: Field<Password>,
    password_wo_version: Field<i64>,
}

impl ServiceProxyPasswordConfig {
    fn password(&self) -> Supplied<'_> {
        Supplied {
            plain: &self.password,
            write_only: &self.password_wo,
            version: &self.password_wo_version,
        }
    }
}

impl OnHost for ServiceProxyPasswordState {
    fn host(&self) -> Option<&HostConfig> {
        self.host.as_ref()
    }
}

// ------------------------------------------------------- resource impl

#[async_trait]
impl Resource<Client> for ServiceProxyPasswordResource {
    type State = ServiceProxyPasswordState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(
        &self,
        req: CreateRequest<'_, Client, ServiceProxyPasswordState>,
    ) -> Result<CreateResponse<ServiceProxyPasswordState>, Diagnostics> {
        let planned = req.planned;
        let names =
            ServiceProxyPasswordState::named(planned.proxy_user.clone(), planned.host.clone());
        let stored = self.current(req.client, names).await?;
        let ppin = req.client.ppin(TYPE_NAME, planned.host.as_ref()).await?;
        let password = PASSWORD.pick(&req.config.password_wo, &req.config.password);
        let Some(password) = password else {
            // No password: adopt the stored one (e.g. added with `ppin -p` by hand), or there is nothing to store.
            let adopted = stored.ok_or_else(|| nothing_to_adopt(&ppin, &planned.proxy_user))?;
            tracing::info!(proxy_user = %planned.proxy_user, "existing service proxy password adopted");
            return Ok(
                CreateResponse::new(adopted).with_warning(adopted_warning(&planned.proxy_user))
            );
        };
        // `ppin -p` overwrites; Terraform must not silently replace (and later delete) a stored password.
        if stored.is_some() {
            let mut diags = Diagnostics::new();
            diags.attribute_error(
                AttributePath::root("proxy_user"),
                "Service Proxy Password Already Configured",
                format!(
                    "{} already holds a password for '{p}'. Import it with `terraform import {TYPE_NAME}.<name> {p}` \
                     to manage it with Terraform, or remove it with `ppin -x -e {p}` and apply again.",
                    ppin.secrets_file().display(),
                    p = planned.proxy_user
                ),
            );
            return Err(diags);
        }
        Ok(CreateResponse::new(
            self.store(req.client, password, planned).await?,
        ))
    }

    async fn read(
        &self,
        req: ReadRequest<'_, Client, ServiceProxyPasswordState>,
    ) -> Result<ReadResponse<ServiceProxyPasswordState>, Diagnostics> {
        match self.current(req.client, req.state).await? {
            Some(state) => Ok(ReadResponse::found(state).with_private(req.private)),
            None => Ok(ReadResponse::gone()),
        }
    }

    async fn update(
        &self,
        req: UpdateRequest<'_, Client, ServiceProxyPasswordState>,
    ) -> Result<UpdateResponse<ServiceProxyPasswordState>, Diagnostics> {
        let password = PASSWORD.pick(&req.config.password_wo, &req.config.password);
        let state = match password {
            Some(password) => self.store(req.client, password, req.planned).await?,
            // The password left the configuration: the stored one stays, nothing to send.
            None => self.refreshed(req.client, req.planned).await?,
        };
        Ok(UpdateResponse::new(state))
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, Client, ServiceProxyPasswordState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        let proxy_user = &req.prior.proxy_user;
        let removed = req
            .client
            .ppin(TYPE_NAME, req.prior.host.as_ref())
            .await?
            .proxy_remove(proxy_user)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, proxy_path()))?;
        tracing::info!(proxy_user = %proxy_user, removed, "service proxy password removed");
        Ok(DeleteResponse::new())
    }
}

#[async_trait]
impl ImportState<Client> for ServiceProxyPasswordResource {
    /// The import id is the proxy user name, `ssh://ADDRESS[:PORT]/PROXY_USER`
    /// on a host; `read` checks the password is stored.
    async fn import(
        &self,
        req: ImportRequest<'_, Client>,
    ) -> Result<ImportResponse<ServiceProxyPasswordState>, Diagnostics> {
        let (host, proxy_user) = split_import_id(&req.id, false)?;
        req.client
            .ppin(TYPE_NAME, host.as_ref())
            .await?
            .proxy_user(&proxy_user)
            .map_err(|e| fail(&e, TYPE_NAME, None))?;
        let mut state = ServiceProxyPasswordState::named(proxy_user, host);
        state.host_id = host_id(state.host.as_ref());
        state.id = Some(import_id(state.host_id.as_deref(), &state.proxy_user));
        Ok(ImportResponse::new(state))
    }
}

#[async_trait]
impl ValidateConfig<Client> for ServiceProxyPasswordResource {
    type Config = ServiceProxyPasswordConfig;

    async fn validate(&self, req: ValidateRequest<ServiceProxyPasswordConfig>) -> Diagnostics {
        validate_config(&req.config)
    }
}

impl ServiceProxyPasswordResource {
    /// Stores `password` (`ppin -p`) and returns the new state.
    async fn store(
        &self,
        client: &Client,
        password: &Password,
        planned: ServiceProxyPasswordState,
    ) -> Result<ServiceProxyPasswordState, Diagnostics> {
        client
            .ppin(TYPE_NAME, planned.host.as_ref())
            .await?
            .proxy_add(&planned.proxy_user, password)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, proxy_path()))?;
        tracing::info!(proxy_user = %planned.proxy_user, "service proxy password stored");
        self.refreshed(client, planned).await
    }

    /// `state` with `id`, `users` and `status` as `ppin -l` shows them, or
    /// `None` when the password is not in `.secrets.cfg`.
    async fn current(
        &self,
        client: &Client,
        state: ServiceProxyPasswordState,
    ) -> Result<Option<ServiceProxyPasswordState>, Diagnostics> {
        let ppin = client.ppin(TYPE_NAME, state.host.as_ref()).await?;
        let listing = ppin.list().await.map_err(|e| fail(&e, TYPE_NAME, None))?;
        let Some(proxy) = listing
            .proxies
            .into_iter()
            .find(|p| p.proxy_user == state.proxy_user)
        else {
            return Err(fail(
                &unknown_proxy(&ppin, &state.proxy_user),
                TYPE_NAME,
                proxy_path(),
            ));
        };
        if !proxy.configured {
            return Ok(None);
        }
        Ok(Some(state.stored(proxy)))
    }

    /// [`current`](Self::current) right after a write, where absence is a bug.
    async fn refreshed(
        &self,
        client: &Client,
        state: ServiceProxyPasswordState,
    ) -> Result<ServiceProxyPasswordState, Diagnostics> {
        let proxy_user = state.proxy_user.clone();
        let host = state.host.clone();
        if let Some(stored) = self.current(client, state).await? {
            return Ok(stored);
        }
        let ppin = client.door(TYPE_NAME, host.as_ref()).await?;
        let mut diags = Diagnostics::new();
        diags.error(
            "Service Proxy Password Not Stored",
            format!(
                "The password of '{proxy_user}' is missing from {} right after it was written; another process may \
                 have removed it. Apply again.",
                ppin.secrets_file().display()
            ),
        );
        Err(diags)
    }
}

/// The error `ppin -p` gives for a proxy user not in `primus.cfg`.
fn unknown_proxy(ppin: &Ppin, proxy_user: &str) -> PpinError {
    match ppin.proxy_user(proxy_user) {
        Err(e) => e,
        // The listing and the check read the same primus.cfg; they cannot disagree.
        Ok(()) => PpinError::NotConfigured {
            user: proxy_user.to_owned(),
        },
    }
}

/// The warning of a create that found the proxy password already stored
/// and adopted it.
fn adopted_warning(proxy_user: &str) -> Diagnostic {
    Diagnostic::warning(
        "Adopted The Existing Entry",
        format!(
            "Service proxy user '{proxy_user}' already had a password in .secrets.cfg, and the configuration sets \
             none, so Terraform adopted the stored one and changed nothing. To replace it, set password (or \
             password_wo with password_wo_version) and apply again."
        ),
    )
    .at(AttributePath::root("proxy_user"))
}

/// The error of a create with no password for a proxy user whose password
/// is not stored yet.
fn nothing_to_adopt(ppin: &Ppin, proxy_user: &str) -> Diagnostics {
    PASSWORD.missing(format!(
        "Service proxy user '{proxy_user}' has no password in {store} to adopt, so creating it needs {password}. \
         Set it, or store it on this host with `ppin -p -e {proxy_user}` so that Terraform adopts it.",
        store = ppin.secrets_file().display(),
        password = PASSWORD.spelled(),
    ))
}

fn proxy_path() -> Option<AttributePath> {
    Some(AttributePath::root("proxy_user"))
}

/// At most one of `password` / `password_wo` (none adopts the stored
/// password), and the version trigger only with a password.
fn validate_config(config: &ServiceProxyPasswordConfig) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let supplied = config.password();
    PASSWORD.validate(&supplied, &mut diags);
    PASSWORD.validate_version(&supplied, &mut diags);
    diags
}

// --------------------------------------------------- plan modification

#[async_trait]
impl ModifyPlan<Client> for ServiceProxyPasswordResource {
    /// A create is checked as `ppin -p` checks it first: a proxy user missing
    /// from `primus.cfg`, or no password for a proxy user whose password
    /// `.secrets.cfg` does not hold, fails the plan; a `.secrets.cfg` or key
    /// that cannot take it is a warning.
    async fn modify_plan(&self, req: ModifyPlanRequest<'_, Client>) -> Result<Plan, Diagnostics> {
        let Some(mut check) = PlanCheck::<ServiceProxyPasswordState>::open(&req, TYPE_NAME).await?
        else {
            return Ok(req.plan);
        };
        if !req.prior.is_null() {
            return Ok(check.into_plan(req.plan));
        }
        let proxy_user = check.planned.proxy_user.clone();
        let sets_password = from_value::<ServiceProxyPasswordConfig>(&req.config)
            .map_or(true, |c| c.password().is_set());
        if sets_password {
            let checked = check.ppin.check_before_proxy_add(&proxy_user).await;
            check.preflight(checked, proxy_path()).await?;
        } else {
            check
                .ppin
                .proxy_user(&proxy_user)
                .map_err(|e| fail(&e, TYPE_NAME, proxy_path()))?;
            check
                .adoptable(EntryKind::ServiceProxy, &proxy_user, proxy_path(), |ppin| {
                    nothing_to_adopt(ppin, &proxy_user)
                })
                .await?;
        }
        Ok(check.into_plan(req.plan))
    }
}

// ------------------------------------------------ identity and listing

impl SecretsEntryResource for ServiceProxyPasswordResource {
    const TYPE_NAME: &'static str = TYPE_NAME;
    const NAME_ATTRIBUTE: &'static str = "proxy_user";
    const NAME_DESCRIPTION: &'static str =
        "The CloudHSM service proxy user whose password this is.";

    /// The service proxy users whose password is stored on `host`.
    fn stored(
        listing: Listing,
        _: &Ppin,
        host: Option<&HostConfig>,
    ) -> Vec<(String, ServiceProxyPasswordState)> {
        listing
            .proxies
            .into_iter()
            .filter(|p| p.configured)
            .map(|p| {
                let state =
                    ServiceProxyPasswordState::named(p.proxy_user.clone(), host.cloned()).stored(p);
                (state.proxy_user.clone(), state)
            })
            .collect()
    }
}

listed_as_secrets_entries!(ServiceProxyPasswordResource);

#[cfg(test)]
mod tests;
