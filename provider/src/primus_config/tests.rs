use super::*;

fn hsm(name: &str, port: i64, slots: &[(&str, i64, Option<&str>)]) -> HsmBlock {
    HsmBlock {
        name: name.to_owned(),
        host: "hsm.example".to_owned(),
        port,
        ca_file: None,
        priority: None,
        slot: slots
            .iter()
            .map(|(user, id, proxy)| SlotBlock {
                user_name: (*user).to_owned(),
                id: *id,
                proxy_user: proxy.map(str::to_owned),
            })
            .collect(),
    }
}

/// The text a file at `path` gets for `hsms`, checked by ppin's parser.
fn render(path: &Path, hsms: &[HsmBlock]) -> Result<String, Diagnostics> {
    Place::here(TYPE_NAME, path).render(&settings(hsms)?)
}

#[test]
fn schema_matches_state_struct() {
    PrimusConfigResource
        .schema()
        .check_against::<PrimusConfigState>(TYPE_NAME)
        .unwrap();
}

#[test]
fn rendered_file_round_trips_through_ppins_parser() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("primus.cfg");
    let mut first = hsm(
        "hsm0",
        2310,
        &[("APP", 0, Some("SERVICE")), ("OTHER", 1, None)],
    );
    // Characters the writer must escape, and a relative CA file.
    first.host = "odd\"host\\name".to_owned();
    first.ca_file = Some("certs/ca.pem".to_owned());
    let mut second = hsm("hsm1", 2311, &[("APP", 0, Some("SERVICE"))]);
    second.priority = Some(-1);
    let hsms = vec![first, second];
    let text = render(&path, &hsms).unwrap();
    let config = PrimusConfig::parse(&text, &path).unwrap();
    assert_eq!(config.hsms()[0].host, "odd\"host\\name");
    assert_eq!(config.hsms()[0].port, 2310);
    assert_eq!(
        config.hsms()[0].ca_file.as_deref(),
        Some(dir.path().join("certs/ca.pem").as_path())
    );
    let app = config.user("APP").unwrap();
    assert_eq!(app.proxy_user.as_deref(), Some("SERVICE"));
    // Priority -1 puts hsm1 first for APP.
    assert_eq!(app.hsms[0].name, "hsm1");
    // Read back, the blocks are the ones written.
    assert_eq!(blocks_of(&config, &hsms), hsms);
}

#[test]
fn import_describes_defaults_as_unset() {
    let path = Path::new("/etc/primus/primus.cfg");
    let hsms = vec![hsm("hsm0", 2310, &[("APP", 3, None)])];
    let config = PrimusConfig::parse(&render(path, &hsms).unwrap(), path).unwrap();
    assert_eq!(blocks_of(&config, &[]), hsms);
}

#[test]
fn settings_ppin_would_refuse_are_refused_before_writing() {
    let path = Path::new("/nonexistent/primus.cfg");
    let duplicate = vec![hsm("hsm0", 1, &[]), hsm("hsm0", 2, &[])];
    let d = render(path, &duplicate).unwrap_err();
    let detail = &d.iter().next().unwrap().detail;
    assert!(detail.contains("two HSMs are named 'hsm0'"), "{detail}");
    assert!(detail.ends_with("nothing was written."), "{detail}");

    let bad_name = vec![hsm("0bad name", 1, &[])];
    let d = render(path, &bad_name).unwrap_err();
    assert!(d.iter().next().unwrap().detail.contains("invalid name"));

    // Redundant HSMs must agree on the slot ids of a shared user.
    let disagree = vec![
        hsm("hsm0", 1, &[("APP", 0, None)]),
        hsm("hsm1", 1, &[("APP", 1, None)]),
    ];
    let d = render(path, &disagree).unwrap_err();
    assert!(d
        .iter()
        .next()
        .unwrap()
        .detail
        .contains("must give it the same slot ids"));

    let no_port = vec![hsm("hsm0", 70000, &[])];
    let d = render(path, &no_port).unwrap_err();
    assert!(d
        .iter()
        .next()
        .unwrap()
        .detail
        .contains("primus.hsms.hsm0.port: 70000 is not a TCP port"));
}

#[test]
fn an_invalid_hsm_name_is_refused_at_its_block() {
    let block = |name: Value| {
        Value::Object(
            [
                ("name".to_owned(), name),
                ("host".to_owned(), Value::from("h")),
            ]
            .into(),
        )
    };
    let config = Value::Object(
        [(
            "hsm".to_owned(),
            Value::List(vec![
                block(Value::from("hsm0")),
                block(Value::from("0bad name")),
                block(Value::Unknown),
            ]),
        )]
        .into(),
    );
    let diags = validate_names(&tfplug::value::from_value(&config).unwrap());
    let all: Vec<_> = diags.iter().collect();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].summary, "Invalid HSM Name");
    assert_eq!(
        all[0].path,
        Some(AttributePath::root("hsm").index(1).attr("name"))
    );
    assert!(all[0].detail.contains("\"0bad name\""), "{}", all[0].detail);
    // A dynamic block over an unknown collection is checked at apply.
    let unknown = Value::Object([("hsm".to_owned(), Value::Unknown)].into());
    assert!(validate_names(&tfplug::value::from_value(&unknown).unwrap()).is_empty());
}
