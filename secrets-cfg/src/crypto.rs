//! Value sealing: AES-256-GCM, a fresh 96-bit nonce per value, the entry's
//! identity as associated data, and a scheme marker in front.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit, Nonce};

use crate::entry::EntryKind;
use crate::file_key::FileKey;
use crate::Secret;

/// The scheme marker of values this version writes: AES-256-GCM, 12-byte
/// nonce, 16-byte tag, associated data as [`entry_aad`] builds it.
pub(crate) const SCHEME_V1: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Domain separation: associated data of every v1 value starts with this.
const AAD_PREFIX: &[u8] = b"primus-secrets-cfg\0v1\0";

/// The associated data of entry `(kind, name)`'s value: the value cannot be
/// moved to another entry and still open.
pub(crate) fn entry_aad(kind: EntryKind, name: &str) -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    aad.extend_from_slice(kind.aad_tag().as_bytes());
    aad.push(0);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// The associated data of the file's key check value.
pub(crate) fn key_check_aad() -> Vec<u8> {
    let mut aad = AAD_PREFIX.to_vec();
    aad.extend_from_slice(b"key_check");
    aad
}

/// Why a sealed value does not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The text is not `scheme:nonce:ciphertext`.
    Malformed(&'static str),
    /// A well-formed scheme marker this version does not know.
    UnknownScheme(String),
    /// Wrong key, altered bytes, or a value moved from another entry.
    Authentication,
}

/// AES-256-GCM under one file key.
pub(crate) struct Cipher(Aes256Gcm);

impl Cipher {
    pub(crate) fn new(key: &FileKey) -> Self {
        Self(Aes256Gcm::new(key.expose_secret().into()))
    }

    /// Seals `plaintext` as `v1:<nonce hex>:<ciphertext and tag hex>`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)?;
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // AES-GCM encryption fails only for inputs over 64 GiB; secrets are tiny.
            .expect("AES-GCM seals any input under 64 GiB");
        Ok(format!(
            "{SCHEME_V1}:{}:{}",
            hex::encode(nonce),
            hex::encode(sealed)
        ))
    }

    /// Opens a value sealed by [`Cipher::seal`] with the same `aad`.
    pub(crate) fn open(&self, aad: &[u8], text: &str) -> Result<Secret, OpenError> {
        let (scheme, rest) = text
            .split_once(':')
            .ok_or(OpenError::Malformed("no scheme marker"))?;
        if scheme != SCHEME_V1 {
            // Echo the marker only when it looks like one: a plaintext secret
            // pasted into the file must not end up in an error message.
            let plausible = !scheme.is_empty()
                && scheme.len() <= 8
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
            return Err(if plausible {
                OpenError::UnknownScheme(scheme.to_owned())
            } else {
                OpenError::Malformed("unrecognised scheme marker")
            });
        }
        let (nonce_hex, body_hex) = rest
            .split_once(':')
            .ok_or(OpenError::Malformed("no nonce separator"))?;
        let mut nonce = [0u8; NONCE_LEN];
        hex::decode_to_slice(nonce_hex, &mut nonce)
            .map_err(|_| OpenError::Malformed("nonce is not 24 hex digits"))?;
        let body = hex::decode(body_hex)
            .map_err(|_| OpenError::Malformed("ciphertext is not hexadecimal"))?;
        if body.len() < TAG_LEN {
            return Err(OpenError::Malformed("ciphertext shorter than its tag"));
        }
        self.0
            .decrypt(Nonce::from_slice(&nonce), Payload { msg: &body, aad })
            .map(Secret::new)
            .map_err(|_| OpenError::Authentication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_with_fresh_nonces() {
        let cipher = Cipher::new(&FileKey::from_bytes([1; 32]));
        let aad = entry_aad(EntryKind::User, "alice");
        let a = cipher.seal(&aad, b"s3cret").unwrap();
        let b = cipher.seal(&aad, b"s3cret").unwrap();
        assert_ne!(a, b, "each seal draws a fresh nonce");
        assert!(a.starts_with("v1:"));
        assert_eq!(cipher.open(&aad, &a).unwrap().expose_secret(), b"s3cret");
    }

    #[test]
    fn identity_and_key_are_bound() {
        let cipher = Cipher::new(&FileKey::from_bytes([1; 32]));
        let sealed = cipher
            .seal(&entry_aad(EntryKind::User, "alice"), b"x")
            .unwrap();
        for aad in [
            entry_aad(EntryKind::User, "bob"),
            entry_aad(EntryKind::ServiceProxy, "alice"),
        ] {
            assert_eq!(
                cipher.open(&aad, &sealed).unwrap_err(),
                OpenError::Authentication
            );
        }
        let other = Cipher::new(&FileKey::from_bytes([2; 32]));
        let aad = entry_aad(EntryKind::User, "alice");
        assert_eq!(
            other.open(&aad, &sealed).unwrap_err(),
            OpenError::Authentication
        );
    }

    #[test]
    fn malformed_values_never_echo_their_text() {
        let cipher = Cipher::new(&FileKey::from_bytes([1; 32]));
        let aad = entry_aad(EntryKind::User, "a");
        assert_eq!(
            cipher.open(&aad, "v9:00:00").unwrap_err(),
            OpenError::UnknownScheme("v9".into())
        );
        assert_eq!(
            cipher.open(&aad, "My Plain Password:x").unwrap_err(),
            OpenError::Malformed("unrecognised scheme marker")
        );
        assert_eq!(
            cipher.open(&aad, "plaintext").unwrap_err(),
            OpenError::Malformed("no scheme marker")
        );
        assert!(matches!(
            cipher.open(&aad, "v1:0011:00"),
            Err(OpenError::Malformed(_))
        ));
        assert!(matches!(
            cipher.open(&aad, &format!("v1:{}:00", "0".repeat(24))),
            Err(OpenError::Malformed(_))
        ));
    }
}
