//! [`Ppin`]: the one door to the domain. The provider and the CLI ask it
//! for the operations; an [`Engine`] performs them, the built-in one unless
//! another was given.

use std::path::Path;
use std::sync::Arc;

use secrets_cfg::{EntryKind, KeySource, Password, SecretsStore};
use tokio_util::sync::CancellationToken;

use crate::config::{PrimusConfig, SlotUser};
use crate::engine::{Engine, SetupCredentials};
use crate::error::PpinError;
use crate::ops::{
    BuiltinEngine, Fetch, HsmVersion, Listing, LoginTest, Served, TestFilter, Timeouts, UserStatus,
};

/// The ppin operations over one `primus.cfg` and one `.secrets.cfg`.
///
/// Cheap to clone; every operation takes `&self` and may run concurrently
/// with others. The seven vendor operations (add, update, remove, proxy
/// add/remove, list, test) go to the engine; what only reads the local files
/// (the user checks, [`verify_stored`](Self::verify_stored), the
/// configuration) is answered here.
#[derive(Debug, Clone)]
pub struct Ppin {
    /// Reads `primus.cfg` and `.secrets.cfg`, and runs the operations unless
    /// `engine` is set.
    local: BuiltinEngine,
    engine: Option<Arc<dyn Engine>>,
}

impl Ppin {
    /// The built-in engine over `config` and `store`, default [`Timeouts`].
    pub fn new(config: PrimusConfig, store: SecretsStore) -> Self {
        Ppin::from(BuiltinEngine::new(config, store))
    }

    /// Opens the files the vendor's way: `primus.cfg` at `primus_cfg` or by
    /// [`PrimusConfig::locate`] (read now), `.secrets.cfg` at `secrets_cfg`
    /// or by [`secrets_cfg::locate`] (the file need not exist yet; `add`
    /// creates it), its key from `key_source`.
    pub fn open(
        primus_cfg: Option<&Path>,
        secrets_cfg: Option<&Path>,
        key_source: KeySource,
    ) -> Result<Self, PpinError> {
        BuiltinEngine::open(primus_cfg, secrets_cfg, key_source).map(Ppin::from)
    }

    /// As [`open`](Self::open), for a long-running program: `primus.cfg` is
    /// read on first use and again whenever its file changed.
    pub fn watching(
        primus_cfg: Option<&Path>,
        secrets_cfg: Option<&Path>,
        key_source: KeySource,
    ) -> Result<Self, PpinError> {
        BuiltinEngine::watching(primus_cfg, secrets_cfg, key_source).map(Ppin::from)
    }

    /// Replaces the built-in engine's network limits.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.local = self.local.with_timeouts(timeouts);
        self
    }

    /// Stops operations of the built-in engine that have not yet sent a
    /// credential when `cancel` fires (see [`BuiltinEngine::with_cancel`]).
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.local = self.local.with_cancel(cancel);
        self
    }

    /// Runs the vendor operations on `engine` instead of the built-in one.
    pub fn with_engine(mut self, engine: Arc<dyn Engine>) -> Self {
        self.engine = Some(engine);
        self
    }

    fn engine(&self) -> &dyn Engine {
        match &self.engine {
            Some(engine) => engine.as_ref(),
            None => &self.local,
        }
    }

    /// The `primus.cfg` in use now.
    pub fn config(&self) -> Result<Arc<PrimusConfig>, PpinError> {
        self.local.config()
    }

    /// The `.secrets.cfg` in use.
    pub fn store(&self) -> &SecretsStore {
        self.local.store()
    }

    /// `ppin -a`: see [`Engine::add`]; [`BuiltinEngine::add`] for the order
    /// of the checks.
    pub async fn add(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.engine().add(user, credentials).await
    }

    /// `ppin -u`: see [`Engine::update`]; a failure removes the entry.
    pub async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.engine().update(user, credentials).await
    }

    /// `ppin -r`: whether there was an entry. Contacts no HSM.
    pub async fn remove(&self, user: &str) -> Result<bool, PpinError> {
        self.engine().remove(user).await
    }

    /// `ppin -p`: stores a CloudHSM service proxy password.
    pub async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError> {
        self.engine().proxy_add(proxy_user, password).await
    }

    /// `ppin -x`: whether there was a proxy password.
    pub async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError> {
        self.engine().proxy_remove(proxy_user).await
    }

    /// `ppin -l`: every user and service proxy of `primus.cfg` with its state.
    pub async fn list(&self) -> Result<Listing, PpinError> {
        let Some(engine) = &self.engine else {
            return self.local.list().await;
        };
        let mut listing = engine.list().await?;
        // Another engine prints names and states only; the rest is primus.cfg's.
        let config = self.config()?;
        for status in &mut listing.users {
            if let Some(slot_user) = config.user(&status.user) {
                status.proxy_user.clone_from(&slot_user.proxy_user);
                status.hsms = slot_user.hsms.iter().map(|h| h.name.clone()).collect();
            }
        }
        for proxy in &mut listing.proxies {
            proxy.users = config
                .users_behind_proxy(&proxy.proxy_user)
                .map(|u| u.user_name.clone())
                .collect();
        }
        Ok(listing)
    }

    /// `ppin -t`: one login per selected user, never retried.
    pub async fn test(&self, filter: &TestFilter) -> Result<Vec<LoginTest>, PpinError> {
        self.engine().test(filter).await
    }

    /// The state of one slot user: one lookup with the built-in engine,
    /// from [`list`](Self::list) with another.
    pub async fn status(&self, user: &str) -> Result<UserStatus, PpinError> {
        if self.engine.is_none() {
            return self.local.status(user).await;
        }
        self.local.user(user)?;
        let listing = self.list().await?;
        // Absent only if the engine listed another primus.cfg than the one read here.
        listing
            .users
            .into_iter()
            .find(|u| u.user == user)
            .ok_or_else(|| PpinError::NotConfigured {
                user: user.to_owned(),
            })
    }

    /// Logs in as `user` with its stored permanent secret (`ppin -t --user`).
    pub async fn login(&self, user: &str) -> Result<Served, PpinError> {
        let tests = self.test(&TestFilter::user(user)).await?;
        match tests.into_iter().find(|t| t.user == user) {
            Some(test) => test.outcome,
            None => Err(PpinError::NotConfigured {
                user: user.to_owned(),
            }),
        }
    }

    /// The checks [`add`](Self::add) makes before it needs the passwords.
    /// Contacts no HSM and changes nothing.
    pub async fn check_add(&self, user: &str) -> Result<(), PpinError> {
        self.local.check_add(user).await
    }

    /// The checks [`update`](Self::update) makes before it needs the
    /// passwords. Contacts no HSM and changes nothing.
    pub async fn check_update(&self, user: &str) -> Result<(), PpinError> {
        self.local.check_update(user).await
    }

    /// The local checks an add ([`Fetch::Add`]) or update of `user` makes
    /// before it contacts the HSM, for a caller that wants to warn earlier
    /// (at plan time): the user is in `primus.cfg`, and unless an add will
    /// adopt an entry already stored, `.secrets.cfg` can take the new secret
    /// (file type, directory, lock, key). Contacts no HSM and changes
    /// nothing. With another engine (the vendor's `ppin`) only `primus.cfg`
    /// is checked: that tool keeps its file its own way, and asking it would
    /// start a process per resource at every plan.
    pub async fn check_before_fetch(&self, user: &str, fetch: Fetch) -> Result<(), PpinError> {
        self.local.user(user)?;
        if self.engine.is_some() {
            return Ok(());
        }
        self.local.check_storable(user, fetch).await
    }

    /// What [`check_before_fetch`](Self::check_before_fetch) is to a
    /// permanent secret, for the service proxy password `proxy_add` stores.
    pub async fn check_before_proxy_add(&self, proxy_user: &str) -> Result<(), PpinError> {
        self.local.proxy_user(proxy_user)?;
        if self.engine.is_some() {
            return Ok(());
        }
        self.local.check_writable(Some(proxy_user)).await
    }

    /// Whether the local `.secrets.cfg` names an entry of `kind` for `name`,
    /// read without decrypting it and without the HSM: what a plan may ask
    /// to tell an adoption from a fetch. `None` with another engine (the
    /// vendor's `ppin`), whose file only its own process reads: asking it
    /// would start a process per resource at every plan.
    pub async fn stored_locally(
        &self,
        kind: EntryKind,
        name: &str,
    ) -> Result<Option<bool>, PpinError> {
        if self.engine.is_some() {
            return Ok(None);
        }
        self.local.is_configured(kind, name).await.map(Some)
    }

    /// Whether `.secrets.cfg` holds the permanent secret of `user`; `false`
    /// when there is no entry. The built-in engine also decrypts it under the
    /// file key; another engine's file is the vendor's, whose state its
    /// listing shows (one shared `ppin -l` for many callers).
    pub async fn verify_stored(&self, user: &str) -> Result<bool, PpinError> {
        match &self.engine {
            None => self.local.verify_stored(user).await,
            Some(_) => Ok(self.status(user).await?.configured),
        }
    }

    /// The slot ids of `user` in `primus.cfg`.
    pub fn slot_ids(&self, user: &str) -> Result<Vec<u32>, PpinError> {
        self.local.slot_ids(user)
    }

    /// The slot user `user` of `primus.cfg`, or [`PpinError::UnknownUser`].
    pub fn user(&self, user: &str) -> Result<SlotUser, PpinError> {
        self.local.user(user)
    }

    /// Checks that `proxy_user` is a `proxy_user` of `primus.cfg`.
    pub fn proxy_user(&self, proxy_user: &str) -> Result<(), PpinError> {
        self.local.proxy_user(proxy_user)
    }

    /// `ppin -v`: asks every HSM of `primus.cfg` for its version.
    pub async fn hsm_versions(&self) -> Result<Vec<HsmVersion>, PpinError> {
        self.local.hsm_versions().await
    }
}

impl From<BuiltinEngine> for Ppin {
    fn from(local: BuiltinEngine) -> Self {
        Ppin {
            local,
            engine: None,
        }
    }
}
