//! hsm-sim as a real process, driven over real TLS on loopback with the hsm-wire client.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

use std::path::Path;
use std::time::Duration;

use hsm_sim::harness::SimProcess;
use hsm_sim::{Policy, SimConfig};
use hsm_wire::{ClientError, Connection, Connector, ErrorKind, Password, Secret, VendorCode};

const THRESHOLD: u32 = 3;
const WINDOW: Duration = Duration::from_secs(10);
const LOCKOUT: Duration = Duration::from_secs(60);
const LIFESPAN: Duration = Duration::from_secs(72 * 3600);

fn test_policy() -> Policy {
    Policy { setup_password_lifespan: LIFESPAN, attempt_threshold: THRESHOLD, reset_window: WINDOW, lockout: LOCKOUT }
}

fn start(users: usize) -> SimProcess {
    let mut config = SimConfig::generated(users).with_proxied_user("CLOUD", "PROXY");
    config.policy = test_policy();
    SimProcess::start_with_binary(Path::new(env!("CARGO_BIN_EXE_hsm-sim")), config).expect("hsm-sim starts")
}

async fn connect(sim: &SimProcess) -> Connection {
    Connector::from_ca_file(&sim.paths().ca_file)
        .expect("CA file readable")
        .connect("127.0.0.1", sim.port(), None)
        .await
        .expect("connects")
}

struct Creds {
    name: String,
    setup: Password,
    pin: Password,
}

fn creds(sim: &SimProcess, name: &str) -> Creds {
    let user = sim.config().user(name).expect("user configured");
    Creds { name: name.to_owned(), setup: user.setup_password.clone(), pin: user.pkcs11_password.clone() }
}

fn wrong() -> Password {
    Password::new("WRONG-WRONG-WRONG-WRONG-WRONG".to_owned())
}

/// Simulated time runs on with the real clock between requests: allow for that.
fn assert_about(actual: Option<Duration>, expected: Duration) {
    let actual = actual.expect("a lockout time");
    assert!(actual <= expected && actual + Duration::from_secs(5) >= expected, "{actual:?} vs {expected:?}");
}

fn hsm_error(result: Result<impl std::fmt::Debug, ClientError>) -> hsm_wire::WireError {
    match result {
        Err(ClientError::Hsm { error, .. }) => error,
        other => panic!("expected an HSM error, got {other:?}"),
    }
}

#[tokio::test]
async fn fetch_login_update_and_admin_view() {
    let sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    assert_eq!(conn.server_hello().version, hsm_wire::PROTOCOL_VERSION);
    let version = conn.version().await.unwrap();
    assert_eq!((version.product.as_str(), version.protocol), ("hsm-sim", 1));

    let first = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    assert_eq!(first.expose_secret().len(), 32);
    // Fetching again (another host onboarding the same partition) returns the same secret.
    let again = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    assert_eq!(first, again);
    conn.login(&u.name, &first).await.unwrap();
    let status = sim.admin().user(&u.name).unwrap();
    assert_eq!(status.secrets_issued, vec![hex::encode(first.expose_secret())]);
    assert_eq!((status.api_failures, status.pkcs11_failures), (0, 0));
    assert!(status.setup_first_use_unix_ms.is_some());

    let second = conn.update_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(second.expose_secret().len(), 32);
    conn.login(&u.name, &second).await.unwrap();
    // The old secret is invalid now, and trying it costs one API-login trial.
    let error = hsm_error(conn.login(&u.name, &first).await);
    assert_eq!(error.kind, ErrorKind::BadSecret);
    assert_eq!(error.attempts_left, Some(THRESHOLD - 1));
    let status = sim.admin().user(&u.name).unwrap();
    assert_eq!(status.api_failures, 1);
    assert_eq!(sim.admin().current_secret(&u.name).unwrap(), Some(hex::encode(second.expose_secret())));
    assert_eq!(status.secrets_issued.len(), 2);
}

#[tokio::test]
async fn wrong_setup_password_locks_after_threshold_until_lockout_ends() {
    let sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    for trial in 1..=THRESHOLD {
        let error = hsm_error(conn.fetch_secret(&u.name, &wrong(), &u.pin).await);
        assert_eq!(error.kind, ErrorKind::BadSetupPassword);
        assert_eq!(error.vendor_code, Some(VendorCode(0x8000_5017)));
        assert_eq!(error.attempts_left, Some(THRESHOLD - trial));
        assert_eq!(sim.admin().user(&u.name).unwrap().api_failures, trial);
        // The trial that reaches the threshold says how long the lockout lasts.
        if trial == THRESHOLD {
            assert_about(error.locked_for(), LOCKOUT);
        } else {
            assert_eq!(error.locked_for(), None);
        }
    }
    // Locked: even the right password is refused, with the time remaining, and no trial counted.
    sim.admin().advance_clock(Duration::from_secs(20)).unwrap();
    let error = hsm_error(conn.fetch_secret(&u.name, &u.setup, &u.pin).await);
    assert_eq!(error.kind, ErrorKind::ApiLocked);
    assert_about(error.locked_for(), LOCKOUT - Duration::from_secs(20));
    let status = sim.admin().user(&u.name).unwrap();
    assert_eq!(status.api_failures, THRESHOLD);
    let until = status.api_locked_until_unix_ms.expect("locked");
    assert_eq!(error.locked_until_unix_ms, Some(until));
    // Login with a permanent secret is API login too: locked as well.
    let error = hsm_error(conn.login(&u.name, &Secret::new(vec![0; 32])).await);
    assert_eq!(error.kind, ErrorKind::ApiLocked);

    sim.admin().advance_clock(LOCKOUT - Duration::from_secs(20)).unwrap();
    let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    assert_eq!(secret.expose_secret().len(), 32);
    let status = sim.admin().user(&u.name).unwrap();
    assert_eq!((status.api_failures, status.api_locked_until_unix_ms), (0, None));
}

#[tokio::test]
async fn wrong_trials_are_forgotten_after_the_reset_window() {
    let sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    for _ in 1..THRESHOLD {
        hsm_error(conn.fetch_secret(&u.name, &wrong(), &u.pin).await);
    }
    assert_eq!(sim.admin().user(&u.name).unwrap().api_failures, THRESHOLD - 1);
    sim.admin().advance_clock(WINDOW).unwrap();
    assert_eq!(sim.admin().user(&u.name).unwrap().api_failures, 0);
    let error = hsm_error(conn.fetch_secret(&u.name, &wrong(), &u.pin).await);
    assert_eq!(error.attempts_left, Some(THRESHOLD - 1));
}
