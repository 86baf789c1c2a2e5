//! The built-in engine's `ppin --fortinet`: the vendor's FortiGate
//! preparation page has the secrets file generated "without local traces"
//! and loaded into the FortiGate as a base64 string. So the permanent
//! secret is fetched as `ppin -a` fetches it, but sealed into a fresh
//! secrets file of its own (in a private temporary directory, removed
//! at once), never into this host's `.secrets.cfg`. The copy is ciphered
//! under this host's file key ([`SecretsStore::key_source_for_copies`]):
//! the output holds no plaintext secret or password.

use secrets_cfg::{EntryKind, Password, Secret, SecretsStore};

use super::store::ProxyCredentials;
use super::{check_format, BuiltinEngine};
use crate::engine::Engine;
use crate::error::{PpinError, UserRole};
use crate::model::FortinetRequest;

impl BuiltinEngine {
    /// See [`Engine::fortinet_secret`]. Behind a service proxy, the proxy
    /// given must be the user's own in `primus.cfg`; without one given, the
    /// stored proxy password is used, as `ppin -a` does. The HSM is asked
    /// only after these checks.
    pub(super) async fn fortinet_document(
        &self,
        request: &FortinetRequest,
    ) -> Result<String, PpinError> {
        let config = self.config()?;
        let slot_user = self.slot_user(&request.user)?;
        let user = slot_user.user_name.clone();
        check_format(&slot_user, &request.credentials.setup_password)?;
        let proxy = match (&slot_user.proxy_user, &request.proxy) {
            (None, None) => None,
            (Some(expected), Some(given)) if *expected == given.proxy_user => {
                Some(ProxyCredentials {
                    proxy_user: given.proxy_user.clone(),
                    password: given.password.clone(),
                })
            }
            (Some(_), None) => self.proxy_password(&slot_user).await?,
            (_, Some(given)) => {
                return Err(PpinError::UnknownUser {
                    user: given.proxy_user.clone(),
                    role: UserRole::ServiceProxy,
                    config: config.path().to_owned(),
                    known: slot_user.proxy_user.iter().cloned().collect(),
                })
            }
        };
        let proxy_entry = proxy
            .as_ref()
            .map(|p| (p.proxy_user.clone(), p.password.clone()));
        self.check_cancel(Some(&user))?;
        let mut session = self.session(&slot_user, proxy).await?;
        let credentials = &request.credentials;
        let issued = session
            .connection
            .fetch_secret(
                &user,
                &credentials.setup_password,
                &credentials.pkcs11_password,
            )
            .await;
        let secret = session.check(Some(&user), issued)?;
        session.finish(&slot_user).await;
        let key_source = self.store().key_source_for_copies();
        let owner = user.clone();
        self.blocking(Some(&user), move |_| {
            sealed_copy(key_source, &owner, secret, proxy_entry)
        })
        .await
    }
}

/// A secrets file holding `user`'s entry (and the proxy's), sealed under
/// `key_source`, base64-encoded; written only inside a private temporary
/// directory that is removed before returning.
fn sealed_copy(
    key_source: secrets_cfg::KeySource,
    user: &str,
    secret: Secret,
    proxy: Option<(String, Password)>,
) -> secrets_cfg::Result<String> {
    let io_error = |path: &std::path::Path| {
        let path = path.to_owned();
        move |source: std::io::Error| secrets_cfg::Error::Write {
            path,
            source: std::sync::Arc::new(source),
        }
    };
    let temp = std::env::temp_dir();
    let dir = tempfile::Builder::new()
        .prefix("ppin-fortinet-")
        .tempdir_in(&temp)
        .map_err(io_error(&temp))?;
    let path = dir.path().join(".secrets.cfg");
    let copy = SecretsStore::open(&path, key_source)?;
    let user = user.to_owned();
    copy.edit(move |tx| {
        tx.put(EntryKind::User, &user, &secret)?;
        if let Some((proxy_user, password)) = &proxy {
            let proxy_secret = Secret::new(password.expose_secret().as_bytes().to_vec());
            tx.put(EntryKind::ServiceProxy, proxy_user, proxy_secret)?;
        }
        Ok(())
    })?;
    let bytes = std::fs::read(&path).map_err(io_error(&path))?;
    let removed = dir.close().map_err(io_error(&temp));
    removed?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        bytes,
    ))
}
