//! The [`Resource`] trait a managed resource implements, one
//! request/response pair per operation (so fields can be added without
//! breaking anyone), and the optional features that need nothing but the
//! base trait: import, state upgrade, plan modification, validation.
//!
//! State and configuration are the resource's own serde struct
//! (`Resource::State`). The framework converts values, enforces
//! Terraform's plan and apply rules, and answers the protocol. The features
//! of protocol 6.9+ are traits of their own beside this one
//! ([`Identity`](crate::resource::Identity), [`List`](crate::resource::List),
//! [`GenerateConfig`](crate::resource::GenerateConfig)).

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cty::Value;
use crate::diag::{AttributePath, Diagnostic, Diagnostics};
use crate::schema::Schema;

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

/// Request of [`ValidateConfig::validate`] and
/// [`ValidateDataSourceConfig::validate`](crate::data_source::ValidateDataSourceConfig::validate).
#[non_exhaustive]
pub struct ValidateRequest<T> {
    /// The configuration; values may be unknown.
    pub config: T,
}
