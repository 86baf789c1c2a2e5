//! The traits a provider author implements, and one request/response pair
//! per operation so fields can be added without breaking anyone.
//!
//! State and configuration are the resource's own serde struct
//! (`Resource::State`). The framework converts values, enforces
//! Terraform's plan and apply rules, and answers the protocol.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::actions::ActionEntry;
use crate::cty::Value;
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::extras::{ErasedExtras, Extras};
use crate::functions::FunctionEntry;
use crate::schema::{Schema, SchemaMismatch};
use crate::serde_value::{from_value, to_value};

/// What the client (Terraform) said it supports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCapabilities {
    /// Terraform 1.11+: write-only attributes are kept out of plan and state.
    pub write_only_attributes_allowed: bool,
    /// The client accepts deferred actions.
    pub deferral_allowed: bool,
}

/// A Terraform provider: its configuration schema, how it configures the
/// client its resources use, and which resources and data sources it has.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The provider block's configuration, a serde struct.
    type Config: DeserializeOwned + Send + 'static;
    /// What [`configure`](Provider::configure) builds and every resource
    /// operation receives as `req.client` (an API client, paths, settings).
    type Client: Send + Sync + 'static;

    /// The schema of the `provider` block.
    fn schema(&self) -> Schema;

    /// Builds the client from the provider configuration. Terraform calls
    /// this once per run, before any resource operation.
    async fn configure(
        &self,
        req: ConfigureRequest<Self::Config>,
    ) -> Result<ConfigureResponse<Self::Client>, Diagnostics>;

    /// The managed resources. Build each with [`register`](crate::resource::register).
    fn resources(&self) -> Vec<ResourceEntry<Self::Client>>;

    /// The data sources. Build each with [`register`](crate::data_source::register).
    fn data_sources(&self) -> Vec<DataSourceEntry<Self::Client>>;

    /// The provider-defined functions (Terraform 1.8+). None by default.
    fn functions(&self) -> Vec<FunctionEntry> {
        Vec::new()
    }

    /// The actions (Terraform 1.14+). None by default.
    fn actions(&self) -> Vec<ActionEntry<Self::Client>> {
        Vec::new()
    }
}

/// Request of [`Provider::configure`].
#[non_exhaustive]
pub struct ConfigureRequest<T> {
    /// The provider block (unknown values read as `None`).
    pub config: T,
    /// Terraform's version, e.g. "1.0.3".
    pub terraform_version: String,
    /// What the client supports.
    pub capabilities: ClientCapabilities,
    /// Fired when Terraform sends StopProvider (Ctrl-C) or the provider
    /// shuts down. Keep a clone in the client and cancel operations that
    /// have not yet sent a credential when it fires.
    pub stop: CancellationToken,
}

/// Response of [`Provider::configure`].
#[non_exhaustive]
pub struct ConfigureResponse<C> {
    /// The client handed to every resource and data source operation.
    pub client: C,
    /// Warnings to show.
    pub warnings: Vec<Diagnostic>,
}

impl<C> ConfigureResponse<C> {
    /// A response carrying `client`.
    pub fn new(client: C) -> Self {
        ConfigureResponse {
            client,
            warnings: Vec::new(),
        }
    }
}

/// A managed resource. `State` is the serde struct of its attributes; its
/// field names must match the schema (the framework checks at startup).
///
/// The framework plans for you: unknown computed values on create and on
/// change, prior values kept when nothing changed, defaults, replacement,
/// validators; it keeps configured values as configured, nulls write-only
/// attributes, and refuses a result Terraform would call inconsistent with
/// a diagnostic naming the attribute.
#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The serde struct whose fields are the attributes; checked against the schema at startup.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The full type name, e.g. `localfile_file`.
    fn type_name(&self) -> &str;

    /// Attributes, their types and modes (required, optional, computed);
    /// also the source of the docs.
    fn schema(&self) -> Schema;

    /// Creates the object. `req.planned` holds configured values and
    /// defaults; computed attributes unknown at plan are `None`. Return
    /// the state with every computed attribute set.
    async fn create(
        &self,
        req: CreateRequest<'_, C, Self::State>,
    ) -> Result<CreateResponse<Self::State>, Diagnostics>;

    /// Reads the object's current state. Return [`ReadResponse::gone`]
    /// when it no longer exists; Terraform then plans to create it again.
    async fn read(
        &self,
        req: ReadRequest<'_, C, Self::State>,
    ) -> Result<ReadResponse<Self::State>, Diagnostics>;

    /// Updates the object in place to `req.planned`.
    ///
    /// On an error Terraform keeps the prior state, whatever new state a
    /// provider sends (it reads a null one as "keep the prior"). An update
    /// whose failure destroyed the object is therefore noticed at the next
    /// refresh: [`read`](Self::read) returns [`ReadResponse::gone`] and
    /// Terraform plans to create it again.
    async fn update(
        &self,
        req: UpdateRequest<'_, C, Self::State>,
    ) -> Result<UpdateResponse<Self::State>, Diagnostics>;

    /// Deletes the object. The framework then removes it from the state.
    async fn delete(
        &self,
        req: DeleteRequest<'_, C, Self::State>,
    ) -> Result<DeleteResponse, Diagnostics>;
}

/// Request of [`Resource::create`].
#[non_exhaustive]
pub struct CreateRequest<'a, C, S> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The configuration as written (write-only attributes are only here).
    pub config: S,
    /// What the plan promised: configured values and computed ones left unknown (`None`).
    pub planned: S,
    /// Private data from plan.
    pub planned_private: Vec<u8>,
}

/// Response of [`Resource::create`].
#[non_exhaustive]
pub struct CreateResponse<S> {
    /// The state Terraform stores: every computed value now known.
    pub state: S,
    /// Private data stored with the state, never shown to the user.
    pub private: Vec<u8>,
    /// Warnings shown with the successful apply.
    pub warnings: Diagnostics,
}

impl<S> CreateResponse<S> {
    /// A response with the new state.
    pub fn new(state: S) -> Self {
        CreateResponse {
            state,
            private: Vec::new(),
            warnings: Diagnostics::new(),
        }
    }

    /// Adds a warning shown with the successful apply.
    pub fn with_warning(mut self, warning: Diagnostic) -> Self {
        self.warnings.push(warning);
        self
    }

    /// Stores private data with the state.
    pub fn with_private(mut self, private: Vec<u8>) -> Self {
        self.private = private;
        self
    }
}

/// Request of [`Resource::read`].
#[non_exhaustive]
pub struct ReadRequest<'a, C, S> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The state Terraform stored last; compare it with the real object.
    pub state: S,
    /// Private data stored with the state.
    pub private: Vec<u8>,
}

/// Response of [`Resource::read`].
#[non_exhaustive]
pub struct ReadResponse<S> {
    /// The current state, or `None` when the object is gone.
    pub state: Option<S>,
    /// Private data to store.
    pub private: Vec<u8>,
}

impl<S> ReadResponse<S> {
    /// The object still exists; `state` is what it is now.
    pub fn found(state: S) -> Self {
        ReadResponse {
            state: Some(state),
            private: Vec::new(),
        }
    }

    /// The object no longer exists; Terraform removes it from the state.
    pub fn gone() -> Self {
        ReadResponse {
            state: None,
            private: Vec::new(),
        }
    }

    /// Stores private data with the state.
    pub fn with_private(mut self, private: Vec<u8>) -> Self {
        self.private = private;
        self
    }
}

/// Request of [`Resource::update`].
#[non_exhaustive]
pub struct UpdateRequest<'a, C, S> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The configuration as written (write-only attributes are only here).
    pub config: S,
    /// What the plan promised: configured values, and computed ones
    /// unknown (`None`) where they change.
    pub planned: S,
    /// The state Terraform stored before this update.
    pub prior: S,
    /// Private data from plan.
    pub planned_private: Vec<u8>,
}

/// Response of [`Resource::update`].
pub type UpdateResponse<S> = CreateResponse<S>;

/// Request of [`Resource::delete`].
#[non_exhaustive]
pub struct DeleteRequest<'a, C, S> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The last stored state: what identifies the object to delete.
    pub prior: S,
    /// Private data stored with the state.
    pub private: Vec<u8>,
}

/// Response of [`Resource::delete`].
#[derive(Default)]
#[non_exhaustive]
pub struct DeleteResponse {}

impl DeleteResponse {
    /// The object is gone; Terraform removes it from the state.
    pub fn new() -> Self {
        DeleteResponse {}
    }
}

/// Optional: `terraform import` support.
#[async_trait]
pub trait ImportState<C: Send + Sync + 'static>: Resource<C> {
    /// Turns the user's import id into a state. Terraform calls `read`
    /// next, so a state with only the identifying attributes set is enough
    /// if `read` fills the rest.
    async fn import(
        &self,
        req: ImportRequest<'_, C>,
    ) -> Result<ImportResponse<Self::State>, Diagnostics>;
}

/// Request of [`ImportState::import`].
#[non_exhaustive]
pub struct ImportRequest<'a, C> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The id given to `terraform import`.
    pub id: String,
}

/// Response of [`ImportState::import`].
pub type ImportResponse<S> = CreateResponse<S>;

/// Optional: converts state stored by an older schema version.
#[async_trait]
pub trait UpgradeState<C: Send + Sync + 'static>: Resource<C> {
    /// Converts `req.raw` (the stored JSON of schema version
    /// `req.version`) to the current state. Terraform may call this
    /// before the provider is configured, so there is no client.
    async fn upgrade(&self, req: UpgradeRequest) -> Result<Self::State, Diagnostics>;
}

/// Request of [`UpgradeState::upgrade`].
#[non_exhaustive]
pub struct UpgradeRequest {
    /// The schema version the state was written with.
    pub version: i64,
    /// The stored state as JSON, in the shape of schema `version`.
    pub raw: serde_json::Value,
}

/// Optional: adjusts the plan after the framework has made it.
#[async_trait]
pub trait ModifyPlan<C: Send + Sync + 'static>: Resource<C> {
    /// Returns the (possibly changed) plan. The framework re-applies
    /// Terraform's rules afterwards: configured values cannot change.
    async fn modify_plan(&self, req: ModifyPlanRequest<'_, C>) -> Result<Plan, Diagnostics>;
}

/// Request of [`ModifyPlan::modify_plan`].
#[non_exhaustive]
pub struct ModifyPlanRequest<'a, C> {
    /// The configured client (`None` during validation-time plans before
    /// the provider is configured).
    pub client: Option<&'a C>,
    /// The configuration; may contain unknown values.
    pub config: Value,
    /// The prior state; null on create.
    pub prior: Value,
    /// The plan the framework made: change it and return it.
    pub plan: Plan,
}

/// A planned change, as [`ModifyPlan`] sees and returns it.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) planned: Value,
    pub(crate) requires_replace: Vec<AttributePath>,
    pub(crate) private: Vec<u8>,
    pub(crate) warnings: Diagnostics,
}

impl Plan {
    /// The planned value of a top-level attribute.
    pub fn get(&self, name: &str) -> &Value {
        self.planned.attr(name)
    }

    /// Sets the planned value of a top-level attribute.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = &mut self.planned {
            m.insert(name.to_owned(), value);
        }
    }

    /// Plans a top-level attribute as unknown ("known after apply").
    pub fn set_unknown(&mut self, name: &str) {
        self.set(name, Value::Unknown);
    }

    /// Makes the change a replacement because of `path`.
    pub fn require_replace(&mut self, path: AttributePath) {
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
    }

    /// The whole planned object.
    pub fn planned(&self) -> &Value {
        &self.planned
    }

    /// Private data to carry from plan to apply.
    pub fn set_private(&mut self, private: Vec<u8>) {
        self.private = private;
    }

    /// Shows `warning` with the plan (e.g. a local problem that will fail
    /// the apply), without failing the plan.
    pub fn warn(&mut self, warning: Diagnostic) {
        self.warnings.push(warning);
    }
}

/// Optional: validation beyond the per-attribute validators.
#[async_trait]
pub trait ValidateConfig<C: Send + Sync + 'static>: Resource<C> {
    /// The configuration as this check wants to see it: a serde struct of
    /// the attributes it looks at (others are ignored), with
    /// [`Field`](crate::value::Field)s where a value may be unknown.
    type Config: DeserializeOwned + Send + 'static;

    /// Returns errors and warnings about `req.config`.
    async fn validate(&self, req: ValidateRequest<Self::Config>) -> Diagnostics;
}

/// Request of [`ValidateConfig::validate`] and [`ValidateDataSourceConfig::validate`].
#[non_exhaustive]
pub struct ValidateRequest<T> {
    /// The configuration; values may be unknown.
    pub config: T,
}

/// A data source. `State` holds its arguments and results.
#[async_trait]
pub trait DataSource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// The arguments and results as a serde struct.
    type State: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The full type name, e.g. `localfile_file`.
    fn type_name(&self) -> &str;

    /// Arguments and results, their types and modes; also the source of the docs.
    fn schema(&self) -> Schema;

    /// Reads the data: fill the computed attributes of `req.config`.
    async fn read(
        &self,
        req: DataReadRequest<'_, C, Self::State>,
    ) -> Result<DataReadResponse<Self::State>, Diagnostics>;
}

/// Request of [`DataSource::read`].
#[non_exhaustive]
pub struct DataReadRequest<'a, C, S> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The configuration; computed attributes are `None`.
    pub config: S,
}

/// Response of [`DataSource::read`].
#[non_exhaustive]
pub struct DataReadResponse<S> {
    /// The configuration with every computed attribute filled in.
    pub state: S,
}

impl<S> DataReadResponse<S> {
    /// A response with the data.
    pub fn new(state: S) -> Self {
        DataReadResponse { state }
    }
}

/// Optional: validation of a data source's configuration.
#[async_trait]
pub trait ValidateDataSourceConfig<C: Send + Sync + 'static>: DataSource<C> {
    /// The configuration as this check wants to see it, as in
    /// [`ValidateConfig::Config`].
    type Config: DeserializeOwned + Send + 'static;

    /// Returns errors and warnings about `req.config`.
    async fn validate(&self, req: ValidateRequest<Self::Config>) -> Diagnostics;
}

// ---- Type-erased entries the server works with ----

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A state value with its private data, as the server passes them around.
pub(crate) struct Stored {
    pub(crate) state: Value,
    pub(crate) private: Vec<u8>,
    pub(crate) warnings: Diagnostics,
}

/// What the server needs from a resource, on plain values.
#[async_trait]
pub(crate) trait ErasedResource<C>: Send + Sync {
    fn type_name(&self) -> String;
    fn schema(&self) -> &Schema;
    fn check(&self) -> Result<(), SchemaMismatch>;
    /// Identity, list and generated configuration.
    fn extras(&self) -> &dyn ErasedExtras<C>;
    async fn validate(&self, config: &Value) -> Diagnostics;
    async fn modify_plan(
        &self,
        client: Option<&C>,
        config: &Value,
        prior: &Value,
        plan: Plan,
    ) -> Result<Plan, Diagnostics>;
    async fn create(
        &self,
        client: &C,
        config: &Value,
        planned: &Value,
        private: Vec<u8>,
    ) -> Result<Stored, Diagnostics>;
    async fn read(
        &self,
        client: &C,
        state: &Value,
        private: Vec<u8>,
    ) -> Result<Option<Stored>, Diagnostics>;
    async fn update(
        &self,
        client: &C,
        config: &Value,
        planned: &Value,
        prior: &Value,
        private: Vec<u8>,
    ) -> Result<Stored, Diagnostics>;
    async fn delete(&self, client: &C, prior: &Value, private: Vec<u8>) -> Result<(), Diagnostics>;
    async fn import(&self, client: &C, id: String) -> Result<Stored, Diagnostics>;
    async fn upgrade(
        &self,
        version: i64,
        raw: serde_json::Value,
    ) -> Option<Result<Value, Diagnostics>>;
}

/// A registered resource, built by [`register`](crate::resource::register).
pub struct ResourceEntry<C>(pub(crate) Arc<dyn ErasedResource<C>>);

/// A registered data source, built by [`register`](crate::data_source::register).
pub struct DataSourceEntry<C>(pub(crate) Arc<dyn ErasedDataSource<C>>);

type ImportFn<C, R> =
    for<'a> fn(
        &'a R,
        ImportRequest<'a, C>,
    )
        -> BoxFuture<'a, Result<ImportResponse<<R as Resource<C>>::State>, Diagnostics>>;
type UpgradeFn<C, R> = for<'a> fn(
    &'a R,
    UpgradeRequest,
) -> BoxFuture<'a, Result<<R as Resource<C>>::State, Diagnostics>>;
type ModifyPlanFn<C, R> =
    for<'a> fn(&'a R, ModifyPlanRequest<'a, C>) -> BoxFuture<'a, Result<Plan, Diagnostics>>;
type ValidateFn<R> = for<'a> fn(&'a R, &'a Value) -> BoxFuture<'a, Diagnostics>;

/// Converts the configuration to the check's typed struct and runs it.
fn validate_typed<'a, T, F>(config: &'a Value, check: F) -> BoxFuture<'a, Diagnostics>
where
    T: DeserializeOwned + Send + 'static,
    F: FnOnce(ValidateRequest<T>) -> BoxFuture<'a, Diagnostics> + Send + 'a,
{
    Box::pin(async move {
        match from_value::<T>(config) {
            Ok(config) => check(ValidateRequest { config }).await,
            Err(e) => Diagnostic::error(
                "Invalid Configuration",
                format!("The configuration does not match what the provider expects: {e}."),
            )
            .into(),
        }
    })
}

/// Builder of a [`ResourceEntry`]: add the optional features the resource
/// implements, then `.into()`.
pub struct ResourceBuilder<C: Send + Sync + 'static, R: Resource<C>> {
    pub(crate) resource: R,
    pub(crate) schema: Schema,
    pub(crate) extras: Extras<C, R>,
    import: Option<ImportFn<C, R>>,
    upgrade: Option<UpgradeFn<C, R>>,
    modify_plan: Option<ModifyPlanFn<C, R>>,
    validate: Option<ValidateFn<R>>,
}

/// Starts registering a resource: `resource::register(FileResource).with_import().into()`.
pub fn register_resource<C: Send + Sync + 'static, R: Resource<C>>(r: R) -> ResourceBuilder<C, R> {
    let schema = r.schema();
    ResourceBuilder {
        resource: r,
        schema,
        extras: Extras::default(),
        import: None,
        upgrade: None,
        modify_plan: None,
        validate: None,
    }
}

impl<C: Send + Sync + 'static, R: Resource<C>> ResourceBuilder<C, R> {
    /// Enables `terraform import` through [`ImportState`].
    pub fn with_import(mut self) -> Self
    where
        R: ImportState<C>,
    {
        self.import = Some(|r, req| r.import(req));
        self
    }

    /// Enables state upgrades through [`UpgradeState`].
    pub fn with_upgrade(mut self) -> Self
    where
        R: UpgradeState<C>,
    {
        self.upgrade = Some(|r, req| r.upgrade(req));
        self
    }

    /// Enables plan modification through [`ModifyPlan`].
    pub fn with_plan_modifier(mut self) -> Self
    where
        R: ModifyPlan<C>,
    {
        self.modify_plan = Some(|r, req| r.modify_plan(req));
        self
    }

    /// Enables custom validation through [`ValidateConfig`].
    pub fn with_validation(mut self) -> Self
    where
        R: ValidateConfig<C>,
    {
        self.validate = Some(|r, config| {
            validate_typed(config, move |req| {
                <R as ValidateConfig<C>>::validate(r, req)
            })
        });
        self
    }
}

impl<C: Send + Sync + 'static, R: Resource<C>> From<ResourceBuilder<C, R>> for ResourceEntry<C> {
    fn from(b: ResourceBuilder<C, R>) -> Self {
        ResourceEntry(Arc::new(b))
    }
}

fn decode_error(what: &str, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostic::error(
        "Value Conversion Error",
        format!("{what} does not match the provider's state type: {e}. This is a provider bug; please report it."),
    )
    .into()
}

/// Converts a value to the state struct.
fn typed<S: DeserializeOwned>(what: &str, v: &Value) -> Result<S, Diagnostics> {
    from_value(v).map_err(|e| decode_error(what, e))
}

fn untyped<S: Serialize>(schema: &Schema, what: &str, s: &S) -> Result<Value, Diagnostics> {
    to_value(s, schema.value_type()).map_err(|e| decode_error(what, e))
}

#[async_trait]
impl<C: Send + Sync + 'static, R: Resource<C>> ErasedResource<C> for ResourceBuilder<C, R> {
    fn type_name(&self) -> String {
        self.resource.type_name().to_owned()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn check(&self) -> Result<(), SchemaMismatch> {
        let identity = self.check_identity();
        match self
            .schema
            .check_against::<R::State>(self.resource.type_name())
        {
            Ok(()) if identity.is_empty() => Ok(()),
            Ok(()) => Err(SchemaMismatch(identity)),
            Err(SchemaMismatch(mut problems)) => {
                problems.extend(identity);
                Err(SchemaMismatch(problems))
            }
        }
    }

    fn extras(&self) -> &dyn ErasedExtras<C> {
        self
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        match self.validate {
            Some(f) => f(&self.resource, config).await,
            None => Diagnostics::new(),
        }
    }

    async fn modify_plan(
        &self,
        client: Option<&C>,
        config: &Value,
        prior: &Value,
        plan: Plan,
    ) -> Result<Plan, Diagnostics> {
        match self.modify_plan {
            Some(f) => {
                let req = ModifyPlanRequest {
                    client,
                    config: config.clone(),
                    prior: prior.clone(),
                    plan,
                };
                f(&self.resource, req).await
            }
            None => Ok(plan),
        }
    }

    async fn create(
        &self,
        client: &C,
        config: &Value,
        planned: &Value,
        private: Vec<u8>,
    ) -> Result<Stored, Diagnostics> {
        let req = CreateRequest {
            client,
            config: typed("configuration", config)?,
            planned: typed("planned state", planned)?,
            planned_private: private,
        };
        let resp = self.resource.create(req).await?;
        Ok(Stored {
            state: untyped(&self.schema, "created state", &resp.state)?,
            private: resp.private,
            warnings: resp.warnings,
        })
    }

    async fn read(
        &self,
        client: &C,
        state: &Value,
        private: Vec<u8>,
    ) -> Result<Option<Stored>, Diagnostics> {
        let req = ReadRequest {
            client,
            state: typed("stored state", state)?,
            private,
        };
        let resp = self.resource.read(req).await?;
        match resp.state {
            None => Ok(None),
            Some(s) => Ok(Some(Stored {
                state: untyped(&self.schema, "read state", &s)?,
                private: resp.private,
                warnings: Diagnostics::new(),
            })),
        }
    }

    async fn update(
        &self,
        client: &C,
        config: &Value,
        planned: &Value,
        prior: &Value,
        private: Vec<u8>,
    ) -> Result<Stored, Diagnostics> {
        let req = UpdateRequest {
            client,
            config: typed("configuration", config)?,
            planned: typed("planned state", planned)?,
            prior: typed("prior state", prior)?,
            planned_private: private,
        };
        let resp = self.resource.update(req).await?;
        Ok(Stored {
            state: untyped(&self.schema, "updated state", &resp.state)?,
            private: resp.private,
            warnings: Diagnostics::new(),
        })
    }

    async fn delete(&self, client: &C, prior: &Value, private: Vec<u8>) -> Result<(), Diagnostics> {
        let req = DeleteRequest {
            client,
            prior: typed("prior state", prior)?,
            private,
        };
        self.resource.delete(req).await.map(drop)
    }

    async fn import(&self, client: &C, id: String) -> Result<Stored, Diagnostics> {
        let Some(f) = self.import else {
            return Err(Diagnostic::error(
                "Import Not Supported",
                format!(
                    "The resource type {} cannot be imported; create it with Terraform instead.",
                    self.type_name()
                ),
            )
            .into());
        };
        let resp = f(&self.resource, ImportRequest { client, id }).await?;
        Ok(Stored {
            state: untyped(&self.schema, "imported state", &resp.state)?,
            private: resp.private,
            warnings: Diagnostics::new(),
        })
    }

    async fn upgrade(
        &self,
        version: i64,
        raw: serde_json::Value,
    ) -> Option<Result<Value, Diagnostics>> {
        let f = self.upgrade?;
        let upgraded = f(&self.resource, UpgradeRequest { version, raw }).await;
        Some(upgraded.and_then(|s| untyped(&self.schema, "upgraded state", &s)))
    }
}

/// What the server needs from a data source, on plain values.
#[async_trait]
pub(crate) trait ErasedDataSource<C>: Send + Sync {
    fn type_name(&self) -> String;
    fn schema(&self) -> &Schema;
    fn check(&self) -> Result<(), SchemaMismatch>;
    async fn validate(&self, config: &Value) -> Diagnostics;
    async fn read(&self, client: &C, config: &Value) -> Result<Value, Diagnostics>;
}

/// Builder of a [`DataSourceEntry`]; `.into()` when done.
pub struct DataSourceBuilder<C: Send + Sync + 'static, D: DataSource<C>> {
    source: D,
    schema: Schema,
    validate: Option<ValidateFn<D>>,
    _client: std::marker::PhantomData<fn(&C)>,
}

/// Starts registering a data source: `data_source::register(FileData).into()`.
pub fn register_data_source<C: Send + Sync + 'static, D: DataSource<C>>(
    d: D,
) -> DataSourceBuilder<C, D> {
    let schema = d.schema();
    DataSourceBuilder {
        source: d,
        schema,
        validate: None,
        _client: std::marker::PhantomData,
    }
}

impl<C: Send + Sync + 'static, D: DataSource<C>> DataSourceBuilder<C, D> {
    /// Enables custom validation through [`ValidateDataSourceConfig`].
    pub fn with_validation(mut self) -> Self
    where
        D: ValidateDataSourceConfig<C>,
    {
        self.validate = Some(|d, config| {
            validate_typed(config, move |req| {
                <D as ValidateDataSourceConfig<C>>::validate(d, req)
            })
        });
        self
    }
}

impl<C: Send + Sync + 'static, D: DataSource<C>> From<DataSourceBuilder<C, D>>
    for DataSourceEntry<C>
{
    fn from(b: DataSourceBuilder<C, D>) -> Self {
        DataSourceEntry(Arc::new(b))
    }
}

#[async_trait]
impl<C: Send + Sync + 'static, D: DataSource<C>> ErasedDataSource<C> for DataSourceBuilder<C, D> {
    fn type_name(&self) -> String {
        self.source.type_name().to_owned()
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn check(&self) -> Result<(), SchemaMismatch> {
        self.schema
            .check_against::<D::State>(self.source.type_name())
    }

    async fn validate(&self, config: &Value) -> Diagnostics {
        match self.validate {
            Some(f) => f(&self.source, config).await,
            None => Diagnostics::new(),
        }
    }

    async fn read(&self, client: &C, config: &Value) -> Result<Value, Diagnostics> {
        let req = DataReadRequest {
            client,
            config: typed("configuration", config)?,
        };
        let resp = self.source.read(req).await?;
        untyped(&self.schema, "data source result", &resp.state)
    }
}
