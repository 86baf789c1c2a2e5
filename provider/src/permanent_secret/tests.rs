use std::collections::BTreeMap;

use tfplug::value::{from_value, Value};

use super::*;

fn state(setup: Option<&str>, version: Option<i64>) -> PermanentSecretState {
    PermanentSecretState {
        id: Some("APP".into()),
        user: "APP".into(),
        setup_password: setup.map(|s| Password::new(s.into())),
        pkcs11_password: Some(Password::new("pin".into())),
        setup_password_wo: None,
        pkcs11_password_wo: None,
        password_wo_version: version,
        verify_login_on_adopt: None,
        slot_ids: Some(vec![0]),
        status: Some(CONFIGURED.into()),
    }
}

#[test]
fn schema_matches_state_struct() {
    PermanentSecretResource
        .schema()
        .check_against::<PermanentSecretState>(TYPE_NAME)
        .unwrap();
}

#[test]
fn only_a_new_setup_password_or_version_rotates() {
    let prior = state(Some("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"), None);
    assert!(!rotates(
        &prior,
        &state(Some("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"), None)
    ));
    assert!(rotates(
        &prior,
        &state(Some("BBBBB-AAAAA-AAAAA-AAAAA-AAAAA"), None)
    ));
    let mut new_pin = state(Some("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"), None);
    new_pin.pkcs11_password = Some(Password::new("other".into()));
    assert!(
        !rotates(&prior, &new_pin),
        "a PKCS#11 password change alone is recorded, not sent"
    );
    // Moving to the write-only twin with a version is a rotation only when the version is new.
    let wo_prior = state(None, Some(1));
    assert!(!rotates(&wo_prior, &state(None, Some(1))));
    assert!(rotates(&wo_prior, &state(None, Some(2))));
    assert!(!rotates(&prior, &state(None, None)));
}

#[test]
fn imported_state_has_no_credentials() {
    assert!(state(None, None).is_imported());
    assert!(!state(Some("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"), None).is_imported());
    assert!(!state(None, Some(1)).is_imported());
}

fn config(entries: &[(&str, &str)]) -> Value {
    let mut m = BTreeMap::new();
    m.insert("user".to_owned(), Value::from("APP"));
    for (k, v) in entries {
        m.insert((*k).to_owned(), Value::from(*v));
    }
    Value::Object(m)
}

fn validate(config: Value) -> Diagnostics {
    validate_config(&from_value(&config).unwrap())
}

#[test]
fn malformed_setup_password_is_refused_without_quoting_it() {
    let secret = "fxajx-XWVQ3-DC0O5-3SLQF-LJ9L3";
    let diags = validate(config(&[
        ("setup_password", secret),
        ("pkcs11_password", "pin"),
    ]));
    let all: Vec<_> = diags.iter().collect();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].summary, "Malformed Setup Password");
    assert!(
        all[0].detail.contains("group 1 has a lowercase letter"),
        "{}",
        all[0].detail
    );
    assert!(
        !all[0].detail.contains(secret) && !all[0].detail.contains("XWVQ3"),
        "{}",
        all[0].detail
    );
    assert_eq!(all[0].path, Some(AttributePath::root("setup_password")));
}

#[test]
fn well_formed_passwords_validate() {
    let diags = validate(config(&[
        ("setup_password", "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3"),
        ("pkcs11_password", "pin"),
    ]));
    assert!(diags.is_empty(), "{diags:?}");
    let diags = validate(config(&[]));
    assert_eq!(
        diags
            .iter()
            .filter(|d| d.summary == "Missing Password")
            .count(),
        2,
        "{diags:?}"
    );
}
