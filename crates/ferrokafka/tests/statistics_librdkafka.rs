//! librdkafka (confluent-kafka's `stats_cb`) and ferrokafka run the same
//! workload against the mock cluster, a producer and a group consumer,
//! and their statistics JSON are compared by field names: ferrokafka
//! emits no field librdkafka lacks, and the fields librdkafka has that
//! ferrokafka does not are exactly the ones STATISTICS.md lists.

use ferrokafka::consumer::Consumer;
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The paths of every field, with map keys (broker names, topics,
/// partitions, request names) replaced by `*`.
fn paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(obj) = v.as_object() else { return };
    let maps = ["brokers", "topics", "partitions", "toppars", "req"];
    let is_map = maps
        .iter()
        .any(|m| prefix.ends_with(&format!(".{m}")) || prefix == *m);
    for (k, child) in obj {
        let key = if is_map { "*" } else { k.as_str() };
        let path = if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        };
        if is_map && key == "*" && prefix.ends_with("req") {
            // Request counters: names differ by what each client sent.
            out.insert(path);
            continue;
        }
        out.insert(path.clone());
        paths(child, &path, out);
    }
}

/// librdkafka's fields ferrokafka does not emit, as STATISTICS.md lists
/// them (kept in step by this test).
const LACKED: &[&str] = &[];

const SCRIPT: &str = r#"
import json, sys, time
from confluent_kafka import Producer, Consumer
bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
stats = []
p = Producer({"bootstrap.servers": bootstrap, "statistics.interval.ms": 100,
              "enable.idempotence": True, "stats_cb": lambda s: stats.append(s)})
for i in range(10):
    p.produce(topic, value=("record-%d" % i).encode())
p.flush(10)
deadline = time.time() + 10
n = len(stats)
while len(stats) < n + 2 and time.time() < deadline:
    p.poll(0.1)
produced = json.loads(stats[-1])
cstats = []
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "statistics.interval.ms": 100, "stats_cb": lambda s: cstats.append(s)})
c.subscribe([topic])
got = 0
deadline = time.time() + 30
while got < 4 and time.time() < deadline:
    m = c.poll(0.2)
    if m is not None and m.error() is None:
        got += 1
        if got == 3:
            c.commit(message=m, asynchronous=False)
n = len(cstats)
while len(cstats) < n + 3 and time.time() < deadline:
    c.poll(0.1)
consumed = json.loads(cstats[-1])
c.close()
print(json.dumps({"producer": produced, "consumer": consumed}))
"#;

#[test]
fn field_names_match_librdkafkas_for_the_same_workload() {
    let Some(py) = ferrokafka_peers::python_with(&["confluent_kafka"]) else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("peer", 1, 1)
        .topic("ours", 1, 1)
        .build_blocking()
        .unwrap();
    let out = py.run_ok(SCRIPT, &[&cluster.bootstrap_servers(), "peer", "g-peer"]);
    let theirs: Value = serde_json::from_str(out.trim()).expect("the script's JSON");

    // The same workload with ferrokafka.
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("enable.idempotence", "true"),
    )
    .unwrap();
    for i in 0..10 {
        let _d = p
            .send(ProducerRecord::new("ours").value(format!("record-{i}")))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let produced = serde_json::to_value(p.stats()).unwrap();
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "g-ours")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false"),
    )
    .unwrap();
    c.subscribe(&["ours"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut got = 0;
    while got < 4 {
        assert!(Instant::now() < deadline, "4 records within 30 s");
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            got += 1;
            if got == 3 {
                c.commit_message_blocking(&m).unwrap();
            }
        }
    }
    let consumed = serde_json::to_value(c.stats()).unwrap();
    c.close_blocking(Duration::from_secs(10)).unwrap();

    let mut lacked = BTreeSet::new();
    let mut invented = BTreeSet::new();
    for (role, ours) in [("producer", &produced), ("consumer", &consumed)] {
        let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
        paths(ours, "", &mut a);
        paths(&theirs[role], "", &mut b);
        eprintln!(
            "{role}: {} field paths from librdkafka, {} from ferrokafka",
            b.len(),
            a.len()
        );
        // librdkafka emitted real statistics: brokers with windows,
        // partitions, and for the consumer the group.
        for p in [
            "brokers.*.rtt.p99",
            "topics.*.partitions.*.consumer_lag",
            "eos.producer_id",
        ] {
            if role == "producer" || !p.starts_with("eos") {
                assert!(b.contains(p), "{role}: librdkafka has no {p}");
            }
        }
        if role == "consumer" {
            assert!(b.contains("cgrp.rebalance_cnt"));
        }
        invented.extend(a.difference(&b).map(|p| format!("{role}: {p}")));
        lacked.extend(b.difference(&a).cloned());
    }
    assert!(
        invented.is_empty(),
        "fields librdkafka does not have:\n{}",
        invented.into_iter().collect::<Vec<_>>().join("\n")
    );
    let documented: BTreeSet<String> = LACKED.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        lacked,
        documented,
        "librdkafka's fields ferrokafka lacks (update LACKED and STATISTICS.md):\n{}",
        lacked.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}
