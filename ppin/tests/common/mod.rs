//! Shared set-up for the end-to-end tests: a real `hsm-sim` process (TLS on
//! 127.0.0.1) and the real `ppin` binary, each test in its own directory.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hsm_sim::harness::SimProcess;
use hsm_sim::{Policy, SimConfig};
use secrets_cfg::{EntryKind, KeySource, SecretsStore};

/// Wrong trials that lock a counter, in these tests.
pub(crate) const THRESHOLD: u32 = 3;
/// How long a lockout lasts, in these tests.
pub(crate) const LOCKOUT: Duration = Duration::from_secs(300);
/// Setup-password lifespan (the vendor's HSM default).
pub(crate) const LIFESPAN: Duration = Duration::from_secs(72 * 3600);

/// A simulator with partition users `U0001..` and, behind the service proxy
/// `SERVICE_USER`, the CloudHSM user `CLOUD_APP`; plus a directory for the
/// client's `.secrets.cfg`.
pub(crate) struct Setup {
    pub(crate) sim: SimProcess,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) primus_cfg: PathBuf,
    pub(crate) secrets_cfg: PathBuf,
}

pub(crate) fn setup(users: usize) -> Setup {
    let mut config = SimConfig::generated(users).with_proxied_user("CLOUD_APP", "SERVICE_USER");
    config.policy = Policy {
        setup_password_lifespan: LIFESPAN,
        attempt_threshold: THRESHOLD,
        reset_window: LOCKOUT,
        lockout: LOCKOUT,
    };
    let sim = SimProcess::start(config).expect("hsm-sim starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets_cfg = dir.path().join(".secrets.cfg");
    let primus_cfg = sim.paths().primus_cfg.clone();
    Setup {
        sim,
        dir,
        primus_cfg,
        secrets_cfg,
    }
}

/// What a finished `ppin` run left behind.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "ppin failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts exit status 1 and returns stderr.
    pub(crate) fn failed(&self) -> &str {
        assert_eq!(
            self.code,
            Some(1),
            "ppin did not fail as expected:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        &self.stderr
    }

    /// stdout parsed as the `--json` document.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// A `ppin` command with the vendor environment cleared, so only what a test
/// passes reaches it.
pub(crate) fn ppin_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ppin"));
    command
        .env_remove("SECUROSYS_PKCS11_CONF")
        .env_remove("SECUROSYS_SECRETS_CONF")
        .env_remove("SECUROSYS_SECRETS_KEY");
    command
}

impl Setup {
    /// Runs `ppin -c <primus.cfg> -s <.secrets.cfg> ARGS` with `stdin` piped in.
    pub(crate) fn ppin_with_input(&self, args: &[&str], stdin: &str) -> Run {
        self.run_with(&self.primus_cfg, args, stdin)
    }

    /// Runs `ppin -c <primus.cfg> -s <.secrets.cfg> ARGS` with empty stdin.
    pub(crate) fn ppin(&self, args: &[&str]) -> Run {
        self.ppin_with_input(args, "")
    }

    /// As [`Setup::ppin`] with another `primus.cfg`.
    pub(crate) fn run_with(&self, primus_cfg: &Path, args: &[&str], stdin: &str) -> Run {
        let mut child = ppin_command()
            .arg("-c")
            .arg(primus_cfg)
            .arg("-s")
            .arg(&self.secrets_cfg)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ppin starts");
        let mut input = child.stdin.take().expect("stdin piped");
        // ppin may exit before reading (e.g. a refusal): a broken pipe is fine.
        let _ = input.write_all(stdin.as_bytes());
        drop(input);
        Run::from(child.wait_with_output().expect("ppin runs"))
    }

    pub(crate) fn setup_password(&self, user: &str) -> String {
        self.sim
            .config()
            .user(user)
            .expect("user")
            .setup_password
            .expose_secret()
            .to_owned()
    }

    pub(crate) fn pkcs11_password(&self, user: &str) -> String {
        self.sim
            .config()
            .user(user)
            .expect("user")
            .pkcs11_password
            .expose_secret()
            .to_owned()
    }

    pub(crate) fn proxy_password(&self, proxy: &str) -> String {
        self.sim
            .config()
            .proxy(proxy)
            .expect("proxy")
            .password
            .expose_secret()
            .to_owned()
    }

    /// `ppin -a -e USER SETUP PKCS11` with the right passwords.
    pub(crate) fn add(&self, user: &str) -> Run {
        self.ppin(&[
            "-ae",
            user,
            &self.setup_password(user),
            &self.pkcs11_password(user),
        ])
    }

    /// The permanent secret stored for `user`, hex, read with secrets-cfg.
    pub(crate) fn stored_secret(&self, user: &str) -> Option<String> {
        let store = SecretsStore::open(&self.secrets_cfg, KeySource::Default).expect("store opens");
        match store.get(EntryKind::User, user) {
            Ok(secret) => secret.map(|s| hex::encode(s.expose_secret())),
            Err(secrets_cfg::Error::NotFound { .. }) => None,
            Err(e) => panic!("cannot read {}: {e}", self.secrets_cfg.display()),
        }
    }

    /// The bytes of `.secrets.cfg`, or `None` if it does not exist.
    pub(crate) fn secrets_bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(&self.secrets_cfg).ok()
    }

    /// Requests and wrong trials the simulator counted for `user`.
    pub(crate) fn counters(&self, user: &str) -> (u64, u32, u32) {
        let status = self.sim.admin().user(user).expect("admin answers");
        (status.requests, status.api_failures, status.pkcs11_failures)
    }

    /// Writes a copy of primus.cfg with `edit` applied and returns its path.
    pub(crate) fn edited_primus_cfg(
        &self,
        name: &str,
        edit: impl FnOnce(String) -> String,
    ) -> PathBuf {
        let text = std::fs::read_to_string(&self.primus_cfg).expect("primus.cfg readable");
        let path = self.dir.path().join(name);
        std::fs::write(&path, edit(text)).expect("primus.cfg copy written");
        path
    }
}

/// The `hsm0: { ... };` block of a primus.cfg written by hsm-sim.
pub(crate) fn extract_hsm0(text: &str) -> String {
    let start = text.find("    hsm0:").expect("hsm0 block");
    let end = text[start..].find("\n    };\n").expect("end of hsm0") + start + "\n    };\n".len();
    text[start..end].to_owned()
}

/// The vendor banner every report starts with.
pub(crate) const BANNER: &str =
    "********************\nPrimus Permanent PIN\n********************\n";

/// A runtime for the tests that drive async engines: two workers, so a
/// blocking store call and the tool's I/O make progress side by side.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}
