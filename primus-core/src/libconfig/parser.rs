//! The grammar: libconfig 1.5's bison parser, driven without recursion.
//!
//! The grammar is `setting: name (= | :) value [; | ,]`, values being
//! scalars, adjacent strings (joined), `[ ]` arrays of scalars of one type,
//! `( )` lists and `{ }` groups. The checks happen where the library makes
//! them, and errors carry the line the library reports (its scanner's line
//! when the error is found: a string in an array is checked only after the
//! token following it is read, a number at once).
//!
//! One difference is on purpose: nesting deeper than [`MAX_DEPTH`] levels
//! is refused. libconfig reads up to about 1998 nested groups or 4996 nested
//! lists (then its parser stack is exhausted), but a tree that deep would
//! exhaust the stack of the program that drops or compares it, and no
//! configuration needs more than a few levels.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::lexer::{Includes, Lexer, Token};
use super::value::{Group, Value};

/// Deepest nesting of groups, lists and arrays the reader reads and the
/// writer writes.
pub const MAX_DEPTH: usize = 256;

/// Why a text is not valid libconfig, and where: the line libconfig 1.5
/// reports and a column (both from 1; the column counts characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}line {line}, column {column}: {message}", file_prefix(.file.as_deref()))]
#[non_exhaustive]
pub struct ParseError {
    /// The included file the error is in; `None` for the text handed to the
    /// reader, which its caller names.
    pub file: Option<PathBuf>,
    /// Line of the offending input, from 1.
    pub line: usize,
    /// Column of the offending input, from 1, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

fn file_prefix(file: Option<&Path>) -> String {
    file.map(|f| format!("{}: ", f.display()))
        .unwrap_or_default()
}

/// Parses a whole libconfig document. `@include` is refused: use
/// [`parse_including`] for text read from a file.
pub fn parse<T: AsRef<[u8]> + ?Sized>(text: &T) -> Result<Group> {
    Parser::new(Lexer::new(text.as_ref(), None)).document()
}

/// Parses a whole libconfig document read from a file in `include_dir`,
/// following `@include "name"` lines as libconfig does with that include
/// directory: the file `include_dir/name`, for the document and every
/// included file alike, at most [`MAX_INCLUDE_DEPTH`](super::MAX_INCLUDE_DEPTH)
/// files deep. An error in an included file names it in
/// [`ParseError::file`].
pub fn parse_including<T: AsRef<[u8]> + ?Sized>(text: &T, include_dir: &Path) -> Result<Group> {
    parse_including_with(text, include_dir, &|path| std::fs::read(path))
}

/// As [`parse_including`], each included file read by `read` (given
/// `include_dir/name`) instead of from this machine's disk: for a document
/// that lives on another host, whose included files were fetched from
/// there. An error `read` returns is reported as a file that cannot be
/// opened.
pub fn parse_including_with<T: AsRef<[u8]> + ?Sized>(
    text: &T,
    include_dir: &Path,
    read: &dyn Fn(&Path) -> std::io::Result<Vec<u8>>,
) -> Result<Group> {
    let includes = Includes {
        dir: include_dir,
        read,
    };
    Parser::new(Lexer::new(text.as_ref(), Some(includes))).document()
}

type Result<T> = std::result::Result<T, ParseError>;

/// A container being read.
enum Frame {
    Group {
        group: Group,
        names: HashSet<String>,
        /// The setting whose value is being read.
        pending: Option<String>,
    },
    List(Vec<Value>),
    Array(Vec<Value>),
}

impl Frame {
    fn group() -> Self {
        Frame::Group {
            group: Group::new(),
            names: HashSet::new(),
            pending: None,
        }
    }
}

/// What the parser does next.
enum Step {
    /// Read a setting or the end of the group on top.
    Setting,
    /// Read a value.
    Value,
    /// Read the element after `(` or `[`, or the close.
    FirstElement,
    /// A value is complete; give it to the container on top.
    Complete(Value),
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The token read ahead, if any.
    lookahead: Option<Token>,
}

impl<'a> Parser<'a> {
    fn new(lexer: Lexer<'a>) -> Self {
        Self {
            lexer,
            lookahead: None,
        }
    }

    fn error<T>(&self, message: String) -> Result<T> {
        let at = self.lexer.position();
        Err(ParseError {
            file: at.file,
            line: at.line,
            column: at.column,
            message,
        })
    }

    fn peek(&mut self) -> &Token {
        if self.lookahead.is_none() {
            self.lookahead = Some(self.lexer.next_token());
        }
        self.lookahead.get_or_insert(Token::End)
    }

    fn take(&mut self) -> Token {
        self.peek();
        self.lookahead.take().unwrap_or(Token::End)
    }

    /// The error for an unexpected lookahead token.
    fn unexpected<T>(&mut self, expected: &str) -> Result<T> {
        let found = self.peek().clone();
        let message = match found {
            Token::BadInclude(why) => why,
            Token::End if self.lexer.in_string() => "unterminated string".to_owned(),
            Token::Garbage(b'@') => {
                "`@include \"file\"` must stand at the start of a line".to_owned()
            }
            found => format!("expected {expected}, found {}", found.describe()),
        };
        self.error(message)
    }

    /// The document, read with an explicit stack of open containers rather
    /// than recursion.
    fn document(mut self) -> Result<Group> {
        let mut stack = vec![Frame::group()];
        let mut step = Step::Setting;
        loop {
            step = match step {
                Step::Setting => match self.setting(&mut stack)? {
                    Some(step) => step,
                    None => break,
                },
                Step::Value => self.value(&mut stack)?,
                Step::FirstElement => self.first_element(&mut stack)?,
                Step::Complete(value) => self.complete(&mut stack, value)?,
            };
        }
        match stack.pop() {
            Some(Frame::Group { group, .. }) => Ok(group),
            _ => self.error("internal error: the document is not a group".to_owned()),
        }
    }

    /// A setting's name and `=`, or the end of the group (`None` at the end
    /// of the document).
    fn setting(&mut self, stack: &mut Vec<Frame>) -> Result<Option<Step>> {
        let nested = stack.len() > 1;
        match self.peek() {
            Token::GroupEnd if nested => {
                self.take();
                return Ok(Some(Step::Complete(close_container(stack))));
            }
            Token::End if !nested => return Ok(None),
            Token::Name(_) => {}
            _ if nested => return self.unexpected("a setting name or `}`"),
            _ => return self.unexpected("a setting name"),
        }
        let Token::Name(name) = self.take() else {
            return self.error("internal error: a name vanished".to_owned());
        };
        let Some(Frame::Group { names, pending, .. }) = stack.last_mut() else {
            return self.error("internal error: a setting outside a group".to_owned());
        };
        // libconfig checks the name before it reads on.
        if !names.insert(name.clone()) {
            return self.error(format!("duplicate setting name `{name}`"));
        }
        *pending = Some(name.clone());
        if !matches!(self.peek(), Token::Equals) {
            return self.unexpected(&format!("`=` or `:` after `{name}`"));
        }
        self.take();
        Ok(Some(Step::Value))
    }

    /// A value whose first token is the lookahead.
    fn value(&mut self, stack: &mut Vec<Frame>) -> Result<Step> {
        let in_array = matches!(stack.last(), Some(Frame::Array(_)));
        let scalar = match self.take() {
            Token::Bool(b) => Value::Bool(b),
            Token::Int(i) => Value::Int(i64::from(i)),
            Token::Int64(i) => Value::Int64(i),
            Token::Float(f) => Value::Float(f),
            Token::Str(mut text) => {
                // Adjacent strings are one value; libconfig reads past the last.
                while let Token::Str(_) = self.peek() {
                    if let Token::Str(more) = self.take() {
                        text.extend_from_slice(&more);
                    }
                }
                match String::from_utf8(text) {
                    Ok(text) => Value::String(text),
                    Err(e) => Value::Bytes(e.into_bytes()),
                }
            }
            open @ (Token::GroupStart | Token::ListStart | Token::ArrayStart) if !in_array => {
                // The document's root group is not a level.
                if stack.len() > MAX_DEPTH {
                    return self.error(format!(
                        "nesting deeper than {MAX_DEPTH} levels; libconfig reads deeper \
                         files, but no configuration needs them"
                    ));
                }
                stack.push(match open {
                    Token::GroupStart => Frame::group(),
                    Token::ListStart => Frame::List(Vec::new()),
                    _ => Frame::Array(Vec::new()),
                });
                return Ok(match open {
                    Token::GroupStart => Step::Setting,
                    _ => Step::FirstElement,
                });
            }
            token @ (Token::GroupStart | Token::ListStart | Token::ArrayStart) => {
                self.lookahead = Some(token);
                return self.unexpected("a scalar: an array holds only scalars; use a list");
            }
            Token::Name(word) => {
                self.lookahead = Some(Token::Name(word.clone()));
                return self.error(format!(
                    "unexpected `{word}`: strings must be in double quotes"
                ));
            }
            token => {
                self.lookahead = Some(token);
                return self.unexpected("a value");
            }
        };
        Ok(Step::Complete(scalar))
    }

    /// Right after `(` or `[`: the close, or the first element.
    fn first_element(&mut self, stack: &mut Vec<Frame>) -> Result<Step> {
        let close = match stack.last() {
            Some(Frame::List(_)) => Token::ListEnd,
            _ => Token::ArrayEnd,
        };
        if *self.peek() == close {
            self.take();
            return Ok(Step::Complete(close_container(stack)));
        }
        Ok(Step::Value)
    }

    /// Hands a complete value to the container on top of the stack.
    fn complete(&mut self, stack: &mut Vec<Frame>, value: Value) -> Result<Step> {
        match stack.last_mut() {
            Some(Frame::Group { group, pending, .. }) => {
                let name = pending.take().unwrap_or_default();
                group.push_unchecked(super::value::Setting { name, value });
                if matches!(self.peek(), Token::Semicolon | Token::Comma) {
                    self.take();
                }
                Ok(Step::Setting)
            }
            // A number is checked as soon as it is read, a string only after
            // the token that follows it (libconfig's order, so its line).
            Some(Frame::Array(items))
                if !items.first().is_none_or(|first| first.is_same_type(&value)) =>
            {
                let first = items.first().map_or("", Value::type_name);
                self.error(format!(
                    "an array holds one type: {} after {first}; use a list",
                    value.type_name()
                ))
            }
            Some(Frame::List(items) | Frame::Array(items)) => {
                items.push(value);
                let close = match stack.last() {
                    Some(Frame::List(_)) => Token::ListEnd,
                    _ => Token::ArrayEnd,
                };
                match self.peek() {
                    Token::Comma => {
                        self.take();
                        Ok(Step::Value)
                    }
                    token if *token == close => {
                        self.take();
                        Ok(Step::Complete(close_container(stack)))
                    }
                    _ if close == Token::ListEnd => self.unexpected("`,` or `)`"),
                    _ => self.unexpected("`,` or `]`"),
                }
            }
            None => self.error("internal error: a value outside the document".to_owned()),
        }
    }
}

/// Pops the list or array on top of the stack as a value.
fn close_container(stack: &mut Vec<Frame>) -> Value {
    match stack.pop() {
        Some(Frame::List(items)) => Value::List(items),
        Some(Frame::Array(items)) => Value::Array(items),
        Some(Frame::Group { group, .. }) => Value::Group(group),
        None => Value::List(Vec::new()),
    }
}
