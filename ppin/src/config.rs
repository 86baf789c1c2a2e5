//! `primus.cfg`: where the HSMs are and which slot users they serve.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hsm_wire::VendorCode;
use primus_core::libconfig::{self, ParseError};

/// Environment variable naming `primus.cfg`, first in the vendor's lookup order.
pub const PRIMUS_CFG_ENV: &str = "SECUROSYS_PKCS11_CONF";
/// The places searched after [`PRIMUS_CFG_ENV`], in order.
pub const PRIMUS_CFG_DEFAULT_PATHS: [&str; 2] =
    ["/etc/primus/primus.cfg", "/usr/local/primus/etc/primus.cfg"];
/// Why `primus.cfg` could not be used. Each names the file and, where it can,
/// the line and column or the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No `primus.cfg` at any place of the lookup order (vendor code 0x80005003).
    #[error("primus.cfg not found (0x80005003); looked at {}", DisplayPaths(.searched))]
    NotFound {
        /// Every place looked at, in order.
        searched: Vec<PathBuf>,
    },
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file (or a file it includes) is not valid libconfig.
    #[error("{}:{}:{}: {}", source.file.as_deref().unwrap_or(path).display(), source.line, source.column, source.message)]
    Syntax {
        /// The file (`source.file` names the included file the error is in, if any).
        path: PathBuf,
        /// Where and what (boxed: it names a file, and every error of the
        /// crate carries this one).
        source: Box<ParseError>,
    },
    /// The file is valid libconfig but a setting is missing or wrong.
    #[error("{}: {setting}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The dotted path of the setting, e.g. `primus.hsms.hsm0.port`.
        setting: String,
        /// What is wrong and what is expected.
        problem: String,
    },
}

impl ConfigError {
    /// The vendor's error code, where the vendor has one for this case.
    pub fn vendor_code(&self) -> Option<VendorCode> {
        match self {
            ConfigError::NotFound { .. } => Some(VendorCode::CONFIG_NOT_FOUND),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } | ConfigError::Invalid { .. } => {
                None
            }
        }
    }
}

struct DisplayPaths<'a>(&'a [PathBuf]);

impl fmt::Display for DisplayPaths<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, path) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", path.display())?;
        }
        Ok(())
    }
}

/// One HSM of `primus.cfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hsm {
    /// Its name in the file (`hsm0`), or `hsms[0]` when `hsms` is a list.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The CA certificate file for TLS (our key `ca_file`), resolved against the
    /// directory of `primus.cfg`.
    pub ca_file: Option<PathBuf>,
    /// Lower is tried first (the vendor's key `priority`; default 0, the
    /// highest; equal priorities keep file order).
    pub priority: i64,
}

impl fmt::Display for Hsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{})", self.name, self.host, self.port)
    }
}

/// A slot user and the redundant HSMs that serve it, in the order to try them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotUser {
    /// The partition user name (`user_name`), also its key in `.secrets.cfg`.
    pub user_name: String,
    /// The slot id (`id`) of the user's first slot in the file.
    pub slot_id: u32,
    /// The user's slot ids, the same on each of its HSMs, in file order (the
    /// first is `slot_id`): the vendor allows one partition in several slots
    /// of an HSM, to parallelize access.
    pub slot_ids: Vec<u32>,
    /// The CloudHSM service proxy user in front of it (`proxy_user`), if any.
    pub proxy_user: Option<String>,
    /// The HSMs serving this slot: by `priority`, then file order. Never empty.
    pub hsms: Vec<Hsm>,
}

/// One slot of one HSM, as `primus.cfg` lists it: what `ppin -t` tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HsmSlot {
    /// The HSM's name ([`Hsm::name`]).
    pub hsm: String,
    /// The slot's name in the file (`slot0`), or `slots[0]` when `slots` is a list.
    pub slot: String,
    /// Its partition user (`user_name`).
    pub user_name: String,
    /// Its slot id (`id`).
    pub slot_id: u32,
}

/// A parsed `primus.cfg`: where the HSMs are and which slot users they serve.
///
/// Read with primus-core's libconfig reader, which reads what the vendor's
/// libconfig 1.5 reads (`@include "file"` included, relative to the directory
/// of `primus.cfg`). The vendor's keys are
/// `primus.hsms.<hsm>.{host, port, priority, slots.<slot>.{user_name, id, proxy_user}}`;
/// `hsms` and `slots` may be groups (named entries) or lists. `priority` is an
/// integer in an HSM's group: among the HSMs of a slot user, lower numbers are
/// tried first (default 0, the highest; equal priorities keep file order).
/// One optional key is ours, and anything else reading the file ignores it:
/// `ca_file`, the PEM file of the CA that signed the HSM's TLS certificate, in
/// an HSM's group or in `primus` (the default for every HSM); a relative path
/// is relative to the directory of `primus.cfg`.
///
/// The slots of one HSM have distinct ids. A user may have several slots of
/// an HSM (to parallelize access). HSMs whose slots name the same `user_name`
/// form a redundant cluster that shares one credential (one entry in
/// `.secrets.cfg`), so they must give the user the same slot ids and agree on
/// the `proxy_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimusConfig {
    path: PathBuf,
    hsms: Vec<Hsm>,
    users: Vec<SlotUser>,
    /// Every slot of every HSM, in file order.
    slots: Vec<HsmSlot>,
    /// Position in `users` by name: every operation looks its user up, and
    /// that must not cost more with a thousand users than with one.
    by_name: HashMap<String, usize>,
}

impl PrimusConfig {
    fn new(path: PathBuf, hsms: Vec<Hsm>, users: Vec<SlotUser>, slots: Vec<HsmSlot>) -> Self {
        let by_name = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.user_name.clone(), i))
            .collect();
        PrimusConfig {
            path,
            hsms,
            users,
            slots,
            by_name,
        }
    }

    /// Where `primus.cfg` is, or would be written: `explicit` if given, else
    /// `$SECUROSYS_PKCS11_CONF` when non-empty, else the first of
    /// [`PRIMUS_CFG_DEFAULT_PATHS`] that exists, else the first of them.
    /// Never fails: a missing file is reported by [`read`](Self::read)
    /// (0x80005003).
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        if let Some(named) = explicit {
            return named.to_owned();
        }
        // A path the user named is the only place to look: falling back to a
        // system file would silently use a different configuration.
        if let Some(env) = std::env::var_os(PRIMUS_CFG_ENV).filter(|v| !v.is_empty()) {
            return PathBuf::from(env);
        }
        PRIMUS_CFG_DEFAULT_PATHS
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists())
            .unwrap_or_else(|| PathBuf::from(PRIMUS_CFG_DEFAULT_PATHS[0]))
    }

    /// [`locate`](Self::locate)s and [`read`](Self::read)s `primus.cfg`.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        Self::read(&Self::locate(explicit))
    }

    /// Reads and checks the `primus.cfg` at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        // Bytes, as libconfig reads them: a comment in Latin-1 is no error.
        let text = std::fs::read(path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => ConfigError::NotFound {
                searched: vec![path.to_owned()],
            },
            _ => ConfigError::Read {
                path: path.to_owned(),
                source,
            },
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text` as the `primus.cfg` at `path` (used in messages and to
    /// resolve a relative `ca_file` or `@include`).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(text: &T, path: &Path) -> Result<Self, ConfigError> {
        Self::parse_with_includes(text, path, &|included| std::fs::read(included))
    }

    /// As [`parse`](Self::parse), each `@include`d file read by `read`
    /// instead of from this machine's disk (a `primus.cfg` of another host,
    /// its included files fetched from there).
    pub(crate) fn parse_with_includes<T: AsRef<[u8]> + ?Sized>(
        text: &T,
        path: &Path,
        read: &dyn Fn(&Path) -> io::Result<Vec<u8>>,
    ) -> Result<Self, ConfigError> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let doc = libconfig::parse_including_with(text, dir, read).map_err(|source| {
            ConfigError::Syntax {
                path: path.to_owned(),
                source: Box::new(source),
            }
        })?;
        reader::Reader { path }.config(&doc)
    }

    /// The text of a `primus.cfg` holding `hsms`, in the vendor's shape
    /// (`primus: { hsms: { <name>: { host; port; slots: { slot0: ... } } } }`),
    /// written by the libconfig writer (strings escaped) and checked by
    /// [`parse`](Self::parse) as the file at `path`, so what is written is
    /// exactly what every reader then sees.
    pub fn render(hsms: &[HsmSettings], path: &Path) -> Result<String, ConfigError> {
        let text = writer::render(hsms, path)?;
        Self::parse(&text, path)?;
        Ok(text)
    }

    /// The file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every HSM, in file order.
    pub fn hsms(&self) -> &[Hsm] {
        &self.hsms
    }

    /// Every slot user, in file order of first appearance.
    pub fn users(&self) -> &[SlotUser] {
        &self.users
    }

    /// Every slot of every HSM, in file order.
    pub fn slots(&self) -> &[HsmSlot] {
        &self.slots
    }

    /// The slot user named `user_name`.
    pub fn user(&self, user_name: &str) -> Option<&SlotUser> {
        self.by_name.get(user_name).map(|&i| &self.users[i])
    }

    /// Every distinct service proxy user, in file order of first appearance.
    pub fn proxy_users(&self) -> Vec<&str> {
        let mut proxies: Vec<&str> = Vec::new();
        for proxy in self.users.iter().filter_map(|u| u.proxy_user.as_deref()) {
            if !proxies.contains(&proxy) {
                proxies.push(proxy);
            }
        }
        proxies
    }

    /// Each service proxy user once per HSM that has a slot behind it, HSM
    /// by HSM in file order: the proxy lines of the vendor's `ppin -l`.
    pub fn proxy_slots(&self) -> Vec<(&str, &str)> {
        let mut lines: Vec<(&str, &str)> = Vec::new();
        for slot in &self.slots {
            let proxy = self
                .user(&slot.user_name)
                .and_then(|u| u.proxy_user.as_deref());
            if let Some(proxy) = proxy {
                if !lines.iter().any(|&(h, p)| h == slot.hsm && p == proxy) {
                    lines.push((slot.hsm.as_str(), proxy));
                }
            }
        }
        lines
    }

    /// The slot users behind the service proxy `proxy_user`.
    pub fn users_behind_proxy<'a>(
        &'a self,
        proxy_user: &'a str,
    ) -> impl Iterator<Item = &'a SlotUser> + 'a {
        self.users
            .iter()
            .filter(move |u| u.proxy_user.as_deref() == Some(proxy_user))
    }
}

mod host_files;
mod live;
mod reader;
mod writer;

pub(crate) use host_files::HostConfigFiles;
pub(crate) use live::LiveConfig;

pub use writer::{ConfigFile, ConfigFileError, HsmSettings, SlotSettings, CONFIG_FILE_MODE};

#[cfg(test)]
mod tests;
