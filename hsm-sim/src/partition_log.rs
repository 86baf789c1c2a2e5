//! The partition log the vendor's `ppin --fetchlog` dumps: what happened to
//! each user's partition, kept as a ring per user and rendered in the
//! vendor's syslog-style lines.
//!
//! The vendor documents these lines (PKCS#11 "ppin tool" page, "Fetch
//! Partition Log"):
//!
//! ```text
//! 2021 Apr  1 09:31:28 UTC NUFENEN notice MSCNG Process: Login request: User: DEMO-TEST Client: SecurosysKspCfg@W10C-TESTCLIENT@192.168.76.76@00:0c:29:73:e6:7b with setup password over TCP connection 536870926 (IP 178.198.217.194:31550)
//! 2021 Apr  1 09:31:28 UTC NUFENEN info MSCNG Process: Login successful: User: DEMO-TEST Client: SecurosysKspCfg@W10C-TESTCLIENT@192.168.76.76@00:0c:29:73:e6:7b over TCP connection 0x2000000e (IP 178.198.217.194:31550)
//! 2021 Apr  1 09:31:29 UTC NUFENEN notice Crypto Process: Interaction: User: DEMO-TEST, Client: SecurosysKspCfg@W10C-TESTCLIENT@192.168.76.76@00:0c:29:73:e6:7b, Protocol: mscng, Retrieved permanent login credentials
//! 2021 Apr  1 09:31:29 UTC NUFENEN notice MSCNG Process: Disconnect: User: DEMO-TEST Client: SecurosysKspCfg@W10C-TESTCLIENT@192.168.76.76@00:0c:29:73:e6:7b over TCP connection 536870926 (IP 178.198.217.194:31550)
//! ```
//!
//! We write those four as documented, with `PKCS11` / `pkcs11` where the
//! sample (an MS CNG client) has `MSCNG` / `mscng`. The vendor shows no
//! failed login or lockout; ours keep the shape of the lines above (see
//! `docs/hsm-protocol.md`). No entry holds a password or secret.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use hsm_wire::{LogOrder, VendorCode, WireError, LOG_PAGE_BYTES};
use serde::{Deserialize, Serialize};

/// The device name in every line (the vendor's sample HSM is `NUFENEN`).
pub(crate) const DEVICE_NAME: &str = "HSMSIM";
/// The HSM process that serves our clients: the PKCS#11 port's.
const PROCESS: &str = "PKCS11";
/// The protocol name in the crypto process's lines.
const PROTOCOL: &str = "pkcs11";
/// How many entries the HSM keeps per partition; older ones are overwritten,
/// as the vendor warns its log ring buffer does.
pub(crate) const RING_CAPACITY: usize = 10_000;
/// The vendor's TCP connection numbers count from here (`536870926` = `0x2000000e`).
const CONNECTION_BASE: u64 = 0x2000_0000;

/// Who a log entry is about: the client program, its address and its TCP connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClientId {
    /// The client program, from its hello (`ppin`).
    pub(crate) program: String,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// The HSM's number for the TCP connection.
    pub(crate) connection: u64,
}

impl ClientId {
    /// The client named in a hello (`ppin 0.1.0`), connected from `peer` as the
    /// `sequence`-th connection since start.
    pub(crate) fn new(hello_client: &str, peer: SocketAddr, sequence: u64) -> Self {
        // The vendor's client field is `program@host@ip@mac` and has no blanks.
        let program: String = hello_client
            .split_whitespace()
            .next()
            .unwrap_or("unknown")
            .chars()
            .map(|c| if c == '@' || c.is_control() { '_' } else { c })
            .collect();
        ClientId {
            program,
            peer,
            connection: CONNECTION_BASE.wrapping_add(sequence),
        }
    }

    /// `program@host@ip@mac`: our protocol carries neither the client's host
    /// name nor its MAC address, so those are `-`.
    fn field(&self) -> String {
        format!("{}@-@{}@-", self.program, self.peer.ip())
    }
}

/// Which credential a login presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Credential {
    /// A setup password (`fetch_secret`, `update_secret`).
    SetupPassword,
    /// A permanent secret (`login`, `fetch_log`).
    PermanentSecret,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum LogEvent {
    LoginRequest {
        credential: Credential,
    },
    LoginSuccessful,
    /// A permanent secret was handed out (issued or returned again).
    RetrievedCredentials,
    /// A wrong credential that did not lock the counter.
    LoginFailed {
        credential: Credential,
        reason: String,
        attempts_left: Option<u32>,
    },
    /// API login is locked: this trial locked it, or it was locked already.
    LoginLocked {
        locked_for_ms: u64,
    },
    /// A wrong PKCS#11 password that did not lock PKCS#11 access.
    Pkcs11Refused {
        attempts_left: Option<u32>,
    },
    /// PKCS#11 access is locked: this trial locked it, or it was locked already.
    Pkcs11Locked {
        locked_for_ms: u64,
    },
    Disconnect,
}

/// One entry of a partition's log, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LogEntry {
    pub(crate) at_unix_ms: u64,
    pub(crate) user: String,
    pub(crate) client: ClientId,
    /// Named so, not `event`: the journal's tag is `event`.
    pub(crate) what: LogEvent,
}

impl LogEntry {
    /// The entry as the vendor's log line.
    pub(crate) fn render(&self) -> String {
        let user = &self.user;
        let client = self.client.field();
        let connection = self.client.connection;
        let peer = self.client.peer;
        let over = format!("over TCP connection {connection} (IP {peer})");
        let with = |credential: &Credential| match credential {
            Credential::SetupPassword => " with setup password",
            Credential::PermanentSecret => "",
        };
        // The crypto process's lines: what kind of line, who, then what.
        let crypto = |head: &str, text: String| {
            (
                "Crypto",
                format!("{head} User: {user}, Client: {client}, Protocol: {PROTOCOL}, {text}"),
            )
        };
        let code = VendorCode::WRONG_PKCS11_PIN;
        let (severity, (process, text)) = match &self.what {
            LogEvent::LoginRequest { credential } => (
                "notice",
                (
                    PROCESS,
                    format!(
                        "Login request: User: {user} Client: {client}{} {over}",
                        with(credential)
                    ),
                ),
            ),
            LogEvent::LoginSuccessful => (
                "info",
                (
                    PROCESS,
                    format!(
                        "Login successful: User: {user} Client: {client} over TCP connection {connection:#x} (IP {peer})"
                    ),
                ),
            ),
            LogEvent::RetrievedCredentials => (
                "notice",
                crypto(
                    "Interaction:",
                    "Retrieved permanent login credentials".to_owned(),
                ),
            ),
            LogEvent::LoginFailed {
                credential,
                reason,
                attempts_left,
            } => (
                "warning",
                (
                    PROCESS,
                    format!(
                        "Login failed: User: {user} Client: {client}{} {over}, {reason}{}",
                        with(credential),
                        attempts(*attempts_left)
                    ),
                ),
            ),
            LogEvent::LoginLocked { locked_for_ms } => (
                "err",
                (
                    PROCESS,
                    format!(
                        "Login locked: User: {user} Client: {client} {over}, API login locked for {} s",
                        seconds(*locked_for_ms)
                    ),
                ),
            ),
            LogEvent::Pkcs11Refused { attempts_left } => (
                "err",
                crypto(
                    "Error: Command: CommandLogin,",
                    format!(
                        "{code} ({}){}",
                        code.description(),
                        attempts(*attempts_left)
                    ),
                ),
            ),
            LogEvent::Pkcs11Locked { locked_for_ms } => (
                "err",
                crypto(
                    "Error: Command: CommandLogin,",
                    format!("PKCS#11 access locked for {} s", seconds(*locked_for_ms)),
                ),
            ),
            LogEvent::Disconnect => (
                "notice",
                (
                    PROCESS,
                    format!("Disconnect: User: {user} Client: {client} {over}"),
                ),
            ),
        };
        format!(
            "{} UTC {DEVICE_NAME} {severity} {process} Process: {text}",
            timestamp(self.at_unix_ms)
        )
    }
}

fn attempts(left: Option<u32>) -> String {
    left.map(|n| format!(", {n} attempts left"))
        .unwrap_or_default()
}

fn seconds(ms: u64) -> u64 {
    Duration::from_millis(ms).as_secs()
}

/// `2021 Apr  1 09:31:28`: syslog's blank-padded day, in UTC.
fn timestamp(unix_ms: u64) -> String {
    let format = time::macros::format_description!(
        "[year] [month repr:short] [day padding:space] [hour]:[minute]:[second]"
    );
    let nanos = i128::from(unix_ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|at| at.format(&format).ok())
        // Milliseconds from a u64 stay within time's range until the year 9999;
        // a clock beyond that is not one to print.
        .unwrap_or_else(|| format!("@{unix_ms}"))
}

/// The entries one answer adds to a user's log, from the answer's outcome.
/// `first_page` is false for the later pages of a `fetch_log`, whose
/// successful logins are not logged again.
pub(crate) fn outcome_events(
    credential: Credential,
    outcome: Result<(), &WireError>,
    first_page: bool,
) -> Vec<LogEvent> {
    use hsm_wire::ErrorKind;
    let request = LogEvent::LoginRequest { credential };
    let Err(error) = outcome else {
        let retrieved = credential == Credential::SetupPassword;
        return match (first_page, retrieved) {
            (false, _) => Vec::new(),
            (true, false) => vec![request, LogEvent::LoginSuccessful],
            (true, true) => vec![
                request,
                LogEvent::LoginSuccessful,
                LogEvent::RetrievedCredentials,
            ],
        };
    };
    let attempts_left = error.attempts_left;
    let locked_for_ms = error.locked_for_ms;
    let failed = |reason: &str| match locked_for_ms {
        Some(locked_for_ms) => LogEvent::LoginLocked { locked_for_ms },
        None => LogEvent::LoginFailed {
            credential,
            reason: reason.to_owned(),
            attempts_left,
        },
    };
    match error.kind {
        ErrorKind::BadSetupPassword => vec![request, failed("wrong setup password")],
        ErrorKind::BadSecret => vec![request, failed("wrong permanent secret")],
        ErrorKind::SetupPasswordExpired => vec![request, failed("setup password expired")],
        ErrorKind::ApiLocked => vec![request, failed("API login locked")],
        // The PKCS#11 password is checked after a successful API login.
        ErrorKind::BadPkcs11Password | ErrorKind::Pkcs11Locked => {
            let refused = match locked_for_ms {
                Some(locked_for_ms) => LogEvent::Pkcs11Locked { locked_for_ms },
                None => LogEvent::Pkcs11Refused { attempts_left },
            };
            vec![request, LogEvent::LoginSuccessful, refused]
        }
        // An unknown user has no partition to log to; a proxy refusal or an
        // internal failure happened before any login.
        _ => Vec::new(),
    }
}

/// Every partition's log: a ring of numbered entries per user.
#[derive(Debug, Default)]
pub(crate) struct PartitionLogs {
    rings: HashMap<String, VecDeque<(u64, LogEntry)>>,
    next_number: u64,
}

/// One page of a user's log.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LogPage {
    pub(crate) lines: Vec<String>,
    pub(crate) next: Option<u64>,
}

/// Which part of a user's log a page is cut from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageQuery {
    pub(crate) since_unix_ms: Option<u64>,
    pub(crate) order: LogOrder,
    pub(crate) cursor: Option<u64>,
}

impl PartitionLogs {
    /// Adds an entry to its user's ring, overwriting the oldest when full.
    pub(crate) fn push(&mut self, entry: LogEntry) {
        let number = self.next_number;
        self.next_number += 1;
        let ring = self.rings.entry(entry.user.clone()).or_default();
        if ring.len() == RING_CAPACITY {
            ring.pop_front();
        }
        ring.push_back((number, entry));
    }

    /// The page of `user`'s log that `query` asks for: whole lines up to
    /// [`LOG_PAGE_BYTES`] (at least one), and the cursor of the next page.
    pub(crate) fn page(&self, user: &str, query: PageQuery) -> LogPage {
        let Some(ring) = self.rings.get(user) else {
            return LogPage {
                lines: Vec::new(),
                next: None,
            };
        };
        let since = query.since_unix_ms.unwrap_or(0);
        let entries: Box<dyn Iterator<Item = &(u64, LogEntry)>> = match query.order {
            LogOrder::OldestFirst => Box::new(
                ring.iter()
                    .filter(move |(n, _)| query.cursor.is_none_or(|at| *n >= at)),
            ),
            LogOrder::NewestFirst => Box::new(
                ring.iter()
                    .rev()
                    .filter(move |(n, _)| query.cursor.is_none_or(|at| *n <= at)),
            ),
        };
        let mut lines = Vec::new();
        let mut bytes = 0;
        for (number, entry) in entries.filter(|(_, e)| e.at_unix_ms >= since) {
            let line = entry.render();
            if !lines.is_empty() && bytes + line.len() > LOG_PAGE_BYTES {
                return LogPage {
                    lines,
                    next: Some(*number),
                };
            }
            bytes += line.len();
            lines.push(line);
        }
        LogPage { lines, next: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_unix_ms: u64, what: LogEvent) -> LogEntry {
        LogEntry {
            at_unix_ms,
            user: "DEMO-TEST".to_owned(),
            client: ClientId::new("ppin 0.1.0", "178.198.217.194:31550".parse().unwrap(), 14),
            what,
        }
    }

    /// 2021-04-01 09:31:28 UTC, the vendor sample's first line.
    const SAMPLE_MS: u64 = 1_617_269_488_000;

    #[test]
    fn the_documented_lines_come_out_in_the_vendors_shape() {
        let client = "ppin@-@178.198.217.194@-";
        let request = entry(
            SAMPLE_MS,
            LogEvent::LoginRequest {
                credential: Credential::SetupPassword,
            },
        );
        assert_eq!(
            request.render(),
            format!("2021 Apr  1 09:31:28 UTC HSMSIM notice PKCS11 Process: Login request: User: DEMO-TEST Client: {client} with setup password over TCP connection 536870926 (IP 178.198.217.194:31550)")
        );
        assert_eq!(
            entry(SAMPLE_MS, LogEvent::LoginSuccessful).render(),
            format!("2021 Apr  1 09:31:28 UTC HSMSIM info PKCS11 Process: Login successful: User: DEMO-TEST Client: {client} over TCP connection 0x2000000e (IP 178.198.217.194:31550)")
        );
        assert_eq!(
            entry(SAMPLE_MS + 1000, LogEvent::RetrievedCredentials).render(),
            format!("2021 Apr  1 09:31:29 UTC HSMSIM notice Crypto Process: Interaction: User: DEMO-TEST, Client: {client}, Protocol: pkcs11, Retrieved permanent login credentials")
        );
        assert_eq!(
            entry(SAMPLE_MS + 1000, LogEvent::Disconnect).render(),
            format!("2021 Apr  1 09:31:29 UTC HSMSIM notice PKCS11 Process: Disconnect: User: DEMO-TEST Client: {client} over TCP connection 536870926 (IP 178.198.217.194:31550)")
        );
        // A two-digit day is not padded.
        let later = SAMPLE_MS + 10 * 86_400_000;
        assert!(entry(later, LogEvent::Disconnect)
            .render()
            .starts_with("2021 Apr 11 09:31:28 UTC "));
    }

    #[test]
    fn failures_and_lockouts_keep_the_shape() {
        let failed = entry(
            SAMPLE_MS,
            LogEvent::LoginFailed {
                credential: Credential::PermanentSecret,
                reason: "wrong permanent secret".to_owned(),
                attempts_left: Some(99),
            },
        );
        assert!(failed.render().ends_with(
            "warning PKCS11 Process: Login failed: User: DEMO-TEST Client: ppin@-@178.198.217.194@- over TCP connection 536870926 (IP 178.198.217.194:31550), wrong permanent secret, 99 attempts left"
        ), "{}", failed.render());
        let locked = entry(
            SAMPLE_MS,
            LogEvent::LoginLocked {
                locked_for_ms: 300_000,
            },
        );
        assert!(locked.render().contains(
            "err PKCS11 Process: Login locked: User: DEMO-TEST Client: ppin@-@178.198.217.194@- over TCP"
        ));
        assert!(locked.render().ends_with(", API login locked for 300 s"));
        let pin = entry(
            SAMPLE_MS,
            LogEvent::Pkcs11Refused {
                attempts_left: Some(3),
            },
        );
        assert!(pin.render().ends_with(
            "err Crypto Process: Error: Command: CommandLogin, User: DEMO-TEST, Client: ppin@-@178.198.217.194@-, Protocol: pkcs11, 0x8000000B (Login failed, wrong PKCS#11 PIN), 3 attempts left"
        ), "{}", pin.render());
    }

    #[test]
    fn client_names_lose_blanks_and_at_signs() {
        let peer = "127.0.0.1:1".parse().unwrap();
        assert_eq!(ClientId::new("a@b c", peer, 0).program, "a_b");
        assert_eq!(ClientId::new("", peer, 0).program, "unknown");
    }

    #[test]
    fn pages_follow_order_since_and_the_ring() {
        let mut logs = PartitionLogs::default();
        for i in 0..5 {
            logs.push(entry(SAMPLE_MS + i * 86_400_000, LogEvent::Disconnect));
        }
        let all = |order| {
            logs.page(
                "DEMO-TEST",
                PageQuery {
                    since_unix_ms: Some(SAMPLE_MS + 86_400_000),
                    order,
                    cursor: None,
                },
            )
        };
        let oldest = all(LogOrder::OldestFirst);
        assert_eq!(oldest.next, None);
        assert_eq!(oldest.lines.len(), 4);
        assert!(oldest.lines[0].starts_with("2021 Apr  2 "));
        let newest = all(LogOrder::NewestFirst);
        assert!(newest.lines[0].starts_with("2021 Apr  5 "));
        assert_eq!(
            logs.page(
                "NOBODY",
                PageQuery {
                    since_unix_ms: None,
                    order: LogOrder::OldestFirst,
                    cursor: None
                }
            )
            .lines
            .len(),
            0
        );

        // A ring overwrites its oldest entries.
        let mut logs = PartitionLogs::default();
        for i in 0..(RING_CAPACITY as u64 + 3) {
            logs.push(entry(SAMPLE_MS + i, LogEvent::Disconnect));
        }
        let mut cursor = None;
        let mut lines = Vec::new();
        for _ in 0..RING_CAPACITY {
            let page = logs.page(
                "DEMO-TEST",
                PageQuery {
                    since_unix_ms: None,
                    order: LogOrder::NewestFirst,
                    cursor,
                },
            );
            assert!(page.lines.iter().map(String::len).sum::<usize>() <= LOG_PAGE_BYTES);
            lines.extend(page.lines);
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(lines.len(), RING_CAPACITY);
        assert!(cursor.is_some(), "one page cannot hold the whole ring");
    }
}
