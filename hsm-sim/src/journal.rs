//! What survives a restart: issued secrets, setup-password first uses, the
//! clock offset, and the partition logs.
//!
//! An HSM keeps its secrets across a reboot and forgets its trial counters; the
//! journal is an append-only JSON-lines file in the state directory. It is
//! written (not fsynced) before each answer: it must survive the process being
//! killed, not the machine losing power. A partial last line (killed mid-append)
//! is dropped on the next start; its answer was never sent.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use hsm_wire::{Password, Secret};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::partition_log::LogEntry;

/// One journal line.
#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum Event {
    /// A user's setup password was used correctly for the first time.
    SetupFirstUse { user: String, at_unix_ms: u64 },
    /// A permanent secret was issued to a user (hex); it replaces the previous one.
    SecretIssued {
        user: String,
        #[serde(with = "hsm_wire::hex_secret")]
        secret: Secret,
    },
    /// An administrator issued the user a new setup password; its first use is
    /// still to come, and the previous one no longer works.
    SetupPasswordIssued {
        user: String,
        setup_password: Password,
    },
    /// Simulated time was moved; the new total offset from the system clock.
    ClockOffset { offset_ms: u64 },
    /// An entry of a user's partition log (holds no credential).
    Logged(LogEntry),
}

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
        /// The journal's path in the state directory.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// A line is not a journal event (the serde message does not quote the line).
    #[error("simulator journal {path} line {line} is corrupt; delete the state directory to start afresh")]
    Corrupt {
        /// The journal's path in the state directory.
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
        let mut file = options.open(path).map_err(io_error)?;
        let mut text = Zeroizing::new(Vec::new());
        file.read_to_end(&mut text).map_err(io_error)?;
        // Only whole lines count. A process killed in the middle of an append leaves
        // a partial last line whose answer was never sent: cut it off, so the
        // next append starts on a line of its own.
        let complete = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            tracing::warn!(path = %path.display(), "dropping an incomplete last journal line");
            file.set_len(u64::try_from(complete).unwrap_or(u64::MAX))
                .map_err(io_error)?;
        }
        let mut events = Vec::new();
        for (index, line) in text[..complete].split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let event = serde_json::from_slice(line).map_err(|_| JournalError::Corrupt {
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
        self.append_all(std::slice::from_ref(event))
    }

    /// Appends events, all in one write.
    pub(crate) fn append_all(&mut self, events: &[Event]) -> Result<(), JournalError> {
        let io_error = |source| JournalError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut lines = Zeroizing::new(Vec::new());
        for event in events {
            // Serialising a plain enum of strings and integers cannot fail.
            serde_json::to_writer(&mut *lines, event).expect("journal events serialise");
            lines.push(b'\n');
        }
        // One write: the file is opened in append mode, so lines never interleave.
        self.file.write_all(&lines).map_err(io_error)
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn a_partial_last_line_is_dropped_and_appends_continue_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (mut journal, events) = Journal::open(&path).unwrap();
        assert!(events.is_empty());
        journal
            .append(&Event::ClockOffset { offset_ms: 5 })
            .unwrap();
        drop(journal);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"event\":\"secret_iss").unwrap();
        drop(file);

        let (mut journal, events) = Journal::open(&path).unwrap();
        assert!(matches!(events[..], [Event::ClockOffset { offset_ms: 5 }]));
        journal
            .append(&Event::ClockOffset { offset_ms: 7 })
            .unwrap();
        let (_, events) = Journal::open(&path).unwrap();
        assert_eq!(events.len(), 2);

        // A broken line in the middle is corruption, reported with its line number.
        std::fs::write(
            &path,
            "{\"event\":\"clock_offset\",\"offset_ms\":1}\nnot json\n",
        )
        .unwrap();
        // Events hold secrets and have no Debug, so no unwrap_err here.
        let Err(error) = Journal::open(&path) else {
            panic!("a corrupt journal was accepted")
        };
        assert!(error.to_string().contains("line 2"), "{error}");
    }
}
