//! The operations of `ppin`, shared by the command-line tool and the Terraform
//! provider: [`BuiltinEngine`], the engine behind [`Ppin`](crate::Ppin).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hsm_wire::{
    check_setup_password, ClientError, Connection, ConnectionPool, ServerVersion,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT,
};
use secrets_cfg::{EntryKind, EntrySummary, KeySource, Password, Secret, SecretsStore};

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::{Hsm, LiveConfig, PrimusConfig, SlotUser};
use crate::engine::SetupCredentials;
use crate::error::{PpinError, UserRole};
use crate::pools::Pools;

/// The name this client gives itself in the protocol handshake.
const CLIENT_NAME: &str = concat!("ppin ", env!("CARGO_PKG_VERSION"));

/// The version of this library and of the `ppin` tool.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

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

/// A slot user's state, as `ppin -l` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UserStatus {
    /// The partition user name.
    pub user: String,
    /// Its slot id.
    pub slot_id: u32,
    /// Its CloudHSM service proxy user, if any.
    pub proxy_user: Option<String>,
    /// Whether `.secrets.cfg` holds its permanent secret.
    pub configured: bool,
    /// Names of the HSMs serving it, in the order they are tried.
    pub hsms: Vec<String>,
}

impl UserStatus {
    fn of(slot_user: &SlotUser, configured: bool) -> Self {
        UserStatus {
            user: slot_user.user_name.clone(),
            slot_id: slot_user.slot_id,
            proxy_user: slot_user.proxy_user.clone(),
            configured,
            hsms: slot_user.hsms.iter().map(|h| h.name.clone()).collect(),
        }
    }
}

/// A service proxy user's state, as `ppin -l` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ProxyStatus {
    /// The service proxy user name.
    pub proxy_user: String,
    /// Whether `.secrets.cfg` holds its password.
    pub configured: bool,
    /// The slot users behind it.
    pub users: Vec<String>,
}

/// Everything `ppin -l` lists: the users and proxies of `primus.cfg` with
/// their state in `.secrets.cfg`. Nothing is decrypted to produce it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Listing {
    /// Every slot user, in `primus.cfg` order.
    pub users: Vec<UserStatus>,
    /// Every service proxy user, in `primus.cfg` order.
    pub proxies: Vec<ProxyStatus>,
}

/// Which HSM served a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Served {
    /// The slot user.
    pub user: String,
    /// Its slot id.
    pub slot_id: u32,
    /// The name of the HSM that answered (`hsm0`), when the engine knows it.
    pub hsm: Option<String>,
    /// Its `host:port`, when the engine knows it.
    pub address: Option<String>,
    /// The server's name and version from the handshake (e.g. `hsm-sim
    /// 0.1.0`), when the engine knows it.
    pub server: Option<String>,
}

/// The outcome of a login test for one user.
#[derive(Debug)]
#[non_exhaustive]
pub struct LoginTest {
    /// The slot user.
    pub user: String,
    /// Its slot id.
    pub slot_id: u32,
    /// Where the login succeeded, or why it failed.
    pub outcome: Result<Served, PpinError>,
}

/// One HSM's answer to a version query.
#[derive(Debug)]
#[non_exhaustive]
pub struct HsmVersion {
    /// The HSM.
    pub hsm: Hsm,
    /// Its version, or why it could not be asked.
    pub outcome: Result<ServerVersion, PpinError>,
}

/// Which users `ppin -t` tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestFilter {
    /// Only this user (`--user`).
    pub user: Option<String>,
    /// Only users on this slot id (`--slotid`).
    pub slot_id: Option<u32>,
}

impl TestFilter {
    /// Every configured user.
    pub fn all() -> Self {
        TestFilter::default()
    }

    /// Only `user`.
    pub fn user(user: impl Into<String>) -> Self {
        TestFilter {
            user: Some(user.into()),
            slot_id: None,
        }
    }

    /// Only `user` if given, and only users on `slot_id` if given.
    pub fn new(user: Option<String>, slot_id: Option<u32>) -> Self {
        TestFilter { user, slot_id }
    }
}

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

/// A CloudHSM service proxy user and its stored password.
struct ProxyCredentials {
    proxy_user: String,
    password: Password,
}

/// An authenticated connection, the HSM it goes to and the pool it returns to.
struct Session {
    connection: Connection,
    pool: Arc<ConnectionPool>,
    hsm: Hsm,
    proxy_user: Option<String>,
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

    /// The `primus.cfg` in use now (read again if its file changed, when
    /// this engine was made by [`watching`](Self::watching)).
    pub fn config(&self) -> Result<Arc<PrimusConfig>, PpinError> {
        Ok(self.config.current()?)
    }

    /// The `.secrets.cfg` in use.
    pub fn store(&self) -> &SecretsStore {
        &self.store
    }

    /// `ppin -a`: trades the setup and PKCS#11 passwords for the
    /// permanent secret of `user` and stores it in `.secrets.cfg`.
    ///
    /// Refused before any connection when the user is not in `primus.cfg`, the
    /// setup password is malformed, the user already has a secret (use
    /// [`update`](Self::update)) or, behind a CloudHSM service proxy, the proxy
    /// password is missing. A failure leaves `.secrets.cfg` unchanged.
    pub async fn add(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.fetch(user, credentials, Fetch::Add).await
    }

    /// `ppin -u`: has the HSM issue a new permanent secret for `user` (the old
    /// one stops working) and stores it.
    ///
    /// Local checks as for [`add`](Self::add) change nothing; the user must
    /// already have a secret. Once the HSM is contacted, any failure removes
    /// the user's entry, as the vendor's `ppin -u` does, and the error is
    /// [`PpinError::UpdateFailed`]: the next try must be an [`add`](Self::add).
    pub async fn update(
        &self,
        user: &str,
        credentials: &SetupCredentials,
    ) -> Result<Served, PpinError> {
        self.fetch(user, credentials, Fetch::Update).await
    }

    /// `add` and `update`, in the order every fetch keeps: the local checks,
    /// then the HSM, then the commit.
    async fn fetch(
        &self,
        user: &str,
        credentials: &SetupCredentials,
        fetch: Fetch,
    ) -> Result<Served, PpinError> {
        let slot_user = self.user(user)?;
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

    /// The checks [`add`](Self::add) makes before it needs the passwords: the
    /// user is in `primus.cfg`, has no permanent secret yet, and (CloudHSM) its
    /// service proxy password is stored. Lets a caller refuse before asking
    /// for passwords. Contacts no HSM.
    pub async fn check_add(&self, user: &str) -> Result<(), PpinError> {
        self.prepare(self.user(user)?, Fetch::Add, Writable::Skip)
            .await
            .map(drop)
    }

    /// The checks [`update`](Self::update) makes before it needs the
    /// passwords, as [`check_add`](Self::check_add) but the user must have a
    /// permanent secret. Contacts no HSM and changes nothing.
    pub async fn check_update(&self, user: &str) -> Result<(), PpinError> {
        self.prepare(self.user(user)?, Fetch::Update, Writable::Skip)
            .await
            .map(drop)
    }

    /// Whether an edit of `.secrets.cfg` could be stored now (see
    /// [`SecretsStore::check_writable`]: file type, directory, lock, key);
    /// `name` is the user or proxy user the edit is for. Contacts no HSM and
    /// changes nothing; [`add`](Self::add), [`update`](Self::update) and
    /// [`proxy_add`](Self::proxy_add) run it before anything is sent.
    pub async fn check_writable(&self, name: Option<&str>) -> Result<(), PpinError> {
        self.blocking(name, |store| store.check_writable()).await
    }

    /// Unless an add (`fetch`) will adopt the entry of `user` already stored
    /// (it decrypts under the file key), that `.secrets.cfg` can take a new
    /// secret for it: see [`Ppin::check_before_fetch`](crate::Ppin::check_before_fetch).
    /// One blocking call for both.
    pub(crate) async fn check_storable(&self, user: &str, fetch: Fetch) -> Result<(), PpinError> {
        let owned = user.to_owned();
        self.blocking(Some(user), move |store| {
            if fetch == Fetch::Add && stored_secret(&store, EntryKind::User, &owned)?.is_some() {
                return Ok(());
            }
            store.check_writable()
        })
        .await
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
        match (fetch, found.configured) {
            (Fetch::Add, true) => {
                return Err(PpinError::AlreadyConfigured {
                    user: user.to_owned(),
                })
            }
            (Fetch::Update, false) => {
                return Err(PpinError::NotConfigured {
                    user: user.to_owned(),
                })
            }
            _ => {}
        }
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

    /// `ppin -r`: removes the permanent secret of `user` from `.secrets.cfg`.
    /// Returns whether there was one. The HSM is not contacted.
    pub async fn remove(&self, user: &str) -> Result<bool, PpinError> {
        self.user(user)?;
        self.check_cancel(Some(user))?;
        self.remove_entry(EntryKind::User, user).await
    }

    /// `ppin -p`: stores the password of the CloudHSM service proxy user
    /// `proxy_user`, needed before fetching the permanent secret of a user
    /// behind it. The HSM is not contacted; a wrong password shows at the next
    /// [`add`](Self::add), [`update`](Self::update) or [`test`](Self::test).
    pub async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError> {
        self.proxy_user(proxy_user)?;
        self.check_cancel(Some(proxy_user))?;
        self.check_writable(Some(proxy_user)).await?;
        let secret = Secret::new(password.expose_secret().as_bytes().to_vec());
        self.put(EntryKind::ServiceProxy, proxy_user, secret).await
    }

    /// `ppin -x`: removes the password of the service proxy user `proxy_user`.
    /// Returns whether there was one.
    pub async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError> {
        self.proxy_user(proxy_user)?;
        self.check_cancel(Some(proxy_user))?;
        self.remove_entry(EntryKind::ServiceProxy, proxy_user).await
    }

    /// `ppin -l`: every user and service proxy of `primus.cfg` with its state.
    pub async fn list(&self) -> Result<Listing, PpinError> {
        let config = self.config()?;
        let configured: HashSet<(EntryKind, String)> = self
            .entries()
            .await?
            .into_iter()
            .filter(|e| e.configured)
            .map(|e| (e.kind, e.name))
            .collect();
        let has = |kind: EntryKind, name: &str| configured.contains(&(kind, name.to_owned()));
        let users = config
            .users()
            .iter()
            .map(|u| UserStatus::of(u, has(EntryKind::User, &u.user_name)))
            .collect();
        let proxies = config
            .proxy_users()
            .into_iter()
            .map(|p| ProxyStatus {
                proxy_user: p.to_owned(),
                configured: has(EntryKind::ServiceProxy, p),
                users: config
                    .users_behind_proxy(p)
                    .map(|u| u.user_name.clone())
                    .collect(),
            })
            .collect();
        Ok(Listing { users, proxies })
    }

    /// The state of one slot user (what the provider reads back).
    pub async fn status(&self, user: &str) -> Result<UserStatus, PpinError> {
        let slot_user = self.user(user)?;
        let configured = self.is_configured(EntryKind::User, user).await?;
        Ok(UserStatus::of(&slot_user, configured))
    }

    /// Logs in as `user` with its stored permanent secret (`ppin -t --user`).
    pub async fn login(&self, user: &str) -> Result<Served, PpinError> {
        let slot_user = self.user(user)?;
        let secret =
            self.get(EntryKind::User, user)
                .await?
                .ok_or_else(|| PpinError::NotConfigured {
                    user: user.to_owned(),
                })?;
        let proxy = self.proxy_password(&slot_user).await?;
        let mut session = self.session(&slot_user, proxy).await?;
        let login = session.connection.login(user, &secret).await;
        session.check(Some(user), login)?;
        Ok(session.finish(&slot_user).await)
    }

    /// Whether `.secrets.cfg` holds the permanent secret of `user`, checked
    /// by decrypting it (AES-GCM authenticates the entry under the file key);
    /// `false` when there is no entry (or no file). Contacts no HSM.
    pub async fn verify_stored(&self, user: &str) -> Result<bool, PpinError> {
        self.user(user)?;
        Ok(self.get(EntryKind::User, user).await?.is_some())
    }

    /// The slot ids of `user` in `primus.cfg` (one, as redundant HSMs share
    /// it); empty for a user not in the file.
    pub fn slot_ids(&self, user: &str) -> Result<Vec<u32>, PpinError> {
        let config = self.config()?;
        Ok(config
            .user(user)
            .map(|u| vec![u.slot_id])
            .unwrap_or_default())
    }

    /// `ppin -t`: logs in with the stored permanent secret of each user the
    /// filter selects, one after the other (never retrying a failed login).
    /// Fails only when the filter selects no user of `primus.cfg`.
    pub async fn test(&self, filter: &TestFilter) -> Result<Vec<LoginTest>, PpinError> {
        if let Some(user) = &filter.user {
            self.user(user)?;
        }
        let config = self.config()?;
        let selected: Vec<&SlotUser> = config
            .users()
            .iter()
            .filter(|u| filter.user.as_ref().is_none_or(|name| &u.user_name == name))
            .filter(|u| filter.slot_id.is_none_or(|id| u.slot_id == id))
            .collect();
        if selected.is_empty() {
            return Err(PpinError::NoUserSelected {
                config: config.path().to_owned(),
                filter: filter.clone(),
            });
        }
        let mut results = Vec::with_capacity(selected.len());
        for slot_user in selected {
            let outcome = self.login(&slot_user.user_name).await;
            results.push(LoginTest {
                user: slot_user.user_name.clone(),
                slot_id: slot_user.slot_id,
                outcome,
            });
        }
        Ok(results)
    }

    /// `ppin -v`: asks every HSM of `primus.cfg` for its version.
    pub async fn hsm_versions(&self) -> Result<Vec<HsmVersion>, PpinError> {
        let config = self.config()?;
        let mut versions = Vec::with_capacity(config.hsms().len());
        for hsm in config.hsms() {
            let outcome = async {
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
            };
            versions.push(HsmVersion {
                hsm: hsm.clone(),
                outcome: outcome.await,
            });
        }
        Ok(versions)
    }

    /// The slot user `user` of `primus.cfg`, or [`PpinError::UnknownUser`]
    /// (0x80005012). Lets callers refuse an unknown user before asking for
    /// its passwords.
    pub fn user(&self, user: &str) -> Result<SlotUser, PpinError> {
        let config = self.config()?;
        config
            .user(user)
            .cloned()
            .ok_or_else(|| unknown_user(&config, user, UserRole::Slot))
    }

    /// Checks that `proxy_user` is the `proxy_user` of a slot in `primus.cfg`,
    /// or [`PpinError::UnknownUser`] (0x80005012).
    pub fn proxy_user(&self, proxy_user: &str) -> Result<(), PpinError> {
        let config = self.config()?;
        if config.proxy_users().contains(&proxy_user) {
            Ok(())
        } else {
            Err(unknown_user(&config, proxy_user, UserRole::ServiceProxy))
        }
    }

    /// Runs a blocking `.secrets.cfg` call off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        user: Option<&str>,
        call: impl FnOnce(SecretsStore) -> secrets_cfg::Result<T> + Send + 'static,
    ) -> Result<T, PpinError> {
        let store = self.store.clone();
        let joined = tokio::task::spawn_blocking(move || call(store)).await;
        let result = match joined {
            Ok(result) => result,
            // A panic in the store is a bug; carry it on rather than hide it.
            Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
        };
        result.map_err(|source| PpinError::Secrets {
            user: user.map(str::to_owned),
            source,
        })
    }

    async fn entries(&self) -> Result<Vec<EntrySummary>, PpinError> {
        self.blocking(None, |store| match store.list() {
            // No file yet means nothing is configured; `add` creates it.
            Err(secrets_cfg::Error::NotFound { .. }) => Ok(Vec::new()),
            other => other,
        })
        .await
    }

    /// Whether `.secrets.cfg` names an entry of `kind` for `name` (no
    /// decryption, no HSM); `false` when there is no file. One lookup, not
    /// a listing: an operation's cost must not grow with the number of entries.
    pub(crate) async fn is_configured(
        &self,
        kind: EntryKind,
        name: &str,
    ) -> Result<bool, PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| has_entry(&store, kind, &owned))
            .await
    }

    async fn get(&self, kind: EntryKind, name: &str) -> Result<Option<Secret>, PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| stored_secret(&store, kind, &owned))
            .await
    }

    async fn put(&self, kind: EntryKind, name: &str, secret: Secret) -> Result<(), PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| {
            store.edit(move |tx| tx.put(kind, &owned, secret))
        })
        .await
    }

    /// Removes the entry of `kind` for `name`, if there is one; the lookup
    /// and the edit share one blocking call.
    async fn remove_entry(&self, kind: EntryKind, name: &str) -> Result<bool, PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| {
            if !has_entry(&store, kind, &owned)? {
                // Removing what is not there must not create the file.
                return Ok(false);
            }
            store.edit(move |tx| Ok(tx.remove(kind, &owned)))
        })
        .await
    }

    /// The stored proxy password of `user`'s service proxy, if it has one.
    async fn proxy_password(&self, user: &SlotUser) -> Result<Option<ProxyCredentials>, PpinError> {
        let secret = match &user.proxy_user {
            Some(proxy_user) => self.get(EntryKind::ServiceProxy, proxy_user).await?,
            None => None,
        };
        proxy_credentials(user, secret)
    }

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
    async fn session(
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
}

/// Whether [`prepare`](BuiltinEngine::prepare) checks that `.secrets.cfg`
/// can take a new secret (a fetch does, the early checks of the provider
/// and the CLI do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writable {
    Check,
    Skip,
}

/// What one blocking read of `.secrets.cfg` found for
/// [`prepare`](BuiltinEngine::prepare).
struct StoreFindings {
    /// Whether the user has a permanent secret.
    configured: bool,
    /// The service proxy password entry, if the user sits behind a proxy and it is stored.
    proxy_secret: Option<Secret>,
    /// The writability check, kept to report after the checks before it.
    writable: Option<secrets_cfg::Result<()>>,
}

impl StoreFindings {
    fn read(
        store: &SecretsStore,
        user: &str,
        proxy_user: Option<&str>,
        writable: Writable,
    ) -> secrets_cfg::Result<Self> {
        let configured = has_entry(store, EntryKind::User, user)?;
        let proxy_secret = match proxy_user {
            Some(proxy_user) => stored_secret(store, EntryKind::ServiceProxy, proxy_user)?,
            None => None,
        };
        let writable = (writable == Writable::Check).then(|| store.check_writable());
        Ok(StoreFindings {
            configured,
            proxy_secret,
            writable,
        })
    }
}

/// Whether `.secrets.cfg` names an entry of `kind` for `name`; `false` when
/// there is no file yet (`add` creates it).
fn has_entry(store: &SecretsStore, kind: EntryKind, name: &str) -> secrets_cfg::Result<bool> {
    match store.is_configured(kind, name) {
        Err(secrets_cfg::Error::NotFound { .. }) => Ok(false),
        other => other,
    }
}

/// The decrypted entry of `kind` for `name`; `None` when there is none or no file.
fn stored_secret(
    store: &SecretsStore,
    kind: EntryKind,
    name: &str,
) -> secrets_cfg::Result<Option<Secret>> {
    match store.get(kind, name) {
        Err(secrets_cfg::Error::NotFound { .. }) => Ok(None),
        other => other,
    }
}

/// The service proxy credentials of `user` from its stored proxy password
/// entry (`secret`); none when the user sits behind no proxy.
fn proxy_credentials(
    user: &SlotUser,
    secret: Option<Secret>,
) -> Result<Option<ProxyCredentials>, PpinError> {
    let Some(proxy_user) = &user.proxy_user else {
        return Ok(None);
    };
    let missing = || PpinError::ProxyPasswordMissing {
        user: user.user_name.clone(),
        proxy_user: proxy_user.clone(),
    };
    let secret = secret.ok_or_else(missing)?;
    // `proxy_add` stores the UTF-8 bytes of a `Password`; anything else was
    // not written by ppin and cannot be sent as a password.
    let text = std::str::from_utf8(secret.expose_secret()).map_err(|_| missing())?;
    Ok(Some(ProxyCredentials {
        proxy_user: proxy_user.clone(),
        password: Password::new(text.to_owned()),
    }))
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
    fn check<T>(&self, user: Option<&str>, result: Result<T, ClientError>) -> Result<T, PpinError> {
        result.map_err(|source| PpinError::Hsm {
            user: user.map(str::to_owned),
            proxy_user: self.proxy_user.clone(),
            hsm: Box::new(self.hsm.clone()),
            source: Box::new(source),
            at: SystemTime::now(),
        })
    }

    /// Gives the connection back and says who served the request.
    async fn finish(self, user: &SlotUser) -> Served {
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

/// [`PpinError::UnknownUser`] for `user`, listing the names `config` has.
fn unknown_user(config: &PrimusConfig, user: &str, role: UserRole) -> PpinError {
    let known = match role {
        UserRole::Slot => config.users().iter().map(|u| u.user_name.clone()).collect(),
        UserRole::ServiceProxy => config
            .proxy_users()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    };
    PpinError::UnknownUser {
        user: user.to_owned(),
        role,
        config: config.path().to_owned(),
        known,
    }
}

fn check_format(user: &SlotUser, setup_password: &Password) -> Result<(), PpinError> {
    check_setup_password(setup_password).map_err(|problem| PpinError::SetupPasswordFormat {
        user: user.user_name.clone(),
        problem,
    })
}

/// Which way a permanent secret is fetched: the vendor has exactly these two
/// commands, so callers match it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// `ppin -a`: the user must not have one yet.
    Add,
    /// `ppin -u`: the user must have one.
    Update,
}
