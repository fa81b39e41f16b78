//! Where records land: a user-supplied partitioner, librdkafka's default
//! (CRC32 of the key), sticky partitioning of keyless records (KIP-480) and
//! records sent before the topic's metadata is known.

use ferrokafka::producer::{Partitioner, Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

struct LastByte;

impl Partitioner for LastByte {
    fn partition(&self, _topic: &str, key: Option<&[u8]>, partition_count: i32) -> i32 {
        key.and_then(|k| k.last())
            .map_or(0, |b| i32::from(*b) % partition_count)
    }
}

fn config(cluster: &MockCluster) -> ClientConfig {
    ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("linger.ms", "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_partitioner_decides() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("up", 5, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::with_partitioner(&config(&cluster), Arc::new(LastByte)).unwrap();
    for key in ["a", "b", "c", "zz", "q"] {
        let m = producer
            .send(ProducerRecord::new("up").key(key).value("v"))
            .unwrap()
            .await
            .unwrap();
        let want = i32::from(*key.as_bytes().last().unwrap()) % 5;
        assert_eq!(m.partition, want, "key {key}");
    }
    // An explicit partition wins over the partitioner.
    let m = producer
        .send(ProducerRecord::new("up").key("a").partition(4).value("v"))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(m.partition, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_partitioner_is_crc32_and_keyless_records_stick() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("cr", 8, 1)
        .build()
        .await
        .unwrap();
    let producer =
        Producer::new(&config(&cluster).set("sticky.partitioning.linger.ms", "60000")).unwrap();
    // CRC32 % 8, computed independently with Python's zlib.crc32.
    for (key, want) in [
        ("a", 3),
        ("abc", 2),
        ("foo", 1),
        ("hello world", 5),
        ("key-1234", 5),
    ] {
        let m = producer
            .send(ProducerRecord::new("cr").key(key).value("v"))
            .unwrap()
            .await
            .unwrap();
        assert_eq!(m.partition, want, "key {key}");
    }
    // Keyless records stay on one partition for the sticky window.
    let futs: Vec<_> = (0..200)
        .map(|i| {
            producer
                .send(ProducerRecord::new("cr").value(format!("{i}")))
                .unwrap()
        })
        .collect();
    let mut parts = HashSet::new();
    for f in futs {
        parts.insert(f.await.unwrap().partition);
    }
    assert_eq!(
        parts.len(),
        1,
        "keyless records stick to one partition: {parts:?}"
    );
    // With stickiness off they spread.
    let spread =
        Producer::new(&config(&cluster).set("sticky.partitioning.linger.ms", "0")).unwrap();
    let futs: Vec<_> = (0..200)
        .map(|i| {
            spread
                .send(ProducerRecord::new("cr").value(format!("{i}")))
                .unwrap()
        })
        .collect();
    let mut parts = HashSet::new();
    for f in futs {
        parts.insert(f.await.unwrap().partition);
    }
    assert!(parts.len() > 4, "keyless records spread: {parts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sent_before_metadata_keep_order_and_offsets() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("early", 3, 2)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster)).unwrap();
    // All sent before the first metadata answer can have arrived.
    let futs: Vec<_> = (0..50)
        .map(|i| {
            producer
                .send(
                    ProducerRecord::new("early")
                        .key("same")
                        .value(format!("{i}")),
                )
                .unwrap()
        })
        .collect();
    let mut last: Option<(i32, i64)> = None;
    for f in futs {
        let m = tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .unwrap()
            .unwrap();
        if let Some((p, o)) = last {
            assert_eq!(m.partition, p, "one key, one partition");
            assert_eq!(m.offset, o + 1, "consecutive offsets in send order");
        }
        last = Some((m.partition, m.offset));
    }
}
