//! The harness itself, checked against the real peers: each peer starts,
//! answers a third-party client, obeys fault commands, and stops on drop.

use ferrokafka_peers::{kcat, python_with, run_bounded, RdkafkaMock, Tansu};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

#[test]
fn rdkafka_mock_serves_kcat_and_obeys_commands() {
    let Some(mut mock) = RdkafkaMock::start(3, &["harness:3:2"]) else {
        return;
    };
    assert_eq!(
        mock.bootstrap().split(',').count(),
        3,
        "one address per broker: {}",
        mock.bootstrap()
    );

    mock.create_topic("second", 2, 1);
    mock.set_leader("harness", 0, 3);
    mock.set_rtt(2, 5);
    mock.push_errors(0, &[6, 6]);
    mock.broker_down(2);
    mock.broker_up(2);
    let err = mock
        .command("nonsense 1")
        .expect_err("unknown command is refused");
    assert!(err.starts_with("ERR"), "{err}");

    let Some(kcat) = kcat() else { return };
    let out = run_bounded(
        Command::new(kcat).args(["-b", mock.bootstrap(), "-L", "-J"]),
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "kcat -L: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"harness\"") && text.contains("\"second\""),
        "{text}"
    );
    // The leader move shows: partition 0 of `harness` is led by broker 3.
    assert!(
        text.contains(r#""partition":0, "leader":3"#)
            || text.contains(r#""partition":0,"leader":3"#),
        "{text}"
    );
}

#[test]
fn rdkafka_mock_records_requests() {
    let Some(mut mock) = RdkafkaMock::start(1, &[]) else {
        return;
    };
    mock.track_requests();
    let first = mock.bootstrap().split(',').next().unwrap().to_owned();
    let Some(py) = python_with(&["confluent_kafka"]) else {
        return;
    };
    py.run_ok(
        "import sys; from confluent_kafka.admin import AdminClient; \
         AdminClient({'bootstrap.servers': sys.argv[1]}).list_topics(timeout=10)",
        &[&first],
    );
    let seen = mock.requests();
    // 18 = ApiVersions, 3 = Metadata.
    assert!(seen.iter().any(|&(b, k)| b == 1 && k == 3), "{seen:?}");
}

#[test]
fn dropping_the_mock_closes_its_ports() {
    let Some(mock) = RdkafkaMock::start(1, &[]) else {
        return;
    };
    let addr = mock.bootstrap().to_owned();
    TcpStream::connect(&addr).expect("mock accepts while running");
    drop(mock);
    assert!(
        TcpStream::connect(&addr).is_err(),
        "{addr} still accepting after drop"
    );
}

#[test]
fn tansu_starts_creates_topics_and_stops() {
    let Some(tansu) = Tansu::start_with_topics(&["harness:3"]) else {
        return;
    };
    let Some(py) = python_with(&["kafka"]) else {
        return;
    };
    let out = py.run_ok(
        "import sys; from kafka.admin import KafkaAdminClient; \
         a = KafkaAdminClient(bootstrap_servers=sys.argv[1]); \
         print(len(a.describe_topics(['harness'])[0]['partitions']))",
        &[tansu.bootstrap()],
    );
    assert_eq!(out.trim(), "3");
    let addr = tansu.bootstrap().to_owned();
    drop(tansu);
    assert!(
        TcpStream::connect(&addr).is_err(),
        "{addr} still accepting after drop"
    );
}
