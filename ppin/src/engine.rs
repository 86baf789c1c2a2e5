//! The seam between the door ([`Ppin`](crate::Ppin)) and what performs the
//! operations: the built-in engine (HSM client and `.secrets.cfg` store) or
//! an engine driving the vendor's `ppin` binary.

use std::fmt;

use secrets_cfg::Password;

use crate::error::PpinError;
use crate::ops::{BuiltinEngine, Listing, LoginTest, Served, TestFilter};

/// The two passwords `ppin -a`/`-u` send.
pub struct SetupCredentials {
    /// The one-time setup password from the HSM administrator.
    pub setup_password: Password,
    /// The user's PKCS#11 password, sent with it.
    pub pkcs11_password: Password,
}

impl SetupCredentials {
    /// Both passwords.
    pub fn new(setup_password: Password, pkcs11_password: Password) -> Self {
        SetupCredentials {
            setup_password,
            pkcs11_password,
        }
    }
}

impl fmt::Debug for SetupCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Password's own Debug redacts; spelled out so no field can be added unredacted by accident.
        f.debug_struct("SetupCredentials")
            .field("setup_password", &self.setup_password)
            .field("pkcs11_password", &self.pkcs11_password)
            .finish()
    }
}

/// What the provider and the CLI ask of an onboarding engine. The door,
/// [`Ppin`](crate::Ppin), holds one; resources never see which.
#[async_trait::async_trait]
pub trait Engine: fmt::Debug + Send + Sync {
    /// `ppin -a -e USER`: trades the setup password for a permanent secret and stores it.
    async fn add(&self, user: &str, credentials: &SetupCredentials) -> Result<Served, PpinError>;
    /// `ppin -u -e USER`: a failure removes the current entry (vendor behaviour).
    async fn update(&self, user: &str, credentials: &SetupCredentials)
        -> Result<Served, PpinError>;
    /// `ppin -r -e USER`: `Ok(false)` when there was no entry.
    async fn remove(&self, user: &str) -> Result<bool, PpinError>;
    /// `ppin -p -e PROXY`.
    async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError>;
    /// `ppin -x -e PROXY`: `Ok(false)` when there was no entry.
    async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError>;
    /// `ppin -l`: one status per slot user and per service proxy user.
    async fn list(&self) -> Result<Listing, PpinError>;
    /// `ppin -t [--user U] [--slotid N]`: one login per selected slot user.
    async fn test(&self, filter: &TestFilter) -> Result<Vec<LoginTest>, PpinError>;
}

#[async_trait::async_trait]
impl Engine for BuiltinEngine {
    async fn add(&self, user: &str, credentials: &SetupCredentials) -> Result<Served, PpinError> {
        BuiltinEngine::add(self, user, credentials).await
    }

    async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        BuiltinEngine::update(self, user, credentials).await
    }

    async fn remove(&self, user: &str) -> Result<bool, PpinError> {
        BuiltinEngine::remove(self, user).await
    }

    async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError> {
        BuiltinEngine::proxy_add(self, proxy_user, password).await
    }

    async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError> {
        BuiltinEngine::proxy_remove(self, proxy_user).await
    }

    async fn list(&self) -> Result<Listing, PpinError> {
        BuiltinEngine::list(self).await
    }

    async fn test(&self, filter: &TestFilter) -> Result<Vec<LoginTest>, PpinError> {
        BuiltinEngine::test(self, filter).await
    }
}
