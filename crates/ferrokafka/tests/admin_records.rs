//! Records and offsets against the embedded mock: list offsets (earliest,
//! latest, max-timestamp, by time; both isolation levels) and delete
//! records moving the low watermark, with per-partition errors.

use ferrokafka::admin::{AdminClient, AdminOptions, IsolationLevel, OffsetSpec};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::TopicPartition;
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_offsets_and_delete_records() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("rec", 2, 1)
        .build()
        .await
        .unwrap();
    let config = ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers());
    let p = Producer::new(&config.clone().set("linger.ms", "0")).unwrap();
    // Ten records on partition 0 with timestamps 1000, 2000, ... (the
    // highest is at offset 6).
    let mut futs = Vec::new();
    for i in 0..10i64 {
        let ts = if i == 6 { 99_000 } else { 1000 * (i + 1) };
        let r = ProducerRecord::new("rec")
            .partition(0)
            .value(format!("v{i}"))
            .timestamp(ts);
        futs.push(p.send(r).unwrap());
        // One batch per record, so timestamps map to offsets exactly.
        tokio::time::timeout(Duration::from_secs(10), futs.pop().unwrap())
            .await
            .unwrap()
            .unwrap();
    }
    let a = AdminClient::new(&config).unwrap();
    let q = |spec| vec![("rec", 0, spec), ("rec", 1, spec)];
    let r = a
        .list_offsets(
            &q(OffsetSpec::Latest),
            IsolationLevel::ReadCommitted,
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(r[0].0, TopicPartition::new("rec", 0));
    assert_eq!(r[0].1.as_ref().unwrap().offset, 10);
    assert_eq!(r[1].1.as_ref().unwrap().offset, 0);
    let r = a
        .list_offsets(
            &q(OffsetSpec::Earliest),
            IsolationLevel::ReadUncommitted,
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(r[0].1.as_ref().unwrap().offset, 0);
    let r = a
        .list_offsets(
            &[
                ("rec", 0, OffsetSpec::MaxTimestamp),
                ("rec", 1, OffsetSpec::Timestamp(0)),
            ],
            IsolationLevel::default(),
            &opts(),
        )
        .await
        .unwrap();
    let max = r[0].1.as_ref().unwrap();
    assert_eq!((max.offset, max.timestamp), (6, 99_000));
    assert_eq!(
        r[1].1.as_ref().unwrap().offset,
        -1,
        "empty partition: no record"
    );
    let r = a
        .list_offsets(
            &[("rec", 0, OffsetSpec::Timestamp(2500))],
            IsolationLevel::default(),
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap().offset,
        2,
        "first record at or after 2500 ms"
    );

    // Delete records: partition 0 up to offset 4; partition 1 beyond its
    // end; an unknown partition and an unknown topic.
    let r = a
        .delete_records(
            &[("rec", 0, 4), ("rec", 1, 5), ("rec", 7, 0), ("nope", 0, 1)],
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(*r[0].1.as_ref().unwrap(), 4);
    assert_eq!(
        r[1].1.as_ref().unwrap_err().code(),
        ErrorCode::OffsetOutOfRange
    );
    assert_eq!(
        r[2].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(
        r[3].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );
    assert_eq!(r[3].0, TopicPartition::new("nope", 0));
    assert_eq!(cluster.log_start_offset("rec", 0), Some(4));
    let r = a
        .list_offsets(
            &[("rec", 0, OffsetSpec::Earliest)],
            IsolationLevel::default(),
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(r[0].1.as_ref().unwrap().offset, 4);
    // -1 deletes up to the high watermark; blocking use from a thread.
    let b = a.clone();
    let r = std::thread::spawn(move || b.delete_records_blocking(&[("rec", 0, -1)], &opts()))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(*r[0].1.as_ref().unwrap(), 10);
}
