//! Reads and atomically edits the ciphered Securosys Primus `.secrets.cfg`,
//! the file that holds each application's permanent secret, as specified in
//! `docs/secrets-cfg-format.md`.
//!
//! - [`SecretsStore`] is the one way in: [`list`](SecretsStore::list)
//!   entries without decrypting, [`get`](SecretsStore::get) one secret, and
//!   [`edit`](SecretsStore::edit) in an all-or-nothing transaction that is
//!   locked, checked, written to a temporary file, fsynced and renamed into
//!   place. Concurrent edits in one process share one write (group commit).
//! - Every value is sealed with AES-256-GCM under a 256-bit file key, with a
//!   fresh nonce and the entry's kind and name as associated data. The key
//!   comes from a [`KeySource`]: the caller, `$SECUROSYS_SECRETS_KEY`, or a
//!   key file beside the secrets file created on the first write.
//! - [`locate()`] finds the file as the vendor's tools do.
//! - [`SecretsStore::check`] names every entry that does not open, and
//!   [`SecretsStore::rotate_key_to_file`] re-keys the file: the library side
//!   of the `secrets-cfg` command-line tool (feature `cli`, on by default).
//! - [`FileKey`] holds the key, and [`Secret`] and [`Password`] (from
//!   [`primus_core`], re-exported because this API takes and returns them)
//!   hold secrets: zeroized on drop, `[REDACTED]` in `Debug`/`Display`.
//! - The libconfig reader and writer and the durable file replace live in
//!   [`primus_core`], which needs no cipher.
//!
//! ```
//! use secrets_cfg::{EntryKind, KeySource, Secret, SecretsStore};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SecretsStore::open(dir.path().join(".secrets.cfg"), KeySource::Default)?;
//! store.edit(|tx| tx.put(EntryKind::User, "PARTITION", Secret::new(b"permanent".to_vec())))?;
//!
//! let listed = store.list()?;
//! assert_eq!((listed[0].name.as_str(), listed[0].configured), ("PARTITION", true));
//! let secret = store.get(EntryKind::User, "PARTITION")?.expect("just added");
//! assert_eq!(secret.expose_secret(), b"permanent");
//! assert_eq!(format!("{secret:?}"), "[REDACTED]");
//!
//! let removed = store.edit(|tx| Ok(tx.remove(EntryKind::User, "PARTITION")))?;
//! assert!(removed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crypto;
mod entry;
mod error;
mod file_key;
mod fsio;
mod key;
mod locate;
mod model;
mod store;

pub use entry::{EntryKind, EntrySummary};
pub use error::{Error, Result, VENDOR_NO_WRITE_ACCESS, VENDOR_SECRETS_NOT_FOUND};
pub use file_key::{FileKey, KeyFormatError};
pub use key::{KeySource, SECRETS_KEY_ENV};
pub use locate::{locate, SECRETS_CFG_DEFAULT_PATHS, SECRETS_CFG_ENV};
pub use primus_core::{Password, Secret};
pub use store::{CheckReport, EntryFailure, SecretsStore, Transaction, NEW_FILE_MODE};

/// The README's examples are doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
