//! Hostile or broken files around the store: FIFOs in place of the secrets
//! file or the key file, key files other users can read, and the pre-flight
//! check that must catch a store that cannot be written before an HSM is
//! asked for a secret.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use secrets_cfg::{EntryKind, Error, KeySource, Secret, SecretsStore};

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
}

fn store_with_one_entry(dir: &Path) -> SecretsStore {
    let path = dir.join(".secrets.cfg");
    let key_file = dir.join(".secrets.cfg.key");
    let store = SecretsStore::open(&path, KeySource::KeyFile(key_file))
        .expect("open a store in a fresh directory");
    store
        .edit(|tx| tx.put(EntryKind::User, "PARTITION", Secret::new(b"s".to_vec())))
        .expect("store the first secret");
    store
}

#[test]
fn a_fifo_as_the_secrets_file_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    mkfifo(&path);
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    for result in [store.list().map(drop), store.check_writable()] {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
        assert!(err.to_string().contains("FIFO"), "{err}");
        assert!(err.to_string().contains(".secrets.cfg"), "{err}");
    }
}

#[test]
fn a_fifo_as_the_key_file_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let key_file = dir.path().join("fifo.key");
    mkfifo(&key_file);
    let store = SecretsStore::open(&path, KeySource::KeyFile(key_file.clone())).unwrap();
    let err = store
        .edit(|tx| tx.put(EntryKind::User, "U", Secret::new(b"s".to_vec())))
        .unwrap_err();
    assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
    assert!(store.check_writable().is_err());
    assert!(!path.exists(), "nothing may be written");
}

#[test]
fn a_key_file_others_can_read_is_refused_and_group_read_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_one_entry(dir.path());
    let key_file = dir.path().join(".secrets.cfg.key");
    assert_eq!(
        fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o640,
        "a new key file is 0640"
    );
    assert_eq!(
        fs::metadata(store.path()).unwrap().permissions().mode() & 0o777,
        0o640,
        "a new secrets file is 0640"
    );
    for mode in [0o644, 0o666, 0o602] {
        fs::set_permissions(&key_file, fs::Permissions::from_mode(mode)).unwrap();
        let err = store.get(EntryKind::User, "PARTITION").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::KeyFileTooOpen { .. }), "{text}");
        assert!(text.contains(&format!("{mode:04o}")), "{text}");
        assert!(
            text.contains(&format!("chmod 0640 {}", key_file.display())),
            "{text}"
        );
        assert!(store.check_writable().is_err());
    }
    fs::set_permissions(&key_file, fs::Permissions::from_mode(0o640)).unwrap();
    let secret = store.get(EntryKind::User, "PARTITION").unwrap().unwrap();
    assert!(secret == Secret::new(b"s".to_vec()));
    store.check_writable().unwrap();
}

#[test]
fn check_writable_reports_a_missing_directory_with_the_vendor_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join(".secrets.cfg");
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    let err = store.check_writable().unwrap_err();
    assert!(matches!(err, Error::DirectoryNotFound { .. }), "{err}");
    assert_eq!(err.vendor_code(), Some(0x8000_5004));
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn check_writable_reports_an_unwritable_directory_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_one_entry(dir.path());
    let before = fs::read(store.path()).unwrap();
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    store.check_writable().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let result = store.check_writable();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    if rustix::process::geteuid().is_root() {
        // Root may write any directory; the check rightly passes.
        result.unwrap();
    } else {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::NoWriteAccess { .. }), "{err}");
        assert_eq!(err.vendor_code(), Some(0x8000_5007));
    }
    assert_eq!(fs::read(store.path()).unwrap(), before);
    let mut after: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    names.sort();
    after.sort();
    assert_eq!(names, after, "the check created or removed a file");
}

#[test]
fn check_writable_accepts_a_new_file_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SecretsStore::open(dir.path().join(".secrets.cfg"), KeySource::Default).unwrap();
    store.check_writable().unwrap();
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}
