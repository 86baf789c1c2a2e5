//! The running simulator: the TLS listener, the admin listener, and their tasks.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hsm_wire::{FramedStream, Request, Response, ServerConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::admin::{AdminRequest, AdminResponse, ADMIN_MAX_FRAME_LEN};
use crate::clock::{Clock, SystemClock};
use crate::config::SimConfig;
use crate::files::{self, FilesError, Ready, StatePaths};
use crate::hsm::{Hsm, Session};
use crate::journal::JournalError;
use crate::partition_log::ClientId;

/// TLS handshake plus hello must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no request for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connections served at once; more wait in the accept queue.
const MAX_CONNECTIONS: usize = 1024;

/// How to run the simulator.
#[derive(Clone)]
pub struct SimOptions {
    /// The state directory (created if missing).
    pub state_dir: std::path::PathBuf,
    /// The HSM port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The admin port on 127.0.0.1; 0 picks a free one.
    pub admin_port: u16,
    /// The clock; [`SystemClock`] unless a test injects another.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SimOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimOptions")
            .field("state_dir", &self.state_dir)
            .field("port", &self.port)
            .field("admin_port", &self.admin_port)
            .finish_non_exhaustive()
    }
}

impl SimOptions {
    /// State in `state_dir`, free ports, the system clock.
    pub fn new(state_dir: impl Into<std::path::PathBuf>) -> Self {
        SimOptions {
            state_dir: state_dir.into(),
            port: 0,
            admin_port: 0,
            clock: Arc::new(SystemClock::default()),
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is inconsistent (e.g. a malformed setup password, a
    /// user behind an undefined proxy).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The state directory could not be prepared.
    #[error(transparent)]
    Files(#[from] FilesError),
    /// The journal could not be read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The TLS configuration could not be built from the state directory's files.
    #[error("simulator tls setup: {0}")]
    Tls(#[from] hsm_wire::TlsConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for; 0 when any free port would have done.
        port: u16,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// A simulator serving in this process. Dropping it stops accepting; call
/// [`RunningSim::shutdown`] to also wait for the tasks.
#[derive(Debug)]
pub struct RunningSim {
    port: u16,
    admin_port: u16,
    paths: StatePaths,
    stop: watch::Sender<bool>,
    stop_requested: watch::Receiver<bool>,
    tasks: JoinSet<()>,
}

async fn bind(port: u16) -> Result<TcpListener, StartError> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|source| StartError::Bind { port, source })
}

fn local_port(listener: &TcpListener, asked: u16) -> Result<u16, StartError> {
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|source| StartError::Bind {
            port: asked,
            source,
        })
}

/// Starts the simulator: prepares the state directory (certificates on first
/// start, `primus.cfg` every start), binds both listeners on 127.0.0.1, then
/// writes the ready file.
pub async fn start(config: SimConfig, options: SimOptions) -> Result<RunningSim, StartError> {
    config.validate()?;
    let paths = StatePaths::new(&options.state_dir);
    create_private_dir(&paths.dir)?;
    files::ensure_certificates(&paths)?;
    let (cert, key) = files::read_server_identity(&paths)?;
    let acceptor = TlsAcceptor::from(hsm_wire::server_config_from_pem(&cert, &key)?);
    let hsm = Arc::new(Hsm::new(&config, options.clock.clone(), &paths.journal)?);

    let listener = bind(options.port).await?;
    let port = local_port(&listener, options.port)?;
    let admin = bind(options.admin_port).await?;
    let admin_port = local_port(&admin, options.admin_port)?;
    files::write_atomic(
        &paths.primus_cfg,
        files::render_primus_cfg(&config, port, &paths.ca_file).as_bytes(),
        false,
    )?;

    let (stop, stopped) = watch::channel(false);
    let (request_stop, stop_requested) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tasks.spawn(serve_hsm(listener, acceptor, hsm.clone(), stopped.clone()));
    tasks.spawn(serve_admin(
        admin,
        hsm,
        Arc::new(config),
        request_stop,
        stopped,
    ));

    let ready = Ready {
        pid: std::process::id(),
        port,
        admin_port,
    };
    // Serialising three integers cannot fail.
    let ready_json = serde_json::to_vec(&ready).unwrap_or_default();
    files::write_atomic(&paths.ready, &ready_json, false)?;
    tracing::info!(port, admin_port, state_dir = %paths.dir.display(), "hsm-sim ready");
    Ok(RunningSim {
        port,
        admin_port,
        paths,
        stop,
        stop_requested,
        tasks,
    })
}

fn create_private_dir(dir: &std::path::Path) -> Result<(), FilesError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| FilesError::Io {
        path: dir.display().to_string(),
        source,
    })
}

impl RunningSim {
    /// The HSM port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin port on 127.0.0.1.
    pub fn admin_port(&self) -> u16 {
        self.admin_port
    }

    /// The state directory's files.
    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    /// Resolves when an admin `shutdown` command arrives.
    pub async fn shutdown_requested(&mut self) {
        // An error means the admin task ended, which also means: stop.
        let _ = self.stop_requested.wait_for(|requested| *requested).await;
    }

    /// Stops both listeners and every connection, waits for their tasks, and
    /// removes the ready file (nothing listens any more).
    pub async fn shutdown(mut self) {
        // Receivers live in the tasks; none left means everything already ended.
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
        if let Err(error) = std::fs::remove_file(&self.paths.ready) {
            tracing::warn!(%error, path = %self.paths.ready.display(), "cannot remove the ready file");
        }
    }
}

/// Accepts connections until told to stop, serving each in its own task with
/// `serve`; at most [`MAX_CONNECTIONS`] at once, the rest wait in the accept queue.
async fn accept_loop<F, Fut>(
    listener: TcpListener,
    mut stopped: watch::Receiver<bool>,
    mut serve: F,
) where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            accepted = listener.accept() => accepted,
        };
        // Reap finished connections so the set stays as small as the live ones.
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                // E.g. too many open files: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let served = serve(tcp, peer);
        connections.spawn(async move {
            served.await;
            drop(slot);
        });
    }
    connections.shutdown().await;
}

async fn serve_hsm(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    hsm: Arc<Hsm>,
    stopped: watch::Receiver<bool>,
) {
    let stop = stopped.clone();
    accept_loop(listener, stopped, move |tcp, peer| {
        let (acceptor, hsm, stopped) = (acceptor.clone(), hsm.clone(), stop.clone());
        async move { serve_connection(tcp, peer, &acceptor, &hsm, stopped).await }
    })
    .await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    acceptor: &TlsAcceptor,
    hsm: &Hsm,
    mut stopped: watch::Receiver<bool>,
) {
    let sequence = hsm.connection_accepted();
    let server = concat!("hsm-sim ", env!("CARGO_PKG_VERSION"));
    let mut conn = match hsm_wire::accept(acceptor, tcp, server, HANDSHAKE_TIMEOUT).await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::info!(%peer, %error, "connection refused");
            return;
        }
    };
    let mut session = Session::new(ClientId::new(&conn.client_hello().client, peer, sequence));
    loop {
        let next = tokio::select! {
            _ = stopped.wait_for(|stop| *stop) => break,
            next = conn.next_request(IDLE_TIMEOUT) => next,
        };
        let request = match next {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(error) => {
                tracing::info!(%peer, %error, "connection ended");
                break;
            }
        };
        if !answer(&mut conn, hsm, &mut session, request, peer).await {
            break;
        }
    }
    hsm.disconnected(&session);
    conn.close().await;
}

/// Answers one request and logs its outcome (never its credentials).
/// Returns false when the connection broke.
async fn answer<S>(
    conn: &mut ServerConnection<S>,
    hsm: &Hsm,
    session: &mut Session,
    request: Request,
    peer: SocketAddr,
) -> bool
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let op = request.op();
    let user = match &request {
        Request::ProxyAuth { proxy_user, .. } => proxy_user.clone(),
        Request::FetchSecret { user, .. }
        | Request::UpdateSecret { user, .. }
        | Request::Login { user, .. }
        | Request::FetchLog { user, .. } => user.clone(),
        _ => String::new(),
    };
    let response = hsm.handle(session, request);
    match &response {
        Response::Error(error) => tracing::info!(%peer, op, user, kind = %error.kind, "refused"),
        _ => tracing::info!(%peer, op, user, "ok"),
    }
    match conn.respond(&response).await {
        Ok(()) => true,
        Err(error) => {
            tracing::info!(%peer, %error, "cannot answer");
            false
        }
    }
}

async fn serve_admin(
    listener: TcpListener,
    hsm: Arc<Hsm>,
    config: Arc<SimConfig>,
    request_stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
) {
    let request_stop = Arc::new(request_stop);
    accept_loop(listener, stopped, move |tcp, _| {
        let (hsm, config, request_stop) = (hsm.clone(), config.clone(), request_stop.clone());
        async move { serve_admin_connection(tcp, &hsm, &config, &request_stop).await }
    })
    .await;
}

fn no_such_user(name: &str) -> AdminResponse {
    AdminResponse::Error {
        message: format!("no user '{name}' in the simulator"),
    }
}

async fn serve_admin_connection(
    tcp: TcpStream,
    hsm: &Hsm,
    config: &SimConfig,
    request_stop: &watch::Sender<bool>,
) {
    let mut stream = FramedStream::new(tcp).with_max_frame_len(ADMIN_MAX_FRAME_LEN);
    loop {
        let response = match stream.recv::<AdminRequest>(Some(IDLE_TIMEOUT)).await {
            Ok(None) | Err(hsm_wire::FrameError::Io(_) | hsm_wire::FrameError::Timeout(_)) => break,
            Ok(Some(AdminRequest::Status)) => AdminResponse::Status(hsm.status(config)),
            Ok(Some(AdminRequest::User { name })) => match hsm.user_report(&name) {
                Some(status) => AdminResponse::User(status),
                None => no_such_user(&name),
            },
            Ok(Some(AdminRequest::IssueSetupPassword { name })) => {
                match hsm.issue_setup_password(&name) {
                    Some(Ok(setup_password)) => AdminResponse::SetupPassword {
                        name,
                        setup_password,
                    },
                    Some(Err(error)) => AdminResponse::Error {
                        message: error.to_string(),
                    },
                    None => no_such_user(&name),
                }
            }
            Ok(Some(AdminRequest::AdvanceClock { ms })) => {
                match hsm.advance_clock(Duration::from_millis(ms)) {
                    Ok(now_unix_ms) => AdminResponse::Clock { now_unix_ms },
                    Err(error) => AdminResponse::Error {
                        message: error.to_string(),
                    },
                }
            }
            Ok(Some(AdminRequest::Shutdown)) => AdminResponse::ShuttingDown,
            Err(error) => AdminResponse::Error {
                message: error.to_string(),
            },
        };
        let shutting_down = response == AdminResponse::ShuttingDown;
        if stream.send(&response).await.is_err() {
            break;
        }
        if shutting_down {
            // The owner may already be stopping; then nobody listens and that is fine.
            let _ = request_stop.send(true);
        }
    }
}
