//! CreateTopics (with validate_only), DeleteTopics and CreatePartitions.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse,
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
