//! `primus.cfg`: where the HSMs are and which slot users they serve.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hsm_wire::VendorCode;
use primus_core::libconfig::{self, Group, ParseError, Value};

/// Environment variable naming `primus.cfg`, first in the vendor's lookup order.
pub const PRIMUS_CFG_ENV: &str = "SECUROSYS_PKCS11_CONF";
/// The places searched after [`PRIMUS_CFG_ENV`], in order.
pub const PRIMUS_CFG_DEFAULT_PATHS: [&str; 2] =
    ["/etc/primus/primus.cfg", "/usr/local/primus/etc/primus.cfg"];
/// 0x80005003: the configuration file was not found.
pub const CONFIG_NOT_FOUND: VendorCode = VendorCode(0x8000_5003);

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
    /// The file is not valid libconfig.
    #[error("{}:{}:{}: {}", path.display(), source.line, source.column, source.message)]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and what.
        source: ParseError,
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
            ConfigError::NotFound { .. } => Some(CONFIG_NOT_FOUND),
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
    /// Lower is tried first (our key `priority`; default: position in the file).
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
    /// The slot id (`id`).
    pub slot_id: u32,
    /// The CloudHSM service proxy user in front of it (`proxy_user`), if any.
    pub proxy_user: Option<String>,
    /// The HSMs serving this slot: by `priority`, then file order. Never empty.
    pub hsms: Vec<Hsm>,
}

/// A parsed `primus.cfg`: where the HSMs are and which slot users they serve.
///
/// Read with the libconfig parser of `secrets-cfg`. The vendor's keys are
/// `primus.hsms.<hsm>.{host, port, slots.<slot>.{user_name, id, proxy_user}}`;
/// `hsms` and `slots` may be groups (named entries) or lists. Two optional keys
/// are ours, and anything else reading the file ignores them:
///
/// - `ca_file`: the PEM file of the CA that signed the HSM's TLS certificate,
///   in an HSM's group or in `primus` (the default for every HSM). A relative
///   path is relative to the directory of `primus.cfg`.
/// - `priority`: an integer in an HSM's group; among the redundant HSMs of a
///   slot user, lower numbers are tried first (default: the HSM's position in
///   the file).
///
/// HSMs whose slots name the same `user_name` form a redundant cluster that
/// shares one credential (one entry in `.secrets.cfg`), so they must agree on
/// the slot `id` and the `proxy_user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimusConfig {
    path: PathBuf,
    hsms: Vec<Hsm>,
    users: Vec<SlotUser>,
}

impl PrimusConfig {
    /// Finds `primus.cfg`: `explicit` if given, else `$SECUROSYS_PKCS11_CONF` if
    /// set, else the first existing file of [`PRIMUS_CFG_DEFAULT_PATHS`].
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
        let env = std::env::var_os(PRIMUS_CFG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let candidates: Vec<PathBuf> = match explicit.map(Path::to_owned).or(env) {
            // A path the user named is the only place to look: falling back to a
            // system file would silently use a different configuration.
            Some(named) => vec![named],
            None => PRIMUS_CFG_DEFAULT_PATHS.iter().map(PathBuf::from).collect(),
        };
        candidates
            .iter()
            .find(|path| path.is_file())
            .cloned()
            .ok_or(ConfigError::NotFound {
                searched: candidates,
            })
    }

    /// [`locate`](Self::locate)s and [`read`](Self::read)s `primus.cfg`.
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        Self::read(&Self::locate(explicit)?)
    }

    /// Reads and checks the `primus.cfg` at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
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
    /// resolve a relative `ca_file`).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let doc = libconfig::parse(text).map_err(|source| ConfigError::Syntax {
            path: path.to_owned(),
            source,
        })?;
        Reader { path }.config(&doc)
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

    /// The slot user named `user_name`.
    pub fn user(&self, user_name: &str) -> Option<&SlotUser> {
        self.users.iter().find(|u| u.user_name == user_name)
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

/// Turns the libconfig tree into a [`PrimusConfig`], naming the setting in errors.
struct Reader<'a> {
    path: &'a Path,
}

impl Reader<'_> {
    fn invalid(&self, setting: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.to_owned(),
            setting: setting.to_owned(),
            problem: problem.into(),
        }
    }

    /// The entries of a group or list at `setting`, named `setting.name` or `setting[i]`.
    fn entries<'v>(
        &self,
        setting: &str,
        value: &'v Value,
    ) -> Result<Vec<(String, &'v Group)>, ConfigError> {
        let named: Vec<(String, &Value)> = match value {
            Value::Group(group) => group
                .iter()
                .map(|s| (format!("{setting}.{}", s.name), &s.value))
                .collect(),
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{setting}[{i}]"), v))
                .collect(),
            other => {
                return Err(self.invalid(
                    setting,
                    format!("expected a group {{ ... }}, found a {}", other.type_name()),
                ))
            }
        };
        named
            .into_iter()
            .map(|(name, value)| match value.as_group() {
                Some(group) => Ok((name, group)),
                None => Err(self.invalid(
                    &name,
                    format!("expected a group {{ ... }}, found a {}", value.type_name()),
                )),
            })
            .collect()
    }

    fn string(
        &self,
        group: &Group,
        parent: &str,
        key: &str,
    ) -> Result<Option<String>, ConfigError> {
        match group.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
            Some(Value::String(_)) => {
                Err(self.invalid(&format!("{parent}.{key}"), "must not be empty"))
            }
            Some(other) => Err(self.invalid(
                &format!("{parent}.{key}"),
                format!("expected a string, found a {}", other.type_name()),
            )),
        }
    }

    fn required_string(
        &self,
        group: &Group,
        parent: &str,
        key: &str,
    ) -> Result<String, ConfigError> {
        self.string(group, parent, key)?.ok_or_else(|| {
            self.invalid(&format!("{parent}.{key}"), "missing: every entry needs one")
        })
    }

    /// An integer in `range`, written as an integer or (as the vendor writes
    /// `port`) a string of digits.
    fn number<T: TryFrom<i64>>(
        &self,
        group: &Group,
        parent: &str,
        key: &str,
    ) -> Result<Option<T>, ConfigError> {
        let setting = format!("{parent}.{key}");
        let number = match group.get(key) {
            None => return Ok(None),
            Some(Value::Int(n)) => Some(*n),
            Some(Value::String(text)) => text.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        let out_of_range = || {
            self.invalid(
                &setting,
                "expected a whole number in range (e.g. 2310 or \"2310\")",
            )
        };
        let number = number.ok_or_else(out_of_range)?;
        T::try_from(number).map(Some).map_err(|_| out_of_range())
    }

    fn config(&self, doc: &Group) -> Result<PrimusConfig, ConfigError> {
        let primus = match doc.get("primus") {
            Some(Value::Group(group)) => group,
            Some(other) => {
                return Err(self.invalid(
                    "primus",
                    format!("expected a group, found a {}", other.type_name()),
                ))
            }
            None => {
                return Err(self.invalid(
                    "primus",
                    "missing: primus.cfg needs a `primus: { hsms: { ... }; };` group",
                ))
            }
        };
        let default_ca = self.string(primus, "primus", "ca_file")?;
        let hsms_value = primus
            .get("hsms")
            .ok_or_else(|| self.invalid("primus.hsms", "missing: list the HSMs here"))?;
        let mut hsms = Vec::new();
        let mut slots_of_hsm = Vec::new();
        for (position, (name, group)) in self
            .entries("primus.hsms", hsms_value)?
            .into_iter()
            .enumerate()
        {
            let host = self.required_string(group, &name, "host")?;
            let port = self.number::<u16>(group, &name, "port")?.ok_or_else(|| {
                self.invalid(&format!("{name}.port"), "missing: every HSM needs a port")
            })?;
            let ca_file = self
                .string(group, &name, "ca_file")?
                .or_else(|| default_ca.clone())
                .map(|file| {
                    let dir = self.path.parent().unwrap_or(Path::new(""));
                    dir.join(file)
                });
            let priority = self
                .number::<i64>(group, &name, "priority")?
                .unwrap_or(position as i64);
            // `hsm0` for a group entry, `hsms[0]` for a list entry.
            let short_name = name
                .strip_prefix("primus.hsms.")
                .or_else(|| name.strip_prefix("primus."))
                .unwrap_or(&name)
                .to_owned();
            hsms.push(Hsm {
                name: short_name,
                host,
                port,
                ca_file,
                priority,
            });
            let slots = group.get("slots").ok_or_else(|| {
                self.invalid(
                    &format!("{name}.slots"),
                    "missing: every HSM needs the slots it serves",
                )
            })?;
            slots_of_hsm.push(self.entries(&format!("{name}.slots"), slots)?);
        }
        if hsms.is_empty() {
            return Err(self.invalid("primus.hsms", "no HSM configured"));
        }
        let mut users: Vec<SlotUser> = Vec::new();
        for (hsm, slots) in hsms.iter().zip(slots_of_hsm) {
            for (name, slot) in slots {
                let user_name = self.required_string(slot, &name, "user_name")?;
                let slot_id = self.number::<u32>(slot, &name, "id")?.ok_or_else(|| {
                    self.invalid(&format!("{name}.id"), "missing: every slot needs its id")
                })?;
                let proxy_user = self.string(slot, &name, "proxy_user")?;
                match users.iter_mut().find(|u| u.user_name == user_name) {
                    None => users.push(SlotUser {
                        user_name,
                        slot_id,
                        proxy_user,
                        hsms: vec![hsm.clone()],
                    }),
                    Some(user) => {
                        // Redundant HSMs share one credential, so they must describe the same slot.
                        if user.hsms.iter().any(|h| h.name == hsm.name) {
                            return Err(self.invalid(
                                &name,
                                format!("user '{user_name}' appears twice in this HSM"),
                            ));
                        }
                        if user.slot_id != slot_id || user.proxy_user != proxy_user {
                            return Err(self.invalid(
                                &name,
                                format!(
                                    "user '{user_name}' is also on HSM {} with a different slot id or proxy_user; \
                                     redundant HSMs of one user must use the same id and proxy_user",
                                    user.hsms[0].name
                                ),
                            ));
                        }
                        user.hsms.push(hsm.clone());
                    }
                }
            }
        }
        for user in &mut users {
            // Stable: equal priorities keep file order.
            user.hsms.sort_by_key(|h| h.priority);
        }
        Ok(PrimusConfig {
            path: self.path.to_owned(),
            hsms,
            users,
        })
    }
}

#[cfg(test)]
mod tests;
