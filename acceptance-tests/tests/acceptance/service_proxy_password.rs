//! `primus_service_proxy_password`: plan, apply, checks, empty plans,
//! import, update, destroy; and the permanent secret that needs it.

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

const PROXY: &str = "SERVICE_USER";
const CLOUD_USER: &str = "CLOUD_APP";

fn proxy(password: &str) -> String {
    format!(
        r#"
provider "primus" {{}}

resource "primus_service_proxy_password" "cloudhsm" {{
  proxy_user = "{PROXY}"
  password   = "{password}"
}}
"#
    )
}

fn lifecycle_plan_apply_import_update_destroy(tf: Terraform) {
    let f = Fixture::new(
        tf,
        SimConfig::generated(1).with_proxied_user(CLOUD_USER, PROXY),
    );
    let password = f.proxy_password(PROXY);
    f.write(&proxy(&password));
    f.ws.init().unwrap();

    let (empty, plan) = f.ws.plan().unwrap();
    assert!(
        !empty && plan.stdout.contains("1 to add"),
        "{}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains(&password),
        "plan output shows the proxy password"
    );
    f.apply();
    assert_eq!(
        f.stored_proxy_password(PROXY).as_deref(),
        Some(password.as_str())
    );
    let values = f.values("primus_service_proxy_password.cloudhsm").unwrap();
    assert_eq!(values["id"], PROXY);
    assert_eq!(values["status"], "Configured");
    assert_eq!(values["users"], serde_json::json!([CLOUD_USER]));
    f.assert_no_changes();

    f.forget("primus_service_proxy_password.cloudhsm");
    f.import("primus_service_proxy_password.cloudhsm", PROXY);
    let after_import = f.values("primus_service_proxy_password.cloudhsm").unwrap();
    for attribute in ["id", "proxy_user", "status", "users"] {
        assert_eq!(
            after_import[attribute], values[attribute],
            "imported {attribute}"
        );
    }
    f.apply();
    f.assert_no_changes();

    // Update: a new password is stored in place.
    f.write(&proxy("a-new-proxy-password"));
    let (_, plan) = f.ws.plan().unwrap();
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    f.apply();
    assert_eq!(
        f.stored_proxy_password(PROXY).as_deref(),
        Some("a-new-proxy-password")
    );
    f.assert_no_changes();

    f.ws.destroy().unwrap();
    assert_eq!(
        f.stored_proxy_password(PROXY),
        None,
        "destroy removes the password"
    );
    assert!(f.values("primus_service_proxy_password.cloudhsm").is_none());
}

fn permanent_secret_behind_an_unconfigured_proxy_names_the_missing_resource(tf: Terraform) {
    let f = Fixture::new(
        tf,
        SimConfig::generated(0).with_proxied_user(CLOUD_USER, PROXY),
    );
    f.write(&format!(
        "provider \"primus\" {{}}\n{}",
        f.permanent_secret("cloud", CLOUD_USER, "")
    ));
    f.ws.init().unwrap();
    let out = f.apply_fails();
    assert!(
        out.contains("Service Proxy Password Not Configured"),
        "{out}"
    );
    assert!(out.contains("primus_service_proxy_password"), "{out}");
    assert!(out.contains(&format!("proxy_user = \"{PROXY}\"")), "{out}");
    assert_eq!(f.issued_count(CLOUD_USER), 0, "nothing may reach the HSM");
    assert_eq!(
        f.sim.admin().user(CLOUD_USER).unwrap().requests,
        0,
        "no request may reach the HSM"
    );
    assert_eq!(f.stored_secret(CLOUD_USER), None);
    assert!(f.values("primus_permanent_secret.cloud").is_none());

    // With the proxy password resource before it, the same apply onboards the user.
    let body = format!(
        "{}\n{}",
        proxy(&f.proxy_password(PROXY)),
        f.permanent_secret(
            "cloud",
            CLOUD_USER,
            "depends_on = [primus_service_proxy_password.cloudhsm]"
        )
    );
    f.write(&body);
    f.apply();
    f.assert_onboarded(CLOUD_USER);
    f.assert_no_changes();
}

acceptance_tests::on_every_terraform!(
    lifecycle_plan_apply_import_update_destroy,
    permanent_secret_behind_an_unconfigured_proxy_names_the_missing_resource,
);
