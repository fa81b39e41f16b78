//! A bounded stand-in for the cargo-fuzz targets in `/fuzz`, run with the
//! tests: real inputs (record batches made by kafka-python and librdkafka,
//! request frames recorded from both clients) are mutated deterministically
//! and fed to the same fuzz entry points, plus every crash input found so far
//! (`fuzz/regressions/<target>/`). Bounded in count and time; the long runs
//! are `bash fuzz/run.sh` (FUZZING.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every regular file directly inside `dir` (none when it does not exist).
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    v.sort();
    v
}

/// xorshift64*: deterministic, so a failure replays with the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One to four mutations of the kinds that break length prefixes, counts,
/// varints and checksums.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(7) {
            0 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] ^= 1 << rng.below(8);
            }
            1 if !d.is_empty() => {
                let i = rng.below(d.len());
                d[i] = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe][rng.below(6)];
            }
            2 if d.len() >= 4 => {
                // A 32-bit field set to an extreme: lengths and counts.
                let i = rng.below(d.len() - 3);
                let v: i32 = [i32::MAX, i32::MIN, -1, 0, 0x7fff_fff0, 65_536][rng.below(6)];
                d[i..i + 4].copy_from_slice(&v.to_be_bytes());
            }
            3 => d.truncate(rng.below(d.len() + 1)),
            4 if !d.is_empty() => {
                let start = rng.below(d.len());
                let end = (start + 1 + rng.below(16)).min(d.len());
                d.drain(start..end);
            }
            5 => {
                let at = rng.below(d.len() + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(at..at, bytes);
            }
            _ if !other.is_empty() => {
                // Splice in a piece of another real input.
                let at = rng.below(d.len() + 1);
                let from = rng.below(other.len());
                let to = (from + 1 + rng.below(64)).min(other.len());
                d.splice(at..at, other[from..to].iter().copied());
            }
            _ => {}
        }
    }
    d
}

/// Feeds every seed unchanged, then mutated inputs until `max_inputs` or
/// `budget` is reached; returns how many inputs ran.
fn smoke(seeds: &[Vec<u8>], max_inputs: usize, budget: Duration, run: impl Fn(&[u8])) -> usize {
    assert!(!seeds.is_empty(), "no seed inputs found");
    let started = Instant::now();
    for s in seeds {
        run(s);
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut n = seeds.len();
    while n < max_inputs && started.elapsed() < budget {
        let seed = &seeds[rng.below(seeds.len())];
        let other = &seeds[rng.below(seeds.len())];
        run(&mutate(&mut rng, seed, other));
        n += 1;
    }
    n
}

fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files(&repo().join("fuzz/regressions").join(target))
}

#[test]
fn record_batch_decoder_survives_mutated_fixtures() {
    let seeds: Vec<Vec<u8>> = files(&repo().join("crates/ferrokafka/tests/fixtures/records"))
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "bin"))
        .map(|(_, b)| b)
        .collect();
    let n = smoke(&seeds, 100_000, Duration::from_secs(20), |d| {
        ferrokafka::record::fuzzing::fuzz_decode(d)
    });
    eprintln!("record_batch: {n} inputs from {} fixtures", seeds.len());
}

#[test]
fn record_batch_decoder_survives_known_crash_inputs() {
    for (path, data) in regressions("record_batch") {
        eprintln!("replaying {}", path.display());
        ferrokafka::record::fuzzing::fuzz_decode(&data);
    }
}

#[test]
fn mock_request_handling_survives_mutated_client_requests() {
    let seeds = seeds("fuzz/seeds/requests");
    let n = smoke(
        &seeds,
        3_000,
        Duration::from_secs(20),
        ferrokafka_mock::fuzz_handle_frame,
    );
    eprintln!(
        "mock_request: {n} inputs from {} recorded requests",
        seeds.len()
    );
}

#[test]
fn mock_request_handling_survives_known_crash_inputs() {
    for (path, data) in regressions("mock_request") {
        eprintln!("replaying {}", path.display());
        ferrokafka_mock::fuzz_handle_frame(&data);
    }
}

fn seeds(dir: &str) -> Vec<Vec<u8>> {
    files(&repo().join(dir))
        .into_iter()
        .map(|(_, b)| b)
        .collect()
}

#[test]
fn frame_reader_survives_mutated_response_streams() {
    let seeds = seeds("fuzz/seeds/frames");
    let n = smoke(&seeds, 100_000, Duration::from_secs(20), |d| {
        let frames = ferrokafka::net::fuzzing::fuzz_frames(d);
        // Every frame costs at least its 4-byte prefix and 4-byte correlation id.
        assert!(
            frames <= d.len() / 8,
            "{frames} frames from {} bytes",
            d.len()
        );
    });
    eprintln!(
        "frame_reader: {n} inputs from {} recorded streams",
        seeds.len()
    );
}

#[test]
fn response_decoders_survive_mutated_responses() {
    let seeds = seeds("fuzz/seeds/responses");
    let n = smoke(
        &seeds,
        20_000,
        Duration::from_secs(20),
        ferrokafka::net::fuzzing::fuzz_responses,
    );
    eprintln!(
        "response_decode: {n} inputs from {} recorded responses",
        seeds.len()
    );
}

#[test]
fn every_response_family_survives_mutated_responses() {
    let seeds = seeds("fuzz/seeds/any_responses");
    assert!(seeds.len() > 100, "fuzz/seeds/any_responses is missing");
    let n = smoke(
        &seeds,
        50_000,
        Duration::from_secs(20),
        ferrokafka::net::fuzzing::fuzz_any_response,
    );
    eprintln!(
        "any_response: {n} inputs from {} encoded responses",
        seeds.len()
    );
}

#[test]
fn client_decoders_survive_known_crash_inputs() {
    for (path, data) in regressions("frame_reader") {
        eprintln!("replaying {}", path.display());
        ferrokafka::net::fuzzing::fuzz_frames(&data);
    }
    for (path, data) in regressions("response_decode") {
        eprintln!("replaying {}", path.display());
        ferrokafka::net::fuzzing::fuzz_responses(&data);
    }
    for (path, data) in regressions("any_response") {
        eprintln!("replaying {}", path.display());
        ferrokafka::net::fuzzing::fuzz_any_response(&data);
    }
}

#[test]
fn mutations_are_deterministic_and_varied() {
    let seed = b"0123456789abcdef".to_vec();
    let run = |s: u64| {
        let mut rng = Rng(s);
        (0..50)
            .map(|_| mutate(&mut rng, &seed, b"xyz"))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(7), run(7));
    let distinct: std::collections::BTreeSet<_> = run(7).into_iter().collect();
    assert!(
        distinct.len() > 40,
        "only {} distinct mutants of 50",
        distinct.len()
    );
}
