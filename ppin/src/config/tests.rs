use super::*;

/// The sample `primus.cfg` every crate's tests share (kept in primus-core).
const VENDOR_EXAMPLE: &str =
    include_str!("../../../primus-core/tests/testdata/libconfig/primus.cfg");

fn parse(text: &str) -> Result<PrimusConfig, ConfigError> {
    PrimusConfig::parse(text, Path::new("/etc/primus/primus.cfg"))
}

fn problem(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn vendor_example_is_read() {
    let config = parse(VENDOR_EXAMPLE).unwrap();
    assert_eq!(config.hsms().len(), 1);
    let hsm = &config.hsms()[0];
    assert_eq!(
        (
            hsm.name.as_str(),
            hsm.host.as_str(),
            hsm.port,
            hsm.ca_file.as_deref()
        ),
        ("hsm0", "hsm1.example", 2310, None)
    );
    let user = config.user("PARTITION").unwrap();
    assert_eq!(user.slot_id, 0);
    assert_eq!(user.proxy_user.as_deref(), Some("SERVICE_USER"));
    assert_eq!(user.hsms, std::slice::from_ref(hsm));
    assert_eq!(config.proxy_users(), ["SERVICE_USER"]);
    assert_eq!(config.users_behind_proxy("SERVICE_USER").count(), 1);
    assert!(config.user("OTHER").is_none());
}

#[test]
fn redundant_hsms_form_one_cluster_in_priority_order() {
    let config = parse(
        r#"primus: { ca_file = "ca.pem";
             hsms: (
               { host = "a.example"; port = 2310; slots: ( { user_name = "U1"; id = 1; } ); },
               { host = "b.example"; port = 2311; priority = -1; ca_file = "/pki/b.pem";
                 slots: ( { user_name = "U1"; id = 1; }, { user_name = "U2"; id = 2; } ); },
               { host = "c.example"; port = 2312; slots: ( { user_name = "U1"; id = 1; } ); }
             ); };"#,
    )
    .unwrap();
    let u1 = config.user("U1").unwrap();
    let order: Vec<&str> = u1.hsms.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(order, ["b.example", "a.example", "c.example"]);
    assert_eq!(u1.hsms[1].name, "hsms[0]");
    // Relative CA paths resolve against primus.cfg's directory; an HSM's own wins.
    assert_eq!(
        u1.hsms[1].ca_file.as_deref(),
        Some(Path::new("/etc/primus/ca.pem"))
    );
    assert_eq!(u1.hsms[0].ca_file.as_deref(), Some(Path::new("/pki/b.pem")));
    assert_eq!(config.user("U2").unwrap().hsms.len(), 1);
    let users: Vec<&str> = config
        .users()
        .iter()
        .map(|u| u.user_name.as_str())
        .collect();
    assert_eq!(users, ["U1", "U2"]);
    assert!(config.proxy_users().is_empty());
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let text = "primus: {\n  hsms: {\n    hsm0: { host = ; };\n  };\n};\n";
    match parse(text).unwrap_err() {
        ConfigError::Syntax { path, source } => {
            assert_eq!(path, Path::new("/etc/primus/primus.cfg"));
            assert_eq!((source.line, source.column), (3, 20));
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    assert!(problem(text).starts_with("/etc/primus/primus.cfg:3:20: "));
}

#[test]
fn shape_errors_name_the_setting() {
    assert_eq!(
        problem(r#"version = "1.0";"#),
        "/etc/primus/primus.cfg: primus: missing: primus.cfg needs a `primus: { hsms: { ... }; };` group"
    );
    assert_eq!(
        problem(r#"primus: { hsms: { hsm0: { host = "h"; port = "23x0"; slots: {}; }; }; };"#),
        "/etc/primus/primus.cfg: primus.hsms.hsm0.port: expected a whole number in range (e.g. 2310 or \"2310\")"
    );
    assert!(
        problem(r#"primus: { hsms: { hsm0: { host = "h"; port = 70000; slots: {}; }; }; };"#)
            .contains("primus.hsms.hsm0.port: expected a whole number")
    );
    assert!(
        problem(r#"primus: { hsms: { hsm0: { port = 1; slots: {}; }; }; };"#)
            .contains("primus.hsms.hsm0.host: missing")
    );
    assert!(
        problem(r#"primus: { hsms: { hsm0: { host = 5; port = 1; slots: {}; }; }; };"#)
            .contains("primus.hsms.hsm0.host: expected a string, found a integer")
    );
    assert!(problem(
        r#"primus: { hsms: { hsm0: { host = "h"; port = 1; slots: { s: { id = 0; }; }; }; }; };"#
    )
    .contains("primus.hsms.hsm0.slots.s.user_name: missing"));
    assert!(problem(r#"primus: { hsms: { hsm0: { host = "h"; port = 1; slots: { s: { user_name = "U"; id = -1; }; }; }; }; };"#)
        .contains("primus.hsms.hsm0.slots.s.id: expected a whole number"));
    assert!(problem(
        r#"primus: { hsms: { hsm0: { host = "h"; port = 1; slots: { s: 3; }; }; }; };"#
    )
    .contains("primus.hsms.hsm0.slots.s: expected a group { ... }, found a integer"));
    assert!(problem(r#"primus: { hsms = {}; };"#).contains("primus.hsms: no HSM configured"));
}

#[test]
fn one_partition_may_sit_in_several_slots_of_one_hsm() {
    let config = parse(
        r#"primus: { hsms: {
             hsm0: { host = "a"; port = 1; slots: {
               s0: { user_name = "U"; id = 0; }; s1: { user_name = "U"; id = 3; }; }; };
             hsm1: { host = "b"; port = 1; slots: {
               s0: { user_name = "U"; id = 0; }; s1: { user_name = "U"; id = 3; }; }; }; }; };"#,
    )
    .unwrap();
    let user = config.user("U").unwrap();
    assert_eq!((user.slot_id, user.slot_ids.as_slice()), (0, &[0, 3][..]));
    let hsms: Vec<&str> = user.hsms.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hsms, ["hsm0", "hsm1"]);
    assert_eq!(config.users().len(), 1);
}

#[test]
fn two_users_on_one_slot_id_of_an_hsm_are_refused() {
    let clash = problem(
        r#"primus: { hsms: { hsm0: { host = "a"; port = 1; slots: {
             s0: { user_name = "U1"; id = 2; }; s1: { user_name = "U2"; id = 2; }; }; }; }; };"#,
    );
    assert_eq!(
        clash,
        "/etc/primus/primus.cfg: primus.hsms.hsm0.slots.s1: slot id 2 of HSM hsm0 is given to both \
         'U1' (in primus.hsms.hsm0.slots.s0) and 'U2'; give each slot of an HSM its own id"
    );
    let twice = problem(
        r#"primus: { hsms: { hsm0: { host = "a"; port = 1; slots: {
             s0: { user_name = "U"; id = 0; }; s1: { user_name = "U"; id = 0; }; }; }; }; };"#,
    );
    assert!(
        twice.contains(
            "slot id 0 of HSM hsm0 is given to 'U' twice (also in primus.hsms.hsm0.slots.s0)"
        ),
        "{twice}"
    );
    // The same id on another HSM is that slot's redundant twin, not a clash.
    parse(
        r#"primus: { hsms: {
             hsm0: { host = "a"; port = 1; slots: { s0: { user_name = "U1"; id = 2; }; }; };
             hsm1: { host = "b"; port = 1; slots: { s0: { user_name = "U1"; id = 2; }; }; }; }; };"#,
    )
    .unwrap();
}

#[test]
fn a_cluster_must_agree_on_slot_ids_and_proxy() {
    let ids = problem(
        r#"primus: { hsms: {
             hsm0: { host = "a"; port = 1; slots: { s0: { user_name = "U"; id = 0; }; s1: { user_name = "U"; id = 3; }; }; };
             hsm1: { host = "b"; port = 1; slots: { s0: { user_name = "U"; id = 0; }; }; }; }; };"#,
    );
    assert_eq!(
        ids,
        "/etc/primus/primus.cfg: primus.hsms.hsm1.slots: user 'U' has slot ids [0] on HSM hsm1 \
         but [0, 3] on HSM hsm0; redundant HSMs of one user must give it the same slot ids"
    );
    let mismatch = problem(
        r#"primus: { hsms: {
             hsm0: { host = "a"; port = 1; slots: { s0: { user_name = "U"; id = 0; proxy_user = "P"; }; }; };
             hsm1: { host = "b"; port = 1; slots: { s0: { user_name = "U"; id = 0; }; }; }; }; };"#,
    );
    assert!(
        mismatch.contains("primus.hsms.hsm1.slots.s0: user 'U' is also in a slot of HSM hsm0 with a different proxy_user"),
        "{mismatch}"
    );
}

#[test]
fn a_missing_priority_is_0_the_highest_and_ties_keep_file_order() {
    let config = parse(
        r#"primus: { hsms: {
             hsm0: { host = "a"; port = 1; priority = 1; slots: { s0: { user_name = "U"; id = 0; }; }; };
             hsm1: { host = "b"; port = 1; slots: { s0: { user_name = "U"; id = 0; }; }; };
             hsm2: { host = "c"; port = 1; priority = 0; slots: { s0: { user_name = "U"; id = 0; }; }; }; }; };"#,
    )
    .unwrap();
    let order: Vec<(&str, i64)> = config
        .user("U")
        .unwrap()
        .hsms
        .iter()
        .map(|h| (h.name.as_str(), h.priority))
        .collect();
    assert_eq!(order, [("hsm1", 0), ("hsm2", 0), ("hsm0", 1)]);
}

/// The vendor's samples, shared with primus-core's differential test.
fn vendor_sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../primus-core/tests/testdata/libconfig/vendor")
        .join(name)
}

#[test]
fn the_vendors_samples_are_read() {
    let cluster =
        PrimusConfig::read(&vendor_sample("pkcs11-provider-configuration-cluster.cfg")).unwrap();
    let users: Vec<(&str, &[u32], Vec<&str>)> = cluster
        .users()
        .iter()
        .map(|u| {
            let hsms = u.hsms.iter().map(|h| h.name.as_str()).collect();
            (u.user_name.as_str(), u.slot_ids.as_slice(), hsms)
        })
        .collect();
    assert_eq!(
        users,
        [
            ("PARTITION_NAME1", &[1][..], vec!["hsm1", "hsm2"]),
            ("PARTITION_NAME2", &[2][..], vec!["hsm1", "hsm2"]),
        ]
    );
    assert_eq!(cluster.proxy_users(), ["SERVICE_USER"]);
    for sample in [
        "pkcs11-provider-configuration-standalone.cfg",
        "pkcs11-provider-configuration-windows-log.cfg",
        "cloudhsm-setup-completed.cfg",
        "proxy-management-completed.cfg",
        "fortigate-provider-preparation-completed.cfg",
        "cyberark-configuring-pkcs-provider.cfg",
    ] {
        let config =
            PrimusConfig::read(&vendor_sample(sample)).unwrap_or_else(|e| panic!("{sample}: {e}"));
        assert!(!config.users().is_empty(), "{sample}");
    }
}

#[test]
fn includes_are_followed_from_the_directory_of_primus_cfg() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hsms.cfg"),
        "hsm0: { host = \"a\"; port = \"2310\"; slots: { s0: { user_name = \"U\"; id = 0; }; }; };\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.cfg"), "hsm0: { host = ; };\n").unwrap();
    let path = dir.path().join("primus.cfg");
    std::fs::write(&path, "primus: { hsms: {\n@include \"hsms.cfg\"\n}; };\n").unwrap();
    let config = PrimusConfig::read(&path).unwrap();
    assert_eq!(config.user("U").unwrap().hsms[0].port, 2310);
    std::fs::write(&path, "primus: { hsms: {\n@include \"broken.cfg\"\n}; };\n").unwrap();
    let error = PrimusConfig::read(&path).unwrap_err().to_string();
    let broken = dir.path().join("broken.cfg");
    assert!(
        error.starts_with(&format!("{}:1:16: expected a value", broken.display())),
        "{error}"
    );
}

#[test]
fn missing_file_is_vendor_code_80005003() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("primus.cfg");
    let error = PrimusConfig::load(Some(&missing)).unwrap_err();
    assert_eq!(error.vendor_code(), Some(VendorCode::CONFIG_NOT_FOUND));
    let text = error.to_string();
    assert!(
        text.starts_with("primus.cfg not found (0x80005003); looked at "),
        "{text}"
    );
    assert!(text.contains(&missing.display().to_string()));
    assert!(text.ends_with(&missing.display().to_string()), "{text}");
}

#[test]
fn file_is_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("primus.cfg");
    std::fs::write(&path, VENDOR_EXAMPLE).unwrap();
    let config = PrimusConfig::load(Some(&path)).unwrap();
    assert_eq!(config.path(), path);
    assert_eq!(config.users().len(), 1);
    // A comment saved in Latin-1 is no error: libconfig reads bytes.
    let mut latin1 = b"# Z\xfcrich\n".to_vec();
    latin1.extend_from_slice(VENDOR_EXAMPLE.as_bytes());
    std::fs::write(&path, latin1).unwrap();
    assert_eq!(PrimusConfig::load(Some(&path)).unwrap().users().len(), 1);
}
