//! [`Client`]: what every resource and data source operation receives, and
//! the few things they share.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ppin::{Ppin, PpinError, PrimusConfig};
use tfplug::diag::{AttributePath, Diagnostics};

use crate::diagnostics::{fail, host_config_error};
use crate::host::HostConfig;
use crate::remote::{HostDoor, Remote};

/// `status` of an entry stored in `.secrets.cfg`, as `ppin -l` shows it.
pub(crate) const CONFIGURED: &str = "Configured";

/// The ppin operations over the configured files, as the provider block
/// set them up: on this machine, and on each host a resource names.
///
/// `primus.cfg` is read by ppin on first use, not at configure time, so a
/// `primus_config` resource can write it in the same apply; ppin reads it
/// again whenever the file changed since (on a host: whenever this process
/// wrote it there).
#[derive(Debug)]
pub struct Client {
    ppin: Arc<Ppin>,
    /// `config_file` of the provider block, if set.
    config_file: Option<PathBuf>,
    login_check: LoginCheck,
    /// The files `primus_config` resources planned to write in this run, so
    /// a plan can tell a `primus.cfg` that will be written (or gain a user)
    /// from one that stays as it is.
    planned_writes: Mutex<Vec<ConfigWrite>>,
    /// The hosts reached over SSH.
    remote: Option<Remote>,
}

/// Where a planned `primus_config` change writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigWrite {
    /// This file (absolute) on this host (`None`: this machine), by label.
    At(Option<String>, PathBuf),
    /// A path or host still unknown at plan time: it may be any file.
    Unknown,
}

/// What refreshing a permanent secret checks (`verify_login_on_read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginCheck {
    /// The entry is in `.secrets.cfg` and decrypts under the file key.
    FileOnly,
    /// As `FileOnly`, and the HSM accepts a login with it.
    AtTheHsm,
}

impl Client {
    pub(crate) fn new(ppin: Ppin, config_file: Option<PathBuf>, login_check: LoginCheck) -> Self {
        Client {
            ppin: Arc::new(ppin),
            config_file,
            login_check,
            planned_writes: Mutex::new(Vec::new()),
            remote: None,
        }
    }

    /// This client, reaching hosts with `remote`.
    pub(crate) fn with_remote(mut self, remote: Remote) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Records that a `primus_config` resource plans to write `write`.
    /// Terraform plans a resource after those it depends on, so the
    /// resources that read the file (with `depends_on` on it) see this.
    pub(crate) fn expect_config_write(&self, write: ConfigWrite) {
        let mut planned = self
            .planned_writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !planned.contains(&write) {
            planned.push(write);
        }
    }

    /// Whether a `primus_config` resource planned in this run writes the
    /// `primus.cfg` this provider reads on `host`.
    pub(crate) async fn config_written_this_run(
        &self,
        resource_type: &str,
        host: Option<&HostConfig>,
    ) -> bool {
        let read = match self.config_path(resource_type, host).await {
            Ok(path) => ConfigWrite::at(host, &path),
            Err(_) => ConfigWrite::Unknown,
        };
        let planned = self
            .planned_writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        planned.contains(&ConfigWrite::Unknown) || planned.contains(&read)
    }

    /// The `primus.cfg` this provider reads on `host` (and a `primus_config`
    /// without `path` writes), whether or not it exists.
    pub(crate) async fn config_path(
        &self,
        resource_type: &str,
        host: Option<&HostConfig>,
    ) -> Result<PathBuf, Diagnostics> {
        match host {
            None => Ok(PrimusConfig::locate(self.config_file())),
            Some(host) => {
                let door = self.host_door(resource_type, host).await?;
                Ok(door.tool.config_file().to_owned())
            }
        }
    }

    /// The ppin operations on `host`, once `primus.cfg` can be read there.
    /// A missing or invalid file is an error diagnostic raised by
    /// `resource_type` ("primus.cfg not found (0x80005003)" ...).
    pub(crate) async fn ppin(
        &self,
        resource_type: &str,
        host: Option<&HostConfig>,
    ) -> Result<Arc<Ppin>, Diagnostics> {
        let ppin = self.door(resource_type, host).await?;
        ppin.config()
            .map_err(|e| config_failure(&e, resource_type, host))?;
        Ok(ppin)
    }

    /// The ppin operations on `host`, whether or not `primus.cfg` can be
    /// read there yet. A host that cannot be reached, whose key is refused or
    /// that lacks the tool is an error on `host`.
    pub(crate) async fn door(
        &self,
        resource_type: &str,
        host: Option<&HostConfig>,
    ) -> Result<Arc<Ppin>, Diagnostics> {
        match host {
            None => Ok(Arc::clone(&self.ppin)),
            Some(host) => Ok(self.host_door(resource_type, host).await?.ppin),
        }
    }

    /// The door to `host`, with its engine for the host's files.
    pub(crate) async fn host_door(
        &self,
        resource_type: &str,
        host: &HostConfig,
    ) -> Result<HostDoor, Diagnostics> {
        let remote = self.remote.as_ref().ok_or_else(|| {
            let error = PpinError::from(ppin::ExternalError::HostNotReady {
                host: host.label(),
                problem: "this provider instance reaches no hosts".to_owned(),
            });
            fail(&error, resource_type, Some(AttributePath::root("host")))
        })?;
        remote
            .door(host)
            .await
            .map_err(|e| fail(&e, resource_type, Some(AttributePath::root("host"))))
    }

    /// `config_file` of the provider block, if set.
    pub(crate) fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    pub(crate) fn login_check(&self) -> LoginCheck {
        self.login_check
    }
}

/// The diagnostic of a `primus.cfg` that cannot be used on `host`.
pub(crate) fn config_failure(
    error: &PpinError,
    resource_type: &str,
    host: Option<&HostConfig>,
) -> Diagnostics {
    match host {
        None => fail(error, resource_type, None),
        Some(host) => host_config_error(error, &host.label()),
    }
}

impl ConfigWrite {
    /// `path` on `host`, made absolute on this machine, so two spellings of
    /// one file compare equal.
    pub(crate) fn at(host: Option<&HostConfig>, path: &Path) -> ConfigWrite {
        match host {
            None => ConfigWrite::At(
                None,
                std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
            ),
            Some(host) => ConfigWrite::At(Some(host.label()), path.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ppin::BuiltinEngine;
    use secrets_cfg::KeySource;

    fn client(config_file: &Path) -> Client {
        let engine = BuiltinEngine::watching(Some(config_file), None, KeySource::Default).unwrap();
        let ppin = Ppin::from(engine);
        Client::new(ppin, Some(config_file.to_owned()), LoginCheck::FileOnly)
    }

    #[tokio::test]
    async fn a_planned_primus_config_counts_only_for_the_file_read_or_an_unknown_path() {
        let dir = tempfile::tempdir().unwrap();
        let read = dir.path().join("primus.cfg");
        let client = client(&read);
        assert!(!client.config_written_this_run("test", None).await);
        client.expect_config_write(ConfigWrite::at(None, &dir.path().join("other.cfg")));
        assert!(!client.config_written_this_run("test", None).await);
        let elsewhere = HostConfig {
            address: "app1".to_owned(),
            port: None,
            host_key: None,
        };
        // The same path on another host is another file.
        client.expect_config_write(ConfigWrite::at(Some(&elsewhere), &read));
        assert!(!client.config_written_this_run("test", None).await);
        client.expect_config_write(ConfigWrite::at(None, &read));
        assert!(client.config_written_this_run("test", None).await);
        let unknown = self::client(&read);
        unknown.expect_config_write(ConfigWrite::Unknown);
        assert!(unknown.config_written_this_run("test", None).await);
    }
}
