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
        host: None,
        host_id: None,
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
fn well_formed_passwords_validate_and_none_at_all_adopts() {
    let diags = validate(config(&[
        ("setup_password", "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3"),
        ("pkcs11_password", "pin"),
    ]));
    assert!(diags.is_empty(), "{diags:?}");
    // Only the user: what `terraform query -generate-config-out` writes.
    let diags = validate(config(&[]));
    assert!(diags.is_empty(), "{diags:?}");
}

/// (summary, attribute) of every diagnostic.
fn findings(diags: &Diagnostics) -> Vec<(String, Option<AttributePath>)> {
    diags
        .iter()
        .map(|d| (d.summary.clone(), d.path.clone()))
        .collect()
}

#[test]
fn half_pairs_and_a_lone_version_are_refused() {
    let setup = ("setup_password", "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3");
    let missing = |name: &str| {
        (
            "Missing Password".to_owned(),
            Some(AttributePath::root(name)),
        )
    };
    assert_eq!(
        findings(&validate(config(&[setup]))),
        [missing("pkcs11_password")]
    );
    assert_eq!(
        findings(&validate(config(&[("pkcs11_password", "pin")]))),
        [missing("setup_password")]
    );
    let mut lone_version = config(&[]);
    if let Value::Object(m) = &mut lone_version {
        m.insert(VERSION.to_owned(), Value::from(2_i64));
    }
    assert_eq!(
        findings(&validate(lone_version)),
        [(
            "Version Trigger Without Password".to_owned(),
            Some(AttributePath::root(VERSION))
        )]
    );
}

/// A client over a primus.cfg serving APP and OTHER, in `dir`, whose
/// `.secrets.cfg` holds an entry for APP only. No HSM listens at its address.
fn client_with_app_stored(dir: &std::path::Path) -> Client {
    let cfg = dir.join("primus.cfg");
    let mut hsm = ppin::HsmSettings::new("hsm0", "127.0.0.1", 9);
    hsm.slots = vec![
        ppin::SlotSettings::new("APP", 0),
        ppin::SlotSettings::new("OTHER", 1),
    ];
    std::fs::write(&cfg, ppin::PrimusConfig::render(&[hsm], &cfg).unwrap()).unwrap();
    let secrets = dir.join(".secrets.cfg");
    let key = secrets_cfg::KeySource::KeyFile(dir.join("key"));
    secrets_cfg::SecretsStore::open(&secrets, key.clone())
        .unwrap()
        .edit(|tx| {
            tx.put(
                EntryKind::User,
                "APP",
                secrets_cfg::Secret::new(vec![7; 32]),
            )
        })
        .unwrap();
    let ppin = Ppin::open(Some(&cfg), Some(&secrets), key).unwrap();
    Client::new(ppin, Some(cfg), LoginCheck::FileOnly)
}

/// The plan check of a create of `user` without passwords, and the
/// warnings it left on the plan.
async fn adopting(client: &Client, user: &str) -> Result<usize, Diagnostics> {
    let planned = PermanentSecretState::imported(user.to_owned(), None);
    let mut check = PlanCheck::new(client, planned, TYPE_NAME).await?;
    check_adoptable(&mut check).await?;
    Ok(check.warnings().len())
}

#[tokio::test]
async fn a_create_without_setup_password_adopts_or_fails_naming_user_and_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let client = client_with_app_stored(dir.path());
    assert_eq!(adopting(&client, "APP").await.unwrap(), 0);

    let refused = adopting(&client, "OTHER").await.unwrap_err();
    let d = refused.iter().next().unwrap();
    assert_eq!(d.summary, "Missing Password");
    assert_eq!(d.path, Some(AttributePath::root("setup_password")));
    for said in [
        "'OTHER'",
        ".secrets.cfg",
        "ppin -a -e OTHER",
        "nothing was sent",
    ] {
        assert!(d.detail.contains(said), "{said}: {}", d.detail);
    }

    let unknown = adopting(&client, "NOPE").await.unwrap_err();
    let d = unknown.iter().next().unwrap();
    assert_eq!(d.summary, "User Not In primus.cfg");
    assert_eq!(d.path, Some(AttributePath::root("user")));
}

#[test]
fn only_a_setup_password_in_the_configuration_means_a_fetch() {
    assert!(!sets_setup_password(&config(&[])));
    assert!(!sets_setup_password(&config(&[("pkcs11_password", "pin")])));
    assert!(sets_setup_password(&config(&[(
        "setup_password_wo",
        "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3"
    )])));
    let mut unknown = config(&[]);
    if let Value::Object(m) = &mut unknown {
        m.insert("setup_password".to_owned(), Value::Unknown);
    }
    assert!(sets_setup_password(&unknown), "unknown is known at apply");
}

#[test]
fn an_imported_entry_with_a_configuration_without_passwords_plans_no_rotation() {
    let imported = state(None, None);
    let mut planned = state(None, None);
    planned.pkcs11_password = None;
    assert!(imported.is_imported());
    assert!(!rotates(&imported, &planned));
}
