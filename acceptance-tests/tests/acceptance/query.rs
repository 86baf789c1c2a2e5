//! `terraform query` (Terraform 1.14+) over the list resources
//! `primus_permanent_secret` and `primus_service_proxy_password`: the names
//! in `.secrets.cfg`, never a value, without contacting the HSM; and the
//! configuration `-generate-config-out` writes for them.

use acceptance_tests::{unwrap_lines, Fixture, Terraform};
use hsm_sim::SimConfig;

const PROXY: &str = "SERVICE_USER";

const QUERY: &str = r#"
list "primus_permanent_secret" "all" {
  provider = primus
}

list "primus_service_proxy_password" "all" {
  provider = primus
}
"#;

/// Three users (two onboarded) and a proxy with its password, stored by
/// the real `ppin` binary; Terraform only queries.
fn onboarded() -> Fixture {
    let f = Fixture::new(
        Terraform::V1_15_5,
        SimConfig::generated(3).with_proxied_user("CLOUD_APP", PROXY),
    );
    let proxy_password = f.proxy_password(PROXY);
    let stored = f.ppin(&["-p", "-e", PROXY, &proxy_password]);
    assert!(stored.status.success(), "{stored:?}");
    for user in ["U0001", "U0003"] {
        let (setup, pin) = (f.setup_password(user), f.pkcs11_password(user));
        let added = f.ppin(&["-a", "-e", user, &setup, &pin]);
        assert!(added.status.success(), "{added:?}");
    }
    f.write("provider \"primus\" {}\n");
    std::fs::write(f.ws.work_dir().join("search.tfquery.hcl"), QUERY).unwrap();
    f.ws.init().unwrap();
    f
}

/// Every secret the fixture knows of: none may appear in Terraform's output.
fn secrets(f: &Fixture) -> Vec<String> {
    let mut secrets = vec![f.proxy_password(PROXY)];
    for user in ["U0001", "U0002", "U0003"] {
        secrets.push(f.setup_password(user));
        secrets.push(f.pkcs11_password(user));
        secrets.extend(f.stored_secret(user));
    }
    secrets
}

fn assert_no_secret(f: &Fixture, text: &str) {
    for secret in secrets(f) {
        assert!(!text.contains(&secret), "a secret is in:\n{text}");
    }
}

#[test]
fn query_lists_the_stored_names_without_values_or_hsm_contact() {
    let f = onboarded();
    let before = f.contacts();
    let out = f.terraform(&["query", "-no-color"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("list.primus_permanent_secret.all"))
        .collect();
    assert_eq!(listed.len(), 2, "{}", out.stdout);
    assert!(listed[0].contains("user=U0001"), "{}", out.stdout);
    assert!(listed[1].contains("user=U0003"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("U0002"),
        "U0002 has no entry:\n{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("list.primus_service_proxy_password.all")
                && l.contains(&format!("proxy_user={PROXY}"))),
        "{}",
        out.stdout
    );
    assert_no_secret(&f, &out.stdout);
    assert_no_secret(&f, &out.stderr);
    assert_eq!(
        f.contacts().requests,
        before.requests,
        "query contacted the HSM"
    );
}

#[test]
fn query_generates_import_and_resource_blocks_naming_the_user() {
    let f = onboarded();
    let before = f.contacts();
    let out = f.terraform(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let generated = std::fs::read_to_string(f.ws.work_dir().join("generated.tf")).unwrap();
    assert!(
        generated.contains("resource \"primus_permanent_secret\""),
        "{generated}"
    );
    // Each name twice: in the resource block and in the import block's identity.
    let flat = unwrap_lines(&generated);
    for user in ["U0001", "U0003"] {
        let named = format!(" user = \"{user}\"");
        assert_eq!(flat.matches(&named).count(), 2, "{generated}");
    }
    assert_eq!(flat.matches("import {").count(), 3, "{generated}");
    let proxy = format!("proxy_user = \"{PROXY}\"");
    assert_eq!(flat.matches(&proxy).count(), 2, "{generated}");
    // Computed attributes are not configuration; secrets never land in a file.
    assert!(!generated.contains("status"), "{generated}");
    // Each resource block gives a value to its name only: Terraform writes
    // every other argument of the schema, each unset (`= null`).
    let mut valued = valued_arguments(&generated);
    valued.sort();
    assert_eq!(
        valued,
        [
            format!("proxy_user = \"{PROXY}\""),
            "user = \"U0001\"".to_owned(),
            "user = \"U0003\"".to_owned(),
        ],
        "{generated}"
    );
    assert_no_secret(&f, &generated);
    assert_eq!(
        f.contacts().requests,
        before.requests,
        "query contacted the HSM"
    );
}

/// The arguments of the generated `resource` blocks that have a value
/// (neither `null` nor the `provider` meta-argument), as written.
fn valued_arguments(generated: &str) -> Vec<String> {
    let mut valued = Vec::new();
    let mut in_resource = false;
    for line in generated.lines().map(str::trim) {
        if line.starts_with("resource ") {
            in_resource = true;
        } else if line == "}" {
            in_resource = false;
        } else if in_resource {
            let (name, value) = line.split_once('=').expect("an argument per line");
            let value = value.trim();
            if name.trim() != "provider" && value != "null" && value != "null # sensitive" {
                valued.push(format!("{} = {value}", name.trim()));
            }
        }
    }
    valued
}

/// The whole adoption of hosts onboarded by hand: the configuration
/// `terraform query -generate-config-out` writes is applied as it is, takes
/// over every stored entry without a single HSM request, leaves each entry
/// as it was, and then plans empty.
#[test]
fn generated_config_adopts_every_entry_without_hsm_requests() {
    let f = onboarded();
    let stored_before: Vec<_> = ["U0001", "U0003"].map(|user| f.stored_secret(user)).into();
    let proxy_before = f.stored_proxy_password(PROXY);
    let before = f.contacts();
    let out = f.terraform(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    let applied = f.apply();
    assert_no_secret(&f, &applied.stdout);
    assert!(
        applied
            .stdout
            .contains("3 imported, 0 added, 0 changed, 0 destroyed"),
        "{}",
        applied.stdout
    );
    f.assert_no_changes();

    assert_eq!(
        f.contacts().requests,
        before.requests,
        "adoption contacted the HSM"
    );
    let stored_after: Vec<_> = ["U0001", "U0003"].map(|user| f.stored_secret(user)).into();
    assert_eq!(stored_after, stored_before, "an entry changed");
    assert!(stored_after.iter().all(Option::is_some));
    assert_eq!(f.stored_proxy_password(PROXY), proxy_before);
    assert!(proxy_before.is_some());
}

/// An entry whose value no longer authenticates (here U0003's, one digit
/// flipped) is not listed: a warning names it, the file and what to do, and
/// the others are listed and adopted by the configuration the query writes.
#[test]
fn a_damaged_entry_is_named_in_a_warning_and_the_others_are_adopted() {
    let f = onboarded();
    let text = std::fs::read_to_string(f.secrets_cfg()).unwrap();
    let named = text.find("\"U0003\"").expect("U0003's entry");
    let value = named + text[named..].find("secret = \"v1:").unwrap();
    let last = value + text[value..].find("\";").unwrap() - 1;
    let flipped = if &text[last..=last] == "0" { "1" } else { "0" };
    let damaged = format!("{}{flipped}{}", &text[..last], &text[last + 1..]);
    std::fs::write(f.secrets_cfg(), &damaged).unwrap();
    let before = f.contacts();

    let out = f.terraform(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let said = unwrap_lines(&format!("{}\n{}", out.stdout, out.stderr));
    assert!(said.contains("Damaged Entry Not Listed"), "{said}");
    assert!(said.contains("'U0003'"), "{said}");
    assert!(
        said.contains(&f.secrets_cfg().display().to_string()),
        "the warning names the file: {said}"
    );
    assert!(said.contains("restore the file from a backup"), "{said}");
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("list.primus_permanent_secret.all"))
        .collect();
    assert_eq!(listed.len(), 1, "{}", out.stdout);
    assert!(listed[0].contains("user=U0001"), "{}", out.stdout);
    let generated = std::fs::read_to_string(f.ws.work_dir().join("generated.tf")).unwrap();
    assert!(!generated.contains("U0003"), "{generated}");

    let applied = f.apply();
    assert!(
        applied
            .stdout
            .contains("2 imported, 0 added, 0 changed, 0 destroyed"),
        "{}\n{}",
        applied.stdout,
        applied.stderr
    );
    assert_eq!(
        f.contacts().requests,
        before.requests,
        "listing and adoption contacted the HSM"
    );
    assert_eq!(
        std::fs::read_to_string(f.secrets_cfg()).unwrap(),
        damaged,
        "the file is left as it was"
    );
}
