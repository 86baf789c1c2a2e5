//! The `provider "primus"` block: where `primus.cfg`, `.secrets.cfg` and its
//! key are, and the network limits. Every argument is optional; the vendor's
//! environment variables and default paths fill the gaps.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ppin::{Ppin, PpinError, PrimusConfig, Timeouts};
use secrets_cfg::{KeySource, SecretsStore};
use serde::Deserialize;
use tfplug::{
    async_trait, data_source,
    data_source::DataSourceEntry,
    diag::{AttributePath, Diagnostic, Diagnostics},
    provider::{ConfigureRequest, ConfigureResponse, Provider},
    resource,
    resource::ResourceEntry,
    schema::{Attribute, Schema},
    validators,
    value::Type,
};

use crate::connection_test_data_source::ConnectionTestDataSource;
use crate::diagnostics::ppin_error;
use crate::permanent_secret::PermanentSecretResource;
use crate::primus_config::PrimusConfigResource;
use crate::secrets_data_source::SecretsDataSource;
use crate::service_proxy_password::ServiceProxyPasswordResource;

/// The registry address Terraform knows this provider by
/// (`source = "primus-iac/primus"`).
pub const ADDRESS: &str = "registry.terraform.io/primus-iac/primus";

/// Connect limit when `connect_timeout` is not set.
const DEFAULT_CONNECT_TIMEOUT: &str = "10s";
/// Answer limit when `request_timeout` is not set.
const DEFAULT_REQUEST_TIMEOUT: &str = "30s";

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
}

/// What every resource and data source operation receives: the ppin
/// operations over the configured files.
///
/// `primus.cfg` is read on first use, not at configure time, so a
/// `primus_config` resource can write it in the same apply; it is read again
/// whenever the file changed since (a new inode, size or mtime).
#[derive(Debug)]
pub struct Client {
    /// `config_file` of the provider block, if set.
    config_file: Option<PathBuf>,
    store: SecretsStore,
    timeouts: Timeouts,
    /// The last `primus.cfg` read, with the stamp of the file it came from.
    loaded: Mutex<Option<(FileStamp, Arc<Ppin>)>>,
    /// Refreshing a permanent secret also logs in with it at the HSM.
    pub(crate) verify_login: bool,
}

/// What identifies one version of a file: an atomic replace gives a new
/// inode, an edit in place a new size or mtime.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    path: PathBuf,
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<FileStamp> {
        let meta = std::fs::metadata(path)?;
        Ok(FileStamp {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        })
    }
}

impl Client {
    /// The ppin operations over the current `primus.cfg`, read now if it is
    /// new or changed. A missing or invalid file is an error diagnostic
    /// raised by `resource_type` ("primus.cfg not found (0x80005003)" ...).
    pub(crate) fn ppin(&self, resource_type: &str) -> Result<Arc<Ppin>, Diagnostics> {
        self.load()
            .map_err(|e| ppin_error(&e, resource_type, None).into())
    }

    fn load(&self) -> Result<Arc<Ppin>, PpinError> {
        let path = PrimusConfig::locate(self.config_file.as_deref())?;
        // A file that vanished between locate and stat reads as not found below.
        let stamp = FileStamp::of(&path).ok();
        // The lock is never held across an await, and a poisoned cache is only a stale one: reload.
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let (Some(stamp), Some((cached, ppin))) = (&stamp, loaded.as_ref()) {
            if stamp == cached {
                return Ok(Arc::clone(ppin));
            }
        }
        let config = PrimusConfig::read(&path)?;
        let ppin = Arc::new(Ppin::new(config, self.store.clone()).with_timeouts(self.timeouts));
        *loaded = stamp.map(|stamp| (stamp, Arc::clone(&ppin)));
        tracing::debug!(config_file = %path.display(), "primus.cfg loaded");
        Ok(ppin)
    }

    /// The `.secrets.cfg` in use.
    pub(crate) fn store(&self) -> &SecretsStore {
        &self.store
    }

    /// Where `primus.cfg` is, or would be written: `config_file`, else
    /// `$SECUROSYS_PKCS11_CONF`, else the first of the vendor's default paths
    /// that exists, else the first of them.
    pub(crate) fn config_target(&self) -> PathBuf {
        PrimusConfig::locate(self.config_file.as_deref()).unwrap_or_else(|_| {
            self.config_file
                .clone()
                .or_else(|| {
                    std::env::var_os(ppin::PRIMUS_CFG_ENV)
                        .filter(|v| !v.is_empty())
                        .map(PathBuf::from)
                })
                .unwrap_or_else(|| PathBuf::from(ppin::PRIMUS_CFG_DEFAULT_PATHS[0]))
        })
    }
}

fn duration_validator() -> impl tfplug::schema::Validator {
    validators::custom(
        "a duration such as \"10s\", \"1m30s\" or \"500ms\"",
        |v| match v.as_str() {
            Some(text) => parse_duration(text).map(drop),
            None => Ok(()),
        },
    )
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(format!("{text:?} (must be longer than zero)")),
        Err(e) => Err(format!("{text:?} ({e})")),
    }
}

/// The timeout in `value`, else `default`; the validator has already
/// checked any configured value, so only a provider bug fails here.
fn timeout(value: Option<&str>, default: &str, attribute: &str) -> Result<Duration, Diagnostics> {
    parse_duration(value.unwrap_or(default)).map_err(|e| {
        Diagnostic::error(
            "Invalid Timeout",
            format!("{attribute} = {e}; use a duration such as \"10s\"."),
        )
        .at(AttributePath::root(attribute))
        .into()
    })
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
                 `/etc/primus/primus.cfg`, else `/usr/local/primus/etc/primus.cfg`.",
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
            .attribute(Attribute::optional("verify_login_on_read", Type::Bool).markdown_description(
                "When refreshing a `primus_permanent_secret`, also log in at the HSM with the stored secret (one \
                 login per resource and plan), so a secret the HSM no longer accepts fails the plan. Default: `false`: \
                 refreshing then checks that the entry is in `.secrets.cfg` and decrypts and authenticates under the \
                 file key, without contacting the HSM (use `data.primus_connection_test` for an explicit login).",
            ))
    }

    async fn configure(
        &self,
        req: ConfigureRequest<ProviderConfig>,
    ) -> Result<ConfigureResponse<Client>, Diagnostics> {
        let config = req.config;
        let timeouts = Timeouts::new(
            timeout(
                config.connect_timeout.as_deref(),
                DEFAULT_CONNECT_TIMEOUT,
                "connect_timeout",
            )?,
            timeout(
                config.request_timeout.as_deref(),
                DEFAULT_REQUEST_TIMEOUT,
                "request_timeout",
            )?,
        );
        let key_source = match config.key_file {
            Some(path) => KeySource::KeyFile(PathBuf::from(path)),
            None => KeySource::Default,
        };
        let secrets_file = secrets_cfg::locate(config.secrets_file.as_deref().map(Path::new));
        let store = SecretsStore::open(secrets_file, key_source).map_err(|source| {
            Diagnostics::from(ppin_error(
                &PpinError::Secrets { user: None, source },
                "provider",
                Some(AttributePath::root("secrets_file")),
            ))
        })?;
        tracing::debug!(
            secrets_file = %store.path().display(),
            terraform_version = %req.terraform_version,
            "provider configured"
        );
        Ok(ConfigureResponse::new(Client {
            config_file: config.config_file.map(PathBuf::from),
            store,
            timeouts,
            loaded: Mutex::new(None),
            verify_login: config.verify_login_on_read.unwrap_or(false),
        }))
    }

    fn resources(&self) -> Vec<ResourceEntry<Client>> {
        vec![
            resource::register(PermanentSecretResource)
                .with_import()
                .with_validation()
                .into(),
            resource::register(ServiceProxyPasswordResource)
                .with_import()
                .with_validation()
                .into(),
            resource::register(PrimusConfigResource)
                .with_import()
                .into(),
        ]
    }

    fn data_sources(&self) -> Vec<DataSourceEntry<Client>> {
        vec![
            data_source::register(SecretsDataSource).into(),
            data_source::register(ConnectionTestDataSource).into(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_zero_is_refused() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("0s")
            .unwrap_err()
            .contains("longer than zero"));
        assert!(parse_duration("soon").unwrap_err().contains("\"soon\""));
    }

    #[test]
    fn schema_matches_config_struct() {
        let schema = PrimusProvider::new().schema();
        schema.check_against::<ProviderConfig>("provider").unwrap();
    }
}
