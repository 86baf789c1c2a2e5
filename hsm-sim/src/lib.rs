//! A Securosys Primus HSM simulator speaking the `hsm-wire` protocol
//! (`docs/hsm-protocol.md`), for `ppin`, the Terraform provider, and their tests.
//!
//! It behaves as the vendor documents: setup passwords valid for a lifespan
//! counted from their first use; wrong API-login trials (setup password,
//! permanent secret, proxy password) counted per user and locking after a
//! threshold within a reset window; a separate PKCS#11-password counter whose
//! lockout leaves API login working; CloudHSM users who need service-proxy
//! authentication first; 32 random bytes per issued permanent secret, an update
//! invalidating the previous one. A restart forgets counters and keeps secrets.
//! Each partition keeps a log of logins, retrieved credentials, failed logins
//! and lockouts, served by `fetch_log` in the vendor's line format (what
//! `ppin --fetchlog` prints); it survives restarts too.
//!
//! Three ways to run it:
//! - the `hsm-sim` binary (`hsm-sim --config sim.json --state-dir DIR`, or
//!   `hsm-sim --dev`), which writes a ready-to-use `primus.cfg` and CA file;
//! - in-process with [`start`] (time injectable through [`Clock`]);
//! - from tests with [`harness::SimProcess`], a real process in a temp dir with
//!   an [`harness::AdminClient`] for trial counts, issued secrets and simulated time.
//!
//! The configuration is JSON ([`SimConfig`]):
//!
//! ```json
//! {
//!   "policy": { "setup_password_lifespan": "72h", "attempt_threshold": 100,
//!               "reset_window": "300s", "lockout": "300s" },
//!   "users": [
//!     { "name": "PARTITION", "slot_id": 0, "setup_password": "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3",
//!       "pkcs11_password": "pkcs11-pin" },
//!     { "name": "CLOUD_USER", "setup_password": "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
//!       "pkcs11_password": "pin2", "proxy_user": "SERVICE_USER", "client_log": false }
//!   ],
//!   "proxies": [ { "name": "SERVICE_USER", "password": "proxy-password" } ]
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
mod clock;
mod config;
mod counter;
mod files;
pub mod harness;
mod hsm;
mod journal;
mod partition_log;
mod server;

pub use admin::{AdminRequest, AdminResponse};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    random_password, random_setup_password, ConfigError, Policy, ProxyConfig, SimConfig, UserConfig,
};
pub use files::{render_primus_cfg, FilesError, Ready, StatePaths};
pub use hsm::{ProxyStatus, Status, UserStatus};
pub use journal::JournalError;
pub use server::{start, RunningSim, SimOptions, StartError};

#[cfg(test)]
mod tests;
