//! One run of the tool on a pseudo-terminal, answering its prompts as a
//! person would: wait for the prompt, wait for echo to go off, type the
//! password and Enter. Every wait is bounded; a run that overstays is killed.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use rustix::termios::{tcgetattr, LocalModes};
use secrets_cfg::Password;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::ExternalError;
use super::parse;

/// How often the terminal's echo flag is looked at after a prompt.
const ECHO_POLL: Duration = Duration::from_millis(5);

/// What the scrubbed output shows where a password's bytes were.
const SCRUBBED: &[u8] = b"[redacted]";

/// A prompt to wait for and the password to type at it.
pub(crate) struct Answer<'a> {
    pub(crate) prompt: String,
    pub(crate) password: &'a Password,
}

/// Limits of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// For each prompt (and for echo to go off after it).
    pub(crate) prompt: Duration,
    /// For the whole run.
    pub(crate) run: Duration,
}

/// A run that exited.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) lines: Vec<String>,
}

/// The run being driven: the terminal, the child and what it printed so far.
struct Session<'a> {
    command: &'a str,
    pty: pty_process::Pty,
    child: tokio::process::Child,
    output: Vec<u8>,
    passwords: Vec<&'a Password>,
}

/// Runs `program args`, answering `answers` in order. `cancel` aborts only
/// until the first password is typed.
pub(crate) async fn run(
    program: &Path,
    args: &[OsString],
    command: &str,
    answers: &[Answer<'_>],
    limits: Limits,
    cancel: &CancellationToken,
) -> Result<Finished, ExternalError> {
    let terminal = |source: io::Error| ExternalError::Terminal {
        command: command.to_owned(),
        source,
    };
    let (pty, pts) = pty_process::open().map_err(|e| terminal(pty_error(e)))?;
    let child = pty_process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .spawn(pts)
        .map_err(|e| ExternalError::Spawn {
            command: command.to_owned(),
            source: pty_error(e),
        })?;
    let mut session = Session {
        command,
        pty,
        child,
        output: Vec::new(),
        passwords: answers.iter().map(|a| a.password).collect(),
    };
    let end = Instant::now() + limits.run;
    let mut seen = 0;
    for (index, answer) in answers.iter().enumerate() {
        let before_credentials = (index == 0).then_some(cancel);
        seen = session
            .await_prompt(&answer.prompt, seen, limits, before_credentials)
            .await?;
        session.await_echo_off(&answer.prompt, limits).await?;
        let mut typed = answer.password.expose_secret().as_bytes().to_vec();
        typed.push(b'\n');
        let written = session.pty.write_all(&typed).await;
        zeroize::Zeroize::zeroize(&mut typed);
        written.map_err(terminal)?;
    }
    session.finish(end, limits.run).await
}

fn pty_error(error: pty_process::Error) -> io::Error {
    match error {
        pty_process::Error::Io(error) => error,
        other => io::Error::other(other.to_string()),
    }
}

impl Session<'_> {
    /// Reads until `prompt` shows after byte `seen`; returns the new `seen`.
    async fn await_prompt(
        &mut self,
        prompt: &str,
        seen: usize,
        limits: Limits,
        cancel: Option<&CancellationToken>,
    ) -> Result<usize, ExternalError> {
        let deadline = Instant::now() + limits.prompt;
        loop {
            if let Some(at) = find(&self.output[seen..], prompt.as_bytes()) {
                return Ok(seen + at + prompt.len());
            }
            let never = CancellationToken::new();
            let cancel = cancel.unwrap_or(&never);
            let mut chunk = [0u8; 4096];
            tokio::select! {
                () = cancel.cancelled() => {
                    self.kill().await;
                    return Err(ExternalError::Cancelled { command: self.command.to_owned() });
                }
                read = tokio::time::timeout_at(deadline, self.pty.read(&mut chunk)) => match read {
                    Ok(Ok(n @ 1..)) => self.output.extend_from_slice(&chunk[..n]),
                    // End of output (EIO once the child closed the terminal):
                    // it exited without asking.
                    Ok(_) => return Err(self.ended_without(prompt).await),
                    Err(_) => {
                        self.kill().await;
                        return Err(ExternalError::NoPrompt {
                            command: self.command.to_owned(),
                            expected: prompt.to_owned(),
                            waited: limits.prompt,
                            output: self.lines(),
                        });
                    }
                },
            }
        }
    }

    /// A password is typed only once the tool has turned echo off.
    async fn await_echo_off(&mut self, prompt: &str, limits: Limits) -> Result<(), ExternalError> {
        let deadline = Instant::now() + limits.prompt;
        loop {
            let modes = tcgetattr(&self.pty).map_err(|errno| ExternalError::Terminal {
                command: self.command.to_owned(),
                source: errno.into(),
            })?;
            if !modes.local_modes.contains(LocalModes::ECHO) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill().await;
                return Err(ExternalError::NoPrompt {
                    command: self.command.to_owned(),
                    expected: format!("{prompt}(with echo off)"),
                    waited: limits.prompt,
                    output: self.lines(),
                });
            }
            tokio::time::sleep(ECHO_POLL).await;
        }
    }

    /// Reads to the end and waits for the exit, until `end`.
    async fn finish(mut self, end: Instant, waited: Duration) -> Result<Finished, ExternalError> {
        let drained = tokio::time::timeout_at(end, async {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = self.pty.read(&mut chunk).await {
                self.output.extend_from_slice(&chunk[..n]);
            }
            self.child.wait().await
        })
        .await;
        match drained {
            Ok(Ok(status)) => Ok(Finished {
                status,
                lines: self.lines(),
            }),
            Ok(Err(source)) => Err(ExternalError::Terminal {
                command: self.command.to_owned(),
                source,
            }),
            Err(_) => {
                self.kill().await;
                Err(ExternalError::Hung {
                    command: self.command.to_owned(),
                    waited,
                    output: self.lines(),
                })
            }
        }
    }

    async fn ended_without(&mut self, prompt: &str) -> ExternalError {
        match self.child.wait().await {
            Ok(status) if !status.success() => ExternalError::Failed {
                command: self.command.to_owned(),
                status,
                output: self.lines(),
            },
            _ => ExternalError::Unexpected {
                command: self.command.to_owned(),
                problem: parse::ParseProblem::MissingLine(format!("{prompt:?} (no prompt)")),
                output: self.lines(),
            },
        }
    }

    async fn kill(&mut self) {
        // Already gone is fine: either way it runs no more.
        let _ = self.child.kill().await;
    }

    /// The output as lines, every password's bytes replaced (they are typed
    /// at no-echo prompts, so this only matters if a tool echoes them).
    fn lines(&self) -> Vec<String> {
        let mut bytes = self.output.clone();
        for password in &self.passwords {
            bytes = scrub(&bytes, password.expose_secret().as_bytes());
        }
        parse::lines(&bytes)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `bytes` with every occurrence of `secret` replaced.
fn scrub(bytes: &[u8], secret: &[u8]) -> Vec<u8> {
    if secret.is_empty() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = find(rest, secret) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(SCRUBBED);
        rest = &rest[at + secret.len()..];
    }
    out.extend_from_slice(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_replaces_every_occurrence() {
        assert_eq!(scrub(b"aXYZbXYZ", b"XYZ"), b"a[redacted]b[redacted]");
        assert_eq!(scrub(b"abc", b""), b"abc");
    }
}
