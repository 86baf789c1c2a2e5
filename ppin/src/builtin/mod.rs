//! The built-in engine: the ppin operations over one `primus.cfg` and one
//! `.secrets.cfg`, with this crate's HSM client and the `secrets-cfg` store.
//! Nothing is shelled out. The operations and the pre-flight are here; the
//! HSM side is in `hsm`, the store side in `store`.

mod fortinet;
mod hsm;
mod log;
mod pools;
mod store;

use std::path::Path;
use std::sync::Arc;

use hsm_wire::check_setup_password;
use secrets_cfg::{EntryKind, KeySource, Password, Secret, SecretsStore};
use tokio_util::sync::CancellationToken;

pub use hsm::Timeouts;

use crate::config::{HsmSlot, LiveConfig, PrimusConfig, SlotUser};
use crate::engine::{Engine, Preflight, TestReport, Versions};
use crate::error::PpinError;
use crate::model::{
    Fetch, FortinetRequest, Listing, LogRequest, PartitionLog, Served, SetupCredentials,
    TestFilter, UserStatus, VERSION,
};
use crate::users;
use pools::Pools;
use store::{proxy_credentials, stored_secret, ProxyCredentials, StoreFindings, Writable};

/// The built-in engine: the ppin operations over one `primus.cfg` and one
/// `.secrets.cfg`, with this crate's HSM client and `secrets-cfg` store.
///
/// Cheap to clone; every operation takes `&self` and may run concurrently with
/// others (`.secrets.cfg` edits are serialised by [`SecretsStore`]). HSMs are
/// contacted only after every local check passed (user known, setup password
/// well formed, proxy password present, `.secrets.cfg` writable), each
/// redundant HSM at most once per operation and only while the previous ones
/// could not be reached; an answer from an HSM, including an authentication
/// failure, is final. Connections are kept open between operations (see
/// [`hsm_wire::ConnectionPool`]): an idle one is used again only after it
/// answered a request that carries no credential.
#[derive(Debug, Clone)]
pub struct BuiltinEngine {
    config: Arc<LiveConfig>,
    store: SecretsStore,
    timeouts: Timeouts,
    /// Idle HSM connections, shared by clones: one apply's operations reuse them.
    pools: Arc<Pools>,
    /// Aborts an operation that has not yet sent a credential.
    cancel: CancellationToken,
}

/// A slot user that passed the local checks, with its service proxy
/// credentials if it sits behind one.
struct Target {
    slot_user: SlotUser,
    proxy: Option<ProxyCredentials>,
}

impl BuiltinEngine {
    /// Operations on `config` and `store` with the default [`Timeouts`].
    pub fn new(config: PrimusConfig, store: SecretsStore) -> Self {
        BuiltinEngine::over(LiveConfig::Fixed(Arc::new(config)), store)
    }

    fn over(config: LiveConfig, store: SecretsStore) -> Self {
        BuiltinEngine {
            config: Arc::new(config),
            store,
            timeouts: Timeouts::default(),
            pools: Arc::default(),
            cancel: CancellationToken::new(),
        }
    }

    /// Operations that stop when `cancel` fires, as long as they have not
    /// sent a credential yet (connecting to an HSM, before a file edit);
    /// one that has sent it completes and stores what the HSM issued.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// [`PpinError::Cancelled`] if the stop signal fired.
    fn check_cancel(&self, user: Option<&str>) -> Result<(), PpinError> {
        if self.cancel.is_cancelled() {
            return Err(PpinError::Cancelled {
                user: user.map(str::to_owned),
            });
        }
        Ok(())
    }

    /// As [`open`](Self::open), for a long-running program: `primus.cfg` is
    /// read on first use, not now, and read again whenever the file changed
    /// since (so it may be written after this call, e.g. by Terraform in the
    /// same apply). A missing or invalid file is the error of the operation
    /// that needs it.
    pub fn watching(
        primus_cfg: Option<&Path>,
        secrets_cfg: Option<&Path>,
        key_source: KeySource,
    ) -> Result<Self, PpinError> {
        let store = SecretsStore::open(secrets_cfg::locate(secrets_cfg), key_source)
            .map_err(|source| PpinError::Secrets { user: None, source })?;
        Ok(BuiltinEngine::over(
            LiveConfig::watched(primus_cfg.map(Path::to_owned)),
            store,
        ))
    }

    /// Opens the files the vendor's way: `primus.cfg` at `primus_cfg` or by
    /// [`PrimusConfig::locate`], `.secrets.cfg` at `secrets_cfg` or by
    /// [`secrets_cfg::locate`] (the file need not exist yet; `add` creates it),
    /// its key from `key_source`.
    pub fn open(
        primus_cfg: Option<&Path>,
        secrets_cfg: Option<&Path>,
        key_source: KeySource,
    ) -> Result<Self, PpinError> {
        let config = PrimusConfig::load(primus_cfg)?;
        let store = SecretsStore::open(secrets_cfg::locate(secrets_cfg), key_source)
            .map_err(|source| PpinError::Secrets { user: None, source })?;
        Ok(BuiltinEngine::new(config, store))
    }

    /// Replaces the network limits.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        // Pooled connections were opened with the old limits.
        self.pools = Arc::default();
        self
    }

    /// The `.secrets.cfg` store in use.
    pub fn store(&self) -> &SecretsStore {
        &self.store
    }

    /// The slot user `user` of `primus.cfg`, or [`PpinError::UnknownUser`].
    fn slot_user(&self, user: &str) -> Result<SlotUser, PpinError> {
        users::slot_user(&*self.config()?, user)
    }

    /// Checks that `proxy_user` is a service proxy user of `primus.cfg`.
    fn service_proxy(&self, proxy_user: &str) -> Result<(), PpinError> {
        users::service_proxy(&*self.config()?, proxy_user)
    }

    /// `add` and `update`, in the order every fetch keeps: the local checks,
    /// then the HSM, then the commit.
    async fn fetch(
        &self,
        user: &str,
        credentials: &SetupCredentials,
        fetch: Fetch,
    ) -> Result<Served, PpinError> {
        let slot_user = self.slot_user(user)?;
        check_format(&slot_user, &credentials.setup_password)?;
        // Writable after the checks above, before the first byte to an HSM: a secret is never issued that could
        // not be stored.
        let prepared = self.prepare(slot_user, fetch, Writable::Check).await?;
        let attempt = self.obtain(prepared, credentials, fetch).await;
        match (fetch, attempt) {
            (_, Ok(served)) => Ok(served),
            (Fetch::Add, Err(error)) => Err(error),
            // The HSM replaced the secret: the stored one no longer works, so drop it as ppin -u does.
            (Fetch::Update, Err(error @ PpinError::IssuedNotStored { .. })) => {
                // Best effort: the store just failed to commit, and the error already says what to do.
                self.remove_entry(EntryKind::User, user).await.ok();
                Err(error)
            }
            (Fetch::Update, Err(cause)) => {
                self.remove_entry(EntryKind::User, user).await?;
                Err(PpinError::UpdateFailed {
                    user: user.to_owned(),
                    cause: Box::new(cause),
                })
            }
        }
    }

    /// Whether an edit of `.secrets.cfg` could be stored now (see
    /// [`SecretsStore::check_writable`]: file type, directory, lock, key);
    /// `name` is the user or proxy user the edit is for. Contacts no HSM and
    /// changes nothing; an add, an update and a proxy add run it before anything is sent.
    async fn check_writable(&self, name: Option<&str>) -> Result<(), PpinError> {
        self.blocking(name, |store| store.check_writable()).await
    }

    /// The local checks of `add`/`update` that need no password, in this
    /// order: the entry is absent (add) or present (update), the service
    /// proxy password is stored, and with [`Writable::Check`] the file can
    /// take the new secret. `.secrets.cfg` is read in one blocking call, not
    /// one per check: each hop to the blocking pool costs two thread wakeups.
    async fn prepare(
        &self,
        slot_user: SlotUser,
        fetch: Fetch,
        writable: Writable,
    ) -> Result<Target, PpinError> {
        let user = slot_user.user_name.as_str();
        let (name, proxy_user) = (user.to_owned(), slot_user.proxy_user.clone());
        let found = self
            .blocking(Some(user), move |store| {
                StoreFindings::read(&store, &name, proxy_user.as_deref(), writable)
            })
            .await?;
        users::check_fetchable(user, fetch, found.configured)?;
        let proxy = proxy_credentials(&slot_user, found.proxy_secret)?;
        if let Some(Err(source)) = found.writable {
            return Err(PpinError::Secrets {
                user: Some(user.to_owned()),
                source,
            });
        }
        Ok(Target { slot_user, proxy })
    }

    /// The network half of `add`/`update`, after [`prepare`](Self::prepare):
    /// has the HSM fetch (`Add`) or renew (`Update`) the permanent secret and
    /// stores it.
    async fn obtain(
        &self,
        target: Target,
        credentials: &SetupCredentials,
        fetch: Fetch,
    ) -> Result<Served, PpinError> {
        let user = target.slot_user.user_name.as_str();
        let mut session = self.session(&target.slot_user, target.proxy).await?;
        let connection = &mut session.connection;
        let (setup, pkcs11) = (&credentials.setup_password, &credentials.pkcs11_password);
        let issued = match fetch {
            Fetch::Add => connection.fetch_secret(user, setup, pkcs11).await,
            Fetch::Update => connection.update_secret(user, setup, pkcs11).await,
        };
        let secret = session.check(Some(user), issued)?;
        // From here the HSM has spent the setup password: a failed commit must say so.
        if let Err(error) = self.put(EntryKind::User, user, secret).await {
            let PpinError::Secrets { source, .. } = error else {
                return Err(error);
            };
            return Err(PpinError::IssuedNotStored {
                user: user.to_owned(),
                fetch,
                hsm: Box::new(session.hsm.clone()),
                source,
            });
        }
        Ok(session.finish(&target.slot_user).await)
    }

    /// Logs in as `slot_user` with its stored permanent secret, on the first
    /// of its HSMs that can be reached.
    async fn login(&self, slot_user: &SlotUser) -> Result<Served, PpinError> {
        let user = slot_user.user_name.as_str();
        let secret =
            self.get(EntryKind::User, user)
                .await?
                .ok_or_else(|| PpinError::NotConfigured {
                    user: user.to_owned(),
                })?;
        let proxy = self.proxy_password(slot_user).await?;
        let mut session = self.session(slot_user, proxy).await?;
        let login = session.connection.login(user, &secret).await;
        session.check(Some(user), login)?;
        Ok(session.finish(slot_user).await)
    }
}

/// The setup password's format, checked before anything is sent.
fn check_format(user: &SlotUser, setup_password: &Password) -> Result<(), PpinError> {
    check_setup_password(setup_password).map_err(|problem| PpinError::SetupPasswordFormat {
        user: user.user_name.clone(),
        problem,
    })
}

#[async_trait::async_trait]
impl Preflight for BuiltinEngine {
    async fn check_entries(&self, user: &str, fetch: Fetch) -> Result<(), PpinError> {
        self.prepare(self.slot_user(user)?, fetch, Writable::Skip)
            .await
            .map(drop)
    }

    /// One blocking call: whether an add adopts the stored entry (it decrypts
    /// under the file key), else whether the file can take a new one.
    async fn check_storable(&self, user: &str, fetch: Fetch) -> Result<(), PpinError> {
        let owned = user.to_owned();
        self.blocking(Some(user), move |store| {
            if fetch == Fetch::Add && stored_secret(&store, EntryKind::User, &owned)?.is_some() {
                return Ok(());
            }
            store.check_writable()
        })
        .await
    }

    async fn check_proxy_storable(&self, proxy_user: &str) -> Result<(), PpinError> {
        self.check_writable(Some(proxy_user)).await
    }

    /// One lookup, not a listing: an operation's cost must not grow with the
    /// number of entries.
    async fn entry_stored(&self, kind: EntryKind, name: &str) -> Result<Option<bool>, PpinError> {
        self.is_configured(kind, name).await.map(Some)
    }
}

#[async_trait::async_trait]
impl Engine for BuiltinEngine {
    /// Read again if its file changed, when this engine was made by
    /// [`watching`](BuiltinEngine::watching).
    fn config(&self) -> Result<Arc<PrimusConfig>, PpinError> {
        Ok(self.config.current()?)
    }

    fn secrets_file(&self) -> &Path {
        self.store.path()
    }

    /// Refused before any connection when the user is not in `primus.cfg`, the
    /// setup password is malformed, the user already has a secret (use
    /// update) or, behind a CloudHSM service proxy, the proxy password is
    /// missing. A failure leaves `.secrets.cfg` unchanged.
    async fn add(&self, user: &str, credentials: &SetupCredentials) -> Result<Served, PpinError> {
        self.fetch(user, credentials, Fetch::Add).await
    }

    /// The HSM issues a new permanent secret (the old one stops working).
    /// Local checks as for an add change nothing; the user must already have
    /// a secret. Once the HSM is contacted, any failure removes the user's
    /// entry, as the vendor's `ppin -u` does, and the error is
    /// [`PpinError::UpdateFailed`]: the next try must be an add.
    async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.fetch(user, credentials, Fetch::Update).await
    }

    /// The HSM is not contacted.
    async fn remove(&self, user: &str) -> Result<bool, PpinError> {
        self.slot_user(user)?;
        self.check_cancel(Some(user))?;
        self.remove_entry(EntryKind::User, user).await
    }

    /// The HSM is not contacted; a wrong password shows at the next add,
    /// update or test of a user behind the proxy.
    async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError> {
        self.service_proxy(proxy_user)?;
        self.check_cancel(Some(proxy_user))?;
        self.check_writable(Some(proxy_user)).await?;
        let secret = Secret::new(password.expose_secret().as_bytes().to_vec());
        self.put(EntryKind::ServiceProxy, proxy_user, secret).await
    }

    async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError> {
        self.service_proxy(proxy_user)?;
        self.check_cancel(Some(proxy_user))?;
        self.remove_entry(EntryKind::ServiceProxy, proxy_user).await
    }

    async fn list(&self) -> Result<Listing, PpinError> {
        let config = self.config()?;
        let configured: std::collections::HashSet<(EntryKind, String)> = self
            .entries()
            .await?
            .into_iter()
            .filter(|e| e.configured)
            .map(|e| (e.kind, e.name))
            .collect();
        Ok(users::listing(&config, |kind, name| {
            configured.contains(&(kind, name.to_owned()))
        }))
    }

    /// One lookup in the index of `.secrets.cfg`.
    async fn status(&self, user: &str) -> Result<UserStatus, PpinError> {
        let slot_user = self.slot_user(user)?;
        let configured = self.is_configured(EntryKind::User, user).await?;
        Ok(users::status(&slot_user, configured))
    }

    /// Checked by decrypting the entry (AES-GCM authenticates it under the
    /// file key); `false` when there is no entry (or no file). Contacts no HSM.
    async fn verify_stored(&self, user: &str) -> Result<bool, PpinError> {
        self.slot_user(user)?;
        Ok(self.get(EntryKind::User, user).await?.is_some())
    }

    /// Connects to each HSM the filter selects that has a selected slot, in
    /// file order, and logs in each selected slot on it with the stored
    /// permanent secret, one after the other, never retrying. Fails only
    /// when the filter selects no slot of `primus.cfg`.
    async fn test(&self, filter: &TestFilter) -> Result<TestReport, PpinError> {
        if let Some(user) = &filter.user {
            self.slot_user(user)?;
        }
        let config = self.config()?;
        let mut hsms = Vec::new();
        for hsm in config
            .hsms()
            .iter()
            .filter(|h| filter.selects_hsm(&h.name, &h.host))
        {
            let slots: Vec<&HsmSlot> = config
                .slots()
                .iter()
                .filter(|s| {
                    s.hsm == hsm.name && filter.selects_slot(&s.slot, &s.user_name, s.slot_id)
                })
                .collect();
            if !slots.is_empty() {
                hsms.push(self.test_hsm(&config, hsm, &slots).await);
            }
        }
        if hsms.is_empty() {
            return Err(PpinError::NoUserSelected {
                config: config.path().to_owned(),
                filter: filter.clone(),
            });
        }
        Ok(TestReport {
            config_file: config.path().display().to_string(),
            hsms,
        })
    }

    /// Asks every HSM of `primus.cfg` for its version.
    async fn versions(&self) -> Result<Versions, PpinError> {
        Ok(Versions {
            tool: format!("ppin {VERSION}"),
            hsms: self.hsm_versions().await?,
        })
    }

    async fn fetch_log(&self, request: &LogRequest) -> Result<PartitionLog, PpinError> {
        self.partition_log(request).await
    }

    async fn fortinet_secret(&self, request: &FortinetRequest) -> Result<String, PpinError> {
        self.fortinet_document(request).await
    }
}
