//! The `secrets-cfg` tool, run as a real process on real files: exit codes,
//! the tampered entry named, no value ever printed, `--json` parsing, a
//! rotation refused by an immutable file, and rotations SIGKILLed at random
//! instants.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use secrets_cfg::{EntryKind, KeySource, Secret, SecretsStore};

mod support;
use support::Immutable;

const BIN: &str = env!("CARGO_BIN_EXE_secrets-cfg");

/// The entries every fixture holds: (kind, name, plaintext).
const ENTRIES: [(EntryKind, &str, &str); 3] = [
    (EntryKind::User, "ALICE", "alice-permanent-secret"),
    (EntryKind::User, "BOB", "bob-permanent-secret"),
    (EntryKind::ServiceProxy, "SVC", "svc-proxy-password"),
];

struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".secrets.cfg");
        let store = SecretsStore::open(&path, KeySource::Default).unwrap();
        store
            .edit(|tx| {
                for (kind, name, plain) in ENTRIES {
                    tx.put(kind, name, Secret::new(plain.as_bytes().to_vec()))?;
                }
                Ok(())
            })
            .unwrap();
        Self { dir, path }
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join(".secrets.cfg.key")
    }

    /// Every string that must never appear in output: plaintexts, their hex,
    /// the sealed values and the key.
    fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (_, _, plain) in ENTRIES {
            out.push(plain.to_owned());
            out.push(hex(plain.as_bytes()));
        }
        let text = std::fs::read_to_string(&self.path).unwrap();
        for line in text.lines() {
            if let Some((_, value)) = line.split_once("= \"v1:") {
                // The ciphertext part of `v1:nonce:ciphertext`.
                let sealed = value.trim_end_matches("\";");
                out.push(sealed.rsplit(':').next().unwrap().to_owned());
            }
        }
        out.push(
            std::fs::read_to_string(self.key_file())
                .unwrap()
                .trim()
                .to_owned(),
        );
        assert!(out.len() > 2 * ENTRIES.len() + 1, "sealed values found");
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the tool with a clean environment for its variables.
fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("SECUROSYS_SECRETS_CONF")
        .env_remove("SECUROSYS_SECRETS_KEY")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(out)))
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `rotate-key --json`, which must succeed.
fn rotate_json(path: &Path, new_key: &Path) -> serde_json::Value {
    let out = run(&[
        "--json",
        "rotate-key",
        s(path),
        "--new-key-file",
        s(new_key),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    json(&out)
}

/// Every fixture entry decrypts under `key_file` to its original value.
fn assert_entries_open(path: &Path, key_file: &Path) {
    let store = SecretsStore::open(path, KeySource::KeyFile(key_file.to_path_buf())).unwrap();
    for (kind, name, plain) in ENTRIES {
        let got = store.get(kind, name).unwrap().unwrap();
        assert!(got.expose_secret() == plain.as_bytes(), "{name} changed");
    }
}

/// Where the sealed value of `name` sits in the file's text.
fn value_range(text: &str, name: &str) -> std::ops::Range<usize> {
    let at = text.find(&format!("name = \"{name}\"")).unwrap();
    let value = at + text[at..].find("\"v1:").unwrap() + 1;
    value..value + text[value..].find('"').unwrap()
}

/// Replaces the sealed value of `name` with what `change` makes of it.
fn rewrite_value(path: &Path, name: &str, change: impl FnOnce(&str) -> String) {
    let mut text = std::fs::read_to_string(path).unwrap();
    let range = value_range(&text, name);
    let new = change(&text[range.clone()]);
    text.replace_range(range, &new);
    std::fs::write(path, text).unwrap();
}

/// Flips one hex digit inside the ciphertext of `name`'s value.
fn tamper(path: &Path, name: &str) {
    rewrite_value(path, name, |sealed| {
        let mut flipped = sealed.to_owned();
        let digit = flipped.len() - 2;
        let new = if &flipped[digit..=digit] == "0" {
            "1"
        } else {
            "0"
        };
        flipped.replace_range(digit..=digit, new);
        flipped
    });
}

#[test]
fn check_good_file_exits_0() {
    let fx = Fixture::new();
    let out = run(&["check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("3 entries"), "{}", text(&out));
}

#[test]
fn check_names_the_one_tampered_entry_and_exits_1() {
    let fx = Fixture::new();
    let secrets = fx.secrets();
    tamper(&fx.path, "BOB");
    let out = run(&["check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("user `BOB`"), "{all}");
    assert!(all.contains("fails authentication"), "{all}");
    assert!(!all.contains("ALICE") && !all.contains("SVC"), "{all}");
    for secret in &secrets {
        assert!(
            !all.contains(secret.as_str()),
            "output leaks a value: {all}"
        );
    }

    let out = run(&["--json", "check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["ok"], false);
    assert_eq!(v["failures"].as_array().unwrap().len(), 1);
    assert_eq!(v["failures"][0]["kind"], "user");
    assert_eq!(v["failures"][0]["name"], "BOB");
}

#[test]
fn check_tells_a_damaged_file_from_an_unusable_setup() {
    let fx = Fixture::new();
    // No such file, wrong key: exit 3 (cannot check), with the tool's flags.
    let out = run(&["check", s(&fx.dir.path().join("missing.cfg"))]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("FILE argument"), "{}", text(&out));

    let other = fx.dir.path().join("other.key");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&["check", s(&fx.path), "--key-file", s(&other)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--key-file"), "{}", text(&out));
    assert!(!text(&out).contains(&"ab".repeat(32)));

    // A file that does not parse: exit 1 (damaged).
    std::fs::write(&fx.path, "primus: { users: ").unwrap();
    let out = run(&["check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Usage error: clap's 2.
    let out = run(&["check", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn file_defaults_to_the_environment_variable() {
    let fx = Fixture::new();
    let out = Command::new(BIN)
        .args(["--json", "list"])
        .env("SECUROSYS_SECRETS_CONF", &fx.path)
        .env_remove("SECUROSYS_SECRETS_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["file"], s(&fx.path));
}

#[test]
fn list_prints_names_and_kinds_never_values() {
    let fx = Fixture::new();
    let secrets = fx.secrets();
    let out = run(&["list", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = text(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "user\tALICE\tconfigured\nuser\tBOB\tconfigured\nservice_proxy\tSVC\tconfigured\n"
    );
    let out = run(&["--json", "list", s(&fx.path)]);
    let all = all + &text(&out);
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "list leaks a value: {all}");
    }
    let v = json(&out);
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ALICE", "BOB", "SVC"]);
    assert_eq!(v["entries"][2]["kind"], "service_proxy");
}

#[test]
fn rotate_key_re_encrypts_under_a_new_0640_key_file() {
    let fx = Fixture::new();
    let new_key = fx.dir.path().join("new.key");
    let v = rotate_json(&fx.path, &new_key);
    assert_eq!(
        (v["ok"].clone(), v["entries"].clone()),
        (true.into(), 3.into())
    );
    assert_eq!(v["already_rotated"], false);
    let mode = std::fs::metadata(&new_key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    // The new key opens every entry; the old one no longer does.
    let out = run(&["check", s(&fx.path), "--key-file", s(&new_key)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&["check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_entries_open(&fx.path, &new_key);

    // Run again (as after a kill right after the replace): nothing to do.
    assert_eq!(rotate_json(&fx.path, &new_key)["already_rotated"], true);
}

#[test]
fn check_names_every_bad_entry() {
    let fx = Fixture::new();
    tamper(&fx.path, "ALICE");
    tamper(&fx.path, "SVC");
    let out = run(&["--json", "check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    let bad: Vec<(&str, &str)> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["name"].as_str().unwrap()))
        .collect();
    assert_eq!(bad, [("user", "ALICE"), ("service_proxy", "SVC")]);

    // A value that is not even `scheme:nonce:ciphertext` is named too.
    rewrite_value(&fx.path, "BOB", |_| "v1:not-hex".to_owned());
    let out = run(&["check", s(&fx.path)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("3 of 3 entries"), "{}", text(&out));
    assert!(text(&out).contains("user `BOB`: "), "{}", text(&out));
}

#[test]
fn rotate_key_from_the_environment_key() {
    let fx = Fixture::new();
    let old = std::fs::read_to_string(fx.key_file()).unwrap();
    std::fs::remove_file(fx.key_file()).unwrap();
    let new_key = fx.dir.path().join("new.key");
    let out = Command::new(BIN)
        .args(["rotate-key", s(&fx.path), "--new-key-file", s(&new_key)])
        .env_remove("SECUROSYS_SECRETS_CONF")
        .env("SECUROSYS_SECRETS_KEY", old.trim())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains(old.trim()));
    let out = run(&["check", s(&fx.path), "--key-file", s(&new_key)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn rotate_key_to_the_key_in_use_is_refused() {
    let fx = Fixture::new();
    let before = std::fs::read(&fx.path).unwrap();
    let key = fx.key_file();
    let out = run(&["rotate-key", s(&fx.path), "--new-key-file", s(&key)]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("already ciphered under"),
        "{}",
        text(&out)
    );
    assert!(std::fs::read(&fx.path).unwrap() == before);
}

#[test]
fn rotate_key_on_an_unwritable_file_fails_clearly_and_changes_nothing() {
    let fx = Fixture::new();
    let before = std::fs::read(&fx.path).unwrap();
    let new_key = fx.dir.path().join("new.key");
    {
        let _guard = Immutable::set(&fx.path);
        let out = run(&["rotate-key", s(&fx.path), "--new-key-file", s(&new_key)]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        let all = text(&out);
        assert!(all.contains("no write access"), "{all}");
        assert!(all.contains(s(&fx.path)), "{all}");
        assert!(all.contains("old key still opens"), "{all}");
        let out = run(&[
            "--json",
            "rotate-key",
            s(&fx.path),
            "--new-key-file",
            s(&new_key),
        ]);
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(json(&out)["error"]["vendor_code"], "0x80005007");
    }
    assert!(
        !new_key.exists(),
        "no key file is made for a rotation that cannot happen"
    );
    assert!(std::fs::read(&fx.path).unwrap() == before);
    let out = run(&["check", s(&fx.path), "--key-file", s(&fx.key_file())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn completions_print_a_script() {
    let out = run(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rotate-key"));
    let out = run(&["--json", "completions", "zsh"]);
    assert_eq!(json(&out)["shell"], "zsh");
}

/// A small deterministic generator, so a failing run can be repeated from
/// its printed seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

#[test]
fn rotate_key_killed_at_random_instants_leaves_a_file_one_key_opens() {
    const ROUNDS: usize = 40;
    let fx = Fixture::new();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Lcg(seed);
    let mut current = fx.key_file();

    // How long one whole rotation takes here, to spread the kills over it.
    let calibrate = fx.dir.path().join("k-calibrate.key");
    let started = Instant::now();
    let out = run(&[
        "rotate-key",
        s(&fx.path),
        "--key-file",
        s(&current),
        "--new-key-file",
        s(&calibrate),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let whole = started.elapsed().as_micros() as u64;
    current = calibrate;

    let (mut finished, mut killed) = (0, 0);
    // Kills after the new key file was made and before the replace.
    let mut between = 0;
    for round in 0..ROUNDS {
        let new_key = fx.dir.path().join(format!("k{round}.key"));
        let mut child = Command::new(BIN)
            .args([
                "rotate-key",
                s(&fx.path),
                "--key-file",
                s(&current),
                "--new-key-file",
                s(&new_key),
            ])
            .env_remove("SECUROSYS_SECRETS_KEY")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(whole * 5 / 4)));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "seed {seed} round {round}: {status}");
                finished += 1;
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                killed += 1;
            }
        }
        // Old key or new key file: one of them opens every entry.
        let opens = |key: &Path| {
            key.exists()
                && run(&["check", s(&fx.path), "--key-file", s(key)])
                    .status
                    .success()
        };
        if opens(&new_key) {
            current = new_key;
        } else {
            between += usize::from(new_key.exists());
            assert!(
                opens(&current),
                "seed {seed} round {round}: neither key opens the file"
            );
        }
    }
    assert_entries_open(&fx.path, &current);
    println!(
        "{ROUNDS} rounds (seed {seed}): {killed} killed mid-run ({between} between the new key file and the replace), {finished} finished"
    );
}
