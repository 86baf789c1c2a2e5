//! [`LocalTool`]: the tool as a child process of this one, on a
//! pseudo-terminal of this machine.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use primus_core::FileStamp;
use rustix::process::{kill_process_group, Pid, Signal};
use rustix::termios::{tcgetattr, LocalModes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::lock::{self, Held};
use super::{store_check, Access, Terminal, Transport};
use crate::external::ExternalError;

/// A vendor-compatible `ppin` at a path on this machine, editing the
/// `.secrets.cfg` at `secrets_file` (its lock file sits beside it).
#[derive(Debug, Clone)]
pub struct LocalTool {
    program: PathBuf,
    secrets_file: PathBuf,
}

impl LocalTool {
    /// The tool at `program`, which edits `secrets_file`.
    pub fn new(program: impl Into<PathBuf>, secrets_file: impl Into<PathBuf>) -> Self {
        LocalTool {
            program: program.into(),
            secrets_file: secrets_file.into(),
        }
    }
}

#[async_trait::async_trait]
impl Transport for LocalTool {
    async fn start(
        &self,
        args: &[OsString],
        access: Access,
        cancel: &CancellationToken,
    ) -> Result<Box<dyn Terminal>, ExternalError> {
        let command = self.command_line(args);
        let lock = lock::acquire(&self.secrets_file, access, cancel, &command).await?;
        // Not started yet, so nothing was sent: a stop now changes nothing.
        if cancel.is_cancelled() {
            return Err(ExternalError::Cancelled { command });
        }
        let (pty, pts) = pty_process::open().map_err(|e| ExternalError::Terminal {
            command: command.clone(),
            source: pty_error(e),
        })?;
        let child = pty_process::Command::new(&self.program)
            .args(args)
            .kill_on_drop(true)
            .spawn(pts)
            .map_err(|e| ExternalError::Spawn {
                command,
                source: pty_error(e),
            })?;
        Ok(Box::new(LocalTerminal {
            pty,
            child,
            _lock: lock,
        }))
    }

    fn command_line(&self, args: &[OsString]) -> String {
        command_line(&self.program, args)
    }

    async fn secrets_stamp(&self) -> io::Result<Option<FileStamp>> {
        FileStamp::at(&self.secrets_file)
    }

    fn secrets_file(&self) -> &Path {
        &self.secrets_file
    }

    async fn check_storable(&self) -> Result<(), ExternalError> {
        let place = "this machine".to_owned();
        let script = store_check::script(&self.secrets_file.to_string_lossy());
        let output = tokio::process::Command::new("sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| ExternalError::NotStorable {
                place: place.clone(),
                problem: format!("the check could not run ({e})"),
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(ExternalError::NotStorable {
            place,
            problem: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// The run: the terminal, the child, and the lock held until both are gone.
struct LocalTerminal {
    pty: pty_process::Pty,
    child: tokio::process::Child,
    _lock: Held,
}

#[async_trait::async_trait]
impl Terminal for LocalTerminal {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.pty.read(buf).await
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.pty.write_all(bytes).await
    }

    fn echoes(&self) -> io::Result<bool> {
        let modes = tcgetattr(&self.pty)?;
        Ok(modes.local_modes.contains(LocalModes::ECHO))
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The tool is the leader of its own session and process group (it got
    /// the terminal with `setsid`), so the group's kill also ends what it
    /// started, a grandchild that ignores SIGHUP among them.
    async fn kill(&mut self) {
        self.kill_group();
        // Already gone is fine: either way it runs no more.
        let _ = self.child.kill().await;
    }
}

impl LocalTerminal {
    /// SIGKILL to the tool's process group, unless the tool was reaped.
    fn kill_group(&self) {
        let Some(pid) = self
            .child
            .id()
            .and_then(|id| Pid::from_raw(id.cast_signed()))
        else {
            return;
        };
        // A group already gone has nothing left to end.
        let _ = kill_process_group(pid, Signal::KILL);
    }
}

/// A run dropped mid-way (its operation was cancelled or timed out) ends
/// with everything it started.
impl Drop for LocalTerminal {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// `program args...`, as errors show it.
fn command_line(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn pty_error(error: pty_process::Error) -> io::Error {
    match error {
        pty_process::Error::Io(error) => error,
        other => io::Error::other(other.to_string()),
    }
}
