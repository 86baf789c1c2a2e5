//! `ppin_command` pointed at a fake vendor `ppin` that prints exactly what the
//! vendor's documentation prints (`ppin -l` of the "ppin tool" page: padded
//! columns, a redundant cluster listed once per HSM), through real Terraform:
//! refresh, the `primus_secrets` data source, an add whose final lines are
//! padded; and a cluster whose HSMs disagree gives a diagnostic naming them.

use std::path::{Path, PathBuf};

use acceptance_tests::{workspace_root, Fixture, Terraform};
use hsm_sim::SimConfig;

/// A setup password of the vendor's format; the fake takes any.
const SETUP_PASSWORD: &str = "FXAJX-XWVQ3-DC0O5-3SLQF-LJ9L3";

fn fake_ppin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/acceptance/vendor_output/documented-ppin.sh")
}

/// A fixture whose provider drives the fake over the sample's `primus.cfg`;
/// returns the fake's state directory.
fn documented(tf: Terraform) -> (Fixture, PathBuf) {
    let mut f = Fixture::new(tf, SimConfig::generated(1));
    let state = f.ws.work_dir().join("fake-ppin");
    std::fs::create_dir_all(&state).unwrap();
    let samples = workspace_root().join("ppin/tests/fixtures/vendor");
    let sample = samples.join("ppin-tool-list.txt");
    f.ws.set_env("FAKE_PPIN_DIR", &state.display().to_string());
    f.ws.set_env("FAKE_PPIN_SAMPLE", &sample.display().to_string());
    // The tool gets only the documented environment and what this names.
    f.ws.set_env("PRIMUS_PPIN_ENV", "FAKE_PPIN_DIR,FAKE_PPIN_SAMPLE");
    let primus_cfg = f.ws.work_dir().join("primus.cfg");
    // The primus.cfg the sample implies: three slots on each of two HSMs.
    std::fs::copy(samples.join("ppin-tool-list.primus.cfg"), &primus_cfg).unwrap();
    f.write(&format!(
        r#"
provider "primus" {{
  config_file  = "{config}"
  secrets_file = "{secrets}"
  ppin_command = "{ppin}"
}}

resource "primus_permanent_secret" "p2" {{
  user                = "Partition-2"
  setup_password      = "{SETUP_PASSWORD}"
  pkcs11_password     = "pkcs11-pin"
  password_wo_version = 1
}}

data "primus_secrets" "all" {{
  depends_on = [primus_permanent_secret.p2]
}}

output "users" {{
  value = data.primus_secrets.all.users
}}
"#,
        config = primus_cfg.display(),
        secrets = f.secrets_cfg().display(),
        ppin = fake_ppin().display(),
    ));
    f.ws.init().unwrap();
    (f, state)
}

fn runs(state: &Path, flag: &str) -> usize {
    std::fs::read_to_string(state.join("runs"))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.split_whitespace().any(|a| a == flag))
        .count()
}

fn the_documented_listing_drives_refresh_data_source_and_add(tf: Terraform) {
    let (f, state) = documented(tf);
    f.apply();
    assert_eq!(runs(&state, "-a"), 1, "one add");
    assert_eq!(
        std::fs::read_to_string(state.join("state")).unwrap().trim(),
        "Configured"
    );
    let users = f.outputs()["users"]["value"].clone();
    let summary: Vec<(String, String, Vec<String>)> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let hsms = u["hsms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h.as_str().unwrap().to_owned())
                .collect();
            (
                u["name"].as_str().unwrap().to_owned(),
                u["status"].as_str().unwrap().to_owned(),
                hsms,
            )
        })
        .collect();
    let both = || vec!["hsm0".to_owned(), "hsm1".to_owned()];
    assert_eq!(
        summary,
        [
            ("Partition-1".to_owned(), "Configured".to_owned(), both()),
            ("Partition-2".to_owned(), "Configured".to_owned(), both()),
            ("CLOUDHSMPAR".to_owned(), "MISSING".to_owned(), both()),
        ],
        "{users}"
    );
    let cloud = &users[2];
    assert_eq!(cloud["proxy_user"], "eqabxrfnqqos");
    // Refresh reads the documented listing, byte for byte now that Partition-2 is Configured.
    f.assert_no_changes();
    assert!(runs(&state, "-l") >= 2);
    assert_eq!(runs(&state, "-a"), 1, "no second add");

    // Delete: `ppin -r`, whose lines are the user's two, one per HSM.
    f.ws.destroy().unwrap();
    assert_eq!(runs(&state, "-r"), 1);
    assert_eq!(
        std::fs::read_to_string(state.join("state")).unwrap().trim(),
        "MISSING"
    );
}

fn a_cluster_whose_hsms_disagree_is_a_diagnostic_naming_them(tf: Terraform) {
    let (f, state) = documented(tf);
    f.apply();
    std::fs::write(state.join("split"), "").unwrap();
    let error = f.plan_fails();
    assert!(error.contains("Partition-1"), "{error}");
    assert!(
        error.contains("Configured on hsm0 but MISSING on hsm1"),
        "{error}"
    );
    assert!(error.contains("ppin -u -e Partition-1"), "{error}");
    assert!(!error.contains("panicked"), "{error}");
    assert_eq!(runs(&state, "-a"), 1, "nothing was added on a guess");
    // Once the HSMs agree again, the plan is clean: the error picked nothing.
    std::fs::remove_file(state.join("split")).unwrap();
    f.assert_no_changes();
}

acceptance_tests::on_every_terraform!(
    the_documented_listing_drives_refresh_data_source_and_add,
    a_cluster_whose_hsms_disagree_is_a_diagnostic_naming_them,
);
