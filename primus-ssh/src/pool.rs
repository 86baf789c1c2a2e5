//! One connection per host per process, shared by every command on it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};

use crate::connect::{bounded, open, Session};
use crate::error::SshError;
use crate::process::{run, Echo, OpenChannel, Output, PtyProcess};
use crate::settings::{PoolLimits, Role, Settings};
use crate::trust::openssh_line;

/// Which connection a host's commands share: host, port and user, and the
/// jump host's route when tunnelled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Route {
    host: String,
    port: u16,
    user: String,
    via: Option<Box<Route>>,
}

/// How often a refused channel is asked for again (about 2 s in all)
/// before the refusal is reported.
const CHANNEL_REFUSALS: u64 = 20;

type Slot = Arc<OnceCell<Result<Arc<Connection>, SshError>>>;

/// The SSH connections of one process: one per host (host, port, user),
/// opened on first use (once, however many tasks ask at the same time) and
/// kept until the pool is dropped; commands share it as channels.
///
/// A connection that failed to open (refused host key, refused key,
/// timeout) is not retried: every later request for that host gets the same
/// error, so a key is offered once per process. Nor is a connection that
/// dropped reopened: the commands after it fail at once, saying nothing ran,
/// and the next process connects anew.
///
/// ```no_run
/// # async fn example(settings: primus_ssh::Settings) -> Result<(), primus_ssh::SshError> {
/// use std::time::Duration;
/// use primus_ssh::{quote, SshPool, PoolLimits};
///
/// let pool = SshPool::new(PoolLimits::default());
/// let host = pool.host(&settings).await?;
/// let listing = host.run(&format!("ls -l {}", quote("/etc/primus")), b"", Duration::from_secs(30)).await?;
/// assert!(listing.status.success());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SshPool {
    limits: PoolLimits,
    opening: Semaphore,
    connections: Mutex<HashMap<Route, Slot>>,
}

struct Connection {
    session: Session,
    label: String,
    timeout: Duration,
    /// One permit per channel sshd allows at once (`MaxSessions`).
    sessions: Arc<Semaphore>,
    route: Route,
    /// Keeps the jump host's connection open as long as this one uses it.
    _bastion: Option<Arc<Connection>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.label)
            .finish_non_exhaustive()
    }
}

impl SshPool {
    /// An empty pool.
    pub fn new(limits: PoolLimits) -> Self {
        Self {
            limits,
            opening: Semaphore::new(limits.connections_opening_at_once.max(1)),
            connections: Mutex::new(HashMap::new()),
        }
    }

    /// The host of `settings`, connected (and its jump host first) if no
    /// task did so yet. The host key is checked against these settings even
    /// when the connection was opened for others.
    pub async fn host(&self, settings: &Settings) -> Result<Host, SshError> {
        // Refuse bad settings before waiting on any connection.
        settings.trust(Role::Target)?;
        let bastion = match settings.bastion() {
            Some(bastion) => Some(self.connection(&bastion, Role::Bastion, None).await?),
            None => None,
        };
        let connection = self.connection(settings, Role::Target, bastion).await?;
        Ok(Host { connection })
    }

    async fn connection(
        &self,
        settings: &Settings,
        role: Role,
        via: Option<Arc<Connection>>,
    ) -> Result<Arc<Connection>, SshError> {
        let route = Route {
            host: settings.host.clone(),
            port: settings.port,
            user: settings.user.clone(),
            via: via.as_ref().map(|bastion| Box::new(bastion.route.clone())),
        };
        let slot = {
            // A poisoned map is still a consistent map: entries are only inserted.
            let mut connections = self
                .connections
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            connections.entry(route.clone()).or_default().clone()
        };
        let opened = slot
            .get_or_init(|| async {
                // Each holder's open is bounded by its timeout, so this wait is too.
                let _opening = self.opening.acquire().await;
                let session = open(settings, role, via.as_ref().map(|c| &c.session.handle)).await?;
                Ok(Arc::new(Connection {
                    session,
                    label: settings.label(role),
                    timeout: settings.timeout,
                    sessions: Arc::new(Semaphore::new(self.limits.sessions_per_host.max(1))),
                    route,
                    _bastion: via.clone(),
                }))
            })
            .await;
        let connection = opened.clone()?;
        // The connection may have been opened for other settings of the
        // same host: this caller's own trust must accept its key too.
        settings.trust(role)?.verify(&connection.session.host_key)?;
        Ok(connection)
    }
}

/// A connected, verified host: commands on it are channels of its one
/// connection. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Host {
    connection: Arc<Connection>,
}

impl Host {
    /// The verified host key, `TYPE BASE64`: what `host_key` pins it with.
    pub fn host_key(&self) -> String {
        openssh_line(&self.connection.session.host_key)
    }

    /// Runs `command` with the remote user's shell, without a terminal:
    /// writes `input` to its standard input, then collects its output and
    /// status, all within `within`. Quote every word that is not a literal
    /// with [`quote`](crate::quote).
    pub async fn run(
        &self,
        command: &str,
        input: &[u8],
        within: Duration,
    ) -> Result<Output, SshError> {
        run(self.channel().await?, command, input, within).await
    }

    /// Starts `command` on a pseudo-terminal (`TERM=dumb`, 80x24), with
    /// `echo` as its initial echo mode. `command` must be a simple command
    /// (a program and its arguments, quoted with [`quote`](crate::quote)):
    /// it replaces the shell, so its own exit status or signal is reported.
    pub async fn start_pty(&self, command: &str, echo: Echo) -> Result<PtyProcess, SshError> {
        PtyProcess::start(self.channel().await?, command, echo).await
    }

    /// A new channel, once the host has a session slot free.
    async fn channel(&self) -> Result<OpenChannel, SshError> {
        let connection = &self.connection;
        let (label, timeout) = (&connection.label, connection.timeout);
        if connection.session.handle.is_closed() {
            return Err(SshError::Protocol {
                host: label.clone(),
                problem: "the connection has closed (the host, its sshd or the network went \
                          away), so nothing was run; it is not reopened within this run"
                    .to_owned(),
            });
        }
        let slot = tokio::time::timeout(timeout, connection.sessions.clone().acquire_owned())
            .await
            .map_err(|_| SshError::Timeout {
                host: label.clone(),
                during: "waiting for a free session (all sessions_per_host are in use)",
                after: timeout,
            })?
            // The semaphore is never closed; a closed one would mean the
            // connection is being dropped.
            .map_err(|_| SshError::ConnectionLost {
                host: label.clone(),
            })?;
        let channel = bounded(label, "opening a channel", timeout, async {
            // sshd frees a closed session on its next loop, so a channel
            // opened just as another closes can be refused for `MaxSessions`.
            // Opening a channel runs nothing: asking again is safe.
            let mut refusals = 0;
            loop {
                match connection.session.handle.channel_open_session().await {
                    Err(russh::Error::ChannelOpenFailure(_)) if refusals < CHANNEL_REFUSALS => {
                        refusals += 1;
                        tokio::time::sleep(Duration::from_millis(10 * refusals)).await;
                    }
                    opened => return opened,
                }
            }
        })
        .await?;
        Ok(OpenChannel::new(channel, slot, label.clone(), timeout))
    }
}
