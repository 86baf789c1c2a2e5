//! The canonical writer.

use std::fmt::Write as _;

use super::lexer::is_valid_name;
use super::parser::MAX_DEPTH;
use super::value::{Group, Value};

/// Why a document cannot be written as libconfig. The path names the
/// offending setting, e.g. `primus.hsms.hsm0.port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A setting name outside `[A-Za-z*][-A-Za-z0-9_*]*`.
    #[error("setting `{path}`: invalid name; use letters, digits, `-`, `_` and `*`, starting with a letter or `*`")]
    InvalidName {
        /// Path of the setting.
        path: String,
    },
    /// Two settings of one group share a name.
    #[error("setting `{path}`: duplicate name")]
    DuplicateName {
        /// Path of the setting.
        path: String,
    },
    /// NaN, which libconfig cannot express.
    #[error("setting `{path}`: libconfig cannot express NaN")]
    NotANumber {
        /// Path of the setting.
        path: String,
    },
    /// A string holding a NUL byte, where libconfig would end it.
    #[error("setting `{path}`: a libconfig string cannot hold a NUL byte")]
    NulInString {
        /// Path of the setting.
        path: String,
    },
    /// An array holding a non-scalar or scalars of different types.
    #[error("setting `{path}`: an array must hold scalars of one type; use a list")]
    BadArray {
        /// Path of the setting.
        path: String,
    },
    /// Deeper nesting than the reader accepts.
    #[error("setting `{path}`: nested deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Path of the setting.
        path: String,
    },
}

/// Writes `root` in canonical form: one setting per line, `name = value;`,
/// groups as `name: { ... };` indented by two spaces, integers in decimal
/// (with `L` beyond 32 bits), strings escaped.
pub fn write(root: &Group) -> Result<String, WriteError> {
    write_at(root, 0)
}

/// `s` as a libconfig string literal, quotes included, escaped as [`write()`]
/// escapes strings; for programs that write libconfig text by hand.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(&mut out, s.as_bytes());
    out
}

/// The settings of `group` as [`write()`] writes them when the group is
/// nested `indent` levels deep, for splicing into a larger document.
pub fn write_at(group: &Group, indent: usize) -> Result<String, WriteError> {
    let mut out = String::new();
    let mut path = String::new();
    write_settings(&mut out, group, indent, &mut path)?;
    Ok(out)
}

fn write_settings(
    out: &mut String,
    group: &Group,
    indent: usize,
    path: &mut String,
) -> Result<(), WriteError> {
    // A set only for big groups: hashing costs more than scanning a few.
    let mut names = (group.len() > 16).then(std::collections::HashSet::new);
    for (i, setting) in group.iter().enumerate() {
        let saved = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&setting.name);
        if !is_valid_name(&setting.name) {
            return Err(WriteError::InvalidName { path: path.clone() });
        }
        let duplicate = match &mut names {
            Some(names) => !names.insert(setting.name.as_str()),
            None => group
                .iter()
                .take(i)
                .any(|earlier| earlier.name == setting.name),
        };
        if duplicate {
            return Err(WriteError::DuplicateName { path: path.clone() });
        }
        pad(out, indent);
        out.push_str(&setting.name);
        out.push_str(if matches!(setting.value, Value::Group(_)) {
            ": "
        } else {
            " = "
        });
        write_value(out, &setting.value, indent, path)?;
        out.push_str(";\n");
        path.truncate(saved);
    }
    Ok(())
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', 2 * indent));
}

fn write_value(
    out: &mut String,
    value: &Value,
    indent: usize,
    path: &mut String,
) -> Result<(), WriteError> {
    // A container written at `indent` is nested `indent + 1` deep for the reader.
    let container = matches!(value, Value::Group(_) | Value::List(_) | Value::Array(_));
    if container && indent >= MAX_DEPTH {
        return Err(WriteError::TooDeep { path: path.clone() });
    }
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{i}");
            if i32::try_from(*i).is_err() {
                out.push('L');
            }
        }
        Value::Int64(i) => {
            let _ = write!(out, "{i}L");
        }
        Value::Float(f) if f.is_nan() => {
            return Err(WriteError::NotANumber { path: path.clone() });
        }
        // libconfig has no word for infinity, but reads this overflow as one.
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "1e999" } else { "-1e999" });
        }
        Value::Float(f) => {
            // `{:?}` is Rust's shortest round-trip form and always has a `.`
            // or an exponent, so it reads back as a float.
            let _ = write!(out, "{f:?}");
        }
        Value::String(_) | Value::Bytes(_) => {
            let bytes = value.as_bytes().unwrap_or_default();
            if bytes.contains(&0) {
                return Err(WriteError::NulInString { path: path.clone() });
            }
            write_string(out, bytes);
        }
        Value::Group(g) => {
            out.push_str("{\n");
            write_settings(out, g, indent + 1, path)?;
            pad(out, indent);
            out.push('}');
        }
        Value::Array(items) => {
            let bad = items.iter().any(|v| {
                matches!(v, Value::Group(_) | Value::List(_) | Value::Array(_))
                    || items.first().is_some_and(|first| !first.is_same_type(v))
            });
            if bad {
                return Err(WriteError::BadArray { path: path.clone() });
            }
            write_elements(out, items, ('[', ']'), indent, path)?;
        }
        Value::List(items) => write_elements(out, items, ('(', ')'), indent, path)?,
    }
    Ok(())
}

fn write_elements(
    out: &mut String,
    items: &[Value],
    (open, close): (char, char),
    indent: usize,
    path: &mut String,
) -> Result<(), WriteError> {
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let saved = path.len();
        let _ = write!(path, "[{i}]");
        write_value(out, item, indent + 1, path)?;
        path.truncate(saved);
    }
    out.push(close);
    Ok(())
}

/// Bytes the writer escapes: quotes, backslashes, control characters and
/// bytes that are not ASCII in a string that is not UTF-8.
fn needs_escape(b: u8, utf8: bool) -> bool {
    matches!(b, b'"' | b'\\' | 0x7f) || b < 0x20 || (b >= 0x80 && !utf8)
}

/// Writes a string literal. A UTF-8 string keeps its non-ASCII characters
/// as they are; other bytes above 0x7f are written `\xHH`.
fn write_string(out: &mut String, s: &[u8]) {
    let utf8 = std::str::from_utf8(s).ok();
    out.push('"');
    // Most strings (names, hex ciphertexts) need no escaping: copy them whole.
    if let Some(text) = utf8.filter(|_| !s.iter().any(|&b| needs_escape(b, true))) {
        out.push_str(text);
        out.push('"');
        return;
    }
    let mut plain_start = 0;
    for (i, &b) in s.iter().enumerate() {
        if !needs_escape(b, utf8.is_some()) {
            continue;
        }
        // Runs between escapes are whole UTF-8 characters, or ASCII.
        out.push_str(&String::from_utf8_lossy(&s[plain_start..i]));
        plain_start = i + 1;
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\x0c' => out.push_str("\\f"),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(&s[plain_start..]));
    out.push('"');
}
