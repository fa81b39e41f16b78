//! ferrokafka against Apache Kafka itself (one combined KRaft node, started
//! once for this binary by `ferrokafka_peers::ApacheKafka::start`), with
//! Java's own tools and librdkafka / kafka-python as the other side:
//! produce with every codec, acks and idempotence read back by Java's
//! ConsoleConsumer and librdkafka; records others wrote (null keys and
//! values, headers, CreateTime and LogAppendTime) read byte for byte;
//! offsets_for_times, watermarks and fetch sessions; classic groups shared
//! with Java's VerifiableConsumer; read_committed over transactions Java's
//! TransactionalMessageCopier committed and aborted. Also checks once that
//! every listener and SASL mechanism of the peer works (with librdkafka and
//! a Java tool), as the client itself has no TLS/SASL yet.

use ferrokafka::consumer::{Consumer, Offset, Timestamp};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_peers::{python_with, ApacheKafka, Python};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::timeout;

const TOOL_BOUND: Duration = Duration::from_secs(120);

/// The shared node and the peers' Python (librdkafka, kafka-python), or
/// `None` after the skip line when either is missing.
fn peers() -> Option<(&'static ApacheKafka, Python)> {
    let kafka = ApacheKafka::start()?;
    let py = python_with(&["confluent_kafka", "kafka"])?;
    Some((kafka, py))
}

fn producer(kafka: &ApacheKafka, extra: &[(&str, &str)]) -> Producer {
    let mut c = ClientConfig::new()
        .set("bootstrap.servers", kafka.bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000");
    for (k, v) in extra {
        c = c.set(*k, *v);
    }
    Producer::new(&c).unwrap_or_else(|e| panic!("producer {extra:?}: {e}"))
}

fn flush(p: Producer) {
    p.flush(Duration::from_secs(30)).expect("flush within 30 s");
}

/// One record as every reader reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rec {
    partition: i64,
    key: Option<String>,
    value: Option<String>,
    headers: Vec<(String, Option<String>)>,
    timestamp: i64,
}

// ---------------------------------------------------------------------------
// The peer's listeners (no ferrokafka involved: the client has no TLS/SASL).

#[test]
fn every_listener_and_sasl_mechanism_of_the_peer_accepts_clients() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    const SCRIPT: &str = r#"
import sys
from confluent_kafka.admin import AdminClient
plain, sasl_plain, ssl, sasl_ssl, ca, user, password = sys.argv[1:8]
cases = [("PLAINTEXT", plain, None), ("SSL", ssl, None)]
for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"]:
    cases += [("SASL_PLAINTEXT", sasl_plain, mech), ("SASL_SSL", sasl_ssl, mech)]
for proto, addr, mech in cases:
    conf = {"bootstrap.servers": addr, "security.protocol": proto}
    if "SSL" in proto:
        conf["ssl.ca.location"] = ca
    if mech == "OAUTHBEARER":
        conf.update({"sasl.mechanism": mech, "enable.sasl.oauthbearer.unsecure.jwt": True,
                     "sasl.oauthbearer.config": "principal=" + user})
    elif mech:
        conf.update({"sasl.mechanism": mech, "sasl.username": user, "sasl.password": password})
    md = AdminClient(conf).list_topics(timeout=15)
    print(proto, mech, sorted(str(b) for b in md.brokers.values()))
# A wrong SCRAM password is refused, not let through.
bad = AdminClient({"bootstrap.servers": sasl_ssl, "security.protocol": "SASL_SSL", "ssl.ca.location": ca,
                   "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": "wrong"})
try:
    bad.list_topics(timeout=5)
    print("WRONG PASSWORD ACCEPTED")
except Exception as e:
    print("refused:", e)
"#;
    let (user, password) = ferrokafka_peers::USERS[0];
    let ca = kafka.ca_pem().display().to_string();
    let out = py.run_ok(
        SCRIPT,
        &[
            &l.plaintext,
            &l.sasl_plaintext,
            &l.ssl,
            &l.sasl_ssl,
            &ca,
            user,
            password,
        ],
    );
    assert_eq!(out.lines().count(), 11, "every case answered:\n{out}");
    assert!(out.contains("refused:"), "{out}");
    assert!(!out.contains("WRONG PASSWORD ACCEPTED"), "{out}");
    // Java's client too, over SASL_SSL with SCRAM-SHA-512.
    let props = kafka.client_properties("SASL_SSL", Some("SCRAM-SHA-512"));
    let props = props.display().to_string();
    let out = kafka.java_output(
        "org.apache.kafka.tools.VerifiableProducer",
        &[
            "--bootstrap-server",
            &l.sasl_ssl,
            "--topic",
            "sasl-ssl-java",
            "--max-messages",
            "3",
            "--command-config",
            &props,
        ],
        TOOL_BOUND,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains(r#""acked":3"#),
        "VerifiableProducer over SASL_SSL:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------
// (a) ferrokafka produces; Java and librdkafka read.

const CODECS: [(&str, &str); 5] = [
    ("none", "-1"),
    ("gzip", "9"),
    ("snappy", "-1"),
    ("lz4", "10"),
    ("zstd", "12"),
];
// acks=0 is not first: right after the topic is created the broker may
// still refuse a partition it has not loaded (NOT_LEADER_OR_FOLLOWER). An
// acked producer retries that; with acks=0 the broker answers an error by
// closing the connection and the records are gone, as Kafka documents for
// acks=0 (seen once under load: 10 of 600 records missing). The first run
// of acks=1 proves every partition writable before any acks=0 run.
const MODES: [(&str, &str, &str); 4] = [
    ("acks1", "1", "false"),
    ("acksall", "all", "false"),
    ("idempotent", "all", "true"),
    ("acks0", "0", "false"),
];
const PER_RUN: usize = 30;
const A_PARTITIONS: i32 = 3;

#[test]
fn every_codec_acks_and_idempotence_read_once_in_order_by_java_and_librdkafka() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let topic = "a-produced";
    kafka.create_topic(topic, A_PARTITIONS, 1, &[]);
    let base_ts = 1_700_000_000_000i64;
    let mut want: Vec<Rec> = Vec::new();
    for (codec, level) in CODECS {
        for (mode, acks, idem) in MODES {
            let p = producer(
                kafka,
                &[
                    ("compression.codec", codec),
                    ("compression.level", level),
                    ("acks", acks),
                    ("enable.idempotence", idem),
                ],
            );
            let mut deliveries = Vec::new();
            for i in 0..PER_RUN {
                let n = want.len() as i64;
                let partition = (i as i32) % A_PARTITIONS;
                let key = format!("{codec}-{mode}-{i}");
                // Repetitive values so every codec really compresses.
                let value = format!("{}|{n}", "v".repeat(50 + i));
                let ts = base_ts + n;
                let r = ProducerRecord::new(topic)
                    .partition(partition)
                    .key(key.clone())
                    .value(value.clone())
                    .header("codec", codec.as_bytes().to_vec())
                    .header("mode", mode.as_bytes().to_vec())
                    .timestamp(ts);
                deliveries.push(p.send(r).expect("queued"));
                want.push(Rec {
                    partition: partition as i64,
                    key: Some(key),
                    value: Some(value),
                    headers: vec![
                        ("codec".into(), Some(codec.into())),
                        ("mode".into(), Some(mode.into())),
                    ],
                    timestamp: ts,
                });
            }
            flush(p);
            for d in deliveries {
                let md = d
                    .wait_timeout(Duration::from_secs(5))
                    .expect("reported")
                    .unwrap_or_else(|e| panic!("{codec}/{mode}: delivery failed: {e:?}"));
                if acks != "0" {
                    assert!(md.offset >= 0, "{codec}/{mode}: an offset");
                }
            }
        }
    }
    let total = want.len();
    let by_partition = |recs: &[Rec]| -> BTreeMap<i64, Vec<Rec>> {
        let mut m: BTreeMap<i64, Vec<Rec>> = BTreeMap::new();
        for r in recs {
            m.entry(r.partition).or_default().push(r.clone());
        }
        m
    };
    let expected = by_partition(&want);

    // Java's ConsoleConsumer: tab-separated timestamp, partition, headers,
    // key, value; every record once and in production order per partition.
    let out = kafka.java_output(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            &kafka.bootstrap(),
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            &total.to_string(),
            "--timeout-ms",
            "60000",
            "--formatter-property",
            "print.timestamp=true",
            "--formatter-property",
            "print.partition=true",
            "--formatter-property",
            "print.headers=true",
            "--formatter-property",
            "print.key=true",
            "--formatter-property",
            "headers.separator=;",
        ],
        TOOL_BOUND,
    );
    assert!(
        out.status.success(),
        "ConsoleConsumer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let java: Vec<Rec> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| parse_console_line(l).unwrap_or_else(|| panic!("ConsoleConsumer line {l:?}")))
        .collect();
    assert_eq!(java.len(), total, "Java read every record once");
    assert_eq!(by_partition(&java), expected, "Java's view");

    // librdkafka.
    const READ: &str = r#"
import sys, json, time
from confluent_kafka import Consumer, TopicPartition
bootstrap, topic, parts, expect = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "a-reader", "enable.auto.commit": False})
c.assign([TopicPartition(topic, p, 0) for p in range(parts)])
got, deadline = [], time.time() + 60
while len(got) < expect and time.time() < deadline:
    m = c.poll(0.5)
    if m is None or m.error():
        continue
    ts_type, ts = m.timestamp()
    got.append({"partition": m.partition(), "key": m.key().decode(), "value": m.value().decode(),
                "headers": [[k, v.decode()] for k, v in (m.headers() or [])], "ts": ts, "ts_type": ts_type})
c.close()
for g in got:
    print(json.dumps(g))
"#;
    let out = py.run_ok(
        READ,
        &[
            &kafka.bootstrap(),
            topic,
            &A_PARTITIONS.to_string(),
            &total.to_string(),
        ],
    );
    let rdk: Vec<Rec> = out
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["ts_type"], 1, "CreateTime: {l}");
            Rec {
                partition: v["partition"].as_i64().unwrap(),
                key: v["key"].as_str().map(String::from),
                value: v["value"].as_str().map(String::from),
                headers: v["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().unwrap().to_string(),
                            h[1].as_str().map(String::from),
                        )
                    })
                    .collect(),
                timestamp: v["ts"].as_i64().unwrap(),
            }
        })
        .collect();
    assert_eq!(rdk.len(), total, "librdkafka read every record once");
    assert_eq!(by_partition(&rdk), expected, "librdkafka's view");
}

/// `CreateTime:TS\tPartition:P\tk1:v1;k2:v2\tKEY\tVALUE`.
fn parse_console_line(line: &str) -> Option<Rec> {
    let mut f = line.split('\t');
    let timestamp = f.next()?.strip_prefix("CreateTime:")?.parse().ok()?;
    let partition = f.next()?.strip_prefix("Partition:")?.parse().ok()?;
    let headers = f
        .next()?
        .split(';')
        .map(|h| {
            let (k, v) = h.split_once(':').unwrap_or((h, "null"));
            (k.to_string(), (v != "null").then(|| v.to_string()))
        })
        .collect();
    let key = f.next()?.to_string();
    let value = f.next()?.to_string();
    Some(Rec {
        partition,
        key: Some(key),
        value: Some(value),
        headers,
        timestamp,
    })
}

// ---------------------------------------------------------------------------
// (b) Others produce; ferrokafka reads byte for byte.

/// Writes records with librdkafka or kafka-python to partition 0 of a topic
/// and prints, per record, what was written (hex; null as JSON null) and
/// the offset the broker gave it.
const WRITE: &str = r#"
import sys, json, time
client, bootstrap, topic = sys.argv[1], sys.argv[2], sys.argv[3]
def h(b):
    return None if b is None else b.hex()
recs = []
for i in range(40):
    binary = bytes([(i * 37 + j) % 256 for j in range(i % 7 * 3)])  # 0x00..0xff, empty at i % 7 == 0
    key = None if i % 5 == 0 else b"key-%d-" % i + binary
    value = None if i % 4 == 1 else b"\x00\xff" + binary + b"value-%d" % i
    if client == "kafka-python" and key is None and value is None:
        value = b""  # kafka-python refuses a record with neither
    # kafka-python refuses null header values.
    headers = [("h%d" % j, None if (i + j) % 3 == 0 and client == "librdkafka" else b"\x01" + binary[:j]) for j in range(i % 4)]
    recs.append((key, value, headers, 1_600_000_000_000 + i * 1000))
out = []
if client == "librdkafka":
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "compression.codec": "lz4", "linger.ms": 5})
    for k, v, hs, ts in recs:
        def cb(err, m, k=k, v=v, hs=hs, ts=ts):
            assert err is None, err
            out.append((m.offset(), k, v, hs, ts))
        p.produce(topic, key=k, value=v, headers=hs, partition=0, timestamp=ts, on_delivery=cb)
    assert p.flush(30) == 0
else:
    from kafka import KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type="gzip", linger_ms=5, acks="all")
    futs = [(p.send(topic, key=k, value=v, headers=hs, partition=0, timestamp_ms=ts), k, v, hs, ts) for k, v, hs, ts in recs]
    p.flush(30)
    for f, k, v, hs, ts in futs:
        out.append((f.get(30).offset, k, v, hs, ts))
    p.close()
for o, k, v, hs, ts in sorted(out, key=lambda r: r[0]):
    print(json.dumps({"offset": o, "key": h(k), "value": h(v), "headers": [[n, h(b)] for n, b in hs], "ts": ts}))
"#;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What ferrokafka read from partition 0 of `topic`, `n` records from the
/// beginning, as the writer prints them (timestamps apart).
async fn ferrokafka_reads(kafka: &ApacheKafka, topic: &str, n: usize) -> Vec<(Value, Timestamp)> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("fetch.wait.max.ms", "100"),
    )
    .unwrap();
    c.assign(&[(topic, 0, Offset::Beginning)]).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while got.len() < n {
        assert!(
            Instant::now() < deadline,
            "{topic}: {} of {n} records in 60 s",
            got.len()
        );
        let m = match timeout(Duration::from_secs(10), c.recv()).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) if e.is_eof() => continue,
            Ok(Err(e)) => panic!("{topic}: consumer error {e}"),
            Err(_) => continue,
        };
        let headers: Vec<Value> = m
            .header_pairs()
            .map(|(k, v)| serde_json::json!([String::from_utf8_lossy(k), v.map(hex)]))
            .collect();
        got.push((
            serde_json::json!({
                "offset": m.offset,
                "key": m.key().map(hex),
                "value": m.value().map(hex),
                "headers": headers,
            }),
            m.timestamp,
        ));
    }
    // Nothing past the end.
    if let Ok(Ok(m)) = timeout(Duration::from_millis(500), c.recv()).await {
        panic!("{topic}: an unexpected record at offset {}", m.offset);
    }
    got
}

fn written(stdout: &str) -> Vec<(Value, i64)> {
    stdout
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            let ts = v["ts"].as_i64().unwrap();
            v.as_object_mut().unwrap().remove("ts");
            (v, ts)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_librdkafka_and_kafka_python_wrote_are_read_byte_for_byte() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    for client in ["librdkafka", "kafka-python"] {
        let topic = format!("b-{client}");
        kafka.create_topic(&topic, 1, 1, &[]);
        let out = py.run_ok(WRITE, &[client, &kafka.bootstrap(), &topic]);
        let want = written(&out);
        assert_eq!(want.len(), 40, "{client} wrote 40 records");
        let got = ferrokafka_reads(kafka, &topic, want.len()).await;
        for ((w, ts), (g, gts)) in want.iter().zip(&got) {
            assert_eq!(g, w, "{client}: record as written");
            assert_eq!(*gts, Timestamp::CreateTime(*ts), "{client}: CreateTime");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_append_time_topics_give_the_brokers_time() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let topic = "b-log-append-time";
    kafka.create_topic(topic, 1, 1, &[("message.timestamp.type", "LogAppendTime")]);
    let before = now_ms();
    let out = py.run_ok(WRITE, &["librdkafka", &kafka.bootstrap(), topic]);
    let after = now_ms();
    let want = written(&out);
    let got = ferrokafka_reads(kafka, topic, want.len()).await;
    for ((w, create), (g, ts)) in want.iter().zip(&got) {
        assert_eq!(g, w, "record as written");
        match ts {
            Timestamp::LogAppendTime(t) => {
                assert!(
                    (before - 1000..=after + 1000).contains(t) && *t != *create,
                    "LogAppendTime {t} is the broker's, not the producer's {create}"
                );
            }
            other => panic!("a LogAppendTime topic gave {other:?}"),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_javas_verifiable_producer_wrote_are_read_in_its_order() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let topic = "b-java";
    kafka.create_topic(topic, 1, 1, &[]);
    let before = now_ms();
    let out = kafka.java_output(
        "org.apache.kafka.tools.VerifiableProducer",
        &[
            "--bootstrap-server",
            &kafka.bootstrap(),
            "--topic",
            topic,
            "--max-messages",
            "200",
            "--acks",
            "-1",
            "--value-prefix",
            "7",
        ],
        TOOL_BOUND,
    );
    let after = now_ms();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "VerifiableProducer: {stdout}");
    // Its JSON events: one producer_send_success per record, with offset.
    let sent: BTreeMap<i64, String> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["name"] == "producer_send_success")
        .map(|v| {
            assert!(v["key"].is_null(), "VerifiableProducer writes null keys");
            (
                v["offset"].as_i64().unwrap(),
                v["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(sent.len(), 200, "{stdout}");
    let got = ferrokafka_reads(kafka, topic, sent.len()).await;
    for ((offset, value), (g, ts)) in sent.iter().zip(&got) {
        assert_eq!(g["offset"], *offset);
        assert_eq!(g["key"], Value::Null, "null key at {offset}");
        assert_eq!(g["value"], hex(value.as_bytes()), "value at {offset}");
        match ts {
            Timestamp::CreateTime(t) => assert!((before..=after).contains(t), "CreateTime {t}"),
            other => panic!("{other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// (c) offsets_for_times, watermarks, fetch sessions.

/// Produces `n` records to each of `partitions`, record `i` of a partition
/// with value `p{p}-o{first+i}` and timestamp `base + (first+i) * 1000`.
fn produce_numbered(
    kafka: &ApacheKafka,
    topic: &str,
    partitions: &[i32],
    first: i64,
    n: i64,
    base: i64,
) {
    // One record per batch: a fetch of a few hundred bytes then returns a
    // few records, not a whole partition.
    let p = producer(
        kafka,
        &[("enable.idempotence", "true"), ("batch.num.messages", "1")],
    );
    let mut deliveries = Vec::new();
    for &part in partitions {
        for o in first..first + n {
            let r = ProducerRecord::new(topic)
                .partition(part)
                .value(format!("p{part}-o{o}"))
                .timestamp(base + o * 1000);
            deliveries.push((part, o, p.send(r).expect("queued")));
        }
    }
    flush(p);
    for (part, o, d) in deliveries {
        let md = d
            .wait_timeout(Duration::from_secs(5))
            .expect("reported after flush")
            .unwrap_or_else(|e| panic!("{topic} [{part}] record {o}: delivery failed: {e:?}"));
        assert_eq!(
            (md.partition, md.offset),
            (part, o),
            "{topic}: where record {o} went"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_for_times_and_watermarks() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let topic = "c-times";
    let base = 1_650_000_000_000i64;
    kafka.create_topic(topic, 3, 1, &[]);
    produce_numbered(kafka, topic, &[0, 1, 2], 0, 30, base);
    let c =
        Consumer::new(&ClientConfig::new().set("bootstrap.servers", kafka.bootstrap())).unwrap();
    for p in 0..3 {
        let w = c
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(w, (0, 30), "watermarks of {p}");
    }
    let q = [
        (topic, 0, base + 10_000),
        (topic, 1, base + 10_001),
        (topic, 2, base + 29_000),
        (topic, 0, 0),
    ];
    let got = c
        .offsets_for_times(&q[..3], Duration::from_secs(10))
        .await
        .unwrap();
    let offsets: Vec<i64> = got.iter().map(|r| r.2).collect();
    assert_eq!(offsets, vec![10, 11, 29]);
    let got = c
        .offsets_for_times(
            &[(topic, 0, 0), (topic, 1, base + 31_000)],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|r| r.2).collect::<Vec<_>>(),
        vec![0, -1],
        "before everything: the first offset; after everything: -1"
    );
    // A consumer reading from an offset found by time starts there.
    c.assign(&[(topic, 2, Offset::Offset(got[0].2 + 25))])
        .unwrap();
    let m = loop {
        match timeout(Duration::from_secs(10), c.recv()).await {
            Ok(Ok(m)) => break m,
            Ok(Err(e)) if e.is_eof() => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!((m.partition, m.offset), (2, 25));
    assert_eq!(m.timestamp, Timestamp::CreateTime(base + 25_000));
}

/// Sets a broker logger's level with Java's ConfigCommand (dynamic, no
/// restart).
fn set_broker_logger(kafka: &ApacheKafka, logger: &str, level: &str) {
    let out = kafka.java_output(
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            &kafka.bootstrap(),
            "--entity-type",
            "broker-loggers",
            "--entity-name",
            "1",
            "--alter",
            "--add-config",
            &format!("{logger}={level}"),
        ],
        TOOL_BOUND,
    );
    assert!(
        out.status.success(),
        "ConfigCommand {logger}={level}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Reads from `c` until each partition of `want` reached its end offset,
/// every record once and in order from `next`; returns the new positions.
async fn read_exactly(
    c: &Consumer,
    want: BTreeMap<i32, i64>,
    next: &BTreeMap<i32, i64>,
) -> BTreeMap<i32, i64> {
    let mut at = next.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while want
        .iter()
        .any(|(p, end)| at.get(p).copied().unwrap_or(0) < *end)
    {
        assert!(Instant::now() < deadline, "read {at:?} of {want:?} in 60 s");
        let m = match timeout(Duration::from_secs(10), c.recv()).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) if e.is_eof() => continue,
            Ok(Err(e)) => panic!("consumer error {e}"),
            Err(_) => continue,
        };
        assert!(
            want.contains_key(&m.partition),
            "unassigned {}",
            m.partition
        );
        let o = at.entry(m.partition).or_default();
        assert_eq!(m.offset, *o, "partition {}: gap or repeat", m.partition);
        let v = format!("p{}-o{}", m.partition, m.offset);
        assert_eq!(m.value(), Some(v.as_bytes()));
        *o += 1;
    }
    at
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sessions_read_every_record_once_and_the_broker_sees_incremental_fetches() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let topic = "c-sessions";
    kafka.create_topic(topic, 6, 1, &[]);
    produce_numbered(kafka, topic, &[0, 1, 2, 3, 4, 5], 0, 40, 1_000);
    // The broker logs each request it completed (with the fetch session id,
    // epoch and forgotten partitions) while this test runs.
    set_broker_logger(kafka, "kafka.request.logger", "DEBUG");
    let client_id = "ferrokafka-fetch-sessions";
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("client.id", client_id)
            .set("fetch.wait.max.ms", "50")
            // Small fetches: many requests per partition, most incremental.
            .set("max.partition.fetch.bytes", "300"),
    )
    .unwrap();
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    c.assign(&[
        (topic, 0, Offset::Beginning),
        (topic, 1, Offset::Beginning),
        (topic, 2, Offset::Beginning),
    ])
    .unwrap();
    next = read_exactly(&c, [(0, 40), (1, 40), (2, 40)].into(), &next).await;
    // Partitions join and leave the session mid-stream.
    c.incremental_assign(&[(topic, 3, Offset::Beginning), (topic, 4, Offset::Beginning)])
        .unwrap();
    c.incremental_unassign(&[(topic, 0)]).unwrap();
    produce_numbered(kafka, topic, &[1, 2, 3, 4], 40, 20, 1_000);
    next = read_exactly(&c, [(1, 60), (2, 60), (3, 60), (4, 60)].into(), &next).await;
    assert!(!next.contains_key(&5));
    c.close_within(Duration::from_secs(10)).await.unwrap();
    set_broker_logger(kafka, "kafka.request.logger", "WARN");

    let log = std::fs::read_to_string(kafka.log_path(1)).unwrap();
    let fetches: Vec<Value> = log
        .lines()
        .filter(|l| l.contains(client_id) && l.contains("\"requestApiKeyName\":\"FETCH\""))
        .filter_map(|l| {
            let json = &l[l.find("Completed request:")? + "Completed request:".len()..];
            let end = json.rfind('}')?;
            serde_json::from_str(&json[..=end]).ok()
        })
        .collect();
    assert!(
        fetches.len() > 10,
        "the broker logged our fetches: {}",
        fetches.len()
    );
    let incremental = fetches
        .iter()
        .filter(|f| {
            f["request"]["sessionId"].as_i64() > Some(0)
                && f["request"]["sessionEpoch"].as_i64() > Some(0)
        })
        .count();
    let forgot = fetches.iter().any(|f| {
        f["request"]["forgottenTopicsData"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    });
    let errors: Vec<&Value> = fetches
        .iter()
        .filter(|f| f["response"]["errorCode"].as_i64().is_some_and(|e| e != 0))
        .collect();
    assert!(
        incremental * 2 > fetches.len(),
        "most fetches are incremental in a session: {incremental} of {}",
        fetches.len()
    );
    assert!(
        forgot,
        "an unassigned partition was forgotten by the session"
    );
    assert!(errors.is_empty(), "session errors: {errors:?}");
}

// ---------------------------------------------------------------------------
// (d) Classic groups shared with Java's VerifiableConsumer.

/// A Java `VerifiableConsumer` in a group; its JSON events collected on a
/// thread. SIGTERM makes it close cleanly (commit, leave); dropping it
/// SIGKILLs it.
struct JavaMember {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
}

impl JavaMember {
    fn start(kafka: &ApacheKafka, topic: &str, group: &str, extra: &[&str]) -> Self {
        let mut cmd = kafka.java_command("org.apache.kafka.tools.VerifiableConsumer");
        cmd.args(["--bootstrap-server", &kafka.bootstrap()])
            .args(["--topic", topic, "--group-id", group])
            .args(["--group-protocol", "classic", "--session-timeout", "10000"])
            .args(["--reset-policy", "earliest", "--verbose"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start VerifiableConsumer");
        let events = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("piped stdout");
        let e = events.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    e.lock().unwrap().push(v);
                }
            }
        });
        JavaMember { child, events }
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    /// The partitions it holds now, from its assigned/revoked events.
    fn assignment(&self) -> BTreeSet<i32> {
        let mut held = BTreeSet::new();
        for e in self.events() {
            let parts = || {
                e["partitions"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|p| p["partition"].as_i64().unwrap() as i32)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            };
            match e["name"].as_str() {
                Some("partitions_assigned") => held.extend(parts()),
                Some("partitions_revoked") => {
                    for p in parts() {
                        held.remove(&p);
                    }
                }
                _ => {}
            }
        }
        held
    }

    /// Every (partition, offset) it consumed (`--verbose` record events).
    fn consumed(&self) -> Vec<(i32, i64)> {
        self.events()
            .iter()
            .filter(|e| e["name"] == "record_data")
            .map(|e| {
                (
                    e["partition"].as_i64().unwrap() as i32,
                    e["offset"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    fn rebalance_events(&self) -> usize {
        self.events()
            .iter()
            .filter(|e| e["name"] == "partitions_assigned" || e["name"] == "partitions_revoked")
            .count()
    }

    /// SIGTERM and wait for its clean exit (it commits and leaves).
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(Instant::now() < deadline, "VerifiableConsumer did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            self.events()
                .iter()
                .any(|e| e["name"] == "shutdown_complete"),
            "VerifiableConsumer shut down cleanly"
        );
    }
}

impl Drop for JavaMember {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let events = self.events();
            let consumed = self.consumed();
            let distinct: BTreeSet<_> = consumed.iter().collect();
            eprintln!(
                "--- VerifiableConsumer: {} records consumed ({} distinct), holds {:?}; last events:",
                consumed.len(),
                distinct.len(),
                self.assignment()
            );
            let others: Vec<&Value> = events
                .iter()
                .filter(|e| e["name"] != "record_data")
                .collect();
            for e in &others[others.len().saturating_sub(12)..] {
                eprintln!("{e}");
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ferrokafka group member whose records a task keeps receiving.
struct RustMember {
    consumer: Arc<Consumer>,
    consumed: Arc<Mutex<Vec<(i32, i64)>>>,
    polling: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl RustMember {
    fn start(kafka: &ApacheKafka, topic: &str, group: &str, extra: &[(&str, &str)]) -> Self {
        let mut cfg = ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "500")
            .set("fetch.wait.max.ms", "100");
        for (k, v) in extra {
            cfg = cfg.set(*k, *v);
        }
        let consumer = Arc::new(Consumer::new(&cfg).unwrap());
        consumer.subscribe(&[topic]).unwrap();
        let consumed = Arc::new(Mutex::new(Vec::new()));
        let polling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (c, got, on) = (consumer.clone(), consumed.clone(), polling.clone());
        let task = tokio::spawn(async move {
            loop {
                if !on.load(std::sync::atomic::Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                if let Ok(Ok(m)) = timeout(Duration::from_millis(100), c.recv()).await {
                    got.lock().unwrap().push((m.partition, m.offset));
                }
            }
        });
        RustMember {
            consumer,
            consumed,
            polling,
            task,
        }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.consumer
            .assignment()
            .into_iter()
            .map(|tp| tp.partition())
            .collect()
    }

    fn consumed(&self) -> Vec<(i32, i64)> {
        self.consumed.lock().unwrap().clone()
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.consumer
            .close_within(Duration::from_secs(15))
            .await
            .expect("close");
    }
}

async fn wait_until(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every (partition, offset) of 0..end[p] exactly once across `consumed`.
fn exactly_once(consumed: &[(i32, i64)], ends: &BTreeMap<i32, i64>) {
    let mut seen = BTreeSet::new();
    for r in consumed {
        assert!(seen.insert(*r), "consumed twice: {r:?}");
    }
    for (p, end) in ends {
        for o in 0..*end {
            assert!(
                seen.contains(&(*p, o)),
                "never consumed: partition {p} offset {o}"
            );
        }
    }
    assert_eq!(
        seen.len() as i64,
        ends.values().sum::<i64>(),
        "nothing extra"
    );
}

const D_PARTITIONS: i32 = 4;
const ALL: [i32; 4] = [0, 1, 2, 3];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferrokafka_and_java_members_share_a_group_and_start_at_each_others_commits() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    for (name, java_assignor) in [
        ("range", "org.apache.kafka.clients.consumer.RangeAssignor"),
        (
            "cooperative-sticky",
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
        ),
    ] {
        let topic = format!("d-share-{name}");
        let group = format!("g-share-{name}");
        kafka.create_topic(&topic, D_PARTITIONS, 1, &[]);
        let mut ends: BTreeMap<i32, i64> = ALL.iter().map(|p| (*p, 0)).collect();
        let produce = |ends: &mut BTreeMap<i32, i64>, n: i64| {
            let first = ends[&0];
            produce_numbered(kafka, &topic, &ALL, first, n, 1_000);
            for e in ends.values_mut() {
                *e += n;
            }
        };
        // Java alone reads and commits the first records.
        produce(&mut ends, 30);
        let java = JavaMember::start(
            kafka,
            &topic,
            &group,
            &["--assignment-strategy", java_assignor],
        );
        wait_until(
            &format!("{name}: Java read the first records"),
            Duration::from_secs(60),
            || java.consumed().len() == 120,
        )
        .await;
        // ferrokafka joins: the partitions are shared, and ferrokafka starts
        // where Java committed (nothing of the first records again).
        let rust = RustMember::start(
            kafka,
            &topic,
            &group,
            &[("partition.assignment.strategy", name)],
        );
        wait_until(
            &format!("{name}: both members hold partitions"),
            Duration::from_secs(60),
            || {
                let (j, r) = (java.assignment(), rust.assignment());
                !j.is_empty() && !r.is_empty() && j.is_disjoint(&r) && j.len() + r.len() == 4
            },
        )
        .await;
        let (java_parts, rust_parts) = (java.assignment(), rust.assignment());
        produce(&mut ends, 20);
        wait_until(
            &format!("{name}: the second records read"),
            Duration::from_secs(60),
            || java.consumed().len() + rust.consumed().len() == 200,
        )
        .await;
        for (p, _) in rust.consumed() {
            assert!(
                rust_parts.contains(&p),
                "{name}: ferrokafka read its own partitions"
            );
        }
        assert!(
            rust.consumed().iter().all(|(_, o)| *o >= 30),
            "{name}: ferrokafka started at Java's commits"
        );
        for (p, o) in java.consumed() {
            assert!(
                o < 30 || java_parts.contains(&p),
                "{name}: Java read its own partitions"
            );
        }
        // ferrokafka commits what it read and leaves; Java takes its
        // partitions over from exactly those offsets.
        rust.consumer
            .commit_offsets(
                &rust_parts
                    .iter()
                    .map(|p| (topic.as_str(), *p, ends[p]))
                    .collect::<Vec<_>>(),
            )
            .await
            .expect("commit");
        let rust_consumed = rust.consumed();
        rust.stop().await;
        wait_until(
            &format!("{name}: Java holds every partition"),
            Duration::from_secs(60),
            || java.assignment().len() == 4,
        )
        .await;
        produce(&mut ends, 10);
        wait_until(
            &format!("{name}: the third records read"),
            Duration::from_secs(60),
            || java.consumed().len() + rust_consumed.len() == 240,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut all = java.consumed();
        all.extend(rust_consumed);
        exactly_once(&all, &ends);
        java.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_member_restarts_without_a_rebalance_of_the_others() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let (topic, group) = ("d-static", "g-static");
    kafka.create_topic(topic, D_PARTITIONS, 1, &[]);
    let java = JavaMember::start(kafka, topic, group, &["--group-instance-id", "java-1"]);
    let statics = [
        ("group.instance.id", "rust-1"),
        ("partition.assignment.strategy", "range"),
    ];
    let rust = RustMember::start(kafka, topic, group, &statics);
    wait_until(
        "both static members hold partitions",
        Duration::from_secs(60),
        || {
            let (j, r) = (java.assignment(), rust.assignment());
            !j.is_empty() && !r.is_empty() && j.len() + r.len() == 4
        },
    )
    .await;
    let before = (
        java.rebalance_events(),
        java.assignment(),
        rust.assignment(),
    );
    // Closed and back within the session timeout: no LeaveGroup, the same
    // instance id rejoins with its old partitions.
    rust.stop().await;
    let rust = RustMember::start(kafka, topic, group, &statics);
    wait_until(
        "the restarted member holds its old partitions",
        Duration::from_secs(30),
        || rust.assignment() == before.2,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (java.rebalance_events(), java.assignment()),
        (before.0, before.1),
        "the Java member saw no rebalance"
    );
    rust.stop().await;
    java.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_stops_polling_past_max_poll_interval_leaves_the_group() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let (topic, group) = ("d-max-poll", "g-max-poll");
    kafka.create_topic(topic, D_PARTITIONS, 1, &[]);
    let java = JavaMember::start(kafka, topic, group, &[]);
    let rust = RustMember::start(
        kafka,
        topic,
        group,
        &[
            ("max.poll.interval.ms", "4000"),
            ("partition.assignment.strategy", "range"),
        ],
    );
    wait_until(
        "both members hold partitions",
        Duration::from_secs(60),
        || {
            let (j, r) = (java.assignment(), rust.assignment());
            !j.is_empty() && !r.is_empty() && j.len() + r.len() == 4
        },
    )
    .await;
    // The application stops calling recv(): past max.poll.interval.ms the
    // member leaves and Java gets every partition.
    rust.polling
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let stopped = Instant::now();
    wait_until(
        "Java holds every partition",
        Duration::from_secs(30),
        || java.assignment().len() == 4,
    )
    .await;
    assert!(
        stopped.elapsed() >= Duration::from_secs(3),
        "not before max.poll.interval.ms: {:?}",
        stopped.elapsed()
    );
    rust.stop().await;
    java.stop();
}

// ---------------------------------------------------------------------------
// Transactions written by Java's TransactionalMessageCopier.

/// Reads partition 0 of `topic` from the beginning with `isolation` until
/// nothing more comes for 2 s; returns the values.
async fn read_all_values(kafka: &ApacheKafka, topic: &str, isolation: &str) -> Vec<String> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("isolation.level", isolation)
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "100"),
    )
    .unwrap();
    c.assign(&[(topic, 0, Offset::Beginning)]).unwrap();
    let mut values = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(r) = timeout(Duration::from_secs(2), c.recv()).await {
        assert!(
            Instant::now() < deadline,
            "{topic}: still reading after 60 s"
        );
        let m = r.unwrap_or_else(|e| panic!("{topic} ({isolation}): {e}"));
        values.push(String::from_utf8(m.value().unwrap().to_vec()).unwrap());
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_never_shows_what_javas_transactional_copier_aborted() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let (input, output) = ("t-copier-in", "t-copier-out");
    kafka.create_topic(input, 1, 1, &[]);
    kafka.create_topic(output, 1, 1, &[]);
    let n = 400;
    let p = producer(kafka, &[("enable.idempotence", "true")]);
    for i in 0..n {
        let _delivery = p
            .send(ProducerRecord::new(input).partition(0).value(i.to_string()))
            .expect("queued");
    }
    flush(p);
    // Copies input to output in transactions of 20, aborting some at random
    // (and copying their records again in a later, committed transaction).
    let out = kafka.java_output(
        "org.apache.kafka.tools.TransactionalMessageCopier",
        &[
            "--broker-list",
            &kafka.bootstrap(),
            "--input-topic",
            input,
            "--input-partition",
            "0",
            "--output-topic",
            output,
            "--max-messages",
            &n.to_string(),
            "--transaction-size",
            "20",
            "--transactional-id",
            "ferrokafka-copier",
            "--consumer-group",
            "ferrokafka-copier-group",
            "--enable-random-aborts",
        ],
        TOOL_BOUND,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "TransactionalMessageCopier: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let committed = read_all_values(kafka, output, "read_committed").await;
    assert_eq!(
        committed, want,
        "read_committed: every input record once, in order, nothing aborted"
    );
    // The aborted copies are in the log: read_uncommitted sees them.
    let uncommitted = read_all_values(kafka, output, "read_uncommitted").await;
    eprintln!(
        "copier: {} records read uncommitted, {} committed",
        uncommitted.len(),
        committed.len()
    );
    assert!(
        uncommitted.len() > committed.len(),
        "random aborts left aborted records in the log ({} read uncommitted)",
        uncommitted.len()
    );
}
