//! Conversions between protocol messages and values, shared by every
//! family of RPCs.

use tonic::Status;

use crate::cty::{from_json, from_msgpack, to_msgpack, Type, Value};
use crate::diag::{Diagnostic, Diagnostics};
use crate::error::CodecError;
use crate::plan;
use crate::proto::tfplugin6 as pb;
use crate::providers::ClientCapabilities;
use crate::request_log::{LoggedRequest, RequestLog};
use crate::schema::{Block, Schema};

/// A server stream of already-known events, for the streaming RPCs.
pub(super) type EventStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

pub(super) fn one_event<T: Send + 'static>(event: T) -> EventStream<T> {
    Box::pin(tokio_stream::iter([Ok(event)]))
}

/// The answer to an RPC of a feature tfplug does not offer, logged like
/// every other request.
pub(super) fn not_supported(rpc: &'static str, what: &str) -> Vec<pb::Diagnostic> {
    let log = LoggedRequest::received(RequestLog::provider(rpc));
    let diagnostics = Diagnostics::from(Diagnostic::error(
        "Not Supported",
        format!("This provider (built with tfplug) does not support {what}."),
    ))
    .to_proto();
    log.served(&diagnostics[..]);
    diagnostics
}

pub(super) fn caps(c: Option<pb::ClientCapabilities>) -> ClientCapabilities {
    let c = c.unwrap_or_default();
    ClientCapabilities {
        write_only_attributes_allowed: c.write_only_attributes_allowed,
        deferral_allowed: c.deferral_allowed,
    }
}

pub(super) fn decode(
    dv: Option<&pb::DynamicValue>,
    schema: &Schema,
    what: &str,
) -> Result<Value, Diagnostics> {
    decode_as(dv, schema.value_type(), what)
}

pub(super) fn decode_as(
    dv: Option<&pb::DynamicValue>,
    ty: &Type,
    what: &str,
) -> Result<Value, Diagnostics> {
    let result = match dv {
        None => Ok(Value::Null),
        Some(dv) if !dv.msgpack.is_empty() => from_msgpack(&dv.msgpack, ty),
        Some(dv) if !dv.json.is_empty() => serde_json::from_slice(&dv.json)
            .map_err(|e| CodecError::Serde(e.to_string()))
            .and_then(|j| from_json(&j, ty)),
        Some(_) => Ok(Value::Null),
    };
    result.map_err(|e| {
        Diagnostic::error(
            "Invalid Value From Terraform",
            format!("The {what} could not be decoded: {e}."),
        )
        .into()
    })
}

pub(super) fn encode(v: &Value, schema: &Schema) -> Result<pb::DynamicValue, Diagnostics> {
    to_msgpack(v, schema.value_type())
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                "Value Encoding Error",
                format!("The provider produced an invalid value: {e}."),
            )
            .into()
        })
}

/// Runs `f`, turning its diagnostics (errors or warnings) into the list
/// the response carries.
pub(super) fn diags_of<T>(
    r: Result<(T, Diagnostics), Diagnostics>,
) -> (Option<T>, Vec<pb::Diagnostic>) {
    match r {
        Ok((v, d)) => (Some(v), d.to_proto()),
        Err(d) => (None, d.to_proto()),
    }
}

/// The problems of `config` against `block` (types, required attributes,
/// validators).
pub(super) fn validate_against(
    block: &Block,
    config: &Value,
    write_only_allowed: bool,
) -> Diagnostics {
    let mut diags = Diagnostics::new();
    plan::validate(block, config, None, write_only_allowed, &mut diags);
    diags
}

pub(super) fn flatten<T: Default>(
    r: Result<(T, Diagnostics), Diagnostics>,
    set: impl FnOnce(&mut T, Vec<pb::Diagnostic>),
) -> T {
    let (value, diags) = diags_of(r);
    let mut v = value.unwrap_or_default();
    set(&mut v, diags);
    v
}
