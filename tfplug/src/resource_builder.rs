//! [`ResourceBuilder`]: registers a resource with the optional features it
//! implements, and erases its types for the server
//! ([`ErasedResource`], [`ErasedExtras`]).
//!
//! It sits above every resource trait: the base [`Resource`], the features
//! beside it ([`ImportState`], [`UpgradeState`], [`ModifyPlan`],
//! [`ValidateConfig`]) and those of protocol 6.9+ ([`Identity`], [`List`],
//! [`GenerateConfig`]), which know nothing of it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::cty::Value;
use crate::diag::{Diagnostic, Diagnostics};
use crate::erased::{
    typed, untyped, validate_typed, BoxFuture, ErasedExtras, ErasedResource, ListedValue,
    ListedValues, ResourceEntry, Stored, ValidateFn,
};
use crate::identity::{Identity, IdentitySchema, IdentityValue, UpgradeIdentityRequest};
use crate::listing::{generated_config, GenerateConfig, GenerateConfigRequest, List, ListRequest};
use crate::resources::{
    CreateRequest, DeleteRequest, ImportRequest, ImportResponse, ImportState, ModifyPlan,
    ModifyPlanRequest, Plan, ReadRequest, Resource, UpdateRequest, UpgradeRequest, UpgradeState,
    ValidateConfig,
};
use crate::schema::{Schema, SchemaMismatch};
use crate::serde_value::{conform, from_value, to_value};

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
) -> BoxFuture<'a, Result<ListedValues, Diagnostics>>;
type GenerateFn<R> = fn(&R, GenerateConfigRequest) -> Result<Value, Diagnostics>;

/// Builder of a [`ResourceEntry`]: add the optional features the resource
/// implements, then `.into()`.
pub struct ResourceBuilder<C: Send + Sync + 'static, R: Resource<C>> {
    resource: R,
    schema: Schema,
    extras: Extras<C, R>,
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

// ---- The features of protocol 6.9+: identity, list, generated configuration ----

/// The features a resource was registered with beyond the core ones.
struct Extras<C, R> {
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
) -> Result<ListedValues, Diagnostics> {
    let config = from_value::<R::Config>(config).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Invalid List Configuration",
            format!("The config block does not match what the provider expects: {e}."),
        ))
    })?;
    let response = r
        .list(ListRequest {
            client,
            config,
            limit,
        })
        .await?;
    let ty = resource_schema.value_type();
    let listed = response
        .listed
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
        .collect::<Result<_, Diagnostics>>()?;
    Ok(ListedValues {
        listed,
        warnings: response.warnings,
    })
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
    ) -> Result<ListedValues, Diagnostics> {
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
