//! tfplug: a framework for Terraform providers in Rust, serving Terraform
//! plugin protocol 6 (messages up to 6.9, including write-only attributes).
//!
//! A provider implements [`Provider`]; each managed resource implements
//! [`Resource`] with its state as a plain serde struct, and its [`Schema`]
//! declared beside it. Optional features are separate traits
//! ([`ImportState`], [`UpgradeState`], [`ModifyPlan`], [`ValidateConfig`])
//! enabled when registering with [`resource`]. `main` calls [`serve_main`].
//!
//! The framework does the protocol work: the go-plugin handshake with
//! AutoMTLS, the msgpack value codec, Terraform's plan/apply consistency
//! rules (unknown computed values, defaults, replacement, prior values on
//! no-op, write-only attributes) and logging in the format Terraform reads.
//! Run a provider with `--debug` to attach Terraform to it through
//! `TF_REATTACH_PROVIDERS`. See the crate README for a complete example.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod diag;
mod error;
mod log;
mod plan;
mod provider;
mod schema;
mod serde_value;
mod serve;
mod server;
mod tls;
pub mod validators;
mod value;

#[cfg(feature = "testing")]
pub mod testing;

/// Generated protocol types (tfplugin6 and go-plugin), for protocol-level
/// tests and clients.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::unwrap_used)]
pub mod proto {
    /// Terraform plugin protocol 6.9.
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    /// go-plugin's controller and stdio services.
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

/// The README's example provider is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use async_trait::async_trait;
pub use diag::{AttributePath, Diagnostic, Diagnostics, PathStep, Severity};
pub use error::{CodecError, ServeError};
pub use provider::{
    data_source, resource, ClientCapabilities, ConfigureRequest, ConfigureResponse, CreateRequest,
    CreateResponse, DataReadRequest, DataReadResponse, DataSource, DataSourceBuilder,
    DataSourceEntry, DeleteRequest, DeleteResponse, ImportRequest, ImportResponse, ImportState,
    ModifyPlan, ModifyPlanRequest, Plan, Provider, ReadRequest, ReadResponse, Resource,
    ResourceBuilder, ResourceEntry, UpdateRequest, UpdateResponse, UpgradeRequest, UpgradeState,
    ValidateConfig, ValidateDataSourceConfig, ValidateRequest,
};
pub use schema::{
    Attribute, AttributeType, Block, Mode, NestedBlock, Nesting, Schema, SchemaMismatch, Validator,
    WriteOnlyFallback,
};
pub use serde_value::{from_value, to_value};
pub use serve::{serve, serve_main, ServeOptions, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
pub use value::{from_json, from_msgpack, to_msgpack, Number, Type, Value};
