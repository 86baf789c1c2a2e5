//! The test vector in `tests/testdata` (also the example in
//! `docs/secrets-cfg-format.md`): a file written by this crate under a
//! published key must keep opening, so the format cannot drift unnoticed.

use std::path::Path;

use secrets_cfg::{EntryKind, FileKey, KeySource, SecretsStore};

fn testdata(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata")
        .join(name)
}

#[test]
fn v1_example_opens_with_the_published_key() {
    // Given as a key, not a key file: git stores the file as 0644, which a
    // key file may not be (the key is published, so that is harmless here).
    let key = std::fs::read_to_string(testdata("v1-example.key")).unwrap();
    let store = SecretsStore::open(
        testdata("v1-example.cfg"),
        KeySource::Key(FileKey::from_hex(&key).unwrap()),
    )
    .unwrap();
    let user = store.get(EntryKind::User, "PARTITION").unwrap().unwrap();
    assert_eq!(user.expose_secret(), b"example-permanent-secret");
    let proxy = store
        .get(EntryKind::ServiceProxy, "SERVICE_USER")
        .unwrap()
        .unwrap();
    assert_eq!(proxy.expose_secret(), b"example-proxy-password");
}

#[test]
fn the_format_spec_shows_the_test_vector() {
    let spec = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/secrets-cfg-format.md"),
    )
    .unwrap();
    let example = std::fs::read_to_string(testdata("v1-example.cfg")).unwrap();
    assert!(
        spec.contains(&format!("```\n{example}```\n")),
        "docs/secrets-cfg-format.md example differs from the test vector"
    );
    let key = std::fs::read_to_string(testdata("v1-example.key")).unwrap();
    assert!(spec.contains(key.trim()));
}
