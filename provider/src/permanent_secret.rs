//! `primus_permanent_secret`: one user's permanent secret in `.secrets.cfg`.
//! Create is `ppin -a`, a new setup password (or `password_wo_version`) is
//! `ppin -u`, destroy is `ppin -r`.

use ppin::{Fetch, Listing, Ppin, PpinError, PpinErrorKind, SetupCredentials};
use secrets_cfg::{EntryKind, Password};
use serde::{Deserialize, Serialize};
use tfplug::{
    async_trait,
    diag::{AttributePath, Diagnostic, Diagnostics},
    resource::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, ImportRequest,
        ImportResponse, ImportState, ModifyPlan, ModifyPlanRequest, Plan, ReadRequest,
        ReadResponse, Resource, UpdateRequest, UpdateResponse, ValidateConfig, ValidateRequest,
    },
    schema::{Attribute, Schema, WriteOnlyFallback},
    validators,
    value::{from_value, Field, Type, Value},
};

use crate::client::{Client, LoginCheck, CONFIGURED};
use crate::credentials::{PasswordPair, Supplied, VERSION};
use crate::diagnostics::fail;
use crate::host::{
    host_block, host_id, host_id_attribute, import_id, split_import_id, HostConfig, OnHost,
};
use crate::listing::{listed_as_secrets_entries, SecretsEntryResource};
use crate::planning::PlanCheck;

pub(crate) const TYPE_NAME: &str = "primus_permanent_secret";

const SETUP: PasswordPair = PasswordPair {
    plain: "setup_password",
    write_only: "setup_password_wo",
};
const PKCS11: PasswordPair = PasswordPair {
    plain: "pkcs11_password",
    write_only: "pkcs11_password_wo",
};

pub(crate) struct PermanentSecretResource;

// -------------------------------------------------------------- schema

fn schema() -> Schema {
    Schema::new()
        .markdown_description(
            "The permanent secret of one HSM partition user on this host, stored ciphered in `.secrets.cfg`. \
             Creating it trades the user's one-time setup password (and PKCS#11 password) for a permanent secret \
             at the HSM, as `ppin -a` does. A new `setup_password` (or a new `password_wo_version`) has the HSM \
             issue a new secret, as `ppin -u` does; if that fails the vendor removes the entry: the apply \
             fails saying so, the resource stays in the state until the next refresh (Terraform keeps the \
             prior state on an error), which finds the entry gone and plans to create it again. Destroying \
             it removes the entry (`ppin -r`).\n\n\
             Creating adopts an entry that is already in `.secrets.cfg` and decrypts under the file key (for \
             example one written by an apply that was killed before Terraform saved its state): the resource \
             records it with the warning \"Adopted The Existing Entry\", fetches no new secret and spends no \
             setup password trial, so a re-apply after an interruption converges without `terraform import`. \
             `verify_login_on_adopt` adds a login at the HSM.\n\n\
             The passwords are needed only to create an entry that is not stored yet or to rotate one: a \
             configuration naming only `user` adopts the stored entry, which is how hosts onboarded by hand with \
             `ppin` come under Terraform (import, or `terraform query -generate-config-out`), with no HSM \
             request. Without a setup password, a user with no entry fails the plan when `.secrets.cfg` already \
             tells, else the apply, before the HSM is contacted. See the guides [Adopting hosts onboarded with \
             ppin](../guides/adopting-hosts.md) and [Rotating secrets](../guides/rotating-secrets.md).\n\n\
             Before it contacts the HSM, a create or a rotation checks that the new secret can be stored: \
             `.secrets.cfg` is a regular file or absent, its directory exists and is writable, the lock can be \
             taken, the key is present, readable, well formed and not open to other users (mode 0640 at most; \
             new files and keys are made 0640). A plan that creates or rotates runs the same checks, without \
             contacting the HSM, and shows a warning naming what to fix. If the HSM issued or replaced a secret \
             that still could not be written (a full disk at the last moment), the apply says so: that secret is \
             lost and a new setup password is needed.\n\n\
             Refreshing checks that the entry is still in `.secrets.cfg` (a removed entry is planned for \
             creation) and decrypts under the file key (and, with the provider's `verify_login_on_read`, that \
             the HSM accepts a login with it): an entry that fails authentication is an error, never silently \
             replaced. A user behind a CloudHSM service proxy needs its `primus_service_proxy_password` first.",
        )
        .attribute(
            Attribute::computed("id", Type::String)
                .use_state_for_unknown()
                .markdown_description(
                    "The user name on this machine, `ssh://ADDRESS:PORT/USER` on a host; also the import id.",
                ),
        )
        .attribute(
            Attribute::required("user", Type::String)
                .requires_replace()
                .validator(validators::string_length(1, 256))
                .markdown_description("The partition user (`user_name` of a slot in `primus.cfg`). Changing it replaces the resource."),
        )
        .attribute(Attribute::optional(SETUP.plain, Type::String).sensitive().markdown_description(
            "The one-time setup password, five groups of five `A-Z`/`0-9` joined by `-`. Its validity starts at \
             first use (HSM default 3 days, CloudHSM 1 week). Needed to create an entry that is not stored yet; \
             leave it unset to adopt a stored one. A new value rotates the permanent secret. Set it together \
             with the PKCS#11 password. Kept in the state as a sensitive value; with Terraform 1.11 or later \
             prefer `setup_password_wo`.",
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
             see; also works with `setup_password` to rotate while the setup password is still valid. Refused \
             without a setup password.",
        ))
        .attribute(Attribute::optional("verify_login_on_adopt", Type::Bool).markdown_description(
            "When create adopts an entry already in `.secrets.cfg`, also log in at the HSM with it and fail the \
             apply if the HSM refuses it (a refused login counts one API-login trial). Default: `false`: \
             adoption only checks that the entry decrypts under the file key, without contacting the HSM.",
        ))
        .block(host_block())
        .attribute(host_id_attribute())
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

// --------------------------------------------------------- state types

/// The attributes of `primus_permanent_secret`.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct PermanentSecretState {
    id: Option<String>,
    user: String,
    setup_password: Option<Password>,
    pkcs11_password: Option<Password>,
    setup_password_wo: Option<Password>,
    pkcs11_password_wo: Option<Password>,
    password_wo_version: Option<i64>,
    verify_login_on_adopt: Option<bool>,
    host: Option<HostConfig>,
    host_id: Option<String>,
    slot_ids: Option<Vec<u32>>,
    status: Option<String>,
}

impl PermanentSecretState {
    /// What an import of `user` on `host` knows before `read`: the names,
    /// no password.
    fn imported(user: String, host: Option<HostConfig>) -> Self {
        let host_id = host_id(host.as_ref());
        PermanentSecretState {
            id: Some(import_id(host_id.as_deref(), &user)),
            host_id,
            user,
            host,
            ..Default::default()
        }
    }

    /// The state after the HSM accepted the credentials.
    fn configured(mut self, ppin: &Ppin) -> Self {
        self.host_id = host_id(self.host.as_ref());
        self.id = Some(import_id(self.host_id.as_deref(), &self.user));
        self.slot_ids = Some(ppin.slot_ids(&self.user).unwrap_or_default());
        self.status = Some(CONFIGURED.to_owned());
        self
    }

    /// Setup and PKCS#11 password from a configuration; `None` when it
    /// sets no setup password (validation refuses one without the other).
    fn credentials(&self) -> Option<SetupCredentials> {
        let setup = SETUP.pick(&self.setup_password_wo, &self.setup_password)?;
        let pkcs11 = PKCS11.pick(&self.pkcs11_password_wo, &self.pkcs11_password)?;
        Some(SetupCredentials::new(setup.clone(), pkcs11.clone()))
    }

    /// Whether this state records no credential: imported (import cannot
    /// know the passwords), or adopted by a create without passwords.
    /// Passwords added to such a state are recorded, not sent: nobody asked
    /// for a rotation.
    fn is_imported(&self) -> bool {
        self.setup_password.is_none() && self.password_wo_version.is_none()
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

impl PermanentSecretConfig {
    fn setup(&self) -> Supplied<'_> {
        Supplied {
            plain: &self.setup_password,
            write_only: &self.setup_password_wo,
            version: &self.password_wo_version,
        }
    }

    fn pkcs11(&self) -> Supplied<'_> {
        Supplied {
            plain: &self.pkcs11_password,
            write_only: &self.pkcs11_password_wo,
            version: &self.password_wo_version,
        }
    }
}

impl OnHost for PermanentSecretState {
    fn host(&self) -> Option<&HostConfig> {
        self.host.as_ref()
    }
}

// ------------------------------------------------------- resource impl

#[async_trait]
impl Resource<Client> for PermanentSecretResource {
    type State = PermanentSecretState;

    fn type_name(&self) -> &str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn create(
        &self,
        req: CreateRequest<'_, Client, PermanentSecretState>,
    ) -> Result<CreateResponse<PermanentSecretState>, Diagnostics> {
        let ppin = req
            .client
            .ppin(TYPE_NAME, req.planned.host.as_ref())
            .await?;
        let user = &req.planned.user;
        // An entry written by an apply that was killed before Terraform saved its state: adopt it, spending no trial.
        let stored = ppin
            .verify_stored(user)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, user_path()))?;
        if stored {
            if req.planned.verify_login_on_adopt == Some(true) {
                ppin.login(user)
                    .await
                    .map_err(|e| fail(&e, TYPE_NAME, user_path()))?;
            }
            tracing::info!(user = %user, "existing permanent secret adopted");
            let warning = adopted_warning(user);
            return Ok(CreateResponse::new(req.planned.configured(&ppin)).with_warning(warning));
        }
        let Some(credentials) = req.config.credentials() else {
            return Err(nothing_to_adopt(&ppin, user));
        };
        let served = ppin
            .add(user, &credentials)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, path_of(&e)))?;
        tracing::info!(user = %served.user, hsm = ?served.hsm, "permanent secret added");
        Ok(CreateResponse::new(req.planned.configured(&ppin)))
    }

    async fn read(
        &self,
        req: ReadRequest<'_, Client, PermanentSecretState>,
    ) -> Result<ReadResponse<PermanentSecretState>, Diagnostics> {
        let ppin = req.client.ppin(TYPE_NAME, req.state.host.as_ref()).await?;
        let stored = match req.client.login_check() {
            LoginCheck::AtTheHsm => logs_in(&ppin, &req.state.user).await,
            LoginCheck::FileOnly => ppin.verify_stored(&req.state.user).await,
        };
        // A missing entry means the object is gone; an entry that fails authentication (the file's or the HSM's)
        // must surface as an error, never be replaced behind the user's back.
        if !stored.map_err(|e| fail(&e, TYPE_NAME, user_path()))? {
            tracing::info!(user = %req.state.user, "permanent secret no longer in .secrets.cfg");
            return Ok(ReadResponse::gone());
        }
        Ok(ReadResponse::found(req.state.configured(&ppin)).with_private(req.private))
    }

    async fn update(
        &self,
        req: UpdateRequest<'_, Client, PermanentSecretState>,
    ) -> Result<UpdateResponse<PermanentSecretState>, Diagnostics> {
        let ppin = req
            .client
            .ppin(TYPE_NAME, req.planned.host.as_ref())
            .await?;
        // After an import the passwords are new to the state, not new to the HSM: record them only.
        if !req.prior.is_imported() && rotates(&req.prior, &req.planned) {
            let Some(credentials) = req.config.credentials() else {
                return Err(SETUP.missing(format!(
                    "Rotating the permanent secret of user '{}' needs a new {}.",
                    req.planned.user,
                    SETUP.spelled()
                )));
            };
            match ppin.update(&req.planned.user, &credentials).await {
                Ok(served) => {
                    tracing::info!(user = %served.user, hsm = ?served.hsm, "permanent secret updated")
                }
                Err(e) => return Err(fail(&e, TYPE_NAME, path_of(&e))),
            }
        }
        Ok(UpdateResponse::new(req.planned.configured(&ppin)))
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, Client, PermanentSecretState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        let removed = req
            .client
            .ppin(TYPE_NAME, req.prior.host.as_ref())
            .await?
            .remove(&req.prior.user)
            .await
            .map_err(|e| fail(&e, TYPE_NAME, user_path()))?;
        tracing::info!(user = %req.prior.user, removed, "permanent secret removed");
        Ok(DeleteResponse::new())
    }
}

#[async_trait]
impl ImportState<Client> for PermanentSecretResource {
    /// The import id is the user name, `ssh://ADDRESS[:PORT]/USER` on a
    /// host; `read` checks the entry is there and works.
    async fn import(
        &self,
        req: ImportRequest<'_, Client>,
    ) -> Result<ImportResponse<PermanentSecretState>, Diagnostics> {
        let (host, user) = split_import_id(&req.id, false)?;
        req.client
            .ppin(TYPE_NAME, host.as_ref())
            .await?
            .user(&user)
            .map_err(|e| fail(&e, TYPE_NAME, None))?;
        let state = PermanentSecretState::imported(user, host);
        Ok(ImportResponse::new(state))
    }
}

#[async_trait]
impl ValidateConfig<Client> for PermanentSecretResource {
    type Config = PermanentSecretConfig;

    async fn validate(&self, req: ValidateRequest<PermanentSecretConfig>) -> Diagnostics {
        validate_config(&req.config)
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

/// Whether the HSM accepts a login with the stored permanent secret of `user`
/// (`ppin -t --user`); `false` when there is no stored secret.
async fn logs_in(ppin: &Ppin, user: &str) -> Result<bool, PpinError> {
    match ppin.login(user).await {
        Ok(_) => Ok(true),
        Err(PpinError::NotConfigured { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The warning of a create that found the user's entry already stored.
fn adopted_warning(user: &str) -> Diagnostic {
    Diagnostic::warning(
        "Adopted The Existing Entry",
        format!(
            "User '{user}' already had a permanent secret in .secrets.cfg that decrypts under the file key \
             (left by an interrupted apply, or added by hand), so Terraform adopted the existing entry: no new \
             secret was fetched and no setup password trial was spent. Nothing to do if this entry is the one \
             you want; to have the HSM issue a new one, change password_wo_version (or set a new \
             setup_password) and apply again. Set verify_login_on_adopt = true to also log in with it at the \
             HSM when adopting."
        ),
    )
    .at(AttributePath::root("user"))
}

/// The error of a create that has no setup password for a user with no
/// entry to adopt: it would have to fetch a secret and cannot.
fn nothing_to_adopt(ppin: &Ppin, user: &str) -> Diagnostics {
    SETUP.missing(format!(
        "User '{user}' has no permanent secret in {store} to adopt, so creating it fetches a new one and needs the \
         user's one-time {setup} and {pkcs11}. Set them, or onboard the user on this host with `ppin -a -e {user}` \
         so that Terraform adopts the entry; nothing was sent to the HSM.",
        store = ppin.secrets_file().display(),
        setup = SETUP.spelled(),
        pkcs11 = PKCS11.spelled(),
    ))
}

fn user_path() -> Option<AttributePath> {
    Some(AttributePath::root("user"))
}

/// The attribute an operation's error is about.
fn path_of(error: &PpinError) -> Option<AttributePath> {
    match error.kind() {
        PpinErrorKind::SetupPasswordFormat
        | PpinErrorKind::BadSetupPassword
        | PpinErrorKind::SetupPasswordExpired => Some(AttributePath::root(SETUP.plain)),
        PpinErrorKind::BadPkcs11Password => Some(AttributePath::root(PKCS11.plain)),
        PpinErrorKind::UserNotInConfig
        | PpinErrorKind::UnknownToHsm
        | PpinErrorKind::AlreadyConfigured
        | PpinErrorKind::NotConfigured => user_path(),
        // Every other kind is about the files, the network or the HSM as a whole, not one attribute.
        _ => None,
    }
}

/// Password pairs (none at all adopts the stored entry), the version
/// trigger, and the setup password's format.
fn validate_config(config: &PermanentSecretConfig) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let (setup, pkcs11) = (config.setup(), config.pkcs11());
    SETUP.validate(&setup, &mut diags);
    PKCS11.validate(&pkcs11, &mut diags);
    SETUP.validate_together(&setup, (&PKCS11, &pkcs11), &mut diags);
    SETUP.validate_version(&setup, &mut diags);
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

// --------------------------------------------------- plan modification

#[async_trait]
impl ModifyPlan<Client> for PermanentSecretResource {
    /// A create or a rotation is checked as the apply checks it before
    /// contacting the HSM, without contacting it: a user missing from
    /// `primus.cfg`, or a create with no setup password for a user whose
    /// entry `.secrets.cfg` does not hold, fails the plan; a `.secrets.cfg`
    /// or key that cannot take the secret is a warning.
    async fn modify_plan(&self, req: ModifyPlanRequest<'_, Client>) -> Result<Plan, Diagnostics> {
        let Some(mut check) = PlanCheck::<PermanentSecretState>::open(&req, TYPE_NAME).await?
        else {
            return Ok(req.plan);
        };
        let fetch = if req.prior.is_null() {
            if !sets_setup_password(&req.config) {
                check_adoptable(&mut check).await?;
                return Ok(check.into_plan(req.plan));
            }
            Fetch::Add
        } else {
            match from_value::<PermanentSecretState>(&req.prior) {
                Ok(prior) if !prior.is_imported() && rotates(&prior, &check.planned) => {
                    Fetch::Update
                }
                _ => return Ok(check.into_plan(req.plan)),
            }
        };
        let checked = check
            .ppin
            .check_before_fetch(&check.planned.user, fetch)
            .await;
        let path = checked.as_ref().err().and_then(path_of);
        check.preflight(checked, path).await?;
        Ok(check.into_plan(req.plan))
    }
}

/// Whether a configuration sets a setup password (an unknown one counts).
fn sets_setup_password(config: &Value) -> bool {
    from_value::<PermanentSecretConfig>(config).map_or(true, |c| c.setup().is_set())
}

/// A create without a setup password can only adopt the stored entry: fails
/// when the user is not in `primus.cfg` or `.secrets.cfg` tells it holds no
/// entry for it.
async fn check_adoptable(
    check: &mut PlanCheck<'_, PermanentSecretState>,
) -> Result<(), Diagnostics> {
    let user = check.planned.user.clone();
    check
        .ppin
        .user(&user)
        .map_err(|e| fail(&e, TYPE_NAME, user_path()))?;
    check
        .adoptable(EntryKind::User, &user, user_path(), |ppin| {
            nothing_to_adopt(ppin, &user)
        })
        .await
}

// ------------------------------------------------ identity and listing

impl SecretsEntryResource for PermanentSecretResource {
    const TYPE_NAME: &'static str = TYPE_NAME;
    const NAME_ATTRIBUTE: &'static str = "user";
    const NAME_DESCRIPTION: &'static str = "The partition user whose permanent secret this is.";

    /// The users whose permanent secret is stored on `host`.
    fn stored(
        listing: Listing,
        ppin: &Ppin,
        host: Option<&HostConfig>,
    ) -> Vec<(String, PermanentSecretState)> {
        listing
            .users
            .into_iter()
            .filter(|u| u.configured)
            .map(|u| {
                let state =
                    PermanentSecretState::imported(u.user.clone(), host.cloned()).configured(ppin);
                (u.user, state)
            })
            .collect()
    }

    /// An import's `read` decrypts the entry (`verify_stored`).
    async fn check_opens(ppin: &Ppin, user: &str) -> Result<(), PpinError> {
        ppin.verify_stored(user).await.map(drop)
    }
}

listed_as_secrets_entries!(PermanentSecretResource);

#[cfg(test)]
mod tests;
