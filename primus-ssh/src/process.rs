//! Commands on a host: on a pseudo-terminal as a byte stream, or plain with
//! their output collected. Each holds one channel of the host's connection.

use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, Pty, Sig};
use tokio::sync::OwnedSemaphorePermit;

use crate::connect::bounded;
use crate::error::SshError;

/// How a remote command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// It exited with this code.
    Code(u32),
    /// It was killed by this signal, named as SSH names it (`KILL`, `TERM`).
    Signal(String),
}

impl ExitStatus {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        *self == Self::Code(0)
    }
}

/// Whether the remote terminal echoes what is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// The terminal's default: typed input is echoed back.
    On,
    /// The terminal starts with echo off (the `ECHO` mode of the SSH pty
    /// request, set before the command starts), so an answer typed before
    /// the tool turns echo off itself is never echoed either.
    Off,
}

/// What a command without a terminal printed, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Output {
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its standard error.
    pub stderr: Vec<u8>,
    /// How it ended.
    pub status: ExitStatus,
}

/// The end of a command on a terminal: output not yet read, and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finished {
    /// Output that arrived after the last [`PtyProcess::read`].
    pub output: Vec<u8>,
    /// How it ended.
    pub status: ExitStatus,
}

/// One channel, closed when dropped (which ends its command, see
/// [`PtyProcess`]), holding one of the host's session slots until then.
pub(crate) struct OpenChannel {
    channel: Option<Channel<Msg>>,
    _slot: OwnedSemaphorePermit,
    label: String,
    timeout: Duration,
    status: Option<ExitStatus>,
    eof: bool,
    closed: bool,
}

impl OpenChannel {
    pub(crate) fn new(
        channel: Channel<Msg>,
        slot: OwnedSemaphorePermit,
        label: String,
        timeout: Duration,
    ) -> Self {
        Self {
            channel: Some(channel),
            _slot: slot,
            label,
            timeout,
            status: None,
            eof: false,
            closed: false,
        }
    }

    fn channel(&mut self) -> Result<&mut Channel<Msg>, SshError> {
        let label = &self.label;
        self.channel.as_mut().ok_or_else(|| SshError::Protocol {
            host: label.clone(),
            problem: "the channel is already closed".to_owned(),
        })
    }

    /// Sends a request that wants a reply and waits for it, within `timeout`.
    async fn request(
        &mut self,
        what: &'static str,
        send: impl AsyncFnOnce(&Channel<Msg>) -> Result<(), russh::Error>,
    ) -> Result<(), SshError> {
        let (label, timeout) = (self.label.clone(), self.timeout);
        let channel = self.channel()?;
        bounded(&label, what, timeout, send(channel)).await?;
        let reply = bounded(&label, what, timeout, async {
            loop {
                match channel.wait().await {
                    Some(ChannelMsg::Success) => return Ok(true),
                    Some(ChannelMsg::Failure) => return Ok(false),
                    // Only window adjustments can come first: sshd answers a
                    // request before the command it starts can print or end.
                    Some(_) => continue,
                    None => return Err(russh::Error::Disconnect),
                }
            }
        })
        .await?;
        if reply {
            Ok(())
        } else {
            Err(SshError::Protocol {
                host: label,
                problem: format!("the host refused {what}"),
            })
        }
    }

    /// The next message that matters to the caller: data (stream 0 or 1),
    /// or `None` once the channel is closed. Exit status and end of output
    /// are recorded on the way.
    async fn next(&mut self) -> Result<Option<(u32, Vec<u8>)>, SshError> {
        loop {
            if self.closed {
                return Ok(None);
            }
            let message = self.channel()?.wait().await;
            match message {
                Some(ChannelMsg::Data { data }) => return Ok(Some((0, data.to_vec()))),
                Some(ChannelMsg::ExtendedData { data, ext }) => {
                    return Ok(Some((ext, data.to_vec())));
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    self.status = Some(ExitStatus::Code(exit_status));
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    self.status = Some(ExitStatus::Signal(signal_text(&signal_name)));
                }
                Some(ChannelMsg::Eof) => self.eof = true,
                Some(ChannelMsg::Close) => self.closed = true,
                Some(_) => {}
                None if self.status.is_some() => self.closed = true,
                None => {
                    return Err(SshError::ConnectionLost {
                        host: self.label.clone(),
                    })
                }
            }
        }
    }

    /// Reads until the channel closes, within `within`, appending stream 0
    /// to `out` and stream 1 to `err`.
    async fn drain(
        &mut self,
        out: &mut Vec<u8>,
        err: &mut Vec<u8>,
        within: Duration,
    ) -> Result<ExitStatus, SshError> {
        let label = self.label.clone();
        let read_all = async {
            while let Some((stream, bytes)) = self.next().await? {
                if stream == 1 {
                    err.extend_from_slice(&bytes);
                } else {
                    out.extend_from_slice(&bytes);
                }
            }
            Ok::<_, SshError>(())
        };
        match tokio::time::timeout(within, read_all).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(SshError::Timeout {
                    host: label,
                    during: "waiting for the command to end",
                    after: within,
                })
            }
        }
        self.status.clone().ok_or(SshError::Protocol {
            host: label,
            problem: "the command ended without an exit status".to_owned(),
        })
    }
}

impl Drop for OpenChannel {
    fn drop(&mut self) {
        let Some(channel) = self.channel.take() else {
            return;
        };
        if self.closed {
            return;
        }
        // Drop cannot wait: the close is sent from a task. Outside a runtime
        // the connection is being torn down anyway, which ends the channel.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = channel.close().await;
            });
        }
    }
}

fn signal_text(signal: &Sig) -> String {
    match signal {
        Sig::Custom(name) => name.clone(),
        named => format!("{named:?}"),
    }
}

/// Runs `command` without a terminal, writes `input` to it, and collects its
/// output, all within `within`.
pub(crate) async fn run(
    mut channel: OpenChannel,
    command: &str,
    input: &[u8],
    within: Duration,
) -> Result<Output, SshError> {
    channel
        .request("running a command", async |c| {
            c.exec(true, command.as_bytes()).await
        })
        .await?;
    let (label, timeout) = (channel.label.clone(), channel.timeout);
    let open = channel.channel()?;
    if !input.is_empty() {
        bounded(&label, "sending input", timeout, open.data(input)).await?;
    }
    bounded(&label, "sending input", timeout, open.eof()).await?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let status = channel.drain(&mut stdout, &mut stderr, within).await?;
    Ok(Output {
        stdout,
        stderr,
        status,
    })
}

/// The shell text that runs `command` so that closing the channel ends it
/// and everything it started.
///
/// Closing a pty channel makes sshd close the terminal. The kernel then
/// sends SIGHUP to the session leader only, which is the command: one that
/// ignores SIGHUP, and its children, would live on. So a watcher is started
/// first, in the command's process group, holding the terminal as fd 3: once
/// fd 3 is no longer a terminal (hung up) or the command is gone, or on
/// SIGHUP (which it also gets when the command, the session leader, exits),
/// it SIGKILLs the whole group, itself included. It checks once a second.
/// `exec` makes the command the process whose exit status or signal sshd
/// reports. (fd 3 is copied before the watcher starts because a background
/// job's stdin is /dev/null before its own redirections apply.)
fn pty_script(command: &str) -> String {
    let alive = still_running("$$");
    let watcher = format!(
        "(trap 'kill -KILL 0' HUP; \
         while [ -t 3 ] && {alive}; do sleep 1; done; kill -KILL 0) \
         </dev/null >/dev/null 2>&1 &"
    );
    let script = format!("exec 3<&0; {watcher} exec {command} 3<&-");
    format!("exec /bin/sh -c {}", crate::quote(&script))
}

/// A shell condition true while the process `pid` exists, whoever owns it.
///
/// `kill -0` alone is not enough: it fails with EPERM, not only ESRCH, for
/// a process the caller may not signal, and `sudo` takes root as its real
/// user ID for a few milliseconds at a time while it starts. A watcher that
/// looked then took `sudo -n ppin …` for gone and killed it (seen once in
/// CI as a `ppin -l` ended by SIGKILL). `/proc` tells the two apart on
/// Linux; elsewhere `kill -0` decides, as before.
fn still_running(pid: &str) -> String {
    format!("{{ kill -0 {pid} || [ -d /proc/{pid} ]; }} 2>/dev/null")
}

/// A command running on a host's pseudo-terminal: its output is read, its
/// input written, its end awaited. Closing it, or dropping it, closes the
/// channel, which kills the command and every process it started (even one
/// that ignores SIGHUP).
pub struct PtyProcess {
    channel: OpenChannel,
}

impl std::fmt::Debug for PtyProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtyProcess")
            .field("host", &self.channel.label)
            .finish_non_exhaustive()
    }
}

impl PtyProcess {
    pub(crate) async fn start(
        mut channel: OpenChannel,
        command: &str,
        echo: Echo,
    ) -> Result<Self, SshError> {
        let modes: &[(Pty, u32)] = match echo {
            Echo::On => &[],
            Echo::Off => &[(Pty::ECHO, 0)],
        };
        // TERM=dumb: tools print plain text, no colours or cursor movement.
        channel
            .request("opening a terminal", async |c| {
                c.request_pty(true, "dumb", 80, 24, 0, 0, modes).await
            })
            .await?;
        let script = pty_script(command);
        channel
            .request("starting the command", async |c| {
                c.exec(true, script.as_bytes()).await
            })
            .await?;
        Ok(Self { channel })
    }

    /// The next output the command printed, waiting at most `within`;
    /// `None` once its output has ended.
    pub async fn read(&mut self, within: Duration) -> Result<Option<Vec<u8>>, SshError> {
        let label = self.channel.label.clone();
        let channel = &mut self.channel;
        let next = async {
            if channel.eof {
                return Ok(None);
            }
            Ok(channel.next().await?.map(|(_, bytes)| bytes))
        };
        tokio::time::timeout(within, next)
            .await
            .unwrap_or(Err(SshError::Timeout {
                host: label,
                during: "waiting for the command's output",
                after: within,
            }))
    }

    /// Types `bytes` into the terminal, within the connection's `timeout`.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), SshError> {
        let (label, timeout) = (self.channel.label.clone(), self.channel.timeout);
        let channel = self.channel.channel()?;
        bounded(&label, "sending input", timeout, channel.data(bytes)).await
    }

    /// Waits at most `within` for the command to end; returns the output
    /// not read yet and how it ended.
    pub async fn wait(mut self, within: Duration) -> Result<Finished, SshError> {
        let mut output = Vec::new();
        let mut unused = Vec::new();
        let status = self.channel.drain(&mut output, &mut unused, within).await?;
        output.extend(unused);
        Ok(Finished { output, status })
    }

    /// Closes the channel now, ending the command and its children.
    pub async fn close(mut self) -> Result<(), SshError> {
        let (label, timeout) = (self.channel.label.clone(), self.channel.timeout);
        if let Some(channel) = self.channel.channel.take() {
            bounded(&label, "closing the channel", timeout, channel.close()).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::still_running;

    /// `sh -c script` as a user that may not signal root's processes: as
    /// itself when it is not root, else as `nobody` through `setpriv`.
    fn unprivileged_sh(script: &str) -> Command {
        let uid = Command::new("id").arg("-u").output().expect("`id -u` runs");
        let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        let mut command = Command::new(if root { "setpriv" } else { "sh" });
        if root {
            command.args(["--reuid=65534", "--regid=65534", "--clear-groups", "sh"]);
        }
        command.args(["-c", script]);
        command
    }

    /// The condition's verdict: the shell exits with its status.
    fn judged_running(pid: &str) -> bool {
        let status = unprivileged_sh(&still_running(pid))
            .status()
            .expect("sh runs");
        assert!(status.code().is_some(), "sh was killed: {status}");
        status.success()
    }

    #[test]
    fn a_process_the_watcher_may_not_signal_is_still_running() {
        let denied = unprivileged_sh("kill -0 1 2>/dev/null")
            .status()
            .expect("sh runs");
        assert!(!denied.success(), "kill -0 on init must be refused here");
        assert!(judged_running("1"));
    }

    #[test]
    fn a_process_that_ended_is_not_running() {
        let mut child = Command::new("true").spawn().expect("true runs");
        let pid = child.id().to_string();
        child.wait().expect("true is reaped");
        assert!(!judged_running(&pid));
        assert!(judged_running(&std::process::id().to_string()));
    }
}
