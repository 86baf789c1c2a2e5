//! Acceptance tests: a real Terraform 1.0.3 drives the provider against a
//! real hsm-sim process, with real `.secrets.cfg` files. One test binary,
//! so the tests run in parallel (each in its own simulator and directory).
#![allow(clippy::unwrap_used)] // tests may unwrap

mod data_sources;
mod examples;
mod failures;
mod install;
mod modules;
mod permanent_secret;
mod primus_config;
mod schema;
mod secrets_in_logs;
mod service_proxy_password;
