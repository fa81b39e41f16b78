//! `ferrokafka produce` against brokers nobody here wrote (librdkafka's mock
//! cluster, Tansu), read back by clients nobody here wrote (librdkafka
//! through confluent-kafka, kafka-python): every codec and acks value,
//! complete and in per-partition order, keyed records on the partition the
//! other client's partitioner would pick.

use ferrokafka_peers::{
    python_with, run_bounded, run_bounded_with_input, Python, RdkafkaMock, Tansu,
};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const RUN_BOUND: Duration = Duration::from_secs(90);
const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
const RECORDS: usize = 60;
const PARTITIONS: i64 = 4;

/// Reads every record of the given topics from the beginning and prints one
/// JSON line per record: topic, partition, offset, key, value. Also prints,
/// per key, the partition the client's own partitioner would choose.
const READ: &str = r#"
import json, sys, zlib, time
client, bootstrap, expect = sys.argv[1], sys.argv[2], int(sys.argv[3])
topics = sys.argv[4:]
got = []
deadline = time.time() + 60
if client == "confluent":
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-reader", "enable.auto.commit": False})
    c.assign([TopicPartition(t, p, 0) for t in topics for p in range(4)])
    while len(got) < expect and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        got.append((m.topic(), m.partition(), m.offset(), m.key(), m.value()))
    c.close()
else:
    from kafka import KafkaConsumer, TopicPartition
    c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    c.assign([TopicPartition(t, p) for t in topics for p in range(4)])
    c.seek_to_beginning()
    while len(got) < expect and time.time() < deadline:
        for tp, msgs in c.poll(timeout_ms=500).items():
            for m in msgs:
                got.append((m.topic, m.partition, m.offset, m.key, m.value))
    c.close()
for t, p, o, k, v in got:
    print(json.dumps({"topic": t, "partition": p, "offset": o,
                      "key": None if k is None else k.decode(), "value": None if v is None else v.decode()}))
from kafka.partitioner.default import murmur2
for i in range(8):
    k = ("k%d" % i).encode()
    print(json.dumps({"key": k.decode(), "crc32": zlib.crc32(k) % 4, "murmur2": (murmur2(k) & 0x7fffffff) % 4}))
"#;

fn input() -> Vec<u8> {
    (0..RECORDS)
        .map(|i| format!("k{}:{i}\n", i % 8))
        .collect::<String>()
        .into_bytes()
}

fn produce(bootstrap: &str, topic: &str, codec: &str, acks: &str, partitioner: &str) {
    let out = run_bounded_with_input(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
            .args([
                "produce", "-b", bootstrap, "-t", topic, "-K", ":", "-z", codec,
            ])
            .args([
                "-X",
                &format!("acks={acks}"),
                "-X",
                &format!("partitioner={partitioner}"),
            ]),
        &input(),
        RUN_BOUND,
    );
    assert!(
        out.status.success(),
        "ferrokafka produce {topic} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks completeness, order per partition and placement of keyed records.
fn check(py: &Python, client: &str, bootstrap: &str, topics: &[String], placement: &str) {
    let mut args = vec![client, bootstrap];
    let expect = (RECORDS * topics.len()).to_string();
    args.push(&expect);
    args.extend(topics.iter().map(String::as_str));
    let out = run_bounded(py.command().arg("-c").arg(READ).args(&args), RUN_BOUND);
    assert!(
        out.status.success(),
        "{client} reader: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let want_partition = |key: &str| -> i64 {
        lines
            .iter()
            .find(|l| l.get("crc32").is_some() && l["key"] == key)
            .map(|l| l[placement].as_i64().unwrap())
            .unwrap()
    };
    for topic in topics {
        let recs: Vec<&Value> = lines
            .iter()
            .filter(|l| l["topic"] == topic.as_str())
            .collect();
        assert_eq!(recs.len(), RECORDS, "{client} read {topic}: every record");
        for p in 0..PARTITIONS {
            let values: Vec<i64> = recs
                .iter()
                .filter(|r| r["partition"] == p)
                .map(|r| r["value"].as_str().unwrap().parse().unwrap())
                .collect();
            let mut sorted = values.clone();
            sorted.sort();
            assert_eq!(
                values, sorted,
                "{client} read {topic} [{p}]: production order"
            );
        }
        for r in recs {
            let key = r["key"].as_str().unwrap();
            assert_eq!(
                r["partition"].as_i64().unwrap(),
                want_partition(key),
                "{topic}: key {key} placed by {placement}"
            );
        }
    }
}

#[test]
fn produce_to_librdkafka_mock_read_by_librdkafka_with_consistent_random() {
    let Some(py) = python_with(&["confluent_kafka", "kafka"]) else {
        return;
    };
    let topics: Vec<String> = CODECS
        .iter()
        .flat_map(|c| {
            ["0", "1", "all"].map(|a| format!("rdk-{c}-{}", if a == "all" { "all" } else { a }))
        })
        .collect();
    let specs: Vec<String> = topics.iter().map(|t| format!("{t}:4")).collect();
    let spec_refs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let Some(mock) = RdkafkaMock::start(3, &spec_refs) else {
        return;
    };
    for codec in CODECS {
        for acks in ["0", "1", "all"] {
            produce(
                mock.bootstrap(),
                &format!("rdk-{codec}-{acks}"),
                codec,
                acks,
                "consistent_random",
            );
        }
    }
    check(&py, "confluent", mock.bootstrap(), &topics, "crc32");
}

#[test]
fn produce_to_tansu_read_by_kafka_python_with_murmur2_random() {
    let Some(py) = python_with(&["kafka"]) else {
        return;
    };
    let topics: Vec<String> = CODECS.iter().map(|c| format!("tansu-{c}")).collect();
    let specs: Vec<String> = topics.iter().map(|t| format!("{t}:4")).collect();
    let spec_refs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let Some(tansu) = Tansu::start_with_topics(&spec_refs) else {
        return;
    };
    for codec in CODECS {
        produce(
            tansu.bootstrap(),
            &format!("tansu-{codec}"),
            codec,
            "all",
            "murmur2_random",
        );
    }
    check(&py, "kafka-python", tansu.bootstrap(), &topics, "murmur2");
}

#[test]
fn faults_on_librdkafka_mock_lose_and_reorder_nothing_with_one_in_flight() {
    use std::io::Write;
    use std::process::Stdio;
    let Some(py) = python_with(&["confluent_kafka", "kafka"]) else {
        return;
    };
    let Some(mut mock) = RdkafkaMock::start(3, &["faults:4:3"]) else {
        return;
    };
    // NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS,
    // LEADER_NOT_AVAILABLE on the next Produce requests.
    mock.push_errors(0, &[6, 7, 19, 5, 6]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .args(["produce", "-b", mock.bootstrap(), "-t", "faults", "-K", ":"])
        .args([
            "-X",
            "max.in.flight=1",
            "-X",
            "retry.backoff.ms=20",
            "-X",
            "linger.ms=1",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let all = input();
    let half = all.len() / 2;
    let cut = all[..half].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    stdin.write_all(&all[..cut]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    mock.set_leader("faults", 0, 2);
    mock.set_leader("faults", 1, 3);
    mock.push_errors(0, &[6, 6]);
    stdin.write_all(&all[cut..]).unwrap();
    drop(stdin);
    let deadline = std::time::Instant::now() + RUN_BOUND;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ferrokafka produce did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "ferrokafka produce failed: {err}");
    check(
        &py,
        "confluent",
        mock.bootstrap(),
        &["faults".to_string()],
        "crc32",
    );
}
