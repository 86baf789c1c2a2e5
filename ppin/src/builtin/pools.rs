//! The HSM connections an engine keeps open between its operations, so the
//! operations of one Terraform apply share TCP connections and TLS sessions
//! instead of paying a connect and a handshake each.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use hsm_wire::{ConnectionPool, Connector, TlsConfigError};

/// One [`ConnectionPool`] per CA file named in `primus.cfg`.
///
/// The CA file is read at every [`pool`](Pools::pool) (a few hundred bytes
/// next to a handshake): when its content changed, the pool of the old CA
/// and its idle connections are dropped, so a replaced CA takes effect at
/// the next operation as it did without pooling.
#[derive(Debug, Default)]
pub(crate) struct Pools {
    by_ca_file: Mutex<HashMap<PathBuf, Arc<ConnectionPool>>>,
}

impl Pools {
    /// The pool for HSMs whose certificate `ca_file` vouches for; `connector`
    /// sets up a new pool's connector (timeouts, client name).
    pub(crate) fn pool(
        &self,
        ca_file: &Path,
        connector: impl FnOnce(Connector) -> Connector,
    ) -> Result<Arc<ConnectionPool>, TlsConfigError> {
        let current = Connector::from_ca_file(ca_file)?;
        // Pools are inserted and replaced whole, so a poisoned map still holds valid ones.
        let mut pools = self
            .by_ca_file
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(ca_file) {
            if pool.connector().shares_tls_config(&current) {
                return Ok(Arc::clone(pool));
            }
        }
        let pool = Arc::new(ConnectionPool::new(connector(current)));
        pools.insert(ca_file.to_owned(), Arc::clone(&pool));
        Ok(pool)
    }
}
