//! The users of `primus.cfg` as every engine and the door see them: a name
//! looked up (an unknown one refused the same way everywhere, before
//! anything else, 0x80005012, listing the names that are there) and the
//! statuses `ppin -l` shows.

use secrets_cfg::EntryKind;

use crate::config::{Hsm, PrimusConfig, SlotUser};
use crate::error::{PpinError, UserRole};
use crate::model::{Fetch, Listing, LogRequest, ProxyStatus, UserStatus};

/// The slot user `user` of `config`, or [`PpinError::UnknownUser`].
pub(crate) fn slot_user(config: &PrimusConfig, user: &str) -> Result<SlotUser, PpinError> {
    config
        .user(user)
        .cloned()
        .ok_or_else(|| unknown(config, user, UserRole::Slot))
}

/// Checks that `proxy_user` is the `proxy_user` of a slot in `config`, or
/// [`PpinError::UnknownUser`].
pub(crate) fn service_proxy(config: &PrimusConfig, proxy_user: &str) -> Result<(), PpinError> {
    if config.proxy_users().contains(&proxy_user) {
        Ok(())
    } else {
        Err(unknown(config, proxy_user, UserRole::ServiceProxy))
    }
}

/// [`PpinError::UnknownUser`] for `user`, listing the names `config` has.
fn unknown(config: &PrimusConfig, user: &str, role: UserRole) -> PpinError {
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

/// The state of `slot_user` as `ppin -l` shows it.
pub(crate) fn status(slot_user: &SlotUser, configured: bool) -> UserStatus {
    UserStatus {
        user: slot_user.user_name.clone(),
        slot_id: slot_user.slot_id,
        proxy_user: slot_user.proxy_user.clone(),
        configured,
        hsms: slot_user.hsms.iter().map(|h| h.name.clone()).collect(),
    }
}

/// Every user and service proxy of `config`, in file order, with its state
/// as `configured` tells it.
pub(crate) fn listing(
    config: &PrimusConfig,
    configured: impl Fn(EntryKind, &str) -> bool,
) -> Listing {
    let users = config
        .users()
        .iter()
        .map(|u| status(u, configured(EntryKind::User, &u.user_name)))
        .collect();
    let proxies = config
        .proxy_users()
        .into_iter()
        .map(|p| ProxyStatus {
            proxy_user: p.to_owned(),
            configured: configured(EntryKind::ServiceProxy, p),
            users: config
                .users_behind_proxy(p)
                .map(|u| u.user_name.clone())
                .collect(),
        })
        .collect();
    Listing { users, proxies }
}

/// Where `ppin --fetchlog` reads `request.user`'s log: the user with only
/// the HSM `request.hsm` (by name or host, as in `primus.cfg`), and how
/// many slots of the user that HSM serves. [`PpinError::UnknownUser`] or
/// [`PpinError::HsmNotServing`] otherwise.
pub(crate) fn log_source(
    config: &PrimusConfig,
    request: &LogRequest,
) -> Result<(SlotUser, usize), PpinError> {
    let mut user = slot_user(config, &request.user)?;
    let wanted = |hsm: &Hsm| hsm.name == request.hsm || hsm.host == request.hsm;
    let Some(hsm) = user.hsms.iter().find(|h| wanted(h)).cloned() else {
        return Err(PpinError::HsmNotServing {
            user: request.user.clone(),
            hsm: request.hsm.clone(),
            config: config.path().to_owned(),
            known: user.hsms.iter().map(|h| h.name.clone()).collect(),
        });
    };
    let slots = config
        .users()
        .iter()
        .filter(|u| u.user_name == request.user && u.hsms.iter().any(|h| h.name == hsm.name))
        .count();
    user.hsms = vec![hsm];
    Ok((user, slots))
}

/// Whether a fetch of `user` fits its entry: an add needs none yet
/// ([`PpinError::AlreadyConfigured`]), an update needs one
/// ([`PpinError::NotConfigured`]). Every engine refuses the same way.
pub(crate) fn check_fetchable(user: &str, fetch: Fetch, configured: bool) -> Result<(), PpinError> {
    match (fetch, configured) {
        (Fetch::Add, true) => Err(PpinError::AlreadyConfigured {
            user: user.to_owned(),
        }),
        (Fetch::Update, false) => Err(PpinError::NotConfigured {
            user: user.to_owned(),
        }),
        _ => Ok(()),
    }
}
