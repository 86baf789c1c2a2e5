//! Serialised edits: an advisory `flock` on a file beside `.secrets.cfg`
//! (`.secrets.cfg.ppin-lock`), exclusive for a run that edits the file,
//! shared for one that only reads it, so it holds across processes too.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{flock, FlockOperation};
use tokio_util::sync::CancellationToken;

use super::Access;
use crate::external::ExternalError;

/// How often a held lock is tried again. Polling a non-blocking `flock`
/// keeps the wait cancellable without a thread parked in the kernel.
const RETRY: Duration = Duration::from_millis(10);

/// A held lock, released when dropped (the descriptor closes).
#[derive(Debug)]
pub(crate) struct Held {
    _file: Option<File>,
}

/// The lock file of `secrets_file`.
pub(crate) fn lock_path(secrets_file: &Path) -> PathBuf {
    let mut name = secrets_file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".ppin-lock");
    secrets_file.with_file_name(name)
}

/// Takes the lock for `access`, waiting while another run holds it, until
/// `cancel` fires. Where the directory of the secrets file does not exist
/// there is no file to protect: the tool itself reports the missing file.
pub(crate) async fn acquire(
    secrets_file: &Path,
    access: Access,
    cancel: &CancellationToken,
    command: &str,
) -> Result<Held, ExternalError> {
    let path = lock_path(secrets_file);
    let failed = |source: io::Error| ExternalError::Lock {
        path: path.clone(),
        source,
    };
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Held { _file: None }),
        Err(error) => return Err(failed(error)),
    };
    let operation = match access {
        Access::Read => FlockOperation::NonBlockingLockShared,
        Access::Edit => FlockOperation::NonBlockingLockExclusive,
    };
    loop {
        match flock(&file, operation) {
            Ok(()) => return Ok(Held { _file: Some(file) }),
            Err(rustix::io::Errno::WOULDBLOCK) => {}
            Err(errno) => return Err(failed(errno.into())),
        }
        tokio::select! {
            () = cancel.cancelled() => {
                return Err(ExternalError::Cancelled { command: command.to_owned() })
            }
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}
