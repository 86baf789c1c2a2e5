//! The store handle: reads and edit transactions; group commit, the read
//! cache, rotation and the pre-flight check are in submodules.

mod check;
mod preflight;
mod queue;
mod read_view;
mod rotate;

pub use check::{CheckReport, EntryFailure};
use queue::{Finish, Job, Queue};
use read_view::View;

use std::borrow::Borrow;
use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use crate::crypto::{entry_aad, key_check_aad, Cipher, OpenError};
use crate::entry::{name_problem, EntryKind, EntrySummary};
use crate::error::{Error, Result};
use crate::file_key::FileKey;
use crate::fsio::{self, FileMeta, LockGuard, ReadOutcome};
use crate::key::{self, Candidates, KeyOrigin, KeySource};
use crate::model::{Entry, Model, Undo};
use crate::Secret;
use primus_core::{
    parent_dir, replace_file_with, sync_dir, FileStamp, IfExists, Owner, ReplaceOptions,
};

/// Mode of a secrets file this crate creates: owner read/write, group read
/// (the vendor's `primus` group model), nothing for others. The key file
/// gets the same group bit. Existing files keep their mode.
pub const NEW_FILE_MODE: u32 = 0o640;

/// A handle on one `.secrets.cfg` file and its key.
///
/// Cheap to clone; clones share one commit queue, so concurrent
/// [`edit`](SecretsStore::edit)s from many threads are written together in
/// one atomic replace and one fsync (group commit). Separate handles and
/// separate processes serialize through an advisory lock on
/// `<file>.lock`. All methods block; async callers use
/// `tokio::task::spawn_blocking`.
///
/// If the path is a symlink, it is resolved once when the store is opened
/// and the target is read and replaced from then on (the link stays a link).
///
/// [`list`](SecretsStore::list) and [`get`](SecretsStore::get) reuse the
/// file as they last parsed it (or as the last commit wrote it) while its
/// identity and change stamp (device, inode, size, mtime and ctime in
/// nanoseconds) are unchanged, so reading N entries parses the file once,
/// not N times. A stamp changed within the last timestamp tick is not
/// trusted alone (an in-place rewrite of the same size could keep it): then
/// the bytes are read and compared. Values are still decrypted on each
/// `get`, and a file that fails to parse is never kept.
#[derive(Clone)]
pub struct SecretsStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SecretsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsStore")
            .field("path", &self.shared.path)
            .finish_non_exhaustive()
    }
}

struct Shared {
    path: PathBuf,
    key_source: RwLock<KeySource>,
    queue: Mutex<Queue>,
    /// Waiters wait here for their result or their turn to lead.
    turn: Condvar,
    /// A leader gathering a batch waits here for more edits to arrive.
    arrivals: Condvar,
    /// For writers: the file as this process last read or wrote it under
    /// the lock, checked and authenticated, with its key; reused by the next
    /// commit while the bytes on disk are identical.
    verified: Mutex<Option<Loaded>>,
    /// For readers: the file as `list` and `get` last parsed it (not
    /// authenticated; or as this process last committed it), reused while
    /// its stamp is unchanged: without it, each
    /// read parsed the whole file, and reading every entry cost O(N²).
    parsed: Mutex<Option<View>>,
}

/// The secrets file as read from disk.
struct OnDisk {
    bytes: Vec<u8>,
    meta: FileMeta,
    /// `None` if the file changed while it was read.
    stamp: Option<FileStamp>,
}

enum Outcome<R> {
    Done(Result<R>),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// A loaded, verified file and the key that opens it.
#[derive(Clone)]
struct Loaded {
    /// The bytes on disk (`None`: no file yet), shared with the readers' view.
    bytes: Option<Arc<Vec<u8>>>,
    meta: Option<FileMeta>,
    model: Model,
    key: ActiveKey,
}

#[derive(Clone)]
struct ActiveKey {
    key: FileKey,
    origin: KeyOrigin,
    /// Work left before the key is durable: a new key file to create, or a
    /// pending rotation to finish.
    todo: KeyTodo,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyTodo {
    None,
    CreateFile,
    FinishRotation,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the data consistent, so a panic elsewhere
    // does not make it unusable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SecretsStore {
    /// Opens a handle on `path` (which need not exist yet) with keys from
    /// `key_source`. Fails only if `path` is a symlink that cannot be
    /// resolved.
    pub fn open(path: impl Into<PathBuf>, key_source: KeySource) -> Result<Self> {
        let path = resolve_symlink(path.into())?;
        Ok(Self {
            shared: Arc::new(Shared {
                path,
                key_source: RwLock::new(key_source),
                queue: Mutex::new(Queue::default()),
                turn: Condvar::new(),
                arrivals: Condvar::new(),
                verified: Mutex::new(None),
                parsed: Mutex::new(None),
            }),
        })
    }

    /// The secrets file this handle reads and writes (symlink resolved).
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// This store's key source, pinned to this file: [`KeySource::Default`]
    /// without the environment variable becomes the key file beside this
    /// file. A second store opened on another path with it seals entries
    /// under this store's key (e.g. a copy of one user's entry for another
    /// device), instead of making a key of its own.
    pub fn key_source_for_copies(&self) -> KeySource {
        match self.shared.key_source() {
            KeySource::Default
                if std::env::var(crate::key::SECRETS_KEY_ENV).is_ok_and(|k| !k.is_empty()) =>
            {
                KeySource::Default
            }
            KeySource::Default => KeySource::KeyFile(key::default_key_file(&self.shared.path)),
            other => other,
        }
    }

    /// Checks, without changing anything and without waiting for the lock,
    /// that an edit could be stored right now: the secrets file is a regular
    /// file or absent; its directory exists and this process may write it;
    /// the lock file, if present, can be opened; the key is present,
    /// readable, private and opens the file (or, for a file without ciphered
    /// values, can be created). Run it before asking an HSM for a secret, so
    /// a secret is never issued that could not be stored.
    ///
    /// Cheap enough to call at plan time: a few `stat`s and the parse that
    /// [`list`](Self::list) keeps (no decryption of entries).
    ///
    /// Errors: a missing directory is [`Error::DirectoryNotFound`]
    /// (0x80005004), an unwritable one [`Error::NoWriteAccess`]
    /// (0x80005007); the key errors are those an edit would return.
    pub fn check_writable(&self) -> Result<()> {
        self.shared.check_writable()
    }

    /// Every entry, with whether it holds a value; decrypts nothing and needs
    /// no key. A missing file is [`Error::NotFound`] (0x80005004).
    pub fn list(&self) -> Result<Vec<EntrySummary>> {
        Ok(self.shared.read_model()?.summaries())
    }

    /// Whether the entry `(kind, name)` holds a value, as
    /// [`list`](Self::list) would say, without listing the others: one
    /// lookup in the cached parse. A missing file is [`Error::NotFound`]
    /// (0x80005004).
    pub fn is_configured(&self, kind: EntryKind, name: &str) -> Result<bool> {
        let model = self.shared.read_model()?;
        Ok(matches!(
            model.get(kind, name),
            Some(Entry { value: Some(_), .. })
        ))
    }

    /// Decrypts the entry `(kind, name)`; `Ok(None)` if the file has no such
    /// entry (or the entry holds no value). A missing file is
    /// [`Error::NotFound`] (0x80005004).
    pub fn get(&self, kind: EntryKind, name: &str) -> Result<Option<Secret>> {
        let model = self.shared.read_model()?;
        let Some(Entry { value: Some(_), .. }) = model.get(kind, name) else {
            return Ok(None);
        };
        let key = self.shared.choose_key(&model, false)?;
        open_entry(
            &self.shared.path,
            &Cipher::new(&key.key),
            &model,
            kind,
            name,
        )
    }

    /// Runs `f` on a transaction and commits its changes atomically: all of
    /// them reach the disk, durably, or none do (an `Err` from `f` discards
    /// its changes). Creates the file, and on first write the key file, if
    /// needed.
    ///
    /// Before anything is written the whole file is checked: a file that does
    /// not parse, or any entry that fails authentication, fails the edit and
    /// is left byte-identical. Concurrent edits through clones of this handle
    /// are committed together (each still all-or-nothing on its own).
    ///
    /// `f` runs on whichever thread leads the commit, hence `Send`. It must
    /// not call `edit` or `rotate_key` on this store (that would wait for
    /// itself); use the transaction's own `get` and `list`.
    pub fn edit<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Transaction<'_>) -> Result<R> + Send + 'static,
    {
        let (reply, outcome) = mpsc::sync_channel::<Outcome<R>>(1);
        let job: Job = Box::new(move |tx: Option<&mut Transaction<'_>>| {
            let Some(tx) = tx else {
                // Not run: the leader reports the load error through this.
                let finish: Finish = Box::new(move |r: Result<()>| {
                    if let Err(e) = r {
                        send(&reply, Outcome::Done(Err(e)));
                    }
                });
                return (false, finish);
            };
            let checkpoint = tx.undo.len();
            match panic::catch_unwind(AssertUnwindSafe(|| f(&mut *tx))) {
                Ok(Ok(value)) => {
                    let changed = tx.undo.len() > checkpoint;
                    (
                        changed,
                        Box::new(move |r: Result<()>| {
                            send(&reply, Outcome::Done(r.map(|()| value)))
                        }),
                    )
                }
                Ok(Err(e)) => {
                    tx.rollback(checkpoint);
                    (
                        false,
                        Box::new(move |_| send(&reply, Outcome::Done(Err(e)))),
                    )
                }
                Err(payload) => {
                    tx.rollback(checkpoint);
                    (
                        false,
                        Box::new(move |_| send(&reply, Outcome::Panicked(payload))),
                    )
                }
            }
        });
        self.shared.submit(job);
        match outcome.recv() {
            Ok(Outcome::Done(result)) => result,
            Ok(Outcome::Panicked(payload)) => panic::resume_unwind(payload),
            Err(mpsc::RecvError) => Err(Error::Abandoned {
                path: self.shared.path.clone(),
            }),
        }
    }

    /// Re-encrypts every entry under `new_key` in one atomic replace, then
    /// makes `new_key` the key, in an order a crash cannot break:
    ///
    /// 1. `new_key` is written durably to `<key file>.new`;
    /// 2. the secrets file is rewritten under `new_key`;
    /// 3. `<key file>.new` is renamed over the key file.
    ///
    /// Whoever next opens the file and finds the old key failing tries
    /// `<key file>.new` and finishes step 3. With [`KeySource::Key`] the
    /// handle keeps using `new_key` afterwards (the caller stores it); a key
    /// from `$SECUROSYS_SECRETS_KEY` cannot be rotated here
    /// ([`Error::KeyNotRotatable`]).
    pub fn rotate_key(&self, new_key: FileKey) -> Result<()> {
        self.shared.exclusive(|| self.shared.rotate(new_key))
    }

    /// Re-encrypts every entry under the key in `new_key_file` in one atomic
    /// replace, and reads the file with that key from then on. The current
    /// key, wherever it comes from (a key file or `$SECUROSYS_SECRETS_KEY`),
    /// is left as it is, so a crash at any step leaves a file that either the
    /// old key or the new key file opens.
    ///
    /// If `new_key_file` exists its key is used (it must be private, as any
    /// key file); otherwise a fresh key is written there first, durably,
    /// with mode 0640 ([`NEW_FILE_MODE`]), never over an existing file.
    /// A missing secrets file is [`Error::NotFound`].
    pub fn rotate_key_to_file(&self, new_key_file: &Path) -> Result<()> {
        self.shared
            .exclusive(|| self.shared.rotate_to_file(new_key_file))
    }

    /// Opens every entry under the key and reports each one that does not
    /// open, where an edit would stop at the first. Changes nothing and
    /// takes no lock. A file that cannot be read or parsed, or whose key is
    /// missing or wrong, is an `Err`: then no entry can be judged.
    pub fn check(&self) -> Result<CheckReport> {
        self.shared.check()
    }
}

fn send<R>(reply: &mpsc::SyncSender<Outcome<R>>, outcome: Outcome<R>) {
    // The caller waits on the other end until it gets this message, so it is
    // still there; if it is not, nobody is left to tell.
    let _ = reply.send(outcome);
}

fn resolve_symlink(path: PathBuf) -> Result<PathBuf> {
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(&path).map_err(|e| Error::Symlink {
                path,
                source: Arc::new(e),
            })
        }
        _ => Ok(path),
    }
}

fn open_entry(
    path: &Path,
    cipher: &Cipher,
    model: &Model,
    kind: EntryKind,
    name: &str,
) -> Result<Option<Secret>> {
    let Some(Entry {
        value: Some(sealed),
        ..
    }) = model.get(kind, name)
    else {
        return Ok(None);
    };
    let entry_error = |e: OpenError| {
        let (path, name) = (path.to_path_buf(), name.to_owned());
        match e {
            OpenError::Malformed(problem) => Error::MalformedValue {
                path,
                kind,
                name,
                problem,
            },
            OpenError::UnknownScheme(scheme) => Error::UnknownScheme {
                path,
                kind,
                name,
                scheme,
            },
            OpenError::Authentication => Error::Tampered { path, kind, name },
        }
    };
    cipher
        .open(&entry_aad(kind, name), sealed)
        .map(Some)
        .map_err(entry_error)
}

impl Shared {
    fn lock_path(&self) -> PathBuf {
        fsio::with_suffix(&self.path, ".lock")
    }

    fn key_source(&self) -> KeySource {
        self.key_source
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn read_file(&self) -> Result<Option<OnDisk>> {
        match fsio::read_limited(&self.path, false) {
            Ok(ReadOutcome::Found(bytes, meta, stamp)) => Ok(Some(OnDisk { bytes, meta, stamp })),
            Ok(ReadOutcome::Missing) => Ok(None),
            Ok(ReadOutcome::TooLarge(size)) => Err(Error::TooLarge {
                path: self.path.clone(),
                size,
                limit: fsio::MAX_FILE_SIZE,
            }),
            Ok(ReadOutcome::NotRegular(found)) => Err(Error::NotRegularFile {
                path: self.path.clone(),
                found,
            }),
            Err(e) => Err(Error::read(&self.path, e)),
        }
    }

    /// Picks the key that opens `model`, per the key source. With
    /// `for_write`, a missing key for a file without ciphered values becomes
    /// a fresh key (its key file created on commit).
    fn choose_key(&self, model: &Model, for_write: bool) -> Result<ActiveKey> {
        let check = model.key_check.as_deref();
        let opens = |key: &FileKey| {
            check.is_none_or(|c| Cipher::new(key).open(&key_check_aad(), c).is_ok())
        };
        match self.key_source().candidates(&self.path)? {
            Candidates::Fixed(key, origin) => {
                if !opens(&key) {
                    return Err(Error::WrongKey {
                        path: self.path.clone(),
                        key_origin: origin.to_string(),
                    });
                }
                Ok(ActiveKey {
                    key,
                    origin,
                    todo: KeyTodo::None,
                })
            }
            Candidates::File {
                path,
                current,
                pending,
            } => {
                let origin = KeyOrigin::File(path.clone());
                if let Some(key) = current.as_ref().filter(|k| opens(k)) {
                    return Ok(ActiveKey {
                        key: key.clone(),
                        origin,
                        todo: KeyTodo::None,
                    });
                }
                // A rotation that stopped after rewriting the secrets file.
                if let Some(key) = pending.filter(|k| check.is_some() && opens(k)) {
                    return Ok(ActiveKey {
                        key,
                        origin,
                        todo: KeyTodo::FinishRotation,
                    });
                }
                match current {
                    Some(_) => Err(Error::WrongKey {
                        path: self.path.clone(),
                        key_origin: origin.to_string(),
                    }),
                    None if check.is_some() => Err(Error::MissingKey {
                        path: self.path.clone(),
                        key_file: path,
                    }),
                    None if for_write => {
                        let key = FileKey::generate().map_err(|source| Error::Random {
                            path: self.path.clone(),
                            source,
                        })?;
                        Ok(ActiveKey {
                            key,
                            origin,
                            todo: KeyTodo::CreateFile,
                        })
                    }
                    None => Err(Error::MissingKey {
                        path: self.path.clone(),
                        key_file: path,
                    }),
                }
            }
        }
    }
}

/// The ownership and mode a replaced file gets: the existing file's, or for
/// a new one the writer's own with `mode`.
fn keep_or_new(meta: Option<FileMeta>, mode: u32) -> ReplaceOptions {
    match meta {
        Some(m) => ReplaceOptions {
            owner: Some(Owner {
                uid: m.uid,
                gid: m.gid,
            }),
            ..ReplaceOptions::mode(m.mode)
        },
        None => ReplaceOptions::mode(mode),
    }
}

impl Shared {
    /// Takes the lock, then loads the file: from `cached` if the bytes on
    /// disk are the ones it holds, else parsed, keyed and fully
    /// authenticated. Finishes an interrupted rotation, clears leftovers.
    fn lock_and_load(&self, cached: Option<Loaded>) -> Result<(LockGuard, Loaded)> {
        let lock_path = self.lock_path();
        let guard = LockGuard::acquire(&lock_path, NEW_FILE_MODE)
            .map_err(|e| Error::write(&lock_path, e))?;
        self.remove_stale_temps();
        let file = self.read_file()?;
        if let (Some(mut loaded), Some(on_disk)) = (cached, &file) {
            if loaded.bytes.as_deref() == Some(&on_disk.bytes) {
                loaded.meta = Some(on_disk.meta);
                return Ok((guard, loaded));
            }
        }
        let model = match &file {
            Some(on_disk) => Model::parse(&self.path, &on_disk.bytes)?,
            None => Model::empty(),
        };
        let mut key = self.choose_key(&model, true)?;
        verify_all(&self.path, &Cipher::new(&key.key), &model)?;
        if let KeyOrigin::File(key_file) = &key.origin {
            let pending = key::pending_key_file(key_file);
            match key.todo {
                KeyTodo::FinishRotation => {
                    std::fs::rename(&pending, key_file).map_err(|e| Error::write(key_file, e))?;
                    sync_dir(parent_dir(key_file)).map_err(|e| Error::write(key_file, e))?;
                    key.todo = KeyTodo::None;
                }
                KeyTodo::None => match std::fs::remove_file(&pending) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::write(&pending, e))
                    }
                    _ => {}
                },
                KeyTodo::CreateFile => {}
            }
        }
        let (bytes, meta) = file.map_or((None, None), |f| (Some(Arc::new(f.bytes)), Some(f.meta)));
        Ok((
            guard,
            Loaded {
                bytes,
                meta,
                model,
                key,
            },
        ))
    }

    /// Clears what a writer killed mid-write left: temporary files of the
    /// secrets file, of its key file and of a pending rotation key. Every
    /// writer of those holds the lock while its temporary file exists.
    fn remove_stale_temps(&self) {
        let key_file = match self.key_source() {
            KeySource::KeyFile(path) => path,
            _ => key::default_key_file(&self.path),
        };
        let pending = key::pending_key_file(&key_file);
        primus_core::remove_stale_temps(&[&self.path, &key_file, &pending]);
    }

    /// Writes the model (creating the key file first if it is new).
    fn write(&self, loaded: &mut Loaded, cipher: &Cipher) -> Result<()> {
        if loaded.model.key_check.is_none() {
            loaded.model.key_check = Some(seal(&self.path, cipher, &key_check_aad(), b"")?);
        }
        if loaded.key.todo == KeyTodo::CreateFile {
            if let KeyOrigin::File(key_file) = &loaded.key.origin {
                let (mode, gid) = match loaded.meta {
                    Some(m) => (m.mode, Some(m.gid)),
                    None => (NEW_FILE_MODE, None),
                };
                // Owner-only, plus group read when the secrets file's group
                // may read it (the PKCS#11 library needs both).
                let options = ReplaceOptions {
                    mode: 0o600 | (mode & 0o040),
                    owner: gid.map(|gid| Owner {
                        uid: rustix::process::geteuid().as_raw(),
                        gid,
                    }),
                    // First-write creation must never clobber a key.
                    if_exists: IfExists::Fail,
                };
                key::write_key_file(key_file, &loaded.key.key, options)?;
            }
            loaded.key.todo = KeyTodo::None;
        }
        let size_hint = loaded.bytes.as_ref().map_or(0, |b| b.len());
        let text = loaded.model.render(&self.path, size_hint)?;
        let options = keep_or_new(loaded.meta, NEW_FILE_MODE);
        replace_file_with(&self.path, &text, options)
            .map_err(|e| Error::write(e.path, e.source))?;
        loaded.bytes = Some(text);
        Ok(())
    }
}

fn seal(path: &Path, cipher: &Cipher, aad: &[u8], plaintext: &[u8]) -> Result<String> {
    cipher.seal(aad, plaintext).map_err(|source| Error::Random {
        path: path.to_path_buf(),
        source,
    })
}

/// Authenticates every value, so a damaged file is never written over.
fn verify_all(path: &Path, cipher: &Cipher, model: &Model) -> Result<()> {
    for entry in model.entries() {
        open_entry(path, cipher, model, entry.kind, &entry.name)?;
    }
    Ok(())
}

/// The edit in progress inside [`SecretsStore::edit`]. Every value in the
/// file has been authenticated before the closure runs.
pub struct Transaction<'a> {
    path: &'a Path,
    model: &'a mut Model,
    cipher: &'a Cipher,
    undo: Vec<Undo>,
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Transaction<'_> {
    /// Adds or replaces the entry `(kind, name)`, sealing `secret` under a
    /// fresh nonce. Accepts a `Secret` or a `&Secret`.
    pub fn put(&mut self, kind: EntryKind, name: &str, secret: impl Borrow<Secret>) -> Result<()> {
        if let Some(problem) = name_problem(name) {
            return Err(Error::InvalidName {
                kind,
                name: name.to_owned(),
                problem,
            });
        }
        let sealed = seal(
            self.path,
            self.cipher,
            &entry_aad(kind, name),
            secret.borrow().expose_secret(),
        )?;
        let undo = self.model.put(kind, name, sealed);
        self.undo.push(undo);
        Ok(())
    }

    /// Removes the entry `(kind, name)`; false if there was none.
    pub fn remove(&mut self, kind: EntryKind, name: &str) -> bool {
        match self.model.remove(kind, name) {
            Some(undo) => {
                self.undo.push(undo);
                true
            }
            None => false,
        }
    }

    /// Decrypts `(kind, name)` as this transaction currently sees it.
    pub fn get(&self, kind: EntryKind, name: &str) -> Result<Option<Secret>> {
        open_entry(self.path, self.cipher, self.model, kind, name)
    }

    /// Every entry as this transaction currently sees it.
    pub fn list(&self) -> Vec<EntrySummary> {
        self.model.summaries()
    }

    /// True if the entry `(kind, name)` exists.
    pub fn contains(&self, kind: EntryKind, name: &str) -> bool {
        self.model.get(kind, name).is_some()
    }

    fn rollback(&mut self, checkpoint: usize) {
        while self.undo.len() > checkpoint {
            if let Some(undo) = self.undo.pop() {
                self.model.undo(undo);
            }
        }
    }
}
