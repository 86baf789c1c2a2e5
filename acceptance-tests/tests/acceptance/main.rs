//! Acceptance tests: a real Terraform drives the provider against a real
//! hsm-sim process, with real `.secrets.cfg` files. Every test runs on
//! Terraform 1.15.5 and on 1.0.3 (`acceptance_tests::on_every_terraform!`),
//! except the write-only ones (1.15.5 only), the refusal of write-only
//! attributes by old clients (1.0.3 only), the pre-flight and permission
//! tests of `reliability` (1.15.5 only: the provider's behaviour, the same on
//! every release), resource identity and `terraform query` (`identity`,
//! `query`), provider functions (`functions`) and actions (`actions`), which
//! need Terraform 1.8 to 1.14: 1.15.5 only; and the kill tests of `kill`
//! (1.0.3 only, see there); the Ctrl-C test runs on both. `registry`
//! installs a signed release from a local registry and network mirror on
//! both. `TF_ACC_TERRAFORM` runs the 1.15.5 tests on another release
//! (`scripts/compat.sh`). `remote_hosts` runs resources on simulated hosts
//! over SSH, each a real sshd (see there for which release runs what). One test binary, so the tests run in parallel
//! (each in its own simulator and directory).
#![allow(clippy::unwrap_used)] // tests may unwrap

mod actions;
mod adopt;
mod data_sources;
mod examples;
mod failures;
mod functions;
mod identity;
mod install;
mod kill;
mod modules;
mod partition_log;
mod permanent_secret;
mod plan_checks;
mod primus_config;
mod query;
mod registry;
mod reliability;
mod remote_hosts;
mod schema;
mod secrets_in_logs;
mod service_proxy_password;
mod vendor_output;
mod vendor_ppin;
mod vendor_test_report;
mod write_only;
