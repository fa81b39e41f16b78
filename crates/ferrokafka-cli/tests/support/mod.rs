//! What several CLI tests need before a consumer can read: records in a
//! cluster (ours or a peer's), delivered and acknowledged.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use std::ops::Range;
use std::time::Duration;

/// Produces the value `v{i}` for each `i` in `values`, record `i` to
/// partition `i % partitions`, and returns once every one is delivered.
/// Blocking.
pub fn produce(bootstrap: &str, topic: &str, partitions: i32, values: Range<usize>) {
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", bootstrap)).unwrap();
    for i in values {
        let _delivery = p
            .send(
                ProducerRecord::new(topic)
                    .partition(i as i32 % partitions)
                    .value(format!("v{i}")),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(20)).unwrap();
}
