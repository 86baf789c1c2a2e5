//! The operations library as the Terraform provider uses it: in-process,
//! concurrent, against a real `hsm-sim` process over TLS on loopback.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{extract_hsm0, setup};
use ppin::{BuiltinEngine, Ppin, PpinError, PrimusConfig, SetupCredentials, TestFilter, Timeouts};
use secrets_cfg::{KeySource, Password};

fn password(text: String) -> Password {
    Password::new(text)
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_from_clones_all_land() {
    let s = setup(6);
    let ppin = Ppin::open(
        Some(&s.primus_cfg),
        Some(&s.secrets_cfg),
        KeySource::Default,
    )
    .unwrap();
    let users: Vec<String> = (1..=6).map(|n| format!("U{n:04}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for user in &users {
        let (ppin, user) = (ppin.clone(), user.clone());
        let (setup_password, pin) = (
            password(s.setup_password(&user)),
            password(s.pkcs11_password(&user)),
        );
        // The provider runs operations on a multi-threaded runtime: the futures must be Send.
        tasks.spawn(assert_send(async move {
            ppin.add(&user, &SetupCredentials::new(setup_password, pin))
                .await
        }));
    }
    while let Some(joined) = tasks.join_next().await {
        let served = joined.unwrap().unwrap();
        assert_eq!(served.hsm.as_deref(), Some("hsm0"));
        let server = served.server.as_deref().unwrap_or_default();
        assert!(server.starts_with("hsm-sim "), "{server}");
    }
    let listing = ppin.list().await.unwrap();
    for user in &users {
        let status = listing.users.iter().find(|u| &u.user == user).unwrap();
        assert!(status.configured, "{user} configured");
        // `assert!`, not `assert_eq!`: a failure must not print the secrets.
        assert!(
            s.stored_secret(user) == s.sim.admin().current_secret(user).unwrap(),
            "{user}: the stored secret is not the HSM's current one"
        );
    }
    assert!(!ppin.status("CLOUD_APP").await.unwrap().configured);
    let report = ppin.test(&TestFilter::all()).await.unwrap();
    let slots: Vec<_> = report.hsms.iter().flat_map(|h| &h.slots).collect();
    assert_eq!(slots.iter().filter(|s| s.outcome.is_ok()).count(), 6);
    assert_eq!(report.failures(), slots.len() - 6);
    assert!(matches!(
        report.slots_of("CLOUD_APP").next().unwrap().outcome,
        Err(PpinError::NotConfigured { .. })
    ));
}

#[tokio::test]
async fn operations_of_one_door_share_one_hsm_connection() {
    let s = setup(3);
    let ppin = Ppin::open(
        Some(&s.primus_cfg),
        Some(&s.secrets_cfg),
        KeySource::Default,
    )
    .unwrap();
    let connections = || s.sim.admin().status().unwrap().connections;
    let before = connections();
    for user in ["U0001", "U0002"] {
        let credentials = SetupCredentials::new(
            password(s.setup_password(user)),
            password(s.pkcs11_password(user)),
        );
        ppin.add(user, &credentials).await.unwrap();
    }
    ppin.login("U0001").await.unwrap();
    assert_eq!(
        connections() - before,
        1,
        "one connection for three operations"
    );
    // A wrong setup password is answered over the pooled connection and not retried.
    let wrong = SetupCredentials::new(
        password("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA".to_owned()),
        password(s.pkcs11_password("U0003")),
    );
    assert!(ppin.add("U0003", &wrong).await.is_err());
    let report = s.sim.admin().user("U0003").unwrap();
    assert_eq!((report.requests, report.api_failures), (1, 1));
}

#[tokio::test]
async fn errors_carry_user_hsm_code_and_attempts() {
    let s = setup(1);
    let ppin = Ppin::open(
        Some(&s.primus_cfg),
        Some(&s.secrets_cfg),
        KeySource::Default,
    )
    .unwrap();
    let error = ppin.status("NOBODY").await.unwrap_err();
    assert_eq!(error.vendor_code().map(|c| c.0), Some(0x8000_5012));
    assert_eq!(error.user(), Some("NOBODY"));
    assert!(error.is_local());

    let wrong = password("WRONG-WRONG-WRONG-WRONG-WRONG".to_owned());
    let error = ppin
        .add(
            "U0001",
            &SetupCredentials::new(wrong, password(s.pkcs11_password("U0001"))),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind().as_str(), "bad_setup_password");
    assert_eq!(error.user(), Some("U0001"));
    assert_eq!(error.hsm().map(|h| h.name.as_str()), Some("hsm0"));
    assert_eq!(error.vendor_code().map(|c| c.0), Some(0x8000_5017));
    assert_eq!(error.attempts_left(), Some(common::THRESHOLD - 1));
    assert_eq!(error.locked_until(), None);
    assert!(!error.is_local());
    assert!(error.next_step().starts_with("check the setup password"));
    let debug = format!("{error:?}");
    assert!(
        !debug.contains("WRONG-WRONG"),
        "Debug output holds no password: {debug}"
    );
}

/// primus.cfg of `s` with a second HSM `name` on `port`, tried before hsm0.
fn with_hsm_first(s: &common::Setup, name: &str, port: u16) -> PrimusConfig {
    let text = std::fs::read_to_string(&s.primus_cfg).unwrap();
    let live = extract_hsm0(&text);
    let first = live
        .replacen("hsm0", name, 1)
        .replace(&format!("\"{}\"", s.sim.port()), &format!("\"{port}\""))
        .replacen('{', "{ priority = -5;", 1);
    let config = PrimusConfig::parse(
        &text.replacen(&live, &format!("{live}{first}"), 1),
        &s.primus_cfg,
    )
    .unwrap();
    assert_eq!(config.user("U0001").unwrap().hsms[0].name, name);
    config
}

#[tokio::test]
async fn a_request_without_answer_is_not_retried_elsewhere() {
    let s = setup(1);
    // A silent HSM with the simulator's certificate: completes TLS and the
    // version handshake, reads the request, never answers.
    let cert = std::fs::read(&s.sim.paths().server_cert).unwrap();
    let key = std::fs::read(&s.sim.paths().server_key).unwrap();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(hsm_wire::server_config_from_pem(&cert, &key).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut connection = hsm_wire::accept(&acceptor, tcp, "silent", Duration::from_secs(10))
            .await
            .unwrap();
        let request = connection
            .next_request(Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
        // Hold the connection open without answering until the client gives up.
        let _ = connection.next_request(Duration::from_secs(10)).await;
        request.op()
    });
    let store = secrets_cfg::SecretsStore::open(&s.secrets_cfg, KeySource::Default).unwrap();
    let ppin = Ppin::from(
        BuiltinEngine::new(with_hsm_first(&s, "hsm_silent", port), store).with_timeouts(
            Timeouts::new(Duration::from_secs(5), Duration::from_millis(300)),
        ),
    );

    let error = ppin
        .add(
            "U0001",
            &SetupCredentials::new(
                password(s.setup_password("U0001")),
                password(s.pkcs11_password("U0001")),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind().as_str(), "connection_broken");
    assert_eq!(error.hsm().map(|h| h.name.as_str()), Some("hsm_silent"));
    assert!(
        error
            .to_string()
            .contains("failed after the request of user 'U0001' was sent"),
        "{error}"
    );
    assert!(
        error.next_step().contains("ppin -t --user U0001"),
        "{}",
        error.next_step()
    );
    let op = tokio::time::timeout(Duration::from_secs(15), silent)
        .await
        .expect("the silent HSM was contacted");
    assert_eq!(op.unwrap(), "fetch_secret");
    assert_eq!(
        s.counters("U0001").0,
        0,
        "the request was not repeated at the live HSM"
    );
    assert_eq!(s.stored_secret("U0001"), None);
}

#[tokio::test]
async fn an_hsm_that_hangs_is_skipped_after_the_connect_timeout() {
    let s = setup(1);
    // Accepts TCP connections and never answers the TLS handshake.
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = with_hsm_first(&s, "hsm_hanging", black_hole.local_addr().unwrap().port());
    let store = secrets_cfg::SecretsStore::open(&s.secrets_cfg, KeySource::Default).unwrap();
    let ppin = Ppin::from(
        BuiltinEngine::new(config, store).with_timeouts(Timeouts::new(
            Duration::from_millis(300),
            Duration::from_secs(10),
        )),
    );

    let started = Instant::now();
    let served = ppin
        .add(
            "U0001",
            &SetupCredentials::new(
                password(s.setup_password("U0001")),
                password(s.pkcs11_password("U0001")),
            ),
        )
        .await
        .unwrap();
    assert_eq!(served.hsm.as_deref(), Some("hsm0"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    drop(black_hole);
}

#[tokio::test]
async fn a_stop_while_connecting_cancels_before_any_credential_is_sent() {
    let s = setup(1);
    // Accepts TCP connections and never answers the TLS handshake.
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = with_hsm_first(&s, "hsm_hanging", black_hole.local_addr().unwrap().port());
    let store = secrets_cfg::SecretsStore::open(&s.secrets_cfg, KeySource::Default).unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    // A connect limit far beyond the test's bound: only the stop can end the wait.
    let ppin = Ppin::from(
        BuiltinEngine::new(config, store)
            .with_timeouts(Timeouts::new(
                Duration::from_secs(600),
                Duration::from_secs(600),
            ))
            .with_cancel(cancel.clone()),
    );
    let stop = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });

    let credentials = SetupCredentials::new(
        password(s.setup_password("U0001")),
        password(s.pkcs11_password("U0001")),
    );
    let outcome = tokio::time::timeout(Duration::from_secs(60), ppin.add("U0001", &credentials))
        .await
        .expect("the stop ends the connect wait");
    let error = outcome.unwrap_err();
    assert!(matches!(error, PpinError::Cancelled { .. }), "{error}");
    assert_eq!(error.kind().as_str(), "cancelled");
    assert!(error.is_local(), "nothing reached an HSM");
    assert!(
        error.to_string().contains("before any credential was sent"),
        "{error}"
    );
    assert_eq!(s.counters("U0001").0, 0, "the live HSM was never asked");
    assert_eq!(s.stored_secret("U0001"), None);
    stop.await.unwrap();
    drop(black_hole);
}

/// A TCP forwarder on 127.0.0.1 to `target` that holds every chunk the
/// server sends back for `lag`: time for a test to act between the HSM's
/// answer and the client reading it.
async fn lagging_forwarder(target: u16, lag: Duration) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                .await
                .unwrap();
            let (mut from_client, mut to_client) = client.into_split();
            let (mut from_server, mut to_server) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
            });
            tokio::spawn(async move {
                let mut chunk = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = from_server.read(&mut chunk).await {
                    tokio::time::sleep(lag).await;
                    if to_client.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_issued_but_not_stored_says_so_and_asks_for_a_new_setup_password() {
    let s = setup(1);
    let port = lagging_forwarder(s.sim.port(), Duration::from_millis(500)).await;
    let config = with_hsm_first(&s, "hsm_lagging", port);
    // The pre-flight passes; the directory goes away while the HSM's answer is on its way.
    let dir = s.dir.path().join("sub");
    std::fs::create_dir(&dir).unwrap();
    let store =
        secrets_cfg::SecretsStore::open(dir.join(".secrets.cfg"), KeySource::Default).unwrap();
    let ppin = Ppin::new(config, store);

    let credentials = SetupCredentials::new(
        password(s.setup_password("U0001")),
        password(s.pkcs11_password("U0001")),
    );
    let add = tokio::spawn(async move { ppin.add("U0001", &credentials).await });
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.counters("U0001").0 == 0 {
        assert!(Instant::now() < deadline, "the HSM was never asked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::fs::rename(&dir, s.dir.path().join("gone")).unwrap();
    let error = add.await.unwrap().unwrap_err();
    assert!(
        matches!(error, PpinError::IssuedNotStored { .. }),
        "{error}"
    );
    assert_eq!(error.kind().as_str(), "issued_not_stored");
    let text = error.to_string();
    assert!(
        text.contains("issued the permanent secret of 'U0001', but it could not be stored"),
        "{text}"
    );
    assert!(text.contains("the setup password is spent"), "{text}");
    assert!(text.contains("new setup password"), "{text}");
    assert!(!text.contains("left unchanged"), "{text}");
    assert!(!text.contains("retry"), "{text}");
    assert_eq!(
        error.vendor_code().map(|c| c.to_string()).as_deref(),
        Some("0x80005004")
    );
    assert!(!error.is_local());
}
