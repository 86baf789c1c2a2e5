//! The RPCs of managed resources: validate, plan, apply, read, import and
//! upgrade their state.

use crate::cty::{from_json, Type, Value};
use crate::diag::{Diagnostic, Diagnostics};
use crate::log::trace_plan;
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::providers::Provider;
use crate::resources::Plan;

use super::identity_list::identity_data;
use super::wire::{caps, decode, encode, validate_against};
use super::Core;

impl<P: Provider> Core<P> {
    pub(super) async fn do_validate_resource(
        &self,
        req: pb::validate_resource_config::Request,
    ) -> Result<Diagnostics, Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let config = decode(req.config.as_ref(), r.schema(), "configuration")?;
        let write_only = caps(req.client_capabilities).write_only_attributes_allowed;
        let mut diags = validate_against(&r.schema().block, &config, write_only);
        diags.extend(r.validate(&config).await);
        Ok(diags)
    }

    pub(super) async fn do_plan(
        &self,
        req: pb::plan_resource_change::Request,
    ) -> Result<(pb::plan_resource_change::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let prior = decode(req.prior_state.as_ref(), schema, "prior state")?;
        let proposed = decode(
            req.proposed_new_state.as_ref(),
            schema,
            "proposed new state",
        )?;
        let config = decode(req.config.as_ref(), schema, "configuration")?;
        let write_only = caps(req.client_capabilities).write_only_attributes_allowed;
        let mut diags = Diagnostics::new();
        if proposed.is_null() {
            // Destroy: nothing to plan.
            let resp = pb::plan_resource_change::Response {
                planned_state: Some(encode(&Value::Null, schema)?),
                planned_private: req.prior_private,
                planned_identity: req.prior_identity,
                ..Default::default()
            };
            return Ok((resp, diags));
        }
        let (planned, replace) = plan::plan(&schema.block, &prior, &proposed, &config, write_only);
        let client = self.client().ok();
        let before = Plan {
            planned,
            requires_replace: replace,
            private: req.prior_private,
            warnings: Diagnostics::new(),
        };
        let mut after = r
            .modify_plan(client.as_deref(), &config, &prior, before)
            .await?;
        diags.extend(std::mem::take(&mut after.warnings));
        plan::keep_config(&schema.block, &config, &mut after.planned, &mut diags);
        if write_only {
            plan::null_write_only(&schema.block, &mut after.planned);
        }
        trace_plan(&req.type_name, &prior, &after.planned);
        let resp = pb::plan_resource_change::Response {
            planned_identity: identity_data(r.as_ref(), &after.planned)?,
            planned_state: Some(encode(&after.planned, schema)?),
            requires_replace: after
                .requires_replace
                .iter()
                .map(|p| p.to_proto())
                .collect(),
            planned_private: after.private,
            ..Default::default()
        };
        Ok((resp, diags))
    }

    pub(super) async fn do_apply(
        &self,
        req: pb::apply_resource_change::Request,
    ) -> Result<(pb::apply_resource_change::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let prior = decode(req.prior_state.as_ref(), schema, "prior state")?;
        let planned = decode(req.planned_state.as_ref(), schema, "planned state")?;
        let config = decode(req.config.as_ref(), schema, "configuration")?;
        let client = self.client()?;
        let mut diags = Diagnostics::new();
        let (mut new, private) = if planned.is_null() {
            r.delete(&client, &prior, req.planned_private).await?;
            (Value::Null, Vec::new())
        } else {
            let stored = if prior.is_null() {
                r.create(&client, &config, &planned, req.planned_private)
                    .await?
            } else {
                r.update(&client, &config, &planned, &prior, req.planned_private)
                    .await?
            };
            diags.extend(stored.warnings);
            (stored.state, stored.private)
        };
        if !new.is_null() {
            plan::finish_apply(&schema.block, &planned, &mut new, &mut diags);
        }
        diags.clone().into_result()?;
        let resp = pb::apply_resource_change::Response {
            new_identity: identity_data(r.as_ref(), &new)?,
            new_state: Some(encode(&new, schema)?),
            private,
            ..Default::default()
        };
        Ok((resp, diags))
    }

    pub(super) async fn do_read(
        &self,
        req: pb::read_resource::Request,
    ) -> Result<(pb::read_resource::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let current = decode(req.current_state.as_ref(), schema, "current state")?;
        if current.is_null() {
            let resp = pb::read_resource::Response {
                new_state: req.current_state,
                private: req.private,
                ..Default::default()
            };
            return Ok((resp, Diagnostics::new()));
        }
        let client = self.client()?;
        let (new, private) = match r.read(&client, &current, req.private).await? {
            None => (Value::Null, Vec::new()),
            Some(mut stored) => {
                plan::copy_write_only(&schema.block, &current, &mut stored.state);
                (stored.state, stored.private)
            }
        };
        let resp = pb::read_resource::Response {
            new_identity: identity_data(r.as_ref(), &new)?,
            new_state: Some(encode(&new, schema)?),
            private,
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }

    pub(super) async fn do_import(
        &self,
        req: pb::import_resource_state::Request,
    ) -> Result<(pb::import_resource_state::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let client = self.client()?;
        let (id, given_identity) = self.import_target(r.as_ref(), req.id, req.identity)?;
        let mut stored = r.import(&client, id).await?;
        plan::null_write_only(&r.schema().block, &mut stored.state);
        let identity = match given_identity {
            Some(identity) => Some(identity),
            None => identity_data(r.as_ref(), &stored.state)?,
        };
        let resp = pb::import_resource_state::Response {
            imported_resources: vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(encode(&stored.state, r.schema())?),
                private: stored.private,
                identity,
            }],
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }

    pub(super) async fn do_upgrade(
        &self,
        req: pb::upgrade_resource_state::Request,
    ) -> Result<(pb::upgrade_resource_state::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let schema = r.schema();
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() {
            if raw.flatmap.is_empty() {
                let resp = pb::upgrade_resource_state::Response {
                    upgraded_state: Some(encode(&Value::Null, schema)?),
                    ..Default::default()
                };
                return Ok((resp, Diagnostics::new()));
            }
            return Err(Diagnostic::error(
                "Legacy State Not Supported",
                "This state was written by a Terraform 0.11-era provider (flatmap); refresh it with that provider version first.",
            )
            .into());
        }
        let json: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid Stored State",
                format!("The stored state is not JSON: {e}."),
            ))
        })?;
        let upgraded = if req.version != schema.version {
            match r.upgrade(req.version, json).await {
                Some(v) => v?,
                None => {
                    return Err(Diagnostic::error(
                        "State Upgrade Not Supported",
                        format!(
                            "The state of {} was written with schema version {}, this provider uses version {} and cannot convert it. Use the provider version that wrote it.",
                            req.type_name, req.version, schema.version
                        ),
                    )
                    .into())
                }
            }
        } else {
            // Attributes a newer provider removed are dropped, as Terraform expects.
            let json = match json {
                serde_json::Value::Object(mut m) => {
                    let ty = schema.value_type();
                    if let Type::Object(attrs) = &ty {
                        m.retain(|k, _| attrs.contains_key(k));
                    }
                    serde_json::Value::Object(m)
                }
                other => other,
            };
            from_json(&json, schema.value_type()).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid Stored State",
                    format!("The stored state does not match the schema: {e}."),
                ))
            })?
        };
        let resp = pb::upgrade_resource_state::Response {
            upgraded_state: Some(encode(&upgraded, schema)?),
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }
}
