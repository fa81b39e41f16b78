//! The benchmark binary refuses arguments it cannot honour instead of running
//! another workload than the one asked for (`--count 1e6` once ran the
//! default 5,000,000 records). Each case must fail before any broker starts,
//! so every run here ends at once.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bench(args: &[&str]) -> Output {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokafka-bench"))
        .args(args)
        .output()
        .expect("run ferrokafka-bench");
    // A refused argument is refused while parsing; a benchmark that started
    // instead would take many seconds.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "ferrokafka-bench {args:?} ran for {:?}: it did not refuse its arguments",
        started.elapsed()
    );
    out
}

fn assert_refused(args: &[&str], names: &[&str]) {
    let out = bench(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "ferrokafka-bench {args:?} should exit 2 (usage error), got {:?}; stderr: {stderr}",
        out.status
    );
    assert!(
        out.stdout.is_empty(),
        "ferrokafka-bench {args:?} printed a result: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for name in names {
        assert!(
            stderr.contains(name),
            "ferrokafka-bench {args:?}: stderr does not name {name:?}: {stderr}"
        );
    }
}

#[test]
fn a_count_in_float_notation_is_refused() {
    assert_refused(&["--count", "1e6"], &["1e6", "--count"]);
    assert_refused(&["run", "--count", "1e6"], &["1e6", "--count"]);
    assert_refused(
        &["consume", "--count", "1,000,000"],
        &["1,000,000", "--count"],
    );
}

#[test]
fn unknown_flags_are_refused() {
    assert_refused(&["--cuont", "1000"], &["--cuont"]);
    assert_refused(&["consume", "--no-such-flag"], &["--no-such-flag"]);
    assert_refused(&["tls", "--count", "1000", "--extra"], &["--extra"]);
}

#[test]
fn values_outside_their_sets_are_refused() {
    assert_refused(&["run", "--acks", "2"], &["2", "--acks"]);
    assert_refused(&["run", "--codec", "brotli"], &["brotli", "--codec"]);
    assert_refused(&["serve", "--store", "2"], &["2", "--store"]);
    assert_refused(&["serve", "--broker", "kafka"], &["kafka", "--broker"]);
    assert_refused(&["client", "--mode", "fetch"], &["fetch", "--mode"]);
    assert_refused(&["run", "--size=-1"], &["-1", "--size"]);
}

#[test]
fn a_subcommand_that_does_not_exist_is_refused() {
    assert_refused(&["produce"], &["produce"]);
}

#[test]
fn help_lists_the_options_and_runs_nothing() {
    let out = bench(&["run", "--help"]);
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--count", "--size", "--acks", "--codec", "--linger"] {
        assert!(help.contains(flag), "help lacks {flag}: {help}");
    }
}
