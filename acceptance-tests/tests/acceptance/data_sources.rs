//! `data.primus_secrets` (what `ppin -l` shows) and
//! `data.primus_connection_test` (what `ppin -t` does).

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

const PROXY: &str = "SERVICE_USER";

fn secrets_lists_users_and_proxies_without_secrets(tf: Terraform) {
    let f = Fixture::new(
        tf,
        SimConfig::generated(2).with_proxied_user("CLOUD_APP", PROXY),
    );
    f.write(&format!(
        r#"
provider "primus" {{}}

{resource}

data "primus_secrets" "all" {{
  depends_on = [primus_permanent_secret.app]
}}

output "users" {{ value = data.primus_secrets.all.users }}
output "proxies" {{ value = data.primus_secrets.all.service_proxies }}
output "files" {{ value = [data.primus_secrets.all.config_file, data.primus_secrets.all.secrets_file] }}
"#,
        resource = f.permanent_secret("app", "U0001", ""),
    ));
    f.ws.init().unwrap();
    f.apply();
    let outputs = f.outputs();
    let users = &outputs["users"]["value"];
    assert_eq!(users.as_array().unwrap().len(), 3, "{users}");
    assert_eq!(users[0]["name"], "U0001");
    assert_eq!(users[0]["status"], "Configured");
    assert_eq!(users[0]["slot_id"], 0);
    assert_eq!(users[0]["proxy_user"], serde_json::Value::Null);
    assert_eq!(users[0]["hsms"], serde_json::json!(["hsm0"]));
    assert_eq!(users[1]["name"], "U0002");
    assert_eq!(users[1]["status"], "MISSING");
    assert_eq!(users[2]["proxy_user"], PROXY);
    let proxies = &outputs["proxies"]["value"];
    assert_eq!(
        proxies,
        &serde_json::json!([{ "name": PROXY, "status": "MISSING", "users": ["CLOUD_APP"] }])
    );
    assert_eq!(
        outputs["files"]["value"],
        serde_json::json!([
            f.primus_cfg().display().to_string(),
            f.secrets_cfg().display().to_string()
        ])
    );
    // The listing carries no secret: not in the outputs, not in the state.
    let secret = f.stored_secret("U0001").unwrap();
    let state = std::fs::read_to_string(f.ws.work_dir().join("terraform.tfstate")).unwrap();
    assert!(
        !state.contains(&secret),
        "the state holds the permanent secret"
    );
    // Same answer as the real `ppin -l`.
    let listed = f.ppin_text(&["-l"]);
    assert!(
        listed.contains("user 'U0001' permanent secret: Configured"),
        "{listed}"
    );
    assert!(
        listed.contains("user 'U0002' permanent secret: MISSING"),
        "{listed}"
    );
    f.assert_no_changes();
}

fn connection_test_logs_in_and_reports_failures(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(2));
    let config = |user: &str| {
        format!(
            r#"
provider "primus" {{}}

{resource}

data "primus_connection_test" "t" {{
  user       = "{user}"
  depends_on = [primus_permanent_secret.app]
}}

output "logins" {{ value = data.primus_connection_test.t.logins }}
"#,
            resource = f.permanent_secret("app", "U0001", ""),
        )
    };
    f.write(&config("U0001"));
    f.ws.init().unwrap();
    f.apply();
    let logins = &f.outputs()["logins"]["value"];
    assert_eq!(logins.as_array().unwrap().len(), 1, "{logins}");
    assert_eq!(logins[0]["user"], "U0001");
    assert_eq!(logins[0]["hsm"], "hsm0");
    assert_eq!(logins[0]["address"], format!("127.0.0.1:{}", f.sim.port()));
    assert!(
        logins[0]["server"].as_str().unwrap().starts_with("hsm-sim"),
        "{logins}"
    );
    assert_eq!(f.api_failures("U0001"), 0);

    // A user without a permanent secret cannot log in: a clear error, no HSM trial.
    f.write(&config("U0002"));
    let out = f.apply_fails();
    assert!(out.contains("Permanent Secret Not Configured"), "{out}");
    assert!(out.contains("'U0002'"), "{out}");
    assert_eq!(f.sim.admin().user("U0002").unwrap().requests, 0);
}

acceptance_tests::on_every_terraform!(
    secrets_lists_users_and_proxies_without_secrets,
    connection_test_logs_in_and_reports_failures,
);
