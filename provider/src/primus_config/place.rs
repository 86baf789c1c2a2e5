//! Where a `primus_config` file lives: on this machine, written by ppin's
//! [`ConfigFile`], or on a host, read and replaced over its SSH connection
//! (the same durable replace: temporary file, sync, rename, sync of the
//! directory) as the user the tool runs as. Either way the text is rendered
//! and checked by ppin's parser before anything is written.

use std::io;
use std::path::{Path, PathBuf};

use ppin::{
    ConfigFile, ConfigFileError, ExternalError, HsmSettings, PpinError, PrimusConfig,
    CONFIG_FILE_MODE,
};
use tfplug::diag::{AttributePath, Diagnostic, Diagnostics};

use crate::client::Client;
use crate::diagnostics::fail;
use crate::host::HostConfig;
use crate::remote::HostDoor;

/// The comment heading every file this resource writes.
const HEADER: &str =
    "Managed by Terraform (primus_config); edits here are reverted by the next apply.";

/// A `primus.cfg` a resource of `resource_type` manages.
pub(super) struct Place {
    file: ConfigFile,
    /// The door to its host; `None`: the machine Terraform runs on.
    door: Option<HostDoor>,
    resource_type: &'static str,
}

impl Place {
    /// The file at `path` on `host` (`None`: this machine), managed by a
    /// resource of `resource_type`.
    pub(super) async fn of(
        client: &Client,
        resource_type: &'static str,
        host: Option<&HostConfig>,
        path: impl Into<PathBuf>,
    ) -> Result<Place, Diagnostics> {
        let mut place = Place::here(resource_type, path);
        if let Some(host) = host {
            place.door = Some(client.host_door(resource_type, host).await?);
        }
        Ok(place)
    }

    /// The file at `path` on this machine, managed by a resource of `resource_type`.
    pub(super) fn here(resource_type: &'static str, path: impl Into<PathBuf>) -> Place {
        Place {
            file: ConfigFile::new(path, HEADER),
            door: None,
            resource_type,
        }
    }

    /// Where the file is (on its host).
    pub(super) fn path(&self) -> &Path {
        self.file.path()
    }

    /// The text [`write`](Self::write) writes for `hsms`, checked by ppin's parser.
    pub(super) fn render(&self, hsms: &[HsmSettings]) -> Result<String, Diagnostics> {
        self.file
            .render(hsms)
            .map_err(|e| invalid(self.resource_type, e))
    }

    /// The text now in the file; `None` when there is no file.
    pub(super) async fn text(&self) -> Result<Option<String>, Diagnostics> {
        let Some(door) = &self.door else {
            return self.file.text().await.map_err(|e| self.file_failure(&e));
        };
        let tool = &door.tool;
        let bytes = tool
            .read_file(self.path())
            .await
            .map_err(|e| self.host_failure(e.into()))?;
        Ok(bytes.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The file read and checked, as every other operation reads it.
    pub(super) async fn read(&self) -> Result<PrimusConfig, String> {
        if self.door.is_none() {
            return self.file.read().await.map_err(|e| e.to_string());
        }
        match self.text().await {
            Ok(Some(text)) => PrimusConfig::parse(&text, self.path()).map_err(|e| e.to_string()),
            Ok(None) => Err(format!("{} does not exist", self.path().display())),
            Err(diags) => Err(diags
                .iter()
                .map(|d| d.detail.clone())
                .collect::<Vec<_>>()
                .join("; ")),
        }
    }

    /// Replaces the file with the text of `hsms`; settings ppin would refuse
    /// to read are refused before anything is written. On a host, the
    /// host's engine reads the new file at once.
    pub(super) async fn write(&self, hsms: &[HsmSettings]) -> Result<(), Diagnostics> {
        let Some(door) = &self.door else {
            return self
                .file
                .write(hsms)
                .await
                .map_err(|e| self.file_failure(&e));
        };
        let text = self.render(hsms)?;
        let tool = &door.tool;
        let replaced = tool
            .replace_file(self.path(), text.as_bytes(), CONFIG_FILE_MODE)
            .await;
        self.changed_on_host(door, replaced).await
    }

    /// Removes the file durably; a file already gone is fine.
    pub(super) async fn remove(&self) -> Result<(), Diagnostics> {
        let Some(door) = &self.door else {
            return self.file.remove().await.map_err(|e| self.file_failure(&e));
        };
        let tool = &door.tool;
        let removed = tool.remove_file(self.path()).await;
        self.changed_on_host(door, removed).await
    }

    /// After a change of the file on the host: its failure, else the
    /// host's engine reads `primus.cfg` again, so the resources planned
    /// after this one see what was written.
    async fn changed_on_host(
        &self,
        door: &HostDoor,
        changed: Result<(), ExternalError>,
    ) -> Result<(), Diagnostics> {
        let reread = match changed {
            Ok(()) => door.engine.reread_config().await,
            Err(e) => Err(e),
        };
        reread.map_err(|e| self.host_failure(e.into()))
    }
}

impl Place {
    fn host_failure(&self, error: PpinError) -> Diagnostics {
        fail(
            &error,
            self.resource_type,
            Some(AttributePath::root("host")),
        )
    }

    /// A failure of `primus.cfg` itself, in the words of the hsm blocks or
    /// the host.
    fn file_failure(&self, error: &ConfigFileError) -> Diagnostics {
        let (summary, path, source) = match error {
            ConfigFileError::Read { path, source } => ("Cannot Read primus.cfg", path, source),
            ConfigFileError::Write { path, source } => ("Cannot Write primus.cfg", path, source),
            ConfigFileError::Remove { path, source } => ("Cannot Remove primus.cfg", path, source),
            ConfigFileError::Invalid(refused) => return invalid(self.resource_type, refused),
            // A failure newer than this provider names the file itself.
            _ => return invalid(self.resource_type, error),
        };
        io_failure(summary, path, source)
    }
}

/// Why the configured HSMs cannot become the `primus.cfg` of a resource
/// of `resource_type`.
pub(super) fn invalid(resource_type: &str, problem: impl std::fmt::Display) -> Diagnostics {
    Diagnostic::error(
        "Invalid primus.cfg Settings",
        format!(
            "{problem}. Fix the hsm blocks of the {resource_type} resource; nothing was written."
        ),
    )
    .at(AttributePath::root("hsm"))
    .into()
}

fn io_failure(summary: &str, path: &Path, error: &io::Error) -> Diagnostics {
    Diagnostic::error(
        summary,
        format!(
            "{}: {error}. Check that the directory exists and that Terraform runs as a user allowed to write \
             it (e.g. a member of the primus group), then apply again.",
            path.display()
        ),
    )
    .into()
}
