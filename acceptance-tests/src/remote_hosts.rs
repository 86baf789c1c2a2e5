//! Simulated remote hosts for the SSH tests and the SSH benchmark: a
//! [`Fleet`] of [`SimHost`]s, each a real OpenSSH `sshd`
//! ([`primus_ssh::testing::TestSshd`]) on its own loopback port with its own
//! directory holding its `primus.cfg` and `.secrets.cfg`, named to every
//! session by sshd's `SetEnv` (`SECUROSYS_PKCS11_CONF`,
//! `SECUROSYS_SECRETS_CONF`). All hosts share one `hsm-sim` and this
//! machine; the `ppin` on every host is this workspace's built `ppin`.
//!
//! Also: the HCL that reaches them ([`Fleet::provider_block`],
//! [`Fleet::hosts_local`]), non-root SSH users with and without a sudoers
//! rule ([`SudoUser`]), and a watcher of every process's command line and
//! environment ([`ProcessScan`]).

use std::ops::Deref;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use hsm_sim::SimConfig;
use primus_ssh::testing::{KeyPair, TestSshd};
use secrets_cfg::{EntryKind, KeySource, SecretsStore};
use tfplug::testing::target_binary;

use crate::{Fixture, Terraform};

/// What a missing tool's failure tells the reader to run.
const INSTALL_HINT: &str = "run scripts/install-tools.sh (as root: it installs the Debian packages openssh-server and sudo)";

/// Panics, naming `scripts/install-tools.sh`, unless sshd and ssh-keygen
/// are installed: a test that needs them never passes without them.
pub fn require_sshd() {
    assert!(
        Path::new("/usr/sbin/sshd").is_file(),
        "/usr/sbin/sshd is missing: {INSTALL_HINT}"
    );
    assert!(
        command_exists("ssh-keygen"),
        "ssh-keygen is missing: {INSTALL_HINT}"
    );
}

/// Panics, naming `scripts/install-tools.sh`, unless `sudo`, `useradd` and
/// `usermod` are installed and the tests run as root (to add users).
pub fn require_sudo() {
    for tool in ["sudo", "useradd", "usermod"] {
        assert!(command_exists(tool), "{tool} is missing: {INSTALL_HINT}");
    }
    let uid = Command::new("id").arg("-u").output().expect("`id -u` runs");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the sudo tests add system users and must run as root"
    );
}

fn command_exists(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .is_ok_and(|status| status.success())
}

/// How the rendered configuration hands passwords to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordArguments {
    /// `setup_password`, `pkcs11_password`, `password`: sensitive, kept in the state.
    Plain,
    /// The `*_wo` twins (Terraform 1.11 or later): never in plan or state.
    WriteOnly,
}

impl PasswordArguments {
    /// The arguments Terraform `tf` accepts, write-only where it can.
    pub fn for_terraform(tf: Terraform) -> Self {
        match tf {
            Terraform::V1_0_3 => PasswordArguments::Plain,
            Terraform::V1_15_5 => PasswordArguments::WriteOnly,
        }
    }

    /// The argument names: setup password, PKCS#11 password, proxy password.
    pub fn names(self) -> [&'static str; 3] {
        match self {
            PasswordArguments::Plain => ["setup_password", "pkcs11_password", "password"],
            PasswordArguments::WriteOnly => {
                ["setup_password_wo", "pkcs11_password_wo", "password_wo"]
            }
        }
    }
}

/// One simulated remote host: an sshd and the directory holding the host's
/// `primus.cfg` and `.secrets.cfg` (the file key `.secrets.cfg.key` beside it).
pub struct SimHost {
    /// Its name in the rendered `hosts` map (`h1`, `h2`, …).
    pub name: String,
    /// The host's sshd: its port, host keys, log, and the faults it can play.
    pub sshd: TestSshd,
    files: tempfile::TempDir,
}

impl SimHost {
    fn start(name: String, sim_primus_cfg: &Path) -> SimHost {
        let files = tempfile::Builder::new()
            .prefix("primus-host-")
            .tempdir()
            .expect("a directory for the host's files");
        let config_file = files.path().join("primus.cfg");
        std::fs::copy(sim_primus_cfg, &config_file).expect("the host's primus.cfg is written");
        let secrets_file = files.path().join(".secrets.cfg");
        let sshd = TestSshd::start_with_env(&[
            ("SECUROSYS_PKCS11_CONF", &config_file.display().to_string()),
            (
                "SECUROSYS_SECRETS_CONF",
                &secrets_file.display().to_string(),
            ),
        ]);
        SimHost { name, sshd, files }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.sshd.port()
    }

    /// `127.0.0.1:PORT`, as the identity and the errors name it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// The import ID of `name` (a user or proxy user) on this host.
    pub fn import_id(&self, name: &str) -> String {
        format!("ssh://127.0.0.1:{}/{name}", self.port())
    }

    /// The host's `primus.cfg` (SECUROSYS_PKCS11_CONF of its sessions).
    pub fn config_file(&self) -> PathBuf {
        self.files.path().join("primus.cfg")
    }

    /// The host's `.secrets.cfg` (SECUROSYS_SECRETS_CONF of its sessions).
    pub fn secrets_file(&self) -> PathBuf {
        self.files.path().join(".secrets.cfg")
    }

    /// The `host` attribute value reaching it, its ed25519 key pinned.
    pub fn hcl(&self) -> String {
        self.hcl_pinning(self.sshd.host_key())
    }

    /// The `host` attribute value reaching it with `host_key` pinned.
    pub fn hcl_pinning(&self, host_key: &str) -> String {
        format!(
            "{{ address = \"127.0.0.1\", port = {}, host_key = \"{host_key}\" }}",
            self.port()
        )
    }

    /// The `host` attribute value without a pinned key (known_hosts decides).
    pub fn hcl_unpinned(&self) -> String {
        format!("{{ address = \"127.0.0.1\", port = {} }}", self.port())
    }

    /// The SHA256 fingerprints (`SHA256:…`, as `ssh-keygen -l` prints them)
    /// of the host keys it presents now, ed25519 then ECDSA.
    pub fn fingerprints(&self) -> [String; 2] {
        [self.sshd.host_key(), self.sshd.ecdsa_host_key()].map(fingerprint)
    }

    /// The entries of its `.secrets.cfg` as (kind, name), sorted; none
    /// before the first add.
    pub fn entries(&self) -> Vec<(EntryKind, String)> {
        let Some(store) = self.store() else {
            return Vec::new();
        };
        let mut entries: Vec<_> = store
            .list()
            .expect("the host's .secrets.cfg lists")
            .into_iter()
            .map(|entry| (entry.kind, entry.name))
            .collect();
        entries.sort_by(|a, b| a.1.cmp(&b.1));
        entries
    }

    /// The permanent secret it stores for `user`, as hex.
    pub fn stored_secret(&self, user: &str) -> Option<String> {
        let secret = self
            .store()?
            .get(EntryKind::User, user)
            .expect("the host's .secrets.cfg decrypts")?;
        Some(hex::encode(secret.expose_secret()))
    }

    /// The service proxy password it stores for `proxy`.
    pub fn stored_proxy_password(&self, proxy: &str) -> Option<String> {
        let secret = self
            .store()?
            .get(EntryKind::ServiceProxy, proxy)
            .expect("the host's .secrets.cfg decrypts")?;
        Some(String::from_utf8(secret.expose_secret().to_vec()).expect("proxy passwords are UTF-8"))
    }

    /// `.secrets.cfg` opened with its key file, as the host's ppin opens it.
    fn store(&self) -> Option<SecretsStore> {
        let path = self.secrets_file();
        if !path.exists() {
            return None;
        }
        let key = KeySource::KeyFile(self.files.path().join(".secrets.cfg.key"));
        Some(SecretsStore::open(path, key).expect("the host's .secrets.cfg opens"))
    }

    /// Runs the host's `ppin ARGS` by hand, with the host's environment, as
    /// an operator logged in there would.
    pub fn ppin(&self, args: &[&str]) -> Output {
        Command::new(ppin_binary())
            .args(args)
            .env("SECUROSYS_PKCS11_CONF", self.config_file())
            .env("SECUROSYS_SECRETS_CONF", self.secrets_file())
            .env_remove("SECUROSYS_SECRETS_KEY")
            .output()
            .expect("ppin runs")
    }

    /// `ppin ARGS` by hand, which must succeed.
    pub fn ppin_ok(&self, args: &[&str]) {
        let output = self.ppin(args);
        assert!(
            output.status.success(),
            "ppin {} on host {} failed:\n{}\n{}",
            args.first().copied().unwrap_or_default(),
            self.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Lets other local users log in to its sshd: sshd reads the
    /// authorized keys as the user logging in, and the harness directory
    /// is private to root.
    pub fn admit_other_users(&self) {
        let open = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .expect("permissions of the sshd directory");
        };
        open(self.sshd.dir(), 0o755);
        open(&self.sshd.dir().join("authorized_keys"), 0o644);
    }
}

/// The `host` block reaching the host `expression` names: an object with
/// `address`, `port` and, when pinned, `host_key` (an element of
/// [`Fleet::hosts_local`]'s map).
pub fn host_block(expression: &str) -> String {
    format!(
        "  host {{\n    address  = {expression}.address\n    port     = {expression}.port\n    \
         host_key = try({expression}.host_key, null)\n  }}"
    )
}

/// `SHA256:…` of an OpenSSH public key line, computed by `ssh-keygen -l`
/// (the fingerprint users compare against).
pub fn fingerprint(public_key: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("key.pub");
    std::fs::write(&file, format!("{public_key}\n")).expect("the public key is written");
    let output = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(&file)
        .output()
        .expect("ssh-keygen runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find(|word| word.starts_with("SHA256:"))
        .unwrap_or_else(|| panic!("ssh-keygen -l printed no fingerprint: {text}"))
        .to_owned()
}

/// Our built `ppin`, the tool every simulated host runs.
pub fn ppin_binary() -> PathBuf {
    target_binary("ppin").expect("the ppin binary is built (cargo build --workspace --bins)")
}

/// A simulator, a Terraform working directory (the [`Fixture`] this
/// dereferences to) and `hosts` simulated hosts; one SSH key, written
/// beside the configuration, logs in as root to every one of them.
pub struct Fleet {
    fixture: Fixture,
    /// The hosts, named `h1`, `h2`, … in that order.
    pub hosts: Vec<SimHost>,
    client_key: KeyPair,
}

impl Deref for Fleet {
    type Target = Fixture;

    fn deref(&self) -> &Fixture {
        &self.fixture
    }
}

impl Fleet {
    /// Starts the simulator with `config`, `hosts` sshds each with a copy
    /// of the simulator's `primus.cfg` and no `.secrets.cfg` yet, and a
    /// working directory run by `tf`.
    ///
    /// # Panics
    ///
    /// When sshd, the simulator, Terraform or a built binary is missing.
    pub fn new(tf: Terraform, config: SimConfig, hosts: usize) -> Fleet {
        require_sshd();
        let fixture = Fixture::new(tf, config);
        let client_key = KeyPair::generate(&fixture.ws.work_dir(), "id_ed25519");
        let hosts: Vec<SimHost> = (1..=hosts)
            .map(|n| SimHost::start(format!("h{n}"), fixture.primus_cfg()))
            .collect();
        for host in &hosts {
            host.sshd.authorize(&client_key.public_key);
        }
        Fleet {
            fixture,
            hosts,
            client_key,
        }
    }

    /// The fixture, for what needs it mutably (its environment).
    pub fn fixture_mut(&mut self) -> &mut Fixture {
        &mut self.fixture
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &SimHost {
        self.hosts
            .iter()
            .find(|host| host.name == name)
            .unwrap_or_else(|| panic!("no host {name} in the fleet"))
    }

    /// The host named `name`, to make it misbehave.
    pub fn host_mut(&mut self, name: &str) -> &mut SimHost {
        self.hosts
            .iter_mut()
            .find(|host| host.name == name)
            .unwrap_or_else(|| panic!("no host {name} in the fleet"))
    }

    /// The file holding the private key that logs in to every host.
    pub fn key_file(&self) -> PathBuf {
        self.fixture.ws.work_dir().join("id_ed25519")
    }

    /// The public half of that key (`ssh-ed25519 BASE64`).
    pub fn public_key(&self) -> &str {
        &self.client_key.public_key
    }

    /// Writes `known_hosts` beside the configuration, with both host keys
    /// of every host, and returns its path: what an import needs, since an
    /// import ID names no key.
    pub fn known_hosts_file(&self) -> PathBuf {
        let path = self.fixture.ws.work_dir().join("known_hosts");
        let lines: String = self
            .hosts
            .iter()
            .flat_map(|host| {
                [host.sshd.host_key(), host.sshd.ecdsa_host_key()]
                    .map(|key| format!("[127.0.0.1]:{} {key}\n", host.port()))
            })
            .collect();
        std::fs::write(&path, lines).expect("known_hosts is written");
        path
    }

    /// `provider "primus" { ssh { … } }`: root, the fleet's key, our `ppin`
    /// on every host, a 30-second timeout, then the `extra` lines of the
    /// `ssh` block.
    pub fn provider_block(&self, extra: &str) -> String {
        self.provider_block_with("root", "30s", extra)
    }

    /// As [`Fleet::provider_block`], logging in as `user` with `timeout`.
    pub fn provider_block_with(&self, user: &str, timeout: &str, extra: &str) -> String {
        format!(
            "provider \"primus\" {{\n  ssh {{\n    user         = \"{user}\"\n    \
             private_key  = file(\"{key}\")\n    ppin_command = \"{ppin}\"\n    \
             timeout      = \"{timeout}\"\n    {extra}\n  }}\n}}\n",
            key = self.key_file().display(),
            ppin = ppin_binary().display(),
        )
    }

    /// `locals { hosts = { h1 = { address, port, host_key }, … } }` for
    /// every host, its ed25519 key pinned.
    pub fn hosts_local(&self) -> String {
        self.hosts_local_with(SimHost::hcl)
    }

    /// `locals { hosts = { h1 = VALUE, … } }`, each VALUE `value(host)`.
    pub fn hosts_local_with(&self, value: impl Fn(&SimHost) -> String) -> String {
        let entries: String = self
            .hosts
            .iter()
            .map(|host| format!("    {} = {}\n", host.name, value(host)))
            .collect();
        format!("locals {{\n  hosts = {{\n{entries}  }}\n}}\n")
    }

    /// A `primus_config` block named `name` on the host `host_expression`
    /// (an object with `address`, `port` and maybe `host_key`) writing
    /// the simulator's HSM and every simulator user's slot (proxy users
    /// included) to `path_expression`, with `extra` lines.
    pub fn primus_config_block(
        &self,
        name: &str,
        host_expression: &str,
        path_expression: &str,
        extra: &str,
    ) -> String {
        let config = self.sim.config();
        let slots: String = config
            .users
            .iter()
            .enumerate()
            .map(|(position, user)| {
                let proxy = user
                    .proxy_user
                    .as_deref()
                    .map(|proxy| format!("\n      proxy_user = \"{proxy}\""))
                    .unwrap_or_default();
                format!(
                    "    slot {{\n      user_name = \"{}\"\n      id        = {}{proxy}\n    }}\n",
                    user.name,
                    user.slot(position)
                )
            })
            .collect();
        format!(
            "resource \"primus_config\" \"{name}\" {{\n  {extra}\n{host}\n  \
             path = {path_expression}\n  hsm {{\n    name    = \"hsm0\"\n    host    = \"127.0.0.1\"\n    \
             port    = {port}\n    ca_file = \"{ca}\"\n{slots}  }}\n}}\n",
            port = self.sim.port(),
            ca = self.sim.paths().ca_file.display(),
            host = host_block(host_expression),
        )
    }

    /// `resource "primus_permanent_secret" "app"` with `for_each` over
    /// `onboardings` (keys `HOST/USER`, each on `local.hosts[HOST]`, the
    /// passwords passed as `arguments`), plus `extra` lines.
    pub fn permanent_secrets_block(
        &self,
        arguments: PasswordArguments,
        onboardings: &[Onboarding],
        extra: &str,
    ) -> String {
        let [setup, pin, _] = arguments.names();
        let entries: String = onboardings
            .iter()
            .map(|o| {
                format!(
                    "    \"{host}/{user}\" = {{ host = \"{host}\", user = \"{user}\", setup = \"{s}\", \
                     pin = \"{p}\", version = {v} }}\n",
                    host = o.host,
                    user = o.user,
                    s = o.setup_password,
                    p = self.pkcs11_password(&o.user),
                    v = o.version,
                )
            })
            .collect();
        format!(
            "locals {{\n  onboarded = {{\n{entries}  }}\n}}\n\n\
             resource \"primus_permanent_secret\" \"app\" {{\n  for_each            = local.onboarded\n  \
             {host}\n  user                = each.value.user\n  \
             {setup} = each.value.setup\n  {pin} = each.value.pin\n  \
             password_wo_version = each.value.version\n  {extra}\n}}\n",
            host = host_block("local.hosts[each.value.host]"),
        )
    }

    /// `user` onboarded on host `host` with its real setup password, `version` 1.
    pub fn onboarding(&self, host: &str, user: &str) -> Onboarding {
        Onboarding {
            host: host.to_owned(),
            user: user.to_owned(),
            version: 1,
            setup_password: self.setup_password(user),
        }
    }

    /// Every host's entries, by host name.
    pub fn entries_by_host(&self) -> Vec<(String, Vec<(EntryKind, String)>)> {
        self.hosts
            .iter()
            .map(|host| (host.name.clone(), host.entries()))
            .collect()
    }

    /// Every secret the simulator knows (setup and PKCS#11 passwords of
    /// every user, proxy passwords, issued permanent secrets as lower- and
    /// upper-case hex), each with what it is: what no log, process or state
    /// may show.
    pub fn secrets(&self) -> Vec<(String, String)> {
        let config = self.sim.config();
        let mut secrets = Vec::new();
        for user in &config.users {
            secrets.push((
                format!("setup password of {}", user.name),
                user.setup_password.expose_secret().to_owned(),
            ));
            secrets.push((
                format!("PKCS#11 password of {}", user.name),
                user.pkcs11_password.expose_secret().to_owned(),
            ));
        }
        for proxy in &config.proxies {
            secrets.push((
                format!("proxy password of {}", proxy.name),
                proxy.password.expose_secret().to_owned(),
            ));
        }
        let status = self.sim.admin().status().expect("hsm-sim admin answers");
        for user in &status.users {
            for secret in &user.secrets_issued {
                let what = format!("permanent secret of {}", user.name);
                secrets.push((what.clone(), secret.clone()));
                secrets.push((what, secret.to_uppercase()));
            }
        }
        secrets
    }
}

/// One permanent secret of [`Fleet::permanent_secrets_block`].
#[derive(Clone, Debug)]
pub struct Onboarding {
    /// The host's name in `local.hosts`.
    pub host: String,
    /// The partition user.
    pub user: String,
    /// `password_wo_version`: raising it rotates the secret.
    pub version: u32,
    /// The setup password written in (the real one, or a wrong one to fail).
    pub setup_password: String,
}

/// Whether a [`SudoUser`] may run commands as root through `sudo -n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SudoRule {
    /// `/etc/sudoers.d/NAME` lets it run anything as root without a password.
    Granted,
    /// No rule: `sudo -n` refuses at once.
    Missing,
}

/// A local non-root user that can log in by key (its password is `*`:
/// locked for passwords, which sshd tells apart from `!`, a locked account).
///
/// Users are machine-wide, so they are created once and kept: a later run
/// finds them in place. Each [`SudoRule`] has its own user, so tests run in
/// parallel never change a rule another test relies on.
pub struct SudoUser {
    /// The login name.
    pub name: String,
}

/// One `useradd` at a time: concurrent ones fail on the lock of /etc/passwd.
static USER_ADMIN: Mutex<()> = Mutex::new(());

impl SudoUser {
    /// The user for `rule` (`primus-sudo` or `primus-nosudo`), created with
    /// a home directory and `/bin/sh` if missing, its rule in place.
    ///
    /// # Panics
    ///
    /// When sudo or the user tools are missing ([`require_sudo`]) or a
    /// command fails.
    pub fn ensure(rule: SudoRule) -> SudoUser {
        require_sudo();
        let name = match rule {
            SudoRule::Granted => "primus-sudo",
            SudoRule::Missing => "primus-nosudo",
        };
        let _serialised = USER_ADMIN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let exists = Command::new("id")
            .arg(name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !exists {
            run_admin(&["useradd", "-m", "-s", "/bin/sh", name]);
        }
        run_admin(&["usermod", "-p", "*", name]);
        let rule_file = PathBuf::from(format!("/etc/sudoers.d/{name}"));
        match rule {
            SudoRule::Granted => {
                let rule = format!("{name} ALL=(root) NOPASSWD: ALL\n");
                // Whole or not at all: a test running in parallel may be
                // using sudo right now. sudo skips names holding a dot.
                if std::fs::read_to_string(&rule_file).ok().as_deref() != Some(rule.as_str()) {
                    let staged = rule_file.with_extension("staged");
                    std::fs::write(&staged, rule).expect("the sudoers rule is written");
                    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o440))
                        .expect("the sudoers rule's mode");
                    std::fs::rename(&staged, &rule_file).expect("the sudoers rule is put in place");
                }
            }
            SudoRule::Missing => {
                let _ = std::fs::remove_file(&rule_file);
            }
        }
        SudoUser {
            name: name.to_owned(),
        }
    }
}

fn run_admin(args: &[&str]) {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|error| panic!("{} runs: {error}", args[0]));
    assert!(
        output.status.success(),
        "{} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A watcher that reads `/proc/*/cmdline` and `/proc/*/environ` of every
/// process on this machine (all simulated hosts share it) every 20 ms
/// until [`ProcessScan::finish`], looking for secrets.
pub struct ProcessScan {
    stop: Arc<AtomicBool>,
    worker: JoinHandle<ScanReport>,
}

/// What a [`ProcessScan`] saw.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// How many times every process was read.
    pub rounds: u64,
    /// The most processes one round read.
    pub most_processes: usize,
    /// Each finding: which process, which file, which secret (by name, never value).
    pub findings: Vec<String>,
}

impl ProcessScan {
    /// Starts watching for `secrets` ((what, value) pairs).
    pub fn start(secrets: Vec<(String, String)>) -> ProcessScan {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let worker = std::thread::spawn(move || {
            let mut report = ScanReport::default();
            loop {
                let done = stopped.load(Ordering::Relaxed);
                scan_once(&secrets, &mut report);
                if done {
                    return report;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        ProcessScan { stop, worker }
    }

    /// Stops after one last round; what every round saw.
    pub fn finish(self) -> ScanReport {
        self.stop.store(true, Ordering::Relaxed);
        self.worker.join().expect("the process scan ran")
    }
}

fn scan_once(secrets: &[(String, String)], report: &mut ScanReport) {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    let mut processes = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        processes += 1;
        for file in ["cmdline", "environ"] {
            // A process may end between listing and reading: nothing to see then.
            let Ok(bytes) = std::fs::read(format!("/proc/{pid}/{file}")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            for (what, secret) in secrets {
                if text.contains(secret.as_str()) {
                    let comm =
                        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                    let finding =
                        format!("{file} of process {pid} ({}) holds the {what}", comm.trim());
                    if !report.findings.contains(&finding) {
                        report.findings.push(finding);
                    }
                }
            }
        }
    }
    report.rounds += 1;
    report.most_processes = report.most_processes.max(processes);
}
