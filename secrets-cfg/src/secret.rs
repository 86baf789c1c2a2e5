//! Secret newtypes: readable only through `expose_secret()`, redacted in
//! `Debug`/`Display`, zeroized on drop.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretSlice, SecretString};
use zeroize::Zeroize;

/// The text every secret prints as, so logs and `{:?}` never show one.
const REDACTED: &str = "[REDACTED]";

/// `Debug` and `Display` that print [`REDACTED`] for each listed type.
macro_rules! redacted_fmt {
    ($($ty:ty),+) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
    )+};
}

redacted_fmt!(Secret, Password, FileKey);

/// A byte secret: a permanent secret, a stored proxy password, a file key.
///
/// The bytes are zeroized when the value is dropped and can only be read
/// through [`Secret::expose_secret`]. `Debug` and `Display` print `[REDACTED]`.
/// Equality compares in constant time.
///
/// ```
/// use secrets_cfg::Secret;
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
/// use secrets_cfg::Password;
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

/// The 256-bit key that ciphers the values of a `.secrets.cfg` file.
///
/// Zeroized on drop, redacted in `Debug`/`Display`. Build one with
/// [`FileKey::generate`], [`FileKey::from_bytes`] or [`FileKey::from_hex`].
pub struct FileKey(SecretBox<[u8; 32]>);

impl FileKey {
    /// Key length in bytes.
    pub const LEN: usize = 32;

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = Box::new([0u8; Self::LEN]);
        getrandom::fill(bytes.as_mut())?;
        Ok(Self(SecretBox::new(bytes)))
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(mut bytes: [u8; 32]) -> Self {
        let key = Self(SecretBox::new(Box::new(bytes)));
        bytes.zeroize();
        key
    }

    /// Parses 64 hexadecimal digits (surrounding whitespace ignored), the
    /// form used by the key file and `$SECUROSYS_SECRETS_KEY`. The error
    /// says what is wrong without echoing the input.
    pub fn from_hex(text: &str) -> Result<Self, KeyFormatError> {
        let text = text.trim();
        if text.len() != 2 * Self::LEN {
            return Err(KeyFormatError::Length(text.len()));
        }
        let mut bytes = Box::new([0u8; Self::LEN]);
        hex::decode_to_slice(text, bytes.as_mut()).map_err(|_| KeyFormatError::NotHex)?;
        Ok(Self(SecretBox::new(bytes)))
    }

    /// The key as 64 lowercase hexadecimal digits plus a newline (the key
    /// file's content).
    pub(crate) fn to_hex_line(&self) -> Secret {
        let mut line = hex::encode(self.expose_secret()).into_bytes();
        line.push(b'\n');
        Secret::new(line)
    }

    /// The key bytes.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }
}

impl Clone for FileKey {
    fn clone(&self) -> Self {
        Self(SecretBox::new(Box::new(*self.expose_secret())))
    }
}

/// Why text is not a key. Never contains the text itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFormatError {
    /// The text is not 64 characters long.
    #[error("expected 64 hexadecimal digits, found {0} characters")]
    Length(usize),
    /// The text holds a character that is not a hexadecimal digit.
    #[error("expected 64 hexadecimal digits, found a non-hexadecimal character")]
    NotHex,
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
        let k = FileKey::from_bytes([7; 32]);
        for text in [
            format!("{s:?}"),
            format!("{s}"),
            format!("{p:?}"),
            format!("{p}"),
            format!("{k:?}"),
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

    #[test]
    fn key_hex_round_trip_and_errors() {
        let k = FileKey::generate().unwrap();
        let line = k.to_hex_line();
        let text = std::str::from_utf8(line.expose_secret()).unwrap();
        let back = FileKey::from_hex(text).unwrap();
        assert_eq!(back.expose_secret(), k.expose_secret());
        assert_eq!(
            FileKey::from_hex("abc").unwrap_err(),
            KeyFormatError::Length(3)
        );
        let bad = "z".repeat(64);
        let err = FileKey::from_hex(&bad).unwrap_err();
        assert_eq!(err, KeyFormatError::NotHex);
        assert!(!err.to_string().contains('z'));
    }
}
