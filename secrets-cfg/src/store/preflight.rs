//! The pre-flight check run before an HSM is asked for a secret.

use super::*;

impl Shared {
    /// The work of [`SecretsStore::check_writable`].
    pub(super) fn check_writable(&self) -> Result<()> {
        let dir = parent_dir(&self.path);
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) | Err(_) => {
                return Err(Error::DirectoryNotFound {
                    path: dir.to_path_buf(),
                })
            }
        }
        let may_write = |path: &Path| {
            rustix::fs::accessat(
                rustix::fs::CWD,
                path,
                rustix::fs::Access::WRITE_OK,
                rustix::fs::AtFlags::EACCESS,
            )
            .map_err(|e| Error::write(path, e.into()))
        };
        may_write(dir)?;
        // The readers' cached parse: a pre-flight per resource must not parse the whole file each time.
        let model = self.read_model_if_present()?;
        if model.is_some() {
            may_write(&self.path)?;
        }
        fsio::check_lock_file(&self.lock_path()).map_err(|e| Error::write(self.lock_path(), e))?;
        match model {
            Some(model) => self.choose_key(&model, true).map(drop),
            None => self.choose_key(&Model::empty(), true).map(drop),
        }
    }
}
