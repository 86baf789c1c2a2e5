//! The strict reader: a recursive-descent parser over the source bytes.

use super::value::{Group, Setting, Value};

/// Deepest nesting of groups, lists and arrays the reader accepts, so hostile
/// input cannot overflow the stack.
pub const MAX_DEPTH: usize = 64;

/// Why a text is not valid libconfig, and where (line and column from 1;
/// the column counts characters, not bytes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
#[non_exhaustive]
pub struct ParseError {
    /// Line of the offending input, from 1.
    pub line: usize,
    /// Column of the offending input, from 1, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// An error at byte `offset` of `text` (which must be a char boundary).
    pub(crate) fn at(text: &str, offset: usize, message: String) -> Self {
        let before = &text[..offset];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Self {
            line,
            column,
            message,
        }
    }
}

/// Parses a whole libconfig document.
pub fn parse(text: &str) -> Result<Group> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    parser.settings(None)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

type Result<T> = std::result::Result<T, ParseError>;

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'*'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*')
}

/// Whether `name` is a valid setting name (`[A-Za-z*][-A-Za-z0-9_*]*`); the
/// writer checks names with it too.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(is_name_start) && bytes.all(is_name_char)
}

impl Parser<'_> {
    fn error<T>(&self, offset: usize, message: impl Into<String>) -> Result<T> {
        Err(ParseError::at(self.text, offset, message.into()))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.bytes[self.pos..].starts_with(s.as_bytes())
    }

    /// Describes the input at the cursor for "expected X, found Y" messages.
    fn found(&self) -> String {
        match self.text[self.pos..].chars().next() {
            None => "end of file".to_owned(),
            Some(c) if c.is_control() => format!("character {:?}", c),
            Some(c) => format!("`{c}`"),
        }
    }

    fn skip_blanks(&mut self) -> Result<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c') => self.pos += 1,
                Some(b'#') => self.skip_line(),
                Some(b'/') if self.starts_with("//") => self.skip_line(),
                Some(b'/') if self.starts_with("/*") => {
                    let start = self.pos;
                    match self.text[self.pos + 2..].find("*/") {
                        Some(end) => self.pos += 2 + end + 2,
                        None => return self.error(start, "unterminated `/*` comment"),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        self.pos = self.text[self.pos..]
            .find('\n')
            .map_or(self.bytes.len(), |i| self.pos + i + 1);
    }

    /// Settings until `close` (or end of file for the document root).
    fn settings(&mut self, close: Option<u8>) -> Result<Group> {
        let mut group = Group::new();
        // Names seen so far; a set, because entry groups hold thousands.
        let mut names = std::collections::HashSet::new();
        loop {
            self.skip_blanks()?;
            match (self.peek(), close) {
                (None, None) => return Ok(group),
                (None, Some(c)) => {
                    return self.error(
                        self.pos,
                        format!("expected `{}` before end of file", c as char),
                    )
                }
                (Some(b), Some(c)) if b == c => {
                    self.pos += 1;
                    return Ok(group);
                }
                _ => {}
            }
            let name_pos = self.pos;
            let name = self.name()?;
            if !names.insert(name.clone()) {
                return self.error(name_pos, format!("duplicate setting name `{name}`"));
            }
            self.skip_blanks()?;
            match self.peek() {
                Some(b'=' | b':') => self.pos += 1,
                _ => {
                    return self.error(
                        self.pos,
                        format!("expected `=` or `:` after `{name}`, found {}", self.found()),
                    )
                }
            }
            let value = self.value()?;
            self.skip_blanks()?;
            if let Some(b';' | b',') = self.peek() {
                self.pos += 1;
            }
            group.push_unchecked(Setting { name, value });
        }
    }

    fn name(&mut self) -> Result<String> {
        let start = self.pos;
        if self.starts_with("@include") {
            return self.error(
                start,
                "`@include` is not supported; paste the included settings into this file",
            );
        }
        if !self.peek().is_some_and(is_name_start) {
            return self.error(
                start,
                format!("expected a setting name, found {}", self.found()),
            );
        }
        while self.peek().is_some_and(is_name_char) {
            self.pos += 1;
        }
        Ok(self.text[start..self.pos].to_owned())
    }

    fn nested<T>(&mut self, open_pos: usize, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth == MAX_DEPTH {
            return self.error(open_pos, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        self.depth += 1;
        self.pos += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_blanks()?;
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self
                .nested(start, |p| p.settings(Some(b'}')))
                .map(Value::Group),
            Some(b'(') => self
                .nested(start, |p| p.elements(b')', false))
                .map(Value::List),
            Some(b'[') => self
                .nested(start, |p| p.elements(b']', true))
                .map(Value::Array),
            Some(b'"') => self.strings().map(Value::String),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.') => self.number(),
            Some(b) if b.is_ascii_alphabetic() => {
                while self.peek().is_some_and(is_name_char) {
                    self.pos += 1;
                }
                let word = &self.text[start..self.pos];
                if word.eq_ignore_ascii_case("true") {
                    Ok(Value::Bool(true))
                } else if word.eq_ignore_ascii_case("false") {
                    Ok(Value::Bool(false))
                } else {
                    self.error(
                        start,
                        format!("unexpected `{word}`: strings must be in double quotes"),
                    )
                }
            }
            _ => self.error(start, format!("expected a value, found {}", self.found())),
        }
    }

    /// Elements of a list or array, the opening bracket already consumed.
    fn elements(&mut self, close: u8, scalars_only: bool) -> Result<Vec<Value>> {
        let mut items: Vec<Value> = Vec::new();
        self.skip_blanks()?;
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            self.skip_blanks()?;
            let item_pos = self.pos;
            let item = self.value()?;
            if scalars_only {
                if matches!(item, Value::Group(_) | Value::List(_) | Value::Array(_)) {
                    return self.error(
                        item_pos,
                        format!("an array holds only scalars, found a {}", item.type_name()),
                    );
                }
                if let Some(first) = items.first() {
                    if std::mem::discriminant(first) != std::mem::discriminant(&item) {
                        return self.error(
                            item_pos,
                            format!(
                                "an array holds one type: {} after {}",
                                item.type_name(),
                                first.type_name()
                            ),
                        );
                    }
                }
            }
            items.push(item);
            self.skip_blanks()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                _ => {
                    return self.error(
                        self.pos,
                        format!(
                            "expected `,` or `{}`, found {}",
                            close as char,
                            self.found()
                        ),
                    )
                }
            }
        }
    }

    /// One string, or several adjacent strings concatenated.
    fn strings(&mut self) -> Result<String> {
        let mut text = self.string()?;
        loop {
            self.skip_blanks()?;
            if self.peek() != Some(b'"') {
                return Ok(text);
            }
            text.push_str(&self.string()?);
        }
    }

    fn string(&mut self) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut buf = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return self.error(start, "unterminated string");
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let escape_pos = self.pos - 1;
                    let Some(e) = self.peek() else {
                        return self.error(start, "unterminated string");
                    };
                    self.pos += 1;
                    match e {
                        b'\\' => buf.push(b'\\'),
                        b'"' => buf.push(b'"'),
                        b'f' => buf.push(b'\x0c'),
                        b'n' => buf.push(b'\n'),
                        b'r' => buf.push(b'\r'),
                        b't' => buf.push(b'\t'),
                        b'x' => {
                            let digits = self.bytes.get(self.pos..self.pos + 2);
                            let byte = digits
                                .filter(|d| d.iter().all(u8::is_ascii_hexdigit))
                                .and_then(|d| std::str::from_utf8(d).ok())
                                .and_then(|d| u8::from_str_radix(d, 16).ok());
                            match byte {
                                Some(byte) => {
                                    buf.push(byte);
                                    self.pos += 2;
                                }
                                None => {
                                    return self.error(
                                        escape_pos,
                                        "`\\x` must be followed by two hexadecimal digits",
                                    )
                                }
                            }
                        }
                        _ => {
                            self.pos = escape_pos + 1;
                            return self.error(
                                escape_pos,
                                format!("unknown escape `\\` followed by {}", self.found()),
                            );
                        }
                    }
                }
                _ => buf.push(b),
            }
        }
        match String::from_utf8(buf) {
            Ok(s) => Ok(s),
            Err(_) => self.error(start, "string is not valid UTF-8 after its `\\x` escapes"),
        }
    }

    /// An integer or float literal, with its optional `L`/`LL` suffix.
    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let signed = matches!(self.peek(), Some(b'-' | b'+'));
        if signed {
            self.pos += 1;
        }
        let radix = match self.bytes.get(self.pos..self.pos + 2) {
            Some([b'0', b'x' | b'X']) => Some(16),
            Some([b'0', b'b' | b'B']) => Some(2),
            Some([b'0', b'o' | b'O' | b'q' | b'Q']) => Some(8),
            _ => None,
        };
        let value = match radix {
            Some(_) if signed => {
                return self.error(
                    start,
                    "a sign is not allowed before a hexadecimal, binary or octal integer",
                )
            }
            Some(radix) => self.prefixed_integer(start, radix)?,
            None => self.decimal(start)?,
        };
        if matches!(value, Value::Int(_)) {
            if self.starts_with("LL") {
                self.pos += 2;
            } else if self.peek() == Some(b'L') {
                self.pos += 1;
            }
        }
        if self.peek().is_some_and(|b| is_name_char(b) || b == b'.') {
            return self.error(
                start,
                format!("malformed number: unexpected {} after it", self.found()),
            );
        }
        Ok(value)
    }

    /// The digits of a `0x`/`0b`/`0o` integer, at its two-letter prefix;
    /// `start` is where the literal began (for errors).
    fn prefixed_integer(&mut self, start: usize, radix: u32) -> Result<Value> {
        self.pos += 2;
        let digits_start = self.pos;
        while self.peek().is_some_and(|b| (b as char).is_digit(radix)) {
            self.pos += 1;
        }
        let digits = &self.text[digits_start..self.pos];
        if digits.is_empty() {
            return self.error(start, "expected digits after the integer prefix");
        }
        // Like libconfig, a prefixed literal is an unsigned 64-bit pattern
        // stored as a signed integer (0xFFFFFFFFFFFFFFFF is -1).
        match u64::from_str_radix(digits, radix) {
            Ok(v) => Ok(Value::Int(v as i64)),
            Err(_) => self.error(start, "integer does not fit in 64 bits"),
        }
    }

    /// A decimal integer or a float, after its sign; `start` is where the
    /// literal (sign included) began.
    fn decimal(&mut self, start: usize) -> Result<Value> {
        let mut mantissa_digits = self.digits();
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            is_float = true;
            self.pos += 1;
            mantissa_digits += self.digits();
        }
        if mantissa_digits == 0 {
            return self.error(start, format!("expected a number, found {}", self.found()));
        }
        if let Some(b'e' | b'E') = self.peek() {
            is_float = true;
            self.pos += 1;
            if let Some(b'-' | b'+') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.error(start, "expected digits in the exponent");
            }
        }
        let literal = &self.text[start..self.pos];
        if is_float {
            match literal.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                _ => self.error(start, "float out of range"),
            }
        } else {
            match literal.parse::<i64>() {
                Ok(i) => Ok(Value::Int(i)),
                Err(_) => self.error(start, "integer does not fit in 64 bits"),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }
}
