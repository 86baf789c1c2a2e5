//! Benchmark: onboarding N remote hosts over SSH, ours against what users
//! do today, on the same sshds in the same run (issue #18).
//!
//! - ours: `primus_permanent_secret` with `host`, `for_each` over N hosts ×
//!   U users, the provider's `ssh {}` block (one connection per host, the
//!   passwords typed at `ppin`'s prompts);
//! - the peer: Terraform's built-in `terraform_data` with a `remote-exec`
//!   provisioner running `ppin -a -e USER SETUP PIN` over a `connection`
//!   block pinning the same host key (the passwords in argv on the host).
//!
//! Each host is a real `sshd` on loopback ([`acceptance_tests::Fleet`]) with
//! its own files, running the release `ppin` against one release hsm-sim.
//! One `terraform apply` per side and size is timed, wall clock, on
//! Terraform 1.15.5; after each, every host's entries are checked and
//! removed (ours by `terraform destroy`, the peer's files deleted), so both
//! sides start from empty hosts.
//!
//! Run `scripts/bench-ssh.sh` (it builds the release binaries first).
//! Settings: `BENCH_SSH_HOSTS=10,50` the host counts, `BENCH_SSH_USERS=1,3`
//! the users per host. The default run took about 95 s after the build
//! on 2 shared cores, most of it the 50-host sizes.

#![allow(clippy::unwrap_used)] // a benchmark that cannot run should stop loudly

use std::time::{Duration, Instant};

use acceptance_tests::{ppin_binary, Fleet, Onboarding, PasswordArguments, Terraform};
use hsm_sim::SimConfig;
use tfplug::testing::{target_binary, Workspace};

/// The users a host may get, the same on every host (the simulator hands
/// each host the user's current secret).
const USERS: [&str; 3] = ["U0001", "U0002", "U0003"];

fn counts(name: &str, default: &str) -> Vec<usize> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name} is a comma-separated list of counts"))
        })
        .collect()
}

/// Every host of `fleet` × the first `users` of [`USERS`].
fn onboardings(fleet: &Fleet, users: usize) -> Vec<Onboarding> {
    fleet
        .hosts
        .iter()
        .flat_map(|host| {
            USERS[..users]
                .iter()
                .map(|user| fleet.onboarding(&host.name, user))
        })
        .collect()
}

fn ours(fleet: &Fleet, onboardings: &[Onboarding]) -> String {
    format!(
        "{}\n{}\n{}",
        fleet.provider_block("max_connections = 10"),
        fleet.hosts_local(),
        fleet.permanent_secrets_block(PasswordArguments::WriteOnly, onboardings, "")
    )
}

/// The peer's configuration: no provider but Terraform's own. Its SSH
/// client asks for the ECDSA host key first and compares it with
/// `host_key` as it is, so that is the key pinned.
fn peer(fleet: &Fleet, onboardings: &[Onboarding]) -> String {
    let entries: String = onboardings
        .iter()
        .map(|o| {
            let host = fleet.host(&o.host);
            format!(
                "    \"{h}/{u}\" = {{ port = {port}, host_key = \"{key}\", user = \"{u}\", setup = \"{s}\", pin = \"{p}\" }}\n",
                h = o.host,
                u = o.user,
                port = host.port(),
                key = host.sshd.ecdsa_host_key(),
                s = o.setup_password,
                p = fleet.pkcs11_password(&o.user),
            )
        })
        .collect();
    format!(
        r#"locals {{
  onboarded = {{
{entries}  }}
}}

resource "terraform_data" "ppin" {{
  for_each = local.onboarded

  connection {{
    type        = "ssh"
    host        = "127.0.0.1"
    port        = each.value.port
    user        = "root"
    private_key = file("{key}")
    host_key    = each.value.host_key
    timeout     = "30s"
  }}

  provisioner "remote-exec" {{
    inline = ["{ppin} -a -e ${{each.value.user}} ${{each.value.setup}} ${{each.value.pin}}"]
  }}
}}
"#,
        key = fleet.key_file().display(),
        ppin = ppin_binary().display(),
    )
}

/// Times one `terraform apply` in `ws`.
fn timed_apply(ws: &Workspace) -> Duration {
    let start = Instant::now();
    ws.apply().unwrap_or_else(|e| panic!("apply failed: {e}"));
    start.elapsed()
}

/// Asserts that every host holds exactly the first `users` of [`USERS`].
fn assert_every_host_holds(fleet: &Fleet, users: usize) {
    for host in &fleet.hosts {
        let names: Vec<String> = host.entries().into_iter().map(|(_, name)| name).collect();
        assert_eq!(
            names,
            USERS[..users].to_vec(),
            "entries of host {}",
            host.name
        );
    }
}

/// Deletes every host's `.secrets.cfg`, its key and lock, so each side
/// starts on fresh hosts (the peer has no destroy step at all).
fn delete_host_files(fleet: &Fleet) {
    for host in &fleet.hosts {
        for suffix in ["", ".key", ".ppin-lock"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", host.secrets_file().display()));
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let host_counts = counts("BENCH_SSH_HOSTS", "10,50");
    let user_counts = counts("BENCH_SSH_USERS", "1,3");
    assert!(
        user_counts.iter().all(|&u| (1..=USERS.len()).contains(&u)),
        "BENCH_SSH_USERS: 1 to 3"
    );
    let provider = target_binary("terraform-provider-primus")
        .expect("the release provider is built (scripts/bench-ssh.sh builds it)");
    println!(
        "onboarding remote hosts over SSH, Terraform 1.15.5, provider {}",
        provider.display()
    );
    println!("ours: primus_permanent_secret with host; peer: terraform_data + remote-exec running ppin -a");
    let mut rows = Vec::new();
    for &hosts in &host_counts {
        let fleet = Fleet::new(Terraform::V1_15_5, SimConfig::generated(USERS.len()), hosts);
        let peer_ws = Terraform::V1_15_5.workspace(&provider);
        for &users in &user_counts {
            let onboardings = onboardings(&fleet, users);
            // The peer first at one size, ours first at the next, so neither
            // side always runs on a warmer machine.
            let peer_first = rows.len() % 2 == 0;
            let mut times = [Duration::ZERO; 2];
            for side in if peer_first { [1, 0] } else { [0, 1] } {
                if side == 0 {
                    fleet.write(&ours(&fleet, &onboardings));
                    fleet.ws.init().unwrap();
                    times[0] = timed_apply(&fleet.ws);
                    assert_every_host_holds(&fleet, users);
                    fleet.ws.destroy().unwrap();
                    assert!(
                        fleet.hosts.iter().all(|h| h.entries().is_empty()),
                        "destroy left entries"
                    );
                    // Destroy leaves an empty .secrets.cfg; the next side
                    // starts, as this one did, on hosts without one.
                    delete_host_files(&fleet);
                } else {
                    peer_ws.write_config(&peer(&fleet, &onboardings)).unwrap();
                    peer_ws.init().unwrap();
                    times[1] = timed_apply(&peer_ws);
                    assert_every_host_holds(&fleet, users);
                    delete_host_files(&fleet);
                    peer_ws.destroy().unwrap();
                }
            }
            let ratio = times[0].as_secs_f64() / times[1].as_secs_f64();
            println!(
                "  {hosts} hosts x {users} users: ours {:.2} s, peer {:.2} s, ours/peer {ratio:.2}",
                times[0].as_secs_f64(),
                times[1].as_secs_f64()
            );
            rows.push((hosts, users, times, ratio));
        }
    }
    println!();
    println!("| hosts | users/host | resources | ours (s) | peer (s) | ours/peer |");
    println!("|------:|-----------:|----------:|---------:|---------:|----------:|");
    for (hosts, users, [ours, peer], ratio) in rows {
        println!(
            "| {hosts} | {users} | {} | {:.2} | {:.2} | {ratio:.2}x |",
            hosts * users,
            ours.as_secs_f64(),
            peer.as_secs_f64()
        );
    }
}
