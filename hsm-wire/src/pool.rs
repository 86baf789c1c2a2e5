//! Handshaken connections kept open between operations, so a run of operations
//! against one HSM pays one TCP connect and TLS handshake, not one each.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use crate::client::{ClientError, Connection, Connector, Target};

/// Idle connections kept per HSM unless set otherwise.
pub const DEFAULT_MAX_IDLE_PER_HSM: usize = 8;

/// A [`Connector`] that hands out idle connections before opening new ones.
///
/// An idle connection is checked with a `version` request, which carries no
/// credential, before it is handed out; one that fails the check is dropped and
/// the next idle one (or a new connection) is tried. So a credential is only ever
/// sent over a connection that has just answered, and a connection the HSM closed
/// while idle never costs an authentication trial. Nothing is retried after a
/// credential was sent: that stays the caller's decision, and the rule is never.
///
/// Give a connection back with [`ConnectionPool::release`] when the operation is
/// done; only [`Connection::is_reusable`] ones are kept.
#[derive(Debug)]
pub struct ConnectionPool {
    connector: Connector,
    max_idle_per_hsm: usize,
    idle: Mutex<HashMap<Target, Vec<Connection>>>,
}

impl ConnectionPool {
    /// A pool opening its connections with `connector`, keeping up to
    /// [`DEFAULT_MAX_IDLE_PER_HSM`] idle connections per HSM.
    pub fn new(connector: Connector) -> Self {
        ConnectionPool {
            connector,
            max_idle_per_hsm: DEFAULT_MAX_IDLE_PER_HSM,
            idle: Mutex::default(),
        }
    }

    /// The connector new connections are opened with.
    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// Sets how many idle connections are kept per HSM; 0 keeps none.
    pub fn with_max_idle_per_hsm(mut self, max: usize) -> Self {
        self.max_idle_per_hsm = max;
        self
    }

    /// A connection to `host:port` whose certificate is verified for
    /// `server_name` (as [`Connector::connect`]): an idle one that answers, else a new one.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        server_name: Option<&str>,
    ) -> Result<Connection, ClientError> {
        let target = Target::new(host, port, server_name);
        // Each turn removes one idle connection, so this ends.
        while let Some(mut idle) = self.take_idle(&target) {
            if idle.version().await.is_ok() {
                return Ok(idle);
            }
        }
        self.connector.connect(host, port, server_name).await
    }

    /// Keeps `connection` for a later [`ConnectionPool::connect`] if it is
    /// reusable and the HSM's idle list has room; otherwise closes it.
    pub async fn release(&self, connection: Connection) {
        let refused = if connection.is_reusable() {
            let mut idle = self.lock();
            let list = idle.entry(connection.target().clone()).or_default();
            if list.len() < self.max_idle_per_hsm {
                list.push(connection);
                None
            } else {
                Some(connection)
            }
        } else {
            Some(connection)
        };
        if let Some(connection) = refused {
            connection.close().await;
        }
    }

    /// How many idle connections the pool holds, over all HSMs.
    pub fn idle_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn take_idle(&self, target: &Target) -> Option<Connection> {
        self.lock().get_mut(target).and_then(Vec::pop)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Target, Vec<Connection>>> {
        // Entries are pushed and popped whole, so a poisoned lock still holds valid lists.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
