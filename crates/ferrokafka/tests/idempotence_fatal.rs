//! Fatal errors of the idempotent producer as the application sees them:
//! `fatal_error()` with the underlying code, `send` refused with it, queued
//! records purged, the error callback called once; and the persistence
//! status on delivery reports.
#![allow(clippy::result_large_err)]

use ferrokafka::producer::{FlushError, PersistenceStatus, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, Error, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::timeout;

const PRODUCE: i16 = 0;

fn idempotent(cluster: &MockCluster) -> Producer {
    Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("enable.idempotence", "true")
            .set("linger.ms", "5"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_at_head_of_line_is_fatal_and_stops_the_producer() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("fatal", 1, 1)
        .build()
        .await
        .unwrap();
    let p = idempotent(&cluster);
    let seen: Arc<Mutex<Vec<Error>>> = Arc::default();
    let s = seen.clone();
    p.set_error_callback(move |e| s.lock().unwrap().push(e.clone()));
    // An application task pulling error events, waiting before any exists.
    let p2 = p.clone();
    let pulled = tokio::spawn(async move { p2.next_error().await });
    // The very first batch (head of line) is refused out of order: client
    // and broker disagree, nothing can be guaranteed any more.
    cluster.push_request_errors(
        PRODUCE,
        &[ErrorCode::OutOfOrderSequenceNumber.code() as i16],
    );
    let first = p
        .send(ProducerRecord::new("fatal").partition(0).value("a"))
        .unwrap();
    let e = timeout(Duration::from_secs(10), first)
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.error.is_fatal(), "{}", e.error);
    assert_eq!(e.error.code(), ErrorCode::OutOfOrderSequenceNumber);
    assert_eq!(e.status, PersistenceStatus::NotPersisted);
    let fatal = p.fatal_error().expect("fatal error raised");
    assert_eq!(fatal.code(), ErrorCode::OutOfOrderSequenceNumber);
    assert!(fatal.is_fatal());
    // Later sends are refused with the fatal error.
    let refused = p
        .send(ProducerRecord::new("fatal").partition(0).value("b"))
        .unwrap_err();
    assert!(refused.error.is_fatal());
    assert_eq!(refused.error.code(), ErrorCode::OutOfOrderSequenceNumber);
    // The error callback heard it exactly once.
    for _ in 0..100 {
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].code(), ErrorCode::OutOfOrderSequenceNumber);
    }
    assert_eq!(cluster.high_watermark("fatal", 0), Some(0));
    // The pulled event is the same fatal error, taken once.
    let e = timeout(Duration::from_secs(10), pulled)
        .await
        .expect("the waiting next_error woke up")
        .unwrap()
        .expect("an error event");
    assert!(e.is_fatal());
    assert_eq!(e.code(), ErrorCode::OutOfOrderSequenceNumber);
    assert!(
        timeout(Duration::from_millis(200), p.next_error())
            .await
            .is_err(),
        "no second event"
    );
    // Closing ends the event stream.
    let _ = p.close(Duration::from_secs(1));
    let end = timeout(Duration::from_secs(5), p.next_error()).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_records_are_purged_when_the_producer_goes_fatal() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("purge", 2, 1)
        .build()
        .await
        .unwrap();
    // One record per batch: until the first batch of a partition is
    // acknowledged only it is in flight, so the others stay queued.
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("enable.idempotence", "true")
            .set("batch.num.messages", "1")
            .set("linger.ms", "5"),
    )
    .unwrap();
    cluster.push_request_errors(
        PRODUCE,
        &[ErrorCode::OutOfOrderSequenceNumber.code() as i16],
    );
    let futs: Vec<_> = (0..5)
        .map(|i| {
            p.send(
                ProducerRecord::new("purge")
                    .partition(0)
                    .value(format!("{i}")),
            )
            .unwrap()
        })
        .collect();
    let mut codes = Vec::new();
    for f in futs {
        let e = timeout(Duration::from_secs(10), f)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.status, PersistenceStatus::NotPersisted, "{}", e.error);
        codes.push(e.error.code());
    }
    assert_eq!(codes[0], ErrorCode::OutOfOrderSequenceNumber);
    assert!(
        codes[1..].iter().all(|c| *c == ErrorCode::PurgeQueue),
        "queued records are purged: {codes:?}"
    );
    let r = p.send(ProducerRecord::new("purge").partition(1).value("y"));
    assert!(r.is_err(), "send after the fatal error is refused");
    let p2 = p.clone();
    let flushed = tokio::task::spawn_blocking(move || p2.flush(Duration::from_secs(5)))
        .await
        .unwrap();
    // flush returns the fatal error once every report is in.
    match flushed {
        Err(FlushError::Fatal(e)) => {
            assert!(e.is_fatal());
            assert_eq!(e.code(), ErrorCode::OutOfOrderSequenceNumber);
        }
        other => panic!("flush after a fatal error returned {other:?}"),
    }
    assert_eq!(p.in_flight_count(), 0, "nothing is left outstanding");
    // So does close, and `?` into the crate's Error keeps the cause.
    let closed: Result<(), Error> = p.close(Duration::from_secs(1)).map_err(Error::from);
    assert_eq!(
        closed.unwrap_err().code(),
        ErrorCode::OutOfOrderSequenceNumber
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_records_report_persisted_and_refused_ones_not_persisted() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("status", 1, 1)
        .max_message_bytes(2_000)
        .build()
        .await
        .unwrap();
    let p = idempotent(&cluster);
    let ok = p
        .send(ProducerRecord::new("status").partition(0).value("fine"))
        .unwrap();
    let m = timeout(Duration::from_secs(10), ok).await.unwrap().unwrap();
    assert_eq!(m.offset, 0);
    // A permanent error (the broker's size limit) fails the batch
    // NotPersisted; without the gap-less guarantee the producer goes on
    // after an epoch bump.
    let big = p
        .send(
            ProducerRecord::new("status")
                .partition(0)
                .value(vec![b'x'; 5_000]),
        )
        .unwrap();
    let e = timeout(Duration::from_secs(10), big)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.status, PersistenceStatus::NotPersisted, "{}", e.error);
    assert!(!e.error.is_fatal());
    let after = p
        .send(ProducerRecord::new("status").partition(0).value("after"))
        .unwrap();
    let m = timeout(Duration::from_secs(10), after)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.offset, 1);
    assert!(p.fatal_error().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gapless_guarantee_turns_a_permanent_failure_fatal() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("gapless", 1, 1)
        .max_message_bytes(2_000)
        .build()
        .await
        .unwrap();
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("enable.idempotence", "true")
            .set("enable.gapless.guarantee", "true")
            .set("linger.ms", "5"),
    )
    .unwrap();
    let big = p
        .send(
            ProducerRecord::new("gapless")
                .partition(0)
                .value(vec![b'x'; 5_000]),
        )
        .unwrap();
    let e = timeout(Duration::from_secs(10), big)
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.error.is_fatal(), "{}", e.error);
    assert_eq!(
        p.fatal_error().map(|e| e.code()),
        Some(ErrorCode::GaplessGuarantee)
    );
    let p2 = p.clone();
    let flushed = tokio::task::spawn_blocking(move || p2.flush(Duration::from_secs(5)))
        .await
        .unwrap();
    assert!(
        matches!(&flushed, Err(FlushError::Fatal(e)) if e.code() == ErrorCode::GaplessGuarantee),
        "{flushed:?}"
    );
}
