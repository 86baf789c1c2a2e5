//! Terraform values (cty) and their two wire encodings: msgpack (what
//! DynamicValue carries) and JSON (raw state, type constraints).
//!
//! The msgpack layout follows go-cty's `cty/msgpack` package: null is nil,
//! an unknown value is an extension (any extension type reads as unknown),
//! objects are maps keyed by attribute name, a value of dynamic type is the
//! pair `[type JSON, value]`, and a number is an integer, an exact float64,
//! or else its decimal text, so no number is ever rounded.

use std::collections::BTreeMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::error::CodecError;

/// A Terraform type, as written in schemas and in dynamic values.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `number`: arbitrary precision.
    Number,
    /// `string`.
    String,
    /// `dynamic`: any type, decided per value.
    Dynamic,
    /// `list(T)`.
    List(Box<Type>),
    /// `set(T)`.
    Set(Box<Type>),
    /// `map(T)`.
    Map(Box<Type>),
    /// `tuple([T...])`.
    Tuple(Vec<Type>),
    /// `object({name = T...})`.
    Object(BTreeMap<String, Type>),
}

impl Type {
    /// `list(element)`.
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    /// `set(element)`.
    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    /// `map(element)`.
    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    /// `object({...})` from `(name, type)` pairs.
    pub fn object<N: Into<String>>(attributes: impl IntoIterator<Item = (N, Type)>) -> Type {
        Type::Object(attributes.into_iter().map(|(n, t)| (n.into(), t)).collect())
    }

    /// The type in Terraform's JSON notation (`"string"`, `["list","string"]`).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Type::Bool => J::from("bool"),
            Type::Number => J::from("number"),
            Type::String => J::from("string"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(e) => J::Array(vec![J::from("list"), e.to_json()]),
            Type::Set(e) => J::Array(vec![J::from("set"), e.to_json()]),
            Type::Map(e) => J::Array(vec![J::from("map"), e.to_json()]),
            Type::Tuple(es) => J::Array(vec![
                J::from("tuple"),
                J::Array(es.iter().map(Type::to_json).collect()),
            ]),
            Type::Object(attrs) => J::Array(vec![
                J::from("object"),
                J::Object(
                    attrs
                        .iter()
                        .map(|(k, t)| (k.clone(), t.to_json()))
                        .collect(),
                ),
            ]),
        }
    }

    /// The JSON notation as bytes, as schemas carry it.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }

    /// Parses Terraform's JSON type notation. Optional-attribute markers
    /// (the third element of an object type) are accepted and ignored.
    pub fn from_json(json: &serde_json::Value) -> Result<Type, CodecError> {
        use serde_json::Value as J;
        let bad = || CodecError::BadType(json.to_string());
        match json {
            J::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            J::Array(parts) => {
                let kind = parts.first().and_then(J::as_str).ok_or_else(bad)?;
                let arg = parts.get(1).ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(arg)?)),
                    "set" => Ok(Type::set(Type::from_json(arg)?)),
                    "map" => Ok(Type::map(Type::from_json(arg)?)),
                    "tuple" => Ok(Type::Tuple(
                        arg.as_array()
                            .ok_or_else(bad)?
                            .iter()
                            .map(Type::from_json)
                            .collect::<Result<_, _>>()?,
                    )),
                    "object" => Ok(Type::Object(
                        arg.as_object()
                            .ok_or_else(bad)?
                            .iter()
                            .map(|(k, v)| Ok((k.clone(), Type::from_json(v)?)))
                            .collect::<Result<_, CodecError>>()?,
                    )),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// A number of arbitrary size and precision, kept as its exact decimal text.
///
/// Terraform numbers are big floats; converting them to `i64` or `f64` only
/// happens when the provider asks, and those conversions fail instead of
/// rounding.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Number(String);

impl Number {
    /// Parses decimal text (`"-12"`, `"1.5e300"`, `"123456789012345678901234567890"`).
    pub fn parse(text: &str) -> Result<Number, CodecError> {
        let t = text.trim();
        let valid = !t.is_empty()
            && (matches!(t, "inf" | "+inf" | "-inf")
                || (t.parse::<f64>().is_ok()
                    && t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c))));
        if valid {
            Ok(Number(canonical(t)))
        } else {
            Err(CodecError::BadNumber(text.to_owned()))
        }
    }

    /// The number as exact decimal text, never rounded through `f64`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as `i64` when it is an integer in range.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }

    /// The value as `u64` when it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }

    /// The value as `f64` when that conversion is exact.
    pub fn as_f64(&self) -> Option<f64> {
        let f: f64 = self.0.parse().ok()?;
        (Number::from(f) == *self).then_some(f)
    }
}

/// Normalises the text so equal numbers compare equal in the common cases
/// (`+1` and `1`, `1.50` and `1.5`, `-0` and `0`).
fn canonical(t: &str) -> String {
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.contains(['e', 'E']) || !t.contains('.') {
        return if t == "-0" {
            "0".to_owned()
        } else {
            t.to_owned()
        };
    }
    let trimmed = t.trim_end_matches('0').trim_end_matches('.');
    match trimmed {
        "-0" | "" | "-" => "0".to_owned(),
        other => other.to_owned(),
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Number {
        Number(v.to_string())
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Number {
        Number(v.to_string())
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Number {
        if v.is_infinite() {
            return Number(if v > 0.0 { "inf" } else { "-inf" }.to_owned());
        }
        // `{}` on f64 prints the shortest text that parses back to the same
        // float, so no precision is lost.
        Number(canonical(&format!("{v}")))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Terraform value: known, null or unknown, of any type.
///
/// Sets are kept as vectors in the order the client sent them; equality of
/// sets compares them as sets.
///
/// A value may be a secret (a sensitive or write-only attribute): strings
/// are zeroized when dropped, and `Debug` shows the shape of a value but
/// never a string or number in it.
#[derive(Clone)]
pub enum Value {
    /// The null value (of whatever type the schema says).
    Null,
    /// A value not known until apply.
    Unknown,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string, zeroized when dropped.
    String(Zeroizing<String>),
    /// A list.
    List(Vec<Value>),
    /// A set.
    Set(Vec<Value>),
    /// A map.
    Map(BTreeMap<String, Value>),
    /// A tuple.
    Tuple(Vec<Value>),
    /// An object.
    Object(BTreeMap<String, Value>),
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Unknown => f.write_str("Unknown"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Number(_) => f.write_str("Number(<redacted>)"),
            Value::String(_) => f.write_str("String(<redacted>)"),
            Value::List(items) => f.debug_tuple("List").field(items).finish(),
            Value::Set(items) => f.debug_tuple("Set").field(items).finish(),
            Value::Tuple(items) => f.debug_tuple("Tuple").field(items).finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Object(m) => f.debug_tuple("Object").field(m).finish(),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            (Set(a), Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.contains(x))
                    && b.iter().all(|x| a.contains(x))
            }
            _ => false,
        }
    }
}

impl Value {
    /// What kind of value this is ("a string", "null", ...), for messages
    /// that must not quote the value itself.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "an unknown value",
            Value::Bool(_) => "a bool",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Set(_) => "a set",
            Value::Map(_) => "a map",
            Value::Tuple(_) => "a tuple",
            Value::Object(_) => "an object",
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// True for [`Value::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => {
                v.iter().all(Value::is_wholly_known)
            }
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// The attribute `name` of an object (null when absent or not an object).
    pub fn attr(&self, name: &str) -> &Value {
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    /// The string inside, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The type of a known value, as a dynamic value carries it. Null and
    /// unknown values, and elements of empty collections, are `dynamic`.
    pub fn infer_type(&self) -> Type {
        // Elements share their type when they agree; otherwise each element
        // carries its own type, as a collection of dynamic values.
        fn common<'a>(mut values: impl Iterator<Item = &'a Value>) -> Type {
            let Some(first) = values.next().map(Value::infer_type) else {
                return Type::Dynamic;
            };
            if values.all(|v| v.infer_type() == first) {
                first
            } else {
                Type::Dynamic
            }
        }
        let element = |v: &[Value]| common(v.iter());
        match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => Type::list(element(v)),
            Value::Set(v) => Type::set(element(v)),
            Value::Map(m) => Type::map(common(m.values())),
            Value::Tuple(v) => Type::Tuple(v.iter().map(Value::infer_type).collect()),
            Value::Object(m) => {
                Type::Object(m.iter().map(|(k, v)| (k.clone(), v.infer_type())).collect())
            }
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned().into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(Number::from(n))
    }
}

// ---- msgpack ----

const EXT_UNKNOWN: i8 = 0;

/// Encodes `value` as msgpack for type `ty`, the DynamicValue wire form.
pub fn to_msgpack(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(64);
    encode(&mut out, value, ty)?;
    Ok(out)
}

/// Decodes msgpack bytes of type `ty`. Empty input reads as null.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut reader = Reader { buf: bytes, pos: 0 };
    let value = decode(&mut reader, ty, 0)?;
    if reader.pos != bytes.len() {
        return Err(CodecError::Msgpack(format!(
            "{} trailing bytes after the value",
            bytes.len() - reader.pos
        )));
    }
    Ok(value)
}

fn wr<E: fmt::Display>(e: E) -> CodecError {
    CodecError::Msgpack(e.to_string())
}

fn mismatch(value: &Value, ty: &Type) -> CodecError {
    CodecError::TypeMismatch {
        expected: ty.to_string(),
        found: value.kind().to_owned(),
    }
}

fn encode(out: &mut Vec<u8>, value: &Value, ty: &Type) -> Result<(), CodecError> {
    use rmp::encode as e;
    if let (Type::Dynamic, Value::Unknown | Value::Null) = (ty, value) {
        // An unknown or null of unknown type carries no type wrapper.
    } else if *ty == Type::Dynamic {
        let inner = value.infer_type();
        e::write_array_len(out, 2).map_err(wr)?;
        e::write_bin(out, &inner.to_json_bytes()).map_err(wr)?;
        return encode(out, value, &inner);
    }
    match (value, ty) {
        (Value::Null, _) => e::write_nil(out).map_err(wr),
        (Value::Unknown, _) => {
            e::write_ext_meta(out, 1, EXT_UNKNOWN).map_err(wr)?;
            out.push(0);
            Ok(())
        }
        (Value::Bool(b), Type::Bool) => e::write_bool(out, *b).map_err(wr),
        (Value::String(s), Type::String) => e::write_str(out, s).map_err(wr),
        (Value::Number(n), Type::Number) => {
            if let Some(i) = n.as_i64() {
                e::write_sint(out, i).map(drop).map_err(wr)
            } else if let Some(u) = n.as_u64() {
                e::write_uint(out, u).map(drop).map_err(wr)
            } else if let Some(f) = n.as_f64() {
                e::write_f64(out, f).map_err(wr)
            } else {
                e::write_str(out, n.as_str()).map_err(wr)
            }
        }
        (Value::List(items), Type::List(et)) | (Value::Set(items), Type::Set(et)) => {
            e::write_array_len(out, len32(items.len())?).map_err(wr)?;
            items.iter().try_for_each(|v| encode(out, v, et))
        }
        (Value::Tuple(items), Type::Tuple(types)) if items.len() == types.len() => {
            e::write_array_len(out, len32(items.len())?).map_err(wr)?;
            items
                .iter()
                .zip(types)
                .try_for_each(|(v, t)| encode(out, v, t))
        }
        (Value::Map(m), Type::Map(et)) => {
            e::write_map_len(out, len32(m.len())?).map_err(wr)?;
            m.iter().try_for_each(|(k, v)| {
                e::write_str(out, k).map_err(wr)?;
                encode(out, v, et)
            })
        }
        (Value::Object(m), Type::Object(types)) => {
            if let Some(extra) = m.keys().find(|k| !types.contains_key(*k)) {
                return Err(CodecError::UnexpectedAttribute(extra.clone()));
            }
            e::write_map_len(out, len32(types.len())?).map_err(wr)?;
            types.iter().try_for_each(|(k, t)| {
                e::write_str(out, k).map_err(wr)?;
                encode(out, m.get(k).unwrap_or(&Value::Null), t)
            })
        }
        _ => Err(mismatch(value, ty)),
    }
}

fn len32(n: usize) -> Result<u32, CodecError> {
    u32::try_from(n)
        .map_err(|_| CodecError::Msgpack(format!("collection of {n} elements is too large")))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(CodecError::Truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    fn be(&mut self, n: usize) -> Result<u64, CodecError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
    }
}

/// One msgpack item, read without a type.
enum Item<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext,
}

/// Deeply nested input is refused rather than overflowing the stack.
const MAX_DEPTH: usize = 256;

fn read_item<'a>(r: &mut Reader<'a>) -> Result<Item<'a>, CodecError> {
    let marker = r.u8()?;
    let item = match marker {
        0x00..=0x7f => Item::Int(i64::from(marker)),
        0x80..=0x8f => Item::Map(usize::from(marker & 0x0f)),
        0x90..=0x9f => Item::Array(usize::from(marker & 0x0f)),
        0xa0..=0xbf => {
            let n = usize::from(marker & 0x1f);
            Item::Str(take_slice(r, n)?)
        }
        0xc0 => Item::Nil,
        0xc2 => Item::Bool(false),
        0xc3 => Item::Bool(true),
        0xc4..=0xc6 => {
            let n = r.be(1 << (marker - 0xc4))? as usize;
            Item::Bin(take_slice(r, n)?)
        }
        0xc7..=0xc9 => {
            let n = r.be(1 << (marker - 0xc7))? as usize;
            r.take(n + 1)?;
            Item::Ext
        }
        0xca => Item::Float(f64::from(f32::from_bits(r.be(4)? as u32))),
        0xcb => Item::Float(f64::from_bits(r.be(8)?)),
        0xcc..=0xcf => Item::Uint(r.be(1 << (marker - 0xcc))?),
        0xd0 => Item::Int(i64::from(r.be(1)? as u8 as i8)),
        0xd1 => Item::Int(i64::from(r.be(2)? as u16 as i16)),
        0xd2 => Item::Int(i64::from(r.be(4)? as u32 as i32)),
        0xd3 => Item::Int(r.be(8)? as i64),
        0xd4..=0xd8 => {
            r.take(1 + (1 << (marker - 0xd4)))?;
            Item::Ext
        }
        0xd9..=0xdb => {
            let n = r.be(1 << (marker - 0xd9))? as usize;
            Item::Str(take_slice(r, n)?)
        }
        0xdc | 0xdd => Item::Array(r.be(2 << (marker - 0xdc))? as usize),
        0xde | 0xdf => Item::Map(r.be(2 << (marker - 0xde))? as usize),
        0xe0..=0xff => Item::Int(i64::from(marker as i8)),
        0xc1 => return Err(CodecError::Msgpack("reserved byte 0xc1".to_owned())),
    };
    Ok(item)
}

fn take_slice<'a>(r: &mut Reader<'a>, n: usize) -> Result<&'a [u8], CodecError> {
    let end = r
        .pos
        .checked_add(n)
        .filter(|e| *e <= r.buf.len())
        .ok_or(CodecError::Truncated)?;
    let s = &r.buf[r.pos..end];
    r.pos = end;
    Ok(s)
}

fn utf8(b: &[u8]) -> Result<String, CodecError> {
    String::from_utf8(b.to_vec()).map_err(|_| CodecError::Msgpack("string is not UTF-8".to_owned()))
}

/// Guards the element count against the bytes left, so a forged length
/// cannot make us allocate gigabytes.
fn capacity(r: &Reader<'_>, n: usize) -> Result<usize, CodecError> {
    if n > r.buf.len() - r.pos {
        return Err(CodecError::Truncated);
    }
    Ok(n)
}

fn decode(r: &mut Reader<'_>, ty: &Type, depth: usize) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep);
    }
    let item = read_item(r)?;
    let unexpected = |what: &str| CodecError::TypeMismatch {
        expected: ty.to_string(),
        found: what.to_owned(),
    };
    match (item, ty) {
        (Item::Nil, _) => Ok(Value::Null),
        (Item::Ext, _) => Ok(Value::Unknown),
        (Item::Array(2), Type::Dynamic) => {
            let type_json = match read_item(r)? {
                Item::Str(b) | Item::Bin(b) => b,
                _ => return Err(unexpected("a dynamic value without its type")),
            };
            let json: serde_json::Value = serde_json::from_slice(type_json)
                .map_err(|e| CodecError::BadType(e.to_string()))?;
            let inner = Type::from_json(&json)?;
            decode(r, &inner, depth + 1)
        }
        (_, Type::Dynamic) => Err(unexpected("a dynamic value that is not [type, value]")),
        (Item::Bool(b), Type::Bool) => Ok(Value::Bool(b)),
        (Item::Str(s), Type::String) => Ok(Value::String(utf8(s)?.into())),
        (Item::Int(i), Type::Number) => Ok(Value::Number(Number::from(i))),
        (Item::Uint(u), Type::Number) => Ok(Value::Number(Number::from(u))),
        (Item::Float(f), Type::Number) => Ok(Value::Number(Number::from(f))),
        (Item::Str(s), Type::Number) => Ok(Value::Number(Number::parse(&utf8(s)?)?)),
        (Item::Array(n), Type::List(et) | Type::Set(et)) => {
            let mut items = Vec::with_capacity(capacity(r, n)?);
            for _ in 0..n {
                items.push(decode(r, et, depth + 1)?);
            }
            Ok(if matches!(ty, Type::Set(_)) {
                Value::Set(items)
            } else {
                Value::List(items)
            })
        }
        (Item::Array(n), Type::Tuple(types)) if n == types.len() => types
            .iter()
            .map(|t| decode(r, t, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Tuple),
        (Item::Map(n), Type::Map(_) | Type::Object(_)) => {
            let mut m = BTreeMap::new();
            for _ in 0..capacity(r, n)? {
                let key = match read_item(r)? {
                    Item::Str(s) => utf8(s)?,
                    _ => return Err(unexpected("a map key that is not a string")),
                };
                let et = match ty {
                    Type::Map(et) => et.as_ref(),
                    Type::Object(types) => types
                        .get(&key)
                        .ok_or_else(|| CodecError::UnexpectedAttribute(key.clone()))?,
                    _ => unreachable!("matched Map or Object above"),
                };
                let v = decode(r, et, depth + 1)?;
                m.insert(key, v);
            }
            if let Type::Object(types) = ty {
                for k in types.keys() {
                    m.entry(k.clone()).or_insert(Value::Null);
                }
                return Ok(Value::Object(m));
            }
            Ok(Value::Map(m))
        }
        _ => Err(unexpected("a value of another type")),
    }
}

// ---- JSON ----

/// Decodes Terraform's JSON encoding of a value of type `ty` (raw state,
/// DynamicValue.json). JSON cannot express unknown values. Numbers are kept
/// as serde_json parsed them, which keeps integers up to 64 bits exactly.
pub fn from_json(json: &serde_json::Value, ty: &Type) -> Result<Value, CodecError> {
    use serde_json::Value as J;
    let unexpected = || CodecError::TypeMismatch {
        expected: ty.to_string(),
        found: json.to_string(),
    };
    Ok(match (json, ty) {
        (J::Null, _) => Value::Null,
        (J::Object(o), Type::Dynamic) => {
            let t = Type::from_json(o.get("type").ok_or_else(unexpected)?)?;
            from_json(o.get("value").unwrap_or(&J::Null), &t)?
        }
        (J::Bool(b), Type::Bool) => Value::Bool(*b),
        (J::String(s), Type::String) => Value::String(s.clone().into()),
        (J::Number(n), Type::Number) => Value::Number(Number::parse(&n.to_string())?),
        (J::String(s), Type::Number) => Value::Number(Number::parse(s)?),
        (J::Array(a), Type::List(et)) => Value::List(
            a.iter()
                .map(|v| from_json(v, et))
                .collect::<Result<_, _>>()?,
        ),
        (J::Array(a), Type::Set(et)) => Value::Set(
            a.iter()
                .map(|v| from_json(v, et))
                .collect::<Result<_, _>>()?,
        ),
        (J::Array(a), Type::Tuple(ts)) if a.len() == ts.len() => Value::Tuple(
            a.iter()
                .zip(ts)
                .map(|(v, t)| from_json(v, t))
                .collect::<Result<_, _>>()?,
        ),
        (J::Object(o), Type::Map(et)) => Value::Map(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), from_json(v, et)?)))
                .collect::<Result<_, CodecError>>()?,
        ),
        (J::Object(o), Type::Object(types)) => {
            if let Some(extra) = o.keys().find(|k| !types.contains_key(*k)) {
                return Err(CodecError::UnexpectedAttribute(extra.clone()));
            }
            Value::Object(
                types
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), from_json(o.get(k).unwrap_or(&J::Null), t)?)))
                    .collect::<Result<_, CodecError>>()?,
            )
        }
        _ => return Err(unexpected()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings, which may be secrets, are held in a type that zeroizes
    /// them on drop (a compile-time check: the binding names the type).
    #[test]
    fn strings_are_zeroized_on_drop() {
        let v = Value::from("secret");
        let Value::String(s) = &v else {
            panic!("a string value");
        };
        let held: &Zeroizing<String> = s;
        assert_eq!(held.as_str(), "secret");
    }
}
