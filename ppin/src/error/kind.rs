//! [`PpinErrorKind`]: what kind of failure a [`PpinError`](crate::PpinError)
//! is, as a closed list callers match on instead of strings.

use std::fmt;

use hsm_wire::ErrorKind;

/// Declares the kinds once, so the enum, [`PpinErrorKind::ALL`] and
/// [`PpinErrorKind::as_str`] cannot disagree.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident => $name:literal,)+) => {
        /// What kind of failure a [`PpinError`](crate::PpinError) is, as
        /// `std::io::ErrorKind` is for I/O errors.
        ///
        /// [`as_str`](Self::as_str) gives the stable snake_case name the
        /// `ppin` tool prints with `--json` (the HSM's kinds keep their wire
        /// names). Callers in other crates need a `_` arm (the enum is
        /// `#[non_exhaustive]`); to still notice a new kind, they can test
        /// every member of [`PpinErrorKind::ALL`], which is generated from the
        /// same list as the enum and so always complete.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum PpinErrorKind {
            $($(#[$doc])* $kind,)+
        }

        impl PpinErrorKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [PpinErrorKind] = &[$(PpinErrorKind::$kind,)+];

            /// The stable snake_case name (`bad_setup_password`, ...) for scripts.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(PpinErrorKind::$kind => $name,)+
                }
            }
        }
    };
}

kinds! {
    /// No `primus.cfg` at any place of the lookup order (0x80005003).
    ConfigNotFound => "config_not_found",
    /// `primus.cfg` could not be read or is wrong.
    ConfigInvalid => "config_invalid",
    /// The user or service proxy user is not in `primus.cfg` (0x80005012).
    UserNotInConfig => "user_not_in_config",
    /// The setup password does not have the vendor's format.
    SetupPasswordFormat => "setup_password_format",
    /// A CloudHSM user's service proxy password is not stored.
    ProxyPasswordMissing => "proxy_password_missing",
    /// `add` for a user that already has a permanent secret.
    AlreadyConfigured => "already_configured",
    /// `update` or a login for a user without a permanent secret.
    NotConfigured => "not_configured",
    /// `.secrets.cfg` could not be read or written.
    SecretsFile => "secrets_file",
    /// The HSM issued or replaced a permanent secret that could not be stored.
    IssuedNotStored => "issued_not_stored",
    /// `ppin -t` selected no user.
    NoUserSelected => "no_user_selected",
    /// TLS could not be set up from `primus.cfg` (no or bad `ca_file`).
    TlsSetup => "tls_setup",
    /// The TLS handshake with the HSM failed.
    TlsHandshake => "tls_handshake",
    /// No HSM of the cluster could be reached (0x80005015).
    Unreachable => "unreachable",
    /// The peer does not speak this protocol.
    Protocol => "protocol",
    /// The connection broke after the request was sent.
    ConnectionBroken => "connection_broken",
    /// The operation was cancelled before any credential was sent.
    Cancelled => "cancelled",
    /// `update` failed and the entry was removed.
    UpdateFailed => "update_failed",
    /// The HSM and this client share no protocol version.
    UnsupportedVersion => "unsupported_version",
    /// The HSM could not parse the request.
    BadRequest => "bad_request",
    /// The HSM does not know the user (0x80005012 from the HSM).
    UnknownToHsm => "unknown_user",
    /// The HSM wants service proxy authentication first.
    ProxyAuthRequired => "proxy_auth_required",
    /// The HSM refused the service proxy password.
    BadProxyPassword => "bad_proxy_password",
    /// The HSM refused the setup password (0x80005017).
    BadSetupPassword => "bad_setup_password",
    /// The setup password has expired (0x80005018).
    SetupPasswordExpired => "setup_password_expired",
    /// The HSM refused the PKCS#11 password (0x8000000B).
    BadPkcs11Password => "bad_pkcs11_password",
    /// The HSM refused the permanent secret.
    BadSecret => "bad_secret",
    /// API login is locked for the user.
    ApiLocked => "api_locked",
    /// PKCS#11 access is locked for the user.
    Pkcs11Locked => "pkcs11_locked",
    /// The HSM failed for a reason of its own.
    HsmInternal => "internal",
    /// The HSM answered with an error this version does not know.
    HsmOther => "unknown",
    /// The vendor's `ppin` (external engine) did not prompt or finish in time and was killed.
    ExternalTimeout => "external_timeout",
    /// The vendor's `ppin` printed output that cannot be read with certainty.
    ExternalOutput => "external_output",
    /// The vendor's `ppin` could not be started or failed without a known vendor code.
    ExternalFailed => "external_failed",
}

impl PpinErrorKind {
    /// The kind of an error the HSM answered with.
    pub(crate) fn of_wire(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::UnsupportedVersion => PpinErrorKind::UnsupportedVersion,
            ErrorKind::BadRequest => PpinErrorKind::BadRequest,
            ErrorKind::UnknownUser => PpinErrorKind::UnknownToHsm,
            ErrorKind::ProxyAuthRequired => PpinErrorKind::ProxyAuthRequired,
            ErrorKind::BadProxyPassword => PpinErrorKind::BadProxyPassword,
            ErrorKind::BadSetupPassword => PpinErrorKind::BadSetupPassword,
            ErrorKind::SetupPasswordExpired => PpinErrorKind::SetupPasswordExpired,
            ErrorKind::BadPkcs11Password => PpinErrorKind::BadPkcs11Password,
            ErrorKind::BadSecret => PpinErrorKind::BadSecret,
            ErrorKind::ApiLocked => PpinErrorKind::ApiLocked,
            ErrorKind::Pkcs11Locked => PpinErrorKind::Pkcs11Locked,
            ErrorKind::Internal => PpinErrorKind::HsmInternal,
            // hsm-wire's kind is non-exhaustive: a newer one is an error this version does not know.
            _ => PpinErrorKind::HsmOther,
        }
    }
}

impl fmt::Display for PpinErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as its [`as_str`](PpinErrorKind::as_str) name, as `--json` prints it.
impl serde::Serialize for PpinErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_kind_has_a_distinct_stable_name() {
        let names: HashSet<&str> = PpinErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), PpinErrorKind::ALL.len());
        assert!(names.iter().all(|n| n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())));
        // Names scripts already rely on.
        assert_eq!(
            PpinErrorKind::BadSetupPassword.as_str(),
            "bad_setup_password"
        );
        assert_eq!(PpinErrorKind::ApiLocked.as_str(), "api_locked");
        assert_eq!(PpinErrorKind::ConfigNotFound.as_str(), "config_not_found");
    }

    #[test]
    fn the_two_unknown_users_are_two_kinds() {
        assert_eq!(
            PpinErrorKind::UserNotInConfig.as_str(),
            "user_not_in_config"
        );
        assert_eq!(
            PpinErrorKind::of_wire(ErrorKind::UnknownUser),
            PpinErrorKind::UnknownToHsm
        );
        assert_eq!(
            PpinErrorKind::UnknownToHsm.as_str(),
            ErrorKind::UnknownUser.as_str()
        );
    }
}
