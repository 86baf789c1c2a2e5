//! `provider::primus::setup_password_valid` in a variable's `validation`
//! block, on Terraform 1.15.5 (provider functions need 1.8+;
//! `scripts/compat.sh` runs them on 1.8 to 1.14 too): a well-formed password
//! passes, a malformed one fails the plan at the variable, and neither
//! reaches the HSM; and in `terraform test` with `mock_provider`, whose
//! function calls still go to the real provider.

use acceptance_tests::{unwrap_lines, Fixture, Terraform};
use hsm_sim::SimConfig;

const MALFORMED: &str = "FXAJX-XWVQ3-DC0O5-3SLQF";

fn config(f: &Fixture) -> String {
    format!(
        r#"
variable "setup_password" {{
  type      = string
  sensitive = true
  validation {{
    condition     = provider::primus::setup_password_valid(var.setup_password)
    error_message = "The setup password must be five groups of five A-Z/0-9 characters joined by '-'."
  }}
}}

provider "primus" {{}}

resource "primus_permanent_secret" "app" {{
  user            = "U0001"
  setup_password  = var.setup_password
  pkcs11_password = "{pin}"
}}
"#,
        pin = f.pkcs11_password("U0001"),
    )
}

/// The minor release of the Terraform that runs `f` (`TF_ACC_TERRAFORM` may
/// name another than 1.15.5).
fn terraform_minor(f: &Fixture) -> u32 {
    let out = f.terraform(&["version", "-json"]);
    let version: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = version["terraform_version"].as_str().unwrap();
    text.split('.').nth(1).unwrap().parse().unwrap()
}

fn plan(f: &Fixture, setup_password: &str) -> tfplug::testing::TfOutput {
    let var = format!("-var=setup_password={setup_password}");
    f.terraform(&["plan", "-no-color", "-input=false", &var])
}

#[test]
fn setup_password_valid_in_a_variable_validation() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    f.write(&config(&f));
    f.ws.init().unwrap();

    let good = plan(&f, &f.setup_password("U0001"));
    assert_eq!(good.code, 0, "{}\n{}", good.stdout, good.stderr);
    assert!(good.stdout.contains("1 to add"), "{}", good.stdout);

    let bad = plan(&f, MALFORMED);
    assert_ne!(bad.code, 0, "{}", bad.stdout);
    let errors = unwrap_lines(&bad.stderr);
    assert!(errors.contains("Invalid value for variable"), "{errors}");
    assert!(errors.contains("variable \"setup_password\""), "{errors}");
    assert!(errors.contains("five groups of five"), "{errors}");
    // Terraform before 1.13 quotes a sensitive variable's value when one of its
    // validation rules fails, whatever the condition calls (measured on 1.8.4 to
    // 1.12.2 with a plain `length()` too); the README warns about it.
    if terraform_minor(&f) >= 13 {
        assert!(
            !errors.contains(MALFORMED),
            "a sensitive value was shown: {errors}"
        );
    } else {
        assert!(
            errors.contains(&format!("var.setup_password is \"{MALFORMED}\"")),
            "this Terraform no longer shows the value: update the README and this test: {errors}"
        );
    }

    // Null is the function's own error, pointing at its argument.
    std::fs::write(
        f.ws.work_dir().join("null.tfvars"),
        "setup_password = null\n",
    )
    .unwrap();
    let null = f.terraform(&["plan", "-no-color", "-input=false", "-var-file=null.tfvars"]);
    assert_ne!(null.code, 0, "{}", null.stdout);
    let errors = unwrap_lines(&null.stderr);
    assert!(
        errors.contains("Invalid value for \"setup_password\" parameter: setup_password is null"),
        "{errors}"
    );

    // No plan sent anything to the HSM.
    assert_eq!(f.contacts().requests, 0);
    assert_eq!(f.contacts().connections, 0);
}

const TEST_FILE: &str = r#"
mock_provider "primus" {}

run "well_formed_password_plans" {
  command = plan
  variables {
    setup_password = "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3"
  }
  assert {
    condition     = primus_permanent_secret.app.user == "U0001"
    error_message = "the plan must onboard U0001"
  }
}

run "malformed_password_is_refused" {
  command = plan
  variables {
    setup_password = "fxajx-xwvq3-dc0o5-3slqf-lj9l3"
  }
  expect_failures = [var.setup_password]
}
"#;

#[test]
fn setup_password_valid_under_terraform_test_with_a_mock_provider() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    f.write(&config(&f));
    let tests = f.ws.work_dir().join("tests");
    std::fs::create_dir_all(&tests).unwrap();
    std::fs::write(tests.join("setup_password.tftest.hcl"), TEST_FILE).unwrap();
    f.ws.init().unwrap();

    let out = f.terraform(&["test", "-no-color"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("2 passed, 0 failed"), "{}", out.stdout);
    assert_eq!(f.contacts().requests, 0);

    // The expected failure is the function's verdict: with a well-formed
    // password in the second run, the test fails.
    let swapped = TEST_FILE.replace(
        "fxajx-xwvq3-dc0o5-3slqf-lj9l3",
        "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3",
    );
    std::fs::write(tests.join("setup_password.tftest.hcl"), swapped).unwrap();
    let out = f.terraform(&["test", "-no-color"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("1 passed, 1 failed"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}
