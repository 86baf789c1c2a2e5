//! Against a real OpenSSH server on loopback: host key checks (before any
//! authentication), known_hosts, trust on first use, a jump host, terminal
//! commands, process clean-up and connection sharing.
// Helpers of a test panic like the test: the panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use primus_ssh::testing::{KeyPair, SilentHost, TestSshd};
use primus_ssh::{quote, Echo, ExitStatus, PoolLimits, Settings, SshError, SshPool};

const BOUND: Duration = Duration::from_secs(20);

fn pool() -> SshPool {
    SshPool::new(PoolLimits::default())
}

/// The OpenSSH fingerprint of a public key line, computed by ssh-keygen.
fn fingerprint_of(dir: &Path, public_key: &str) -> String {
    let path = dir.join("fingerprint.pub");
    std::fs::write(&path, format!("{public_key}\n")).unwrap();
    let output = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    text.split_whitespace().nth(1).unwrap().to_owned()
}

/// Waits (bounded) until sshd has logged `needle`: its session processes
/// log asynchronously.
async fn await_log(sshd: &TestSshd, needle: &str) {
    let start = Instant::now();
    while !sshd.log().contains(needle) {
        assert!(
            start.elapsed() < BOUND,
            "sshd never logged {needle:?}:\n{}",
            sshd.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The connection reached sshd and ended there without a single
/// authentication request.
async fn assert_no_authentication_attempt(sshd: &TestSshd) {
    await_log(sshd, "Connection closed by 127.0.0.1").await;
    let log = sshd.log();
    for word in ["userauth-request", "Accepted", "Failed", "Postponed"] {
        assert!(!log.contains(word), "sshd saw {word}:\n{log}");
    }
}

async fn refusal(settings: &Settings) -> SshError {
    pool()
        .host(settings)
        .await
        .expect_err("the host must be refused")
}

#[tokio::test]
async fn pinned_key_connects_and_runs_a_command() {
    let sshd = TestSshd::start();
    let host = pool().host(&sshd.settings()).await.unwrap();
    assert_eq!(host.host_key(), sshd.host_key());
    let output = host
        .run("cat; echo err >&2; exit 3", b"input\n", BOUND)
        .await
        .unwrap();
    assert_eq!(output.stdout, b"input\n");
    assert_eq!(output.stderr, b"err\n");
    assert_eq!(output.status, ExitStatus::Code(3));
    assert_eq!(sshd.log_lines_with("Accepted publickey"), 1);
}

/// A host with several keys presents the one trusted for it: the algorithms
/// of trusted keys are asked for first, pinned or from known_hosts.
#[tokio::test]
async fn the_host_presents_the_key_type_that_is_trusted() {
    let sshd = TestSshd::start();
    let mut pinned = sshd.settings();
    pinned.host_key = Some(sshd.ecdsa_host_key().to_owned());
    let host = pool().host(&pinned).await.unwrap();
    assert_eq!(host.host_key(), sshd.ecdsa_host_key());

    let known_hosts = sshd.dir().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{} {}\n", sshd.port(), sshd.ecdsa_host_key()),
    )
    .unwrap();
    let mut listed = sshd.settings();
    listed.host_key = None;
    listed.known_hosts_file = Some(known_hosts);
    let host = pool().host(&listed).await.unwrap();
    assert_eq!(host.host_key(), sshd.ecdsa_host_key());
    // With nothing known, the best key (ed25519) is presented.
    assert_eq!(
        pool().host(&sshd.settings()).await.unwrap().host_key(),
        sshd.host_key()
    );
}

#[tokio::test]
async fn a_wrong_pinned_key_is_refused_before_authentication_naming_both_fingerprints() {
    let sshd = TestSshd::start();
    let other = KeyPair::generate(sshd.dir(), "other_host_key");
    let mut settings = sshd.settings();
    settings.host_key = Some(other.public_key.clone());
    let error = refusal(&settings).await;
    assert!(
        matches!(error, SshError::HostKeyChanged { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", sshd.port())),
        "{text}"
    );
    assert!(
        text.contains(&fingerprint_of(sshd.dir(), sshd.host_key())),
        "{text}"
    );
    assert!(
        text.contains(&fingerprint_of(sshd.dir(), &other.public_key)),
        "{text}"
    );
    assert!(text.contains("ssh-ed25519"), "{text}");
    assert_no_authentication_attempt(&sshd).await;
}

#[tokio::test]
async fn an_unknown_host_is_refused_before_authentication_saying_what_to_add() {
    let sshd = TestSshd::start();
    let known_hosts = sshd.dir().join("known_hosts");
    let mut settings = sshd.settings();
    settings.host_key = None;
    settings.known_hosts_file = Some(known_hosts.clone());
    let error = refusal(&settings).await;
    assert!(
        matches!(error, SshError::UnknownHostKey { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&fingerprint_of(sshd.dir(), sshd.host_key())),
        "{text}"
    );
    assert!(
        text.contains(&format!("host_key = \"{}\"", sshd.host_key())),
        "{text}"
    );
    assert!(text.contains(&sshd.known_hosts_line()), "{text}");
    assert!(
        !known_hosts.exists(),
        "nothing may be recorded without the opt-in"
    );
    assert_no_authentication_attempt(&sshd).await;
}

#[tokio::test]
async fn a_hashed_known_hosts_entry_is_trusted() {
    let sshd = TestSshd::start();
    let known_hosts = sshd.dir().join("known_hosts");
    std::fs::write(
        &known_hosts,
        format!(
            "other.example.org {}\n{}\n",
            sshd.client_key().public_key,
            sshd.known_hosts_line()
        ),
    )
    .unwrap();
    let hashed = Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(hashed.status.success());
    let text = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(
        text.starts_with("|1|") && !text.contains("127.0.0.1"),
        "{text}"
    );

    let mut settings = sshd.settings();
    settings.host_key = None;
    settings.known_hosts_file = Some(known_hosts);
    let host = pool().host(&settings).await.unwrap();
    let output = host.run("echo hashed", b"", BOUND).await.unwrap();
    assert_eq!(output.stdout, b"hashed\n");
}

#[tokio::test]
async fn a_new_key_is_accepted_only_when_opted_in_and_a_later_change_names_both_fingerprints() {
    let mut sshd = TestSshd::start();
    let known_hosts = sshd.dir().join("known_hosts");
    let mut settings = sshd.settings();
    settings.host_key = None;
    settings.known_hosts_file = Some(known_hosts.clone());
    assert!(matches!(
        refusal(&settings).await,
        SshError::UnknownHostKey { .. }
    ));

    settings.accept_new_host_key = true;
    let host = pool().host(&settings).await.unwrap();
    assert!(host.run("true", b"", BOUND).await.unwrap().status.success());
    let recorded = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(recorded, format!("{}\n", sshd.known_hosts_line()));
    let first = fingerprint_of(sshd.dir(), sshd.host_key());
    drop(host);

    sshd.replace_host_key();
    let error = refusal(&settings).await;
    assert!(
        matches!(error, SshError::HostKeyChanged { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&first), "{text}");
    assert!(
        text.contains(&fingerprint_of(sshd.dir(), sshd.host_key())),
        "{text}"
    );
    assert!(text.contains("line 1"), "{text}");
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), recorded);
}

fn through_bastion(target: &TestSshd, bastion: &TestSshd) -> Settings {
    let mut settings = target.settings();
    settings.bastion_host = Some("127.0.0.1".to_owned());
    settings.bastion_port = Some(bastion.port());
    settings.bastion_private_key = Some(bastion.client_key().private_key.clone());
    settings.bastion_host_key = Some(bastion.host_key().to_owned());
    settings
}

#[tokio::test]
async fn a_bastion_carries_the_connection_with_its_own_key_checked() {
    let target = TestSshd::start();
    let bastion = TestSshd::start();
    let host = pool()
        .host(&through_bastion(&target, &bastion))
        .await
        .unwrap();
    let output = host.run("echo through", b"", BOUND).await.unwrap();
    assert_eq!(output.stdout, b"through\n");
    assert_eq!(bastion.log_lines_with("Accepted publickey"), 1);
    assert_eq!(target.log_lines_with("Accepted publickey"), 1);
    assert!(bastion.log().contains("direct-tcpip"), "{}", bastion.log());
}

#[tokio::test]
async fn a_wrong_bastion_key_is_refused_before_reaching_the_host() {
    let target = TestSshd::start();
    let bastion = TestSshd::start();
    let mut settings = through_bastion(&target, &bastion);
    settings.bastion_host_key = Some(target.host_key().to_owned());
    let error = refusal(&settings).await;
    let SshError::HostKeyChanged { host, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(host, &format!("bastion 127.0.0.1:{}", bastion.port()));
    assert!(error.to_string().contains("bastion_host_key"), "{error}");
    assert_no_authentication_attempt(&bastion).await;
    assert!(
        !target.log().contains("Connection from"),
        "{}",
        target.log()
    );
}

/// Reads until `needle` has appeared; returns all output read.
async fn read_until(process: &mut primus_ssh::PtyProcess, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        let chunk = process.read(BOUND).await.unwrap().expect("output goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

async fn answer_prompt(sshd: &TestSshd, echo: Echo) -> String {
    let host = pool().host(&sshd.settings()).await.unwrap();
    let script = r#"printf 'Password: '; read answer; printf '\ngot %s chars\n' "${#answer}""#;
    let mut process = host
        .start_pty(&format!("sh -c {}", quote(script)), echo)
        .await
        .unwrap();
    let mut output = read_until(&mut process, "Password: ").await;
    process.write(b"s3cret-answer\n").await.unwrap();
    let finished = process.wait(BOUND).await.unwrap();
    assert_eq!(finished.status, ExitStatus::Code(0));
    output.push_str(&String::from_utf8_lossy(&finished.output));
    assert!(output.contains("got 13 chars"), "{output:?}");
    output
}

#[tokio::test]
async fn a_prompt_answered_with_echo_off_never_shows_the_answer() {
    let sshd = TestSshd::start();
    let output = answer_prompt(&sshd, Echo::Off).await;
    assert!(!output.contains("s3cret"), "{output:?}");
    // The same dialogue with echo on shows it: the check above can fail.
    let echoed = answer_prompt(&sshd, Echo::On).await;
    assert!(echoed.contains("s3cret-answer"), "{echoed:?}");
    // Nor does the answer reach sshd's DEBUG3 log.
    assert!(!sshd.log().contains("s3cret"));
}

#[tokio::test]
async fn a_terminal_command_reports_its_exit_code_or_signal() {
    let sshd = TestSshd::start();
    let host = pool().host(&sshd.settings()).await.unwrap();
    let exit = host.start_pty("sh -c 'exit 7'", Echo::On).await.unwrap();
    assert_eq!(exit.wait(BOUND).await.unwrap().status, ExitStatus::Code(7));
    let killed = host
        .start_pty("sh -c 'kill -TERM $$'", Echo::On)
        .await
        .unwrap();
    assert_eq!(
        killed.wait(BOUND).await.unwrap().status,
        ExitStatus::Signal("TERM".to_owned())
    );
}

fn running(marker: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", marker])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Starts a tool that ignores SIGHUP and leaves a child that ignores it too.
async fn start_hung_tool(host: &primus_ssh::Host, marker: &str) -> primus_ssh::PtyProcess {
    let script = format!("trap '' HUP; sleep {marker} & echo started; wait");
    let mut process = host
        .start_pty(&format!("sh -c {}", quote(&script)), Echo::Off)
        .await
        .unwrap();
    read_until(&mut process, "started").await;
    assert!(
        running(&format!("sleep {marker}")),
        "the child must be running"
    );
    process
}

/// Polls without blocking the runtime: the close is sent by its tasks.
async fn await_gone(marker: &str) {
    let start = Instant::now();
    while running(marker) {
        assert!(start.elapsed() < BOUND, "`{marker}` survived its channel");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn closing_the_channel_kills_a_tool_and_its_child_that_ignore_sighup() {
    let sshd = TestSshd::start();
    let host = pool().host(&sshd.settings()).await.unwrap();
    let marker = format!("{}.1", 900_000 + std::process::id());
    let process = start_hung_tool(&host, &marker).await;
    process.close().await.unwrap();
    await_gone(&marker).await;
}

#[tokio::test]
async fn dropping_the_process_kills_a_tool_and_its_child_that_ignore_sighup() {
    let sshd = TestSshd::start();
    let host = pool().host(&sshd.settings()).await.unwrap();
    let marker = format!("{}.2", 900_000 + std::process::id());
    let process = start_hung_tool(&host, &marker).await;
    drop(process);
    await_gone(&marker).await;
    // The connection is still good for the next command.
    let output = host.run("echo still", b"", BOUND).await.unwrap();
    assert_eq!(output.stdout, b"still\n");
}

#[tokio::test]
async fn a_host_that_never_answers_times_out() {
    let silent = SilentHost::start().await;
    let sshd = TestSshd::start();
    let mut settings = sshd.settings();
    settings.port = silent.port();
    settings.timeout = Duration::from_secs(1);
    let error = tokio::time::timeout(BOUND, pool().host(&settings))
        .await
        .expect("the configured timeout ends the attempt")
        .expect_err("a silent host cannot be connected");
    let SshError::Timeout { during, after, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*after, Duration::from_secs(1));
    assert_eq!(*during, "exchanging keys");
}

#[tokio::test]
async fn concurrent_commands_on_one_host_share_one_connection() {
    let sshd = TestSshd::start();
    let pool = std::sync::Arc::new(pool());
    let settings = sshd.settings();
    let tasks: Vec<_> = (0..25)
        .map(|n| {
            let (pool, settings) = (pool.clone(), settings.clone());
            tokio::spawn(async move {
                let host = pool.host(&settings).await.unwrap();
                host.run(&format!("echo {n}"), b"", BOUND).await.unwrap()
            })
        })
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().stdout, format!("{n}\n").into_bytes());
    }
    assert_eq!(sshd.log_lines_with("Accepted publickey"), 1);
    assert_eq!(sshd.log_lines_with("Connection from 127.0.0.1"), 1);
}

#[tokio::test]
async fn a_refused_key_is_offered_once_and_never_retried() {
    let sshd = TestSshd::start();
    let stranger = KeyPair::generate(sshd.dir(), "stranger");
    let mut settings = sshd.settings();
    settings.private_key = Some(stranger.private_key.clone());
    let pool = pool();
    let first = pool.host(&settings).await.expect_err("an unauthorized key");
    assert!(
        matches!(first, SshError::Authentication { .. }),
        "{first:?}"
    );
    let text = first.to_string();
    assert!(
        text.contains(&fingerprint_of(sshd.dir(), &stranger.public_key)),
        "{text}"
    );
    let second = pool.host(&settings).await.expect_err("the same answer");
    assert_eq!(second.to_string(), text);
    assert_eq!(sshd.log_lines_with("Connection from 127.0.0.1"), 1);
    let secret = stranger.private_key.expose_secret();
    let body = secret.lines().nth(1).unwrap();
    assert!(!format!("{first:?} {settings:?}").contains(body));
}

#[tokio::test]
async fn a_connection_that_dies_mid_command_says_the_command_may_have_run() {
    let sshd = TestSshd::start();
    let host = pool().host(&sshd.settings()).await.unwrap();
    let mut process = host
        .start_pty("sh -c 'echo started; sleep 600'", Echo::Off)
        .await
        .unwrap();
    read_until(&mut process, "started").await;
    sshd.kill_connections();
    let error = loop {
        match process.read(BOUND).await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the output ended as if the command had finished"),
            Err(error) => break error,
        }
    };
    assert!(
        matches!(error, SshError::ConnectionLost { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("may have completed"), "{error}");
    // The next command on that host fails at once rather than hanging.
    let next = host
        .run("true", b"", BOUND)
        .await
        .expect_err("the connection is gone");
    assert!(
        next.to_string()
            .contains(&format!("127.0.0.1:{}", sshd.port())),
        "{next}"
    );
    assert!(next.to_string().contains("nothing was run"), "{next}");
}

#[tokio::test]
async fn a_shared_connection_is_checked_against_each_callers_host_key() {
    let sshd = TestSshd::start();
    let pool = pool();
    pool.host(&sshd.settings()).await.unwrap();
    let mut other_pin = sshd.settings();
    other_pin.host_key = Some(sshd.client_key().public_key.clone());
    let error = pool
        .host(&other_pin)
        .await
        .expect_err("a different pinned key");
    assert!(
        matches!(error, SshError::HostKeyChanged { .. }),
        "{error:?}"
    );
    assert_eq!(sshd.log_lines_with("Connection from 127.0.0.1"), 1);
}

#[tokio::test]
async fn an_unreadable_private_key_is_refused_before_connecting_without_quoting_it() {
    let sshd = TestSshd::start();
    let mut settings = sshd.settings();
    settings.private_key = Some(primus_core::Password::new(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key-zzq\n".to_owned(),
    ));
    let error = refusal(&settings).await;
    let SshError::Settings { attribute, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*attribute, "private_key");
    assert!(!format!("{error} {error:?}").contains("zzq"), "{error:?}");
    assert!(!sshd.log().contains("Connection from"), "{}", sshd.log());
}

#[tokio::test]
async fn each_simulated_host_has_its_own_session_environment() {
    let first = TestSshd::start_with_env(&[("SECUROSYS_SECRETS_CONF", "/first/.secrets.cfg")]);
    let second = TestSshd::start_with_env(&[("SECUROSYS_SECRETS_CONF", "/second/.secrets.cfg")]);
    let pool = pool();
    for (sshd, expected) in [
        (&first, "/first/.secrets.cfg"),
        (&second, "/second/.secrets.cfg"),
    ] {
        let host = pool.host(&sshd.settings()).await.unwrap();
        let output = host
            .run(
                "printf '%s\\n' \"$SECUROSYS_SECRETS_CONF\" \"$HOME\"",
                b"",
                BOUND,
            )
            .await
            .unwrap();
        // The session's HOME is the server's own, so the test runner's shell
        // start files (a ~/.bashrc that runs pyenv, say) never run in it.
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            format!("{expected}\n{}\n", sshd.home().display())
        );
    }
}
