//! Exactly once against Apache Kafka itself (one KRaft node, started once
//! for this binary): `ferrokafka copy` with random aborts is killed with
//! SIGKILL several times mid-stream and restarted with the same
//! transactional id, and every input record must then be in the output
//! exactly once for read_committed readers: ferrokafka's, librdkafka's
//! (confluent-kafka) and Java's console consumer. Also zombie fencing (a
//! second copy with the same transactional id makes the first fail with
//! PRODUCER_FENCED) and interop the other way: kafka-python's
//! transactional producer commits and aborts, ferrokafka's read_committed
//! consumer sees exactly the committed records.
//!
//! Peers missing are skipped unless `FERROKAFKA_REQUIRE_PEERS` is set.

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_peers::{python_with, ApacheKafka, Python};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(180);

fn peers() -> Option<(&'static ApacheKafka, Python)> {
    let kafka = ApacheKafka::start()?;
    let py = python_with(&["confluent_kafka", "kafka"])?;
    Some((kafka, py))
}

fn ferrokafka() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
}

/// Writes `n` records `k{i}`/`v{i}` (header `i={i}`) to `topic`.
fn fill(kafka: &ApacheKafka, topic: &str, n: usize) {
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("enable.idempotence", "true")
            .set("linger.ms", "5"),
    )
    .unwrap();
    for i in 0..n {
        let _r = p
            .send_blocking(
                ProducerRecord::new(topic.to_string())
                    .key(format!("k{i}"))
                    .value(format!("v{i}"))
                    .header("i", i.to_string()),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(60)).unwrap();
}

fn copy(kafka: &ApacheKafka, input: &str, output: &str, id: &str, extra: &[&str]) -> Child {
    ferrokafka()
        .args([
            "copy",
            "-b",
            &kafka.bootstrap(),
            "--input",
            input,
            "--output",
            output,
        ])
        .args(["-G", &format!("{id}-group"), "--transactional-id", id])
        .args(["--transaction-size", "50", "--idle-exit-ms", "6000"])
        .args(["-X", "session.timeout.ms=10000"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (bounded) for `k` committed transactions on the child's stdout.
fn wait_commits(child: &mut Child, k: usize) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut commits = 0;
    let mut line = String::new();
    while commits < k {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("\"committed\"") {
            commits += 1;
        }
    }
    out
}

fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferrokafka copy still running after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

/// (key, value) -> times seen, read with ferrokafka's read_committed consumer.
fn read_ferrokafka(kafka: &ApacheKafka, topic: &str, partitions: i32) -> BTreeMap<String, usize> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true"),
    )
    .unwrap();
    let parts: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    c.assign(&parts).unwrap();
    let mut seen = BTreeMap::new();
    let mut eofs = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while eofs.len() < partitions as usize {
        assert!(
            Instant::now() < deadline,
            "ferrokafka's reader did not reach the end"
        );
        match c.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                let s =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).to_string();
                let h: Vec<String> = m
                    .headers()
                    .iter()
                    .map(|h| {
                        format!(
                            "{}={}",
                            h.key,
                            String::from_utf8_lossy(h.value.as_deref().unwrap_or_default())
                        )
                    })
                    .collect();
                *seen
                    .entry(format!("{}/{}/{}", s(m.key()), s(m.value()), h.join(",")))
                    .or_insert(0) += 1;
            }
            Some(Err(e)) if e.is_eof() => {
                eofs.insert(e.partition_id());
            }
            Some(Err(e)) => panic!("{e}"),
            None => {}
        }
    }
    seen
}

/// The same with librdkafka (confluent-kafka), read_committed.
fn read_librdkafka(
    py: &Python,
    kafka: &ApacheKafka,
    topic: &str,
    partitions: i32,
) -> BTreeMap<String, usize> {
    const SCRIPT: &str = r#"
import sys, json, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
bootstrap, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "rdkafka-reader", "isolation.level": "read_committed",
              "enable.partition.eof": True, "enable.auto.commit": False})
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
seen, eof, deadline = {}, set(), time.time() + 60
while len(eof) < parts and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            eof.add(m.partition())
            continue
        raise SystemExit(str(m.error()))
    h = ",".join("%s=%s" % (k, (v or b"").decode()) for k, v in (m.headers() or []))
    key = "%s/%s/%s" % ((m.key() or b"").decode(), (m.value() or b"").decode(), h)
    seen[key] = seen.get(key, 0) + 1
c.close()
if len(eof) < parts:
    raise SystemExit("librdkafka's reader did not reach the end")
print(json.dumps(seen))
"#;
    let out = py.run_ok(
        SCRIPT,
        &[&kafka.bootstrap(), topic, &partitions.to_string()],
    );
    serde_json::from_str(out.trim()).unwrap()
}

/// Values Java's console consumer reads with read_committed.
fn read_java(kafka: &ApacheKafka, topic: &str) -> BTreeMap<String, usize> {
    let out = kafka.java_output(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            &kafka.bootstrap(),
            "--topic",
            topic,
            "--from-beginning",
            "--isolation-level",
            "read_committed",
            "--timeout-ms",
            "15000",
        ],
        BOUND,
    );
    let mut seen = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        *seen.entry(l.to_string()).or_insert(0) += 1;
    }
    seen
}

fn check_once(who: &str, seen: &BTreeMap<String, usize>, n: usize, key: impl Fn(usize) -> String) {
    let dups: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).take(5).collect();
    assert!(dups.is_empty(), "{who}: duplicates {dups:?}");
    let missing: Vec<usize> = (0..n)
        .filter(|i| seen.get(&key(*i)) != Some(&1))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{who}: missing records {missing:?} (of {n}; read {})",
        seen.len()
    );
    assert_eq!(seen.len(), n, "{who}: nothing else in the output");
}

#[test]
fn copy_killed_with_sigkill_on_apache_kafka_leaves_every_record_exactly_once() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let (input, output, n) = ("eos-in", "eos-out", 3000);
    kafka.create_topic(input, 3, 1, &[]);
    kafka.create_topic(output, 3, 1, &[]);
    fill(kafka, input, n);
    for round in 0..3 {
        let mut child = copy(kafka, input, output, "eos-copier", &["--random-aborts"]);
        let _out = wait_commits(&mut child, 2 + round);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let mut last = copy(kafka, input, output, "eos-copier", &["--random-aborts"]);
    let status = wait_bounded(&mut last);
    assert!(status.success(), "stderr: {}", stderr_of(&mut last));
    let full = |i: usize| format!("k{i}/v{i}/i={i}");
    check_once("ferrokafka", &read_ferrokafka(kafka, output, 3), n, full);
    check_once(
        "librdkafka",
        &read_librdkafka(&py, kafka, output, 3),
        n,
        full,
    );
    check_once("Java", &read_java(kafka, output), n, |i| format!("v{i}"));
}

#[test]
fn a_second_copy_fences_the_first_on_apache_kafka() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let (input, output, n) = ("zombie-in", "zombie-out", 2000);
    kafka.create_topic(input, 2, 1, &[]);
    kafka.create_topic(output, 2, 1, &[]);
    fill(kafka, input, n);
    let mut zombie = copy(kafka, input, output, "zombie-copier", &[]);
    let zombie_out = wait_commits(&mut zombie, 2);
    let mut newer = copy(kafka, input, output, "zombie-copier", &[]);
    let zstatus = wait_bounded(&mut zombie);
    let zerr = stderr_of(&mut zombie);
    drop(zombie_out);
    assert!(!zstatus.success(), "the fenced copy fails; stderr: {zerr}");
    assert!(
        zerr.contains("PRODUCER_FENCED") || zerr.contains("fenced"),
        "stderr: {zerr}"
    );
    let status = wait_bounded(&mut newer);
    assert!(status.success(), "stderr: {}", stderr_of(&mut newer));
    check_once("ferrokafka", &read_ferrokafka(kafka, output, 2), n, |i| {
        format!("k{i}/v{i}/i={i}")
    });
}

#[test]
fn kafka_pythons_transactions_are_read_exactly_once_by_ferrokafka() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let topic = "kpy-txn";
    kafka.create_topic(topic, 2, 1, &[]);
    const SCRIPT: &str = r#"
import sys
from kafka import KafkaProducer
bootstrap, topic = sys.argv[1], sys.argv[2]
p = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="kpy-txn-1")
p.init_transactions()
for t in range(10):
    p.begin_transaction()
    for i in range(20):
        p.send(topic, key=b"k", value=("t%d-%d" % (t, i)).encode(), partition=i % 2)
    if t % 3 == 1:
        p.abort_transaction()
    else:
        p.commit_transaction()
p.close()
"#;
    py.run_ok(SCRIPT, &[&kafka.bootstrap(), topic]);
    let seen = read_ferrokafka(kafka, topic, 2);
    let mut want = BTreeMap::new();
    for t in (0..10).filter(|t| t % 3 != 1) {
        for i in 0..20 {
            want.insert(format!("k/t{t}-{i}/"), 1);
        }
    }
    assert_eq!(seen, want);
}
