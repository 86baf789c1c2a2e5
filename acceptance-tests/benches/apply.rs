//! Benchmark: `terraform apply`, a refresh-only `plan` and `terraform
//! destroy` of N `primus_permanent_secret` against a release hsm-sim, beside
//! N `null_resource` of hashicorp/null 2.1.2 carrying the same inputs, with
//! the same Terraform in the same run (cycles interleaved), printed as
//! ratios. For each side it also measures the CPU of Terraform and the
//! provider (this process's reaped children, from `/proc/self/stat`; the
//! simulator is still running, so it is not counted), the CPU of the
//! provider processes alone and their peak RSS (both sampled from `/proc`
//! every 50 ms while a command runs).
//!
//! Targets (issue #12): apply+destroy at most 1.05x null at N = 100, 1,000
//! and 2,000 on Terraform 1.0.3 and 1.15.5, flat from 100 to 2,000; the
//! refresh-only plan at N = 1,000 at most 1.05x null.
//!
//! Then the external engine beside the built-in one: the same N = 100
//! resources with `ppin_command` set to the release `ppin` (every operation
//! a `ppin` run on a pseudo-terminal, edits one at a time), printed as a
//! ratio, with what one `ppin -l` process costs.
//!
//! Run: `cargo bench -p acceptance-tests --bench apply` (it builds the
//! provider, `ppin` and hsm-sim in release mode first). Settings:
//! - `BENCH_SIZES=100` the sizes (default `100,1000,2000`);
//! - `BENCH_TERRAFORM=1.0.3` the Terraform releases (default `1.0.3,1.15.5`);
//! - `BENCH_RUNS=N` cycles per size (default 3 at N <= 100, else 1; the
//!   median is reported);
//! - `BENCH_EXTERNAL=0` skips the engine comparison;
//! - `BENCH_NULL=sensitive` marks null's copies of the two passwords
//!   `sensitive()`, as the primus schema marks them (the issue's targets are
//!   against the plain peer, the default; Terraform's handling of sensitive
//!   values costs it CPU per resource that neither provider spends);
//! - `BENCH_PRIMUS=write-only` gives the primus resources their passwords
//!   through the write-only arguments on Terraform 1.15.5, as the
//!   quickstart does (the plain sensitive ones otherwise);
//! - `BENCH_PROVIDER=PATH` runs that file as the provider instead of the
//!   release build (e.g. a script that execs the build under `perf record`).
//!
//! The full default run took about 17 minutes on 2 shared cores (N = 2,000
//! is 11 of them); `BENCH_SIZES=100 BENCH_TERRAFORM=1.0.3 BENCH_EXTERNAL=0`
//! about 1 minute after the build.

#![allow(clippy::unwrap_used)] // a benchmark that cannot run should stop loudly

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use acceptance_tests::{workspace_root, Terraform, TERRAFORM_BLOCK};
use hsm_sim::harness::SimProcess;
use hsm_sim::SimConfig;
use tfplug::testing::{null_provider_binary, Workspace};

/// Builds the release binaries the benchmark runs and returns their directory.
fn release_binaries() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "terraform-provider-primus",
            "-p",
            "hsm-sim",
            "-p",
            "ppin",
            "--bins",
        ])
        .current_dir(workspace_root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build --release failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    target.join("release")
}

/// Clock ticks per second of `/proc` CPU times (`sysconf(_SC_CLK_TCK)`,
/// 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// Fields of `/proc/PID/stat` after the command name, which may hold spaces.
fn stat_fields(pid: &str) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // Field 3 (state) is a letter: keep positions by mapping it to 0.
    Some(
        rest.split_whitespace()
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// CPU time of this process's reaped children and theirs (`cutime + cstime`).
fn children_cpu() -> Duration {
    let fields = stat_fields("self").unwrap();
    // stat fields 16 and 17, counted from 3 in `fields`.
    Duration::from_secs_f64((fields[13] + fields[14]) as f64 / TICKS_PER_SECOND)
}

/// What the sampler last saw of one provider process.
#[derive(Clone, Copy, Default)]
struct ProcessSeen {
    cpu: Duration,
    peak_kib: u64,
}

/// One provider process's CPU (`utime + stime`) and peak RSS (`VmHWM`), if
/// its command line names `binary_name`.
fn provider_process(pid: &str, binary_name: &str) -> Option<ProcessSeen> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let argv0 = cmdline.split(|b| *b == 0).next()?;
    if !String::from_utf8_lossy(argv0).contains(binary_name) {
        return None;
    }
    let fields = stat_fields(pid)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())?;
    Some(ProcessSeen {
        // stat fields 14 and 15.
        cpu: Duration::from_secs_f64((fields[11] + fields[12]) as f64 / TICKS_PER_SECOND),
        peak_kib,
    })
}

/// Samples `/proc` while a command runs: every process whose command line
/// names `binary_name`, by pid, as last seen.
fn sample_providers(binary_name: &str, during: impl FnOnce()) -> HashMap<String, ProcessSeen> {
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, name) = (Arc::clone(&done), binary_name.to_owned());
        thread::spawn(move || {
            let mut seen = HashMap::new();
            while !done.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let pid = entry.file_name().to_string_lossy().into_owned();
                    if !pid.bytes().all(|b| b.is_ascii_digit()) {
                        continue;
                    }
                    if let Some(process) = provider_process(&pid, &name) {
                        seen.insert(pid, process);
                    }
                }
                thread::sleep(Duration::from_millis(50));
            }
            seen
        })
    };
    during();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap()
}

/// One terraform command of one side.
#[derive(Clone, Copy, Default)]
struct Sample {
    wall: Duration,
    /// Terraform and the provider processes it ran.
    cpu: Duration,
    /// The provider processes alone (as last sampled).
    provider_cpu: Duration,
    provider_peak_kib: u64,
}

/// A side of the comparison: a working directory and its provider's binary name.
struct Side {
    ws: Workspace,
    binary_name: &'static str,
}

impl Side {
    fn timed(&self, args: &[&str]) -> Sample {
        let cpu_before = children_cpu();
        let mut wall = Duration::ZERO;
        let seen = sample_providers(self.binary_name, || {
            let start = Instant::now();
            self.ws.run_ok(args).unwrap();
            wall = start.elapsed();
        });
        Sample {
            wall,
            cpu: children_cpu() - cpu_before,
            provider_cpu: seen.values().map(|p| p.cpu).sum(),
            provider_peak_kib: seen.values().map(|p| p.peak_kib).max().unwrap_or(0),
        }
    }

    fn cycle(&self) -> Cycle {
        Cycle {
            apply: self.timed(&["apply", "-no-color", "-input=false", "-auto-approve"]),
            refresh: self.timed(&["plan", "-no-color", "-input=false", "-refresh-only"]),
            destroy: self.timed(&["destroy", "-no-color", "-input=false", "-auto-approve"]),
        }
    }
}

/// `apply`, a refresh-only plan of what it made, and `destroy`.
#[derive(Clone, Copy)]
struct Cycle {
    apply: Sample,
    refresh: Sample,
    destroy: Sample,
}

impl Cycle {
    /// Apply and destroy together: what the targets compare.
    fn lifecycle(&self) -> Sample {
        Sample {
            wall: self.apply.wall + self.destroy.wall,
            cpu: self.apply.cpu + self.destroy.cpu,
            provider_cpu: self.apply.provider_cpu + self.destroy.provider_cpu,
            provider_peak_kib: self
                .apply
                .provider_peak_kib
                .max(self.destroy.provider_peak_kib),
        }
    }
}

/// `locals { items = { KEY = "VALUE", ... } }` for HCL.
fn locals(items: &[(String, String)]) -> String {
    let body: Vec<String> = items
        .iter()
        .map(|(k, v)| format!("    {k} = \"{v}\""))
        .collect();
    format!("locals {{\n  items = {{\n{}\n  }}\n}}\n", body.join("\n"))
}

/// `USER = "SETUP:PKCS11"` for every user of `sim`.
fn items(sim: &SimProcess) -> Vec<(String, String)> {
    sim.config()
        .users
        .iter()
        .map(|u| {
            let passwords = format!(
                "{}:{}",
                u.setup_password.expose_secret(),
                u.pkcs11_password.expose_secret()
            );
            (u.name.clone(), passwords)
        })
        .collect()
}

/// Which engine the provider runs.
#[derive(Clone, Copy)]
enum Engine<'a> {
    BuiltIn,
    /// `ppin_command` set to this binary.
    External(&'a Path),
}

/// The primus working directory: N users of `sim`, one resource each.
fn primus_side(binary: &Path, tf: Terraform, sim: &SimProcess, engine: Engine<'_>) -> Side {
    let mut ws = tf.workspace(binary);
    ws.set_env(
        "SECUROSYS_PKCS11_CONF",
        &sim.paths().primus_cfg.display().to_string(),
    );
    ws.set_env(
        "SECUROSYS_SECRETS_CONF",
        &sim.paths().secrets_cfg.display().to_string(),
    );
    ws.write_config(&format!(
        r#"{TERRAFORM_BLOCK}
provider "primus" {{
{ppin_command}
}}
{locals}
resource "primus_permanent_secret" "r" {{
  for_each = local.items
  user     = each.key
{passwords}
}}
"#,
        locals = locals(&items(sim)),
        passwords = primus_passwords(tf),
        ppin_command = match engine {
            Engine::BuiltIn => String::new(),
            Engine::External(ppin) => format!("  ppin_command = \"{}\"", ppin.display()),
        },
    ))
    .unwrap();
    ws.init().unwrap();
    Side {
        ws,
        binary_name: "terraform-provider-primus",
    }
}

/// How the primus resources take their passwords: the sensitive plain
/// arguments (every release), or with `BENCH_PRIMUS=write-only` on
/// Terraform 1.15.5 the write-only ones the quickstart uses, which neither
/// the plan nor the state holds.
fn primus_passwords(tf: Terraform) -> &'static str {
    let write_only = std::env::var("BENCH_PRIMUS").as_deref() == Ok("write-only");
    if write_only && tf == Terraform::V1_15_5 {
        r#"  setup_password_wo   = split(":", each.value)[0]
  pkcs11_password_wo  = split(":", each.value)[1]
  password_wo_version = 1"#
    } else {
        r#"  setup_password  = split(":", each.value)[0]
  pkcs11_password = split(":", each.value)[1]"#
    }
}

/// The null working directory: the same for_each over the same users and
/// passwords, carried in `triggers`, so both states hold the same inputs;
/// with `sensitive`, the passwords are marked sensitive as the primus
/// schema marks them (Terraform's own cost per resource grows with that).
fn null_side(tf: Terraform, sim: &SimProcess, sensitive: bool) -> Side {
    let mut ws =
        Workspace::new(&null_provider_binary().unwrap(), "hashicorp/null", "2.1.2").unwrap();
    ws.set_terraform(tf.binary());
    ws.write_config(&format!(
        r#"
terraform {{
  required_providers {{
    null = {{ source = "hashicorp/null", version = "2.1.2" }}
  }}
}}
{locals}
resource "null_resource" "r" {{
  for_each = local.items
  triggers = {{
    user            = each.key
    setup_password  = {mark}(split(":", each.value)[0])
    pkcs11_password = {mark}(split(":", each.value)[1])
  }}
}}
"#,
        locals = locals(&items(sim)),
        mark = if sensitive { "sensitive" } else { "" },
    ))
    .unwrap();
    ws.init().unwrap();
    Side {
        ws,
        binary_name: "terraform-provider-null",
    }
}

/// The median of each figure of `samples`, taken separately.
fn median(samples: &[Sample]) -> Sample {
    let mid = |mut values: Vec<u128>| {
        values.sort_unstable();
        values[values.len() / 2]
    };
    let of = |f: fn(&Sample) -> Duration| {
        Duration::from_nanos(mid(samples.iter().map(|s| f(s).as_nanos()).collect()) as u64)
    };
    Sample {
        wall: of(|s| s.wall),
        cpu: of(|s| s.cpu),
        provider_cpu: of(|s| s.provider_cpu),
        provider_peak_kib: samples
            .iter()
            .map(|s| s.provider_peak_kib)
            .max()
            .unwrap_or(0),
    }
}

/// Medians of one side over its cycles.
struct Medians {
    apply: Sample,
    refresh: Sample,
    destroy: Sample,
    lifecycle: Sample,
}

impl Medians {
    fn of(cycles: &[Cycle]) -> Medians {
        let pick = |f: fn(&Cycle) -> Sample| median(&cycles.iter().map(f).collect::<Vec<_>>());
        Medians {
            apply: pick(|c| c.apply),
            refresh: pick(|c| c.refresh),
            destroy: pick(|c| c.destroy),
            lifecycle: pick(Cycle::lifecycle),
        }
    }
}

/// Runs `runs` interleaved cycles of `a` and `b` and returns the medians of each.
fn interleave(a: &Side, b: &Side, runs: usize) -> (Medians, Medians) {
    let (mut p, mut q) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate which goes first so neither always meets a warm or cold cache.
        if run % 2 == 0 {
            q.push(b.cycle());
            p.push(a.cycle());
        } else {
            p.push(a.cycle());
            q.push(b.cycle());
        }
    }
    (Medians::of(&p), Medians::of(&q))
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn ratio(p: Duration, q: Duration) -> f64 {
    secs(p) / secs(q)
}

/// Prints the wall times of both sides with their ratios.
fn report(label: &str, names: [&str; 2], p: &Medians, q: &Medians) {
    let row = |what: &str, p: &Sample, q: &Sample| {
        format!(
            "{what}: {} {:>7.3}s {} {:>7.3}s ({:.2}x)",
            names[0],
            secs(p.wall),
            names[1],
            secs(q.wall),
            ratio(p.wall, q.wall)
        )
    };
    println!(
        "{label}  {}  {}  {}  apply+destroy ratio {:.2}x",
        row("apply", &p.apply, &q.apply),
        row("refresh", &p.refresh, &q.refresh),
        row("destroy", &p.destroy, &q.destroy),
        ratio(p.lifecycle.wall, q.lifecycle.wall),
    );
}

/// One line of the summary: primus and null at one size on one Terraform.
struct Row {
    n: usize,
    terraform: &'static str,
    primus: Medians,
    null: Medians,
}

/// Runs `runs` interleaved cycles of primus and null with `tf`.
fn measure(n: usize, tf: Terraform, runs: usize, provider: &Path, release: &Path) -> Row {
    let sim =
        SimProcess::start_with_binary(&release.join("hsm-sim"), SimConfig::generated(n)).unwrap();
    let primus = primus_side(provider, tf, &sim, Engine::BuiltIn);
    let sensitive = std::env::var("BENCH_NULL").as_deref() == Ok("sensitive");
    let null = null_side(tf, &sim, sensitive);
    let (primus, null) = interleave(&primus, &null, runs);
    assert!(
        std::fs::metadata(&sim.paths().secrets_cfg).is_ok(),
        "the primus runs wrote .secrets.cfg"
    );
    Row {
        n,
        terraform: terraform_name(tf),
        primus,
        null,
    }
}

fn terraform_name(tf: Terraform) -> &'static str {
    match tf {
        Terraform::V1_0_3 => "1.0.3",
        Terraform::V1_15_5 => "1.15.5",
        _ => "?",
    }
}

/// The one-screen table of every size and Terraform, with the targets.
fn summary(rows: &[Row]) {
    println!();
    println!("summary: primus_permanent_secret vs null_resource (hashicorp/null 2.1.2), medians; CPU = terraform + provider; prov = provider processes alone");
    println!(
        "{:>5} {:>6} | {:>8} {:>8} {:>6} | {:>7} {:>7} {:>6} | {:>13} {:>13} | {:>11} {:>11} | {:>14}",
        "N", "tf", "a+d p", "a+d null", "ratio", "refr p", "r null", "ratio",
        "CPU/res p", "CPU/res null", "prov/res p", "prov/res nl", "peak RSS p/nl"
    );
    for row in rows {
        let (p, q) = (&row.primus, &row.null);
        let per = |d: Duration| secs(d) * 1e3 / row.n as f64;
        println!(
            "{:>5} {:>6} | {:>7.2}s {:>7.2}s {:>5.2}x | {:>6.2}s {:>6.2}s {:>5.2}x | {:>10.2} ms {:>10.2} ms | {:>8.2} ms {:>8.2} ms | {:>5} / {:>5} MiB",
            row.n,
            row.terraform,
            secs(p.lifecycle.wall),
            secs(q.lifecycle.wall),
            ratio(p.lifecycle.wall, q.lifecycle.wall),
            secs(p.refresh.wall),
            secs(q.refresh.wall),
            ratio(p.refresh.wall, q.refresh.wall),
            per(p.lifecycle.cpu),
            per(q.lifecycle.cpu),
            per(p.lifecycle.provider_cpu),
            per(q.lifecycle.provider_cpu),
            p.lifecycle.provider_peak_kib.max(p.refresh.provider_peak_kib) / 1024,
            q.lifecycle.provider_peak_kib.max(q.refresh.provider_peak_kib) / 1024,
        );
    }
    for tf in ["1.0.3", "1.15.5"] {
        let of_tf: Vec<&Row> = rows.iter().filter(|r| r.terraform == tf).collect();
        let lifecycle = |r: &Row| ratio(r.primus.lifecycle.wall, r.null.lifecycle.wall);
        for row in &of_tf {
            let r = lifecycle(row);
            println!(
                "target N={} terraform {tf}: apply+destroy <= 1.05x null -> {r:.2}x {}",
                row.n,
                verdict(r <= 1.05)
            );
        }
        if let (Some(first), Some(last)) = (of_tf.first(), of_tf.last()) {
            if of_tf.len() > 1 {
                let growth = lifecycle(last) / lifecycle(first);
                println!(
                    "target terraform {tf}: ratio flat from N={} to N={} (within 5%) -> {growth:.2} {}",
                    first.n,
                    last.n,
                    verdict(growth <= 1.05)
                );
            }
        }
        if let Some(row) = of_tf.iter().find(|r| r.n == 1000) {
            let r = ratio(row.primus.refresh.wall, row.null.refresh.wall);
            println!(
                "target N=1000 terraform {tf}: refresh-only plan <= 1.05x null -> {r:.2}x {}",
                verdict(r <= 1.05)
            );
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "NOT MET"
    }
}

/// The external engine (release `ppin`) beside the built-in one over one
/// simulator of 100 users, and the median wall time of one `ppin -l` process.
fn compare_engines(runs: usize, provider: &Path, release: &Path) {
    let n = 100;
    let tf = Terraform::V1_0_3;
    let sim =
        SimProcess::start_with_binary(&release.join("hsm-sim"), SimConfig::generated(n)).unwrap();
    let ppin = release.join("ppin");
    let external = primus_side(provider, tf, &sim, Engine::External(&ppin));
    let builtin = primus_side(provider, tf, &sim, Engine::BuiltIn);
    let (e, b) = interleave(&external, &builtin, runs);
    report(
        &format!("external engine vs built-in, N={n} ({runs} runs, median)"),
        ["external", "built-in"],
        &e,
        &b,
    );
    // The external engine's extra cost per edit (apply: one -a, destroy: one -r per resource).
    let extra = e.lifecycle.wall.saturating_sub(b.lifecycle.wall);
    let mut listings: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            let out = Command::new(&ppin)
                .arg("-l")
                .env("SECUROSYS_PKCS11_CONF", &sim.paths().primus_cfg)
                .env("SECUROSYS_SECRETS_CONF", &sim.paths().secrets_cfg)
                .output()
                .unwrap();
            assert!(out.status.success(), "ppin -l fails: {out:?}");
            start.elapsed()
        })
        .collect();
    listings.sort();
    println!(
        "one `ppin -l` process (spawn, read primus.cfg and .secrets.cfg, print): {:.1} ms median of 50; \
         external extra per edit (apply+destroy difference / {}): {:.1} ms",
        secs(listings[listings.len() / 2]) * 1e3,
        2 * n,
        secs(extra) * 1e3 / (2 * n) as f64,
    );
}

/// A comma-separated list from the environment variable `name`, or `default`.
fn list_setting(name: &str, default: &str) -> Vec<String> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect()
}

fn runs_setting(default: usize) -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; any filter argument is ignored.
    let sizes: Vec<usize> = list_setting("BENCH_SIZES", "100,1000,2000")
        .iter()
        .map(|s| {
            s.parse()
                .expect("BENCH_SIZES is a comma-separated list of counts")
        })
        .collect();
    let terraforms: Vec<Terraform> = list_setting("BENCH_TERRAFORM", "1.0.3,1.15.5")
        .iter()
        .map(|v| match v.as_str() {
            "1.0.3" => Terraform::V1_0_3,
            "1.15.5" => Terraform::V1_15_5,
            other => panic!("BENCH_TERRAFORM: {other:?} is neither 1.0.3 nor 1.15.5"),
        })
        .collect();
    let release = release_binaries();
    let provider = std::env::var_os("BENCH_PROVIDER")
        .map_or_else(|| release.join("terraform-provider-primus"), PathBuf::from);
    println!(
        "terraform apply, refresh-only plan, destroy: primus_permanent_secret vs null_resource (hashicorp/null 2.1.2, passwords {})",
        if std::env::var("BENCH_NULL").as_deref() == Ok("sensitive") { "marked sensitive" } else { "plain" }
    );
    let mut rows = Vec::new();
    // Size by size, so a run stopped early has every Terraform at the smaller sizes.
    for &n in &sizes {
        for &tf in &terraforms {
            let runs = runs_setting(if n <= 100 { 3 } else { 1 });
            let row = measure(n, tf, runs, &provider, &release);
            report(
                &format!("N={n:>5} terraform {} ({runs} runs, median)", row.terraform),
                ["primus", "null"],
                &row.primus,
                &row.null,
            );
            rows.push(row);
        }
    }
    summary(&rows);
    if std::env::var("BENCH_EXTERNAL").as_deref() != Ok("0") {
        compare_engines(runs_setting(3), &provider, &release);
    }
}
