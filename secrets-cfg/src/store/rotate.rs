//! Key rotation: every value re-sealed under a new key, the new key
//! written as a pending file first, so a crash at any step leaves a file
//! one of the two keys opens.

use super::*;

impl Shared {
    pub(super) fn rotate(&self, new_key: FileKey) -> Result<()> {
        let mut cache = lock(&self.verified);
        let (_guard, mut loaded) = self.lock_and_load(cache.take())?;
        if loaded.bytes.is_none() {
            return Err(Error::NotFound {
                path: self.path.clone(),
            });
        }
        let origin = loaded.key.origin.clone();
        if origin == KeyOrigin::Env {
            return Err(Error::KeyNotRotatable {
                path: self.path.clone(),
                key_origin: origin.to_string(),
            });
        }
        let new = self.reseal(&mut loaded, &new_key)?;
        if let KeyOrigin::File(key_file) = &origin {
            let pending = key::pending_key_file(key_file);
            let options = match std::fs::symlink_metadata(key_file) {
                Ok(m) => keep_or_new(Some(FileMeta::of(&m)), 0o600),
                Err(_) => ReplaceOptions::mode(0o600),
            };
            key::write_key_file(&pending, &new_key, options)?;
            loaded.key = ActiveKey {
                key: new_key.clone(),
                origin: origin.clone(),
                todo: KeyTodo::None,
            };
            self.write(&mut loaded, &new)?;
            std::fs::rename(&pending, key_file).map_err(|e| Error::write(key_file, e))?;
            sync_dir(parent_dir(key_file)).map_err(|e| Error::write(key_file, e))?;
        } else {
            loaded.key = ActiveKey {
                key: new_key.clone(),
                origin,
                todo: KeyTodo::None,
            };
            self.write(&mut loaded, &new)?;
            *self
                .key_source
                .write()
                .unwrap_or_else(PoisonError::into_inner) = KeySource::Key(new_key);
        }
        self.remember(&loaded);
        *cache = Some(loaded);
        Ok(())
    }

    /// The work of [`SecretsStore::rotate_key_to_file`].
    pub(super) fn rotate_to_file(&self, new_key_file: &Path) -> Result<()> {
        let mut cache = lock(&self.verified);
        let (_guard, mut loaded) = self.lock_and_load(cache.take())?;
        if loaded.bytes.is_none() {
            return Err(Error::NotFound {
                path: self.path.clone(),
            });
        }
        // Only a rotation writes here, and it holds the lock.
        primus_core::remove_stale_temps(&[new_key_file]);
        let new_key = match key::read_key_file(new_key_file)? {
            // Re-sealing under the key in use would change nothing but
            // leave the caller believing the old key retired.
            Some(key) if key.expose_secret() == loaded.key.key.expose_secret() => {
                return Err(Error::SameKey {
                    path: self.path.clone(),
                    key_file: new_key_file.to_path_buf(),
                })
            }
            Some(key) => key,
            None => {
                let key = FileKey::generate().map_err(|source| Error::Random {
                    path: self.path.clone(),
                    source,
                })?;
                let options = ReplaceOptions {
                    if_exists: IfExists::Fail,
                    ..ReplaceOptions::mode(NEW_FILE_MODE)
                };
                key::write_key_file(new_key_file, &key, options)?;
                key
            }
        };
        let new = self.reseal(&mut loaded, &new_key)?;
        let origin = KeyOrigin::File(new_key_file.to_path_buf());
        loaded.key = ActiveKey {
            key: new_key,
            origin,
            todo: KeyTodo::None,
        };
        self.write(&mut loaded, &new)?;
        *self
            .key_source
            .write()
            .unwrap_or_else(PoisonError::into_inner) =
            KeySource::KeyFile(new_key_file.to_path_buf());
        self.remember(&loaded);
        *cache = Some(loaded);
        Ok(())
    }

    /// Re-seals every value of `loaded` (and its key check) under `new_key`
    /// in memory; returns the cipher to write with.
    fn reseal(&self, loaded: &mut Loaded, new_key: &FileKey) -> Result<Cipher> {
        let old = Cipher::new(&loaded.key.key);
        let new = Cipher::new(new_key);
        let origin = &loaded.key.origin;
        loaded.model.reseal_all(|entry, sealed| {
            let aad = entry.map_or_else(key_check_aad, |e| entry_aad(e.kind, &e.name));
            // `lock_and_load` authenticated every value under the old key.
            let plain = old.open(&aad, sealed).map_err(|_| Error::WrongKey {
                path: self.path.clone(),
                key_origin: origin.to_string(),
            })?;
            seal(&self.path, &new, &aad, plain.expose_secret())
        })?;
        Ok(new)
    }
}
