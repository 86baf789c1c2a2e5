use std::path::{Path, PathBuf};

use super::*;
use proptest::prelude::*;

/// The sample `primus.cfg` every crate's tests share.
const PRIMUS_CFG: &str = include_str!("../../tests/testdata/libconfig/primus.cfg");

#[test]
fn reads_the_vendor_primus_cfg_shape() {
    let doc = parse(PRIMUS_CFG).unwrap();
    assert_eq!(doc.get("version").and_then(Value::as_str), Some("1.0"));
    let slot = doc
        .lookup("primus.hsms.hsm0.slots.slot0")
        .and_then(Value::as_group)
        .unwrap();
    assert_eq!(
        slot.get("user_name").and_then(Value::as_str),
        Some("PARTITION")
    );
    assert_eq!(slot.get("id").and_then(Value::as_int), Some(0));
    assert_eq!(
        slot.get("proxy_user").and_then(Value::as_str),
        Some("SERVICE_USER")
    );
    assert_eq!(
        doc.lookup("primus.hsms.hsm0.port").and_then(Value::as_str),
        Some("2310")
    );
}

#[test]
fn reads_every_syntax_form() {
    let doc = parse(
        "// line comment\n/* block\n comment */ a : 0x1F; b = 12L, c=-3 d = 1.5e2; e = .5;\n\
         f = TRUE; g = false; h = \"x\\\"y\\\\\\n\\t\\x41\" /* between */ \"-tail\";\n\
         i = [1, 2, 3]; j = (1, \"two\", { k = 3; }, [4.0]); l = {}; m = (); n = [];\n\
         q = 0xFFFFFFFFFFFFFFFF; r = +7; s = 5000000000L; t = 0X1fL; u = \"C:\\Users\\x\\q\";\n\
         v = \"\\xff\\xfe\"; w = 5000000000;",
    )
    .unwrap();
    assert_eq!(doc.get("a"), Some(&Value::Int(31)));
    assert_eq!(doc.get("b"), Some(&Value::Int64(12)));
    assert_eq!(doc.get("c"), Some(&Value::Int(-3)));
    assert_eq!(doc.get("d"), Some(&Value::Float(150.0)));
    assert_eq!(doc.get("e"), Some(&Value::Float(0.5)));
    assert_eq!(doc.get("f"), Some(&Value::Bool(true)));
    assert_eq!(doc.get("g"), Some(&Value::Bool(false)));
    assert_eq!(
        doc.get("h").and_then(Value::as_str),
        Some("x\"y\\\n\tA-tail")
    );
    assert_eq!(
        doc.get("i"),
        Some(&Value::Array(vec![
            Value::Int(1),
            Value::Int(2),
            Value::Int(3)
        ]))
    );
    let j = doc.get("j").and_then(Value::as_elements).unwrap();
    assert_eq!(j.len(), 4);
    assert_eq!(
        j[2].as_group().and_then(|g| g.get("k")),
        Some(&Value::Int(3))
    );
    assert_eq!(doc.get("l"), Some(&Value::Group(Group::new())));
    assert_eq!(doc.get("m"), Some(&Value::List(vec![])));
    assert_eq!(doc.get("n"), Some(&Value::Array(vec![])));
    assert_eq!(doc.get("q"), Some(&Value::Int(-1)));
    assert_eq!(doc.get("r"), Some(&Value::Int(7)));
    assert_eq!(doc.get("s"), Some(&Value::Int64(5_000_000_000)));
    assert_eq!(doc.get("t"), Some(&Value::Int64(31)));
    // Unknown escapes keep their backslash; `\x` escapes give bytes.
    assert_eq!(
        doc.get("u").and_then(Value::as_str),
        Some("C:\\Users\\x\\q")
    );
    assert_eq!(doc.get("v"), Some(&Value::Bytes(vec![0xff, 0xfe])));
    // Without `L`, libconfig keeps the low 32 bits of a decimal literal.
    assert_eq!(doc.get("w"), Some(&Value::Int(705_032_704)));
    let text = write(&doc).unwrap();
    assert!(text.contains("s = 5000000000L;\n"), "{text}");
    assert_eq!(parse(&text).unwrap(), doc);
}

#[test]
fn quote_round_trips_through_the_parser() {
    assert_eq!(quote("/plain/path"), "\"/plain/path\"");
    let awkward = "a \"b\" c\\d\ne\tf\x01g\u{7f}h\u{e4}";
    let doc = parse(&format!("s = {};", quote(awkward))).unwrap();
    assert_eq!(doc.get("s").and_then(Value::as_str), Some(awkward));
}

#[test]
fn errors_name_line_column_and_problem() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("a = 1;\nb = ;", 2, 5, "expected a value, found `;`"),
        ("a = 1;\n  a = 2;", 2, 3, "duplicate setting name `a`"),
        ("a = \"abc", 1, 9, "unterminated string"),
        ("a = { b = 1;", 1, 13, "or `}`, found end of file"),
        ("a = [1, \"x\"];", 1, 12, "one type: string after integer"),
        ("a = [1,\n2L];", 2, 1, "64-bit integer after integer"),
        ("a = [{}];", 1, 6, "an array holds only scalars"),
        ("a = (1 2);", 1, 8, "expected `,` or `)`"),
        ("a = (1, );", 1, 9, "expected a value"),
        ("a = hello;", 1, 5, "strings must be in double quotes"),
        ("a 1;", 1, 3, "expected `=` or `:` after `a`"),
        ("1 = 2;", 1, 1, "expected a setting name"),
        ("true = 1;", 1, 1, "a setting name, found a boolean"),
        ("@include \"x\"\n", 1, 1, "only when reading a file"),
        ("a = 1; @include \"x\"\n", 1, 8, "at the start of a line"),
        ("a = 1;\n# no newline", 2, 1, "a setting name, found `#`"),
        ("a = 0b101;", 1, 10, "after `b101`, found `;`"),
        ("a = 0o17;", 1, 9, "after `o17`, found `;`"),
        ("a = 1.2.3;", 1, 8, "a setting name, found a float"),
        ("a = -;", 1, 5, "expected a value, found `-`"),
        ("a =\x0b1;", 1, 4, "found byte 0x0b"),
        ("\u{e9} = 1;", 1, 1, "a setting name, found byte 0xc3"),
        ("a = \"\u{e9}\"; b = ?", 1, 14, "found `?`"),
    ];
    for (text, line, column, message) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!((err.line, err.column), (*line, *column), "{text:?}: {err}");
        assert!(err.message.contains(message), "{text:?}: {err}");
        assert!(err
            .to_string()
            .starts_with(&format!("line {line}, column {column}: ")));
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = format!(
        "a = {}{};",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(parse(&deep).unwrap_err().message.contains("nesting deeper"));
    let ok = format!("a = {}{};", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    let doc = parse(&ok).unwrap();
    assert_eq!(parse(&write(&doc).unwrap()).unwrap(), doc);
}

#[test]
fn writer_refuses_what_it_cannot_express() {
    let mut g = Group::new();
    g.insert("bad name", Value::Int(1));
    assert_eq!(
        write(&g).unwrap_err(),
        WriteError::InvalidName {
            path: "bad name".into()
        }
    );
    let mut g = Group::new();
    let mut inner = Group::new();
    inner.insert("f", Value::Float(f64::NAN));
    g.insert("outer", Value::Group(inner));
    assert_eq!(
        write(&g).unwrap_err(),
        WriteError::NotANumber {
            path: "outer.f".into()
        }
    );
    let mut g = Group::new();
    g.insert("a", Value::Array(vec![Value::Int(1), Value::Bool(true)]));
    assert_eq!(
        write(&g).unwrap_err(),
        WriteError::BadArray { path: "a".into() }
    );
}

#[test]
fn group_edits_keep_order() {
    let mut g = parse("a = 1; b = 2; c = 3;").unwrap();
    assert_eq!(g.insert("b", Value::Int(20)), Some(Value::Int(2)));
    assert_eq!(g.insert("d", Value::Int(4)), None);
    assert_eq!(g.remove("a"), Some(Value::Int(1)));
    assert_eq!(write(&g).unwrap(), "b = 20;\nc = 3;\nd = 4;\n");
}

/// Strings libconfig can hold: anything but NUL.
fn text() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| s.replace('\0', ""))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|i| Value::Int(i.into())),
        any::<i64>().prop_map(Value::Int64),
        any::<f64>()
            .prop_filter("a number", |f| !f.is_nan())
            .prop_map(Value::Float),
        text().prop_map(Value::String),
        prop::collection::vec(1u8.., 1..8)
            .prop_filter("not UTF-8", |b| std::str::from_utf8(b).is_err())
            .prop_map(Value::Bytes),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z*][-A-Za-z0-9_*]{0,8}"
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::List),
            prop_oneof![
                prop::collection::vec(any::<i64>().prop_map(Value::Int64), 0..4),
                prop::collection::vec(text().prop_map(Value::String), 0..4),
            ]
            .prop_map(Value::Array),
            prop::collection::btree_map(name(), inner, 0..5).prop_map(|m| {
                let mut g = Group::new();
                for (k, v) in m {
                    g.insert(k, v);
                }
                Value::Group(g)
            }),
        ]
    })
}

proptest! {
    #[test]
    fn write_then_parse_round_trips(settings in prop::collection::btree_map(name(), value(), 0..8)) {
        let mut doc = Group::new();
        for (k, v) in settings {
            doc.insert(k, v);
        }
        let text = write(&doc).unwrap();
        prop_assert_eq!(parse(&text).unwrap(), doc);
    }

    #[test]
    fn parse_never_panics(text in "\\PC{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(&text);
        let _ = parse(&bytes);
    }
}

#[test]
fn includes_can_come_from_a_reader_instead_of_the_disk() {
    // Files of another host, fetched: none of these paths exists here.
    let fetched = std::collections::HashMap::from([
        (
            PathBuf::from("/remote/etc/primus/hsms.cfg"),
            b"host = \"hsm1\";\n@include \"port.cfg\"\n".to_vec(),
        ),
        (
            PathBuf::from("/remote/etc/primus/port.cfg"),
            b"port = 2300;\n".to_vec(),
        ),
    ]);
    let read = |path: &Path| {
        fetched
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    };
    let dir = Path::new("/remote/etc/primus");
    let doc = parse_including_with("a = 1;\n@include \"hsms.cfg\"\n", dir, &read).unwrap();
    let names: Vec<&str> = doc.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "host", "port"]);

    let err = parse_including_with("@include \"other.cfg\"\n", dir, &read).unwrap_err();
    assert!(
        err.message
            .contains("cannot open include file `/remote/etc/primus/other.cfg`"),
        "{err}"
    );
}

#[test]
fn includes_are_read_from_the_include_directory_and_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::write(dir.path().join("conf.d/hsm.cfg"), "host = \"hsm1\";\n").unwrap();
    std::fs::write(dir.path().join("conf.d/bad.cfg"), "port = 1;\nport = 2;\n").unwrap();
    std::fs::write(dir.path().join("self.cfg"), "@include \"self.cfg\"\n").unwrap();

    let doc = parse_including("a = 1;\n@include \"conf.d/hsm.cfg\"\nb = 2;\n", dir.path()).unwrap();
    let names: Vec<&str> = doc.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "host", "b"]);

    let err = parse_including("@include \"conf.d/bad.cfg\"\n", dir.path()).unwrap_err();
    let bad = dir.path().join("conf.d/bad.cfg");
    assert_eq!((err.file.as_deref(), err.line), (Some(bad.as_path()), 2));
    assert!(err.to_string().starts_with(&format!(
        "{}: line 2, column 1: duplicate setting name `port`",
        bad.display()
    )));

    let err = parse_including("a = 1;\n@include \"nope.cfg\"\n", dir.path()).unwrap_err();
    assert_eq!((err.file.as_deref(), err.line), (None, 2));
    assert!(err.message.contains("cannot open include file"), "{err}");
    assert!(err.message.contains("nope.cfg"), "{err}");

    let err = parse_including("@include \"self.cfg\"\n", dir.path()).unwrap_err();
    assert!(err.message.contains("deeper than 10 files"), "{err}");
    assert_eq!(
        err.file.as_deref(),
        Some(dir.path().join("self.cfg").as_path())
    );
}
