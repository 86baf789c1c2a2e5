//! SSH transport to the hosts Terraform does not run on: the application
//! hosts that hold the vendor's PKCS#11 provider and its `ppin`.
//!
//! - [`Settings`] names its fields as Terraform's provisioner `connection`
//!   block does (`host`, `port`, `user`, `private_key`, `agent`, `host_key`,
//!   `timeout`, `bastion_*`), plus `known_hosts_file` and the opt-in
//!   `accept_new_host_key`. Private keys are [`primus_core::Password`]s:
//!   zeroized on drop, `[REDACTED]` in `Debug`.
//! - [`SshPool`] holds one connection per host (host, port, user) for the
//!   process, opened once even when many tasks ask at the same time; its
//!   [`PoolLimits`] cap the connections being opened at once and the
//!   channels open on one host.
//! - [`Host`] runs commands as channels of that connection: [`Host::run`]
//!   without a terminal, collecting stdout, stderr and the [`ExitStatus`];
//!   [`Host::start_pty`] on a pseudo-terminal, as a [`PtyProcess`] that is
//!   read, written, awaited and closed. [`quote`] makes any text one shell
//!   word.
//!
//! # Trust model
//!
//! Every host key is verified, during the key exchange and so before the
//! user name or any key is sent:
//!
//! 1. If `host_key` is set, it is the only key accepted.
//! 2. Else the key must be on a line of `known_hosts_file` for the host
//!    (`host`, or `[host]:port` off port 22; plain, wildcard or hashed
//!    `|1|salt|hash` lines). A key marked `@revoked` is refused.
//! 3. A host with no line is refused, unless `accept_new_host_key` is set:
//!    then its key is appended to `known_hosts_file` and fsynced before the
//!    connection goes on, and from then on it is a known key. The file is
//!    the one record of an accepted key; [`Host::host_key`] also gives it,
//!    to store elsewhere (for example in Terraform state).
//!
//! An unknown key is refused with its type and SHA256 fingerprint and the
//! exact `host_key` value and known_hosts line to add; a changed key with
//! both fingerprints. A jump host (`bastion_host`) is checked the same way
//! against `bastion_host_key` or the known_hosts file; the tunnel through it
//! then carries a second SSH session whose own host key is checked end to
//! end, so the jump host cannot read or alter what is sent to the host.
//!
//! Authentication offers `private_key`, then each key of the agent at
//! `SSH_AUTH_SOCK` (when `agent` is set), once each. A refusal is final for
//! the process. Every wait is bounded: opening a connection by `timeout`
//! (TCP, key exchange and authentication in turn), each channel request by
//! `timeout`, each read and run by the caller's bound.
//!
//! Commands are strings run by the remote user's login shell, which must be
//! a POSIX shell. Closing a [`PtyProcess`], or dropping it, ends its command
//! and every process it started, even one that ignores SIGHUP.
//!
//! ```no_run
//! # async fn example() -> Result<(), primus_ssh::SshError> {
//! use std::time::Duration;
//! use primus_core::Password;
//! use primus_ssh::{quote, Echo, PoolLimits, Settings, SshPool};
//!
//! let mut settings = Settings::new("app1.example.org", "deploy");
//! settings.private_key = Some(Password::new(std::fs::read_to_string("id_ed25519").unwrap()));
//! settings.known_hosts_file = Some("known_hosts".into());
//!
//! let pool = SshPool::new(PoolLimits::default());
//! let host = pool.host(&settings).await?;
//! let mut ppin = host
//!     .start_pty(&format!("{} -l", quote("/usr/local/primus/bin/ppin")), Echo::Off)
//!     .await?;
//! while let Some(output) = ppin.read(Duration::from_secs(30)).await? {
//!     print!("{}", String::from_utf8_lossy(&output));
//! }
//! let finished = ppin.wait(Duration::from_secs(30)).await?;
//! assert!(finished.status.success());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connect;
mod error;
mod known_hosts;
mod pool;
mod process;
mod quick_ack;
mod quote;
mod settings;
#[cfg(feature = "testing")]
pub mod testing;
mod trust;

pub use error::{KeyFingerprint, SshError};
pub use pool::{Host, SshPool};
pub use process::{Echo, ExitStatus, Finished, Output, PtyProcess};
pub use quote::quote;
pub use settings::{PoolLimits, Settings, DEFAULT_TIMEOUT};
