//! The store's file operations: bounded reads and the sidecar lock (the
//! durable replace is [`primus_core::replace_file_with`]).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use primus_core::FileStamp;
use rustix::fs::{flock, FlockOperation};

/// Largest file read as a secrets or key file. 10,000 entries take about
/// 1.5 MB; anything near this limit is not a secrets file.
pub(crate) const MAX_FILE_SIZE: u64 = 16 << 20;

/// Owner, group and permission bits of an existing file, kept on rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileMeta {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
}

impl FileMeta {
    pub(crate) fn of(meta: &fs::Metadata) -> Self {
        Self {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
        }
    }
}

/// What [`read_limited`] found.
pub(crate) enum ReadOutcome {
    /// The file's bytes and metadata, and its stamp if it did not change
    /// while it was read (same stamp from `fstat` before and after).
    Found(Vec<u8>, FileMeta, Option<FileStamp>),
    /// No file at the path.
    Missing,
    /// The file is over [`MAX_FILE_SIZE`]; its size.
    TooLarge(u64),
    /// Something other than a regular file is at the path (a FIFO, a
    /// device, a socket); what it is, in words.
    NotRegular(&'static str),
}

/// What a non-regular, non-directory file is, in words; `None` for a
/// regular file or a directory (a directory is refused by the read itself).
fn special_kind(meta: &fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    }
}

/// Reads a whole regular file of at most [`MAX_FILE_SIZE`] bytes. With
/// `no_follow`, a symlink at `path` is an error (ELOOP).
///
/// Never blocks on a FIFO or a device: the file type is checked before the
/// open, the open is non-blocking (a FIFO swapped in after the check opens
/// at once instead of waiting for a writer), and the type is checked again
/// on the open handle.
pub(crate) fn read_limited(path: &Path, no_follow: bool) -> io::Result<ReadOutcome> {
    let before = if no_follow {
        fs::symlink_metadata(path)
    } else {
        fs::metadata(path)
    };
    match before {
        Ok(meta) => {
            if let Some(kind) = special_kind(&meta) {
                return Ok(ReadOutcome::NotRegular(kind));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ReadOutcome::Missing),
        // Let the open report it (a symlink loop, a permission problem).
        Err(_) => {}
    }
    let mut flags = rustix::fs::OFlags::NONBLOCK;
    if no_follow {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ReadOutcome::Missing),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if let Some(kind) = special_kind(&meta) {
        return Ok(ReadOutcome::NotRegular(kind));
    }
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory, not a file",
        ));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Ok(ReadOutcome::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // Bounded even if the file grows while being read.
    (&file).take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Ok(ReadOutcome::TooLarge(bytes.len() as u64));
    }
    let after = FileStamp::of(&file.metadata()?);
    let stamp = Some(FileStamp::of(&meta)).filter(|&s| s == after);
    Ok(ReadOutcome::Found(bytes, FileMeta::of(&meta), stamp))
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// An exclusive advisory lock on the sidecar `<file>.lock`. A sidecar, not
/// the file itself, because the file is replaced by rename while locked.
pub(crate) struct LockGuard {
    _file: File,
}

/// Checks that the lock file at `lock_path` can be opened for locking
/// without creating it and without blocking: absent (the directory check
/// covers its creation) or a regular file this process can open.
pub(crate) fn check_lock_file(lock_path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(lock_path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the lock file is not a regular file; remove it",
            ))
        }
        Ok(_) => {}
    }
    OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(lock_path)
        .map(drop)
}

impl LockGuard {
    /// Blocks until the lock on `lock_path` is held; creates the lock file
    /// (mode `mode`) if needed. Released on drop (closing the descriptor).
    pub(crate) fn acquire(lock_path: &Path, mode: u32) -> io::Result<Self> {
        // Read-only is enough for flock and works where the lock file exists
        // but belongs to another member of the group.
        let file = OpenOptions::new()
            .read(true)
            .write(false)
            .create(false)
            .open(lock_path);
        let file = match file {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .mode(mode)
                .open(lock_path)?,
            Err(e) => return Err(e),
        };
        flock(&file, FlockOperation::LockExclusive)?;
        Ok(Self { _file: file })
    }
}
