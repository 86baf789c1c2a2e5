//! Where the tool runs. The dialogue (prompts, answers, what the tool
//! prints) is the same wherever that is; a [`Transport`] only starts runs
//! of the tool on a pseudo-terminal and hands back a [`Terminal`] to talk
//! to each. [`LocalTool`] runs a program on this machine, [`SshTool`] on
//! another host over SSH.

mod local;
mod lock;
mod ssh;
mod store_check;

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::Path;
use std::process::ExitStatus;

use primus_core::FileStamp;
use tokio_util::sync::CancellationToken;

pub use local::LocalTool;
pub use ssh::{HostPaths, RunAs, SshTool};

use super::error::ExternalError;

/// Whether a run edits `.secrets.cfg`: edits run alone, across processes
/// too, while reads may run beside each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Listing, login test: may run beside other readers.
    Read,
    /// Add, update, remove, proxy: runs alone.
    Edit,
}

/// Starts runs of a vendor-compatible `ppin` somewhere.
#[async_trait::async_trait]
pub trait Transport: fmt::Debug + Send + Sync {
    /// Starts one run of the tool with `args` on a new pseudo-terminal,
    /// holding the lock beside `.secrets.cfg` for `access` until the run
    /// ends. Waiting for the lock ends when `cancel` fires
    /// ([`ExternalError::Cancelled`]); nothing has been sent then.
    async fn start(
        &self,
        args: &[OsString],
        access: Access,
        cancel: &CancellationToken,
    ) -> Result<Box<dyn Terminal>, ExternalError>;

    /// The command line of a run with `args`, as errors show it: where the
    /// tool runs and what it was asked. Holds no password (none is ever an
    /// argument).
    fn command_line(&self, args: &[OsString]) -> String;

    /// The state of `.secrets.cfg` now (`None`: no file), so that a listing
    /// is reused only while the file is unchanged.
    async fn secrets_stamp(&self) -> io::Result<Option<FileStamp>>;

    /// The `.secrets.cfg` the tool edits, where it runs.
    fn secrets_file(&self) -> &Path;

    /// Checks, where `.secrets.cfg` lives and as the user the tool runs as,
    /// that it can take a new secret: the file, its directory and its key
    /// ([`ExternalError::NotStorable`] says what to fix). Runs no tool and
    /// sends no password, so it goes before any run that spends one.
    async fn check_storable(&self) -> Result<(), ExternalError>;
}

/// One run of the tool on a pseudo-terminal.
#[async_trait::async_trait]
pub trait Terminal: Send {
    /// The next bytes the tool printed; `Ok(0)` once it closed the terminal.
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Types `bytes` at the terminal.
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Whether the terminal would echo what is typed now. A transport that
    /// cannot see the terminal's modes must make echo impossible instead and
    /// answer `false`.
    fn echoes(&self) -> io::Result<bool>;
    /// Waits for the tool to exit.
    async fn wait(&mut self) -> io::Result<ExitStatus>;
    /// Ends the tool and whatever it started; already gone is fine.
    async fn kill(&mut self);
}
