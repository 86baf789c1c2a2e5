use super::*;

const VENDOR_EXAMPLE: &str = r#"
version = "1.0";
primus: {
  hsms: {
    hsm0: { host = "hsm1.example"; port = "2310";
            slots: { slot0: { user_name = "PARTITION"; id = 0;
                              proxy_user = "SERVICE_USER"; }; }; };
  };
};
"#;

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
fn a_cluster_must_agree_on_slot_and_proxy() {
    let mismatch = problem(
        r#"primus: { hsms: {
             hsm0: { host = "a"; port = 1; slots: { s0: { user_name = "U"; id = 0; }; }; };
             hsm1: { host = "b"; port = 1; slots: { s0: { user_name = "U"; id = 1; }; }; }; }; };"#,
    );
    assert!(
        mismatch.contains("primus.hsms.hsm1.slots.s0: user 'U' is also on HSM hsm0"),
        "{mismatch}"
    );
    let twice = problem(
        r#"primus: { hsms: { hsm0: { host = "a"; port = 1;
             slots: { s0: { user_name = "U"; id = 0; }; s1: { user_name = "U"; id = 0; }; }; }; }; };"#,
    );
    assert!(
        twice.contains("user 'U' appears twice in this HSM"),
        "{twice}"
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
}
