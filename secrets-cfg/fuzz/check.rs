//! The fuzz check for the libconfig reader and writer, shared by the
//! cargo-fuzz target and the corpus test in `cargo test`.

use primus_core::libconfig::{parse, write};

/// Any input: the reader must not panic; an error must point inside the
/// text; a document must write, read back equal, and write identically again.
pub(crate) fn check(data: &[u8]) {
    match parse(data) {
        Ok(doc) => {
            let canonical = write(&doc).expect("every parsed document can be written");
            let again = parse(&canonical).expect("canonical output parses");
            assert_eq!(again, doc, "canonical output reads back equal");
            assert_eq!(
                write(&again).expect("writes again"),
                canonical,
                "canonical form is a fixed point"
            );
        }
        Err(e) => {
            assert_eq!(e.file, None, "no file is included from text");
            let lines = data.split(|&b| b == b'\n').count();
            assert!(
                e.line >= 1 && e.line <= lines,
                "error line {} outside 1..={lines}",
                e.line
            );
            // Columns count characters: UTF-8 continuation bytes do not count.
            let line_len = data
                .split(|&b| b == b'\n')
                .nth(e.line - 1)
                .map_or(0, |l| l.iter().filter(|&&b| b & 0xC0 != 0x80).count());
            assert!(
                e.column >= 1 && e.column <= line_len + 1,
                "error column {} outside line of {line_len}",
                e.column
            );
        }
    }
}
