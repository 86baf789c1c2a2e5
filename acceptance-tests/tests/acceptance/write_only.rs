//! Write-only passwords fed by ephemeral variables, the path the quickstart
//! and the README recommend. Both need Terraform 1.11 or later, so this test
//! runs on Terraform 1.15.5 only (on 1.0.3 the provider refuses `*_wo`:
//! failures::write_only_passwords_are_refused_by_terraform_1_0).

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

const USER: &str = "U0001";

fn config(version: u32) -> String {
    format!(
        r#"
provider "primus" {{}}

variable "setup_password" {{
  type      = string
  sensitive = true
  ephemeral = true
}}

variable "pkcs11_password" {{
  type      = string
  sensitive = true
  ephemeral = true
}}

resource "primus_permanent_secret" "app" {{
  user                = "{USER}"
  setup_password_wo   = var.setup_password
  pkcs11_password_wo  = var.pkcs11_password
  password_wo_version = {version}
}}
"#
    )
}

/// Asserts that `text` (named `what`) holds neither of the user's passwords.
fn assert_no_password(f: &Fixture, what: &str, text: &str) {
    assert!(
        !text.contains(&f.setup_password(USER)),
        "{what} holds the setup password"
    );
    assert!(
        !text.contains(&f.pkcs11_password(USER)),
        "{what} holds the PKCS#11 password"
    );
}

#[test]
fn ephemeral_write_only_passwords_onboard_and_rotate_without_reaching_plan_or_state_on_1_15_5() {
    let mut f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    let (setup, pin) = (f.setup_password(USER), f.pkcs11_password(USER));
    f.ws.set_env("TF_VAR_setup_password", &setup);
    f.ws.set_env("TF_VAR_pkcs11_password", &pin);
    f.write(&config(1));
    f.ws.init().unwrap();
    f.apply();
    f.assert_onboarded(USER);
    f.assert_no_changes();
    let first = f.stored_secret(USER).unwrap();

    // Raising the version rotates: Terraform cannot see write-only values change.
    f.write(&config(2));
    let plan = f.terraform(&["plan", "-no-color", "-input=false", "-out=tfplan"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let saved_plan = f.terraform(&["show", "-json", "-no-color", "tfplan"]);
    assert_eq!(saved_plan.code, 0, "{}", saved_plan.stderr);
    assert_no_password(&f, "the saved plan", &saved_plan.stdout);
    f.apply();
    assert_eq!(f.issued_count(USER), 2, "the update ran");
    f.assert_onboarded(USER);
    assert!(
        f.stored_secret(USER).unwrap() != first,
        "the secret rotated"
    );
    f.assert_no_changes();

    let state = std::fs::read_to_string(f.ws.work_dir().join("terraform.tfstate")).unwrap();
    assert_no_password(&f, "the state", &state);
    let values = f.values("primus_permanent_secret.app").unwrap();
    for name in [
        "setup_password",
        "pkcs11_password",
        "setup_password_wo",
        "pkcs11_password_wo",
    ] {
        assert!(values[name].is_null(), "{name} is null in the state");
    }
    f.ws.destroy().unwrap();
    assert_eq!(f.stored_secret(USER), None);
}
