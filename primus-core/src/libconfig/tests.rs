use super::*;
use proptest::prelude::*;

const PRIMUS_CFG: &str = r#"
# Securosys primus.cfg
version = "1.0";
primus: {
  hsms: {
    hsm0: { host = "hsm1.example"; port = "2310";
            slots: { slot0: { user_name = "PARTITION"; id = 0;
                              proxy_user = "SERVICE_USER"; }; }; };
  };
};
"#;

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
         o = 0b101; p = 0o17; q = 0xFFFFFFFFFFFFFFFF; r = +7; s = 5000000000;",
    )
    .unwrap();
    assert_eq!(doc.get("a"), Some(&Value::Int(31)));
    assert_eq!(doc.get("b"), Some(&Value::Int(12)));
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
    assert_eq!(doc.get("o"), Some(&Value::Int(5)));
    assert_eq!(doc.get("p"), Some(&Value::Int(15)));
    assert_eq!(doc.get("q"), Some(&Value::Int(-1)));
    assert_eq!(doc.get("r"), Some(&Value::Int(7)));
    assert_eq!(doc.get("s"), Some(&Value::Int(5_000_000_000)));
    // As docs/secrets-cfg-format.md says: prefix letters in any case, and the
    // `L`/`LL` suffix after a prefixed integer too.
    let prefixed = parse("t = 0X1fL; u = 0B11LL; v = 0Q17;").unwrap();
    assert_eq!(prefixed.get("t"), Some(&Value::Int(31)));
    assert_eq!(prefixed.get("u"), Some(&Value::Int(3)));
    assert_eq!(prefixed.get("v"), Some(&Value::Int(15)));
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
        ("a = \"abc", 1, 5, "unterminated string"),
        ("a = \"\\q\";", 1, 6, "unknown escape"),
        ("a = \"\\xZZ\";", 1, 6, "`\\x` must be followed"),
        ("a = \"\\xff\";", 1, 5, "not valid UTF-8"),
        ("a = { b = 1;", 1, 13, "expected `}` before end of file"),
        ("a = [1, \"x\"];", 1, 9, "an array holds one type"),
        ("a = [{}];", 1, 6, "an array holds only scalars"),
        ("a = (1 2);", 1, 8, "expected `,` or `)`"),
        ("a = (1, );", 1, 9, "expected a value"),
        ("a = hello;", 1, 5, "strings must be in double quotes"),
        ("a 1;", 1, 3, "expected `=` or `:` after `a`"),
        ("1 = 2;", 1, 1, "expected a setting name"),
        ("@include \"x\"", 1, 1, "`@include` is not supported"),
        ("a = 1; /* open", 1, 8, "unterminated `/*` comment"),
        ("a = 99999999999999999999;", 1, 5, "does not fit in 64 bits"),
        ("a = 1e999;", 1, 5, "float out of range"),
        ("a = 12abc;", 1, 5, "malformed number"),
        ("a = 1.2.3;", 1, 5, "malformed number"),
        ("a = -0x1;", 1, 5, "a sign is not allowed"),
        ("a = 0x;", 1, 5, "expected digits after the integer prefix"),
        ("a = 1e;", 1, 5, "expected digits in the exponent"),
        ("a = -;", 1, 5, "expected a number"),
        ("é = 1;", 1, 1, "expected a setting name, found `é`"),
        ("a = \"é\"; b = ?", 1, 14, "found `?`"),
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
        WriteError::NonFiniteFloat {
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

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
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
                prop::collection::vec(any::<i64>().prop_map(Value::Int), 0..4),
                prop::collection::vec(any::<String>().prop_map(Value::String), 0..4),
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
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }
}
