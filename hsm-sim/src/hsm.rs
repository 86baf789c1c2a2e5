//! The simulated HSM: credentials, counters, issued secrets, and the answer to each request.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hsm_wire::{ErrorKind, Request, Response, ServerVersion, WireError, PROTOCOL_VERSION};
use primus_core::{Password, Secret};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::{random_bytes, random_setup_password, Policy, SimConfig, UserConfig};
use crate::counter::TrialCounter;
use crate::journal::{Event, Journal, JournalError};
use crate::partition_log::{
    outcome_events, ClientId, Credential, LogEntry, LogEvent, PageQuery, PartitionLogs,
};

/// The product name in hellos and `version` answers.
const PRODUCT: &str = "hsm-sim";

/// What one connection has proven so far, and who it is for the partition log.
#[derive(Debug)]
pub(crate) struct Session {
    proxy: Option<String>,
    client: ClientId,
    /// The users this connection logged in as, for the log's disconnect entries.
    logged_in: Vec<String>,
}

impl Session {
    /// A connection that has proven nothing yet.
    pub(crate) fn new(client: ClientId) -> Self {
        Session {
            proxy: None,
            client,
            logged_in: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
struct UserState {
    api: TrialCounter,
    pkcs11: TrialCounter,
    /// The setup password last issued over the admin port; `None`: the configured one.
    setup_password: Option<Password>,
    setup_first_use_ms: Option<u64>,
    issued: Vec<Secret>,
    requests: u64,
}

#[derive(Debug)]
struct State {
    users: HashMap<String, UserState>,
    proxies: HashMap<String, TrialCounter>,
    logs: PartitionLogs,
    journal: Journal,
}

/// The simulated HSM, shared by every connection.
pub(crate) struct Hsm {
    policy: Policy,
    users: HashMap<String, UserConfig>,
    proxies: HashMap<String, Password>,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    connections: AtomicU64,
    requests: AtomicU64,
}

/// Per-user counters and secrets, as the admin listener reports them.
/// `Debug` shows how many secrets were issued, not the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserStatus {
    /// As configured and as clients send it (`user_name` in `primus.cfg`).
    pub name: String,
    /// `fetch_secret`, `update_secret`, `login` and `fetch_log` requests for this user that
    /// passed the user and proxy checks, whatever their outcome.
    pub requests: u64,
    /// Wrong API-login trials (setup password, permanent secret) in the current window.
    pub api_failures: u32,
    /// When the API-login lockout ends, if locked.
    pub api_locked_until_unix_ms: Option<u64>,
    /// Wrong PKCS#11 password trials in the current window.
    pub pkcs11_failures: u32,
    /// When the PKCS#11 lockout ends, if locked.
    pub pkcs11_locked_until_unix_ms: Option<u64>,
    /// When the setup password was first used correctly (its validity starts then).
    pub setup_first_use_unix_ms: Option<u64>,
    /// Every permanent secret issued to this user, oldest first, hex; the last is current.
    pub secrets_issued: Vec<String>,
}

impl fmt::Debug for UserStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserStatus")
            .field("name", &self.name)
            .field("requests", &self.requests)
            .field("api_failures", &self.api_failures)
            .field("api_locked_until_unix_ms", &self.api_locked_until_unix_ms)
            .field("pkcs11_failures", &self.pkcs11_failures)
            .field(
                "pkcs11_locked_until_unix_ms",
                &self.pkcs11_locked_until_unix_ms,
            )
            .field("setup_first_use_unix_ms", &self.setup_first_use_unix_ms)
            .field(
                "secrets_issued",
                &format_args!("[{} redacted]", self.secrets_issued.len()),
            )
            .finish()
    }
}

/// Per-proxy counters, as the admin listener reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStatus {
    /// The CloudHSM service proxy user, as configured.
    pub name: String,
    /// Wrong proxy-password trials in the current window.
    pub api_failures: u32,
    /// When the proxy's lockout ends, if locked.
    pub api_locked_until_unix_ms: Option<u64>,
}

/// The whole observable state. `connections` and `requests` count every contact
/// since the process started, so a test can assert that a failure found locally
/// never reached the HSM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Simulated time now.
    pub now_unix_ms: u64,
    /// TCP connections accepted on the HSM port since start, whether or not their
    /// TLS handshake and hello succeeded.
    pub connections: u64,
    /// Requests answered since start, of every operation (`version` too) and for
    /// any user, configured or not.
    pub requests: u64,
    /// How far simulated time is ahead of the system clock.
    pub clock_offset_ms: u64,
    /// Every configured user, in configuration order.
    pub users: Vec<UserStatus>,
    /// Every configured proxy, in configuration order.
    pub proxies: Vec<ProxyStatus>,
}

fn remaining(until_ms: u64, now_ms: u64) -> Duration {
    Duration::from_millis(until_ms.saturating_sub(now_ms))
}

/// How a credential check refuses: the error kind, and its message built only when refused.
struct Refusal<M: FnOnce() -> String> {
    kind: ErrorKind,
    message: M,
}

impl<M: FnOnce() -> String> Refusal<M> {
    fn new(kind: ErrorKind, message: M) -> Self {
        Refusal { kind, message }
    }

    fn error(self) -> WireError {
        WireError::new(self.kind, (self.message)())
    }
}

/// One presented credential guarded by `counter`, and the two ways to refuse it.
struct Trial<'a, L: FnOnce() -> String, W: FnOnce() -> String> {
    counter: &'a mut TrialCounter,
    now_ms: u64,
    policy: &'a Policy,
    /// Whether the presented credential equals the expected one (compared in constant time).
    correct: bool,
    /// The answer while the counter is locked; the credential is not even looked at.
    locked: Refusal<L>,
    /// The answer for a wrong credential; it counts one trial, and the trial that
    /// locks says when the lockout ends.
    wrong: Refusal<W>,
}

impl<L: FnOnce() -> String, W: FnOnce() -> String> Trial<'_, L, W> {
    /// Checks the credential as every credential is checked; the answer for a wrong
    /// one carries the attempts left.
    fn check(self) -> Result<(), WireError> {
        let now_ms = self.now_ms;
        if let Err(until_ms) = self.counter.check(now_ms, self.policy) {
            return Err(self
                .locked
                .error()
                .with_attempts_left(0)
                .with_lockout(until_ms, remaining(until_ms, now_ms)));
        }
        if self.correct {
            return Ok(());
        }
        let (left, locked_until) = self.counter.fail(now_ms, self.policy);
        let error = self.wrong.error().with_attempts_left(left);
        Err(match locked_until {
            Some(until_ms) => error.with_lockout(until_ms, remaining(until_ms, now_ms)),
            None => error,
        })
    }
}

/// Which permanent secret a request with the right setup and PKCS#11 passwords gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Issue {
    /// `fetch_secret`: the current secret, or a first one when none was issued yet.
    CurrentOrFirst,
    /// `update_secret`: a new secret, which invalidates the current one.
    Replacement,
}

impl Hsm {
    /// Builds the HSM from `config`, replaying the journal at `journal_path`
    /// (secrets and first uses survive a restart; counters do not).
    pub(crate) fn new(
        config: &SimConfig,
        clock: Arc<dyn Clock>,
        journal_path: &std::path::Path,
    ) -> Result<Self, JournalError> {
        let (journal, events) = Journal::open(journal_path)?;
        let mut users: HashMap<String, UserState> = config
            .users
            .iter()
            .map(|u| (u.name.clone(), UserState::default()))
            .collect();
        let mut offset_ms = 0;
        let mut logs = PartitionLogs::default();
        for event in events {
            match event {
                Event::SetupFirstUse { user, at_unix_ms } => {
                    if let Some(state) = users.get_mut(&user) {
                        state.setup_first_use_ms = Some(at_unix_ms);
                    }
                }
                Event::SecretIssued { user, secret } => {
                    if let Some(state) = users.get_mut(&user) {
                        state.issued.push(secret);
                    }
                }
                Event::SetupPasswordIssued {
                    user,
                    setup_password,
                } => {
                    if let Some(state) = users.get_mut(&user) {
                        state.setup_password = Some(setup_password);
                        state.setup_first_use_ms = None;
                    }
                }
                Event::ClockOffset { offset_ms: offset } => offset_ms = offset,
                Event::Logged(entry) => logs.push(entry),
            }
        }
        // Simulated time never runs backwards across a restart.
        let behind = Duration::from_millis(offset_ms).saturating_sub(clock.offset());
        if !behind.is_zero() {
            clock.advance(behind);
        }
        Ok(Hsm {
            policy: config.policy.clone(),
            users: config
                .users
                .iter()
                .map(|u| (u.name.clone(), u.clone()))
                .collect(),
            proxies: config
                .proxies
                .iter()
                .map(|p| (p.name.clone(), p.password.clone()))
                .collect(),
            clock,
            state: Mutex::new(State {
                users,
                proxies: config
                    .proxies
                    .iter()
                    .map(|p| (p.name.clone(), TrialCounter::default()))
                    .collect(),
                logs,
                journal,
            }),
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update below leaves the state consistent before it can panic, so a
        // poisoned lock still guards valid data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one request of a connection.
    pub(crate) fn handle(&self, session: &mut Session, request: Request) -> Response {
        // A plain tally read by the admin port; nothing is ordered by it.
        self.requests.fetch_add(1, Ordering::Relaxed);
        let result = match request {
            Request::ProxyAuth {
                proxy_user,
                password,
            } => self
                .proxy_auth(session, &proxy_user, &password)
                .map(|()| Response::Ok),
            Request::FetchSecret {
                user,
                setup_password,
                pkcs11_password,
            } => {
                let issued = self.issue(
                    session,
                    &user,
                    &setup_password,
                    &pkcs11_password,
                    Issue::CurrentOrFirst,
                );
                self.log_login(session, &user, Credential::SetupPassword, &issued, true);
                issued.map(|secret| Response::Secret { secret })
            }
            Request::UpdateSecret {
                user,
                setup_password,
                pkcs11_password,
            } => {
                let issued = self.issue(
                    session,
                    &user,
                    &setup_password,
                    &pkcs11_password,
                    Issue::Replacement,
                );
                self.log_login(session, &user, Credential::SetupPassword, &issued, true);
                issued.map(|secret| Response::Secret { secret })
            }
            Request::Login { user, secret } => {
                let login = self.login(session, &user, &secret);
                self.log_login(session, &user, Credential::PermanentSecret, &login, true);
                login.map(|()| Response::Ok)
            }
            Request::FetchLog {
                user,
                secret,
                since_unix_ms,
                order,
                cursor,
            } => {
                let login = self.login(session, &user, &secret);
                // Later pages log in again, but only a failure there is news.
                let first_page = cursor.is_none();
                self.log_login(
                    session,
                    &user,
                    Credential::PermanentSecret,
                    &login,
                    first_page,
                );
                login.and_then(|()| self.log_allowed(&user)).map(|()| {
                    let query = PageQuery {
                        since_unix_ms,
                        order,
                        cursor,
                    };
                    let page = self.lock().logs.page(&user, query);
                    Response::LogPage {
                        lines: page.lines,
                        next: page.next,
                    }
                })
            }
            Request::Version => Ok(Response::Version(ServerVersion {
                product: PRODUCT.to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                protocol: PROTOCOL_VERSION,
            })),
            // `Request` is non_exhaustive for clients; this server knows every operation it
            // parses, so anything else is a newer operation it does not implement.
            _ => Err(WireError::new(
                ErrorKind::BadRequest,
                "operation not supported by this server",
            )),
        };
        result.unwrap_or_else(Response::Error)
    }

    /// Whether the HSM's configuration lets `name` fetch its log (checked
    /// after the login, as the vendor's tool logs in first).
    fn log_allowed(&self, name: &str) -> Result<(), WireError> {
        match self.users.get(name) {
            Some(user) if !user.client_log => Err(WireError::new(
                ErrorKind::LogDisabled,
                format!("the HSM's configuration does not let user '{name}' fetch its log (client API user log)"),
            )),
            _ => Ok(()),
        }
    }

    /// Adds what a login-carrying request did to the user's partition log.
    fn log_login<T>(
        &self,
        session: &mut Session,
        user: &str,
        credential: Credential,
        outcome: &Result<T, WireError>,
        first_page: bool,
    ) {
        let events = outcome_events(credential, outcome.as_ref().map(|_| ()), first_page);
        if events.contains(&LogEvent::LoginSuccessful)
            && !session.logged_in.iter().any(|u| u == user)
        {
            session.logged_in.push(user.to_owned());
        }
        self.log(&session.client, user, events);
    }

    /// Ends a connection: each user it logged in as gets a disconnect entry.
    pub(crate) fn disconnected(&self, session: &Session) {
        for user in &session.logged_in {
            self.log(&session.client, user, vec![LogEvent::Disconnect]);
        }
    }

    /// Journals `events` of `user` (one write) and adds them to the user's log.
    fn log(&self, client: &ClientId, user: &str, events: Vec<LogEvent>) {
        if events.is_empty() {
            return;
        }
        let at_unix_ms = self.clock.now_unix_ms();
        let entries: Vec<LogEntry> = events
            .into_iter()
            .map(|what| LogEntry {
                at_unix_ms,
                user: user.to_owned(),
                client: client.clone(),
                what,
            })
            .collect();
        let journaled: Vec<Event> = entries.iter().cloned().map(Event::Logged).collect();
        let mut state = self.lock();
        // The answer is decided already; a log entry that cannot be journaled
        // is kept until the restart and reported here, not to the client.
        if let Err(error) = state.journal.append_all(&journaled) {
            tracing::error!(%error, "cannot record the partition log");
        }
        for entry in entries {
            state.logs.push(entry);
        }
    }

    fn proxy_auth(
        &self,
        session: &mut Session,
        proxy: &str,
        password: &Password,
    ) -> Result<(), WireError> {
        let expected = self.proxies.get(proxy).ok_or_else(|| {
            WireError::new(
                ErrorKind::UnknownUser,
                format!("service proxy user '{proxy}' does not exist on this HSM"),
            )
        })?;
        let now = self.clock.now_unix_ms();
        let mut state = self.lock();
        Trial {
            counter: state.proxies.entry(proxy.to_owned()).or_default(),
            now_ms: now,
            policy: &self.policy,
            correct: password == expected,
            locked: Refusal::new(ErrorKind::ApiLocked, || {
                format!("service proxy user '{proxy}' is locked after too many wrong passwords")
            }),
            wrong: Refusal::new(ErrorKind::BadProxyPassword, || {
                format!("wrong password for service proxy user '{proxy}'")
            }),
        }
        .check()?;
        session.proxy = Some(proxy.to_owned());
        Ok(())
    }

    /// The user's configuration, after checking the connection may act for it.
    fn user(&self, session: &Session, name: &str) -> Result<&UserConfig, WireError> {
        let user = self.users.get(name).ok_or_else(|| {
            WireError::new(
                ErrorKind::UnknownUser,
                format!("user '{name}' does not exist on this HSM"),
            )
        })?;
        if let Some(proxy) = &user.proxy_user {
            if session.proxy.as_deref() != Some(proxy.as_str()) {
                return Err(WireError::new(
                    ErrorKind::ProxyAuthRequired,
                    format!("user '{name}' sits behind service proxy '{proxy}'; authenticate as the proxy first"),
                ));
            }
        }
        Ok(user)
    }

    fn issue(
        &self,
        session: &Session,
        name: &str,
        setup_password: &Password,
        pkcs11_password: &Password,
        issue: Issue,
    ) -> Result<Secret, WireError> {
        let user = self.user(session, name)?;
        let now = self.clock.now_unix_ms();
        let policy = &self.policy;
        let mut guard = self.lock();
        let state = &mut *guard;
        let entry = state.users.entry(name.to_owned()).or_default();
        entry.requests += 1;
        // A setup password issued over the admin port replaces the configured one.
        let expected = entry
            .setup_password
            .as_ref()
            .unwrap_or(&user.setup_password);
        Trial {
            counter: &mut entry.api,
            now_ms: now,
            policy,
            correct: setup_password == expected,
            locked: Refusal::new(ErrorKind::ApiLocked, || api_locked_message(name)),
            wrong: Refusal::new(ErrorKind::BadSetupPassword, || {
                format!("wrong setup password for user '{name}'")
            }),
        }
        .check()?;
        let first_use = match entry.setup_first_use_ms {
            Some(at) => at,
            None => {
                state
                    .journal
                    .append(&Event::SetupFirstUse {
                        user: name.to_owned(),
                        at_unix_ms: now,
                    })
                    .map_err(internal)?;
                entry.setup_first_use_ms = Some(now);
                now
            }
        };
        let lifespan =
            u64::try_from(policy.setup_password_lifespan.as_millis()).unwrap_or(u64::MAX);
        if now >= first_use.saturating_add(lifespan) {
            return Err(WireError::new(
                ErrorKind::SetupPasswordExpired,
                format!(
                    "the setup password of user '{name}' expired {} after its first use; ask the HSM administrator for a new one",
                    humantime::format_duration(policy.setup_password_lifespan)
                ),
            ));
        }
        Trial {
            counter: &mut entry.pkcs11,
            now_ms: now,
            policy,
            correct: pkcs11_password == &user.pkcs11_password,
            locked: Refusal::new(ErrorKind::Pkcs11Locked, || {
                format!("PKCS#11 access for user '{name}' is locked after too many wrong PKCS#11 passwords")
            }),
            wrong: Refusal::new(ErrorKind::BadPkcs11Password, || {
                format!("wrong PKCS#11 password for user '{name}'")
            }),
        }
        .check()?;
        match (issue, entry.issued.last()) {
            (Issue::CurrentOrFirst, Some(current)) => Ok(current.clone()),
            (Issue::CurrentOrFirst, None) | (Issue::Replacement, _) => {
                let secret = Secret::new(random_bytes::<32>().to_vec());
                // The event borrows nothing it could leak: the secret stays in its
                // zeroizing type until the journal serialises it into a zeroized line.
                state
                    .journal
                    .append(&Event::SecretIssued {
                        user: name.to_owned(),
                        secret: secret.clone(),
                    })
                    .map_err(internal)?;
                entry.issued.push(secret.clone());
                Ok(secret)
            }
        }
    }

    fn login(&self, session: &Session, name: &str, secret: &Secret) -> Result<(), WireError> {
        self.user(session, name)?;
        let now = self.clock.now_unix_ms();
        let mut state = self.lock();
        let entry = state.users.entry(name.to_owned()).or_default();
        entry.requests += 1;
        Trial {
            counter: &mut entry.api,
            now_ms: now,
            policy: &self.policy,
            correct: entry.issued.last() == Some(secret),
            locked: Refusal::new(ErrorKind::ApiLocked, || api_locked_message(name)),
            wrong: Refusal::new(ErrorKind::BadSecret, || {
                format!("wrong permanent secret for user '{name}' (replaced by an update, or never issued)")
            }),
        }
        .check()
    }

    /// Issues `name` a fresh setup password, as an HSM administrator does when the
    /// old one expired or was lost: the previous one stops working, and the new one's
    /// validity starts at its first use. `None` when the user is not configured.
    pub(crate) fn issue_setup_password(
        &self,
        name: &str,
    ) -> Option<Result<Password, JournalError>> {
        if !self.users.contains_key(name) {
            return None;
        }
        let setup_password = random_setup_password();
        let mut state = self.lock();
        let journaled = state.journal.append(&Event::SetupPasswordIssued {
            user: name.to_owned(),
            setup_password: setup_password.clone(),
        });
        if let Err(error) = journaled {
            return Some(Err(error));
        }
        let entry = state.users.entry(name.to_owned()).or_default();
        entry.setup_password = Some(setup_password.clone());
        entry.setup_first_use_ms = None;
        Some(Ok(setup_password))
    }

    /// Counts one TCP connection accepted on the HSM port; returns its
    /// number since start (from 1), the partition log's connection number.
    pub(crate) fn connection_accepted(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Moves simulated time forward and records the new offset.
    pub(crate) fn advance_clock(&self, by: Duration) -> Result<u64, JournalError> {
        let mut state = self.lock();
        self.clock.advance(by);
        let offset_ms = u64::try_from(self.clock.offset().as_millis()).unwrap_or(u64::MAX);
        state.journal.append(&Event::ClockOffset { offset_ms })?;
        Ok(self.clock.now_unix_ms())
    }

    fn user_status(&self, state: &mut State, name: &str, now: u64) -> UserStatus {
        let entry = state.users.entry(name.to_owned()).or_default();
        let (api_failures, api_locked) = entry.api.snapshot(now, &self.policy);
        let (pkcs11_failures, pkcs11_locked) = entry.pkcs11.snapshot(now, &self.policy);
        UserStatus {
            name: name.to_owned(),
            requests: entry.requests,
            api_failures,
            api_locked_until_unix_ms: api_locked,
            pkcs11_failures,
            pkcs11_locked_until_unix_ms: pkcs11_locked,
            setup_first_use_unix_ms: entry.setup_first_use_ms,
            secrets_issued: entry
                .issued
                .iter()
                .map(|s| hex::encode(s.expose_secret()))
                .collect(),
        }
    }

    /// One user's counters and secrets, if the user is configured.
    pub(crate) fn user_report(&self, name: &str) -> Option<UserStatus> {
        if !self.users.contains_key(name) {
            return None;
        }
        let now = self.clock.now_unix_ms();
        Some(self.user_status(&mut self.lock(), name, now))
    }

    /// Everything the admin listener reports.
    pub(crate) fn status(&self, config: &SimConfig) -> Status {
        let now = self.clock.now_unix_ms();
        let mut state = self.lock();
        let users = config
            .users
            .iter()
            .map(|user| self.user_status(&mut state, &user.name, now))
            .collect();
        let proxies = config
            .proxies
            .iter()
            .map(|proxy| {
                let counter = state.proxies.entry(proxy.name.clone()).or_default();
                let (api_failures, locked_until) = counter.snapshot(now, &self.policy);
                ProxyStatus {
                    name: proxy.name.clone(),
                    api_failures,
                    api_locked_until_unix_ms: locked_until,
                }
            })
            .collect();
        Status {
            now_unix_ms: now,
            connections: self.connections.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            clock_offset_ms: u64::try_from(self.clock.offset().as_millis()).unwrap_or(u64::MAX),
            users,
            proxies,
        }
    }
}

fn api_locked_message(name: &str) -> String {
    format!("API login for user '{name}' is locked after too many wrong trials")
}

fn internal(error: JournalError) -> WireError {
    tracing::error!(%error, "cannot record state");
    WireError::new(
        ErrorKind::Internal,
        "the simulator cannot record its state; see its log",
    )
}
