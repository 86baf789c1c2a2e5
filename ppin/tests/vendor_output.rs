//! The vendor's documented `ppin -l` output, padded columns and one line per
//! HSM of a redundant cluster, both ways round: the external engine reads
//! the vendor's samples (replayed by a fake tool, a real process), and our
//! `ppin` prints the same shape, which the same grammar reads back.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::path::{Path, PathBuf};

use common::{extract_hsm0, runtime, setup, BANNER};
use ppin::{Engine, ExternalEngine, ExternalError, PpinError, PpinErrorKind, SetupCredentials};
use secrets_cfg::Password;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendor")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A fake vendor `ppin` that prints `output` whatever it is asked, and the
/// `primus.cfg` of the vendor's sample cluster.
fn replaying(dir: &Path, output: &str) -> (PathBuf, PathBuf) {
    let sample = dir.join("sample.txt");
    std::fs::write(&sample, output).unwrap();
    let tool = dir.join("ppin");
    std::fs::write(&tool, format!("#!/bin/sh\ncat '{}'\n", sample.display())).unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let primus_cfg = dir.join("primus.cfg");
    std::fs::write(&primus_cfg, fixture("ppin-tool-list.primus.cfg")).unwrap();
    (tool, primus_cfg)
}

#[test]
fn the_documented_listing_is_read_one_state_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let (tool, primus_cfg) = replaying(dir.path(), &fixture("ppin-tool-list.txt"));
    let engine = ExternalEngine::new(
        tool,
        Some(primus_cfg),
        Some(dir.path().join(".secrets.cfg")),
    );
    let listing = runtime().block_on(engine.list()).unwrap();
    let users: Vec<(&str, u32, bool, Vec<&str>)> = listing
        .users
        .iter()
        .map(|u| {
            let hsms = u.hsms.iter().map(String::as_str).collect();
            (u.user.as_str(), u.slot_id, u.configured, hsms)
        })
        .collect();
    assert_eq!(
        users,
        [
            ("Partition-1", 0, true, vec!["hsm0", "hsm1"]),
            ("Partition-2", 1, true, vec!["hsm0", "hsm1"]),
            ("CLOUDHSMPAR", 5, false, vec!["hsm0", "hsm1"]),
        ]
    );
    assert_eq!(listing.proxies.len(), 1);
    assert_eq!(listing.proxies[0].proxy_user, "eqabxrfnqqos");
    assert!(!listing.proxies[0].configured);
    assert_eq!(listing.proxies[0].users, ["CLOUDHSMPAR"]);
}

#[test]
fn a_cluster_whose_hsms_disagree_is_an_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let disagreeing = fixture("ppin-tool-list.txt").replacen(
        "[04] slot-id 0:    user 'Partition-1'   permanent secret: Configured",
        "[04] slot-id 0:    user 'Partition-1'   permanent secret: MISSING",
        1,
    );
    let (tool, primus_cfg) = replaying(dir.path(), &disagreeing);
    let engine = ExternalEngine::new(
        tool,
        Some(primus_cfg),
        Some(dir.path().join(".secrets.cfg")),
    );
    let error = runtime()
        .block_on(engine.status("Partition-2"))
        .unwrap_err();
    let PpinError::External(ExternalError::Disagree { lines, .. }) = &error else {
        panic!("not a disagreement: {error}");
    };
    let (configured_on, missing_on) = (&lines.configured_on, &lines.missing_on);
    assert_eq!(lines.name, "Partition-1");
    assert_eq!(
        (configured_on.as_slice(), missing_on.as_slice()),
        (&["hsm0".to_owned()][..], &["hsm1".to_owned()][..])
    );
    assert_eq!(error.kind(), PpinErrorKind::ExternalOutput);
    assert_eq!(error.user(), Some("Partition-1"));
    let message = error.to_string();
    assert!(
        message.contains(
            "user 'Partition-1' with its permanent secret Configured on hsm0 but MISSING on hsm1"
        ),
        "{message}"
    );
    assert!(
        error.next_step().contains("ppin -u -e Partition-1"),
        "{}",
        error.next_step()
    );
}

#[test]
fn a_line_outside_the_grammar_is_still_refused_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let broken = fixture("ppin-tool-list.txt").replacen(
        "permanent secret: MISSING",
        "permanent secret: missing",
        1,
    );
    let (tool, primus_cfg) = replaying(dir.path(), &broken);
    let engine = ExternalEngine::new(
        tool,
        Some(primus_cfg),
        Some(dir.path().join(".secrets.cfg")),
    );
    let error = runtime().block_on(engine.list()).unwrap_err();
    assert_eq!(error.kind(), PpinErrorKind::ExternalOutput);
    assert!(
        error
            .to_string()
            .contains(r#"line 6 is not a documented status line: "[03] slot-id 5:    user 'CLOUDHSMPAR'  permanent secret: missing""#),
        "{error}"
    );
}

#[test]
fn our_ppin_lists_a_redundant_cluster_as_the_vendor_does_and_reads_itself() {
    let s = setup(1);
    let original = std::fs::read_to_string(&s.primus_cfg).unwrap();
    let live = extract_hsm0(&original);
    let twin = live.replacen("hsm0", "hsm1", 1);
    let cfg = s.edited_primus_cfg("twins.cfg", |text| {
        text.replacen(&live, &format!("{live}{twin}"), 1)
    });

    let listed = s.run_with(&cfg, &["-l"], "");
    assert_eq!(
        listed.ok(),
        format!(
            "{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: MISSING\n\
             [02] slot-id 1:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [03] slot-id 0:    user 'U0001'      permanent secret: MISSING\n\
             [04] slot-id 1:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n\
             [02] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n"
        )
    );

    // The same output through the external engine's grammar, our ppin a real process over hsm-sim.
    let engine = ExternalEngine::new(
        env!("CARGO_BIN_EXE_ppin"),
        Some(cfg),
        Some(s.secrets_cfg.clone()),
    );
    runtime().block_on(async {
        let listing = engine.list().await.unwrap();
        assert_eq!(listing.users.len(), 2);
        assert!(listing.users.iter().all(|u| !u.configured));
        assert_eq!(listing.proxies.len(), 1);
        let credentials = SetupCredentials::new(
            Password::new(s.setup_password("U0001")),
            Password::new(s.pkcs11_password("U0001")),
        );
        // The add's final lines are the padded per-HSM list; the engine checks both of the user's lines.
        let served = engine.add("U0001", &credentials).await.unwrap();
        assert_eq!((served.user.as_str(), served.slot_id), ("U0001", 0));
        let status = engine.status("U0001").await.unwrap();
        assert!(status.configured);
        assert_eq!(status.hsms, ["hsm0", "hsm1"]);
        assert!(engine.remove("U0001").await.unwrap());
        assert!(!engine.status("U0001").await.unwrap().configured);
    });
    assert_eq!(s.stored_secret("U0001"), None);
}
