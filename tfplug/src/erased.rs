//! The type-erased side of registration: what the server calls on a
//! registered resource or data source, on plain [`Value`]s, and the
//! conversions between a provider's typed structs and those values.
//!
//! The builders ([`ResourceBuilder`](crate::resource::ResourceBuilder),
//! [`DataSourceBuilder`](crate::data_source::DataSourceBuilder)) implement
//! these traits; the server knows only this module.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cty::Value;
use crate::diag::{Diagnostic, Diagnostics};
use crate::identity::IdentitySchema;
use crate::resources::{Plan, ValidateRequest};
use crate::schema::{Schema, SchemaMismatch};
use crate::serde_value::{from_value, to_value};

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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

/// A listed object with its state as a value.
pub(crate) struct ListedValue {
    pub(crate) display_name: String,
    pub(crate) state: Value,
}

/// What a list found, as values, with its warnings.
pub(crate) struct ListedValues {
    pub(crate) listed: Vec<ListedValue>,
    pub(crate) warnings: Diagnostics,
}

/// What the server needs from the features of protocol 6.9+ a resource was
/// registered with (identity, list, generated configuration), on plain values.
#[async_trait]
pub(crate) trait ErasedExtras<C>: Send + Sync {
    /// The identity schema, when the resource has one.
    fn identity_schema(&self) -> Option<&IdentitySchema>;
    /// The import id an `import` block's identity stands for.
    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics>;
    /// An identity stored with another identity version, converted.
    async fn upgrade_identity(
        &self,
        version: i64,
        raw: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics>;
    /// The schema of the list's `config` block, when the resource lists.
    fn list_schema(&self) -> Option<&Schema>;
    /// The listed objects.
    async fn list(
        &self,
        client: &C,
        config: &Value,
        limit: usize,
    ) -> Result<ListedValues, Diagnostics>;
    /// Whether the resource was registered with its own generated configuration.
    fn generates_config(&self) -> bool;
    /// The configuration Terraform writes for `state`.
    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics>;
    /// Identity attributes that do not match the resource's attributes.
    fn check_identity(&self) -> Vec<String>;
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

pub(crate) type ValidateFn<R> = for<'a> fn(&'a R, &'a Value) -> BoxFuture<'a, Diagnostics>;

/// Converts the configuration to the check's typed struct and runs it.
pub(crate) fn validate_typed<'a, T, F>(config: &'a Value, check: F) -> BoxFuture<'a, Diagnostics>
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

fn decode_error(what: &str, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostic::error(
        "Value Conversion Error",
        format!("{what} does not match the provider's state type: {e}. This is a provider bug; please report it."),
    )
    .into()
}

/// Converts a value to the state struct.
pub(crate) fn typed<S: DeserializeOwned>(what: &str, v: &Value) -> Result<S, Diagnostics> {
    from_value(v).map_err(|e| decode_error(what, e))
}

pub(crate) fn untyped<S: Serialize>(
    schema: &Schema,
    what: &str,
    s: &S,
) -> Result<Value, Diagnostics> {
    to_value(s, schema.value_type()).map_err(|e| decode_error(what, e))
}
