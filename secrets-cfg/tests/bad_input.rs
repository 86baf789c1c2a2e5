//! Bad-input corpus: every damaged file, key or path gives its own clear
//! error naming the file (and entry), and the bytes on disk stay identical.
//! Tests run as root in CI, which ignores permission bits, so read-only and
//! unreadable cases use mechanisms root obeys: the immutable attribute
//! (`chattr +i`) and a thread that has dropped to uid/gid 65534.
// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use primus_core::libconfig::{self, Value};
use secrets_cfg::{EntryKind, Error, FileKey, KeySource, Secret, SecretsStore};

mod support;
use support::Immutable;

const PLAINTEXTS: [&str; 3] = ["alice-permanent", "bob-permanent", "svc-proxy-pw"];

struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
    key: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let key = dir.path().join(".secrets.cfg.key");
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| {
            tx.put(EntryKind::User, "ALICE", Secret::new(PLAINTEXTS[0].into()))?;
            tx.put(EntryKind::User, "BOB", Secret::new(PLAINTEXTS[1].into()))?;
            tx.put(
                EntryKind::ServiceProxy,
                "SVC",
                Secret::new(PLAINTEXTS[2].into()),
            )
        })
        .unwrap();
    Fixture { dir, path, key }
}

/// Every regular file in the directory, with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = fs::read(&p).ok();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Tries a read and an edit; both must fail (the edit with `expected`), the
/// error must name the file and contain `needle`, show no secret, and leave
/// every file byte-identical with no temporary file behind.
fn assert_refused(fx: &Fixture, expected: fn(&Error) -> bool, needle: &str) {
    assert_refused_at(&fx.path, fx.dir.path(), expected, needle);
}

fn assert_refused_at(path: &Path, dir: &Path, expected: fn(&Error) -> bool, needle: &str) {
    let before = snapshot(dir);
    let err = match SecretsStore::open(path, KeySource::Default) {
        Err(e) => e,
        Ok(store) => {
            let read = store.list().and_then(|entries| {
                entries
                    .iter()
                    .try_for_each(|e| store.get(e.kind, &e.name).map(drop))
            });
            read.expect_err("reading every entry must fail too");
            store
                .edit(|tx| tx.put(EntryKind::User, "CAROL", Secret::new(b"carol".to_vec())))
                .expect_err("the edit must fail")
        }
    };
    let text = err.to_string();
    assert!(expected(&err), "unexpected error: {text}");
    assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    assert!(
        text.contains(&path.display().to_string()),
        "{text:?} does not name {}",
        path.display()
    );
    for secret in PLAINTEXTS {
        assert!(!text.contains(secret) && !format!("{err:?}").contains(secret));
    }
    assert_eq!(
        unchanged_but_lock(dir, &before),
        before,
        "files changed after: {text}"
    );
}

/// The directory's snapshot, minus the lock file if the failed edit only
/// created it (empty): taking the lock precedes reading the file.
fn unchanged_but_lock(
    dir: &Path,
    before: &[(PathBuf, Option<Vec<u8>>)],
) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut after = snapshot(dir);
    after.retain(|(p, bytes)| {
        let new_lock =
            p.extension().is_some_and(|e| e == "lock") && before.iter().all(|(b, _)| b != p);
        !(new_lock && bytes.as_deref() == Some(&[][..]))
    });
    after
}

fn rewrite(path: &Path, f: impl FnOnce(String) -> String) {
    let text = fs::read_to_string(path).unwrap();
    fs::write(path, f(text)).unwrap();
}

/// Rewrites one sealed value (`v1:<nonce>:<ciphertext+tag>`) through `f`.
fn edit_value(fx: &Fixture, group: &str, setting: &str, f: impl FnOnce(&str) -> String) {
    let mut doc = libconfig::parse(&fs::read_to_string(&fx.path).unwrap()).unwrap();
    let entry = doc
        .get_mut("primus")
        .and_then(Value::as_group_mut)
        .and_then(|g| g.get_mut(group))
        .and_then(Value::as_group_mut)
        .and_then(|g| g.get_mut(setting))
        .and_then(Value::as_group_mut)
        .unwrap();
    let field = if group == "users" {
        "secret"
    } else {
        "password"
    };
    let old = entry.get(field).and_then(Value::as_str).unwrap().to_owned();
    entry.insert(field, Value::String(f(&old)));
    fs::write(&fx.path, libconfig::write(&doc).unwrap()).unwrap();
}

fn value_of(fx: &Fixture, path: &str) -> String {
    let doc = libconfig::parse(&fs::read_to_string(&fx.path).unwrap()).unwrap();
    doc.lookup(path).and_then(Value::as_str).unwrap().to_owned()
}

/// Flips the lowest bit of the hex digit at `index`.
fn flip(value: &str, index: usize) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let digit = chars[index].to_digit(16).unwrap() ^ 1;
    chars[index] = char::from_digit(digit, 16).unwrap();
    chars.into_iter().collect()
}

fn tampered(name: &'static str) -> fn(&Error) -> bool {
    match name {
        "ALICE" => {
            |e| matches!(e, Error::Tampered { name, kind: EntryKind::User, .. } if name == "ALICE")
        }
        "BOB" => {
            |e| matches!(e, Error::Tampered { name, kind: EntryKind::User, .. } if name == "BOB")
        }
        _ => {
            |e| matches!(e, Error::Tampered { name, kind: EntryKind::ServiceProxy, .. } if name == "SVC")
        }
    }
}

// ---- damaged text ----

#[test]
fn truncated_mid_file() {
    let fx = fixture();
    let bytes = fs::read(&fx.path).unwrap();
    fs::write(&fx.path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::Syntax { .. }),
        "is not valid libconfig: line ",
    );
}

#[test]
fn truncated_to_empty() {
    let fx = fixture();
    fs::write(&fx.path, b"").unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "`version` is missing",
    );
}

#[test]
fn non_utf8_byte() {
    let fx = fixture();
    let mut bytes = fs::read(&fx.path).unwrap();
    bytes.splice(2..2, [0xff]);
    fs::write(&fx.path, bytes).unwrap();
    assert_refused(
        &fx,
        |e| {
            matches!(
                e,
                Error::NotUtf8 {
                    line: 1,
                    column: 3,
                    ..
                }
            )
        },
        "not UTF-8 text (invalid byte at line 1, column 3)",
    );
}

#[test]
fn duplicate_entry_names() {
    let fx = fixture();
    rewrite(&fx.path, |t| {
        t.replace("name = \"BOB\"", "name = \"ALICE\"")
    });
    assert_refused(
        &fx,
        |e| matches!(e, Error::DuplicateEntry { name, .. } if name == "ALICE"),
        "user `ALICE` has two entries",
    );
}

#[test]
fn duplicate_setting_names() {
    let fx = fixture();
    rewrite(&fx.path, |t| t.replace("user1: {", "user0: {"));
    assert_refused(
        &fx,
        |e| matches!(e, Error::Syntax { .. }),
        "duplicate setting name `user0`",
    );
}

#[test]
fn huge_file() {
    let fx = fixture();
    let mut text = fs::read_to_string(&fx.path).unwrap();
    text.push_str(&format!("# {}\n", "x".repeat(17 << 20)));
    fs::write(&fx.path, text).unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::TooLarge { .. }),
        "over the 16777216-byte limit",
    );
}

#[test]
fn unsupported_file_version() {
    let fx = fixture();
    rewrite(&fx.path, |t| {
        t.replace("version = \"1.0\"", "version = \"2.0\"")
    });
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "file version \"2.0\" is not supported",
    );
}

#[test]
fn primus_is_not_a_group() {
    let fx = fixture();
    fs::write(&fx.path, "version = \"1.0\";\nprimus = \"users\";\n").unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "`primus` is not a group",
    );
}

#[test]
fn users_is_a_list() {
    let fx = fixture();
    fs::write(
        &fx.path,
        "version = \"1.0\";\nprimus: { users = ( { name = \"A\"; } ); };\n",
    )
    .unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "`primus.users` is not a group",
    );
}

#[test]
fn entry_without_name() {
    let fx = fixture();
    rewrite(&fx.path, |t| t.replace("name = \"BOB\";", ""));
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "`primus.users.user1` has no string `name`",
    );
}

#[test]
fn secret_is_not_a_string() {
    let fx = fixture();
    rewrite(&fx.path, |t| {
        t.replace("name = \"BOB\";", "name = \"BOB\"; password = 5;")
    });
    let text = fs::read_to_string(&fx.path).unwrap();
    let start = text.find("name = \"BOB\"").unwrap();
    let secret_line = text[start..].find("secret = ").unwrap() + start;
    let end = text[secret_line..].find(';').unwrap() + secret_line;
    fs::write(
        &fx.path,
        format!("{}secret = 5{}", &text[..secret_line], &text[end..]),
    )
    .unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "`primus.users.user1`.secret is a integer, expected a string",
    );
}

#[test]
fn include_directive() {
    let fx = fixture();
    rewrite(&fx.path, |t| format!("@include \"/etc/shadow\"\n{t}"));
    assert_refused(
        &fx,
        |e| matches!(e, Error::Syntax { .. }),
        "`@include \"/etc/shadow\"` is followed only when reading a file",
    );
}

#[test]
fn key_check_removed() {
    let fx = fixture();
    let check = value_of(&fx, "primus.key_check");
    rewrite(&fx.path, |t| {
        t.replace(&format!("key_check = \"{check}\";"), "")
    });
    assert_refused(
        &fx,
        |e| matches!(e, Error::Format { .. }),
        "ciphered entries but no `primus.key_check`",
    );
}

// ---- damaged ciphertexts ----

#[test]
fn flipped_bit_in_ciphertext() {
    let fx = fixture();
    edit_value(&fx, "users", "user0", |v| flip(v, 28));
    assert_refused(&fx, tampered("ALICE"), "user `ALICE` fails authentication");
}

#[test]
fn flipped_bit_in_tag() {
    let fx = fixture();
    edit_value(&fx, "users", "user1", |v| flip(v, v.len() - 1));
    assert_refused(&fx, tampered("BOB"), "user `BOB` fails authentication");
}

#[test]
fn flipped_bit_in_nonce() {
    let fx = fixture();
    edit_value(&fx, "service_proxies", "proxy0", |v| flip(v, 3));
    assert_refused(
        &fx,
        tampered("SVC"),
        "service proxy user `SVC` fails authentication",
    );
}

#[test]
fn ciphertexts_swapped_between_entries() {
    let fx = fixture();
    let alice = value_of(&fx, "primus.users.user0.secret");
    let bob = value_of(&fx, "primus.users.user1.secret");
    edit_value(&fx, "users", "user0", |_| bob.clone());
    edit_value(&fx, "users", "user1", |_| alice.clone());
    assert_refused(&fx, tampered("ALICE"), "copied from another entry");
}

#[test]
fn ciphertext_moved_to_another_kind() {
    let fx = fixture();
    let alice = value_of(&fx, "primus.users.user0.secret");
    rewrite(&fx.path, |t| {
        t.replace("name = \"SVC\"", "name = \"ALICE\"")
    });
    edit_value(&fx, "service_proxies", "proxy0", |_| alice.clone());
    assert_refused(
        &fx,
        |e| {
            matches!(
                e,
                Error::Tampered {
                    kind: EntryKind::ServiceProxy,
                    ..
                }
            )
        },
        "service proxy user `ALICE` fails authentication",
    );
}

#[test]
fn ciphertext_shortened() {
    let fx = fixture();
    edit_value(&fx, "users", "user0", |v| v[..v.len() - 2].to_owned());
    assert_refused(&fx, tampered("ALICE"), "fails authentication");
}

#[test]
fn unknown_scheme_version() {
    let fx = fixture();
    edit_value(&fx, "users", "user1", |v| v.replacen("v1:", "v9:", 1));
    assert_refused(
        &fx,
        |e| matches!(e, Error::UnknownScheme { scheme, .. } if scheme == "v9"),
        "ciphered with scheme `v9`",
    );
}

#[test]
fn nonce_not_hex() {
    let fx = fixture();
    edit_value(&fx, "users", "user0", |v| format!("v1:zz{}", &v[5..]));
    assert_refused(
        &fx,
        |e| matches!(e, Error::MalformedValue { .. }),
        "malformed value (nonce is not 24 hex digits)",
    );
}

#[test]
fn plaintext_pasted_as_value() {
    let fx = fixture();
    edit_value(&fx, "users", "user0", |_| PLAINTEXTS[0].to_owned());
    assert_refused(
        &fx,
        |e| matches!(e, Error::MalformedValue { .. }),
        "malformed value (no scheme marker)",
    );
}

// ---- keys ----

#[test]
fn wrong_key() {
    let fx = fixture();
    fs::write(&fx.key, format!("{}\n", "42".repeat(32))).unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::WrongKey { .. }),
        "does not open this file (key check failed)",
    );
}

#[test]
fn key_check_altered() {
    let fx = fixture();
    let check = value_of(&fx, "primus.key_check");
    rewrite(&fx.path, |t| t.replace(&check, &flip(&check, 30)));
    assert_refused(
        &fx,
        |e| matches!(e, Error::WrongKey { .. }),
        "key check failed",
    );
}

#[test]
fn missing_key() {
    let fx = fixture();
    fs::remove_file(&fx.key).unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::MissingKey { .. }),
        "a new key is never made for an existing file",
    );
}

#[test]
fn key_file_not_hex() {
    let fx = fixture();
    fs::write(&fx.key, "not a key\n").unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::BadKey { .. }),
        "found 9 characters",
    );
}

#[test]
fn key_file_is_a_symlink() {
    let fx = fixture();
    let elsewhere = fx.dir.path().join("elsewhere.key");
    fs::rename(&fx.key, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &fx.key).unwrap();
    assert_refused(
        &fx,
        |e| matches!(e, Error::BadKey { .. }),
        "the key file is a symlink, which is refused",
    );
}

// ---- paths and permissions ----

#[test]
fn path_is_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    fs::create_dir(&path).unwrap();
    assert_refused_at(
        &path,
        dir.path(),
        |e| matches!(e, Error::Read { .. }),
        "is a directory",
    );
}

#[test]
fn symlink_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let other = dir.path().join("other.cfg");
    std::os::unix::fs::symlink(&other, &path).unwrap();
    std::os::unix::fs::symlink(&path, &other).unwrap();
    assert_refused_at(
        &path,
        dir.path(),
        |e| matches!(e, Error::Symlink { .. }),
        "cannot resolve the symlink",
    );
}

#[test]
fn dangling_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    std::os::unix::fs::symlink(dir.path().join("gone.cfg"), &path).unwrap();
    assert_refused_at(
        &path,
        dir.path(),
        |e| matches!(e, Error::Symlink { .. }),
        "point it at an existing secrets file",
    );
}

#[test]
fn read_only_directory() {
    let fx = fixture();
    let _guard = Immutable::set(fx.dir.path());
    let store = SecretsStore::open(&fx.path, KeySource::Default).unwrap();
    let before = snapshot(fx.dir.path());
    // Reading still works; writing is refused with the vendor's code.
    assert!(store.get(EntryKind::User, "ALICE").unwrap().is_some());
    let err = store
        .edit(|tx| tx.put(EntryKind::User, "CAROL", Secret::new(b"c".to_vec())))
        .unwrap_err();
    assert!(matches!(err, Error::NoWriteAccess { .. }), "{err}");
    assert_eq!(err.vendor_code(), Some(0x8000_5007));
    assert!(err.to_string().contains("(0x80005007)"), "{err}");
    assert_eq!(snapshot(fx.dir.path()), before);
}

#[test]
fn read_only_file() {
    let fx = fixture();
    let _guard = Immutable::set(&fx.path);
    let store = SecretsStore::open(&fx.path, KeySource::Default).unwrap();
    let before = snapshot(fx.dir.path());
    let err = store
        .edit(|tx| tx.put(EntryKind::User, "CAROL", Secret::new(b"c".to_vec())))
        .unwrap_err();
    assert!(matches!(err, Error::NoWriteAccess { .. }), "{err}");
    assert!(
        err.to_string().contains(&fx.path.display().to_string()),
        "{err}"
    );
    assert_eq!(
        snapshot(fx.dir.path()),
        before,
        "the temporary file is removed too"
    );
}

/// Runs `f` on a thread whose uid and gid are 65534 (Linux credentials are
/// per thread; the rest of the test process stays root).
fn as_nobody<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(65534)).unwrap();
                rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(65534)).unwrap();
                f()
            })
            .join()
            .unwrap()
    })
}

#[test]
fn unreadable_file() {
    let fx = fixture();
    fs::set_permissions(fx.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&fx.path, fs::Permissions::from_mode(0o600)).unwrap();
    let before = snapshot(fx.dir.path());
    let path = fx.path.clone();
    let (read, write) = as_nobody(move || {
        let store = SecretsStore::open(&path, KeySource::Default).unwrap();
        let read = store.list().unwrap_err();
        let write = store
            .edit(|tx| tx.put(EntryKind::User, "CAROL", Secret::new(b"c".to_vec())))
            .unwrap_err();
        (read, write)
    });
    assert!(matches!(read, Error::Read { .. }), "{read}");
    assert!(read.to_string().contains("Permission denied"), "{read}");
    assert!(matches!(write, Error::NoWriteAccess { .. }), "{write}");
    assert_eq!(write.vendor_code(), Some(0x8000_5007));
    assert_eq!(snapshot(fx.dir.path()), before);
}

#[test]
fn missing_file_has_the_vendor_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    for err in [
        store.list().unwrap_err(),
        store.get(EntryKind::User, "A").unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        assert_eq!(err.vendor_code(), Some(0x8000_5004));
        assert!(err.to_string().contains("(0x80005004)"));
    }
    assert!(
        fs::read_dir(dir.path()).unwrap().next().is_none(),
        "reads create nothing"
    );
}

#[test]
fn invalid_entry_names() {
    let fx = fixture();
    let before = snapshot(fx.dir.path());
    let store = SecretsStore::open(&fx.path, KeySource::Default).unwrap();
    for (name, problem) in [
        ("".to_owned(), "is empty"),
        ("a\nb".to_owned(), "control character"),
        ("x".repeat(256), "longer than 255"),
    ] {
        let err = store
            .edit(move |tx| tx.put(EntryKind::User, &name, Secret::new(b"s".to_vec())))
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidName { .. }) && err.to_string().contains(problem),
            "{err}"
        );
    }
    assert_eq!(snapshot(fx.dir.path()), before);
}

#[test]
fn caller_key_wrong_for_existing_file() {
    let fx = fixture();
    let before = snapshot(fx.dir.path());
    let store = SecretsStore::open(&fx.path, KeySource::Key(FileKey::from_bytes([1; 32]))).unwrap();
    let err = store
        .edit(|tx| tx.put(EntryKind::User, "CAROL", Secret::new(b"c".to_vec())))
        .unwrap_err();
    assert!(
        matches!(err, Error::WrongKey { .. })
            && err.to_string().contains("the key given by the caller"),
        "{err}"
    );
    assert_eq!(snapshot(fx.dir.path()), before);
}
