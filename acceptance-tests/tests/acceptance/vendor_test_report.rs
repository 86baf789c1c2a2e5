//! The vendor's documented `ppin --test` report and `ppin -v` line, replayed
//! byte for byte by a fake vendor `ppin` (`vendor_test_report/documented-ppin.sh`
//! over the samples of `ppin/tests/vendor/test-report`), driving real
//! Terraform through `primus_connection_test` and (1.15.5) the login action.

use std::path::{Path, PathBuf};

use acceptance_tests::{unwrap_lines, workspace_root, Fixture, Terraform};
use hsm_sim::SimConfig;

/// The primus.cfg the sample was printed for: hsm0 at 82.197.162.10:2411,
/// DEMO-TEST in slot0 with id 2. Nothing connects to it: the fake tool answers.
const PRIMUS_CFG: &str = r#"version = "1.0";
primus: {
  hsms: {
    hsm0: { host = "82.197.162.10"; port = 2411;
            slots: { slot0: { user_name = "DEMO-TEST"; id = 2; }; }; };
  };
};
"#;

/// Writes the sample's primus.cfg, points the fake tool at the samples and
/// its run log; returns the tool and the log.
fn documented_tool(f: &mut Fixture) -> (PathBuf, PathBuf, PathBuf) {
    let dir = f.ws.work_dir();
    let primus_cfg = dir.join("vendor-primus.cfg");
    std::fs::write(&primus_cfg, PRIMUS_CFG).unwrap();
    let log = dir.join("runs.log");
    let samples = workspace_root().join("ppin/tests/vendor/test-report");
    f.ws.set_env("VENDOR_SAMPLES", &samples.display().to_string());
    f.ws.set_env("FAKE_PPIN_RUNS", &log.display().to_string());
    // The tool gets only the documented environment and what this names.
    f.ws.set_env("PRIMUS_PPIN_ENV", "VENDOR_SAMPLES,FAKE_PPIN_RUNS");
    let tool = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/acceptance/vendor_test_report/documented-ppin.sh");
    (tool, primus_cfg, log)
}

fn provider(tool: &Path, primus_cfg: &Path, secrets: &Path) -> String {
    format!(
        "provider \"primus\" {{\n  config_file  = \"{}\"\n  secrets_file = \"{}\"\n  ppin_command = \"{}\"\n}}\n",
        primus_cfg.display(),
        secrets.display(),
        tool.display()
    )
}

fn connection_test_reads_the_documented_report(tf: Terraform) {
    let mut f = Fixture::new(tf, SimConfig::generated(1));
    let (tool, primus_cfg, log) = documented_tool(&mut f);
    let secrets = f.ws.work_dir().join(".secrets.cfg");
    f.write(&format!(
        r#"{provider}
data "primus_connection_test" "demo" {{
  user = "DEMO-TEST"
  hsm  = "hsm0"
}}

output "hsms" {{ value = data.primus_connection_test.demo.hsms }}
output "logins" {{ value = data.primus_connection_test.demo.logins }}
output "tool" {{ value = data.primus_connection_test.demo.tool_version }}
"#,
        provider = provider(&tool, &primus_cfg, &secrets)
    ));
    f.ws.init().unwrap();
    f.apply();
    let outputs = f.outputs();
    let hsm = &outputs["hsms"]["value"][0];
    assert_eq!(hsm["name"], "hsm0", "{outputs}");
    assert_eq!(hsm["host"], "82.197.162.10");
    assert_eq!(hsm["port"], 2411);
    // The page's line ends in a blank; the firmware does not.
    assert_eq!(hsm["firmware"], "RP-2.11.2-T");
    assert_eq!(hsm["outcome"], "OK");
    assert_eq!(hsm["slots"][0]["slot"], "slot0");
    assert_eq!(hsm["slots"][0]["slot_id"], 2);
    assert_eq!(hsm["slots"][0]["user"], "DEMO-TEST");
    assert_eq!(hsm["slots"][0]["outcome"], "OK");
    let login = &outputs["logins"]["value"][0];
    assert_eq!(login["address"], "82.197.162.10:2411");
    assert_eq!(login["server"], "RP-2.11.2-T");
    assert_eq!(outputs["tool"]["value"], "Primus HSM PKCS#11 2.2.4");
    let runs = std::fs::read_to_string(&log).unwrap();
    assert!(
        runs.lines()
            .any(|r| r.ends_with("--test --user DEMO-TEST --hsm hsm0")),
        "the filters reach the tool:\n{runs}"
    );
}

#[test]
fn login_action_passes_on_the_documented_report() {
    let mut f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    let (tool, primus_cfg, _log) = documented_tool(&mut f);
    let secrets = f.ws.work_dir().join(".secrets.cfg");
    f.write(&format!(
        r#"{provider}
action "primus_login_test" "demo" {{
  config {{
    user = "DEMO-TEST"
  }}
}}
"#,
        provider = provider(&tool, &primus_cfg, &secrets)
    ));
    f.ws.init().unwrap();
    let out = f.terraform(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-invoke=action.primus_login_test.demo",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let shown = unwrap_lines(&out.stdout);
    assert!(
        shown.contains("Login as 'DEMO-TEST' succeeded on hsm0"),
        "{shown}"
    );
}

acceptance_tests::on_every_terraform!(connection_test_reads_the_documented_report);
