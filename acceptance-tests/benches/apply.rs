//! Benchmark: `terraform apply` then `terraform destroy` of N
//! `primus_permanent_secret` against a release hsm-sim, beside N
//! `null_resource` of hashicorp/null 2.1.2 with the same Terraform 1.0.3 in
//! the same run, printed as ratios. Targets: at most 1.10x null's wall time
//! at N = 100, and a ratio that does not grow from 100 to 1,000.
//!
//! Then the external engine beside the built-in one: the same N = 100
//! resources with `ppin_command` set to the release `ppin` (every operation
//! a `ppin` run on a pseudo-terminal, edits one at a time), printed as a
//! ratio, with what one `ppin -l` process costs.
//!
//! Run: `cargo bench -p acceptance-tests --bench apply` (it builds the
//! provider, `ppin` and hsm-sim in release mode first). `BENCH_SIZES=100`
//! limits the sizes (default `100,1000`), `BENCH_RUNS=N` the runs per size
//! (default 5 at 100 and 1 at 1,000; the median is reported),
//! `BENCH_EXTERNAL=0` skips the engine comparison.

#![allow(clippy::unwrap_used)] // a benchmark that cannot run should stop loudly

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use acceptance_tests::{workspace_root, SOURCE, TERRAFORM_BLOCK, VERSION};
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

/// Wall time of `apply`, of a refresh-only plan of what it made, and of `destroy`.
struct Timing {
    apply: Duration,
    refresh: Duration,
    destroy: Duration,
}

fn timed(ws: &Workspace, args: &[&str]) -> Duration {
    let start = Instant::now();
    ws.run_ok(args).unwrap();
    start.elapsed()
}

fn cycle(ws: &Workspace) -> Timing {
    let apply = timed(ws, &["apply", "-no-color", "-input=false", "-auto-approve"]);
    let refresh = timed(ws, &["plan", "-no-color", "-input=false", "-refresh-only"]);
    let destroy = timed(
        ws,
        &["destroy", "-no-color", "-input=false", "-auto-approve"],
    );
    Timing {
        apply,
        refresh,
        destroy,
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
fn primus_workspace(binary: &Path, sim: &SimProcess, engine: Engine<'_>) -> Workspace {
    let mut ws = Workspace::new(binary, SOURCE, VERSION).unwrap();
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
  for_each        = local.items
  user            = each.key
  setup_password  = split(":", each.value)[0]
  pkcs11_password = split(":", each.value)[1]
}}
"#,
        locals = locals(&items(sim)),
        ppin_command = match engine {
            Engine::BuiltIn => String::new(),
            Engine::External(ppin) => format!("  ppin_command = \"{}\"", ppin.display()),
        },
    ))
    .unwrap();
    ws.init().unwrap();
    ws
}

/// The null working directory: the same for_each over the same users and
/// passwords, carried in `triggers`, so both states hold the same inputs.
fn null_workspace(sim: &SimProcess) -> Workspace {
    let ws = Workspace::new(&null_provider_binary().unwrap(), "hashicorp/null", "2.1.2").unwrap();
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
    setup_password  = split(":", each.value)[0]
    pkcs11_password = split(":", each.value)[1]
  }}
}}
"#,
        locals = locals(&items(sim))
    ))
    .unwrap();
    ws.init().unwrap();
    ws
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Median wall times of one side.
struct Medians {
    apply: Duration,
    refresh: Duration,
    destroy: Duration,
}

/// Runs `runs` interleaved cycles of `a` and `b` and returns the medians of each.
fn interleave(a: &Workspace, b: &Workspace, runs: usize) -> (Medians, Medians) {
    let (mut p, mut q) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate which goes first so neither always meets a warm or cold cache.
        if run % 2 == 0 {
            q.push(cycle(b));
            p.push(cycle(a));
        } else {
            p.push(cycle(a));
            q.push(cycle(b));
        }
    }
    let medians = |t: &[Timing]| Medians {
        apply: median(t.iter().map(|t| t.apply).collect()),
        refresh: median(t.iter().map(|t| t.refresh).collect()),
        destroy: median(t.iter().map(|t| t.destroy).collect()),
    };
    (medians(&p), medians(&q))
}

/// Runs `runs` interleaved cycles of primus and null and returns their medians.
fn measure(n: usize, runs: usize, release: &Path) -> (Medians, Medians) {
    let sim =
        SimProcess::start_with_binary(&release.join("hsm-sim"), SimConfig::generated(n)).unwrap();
    let primus = primus_workspace(
        &release.join("terraform-provider-primus"),
        &sim,
        Engine::BuiltIn,
    );
    let null = null_workspace(&sim);
    let measured = interleave(&primus, &null, runs);
    let listed = std::fs::metadata(&sim.paths().secrets_cfg).is_ok();
    assert!(listed, "the primus runs wrote .secrets.cfg");
    measured
}

/// Prints `label` and the three wall times of both sides with their
/// ratios; returns the apply+destroy ratio.
fn report(label: &str, names: [&str; 2], p: &Medians, q: &Medians) -> f64 {
    let row = |what: &str, p: Duration, q: Duration| {
        format!(
            "{what}: {} {:>7.3}s {} {:>7.3}s ({:.2}x)",
            names[0],
            secs(p),
            names[1],
            secs(q),
            secs(p) / secs(q)
        )
    };
    // The targets compare apply + destroy; the refresh-only plan is shown to locate costs.
    let ratio = secs(p.apply + p.destroy) / secs(q.apply + q.destroy);
    println!(
        "{label}  {}  {}  {}  apply+destroy ratio {ratio:.2}x",
        row("apply", p.apply, q.apply),
        row("refresh", p.refresh, q.refresh),
        row("destroy", p.destroy, q.destroy),
    );
    ratio
}

/// The external engine (release `ppin`) beside the built-in one over one
/// simulator of 100 users, and the median wall time of one `ppin -l` process.
fn compare_engines(runs: usize, release: &Path) {
    let n = 100;
    let sim =
        SimProcess::start_with_binary(&release.join("hsm-sim"), SimConfig::generated(n)).unwrap();
    let provider = release.join("terraform-provider-primus");
    let ppin = release.join("ppin");
    let external = primus_workspace(&provider, &sim, Engine::External(&ppin));
    let builtin = primus_workspace(&provider, &sim, Engine::BuiltIn);
    let (e, b) = interleave(&external, &builtin, runs);
    report(
        &format!("external engine vs built-in, N={n} ({runs} runs, median)"),
        ["external", "built-in"],
        &e,
        &b,
    );
    // The external engine's extra cost per edit (apply: one -a, destroy: one -r per resource).
    let extra = (e.apply + e.destroy).saturating_sub(b.apply + b.destroy);
    let listings: Vec<Duration> = (0..50)
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
    println!(
        "one `ppin -l` process (spawn, read primus.cfg and .secrets.cfg, print): {:.1} ms median of 50; \
         external extra per edit (apply+destroy difference / {}): {:.1} ms",
        secs(median(listings)) * 1e3,
        2 * n,
        secs(extra) * 1e3 / (2 * n) as f64,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any filter argument is ignored.
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .unwrap_or_else(|_| "100,1000".to_owned())
        .split(',')
        .map(|s| {
            s.trim()
                .parse()
                .expect("BENCH_SIZES is a comma-separated list of counts")
        })
        .collect();
    let release = release_binaries();
    let mut ratios = Vec::new();
    println!("terraform apply + destroy, primus_permanent_secret vs null_resource (hashicorp/null 2.1.2), terraform 1.0.3");
    for n in sizes {
        let runs = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(if n <= 100 { 5 } else { 1 });
        let (p, q) = measure(n, runs, &release);
        let ratio = report(
            &format!("N={n:>5} ({runs} runs, median)"),
            ["primus", "null"],
            &p,
            &q,
        );
        ratios.push((n, ratio));
    }
    if let Some(&(n, r)) = ratios.iter().find(|(n, _)| *n == 100) {
        println!(
            "target at N={n}: <= 1.10x null -> {r:.2}x {}",
            if r <= 1.10 { "MET" } else { "NOT MET" }
        );
    }
    if let (Some(&(_, small)), Some(&(big_n, big))) = (ratios.first(), ratios.last()) {
        if ratios.len() > 1 {
            println!(
                "ratio growth to N={big_n}: {:.2} ({} target: must not grow)",
                big / small,
                if big <= small * 1.05 {
                    "MET"
                } else {
                    "NOT MET"
                }
            );
        }
    }
    if std::env::var("BENCH_EXTERNAL").as_deref() != Ok("0") {
        let runs = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(3);
        compare_engines(runs, &release);
    }
}
