//! Start a real `hsm-sim` process for a test, and observe and steer it.
//!
//! ```no_run
//! use hsm_sim::harness::SimProcess;
//! use hsm_sim::SimConfig;
//!
//! let config = SimConfig::generated(2).with_proxied_user("CLOUD_USER", "SERVICE_USER");
//! let sim = SimProcess::start(config).expect("hsm-sim starts");
//! // Point the client at sim.paths().primus_cfg (it names 127.0.0.1:port and the CA file).
//! let user = &sim.config().users[0];
//! // ... run ppin / terraform ...
//! let status = sim.admin().user(&user.name).expect("admin answers");
//! assert_eq!(status.api_failures, 0);
//! ```
//!
//! The binary must be built first (`cargo build --workspace --bins`, which
//! `scripts/test.sh` does). Inside hsm-sim's own tests use
//! [`SimProcess::start_with_binary`] with `env!("CARGO_BIN_EXE_hsm-sim")`; other
//! crates use [`SimProcess::start`], which finds it with [`hsm_sim_binary`].
//! The process is killed when the [`SimProcess`] is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hsm_wire::Password;

use crate::admin::{AdminRequest, AdminResponse, ADMIN_MAX_FRAME_LEN};
use crate::config::SimConfig;
use crate::files::{Ready, StatePaths};
use crate::hsm::{Status, UserStatus};

/// How long a start may take before the harness gives up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an admin command may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Environment variable that overrides where [`hsm_sim_binary`] looks.
pub const BINARY_ENV: &str = "HSM_SIM_BIN";

/// Why the harness failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The process exited or did not get ready in time; the log tail says why.
    #[error("hsm-sim did not start: {reason}\n--- hsm-sim log ---\n{log}")]
    Start {
        /// Exited with which status, or how long the harness waited.
        reason: String,
        /// The end of the process's stdout and stderr.
        log: String,
    },
    /// The admin listener answered with an error or something unexpected.
    #[error("hsm-sim admin: {0}")]
    Admin(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// The `hsm-sim` binary next to the running test executable: `$HSM_SIM_BIN` if
/// set, else `target/<profile>/hsm-sim` found from `target/<profile>/deps/<test>`.
///
/// # Panics
///
/// When the binary does not exist, with a message saying how to build it.
pub fn hsm_sim_binary() -> PathBuf {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // Test executables live in target/<profile>/deps; binaries one level up.
    let candidates: Vec<PathBuf> = exe
        .ancestors()
        .skip(1)
        .take(3)
        .map(|dir| dir.join(format!("hsm-sim{}", std::env::consts::EXE_SUFFIX)))
        .collect();
    match candidates.iter().find(|c| c.is_file()) {
        Some(found) => found.clone(),
        None => panic!(
            "the hsm-sim binary is not built (looked for {candidates:?}); run `cargo build --workspace --bins` \
             (scripts/test.sh does) or set {BINARY_ENV}"
        ),
    }
}

/// A running `hsm-sim` process with its own temp directory.
#[derive(Debug)]
pub struct SimProcess {
    binary: PathBuf,
    config: SimConfig,
    // Held for its Drop: removes the directory after the process is gone.
    dir: tempfile::TempDir,
    paths: StatePaths,
    child: Option<Child>,
    port: u16,
    admin: AdminClient,
}

impl SimProcess {
    /// Starts [`hsm_sim_binary`] with `config` in a fresh temp directory.
    pub fn start(config: SimConfig) -> Result<Self, HarnessError> {
        SimProcess::start_with_binary(&hsm_sim_binary(), config)
    }

    /// Starts `binary` with `config` in a fresh temp directory, on free ports,
    /// and waits until it accepts connections.
    pub fn start_with_binary(binary: &Path, config: SimConfig) -> Result<Self, HarnessError> {
        config.validate().map_err(|e| HarnessError::Start {
            reason: e.to_string(),
            log: String::new(),
        })?;
        let dir = tempfile::Builder::new()
            .prefix("hsm-sim-")
            .tempdir()
            .map_err(io("creating a temp dir"))?;
        let config_path = dir.path().join("sim.json");
        // The config holds test passwords; serialising plain data cannot fail.
        let json = serde_json::to_vec_pretty(&config).unwrap_or_default();
        std::fs::write(&config_path, json)
            .map_err(io(format!("writing {}", config_path.display())))?;
        let paths = StatePaths::new(&dir.path().join("state"));
        let mut sim = SimProcess {
            binary: binary.to_owned(),
            config,
            paths,
            child: None,
            port: 0,
            admin: AdminClient::new(0),
            dir,
        };
        sim.spawn(0, 0)?;
        Ok(sim)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("hsm-sim.log")
    }

    fn spawn(&mut self, port: u16, admin_port: u16) -> Result<(), HarnessError> {
        // A ready file from the previous run must not be mistaken for this one's.
        match std::fs::remove_file(&self.paths.ready) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("removing the old ready file")(e))
            }
            _ => {}
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(io("opening the hsm-sim log"))?;
        let log_err = log.try_clone().map_err(io("opening the hsm-sim log"))?;
        let child = Command::new(&self.binary)
            .arg("--config")
            .arg(self.dir.path().join("sim.json"))
            .arg("--state-dir")
            .arg(&self.paths.dir)
            .args([
                "--port",
                &port.to_string(),
                "--admin-port",
                &admin_port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(io(format!("starting {}", self.binary.display())))?;
        let pid = child.id();
        self.child = Some(child);
        let ready = self.wait_ready(pid)?;
        self.port = ready.port;
        self.admin = AdminClient::new(ready.admin_port);
        Ok(())
    }

    fn wait_ready(&mut self, pid: u32) -> Result<Ready, HarnessError> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read(&self.paths.ready) {
                if let Ok(ready) = serde_json::from_slice::<Ready>(&text) {
                    if ready.pid == pid {
                        return Ok(ready);
                    }
                }
            }
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Some(format!("exited with {status}")),
                Some(Err(e)) => Some(format!("cannot be waited for: {e}")),
                _ => None,
            };
            let reason = exited.or_else(|| {
                (Instant::now() >= deadline).then(|| format!("not ready within {START_TIMEOUT:?}"))
            });
            if let Some(reason) = reason {
                self.kill();
                return Err(HarnessError::Start {
                    reason,
                    log: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last lines of the process's combined stdout and stderr.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The configuration the process runs with (users' passwords included).
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The state directory's files: `primus_cfg`, `ca_file`, `dir`, and a
    /// `secrets_cfg` path (not created) for the client's `.secrets.cfg`.
    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    /// The HSM port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin listener of this process, following it across restarts.
    pub fn admin(&self) -> &AdminClient {
        &self.admin
    }

    /// Kills the process and starts it again on the same ports and state
    /// directory, as a device restart: trial counters and lockouts reset, issued
    /// secrets, setup-password first uses and simulated time remain.
    pub fn restart(&mut self) -> Result<(), HarnessError> {
        let (port, admin_port) = (self.port, self.admin.port());
        self.kill();
        self.spawn(port, admin_port)
    }

    /// Kills the process (e.g. to test failover); [`SimProcess::restart`] brings it back.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine: either way it is gone after wait.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        self.kill();
        // A failing test gets the simulator's side of the story (the log holds no secrets).
        if std::thread::panicking() {
            eprintln!(
                "--- hsm-sim log ({}) ---\n{}",
                self.paths.dir.display(),
                self.log_tail()
            );
        }
    }
}

/// A client for the admin listener (blocking: usable from sync and async tests alike).
#[derive(Debug, Clone)]
pub struct AdminClient {
    addr: SocketAddr,
}

impl AdminClient {
    /// The admin listener on 127.0.0.1:`port`.
    pub fn new(port: u16) -> Self {
        AdminClient {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        }
    }

    /// The admin port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Sends one command and returns the answer.
    pub fn request(&self, request: &AdminRequest) -> Result<AdminResponse, HarnessError> {
        let what = || format!("admin command to {}", self.addr);
        let stream = TcpStream::connect_timeout(&self.addr, ADMIN_TIMEOUT).map_err(io(what()))?;
        stream
            .set_read_timeout(Some(ADMIN_TIMEOUT))
            .map_err(io(what()))?;
        let mut line =
            serde_json::to_vec(request).map_err(|e| HarnessError::Admin(e.to_string()))?;
        line.push(b'\n');
        (&stream).write_all(&line).map_err(io(what()))?;
        let mut answer = String::new();
        let limit = u64::try_from(ADMIN_MAX_FRAME_LEN).unwrap_or(u64::MAX);
        BufReader::new(&stream)
            .take(limit)
            .read_line(&mut answer)
            .map_err(io(what()))?;
        match serde_json::from_str(&answer) {
            Ok(AdminResponse::Error { message }) => Err(HarnessError::Admin(message)),
            Ok(response) => Ok(response),
            Err(e) => Err(HarnessError::Admin(format!("unreadable answer: {e}"))),
        }
    }

    /// Counters and issued secrets of every user and proxy.
    pub fn status(&self) -> Result<Status, HarnessError> {
        match self.request(&AdminRequest::Status)? {
            AdminResponse::Status(status) => Ok(status),
            other => Err(HarnessError::Admin(format!("unexpected answer {other:?}"))),
        }
    }

    /// Counters and issued secrets of `user`.
    pub fn user(&self, user: &str) -> Result<UserStatus, HarnessError> {
        match self.request(&AdminRequest::User {
            name: user.to_owned(),
        })? {
            AdminResponse::User(status) => Ok(status),
            other => Err(HarnessError::Admin(format!("unexpected answer {other:?}"))),
        }
    }

    /// The user's current permanent secret (hex), if one was issued.
    pub fn current_secret(&self, user: &str) -> Result<Option<String>, HarnessError> {
        Ok(self.user(user)?.secrets_issued.pop())
    }

    /// Issues `user` a fresh setup password (the old one is refused from now on; the
    /// new one's validity starts at its first use) and returns it.
    pub fn issue_setup_password(&self, user: &str) -> Result<Password, HarnessError> {
        match self.request(&AdminRequest::IssueSetupPassword {
            name: user.to_owned(),
        })? {
            AdminResponse::SetupPassword { setup_password, .. } => Ok(setup_password),
            other => Err(HarnessError::Admin(format!("unexpected answer {other:?}"))),
        }
    }

    /// Moves simulated time forward by `by`; returns simulated time after the move.
    pub fn advance_clock(&self, by: Duration) -> Result<u64, HarnessError> {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        match self.request(&AdminRequest::AdvanceClock { ms })? {
            AdminResponse::Clock { now_unix_ms } => Ok(now_unix_ms),
            other => Err(HarnessError::Admin(format!("unexpected answer {other:?}"))),
        }
    }

    /// Asks the simulator to exit.
    pub fn shutdown(&self) -> Result<(), HarnessError> {
        match self.request(&AdminRequest::Shutdown)? {
            AdminResponse::ShuttingDown => Ok(()),
            other => Err(HarnessError::Admin(format!("unexpected answer {other:?}"))),
        }
    }
}

/// An HSM address on 127.0.0.1 that accepts TCP connections and never answers:
/// the kernel completes each TCP handshake into the listen queue, and nothing ever
/// reads, writes or closes. A client connecting there waits in its TLS handshake
/// until its own timeout or cancellation, as against an HSM that hangs.
///
/// It needs no thread and no loop; the port closes when this is dropped.
#[derive(Debug)]
pub struct SilentHsm {
    listener: std::net::TcpListener,
}

impl SilentHsm {
    /// Binds a free port on 127.0.0.1.
    pub fn start() -> Result<Self, HarnessError> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(io("binding a silent HSM port on 127.0.0.1"))?;
        Ok(SilentHsm { listener })
    }

    /// The port on 127.0.0.1 (for `primus.cfg`, e.g. with [`crate::render_primus_cfg`]).
    pub fn port(&self) -> u16 {
        // A bound listener always has a local address.
        self.listener.local_addr().map_or(0, |addr| addr.port())
    }
}
