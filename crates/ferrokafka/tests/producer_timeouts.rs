//! The producer's timeouts with librdkafka's meanings (issue 13, item 5):
//! `request.timeout.ms` is the broker's ack timeout carried in each
//! ProduceRequest, not a client-side deadline; the client-side bound of a
//! request is `socket.timeout.ms`; and `message.timeout.ms` bounds when a
//! record's delivery report arrives.
#![allow(clippy::result_large_err)]

use ferrokafka::producer::{PersistenceStatus, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::{Duration, Instant};

/// Scheduling slack allowed past `message.timeout.ms`.
const SLACK: Duration = Duration::from_millis(200);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_slower_than_request_timeout_ms_still_gets_every_record() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("slow", 2, 1)
        .build()
        .await
        .unwrap();
    cluster
        .set_broker_rtt(1, Duration::from_millis(3000))
        .unwrap();
    let producer = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("request.timeout.ms", "1000")
            .set("message.timeout.ms", "20000")
            .set("linger.ms", "5"),
    )
    .unwrap();
    let n = 2_000;
    let mut futs = Vec::with_capacity(n);
    for i in 0..n {
        futs.push(
            producer
                .send(ProducerRecord::new("slow").value(i.to_string()))
                .unwrap(),
        );
    }
    let mut delivered = 0;
    for f in futs {
        match tokio::time::timeout(Duration::from_secs(40), f)
            .await
            .expect("a report within 40 s")
        {
            Ok(_) => delivered += 1,
            Err(e) => panic!("record failed: {} ({})", e.error, e.status),
        }
    }
    assert_eq!(delivered, n);
    let in_log: i64 = (0..2)
        .map(|p| cluster.high_watermark("slow", p).unwrap())
        .sum();
    assert_eq!(in_log, n as i64, "each record written once");
}

/// Sends `n` records 20 ms apart and returns, per record, how long after
/// its send the failure report came, with the error code and status.
async fn reports_after_send(
    producer: &Producer,
    topic: &str,
    n: usize,
) -> Vec<(Duration, ErrorCode, PersistenceStatus)> {
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let sent = Instant::now();
        let f = producer
            .send(ProducerRecord::new(topic.to_string()).value(i.to_string()))
            .unwrap();
        tasks.push(tokio::spawn(async move {
            let r = tokio::time::timeout(Duration::from_secs(30), f)
                .await
                .expect("a report within 30 s");
            let e = r.expect_err("every broker is down");
            (sent.elapsed(), e.error.code(), e.status)
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_timeout_ms_bounds_the_reports_with_every_broker_down() {
    let timeout = Duration::from_millis(1500);
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("down", 3, 3)
        .build()
        .await
        .unwrap();
    for idempotence in [false, true] {
        let producer = Producer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .set("enable.idempotence", idempotence.to_string())
                .set("message.timeout.ms", timeout.as_millis().to_string())
                // Long enough that a client deadline of request.timeout.ms
                // would overrun message.timeout.ms.
                .set("request.timeout.ms", "5000")
                .set("linger.ms", "5"),
        )
        .unwrap();
        // Metadata and connections first, then every broker goes down.
        for p in 0..3 {
            producer
                .send(ProducerRecord::new("down").partition(p).value("warm"))
                .unwrap()
                .await
                .unwrap();
        }
        for b in cluster.broker_ids() {
            cluster.broker_down(b).unwrap();
        }
        let reports = reports_after_send(&producer, "down", 50).await;
        // A topic never known (no metadata can be had) is bounded the same.
        let unknown = reports_after_send(&producer, "never-seen", 10).await;
        for (i, (after, code, status)) in reports.iter().chain(unknown.iter()).enumerate() {
            assert_eq!(*code, ErrorCode::MsgTimedOut, "record {i}");
            assert_ne!(*status, PersistenceStatus::Persisted);
            assert!(
                *after <= timeout + SLACK,
                "idempotence={idempotence}: record {i} reported {} ms after its send (message.timeout.ms={})",
                after.as_millis(),
                timeout.as_millis()
            );
        }
        let latest = reports.iter().map(|r| r.0).max().unwrap();
        println!(
            "idempotence={idempotence}: latest report {} ms after its send",
            latest.as_millis()
        );
        for b in cluster.broker_ids() {
            cluster.broker_up(b).unwrap();
        }
        let _ = producer.close(Duration::from_secs(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_timeout_ms_bounds_the_reports_of_requests_left_unanswered() {
    let timeout = Duration::from_millis(1500);
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("late", 2, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("message.timeout.ms", timeout.as_millis().to_string())
            .set("request.timeout.ms", "5000")
            .set("linger.ms", "5"),
    )
    .unwrap();
    producer
        .send(ProducerRecord::new("late").value("warm"))
        .unwrap()
        .await
        .unwrap();
    // The broker now answers after 10 s: every request is in flight when
    // its records' message.timeout.ms runs out.
    cluster.set_broker_rtt(1, Duration::from_secs(10)).unwrap();
    let reports = reports_after_send(&producer, "late", 50).await;
    for (i, (after, code, status)) in reports.iter().enumerate() {
        assert_eq!(*code, ErrorCode::MsgTimedOut, "record {i}");
        assert_eq!(*status, PersistenceStatus::PossiblyPersisted, "record {i}");
        assert!(
            *after <= timeout + SLACK,
            "record {i} reported {} ms after its send (message.timeout.ms={})",
            after.as_millis(),
            timeout.as_millis()
        );
    }
    let latest = reports.iter().map(|r| r.0).max().unwrap();
    println!(
        "in flight: latest report {} ms after its send",
        latest.as_millis()
    );
    cluster.set_broker_rtt(1, Duration::ZERO).unwrap();
    let _ = producer.close(Duration::from_secs(5));
}
