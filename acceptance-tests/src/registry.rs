//! A web server on 127.0.0.1 for Terraform to install providers from:
//! HTTPS with a certificate from a CA made for the test (Terraform trusts it
//! through `SSL_CERT_FILE`), serving fixed files by path. That is all
//! service discovery, the provider registry protocol and the provider
//! network mirror protocol need: every answer is a JSON document or a file.
//!
//! A minimal HTTP/1.1 responder (one request per connection, `GET` and
//! `HEAD`), not a framework: the tests control every byte Terraform sees.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// The longest request head read; Terraform's are a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// One file the server answers with.
#[derive(Clone)]
struct Document {
    content_type: &'static str,
    body: Arc<Vec<u8>>,
}

#[derive(Default)]
struct Site {
    documents: HashMap<String, Document>,
    /// Every path requested, in order, found or not.
    requested: Vec<String>,
}

/// An HTTPS server on `127.0.0.1` (named `localhost` in its certificate),
/// answering `GET`/`HEAD` for the paths given to [`StaticHttps::serve`] and
/// 404 for the rest. Stops when dropped.
pub struct StaticHttps {
    port: u16,
    site: Arc<Mutex<Site>>,
    ca_file: PathBuf,
    _dir: tempfile::TempDir,
    /// Runs the accept loop; dropping it stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl StaticHttps {
    /// Makes a CA and a server certificate for `localhost` and `127.0.0.1`,
    /// and starts serving on a free port.
    ///
    /// # Panics
    ///
    /// When the certificates cannot be made or the port cannot be bound.
    pub fn start() -> StaticHttps {
        let dir = tempfile::tempdir().expect("temp dir for the test CA");
        let (ca_pem, cert_pem, key_pem) = test_pki();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca_pem).expect("test CA written");
        let tls = hsm_wire::server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
            .expect("TLS server configuration from the test certificate");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime for the HTTPS server");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("a free port on 127.0.0.1");
        let port = listener.local_addr().expect("bound address").port();
        let site = Arc::new(Mutex::new(Site::default()));
        runtime.spawn(accept_loop(listener, TlsAcceptor::from(tls), site.clone()));
        StaticHttps {
            port,
            site,
            ca_file,
            _dir: dir,
            _runtime: runtime,
        }
    }

    /// `localhost:PORT`: the host part of URLs and provider source addresses.
    pub fn host(&self) -> String {
        format!("localhost:{}", self.port)
    }

    /// `https://localhost:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.host())
    }

    /// The CA certificate (PEM) that signed the server's certificate: what
    /// `SSL_CERT_FILE` must name for Terraform to trust the server.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Answers `path` with `body`, from now on (replacing what it served).
    pub fn serve(&self, path: &str, content_type: &'static str, body: impl Into<Vec<u8>>) {
        let document = Document {
            content_type,
            body: Arc::new(body.into()),
        };
        lock(&self.site).documents.insert(path.to_owned(), document);
    }

    /// Answers `path` with `value` as `application/json`.
    pub fn serve_json(&self, path: &str, value: &serde_json::Value) {
        self.serve(path, "application/json", value.to_string());
    }

    /// Serves every file under `dir` at `prefix` followed by its relative
    /// path (JSON files as `application/json`).
    ///
    /// # Panics
    ///
    /// When `dir` cannot be read.
    pub fn serve_dir(&self, prefix: &str, dir: &Path) {
        let mut pending = vec![dir.to_path_buf()];
        while let Some(next) = pending.pop() {
            for entry in std::fs::read_dir(&next).expect("directory to serve is readable") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(dir).expect("under the served directory");
                let content_type = if path.extension().is_some_and(|e| e == "json") {
                    "application/json"
                } else {
                    "application/octet-stream"
                };
                let body = std::fs::read(&path).expect("file to serve is readable");
                self.serve(
                    &format!("{prefix}{}", relative.display()),
                    content_type,
                    body,
                );
            }
        }
    }

    /// Every path requested so far, in order.
    pub fn requested(&self) -> Vec<String> {
        lock(&self.site).requested.clone()
    }
}

/// A poisoned lock only means another connection's task panicked; the map is still whole.
fn lock(site: &Mutex<Site>) -> std::sync::MutexGuard<'_, Site> {
    site.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A CA (PEM), and a certificate for `localhost` and `127.0.0.1` it signed
/// with its key (PEM).
fn test_pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "acceptance-tests registry CA");
    let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("server key");
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("server certificate parameters")
        .signed_by(&key, &issuer)
        .expect("server certificate");
    (ca_pem, cert.pem(), key.serialize_pem())
}

async fn accept_loop(listener: TcpListener, acceptor: TlsAcceptor, site: Arc<Mutex<Site>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let site = site.clone();
        tokio::spawn(async move {
            // A client that goes away mid-request is its own business.
            if let Ok(tls) = acceptor.accept(stream).await {
                let _ = respond(tls, &site).await;
            }
        });
    }
}

/// Reads one request head and writes the answer, then closes.
async fn respond<S>(mut stream: S, site: &Mutex<Site>) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > MAX_REQUEST_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default();
    let target = request_line.next().unwrap_or_default();
    let path = percent_decode(target.split('?').next().unwrap_or_default());
    let document = {
        let mut site = lock(site);
        site.requested.push(path.clone());
        site.documents.get(&path).cloned()
    };
    let (status, content_type, body) = match (method, document) {
        ("GET" | "HEAD", Some(doc)) => ("200 OK", doc.content_type, doc.body),
        ("GET" | "HEAD", None) => (
            "404 Not Found",
            "text/plain",
            Arc::new(b"not found".to_vec()),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            Arc::new(b"GET or HEAD only".to_vec()),
        ),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&body).await?;
    }
    stream.shutdown().await
}

/// `%XX` escapes decoded (Terraform escapes the `:` of `localhost:PORT` in mirror URLs).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
