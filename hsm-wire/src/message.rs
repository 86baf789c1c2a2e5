//! The messages of protocol version 1 (see `docs/hsm-protocol.md`).

use std::fmt;
use std::time::Duration;

use primus_core::{Password, Secret};
use serde::{Deserialize, Serialize};

use crate::vendor_code::VendorCode;

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest frame (one JSON message plus its newline) either side accepts, in bytes.
///
/// Every message is a few hundred bytes; the bound keeps a broken or hostile peer
/// from making the other side allocate without limit.
pub const MAX_FRAME_LEN: usize = 64 * 1024;

/// The first message a client sends: the protocol versions it speaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    /// Every protocol version the client speaks; the server picks the highest it shares.
    pub versions: Vec<u32>,
    /// Client name and version, for the server's log (e.g. `ppin 0.1.0`).
    pub client: String,
}

/// The server's answer to a [`ClientHello`] when they share a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHello {
    /// The protocol version chosen for the rest of the connection.
    pub version: u32,
    /// Server name and version (e.g. `hsm-sim 0.1.0`).
    pub server: String,
}

/// The client's first frame: `{"type":"hello",...}`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum HelloFrame {
    Hello(ClientHello),
}

/// The server's answer to the first frame: its hello or an error.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum HelloReplyFrame {
    Hello(ServerHello),
    Error(WireError),
}

/// A request sent after the handshake. One request is answered by exactly one
/// [`Response`] before the next request is sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Request {
    /// Authenticate as a CloudHSM service proxy user, for the rest of the connection.
    ProxyAuth {
        /// The service proxy user (`proxy_user` of a slot in `primus.cfg`).
        proxy_user: String,
        /// Checked against the proxy's own counter, separate from its users'.
        password: Password,
    },
    /// Trade a setup password and the PKCS#11 password for the user's permanent
    /// secret (`ppin -a`). Issues one if the user has none; returns the current one otherwise.
    FetchSecret {
        /// The partition user (`user_name` of a slot).
        user: String,
        /// The setup password, `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
        setup_password: Password,
        /// The user's PKCS#11 password, checked by the HSM before it issues a
        /// secret; redacted in `Debug`.
        pkcs11_password: Password,
    },
    /// Issue a new permanent secret, invalidating the current one (`ppin -u`).
    UpdateSecret {
        /// The partition user (`user_name` of a slot).
        user: String,
        /// The setup password, `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`; an update needs it too.
        setup_password: Password,
        /// The user's PKCS#11 password, checked by the HSM before it replaces
        /// the secret; redacted in `Debug`.
        pkcs11_password: Password,
    },
    /// Log in with a permanent secret (`ppin -t`).
    Login {
        /// The partition user (`user_name` of a slot).
        user: String,
        /// The permanent secret, hex in JSON.
        #[serde(with = "hex_secret")]
        secret: Secret,
    },
    /// Fetch one page of the user's partition log (`ppin --fetchlog`), logging
    /// in with the permanent secret as the vendor's tool does. The first page
    /// has no `cursor`; each answer names the cursor of the next page, if any.
    FetchLog {
        /// The partition user (`user_name` of a slot).
        user: String,
        /// The permanent secret, hex in JSON; checked as `login` checks it.
        #[serde(with = "hex_secret")]
        secret: Secret,
        /// Only entries at or after this instant, in milliseconds since the Unix epoch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_unix_ms: Option<u64>,
        /// Oldest entry first (the default) or newest first (`--reverse`).
        #[serde(default)]
        order: LogOrder,
        /// Where the previous page ended ([`Response::LogPage`]'s `next`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cursor: Option<u64>,
    },
    /// Ask the server for its version.
    Version,
}

/// The order of a partition log's entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogOrder {
    /// Oldest entry first, as the HSM keeps them.
    #[default]
    OldestFirst,
    /// Newest entry first (`ppin --fetchlog --reverse`).
    NewestFirst,
}

/// The most bytes of log lines a server puts in one [`Response::LogPage`], so
/// that a page, escaped as JSON, stays well within [`MAX_FRAME_LEN`].
pub const LOG_PAGE_BYTES: usize = 32 * 1024;

impl Request {
    /// The operation name as it appears in the `op` field.
    pub fn op(&self) -> &'static str {
        match self {
            Request::ProxyAuth { .. } => "proxy_auth",
            Request::FetchSecret { .. } => "fetch_secret",
            Request::UpdateSecret { .. } => "update_secret",
            Request::Login { .. } => "login",
            Request::FetchLog { .. } => "fetch_log",
            Request::Version => "version",
        }
    }
}

/// The answer to one [`Request`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Response {
    /// The request succeeded and carries no data (`proxy_auth`, `login`).
    Ok,
    /// The permanent secret (`fetch_secret`, `update_secret`), hex in JSON.
    Secret {
        /// The 32-byte permanent secret.
        #[serde(with = "hex_secret")]
        secret: Secret,
    },
    /// The server's version (`version`).
    Version(ServerVersion),
    /// One page of a partition log (`fetch_log`): whole lines in the vendor's
    /// format, without line ends.
    LogPage {
        /// The page's lines, in the order asked for.
        lines: Vec<String>,
        /// The cursor of the next page; absent on the last page.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<u64>,
    },
    /// The request failed; see [`WireError`].
    Error(WireError),
}

/// What the `version` operation returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerVersion {
    /// Server product name (e.g. `hsm-sim`).
    pub product: String,
    /// Server software version.
    pub version: String,
    /// The protocol version in use on this connection.
    pub protocol: u32,
}

/// A failure reported by the server: what went wrong, in a form programs can act on.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct WireError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// A human-readable sentence from the server (never contains a secret).
    pub message: String,
    /// The vendor's error code, where the vendor documents one for this case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_code: Option<VendorCode>,
    /// How many wrong trials remain before the counter that this failure touched locks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// When the lockout ends, in milliseconds since the Unix epoch on the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until_unix_ms: Option<u64>,
    /// How long the lockout lasts from the moment of this answer, in milliseconds.
    /// Use this rather than `locked_until_unix_ms` when the clocks may differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_for_ms: Option<u64>,
}

impl WireError {
    /// An error of `kind` with the kind's vendor code and no counters.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        WireError {
            kind,
            message: message.into(),
            vendor_code: kind.vendor_code(),
            attempts_left: None,
            locked_until_unix_ms: None,
            locked_for_ms: None,
        }
    }

    /// Sets how many wrong trials remain.
    pub fn with_attempts_left(mut self, attempts_left: u32) -> Self {
        self.attempts_left = Some(attempts_left);
        self
    }

    /// Sets when a lockout ends: `until_unix_ms` on the server clock, `remaining` from now.
    pub fn with_lockout(mut self, until_unix_ms: u64, remaining: Duration) -> Self {
        self.locked_until_unix_ms = Some(until_unix_ms);
        self.locked_for_ms = Some(u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// How long the lockout lasts from the moment of the answer, if one is in force.
    pub fn locked_for(&self) -> Option<Duration> {
        self.locked_for_ms.map(Duration::from_millis)
    }
}

impl fmt::Debug for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The derived form, spelled out so the vendor code prints in hex.
        f.debug_struct("WireError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("vendor_code", &self.vendor_code)
            .field("attempts_left", &self.attempts_left)
            .field("locked_until_unix_ms", &self.locked_until_unix_ms)
            .field("locked_for_ms", &self.locked_for_ms)
            .finish()
    }
}

/// The machine-readable kind of a [`WireError`] (`kind` in JSON, snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Client and server share no protocol version. No vendor code.
    UnsupportedVersion,
    /// The message could not be parsed or came out of order. No vendor code.
    BadRequest,
    /// The server knows no such user or service proxy user. Vendor code 0x8000000D
    /// (the HSM's "User not found"; 0x80005012 is the client's own check of `primus.cfg`).
    UnknownUser,
    /// The user sits behind a service proxy and this connection has not
    /// authenticated as that proxy. No vendor code.
    ProxyAuthRequired,
    /// Wrong service proxy password; counts one API-login trial of the proxy user.
    /// No vendor code.
    BadProxyPassword,
    /// Wrong setup password; counts one API-login trial. Vendor code 0x80005017.
    BadSetupPassword,
    /// The setup password's lifespan, counted from its first use, has passed.
    /// Vendor code 0x80005018.
    SetupPasswordExpired,
    /// Wrong PKCS#11 password; counts one PKCS#11 trial. Vendor code 0x8000000B.
    BadPkcs11Password,
    /// Wrong (or invalidated) permanent secret, or the user has none; counts one
    /// API-login trial. No vendor code.
    BadSecret,
    /// API login (setup password, permanent secret, proxy password) is locked
    /// for this user. No vendor code.
    ApiLocked,
    /// PKCS#11 privileged access is locked for this user; API login still works.
    /// No vendor code.
    Pkcs11Locked,
    /// The HSM's configuration does not let this user fetch its partition log
    /// over the API (the vendor's "client API user log"). No vendor code.
    LogDisabled,
    /// The server failed for a reason of its own. No vendor code.
    Internal,
    /// A kind this version of the crate does not know (sent by a newer server).
    #[serde(other)]
    Unknown,
}

impl ErrorKind {
    /// The vendor's error code for this kind, where the vendor documents one.
    pub fn vendor_code(self) -> Option<VendorCode> {
        match self {
            ErrorKind::UnknownUser => Some(VendorCode::USER_NOT_FOUND),
            ErrorKind::BadSetupPassword => Some(VendorCode::BAD_SETUP_PASSWORD),
            ErrorKind::SetupPasswordExpired => Some(VendorCode::SETUP_PASSWORD_EXPIRED),
            ErrorKind::BadPkcs11Password => Some(VendorCode::WRONG_PKCS11_PIN),
            ErrorKind::UnsupportedVersion
            | ErrorKind::BadRequest
            | ErrorKind::ProxyAuthRequired
            | ErrorKind::BadProxyPassword
            | ErrorKind::BadSecret
            | ErrorKind::ApiLocked
            | ErrorKind::Pkcs11Locked
            | ErrorKind::LogDisabled
            | ErrorKind::Internal
            | ErrorKind::Unknown => None,
        }
    }

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::UnsupportedVersion => "unsupported_version",
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::UnknownUser => "unknown_user",
            ErrorKind::ProxyAuthRequired => "proxy_auth_required",
            ErrorKind::BadProxyPassword => "bad_proxy_password",
            ErrorKind::BadSetupPassword => "bad_setup_password",
            ErrorKind::SetupPasswordExpired => "setup_password_expired",
            ErrorKind::BadPkcs11Password => "bad_pkcs11_password",
            ErrorKind::BadSecret => "bad_secret",
            ErrorKind::ApiLocked => "api_locked",
            ErrorKind::Pkcs11Locked => "pkcs11_locked",
            ErrorKind::LogDisabled => "log_disabled",
            ErrorKind::Internal => "internal",
            ErrorKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serde for [`Secret`] fields as lowercase hex strings, for
/// `#[serde(with = "hsm_wire::hex_secret")]`: the text is zeroized after use, and a
/// malformed input is refused without being quoted.
pub mod hex_secret {
    use primus_core::Secret;
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    /// Writes `secret` as lowercase hex.
    pub fn serialize<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
        let text = Zeroizing::new(hex::encode(secret.expose_secret()));
        serializer.serialize_str(&text)
    }

    /// Reads a secret written as hex (either case).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
        let text = Zeroizing::new(String::deserialize(deserializer)?);
        // The error text must not echo the input: it is a secret.
        let bytes = hex::decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("secret must be an even number of hex digits"))?;
        Ok(Secret::new(bytes))
    }
}
