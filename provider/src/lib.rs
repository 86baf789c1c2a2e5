//! `terraform-provider-primus`: onboards application hosts to a Securosys
//! Primus HSM or CloudHSM partition with Terraform.
//!
//! Each resource is one of the vendor's `ppin` operations, run through the
//! [`ppin`] library (never a `ppin` binary):
//!
//! | Terraform                                   | ppin                 |
//! |---------------------------------------------|----------------------|
//! | `primus_permanent_secret` create / update / destroy | `-a` / `-u` / `-r` |
//! | `primus_service_proxy_password` create / destroy    | `-p` / `-x`        |
//! | `primus_config` (writes `primus.cfg`, [`ppin::ConfigFile`]) | —           |
//! | `data.primus_secrets`                       | `-l`                 |
//! | `list` blocks of the two secret resources (`terraform query`) | `-l` |
//! | `data.primus_connection_test`               | `-t`                 |
//! | `action.primus_login_test` (on demand)      | `-t --user`          |
//!
//! The function `provider::primus::setup_password_valid` checks a setup
//! password's format locally, for variable `validation` blocks.
//!
//! The binary serves Terraform through [`tfplug`]. The registry
//! documentation is rendered from the schemas the binary serves and
//! `examples/` by tfplug's docs generator (the project command is
//! `scripts/docs.sh`).
//! The provider's registry address is [`ADDRESS`].
//!
//! # Layout
//!
//! The provider holds the schemas and the Terraform wording; everything about
//! the files and the HSM is behind [`ppin`]. Every resource, data source and
//! action is one file, `src/<name>.rs`, with its unit tests in
//! `src/<name>/tests.rs`, and reads in one order: the schema, the state
//! types, the trait impl (for a resource: CRUD, import, validation), plan
//! modification, then identity and listing. What they share sits beneath
//! them, each module importing only those below it:
//!
//! - `planning`: the opening of every plan check ([`ppin::Ppin`] with a
//!   readable `primus.cfg`, the decoded plan) and its errors and warnings;
//! - `listing`: identity, `list` blocks and generated configuration of the
//!   resources whose objects are `.secrets.cfg` entries;
//! - `credentials`: password attributes and their write-only twins;
//! - `client`: what `configure` hands every operation;
//! - `diagnostics`: ppin errors in Terraform's words (imports nothing of
//!   this crate).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod client;
mod connection_test_data_source;
mod credentials;
mod diagnostics;
mod durations;
mod host;
mod listing;
mod login_test_action;
mod partition_log_data_source;
mod permanent_secret;
mod planning;
mod primus_config;
mod provider;
mod remote;
mod secrets_data_source;
mod service_proxy_password;
mod setup_password_valid;

pub use client::Client;
pub use provider::{PrimusProvider, ProviderConfig, ADDRESS};
