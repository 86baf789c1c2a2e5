//! The hsm-sim binary's files, dev mode, config errors and logs.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hsm_sim::harness::{HarnessError, SimProcess};
use hsm_sim::SimConfig;
use primus_core::libconfig::{self, Value};

const BIN: &str = env!("CARGO_BIN_EXE_hsm-sim");

fn get<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |v, key| {
        v.as_group()
            .and_then(|g| g.get(key))
            .unwrap_or_else(|| panic!("no {key}"))
    })
}

#[test]
fn primus_cfg_names_the_port_ca_and_slots() {
    let sim = SimProcess::start_with_binary(
        Path::new(BIN),
        SimConfig::generated(2).with_proxied_user("CLOUD", "PROXY"),
    )
    .unwrap();
    let text = std::fs::read_to_string(&sim.paths().primus_cfg).unwrap();
    let root = Value::Group(libconfig::parse(&text).unwrap());
    assert_eq!(get(&root, &["version"]).as_str(), Some("1.0"));
    let hsm = get(&root, &["primus", "hsms", "hsm0"]);
    assert_eq!(get(hsm, &["host"]).as_str(), Some("127.0.0.1"));
    assert_eq!(
        get(hsm, &["port"]).as_str(),
        Some(sim.port().to_string().as_str())
    );
    let ca = get(hsm, &["ca_file"]).as_str().unwrap();
    assert_eq!(Path::new(ca), sim.paths().ca_file);
    assert!(std::fs::read_to_string(ca)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let slot = get(hsm, &["slots", "slot2"]);
    assert_eq!(get(slot, &["user_name"]).as_str(), Some("CLOUD"));
    assert_eq!(get(slot, &["id"]).as_int(), Some(2));
    assert_eq!(get(slot, &["proxy_user"]).as_str(), Some("PROXY"));
    assert_eq!(
        get(
            &root,
            &["primus", "hsms", "hsm0", "slots", "slot0", "user_name"]
        )
        .as_str(),
        Some("U0001")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sim.paths().server_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the server key is private");
    }
}

#[test]
fn an_invalid_config_is_refused_naming_the_user() {
    let mut config = SimConfig::generated(1);
    config.users[0].setup_password = hsm_wire::Password::new("too-short".to_owned());
    let error = SimProcess::start_with_binary(Path::new(BIN), config).unwrap_err();
    assert!(matches!(error, HarnessError::Start { .. }));
    let text = error.to_string();
    assert!(
        text.contains("user 'U0001'") && text.contains("XXXXX-XXXXX"),
        "{text}"
    );
    assert!(
        !text.contains("too-short"),
        "the password must not be echoed: {text}"
    );

    // The binary itself reports a broken file with its path and position, and exits non-zero.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sim.json");
    std::fs::write(&config, r#"{"users": [{"name": "A"}]}"#).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sim.json")
            && stderr.contains("setup_password")
            && stderr.contains("line 1"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("primus.cfg").exists(),
        "nothing written for a refused config"
    );
}

#[test]
fn the_log_never_shows_credentials_or_secrets() {
    let sim = SimProcess::start_with_binary(Path::new(BIN), SimConfig::generated(1)).unwrap();
    let user = sim.config().users[0].clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let connector = hsm_wire::Connector::from_ca_file(&sim.paths().ca_file).unwrap();
        let mut conn = connector
            .connect("127.0.0.1", sim.port(), None)
            .await
            .unwrap();
        conn.fetch_secret(&user.name, &user.setup_password, &user.pkcs11_password)
            .await
            .unwrap();
        conn.fetch_secret(
            &user.name,
            &user.setup_password,
            &hsm_wire::Password::new("wrongpin".to_owned()),
        )
        .await
        .unwrap_err();
    });
    let secret = sim.admin().current_secret(&user.name).unwrap().unwrap();
    let log = sim.log_tail();
    assert!(
        log.contains("fetch_secret") && log.contains("bad_pkcs11_password"),
        "the log records requests: {log}"
    );
    for hidden in [
        user.setup_password.expose_secret(),
        user.pkcs11_password.expose_secret(),
        "wrongpin",
        &secret,
    ] {
        assert!(!log.contains(hidden), "log shows a secret");
    }
    // Debug output of the config redacts the passwords too.
    let debug = format!("{:?}", sim.config());
    assert!(!debug.contains(user.setup_password.expose_secret()));
}

#[test]
fn dev_mode_prints_exports_writes_dev_env_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dev");
    let mut child = Command::new(BIN)
        .args(["--dev", "--state-dir"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dev_env = state.join("dev.env");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dev_env.exists() {
        assert!(Instant::now() < deadline, "dev.env not written");
        std::thread::sleep(Duration::from_millis(20));
    }
    // dev.env appears by rename, complete, after the ready file.
    let env = std::fs::read_to_string(&dev_env).unwrap();
    let value = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            // Not the file itself in the message: it holds the dev passwords.
            .unwrap_or_else(|| panic!("no {key} in dev.env"))
            .to_owned()
    };
    assert_eq!(
        Path::new(&value("SECUROSYS_PKCS11_CONF")),
        state.join("primus.cfg")
    );
    assert_eq!(
        Path::new(&value("SECUROSYS_SECRETS_CONF")),
        state.join(".secrets.cfg")
    );
    assert_eq!(value("PRIMUS_DEV_USER"), "DEV_PARTITION");
    assert!(
        hsm_wire::check_setup_password(&hsm_wire::Password::new(value(
            "PRIMUS_DEV_SETUP_PASSWORD"
        )))
        .is_ok()
    );
    assert_eq!(value("PRIMUS_DEV_PROXY_USER"), "DEV_SERVICE_PROXY");

    // The credentials work against the running simulator.
    let ready: hsm_sim::Ready =
        serde_json::from_slice(&std::fs::read(state.join("ready.json")).unwrap()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let connector = hsm_wire::Connector::from_ca_file(&state.join("ca.pem")).unwrap();
        let mut conn = connector
            .connect("127.0.0.1", ready.port, None)
            .await
            .unwrap();
        let setup = hsm_wire::Password::new(value("PRIMUS_DEV_SETUP_PASSWORD"));
        let pin = hsm_wire::Password::new(value("PRIMUS_DEV_PKCS11_PASSWORD"));
        conn.fetch_secret("DEV_PARTITION", &setup, &pin)
            .await
            .unwrap();
    });

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit}");
    assert!(
        !state.join("ready.json").exists(),
        "a stopped simulator leaves no ready file"
    );
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert!(
        stdout.contains(&format!(
            "export SECUROSYS_PKCS11_CONF={}",
            state.join("primus.cfg").display()
        )),
        "no export line in the dev output (not shown: it holds the dev passwords)"
    );
    assert!(stdout.contains(&format!(
        "user DEV_PARTITION setup_password {}",
        value("PRIMUS_DEV_SETUP_PASSWORD")
    )));

    // A second dev start in the same directory keeps the same credentials.
    let mut again = Command::new(BIN)
        .args(["--dev", "--state-dir"])
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let config: SimConfig = SimConfig::from_file(&state.join("dev-config.json")).unwrap();
    assert!(
        config.users[0].setup_password.expose_secret() == value("PRIMUS_DEV_SETUP_PASSWORD"),
        "the dev setup password changed across restarts"
    );
    again.kill().unwrap();
    again.wait().unwrap();
}
