//! The simulator's configuration: users, service proxies, and the brute-force policy.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use primus_core::Password;
use serde::{Deserialize, Serialize};

/// The whole configuration, read from a JSON file (see the crate docs for an example).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Lifespans, thresholds and windows; vendor defaults when absent.
    #[serde(default)]
    pub policy: Policy,
    /// The partition users (PKCS#11 slot users).
    pub users: Vec<UserConfig>,
    /// The CloudHSM service proxy users.
    #[serde(default)]
    pub proxies: Vec<ProxyConfig>,
}

/// The brute-force and expiry policy, as the vendor documents it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// How long a setup password stays valid after its first use (vendor: 72 h).
    #[serde(with = "humantime_serde")]
    pub setup_password_lifespan: Duration,
    /// Wrong trials within `reset_window` that lock a counter (vendor: 100).
    pub attempt_threshold: u32,
    /// Wrong trials are forgotten this long after the first of them (vendor: 300 s).
    #[serde(with = "humantime_serde")]
    pub reset_window: Duration,
    /// How long a locked counter stays locked (vendor: 300 s).
    #[serde(with = "humantime_serde")]
    pub lockout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            setup_password_lifespan: Duration::from_secs(72 * 3600),
            attempt_threshold: 100,
            reset_window: Duration::from_secs(300),
            lockout: Duration::from_secs(300),
        }
    }
}

/// One partition user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The user name (`user_name` in `primus.cfg`).
    pub name: String,
    /// The slot id written to `primus.cfg` (default: the user's position in the list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_id: Option<u32>,
    /// The setup password, `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX` of `[A-Z0-9]`.
    pub setup_password: Password,
    /// The password the simulated HSM accepts for this user's PKCS#11 login; redacted in `Debug`.
    pub pkcs11_password: Password,
    /// The service proxy this user sits behind (CloudHSM), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_user: Option<String>,
    /// Whether the HSM lets the user fetch its partition log over the API
    /// (the vendor's "client API user log", `client_log`); default true.
    #[serde(default = "enabled", skip_serializing_if = "is_enabled")]
    pub client_log: bool,
}

fn enabled() -> bool {
    true
}

fn is_enabled(value: &bool) -> bool {
    *value
}

/// One CloudHSM service proxy user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    /// The proxy user name (`proxy_user` in `primus.cfg`).
    pub name: String,
    /// What `proxy_auth` must present (any non-empty text; not a setup password).
    pub password: Password,
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read simulator config {path}: {source}")]
    Read {
        /// The JSON configuration file, as given to `SimConfig::from_file`.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape (serde's message names the field).
    #[error("simulator config {path} is invalid: {source}")]
    Parse {
        /// The JSON configuration file, as given to `SimConfig::from_file`.
        path: String,
        /// Why, with line and column.
        source: serde_json::Error,
    },
    /// The configuration is well-formed but inconsistent.
    #[error("simulator config: {0}")]
    Invalid(String),
}

/// What [`is_plain_name`] requires, for error messages.
const PLAIN_NAME_RULE: &str =
    "a name must be non-empty, without quotes, backslashes or control characters";

/// Names go into `primus.cfg` strings and error messages verbatim.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c == '"' || c == '\\' || c.is_control())
}

impl SimConfig {
    /// Reads and validates a JSON configuration file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        let config: SimConfig =
            serde_json::from_slice(&text).map_err(|source| ConfigError::Parse {
                path: shown,
                source,
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: unique names, known proxies, sane policy.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |text: String| Err(ConfigError::Invalid(text));
        if self.policy.attempt_threshold == 0 {
            return invalid("policy.attempt_threshold must be at least 1".to_owned());
        }
        for proxy in &self.proxies {
            if !is_plain_name(&proxy.name) {
                return invalid(format!("proxy {:?}: {PLAIN_NAME_RULE}", proxy.name));
            }
        }
        let proxies: HashSet<&str> = self.proxies.iter().map(|p| p.name.as_str()).collect();
        if proxies.len() != self.proxies.len() {
            return invalid("two proxies share a name; give each proxy a unique name".to_owned());
        }
        let mut names = HashSet::new();
        let mut slots = HashSet::new();
        for (position, user) in self.users.iter().enumerate() {
            let name = &user.name;
            if !is_plain_name(name) {
                return invalid(format!("user #{position} {name:?}: {PLAIN_NAME_RULE}"));
            }
            if !names.insert(name.as_str()) {
                return invalid(format!(
                    "user '{name}' appears twice; user names must be unique"
                ));
            }
            if !slots.insert(user.slot(position)) {
                return invalid(format!(
                    "user '{name}': slot id {} is used twice",
                    user.slot(position)
                ));
            }
            if hsm_wire::check_setup_password(&user.setup_password).is_err() {
                return invalid(format!(
                    "user '{name}': setup_password must be five groups of five A-Z/0-9 joined by '-' (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)"
                ));
            }
            if let Some(proxy) = &user.proxy_user {
                if !proxies.contains(proxy.as_str()) {
                    return invalid(format!(
                        "user '{name}': proxy_user '{proxy}' is not in proxies; add it there"
                    ));
                }
            }
        }
        Ok(())
    }

    /// A configuration with `count` users `U0001`, `U0002`, ... on slots 0, 1, ...,
    /// each with fresh random setup and PKCS#11 passwords, and the vendor policy.
    pub fn generated(count: usize) -> Self {
        let users = (1..=count)
            .map(|n| UserConfig {
                name: format!("U{n:04}"),
                slot_id: None,
                setup_password: random_setup_password(),
                pkcs11_password: random_password(),
                proxy_user: None,
                client_log: true,
            })
            .collect();
        SimConfig {
            policy: Policy::default(),
            users,
            proxies: Vec::new(),
        }
    }

    /// Adds a service proxy `proxy` with a random password and a user `user`
    /// behind it (random passwords, next free slot id). Returns `self` for chaining.
    pub fn with_proxied_user(mut self, user: &str, proxy: &str) -> Self {
        if !self.proxies.iter().any(|p| p.name == proxy) {
            self.proxies.push(ProxyConfig {
                name: proxy.to_owned(),
                password: random_password(),
            });
        }
        let slot_id = self
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| u.slot(i))
            .max()
            .map_or(0, |max| max + 1);
        self.users.push(UserConfig {
            name: user.to_owned(),
            slot_id: Some(slot_id),
            setup_password: random_setup_password(),
            pkcs11_password: random_password(),
            proxy_user: Some(proxy.to_owned()),
            client_log: true,
        });
        self
    }

    /// The user named `name`.
    pub fn user(&self, name: &str) -> Option<&UserConfig> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The proxy named `name`.
    pub fn proxy(&self, name: &str) -> Option<&ProxyConfig> {
        self.proxies.iter().find(|p| p.name == name)
    }
}

impl UserConfig {
    /// The slot id: the configured one, else `position` (the user's index in the list).
    pub fn slot(&self, position: usize) -> u32 {
        self.slot_id
            .unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX))
    }
}

/// Random bytes from the OS generator.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator failing means the machine cannot do any cryptography; nothing to recover.
    getrandom::fill(&mut bytes).expect("the operating system's random generator failed");
    bytes
}

/// A fresh setup password in the vendor's format.
pub fn random_setup_password() -> Password {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let bytes = random_bytes::<25>();
    let mut text = String::with_capacity(29);
    for (i, byte) in bytes.iter().enumerate() {
        if i > 0 && i % 5 == 0 {
            text.push('-');
        }
        // The slight bias of `% 36` does not matter for test passwords.
        text.push(char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]));
    }
    Password::new(text)
}

/// A fresh 24-character password (PKCS#11 or proxy).
pub fn random_password() -> Password {
    Password::new(hex::encode(random_bytes::<12>()))
}

/// serde for `Duration` as humantime text (`"72h"`, `"300s"`, `"250ms"`).
mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_duration(*duration))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?} ({e}); write e.g. \"72h\", \"300s\", \"250ms\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn refused(config: &SimConfig) -> String {
        config.validate().unwrap_err().to_string()
    }

    #[test]
    fn generated_configs_are_valid_and_fresh() {
        let a = SimConfig::generated(3).with_proxied_user("C", "P");
        a.validate().unwrap();
        let b = SimConfig::generated(3);
        assert!(a
            .users
            .iter()
            .all(|u| hsm_wire::check_setup_password(&u.setup_password).is_ok()));
        assert_ne!(a.users[0].setup_password, b.users[0].setup_password);
        assert_eq!(a.user("C").unwrap().slot_id, Some(3));
        assert_eq!(a.proxy("P").unwrap().name, "P");
    }

    #[test]
    fn inconsistent_configs_are_refused_with_the_culprit_named() {
        let mut dup = SimConfig::generated(2);
        dup.users[1].name = "U0001".to_owned();
        assert!(refused(&dup).contains("'U0001' appears twice"));

        let mut orphan = SimConfig::generated(1);
        orphan.users[0].proxy_user = Some("GHOST".to_owned());
        assert!(refused(&orphan).contains("proxy_user 'GHOST' is not in proxies"));

        let mut quoted = SimConfig::generated(1);
        quoted.users[0].name = "A\"B".to_owned();
        assert!(refused(&quoted).contains("without quotes"));

        let mut same_slot = SimConfig::generated(2);
        same_slot.users[1].slot_id = Some(0);
        assert!(refused(&same_slot).contains("slot id 0 is used twice"));

        let mut zero = SimConfig::generated(1);
        zero.policy.attempt_threshold = 0;
        assert!(refused(&zero).contains("attempt_threshold"));
    }

    #[test]
    fn policy_durations_read_as_humantime_and_default_to_the_vendor_values() {
        let config: SimConfig =
            serde_json::from_str(r#"{"policy":{"lockout":"250ms"},"users":[]}"#).unwrap();
        assert_eq!(config.policy.lockout, Duration::from_millis(250));
        assert_eq!(
            config.policy.setup_password_lifespan,
            Duration::from_secs(72 * 3600)
        );
        assert_eq!(config.policy.attempt_threshold, 100);
        let error =
            serde_json::from_str::<SimConfig>(r#"{"policy":{"lockout":"soon"},"users":[]}"#)
                .unwrap_err();
        assert!(error.to_string().contains("\"soon\""), "{error}");
        let error = serde_json::from_str::<SimConfig>(r#"{"users":[],"extra":1}"#).unwrap_err();
        assert!(error.to_string().contains("extra"), "{error}");
        // A PIN written as a bare number is refused without being echoed.
        let error = serde_json::from_str::<SimConfig>(
            r#"{"users":[{"name":"U","setup_password":"AAAAA-BBBBB-CCCCC-DDDDD-EEEEE","pkcs11_password":987654321}]}"#,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("expected a password string"),
            "{error}"
        );
        assert!(!error.to_string().contains("987654321"), "{error}");
    }
}
