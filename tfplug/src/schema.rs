//! Schemas: the attributes and blocks of a provider, resource or data
//! source, with the plan behaviour (defaults, replacement, validators)
//! declared next to each attribute.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;

use crate::cty::{Type, Value};
use crate::diag::{AttributePath, Diagnostics};
use crate::proto::tfplugin6 as pb;
use crate::shape::{compare_object, shape_of, strip_nullable, Shape};

/// Which of configuration and provider sets an attribute. An enum, so
/// impossible combinations (required and computed) cannot be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; otherwise it is null.
    Optional,
    /// Only the provider sets it.
    Computed,
    /// The configuration may set it; otherwise the provider (or a default) does.
    OptionalComputed,
}

impl Mode {
    /// True when the provider may set the value.
    pub fn is_computed(self) -> bool {
        matches!(self, Mode::Computed | Mode::OptionalComputed)
    }
}

/// What the framework does with a write-only attribute when Terraform is
/// older than 1.11 and cannot keep values out of the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOnlyFallback {
    /// Validation fails with a diagnostic naming the attribute and the
    /// Terraform version needed, when the configuration sets it.
    Reject,
    /// The value is treated as a sensitive attribute and kept in the state.
    StoreInState,
}

/// A check of one attribute's value, run by the framework during
/// validation on known, non-null values only.
pub trait Validator: Send + Sync {
    /// What the validator accepts, e.g. "a string of 1 to 64 characters".
    fn description(&self) -> String;
    /// Adds an error to `diags` when `value` is not acceptable.
    fn validate(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
}

/// Nesting of a nested attribute or block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// One object.
    Single,
    /// A list of objects.
    List,
    /// A set of objects.
    Set,
    /// A map of objects.
    Map,
}

impl Nesting {
    fn wrap(self, object: Type) -> Type {
        match self {
            Nesting::Single => object,
            Nesting::List => Type::list(object),
            Nesting::Set => Type::set(object),
            Nesting::Map => Type::map(object),
        }
    }
}

/// The type of an attribute: a plain type, or nested attributes.
#[derive(Clone, Debug)]
pub enum AttributeType {
    /// A plain type such as `string` or `list(number)`.
    Plain(Type),
    /// Nested attributes, each with its own mode and plan behaviour.
    Nested(Nesting, Vec<Attribute>),
}

impl From<Type> for AttributeType {
    fn from(t: Type) -> AttributeType {
        AttributeType::Plain(t)
    }
}

/// Text shown in documentation and by language servers.
#[derive(Clone, Debug, Default)]
struct Description {
    text: String,
    markdown: bool,
}

impl Description {
    fn kind(&self) -> i32 {
        if self.markdown {
            pb::StringKind::Markdown
        } else {
            pb::StringKind::Plain
        }
        .into()
    }
}

/// One attribute of a schema.
#[derive(Clone)]
pub struct Attribute {
    pub(crate) name: String,
    pub(crate) ty: AttributeType,
    pub(crate) mode: Mode,
    pub(crate) sensitive: bool,
    pub(crate) write_only: Option<WriteOnlyFallback>,
    pub(crate) deprecated: Option<String>,
    description: Description,
    pub(crate) requires_replace: bool,
    pub(crate) use_state_for_unknown: bool,
    pub(crate) default: Option<Value>,
    pub(crate) validators: Vec<Arc<dyn Validator>>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("mode", &self.mode)
            .field("write_only", &self.write_only)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    /// An attribute of any mode.
    pub fn new(name: impl Into<String>, ty: impl Into<AttributeType>, mode: Mode) -> Attribute {
        Attribute {
            name: name.into(),
            ty: ty.into(),
            mode,
            sensitive: false,
            write_only: None,
            deprecated: None,
            description: Description::default(),
            requires_replace: false,
            use_state_for_unknown: false,
            default: None,
            validators: Vec::new(),
        }
    }

    /// An attribute the configuration must set.
    pub fn required(name: impl Into<String>, ty: impl Into<AttributeType>) -> Attribute {
        Attribute::new(name, ty, Mode::Required)
    }

    /// An attribute the configuration may set.
    pub fn optional(name: impl Into<String>, ty: impl Into<AttributeType>) -> Attribute {
        Attribute::new(name, ty, Mode::Optional)
    }

    /// An attribute only the provider sets. The framework plans it as
    /// unknown on create and on every update, unless
    /// [`use_state_for_unknown`](Attribute::use_state_for_unknown) says it never changes.
    pub fn computed(name: impl Into<String>, ty: impl Into<AttributeType>) -> Attribute {
        Attribute::new(name, ty, Mode::Computed)
    }

    /// An attribute the configuration may set and the provider fills otherwise.
    pub fn optional_computed(name: impl Into<String>, ty: impl Into<AttributeType>) -> Attribute {
        Attribute::new(name, ty, Mode::OptionalComputed)
    }

    /// Plain-text description.
    pub fn description(mut self, text: impl Into<String>) -> Attribute {
        self.description = Description {
            text: text.into(),
            markdown: false,
        };
        self
    }

    /// Markdown description (shown in generated docs).
    pub fn markdown_description(mut self, text: impl Into<String>) -> Attribute {
        self.description = Description {
            text: text.into(),
            markdown: true,
        };
        self
    }

    /// Terraform hides the value in plan output.
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }

    /// The value is never stored in plan or state (plugin protocol 6.8,
    /// Terraform 1.11+). The framework nulls it in every planned and new
    /// state; read it from the configuration in create and update.
    /// `fallback` says what happens with an older Terraform.
    ///
    /// With [`WriteOnlyFallback::StoreInState`] the attribute is also
    /// sensitive, as an older Terraform keeps its value. With
    /// [`WriteOnlyFallback::Reject`] no value ever reaches a plan or a state
    /// (a client without write-only support gets an error instead), so it is
    /// not marked sensitive: Terraform lists every sensitive attribute of
    /// every instance in the state, null or not, and copies and rewrites
    /// that whole state after each resource it applies, so each needless
    /// mark costs CPU per resource that grows with the number of resources
    /// (about 6 ms per mark per resource at 1,000 on Terraform 1.15.5).
    pub fn write_only(mut self, fallback: WriteOnlyFallback) -> Attribute {
        self.write_only = Some(fallback);
        self.sensitive = fallback == WriteOnlyFallback::StoreInState;
        self
    }

    /// Whether the framework keeps this attribute's value out of every
    /// diagnostic and log: sensitive and write-only ones alike.
    pub(crate) fn hides_value(&self) -> bool {
        self.sensitive || self.write_only.is_some()
    }

    /// Marks the attribute deprecated; Terraform warns when it is set.
    pub fn deprecated(mut self, message: impl Into<String>) -> Attribute {
        self.deprecated = Some(message.into());
        self
    }

    /// A change of this attribute destroys and re-creates the resource.
    pub fn requires_replace(mut self) -> Attribute {
        self.requires_replace = true;
        self
    }

    /// A computed value that, once known, keeps its prior value in plans
    /// (e.g. an id), instead of showing "(known after apply)" on update.
    pub fn use_state_for_unknown(mut self) -> Attribute {
        self.use_state_for_unknown = true;
        self
    }

    /// The value planned when the configuration leaves the attribute null.
    /// Makes the attribute optional-and-computed, as Terraform requires.
    pub fn default(mut self, value: impl Into<Value>) -> Attribute {
        self.default = Some(value.into());
        self.mode = Mode::OptionalComputed;
        self
    }

    /// Adds a validator, run on known, non-null configuration values.
    pub fn validator(mut self, v: impl Validator + 'static) -> Attribute {
        self.validators.push(Arc::new(v));
        self
    }

    /// The attribute name as written in configuration and in the state struct.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Terraform type of the value, e.g. to check it against the state struct.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Plain(t) => t.clone(),
            AttributeType::Nested(n, attrs) => n.wrap(Type::Object(
                attrs
                    .iter()
                    .map(|a| (a.name.clone(), a.value_type()))
                    .collect(),
            )),
        }
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        let (ty, nested) = match &self.ty {
            AttributeType::Plain(t) => (t.to_json_bytes(), None),
            AttributeType::Nested(n, attrs) => (
                Vec::new(),
                Some(pb::schema::Object {
                    attributes: attrs.iter().map(Attribute::to_proto).collect(),
                    nesting: match n {
                        Nesting::Single => pb::schema::object::NestingMode::Single,
                        Nesting::List => pb::schema::object::NestingMode::List,
                        Nesting::Set => pb::schema::object::NestingMode::Set,
                        Nesting::Map => pb::schema::object::NestingMode::Map,
                    }
                    .into(),
                    ..Default::default()
                }),
            ),
        };
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: ty,
            nested_type: nested,
            description: self.description.text.clone(),
            required: self.mode == Mode::Required,
            optional: matches!(self.mode, Mode::Optional | Mode::OptionalComputed),
            computed: self.mode.is_computed(),
            sensitive: self.sensitive,
            description_kind: self.description.kind(),
            deprecated: self.deprecated.is_some(),
            deprecation_message: self.deprecated.clone().unwrap_or_default(),
            write_only: self.write_only.is_some(),
        }
    }
}

/// A nested block (`rule { ... }` in configuration).
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub(crate) name: String,
    pub(crate) nesting: Nesting,
    pub(crate) block: Block,
    min_items: i64,
    max_items: i64,
}

impl NestedBlock {
    /// A block with the given nesting.
    pub fn new(name: impl Into<String>, nesting: Nesting, block: Block) -> NestedBlock {
        NestedBlock {
            name: name.into(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
        }
    }

    /// Bounds on the number of blocks (list and set nesting); 0 means no bound.
    pub fn items(mut self, min: i64, max: i64) -> NestedBlock {
        self.min_items = min;
        self.max_items = max;
        self
    }

    fn value_type(&self) -> Type {
        self.nesting.wrap(self.block.object_type())
    }
}

/// A block: attributes and nested blocks.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub(crate) attributes: Vec<Attribute>,
    pub(crate) blocks: Vec<NestedBlock>,
    description: Description,
    deprecated: bool,
}

impl Block {
    /// An empty block.
    pub fn new() -> Block {
        Block::default()
    }

    /// A block of just these attributes (the inside of nested attributes).
    pub(crate) fn of_attributes(attributes: &[Attribute]) -> Block {
        Block {
            attributes: attributes.to_vec(),
            ..Block::default()
        }
    }

    /// Adds an attribute.
    pub fn attribute(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.blocks.push(b);
        self
    }

    /// Plain-text description.
    pub fn description(mut self, text: impl Into<String>) -> Block {
        self.description = Description {
            text: text.into(),
            markdown: false,
        };
        self
    }

    /// Markdown description.
    pub fn markdown_description(mut self, text: impl Into<String>) -> Block {
        self.description = Description {
            text: text.into(),
            markdown: true,
        };
        self
    }

    /// The object type of values of this block.
    pub fn object_type(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.value_type()))
                .chain(self.blocks.iter().map(|b| (b.name.clone(), b.value_type())))
                .collect(),
        )
    }

    /// Looks up an attribute by name.
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    fn to_proto(&self, version: i64) -> pb::schema::Block {
        pb::schema::Block {
            version,
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| pb::schema::NestedBlock {
                    type_name: b.name.clone(),
                    block: Some(b.block.to_proto(0)),
                    nesting: match b.nesting {
                        Nesting::Single => pb::schema::nested_block::NestingMode::Single,
                        Nesting::List => pb::schema::nested_block::NestingMode::List,
                        Nesting::Set => pb::schema::nested_block::NestingMode::Set,
                        Nesting::Map => pb::schema::nested_block::NestingMode::Map,
                    }
                    .into(),
                    min_items: b.min_items,
                    max_items: b.max_items,
                })
                .collect(),
            description: self.description.text.clone(),
            description_kind: self.description.kind(),
            deprecated: self.deprecated,
            deprecation_message: String::new(),
        }
    }

    /// Finds schema mistakes Terraform would reject less clearly.
    fn lint(&self, owner: &str, errors: &mut Vec<String>) {
        for a in &self.attributes {
            if a.write_only.is_some() && a.mode.is_computed() {
                errors.push(format!(
                    "{owner}: write-only attribute {:?} cannot be computed",
                    a.name
                ));
            }
            if a.default.is_some() && a.mode != Mode::OptionalComputed {
                errors.push(format!(
                    "{owner}: attribute {:?} has a default but is not optional+computed",
                    a.name
                ));
            }
            if a.use_state_for_unknown && !a.mode.is_computed() {
                errors.push(format!(
                    "{owner}: use_state_for_unknown on non-computed attribute {:?}",
                    a.name
                ));
            }
            if let AttributeType::Nested(_, attrs) = &a.ty {
                Block::of_attributes(attrs).lint(&format!("{owner}.{}", a.name), errors);
            }
        }
        for b in &self.blocks {
            b.block.lint(&format!("{owner}.{}", b.name), errors);
        }
    }
}

/// The schema of a provider, resource or data source.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub(crate) version: i64,
    pub(crate) block: Block,
    /// The object type of `block`, built at its first use: every request
    /// decodes and encodes its values with it, and building it copies every
    /// attribute name into a fresh map. Reset by the builders that change
    /// `block`.
    value_type: OnceLock<Type>,
}

impl Schema {
    /// An empty schema, version 0.
    pub fn new() -> Schema {
        Schema::default()
    }

    /// The state schema version; raise it when the stored state shape
    /// changes, and implement `UpgradeState` to convert older states.
    pub fn version(mut self, v: i64) -> Schema {
        self.version = v;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, a: Attribute) -> Schema {
        self.block = self.block.attribute(a);
        self.value_type = OnceLock::new();
        self
    }

    /// Adds a nested block.
    pub fn block(mut self, b: NestedBlock) -> Schema {
        self.block = self.block.block(b);
        self.value_type = OnceLock::new();
        self
    }

    /// Plain-text description.
    pub fn description(mut self, text: impl Into<String>) -> Schema {
        self.block = self.block.description(text);
        self
    }

    /// Markdown description.
    pub fn markdown_description(mut self, text: impl Into<String>) -> Schema {
        self.block = self.block.markdown_description(text);
        self
    }

    /// Marks the whole resource deprecated.
    pub fn deprecated(mut self) -> Schema {
        self.block.deprecated = true;
        self
    }

    /// The top-level block: the attributes and nested blocks of the object.
    pub fn block_ref(&self) -> &Block {
        &self.block
    }

    /// The object type of values of this schema (built once).
    pub fn value_type(&self) -> &Type {
        self.value_type.get_or_init(|| self.block.object_type())
    }

    pub(crate) fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto(self.version)),
        }
    }

    /// Checks that the schema and the serde struct `T` that holds its
    /// values name the same attributes with matching types (through
    /// `Option`, `Field`, sequences, maps and nested structs), and that the
    /// schema has no mistakes Terraform would reject. The framework runs
    /// this for every resource when serving; call it in a unit test to
    /// catch drift early.
    pub fn check_against<T: DeserializeOwned>(&self, owner: &str) -> Result<(), SchemaMismatch> {
        let mut errors = Vec::new();
        self.block.lint(owner, &mut errors);
        let shape = shape_of::<T>();
        match (self.block.object_type(), strip_nullable(&shape)) {
            (Type::Object(attributes), Shape::Struct(fields)) => {
                compare_object(owner, "", &attributes, fields, &mut errors)
            }
            _ => errors.push(format!(
                "{owner}: the state type is not a serde struct with named fields"
            )),
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SchemaMismatch(errors))
        }
    }
}

/// A schema that does not match its state struct, or breaks Terraform's rules.
#[derive(Debug, thiserror::Error)]
#[error("schema problems: {}", .0.join("; "))]
pub struct SchemaMismatch(pub Vec<String>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_type_follows_attributes_and_blocks_added_after_it_was_read() {
        let schema = Schema::new().attribute(Attribute::required("a", Type::String));
        assert_eq!(*schema.value_type(), Type::object([("a", Type::String)]));
        let schema = schema
            .attribute(Attribute::optional("b", Type::Bool))
            .block(NestedBlock::new("c", Nesting::List, Block::new()));
        assert_eq!(
            *schema.value_type(),
            Type::object([
                ("a", Type::String),
                ("b", Type::Bool),
                ("c", Type::list(Type::object::<&str>([]))),
            ])
        );
    }
}
