//! Behaviour of `SecretsStore` on real files.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use secrets_cfg::{EntryKind, Error, FileKey, KeySource, Secret, SecretsStore};

fn secret(text: &str) -> Secret {
    Secret::new(text.as_bytes().to_vec())
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory for the test");
    let path = dir.path().join(".secrets.cfg");
    (dir, path)
}

fn key_file(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.key", path.display()))
}

#[test]
#[allow(clippy::needless_borrows_for_generic_args)] // `put` taking `&Secret` is what is tested
fn put_get_list_remove_and_reopen() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert!(matches!(store.list(), Err(Error::NotFound { .. })));
    store
        .edit(|tx| {
            tx.put(EntryKind::User, "ALICE", secret("alice-secret"))?;
            tx.put(EntryKind::User, "BOB", &secret("bob-secret"))?;
            tx.put(EntryKind::ServiceProxy, "SERVICE_USER", secret("proxy-pw"))
        })
        .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("alice-secret") && !text.contains("proxy-pw"),
        "values are ciphered"
    );
    assert!(
        text.contains("name = \"ALICE\";") && text.contains("secret = \"v1:"),
        "{text}"
    );
    assert!(
        text.contains("service_proxies: {") && text.contains("password = \"v1:"),
        "{text}"
    );

    // A fresh handle (as another process would) reads the same.
    let again = SecretsStore::open(&path, KeySource::Default).unwrap();
    let names: Vec<_> = again
        .list()
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.name, e.configured))
        .collect();
    assert_eq!(
        names,
        vec![
            (EntryKind::User, "ALICE".to_owned(), true),
            (EntryKind::User, "BOB".to_owned(), true),
            (EntryKind::ServiceProxy, "SERVICE_USER".to_owned(), true),
        ]
    );
    assert_eq!(
        again.get(EntryKind::User, "BOB").unwrap(),
        Some(secret("bob-secret"))
    );
    assert_eq!(
        again.get(EntryKind::ServiceProxy, "SERVICE_USER").unwrap(),
        Some(secret("proxy-pw"))
    );
    assert_eq!(
        again.get(EntryKind::ServiceProxy, "ALICE").unwrap(),
        None,
        "kinds are separate"
    );
    assert_eq!(again.get(EntryKind::User, "CAROL").unwrap(), None);

    let (removed, missing) = again
        .edit(|tx| {
            Ok((
                tx.remove(EntryKind::User, "ALICE"),
                tx.remove(EntryKind::User, "CAROL"),
            ))
        })
        .unwrap();
    assert!(removed && !missing);
    assert_eq!(store.get(EntryKind::User, "ALICE").unwrap(), None);
    assert_eq!(
        store.get(EntryKind::User, "BOB").unwrap(),
        Some(secret("bob-secret"))
    );
}

#[test]
fn first_write_creates_key_file_with_modes() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    let key = key_file(&path);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
    assert_eq!(fs::metadata(&key).unwrap().mode() & 0o7777, 0o640);
    let key_text = fs::read_to_string(&key).unwrap();
    assert!(FileKey::from_hex(&key_text).is_ok());
    assert!(!fs::read_to_string(&path).unwrap().contains(key_text.trim()));
}

#[test]
fn key_file_is_owner_only_when_the_secrets_file_is() {
    let (_dir, path) = setup();
    fs::write(&path, "version = \"1.0\";\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    assert_eq!(
        fs::metadata(key_file(&path)).unwrap().mode() & 0o7777,
        0o600
    );
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
}

#[test]
fn rewrite_keeps_owner_group_and_mode() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o660)).unwrap();
    // Tests run as root in CI, so a chown is possible; elsewhere keep our own ids.
    let (uid, gid) = if rustix::process::geteuid().is_root() {
        (4321, 4322)
    } else {
        let m = fs::metadata(&path).unwrap();
        (m.uid(), m.gid())
    };
    std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    let inode = fs::metadata(&path).unwrap().ino();
    store
        .edit(|tx| tx.put(EntryKind::User, "V", secret("t")))
        .unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_ne!(
        meta.ino(),
        inode,
        "replaced by rename, not rewritten in place"
    );
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (uid, gid, 0o660)
    );
}

#[test]
fn unknown_settings_and_fields_survive_a_rewrite() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Key(FileKey::from_bytes([9; 32]))).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    let edited = text
        .replace("version = \"1.0\";", "version = \"1.0\";\n// operator note\nvendor_extra = { retries = 3; hosts = [\"a\", \"b\"]; };")
        .replace("name = \"U\";", "name = \"U\"; slot_hint = 7;")
        .replace("primus: {", "primus: {\n  audit = true;");
    fs::write(&path, edited).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "W", secret("w")))
        .unwrap();
    let doc = primus_core::libconfig::parse(&fs::read_to_string(&path).unwrap()).unwrap();
    use primus_core::libconfig::Value;
    assert_eq!(doc.lookup("vendor_extra.retries"), Some(&Value::Int(3)));
    assert_eq!(doc.lookup("primus.audit"), Some(&Value::Bool(true)));
    assert_eq!(
        doc.lookup("primus.users.user0.slot_hint"),
        Some(&Value::Int(7))
    );
    assert_eq!(
        doc.lookup("primus.users.user1.name")
            .and_then(Value::as_str),
        Some("W")
    );
    assert_eq!(store.get(EntryKind::User, "U").unwrap(), Some(secret("s")));
}

#[test]
fn failed_or_panicking_edit_writes_nothing() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    let before = fs::read(&path).unwrap();
    let err = store
        .edit(|tx| {
            tx.put(EntryKind::User, "NEW", secret("n"))?;
            tx.remove(EntryKind::User, "U");
            tx.put(EntryKind::User, "", secret("x"))
        })
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err}");
    assert_eq!(fs::read(&path).unwrap(), before);
    let panicked = std::panic::catch_unwind(|| {
        store.edit(|tx| -> secrets_cfg::Result<()> {
            tx.remove(EntryKind::User, "U");
            panic!("edit closure panics");
        })
    });
    assert!(panicked.is_err());
    assert_eq!(fs::read(&path).unwrap(), before);
    // The store is still usable and saw neither change.
    let list = store.edit(|tx| Ok(tx.list())).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(store.get(EntryKind::User, "U").unwrap(), Some(secret("s")));
    assert_eq!(store.get(EntryKind::User, "NEW").unwrap(), None);
}

#[test]
fn transaction_sees_its_own_changes() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    let seen = store
        .edit(|tx| {
            tx.put(EntryKind::User, "U", secret("one"))?;
            let first = tx.get(EntryKind::User, "U")?;
            tx.put(EntryKind::User, "U", secret("two"))?;
            Ok((
                first,
                tx.get(EntryKind::User, "U")?,
                tx.contains(EntryKind::User, "U"),
            ))
        })
        .unwrap();
    assert_eq!(seen, (Some(secret("one")), Some(secret("two")), true));
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn caller_key_is_used_and_checked() {
    let (_dir, path) = setup();
    let key = FileKey::from_bytes([5; 32]);
    let store = SecretsStore::open(&path, KeySource::Key(key.clone())).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    assert!(
        !key_file(&path).exists(),
        "a caller key is never written to disk"
    );
    let wrong = SecretsStore::open(&path, KeySource::Key(FileKey::from_bytes([6; 32]))).unwrap();
    let err = wrong.get(EntryKind::User, "U").unwrap_err();
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
    assert!(
        err.to_string().contains("the key given by the caller"),
        "{err}"
    );
    let via_file = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert!(matches!(
        via_file.get(EntryKind::User, "U"),
        Err(Error::MissingKey { .. })
    ));
    assert_eq!(store.list().unwrap().len(), 1, "listing needs no key");
}

#[test]
fn rotation_with_a_key_file() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| {
            tx.put(EntryKind::User, "U", secret("s"))?;
            tx.put(EntryKind::ServiceProxy, "P", secret("p"))
        })
        .unwrap();
    let old_key = fs::read_to_string(key_file(&path)).unwrap();
    let new_key = FileKey::generate().unwrap();
    store.rotate_key(new_key.clone()).unwrap();
    let key_text = fs::read_to_string(key_file(&path)).unwrap();
    // `assert!`, not `assert_eq!`: a failure must not print the keys.
    assert!(key_text != old_key, "the key file still holds the old key");
    assert!(
        FileKey::from_hex(&key_text).unwrap().expose_secret() == new_key.expose_secret(),
        "the key file does not hold the new key"
    );
    assert!(!PathBuf::from(format!("{}.new", key_file(&path).display())).exists());
    let fresh = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert_eq!(fresh.get(EntryKind::User, "U").unwrap(), Some(secret("s")));
    assert_eq!(
        fresh.get(EntryKind::ServiceProxy, "P").unwrap(),
        Some(secret("p"))
    );
    let stale =
        SecretsStore::open(&path, KeySource::Key(FileKey::from_hex(&old_key).unwrap())).unwrap();
    assert!(matches!(
        stale.get(EntryKind::User, "U"),
        Err(Error::WrongKey { .. })
    ));
}

#[test]
fn rotation_interrupted_at_each_step_recovers() {
    // Key bytes are compared with `assert!`: a failing `assert_eq!` would print them.
    let (_dir, path) = setup();
    let key = key_file(&path);
    let pending = PathBuf::from(format!("{}.new", key.display()));
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    let old_key = fs::read(&key).unwrap();
    let new_key = FileKey::generate().unwrap();

    // Crash after step 1: the new key is pending, the file still under the old key.
    let mut new_key_line = hex_line(&new_key);
    write_private(&pending, &new_key_line);
    let fresh = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert_eq!(fresh.get(EntryKind::User, "U").unwrap(), Some(secret("s")));
    fresh
        .edit(|tx| tx.put(EntryKind::User, "V", secret("v")))
        .unwrap();
    assert!(!pending.exists(), "a stale pending key is removed");
    assert!(
        fs::read(&key).unwrap() == old_key,
        "the key file no longer holds the old key"
    );

    // Crash after step 2: the file is under the new key, the key file still old.
    let rotated_by_caller = SecretsStore::open(
        &path,
        KeySource::Key(FileKey::from_hex(std::str::from_utf8(&old_key).unwrap()).unwrap()),
    )
    .unwrap();
    rotated_by_caller.rotate_key(new_key.clone()).unwrap();
    write_private(&pending, &new_key_line);
    let fresh = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert_eq!(
        fresh.get(EntryKind::User, "V").unwrap(),
        Some(secret("v")),
        "readers try the pending key"
    );
    assert!(
        fs::read(&key).unwrap() == old_key,
        "the key file no longer holds the old key"
    );
    fresh
        .edit(|tx| tx.put(EntryKind::User, "W", secret("w")))
        .unwrap();
    assert!(!pending.exists());
    assert!(
        fs::read(&key).unwrap() == new_key_line,
        "the next writer finishes the rotation"
    );
    assert_eq!(
        rotated_by_caller.get(EntryKind::User, "W").unwrap(),
        Some(secret("w")),
        "caller handle follows its new key"
    );
    new_key_line.clear();
}

fn hex_line(key: &FileKey) -> Vec<u8> {
    let mut line = key
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into_bytes();
    line.push(b'\n');
    line
}

#[test]
fn symlinked_path_is_resolved_once() {
    let (dir, path) = setup();
    let real_dir = dir.path().join("real");
    fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("secrets.cfg");
    fs::write(&target, "version = \"1.0\";\n").unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert_eq!(store.path(), fs::canonicalize(&target).unwrap());
    store
        .edit(|tx| tx.put(EntryKind::User, "U", secret("s")))
        .unwrap();
    assert!(
        fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(fs::read_to_string(&target)
        .unwrap()
        .contains("name = \"U\""));
    assert!(
        real_dir.join("secrets.cfg.key").exists(),
        "the key file sits beside the target"
    );
}

#[test]
fn concurrent_threads_on_one_handle_lose_nothing() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let store = store.clone();
            scope.spawn(move || {
                for i in 0..10 {
                    store
                        .edit(move |tx| {
                            tx.put(
                                EntryKind::User,
                                &format!("T{t}-{i}"),
                                secret(&format!("{t}/{i}")),
                            )
                        })
                        .unwrap();
                }
            });
        }
    });
    let list = store.list().unwrap();
    assert_eq!(list.len(), 80);
    for t in 0..8 {
        for i in 0..10 {
            let got = store.get(EntryKind::User, &format!("T{t}-{i}")).unwrap();
            assert_eq!(got, Some(secret(&format!("{t}/{i}"))));
        }
    }
}

#[test]
fn debug_output_shows_no_secret() {
    let (_dir, path) = setup();
    let key = FileKey::from_bytes([0xab; 32]);
    let store = SecretsStore::open(&path, KeySource::Key(key.clone())).unwrap();
    let shown = store
        .edit(|tx| {
            tx.put(EntryKind::User, "U", secret("TOPSECRET"))?;
            Ok(format!("{tx:?} {:?}", tx.get(EntryKind::User, "U")?))
        })
        .unwrap();
    let all = format!("{shown} {store:?} {:?}", KeySource::Key(key));
    assert!(!all.contains("TOPSECRET") && !all.contains("abab"), "{all}");
    assert!(all.contains("[REDACTED]"));
}

fn entries() -> impl Strategy<Value = std::collections::BTreeMap<(bool, String), Vec<u8>>> {
    prop::collection::btree_map(
        (any::<bool>(), "[A-Za-z0-9_.@ -]{1,12}|\\PC{1,6}"),
        prop::collection::vec(any::<u8>(), 0..48),
        0..12,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn any_set_of_entries_round_trips(first in entries(), second in entries()) {
        let (_dir, path) = setup();
        let store = SecretsStore::open(&path, KeySource::Default).unwrap();
        let kind = |proxy: bool| if proxy { EntryKind::ServiceProxy } else { EntryKind::User };
        for batch in [&first, &second] {
            let batch = batch.clone();
            store.edit(move |tx| {
                for ((proxy, name), value) in batch {
                    tx.put(kind(proxy), &name, Secret::new(value))?;
                }
                Ok(())
            }).unwrap();
        }
        let mut expected = first.clone();
        expected.extend(second.clone());
        let fresh = SecretsStore::open(&path, KeySource::Default).unwrap();
        if expected.is_empty() {
            // An edit that changes nothing writes nothing.
            let not_found = matches!(fresh.list(), Err(Error::NotFound { .. }));
            prop_assert!(not_found);
        } else {
            prop_assert_eq!(fresh.list().unwrap().len(), expected.len());
        }
        for ((proxy, name), value) in &expected {
            let got = fresh.get(kind(*proxy), name).unwrap().unwrap();
            prop_assert_eq!(got.expose_secret(), value.as_slice());
        }
    }
}

#[test]
fn handles_are_clone_send_sync() {
    fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
    assert_shareable::<SecretsStore>();
    assert_shareable::<Secret>();
    assert_shareable::<secrets_cfg::Password>();
    assert_shareable::<Error>();
}

#[test]
fn queued_edits_are_committed_together() {
    let (_dir, path) = setup();
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        // The first edit holds the commit (as a slow fsync would) while the
        // others queue behind it.
        let first = store.clone();
        scope.spawn(move || {
            first
                .edit(move |tx| {
                    started_tx.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    tx.put(EntryKind::User, "FIRST", secret("f"))
                })
                .unwrap();
        });
        started_rx.recv().unwrap();
        let runners: Vec<_> = (0..7)
            .map(|i| {
                let store = store.clone();
                scope.spawn(move || {
                    store
                        .edit(move |tx| {
                            tx.put(EntryKind::User, &format!("Q{i}"), secret("q"))?;
                            Ok(std::thread::current().id())
                        })
                        .unwrap()
                })
            })
            .collect();
        let runners: std::collections::HashSet<_> =
            runners.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            runners.len(),
            1,
            "the seven queued edits ran in one batch, on its leader's thread"
        );
    });
    assert_eq!(store.list().unwrap().len(), 8);
}

/// Writes a key file as the store does: owner-only, since a key file other
/// users can read is refused.
fn write_private(path: &Path, contents: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    fs::write(path, contents).expect("write the key file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .expect("make the key file owner-only");
}
