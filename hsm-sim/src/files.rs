//! The files in the state directory: TLS material, `primus.cfg`, the ready file.

use std::io;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde::{Deserialize, Serialize};

use ppin::{HsmSettings, PrimusConfig, SlotSettings};

use crate::config::SimConfig;

/// Where the simulator keeps its files, all inside one state directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    /// The state directory; every other path here is inside it.
    pub dir: PathBuf,
    /// The CA certificate clients must trust (PEM); named by `ca_file` in `primus.cfg`.
    pub ca_file: PathBuf,
    /// The server certificate chain (PEM).
    pub server_cert: PathBuf,
    /// The server private key (PEM, mode 0600).
    pub server_key: PathBuf,
    /// The ready-to-use client configuration.
    pub primus_cfg: PathBuf,
    /// Where clients started against this simulator keep their secrets (not created by the simulator).
    pub secrets_cfg: PathBuf,
    /// Issued secrets, setup-password first uses and the clock offset (JSON lines).
    pub journal: PathBuf,
    /// Written once both listeners accept connections: a [`Ready`] in JSON.
    pub ready: PathBuf,
    /// Written in `--dev` mode: `KEY=VALUE` lines to source.
    pub dev_env: PathBuf,
}

impl StatePaths {
    /// The paths inside `dir`.
    pub fn new(dir: &Path) -> Self {
        StatePaths {
            dir: dir.to_owned(),
            ca_file: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
            primus_cfg: dir.join("primus.cfg"),
            secrets_cfg: dir.join(".secrets.cfg"),
            journal: dir.join("journal.jsonl"),
            ready: dir.join("ready.json"),
            dev_env: dir.join("dev.env"),
        }
    }
}

/// The content of the ready file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The simulator's process id.
    pub pid: u32,
    /// The HSM port on 127.0.0.1.
    pub port: u16,
    /// The admin port on 127.0.0.1.
    pub admin_port: u16,
}

/// Why the state directory could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory that failed, as shown in the message.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// Certificate generation failed.
    #[error("cannot generate the simulator's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> FilesError + '_ {
    move |source| FilesError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `content` to `path` durably and atomically (primus-core's replace:
/// temp file, fsync, rename, directory fsync), with mode 0600 when `private`.
pub(crate) fn write_atomic(path: &Path, content: &[u8], private: bool) -> Result<(), FilesError> {
    let mode = if private { 0o600 } else { 0o644 };
    primus_core::replace_file(path, content, mode).map_err(io_error(path))
}

/// Creates the CA and the server certificate on first start; later starts reuse them.
pub(crate) fn ensure_certificates(paths: &StatePaths) -> Result<(), FilesError> {
    if paths.ca_file.exists() && paths.server_cert.exists() && paths.server_key.exists() {
        return Ok(());
    }
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "hsm-sim CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    // Clients connect to 127.0.0.1 (an IP SAN) or to localhost.
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server_params
        .distinguished_name
        .push(DnType::CommonName, "hsm-sim");
    let server_cert = server_params.signed_by(&server_key, &issuer)?;

    // The key first: a crash in between leaves no certificate without its key.
    write_atomic(
        &paths.server_key,
        server_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_atomic(&paths.server_cert, server_cert.pem().as_bytes(), false)?;
    write_atomic(&paths.ca_file, ca_cert.pem().as_bytes(), false)?;
    Ok(())
}

/// Reads the server certificate and key.
pub(crate) fn read_server_identity(
    paths: &StatePaths,
) -> Result<(Vec<u8>, zeroize::Zeroizing<Vec<u8>>), FilesError> {
    let cert = std::fs::read(&paths.server_cert).map_err(io_error(&paths.server_cert))?;
    let key = zeroize::Zeroizing::new(
        std::fs::read(&paths.server_key).map_err(io_error(&paths.server_key))?,
    );
    Ok((cert, key))
}

/// Renders `primus.cfg` in the vendor's libconfig shape for one HSM at
/// `127.0.0.1:port`, plus our optional key `ca_file` (the CA to trust),
/// with ppin's writer (every string escaped).
pub fn render_primus_cfg(config: &SimConfig, port: u16, ca_file: &Path) -> String {
    let mut hsm = HsmSettings::new("hsm0", "127.0.0.1", port);
    hsm.ca_file = Some(ca_file.display().to_string());
    for (position, user) in config.users.iter().enumerate() {
        let mut slot = SlotSettings::new(&user.name, user.slot(position));
        slot.proxy_user = user.proxy_user.clone();
        hsm.slots.push(slot);
    }
    let text = PrimusConfig::render(&[hsm], Path::new("primus.cfg"))
        // Names are validated when the simulator's configuration is read, one HSM has no duplicate.
        .unwrap_or_else(|e| panic!("the simulator's users make an invalid primus.cfg: {e}"));
    format!(
        "# Written by hsm-sim for its HSM on 127.0.0.1:{port}.\n\
         # ca_file is an hsm-sim/ppin extension: the CA that signed the HSM's TLS certificate.\n{text}"
    )
}
