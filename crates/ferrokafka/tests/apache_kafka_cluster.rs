//! ferrokafka against a 3-node Apache Kafka cluster (combined KRaft nodes,
//! replication factor 3, `min.insync.replicas=2`; started once for this
//! binary by `ferrokafka_peers::ApacheKafka::cluster(3)`) while nodes are
//! SIGKILLed and restarted or frozen with SIGSTOP past the request timeout:
//!
//! - the idempotent producer (acks=all, 5 in flight) loses, duplicates and
//!   reorders nothing, and every delivery report is a success (the checker
//!   of `idempotence_harness.rs`, see RELIABILITY.md);
//! - librdkafka's idempotent producer, as the reference, under a kill and a
//!   freeze, checked the same way;
//! - a group consumer whose coordinator's node is killed skips no record;
//! - a consumer with `client.rack` fetches from the replica in its rack
//!   (KIP-392), not from the leader.
//!
//! Bounded: `FERROKAFKA_KAFKA_FAULT_RECORDS` records (default 200,000; the
//! faults, not the records, take most of the time).
#![allow(clippy::result_large_err)]

#[path = "idempotence_harness.rs"]
mod harness;

use ferrokafka::consumer::Consumer;
use ferrokafka::ClientConfig;
use ferrokafka_peers::{python_with, ApacheKafka, Python};
use harness::{check, print, produce, producer, read_back};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::MutexGuard;
use tokio::time::timeout;

const NODES: usize = 3;

/// One test at a time on the shared cluster: two tests' faults at once
/// would take two of three nodes down, below `min.insync.replicas`.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn peers() -> Option<(MutexGuard<'static, ()>, &'static ApacheKafka, Python)> {
    let serial = SERIAL.lock().await;
    let kafka = ApacheKafka::cluster(NODES)?;
    let py = python_with(&["confluent_kafka"])?;
    Some((serial, kafka, py))
}

fn records() -> usize {
    std::env::var("FERROKAFKA_KAFKA_FAULT_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000)
}

/// The node leading `topic`'s `partition` (librdkafka's metadata).
fn leader(kafka: &ApacheKafka, py: &Python, topic: &str, partition: i32) -> i32 {
    const SCRIPT: &str = r#"
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
print(a.list_topics(sys.argv[2], timeout=20).topics[sys.argv[2]].partitions[int(sys.argv[3])].leader)
"#;
    let out = py.run_ok(SCRIPT, &[&kafka.bootstrap(), topic, &partition.to_string()]);
    out.trim().parse().expect("a leader id")
}

/// The node coordinating `group` (librdkafka's DescribeConsumerGroups).
fn coordinator(kafka: &ApacheKafka, py: &Python, group: &str) -> i32 {
    const SCRIPT: &str = r#"
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1]})
print(a.describe_consumer_groups([sys.argv[2]])[sys.argv[2]].result(20).coordinator.id)
"#;
    let out = py.run_ok(SCRIPT, &[&kafka.bootstrap(), group]);
    out.trim().parse().expect("a coordinator id")
}

/// Every node running and answering: after a test, the next one starts
/// from a whole cluster.
fn heal(kafka: &ApacheKafka) {
    for id in kafka.ids() {
        match kafka.pid(id) {
            None => kafka.restart(id),
            Some(_) => kafka.thaw(id),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL, down for a while, restarted.
    Kill,
    /// SIGSTOP longer than the producer's request timeout (1.5 s) and the
    /// broker session timeout (4 s), then SIGCONT.
    Freeze,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_producer_loses_duplicates_and_reorders_nothing_while_leaders_die_and_freeze() {
    let Some((_serial, kafka, py)) = peers().await else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let topic = "e-idempotence";
    let partitions = 6;
    kafka.create_topic(topic, partitions, 3, &[("min.insync.replicas", "2")]);
    let n = records();
    let schedule = [Fault::Kill, Fault::Freeze, Fault::Kill, Fault::Freeze];
    let p = producer(&kafka.bootstrap());
    // A fault runs on its own thread while records flow; the next one waits
    // for it to finish (at most one node is down, so min ISR 2 holds).
    let running: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::default();
    let faults = Arc::new(Mutex::new(Vec::new()));
    let mut next = 0usize;
    let started = Instant::now();
    let (reports, fatal) = produce(&p, topic, partitions, n, schedule.len() + 1, |i| {
        let Some(&fault) = schedule.get(next) else {
            return;
        };
        next += 1;
        if let Some(t) = running.lock().unwrap().take() {
            t.join().expect("fault thread");
        }
        let partition = (i as i32) % partitions;
        let (py, faults) = (py.clone(), faults.clone());
        *running.lock().unwrap() = Some(std::thread::spawn(move || {
            let id = leader(kafka, &py, topic, partition);
            let t0 = Instant::now();
            match fault {
                Fault::Kill => {
                    kafka.kill(id);
                    std::thread::sleep(Duration::from_secs(3));
                    kafka.restart(id);
                }
                Fault::Freeze => {
                    kafka.freeze(id);
                    std::thread::sleep(Duration::from_secs(6));
                    kafka.thaw(id);
                }
            }
            faults.lock().unwrap().push(format!(
                "{fault:?} node {id} (leader of {partition}) at record {i} for {:.1} s",
                t0.elapsed().as_secs_f64()
            ));
        }));
    })
    .await;
    if let Some(t) = running.lock().unwrap().take() {
        t.join().expect("fault thread");
    }
    let produced_in = started.elapsed();
    let faults = faults.lock().unwrap().clone();
    eprintln!("faults: {faults:#?}");
    assert_eq!(faults.len(), schedule.len(), "every fault struck");
    assert_eq!(fatal, None, "no fatal error");
    heal(kafka);
    let logs = read_back(&kafka.bootstrap(), topic, partitions).await;
    let mut f = check(&reports, &logs, partitions);
    f.faults = faults.len();
    print(
        &format!("apache-kafka 3 nodes, {n} records in {produced_in:?}"),
        &f,
    );
    assert_eq!(
        (f.persisted, f.in_log),
        (n, n),
        "every record delivered and in the log once: {f:?}"
    );
}

/// Receives until `seen` holds `until` distinct records, storing each
/// record's offset for the auto commit.
async fn consume(c: &Consumer, seen: &Mutex<BTreeSet<usize>>, until: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while seen.lock().unwrap().len() < until {
        if Instant::now() >= deadline {
            let seen = seen.lock().unwrap();
            let mut missing = std::collections::BTreeMap::new();
            for i in (0..until).filter(|i| !seen.contains(i)) {
                *missing.entry(i % 4).or_insert(0) += 1;
            }
            panic!(
                "{} of {until} records within {within:?}; missing per partition {missing:?}; assignment {:?}",
                seen.len(),
                c.assignment()
            );
        }
        if let Ok(Ok(m)) = timeout(Duration::from_millis(200), c.recv()).await {
            let v: usize = std::str::from_utf8(m.value().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            c.store_offset(&m).unwrap();
            seen.lock().unwrap().insert(v);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_consumer_skips_nothing_when_its_coordinators_node_is_killed() {
    let Some((_serial, kafka, py)) = peers().await else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let (topic, group) = ("e-coordinator", "g-coordinator");
    let partitions = 4;
    kafka.create_topic(topic, partitions, 3, &[("min.insync.replicas", "2")]);
    let total = 4_000usize;
    let produce_range = |from: usize, to: usize| {
        let p = producer(&kafka.bootstrap());
        let mut deliveries = Vec::new();
        for i in from..to {
            let r = ferrokafka::producer::ProducerRecord::new(topic)
                .partition(i as i32 % partitions)
                .value(i.to_string());
            deliveries.push((i, p.send(r).expect("queued")));
        }
        p.flush(Duration::from_secs(90)).expect("flushed");
        let failed: Vec<String> = deliveries
            .into_iter()
            .filter_map(|(i, d)| match d.wait_timeout(Duration::from_secs(5)) {
                Some(Ok(_)) => None,
                other => Some(format!("{i}: {other:?}")),
            })
            .collect();
        assert!(
            failed.is_empty(),
            "{} of records {from}..{to} not delivered, first: {:?}",
            failed.len(),
            failed.first()
        );
    };
    produce_range(0, total / 2);
    let member = || {
        Consumer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", kafka.bootstrap())
                .set("group.id", group)
                .set("auto.offset.reset", "earliest")
                .set("auto.commit.interval.ms", "200")
                .set("session.timeout.ms", "10000")
                .set("heartbeat.interval.ms", "500")
                .set("fetch.wait.max.ms", "100")
                .set("max.partition.fetch.bytes", "2000"),
        )
        .unwrap()
    };
    let seen: Mutex<BTreeSet<usize>> = Mutex::default();
    let c = member();
    c.subscribe(&[topic]).unwrap();
    consume(&c, &seen, total / 4, Duration::from_secs(60)).await;
    let coord = coordinator(kafka, &py, group);
    kafka.kill(coord);
    let killed = Instant::now();
    // Records keep coming while the coordinator is down.
    produce_range(total / 2, total);
    consume(&c, &seen, total * 3 / 4, Duration::from_secs(150)).await;
    kafka.restart(coord);
    eprintln!(
        "coordinator node {coord} was down {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    // A second member takes over from the committed offsets (close()
    // commits): together they read every record.
    c.close_within(Duration::from_secs(20))
        .await
        .expect("close commits and leaves");
    let c2 = member();
    c2.subscribe(&[topic]).unwrap();
    consume(&c2, &seen, total, Duration::from_secs(150)).await;
    let missing: Vec<usize> = (0..total)
        .filter(|i| !seen.lock().unwrap().contains(i))
        .collect();
    assert!(missing.is_empty(), "skipped records: {missing:?}");
    c2.close_within(Duration::from_secs(20)).await.unwrap();
    heal(kafka);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_fetches_from_the_replica_in_its_rack() {
    let Some((_serial, kafka, py)) = peers().await else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let topic = "e-rack";
    let partitions = 3;
    kafka.create_topic(topic, partitions, 3, &[("min.insync.replicas", "2")]);
    let n = 300usize;
    let p = producer(&kafka.bootstrap());
    for i in 0..n {
        let r = ferrokafka::producer::ProducerRecord::new(topic)
            .partition(i as i32 % partitions)
            .value(i.to_string());
        let _delivery = p.send(r).expect("queued");
    }
    p.flush(Duration::from_secs(60)).expect("flushed");
    for partition in 0..partitions {
        let leader = leader(kafka, &py, topic, partition);
        // A follower's rack: the broker should point the consumer there.
        let near = kafka.ids().into_iter().find(|id| *id != leader).unwrap();
        let c = Consumer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", kafka.bootstrap())
                .set("client.rack", format!("rack-{near}"))
                .set("fetch.wait.max.ms", "100")
                .set("enable.partition.eof", "false"),
        )
        .unwrap();
        c.assign(&[(topic, partition, ferrokafka::consumer::Offset::Beginning)])
            .unwrap();
        let mut from = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while from.len() < n / partitions as usize {
            assert!(
                Instant::now() < deadline,
                "partition {partition}: {} records",
                from.len()
            );
            if let Ok(r) = timeout(Duration::from_secs(5), c.recv()).await {
                let m = r.unwrap_or_else(|e| panic!("partition {partition}: {e}"));
                assert_eq!(
                    m.offset,
                    from.len() as i64,
                    "partition {partition}: in order"
                );
                from.push(m.broker);
            }
        }
        assert!(
            from.iter().all(|b| *b == near),
            "partition {partition} (leader {leader}): every record fetched from node {near} in the consumer's rack; fetched from {:?}",
            from.iter().collect::<BTreeSet<_>>()
        );
        c.close_within(Duration::from_secs(10)).await.unwrap();
    }
}

/// librdkafka's idempotent producer with the harness producer's settings:
/// numbered records to partition `i % partitions` at a given rate, then one line per record: `id partition offset` when
/// delivered, `id FAILED code` otherwise.
const RDKAFKA_PRODUCE: &str = r#"
import sys, time
from confluent_kafka import Producer
bootstrap, topic, parts, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
              "max.in.flight.requests.per.connection": 5, "linger.ms": 2, "batch.num.messages": 200,
              "request.timeout.ms": 1500, "socket.timeout.ms": 2000, "retry.backoff.ms": 20,
              "retry.backoff.max.ms": 200, "message.timeout.ms": 60000,
              "queue.buffering.max.messages": 20000})
out = [None] * n
start = time.time()
def cb(err, m):
    i = int(m.value())
    out[i] = "%d FAILED %d" % (i, err.code()) if err else "%d %d %d" % (i, m.partition(), m.offset())
for i in range(n):
    # Paced, so that the faults strike while records are in flight.
    if i % 100 == 0:
        time.sleep(max(0.0, start + i / rate - time.time()))
    while True:
        try:
            p.produce(topic, value=str(i).encode(), partition=i % parts, on_delivery=cb)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)
left = p.flush(120)
sys.stdout.write("\n".join(o or "%d MISSING" % i for i, o in enumerate(out)) + "\n")
sys.stderr.write("flush left %d\n" % left)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn librdkafka_under_the_same_faults_as_the_reference() {
    let Some((_serial, kafka, py)) = peers().await else {
        return;
    };
    let _logs = kafka.logs_on_failure();
    let topic = "e-idempotence-librdkafka";
    let partitions = 6;
    kafka.create_topic(topic, partitions, 3, &[("min.insync.replicas", "2")]);
    let n = records() / 4;
    let child = py
        .command()
        .arg("-c")
        .arg(RDKAFKA_PRODUCE)
        .args([
            &kafka.bootstrap(),
            topic,
            &partitions.to_string(),
            &n.to_string(),
        ])
        // Records per second: the run lasts about 60 s, past the faults,
        // which take 11 s of sleeps plus a broker's restart and two leader
        // lookups (a restart took long enough on a loaded machine for a
        // 40 s run to end first).
        .arg((n / 60).to_string())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the librdkafka producer");
    // The same faults, on a clock: the leader of partition 0 killed and
    // restarted, then frozen past the request timeout.
    std::thread::sleep(Duration::from_secs(2));
    let id = leader(kafka, &py, topic, 0);
    kafka.kill(id);
    std::thread::sleep(Duration::from_secs(3));
    kafka.restart(id);
    let id = leader(kafka, &py, topic, 1);
    kafka.freeze(id);
    std::thread::sleep(Duration::from_secs(6));
    kafka.thaw(id);
    let mut child = child;
    if let Some(status) = child.try_wait().unwrap() {
        let out = child
            .wait_with_output()
            .expect("librdkafka producer output");
        panic!(
            "the librdkafka producer ended ({status}) before the faults did, so they did not strike it: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .expect("librdkafka producer output");
    assert!(
        out.status.success(),
        "librdkafka producer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<harness::Report> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            match f[1] {
                "FAILED" | "MISSING" => harness::Report::Failed {
                    // confluent-kafka does not expose librdkafka's
                    // persistence status: the weakest claim.
                    status: ferrokafka::producer::PersistenceStatus::PossiblyPersisted,
                    code: f
                        .get(2)
                        .and_then(|c| c.parse().ok())
                        .and_then(ferrokafka::ErrorCode::from_code)
                        .unwrap_or(ferrokafka::ErrorCode::Unknown(-1)),
                },
                part => harness::Report::Persisted {
                    partition: part.parse().unwrap(),
                    offset: f[2].parse().unwrap(),
                },
            }
        })
        .collect();
    assert_eq!(reports.len(), n, "a report per record");
    heal(kafka);
    let logs = read_back(&kafka.bootstrap(), topic, partitions).await;
    let mut f = check(&reports, &logs, partitions);
    f.faults = 2;
    print(
        &format!("librdkafka on apache-kafka 3 nodes, {n} records"),
        &f,
    );
    assert_eq!((f.persisted, f.in_log), (n, n), "librdkafka: {f:?}");
}
