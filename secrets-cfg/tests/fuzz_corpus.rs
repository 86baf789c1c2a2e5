//! Runs the cargo-fuzz check (`fuzz/check.rs`) over the committed seeds in
//! `fuzz/seeds/libconfig_parse` and the sample `primus.cfg` every crate's
//! tests share (primus-core's `tests/testdata/libconfig/primus.cfg`), and over
//! every prefix of each, so CI exercises the fuzz entry point without a fuzzer.

#[path = "../fuzz/check.rs"]
mod check;

#[test]
fn seed_corpus_and_its_prefixes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/libconfig_parse");
    let shared_sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../primus-core/tests/testdata/libconfig/primus.cfg");
    let mut seeds = 0;
    let paths = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .chain([shared_sample]);
    for path in paths {
        let data = std::fs::read(path).unwrap();
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
