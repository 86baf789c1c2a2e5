//! [`PpinErrorKind`]: what kind of failure a [`PpinError`](crate::PpinError)
//! is, as a closed list callers match on instead of strings.

use std::fmt;

use hsm_wire::{CodeClass, ErrorKind, VendorCode, WireError};

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
    /// `ppin --fetchlog --hsm H` names no HSM of `primus.cfg` serving the user.
    HsmNotInConfig => "hsm_not_in_config",
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
    /// The HSM's configuration disables access to the partition
    /// (0x80005019, 0x80000069) or session objects (0x8000005F).
    AccessDisabled => "access_disabled",
    /// The HSM has no connection left for the user (0x80000018).
    TooManyConnections => "too_many_connections",
    /// An operation needed a login that had not happened (0x8000000C).
    NotLoggedIn => "not_logged_in",
    /// A password expired (0x80000037).
    PasswordExpired => "password_expired",
    /// The HSM refused an operation on a key or object (0x80000001 ... 0x80000085):
    /// none that ppin asks for, so a sign of another tool or provider.
    KeyOrObject => "key_or_object",
    /// The vendor's tool failed inside (0x80005014, "NULL list pointer").
    VendorToolFault => "vendor_tool_fault",
    /// A standard PKCS#11 return value (0x0nnnnnnn).
    Pkcs11Standard => "pkcs11_error",
    /// An error of the HSM's own system (0xCnnnnnnn).
    HsmSystemError => "hsm_system_error",
    /// The HSM's configuration does not let the user fetch its partition log.
    LogDisabled => "log_disabled",
    /// A Securosys code (0x8nnnnnnn) the vendor's table does not list, or a
    /// code of no documented class; reported with its number.
    UnknownVendorCode => "unknown_vendor_code",
    /// The SSH connection to the host running the tool failed (host key,
    /// authentication, timeout, dropped connection), or the host lacks what
    /// a run needs (the tool, `flock`, a `sudo` rule).
    RemoteHost => "remote_host",
}

impl PpinErrorKind {
    /// The kind of an error the HSM answered with: by its wire kind, or by
    /// its vendor code when the wire kind is newer than this version.
    pub(crate) fn of_wire(error: &WireError) -> Self {
        match (error.kind, error.vendor_code) {
            (ErrorKind::Unknown, Some(code)) => PpinErrorKind::of_vendor_code(code),
            (kind, _) => PpinErrorKind::of_wire_kind(kind),
        }
    }

    fn of_wire_kind(kind: ErrorKind) -> Self {
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
            ErrorKind::LogDisabled => PpinErrorKind::LogDisabled,
            ErrorKind::Internal => PpinErrorKind::HsmInternal,
            // hsm-wire's kind is non-exhaustive: a newer one is an error this version does not know.
            _ => PpinErrorKind::HsmOther,
        }
    }

    /// The kind of a vendor error code (the vendor's table: hsm-wire's
    /// [`VendorCode::DOCUMENTED`]); a code the table does not list gets its
    /// class's kind, so it is still reported by its number.
    pub fn of_vendor_code(code: VendorCode) -> Self {
        match code {
            VendorCode::NOTHING_CONFIGURED | VendorCode::CONFIG_INVALID => {
                PpinErrorKind::ConfigInvalid
            }
            VendorCode::CONFIG_NOT_FOUND => PpinErrorKind::ConfigNotFound,
            VendorCode::ALREADY_CONFIGURED => PpinErrorKind::AlreadyConfigured,
            VendorCode::SECRETS_NOT_FOUND
            | VendorCode::SECRETS_INVALID
            | VendorCode::NO_WRITE_ACCESS
            | VendorCode::ADD_FAILED
            | VendorCode::SECRETS_ELEMENT_INVALID
            | VendorCode::UPDATE_FAILED
            | VendorCode::REMOVE_FAILED
            | VendorCode::UNSUPPORTED_SECRET_TYPES => PpinErrorKind::SecretsFile,
            VendorCode::USER_NOT_IN_CONFIG => PpinErrorKind::UserNotInConfig,
            VendorCode::NULL_LIST_POINTER => PpinErrorKind::VendorToolFault,
            VendorCode::NETWORK_FAILURE | VendorCode::CONNECT_TIMEOUT => PpinErrorKind::Unreachable,
            VendorCode::BAD_SETUP_PASSWORD => PpinErrorKind::BadSetupPassword,
            VendorCode::SETUP_PASSWORD_EXPIRED => PpinErrorKind::SetupPasswordExpired,
            VendorCode::ACCESS_DISABLED
            | VendorCode::HSM_ACCESS_DISABLED
            | VendorCode::SESSION_OBJECTS_DISABLED => PpinErrorKind::AccessDisabled,
            VendorCode::WRONG_PKCS11_PIN => PpinErrorKind::BadPkcs11Password,
            VendorCode::NOT_LOGGED_IN => PpinErrorKind::NotLoggedIn,
            VendorCode::USER_NOT_FOUND => PpinErrorKind::UnknownToHsm,
            VendorCode::MAX_CONNECTIONS_EXCEEDED => PpinErrorKind::TooManyConnections,
            VendorCode::PASSWORD_EXPIRED => PpinErrorKind::PasswordExpired,
            VendorCode::UNEXPECTED_DATA_TYPE
            | VendorCode::BUFFER_TOO_SMALL
            | VendorCode::DUPLICATE_ENTRY
            | VendorCode::NO_MORE_KEYS
            | VendorCode::PUBLIC_KEY_NOT_FOUND
            | VendorCode::PRIVATE_KEY_NOT_FOUND
            | VendorCode::INVALID_BLOCK_CIPHER
            | VendorCode::INVALID_MECHANISM
            | VendorCode::OBJECT_NOT_FOUND
            | VendorCode::WRONG_KEY_PASSWORD
            | VendorCode::KEY_NOT_FOUND
            | VendorCode::KEY_IMPORT_NOT_ALLOWED
            | VendorCode::EC_CURVE_UNKNOWN
            | VendorCode::DL_GROUP_UNKNOWN
            | VendorCode::PQC_MODE_UNKNOWN => PpinErrorKind::KeyOrObject,
            other => match other.class() {
                CodeClass::Pkcs11Standard => PpinErrorKind::Pkcs11Standard,
                CodeClass::HsmSystem => PpinErrorKind::HsmSystemError,
                // CodeClass is non-exhaustive; a class the vendor does not
                // document is as unknown as an unlisted Securosys code.
                _ => PpinErrorKind::UnknownVendorCode,
            },
        }
    }

    /// What to do about a failure of this kind, as an imperative sentence
    /// that needs no detail of the failure; errors that know more say more
    /// in [`PpinError::next_step`](crate::PpinError::next_step).
    pub fn advice(self) -> &'static str {
        match self {
            PpinErrorKind::ConfigNotFound => {
                "point to primus.cfg (pass -c <path> or set SECUROSYS_PKCS11_CONF)"
            }
            PpinErrorKind::ConfigInvalid => {
                "fix primus.cfg: it needs at least one HSM with a slot for the user, in the documented format"
            }
            PpinErrorKind::UserNotInConfig => {
                "use a user_name of primus.cfg (`ppin -l` lists them) or add a slot for the user"
            }
            PpinErrorKind::SetupPasswordFormat => {
                "type the setup password as five groups of five A-Z/0-9 characters joined by '-'"
            }
            PpinErrorKind::ProxyPasswordMissing => {
                "store the service proxy password first (`ppin -p -e <proxy user>`)"
            }
            PpinErrorKind::AlreadyConfigured => {
                "update the permanent secret (`ppin -u`) or remove it (`ppin -r`) instead of adding it"
            }
            PpinErrorKind::NotConfigured => "fetch the permanent secret first (`ppin -a`)",
            PpinErrorKind::SecretsFile => {
                "check the path and permissions of .secrets.cfg and of its directory"
            }
            PpinErrorKind::IssuedNotStored => {
                "fix the cause, ask the HSM administrator for a new setup password, then fetch the permanent secret again"
            }
            PpinErrorKind::NoUserSelected => {
                "select a configured user or slot id (`ppin -l` lists them)"
            }
            PpinErrorKind::HsmNotInConfig => {
                "name an HSM that serves the user, by its name (hsm0) or host as in primus.cfg"
            }
            PpinErrorKind::TlsSetup | PpinErrorKind::TlsHandshake => {
                "set ca_file in primus.cfg to the CA that signed the HSM's certificate"
            }
            PpinErrorKind::Unreachable => {
                "check the network and the host and port of the HSM in primus.cfg"
            }
            PpinErrorKind::Protocol => {
                "check that host and port in primus.cfg name a Primus HSM"
            }
            PpinErrorKind::ConnectionBroken => {
                "check whether the request took effect (`ppin -t`) before running it again"
            }
            PpinErrorKind::Cancelled => "run the command again when ready; nothing was changed",
            PpinErrorKind::UpdateFailed => {
                "fetch the permanent secret again with `ppin -a` (not -u) once the cause is fixed"
            }
            PpinErrorKind::UnsupportedVersion | PpinErrorKind::BadRequest => {
                "use a ppin and an HSM that speak the same protocol version"
            }
            PpinErrorKind::UnknownToHsm => {
                "check the user_name in primus.cfg against the partition's user on the HSM"
            }
            PpinErrorKind::ProxyAuthRequired | PpinErrorKind::BadProxyPassword => {
                "store the correct service proxy password (`ppin -p -e <proxy user>`)"
            }
            PpinErrorKind::BadSetupPassword => {
                "check the setup password; each wrong try counts toward the HSM's lockout"
            }
            PpinErrorKind::SetupPasswordExpired => {
                "ask the HSM administrator for a new setup password (its validity starts at first use)"
            }
            PpinErrorKind::BadPkcs11Password => {
                "check the PKCS#11 password; each wrong try counts toward the PKCS#11 lockout"
            }
            PpinErrorKind::BadSecret => {
                "fetch a new permanent secret with a new setup password (`ppin -u`)"
            }
            PpinErrorKind::ApiLocked | PpinErrorKind::Pkcs11Locked => {
                "wait for the HSM's lockout to end, then run the command again"
            }
            PpinErrorKind::HsmInternal | PpinErrorKind::HsmOther => {
                "report this to the HSM administrator"
            }
            PpinErrorKind::ExternalTimeout => {
                "run the vendor's ppin by hand with the same options to see where it stops"
            }
            PpinErrorKind::ExternalOutput => {
                "check that the command is a vendor-compatible ppin printing the documented lines"
            }
            PpinErrorKind::ExternalFailed => {
                "check the path to the vendor's ppin and fix the cause it printed"
            }
            PpinErrorKind::AccessDisabled => {
                "ask the HSM administrator to enable access to the partition in the HSM's configuration"
            }
            PpinErrorKind::TooManyConnections => {
                "close other clients of the partition or ask the HSM administrator to raise its connection limit, then run the command again"
            }
            PpinErrorKind::NotLoggedIn => {
                "check the user's permanent secret (`ppin -t`) and fetch a new one if it fails"
            }
            PpinErrorKind::PasswordExpired => {
                "ask the HSM administrator for a new password (setup password or PKCS#11 password)"
            }
            PpinErrorKind::KeyOrObject => {
                "check the key or object the failing tool used; ppin itself asks for none"
            }
            PpinErrorKind::VendorToolFault => {
                "run the vendor's ppin again; if it fails the same way, report it to Securosys support"
            }
            PpinErrorKind::Pkcs11Standard => {
                "look the code up in the PKCS#11 standard (pkcs11.h, CKR_...)"
            }
            PpinErrorKind::HsmSystemError => {
                "report the code to the HSM administrator: it is an error of the HSM's own system"
            }
            PpinErrorKind::LogDisabled => {
                "ask the HSM administrator to enable the client API user log for the partition (client_log=true)"
            }
            PpinErrorKind::UnknownVendorCode => {
                "look the code up in the vendor's troubleshooting page or report it to Securosys support"
            }
            PpinErrorKind::RemoteHost => {
                "fix what the message names on the host or in the SSH settings (host key, user, key, sudo rule, flock), then run again: no password was sent unless it says so"
            }
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
            PpinErrorKind::of_wire(&WireError::new(ErrorKind::UnknownUser, "no")),
            PpinErrorKind::UnknownToHsm
        );
        assert_eq!(
            PpinErrorKind::UnknownToHsm.as_str(),
            ErrorKind::UnknownUser.as_str()
        );
    }
}
