use super::*;

/// The spliced text must be exactly what the canonical writer makes of
/// the whole document.
fn assert_canonical(text: &str) {
    let reparsed = libconfig::parse(text).unwrap();
    assert_eq!(libconfig::write(&reparsed).unwrap(), text);
}

fn render_text(model: &mut Model, size_hint: usize) -> String {
    let text = model.render(Path::new("test.cfg"), size_hint).unwrap();
    String::from_utf8(text.to_vec()).unwrap()
}

/// Renders `model` both ways, spliced from its last render and gathered
/// from scratch (on a copy that forgot it), and checks they agree.
fn assert_splice_matches_gather(model: &mut Model) -> String {
    assert!(model.last_render.is_some());
    assert!(matches!(model.slots.changes(), Changes::Slots(_)));
    let mut scratch = model.clone();
    scratch.last_render = None;
    let spliced = render_text(model, 0);
    assert_eq!(spliced, render_text(&mut scratch, 0));
    assert_canonical(&spliced);
    spliced
}

#[test]
fn a_render_spliced_from_the_last_is_the_render_from_scratch() {
    let mut model = Model::empty();
    for n in 0..300 {
        let kind = if n % 7 == 0 {
            EntryKind::ServiceProxy
        } else {
            EntryKind::User
        };
        model.put(kind, &format!("N{n}"), format!("v1:{n}:first"));
    }
    render_text(&mut model, 0);
    // Longer, shorter and equal values, in both groups, one entry twice.
    for (round, names) in [[5, 140, 299], [0, 63, 64], [7, 7, 150]].iter().enumerate() {
        for (i, n) in names.iter().enumerate() {
            let kind = if n % 7 == 0 {
                EntryKind::ServiceProxy
            } else {
                EntryKind::User
            };
            let value = format!("v1:{n}:{}", "x".repeat(round * 7 + i * 3));
            model.put(kind, &format!("N{n}"), value);
        }
        let text = assert_splice_matches_gather(&mut model);
        assert!(text.contains(&format!("v1:{}:{}", names[2], "x".repeat(round * 7 + 6))));
    }
    // An undone change is spliced back as it was.
    let before = render_text(&mut model, 0);
    let undo = model.put(EntryKind::User, "N1", "v1:1:undone".to_owned());
    model.undo(undo);
    assert_eq!(assert_splice_matches_gather(&mut model), before);
    // New entries of both groups go at the end of their group, named.
    model.put(EntryKind::User, "NEW1", "v1:new1".to_owned());
    model.put(EntryKind::ServiceProxy, "NEWP", "v1:newp".to_owned());
    model.put(EntryKind::User, "N4", "v1:4:changed-too".to_owned());
    model.put(EntryKind::User, "NEW2", "v1:new2".to_owned());
    let text = assert_splice_matches_gather(&mut model);
    let at = |needle: &str| text.find(needle).unwrap();
    assert!(at("v1:298:first") < at("v1:new1") && at("v1:new1") < at("v1:new2"));
    assert!(at("v1:new2") < at("service_proxies") && at("service_proxies") < at("v1:newp"));
    // A removal renders from scratch, and splicing resumes after.
    model.remove(EntryKind::User, "N2");
    let text = render_text(&mut model, 0);
    assert!(!text.contains("v1:2:first") && text.contains("v1:new2"));
    model.put(EntryKind::User, "N3", "v1:3:after".to_owned());
    model.put(EntryKind::User, "NEW3", "v1:new3".to_owned());
    let text = assert_splice_matches_gather(&mut model);
    assert!(text.contains("v1:3:after") && text.contains("v1:new3"));
}

#[test]
fn random_edits_render_as_from_scratch() {
    for seed in [0x9e37_79b9_7f4a_7c15_u64, 7, 1 << 40, 0xdead_beef] {
        random_edits(seed);
    }
}

/// 3,000 random puts, removals, undone puts and renders in two groups;
/// each render equals a render from scratch.
fn random_edits(mut seed: u64) {
    let mut model = Model::empty();
    let mut next = |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    for step in 0..3_000 {
        let kind = if next(5) == 0 {
            EntryKind::ServiceProxy
        } else {
            EntryKind::User
        };
        let name = format!("N{}", next(40));
        match next(10) {
            0..=5 => {
                let value = format!("v1:{step}:{}", "y".repeat(next(20) as usize));
                model.put(kind, &name, value);
            }
            6 => {
                model.remove(kind, &name);
            }
            7 => {
                let undo = model.put(kind, &name, "v1:undone".to_owned());
                model.undo(undo);
            }
            _ => {
                let mut scratch = model.clone();
                scratch.last_render = None;
                let spliced = render_text(&mut model, 0);
                assert_eq!(
                    spliced,
                    render_text(&mut scratch, 0),
                    "seed {seed} step {step}"
                );
            }
        }
    }
}

#[test]
fn new_entries_take_the_lowest_free_numbers_of_their_group() {
    let source = r#"
        version = "1.0";
        primus: {
          users: { user0: { name = "A"; }; user02: { name = "B"; }; alice: { name = "C"; }; user3: { name = "D"; }; };
          service_proxies: { proxy1: { name = "P"; }; };
        };
    "#;
    let mut model = Model::parse(Path::new("test.cfg"), source.as_bytes()).unwrap();
    for name in ["E", "F", "G"] {
        model.put(EntryKind::User, name, format!("v1:{name}"));
    }
    model.put(EntryKind::ServiceProxy, "Q", "v1:Q".to_owned());
    let doc = libconfig::parse(&render_text(&mut model, 0)).unwrap();
    let name_at = |at: &str| doc.lookup(at).and_then(Value::as_str).map(str::to_owned);
    // `user02` is not `user2`; numbers go to new entries in order.
    assert_eq!(name_at("primus.users.user1.name").as_deref(), Some("E"));
    assert_eq!(name_at("primus.users.user2.name").as_deref(), Some("F"));
    assert_eq!(name_at("primus.users.user4.name").as_deref(), Some("G"));
    assert_eq!(name_at("primus.users.user02.name").as_deref(), Some("B"));
    assert_eq!(
        name_at("primus.service_proxies.proxy0.name").as_deref(),
        Some("Q")
    );
}

#[test]
fn a_copy_never_sees_the_changes_of_the_original() {
    let mut model = Model::empty();
    for name in ["A", "B", "C"] {
        model.put(EntryKind::User, name, format!("v1:{name}:old"));
    }
    render_text(&mut model, 0);
    // The copy shares every entry with the original (the readers' view after a commit).
    let copy = model.clone();
    model.put(EntryKind::User, "A", "v1:A:new".to_owned());
    model.remove(EntryKind::User, "B");
    let changed = render_text(&mut model, 0);
    assert!(changed.contains("v1:A:new") && !changed.contains("v1:B:old"));
    assert_eq!(model.get(EntryKind::User, "C").unwrap().name, "C");
    let value = |m: &Model, n: &str| m.get(EntryKind::User, n).and_then(|e| e.value.clone());
    assert_eq!(value(&copy, "A").as_deref(), Some("v1:A:old"));
    assert_eq!(value(&copy, "B").as_deref(), Some("v1:B:old"));
    let mut copy = copy;
    let kept = render_text(&mut copy, 0);
    assert!(kept.contains("v1:A:old") && kept.contains("v1:B:old"));
    assert_canonical(&kept);
}

#[test]
fn render_is_canonical_and_keeps_everything() {
    let path = Path::new("test.cfg");
    let source = r#"
        version = "1.0";
        before = [1, 2];
        primus: {
          service_proxies: { p: { name = "P"; password = "v1:aa:bb"; note = "x"; }; };
          misc = { deep = ( 1, { k = "v"; } ); };
          users: { user0: { name = "A"; secret = "v1:00:11"; hint = 3; }; user2: { name = "B"; }; };
          key_check = "v1:cc:dd";
        };
        after = "tail";
    "#;
    let mut model = Model::parse(path, source.as_bytes()).unwrap();
    let first = render_text(&mut model, 0);
    assert_canonical(&first);
    let doc = libconfig::parse(&first).unwrap();
    assert_eq!(doc.lookup("primus.users.user0.hint"), Some(&Value::Int(3)));
    assert_eq!(
        doc.lookup("primus.users.user2.name")
            .and_then(Value::as_str),
        Some("B")
    );
    assert_eq!(
        doc.lookup("primus.service_proxies.p.note")
            .and_then(Value::as_str),
        Some("x")
    );
    assert_eq!(doc.lookup("after").and_then(Value::as_str), Some("tail"));
    assert!(
        first.find("service_proxies").unwrap() < first.find("users").unwrap(),
        "group order kept"
    );

    // Cached texts are reused; changed and new entries are rendered anew.
    model.put(EntryKind::User, "A", "v1:22:33".to_owned());
    model.put(EntryKind::User, "C", "v1:44:55".to_owned());
    model.remove(EntryKind::ServiceProxy, "P");
    let second = render_text(&mut model, first.len());
    assert_canonical(&second);
    let doc = libconfig::parse(&second).unwrap();
    assert_eq!(
        doc.lookup("primus.users.user0.secret")
            .and_then(Value::as_str),
        Some("v1:22:33")
    );
    assert_eq!(
        doc.lookup("primus.users.user1.name")
            .and_then(Value::as_str),
        Some("C"),
        "lowest free number"
    );
    assert!(doc.lookup("primus.service_proxies.p").is_none());
    assert_eq!(
        Model::parse(path, second.as_bytes())
            .unwrap()
            .summaries()
            .len(),
        3
    );
}

#[test]
fn the_marker_name_is_refused_where_it_would_confuse_splicing() {
    let path = Path::new("test.cfg");
    let source = "version = \"1.0\"; primus: { other: { secrets-cfg-entries = 0; }; users: {}; };";
    let mut model = Model::parse(path, source.as_bytes()).unwrap();
    let err = model.render(path, 0).unwrap_err();
    assert!(
        err.to_string()
            .contains("`secrets-cfg-entries` is reserved"),
        "{err}"
    );
}
