//! `primus_permanent_secret` through the sequence of a provider acceptance
//! test: plan, apply, checks, empty plans, import, update, destroy.

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

fn resource(f: &Fixture, user: &str, version: u32) -> String {
    format!(
        r#"
provider "primus" {{
  config_file  = "{cfg}"
  secrets_file = "{secrets}"
}}

resource "primus_permanent_secret" "app" {{
  user                = "{user}"
  setup_password      = "{setup}"
  pkcs11_password     = "{pin}"
  password_wo_version = {version}
}}
"#,
        cfg = f.primus_cfg().display(),
        secrets = f.secrets_cfg().display(),
        setup = f.setup_password(user),
        pin = f.pkcs11_password(user),
    )
}

fn lifecycle_plan_apply_import_update_destroy(tf: Terraform) {
    let mut f = Fixture::new(tf, SimConfig::generated(2));
    // The explicit provider arguments must be enough: no vendor environment variables.
    f.ws.set_env("SECUROSYS_PKCS11_CONF", "/nonexistent/primus.cfg");
    f.ws.set_env("SECUROSYS_SECRETS_CONF", "/nonexistent/.secrets.cfg");
    let user = "U0002";
    f.write(&resource(&f, user, 1));
    f.ws.init().unwrap();

    let (empty, plan) = f.ws.plan().unwrap();
    assert!(
        !empty && plan.stdout.contains("1 to add"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("setup_password      = (sensitive value)"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains(&f.setup_password(user)),
        "plan output shows the setup password"
    );
    assert_eq!(
        f.issued_count(user),
        0,
        "plan must not contact the HSM for a new secret"
    );

    f.apply();
    f.assert_onboarded(user);
    assert_eq!(f.api_failures(user), 0);
    let values = f.values("primus_permanent_secret.app").unwrap();
    assert_eq!(values["id"], user);
    assert_eq!(values["status"], "Configured");
    assert_eq!(values["slot_ids"], serde_json::json!([1]));
    f.assert_no_changes();
    // Refreshing logs in with the stored secret; it must not issue a new one.
    assert_eq!(f.issued_count(user), 1);

    // Import: forget the resource, import it by user name, verify the same attributes.
    f.forget("primus_permanent_secret.app");
    assert!(f.values("primus_permanent_secret.app").is_none());
    f.import("primus_permanent_secret.app", user);
    let after_import = f.values("primus_permanent_secret.app").unwrap();
    for attribute in ["id", "user", "status", "slot_ids"] {
        assert_eq!(
            after_import[attribute], values[attribute],
            "imported {attribute}"
        );
    }
    // Import cannot know the passwords; the next apply records them without a new secret.
    assert!(after_import["setup_password"].is_null());
    f.apply();
    assert_eq!(
        f.issued_count(user),
        1,
        "adopting an imported secret must not rotate it"
    );
    f.assert_onboarded(user);
    f.assert_no_changes();

    // Update: raising the trigger rotates the permanent secret (`ppin -u`).
    let before = f.stored_secret(user).unwrap();
    f.write(&resource(&f, user, 2));
    let (_, plan) = f.ws.plan().unwrap();
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    f.apply();
    assert_eq!(f.issued_count(user), 2);
    f.assert_onboarded(user);
    assert_ne!(
        f.stored_secret(user).unwrap(),
        before,
        "update must store the new secret"
    );
    f.assert_no_changes();

    // A changed user replaces the resource.
    let other = "U0001";
    f.write(&resource(&f, other, 2));
    let (_, plan) = f.ws.plan().unwrap();
    assert!(
        plan.stdout.contains("forces replacement"),
        "{}",
        plan.stdout
    );
    f.apply();
    assert_eq!(
        f.stored_secret(user),
        None,
        "the replaced user's entry is removed"
    );
    f.assert_onboarded(other);

    f.ws.destroy().unwrap();
    assert_eq!(f.stored_secret(other), None, "destroy removes the entry");
    assert!(f.values("primus_permanent_secret.app").is_none());
    let listed = f.ppin_text(&[
        "-c",
        &f.primus_cfg().display().to_string(),
        "-s",
        &f.secrets_cfg().display().to_string(),
        "-l",
    ]);
    assert!(
        listed.contains("user 'U0001' permanent secret: MISSING"),
        "{listed}"
    );
    assert!(
        listed.contains("user 'U0002' permanent secret: MISSING"),
        "{listed}"
    );
}

acceptance_tests::on_every_terraform!(lifecycle_plan_apply_import_update_destroy,);
