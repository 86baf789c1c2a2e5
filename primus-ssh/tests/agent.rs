//! Authentication through an SSH agent (its own test binary: it sets
//! SSH_AUTH_SOCK for the whole process).
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use primus_ssh::testing::{KeyPair, TestSshd};
use primus_ssh::{PoolLimits, SshError, SshPool};

/// `ssh-agent` in the foreground on its own socket, killed when dropped.
struct Agent {
    child: Child,
    socket: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &std::path::Path) -> Self {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !socket.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ssh-agent did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, socket }
    }

    fn add(&self, dir: &std::path::Path, key: &KeyPair, name: &str) {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let path = dir.join(format!("{name}.agent"));
        // ssh-add refuses a key file others can read.
        std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut file| file.write_all(key.private_key.expose_secret().as_bytes()))
            .unwrap();
        let status = Command::new("ssh-add")
            .arg("-q")
            .arg(&path)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "ssh-add {name}");
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn agent_keys_are_offered_once_each_until_one_is_accepted() {
    let sshd = TestSshd::start();
    let agent = Agent::start(sshd.dir());
    let stranger = KeyPair::generate(sshd.dir(), "stranger");
    agent.add(sshd.dir(), &stranger, "stranger");
    // Edition 2021: setting the environment is safe; this binary has one test.
    std::env::set_var("SSH_AUTH_SOCK", &agent.socket);
    let mut settings = sshd.settings();
    settings.private_key = None;
    settings.agent = true;

    let refused = SshPool::new(PoolLimits::default())
        .host(&settings)
        .await
        .expect_err("the agent holds no authorized key yet");
    assert!(
        matches!(refused, SshError::Authentication { .. }),
        "{refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("agent key (ssh-ed25519 SHA256:"),
        "{refused}"
    );

    agent.add(sshd.dir(), sshd.client_key(), "client");
    let host = SshPool::new(PoolLimits::default())
        .host(&settings)
        .await
        .unwrap();
    let output = host
        .run("echo via-agent", b"", Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(output.stdout, b"via-agent\n");
    assert_eq!(sshd.log_lines_with("Accepted publickey"), 1);
}
