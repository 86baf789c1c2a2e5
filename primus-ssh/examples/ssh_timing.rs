//! Measures, against a real sshd on loopback, what one host costs: opening
//! a connection (TCP, key exchange, host key check, authentication), its
//! first command, commands in a row on it, and commands run concurrently on
//! the one connection.
//!
//! `cargo run --release -p primus-ssh --features testing --example ssh_timing`

use std::sync::Arc;
use std::time::{Duration, Instant};

use primus_ssh::testing::TestSshd;
use primus_ssh::{Echo, PoolLimits, SshPool};

const ROUNDS: u32 = 10;
const COMMANDS: u32 = 20;

fn per(total: Duration, count: u32) -> String {
    format!("{:.2} ms", total.as_secs_f64() * 1000.0 / f64::from(count))
}

#[tokio::main]
async fn main() {
    let sshd = TestSshd::start();
    let mut settings = sshd.settings();
    // Commands queue for the host's 10 sessions within this bound.
    settings.timeout = Duration::from_secs(120);
    let within = Duration::from_secs(30);

    let (mut connecting, mut first_command) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        let pool = SshPool::new(PoolLimits::default());
        let start = Instant::now();
        let host = pool.host(&settings).await.expect("connects");
        connecting += start.elapsed();
        let start = Instant::now();
        host.run("true", b"", within).await.expect("runs");
        first_command += start.elapsed();
    }
    println!(
        "connect + authenticate: {} per connection ({ROUNDS} rounds)",
        per(connecting, ROUNDS)
    );
    // sshd holds its post-authentication messages behind Nagle's algorithm
    // until a session starts: without quick acknowledgements (quick_ack.rs)
    // this was about 45 ms, against the next commands' few.
    println!(
        "first command on a new connection: {} per connection",
        per(first_command, ROUNDS)
    );

    let pool = Arc::new(SshPool::new(PoolLimits::default()));
    let host = pool.host(&settings).await.expect("connects");
    let start = Instant::now();
    for _ in 0..COMMANDS {
        host.run("true", b"", within).await.expect("runs");
    }
    println!(
        "command without terminal: {} per channel ({COMMANDS} in a row)",
        per(start.elapsed(), COMMANDS)
    );

    let start = Instant::now();
    for _ in 0..COMMANDS {
        let process = host.start_pty("true", Echo::Off).await.expect("starts");
        process.wait(within).await.expect("ends");
    }
    println!(
        "command on a terminal: {} per channel ({COMMANDS} in a row)",
        per(start.elapsed(), COMMANDS)
    );

    let start = Instant::now();
    let tasks: Vec<_> = (0..COMMANDS)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { host.run("true", b"", within).await.expect("runs") })
        })
        .collect();
    for task in tasks {
        task.await.expect("the task ends");
    }
    println!(
        "command without terminal: {} per channel ({COMMANDS} at once, 10 sessions)",
        per(start.elapsed(), COMMANDS)
    );
}
