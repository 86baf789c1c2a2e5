//! Writing `primus.cfg`: the settings of each HSM to the vendor's libconfig
//! shape, through the libconfig writer so every string is escaped, and the
//! file a program keeps whole ([`ConfigFile`]).

use std::io;
use std::path::{Path, PathBuf};

use primus_core::libconfig::{self, Group, Value};

use super::{ConfigError, PrimusConfig};
use crate::blocking::off_async_threads;

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

/// `rw-r-----`: the `primus` group reads a written `primus.cfg`, other users
/// get no access.
pub const CONFIG_FILE_MODE: u32 = 0o640;

/// A `primus.cfg` that a program keeps as a whole (the Terraform provider's
/// `primus_config` resource): rendered from [`HsmSettings`] under a comment
/// naming its keeper, replaced atomically (temporary file, fsync, rename)
/// with mode `0640` (the `primus` group reads it), read back as text, and
/// removed durably.
///
/// Every method that touches the disk is `async` and does its blocking I/O
/// off the async threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    path: PathBuf,
    /// The comment heading every text written, `# ` and newline included.
    heading: String,
}

/// Why a [`ConfigFile`] could not be written, read or removed. Each names
/// the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigFileError {
    /// The settings cannot make a valid `primus.cfg`; nothing was written.
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// The file exists but could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file could not be replaced; the old one, if any, is unchanged.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file could not be removed.
    #[error("cannot remove {}: {source}", path.display())]
    Remove {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl ConfigFile {
    /// The file at `path`, each text written headed by `comment` (one `# `
    /// line per line of it, so any comment keeps the file valid).
    pub fn new(path: impl Into<PathBuf>, comment: &str) -> Self {
        let heading = comment.lines().map(|line| format!("# {line}\n")).collect();
        ConfigFile {
            path: path.into(),
            heading,
        }
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The text [`write`](Self::write) would write for `hsms`: the comment,
    /// then [`PrimusConfig::render`] (checked by the parser as this file).
    pub fn render(&self, hsms: &[HsmSettings]) -> Result<String, ConfigError> {
        Ok(self.heading.clone() + &PrimusConfig::render(hsms, &self.path)?)
    }

    /// Whether anything is at the path (a file that cannot be looked at
    /// counts as absent, as [`Path::exists`] has it).
    pub async fn exists(&self) -> bool {
        tokio::fs::try_exists(&self.path).await.unwrap_or(false)
    }

    /// The text now in the file; `None` when there is no file.
    pub async fn text(&self) -> Result<Option<String>, ConfigFileError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfigFileError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// Reads and checks the file, as [`PrimusConfig::read`] does.
    pub async fn read(&self) -> Result<PrimusConfig, ConfigError> {
        let path = self.path.clone();
        off_async_threads(move || PrimusConfig::read(&path)).await
    }

    /// Renders `hsms` and replaces the file with that text, creating it
    /// (its directory must exist). Settings ppin would refuse to read are
    /// refused before anything touches the disk.
    pub async fn write(&self, hsms: &[HsmSettings]) -> Result<(), ConfigFileError> {
        let text = self.render(hsms)?;
        let path = self.path.clone();
        off_async_threads(move || {
            primus_core::replace_file(&path, text.as_bytes(), CONFIG_FILE_MODE)
        })
        .await
        .map_err(|source| ConfigFileError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Removes the file durably; a file already gone is fine.
    pub async fn remove(&self) -> Result<(), ConfigFileError> {
        let path = self.path.clone();
        off_async_threads(move || primus_core::remove_file_durably(&path))
            .await
            .map_err(|source| ConfigFileError::Remove {
                path: self.path.clone(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn app_on(name: &str) -> HsmSettings {
        let mut hsm = HsmSettings::new(name, "hsm.example", 2310);
        hsm.slots.push(SlotSettings::new("APP", 0));
        hsm
    }

    #[tokio::test]
    async fn a_write_replaces_with_mode_0640_reads_back_and_remove_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("primus.cfg"), "Managed here.\nDo not edit.");
        assert!(!file.exists().await);
        assert_eq!(file.text().await.unwrap(), None);
        file.write(&[app_on("hsm0")]).await.unwrap();
        file.write(&[app_on("hsm1")]).await.unwrap();
        let text = file.text().await.unwrap().unwrap();
        assert!(
            text.starts_with("# Managed here.\n# Do not edit.\n"),
            "{text}"
        );
        assert_eq!(Some(text), file.render(&[app_on("hsm1")]).ok());
        assert_eq!(file.read().await.unwrap().hsms()[0].name, "hsm1");
        let mode = std::fs::metadata(file.path()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, CONFIG_FILE_MODE);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        file.remove().await.unwrap();
        assert!(!file.exists().await);
        file.remove().await.unwrap();
    }

    #[tokio::test]
    async fn failures_name_the_file_and_refused_settings_write_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = ConfigFile::new(dir.path().join("primus.cfg"), "x");
        let twice = [app_on("hsm0"), app_on("hsm0")];
        assert!(matches!(
            file.write(&twice).await,
            Err(ConfigFileError::Invalid(ConfigError::Invalid { .. }))
        ));
        assert!(!file.exists().await);

        let nowhere = ConfigFile::new(dir.path().join("no/such/dir/primus.cfg"), "x");
        let error = nowhere.write(&[app_on("hsm0")]).await.unwrap_err();
        assert!(matches!(error, ConfigFileError::Write { .. }), "{error:?}");
        assert!(
            error.to_string().contains("no/such/dir/primus.cfg"),
            "{error}"
        );

        // A directory where the file should be cannot be read as one.
        let directory = ConfigFile::new(dir.path(), "x");
        let error = directory.text().await.unwrap_err();
        assert!(matches!(error, ConfigFileError::Read { .. }), "{error:?}");
    }
}
