//! Exactly once on a 3-node Apache Kafka cluster (combined KRaft nodes,
//! replication factor 3, `min.insync.replicas=2`; started once for this
//! binary) while the transaction coordinator's node is SIGKILLed:
//! `ferrokafka copy` with random aborts keeps copying through the
//! coordinator's failover (and through a SIGKILL of the copy itself and a
//! restart with the same transactional id), and every input record is then
//! in the output exactly once for ferrokafka's and librdkafka's
//! read_committed readers.
//!
//! Peers missing are skipped unless `FERROKAFKA_REQUIRE_PEERS` is set.

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_peers::{python_with, ApacheKafka};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(300);

fn ferrokafka() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
}

fn copy(kafka: &ApacheKafka, id: &str) -> Child {
    ferrokafka()
        .args([
            "copy",
            "-b",
            &kafka.bootstrap(),
            "--input",
            "ceos-in",
            "--output",
            "ceos-out",
        ])
        .args([
            "-G",
            "ceos-group",
            "--transactional-id",
            id,
            "--random-aborts",
        ])
        .args(["--transaction-size", "50", "--idle-exit-ms", "10000"])
        .args(["-X", "session.timeout.ms=10000"])
        // Kept only when the test fails (see below): what the transaction
        // and the group did around the coordinator's death.
        .args(["-X", "debug=eos,cgrp,msg,metadata"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the child's standard output and error on threads (so neither
/// pipe fills up): the count of committed transactions so far, and the
/// standard error once the child exits.
fn count_commits(
    child: &mut Child,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::thread::JoinHandle<String>,
) {
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let out = BufReader::new(child.stdout.take().unwrap());
    let n2 = n.clone();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if line.contains("\"committed\"") {
                n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    (n, err)
}

fn wait_for(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !f() {
        assert!(Instant::now() < end, "{what}: not within {deadline:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The node coordinating `id`, from Java's TransactionsCommand.
fn coordinator_of(kafka: &ApacheKafka, id: &str) -> i32 {
    let out = kafka.java_output(
        "org.apache.kafka.tools.TransactionsCommand",
        &[
            "--bootstrap-server",
            &kafka.bootstrap(),
            "describe",
            "--transactional-id",
            id,
        ],
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let row: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let col = header
        .iter()
        .position(|h| *h == "CoordinatorId")
        .unwrap_or_else(|| {
            panic!(
                "no CoordinatorId in: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    row[col].parse().unwrap()
}

fn read_ferrokafka(kafka: &ApacheKafka) -> BTreeMap<String, usize> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true"),
    )
    .unwrap();
    let parts: Vec<(&str, i32, Offset)> =
        (0..3).map(|p| ("ceos-out", p, Offset::Beginning)).collect();
    c.assign(&parts).unwrap();
    let mut seen = BTreeMap::new();
    let mut eofs = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while eofs.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "ferrokafka's reader did not reach the end"
        );
        match c.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                let v = String::from_utf8_lossy(m.value().unwrap_or_default()).to_string();
                *seen.entry(v).or_insert(0) += 1;
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

fn read_librdkafka(kafka: &ApacheKafka) -> BTreeMap<String, usize> {
    let py = python_with(&["confluent_kafka"]).expect("confluent_kafka");
    const SCRIPT: &str = r#"
import sys, json, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "rdk-ceos", "isolation.level": "read_committed",
              "enable.partition.eof": True, "enable.auto.commit": False})
c.assign([TopicPartition("ceos-out", p, OFFSET_BEGINNING) for p in range(3)])
seen, eof, deadline = {}, set(), time.time() + 60
while len(eof) < 3 and time.time() < deadline:
    m = c.poll(0.5)
    if m is None:
        continue
    if m.error():
        if m.error().code() == KafkaError._PARTITION_EOF:
            eof.add(m.partition()); continue
        raise SystemExit(str(m.error()))
    v = (m.value() or b"").decode()
    seen[v] = seen.get(v, 0) + 1
c.close()
if len(eof) < 3:
    raise SystemExit("librdkafka's reader did not reach the end")
print(json.dumps(seen))
"#;
    let out = py.run_ok(SCRIPT, &[&kafka.bootstrap()]);
    serde_json::from_str(out.trim()).unwrap()
}

fn check_once(who: &str, seen: &BTreeMap<String, usize>, n: usize) {
    let dups: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).take(5).collect();
    assert!(dups.is_empty(), "{who}: duplicates {dups:?}");
    let missing: Vec<usize> = (0..n)
        .filter(|i| seen.get(&format!("v{i}")) != Some(&1))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{who}: missing {missing:?} (read {} of {n})",
        seen.len()
    );
    assert_eq!(seen.len(), n, "{who}: nothing else");
}

#[test]
fn copy_survives_the_transaction_coordinators_node_being_killed() {
    let Some(kafka) = ApacheKafka::cluster(3) else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let n = 4000;
    kafka.create_topic("ceos-in", 3, 3, &[]);
    kafka.create_topic("ceos-out", 3, 3, &[]);
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", kafka.bootstrap())
            .set("enable.idempotence", "true"),
    )
    .unwrap();
    for i in 0..n {
        let _r = p
            .send_blocking(
                ProducerRecord::new("ceos-in")
                    .key(format!("k{i}"))
                    .value(format!("v{i}")),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(60)).unwrap();
    drop(p);

    let id = "ceos-copier";
    let mut first = copy(kafka, id);
    let (commits, first_err) = count_commits(&mut first);
    wait_for("3 commits", BOUND, || {
        commits.load(std::sync::atomic::Ordering::Relaxed) >= 3
    });
    let coordinator = coordinator_of(kafka, id);
    kafka.kill(coordinator);
    let before = commits.load(std::sync::atomic::Ordering::Relaxed);
    let killed = Instant::now();
    while commits.load(std::sync::atomic::Ordering::Relaxed) < before + 3 {
        if killed.elapsed() > BOUND {
            let exited = first.try_wait().unwrap();
            let _ = first.kill();
            let _ = first.wait();
            let err = first_err.join().unwrap_or_default();
            let saved =
                std::env::temp_dir().join(format!("ceos-copy-{}.stderr", std::process::id()));
            let _ = std::fs::write(&saved, &err);
            let tail: Vec<&str> = err.lines().rev().take(100).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "no 3 commits within {BOUND:?} after broker {coordinator} (the transaction \
                 coordinator) was killed; {before} before; the copy had exited: {exited:?}; \
                 its stderr is in {}, ending:\n{}",
                saved.display(),
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "commits resumed {:?} after the coordinator's node died",
        killed.elapsed()
    );
    // The copy dies too, with a transaction open, and restarts.
    first.kill().unwrap();
    first.wait().unwrap();
    kafka.restart(coordinator);
    let mut last = copy(kafka, id);
    let (_c, last_err) = count_commits(&mut last);
    let end = Instant::now() + BOUND;
    let status = loop {
        if let Some(s) = last.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > end {
            let _ = last.kill();
            panic!("the restarted copy still runs after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let err = last_err.join().unwrap_or_default();
    assert!(status.success(), "stderr: {err}");
    check_once("ferrokafka", &read_ferrokafka(kafka), n);
    check_once("librdkafka", &read_librdkafka(kafka), n);
}
