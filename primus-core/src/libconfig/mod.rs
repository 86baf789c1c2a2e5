//! A strict reader and canonical writer for the [libconfig] file syntax,
//! used by both `primus.cfg` and `.secrets.cfg`.
//!
//! The reader accepts the whole grammar of libconfig 1.7 except `@include`
//! (refused with an error, since following includes would let a config file
//! read arbitrary files): `#`, `//` and `/* */` comments; settings written
//! `name = value` or `name: value`, ended by an optional `;` or `,`; groups
//! `{ ... }`, lists `( ... )` and arrays `[ ... ]` of one scalar type;
//! strings with the escapes `\\ \" \f \n \r \t \xHH`, adjacent strings
//! concatenated; integers in decimal, hexadecimal (`0x`), binary (`0b`) and
//! octal (`0o`/`0q`) with an optional `L`/`LL` suffix; floats; booleans
//! (`true`/`false`, any case). Errors carry the line and column (both from 1)
//! where the problem starts.
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

mod parser;
mod value;
mod writer;

pub use parser::{is_valid_name, parse, ParseError, MAX_DEPTH};
pub use value::{Group, Setting, Value};
pub use writer::{quote, write, write_at, WriteError};

#[cfg(test)]
mod tests;
