//! Property tests of the value codec: msgpack round trips for every type
//! (with nulls, unknowns, nested and dynamic values, numbers of any size),
//! type JSON round trips, garbage input never panicking; and the JSON
//! decoding of stored state.

#![allow(clippy::unwrap_used)] // tests may unwrap: a failure is the test failing

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use tfplug::value::{
    from_json, from_msgpack, from_value, to_msgpack, to_value, Number, Type, Value,
};

fn arb_type() -> impl Strategy<Value = Type> {
    let leaf = prop_oneof![
        Just(Type::Bool),
        Just(Type::Number),
        Just(Type::String),
        Just(Type::Dynamic)
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Type::Tuple),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4).prop_map(Type::Object),
        ]
    })
}

fn arb_number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Number::from),
        // Integers and decimals far beyond 64 bits.
        "-?[1-9][0-9]{20,60}".prop_map(|s| Number::parse(&s).unwrap()),
        "-?[1-9][0-9]{0,30}\\.[0-9]{0,40}[1-9]".prop_map(|s| Number::parse(&s).unwrap()),
        Just(Number::parse("1e400").unwrap()),
    ]
}

/// A known, non-dynamic value of type `ty`; children may be null or unknown.
fn arb_value(ty: Type) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::String => ".{0,12}".prop_map(Value::from).boxed(),
        // A dynamic slot holds a value of some concrete type.
        Type::Dynamic => prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            ".{0,8}".prop_map(Value::from),
            arb_number().prop_map(Value::Number),
            prop::collection::btree_map("[a-z]{1,4}", ".{0,4}".prop_map(Value::from), 0..3)
                .prop_map(Value::Object),
        ]
        .boxed(),
        Type::List(e) => prop::collection::vec(arb_value(*e), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => prop::collection::vec(arb_value(*e), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => prop::collection::btree_map(".{0,6}", arb_value(*e), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Tuple(ts) => ts
            .into_iter()
            .map(arb_value)
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Object(attrs) => {
            let names: Vec<String> = attrs.keys().cloned().collect();
            attrs
                .into_values()
                .map(arb_value)
                .collect::<Vec<_>>()
                .prop_map(move |vals| Value::Object(names.iter().cloned().zip(vals).collect()))
                .boxed()
        }
    };
    prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
}

fn typed_value() -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(|t| arb_value(t.clone()).prop_map(move |v| (t.clone(), v)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn msgpack_round_trip((ty, value) in typed_value()) {
        let bytes = to_msgpack(&value, &ty).unwrap();
        prop_assert_eq!(from_msgpack(&bytes, &ty).unwrap(), value);
    }

    #[test]
    fn dynamic_round_trip((_ty, value) in typed_value()) {
        // Any value in a dynamic slot travels as [type JSON, value].
        let bytes = to_msgpack(&value, &Type::Dynamic).unwrap();
        prop_assert_eq!(from_msgpack(&bytes, &Type::Dynamic).unwrap(), value);
    }

    #[test]
    fn numbers_are_never_rounded(n in arb_number()) {
        let bytes = to_msgpack(&Value::Number(n.clone()), &Type::Number).unwrap();
        prop_assert_eq!(from_msgpack(&bytes, &Type::Number).unwrap(), Value::Number(n));
    }

    #[test]
    fn type_json_round_trip(ty in arb_type()) {
        prop_assert_eq!(Type::from_json(&ty.to_json()).unwrap(), ty);
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), ty in arb_type()) {
        let _ = from_msgpack(&bytes, &ty);
    }

    #[test]
    fn serde_struct_round_trip(name in ".{0,10}", port in any::<u16>(), tags in prop::collection::vec(".{0,5}", 0..3), big in arb_number()) {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Rule { name: String, port: Option<u16>, tags: Vec<String>, big: Number, note: Option<String> }
        let ty = Type::object([
            ("name", Type::String), ("port", Type::Number), ("tags", Type::set(Type::String)),
            ("big", Type::Number), ("note", Type::String),
        ]);
        let rule = Rule { name, port: Some(port), tags, big, note: None };
        let value = to_value(&rule, &ty).unwrap();
        prop_assert!(matches!(value.attr("tags"), Value::Set(_)));
        let bytes = to_msgpack(&value, &ty).unwrap();
        let back: Rule = from_value(&from_msgpack(&bytes, &ty).unwrap()).unwrap();
        prop_assert_eq!(back, rule);
    }
}

#[test]
fn wire_layout_matches_cty() {
    // Unknown: fixext1 type 0, as go-cty writes it.
    assert_eq!(
        to_msgpack(&Value::Unknown, &Type::String).unwrap(),
        [0xd4, 0, 0]
    );
    // Dynamic: [type JSON as bytes, value].
    let bytes = to_msgpack(&Value::from("hi"), &Type::Dynamic).unwrap();
    assert_eq!(
        bytes,
        [&[0x92, 0xc4, 8][..], b"\"string\"", &[0xa2][..], b"hi"].concat()
    );
    // A number beyond float64 precision travels as its decimal text.
    let big = Number::parse("123456789012345678901234567890").unwrap();
    let bytes = to_msgpack(&Value::Number(big), &Type::Number).unwrap();
    assert_eq!(bytes[0], 0xbe);
    // Objects are written with every attribute, in name order.
    let ty = Type::object([("b", Type::Bool), ("a", Type::String)]);
    let v = Value::Object(BTreeMap::from([("b".to_owned(), Value::Bool(true))]));
    assert_eq!(
        to_msgpack(&v, &ty).unwrap(),
        [0x82, 0xa1, b'a', 0xc0, 0xa1, b'b', 0xc3]
    );
}

#[test]
fn conversions_fail_instead_of_rounding() {
    let big = Value::Number(Number::parse("18446744073709551616").unwrap()); // 2^64
    assert!(from_value::<u64>(&big).is_err());
    assert!(from_value::<f64>(&Value::Number(
        Number::parse("0.1000000000000000000001").unwrap()
    ))
    .is_err());
    assert_eq!(
        from_value::<Number>(&big).unwrap().as_str(),
        "18446744073709551616"
    );
    assert!(from_value::<String>(&Value::Unknown).is_err());
    assert_eq!(from_value::<Option<String>>(&Value::Unknown).unwrap(), None);
    // `()` is the configuration of a provider without attributes.
    from_value::<()>(&Value::Object(BTreeMap::new())).unwrap();
    assert!(from_value::<()>(&Value::from("x")).is_err());
}

#[test]
fn stored_json_state_decodes_with_the_schema_type() {
    let ty = Type::object([
        ("id", Type::String),
        ("ports", Type::set(Type::Number)),
        ("meta", Type::map(Type::String)),
        ("any", Type::Dynamic),
    ]);
    let json = serde_json::json!({
        "id": "x", "ports": [80, 443], "meta": {"a": "b"},
        "any": {"type": ["list", "bool"], "value": [true]}
    });
    let v = from_json(&json, &ty).unwrap();
    assert_eq!(
        v.attr("ports"),
        &Value::Set(vec![Value::from(443), Value::from(80)])
    );
    assert_eq!(v.attr("any"), &Value::List(vec![Value::Bool(true)]));
    let err = from_json(&serde_json::json!({"id": 1}), &ty)
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected a value of type \"string\""), "{err}");
}

/// A typed struct tells known, null and unknown apart with `Field`, and
/// still reads both as `None` with `Option`.
#[test]
fn field_is_tri_state_and_option_still_works() {
    use tfplug::value::Field;
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Tri {
        a: Field<String>,
        b: Field<i64>,
        c: Field<String>,
        d: Option<String>,
    }
    let ty = Type::object([
        ("a", Type::String),
        ("b", Type::Number),
        ("c", Type::String),
        ("d", Type::String),
    ]);
    let v = Value::Object(
        [
            ("a".to_owned(), Value::from("x")),
            ("b".to_owned(), Value::Unknown),
            ("c".to_owned(), Value::Null),
            ("d".to_owned(), Value::Unknown),
        ]
        .into(),
    );
    let t: Tri = from_value(&v).unwrap();
    assert_eq!(
        t,
        Tri {
            a: Field::Known("x".to_owned()),
            b: Field::Unknown,
            c: Field::Null,
            d: None,
        }
    );
    let back = to_value(&t, &ty).unwrap();
    assert!(back.attr("b").is_unknown() && back.attr("c").is_null());
    assert_eq!(back.attr("a"), &Value::from("x"));
}

/// Typed validation reads a few attributes of a config whose others may
/// not be known yet (a variable at `terraform validate`): those are skipped.
#[test]
fn attributes_the_struct_does_not_name_may_be_unknown() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Only {
        a: Option<String>,
    }
    let v = Value::Object(
        [
            ("a".to_owned(), Value::from("x")),
            ("later".to_owned(), Value::Unknown),
        ]
        .into(),
    );
    let only: Only = from_value(&v).unwrap();
    assert_eq!(only.a.as_deref(), Some("x"));
}

/// A value's Debug and the codec's errors name kinds, never contents.
#[test]
fn debug_and_codec_errors_do_not_quote_values() {
    let secret = Value::from("correct-horse-battery");
    assert!(!format!("{secret:?}").contains("horse"));
    let err = to_value(&"correct-horse-battery", &Type::Number).unwrap_err();
    assert!(!err.to_string().contains("horse"), "{err}");
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    enum Colour {
        Red,
    }
    let err = from_value::<Colour>(&secret).unwrap_err();
    assert!(!err.to_string().contains("horse"), "{err}");
    let err = from_value::<u32>(&secret).unwrap_err();
    assert!(!err.to_string().contains("horse"), "{err}");
}
