//! The `provider "primus"` block: where `primus.cfg`, `.secrets.cfg` and its
//! key are, and the network limits. Every argument is optional; the vendor's
//! environment variables and default paths fill the gaps.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ppin::{Ppin, Timeouts};
use secrets_cfg::KeySource;
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

use crate::client::{Client, LoginCheck};
use crate::connection_test_data_source::ConnectionTestDataSource;
use crate::diagnostics::fail;
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
        let config_file = config.config_file.map(PathBuf::from);
        let ppin = Ppin::watching(
            config_file.as_deref(),
            config.secrets_file.as_deref().map(Path::new),
            key_source,
        )
        .map_err(|e| fail(&e, "provider", Some(AttributePath::root("secrets_file"))))?
        .with_timeouts(timeouts)
        // Terraform's stop (Ctrl-C) aborts operations that have not yet sent a credential.
        .with_cancel(req.stop);
        tracing::debug!(
            secrets_file = %ppin.store().path().display(),
            terraform_version = %req.terraform_version,
            "provider configured"
        );
        let login_check = match config.verify_login_on_read {
            Some(true) => LoginCheck::AtTheHsm,
            _ => LoginCheck::FileOnly,
        };
        Ok(ConfigureResponse::new(Client::new(
            ppin,
            config_file,
            login_check,
        )))
    }

    fn resources(&self) -> Vec<ResourceEntry<Client>> {
        vec![
            resource::register(PermanentSecretResource)
                .with_import()
                .with_validation()
                .with_plan_modifier()
                .into(),
            resource::register(ServiceProxyPasswordResource)
                .with_import()
                .with_validation()
                .with_plan_modifier()
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
