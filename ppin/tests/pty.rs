//! The no-echo prompt, through a real pseudo-terminal: `ppin -a -e USER` with
//! its standard input and error on a pty, the test typing at the other end.

#![allow(clippy::unwrap_used)] // Tests may unwrap: a panic is the failure report.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ppin_command, setup, BANNER};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use rustix::termios::{tcflush, tcgetattr, LocalModes, QueueSelector};

/// Bounds every wait, so a broken prompt fails the test instead of hanging it.
const DEADLINE: Duration = Duration::from_secs(20);

/// The terminal side the test types into, and everything the terminal showed.
struct Terminal {
    master: File,
    slave: File,
    shown: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn open() -> Terminal {
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        let master = File::from(master);
        let shown = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = Arc::clone(&shown);
        // Ends when every slave descriptor is closed (read fails with EIO).
        std::thread::spawn(move || {
            let mut buffer = [0u8; 1024];
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Terminal {
            master,
            slave,
            shown,
        }
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    /// Waits until the terminal has shown `count` occurrences of `text`.
    fn wait_for(&self, text: &str, count: usize) {
        let start = Instant::now();
        while self.shown().matches(text).count() < count {
            assert!(
                start.elapsed() < DEADLINE,
                "the terminal never showed {text:?}; it showed {:?}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn echo_on(&self) -> bool {
        tcgetattr(&self.slave)
            .unwrap()
            .local_modes
            .contains(LocalModes::ECHO)
    }

    /// Waits until the program reading the terminal has turned echo off.
    fn wait_for_echo_off(&self) {
        let start = Instant::now();
        while self.echo_on() {
            assert!(
                start.elapsed() < DEADLINE,
                "echo was never turned off; the terminal showed {:?}",
                self.shown()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn type_line(&mut self, text: &str) {
        self.master
            .write_all(format!("{text}\n").as_bytes())
            .unwrap();
    }
}

#[test]
fn prompts_on_a_terminal_do_not_echo_the_password() {
    let s = setup(1);
    let (setup_password, pin) = (s.setup_password("U0001"), s.pkcs11_password("U0001"));
    let mut terminal = Terminal::open();

    // Control: this terminal echoes what is typed while echo is on.
    assert!(terminal.echo_on());
    terminal.type_line("probe-echo");
    terminal.wait_for("probe-echo", 1);
    tcflush(&terminal.slave, QueueSelector::IFlush).unwrap();

    let mut child = ppin_command()
        .arg("-c")
        .arg(&s.primus_cfg)
        .arg("-s")
        .arg(&s.secrets_cfg)
        .args(["-a", "-e", "U0001"])
        .stdin(Stdio::from(terminal.slave.try_clone().unwrap()))
        .stderr(Stdio::from(terminal.slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();

    terminal.wait_for("Provide setup password for 'U0001': ", 1);
    terminal.wait_for_echo_off();
    terminal.type_line(&setup_password);
    terminal.wait_for("Provide PKCS11 password for 'U0001': ", 1);
    terminal.wait_for_echo_off();
    terminal.type_line(&pin);

    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "ppin failed; terminal: {:?}",
        terminal.shown()
    );
    // The vendor's banner before the prompts, and again with every status line.
    assert_eq!(
        stdout,
        format!(
            "{BANNER}{BANNER}[01] slot-id 0:    user 'U0001'      permanent secret: Configured\n\
             [02] slot-id 1:    user 'CLOUD_APP'  permanent secret: MISSING\n\
             [01] service/proxy user 'SERVICE_USER'  permanent secret: MISSING\n"
        )
    );
    assert!(s.stored_secret("U0001").is_some());

    let shown = terminal.shown();
    assert!(
        !shown.contains(&setup_password),
        "the setup password was echoed: {shown:?}"
    );
    assert!(
        !shown.contains(&pin),
        "the PKCS#11 password was echoed: {shown:?}"
    );
    assert!(terminal.echo_on(), "ppin restored echo when it finished");
}

/// Ctrl-C at the no-echo prompt, with a script as ppin's parent (the case
/// that left terminals blind): the terminal gets echo back and ppin exits 130.
#[test]
fn ctrl_c_at_a_prompt_restores_echo_and_exits_130_under_a_script() {
    let s = setup(1);
    let (pty, pts) = pty_process::blocking::open().unwrap();
    let pty = Arc::new(pty);
    let script = r#""$0" -c "$1" -s "$2" -a -e U0001; echo "ppin-exit=$?""#;
    let mut shell = pty_process::blocking::Command::new("sh")
        .args(["-c", script, env!("CARGO_BIN_EXE_ppin")])
        .arg(&s.primus_cfg)
        .arg(&s.secrets_cfg)
        .env_remove("SECUROSYS_SECRETS_KEY")
        .spawn(pts)
        .unwrap();
    let shown = Arc::new(Mutex::new(Vec::new()));
    {
        let (pty, shown) = (Arc::clone(&pty), Arc::clone(&shown));
        // Ends when the session closes the terminal (read fails with EIO).
        std::thread::spawn(move || {
            let mut buffer = [0u8; 1024];
            while let Ok(n @ 1..) = (&*pty).read(&mut buffer) {
                shown.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
    }
    let text = || String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    let echo_on = || {
        tcgetattr(&*pty)
            .unwrap()
            .local_modes
            .contains(LocalModes::ECHO)
    };
    let start = Instant::now();
    while !text().contains("Provide setup password for 'U0001': ") || echo_on() {
        assert!(
            start.elapsed() < DEADLINE,
            "no no-echo prompt: {:?}",
            text()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Ctrl-C as typed: the line discipline sends SIGINT to the foreground group.
    (&*pty).write_all(b"\x03").unwrap();
    while !text().contains("ppin-exit=") {
        assert!(
            start.elapsed() < DEADLINE,
            "ppin did not exit: {:?}",
            text()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(text().contains("ppin-exit=130"), "{:?}", text());
    assert!(echo_on(), "the terminal was left with echo off");
    assert!(shell.wait().unwrap().success());
    assert_eq!(s.stored_secret("U0001"), None);
}
