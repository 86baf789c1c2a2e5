//! `primus_config` through the sequence of a provider acceptance test: one
//! apply writes primus.cfg and onboards a user through it (the provider
//! reads primus.cfg on first use), empty plans, drift, import, update,
//! destroy.

use std::os::unix::fs::PermissionsExt;

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;

const ADDRESS: &str = "primus_config.cfg";

/// primus.cfg for the simulator, with `extra_slot` after the user's slot,
/// and a permanent secret for `user` that depends on it.
fn configuration(f: &Fixture, user: &str, extra_slot: &str) -> String {
    format!(
        r#"
provider "primus" {{}}

resource "primus_config" "cfg" {{
  hsm {{
    name    = "hsm0"
    host    = "127.0.0.1"
    port    = {port}
    ca_file = "{ca_file}"

    slot {{
      user_name = "{user}"
      id        = 0
    }}
    {extra_slot}
  }}
}}

{secret}
"#,
        port = f.sim.port(),
        ca_file = f.sim.paths().ca_file.display(),
        secret = f.permanent_secret("app", user, "depends_on = [primus_config.cfg]"),
    )
}

/// `ppin -l` run by the real ppin binary against the file Terraform wrote.
fn ppin_list(f: &Fixture) -> String {
    f.ppin_text(&["-l"])
}

fn one_apply_writes_primus_cfg_and_onboards_through_it(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    let user = "U0001";
    // Not there when the provider is configured: the apply writes it first.
    std::fs::remove_file(f.primus_cfg()).unwrap();
    f.write(&configuration(&f, user, ""));
    f.ws.init().unwrap();
    let applied = f.apply();
    assert!(
        applied.stdout.contains("Resources: 2 added"),
        "{}",
        applied.stdout
    );
    f.assert_onboarded(user);
    let mode = std::fs::metadata(f.primus_cfg())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
    assert!(
        ppin_list(&f).contains(&format!(
            "slot-id 0: user '{user}' permanent secret: Configured"
        )),
        "{}",
        ppin_list(&f)
    );
    let values = f.values(ADDRESS).unwrap();
    let path = f.primus_cfg().display().to_string();
    assert_eq!(values["id"], path.as_str());
    assert_eq!(values["path"], path.as_str());
    assert_eq!(values["hsm"][0]["port"], f.sim.port());
    f.assert_no_changes();

    // Drift: a port edited by hand is planned back, and the apply restores the file.
    let written = std::fs::read_to_string(f.primus_cfg()).unwrap();
    let edited = written.replace(&format!("\"{}\"", f.sim.port()), "\"1\"");
    assert_ne!(edited, written);
    std::fs::write(f.primus_cfg(), edited).unwrap();
    let (empty, plan) = f.ws.plan().unwrap();
    assert!(
        !empty && plan.stdout.contains("1 to change"),
        "{}",
        plan.stdout
    );
    f.apply();
    assert_eq!(std::fs::read_to_string(f.primus_cfg()).unwrap(), written);
    f.assert_no_changes();

    // Drift: a removed file is planned for creation; what needs it says so clearly.
    std::fs::remove_file(f.primus_cfg()).unwrap();
    let error = f.plan_fails();
    assert!(
        error.contains("primus.cfg not found (0x80005003)"),
        "{error}"
    );
    assert!(error.contains("primus_config resource"), "{error}");
    let out = f.terraform(&[
        "plan",
        "-no-color",
        "-input=false",
        "-detailed-exitcode",
        "-target",
        ADDRESS,
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("1 to add"), "{}", out.stdout);
    let out = f.terraform(&[
        "apply",
        "-no-color",
        "-input=false",
        "-auto-approve",
        "-target",
        ADDRESS,
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(std::fs::read_to_string(f.primus_cfg()).unwrap(), written);
    f.assert_no_changes();

    // Import by path, verified: the same attributes, and nothing to change.
    f.forget(ADDRESS);
    f.import(ADDRESS, &path);
    assert_eq!(f.values(ADDRESS).unwrap(), values);
    f.assert_no_changes();

    // Update: a new slot is written in place; the permanent secret is untouched.
    f.write(&configuration(
        &f,
        user,
        "slot {\n      user_name = \"EXTRA\"\n      id = 7\n    }",
    ));
    let applied = f.apply();
    assert!(
        applied
            .stdout
            .contains("Resources: 0 added, 1 changed, 0 destroyed"),
        "{}",
        applied.stdout
    );
    let listing = ppin_list(&f);
    assert!(
        listing.contains("slot-id 7: user 'EXTRA' permanent secret: MISSING"),
        "{listing}"
    );
    f.assert_onboarded(user);
    assert_eq!(f.issued_count(user), 1);
    f.assert_no_changes();

    f.ws.destroy().unwrap();
    assert!(!f.primus_cfg().exists(), "destroy removes primus.cfg");
    assert!(f.store().list().unwrap().is_empty());
}

acceptance_tests::on_every_terraform!(one_apply_writes_primus_cfg_and_onboards_through_it,);
