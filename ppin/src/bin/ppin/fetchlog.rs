//! `ppin --fetchlog` output: the vendor's three header lines, then the log
//! lines on stdout or, with `--out FILE`, in that file.

use std::io;
use std::path::Path;

use ppin::PartitionLog;
use serde_json::{json, Value};

/// Mode of the `--out` file: the partition log names users and client
/// addresses, so only its owner may read it.
const OUT_FILE_MODE: u32 = 0o600;

/// The header, then the lines unless they went to a file.
pub(crate) fn text(log: &PartitionLog, lines_to_stdout: bool) -> String {
    let mut text = String::new();
    for line in log.header() {
        text.push_str(&line);
        text.push('\n');
    }
    if lines_to_stdout {
        for line in &log.lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// `--out FILE`: the lines, one per line, replacing FILE durably (temporary
/// file, fsync, rename, directory fsync): a reader sees the old file or the
/// whole new one.
pub(crate) fn write_lines(path: &Path, log: &PartitionLog) -> Result<(), String> {
    let mut contents = log.lines.join("\n");
    if !contents.is_empty() {
        contents.push('\n');
    }
    primus_core::replace_file(path, contents.as_bytes(), OUT_FILE_MODE)
        .map_err(|error: io::Error| format!("cannot write the log to {}: {error}; check the path and its directory's permissions", path.display()))
}

/// The fields of the JSON document.
pub(crate) fn json(log: &PartitionLog, out: Option<&Path>) -> Value {
    json!({
        "since": log.header()[0].trim_start_matches(PartitionLog::DUMP_FROM),
        "slots": log.slots,
        "lines": log.lines,
        "out": out.map(|p| p.display().to_string()),
    })
}
