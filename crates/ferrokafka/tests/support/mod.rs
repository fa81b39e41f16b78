//! What several integration tests need before a consumer can read: records
//! in a mock cluster, delivered and acknowledged.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::ops::Range;
use std::time::Duration;

/// Produces the value `v{i}` for each `i` in `values`, record `i` to
/// partition `i % partitions`, and returns once every one is delivered.
pub async fn produce_values(
    cluster: &MockCluster,
    topic: &str,
    values: Range<usize>,
    partitions: i32,
) {
    let config = ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers());
    let p = Producer::new(&config).unwrap();
    for i in values {
        let record = ProducerRecord::new(topic.to_string())
            .partition(i as i32 % partitions)
            .value(format!("v{i}"));
        let _delivery = p.send(record).unwrap();
    }
    tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(10)))
        .await
        .unwrap()
        .unwrap();
}
