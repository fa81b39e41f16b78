//! ferrokafka against Apache Kafka itself (one combined KRaft node, started
//! once for this binary by `ferrokafka_peers::ApacheKafka::start`), with
//! Java's own tools and librdkafka / kafka-python as the other side:
//! produce with every codec, acks and idempotence read back by Java's
//! ConsoleConsumer and librdkafka; records others wrote (null keys and
//! values, headers, CreateTime and LogAppendTime) read byte for byte;
//! offsets_for_times, watermarks and fetch sessions; classic groups shared
//! with Java's VerifiableConsumer. Also checks once that every listener and
//! SASL mechanism of the peer works (with librdkafka and a Java tool), as
//! the client itself has no TLS/SASL yet.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_peers::{python_with, ApacheKafka, Python};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

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
            "--producer.config",
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
const MODES: [(&str, &str, &str); 4] = [
    ("acks0", "0", "false"),
    ("acks1", "1", "false"),
    ("acksall", "all", "false"),
    ("idempotent", "all", "true"),
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
