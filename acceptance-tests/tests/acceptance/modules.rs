//! Larger configurations: the cloudhsm-onboarding example module with
//! three users (writing primus.cfg in the same apply), and fifty permanent
//! secrets in one apply.

use acceptance_tests::{workspace_root, Fixture, Terraform};
use hsm_sim::SimConfig;
use secrets_cfg::EntryKind;

const PROXY: &str = "SERVICE_USER";

/// `{ NAME = "value", ... }` for HCL.
fn hcl_map(entries: &[(String, String)]) -> String {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("    {k} = \"{v}\""))
        .collect();
    format!("{{\n{}\n  }}", body.join("\n"))
}

fn cloudhsm_onboarding_module_with_three_users(tf: Terraform) {
    let users = ["CLOUD_A", "CLOUD_B", "CLOUD_C"];
    let config = users.iter().fold(SimConfig::generated(0), |c, u| {
        c.with_proxied_user(u, PROXY)
    });
    let f = Fixture::new(tf, config);
    // The module writes primus.cfg itself, in the same apply that onboards the users.
    std::fs::remove_file(f.primus_cfg()).unwrap();
    let module = workspace_root().join("examples/cloudhsm-onboarding");
    let setup: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.to_string(), f.setup_password(u)))
        .collect();
    let pins: Vec<(String, String)> = users
        .iter()
        .map(|u| (u.to_string(), f.pkcs11_password(u)))
        .collect();
    f.write(&format!(
        r#"
provider "primus" {{}}

module "onboarding" {{
  source           = "{module}"
  hsms             = [{{ name = "hsm0", host = "127.0.0.1", port = {port}, ca_file = "{ca_file}" }}]
  slot_ids         = {{ CLOUD_A = 0, CLOUD_B = 1, CLOUD_C = 2 }}
  proxy_user       = "{PROXY}"
  proxy_password   = "{proxy_password}"
  users            = {users:?}
  setup_passwords  = {setup}
  pkcs11_passwords = {pins}
}}

output "slot_ids" {{ value = module.onboarding.slot_ids }}
output "status" {{ value = module.onboarding.status }}
output "proxy_user" {{ value = module.onboarding.proxy_user }}
"#,
        module = module.display(),
        port = f.sim.port(),
        ca_file = f.sim.paths().ca_file.display(),
        proxy_password = f.proxy_password(PROXY),
        setup = hcl_map(&setup),
        pins = hcl_map(&pins),
    ));
    f.ws.init().unwrap();
    let applied = f.apply();
    assert!(
        applied.stdout.contains("Resources: 5 added"),
        "{}",
        applied.stdout
    );
    assert_eq!(
        f.stored_proxy_password(PROXY),
        Some(f.proxy_password(PROXY))
    );
    for user in users {
        f.assert_onboarded(user);
        assert_eq!(f.api_failures(user), 0);
    }
    let outputs = f.outputs();
    assert_eq!(outputs["proxy_user"]["value"], PROXY);
    assert_eq!(
        outputs["status"]["value"],
        serde_json::json!({"CLOUD_A": "Configured", "CLOUD_B": "Configured", "CLOUD_C": "Configured"})
    );
    assert_eq!(
        outputs["slot_ids"]["value"],
        serde_json::json!({"CLOUD_A": [0], "CLOUD_B": [1], "CLOUD_C": [2]})
    );
    f.assert_no_changes();

    f.ws.destroy().unwrap();
    assert!(
        f.store().list().unwrap().is_empty(),
        "destroy leaves no entry"
    );
    assert!(!f.primus_cfg().exists(), "destroy removes primus.cfg");
}

fn fifty_permanent_secrets_in_one_apply(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(50));
    let users: Vec<(String, String)> = f
        .sim
        .config()
        .users
        .iter()
        .map(|u| {
            (
                u.name.clone(),
                format!(
                    "{}:{}",
                    u.setup_password.expose_secret(),
                    u.pkcs11_password.expose_secret()
                ),
            )
        })
        .collect();
    f.write(&format!(
        r#"
provider "primus" {{}}

locals {{
  users = {users}
}}

resource "primus_permanent_secret" "app" {{
  for_each        = local.users
  user            = each.key
  setup_password  = split(":", each.value)[0]
  pkcs11_password = split(":", each.value)[1]
}}
"#,
        users = hcl_map(&users),
    ));
    f.ws.init().unwrap();
    let applied = f.apply();
    assert!(
        applied.stdout.contains("Resources: 50 added"),
        "{}",
        applied.stdout
    );
    // Every entry present, each the secret the HSM issued, and the file reads back whole.
    let listed = f.store().list().unwrap();
    assert_eq!(listed.len(), 50);
    assert!(listed
        .iter()
        .all(|e| e.kind == EntryKind::User && e.configured));
    for (user, _) in &users {
        f.assert_onboarded(user);
    }
    let state = f.ws.state_json().unwrap();
    let resources = state
        .pointer("/values/root_module/resources")
        .unwrap()
        .as_array()
        .unwrap();
    assert_eq!(resources.len(), 50);

    f.ws.destroy().unwrap();
    assert!(f.store().list().unwrap().is_empty());
}

acceptance_tests::on_every_terraform!(
    cloudhsm_onboarding_module_with_three_users,
    fifty_permanent_secrets_in_one_apply,
);
