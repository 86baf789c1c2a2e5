//! Durable file replacement (write a temporary file, fsync, rename, fsync
//! the directory) and [`FileStamp`], the one test of "has this file changed".

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::{fchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Which file is at a path and which version of it: identity (device,
/// inode) and change stamp (size, mtime and ctime to the nanosecond).
///
/// Equal stamps mean unchanged content except for one case: a program
/// rewriting the file in place, to the same size, within the same tick of
/// the filesystem's timestamp clock as the change the stamp records.
/// [`replace_file`] renames a new inode into place, so it always changes the
/// stamp. [`FileStamp::settled`] rules that case out.
///
/// ```
/// use primus_core::{replace_file, FileStamp};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("primus.cfg");
/// assert_eq!(FileStamp::at(&path)?, None);
/// replace_file(&path, b"one", 0o640)?;
/// let first = FileStamp::at(&path)?;
/// replace_file(&path, b"two", 0o640)?;
/// assert_ne!(FileStamp::at(&path)?, first);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
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

impl FileStamp {
    /// The stamp of the file `meta` describes (from `stat` or `fstat`).
    pub fn of(meta: &fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The stamp of the file at `path` (symlinks followed); `None` if there
    /// is no file.
    pub fn at(path: &Path) -> io::Result<Option<Self>> {
        match fs::metadata(path) {
            Ok(meta) => Ok(Some(Self::of(&meta))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
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

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Prefix of the temporary files [`replace_file`] writes beside `path`.
fn temp_prefix(path: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".tmp.");
    prefix
}

/// Removes temporary files a crashed [`replace_file`] left for any of
/// `targets` (each in its own directory). Call only while holding a lock
/// that every writer of those targets holds while its temporary file exists,
/// so any temporary file found is left over from a crash.
pub fn remove_stale_temps(targets: &[&Path]) {
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
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Owner given to a replaced file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
}

/// What [`replace_file_with`] does when a file is already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IfExists {
    /// Replace it (atomically, by rename).
    #[default]
    Replace,
    /// Fail with [`io::ErrorKind::AlreadyExists`] and leave it alone.
    Fail,
}

/// How [`replace_file_with`] writes the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplaceOptions {
    /// Permission bits of the new file.
    pub mode: u32,
    /// `None` keeps the writer's user and group.
    pub owner: Option<Owner>,
    /// Whether an existing file is replaced.
    pub if_exists: IfExists,
}

impl ReplaceOptions {
    /// Replace any existing file, owned by the writer, with permissions `mode`.
    pub fn mode(mode: u32) -> Self {
        Self {
            mode,
            owner: None,
            if_exists: IfExists::Replace,
        }
    }
}

/// A failed [`replace_file_with`]: the file or directory the failing step
/// was about (the target, never the temporary file, whose name means nothing
/// to a user) and the cause.
#[derive(Debug)]
pub struct ReplaceError {
    /// The target file, or its directory when the directory refused the
    /// temporary file.
    pub path: PathBuf,
    /// What the operating system said, e.g. permission denied or disk full.
    pub source: io::Error,
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> ReplaceError + '_ {
    move |source| ReplaceError {
        path: path.to_path_buf(),
        source,
    }
}

/// Durably replaces (or creates) `path` with `contents`: a temporary file
/// created exclusively in the same directory (mode 0600 while written),
/// written, given its owner and mode, fsynced, renamed over `path`, then the
/// directory fsynced. A crash leaves the old file or the new one, never a
/// mix; a failure leaves the old file and no temporary file.
pub fn replace_file_with(
    path: &Path,
    contents: &[u8],
    options: ReplaceOptions,
) -> Result<(), ReplaceError> {
    let dir = parent_dir(path);
    let mut temp = tempfile::Builder::new()
        .prefix(&temp_prefix(path))
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(at(dir))?;
    temp.write_all(contents).map_err(at(path))?;
    let file = temp.as_file();
    let current = file.metadata().map_err(at(path))?;
    if let Some(owner) = options
        .owner
        .filter(|o| (o.uid, o.gid) != (current.uid(), current.gid()))
    {
        fchown(file, Some(owner.uid), Some(owner.gid)).map_err(at(path))?;
    }
    // After chown, which may clear set-id bits.
    file.set_permissions(fs::Permissions::from_mode(options.mode))
        .map_err(at(path))?;
    file.sync_all().map_err(at(path))?;
    let persisted = match options.if_exists {
        IfExists::Replace => temp.persist(path),
        IfExists::Fail => temp.persist_noclobber(path),
    };
    persisted.map_err(|e| ReplaceError {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(dir).map_err(at(dir))
}

/// Durably replaces (or creates) `path` with `contents`, with permissions
/// `mode`: [`replace_file_with`] for the common case.
pub fn replace_file(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    replace_file_with(path, contents, ReplaceOptions::mode(mode)).map_err(|e| e.source)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_remove_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("primus.cfg");
        replace_file(&path, b"one", 0o640).unwrap();
        replace_file(&path, b"two", 0o640).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
        let fail = ReplaceOptions {
            if_exists: IfExists::Fail,
            ..ReplaceOptions::mode(0o600)
        };
        let err = replace_file_with(&path, b"three", fail).unwrap_err();
        assert_eq!(err.source.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(err.path, path);
        assert_eq!(fs::read(&path).unwrap(), b"two");
        remove_file_durably(&path).unwrap();
        assert!(!path.exists());
        remove_file_durably(&path).unwrap();
        let missing = dir.path().join("no-dir").join("x");
        assert!(replace_file(&missing, b"x", 0o640).is_err());
        // No temporary file is left behind by any of the above.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn stale_temps_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join(".secrets.cfg");
        let stale = dir.path().join("..secrets.cfg.tmp.abc");
        let other = dir.path().join("keep.tmp.abc");
        fs::write(&stale, b"x").unwrap();
        fs::write(&other, b"x").unwrap();
        remove_stale_temps(&[&target]);
        assert!(!stale.exists());
        assert!(other.exists());
    }

    #[test]
    fn a_stamp_is_settled_only_a_tick_after_its_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        replace_file(&path, b"x", 0o600).unwrap();
        let stamp = FileStamp::at(&path).unwrap().unwrap();
        assert!(!stamp.settled(SystemTime::UNIX_EPOCH));
        assert!(stamp.settled(SystemTime::now() + COARSE_TICK + COARSE_TICK));
    }
}
