//! The in-process simulator with an injected manual clock.

use std::sync::Arc;
use std::time::Duration;

use hsm_wire::{Connector, ErrorKind};

use crate::{start, Clock, ManualClock, Policy, SimConfig, SimOptions};

#[tokio::test]
async fn in_process_with_manual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let mut options = SimOptions::new(dir.path());
    options.clock = clock.clone();
    let mut config = SimConfig::generated(1);
    config.policy = Policy {
        setup_password_lifespan: Duration::from_secs(10),
        ..Policy::default()
    };
    let user = config.users[0].clone();
    let sim = start(config, options).await.unwrap();

    let mut conn = Connector::from_ca_file(&sim.paths().ca_file)
        .unwrap()
        .connect("127.0.0.1", sim.port(), None)
        .await
        .unwrap();
    conn.fetch_secret(&user.name, &user.setup_password, &user.pkcs11_password)
        .await
        .unwrap();
    // Exactly at the end of the lifespan the password is expired; the manual clock makes this exact.
    clock.advance(Duration::from_millis(9_999));
    conn.fetch_secret(&user.name, &user.setup_password, &user.pkcs11_password)
        .await
        .unwrap();
    clock.advance(Duration::from_millis(1));
    let error = conn
        .fetch_secret(&user.name, &user.setup_password, &user.pkcs11_password)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), Some(ErrorKind::SetupPasswordExpired));
    assert_eq!(clock.now_unix_ms(), 1_010_000);
    sim.shutdown().await;
}
