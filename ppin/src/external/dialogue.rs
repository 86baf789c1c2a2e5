//! The tool dialogue: one run of the tool, answered as a person would.
//! Wait for the documented prompt, wait for echo to go off, type the
//! password and Enter; then read what the tool prints to the end. Every
//! wait is bounded; a run that overstays is killed. Where the run happens
//! is the [`Terminal`]'s business.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use secrets_cfg::Password;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::ExternalError;
use super::parse::{self, ParseProblem, Report};
use super::transport::Terminal;
use crate::model::SetupCredentials;

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
#[derive(Debug)]
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) lines: Vec<String>,
}

/// The run being driven: its terminal and what it printed so far.
struct Session<'a> {
    command: &'a str,
    terminal: Box<dyn Terminal>,
    output: Vec<u8>,
    passwords: Vec<&'a Password>,
}

/// Drives the run on `terminal` (started as `command`), answering `answers`
/// in order. `cancel` aborts only until the first password is typed.
pub(crate) async fn converse(
    terminal: Box<dyn Terminal>,
    command: &str,
    answers: &[Answer<'_>],
    limits: Limits,
    cancel: &CancellationToken,
) -> Result<Finished, ExternalError> {
    let failed = |source: io::Error| ExternalError::Terminal {
        command: command.to_owned(),
        source,
    };
    let mut session = Session {
        command,
        terminal,
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
        let written = session.terminal.write_all(&typed).await;
        zeroize::Zeroize::zeroize(&mut typed);
        written.map_err(failed)?;
    }
    session.finish(end, limits.run).await
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
                read = tokio::time::timeout_at(deadline, self.terminal.read(&mut chunk)) => match read {
                    Ok(Ok(n @ 1..)) => self.output.extend_from_slice(&chunk[..n]),
                    // End of output (or a terminal that can no longer be
                    // read): it exited without asking.
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
            let echoes = self
                .terminal
                .echoes()
                .map_err(|source| ExternalError::Terminal {
                    command: self.command.to_owned(),
                    source,
                })?;
            if !echoes {
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
            while let Ok(n @ 1..) = self.terminal.read(&mut chunk).await {
                self.output.extend_from_slice(&chunk[..n]);
            }
            self.terminal.wait().await
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
        match self.terminal.wait().await {
            Ok(status) if !status.success() => ExternalError::Failed {
                command: self.command.to_owned(),
                status,
                output: self.lines(),
            },
            _ => ExternalError::Unexpected {
                command: self.command.to_owned(),
                problem: ParseProblem::MissingLine(format!("{prompt:?} (no prompt)")),
                output: self.lines(),
            },
        }
    }

    async fn kill(&mut self) {
        self.terminal.kill().await;
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

/// The prompts of `ppin -a`/`-u -e USER`, with the passwords typed at them.
pub(crate) fn setup_answers<'a>(user: &str, credentials: &'a SetupCredentials) -> [Answer<'a>; 2] {
    [
        Answer {
            prompt: format!("Provide setup password for '{user}': "),
            password: &credentials.setup_password,
        },
        Answer {
            prompt: format!("Provide PKCS11 password for '{user}': "),
            password: &credentials.pkcs11_password,
        },
    ]
}

/// The prompt of `ppin -p -e PROXY` (the vendor's has a space before the colon).
pub(crate) fn proxy_answer<'a>(proxy_user: &str, password: &'a Password) -> Answer<'a> {
    Answer {
        prompt: format!("Provide proxy password for '{proxy_user}' : "),
        password,
    }
}

/// Parses a run's lines; a run that prompted must show the banner before
/// its prompts and again after them, any run at least once.
pub(crate) fn understand(
    command: &str,
    lines: &[String],
    prompted: Option<usize>,
) -> Result<Report, ExternalError> {
    let unexpected = |problem| ExternalError::Unexpected {
        command: command.to_owned(),
        problem,
        output: lines.to_vec(),
    };
    let report = parse::parse(lines).map_err(unexpected)?;
    match prompted {
        Some(1..) if !report.banner_before_prompts => {
            Err(unexpected(ParseProblem::NoBanner("before the prompts")))
        }
        Some(1..) if !report.banner_after_prompts => {
            Err(unexpected(ParseProblem::NoBanner("after the prompts")))
        }
        _ if report.banners == 0 => Err(unexpected(ParseProblem::NoBanner("from the output"))),
        _ => Ok(report),
    }
}

/// The version line `ppin -v` prints (`Primus HSM PKCS#11 2.2.4`): its
/// first line that is neither blank nor the banner.
pub(crate) fn version_line(command: &str, lines: &[String]) -> Result<String, ExternalError> {
    lines
        .iter()
        .map(|line| line.trim())
        .find(|line| !line.is_empty() && !parse::is_banner_line(line))
        .map(str::to_owned)
        .ok_or_else(|| ExternalError::Unexpected {
            command: command.to_owned(),
            problem: ParseProblem::MissingLine("with the version".to_owned()),
            output: lines.to_vec(),
        })
}

/// A run that exited with a failure status.
pub(crate) fn failure(command: String, finished: Finished) -> ExternalError {
    ExternalError::Failed {
        command,
        status: finished.status,
        output: finished.lines,
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
mod tests;
