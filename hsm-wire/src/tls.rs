//! TLS 1.3 configuration for both ends, on rustls with the aws-lc-rs provider.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Server names a client configuration keeps resumption tickets for: every HSM
/// of a large `primus.cfg` fits.
const RESUMPTION_SERVER_NAMES: usize = 1024;

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The PEM file as given (e.g. `ca_file` from `primus.cfg`).
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A PEM file holds no certificate.
    #[error("{what} holds no PEM certificate; expected a file with -----BEGIN CERTIFICATE-----")]
    NoCertificate {
        /// The file, or `CA PEM` / `certificate PEM` when given as bytes.
        what: String,
    },
    /// A PEM file holds no private key.
    #[error("{what} holds no PEM private key; expected a PKCS#8, SEC1 or PKCS#1 key")]
    NoPrivateKey {
        /// The file, or `key PEM` when given as bytes.
        what: String,
    },
    /// A PEM block could not be decoded.
    #[error("{what} is not valid PEM: {source}")]
    Pem {
        /// The file, or which PEM input when given as bytes.
        what: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// rustls refused the certificate, key or settings.
    #[error("tls setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads every certificate from PEM text. `what` names the source in errors.
pub fn certificates_from_pem(
    pem: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsConfigError::Pem {
            what: what.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            what: what.to_owned(),
        });
    }
    Ok(certs)
}

fn read_pem_file(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A client configuration that trusts exactly the certificates in `ca_pem`
/// (the pinned CA; the system roots are not used) and speaks only TLS 1.3.
pub fn client_config_from_ca_pem(
    ca_pem: &[u8],
    what: &str,
) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates_from_pem(ca_pem, what)? {
        roots.add(cert)?;
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // TLS 1.3 session resumption: a later connection with this configuration to
    // the same HSM skips the certificate chain and its verification (a fresh
    // key exchange still runs). Early data stays off (`enable_early_data` is
    // false): 0-RTT data can be replayed, and requests carry credentials.
    config.resumption = Resumption::in_memory_sessions(RESUMPTION_SERVER_NAMES);
    Ok(Arc::new(config))
}

/// [`client_config_from_ca_pem`] reading the CA certificates from `ca_file`.
///
/// One configuration per CA file and content is shared by the whole process,
/// so every connection made through it can resume the TLS sessions of the
/// previous ones. The file is read on every call (a few hundred bytes next to a
/// handshake): a replaced CA file gets a new configuration at once.
pub fn client_config_from_ca_file(ca_file: &Path) -> Result<Arc<ClientConfig>, TlsConfigError> {
    static SHARED: OnceLock<Mutex<HashMap<PathBuf, SharedConfig>>> = OnceLock::new();
    let pem = read_pem_file(ca_file)?;
    let shared = SHARED.get_or_init(Mutex::default);
    // The map is only read and replaced whole per entry, so a poisoned lock still
    // holds valid entries.
    if let Some(known) = shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(ca_file)
    {
        if known.pem == pem {
            return Ok(known.config.clone());
        }
    }
    let config = client_config_from_ca_pem(&pem, &ca_file.display().to_string())?;
    shared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            ca_file.to_owned(),
            SharedConfig {
                pem,
                config: config.clone(),
            },
        );
    Ok(config)
}

/// A client configuration built from a CA file, with the file content it was built from.
struct SharedConfig {
    pem: Vec<u8>,
    config: Arc<ClientConfig>,
}

/// A TLS 1.3-only server configuration presenting `cert_chain_pem` (leaf first)
/// with `key_pem`, without client certificates.
pub fn server_config_from_pem(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let chain = certificates_from_pem(cert_chain_pem, "certificate PEM")?;
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|source| TlsConfigError::Pem {
            what: "key PEM".to_owned(),
            source,
        })?
        .ok_or_else(|| TlsConfigError::NoPrivateKey {
            what: "key PEM".to_owned(),
        })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // Stateless TLS 1.3 resumption tickets (encrypted under a rotating key held
    // in memory), so any number of clients can resume without a server-side
    // session cache to outgrow. Early data stays off (`max_early_data_size` is 0).
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()?;
    Ok(Arc::new(config))
}
