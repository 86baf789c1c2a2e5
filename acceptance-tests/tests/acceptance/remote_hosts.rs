//! Resources on remote hosts over SSH (`host = { address, port, host_key }`
//! and the provider's `ssh {}` block), against real OpenSSH servers: each
//! simulated host is its own `sshd` with its own `primus.cfg` and
//! `.secrets.cfg`, running our `ppin` against one shared hsm-sim
//! (`acceptance_tests::Fleet`).
//!
//! The lifecycle, host keys, the bastion and sudo run on Terraform 1.15.5
//! and 1.0.3; adoption by `terraform query` needs 1.14+ (1.15.5 only); the
//! faults (connections killed mid-apply, a hanging `ppin`, a silent host)
//! test the provider's own behaviour, the same on every release, and run on
//! 1.15.5 only, as `reliability` does.

use std::time::Duration;

use acceptance_tests::{
    fingerprint, host_block, is_running, unwrap_lines, Fleet, Onboarding, PasswordArguments,
    ProcessScan, SimHost, SudoRule, SudoUser, Terraform,
};
use hsm_sim::SimConfig;
use primus_ssh::testing::{KeyPair, SilentHost, TestSshd};
use secrets_cfg::EntryKind;

const PROXY: &str = "SERVICE_USER";
const APPLY: [&str; 4] = ["apply", "-no-color", "-input=false", "-auto-approve"];

/// Three hosts; host `hN` holds the partition user `U000N` and the
/// CloudHSM user `CLOUD_N` behind the service proxy [`PROXY`].
fn three_hosts(tf: Terraform) -> Fleet {
    let config = (1..=3).fold(SimConfig::generated(3), |config, n| {
        config.with_proxied_user(&format!("CLOUD_{n}"), PROXY)
    });
    Fleet::new(tf, config, 3)
}

/// The two users of host `hN`.
fn users_of(host: &str) -> [String; 2] {
    let n = &host[1..];
    [format!("U000{n}"), format!("CLOUD_{n}")]
}

/// Every (host, user) pair of [`three_hosts`], `version` 1, real passwords.
fn every_onboarding(fleet: &Fleet) -> Vec<Onboarding> {
    fleet
        .hosts
        .iter()
        .flat_map(|host| users_of(&host.name).map(|user| fleet.onboarding(&host.name, &user)))
        .collect()
}

/// On every host: `primus_config` writing the host's `primus.cfg`, the
/// proxy's password, then the permanent secrets of `onboardings`.
fn lifecycle_config(
    fleet: &Fleet,
    arguments: PasswordArguments,
    onboardings: &[Onboarding],
) -> String {
    let [_, _, password] = arguments.names();
    let config_files: String = fleet
        .hosts
        .iter()
        .map(|host| format!("    {} = \"{}\"\n", host.name, host.config_file().display()))
        .collect();
    format!(
        "{provider}\n{hosts}\nlocals {{\n  config_files = {{\n{config_files}  }}\n}}\n\n{config}\n\
         resource \"primus_service_proxy_password\" \"proxy\" {{\n  for_each            = local.hosts\n  \
{each_host}\n  proxy_user          = \"{PROXY}\"\n  \
         {password} = \"{proxy_password}\"\n  password_wo_version = 1\n  \
         depends_on          = [primus_config.cfg]\n}}\n\n{secrets}\n{SECRETS_DATA}",
        provider = fleet.provider_block(&known_hosts(fleet)),
        hosts = fleet.hosts_local(),
        config = fleet.primus_config_block(
            "cfg",
            "each.value",
            "local.config_files[each.key]",
            "for_each = local.hosts"
        ),
        proxy_password = fleet.proxy_password(PROXY),
        each_host = host_block("each.value"),
        secrets = fleet.permanent_secrets_block(
            arguments,
            onboardings,
            "depends_on = [primus_service_proxy_password.proxy]"
        ),
    )
}

/// `data.primus_secrets` on every host, read after the permanent secrets:
/// the configured users and the `.secrets.cfg` read, per host.
const SECRETS_DATA: &str = r#"
data "primus_secrets" "on" {
  for_each   = local.hosts
  host {
    address  = each.value.address
    port     = each.value.port
    host_key = each.value.host_key
  }
  depends_on = [primus_permanent_secret.app]
}

output "configured" {
  value = { for h, d in data.primus_secrets.on : h => [for u in d.users : u.name if u.status == "Configured"] }
}

output "secrets_files" {
  value = { for h, d in data.primus_secrets.on : h => d.secrets_file }
}
"#;

/// `known_hosts_file` naming every host of the fleet: an import ID names
/// no host key, so an import reads the host trusting that file (the
/// configuration's pinned `host_key` is recorded by the next apply).
fn known_hosts(fleet: &Fleet) -> String {
    format!(
        "known_hosts_file = \"{}\"",
        fleet.known_hosts_file().display()
    )
}

/// Asserts that every host holds exactly its two users and the proxy,
/// each user's secret the one the simulator issued last.
fn assert_fleet_onboarded(fleet: &Fleet) {
    for host in &fleet.hosts {
        let users = users_of(&host.name);
        let mut expected = vec![
            (EntryKind::User, users[1].clone()),
            (EntryKind::ServiceProxy, PROXY.to_owned()),
            (EntryKind::User, users[0].clone()),
        ];
        expected.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(host.entries(), expected, "entries of host {}", host.name);
        for user in &users {
            assert_eq!(
                host.stored_secret(user),
                fleet.issued_secret(user),
                "stored secret of {user} on host {}",
                host.name
            );
        }
        assert_eq!(
            host.stored_proxy_password(PROXY),
            Some(fleet.proxy_password(PROXY)),
            "proxy password on host {}",
            host.name
        );
    }
}

/// The state file without the sensitive arguments Terraform itself keeps
/// there when they are not write-only (documented in the README).
fn state_outside_documented_arguments(fleet: &Fleet, arguments: PasswordArguments) -> String {
    let text = std::fs::read_to_string(fleet.ws.work_dir().join("terraform.tfstate")).unwrap();
    let mut state: serde_json::Value = serde_json::from_str(&text).unwrap();
    if arguments == PasswordArguments::Plain {
        for resource in state["resources"].as_array_mut().unwrap() {
            for instance in resource["instances"].as_array_mut().unwrap() {
                let attributes = instance["attributes"].as_object_mut().unwrap();
                for name in arguments.names() {
                    attributes.remove(name);
                }
            }
        }
    }
    state.to_string()
}

/// Asserts that no secret the simulator knows is in `text`, named `what`.
fn assert_no_secret_in(secrets: &[(String, String)], what: &str, text: &str) {
    for (secret_name, secret) in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} holds the {secret_name}"
        );
    }
}

/// 3 hosts × 2 users with `for_each`, a CloudHSM proxy password and
/// `primus_config` on each host: create, update, a failed update, an entry
/// removed by hand on one host (exactly that one planned), import by
/// `ssh://` ID, destroy (0 entries left anywhere). Meanwhile every
/// process's command line and environment, every sshd's DEBUG3 log,
/// Terraform's TRACE log and the state hold no password.
fn lifecycle_across_three_hosts(tf: Terraform) {
    let mut fleet = three_hosts(tf);
    let arguments = PasswordArguments::for_terraform(tf);
    let trace = fleet.ws.work_dir().join("trace.log");
    let fixture = fleet.fixture_mut();
    fixture.ws.set_env("TF_LOG", "TRACE");
    fixture
        .ws
        .set_env("TF_LOG_PATH", &trace.display().to_string());
    let scan = ProcessScan::start(fleet.secrets());
    // primus_config creates each host's primus.cfg (it refuses to take over one by surprise).
    for host in &fleet.hosts {
        std::fs::remove_file(host.config_file()).unwrap();
    }
    let mut onboardings = every_onboarding(&fleet);
    fleet.write(&lifecycle_config(&fleet, arguments, &onboardings));
    fleet.ws.init().unwrap();
    let mut output = String::new();

    let applied = fleet.apply();
    assert!(
        applied
            .stdout
            .contains("Resources: 12 added, 0 changed, 0 destroyed"),
        "{}",
        applied.stdout
    );
    output += &applied.stdout;
    assert_fleet_onboarded(&fleet);
    assert!(
        !fleet.secrets_cfg().exists(),
        "nothing is written on the machine Terraform runs on"
    );
    for host in &fleet.hosts {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(host.config_file()).unwrap().permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o640, "primus.cfg written on host {}", host.name);
    }
    let outputs = fleet.outputs();
    for host in &fleet.hosts {
        assert_eq!(
            outputs["configured"]["value"][&host.name],
            serde_json::json!(users_of(&host.name)),
            "primus_secrets on host {}",
            host.name
        );
        assert_eq!(
            outputs["secrets_files"]["value"][&host.name],
            host.secrets_file().display().to_string()
        );
    }
    let values = fleet
        .values("primus_permanent_secret.app[\"h2/U0002\"]")
        .unwrap();
    assert_eq!(values["host"]["address"], "127.0.0.1");
    assert_eq!(values["host"]["port"], fleet.host("h2").port());
    fleet.assert_no_changes();

    // Update: every user's secret rotated on its host, in place.
    for onboarding in &mut onboardings {
        onboarding.version = 2;
    }
    fleet.write(&lifecycle_config(&fleet, arguments, &onboardings));
    let applied = fleet.apply();
    assert!(
        applied
            .stdout
            .contains("Resources: 0 added, 6 changed, 0 destroyed"),
        "{}",
        applied.stdout
    );
    output += &applied.stdout;
    for onboarding in &onboardings {
        assert_eq!(
            fleet.issued_count(&onboarding.user),
            2,
            "{}",
            onboarding.user
        );
    }
    assert_fleet_onboarded(&fleet);
    fleet.assert_no_changes();

    // A failed update on h2 (a wrong setup password): the error names the
    // host; the vendor removes the entry; the other hosts are untouched.
    let failing = onboardings
        .iter()
        .position(|o| o.host == "h2" && o.user == "U0002")
        .unwrap();
    let right = onboardings[failing].setup_password.clone();
    onboardings[failing].version = 3;
    onboardings[failing].setup_password = wrong_setup_password(&right);
    fleet.write(&lifecycle_config(&fleet, arguments, &onboardings));
    let error = fleet.apply_fails();
    assert!(error.contains("Permanent Secret Update Failed"), "{error}");
    assert!(error.contains(&fleet.host("h2").address()), "{error}");
    assert!(error.contains("0x80005017"), "{error}");
    assert_eq!(fleet.api_failures("U0002"), 1);
    assert_eq!(fleet.host("h2").stored_secret("U0002"), None);
    for host in ["h1", "h3"] {
        assert_eq!(fleet.host(host).entries().len(), 3, "host {host} untouched");
    }
    onboardings[failing].setup_password = right;
    fleet.write(&lifecycle_config(&fleet, arguments, &onboardings));
    let (_, plan) = fleet.ws.plan().unwrap();
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    output += &fleet.apply().stdout;
    assert_fleet_onboarded(&fleet);
    fleet.assert_no_changes();

    // Out of band on h3: `ppin -r` by hand; exactly that entry is planned.
    fleet.host("h3").ppin_ok(&["-r", "-e", "CLOUD_3"]);
    let (empty, plan) = fleet.ws.plan().unwrap();
    assert!(!empty, "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("primus_permanent_secret.app[\"h3/CLOUD_3\"] will be created"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Plan: 1 to add, 0 to change, 0 to destroy"),
        "{}",
        plan.stdout
    );
    output += &plan.stdout;
    output += &fleet.apply().stdout;
    assert_fleet_onboarded(&fleet);
    fleet.assert_no_changes();

    // Import of h1's three entries and its primus.cfg by ssh:// IDs: taken
    // over in place, no new secret, nothing replaced.
    let h1 = fleet.host("h1");
    let issued_before: Vec<usize> = onboardings
        .iter()
        .map(|o| fleet.issued_count(&o.user))
        .collect();
    let config_file = h1.config_file().display().to_string();
    let imports = [
        (
            "primus_permanent_secret.app[\"h1/U0001\"]".to_owned(),
            h1.import_id("U0001"),
        ),
        (
            "primus_permanent_secret.app[\"h1/CLOUD_1\"]".to_owned(),
            h1.import_id("CLOUD_1"),
        ),
        (
            "primus_service_proxy_password.proxy[\"h1\"]".to_owned(),
            h1.import_id(PROXY),
        ),
        (
            "primus_config.cfg[\"h1\"]".to_owned(),
            format!("ssh://127.0.0.1:{}{config_file}", h1.port()),
        ),
    ];
    for (address, id) in &imports {
        fleet.forget(address);
        fleet.import(address, id);
        let imported = fleet.values(address).unwrap();
        assert_eq!(imported["host"]["address"], "127.0.0.1", "{address}");
        assert_eq!(imported["host"]["port"], h1.port(), "{address}");
    }
    let applied = fleet.apply();
    assert!(applied.stdout.contains("0 added"), "{}", applied.stdout);
    assert!(applied.stdout.contains("0 destroyed"), "{}", applied.stdout);
    output += &applied.stdout;
    let issued_after: Vec<usize> = onboardings
        .iter()
        .map(|o| fleet.issued_count(&o.user))
        .collect();
    assert_eq!(issued_after, issued_before, "an import issued a secret");
    assert_fleet_onboarded(&fleet);
    fleet.assert_no_changes();

    let state = state_outside_documented_arguments(&fleet, arguments);
    output += &fleet.ws.destroy().unwrap().stdout;
    for host in &fleet.hosts {
        assert_eq!(
            host.entries(),
            Vec::new(),
            "entries left on host {}",
            host.name
        );
        assert!(
            !host.config_file().exists(),
            "primus.cfg left on host {}",
            host.name
        );
    }

    let report = scan.finish();
    assert!(
        report.rounds > 10,
        "the process scan ran {} rounds",
        report.rounds
    );
    assert_eq!(
        report.findings,
        Vec::<String>::new(),
        "passwords seen in /proc"
    );
    let secrets = fleet.secrets();
    for host in &fleet.hosts {
        let log = host.sshd.log();
        assert!(
            log.contains("debug3"),
            "sshd logged at DEBUG3 on host {}",
            host.name
        );
        assert_no_secret_in(
            &secrets,
            &format!("the sshd log of host {}", host.name),
            &log,
        );
    }
    let trace_text = std::fs::read_to_string(&trace).unwrap();
    assert!(trace_text.len() > 100_000, "TF_LOG=TRACE wrote a full log");
    assert_no_secret_in(&secrets, "Terraform's TRACE log", &trace_text);
    assert_no_secret_in(&secrets, "the state", &state);
    assert_no_secret_in(&secrets, "Terraform's output", &output);
}

/// A well-formed setup password that is not `real`.
fn wrong_setup_password(real: &str) -> String {
    let replacement = if real.starts_with('A') { "B" } else { "A" };
    format!("{replacement}{}", &real[1..])
}

/// Entries onboarded by hand with `ppin` on two hosts are listed per host by
/// `terraform query`, and the configuration it generates (with each host)
/// adopts all of them without an HSM request.
#[test]
fn query_adopts_hand_onboarded_entries_host_by_host_on_1_15_5() {
    let fleet = Fleet::new(
        Terraform::V1_15_5,
        SimConfig::generated(2).with_proxied_user("CLOUD_APP", PROXY),
        2,
    );
    let (h1, h2) = (fleet.host("h1"), fleet.host("h2"));
    let password = fleet.proxy_password(PROXY);
    h1.ppin_ok(&["-p", "-e", PROXY, &password]);
    // CLOUD_APP goes with its proxy's password, on h1.
    for (host, user) in [(h1, "U0001"), (h1, "CLOUD_APP"), (h2, "U0002")] {
        let (setup, pin) = (fleet.setup_password(user), fleet.pkcs11_password(user));
        host.ppin_ok(&["-a", "-e", user, &setup, &pin]);
    }
    let stored_before = [h1.entries(), h2.entries()];
    fleet.write(&fleet.provider_block(&known_hosts(&fleet)));
    let query: String = fleet
        .hosts
        .iter()
        .flat_map(|host| {
            ["primus_permanent_secret", "primus_service_proxy_password"].map(|kind| {
                format!(
                    "list \"{kind}\" \"{name}\" {{\n  provider = primus\n  config {{\n  \
                     host {{\n      address  = \"127.0.0.1\"\n      port     = {port}\n      \
                     host_key = \"{key}\"\n    }}\n  }}\n}}\n",
                    name = host.name,
                    port = host.port(),
                    key = host.sshd.host_key(),
                )
            })
        })
        .collect();
    std::fs::write(fleet.ws.work_dir().join("search.tfquery.hcl"), query).unwrap();
    fleet.ws.init().unwrap();
    let before = fleet.contacts();

    let listed = fleet.terraform(&["query", "-no-color"]);
    assert_eq!(listed.code, 0, "{}\n{}", listed.stdout, listed.stderr);
    let lines = |prefix: &str| -> Vec<String> {
        listed
            .stdout
            .lines()
            .filter(|line| line.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    };
    let h1_users = lines("list.primus_permanent_secret.h1");
    assert_eq!(h1_users.len(), 2, "{}", listed.stdout);
    for user in ["U0001", "CLOUD_APP"] {
        let named = format!("user={user}");
        assert!(
            h1_users.iter().any(|l| l.contains(&named)),
            "{}",
            listed.stdout
        );
    }
    let h2_users = lines("list.primus_permanent_secret.h2");
    assert_eq!(h2_users.len(), 1, "{}", listed.stdout);
    assert!(h2_users[0].contains("user=U0002"), "{}", listed.stdout);
    assert_eq!(
        lines("list.primus_service_proxy_password.h1").len(),
        1,
        "{}",
        listed.stdout
    );
    assert!(
        lines("list.primus_service_proxy_password.h2").is_empty(),
        "{}",
        listed.stdout
    );

    let generated = fleet.terraform(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    assert_eq!(
        generated.code, 0,
        "{}\n{}",
        generated.stdout, generated.stderr
    );
    let text = std::fs::read_to_string(fleet.ws.work_dir().join("generated.tf")).unwrap();
    let flat = unwrap_lines(&text);
    for host in [h1, h2] {
        assert!(flat.contains(&format!("port = {}", host.port())), "{text}");
    }
    assert_eq!(flat.matches("import {").count(), 4, "{text}");
    assert_no_secret_in(&fleet.secrets(), "the generated configuration", &text);

    let applied = fleet.apply();
    // Imported by identity (no key), then the configuration's host_key is
    // recorded in place: changed, never replaced.
    assert!(
        applied
            .stdout
            .contains("4 imported, 0 added, 4 changed, 0 destroyed"),
        "{}",
        applied.stdout
    );
    fleet.assert_no_changes();
    assert_eq!(
        fleet.contacts().requests,
        before.requests,
        "adoption contacted the HSM"
    );
    assert_eq!(
        [h1.entries(), h2.entries()],
        stored_before,
        "an entry changed"
    );
}

// ---------------------------------------------------------------- host keys

/// One host, one user, its `host` value `host_value(host)`, the provider's
/// ssh block with `extra`.
fn one_secret(
    fleet: &Fleet,
    tf: Terraform,
    host_value: impl Fn(&SimHost) -> String,
    extra: &str,
) -> String {
    format!(
        "{}\n{}\n{}",
        fleet.provider_block(extra),
        fleet.hosts_local_with(host_value),
        fleet.permanent_secrets_block(
            PasswordArguments::for_terraform(tf),
            &[fleet.onboarding("h1", "U0001")],
            ""
        )
    )
}

/// Asserts that `error` names the host and one of the keys it presents,
/// type and SHA256 fingerprint, as `ssh-keygen -l` prints it.
fn assert_names_presented_key(error: &str, host: &SimHost) {
    assert!(
        error.contains(&host.address()),
        "the host is not named: {error}"
    );
    let [ed25519, ecdsa] = host.fingerprints();
    let named = (error.contains("ssh-ed25519") && error.contains(&ed25519))
        || (error.contains("ecdsa-sha2-nistp256") && error.contains(&ecdsa));
    assert!(
        named,
        "the presented key's type and fingerprint are not named: {error}"
    );
}

/// Asserts that the refusal came before authentication: sshd accepted no
/// key, the simulator saw nothing, the host has no entry.
fn assert_refused_before_authentication(fleet: &Fleet, before: acceptance_tests::Contacts) {
    let host = fleet.host("h1");
    assert_eq!(
        host.sshd.log_lines_with("Accepted publickey"),
        0,
        "{}",
        host.sshd.log()
    );
    assert_eq!(fleet.contacts(), before, "the HSM was contacted");
    assert!(host.entries().is_empty());
}

fn wrong_pinned_key_is_refused_before_any_password(tf: Terraform) {
    let fleet = Fleet::new(tf, SimConfig::generated(1), 1);
    let impostor = KeyPair::generate(&fleet.ws.work_dir(), "impostor");
    fleet.write(&one_secret(
        &fleet,
        tf,
        |host| host.hcl_pinning(&impostor.public_key),
        "",
    ));
    fleet.ws.init().unwrap();
    let before = fleet.contacts();
    let error = fleet.apply_fails();
    assert_names_presented_key(&error, fleet.host("h1"));
    assert!(
        error.contains(&fingerprint(&impostor.public_key)),
        "the pinned key is not named: {error}"
    );
    assert_refused_before_authentication(&fleet, before);
}

fn unknown_host_is_refused_before_any_password(tf: Terraform) {
    let fleet = Fleet::new(tf, SimConfig::generated(1), 1);
    let known_hosts = fleet.ws.work_dir().join("known_hosts");
    std::fs::write(&known_hosts, "").unwrap();
    let extra = format!("known_hosts_file = \"{}\"", known_hosts.display());
    fleet.write(&one_secret(&fleet, tf, SimHost::hcl_unpinned, &extra));
    fleet.ws.init().unwrap();
    let before = fleet.contacts();
    let error = fleet.apply_fails();
    assert_names_presented_key(&error, fleet.host("h1"));
    assert_refused_before_authentication(&fleet, before);
    assert_eq!(
        std::fs::read_to_string(&known_hosts).unwrap(),
        "",
        "no key is trusted on first use unless accept_new_host_key is set"
    );
}

fn changed_host_key_is_refused_naming_both_fingerprints(tf: Terraform) {
    let mut fleet = Fleet::new(tf, SimConfig::generated(1), 1);
    fleet.write(&one_secret(&fleet, tf, SimHost::hcl, ""));
    fleet.ws.init().unwrap();
    fleet.apply();
    let [pinned, _] = fleet.host("h1").fingerprints();
    fleet.host_mut("h1").sshd.replace_host_key();
    let before = fleet.contacts();
    let error = fleet.plan_fails();
    assert!(
        error.contains(&pinned),
        "the pinned fingerprint is not named: {error}"
    );
    assert_names_presented_key(&error, fleet.host("h1"));
    assert_eq!(fleet.contacts(), before, "the HSM was contacted");
}

/// Through a jump host (a second sshd, its own key pinned): the apply
/// works and the jump host forwarded to the host; a wrong key for the jump
/// host is refused before anything is sent.
fn bastion_with_its_own_key_checked(tf: Terraform) {
    let fleet = Fleet::new(tf, SimConfig::generated(1), 1);
    let jump = TestSshd::start();
    jump.authorize(fleet.public_key());
    let through = |bastion_key: &str| {
        format!(
            "bastion_host     = \"127.0.0.1\"\n    bastion_port     = {}\n    bastion_user     = \"{}\"\n    \
             bastion_host_key = \"{bastion_key}\"",
            jump.port(),
            jump.user()
        )
    };
    fleet.write(&one_secret(
        &fleet,
        tf,
        SimHost::hcl,
        &through(jump.host_key()),
    ));
    fleet.ws.init().unwrap();
    fleet.apply();
    let host = fleet.host("h1");
    assert_eq!(host.stored_secret("U0001"), fleet.issued_secret("U0001"));
    let forwarded = format!("target 127.0.0.1 port {}", host.port());
    assert!(jump.log_lines_with(&forwarded) > 0, "{}", jump.log());
    fleet.assert_no_changes();

    let impostor = KeyPair::generate(&fleet.ws.work_dir(), "impostor");
    fleet.write(&one_secret(
        &fleet,
        tf,
        SimHost::hcl,
        &through(&impostor.public_key),
    ));
    let before = fleet.contacts();
    let error = fleet.plan_fails();
    assert!(error.contains("bastion"), "{error}");
    let presented = [jump.host_key(), jump.ecdsa_host_key()].map(fingerprint);
    assert!(
        presented.iter().any(|f| error.contains(f.as_str())),
        "{error}"
    );
    assert_eq!(fleet.contacts(), before, "the HSM was contacted");
}

acceptance_tests::on_every_terraform!(
    lifecycle_across_three_hosts,
    wrong_pinned_key_is_refused_before_any_password,
    unknown_host_is_refused_before_any_password,
    changed_host_key_is_refused_naming_both_fingerprints,
    bastion_with_its_own_key_checked,
    sudo_user_with_a_rule_runs_ppin_as_root,
    sudo_user_without_a_rule_fails_before_the_hsm,
);

// --------------------------------------------------------------------- sudo

/// `ssh.sudo` with a non-root user: `sudo -n` drops the session's
/// environment, so the host's files are named in the ssh block.
fn sudo_config(fleet: &Fleet, tf: Terraform, user: &SudoUser) -> String {
    let host = fleet.host("h1");
    host.admit_other_users();
    let extra = format!(
        "sudo         = true\n    config_file  = \"{}\"\n    secrets_file = \"{}\"",
        host.config_file().display(),
        host.secrets_file().display()
    );
    format!(
        "{}\n{}\n{}",
        fleet.provider_block_with(&user.name, "30s", &extra),
        fleet.hosts_local(),
        fleet.permanent_secrets_block(
            PasswordArguments::for_terraform(tf),
            &[fleet.onboarding("h1", "U0001")],
            ""
        )
    )
}

fn sudo_user_with_a_rule_runs_ppin_as_root(tf: Terraform) {
    let user = SudoUser::ensure(SudoRule::Granted);
    let fleet = Fleet::new(tf, SimConfig::generated(1), 1);
    fleet.write(&sudo_config(&fleet, tf, &user));
    fleet.ws.init().unwrap();
    fleet.apply();
    let host = fleet.host("h1");
    assert_eq!(host.stored_secret("U0001"), fleet.issued_secret("U0001"));
    let accepted = format!("Accepted publickey for {}", user.name);
    assert!(
        host.sshd.log_lines_with(&accepted) > 0,
        "{}",
        host.sshd.log()
    );
    let owner =
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(host.secrets_file()).unwrap());
    assert_eq!(owner, 0, ".secrets.cfg is written by root, through sudo");
    fleet.assert_no_changes();
    fleet.ws.destroy().unwrap();
    assert!(host.entries().is_empty());
}

fn sudo_user_without_a_rule_fails_before_the_hsm(tf: Terraform) {
    let user = SudoUser::ensure(SudoRule::Missing);
    let fleet = Fleet::new(tf, SimConfig::generated(1), 1);
    fleet.write(&sudo_config(&fleet, tf, &user));
    fleet.ws.init().unwrap();
    let before = fleet.contacts();
    let error = fleet.apply_fails();
    assert!(error.contains("sudo"), "{error}");
    assert!(error.contains(&fleet.host("h1").address()), "{error}");
    assert_eq!(fleet.contacts(), before, "the HSM was contacted");
    assert!(fleet.host("h1").entries().is_empty());
}

// ------------------------------------------------------------------- faults

/// Every sshd's connections (sessions and the `ppin`s they run) killed in
/// the middle of an apply of 30 resources on 3 hosts: the apply fails; the
/// next one converges without importing anything, each user with the one
/// secret the simulator issued.
#[test]
fn connections_killed_mid_apply_converge_on_the_next_apply_on_1_15_5() {
    let fleet = Fleet::new(Terraform::V1_15_5, SimConfig::generated(30), 3);
    let onboardings: Vec<Onboarding> = (1..=30)
        .map(|n| fleet.onboarding(&format!("h{}", (n - 1) / 10 + 1), &format!("U{n:04}")))
        .collect();
    let config = format!(
        "{}\n{}\n{}",
        fleet.provider_block(""),
        fleet.hosts_local(),
        fleet.permanent_secrets_block(PasswordArguments::WriteOnly, &onboardings, "")
    );
    fleet.write(&config);
    fleet.ws.init().unwrap();
    let running = fleet.start(&APPLY);
    // The first `.secrets.cfg` on any host (each is written whole, by
    // rename): the apply is under way, most resources still to come.
    let started = || fleet.hosts.iter().any(|h| h.secrets_file().exists());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !started() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(started(), "no entry was stored within 120 s");
    for host in &fleet.hosts {
        host.sshd.kill_connections();
    }
    let (first, _) = running
        .wait(Duration::from_secs(300))
        .expect("the apply ends");
    assert_ne!(
        first.code, 0,
        "the apply survived its connections' death:\n{}",
        first.stdout
    );
    let error = unwrap_lines(&first.stderr);
    assert!(
        error.contains("127.0.0.1:"),
        "the host is not named: {error}"
    );

    let applied = fleet.apply();
    assert!(!applied.stdout.contains("import"), "{}", applied.stdout);
    for onboarding in &onboardings {
        let host = fleet.host(&onboarding.host);
        assert_eq!(
            fleet.issued_count(&onboarding.user),
            1,
            "{}",
            onboarding.user
        );
        assert_eq!(
            host.stored_secret(&onboarding.user),
            fleet.issued_secret(&onboarding.user)
        );
    }
    for host in &fleet.hosts {
        assert_eq!(host.entries().len(), 10, "entries of host {}", host.name);
    }
    fleet.assert_no_changes();
}

/// A `ppin` on the host that hangs after its first prompt (and has a
/// child ignoring SIGHUP): the apply ends with an error and neither process
/// is left on the host.
#[test]
fn a_hanging_ppin_is_ended_on_the_host_with_its_children_on_1_15_5() {
    let fleet = Fleet::new(Terraform::V1_15_5, SimConfig::generated(1), 1);
    let work = fleet.ws.work_dir();
    let pids = work.join("hanging.pids");
    let script = work.join("hanging-ppin");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             for arg in \"$@\"; do [ \"$arg\" = -a ] && hang=yes; done\n\
             [ -z \"$hang\" ] && exec {ppin} \"$@\"\n\
             trap '' HUP\n\
             echo $$ >> {pids}\n\
             sleep 600 &\n\
             echo $! >> {pids}\n\
             stty -echo\n\
             printf \"Provide setup password for 'U0001': \"\n\
             wait\n",
            ppin = acceptance_tests::ppin_binary().display(),
            pids = pids.display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = fleet.provider_block("").replace(
        &acceptance_tests::ppin_binary().display().to_string(),
        &script.display().to_string(),
    );
    fleet.write(&format!(
        "{config}\n{}\n{}",
        fleet.hosts_local(),
        fleet.permanent_secrets_block(
            PasswordArguments::WriteOnly,
            &[fleet.onboarding("h1", "U0001")],
            ""
        )
    ));
    fleet.ws.init().unwrap();
    let (out, _) = fleet
        .start(&APPLY)
        .wait(Duration::from_secs(300))
        .expect("the apply ends");
    assert_ne!(out.code, 0, "{}", out.stdout);
    let started: Vec<u32> = std::fs::read_to_string(&pids)
        .expect("the hanging ppin ran")
        .lines()
        .map(|pid| pid.parse().unwrap())
        .collect();
    assert_eq!(started.len(), 2, "the script and its child");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while started.iter().any(|pid| is_running(*pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left: Vec<u32> = started.into_iter().filter(|pid| is_running(*pid)).collect();
    assert_eq!(
        left,
        Vec::<u32>::new(),
        "processes left on the host after the channel closed"
    );
    assert!(fleet.host("h1").entries().is_empty());
}

/// A host that accepts the connection and never answers: the apply ends,
/// bounded by `ssh.timeout`, naming the host, without contacting the HSM.
#[test]
fn a_silent_host_fails_within_the_timeout_on_1_15_5() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let silent = runtime.block_on(SilentHost::start());
    let fleet = Fleet::new(Terraform::V1_15_5, SimConfig::generated(1), 0);
    let key = KeyPair::generate(&fleet.ws.work_dir(), "silent_host_key");
    fleet.write(&format!(
        "{}\nlocals {{\n  hosts = {{\n    h1 = {{ address = \"127.0.0.1\", port = {port}, host_key = \"{key}\" }}\n  }}\n}}\n{}",
        fleet.provider_block_with("root", "3s", ""),
        fleet.permanent_secrets_block(PasswordArguments::WriteOnly, &[fleet.onboarding("h1", "U0001")], ""),
        port = silent.port(),
        key = key.public_key,
    ));
    fleet.ws.init().unwrap();
    let before = fleet.contacts();
    let (out, elapsed) = fleet
        .start(&APPLY)
        .wait(Duration::from_secs(60))
        .expect("the apply ends, bounded by ssh.timeout (3s), not by the 5-minute default");
    assert_ne!(out.code, 0, "{}", out.stdout);
    let error = unwrap_lines(&out.stderr);
    assert!(
        error.contains(&format!("127.0.0.1:{}", silent.port())),
        "the host is not named ({elapsed:?}): {error}"
    );
    assert_eq!(fleet.contacts(), before, "the HSM was contacted");
}

// ------------------------------------------------------------------ harness

/// What every test above stands on: over a real SSH session each simulated
/// host's `ppin` finds that host's own files (and so its own entries), and
/// the non-root users can or cannot `sudo -n` as their rule says.
#[test]
fn each_simulated_host_shows_its_own_files_to_its_ssh_sessions() {
    let fleet = Fleet::new(Terraform::V1_15_5, SimConfig::generated(1), 2);
    let (setup, pin) = (
        fleet.setup_password("U0001"),
        fleet.pkcs11_password("U0001"),
    );
    fleet
        .host("h1")
        .ppin_ok(&["-a", "-e", "U0001", &setup, &pin]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pool = primus_ssh::SshPool::new(primus_ssh::PoolLimits::default());
    let run = |settings: primus_ssh::Settings, command: &str| {
        runtime.block_on(async {
            let host = pool.host(&settings).await.unwrap();
            host.run(command, b"", Duration::from_secs(30))
                .await
                .unwrap()
        })
    };
    let list = format!(
        "{} -l",
        primus_ssh::quote(&acceptance_tests::ppin_binary().display().to_string())
    );
    for (host, status) in [
        (fleet.host("h1"), "Configured"),
        (fleet.host("h2"), "MISSING"),
    ] {
        let listed = run(host.sshd.settings(), &list);
        let text = unwrap_lines(&String::from_utf8_lossy(&listed.stdout));
        assert!(listed.status.success(), "{text}");
        assert!(
            text.contains(&format!("user 'U0001' permanent secret: {status}")),
            "host {}: {text}",
            host.name
        );
        let named = run(
            host.sshd.settings(),
            "printf %s \"$SECUROSYS_SECRETS_CONF\"",
        );
        assert_eq!(
            String::from_utf8_lossy(&named.stdout),
            host.secrets_file().display().to_string()
        );
    }

    let host = fleet.host("h1");
    host.admit_other_users();
    for (rule, allowed) in [(SudoRule::Granted, true), (SudoRule::Missing, false)] {
        let user = SudoUser::ensure(rule);
        let mut settings = host.sshd.settings();
        settings.user = user.name.clone();
        let sudo = run(settings, "sudo -n id -u");
        assert_eq!(
            sudo.status.success(),
            allowed,
            "{}: {}",
            user.name,
            String::from_utf8_lossy(&sudo.stderr)
        );
        if allowed {
            assert_eq!(String::from_utf8_lossy(&sudo.stdout).trim(), "0");
        }
    }
}

/// One `ppin -l` per host serves every refresh of that host in a plan:
/// with 3 users on each of 2 hosts, a plan runs the hosts' `ppin` twice in
/// all, `-l` once on each, and nothing else.
#[test]
fn a_plan_lists_each_host_once_on_1_15_5() {
    let fleet = Fleet::new(Terraform::V1_15_5, SimConfig::generated(3), 2);
    let work = fleet.ws.work_dir();
    let runs = work.join("ppin.runs");
    let recording = work.join("recording-ppin");
    // Records which host (its .secrets.cfg) ran the tool with which options;
    // passwords are typed at prompts, never arguments.
    std::fs::write(
        &recording,
        format!(
            "#!/bin/sh\nprintf '%s %s\\n' \"$SECUROSYS_SECRETS_CONF\" \"$*\" >> {runs}\nexec {ppin} \"$@\"\n",
            runs = runs.display(),
            ppin = acceptance_tests::ppin_binary().display(),
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &recording,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let onboardings: Vec<Onboarding> = ["h1", "h2"]
        .into_iter()
        .flat_map(|host| ["U0001", "U0002", "U0003"].map(|user| fleet.onboarding(host, user)))
        .collect();
    let config = fleet.provider_block("").replace(
        &acceptance_tests::ppin_binary().display().to_string(),
        &recording.display().to_string(),
    );
    fleet.write(&format!(
        "{config}\n{}\n{}",
        fleet.hosts_local(),
        fleet.permanent_secrets_block(PasswordArguments::WriteOnly, &onboardings, "")
    ));
    fleet.ws.init().unwrap();
    fleet.apply();
    // The hosts had no .secrets.cfg: nothing to list, so the plan and the
    // apply ran only the adds.
    let recorded = std::fs::read_to_string(&runs).unwrap();
    let mut lines: Vec<&str> = recorded.lines().collect();
    lines.sort_unstable();
    let mut expected: Vec<String> = onboardings
        .iter()
        .map(|o| {
            let host = fleet.host(&o.host);
            format!("{} -a -e {}", host.secrets_file().display(), o.user)
        })
        .collect();
    expected.sort_unstable();
    assert_eq!(lines, expected, "the tool runs of the first plan and apply");
    std::fs::remove_file(&runs).unwrap();

    let (empty, plan) = fleet.ws.plan().unwrap();
    assert!(empty, "{}", plan.stdout);
    let recorded = std::fs::read_to_string(&runs).unwrap();
    let mut lines: Vec<&str> = recorded.lines().collect();
    lines.sort_unstable();
    let mut expected: Vec<String> = fleet
        .hosts
        .iter()
        .map(|host| format!("{} -l", host.secrets_file().display()))
        .collect();
    expected.sort_unstable();
    assert_eq!(lines, expected, "the tool runs of the second plan");
}
