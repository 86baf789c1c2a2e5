use super::*;
use tfplug::value::{from_value, Value};

#[test]
fn schema_matches_state_struct() {
    ServiceProxyPasswordResource
        .schema()
        .check_against::<ServiceProxyPasswordState>(TYPE_NAME)
        .unwrap();
}

#[test]
fn no_password_adopts_but_a_version_needs_one() {
    let mut config: std::collections::BTreeMap<_, _> =
        [("proxy_user".to_owned(), Value::from("SERVICE"))].into();
    let diags = validate_config(&from_value(&Value::Object(config.clone())).unwrap());
    assert!(diags.is_empty(), "{diags:?}");
    config.insert(VERSION.to_owned(), Value::from(2_i64));
    let diags = validate_config(&from_value(&Value::Object(config)).unwrap());
    assert_eq!(
        diags.iter().map(|d| d.summary.as_str()).collect::<Vec<_>>(),
        ["Version Trigger Without Password"]
    );
}
