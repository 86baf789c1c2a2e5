//! The tokenizer: libconfig 1.5's flex scanner, rule for rule.
//!
//! flex picks the longest match and, among equally long ones, the rule listed
//! first; its rules are, in order: `/*` comments, strings, `@include` at the
//! start of a line, blanks (` \t\r\n\f`; only `\n` ends a line), `=`/`:`,
//! `,`, `{`, `}`, `true`/`false` (any case), names, floats, integers,
//! integers with `L`/`LL`, hexadecimal integers with and without `L`, `[`,
//! `]`, `(`, `)`, `;`, `#`/`//` comments (which need a newline after them)
//! and one byte of anything else, which the grammar then refuses. The
//! consequences, all checked against the library, are kept on purpose: an
//! unknown escape keeps its backslash, `\x00` and everything after a raw NUL
//! byte up to the next quote or backslash vanish, a string or `/*` comment
//! left open at the end of a file runs on into the including file (or ends
//! the document), `0b101` is the integer `0` followed by the name `b101`.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

/// How deep `@include`s nest, as in libconfig (`MAX_INCLUDE_DEPTH`).
pub const MAX_INCLUDE_DEPTH: usize = 10;

/// One token, as the scanner hands it to the grammar.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Name(String),
    Equals,
    Comma,
    Semicolon,
    GroupStart,
    GroupEnd,
    ArrayStart,
    ArrayEnd,
    ListStart,
    ListEnd,
    Bool(bool),
    /// libconfig's `int`: decimal and hexadecimal literals without `L`,
    /// truncated to 32 bits as the library truncates them.
    Int(i32),
    /// libconfig's `int64`: literals with `L` or `LL`.
    Int64(i64),
    Float(f64),
    /// One quoted string, escapes applied (adjacent strings are joined by the
    /// grammar).
    Str(Vec<u8>),
    /// A byte no rule matches.
    Garbage(u8),
    /// An `@include` that cannot be followed, and why.
    BadInclude(String),
    End,
}

impl Token {
    /// How an error message names this token.
    pub(super) fn describe(&self) -> String {
        match self {
            Token::Name(name) => format!("`{name}`"),
            Token::Equals => "`=`".to_owned(),
            Token::Comma => "`,`".to_owned(),
            Token::Semicolon => "`;`".to_owned(),
            Token::GroupStart => "`{`".to_owned(),
            Token::GroupEnd => "`}`".to_owned(),
            Token::ArrayStart => "`[`".to_owned(),
            Token::ArrayEnd => "`]`".to_owned(),
            Token::ListStart => "`(`".to_owned(),
            Token::ListEnd => "`)`".to_owned(),
            Token::Bool(_) => "a boolean".to_owned(),
            Token::Int(_) | Token::Int64(_) => "an integer".to_owned(),
            Token::Float(_) => "a float".to_owned(),
            Token::Str(_) => "a string".to_owned(),
            Token::Garbage(b) if b.is_ascii_graphic() => format!("`{}`", *b as char),
            Token::Garbage(b) => format!("byte 0x{b:02x}"),
            Token::BadInclude(why) => why.clone(),
            Token::End => "end of file".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Initial,
    Comment,
    String,
    IncludePath,
}

/// One file being scanned: the document itself or an included file.
struct Source<'a> {
    bytes: Cow<'a, [u8]>,
    pos: usize,
    /// The line `pos` is on, from 1 (flex's `yylineno`, kept per file).
    line: usize,
    /// `None` for the text handed to the reader.
    path: Option<PathBuf>,
}

/// Where an error is reported: libconfig's file and line, and a column.
pub(super) struct Position {
    pub(super) file: Option<PathBuf>,
    pub(super) line: usize,
    pub(super) column: usize,
}

/// Where `@include` finds its files: the directory names are joined to, and
/// how a file is read (from this machine's disk, or from what was fetched
/// from another host).
#[derive(Clone, Copy)]
pub(super) struct Includes<'a> {
    pub(super) dir: &'a Path,
    pub(super) read: &'a dyn Fn(&Path) -> io::Result<Vec<u8>>,
}

pub(super) struct Lexer<'a> {
    sources: Vec<Source<'a>>,
    mode: Mode,
    /// The string or include path being read.
    buffer: Vec<u8>,
    includes: Option<Includes<'a>>,
    /// Where the last token began: the source it began in and the offset.
    token_start: (usize, usize),
}

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

/// Appends a scanned run as libconfig does: through a C string, so it stops
/// at the first NUL byte.
fn append_c_string(buffer: &mut Vec<u8>, run: &[u8]) {
    let end = run.iter().position(|&b| b == 0).unwrap_or(run.len());
    buffer.extend_from_slice(&run[..end]);
}

fn count_digits(bytes: &[u8], from: usize, radix: u32) -> usize {
    bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| (b as char).is_digit(radix))
        .count()
}

/// The end of `[eE][-+]?[0-9]+` starting at `at`, if it is there.
fn exponent_end(bytes: &[u8], at: usize) -> Option<usize> {
    if !matches!(bytes.get(at), Some(b'e' | b'E')) {
        return None;
    }
    let mut i = at + 1;
    if matches!(bytes.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = count_digits(bytes, i, 10);
    (digits > 0).then_some(i + digits)
}

/// `strtoull`/`strtoll` on a run of digits: the value, saturating.
fn saturating_digits(digits: &[u8], radix: u32) -> u64 {
    digits.iter().fold(0u64, |value, &b| {
        let digit = u64::from((b as char).to_digit(radix).unwrap_or(0));
        value
            .checked_mul(u64::from(radix))
            .and_then(|v| v.checked_add(digit))
            .unwrap_or(u64::MAX)
    })
}

/// `atoll` on `[-+]?[0-9]+`: saturates at the ends of `long long`.
fn atoll(negative: bool, digits: &[u8]) -> i64 {
    let magnitude = saturating_digits(digits, 10);
    if negative {
        0i64.checked_sub_unsigned(magnitude).unwrap_or(i64::MIN)
    } else {
        i64::try_from(magnitude).unwrap_or(i64::MAX)
    }
}

/// A number token at the start of `s` and its length, or `None` when no
/// number rule matches there.
fn number(s: &[u8]) -> Option<(Token, usize)> {
    let signed = matches!(s.first(), Some(b'-' | b'+'));
    let int_start = usize::from(signed);
    let int_digits = count_digits(s, int_start, 10);
    let int_end = int_start + int_digits;
    // Float, first form: digits, a dot, digits, an optional exponent.
    let mut float_len = 0;
    let mut fraction_digits = 0;
    if s.get(int_end) == Some(&b'.') {
        fraction_digits = count_digits(s, int_end + 1, 10);
        let end = int_end + 1 + fraction_digits;
        float_len = exponent_end(s, end).unwrap_or(end);
    } else if int_digits > 0 {
        // Second form: digits and a mandatory exponent.
        float_len = exponent_end(s, int_end).unwrap_or(0);
    }
    let int_len = if int_digits > 0 { int_end } else { 0 };
    let suffix = match (s.get(int_end), s.get(int_end + 1)) {
        (Some(b'L'), Some(b'L')) => 2,
        (Some(b'L'), _) => 1,
        _ => 0,
    };
    let int64_len = if int_digits > 0 && suffix > 0 {
        int_end + suffix
    } else {
        0
    };
    let hex_digits = if !signed && s.starts_with(b"0") && matches!(s.get(1), Some(b'x' | b'X')) {
        count_digits(s, 2, 16)
    } else {
        0
    };
    let hex_len = if hex_digits > 0 { 2 + hex_digits } else { 0 };
    let hex_suffix = match (s.get(hex_len), s.get(hex_len + 1)) {
        (Some(b'L'), Some(b'L')) if hex_len > 0 => 2,
        (Some(b'L'), _) if hex_len > 0 => 1,
        _ => 0,
    };
    let hex64_len = if hex_suffix > 0 {
        hex_len + hex_suffix
    } else {
        0
    };
    // The longest match wins; ties go to the rule listed first.
    let candidates = [float_len, int_len, int64_len, hex_len, hex64_len];
    let longest = candidates.iter().copied().max().unwrap_or(0);
    if longest == 0 {
        return None;
    }
    let rule = candidates.iter().position(|&len| len == longest)?;
    let negative = s.first() == Some(&b'-');
    let token = match rule {
        0 => {
            // `atof`: no digit before the exponent means no number, 0.
            if int_digits + fraction_digits == 0 {
                Token::Float(0.0)
            } else {
                let text = std::str::from_utf8(&s[..longest]).ok()?;
                // Rust's reader wants a digit on each side of the dot.
                let text = text.replace(".e", ".0e").replace(".E", ".0E");
                let text = if text.ends_with('.') {
                    format!("{text}0")
                } else {
                    text
                };
                Token::Float(text.parse().ok()?)
            }
        }
        // `atoi`-style: the value, truncated to the 32 bits of an `int`.
        1 => Token::Int(atoll(negative, &s[int_start..int_end]) as i32),
        2 => Token::Int64(atoll(negative, &s[int_start..int_end])),
        // `strtoul`, saturating, then truncated to an `int`.
        3 => Token::Int(saturating_digits(&s[2..hex_len], 16) as u32 as i32),
        _ => Token::Int64(saturating_digits(&s[2..hex_len], 16) as i64),
    };
    Some((token, longest))
}

/// The length of `[ \t]*@include[ \t]+"` at the start of `s`, if it is there.
fn include_open(s: &[u8]) -> Option<usize> {
    let blanks = |from: usize| {
        s.get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()
    };
    let at = blanks(0);
    if !s[at..].starts_with(b"@include") {
        return None;
    }
    let after = at + b"@include".len();
    let gap = blanks(after);
    (gap > 0 && s.get(after + gap) == Some(&b'"')).then_some(after + gap + 1)
}

impl<'a> Lexer<'a> {
    /// A scanner over `text`; `includes` is where `@include` finds its
    /// files (`None`: `@include` is refused).
    pub(super) fn new(text: &'a [u8], includes: Option<Includes<'a>>) -> Self {
        Self {
            sources: vec![Source {
                bytes: Cow::Borrowed(text),
                pos: 0,
                line: 1,
                path: None,
            }],
            mode: Mode::Initial,
            buffer: Vec::new(),
            includes,
            token_start: (0, 0),
        }
    }

    /// Whether the document ended inside a string (for the error message).
    pub(super) fn in_string(&self) -> bool {
        self.mode == Mode::String
    }

    /// libconfig's file and line for an error found now (the line the
    /// scanner has reached), with the column of the last token's start when
    /// it is on that line.
    pub(super) fn position(&self) -> Position {
        let index = self.sources.len() - 1;
        let source = &self.sources[index];
        let (start_source, start) = self.token_start;
        let at = if start_source == index
            && start <= source.pos
            && !source.bytes[start..source.pos].contains(&b'\n')
        {
            start
        } else {
            source.pos
        };
        let line_start = source.bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Characters, not bytes: UTF-8 continuation bytes do not count.
        let column = source.bytes[line_start..at]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
            + 1;
        Position {
            file: source.path.clone(),
            line: source.line,
            column,
        }
    }

    fn mark_start(&mut self) {
        let index = self.sources.len() - 1;
        self.token_start = (index, self.sources[index].pos);
    }

    /// Consumes `len` bytes of the current source, counting its newlines.
    fn advance(&mut self, len: usize) {
        let source = self
            .sources
            .last_mut()
            .expect("the document is always open");
        let end = source.pos + len;
        source.line += source.bytes[source.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        source.pos = end;
    }

    /// The next token.
    pub(super) fn next_token(&mut self) -> Token {
        loop {
            let index = self.sources.len() - 1;
            let source = &self.sources[index];
            let Some(&b) = source.bytes.get(source.pos) else {
                // The end of an included file resumes the including one, in
                // whatever state the scanner is in.
                if index > 0 {
                    self.sources.pop();
                    continue;
                }
                self.mark_start();
                return Token::End;
            };
            match self.mode {
                Mode::Comment => {
                    let len = if source.bytes[source.pos..].starts_with(b"*/") {
                        self.mode = Mode::Initial;
                        2
                    } else {
                        1
                    };
                    self.advance(len);
                }
                Mode::String | Mode::IncludePath => {
                    if let Some(token) = self.quoted() {
                        return token;
                    }
                }
                Mode::Initial => {
                    let at_line_start = source.pos == 0 || source.bytes[source.pos - 1] == b'\n';
                    let include = at_line_start
                        .then(|| include_open(&source.bytes[source.pos..]))
                        .flatten();
                    if let Some(len) = include {
                        self.mark_start();
                        self.mode = Mode::IncludePath;
                        self.advance(len);
                        continue;
                    }
                    if let Some(token) = self.initial(b) {
                        return token;
                    }
                }
            }
        }
    }

    /// One rule in a string or an include path; a token when one ends.
    fn quoted(&mut self) -> Option<Token> {
        let is_string = self.mode == Mode::String;
        let source = &self.sources[self.sources.len() - 1];
        let rest = &source.bytes[source.pos..];
        let (len, token) = match rest {
            [b'"', ..] => {
                self.mode = Mode::Initial;
                let text = std::mem::take(&mut self.buffer);
                if !is_string {
                    self.advance(1);
                    return self.open_include(text).err().map(Token::BadInclude);
                }
                (1, Some(Token::Str(text)))
            }
            [b'\\', e, ..] if is_string => {
                let (len, byte) = match e {
                    b'n' => (2, b'\n'),
                    b'r' => (2, b'\r'),
                    b't' => (2, b'\t'),
                    b'f' => (2, b'\x0c'),
                    b'\\' => (2, b'\\'),
                    b'"' => (2, b'"'),
                    b'x' | b'X' if count_digits(rest, 2, 16) >= 2 => {
                        (4, saturating_digits(&rest[2..4], 16) as u8)
                    }
                    // An unknown escape keeps its backslash.
                    _ => (1, b'\\'),
                };
                append_c_string(&mut self.buffer, &[byte]);
                (len, None)
            }
            [b'\\', e @ (b'\\' | b'"'), ..] => {
                self.buffer.push(*e);
                (2, None)
            }
            // A backslash nothing matches in a path is dropped (flex echoes it).
            [b'\\', ..] if is_string => {
                self.buffer.push(b'\\');
                (1, None)
            }
            [b'\\', ..] => (1, None),
            _ => {
                let run = rest
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\')
                    .unwrap_or(rest.len());
                append_c_string(&mut self.buffer, &rest[..run]);
                (run, None)
            }
        };
        self.advance(len);
        token
    }

    /// One rule outside strings and comments; a token unless it was blank.
    fn initial(&mut self, b: u8) -> Option<Token> {
        self.mark_start();
        let source = &self.sources[self.sources.len() - 1];
        let rest = &source.bytes[source.pos..];
        let (len, token) = match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' => (1, None),
            b'/' if rest.starts_with(b"/*") => {
                self.mode = Mode::Comment;
                (2, None)
            }
            b'#' | b'/' if b == b'#' || rest.starts_with(b"//") => {
                // A comment runs to the end of its line, and must have one.
                match rest.iter().position(|&b| b == b'\n') {
                    Some(end) => (end, None),
                    None => (1, Some(Token::Garbage(b))),
                }
            }
            b'"' => {
                self.mode = Mode::String;
                (1, None)
            }
            b'=' | b':' => (1, Some(Token::Equals)),
            b',' => (1, Some(Token::Comma)),
            b'{' => (1, Some(Token::GroupStart)),
            b'}' => (1, Some(Token::GroupEnd)),
            b'[' => (1, Some(Token::ArrayStart)),
            b']' => (1, Some(Token::ArrayEnd)),
            b'(' => (1, Some(Token::ListStart)),
            b')' => (1, Some(Token::ListEnd)),
            b';' => (1, Some(Token::Semicolon)),
            b if is_name_start(b) => {
                let len = 1 + rest[1..].iter().take_while(|&&b| is_name_char(b)).count();
                let word = String::from_utf8_lossy(&rest[..len]).into_owned();
                let token = if word.eq_ignore_ascii_case("true") {
                    Token::Bool(true)
                } else if word.eq_ignore_ascii_case("false") {
                    Token::Bool(false)
                } else {
                    Token::Name(word)
                };
                (len, Some(token))
            }
            _ => match number(rest) {
                Some((token, len)) => (len, Some(token)),
                None => (1, Some(Token::Garbage(b))),
            },
        };
        self.advance(len);
        token
    }

    /// Opens an included file, as libconfig does: the include directory, a
    /// `/` and the name as written, at most [`MAX_INCLUDE_DEPTH`] deep.
    fn open_include(&mut self, name: Vec<u8>) -> Result<(), String> {
        let shown = String::from_utf8_lossy(&name).into_owned();
        if self.sources.len() > MAX_INCLUDE_DEPTH {
            return Err(format!(
                "`@include \"{shown}\"`: includes nest deeper than {MAX_INCLUDE_DEPTH} files; \
                 is a file including itself?"
            ));
        }
        let Some(includes) = self.includes else {
            return Err(format!(
                "`@include \"{shown}\"` is followed only when reading a file; \
                 paste the included settings in"
            ));
        };
        let mut path = includes.dir.as_os_str().to_owned();
        path.push("/");
        path.push(bytes_to_os_str(&name));
        let path = PathBuf::from(path);
        match (includes.read)(&path) {
            Ok(bytes) => {
                self.sources.push(Source {
                    bytes: Cow::Owned(bytes),
                    pos: 0,
                    line: 1,
                    path: Some(path),
                });
                Ok(())
            }
            Err(e) => Err(format!(
                "cannot open include file `{}`: {e}",
                path.display()
            )),
        }
    }
}

#[cfg(unix)]
fn bytes_to_os_str(bytes: &[u8]) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(bytes)
}

#[cfg(not(unix))]
fn bytes_to_os_str(bytes: &[u8]) -> std::ffi::OsString {
    String::from_utf8_lossy(bytes).into_owned().into()
}
