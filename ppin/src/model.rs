//! The values the operations take and give, shared by every engine, the
//! door and the command-line tool. This module is the bottom of the crate:
//! it imports nothing else from it.

use std::fmt;

use secrets_cfg::Password;

/// The version of this library and of the `ppin` tool.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The two passwords `ppin -a`/`-u` send.
pub struct SetupCredentials {
    /// The one-time setup password from the HSM administrator.
    pub setup_password: Password,
    /// The user's PKCS#11 password, sent with it.
    pub pkcs11_password: Password,
}

impl SetupCredentials {
    /// Both passwords.
    pub fn new(setup_password: Password, pkcs11_password: Password) -> Self {
        SetupCredentials {
            setup_password,
            pkcs11_password,
        }
    }
}

impl fmt::Debug for SetupCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Password's own Debug redacts; spelled out so no field can be added unredacted by accident.
        f.debug_struct("SetupCredentials")
            .field("setup_password", &self.setup_password)
            .field("pkcs11_password", &self.pkcs11_password)
            .finish()
    }
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

impl Served {
    /// What an engine that cannot see the HSM (the vendor's tool does not
    /// say which one answered) knows of a request it made.
    pub(crate) fn unattributed(user: &str, slot_id: u32) -> Self {
        Served {
            user: user.to_owned(),
            slot_id,
            hsm: None,
            address: None,
            server: None,
        }
    }
}

/// Which HSMs and slots `ppin -t` tests: the vendor's `--user`, `--hsm`,
/// `--slot` and `--slotid`, each narrowing the selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestFilter {
    /// Only slots of this user (`--user`).
    pub user: Option<String>,
    /// Only this HSM (`--hsm`): its name in `primus.cfg` (`hsm0`) or its
    /// host, as written there.
    pub hsm: Option<String>,
    /// Only slots of this name (`--slot`, e.g. `slot0`).
    pub slot: Option<String>,
    /// Only slots with this id (`--slotid`).
    pub slot_id: Option<u32>,
}

impl TestFilter {
    /// Every HSM and slot.
    pub fn all() -> Self {
        TestFilter::default()
    }

    /// Only the slots of `user`, on every HSM.
    pub fn user(user: impl Into<String>) -> Self {
        TestFilter {
            user: Some(user.into()),
            ..TestFilter::default()
        }
    }

    /// Only `user` if given, and only slots with `slot_id` if given.
    pub fn new(user: Option<String>, slot_id: Option<u32>) -> Self {
        TestFilter {
            user,
            slot_id,
            ..TestFilter::default()
        }
    }

    /// Narrowed to the HSM named `hsm` (name or host) if given.
    pub fn with_hsm(mut self, hsm: Option<String>) -> Self {
        self.hsm = hsm;
        self
    }

    /// Narrowed to slots named `slot` if given.
    pub fn with_slot(mut self, slot: Option<String>) -> Self {
        self.slot = slot;
        self
    }

    /// Whether the HSM called `name` in `primus.cfg`, at `host`, is selected.
    pub fn selects_hsm(&self, name: &str, host: &str) -> bool {
        self.hsm
            .as_deref()
            .is_none_or(|hsm| hsm == name || hsm == host)
    }

    /// Whether the slot `slot` of `user` with id `slot_id` is selected.
    pub fn selects_slot(&self, slot: &str, user: &str, slot_id: u32) -> bool {
        self.user.as_deref().is_none_or(|name| name == user)
            && self.slot.as_deref().is_none_or(|name| name == slot)
            && self.slot_id.is_none_or(|id| id == slot_id)
    }
}

impl fmt::Display for TestFilter {
    /// The selection in words, e.g. `user 'U' on HSM 'hsm0'`; `every slot`
    /// when nothing narrows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(user) = &self.user {
            parts.push(format!("user '{user}'"));
        }
        if let Some(slot) = &self.slot {
            parts.push(format!("slot '{slot}'"));
        }
        if let Some(slot_id) = self.slot_id {
            parts.push(format!("slot-id {slot_id}"));
        }
        if let Some(hsm) = &self.hsm {
            parts.push(format!("HSM '{hsm}'"));
        }
        if parts.is_empty() {
            f.write_str("every slot")
        } else {
            f.write_str(&parts.join(" on "))
        }
    }
}

/// `ppin --fetchlog --user U --hsm H [--since DATE] [--reverse]`: which
/// partition log to dump, from which HSM, from when, in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogRequest {
    /// The slot user whose partition log is fetched (it logs in with its
    /// permanent secret).
    pub user: String,
    /// The HSM, by its name (`hsm0`) or its host exactly as in `primus.cfg`:
    /// each HSM of a cluster keeps its own log.
    pub hsm: String,
    /// Only entries from this day on, from 00:00 UTC; `None`: every entry
    /// the HSM keeps.
    pub since: Option<time::Date>,
    /// Oldest entry first, or newest first (`--reverse`).
    pub order: hsm_wire::LogOrder,
}

impl LogRequest {
    /// Every entry of `user`'s log on `hsm`, oldest first.
    pub fn new(user: impl Into<String>, hsm: impl Into<String>) -> Self {
        LogRequest {
            user: user.into(),
            hsm: hsm.into(),
            since: None,
            order: hsm_wire::LogOrder::OldestFirst,
        }
    }

    /// Only entries from `since` (00:00 UTC) on.
    pub fn since(mut self, since: Option<time::Date>) -> Self {
        self.since = since;
        self
    }

    /// In `order`.
    pub fn order(mut self, order: hsm_wire::LogOrder) -> Self {
        self.order = order;
        self
    }
    /// A `--since` day, `YYYY-MM-DD`; `None` for anything else.
    pub fn parse_day(text: &str) -> Option<time::Date> {
        let mut parts = text.splitn(3, '-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if year.len() != 4 || month.len() != 2 || day.len() != 2 {
            return None;
        }
        let month = time::Month::try_from(month.parse::<u8>().ok()?).ok()?;
        time::Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
    }
}

/// What `ppin --fetchlog` dumps: the vendor's header facts and the log
/// lines as the HSM wrote them (syslog style, e.g. `2021 Apr  1 09:31:28
/// UTC NUFENEN notice MSCNG Process: Login request: ...`). No line holds a
/// password or secret: the HSM logs names and addresses only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionLog {
    /// The first day dumped (`Dump log starting from DATE 00:00 UTC`);
    /// `None` when every entry kept was asked for.
    pub since: Option<time::Date>,
    /// How many slots of the user the HSM serves (`Number of slots: N`).
    pub slots: usize,
    /// The log lines, in the order asked for.
    pub lines: Vec<String>,
}

impl PartitionLog {
    /// The first header line's text before the date.
    pub const DUMP_FROM: &'static str = "Dump log starting from ";
    /// The second header line.
    pub const FETCHING: &'static str = "Fetching log from HSM.";
    /// The third header line's text before the count.
    pub const SLOTS: &'static str = "Number of slots: ";

    /// A log as an engine read it.
    pub fn new(since: Option<time::Date>, slots: usize, lines: Vec<String>) -> Self {
        PartitionLog {
            since,
            slots,
            lines,
        }
    }

    /// The vendor's three header lines, e.g. `Dump log starting from
    /// 2021-04-01 00:00 UTC`, `Fetching log from HSM.`, `Number of slots:
    /// 1`. Without a first day, the dump starts at the Unix epoch: every
    /// entry kept (the vendor documents no other wording).
    pub fn header(&self) -> [String; 3] {
        let since = self
            .since
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH.date());
        [
            format!("{}{} 00:00 UTC", Self::DUMP_FROM, day(since)),
            Self::FETCHING.to_owned(),
            format!("{}{}", Self::SLOTS, self.slots),
        ]
    }
}

/// `YYYY-MM-DD`, as `--since` takes a day.
pub(crate) fn day(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A CloudHSM service proxy user with its password, as a caller gives it.
#[derive(Debug)]
pub struct ProxyLogin {
    /// The service proxy user (`proxy_user` in `primus.cfg`).
    pub proxy_user: String,
    /// Its password (redacted in `Debug`).
    pub password: Password,
}

/// `ppin --fortinet --user U [SETUP [PKCS11]] [--proxyuser P [--proxypwd
/// PW]]`: the passwords to fetch `user`'s permanent secret with, for a
/// secrets configuration loaded into a FortiGate.
#[derive(Debug)]
#[non_exhaustive]
pub struct FortinetRequest {
    /// The slot user.
    pub user: String,
    /// The setup and PKCS#11 passwords, as for `ppin -a`.
    pub credentials: SetupCredentials,
    /// The service proxy in front of the user, when the caller gives it;
    /// `None`: the stored proxy password, if the user sits behind one.
    pub proxy: Option<ProxyLogin>,
}

impl FortinetRequest {
    /// A request for `user`.
    pub fn new(
        user: impl Into<String>,
        credentials: SetupCredentials,
        proxy: Option<ProxyLogin>,
    ) -> Self {
        FortinetRequest {
            user: user.into(),
            credentials,
            proxy,
        }
    }
}

/// What `ppin --fortinet` prints before the encoded configuration.
pub const FORTINET_HEADER: &str = "# Fortinet secret to be loaded:";
