//! Fetch sessions (KIP-227) on the wire: creating a session, incremental
//! fetches that carry only what changed and answer only partitions with
//! something new, forgetting partitions, session errors, closing, topic
//! ids, and the bounded cache.

mod common;

use common::*;
use ferrokafka_mock::MockCluster;
use kafka_protocol::messages::*;

/// One broker, so every partition of `t` is led by broker 1.
async fn cluster(slots: usize) -> MockCluster {
    MockCluster::builder()
        .brokers(1)
        .topic("t", 3, 1)
        .fetch_session_cache_slots(slots)
        .build()
        .await
        .expect("cluster starts")
}

async fn client(c: &MockCluster) -> Client {
    Client::connect(c.broker_addr(1).unwrap()).await.unwrap()
}

/// A session Fetch: `parts` as (partition, offset), `forget` partitions.
fn session_req(
    id: i32,
    epoch: i32,
    topic_id: uuid::Uuid,
    parts: &[(i32, i64)],
    forget: &[i32],
) -> RequestKind {
    let mut r = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(20)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_session_id(id)
        .with_session_epoch(epoch);
    if !parts.is_empty() {
        r.topics.push(
            fetch_request::FetchTopic::default()
                .with_topic(name("t"))
                .with_topic_id(topic_id)
                .with_partitions(
                    parts
                        .iter()
                        .map(|(p, o)| {
                            fetch_request::FetchPartition::default()
                                .with_partition(*p)
                                .with_fetch_offset(*o)
                                .with_partition_max_bytes(1 << 20)
                        })
                        .collect(),
                ),
        );
    }
    if !forget.is_empty() {
        r.forgotten_topics_data.push(
            fetch_request::ForgottenTopic::default()
                .with_topic(name("t"))
                .with_topic_id(topic_id)
                .with_partitions(forget.to_vec()),
        );
    }
    RequestKind::Fetch(r)
}

/// (session id, top-level error, [(partition, error, high watermark, record batches)]).
type Answer = (i32, i16, Vec<(i32, i16, i64, usize)>);

async fn fetch(cl: &mut Client, version: i16, req: RequestKind) -> Answer {
    let ResponseKind::Fetch(r) = cl.call(ApiKey::Fetch, version, req).await.unwrap() else {
        panic!("not a fetch response")
    };
    let parts = r
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            (
                p.partition_index,
                p.error_code,
                p.high_watermark,
                batches_in(p.records.as_deref().unwrap_or_default()).len(),
            )
        })
        .collect();
    (r.session_id, r.error_code, parts)
}

async fn produce(cl: &mut Client, partition: i32, values: &[&[u8]]) {
    let r = cl
        .call(
            ApiKey::Produce,
            9,
            produce_req("t", partition, 1, batch(values)),
        )
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 0, "produce to partition {partition}");
}

async fn topic_id(cl: &mut Client) -> uuid::Uuid {
    let ResponseKind::Metadata(m) = cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap()
    else {
        panic!("not a metadata response")
    };
    m.topics[0].topic_id
}

#[tokio::test]
async fn incremental_fetches_carry_and_answer_only_what_changed() {
    let c = cluster(1000).await;
    let mut cl = client(&c).await;
    produce(&mut cl, 0, &[b"a", b"b"]).await;
    let nil = uuid::Uuid::nil();

    let (id, err, parts) = fetch(
        &mut cl,
        12,
        session_req(0, 0, nil, &[(0, 0), (1, 0), (2, 0)], &[]),
    )
    .await;
    assert_ne!(id, 0, "epoch 0 creates a session");
    assert_eq!(err, 0);
    assert_eq!(parts, vec![(0, 0, 2, 1), (1, 0, 0, 0), (2, 0, 0, 0)]);

    // Partition 0 moved past its records; nothing new anywhere: an empty
    // answer after the wait.
    let (sid, err, parts) = fetch(&mut cl, 12, session_req(id, 1, nil, &[(0, 2)], &[])).await;
    assert_eq!((sid, err), (id, 0));
    assert_eq!(parts, vec![]);

    // New records on partition 1 only: only partition 1 is answered, from
    // the offset the session holds for it.
    produce(&mut cl, 1, &[b"c"]).await;
    let (_, _, parts) = fetch(&mut cl, 12, session_req(id, 2, nil, &[], &[])).await;
    assert_eq!(parts, vec![(1, 0, 1, 1)]);

    // Partition 2 forgotten: its new records are not answered; partition 1
    // moved on.
    produce(&mut cl, 2, &[b"d"]).await;
    let (_, _, parts) = fetch(&mut cl, 12, session_req(id, 3, nil, &[(1, 1)], &[2])).await;
    assert_eq!(parts, vec![]);

    // Added back: answered (a partition new to the session always is).
    let (_, _, parts) = fetch(&mut cl, 12, session_req(id, 4, nil, &[(2, 0)], &[])).await;
    assert_eq!(parts, vec![(2, 0, 1, 1)]);

    // An error is always answered; so is the partition once it clears.
    c.move_leader("t", 0, 1).unwrap(); // same broker, epoch 1
                                       // Partition 2 moves past its record too.
    let mut req = session_req(id, 5, nil, &[(0, 2), (2, 1)], &[]);
    if let RequestKind::Fetch(f) = &mut req {
        f.topics[0].partitions[0].current_leader_epoch = 0;
    }
    let (_, _, parts) = fetch(&mut cl, 12, req).await;
    assert_eq!(parts, vec![(0, 74, -1, 0)], "FENCED_LEADER_EPOCH");
    let mut req = session_req(id, 6, nil, &[(0, 2)], &[]);
    if let RequestKind::Fetch(f) = &mut req {
        f.topics[0].partitions[0].current_leader_epoch = 1;
    }
    let (_, _, parts) = fetch(&mut cl, 12, req).await;
    assert_eq!(parts, vec![(0, 0, 2, 0)]);

    let st = c.fetch_session_stats();
    assert_eq!((st.created, st.incremental, st.open), (1, 6, 1));
}

#[tokio::test]
async fn session_errors_close_and_sessionless_fetches() {
    let c = cluster(1000).await;
    let mut cl = client(&c).await;
    let nil = uuid::Uuid::nil();
    let (id, _, _) = fetch(&mut cl, 12, session_req(0, 0, nil, &[(0, 0)], &[])).await;
    assert_ne!(id, 0);

    let (sid, err, parts) = fetch(&mut cl, 12, session_req(id + 1, 1, nil, &[], &[])).await;
    assert_eq!(
        (sid, err, parts.len()),
        (0, 70, 0),
        "FETCH_SESSION_ID_NOT_FOUND"
    );
    let (sid, err, parts) = fetch(&mut cl, 12, session_req(id, 2, nil, &[], &[])).await;
    assert_eq!(
        (sid, err, parts.len()),
        (0, 71, 0),
        "INVALID_FETCH_SESSION_EPOCH"
    );
    // Refusals change nothing: epoch 1 is still the one expected.
    let (sid, err, _) = fetch(&mut cl, 12, session_req(id, 1, nil, &[], &[])).await;
    assert_eq!((sid, err), (id, 0));

    // Epoch -1 with the id closes the session and is answered in full
    // without one.
    let (sid, err, parts) = fetch(
        &mut cl,
        12,
        session_req(id, -1, nil, &[(0, 0), (1, 0)], &[]),
    )
    .await;
    assert_eq!((sid, err, parts.len()), (0, 0, 2));
    let (_, err, _) = fetch(&mut cl, 12, session_req(id, 2, nil, &[], &[])).await;
    assert_eq!(err, 70);
    // Before v7 there are no sessions.
    let (sid, err, parts) = fetch(&mut cl, 6, session_req(0, 0, nil, &[(0, 0)], &[])).await;
    assert_eq!((sid, err, parts.len()), (0, 0, 1));

    let st = c.fetch_session_stats();
    assert_eq!(
        (
            st.created,
            st.closed,
            st.id_not_found,
            st.invalid_epoch,
            st.open
        ),
        (1, 1, 2, 1, 0)
    );
}

#[tokio::test]
async fn sessions_by_topic_id_from_v13() {
    let c = cluster(1000).await;
    let mut cl = client(&c).await;
    produce(&mut cl, 1, &[b"x"]).await;
    let tid = topic_id(&mut cl).await;
    let (id, err, parts) = fetch(&mut cl, 13, session_req(0, 0, tid, &[(0, 0), (1, 0)], &[])).await;
    assert_ne!(id, 0);
    assert_eq!((err, parts), (0, vec![(0, 0, 0, 0), (1, 0, 1, 1)]));
    produce(&mut cl, 0, &[b"y"]).await;
    // Forget partition 1 by id; partition 0 has news.
    let (_, err, parts) = fetch(&mut cl, 13, session_req(id, 1, tid, &[], &[1])).await;
    assert_eq!((err, parts), (0, vec![(0, 0, 1, 1)]));
    // The same session continued with names: inconsistent topic id usage.
    let (_, err, _) = fetch(&mut cl, 12, session_req(id, 2, tid, &[], &[])).await;
    assert_eq!(err, 106, "FETCH_SESSION_TOPIC_ID_ERROR");
}

#[tokio::test]
async fn cache_is_bounded_and_sessions_can_be_evicted() {
    let c = cluster(1).await;
    let mut a = client(&c).await;
    let mut b = client(&c).await;
    let nil = uuid::Uuid::nil();
    let (ida, _, _) = fetch(&mut a, 12, session_req(0, 0, nil, &[(0, 0)], &[])).await;
    let (idb, _, _) = fetch(&mut b, 12, session_req(0, 0, nil, &[(1, 0)], &[])).await;
    assert!(ida != 0 && idb != 0 && ida != idb);
    // One slot: `a`'s session made room for `b`'s.
    let (_, err, _) = fetch(&mut a, 12, session_req(ida, 1, nil, &[], &[])).await;
    assert_eq!(err, 70);
    let (_, err, _) = fetch(&mut b, 12, session_req(idb, 1, nil, &[], &[])).await;
    assert_eq!(err, 0);
    let st = c.fetch_session_stats();
    assert_eq!((st.created, st.evicted, st.open), (2, 1, 1));

    // The control line drops the broker's sessions, as a restart would.
    assert_eq!(c.apply_control("evict-sessions 1"), Ok("ok".into()));
    let (_, err, _) = fetch(&mut b, 12, session_req(idb, 2, nil, &[], &[])).await;
    assert_eq!(err, 70);
    assert!(c.apply_control("evict-sessions 9").is_err());

    // No slots: every fetch is answered in full without a session.
    let none = cluster(0).await;
    let mut cl = client(&none).await;
    let (sid, err, parts) =
        fetch(&mut cl, 12, session_req(0, 0, nil, &[(0, 0), (2, 0)], &[])).await;
    assert_eq!((sid, err, parts.len()), (0, 0, 2));
    assert_eq!(none.fetch_session_stats().created, 0);
}

/// kafka-python's consumer uses incremental fetch sessions: it reads
/// everything once from 4 partitions, records arriving while it waits in
/// its sessions, and the cache saw incremental fetches.
#[test]
fn kafka_python_consumer_reads_everything_through_sessions() {
    let Some(python) = ferrokafka_peers::python_with(&["kafka"]) else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("py", 4, 1)
        .build_blocking()
        .expect("mock cluster starts");
    // Produces 100 records per partition, consumes them, produces 100 more
    // and consumes those: every (partition, offset) once, values matching.
    let script = r#"
import sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
boot = sys.argv[1].split(",")
deadline = time.monotonic() + 60
p = KafkaProducer(bootstrap_servers=boot)
c = KafkaConsumer(bootstrap_servers=boot, enable_auto_commit=False,
                  auto_offset_reset="earliest", fetch_max_wait_ms=50,
                  max_partition_fetch_bytes=2048)
c.assign([TopicPartition("py", i) for i in range(4)])
seen = set()
for rnd in range(2):
    for part in range(4):
        for i in range(100):
            p.send("py", value=b"%d-%d" % (part, rnd * 100 + i), partition=part)
    p.flush(timeout=20)
    while len(seen) < (rnd + 1) * 400:
        if time.monotonic() > deadline:
            sys.exit("timed out at %d records" % len(seen))
        for tp, msgs in c.poll(timeout_ms=500).items():
            for m in msgs:
                key = (m.partition, m.offset)
                if key in seen or m.value != b"%d-%d" % key:
                    sys.exit("repeated or wrong record %r: %r" % (key, m.value))
                seen.add(key)
print("PASS %d" % len(seen))
"#;
    let out = ferrokafka_peers::run_bounded(
        python
            .command()
            .arg("-c")
            .arg(script)
            .arg(cluster.bootstrap_servers()),
        std::time::Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("PASS 800"),
        "kafka-python consumer failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let st = cluster.fetch_session_stats();
    assert!(st.created >= 1 && st.incremental > 0, "{st:?}");
    assert_eq!((st.id_not_found, st.invalid_epoch), (0, 0), "{st:?}");
}
