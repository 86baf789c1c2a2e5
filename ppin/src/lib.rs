//! Securosys Primus permanent-secret onboarding: what the vendor's `ppin` tool
//! does, as a library shared by the `ppin` command-line tool (in this crate)
//! and the Terraform provider.
//!
//! An application host trades a one-time *setup password* (plus the user's
//! PKCS#11 password) for a *permanent secret*, which is stored ciphered in
//! `.secrets.cfg`. [`Ppin`] holds a parsed [`PrimusConfig`] (`primus.cfg`:
//! the HSMs and their slot users) and a [`secrets_cfg::SecretsStore`], and
//! offers the operations, all `async`:
//!
//! | vendor command      | method                                        |
//! |---------------------|-----------------------------------------------|
//! | `ppin -a -e USER`   | [`Ppin::check_add`], [`Ppin::add`]            |
//! | `ppin -u -e USER`   | [`Ppin::check_update`], [`Ppin::update`] (a failure removes the entry) |
//! | `ppin -r -e USER`   | [`Ppin::remove`]                              |
//! | `ppin -p -e PROXY`  | [`Ppin::proxy_add`] (CloudHSM)                |
//! | `ppin -x -e PROXY`  | [`Ppin::proxy_remove`]                        |
//! | `ppin -l`           | [`Ppin::list`], [`Ppin::status`]              |
//! | `ppin -t`, `--test` | [`Ppin::test`], [`Ppin::login`]               |
//! | `ppin -v`           | [`VERSION`], [`Ppin::versions`]               |
//! | `ppin --fetchlog`   | [`Ppin::fetch_log`]                           |
//! | `ppin --fortinet`   | [`Ppin::fortinet_secret`]                     |
//!
//! Guarantees, in the order an operation meets them:
//!
//! 1. Local checks first: the user must be in `primus.cfg` (0x80005012), the
//!    setup password must have the vendor's format ([`check_setup_password`]),
//!    `add` needs a user without a secret and `update` one with a secret, a
//!    CloudHSM user's service proxy password must be stored. A refusal here
//!    costs no trial at the HSM and changes no file.
//! 2. The redundant HSMs of the user are tried by `priority`, then in file
//!    order, and the next one only when the previous could not be reached
//!    (connect or handshake failure, before any credential was sent). Any
//!    answer — an authentication failure above all — is final: nothing is
//!    retried automatically.
//! 3. Every error is a [`PpinError`] naming the user, the HSM, the vendor code,
//!    the attempts left and the lockout end where they apply, and the next
//!    step. No error, log or `Debug` output contains a password or secret.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ppin::{Ppin, PrimusConfig, SetupCredentials};
//! use secrets_cfg::{KeySource, Password, SecretsStore};
//!
//! let config = PrimusConfig::load(None)?; // $SECUROSYS_PKCS11_CONF, /etc/primus/primus.cfg, ...
//! let store = SecretsStore::open("/etc/primus/.secrets.cfg", KeySource::Default)?;
//! let ppin = Ppin::new(config, store);
//! let setup = Password::new("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3".to_owned());
//! let pkcs11 = Password::new(std::env::var("PKCS11_PASSWORD")?);
//! let served = ppin.add("PARTITION", &SetupCredentials::new(setup, pkcs11)).await?;
//! // The built-in engine names the HSM that served; the vendor's tool does not say.
//! let hsm = served.hsm.as_deref().unwrap_or("the HSM");
//! println!("permanent secret of {} fetched from {hsm}", served.user);
//! # Ok(()) }
//! ```
//!
//! The operations run on the one [`Engine`] the door is built with: the
//! built-in [`BuiltinEngine`] (this crate's HSM client and `.secrets.cfg`
//! store), or, given with [`Ppin::with_engine`], an [`ExternalEngine`] that
//! drives a vendor-compatible `ppin` binary through the tool's dialogue over
//! a [`Transport`] ([`LocalTool`]: a pseudo-terminal on this machine).
//! Every engine also answers the [`Preflight`] checks, which the door asks
//! the same way whatever the engine. Callers of [`Ppin`] see the same types
//! either way; an external run's failure is [`PpinError::External`] with
//! the built-in engine's [`PpinErrorKind`] for the vendor code the tool
//! printed.
//!
//! `primus.cfg` is read as the vendor documents it, plus two optional keys of
//! ours (`ca_file`, `priority`); see [`PrimusConfig`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

// The layout, from the bottom up: `model` (the values, importing nothing of
// the crate), `blocking` (file work off the async threads), `config` (primus.cfg), `error`, `users` (lookups in
// primus.cfg), `engine` (the two capabilities every engine offers), the
// engines `builtin` and `external` as peers, and `door` over them.
mod blocking;
mod builtin;
mod config;
mod door;
mod duration;
mod engine;
mod error;
mod external;
mod model;
mod users;

pub use builtin::{BuiltinEngine, Timeouts};
pub use config::{
    ConfigError, ConfigFile, ConfigFileError, Hsm, HsmSettings, HsmSlot, PrimusConfig,
    SlotSettings, SlotUser, CONFIG_FILE_MODE, PRIMUS_CFG_DEFAULT_PATHS, PRIMUS_CFG_ENV,
};
pub use door::Ppin;
pub use engine::{Engine, HsmTest, HsmVersion, Preflight, SlotTest, TestReport, Versions};
pub use error::{PpinError, PpinErrorKind, UserRole};
pub use external::{
    Access, Disagreement, ExternalEngine, ExternalError, ExternalTimeouts, HostPaths, LocalTool,
    ParseProblem, RunAs, SshTool, Terminal, Transport,
};
/// The order of a partition log's entries ([`LogRequest::order`]).
pub use hsm_wire::LogOrder;
/// The setup-password format check, shared with the simulator through the
/// protocol crate.
pub use hsm_wire::{check_setup_password, SetupPasswordProblem};
/// The vendor's error codes (`0x80005017`, ...) that [`PpinError::vendor_code`]
/// returns, and what an HSM says about itself ([`HsmVersion`]).
pub use hsm_wire::{ServerVersion, VendorCode};
pub use model::{
    Fetch, FortinetRequest, Listing, LogRequest, PartitionLog, ProxyLogin, ProxyStatus, Served,
    SetupCredentials, TestFilter, UserStatus, FORTINET_HEADER, VERSION,
};
