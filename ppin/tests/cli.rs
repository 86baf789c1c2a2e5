//! The real `ppin` binary against a real `hsm-sim` process over TLS on loopback.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::time::Duration;

use common::{extract_hsm0, ppin_command, setup, BANNER, LIFESPAN, THRESHOLD};

#[test]
fn add_list_test_update_remove() {
    let s = setup(2);
    assert_eq!(
        s.ppin(&["-l"]).ok(),
        format!(
            "{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: MISSING\n\
             [02] slot-id 1:    user 'U0002'      permanent secret: MISSING\n\
             [03] slot-id 2:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n"
        )
    );

    // After an add the vendor prints every status line.
    let add = s.add("U0001");
    assert_eq!(
        add.ok(),
        format!(
            "{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: Configured\n\
             [02] slot-id 1:    user 'U0002'      permanent secret: MISSING\n\
             [03] slot-id 2:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n"
        )
    );
    let issued = s.sim.admin().current_secret("U0001").unwrap();
    assert!(issued.is_some());
    // Secrets are compared with `assert!` throughout: `assert_eq!` would print them.
    assert!(
        s.stored_secret("U0001") == issued,
        "the stored secret is the one the HSM issued"
    );
    assert!(s
        .ppin(&["-l"])
        .ok()
        .contains("[01] slot-id 0:    user 'U0001'      permanent secret: Configured\n"));

    // Adding again is refused locally: no HSM request.
    let requests = s.counters("U0001").0;
    let again = s.add("U0001");
    assert!(again
        .failed()
        .contains("user 'U0001' already has a permanent secret: run `ppin -u -e U0001`"));
    let prompted = s.ppin_with_input(&["-ae", "U0001"], "a\nb\n");
    assert!(
        prompted
            .failed()
            .starts_with("ppin: error: user 'U0001' already has"),
        "no prompt: {}",
        prompted.stderr
    );
    assert_eq!(s.counters("U0001").0, requests);

    let test = s.ppin(&["-t"]);
    assert_eq!(
        test.code,
        Some(1),
        "U0002 and CLOUD_APP have no secret: {}",
        test.stdout
    );
    assert!(test.stdout.starts_with(BANNER));
    assert!(
        test.stdout
            .contains("[01] slot-id 0: user 'U0001' login: OK (hsm0 127.0.0.1:"),
        "{}",
        test.stdout
    );
    assert!(test.stdout.contains("[02] slot-id 1: user 'U0002' login: FAILED: user 'U0002' has no permanent secret (MISSING): run `ppin -a -e U0002` first"));
    let only = s.ppin(&["-t", "--user", "U0001"]);
    assert!(only.ok().contains("user 'U0001' login: OK"));
    assert!(!only.stdout.contains("U0002"));
    assert!(s
        .ppin(&["-t", "--slotid", "0"])
        .ok()
        .contains("user 'U0001' login: OK"));
    let nobody = s.ppin(&["-t", "--slotid", "7"]);
    assert!(
        nobody.failed().contains("has no slot-id 7: run `ppin -l`"),
        "{}",
        nobody.stderr
    );

    // Update: a new secret replaces the old one, which stops working.
    let update = s.ppin(&[
        "-ue",
        "U0001",
        &s.setup_password("U0001"),
        &s.pkcs11_password("U0001"),
    ]);
    assert_eq!(
        update.ok(),
        format!(
            "{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: Configured\n\
             [02] slot-id 1:    user 'U0002'      permanent secret: MISSING\n\
             [03] slot-id 2:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n"
        )
    );
    let status = s.sim.admin().user("U0001").unwrap();
    assert_eq!(status.secrets_issued.len(), 2);
    assert!(
        Some(&status.secrets_issued[0]) != s.stored_secret("U0001").as_ref(),
        "the old secret is still stored"
    );
    assert!(
        s.stored_secret("U0001").as_ref() == status.secrets_issued.last(),
        "the stored secret is not the current one"
    );
    assert!(s
        .ppin(&["-t", "--user", "U0001"])
        .ok()
        .contains("login: OK"));

    // After a removal, only the user's own lines, numbered as in `-l`.
    let remove = s.ppin(&["-re", "U0001"]);
    assert_eq!(
        remove.ok(),
        format!("{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: MISSING\n")
    );
    assert_eq!(s.stored_secret("U0001"), None);
    let missing = s.ppin(&["-t", "--user", "U0001"]);
    assert!(missing
        .stdout
        .contains("login: FAILED: user 'U0001' has no permanent secret"));
    assert_eq!(missing.code, Some(1));
    // Removing what is not there succeeds and changes nothing.
    let before = s.secrets_bytes();
    s.ppin(&["-r", "-e", "U0001"]).ok();
    assert_eq!(s.secrets_bytes(), before);
}

#[test]
fn no_output_ever_holds_a_password_or_secret() {
    let s = setup(1);
    let (setup_password, pin) = (s.setup_password("U0001"), s.pkcs11_password("U0001"));
    let proxy = s.proxy_password("SERVICE_USER");
    let runs = [
        s.ppin(&["--json", "-ae", "U0001", &setup_password, &pin]),
        s.ppin(&["--json", "-t"]),
        s.ppin(&["--json", "-l"]),
        s.ppin(&["-pe", "SERVICE_USER", &proxy]),
        s.ppin(&["--json", "-ue", "U0001", &setup_password, "wrong-pin"]),
        s.ppin(&["-ae", "U0001", &setup_password, &pin]),
        s.ppin(&["--json", "-ue", "U0001", &setup_password, &pin]),
    ];
    let issued = s.sim.admin().user("U0001").unwrap().secrets_issued;
    assert_eq!(issued.len(), 2, "add and update each issued one");
    for run in &runs {
        for secret in [&setup_password, &pin, &proxy, &issued[0], &issued[1]] {
            assert!(!run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
        }
    }
    assert_eq!(runs[0].json()["served"]["user"], "U0001");
    assert_eq!(runs[6].json()["status"]["configured"], true);
}

#[test]
fn wrong_setup_password_costs_one_trial_and_writes_nothing() {
    let s = setup(2);
    s.add("U0002").ok();
    let before = s.secrets_bytes().expect("file written by the first add");
    let wrong = "WRONG-WRONG-WRONG-WRONG-WRONG";
    let run = s.ppin(&["-ae", "U0001", wrong, &s.pkcs11_password("U0001")]);
    let stderr = run.failed();
    assert!(
        stderr.contains(&format!(
            "HSM hsm0 (127.0.0.1:{}) refused the setup password of user 'U0001' (0x80005017), {} attempts left: check the setup password",
            s.sim.port(),
            THRESHOLD - 1
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains(wrong) && !stderr.contains(&s.pkcs11_password("U0001")),
        "no password in errors"
    );
    assert_eq!(
        s.counters("U0001"),
        (1, 1, 0),
        "exactly one request, one wrong API trial"
    );
    assert_eq!(
        s.secrets_bytes().unwrap(),
        before,
        ".secrets.cfg is byte-identical"
    );

    // The JSON form carries the same facts for scripts.
    let json = s.ppin(&["--json", "-ae", "U0001", wrong, "x"]).json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"]["kind"], "bad_setup_password");
    assert_eq!(json["error"]["vendor_code"], "0x80005017");
    assert_eq!(json["error"]["attempts_left"], THRESHOLD - 2);
    assert_eq!(json["error"]["user"], "U0001");
    assert_eq!(json["error"]["hsm"], "hsm0");
}

#[test]
fn malformed_setup_password_costs_no_trial() {
    let s = setup(1);
    for typo in [
        "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L",
        "fxajx-xwvq3-dc0o5-3slqf-lj9l3",
        "FXAJX XWVQ3 DC0O5 3SLQF LJ9L3",
    ] {
        let run = s.ppin(&["-ae", "U0001", typo, "pin"]);
        let stderr = run.failed();
        assert!(
            stderr.contains("the setup password for 'U0001' is malformed"),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was sent to the HSM"));
        assert!(!stderr.contains(typo));
    }
    assert_eq!(s.counters("U0001"), (0, 0, 0), "the HSM saw nothing");
    assert_eq!(s.secrets_bytes(), None, "no file was created");

    // A malformed password for an update changes nothing either (no removal).
    s.add("U0001").ok();
    let (requests, before) = (s.counters("U0001").0, s.secrets_bytes());
    let update = s.ppin(&["-ue", "U0001", "SHORT", "pin"]);
    assert!(
        update
            .failed()
            .contains("is malformed: it has 5 characters instead of 29"),
        "{}",
        update.stderr
    );
    assert_eq!(s.counters("U0001").0, requests);
    assert_eq!(s.secrets_bytes(), before);
}

#[test]
fn lockout_after_threshold_names_the_remaining_time() {
    let s = setup(1);
    let wrong = "WRONG-WRONG-WRONG-WRONG-WRONG";
    let pin = s.pkcs11_password("U0001");
    for trial in 1..THRESHOLD {
        let stderr = s.ppin(&["-ae", "U0001", wrong, &pin]).failed().to_owned();
        assert!(
            stderr.contains(&format!("{} attempts left", THRESHOLD - trial)),
            "{stderr}"
        );
    }
    let locking = s.ppin(&["-ae", "U0001", wrong, &pin]);
    let stderr = locking.failed();
    assert!(
        stderr.contains("API login is now locked for 5m00s"),
        "{stderr}"
    );
    assert!(
        stderr.contains("check the setup password, and do not retry before "),
        "{stderr}"
    );

    // Even the right password is refused now, with the time that remains.
    s.sim
        .admin()
        .advance_clock(Duration::from_secs(48))
        .unwrap();
    let run = s.add("U0001");
    let stderr = run.failed();
    assert!(
        stderr.contains("API login of user 'U0001' is locked for 4m1"),
        "{stderr}"
    );
    assert!(stderr.contains(" more: do not retry before "), "{stderr}");
    assert!(stderr.ends_with(" UTC\n"), "{stderr}");
    let json = s
        .ppin(&["--json", "-ae", "U0001", &s.setup_password("U0001"), &pin])
        .json();
    assert_eq!(json["error"]["kind"], "api_locked");
    assert!(json["error"]["locked_until"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(
        s.counters("U0001").1,
        THRESHOLD,
        "trials during a lockout are not counted"
    );
    assert_eq!(s.secrets_bytes(), None);
}

#[test]
fn failed_update_after_expiry_removes_the_entry() {
    let s = setup(1);
    s.add("U0001").ok();
    s.sim
        .admin()
        .advance_clock(LIFESPAN + Duration::from_secs(1))
        .unwrap();
    let run = s.ppin(&[
        "-ue",
        "U0001",
        &s.setup_password("U0001"),
        &s.pkcs11_password("U0001"),
    ]);
    let stderr = run.failed();
    assert!(
        stderr.contains("the setup password of user 'U0001' has expired (0x80005018)"),
        "{stderr}"
    );
    assert!(stderr.contains("was removed from .secrets.cfg"), "{stderr}");
    assert!(
        stderr.contains("then run `ppin -a -e U0001` (not -u)"),
        "{stderr}"
    );
    assert_eq!(s.stored_secret("U0001"), None);
    assert!(s
        .ppin(&["-l"])
        .ok()
        .contains("user 'U0001'      permanent secret: MISSING"));
    // The next try must be an add; with the expired password it fails the same way.
    let again = s.add("U0001");
    assert!(
        again.failed().contains("the setup password of user 'U0001' has expired (0x80005018): ask the HSM administrator for a new setup password"),
        "{}",
        again.stderr
    );
    // An update of a user without a secret is refused locally.
    let update = s.ppin(&["-ue", "U0001", &s.setup_password("U0001"), "pin"]);
    assert!(update
        .failed()
        .contains("has no permanent secret (MISSING): run `ppin -a -e U0001` first"));
}

#[test]
fn failed_update_with_wrong_setup_password_removes_the_entry() {
    let s = setup(1);
    s.add("U0001").ok();
    let issued = s.stored_secret("U0001");
    let run = s.ppin(&[
        "-ue",
        "U0001",
        "WRONG-WRONG-WRONG-WRONG-WRONG",
        &s.pkcs11_password("U0001"),
    ]);
    assert!(run
        .failed()
        .contains("refused the setup password of user 'U0001' (0x80005017)"));
    assert_eq!(s.stored_secret("U0001"), None);
    // The HSM did not issue a new secret: the old one is still the current one there.
    assert!(
        s.sim.admin().current_secret("U0001").unwrap() == issued,
        "the HSM's current secret changed"
    );
}

#[test]
fn pkcs11_lockout_leaves_api_login_working() {
    let s = setup(1);
    s.add("U0001").ok();
    // A second host (its own .secrets.cfg) keeps typing a wrong PKCS#11 password.
    let other = s.dir.path().join("other-host.secrets.cfg");
    let setup_password = s.setup_password("U0001");
    for trial in 1..=THRESHOLD {
        let run = ppin_command()
            .args([
                "-c",
                s.primus_cfg.to_str().unwrap(),
                "-s",
                other.to_str().unwrap(),
            ])
            .args(["-ae", "U0001", &setup_password, "wrong-pin"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1));
        assert!(
            stderr.contains("refused the PKCS#11 password of user 'U0001' (0x8000000B)"),
            "{stderr}"
        );
        if trial == THRESHOLD {
            assert!(
                stderr.contains("PKCS#11 access is now locked for 5m00s"),
                "{stderr}"
            );
        }
    }
    let locked = ppin_command()
        .args([
            "-c",
            s.primus_cfg.to_str().unwrap(),
            "-s",
            other.to_str().unwrap(),
        ])
        .args(["-ae", "U0001", &setup_password, &s.pkcs11_password("U0001")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&locked.stderr);
    assert!(
        stderr.contains("PKCS#11 access of user 'U0001' is locked for"),
        "{stderr}"
    );
    assert!(
        stderr.contains("(API login still works): do not retry before"),
        "{stderr}"
    );
    assert!(!other.exists(), "the second host stored nothing");
    // API login with the permanent secret still works.
    assert!(s
        .ppin(&["-t", "--user", "U0001"])
        .ok()
        .contains("login: OK"));
    assert_eq!(s.counters("U0001").1, 0);
}

#[test]
fn cloudhsm_user_needs_the_proxy_password_first() {
    let s = setup(1);
    let run = s.add("CLOUD_APP");
    let stderr = run.failed();
    assert!(
        stderr.contains("user 'CLOUD_APP' sits behind the CloudHSM service proxy 'SERVICE_USER', whose password is not in .secrets.cfg: run `ppin -p -e SERVICE_USER` first"),
        "{stderr}"
    );
    assert_eq!(
        s.counters("CLOUD_APP").0,
        0,
        "refused before any connection"
    );
    let prompted = s.ppin_with_input(&["-ae", "CLOUD_APP"], "a\nb\n");
    assert!(
        prompted
            .failed()
            .starts_with("ppin: error: user 'CLOUD_APP' sits behind"),
        "refused before prompting: {}",
        prompted.stderr
    );

    // A wrong proxy password is stored (ppin -p does not contact the HSM) and refused at the next add.
    s.ppin(&["-pe", "SERVICE_USER", "not-the-proxy-password"])
        .ok();
    let wrong = s.add("CLOUD_APP");
    assert!(
        wrong
            .failed()
            .contains("refused the service proxy password"),
        "{}",
        wrong.stderr
    );
    assert!(wrong
        .stderr
        .contains("run `ppin -p -e SERVICE_USER` with the correct service proxy password"));
    assert_eq!(s.stored_secret("CLOUD_APP"), None);

    // The prompt path, reading the proxy password from stdin.
    let proxy = s.ppin_with_input(
        &["-p", "-e", "SERVICE_USER"],
        &format!("{}\n", s.proxy_password("SERVICE_USER")),
    );
    assert_eq!(
        proxy.ok(),
        format!(
            "{BANNER}{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: MISSING\n\
             [02] slot-id 1:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: Configured\n"
        )
    );
    assert_eq!(
        proxy.stderr,
        "Provide proxy password for 'SERVICE_USER' : \n"
    );
    assert_eq!(
        s.add("CLOUD_APP").ok(),
        format!(
            "{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: MISSING\n\
             [02] slot-id 1:    user 'CLOUD_APP'  permanent secret: Configured\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: Configured\n"
        )
    );
    assert!(s
        .ppin(&["-t", "--user", "CLOUD_APP"])
        .ok()
        .contains("user 'CLOUD_APP' login: OK"));

    let remove = s.ppin(&["-xe", "SERVICE_USER"]);
    assert_eq!(
        remove.ok(),
        format!("{BANNER}[01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n")
    );
    let test = s.ppin(&["-t", "--user", "CLOUD_APP"]);
    assert!(test
        .stdout
        .contains("login: FAILED: user 'CLOUD_APP' sits behind the CloudHSM service proxy"));
    assert!(s
        .ppin(&["-pe", "U0001", "pw"])
        .failed()
        .contains("service proxy user 'U0001' is not in"));
}

#[test]
fn passwords_are_read_from_stdin_lines_with_the_vendor_prompts() {
    let s = setup(1);
    let input = format!(
        "{}\n{}\n",
        s.setup_password("U0001"),
        s.pkcs11_password("U0001")
    );
    let run = s.ppin_with_input(&["-a", "-e", "U0001"], &input);
    // The vendor's banner comes before the prompts and again with the result.
    assert_eq!(
        run.ok(),
        format!(
            "{BANNER}{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: Configured\n\
             [02] slot-id 1:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n"
        )
    );
    assert_eq!(
        run.stderr,
        "Provide setup password for 'U0001': \nProvide PKCS11 password for 'U0001': \n"
    );
    // One positional password: the other is prompted for.
    s.ppin(&["-re", "U0001"]).ok();
    let run = s.ppin_with_input(
        &["-ae", "U0001", &s.setup_password("U0001")],
        &format!("{}\r\n", s.pkcs11_password("U0001")),
    );
    run.ok();
    assert_eq!(run.stderr, "Provide PKCS11 password for 'U0001': \n");
    // Input that ends early is an error naming what is missing.
    s.ppin(&["-re", "U0001"]).ok();
    let short = s.ppin_with_input(
        &["-ae", "U0001"],
        &format!("{}\n", s.setup_password("U0001")),
    );
    assert!(
        short
            .failed()
            .contains("no PKCS11 password for 'U0001': standard input ended"),
        "{}",
        short.stderr
    );
}

#[test]
fn unknown_user_and_missing_config_have_vendor_codes() {
    let s = setup(1);
    let run = s.ppin(&["-ae", "NOBODY"]);
    let stderr = run.failed();
    assert!(stderr.contains("user 'NOBODY' is not in "), "{stderr}");
    assert!(
        stderr.contains("(0x80005012): use one of the configured user_names: U0001, CLOUD_APP"),
        "{stderr}"
    );
    assert!(!stderr.contains("Provide"), "no prompt for an unknown user");

    let missing = s.dir.path().join("absent.cfg");
    let run = s.run_with(&missing, &["-l"], "");
    assert!(
        run.failed().contains("primus.cfg not found (0x80005003)"),
        "{}",
        run.stderr
    );

    let broken = s.edited_primus_cfg("broken.cfg", |text| {
        text.replacen("host = ", "host = = ", 1)
    });
    let run = s.run_with(&broken, &["-l"], "");
    let stderr = run.failed();
    assert!(
        stderr.contains(&format!("{}:", broken.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(":7:14: "),
        "line and column of the error: {stderr}"
    );
}

#[test]
fn the_vendor_environment_variables_locate_both_files() {
    let s = setup(1);
    let run = ppin_command()
        .env("SECUROSYS_PKCS11_CONF", &s.primus_cfg)
        .env("SECUROSYS_SECRETS_CONF", &s.secrets_cfg)
        .args([
            "-ae",
            "U0001",
            &s.setup_password("U0001"),
            &s.pkcs11_password("U0001"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(s.stored_secret("U0001").is_some());
}

#[test]
fn wrong_ca_is_refused_without_a_trial() {
    let s = setup(1);
    let ca = rcgen::generate_simple_self_signed(vec!["other-ca".to_owned()]).unwrap();
    let other_ca = s.dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, ca.cert.pem()).unwrap();
    let cfg = s.edited_primus_cfg("wrong-ca.cfg", |text| {
        text.replace(
            &s.sim.paths().ca_file.display().to_string(),
            &other_ca.display().to_string(),
        )
    });
    let run = s.run_with(
        &cfg,
        &[
            "-ae",
            "U0001",
            &s.setup_password("U0001"),
            &s.pkcs11_password("U0001"),
        ],
        "",
    );
    let stderr = run.failed();
    assert!(
        stderr.contains("the TLS handshake with HSM hsm0"),
        "{stderr}"
    );
    assert!(stderr.contains(
        "check that ca_file of HSM hsm0 in primus.cfg is the CA that signed the HSM's certificate"
    ));
    assert_eq!(s.counters("U0001").0, 0);
    assert_eq!(s.secrets_bytes(), None);
}

#[test]
fn redundant_hsms_fail_over_on_connection_failure_only() {
    let s = setup(1);
    // A port nothing listens on: bind, note the port, close.
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let original = std::fs::read_to_string(&s.primus_cfg).unwrap();
    let live = extract_hsm0(&original);
    let dead = live.replacen("hsm0", "hsm_dead", 1).replace(
        &format!("\"{}\"", s.sim.port()),
        &format!("\"{dead_port}\""),
    );
    let dead = dead.replacen("{", "{ priority = -1;", 1);
    let cfg = s.edited_primus_cfg("redundant.cfg", |text| {
        text.replacen(&live, &format!("{live}{dead}"), 1)
    });

    let add = s.run_with(
        &cfg,
        &[
            "--json",
            "-ae",
            "U0001",
            &s.setup_password("U0001"),
            &s.pkcs11_password("U0001"),
        ],
        "",
    );
    let json = add.json();
    assert_eq!(json["ok"], true, "{}", add.stderr);
    assert_eq!(
        json["served"]["hsm"], "hsm0",
        "the dead HSM (tried first) was skipped"
    );
    assert_eq!(
        json["status"]["hsms"],
        serde_json::json!(["hsm_dead", "hsm0"])
    );

    // An authentication failure is final: with two live HSMs, one trial only.
    let twin = live.replacen("hsm0", "hsm1", 1);
    let cfg = s.edited_primus_cfg("twins.cfg", |text| {
        text.replacen(&live, &format!("{live}{twin}"), 1)
    });
    let run = s.run_with(
        &cfg,
        &["-ue", "U0001", "WRONG-WRONG-WRONG-WRONG-WRONG", "x"],
        "",
    );
    assert!(run.failed().contains("HSM hsm0"), "{}", run.stderr);
    assert_eq!(s.counters("U0001").1, 1);

    // Nobody reachable: 0x80005015 naming every HSM tried.
    let all_dead = s.edited_primus_cfg("dead.cfg", |text| {
        text.replace(
            &format!("\"{}\"", s.sim.port()),
            &format!("\"{dead_port}\""),
        )
    });
    let run = s.run_with(
        &all_dead,
        &["-ae", "U0001", &s.setup_password("U0001"), "x"],
        "",
    );
    let stderr = run.failed();
    assert!(
        stderr.contains(
            "no HSM of user 'U0001' could be reached (0x80005015); tried hsm0: cannot connect"
        ),
        "{stderr}"
    );
}

#[test]
fn version_json_and_completions() {
    let s = setup(1);
    let version = s.ppin(&["-v"]);
    let out = version.ok();
    assert!(
        out.starts_with(&format!(
            "{BANNER}ppin version {}\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
    assert!(out.contains("HSM hsm0 (127.0.0.1:"), "{out}");
    assert!(out.contains("): hsm-sim "), "{out}");
    let version_json = s.ppin(&["--json", "-v"]).json();
    assert_eq!(version_json["hsms"][0]["product"], "hsm-sim");
    assert_eq!(version_json["version"], env!("CARGO_PKG_VERSION"));
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = s.edited_primus_cfg("dead.cfg", |text| {
        text.replace(
            &format!("\"{}\"", s.sim.port()),
            &format!("\"{dead_port}\""),
        )
    });
    let unreachable = s.run_with(&dead, &["-v"], "");
    assert_eq!(unreachable.code, Some(1), "an unreachable HSM fails -v");
    assert!(
        unreachable
            .stdout
            .contains("): unavailable: no HSM could be reached (0x80005015)"),
        "{}",
        unreachable.stdout
    );

    let json = s.ppin(&["--json", "-l"]).json();
    assert_eq!(json["operation"], "list");
    assert_eq!(json["users"][0]["user"], "U0001");
    assert_eq!(json["users"][0]["configured"], false);
    assert_eq!(json["proxies"][0]["proxy_user"], "SERVICE_USER");
    assert_eq!(
        json["proxies"][0]["users"],
        serde_json::json!(["CLOUD_APP"])
    );

    let bash = ppin_command()
        .args(["--completions", "bash"])
        .output()
        .unwrap();
    assert_eq!(bash.status.code(), Some(0));
    let script = String::from_utf8(bash.stdout).unwrap();
    assert!(
        script.contains("_ppin()") && script.contains("--slotid"),
        "{script}"
    );
    let usage = ppin_command().args(["-a"]).output().unwrap();
    assert_eq!(
        usage.status.code(),
        Some(2),
        "a bad command line is a usage error"
    );
}

#[test]
fn usage_errors_name_the_tool_and_speak_json_when_asked() {
    let list_user = ppin_command().args(["-l", "-e", "X"]).output().unwrap();
    assert_eq!(list_user.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&list_user.stderr);
    assert!(
        stderr.starts_with("ppin: error: -l takes no user; drop -e X"),
        "{stderr}"
    );
    let json = ppin_command().args(["-a", "--json"]).output().unwrap();
    assert_eq!(json.status.code(), Some(2));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["ok"], false);
    assert_eq!(document["error"]["kind"], "usage");
    assert!(String::from_utf8_lossy(&json.stderr).starts_with("ppin: error: "));
    let help = ppin_command().arg("-h").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("Exit status:") && help.contains("130"),
        "{help}"
    );
    assert!(help.contains("Examples:") && help.contains("ppin -a -e PARTITION_USER"));
}

/// Sets the immutable attribute on a path until dropped; root obeys it.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn set(path: &std::path::Path) -> Self {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chattr +i {} failed", path.display());
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_secrets_file_that_cannot_be_written_is_refused_before_any_hsm_contact() {
    let s = setup(1);
    let (setup_password, pkcs11) = (s.setup_password("U0001"), s.pkcs11_password("U0001"));
    let connections = || s.sim.admin().status().unwrap().connections;
    let before = connections();

    // A directory that does not exist: the vendor's code for a missing secrets file.
    let missing = s.dir.path().join("absent").join(".secrets.cfg");
    let run = ppin_command()
        .arg("-c")
        .arg(&s.primus_cfg)
        .arg("-s")
        .arg(&missing)
        .args(["-ae", "U0001", &setup_password, &pkcs11])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("0x80005004"), "{stderr}");
    assert_eq!(
        connections(),
        before,
        "no HSM contact for a missing directory"
    );

    // An update into a file that cannot be written keeps the working entry: the HSM is never asked.
    s.add("U0001").ok();
    let issued = s.stored_secret("U0001");
    let after_add = connections();
    let guard = Immutable::set(&s.secrets_cfg);
    let update = s.ppin(&["-ue", "U0001", &setup_password, &pkcs11]);
    let stderr = update.failed();
    assert!(stderr.contains("0x80005007"), "{stderr}");
    assert_eq!(
        connections(),
        after_add,
        "no HSM contact for an unwritable file"
    );
    drop(guard);
    assert!(s.stored_secret("U0001") == issued, "the entry is unchanged");
    assert_eq!(s.ppin(&["-t", "--user", "U0001"]).code, Some(0));
}
