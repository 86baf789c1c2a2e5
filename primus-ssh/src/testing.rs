//! A real OpenSSH server for tests (feature `testing`): this crate's tests
//! and the workspace's acceptance tests start one [`TestSshd`] per simulated
//! host. It needs Debian's `openssh-server` (`/usr/sbin/sshd`) and
//! `ssh-keygen`; `scripts/install-tools.sh` installs them.
//!
//! Failures panic: a harness that cannot start is the test's failure report.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use primus_core::Password;

use crate::Settings;

/// Where Debian installs sshd; sshd re-executes itself, so the path must be absolute.
const SSHD: &str = "/usr/sbin/sshd";

/// The sessions' `HOME`, under the server's scratch directory.
const SESSION_HOME: &str = "home";

/// How long sshd may take to start listening.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// Each sshd's log (`-E`, appended to), in its directory.
const LOG_FILE: &str = "sshd.log";

/// How many free ports [`TestSshd::start`] tries before giving up.
const PORT_ATTEMPTS: usize = 5;

/// An ed25519 key pair made by `ssh-keygen`.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The private key, OpenSSH format, unencrypted.
    pub private_key: Password,
    /// `ssh-ed25519 BASE64` (no comment).
    pub public_key: String,
}

impl KeyPair {
    /// Generates an ed25519 key pair with `ssh-keygen`, in `dir/name`.
    pub fn generate(dir: &Path, name: &str) -> Self {
        Self::generate_of_type(dir, name, "ed25519")
    }

    /// Generates a key pair of `key_type` (`ed25519`, `ecdsa`, `rsa`), in `dir/name`.
    pub fn generate_of_type(dir: &Path, name: &str, key_type: &str) -> Self {
        let path = dir.join(name);
        let _ = fs::remove_file(&path);
        let _ = fs::remove_file(path.with_extension("pub"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", key_type, "-N", "", "-C", "", "-f"])
            .arg(&path)
            .stdin(Stdio::null())
            .status()
            .expect("ssh-keygen runs (package openssh-client)");
        assert!(status.success(), "ssh-keygen failed for {}", path.display());
        let private_key = fs::read_to_string(&path).expect("ssh-keygen wrote the private key");
        let public = fs::read_to_string(format!("{}.pub", path.display()))
            .expect("ssh-keygen wrote the public key");
        let public_key = public
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            private_key: Password::new(private_key),
            public_key,
        }
    }
}

/// An `sshd` running in the foreground on 127.0.0.1 with its own host keys
/// (ed25519 and ECDSA), authorized key and log, killed when dropped.
///
/// It lets the user running the tests log in (root included) with
/// [`TestSshd::client_key`], by public key only, and allows TCP forwarding
/// so it can serve as a jump host. Its sessions' `HOME` is
/// [`TestSshd::home`], empty, so no shell start file of the user running
/// the tests runs in them. It logs at `DEBUG3` to
/// [`TestSshd::log_path`].
#[derive(Debug)]
pub struct TestSshd {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
    host_key: KeyPair,
    ecdsa_host_key: KeyPair,
    client_key: KeyPair,
    user: String,
    /// `SetEnv` of every session: what this simulated host's environment holds.
    session_env: Vec<(String, String)>,
}

impl TestSshd {
    /// Starts an sshd on a free loopback port and waits until it listens.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// As [`start`](Self::start), every session's environment also holding
    /// `session_env` (sshd's `SetEnv`): each simulated host can so name its
    /// own `primus.cfg` and `.secrets.cfg` (`SECUROSYS_PKCS11_CONF`,
    /// `SECUROSYS_SECRETS_CONF`) while all of them share this machine.
    pub fn start_with_env(session_env: &[(&str, &str)]) -> Self {
        let session_env: Vec<(String, String)> = session_env
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let dir = tempfile::tempdir().expect("a temporary directory for sshd");
        let host_key = KeyPair::generate(dir.path(), "host_key");
        let ecdsa_host_key = KeyPair::generate_of_type(dir.path(), "ecdsa_host_key", "ecdsa");
        let client_key = KeyPair::generate(dir.path(), "client_key");
        fs::write(
            dir.path().join("authorized_keys"),
            format!("{}\n", client_key.public_key),
        )
        .expect("authorized_keys is written");
        let user = current_user();
        let log = dir.path().join(LOG_FILE);
        // The port was free when picked, but any process may bind it (an
        // outgoing connection takes one just like it) before sshd does.
        let (port, child) = (0..PORT_ATTEMPTS)
            .find_map(|_| {
                let port = free_port();
                let logged = log_length(&log);
                let mut child = spawn(dir.path(), port, &session_env);
                match await_listening(&log, logged, &mut child, port) {
                    Listen::Listening => Some((port, child)),
                    Listen::PortTaken => None,
                }
            })
            .unwrap_or_else(|| {
                panic!("sshd found each of {PORT_ATTEMPTS} free loopback ports taken")
            });
        Self {
            dir,
            child,
            port,
            host_key,
            ecdsa_host_key,
            client_key,
            user,
            session_env,
        }
    }

    /// The port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its host public key, `ssh-ed25519 BASE64`: a `host_key` value.
    pub fn host_key(&self) -> &str {
        &self.host_key.public_key
    }

    /// Its other host public key, `ecdsa-sha2-nistp256 BASE64`, which it
    /// presents to a client that asks for ECDSA first.
    pub fn ecdsa_host_key(&self) -> &str {
        &self.ecdsa_host_key.public_key
    }

    /// The known_hosts line for it: `[127.0.0.1]:PORT ssh-ed25519 BASE64`.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_key.public_key)
    }

    /// The key pair authorized to log in.
    pub fn client_key(&self) -> &KeyPair {
        &self.client_key
    }

    /// The user that logs in: the one running the tests.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// A scratch directory of this server (its keys and log live there too).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `HOME` of its sessions: an empty directory under [`dir`](Self::dir).
    pub fn home(&self) -> PathBuf {
        self.dir().join(SESSION_HOME)
    }

    /// Settings that reach it: 127.0.0.1, its port, its user, the client
    /// key, its host key pinned, a 10-second timeout.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new("127.0.0.1", self.user.clone());
        settings.port = self.port;
        settings.private_key = Some(self.client_key.private_key.clone());
        settings.host_key = Some(self.host_key.public_key.clone());
        settings.timeout = Duration::from_secs(10);
        settings
    }

    /// Lets `public_key` (an OpenSSH public key line) log in too.
    pub fn authorize(&self, public_key: &str) {
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))
            .expect("authorized_keys opens");
        writeln!(file, "{public_key}").expect("authorized_keys is appended to");
    }

    /// Path of its log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join(LOG_FILE)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// How many lines of its log contain `needle`.
    pub fn log_lines_with(&self, needle: &str) -> usize {
        self.log()
            .lines()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// Stops it and starts it again on the same port with newly generated
    /// host keys: the host was "re-installed", or someone took its address.
    pub fn replace_host_key(&mut self) {
        self.stop();
        self.host_key = KeyPair::generate(self.dir.path(), "host_key");
        self.ecdsa_host_key = KeyPair::generate_of_type(self.dir.path(), "ecdsa_host_key", "ecdsa");
        let log = self.log_path();
        let logged = log_length(&log);
        self.child = spawn(self.dir.path(), self.port, &self.session_env);
        // The same port, as the re-installed host keeps its address.
        match await_listening(&log, logged, &mut self.child, self.port) {
            Listen::Listening => {}
            Listen::PortTaken => panic!("port {} was taken while sshd restarted", self.port),
        }
    }

    /// Kills every process sshd started for its connections (their sessions
    /// and commands too), as a host whose sshd dies would; the listener
    /// stays, so a new connection is served again.
    pub fn kill_connections(&self) {
        let victims = descendants(self.child.id());
        if victims.is_empty() {
            return;
        }
        // A process that ended by itself in the meantime makes kill fail;
        // the check that matters, below, is that none is left.
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(victims.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
        let start = Instant::now();
        while !descendants(self.child.id()).is_empty() {
            assert!(
                start.elapsed() < READY_WITHIN,
                "sshd's connections outlived SIGKILL"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How [`await_listening`] saw sshd start.
enum Listen {
    Listening,
    /// It could not bind its port: another process holds it.
    PortTaken,
}

/// Waits until `log`, past its first `logged` bytes, says `child` listens
/// on `port`, or that the port was taken.
///
/// # Panics
///
/// When sshd exits for another reason or does not listen in time.
fn await_listening(log: &Path, logged: usize, child: &mut Child, port: u16) -> Listen {
    let ready = format!("Server listening on 127.0.0.1 port {port}");
    let taken = format!("Bind to port {port} on 127.0.0.1 failed: Address already in use");
    let text = || fs::read_to_string(log).unwrap_or_default();
    let start = Instant::now();
    while start.elapsed() < READY_WITHIN {
        let whole = text();
        let new = whole.get(logged..).unwrap_or_default();
        if new.contains(&ready) {
            return Listen::Listening;
        }
        if let Ok(Some(status)) = child.try_wait() {
            if new.contains(&taken) {
                return Listen::PortTaken;
            }
            panic!("sshd exited ({status}) before listening; its log:\n{whole}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "sshd did not listen on port {port} within {READY_WITHIN:?}; its log:\n{}",
        text()
    );
}

/// How many bytes `log` holds so far (0 before sshd first wrote it): where
/// [`await_listening`] starts reading after a (re)start, as `-E` appends.
fn log_length(log: &Path) -> usize {
    fs::metadata(log).map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX))
}

/// Writes the configuration and starts `sshd -D -E LOG_FILE`.
fn spawn(dir: &Path, port: u16, session_env: &[(String, String)]) -> Child {
    // sshd refuses to start without its privilege separation directory.
    let _ = fs::create_dir_all("/run/sshd");
    // Sessions get an empty HOME of their own, so the login shell reads none
    // of the test runner's start files: bash run by sshd sources ~/.bashrc,
    // and one that runs `pyenv rehash` leaves a lock behind when a test kills
    // its session, after which every later session waits 60 s on that lock.
    let home = dir.join(SESSION_HOME);
    fs::create_dir_all(&home).expect("the sessions' home directory is created");
    let config = dir.join("sshd_config");
    fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1:{port}\n\
             HostKey {dir}/host_key\n\
             HostKey {dir}/ecdsa_host_key\n\
             AuthorizedKeysFile {dir}/authorized_keys\n\
             PidFile none\n\
             UsePAM no\n\
             StrictModes no\n\
             PermitRootLogin yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             AllowTcpForwarding yes\n\
             LogLevel DEBUG3\n\
             {set_env}",
            dir = dir.display(),
            set_env = set_env_line(&home, session_env),
        ),
    )
    .expect("sshd_config is written");
    // `-E LOG`, not `-e`: with `-e` a session's own debug lines (logged
    // before the command starts) would reach the command's stderr and pty.
    Command::new(SSHD)
        .args(["-D", "-f"])
        .arg(&config)
        .arg("-E")
        .arg(dir.join(LOG_FILE))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("{SSHD} starts (package openssh-server): {error}"))
}

/// The `SetEnv` line: `HOME` then `session_env`; values are double-quoted as
/// sshd_config's tokenizer reads them.
fn set_env_line(home: &Path, session_env: &[(String, String)]) -> String {
    let home = ("HOME".to_owned(), home.display().to_string());
    let pairs: Vec<String> = std::iter::once(&home)
        .chain(session_env)
        .map(|(name, value)| {
            assert!(
                !value.contains(['"', '\\', '\n']),
                "SetEnv value for {name} must not hold quotes, backslashes or newlines"
            );
            format!("\"{name}={value}\"")
        })
        .collect();
    format!("SetEnv {}\n", pairs.join(" "))
}

/// Every process below `root`, from the parent ids in /proc.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
            let after_comm = &stat[stat.rfind(')')? + 1..];
            let ppid = after_comm.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid) in &parents {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
                frontier.push(pid);
            }
        }
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

fn current_user() -> String {
    let output = Command::new("id")
        .arg("-un")
        .output()
        .expect("`id -un` runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A loopback TCP listener that accepts connections and never says a word:
/// a host whose sshd hangs. Its port is closed when it is dropped.
#[derive(Debug)]
pub struct SilentHost {
    port: u16,
    accepting: tokio::task::JoinHandle<()>,
}

impl SilentHost {
    /// Starts listening; must run inside a tokio runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let port = listener
            .local_addr()
            .expect("a bound listener has an address")
            .port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Self {
            port,
            accepting: task,
        }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for SilentHost {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_process_holds_is_told_apart_from_a_failed_start() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        KeyPair::generate(dir.path(), "host_key");
        KeyPair::generate_of_type(dir.path(), "ecdsa_host_key", "ecdsa");
        let held = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = held.local_addr().expect("its address").port();
        let mut child = spawn(dir.path(), port, &[]);
        let log = dir.path().join(LOG_FILE);
        assert!(matches!(
            await_listening(&log, 0, &mut child, port),
            Listen::PortTaken
        ));
        drop(held);
        // The same port, free now: the retry's path.
        let logged = log_length(&log);
        let mut child = spawn(dir.path(), port, &[]);
        let listening = await_listening(&log, logged, &mut child, port);
        let _ = child.kill();
        let _ = child.wait();
        assert!(matches!(listening, Listen::Listening));
    }
}
