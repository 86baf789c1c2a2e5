//! The crate's error type.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::entry::EntryKind;
use primus_core::libconfig::ParseError;

/// Vendor code for "secrets file not found".
pub const VENDOR_SECRETS_NOT_FOUND: u32 = 0x8000_5004;
/// Vendor code for "no write access to the secrets file".
pub const VENDOR_NO_WRITE_ACCESS: u32 = 0x8000_5007;

/// Everything that can go wrong reading or editing a `.secrets.cfg`.
///
/// Each message names the file (and the entry, where one is involved) and
/// says what to do. None contains a secret or key. Errors are `Clone` so one
/// failed group commit can be reported to every edit in it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The secrets file does not exist (vendor code 0x80005004).
    #[error("secrets file {path} not found (0x80005004): check the path or $SECUROSYS_SECRETS_CONF; adding a secret creates the file")]
    NotFound {
        /// Where the secrets file was looked for: the explicit path,
        /// `$SECUROSYS_SECRETS_CONF` or the default.
        path: PathBuf,
    },
    /// The directory that should hold the secrets file does not exist
    /// (vendor code 0x80005004).
    #[error("directory {path} of the secrets file not found (0x80005004): create it (group `primus`, mode 0750) or point the secrets file elsewhere")]
    DirectoryNotFound {
        /// The missing directory.
        path: PathBuf,
    },
    /// The process may not write the secrets file or its directory (vendor
    /// code 0x80005007).
    #[error("no write access to {path} (0x80005007): {source}; run as a user with write access to the file and its directory (the file was left unchanged)")]
    NoWriteAccess {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// Reading a file failed for another reason than its absence.
    #[error("cannot read {path}: {source}; check that the path names a readable regular file")]
    Read {
        /// The path that could not be read, as the caller named it.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// Writing failed for another reason than permissions.
    #[error("cannot write {path}: {source}; the secrets file was left unchanged, fix the cause and retry")]
    Write {
        /// The file or directory the write failed on.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// A symlinked secrets path could not be resolved.
    #[error("cannot resolve the symlink {path}: {source}; point it at an existing secrets file or replace it with the file")]
    Symlink {
        /// The symlink that could not be followed, as it was named.
        path: PathBuf,
        /// The operating system's error.
        source: Arc<io::Error>,
    },
    /// A FIFO, device or socket is where the secrets file or the key file
    /// should be; it was not read (reading could block for ever).
    #[error("{path} is {found}, not a regular file; replace it with the file itself (nothing was read or changed)")]
    NotRegularFile {
        /// Where the secrets file or the key file was expected.
        path: PathBuf,
        /// What is there, in words (`a FIFO (named pipe)`).
        found: &'static str,
    },
    /// The key file can be read or written by users outside its owner and
    /// group, so the key no longer protects the secrets. Refused as ssh
    /// refuses such a private key.
    #[error("key file {path} has mode {mode:04o}: other users can read or write it; run `chmod 0640 {path}` (and if others may have copied the key, re-encrypt under a new one with `secrets-cfg rotate-key --new-key-file PATH`)")]
    KeyFileTooOpen {
        /// The key file whose mode is too open.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is larger than any secrets file should be.
    #[error("{path} is {size} bytes, over the {limit}-byte limit for a secrets file; check that the path names the secrets file")]
    TooLarge {
        /// The oversized file, never read in full.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The largest size accepted for a secrets file, in bytes.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{path} is not UTF-8 text (invalid byte at line {line}, column {column}); restore the file from a backup")]
    NotUtf8 {
        /// The secrets file holding the invalid byte.
        path: PathBuf,
        /// Line of the first invalid byte, from 1.
        line: usize,
        /// Column of the first invalid byte, from 1.
        column: usize,
    },
    /// The file is not valid libconfig.
    #[error(
        "{path} is not valid libconfig: {source}; fix that line or restore the file from a backup"
    )]
    Syntax {
        /// The secrets file that failed to parse.
        path: PathBuf,
        /// Where and why parsing stopped (boxed: it may name an included
        /// file, and every error of the crate carries this one).
        source: Box<ParseError>,
    },
    /// The file is libconfig but not shaped like a secrets file.
    #[error("{path}: {problem}; fix the file or restore it from a backup")]
    Format {
        /// The secrets file of the wrong shape.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Two entries of one kind share a name.
    #[error("{path}: {kind} `{name}` has two entries; delete one of them by hand, keeping the one that works")]
    DuplicateEntry {
        /// The secrets file holding both entries.
        path: PathBuf,
        /// The entry's kind.
        kind: EntryKind,
        /// The name both entries carry.
        name: String,
    },
    /// A value uses a cipher scheme this version does not know.
    #[error("{path}: {kind} `{name}` is ciphered with scheme `{scheme}`, unknown to this version; use the newer tool that wrote it")]
    UnknownScheme {
        /// The secrets file holding the entry.
        path: PathBuf,
        /// The entry's kind.
        kind: EntryKind,
        /// The entry's name.
        name: String,
        /// The text before the value's first `:`, as found (not secret).
        scheme: String,
    },
    /// A value is not `scheme:nonce:ciphertext`.
    #[error("{path}: {kind} `{name}` has a malformed value ({problem}); restore the file from a backup, or remove the entry and add the secret again")]
    MalformedValue {
        /// The secrets file holding the entry.
        path: PathBuf,
        /// The entry's kind.
        kind: EntryKind,
        /// The entry's name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A value fails authentication: altered, or moved from another entry.
    #[error("{path}: {kind} `{name}` fails authentication (its value was altered or copied from another entry); restore the file from a backup, or remove the entry and add the secret again")]
    Tampered {
        /// The secrets file holding the entry.
        path: PathBuf,
        /// The entry's kind.
        kind: EntryKind,
        /// The entry's name.
        name: String,
    },
    /// The key does not match the file's key check value.
    #[error("{path}: {key_origin} does not open this file (key check failed); use the key the file was written with")]
    WrongKey {
        /// The secrets file the key was tried on.
        path: PathBuf,
        /// Where the key came from, e.g. `key file /etc/primus/.secrets.cfg.key`.
        key_origin: String,
    },
    /// The file holds ciphered values but no key is available.
    #[error("{path} holds ciphered secrets but its key file {key_file} is missing and $SECUROSYS_SECRETS_KEY is not set; restore the key file from a backup (a new key is never made for an existing file)")]
    MissingKey {
        /// The secrets file holding the ciphered values.
        path: PathBuf,
        /// Where the key file was looked for.
        key_file: PathBuf,
    },
    /// A key was found but is not a valid key.
    #[error(
        "invalid key in {key_origin}: {problem}; it must hold 64 hexadecimal digits (32 bytes)"
    )]
    BadKey {
        /// Where the key came from.
        key_origin: String,
        /// What is wrong (never the key text).
        problem: String,
    },
    /// The key comes from somewhere this crate cannot rewrite.
    #[error("cannot rotate the key of {path}: it comes from {key_origin}, which this program cannot rewrite; unset it to use a key file, or rotate with a caller-given key")]
    KeyNotRotatable {
        /// The secrets file whose key was to be rotated.
        path: PathBuf,
        /// Where the key came from.
        key_origin: String,
    },
    /// The key file named as the new key holds the key already in use.
    #[error("{key_file} holds the key {path} is already ciphered under; name a key file that does not exist yet (it gets a fresh key) or one holding a different key (nothing was changed)")]
    SameKey {
        /// The secrets file whose key was to be rotated.
        path: PathBuf,
        /// The key file given as the new key.
        key_file: PathBuf,
    },
    /// An entry name that cannot be stored.
    #[error("invalid {kind} name {name:?}: {problem}")]
    InvalidName {
        /// The entry's kind.
        kind: EntryKind,
        /// The name as given, quoted in the message so hidden characters show.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The operating system's random source failed.
    #[error("cannot draw random bytes for {path}: {source}; the secrets file was left unchanged")]
    Random {
        /// The secrets file the random bytes were for (nonce or new key).
        path: PathBuf,
        /// The random source's error.
        source: getrandom::Error,
    },
    /// Another edit in the same group commit panicked before this one's
    /// result was known; nothing was written for the batch.
    #[error("the commit to {path} was abandoned because another edit in the same batch panicked; retry the edit")]
    Abandoned {
        /// The secrets file the batch was for.
        path: PathBuf,
    },
}

impl Error {
    /// The vendor's error code for this error, where the vendor has one:
    /// 0x80005004 (secrets file not found), 0x80005007 (no write access).
    pub fn vendor_code(&self) -> Option<u32> {
        match self {
            Error::NotFound { .. } | Error::DirectoryNotFound { .. } => {
                Some(VENDOR_SECRETS_NOT_FOUND)
            }
            Error::NoWriteAccess { .. } => Some(VENDOR_NO_WRITE_ACCESS),
            _ => None,
        }
    }

    /// True when the secrets file's own content is damaged (it does not
    /// parse, is not shaped like a secrets file, or a value is altered,
    /// malformed or of an unknown scheme); false when the file could not be
    /// reached or the key is missing, wrong or unusable, which says nothing
    /// about the file. Monitoring alerts differently on the two.
    pub fn is_damaged_file(&self) -> bool {
        match self {
            Error::TooLarge { .. }
            | Error::NotUtf8 { .. }
            | Error::Syntax { .. }
            | Error::Format { .. }
            | Error::DuplicateEntry { .. }
            | Error::UnknownScheme { .. }
            | Error::MalformedValue { .. }
            | Error::Tampered { .. } => true,
            Error::NotFound { .. }
            | Error::DirectoryNotFound { .. }
            | Error::NoWriteAccess { .. }
            | Error::Read { .. }
            | Error::Write { .. }
            | Error::Symlink { .. }
            | Error::NotRegularFile { .. }
            | Error::KeyFileTooOpen { .. }
            | Error::WrongKey { .. }
            | Error::MissingKey { .. }
            | Error::BadKey { .. }
            | Error::KeyNotRotatable { .. }
            | Error::SameKey { .. }
            | Error::InvalidName { .. }
            | Error::Random { .. }
            | Error::Abandoned { .. } => false,
        }
    }

    /// Classifies an I/O error met while writing `path`.
    pub(crate) fn write(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        let source = Arc::new(source);
        match source.kind() {
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
                Error::NoWriteAccess { path, source }
            }
            _ => Error::Write { path, source },
        }
    }

    /// Classifies an I/O error met while reading `path`.
    pub(crate) fn read(path: impl Into<PathBuf>, source: io::Error) -> Self {
        let path = path.into();
        match source.kind() {
            io::ErrorKind::NotFound => Error::NotFound { path },
            _ => Error::Read {
                path,
                source: Arc::new(source),
            },
        }
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
