//! What the tool prints and how it exits: one report or one failure per run,
//! as text or as one JSON object, and the documented exit codes.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use secrets_cfg::{CheckReport, EntrySummary, Error};
use serde_json::{json, Value};

/// The exit codes listed in `--help` (2, usage, is clap's own).
#[derive(Clone, Copy)]
enum Exit {
    Success = 0,
    DamagedFile = 1,
    Failed = 3,
}

/// How the run's result is printed.
#[derive(Clone, Copy)]
pub(crate) enum Format {
    Text,
    Json,
}

/// Whether `rotate-key` re-encrypted the file on this run.
#[derive(Clone, Copy)]
pub(crate) enum Rotation {
    Now,
    /// An earlier, interrupted run already had: the file opens under the
    /// new key file.
    Earlier,
}

/// The command that ran, as its name in reports and errors.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Check,
    List,
    RotateKey,
}

impl Cmd {
    fn as_str(self) -> &'static str {
        match self {
            Cmd::Check => "check",
            Cmd::List => "list",
            Cmd::RotateKey => "rotate-key",
        }
    }
}

/// A command's result.
pub(crate) struct Report {
    text: String,
    json: Value,
    exit: Exit,
}

impl Report {
    pub(crate) fn checked(path: &Path, checked: &CheckReport) -> Self {
        let total = checked.entries.len();
        let failures: Vec<Value> = checked
            .failures
            .iter()
            .map(|f| json!({"kind": f.kind.as_str(), "name": f.name, "problem": f.error.to_string()}))
            .collect();
        let text = if checked.is_clean() {
            format!(
                "{}: {total} entries, every one opens under the key\n",
                path.display()
            )
        } else {
            let mut text = format!(
                "{}: {} of {total} entries do not open under the key:\n",
                path.display(),
                checked.failures.len()
            );
            for f in &checked.failures {
                text.push_str(&format!("  {} `{}`: {}\n", f.kind, f.name, f.error));
            }
            text
        };
        Self {
            text,
            json: json!({
                "command": "check",
                "file": path,
                "ok": checked.is_clean(),
                "entries": entries_json(&checked.entries),
                "failures": failures,
            }),
            exit: if checked.is_clean() {
                Exit::Success
            } else {
                Exit::DamagedFile
            },
        }
    }

    pub(crate) fn listed(path: &Path, entries: &[EntrySummary]) -> Self {
        let mut text = String::new();
        for e in entries {
            let state = if e.configured {
                "configured"
            } else {
                "no value"
            };
            text.push_str(&format!("{}\t{}\t{state}\n", e.kind.as_str(), e.name));
        }
        Self {
            text,
            json: json!({"command": "list", "file": path, "ok": true, "entries": entries_json(entries)}),
            exit: Exit::Success,
        }
    }

    pub(crate) fn rotated(path: &Path, new_key_file: &Path, count: usize, when: Rotation) -> Self {
        let (file, key) = (path.display(), new_key_file.display());
        let done = match when {
            Rotation::Now => format!("{file}: {count} entries re-encrypted under the key in {key}"),
            Rotation::Earlier => format!(
                "{file}: already re-encrypted under the key in {key} by an earlier run ({count} entries); nothing changed"
            ),
        };
        let text = format!(
            "{done}\nthe old key no longer opens the file: make {key} the key its readers use \
             (`mv {key} {file}.key` for the default key file, or set $SECUROSYS_SECRETS_KEY \
             to its content), then delete the old key and its backups\n"
        );
        Self {
            text,
            json: json!({
                "command": "rotate-key",
                "file": path,
                "ok": true,
                "new_key_file": new_key_file,
                "entries": count,
                "already_rotated": matches!(when, Rotation::Earlier),
            }),
            exit: Exit::Success,
        }
    }

    pub(crate) fn completions(shell: clap_complete::Shell, script: String) -> Self {
        Self {
            json: json!({"command": "completions", "ok": true, "shell": shell.to_string(), "script": script}),
            text: script,
            exit: Exit::Success,
        }
    }
}

fn entries_json(entries: &[EntrySummary]) -> Vec<Value> {
    entries
        .iter()
        .map(|e| json!({"kind": e.kind.as_str(), "name": e.name, "configured": e.configured}))
        .collect()
}

/// A command that could not do its work: the library's error (which names
/// the file and never a secret) and what to do about it with this tool.
pub(crate) struct Failure {
    command: Cmd,
    file: std::path::PathBuf,
    error: Error,
}

impl Failure {
    pub(crate) fn new(command: Cmd, file: &Path, error: Error) -> Self {
        Self {
            command,
            file: file.to_path_buf(),
            error,
        }
    }

    fn exit(&self) -> Exit {
        if self.error.is_damaged_file() {
            Exit::DamagedFile
        } else {
            Exit::Failed
        }
    }

    /// Advice in this tool's own words (its arguments and flags), where the
    /// library's message speaks of settings in general.
    fn hint(&self) -> Option<String> {
        let file = self.file.display();
        match &self.error {
            Error::NotFound { .. } | Error::DirectoryNotFound { .. } => Some(format!(
                "give the secrets file as the FILE argument, or set $SECUROSYS_SECRETS_CONF (looked for {file})"
            )),
            Error::MissingKey { .. } | Error::WrongKey { .. } | Error::BadKey { .. } => Some(
                "name the key file with --key-file PATH, or set $SECUROSYS_SECRETS_KEY to the key's 64 hex digits"
                    .to_owned(),
            ),
            Error::SameKey { .. } => Some(
                "give --new-key-file a path that does not exist yet; rotate-key makes a fresh key there"
                    .to_owned(),
            ),
            Error::NoWriteAccess { .. } | Error::Write { .. } if self.command == Cmd::RotateKey => {
                Some(format!(
                    "nothing was re-encrypted and the old key still opens {file}; run rotate-key as a user who may write the file and its directory (an immutable file needs `chattr -i`)"
                ))
            }
            _ => None,
        }
    }
}

/// Prints the outcome and returns the exit code.
pub(crate) fn emit(outcome: Result<Report, Failure>, format: Format) -> ExitCode {
    let exit = match (&outcome, format) {
        (Ok(report), Format::Text) => {
            print(&report.text);
            report.exit
        }
        (Ok(report), Format::Json) => {
            print(&format!("{}\n", report.json));
            report.exit
        }
        (Err(failure), Format::Text) => {
            let mut text = format!(
                "secrets-cfg {}: {}\n",
                failure.command.as_str(),
                failure.error
            );
            if let Some(hint) = failure.hint() {
                text.push_str(&format!("hint: {hint}\n"));
            }
            let _ = std::io::stderr().write_all(text.as_bytes());
            failure.exit()
        }
        (Err(failure), Format::Json) => {
            let value = json!({
                "command": failure.command.as_str(),
                "file": failure.file,
                "ok": false,
                "error": {
                    "message": failure.error.to_string(),
                    "hint": failure.hint(),
                    "damaged_file": failure.error.is_damaged_file(),
                    "vendor_code": failure.error.vendor_code().map(|c| format!("0x{c:08X}")),
                },
            });
            print(&format!("{value}\n"));
            failure.exit()
        }
    };
    ExitCode::from(exit as u8)
}

/// Writes to stdout; a closed pipe (`secrets-cfg list | head`) is not an
/// error worth a panic.
fn print(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}
