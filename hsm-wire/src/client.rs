//! The async client: one TLS connection to one HSM, one request at a time.

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use primus_core::{Password, Secret};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::frame::{FrameError, FramedStream};
use crate::message::{
    ClientHello, ErrorKind, HelloFrame, HelloReplyFrame, LogOrder, Request, Response, ServerHello,
    ServerVersion, WireError, PROTOCOL_VERSION,
};
use crate::tls::{client_config_from_ca_file, TlsConfigError};
use crate::vendor_code::VendorCode;

/// Default limit for TCP connect plus TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default limit for each answer from the server.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a client operation failed.
///
/// [`ClientError::is_connection_failure`] says whether trying another HSM of the
/// same cluster is safe; an answer from the HSM never is (auth failures are not retried).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The host name cannot be used as a TLS server name.
    #[error("invalid TLS server name {name:?}")]
    InvalidServerName {
        /// The name as given, neither a DNS name nor an IP address.
        name: String,
    },
    /// The TCP connection could not be opened, or the HSM closed it during the TLS handshake.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// TCP connect and TLS handshake together took longer than the connect timeout.
    #[error("cannot connect to {addr}: no connection within {timeout:?}")]
    ConnectTimeout {
        /// `host:port`.
        addr: String,
        /// The connector's connect timeout.
        timeout: Duration,
    },
    /// rustls refused the TLS handshake, e.g. the server certificate is not signed
    /// by the configured CA or does not name the host: a configuration error.
    #[error("tls handshake with {addr} failed: {source}")]
    Tls {
        /// `host:port`.
        addr: String,
        /// Why (rustls's reason inside).
        source: io::Error,
    },
    /// The connection failed during the version handshake, before any credential was sent.
    #[error("version handshake with {addr} failed: {source}")]
    Handshake {
        /// `host:port`.
        addr: String,
        /// What broke: the connection, a timeout, or a malformed or oversized frame.
        source: FrameError,
    },
    /// The connection failed while a request was on its way or awaiting its answer.
    /// The server may have acted on the request.
    #[error("connection to {addr} failed during {op}: {source}")]
    Broken {
        /// `host:port`.
        addr: String,
        /// The request's operation.
        op: &'static str,
        /// What broke: the connection, a timeout, or a malformed or oversized frame.
        source: FrameError,
    },
    /// The server answered with an error.
    #[error("{addr} refused {op}: {error}")]
    Hsm {
        /// `host:port`.
        addr: String,
        /// The request's operation.
        op: &'static str,
        /// The server's error.
        error: WireError,
    },
    /// The server sent an answer that does not fit the request.
    #[error("{addr} answered {op} with an unexpected {got} message")]
    Protocol {
        /// `host:port`.
        addr: String,
        /// The request's operation (or `hello`).
        op: &'static str,
        /// The `type` of the answer received.
        got: &'static str,
    },
}

impl ClientError {
    /// True when the HSM could not be reached or failed before any credential was
    /// sent, so trying another HSM of the same cluster is safe.
    pub fn is_connection_failure(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. }
                | ClientError::ConnectTimeout { .. }
                | ClientError::Handshake { .. }
        )
    }

    /// The server's error, when the server answered with one.
    pub fn wire_error(&self) -> Option<&WireError> {
        match self {
            ClientError::Hsm { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The server's error kind, when the server answered with an error.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.wire_error().map(|e| e.kind)
    }

    /// The vendor error code: the server's where it sent one, 0x8000003B
    /// (connect timeout) when the HSM did not answer the connection in time,
    /// 0x80005015 (network failure) for other failures to reach or talk to the HSM.
    pub fn vendor_code(&self) -> Option<VendorCode> {
        match self {
            ClientError::Hsm { error, .. } => error.vendor_code,
            ClientError::ConnectTimeout { .. } => Some(VendorCode::CONNECT_TIMEOUT),
            ClientError::Connect { .. }
            | ClientError::Tls { .. }
            | ClientError::Handshake { .. }
            | ClientError::Broken { .. } => Some(VendorCode::NETWORK_FAILURE),
            ClientError::InvalidServerName { .. } | ClientError::Protocol { .. } => None,
        }
    }
}

/// The most pages [`Connection::fetch_log`] asks for: at
/// [`LOG_PAGE_BYTES`](crate::LOG_PAGE_BYTES) each, far more than an HSM's log ring holds.
const MAX_LOG_PAGES: usize = 4096;

/// Which entries of a partition log [`Connection::fetch_log`] fetches, in which order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Only entries at or after this instant (`--since`); `None`: every entry the HSM keeps.
    pub since: Option<SystemTime>,
    /// Oldest first, or newest first (`--reverse`).
    pub order: LogOrder,
}

/// Opens [`Connection`]s: the pinned TLS configuration plus timeouts.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    connect_timeout: Duration,
    read_timeout: Duration,
    client_name: String,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("client_name", &self.client_name)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector using `tls` (see [`crate::client_config_from_ca_pem`]) and the default timeouts.
    pub fn new(tls: Arc<rustls::ClientConfig>) -> Self {
        Connector {
            tls: TlsConnector::from(tls),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            client_name: concat!("hsm-wire ", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// A connector trusting only the CA certificates in `ca_file`.
    pub fn from_ca_file(ca_file: &std::path::Path) -> Result<Self, TlsConfigError> {
        Ok(Connector::new(client_config_from_ca_file(ca_file)?))
    }

    /// Whether `other` uses the very same TLS client configuration (the same
    /// pinned CA, and so the same store of resumable sessions).
    pub fn shares_tls_config(&self, other: &Connector) -> bool {
        Arc::ptr_eq(self.tls.config(), other.tls.config())
    }

    /// Sets the limit for TCP connect plus TLS handshake.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the limit for each answer from the server.
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets the client name sent in the hello (e.g. `ppin 0.1.0`).
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = name.into();
        self
    }

    /// Connects to `host:port`, verifies the server certificate for `server_name`
    /// (`None`: for `host`; an IP address is checked against the certificate's IP
    /// SANs), and performs the version handshake.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        server_name: Option<&str>,
    ) -> Result<Connection, ClientError> {
        let target = Target::new(host, port, server_name);
        let Target {
            addr,
            server_name: name,
        } = &target;
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| ClientError::InvalidServerName { name: name.clone() })?;
        let tls = tokio::time::timeout(
            self.connect_timeout,
            self.open_tls(host, port, server_name, addr),
        )
        .await
        .map_err(|_| ClientError::ConnectTimeout {
            addr: addr.clone(),
            timeout: self.connect_timeout,
        })??;
        let mut stream = FramedStream::new(tls);
        let server = self.hello(&mut stream, addr).await?;
        Ok(Connection {
            stream,
            read_timeout: self.read_timeout,
            server,
            target,
            in_sync: true,
            proxy_authenticated: false,
        })
    }

    /// Opens the TCP connection and completes the TLS handshake (no time limit of its own).
    async fn open_tls(
        &self,
        host: &str,
        port: u16,
        server_name: ServerName<'static>,
        addr: &str,
    ) -> Result<TlsStream<TcpStream>, ClientError> {
        let connect_failure = |source| ClientError::Connect {
            addr: addr.to_owned(),
            source,
        };
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(connect_failure)?;
        // Requests are small and answered one by one; Nagle would only add latency.
        tcp.set_nodelay(true).map_err(connect_failure)?;
        self.tls.connect(server_name, tcp).await.map_err(|source| {
            // rustls's own verdicts (certificate, protocol) are configuration errors;
            // anything else (reset, EOF) means the HSM went away mid-handshake.
            let rustls_verdict = source
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>());
            if rustls_verdict {
                ClientError::Tls {
                    addr: addr.to_owned(),
                    source,
                }
            } else {
                connect_failure(source)
            }
        })
    }

    /// The version handshake: offers [`PROTOCOL_VERSION`] and returns the server's
    /// hello when it chose that version.
    async fn hello(
        &self,
        stream: &mut FramedStream<TlsStream<TcpStream>>,
        addr: &str,
    ) -> Result<ServerHello, ClientError> {
        let hello = HelloFrame::Hello(ClientHello {
            versions: vec![PROTOCOL_VERSION],
            client: self.client_name.clone(),
        });
        let handshake = |source| ClientError::Handshake {
            addr: addr.to_owned(),
            source,
        };
        stream.send(&hello).await.map_err(handshake)?;
        let answer: HelloReplyFrame = stream
            .recv(Some(self.read_timeout))
            .await
            .map_err(handshake)?
            .ok_or(FrameError::Truncated)
            .map_err(handshake)?;
        match answer {
            HelloReplyFrame::Hello(hello) if hello.version == PROTOCOL_VERSION => Ok(hello),
            HelloReplyFrame::Hello(_) => Err(ClientError::Protocol {
                addr: addr.to_owned(),
                op: "hello",
                got: "hello",
            }),
            HelloReplyFrame::Error(error) => Err(ClientError::Hsm {
                addr: addr.to_owned(),
                op: "hello",
                error,
            }),
        }
    }
}

/// An open, handshaken connection to one HSM.
#[derive(Debug)]
pub struct Connection {
    stream: FramedStream<TlsStream<TcpStream>>,
    read_timeout: Duration,
    server: ServerHello,
    target: Target,
    /// False from sending a request until its answer arrived whole: a failure in
    /// between leaves the stream where no next request can follow.
    in_sync: bool,
    /// A `proxy_auth` succeeded: the server now lets this connection act for the
    /// proxy's users, so it must not be handed to anyone else.
    proxy_authenticated: bool,
}

/// Where a connection goes: what a pooled connection is looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Target {
    /// `host:port`.
    pub(crate) addr: String,
    /// The name the server certificate was verified for.
    pub(crate) server_name: String,
}

impl Target {
    /// `host:port`, its certificate verified for `server_name` or else for `host`.
    pub(crate) fn new(host: &str, port: u16, server_name: Option<&str>) -> Self {
        Target {
            addr: format!("{host}:{port}"),
            server_name: server_name.unwrap_or(host).to_owned(),
        }
    }
}

impl Connection {
    /// The server's hello (chosen protocol version, server name).
    pub fn server_hello(&self) -> &ServerHello {
        &self.server
    }

    /// The `host:port` this connection goes to.
    pub fn peer(&self) -> &str {
        &self.target.addr
    }

    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// True when the TLS handshake resumed an earlier session of the same client
    /// configuration instead of a full handshake with the certificate chain.
    pub fn tls_resumed(&self) -> bool {
        self.stream.get_ref().get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    /// True when another operation may use this connection: every request got
    /// its whole answer, and it carries no service proxy authentication.
    pub fn is_reusable(&self) -> bool {
        self.in_sync && !self.proxy_authenticated
    }

    /// Sends `request` and returns the server's answer; an `error` answer becomes
    /// [`ClientError::Hsm`]. Never retries.
    pub async fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let op = request.op();
        let broken = |source| ClientError::Broken {
            addr: self.target.addr.clone(),
            op,
            source,
        };
        self.in_sync = false;
        self.stream.send(request).await.map_err(broken)?;
        let answer: Option<Response> = self
            .stream
            .recv(Some(self.read_timeout))
            .await
            .map_err(broken)?;
        self.in_sync = answer.is_some();
        match answer {
            None => Err(broken(FrameError::Truncated)),
            Some(Response::Error(error)) => Err(ClientError::Hsm {
                addr: self.target.addr.clone(),
                op,
                error,
            }),
            Some(response) => Ok(response),
        }
    }

    fn unexpected(&self, op: &'static str, response: &Response) -> ClientError {
        let got = match response {
            Response::Ok => "ok",
            Response::Secret { .. } => "secret",
            Response::Version(_) => "version",
            Response::LogPage { .. } => "log_page",
            Response::Error(_) => "error",
        };
        ClientError::Protocol {
            addr: self.target.addr.clone(),
            op,
            got,
        }
    }

    async fn expect_ok(&mut self, request: Request) -> Result<(), ClientError> {
        match self.request(&request).await? {
            Response::Ok => Ok(()),
            other => Err(self.unexpected(request.op(), &other)),
        }
    }

    async fn expect_secret(&mut self, request: Request) -> Result<Secret, ClientError> {
        match self.request(&request).await? {
            Response::Secret { secret } => Ok(secret),
            other => Err(self.unexpected(request.op(), &other)),
        }
    }

    /// Authenticates this connection as the CloudHSM service proxy `proxy_user`.
    pub async fn proxy_auth(
        &mut self,
        proxy_user: &str,
        password: &Password,
    ) -> Result<(), ClientError> {
        // Set before asking: even a refused or broken attempt leaves the connection
        // out of any pool, as the server's view of it is no longer plain.
        self.proxy_authenticated = true;
        self.expect_ok(Request::ProxyAuth {
            proxy_user: proxy_user.to_owned(),
            password: password.clone(),
        })
        .await
    }

    /// Trades the setup and PKCS#11 passwords for `user`'s permanent secret.
    pub async fn fetch_secret(
        &mut self,
        user: &str,
        setup_password: &Password,
        pkcs11_password: &Password,
    ) -> Result<Secret, ClientError> {
        self.expect_secret(Request::FetchSecret {
            user: user.to_owned(),
            setup_password: setup_password.clone(),
            pkcs11_password: pkcs11_password.clone(),
        })
        .await
    }

    /// Has the server issue a new permanent secret for `user`, invalidating the old one.
    pub async fn update_secret(
        &mut self,
        user: &str,
        setup_password: &Password,
        pkcs11_password: &Password,
    ) -> Result<Secret, ClientError> {
        self.expect_secret(Request::UpdateSecret {
            user: user.to_owned(),
            setup_password: setup_password.clone(),
            pkcs11_password: pkcs11_password.clone(),
        })
        .await
    }

    /// Logs in as `user` with the permanent secret.
    pub async fn login(&mut self, user: &str, secret: &Secret) -> Result<(), ClientError> {
        self.expect_ok(Request::Login {
            user: user.to_owned(),
            secret: secret.clone(),
        })
        .await
    }

    /// Fetches `user`'s partition log (`ppin --fetchlog`), logging in with the
    /// permanent secret, page by page until the last: whole lines in the
    /// vendor's format, in `query`'s order. A wrong secret counts one API-login
    /// trial, as a `login` does, and is not retried.
    pub async fn fetch_log(
        &mut self,
        user: &str,
        secret: &Secret,
        query: &LogQuery,
    ) -> Result<Vec<String>, ClientError> {
        let since_unix_ms = query.since.map(|since| {
            let millis = since
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            u64::try_from(millis).unwrap_or(u64::MAX)
        });
        let mut lines = Vec::new();
        let mut cursor = None;
        for _ in 0..MAX_LOG_PAGES {
            let request = Request::FetchLog {
                user: user.to_owned(),
                secret: secret.clone(),
                since_unix_ms,
                order: query.order,
                cursor,
            };
            let (page, next) = match self.request(&request).await? {
                Response::LogPage { lines, next } => (lines, next),
                other => return Err(self.unexpected("fetch_log", &other)),
            };
            // Each page must move on, or a broken server would keep us asking.
            let moved_on = match (cursor, next) {
                (_, None) | (None, Some(_)) => true,
                (Some(at), Some(next)) => match query.order {
                    LogOrder::OldestFirst => next > at,
                    LogOrder::NewestFirst => next < at,
                },
            };
            if page.is_empty() && next.is_some() || !moved_on {
                return Err(ClientError::Protocol {
                    addr: self.target.addr.clone(),
                    op: "fetch_log",
                    got: "log_page that does not move on",
                });
            }
            lines.extend(page);
            match next {
                None => return Ok(lines),
                Some(next) => cursor = Some(next),
            }
        }
        Err(ClientError::Protocol {
            addr: self.target.addr.clone(),
            op: "fetch_log",
            got: "log_page beyond the page limit",
        })
    }

    /// Asks the server for its version.
    pub async fn version(&mut self) -> Result<ServerVersion, ClientError> {
        match self.request(&Request::Version).await? {
            Response::Version(version) => Ok(version),
            other => Err(self.unexpected("version", &other)),
        }
    }

    /// Closes the connection cleanly.
    pub async fn close(mut self) {
        self.stream.shutdown().await;
    }
}
