//! [`Client`]: what every resource and data source operation receives, and
//! the few things they share.

use std::path::{Path, PathBuf};

use ppin::Ppin;
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
        }
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
