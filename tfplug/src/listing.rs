//! List resources (protocol 6.10, Terraform 1.14+ `terraform query`) and
//! the configuration Terraform writes with `-generate-config-out`.

use async_trait::async_trait;
use serde::de::DeserializeOwned;

use crate::cty::Value;
use crate::diag::Diagnostics;
use crate::identity::Identity;
use crate::resources::Resource;
use crate::schema::{AttributeType, Block, Mode, Schema};

/// Optional: a `list "type" "name" {}` block enumerates the existing
/// objects of this resource type (`terraform query`).
///
/// The framework answers each listed state with its identity (derived as
/// for every state), the display name and, when Terraform asks, the state
/// itself; it stops at the block's `limit`.
#[async_trait]
pub trait List<C: Send + Sync + 'static>: Identity<C> {
    /// The `config` block of the `list` block as a serde struct (every
    /// attribute of [`list_schema`](Self::list_schema), null when unset).
    type Config: DeserializeOwned + Send + 'static;

    /// The attributes of the `config` block; an empty schema when the list
    /// takes no filters.
    fn list_schema(&self) -> Schema;

    /// The objects that exist, each with the state a `read` after an
    /// import would return, and warnings about any that cannot be listed.
    async fn list(
        &self,
        req: ListRequest<'_, C, Self::Config>,
    ) -> Result<ListResponse<Self::State>, Diagnostics>;
}

/// Request of [`List::list`].
#[non_exhaustive]
pub struct ListRequest<'a, C, T> {
    /// The client the provider's `configure` returned.
    pub client: &'a C,
    /// The `config` block.
    pub config: T,
    /// How many objects Terraform keeps; the framework drops the rest, so
    /// this is only a hint to stop early.
    pub limit: usize,
}

/// One object a list found.
#[non_exhaustive]
pub struct Listed<S> {
    /// What `terraform query` shows for it.
    pub display_name: String,
    /// Its state, as `read` would return it.
    pub state: S,
}

impl<S> Listed<S> {
    /// An object shown as `display_name`.
    pub fn new(display_name: impl Into<String>, state: S) -> Self {
        Listed {
            display_name: display_name.into(),
            state,
        }
    }
}

/// Response of [`List::list`]: what was found, and warnings about what was
/// left out (an object that exists but cannot be adopted, say), which
/// `terraform query` shows while it lists the rest. From a `Vec` of
/// [`Listed`] when there is nothing to warn about.
#[non_exhaustive]
pub struct ListResponse<S> {
    /// The objects found.
    pub listed: Vec<Listed<S>>,
    /// Warnings only: an error fails the whole list (return it as `Err`).
    pub warnings: Diagnostics,
}

impl<S> ListResponse<S> {
    /// `listed`, with nothing to warn about.
    pub fn new(listed: Vec<Listed<S>>) -> Self {
        ListResponse {
            listed,
            warnings: Diagnostics::new(),
        }
    }

    /// Adds `warnings`, each sent to Terraform before the objects.
    pub fn with_warnings(mut self, warnings: Diagnostics) -> Self {
        self.warnings.extend(warnings);
        self
    }
}

impl<S> From<Vec<Listed<S>>> for ListResponse<S> {
    fn from(listed: Vec<Listed<S>>) -> Self {
        ListResponse::new(listed)
    }
}

/// Optional: adjusts the configuration Terraform writes for an object with
/// `-generate-config-out` (an `import` block without a resource, or
/// `terraform query`).
///
/// The framework derives it from the state: required and optional
/// attributes and blocks are kept, computed-only, write-only, sensitive and
/// deprecated attributes are left out (a secret never lands in a `.tf`
/// file), null stays null. Registering any resource with
/// `with_generated_config` tells Terraform the provider generates
/// configuration; resources registered without it get the derived one.
pub trait GenerateConfig<C: Send + Sync + 'static>: Resource<C> {
    /// Returns the configuration to write; `req.generated` is the derived one.
    fn generate_config(&self, req: GenerateConfigRequest) -> Result<Value, Diagnostics> {
        Ok(req.generated)
    }
}

/// Request of [`GenerateConfig::generate_config`].
#[non_exhaustive]
pub struct GenerateConfigRequest {
    /// The state of the object.
    pub state: Value,
    /// The configuration the framework derived from it.
    pub generated: Value,
}

/// The configuration that reproduces `state`: see [`GenerateConfig`].
pub(crate) fn generated_config(block: &Block, state: &Value) -> Value {
    let Value::Object(attrs) = state else {
        return state.clone();
    };
    let mut config = attrs.clone();
    for a in &block.attributes {
        let kept = a.mode != Mode::Computed
            && a.write_only.is_none()
            && !a.sensitive
            && a.deprecated.is_none();
        let Some(v) = config.get_mut(&a.name) else {
            continue;
        };
        if !kept {
            *v = Value::Null;
        } else if let AttributeType::Nested(_, inner) = &a.ty {
            *v = each_object(v, |o| generated_config(&Block::of_attributes(inner), o));
        }
    }
    for b in &block.blocks {
        if let Some(v) = config.get_mut(&b.name) {
            *v = each_object(v, |o| generated_config(&b.block, o));
        }
    }
    Value::Object(config)
}

/// `f` applied to the object, or to each object of a collection.
fn each_object(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    match v {
        Value::Object(_) => f(v),
        Value::List(items) => Value::List(items.iter().map(f).collect()),
        Value::Set(items) => Value::Set(items.iter().map(f).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, o)| (k.clone(), f(o))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cty::Type;
    use crate::schema::{Attribute, NestedBlock, Nesting, WriteOnlyFallback};

    fn object(pairs: &[(&str, Value)]) -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    #[test]
    fn generated_config_keeps_arguments_and_drops_results_and_secrets() {
        let slot = Block::new()
            .attribute(Attribute::required("id", Type::Number))
            .attribute(Attribute::computed("label", Type::String));
        let block = Block::new()
            .attribute(Attribute::required("user", Type::String))
            .attribute(Attribute::optional("note", Type::String))
            .attribute(Attribute::optional_computed("path", Type::String))
            .attribute(Attribute::optional("password", Type::String).sensitive())
            .attribute(
                Attribute::optional("password_wo", Type::String)
                    .write_only(WriteOnlyFallback::Reject),
            )
            .attribute(Attribute::optional("old", Type::String).deprecated("use note"))
            .attribute(Attribute::computed("status", Type::String))
            .block(NestedBlock::new("slot", Nesting::List, slot));
        let state = object(&[
            ("user", Value::from("U1")),
            ("note", Value::Null),
            ("path", Value::from("/p")),
            ("password", Value::from("secret")),
            ("password_wo", Value::from("secret")),
            ("old", Value::from("x")),
            ("status", Value::from("Configured")),
            (
                "slot",
                Value::List(vec![object(&[
                    ("id", Value::from("0")),
                    ("label", Value::from("computed")),
                ])]),
            ),
        ]);
        let config = generated_config(&block, &state);
        assert_eq!(config.attr("user"), &Value::from("U1"));
        assert_eq!(config.attr("path"), &Value::from("/p"));
        for dropped in ["note", "password", "password_wo", "old", "status"] {
            assert_eq!(config.attr(dropped), &Value::Null, "{dropped}");
        }
        let Value::List(slots) = config.attr("slot") else {
            panic!("slot is a list: {config:?}");
        };
        assert_eq!(slots[0].attr("id"), &Value::from("0"));
        assert_eq!(slots[0].attr("label"), &Value::Null);
    }
}
