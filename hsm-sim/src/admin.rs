//! The admin protocol: plain JSON lines on a separate 127.0.0.1 port, for tests
//! and operators. It reveals issued secrets, so it never listens beyond loopback.

use serde::{Deserialize, Serialize};

use crate::hsm::Status;

/// A command to the admin listener: `{"cmd":"status"}`,
/// `{"cmd":"advance_clock","ms":300000}`, `{"cmd":"shutdown"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AdminRequest {
    /// Report counters and issued secrets.
    Status,
    /// Move simulated time forward by `ms` milliseconds.
    AdvanceClock {
        /// Milliseconds to add.
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
    /// The answer to `advance_clock`: simulated time now.
    Clock {
        /// Simulated time after the move.
        now_unix_ms: u64,
    },
    /// The answer to `shutdown`; the simulator stops after sending it.
    ShuttingDown,
    /// The command failed.
    Error {
        /// Why.
        message: String,
    },
}
