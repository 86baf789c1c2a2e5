//! Where the file key comes from, and the key file's life cycle.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file_key::FileKey;
use crate::fsio::{self, ReadOutcome};
use primus_core::{replace_file_with, ReplaceOptions};

/// Environment variable that may hold the file key as 64 hex digits.
pub const SECRETS_KEY_ENV: &str = "SECUROSYS_SECRETS_KEY";

/// Where a [`SecretsStore`](crate::SecretsStore) gets its 256-bit file key.
///
/// The documented order is: a key given by the caller
/// ([`KeySource::Key`]); otherwise ([`KeySource::Default`]) the environment
/// variable `$SECUROSYS_SECRETS_KEY`; otherwise the key file beside the
/// secrets file, `<secrets file>.key`, created on the first write.
/// A missing key for a file that already holds secrets is an error, never a
/// new key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// A key the caller holds (e.g. from its own secret store).
    Key(FileKey),
    /// `$SECUROSYS_SECRETS_KEY` if set, else the key file `<secrets file>.key`.
    Default,
    /// The key file at this path (the environment is not consulted).
    KeyFile(PathBuf),
}

/// Where a resolved key came from; named in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyOrigin {
    Caller,
    Env,
    File(PathBuf),
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::Caller => f.write_str("the key given by the caller"),
            KeyOrigin::Env => write!(f, "${SECRETS_KEY_ENV}"),
            KeyOrigin::File(path) => write!(f, "key file {}", path.display()),
        }
    }
}

/// The key file beside `secrets_path`.
pub(crate) fn default_key_file(secrets_path: &Path) -> PathBuf {
    fsio::with_suffix(secrets_path, ".key")
}

/// The new key written first during a rotation.
pub(crate) fn pending_key_file(key_file: &Path) -> PathBuf {
    fsio::with_suffix(key_file, ".new")
}

/// The keys a source offers for one secrets file.
pub(crate) enum Candidates {
    /// A key fixed by the caller or the environment.
    Fixed(FileKey, KeyOrigin),
    /// A key file: its key (if present) and a pending rotation's key (if any).
    File {
        path: PathBuf,
        current: Option<FileKey>,
        pending: Option<FileKey>,
    },
}

impl KeySource {
    /// Reads the key(s) this source offers for `secrets_path`.
    pub(crate) fn candidates(&self, secrets_path: &Path) -> Result<Candidates> {
        let path = match self {
            KeySource::Key(key) => return Ok(Candidates::Fixed(key.clone(), KeyOrigin::Caller)),
            KeySource::Default => match std::env::var(SECRETS_KEY_ENV) {
                Ok(text) if !text.is_empty() => {
                    let key = FileKey::from_hex(&text).map_err(|e| Error::BadKey {
                        key_origin: KeyOrigin::Env.to_string(),
                        problem: e.to_string(),
                    })?;
                    return Ok(Candidates::Fixed(key, KeyOrigin::Env));
                }
                Ok(_) => default_key_file(secrets_path),
                Err(std::env::VarError::NotPresent) => default_key_file(secrets_path),
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(Error::BadKey {
                        key_origin: KeyOrigin::Env.to_string(),
                        problem: "the variable is not valid Unicode".to_owned(),
                    })
                }
            },
            KeySource::KeyFile(path) => path.clone(),
        };
        let current = read_key_file(&path)?;
        let pending = read_key_file(&pending_key_file(&path))?;
        Ok(Candidates::File {
            path,
            current,
            pending,
        })
    }
}

/// Reads a key file; `None` when it does not exist. Refuses symlinks, so a
/// link planted beside the secrets file cannot redirect the key.
pub(crate) fn read_key_file(path: &Path) -> Result<Option<FileKey>> {
    let origin = || KeyOrigin::File(path.to_path_buf()).to_string();
    match fsio::read_limited(path, true) {
        Ok(ReadOutcome::Missing) => Ok(None),
        Ok(ReadOutcome::TooLarge(size)) => Err(Error::BadKey {
            key_origin: origin(),
            problem: format!("the file is {size} bytes"),
        }),
        Ok(ReadOutcome::NotRegular(found)) => Err(Error::NotRegularFile {
            path: path.to_path_buf(),
            found,
        }),
        Ok(ReadOutcome::Found(_, meta, _)) if meta.mode & 0o007 != 0 => {
            Err(Error::KeyFileTooOpen {
                path: path.to_path_buf(),
                mode: meta.mode,
            })
        }
        Ok(ReadOutcome::Found(bytes, ..)) => {
            let bytes = zeroize::Zeroizing::new(bytes);
            let text = std::str::from_utf8(&bytes).map_err(|_| Error::BadKey {
                key_origin: origin(),
                problem: "the file is not text".to_owned(),
            })?;
            FileKey::from_hex(text)
                .map(Some)
                .map_err(|e| Error::BadKey {
                    key_origin: origin(),
                    problem: e.to_string(),
                })
        }
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            Err(Error::BadKey {
                key_origin: origin(),
                problem:
                    "the key file is a symlink, which is refused; put the key file itself there"
                        .to_owned(),
            })
        }
        Err(e) => Err(Error::read(path, e)),
    }
}

/// Writes `key` to `path` durably.
pub(crate) fn write_key_file(path: &Path, key: &FileKey, options: ReplaceOptions) -> Result<()> {
    let line = key.to_hex_line();
    replace_file_with(path, line.expose_secret(), options)
        .map_err(|e| Error::write(e.path, e.source))
}
