//! The built-in engine's side of `.secrets.cfg`: every call to the store
//! runs off the async threads, and an operation reads what it needs in one
//! such call (each hop to the blocking pool costs two thread wakeups).

use secrets_cfg::{EntryKind, EntrySummary, Password, Secret, SecretsStore};

use super::BuiltinEngine;
use crate::blocking::off_async_threads;
use crate::config::SlotUser;
use crate::error::PpinError;

/// A CloudHSM service proxy user and its stored password.
pub(super) struct ProxyCredentials {
    pub(super) proxy_user: String,
    pub(super) password: Password,
}

impl BuiltinEngine {
    /// Runs a blocking `.secrets.cfg` call off the async threads.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        user: Option<&str>,
        call: impl FnOnce(SecretsStore) -> secrets_cfg::Result<T> + Send + 'static,
    ) -> Result<T, PpinError> {
        let store = self.store.clone();
        off_async_threads(move || call(store))
            .await
            .map_err(|source| PpinError::Secrets {
                user: user.map(str::to_owned),
                source,
            })
    }

    pub(super) async fn entries(&self) -> Result<Vec<EntrySummary>, PpinError> {
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
    pub(super) async fn is_configured(
        &self,
        kind: EntryKind,
        name: &str,
    ) -> Result<bool, PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| has_entry(&store, kind, &owned))
            .await
    }

    pub(super) async fn get(
        &self,
        kind: EntryKind,
        name: &str,
    ) -> Result<Option<Secret>, PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| stored_secret(&store, kind, &owned))
            .await
    }

    pub(super) async fn put(
        &self,
        kind: EntryKind,
        name: &str,
        secret: Secret,
    ) -> Result<(), PpinError> {
        let owned = name.to_owned();
        self.blocking(Some(name), move |store| {
            store.edit(move |tx| tx.put(kind, &owned, secret))
        })
        .await
    }

    /// Removes the entry of `kind` for `name`, if there is one; the lookup
    /// and the edit share one blocking call.
    pub(super) async fn remove_entry(
        &self,
        kind: EntryKind,
        name: &str,
    ) -> Result<bool, PpinError> {
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
    pub(super) async fn proxy_password(
        &self,
        user: &SlotUser,
    ) -> Result<Option<ProxyCredentials>, PpinError> {
        let secret = match &user.proxy_user {
            Some(proxy_user) => self.get(EntryKind::ServiceProxy, proxy_user).await?,
            None => None,
        };
        proxy_credentials(user, secret)
    }
}

/// Whether [`prepare`](BuiltinEngine::prepare) checks that `.secrets.cfg`
/// can take a new secret (a fetch does, the early checks of the provider
/// and the CLI do not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Writable {
    Check,
    Skip,
}

/// What one blocking read of `.secrets.cfg` found for
/// [`prepare`](BuiltinEngine::prepare).
pub(super) struct StoreFindings {
    /// Whether the user has a permanent secret.
    pub(super) configured: bool,
    /// The service proxy password entry, if the user sits behind a proxy and it is stored.
    pub(super) proxy_secret: Option<Secret>,
    /// The writability check, kept to report after the checks before it.
    pub(super) writable: Option<secrets_cfg::Result<()>>,
}

impl StoreFindings {
    pub(super) fn read(
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
pub(super) fn has_entry(
    store: &SecretsStore,
    kind: EntryKind,
    name: &str,
) -> secrets_cfg::Result<bool> {
    match store.is_configured(kind, name) {
        Err(secrets_cfg::Error::NotFound { .. }) => Ok(false),
        other => other,
    }
}

/// The decrypted entry of `kind` for `name`; `None` when there is none or no file.
pub(super) fn stored_secret(
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
pub(super) fn proxy_credentials(
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
