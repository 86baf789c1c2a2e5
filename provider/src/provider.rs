//! The `provider "primus"` block: where `primus.cfg`, `.secrets.cfg` and its
//! key are, and the network limits. Every argument is optional; the vendor's
//! environment variables and default paths fill the gaps.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ppin::{BuiltinEngine, Engine, ExternalEngine, Ppin, Timeouts};
use secrets_cfg::KeySource;
use serde::Deserialize;
use tfplug::{
    action,
    action::ActionEntry,
    async_trait, data_source,
    data_source::DataSourceEntry,
    diag::{AttributePath, Diagnostic, Diagnostics},
    function,
    function::FunctionEntry,
    provider::{ConfigureRequest, ConfigureResponse, Provider},
    resource,
    resource::ResourceEntry,
    schema::{Attribute, Schema},
    value::Type,
};

use crate::client::{Client, LoginCheck};
use crate::connection_test_data_source::ConnectionTestDataSource;
use crate::diagnostics::fail;
use crate::durations::{duration, duration_validator};
use crate::login_test_action::LoginTestAction;
use crate::partition_log_data_source::PartitionLogDataSource;
use crate::permanent_secret::PermanentSecretResource;
use crate::primus_config::PrimusConfigResource;
use crate::remote::{ssh_block, Remote, SshBlock};
use crate::secrets_data_source::SecretsDataSource;
use crate::service_proxy_password::ServiceProxyPasswordResource;
use crate::setup_password_valid::SetupPasswordValid;

/// The registry address Terraform knows this provider by
/// (`source = "primus-iac/primus"`).
pub const ADDRESS: &str = "registry.terraform.io/primus-iac/primus";

/// Connect limit when `connect_timeout` is not set.
const DEFAULT_CONNECT_TIMEOUT: &str = "10s";
/// Answer limit when `request_timeout` is not set.
const DEFAULT_REQUEST_TIMEOUT: &str = "30s";
/// Where `ppin_command` is read from when the provider block does not set it.
pub(crate) const PPIN_COMMAND_ENV: &str = "PRIMUS_PPIN_COMMAND";

/// The Terraform provider: `PrimusProvider::new()` is handed to
/// [`tfplug::serve::serve_main`].
#[derive(Debug, Default)]
pub struct PrimusProvider;

impl PrimusProvider {
    /// The provider with its resources and data sources.
    pub fn new() -> Self {
        PrimusProvider
    }
}

/// The `provider "primus"` block, as Terraform sends it.
#[derive(Deserialize)]
pub struct ProviderConfig {
    config_file: Option<String>,
    secrets_file: Option<String>,
    key_file: Option<String>,
    connect_timeout: Option<String>,
    request_timeout: Option<String>,
    verify_login_on_read: Option<bool>,
    ppin_command: Option<String>,
    ssh: Option<SshBlock>,
}

/// The vendor-compatible `ppin` of `ppin_command`, else of
/// [`PPIN_COMMAND_ENV`] when set and non-empty; `None` runs the built-in engine.
fn ppin_command(configured: Option<String>) -> Result<Option<PathBuf>, Diagnostics> {
    let Some((program, origin)) = configured.map(|p| (p, "ppin_command")).or_else(|| {
        std::env::var(PPIN_COMMAND_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(|p| (p, PPIN_COMMAND_ENV))
    }) else {
        return Ok(None);
    };
    let program = PathBuf::from(program);
    let refuse = |problem: String| -> Diagnostics {
        Diagnostic::error(
            "Invalid ppin_command",
            format!(
                "{origin} = {:?} {problem}. Set ppin_command (or {PPIN_COMMAND_ENV}) to the path of the vendor's \
                 ppin, typically /usr/local/primus/bin/ppin, or leave both unset to use the built-in engine.",
                program.display().to_string()
            ),
        )
        .at(AttributePath::root("ppin_command"))
        .into()
    };
    let meta = std::fs::metadata(&program).map_err(|e| refuse(format!("cannot be used ({e})")))?;
    if !meta.is_file() {
        return Err(refuse("is not a file".to_owned()));
    }
    if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 == 0 {
        return Err(refuse("is not executable".to_owned()));
    }
    Ok(Some(program))
}

/// Refuses a `config_file` that nothing could make readable: a path that is
/// not a file, or whose directory does not exist (a `primus_config`
/// resource writes into an existing directory only). A file that is merely
/// missing gets a warning on the attribute: a `primus_config` resource of
/// the same configuration may write it, and each resource's plan fails if
/// none does.
fn check_config_file(config_file: &Path) -> Result<Option<Diagnostic>, Diagnostics> {
    let shown = format!("config_file = {:?}", config_file.display().to_string());
    let refuse = |problem: String| -> Diagnostics {
        Diagnostic::error(
            "Invalid config_file",
            format!(
                "{shown} {problem}. Set config_file to the path of primus.cfg (or of the file a primus_config \
                 resource writes, in an existing directory), or leave it unset to use $SECUROSYS_PKCS11_CONF and \
                 the vendor's default paths."
            ),
        )
        .at(AttributePath::root("config_file"))
        .into()
    };
    match std::fs::metadata(config_file) {
        Ok(meta) if meta.is_file() => Ok(None),
        Ok(_) => Err(refuse("is not a file".to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = match config_file.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(refuse(format!(
                    "does not exist, nor does its directory {:?}, so no primus_config resource could write it \
                     either",
                    dir.display().to_string()
                )));
            }
            let warning = Diagnostic::warning(
                "primus.cfg Does Not Exist Yet",
                format!(
                    "{shown} does not exist. Only a primus_config resource of this configuration can write it in \
                     this apply, and the resources that read it must depend on it (depends_on); a resource that \
                     needs it otherwise fails its plan. If the path is wrong, correct config_file."
                ),
            )
            .at(AttributePath::root("config_file"));
            Ok(Some(warning))
        }
        Err(e) => Err(refuse(format!("cannot be read ({e})"))),
    }
}

#[async_trait]
impl Provider for PrimusProvider {
    type Config = ProviderConfig;
    type Client = Client;

    fn schema(&self) -> Schema {
        Schema::new()
            .markdown_description(
                "Onboards application hosts to a Securosys Primus HSM or CloudHSM partition: trades one-time setup \
                 passwords for permanent secrets kept ciphered in `.secrets.cfg`, as the vendor's `ppin` tool does. \
                 Every argument is optional: with `SECUROSYS_PKCS11_CONF` and `SECUROSYS_SECRETS_CONF` exported (or \
                 the files at the vendor's default paths) an empty `provider \"primus\" {}` block is enough.",
            )
            .attribute(Attribute::optional("config_file", Type::String).markdown_description(
                "Path of `primus.cfg` (HSMs and slot users). Default: `$SECUROSYS_PKCS11_CONF`, else \
                 `/etc/primus/primus.cfg`, else `/usr/local/primus/etc/primus.cfg`. A path that is not a file, or \
                 whose directory does not exist, fails the plan here; a missing file gets a warning here and \
                 fails the plan of every resource that needs it, unless a `primus_config` resource they depend on \
                 writes it in the same apply.",
            ))
            .attribute(Attribute::optional("secrets_file", Type::String).markdown_description(
                "Path of `.secrets.cfg`, where permanent secrets and service proxy passwords are stored ciphered. \
                 Default: `$SECUROSYS_SECRETS_CONF`, else `/etc/primus/.secrets.cfg`, else \
                 `/usr/local/primus/etc/.secrets.cfg`. Created on the first write.",
            ))
            .attribute(Attribute::optional("key_file", Type::String).markdown_description(
                "Path of the key file that ciphers `.secrets.cfg`. Default: the hex key in `$SECUROSYS_SECRETS_KEY` \
                 if set, else `<secrets_file>.key`, created with the file on the first write.",
            ))
            .attribute(
                Attribute::optional("connect_timeout", Type::String)
                    .markdown_description(
                        "Limit for connecting to one HSM (TCP and TLS); after it the next redundant HSM of the slot \
                         is tried. Default: `10s`.",
                    )
                    .validator(duration_validator()),
            )
            .attribute(
                Attribute::optional("request_timeout", Type::String)
                    .markdown_description(
                        "Limit for each HSM answer. A request that times out is never retried: the HSM may have \
                         counted the trial. Default: `30s`.",
                    )
                    .validator(duration_validator()),
            )
            .attribute(Attribute::optional("ppin_command", Type::String).markdown_description(
                "Path of a vendor-compatible `ppin` (the vendor's own, typically `/usr/local/primus/bin/ppin`) that \
                 performs every operation instead of the built-in engine, so the provider works against a real Primus \
                 HSM or CloudHSM and the vendor's `.secrets.cfg`. Default: `$PRIMUS_PPIN_COMMAND` when set, else the \
                 built-in engine. Create, update and delete run `ppin -a`/`-u`/`-r -e USER`, the service proxy \
                 password `ppin -p`/`-x`, refresh and `primus_secrets` one shared `ppin -l`, login tests \
                 `ppin -t --user USER`; `-c`/`-s` are passed when `config_file`/`secrets_file` are set. Passwords are \
                 typed at the tool's no-echo prompts on a pseudo-terminal, never passed in its arguments or \
                 environment; runs that edit `.secrets.cfg` run one at a time (a lock beside the file). The tool \
                 does not inherit the provider's environment: it gets `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, \
                 `TZ`, `TMPDIR`, every `LC_*` and `SECUROSYS_*` variable, `TERM=dumb`, and the variables named, \
                 comma-separated, in `$PRIMUS_PPIN_ENV` (e.g. `PRIMUS_PPIN_ENV=\"HTTPS_PROXY\"`). `key_file` \
                 does not apply. See the guide \"Using the vendor's ppin\".",
            ))
            .attribute(Attribute::optional("verify_login_on_read", Type::Bool).markdown_description(
                "When refreshing a `primus_permanent_secret`, also log in at the HSM with the stored secret (one \
                 login per resource and plan), so a secret the HSM no longer accepts fails the plan. Default: `false`: \
                 refreshing then checks that the entry is in `.secrets.cfg` and decrypts and authenticates under the \
                 file key, without contacting the HSM (use `data.primus_connection_test` for an explicit login).",
            ))
            .block(ssh_block())
    }

    async fn configure(
        &self,
        req: ConfigureRequest<ProviderConfig>,
    ) -> Result<ConfigureResponse<Client>, Diagnostics> {
        let config = req.config;
        let timeouts = Timeouts::new(
            duration(
                config.connect_timeout.as_deref(),
                DEFAULT_CONNECT_TIMEOUT,
                AttributePath::root("connect_timeout"),
            )?,
            duration(
                config.request_timeout.as_deref(),
                DEFAULT_REQUEST_TIMEOUT,
                AttributePath::root("request_timeout"),
            )?,
        );
        let remote = Remote::new(config.ssh, req.stop.clone())?;
        let key_source = match config.key_file {
            Some(path) => KeySource::KeyFile(PathBuf::from(path)),
            None => KeySource::Default,
        };
        let external = ppin_command(config.ppin_command)?;
        let config_file = config.config_file.map(PathBuf::from);
        let config_file_warning = match &config_file {
            Some(path) => check_config_file(path)?,
            None => None,
        };
        let secrets_file = config.secrets_file.map(PathBuf::from);
        // Terraform's stop (Ctrl-C) aborts operations that have not yet sent a credential.
        let engine: Arc<dyn Engine> = match &external {
            Some(program) => Arc::new(
                ExternalEngine::new(program, config_file.clone(), secrets_file)
                    .with_cancel(req.stop),
            ),
            None => Arc::new(
                BuiltinEngine::watching(
                    config_file.as_deref(),
                    secrets_file.as_deref(),
                    key_source,
                )
                .map_err(|e| fail(&e, "provider", Some(AttributePath::root("secrets_file"))))?
                .with_timeouts(timeouts)
                .with_cancel(req.stop),
            ),
        };
        let ppin = Ppin::with_engine(engine);
        tracing::debug!(
            secrets_file = %ppin.secrets_file().display(),
            ppin_command = ?external,
            terraform_version = %req.terraform_version,
            "provider configured"
        );
        let login_check = match config.verify_login_on_read {
            Some(true) => LoginCheck::AtTheHsm,
            _ => LoginCheck::FileOnly,
        };
        let client = Client::new(ppin, config_file, login_check).with_remote(remote);
        let mut response = ConfigureResponse::new(client);
        response.warnings.extend(config_file_warning);
        Ok(response)
    }

    fn resources(&self) -> Vec<ResourceEntry<Client>> {
        vec![
            resource::register(PermanentSecretResource)
                .with_import()
                .with_validation()
                .with_plan_modifier()
                .with_list()
                .with_generated_config()
                .into(),
            resource::register(ServiceProxyPasswordResource)
                .with_import()
                .with_validation()
                .with_plan_modifier()
                .with_list()
                .with_generated_config()
                .into(),
            resource::register(PrimusConfigResource)
                .with_import()
                .with_identity()
                .with_validation()
                .with_plan_modifier()
                .into(),
        ]
    }

    fn data_sources(&self) -> Vec<DataSourceEntry<Client>> {
        vec![
            data_source::register(SecretsDataSource).into(),
            data_source::register(ConnectionTestDataSource).into(),
            data_source::register(PartitionLogDataSource).into(),
        ]
    }

    fn functions(&self) -> Vec<FunctionEntry> {
        vec![function::register(SetupPasswordValid)]
    }

    fn actions(&self) -> Vec<ActionEntry<Client>> {
        vec![action::register(LoginTestAction)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ppin_command_that_cannot_run_is_refused_on_its_attribute() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("ppin");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let missing = dir.path().join("nowhere/ppin");
        for (path, problem) in [
            (&missing, "cannot be used"),
            (&dir.path().to_path_buf(), "is not a file"),
            (&plain, "is not executable"),
        ] {
            let refused = ppin_command(Some(path.display().to_string())).unwrap_err();
            let diagnostic = refused.iter().next().unwrap();
            assert_eq!(diagnostic.path, Some(AttributePath::root("ppin_command")));
            assert!(diagnostic.detail.contains(problem), "{}", diagnostic.detail);
            assert!(
                diagnostic.detail.contains(&path.display().to_string()),
                "{}",
                diagnostic.detail
            );
        }
        std::fs::set_permissions(&plain, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        assert_eq!(
            ppin_command(Some(plain.display().to_string())).unwrap(),
            Some(plain.clone())
        );
    }

    #[test]
    fn a_config_file_that_cannot_be_written_nor_read_is_refused_on_its_attribute() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().join("primus.cfg");
        std::fs::write(&existing, "version = \"1.0\";\n").unwrap();
        assert!(check_config_file(&existing).unwrap().is_none());
        // Missing in an existing directory: a primus_config resource may write it, so only a warning.
        let warning = check_config_file(&dir.path().join("later.cfg"))
            .unwrap()
            .unwrap();
        assert_eq!(warning.severity, tfplug::diag::Severity::Warning);
        assert_eq!(warning.path, Some(AttributePath::root("config_file")));
        assert!(warning.detail.contains("later.cfg"), "{}", warning.detail);
        for (path, problem) in [
            (
                dir.path().join("no/dir/primus.cfg"),
                "nor does its directory",
            ),
            (dir.path().to_path_buf(), "is not a file"),
        ] {
            let refused = check_config_file(&path).unwrap_err();
            let diagnostic = refused.iter().next().unwrap();
            assert_eq!(diagnostic.path, Some(AttributePath::root("config_file")));
            assert!(diagnostic.detail.contains(problem), "{}", diagnostic.detail);
            assert!(
                diagnostic.detail.contains(&path.display().to_string()),
                "{}",
                diagnostic.detail
            );
        }
    }

    #[test]
    fn schema_matches_config_struct() {
        let schema = PrimusProvider::new().schema();
        schema.check_against::<ProviderConfig>("provider").unwrap();
    }
}
