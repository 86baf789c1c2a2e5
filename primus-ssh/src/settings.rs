//! Connection settings, named as Terraform's provisioner `connection` block
//! names them, and the limits of a pool.

use std::path::PathBuf;
use std::time::Duration;

use primus_core::Password;
use russh::keys::PublicKey;

use crate::error::SshError;
use crate::known_hosts::host_name;
use crate::trust::Trust;

/// Terraform's default `timeout` of a `connection` block.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// How to reach and trust one host. Field names are those of Terraform's
/// `connection` block; the rest are ours.
///
/// Build with [`Settings::new`] and set the fields that differ:
///
/// ```
/// use primus_ssh::Settings;
/// let mut settings = Settings::new("app1.example.org", "deploy");
/// settings.host_key = Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID40I5dL+ZIt5Gmq6o/XoZiJHdyf0dTh9//wAOoVnNtE".into());
/// settings.agent = true;
/// assert_eq!(settings.port, 22);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Address or name of the host.
    pub host: String,
    /// SSH port; 22 by default.
    pub port: u16,
    /// The SSH user.
    pub user: String,
    /// Private key text (OpenSSH, PKCS#8, PEM or PuTTY), not encrypted.
    /// Tried first, once.
    pub private_key: Option<Password>,
    /// Also offer the keys of the SSH agent at `SSH_AUTH_SOCK`, each once.
    pub agent: bool,
    /// The host's public key, `TYPE BASE64 [COMMENT]`. When set it is the
    /// only key accepted and `known_hosts_file` is not consulted.
    pub host_key: Option<String>,
    /// Bound on opening the connection (TCP, key exchange, authentication,
    /// each measured from the start) and on each channel request.
    pub timeout: Duration,
    /// Jump host: the connection to `host` is tunnelled through it.
    pub bastion_host: Option<String>,
    /// The jump host's port; `port` by default.
    pub bastion_port: Option<u16>,
    /// The user on the jump host; `user` by default.
    pub bastion_user: Option<String>,
    /// The key for the jump host; `private_key` by default.
    pub bastion_private_key: Option<Password>,
    /// The jump host's public key; the jump host is otherwise checked
    /// against `known_hosts_file` like any host.
    pub bastion_host_key: Option<String>,
    /// An OpenSSH known_hosts file (plain or hashed lines) to check host
    /// keys against when no key is pinned.
    pub known_hosts_file: Option<PathBuf>,
    /// Trust on first use: a host with no line in `known_hosts_file` is
    /// accepted and its key appended there (fsynced), so that a later change
    /// is refused. Off by default; needs `known_hosts_file`.
    pub accept_new_host_key: bool,
}

impl Settings {
    /// Settings for `user@host:22`, with no key, no agent, no trusted host key
    /// and Terraform's 5-minute timeout. Set a key or `agent`, and `host_key`
    /// or `known_hosts_file`, before use.
    pub fn new(host: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: 22,
            user: user.into(),
            private_key: None,
            agent: false,
            host_key: None,
            timeout: DEFAULT_TIMEOUT,
            bastion_host: None,
            bastion_port: None,
            bastion_user: None,
            bastion_private_key: None,
            bastion_host_key: None,
            known_hosts_file: None,
            accept_new_host_key: false,
        }
    }

    /// The settings of the jump host, with Terraform's defaults filled in.
    pub(crate) fn bastion(&self) -> Option<Settings> {
        let host = self.bastion_host.clone()?;
        Some(Settings {
            host,
            port: self.bastion_port.unwrap_or(self.port),
            user: self
                .bastion_user
                .clone()
                .unwrap_or_else(|| self.user.clone()),
            private_key: self
                .bastion_private_key
                .clone()
                .or_else(|| self.private_key.clone()),
            host_key: self.bastion_host_key.clone(),
            bastion_host: None,
            bastion_port: None,
            bastion_user: None,
            bastion_private_key: None,
            bastion_host_key: None,
            ..self.clone()
        })
    }

    /// `HOST:PORT`, the way errors name the host.
    pub(crate) fn label(&self, role: Role) -> String {
        match role {
            Role::Target => format!("{}:{}", self.host, self.port),
            Role::Bastion => format!("bastion {}:{}", self.host, self.port),
        }
    }

    /// Checks what can be checked without the network and builds the trust.
    pub(crate) fn trust(&self, role: Role) -> Result<Trust, SshError> {
        let (host_attribute, key_attribute) = match role {
            Role::Target => ("host", "host_key"),
            Role::Bastion => ("bastion_host", "bastion_host_key"),
        };
        if self.host.is_empty() {
            return Err(missing(host_attribute, "is empty; set the host's address"));
        }
        if self.user.is_empty() {
            return Err(missing("user", "is empty; set the SSH user"));
        }
        if self.private_key.is_none() && !self.agent {
            return Err(missing(
                "private_key",
                "is not set and `agent` is false: set one of them so there is a key to offer",
            ));
        }
        if self.accept_new_host_key && self.known_hosts_file.is_none() {
            return Err(missing(
                "known_hosts_file",
                "is needed with accept_new_host_key: an accepted key is recorded there",
            ));
        }
        let pinned = match &self.host_key {
            Some(text) => Some((parse_public_key(text, key_attribute)?, key_attribute)),
            None => None,
        };
        Ok(Trust {
            label: self.label(role),
            name: host_name(&self.host, self.port),
            pinned,
            known_hosts_file: self.known_hosts_file.clone(),
            accept_new: self.accept_new_host_key,
        })
    }
}

/// Whether settings describe the host itself or its jump host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Target,
    Bastion,
}

fn missing(attribute: &'static str, problem: &str) -> SshError {
    SshError::Settings {
        attribute,
        problem: problem.to_owned(),
    }
}

fn parse_public_key(text: &str, attribute: &'static str) -> Result<PublicKey, SshError> {
    let mut fields = text.split_whitespace();
    let key = match (fields.next(), fields.next()) {
        (Some(kind), Some(base64)) => PublicKey::from_openssh(&format!("{kind} {base64}")).ok(),
        _ => None,
    };
    key.ok_or_else(|| SshError::Settings {
        attribute,
        problem: "is not an OpenSSH public key line (`TYPE BASE64 [COMMENT]`, as in the host's \
                  /etc/ssh/ssh_host_*_key.pub)"
            .to_owned(),
    })
}

/// Limits shared by every host of one [`SshPool`].
///
/// [`SshPool`]: crate::SshPool
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolLimits {
    /// Connections being opened (TCP, key exchange, authentication) at the
    /// same time, across hosts; 10 by default, as OpenSSH's `MaxStartups`
    /// begins refusing above 10 unauthenticated connections.
    pub connections_opening_at_once: usize,
    /// Channels (commands) open at once on one connection; 10 by default,
    /// OpenSSH's `MaxSessions`. More wait for a free one, within `timeout`.
    pub sessions_per_host: usize,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            connections_opening_at_once: 10,
            sessions_per_host: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID40I5dL+ZIt5Gmq6o/XoZiJHdyf0dTh9//wAOoVnNtE";

    fn with_key() -> Settings {
        let mut settings = Settings::new("app1", "deploy");
        settings.private_key = Some(Password::new(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nsecretbody".into(),
        ));
        settings
    }

    fn refused_attribute(settings: &Settings) -> &'static str {
        match settings.trust(Role::Target) {
            Err(SshError::Settings { attribute, .. }) => attribute,
            other => panic!("expected a settings error, got {other:?}"),
        }
    }

    #[test]
    fn debug_never_shows_a_private_key() {
        let mut settings = with_key();
        settings.bastion_private_key = settings.private_key.clone();
        let text = format!("{settings:?}");
        assert!(!text.contains("secretbody"), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }

    #[test]
    fn settings_that_cannot_work_are_refused_by_name() {
        assert_eq!(
            refused_attribute(&Settings::new("app1", "deploy")),
            "private_key"
        );
        let mut settings = with_key();
        settings.accept_new_host_key = true;
        assert_eq!(refused_attribute(&settings), "known_hosts_file");
        let mut settings = with_key();
        settings.host_key = Some("ssh-ed25519 not-base64".into());
        assert_eq!(refused_attribute(&settings), "host_key");
        let mut settings = with_key();
        settings.user.clear();
        assert_eq!(refused_attribute(&settings), "user");
    }

    #[test]
    fn the_bastion_inherits_as_terraform_does_but_never_the_host_key() {
        let mut settings = with_key();
        settings.port = 2222;
        settings.host_key = Some(KEY.into());
        assert!(settings.bastion().is_none());
        settings.bastion_host = Some("jump".into());
        let bastion = settings.bastion().expect("a bastion is set");
        assert_eq!((bastion.host.as_str(), bastion.port), ("jump", 2222));
        assert_eq!(bastion.user, "deploy");
        assert_eq!(bastion.private_key, settings.private_key);
        assert_eq!(bastion.host_key, None);
        assert_eq!(bastion.label(Role::Bastion), "bastion jump:2222");
        let trust = bastion.trust(Role::Bastion).expect("valid settings");
        assert_eq!(trust.name, "[jump]:2222");
        assert!(trust.pinned.is_none());
    }
}
