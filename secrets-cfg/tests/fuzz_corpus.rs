//! Runs the cargo-fuzz check (`fuzz/check.rs`) over the committed seeds in
//! `fuzz/seeds/libconfig_parse`, and over every prefix of each seed, so CI
//! exercises the fuzz entry point without a fuzzer.

#[path = "../fuzz/check.rs"]
mod check;

#[test]
fn seed_corpus_and_its_prefixes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/libconfig_parse");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        for end in 0..=data.len() {
            check::check(&data[..end]);
        }
        seeds += 1;
    }
    assert!(
        seeds >= 8,
        "seed corpus missing: {seeds} files in {}",
        dir.display()
    );
}
