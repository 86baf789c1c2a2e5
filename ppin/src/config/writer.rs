//! Writing `primus.cfg`: the settings of each HSM to the vendor's libconfig
//! shape, through the libconfig writer so every string is escaped.

use std::path::Path;

use primus_core::libconfig::{self, Group, Value};

use super::ConfigError;

/// One HSM to write into `primus.cfg` (`primus.hsms.<name>`), in the words
/// the file uses: `ca_file` as written (relative to the file's directory),
/// `priority` only when chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HsmSettings {
    /// The setting name (`hsm0`): a libconfig name, unique in the file.
    pub name: String,
    /// Host name or IP address.
    pub host: String,
    /// TCP port (written as a string, as the vendor does).
    pub port: u16,
    /// Our key `ca_file`; `None` writes none.
    pub ca_file: Option<String>,
    /// Our key `priority`; `None` leaves the default (the HSM's position).
    pub priority: Option<i64>,
    /// The slots it serves, written as `slot0`, `slot1`, ...
    pub slots: Vec<SlotSettings>,
}

impl HsmSettings {
    /// An HSM with no CA file, the default priority and no slots.
    pub fn new(name: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        HsmSettings {
            name: name.into(),
            host: host.into(),
            port,
            ca_file: None,
            priority: None,
            slots: Vec::new(),
        }
    }

    /// Whether `name` can be an HSM's setting name (`primus.hsms.<name>`):
    /// a libconfig name, letters, digits, `-`, `_` and `*`, starting with a
    /// letter or `*`. [`PrimusConfig::render`](super::PrimusConfig::render)
    /// refuses any other; a caller may check earlier.
    pub fn is_valid_name(name: &str) -> bool {
        libconfig::is_valid_name(name)
    }
}

/// One slot of an [`HsmSettings`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotSettings {
    /// `user_name`.
    pub user_name: String,
    /// `id`.
    pub slot_id: u32,
    /// `proxy_user`, for a user behind a CloudHSM service proxy.
    pub proxy_user: Option<String>,
}

impl SlotSettings {
    /// A slot with no service proxy.
    pub fn new(user_name: impl Into<String>, slot_id: u32) -> Self {
        SlotSettings {
            user_name: user_name.into(),
            slot_id,
            proxy_user: None,
        }
    }
}

/// The text for `hsms`, not yet checked by the parser.
pub(super) fn render(hsms: &[HsmSettings], path: &Path) -> Result<String, ConfigError> {
    let invalid = |setting: String, problem: String| ConfigError::Invalid {
        path: path.to_owned(),
        setting,
        problem,
    };
    let mut hsms_group = Group::new();
    for hsm in hsms {
        if hsms_group.get(&hsm.name).is_some() {
            return Err(invalid(
                format!("primus.hsms.{}", hsm.name),
                format!(
                    "two HSMs are named '{}'; each HSM needs its own name",
                    hsm.name
                ),
            ));
        }
        hsms_group.insert(hsm.name.clone(), Value::Group(hsm_group(hsm)));
    }
    let mut primus = Group::new();
    primus.insert("hsms", Value::Group(hsms_group));
    let mut root = Group::new();
    root.insert("version", Value::String("1.0".to_owned()));
    root.insert("primus", Value::Group(primus));
    libconfig::write(&root).map_err(|e| invalid("primus.hsms".to_owned(), e.to_string()))
}

fn hsm_group(hsm: &HsmSettings) -> Group {
    let mut group = Group::new();
    group.insert("host", Value::String(hsm.host.clone()));
    // The vendor writes the port as a string; the parser reads either.
    group.insert("port", Value::String(hsm.port.to_string()));
    if let Some(ca_file) = &hsm.ca_file {
        group.insert("ca_file", Value::String(ca_file.clone()));
    }
    if let Some(priority) = hsm.priority {
        group.insert("priority", Value::Int(priority));
    }
    let mut slots = Group::new();
    for (index, slot) in hsm.slots.iter().enumerate() {
        let mut entry = Group::new();
        entry.insert("user_name", Value::String(slot.user_name.clone()));
        entry.insert("id", Value::Int(i64::from(slot.slot_id)));
        if let Some(proxy_user) = &slot.proxy_user {
            entry.insert("proxy_user", Value::String(proxy_user.clone()));
        }
        slots.insert(format!("slot{index}"), Value::Group(entry));
    }
    group.insert("slots", Value::Group(slots));
    group
}
