//! `primus_service_proxy_password`: the CloudHSM service proxy password in
//! `.secrets.cfg` (`ppin -p` / `ppin -x`), needed before any permanent
//! secret of a user behind that proxy can be fetched.

use ppin::{Ppin, PpinError};
use secrets_cfg::Password;
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    diag::{AttributePath, Diagnostics},
    resource::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ImportRequest,
        ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest, Plan, ReadRequest,
        ReadResponse, Resource, UpdateRequest, UpdateResponse, ValidateConfig, ValidateRequest,
    },
    schema::{Attribute, Schema, WriteOnlyFallback},
    validators,
    value::{from_value, Field, Type},
};

use crate::client::Client;
use crate::credentials::{PasswordPair, Supplied, VERSION};
use crate::diagnostics::{fail, plan_warning, planning_door};

pub(crate) const TYPE_NAME: &str = "primus_service_proxy_password";

const PASSWORD: PasswordPair = PasswordPair {
    plain: "password",
    write_only: "password_wo",
};

mod listing;

pub(crate) struct ServiceProxyPasswordResource;

/// The attributes of `primus_service_proxy_password`.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct ServiceProxyPasswordState {
    id: Option<String>,
    proxy_user: String,
    password: Option<Password>,
    password_wo: Option<Password>,
    password_wo_version: Option<i64>,
    users: Option<Vec<String>>,
    status: Option<String>,
}

fn proxy_path() -> Option<AttributePath> {
    Some(AttributePath::root("proxy_user"))
}

impl ServiceProxyPasswordResource {
    /// Stores the configured password (`ppin -p`) and returns the new state.
    async fn store(
        &self,
        client: &Client,
        config: &ServiceProxyPasswordState,
        planned: ServiceProxyPasswordState,
    ) -> Result<ServiceProxyPasswordState, Diagnostics> {
        let password = PASSWORD.pick(&config.password_wo, &config.password)?;
        client
            .ppin(TYPE_NAME)?
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
        let ppin = client.ppin(TYPE_NAME)?;
        let listing = ppin.list().await.map_err(|e| fail(&e, TYPE_NAME, None))?;
        let Some(proxy) = listing
            .proxies
            .into_iter()
            .find(|p| p.proxy_user == state.proxy_user)
        else {
            return Err(fail(
                &unknown_proxy(ppin, &state.proxy_user),
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
        self.current(client, state).await?.ok_or_else(|| {
            let mut diags = Diagnostics::new();
            diags.error(
                "Service Proxy Password Not Stored",
                format!(
                    "The password of '{proxy_user}' is missing from {} right after it was written; another process \
                     may have removed it. Apply again.",
                    client.door().store().path().display()
                ),
            );
            diags
        })
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

#[async_trait]
impl ModifyPlan<Client> for ServiceProxyPasswordResource {
    /// A create gets a warning when a local check that `ppin -p` runs first
    /// already fails (proxy user not in `primus.cfg`, `.secrets.cfg` or its
    /// key unusable).
    async fn modify_plan(&self, req: ModifyPlanRequest<'_, Client>) -> Result<Plan, Diagnostics> {
        let mut plan = req.plan;
        let Some(ppin) = planning_door(req.client) else {
            return Ok(plan);
        };
        if !req.prior.is_null() {
            return Ok(plan);
        }
        // An unknown proxy user (set from another resource) cannot be checked yet.
        let Ok(planned) = from_value::<ServiceProxyPasswordState>(plan.planned()) else {
            return Ok(plan);
        };
        if let Err(e) = ppin.check_before_proxy_add(&planned.proxy_user).await {
            plan.warn(plan_warning(&e, TYPE_NAME, proxy_path()));
        }
        Ok(plan)
    }
}

#[async_trait]
impl Resource<Client> for ServiceProxyPasswordResource {
    type State = ServiceProxyPasswordState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .markdown_description(
                "The password of a CloudHSM service proxy user, stored ciphered in `.secrets.cfg` as `ppin -p` does \
                 (`ppin -x` on destroy). CloudHSM requires it before the permanent secret of any user behind the \
                 proxy can be fetched, so make those `primus_permanent_secret` resources depend on it. The HSM is \
                 not contacted: a wrong password shows at the next permanent secret or connection test. A plan \
                 that creates it warns when `.secrets.cfg` could not be written (file type, directory, lock, key \
                 and its permissions).",
            )
            .attribute(
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .description("The proxy user name; also the import id."),
            )
            .attribute(
                Attribute::required("proxy_user", Type::String)
                    .requires_replace()
                    .validator(validators::string_length(1, 256))
                    .markdown_description("The service proxy user (`proxy_user` of a slot in `primus.cfg`). Changing it replaces the resource."),
            )
            .attribute(Attribute::optional(PASSWORD.plain, Type::String).sensitive().markdown_description(
                "The service proxy password. Kept in the state as a sensitive value; with Terraform 1.11 or later \
                 prefer `password_wo`.",
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
                 whose changes Terraform cannot see.",
            ))
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

    async fn create(
        &self,
        req: CreateRequest<'_, Client, ServiceProxyPasswordState>,
    ) -> Result<CreateResponse<ServiceProxyPasswordState>, Diagnostics> {
        let planned = req.planned;
        // `ppin -p` overwrites; Terraform must not silently take over (and later delete) a stored password.
        if self
            .current(req.client, planned.clone_names())
            .await?
            .is_some()
        {
            let mut diags = Diagnostics::new();
            diags.attribute_error(
                AttributePath::root("proxy_user"),
                "Service Proxy Password Already Configured",
                format!(
                    "{} already holds a password for '{p}'. Import it with `terraform import {TYPE_NAME}.<name> {p}` \
                     to manage it with Terraform, or remove it with `ppin -x -e {p}` and apply again.",
                    req.client.door().store().path().display(),
                    p = planned.proxy_user
                ),
            );
            return Err(diags);
        }
        Ok(CreateResponse::new(
            self.store(req.client, &req.config, planned).await?,
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
        Ok(UpdateResponse::new(
            self.store(req.client, &req.config, req.planned).await?,
        ))
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, Client, ServiceProxyPasswordState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        let proxy_user = &req.prior.proxy_user;
        let removed = req
            .client
            .ppin(TYPE_NAME)?
            .proxy_remove(proxy_user)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, proxy_path()))?;
        tracing::info!(proxy_user = %proxy_user, removed, "service proxy password removed");
        Ok(DeleteResponse::new())
    }
}

impl ServiceProxyPasswordState {
    /// Only the names, for a presence check that must not carry passwords along.
    fn clone_names(&self) -> ServiceProxyPasswordState {
        ServiceProxyPasswordState {
            proxy_user: self.proxy_user.clone(),
            ..Default::default()
        }
    }
}

#[async_trait]
impl ImportState<Client> for ServiceProxyPasswordResource {
    /// The import id is the proxy user name; `read` checks the password is stored.
    async fn import(
        &self,
        req: ImportRequest<'_, Client>,
    ) -> Result<ImportResponse<ServiceProxyPasswordState>, Diagnostics> {
        req.client
            .ppin(TYPE_NAME)?
            .proxy_user(&req.id)
            .map_err(|e| fail(&e, TYPE_NAME, None))?;
        let state = ServiceProxyPasswordState {
            id: Some(req.id.clone()),
            proxy_user: req.id,
            ..Default::default()
        };
        Ok(ImportResponse::new(state))
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

#[async_trait]
impl ValidateConfig<Client> for ServiceProxyPasswordResource {
    type Config = ServiceProxyPasswordConfig;

    async fn validate(&self, req: ValidateRequest<ServiceProxyPasswordConfig>) -> Diagnostics {
        validate_config(&req.config)
    }
}

/// Exactly one of `password` / `password_wo`, and the version trigger.
fn validate_config(config: &ServiceProxyPasswordConfig) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let supplied = Supplied {
        plain: &config.password,
        write_only: &config.password_wo,
        version: &config.password_wo_version,
    };
    PASSWORD.validate(&supplied, &mut diags);
    diags
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplug::value::{from_value, Value};

    #[test]
    fn schema_matches_state_struct() {
        ServiceProxyPasswordResource
            .schema()
            .check_against::<ServiceProxyPasswordState>(TYPE_NAME)
            .unwrap();
    }

    #[test]
    fn a_password_is_required() {
        let config = Value::Object([("proxy_user".to_owned(), Value::from("SERVICE"))].into());
        let diags = validate_config(&from_value(&config).unwrap());
        assert_eq!(
            diags.iter().map(|d| d.summary.as_str()).collect::<Vec<_>>(),
            ["Missing Password"]
        );
    }
}
