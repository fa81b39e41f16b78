//! Fetch sessions (KIP-227) between the consumer and the embedded mock:
//! every record read exactly once through incremental fetches, partitions
//! assigned and unassigned mid-stream (forgotten by the session), and
//! recovery from sessions the broker evicted, refused or lost with the
//! connection.

use ferrokafka::consumer::{Consumer, ConsumerError, Message, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::timeout;

const TOPIC: &str = "sessions";
const FETCH: i16 = 1;
const INVALID_FETCH_SESSION_EPOCH: i16 = 71;

async fn cluster(partitions: i32, slots: usize) -> MockCluster {
    MockCluster::builder()
        .brokers(3)
        .topic(TOPIC, partitions, 1)
        .fetch_session_cache_slots(slots)
        .build()
        .await
        .unwrap()
}

fn value(partition: i32, offset: i64) -> String {
    format!("p{partition}-o{offset}")
}

/// Produces `per_partition` records to each partition in `parts`, the
/// values naming their partition and offset (`next` holds each partition's
/// next offset and is advanced).
async fn produce(
    cluster: &MockCluster,
    parts: &[i32],
    per_partition: i64,
    next: &mut BTreeMap<i32, i64>,
) {
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("linger.ms", "2")
            .set("message.timeout.ms", "10000"),
    )
    .unwrap();
    for &part in parts {
        let start = *next.entry(part).or_default();
        for o in start..start + per_partition {
            let r = ProducerRecord::new(TOPIC.to_string())
                .partition(part)
                .value(value(part, o));
            let _delivery = p.send(r).expect("queued");
        }
        next.insert(part, start + per_partition);
    }
    tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("flush completes");
}

fn consumer(cluster: &MockCluster) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("fetch.wait.max.ms", "50")
            // Small fetches: many requests per partition, most incremental.
            .set("max.partition.fetch.bytes", "2048")
            .set("fetch.error.backoff.ms", "50"),
    )
    .unwrap()
}

async fn next(c: &Consumer) -> Result<Message, ConsumerError> {
    timeout(Duration::from_secs(10), c.recv())
        .await
        .expect("a message or event within 10 s")
}

/// Reads until every partition of `want` reached its offset, checking that
/// each partition's records come in order from `from` with no gap and no
/// repeat, and that nothing else arrives.
async fn read_up_to(c: &Consumer, from: &mut BTreeMap<i32, i64>, want: &BTreeMap<i32, i64>) {
    let left = |from: &BTreeMap<i32, i64>| {
        want.iter()
            .any(|(p, end)| from.get(p).copied().unwrap_or(0) < *end)
    };
    let mut n = 0usize;
    while left(from) {
        n += 1;
        assert!(n < 1_000_000, "bounded");
        let m = match next(c).await {
            Ok(m) => m,
            Err(e) if e.is_eof() => continue,
            Err(e) => panic!("unexpected consumer error: {e}"),
        };
        let at = from.entry(m.partition).or_default();
        assert!(
            want.contains_key(&m.partition),
            "a record of partition {} that is not assigned",
            m.partition
        );
        assert_eq!(m.offset, *at, "partition {}: gap or repeat", m.partition);
        let v = value(m.partition, m.offset);
        assert_eq!(m.value(), Some(v.as_bytes()));
        *at += 1;
    }
    // Nothing more: no repeats after the end.
    if let Ok(r) = timeout(Duration::from_millis(300), c.recv()).await {
        match r {
            Ok(m) => panic!(
                "record past the end: partition {} offset {}",
                m.partition, m.offset
            ),
            Err(e) => assert!(e.is_eof(), "unexpected consumer error: {e}"),
        }
    }
}

fn assign_all(c: &Consumer, parts: &[i32]) {
    let a: Vec<(&str, i32, Offset)> = parts
        .iter()
        .map(|p| (TOPIC, *p, Offset::Beginning))
        .collect();
    c.assign(&a).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_partitions_read_once_through_incremental_fetches() {
    let cluster = cluster(8, 1000).await;
    let parts: Vec<i32> = (0..8).collect();
    let mut produced = BTreeMap::new();
    produce(&cluster, &parts, 300, &mut produced).await;
    let c = consumer(&cluster);
    assign_all(&c, &parts);
    let mut read = BTreeMap::new();
    read_up_to(&c, &mut read, &produced).await;
    let before = cluster.fetch_session_stats();
    assert!(before.created >= 1, "sessions created: {before:?}");
    assert!(before.incremental > 0, "incremental fetches: {before:?}");
    // More records while the consumer waits in its sessions.
    produce(&cluster, &parts, 200, &mut produced).await;
    read_up_to(&c, &mut read, &produced).await;
    let after = cluster.fetch_session_stats();
    assert!(
        after.incremental > before.incremental,
        "{before:?} -> {after:?}"
    );
    // One session per broker, none refused.
    assert!(after.created <= 3, "{after:?}");
    assert_eq!((after.id_not_found, after.invalid_epoch), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assign_and_unassign_mid_stream() {
    let cluster = cluster(6, 1000).await;
    let parts: Vec<i32> = (0..6).collect();
    let mut produced = BTreeMap::new();
    produce(&cluster, &parts, 100, &mut produced).await;
    let c = consumer(&cluster);
    assign_all(&c, &parts);
    let mut read = BTreeMap::new();
    read_up_to(&c, &mut read, &produced).await;

    // Partitions 1 and 4 leave (their sessions forget them); more records
    // everywhere: only the assigned ones are read.
    c.incremental_unassign(&[(TOPIC, 1), (TOPIC, 4)]).unwrap();
    produce(&cluster, &parts, 100, &mut produced).await;
    let mut want = produced.clone();
    want.remove(&1);
    want.remove(&4);
    let mut left_at = BTreeMap::new();
    for p in [1, 4] {
        left_at.insert(p, read.remove(&p).unwrap());
    }
    read_up_to(&c, &mut read, &want).await;

    // Back at where they left off: the rest of them, once.
    c.incremental_assign(&[
        (TOPIC, 1, Offset::Offset(left_at[&1])),
        (TOPIC, 4, Offset::Offset(left_at[&4])),
    ])
    .unwrap();
    read.extend(left_at);
    read_up_to(&c, &mut read, &produced).await;
    let st = cluster.fetch_session_stats();
    assert!(st.incremental > 0, "{st:?}");
    assert_eq!((st.id_not_found, st.invalid_epoch), (0, 0), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_refused_and_lost_sessions_recover_without_loss_or_repeats() {
    let cluster = cluster(8, 1000).await;
    let parts: Vec<i32> = (0..8).collect();
    let mut produced = BTreeMap::new();
    let c = consumer(&cluster);
    assign_all(&c, &parts);
    let mut read = BTreeMap::new();
    produce(&cluster, &parts, 100, &mut produced).await;
    read_up_to(&c, &mut read, &produced).await;

    // Every broker forgets its sessions (as after a restart).
    for b in cluster.broker_ids() {
        cluster.evict_fetch_sessions(b).unwrap();
    }
    produce(&cluster, &parts, 100, &mut produced).await;
    read_up_to(&c, &mut read, &produced).await;
    let st = cluster.fetch_session_stats();
    assert!(
        st.id_not_found > 0,
        "the evicted sessions were used: {st:?}"
    );

    // A wrong-epoch refusal.
    cluster.push_request_errors(FETCH, &[INVALID_FETCH_SESSION_EPOCH]);
    produce(&cluster, &parts, 100, &mut produced).await;
    read_up_to(&c, &mut read, &produced).await;

    // Connections lost: each broker's next session is opened with the old
    // id, which closes the old one.
    let closed = cluster.fetch_session_stats().closed;
    // The consumer is the only client left: its next fetch to each broker
    // is answered and then the connection closes.
    for b in cluster.broker_ids() {
        cluster.close_connection_after(b, 1).unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    produce(&cluster, &parts, 100, &mut produced).await;
    read_up_to(&c, &mut read, &produced).await;
    let st = cluster.fetch_session_stats();
    assert!(st.closed > closed, "{st:?}");
    assert!(st.open <= 3, "old sessions closed, not leaked: {st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consumers_sharing_one_slot_and_a_broker_without_sessions() {
    // One slot per broker: two consumers keep evicting each other's session.
    let cluster = cluster(4, 1).await;
    let parts: Vec<i32> = (0..4).collect();
    let mut produced = BTreeMap::new();
    produce(&cluster, &parts, 200, &mut produced).await;
    let (a, b) = (consumer(&cluster), consumer(&cluster));
    assign_all(&a, &parts);
    assign_all(&b, &parts);
    let (mut ra, mut rb) = (BTreeMap::new(), BTreeMap::new());
    let (x, y) = tokio::join!(
        read_up_to(&a, &mut ra, &produced),
        read_up_to(&b, &mut rb, &produced)
    );
    let ((), ()) = (x, y);
    let st = cluster.fetch_session_stats();
    assert!(st.evicted > 0, "{st:?}");

    // No slots at all: full fetches, still everything once.
    let none = cluster_without_sessions().await;
    let mut produced = BTreeMap::new();
    produce(&none, &parts, 200, &mut produced).await;
    let c = consumer(&none);
    assign_all(&c, &parts);
    let mut read = BTreeMap::new();
    read_up_to(&c, &mut read, &produced).await;
    let st = none.fetch_session_stats();
    assert_eq!((st.created, st.incremental), (0, 0), "{st:?}");
    assert!(st.sessionless > 0, "{st:?}");
}

async fn cluster_without_sessions() -> MockCluster {
    cluster(4, 0).await
}
