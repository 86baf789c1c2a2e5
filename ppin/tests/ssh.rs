//! The external engine over SSH: our `ppin` binary (the vendor's stand-in)
//! run on a "remote" host that is a real OpenSSH server on 127.0.0.1, over
//! a real `hsm-sim`.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{runtime, setup};
use ppin::{
    Engine, ExternalEngine, ExternalError, PpinError, PpinErrorKind, RunAs, SetupCredentials,
    SshTool,
};
use primus_ssh::testing::TestSshd;
use primus_ssh::{PoolLimits, SshPool};
use secrets_cfg::Password;

const WITHIN: Duration = Duration::from_secs(20);

#[test]
fn add_list_and_remove_through_the_tool_on_an_ssh_host() {
    let s = setup(1);
    let sshd = TestSshd::start();
    let setup_password = s.setup_password("U0001");
    let pkcs11_password = s.pkcs11_password("U0001");
    runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let host = pool.host(&sshd.settings()).await.unwrap();
        let secrets = s.secrets_cfg.to_str().unwrap();
        let tool = SshTool::connect(
            host,
            format!("127.0.0.1:{}", sshd.port()),
            env!("CARGO_BIN_EXE_ppin"),
            Some(secrets),
            RunAs::SshUser,
            WITHIN,
        )
        .await
        .unwrap();
        assert_eq!(tool.secrets_file(), secrets);
        let engine = ExternalEngine::over(
            Arc::new(tool),
            Some(s.primus_cfg.clone()),
            Some(s.secrets_cfg.clone()),
        );

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

#[test]
fn a_host_without_the_tool_is_refused_before_anything_runs() {
    let sshd = TestSshd::start();
    let error = runtime().block_on(async {
        let pool = SshPool::new(PoolLimits::default());
        let host = pool.host(&sshd.settings()).await.unwrap();
        SshTool::connect(
            host,
            "app1",
            "/nonexistent/primus/bin/ppin",
            None,
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
    assert!(problem.contains("/nonexistent/primus/bin/ppin is not an executable file"));
    let kind = PpinError::External(error).kind();
    assert_eq!(kind, PpinErrorKind::RemoteHost);
}
