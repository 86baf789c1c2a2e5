//! The document tree.

/// One libconfig value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `true` / `false`.
    Bool(bool),
    /// libconfig's `int`: an integer written without `L`. The reader keeps
    /// it within 32 bits, as libconfig does (it truncates longer literals);
    /// the writer writes a value beyond 32 bits with `L`, so it reads back
    /// as [`Value::Int64`].
    Int(i64),
    /// libconfig's `int64`: an integer written with `L` or `LL`. An array
    /// holds `int`s or `int64`s, never both.
    Int64(i64),
    /// A floating-point number; infinite when the text overflows, as in
    /// libconfig (`1e999`).
    Float(f64),
    /// A string that is valid UTF-8.
    String(String),
    /// A string that is not valid UTF-8 (`\xff`, or raw bytes in the file).
    /// libconfig strings are bytes; the reader gives this variant only to
    /// strings that are not UTF-8, so a text string is always
    /// [`Value::String`]. No string holds a NUL byte: libconfig ends its
    /// strings there.
    Bytes(Vec<u8>),
    /// `[ ... ]`: scalars of one type.
    Array(Vec<Value>),
    /// `( ... )`: values of any type.
    List(Vec<Value>),
    /// `{ ... }`: named settings.
    Group(Group),
}

impl Value {
    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes of a string, UTF-8 or not.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s.as_bytes()),
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Whether an array may hold both values: libconfig's types, in which
    /// every string is one type and `int` and `int64` are two.
    pub(super) fn is_same_type(&self, other: &Value) -> bool {
        let kind = |v: &Value| match v {
            Value::Bytes(_) => std::mem::discriminant(&Value::String(String::new())),
            v => std::mem::discriminant(v),
        };
        kind(self) == kind(other)
    }

    /// The integer, if this is an integer (`int` or `int64`).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Int64(i) => Some(*i),
            _ => None,
        }
    }

    /// The float, if this is a float.
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// The boolean, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The group, if this is a group.
    pub fn as_group(&self) -> Option<&Group> {
        match self {
            Value::Group(g) => Some(g),
            _ => None,
        }
    }

    /// The group, mutably, if this is a group.
    pub fn as_group_mut(&mut self) -> Option<&mut Group> {
        match self {
            Value::Group(g) => Some(g),
            _ => None,
        }
    }

    /// The elements, if this is an array or a list.
    pub fn as_elements(&self) -> Option<&[Value]> {
        match self {
            Value::Array(v) | Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The libconfig name of this value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Int64(_) => "64-bit integer",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "string that is not UTF-8",
            Value::Array(_) => "array",
            Value::List(_) => "list",
            Value::Group(_) => "group",
        }
    }
}

/// A named setting inside a [`Group`].
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The setting's name (`[A-Za-z*][-A-Za-z0-9_*]*`).
    pub name: String,
    /// The setting's value.
    pub value: Value,
}

/// An ordered set of uniquely named settings; also the document root.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Group {
    settings: Vec<Setting>,
}

impl Group {
    /// An empty group.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of the setting `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.value)
    }

    /// The value of the setting `name`, mutably.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.settings
            .iter_mut()
            .find(|s| s.name == name)
            .map(|s| &mut s.value)
    }

    /// Follows a dotted path of group names, e.g. `primus.hsms.hsm0.port`.
    pub fn lookup(&self, path: &str) -> Option<&Value> {
        let mut parts = path.split('.');
        let mut value = self.get(parts.next()?)?;
        for part in parts {
            value = value.as_group()?.get(part)?;
        }
        Some(value)
    }

    /// Sets `name` to `value`: replaced in place if present (keeping its
    /// position), appended otherwise. Returns the previous value.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.get_mut(&name) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.settings.push(Setting { name, value });
                None
            }
        }
    }

    /// Removes the setting `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let index = self.settings.iter().position(|s| s.name == name)?;
        Some(self.settings.remove(index).value)
    }

    /// The settings in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Setting> {
        self.settings.iter()
    }

    /// The settings in file order, mutably (names included: keep them unique).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Setting> {
        self.settings.iter_mut()
    }

    /// Removes every setting for which `keep` returns false.
    pub fn retain(&mut self, keep: impl FnMut(&Setting) -> bool) {
        self.settings.retain(keep);
    }

    /// Number of settings.
    pub fn len(&self) -> usize {
        self.settings.len()
    }

    /// True when the group has no settings.
    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// Appends without checking for a duplicate name; the parser has checked.
    pub(super) fn push_unchecked(&mut self, setting: Setting) {
        self.settings.push(setting);
    }
}
