//! The RPCs of data sources: validate and read.

use std::sync::Arc;

use crate::cty::Value;
use crate::diag::Diagnostics;
use crate::erased::ErasedDataSource;
use crate::proto::tfplugin6 as pb;
use crate::providers::Provider;

use super::wire::{decode, encode, validate_against};
use super::{unknown_type, Core};

impl<P: Provider> Core<P> {
    fn data_source(
        &self,
        name: &str,
    ) -> Result<&Arc<dyn ErasedDataSource<P::Client>>, Diagnostics> {
        self.data_sources
            .get(name)
            .ok_or_else(|| unknown_type("data source", name))
    }

    pub(super) async fn do_validate_data_source(
        &self,
        req: pb::validate_data_resource_config::Request,
    ) -> Result<Diagnostics, Diagnostics> {
        let d = self.data_source(&req.type_name)?;
        let config = decode(req.config.as_ref(), d.schema(), "configuration")?;
        let mut diags = validate_against(&d.schema().block, &config, false);
        diags.extend(d.validate(&config).await);
        Ok(diags)
    }

    pub(super) async fn do_read_data(
        &self,
        req: pb::read_data_source::Request,
    ) -> Result<(pb::read_data_source::Response, Diagnostics), Diagnostics> {
        let d = self.data_source(&req.type_name)?;
        let schema = d.schema();
        let config = decode(req.config.as_ref(), schema, "configuration")?;
        let client = self.client()?;
        let mut state = d.read(&client, &config).await?;
        let mut diags = Diagnostics::new();
        for a in &schema.block.attributes {
            let c = config.attr(&a.name);
            if !a.mode.is_computed() || !c.is_null() {
                if let Value::Object(m) = &mut state {
                    m.insert(a.name.clone(), c.clone());
                }
            } else if !state.attr(&a.name).is_wholly_known() {
                diags.error(
                    "Value Unknown After Read",
                    format!(
                        "The data source left {} unknown. This is a provider bug.",
                        a.name
                    ),
                );
            }
        }
        diags.clone().into_result()?;
        let resp = pb::read_data_source::Response {
            state: Some(encode(&state, schema)?),
            ..Default::default()
        };
        Ok((resp, diags))
    }
}
