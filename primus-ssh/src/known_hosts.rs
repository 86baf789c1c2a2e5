//! Reading OpenSSH `known_hosts` files: plain and hashed (`|1|salt|hash`)
//! host patterns, wildcards and negations, `@revoked` lines.

use std::path::Path;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use russh::keys::PublicKey;

/// How a known_hosts line vouches for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    /// A plain line: the key is the host's key.
    Trusted,
    /// `@revoked`: the key must be refused wherever it is presented.
    Revoked,
}

/// One usable line of a known_hosts file.
#[derive(Debug)]
pub(crate) struct KnownHost {
    pub(crate) marker: Marker,
    pub(crate) key: PublicKey,
    /// 1-based, for error messages.
    pub(crate) line: usize,
    patterns: String,
}

/// The name a host is recorded under: `host` on port 22, else `[host]:port`.
pub(crate) fn host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Reads `path`; a missing file is an empty one (nothing known yet). Lines
/// OpenSSH would also skip (comments, `@cert-authority`, key types we do not
/// read) are skipped.
pub(crate) fn read(path: &Path) -> std::io::Result<Vec<KnownHost>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    Ok(text
        .lines()
        .enumerate()
        .filter_map(|(index, line)| parse_line(line, index + 1))
        .collect())
}

fn parse_line(line: &str, number: usize) -> Option<KnownHost> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.split_whitespace();
    let mut first = fields.next()?;
    let marker = match first {
        "@revoked" => Marker::Revoked,
        // A CA key vouches for certificates, which this crate does not accept.
        "@cert-authority" => return None,
        _ => Marker::Trusted,
    };
    if marker == Marker::Revoked {
        first = fields.next()?;
    }
    let key_text = format!("{} {}", fields.next()?, fields.next()?);
    let key = PublicKey::from_openssh(&key_text).ok()?;
    Some(KnownHost {
        marker,
        key,
        line: number,
        patterns: first.to_owned(),
    })
}

impl KnownHost {
    /// Whether this line applies to `name` (as made by [`host_name`]).
    pub(crate) fn matches(&self, name: &str) -> bool {
        if let Some(hashed) = self.patterns.strip_prefix("|1|") {
            return hashed_matches(hashed, name);
        }
        let mut matched = false;
        for pattern in self.patterns.split(',') {
            if let Some(negated) = pattern.strip_prefix('!') {
                if glob(negated.as_bytes(), name.as_bytes()) {
                    return false;
                }
            } else if glob(pattern.as_bytes(), name.as_bytes()) {
                matched = true;
            }
        }
        matched
    }
}

/// `salt|hash`, both base64: the line is for `name` when
/// HMAC-SHA1(key = salt, name) equals hash.
fn hashed_matches(hashed: &str, name: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &salt);
    hmac::verify(&key, name.as_bytes(), &hash).is_ok()
}

/// OpenSSH's host pattern match: `*` any run, `?` one character, case-insensitive.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob(rest, &name[skip..])),
        Some((&p, rest)) => match name.split_first() {
            Some((&n, name_rest)) if p == b'?' || p.eq_ignore_ascii_case(&n) => {
                glob(rest, name_rest)
            }
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID40I5dL+ZIt5Gmq6o/XoZiJHdyf0dTh9//wAOoVnNtE";

    fn entry(patterns: &str) -> KnownHost {
        parse_line(&format!("{patterns} {KEY} comment"), 1).expect("a valid line")
    }

    #[test]
    fn plain_patterns_wildcards_and_negation() {
        assert!(entry("example.org").matches("example.org"));
        assert!(entry("a.org,EXAMPLE.org").matches("example.org"));
        assert!(!entry("example.org").matches("[example.org]:2222"));
        assert!(entry("[example.org]:2222").matches("[example.org]:2222"));
        assert!(entry("*.example.org").matches("db.example.org"));
        assert!(entry("db?.example.org").matches("db1.example.org"));
        assert!(!entry("*.example.org,!db.example.org").matches("db.example.org"));
        assert!(!entry("*.example.org").matches("example.net"));
    }

    /// A line made by `ssh-keygen -H` for `[127.0.0.1]:2222` (salt and HMAC
    /// computed by OpenSSH, not by this crate).
    #[test]
    fn hashed_entry_from_openssh() {
        let line = format!("|1|KkZBzWQAUYyklaG8kp/yNtNiif0=|uKQXgQsdnXhztcQ+OAjrInPnLXY= {KEY}");
        let known = parse_line(&line, 3).expect("a valid line");
        assert_eq!(known.line, 3);
        assert!(known.matches("[127.0.0.1]:2222"));
        assert!(!known.matches("[127.0.0.1]:2223"));
        assert!(!known.matches("127.0.0.1"));
    }

    #[test]
    fn revoked_and_cert_authority_lines() {
        let revoked = parse_line(&format!("@revoked * {KEY}"), 1).expect("a valid line");
        assert_eq!(revoked.marker, Marker::Revoked);
        assert!(parse_line(&format!("@cert-authority * {KEY}"), 1).is_none());
        assert!(parse_line("# comment", 1).is_none());
        assert!(parse_line("host ssh-ed25519 not-base64", 1).is_none());
    }
}
