//! The pieces every crate of the Primus workspace shares, with no cipher,
//! no network and no Terraform in them, so that the wire protocol
//! (`hsm-wire`), the simulator and the configuration code need not depend
//! on the `.secrets.cfg` store (`secrets-cfg`) to get them:
//!
//! - [`Password`] and [`Secret`] hold credentials: zeroized on drop, readable
//!   only through `expose_secret()`, `[REDACTED]` in `Debug` and `Display`,
//!   compared in constant time. A [`Password`] (de)serializes as a plain
//!   string and refuses any other JSON value without quoting it.
//!   [`redacted_fmt!`] gives another crate's secret type the same `Debug`
//!   and `Display`.
//! - [`libconfig`] reads and writes the libconfig syntax of `primus.cfg` and
//!   `.secrets.cfg`, parser and writer side by side.
//! - [`replace_file`] (and [`replace_file_with`] for owner and no-clobber)
//!   replaces a file so a crash leaves the old file or the new one, never a
//!   mix; [`remove_file_durably`] is its counterpart.
//! - [`FileStamp`] tells whether a file changed since it was last read,
//!   including the same-size rewrite within one timestamp tick.
//!
//! ```
//! use primus_core::{libconfig, replace_file, Password};
//!
//! let pin = Password::new("1234".to_owned());
//! assert_eq!(format!("{pin:?}"), "[REDACTED]");
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("primus.cfg");
//! let text = format!("version = {};\n", libconfig::quote("1.0"));
//! replace_file(&path, text.as_bytes(), 0o640)?;
//! let doc = libconfig::parse(&std::fs::read_to_string(&path)?)?;
//! assert_eq!(doc.lookup("version").and_then(libconfig::Value::as_str), Some("1.0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod file;
pub mod libconfig;
mod secret;

pub use file::{
    parent_dir, remove_file_durably, remove_stale_temps, replace_file, replace_file_with, sync_dir,
    FileStamp, IfExists, Owner, ReplaceError, ReplaceOptions,
};
pub use secret::{Password, Secret, REDACTED};

/// The README's examples are doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
