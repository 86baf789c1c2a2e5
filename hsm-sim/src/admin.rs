//! The admin protocol: plain JSON lines on a separate 127.0.0.1 port, for tests
//! and operators. It reveals issued secrets, so it never listens beyond loopback.

use hsm_wire::Password;
use serde::{Deserialize, Serialize};

use crate::hsm::{Status, UserStatus};

/// The longest admin frame: a status of thousands of users is far above the
/// protocol's limit, and the admin listener only talks to loopback.
pub(crate) const ADMIN_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// A command to the admin listener: `{"cmd":"status"}`, `{"cmd":"user","name":"U"}`,
/// `{"cmd":"issue_setup_password","name":"U"}`, `{"cmd":"advance_clock","ms":300000}`,
/// `{"cmd":"shutdown"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdminRequest {
    /// Report counters and issued secrets of every user and proxy.
    Status,
    /// Report counters and issued secrets of one user.
    User {
        /// A configured user; any other name is an error answer.
        name: String,
    },
    /// Issue a user a fresh setup password, as the HSM administrator does when the
    /// old one expired or was lost: the old one is refused from now on, and the new
    /// one's validity starts at its first use. It survives a restart.
    IssueSetupPassword {
        /// A configured user; any other name is an error answer.
        name: String,
    },
    /// Move simulated time forward by `ms` milliseconds.
    AdvanceClock {
        /// Milliseconds to add; time never moves back.
        ms: u64,
    },
    /// Stop the simulator (it exits 0).
    Shutdown,
}

/// The admin listener's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdminResponse {
    /// The answer to `status`.
    Status(Status),
    /// The answer to `user`.
    User(UserStatus),
    /// The answer to `issue_setup_password`: the new setup password, in clear in
    /// the JSON line (the admin port only listens on loopback), redacted in `Debug`.
    SetupPassword {
        /// The simulator user whose setup password this is.
        name: String,
        /// The setup password now valid for that user; the previous one no longer works.
        setup_password: Password,
    },
    /// The answer to `advance_clock`: simulated time now.
    Clock {
        /// Simulated time after the move.
        now_unix_ms: u64,
    },
    /// The answer to `shutdown`; the simulator stops after sending it.
    ShuttingDown,
    /// The command failed.
    Error {
        /// What failed and why, e.g. `no user 'X' in the simulator`.
        message: String,
    },
}
