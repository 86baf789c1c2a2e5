//! [`Ppin`]: the one door to the domain. The provider and the CLI ask it
//! for the operations; the one [`Engine`] it was built with performs them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrets_cfg::{EntryKind, KeySource, Password, SecretsStore};

use crate::builtin::BuiltinEngine;
use crate::config::{PrimusConfig, SlotUser};
use crate::engine::{Engine, TestReport, Versions};
use crate::error::PpinError;
use crate::model::{
    Fetch, FortinetRequest, Listing, LogRequest, PartitionLog, Served, SetupCredentials,
    TestFilter, UserStatus,
};
use crate::users;

/// The ppin operations over one `primus.cfg` and one `.secrets.cfg`, on one
/// engine chosen when the door is built.
///
/// Cheap to clone; every operation takes `&self` and may run concurrently
/// with others. Whatever the engine, the door refuses a user that is not in
/// `primus.cfg` before it asks the engine for a pre-flight check.
#[derive(Debug, Clone)]
pub struct Ppin {
    engine: Arc<dyn Engine>,
}

impl Ppin {
    /// The door to `engine`.
    pub fn with_engine(engine: Arc<dyn Engine>) -> Self {
        Ppin { engine }
    }

    /// The built-in engine over `config` and `store`, default timeouts.
    pub fn new(config: PrimusConfig, store: SecretsStore) -> Self {
        Ppin::from(BuiltinEngine::new(config, store))
    }

    /// The built-in engine on the files found the vendor's way: see
    /// [`BuiltinEngine::open`].
    pub fn open(
        primus_cfg: Option<&Path>,
        secrets_cfg: Option<&Path>,
        key_source: KeySource,
    ) -> Result<Self, PpinError> {
        BuiltinEngine::open(primus_cfg, secrets_cfg, key_source).map(Ppin::from)
    }

    /// The `primus.cfg` in use now.
    pub fn config(&self) -> Result<Arc<PrimusConfig>, PpinError> {
        self.engine.config()
    }

    /// The `.secrets.cfg` the engine edits.
    pub fn secrets_file(&self) -> &Path {
        self.engine.secrets_file()
    }

    /// `ppin -a`: see [`Engine::add`].
    pub async fn add(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.engine.add(user, credentials).await
    }

    /// `ppin -u`: see [`Engine::update`]; a failure removes the entry.
    pub async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.engine.update(user, credentials).await
    }

    /// `ppin -r`: whether there was an entry. Contacts no HSM.
    pub async fn remove(&self, user: &str) -> Result<bool, PpinError> {
        self.engine.remove(user).await
    }

    /// `ppin -p`: stores a CloudHSM service proxy password.
    pub async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError> {
        self.engine.proxy_add(proxy_user, password).await
    }

    /// `ppin -x`: whether there was a proxy password.
    pub async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError> {
        self.engine.proxy_remove(proxy_user).await
    }

    /// `ppin -l`: every user and service proxy of `primus.cfg` with its state.
    pub async fn list(&self) -> Result<Listing, PpinError> {
        self.engine.list().await
    }

    /// `ppin -t`: each selected HSM connected to, each selected slot logged
    /// in once, never retried.
    pub async fn test(&self, filter: &TestFilter) -> Result<TestReport, PpinError> {
        self.engine.test(filter).await
    }

    /// `ppin -v`: the tool's version and, where the engine asks them, the HSMs'.
    pub async fn versions(&self) -> Result<Versions, PpinError> {
        self.engine.versions().await
    }

    /// `ppin --fetchlog`: see [`Engine::fetch_log`].
    pub async fn fetch_log(&self, request: &LogRequest) -> Result<PartitionLog, PpinError> {
        self.engine.fetch_log(request).await
    }

    /// `ppin --fortinet`: see [`Engine::fortinet_secret`].
    pub async fn fortinet_secret(&self, request: &FortinetRequest) -> Result<String, PpinError> {
        self.user(&request.user)?;
        self.engine.fortinet_secret(request).await
    }

    /// The state of one slot user.
    pub async fn status(&self, user: &str) -> Result<UserStatus, PpinError> {
        self.engine.status(user).await
    }

    /// Logs in as `user` with its stored permanent secret (`ppin -t --user`):
    /// OK when a slot of the user tested OK on one of its HSMs. A user
    /// without a secret is [`PpinError::NotConfigured`] and tested nowhere;
    /// otherwise the error is the first failed login, else the first HSM
    /// that could not be connected to.
    pub async fn login(&self, user: &str) -> Result<Served, PpinError> {
        if !self.status(user).await?.configured {
            return Err(PpinError::NotConfigured {
                user: user.to_owned(),
            });
        }
        let filter = TestFilter::user(user);
        let report = self.test(&filter).await?;
        let config = PathBuf::from(&report.config_file);
        let mut unreachable = None;
        let mut refused = None;
        for hsm in report.hsms {
            if let Err(error) = hsm.firmware {
                unreachable.get_or_insert(error);
            }
            for slot in hsm.slots.into_iter().filter(|s| s.user == user) {
                match slot.outcome {
                    Ok(served) => return Ok(served),
                    Err(error) => {
                        refused.get_or_insert(error);
                    }
                }
            }
        }
        Err(refused
            .or(unreachable)
            .unwrap_or(PpinError::NoUserSelected { config, filter }))
    }

    /// The checks [`add`](Self::add) makes before it needs the passwords
    /// (see [`Preflight::check_entries`](crate::Preflight::check_entries)).
    pub async fn check_add(&self, user: &str) -> Result<(), PpinError> {
        self.user(user)?;
        self.engine.check_entries(user, Fetch::Add).await
    }

    /// The checks [`update`](Self::update) makes before it needs the
    /// passwords.
    pub async fn check_update(&self, user: &str) -> Result<(), PpinError> {
        self.user(user)?;
        self.engine.check_entries(user, Fetch::Update).await
    }

    /// The local checks an add ([`Fetch::Add`]) or update of `user` makes
    /// before it contacts the HSM, for a caller that wants to warn earlier
    /// (at plan time): the user is in `primus.cfg`, and the engine's
    /// [`check_storable`](crate::Preflight::check_storable).
    pub async fn check_before_fetch(&self, user: &str, fetch: Fetch) -> Result<(), PpinError> {
        self.user(user)?;
        self.engine.check_storable(user, fetch).await
    }

    /// What [`check_before_fetch`](Self::check_before_fetch) is to a
    /// permanent secret, for the service proxy password `proxy_add` stores.
    pub async fn check_before_proxy_add(&self, proxy_user: &str) -> Result<(), PpinError> {
        self.proxy_user(proxy_user)?;
        self.engine.check_proxy_storable(proxy_user).await
    }

    /// Whether `.secrets.cfg` names an entry of `kind` for `name`, read
    /// without decrypting it and without the HSM: what a plan may ask to
    /// tell an adoption from a fetch. `None` where the engine cannot tell
    /// without running the tool.
    pub async fn stored_locally(
        &self,
        kind: EntryKind,
        name: &str,
    ) -> Result<Option<bool>, PpinError> {
        self.engine.entry_stored(kind, name).await
    }

    /// Whether `.secrets.cfg` holds the permanent secret of `user`; `false`
    /// when there is no entry.
    pub async fn verify_stored(&self, user: &str) -> Result<bool, PpinError> {
        self.engine.verify_stored(user).await
    }

    /// The slot ids of `user` in `primus.cfg` (redundant HSMs give it the
    /// same ones; one HSM may give it several); empty for a user not in the
    /// file.
    pub fn slot_ids(&self, user: &str) -> Result<Vec<u32>, PpinError> {
        Ok(self
            .config()?
            .user(user)
            .map(|u| u.slot_ids.clone())
            .unwrap_or_default())
    }

    /// The slot user `user` of `primus.cfg`, or [`PpinError::UnknownUser`]
    /// (0x80005012).
    pub fn user(&self, user: &str) -> Result<SlotUser, PpinError> {
        users::slot_user(&*self.config()?, user)
    }

    /// Checks that `proxy_user` is a `proxy_user` of `primus.cfg`.
    pub fn proxy_user(&self, proxy_user: &str) -> Result<(), PpinError> {
        users::service_proxy(&*self.config()?, proxy_user)
    }
}

impl From<BuiltinEngine> for Ppin {
    fn from(engine: BuiltinEngine) -> Self {
        Ppin::with_engine(Arc::new(engine))
    }
}
