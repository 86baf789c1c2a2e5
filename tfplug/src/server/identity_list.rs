//! The RPCs of resource identity, list resources and generated
//! configuration (protocol 6.9, 6.10).

use std::sync::Arc;

use crate::cty::{from_json, to_msgpack, Type, Value};
use crate::diag::{Diagnostic, Diagnostics};
use crate::erased::ErasedResource;
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::providers::Provider;
use crate::schema::Schema;

use super::wire::{decode, decode_as, encode, validate_against};
use super::{unknown_type, Core};

/// Terraform sends `limit` as int64; a list never holds more than this many.
fn list_limit(limit: i64) -> usize {
    usize::try_from(limit).unwrap_or(0)
}

/// The identity of `state` for a resource that declares one; `None` for a
/// resource without identity, a null state (gone, destroyed), or a planned
/// state that does not know the identity yet (a create whose identifying
/// attribute is computed): Terraform 1.15 cannot render a plan holding an
/// unknown identity, and the apply then sends the known one.
pub(super) fn identity_data<C>(
    r: &dyn ErasedResource<C>,
    state: &Value,
) -> Result<Option<pb::ResourceIdentityData>, Diagnostics> {
    let Some(schema) = r.extras().identity_schema() else {
        return Ok(None);
    };
    let value = schema.identity_of(state);
    if state.is_null() || !value.is_wholly_known() {
        return Ok(None);
    }
    encode_identity(&value, schema.value_type()).map(Some)
}

fn encode_identity(value: &Value, ty: &Type) -> Result<pb::ResourceIdentityData, Diagnostics> {
    let msgpack = to_msgpack(value, ty).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Value Encoding Error",
            format!("The provider produced an invalid identity: {e}."),
        ))
    })?;
    Ok(pb::ResourceIdentityData {
        identity_data: Some(pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        }),
    })
}

/// A resource registered with a list, and the schema of its `config` block.
type ListResource<'a, C> = (&'a Arc<dyn ErasedResource<C>>, &'a Schema);

impl<P: Provider> Core<P> {
    /// The import id of an ImportResourceState request: its `id`, or what
    /// the resource makes of its `identity` (an `import` block with
    /// `identity = {...}`), with the identity to answer with.
    pub(super) fn import_target(
        &self,
        r: &dyn ErasedResource<P::Client>,
        id: String,
        identity: Option<pb::ResourceIdentityData>,
    ) -> Result<(String, Option<pb::ResourceIdentityData>), Diagnostics> {
        let given = identity.and_then(|i| i.identity_data);
        let (Some(data), Some(schema)) = (given, r.extras().identity_schema()) else {
            return Ok((id, None));
        };
        let ty = schema.value_type();
        let value = decode_as(Some(&data), ty, "import identity")?;
        let id = r.extras().import_id(&value)?;
        Ok((id, Some(encode_identity(&value, ty)?)))
    }

    pub(super) fn identity_schemas(&self) -> pb::get_resource_identity_schemas::Response {
        pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .resources
                .iter()
                .filter_map(|(n, r)| {
                    let schema = r.extras().identity_schema()?;
                    Some((n.clone(), schema.to_proto()))
                })
                .collect(),
            diagnostics: self.schema_problems.to_proto(),
        }
    }

    pub(super) fn list_schemas(&self) -> impl Iterator<Item = (&String, &Schema)> {
        self.resources
            .iter()
            .filter_map(|(n, r)| Some((n, r.extras().list_schema()?)))
    }

    /// Whether Terraform should ask for generated configuration.
    pub(super) fn generates_config(&self) -> bool {
        self.resources
            .values()
            .any(|r| r.extras().generates_config())
    }

    pub(super) async fn do_upgrade_identity(
        &self,
        req: pb::upgrade_resource_identity::Request,
    ) -> Result<(pb::upgrade_resource_identity::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let Some(schema) = r.extras().identity_schema() else {
            return Err(Diagnostic::error(
                "Resource Has No Identity",
                format!(
                    "The state holds an identity for {}, which has no identity in this provider version. \
                     Use the provider version that wrote it.",
                    req.type_name
                ),
            )
            .into());
        };
        let raw = req.raw_identity.unwrap_or_default().json;
        let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid Stored Identity",
                format!("The stored identity of {} is not JSON: {e}.", req.type_name),
            ))
        })?;
        let json = if req.version == schema.version {
            json
        } else {
            r.extras().upgrade_identity(req.version, json).await?
        };
        let ty = schema.value_type();
        let value = from_json(&json, ty).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Invalid Stored Identity",
                format!(
                    "The stored identity of {} does not match identity version {}: {e}.",
                    req.type_name, schema.version
                ),
            ))
        })?;
        let resp = pb::upgrade_resource_identity::Response {
            upgraded_identity: Some(encode_identity(&value, ty)?),
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }

    fn list_resource(&self, name: &str) -> Result<ListResource<'_, P::Client>, Diagnostics> {
        let r = self
            .resources
            .get(name)
            .ok_or_else(|| unknown_type("list resource", name))?;
        let schema = r
            .extras()
            .list_schema()
            .ok_or_else(|| unknown_type("list resource", name))?;
        Ok((r, schema))
    }

    pub(super) fn do_validate_list(
        &self,
        req: pb::validate_list_resource_config::Request,
    ) -> Result<Diagnostics, Diagnostics> {
        let (_, schema) = self.list_resource(&req.type_name)?;
        let config = decode(req.config.as_ref(), schema, "list configuration")?;
        Ok(validate_against(&schema.block, &config, false))
    }

    /// The events of a ListResource stream: one per warning (diagnostics
    /// alone, which Terraform shows and passes over), then one per object,
    /// at most `limit`.
    pub(super) async fn do_list(
        &self,
        req: pb::list_resource::Request,
    ) -> Result<Vec<pb::list_resource::Event>, Diagnostics> {
        let (r, list_schema) = self.list_resource(&req.type_name)?;
        let config = decode(req.config.as_ref(), list_schema, "list configuration")?;
        let client = self.client()?;
        let limit = list_limit(req.limit);
        let found = r.extras().list(&client, &config, limit).await?;
        let warnings = found
            .warnings
            .into_iter()
            .map(|warning| pb::list_resource::Event {
                diagnostic: vec![warning.to_proto()],
                ..Default::default()
            });
        let mut listed = found.listed;
        listed.truncate(limit);
        let objects = listed.into_iter().map(|mut l| {
            plan::null_write_only(&r.schema().block, &mut l.state);
            let resource_object = if req.include_resource_object {
                Some(encode(&l.state, r.schema())?)
            } else {
                None
            };
            Ok(pb::list_resource::Event {
                identity: identity_data(r.as_ref(), &l.state)?,
                display_name: l.display_name,
                resource_object,
                diagnostic: Vec::new(),
            })
        });
        warnings.map(Ok).chain(objects).collect()
    }

    pub(super) fn do_generate_config(
        &self,
        req: pb::generate_resource_config::Request,
    ) -> Result<(pb::generate_resource_config::Response, Diagnostics), Diagnostics> {
        let r = self.resource(&req.type_name)?;
        let state = decode(req.state.as_ref(), r.schema(), "state")?;
        let config = if state.is_null() {
            Value::Null
        } else {
            r.extras().generate_config(&state)?
        };
        let resp = pb::generate_resource_config::Response {
            config: Some(encode(&config, r.schema())?),
            ..Default::default()
        };
        Ok((resp, Diagnostics::new()))
    }
}
