//! [`LocalTool`]: the tool as a child process of this one, on a
//! pseudo-terminal of this machine, with an environment of its own.

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
///
/// The tool does not inherit this process's environment, which under
/// Terraform holds the plugin handshake's variables (`PLUGIN_CLIENT_CERT`
/// among them) and whatever else Terraform was started with. It gets only:
/// - `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `TZ`, `TMPDIR` and every
///   `LC_*` and `SECUROSYS_*` variable (the vendor's `SECUROSYS_PKCS11_CONF`,
///   `SECUROSYS_SECRETS_CONF`, `SECUROSYS_SECRETS_KEY`, ...), when set here;
/// - the variables named, comma-separated, in `PRIMUS_PPIN_ENV` (e.g.
///   `PRIMUS_PPIN_ENV="HTTPS_PROXY,SITE_LOG_DIR"`), for whatever else a
///   site's tool or a wrapper around it needs;
/// - `TERM=dumb`, whatever this process has: the tool's output is read, not
///   shown, so it must not colour or position it.
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
            .env_clear()
            .envs(tool_environment(std::env::vars_os()))
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

/// The variable naming, comma-separated, the variables of this process that
/// the tool gets besides the documented set (see [`LocalTool`]).
const PPIN_ENV: &str = "PRIMUS_PPIN_ENV";

/// Variables the tool gets when this process has them.
const PASSED: [&str; 7] = ["PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"];

/// Families of variables the tool gets: the locale's and the vendor's.
const PASSED_PREFIXES: [&str; 2] = ["LC_", "SECUROSYS_"];

/// What the tool's terminal claims to be, whatever this process's says: one
/// that does nothing but print.
const TERM: (&str, &str) = ("TERM", "dumb");

/// The tool's environment, chosen from `vars` (this process's): the
/// documented set, the names listed in [`PPIN_ENV`], and [`TERM`].
fn tool_environment(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<(OsString, OsString)> {
    let vars: Vec<(OsString, OsString)> = vars.into_iter().collect();
    let extra: Vec<String> = vars
        .iter()
        .find(|(name, _)| name == PPIN_ENV)
        .map(|(_, list)| {
            list.to_string_lossy()
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let passed = |name: &str| {
        name != TERM.0
            && (PASSED.contains(&name)
                || PASSED_PREFIXES.iter().any(|p| name.starts_with(p))
                || extra.iter().any(|e| e == name))
    };
    vars.into_iter()
        .filter(|(name, _)| name.to_str().is_some_and(passed))
        .chain(std::iter::once((TERM.0.into(), TERM.1.into())))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        let vars = vars
            .iter()
            .map(|(n, v)| (OsString::from(n), OsString::from(v)));
        tool_environment(vars)
            .into_iter()
            .map(|(n, v)| (n.into_string().unwrap(), v.into_string().unwrap()))
            .collect()
    }

    #[test]
    fn the_tool_gets_the_documented_set_the_listed_names_and_a_dumb_terminal() {
        let chosen = names(&[
            ("PATH", "/usr/bin"),
            ("PLUGIN_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
            ("TF_PLUGIN_MAGIC_COOKIE", "d602"),
            ("LC_ALL", "C.UTF-8"),
            ("SECUROSYS_SECRETS_CONF", "/etc/primus/.secrets.cfg"),
            ("TERM", "xterm-256color"),
            ("PRIMUS_PPIN_ENV", " SITE_A ,,SITE_B"),
            ("SITE_A", "a"),
            ("SITE_B", "b"),
            ("SITE_C", "c"),
        ]);
        let expected = [
            ("PATH", "/usr/bin"),
            ("LC_ALL", "C.UTF-8"),
            ("SECUROSYS_SECRETS_CONF", "/etc/primus/.secrets.cfg"),
            ("SITE_A", "a"),
            ("SITE_B", "b"),
            ("TERM", "dumb"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(chosen, expected);
    }

    #[test]
    fn listing_term_does_not_change_the_terminal() {
        let chosen = names(&[("PRIMUS_PPIN_ENV", "TERM"), ("TERM", "xterm")]);
        assert_eq!(chosen, [("TERM".to_owned(), "dumb".to_owned())]);
    }
}
