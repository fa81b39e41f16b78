//! CreateTopics (with validate_only), DeleteTopics, CreatePartitions,
//! DeleteRecords, DescribeCluster and DescribeConfigs (topic and broker
//! defaults, read-only).

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    delete_records_response, describe_cluster_response, describe_configs_response, BrokerId,
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteRecordsRequest, DeleteRecordsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeClusterRequest, DescribeClusterResponse, DescribeConfigsRequest,
    DescribeConfigsResponse,
};

use super::{str_bytes, topic_name};
use crate::cluster::{Refusal, Shared};
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
        match st.create_topic(
            &shared.config,
            &name,
            t.num_partitions,
            t.replication_factor,
            &assignments,
            req.validate_only,
        ) {
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

/// Kafka's ConfigSource DEFAULT_CONFIG and ConfigType codes used below.
const DEFAULT_CONFIG: i8 = 5;
const TYPE_BOOLEAN: i8 = 1;
const TYPE_STRING: i8 = 2;
const TYPE_INT: i8 = 3;
const TYPE_LONG: i8 = 5;
const TYPE_LIST: i8 = 7;

/// One reported configuration: name, value, ConfigType.
type ConfigEntry = (&'static str, String, i8);

/// The configuration a resource reports.
fn configs_of(shared: &Shared, resource_type: i8, name: &str) -> Result<Vec<ConfigEntry>, Refusal> {
    let c = &shared.config;
    let st = shared.state();
    match resource_type {
        2 => {
            if !st.topics.contains_key(name) {
                return Err((
                    code::UNKNOWN_TOPIC_OR_PARTITION,
                    format!("topic {name:?} does not exist"),
                ));
            }
            let ts = if c.log_append_time {
                "LogAppendTime"
            } else {
                "CreateTime"
            };
            Ok(vec![
                ("cleanup.policy", "delete".into(), TYPE_LIST),
                ("compression.type", "producer".into(), TYPE_STRING),
                (
                    "max.message.bytes",
                    c.max_message_bytes.to_string(),
                    TYPE_INT,
                ),
                ("message.timestamp.type", ts.into(), TYPE_STRING),
                ("min.insync.replicas", "1".into(), TYPE_INT),
                (
                    "retention.bytes",
                    c.retention_bytes.map_or(-1, |b| b as i64).to_string(),
                    TYPE_LONG,
                ),
                ("retention.ms", "604800000".into(), TYPE_LONG),
            ])
        }
        4 => {
            let known = name
                .parse::<i32>()
                .ok()
                .is_some_and(|id| st.broker(id).is_some());
            if !name.is_empty() && !known {
                return Err((
                    code::INVALID_REQUEST,
                    format!("broker {name:?} does not exist"),
                ));
            }
            Ok(vec![
                (
                    "auto.create.topics.enable",
                    c.auto_create_topics.to_string(),
                    TYPE_BOOLEAN,
                ),
                (
                    "default.replication.factor",
                    c.default_replication.to_string(),
                    TYPE_INT,
                ),
                (
                    "log.retention.bytes",
                    c.retention_bytes.map_or(-1, |b| b as i64).to_string(),
                    TYPE_LONG,
                ),
                (
                    "message.max.bytes",
                    c.max_message_bytes.to_string(),
                    TYPE_INT,
                ),
                ("num.partitions", c.default_partitions.to_string(), TYPE_INT),
            ])
        }
        other => Err((
            code::INVALID_REQUEST,
            format!("resource type {other} is not served: 2 (topic) or 4 (broker)"),
        )),
    }
}

pub(crate) fn describe_configs(
    shared: &Shared,
    version: i16,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for r in req.resources {
        let mut out = describe_configs_response::DescribeConfigsResult::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        match configs_of(shared, r.resource_type, &r.resource_name) {
            Ok(all) => {
                out.configs = all
                    .into_iter()
                    .filter(|(n, _, _)| {
                        r.configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == *n))
                    })
                    .map(|(n, v, t)| {
                        describe_configs_response::DescribeConfigsResourceResult::default()
                            .with_name(str_bytes(n))
                            .with_value(Some(str_bytes(&v)))
                            .with_config_source(DEFAULT_CONFIG)
                            .with_config_type(if version >= 3 { t } else { 0 })
                    })
                    .collect();
            }
            Err((c, msg)) => {
                out.error_code = c;
                out.error_message = Some(str_bytes(&msg));
            }
        }
        resp.results.push(out);
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
    _req: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let st = shared.state();
    let mut resp = DescribeClusterResponse::default()
        .with_cluster_id(str_bytes(&shared.config.cluster_id))
        .with_controller_id(BrokerId(st.up_broker_ids().first().copied().unwrap_or(-1)))
        .with_cluster_authorized_operations(i32::MIN);
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
