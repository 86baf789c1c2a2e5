//! `primus_config`: the host's `primus.cfg` (the HSMs and the slot users
//! they serve) as code, so a CloudHSM onboarding module can write the
//! connection settings and onboard users in the same apply.
//!
//! The file is rendered and checked by ppin's own parser before anything
//! touches the disk, so what is written is exactly what every other
//! resource then reads; [`place`] writes it on this machine or on the
//! resource's host. This module holds the schema and the Terraform wording.

mod place;

use std::path::{Path, PathBuf};

use ppin::{HsmSettings, PrimusConfig, SlotSettings};
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    diag::{AttributePath, Diagnostic, Diagnostics},
    resource::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, Identity, IdentityAttribute,
        IdentitySchema, IdentityValue, ImportRequest, ImportResponse, ImportState, ModifyPlan,
        ModifyPlanRequest, Plan, ReadRequest, ReadResponse, Resource, UpdateRequest,
        UpdateResponse, ValidateConfig, ValidateRequest,
    },
    schema::{Attribute, Block, NestedBlock, Nesting, Schema},
    validators,
    value::{from_value, Field, Type, Value},
};

use crate::client::{Client, ConfigWrite};
use crate::host::{host_block, host_id, host_id_attribute, import_id, split_import_id, HostConfig};
use place::{invalid, Place};

pub(crate) const TYPE_NAME: &str = "primus_config";

pub(crate) struct PrimusConfigResource;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    let slot = Block::new()
        .markdown_description("A slot of the HSM and the partition user it belongs to.")
        .attribute(string_attribute(
            "user_name",
            true,
            "The partition user (`user_name`); also its key in `.secrets.cfg` and the `user` of its \
             `primus_permanent_secret`. Redundant HSMs serving the same user must give it the same `id` and \
             `proxy_user`.",
        ))
        .attribute(
            Attribute::required("id", Type::Number)
                .validator(validators::int_between(0, i64::from(u32::MAX)))
                .markdown_description("The slot id (`id`)."),
        )
        .attribute(string_attribute(
            "proxy_user",
            false,
            "The CloudHSM service proxy user in front of this slot (`proxy_user`); its password is a \
             `primus_service_proxy_password`.",
        ));
    let hsm = Block::new()
        .markdown_description("An HSM (`primus.hsms.<name>`) and the slots it serves.")
        .attribute(string_attribute(
            "name",
            true,
            "The HSM's setting name in the file, e.g. `hsm0` (letters, digits, `-`, `_` and `*`, starting with \
             a letter or `*`); unique per resource. Another name is refused when the configuration is \
             validated.",
        ))
        .attribute(string_attribute("host", true, "Host name or IP address of the HSM."))
        .attribute(
            Attribute::required("port", Type::Number)
                .validator(validators::int_between(1, 65535))
                .markdown_description("TCP port of the HSM (written as the vendor does, e.g. `port = \"2310\";`)."),
        )
        .attribute(string_attribute(
            "ca_file",
            false,
            "PEM file of the CA that signed the HSM's TLS certificate (key `ca_file`, read by this provider and \
             `ppin`); a relative path is relative to the directory of the file.",
        ))
        .attribute(
            Attribute::optional("priority", Type::Number).markdown_description(
                "Among the redundant HSMs of a slot user, lower numbers are tried first (the vendor's key \
                 `priority`). Default: 0, the highest; equal priorities keep the blocks' order.",
            ),
        )
        .block(NestedBlock::new("slot", Nesting::List, slot));
    Schema::new()
        .markdown_description(
            "The host's `primus.cfg`: the HSMs and the slot users they serve, in the vendor's libconfig shape \
             (`primus: { hsms: { <name>: { host; port; slots: { ... } } } }`). A CloudHSM onboarding module \
             writes it first, then the `primus_service_proxy_password` and `primus_permanent_secret` resources \
             that depend on it read it in the same apply (the provider reads `primus.cfg` on first use and \
             again whenever it changed).\n\n\
             The file is checked with the parser every other operation uses before anything is written, then \
             replaced atomically (temporary file, fsync, rename) with mode `0640`. Refreshing reads it back: a \
             removed file is planned for creation, a changed one for an update that writes it again. Creating \
             refuses to take over an existing file: import it by its path (see the guide [Adopting hosts \
             onboarded with ppin](../guides/adopting-hosts.md)). Destroying removes the file.\n\n\
             A resource that depends on it (`depends_on`) is planned against the file this apply writes: a user \
             the file will serve passes the plan's checks even while the file on disk lacks it. See the guide \
             [CloudHSM onboarding](../guides/cloudhsm-onboarding.md).",
        )
        .attribute(
            Attribute::computed("id", Type::String)
                .use_state_for_unknown()
                .markdown_description(
                    "The path of the file on this machine, `ssh://ADDRESS:PORT/PATH` on a host; also the import id.",
                ),
        )
        .block(host_block())
        .attribute(host_id_attribute())
        .attribute(
            Attribute::optional_computed("path", Type::String)
                .requires_replace()
                .use_state_for_unknown()
                .markdown_description(
                    "Where to write the file. Default: the provider's `config_file`, else \
                     `$SECUROSYS_PKCS11_CONF`, else `/etc/primus/primus.cfg` (or \
                     `/usr/local/primus/etc/primus.cfg` where that exists). Its directory must exist. Changing \
                     it replaces the resource.",
                ),
        )
        .block(NestedBlock::new("hsm", Nesting::List, hsm).items(1, 0))
}

fn string_attribute(name: &str, required: bool, description: &str) -> Attribute {
    let attribute = if required {
        Attribute::required(name, Type::String).validator(validators::string_length(1, 1024))
    } else {
        Attribute::optional(name, Type::String)
    };
    attribute.markdown_description(description)
}

// --------------------------------------------------------- state types

/// The attributes of `primus_config`.
#[derive(Serialize, Deserialize)]
pub(crate) struct PrimusConfigState {
    id: Option<String>,
    path: Option<String>,
    host: Option<HostConfig>,
    host_id: Option<String>,
    #[serde(default)]
    hsm: Vec<HsmBlock>,
}

/// One `hsm` block: an HSM and the slots it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HsmBlock {
    name: String,
    host: String,
    port: i64,
    ca_file: Option<String>,
    priority: Option<i64>,
    #[serde(default)]
    slot: Vec<SlotBlock>,
}

/// One `slot` block inside an `hsm` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SlotBlock {
    user_name: String,
    id: i64,
    proxy_user: Option<String>,
}

impl PrimusConfigState {
    /// The state of the file at `path` on `host` holding `hsms`.
    fn written(path: &Path, host: Option<HostConfig>, hsms: Vec<HsmBlock>) -> Self {
        let path = path.display().to_string();
        let host_id = host_id(host.as_ref());
        PrimusConfigState {
            id: Some(import_id(host_id.as_deref(), &path)),
            path: Some(path),
            host,
            host_id,
            hsm: hsms,
        }
    }
}

impl HsmBlock {
    /// The block in ppin's words; numbers out of range are refused (the
    /// validators already refused them in the configuration).
    fn settings(&self) -> Result<HsmSettings, Diagnostics> {
        let port = u16::try_from(self.port).map_err(|_| {
            invalid(
                TYPE_NAME,
                format_args!(
                    "primus.hsms.{}.port: {} is not a TCP port (1-65535)",
                    self.name, self.port
                ),
            )
        })?;
        let mut hsm = HsmSettings::new(&self.name, &self.host, port);
        hsm.ca_file = self.ca_file.clone();
        hsm.priority = self.priority;
        for slot in &self.slot {
            let slot_id = u32::try_from(slot.id).map_err(|_| {
                invalid(
                    TYPE_NAME,
                    format_args!(
                        "primus.hsms.{}: slot id {} is out of range (0-{})",
                        self.name,
                        slot.id,
                        u32::MAX
                    ),
                )
            })?;
            let mut settings = SlotSettings::new(&slot.user_name, slot_id);
            settings.proxy_user = slot.proxy_user.clone();
            hsm.slots.push(settings);
        }
        Ok(hsm)
    }
}

/// The `hsm` blocks as validation sees them: only their names.
#[derive(Default, Deserialize)]
#[serde(default)] // an absent attribute is null
pub(crate) struct PrimusConfigConfig {
    hsm: Field<Vec<HsmNameConfig>>,
}

/// The `name` of one `hsm` block, possibly unknown.
#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct HsmNameConfig {
    name: Field<String>,
}

// ------------------------------------------------------- resource impl

#[async_trait]
impl Resource<Client> for PrimusConfigResource {
    type State = PrimusConfigState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(
        &self,
        req: CreateRequest<'_, Client, PrimusConfigState>,
    ) -> Result<CreateResponse<PrimusConfigState>, Diagnostics> {
        let host = req.planned.host;
        let path = match req.planned.path {
            Some(path) => PathBuf::from(path),
            None => req.client.config_path(TYPE_NAME, host.as_ref()).await?,
        };
        let place = Place::of(req.client, TYPE_NAME, host.as_ref(), path).await?;
        // Terraform must not silently take over (and later delete) a file someone else wrote.
        if place.text().await?.is_some() {
            let id = import_id(
                host_id(host.as_ref()).as_deref(),
                &place.path().display().to_string(),
            );
            return Err(Diagnostic::error(
                "primus.cfg Already Exists",
                format!(
                    "{p} already exists. Import it with `terraform import {TYPE_NAME}.<name> {id}` to manage it with \
                     Terraform, or remove it and apply again.",
                    p = place.path().display()
                ),
            )
            .at(AttributePath::root("path"))
            .into());
        }
        Ok(CreateResponse::new(
            store(&place, host, req.planned.hsm).await?,
        ))
    }

    async fn read(
        &self,
        req: ReadRequest<'_, Client, PrimusConfigState>,
    ) -> Result<ReadResponse<PrimusConfigState>, Diagnostics> {
        let mut state = req.state;
        let Some(path) = state.path.clone() else {
            return Ok(ReadResponse::gone());
        };
        let place = Place::of(req.client, TYPE_NAME, state.host.as_ref(), path).await?;
        let Some(text) = place.text().await? else {
            tracing::info!(path = %place.path().display(), "primus.cfg no longer exists");
            return Ok(ReadResponse::gone());
        };
        // Unchanged since the last write: nothing to re-derive.
        let unchanged = settings(&state.hsm).and_then(|hsms| place.render(&hsms));
        if unchanged.ok().as_deref() != Some(text.as_str()) {
            state.hsm = match PrimusConfig::parse(&text, place.path()) {
                Ok(config) => blocks_of(&config, &state.hsm),
                // A file ppin cannot read describes no HSM; the plan writes it again.
                Err(e) => {
                    tracing::warn!(error = %e, "primus.cfg is invalid");
                    Vec::new()
                }
            };
        }
        Ok(ReadResponse::found(state).with_private(req.private))
    }

    async fn update(
        &self,
        req: UpdateRequest<'_, Client, PrimusConfigState>,
    ) -> Result<UpdateResponse<PrimusConfigState>, Diagnostics> {
        // `path` and the host's address force replacement, so the prior path is the file to write.
        let host = req.planned.host;
        let path = match req.prior.path.or(req.planned.path) {
            Some(path) => PathBuf::from(path),
            None => req.client.config_path(TYPE_NAME, host.as_ref()).await?,
        };
        let place = Place::of(req.client, TYPE_NAME, host.as_ref(), path).await?;
        Ok(UpdateResponse::new(
            store(&place, host, req.planned.hsm).await?,
        ))
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, Client, PrimusConfigState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        if let Some(path) = req.prior.path {
            let place = Place::of(req.client, TYPE_NAME, req.prior.host.as_ref(), path).await?;
            place.remove().await?;
            tracing::info!(path = %place.path().display(), "primus.cfg removed");
        }
        Ok(DeleteResponse::new())
    }
}

#[async_trait]
impl ImportState<Client> for PrimusConfigResource {
    /// The import id is the file's path, `ssh://ADDRESS[:PORT]/PATH` on a
    /// host; the file must be a valid `primus.cfg`.
    async fn import(
        &self,
        req: ImportRequest<'_, Client>,
    ) -> Result<ImportResponse<PrimusConfigState>, Diagnostics> {
        let (host, path) = split_import_id(&req.id, true)?;
        let place = Place::of(req.client, TYPE_NAME, host.as_ref(), &path).await?;
        let config = place.read().await.map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot Import primus.cfg",
                format!("{e}. Give the path of a valid primus.cfg as the import id."),
            ))
        })?;
        let state = PrimusConfigState::written(Path::new(&path), host, blocks_of(&config, &[]));
        Ok(ImportResponse::new(state))
    }
}

#[async_trait]
impl ValidateConfig<Client> for PrimusConfigResource {
    type Config = PrimusConfigConfig;

    /// Refuses an HSM name `primus.cfg` cannot hold, at `hsm[i].name`,
    /// before any plan.
    async fn validate(&self, req: ValidateRequest<PrimusConfigConfig>) -> Diagnostics {
        validate_names(&req.config)
    }
}

/// The settings of `hsms`, in ppin's words.
fn settings(hsms: &[HsmBlock]) -> Result<Vec<HsmSettings>, Diagnostics> {
    hsms.iter().map(HsmBlock::settings).collect()
}

/// Writes `hsms` at `place` (on `host`) and returns the state that describes it.
async fn store(
    place: &Place,
    host: Option<HostConfig>,
    hsms: Vec<HsmBlock>,
) -> Result<PrimusConfigState, Diagnostics> {
    place.write(&settings(&hsms)?).await?;
    tracing::info!(path = %place.path().display(), hsms = hsms.len(), "primus.cfg written");
    Ok(PrimusConfigState::written(place.path(), host, hsms))
}

/// The `hsm` blocks that describe `config`. Where the file says what
/// `prior` says in other words (a relative `ca_file`, the default
/// `priority`), `prior`'s words are kept so an unchanged file plans nothing.
fn blocks_of(config: &PrimusConfig, prior: &[HsmBlock]) -> Vec<HsmBlock> {
    let dir = parent_dir(config.path());
    config
        .hsms()
        .iter()
        .map(|hsm| {
            let before = prior.iter().find(|p| p.name == hsm.name);
            let ca_file = hsm.ca_file.as_ref().map(|resolved| {
                before
                    .and_then(|p| p.ca_file.clone())
                    .filter(|written| dir.join(written) == *resolved)
                    .unwrap_or_else(|| resolved.display().to_string())
            });
            // The vendor's default priority is 0, the highest.
            let default_priority = hsm.priority == 0;
            let priority = if default_priority && before.is_none_or(|p| p.priority.is_none()) {
                None
            } else {
                Some(hsm.priority)
            };
            let slot = config
                .users()
                .iter()
                .filter(|user| user.hsms.iter().any(|h| h.name == hsm.name))
                // A user may sit in several slots of an HSM.
                .flat_map(|user| {
                    user.slot_ids.iter().map(|&id| SlotBlock {
                        user_name: user.user_name.clone(),
                        id: i64::from(id),
                        proxy_user: user.proxy_user.clone(),
                    })
                })
                .collect();
            HsmBlock {
                name: hsm.name.clone(),
                host: hsm.host.clone(),
                port: i64::from(hsm.port),
                ca_file,
                priority,
                slot,
            }
        })
        .collect()
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// An error at `hsm[i].name` for each known name `primus.cfg` cannot hold.
fn validate_names(config: &PrimusConfigConfig) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let hsms = config.hsm.known().map(Vec::as_slice).unwrap_or_default();
    for (index, hsm) in (0_i64..).zip(hsms) {
        let Some(name) = hsm.name.known() else {
            continue;
        };
        if !HsmSettings::is_valid_name(name) {
            diags.attribute_error(
                AttributePath::root("hsm").index(index).attr("name"),
                "Invalid HSM Name",
                format!(
                    "{name:?} cannot name an HSM in primus.cfg (primus.hsms.<name>): use letters, digits, `-`, `_` \
                     and `*`, starting with a letter or `*`, e.g. \"hsm0\". Nothing was written."
                ),
            );
        }
    }
    diags
}

// --------------------------------------------------- plan modification

#[async_trait]
impl ModifyPlan<Client> for PrimusConfigResource {
    /// Records the file a create or an update writes, so the resources that
    /// read it (planned after this one, as they depend on it) check their
    /// users against the file this apply writes rather than the one on disk.
    async fn modify_plan(&self, req: ModifyPlanRequest<'_, Client>) -> Result<Plan, Diagnostics> {
        let plan = req.plan;
        let Some(client) = req.client else {
            return Ok(plan);
        };
        if plan.planned().is_null() || *plan.planned() == req.prior {
            return Ok(plan);
        }
        let host = req.config.attr("host");
        let known = host.is_wholly_known();
        let Some(host) = known
            .then(|| from_value::<Option<HostConfig>>(host).ok())
            .flatten()
        else {
            client.expect_config_write(ConfigWrite::Unknown);
            return Ok(plan);
        };
        let host = host.as_ref();
        let write = match (req.config.attr("path"), req.prior.attr("path").as_str()) {
            (Value::Unknown, _) => ConfigWrite::Unknown,
            (Value::String(path), _) => ConfigWrite::at(host, Path::new(path.as_str())),
            (_, Some(prior)) => ConfigWrite::at(host, Path::new(prior)),
            _ => match client.config_path(TYPE_NAME, host).await {
                Ok(path) => ConfigWrite::at(host, &path),
                // The host cannot be reached now: the apply will say why; any file may be written.
                Err(_) => ConfigWrite::Unknown,
            },
        };
        client.expect_config_write(write);
        Ok(plan)
    }
}

// ------------------------------------------------ identity and listing

/// The identity is `{ path, host_id }`, the file it writes and its host.
/// There is no `list` block: nothing enumerates the `primus.cfg` files of a
/// host.
impl Identity<Client> for PrimusConfigResource {
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new()
            .attribute(
                IdentityAttribute::required("path", Type::String)
                    .description("The path of the primus.cfg file on its host."),
            )
            .attribute(
                IdentityAttribute::optional("host_id", Type::String).description(
                    "The host as ADDRESS:PORT; unset for the machine Terraform runs on.",
                ),
            )
    }

    fn import_id(&self, identity: &IdentityValue<'_>) -> Result<String, Diagnostics> {
        let path = identity.get("path").as_str().unwrap_or_default();
        Ok(import_id(identity.get("host_id").as_str(), path))
    }
}

#[cfg(test)]
mod tests;
