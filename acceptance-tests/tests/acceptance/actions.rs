//! `action "primus_login_test"`, invoked with
//! `terraform apply -invoke=action.primus_login_test.NAME` on Terraform
//! 1.15.5 (actions need 1.14+): one login at the HSM for the user, with
//! progress messages; a user without a stored permanent secret fails with
//! a clear error before anything is sent to the HSM. Also triggered from a
//! resource's `lifecycle { action_trigger { ... } }` after create.

use acceptance_tests::{unwrap_lines, Fixture, Terraform};
use hsm_sim::SimConfig;

fn config(f: &Fixture, user: &str) -> String {
    format!(
        r#"
provider "primus" {{}}

{resource}

action "primus_login_test" "check" {{
  config {{
    user = "{user}"
  }}
}}
"#,
        resource = f.permanent_secret("app", "U0001", ""),
    )
}

fn invoke(f: &Fixture) -> tfplug::testing::TfOutput {
    f.terraform(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-invoke=action.primus_login_test.check",
    ])
}

fn requests_of(f: &Fixture, user: &str) -> u64 {
    f.sim.admin().user(user).unwrap().requests
}

#[test]
fn login_test_action_logs_in_on_demand_only() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(2));
    f.write(&config(&f, "U0001"));
    f.ws.init().unwrap();
    f.apply();
    f.assert_onboarded("U0001");
    let after_apply = requests_of(&f, "U0001");

    // Planning and applying the configuration never runs the action.
    f.assert_no_changes();
    assert_eq!(requests_of(&f, "U0001"), after_apply);

    let out = invoke(&f);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let shown = unwrap_lines(&out.stdout);
    assert!(
        shown.contains("Logging in at the HSM as 'U0001'"),
        "{shown}"
    );
    assert!(
        shown.contains("Login as 'U0001' succeeded on hsm0"),
        "{shown}"
    );
    assert_eq!(
        requests_of(&f, "U0001"),
        after_apply + 1,
        "exactly one login"
    );
    assert_eq!(f.api_failures("U0001"), 0);

    // U0002 has no stored permanent secret: a clear error naming the user, no HSM request.
    f.write(&config(&f, "U0002"));
    let before = f.contacts();
    let out = invoke(&f);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let errors = unwrap_lines(&out.stderr);
    assert!(
        errors.contains("Permanent Secret Not Configured"),
        "{errors}"
    );
    assert!(
        errors.contains("The login test of 'U0002' failed"),
        "{errors}"
    );
    assert_eq!(requests_of(&f, "U0002"), 0);
    assert_eq!(f.contacts().requests, before.requests);
}

/// Onboarding verified in the same apply: the action runs after the
/// permanent secret is created (planned before it exists, so the action
/// makes no plan-time check of its own), and not on later plans.
#[test]
fn login_test_action_runs_after_create_when_triggered() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    let resource = f.permanent_secret(
        "app",
        "U0001",
        r#"lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.primus_login_test.check]
    }
  }"#,
    );
    f.write(&format!(
        r#"
provider "primus" {{}}

{resource}

action "primus_login_test" "check" {{
  config {{
    user = "U0001"
  }}
}}
"#
    ));
    f.ws.init().unwrap();
    let applied = f.apply();
    let shown = unwrap_lines(&applied.stdout);
    assert!(shown.contains("Login as 'U0001' succeeded"), "{shown}");
    f.assert_onboarded("U0001");
    let after_apply = requests_of(&f, "U0001");
    // The fetch and the login: two requests.
    assert_eq!(after_apply, 2);
    f.assert_no_changes();
    assert_eq!(
        requests_of(&f, "U0001"),
        after_apply,
        "no login without a change"
    );
}
