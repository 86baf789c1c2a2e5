//! TLS 1.3 configuration for both ends, on rustls with the aws-lc-rs provider.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

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
    let config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// [`client_config_from_ca_pem`] reading the CA certificates from `ca_file`.
pub fn client_config_from_ca_file(ca_file: &Path) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let pem = read_pem_file(ca_file)?;
    client_config_from_ca_pem(&pem, &ca_file.display().to_string())
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
    let config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}
