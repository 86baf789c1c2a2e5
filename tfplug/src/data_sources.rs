//! The [`DataSource`] trait, its request/response pair and optional
//! validation, and the builder that registers a data source.

use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cty::Value;
use crate::diag::Diagnostics;
use crate::erased::{
    typed, untyped, validate_typed, DataSourceEntry, ErasedDataSource, ValidateFn,
};
use crate::resources::ValidateRequest;
use crate::schema::{Schema, SchemaMismatch};

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
    /// [`ValidateConfig::Config`](crate::resource::ValidateConfig::Config).
    type Config: DeserializeOwned + Send + 'static;

    /// Returns errors and warnings about `req.config`.
    async fn validate(&self, req: ValidateRequest<Self::Config>) -> Diagnostics;
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
