//! A typed value that can say what `Option` cannot: known, null, or not
//! known until apply.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{Serialize, Serializer};

/// The newtype-struct name the value codec recognises, so a [`Field`]
/// learns whether a value is null or unknown.
pub(crate) const FIELD_TOKEN: &str = "$tfplug::Field";
/// The unit-struct name the value codec turns into an unknown value.
pub(crate) const UNKNOWN_TOKEN: &str = "$tfplug::Unknown";

/// One attribute of a typed configuration, plan or state: known, null, or
/// unknown (only in configurations and plans, before apply).
///
/// Use it where unknown matters (validation, planned values); a plain
/// `Option<T>` keeps working where unknown cannot occur (stored state) and
/// reads both null and unknown as `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// A known value.
    Known(T),
    /// Null: the configuration leaves it unset.
    #[default]
    Null,
    /// Not known until apply.
    Unknown,
}

impl<T> Field<T> {
    /// The known value, if any.
    pub fn known(&self) -> Option<&T> {
        match self {
            Field::Known(v) => Some(v),
            Field::Null | Field::Unknown => None,
        }
    }

    /// True for [`Field::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Field::Null)
    }

    /// True for [`Field::Unknown`].
    pub fn is_unknown(&self) -> bool {
        matches!(self, Field::Unknown)
    }
}

impl<T> From<Option<T>> for Field<T> {
    fn from(v: Option<T>) -> Field<T> {
        v.map_or(Field::Null, Field::Known)
    }
}

struct UnknownMarker;

impl Serialize for UnknownMarker {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit_struct(UNKNOWN_TOKEN)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Known(v) => s.serialize_some(v),
            Field::Null => s.serialize_none(),
            // Other formats (JSON) see a unit struct, i.e. null.
            Field::Unknown => UnknownMarker.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Field<T>, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Field<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a value, null or unknown")
            }
            fn visit_none<E: de::Error>(self) -> Result<Field<T>, E> {
                Ok(Field::Null)
            }
            // Only the value codec calls this, for an unknown value.
            fn visit_unit<E: de::Error>(self) -> Result<Field<T>, E> {
                Ok(Field::Unknown)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Field<T>, D::Error> {
                T::deserialize(d).map(Field::Known)
            }
            // Formats that know nothing of unknown values (JSON state).
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Field<T>, D::Error> {
                Option::<T>::deserialize(d).map(Field::from)
            }
        }
        d.deserialize_newtype_struct(FIELD_TOKEN, V(std::marker::PhantomData))
    }
}
