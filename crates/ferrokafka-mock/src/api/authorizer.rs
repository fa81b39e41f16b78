//! ACL enforcement, when the cluster is built with
//! [`crate::MockClusterBuilder::authorizer`]: the topic operations Kafka's
//! authorizer checks on the data and topic APIs, against the ACLs of
//! `api::acls`, for the connection's principal (`User:name` after SASL,
//! `User:ANONYMOUS` without); super users pass everything.
//!
//! Enforced: Metadata (DESCRIBE; a topic listing leaves out what the
//! principal may not describe, a named topic answers
//! TOPIC_AUTHORIZATION_FAILED and is not auto-created), Produce (WRITE),
//! Fetch (READ), ListOffsets (DESCRIBE), CreateTopics (CREATE on the
//! cluster or the topic) and DeleteTopics (DELETE). Each refused topic is
//! taken out of the request before the handler sees it and answered with
//! TOPIC_AUTHORIZATION_FAILED (29) in the response, so the authorized
//! topics of the same request are served. Group, transactional-id and
//! cluster operations are not checked.

use kafka_protocol::messages::{
    create_topics_response::CreatableTopicResult,
    delete_topics_response::DeletableTopicResult,
    fetch_response::{FetchableTopicResponse, PartitionData},
    list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse},
    metadata_response::MetadataResponseTopic,
    produce_response::{PartitionProduceResponse, TopicProduceResponse},
    RequestKind, ResponseKind, TopicName,
};

use super::acls::{allowed, CREATE, DELETE, DESCRIBE, READ, TOPIC, WRITE};
use super::str_bytes;
use crate::cluster::Shared;

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const CLUSTER: i8 = 4;

/// What [`screen`] took out of a request, to answer in its response.
#[derive(Debug, Default)]
pub(crate) struct Denied {
    /// `(topic name, topic id, partitions)` refused.
    topics: Vec<(TopicName, uuid::Uuid, Vec<i32>)>,
    /// A topic listing: filter the response by DESCRIBE.
    listing: bool,
}

fn may(shared: &Shared, principal: &str, name: &str, op: i8) -> bool {
    let Some(supers) = &shared.config.authorizer else {
        return true;
    };
    if supers.iter().any(|s| s == principal) {
        return true;
    }
    let st = shared.state();
    allowed(&st.acls, principal, TOPIC, name, op)
        || (op == CREATE && allowed(&st.acls, principal, CLUSTER, "kafka-cluster", CREATE))
}

/// Takes the topics `principal` may not touch out of `request`.
pub(crate) fn screen(
    shared: &Shared,
    principal: &str,
    _version: i16,
    request: RequestKind,
) -> (RequestKind, Denied) {
    let mut denied = Denied::default();
    if shared.config.authorizer.is_none() {
        return (request, denied);
    }
    let name_of = |name: &TopicName, id: &uuid::Uuid| -> String {
        if name.0.is_empty() && !id.is_nil() {
            shared.state().topic_name_by_id(*id).unwrap_or_default()
        } else {
            name.0.to_string()
        }
    };
    let request = match request {
        RequestKind::Metadata(mut r) => {
            match r.topics.as_mut() {
                None => denied.listing = true,
                Some(ts) => ts.retain(|t| {
                    let name = t.name.clone().unwrap_or_default();
                    let ok = may(shared, principal, &name_of(&name, &t.topic_id), DESCRIBE);
                    if !ok {
                        denied.topics.push((name, t.topic_id, Vec::new()));
                    }
                    ok
                }),
            }
            RequestKind::Metadata(r)
        }
        RequestKind::Produce(mut r) => {
            r.topic_data.retain(|t| {
                let ok = may(shared, principal, &name_of(&t.name, &t.topic_id), WRITE);
                if !ok {
                    let parts = t.partition_data.iter().map(|p| p.index).collect();
                    denied.topics.push((t.name.clone(), t.topic_id, parts));
                }
                ok
            });
            RequestKind::Produce(r)
        }
        RequestKind::Fetch(mut r) => {
            r.topics.retain(|t| {
                let ok = may(shared, principal, &name_of(&t.topic, &t.topic_id), READ);
                if !ok {
                    let parts = t.partitions.iter().map(|p| p.partition).collect();
                    denied.topics.push((t.topic.clone(), t.topic_id, parts));
                }
                ok
            });
            RequestKind::Fetch(r)
        }
        RequestKind::ListOffsets(mut r) => {
            r.topics.retain(|t| {
                let ok = may(shared, principal, &t.name.0, DESCRIBE);
                if !ok {
                    let parts = t.partitions.iter().map(|p| p.partition_index).collect();
                    denied
                        .topics
                        .push((t.name.clone(), uuid::Uuid::nil(), parts));
                }
                ok
            });
            RequestKind::ListOffsets(r)
        }
        RequestKind::CreateTopics(mut r) => {
            r.topics.retain(|t| {
                let ok = may(shared, principal, &t.name.0, CREATE);
                if !ok {
                    denied
                        .topics
                        .push((t.name.clone(), uuid::Uuid::nil(), Vec::new()));
                }
                ok
            });
            RequestKind::CreateTopics(r)
        }
        RequestKind::DeleteTopics(mut r) => {
            r.topic_names.retain(|n| {
                let ok = may(shared, principal, &n.0, DELETE);
                if !ok {
                    denied
                        .topics
                        .push((n.clone(), uuid::Uuid::nil(), Vec::new()));
                }
                ok
            });
            r.topics.retain(|t| {
                let name = t.name.clone().unwrap_or_default();
                let ok = may(shared, principal, &name_of(&name, &t.topic_id), DELETE);
                if !ok {
                    denied.topics.push((name, t.topic_id, Vec::new()));
                }
                ok
            });
            RequestKind::DeleteTopics(r)
        }
        other => other,
    };
    (request, denied)
}

/// Adds the refused topics of `denied` to `response` as authorization
/// errors, and leaves undescribable topics out of a listing.
pub(crate) fn answer(
    shared: &Shared,
    principal: &str,
    _version: i16,
    denied: Denied,
    response: &mut ResponseKind,
) {
    if shared.config.authorizer.is_none() {
        return;
    }
    let message = |name: &TopicName| {
        Some(str_bytes(&format!(
            "Authorization failed for {principal} on topic {}.",
            name.0.as_str()
        )))
    };
    match response {
        ResponseKind::Metadata(r) => {
            if denied.listing {
                r.topics.retain(|t| {
                    t.name
                        .as_ref()
                        .is_none_or(|n| may(shared, principal, &n.0, DESCRIBE))
                });
            }
            for (name, id, _) in denied.topics {
                let mut t = MetadataResponseTopic::default();
                t.error_code = TOPIC_AUTHORIZATION_FAILED;
                t.name = Some(name);
                t.topic_id = id;
                r.topics.push(t);
            }
        }
        ResponseKind::Produce(r) => {
            for (name, id, parts) in denied.topics {
                let mut t = TopicProduceResponse::default();
                t.name = name.clone();
                t.topic_id = id;
                t.partition_responses = parts
                    .into_iter()
                    .map(|p| {
                        let mut x = PartitionProduceResponse::default();
                        x.index = p;
                        x.error_code = TOPIC_AUTHORIZATION_FAILED;
                        x.base_offset = -1;
                        x.error_message = message(&name);
                        x
                    })
                    .collect();
                r.responses.push(t);
            }
        }
        ResponseKind::Fetch(r) => {
            for (name, id, parts) in denied.topics {
                let mut t = FetchableTopicResponse::default();
                t.topic = name;
                t.topic_id = id;
                t.partitions = parts
                    .into_iter()
                    .map(|p| {
                        let mut x = PartitionData::default();
                        x.partition_index = p;
                        x.error_code = TOPIC_AUTHORIZATION_FAILED;
                        x.high_watermark = -1;
                        x.last_stable_offset = -1;
                        x.log_start_offset = -1;
                        x
                    })
                    .collect();
                r.responses.push(t);
            }
        }
        ResponseKind::ListOffsets(r) => {
            for (name, _, parts) in denied.topics {
                let mut t = ListOffsetsTopicResponse::default();
                t.name = name;
                t.partitions = parts
                    .into_iter()
                    .map(|p| {
                        let mut x = ListOffsetsPartitionResponse::default();
                        x.partition_index = p;
                        x.error_code = TOPIC_AUTHORIZATION_FAILED;
                        x.offset = -1;
                        x.timestamp = -1;
                        x
                    })
                    .collect();
                r.topics.push(t);
            }
        }
        ResponseKind::CreateTopics(r) => {
            for (name, _, _) in denied.topics {
                let mut t = CreatableTopicResult::default();
                t.error_message = message(&name);
                t.name = name;
                t.error_code = TOPIC_AUTHORIZATION_FAILED;
                t.num_partitions = -1;
                t.replication_factor = -1;
                r.topics.push(t);
            }
        }
        ResponseKind::DeleteTopics(r) => {
            for (name, id, _) in denied.topics {
                let mut t = DeletableTopicResult::default();
                t.error_message = message(&name);
                t.name = Some(name);
                t.topic_id = id;
                t.error_code = TOPIC_AUTHORIZATION_FAILED;
                r.responses.push(t);
            }
        }
        _ => {}
    }
}
