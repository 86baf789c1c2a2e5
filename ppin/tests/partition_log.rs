//! `ppin --fetchlog` and `ppin --fortinet`: the real `ppin` binary against a
//! real `hsm-sim` process, its output held against the grammar of the
//! vendor's documented samples (`tests/fixtures/vendor/`), and the external
//! engine reading both our binary and a replay of those samples.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{runtime, setup};
use ppin::{
    Engine, ExternalEngine, FortinetRequest, LogOrder, LogRequest, Ppin, PpinErrorKind,
    SetupCredentials, FORTINET_HEADER,
};
use secrets_cfg::{EntryKind, KeySource, Password, SecretsStore};

const FETCHLOG_SAMPLE: &str = include_str!("fixtures/vendor/fetchlog.txt");
const FORTINET_SAMPLE: &str = include_str!("fixtures/vendor/fortinet.txt");

fn today() -> String {
    let now = time::OffsetDateTime::now_utc().date();
    format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// The sample's grammar, said once for our output and the sample: three
/// header lines, then log lines `YYYY Mon DD HH:MM:SS UTC HOST SEVERITY ...`.
fn assert_fetchlog_grammar(text: &str, since: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("Dump log starting from {since} 00:00 UTC")
    );
    assert_eq!(lines[1], "Fetching log from HSM.");
    assert_eq!(lines[2], "Number of slots: 1");
    for line in &lines[3..] {
        assert_log_line(line);
    }
}

fn assert_log_line(line: &str) {
    let words: Vec<&str> = line.split(' ').collect();
    // The day is padded with a blank: "Apr  1" splits into an empty word.
    let (stamp, rest) = if words[2].is_empty() {
        (&words[..6], &words[6..])
    } else {
        (&words[..5], &words[5..])
    };
    assert!(
        stamp[0].len() == 4 && stamp[0].bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    assert!(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            .contains(&stamp[1]),
        "{line}"
    );
    assert_eq!(stamp[stamp.len() - 1], "UTC", "{line}");
    assert_eq!(stamp[stamp.len() - 2].len(), 8, "{line}");
    assert!(rest.len() >= 3, "host, severity and text: {line}");
    assert!(
        ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"].contains(&rest[1]),
        "{line}"
    );
}

/// The sample without the page's `...` elision line.
fn sample_as_printed() -> String {
    FETCHLOG_SAMPLE
        .lines()
        .filter(|l| *l != "...")
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_vendor_sample_follows_the_grammar_we_hold_our_output_to() {
    assert_fetchlog_grammar(&sample_as_printed(), "2021-04-01");
    let fortinet: Vec<&str> = FORTINET_SAMPLE.lines().collect();
    assert_eq!(fortinet[0], FORTINET_HEADER);
    let base64 = |line: &str| {
        line.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
    };
    assert!(base64(fortinet[1]) && base64(fortinet[3]));
}

#[test]
fn fetchlog_dumps_the_partition_log_of_the_hsm() {
    let s = setup(1);
    s.add("U0001").ok();
    let since = today();
    let run = s.ppin(&[
        "--fetchlog",
        "--user",
        "U0001",
        "--hsm",
        "hsm0",
        "--since",
        &since,
    ]);
    let out = run.ok();
    assert_fetchlog_grammar(out, &since);
    let setup_login = out
        .lines()
        .position(|l| l.contains("Login request: User: U0001 Client: ppin@-@127.0.0.1@- with setup password over TCP connection"))
        .unwrap_or_else(|| panic!("the add's login is logged:\n{out}"));
    let retrieved = out
        .lines()
        .position(|l| l.contains("User: U0001, Client: ppin@-@127.0.0.1@-, Protocol: pkcs11, Retrieved permanent login credentials"))
        .unwrap_or_else(|| panic!("the handed-out secret is logged:\n{out}"));
    assert!(setup_login < retrieved, "oldest first");
    for secret in [
        s.setup_password("U0001"),
        s.pkcs11_password("U0001"),
        s.stored_secret("U0001").unwrap(),
    ] {
        assert!(!out.contains(&secret), "no line holds a password or secret");
    }

    // --reverse: newest first; the host name works as --hsm.
    let host = "127.0.0.1";
    let reversed = s.ppin(&["--fetchlog", "--user", "U0001", "--hsm", host, "--reverse"]);
    let reversed = reversed.ok();
    assert_fetchlog_grammar(reversed, "1970-01-01");
    let lines: Vec<&str> = reversed.lines().skip(3).collect();
    let setup_at = lines
        .iter()
        .position(|l| l.contains("with setup password"))
        .unwrap();
    let retrieved_at = lines
        .iter()
        .position(|l| l.contains("Retrieved permanent login credentials"))
        .unwrap();
    assert!(retrieved_at < setup_at, "newest first:\n{reversed}");

    let unknown = s.ppin(&["--fetchlog", "--user", "U0001", "--hsm", "hsm9"]);
    assert!(
        unknown
            .failed()
            .contains("no HSM named or at 'hsm9' serves user 'U0001'")
            && unknown.stderr.contains("hsm0"),
        "{}",
        unknown.stderr
    );
    let json = s
        .ppin(&["--json", "--fetchlog", "--user", "U0001", "--hsm", "hsm0"])
        .json();
    assert_eq!(json["operation"], "fetch_log");
    assert_eq!(json["slots"], 1);
    assert!(json["lines"].as_array().unwrap().len() >= 4);
}

#[test]
fn fetchlog_out_writes_the_lines_to_the_file() {
    let s = setup(1);
    s.add("U0001").ok();
    let file = s.dir.path().join("partition.log");
    std::fs::write(&file, "old content\n").unwrap();
    let run = s.ppin(&[
        "--fetchlog",
        "--user",
        "U0001",
        "--hsm",
        "hsm0",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        run.ok(),
        "Dump log starting from 1970-01-01 00:00 UTC\nFetching log from HSM.\nNumber of slots: 1\n",
        "stdout has the header only"
    );
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(!written.contains("old content"));
    assert!(written.ends_with('\n'));
    for line in written.lines() {
        assert_log_line(line);
    }
    assert!(written.contains("with setup password"));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file left");
}

/// A fake vendor `ppin` that prints the documented `--fetchlog` sample.
fn replaying_fake(dir: &Path) -> PathBuf {
    let sample = dir.join("fetchlog-sample.txt");
    std::fs::write(&sample, sample_as_printed()).unwrap();
    let fake = dir.join("vendor-ppin.sh");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$*\" > '{}'\ncat '{}'\n",
            dir.join("args").display(),
            sample.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    fake
}

#[test]
fn the_external_engine_reads_the_vendor_sample_and_our_binary_alike() {
    let s = setup(1);
    s.add("U0001").ok();
    let rt = runtime();

    let fake = replaying_fake(s.dir.path());
    let vendor = Ppin::with_engine(Arc::new(ExternalEngine::new(
        &fake,
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    )));
    let request = LogRequest::new("U0001", "hsm0")
        .since(Some(time::macros::date!(2021 - 04 - 01)))
        .order(LogOrder::NewestFirst);
    let log = rt.block_on(vendor.fetch_log(&request)).unwrap();
    assert_eq!(log.since, Some(time::macros::date!(2021 - 04 - 01)));
    assert_eq!(log.slots, 1);
    assert_eq!(log.lines.len(), 7);
    assert!(
        log.lines[0].contains("Login request: User: DEMO-TEST")
            && log.lines[0].contains("with setup password")
    );
    let args = std::fs::read_to_string(s.dir.path().join("args")).unwrap();
    assert!(
        args.ends_with("--fetchlog --user U0001 --hsm hsm0 --reverse --since 2021-04-01\n"),
        "{args}"
    );
    // A typo in --hsm starts no run.
    std::fs::remove_file(s.dir.path().join("args")).unwrap();
    let refused = rt
        .block_on(vendor.fetch_log(&LogRequest::new("U0001", "hsm7")))
        .unwrap_err();
    assert_eq!(refused.kind(), PpinErrorKind::HsmNotInConfig);
    assert!(!s.dir.path().join("args").exists());

    let ours = Ppin::with_engine(Arc::new(ExternalEngine::new(
        env!("CARGO_BIN_EXE_ppin"),
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    )));
    let log = rt
        .block_on(ours.fetch_log(&LogRequest::new("U0001", "hsm0")))
        .unwrap();
    assert_eq!(log.slots, 1);
    assert!(log
        .lines
        .iter()
        .any(|l| l.contains("User: U0001") && l.contains("with setup password")));
}

/// The secrets configuration `--fortinet` printed, decoded into a file of
/// its own and opened with the host's file key.
fn decoded_copy(s: &common::Setup, stdout: &str) -> SecretsStore {
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some(FORTINET_HEADER));
    let encoded: String = lines.collect();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains("version = \"1.0\";"), "{text}");
    let path = s.dir.path().join("fortigate.secrets.cfg");
    std::fs::write(&path, bytes).unwrap();
    let key = PathBuf::from(format!("{}.key", s.secrets_cfg.display()));
    SecretsStore::open(path, KeySource::KeyFile(key)).unwrap()
}

#[test]
fn fortinet_prints_the_users_ciphered_entry_and_leaves_no_local_trace() {
    let s = setup(1);
    s.add("U0001").ok();
    let before = s.secrets_bytes().unwrap();
    let (setup_pw, pkcs11_pw) = (s.setup_password("U0001"), s.pkcs11_password("U0001"));
    let run = s.ppin(&["--fortinet", "--user", "U0001", &setup_pw, &pkcs11_pw]);
    let out = run.ok().to_owned();
    let copy = decoded_copy(&s, &out);
    let entries = copy.list().unwrap();
    assert_eq!(entries.len(), 1);
    let secret = copy
        .get(EntryKind::User, "U0001")
        .unwrap()
        .map(|v| hex::encode(v.expose_secret()));
    assert!(
        secret == s.stored_secret("U0001"),
        "the entry is the user's permanent secret"
    );
    let plain = s.stored_secret("U0001").unwrap();
    for secret in [&setup_pw, &pkcs11_pw, &plain] {
        assert!(!out.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
    }
    let decoded = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            out.lines().nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(!decoded.contains(&plain), "the entry is ciphered");
    assert_eq!(
        s.secrets_bytes().unwrap(),
        before,
        "the local .secrets.cfg is untouched"
    );

    // Prompted when not given (one line each on a pipe); a wrong setup password is the HSM's refusal.
    let prompted = s.ppin_with_input(
        &["--fortinet", "--user", "U0001"],
        &format!("{setup_pw}\n{pkcs11_pw}\n"),
    );
    assert!(prompted
        .stderr
        .contains("Provide setup password for 'U0001': "));
    assert!(prompted
        .stderr
        .contains("Provide PKCS11 password for 'U0001': "));
    decoded_copy(&s, prompted.ok());
}

#[test]
fn fortinet_behind_a_service_proxy_carries_the_proxy_entry() {
    let s = setup(1);
    let proxy_pw = s.proxy_password("SERVICE_USER");
    let (setup_pw, pkcs11_pw) = (
        s.setup_password("CLOUD_APP"),
        s.pkcs11_password("CLOUD_APP"),
    );
    // With no key file yet, the first seal makes the host's key file, as a first add would.
    let run = s.ppin(&[
        "--fortinet",
        "--user",
        "CLOUD_APP",
        &setup_pw,
        &pkcs11_pw,
        "--proxyuser",
        "SERVICE_USER",
        "--proxypassword",
        &proxy_pw,
    ]);
    let out = run.ok().to_owned();
    assert!(!out.contains(&proxy_pw));
    assert!(
        s.secrets_bytes().is_none(),
        "no local .secrets.cfg is written"
    );
    let copy = decoded_copy(&s, &out);
    let proxy = copy
        .get(EntryKind::ServiceProxy, "SERVICE_USER")
        .unwrap()
        .unwrap();
    assert!(proxy.expose_secret() == proxy_pw.as_bytes());
    assert!(copy.get(EntryKind::User, "CLOUD_APP").unwrap().is_some());
    let issued = s.sim.admin().current_secret("CLOUD_APP").unwrap().unwrap();
    let copied = hex::encode(
        copy.get(EntryKind::User, "CLOUD_APP")
            .unwrap()
            .unwrap()
            .expose_secret(),
    );
    assert!(copied == issued);

    // A proxy that is not the user's is refused before the HSM is asked.
    let requests = s.counters("CLOUD_APP").0;
    let wrong = s.ppin(&[
        "--fortinet",
        "--user",
        "CLOUD_APP",
        &setup_pw,
        &pkcs11_pw,
        "--proxyuser",
        "OTHER",
        "--proxypwd",
        "x",
    ]);
    assert!(
        wrong.failed().contains("service proxy user 'OTHER'"),
        "{}",
        wrong.stderr
    );
    assert_eq!(s.counters("CLOUD_APP").0, requests);
}

#[test]
fn the_external_engine_types_the_fortinet_passwords_at_the_prompts() {
    let s = setup(1);
    let rt = runtime();
    let engine = ExternalEngine::new(
        env!("CARGO_BIN_EXE_ppin"),
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    );
    let credentials = SetupCredentials::new(
        Password::new(s.setup_password("U0001")),
        Password::new(s.pkcs11_password("U0001")),
    );
    let encoded = rt
        .block_on(engine.fortinet_secret(&FortinetRequest::new("U0001", credentials, None)))
        .unwrap();
    let copy = decoded_copy(&s, &format!("{FORTINET_HEADER}\n{encoded}\n"));
    let issued = s.sim.admin().current_secret("U0001").unwrap().unwrap();
    assert!(
        hex::encode(
            copy.get(EntryKind::User, "U0001")
                .unwrap()
                .unwrap()
                .expose_secret()
        ) == issued
    );
}
