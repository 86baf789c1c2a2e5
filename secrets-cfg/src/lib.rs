//! Reads and atomically edits the ciphered Securosys Primus `.secrets.cfg`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod libconfig;
mod secret;

pub use secret::{FileKey, KeyFormatError, Password, Secret};
