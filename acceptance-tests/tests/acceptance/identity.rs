//! Resource identity (Terraform 1.12+): `import` blocks naming the user
//! instead of an id, and the identity Terraform stores with the state.

use acceptance_tests::{unwrap_lines, Fixture, Terraform};
use hsm_sim::SimConfig;

const USER: &str = "U0001";

/// The identity of `address` in `terraform.tfstate`, with its version.
fn stored_identity(f: &Fixture, address: &str) -> (serde_json::Value, serde_json::Value) {
    let text = std::fs::read_to_string(f.ws.work_dir().join("terraform.tfstate")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (kind, name) = address.split_once('.').unwrap();
    let resource = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("{address} not in the state:\n{text}"));
    let instance = &resource["instances"][0];
    (
        instance["identity"].clone(),
        instance["identity_schema_version"].clone(),
    )
}

#[test]
fn import_block_by_identity_then_apply() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    let added = f.ppin(&[
        "-a",
        "-e",
        USER,
        &f.setup_password(USER),
        &f.pkcs11_password(USER),
    ]);
    assert!(added.status.success(), "{added:?}");
    let secret = f.stored_secret(USER).unwrap();
    f.write(&format!(
        "provider \"primus\" {{}}\n\nimport {{\n  to       = primus_permanent_secret.app\n  \
         identity = {{ user = \"{USER}\" }}\n}}\n\n{}",
        f.permanent_secret("app", USER, "")
    ));
    f.ws.init().unwrap();
    let (empty, plan) = f.ws.plan().unwrap();
    assert!(!empty, "{}", plan.stdout);
    assert!(plan.stdout.contains("1 to import"), "{}", plan.stdout);

    let before = f.contacts();
    f.apply();
    assert_eq!(
        f.contacts().requests,
        before.requests,
        "importing an existing entry contacted the HSM"
    );
    assert_eq!(f.stored_secret(USER).as_deref(), Some(secret.as_str()));
    assert_eq!(f.issued_count(USER), 1, "the import fetched a new secret");
    let values = f.values("primus_permanent_secret.app").unwrap();
    assert_eq!(values["user"], USER);
    assert_eq!(values["status"], "Configured");
    let (identity, version) = stored_identity(&f, "primus_permanent_secret.app");
    // On the machine Terraform runs on: no host.
    assert_eq!(
        identity,
        serde_json::json!({ "user": USER, "host_id": null })
    );
    assert_eq!(version, 0);
    f.assert_no_changes();
}

#[test]
fn every_resource_records_its_identity() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    let primus_cfg = f.ws.work_dir().join("primus.cfg");
    f.write(&format!(
        r#"provider "primus" {{}}

{}
resource "primus_config" "written" {{
  path = "{cfg}"
  hsm {{
    name = "hsm0"
    host = "127.0.0.1"
    port = 2310
    slot {{
      id        = 0
      user_name = "{USER}"
    }}
  }}
}}
"#,
        f.permanent_secret("app", USER, ""),
        cfg = primus_cfg.display(),
    ));
    f.ws.init().unwrap();
    f.apply();
    let (identity, _) = stored_identity(&f, "primus_permanent_secret.app");
    assert_eq!(
        identity,
        serde_json::json!({ "user": USER, "host_id": null })
    );
    let (identity, _) = stored_identity(&f, "primus_config.written");
    assert_eq!(
        identity,
        serde_json::json!({ "path": primus_cfg.display().to_string(), "host_id": null })
    );
}

#[test]
fn plan_generates_configuration_for_an_import_block_by_identity() {
    let f = Fixture::new(Terraform::V1_15_5, SimConfig::generated(1));
    let (setup, pin) = (f.setup_password(USER), f.pkcs11_password(USER));
    let added = f.ppin(&["-a", "-e", USER, &setup, &pin]);
    assert!(added.status.success(), "{added:?}");
    f.write(&format!(
        "provider \"primus\" {{}}\n\nimport {{\n  to       = primus_permanent_secret.app\n  \
         identity = {{ user = \"{USER}\" }}\n}}\n"
    ));
    f.ws.init().unwrap();
    let before = f.contacts();
    // Whether this plan succeeds depends on the arguments the resource
    // requires; the generated file is written either way.
    let out = f.terraform(&["plan", "-no-color", "-generate-config-out=generated.tf"]);
    let generated = std::fs::read_to_string(f.ws.work_dir().join("generated.tf"))
        .unwrap_or_else(|e| panic!("{e}:\n{}\n{}", out.stdout, out.stderr));
    let flat = unwrap_lines(&generated);
    assert!(
        flat.contains("resource \"primus_permanent_secret\" \"app\" {"),
        "{generated}"
    );
    assert!(flat.contains(&format!(" user = \"{USER}\"")), "{generated}");
    assert!(!flat.contains("status"), "{generated}");
    let secret = f.stored_secret(USER).unwrap();
    for value in [setup.as_str(), pin.as_str(), secret.as_str()] {
        assert!(!generated.contains(value), "a secret is in:\n{generated}");
        assert!(!out.stdout.contains(value) && !out.stderr.contains(value));
    }
    assert_eq!(
        f.contacts().requests,
        before.requests,
        "the plan contacted the HSM"
    );
}
