//! `ppin_command`: the provider driving a vendor-compatible `ppin` (our own
//! binary standing in for the vendor's) through a wrapper that records each
//! run's start and end, against a real hsm-sim.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;
use tfplug::testing::{target_binary, TfOutput};

const PROXY: &str = "SERVICE_USER";
/// The flags of the runs that edit `.secrets.cfg`.
const EDIT_FLAGS: [&str; 5] = ["-a", "-u", "-r", "-p", "-x"];

/// A fixture script of this module.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/acceptance/vendor_ppin")
        .join(name)
}

/// Points the provider's runs of `recording-ppin.sh` at our `ppin` and its
/// log in the working directory; returns the wrapper and the log.
fn recording_wrapper(f: &mut Fixture) -> (PathBuf, PathBuf) {
    let log = f.ws.work_dir().join("runs.log");
    let ppin = target_binary("ppin").expect("the ppin binary is built");
    f.ws.set_env("REAL_PPIN", &ppin.display().to_string());
    f.ws.set_env("PPIN_RUNS_LOG", &log.display().to_string());
    // The tool gets only the documented environment and what this names.
    f.ws.set_env("PRIMUS_PPIN_ENV", "REAL_PPIN,PPIN_RUNS_LOG");
    (script("recording-ppin.sh"), log)
}

/// One line of the runs log.
struct Run<'a> {
    started: bool,
    edits: bool,
    args: &'a str,
}

fn runs(log: &str) -> Vec<Run<'_>> {
    log.lines()
        .map(|line| {
            let (event, rest) = line.split_once(' ').unwrap();
            let args = rest.split_once(' ').map_or("", |(_pid, args)| args);
            Run {
                started: event == "start",
                edits: args.split_whitespace().any(|a| EDIT_FLAGS.contains(&a)),
                args,
            }
        })
        .collect()
}

/// Asserts no editing run overlapped any other run; returns how many
/// editing runs there were.
fn assert_edits_alone(log: &Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap();
    let (mut edits, mut reads, mut edit_runs) = (0, 0, 0);
    for run in runs(&text) {
        match (run.started, run.edits) {
            (true, true) => {
                assert!(
                    edits == 0 && reads == 0,
                    "`{}` overlapped another run:\n{text}",
                    run.args
                );
                edits += 1;
                edit_runs += 1;
            }
            (true, false) => {
                assert_eq!(edits, 0, "`{}` overlapped an edit:\n{text}", run.args);
                reads += 1;
            }
            (false, true) => edits -= 1,
            (false, false) => reads -= 1,
        }
    }
    assert_eq!((edits, reads), (0, 0), "a run never ended:\n{text}");
    edit_runs
}

/// How many runs of the log were started with exactly these flags (after `-c`/`-s`).
fn count(log: &Path, tail: &str) -> usize {
    let text = std::fs::read_to_string(log).unwrap();
    runs(&text)
        .iter()
        .filter(|r| r.started && r.args.ends_with(tail))
        .count()
}

fn provider(f: &Fixture, ppin_command: &Path) -> String {
    format!(
        "provider \"primus\" {{\n  config_file  = \"{}\"\n  secrets_file = \"{}\"\n  ppin_command = \"{}\"\n}}\n",
        f.primus_cfg().display(),
        f.secrets_cfg().display(),
        ppin_command.display()
    )
}

fn secret(f: &Fixture, user: &str, setup_password: &str, version: u32) -> String {
    format!(
        r#"
resource "primus_permanent_secret" "app" {{
  user                = "{user}"
  setup_password      = "{setup_password}"
  pkcs11_password     = "{pin}"
  password_wo_version = {version}
}}
"#,
        pin = f.pkcs11_password(user),
    )
}

/// `main.tf` with one permanent secret of U0001 through `ppin_command`, initialised.
fn one_secret(f: &Fixture, ppin_command: &Path) {
    f.write(&format!(
        "{}{}",
        provider(f, ppin_command),
        f.permanent_secret("app", "U0001", "")
    ));
    f.ws.init().unwrap();
}

fn lifecycle_through_the_vendor_ppin(tf: Terraform) {
    let mut f = Fixture::new(
        tf,
        SimConfig::generated(2).with_proxied_user("CLOUD_APP", PROXY),
    );
    // The provider block names the files; the tool gets them as -c/-s.
    f.ws.set_env("SECUROSYS_PKCS11_CONF", "/nonexistent/primus.cfg");
    f.ws.set_env("SECUROSYS_SECRETS_CONF", "/nonexistent/.secrets.cfg");
    let (wrapper, log) = recording_wrapper(&mut f);
    let user = "U0001";
    let setup = f.setup_password(user);
    let extras = format!(
        r#"
resource "primus_service_proxy_password" "proxy" {{
  proxy_user = "{PROXY}"
  password   = "{proxy}"
}}

data "primus_secrets" "all" {{
  depends_on = [primus_permanent_secret.app, primus_service_proxy_password.proxy]
}}

data "primus_connection_test" "app" {{
  user       = "{user}"
  depends_on = [primus_permanent_secret.app]
}}

output "users" {{
  value = data.primus_secrets.all.users
}}
"#,
        proxy = f.proxy_password(PROXY),
    );
    let config = |f: &Fixture, setup: &str, version: u32| {
        format!(
            "{}{}{extras}",
            provider(f, &wrapper),
            secret(f, user, setup, version)
        )
    };
    f.write(&config(&f, &setup, 1));
    f.ws.init().unwrap();

    // Create: `ppin -a`, `ppin -p`, then the listing and the login test.
    f.apply();
    f.assert_onboarded(user);
    assert_eq!(
        f.stored_proxy_password(PROXY),
        Some(f.proxy_password(PROXY))
    );
    assert_eq!(count(&log, &format!("-a -e {user}")), 1);
    assert_eq!(count(&log, &format!("-p -e {PROXY}")), 1);
    assert!(count(&log, &format!("--test --user {user}")) >= 1);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        runs(&text).iter().all(|r| r.args.starts_with(&format!(
            "-c {} -s {} ",
            f.primus_cfg().display(),
            f.secrets_cfg().display()
        ))),
        "every run gets -c and -s:\n{text}"
    );
    let users = &f.outputs()["users"]["value"];
    assert_eq!(users[0]["name"], user);
    assert_eq!(users[0]["status"], "Configured");
    // primus.cfg fills in what `ppin -l` does not print.
    let cloud = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "CLOUD_APP")
        .unwrap();
    assert_eq!(cloud["proxy_user"], PROXY);
    assert!(!users[0]["hsms"].as_array().unwrap().is_empty());
    f.assert_no_changes();

    // Update: `ppin -u` rotates the secret.
    f.write(&config(&f, &setup, 2));
    f.apply();
    assert_eq!(f.issued_count(user), 2);
    f.assert_onboarded(user);
    assert_eq!(count(&log, &format!("-u -e {user}")), 1);

    // A failed update: the HSM refuses the setup password, the tool removes the entry
    // (vendor behaviour), and the next refresh finds it gone.
    let wrong = "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA";
    f.write(&config(&f, wrong, 3));
    let error = f.apply_fails();
    assert!(error.contains("Permanent Secret Update Failed"), "{error}");
    assert!(error.contains("0x80005017"), "{error}");
    assert!(!error.contains(wrong), "the error shows the setup password");
    assert_eq!(
        count(&log, &format!("-u -e {user}")),
        2,
        "the failed update ran once"
    );
    assert_eq!(f.stored_secret(user), None);
    f.write(&config(&f, &setup, 3));
    let (_, plan) = f.ws.plan().unwrap();
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    f.apply();
    f.assert_onboarded(user);
    f.assert_no_changes();

    // Drift: an out-of-band `ppin -r` shows in the next refresh (`ppin -l`).
    let removed = f.ppin(&[
        "-c",
        &f.primus_cfg().display().to_string(),
        "-s",
        &f.secrets_cfg().display().to_string(),
        "-r",
        "-e",
        user,
    ]);
    assert!(removed.status.success(), "{removed:?}");
    let (empty, plan) = f.ws.plan().unwrap();
    assert!(
        !empty && plan.stdout.contains("1 to add"),
        "{}",
        plan.stdout
    );
    f.apply();
    f.assert_onboarded(user);

    // Delete: `ppin -r` and `ppin -x`.
    f.ws.destroy().unwrap();
    assert_eq!(f.stored_secret(user), None);
    assert_eq!(f.stored_proxy_password(PROXY), None);
    assert_eq!(count(&log, &format!("-x -e {PROXY}")), 1);
    assert!(assert_edits_alone(&log) >= 7);
}

/// `terraform apply` or `destroy` with 10 operations at once.
fn at_parallelism_ten(f: &Fixture, command: &str) -> TfOutput {
    f.terraform(&[
        command,
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-parallelism=10",
    ])
}

fn twenty_resources_at_parallelism_ten(tf: Terraform) {
    let mut f = Fixture::new(tf, SimConfig::generated(20));
    let (wrapper, log) = recording_wrapper(&mut f);
    let trace = f.ws.work_dir().join("trace.log");
    f.ws.set_env("TF_LOG", "TRACE");
    f.ws.set_env("TF_LOG_PATH", &trace.display().to_string());
    let users: Vec<String> = (1..=20).map(|i| format!("U{i:04}")).collect();
    let mut body = provider(&f, &wrapper);
    for (i, user) in users.iter().enumerate() {
        body += &f.permanent_secret(&format!("app{i}"), user, "");
    }
    f.write(&body);
    f.ws.init().unwrap();
    let passwords: Vec<String> = users
        .iter()
        .flat_map(|u| [f.setup_password(u), f.pkcs11_password(u)])
        .collect();

    // While Terraform runs, every process's command line is read again and again.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = Arc::clone(&stop);
        let passwords = passwords.clone();
        std::thread::spawn(move || {
            let mut seen = HashSet::new();
            let mut rounds = 0;
            while !stop.load(Ordering::SeqCst) && rounds < 1_000_000 {
                rounds += 1;
                for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                    let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                        continue;
                    };
                    let text = String::from_utf8_lossy(&cmdline);
                    assert!(
                        !passwords.iter().any(|p| text.contains(p.as_str())),
                        "a password is on a command line"
                    );
                    if text.contains("recording-ppin.sh") || text.contains("/ppin\0") {
                        seen.insert(entry.file_name());
                    }
                }
            }
            seen.len()
        })
    };
    let started = std::time::Instant::now();
    let apply = at_parallelism_ten(&f, "apply");
    let took = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let children = watcher.join().unwrap();
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    assert!(children > 0, "no ppin run was seen in /proc");
    for user in &users {
        f.assert_onboarded(user);
    }
    assert_eq!(assert_edits_alone(&log), 20, "one -a per resource");
    // Each add's status lines become the shared listing, reused for 5 s
    // (the local default): 1 run measured, 11 when each edit dropped it.
    // Another runs only once the last listing is 5 s old, so a loaded
    // machine that stalls between creates adds at most one per 5 s.
    let listings = count(&log, " -l");
    let allowed = 1 + usize::try_from(took.as_secs() / 5).unwrap();
    assert!(
        listings <= allowed,
        "{listings} ppin -l runs for 20 creates in {took:?}"
    );

    let destroy = at_parallelism_ten(&f, "destroy");
    assert_eq!(destroy.code, 0, "{}\n{}", destroy.stdout, destroy.stderr);
    for user in &users {
        assert_eq!(f.stored_secret(user), None, "{user} removed");
    }
    assert_eq!(assert_edits_alone(&log), 40, "one -r per resource");

    let trace = std::fs::read_to_string(&trace).unwrap();
    assert!(
        trace.contains("provider configured"),
        "the provider's log is in the trace"
    );
    for password in &passwords {
        assert!(
            !trace.contains(password.as_str()),
            "the TRACE log holds a password"
        );
    }
}

fn a_tool_that_is_no_ppin_fails_once_with_a_clear_error(tf: Terraform) {
    let mut f = Fixture::new(tf, SimConfig::generated(1));
    let runs = f.ws.work_dir().join("fake-runs");
    f.ws.set_env("FAKE_PPIN_RUNS", &runs.display().to_string());
    f.ws.set_env("PRIMUS_PPIN_ENV", "FAKE_PPIN_RUNS");
    one_secret(&f, &script("not-ppin.sh"));
    let error = f.apply_fails();
    assert!(
        error.contains("Vendor ppin Output Not Understood"),
        "{error}"
    );
    assert!(error.contains("hello, this is not ppin"), "{error}");
    assert!(
        error.contains("not-ppin.sh"),
        "the error names the command: {error}"
    );
    let count = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert_eq!(count, 1, "the tool ran once, never retried");
    assert_eq!(f.issued_count("U0001"), 0);
}

fn a_ppin_command_that_cannot_run_is_refused_at_configure(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    one_secret(&f, &f.ws.work_dir().join("no-such-ppin"));
    let error = f.plan_fails();
    assert!(error.contains("Invalid ppin_command"), "{error}");
    assert!(error.contains("no-such-ppin"), "{error}");
    assert!(error.contains("ppin_command"), "{error}");
}

acceptance_tests::on_every_terraform!(
    lifecycle_through_the_vendor_ppin,
    twenty_resources_at_parallelism_ten,
    a_tool_that_is_no_ppin_fails_once_with_a_clear_error,
    a_ppin_command_that_cannot_run_is_refused_at_configure,
);
