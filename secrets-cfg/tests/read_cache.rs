//! The parsed file `list` and `get` reuse: a reuse never changes a result,
//! and any change on disk (another handle, another process, an in-place
//! rewrite within one timestamp tick, corruption) is seen by the next read.
// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

use secrets_cfg::{EntryKind, Error, FileKey, KeySource, Secret, SecretsStore};

/// Longer than the tick after which an unchanged stamp is trusted alone, so
/// the next two reads are a parse (or byte compare) then a stamp-only hit.
const SETTLE: Duration = Duration::from_millis(120);

fn secret(text: &str) -> Secret {
    Secret::new(text.as_bytes().to_vec())
}

fn key() -> KeySource {
    KeySource::Key(FileKey::from_bytes([7; 32]))
}

/// A store at `dir/name` holding `names`, each with the value `"<name>-v"`.
fn store_with(dir: &Path, name: &str, names: &[&str]) -> (SecretsStore, PathBuf) {
    let path = dir.join(name);
    let store = SecretsStore::open(&path, key()).unwrap();
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    store
        .edit(move |tx| {
            for n in &names {
                tx.put(EntryKind::User, n, secret(&format!("{n}-v")))?;
            }
            Ok(())
        })
        .unwrap();
    (store, path)
}

fn names(store: &SecretsStore) -> Vec<String> {
    store.list().unwrap().into_iter().map(|e| e.name).collect()
}

fn value(store: &SecretsStore, name: &str) -> Option<Vec<u8>> {
    store
        .get(EntryKind::User, name)
        .unwrap()
        .map(|s| s.expose_secret().to_vec())
}

/// Overwrites `path` in place (same inode, no truncation first), as an editor
/// or `dd conv=notrunc` would; panics if the size would change.
fn rewrite_in_place(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let ino = fs::metadata(path).unwrap().ino();
    assert_eq!(fs::metadata(path).unwrap().len(), bytes.len() as u64);
    let mut file = fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
    assert_eq!(fs::metadata(path).unwrap().ino(), ino, "same inode");
}

#[test]
fn reuse_never_changes_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let all: Vec<String> = (0..200).map(|i| format!("USER{i:03}")).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let (store, _) = store_with(dir.path(), ".secrets.cfg", &refs);
    let first = names(&store);
    assert_eq!(first, all);
    // Fresh after the commit, then settled: every read path gives the same.
    for round in 0..3 {
        assert_eq!(names(&store), first, "round {round}");
        for n in &all {
            assert_eq!(value(&store, n), Some(format!("{n}-v").into_bytes()));
        }
        assert_eq!(value(&store, "NOBODY"), None);
        sleep(SETTLE);
    }
}

#[test]
fn an_edit_through_another_handle_is_seen_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, path) = store_with(dir.path(), ".secrets.cfg", &["ALICE", "BOB"]);
    let writer = SecretsStore::open(&path, key()).unwrap();
    for settle in [false, true] {
        if settle {
            sleep(SETTLE);
        }
        // Cache it (twice: the second read is the stamp-only hit once settled).
        assert_eq!(names(&reader), ["ALICE", "BOB"]);
        assert_eq!(names(&reader), ["ALICE", "BOB"]);
        writer
            .edit(|tx| {
                tx.remove(EntryKind::User, "BOB");
                tx.put(EntryKind::User, "ALICE", secret("changed"))?;
                tx.put(EntryKind::User, "CAROL", secret("carol"))
            })
            .unwrap();
        assert_eq!(names(&reader), ["ALICE", "CAROL"], "settle {settle}");
        assert_eq!(value(&reader, "ALICE"), Some(b"changed".to_vec()));
        assert_eq!(value(&reader, "BOB"), None);
        writer
            .edit(|tx| {
                tx.remove(EntryKind::User, "CAROL");
                tx.put(EntryKind::User, "ALICE", secret("ALICE-v"))?;
                tx.put(EntryKind::User, "BOB", secret("BOB-v"))
            })
            .unwrap();
        assert_eq!(names(&reader), ["ALICE", "BOB"]);
        assert_eq!(value(&reader, "ALICE"), Some(b"ALICE-v".to_vec()));
    }
}

#[test]
fn own_commit_is_what_the_next_read_sees() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with(dir.path(), ".secrets.cfg", &["ALICE"]);
    sleep(SETTLE);
    assert_eq!(names(&store), ["ALICE"]);
    store
        .edit(|tx| tx.put(EntryKind::User, "BOB", secret("bob")))
        .unwrap();
    assert_eq!(names(&store), ["ALICE", "BOB"]);
    assert_eq!(value(&store, "BOB"), Some(b"bob".to_vec()));
}

#[test]
fn a_child_process_replacing_the_file_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, path) = store_with(dir.path(), ".secrets.cfg", &["ALICE", "BOB"]);
    // Same key, same sizes of names and values: only the content differs.
    let (_, other) = store_with(dir.path(), "other.cfg", &["ALICE", "CAROL"]);
    let (_, third) = store_with(dir.path(), "third.cfg", &["DAVE1"]);
    sleep(SETTLE);
    assert_eq!(names(&reader), ["ALICE", "BOB"]);
    assert_eq!(names(&reader), ["ALICE", "BOB"]);
    // `cp` onto an existing file truncates and rewrites it in place.
    let ino = fs::metadata(&path).unwrap().ino();
    let status = Command::new("cp").arg(&other).arg(&path).status().unwrap();
    assert!(status.success());
    assert_eq!(fs::metadata(&path).unwrap().ino(), ino, "cp kept the inode");
    assert_eq!(names(&reader), ["ALICE", "CAROL"]);
    assert_eq!(value(&reader, "CAROL"), Some(b"CAROL-v".to_vec()));
    // `mv` renames another inode into place, as our own writers do.
    let status = Command::new("mv").arg(&third).arg(&path).status().unwrap();
    assert!(status.success());
    assert_eq!(names(&reader), ["DAVE1"]);
    assert_eq!(value(&reader, "ALICE"), None);
}

#[test]
fn same_size_in_place_rewrites_within_one_tick_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, path) = store_with(dir.path(), ".secrets.cfg", &["ALICE"]);
    let (_, other) = store_with(dir.path(), "other.cfg", &["BRUNO"]);
    let versions = [
        (fs::read(&path).unwrap(), "ALICE"),
        (fs::read(&other).unwrap(), "BRUNO"),
    ];
    assert_eq!(versions[0].0.len(), versions[1].0.len());
    // Back to back, far faster than a timestamp tick: on kernels that stamp
    // from a coarse clock many of these writes leave size, mtime and ctime
    // as the previous one did. (Linux >= 6.13 ext4/xfs/tmpfs give a changed
    // file a fine-grained ctime once its old one was read, so there this
    // checks the rule, not the hazard.)
    for i in 0..200 {
        let (bytes, name) = &versions[i % 2];
        rewrite_in_place(&path, bytes);
        assert_eq!(names(&reader), [*name], "rewrite {i}");
        assert_eq!(names(&reader), [*name], "rewrite {i}, read again");
    }
    // And once settled, when the stamp alone is trusted.
    for i in 0..4 {
        sleep(SETTLE);
        let (bytes, name) = &versions[i % 2];
        assert_eq!(names(&reader), [versions[(i + 1) % 2].1]);
        assert_eq!(names(&reader), [versions[(i + 1) % 2].1]);
        rewrite_in_place(&path, bytes);
        assert_eq!(names(&reader), [*name], "settled rewrite {i}");
    }
}

#[test]
fn corruption_after_a_good_read_is_reported_by_every_read() {
    let dir = tempfile::tempdir().unwrap();
    let (reader, path) = store_with(dir.path(), ".secrets.cfg", &["ALICE"]);
    let good = fs::read(&path).unwrap();
    sleep(SETTLE);
    assert_eq!(names(&reader), ["ALICE"]);
    assert_eq!(value(&reader, "ALICE"), Some(b"ALICE-v".to_vec()));
    // Same size, in place, right away: a broken brace.
    let mut bad = good.clone();
    let brace = bad.iter().rposition(|&b| b == b'}').unwrap();
    bad[brace] = b'!';
    rewrite_in_place(&path, &bad);
    for _ in 0..3 {
        assert!(matches!(reader.list(), Err(Error::Syntax { .. })));
        assert!(matches!(
            reader.get(EntryKind::User, "ALICE"),
            Err(Error::Syntax { .. })
        ));
        sleep(SETTLE);
    }
    // A value that no longer authenticates parses fine: `get` still fails.
    let mut tampered = good.clone();
    // The last value is ALICE's (the first is the key check); flip one
    // hex digit of its nonce.
    let at = tampered.windows(3).rposition(|w| w == b"v1:").unwrap() + 5;
    tampered[at] = if tampered[at] == b'a' { b'b' } else { b'a' };
    rewrite_in_place(&path, &tampered);
    for _ in 0..3 {
        assert_eq!(names(&reader), ["ALICE"]);
        assert!(matches!(
            reader.get(EntryKind::User, "ALICE"),
            Err(Error::Tampered { .. })
        ));
    }
    rewrite_in_place(&path, &good);
    assert_eq!(value(&reader, "ALICE"), Some(b"ALICE-v".to_vec()));
    fs::remove_file(&path).unwrap();
    assert!(matches!(reader.list(), Err(Error::NotFound { .. })));
}

#[test]
fn a_lookup_agrees_with_the_listing_through_commits() {
    let dir = tempfile::tempdir().unwrap();
    let missing = SecretsStore::open(dir.path().join("none.cfg"), key()).unwrap();
    assert!(matches!(
        missing.is_configured(EntryKind::User, "ALICE"),
        Err(Error::NotFound { .. })
    ));
    let (store, path) = store_with(dir.path(), ".secrets.cfg", &["ALICE", "BOB", "CAROL"]);
    // Every commit follows a read, so the readers' view and the writer's copy
    // share entries: a change through one must never show through the other.
    for round in 0..3 {
        assert!(store.is_configured(EntryKind::User, "BOB").unwrap());
        assert!(!store.is_configured(EntryKind::ServiceProxy, "BOB").unwrap());
        let changed = format!("a{round}");
        let sealed = secret(&changed);
        store
            .edit(move |tx| {
                tx.remove(EntryKind::User, "BOB");
                tx.put(EntryKind::User, "ALICE", sealed)
            })
            .unwrap();
        assert!(!store.is_configured(EntryKind::User, "BOB").unwrap());
        assert_eq!(value(&store, "ALICE"), Some(changed.into_bytes()));
        assert_eq!(value(&store, "CAROL"), Some(b"CAROL-v".to_vec()));
        store.check_writable().unwrap();
        store
            .edit(|tx| tx.put(EntryKind::User, "BOB", secret("BOB-v")))
            .unwrap();
        assert_eq!(names(&store), ["ALICE", "CAROL", "BOB"]);
    }
    // A fresh handle parses the file: it says what the cached reads said.
    let fresh = SecretsStore::open(&path, key()).unwrap();
    assert_eq!(names(&fresh), ["ALICE", "CAROL", "BOB"]);
    assert_eq!(value(&fresh, "ALICE"), Some(b"a2".to_vec()));
    assert_eq!(fresh.check().unwrap().failures.len(), 0);
}
