//! tfplug: a framework for Terraform providers in Rust, serving Terraform
//! plugin protocol 6 (messages of 6.10).
//!
//! A provider implements [`provider::Provider`]; each managed resource
//! implements [`resource::Resource`] with its state as a plain serde struct,
//! and its [`schema::Schema`] declared beside it. Optional features are
//! separate traits ([`resource::ImportState`], [`resource::UpgradeState`],
//! [`resource::ModifyPlan`], [`resource::ValidateConfig`], and for
//! Terraform 1.12+ [`resource::Identity`], [`resource::List`],
//! [`resource::GenerateConfig`]) switched on when registering with
//! [`resource::register`]. `main` calls
//! [`serve::serve_main`].
//!
//! The public surface is grouped by role, one module each:
//! [`provider`], [`resource`], [`data_source`], [`schema`] (with
//! [`validators`]), [`diag`], [`value`], [`function`], [`action`] and
//! [`serve`]. Resource identity, list resources and generated configuration
//! are optional traits in [`resource`].
//!
//! The framework does the protocol work: the go-plugin handshake with
//! AutoMTLS, the msgpack value codec, Terraform's plan/apply consistency
//! rules (unknown computed values, defaults, replacement, prior values on
//! no-op, write-only attributes) and logging in the format Terraform reads.
//! Run a provider with `--debug` to attach Terraform to it through
//! `TF_REATTACH_PROVIDERS`. See the crate README for a complete example.
//!
//! Inside, each public module re-exports from private files, and no file
//! imports one that imports it back (the traits at the bottom, the
//! builders above them, the server on top):
//!
//! - the traits: `providers`, `resources` (the base `Resource` and the
//!   features that need only it), `identity` and `listing` (the features
//!   of protocol 6.9+, each a trait over `Resource`), `data_sources`,
//!   `functions`, `actions`;
//! - `resource_builder` registers a resource with the features it
//!   implements; `erased` is what the server sees of anything registered;
//! - `server` is the tfplugin6 service, with one file per family of RPCs
//!   under `server/`; `serving` and `tls` do the handshake; `proto` holds
//!   the generated protocol types;
//! - values and rules: `cty`, `serde_value`, `shape`, `field`, `plan`.
//! - `docgen` (feature `docs`) renders the registry pages.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod actions;
mod cty;
mod data_sources;
pub mod diag;
mod erased;
mod error;
mod field;
mod functions;
mod identity;
mod listing;
mod log;
mod plan;
pub mod proto;
mod providers;
mod request_log;
mod resource_builder;
mod resources;
pub mod schema;
mod serde_value;
mod server;
mod serving;
mod shape;
mod tls;
pub mod validators;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "docs")]
mod docgen;

/// The README's example provider is compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use async_trait::async_trait;

/// The provider itself: its configuration and the client it builds for
/// its resources and data sources.
pub mod provider {
    pub use crate::providers::{ClientCapabilities, ConfigureRequest, ConfigureResponse, Provider};
}

/// Managed resources: the [`Resource`](resource::Resource) trait, one request/response pair
/// per operation, and the optional features, each a trait switched on at
/// [`register`](resource::register).
pub mod resource {
    pub use crate::erased::ResourceEntry;
    pub use crate::identity::{
        Identity, IdentityAttribute, IdentitySchema, IdentityValue, ImportRole,
        UpgradeIdentityRequest,
    };
    pub use crate::listing::{
        GenerateConfig, GenerateConfigRequest, List, ListRequest, ListResponse, Listed,
    };
    pub use crate::resource_builder::{register_resource as register, ResourceBuilder};
    pub use crate::resources::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ImportRequest,
        ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest, Plan, ReadRequest,
        ReadResponse, Resource, UpdateRequest, UpdateResponse, UpgradeRequest, UpgradeState,
        ValidateConfig, ValidateRequest,
    };
}

/// Data sources: the [`DataSource`](data_source::DataSource) trait, its request/response pair and
/// optional validation.
pub mod data_source {
    pub use crate::data_sources::{
        register_data_source as register, DataReadRequest, DataReadResponse, DataSource,
        DataSourceBuilder, ValidateDataSourceConfig,
    };
    pub use crate::erased::DataSourceEntry;
    pub use crate::resources::ValidateRequest;
}

/// Provider-defined functions (Terraform 1.8+): the [`Function`](function::Function) trait,
/// its definition, and the errors it returns; registered by
/// [`Provider::functions`](provider::Provider::functions).
pub mod function {
    pub use crate::functions::{
        register_function as register, Function, FunctionCall, FunctionDefinition, FunctionEntry,
        FunctionError, Parameter,
    };
}

/// Actions (Terraform 1.14+), run on demand with `terraform apply -invoke=action.TYPE.NAME`:
/// the [`Action`](action::Action) trait, its request and progress reporting; registered by
/// [`Provider::actions`](provider::Provider::actions).
pub mod action {
    pub use crate::actions::{
        register_action as register, Action, ActionEntry, InvokeRequest, Progress,
    };
}

/// Terraform values: the untyped [`Value`](value::Value) and [`Type`](value::Type), exact
/// [`Number`](value::Number)s, the wire codecs, and the serde bridge to typed structs.
pub mod value {
    pub use crate::cty::{from_json, from_msgpack, to_msgpack, Number, Type, Value};
    pub use crate::error::CodecError;
    pub use crate::field::Field;
    pub use crate::serde_value::{from_value, to_value};
}

/// Registry documentation rendered from the schemas a provider serves and
/// its `examples/` (cargo feature `docs`): what HashiCorp's tfplugindocs
/// does for Go providers.
#[cfg(feature = "docs")]
pub mod docs {
    pub use crate::docgen::{DocPage, Docs, DocsError};
}

/// Serving a provider to Terraform: the go-plugin handshake, AutoMTLS and
/// debug mode.
pub mod serve {
    pub use crate::error::ServeError;
    pub use crate::serving::{
        serve, serve_main, ServeOptions, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE,
    };
}
