//! The registration and type erasure of the resource features of protocol
//! 6.9+ (identity, list, generated configuration), kept apart from the
//! core resource so each stays small.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;

use crate::cty::Value;
use crate::diag::{Diagnostic, Diagnostics};
use crate::identity::{Identity, IdentitySchema, IdentityValue, UpgradeIdentityRequest};
use crate::listing::{generated_config, GenerateConfig, GenerateConfigRequest, List, ListRequest};
use crate::schema::Schema;
use crate::serde_value::{conform, from_value, to_value};
use crate::traits::{Resource, ResourceBuilder};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type ImportIdFn<R> = for<'a> fn(&'a R, &IdentityValue<'a>) -> Result<String, Diagnostics>;
type UpgradeIdentityFn<R> = for<'a> fn(
    &'a R,
    UpgradeIdentityRequest,
) -> BoxFuture<'a, Result<serde_json::Value, Diagnostics>>;
type ListFn<C, R> = for<'a> fn(
    &'a R,
    &'a Schema,
    &'a C,
    &'a Value,
    usize,
) -> BoxFuture<'a, Result<Vec<ListedValue>, Diagnostics>>;
type GenerateFn<R> = fn(&R, GenerateConfigRequest) -> Result<Value, Diagnostics>;

/// A listed object with its state as a value.
pub(crate) struct ListedValue {
    pub(crate) display_name: String,
    pub(crate) state: Value,
}

/// The features a resource was registered with beyond the core ones.
pub(crate) struct Extras<C, R> {
    identity: Option<IdentitySupport<R>>,
    list: Option<(Schema, ListFn<C, R>)>,
    generate: Option<GenerateFn<R>>,
}

struct IdentitySupport<R> {
    schema: IdentitySchema,
    import_id: ImportIdFn<R>,
    upgrade: UpgradeIdentityFn<R>,
}

impl<C, R> Default for Extras<C, R> {
    fn default() -> Self {
        Extras {
            identity: None,
            list: None,
            generate: None,
        }
    }
}

impl<C: Send + Sync + 'static, R: Resource<C>> ResourceBuilder<C, R> {
    /// Declares the resource's identity through [`Identity`]: Terraform
    /// stores it with the state and `import` blocks may name it.
    pub fn with_identity(mut self) -> Self
    where
        R: Identity<C>,
    {
        self.extras.identity = Some(IdentitySupport {
            schema: self.resource.identity_schema(),
            import_id: |r, identity| r.import_id(identity),
            upgrade: |r, req| r.upgrade_identity(req),
        });
        self
    }

    /// Enables the list resource of the same type through [`List`] (and the
    /// identity it needs).
    pub fn with_list(mut self) -> Self
    where
        R: List<C>,
    {
        self = self.with_identity();
        self.extras.list = Some((
            self.resource.list_schema(),
            |r, schema, client, config, limit| {
                Box::pin(list_typed(r, schema, client, config, limit))
            },
        ));
        self
    }

    /// Has Terraform ask this provider for the configuration it generates,
    /// adjusted by [`GenerateConfig`].
    pub fn with_generated_config(mut self) -> Self
    where
        R: GenerateConfig<C>,
    {
        self.extras.generate = Some(|r, req| r.generate_config(req));
        self
    }
}

/// Runs [`List::list`] on typed values and turns the states back into values.
async fn list_typed<C: Send + Sync + 'static, R: List<C>>(
    r: &R,
    resource_schema: &Schema,
    client: &C,
    config: &Value,
    limit: usize,
) -> Result<Vec<ListedValue>, Diagnostics> {
    let config = from_value::<R::Config>(config).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Invalid List Configuration",
            format!("The config block does not match what the provider expects: {e}."),
        ))
    })?;
    let listed = r
        .list(ListRequest {
            client,
            config,
            limit,
        })
        .await?;
    let ty = resource_schema.value_type();
    listed
        .into_iter()
        .map(|l| {
            let state = to_value(&l.state, ty).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Value Conversion Error",
                    format!("A listed state does not match the provider's state type: {e}. This is a provider bug; please report it."),
                ))
            })?;
            Ok(ListedValue {
                display_name: l.display_name,
                state,
            })
        })
        .collect()
}

/// What the server needs from the features of [`Extras`], on plain values.
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
    ) -> Result<Vec<ListedValue>, Diagnostics>;
    /// Whether the resource was registered with its own generated configuration.
    fn generates_config(&self) -> bool;
    /// The configuration Terraform writes for `state`.
    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics>;
    /// Identity attributes that do not match the resource's attributes.
    fn check_identity(&self) -> Vec<String>;
}

fn not_registered(type_name: &str, what: &str) -> Diagnostics {
    Diagnostic::error(
        "Not Supported",
        format!("The resource type {type_name} has no {what} in this provider; check the provider version."),
    )
    .into()
}

#[async_trait]
impl<C: Send + Sync + 'static, R: Resource<C>> ErasedExtras<C> for ResourceBuilder<C, R> {
    fn identity_schema(&self) -> Option<&IdentitySchema> {
        self.extras.identity.as_ref().map(|i| &i.schema)
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        let type_name = self.resource.type_name();
        let support = self
            .extras
            .identity
            .as_ref()
            .ok_or_else(|| not_registered(type_name, "identity"))?;
        let value = IdentityValue {
            schema: &support.schema,
            value: identity,
            type_name,
        };
        (support.import_id)(&self.resource, &value)
    }

    async fn upgrade_identity(
        &self,
        version: i64,
        raw: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        let support = self
            .extras
            .identity
            .as_ref()
            .ok_or_else(|| not_registered(self.resource.type_name(), "identity"))?;
        (support.upgrade)(&self.resource, UpgradeIdentityRequest { version, raw }).await
    }

    fn list_schema(&self) -> Option<&Schema> {
        self.extras.list.as_ref().map(|(schema, _)| schema)
    }

    async fn list(
        &self,
        client: &C,
        config: &Value,
        limit: usize,
    ) -> Result<Vec<ListedValue>, Diagnostics> {
        let Some((schema, list)) = &self.extras.list else {
            return Err(not_registered(self.resource.type_name(), "list resource"));
        };
        // A `list` block without a `config` block: every attribute null.
        let config = match config {
            Value::Null => conform(Value::Object(Default::default()), schema.value_type())
                .map_err(|e| {
                    Diagnostics::from(Diagnostic::error("Invalid List Schema", e.to_string()))
                })?,
            other => other.clone(),
        };
        list(&self.resource, &self.schema, client, &config, limit).await
    }

    fn generates_config(&self) -> bool {
        self.extras.generate.is_some()
    }

    fn generate_config(&self, state: &Value) -> Result<Value, Diagnostics> {
        let generated = generated_config(&self.schema.block, state);
        match self.extras.generate {
            Some(f) => f(
                &self.resource,
                GenerateConfigRequest {
                    state: state.clone(),
                    generated,
                },
            ),
            None => Ok(generated),
        }
    }

    fn check_identity(&self) -> Vec<String> {
        self.extras
            .identity
            .as_ref()
            .map(|i| {
                i.schema
                    .check_against(self.resource.type_name(), &self.schema)
            })
            .unwrap_or_default()
    }
}
