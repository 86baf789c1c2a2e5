//! `primus_permanent_secret`: one user's permanent secret in `.secrets.cfg`.
//! Create is `ppin -a`, a new setup password (or `password_wo_version`) is
//! `ppin -u`, destroy is `ppin -r`.

use ppin::{Ppin, PpinError};
use secrets_cfg::{EntryKind, Password};
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    diag::{AttributePath, Diagnostics},
    resource::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ImportRequest,
        ImportResponse, ImportState, ReadRequest, ReadResponse, Resource, UpdateRequest,
        UpdateResponse, ValidateConfig, ValidateRequest,
    },
    schema::{Attribute, Schema, WriteOnlyFallback},
    validators,
    value::{Field, Type},
};

use crate::credentials::{PasswordPair, Supplied, VERSION};
use crate::diagnostics::fail;
use crate::provider::Client;

pub(crate) const TYPE_NAME: &str = "primus_permanent_secret";

/// `status` of a user whose permanent secret is stored, as `ppin -l` prints it.
pub(crate) const CONFIGURED: &str = "Configured";

const SETUP: PasswordPair = PasswordPair {
    plain: "setup_password",
    write_only: "setup_password_wo",
};
const PKCS11: PasswordPair = PasswordPair {
    plain: "pkcs11_password",
    write_only: "pkcs11_password_wo",
};

pub(crate) struct PermanentSecretResource;

/// The attributes of `primus_permanent_secret`.
#[derive(Serialize, Deserialize)]
pub(crate) struct PermanentSecretState {
    id: Option<String>,
    user: String,
    setup_password: Option<Password>,
    pkcs11_password: Option<Password>,
    setup_password_wo: Option<Password>,
    pkcs11_password_wo: Option<Password>,
    password_wo_version: Option<i64>,
    slot_ids: Option<Vec<u32>>,
    status: Option<String>,
}

/// The slot ids of `user` in `primus.cfg`, in file order.
pub(crate) fn slot_ids(ppin: &Ppin, user: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = ppin
        .config()
        .users()
        .iter()
        .filter(|u| u.user_name == user)
        .map(|u| u.slot_id)
        .collect();
    ids.dedup();
    ids
}

impl PermanentSecretState {
    /// The state after the HSM accepted the credentials.
    fn configured(mut self, ppin: &Ppin) -> Self {
        self.id = Some(self.user.clone());
        self.slot_ids = Some(slot_ids(ppin, &self.user));
        self.status = Some(CONFIGURED.to_owned());
        self
    }

    /// Setup and PKCS#11 password from a configuration.
    fn passwords(&self) -> Result<(&Password, &Password), Diagnostics> {
        Ok((
            SETUP.pick(&self.setup_password_wo, &self.setup_password)?,
            PKCS11.pick(&self.pkcs11_password_wo, &self.pkcs11_password)?,
        ))
    }

    /// Whether this state was imported and not yet applied: import cannot
    /// know the passwords, so no credential is recorded.
    fn is_imported(&self) -> bool {
        self.setup_password.is_none() && self.password_wo_version.is_none()
    }
}

/// Whether going from `prior` to `planned` asks for a new permanent secret:
/// a new setup password, or a new version trigger for the write-only one.
fn rotates(prior: &PermanentSecretState, planned: &PermanentSecretState) -> bool {
    let new_setup =
        planned.setup_password.is_some() && planned.setup_password != prior.setup_password;
    let new_version = planned.password_wo_version.is_some()
        && planned.password_wo_version != prior.password_wo_version;
    new_setup || new_version
}

fn user_path() -> Option<AttributePath> {
    Some(AttributePath::root("user"))
}

#[async_trait]
impl Resource<Client> for PermanentSecretResource {
    type State = PermanentSecretState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .markdown_description(
                "The permanent secret of one HSM partition user on this host, stored ciphered in `.secrets.cfg`. \
                 Creating it trades the user's one-time setup password (and PKCS#11 password) for a permanent secret \
                 at the HSM, as `ppin -a` does. A new `setup_password` (or a new `password_wo_version`) has the HSM \
                 issue a new secret, as `ppin -u` does; if that fails the vendor removes the entry: the apply \
                 fails saying so, the resource drops out of the state and the next apply adds it again. Destroying \
                 it removes the entry (`ppin -r`).\n\n\
                 Refreshing checks that the entry is still in `.secrets.cfg` (a removed entry is planned for \
                 creation) and decrypts under the file key (and, with the provider's `verify_login_on_read`, that \
                 the HSM accepts a login with it): an entry that fails authentication is an error, never silently \
                 replaced. A user behind a CloudHSM service proxy needs its `primus_service_proxy_password` first.",
            )
            .attribute(
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .description("The user name; also the import id."),
            )
            .attribute(
                Attribute::required("user", Type::String)
                    .requires_replace()
                    .validator(validators::string_length(1, 256))
                    .markdown_description("The partition user (`user_name` of a slot in `primus.cfg`). Changing it replaces the resource."),
            )
            .attribute(Attribute::optional(SETUP.plain, Type::String).sensitive().markdown_description(
                "The one-time setup password, five groups of five `A-Z`/`0-9` joined by `-`. Its validity starts at \
                 first use (HSM default 3 days, CloudHSM 1 week). A new value rotates the permanent secret. Kept in \
                 the state as a sensitive value; with Terraform 1.11 or later prefer `setup_password_wo`.",
            ))
            .attribute(Attribute::optional(PKCS11.plain, Type::String).sensitive().markdown_description(
                "The user's PKCS#11 password, sent with the setup password. Kept in the state as a sensitive value; \
                 a change alone is recorded without contacting the HSM.",
            ))
            .attribute(
                Attribute::optional(SETUP.write_only, Type::String)
                    .write_only(WriteOnlyFallback::Reject)
                    .markdown_description(
                        "Write-only twin of `setup_password` (Terraform 1.11 or later): never stored in plan or \
                         state. Needs `password_wo_version`; older Terraform versions refuse it.",
                    ),
            )
            .attribute(
                Attribute::optional(PKCS11.write_only, Type::String)
                    .write_only(WriteOnlyFallback::Reject)
                    .markdown_description(
                        "Write-only twin of `pkcs11_password` (Terraform 1.11 or later): never stored in plan or state.",
                    ),
            )
            .attribute(Attribute::optional(VERSION, Type::Number).markdown_description(
                "Rotation trigger: raising it has the HSM issue a new permanent secret (`ppin -u`) with the \
                 configured setup password. Required with the write-only passwords, whose changes Terraform cannot \
                 see; also works with `setup_password` to rotate while the setup password is still valid.",
            ))
            .attribute(
                Attribute::computed("slot_ids", Type::list(Type::Number))
                    .use_state_for_unknown()
                    .markdown_description("The slot ids the user is configured on in `primus.cfg`."),
            )
            .attribute(
                Attribute::computed("status", Type::String)
                    .use_state_for_unknown()
                    .markdown_description("`Configured` while the entry is in `.secrets.cfg`, as `ppin -l` shows it."),
            )
    }

    async fn create(
        &self,
        req: CreateRequest<'_, Client, PermanentSecretState>,
    ) -> Result<CreateResponse<PermanentSecretState>, Diagnostics> {
        let ppin = &req.client.ppin(TYPE_NAME)?;
        let (setup, pkcs11) = req.config.passwords()?;
        let served = ppin
            .add(&req.planned.user, setup, pkcs11)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, path_of(&e)))?;
        tracing::info!(user = %served.user, hsm = %served.hsm, "permanent secret added");
        Ok(CreateResponse::new(req.planned.configured(ppin)))
    }

    async fn read(
        &self,
        req: ReadRequest<'_, Client, PermanentSecretState>,
    ) -> Result<ReadResponse<PermanentSecretState>, Diagnostics> {
        let ppin = &req.client.ppin(TYPE_NAME)?;
        let stored = if req.client.verify_login {
            logs_in(ppin, &req.state.user).await
        } else {
            decrypts(ppin, &req.state.user).await
        };
        // A missing entry means the object is gone; an entry that fails authentication (the file's or the HSM's)
        // must surface as an error, never be replaced behind the user's back.
        if !stored.map_err(|e| fail(&e, TYPE_NAME, user_path()))? {
            tracing::info!(user = %req.state.user, "permanent secret no longer in .secrets.cfg");
            return Ok(ReadResponse::gone());
        }
        Ok(ReadResponse::found(req.state.configured(ppin)).with_private(req.private))
    }

    async fn update(
        &self,
        req: UpdateRequest<'_, Client, PermanentSecretState>,
    ) -> Result<UpdateResponse<PermanentSecretState>, Diagnostics> {
        let ppin = &req.client.ppin(TYPE_NAME)?;
        // After an import the passwords are new to the state, not new to the HSM: record them only.
        if !req.prior.is_imported() && rotates(&req.prior, &req.planned) {
            let (setup, pkcs11) = req.config.passwords()?;
            match ppin.update(&req.planned.user, setup, pkcs11).await {
                Ok(served) => {
                    tracing::info!(user = %served.user, hsm = %served.hsm, "permanent secret updated")
                }
                Err(e) => return Err(fail(&e, TYPE_NAME, path_of(&e))),
            }
        }
        Ok(UpdateResponse::new(req.planned.configured(ppin)))
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, Client, PermanentSecretState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        let removed = req
            .client
            .ppin(TYPE_NAME)?
            .remove(&req.prior.user)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, user_path()))?;
        tracing::info!(user = %req.prior.user, removed, "permanent secret removed");
        Ok(DeleteResponse::new())
    }
}

/// Whether `.secrets.cfg` holds the permanent secret of `user`, checked by
/// decrypting it (AES-GCM authenticates the entry under the file key).
async fn decrypts(ppin: &Ppin, user: &str) -> Result<bool, PpinError> {
    ppin.user(user)?;
    let store = ppin.store().clone();
    let owned = user.to_owned();
    let found = tokio::task::spawn_blocking(move || {
        store.get(EntryKind::User, &owned).map(|s| s.is_some())
    })
    .await;
    match found {
        Ok(Ok(found)) => Ok(found),
        // No file yet (or any more) holds no entry.
        Ok(Err(secrets_cfg::Error::NotFound { .. })) => Ok(false),
        Ok(Err(source)) => Err(PpinError::Secrets {
            user: Some(user.to_owned()),
            source,
        }),
        // A panic in the store is a bug; carry it on rather than hide it.
        Err(join_error) => std::panic::resume_unwind(join_error.into_panic()),
    }
}

/// Whether the HSM accepts a login with the stored permanent secret of `user`
/// (`ppin -t --user`); `false` when there is no stored secret.
async fn logs_in(ppin: &Ppin, user: &str) -> Result<bool, PpinError> {
    match ppin.login(user).await {
        Ok(_) => Ok(true),
        Err(PpinError::NotConfigured { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The attribute an operation's error is about.
fn path_of(error: &PpinError) -> Option<AttributePath> {
    match error.kind() {
        "setup_password_format" | "bad_setup_password" | "setup_password_expired" => {
            Some(AttributePath::root(SETUP.plain))
        }
        "bad_pkcs11_password" => Some(AttributePath::root(PKCS11.plain)),
        "unknown_user" | "already_configured" | "not_configured" => user_path(),
        _ => None,
    }
}

#[async_trait]
impl ImportState<Client> for PermanentSecretResource {
    /// The import id is the user name; `read` checks the entry is there and works.
    async fn import(
        &self,
        req: ImportRequest<'_, Client>,
    ) -> Result<ImportResponse<PermanentSecretState>, Diagnostics> {
        req.client
            .ppin(TYPE_NAME)?
            .user(&req.id)
            .map_err(|e| fail(&e, TYPE_NAME, None))?;
        Ok(ImportResponse::new(PermanentSecretState {
            id: Some(req.id.clone()),
            user: req.id,
            setup_password: None,
            pkcs11_password: None,
            setup_password_wo: None,
            pkcs11_password_wo: None,
            password_wo_version: None,
            slot_ids: None,
            status: None,
        }))
    }
}

/// The attributes validation looks at, typed; unknown values are kept
/// apart from null ones.
#[derive(Default, Deserialize)]
#[serde(default)] // an absent attribute is null
pub(crate) struct PermanentSecretConfig {
    setup_password: Field<Password>,
    setup_password_wo: Field<Password>,
    pkcs11_password: Field<Password>,
    pkcs11_password_wo: Field<Password>,
    password_wo_version: Field<i64>,
}

#[async_trait]
impl ValidateConfig<Client> for PermanentSecretResource {
    type Config = PermanentSecretConfig;

    async fn validate(&self, req: ValidateRequest<PermanentSecretConfig>) -> Diagnostics {
        validate_config(&req.config)
    }
}

/// Password pairs, version trigger, and the setup password's format.
fn validate_config(config: &PermanentSecretConfig) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let setup = Supplied {
        plain: &config.setup_password,
        write_only: &config.setup_password_wo,
        version: &config.password_wo_version,
    };
    SETUP.validate(&setup, &mut diags);
    let pkcs11 = Supplied {
        plain: &config.pkcs11_password,
        write_only: &config.pkcs11_password_wo,
        version: &config.password_wo_version,
    };
    PKCS11.validate(&pkcs11, &mut diags);
    // A malformed setup password is refused here, before it can cost a trial at the HSM.
    for (name, value) in [
        (SETUP.plain, &config.setup_password),
        (SETUP.write_only, &config.setup_password_wo),
    ] {
        let Some(password) = value.known() else {
            continue;
        };
        if let Err(problem) = ppin::check_setup_password(password) {
            diags.attribute_error(
                AttributePath::root(name),
                "Malformed Setup Password",
                format!(
                    "The {name} is malformed: {problem}. A setup password is five groups of five A-Z/0-9 characters \
                     joined by '-' (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX); nothing was sent to the HSM."
                ),
            );
        }
    }
    diags
}

#[cfg(test)]
mod tests;
