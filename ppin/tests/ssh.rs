//! The external engine over SSH: our `ppin` binary (the vendor's stand-in)
//! run on a "remote" host that is a real OpenSSH server on 127.0.0.1, over
//! a real `hsm-sim`.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::{runtime, setup};
use ppin::{
    Engine, ExternalEngine, ExternalError, HostPaths, PpinError, PpinErrorKind, Preflight, RunAs,
    SetupCredentials, SshTool,
};
use primus_ssh::testing::TestSshd;
use primus_ssh::{PoolLimits, SshPool};
use secrets_cfg::Password;

const WITHIN: Duration = Duration::from_secs(20);

/// An sshd whose sessions name the set-up's files the vendor's way, as a
/// host configured for the tool has them.
fn host_of(s: &common::Setup) -> TestSshd {
    host_with(&s.primus_cfg, &s.secrets_cfg)
}

/// An sshd whose sessions name these files the vendor's way.
fn host_with(primus_cfg: &Path, secrets_cfg: &Path) -> TestSshd {
    TestSshd::start_with_env(&[
        ("SECUROSYS_PKCS11_CONF", primus_cfg.to_str().unwrap()),
        ("SECUROSYS_SECRETS_CONF", secrets_cfg.to_str().unwrap()),
    ])
}

/// The tool on `sshd`, its files located there.
async fn tool_on(sshd: &TestSshd, pool: &SshPool) -> SshTool {
    let host = pool.host(&sshd.settings()).await.unwrap();
    SshTool::connect(
        host,
        format!("127.0.0.1:{}", sshd.port()),
        env!("CARGO_BIN_EXE_ppin"),
        HostPaths::default(),
        RunAs::SshUser,
        WITHIN,
    )
    .await
    .unwrap()
}

#[test]
fn add_list_and_remove_through_the_tool_on_an_ssh_host() {
    let s = setup(1);
    let sshd = host_of(&s);
    let setup_password = s.setup_password("U0001");
    let pkcs11_password = s.pkcs11_password("U0001");
    runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let tool = tool_on(&sshd, &pool).await;
        // Located on the host, from its session's environment.
        assert_eq!(tool.config_file(), s.primus_cfg);
        let engine = ExternalEngine::on_host(Arc::new(tool), None, None);
        assert_eq!(engine.secrets_file(), s.secrets_cfg);
        // primus.cfg was read on the host, over the connection.
        assert!(engine.config().unwrap().user("U0001").is_some());

        let before = engine.list().await.unwrap();
        assert!(before.users.iter().all(|u| !u.configured));

        let credentials = SetupCredentials::new(
            Password::new(setup_password.clone()),
            Password::new(pkcs11_password.clone()),
        );
        let served = engine.add("U0001", &credentials).await.unwrap();
        assert_eq!(served.user, "U0001");
        assert!(engine.verify_stored("U0001").await.unwrap());

        assert!(engine.remove("U0001").await.unwrap());
        assert!(!engine.verify_stored("U0001").await.unwrap());
    });
    // The passwords were typed at no-echo prompts: never in argv, and so
    // never in sshd's DEBUG3 log of the sessions.
    let log = sshd.log();
    assert!(
        log.contains("Accepted publickey"),
        "not this test's sshd log"
    );
    assert!(!log.contains(&setup_password));
    assert!(!log.contains(&pkcs11_password));
}

/// What refuses the host `app1` on `sshd` when `program` is its tool: a
/// [`ExternalError::HostNotReady`], its problem returned with the error.
fn host_not_ready(sshd: &TestSshd, program: &str) -> (String, ExternalError) {
    let error = runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let host = pool.host(&sshd.settings()).await.unwrap();
        SshTool::connect(
            host,
            "app1",
            program,
            HostPaths::default(),
            RunAs::SshUser,
            WITHIN,
        )
        .await
        .unwrap_err()
    });
    let ExternalError::HostNotReady { host, problem } = &error else {
        panic!("{error}");
    };
    assert_eq!(host, "app1");
    (problem.clone(), error)
}

#[test]
fn a_host_without_the_tool_is_refused_before_anything_runs() {
    let sshd = TestSshd::start();
    let (problem, error) = host_not_ready(&sshd, "/nonexistent/primus/bin/ppin");
    assert!(problem.contains("/nonexistent/primus/bin/ppin is not an executable file"));
    let kind = PpinError::External(error).kind();
    assert_eq!(kind, PpinErrorKind::RemoteHost);
}

#[test]
fn a_host_without_flock_is_refused_before_anything_runs() {
    // A PATH that holds a shell and no flock.
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/bin/sh", bin.path().join("sh")).unwrap();
    let sshd = TestSshd::start_with_env(&[("PATH", bin.path().to_str().unwrap())]);
    let (problem, _) = host_not_ready(&sshd, env!("CARGO_BIN_EXE_ppin"));
    assert_eq!(
        problem,
        "flock(1) is not installed on this host; install util-linux"
    );
}

#[test]
fn primus_cfg_is_replaced_durably_on_the_host_and_read_again() {
    let s = setup(2);
    let sshd = host_of(&s);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("primus.cfg");
    runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let tool = tool_on(&sshd, &pool).await;
        assert_eq!(tool.read_file(&path).await.unwrap(), None);
        let text = std::fs::read(&s.primus_cfg).unwrap();
        tool.replace_file(&path, &text, 0o640).await.unwrap();
        assert_eq!(
            tool.read_file(&path).await.unwrap().as_deref(),
            Some(&text[..])
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o640);
        // Only the file: no temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["primus.cfg"]);

        // An engine over another primus.cfg on the host sees the file once told it changed.
        let tool = SshTool::connect(
            pool.host(&sshd.settings()).await.unwrap(),
            "app1",
            env!("CARGO_BIN_EXE_ppin"),
            HostPaths {
                config_file: Some(path.to_str().unwrap()),
                secrets_file: None,
            },
            RunAs::SshUser,
            WITHIN,
        )
        .await
        .unwrap();
        let tool = Arc::new(tool);
        let engine = ExternalEngine::on_host(tool.clone(), Some(path.clone()), None);
        assert!(engine.config().unwrap().user("U0002").is_some());
        tool.remove_file(&path).await.unwrap();
        assert!(!path.exists());
        // Still the copy read before: this process is what changes the file.
        assert!(engine.config().is_ok());
        engine.reread_config().await.unwrap();
        let missing = engine.config().unwrap_err();
        assert_eq!(missing.kind(), PpinErrorKind::ConfigNotFound);
        assert!(
            missing.to_string().contains(path.to_str().unwrap()),
            "{missing}"
        );
    });
}

#[test]
fn files_that_the_hosts_primus_cfg_includes_are_read_on_the_host() {
    let s = setup(2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("primus.cfg");
    let included = dir.path().join("conf.d").join("hsms.cfg");
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::copy(&s.primus_cfg, &included).unwrap();
    std::fs::write(&path, "@include \"conf.d/hsms.cfg\"\n").unwrap();
    let sshd = host_with(&path, &s.secrets_cfg);
    runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let tool = Arc::new(tool_on(&sshd, &pool).await);
        let engine = ExternalEngine::on_host(tool.clone(), None, None);
        // The included file went with the first contact: gone from the
        // disk, the users it names are still known, and nothing runs.
        std::fs::remove_file(&included).unwrap();
        assert!(engine.config().unwrap().user("U0002").is_some());
        assert!(!engine.verify_stored("U0002").await.unwrap());
        // Read again, the host has no such file any more, and says which.
        engine.reread_config().await.unwrap();
        let error = engine.config().unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "cannot open include file `{}`",
                included.display()
            )),
            "{error}"
        );
    });
}

#[test]
fn a_secrets_file_that_cannot_take_a_secret_is_found_on_the_host_before_any_password() {
    let s = setup(1);
    let unwritable = tempfile::tempdir().unwrap();
    let secrets = unwritable.path().join("gone/.secrets.cfg");
    let sshd = TestSshd::start_with_env(&[
        ("SECUROSYS_PKCS11_CONF", s.primus_cfg.to_str().unwrap()),
        ("SECUROSYS_SECRETS_CONF", secrets.to_str().unwrap()),
    ]);
    let credentials = SetupCredentials::new(
        Password::new(s.setup_password("U0001")),
        Password::new(s.pkcs11_password("U0001")),
    );
    let (error, add_error) = runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let engine = ExternalEngine::on_host(Arc::new(tool_on(&sshd, &pool).await), None, None);
        let checked = engine
            .check_storable("U0001", ppin::Fetch::Add)
            .await
            .unwrap_err();
        // The add makes the same check before the tool asks for a password.
        let added = engine.add("U0001", &credentials).await.unwrap_err();
        (checked, added)
    });
    assert_eq!(add_error.to_string(), error.to_string());
    assert_eq!(error.kind(), PpinErrorKind::SecretsFile);
    let text = error.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", sshd.port())),
        "{text}"
    );
    assert!(text.contains("does not exist"), "{text}");
    assert!(text.contains("nothing was sent to the HSM"), "{text}");
    assert_eq!(
        s.sim.admin().status().unwrap().connections,
        0,
        "the HSM was contacted"
    );
}

#[test]
fn one_listing_of_a_host_serves_the_reads_until_an_edit() {
    let s = setup(2);
    let sshd = host_of(&s);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // Our ppin behind a script that notes each run's arguments.
    let counting = dir.path().join("ppin");
    std::fs::write(
        &counting,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            runs.display(),
            env!("CARGO_BIN_EXE_ppin")
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &counting,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let listings = || {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.ends_with("-l"))
            .count()
    };
    let reuse = ppin::ExternalTimeouts::new(
        Duration::from_secs(15),
        Duration::from_secs(60),
        Duration::from_secs(600),
    );
    runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let connect = || async {
            let tool = SshTool::connect(
                pool.host(&sshd.settings()).await.unwrap(),
                "app1",
                counting.to_str().unwrap(),
                HostPaths::default(),
                RunAs::SshUser,
                WITHIN,
            )
            .await
            .unwrap();
            ExternalEngine::on_host(Arc::new(tool), None, None).with_timeouts(reuse)
        };
        // A host without .secrets.cfg at first contact holds no entry: its
        // listing is known without running the tool, and is the tool's own.
        assert!(!s.secrets_cfg.exists());
        let fresh = connect().await;
        for user in ["U0001", "U0002", "U0001"] {
            assert!(!fresh.verify_stored(user).await.unwrap());
        }
        let known = fresh.list().await.unwrap();
        assert_eq!(listings(), 0, "a host with no .secrets.cfg ran ppin -l");
        let local = ExternalEngine::new(
            env!("CARGO_BIN_EXE_ppin"),
            Some(s.primus_cfg.clone()),
            Some(s.secrets_cfg.clone()),
        );
        assert_eq!(known, local.list().await.unwrap());

        // After this engine's own edits, the reads share one listing.
        let credentials = SetupCredentials::new(
            Password::new(s.setup_password("U0001")),
            Password::new(s.pkcs11_password("U0001")),
        );
        fresh.add("U0001", &credentials).await.unwrap();
        assert!(fresh.remove("U0001").await.unwrap());
        assert!(!fresh.verify_stored("U0001").await.unwrap());
        assert!(!fresh.verify_stored("U0002").await.unwrap());
        assert_eq!(
            listings(),
            1,
            "the reads after the edits shared one listing"
        );

        // A host that has the file: the first read lists, the rest reuse it.
        assert!(s.secrets_cfg.exists());
        let seasoned = connect().await;
        for user in ["U0001", "U0002", "U0001"] {
            assert!(!seasoned.verify_stored(user).await.unwrap());
        }
        seasoned.list().await.unwrap();
        assert_eq!(
            listings(),
            2,
            "every read after the first reused its listing"
        );
    });
}
