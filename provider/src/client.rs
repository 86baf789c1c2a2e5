//! [`Client`]: what every resource and data source operation receives, and
//! the few things they share.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ppin::{Ppin, PrimusConfig};
use tfplug::diag::Diagnostics;

use crate::diagnostics::fail;

/// `status` of an entry stored in `.secrets.cfg`, as `ppin -l` prints it.
pub(crate) const CONFIGURED: &str = "Configured";

/// The ppin operations over the configured files, as the provider block
/// set them up.
///
/// `primus.cfg` is read by ppin on first use, not at configure time, so a
/// `primus_config` resource can write it in the same apply; ppin reads it
/// again whenever the file changed since.
#[derive(Debug)]
pub struct Client {
    ppin: Ppin,
    /// `config_file` of the provider block, if set.
    config_file: Option<PathBuf>,
    login_check: LoginCheck,
    /// The files `primus_config` resources planned to write in this run, so
    /// a plan can tell a `primus.cfg` that will be written (or gain a user)
    /// from one that stays as it is.
    planned_writes: Mutex<Vec<ConfigWrite>>,
}

/// Where a planned `primus_config` change writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigWrite {
    /// This file (absolute).
    At(PathBuf),
    /// A path still unknown at plan time: it may be any file.
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
            ppin,
            config_file,
            login_check,
            planned_writes: Mutex::new(Vec::new()),
        }
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
    /// `primus.cfg` this provider reads.
    pub(crate) fn config_written_this_run(&self) -> bool {
        let read = ConfigWrite::at(&self.config_path());
        let planned = self
            .planned_writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        planned.contains(&ConfigWrite::Unknown) || planned.contains(&read)
    }

    /// The `primus.cfg` this provider reads (and a `primus_config` without
    /// `path` writes), whether or not it exists.
    pub(crate) fn config_path(&self) -> PathBuf {
        PrimusConfig::locate(self.config_file())
    }

    /// The ppin operations, once `primus.cfg` can be read. A missing or
    /// invalid file is an error diagnostic raised by `resource_type`
    /// ("primus.cfg not found (0x80005003)" ...).
    pub(crate) fn ppin(&self, resource_type: &str) -> Result<&Ppin, Diagnostics> {
        self.ppin
            .config()
            .map_err(|e| fail(&e, resource_type, None))?;
        Ok(&self.ppin)
    }

    /// The ppin operations, whether or not `primus.cfg` can be read yet.
    pub(crate) fn door(&self) -> &Ppin {
        &self.ppin
    }

    /// `config_file` of the provider block, if set.
    pub(crate) fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    pub(crate) fn login_check(&self) -> LoginCheck {
        self.login_check
    }
}

impl ConfigWrite {
    /// `path` made absolute, so two spellings of one file compare equal.
    pub(crate) fn at(path: &Path) -> ConfigWrite {
        ConfigWrite::At(std::path::absolute(path).unwrap_or_else(|_| path.to_owned()))
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

    #[test]
    fn a_planned_primus_config_counts_only_for_the_file_read_or_an_unknown_path() {
        let dir = tempfile::tempdir().unwrap();
        let read = dir.path().join("primus.cfg");
        let client = client(&read);
        assert!(!client.config_written_this_run());
        client.expect_config_write(ConfigWrite::at(&dir.path().join("other.cfg")));
        assert!(!client.config_written_this_run());
        client.expect_config_write(ConfigWrite::at(&read));
        assert!(client.config_written_this_run());
        let unknown = self::client(&read);
        unknown.expect_config_write(ConfigWrite::Unknown);
        assert!(unknown.config_written_this_run());
    }
}
