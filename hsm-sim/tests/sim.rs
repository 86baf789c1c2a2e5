//! hsm-sim as a real process, driven over real TLS on loopback with the hsm-wire client.

use std::path::Path;
use std::time::Duration;

use hsm_sim::harness::SimProcess;
use hsm_sim::{Policy, SimConfig};
use hsm_wire::{
    ClientError, Connection, ConnectionPool, Connector, ErrorKind, Password, Secret, VendorCode,
};

const THRESHOLD: u32 = 3;
const WINDOW: Duration = Duration::from_secs(10);
const LOCKOUT: Duration = Duration::from_secs(60);
const LIFESPAN: Duration = Duration::from_secs(72 * 3600);

fn test_policy() -> Policy {
    Policy {
        setup_password_lifespan: LIFESPAN,
        attempt_threshold: THRESHOLD,
        reset_window: WINDOW,
        lockout: LOCKOUT,
    }
}

fn start(users: usize) -> SimProcess {
    let mut config = SimConfig::generated(users).with_proxied_user("CLOUD", "PROXY");
    config.policy = test_policy();
    SimProcess::start_with_binary(Path::new(env!("CARGO_BIN_EXE_hsm-sim")), config)
        .expect("hsm-sim starts")
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
    Creds {
        name: name.to_owned(),
        setup: user.setup_password.clone(),
        pin: user.pkcs11_password.clone(),
    }
}

fn wrong() -> Password {
    Password::new("WRONG-WRONG-WRONG-WRONG-WRONG".to_owned())
}

/// Simulated time runs on with the real clock between requests: allow for that.
fn assert_about(actual: Option<Duration>, expected: Duration) {
    let actual = actual.expect("a lockout time");
    assert!(
        actual <= expected && actual + Duration::from_secs(5) >= expected,
        "{actual:?} vs {expected:?}"
    );
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
    // Secrets are compared with `assert!` throughout: `assert_eq!` would print them.
    assert!(
        status.secrets_issued == [hex::encode(first.expose_secret())],
        "the admin does not report the one issued secret"
    );
    assert!(!format!("{status:?}").contains(&hex::encode(first.expose_secret())));
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
    assert!(
        sim.admin().current_secret(&u.name).unwrap() == Some(hex::encode(second.expose_secret())),
        "the updated secret is not the current one"
    );
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

    sim.admin()
        .advance_clock(LOCKOUT - Duration::from_secs(20))
        .unwrap();
    let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    assert_eq!(secret.expose_secret().len(), 32);
    let status = sim.admin().user(&u.name).unwrap();
    assert_eq!(
        (status.api_failures, status.api_locked_until_unix_ms),
        (0, None)
    );
}

#[tokio::test]
async fn wrong_trials_are_forgotten_after_the_reset_window() {
    let sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    for _ in 1..THRESHOLD {
        hsm_error(conn.fetch_secret(&u.name, &wrong(), &u.pin).await);
    }
    assert_eq!(
        sim.admin().user(&u.name).unwrap().api_failures,
        THRESHOLD - 1
    );
    sim.admin().advance_clock(WINDOW).unwrap();
    assert_eq!(sim.admin().user(&u.name).unwrap().api_failures, 0);
    let error = hsm_error(conn.fetch_secret(&u.name, &wrong(), &u.pin).await);
    assert_eq!(error.attempts_left, Some(THRESHOLD - 1));
}

#[tokio::test]
async fn setup_password_validity_starts_at_first_use_and_expires_after_the_lifespan() {
    let sim = start(2);
    let (u1, u2) = (creds(&sim, "U0001"), creds(&sim, "U0002"));
    // Time before the first use does not count.
    sim.admin().advance_clock(LIFESPAN * 2).unwrap();
    let mut conn = connect(&sim).await;
    conn.fetch_secret(&u1.name, &u1.setup, &u1.pin)
        .await
        .unwrap();
    sim.admin()
        .advance_clock(LIFESPAN - Duration::from_secs(60))
        .unwrap();
    conn.update_secret(&u1.name, &u1.setup, &u1.pin)
        .await
        .unwrap();
    sim.admin().advance_clock(Duration::from_secs(60)).unwrap();
    let error = hsm_error(conn.fetch_secret(&u1.name, &u1.setup, &u1.pin).await);
    assert_eq!(error.kind, ErrorKind::SetupPasswordExpired);
    assert_eq!(error.vendor_code, Some(VendorCode(0x8000_5018)));
    assert!(error.message.contains("U0001"), "{}", error.message);
    // An expired password is the right password: no trial is counted.
    assert_eq!(sim.admin().user(&u1.name).unwrap().api_failures, 0);
    // The other user never used theirs: still valid.
    conn.fetch_secret(&u2.name, &u2.setup, &u2.pin)
        .await
        .unwrap();
}

#[tokio::test]
async fn pkcs11_lockout_leaves_api_login_working() {
    let sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    let bad_pin = Password::new("not-the-pin".to_owned());
    for trial in 1..=THRESHOLD {
        let error = hsm_error(conn.fetch_secret(&u.name, &u.setup, &bad_pin).await);
        assert_eq!(error.kind, ErrorKind::BadPkcs11Password);
        assert_eq!(error.vendor_code, Some(VendorCode(0x8000_000B)));
        assert_eq!(error.attempts_left, Some(THRESHOLD - trial));
    }
    let status = sim.admin().user(&u.name).unwrap();
    assert_eq!(
        (status.pkcs11_failures, status.api_failures),
        (THRESHOLD, 0)
    );
    assert!(
        status.pkcs11_locked_until_unix_ms.is_some() && status.api_locked_until_unix_ms.is_none()
    );
    let error = hsm_error(conn.update_secret(&u.name, &u.setup, &u.pin).await);
    assert_eq!(error.kind, ErrorKind::Pkcs11Locked);
    assert_about(error.locked_for(), LOCKOUT);
    // API login with the permanent secret still works, on this and on a new connection.
    conn.login(&u.name, &secret).await.unwrap();
    connect(&sim).await.login(&u.name, &secret).await.unwrap();
    // The PKCS#11 lockout ends after the lockout time.
    sim.admin().advance_clock(LOCKOUT).unwrap();
    assert_eq!(
        conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap(),
        secret
    );
}

#[tokio::test]
async fn cloudhsm_users_need_proxy_authentication_on_each_connection() {
    let sim = start(1);
    let cloud = creds(&sim, "CLOUD");
    let proxy_password = sim.config().proxy("PROXY").unwrap().password.clone();
    let mut conn = connect(&sim).await;
    let error = hsm_error(
        conn.fetch_secret(&cloud.name, &cloud.setup, &cloud.pin)
            .await,
    );
    assert_eq!(error.kind, ErrorKind::ProxyAuthRequired);
    assert_eq!(error.vendor_code, None);
    assert!(error.message.contains("PROXY"), "{}", error.message);
    // Refused before any credential was checked: nothing counted.
    assert_eq!(sim.admin().user(&cloud.name).unwrap().api_failures, 0);

    let error = hsm_error(
        conn.proxy_auth("PROXY", &Password::new("nope".to_owned()))
            .await,
    );
    assert_eq!(error.kind, ErrorKind::BadProxyPassword);
    assert_eq!(error.attempts_left, Some(THRESHOLD - 1));
    assert_eq!(sim.admin().status().unwrap().proxies[0].api_failures, 1);
    let error = hsm_error(conn.proxy_auth("NO_SUCH_PROXY", &proxy_password).await);
    assert_eq!(error.kind, ErrorKind::UnknownUser);

    conn.proxy_auth("PROXY", &proxy_password).await.unwrap();
    let secret = conn
        .fetch_secret(&cloud.name, &cloud.setup, &cloud.pin)
        .await
        .unwrap();
    conn.login(&cloud.name, &secret).await.unwrap();
    // A new connection starts unauthenticated.
    let mut fresh = connect(&sim).await;
    assert_eq!(
        hsm_error(fresh.login(&cloud.name, &secret).await).kind,
        ErrorKind::ProxyAuthRequired
    );
    // Users not behind a proxy need none.
    let u = creds(&sim, "U0001");
    fresh.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
}

#[tokio::test]
async fn unknown_user_is_refused_with_the_vendor_code() {
    let sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    let error = hsm_error(conn.fetch_secret("NOBODY", &u.setup, &u.pin).await);
    assert_eq!(error.kind, ErrorKind::UnknownUser);
    assert_eq!(error.vendor_code, Some(VendorCode(0x8000_000D)));
    assert!(error.message.contains("NOBODY"));
}

#[tokio::test]
async fn a_client_trusting_another_ca_or_name_is_refused() {
    let sim = start(1);
    let other_ca = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let tls =
        hsm_wire::client_config_from_ca_pem(other_ca.cert.pem().as_bytes(), "other CA").unwrap();
    let error = Connector::new(tls)
        .connect("127.0.0.1", sim.port(), None)
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Tls { .. }), "{error:?}");
    assert!(error.to_string().contains("UnknownIssuer"), "{error}");
    assert!(!error.is_connection_failure());
    assert_eq!(error.vendor_code(), Some(VendorCode::NETWORK_FAILURE));

    // The right CA but a name the certificate does not carry.
    let connector = Connector::from_ca_file(&sim.paths().ca_file).unwrap();
    let error = connector
        .connect("127.0.0.1", sim.port(), Some("hsm.example"))
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Tls { .. }), "{error:?}");
    // The certificate carries localhost as well as 127.0.0.1.
    connector
        .connect("localhost", sim.port(), None)
        .await
        .unwrap();
    // A refused TLS handshake reached the simulator but nothing was counted.
    assert_eq!(sim.admin().user("U0001").unwrap().requests, 0);
}

#[tokio::test]
async fn nothing_listening_is_a_connection_failure() {
    let mut sim = start(1);
    let port = sim.port();
    let connector = Connector::from_ca_file(&sim.paths().ca_file).unwrap();
    sim.kill();
    let error = connector
        .connect("127.0.0.1", port, None)
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Connect { .. }), "{error:?}");
    assert!(error.is_connection_failure());
    assert_eq!(error.vendor_code(), Some(VendorCode::NETWORK_FAILURE));
}

#[tokio::test]
async fn many_concurrent_clients() {
    const USERS: usize = 40;
    let sim = start(USERS);
    let connector = Connector::from_ca_file(&sim.paths().ca_file).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=USERS {
        let u = creds(&sim, &format!("U{n:04}"));
        let (connector, port) = (connector.clone(), sim.port());
        tasks.spawn(async move {
            let mut conn = connector.connect("127.0.0.1", port, None).await.unwrap();
            let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
            conn.login(&u.name, &secret).await.unwrap();
            (u.name, hex::encode(secret.expose_secret()))
        });
    }
    let mut seen = std::collections::HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, secret) = joined.unwrap();
        assert!(
            sim.admin().current_secret(&name).unwrap() == Some(secret.clone()),
            "{name}: the fetched secret is not the current one"
        );
        assert!(seen.insert(secret), "two users got the same secret");
    }
    assert_eq!(seen.len(), USERS);
}

#[tokio::test]
async fn restart_resets_counters_and_keeps_secrets_and_time() {
    let mut sim = start(1);
    let u = creds(&sim, "U0001");
    let mut conn = connect(&sim).await;
    let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
    hsm_error(
        conn.fetch_secret(&u.name, &u.setup, &Password::new("bad".to_owned()))
            .await,
    );
    for _ in 0..THRESHOLD {
        hsm_error(conn.fetch_secret(&u.name, &wrong(), &u.pin).await);
    }
    let before = sim.admin().user(&u.name).unwrap();
    assert!(before.api_locked_until_unix_ms.is_some());
    assert_eq!(before.pkcs11_failures, 1);
    let now = sim
        .admin()
        .advance_clock(Duration::from_secs(3600))
        .unwrap();
    let port = sim.port();

    sim.restart().unwrap();
    assert_eq!(
        sim.port(),
        port,
        "a restart keeps the port, so primus.cfg stays valid"
    );
    let after = sim.admin().user(&u.name).unwrap();
    assert_eq!(
        (
            after.api_failures,
            after.pkcs11_failures,
            after.api_locked_until_unix_ms
        ),
        (0, 0, None)
    );
    assert!(
        after.secrets_issued == before.secrets_issued,
        "issued secrets changed across the restart"
    );
    assert_eq!(
        after.setup_first_use_unix_ms,
        before.setup_first_use_unix_ms
    );
    assert!(
        sim.admin().status().unwrap().now_unix_ms >= now,
        "simulated time does not run backwards"
    );
    let mut conn = connect(&sim).await;
    conn.login(&u.name, &secret).await.unwrap();
}

#[tokio::test]
async fn malformed_and_out_of_version_messages() {
    use hsm_wire::FramedStream;
    use serde_json::{json, Value};
    use tokio::io::AsyncWriteExt;

    type Stream = FramedStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;
    /// Sends one raw frame and returns the answer.
    async fn exchange(stream: &mut Stream, frame: Value) -> Value {
        stream.send(&frame).await.unwrap();
        stream
            .recv(Some(Duration::from_secs(5)))
            .await
            .unwrap()
            .unwrap()
    }

    let sim = start(1);
    let tls = hsm_wire::client_config_from_ca_file(&sim.paths().ca_file).unwrap();
    let open = || async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", sim.port()))
            .await
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let connector = tokio_rustls::TlsConnector::from(tls.clone());
        FramedStream::new(connector.connect(name, tcp).await.unwrap())
    };
    // A client speaking only a future version is told which version the server speaks.
    let answer = exchange(
        &mut open().await,
        json!({"type":"hello","versions":[99],"client":"future"}),
    )
    .await;
    assert_eq!(
        (answer["type"].as_str(), answer["kind"].as_str()),
        (Some("error"), Some("unsupported_version"))
    );

    // After a good hello, a malformed line gets bad_request and the connection stays usable.
    let mut stream = open().await;
    let hello = exchange(
        &mut stream,
        json!({"type":"hello","versions":[1],"client":"raw"}),
    )
    .await;
    assert_eq!(hello["version"], 1);
    assert_eq!(
        exchange(&mut stream, json!({"op":"no_such_op"})).await["kind"],
        "bad_request"
    );
    assert_eq!(
        exchange(&mut stream, json!({"op":"version"})).await["type"],
        "version"
    );

    // A non-TLS client is dropped without harming the server.
    let mut tcp_only = tokio::net::TcpStream::connect(("127.0.0.1", sim.port()))
        .await
        .unwrap();
    tcp_only.write_all(b"{\"type\":\"hello\"}\n").await.unwrap();
    connect(&sim).await.version().await.unwrap();
}

#[tokio::test]
async fn thousands_of_users_fit_in_primus_cfg_and_the_admin_status() {
    const USERS: usize = 1_100;
    let sim = start(USERS);
    let last = creds(&sim, "U1100");
    let mut conn = connect(&sim).await;
    let secret = conn
        .fetch_secret(&last.name, &last.setup, &last.pin)
        .await
        .unwrap();
    let status = sim.admin().status().unwrap();
    assert_eq!(status.users.len(), USERS + 1);
    assert!(
        status.users[USERS - 1].secrets_issued == [hex::encode(secret.expose_secret())],
        "the admin does not report the one issued secret"
    );
    let primus_cfg = std::fs::read_to_string(&sim.paths().primus_cfg).unwrap();
    let parsed = ppin::PrimusConfig::parse(&primus_cfg, &sim.paths().primus_cfg).unwrap();
    assert_eq!(parsed.user("U1100").map(|u| u.slot_id), Some(1099));
    assert_eq!(parsed.users().len(), USERS + 1);
    let error = sim.admin().user("NOBODY").unwrap_err();
    assert!(error.to_string().contains("no user 'NOBODY'"), "{error}");
}

#[tokio::test]
async fn a_new_setup_password_replaces_the_old_one_and_restarts_its_validity() {
    let mut sim = start(2);
    let (u1, u2) = (creds(&sim, "U0001"), creds(&sim, "U0002"));
    let mut conn = connect(&sim).await;
    let first = conn
        .fetch_secret(&u1.name, &u1.setup, &u1.pin)
        .await
        .unwrap();
    sim.admin().advance_clock(LIFESPAN).unwrap();
    let error = hsm_error(conn.update_secret(&u1.name, &u1.setup, &u1.pin).await);
    assert_eq!(error.kind, ErrorKind::SetupPasswordExpired);

    // The advice in that error can be followed.
    let fresh = sim.admin().issue_setup_password(&u1.name).unwrap();
    assert!(fresh != u1.setup);
    hsm_wire::check_setup_password(&fresh).unwrap();
    let status = sim.admin().user(&u1.name).unwrap();
    assert_eq!(status.setup_first_use_unix_ms, None);
    // The answer's Debug output redacts the password it carries.
    let answer = sim
        .admin()
        .request(&hsm_sim::AdminRequest::IssueSetupPassword {
            name: u2.name.clone(),
        })
        .unwrap();
    let hsm_sim::AdminResponse::SetupPassword { setup_password, .. } = &answer else {
        panic!("unexpected answer {answer:?}")
    };
    assert!(!format!("{answer:?}").contains(setup_password.expose_secret()));
    assert!(*setup_password != u2.setup);

    // The old one is refused as wrong (a counted trial), the new one works even
    // though the old one expired, and its validity starts now.
    let error = hsm_error(conn.update_secret(&u1.name, &u1.setup, &u1.pin).await);
    assert_eq!(error.kind, ErrorKind::BadSetupPassword);
    assert_eq!(sim.admin().user(&u1.name).unwrap().api_failures, 1);
    let second = conn.update_secret(&u1.name, &fresh, &u1.pin).await.unwrap();
    assert!(second != first);
    assert!(sim
        .admin()
        .user(&u1.name)
        .unwrap()
        .setup_first_use_unix_ms
        .is_some());

    // It survives a device restart, first use included.
    sim.restart().unwrap();
    let mut conn = connect(&sim).await;
    let error = hsm_error(conn.fetch_secret(&u1.name, &u1.setup, &u1.pin).await);
    assert_eq!(error.kind, ErrorKind::BadSetupPassword);
    let again = conn.fetch_secret(&u1.name, &fresh, &u1.pin).await.unwrap();
    assert!(again == second);
    sim.admin().advance_clock(LIFESPAN).unwrap();
    let error = hsm_error(conn.fetch_secret(&u1.name, &fresh, &u1.pin).await);
    assert_eq!(error.kind, ErrorKind::SetupPasswordExpired);

    let error = sim.admin().issue_setup_password("NOBODY").unwrap_err();
    assert!(error.to_string().contains("NOBODY"), "{error}");
}

#[tokio::test]
async fn the_admin_status_counts_connections_and_requests() {
    let sim = start(2);
    let (u1, u2) = (creds(&sim, "U0001"), creds(&sim, "U0002"));
    let status = sim.admin().status().unwrap();
    assert_eq!((status.connections, status.requests), (0, 0));

    let mut conn = connect(&sim).await;
    conn.version().await.unwrap();
    conn.fetch_secret(&u1.name, &u1.setup, &u1.pin)
        .await
        .unwrap();
    hsm_error(conn.fetch_secret("NOBODY", &u1.setup, &u1.pin).await);
    drop(conn);
    let mut conn = connect(&sim).await;
    conn.fetch_secret(&u1.name, &wrong(), &u1.pin)
        .await
        .unwrap_err();

    let status = sim.admin().status().unwrap();
    assert_eq!(status.connections, 2);
    assert_eq!(status.requests, 4);
    let requests = |name: &str| {
        status
            .users
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.requests)
    };
    assert_eq!(requests(&u1.name), Some(2));
    assert_eq!(requests(&u2.name), Some(0));
}

#[tokio::test]
async fn a_silent_hsm_accepts_and_never_answers() {
    let sim = start(1);
    let silent = hsm_sim::harness::SilentHsm::start().unwrap();
    let connector = Connector::from_ca_file(&sim.paths().ca_file)
        .unwrap()
        .with_connect_timeout(Duration::from_millis(300));
    let error = connector
        .connect("127.0.0.1", silent.port(), None)
        .await
        .unwrap_err();
    // The TCP connect succeeded; the TLS handshake got no answer, which is safe
    // to try on another HSM of the cluster.
    let timed_out = matches!(error, ClientError::ConnectTimeout { .. });
    assert!(timed_out && error.is_connection_failure(), "{error:?}");
}

#[tokio::test]
async fn pooled_connections_are_reused_and_checked_before_a_credential_is_sent() {
    let mut sim = start(2);
    let (u1, u2) = (creds(&sim, "U0001"), creds(&sim, "U0002"));
    let pool = ConnectionPool::new(Connector::from_ca_file(&sim.paths().ca_file).unwrap());
    let mut conn = pool.connect("127.0.0.1", sim.port(), None).await.unwrap();
    conn.fetch_secret(&u1.name, &u1.setup, &u1.pin)
        .await
        .unwrap();
    pool.release(conn).await;
    assert_eq!(pool.idle_count(), 1);
    let mut conn = pool.connect("127.0.0.1", sim.port(), None).await.unwrap();
    conn.fetch_secret(&u2.name, &u2.setup, &u2.pin)
        .await
        .unwrap();
    pool.release(conn).await;
    assert_eq!(sim.admin().status().unwrap().connections, 1);

    // The HSM restarts while the connection is idle: the check before reuse
    // notices, a new connection is opened, and no trial or request is lost.
    sim.restart().unwrap();
    let mut conn = pool.connect("127.0.0.1", sim.port(), None).await.unwrap();
    assert_eq!(pool.idle_count(), 0);
    conn.fetch_secret(&u1.name, &u1.setup, &u1.pin)
        .await
        .unwrap();
    let status = sim.admin().user(&u1.name).unwrap();
    assert_eq!((status.requests, status.api_failures), (1, 0));

    // A proxy-authenticated connection is never handed to anyone else.
    let cloud = creds(&sim, "CLOUD");
    let proxy = sim.config().proxy("PROXY").unwrap().password.clone();
    conn.proxy_auth("PROXY", &proxy).await.unwrap();
    conn.fetch_secret(&cloud.name, &cloud.setup, &cloud.pin)
        .await
        .unwrap();
    assert!(!conn.is_reusable());
    pool.release(conn).await;
    assert_eq!(pool.idle_count(), 0);
}

#[tokio::test]
async fn connections_from_the_same_ca_file_resume_tls_sessions() {
    let sim = start(1);
    let ca_file = &sim.paths().ca_file;
    // `connect` makes a connector per call, as ppin does per operation.
    let mut first = connect(&sim).await;
    // Tickets arrive after the handshake; one answered request has read them.
    first.version().await.unwrap();
    let mut resumed = false;
    for _ in 0..3 {
        let mut next = connect(&sim).await;
        next.version().await.unwrap();
        resumed |= next.tls_resumed();
    }
    assert!(resumed, "no connection resumed the first one's TLS session");

    // Another CA file gets a configuration of its own: nothing resumes across them.
    let copy = sim.paths().dir.join("ca-copy.pem");
    std::fs::copy(ca_file, &copy).unwrap();
    let fresh = Connector::from_ca_file(&copy)
        .unwrap()
        .connect("127.0.0.1", sim.port(), None)
        .await
        .unwrap();
    assert!(!fresh.tls_resumed());
}

/// The partition log (`fetch_log`, what `ppin --fetchlog` prints).
mod partition_log {
    use std::time::SystemTime;

    use hsm_wire::{LogOrder, LogQuery, LOG_PAGE_BYTES};

    use super::*;

    /// The whole log of `user`, oldest first, on a fresh connection.
    async fn log(sim: &SimProcess, user: &str, secret: &Secret, query: &LogQuery) -> Vec<String> {
        connect(sim)
            .await
            .fetch_log(user, secret, query)
            .await
            .expect("log fetched")
    }

    /// The log once the server has noticed `connections` disconnects: a
    /// client's close reaches the server a moment after it returns.
    async fn log_after_disconnects(
        sim: &SimProcess,
        user: &str,
        secret: &Secret,
        connections: usize,
    ) -> Vec<String> {
        for _ in 0..100 {
            let lines = log(sim, user, secret, &LogQuery::default()).await;
            if lines.iter().filter(|l| l.contains(" Disconnect: ")).count() >= connections {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never logged {connections} disconnects");
    }

    /// Checks that lines with all the parts of each of `expected` are found
    /// in `lines`, in this order.
    fn assert_in_order(lines: &[String], expected: &[&[&str]]) {
        let mut rest = lines.iter();
        for want in expected {
            assert!(
                rest.any(|line| want.iter().all(|part| line.contains(part))),
                "{want:?} not found in order in:\n{}",
                lines.join("\n")
            );
        }
    }

    #[tokio::test]
    async fn logins_failures_and_lockouts_are_logged_in_the_vendors_lines_and_survive_a_restart() {
        let mut sim = start(1);
        let u = creds(&sim, "U0001");
        let client = "Client: hsm-wire@-@127.0.0.1@-";
        let mut first = connect(&sim).await;
        hsm_error(first.fetch_secret(&u.name, &wrong(), &u.pin).await);
        let secret = first.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
        let bad_pin = Password::new("not-the-pin".to_owned());
        hsm_error(first.fetch_secret(&u.name, &u.setup, &bad_pin).await);
        first.close().await;
        // The first connection logged in, so its end is logged too; wait for
        // that, so that it comes before what the next connection does.
        log_after_disconnects(&sim, &u.name, &secret, 1).await;
        // Two wrong permanent secrets: with the wrong setup password, the third
        // API-login failure locks.
        let mut second = connect(&sim).await;
        let bad_secret = Secret::new(vec![0; 32]);
        hsm_error(second.login(&u.name, &bad_secret).await);
        let locked = hsm_error(second.login(&u.name, &bad_secret).await);
        assert!(locked.locked_for_ms.is_some(), "{locked:?}");
        second.close().await;
        // A wrong secret on fetch_log is a failed login too, refused and counted.
        sim.admin().advance_clock(LOCKOUT).unwrap();
        let refused = connect(&sim)
            .await
            .fetch_log(&u.name, &bad_secret, &LogQuery::default())
            .await;
        assert_eq!(hsm_error(refused).kind, ErrorKind::BadSecret);
        assert_eq!(sim.admin().user(&u.name).unwrap().api_failures, 1);

        let lines = log(&sim, &u.name, &secret, &LogQuery::default()).await;
        let request = format!("notice PKCS11 Process: Login request: User: U0001 {client}");
        let failed = format!("warning PKCS11 Process: Login failed: User: U0001 {client}");
        assert_in_order(
            &lines,
            &[
                &[&request, " with setup password over TCP connection "],
                &[&failed, " with setup password over TCP connection ", ", wrong setup password, 2 attempts left"],
                &[&request, " with setup password over TCP connection "],
                &[&format!("info PKCS11 Process: Login successful: User: U0001 {client} over TCP connection 0x2000000")],
                &[&format!("notice Crypto Process: Interaction: User: U0001, {client}, Protocol: pkcs11, Retrieved permanent login credentials")],
                &[&format!("err Crypto Process: Error: Command: CommandLogin, User: U0001, {client}, Protocol: pkcs11, 0x8000000B (Login failed, wrong PKCS#11 PIN), 2 attempts left")],
                &[&format!("notice PKCS11 Process: Disconnect: User: U0001 {client} over TCP connection ")],
                &[&request, &format!("{client} over TCP connection ")],
                &[&failed, ", wrong permanent secret, 1 attempts left"],
                &[&format!("err PKCS11 Process: Login locked: User: U0001 {client} over TCP connection "), ", API login locked for 60 s"],
                &[&failed, ", wrong permanent secret, 2 attempts left"],
                // The fetch's own login.
                &[&format!("info PKCS11 Process: Login successful: User: U0001 {client}")],
            ],
        );
        for line in &lines {
            // `2021 Apr  1 09:31:28 UTC HSMSIM ...`
            let (stamp, rest) = line.split_at(20);
            assert!(rest.starts_with(" UTC HSMSIM "), "{line}");
            assert_eq!(stamp.split_whitespace().count(), 4, "{line}");
            assert!(
                stamp.as_bytes()[4] == b' ' && stamp.as_bytes()[8] == b' ',
                "{line}"
            );
            assert!(
                line.contains("(IP 127.0.0.1:") || line.contains(" Crypto "),
                "{line}"
            );
            for credential in [
                u.setup.expose_secret(),
                u.pin.expose_secret(),
                "not-the-pin",
            ] {
                assert!(!line.contains(credential), "a credential in {line}");
            }
            assert!(
                !line.contains(&hex::encode(secret.expose_secret())),
                "{line}"
            );
        }
        // The connection numbers are the vendor's: one decimal, one hex, for the same number.
        let request = lines
            .iter()
            .find(|l| l.contains(" with setup password over TCP connection "))
            .unwrap();
        let number: u64 = request
            .split("over TCP connection ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(lines
            .iter()
            .any(|l| l.contains(&format!("over TCP connection {number:#x} "))));

        // The log is the HSM's: it survives a restart, which resets the counters.
        sim.restart().unwrap();
        let after = log(&sim, &u.name, &secret, &LogQuery::default()).await;
        assert_eq!(after[..lines.len()], lines[..]);

        // Newest first is the same log the other way round (plus this fetch's own login).
        let newest = log(
            &sim,
            &u.name,
            &secret,
            &LogQuery {
                since: None,
                order: LogOrder::NewestFirst,
            },
        )
        .await;
        let mut reversed = newest.clone();
        reversed.reverse();
        assert_eq!(reversed[..after.len()], after[..]);
        assert!(newest[0].contains(" Login successful: "), "{}", newest[0]);

        // `since` leaves out what came before it.
        let tomorrow = SystemTime::now() + Duration::from_secs(2 * 86_400);
        let later = log(
            &sim,
            &u.name,
            &secret,
            &LogQuery {
                since: Some(tomorrow),
                order: LogOrder::OldestFirst,
            },
        )
        .await;
        assert!(later.is_empty(), "{later:?}");
    }

    #[tokio::test]
    async fn a_long_log_comes_in_pages() {
        const LOGINS: usize = 400;
        let sim = start(1);
        let u = creds(&sim, "U0001");
        let mut conn = connect(&sim).await;
        let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
        for _ in 0..LOGINS {
            conn.login(&u.name, &secret).await.unwrap();
        }
        let lines = conn
            .fetch_log(&u.name, &secret, &LogQuery::default())
            .await
            .unwrap();
        // Three for the fetch, two per login, two for this fetch's own login.
        assert_eq!(lines.len(), 3 + LOGINS * 2 + 2);
        let bytes: usize = lines.iter().map(String::len).sum();
        assert!(bytes > 2 * LOG_PAGE_BYTES, "{bytes} bytes fit in one page");
        assert!(lines[3].contains(" Login request: "), "{}", lines[3]);
    }

    #[tokio::test]
    async fn an_hsm_configured_without_the_client_log_refuses_after_the_login() {
        let mut config = SimConfig::generated(1);
        config.policy = test_policy();
        config.users[0].client_log = false;
        let sim = SimProcess::start_with_binary(Path::new(env!("CARGO_BIN_EXE_hsm-sim")), config)
            .expect("hsm-sim starts");
        let u = creds(&sim, "U0001");
        let mut conn = connect(&sim).await;
        let secret = conn.fetch_secret(&u.name, &u.setup, &u.pin).await.unwrap();
        let refused = conn.fetch_log(&u.name, &secret, &LogQuery::default()).await;
        let error = hsm_error(refused);
        assert_eq!(error.kind, ErrorKind::LogDisabled);
        assert_eq!(error.vendor_code, None);
        assert!(error.message.contains("U0001"), "{}", error.message);
        // The login itself was right: nothing counted.
        assert_eq!(sim.admin().user(&u.name).unwrap().api_failures, 0);
    }

    #[tokio::test]
    async fn only_the_partitions_user_may_read_its_log() {
        let sim = start(1);
        let secret = Secret::new(vec![1; 32]);
        let mut conn = connect(&sim).await;
        let unknown = conn
            .fetch_log("NOBODY", &secret, &LogQuery::default())
            .await;
        assert_eq!(hsm_error(unknown).kind, ErrorKind::UnknownUser);
        let proxied = conn.fetch_log("CLOUD", &secret, &LogQuery::default()).await;
        assert_eq!(hsm_error(proxied).kind, ErrorKind::ProxyAuthRequired);
        // A user with no permanent secret yet cannot log in to read it.
        let none = conn.fetch_log("U0001", &secret, &LogQuery::default()).await;
        assert_eq!(hsm_error(none).kind, ErrorKind::BadSecret);
    }
}
