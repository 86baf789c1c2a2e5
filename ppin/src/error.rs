//! [`PpinError`]: every way an operation fails, with who, where, the vendor
//! code and what to do next.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use hsm_wire::{
    ClientError, ErrorKind, SetupPasswordProblem, TlsConfigError, VendorCode, WireError,
};

use crate::config::{ConfigError, Hsm, PRIMUS_CFG_ENV};
use crate::duration::{compact, utc_clock};
use crate::external::error::ExternalError;
use crate::model::{Fetch, TestFilter};

mod kind;

pub use kind::PpinErrorKind;

/// Why a ppin operation failed.
///
/// `Display` gives one line: what happened, then (after `: `) the next step,
/// e.g. `... API login is locked for 4m12s more: do not retry before 13:05:09 UTC`.
/// The parts are also available one by one ([`what`](Self::what),
/// [`next_step`](Self::next_step), [`user`](Self::user), [`hsm`](Self::hsm),
/// [`vendor_code`](Self::vendor_code), [`attempts_left`](Self::attempts_left),
/// [`locked_until`](Self::locked_until)) for callers that lay errors out
/// themselves, like the Terraform provider's diagnostics. No variant carries or
/// prints a password or secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum PpinError {
    /// `primus.cfg` is missing or wrong.
    Config(ConfigError),
    /// The user (or service proxy user) is not in `primus.cfg` (0x80005012).
    UnknownUser {
        /// The name asked for.
        user: String,
        /// Whether a slot user or a service proxy user (`ppin -p`/`-x`) was asked for.
        role: UserRole,
        /// The `primus.cfg` searched.
        config: PathBuf,
        /// The names that are there, for the message.
        known: Vec<String>,
    },
    /// The setup password does not have the vendor's format; nothing was sent.
    SetupPasswordFormat {
        /// The user it was given for.
        user: String,
        /// What is wrong (never quotes the password).
        problem: SetupPasswordProblem,
    },
    /// A CloudHSM user's service proxy password is not in `.secrets.cfg`.
    ProxyPasswordMissing {
        /// The slot user.
        user: String,
        /// Its service proxy user.
        proxy_user: String,
    },
    /// `add` for a user that already has a permanent secret.
    AlreadyConfigured {
        /// The user.
        user: String,
    },
    /// `update` or `test` for a user without a permanent secret.
    NotConfigured {
        /// The user.
        user: String,
    },
    /// `.secrets.cfg` could not be read or written.
    Secrets {
        /// The user the operation was for, if any.
        user: Option<String>,
        /// Why.
        source: secrets_cfg::Error,
    },
    /// `ppin -t` with `--user`/`--slotid` selecting no user of `primus.cfg`.
    NoUserSelected {
        /// The `primus.cfg` searched.
        config: PathBuf,
        /// The selection.
        filter: TestFilter,
    },
    /// `ppin --fetchlog --hsm H`: no HSM of `primus.cfg` serving the user
    /// has that name or host.
    HsmNotServing {
        /// The user.
        user: String,
        /// The HSM asked for.
        hsm: String,
        /// The `primus.cfg` searched.
        config: PathBuf,
        /// The names of the HSMs that serve the user, for the message.
        known: Vec<String>,
    },
    /// `primus.cfg` names no CA file (`ca_file`) for an HSM, so its TLS
    /// certificate cannot be checked.
    NoCaFile {
        /// The HSM.
        hsm: Box<Hsm>,
    },
    /// The CA file of an HSM could not be used to set up TLS.
    TlsSetup {
        /// The HSM.
        hsm: Box<Hsm>,
        /// Why.
        source: TlsConfigError,
    },
    /// No HSM of the user's cluster could be reached; each was tried once (0x80005015).
    Unreachable {
        /// The user.
        user: Option<String>,
        /// Each HSM tried, with why it failed, in the order tried.
        failures: Vec<(Hsm, ClientError)>,
    },
    /// The HSM answered, or failed after the credentials were sent, so no other
    /// HSM was tried: authentication failures are never retried.
    Hsm {
        /// The user.
        user: Option<String>,
        /// The service proxy user the connection authenticated as, if any.
        proxy_user: Option<String>,
        /// The HSM that answered.
        hsm: Box<Hsm>,
        /// What failed.
        source: Box<ClientError>,
        /// When the answer arrived (the lockout end is counted from it).
        at: SystemTime,
    },
    /// The HSM issued (`add`) or replaced (`update`) a permanent secret, and
    /// it could not be stored: the secret is lost and the setup password
    /// spent. After an update the stored entry no longer works either.
    IssuedNotStored {
        /// The user.
        user: String,
        /// Whether the HSM issued a first secret or replaced one.
        fetch: Fetch,
        /// The HSM that issued it.
        hsm: Box<Hsm>,
        /// Why it could not be stored.
        source: secrets_cfg::Error,
    },
    /// The operation was stopped (Ctrl-C, Terraform's stop) before any
    /// credential was sent, so nothing was counted or changed.
    Cancelled {
        /// The user the operation was for, if any.
        user: Option<String>,
    },
    /// `update` failed, so the user's entry was removed from `.secrets.cfg`, as
    /// the vendor's `ppin -u` does; the next try must be an `add`.
    UpdateFailed {
        /// The user.
        user: String,
        /// Why the update failed.
        cause: Box<PpinError>,
    },
    /// A run of the vendor's `ppin` (the external engine) failed. Its
    /// [`kind`](PpinError::kind) is the built-in engine's for the vendor code
    /// the tool printed, so both engines' failures read alike.
    External(ExternalError),
}

/// Which kind of name of `primus.cfg` an operation asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserRole {
    /// A slot's `user_name`.
    Slot,
    /// A slot's CloudHSM `proxy_user`.
    ServiceProxy,
}

impl PpinError {
    /// The user (or proxy user) the failed operation was for, if any.
    pub fn user(&self) -> Option<&str> {
        match self {
            PpinError::Config(_)
            | PpinError::TlsSetup { .. }
            | PpinError::NoCaFile { .. }
            | PpinError::NoUserSelected { .. } => None,
            PpinError::UnknownUser { user, .. }
            | PpinError::SetupPasswordFormat { user, .. }
            | PpinError::ProxyPasswordMissing { user, .. }
            | PpinError::AlreadyConfigured { user }
            | PpinError::NotConfigured { user }
            | PpinError::UpdateFailed { user, .. }
            | PpinError::IssuedNotStored { user, .. }
            | PpinError::HsmNotServing { user, .. } => Some(user),
            PpinError::Cancelled { user } => user.as_deref(),
            PpinError::External(ExternalError::LoginFailed { user, .. }) => Some(user),
            PpinError::External(ExternalError::Disagree { lines, .. }) => Some(&lines.name),
            PpinError::External(_) => None,
            PpinError::Secrets { user, .. }
            | PpinError::Unreachable { user, .. }
            | PpinError::Hsm { user, .. } => user.as_deref(),
        }
    }

    /// The HSM involved, if the failure is tied to one.
    pub fn hsm(&self) -> Option<&Hsm> {
        match self {
            PpinError::TlsSetup { hsm, .. }
            | PpinError::NoCaFile { hsm }
            | PpinError::IssuedNotStored { hsm, .. }
            | PpinError::Hsm { hsm, .. } => Some(hsm),
            PpinError::UpdateFailed { cause, .. } => cause.hsm(),
            _ => None,
        }
    }

    /// The vendor's error code, where the vendor has one for this case.
    pub fn vendor_code(&self) -> Option<VendorCode> {
        match self {
            PpinError::Config(error) => error.vendor_code(),
            PpinError::UnknownUser { .. } => Some(VendorCode::USER_NOT_IN_CONFIG),
            PpinError::Secrets { source, .. } | PpinError::IssuedNotStored { source, .. } => {
                secrets_vendor_code(source)
            }
            PpinError::Unreachable { .. } => Some(VendorCode::NETWORK_FAILURE),
            PpinError::Hsm { source, .. } => source.vendor_code(),
            PpinError::UpdateFailed { cause, .. } => cause.vendor_code(),
            PpinError::External(error) => error.vendor_code(),
            PpinError::SetupPasswordFormat { .. }
            | PpinError::ProxyPasswordMissing { .. }
            | PpinError::AlreadyConfigured { .. }
            | PpinError::NotConfigured { .. }
            | PpinError::NoUserSelected { .. }
            | PpinError::HsmNotServing { .. }
            | PpinError::NoCaFile { .. }
            | PpinError::Cancelled { .. }
            | PpinError::TlsSetup { .. } => None,
        }
    }

    /// The HSM's error, when the HSM answered with one.
    pub fn wire_error(&self) -> Option<&WireError> {
        match self {
            PpinError::Hsm { source, .. } => source.wire_error(),
            PpinError::UpdateFailed { cause, .. } => cause.wire_error(),
            _ => None,
        }
    }

    /// How many wrong trials remain before a lockout, when the HSM said.
    pub fn attempts_left(&self) -> Option<u32> {
        self.wire_error().and_then(|e| e.attempts_left)
    }

    /// When the lockout the HSM reported ends, on this machine's clock.
    pub fn locked_until(&self) -> Option<SystemTime> {
        match self {
            PpinError::Hsm { source, at, .. } => source
                .wire_error()
                .and_then(WireError::locked_for)
                .map(|remaining| *at + remaining),
            PpinError::UpdateFailed { cause, .. } => cause.locked_until(),
            _ => None,
        }
    }

    /// How long the lockout lasted when the HSM answered.
    fn locked_for(&self) -> Option<Duration> {
        self.wire_error().and_then(WireError::locked_for)
    }

    /// True when nothing reached an HSM: the configuration, the input or the
    /// local files were refused first, so no trial was counted anywhere.
    pub fn is_local(&self) -> bool {
        !matches!(
            self,
            PpinError::Unreachable { .. }
                | PpinError::Hsm { .. }
                | PpinError::UpdateFailed { .. }
                | PpinError::IssuedNotStored { .. }
                // Whether the tool reached the HSM is not known.
                | PpinError::External(_)
        )
    }

    /// What kind of failure this is, for callers that act on it; its
    /// [`as_str`](PpinErrorKind::as_str) is the stable name for scripts.
    pub fn kind(&self) -> PpinErrorKind {
        match self {
            PpinError::Config(ConfigError::NotFound { .. }) => PpinErrorKind::ConfigNotFound,
            PpinError::Config(_) => PpinErrorKind::ConfigInvalid,
            PpinError::UnknownUser { .. } => PpinErrorKind::UserNotInConfig,
            PpinError::SetupPasswordFormat { .. } => PpinErrorKind::SetupPasswordFormat,
            PpinError::ProxyPasswordMissing { .. } => PpinErrorKind::ProxyPasswordMissing,
            PpinError::AlreadyConfigured { .. } => PpinErrorKind::AlreadyConfigured,
            PpinError::NotConfigured { .. } => PpinErrorKind::NotConfigured,
            PpinError::Secrets { .. } => PpinErrorKind::SecretsFile,
            PpinError::NoUserSelected { .. } => PpinErrorKind::NoUserSelected,
            PpinError::HsmNotServing { .. } => PpinErrorKind::HsmNotInConfig,
            PpinError::NoCaFile { .. } | PpinError::TlsSetup { .. } => PpinErrorKind::TlsSetup,
            PpinError::Unreachable { .. } => PpinErrorKind::Unreachable,
            PpinError::Hsm { source, .. } => match source.as_ref() {
                ClientError::Hsm { error, .. } => PpinErrorKind::of_wire(error),
                ClientError::Tls { .. } => PpinErrorKind::TlsHandshake,
                ClientError::InvalidServerName { .. } => PpinErrorKind::ConfigInvalid,
                ClientError::Protocol { .. } => PpinErrorKind::Protocol,
                _ => PpinErrorKind::ConnectionBroken,
            },
            PpinError::UpdateFailed { .. } => PpinErrorKind::UpdateFailed,
            PpinError::IssuedNotStored { .. } => PpinErrorKind::IssuedNotStored,
            PpinError::Cancelled { .. } => PpinErrorKind::Cancelled,
            PpinError::External(error) => external_kind(error),
        }
    }

    /// What happened, as one sentence without the next step.
    pub fn what(&self) -> String {
        match self {
            PpinError::Config(error) => error.to_string(),
            PpinError::UnknownUser { user, role, config, .. } => {
                let role = match role {
                    UserRole::Slot => "user",
                    UserRole::ServiceProxy => "service proxy user",
                };
                format!("{role} '{user}' is not in {} (0x80005012)", config.display())
            }
            PpinError::SetupPasswordFormat { user, problem } => {
                format!("the setup password for '{user}' is malformed: {problem}; nothing was sent to the HSM")
            }
            PpinError::ProxyPasswordMissing { user, proxy_user } => format!(
                "user '{user}' sits behind the CloudHSM service proxy '{proxy_user}', whose password is not in .secrets.cfg"
            ),
            PpinError::AlreadyConfigured { user } => format!("user '{user}' already has a permanent secret"),
            PpinError::NotConfigured { user } => format!("user '{user}' has no permanent secret (MISSING)"),
            PpinError::Secrets { source, .. } => source.to_string(),
            PpinError::NoUserSelected { config, filter } => format!("{} has no {filter}", config.display()),
            PpinError::HsmNotServing { user, hsm, config, .. } => {
                format!("no HSM named or at '{hsm}' serves user '{user}' in {}", config.display())
            }
            PpinError::NoCaFile { hsm } => format!("HSM {hsm} has no ca_file in primus.cfg"),
            PpinError::TlsSetup { hsm, source } => format!("cannot set up TLS for HSM {hsm}: {source}"),
            PpinError::Unreachable { user, failures } => {
                let whom = user.as_deref().map(|u| format!(" of user '{u}'")).unwrap_or_default();
                let tried: Vec<String> = failures.iter().map(|(hsm, error)| format!("{}: {error}", hsm.name)).collect();
                format!("no HSM{whom} could be reached (0x80005015); tried {}", tried.join("; "))
            }
            PpinError::Hsm { user, hsm, source, .. } => hsm_what(user.as_deref(), hsm, source, self.locked_for()),
            PpinError::IssuedNotStored { user, fetch, hsm, source } => {
                let (issued, old) = match fetch {
                    Fetch::Add => ("issued", ""),
                    Fetch::Update => ("replaced", "; the previous secret no longer works"),
                };
                format!(
                    "HSM {hsm} {issued} the permanent secret of '{user}', but it could not be stored ({}){old}; \
                     the setup password is spent",
                    secrets_detail(source)
                )
            }
            PpinError::Cancelled { user } => {
                let of_user = user.as_deref().map(|u| format!(" for '{u}'")).unwrap_or_default();
                format!("the operation{of_user} was cancelled before any credential was sent")
            }
            PpinError::UpdateFailed { user, cause } => format!(
                "{}; the permanent secret of '{user}' was removed from .secrets.cfg, as the vendor's ppin does on a failed update",
                cause.what()
            ),
            PpinError::External(error) => external_what(error),
        }
    }

    /// What to do next, as an imperative sentence.
    pub fn next_step(&self) -> String {
        match self {
            PpinError::Config(ConfigError::NotFound { .. }) => {
                format!("pass -c <path to primus.cfg> or set {PRIMUS_CFG_ENV}")
            }
            PpinError::Config(_) => "fix primus.cfg and run the command again".to_owned(),
            PpinError::UnknownUser { role, known, .. } => {
                let role = match role {
                    UserRole::Slot => "user_name",
                    UserRole::ServiceProxy => "proxy_user",
                };
                if known.is_empty() {
                    format!("add a slot with this {role} to primus.cfg")
                } else {
                    format!("use one of the configured {role}s: {}", known.join(", "))
                }
            }
            PpinError::SetupPasswordFormat { .. } => {
                "type it again as five groups of five A-Z/0-9 characters joined by '-' (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)"
                    .to_owned()
            }
            PpinError::ProxyPasswordMissing { proxy_user, .. } => {
                format!("run `ppin -p -e {proxy_user}` first, then run this command again")
            }
            PpinError::AlreadyConfigured { user } => {
                format!("run `ppin -u -e {user}` to replace it or `ppin -r -e {user}` to remove it")
            }
            PpinError::NotConfigured { user } => format!("run `ppin -a -e {user}` first"),
            PpinError::Secrets { .. } => {
                "check the path and permissions of .secrets.cfg (pass -s <path> or set SECUROSYS_SECRETS_CONF)".to_owned()
            }
            PpinError::NoUserSelected { .. } => "run `ppin -l` to see the configured users and slot ids".to_owned(),
            PpinError::HsmNotServing { known, .. } => format!(
                "pass --hsm with one of the HSMs serving the user, by name or host as in primus.cfg: {}",
                known.join(", ")
            ),
            PpinError::NoCaFile { hsm } | PpinError::TlsSetup { hsm, .. } => format!(
                "set ca_file of HSM {} (or of primus) in primus.cfg to the PEM file of the CA that signed the HSM's certificate",
                hsm.name
            ),
            PpinError::Unreachable { .. } => {
                "check the network and host/port in primus.cfg, then run the command again (no password was sent)"
                    .to_owned()
            }
            PpinError::Hsm { user, proxy_user, hsm, source, .. } => {
                hsm_next_step(user.as_deref(), proxy_user.as_deref(), hsm, source, self.locked_until())
            }
            PpinError::IssuedNotStored { user, .. } => format!(
                "fix the cause above, ask the HSM administrator for a new setup password for '{user}', then run `ppin -a -e {user}`"
            ),
            PpinError::Cancelled { .. } => "run the command again when ready; nothing was changed".to_owned(),
            PpinError::UpdateFailed { user, cause } => {
                format!("{}; then run `ppin -a -e {user}` (not -u) to fetch a permanent secret again", cause.next_step())
            }
            PpinError::External(error) => external_next_step(self.kind(), error),
        }
    }
}

/// The vendor code of a `.secrets.cfg` error: secrets-cfg's own, and
/// 0x80005004 (secrets file not found) also for a write into a directory
/// that does not exist, as the vendor's tool reports it.
fn secrets_vendor_code(source: &secrets_cfg::Error) -> Option<VendorCode> {
    if let Some(code) = source.vendor_code() {
        return Some(VendorCode(code));
    }
    match source {
        secrets_cfg::Error::Write { source: io, .. }
            if io.kind() == std::io::ErrorKind::NotFound =>
        {
            Some(VendorCode(secrets_cfg::VENDOR_SECRETS_NOT_FOUND))
        }
        _ => None,
    }
}

/// A `.secrets.cfg` error without its advice to retry: after the HSM issued
/// a secret, "retry" is the wrong advice.
fn secrets_detail(source: &secrets_cfg::Error) -> String {
    let text = source.to_string();
    // secrets-cfg's messages are "what: why; advice".
    match text.split_once("; ") {
        Some((what, _advice)) => what.to_owned(),
        None => text,
    }
}

fn hsm_what(
    user: Option<&str>,
    hsm: &Hsm,
    source: &ClientError,
    locked_for: Option<Duration>,
) -> String {
    let of_user = user.map(|u| format!(" of user '{u}'")).unwrap_or_default();
    let Some(error) = source.wire_error() else {
        return match source {
            ClientError::Tls { .. } => format!("the TLS handshake with HSM {hsm} failed: {source}"),
            ClientError::InvalidServerName { .. } => {
                format!("HSM {hsm} cannot be checked over TLS: {source}")
            }
            ClientError::Protocol { .. } => {
                format!("HSM {hsm} does not speak this protocol: {source}")
            }
            _ => format!(
                "the connection to HSM {hsm} failed after the request{of_user} was sent: {source}"
            ),
        };
    };
    let code = error
        .vendor_code
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let counter = match error.kind {
        ErrorKind::BadPkcs11Password | ErrorKind::Pkcs11Locked => "PKCS#11 access",
        ErrorKind::BadProxyPassword => "the service proxy's API login",
        _ => "API login",
    };
    // A wrong trial reports what is left, or the lockout it has just started.
    let left = match (error.attempts_left, locked_for) {
        (_, Some(lockout)) => format!("; {counter} is now locked for {}", compact(lockout)),
        (Some(n), None) => format!(", {n} attempts left"),
        (None, None) => String::new(),
    };
    let locked = locked_for
        .map(|d| format!(" for {} more", compact(d)))
        .unwrap_or_default();
    match error.kind {
        ErrorKind::BadSetupPassword => {
            format!("HSM {hsm} refused the setup password{of_user}{code}{left}")
        }
        ErrorKind::SetupPasswordExpired => {
            format!("HSM {hsm}: the setup password{of_user} has expired{code}")
        }
        ErrorKind::BadPkcs11Password => {
            format!("HSM {hsm} refused the PKCS#11 password{of_user}{code}{left}")
        }
        ErrorKind::BadSecret => {
            format!("HSM {hsm} refused the permanent secret{of_user} (replaced or revoked){left}")
        }
        ErrorKind::BadProxyPassword => {
            format!("HSM {hsm} refused the service proxy password{left}")
        }
        ErrorKind::ProxyAuthRequired => {
            format!("HSM {hsm} requires service proxy authentication first")
        }
        ErrorKind::ApiLocked => format!("HSM {hsm}: {counter}{of_user} is locked{locked}"),
        ErrorKind::Pkcs11Locked => {
            format!("HSM {hsm}: {counter}{of_user} is locked{locked} (API login still works)")
        }
        ErrorKind::UnknownUser => format!("HSM {hsm} does not know the user{code}"),
        _ => {
            let described = error
                .vendor_code
                .map(|c| format!(" ({c}: {})", c.description()))
                .unwrap_or_default();
            format!(
                "HSM {hsm} refused the request{of_user}: {}{described}",
                error.message
            )
        }
    }
}

fn hsm_next_step(
    user: Option<&str>,
    proxy_user: Option<&str>,
    hsm: &Hsm,
    source: &ClientError,
    locked_until: Option<SystemTime>,
) -> String {
    let user = user.unwrap_or("<user>");
    let Some(error) = source.wire_error() else {
        return match source {
            ClientError::Tls { .. } => format!(
                "check that ca_file of HSM {} in primus.cfg is the CA that signed the HSM's certificate",
                hsm.name
            ),
            ClientError::InvalidServerName { .. } => {
                format!("set host of HSM {} in primus.cfg to a DNS name or IP address", hsm.name)
            }
            ClientError::Protocol { .. } => {
                format!("check host and port of HSM {} in primus.cfg: they must name a Primus HSM", hsm.name)
            }
            _ => format!("run `ppin -t --user {user}` to see whether the request took effect before retrying"),
        };
    };
    // What to correct (none for a lockout: only waiting helps), then when to retry.
    let fix = match error.kind {
        ErrorKind::BadSetupPassword => Some("check the setup password".to_owned()),
        ErrorKind::BadPkcs11Password => Some("check the PKCS#11 password".to_owned()),
        ErrorKind::BadProxyPassword | ErrorKind::ProxyAuthRequired => Some(format!(
            "run `ppin -p -e {}` with the correct service proxy password",
            proxy_user.unwrap_or("<proxy user>")
        )),
        ErrorKind::ApiLocked | ErrorKind::Pkcs11Locked => None,
        ErrorKind::SetupPasswordExpired => {
            return "ask the HSM administrator for a new setup password (its validity starts at first use)".to_owned()
        }
        ErrorKind::BadSecret => return format!("run `ppin -u -e {user}` with a new setup password"),
        ErrorKind::UnknownUser => return format!("check user_name '{user}' in primus.cfg against the HSM partition"),
        // The rest need nothing of this failure's detail: the kind's advice.
        _ => return PpinErrorKind::of_wire(error).advice().to_owned(),
    };
    let wait = locked_until.map(|until| format!("do not retry before {}", utc_clock(until)));
    match (fix, wait) {
        (None, Some(wait)) => wait,
        (None, None) => "wait for the lockout to end, then run the command again".to_owned(),
        (Some(fix), Some(wait)) => format!("{fix}, and {wait}"),
        (Some(fix), None) => match error.attempts_left {
            Some(left) => {
                format!("{fix} and run the command again; {left} more wrong attempts lock it")
            }
            None => format!("{fix} and run the command again"),
        },
    }
}

impl fmt::Display for PpinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // secrets-cfg's messages already end with what to do.
            PpinError::Secrets { source, .. } => write!(f, "{source}"),
            _ => write!(f, "{}: {}", self.what(), self.next_step()),
        }
    }
}

impl std::error::Error for PpinError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PpinError::Config(error) => Some(error),
            PpinError::Secrets { source, .. } | PpinError::IssuedNotStored { source, .. } => {
                Some(source)
            }
            PpinError::TlsSetup { source, .. } => Some(source),
            PpinError::Hsm { source, .. } => Some(source),
            PpinError::UpdateFailed { cause, .. } => Some(cause.as_ref()),
            PpinError::External(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ExternalError> for PpinError {
    fn from(error: ExternalError) -> Self {
        PpinError::External(error)
    }
}

/// The kind of a failed run of the vendor's `ppin`: the kind of the vendor
/// code the tool printed (the built-in engine's, for the codes both report),
/// else what went wrong with the run. A code the vendor's table does not list
/// still gives a kind that reports it by its number, never "output not understood".
fn external_kind(error: &ExternalError) -> PpinErrorKind {
    if let Some(code) = error.vendor_code() {
        return PpinErrorKind::of_vendor_code(code);
    }
    match error {
        ExternalError::NoPrompt { .. } | ExternalError::Hung { .. } => {
            PpinErrorKind::ExternalTimeout
        }
        ExternalError::Unexpected { .. } | ExternalError::Disagree { .. } => {
            PpinErrorKind::ExternalOutput
        }
        ExternalError::Cancelled { .. } => PpinErrorKind::Cancelled,
        ExternalError::Lock { .. } | ExternalError::NotStorable { .. } => {
            PpinErrorKind::SecretsFile
        }
        ExternalError::ConnectFailed { .. } => PpinErrorKind::Unreachable,
        ExternalError::EditInterrupted { .. } => PpinErrorKind::ConnectionBroken,
        ExternalError::Ssh { .. }
        | ExternalError::HostNotReady { .. }
        | ExternalError::HostFile { .. } => PpinErrorKind::RemoteHost,
        ExternalError::Spawn { .. }
        | ExternalError::Terminal { .. }
        | ExternalError::Failed { .. }
        | ExternalError::LoginFailed { .. } => PpinErrorKind::ExternalFailed,
    }
}

/// What happened in a failed run of the vendor's `ppin`: with the vendor's
/// description of the code it printed, if any.
fn external_what(error: &ExternalError) -> String {
    let Some(code) = error.vendor_code() else {
        return error.to_string();
    };
    let described = format!("{code}: {}", code.description());
    match error {
        // Output with a code is the tool's report of that code, however it is laid out.
        ExternalError::Unexpected {
            command, output, ..
        } => {
            let printed: Vec<&str> = output
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect();
            format!(
                "`{command}` reported {described}; it printed: {:?}",
                printed.join(" | ")
            )
        }
        _ => format!("{error} ({described})"),
    }
}

/// The next step after a failed run of the vendor's `ppin`, by its kind.
fn external_next_step(kind: PpinErrorKind, error: &ExternalError) -> String {
    let tried_once = "it was run once and is never retried automatically";
    match kind {
        // In the tool's own terms: the flags and variables it reads.
        PpinErrorKind::ConfigNotFound => {
            format!("pass -c <path to primus.cfg> or set {PRIMUS_CFG_ENV}")
        }
        PpinErrorKind::SecretsFile => {
            "check the path and permissions of .secrets.cfg and of its directory (pass -s <path> or set SECUROSYS_SECRETS_CONF)".to_owned()
        }
        PpinErrorKind::ExternalTimeout => format!(
            "run the command by hand with the same options to see where it stops ({tried_once})"
        ),
        PpinErrorKind::ExternalFailed => match error {
            ExternalError::Spawn { .. } => "check the path to the vendor's ppin".to_owned(),
            _ => format!("fix the cause the tool printed, then run the command again ({tried_once})"),
        },
        PpinErrorKind::Cancelled => kind.advice().to_owned(),
        _ => match error {
            ExternalError::Disagree { lines, .. } => format!(
                "run `ppin -l` by hand to compare the lines of each HSM; to make them agree, fetch the \
                 {role}'s secret again (`ppin -u -e {name}` for a user, `ppin -p -e {name}` for a proxy) \
                 or check .secrets.cfg against primus.cfg",
                role = lines.role,
                name = lines.name
            ),
            _ => format!("{} ({tried_once})", kind.advice()),
        },
    }
}

impl From<ConfigError> for PpinError {
    fn from(error: ConfigError) -> Self {
        PpinError::Config(error)
    }
}

#[cfg(test)]
mod tests;
