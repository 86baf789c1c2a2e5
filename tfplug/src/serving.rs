//! Serving: the go-plugin handshake, AutoMTLS, the side services
//! (controller, stdio, health) and debug mode.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt as _;
use tonic::transport::server::Connected;

use crate::error::ServeError;
use crate::log;
use crate::proto::plugin as gp;
use crate::providers::Provider;
use crate::server::ProviderService;
use crate::tls::{ed25519_pkcs8, server_provider, PinnedCert};

/// go-plugin's magic cookie for Terraform providers.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The value Terraform puts in `MAGIC_COOKIE_KEY`; without it (and outside
/// debug mode) the plugin refuses to serve.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The go-plugin core protocol version (first field of the handshake line).
const CORE_PROTOCOL_VERSION: u32 = 1;
/// The Terraform plugin protocol we speak.
const PLUGIN_PROTOCOL_VERSION: u32 = 6;

/// How to serve.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeOptions {
    /// The provider's registry address, e.g. `registry.terraform.io/acme/thing`,
    /// printed in debug mode for `TF_REATTACH_PROVIDERS`.
    pub address: String,
    /// Debug mode: plaintext, prints `TF_REATTACH_PROVIDERS`, runs until
    /// interrupted. Set by `--debug` on the command line.
    pub debug: bool,
}

impl ServeOptions {
    /// Options for `address`; `debug` is taken from the command line
    /// (`--debug`).
    pub fn new(address: impl Into<String>) -> ServeOptions {
        ServeOptions {
            address: address.into(),
            debug: std::env::args().skip(1).any(|a| a == "--debug"),
        }
    }

    /// Forces debug mode on or off.
    pub fn debug(mut self, on: bool) -> ServeOptions {
        self.debug = on;
        self
    }
}

/// Serves `provider` as Terraform expects; returns when Terraform shuts it
/// down or is gone (its process died), or, in debug mode, on Ctrl-C. Before
/// returning it fires the stop token and waits, for a bounded time, for the
/// operations under way. This is what `main` calls:
///
/// ```no_run
/// # struct MyProvider;
/// # fn doc(p: impl tfplug::provider::Provider) {
/// std::process::exit(tfplug::serve::serve_main(p, "registry.terraform.io/acme/thing"));
/// # }
/// ```
pub async fn serve<P: Provider>(provider: P, options: ServeOptions) -> Result<(), ServeError> {
    log::init(options.debug);
    // Taken first: Terraform may die as soon as it has the handshake line.
    let lifetime = if options.debug {
        Lifetime::UntilInterrupted
    } else {
        Lifetime::Child {
            parent: std::os::unix::process::parent_id(),
        }
    };
    let cookie = std::env::var(MAGIC_COOKIE_KEY).ok();
    if !options.debug && cookie.as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(ServeError::NotStartedByTerraform);
    }
    if !options.debug {
        negotiate_version(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref())?;
    }
    let tls = if options.debug {
        None
    } else {
        let pem =
            std::env::var("PLUGIN_CLIENT_CERT").map_err(|_| ServeError::NoClientCertificate)?;
        Some(AutoTls::new(&pem)?)
    };

    let dir = socket_dir()?;
    let socket = dir.path().join("plugin.sock");
    let listener = UnixListener::bind(&socket).map_err(|source| ServeError::Io {
        context: format!("cannot listen on {}", socket.display()),
        source,
    })?;

    let (shutdown_tx, shutdown_rx) = tokio::sync::mpsc::channel::<()>(1);
    let stop_token = tokio_util::sync::CancellationToken::new();
    let service = ProviderService::new(provider, stop_token.clone());
    let operations = service.operations();
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(gp::grpc_controller_server::GrpcControllerServer::new(
            Controller {
                shutdown: shutdown_tx,
            },
        ))
        .add_service(gp::grpc_stdio_server::GrpcStdioServer::new(Stdio))
        .add_service(
            crate::proto::tfplugin6::provider_server::ProviderServer::new(service)
                .max_decoding_message_size(256 << 20)
                .max_encoding_message_size(256 << 20),
        );

    let incoming = accept_loop(listener, tls.as_ref().map(|t| t.acceptor.clone()));
    match &tls {
        Some(t) => {
            use std::io::Write as _;
            let line = format!(
                "{CORE_PROTOCOL_VERSION}|{PLUGIN_PROTOCOL_VERSION}|unix|{}|grpc|{}\n",
                socket.display(),
                t.server_cert_b64
            );
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(line.as_bytes())
                .and_then(|_| stdout.flush())
                .map_err(|source| ServeError::Io {
                    context: "cannot write the handshake line".to_owned(),
                    source,
                })?;
        }
        None => print_reattach(&options.address, &socket),
    }

    let mut server = tokio::spawn(router.serve_with_incoming(incoming));
    let cause = tokio::select! {
        served = &mut server => {
            drop(dir);
            return match served {
                Ok(r) => r.map_err(|e| ServeError::Grpc(e.to_string())),
                Err(e) => Err(ServeError::Grpc(e.to_string())),
            };
        }
        cause = stop_cause(shutdown_rx, lifetime) => cause,
    };
    tracing::debug!(?cause, "stopping the provider");
    // Operations that have not yet sent a credential give up now; the
    // others finish (the server keeps answering them) within the grace
    // period, and new requests are refused.
    stop_token.cancel();
    operations.close();
    if tokio::time::timeout(IN_FLIGHT_GRACE, operations.wait())
        .await
        .is_err()
    {
        tracing::error!(
            grace_secs = IN_FLIGHT_GRACE.as_secs(),
            "operations still running after the grace period are abandoned"
        );
    }
    server.abort();
    drop(dir);
    Ok(())
}

/// How long a stopping provider waits for operations under way. One may
/// be storing a secret the HSM already issued: cutting it off would lose
/// that secret, so the wait is generous, yet bounded so that a hung
/// operation cannot keep an orphan alive.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(30);

/// How often the parent process is checked for.
const PARENT_POLL: Duration = Duration::from_millis(200);

/// Why the provider stops serving.
#[derive(Debug)]
enum StopCause {
    /// Terraform called the go-plugin controller's Shutdown.
    Shutdown,
    /// Ctrl-C in debug mode.
    Interrupted,
    /// The process that started us (Terraform) is gone.
    ParentGone,
}

/// What ends serving, besides the controller's Shutdown.
#[derive(Clone, Copy, Debug)]
enum Lifetime {
    /// Started by Terraform: serve while the parent with this pid lives.
    /// SIGINT is ignored, as go-plugin does: Ctrl-C in a terminal reaches
    /// the whole process group, and Terraform answers it with StopProvider
    /// and lets operations finish.
    Child { parent: u32 },
    /// Debug mode, started by hand: serve until Ctrl-C.
    UntilInterrupted,
}

/// Waits for a reason to stop.
async fn stop_cause(
    mut shutdown: tokio::sync::mpsc::Receiver<()>,
    lifetime: Lifetime,
) -> StopCause {
    let interrupted = async {
        loop {
            if tokio::signal::ctrl_c().await.is_err() {
                // No signal handling: never report an interrupt.
                std::future::pending::<()>().await;
            }
            match lifetime {
                Lifetime::UntilInterrupted => return,
                Lifetime::Child { .. } => {
                    tracing::info!("ignoring an interrupt: Terraform stops the provider itself")
                }
            }
        }
    };
    let parent_gone = async {
        match lifetime {
            Lifetime::Child { parent } => parent_gone(parent).await,
            Lifetime::UntilInterrupted => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown.recv() => {
            tracing::debug!("shutdown requested by the client");
            StopCause::Shutdown
        }
        () = interrupted => {
            tracing::info!("interrupted");
            StopCause::Interrupted
        }
        () = parent_gone => {
            tracing::warn!("terraform is gone (the parent process exited)");
            StopCause::ParentGone
        }
    }
}

/// Resolves when the parent process has died: our parent pid is no longer
/// `parent` (we were re-parented to init or a subreaper). Polling is used
/// rather than `PR_SET_PDEATHSIG`, which fires when the parent *thread*
/// exits and so spuriously under Go's threads. Neither stdin nor the
/// connection is a reliable sign: go-plugin hands the provider Terraform's
/// own stdin, and gRPC clients close idle connections and reconnect.
async fn parent_gone(parent: u32) {
    let mut tick = tokio::time::interval(PARENT_POLL);
    loop {
        tick.tick().await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

/// Runs [`serve`] on a new tokio runtime and returns the process exit code;
/// prints a human message to stderr when serving fails (e.g. when run by
/// hand without `--debug`).
pub fn serve_main<P: Provider>(provider: P, address: &str) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(serve(provider, ServeOptions::new(address)));
    // Outstanding RPC tasks must not delay the exit Terraform waits for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn negotiate_version(offered: Option<&str>) -> Result<(), ServeError> {
    let Some(list) = offered.filter(|s| !s.trim().is_empty()) else {
        // A client that sends no list is a legacy one; go-plugin then
        // serves our only version and lets the client decide.
        return Ok(());
    };
    if list
        .split(',')
        .any(|v| v.trim().parse::<u32>() == Ok(PLUGIN_PROTOCOL_VERSION))
    {
        Ok(())
    } else {
        Err(ServeError::UnsupportedProtocol {
            offered: list.to_owned(),
        })
    }
}

fn socket_dir() -> Result<tempfile::TempDir, ServeError> {
    let parent = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::Builder::new()
        .prefix("tfplug-")
        .tempdir_in(&parent)
        .map_err(|source| ServeError::Io {
            context: format!("cannot create a socket directory in {}", parent.display()),
            source,
        })?;
    // Mode 0700, set before the socket exists: only this user can reach it.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).map_err(
        |source| ServeError::Io {
            context: format!("cannot restrict {}", dir.path().display()),
            source,
        },
    )?;
    Ok(dir)
}

fn print_reattach(address: &str, socket: &Path) {
    let reattach = serde_json::json!({
        address: {
            "Protocol": "grpc",
            "ProtocolVersion": PLUGIN_PROTOCOL_VERSION,
            "Pid": std::process::id(),
            "Test": true,
            "Addr": { "Network": "unix", "String": socket.display().to_string() },
        }
    });
    println!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment variable with the following:\n\n\
         \tTF_REATTACH_PROVIDERS='{reattach}'\n"
    );
}

/// A connection as tonic sees it: plain or TLS over a unix socket.
pub(crate) enum Conn {
    Plain(UnixStream),
    Tls(Box<tokio_rustls::server::TlsStream<UnixStream>>),
}

impl Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_flush(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Conn::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Accepts connections; TLS handshakes run in their own tasks so a slow or
/// hostile client cannot block others. Refused handshakes are logged.
fn accept_loop(
    listener: UnixListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
) -> impl tokio_stream::Stream<Item = Result<Conn, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::error!(error = %e, "accept failed");
                    break;
                }
            };
            match &acceptor {
                None => {
                    if tx.send(Conn::Plain(stream)).await.is_err() {
                        break;
                    }
                }
                Some(acceptor) => {
                    let acceptor = acceptor.clone();
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        let handshake =
                            tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                                .await;
                        match handshake {
                            Ok(Ok(tls)) => {
                                // The receiver is gone only when the server stopped.
                                let _ = tx.send(Conn::Tls(Box::new(tls))).await;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "refused a client: TLS handshake failed")
                            }
                            Err(_) => tracing::warn!("refused a client: TLS handshake timed out"),
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx).map(Ok)
}

/// The per-process server certificate and the TLS acceptor that requires
/// exactly the client certificate Terraform put in `PLUGIN_CLIENT_CERT`.
struct AutoTls {
    acceptor: tokio_rustls::TlsAcceptor,
    server_cert_b64: String,
}

impl AutoTls {
    fn new(client_pem: &str) -> Result<AutoTls, ServeError> {
        let provider = Arc::new(server_provider());
        let client_cert = rustls_pemfile::certs(&mut client_pem.as_bytes())
            .next()
            .ok_or_else(|| ServeError::BadClientCertificate("no CERTIFICATE block".to_owned()))?
            .map_err(|e| ServeError::BadClientCertificate(e.to_string()))?;

        let pkcs8 = PrivatePkcs8KeyDer::from(ed25519_pkcs8().map_err(tls_err)?);
        let key = rcgen::KeyPair::try_from(&pkcs8).map_err(tls_err)?;
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls_err)?;
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "HashiCorp");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
            rcgen::KeyUsagePurpose::KeyCertSign,
        ];
        params.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::seconds(30);
        params.not_after = now + time::Duration::days(1);
        let cert = params.self_signed(&key).map_err(tls_err)?;
        let cert_der = cert.der().clone();
        let key_der = PrivateKeyDer::Pkcs8(pkcs8);

        let verifier = Arc::new(PinnedCert::new(client_cert, provider.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert_der.clone()], key_der)
            .map_err(tls_err)?;
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(AutoTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            server_cert_b64: base64::engine::general_purpose::STANDARD_NO_PAD
                .encode(cert_der.as_ref()),
        })
    }
}

fn tls_err(e: impl std::fmt::Display) -> ServeError {
    ServeError::Tls(e.to_string())
}

struct Controller {
    shutdown: tokio::sync::mpsc::Sender<()>,
}

#[tonic::async_trait]
impl gp::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(
        &self,
        _: tonic::Request<gp::Empty>,
    ) -> Result<tonic::Response<gp::Empty>, tonic::Status> {
        let tx = self.shutdown.clone();
        // Stop right after this response is on its way; Terraform waits
        // for the process to exit.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            // A full channel means shutdown is already under way.
            let _ = tx.try_send(());
        });
        Ok(tonic::Response::new(gp::Empty {}))
    }
}

struct Stdio;

#[tonic::async_trait]
impl gp::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = tokio_stream::Pending<Result<gp::StdioData, tonic::Status>>;

    async fn stream_stdio(
        &self,
        _: tonic::Request<()>,
    ) -> Result<tonic::Response<Self::StreamStdioStream>, tonic::Status> {
        // Logs go to stderr directly in the JSON format Terraform reads,
        // so nothing is ever forwarded here; the stream stays open.
        Ok(tonic::Response::new(tokio_stream::pending()))
    }
}
