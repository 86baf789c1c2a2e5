//! `data.primus_partition_log` (what `ppin --fetchlog` dumps): after an
//! apply that traded a setup password, the log read through Terraform shows
//! that login, and neither the data source's state nor the output holds a
//! password or the permanent secret.

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

fn partition_log_shows_who_traded_a_setup_password(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    f.write(&format!(
        r#"
provider "primus" {{}}

{resource}

data "primus_partition_log" "audit" {{
  user       = "U0001"
  hsm        = "hsm0"
  reverse    = true
  depends_on = [primus_permanent_secret.app]
}}

output "lines" {{ value = data.primus_partition_log.audit.lines }}
output "slots" {{ value = data.primus_partition_log.audit.slots }}
"#,
        resource = f.permanent_secret("app", "U0001", ""),
    ));
    f.ws.init().unwrap();
    let applied = f.apply();
    let outputs = f.outputs();
    assert_eq!(outputs["slots"]["value"], 1);
    let lines: Vec<&str> = outputs["lines"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let traded = lines
        .iter()
        .position(|l| {
            l.contains("Login request: User: U0001 Client: ") && l.contains("with setup password")
        })
        .unwrap_or_else(|| panic!("the setup-password login is logged: {lines:#?}"));
    let retrieved = lines
        .iter()
        .position(|l| {
            l.contains("User: U0001,") && l.contains("Retrieved permanent login credentials")
        })
        .unwrap_or_else(|| panic!("the handed-out secret is logged: {lines:#?}"));
    assert!(retrieved < traded, "reverse: newest first: {lines:#?}");

    let secret = f.stored_secret("U0001").unwrap();
    let read = f
        .values("data.primus_partition_log.audit")
        .unwrap()
        .to_string();
    let state = std::fs::read_to_string(f.ws.work_dir().join("terraform.tfstate")).unwrap();
    for (what, value) in [
        ("setup password", f.setup_password("U0001")),
        ("PKCS#11 password", f.pkcs11_password("U0001")),
        ("permanent secret", secret.clone()),
    ] {
        assert!(
            !read.contains(&value),
            "the data source's state holds the {what}"
        );
        assert!(
            !applied.stdout.contains(&value) && !applied.stderr.contains(&value),
            "the apply output holds the {what}"
        );
    }
    assert!(
        !state.contains(&secret),
        "the state holds the permanent secret"
    );
}

acceptance_tests::on_every_terraform!(partition_log_shows_who_traded_a_setup_password,);
