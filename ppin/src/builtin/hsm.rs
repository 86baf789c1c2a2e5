//! The built-in engine's side of the HSMs: connections taken from the
//! pools, the redundant HSMs of a user tried in order, and every answer
//! turned into a [`PpinError`] that names the HSM.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hsm_wire::{
    ClientError, Connection, ConnectionPool, ServerVersion, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
};

use super::store::ProxyCredentials;
use super::BuiltinEngine;
use crate::config::{Hsm, HsmSlot, PrimusConfig, SlotUser};
use crate::engine::{HsmTest, HsmVersion, SlotTest};
use crate::error::PpinError;
use crate::model::Served;

/// The name this client gives itself in the protocol handshake.
const CLIENT_NAME: &str = concat!("ppin ", env!("CARGO_PKG_VERSION"));

/// Network limits for talking to the HSMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Limit for TCP connect plus TLS handshake with one HSM; when it passes,
    /// the next redundant HSM is tried.
    pub connect: Duration,
    /// Limit for each answer. A request that times out is not retried
    /// anywhere: the HSM may have counted it.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: DEFAULT_CONNECT_TIMEOUT,
            read: DEFAULT_READ_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// Both limits given.
    pub fn new(connect: Duration, read: Duration) -> Self {
        Timeouts { connect, read }
    }
}

/// An authenticated connection, the HSM it goes to and the pool it returns to.
pub(super) struct Session {
    pub(super) connection: Connection,
    pool: Arc<ConnectionPool>,
    pub(super) hsm: Hsm,
    proxy_user: Option<String>,
}

impl BuiltinEngine {
    /// A connection to `hsm`: an idle one of its pool that just answered a
    /// `version` request (no credential), else a new one.
    async fn connect(
        &self,
        hsm: &Hsm,
    ) -> Result<(Connection, Arc<ConnectionPool>), ConnectFailure> {
        let ca_file = hsm.ca_file.as_deref().ok_or(ConnectFailure::NoCaFile)?;
        let pool = self
            .pools
            .pool(ca_file, |connector| {
                connector
                    .with_connect_timeout(self.timeouts.connect)
                    .with_read_timeout(self.timeouts.read)
                    .with_client_name(CLIENT_NAME)
            })
            .map_err(ConnectFailure::Tls)?;
        let connection = pool
            .connect(&hsm.host, hsm.port, None)
            .await
            .map_err(ConnectFailure::Client)?;
        Ok((connection, pool))
    }

    /// Connects to the first reachable HSM of `user`'s cluster, in priority
    /// order, then authenticates as its service proxy if it has one. Only a
    /// failure to reach an HSM moves on to the next one.
    pub(super) async fn session(
        &self,
        user: &SlotUser,
        proxy: Option<ProxyCredentials>,
    ) -> Result<Session, PpinError> {
        let name = Some(user.user_name.as_str());
        let mut failures = Vec::new();
        for hsm in &user.hsms {
            let connected = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Err(PpinError::Cancelled { user: name.map(str::to_owned) }),
                connected = self.connect(hsm) => connected,
            };
            match connected {
                Ok((connection, pool)) => {
                    let mut session = Session {
                        connection,
                        pool,
                        hsm: hsm.clone(),
                        proxy_user: proxy.as_ref().map(|p| p.proxy_user.clone()),
                    };
                    if let Some(proxy) = &proxy {
                        let auth = session
                            .connection
                            .proxy_auth(&proxy.proxy_user, &proxy.password)
                            .await;
                        session.check(name, auth)?;
                    }
                    return Ok(session);
                }
                Err(ConnectFailure::Client(error)) if error.is_connection_failure() => {
                    failures.push((hsm.clone(), error));
                }
                Err(other) => return Err(connect_error(name, hsm, other)),
            }
        }
        Err(PpinError::Unreachable {
            user: name.map(str::to_owned),
            failures,
        })
    }
    /// `ppin -v`: asks every HSM of `primus.cfg` for its version.
    pub(super) async fn hsm_versions(&self) -> Result<Vec<HsmVersion>, PpinError> {
        let config = self.config.current()?;
        let mut versions = Vec::with_capacity(config.hsms().len());
        for hsm in config.hsms() {
            versions.push(HsmVersion {
                hsm: hsm.clone(),
                outcome: self.version_of(hsm).await,
            });
        }
        Ok(versions)
    }

    /// Connects to `hsm` and asks its version (a request without credential,
    /// so the connection stays in the pool for what follows).
    async fn version_of(&self, hsm: &Hsm) -> Result<ServerVersion, PpinError> {
        let (connection, pool) = self
            .connect(hsm)
            .await
            .map_err(|source| connect_error(None, hsm, source))?;
        let mut session = Session {
            connection,
            pool,
            hsm: hsm.clone(),
            proxy_user: None,
        };
        let version = session.connection.version().await;
        let version = session.check(None, version)?;
        session.release().await;
        Ok(version)
    }

    /// `ppin -t` on one HSM: connect (the firmware line), then log in each of
    /// `slots` on this HSM alone, once each. Slots are not tried when the
    /// connection failed.
    pub(super) async fn test_hsm(
        &self,
        config: &PrimusConfig,
        hsm: &Hsm,
        slots: &[&HsmSlot],
    ) -> HsmTest {
        let firmware = self
            .version_of(hsm)
            .await
            .map(|v| format!("{} {}", v.product, v.version));
        let mut tested = Vec::with_capacity(slots.len());
        if firmware.is_ok() {
            for slot in slots {
                let outcome = match config.user(&slot.user_name) {
                    Some(user) => {
                        let mut on_this_hsm = user.clone();
                        on_this_hsm.hsms = vec![hsm.clone()];
                        self.login(&on_this_hsm).await
                    }
                    // The slots of a PrimusConfig are those of its users.
                    None => Err(PpinError::NotConfigured {
                        user: slot.user_name.clone(),
                    }),
                };
                tested.push(SlotTest {
                    slot: slot.slot.clone(),
                    slot_id: slot.slot_id,
                    user: slot.user_name.clone(),
                    outcome,
                });
            }
        }
        HsmTest {
            hsm: hsm.name.clone(),
            host: hsm.host.clone(),
            port: hsm.port,
            firmware,
            slots: tested,
        }
    }
}

/// Why a connection to one HSM could not be opened.
enum ConnectFailure {
    /// `primus.cfg` names no CA file for the HSM.
    NoCaFile,
    /// The CA file could not be used.
    Tls(hsm_wire::TlsConfigError),
    /// Connecting or the handshake failed.
    Client(ClientError),
}

fn connect_error(user: Option<&str>, hsm: &Hsm, failure: ConnectFailure) -> PpinError {
    match failure {
        ConnectFailure::NoCaFile => PpinError::NoCaFile {
            hsm: Box::new(hsm.clone()),
        },
        ConnectFailure::Tls(source) => PpinError::TlsSetup {
            hsm: Box::new(hsm.clone()),
            source,
        },
        ConnectFailure::Client(source) if source.is_connection_failure() => {
            PpinError::Unreachable {
                user: user.map(str::to_owned),
                failures: vec![(hsm.clone(), source)],
            }
        }
        ConnectFailure::Client(source) => PpinError::Hsm {
            user: user.map(str::to_owned),
            proxy_user: None,
            hsm: Box::new(hsm.clone()),
            source: Box::new(source),
            at: SystemTime::now(),
        },
    }
}

impl Session {
    /// Turns the outcome of one request into ours; a failure names this HSM
    /// and is final (the caller never retries it elsewhere).
    pub(super) fn check<T>(
        &self,
        user: Option<&str>,
        result: Result<T, ClientError>,
    ) -> Result<T, PpinError> {
        result.map_err(|source| PpinError::Hsm {
            user: user.map(str::to_owned),
            proxy_user: self.proxy_user.clone(),
            hsm: Box::new(self.hsm.clone()),
            source: Box::new(source),
            at: SystemTime::now(),
        })
    }

    /// Gives the connection back and says who served the request.
    pub(super) async fn finish(self, user: &SlotUser) -> Served {
        let served = Served {
            user: user.user_name.clone(),
            slot_id: user.slot_id,
            hsm: Some(self.hsm.name.clone()),
            address: Some(self.connection.peer().to_owned()),
            server: Some(self.connection.server_hello().server.clone()),
        };
        self.release().await;
        served
    }

    /// Returns the connection to its pool, which keeps it only if no
    /// answer is pending and it carries no service proxy authentication.
    async fn release(self) {
        self.pool.release(self.connection).await;
    }
}
