//! The [`Provider`] trait: the provider block's schema, how it builds the
//! client its resources use, and what it registers.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::actions::ActionEntry;
use crate::diag::{Diagnostic, Diagnostics};
use crate::erased::{DataSourceEntry, ResourceEntry};
use crate::functions::FunctionEntry;
use crate::schema::Schema;

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
