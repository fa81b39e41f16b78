//! The Python package's kafka-python API tests (`python/tests`) on Apache
//! Kafka 4.4: the same pytest module that runs against ferrokafka-mock in
//! scripts/test.sh runs here against a real broker, once importing
//! kafka-python and once importing ferrokafka, so both clients' observable
//! results (metadata fields, key partitions, callbacks, errors, records read
//! back with headers and timestamps) are compared on the reference broker.
//! Tests that need the mock's fault controls skip themselves there
//! (conftest.py's `ExternalBroker`).
//!
//! Needs the venv's pytest and kafka-python and the installed ferrokafka
//! package (scripts/test.sh's `python_package` step installs it before the
//! Rust tests run).

use ferrokafka_peers::{python_with, run_bounded, ApacheKafka};
use std::path::Path;
use std::time::Duration;

#[test]
fn kafka_python_api_tests_pass_on_apache_kafka() {
    let Some(py) = python_with(&["pytest", "kafka", "ferrokafka._ferrokafka"]) else {
        return;
    };
    let Some(kafka) = ApacheKafka::start() else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // From the root, so `import ferrokafka` finds the installed package and
    // not the source folder python/ferrokafka (which lacks the native part).
    let out = run_bounded(
        py.command()
            .args(["-m", "pytest", "python/tests", "-q", "-rs"])
            .args(["-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"])
            .current_dir(&root)
            .env("FERROKAFKA_TEST_BOOTSTRAP", kafka.listeners(1).plaintext),
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest on Apache Kafka failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Most of the module must have run, not skipped: the fault-control
    // tests are the only ones allowed to skip.
    let summary = stdout.lines().last().unwrap_or("");
    let count = |word: &str| -> usize {
        summary
            .split(',')
            .find_map(|part| {
                let part = part.trim().trim_matches('=').trim();
                part.strip_suffix(word)
                    .and_then(|n| n.split_whitespace().last()?.parse().ok())
            })
            .unwrap_or(0)
    };
    let (passed, skipped) = (count("passed"), count("skipped"));
    eprintln!("pytest on Apache Kafka: {summary}");
    assert!(
        passed >= 30 && skipped <= 6,
        "too few tests ran on Apache Kafka: {summary}\n{stdout}"
    );
}
