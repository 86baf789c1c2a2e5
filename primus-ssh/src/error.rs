//! The one error type of the crate: each variant says what went wrong, on
//! which host, and what to do. None carries a private key or anything read
//! from one.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A presented host key, as people compare them: type and SHA256 fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFingerprint {
    /// The key type, for example `ssh-ed25519`.
    pub key_type: String,
    /// The OpenSSH fingerprint, `SHA256:` and base64 without padding.
    pub fingerprint: String,
}

impl std::fmt::Display for KeyFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.key_type, self.fingerprint)
    }
}

/// Everything that can go wrong talking to a host over SSH.
///
/// `host` fields read `HOST:PORT`, prefixed with `bastion ` for the jump
/// host. A failure to connect or authenticate is kept by [`SshPool`] for the
/// rest of the process and returned again, never retried.
///
/// [`SshPool`]: crate::SshPool
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SshError {
    /// A setting is missing, contradicts another, or cannot be read.
    #[error("SSH setting `{attribute}` {problem}")]
    Settings {
        /// The setting, named as in Terraform's `connection` block.
        attribute: &'static str,
        /// What is wrong and what to do.
        problem: String,
    },

    /// The host presented a key that no trusted source knows.
    #[error(
        "the SSH host key of {host} is unknown: it presented {presented}. Nothing was sent to it. \
         Check that fingerprint on the host (`ssh-keygen -lf` on its public host key), then {remedy}"
    )]
    UnknownHostKey {
        /// The host.
        host: String,
        /// The key it presented.
        presented: KeyFingerprint,
        /// What to add: the exact `host_key` value or known_hosts line.
        remedy: String,
    },

    /// The host presented a key other than the one(s) trusted for it.
    #[error(
        "the SSH host key of {host} has changed: it presented {presented}, but {source_of_trust} \
         trusts {trusted}. Nothing was sent to it. If the host was re-installed, check the new \
         fingerprint on the host and replace the old key; otherwise someone may be intercepting \
         the connection"
    )]
    HostKeyChanged {
        /// The host.
        host: String,
        /// The key it presented.
        presented: KeyFingerprint,
        /// The trusted key(s), `, `-separated.
        trusted: String,
        /// `host_key` / `bastion_host_key`, or the known_hosts file and line.
        source_of_trust: String,
    },

    /// The presented key is marked `@revoked` in the known_hosts file.
    #[error("the SSH host key {presented} of {host} is revoked in {file}; nothing was sent to it")]
    HostKeyRevoked {
        /// The host.
        host: String,
        /// The key it presented.
        presented: KeyFingerprint,
        /// The known_hosts file holding the `@revoked` line.
        file: PathBuf,
    },

    /// The known_hosts file could not be read, or an accepted key not recorded.
    #[error("known_hosts file {path}: {problem}")]
    KnownHostsFile {
        /// The file.
        path: PathBuf,
        /// What failed.
        problem: String,
    },

    /// The TCP connection could not be opened.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// The host.
        host: String,
        /// Why, from the operating system.
        reason: Arc<std::io::Error>,
    },

    /// A bounded wait ran out.
    #[error("{host} did not answer within {after:?} while {during}")]
    Timeout {
        /// The host.
        host: String,
        /// What was being waited for.
        during: &'static str,
        /// The bound that ran out.
        after: Duration,
    },

    /// Every configured key was refused. Not retried.
    #[error(
        "{host} refused SSH authentication as user `{user}` with {tried}; \
         check that user's authorized_keys on the host (not retried)"
    )]
    Authentication {
        /// The host.
        host: String,
        /// The SSH user.
        user: String,
        /// The keys offered, by type and fingerprint.
        tried: String,
    },

    /// The SSH agent could not be reached or used.
    #[error("SSH agent (SSH_AUTH_SOCK): {problem}")]
    Agent {
        /// What failed.
        problem: String,
    },

    /// The SSH protocol failed: a refused channel, a dropped connection.
    #[error("SSH to {host}: {problem}")]
    Protocol {
        /// The host.
        host: String,
        /// What failed.
        problem: String,
    },

    /// The connection ended while a command ran: it may or may not have had
    /// its effect on the host.
    #[error(
        "the SSH connection to {host} ended while a command was running; it may have completed \
         on the host or not, so read the host's state again before acting on it"
    )]
    ConnectionLost {
        /// The host.
        host: String,
    },
}
