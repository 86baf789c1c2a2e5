//! Helpers shared by more than one test binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Sets the immutable attribute on `path` until dropped; root obeys it, so
/// it makes a file or directory unwritable even for a test run as root.
pub(crate) struct Immutable(PathBuf);

impl Immutable {
    pub(crate) fn set(path: &Path) -> Self {
        let status = Command::new("chattr").arg("+i").arg(path).status().unwrap();
        assert!(status.success(), "chattr +i {} failed", path.display());
        Self(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}
