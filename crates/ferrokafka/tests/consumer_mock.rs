//! The consumer against the embedded mock cluster: every codec read back,
//! auto.offset.reset, a leader move mid-consumption, bounded prefetch with a
//! slow application, seek/pause/resume, end-of-partition events,
//! watermarks, offsets by time, commits.

use bytes::Bytes;
use ferrokafka::consumer::{Consumer, ConsumerError, Message, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::TopicPartition;
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::timeout;

fn producer(cluster: &MockCluster, codec: &str) -> Producer {
    producer_with(cluster, codec, &[])
}

fn producer_with(cluster: &MockCluster, codec: &str, extra: &[(&str, &str)]) -> Producer {
    let mut c = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("linger.ms", "2")
        .set("compression.codec", codec)
        .set("message.timeout.ms", "10000");
    for (k, v) in extra {
        c = c.set(*k, *v);
    }
    Producer::new(&c).unwrap()
}

/// Queues a record; delivery is checked by `flush`.
fn send(p: &Producer, r: ProducerRecord) {
    let _delivery = p.send(r).expect("queued");
}

async fn flush(p: &Producer) {
    let p = p.clone();
    tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("flush completes");
}

/// The i-th test record: some with null keys, null values, headers.
fn record(topic: &str, partition: i32, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic.to_string()).partition(partition);
    if i % 5 != 1 {
        r = r.key(format!("key-{i}"));
    }
    if i % 7 != 3 {
        r = r.value(format!("value-{i}-{}", "x".repeat(i % 50)));
    }
    if i % 3 == 0 {
        r = r.header("h1", format!("a{i}")).header("h2", Bytes::new());
    }
    r.timestamp(1_700_000_000_000 + i as i64)
}

async fn produce(cluster: &MockCluster, codec: &str, topic: &str, partitions: i32, n: usize) {
    let p = producer(cluster, codec);
    for i in 0..n {
        send(&p, record(topic, i as i32 % partitions, i));
    }
    flush(&p).await;
}

fn consumer(cluster: &MockCluster, extra: &[(&str, &str)]) -> Consumer {
    let mut c = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("fetch.wait.max.ms", "50");
    for (k, v) in extra {
        c = c.set(*k, *v);
    }
    Consumer::new(&c).unwrap()
}

async fn next(c: &Consumer) -> Result<Message, ConsumerError> {
    timeout(Duration::from_secs(10), c.recv())
        .await
        .expect("a message or event within 10 s")
}

/// Receives `n` messages (events other than EOF are failures).
async fn take(c: &Consumer, n: usize) -> Vec<Message> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        match next(c).await {
            Ok(m) => out.push(m),
            Err(e) if e.is_eof() => {}
            Err(e) => panic!("unexpected consumer error: {e}"),
        }
    }
    out
}

fn check(m: &Message, topic: &str, partitions: i32) {
    // Records were sent round-robin by index: index = offset * partitions + partition.
    let i = (m.offset * i64::from(partitions) + i64::from(m.partition)) as usize;
    let want = record(topic, m.partition, i);
    assert_eq!(m.key(), want.key_bytes().map(|b| &b[..]), "key of #{i}");
    assert_eq!(
        m.value(),
        want.value_bytes().map(|b| &b[..]),
        "value of #{i}"
    );
    assert_eq!(m.headers(), want.header_list(), "headers of #{i}");
    assert_eq!(
        m.timestamp.millis(),
        want.timestamp_ms(),
        "timestamp of #{i}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_is_read_back_in_order() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        cluster.create_topic(&topic, 3, 2).unwrap();
        produce(&cluster, codec, &topic, 3, 300).await;
        let c = consumer(&cluster, &[]);
        c.assign(&[
            (&topic, 0, Offset::Beginning),
            (&topic, 1, Offset::Beginning),
            (&topic, 2, Offset::Beginning),
        ])
        .unwrap();
        let got = take(&c, 300).await;
        let mut last: HashMap<i32, i64> = HashMap::new();
        for m in &got {
            let prev = last.insert(m.partition, m.offset).unwrap_or(-1);
            assert_eq!(
                m.offset,
                prev + 1,
                "{codec}: partition {} in order",
                m.partition
            );
            check(m, &topic, 3);
        }
        assert_eq!(c.position(&topic, 0), Some(100));
        assert_eq!(c.watermarks(&topic, 1), Some((0, 100)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_offset_reset_earliest_latest_and_error() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("r", 1, 1)
        .build()
        .await
        .unwrap();
    produce(&cluster, "none", "r", 1, 10).await;

    let c = consumer(&cluster, &[("auto.offset.reset", "earliest")]);
    c.assign(&[("r", 0, Offset::Offset(1000))]).unwrap();
    assert_eq!(
        take(&c, 1).await[0].offset,
        0,
        "earliest restarts at the log start"
    );

    let c = consumer(&cluster, &[("auto.offset.reset", "latest")]);
    c.assign(&[("r", 0, Offset::Offset(1000))]).unwrap();
    assert!(
        timeout(Duration::from_millis(500), c.recv()).await.is_err(),
        "latest waits for new records"
    );
    let p = producer(&cluster, "none");
    send(&p, record("r", 0, 10));
    flush(&p).await;
    let m = take(&c, 1).await;
    assert_eq!(m[0].offset, 10);

    let c = consumer(&cluster, &[("auto.offset.reset", "error")]);
    c.assign(&[("r", 0, Offset::Offset(1000))]).unwrap();
    let e = next(&c).await.expect_err("an error, not a message");
    assert_eq!(e.code(), ErrorCode::AutoOffsetReset);
    assert_eq!((e.topic(), e.partition_id()), (Some("r"), Some(0)));
    // The application decides: seek to a valid offset and go on.
    c.seek("r", 0, Offset::Offset(4)).unwrap();
    assert_eq!(take(&c, 1).await[0].offset, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_move_mid_consumption_skips_and_repeats_nothing() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("lm", 2, 3)
        .build()
        .await
        .unwrap();
    produce(&cluster, "lz4", "lm", 2, 400).await;
    let c = consumer(
        &cluster,
        &[
            ("fetch.message.max.bytes", "2000"),
            ("queued.min.messages", "20"),
        ],
    );
    c.assign(&[("lm", 0, Offset::Beginning), ("lm", 1, Offset::Beginning)])
        .unwrap();
    let mut got = take(&c, 100).await;
    for p in 0..2 {
        let old = cluster.partition_leader("lm", p).unwrap();
        let new = cluster
            .broker_ids()
            .into_iter()
            .find(|b| *b != old)
            .unwrap();
        cluster.move_leader("lm", p, new).unwrap();
    }
    let p = producer(&cluster, "lz4");
    for i in 400..600 {
        send(&p, record("lm", i as i32 % 2, i));
    }
    flush(&p).await;
    got.extend(take(&c, 500).await);
    let mut per: HashMap<i32, Vec<i64>> = HashMap::new();
    for m in &got {
        check(m, "lm", 2);
        per.entry(m.partition).or_default().push(m.offset);
    }
    for p in 0..2 {
        assert_eq!(
            per[&p],
            (0..300).collect::<Vec<i64>>(),
            "partition {p}: every offset once, in order"
        );
    }
    assert!(
        timeout(Duration::from_millis(300), c.recv()).await.is_err(),
        "nothing repeated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_application_keeps_the_prefetch_queue_bounded() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("slow", 2, 1)
        .build()
        .await
        .unwrap();
    // Small batches: a broker always returns a partition's first batch
    // whole, so one batch is the granularity of the bound.
    let p = producer_with(&cluster, "none", &[("batch.size", "8192")]);
    let payload = Bytes::from(vec![b'p'; 1000]);
    for i in 0..4000 {
        send(
            &p,
            ProducerRecord::new("slow")
                .partition(i % 2)
                .value(payload.clone()),
        );
    }
    flush(&p).await;
    let limit_kb = 100;
    let max_fetch = 32 * 1024;
    let c = consumer(
        &cluster,
        &[
            ("queued.max.messages.kbytes", &limit_kb.to_string()),
            ("fetch.max.bytes", &max_fetch.to_string()),
            ("fetch.message.max.bytes", "16384"),
        ],
    );
    c.assign(&[
        ("slow", 0, Offset::Beginning),
        ("slow", 1, Offset::Beginning),
    ])
    .unwrap();
    let mut peak = 0;
    let mut received = 0;
    while received < 4000 {
        let _ = take(&c, 1).await;
        received += 1;
        if received % 200 == 0 {
            // The application is slow: the fetcher keeps going meanwhile.
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        peak = peak.max(c.queued().1);
    }
    // Fetching stops once the queue reaches its limit; one response in
    // flight may land on top of it.
    assert!(peak > 0);
    assert!(
        peak <= limit_kb * 1024 + max_fetch + 16 * 1024,
        "peak prefetch {peak} bytes beyond queued.max.messages.kbytes={limit_kb}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_pause_resume_eof_and_offset_lookups() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("s", 2, 1)
        .build()
        .await
        .unwrap();
    // One batch per record, so that offsets by time are exact.
    let p = producer(&cluster, "gzip");
    for i in 0..40 {
        send(&p, record("s", i as i32 % 2, i));
        flush(&p).await;
    }
    let c = consumer(&cluster, &[("enable.partition.eof", "true")]);
    c.assign(&[
        ("s", 0, Offset::OffsetTail(5)),
        ("s", 1, Offset::Timestamp(1_700_000_000_000 + 31)),
    ])
    .unwrap();
    let mut first: HashMap<i32, i64> = HashMap::new();
    let mut eofs: HashMap<i32, i64> = HashMap::new();
    while eofs.len() < 2 {
        match next(&c).await {
            Ok(m) => {
                first.entry(m.partition).or_insert(m.offset);
            }
            Err(e) if e.is_eof() => {
                eofs.insert(e.partition_id().unwrap(), e.offset().unwrap());
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(first[&0], 15, "-5 from the end of 20");
    assert_eq!(
        first[&1], 15,
        "first record at or after ts+31 is #31, offset 15 of partition 1"
    );
    assert_eq!(eofs, HashMap::from([(0, 20), (1, 20)]));

    c.seek("s", 1, Offset::Offset(3)).unwrap();
    c.pause(&[("s", 0)]).unwrap();
    let m = take(&c, 17).await;
    assert!(m.iter().all(|m| m.partition == 1));
    assert_eq!(m[0].offset, 3);
    let p = producer(&cluster, "gzip");
    for i in 40..44 {
        send(&p, record("s", 0, i));
    }
    flush(&p).await;
    assert!(
        timeout(Duration::from_millis(300), async {
            loop {
                if let Ok(m) = c.recv().await {
                    return m;
                }
            }
        })
        .await
        .is_err(),
        "a paused partition returns nothing"
    );
    c.resume(&[("s", 0)]).unwrap();
    let m = take(&c, 4).await;
    assert_eq!(
        m.iter()
            .map(|m| (m.partition, m.offset))
            .collect::<Vec<_>>(),
        vec![(0, 20), (0, 21), (0, 22), (0, 23)]
    );

    assert_eq!(
        c.fetch_watermarks("s", 0, Duration::from_secs(5))
            .await
            .unwrap(),
        (0, 24)
    );
    let t = c
        .offsets_for_times(
            &[
                ("s", 0, 1_700_000_000_000 + 10),
                ("s", 1, 1_900_000_000_000),
            ],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(t, vec![("s".to_string(), 0, 5), ("s".to_string(), 1, -1)]);
    assert!(
        c.seek("other", 0, Offset::Beginning).is_err(),
        "not assigned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_offsets_are_committed_and_read_back() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("c", 2, 1)
        .build()
        .await
        .unwrap();
    produce(&cluster, "snappy", "c", 2, 20).await;
    let cfg = [
        ("group.id", "g1"),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
    ];
    let c = consumer(&cluster, &cfg);
    c.assign(&[("c", 0, Offset::Stored), ("c", 1, Offset::Stored)])
        .unwrap();
    let got = take(&c, 20).await;
    assert_eq!(
        got.iter().filter(|m| m.partition == 0).count(),
        10,
        "no commit: reset to earliest"
    );
    c.commit().await.unwrap();
    assert_eq!(
        c.committed(&[("c", 0), ("c", 1)], Duration::from_secs(5))
            .await
            .unwrap(),
        vec![
            ("c".to_string(), 0, Some(10)),
            ("c".to_string(), 1, Some(10))
        ]
    );
    c.commit_offsets(&[("c", 1, 7)]).await.unwrap();
    drop(c);

    let c = consumer(&cluster, &cfg);
    c.assign(&[("c", 0, Offset::Stored), ("c", 1, Offset::Stored)])
        .unwrap();
    let p = producer(&cluster, "snappy");
    send(&p, record("c", 0, 20));
    flush(&p).await;
    let got = take(&c, 4).await;
    let mut pairs: Vec<(i32, i64)> = got.iter().map(|m| (m.partition, m.offset)).collect();
    pairs.sort();
    assert_eq!(pairs, vec![(0, 10), (1, 7), (1, 8), (1, 9)]);

    let none = consumer(&cluster, &[]);
    assert_eq!(
        none.commit().await.unwrap_err().code(),
        ErrorCode::InvalidArg
    );
}

#[test]
fn blocking_poll_outside_a_runtime() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("b", 1, 1)
        .build_blocking()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(produce(&cluster, "zstd", "b", 1, 5));
    drop(rt);
    let c =
        Consumer::new(&ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()))
            .unwrap();
    c.assign(&[("b", 0, Offset::Beginning)]).unwrap();
    let mut offsets = Vec::new();
    for _ in 0..50 {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            offsets.push(m.offset);
        }
        if offsets.len() == 5 {
            break;
        }
    }
    assert_eq!(offsets, vec![0, 1, 2, 3, 4]);
    assert!(c.poll(Duration::from_millis(100)).is_none());
}

#[test]
fn configuration_errors_at_construction() {
    let e = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("auto.offset.reset", "sometimes"),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArg);
    assert!(e.message().contains("auto.offset.reset"), "{e}");
    let e = Consumer::new(&ClientConfig::new()).unwrap_err();
    assert!(e.message().contains("bootstrap.servers"), "{e}");
}

async fn committed_ac(c: &Consumer) -> Option<i64> {
    c.committed(&[("ac", 0)], Duration::from_secs(5))
        .await
        .unwrap()[0]
        .2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_commit_commits_what_the_offset_store_holds() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("ac", 1, 1)
        .build()
        .await
        .unwrap();
    produce(&cluster, "none", "ac", 1, 10).await;
    let auto = [("group.id", "auto"), ("auto.commit.interval.ms", "50")];
    let c = consumer(&cluster, &auto);
    c.assign(&[("ac", 0, Offset::Beginning)]).unwrap();
    take(&c, 6).await;
    let mut seen = None;
    for _ in 0..100 {
        seen = committed_ac(&c).await;
        if seen.is_some_and(|o| o >= 6) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen.is_some_and(|o| o >= 6),
        "auto commit reached the consumed position, got {seen:?}"
    );

    // Without the automatic store, only explicitly stored offsets commit.
    let manual = [
        ("group.id", "manual"),
        ("auto.commit.interval.ms", "50"),
        ("enable.auto.offset.store", "false"),
    ];
    let c = consumer(&cluster, &manual);
    c.assign(&[("ac", 0, Offset::Beginning)]).unwrap();
    let got = take(&c, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(committed_ac(&c).await, None);
    c.store_offset(&got[1]).unwrap();
    for _ in 0..100 {
        if committed_ac(&c).await == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(committed_ac(&c).await, Some(2));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_errors_resume_at_the_same_offset_and_authorization_is_reported_once() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("fe", 1, 2)
        .build()
        .await
        .unwrap();
    // Small batches and a small prefetch, so that fetches continue after
    // the faults are queued.
    let p = producer(&cluster, "none");
    for i in 0..30 {
        send(&p, record("fe", 0, i));
        if i % 3 == 2 {
            flush(&p).await;
        }
    }
    let c = consumer(
        &cluster,
        &[
            ("fetch.error.backoff.ms", "20"),
            ("fetch.message.max.bytes", "100"),
            ("queued.min.messages", "1"),
        ],
    );
    c.assign(&[("fe", 0, Offset::Beginning)]).unwrap();
    let mut got = take(&c, 5).await;
    // NOT_LEADER_OR_FOLLOWER twice, then TOPIC_AUTHORIZATION_FAILED three times.
    cluster.push_request_errors(1, &[6, 6, 29, 29, 29]);
    let mut auth_errors = 0;
    while got.len() < 30 {
        match next(&c).await {
            Ok(m) => got.push(m),
            Err(e) if e.code() == ErrorCode::TopicAuthorizationFailed => auth_errors += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(auth_errors, 1, "reported once, then backed off");
    let offsets: Vec<i64> = got.iter().map(|m| m.offset).collect();
    assert_eq!(
        offsets,
        (0..30).collect::<Vec<i64>>(),
        "nothing skipped or repeated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_and_incremental_assignment() {
    use futures_core::Stream;
    use std::pin::Pin;
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("ia", 3, 1)
        .build()
        .await
        .unwrap();
    produce(&cluster, "lz4", "ia", 3, 30).await;
    let c = consumer(&cluster, &[]);
    c.incremental_assign(&[("ia", 0, Offset::Beginning)])
        .unwrap();
    c.incremental_assign(&[("ia", 2, Offset::Offset(5))])
        .unwrap();
    assert_eq!(
        c.assignment(),
        vec![TopicPartition::new("ia", 0), TopicPartition::new("ia", 2)]
    );
    let mut stream = c.stream();
    let mut got = Vec::new();
    while got.len() < 15 {
        let item = timeout(
            Duration::from_secs(10),
            std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)),
        )
        .await
        .expect("an item within 10 s")
        .expect("the stream does not end");
        let m = item.expect("a message");
        got.push((m.partition, m.offset));
    }
    drop(stream);
    got.sort();
    let want: Vec<(i32, i64)> = (0..10)
        .map(|o| (0, o))
        .chain((5..10).map(|o| (2, o)))
        .collect();
    assert_eq!(got, want);
    c.incremental_unassign(&[("ia", 0)]).unwrap();
    assert_eq!(c.assignment(), vec![TopicPartition::new("ia", 2)]);
    assert!(
        c.incremental_unassign(&[("ia", 1)]).is_err(),
        "not assigned"
    );
    assert_eq!(c.position("ia", 2), Some(10));
}

/// A leader election between the metadata and the ListOffsets request
/// (FENCED_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER) is retried at the new
/// leader within the call's timeout instead of being returned (seen on
/// Apache Kafka's 3-node cluster right after a node restarted).
#[tokio::test]
async fn watermarks_and_offsets_for_times_retry_after_a_leader_moved() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("moved", 1, 3)
        .build()
        .await
        .unwrap();
    let p = producer(&cluster, "none");
    for i in 0..3 {
        send(
            &p,
            ProducerRecord::new("moved")
                .partition(0)
                .value(format!("v{i}")),
        );
    }
    flush(&p).await;
    let c = consumer(&cluster, &[]);
    const LIST_OFFSETS: i16 = 2;
    const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    const FENCED_LEADER_EPOCH: i16 = 74;
    cluster.push_request_errors(LIST_OFFSETS, &[FENCED_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER]);
    assert_eq!(
        c.fetch_watermarks("moved", 0, Duration::from_secs(5))
            .await
            .unwrap(),
        (0, 3)
    );
    cluster.push_request_errors(LIST_OFFSETS, &[FENCED_LEADER_EPOCH]);
    let t = c
        .offsets_for_times(&[("moved", 0, 0)], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(t, vec![("moved".to_string(), 0, 0)]);
    // Past the timeout the error is returned, not retried for ever.
    cluster.push_request_errors(LIST_OFFSETS, &[FENCED_LEADER_EPOCH; 200]);
    let e = c
        .fetch_watermarks("moved", 0, Duration::from_millis(600))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::FencedLeaderEpoch, "{e}");
}
