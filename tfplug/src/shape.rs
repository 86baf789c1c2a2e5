//! The shape of a serde type, learnt by driving its `Deserialize` with a
//! probe instead of data, so that a schema can be checked against the
//! struct holding its values at startup: names and types, through
//! `Option`, `Field`, sequences, maps and nested structs.
//!
//! A probe run follows a path of struct field names down the type and
//! records what it finds at the end, then fails on purpose; one run per
//! struct field, because a derived visitor stops at the first error.

use std::fmt;

use serde::de::{DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess};
use serde::de::{Deserializer, Visitor};

use crate::cty::Type;
use crate::error::CodecError;
use crate::field::FIELD_TOKEN;
use crate::serde_value::NUMBER_TOKEN;

/// Structs nested deeper than this are taken to be recursive.
const MAX_DEPTH: usize = 8;

/// What a Rust type holds, in the terms Terraform's types need.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Shape {
    Bool,
    /// Any integer or float type, or tfplug's `Number`.
    Number,
    /// `String` and the like, and unit-variant enums (read by name).
    String,
    /// Anything at all (`Value`, `serde_json::Value`): read through
    /// `deserialize_any`, so it fits every Terraform type.
    Any,
    /// `Option<T>` or `Field<T>`.
    Nullable(Box<Shape>),
    /// `Vec<T>`, sets and other sequences.
    Seq(Box<Shape>),
    /// Maps with string keys.
    Map(Box<Shape>),
    /// A struct with named fields, in declaration order.
    Struct(Vec<(&'static str, Shape)>),
    /// A kind no Terraform type maps to (bytes, tuples, unit), named.
    Other(&'static str),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Bool => f.write_str("bool"),
            Shape::Number => f.write_str("a number type"),
            Shape::String => f.write_str("String"),
            Shape::Any => f.write_str("any value"),
            Shape::Nullable(s) => write!(f, "Option<{s}>"),
            Shape::Seq(s) => write!(f, "Vec<{s}>"),
            Shape::Map(s) => write!(f, "a map of {s}"),
            Shape::Struct(fields) => {
                let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                write!(f, "a struct {{{}}}", names.join(", "))
            }
            Shape::Other(kind) => f.write_str(kind),
        }
    }
}

/// The shape of `T`.
pub(crate) fn shape_of<T: DeserializeOwned>() -> Shape {
    shape_at::<T>(&mut Vec::new())
}

/// The shape of the field at `path` (struct field names from the top).
fn shape_at<T: DeserializeOwned>(path: &mut Vec<&'static str>) -> Shape {
    let mut found = Found::default();
    // The probe always ends in an error once it has recorded its finding.
    let _ = T::deserialize(Probe {
        path,
        found: &mut found,
    });
    let inner = match found.end {
        Some(End::Leaf(shape)) => shape,
        Some(End::Struct(_)) if path.len() >= MAX_DEPTH => Shape::Other("a recursive type"),
        Some(End::Struct(fields)) => Shape::Struct(
            fields
                .iter()
                .map(|name| {
                    path.push(name);
                    let shape = shape_at::<T>(path);
                    path.pop();
                    (*name, shape)
                })
                .collect(),
        ),
        // The type's own Deserialize failed before asking for anything.
        None => Shape::Other("a type with a custom Deserialize"),
    };
    found
        .wrappers
        .into_iter()
        .rev()
        .fold(inner, |shape, wrapper| match wrapper {
            Wrapper::Nullable => Shape::Nullable(Box::new(shape)),
            Wrapper::Seq => Shape::Seq(Box::new(shape)),
            Wrapper::Map => Shape::Map(Box::new(shape)),
        })
}

/// What one probe run found at the end of its path, outermost first.
#[derive(Default)]
struct Found {
    wrappers: Vec<Wrapper>,
    end: Option<End>,
}

enum Wrapper {
    Nullable,
    Seq,
    Map,
}

enum End {
    Leaf(Shape),
    /// The field names; their shapes take one more run each.
    Struct(&'static [&'static str]),
}

/// The deliberate failure that ends a probe run.
fn done<T>() -> Result<T, CodecError> {
    Err(CodecError::Serde("schema probe".to_owned()))
}

struct Probe<'a> {
    /// Struct field names still to descend through.
    path: &'a [&'static str],
    found: &'a mut Found,
}

impl Probe<'_> {
    /// Records `wrapper` if the path is walked; wrappers on the way are
    /// passed through.
    fn wrap(self, wrapper: Wrapper) -> Self {
        if self.path.is_empty() {
            self.found.wrappers.push(wrapper);
        }
        self
    }

    fn leaf<T>(self, shape: Shape) -> Result<T, CodecError> {
        if self.path.is_empty() {
            self.found.end = Some(End::Leaf(shape));
        }
        done()
    }
}

macro_rules! leaves {
    ($($method:ident => $shape:expr),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value, CodecError> {
            self.leaf($shape)
        })*
    };
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = CodecError;

    leaves! {
        deserialize_any => Shape::Any,
        deserialize_ignored_any => Shape::Any,
        deserialize_bool => Shape::Bool,
        deserialize_i8 => Shape::Number,
        deserialize_i16 => Shape::Number,
        deserialize_i32 => Shape::Number,
        deserialize_i64 => Shape::Number,
        deserialize_i128 => Shape::Number,
        deserialize_u8 => Shape::Number,
        deserialize_u16 => Shape::Number,
        deserialize_u32 => Shape::Number,
        deserialize_u64 => Shape::Number,
        deserialize_u128 => Shape::Number,
        deserialize_f32 => Shape::Number,
        deserialize_f64 => Shape::Number,
        deserialize_char => Shape::String,
        deserialize_str => Shape::String,
        deserialize_string => Shape::String,
        deserialize_identifier => Shape::String,
        deserialize_bytes => Shape::Other("bytes"),
        deserialize_byte_buf => Shape::Other("bytes"),
        deserialize_unit => Shape::Other("()"),
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: V,
    ) -> Result<V::Value, CodecError> {
        self.leaf(Shape::Other("a unit struct"))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, CodecError> {
        self.leaf(Shape::Other("a tuple"))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, CodecError> {
        self.leaf(Shape::Other("a tuple struct"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, CodecError> {
        // Enums cross the codec as the variant's name.
        self.leaf(Shape::String)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_some(self.wrap(Wrapper::Nullable))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        match name {
            FIELD_TOKEN => visitor.visit_some(self.wrap(Wrapper::Nullable)),
            NUMBER_TOKEN => self.leaf(Shape::Number),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_seq(OneElement(Some(self.wrap(Wrapper::Seq))))
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_map(OneEntry {
            key: Some("key"),
            value: Some(self.wrap(Wrapper::Map)),
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        match self.path.split_first() {
            None => {
                self.found.end = Some(End::Struct(fields));
                done()
            }
            Some((name, rest)) => visitor.visit_map(OneEntry {
                key: Some(name),
                value: Some(Probe {
                    path: rest,
                    found: self.found,
                }),
            }),
        }
    }
}

/// A sequence whose one element is the probe.
struct OneElement<'a>(Option<Probe<'a>>);

impl<'de> SeqAccess<'de> for OneElement<'_> {
    type Error = CodecError;
    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        match self.0.take() {
            Some(probe) => seed.deserialize(probe).map(Some),
            None => Ok(None),
        }
    }
}

/// A map (or struct) whose one entry has the probe as its value.
struct OneEntry<'a> {
    key: Option<&'static str>,
    value: Option<Probe<'a>>,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = CodecError;
    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        match self.key.take() {
            Some(key) => seed.deserialize(key.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }
    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, CodecError> {
        match self.value.take() {
            Some(probe) => seed.deserialize(probe),
            None => done(),
        }
    }
}

/// Compares the schema type `ty` of the attribute at `path` with the
/// `shape` of its struct field; pushes one message per difference.
fn compare(owner: &str, path: &str, ty: &Type, shape: &Shape, errors: &mut Vec<String>) {
    match (ty, strip_nullable(shape)) {
        (_, Shape::Any)
        | (Type::Bool, Shape::Bool)
        | (Type::Number, Shape::Number)
        | (Type::String, Shape::String) => {}
        (Type::List(t) | Type::Set(t), Shape::Seq(s)) | (Type::Map(t), Shape::Map(s)) => {
            compare(owner, &format!("{path}[*]"), t, s, errors)
        }
        (Type::Object(attributes), Shape::Struct(fields)) => {
            compare_object(owner, path, attributes, fields, errors)
        }
        _ => errors.push(format!(
            "{owner}: schema attribute {path:?} has type {ty} but its state struct field is {shape}"
        )),
    }
}

/// Compares an object type with a struct: names both ways, then the type
/// of every attribute present in both.
pub(crate) fn compare_object(
    owner: &str,
    path: &str,
    attributes: &std::collections::BTreeMap<String, Type>,
    fields: &[(&'static str, Shape)],
    errors: &mut Vec<String>,
) {
    let at = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for name in attributes.keys() {
        if !fields.iter().any(|(f, _)| f == name) {
            errors.push(format!(
                "{owner}: schema attribute {:?} has no field in the state struct",
                at(name)
            ));
        }
    }
    for (field, shape) in fields {
        match attributes.get(*field) {
            None => errors.push(format!(
                "{owner}: state struct field {:?} is not in the schema",
                at(field)
            )),
            Some(ty) => compare(owner, &at(field), ty, shape, errors),
        }
    }
}

/// `Option<T>` and `Field<T>` hold `T` or null; every attribute may be null.
pub(crate) fn strip_nullable(shape: &Shape) -> &Shape {
    match shape {
        Shape::Nullable(inner) => strip_nullable(inner),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, dead_code)] // tests may unwrap; the structs are only probed
mod tests {
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use serde::Deserialize;

    use crate::cty::{Number, Type};
    use crate::field::Field;
    use crate::schema::{Attribute, Block, NestedBlock, Nesting, Schema};

    use super::*;

    #[derive(Deserialize)]
    struct Port {
        number: u16,
        protocol: Option<String>,
    }

    /// The state struct matching `schema()`; each test replaces the
    /// types of the fields it gets wrong.
    #[derive(Deserialize)]
    struct Thing<
        Size = Option<Number>,
        Tags = Option<BTreeMap<String, String>>,
        Ids = Vec<String>,
        Members = BTreeSet<String>,
        Anything = serde_json::Value,
        Ports = Vec<Port>,
    > {
        name: String,
        size: Size,
        enabled: Field<bool>,
        tags: Tags,
        ids: Ids,
        members: Members,
        anything: Anything,
        ports: Ports,
        main_port: Option<Port>,
    }

    type Good = Thing;

    fn port_block() -> Block {
        Block::new()
            .attribute(Attribute::required("number", Type::Number))
            .attribute(Attribute::optional("protocol", Type::String))
    }

    fn schema() -> Schema {
        Schema::new()
            .attribute(Attribute::required("name", Type::String))
            .attribute(Attribute::computed("size", Type::Number))
            .attribute(Attribute::optional("enabled", Type::Bool))
            .attribute(Attribute::optional(
                "tags",
                Type::Map(Box::new(Type::String)),
            ))
            .attribute(Attribute::optional(
                "ids",
                Type::List(Box::new(Type::String)),
            ))
            .attribute(Attribute::optional(
                "members",
                Type::Set(Box::new(Type::String)),
            ))
            .attribute(Attribute::optional("anything", Type::Dynamic))
            .block(NestedBlock::new("ports", Nesting::List, port_block()))
            .block(NestedBlock::new("main_port", Nesting::Single, port_block()))
    }

    fn problems<T: DeserializeOwned>() -> String {
        schema()
            .check_against::<T>("thing")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn shapes_follow_wrappers_and_nested_structs() {
        let Shape::Struct(fields) = shape_of::<Good>() else {
            panic!("not a struct")
        };
        let get = |name: &str| fields.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(get("size"), Shape::Nullable(Box::new(Shape::Number)));
        assert_eq!(get("enabled"), Shape::Nullable(Box::new(Shape::Bool)));
        assert_eq!(
            get("tags"),
            Shape::Nullable(Box::new(Shape::Map(Box::new(Shape::String))))
        );
        assert_eq!(get("anything"), Shape::Any);
        assert_eq!(
            get("ports"),
            Shape::Seq(Box::new(Shape::Struct(vec![
                ("number", Shape::Number),
                ("protocol", Shape::Nullable(Box::new(Shape::String))),
            ])))
        );
        let _: HashMap<String, u8> = HashMap::new();
        assert_eq!(
            shape_of::<HashMap<String, u8>>(),
            Shape::Map(Box::new(Shape::Number))
        );
    }

    #[test]
    fn a_matching_struct_passes() {
        schema().check_against::<Good>("thing").unwrap();
    }

    #[test]
    fn a_scalar_of_the_wrong_type_is_named_with_both_types() {
        let err = problems::<Thing<Option<String>>>();
        assert!(
            err.contains(r#"schema attribute "size" has type "number" but its state struct field is Option<String>"#),
            "{err}"
        );
    }

    #[test]
    fn collections_and_dynamic_are_compared_inside() {
        let err = problems::<
            Thing<
                Option<Number>,
                Option<BTreeMap<String, u32>>, // map(string)
                String,                        // list(string)
                Vec<bool>,                     // set(string)
                String,                        // dynamic
            >,
        >();
        for expected in [
            r#""tags[*]" has type "string" but its state struct field is a number type"#,
            r#""ids" has type ["list","string"] but its state struct field is String"#,
            r#""members[*]" has type "string" but its state struct field is bool"#,
            r#""anything" has type "dynamic" but its state struct field is String"#,
        ] {
            assert!(err.contains(expected), "missing {expected}: {err}");
        }
    }

    #[test]
    fn nested_structs_are_checked_by_name_and_type() {
        #[derive(Deserialize)]
        struct OtherPort {
            number: String, // number
            colour: String, // not in the schema; "protocol" is missing
        }
        let err = problems::<
            Thing<
                Option<Number>,
                Option<BTreeMap<String, String>>,
                Vec<String>,
                BTreeSet<String>,
                serde_json::Value,
                Vec<OtherPort>,
            >,
        >();
        for expected in [
            r#""ports[*].number" has type "number" but its state struct field is String"#,
            r#"state struct field "ports[*].colour" is not in the schema"#,
            r#"schema attribute "ports[*].protocol" has no field in the state struct"#,
        ] {
            assert!(err.contains(expected), "missing {expected}: {err}");
        }
    }

    #[test]
    fn a_state_type_that_is_not_a_struct_is_refused() {
        let err = problems::<Vec<String>>();
        assert!(
            err.contains("is not a serde struct with named fields"),
            "{err}"
        );
    }

    #[test]
    fn a_recursive_type_ends() {
        #[derive(Deserialize)]
        struct Tree {
            name: String,
            children: Vec<Tree>,
        }
        let shape = shape_of::<Tree>();
        assert!(shape.to_string().contains("a struct {name, children}"));
    }
}
