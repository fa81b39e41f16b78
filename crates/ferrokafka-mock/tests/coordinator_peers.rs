//! Third-party clients use the mock's group and transaction coordinator:
//! the Python scripts in `tests/peers/` (librdkafka through confluent-kafka,
//! and kafka-python) run against a 3-broker mock and exit 0 only when every
//! check passed.
//!
//! Without the project venv the tests print why and skip, unless
//! `FERROKAFKA_REQUIRE_PEERS=1` (CI), where a missing peer fails them.
//! The same scripts run by hand against `ferrokafka mock`:
//! `.venv/bin/python tests/peers/groups_confluent.py <BOOTSTRAP>`.

use std::process::Command;
use std::time::Duration;

use ferrokafka_mock::MockCluster;

mod peer_script;
use peer_script::run_script;

#[test]
fn confluent_kafka_consumer_group_commits_and_reads_back() {
    run_script("groups_confluent.py", &["confluent_kafka"]);
}

#[test]
fn kafka_python_consumer_group_commits_and_reads_back() {
    run_script("groups_kafka_python.py", &["kafka"]);
}

#[test]
fn confluent_kafka_transactions_visible_to_read_committed_only_after_commit() {
    run_script("txn_confluent.py", &["confluent_kafka"]);
}

#[test]
fn kafka_python_transactions_visible_to_read_committed_only_after_commit() {
    run_script("txn_kafka_python.py", &["kafka"]);
}

/// kcat (librdkafka 2.0 from Debian) as a balanced consumer: the first run
/// of a group reads everything and commits on close; a second run of the
/// same group starts at the committed offsets and reads nothing.
#[test]
fn kcat_balanced_consumer_commits_and_resumes() {
    let Some(kcat) = ferrokafka_peers::kcat() else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(3)
        .build_blocking()
        .expect("mock cluster starts");
    cluster.create_topic("kc", 2, 1).expect("topic created");
    let bootstrap = cluster.bootstrap_servers();
    let lines: String = (0..20).map(|i| format!("line-{i}\n")).collect();
    let produced = ferrokafka_peers::run_bounded_with_input(
        Command::new(&kcat).args(["-b", &bootstrap, "-P", "-t", "kc"]),
        lines.as_bytes(),
        Duration::from_secs(30),
    );
    assert!(
        produced.status.success(),
        "kcat -P: {}",
        String::from_utf8_lossy(&produced.stderr)
    );
    let consume = || {
        let out = ferrokafka_peers::run_bounded(
            Command::new(&kcat).args([
                "-b",
                &bootstrap,
                "-G",
                "kcat-group",
                // Not `-o beginning`: with -G, kcat applies it over the
                // committed offsets.
                "-X",
                "auto.offset.reset=earliest",
                "-e",
                "-f",
                "%s\n",
                "kc",
            ]),
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "kcat -G: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        got.sort();
        got
    };
    let mut want: Vec<String> = (0..20).map(|i| format!("line-{i}")).collect();
    want.sort();
    assert_eq!(consume(), want, "first run reads every record");
    assert!(
        consume().is_empty(),
        "second run resumes at the committed offsets"
    );
}
