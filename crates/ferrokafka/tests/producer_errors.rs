//! The producer's failure reports as the application sees them: QueueFull,
//! MsgSizeTooLarge, MsgTimedOut (in queue and in flight), UnknownTopic,
//! flush timeouts, purge, blocking sends, callbacks and statistics.
#![allow(clippy::result_large_err)]

use ferrokafka::producer::{FlushError, PersistenceStatus, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, Error, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn config(cluster: &MockCluster) -> ClientConfig {
    ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_full_is_returned_by_send_with_the_record() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("qf", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("queue.buffering.max.messages", "10")
            .set("linger.ms", "60000"),
    )
    .unwrap();
    let mut futs = Vec::new();
    for i in 0..10 {
        futs.push(
            producer
                .send(ProducerRecord::new("qf").value(format!("{i}")))
                .unwrap(),
        );
    }
    let e = producer
        .send(ProducerRecord::new("qf").value("overflow"))
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::QueueFull);
    assert_eq!(e.record.value_bytes().unwrap().as_ref(), b"overflow");
    // After a flush there is room again.
    let p = producer.clone();
    blocking(move || p.flush(Duration::from_secs(10)))
        .await
        .unwrap();
    for f in futs {
        f.await.unwrap();
    }
    let _fits = producer
        .send(ProducerRecord::new("qf").value("fits"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_blocking_waits_for_space_up_to_max_block() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("sb", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("queue.buffering.max.messages", "5")
            .set("linger.ms", "50")
            .set("max.block.ms", "5000"),
    )
    .unwrap();
    let p = producer.clone();
    let delivered = blocking(move || {
        let futs: Vec<_> = (0..50)
            .map(|i| {
                p.send_blocking(ProducerRecord::new("sb").value(format!("{i}")))
                    .unwrap()
            })
            .collect();
        futs.into_iter()
            .map(|f| f.wait())
            .filter(Result::is_ok)
            .count()
    })
    .await;
    assert_eq!(delivered, 50);
    // The async form waits too.
    for i in 0..20 {
        let _report = producer
            .send_wait(ProducerRecord::new("sb").value(format!("a{i}")))
            .await
            .unwrap();
    }
    // With max.block.ms=0 a full queue fails at once.
    let fast = Producer::new(
        &config(&cluster)
            .set("queue.buffering.max.messages", "1")
            .set("linger.ms", "60000")
            .set("max.block.ms", "0"),
    )
    .unwrap();
    let _first = fast.send(ProducerRecord::new("sb").value("1")).unwrap();
    let e = blocking(move || {
        fast.send_blocking(ProducerRecord::new("sb").value("2"))
            .unwrap_err()
    })
    .await;
    assert_eq!(e.error.code(), ErrorCode::QueueFull);
}

/// The counting form: a callback per record instead of a handle, waiting
/// for queue space like `send_blocking`; a full queue past `max.block.ms`
/// hands the record back and never calls the callback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_blocking_with_callback_waits_for_space_and_reports_each_record() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("sbc", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("queue.buffering.max.messages", "5")
            .set("linger.ms", "20")
            .set("max.block.ms", "5000"),
    )
    .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let offsets = Arc::new(Mutex::new(Vec::new()));
    let (p, o, offs) = (producer.clone(), ok.clone(), offsets.clone());
    blocking(move || {
        for i in 0..50 {
            let (o, offs) = (o.clone(), offs.clone());
            p.send_blocking_with_callback(
                ProducerRecord::new("sbc").value(format!("{i}")),
                move |r| {
                    let m = r.expect("delivered");
                    o.fetch_add(1, Ordering::Relaxed);
                    offs.lock().unwrap().push(m.offset);
                },
            )
            .expect("waits for space instead of QueueFull");
        }
        p.flush(Duration::from_secs(10)).unwrap();
    })
    .await;
    assert_eq!(ok.load(Ordering::Relaxed), 50);
    let mut offsets = offsets.lock().unwrap().clone();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..50).collect::<Vec<i64>>());
    assert_eq!(cluster.high_watermark("sbc", 0), Some(50));

    let fast = Producer::new(
        &config(&cluster)
            .set("queue.buffering.max.messages", "1")
            .set("linger.ms", "60000")
            .set("max.block.ms", "0"),
    )
    .unwrap();
    let _first = fast.send(ProducerRecord::new("sbc").value("1")).unwrap();
    let called = Arc::new(AtomicU64::new(0));
    let c = called.clone();
    let e = blocking(move || {
        fast.send_blocking_with_callback(ProducerRecord::new("sbc").value("2"), move |_| {
            c.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap_err()
    })
    .await;
    assert_eq!(e.error.code(), ErrorCode::QueueFull);
    assert_eq!(e.record.value_bytes().unwrap(), &b"2"[..]);
    assert_eq!(called.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_record_fails_alone() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("big", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster).set("message.max.bytes", "10000")).unwrap();
    let small = producer
        .send(ProducerRecord::new("big").value("small"))
        .unwrap();
    let e = producer
        .send(ProducerRecord::new("big").value(vec![7u8; 20_000]))
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::MsgSizeTooLarge);
    assert_eq!(e.record.value_bytes().unwrap().len(), 20_000);
    let after = producer
        .send(ProducerRecord::new("big").value("after"))
        .unwrap();
    assert_eq!(small.await.unwrap().offset, 0);
    assert_eq!(after.await.unwrap().offset, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_timeout_in_queue_is_not_persisted() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("tq", 1, 1)
        .build()
        .await
        .unwrap();
    cluster.broker_down(1).unwrap();
    let producer = Producer::new(&config(&cluster).set("message.timeout.ms", "300")).unwrap();
    let start = Instant::now();
    let f = producer
        .send(ProducerRecord::new("tq").value("lost"))
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::MsgTimedOut);
    assert_eq!(e.status, PersistenceStatus::NotPersisted);
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!(e.record.unwrap().value_bytes().unwrap().as_ref(), b"lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_timeout_in_flight_is_possibly_persisted() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("tf", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("message.timeout.ms", "800")
            .set("request.timeout.ms", "300")
            .set("socket.timeout.ms", "300")
            .set("retry.backoff.ms", "10"),
    )
    .unwrap();
    // Warm up metadata and the connection, then stop answering Produce.
    producer
        .send(ProducerRecord::new("tf").value("warm"))
        .unwrap()
        .await
        .unwrap();
    cluster.drop_next_responses(0, 1000);
    let f = producer
        .send(ProducerRecord::new("tf").value("maybe"))
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::MsgTimedOut, "{}", e.error);
    assert_eq!(e.status, PersistenceStatus::PossiblyPersisted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_reported_after_propagation_window() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("topic.metadata.propagation.max.ms", "200")
            .set("retry.backoff.ms", "20"),
    )
    .unwrap();
    let f = producer
        .send(ProducerRecord::new("nope").value("x"))
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::UnknownTopic, "{}", e.error);
    assert_eq!(e.status, PersistenceStatus::NotPersisted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_timeout_returns_outstanding_then_purge_fails_them() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("fl", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("message.timeout.ms", "60000")
            .set("request.timeout.ms", "60000")
            .set("socket.timeout.ms", "60000")
            .set("linger.ms", "0"),
    )
    .unwrap();
    producer
        .send(ProducerRecord::new("fl").value("warm"))
        .unwrap()
        .await
        .unwrap();
    cluster.drop_next_responses(0, 1000);
    let futs: Vec<_> = (0..5)
        .map(|i| {
            producer
                .send(ProducerRecord::new("fl").value(format!("{i}")))
                .unwrap()
        })
        .collect();
    let p = producer.clone();
    let r = blocking(move || p.flush(Duration::from_millis(300))).await;
    match r {
        Err(e @ FlushError::Timeout { remaining: 5 }) => {
            assert_eq!(Error::from(e).code(), ErrorCode::TimedOut)
        }
        other => panic!("flush with every response dropped returned {other:?}"),
    }
    assert_eq!(producer.in_flight_count(), 5);
    producer.purge(true, true);
    for f in futs {
        let e = tokio::time::timeout(Duration::from_secs(5), f)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                e.error.code(),
                ErrorCode::PurgeInflight | ErrorCode::PurgeQueue
            ),
            "{}",
            e.error
        );
    }
    assert_eq!(producer.in_flight_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_of_queued_records_is_not_persisted() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("pq", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster).set("linger.ms", "60000")).unwrap();
    let f = producer.send(ProducerRecord::new("pq").value("q")).unwrap();
    producer.purge(true, false);
    let e = f.await.unwrap_err();
    assert_eq!(
        (e.error.code(), e.status),
        (ErrorCode::PurgeQueue, PersistenceStatus::NotPersisted)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_partitions_for_and_stats() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("cb", 4, 2)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster).set("linger.ms", "1")).unwrap();
    let p = producer.clone();
    let parts = blocking(move || p.partitions_for("cb")).await.unwrap();
    assert_eq!(parts, vec![0, 1, 2, 3]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    for i in 0..100 {
        let seen = seen.clone();
        producer
            .send_with_callback(
                ProducerRecord::new("cb").key(format!("{i}")).value("v"),
                move |r| {
                    seen.lock()
                        .unwrap()
                        .push(r.map(|m| (m.partition, m.offset)).map_err(|e| e.error));
                },
            )
            .unwrap();
    }
    let p = producer.clone();
    blocking(move || p.flush(Duration::from_secs(10)))
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 100);
    assert!(seen.iter().all(|r| r.is_ok()));
    let stats = producer.stats();
    assert_eq!(stats.txmsgs, 100);
    assert_eq!(stats.msg_cnt, 0);
    assert!(stats.topics["cb"].batchcnt.cnt > 0);
    assert!(stats.brokers.values().map(|b| b.rtt.cnt).sum::<u64>() > 0);
    let json = serde_json::to_value(&stats).unwrap();
    assert!(json["topics"]["cb"]["batchsize"]["p99"].is_u64());
    assert!(json["txmsgs"].as_u64() == Some(100));
    producer.close(Duration::from_secs(1)).unwrap();
    let e = producer
        .send(ProducerRecord::new("cb").value("late"))
        .unwrap_err();
    assert_eq!(e.record.value_bytes().unwrap().as_ref(), b"late");
}

/// `flush` (blocking and async) returns only after every delivery callback
/// has run, not merely once the broker has answered: the callbacks here are
/// slow, so a flush that looked only at the queue returned while most were
/// still to come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_returns_after_every_callback_has_run() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("slowcb", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster).set("linger.ms", "5")).unwrap();
    for round in 0..2 {
        let ran = Arc::new(Mutex::new(0usize));
        for i in 0..20 {
            let ran = ran.clone();
            producer
                .send_with_callback(
                    ProducerRecord::new("slowcb").value(format!("{round}-{i}")),
                    move |r| {
                        assert!(r.is_ok(), "{:?}", r.err().map(|e| e.error));
                        std::thread::sleep(Duration::from_millis(20));
                        *ran.lock().unwrap() += 1;
                    },
                )
                .unwrap();
        }
        if round == 0 {
            let p = producer.clone();
            blocking(move || p.flush(Duration::from_secs(10)))
                .await
                .unwrap();
        } else {
            producer.flush_async(Duration::from_secs(10)).await.unwrap();
        }
        assert_eq!(
            *ran.lock().unwrap(),
            20,
            "round {round}: flush returned early"
        );
        assert_eq!(producer.in_flight_count(), 0);
    }
}

#[test]
fn config_errors_fail_at_construction() {
    let e = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("acks", "7"),
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArg);
    assert!(e.message().contains("acks"), "{e}");
    let e = Producer::new(&ClientConfig::new()).unwrap_err();
    assert!(e.message().contains("bootstrap.servers"), "{e}");
    // Dropping a producer with records queued does not hang.
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("linger.ms", "1000"),
    )
    .unwrap();
    let f = p.send(ProducerRecord::new("t").value("x")).unwrap();
    let start = Instant::now();
    drop(p);
    let e = f
        .wait_timeout(Duration::from_secs(5))
        .expect("reported on drop")
        .unwrap_err();
    assert!(matches!(
        e.error.code(),
        ErrorCode::PurgeQueue | ErrorCode::PurgeInflight
    ));
    assert!(start.elapsed() < Duration::from_secs(5));
}
