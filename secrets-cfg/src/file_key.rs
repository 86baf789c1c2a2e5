//! The file key: the one secret type that belongs to the store rather than
//! to [`primus_core`].

use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroize;

use crate::Secret;

primus_core::redacted_fmt!(FileKey);

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

    /// The 32 key bytes, for the cipher; the only way to read them (never logged).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let k = FileKey::from_bytes([7; 32]);
        assert_eq!(format!("{k:?} {k}"), "[REDACTED] [REDACTED]");
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
