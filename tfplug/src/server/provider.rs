//! The RPCs of the provider itself: metadata, schema, validation of the
//! provider block, configuration.

use std::sync::Arc;

use crate::cty::Value;
use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::providers::{ConfigureRequest, Provider};
use crate::serde_value::{conform, from_value};

use super::wire::{caps, decode, validate_against};
use super::Core;

impl<P: Provider> Core<P> {
    pub(super) fn metadata(&self) -> pb::get_metadata::Response {
        pb::get_metadata::Response {
            server_capabilities: Some(self.server_capabilities()),
            list_resources: self
                .list_schemas()
                .map(|(n, _)| pb::get_metadata::ListResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            diagnostics: self.schema_problems.to_proto(),
            resources: self
                .resources
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            data_sources: self
                .data_sources
                .keys()
                .map(|n| pb::get_metadata::DataSourceMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            functions: self
                .functions
                .keys()
                .map(|n| pb::get_metadata::FunctionMetadata { name: n.clone() })
                .collect(),
            actions: self
                .actions
                .keys()
                .map(|n| pb::get_metadata::ActionMetadata {
                    type_name: n.clone(),
                })
                .collect(),
            ..Default::default()
        }
    }

    pub(super) fn provider_schema(&self) -> pb::get_provider_schema::Response {
        pb::get_provider_schema::Response {
            provider: Some(self.schema.to_proto()),
            resource_schemas: self
                .resources
                .iter()
                .map(|(n, r)| (n.clone(), r.schema().to_proto()))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(n, d)| (n.clone(), d.schema().to_proto()))
                .collect(),
            list_resource_schemas: self
                .list_schemas()
                .map(|(n, s)| (n.clone(), s.to_proto()))
                .collect(),
            functions: self.function_definitions(),
            action_schemas: self
                .actions
                .iter()
                .map(|(n, a)| {
                    let schema = Some(a.schema().to_proto());
                    (n.clone(), pb::ActionSchema { schema })
                })
                .collect(),
            diagnostics: self.schema_problems.to_proto(),
            server_capabilities: Some(self.server_capabilities()),
            ..Default::default()
        }
    }

    fn server_capabilities(&self) -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            plan_destroy: false,
            get_provider_schema_optional: false,
            move_resource_state: false,
            generate_resource_config: self.generates_config(),
        }
    }

    pub(super) fn validate_provider_config(
        &self,
        req: pb::validate_provider_config::Request,
    ) -> Diagnostics {
        decode(req.config.as_ref(), &self.schema, "provider configuration")
            .map(|config| validate_against(&self.schema.block, &config, false))
            .unwrap_or_else(|d| d)
    }

    pub(super) async fn do_configure(
        &self,
        req: pb::configure_provider::Request,
    ) -> Result<Diagnostics, Diagnostics> {
        let mut config_value = decode(req.config.as_ref(), &self.schema, "provider configuration")?;
        if config_value.is_null() {
            // No provider block: every attribute is null.
            config_value = conform(Value::Object(Default::default()), self.schema.value_type())
                .map_err(|e| {
                    Diagnostics::from(Diagnostic::error("Invalid Provider Schema", e.to_string()))
                })?;
        }
        let config = from_value::<P::Config>(&config_value).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid Provider Configuration",
                format!("The provider block is invalid: {e}."),
            ))
        })?;
        let request = ConfigureRequest {
            config,
            terraform_version: req.terraform_version,
            capabilities: caps(req.client_capabilities),
            stop: self.stop.clone(),
        };
        let resp = self.provider.configure(request).await?;
        *self.client.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(resp.client));
        let mut diags = Diagnostics::new();
        resp.warnings.into_iter().for_each(|w| diags.push(w));
        Ok(diags)
    }
}
