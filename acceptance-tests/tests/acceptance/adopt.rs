//! Adopting hosts onboarded by hand: a user onboarded with the real `ppin`
//! binary, then a configuration naming only the user (what `terraform query
//! -generate-config-out` writes), imported by an `import {}` block (1.5+)
//! or `terraform import` (1.0.3). The apply must send nothing to the HSM and
//! keep the stored entry; a user with no entry to adopt and no setup
//! password fails before any HSM contact, at plan when the file already
//! tells, else at apply. With the vendor's ppin (`ppin_command`) the plan
//! cannot read its file, so the apply refuses, still before the HSM.

use acceptance_tests::{Contacts, Fixture, Terraform};
use hsm_sim::SimConfig;
use tfplug::testing::target_binary;

const USER: &str = "U0001";
const ADDRESS: &str = "primus_permanent_secret.app";
const PROXY: &str = "SERVICE_USER";

/// The resource as generated config has it: the user, nothing else.
fn only_the_user(user: &str) -> String {
    format!("provider \"primus\" {{}}\n\nresource \"primus_permanent_secret\" \"app\" {{\n  user = \"{user}\"\n}}\n")
}

/// `ppin ARGS` run by the real binary, which must succeed.
fn ppin_ok(f: &Fixture, args: &[&str]) {
    let out = f.ppin(args);
    assert!(
        out.status.success(),
        "ppin {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Onboards `user` by hand with `ppin -a`, as an operator did before Terraform.
fn onboard_with_ppin(f: &Fixture, user: &str) {
    let (setup, pin) = (f.setup_password(user), f.pkcs11_password(user));
    ppin_ok(f, &["-a", "-e", user, &setup, &pin]);
}

/// Asserts that the simulator saw no connection and no request since `before`.
fn assert_untouched(f: &Fixture, before: Contacts) {
    assert_eq!(f.contacts(), before, "the HSM must not be contacted");
}

fn import_of_a_host_onboarded_with_ppin_sends_nothing_to_the_hsm(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    onboard_with_ppin(&f, USER);
    let stored = f.stored_secret(USER).expect("ppin -a stored the secret");
    let before = f.contacts();

    let mut config = only_the_user(USER);
    if tf == Terraform::V1_15_5 {
        config.push_str(&format!(
            "\nimport {{\n  to = {ADDRESS}\n  id = \"{USER}\"\n}}\n"
        ));
    }
    f.write(&config);
    f.ws.init().unwrap();
    if tf == Terraform::V1_15_5 {
        let (_, plan) = f.ws.plan().unwrap();
        assert!(plan.stdout.contains("1 to import"), "{}", plan.stdout);
        let applied = f.apply();
        assert!(
            applied.stdout.contains("1 imported, 0 added, 0 changed"),
            "{}",
            applied.stdout
        );
    } else {
        f.import(ADDRESS, USER);
        let applied = f.apply();
        assert!(
            applied.stdout.contains("0 added, 0 changed, 0 destroyed"),
            "{}",
            applied.stdout
        );
    }
    assert_untouched(&f, before);
    assert_eq!(
        f.stored_secret(USER),
        Some(stored.clone()),
        "entry unchanged"
    );
    assert_eq!(f.values(ADDRESS).unwrap()["status"], "Configured");
    f.assert_no_changes();
    assert_untouched(&f, before);

    // Passwords added later are recorded, not sent: nobody asked for a rotation.
    let (setup, pin) = (f.setup_password(USER), f.pkcs11_password(USER));
    let with_passwords = |version: &str| {
        only_the_user(USER).replace(
            &format!("user = \"{USER}\"\n"),
            &format!(
                "user = \"{USER}\"\n  setup_password = \"{setup}\"\n  pkcs11_password = \"{pin}\"\n  {version}\n"
            ),
        )
    };
    f.write(&with_passwords(""));
    f.apply();
    assert_untouched(&f, before);
    assert_eq!(f.stored_secret(USER), Some(stored.clone()));
    f.assert_no_changes();
    // Asking for it: a version trigger rotates at the HSM.
    f.write(&with_passwords("password_wo_version = 2"));
    f.apply();
    assert_eq!(f.issued_count(USER), 2, "one rotation");
    f.assert_onboarded(USER);
    assert_ne!(f.stored_secret(USER), Some(stored));
}

fn create_with_only_the_user_adopts_the_stored_entry(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    onboard_with_ppin(&f, USER);
    let stored = f.stored_secret(USER);
    let before = f.contacts();
    f.write(&only_the_user(USER));
    f.ws.init().unwrap();
    let applied = f.apply();
    let said = acceptance_tests::unwrap_lines(&applied.stdout)
        + &acceptance_tests::unwrap_lines(&applied.stderr);
    assert!(said.contains("Adopted The Existing Entry"), "{said}");
    assert_untouched(&f, before);
    assert_eq!(f.stored_secret(USER), stored);
    f.assert_no_changes();
}

fn create_without_passwords_for_a_user_with_no_entry_fails_at_plan(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(2));
    // Another user's entry: the file exists and tells U0001 has none.
    onboard_with_ppin(&f, "U0002");
    let before = f.contacts();
    f.write(&only_the_user(USER));
    f.ws.init().unwrap();
    let error = f.plan_fails();
    for said in [
        "Missing Password",
        "User 'U0001' has no permanent secret",
        "setup_password",
        "ppin -a -e U0001",
    ] {
        assert!(error.contains(said), "{said}: {error}");
    }
    assert_untouched(&f, before);
    assert!(f.values(ADDRESS).is_none());
}

fn an_entry_gone_between_plan_and_apply_fails_before_the_hsm(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(1));
    onboard_with_ppin(&f, USER);
    f.write(&only_the_user(USER));
    f.ws.init().unwrap();
    let plan = f.terraform(&["plan", "-no-color", "-input=false", "-out=adopt.tfplan"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    // Removed after the plan: the saved plan still adopts, the apply finds nothing.
    ppin_ok(&f, &["-r", "-e", USER]);
    let before = f.contacts();
    let out = f.terraform(&["apply", "-no-color", "-input=false", "adopt.tfplan"]);
    assert_ne!(out.code, 0, "apply must fail:\n{}", out.stdout);
    let error = acceptance_tests::unwrap_lines(&out.stderr);
    assert!(error.contains("Missing Password"), "{error}");
    assert!(
        error.contains("User 'U0001' has no permanent secret"),
        "{error}"
    );
    assert_untouched(&f, before);
    assert_eq!(f.issued_count(USER), 1, "only ppin -a fetched a secret");
    assert!(f.values(ADDRESS).is_none());
}

fn a_service_proxy_password_is_adopted_or_needed(tf: Terraform) {
    let f = Fixture::new(
        tf,
        SimConfig::generated(0).with_proxied_user("CLOUD_A", PROXY),
    );
    let config = format!(
        "provider \"primus\" {{}}\n\nresource \"primus_service_proxy_password\" \"proxy\" {{\n  proxy_user = \"{PROXY}\"\n}}\n"
    );
    f.write(&config);
    f.ws.init().unwrap();
    let before = f.contacts();
    let error = f.plan_fails();
    for said in [
        "Missing Password",
        "'SERVICE_USER' has no password",
        "ppin -p -e SERVICE_USER",
    ] {
        assert!(error.contains(said), "{said}: {error}");
    }
    ppin_ok(&f, &["-p", "-e", PROXY, &f.proxy_password(PROXY)]);
    let applied = f.apply();
    assert!(
        acceptance_tests::unwrap_lines(&applied.stdout).contains("Adopted The Existing Entry")
            || acceptance_tests::unwrap_lines(&applied.stderr)
                .contains("Adopted The Existing Entry"),
        "{}",
        applied.stdout
    );
    assert_eq!(
        f.stored_proxy_password(PROXY),
        Some(f.proxy_password(PROXY))
    );
    f.assert_no_changes();
    assert_untouched(&f, before);
}

fn with_the_vendor_ppin_adoption_sends_nothing_and_a_missing_entry_fails_at_apply(tf: Terraform) {
    let f = Fixture::new(tf, SimConfig::generated(2));
    onboard_with_ppin(&f, USER);
    let stored = f.stored_secret(USER);
    let ppin = target_binary("ppin").expect("the ppin binary is built");
    let provider = format!(
        "provider \"primus\" {{\n  ppin_command = \"{}\"\n}}\n",
        ppin.display()
    );
    f.write(&only_the_user(USER).replace("provider \"primus\" {}\n", &provider));
    f.ws.init().unwrap();
    let before = f.contacts();
    f.import(ADDRESS, USER);
    f.apply();
    assert_untouched(&f, before);
    assert_eq!(f.stored_secret(USER), stored, "entry unchanged");
    f.assert_no_changes();

    // The vendor's file is read by its own process only, so the plan cannot tell U0002 has no entry: the apply
    // does, through one `ppin -l`, before any HSM contact.
    f.write(&format!(
        "{}\n{}",
        only_the_user(USER).replace("provider \"primus\" {}\n", &provider),
        only_the_user("U0002")
            .replace("provider \"primus\" {}\n", "")
            .replace("\"app\"", "\"two\"")
    ));
    let error = f.apply_fails();
    assert!(error.contains("Missing Password"), "{error}");
    assert!(
        error.contains("User 'U0002' has no permanent secret"),
        "{error}"
    );
    assert_untouched(&f, before);
    assert_eq!(f.issued_count("U0002"), 0);
}

acceptance_tests::on_every_terraform!(
    with_the_vendor_ppin_adoption_sends_nothing_and_a_missing_entry_fails_at_apply,
    import_of_a_host_onboarded_with_ppin_sends_nothing_to_the_hsm,
    create_with_only_the_user_adopts_the_stored_entry,
    create_without_passwords_for_a_user_with_no_entry_fails_at_plan,
    an_entry_gone_between_plan_and_apply_fails_before_the_hsm,
    a_service_proxy_password_is_adopted_or_needed,
);
