//! What survives a restart: issued secrets, setup-password first uses, the clock offset.
//!
//! An HSM keeps its secrets across a reboot and forgets its trial counters; the
//! journal is an append-only JSON-lines file in the state directory. It is
//! written (not fsynced) before each answer: it must survive the process being
//! killed, not the machine losing power.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// One journal line.
#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A user's setup password was used correctly for the first time.
    SetupFirstUse { user: String, at_unix_ms: u64 },
    /// A permanent secret was issued to a user (hex); it replaces the previous one.
    SecretIssued { user: String, secret: String },
    /// Simulated time was moved; the new total offset from the system clock.
    ClockOffset { offset_ms: u64 },
}

/// The open journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    file: File,
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading, opening or appending failed.
    #[error("simulator journal {path}: {source}")]
    Io {
        /// The journal file.
        path: String,
        /// Why.
        source: io::Error,
    },
    /// A line is not a journal event (the serde message does not quote the line).
    #[error("simulator journal {path} line {line} is corrupt; delete the state directory to start afresh")]
    Corrupt {
        /// The journal file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
}

impl Journal {
    /// Opens (creating, mode 0600) the journal at `path` and returns the events it holds.
    pub(crate) fn open(path: &Path) -> Result<(Journal, Vec<Event>), JournalError> {
        let io_error = |source| JournalError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(io_error)?;
        let mut events = Vec::new();
        for (index, line) in BufReader::new(&file).lines().enumerate() {
            let line = Zeroizing::new(line.map_err(io_error)?);
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(&line).map_err(|_| JournalError::Corrupt {
                path: path.display().to_string(),
                line: index + 1,
            })?;
            events.push(event);
        }
        Ok((
            Journal {
                path: path.to_owned(),
                file,
            },
            events,
        ))
    }

    /// Appends one event.
    pub(crate) fn append(&mut self, event: &Event) -> Result<(), JournalError> {
        let io_error = |source| JournalError::Io {
            path: self.path.display().to_string(),
            source,
        };
        // Serialising a plain enum of strings and integers cannot fail.
        let mut line = Zeroizing::new(serde_json::to_vec(event).expect("journal events serialise"));
        line.push(b'\n');
        // One write per line: the file is opened in append mode, so lines never interleave.
        self.file.write_all(&line).map_err(io_error)
    }
}
