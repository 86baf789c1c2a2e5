//! Crash test: a writer process is SIGKILLed at random instants, at least
//! 200 times. After each kill the file must parse, every entry must decrypt
//! (through the key file, which the writer also rotates now and then), every
//! edit the writer reported as committed must be there, and an edit in
//! flight must be either fully there or not at all.
//!
//! This binary is its own writer: run with `--writer PATH SEED` it edits
//! until killed. (`harness = false`, so `main` decides.)
// allow-unwrap-in-tests (clippy.toml) covers only #[test] fns; the steps here live in helpers.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::ExitStatusExt;

use secrets_cfg::{EntryKind, FileKey, KeySource, Secret, SecretsStore};

const KILLS: usize = 220;
const THREADS: usize = 3;
const NAMES_PER_THREAD: u64 = 4;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--writer") {
        writer(Path::new(&args[2]), &args[3]);
        return;
    }
    let started = Instant::now();
    let (commits, keys) = crash_at_random_instants();
    println!(
        "test crash_at_random_instants ({KILLS} kills, {commits} acknowledged commits, {keys} file keys) ... ok in {:.1?}",
        started.elapsed()
    );
}

/// What a name may hold: `None` = absent.
type State = Option<String>;

/// Edits forever from `THREADS` threads, announcing each edit before it
/// starts (`begin`) and after it committed (`ok`), one line per write so
/// lines from threads never interleave.
fn writer(path: &Path, seed: &str) {
    let store = SecretsStore::open(path, KeySource::Default).expect("open");
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let store = store.clone();
            scope.spawn(move || {
                for op in 0u64.. {
                    if thread == 0 && op % 8 == 1 {
                        store
                            .rotate_key(FileKey::generate().expect("random"))
                            .expect("rotate");
                    }
                    let name = format!("t{thread}-{}", op % NAMES_PER_THREAD);
                    let remove = op % 7 == 3;
                    let value = format!("{seed}/{thread}/{op}");
                    let effect = if remove {
                        "-".to_owned()
                    } else {
                        value.clone()
                    };
                    say(&format!("begin {name} {effect}\n"));
                    let (n, v) = (name.clone(), value);
                    store
                        .edit(move |tx| {
                            if remove {
                                tx.remove(EntryKind::User, &n);
                                Ok(())
                            } else {
                                tx.put(EntryKind::User, &n, Secret::new(v.into_bytes()))
                            }
                        })
                        .expect("edit");
                    say(&format!("ok {name} {effect}\n"));
                }
            });
        }
    });
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .expect("stdout");
}

fn crash_at_random_instants() -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".secrets.cfg");
    let exe = std::env::current_exe().unwrap();
    // Committed state of every name, as the parent has verified it.
    let mut known: HashMap<String, State> = HashMap::new();
    let mut acked_total = 0usize;
    let key_file = dir.path().join(".secrets.cfg.key");
    let mut keys_seen = std::collections::HashSet::new();
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args(["--writer", path.to_str().unwrap(), &kill.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let delay = Duration::from_micros(getrandom::u64().unwrap() % 40_000);
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "kill {kill}: the writer stopped by itself ({status}), not by SIGKILL"
        );
        let stdout = BufReader::new(child.stdout.take().unwrap());
        // Per name: the state after the last acknowledged edit, and the edit
        // in flight when the writer died.
        let mut acked: HashMap<String, State> = HashMap::new();
        let mut in_flight: HashMap<String, State> = HashMap::new();
        for line in stdout.lines() {
            let line = line.unwrap();
            let mut parts = line.split(' ');
            let (Some(word), Some(name), Some(effect)) = (parts.next(), parts.next(), parts.next())
            else {
                continue; // a line cut by the kill
            };
            let state = (effect != "-").then(|| effect.to_owned());
            match word {
                "begin" => {
                    in_flight.insert(name.to_owned(), state);
                }
                "ok" => {
                    in_flight.remove(name);
                    acked.insert(name.to_owned(), state);
                    acked_total += 1;
                }
                _ => {}
            }
        }
        verify(&path, &mut known, &acked, &in_flight, kill);
        if let Ok(key) = std::fs::read(&key_file) {
            keys_seen.insert(key);
        }
    }
    assert!(
        keys_seen.len() >= 3,
        "too few key rotations completed to test them: {} keys",
        keys_seen.len()
    );
    assert!(
        acked_total >= KILLS / 4,
        "the writer committed too rarely to test anything ({acked_total} commits)"
    );
    // Leftover temporary files are cleaned by the next writer.
    let store = SecretsStore::open(&path, KeySource::Default).unwrap();
    store
        .edit(|tx| tx.put(EntryKind::User, "final", Secret::new(b"x".to_vec())))
        .unwrap();
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    (acked_total, keys_seen.len())
}

fn verify(
    path: &Path,
    known: &mut HashMap<String, State>,
    acked: &HashMap<String, State>,
    in_flight: &HashMap<String, State>,
    kill: usize,
) {
    if !path.exists() {
        assert!(
            acked.is_empty() && known.is_empty(),
            "kill {kill}: committed edits but no file"
        );
        return;
    }
    let store = SecretsStore::open(path, KeySource::Default).unwrap();
    let listed = store.list().unwrap_or_else(|e| panic!("kill {kill}: {e}"));
    let mut on_disk: HashMap<String, State> = HashMap::new();
    for entry in listed {
        let secret = store
            .get(entry.kind, &entry.name)
            .unwrap_or_else(|e| panic!("kill {kill}: {e}"));
        let value = String::from_utf8(secret.unwrap().expose_secret().to_vec()).unwrap();
        on_disk.insert(entry.name, Some(value));
    }
    let names: Vec<String> = known
        .keys()
        .chain(acked.keys())
        .chain(in_flight.keys())
        .cloned()
        .collect();
    for name in names {
        let actual = on_disk.get(&name).cloned().flatten();
        let committed = acked.get(&name).or(known.get(&name)).cloned().flatten();
        let allowed_in_flight = in_flight.get(&name);
        let ok = actual == committed || allowed_in_flight == Some(&actual);
        assert!(
            ok,
            "kill {kill}: `{name}` holds {actual:?}; last committed {committed:?}, in flight {allowed_in_flight:?}"
        );
        known.insert(name, actual);
    }
    assert_eq!(
        on_disk.len(),
        known.values().filter(|v| v.is_some()).count(),
        "kill {kill}: unexpected entries"
    );
}
