//! What goes wrong in real life: an entry removed behind Terraform's back,
//! a secret the HSM refuses, a wrong or malformed setup password, a failed
//! update, write-only attributes on a Terraform that cannot keep them out
//! of the state. Passwords come in through sensitive variables, as users
//! pass them, so Terraform's error snippets show `var.…`, not the value.

use acceptance_tests::{Fixture, Terraform};
use hsm_sim::SimConfig;
use secrets_cfg::{EntryKind, Secret};

const USER: &str = "U0001";

const RESOURCE: &str = r#"
provider "primus" {}

variable "setup_password" {
  type      = string
  sensitive = true
}

variable "pkcs11_password" {
  type      = string
  sensitive = true
}

resource "primus_permanent_secret" "app" {
  user            = "U0001"
  setup_password  = var.setup_password
  pkcs11_password = var.pkcs11_password
}
"#;

/// A fixture with [`RESOURCE`] written and initialised, and the user's real passwords set.
fn fixture(tf: Terraform) -> Fixture {
    let mut f = Fixture::new(tf, SimConfig::generated(1));
    let (setup, pin) = (f.setup_password(USER), f.pkcs11_password(USER));
    set_passwords(&mut f, &setup, &pin);
    f.write(RESOURCE);
    f.ws.init().unwrap();
    f
}

fn set_passwords(f: &mut Fixture, setup: &str, pin: &str) {
    f.ws.set_env("TF_VAR_setup_password", setup);
    f.ws.set_env("TF_VAR_pkcs11_password", pin);
}

/// A well-formed setup password that is not `real`.
fn wrong_setup_password(real: &str) -> String {
    let replacement = if real.starts_with('A') { "B" } else { "A" };
    format!("{replacement}{}", &real[1..])
}

fn requests(f: &Fixture) -> u64 {
    f.sim.admin().user(USER).unwrap().requests
}

fn entry_removed_out_of_band_is_planned_for_creation(tf: Terraform) {
    let f = fixture(tf);
    f.apply();
    f.assert_onboarded(USER);

    let removed = f.ppin(&["-r", "-e", USER]);
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    assert_eq!(f.stored_secret(USER), None);

    let (empty, plan) = f.ws.plan().unwrap();
    assert!(!empty, "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("primus_permanent_secret.app will be created"),
        "{}",
        plan.stdout
    );
    let before = requests(&f);
    f.apply();
    assert!(requests(&f) > before, "the add went to the HSM");
    f.assert_onboarded(USER);
    f.assert_no_changes();
}

fn create_adopts_an_entry_left_by_an_interrupted_apply(tf: Terraform) {
    let f = fixture(tf);
    f.apply();
    f.assert_onboarded(USER);
    let stored = f.stored_secret(USER);
    // What a killed apply leaves: the entry is written, the state never saved.
    f.forget("primus_permanent_secret.app");
    let before = requests(&f);

    let out = f.apply();
    let said =
        acceptance_tests::unwrap_lines(&out.stdout) + &acceptance_tests::unwrap_lines(&out.stderr);
    assert!(said.contains("Adopted The Existing Entry"), "{said}");
    assert!(said.contains("no setup password trial was spent"), "{said}");
    assert_eq!(requests(&f), before, "adopting contacts no HSM");
    assert_eq!(f.issued_count(USER), 1, "no new secret was issued");
    assert!(
        f.stored_secret(USER) == stored,
        "the entry is kept as it was"
    );
    assert_eq!(
        f.values("primus_permanent_secret.app").unwrap()["status"],
        "Configured"
    );
    f.assert_no_changes();
}

fn entry_failing_authentication_in_the_file_is_an_error_never_a_replacement(tf: Terraform) {
    let f = fixture(tf);
    f.apply();
    // Flip the last hex digit of the ciphered value: the AES-GCM tag no longer verifies.
    let text = std::fs::read_to_string(f.secrets_cfg()).unwrap();
    let at = text.find("secret = \"v1:").unwrap();
    let end = at + text[at..].find("\";").unwrap() - 1;
    let flipped = if &text[end..=end] == "0" { "1" } else { "0" };
    let tampered = format!("{}{flipped}{}", &text[..end], &text[end + 1..]);
    std::fs::write(f.secrets_cfg(), &tampered).unwrap();
    let requests_before = requests(&f);

    let out = f.plan_fails();
    assert!(out.contains("Cannot Use .secrets.cfg"), "{out}");
    assert!(out.contains(USER), "{out}");
    assert_eq!(requests(&f), requests_before, "nothing sent to the HSM");
    assert!(
        f.values("primus_permanent_secret.app").is_some(),
        "the resource stays in the state"
    );
    assert_eq!(
        std::fs::read_to_string(f.secrets_cfg()).unwrap(),
        tampered,
        "the file is left as it was"
    );
}

fn secret_refused_by_the_hsm_is_an_error_never_a_replacement(tf: Terraform) {
    let f = fixture(tf);
    // The HSM-side check is opt-in: one login per resource and refresh.
    f.write(&RESOURCE.replace(
        "provider \"primus\" {}",
        "provider \"primus\" {\n  verify_login_on_read = true\n}",
    ));
    f.apply();
    // Another secret under the user's name: the file is intact, the HSM refuses the login.
    f.store()
        .edit(|tx| tx.put(EntryKind::User, USER, Secret::new(vec![7; 32])))
        .unwrap();
    let issued = f.issued_count(USER);
    let out = f.plan_fails();
    assert!(out.contains("Permanent Secret Refused"), "{out}");
    assert!(out.contains(&format!("'{USER}'")), "{out}");
    assert_eq!(f.api_failures(USER), 1, "one login, not retried");
    assert_eq!(
        f.issued_count(USER),
        issued,
        "nothing fetched behind the user's back"
    );
    assert!(
        f.values("primus_permanent_secret.app").is_some(),
        "the resource stays in the state"
    );
    assert_eq!(
        f.stored_secret(USER),
        Some(hex_of(&[7; 32])),
        "the entry is left as it was"
    );
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn wrong_setup_password_costs_one_trial_and_writes_nothing(tf: Terraform) {
    let mut f = fixture(tf);
    let wrong = wrong_setup_password(&f.setup_password(USER));
    let pin = f.pkcs11_password(USER);
    set_passwords(&mut f, &wrong, &pin);
    let out = f.apply_fails();
    assert!(out.contains("Setup Password Refused"), "{out}");
    assert!(out.contains(&format!("user '{USER}'")), "{out}");
    assert!(out.contains("0x80005017"), "{out}");
    assert!(
        !out.contains(&wrong) && !out.contains(&pin),
        "a password is echoed: {out}"
    );
    assert_eq!(f.api_failures(USER), 1, "exactly one trial at the HSM");
    assert_eq!(requests(&f), 1, "no retry");
    assert!(
        !f.secrets_cfg().exists() || f.stored_secret(USER).is_none(),
        "nothing written"
    );
    assert!(f.values("primus_permanent_secret.app").is_none());
}

fn malformed_setup_password_is_refused_before_the_hsm(tf: Terraform) {
    let mut f = fixture(tf);
    let pin = f.pkcs11_password(USER);
    set_passwords(&mut f, "FXAJX-XWVQ3-DC0O5-3SLQF", &pin);
    let out = f.plan_fails();
    assert!(out.contains("Malformed Setup Password"), "{out}");
    assert!(out.contains("23 characters instead of 29"), "{out}");
    assert!(!out.contains("FXAJX"), "{out}");
    assert_eq!(requests(&f), 0);
}

fn failed_update_removes_the_resource_and_next_apply_adds_it(tf: Terraform) {
    let mut f = fixture(tf);
    let (setup, pin) = (f.setup_password(USER), f.pkcs11_password(USER));
    f.apply();
    f.assert_onboarded(USER);

    // A new (wrong) setup password asks for an update, which the HSM refuses.
    set_passwords(&mut f, &wrong_setup_password(&setup), &pin);
    let out = f.apply_fails();
    assert!(out.contains("Permanent Secret Update Failed"), "{out}");
    assert!(
        out.contains("stays in the state until the next refresh"),
        "{out}"
    );
    assert!(out.contains("0x80005017"), "{out}");
    assert_eq!(f.api_failures(USER), 1);
    assert_eq!(
        f.stored_secret(USER),
        None,
        "the vendor removes the entry on a failed update"
    );
    // Out of the state at the latest once refreshed: the next plan sees the entry gone.
    f.terraform(&["refresh", "-no-color", "-input=false"]);
    assert!(
        f.values("primus_permanent_secret.app").is_none(),
        "the resource left the state"
    );

    // With the right setup password the next apply adds it again.
    set_passwords(&mut f, &setup, &pin);
    let (_, plan) = f.ws.plan().unwrap();
    assert!(plan.stdout.contains("1 to add"), "{}", plan.stdout);
    f.apply();
    f.assert_onboarded(USER);
    f.assert_no_changes();
}

#[test]
fn write_only_passwords_are_refused_by_terraform_1_0() {
    // Only for old Terraform: 1.11+ accepts write-only attributes.
    let f = fixture(Terraform::V1_0_3);
    f.write(
        &RESOURCE
            .replace("setup_password  =", "setup_password_wo =")
            .replace(
                "pkcs11_password = var.pkcs11_password",
                "pkcs11_password = var.pkcs11_password\n  password_wo_version = 1",
            ),
    );
    let out = f.apply_fails();
    assert!(out.contains("Write-Only Attribute Not Supported"), "{out}");
    assert!(out.contains("setup_password_wo"), "{out}");
    assert!(out.contains("Terraform 1.11 or later"), "{out}");
    assert_eq!(requests(&f), 0);
    assert!(!f.secrets_cfg().exists());
}

acceptance_tests::on_every_terraform!(
    entry_removed_out_of_band_is_planned_for_creation,
    create_adopts_an_entry_left_by_an_interrupted_apply,
    entry_failing_authentication_in_the_file_is_an_error_never_a_replacement,
    secret_refused_by_the_hsm_is_an_error_never_a_replacement,
    wrong_setup_password_costs_one_trial_and_writes_nothing,
    malformed_setup_password_is_refused_before_the_hsm,
    failed_update_removes_the_resource_and_next_apply_adds_it,
);
