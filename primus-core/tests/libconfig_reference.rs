//! Holds our libconfig reader to the C library the vendor's PKCS#11 provider
//! links: libconfig 1.5 (Debian's `libconfig-dev` 1.5-0.4, installed by
//! `scripts/install-tools.sh`). Both read every file of the corpus and print
//! the same canonical dump (`libconfig_reference/dump.c` says the form);
//! every difference is a failure, and so is a missing C library: this test
//! never skips.
//!
//! The corpus: the `primus.cfg` samples of the vendor's pages, byte for byte
//! and completed where a page elides parts (`testdata/libconfig/vendor`, see
//! its README); one file per grammar case (`testdata/libconfig/grammar`);
//! the fuzz seeds of `secrets-cfg` and the sample `primus.cfg` the crates'
//! tests share; nesting as deep as we read; and every
//! prefix of the vendor samples and grammar cases, cut at each line end.
//!
//! The one difference on purpose, checked apart: libconfig reads nesting up
//! to about 1998 groups or 4996 lists, we refuse it past `MAX_DEPTH` levels.

// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use primus_core::libconfig::{self, Group, Value, MAX_DEPTH};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the C harness against the installed libconfig.
fn build_harness(dir: &Path) -> PathBuf {
    let binary = dir.join("dump");
    let source = manifest_dir().join("tests/libconfig_reference/dump.c");
    let output = Command::new("cc")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .arg("-lconfig")
        .output()
        .expect("a C compiler `cc` on PATH (the reference harness is C)");
    assert!(
        output.status.success(),
        "cannot build the libconfig reference harness; run scripts/install-tools.sh \
         (it installs libconfig-dev 1.5):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let version = Command::new(&binary).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    assert_eq!(
        version, "1.5.0",
        "the reference must be libconfig 1.5, the vendor's; run scripts/install-tools.sh"
    );
    binary
}

fn reference_dump(harness: &Path, file: &Path) -> String {
    let output = Command::new(harness).arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "harness failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn push_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' && b != b'"' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
}

fn dump_value(out: &mut String, value: &Value, path: &str) {
    out.push_str(path);
    out.push(' ');
    match value {
        Value::Bool(b) => out.push_str(&format!("bool {b}\n")),
        Value::Int(i) => out.push_str(&format!("int {i}\n")),
        Value::Int64(i) => out.push_str(&format!("int64 {i}\n")),
        Value::Float(f) => out.push_str(&format!("float {:016x}\n", f.to_bits())),
        Value::String(_) | Value::Bytes(_) => {
            out.push_str("string ");
            push_string(out, value.as_bytes().unwrap());
            out.push('\n');
        }
        Value::Group(group) => dump_group(out, group, path),
        Value::Array(items) | Value::List(items) => {
            let kind = if matches!(value, Value::Array(_)) {
                "array"
            } else {
                "list"
            };
            out.push_str(&format!("{kind} {}\n", items.len()));
            for (i, item) in items.iter().enumerate() {
                dump_value(out, item, &format!("{path}[{i}]"));
            }
        }
    }
}

fn dump_group(out: &mut String, group: &Group, path: &str) {
    out.push_str(&format!("group {}\n", group.len()));
    for setting in group.iter() {
        dump_value(out, &setting.value, &format!("{path}/{}", setting.name));
    }
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn our_dump(file: &Path) -> String {
    let text = std::fs::read(file).unwrap();
    let dir = file.parent().unwrap();
    match libconfig::parse_including(&text, dir) {
        Ok(doc) => {
            let mut out = String::new();
            dump_value(&mut out, &Value::Group(doc), "");
            out
        }
        Err(e) => format!(
            "ERROR {} line {}\t{}\n",
            base_name(e.file.as_deref().unwrap_or(file)),
            e.line,
            e.message
        ),
    }
}

/// The dump without error messages, which are compared by file and line only.
fn comparable(dump: &str) -> String {
    dump.lines()
        .map(|line| line.split('\t').next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files
}

/// Lists, groups and arrays nested as deep as our reader reads ([`MAX_DEPTH`]).
fn deep_files(dir: &Path) -> Vec<PathBuf> {
    let n = MAX_DEPTH;
    let cases = [
        (
            "lists.cfg",
            format!("a = {}1{};\n", "(".repeat(n), ")".repeat(n)),
        ),
        (
            "groups.cfg",
            format!("{}x = 1;{}\n", "a = {\n".repeat(n), "};".repeat(n)),
        ),
        (
            "array-in-lists.cfg",
            format!(
                "a = {}[\"x\" \"y\"]{};\n",
                "(".repeat(n - 1),
                ")".repeat(n - 1)
            ),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// Every prefix of `file` that ends at a line end or one byte short of it.
fn line_prefixes(file: &Path, dir: &Path) -> Vec<PathBuf> {
    let bytes = std::fs::read(file).unwrap();
    let mut cuts: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .flat_map(|(i, _)| [i, i + 1])
        .collect();
    cuts.dedup();
    cuts.into_iter()
        .filter(|&cut| cut < bytes.len())
        .map(|cut| {
            let path = dir.join(format!("{}.cut{cut}", base_name(file)));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            path
        })
        .collect()
}

#[test]
fn our_reader_reads_every_corpus_file_as_libconfig_1_5_does() {
    let work = tempfile::tempdir().unwrap();
    let harness = build_harness(work.path());
    let testdata = manifest_dir().join("tests/testdata/libconfig");
    let vendor = files_in(&testdata.join("vendor"));
    let grammar = files_in(&testdata.join("grammar"));
    let seeds = files_in(&manifest_dir().join("../secrets-cfg/fuzz/seeds/libconfig_parse"));
    assert!(vendor.len() >= 10 && grammar.len() >= 30 && seeds.len() >= 30);
    // Prefixes get a copy of the included files, so their includes resolve.
    let cuts = work.path().join("cuts");
    std::fs::create_dir_all(cuts.join("included")).unwrap();
    for file in files_in(&testdata.join("grammar/included")) {
        std::fs::copy(&file, cuts.join("included").join(base_name(&file))).unwrap();
    }
    let mut corpus: Vec<PathBuf> = Vec::new();
    corpus.extend(vendor.iter().cloned());
    corpus.extend(grammar.iter().cloned());
    corpus.extend(seeds);
    corpus.push(testdata.join("primus.cfg"));
    corpus.extend(deep_files(work.path()));
    for file in vendor.iter().chain(grammar.iter()) {
        corpus.extend(line_prefixes(file, &cuts));
    }
    let mut disagreements = Vec::new();
    let mut refused = 0;
    for file in &corpus {
        let expected = reference_dump(&harness, file);
        let ours = our_dump(file);
        refused += usize::from(expected.starts_with("ERROR"));
        if comparable(&expected) != comparable(&ours) {
            disagreements.push(format!(
                "{}:\n  libconfig: {}\n  ours:      {}",
                file.display(),
                expected.lines().take(3).collect::<Vec<_>>().join(" | "),
                ours.lines().take(3).collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    println!(
        "{} files ({refused} refused by libconfig), {} disagreements",
        corpus.len(),
        disagreements.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} of {} files read differently:\n{}",
        disagreements.len(),
        corpus.len(),
        disagreements.join("\n")
    );
}

#[test]
fn nesting_past_our_limit_is_the_one_difference_and_it_is_refused_clearly() {
    let work = tempfile::tempdir().unwrap();
    let harness = build_harness(work.path());
    let n = MAX_DEPTH + 1;
    let file = work.path().join("deeper.cfg");
    std::fs::write(&file, format!("a = {}1{};\n", "(".repeat(n), ")".repeat(n))).unwrap();
    let reference = reference_dump(&harness, &file);
    assert!(reference.starts_with(" group 1\n"), "{reference}");
    let ours = our_dump(&file);
    assert!(
        ours.starts_with("ERROR deeper.cfg line 1\tnesting deeper than 256 levels"),
        "{ours}"
    );
}
