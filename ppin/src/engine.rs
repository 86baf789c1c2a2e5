//! The seam between the door ([`Ppin`](crate::Ppin)) and what performs the
//! operations. An engine is two capabilities:
//!
//! - [`Preflight`]: the checks made where `.secrets.cfg` lives, before any
//!   password is asked for or sent, so that no HSM trial and no issued
//!   secret is spent on something that could have been known to fail;
//! - [`Engine`]: the vendor's operations themselves.
//!
//! The built-in engine ([`BuiltinEngine`](crate::BuiltinEngine)) answers
//! both with this crate's HSM client and store; the external engine
//! ([`ExternalEngine`](crate::ExternalEngine)) with the vendor's tool. The
//! door holds one engine and never asks which.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use hsm_wire::ServerVersion;
use secrets_cfg::{EntryKind, Password};

use crate::config::{Hsm, PrimusConfig};
use crate::error::PpinError;
use crate::model::{
    Fetch, FortinetRequest, Listing, LogRequest, PartitionLog, Served, SetupCredentials,
    TestFilter, UserStatus,
};

/// The checks an engine makes where `.secrets.cfg` lives before anything
/// reaches an HSM. Each contacts no HSM and changes nothing. The door has
/// already checked that the user is in `primus.cfg`.
#[async_trait::async_trait]
pub trait Preflight: Send + Sync {
    /// The entries are as a fetch of `user` needs them: none yet for
    /// [`Fetch::Add`], one for [`Fetch::Update`], and (CloudHSM) the service
    /// proxy password stored. What a caller checks before it asks a person
    /// for the passwords.
    async fn check_entries(&self, user: &str, fetch: Fetch) -> Result<(), PpinError>;

    /// Unless an add will adopt an entry of `user` already stored, that
    /// `.secrets.cfg` can take a new secret (file type, directory, lock, key):
    /// what a plan checks before an apply spends a setup password.
    async fn check_storable(&self, user: &str, fetch: Fetch) -> Result<(), PpinError>;

    /// That `.secrets.cfg` can take the password of `proxy_user`.
    async fn check_proxy_storable(&self, proxy_user: &str) -> Result<(), PpinError>;

    /// Whether `.secrets.cfg` names an entry of `kind` for `name`, read
    /// without decrypting it; `None` when the engine cannot tell without
    /// running the tool (a plan must not start a process per resource).
    async fn entry_stored(&self, kind: EntryKind, name: &str) -> Result<Option<bool>, PpinError>;
}

/// What the provider and the CLI ask of an onboarding engine: the vendor's
/// operations, each named after the `ppin` command it performs.
#[async_trait::async_trait]
pub trait Engine: Preflight + fmt::Debug {
    /// The `primus.cfg` the engine works with, read again if it changed.
    fn config(&self) -> Result<Arc<PrimusConfig>, PpinError>;
    /// The `.secrets.cfg` the engine edits.
    fn secrets_file(&self) -> &Path;
    /// `ppin -a -e USER`: trades the setup password for a permanent secret and stores it.
    async fn add(&self, user: &str, credentials: &SetupCredentials) -> Result<Served, PpinError>;
    /// `ppin -u -e USER`: a failure removes the current entry (vendor behaviour).
    async fn update(&self, user: &str, credentials: &SetupCredentials)
        -> Result<Served, PpinError>;
    /// `ppin -r -e USER`: `Ok(false)` when there was no entry.
    async fn remove(&self, user: &str) -> Result<bool, PpinError>;
    /// `ppin -p -e PROXY`.
    async fn proxy_add(&self, proxy_user: &str, password: &Password) -> Result<(), PpinError>;
    /// `ppin -x -e PROXY`: `Ok(false)` when there was no entry.
    async fn proxy_remove(&self, proxy_user: &str) -> Result<bool, PpinError>;
    /// `ppin -l`: one status per slot user and per service proxy user.
    async fn list(&self) -> Result<Listing, PpinError>;
    /// The state of one slot user of `primus.cfg`.
    async fn status(&self, user: &str) -> Result<UserStatus, PpinError>;
    /// Whether `.secrets.cfg` holds a usable permanent secret of `user`.
    async fn verify_stored(&self, user: &str) -> Result<bool, PpinError>;
    /// `ppin -t [--user U] [--hsm H] [--slot S] [--slotid N]`: connects to
    /// each selected HSM and logs in each selected slot of it with the
    /// stored secret, never retrying. Fails as a whole only when nothing
    /// could be tested (the filter selects no slot, `primus.cfg` cannot be
    /// read, the tool printed no report); a failed connection or login is
    /// in the report.
    async fn test(&self, filter: &TestFilter) -> Result<TestReport, PpinError>;
    /// `ppin -v`: what the engine can say about the versions in play.
    async fn versions(&self) -> Result<Versions, PpinError>;
    /// `ppin --fetchlog --user U --hsm H [--since DATE] [--reverse]`: the
    /// user's partition log on that one HSM, read with the user's stored
    /// permanent secret (one API login, never retried).
    async fn fetch_log(&self, request: &LogRequest) -> Result<PartitionLog, PpinError>;
    /// `ppin --fortinet --user U`: fetches the user's permanent secret with
    /// the setup password (as `ppin -a` does, but without storing it here)
    /// and returns, base64-encoded, a secrets configuration holding only
    /// that user's entry, ciphered, and the service proxy's entry when the
    /// user sits behind one: what FortiGate's built-in PKCS#11 provider
    /// loads as its `secret-content`. No password is part of the result
    /// other than the proxy password, ciphered.
    async fn fortinet_secret(&self, request: &FortinetRequest) -> Result<String, PpinError>;
}

/// What `ppin -t` reports: per HSM and per slot, in the vendor's order
/// (HSMs as in `primus.cfg`, each with its slots).
#[derive(Debug)]
#[non_exhaustive]
pub struct TestReport {
    /// The `primus.cfg` tested, as the tool names it (`Load config file: '...'`).
    pub config_file: String,
    /// Every selected HSM.
    pub hsms: Vec<HsmTest>,
}

impl TestReport {
    /// `Number of tested HSMs`.
    pub fn tested_hsms(&self) -> usize {
        self.hsms.len()
    }

    /// `number of partitions`: the slots tested, over every HSM.
    pub fn partitions(&self) -> usize {
        self.hsms.iter().map(|h| h.slots.len()).sum()
    }

    /// `Number of failures`: HSMs that could not be connected to, plus slots
    /// whose login failed.
    pub fn failures(&self) -> usize {
        self.hsms
            .iter()
            .map(|h| {
                usize::from(h.firmware.is_err())
                    + h.slots.iter().filter(|s| s.outcome.is_err()).count()
            })
            .sum()
    }

    /// Every tested slot of `user`, on whichever HSM.
    pub fn slots_of<'a>(&'a self, user: &'a str) -> impl Iterator<Item = &'a SlotTest> + 'a {
        self.hsms
            .iter()
            .flat_map(|h| &h.slots)
            .filter(move |s| s.user == user)
    }
}

/// One HSM of a `ppin -t` report:
/// `hsm0: Connect to '82.197.162.10' on port 2411, firmware: RP-2.11.2-T`.
#[derive(Debug)]
#[non_exhaustive]
pub struct HsmTest {
    /// Its name in `primus.cfg` (`hsm0`).
    pub hsm: String,
    /// Its host, as written in `primus.cfg`.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Its firmware (the built-in engine: the server's name and version), or
    /// why it could not be connected to.
    pub firmware: Result<String, PpinError>,
    /// Its selected slots, in file order; none when the connection failed.
    pub slots: Vec<SlotTest>,
}

/// One slot of a `ppin -t` report: `slot0 (id=2), user=DEMO-TEST: OK`.
#[derive(Debug)]
#[non_exhaustive]
pub struct SlotTest {
    /// The slot's name in `primus.cfg` (`slot0`).
    pub slot: String,
    /// Its slot id.
    pub slot_id: u32,
    /// Its partition user.
    pub user: String,
    /// Who served the login, or why it failed.
    pub outcome: Result<Served, PpinError>,
}

/// One HSM's answer to a version query.
#[derive(Debug)]
#[non_exhaustive]
pub struct HsmVersion {
    /// The HSM.
    pub hsm: Hsm,
    /// Its version, or why it could not be asked.
    pub outcome: Result<ServerVersion, PpinError>,
}

/// What `ppin -v` reports.
#[derive(Debug)]
#[non_exhaustive]
pub struct Versions {
    /// The tool's own version line, as it prints it.
    pub tool: String,
    /// Each HSM of `primus.cfg` asked for its version, where the engine can
    /// ask (the vendor's `-v` asks none).
    pub hsms: Vec<HsmVersion>,
}
