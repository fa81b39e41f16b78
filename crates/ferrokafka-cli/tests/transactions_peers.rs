//! Exactly once against Apache Kafka itself (one KRaft node, started once
//! for this binary): `ferrokafka copy` with random aborts is killed with
//! SIGKILL several times mid-stream and restarted with the same
//! transactional id, and every input record must then be in the output
//! exactly once for read_committed readers: ferrokafka's, librdkafka's
//! (confluent-kafka), kafka-python's, Java's console consumer and Java's
//! `VerifiableConsumer`. Also zombie fencing (a second copy with the same
//! transactional id makes the first fail with PRODUCER_FENCED; a fenced
//! producer's calls all fail fatally and nothing it wrote is committed) and
//! interop the other way: Java's `TransactionalMessageCopier` with random
//! aborts and kafka-python's transactional producer commit and abort,
//! ferrokafka's read_committed consumer sees exactly the committed records.
//!
//! Apache Kafka 4.4 formats new clusters with `transaction.version` 2
//! (KIP-890), so these run ferrokafka's transaction version 2; one test
//! checks the epoch bump per transaction there, downgrades the feature to
//! 1 and checks the fallback (holding the others off meanwhile).
//!
//! Peers missing are skipped unless `FERROKAFKA_REQUIRE_PEERS` is set.

use ferrokafka::admin::{AdminClient, AdminOptions, FeatureUpdate, FeatureUpgradeType};
use ferrokafka::consumer::{Consumer, ConsumerGroupMetadata, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_peers::{python_with, ApacheKafka, Python};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(180);

/// Held shared by every test, and exclusively by the one that changes the
/// cluster's `transaction.version` (a producer must not see it change
/// under its feet).
static FEATURE: std::sync::RwLock<()> = std::sync::RwLock::new(());

type Shared = std::sync::RwLockReadGuard<'static, ()>;

fn peers() -> Option<(&'static ApacheKafka, Python, Shared)> {
    let kafka = ApacheKafka::start()?;
    let py = python_with(&["confluent_kafka", "kafka"])?;
    let shared = FEATURE.read().unwrap_or_else(|e| e.into_inner());
    Some((kafka, py, shared))
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
    read_ferrokafka_with(kafka, topic, partitions, "read_committed")
}

fn read_ferrokafka_with(
    kafka: &ApacheKafka,
    topic: &str,
    partitions: i32,
    isolation: &str,
) -> BTreeMap<String, usize> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("isolation.level", isolation)
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

/// (key/value) -> times seen by Java's `VerifiableConsumer` (a group
/// member, read_committed, `--verbose` prints every record), stopping after
/// `n` records: a duplicate among them would be counted twice, a missing
/// record leaves the tool waiting until the bound.
fn read_verifiable(kafka: &ApacheKafka, topic: &str, n: usize) -> BTreeMap<String, usize> {
    let config = std::env::temp_dir().join(format!(
        "ferrokafka-verifiable-{}-{topic}.properties",
        std::process::id()
    ));
    std::fs::write(&config, "isolation.level=read_committed\n").unwrap();
    let out = kafka.java_output(
        "org.apache.kafka.tools.VerifiableConsumer",
        &[
            "--bootstrap-server",
            &kafka.bootstrap(),
            "--topic",
            topic,
            "--group-id",
            &format!("verifiable-{topic}"),
            "--max-messages",
            &n.to_string(),
            "--reset-policy",
            "earliest",
            "--verbose",
            "--command-config",
            config.to_str().unwrap(),
        ],
        BOUND,
    );
    let mut seen = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        if v["name"] == "record_data" {
            let s = |f: &str| v[f].as_str().unwrap_or_default().to_string();
            *seen
                .entry(format!("{}/{}", s("key"), s("value")))
                .or_insert(0) += 1;
        }
    }
    seen
}

/// (key/value/headers) -> times seen by kafka-python's read_committed
/// consumer, reading every partition from the beginning until nothing new
/// came for 5 s.
fn read_kafka_python(
    py: &Python,
    kafka: &ApacheKafka,
    topic: &str,
    partitions: i32,
) -> BTreeMap<String, usize> {
    const SCRIPT: &str = r#"
import sys, json, time
from kafka import KafkaConsumer, TopicPartition
bootstrap, topic, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = KafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                  enable_auto_commit=False, auto_offset_reset="earliest")
tps = [TopicPartition(topic, p) for p in range(parts)]
c.assign(tps)
c.seek_to_beginning(*tps)
seen, deadline, last = {}, time.time() + 90, time.time()
while time.time() < deadline and time.time() - last < 5:
    for tp, ms in c.poll(timeout_ms=500).items():
        for m in ms:
            last = time.time()
            h = ",".join("%s=%s" % (k, (v or b"").decode()) for k, v in (m.headers or []))
            key = "%s/%s/%s" % ((m.key or b"").decode(), (m.value or b"").decode(), h)
            seen[key] = seen.get(key, 0) + 1
c.close()
print(json.dumps(seen))
"#;
    let out = py.run_ok(
        SCRIPT,
        &[&kafka.bootstrap(), topic, &partitions.to_string()],
    );
    serde_json::from_str(out.trim()).unwrap()
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
    let Some((kafka, py, _shared)) = peers() else {
        return;
    };
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
    check_once(
        "kafka-python",
        &read_kafka_python(&py, kafka, output, 3),
        n,
        full,
    );
    check_once("Java", &read_java(kafka, output), n, |i| format!("v{i}"));
    check_once(
        "Java VerifiableConsumer",
        &read_verifiable(kafka, output, n),
        n,
        |i| format!("k{i}/v{i}"),
    );
}

/// Two copies with one transactional id: the older one is fenced, fails
/// fatally and writes nothing more. (It used to recover from the
/// INVALID_PRODUCER_EPOCH its TxnOffsetCommit got with an epoch bump,
/// which Kafka accepts for the epoch just before the current one: the two
/// then fenced each other in turn, and a copy that exited fenced the other
/// for good with input left uncopied.)
#[test]
fn a_second_copy_fences_the_first_on_apache_kafka() {
    let Some((kafka, _py, _shared)) = peers() else {
        return;
    };
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
    // PRODUCER_FENCED, or under transaction version 2 INVALID_TXN_STATE:
    // seen when the zombie's EndTxn(commit) carries the epoch just before
    // the fencing bump, which Kafka's version-2 coordinator takes for a
    // retry of an EndTxn that ended otherwise. Both are fatal.
    assert!(
        zerr.contains("PRODUCER_FENCED") || zerr.contains("INVALID_TXN_STATE: EndTxn(commit)"),
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
    let Some((kafka, py, _shared)) = peers() else {
        return;
    };
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

#[test]
fn a_fenced_producer_fails_fatally_and_commits_nothing_more_on_apache_kafka() {
    let Some((kafka, _py, _shared)) = peers() else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let topic = "fenced-out";
    kafka.create_topic(topic, 2, 1, &[]);
    let t = Duration::from_secs(30);
    let producer = || {
        let p = Producer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", kafka.bootstrap())
                .set("transactional.id", "fenced-producer")
                .set("linger.ms", "5"),
        )
        .unwrap();
        p.init_transactions_blocking(t).unwrap();
        p
    };
    // Delivery is proven by the commit (a failed record fails it).
    let send = |p: &Producer, v: &str| {
        p.send_blocking(ProducerRecord::new(topic).key("k").value(v.to_string()))
            .map(drop)
            .map_err(|e| e.error)
    };
    let old = producer();
    old.begin_transaction().unwrap();
    send(&old, "old-committed").unwrap();
    old.commit_transaction_blocking(t).unwrap();
    old.begin_transaction().unwrap();
    send(&old, "old-open").unwrap();
    old.flush(t).unwrap();
    // A newer instance with the same transactional id: its
    // InitProducerId aborts the old open transaction and bumps the epoch.
    let new = producer();
    let e = old.commit_transaction_blocking(t).unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::ProducerFenced, "{e:?}");
    // The zombie can write nothing more.
    assert!(old.begin_transaction().unwrap_err().is_fatal());
    assert!(send(&old, "old-after").unwrap_err().is_fatal());
    assert!(old.abort_transaction_blocking(t).unwrap_err().is_fatal());
    new.begin_transaction().unwrap();
    send(&new, "new-committed").unwrap();
    new.commit_transaction_blocking(t).unwrap();
    let seen = read_ferrokafka(kafka, topic, 2);
    let want: BTreeMap<String, usize> = [("k/old-committed/", 1), ("k/new-committed/", 1)]
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect();
    assert_eq!(seen, want);
}

#[test]
fn javas_transactional_message_copier_is_read_exactly_once_by_ferrokafka() {
    let Some((kafka, _py, _shared)) = peers() else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let (input, output, n) = ("jcopier-in", "jcopier-out", 2000);
    kafka.create_topic(input, 1, 1, &[]);
    kafka.create_topic(output, 2, 1, &[]);
    fill(kafka, input, n);
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
            "--consumer-group",
            "jcopier-group",
            "--transactional-id",
            "jcopier",
            "--transaction-size",
            "50",
            "--enable-random-aborts",
            "--use-group-metadata",
        ],
        BOUND,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "TransactionalMessageCopier failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = read_ferrokafka(kafka, output, 2);
    // The copier copies keys and values (not headers).
    check_once("ferrokafka", &seen, n, |i| format!("k{i}/v{i}/"));
    // It aborts about one transaction in three (40 here) and copies the
    // records again: read_uncommitted sees the aborted copies too, so the
    // aborts did happen.
    let all: usize = read_ferrokafka_with(kafka, output, 2, "read_uncommitted")
        .values()
        .sum();
    eprintln!("TransactionalMessageCopier wrote {all} records for {n} inputs");
    assert!(
        all > n,
        "no transaction was aborted ({all} records written)"
    );
}

fn admin(kafka: &ApacheKafka) -> AdminClient {
    AdminClient::new(&ClientConfig::new().set("bootstrap.servers", kafka.bootstrap())).unwrap()
}

fn transaction_version(a: &AdminClient) -> i16 {
    a.describe_features_blocking(&AdminOptions::new())
        .unwrap()
        .finalized
        .iter()
        .find(|f| f.name == "transaction.version")
        .map_or(0, |f| f.max_version_level)
}

fn set_transaction_version(a: &AdminClient, level: i16, upgrade_type: FeatureUpgradeType) {
    let update = FeatureUpdate {
        upgrade_type,
        ..FeatureUpdate::upgrade("transaction.version", level)
    };
    for (name, r) in a
        .update_features_blocking(&[update], &AdminOptions::new())
        .unwrap()
    {
        r.unwrap_or_else(|e| panic!("{name} to {level}: {e}"));
    }
    // Every broker (one here) learns the level from the metadata log.
    let deadline = Instant::now() + Duration::from_secs(30);
    while transaction_version(a) != level {
        assert!(
            Instant::now() < deadline,
            "transaction.version never became {level}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs three transactions (records and the offsets of a group) with a
/// new producer for `id` and returns the coordinator's epoch before the
/// first and after each.
fn epochs_over_transactions(
    kafka: &ApacheKafka,
    a: &AdminClient,
    id: &str,
    topic: &str,
) -> Vec<i16> {
    let t = Duration::from_secs(30);
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("transactional.id", id)
            .set("linger.ms", "5"),
    )
    .unwrap();
    p.init_transactions_blocking(t).unwrap();
    let epoch = || {
        a.describe_transactions_blocking(&[id], &AdminOptions::new())
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .1
            .unwrap()
            .producer_epoch
    };
    let mut out = vec![epoch()];
    let group = ConsumerGroupMetadata::new(format!("{id}-group"));
    for i in 0..3i64 {
        p.begin_transaction().unwrap();
        for j in 0..10 {
            let _d = p
                .send_blocking(
                    ProducerRecord::new(topic.to_string())
                        .key("k")
                        .value(format!("{id}-{i}-{j}")),
                )
                .unwrap();
        }
        p.send_offsets_to_transaction_blocking(&[(topic, 0, 10 * (i + 1))], &group, t)
            .unwrap();
        p.commit_transaction_blocking(t).unwrap();
        out.push(epoch());
    }
    out
}

#[test]
fn transaction_version_2_bumps_the_epoch_per_transaction_and_version_1_does_not_on_apache_kafka() {
    let Some(kafka) = ApacheKafka::start() else {
        return;
    };
    let _exclusive = FEATURE.write().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let topic = "tv-out";
    kafka.create_topic(topic, 2, 1, &[]);
    let a = admin(kafka);
    assert_eq!(
        transaction_version(&a),
        2,
        "Apache Kafka 4.4 formats with transaction.version 2"
    );
    let v2 = epochs_over_transactions(kafka, &a, "tv2-producer", topic);
    let e = v2[0];
    assert_eq!(
        v2,
        vec![e, e + 1, e + 2, e + 3],
        "EndTxn v5 bumps the epoch"
    );
    set_transaction_version(&a, 1, FeatureUpgradeType::SafeDowngrade);
    let v1 = epochs_over_transactions(kafka, &a, "tv1-producer", topic);
    set_transaction_version(&a, 2, FeatureUpgradeType::Upgrade);
    assert_eq!(
        v1,
        vec![v1[0]; 4],
        "version 1: one epoch for every transaction"
    );
    let seen = read_ferrokafka(kafka, topic, 2);
    let mut want = BTreeMap::new();
    for id in ["tv2-producer", "tv1-producer"] {
        for i in 0..3 {
            for j in 0..10 {
                want.insert(format!("k/{id}-{i}-{j}/"), 1);
            }
        }
    }
    assert_eq!(seen, want);
}
