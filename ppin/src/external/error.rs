//! [`ExternalError`]: how a run of the vendor-compatible `ppin` failed.

use std::io;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use hsm_wire::VendorCode;

use super::cluster::Disagreement;
use super::parse::{self, ParseProblem};

/// Why an operation of the external engine failed. Every variant that ran
/// the tool carries the command line (never a password: passwords are typed
/// at its prompts) and the lines it printed, with any password bytes scrubbed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalError {
    /// The tool could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// The pseudo-terminal could not be set up or used.
    #[error("cannot drive `{command}` on a pseudo-terminal: {source}")]
    Terminal {
        /// The command line.
        command: String,
        /// Why.
        source: io::Error,
    },
    /// The SSH connection to the host, or a channel on it, failed: a host key
    /// refused, authentication, a timeout, a dropped connection.
    #[error("{source}")]
    Ssh {
        /// The host, as `host:port`.
        host: String,
        /// Why (names the host, the key and what to do); boxed, as every
        /// error of the crate carries this one and it is large.
        source: Box<primus_ssh::SshError>,
    },
    /// The host lacks what a run needs (the tool, `flock`, a `sudo` rule);
    /// found before any password was sent.
    #[error("{host} is not ready to run ppin: {problem}")]
    HostNotReady {
        /// The host, as `host:port`.
        host: String,
        /// What the host said.
        problem: String,
    },
    /// `.secrets.cfg`, its directory or its key cannot take a new secret;
    /// found before any password was typed.
    #[error("{place} cannot store a new secret: {problem}; nothing was sent to the HSM")]
    NotStorable {
        /// Where `.secrets.cfg` lives: `this machine`, or the host as `host:port`.
        place: String,
        /// What the check found, naming the file and what to do.
        problem: String,
    },
    /// A file on the host (`primus.cfg`) could not be read, replaced or removed.
    #[error("cannot {action} {path} on {host}: {problem}")]
    HostFile {
        /// The host, as `host:port`.
        host: String,
        /// `read`, `replace` or `remove`.
        action: &'static str,
        /// The file on the host.
        path: String,
        /// What the host said.
        problem: String,
    },
    /// An editing run lost its terminal once started (a dropped SSH
    /// connection, a killed session): the tool may have changed
    /// `.secrets.cfg` or not; only reading the file tells.
    #[error("`{command}` was cut off after it started ({source}): it may or may not have changed .secrets.cfg; the next refresh reads what the file holds, and a create that finds its entry adopts it")]
    EditInterrupted {
        /// The command line.
        command: String,
        /// What broke.
        source: io::Error,
    },
    /// The lock beside `.secrets.cfg` that serialises edits could not be taken.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Stopped before any credential was sent; nothing changed.
    #[error("`{command}` was cancelled before any credential was sent; nothing was changed")]
    Cancelled {
        /// The command line.
        command: String,
    },
    /// A prompt the tool documents never came; the tool was killed.
    #[error("`{command}` did not ask {expected:?} within {}s and was killed; it printed: {}", waited.as_secs(), quote(output))]
    NoPrompt {
        /// The command line.
        command: String,
        /// The prompt awaited.
        expected: String,
        /// How long it was awaited.
        waited: Duration,
        /// What the tool printed.
        output: Vec<String>,
    },
    /// The tool did not finish in time; it was killed.
    #[error("`{command}` did not finish within {}s and was killed; it printed: {}", waited.as_secs(), quote(output))]
    Hung {
        /// The command line.
        command: String,
        /// How long it ran.
        waited: Duration,
        /// What the tool printed.
        output: Vec<String>,
    },
    /// The tool exited with a failure status. Not retried.
    #[error(
        "`{command}` failed ({status}{}); it printed: {}",
        code_text(output),
        quote(output)
    )]
    Failed {
        /// The command line.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// What the tool printed.
        output: Vec<String>,
    },
    /// `ppin -t` printed a failed login for the user.
    #[error("`{command}` could not log in as '{user}': {reason}")]
    LoginFailed {
        /// The command line.
        command: String,
        /// The slot user whose login failed.
        user: String,
        /// The tool's reason, from its login line.
        reason: String,
        /// What the tool printed.
        output: Vec<String>,
    },
    /// The tool printed one line per HSM of a redundant cluster (or per HSM
    /// behind a service proxy) and the lines disagree: ppin does not pick one.
    #[error(
        "`{command}` shows {} '{}' with its permanent secret Configured on {} but MISSING on {}; \
         the lines of one {0} must agree, so ppin does not pick one; it printed: {}",
        lines.role,
        lines.name,
        lines.configured_on.join(", "),
        lines.missing_on.join(", "),
        quote(output)
    )]
    Disagree {
        /// The command line.
        command: String,
        /// Whose lines disagree, and where.
        lines: Box<Disagreement>,
        /// What the tool printed.
        output: Vec<String>,
    },
    /// `ppin -t` printed that it could not connect to the HSM.
    #[error("`{command}` could not connect to {hsm}: {reason}")]
    ConnectFailed {
        /// The command line.
        command: String,
        /// The HSM, as the tool names it (`hsm0`).
        hsm: String,
        /// The tool's reason, from its HSM line.
        reason: String,
        /// What the tool printed.
        output: Vec<String>,
    },
    /// The tool succeeded but printed what ppin cannot read with certainty.
    #[error(
        "`{command}` printed output ppin cannot understand ({problem}); it printed: {}",
        quote(output)
    )]
    Unexpected {
        /// The command line.
        command: String,
        /// What is wrong with it.
        problem: ParseProblem,
        /// What the tool printed.
        output: Vec<String>,
    },
}

impl ExternalError {
    /// The lines the tool printed, if it ran.
    pub fn output(&self) -> &[String] {
        match self {
            ExternalError::NoPrompt { output, .. }
            | ExternalError::Hung { output, .. }
            | ExternalError::Failed { output, .. }
            | ExternalError::LoginFailed { output, .. }
            | ExternalError::Disagree { output, .. }
            | ExternalError::ConnectFailed { output, .. }
            | ExternalError::Unexpected { output, .. } => output,
            ExternalError::Spawn { .. }
            | ExternalError::Terminal { .. }
            | ExternalError::Lock { .. }
            | ExternalError::Ssh { .. }
            | ExternalError::HostNotReady { .. }
            | ExternalError::NotStorable { .. }
            | ExternalError::HostFile { .. }
            | ExternalError::EditInterrupted { .. }
            | ExternalError::Cancelled { .. } => &[],
        }
    }

    /// The first vendor code (`0x8000xxxx`) the tool printed, for mapping to
    /// the same diagnostics as the built-in engine.
    /// A failed login's or connection's code is looked for in its own line
    /// only: the run may have printed other failures.
    pub fn vendor_code(&self) -> Option<VendorCode> {
        match self {
            ExternalError::LoginFailed { reason, .. }
            | ExternalError::ConnectFailed { reason, .. } => {
                parse::vendor_code(std::slice::from_ref(reason))
            }
            _ => parse::vendor_code(self.output()),
        }
    }

    /// The exit status, when the tool exited with a failure.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        match self {
            ExternalError::Failed { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn quote(output: &[String]) -> String {
    let shown: Vec<&str> = output
        .iter()
        .map(String::as_str)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if shown.is_empty() {
        "nothing".to_owned()
    } else {
        format!("{:?}", shown.join(" | "))
    }
}

fn code_text(output: &[String]) -> String {
    parse::vendor_code(output)
        .map(|code| format!(", vendor code {code}"))
        .unwrap_or_default()
}
