//! Deciding whether a presented host key is the host's: a pinned key, else
//! a known_hosts file, else (only when opted in) accept it and record it.

use std::io::Write as _;
use std::path::PathBuf;

use russh::keys::{Algorithm, HashAlg, PublicKey};

use crate::error::{KeyFingerprint, SshError};
use crate::known_hosts::{self, KnownHost, Marker};

/// What one host (or bastion) is checked against. Built from [`Settings`].
///
/// [`Settings`]: crate::Settings
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    /// `HOST:PORT`, or `bastion HOST:PORT`: how errors name the host.
    pub(crate) label: String,
    /// The name known_hosts lines are matched against.
    pub(crate) name: String,
    /// `host_key` / `bastion_host_key`, parsed, with the attribute's name.
    pub(crate) pinned: Option<(PublicKey, &'static str)>,
    pub(crate) known_hosts_file: Option<PathBuf>,
    pub(crate) accept_new: bool,
}

/// The key's type and SHA256 fingerprint, as `ssh-keygen -l` prints them.
pub(crate) fn fingerprint(key: &PublicKey) -> KeyFingerprint {
    KeyFingerprint {
        key_type: key.algorithm().as_str().to_owned(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
    }
}

/// `TYPE BASE64`, the form of a `host_key` value and of a known_hosts key.
pub(crate) fn openssh_line(key: &PublicKey) -> String {
    let mut bare = key.clone();
    bare.set_comment("");
    // An in-memory key always encodes; the fallback only keeps this total.
    bare.to_openssh()
        .unwrap_or_else(|_| key.algorithm().as_str().to_owned())
}

fn same_key(a: &PublicKey, b: &PublicKey) -> bool {
    a.key_data() == b.key_data()
}

impl Trust {
    /// Accepts `presented` or says why not. Runs during the key exchange,
    /// before anything (user name, key, password) is sent to the host.
    pub(crate) fn verify(&self, presented: &PublicKey) -> Result<(), SshError> {
        if let Some((pinned, attribute)) = &self.pinned {
            if same_key(pinned, presented) {
                return Ok(());
            }
            return Err(SshError::HostKeyChanged {
                host: self.label.clone(),
                presented: fingerprint(presented),
                trusted: fingerprint(pinned).to_string(),
                source_of_trust: format!("`{attribute}`"),
            });
        }
        let Some(path) = &self.known_hosts_file else {
            return Err(self.unknown(presented));
        };
        let entries = known_hosts::read(path).map_err(|error| SshError::KnownHostsFile {
            path: path.clone(),
            problem: format!("cannot be read: {error}"),
        })?;
        let for_host = self.lines_for_host(&entries);
        if for_host
            .iter()
            .any(|entry| entry.marker == Marker::Revoked && same_key(&entry.key, presented))
        {
            return Err(SshError::HostKeyRevoked {
                host: self.label.clone(),
                presented: fingerprint(presented),
                file: path.clone(),
            });
        }
        let trusted: Vec<_> = for_host
            .iter()
            .filter(|entry| entry.marker == Marker::Trusted)
            .collect();
        if trusted.iter().any(|entry| same_key(&entry.key, presented)) {
            return Ok(());
        }
        if let Some(first) = trusted.first() {
            return Err(SshError::HostKeyChanged {
                host: self.label.clone(),
                presented: fingerprint(presented),
                trusted: trusted
                    .iter()
                    .map(|entry| fingerprint(&entry.key).to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                source_of_trust: format!("{} line {}", path.display(), first.line),
            });
        }
        if self.accept_new {
            return self.record(path, presented);
        }
        Err(self.unknown(presented))
    }

    /// The known_hosts lines about this host (and every `@revoked` line).
    fn lines_for_host<'a>(&self, entries: &'a [KnownHost]) -> Vec<&'a KnownHost> {
        entries
            .iter()
            .filter(|entry| entry.marker == Marker::Revoked || entry.matches(&self.name))
            .collect()
    }

    /// The host key algorithms to ask for first: those of the keys trusted
    /// for this host, so that a host with several keys presents the one we
    /// know, as OpenSSH does. An unreadable file is reported by [`verify`].
    ///
    /// [`verify`]: Trust::verify
    pub(crate) fn known_algorithms(&self) -> Vec<Algorithm> {
        let keys: Vec<PublicKey> = match (&self.pinned, &self.known_hosts_file) {
            (Some((pinned, _)), _) => vec![pinned.clone()],
            (None, Some(path)) => {
                let entries = known_hosts::read(path).unwrap_or_default();
                self.lines_for_host(&entries)
                    .into_iter()
                    .filter(|entry| entry.marker == Marker::Trusted)
                    .map(|entry| entry.key.clone())
                    .collect()
            }
            (None, None) => Vec::new(),
        };
        let mut algorithms = Vec::new();
        for key in keys {
            let wanted = match key.algorithm() {
                // An RSA key signs with SHA-2 (OpenSSH no longer accepts SHA-1).
                Algorithm::Rsa { .. } => vec![
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha512),
                    },
                    Algorithm::Rsa {
                        hash: Some(HashAlg::Sha256),
                    },
                ],
                other => vec![other],
            };
            for algorithm in wanted {
                if !algorithms.contains(&algorithm) {
                    algorithms.push(algorithm);
                }
            }
        }
        algorithms
    }

    fn known_hosts_line(&self, key: &PublicKey) -> String {
        format!("{} {}", self.name, openssh_line(key))
    }

    fn unknown(&self, presented: &PublicKey) -> SshError {
        let attribute = if self.label.starts_with("bastion") {
            "bastion_host_key"
        } else {
            "host_key"
        };
        let mut remedy = format!("set {attribute} = \"{}\"", openssh_line(presented));
        let line = self.known_hosts_line(presented);
        match &self.known_hosts_file {
            Some(path) => remedy.push_str(&format!(" or add to {}: {line}", path.display())),
            None => remedy.push_str(&format!(" or add to a known_hosts_file: {line}")),
        }
        SshError::UnknownHostKey {
            host: self.label.clone(),
            presented: fingerprint(presented),
            remedy,
        }
    }

    /// Trust on first use, opted into: append the key to the known_hosts file
    /// (created if missing) and flush it to disk before the key is used, so
    /// that the next run checks against it and a changed key is refused.
    fn record(&self, path: &PathBuf, presented: &PublicKey) -> Result<(), SshError> {
        let failed = |error: std::io::Error| SshError::KnownHostsFile {
            path: path.clone(),
            problem: format!("cannot record the accepted key of {}: {error}", self.label),
        };
        let needs_newline = std::fs::read(path)
            .map(|bytes| bytes.last().is_some_and(|&last| last != b'\n'))
            .unwrap_or(false);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(failed)?;
        let line = format!(
            "{}{}\n",
            if needs_newline { "\n" } else { "" },
            self.known_hosts_line(presented)
        );
        file.write_all(line.as_bytes()).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        tracing::warn!(
            host = %self.label,
            key = %fingerprint(presented),
            file = %path.display(),
            "accepted a new SSH host key on first use (accept_new_host_key) and recorded it"
        );
        Ok(())
    }
}
