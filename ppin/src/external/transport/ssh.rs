//! [`SshTool`]: the tool on another host, run over one SSH connection per
//! host (see the `primus-ssh` crate: verified host keys, bounded waits).
//!
//! Every run is one channel with a pseudo-terminal whose echo is off from
//! the start: the host's terminal modes cannot be read from here, so the
//! dialogue never types where an echo could happen. The edit lock is the
//! host's own `flock` on the file beside the host's `.secrets.cfg`, so runs
//! from this process, other processes and people on the host exclude each
//! other alike. Closing the channel ends the tool and every process it
//! started on the host.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use primus_core::FileStamp;
use primus_ssh::{quote, Echo, Host, PtyProcess};
use tokio_util::sync::CancellationToken;

use super::{store_check, Access, Terminal, Transport};
use crate::config::HostConfigFiles;
use crate::external::ExternalError;

/// How long one read or the final wait may block: the dialogue bounds every
/// wait itself, more tightly; this only keeps the channel from outliving it.
const CHANNEL_WAIT: Duration = Duration::from_secs(3600);

/// Whether the tool runs as the SSH user or through `sudo -n` (never a
/// password prompt: a missing sudoers rule fails at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunAs {
    /// As the SSH user.
    SshUser,
    /// As root, through `sudo -n`.
    Sudo,
}

/// A vendor-compatible `ppin` at a path on an SSH host, and the host's
/// files it reads (`primus.cfg`), which are read and replaced over the same
/// connection as the user the tool runs as.
#[derive(Debug)]
pub struct SshTool {
    host: Host,
    /// The host as errors name it (`app1.example:22`).
    name: String,
    program: String,
    run_as: RunAs,
    /// The host's `.secrets.cfg`, located there the vendor's way as the
    /// tool will see it (with `sudo`, root's environment).
    secrets_file: PathBuf,
    /// The host's `primus.cfg`, located the same way.
    config_file: PathBuf,
    /// Bound on each short command (probe, check, file read or write).
    within: Duration,
    /// What `primus.cfg` and the files it includes held when the probe
    /// looked (`None`: no file).
    config_at_connect: Option<HostConfigFiles>,
    /// When the probe looked and found no `.secrets.cfg` (`None`: it found one).
    secrets_file_absent_at: Option<Instant>,
    /// When the store check last passed.
    storable_since: std::sync::Mutex<Option<Instant>>,
}

/// How long a passed store check stands for the runs that follow: each
/// run would otherwise cost the host one more session. It guards against a
/// host that was never ready, not against a change within seconds (a
/// change between any check and the tool's write could not be caught).
const CHECK_HOLDS: Duration = Duration::from_secs(10);

/// Where the tool will find its files on the host: the paths given, else
/// the vendor's lookup as the tool will make it there.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostPaths<'a> {
    /// `primus.cfg` on the host (the tool's `-c`).
    pub config_file: Option<&'a str>,
    /// `.secrets.cfg` on the host (the tool's `-s`).
    pub secrets_file: Option<&'a str>,
}

/// Exit status of a read script when the file does not exist.
const NO_SUCH_FILE: u32 = 4;

impl SshTool {
    /// The tool at `program` on `host`, named `name` in errors. Looks on the
    /// host, once, for what every run needs: the program, `flock`, `sudo -n`
    /// if asked for, and where `primus.cfg` and `.secrets.cfg` are. Each
    /// command it runs on the host is bounded by `within`. Sends no password.
    pub async fn connect(
        host: Host,
        name: impl Into<String>,
        program: impl Into<String>,
        paths: HostPaths<'_>,
        run_as: RunAs,
        within: Duration,
    ) -> Result<Self, ExternalError> {
        let name = name.into();
        let program = program.into();
        // Where the files are, whether .secrets.cfg exists and can take a
        // secret and what primus.cfg holds, in one round trip:
        // `S\0C\0y|n\0ok|no\0` and then `y` and the text of primus.cfg, or `n`.
        let locate = |variable: &str, given: Option<&str>, env: &str, defaults: [&str; 2]| {
            match given {
                Some(path) => format!("{variable}={}", quote(path)),
                None => format!(
                    "if [ -n \"${{{env}:-}}\" ]; then {variable}=\"${env}\"; elif [ -e {first} ]; then {variable}={first}; elif [ -e {second} ]; then {variable}={second}; else {variable}={first}; fi",
                    first = defaults[0],
                    second = defaults[1],
                ),
            }
        };
        let probe = format!(
            "[ -x {p} ] || {{ echo {missing} >&2; exit 1; }}
command -v flock >/dev/null || {{ echo 'flock(1) is not installed on this host; install util-linux' >&2; exit 1; }}
{secrets}
{config}
printf '%s\\0%s\\0' \"$s\" \"$c\"
if [ -e \"$s\" ] || [ -L \"$s\" ]; then printf 'y\\0'; else printf 'n\\0'; fi
if ( {check} ) 2>/dev/null; then printf 'ok\\0'; else printf 'no\\0'; fi
if [ -e \"$c\" ]; then printf y; exec cat -- \"$c\"; else printf n; fi",
            p = quote(&program),
            missing = quote(&format!("{program} is not an executable file on this host; install the vendor's ppin there or set ppin_command")),
            secrets = locate("s", paths.secrets_file, secrets_cfg::SECRETS_CFG_ENV, secrets_cfg::SECRETS_CFG_DEFAULT_PATHS),
            config = locate("c", paths.config_file, crate::config::PRIMUS_CFG_ENV, crate::config::PRIMUS_CFG_DEFAULT_PATHS),
            check = store_check::checks(),
        );
        let output = run_checked(&host, &name, &wrap(run_as, &probe), within).await?;
        let unreadable = || ExternalError::HostNotReady {
            host: name.clone(),
            problem: "the shell did not print where .secrets.cfg and primus.cfg are".to_owned(),
        };
        let mut fields = output.splitn(5, |b| *b == 0);
        let (
            Some(secrets_file),
            Some(config_file),
            Some(secrets_file_exists),
            Some(storable),
            Some(config_text),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(unreadable());
        };
        let secrets_file_absent_at = match secrets_file_exists {
            b"y" => None,
            b"n" => Some(Instant::now()),
            _ => return Err(unreadable()),
        };
        let config_text = match config_text.split_first() {
            Some((b'y', text)) => Some(text.to_vec()),
            Some((b'n', _)) => None,
            _ => return Err(unreadable()),
        };
        let mut tool = SshTool {
            secrets_file: PathBuf::from(String::from_utf8_lossy(secrets_file).into_owned()),
            config_file: PathBuf::from(String::from_utf8_lossy(config_file).into_owned()),
            config_at_connect: None,
            secrets_file_absent_at,
            storable_since: std::sync::Mutex::new(None),
            host,
            name,
            program,
            run_as,
            within,
        };
        if storable == b"ok" {
            tool.found_storable();
        }
        if let Some(text) = config_text {
            tool.config_at_connect = Some(tool.with_included(text).await?);
        }
        Ok(tool)
    }

    /// What `primus.cfg` held when [`connect`](Self::connect) looked
    /// (`None`: no file), read in the same round trip, with the files it
    /// includes.
    pub(crate) fn config_at_connect(&self) -> Option<&HostConfigFiles> {
        self.config_at_connect.as_ref()
    }

    /// `primus.cfg` on the host now, with the files it includes (`None`: no file).
    pub(crate) async fn read_config(&self) -> Result<Option<HostConfigFiles>, ExternalError> {
        match self.read_file(&self.config_file).await? {
            Some(text) => Ok(Some(self.with_included(text).await?)),
            None => Ok(None),
        }
    }

    /// `text`, the host's `primus.cfg`, with every file it `@include`s read
    /// on the host too (one round trip each; none for a file without any).
    async fn with_included(&self, text: Vec<u8>) -> Result<HostConfigFiles, ExternalError> {
        HostConfigFiles::fetch(&self.config_file, text, |path| async move {
            self.read_file(&path).await
        })
        .await
    }

    /// When [`connect`](Self::connect) found no `.secrets.cfg` on the host
    /// (`None`: it found one): until the tool edits, the host holds no entry.
    pub(crate) fn secrets_file_absent_at_connect(&self) -> Option<Instant> {
        self.secrets_file_absent_at
    }

    /// Records that the store check passed now.
    fn found_storable(&self) {
        *self
            .storable_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
    }

    /// Whether the store check passed within [`CHECK_HOLDS`].
    fn recently_storable(&self) -> bool {
        self.storable_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < CHECK_HOLDS)
    }

    /// The host as errors name it, `address:port`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `primus.cfg` on the host that the tool reads.
    pub fn config_file(&self) -> &Path {
        &self.config_file
    }

    /// The text of `path` on the host; `None` when there is no such file.
    pub async fn read_file(&self, path: &Path) -> Result<Option<Vec<u8>>, ExternalError> {
        let shown = path.to_string_lossy();
        let script = format!(
            "[ -e {p} ] || exit {NO_SUCH_FILE}; exec cat -- {p}",
            p = quote(&shown)
        );
        let output = self.run_as_tool(&script, b"").await?;
        match output.status {
            primus_ssh::ExitStatus::Code(0) => Ok(Some(output.stdout)),
            primus_ssh::ExitStatus::Code(NO_SUCH_FILE) => Ok(None),
            _ => Err(self.file_error("read", &shown, &output.stderr)),
        }
    }

    /// Replaces (or creates) `path` on the host with `contents`, durably as
    /// this machine's files are: a temporary file in the same directory,
    /// written, given `mode` (and the group of the file it replaces), synced,
    /// renamed over `path`, then the directory synced. A failure leaves the
    /// old file and no temporary file.
    pub async fn replace_file(
        &self,
        path: &Path,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), ExternalError> {
        let shown = path.to_string_lossy();
        let script = format!(
            r#"set -e; p={p}; d=$(dirname -- "$p")
t=$(mktemp "$d/.$(basename -- "$p").XXXXXX"); trap 'rm -f -- "$t"' EXIT
cat > "$t"; chmod {mode:o} "$t"
if [ -e "$p" ]; then chgrp --reference="$p" "$t" 2>/dev/null || true; fi
sync -- "$t"; mv -f -- "$t" "$p"; trap - EXIT; sync -- "$d""#,
            p = quote(&shown)
        );
        let output = self.run_as_tool(&script, contents).await?;
        if output.status.success() {
            return Ok(());
        }
        Err(self.file_error("replace", &shown, &output.stderr))
    }

    /// Removes `path` on the host and syncs its directory; a file already
    /// gone is fine.
    pub async fn remove_file(&self, path: &Path) -> Result<(), ExternalError> {
        let shown = path.to_string_lossy();
        let script = format!(
            r#"set -e; p={p}; [ -e "$p" ] || exit 0; rm -f -- "$p"; sync -- "$(dirname -- "$p")""#,
            p = quote(&shown)
        );
        let output = self.run_as_tool(&script, b"").await?;
        if output.status.success() {
            return Ok(());
        }
        Err(self.file_error("remove", &shown, &output.stderr))
    }

    /// Runs `script` with `sh` on the host as the tool runs, no terminal.
    async fn run_as_tool(
        &self,
        script: &str,
        input: &[u8],
    ) -> Result<primus_ssh::Output, ExternalError> {
        self.host
            .run(&wrap(self.run_as, script), input, self.within)
            .await
            .map_err(|source| ExternalError::Ssh {
                host: self.name.clone(),
                source: Box::new(source),
            })
    }

    fn file_error(&self, action: &'static str, path: &str, stderr: &[u8]) -> ExternalError {
        ExternalError::HostFile {
            host: self.name.clone(),
            action,
            path: path.to_owned(),
            problem: String::from_utf8_lossy(stderr).trim().to_owned(),
        }
    }

    /// The command that runs the tool with `args` under the lock.
    fn command(&self, args: &[OsString], access: Access) -> String {
        let lock_mode = match access {
            Access::Read => "-s",
            Access::Edit => "-x",
        };
        let mut words = vec![
            "flock".to_owned(),
            lock_mode.to_owned(),
            quote(&format!("{}.ppin-lock", self.secrets_file.display())),
            quote(&self.program),
        ];
        words.extend(args.iter().map(|a| quote(&a.to_string_lossy())));
        let command = words.join(" ");
        match self.run_as {
            RunAs::SshUser => command,
            RunAs::Sudo => format!("sudo -n {command}"),
        }
    }
}

/// `script` run by `sh`, through `sudo -n` when asked.
fn wrap(run_as: RunAs, script: &str) -> String {
    match run_as {
        RunAs::SshUser => format!("sh -c {}", quote(script)),
        RunAs::Sudo => format!("sudo -n sh -c {}", quote(script)),
    }
}

/// Runs `command` on the host without a terminal; its stdout when it
/// succeeded, else its stderr in the error.
async fn run_checked(
    host: &Host,
    name: &str,
    command: &str,
    within: Duration,
) -> Result<Vec<u8>, ExternalError> {
    let output = host
        .run(command, &[], within)
        .await
        .map_err(|source| ExternalError::Ssh {
            host: name.to_owned(),
            source: Box::new(source),
        })?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    Err(ExternalError::HostNotReady {
        host: name.to_owned(),
        problem: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

#[async_trait::async_trait]
impl Transport for SshTool {
    async fn start(
        &self,
        args: &[OsString],
        access: Access,
        cancel: &CancellationToken,
    ) -> Result<Box<dyn Terminal>, ExternalError> {
        // Not started yet, so nothing was sent: a stop now changes nothing.
        if cancel.is_cancelled() {
            return Err(ExternalError::Cancelled {
                command: self.command_line(args),
            });
        }
        // The lock is waited for on the host, by flock, before the tool starts.
        let process = self
            .host
            .start_pty(&self.command(args, access), Echo::Off)
            .await
            .map_err(|source| ExternalError::Ssh {
                host: self.name.clone(),
                source: Box::new(source),
            })?;
        Ok(Box::new(SshTerminal {
            process: Some(process),
            unread: Vec::new(),
        }))
    }

    fn command_line(&self, args: &[OsString]) -> String {
        format!("{} on {}", self.command(args, Access::Read), self.name)
    }

    /// Unsupported: the host's file times are on the host's clock. A
    /// listing over SSH is reused within the engine's reuse window unless
    /// the engine edited.
    async fn secrets_stamp(&self) -> io::Result<Option<FileStamp>> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the host's .secrets.cfg is not stat'ed from here",
        ))
    }

    fn secrets_file(&self) -> &Path {
        &self.secrets_file
    }

    async fn check_storable(&self) -> Result<(), ExternalError> {
        if self.recently_storable() {
            return Ok(());
        }
        let script = store_check::script(&self.secrets_file.to_string_lossy());
        let output = self.run_as_tool(&script, b"").await?;
        if output.status.success() {
            self.found_storable();
            return Ok(());
        }
        let problem = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        Err(match output.status {
            primus_ssh::ExitStatus::Code(store_check::NOT_STORABLE) => ExternalError::NotStorable {
                place: self.name.clone(),
                problem,
            },
            // sudo without a rule, a shell that could not run: the host, not the file.
            _ => ExternalError::HostNotReady {
                host: self.name.clone(),
                problem,
            },
        })
    }
}

/// One run on a channel with a pseudo-terminal.
struct SshTerminal {
    /// `None` once waited for or closed.
    process: Option<PtyProcess>,
    /// Bytes received but not yet read.
    unread: Vec<u8>,
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the run's channel is closed")
}

#[async_trait::async_trait]
impl Terminal for SshTerminal {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.unread.is_empty() {
            let process = self.process.as_mut().ok_or_else(gone)?;
            match process.read(CHANNEL_WAIT).await.map_err(io::Error::other)? {
                Some(bytes) => self.unread = bytes,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.unread.len());
        buf[..n].copy_from_slice(&self.unread[..n]);
        self.unread.drain(..n);
        Ok(n)
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let process = self.process.as_mut().ok_or_else(gone)?;
        process.write(bytes).await.map_err(io::Error::other)
    }

    /// The channel's terminal was opened with echo off.
    fn echoes(&self) -> io::Result<bool> {
        Ok(false)
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        let process = self.process.take().ok_or_else(gone)?;
        let finished = process.wait(CHANNEL_WAIT).await.map_err(io::Error::other)?;
        Ok(exit_status(&finished.status))
    }

    async fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            // Closing ends the tool and its children on the host; a channel
            // already gone has nothing left to end.
            let _ = process.close().await;
        }
    }
}

/// The host's exit status in this platform's form, for the errors that
/// show it.
fn exit_status(status: &primus_ssh::ExitStatus) -> ExitStatus {
    match status {
        primus_ssh::ExitStatus::Code(code) => ExitStatus::from_raw(((*code & 0xff) as i32) << 8),
        primus_ssh::ExitStatus::Signal(name) => ExitStatus::from_raw(signal_number(name)),
    }
}

/// The number of a signal as SSH names it (RFC 4254, 6.10).
fn signal_number(name: &str) -> i32 {
    match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "SEGV" => 11,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "USR1" => 10,
        "USR2" => 12,
        // KILL, and any name the RFC does not list: it was killed.
        _ => 9,
    }
}
