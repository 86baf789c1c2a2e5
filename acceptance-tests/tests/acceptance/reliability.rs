//! Local problems never spend an HSM trial: a `.secrets.cfg` that cannot be
//! written (missing directory, missing key, immutable file, a FIFO, a key
//! open to other users) is refused before any connection, with a warning
//! already at plan; Ctrl-C stops an apply that is still connecting.
//!
//! Pre-flight and permissions are the provider's own behaviour, the same on
//! every Terraform, so those tests run on the current release only; Ctrl-C
//! goes through each release's own signal handling and StopProvider, so it
//! runs on both.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use acceptance_tests::{unwrap_lines, Fixture, Terraform};
use hsm_sim::harness::SilentHsm;
use hsm_sim::SimConfig;

/// The release the version-independent tests run on.
const CURRENT: Terraform = Terraform::V1_15_5;

/// Generous bound for one terraform run that must not hang; a hang (the
/// FIFO case before the fix) is for ever, so any bound tells them apart.
const NO_HANG: Duration = Duration::from_secs(60);

/// Sets the immutable attribute on a path until dropped; root obeys it.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Self {
        let status = Command::new("chattr").arg("+i").arg(path).status().unwrap();
        assert!(status.success(), "chattr +i {} failed", path.display());
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// The default key file of the fixture's `.secrets.cfg`.
fn key_file(f: &Fixture) -> PathBuf {
    let mut name = f.secrets_cfg().as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `terraform plan ARGS`, which must succeed; everything it said as one line.
fn plan_says(f: &Fixture, args: &[&str]) -> String {
    let mut all = vec!["plan", "-no-color", "-input=false"];
    all.extend_from_slice(args);
    let out = f.terraform(&all);
    assert_eq!(
        out.code, 0,
        "plan must succeed:\n{}\n{}",
        out.stdout, out.stderr
    );
    unwrap_lines(&format!("{}\n{}", out.stdout, out.stderr))
}

/// `terraform apply ARGS`, which must fail; its error output as one line.
fn apply_fails(f: &Fixture, args: &[&str]) -> String {
    let mut all = vec!["apply", "-no-color", "-input=false", "-auto-approve"];
    all.extend_from_slice(args);
    let out = f.terraform(&all);
    assert_ne!(out.code, 0, "apply must fail:\n{}", out.stdout);
    unwrap_lines(&out.stderr)
}

#[test]
fn local_problems_are_warned_at_plan_and_refused_before_any_hsm_contact() {
    let f = Fixture::new(CURRENT, SimConfig::generated(2));
    let absent = f.sim.paths().dir.join("absent").join(".secrets.cfg");
    let one = f.permanent_secret("one", "U0001", "");
    let two = f.permanent_secret("two", "U0002", "");

    // A secrets_file whose directory does not exist.
    f.write(&format!(
        "provider \"primus\" {{\n  secrets_file = {:?}\n}}\n{one}",
        absent.display().to_string()
    ));
    f.ws.init().unwrap();
    let before = f.contacts();
    let plan = plan_says(&f, &[]);
    assert!(plan.contains("Warning: Cannot Use .secrets.cfg"), "{plan}");
    assert!(plan.contains("0x80005004"), "{plan}");
    assert!(plan.contains("before contacting the HSM"), "{plan}");
    let error = apply_fails(&f, &[]);
    assert!(error.contains("Error: Cannot Use .secrets.cfg"), "{error}");
    assert!(error.contains("0x80005004"), "{error}");
    assert!(
        error.contains("secrets_file"),
        "the provider's own words: {error}"
    );
    assert_eq!(f.contacts(), before, "a missing directory reached the HSM");

    // The default file: the first apply works and creates file and key 0640.
    f.write(&format!("provider \"primus\" {{}}\n{one}"));
    let plan = plan_says(&f, &[]);
    assert!(!plan.contains("Warning"), "{plan}");
    f.apply();
    f.assert_onboarded("U0001");
    assert_eq!(mode(f.secrets_cfg()), 0o640);
    assert_eq!(mode(&key_file(&f)), 0o640);
    let stored = f.stored_secret("U0001");

    // A key file gone for an existing .secrets.cfg: without a refresh (which would fail on U0001's entry).
    f.write(&format!("provider \"primus\" {{}}\n{one}{two}"));
    let hidden = f.sim.paths().dir.join("key.away");
    std::fs::rename(key_file(&f), &hidden).unwrap();
    let before = f.contacts();
    let plan = plan_says(&f, &["-refresh=false"]);
    assert!(plan.contains("Warning: Cannot Use .secrets.cfg"), "{plan}");
    let error = apply_fails(&f, &["-refresh=false"]);
    assert!(error.contains("key"), "{error}");
    assert_eq!(f.contacts(), before, "a missing key reached the HSM");
    std::fs::rename(&hidden, key_file(&f)).unwrap();

    // An immutable .secrets.cfg: a create, then a rotation of the working entry.
    let guard = Immutable::set(f.secrets_cfg());
    let plan = plan_says(&f, &[]);
    assert!(plan.contains("Warning: Cannot Use .secrets.cfg"), "{plan}");
    assert!(plan.contains("0x80005007"), "{plan}");
    let error = apply_fails(&f, &[]);
    assert!(error.contains("0x80005007"), "{error}");
    assert_eq!(f.contacts(), before, "an unwritable file reached the HSM");

    let rotated = f.permanent_secret("one", "U0001", "password_wo_version = 2");
    f.write(&format!("provider \"primus\" {{}}\n{rotated}"));
    let plan = plan_says(&f, &[]);
    assert!(plan.contains("Warning: Cannot Use .secrets.cfg"), "{plan}");
    let error = apply_fails(&f, &[]);
    assert!(error.contains("0x80005007"), "{error}");
    assert_eq!(f.contacts(), before, "the rotation reached the HSM");
    drop(guard);
    assert!(f.stored_secret("U0001") == stored, "the entry is unchanged");
    let login = f.ppin(&["-t", "--user", "U0001"]);
    assert!(
        login.status.success(),
        "the old entry still logs in: {}",
        String::from_utf8_lossy(&login.stdout)
    );

    // Writable again: the rotation and the create go through, with no warning left.
    f.write(&format!("provider \"primus\" {{}}\n{rotated}{two}"));
    let plan = plan_says(&f, &[]);
    assert!(!plan.contains("Warning"), "{plan}");
    f.apply();
    f.assert_onboarded("U0001");
    f.assert_onboarded("U0002");
    assert!(f.stored_secret("U0001") != stored, "rotated");
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {} failed", path.display());
}

#[test]
fn a_fifo_as_the_file_or_the_key_is_a_clear_error_not_a_hang() {
    let f = Fixture::new(CURRENT, SimConfig::generated(1));
    f.write(&format!(
        "provider \"primus\" {{}}\n{}",
        f.permanent_secret("one", "U0001", "")
    ));
    f.ws.init().unwrap();
    let before = f.contacts();
    for fifo in [f.secrets_cfg().to_path_buf(), key_file(&f)] {
        mkfifo(&fifo);
        let run = f.start(&["apply", "-no-color", "-input=false", "-auto-approve"]);
        let Some((out, took)) = run.wait(NO_HANG) else {
            panic!("terraform apply hung on the FIFO {}", fifo.display());
        };
        assert_ne!(out.code, 0, "{}", out.stdout);
        let error = unwrap_lines(&out.stderr);
        assert!(error.contains("not a regular file"), "{error}");
        assert!(error.contains(&fifo.display().to_string()), "{error}");
        eprintln!("FIFO {}: apply failed after {took:?}", fifo.display());
        std::fs::remove_file(&fifo).unwrap();
    }
    assert_eq!(f.contacts(), before, "a FIFO reached the HSM");
}

#[test]
fn a_key_file_open_to_other_users_is_refused_with_the_chmod_to_run() {
    let f = Fixture::new(CURRENT, SimConfig::generated(2));
    let one = f.permanent_secret("one", "U0001", "");
    let two = f.permanent_secret("two", "U0002", "");
    f.write(&format!("provider \"primus\" {{}}\n{one}"));
    f.ws.init().unwrap();
    f.apply();
    let key = key_file(&f);
    assert_eq!(mode(&key), 0o640, "a new key file is made 0640");

    f.write(&format!("provider \"primus\" {{}}\n{one}{two}"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = f.contacts();
    let error = apply_fails(&f, &[]);
    assert!(error.contains(&key.display().to_string()), "{error}");
    assert!(error.contains("chmod"), "{error}");
    assert_eq!(f.contacts(), before, "an open key file reached the HSM");
    assert_eq!(f.stored_secret("U0002"), None);

    // The group may read it (the primus group).
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    f.apply();
    f.assert_onboarded("U0002");
}

/// Ctrl-C while the provider waits for an HSM that accepts the connection
/// and never answers (connect limit 60 s): Terraform sends StopProvider,
/// the create that has sent no credential stops, Terraform exits.
fn ctrl_c_stops_an_apply_that_is_still_connecting(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    let silent = SilentHsm::start().unwrap();
    f.write_behind(&silent, "U0001");
    f.ws.init().unwrap();

    let mut run = f.start(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert!(
        run.wait_for_output("Creating...", NO_HANG),
        "the create never started: {}",
        run.stdout()
    );
    // The create is now in its TLS handshake with the silent HSM.
    std::thread::sleep(Duration::from_millis(500));
    let interrupted = std::time::Instant::now();
    run.interrupt();
    let Some((out, _)) = run.wait(NO_HANG) else {
        panic!("terraform did not exit after Ctrl-C");
    };
    let took = interrupted.elapsed();
    eprintln!("{tf:?}: terraform exited {took:?} after SIGINT");
    // Far below the 60 s connect limit: the stop cancelled the connect, it did not wait it out.
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after SIGINT"
    );
    assert_ne!(out.code, 0);
    let error = unwrap_lines(&out.stderr);
    assert!(
        error.contains("Operation Cancelled"),
        "{error}\n{}",
        out.stdout
    );
    assert!(!f.secrets_cfg().exists(), "nothing was written");
}

acceptance_tests::on_every_terraform!(ctrl_c_stops_an_apply_that_is_still_connecting);
