//! The dialogue against a scripted terminal: what a tool prints, when its
//! echo goes off, what must be typed and how it exits, all in memory.

use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::sync::{Arc, Mutex};

use super::*;

/// One step of a scripted run.
#[derive(Debug, Clone)]
enum Step {
    /// The tool prints these bytes.
    Print(&'static str),
    /// The tool turns echo off and waits for a line (echo is on otherwise).
    EchoOff,
    /// The tool reads one line; the test fails unless it is this.
    Read(&'static str),
    /// The tool prints nothing more and never exits.
    Hang,
}

/// What the scripted run saw, for the test to look at afterwards.
#[derive(Debug, Default)]
struct Seen {
    typed: Vec<u8>,
    killed: bool,
}

/// A terminal playing `steps`, then exiting with `code`.
struct Scripted {
    steps: VecDeque<Step>,
    code: i32,
    seen: Arc<Mutex<Seen>>,
}

impl Scripted {
    fn start(steps: &[Step], code: i32) -> (Box<dyn Terminal>, Arc<Mutex<Seen>>) {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let terminal = Scripted {
            steps: steps.iter().cloned().collect(),
            code,
            seen: Arc::clone(&seen),
        };
        (Box::new(terminal), seen)
    }
}

#[async_trait::async_trait]
impl Terminal for Scripted {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.steps.front().cloned() {
            Some(Step::Print(text)) => {
                self.steps.pop_front();
                buf[..text.len()].copy_from_slice(text.as_bytes());
                Ok(text.len())
            }
            // Waiting for input, or hung: nothing to read until killed.
            Some(Step::EchoOff | Step::Read(_) | Step::Hang) => std::future::pending().await,
            None => Ok(0),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.seen.lock().unwrap().typed.extend_from_slice(bytes);
        if matches!(self.steps.front(), Some(Step::EchoOff)) {
            self.steps.pop_front();
        }
        let Some(Step::Read(expected)) = self.steps.pop_front() else {
            panic!("typed when the tool was not reading");
        };
        assert_eq!(bytes, format!("{expected}\n").as_bytes());
        Ok(())
    }

    fn echoes(&self) -> io::Result<bool> {
        Ok(!matches!(self.steps.front(), Some(Step::EchoOff)))
    }

    async fn wait(&mut self) -> io::Result<ExitStatus> {
        if matches!(self.steps.front(), Some(Step::Hang)) {
            std::future::pending::<()>().await;
        }
        Ok(ExitStatus::from_raw(self.code << 8))
    }

    async fn kill(&mut self) {
        self.seen.lock().unwrap().killed = true;
    }
}

const SETUP: &str = "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3";
const PKCS11: &str = "pkcs11-password";

fn credentials() -> SetupCredentials {
    SetupCredentials::new(Password::new(SETUP.into()), Password::new(PKCS11.into()))
}

fn limits() -> Limits {
    Limits {
        prompt: Duration::from_millis(300),
        run: Duration::from_secs(5),
    }
}

const BANNER: &str = "********************\r\nPrimus Permanent PIN\r\n********************\r\n";

/// The vendor's `ppin -a -e APP` as its documentation shows it.
fn documented_add() -> Vec<Step> {
    vec![
        Step::Print(BANNER),
        Step::Print("Provide setup password for 'APP': "),
        Step::EchoOff,
        Step::Read(SETUP),
        Step::Print("\r\nProvide PKCS11 password for 'APP': "),
        Step::EchoOff,
        Step::Read(PKCS11),
        Step::Print("\r\n"),
        Step::Print(BANNER),
        Step::Print("[01] slot-id 0: user 'APP' permanent secret: Configured\r\n"),
    ]
}

#[tokio::test]
async fn answers_each_prompt_once_echo_is_off_and_reads_the_result() {
    let credentials = credentials();
    let (terminal, seen) = Scripted::start(&documented_add(), 0);
    let answers = setup_answers("APP", &credentials);

    let finished = converse(
        terminal,
        "ppin -a -e APP",
        &answers,
        limits(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();

    assert!(finished.status.success());
    let report = understand("ppin -a -e APP", &finished.lines, Some(2)).unwrap();
    assert_eq!(report.users.len(), 1);
    assert!(report.users[0].configured);
    assert_eq!(
        seen.lock().unwrap().typed,
        format!("{SETUP}\n{PKCS11}\n").as_bytes()
    );
}

#[tokio::test]
async fn a_prompt_whose_echo_stays_on_gets_no_password() {
    let credentials = credentials();
    let steps = [
        Step::Print(BANNER),
        Step::Print("Provide setup password for 'APP': "),
        Step::Read(SETUP),
    ];
    let (terminal, seen) = Scripted::start(&steps, 0);
    let answers = setup_answers("APP", &credentials);

    let error = converse(
        terminal,
        "ppin -a -e APP",
        &answers,
        limits(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();

    assert!(
        matches!(&error, ExternalError::NoPrompt { expected, .. } if expected.ends_with("(with echo off)")),
        "{error}"
    );
    let seen = seen.lock().unwrap();
    assert!(seen.typed.is_empty(), "a password was typed with echo on");
    assert!(seen.killed);
}

#[tokio::test]
async fn a_tool_that_exits_without_asking_fails_with_its_output() {
    let credentials = credentials();
    let steps = [
        Step::Print(BANNER),
        Step::Print("Error 0x80005012: user 'APP' not found in configuration\r\n"),
    ];
    let (terminal, seen) = Scripted::start(&steps, 1);
    let answers = setup_answers("APP", &credentials);

    let error = converse(
        terminal,
        "ppin -a -e APP",
        &answers,
        limits(),
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();

    assert_eq!(error.vendor_code(), Some(hsm_wire::VendorCode(0x8000_5012)));
    assert!(matches!(error, ExternalError::Failed { .. }), "{error}");
    assert!(seen.lock().unwrap().typed.is_empty());
}

#[tokio::test]
async fn a_tool_that_hangs_after_the_answers_is_killed_and_quoted() {
    let credentials = credentials();
    let mut steps = documented_add();
    steps.truncate(8);
    steps.push(Step::Print("Connecting to HSM\r\n"));
    steps.push(Step::Hang);
    let (terminal, seen) = Scripted::start(&steps, 0);
    let answers = setup_answers("APP", &credentials);
    let limits = Limits {
        prompt: Duration::from_secs(5),
        run: Duration::from_millis(300),
    };

    let error = converse(
        terminal,
        "ppin -a -e APP",
        &answers,
        limits,
        &CancellationToken::new(),
    )
    .await
    .unwrap_err();

    let ExternalError::Hung { output, .. } = &error else {
        panic!("{error}");
    };
    assert!(output.iter().any(|l| l == "Connecting to HSM"));
    assert!(seen.lock().unwrap().killed);
}

#[tokio::test]
async fn a_password_the_tool_echoes_back_is_scrubbed_from_its_output() {
    let password = Password::new("proxy-secret-1".into());
    let steps = [
        Step::Print(BANNER),
        Step::Print("Provide proxy password for 'PROXY' : "),
        Step::EchoOff,
        Step::Read("proxy-secret-1"),
        // A broken tool printing what was typed.
        Step::Print("proxy-secret-1\r\n"),
        Step::Print(BANNER),
        Step::Print("[01] service/proxy user 'PROXY'  permanent secret: Configured\r\n"),
    ];
    let (terminal, _) = Scripted::start(&steps, 0);
    let answers = [proxy_answer("PROXY", &password)];

    let finished = converse(
        terminal,
        "ppin -p -e PROXY",
        &answers,
        limits(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();

    assert!(finished.lines.iter().all(|l| !l.contains("proxy-secret-1")));
    assert!(finished.lines.iter().any(|l| l.ends_with(": [redacted]")));
}

#[tokio::test]
async fn a_stop_before_the_first_password_types_nothing() {
    let credentials = credentials();
    let steps = [Step::Print(BANNER), Step::Hang];
    let (terminal, seen) = Scripted::start(&steps, 0);
    let answers = setup_answers("APP", &credentials);
    let cancel = CancellationToken::new();
    cancel.cancel();

    let error = converse(terminal, "ppin -a -e APP", &answers, limits(), &cancel)
        .await
        .unwrap_err();

    assert!(matches!(error, ExternalError::Cancelled { .. }), "{error}");
    let seen = seen.lock().unwrap();
    assert!(seen.typed.is_empty());
    assert!(seen.killed);
}

#[test]
fn the_version_line_is_the_first_line_that_is_not_the_banner() {
    let lines: Vec<String> = ["", "Primus HSM PKCS#11 2.2.4"].map(String::from).to_vec();
    assert_eq!(
        version_line("ppin -v", &lines).unwrap(),
        "Primus HSM PKCS#11 2.2.4"
    );
    assert!(version_line("ppin -v", &[]).is_err());
}
