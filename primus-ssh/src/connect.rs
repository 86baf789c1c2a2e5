//! Opening one authenticated SSH connection: TCP (or a tunnel through a jump
//! host), key exchange with the host key checked, then each key offered once.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::agent::AgentIdentity;
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};

use crate::error::SshError;
use crate::quick_ack::QuickAck;
use crate::settings::{Role, Settings};
use crate::trust::{fingerprint, Trust};

/// An authenticated connection and the host key it was verified with.
pub(crate) struct Session {
    pub(crate) handle: Handle<Verifier>,
    pub(crate) host_key: PublicKey,
}

/// The russh callback: checks the host key during the key exchange, so a
/// refused host never sees a user name, a key or a signature.
pub(crate) struct Verifier {
    trust: Trust,
    verified: Arc<std::sync::Mutex<Option<PublicKey>>>,
}

/// Why the key exchange stopped: our refusal, kept whole, or russh's error.
#[derive(Debug)]
pub(crate) enum HandshakeError {
    Refused(SshError),
    Ssh(russh::Error),
}

impl From<russh::Error> for HandshakeError {
    fn from(error: russh::Error) -> Self {
        Self::Ssh(error)
    }
}

impl client::Handler for Verifier {
    type Error = HandshakeError;

    async fn check_server_key(
        &mut self,
        presented: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A host certificate is judged by the key it certifies: this crate
        // trusts keys, not certificate authorities.
        let key = match presented {
            PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            PublicKeyOrCertificate::Certificate(certificate) => {
                PublicKey::from(certificate.public_key().clone())
            }
        };
        self.trust.verify(&key).map_err(HandshakeError::Refused)?;
        if let Ok(mut verified) = self.verified.lock() {
            *verified = Some(key);
        }
        Ok(true)
    }
}

fn protocol(host: &str, error: impl std::fmt::Display) -> SshError {
    SshError::Protocol {
        host: host.to_owned(),
        problem: error.to_string(),
    }
}

/// Opens and authenticates a connection to `settings.host`, directly or
/// through `via` (an open connection to the jump host). The whole of it is
/// bounded by `settings.timeout`; the error names the step that ran out.
pub(crate) async fn open(
    settings: &Settings,
    role: Role,
    via: Option<&Handle<Verifier>>,
) -> Result<Session, SshError> {
    let trust = settings.trust(role)?;
    // A key that cannot be read is refused before any connection.
    let private_key = match &settings.private_key {
        Some(text) => Some(
            russh::keys::decode_secret_key(text.expose_secret(), None)
                .map_err(|error| key_problem(&error, role))?,
        ),
        None => None,
    };
    let label = trust.label.clone();
    let deadline = Instant::now() + settings.timeout;
    let timed_out = |during| SshError::Timeout {
        host: label.clone(),
        during,
        after: settings.timeout,
    };
    let verified = Arc::new(std::sync::Mutex::new(None));
    let verifier = Verifier {
        trust,
        verified: verified.clone(),
    };
    let config = client_config(&verifier.trust);

    let handshake = match via {
        None => {
            let stream = timeout_at(
                deadline,
                tokio::net::TcpStream::connect((settings.host.as_str(), settings.port)),
            )
            .await
            .map_err(|_| timed_out("opening the TCP connection"))?
            .map_err(|error| SshError::Connect {
                host: label.clone(),
                reason: Arc::new(error),
            })?;
            // Latency only: a socket without it works the same.
            let _ = stream.set_nodelay(true);
            handshake(config, QuickAck::new(stream), verifier, deadline).await
        }
        Some(jump) => {
            let channel = timeout_at(
                deadline,
                jump.channel_open_direct_tcpip(
                    settings.host.as_str(),
                    u32::from(settings.port),
                    "127.0.0.1",
                    0,
                ),
            )
            .await
            .map_err(|_| timed_out("opening the tunnel through the bastion"))?
            .map_err(|error| {
                protocol(&label, format!("the bastion refused the tunnel: {error}"))
            })?;
            handshake(config, channel.into_stream(), verifier, deadline).await
        }
    };
    let mut handle = match handshake {
        Ok(handle) => handle,
        Err(None) => return Err(timed_out("exchanging keys")),
        Err(Some(HandshakeError::Refused(error))) => return Err(error),
        Err(Some(HandshakeError::Ssh(error))) => return Err(protocol(&label, error)),
    };
    let host_key = verified
        .lock()
        .ok()
        .and_then(|mut verified| verified.take())
        .ok_or_else(|| protocol(&label, "the key exchange ended without a host key"))?;

    timeout_at(
        deadline,
        authenticate(&mut handle, settings, private_key, &label),
    )
    .await
    .map_err(|_| timed_out("authenticating"))??;
    Ok(Session { handle, host_key })
}

/// The client's configuration for one host. It asks first for the host key
/// types trusted for the host, then the rest in russh's order, so a host
/// with several keys presents the one we know and an unknown host its best.
fn client_config(trust: &Trust) -> Arc<client::Config> {
    let mut preferred = russh::Preferred::default();
    let mut algorithms = trust.known_algorithms();
    for algorithm in preferred.key.iter() {
        if !algorithms.contains(algorithm) {
            algorithms.push(algorithm.clone());
        }
    }
    preferred.key = algorithms.into();
    Arc::new(client::Config {
        preferred,
        // A host that vanishes (no RST) is noticed within 3 x 15 s, so a
        // pooled connection never hangs its channels for good.
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        ..client::Config::default()
    })
}

/// The key exchange; `Err(None)` when the deadline passed.
async fn handshake<S>(
    config: Arc<client::Config>,
    stream: S,
    verifier: Verifier,
    deadline: Instant,
) -> Result<Handle<Verifier>, Option<HandshakeError>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match timeout_at(deadline, client::connect_stream(config, stream, verifier)).await {
        Ok(result) => result.map_err(Some),
        Err(_) => Err(None),
    }
}

/// Offers `private_key`, then each agent key, once each, and stops at the
/// first accepted. A refusal is final: the caller never retries.
async fn authenticate(
    handle: &mut Handle<Verifier>,
    settings: &Settings,
    private_key: Option<PrivateKey>,
    label: &str,
) -> Result<(), SshError> {
    let mut tried = Vec::new();
    if let Some(key) = private_key {
        let offered = fingerprint(key.public_key());
        let hash = rsa_hash(handle, label).await?;
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), hash);
        let result = handle
            .authenticate_publickey(settings.user.as_str(), key)
            .await
            .map_err(|error| protocol(label, error))?;
        if matches!(result, AuthResult::Success) {
            return Ok(());
        }
        tried.push(format!("private_key ({offered})"));
    }
    if settings.agent {
        let mut agent = AgentClient::connect_env()
            .await
            .map_err(|error| SshError::Agent {
                problem: format!("cannot connect: {error}"),
            })?;
        let identities = agent
            .request_identities()
            .await
            .map_err(|error| SshError::Agent {
                problem: format!("cannot list its keys: {error}"),
            })?;
        let hash = rsa_hash(handle, label).await?;
        for identity in identities {
            let AgentIdentity::PublicKey { key, .. } = identity else {
                continue;
            };
            let offered = fingerprint(&key);
            let result = handle
                .authenticate_publickey_with(settings.user.as_str(), key, hash, &mut agent)
                .await
                .map_err(|error| SshError::Agent {
                    problem: format!("signing with {offered} failed: {error}"),
                })?;
            if matches!(result, AuthResult::Success) {
                return Ok(());
            }
            tried.push(format!("agent key ({offered})"));
        }
        if tried.is_empty() {
            return Err(SshError::Agent {
                problem: "holds no key; add one with ssh-add or set private_key".to_owned(),
            });
        }
    }
    Err(SshError::Authentication {
        host: label.to_owned(),
        user: settings.user.clone(),
        tried: tried.join(", "),
    })
}

/// The RSA signature hash the server accepts (SHA-2 when it says so).
async fn rsa_hash(
    handle: &Handle<Verifier>,
    label: &str,
) -> Result<Option<russh::keys::HashAlg>, SshError> {
    let best = handle
        .best_supported_rsa_hash()
        .await
        .map_err(|error| protocol(label, error))?;
    Ok(best.flatten())
}

/// Says what is wrong with a private key without quoting any of it.
fn key_problem(error: &russh::keys::Error, role: Role) -> SshError {
    let problem = match error {
        russh::keys::Error::KeyIsEncrypted => {
            "is encrypted with a passphrase; give an unencrypted key, or load it into an SSH \
             agent and set agent = true"
        }
        _ => "could not be read as a private key (OpenSSH, PKCS#8, PEM or PuTTY format expected)",
    };
    SshError::Settings {
        attribute: match role {
            Role::Target => "private_key",
            Role::Bastion => "bastion_private_key",
        },
        problem: problem.to_owned(),
    }
}

/// Bounded wait for one channel request, with the error naming the host.
pub(crate) async fn bounded<T>(
    label: &str,
    during: &'static str,
    limit: Duration,
    future: impl std::future::Future<Output = Result<T, russh::Error>>,
) -> Result<T, SshError> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result.map_err(|error| protocol(label, error)),
        Err(_) => Err(SshError::Timeout {
            host: label.to_owned(),
            during,
            after: limit,
        }),
    }
}
