//! Secret newtypes: readable only through `expose_secret()`, redacted in
//! `Debug`/`Display`, zeroized on drop.

use std::fmt;

use secrecy::{ExposeSecret, SecretSlice, SecretString};

/// The text every secret prints as, so logs and `{:?}` never show one.
pub const REDACTED: &str = "[REDACTED]";

/// Implements `Debug` and `Display` printing [`REDACTED`] for each listed
/// type, so a secret-holding type defined in another crate (such as a file
/// key) redacts exactly as [`Secret`] and [`Password`] do.
///
/// ```
/// struct ApiToken(String);
/// primus_core::redacted_fmt!(ApiToken);
/// let token = ApiToken("t0ps3cret".to_owned());
/// assert_eq!(format!("{token:?} {token}"), "[REDACTED] [REDACTED]");
/// ```
#[macro_export]
macro_rules! redacted_fmt {
    ($($ty:ty),+) => {$(
        impl ::core::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str($crate::REDACTED)
            }
        }

        impl ::core::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str($crate::REDACTED)
            }
        }
    )+};
}

redacted_fmt!(Secret, Password);

/// A byte secret: a permanent secret, a stored proxy password.
///
/// The bytes are zeroized when the value is dropped and can only be read
/// through [`Secret::expose_secret`]. `Debug` and `Display` print `[REDACTED]`.
/// Equality compares in constant time.
///
/// ```
/// use primus_core::Secret;
/// let s = Secret::new(b"permanent".to_vec());
/// assert_eq!(format!("{s:?} {s}"), "[REDACTED] [REDACTED]");
/// assert_eq!(s.expose_secret(), b"permanent");
/// ```
pub struct Secret(SecretSlice<u8>);

impl Secret {
    /// Wraps `bytes`; the vector is moved, not copied.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretSlice::from(bytes))
    }

    /// The secret bytes. Call only where the bytes must leave the process
    /// (a cipher, the wire).
    pub fn expose_secret(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Length in bytes (not secret).
    pub fn len(&self) -> usize {
        self.expose_secret().len()
    }

    /// True when the secret holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Clone for Secret {
    fn clone(&self) -> Self {
        Self::new(self.expose_secret().to_vec())
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl From<Password> for Secret {
    fn from(password: Password) -> Self {
        Self::new(password.expose_secret().as_bytes().to_vec())
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(self.expose_secret(), other.expose_secret())
    }
}

impl Eq for Secret {}

/// A UTF-8 secret: a setup password, a PKCS#11 password, a proxy password.
///
/// Zeroized on drop, readable only through [`Password::expose_secret`],
/// `Debug`/`Display` print `[REDACTED]`. It implements serde `Serialize` and
/// `Deserialize` as a plain string so a wire protocol can carry it; only
/// `Debug`/`Display` redact. Equality compares in constant time.
///
/// ```
/// use primus_core::Password;
/// let p = Password::new("FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3".to_owned());
/// assert_eq!(format!("{p:?}"), "[REDACTED]");
/// assert_eq!(p.expose_secret().len(), 29);
/// ```
pub struct Password(SecretString);

impl Password {
    /// Wraps `password`; the string is moved, not copied.
    pub fn new(password: String) -> Self {
        Self(SecretString::from(password))
    }

    /// The password text. Call only where it must leave the process.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl Clone for Password {
    fn clone(&self) -> Self {
        Self::new(self.expose_secret().to_owned())
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(
            self.expose_secret().as_bytes(),
            other.expose_secret().as_bytes(),
        )
    }
}

impl Eq for Password {}

impl serde::Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose_secret())
    }
}

impl<'de> serde::Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any`: with `deserialize_string`, serde_json reports a
        // non-string itself, quoting it, without asking the visitor.
        deserializer.deserialize_any(PasswordVisitor)
    }
}

/// Takes a string (an owned one is moved into the secret, not copied) and
/// refuses anything else without quoting it: serde's default messages echo the
/// value (`invalid type: integer `1234``), and a PIN written as a bare number
/// would then land in an error message.
struct PasswordVisitor;

impl PasswordVisitor {
    fn refuse<E: serde::de::Error>(&self, what: &'static str) -> Result<Password, E> {
        Err(E::invalid_type(serde::de::Unexpected::Other(what), self))
    }
}

impl serde::de::Visitor<'_> for PasswordVisitor {
    type Value = Password;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a password string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Password, E> {
        Ok(Password::new(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Password, E> {
        Ok(Password::new(v))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Password, E> {
        self.refuse("a boolean")
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Password, E> {
        self.refuse("an integer")
    }

    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Password, E> {
        self.refuse("an integer")
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Password, E> {
        self.refuse("an integer")
    }

    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Password, E> {
        self.refuse("an integer")
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Password, E> {
        self.refuse("a number")
    }

    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Password, E> {
        self.refuse("bytes")
    }
}

/// Compares without an early exit so timing does not reveal where two
/// secrets first differ (length is not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new(b"hunter2".to_vec());
        let p = Password::new("hunter2".to_owned());
        for text in [
            format!("{s:?}"),
            format!("{s}"),
            format!("{p:?}"),
            format!("{p}"),
        ] {
            assert_eq!(text, "[REDACTED]");
        }
    }

    #[test]
    fn password_serde_is_a_plain_string() {
        let p = Password::new("a\"b".to_owned());
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#""a\"b""#);
        let back: Password = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
        assert_ne!(back, Password::new("a\"c".to_owned()));
    }

    #[test]
    fn password_of_the_wrong_type_is_refused_without_quoting_it() {
        for json in ["987654321", "-987654321", "98765.4321", "true", "[9876]"] {
            let error = serde_json::from_str::<Password>(json)
                .err()
                .unwrap_or_else(|| panic!("a non-string password was accepted"));
            let text = error.to_string();
            assert!(text.contains("expected a password string"), "{text}");
            assert!(!text.contains("9876") && !text.contains("true"), "{text}");
        }
    }

    #[test]
    fn equality_and_conversion() {
        assert_eq!(Secret::new(vec![1, 2]), Secret::new(vec![1, 2]));
        assert_ne!(Secret::new(vec![1, 2]), Secret::new(vec![1]));
        assert_eq!(
            Secret::from(Password::new("pw".into())).expose_secret(),
            b"pw"
        );
    }
}
