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

//!
//! The engine is two parts: the tool dialogue (`dialogue`, `parse`: the
//! prompts, the answers, what the tool prints) and a [`Transport`] that
//! starts the runs: [`LocalTool`] on this machine, [`SshTool`] on another
//! host.

mod cluster;
mod dialogue;
pub(crate) mod error;
mod fortinet;
mod log;
mod parse;
mod report;
mod transport;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use primus_core::FileStamp;
use secrets_cfg::{EntryKind, Password};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use cluster::Disagreement;
pub use error::ExternalError;
pub use parse::ParseProblem;
pub use transport::{Access, HostPaths, LocalTool, RunAs, SshTool, Terminal, Transport};

use crate::config::{LiveConfig, PrimusConfig};
use crate::engine::{Engine, HsmTest, Preflight, SlotTest, TestReport, Versions};
use crate::error::PpinError;
use crate::model::{
    Fetch, FortinetRequest, Listing, LogRequest, PartitionLog, ProxyStatus, Served,
    SetupCredentials, TestFilter, UserStatus,
};
use crate::users;
use cluster::Cluster;
use dialogue::{failure, proxy_answer, setup_answers, understand, Answer, Finished, Limits};
use parse::Report;

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

/// A listing and when it was made, for reuse.
#[derive(Debug)]
struct Cached {
    listing: Listing,
    generation: u64,
    /// `.secrets.cfg` before the run, or after an edit's.
    stamp: Seen,
    /// Whether that stamp proves unchanged content when seen again (see
    /// [`FileStamp::settled`]); a file written within the last timestamp
    /// tick could change again unseen, so its listing is not reused. An
    /// edit's own listing is taken as settled: see
    /// [`keep_as_listing`](ExternalEngine::keep_as_listing).
    settled: bool,
    at: Instant,
}

/// What a cached listing is judged by at one moment.
struct Look {
    /// This engine's edits so far.
    generation: u64,
    /// The clock before `.secrets.cfg` was looked at.
    clock: SystemTime,
    /// What was seen of it (`None`: it could not be looked at).
    stamp: Option<Seen>,
}

/// What could be seen of `.secrets.cfg` where the tool runs, to tell
/// whether it changed since a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Its stamp (`None`: no file).
    Stamp(Option<FileStamp>),
    /// The transport cannot look at it (a host over SSH, whose clock is not
    /// ours): a listing is then reused for [`ExternalTimeouts::listing_reuse`]
    /// unless this engine edited, which is what serves every refresh of a
    /// host in one plan with one `ppin -l`.
    Unwatched,
}

impl Seen {
    /// What `secrets_stamp` answered; `None` when the file could not be
    /// looked at, which gives nothing to compare with later.
    fn of(stamp: std::io::Result<Option<FileStamp>>) -> Option<Seen> {
        match stamp {
            Ok(stamp) => Some(Seen::Stamp(stamp)),
            Err(e) if e.kind() == std::io::ErrorKind::Unsupported => Some(Seen::Unwatched),
            Err(_) => None,
        }
    }

    /// Whether this proves unchanged content when seen again (see
    /// [`FileStamp::settled`]).
    fn settled(&self, clock: SystemTime) -> bool {
        match self {
            Seen::Stamp(stamp) => stamp.as_ref().is_none_or(|s| s.settled(clock)),
            Seen::Unwatched => true,
        }
    }
}

/// Drives a vendor-compatible `ppin` (see the module doc). Cheap to share
/// behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct ExternalEngine {
    transport: Arc<dyn Transport>,
    /// The `primus.cfg` the tool reads, as given to it with `-c`.
    config_file: Option<PathBuf>,
    /// The `.secrets.cfg` the tool edits, as given to it with `-s`.
    secrets_file: Option<PathBuf>,
    /// That `primus.cfg`, read here too: the users to check before a run and
    /// what the tool's lines do not say (the HSMs, the users behind a proxy).
    config: LiveConfig,
    /// The host whose `primus.cfg` [`config`](Self::config) was read from,
    /// when the tool runs on one: read there again by
    /// [`reread_config`](Self::reread_config).
    host: Option<Arc<SshTool>>,
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
    /// Drives the tool at `program` on this machine with `-c`/`-s` when the
    /// paths are given.
    pub fn new(
        program: impl Into<PathBuf>,
        config_file: Option<PathBuf>,
        secrets_file: Option<PathBuf>,
    ) -> Self {
        let secrets_path = secrets_cfg::locate(secrets_file.as_deref());
        let transport = LocalTool::new(program, secrets_path);
        ExternalEngine::over(Arc::new(transport), config_file, secrets_file)
    }

    /// Drives the tool that `transport` starts, with `-c`/`-s` when the
    /// paths are given.
    pub fn over(
        transport: Arc<dyn Transport>,
        config_file: Option<PathBuf>,
        secrets_file: Option<PathBuf>,
    ) -> Self {
        ExternalEngine {
            transport,
            config: LiveConfig::watched(config_file.clone()),
            host: None,
            config_file,
            secrets_file,
            timeouts: ExternalTimeouts::default(),
            cancel: CancellationToken::new(),
            edits: RwLock::new(()),
            listing: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Drives the tool of `tool` on its host, with `-c`/`-s` when the paths
    /// are given (paths on the host). The host's `primus.cfg` is the one
    /// `tool` read when it connected; a missing or invalid one is reported
    /// when an operation needs it, as on this machine. The caller may keep
    /// `tool` for the host's files.
    pub fn on_host(
        tool: Arc<SshTool>,
        config_file: Option<PathBuf>,
        secrets_file: Option<PathBuf>,
    ) -> Self {
        let mut engine = ExternalEngine::over(tool.clone(), config_file, secrets_file);
        engine.config = LiveConfig::fetched(
            tool.config_file().to_owned(),
            tool.config_at_connect().cloned(),
        );
        engine.host = Some(tool);
        engine
    }

    /// Reads the host's `primus.cfg` and the files it includes again (after
    /// this process replaced or removed it there); on this machine the file
    /// is watched instead and this does nothing.
    pub async fn reread_config(&self) -> Result<(), ExternalError> {
        if let Some(tool) = &self.host {
            let files = tool.read_config().await?;
            self.config.refetched(tool.config_file().to_owned(), files);
        }
        Ok(())
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

    /// `ppin -a`/`-u -e USER`, typing both passwords at the prompts.
    async fn obtain(
        &self,
        edit: Edit,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, ExternalError> {
        // Where the file lives, before a password is typed: a secret the HSM
        // issued must not meet a file that cannot take it.
        self.transport.check_storable().await?;
        let answers = setup_answers(user, credentials);
        let cluster = self.edit(edit, user, &answers).await?;
        // `edit` checked the user's lines are there; the tool does not say which HSM answered.
        let slot_id = cluster.user(user).map_or(0, |folded| folded.slot_id);
        Ok(Served::unattributed(user, slot_id))
    }

    /// `ppin -r`/`-x -e TARGET` when the listing shows an entry; `Ok(false)`
    /// (and no editing run) when it does not.
    async fn remove_entry(&self, edit: Edit, target: &str) -> Result<bool, ExternalError> {
        let listing = self.listing().await?;
        let was = if edit.is_proxy() {
            listing
                .proxies
                .iter()
                .any(|p| p.proxy_user == target && p.configured)
        } else {
            listing
                .users
                .iter()
                .any(|u| u.user == target && u.configured)
        };
        if was {
            self.edit(edit, target, &[]).await?;
        }
        Ok(was)
    }

    /// `ppin -l`. Concurrent calls share one run; a result is reused (see
    /// [`ExternalTimeouts::listing_reuse`]) until an edit or a change of
    /// `.secrets.cfg`; an add, update or proxy add leaves its own status
    /// lines as the result ([`keep_as_listing`](Self::keep_as_listing)). The tool prints only names and states: which HSMs
    /// serve a user and which users sit behind a proxy come from
    /// `primus.cfg` ([`describe`](Self::describe)).
    async fn listing(&self) -> Result<Listing, ExternalError> {
        let look = self.look().await;
        if let Some(hit) = self.reusable(&*self.listing.lock().await, &look) {
            return Ok(hit);
        }
        // A miss may be an edit of this engine under way, its file already
        // written: wait for it to end (it leaves its own lines as the
        // listing) and look again, rather than list what it is changing.
        let held = self.hold(Access::Read).await;
        let mut cached = self.listing.lock().await;
        let look = self.look().await;
        if let Some(hit) = self.reusable(&cached, &look) {
            return Ok(hit);
        }
        let listing = match self.known_empty(look.generation) {
            Some(listing) => listing,
            None => listing_of(&self.read_run(&["-l".into()], &held).await?),
        };
        *cached = look.stamp.map(|stamp| Cached {
            listing: listing.clone(),
            generation: look.generation,
            settled: stamp.settled(look.clock),
            stamp,
            at: Instant::now(),
        });
        Ok(listing)
    }

    /// What a cached listing is judged by, now.
    async fn look(&self) -> Look {
        Look {
            generation: self.generation(),
            clock: SystemTime::now(),
            stamp: Seen::of(self.transport.secrets_stamp().await),
        }
    }

    /// The cached listing if `look` allows reusing it.
    fn reusable(&self, cached: &Option<Cached>, look: &Look) -> Option<Listing> {
        cached
            .as_ref()
            .filter(|c| {
                c.generation == look.generation
                    && c.settled
                    && look.stamp.as_ref() == Some(&c.stamp)
                    && c.at.elapsed() < self.timeouts.listing_reuse
            })
            .map(|c| c.listing.clone())
    }

    /// What `ppin -l` would print on a host whose `.secrets.cfg` was absent
    /// at first contact, before this engine's first edit and while a
    /// listing may be reused (see [`ExternalTimeouts::listing_reuse`]): every
    /// user and proxy of `primus.cfg`, none configured. A fresh host's first
    /// create so costs one run of the tool, not two. `None` otherwise.
    fn known_empty(&self, generation: u64) -> Option<Listing> {
        let absent_at = self.host.as_ref()?.secrets_file_absent_at_connect()?;
        if generation != 0 || absent_at.elapsed() >= self.timeouts.listing_reuse {
            return None;
        }
        let config = self.config().ok()?;
        Some(users::listing(&config, |_, _| false))
    }

    /// `listing` with what `primus.cfg` says of each user and proxy.
    fn describe(&self, mut listing: Listing) -> Result<Listing, PpinError> {
        let config = self.config()?;
        for status in &mut listing.users {
            if let Some(slot_user) = config.user(&status.user) {
                status.proxy_user.clone_from(&slot_user.proxy_user);
                status.hsms = slot_user.hsms.iter().map(|h| h.name.clone()).collect();
            }
        }
        for proxy in &mut listing.proxies {
            proxy.users = config
                .users_behind_proxy(&proxy.proxy_user)
                .map(|u| u.user_name.clone())
                .collect();
        }
        Ok(listing)
    }

    /// One `ppin -t` run with the filter's options, its report. A run that
    /// exits with a failure status is read all the same when it printed a
    /// whole report (the tool exits so when a login fails); one that did not
    /// is the failure.
    async fn test_run(&self, filter: &TestFilter) -> Result<TestReport, ExternalError> {
        let mut args: Vec<OsString> = vec!["--test".into()];
        let options = [
            ("--user", filter.user.clone()),
            ("--hsm", filter.hsm.clone()),
            ("--slot", filter.slot.clone()),
            ("--slotid", filter.slot_id.map(|id| id.to_string())),
        ];
        for (option, value) in options {
            if let Some(value) = value {
                args.extend([option.into(), value.into()]);
            }
        }
        let (finished, command) = self.run(&args, &[], Access::Read).await?;
        let lines = match report::parse_report(&finished.lines) {
            Ok(lines) => lines,
            Err(_) if !finished.status.success() => return Err(failure(command, finished)),
            Err(problem) => {
                return Err(ExternalError::Unexpected {
                    command,
                    problem,
                    output: finished.lines,
                })
            }
        };
        let hsms = lines
            .hsms
            .into_iter()
            .map(|block| {
                let address = format!("{}:{}", block.host, block.port);
                let firmware = block.firmware.map_err(|reason| {
                    PpinError::External(ExternalError::ConnectFailed {
                        command: command.clone(),
                        hsm: block.hsm.clone(),
                        reason,
                        output: finished.lines.clone(),
                    })
                });
                let slots = block
                    .slots
                    .into_iter()
                    .map(|slot| SlotTest {
                        outcome: match slot.failure {
                            None => Ok(Served {
                                hsm: Some(block.hsm.clone()),
                                address: Some(address.clone()),
                                server: firmware.as_ref().ok().cloned(),
                                ..Served::unattributed(&slot.user, slot.slot_id)
                            }),
                            Some(reason) => Err(PpinError::External(ExternalError::LoginFailed {
                                command: command.clone(),
                                user: slot.user.clone(),
                                reason,
                                output: finished.lines.clone(),
                            })),
                        },
                        slot: slot.slot,
                        slot_id: slot.slot_id,
                        user: slot.user,
                    })
                    .collect();
                HsmTest {
                    hsm: block.hsm,
                    host: block.host,
                    port: block.port,
                    firmware,
                    slots,
                }
            })
            .collect();
        Ok(TestReport {
            config_file: lines.config_file,
            hsms,
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// One editing run of `edit` on `target`; checks the target's lines show
    /// the state the edit must leave.
    async fn edit(
        &self,
        edit: Edit,
        target: &str,
        answers: &[Answer<'_>],
    ) -> Result<Cluster, ExternalError> {
        let args = [edit.flag().into(), "-e".into(), target.into()];
        // Kept to the end, past the cache's update: a listing that waits
        // for this edit then finds the lines it left.
        let held = self.hold(Access::Edit).await;
        let outcome = self.run_holding(&args, answers, &held).await;
        // Held from the new generation until the listing is this edit's own
        // or known stale: no caller sees the one from before it as current.
        let mut cached = self.listing.lock().await;
        // Whatever happened, the file may have changed.
        let generation = 1 + self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (finished, command) = outcome?;
        if !finished.status.success() {
            return Err(failure(command, finished));
        }
        let report = understand(&command, &finished.lines, Some(answers.len()))?;
        let cluster = self.fold(&command, &finished.lines, &report)?;
        let line = if edit.is_proxy() {
            cluster.proxy(target)
        } else {
            cluster.user(target)
        };
        let shown = line.is_some_and(|folded| folded.configured == edit.configured_after());
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
        self.keep_as_listing(&mut cached, &cluster, generation)
            .await;
        Ok(cluster)
    }

    /// After the edit that made `generation`: when its status lines name
    /// every user and proxy the shared listing knew (`-a`, `-u` and `-p`
    /// print one line per slot, as `-l` does), they are the listing now, and
    /// the next caller reuses them instead of running `ppin -l` again. Kept
    /// only if no later edit or listing came first; otherwise the listing is
    /// made again by `ppin -l`, as after any other edit.
    ///
    /// `.secrets.cfg`'s stamp is taken now, after the tool's last write, so
    /// it stamps the file the lines describe: it proves unchanged content
    /// when seen again even though that write is only milliseconds old (a
    /// `-l` listing's stamp is taken before its run, so there it would not).
    /// What no stamp can tell is a write in place, to the same size, within
    /// the timestamp tick of the tool's own, by a program that ignores the
    /// lock the tool held; our own writers take the lock and replace the
    /// file (a new inode). Edits by this engine bump the generation.
    async fn keep_as_listing(
        &self,
        cached: &mut Option<Cached>,
        cluster: &Cluster,
        generation: u64,
    ) {
        let Some(known) = cached.as_ref() else {
            return;
        };
        let covers = known
            .listing
            .users
            .iter()
            .all(|u| cluster.user(&u.user).is_some())
            && known
                .listing
                .proxies
                .iter()
                .all(|p| cluster.proxy(&p.proxy_user).is_some());
        if !covers || known.generation >= generation {
            return;
        }
        let Some(stamp) = Seen::of(self.transport.secrets_stamp().await) else {
            return;
        };
        *cached = Some(Cached {
            listing: listing_of(cluster),
            generation,
            settled: true,
            stamp,
            at: Instant::now(),
        });
    }

    /// One reading run that must succeed, its status lines folded.
    async fn read_run(
        &self,
        args: &[OsString],
        held: &Guard<'_>,
    ) -> Result<Cluster, ExternalError> {
        let (finished, command) = self.run_holding(args, &[], held).await?;
        if !finished.status.success() {
            return Err(failure(command, finished));
        }
        let report = understand(&command, &finished.lines, None)?;
        self.fold(&command, &finished.lines, &report)
    }

    /// `report`'s lines, one state per name; the HSMs are named from the
    /// `primus.cfg` read here when it can be read, else the lines by number.
    fn fold(
        &self,
        command: &str,
        lines: &[String],
        report: &Report,
    ) -> Result<Cluster, ExternalError> {
        let config = self.config.current().ok();
        cluster::fold(report, config.as_deref()).map_err(|disagreement| ExternalError::Disagree {
            command: command.to_owned(),
            lines: Box::new(disagreement),
            output: lines.to_vec(),
        })
    }

    /// Takes the locks for `access` and runs the tool once.
    async fn run(
        &self,
        args: &[OsString],
        answers: &[Answer<'_>],
        access: Access,
    ) -> Result<(Finished, String), ExternalError> {
        let held = self.hold(access).await;
        self.run_holding(args, answers, &held).await
    }

    /// This process's side of the lock for a run of `access`.
    async fn hold(&self, access: Access) -> Guard<'_> {
        match access {
            Access::Read => Guard::Read {
                _held: self.edits.read().await,
            },
            Access::Edit => Guard::Edit {
                _held: self.edits.write().await,
            },
        }
    }

    /// [`run`](Self::run), with this process's side of the lock already `held`.
    async fn run_holding(
        &self,
        args: &[OsString],
        answers: &[Answer<'_>],
        held: &Guard<'_>,
    ) -> Result<(Finished, String), ExternalError> {
        let access = held.access();
        let mut full: Vec<OsString> = Vec::new();
        if let Some(config) = &self.config_file {
            full.extend(["-c".into(), config.clone().into_os_string()]);
        }
        if let Some(secrets) = &self.secrets_file {
            full.extend(["-s".into(), secrets.clone().into_os_string()]);
        }
        full.extend(args.iter().cloned());
        let command = self.transport.command_line(&full);
        let terminal = self.transport.start(&full, access, &self.cancel).await?;
        let limits = Limits {
            prompt: self.timeouts.prompt,
            run: self.timeouts.run,
        };
        let finished = dialogue::converse(terminal, &command, answers, limits, &self.cancel)
            .await
            .map_err(|error| match (error, access) {
                // The run started: an edit may have happened whatever broke.
                (ExternalError::Terminal { command, source }, Access::Edit) => {
                    ExternalError::EditInterrupted { command, source }
                }
                (error, _) => error,
            })?;
        Ok((finished, command))
    }
}

/// A listing in the shape the engine answers with, from a run's folded
/// lines: the tool prints only names and states (see
/// [`ExternalEngine::describe`] for the rest).
fn listing_of(cluster: &Cluster) -> Listing {
    Listing {
        users: cluster
            .users
            .iter()
            .map(|u| UserStatus {
                user: u.name.clone(),
                slot_id: u.slot_id,
                proxy_user: None,
                configured: u.configured,
                hsms: Vec::new(),
            })
            .collect(),
        proxies: cluster
            .proxies
            .iter()
            .map(|p| ProxyStatus {
                proxy_user: p.name.clone(),
                configured: p.configured,
                users: Vec::new(),
            })
            .collect(),
    }
}

/// Either side of the in-process lock, held for one run (its drop releases it).
enum Guard<'a> {
    Read {
        _held: tokio::sync::RwLockReadGuard<'a, ()>,
    },
    Edit {
        _held: tokio::sync::RwLockWriteGuard<'a, ()>,
    },
}

impl Guard<'_> {
    /// The access the run holding it has.
    fn access(&self) -> Access {
        match self {
            Guard::Read { .. } => Access::Read,
            Guard::Edit { .. } => Access::Edit,
        }
    }
}

/// The tool keeps its file its own way, and asking it would start a
/// process per resource at every plan: the entries are checked against
/// `primus.cfg` and one listing, and whether `.secrets.cfg` can take a new
/// secret by the transport's check where the file lives (its directory,
/// the file, its key) before any password is typed.
#[async_trait::async_trait]
impl Preflight for ExternalEngine {
    async fn check_entries(&self, user: &str, fetch: Fetch) -> Result<(), PpinError> {
        let status = self.status(user).await?;
        users::check_fetchable(user, fetch, status.configured)?;
        let Some(proxy_user) = status.proxy_user else {
            return Ok(());
        };
        let listing = self.listing().await?;
        if listing
            .proxies
            .iter()
            .any(|p| p.proxy_user == proxy_user && p.configured)
        {
            Ok(())
        } else {
            Err(PpinError::ProxyPasswordMissing {
                user: user.to_owned(),
                proxy_user,
            })
        }
    }

    async fn check_storable(&self, _user: &str, _fetch: Fetch) -> Result<(), PpinError> {
        Ok(self.transport.check_storable().await?)
    }

    async fn check_proxy_storable(&self, _proxy_user: &str) -> Result<(), PpinError> {
        Ok(self.transport.check_storable().await?)
    }

    async fn entry_stored(&self, _kind: EntryKind, _name: &str) -> Result<Option<bool>, PpinError> {
        Ok(None)
    }
}

#[async_trait::async_trait]
impl Engine for ExternalEngine {
    fn config(&self) -> Result<Arc<PrimusConfig>, PpinError> {
        Ok(self.config.current()?)
    }

    fn secrets_file(&self) -> &Path {
        self.transport.secrets_file()
    }

    async fn add(&self, user: &str, credentials: &SetupCredentials) -> Result<Served, PpinError> {
        Ok(self.obtain(Edit::Add, user, credentials).await?)
    }

    /// A run that failed after starting is reported as [`PpinError::UpdateFailed`]:
    /// the vendor's tool removes the entry then. Whether it did is seen on the
    /// next listing.
    async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        match self.obtain(Edit::Update, user, credentials).await {
            Ok(served) => Ok(served),
            Err(error @ ExternalError::Failed { .. }) => Err(PpinError::UpdateFailed {
                user: user.to_owned(),
                cause: Box::new(PpinError::External(error)),
            }),
            Err(error) => Err(error.into()),
        }
    }

    async fn remove(&self, user: &str) -> Result<bool, PpinError> {
        Ok(self.remove_entry(Edit::Remove, user).await?)
    }

    /// `ppin -p -e PROXY`, typing the proxy password at its prompt.
    async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError> {
        self.transport.check_storable().await?;
        self.edit(
            Edit::ProxyAdd,
            proxy_user,
            &[proxy_answer(proxy_user, password)],
        )
        .await?;
        Ok(())
    }

    async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError> {
        Ok(self.remove_entry(Edit::ProxyRemove, proxy_user).await?)
    }

    async fn list(&self) -> Result<Listing, PpinError> {
        let listing = self.listing().await?;
        self.describe(listing)
    }

    /// From the shared listing: one `ppin -l` serves many callers.
    async fn status(&self, user: &str) -> Result<UserStatus, PpinError> {
        users::slot_user(&*self.config()?, user)?;
        let listing = self.list().await?;
        // Absent only if the tool listed another primus.cfg than the one read here.
        listing
            .users
            .into_iter()
            .find(|u| u.user == user)
            .ok_or_else(|| PpinError::NotConfigured {
                user: user.to_owned(),
            })
    }

    /// The tool's file is its own: its listing tells whether the entry is there.
    async fn verify_stored(&self, user: &str) -> Result<bool, PpinError> {
        Ok(self.status(user).await?.configured)
    }

    /// `ppin --test` with the filter's options; the report as the tool printed it.
    async fn test(&self, filter: &TestFilter) -> Result<TestReport, PpinError> {
        Ok(self.test_run(filter).await?)
    }

    /// `ppin -v`: the tool's first line; it asks no HSM.
    async fn versions(&self) -> Result<Versions, PpinError> {
        let (finished, command) = self.run(&["-v".into()], &[], Access::Read).await?;
        if !finished.status.success() {
            return Err(failure(command, finished).into());
        }
        let tool = dialogue::version_line(&command, &finished.lines)?;
        Ok(Versions {
            tool,
            hsms: Vec::new(),
        })
    }
    async fn fetch_log(&self, request: &LogRequest) -> Result<PartitionLog, PpinError> {
        self.partition_log(request).await
    }

    async fn fortinet_secret(&self, request: &FortinetRequest) -> Result<String, PpinError> {
        self.fortinet_document(request).await
    }
}
