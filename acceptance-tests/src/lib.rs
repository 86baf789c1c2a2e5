//! Shared fixture of the acceptance tests: a real `hsm-sim` process
//! ([`hsm_sim::harness::SimProcess`]), the provider installed in a private
//! filesystem mirror of a real Terraform working directory
//! ([`tfplug::testing::Workspace`]) run by each [`Terraform`] release we
//! test on ([`on_every_terraform!`]), and checks against `.secrets.cfg`
//! (through [`secrets_cfg`]) and the simulator's admin listener; and
//! [`StaticHttps`], a local HTTPS server Terraform installs providers from
//! over the registry and network mirror protocols. [`Fleet`] adds
//! simulated remote hosts, each a real OpenSSH `sshd` with its own
//! `primus.cfg` and `.secrets.cfg`, for the tests of resources on a `host`.
//!
//! The binaries under test must be built first (`cargo build --workspace
//! --bins`, as `scripts/test.sh` does); Terraform comes from
//! `scripts/install-tools.sh`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod registry;
mod remote_hosts;

pub use registry::StaticHttps;
pub use remote_hosts::{
    fingerprint, host_block, ppin_binary, require_sshd, require_sudo, Fleet, Onboarding,
    PasswordArguments, ProcessScan, ScanReport, SimHost, SudoRule, SudoUser,
};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use hsm_sim::harness::{SilentHsm, SimProcess};
use hsm_sim::SimConfig;
use secrets_cfg::{EntryKind, KeySource, SecretsStore};
use tfplug::proto::tfplugin6::get_provider_schema;
use tfplug::testing::{
    target_binary, terraform_binary, ClientCert, PluginProcess, TfOutput, Workspace,
};

/// The provider's source address, as users write it.
pub const SOURCE: &str = "primus-iac/primus";
/// The provider version installed in the mirror.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The `terraform` block every test configuration starts with.
pub const TERRAFORM_BLOCK: &str = r#"
terraform {
  required_providers {
    primus = { source = "primus-iac/primus" }
  }
}
"#;

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The environment variable naming a Terraform executable that replaces
/// 1.15.5 in the tests ([`Terraform::binary`]).
pub const OTHER_TERRAFORM: &str = "TF_ACC_TERRAFORM";

/// A Terraform release the suite runs on, both installed by
/// `scripts/install-tools.sh`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Terraform {
    /// The oldest Terraform we support: protocol 6.0, no write-only attributes.
    V1_0_3,
    /// A current Terraform (protocol 6.10; write-only attributes since 1.11).
    V1_15_5,
}

impl Terraform {
    /// The `terraform` executable of this release.
    ///
    /// [`OTHER_TERRAFORM`] (`TF_ACC_TERRAFORM=PATH`) replaces the binary of
    /// [`Terraform::V1_15_5`], so the current-release tests
    /// (`terraform_1_15_5::…`) run on another Terraform: `scripts/compat.sh`
    /// and `scripts/test.sh` run them on every minor from 1.6 to 1.14 that way.
    ///
    /// # Panics
    ///
    /// When `scripts/install-tools.sh` fails.
    pub fn binary(self) -> PathBuf {
        // Runs the (idempotent) install script once per test process.
        let v1_0_3 = terraform_binary().expect("scripts/install-tools.sh installs terraform");
        match self {
            Terraform::V1_0_3 => v1_0_3,
            Terraform::V1_15_5 => match std::env::var_os(OTHER_TERRAFORM) {
                Some(other) => PathBuf::from(other),
                None => v1_0_3.with_file_name("terraform-1.15.5"),
            },
        }
    }

    /// A fresh working directory with `provider_binary` installed as
    /// [`SOURCE`] [`VERSION`], run by this release.
    ///
    /// # Panics
    ///
    /// When Terraform is missing or the directory cannot be made.
    pub fn workspace(self, provider_binary: &Path) -> Workspace {
        let mut ws = Workspace::new(provider_binary, SOURCE, VERSION).expect("terraform workspace");
        ws.set_terraform(self.binary());
        ws
    }
}

/// Runs each named test function (`fn NAME(tf: Terraform)`) on every
/// [`Terraform`] release, as tests `terraform_1_15_5::NAME` and
/// `terraform_1_0_3::NAME`, so a failure names the version.
#[macro_export]
macro_rules! on_every_terraform {
    ($($test:ident),+ $(,)?) => {
        mod terraform_1_15_5 {
            $(#[test]
            fn $test() {
                super::$test($crate::Terraform::V1_15_5)
            })+
        }
        mod terraform_1_0_3 {
            $(#[test]
            fn $test() {
                super::$test($crate::Terraform::V1_0_3)
            })+
        }
    };
}

/// A simulator, a Terraform working directory with the provider, and the
/// environment that points the provider (and `ppin`) at the simulator.
pub struct Fixture {
    /// The running simulator; its admin client observes trials and secrets.
    pub sim: SimProcess,
    /// The Terraform working directory.
    pub ws: Workspace,
}

impl Fixture {
    /// Starts a simulator with `config` and prepares a working directory,
    /// run by `tf`, whose terraform runs see `SECUROSYS_PKCS11_CONF` and
    /// `SECUROSYS_SECRETS_CONF` pointing at it (so `provider "primus" {}` works).
    ///
    /// # Panics
    ///
    /// When the simulator, Terraform or the provider binary is missing.
    pub fn new(tf: Terraform, config: SimConfig) -> Fixture {
        let sim = SimProcess::start(config)
            .expect("hsm-sim starts (run `cargo build --workspace --bins`)");
        let binary =
            target_binary("terraform-provider-primus").expect("the provider binary is built");
        let mut ws = tf.workspace(&binary);
        for (key, value) in env(&sim) {
            ws.set_env(key, &value);
        }
        Fixture { sim, ws }
    }

    /// `primus.cfg` written by the simulator.
    pub fn primus_cfg(&self) -> &Path {
        &self.sim.paths().primus_cfg
    }

    /// The client's `.secrets.cfg` (created by the first add).
    pub fn secrets_cfg(&self) -> &Path {
        &self.sim.paths().secrets_cfg
    }

    /// Writes `main.tf`: the terraform block, then `body`.
    pub fn write(&self, body: &str) {
        self.ws
            .write_config(&format!("{TERRAFORM_BLOCK}\n{body}"))
            .expect("main.tf written");
    }

    /// The setup password of simulator user `user`.
    pub fn setup_password(&self, user: &str) -> String {
        self.sim
            .config()
            .user(user)
            .expect("user in the simulator")
            .setup_password
            .expose_secret()
            .to_owned()
    }

    /// The PKCS#11 password of simulator user `user`.
    pub fn pkcs11_password(&self, user: &str) -> String {
        self.sim
            .config()
            .user(user)
            .expect("user in the simulator")
            .pkcs11_password
            .expose_secret()
            .to_owned()
    }

    /// A `primus_permanent_secret` block named `name` for simulator user
    /// `user` with its passwords written in, plus `extra` lines.
    pub fn permanent_secret(&self, name: &str, user: &str, extra: &str) -> String {
        format!(
            "resource \"primus_permanent_secret\" \"{name}\" {{\n  user            = \"{user}\"\n  \
             setup_password  = \"{}\"\n  pkcs11_password = \"{}\"\n  {extra}\n}}\n",
            self.setup_password(user),
            self.pkcs11_password(user),
        )
    }

    /// The password of simulator proxy `proxy`.
    pub fn proxy_password(&self, proxy: &str) -> String {
        self.sim
            .config()
            .proxy(proxy)
            .expect("proxy in the simulator")
            .password
            .expose_secret()
            .to_owned()
    }

    /// `.secrets.cfg`, opened as the provider opens it.
    pub fn store(&self) -> SecretsStore {
        SecretsStore::open(self.secrets_cfg(), KeySource::Default).expect(".secrets.cfg opens")
    }

    /// The permanent secret `.secrets.cfg` holds for `user`, as hex.
    pub fn stored_secret(&self, user: &str) -> Option<String> {
        if !self.secrets_cfg().exists() {
            return None;
        }
        self.store()
            .get(EntryKind::User, user)
            .expect(".secrets.cfg decrypts")
            .map(|s| hex::encode(s.expose_secret()))
    }

    /// The service proxy password `.secrets.cfg` holds for `proxy`.
    pub fn stored_proxy_password(&self, proxy: &str) -> Option<String> {
        if !self.secrets_cfg().exists() {
            return None;
        }
        let secret = self
            .store()
            .get(EntryKind::ServiceProxy, proxy)
            .expect(".secrets.cfg decrypts")?;
        Some(String::from_utf8(secret.expose_secret().to_vec()).expect("proxy passwords are UTF-8"))
    }

    /// The permanent secret the simulator issued last for `user`, as hex.
    pub fn issued_secret(&self, user: &str) -> Option<String> {
        self.sim
            .admin()
            .current_secret(user)
            .expect("hsm-sim admin answers")
    }

    /// How many secrets the simulator has issued for `user`.
    pub fn issued_count(&self, user: &str) -> usize {
        self.sim
            .admin()
            .user(user)
            .expect("hsm-sim admin answers")
            .secrets_issued
            .len()
    }

    /// Wrong API-login trials the simulator counted for `user`.
    pub fn api_failures(&self, user: &str) -> u32 {
        self.sim
            .admin()
            .user(user)
            .expect("hsm-sim admin answers")
            .api_failures
    }

    /// Asserts that `.secrets.cfg` holds exactly the secret the simulator
    /// issued last for `user`.
    pub fn assert_onboarded(&self, user: &str) {
        let issued = self
            .issued_secret(user)
            .expect("the simulator issued a secret");
        assert_eq!(
            self.stored_secret(user).as_deref(),
            Some(issued.as_str()),
            "stored secret of {user}"
        );
    }

    /// Asserts that a plan (with refresh) and a plan with `-refresh=false`
    /// are both empty.
    pub fn assert_no_changes(&self) {
        let (empty, out) = self.ws.plan().expect("plan runs");
        assert!(empty, "plan must be empty:\n{}\n{}", out.stdout, out.stderr);
        let out = self.terraform(&[
            "plan",
            "-no-color",
            "-input=false",
            "-refresh=false",
            "-detailed-exitcode",
        ]);
        assert_eq!(
            out.code, 0,
            "plan -refresh=false must be empty:\n{}\n{}",
            out.stdout, out.stderr
        );
    }

    /// Runs `terraform ARGS` whatever its exit code.
    pub fn terraform(&self, args: &[&str]) -> TfOutput {
        self.ws.run(args).expect("terraform runs")
    }

    /// `terraform import ADDRESS ID`, which must succeed.
    pub fn import(&self, address: &str, id: &str) {
        let out = self.terraform(&["import", "-no-color", "-input=false", address, id]);
        assert_eq!(
            out.code, 0,
            "import failed:\n{}\n{}",
            out.stdout, out.stderr
        );
    }

    /// `terraform state rm ADDRESS`, which must succeed.
    pub fn forget(&self, address: &str) {
        let out = self.terraform(&["state", "rm", address]);
        assert_eq!(
            out.code, 0,
            "state rm failed:\n{}\n{}",
            out.stdout, out.stderr
        );
    }

    /// `terraform apply`, which must succeed.
    pub fn apply(&self) -> TfOutput {
        self.ws.apply().expect("terraform apply succeeds")
    }

    /// `terraform apply`, which must fail; returns its error output with
    /// Terraform's line wrapping undone (runs of whitespace as one space).
    pub fn apply_fails(&self) -> String {
        let out = self.terraform(&["apply", "-no-color", "-input=false", "-auto-approve"]);
        assert_ne!(out.code, 0, "apply must fail:\n{}", out.stdout);
        unwrap_lines(&out.stderr)
    }

    /// `terraform plan`, which must fail; returns its error output as [`Fixture::apply_fails`] does.
    pub fn plan_fails(&self) -> String {
        let out = self.terraform(&["plan", "-no-color", "-input=false"]);
        assert_ne!(out.code, 0, "plan must fail:\n{}", out.stdout);
        unwrap_lines(&out.stderr)
    }

    /// The state values of `address`, `None` when it is not in the state.
    pub fn values(&self, address: &str) -> Option<serde_json::Value> {
        self.ws
            .resource_values(address)
            .expect("terraform show -json")
    }

    /// `terraform output -json` as JSON.
    pub fn outputs(&self) -> serde_json::Value {
        let out = self
            .ws
            .run_ok(&["output", "-json", "-no-color"])
            .expect("terraform output");
        serde_json::from_str(&out.stdout).expect("terraform output -json prints JSON")
    }

    /// Runs the real `ppin` binary against the simulator with `args`.
    pub fn ppin(&self, args: &[&str]) -> Output {
        let binary = target_binary("ppin").expect("the ppin binary is built");
        Command::new(binary)
            .args(args)
            .envs(env(&self.sim))
            .output()
            .expect("ppin runs")
    }

    /// What a successful `ppin ARGS` printed, each run of blanks made one:
    /// our `ppin` pads its status lines as the vendor's does, and a test
    /// asks what a line says, not how wide its columns are.
    pub fn ppin_text(&self, args: &[&str]) -> String {
        let output = self.ppin(args);
        assert!(
            output.status.success(),
            "ppin {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Fixture {
    /// `terraform ARGS` started in the background, for a test that signals
    /// or kills it while it works.
    ///
    /// # Panics
    ///
    /// When Terraform cannot be started.
    pub fn start(&self, args: &[&str]) -> Running {
        let output = tempfile::tempdir().expect("temp dir for terraform's output");
        let file =
            |name: &str| std::fs::File::create(output.path().join(name)).expect("output file");
        let child = self
            .ws
            .command(args)
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .expect("terraform starts");
        Running {
            child,
            output,
            started: Instant::now(),
        }
    }

    /// Writes `main.tf`: one `primus_permanent_secret` for `user` whose only
    /// HSM is `silent` (it accepts connections and never answers), with a
    /// connect limit of 60 s, so an apply waits in its connect until stopped.
    ///
    /// # Panics
    ///
    /// When the `primus.cfg` for it cannot be written.
    pub fn write_behind(&self, silent: &SilentHsm, user: &str) {
        let primus_cfg = self.sim.paths().dir.join("silent.cfg");
        let text =
            hsm_sim::render_primus_cfg(self.sim.config(), silent.port(), &self.sim.paths().ca_file);
        std::fs::write(&primus_cfg, text).expect("primus.cfg of the silent HSM written");
        self.write(&format!(
            "provider \"primus\" {{\n  config_file     = {:?}\n  connect_timeout = \"60s\"\n}}\n{}",
            primus_cfg.display().to_string(),
            self.permanent_secret("one", user, "")
        ));
    }

    /// Connections and requests the simulator counted since it started:
    /// what a refusal before any HSM contact must leave unchanged.
    pub fn contacts(&self) -> Contacts {
        let status = self.sim.admin().status().expect("hsm-sim admin answers");
        Contacts {
            connections: status.connections,
            requests: status.requests,
        }
    }
}

/// Every contact with the simulator so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Contacts {
    /// TCP connections accepted on the HSM port.
    pub connections: u64,
    /// Requests answered, of every operation.
    pub requests: u64,
}

/// A `terraform` run in the background ([`Fixture::start`]); killed when
/// dropped unfinished, so a failing test leaves no process behind.
pub struct Running {
    child: Child,
    /// Holds the files `stdout` and `stderr`: a pipe nobody reads could
    /// fill up and stall a long apply.
    output: tempfile::TempDir,
    started: Instant,
}

impl Running {
    /// Terraform's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What Terraform printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.output.path().join("stdout")).unwrap_or_default()
    }

    /// Waits (polling, at most `limit`) until stdout contains `text`;
    /// whether it did.
    pub fn wait_for_output(&mut self, text: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.stdout().contains(text) {
                return true;
            }
            if self.has_exited() {
                return self.stdout().contains(text);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Whether Terraform has exited.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// The provider processes Terraform started (`terraform-provider-…`),
    /// from `/proc`.
    pub fn providers(&self) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|pid| is_provider(*pid))
            .collect()
    }

    /// Terraform's own processes: the one started and, below it, every
    /// process that is not a provider. Terraform 1.0 runs as a child of a
    /// wrapper process (panicwrap) that ignores SIGINT; later releases run
    /// in the process started.
    pub fn terraform_processes(&self) -> Vec<u32> {
        self.processes()
            .into_iter()
            .filter(|pid| !is_provider(*pid))
            .collect()
    }

    fn processes(&self) -> Vec<u32> {
        let mut all = vec![self.pid()];
        let mut next = 0;
        while next < all.len() {
            all.extend(children(all[next]));
            next += 1;
        }
        all
    }

    /// Ctrl-C as Terraform sees it: SIGINT to each of Terraform's own
    /// processes (not to the providers, whose handling of a terminal's
    /// SIGINT is another matter).
    ///
    /// # Panics
    ///
    /// When `kill` cannot be run.
    pub fn interrupt(&self) {
        for pid in self.terraform_processes() {
            send_signal(pid, "INT");
        }
    }

    /// SIGKILLs Terraform and reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits at most `limit` for Terraform to exit: its output and how long
    /// it ran since [`Fixture::start`], or `None` if it overran (it is then
    /// killed).
    pub fn wait(mut self, limit: Duration) -> Option<(TfOutput, Duration)> {
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        };
        let elapsed = self.started.elapsed();
        let read =
            |name: &str| std::fs::read_to_string(self.output.path().join(name)).unwrap_or_default();
        let out = TfOutput {
            code: status.code().unwrap_or(-1),
            stdout: read("stdout"),
            stderr: read("stderr"),
        };
        Some((out, elapsed))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.has_exited() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `signal` (e.g. `INT`, `KILL`) to process `pid` with `kill -s`.
///
/// # Panics
///
/// When `kill` cannot be run.
pub fn send_signal(pid: u32, signal: &str) {
    // A process that is already gone is not an error here: the caller checks what it expects.
    let _ = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .expect("kill runs");
}

/// The processes whose parent is `pid`, from `/proc/*/stat`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| parent_of(*child) == Some(pid))
        .collect()
}

/// Whether process `pid` is a Terraform provider (`comm` is cut at 15 bytes).
fn is_provider(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|comm| comm.starts_with("terraform-prov"))
}

/// The parent of process `pid`, `None` once it is gone.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so split after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether process `pid` still runs (a zombie no longer does).
pub fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// The schemas the provider `binary` serves, asked over the plugin protocol
/// as Terraform asks (started with AutoMTLS, `GetProviderSchema`).
pub fn provider_schema(binary: &Path) -> Result<get_provider_schema::Response, String> {
    let cert = ClientCert::generate().map_err(|e| e.to_string())?;
    let provider = PluginProcess::start(binary, &cert).map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let mut client = provider
            .provider_client(&cert)
            .await
            .map_err(|e| e.to_string())?;
        let response = client
            .get_provider_schema(get_provider_schema::Request {})
            .await
            .map_err(|status| format!("GetProviderSchema failed: {status}"))?;
        Ok(response.into_inner())
    })
}

/// `text` with every run of whitespace as one space: Terraform wraps
/// diagnostic details at 78 columns.
pub fn unwrap_lines(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The vendor's environment variables pointing at `sim`'s files.
fn env(sim: &SimProcess) -> [(&'static str, String); 2] {
    [
        (
            "SECUROSYS_PKCS11_CONF",
            sim.paths().primus_cfg.display().to_string(),
        ),
        (
            "SECUROSYS_SECRETS_CONF",
            sim.paths().secrets_cfg.display().to_string(),
        ),
    ]
}
