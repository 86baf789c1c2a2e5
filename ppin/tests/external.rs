//! The external engine against real processes: our `ppin` binary (the
//! vendor's stand-in) over a real `hsm-sim`, and fake `ppin` scripts that
//! misbehave.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::{runtime, setup};
use ppin::{
    Engine, ExternalEngine, ExternalError, ExternalTimeouts, Ppin, PpinError, PpinErrorKind,
    SetupCredentials, TestFilter,
};
use secrets_cfg::Password;

fn credentials(s: &common::Setup, user: &str) -> SetupCredentials {
    SetupCredentials {
        setup_password: Password::new(s.setup_password(user)),
        pkcs11_password: Password::new(s.pkcs11_password(user)),
    }
}

/// A wrapper around our `ppin` that logs each run's start and end, so the
/// test can see whether editing runs overlapped.
fn recording_wrapper(dir: &Path) -> (PathBuf, PathBuf) {
    let log = dir.join("runs.log");
    let wrapper = dir.join("ppin-wrapper.sh");
    let script = format!(
        "#!/bin/sh\necho \"start $$ $*\" >> '{log}'\n'{ppin}' \"$@\"\nrc=$?\necho \"end $$ $*\" >> '{log}'\nexit $rc\n",
        log = log.display(),
        ppin = env!("CARGO_BIN_EXE_ppin"),
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    (wrapper, log)
}

fn is_edit(line: &str) -> bool {
    ["-a ", "-u ", "-r ", "-p ", "-x "]
        .iter()
        .any(|flag| line.contains(flag))
}

#[test]
fn lifecycle_through_our_ppin() {
    let s = setup(2);
    let engine = ExternalEngine::new(
        env!("CARGO_BIN_EXE_ppin"),
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    );
    runtime().block_on(async {
        let listing = engine.list().await.unwrap();
        assert_eq!(listing.users.len(), 3);
        assert!(listing.users.iter().all(|u| !u.configured));

        let added = engine
            .add("U0001", &credentials(&s, "U0001"))
            .await
            .unwrap();
        assert_eq!((added.user.as_str(), added.slot_id), ("U0001", 0));
        let issued = s.sim.admin().current_secret("U0001").unwrap();
        assert!(s.stored_secret("U0001") == issued);
        assert!(engine.list().await.unwrap().users[0].configured);

        // Our ppin's --test report, read by the parser that reads the vendor's.
        let report = engine.test(&TestFilter::user("U0001")).await.unwrap();
        assert_eq!(
            (report.tested_hsms(), report.partitions(), report.failures()),
            (1, 1, 0)
        );
        let hsm = &report.hsms[0];
        assert_eq!((hsm.hsm.as_str(), hsm.host.as_str()), ("hsm0", "127.0.0.1"));
        assert!(hsm.firmware.as_ref().unwrap().starts_with("hsm-sim "));
        let served = hsm.slots[0].outcome.as_ref().unwrap();
        assert_eq!(served.user, "U0001");
        assert_eq!(served.hsm.as_deref(), Some("hsm0"));
        assert_eq!(report.config_file, s.primus_cfg.display().to_string());
        // A user without a secret: the tool's line says why, and names the vendor's state.
        let missing = engine.test(&TestFilter::user("U0002")).await.unwrap();
        let failed = missing.slots_of("U0002").next().unwrap();
        let error = failed.outcome.as_ref().unwrap_err();
        assert!(
            error
                .to_string()
                .contains("has no permanent secret (MISSING)"),
            "{error}"
        );
        assert_eq!(missing.failures(), 1);
        // The door's login answers NotConfigured from the listing, with no test run.
        assert!(matches!(
            ppin::Ppin::with_engine(std::sync::Arc::new(ExternalEngine::new(
                env!("CARGO_BIN_EXE_ppin"),
                Some(s.primus_cfg.clone()),
                Some(s.secrets_cfg.clone()),
            )))
            .login("U0002")
            .await,
            Err(PpinError::NotConfigured { .. })
        ));

        engine
            .update("U0001", &credentials(&s, "U0001"))
            .await
            .unwrap();
        let wrong = SetupCredentials {
            setup_password: Password::new("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA".to_owned()),
            pkcs11_password: Password::new(s.pkcs11_password("U0001")),
        };
        let failed = engine.update("U0001", &wrong).await.unwrap_err();
        assert_eq!(failed.kind(), PpinErrorKind::UpdateFailed, "{failed}");
        let PpinError::UpdateFailed { cause, .. } = &failed else {
            unreachable!()
        };
        // The vendor code the tool printed maps to the built-in engine's kind.
        assert_eq!(cause.kind(), PpinErrorKind::BadSetupPassword, "{cause}");
        assert!(!failed.to_string().contains("AAAAA-AAAAA"));
        // The vendor removes the entry on a failed update.
        assert!(!engine.list().await.unwrap().users[0].configured);
        assert!(!engine.remove("U0001").await.unwrap());

        let proxy = Password::new(s.proxy_password("SERVICE_USER"));
        engine.proxy_add("SERVICE_USER", &proxy).await.unwrap();
        assert!(engine.list().await.unwrap().proxies[0].configured);
        assert!(engine.proxy_remove("SERVICE_USER").await.unwrap());
        assert!(!engine.proxy_remove("SERVICE_USER").await.unwrap());

        engine
            .add("U0002", &credentials(&s, "U0002"))
            .await
            .unwrap();
        assert!(engine.remove("U0002").await.unwrap());
        assert_eq!(s.stored_secret("U0002"), None);
    });
}

#[test]
fn concurrent_edits_never_overlap_and_passwords_stay_off_the_command_line() {
    let s = setup(20);
    let (wrapper, log) = recording_wrapper(s.dir.path());
    let engine = Arc::new(ExternalEngine::new(
        &wrapper,
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    ));
    let users: Vec<String> = (1..=20).map(|i| format!("U{i:04}")).collect();
    let passwords: Vec<String> = users
        .iter()
        .flat_map(|u| [s.setup_password(u), s.pkcs11_password(u)])
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = Arc::clone(&stop);
        let passwords = passwords.clone();
        std::thread::spawn(move || {
            let mut looked = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && looked < 100_000 {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                        let text = String::from_utf8_lossy(&cmdline);
                        assert!(
                            !passwords.iter().any(|p| text.contains(p.as_str())),
                            "a password is on a command line"
                        );
                        looked += 1;
                    }
                }
            }
            looked
        })
    };
    runtime().block_on(async {
        let mut tasks = Vec::new();
        for user in &users {
            let engine = Arc::clone(&engine);
            let credentials = credentials(&s, user);
            let user = user.clone();
            tasks.push(tokio::spawn(async move {
                engine.add(&user, &credentials).await.map(drop)?;
                engine.list().await.map(drop)
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    });
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(watcher.join().unwrap() > 0, "no command line was read");
    let log = std::fs::read_to_string(&log).unwrap();
    let (mut edits, mut reads, mut edit_runs) = (0, 0, 0);
    for line in log.lines() {
        let edit = is_edit(line);
        match (line.starts_with("start"), edit) {
            (true, true) => {
                assert!(
                    edits == 0 && reads == 0,
                    "an edit overlapped another run:\n{log}"
                );
                edits += 1;
                edit_runs += 1;
            }
            (true, false) => {
                assert_eq!(edits, 0, "a listing overlapped an edit:\n{log}");
                reads += 1;
            }
            (false, true) => edits -= 1,
            (false, false) => reads -= 1,
        }
    }
    assert_eq!(edit_runs, 20);
    for user in &users {
        assert!(s.stored_secret(user).is_some(), "{user} has no secret");
    }
}

/// Runs `script` (a fake ppin) for `operation` and returns the error and how
/// many times the script ran.
fn fake_run(script: &str, operation: FakeOperation) -> (PpinError, usize) {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    std::env::set_var("FAKE_RUNS", &runs);
    // The tool gets only the documented environment and what this names.
    std::env::set_var("PRIMUS_PPIN_ENV", "FAKE_RUNS");
    let program = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fake")
        .join(script);
    let engine = ExternalEngine::new(program, None, Some(dir.path().join(".secrets.cfg")))
        .with_timeouts(ExternalTimeouts::new(
            Duration::from_secs(2),
            Duration::from_secs(4),
            Duration::from_secs(5),
        ));
    let password = Password::new("proxy-password-not-to-show".to_owned());
    let error = runtime().block_on(async {
        match operation {
            FakeOperation::List => engine.list().await.map(drop),
            FakeOperation::ProxyAdd => engine.proxy_add("SVC", &password).await,
        }
    });
    let error = error.unwrap_err();
    assert!(!error.to_string().contains("proxy-password-not-to-show"));
    let count = std::fs::read_to_string(&runs)
        .unwrap_or_default()
        .lines()
        .count();
    (error, count)
}

#[test]
fn a_refresh_of_many_costs_one_listing_and_an_add_leaves_its_own() {
    let s = setup(2);
    let (wrapper, log) = recording_wrapper(s.dir.path());
    let engine = Arc::new(ExternalEngine::new(
        &wrapper,
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    ));
    let listings = |log: &Path| {
        std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("start") && l.ends_with(" -l"))
            .count()
    };
    runtime().block_on(async {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let engine = Arc::clone(&engine);
                tokio::spawn(async move { engine.list().await.map(drop) })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        assert_eq!(listings(&log), 1, "ten concurrent reads, one ppin -l");
        engine
            .add("U0001", &credentials(&s, "U0001"))
            .await
            .unwrap();
        assert!(engine.list().await.unwrap().users[0].configured);
        assert_eq!(
            listings(&log),
            1,
            "the add's own status lines are the listing now"
        );
        assert!(engine.remove("U0001").await.unwrap());
        assert!(!engine.list().await.unwrap().users[0].configured);
        assert_eq!(
            listings(&log),
            2,
            "a remove prints only its user's lines: the listing is made again"
        );
    });
}

/// What Terraform's apply of 20 new resources does at `-parallelism=10`:
/// ten creates at a time, each asking whether the entry is there already,
/// then adding it; the eleventh starts when one ends, after an add. Every
/// add prints all users' lines, which become the shared listing: one
/// `ppin -l` serves the whole run (before, each create started after an add
/// ran its own: 12 runs). The reuse window is long here so that how fast
/// the machine is cannot add a run.
#[test]
fn twenty_creates_ten_at_a_time_cost_one_listing() {
    let s = setup(20);
    let (wrapper, log) = recording_wrapper(s.dir.path());
    let engine = ExternalEngine::new(
        &wrapper,
        Some(s.primus_cfg.clone()),
        Some(s.secrets_cfg.clone()),
    )
    .with_timeouts(ExternalTimeouts::new(
        Duration::from_secs(15),
        Duration::from_secs(60),
        Duration::from_secs(600),
    ));
    let ppin = Arc::new(Ppin::with_engine(Arc::new(engine)));
    let parallelism = Arc::new(tokio::sync::Semaphore::new(10));
    runtime().block_on(async {
        let tasks: Vec<_> = (1..=20)
            .map(|i| {
                let user = format!("U{i:04}");
                let credentials = credentials(&s, &user);
                let ppin = Arc::clone(&ppin);
                let parallelism = Arc::clone(&parallelism);
                tokio::spawn(async move {
                    let _slot = parallelism.acquire().await.unwrap();
                    assert!(!ppin.verify_stored(&user).await?);
                    ppin.add(&user, &credentials).await.map(drop)
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let listing = ppin.list().await.unwrap();
        let configured = listing.users.iter().filter(|u| u.configured).count();
        assert_eq!(configured, 20, "{listing:?}");
    });
    let log = std::fs::read_to_string(&log).unwrap();
    let count = |flag: &str| {
        log.lines()
            .filter(|l| l.starts_with("start") && l.contains(flag))
            .count()
    };
    assert_eq!(count(" -a "), 20, "{log}");
    assert_eq!(count(" -l"), 1, "one ppin -l for 20 creates:\n{log}");
}

#[test]
fn a_cancelled_engine_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake/vendor-code.sh");
    let cancel = tokio_util::sync::CancellationToken::new();
    cancel.cancel();
    let engine = ExternalEngine::new(program, None, Some(dir.path().join(".secrets.cfg")))
        .with_cancel(cancel);
    let password = Password::new("proxy-password-not-to-show".to_owned());
    let error = runtime()
        .block_on(engine.proxy_add("SVC", &password))
        .unwrap_err();
    assert!(
        matches!(error, PpinError::External(ExternalError::Cancelled { .. })),
        "{error}"
    );
    assert_eq!(error.kind(), PpinErrorKind::Cancelled);
    assert!(!runs.exists(), "the tool was started");
}

#[derive(Clone, Copy)]
enum FakeOperation {
    List,
    ProxyAdd,
}

#[test]
fn misbehaving_tools_give_one_clear_error_each() {
    let (error, runs) = fake_run("unexpected-output.sh", FakeOperation::List);
    assert!(
        matches!(error, PpinError::External(ExternalError::Unexpected { .. })),
        "{error}"
    );
    assert_eq!(error.kind(), PpinErrorKind::ExternalOutput);
    assert!(
        error.to_string().contains("hello, this is not ppin"),
        "{error}"
    );
    assert_eq!(runs, 1);

    let (error, runs) = fake_run("no-prompt.sh", FakeOperation::ProxyAdd);
    assert!(
        matches!(error, PpinError::External(ExternalError::NoPrompt { .. })),
        "{error}"
    );
    assert_eq!(error.kind(), PpinErrorKind::ExternalTimeout);
    assert!(error
        .to_string()
        .contains("Provide proxy password for 'SVC' : "));
    assert_eq!(runs, 1);

    let (error, runs) = fake_run("hang-after-password.sh", FakeOperation::ProxyAdd);
    assert!(
        matches!(error, PpinError::External(ExternalError::Hung { .. })),
        "{error}"
    );
    assert_eq!(error.kind(), PpinErrorKind::ExternalTimeout);
    assert_eq!(runs, 1);

    let (error, runs) = fake_run("vendor-code.sh", FakeOperation::List);
    assert!(
        matches!(error, PpinError::External(ExternalError::Failed { .. })),
        "{error}"
    );
    assert_eq!(
        error.vendor_code(),
        Some(ppin::VendorCode::BAD_SETUP_PASSWORD)
    );
    assert_eq!(error.kind(), PpinErrorKind::BadSetupPassword);
    assert!(error.to_string().contains("0x80005017"), "{error}");
    assert_eq!(runs, 1);
}

#[test]
fn a_tool_killed_for_its_timeout_takes_its_whole_process_group_with_it() {
    let (error, runs) = fake_run("leaves-grandchild.sh", FakeOperation::ProxyAdd);
    assert_eq!(runs, 1);
    assert!(
        matches!(error, PpinError::External(ExternalError::NoPrompt { .. })),
        "{error}"
    );
    let PpinError::External(external) = &error else {
        unreachable!()
    };
    let pid = external
        .output()
        .iter()
        .find_map(|line| line.strip_prefix("grandchild "))
        .expect("the fake printed its grandchild's PID")
        .to_owned();
    // Killed processes may stay zombies until their new parent reaps them:
    // only a live one fails the test. Bounded: 100 looks, 50 ms apart.
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|rest| !rest.starts_with('Z'))
        })
    };
    for _ in 0..100 {
        if !alive() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the grandchild {pid} that ignores SIGHUP outlived the killed tool");
}
