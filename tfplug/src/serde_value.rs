//! The bridge between a provider's serde types and [`Value`]: state and
//! config structs are plain serde structs; the framework converts them.
//!
//! Null reads as `None`. Unknown values (only present before apply) read
//! as `Field::Unknown` in a [`Field`](crate::value::Field), also as `None`
//! in an `Option` field, and are an error elsewhere. Numbers
//! convert exactly or fail; `tfplug::Number` keeps any number intact.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

use crate::cty::{Number, Type, Value};
use crate::error::CodecError;
use crate::field::{FIELD_TOKEN, UNKNOWN_TOKEN};

/// The newtype-struct name that makes [`Number`] pass through exactly.
pub(crate) const NUMBER_TOKEN: &str = "$tfplug::Number";

/// serde's default messages quote the offending input (`invalid value:
/// string "hunter2"`); a value may be a secret, so these name only its kind.
impl de::Error for CodecError {
    fn custom<T: std::fmt::Display>(msg: T) -> CodecError {
        CodecError::Serde(msg.to_string())
    }

    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> CodecError {
        CodecError::Serde(format!(
            "invalid type: {}, expected {expected}",
            kind_of(&unexpected)
        ))
    }

    fn invalid_value(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> CodecError {
        CodecError::Serde(format!(
            "invalid value: {}, expected {expected}",
            kind_of(&unexpected)
        ))
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> CodecError {
        CodecError::Serde(format!("unknown variant, expected one of {expected:?}"))
    }
}

/// The kind of an unexpected serde input, without its content.
fn kind_of(unexpected: &de::Unexpected<'_>) -> &'static str {
    use de::Unexpected as U;
    match unexpected {
        U::Bool(_) => "a bool",
        U::Unsigned(_) | U::Signed(_) | U::Float(_) => "a number",
        U::Char(_) | U::Str(_) => "a string",
        U::Bytes(_) => "bytes",
        U::Unit | U::Option => "null",
        U::Seq => "a sequence",
        U::Map => "a map",
        _ => "another kind of value",
    }
}

impl ser::Error for CodecError {
    fn custom<T: std::fmt::Display>(msg: T) -> CodecError {
        CodecError::Serde(msg.to_string())
    }
}

/// Converts a serde value (a state struct) to a [`Value`] of type `ty`.
pub fn to_value<T: Serialize + ?Sized>(v: &T, ty: &Type) -> Result<Value, CodecError> {
    conform(v.serialize(ValueSerializer)?, ty)
}

/// Converts a [`Value`] to a serde type (a state or config struct).
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, CodecError> {
    T::deserialize(ValueDeserializer(v))
}

/// Reshapes a serialized value to the schema type: sequences become sets or
/// tuples, maps become objects with every attribute present.
pub(crate) fn conform(v: Value, ty: &Type) -> Result<Value, CodecError> {
    let mismatch = |v: &Value| CodecError::TypeMismatch {
        expected: ty.to_string(),
        found: v.kind().to_owned(),
    };
    Ok(match (v, ty) {
        (v @ (Value::Null | Value::Unknown), _) => v,
        (v, Type::Dynamic) => v,
        (v @ Value::Bool(_), Type::Bool) | (v @ Value::String(_), Type::String) => v,
        (v @ Value::Number(_), Type::Number) => v,
        (Value::Number(n), Type::String) => Value::String(n.to_string().into()),
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::List(et)) => {
            Value::List(
                items
                    .into_iter()
                    .map(|i| conform(i, et))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Set(et)) => {
            Value::Set(
                items
                    .into_iter()
                    .map(|i| conform(i, et))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Value::List(items) | Value::Tuple(items), Type::Tuple(ts)) if items.len() == ts.len() => {
            Value::Tuple(
                items
                    .into_iter()
                    .zip(ts)
                    .map(|(i, t)| conform(i, t))
                    .collect::<Result<_, _>>()?,
            )
        }
        (Value::Map(m) | Value::Object(m), Type::Map(et)) => Value::Map(
            m.into_iter()
                .map(|(k, v)| Ok((k, conform(v, et)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (Value::Map(mut m) | Value::Object(mut m), Type::Object(types)) => {
            if let Some(extra) = m.keys().find(|k| !types.contains_key(*k)) {
                return Err(CodecError::UnexpectedAttribute(extra.clone()));
            }
            Value::Object(
                types
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), conform(m.remove(k).unwrap_or(Value::Null), t)?)))
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        (v, _) => return Err(mismatch(&v)),
    })
}

// ---- Serializer ----

struct ValueSerializer;

fn num(n: impl Into<Number>) -> Result<Value, CodecError> {
    Ok(Value::Number(n.into()))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = CodecError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = ser::Impossible<Value, CodecError>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = ser::Impossible<Value, CodecError>;

    fn serialize_bool(self, v: bool) -> Result<Value, CodecError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, CodecError> {
        num(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, CodecError> {
        num(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, CodecError> {
        num(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, CodecError> {
        num(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, CodecError> {
        num(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, CodecError> {
        num(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, CodecError> {
        num(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, CodecError> {
        num(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Value, CodecError> {
        Ok(Value::Number(Number::parse(&v.to_string())?))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, CodecError> {
        Ok(Value::Number(Number::parse(&v.to_string())?))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, CodecError> {
        num(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, CodecError> {
        if v.is_nan() {
            return Err(CodecError::BadNumber("NaN".to_owned()));
        }
        num(v)
    }
    fn serialize_char(self, v: char) -> Result<Value, CodecError> {
        Ok(Value::String(v.to_string().into()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, CodecError> {
        Ok(Value::String(v.to_owned().into()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Value, CodecError> {
        Err(CodecError::Serde(
            "byte arrays have no Terraform type; use a string (e.g. base64)".to_owned(),
        ))
    }
    fn serialize_none(self) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, CodecError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, CodecError> {
        if name == UNKNOWN_TOKEN {
            return Ok(Value::Unknown);
        }
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, CodecError> {
        Ok(Value::String(variant.to_owned().into()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<Value, CodecError> {
        let inner = v.serialize(self)?;
        match (name, inner) {
            (NUMBER_TOKEN, Value::String(s)) => Ok(Value::Number(Number::parse(&s)?)),
            (_, inner) => Ok(inner),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<Value, CodecError> {
        Ok(Value::Object(BTreeMap::from([(
            variant.to_owned(),
            v.serialize(self)?,
        )])))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, CodecError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, CodecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqSer, CodecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(CodecError::Serde(format!(
            "enum {name} with tuple variants has no Terraform type"
        )))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSer, CodecError> {
        Ok(MapSer {
            map: BTreeMap::new(),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSer, CodecError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(CodecError::Serde(format!(
            "enum {name} with struct variants has no Terraform type"
        )))
    }
}

struct SeqSer(Vec<Value>);

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        self.0.push(v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::Tuple(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::Tuple(self.0))
    }
}

struct MapSer {
    map: BTreeMap<String, Value>,
    key: Option<String>,
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CodecError> {
        match k.serialize(ValueSerializer)? {
            Value::String(s) => self.key = Some(s.to_string()),
            Value::Number(n) => self.key = Some(n.to_string()),
            other => {
                return Err(CodecError::Serde(format!(
                    "map key {} is not a string",
                    other.kind()
                )))
            }
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| CodecError::Serde("map value without a key".to_owned()))?;
        self.map.insert(key, v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::Map(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        self.map
            .insert(name.to_owned(), v.serialize(ValueSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::Object(self.map))
    }
}

// ---- Deserializer ----

struct ValueDeserializer<'a>(&'a Value);

impl ValueDeserializer<'_> {
    fn number(&self) -> Result<&Number, CodecError> {
        match self.0 {
            Value::Number(n) => Ok(n),
            Value::Unknown => Err(CodecError::Serde(
                "value is not known until apply".to_owned(),
            )),
            other => Err(CodecError::Serde(format!(
                "expected a number, found {}",
                other.kind()
            ))),
        }
    }
}

fn out_of_range(n: &Number, target: &str) -> CodecError {
    CodecError::Serde(format!("number {n} does not fit in {target}"))
}

macro_rules! deserialize_int {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
            let n = self.number()?;
            let v: $ty = n
                .as_str()
                .parse()
                .map_err(|_| out_of_range(n, stringify!($ty)))?;
            visitor.$visit(v)
        }
    };
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            Value::Unknown => Err(CodecError::Serde(
                "value is not known until apply".to_owned(),
            )),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::String(s) => visitor.visit_str(s),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(f) = n.as_f64() {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_str(n.as_str())
                }
            }
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => visitor.visit_seq(
                de::value::SeqDeserializer::new(items.iter().map(ValueDeserializer)),
            ),
            Value::Map(m) | Value::Object(m) => visitor.visit_map(de::value::MapDeserializer::new(
                m.iter().map(|(k, v)| (k.as_str(), ValueDeserializer(v))),
            )),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.0 {
            Value::Null | Value::Unknown => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        match self.0 {
            Value::Number(n) => visitor.visit_str(n.as_str()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        let n = self.number()?;
        visitor.visit_f64(n.as_f64().ok_or_else(|| out_of_range(n, "f64 exactly"))?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        self.deserialize_f64(visitor)
    }

    deserialize_int!(deserialize_i8, visit_i8, i8);
    deserialize_int!(deserialize_i16, visit_i16, i16);
    deserialize_int!(deserialize_i32, visit_i32, i32);
    deserialize_int!(deserialize_i64, visit_i64, i64);
    deserialize_int!(deserialize_i128, visit_i128, i128);
    deserialize_int!(deserialize_u8, visit_u8, u8);
    deserialize_int!(deserialize_u16, visit_u16, u16);
    deserialize_int!(deserialize_u32, visit_u32, u32);
    deserialize_int!(deserialize_u64, visit_u64, u64);
    deserialize_int!(deserialize_u128, visit_u128, u128);

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        // `()` stands for "no attributes": a provider without configuration.
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Object(m) if m.values().all(Value::is_null) => visitor.visit_unit(),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        if name == FIELD_TOKEN {
            return match self.0 {
                Value::Null => visitor.visit_none(),
                Value::Unknown => visitor.visit_unit(),
                _ => visitor.visit_some(self),
            };
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CodecError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(CodecError::Serde(format!(
                "expected a string naming an enum variant, found {}",
                other.kind()
            ))),
        }
    }

    /// An attribute the struct does not name is skipped whatever it holds,
    /// even a value not known until apply (typed validation sees only the
    /// attributes it asks for).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CodecError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool char bytes byte_buf unit_struct seq tuple tuple_struct map struct identifier
    }
}

impl<'de> IntoDeserializer<'de, CodecError> for ValueDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl Serialize for Number {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(NUMBER_TOKEN, self.as_str())
    }
}

impl<'de> de::Deserialize<'de> for Number {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Number, E> {
                Number::parse(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::from(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::from(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::from(v))
            }
            fn visit_newtype_struct<D: de::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Number, D::Error> {
                d.deserialize_str(V)
            }
        }
        // Named, as in `serialize`, so the schema check can tell a number
        // (read as its decimal text) from a string.
        d.deserialize_newtype_struct(NUMBER_TOKEN, V)
    }
}
