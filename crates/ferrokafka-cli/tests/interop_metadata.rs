//! `ferrokafka metadata` against brokers nobody here wrote: librdkafka's mock
//! cluster and the Tansu broker, cross-checked with kcat; and the failure
//! path of a broker that is not there.

use ferrokafka_peers::{free_port, kcat, run_bounded, RdkafkaMock, Tansu};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Upper bound on any one CLI run here; the commands themselves are expected
/// to take well under a second against a local peer.
const RUN_BOUND: Duration = Duration::from_secs(60);

fn ferrokafka(args: &[&str]) -> Output {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka")).args(args),
        RUN_BOUND,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `ferrokafka metadata -b BOOTSTRAP -J [extra...]` and parses its JSON.
fn metadata_json(bootstrap: &str, extra: &[&str]) -> Value {
    let mut args = vec!["metadata", "-b", bootstrap, "-J"];
    args.extend_from_slice(extra);
    let out = ferrokafka(&args);
    assert!(
        out.status.success(),
        "ferrokafka {args:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "ferrokafka metadata -J printed invalid JSON ({e}):\n{}",
            text(&out.stdout)
        )
    })
}

/// `(id, "host:port")` of every broker in our JSON.
fn brokers(meta: &Value) -> BTreeSet<(i64, String)> {
    meta["brokers"]
        .as_array()
        .unwrap_or_else(|| panic!("no brokers array in {meta}"))
        .iter()
        .map(|b| {
            let id = b["id"]
                .as_i64()
                .unwrap_or_else(|| panic!("broker without id: {b}"));
            let host = b["host"]
                .as_str()
                .unwrap_or_else(|| panic!("broker without host: {b}"));
            let port = b["port"]
                .as_i64()
                .unwrap_or_else(|| panic!("broker without port: {b}"));
            (id, format!("{host}:{port}"))
        })
        .collect()
}

fn topic<'a>(meta: &'a Value, name: &str) -> &'a Value {
    meta["topics"]
        .as_array()
        .unwrap_or_else(|| panic!("no topics array in {meta}"))
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("topic {name} not listed in {meta}"))
}

/// One partition as `(id, leader, replicas, isr)`.
type PartitionView = (i64, i64, Vec<i64>, Vec<i64>);

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array of broker ids, got {v}"))
        .iter()
        .map(|x| {
            x.as_i64()
                .unwrap_or_else(|| panic!("non-integer broker id {x}"))
        })
        .collect()
}

/// `partition -> (leader, replicas, isr)` of one topic in our JSON.
fn partitions(topic: &Value) -> Vec<PartitionView> {
    let mut v: Vec<_> = topic["partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("no partitions array in {topic}"))
        .iter()
        .map(|p| {
            (
                p["id"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("partition without id: {p}")),
                p["leader"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("partition without leader: {p}")),
                ids(&p["replicas"]),
                ids(&p["isr"]),
            )
        })
        .collect();
    v.sort();
    v
}

/// The same view of one topic as kcat (librdkafka) reports it.
fn kcat_partitions(bootstrap: &str, name: &str) -> Option<Vec<PartitionView>> {
    let kcat = kcat()?;
    let out = run_bounded(
        Command::new(kcat).args(["-b", bootstrap, "-L", "-J", "-t", name, "-m", "20"]),
        RUN_BOUND,
    );
    assert!(
        out.status.success(),
        "kcat -L failed: {}",
        text(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("kcat -J prints JSON");
    let t = meta["topics"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["topic"] == name))
        .unwrap_or_else(|| panic!("kcat does not list {name}: {meta}"));
    let list = |v: &Value| -> Vec<i64> {
        v.as_array()
            .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
            .unwrap_or_default()
    };
    let mut v: Vec<_> = t["partitions"]
        .as_array()
        .expect("kcat partitions")
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().expect("kcat partition id"),
                p["leader"].as_i64().expect("kcat leader"),
                list(&p["replicas"]),
                list(&p["isrs"]),
            )
        })
        .collect();
    v.sort();
    Some(v)
}

#[test]
fn metadata_lists_rdkafka_mock_brokers_and_topics() {
    let Some(mock) = RdkafkaMock::start(3, &["interop-meta:5:2", "other:1"]) else {
        return;
    };
    let meta = metadata_json(mock.bootstrap(), &[]);

    // The three brokers, at exactly the addresses the mock listens on.
    let listed = brokers(&meta);
    let listed_ids: BTreeSet<i64> = listed.iter().map(|(id, _)| *id).collect();
    assert_eq!(listed_ids, BTreeSet::from([1, 2, 3]), "{meta}");
    let listed_addrs: BTreeSet<&str> = listed.iter().map(|(_, a)| a.as_str()).collect();
    let mock_addrs: BTreeSet<&str> = mock.bootstrap().split(',').collect();
    assert_eq!(listed_addrs, mock_addrs, "{meta}");

    let parts = partitions(topic(&meta, "interop-meta"));
    assert_eq!(
        parts.iter().map(|p| p.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    for (id, leader, replicas, isr) in &parts {
        assert_eq!(
            replicas.len(),
            2,
            "partition {id}: replication factor 2: {meta}"
        );
        assert!(
            replicas.contains(leader),
            "partition {id}: leader {leader} not a replica"
        );
        assert!(
            listed_ids.contains(leader),
            "partition {id}: unknown leader {leader}"
        );
        assert!(!isr.is_empty(), "partition {id}: empty ISR");
    }
    assert_eq!(partitions(topic(&meta, "other")).len(), 1);

    // librdkafka's own view of the same topic agrees with ours.
    if let Some(theirs) = kcat_partitions(mock.bootstrap(), "interop-meta") {
        assert_eq!(parts, theirs, "ferrokafka and kcat disagree");
    }
}

#[test]
fn metadata_for_one_topic_lists_only_that_topic() {
    let Some(mock) = RdkafkaMock::start(3, &["wanted:2", "unwanted:2"]) else {
        return;
    };
    let meta = metadata_json(mock.bootstrap(), &["-t", "wanted"]);
    let names: Vec<&str> = meta["topics"]
        .as_array()
        .expect("topics array")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, vec!["wanted"], "{meta}");
    assert_eq!(partitions(topic(&meta, "wanted")).len(), 2);
}

#[test]
fn metadata_shows_a_moved_leader() {
    let Some(mut mock) = RdkafkaMock::start(3, &["moving:1:3"]) else {
        return;
    };
    let before = partitions(topic(
        &metadata_json(mock.bootstrap(), &["-t", "moving"]),
        "moving",
    ))[0]
        .1;
    let target = if before == 3 { 1 } else { 3 };
    mock.set_leader("moving", 0, target as i32);
    let after = partitions(topic(
        &metadata_json(mock.bootstrap(), &["-t", "moving"]),
        "moving",
    ))[0]
        .1;
    assert_eq!(after, target, "leader was {before}, moved to {target}");
}

#[test]
fn metadata_tries_every_bootstrap_address() {
    let Some(mock) = RdkafkaMock::start(1, &["reachable:1"]) else {
        return;
    };
    // The first address refuses connections; the second is the mock.
    let bootstrap = format!("127.0.0.1:{},{}", free_port(), mock.bootstrap());
    let meta = metadata_json(&bootstrap, &[]);
    assert_eq!(brokers(&meta).len(), 1, "{meta}");
    topic(&meta, "reachable");
}

#[test]
fn metadata_human_output_names_brokers_and_topics() {
    let Some(mock) = RdkafkaMock::start(3, &["readable:2"]) else {
        return;
    };
    let out = ferrokafka(&["metadata", "-b", mock.bootstrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("readable"), "{shown}");
    for addr in mock.bootstrap().split(',') {
        let port = addr.rsplit(':').next().expect("host:port");
        assert!(
            shown.contains(port),
            "broker port {port} not shown:\n{shown}"
        );
    }
}

#[test]
fn metadata_lists_tansu_broker_and_topic() {
    let Some(tansu) = Tansu::start_with_topics(&["interop-tansu:3"]) else {
        return;
    };
    let meta = metadata_json(tansu.bootstrap(), &[]);
    let listed = brokers(&meta);
    assert_eq!(listed.len(), 1, "Tansu is one broker: {meta}");
    let (broker_id, addr) = listed.iter().next().expect("one broker");
    assert_eq!(addr, tansu.bootstrap(), "{meta}");

    let parts = partitions(topic(&meta, "interop-tansu"));
    assert_eq!(parts.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0, 1, 2]);
    for (id, leader, replicas, _) in &parts {
        assert_eq!(leader, broker_id, "partition {id}");
        assert_eq!(replicas, &vec![*broker_id], "partition {id}");
    }
}

#[test]
fn metadata_from_unreachable_broker_fails_clearly_within_timeout() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let timeout_ms: u64 = 3000;
    let started = Instant::now();
    let out = ferrokafka(&[
        "metadata",
        "-b",
        &addr,
        "-X",
        &format!("socket.timeout.ms={timeout_ms}"),
        "-X",
        &format!("request.timeout.ms={timeout_ms}"),
    ]);
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "exit 0 with nothing listening at {addr}"
    );
    assert!(
        took < Duration::from_millis(timeout_ms) + Duration::from_secs(5),
        "took {took:?}, configured timeout {timeout_ms} ms"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic is not a clear error:\n{stderr}"
    );
    assert!(
        stderr.contains(&addr),
        "the error should name the broker {addr}:\n{stderr}"
    );
}
