//! The operations library as the Terraform provider uses it: in-process,
//! concurrent, against a real `hsm-sim` process over TLS on loopback.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{extract_hsm0, setup};
use ppin::{Ppin, PpinError, PrimusConfig, TestFilter, Timeouts};
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
    let ppin = Ppin::open(Some(&s.primus_cfg), Some(&s.secrets_cfg), KeySource::Default).unwrap();
    let users: Vec<String> = (1..=6).map(|n| format!("U{n:04}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for user in &users {
        let (ppin, user) = (ppin.clone(), user.clone());
        let (setup_password, pin) = (password(s.setup_password(&user)), password(s.pkcs11_password(&user)));
        // The provider runs operations on a multi-threaded runtime: the futures must be Send.
        tasks.spawn(assert_send(async move { ppin.add(&user, &setup_password, &pin).await }));
    }
    while let Some(joined) = tasks.join_next().await {
        let served = joined.unwrap().unwrap();
        assert_eq!(served.hsm, "hsm0");
        assert!(served.server.starts_with("hsm-sim "), "{}", served.server);
    }
    let listing = ppin.list().await.unwrap();
    for user in &users {
        let status = listing.users.iter().find(|u| &u.user == user).unwrap();
        assert!(status.configured, "{user} configured");
        assert_eq!(s.stored_secret(user), s.sim.admin().current_secret(user).unwrap());
    }
    assert!(!ppin.status("CLOUD_APP").await.unwrap().configured);
    let results = ppin.test(&TestFilter::all()).await.unwrap();
    assert_eq!(results.iter().filter(|r| r.outcome.is_ok()).count(), 6);
    assert!(matches!(
        results.iter().find(|r| r.user == "CLOUD_APP").unwrap().outcome,
        Err(PpinError::NotConfigured { .. })
    ));
}

#[tokio::test]
async fn errors_carry_user_hsm_code_and_attempts() {
    let s = setup(1);
    let ppin = Ppin::open(Some(&s.primus_cfg), Some(&s.secrets_cfg), KeySource::Default).unwrap();
    let error = ppin.status("NOBODY").await.unwrap_err();
    assert_eq!(error.vendor_code().map(|c| c.0), Some(0x8000_5012));
    assert_eq!(error.user(), Some("NOBODY"));
    assert!(error.is_local());

    let wrong = password("WRONG-WRONG-WRONG-WRONG-WRONG".to_owned());
    let error = ppin.add("U0001", &wrong, &password(s.pkcs11_password("U0001"))).await.unwrap_err();
    assert_eq!(error.kind(), "bad_setup_password");
    assert_eq!(error.user(), Some("U0001"));
    assert_eq!(error.hsm().map(|h| h.name.as_str()), Some("hsm0"));
    assert_eq!(error.vendor_code().map(|c| c.0), Some(0x8000_5017));
    assert_eq!(error.attempts_left(), Some(common::THRESHOLD - 1));
    assert_eq!(error.locked_until(), None);
    assert!(!error.is_local());
    assert!(error.next_step().starts_with("check the setup password"));
    let debug = format!("{error:?}");
    assert!(!debug.contains("WRONG-WRONG"), "Debug output holds no password: {debug}");
}

#[tokio::test]
async fn an_hsm_that_hangs_is_skipped_after_the_connect_timeout() {
    let s = setup(1);
    // Accepts TCP connections and never answers the TLS handshake.
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let hole_port = black_hole.local_addr().unwrap().port();
    let text = std::fs::read_to_string(&s.primus_cfg).unwrap();
    let live = extract_hsm0(&text);
    let hanging = live
        .replacen("hsm0", "hsm_hanging", 1)
        .replace(&format!("\"{}\"", s.sim.port()), &format!("\"{hole_port}\""))
        .replacen('{', "{ priority = -5;", 1);
    let cfg_text = text.replacen(&live, &format!("{live}{hanging}"), 1);
    let config = PrimusConfig::parse(&cfg_text, &s.dir.path().join("primus.cfg")).unwrap();
    assert_eq!(config.user("U0001").unwrap().hsms[0].name, "hsm_hanging");
    let store = secrets_cfg::SecretsStore::open(&s.secrets_cfg, KeySource::Default).unwrap();
    let ppin = Ppin::new(config, store).with_timeouts(Timeouts::new(Duration::from_millis(300), Duration::from_secs(10)));

    let started = Instant::now();
    let served = ppin
        .add("U0001", &password(s.setup_password("U0001")), &password(s.pkcs11_password("U0001")))
        .await
        .unwrap();
    assert_eq!(served.hsm, "hsm0");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    drop(black_hole);
}
