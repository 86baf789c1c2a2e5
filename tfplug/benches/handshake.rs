//! Benchmark: time from exec to the handshake line, and peak memory
//! (VmHWM from /proc once the line is out), of the tfplug example provider
//! against the hashicorp/null 2.1.2 Go provider, started the same way in
//! the same run (magic cookie, PLUGIN_PROTOCOL_VERSIONS, port range and an
//! AutoMTLS client certificate). Targets: at most 1/5 of null's time and
//! 1/2 of its memory.
//!
//! The certificate is part of the set-up because Terraform always sends
//! one, and it is most of null's start-up: null then generates a P-521 key
//! and a certificate (28 ms here on 2 shared cores, where without
//! `PLUGIN_CLIENT_CERT` it starts in about 10 ms, and 5.7 ms was measured
//! elsewhere). tfplug cannot be measured without it: it refuses to serve
//! plaintext outside `--debug`.
//!
//! Run: `cargo bench -p tfplug --bench handshake` (builds the example in
//! release mode too).

#![allow(clippy::unwrap_used)] // a benchmark that cannot run should stop loudly

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tfplug::testing::{null_provider_binary, target_binary, ClientCert};

const RUNS: usize = 25;

struct Sample {
    startup: Duration,
    peak_kib: u64,
}

fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn run_once(binary: &Path, cert: &ClientCert) -> Sample {
    let start = Instant::now();
    let mut child = Command::new(binary)
        .env("TF_PLUGIN_MAGIC_COOKIE", tfplug::serve::MAGIC_COOKIE_VALUE)
        .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
        .env("PLUGIN_MIN_PORT", "10000")
        .env("PLUGIN_MAX_PORT", "25000")
        .env("PLUGIN_CLIENT_CERT", &cert.pem)
        .env_remove("TF_LOG")
        .env_remove("TF_LOG_PROVIDER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let startup = start.elapsed();
    assert!(
        line.contains("|unix|") || line.contains("|tcp|"),
        "{} printed {line:?}",
        binary.display()
    );
    let peak_kib = peak_kib(child.id());
    child.kill().unwrap();
    child.wait().unwrap();
    Sample { startup, peak_kib }
}

fn median<T: Ord + Copy>(mut v: Vec<T>) -> T {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench --bench handshake` does not build examples; build the
    // one we measure, in the same (release) profile.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "-p",
            "tfplug",
            "--example",
            "localfile",
        ])
        .status()
        .unwrap();
    assert!(built.success(), "building the example provider failed");
    let ours = target_binary("examples/localfile").unwrap();
    let null = null_provider_binary().unwrap();
    let cert = ClientCert::generate().unwrap();

    // Warm the page cache for both binaries, then alternate runs so
    // machine noise hits both alike.
    run_once(&ours, &cert);
    run_once(&null, &cert);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        a.push(run_once(&ours, &cert));
        b.push(run_once(&null, &cert));
    }
    let time = |s: &[Sample]| median(s.iter().map(|x| x.startup).collect());
    let mem = |s: &[Sample]| median(s.iter().map(|x| x.peak_kib).collect());
    let (ta, tb, ma, mb) = (time(&a), time(&b), mem(&a), mem(&b));
    let time_ratio = ta.as_secs_f64() / tb.as_secs_f64();
    let mem_ratio = ma as f64 / mb as f64;
    let verdict = |ok: bool| if ok { "meets target" } else { "MISSES target" };

    println!("handshake benchmark, median of {RUNS} runs each");
    println!(
        "  {:<34} {:>12} {:>14}",
        "provider", "exec→line", "peak RSS"
    );
    println!(
        "  {:<34} {:>9.2} ms {:>10} KiB",
        "tfplug example (localfile)",
        ta.as_secs_f64() * 1e3,
        ma
    );
    println!(
        "  {:<34} {:>9.2} ms {:>10} KiB",
        "hashicorp/null 2.1.2",
        tb.as_secs_f64() * 1e3,
        mb
    );
    println!(
        "  time ratio   {time_ratio:.3} (target <= 0.200): {}",
        verdict(time_ratio <= 0.2)
    );
    println!(
        "  memory ratio {mem_ratio:.3} (target <= 0.500): {}",
        verdict(mem_ratio <= 0.5)
    );
}
