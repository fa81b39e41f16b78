//! ferrokafka and librdkafka (confluent-kafka) in one consumer group, on
//! librdkafka's mock cluster and on ferrokafka-mock: they share the
//! partitions (same assignor protocol), offsets committed by one are
//! where the other starts, and commit metadata strings cross over both
//! ways.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use ferrokafka_peers::{python_with, RdkafkaMock};
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 4;

/// A confluent-kafka group member: consumes for `secs` seconds (or until
/// `max` records, or until `idle` seconds pass without a record once one
/// arrived), printing `assigned T:P,...` on each assignment and each
/// record's value; commits synchronously and closes. With a `ready` file it
/// also writes each non-empty assignment there, so the test can wait for
/// the group to settle instead of guessing how long joining takes.
const MEMBER: &str = r#"
import sys, time
from confluent_kafka import Consumer
bootstrap, group, topic, secs, maxn = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
idle = float(sys.argv[6]) if len(sys.argv) > 6 else None
ready = sys.argv[7] if len(sys.argv) > 7 else None
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False, "partition.assignment.strategy": "range",
              "heartbeat.interval.ms": 100, "session.timeout.ms": 6000})
def on_assign(cons, parts):
    line = ",".join("%s:%d" % (p.topic, p.partition) for p in parts)
    print("assigned " + line, flush=True)
    if ready and parts:
        with open(ready, "a") as f:
            f.write(line + "\n")
c.subscribe([topic], on_assign=on_assign)
n, end, last = 0, time.time() + secs, None
while time.time() < end and n < maxn:
    if idle is not None and last is not None and time.time() - last > idle:
        break
    m = c.poll(0.1)
    if m is None or m.error():
        continue
    print(m.value().decode(), flush=True)
    n += 1
    last = time.time()
    c.commit(message=m, asynchronous=False)
c.close()
"#;

fn produce(bootstrap: &str, topic: &str, range: std::ops::Range<usize>, partitions: i32) {
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", bootstrap)).unwrap();
    for i in range {
        let _delivery = p
            .send(
                ProducerRecord::new(topic)
                    .partition(i as i32 % partitions)
                    .value(format!("v{i}")),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

fn ferrokafka_member(bootstrap: &str, group: &str, topic: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferrokafka"));
    c.args(["consume", "-b", bootstrap, "-G", group])
        .args(["-X", "partition.assignment.strategy=range"])
        .args([
            "-X",
            "heartbeat.interval.ms=100",
            "-X",
            "session.timeout.ms=6000",
        ])
        .args(extra)
        .arg(topic);
    c
}

fn values(s: &str) -> BTreeSet<String> {
    s.lines()
        .filter(|l| l.starts_with('v'))
        .map(str::to_string)
        .collect()
}

/// Both clients in one group: each ends with a share, together they read
/// every record.
fn share(bootstrap: &str, py: &ferrokafka_peers::Python, topic: &str) {
    // Tests run in parallel in one process: the cluster's address keeps
    // their files apart.
    let dir = std::env::temp_dir().join(format!(
        "ferrokafka-group-interop-{}-{topic}-{}",
        std::process::id(),
        bootstrap.replace([':', ',', '.'], "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, err) = (dir.join("out"), dir.join("err"));
    let mut ours = ferrokafka_member(bootstrap, "g-share", topic, &[])
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .unwrap();
    let bs = bootstrap.to_string();
    let t = topic.to_string();
    let ready = dir.join("ready");
    let ready_path = ready.to_string_lossy().to_string();
    // Records go out once librdkafka holds half the partitions, so ours
    // holds the other half of the same generation: rebalances on
    // librdkafka's mock can take several rounds (see below), and records
    // produced before that would all go to whichever member joined first.
    let producer = std::thread::spawn(move || {
        let settle = Instant::now() + Duration::from_secs(40);
        while Instant::now() < settle {
            let text = std::fs::read_to_string(&ready).unwrap_or_default();
            let halves = text
                .lines()
                .last()
                .is_some_and(|l| l.matches(':').count() as i32 == PARTITIONS / 2);
            if halves {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        produce(&bs, &t, 0..40, PARTITIONS);
    });
    let theirs = py.run_timeout(
        MEMBER,
        &[bootstrap, "g-share", topic, "50", "1000", "4", &ready_path],
        Duration::from_secs(80),
    );
    producer.join().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let all: BTreeSet<String> = (0..40).map(|i| format!("v{i}")).collect();
    let theirs_out = String::from_utf8_lossy(&theirs.stdout).to_string();
    loop {
        let seen: BTreeSet<String> = values(&theirs_out)
            .union(&values(&std::fs::read_to_string(&out).unwrap_or_default()))
            .cloned()
            .collect();
        if all.is_subset(&seen) || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = ours.kill();
    let _ = ours.wait();
    let ours_out = std::fs::read_to_string(&out).unwrap_or_default();
    let ours_err = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(
        theirs.status.success(),
        "confluent member: {}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    let (a, b) = (values(&theirs_out), values(&ours_out));
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both members consume: theirs {a:?} ours {b:?}\n{ours_err}"
    );
    let union: BTreeSet<String> = a.union(&b).cloned().collect();
    assert_eq!(
        union, all,
        "together they read every record\n{ours_err}\n{theirs_out}"
    );
    // librdkafka's last assignment and ours were disjoint halves.
    let last_theirs = theirs_out
        .lines()
        .rfind(|l| l.starts_with("assigned "))
        .unwrap_or("");
    assert_eq!(last_theirs.matches(':').count(), 2, "{theirs_out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Offsets committed by one client are the start of the other, both ways.
fn offsets_carry_over(bootstrap: &str, py: &ferrokafka_peers::Python, topic: &str) {
    produce(bootstrap, topic, 0..30, 1);
    // librdkafka consumes and commits the first 10...
    let theirs = py.run_timeout(
        MEMBER,
        &[bootstrap, "g-carry", topic, "20", "10"],
        Duration::from_secs(60),
    );
    assert!(
        theirs.status.success(),
        "{}",
        String::from_utf8_lossy(&theirs.stderr)
    );
    // ...ferrokafka goes on from v10 and commits on close after 10 more...
    let ours = ferrokafka_peers::run_bounded(
        &mut ferrokafka_member(
            bootstrap,
            "g-carry",
            topic,
            &["-c", "10", "-X", "enable.auto.commit=true"],
        ),
        Duration::from_secs(60),
    );
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let first = String::from_utf8_lossy(&ours.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    assert_eq!(first, "v10", "ferrokafka starts where librdkafka committed");
    // ...and librdkafka resumes at v20.
    let theirs = py.run_timeout(
        MEMBER,
        &[bootstrap, "g-carry", topic, "20", "1"],
        Duration::from_secs(60),
    );
    let out = String::from_utf8_lossy(&theirs.stdout).to_string();
    let first = out.lines().find(|l| l.starts_with('v')).unwrap_or("");
    assert_eq!(
        first, "v20",
        "librdkafka starts where ferrokafka committed: {out}"
    );
}

/// Commits offset 5 of `topic` [0] with metadata `from-python` for
/// `group`, then prints the committed offset and metadata of [1].
const METADATA: &str = r#"
import sys
from confluent_kafka import Consumer, TopicPartition
bootstrap, group, topic = sys.argv[1], sys.argv[2], sys.argv[3]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
c.commit(offsets=[TopicPartition(topic, 0, 5, "from-python")], asynchronous=False)
tp = c.committed([TopicPartition(topic, 1)], timeout=10)[0]
print("%d %s" % (tp.offset, tp.metadata), flush=True)
c.close()
"#;

/// Metadata committed by ferrokafka reads back in librdkafka and the other
/// way round.
fn metadata_crosses_over(bootstrap: &str, py: &ferrokafka_peers::Python, topic: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = ferrokafka::consumer::Consumer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .set("group.id", "g-meta"),
        )
        .unwrap();
        c.commit_offsets_with_metadata(&[(topic, 1, 7, "from-ferrokafka")])
            .await
            .unwrap();
        let theirs = py.run_timeout(
            METADATA,
            &[bootstrap, "g-meta", topic],
            Duration::from_secs(60),
        );
        let out = String::from_utf8_lossy(&theirs.stdout).to_string();
        assert!(
            theirs.status.success(),
            "{}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        assert_eq!(
            out.trim(),
            "7 from-ferrokafka",
            "librdkafka reads our metadata"
        );
        let got = c
            .committed_with_metadata(&[(topic, 0)], Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(got[0].offset, Some(5));
        // confluent-kafka's binding commits the string with its C
        // terminator; we return what was stored.
        assert_eq!(
            got[0].metadata.trim_end_matches('\0'),
            "from-python",
            "we read librdkafka's metadata"
        );
    });
}

// librdkafka's mock advertises flexible group versions it cannot parse (the
// client steps down to non-flexible ones) and answers a follower SyncGroup
// arriving after the leader's with INVALID_REQUEST, making the follower
// rejoin (a leader that refreshes metadata first, as librdkafka's does, is
// rarely that fast).
#[test]
fn with_librdkafka_on_librdkafka_mock() {
    let Some(py) = python_with(&["confluent_kafka"]) else {
        return;
    };
    let Some(mock) = RdkafkaMock::start(1, &["share:4", "carry:1", "meta:2"]) else {
        return;
    };
    share(mock.bootstrap(), &py, "share");
    offsets_carry_over(mock.bootstrap(), &py, "carry");
    metadata_crosses_over(mock.bootstrap(), &py, "meta");
}

#[test]
fn with_librdkafka_on_ferrokafka_mock() {
    let Some(py) = python_with(&["confluent_kafka"]) else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("share", PARTITIONS, 1)
        .topic("carry", 1, 1)
        .topic("meta", 2, 1)
        .build_blocking()
        .unwrap();
    let b = cluster.bootstrap_servers();
    share(&b, &py, "share");
    offsets_carry_over(&b, &py, "carry");
    metadata_crosses_over(&b, &py, "meta");
}
