//! Benchmark: `terraform apply` then `terraform destroy` of N
//! `primus_permanent_secret` against a release hsm-sim, beside N
//! `null_resource` of hashicorp/null 2.1.2 with the same Terraform 1.0.3 in
//! the same run, printed as ratios. Targets: at most 1.10x null's wall time
//! at N = 100, and a ratio that does not grow from 100 to 1,000.
//!
//! Run: `cargo bench -p acceptance-tests --bench apply` (it builds the
//! provider and hsm-sim in release mode first). `BENCH_SIZES=100` limits
//! the sizes (default `100,1000`), `BENCH_RUNS=N` the runs per size
//! (default 5 at 100 and 1 at 1,000; the median is reported).

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

/// The primus working directory: N users of `sim`, one resource each.
fn primus_workspace(binary: &Path, sim: &SimProcess) -> Workspace {
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
provider "primus" {{}}
{locals}
resource "primus_permanent_secret" "r" {{
  for_each        = local.items
  user            = each.key
  setup_password  = split(":", each.value)[0]
  pkcs11_password = split(":", each.value)[1]
}}
"#,
        locals = locals(&items(sim))
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

/// Runs `runs` interleaved cycles of both and returns the medians
/// (apply, destroy) of primus and of null.
fn measure(n: usize, runs: usize, release: &Path) -> (Medians, Medians) {
    let sim =
        SimProcess::start_with_binary(&release.join("hsm-sim"), SimConfig::generated(n)).unwrap();
    let primus = primus_workspace(&release.join("terraform-provider-primus"), &sim);
    let null = null_workspace(&sim);
    let (mut p, mut q) = (Vec::new(), Vec::new());
    for run in 0..runs {
        // Alternate which goes first so neither always meets a warm or cold cache.
        if run % 2 == 0 {
            q.push(cycle(&null));
            p.push(cycle(&primus));
        } else {
            p.push(cycle(&primus));
            q.push(cycle(&null));
        }
    }
    let listed = std::fs::metadata(&sim.paths().secrets_cfg).is_ok();
    assert!(listed, "the primus runs wrote .secrets.cfg");
    let medians = |t: &[Timing]| Medians {
        apply: median(t.iter().map(|t| t.apply).collect()),
        refresh: median(t.iter().map(|t| t.refresh).collect()),
        destroy: median(t.iter().map(|t| t.destroy).collect()),
    };
    (medians(&p), medians(&q))
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
        // The target compares apply + destroy; the refresh-only plan is shown to locate costs.
        let ratio = secs(p.apply + p.destroy) / secs(q.apply + q.destroy);
        let row = |what: &str, p: Duration, q: Duration| {
            format!(
                "{what}: primus {:>7.3}s null {:>7.3}s ({:.2}x)",
                secs(p),
                secs(q),
                secs(p) / secs(q)
            )
        };
        println!(
            "N={n:>5} ({runs} runs, median)  {}  {}  {}  apply+destroy ratio {ratio:.2}x",
            row("apply", p.apply, q.apply),
            row("refresh", p.refresh, q.refresh),
            row("destroy", p.destroy, q.destroy),
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
}
