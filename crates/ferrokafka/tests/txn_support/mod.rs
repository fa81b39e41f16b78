//! Helpers of the transaction tests: a mock cluster, a transactional
//! producer on it, and read_committed / read_uncommitted readers that read
//! a topic to its end.

#![allow(dead_code)]

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::time::Duration;

pub const T: Duration = Duration::from_secs(10);

/// Kafka error codes the tests inject.
pub mod code {
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    pub const CONCURRENT_TRANSACTIONS: i16 = 51;
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
    pub const UNKNOWN_PRODUCER_ID: i16 = 59;
    pub const FENCED_INSTANCE_ID: i16 = 82;
    pub const PRODUCER_FENCED: i16 = 90;
}

/// API keys the tests inject errors on.
pub mod api {
    pub const PRODUCE: i16 = 0;
    pub const INIT_PRODUCER_ID: i16 = 22;
    pub const ADD_PARTITIONS_TO_TXN: i16 = 24;
    pub const ADD_OFFSETS_TO_TXN: i16 = 25;
    pub const END_TXN: i16 = 26;
    pub const TXN_OFFSET_COMMIT: i16 = 28;
}

pub async fn mock(brokers: usize, topic: &str, partitions: i32) -> MockCluster {
    MockCluster::builder()
        .brokers(brokers)
        .topic(topic, partitions, 1)
        .build()
        .await
        .unwrap()
}

pub fn config(cluster: &MockCluster, txn_id: &str) -> ClientConfig {
    ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("transactional.id", txn_id)
        .set("linger.ms", "5")
        .set("retry.backoff.ms", "20")
}

pub fn producer(cluster: &MockCluster, txn_id: &str) -> Producer {
    Producer::new(&config(cluster, txn_id)).unwrap()
}

/// A producer with `init_transactions` done.
pub async fn ready(cluster: &MockCluster, txn_id: &str) -> Producer {
    let p = producer(cluster, txn_id);
    p.init_transactions(T).await.unwrap();
    p
}

/// Sends `values` to `topic` (partition `i % partitions`) without waiting.
pub fn send(p: &Producer, topic: &str, partitions: i32, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        let _report = p
            .send(
                ProducerRecord::new(topic.to_string())
                    .partition(i as i32 % partitions)
                    .value(v.clone()),
            )
            .unwrap();
    }
}

pub fn values(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Every value in `topic` (all `partitions`), read to the end with
/// `isolation`, sorted.
pub async fn read_all(
    cluster: &MockCluster,
    topic: &str,
    partitions: i32,
    isolation: &str,
) -> Vec<String> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("isolation.level", isolation)
            .set("enable.partition.eof", "true"),
    )
    .unwrap();
    let parts: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    c.assign(&parts).unwrap();
    let mut out = Vec::new();
    let mut eofs = std::collections::HashSet::new();
    while eofs.len() < partitions as usize {
        match tokio::time::timeout(T, c.recv())
            .await
            .expect("EOF within 10 s")
        {
            Ok(m) => out.push(String::from_utf8(m.value().unwrap_or_default().to_vec()).unwrap()),
            Err(e) if e.is_eof() => {
                eofs.insert(e.partition_id());
            }
            Err(e) => panic!("{e}"),
        }
    }
    out.sort();
    out
}

pub async fn committed(cluster: &MockCluster, topic: &str, partitions: i32) -> Vec<String> {
    read_all(cluster, topic, partitions, "read_committed").await
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
