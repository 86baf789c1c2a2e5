//! A strict reader and canonical writer for the [libconfig] file syntax,
//! used by both `primus.cfg` and `.secrets.cfg`.
//!
//! The reader reads what libconfig 1.5 reads, the version the vendor's
//! PKCS#11 library links (Debian's `libconfig9`), and refuses what it
//! refuses, at the line it names; a differential test holds it to the C
//! library. Its grammar: `#` and `//` comments (ended by a newline: one at
//! the very end of a file without a newline is an error) and `/* */`
//! comments; settings written `name = value` or `name: value`, ended by an
//! optional `;` or `,`; groups `{ ... }`, lists `( ... )` and arrays
//! `[ ... ]` of scalars of one type; strings with the escapes
//! `\\ \" \f \n \r \t \xHH`, adjacent strings joined, any other backslash
//! kept as it is (`"C:\Users"` is `C:\Users`); integers in decimal and
//! hexadecimal (`0x`), `int64` with an `L`/`LL` suffix (no binary, no octal:
//! `0b101` is refused); floats; booleans (`true`/`false`, any case);
//! `@include "file"` at the start of a line, followed only by
//! [`parse_including`]. Strings are bytes in libconfig: one that is not UTF-8
//! is a [`Value::Bytes`]. The library's quirks come along, since a file must
//! mean the same to both: a decimal literal beyond 32 bits without `L` is
//! truncated to 32 bits, a `/* */` comment or a string left open at the end
//! of the document ends it, `\x00` is dropped. Errors carry the line libconfig
//! reports and a column (both from 1). The one difference is on purpose:
//! nesting deeper than [`MAX_DEPTH`] levels is refused.
//!
//! The writer emits one canonical form: comments and layout are not kept,
//! every setting and value is. `parse(write(doc)) == doc` for any document the
//! writer accepts.
//! [`quote`] escapes one string the same way, for programs that write
//! libconfig text by hand.
//!
//! ```
//! use primus_core::libconfig::{self, Value};
//! let doc = libconfig::parse(r#"
//!     version = "1.0";
//!     primus: { hsms: { hsm0: { host = "hsm1.example"; port = "2310";
//!         slots: { slot0: { user_name = "PARTITION"; id = 0; }; }; }; }; };
//! "#).unwrap();
//! let host = doc.lookup("primus.hsms.hsm0.host").and_then(Value::as_str);
//! assert_eq!(host, Some("hsm1.example"));
//! let text = libconfig::write(&doc).unwrap();
//! assert_eq!(libconfig::parse(&text).unwrap(), doc);
//! ```
//!
//! [libconfig]: https://hyperrealm.github.io/libconfig/libconfig_manual.html

mod lexer;
mod parser;
mod value;
mod writer;

pub use lexer::{is_valid_name, MAX_INCLUDE_DEPTH};
pub use parser::{parse, parse_including, parse_including_with, ParseError, MAX_DEPTH};
pub use value::{Group, Setting, Value};
pub use writer::{quote, write, write_at, WriteError};

#[cfg(test)]
mod tests;
