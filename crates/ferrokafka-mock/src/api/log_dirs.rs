//! DescribeLogDirs: each broker reports one log directory holding the
//! replicas it hosts, each with its stored size and no lag (the mock's
//! replicas share one log). Topics or partitions the broker does not host
//! are left out, as Kafka does.

use kafka_protocol::messages::{
    describe_log_dirs_response, DescribeLogDirsRequest, DescribeLogDirsResponse,
};

use super::topic_name;
use crate::cluster::Shared;

/// The one log directory of broker `id`.
pub(crate) fn log_dir(id: i32) -> String {
    format!("/ferrokafka-mock/broker-{id}/data")
}

pub(crate) fn describe_log_dirs(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    req: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    let st = shared.state();
    let mut dir = describe_log_dirs_response::DescribeLogDirsResult::default()
        .with_log_dir(super::str_bytes(&log_dir(broker_id)));
    let mut total = 0i64;
    for (name, t) in &st.topics {
        let wanted: Option<&Vec<i32>> = match &req.topics {
            None => None,
            Some(list) => match list.iter().find(|w| w.topic.0.as_str() == name) {
                Some(w) => Some(&w.partitions),
                None => continue,
            },
        };
        let mut parts = Vec::new();
        for (i, p) in t.partitions.iter().enumerate() {
            let i = i as i32;
            if !p.replicas.contains(&broker_id) || wanted.is_some_and(|w| !w.contains(&i)) {
                continue;
            }
            let size = i64::try_from(p.log.stored_bytes()).unwrap_or(i64::MAX);
            total = total.saturating_add(size);
            parts.push(
                describe_log_dirs_response::DescribeLogDirsPartition::default()
                    .with_partition_index(i)
                    .with_partition_size(size),
            );
        }
        if !parts.is_empty() {
            dir.topics.push(
                describe_log_dirs_response::DescribeLogDirsTopic::default()
                    .with_name(topic_name(name))
                    .with_partitions(parts),
            );
        }
    }
    if version >= 4 {
        // A nominal 1 TiB volume.
        dir.total_bytes = 1 << 40;
        dir.usable_bytes = (1i64 << 40).saturating_sub(total);
    }
    DescribeLogDirsResponse::default().with_results(vec![dir])
}
