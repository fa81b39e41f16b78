//! `ferrokafka consume -J` reading records that clients nobody here wrote
//! produced (librdkafka through confluent-kafka, kafka-python), with every
//! codec, headers, null keys and null values, from brokers nobody here
//! wrote (librdkafka's mock cluster, Tansu); on librdkafka's mock the output
//! is also compared line for line with kcat's. And kcat against our own
//! mock cluster: the same bytes out of `kcat -C -J` and `ferrokafka consume -J`.

use ferrokafka_peers::{kcat, python_with, run_bounded, RdkafkaMock, Tansu};
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

const RUN_BOUND: Duration = Duration::from_secs(60);
const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
const PARTITIONS: i32 = 2;
const RECORDS: usize = 24;

/// Produces RECORDS records to `topic` and prints, per record, the JSON
/// of what was sent: partition, key, payload, headers (null for null).
const PRODUCE: &str = r#"
import json, sys
client, bootstrap, topic, codec, n, parts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
def rec(i):
    key = None if i % 4 == 1 else ("k%d" % i)
    value = None if (i % 5 == 2 and key is not None) else ('v%d "q" \\ é %s %s' % (i, codec, "x" * (i * 7)))
    headers = [("h1", ("a%d" % i).encode()), ("h2", b"")] if i % 3 == 0 else []
    return i % parts, key, value, headers
out = []
if client == "confluent":
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "compression.codec": codec, "linger.ms": 5})
    for i in range(n):
        part, key, value, headers = rec(i)
        p.produce(topic, value=None if value is None else value.encode(), key=None if key is None else key.encode(), partition=part, headers=headers or None)
    assert p.flush(30) == 0, "confluent-kafka did not deliver everything"
else:
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=None if codec == "none" else codec, linger_ms=5)
    futs = []
    for i in range(n):
        part, key, value, headers = rec(i)
        futs.append(p.send(topic, value=None if value is None else value.encode(), key=None if key is None else key.encode(), partition=part, headers=headers))
    p.flush(30)
    for f in futs:
        f.get(timeout=30)
    p.close()
for i in range(n):
    part, key, value, headers = rec(i)
    h = []
    for k, v in headers:
        h += [k, v.decode()]
    print(json.dumps({"partition": part, "key": key, "payload": value, "headers": h}, ensure_ascii=False))
"#;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    out.stdout
}

fn consume_json(bootstrap: &str, topic: &str) -> Vec<u8> {
    ok(
        run_bounded(
            Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
                .args(["consume", "-b", bootstrap, "-t", topic, "-e", "-J", "-q"]),
            RUN_BOUND,
        ),
        "ferrokafka consume",
    )
}

/// `(partition, key, payload, headers)` per line, in the order printed
/// within each partition.
fn records(lines: &[u8]) -> Vec<Vec<(Value, Value, Value)>> {
    let mut per = vec![Vec::new(); PARTITIONS as usize];
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("bad JSON line ({e}): {}", text(line)));
        let p = v["partition"].as_i64().expect("partition") as usize;
        let headers = v.get("headers").cloned().unwrap_or(Value::Array(vec![]));
        per[p].push((v["key"].clone(), v["payload"].clone(), headers));
    }
    per
}

/// Produces with `client` and checks that `ferrokafka consume -J` reads
/// back exactly what was sent, in order per partition.
fn round_trip(
    py: &ferrokafka_peers::Python,
    client: &str,
    bootstrap: &str,
    topic: &str,
    codec: &str,
) -> Vec<u8> {
    let sent = py.run_ok(
        PRODUCE,
        &[
            client,
            bootstrap,
            topic,
            codec,
            &RECORDS.to_string(),
            &PARTITIONS.to_string(),
        ],
    );
    let got = consume_json(bootstrap, topic);
    let want = records(sent.as_bytes());
    let have = records(&got);
    assert_eq!(
        have, want,
        "{client} {codec}: records read back differ from those sent"
    );
    got
}

fn kcat_json(bootstrap: &str, topic: &str) -> Option<Vec<u8>> {
    let kcat = kcat()?;
    Some(ok(
        run_bounded(
            Command::new(kcat).args(["-C", "-b", bootstrap, "-t", topic, "-e", "-J", "-q"]),
            RUN_BOUND,
        ),
        "kcat -C",
    ))
}

fn sorted_lines(b: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = b
        .split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    v.sort();
    v
}

#[test]
fn librdkafka_records_from_librdkafka_mock() {
    let Some(py) = python_with(&["confluent_kafka"]) else {
        return;
    };
    let topics: Vec<String> = CODECS
        .iter()
        .map(|c| format!("rd-{c}:{PARTITIONS}"))
        .collect();
    let specs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let Some(mock) = RdkafkaMock::start(1, &specs) else {
        return;
    };
    for codec in CODECS {
        let topic = format!("rd-{codec}");
        let ours = round_trip(&py, "confluent", mock.bootstrap(), &topic, codec);
        if let Some(theirs) = kcat_json(mock.bootstrap(), &topic) {
            assert_eq!(
                sorted_lines(&ours),
                sorted_lines(&theirs),
                "{codec}: ferrokafka consume -J and kcat -J print different lines"
            );
        }
    }
}

#[test]
fn librdkafka_and_kafka_python_records_from_tansu() {
    let Some(py) = python_with(&["confluent_kafka", "kafka", "lz4", "snappy", "zstandard"]) else {
        return;
    };
    let mut topics = Vec::new();
    for client in ["confluent", "kafkapy"] {
        for codec in CODECS {
            topics.push(format!("{client}-{codec}:{PARTITIONS}"));
        }
    }
    let specs: Vec<&str> = topics.iter().map(String::as_str).collect();
    let Some(tansu) = Tansu::start_with_topics(&specs) else {
        return;
    };
    for client in ["confluent", "kafkapy"] {
        for codec in CODECS {
            let topic = format!("{client}-{codec}");
            let who = if client == "confluent" {
                "confluent"
            } else {
                "kafka-python"
            };
            round_trip(&py, who, tansu.bootstrap(), &topic, codec);
        }
    }
}

#[test]
fn kcat_and_ferrokafka_print_the_same_json_from_our_mock() {
    let Some(py) = python_with(&["confluent_kafka"]) else {
        return;
    };
    let Some(_) = kcat() else { return };
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(2)
        .topic("ours", PARTITIONS, 2)
        .build_blocking()
        .expect("mock cluster");
    let ours = round_trip(
        &py,
        "confluent",
        &cluster.bootstrap_servers(),
        "ours",
        "lz4",
    );
    let theirs = kcat_json(&cluster.bootstrap_servers(), "ours").expect("kcat present");
    assert_eq!(sorted_lines(&ours), sorted_lines(&theirs));
}
