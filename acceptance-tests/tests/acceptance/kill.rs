//! A killed apply recovers by itself: Terraform (or only the provider) is
//! SIGKILLed in the middle of an apply of 200 permanent secrets, several
//! times, and the next apply converges with no `terraform import`, no
//! duplicate and no lost secret; a provider whose Terraform was killed does
//! not outlive it.
//!
//! These run on Terraform 1.0.3 only: what they test is the provider and the
//! file store (adoption, atomic commits, the parent watch), which do not
//! depend on the release, and 1.0.3 is a native binary whose process tree
//! (a wrapper, Terraform, its providers) is Terraform's own, where 1.15.5
//! runs inside a Python process, and it starts faster, which matters for
//! rounds kept within about two minutes.

use std::time::{Duration, Instant, SystemTime};

use acceptance_tests::{is_running, send_signal, Fixture, Running, Terraform};
use hsm_sim::harness::SilentHsm;
use hsm_sim::SimConfig;
use secrets_cfg::EntryKind;

const USERS: usize = 200;
/// Bound of one terraform run that must not hang.
const NO_HANG: Duration = Duration::from_secs(120);
/// How long the kill rounds may take together.
const ROUNDS_BUDGET: Duration = Duration::from_secs(100);
const MAX_ROUNDS: usize = 8;
/// Fewer users than this left to onboard end the rounds: a kill would
/// likely come after the apply.
const MIN_LEFT: usize = 40;
/// The longest a provider may outlive its Terraform (issue 9).
const ORPHAN_LIMIT: Duration = Duration::from_secs(2);

const APPLY: &[&str] = &["apply", "-no-color", "-input=false", "-auto-approve"];

/// Which process a round kills.
#[derive(Clone, Copy, Debug)]
enum Victim {
    /// Terraform's own processes (the wrapper and Terraform itself), as a
    /// `kill -9` of the job would: the provider is orphaned.
    Terraform,
    /// Only the provider process: Terraform sees its plugin die.
    Provider,
}

/// A small xorshift generator: random kill moments without a dependency,
/// its seed printed so a failing round can be replayed.
struct Moments(u64);

impl Moments {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos().into());
        eprintln!("kill moments seed: {nanos}");
        Moments(nanos | 1)
    }

    /// A fraction between 0 and 1.
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 1000) as f64 / 1000.0
    }

    /// When to kill a round that starts with `stored` of the users' entries
    /// in the file: once between one more and 60% of the rest more are
    /// stored, then a few milliseconds later, so the kill falls in the
    /// middle of the apply, whatever speed the machine and the provider
    /// have (a moment in wall-clock time let a fast apply finish first),
    /// and lands in a different phase of an operation each time.
    fn kill_point(&mut self, stored: usize) -> (usize, Duration) {
        let more = 1 + ((USERS - stored) as f64 * 0.6 * self.next()) as usize;
        (
            stored + more,
            Duration::from_millis(1).mul_f64(30.0 * self.next()),
        )
    }
}

/// How many entries the file holds now (it takes no lock to read).
fn stored(f: &Fixture) -> usize {
    if !f.secrets_cfg().exists() {
        return 0;
    }
    f.store().list().map_or(0, |entries| entries.len())
}

/// Polls (at most `limit`) until the file holds `target` entries while
/// Terraform still runs; whether it did.
fn wait_for_stored(f: &Fixture, run: &mut Running, target: usize, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline && !run.has_exited() {
        if stored(f) >= target {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// SIGKILLs Terraform's own processes (not the providers).
fn kill_terraform(run: Running) -> Vec<u32> {
    let providers = run.providers();
    for pid in run.terraform_processes() {
        send_signal(pid, "KILL");
    }
    run.kill();
    providers
}

/// Polls (at most `limit`) until none of `pids` runs; those still running.
fn survivors(pids: &[u32], limit: Duration) -> Vec<u32> {
    let deadline = Instant::now() + limit;
    loop {
        let alive: Vec<u32> = pids.iter().copied().filter(|p| is_running(*p)).collect();
        if alive.is_empty() || Instant::now() >= deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn re_apply_after_kills_mid_apply_converges_without_imports() {
    let f = Fixture::new(Terraform::V1_0_3, SimConfig::generated(USERS));
    let mut main_tf = String::from("provider \"primus\" {}\n");
    for n in 1..=USERS {
        main_tf.push_str(&f.permanent_secret(&format!("u{n}"), &format!("U{n:04}"), ""));
    }
    f.write(&main_tf);
    f.ws.init().unwrap();

    let mut moments = Moments::seeded();
    let started = Instant::now();
    let mut rounds = 0;
    let mut orphans_killed = 0;
    while rounds < MAX_ROUNDS && started.elapsed() < ROUNDS_BUDGET {
        let before = stored(&f);
        if USERS - before < MIN_LEFT {
            break;
        }
        let victim = if rounds % 2 == 0 {
            Victim::Terraform
        } else {
            Victim::Provider
        };
        let (target, delay) = moments.kill_point(before);
        let mut run = f.start(APPLY);
        if !wait_for_stored(&f, &mut run, target, NO_HANG) {
            panic!(
                "the apply ended (or hung) before {target} entries were stored: {}",
                run.stdout()
            );
        }
        std::thread::sleep(delay);
        match victim {
            Victim::Terraform => {
                let providers = kill_terraform(run);
                // The rounds must not depend on the orphan watch (tested below): kill what outlives it.
                for pid in survivors(&providers, Duration::from_secs(10)) {
                    send_signal(pid, "KILL");
                    orphans_killed += 1;
                }
            }
            Victim::Provider => {
                for pid in run.providers() {
                    send_signal(pid, "KILL");
                }
                assert!(
                    run.wait(NO_HANG).is_some(),
                    "terraform hung after its provider died"
                );
            }
        }
        rounds += 1;
        eprintln!(
            "round {rounds} ({victim:?}) killed at {target}+{delay:?} after {:?}: {} entries stored",
            started.elapsed(),
            stored(&f)
        );
    }
    eprintln!(
        "{rounds} rounds in {:?}; {orphans_killed} orphan providers killed by the test",
        started.elapsed()
    );
    assert!(
        rounds >= 2,
        "too few kill rounds to test anything: {rounds}"
    );

    // The re-apply converges: no import, no hand work.
    f.apply();
    let state = f.ws.state_json().unwrap();
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(resources, USERS, "every resource is in the state");
    let entries = f.store().list().unwrap();
    let users = entries.iter().filter(|e| e.kind == EntryKind::User).count();
    assert_eq!(users, USERS, "one entry per user, no duplicate");
    for n in 1..=USERS {
        // Stored == the HSM's current secret: nothing lost, nothing stale.
        f.assert_onboarded(&format!("U{n:04}"));
    }
    f.assert_no_changes();
}

/// Terraform is killed while the provider waits for an HSM that never
/// answers (no credential sent yet): the provider notices that its parent is
/// gone, stops the operation and exits.
#[test]
fn a_provider_does_not_outlive_a_killed_terraform() {
    let f = Fixture::new(Terraform::V1_0_3, SimConfig::generated(1));
    let silent = SilentHsm::start().unwrap();
    f.write_behind(&silent, "U0001");
    f.ws.init().unwrap();

    let mut run = f.start(APPLY);
    assert!(
        run.wait_for_output("Creating...", NO_HANG),
        "{}",
        run.stdout()
    );
    let providers = run.providers();
    assert!(!providers.is_empty(), "no provider process found");
    kill_terraform(run);
    let left = survivors(&providers, ORPHAN_LIMIT);
    for pid in &left {
        send_signal(*pid, "KILL");
    }
    assert!(
        left.is_empty(),
        "provider {left:?} still ran {ORPHAN_LIMIT:?} after Terraform was killed"
    );
    assert!(!f.secrets_cfg().exists(), "nothing was written");
}
