//! The external engine: drives a vendor-compatible `ppin` binary (the
//! vendor's own, or ours standing in for it) instead of talking to the HSM.
//!
//! - Passwords never go on a command line or into the environment: they are
//!   typed at the documented prompts on a pseudo-terminal, once echo is off.
//! - Every wait is bounded ([`ExternalTimeouts`]); a tool that overstays is
//!   killed and the error quotes what it printed.
//! - Runs that edit one `.secrets.cfg` run alone, across processes too (a
//!   `flock` on `.secrets.cfg.ppin-lock`); listings share the lock, and
//!   concurrent listings share one `ppin -l` run.
//! - A failed run is reported once with the tool's lines, never retried.

mod error;
mod lock;
mod parse;
mod terminal;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrets_cfg::Password;
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use error::ExternalError;
pub use parse::ParseProblem;

use crate::engine::SetupCredentials;
use crate::ops::{Listing, ProxyStatus, UserStatus};
use lock::Access;
use parse::Report;
use terminal::{Answer, Limits};

/// How long the external engine waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExternalTimeouts {
    /// For each prompt to appear (and echo to go off).
    pub prompt: Duration,
    /// For a whole run, HSM round trips included.
    pub run: Duration,
    /// How long a listing may be reused when neither this engine edited nor
    /// `.secrets.cfg` changed since.
    pub listing_reuse: Duration,
}

impl Default for ExternalTimeouts {
    fn default() -> Self {
        ExternalTimeouts {
            prompt: Duration::from_secs(15),
            run: Duration::from_secs(60),
            listing_reuse: Duration::from_secs(5),
        }
    }
}

impl ExternalTimeouts {
    /// All three limits given.
    pub fn new(prompt: Duration, run: Duration, listing_reuse: Duration) -> Self {
        ExternalTimeouts {
            prompt,
            run,
            listing_reuse,
        }
    }
}

/// The outcome of `ppin -t` for one user, as the tool printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExternalLogin {
    /// The slot user.
    pub user: String,
    /// Its slot id.
    pub slot_id: u32,
    /// `None` when the login worked, else the tool's reason.
    pub failure: Option<String>,
}

/// A listing and when it was made, for reuse.
#[derive(Debug)]
struct Cached {
    listing: Listing,
    generation: u64,
    stamp: Option<Stamp>,
    at: Instant,
}

/// What changes when `.secrets.cfg` is replaced or written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    inode: u64,
    len: u64,
    modified: i64,
    modified_ns: i64,
    changed: i64,
    changed_ns: i64,
}

/// Drives a vendor-compatible `ppin` (see the module doc). Cheap to share
/// behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct ExternalEngine {
    program: PathBuf,
    config_file: Option<PathBuf>,
    secrets_file: Option<PathBuf>,
    timeouts: ExternalTimeouts,
    cancel: CancellationToken,
    /// In this process, edits exclude each other and listings; the file lock
    /// does the same across processes.
    edits: RwLock<()>,
    /// Held while a listing runs, so concurrent callers wait for its result.
    listing: Mutex<Option<Cached>>,
    /// Bumped by every edit, so a listing from before it is not reused.
    generation: std::sync::atomic::AtomicU64,
}

/// Which edit a run makes, for the flag and the line checked afterwards.
#[derive(Debug, Clone, Copy)]
enum Edit {
    Add,
    Update,
    Remove,
    ProxyAdd,
    ProxyRemove,
}

impl Edit {
    fn flag(self) -> &'static str {
        match self {
            Edit::Add => "-a",
            Edit::Update => "-u",
            Edit::Remove => "-r",
            Edit::ProxyAdd => "-p",
            Edit::ProxyRemove => "-x",
        }
    }

    /// The state the target's line must show after a successful run.
    fn configured_after(self) -> bool {
        matches!(self, Edit::Add | Edit::Update | Edit::ProxyAdd)
    }

    fn is_proxy(self) -> bool {
        matches!(self, Edit::ProxyAdd | Edit::ProxyRemove)
    }
}

impl ExternalEngine {
    /// Drives the tool at `program` with `-c`/`-s` when the paths are given.
    pub fn new(
        program: impl Into<PathBuf>,
        config_file: Option<PathBuf>,
        secrets_file: Option<PathBuf>,
    ) -> Self {
        ExternalEngine {
            program: program.into(),
            config_file,
            secrets_file,
            timeouts: ExternalTimeouts::default(),
            cancel: CancellationToken::new(),
            edits: RwLock::new(()),
            listing: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Replaces the limits.
    pub fn with_timeouts(mut self, timeouts: ExternalTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Operations stop, before any credential is sent, when `cancel` fires.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// `ppin -a -e USER`, typing both passwords at the prompts.
    pub async fn add(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<UserStatus, ExternalError> {
        self.obtain(Edit::Add, user, credentials).await
    }

    /// `ppin -u -e USER`; a failure removes the entry (vendor behaviour).
    pub async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<UserStatus, ExternalError> {
        self.obtain(Edit::Update, user, credentials).await
    }

    async fn obtain(
        &self,
        edit: Edit,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<UserStatus, ExternalError> {
        let answers = [
            Answer {
                prompt: format!("Provide setup password for '{user}': "),
                password: &credentials.setup_password,
            },
            Answer {
                prompt: format!("Provide PKCS11 password for '{user}': "),
                password: &credentials.pkcs11_password,
            },
        ];
        let report = self.edit(edit, user, &answers).await?;
        Ok(report
            .users
            .into_iter()
            .find(|u| u.user == user)
            .map_or_else(
                // `edit` checked the user's line is there.
                || user_status(user, 0, true),
                |line| user_status(&line.user, line.slot_id, line.configured),
            ))
    }

    /// `ppin -r -e USER`: `Ok(false)` when there was no entry (then the tool
    /// is not run to edit at all).
    pub async fn remove(&self, user: &str) -> Result<bool, ExternalError> {
        let was = self
            .list()
            .await?
            .users
            .iter()
            .any(|u| u.user == user && u.configured);
        if was {
            self.edit(Edit::Remove, user, &[]).await?;
        }
        Ok(was)
    }

    /// `ppin -p -e PROXY`, typing the proxy password at its prompt.
    pub async fn proxy_add(
        &self,
        proxy_user: &str,
        password: &Password,
    ) -> Result<(), ExternalError> {
        let answers = [Answer {
            prompt: format!("Provide proxy password for '{proxy_user}' : "),
            password,
        }];
        self.edit(Edit::ProxyAdd, proxy_user, &answers)
            .await
            .map(drop)
    }

    /// `ppin -x -e PROXY`: `Ok(false)` when there was no entry.
    pub async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, ExternalError> {
        let listing = self.list().await?;
        let was = listing
            .proxies
            .iter()
            .any(|p| p.proxy_user == proxy_user && p.configured);
        if was {
            self.edit(Edit::ProxyRemove, proxy_user, &[]).await?;
        }
        Ok(was)
    }

    /// `ppin -l`. Concurrent calls share one run; a result is reused (see
    /// [`ExternalTimeouts::listing_reuse`]) until an edit or a change of
    /// `.secrets.cfg`.
    pub async fn list(&self) -> Result<Listing, ExternalError> {
        let mut cached = self.listing.lock().await;
        let generation = self.generation();
        let stamp = self.stamp();
        if let Some(hit) = cached.as_ref().filter(|c| {
            c.generation == generation
                && c.stamp == stamp
                && c.at.elapsed() < self.timeouts.listing_reuse
        }) {
            return Ok(hit.listing.clone());
        }
        let report = self.read_run(&["-l".into()]).await?;
        let listing = Listing {
            users: report
                .users
                .iter()
                .map(|u| user_status(&u.user, u.slot_id, u.configured))
                .collect(),
            proxies: report
                .proxies
                .iter()
                .map(|p| ProxyStatus {
                    proxy_user: p.proxy_user.clone(),
                    configured: p.configured,
                    // INTEGRATOR: `ppin -l` does not say which users sit behind a proxy.
                    users: Vec::new(),
                })
                .collect(),
        };
        *cached = Some(Cached {
            listing: listing.clone(),
            generation,
            stamp,
            at: Instant::now(),
        });
        Ok(listing)
    }

    /// `ppin -t --user U`: one login per slot user the tool tested. A run
    /// that failed without testing anyone is an error.
    pub async fn test(&self, user: &str) -> Result<Vec<ExternalLogin>, ExternalError> {
        let args = ["-t".into(), "--user".into(), user.into()];
        let (finished, command) = self.run(&args, &[], Access::Read).await?;
        let report = understand(&command, &finished.lines, None)?;
        if report.logins.is_empty() {
            return Err(failure(command, finished));
        }
        Ok(report
            .logins
            .into_iter()
            .map(|l| ExternalLogin {
                user: l.user,
                slot_id: l.slot_id,
                failure: l.failure,
            })
            .collect())
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn stamp(&self) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(self.secrets_path()).ok()?;
        Some(Stamp {
            inode: meta.ino(),
            len: meta.len(),
            modified: meta.mtime(),
            modified_ns: meta.mtime_nsec(),
            changed: meta.ctime(),
            changed_ns: meta.ctime_nsec(),
        })
    }

    /// The `.secrets.cfg` the tool will use, for the lock beside it.
    fn secrets_path(&self) -> PathBuf {
        secrets_cfg::locate(self.secrets_file.as_deref())
    }

    /// One editing run of `edit` on `target`; checks the target's line shows
    /// the state the edit must leave.
    async fn edit(
        &self,
        edit: Edit,
        target: &str,
        answers: &[Answer<'_>],
    ) -> Result<Report, ExternalError> {
        let args = [edit.flag().into(), "-e".into(), target.into()];
        let outcome = self.run(&args, answers, Access::Edit).await;
        // Whatever happened, the file may have changed.
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (finished, command) = outcome?;
        if !finished.status.success() {
            return Err(failure(command, finished));
        }
        let report = understand(&command, &finished.lines, Some(answers.len()))?;
        let shown = if edit.is_proxy() {
            report
                .proxies
                .iter()
                .any(|p| p.proxy_user == target && p.configured == edit.configured_after())
        } else {
            report
                .users
                .iter()
                .any(|u| u.user == target && u.configured == edit.configured_after())
        };
        if !shown {
            let state = if edit.configured_after() {
                "Configured"
            } else {
                "MISSING"
            };
            return Err(ExternalError::Unexpected {
                command,
                problem: ParseProblem::MissingLine(format!("showing '{target}' {state}")),
                output: finished.lines,
            });
        }
        Ok(report)
    }

    /// One reading run that must succeed.
    async fn read_run(&self, args: &[OsString]) -> Result<Report, ExternalError> {
        let (finished, command) = self.run(args, &[], Access::Read).await?;
        if !finished.status.success() {
            return Err(failure(command, finished));
        }
        understand(&command, &finished.lines, None)
    }

    /// Takes the locks for `access` and runs the tool once.
    async fn run(
        &self,
        args: &[OsString],
        answers: &[Answer<'_>],
        access: Access,
    ) -> Result<(terminal::Finished, String), ExternalError> {
        let mut full: Vec<OsString> = Vec::new();
        if let Some(config) = &self.config_file {
            full.extend(["-c".into(), config.clone().into_os_string()]);
        }
        if let Some(secrets) = &self.secrets_file {
            full.extend(["-s".into(), secrets.clone().into_os_string()]);
        }
        full.extend(args.iter().cloned());
        let command = command_line(&self.program, &full);
        let _in_process = match access {
            Access::Read => Guard::Read(self.edits.read().await),
            Access::Edit => Guard::Edit(self.edits.write().await),
        };
        let _file = lock::acquire(&self.secrets_path(), access, &self.cancel, &command).await?;
        // Not started yet, so nothing was sent: a stop now changes nothing.
        if self.cancel.is_cancelled() {
            return Err(ExternalError::Cancelled { command });
        }
        let limits = Limits {
            prompt: self.timeouts.prompt,
            run: self.timeouts.run,
        };
        let finished = terminal::run(
            &self.program,
            &full,
            &command,
            answers,
            limits,
            &self.cancel,
        )
        .await?;
        Ok((finished, command))
    }
}

/// Either side of the in-process lock, held for one run.
#[allow(dead_code)] // Held only for its Drop, which releases the lock.
enum Guard<'a> {
    Read(tokio::sync::RwLockReadGuard<'a, ()>),
    Edit(tokio::sync::RwLockWriteGuard<'a, ()>),
}

fn user_status(user: &str, slot_id: u32, configured: bool) -> UserStatus {
    UserStatus {
        user: user.to_owned(),
        slot_id,
        // INTEGRATOR: `ppin -l` shows neither the proxy nor the HSMs of a user.
        proxy_user: None,
        configured,
        hsms: Vec::new(),
    }
}

/// The run's command line as shown in errors (it holds no password).
fn command_line(program: &Path, args: &[OsString]) -> String {
    std::iter::once(program.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn failure(command: String, finished: terminal::Finished) -> ExternalError {
    ExternalError::Failed {
        command,
        status: finished.status,
        output: finished.lines,
    }
}

/// Parses a successful run's lines; a run that prompted must show the banner
/// before its prompts and again after them, any run at least once.
fn understand(
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

/// The engine seam of ENGINE.md, implemented over the tool.
// INTEGRATOR: replace this copy with `crate::engine::{Engine, SetupCredentials}`
// and `EngineError` with `PpinError` (`PpinError::External(ExternalError)`); the
// bodies stay as they are. Fields only the built-in engine knows (HSM name,
// address, server) are left empty until `Served` makes them `Option`.
mod seam {
    use super::*;
    use crate::ops::{Served, TestFilter};

    /// INTEGRATOR: `PpinError`.
    pub type EngineError = ExternalError;

    /// Copy of the agreed engine trait (see ENGINE.md).
    #[async_trait::async_trait]
    pub trait Engine: std::fmt::Debug + Send + Sync {
        /// `ppin -a -e USER`.
        async fn add(
            &self,
            user: &str,
            credentials: &SetupCredentials,
        ) -> Result<Served, EngineError>;
        /// `ppin -u -e USER`.
        async fn update(
            &self,
            user: &str,
            credentials: &SetupCredentials,
        ) -> Result<Served, EngineError>;
        /// `ppin -r -e USER`.
        async fn remove(&self, user: &str) -> Result<bool, EngineError>;
        /// `ppin -p -e PROXY`.
        async fn proxy_add(&self, proxy_user: &str, password: &Password)
            -> Result<(), EngineError>;
        /// `ppin -x -e PROXY`.
        async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, EngineError>;
        /// `ppin -l`.
        async fn list(&self) -> Result<Listing, EngineError>;
        /// `ppin -t --user U` (INTEGRATOR: `Vec<LoginTest>`).
        async fn test(&self, filter: &TestFilter) -> Result<Vec<ExternalLogin>, EngineError>;
    }

    fn served(status: UserStatus) -> Served {
        Served {
            user: status.user,
            slot_id: status.slot_id,
            hsm: None,
            address: None,
            server: None,
        }
    }

    #[async_trait::async_trait]
    impl Engine for ExternalEngine {
        async fn add(
            &self,
            user: &str,
            credentials: &SetupCredentials,
        ) -> Result<Served, EngineError> {
            Ok(served(ExternalEngine::add(self, user, credentials).await?))
        }
        async fn update(
            &self,
            user: &str,
            credentials: &SetupCredentials,
        ) -> Result<Served, EngineError> {
            Ok(served(
                ExternalEngine::update(self, user, credentials).await?,
            ))
        }
        async fn remove(&self, user: &str) -> Result<bool, EngineError> {
            Ok(ExternalEngine::remove(self, user).await?)
        }
        async fn proxy_add(
            &self,
            proxy_user: &str,
            password: &Password,
        ) -> Result<(), EngineError> {
            Ok(ExternalEngine::proxy_add(self, proxy_user, password).await?)
        }
        async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, EngineError> {
            Ok(ExternalEngine::proxy_remove(self, proxy_user).await?)
        }
        async fn list(&self) -> Result<Listing, EngineError> {
            Ok(ExternalEngine::list(self).await?)
        }
        async fn test(&self, filter: &TestFilter) -> Result<Vec<ExternalLogin>, EngineError> {
            // INTEGRATOR: the vendor documents `-t --user U` and `--slotid N`.
            let user = filter.user.clone().unwrap_or_default();
            Ok(ExternalEngine::test(self, &user).await?)
        }
    }
}

pub use seam::{Engine as ExternalSeam, EngineError};
