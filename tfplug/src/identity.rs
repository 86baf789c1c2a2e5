//! Resource identity (protocol 6.9, Terraform 1.12+): a small object that
//! names one remote object, stored beside the state, used by `import`
//! blocks (`identity = { ... }`) and by list resources.
//!
//! A resource declares an [`IdentitySchema`] whose attributes are state
//! attributes of the same name and type; the framework derives the identity
//! from every state it returns (read, plan, apply, import), so resources do
//! not repeat it. Clients older than 1.12 ignore the identity fields.

use std::sync::OnceLock;

use async_trait::async_trait;

use crate::cty::{Type, Value};
use crate::diag::{Diagnostic, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::resources::Resource;
use crate::schema::Schema;

/// Whether an `import` block must or may give an identity attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportRole {
    /// The `identity` of an `import` block must set it.
    Required,
    /// The `identity` of an `import` block may leave it out.
    Optional,
}

/// One attribute of an identity: a state attribute of the same name.
#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub(crate) name: String,
    pub(crate) ty: Type,
    pub(crate) role: ImportRole,
    description: String,
}

impl IdentityAttribute {
    /// An attribute every `import` block must give.
    pub fn required(name: impl Into<String>, ty: Type) -> IdentityAttribute {
        IdentityAttribute::new(name, ty, ImportRole::Required)
    }

    /// An attribute an `import` block may leave out.
    pub fn optional(name: impl Into<String>, ty: Type) -> IdentityAttribute {
        IdentityAttribute::new(name, ty, ImportRole::Optional)
    }

    fn new(name: impl Into<String>, ty: Type, role: ImportRole) -> IdentityAttribute {
        IdentityAttribute {
            name: name.into(),
            ty,
            role,
            description: String::new(),
        }
    }

    /// Shown by `terraform providers schema -json` and in the docs.
    pub fn description(mut self, text: impl Into<String>) -> IdentityAttribute {
        self.description = text.into();
        self
    }
}

/// The identity of a resource type: its attributes and a version that
/// changes when their shape does.
#[derive(Clone, Debug, Default)]
pub struct IdentitySchema {
    pub(crate) version: i64,
    pub(crate) attributes: Vec<IdentityAttribute>,
    /// The object type of `attributes`, built at its first use (every
    /// request that carries an identity encodes it); reset by
    /// [`attribute`](Self::attribute).
    value_type: OnceLock<Type>,
}

impl IdentitySchema {
    /// An identity of version 0 without attributes; add them with [`attribute`](Self::attribute).
    pub fn new() -> IdentitySchema {
        IdentitySchema::default()
    }

    /// Sets the version; raise it when the attributes change and implement
    /// [`Identity::upgrade_identity`].
    pub fn version(mut self, version: i64) -> IdentitySchema {
        self.version = version;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, attribute: IdentityAttribute) -> IdentitySchema {
        self.attributes.push(attribute);
        self.value_type = OnceLock::new();
        self
    }

    /// The object type of an identity value (built once).
    pub fn value_type(&self) -> &Type {
        self.value_type.get_or_init(|| {
            Type::object(
                self.attributes
                    .iter()
                    .map(|a| (a.name.clone(), a.ty.clone())),
            )
        })
    }

    pub(crate) fn to_proto(&self) -> pb::ResourceIdentitySchema {
        pb::ResourceIdentitySchema {
            version: self.version,
            identity_attributes: self
                .attributes
                .iter()
                .map(|a| pb::resource_identity_schema::IdentityAttribute {
                    name: a.name.clone(),
                    r#type: a.ty.to_json_bytes(),
                    required_for_import: a.role == ImportRole::Required,
                    optional_for_import: a.role == ImportRole::Optional,
                    description: a.description.clone(),
                })
                .collect(),
        }
    }

    /// The identity of `state`: each attribute copied from the state
    /// attribute of the same name (unknown while the plan does not know it).
    pub(crate) fn identity_of(&self, state: &Value) -> Value {
        Value::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), state.attr(&a.name).clone()))
                .collect(),
        )
    }

    /// Problems that would make [`identity_of`](Self::identity_of) wrong:
    /// an attribute the resource's schema lacks or types differently.
    pub(crate) fn check_against(&self, owner: &str, resource: &Schema) -> Vec<String> {
        let mut problems = Vec::new();
        for a in &self.attributes {
            match resource.block.get(&a.name).map(|r| r.value_type()) {
                None => problems.push(format!(
                    "{owner}: identity attribute {:?} is not an attribute of the resource",
                    a.name
                )),
                Some(ty) if ty != a.ty => problems.push(format!(
                    "{owner}: identity attribute {:?} is {} but the resource attribute is {ty}",
                    a.name, a.ty
                )),
                Some(_) => {}
            }
        }
        problems
    }

    /// The one required string attribute, which an import id stands for.
    fn single_string_attribute(&self) -> Option<&str> {
        match self.attributes.as_slice() {
            [a] if a.ty == Type::String => Some(&a.name),
            _ => None,
        }
    }
}

/// Optional: the resource has an identity (`import` blocks with
/// `identity = {...}`, and the identity list resources return).
///
/// The framework derives the identity from each state by attribute name,
/// answers Terraform's identity RPCs, and imports by identity through the
/// resource's [`ImportState`](crate::resource::ImportState) with the id
/// [`import_id`](Self::import_id) makes of the identity.
#[async_trait]
pub trait Identity<C: Send + Sync + 'static>: Resource<C> {
    /// The identity's attributes; each must be a resource attribute of the
    /// same name and type (checked when the provider starts).
    fn identity_schema(&self) -> IdentitySchema;

    /// The import id an identity stands for. The default handles an
    /// identity of one string attribute: its value. Override it for other
    /// shapes.
    fn import_id(&self, identity: &IdentityValue<'_>) -> Result<String, Diagnostics> {
        identity.single_string()
    }

    /// Converts an identity stored with an older identity version (as JSON)
    /// to the current shape. The default refuses, naming both versions.
    async fn upgrade_identity(
        &self,
        req: UpgradeIdentityRequest,
    ) -> Result<serde_json::Value, Diagnostics> {
        Err(Diagnostic::error(
            "Identity Upgrade Not Supported",
            format!(
                "The identity of {} was stored with identity version {}, which this provider version cannot \
                 convert. Use the provider version that wrote it, or remove the resource from the state and \
                 import it again.",
                self.type_name(),
                req.version
            ),
        )
        .into())
    }
}

/// Request of [`Identity::upgrade_identity`].
#[non_exhaustive]
pub struct UpgradeIdentityRequest {
    /// The identity version the stored identity was written with.
    pub version: i64,
    /// The stored identity, in the shape of that version.
    pub raw: serde_json::Value,
}

/// An identity as an `import` block gave it, with the schema it follows.
pub struct IdentityValue<'a> {
    pub(crate) schema: &'a IdentitySchema,
    pub(crate) value: &'a Value,
    pub(crate) type_name: &'a str,
}

impl IdentityValue<'_> {
    /// The value of one identity attribute (null when the block left it out).
    pub fn get(&self, name: &str) -> &Value {
        self.value.attr(name)
    }

    /// The value of the identity's only attribute, a string.
    fn single_string(&self) -> Result<String, Diagnostics> {
        let missing = |what: String| -> Diagnostics {
            Diagnostic::error("Invalid Import Identity", what).into()
        };
        let Some(name) = self.schema.single_string_attribute() else {
            return Err(missing(format!(
                "The resource type {} cannot be imported by identity: its provider does not map this \
                 identity to an import id. Import it by id instead. This is a provider bug.",
                self.type_name
            )));
        };
        self.get(name).as_str().map(str::to_owned).ok_or_else(|| {
            missing(format!(
                "The identity of {} needs {name:?}; set it in the import block's identity.",
                self.type_name
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;

    fn identity() -> IdentitySchema {
        IdentitySchema::new().attribute(IdentityAttribute::required("user", Type::String))
    }

    #[test]
    fn identity_attributes_must_be_resource_attributes_of_the_same_type() {
        let matching = Schema::new().attribute(Attribute::required("user", Type::String));
        assert!(identity().check_against("t", &matching).is_empty());
        let typed_differently = Schema::new().attribute(Attribute::required("user", Type::Number));
        let problems = identity().check_against("t", &typed_differently);
        assert!(
            problems[0].contains(r#""user" is "string" but the resource attribute is "number""#),
            "{problems:?}"
        );
        let missing = identity().check_against("t", &Schema::new());
        assert!(missing[0].contains("not an attribute"), "{missing:?}");
    }

    #[test]
    fn identity_follows_the_state_including_unknown_values() {
        let state = Value::Object(
            [
                ("user".to_owned(), Value::Unknown),
                ("other".to_owned(), Value::from("x")),
            ]
            .into(),
        );
        let derived = identity().identity_of(&state);
        assert_eq!(
            derived,
            Value::Object([("user".to_owned(), Value::Unknown)].into())
        );
    }

    #[test]
    fn an_import_id_needs_the_single_string_attribute() {
        let schema = identity();
        let given = Value::Object([("user".to_owned(), Value::from("U1"))].into());
        let value = IdentityValue {
            schema: &schema,
            value: &given,
            type_name: "t",
        };
        assert_eq!(value.single_string().unwrap(), "U1");
        let empty = Value::Object([("user".to_owned(), Value::Null)].into());
        let value = IdentityValue {
            schema: &schema,
            value: &empty,
            type_name: "t",
        };
        let missing = value.single_string().unwrap_err().to_string();
        assert!(missing.contains("needs \"user\""), "{missing}");
        let two = schema
            .clone()
            .attribute(IdentityAttribute::optional("slot", Type::Number));
        let value = IdentityValue {
            schema: &two,
            value: &given,
            type_name: "t",
        };
        assert!(value.single_string().is_err());
    }
}
