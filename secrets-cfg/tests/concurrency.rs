//! Concurrency test: several processes × several threads (through two
//! handles per process) edit distinct entries and one shared counter with
//! read-modify-write transactions. Zero lost updates allowed.
//!
//! This binary is its own worker: run with `--worker PATH ID` it does its
//! share of edits. (`harness = false`, so `main` decides.)
// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use secrets_cfg::{EntryKind, KeySource, Secret, SecretsStore};

const PROCESSES: usize = 4;
const THREADS: usize = 4;
const EDITS: usize = 15;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--worker") {
        worker(Path::new(&args[2]), args[3].parse().expect("worker id"));
        return;
    }
    let started = Instant::now();
    processes_and_threads_lose_no_update();
    println!(
        "test processes_and_threads_lose_no_update ... ok in {:.1?}",
        started.elapsed()
    );
}

fn number(secret: Option<Secret>) -> usize {
    secret.map_or(0, |s| {
        std::str::from_utf8(s.expose_secret())
            .expect("utf8")
            .parse()
            .expect("number")
    })
}

fn bump(tx: &mut secrets_cfg::Transaction<'_>, name: &str) -> secrets_cfg::Result<()> {
    let next = number(tx.get(EntryKind::User, name)?) + 1;
    tx.put(
        EntryKind::User,
        name,
        Secret::new(next.to_string().into_bytes()),
    )
}

fn worker(path: &Path, id: usize) {
    // Two handles: threads on one handle group-commit, the handles contend
    // through the lock file like separate processes.
    let handles = [
        SecretsStore::open(path, KeySource::Default).expect("open"),
        SecretsStore::open(path, KeySource::Default).expect("open"),
    ];
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = handles[thread % 2].clone();
            scope.spawn(move || {
                for i in 1..=EDITS {
                    let own = format!("p{id}-t{thread}");
                    let process_counter = format!("p{id}");
                    store
                        .edit(move |tx| {
                            bump(tx, "shared")?;
                            bump(tx, &process_counter)?;
                            tx.put(
                                EntryKind::User,
                                &own,
                                Secret::new(i.to_string().into_bytes()),
                            )
                        })
                        .expect("edit");
                }
            });
        }
    });
}

fn processes_and_threads_lose_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..PROCESSES)
        .map(|id| {
            Command::new(&exe)
                .args(["--worker", path.to_str().unwrap(), &id.to_string()])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    assert_eq!(
        number(store.get(EntryKind::User, "shared").unwrap()),
        PROCESSES * THREADS * EDITS
    );
    for id in 0..PROCESSES {
        assert_eq!(
            number(store.get(EntryKind::User, &format!("p{id}")).unwrap()),
            THREADS * EDITS
        );
        for thread in 0..THREADS {
            assert_eq!(
                number(
                    store
                        .get(EntryKind::User, &format!("p{id}-t{thread}"))
                        .unwrap()
                ),
                EDITS
            );
        }
    }
    assert_eq!(
        store.list().unwrap().len(),
        1 + PROCESSES + PROCESSES * THREADS
    );
}
