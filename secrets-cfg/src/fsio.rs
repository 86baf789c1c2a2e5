//! Durable file operations: bounded reads, the sidecar lock, and
//! write-temp-fsync-rename-fsync-directory replacement.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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

/// Which file is at a path and which version of it: identity (device,
/// inode) and change stamp (size, mtime and ctime to the nanosecond).
///
/// Equal stamps mean unchanged content except for one case: a program
/// rewriting the file in place, to the same size, within the same tick of
/// the filesystem's timestamp clock as the change the stamp records. Our own
/// writes rename a new inode into place, so they always change the stamp.
/// [`Stamp::settled`] rules that case out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Longest a timestamp tick is taken to be on filesystems that record
/// nanoseconds: Linux stamps files from a clock that advances once per
/// jiffy (4 ms at HZ=250, 10 ms at HZ=100), so 50 ms leaves a wide margin.
const FINE_TICK: Duration = Duration::from_millis(50);
/// The tick on filesystems that record whole seconds (or two, like FAT),
/// recognised by both nanosecond fields being zero.
const COARSE_TICK: Duration = Duration::from_secs(2);

impl Stamp {
    /// The stamp of the file `meta` describes.
    pub fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// True if the last change this stamp records was at least one
    /// timestamp tick before `before`, a clock reading taken before the stamp
    /// was. Then any later write, even in place and to the same size, gets a
    /// later ctime (which no program can set back, unlike mtime), so an equal
    /// stamp proves unchanged content. A file changed within the last tick
    /// (or dated in the future) is not settled: compare its bytes instead.
    pub fn settled(&self, before: SystemTime) -> bool {
        let tick = if self.mtime.1 == 0 && self.ctime.1 == 0 {
            COARSE_TICK
        } else {
            FINE_TICK
        };
        let at = |(secs, nanos): (i64, i64)| {
            let secs = u64::try_from(secs).ok()?;
            let nanos = u32::try_from(nanos).ok()?;
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))
        };
        let last = match (at(self.mtime), at(self.ctime)) {
            (Some(m), Some(c)) => m.max(c),
            _ => return false,
        };
        last.checked_add(tick).is_some_and(|t| t < before)
    }
}

/// The stamp of the file at `path` (symlinks followed); `None` if there is
/// no file.
pub(crate) fn stamp(path: &Path) -> io::Result<Option<Stamp>> {
    match fs::metadata(path) {
        Ok(meta) => Ok(Some(Stamp::of(&meta))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// What [`read_limited`] found.
pub(crate) enum ReadOutcome {
    /// The file's bytes and metadata, and its stamp if it did not change
    /// while it was read (same stamp from `fstat` before and after).
    Found(Vec<u8>, FileMeta, Option<Stamp>),
    /// No file at the path.
    Missing,
    /// The file is over [`MAX_FILE_SIZE`]; its size.
    TooLarge(u64),
}

/// Reads a whole regular file of at most [`MAX_FILE_SIZE`] bytes. With
/// `no_follow`, a symlink at `path` is an error (ELOOP).
pub(crate) fn read_limited(path: &Path, no_follow: bool) -> io::Result<ReadOutcome> {
    let mut options = OpenOptions::new();
    options.read(true);
    if no_follow {
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ReadOutcome::Missing),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
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
    let after = Stamp::of(&file.metadata()?);
    let stamp = Some(Stamp::of(&meta)).filter(|&s| s == after);
    Ok(ReadOutcome::Found(bytes, FileMeta::of(&meta), stamp))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Prefix of the temporary files written beside `path`; every writer holds
/// the lock while its temporary file exists, so one found under the lock is
/// left over from a crash.
fn temp_prefix(path: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".tmp.");
    prefix
}

/// An exclusive advisory lock on the sidecar `<file>.lock`. A sidecar, not
/// the file itself, because the file is replaced by rename while locked.
pub(crate) struct LockGuard {
    _file: File,
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

/// Removes temporary files a crashed writer left for any of `targets`
/// (each in its own directory). Call only while holding the lock that
/// guards every write of those targets.
pub(crate) fn remove_stale_temps(targets: &[&Path]) {
    let mut dirs: Vec<&Path> = targets.iter().map(|t| parent_dir(t)).collect();
    dirs.dedup();
    for dir in dirs {
        let prefixes: Vec<OsString> = targets
            .iter()
            .filter(|t| parent_dir(t) == dir)
            .map(|t| temp_prefix(t))
            .collect();
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if prefixes
                .iter()
                .any(|p| name.as_encoded_bytes().starts_with(p.as_encoded_bytes()))
            {
                // Best effort: a leftover that cannot be removed only costs space.
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Fsyncs a directory so a rename or link in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Which step of [`replace`] failed, so errors name the right path.
pub(crate) struct StepError {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> StepError + '_ {
    move |source| StepError {
        path: path.to_path_buf(),
        source,
    }
}

/// Durably replaces (or creates) `path` with `contents`: a temporary file
/// created exclusively in the same directory, written, given `owner`
/// (uid, gid; `None` keeps the writer's) and `mode`, fsynced, renamed over
/// `path`, then the directory fsynced. With `no_replace`, fails with
/// `AlreadyExists` instead of replacing.
pub(crate) fn replace(
    path: &Path,
    contents: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    no_replace: bool,
) -> Result<(), StepError> {
    let dir = parent_dir(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(at(dir))?;
    let temp_path = temp.path().to_path_buf();
    temp.write_all(contents).map_err(at(&temp_path))?;
    let file = temp.as_file();
    let current = file.metadata().map_err(at(&temp_path))?;
    if let Some((uid, gid)) = owner.filter(|&o| o != (current.uid(), current.gid())) {
        fchown(file, Some(uid), Some(gid)).map_err(at(path))?;
    }
    // After chown, which may clear set-id bits.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(at(&temp_path))?;
    file.sync_all().map_err(at(&temp_path))?;
    if no_replace {
        temp.persist_noclobber(path).map_err(|e| StepError {
            path: path.to_path_buf(),
            source: e.error,
        })?;
    } else {
        temp.persist(path).map_err(|e| StepError {
            path: path.to_path_buf(),
            source: e.error,
        })?;
    }
    sync_dir(dir).map_err(at(dir))
}

/// Durably replaces (or creates) `path` with `contents`, readable as `mode`:
/// the steps [`SecretsStore`](crate::SecretsStore) takes for `.secrets.cfg`
/// (a temporary file created exclusively in the same directory, written,
/// fsynced, renamed over `path`, the directory fsynced), without its lock or
/// cipher. For the other files of a Primus host, such as `primus.cfg`: a
/// crash leaves the old file or the new one, never a mix.
pub fn replace_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    replace(path, contents, mode, None, false).map_err(|step| step.source)
}

/// Removes `path` and fsyncs its directory, so the removal survives a crash;
/// a file already gone is fine.
pub fn remove_file_durably(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent_dir(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
