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
//! | `primus_config` (writes `primus.cfg` itself)        | —                  |
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
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod client;
mod connection_test_data_source;
mod credentials;
mod diagnostics;
mod listing;
mod login_test_action;
mod permanent_secret;
mod primus_config;
mod provider;
mod secrets_data_source;
mod service_proxy_password;
mod setup_password_valid;

pub use client::Client;
pub use provider::{PrimusProvider, ProviderConfig, ADDRESS};
