//! What a plan refuses without contacting the HSM: an HSM name
//! `primus.cfg` cannot hold (at `hsm[i].name`), a user missing from a
//! `primus.cfg` that no `primus_config` of the run writes, and a provider
//! `config_file` nothing could make readable (on the provider's attribute).
//! A `primus_config` that writes or extends the file in the same apply keeps
//! working.

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

fn an_invalid_hsm_name_fails_validation_at_its_block(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    let cfg = f.ws.work_dir().join("written.cfg");
    f.write(&format!(
        r#"
provider "primus" {{}}

resource "primus_config" "cfg" {{
  path = "{cfg}"
  hsm {{
    name = "hsm0"
    host = "127.0.0.1"
    port = 2310
  }}
  hsm {{
    name = "0bad name"
    host = "127.0.0.1"
    port = 2311
  }}
}}
"#,
        cfg = cfg.display()
    ));
    f.ws.init().unwrap();
    let before = f.contacts();
    let error = f.plan_fails();
    assert!(error.contains("Invalid HSM Name"), "{error}");
    assert!(
        error.contains("\"0bad name\" cannot name an HSM"),
        "{error}"
    );
    // Terraform quotes the attribute the diagnostic points at: the second block's name.
    assert!(error.contains("name = \"0bad name\""), "{error}");
    assert!(!cfg.exists(), "nothing written");
    assert_eq!(f.contacts(), before);
}

fn a_user_missing_from_primus_cfg_fails_the_plan_unless_primus_config_adds_it(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(2));
    // The simulator's primus.cfg, without U0002.
    let text = std::fs::read_to_string(f.primus_cfg()).unwrap();
    let only_u0001 = f.ws.work_dir().join("u0001.cfg");
    let start = text.find("slot1").expect("U0002's slot");
    let end = start + text[start..].find("};").unwrap() + 2;
    std::fs::write(&only_u0001, format!("{}{}", &text[..start], &text[end..])).unwrap();
    assert!(!std::fs::read_to_string(&only_u0001)
        .unwrap()
        .contains("U0002"));
    f.write(&format!(
        "provider \"primus\" {{\n  config_file = \"{}\"\n}}\n\n{}",
        only_u0001.display(),
        f.permanent_secret("two", "U0002", "")
    ));
    f.ws.init().unwrap();
    let before = f.contacts();
    let error = f.plan_fails();
    assert!(error.contains("User Not In primus.cfg"), "{error}");
    assert!(error.contains("'U0002'"), "{error}");
    assert!(error.contains("0x80005012"), "{error}");
    assert_eq!(f.contacts(), before);

    // A primus_config of the same configuration writes the user: the plan passes, the apply onboards it.
    let fresh = f.ws.work_dir().join("fresh.cfg");
    f.write(&format!(
        r#"
provider "primus" {{
  config_file = "{fresh}"
}}

resource "primus_config" "cfg" {{
  hsm {{
    name    = "hsm0"
    host    = "127.0.0.1"
    port    = {port}
    ca_file = "{ca_file}"
    slot {{
      user_name = "U0002"
      id        = 1
    }}
  }}
}}

{secret}
"#,
        fresh = fresh.display(),
        port = f.sim.port(),
        ca_file = f.sim.paths().ca_file.display(),
        secret = f.permanent_secret("two", "U0002", "depends_on = [primus_config.cfg]"),
    ));
    let (_, plan) = f.ws.plan().unwrap();
    assert!(plan.stdout.contains("2 to add"), "{}", plan.stdout);
    f.apply();
    f.assert_onboarded("U0002");
    assert!(fresh.exists());
}

fn a_config_file_that_cannot_exist_fails_on_the_provider_attribute(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    let nowhere = f.ws.work_dir().join("no/such/dir/primus.cfg");
    f.write(&format!(
        "provider \"primus\" {{\n  config_file = \"{}\"\n}}\n\ndata \"primus_secrets\" \"all\" {{}}\n\n{}",
        nowhere.display(),
        f.permanent_secret("one", "U0001", "")
    ));
    f.ws.init().unwrap();
    let before = f.contacts();
    let error = f.plan_fails();
    assert!(error.contains("Invalid config_file"), "{error}");
    assert!(error.contains("nor does its directory"), "{error}");
    assert!(error.contains(&nowhere.display().to_string()), "{error}");
    // Raised by the provider block, on its attribute, not by the data source.
    assert!(error.contains("in provider \"primus\""), "{error}");
    assert!(!error.contains("data.primus_secrets"), "{error}");
    assert_eq!(error.matches("Error:").count(), 1, "{error}");
    assert_eq!(f.contacts(), before);

    // Missing in an existing directory, and no primus_config writes it: the resource's plan fails.
    let missing = f.ws.work_dir().join("missing.cfg");
    f.write(&format!(
        "provider \"primus\" {{\n  config_file = \"{}\"\n}}\n\n{}",
        missing.display(),
        f.permanent_secret("one", "U0001", "")
    ));
    let out = f.terraform(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "plan must fail:\n{}", out.stdout);
    let said = acceptance_tests::unwrap_lines(&format!("{}\n{}", out.stdout, out.stderr));
    // The provider block warns on its attribute; the resource that needs the file fails.
    assert!(
        said.contains("Warning: primus.cfg Does Not Exist Yet"),
        "{said}"
    );
    assert!(said.contains("in provider \"primus\""), "{said}");
    let error = acceptance_tests::unwrap_lines(&out.stderr);
    assert!(
        error.contains("primus.cfg not found (0x80005003)"),
        "{error}"
    );
    assert!(error.contains("missing.cfg"), "{error}");
    assert!(error.contains("config_file"), "{error}");
    assert_eq!(f.contacts(), before);
}

acceptance_tests::on_every_terraform!(
    an_invalid_hsm_name_fails_validation_at_its_block,
    a_user_missing_from_primus_cfg_fails_the_plan_unless_primus_config_adds_it,
    a_config_file_that_cannot_exist_fails_on_the_provider_attribute,
);
