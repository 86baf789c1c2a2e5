//! The environment variables `$SECUROSYS_SECRETS_KEY` and
//! `$SECUROSYS_SECRETS_CONF`. One test in its own binary, because the
//! environment is process-wide and other tests would see the changes.

use std::fs;

use secrets_cfg::{
    locate, EntryKind, Error, FileKey, KeySource, Secret, SecretsStore, SECRETS_CFG_ENV,
    SECRETS_KEY_ENV,
};

#[test]
fn environment_key_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let key_hex = "0f".repeat(32);

    // The file path comes from the environment unless one is given.
    std::env::set_var(SECRETS_CFG_ENV, &path);
    assert_eq!(locate(None), path);
    assert_eq!(
        locate(Some(dir.path().join("explicit.cfg").as_path())),
        dir.path().join("explicit.cfg")
    );

    // The key comes from the environment before any key file, and is never written.
    std::env::set_var(SECRETS_KEY_ENV, &key_hex);
    let store = SecretsStore::open(locate(None), KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "U", Secret::new(b"s".to_vec())))
        .unwrap();
    assert!(!dir.path().join(".secrets.cfg.key").exists());
    let by_caller =
        SecretsStore::open(&path, KeySource::Key(FileKey::from_hex(&key_hex).unwrap())).unwrap();
    assert_eq!(
        by_caller.get(EntryKind::User, "U").unwrap(),
        Some(Secret::new(b"s".to_vec()))
    );

    // It cannot be rotated from here.
    let err = store.rotate_key(FileKey::generate().unwrap()).unwrap_err();
    assert!(matches!(err, Error::KeyNotRotatable { .. }), "{err}");
    assert!(err.to_string().contains("$SECUROSYS_SECRETS_KEY"), "{err}");

    // A malformed variable is an error that does not echo it.
    let before = fs::read(&path).unwrap();
    std::env::set_var(SECRETS_KEY_ENV, "not-a-key-value");
    let err = store.get(EntryKind::User, "U").unwrap_err();
    assert!(matches!(err, Error::BadKey { .. }), "{err}");
    assert!(
        err.to_string().contains("$SECUROSYS_SECRETS_KEY")
            && !err.to_string().contains("not-a-key-value"),
        "{err}"
    );
    assert!(store
        .edit(|tx| tx.put(EntryKind::User, "V", Secret::new(b"v".to_vec())))
        .is_err());
    assert_eq!(fs::read(&path).unwrap(), before);

    // Unset (or empty), the key file is used: there is none for this file.
    std::env::set_var(SECRETS_KEY_ENV, "");
    let err = store.get(EntryKind::User, "U").unwrap_err();
    assert!(matches!(err, Error::MissingKey { .. }), "{err}");
    std::env::remove_var(SECRETS_KEY_ENV);
    std::env::remove_var(SECRETS_CFG_ENV);
}
