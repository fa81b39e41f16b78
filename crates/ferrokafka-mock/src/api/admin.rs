//! CreateTopics (with validate_only and topic configs checked by
//! `api::configs`), DeleteTopics, CreatePartitions, DeleteRecords and
//! DescribeCluster.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    delete_records_response, describe_cluster_response, BrokerId, CreatePartitionsRequest,
    CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse, DeleteRecordsRequest,
    DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeClusterRequest,
    DescribeClusterResponse,
};

use super::{str_bytes, topic_name};
use crate::cluster::Shared;
use crate::log::code;

pub(crate) fn create_topics(
    shared: &Shared,
    version: i16,
    req: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut st = shared.state();
    let mut resp = CreateTopicsResponse::default();
    for t in req.topics {
        let name = t.name.0.to_string();
        let assignments: Vec<(i32, Vec<i32>)> = t
            .assignments
            .iter()
            .map(|a| {
                (
                    a.partition_index,
                    a.broker_ids.iter().map(|b| b.0).collect(),
                )
            })
            .collect();
        let mut r = CreatableTopicResult::default();
        r.name = t.name.clone();
        // Kafka checks the topic (name, existence, counts) before its
        // configs; nothing is created when either is refused.
        let created = st
            .create_topic(
                &shared.config,
                &name,
                t.num_partitions,
                t.replication_factor,
                &assignments,
                true,
            )
            .and_then(|_| {
                super::configs::validate_topic_configs(
                    t.configs
                        .iter()
                        .map(|c| (c.name.as_str(), c.value.as_deref())),
                )
            })
            .and_then(|configs| {
                let id = st.create_topic(
                    &shared.config,
                    &name,
                    t.num_partitions,
                    t.replication_factor,
                    &assignments,
                    req.validate_only,
                )?;
                if let Some(topic) = st.topics.get_mut(&name) {
                    topic.configs = configs;
                }
                Ok(id)
            });
        match created {
            Ok(id) => {
                if version >= 7 {
                    r.topic_id = id;
                }
                if version >= 5 {
                    let (p, rf) = match st.topics.get(&name) {
                        Some(topic) => (topic.partitions.len() as i32, topic.replication),
                        None => (
                            if t.num_partitions == -1 {
                                shared.config.default_partitions
                            } else {
                                t.num_partitions
                            },
                            t.replication_factor,
                        ),
                    };
                    r.num_partitions = p;
                    r.replication_factor = rf;
                    r.configs = Some(Vec::new());
                }
            }
            Err((c, msg)) => {
                r.error_code = c;
                r.error_message = Some(str_bytes(&msg));
            }
        }
        resp.topics.push(r);
    }
    resp
}

pub(crate) fn delete_topics(
    shared: &Shared,
    version: i16,
    req: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let mut st = shared.state();
    let mut resp = DeleteTopicsResponse::default();
    let targets: Vec<(Option<String>, uuid::Uuid)> = if version >= 6 {
        req.topics
            .into_iter()
            .map(|t| (t.name.map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names
            .into_iter()
            .map(|n| (Some(n.0.to_string()), uuid::Uuid::nil()))
            .collect()
    };
    for (name, id) in targets {
        let mut r = DeletableTopicResult::default();
        let resolved = name.clone().or_else(|| st.topic_name_by_id(id));
        match resolved
            .as_deref()
            .and_then(|n| st.topics.shift_remove(n).map(|t| (n.to_string(), t)))
        {
            Some((n, t)) => {
                r.name = Some(topic_name(&n));
                if version >= 6 {
                    r.topic_id = t.id;
                }
            }
            None => {
                r.name = name.as_deref().map(topic_name);
                if version >= 6 {
                    r.topic_id = id;
                }
                r.error_code = if resolved.is_none() {
                    code::UNKNOWN_TOPIC_ID
                } else {
                    code::UNKNOWN_TOPIC_OR_PARTITION
                };
                if version >= 5 {
                    r.error_message = Some(str_bytes("topic does not exist"));
                }
            }
        }
        resp.responses.push(r);
    }
    resp
}

pub(crate) fn create_partitions(
    shared: &Shared,
    req: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut st = shared.state();
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name.clone();
        if let Err((c, msg)) =
            st.create_partitions(&shared.config, &t.name.0, t.count, req.validate_only)
        {
            r.error_code = c;
            r.error_message = Some(str_bytes(&msg));
        }
        resp.results.push(r);
    }
    resp
}

pub(crate) fn delete_records(
    shared: &Shared,
    broker_id: i32,
    req: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let mut st = shared.state();
    let mut resp = DeleteRecordsResponse::default();
    for t in req.topics {
        let mut tr =
            delete_records_response::DeleteRecordsTopicResult::default().with_name(t.name.clone());
        for p in t.partitions {
            let mut pr = delete_records_response::DeleteRecordsPartitionResult::default()
                .with_partition_index(p.partition_index)
                .with_low_watermark(-1);
            match st.partition_mut(&t.name.0, p.partition_index) {
                None => pr.error_code = code::UNKNOWN_TOPIC_OR_PARTITION,
                Some(part) if part.leader != broker_id => {
                    pr.error_code = code::NOT_LEADER_OR_FOLLOWER
                }
                Some(part) => match part.log.delete_before(p.offset) {
                    Ok(start) => pr.low_watermark = start,
                    Err(c) => pr.error_code = c,
                },
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

pub(crate) fn describe_cluster(
    shared: &Shared,
    version: i16,
    req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let st = shared.state();
    // Without an authorizer Kafka allows every cluster operation: CREATE,
    // ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS,
    // IDEMPOTENT_WRITE (bits 5, 7-12).
    let ops = if req.include_cluster_authorized_operations {
        (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)
    } else {
        i32::MIN
    };
    let mut resp = DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(&shared.config.cluster_id))
        .with_controller_id(BrokerId(st.up_broker_ids().first().copied().unwrap_or(-1)))
        .with_cluster_authorized_operations(ops);
    if version >= 1 {
        resp.endpoint_type = 1;
    }
    resp.brokers = st
        .brokers
        .iter()
        .filter(|b| b.up)
        .map(|b| {
            describe_cluster_response::DescribeClusterBroker::default()
                .with_broker_id(BrokerId(b.id))
                .with_host(str_bytes(&b.host))
                .with_port(i32::from(b.port))
        })
        .collect();
    resp
}
