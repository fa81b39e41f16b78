//! Metadata: live brokers, topics (auto-created when allowed), partitions
//! with leaders, leader epochs, replicas, ISR and offline replicas.
//!
//! A broker that is down is left out of the broker list, and partitions it
//! leads answer LEADER_NOT_AVAILABLE with leader -1 until it is up again or
//! the leader is moved.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse};

use super::{str_bytes, topic_name};
use crate::cluster::{ClusterState, Shared};
use crate::log::code;

pub(crate) fn handle(
    shared: &Shared,
    _broker_id: i32,
    version: i16,
    req: MetadataRequest,
) -> MetadataResponse {
    let config = &shared.config;
    let mut st = shared.state();
    let mut r = MetadataResponse::default();
    for b in st.brokers.iter().filter(|b| b.up) {
        let mut mb = MetadataResponseBroker::default();
        mb.node_id = BrokerId(b.id);
        mb.host = str_bytes(&b.host);
        mb.port = i32::from(b.port);
        r.brokers.push(mb);
    }
    if version >= 2 {
        r.cluster_id = Some(str_bytes(&config.cluster_id));
    }
    if version >= 1 {
        r.controller_id = BrokerId(st.up_broker_ids().first().copied().unwrap_or(-1));
    }
    // v0: an empty list means all topics; v1+: null means all topics.
    let wanted: Option<Vec<(Option<String>, uuid::Uuid)>> = match req.topics {
        None => None,
        Some(t) if t.is_empty() && version == 0 => None,
        Some(t) => Some(
            t.into_iter()
                .map(|t| (t.name.map(|n| n.0.to_string()), t.topic_id))
                .collect(),
        ),
    };
    let allow_create = version < 4 || req.allow_auto_topic_creation;
    let include_ops = version >= 8 && req.include_topic_authorized_operations;
    match wanted {
        None => {
            let names: Vec<String> = st.topics.keys().cloned().collect();
            for n in names {
                r.topics.push(topic(&st, version, &n, include_ops));
            }
        }
        Some(list) => {
            for (name, id) in list {
                let name = match name {
                    Some(n) => n,
                    None => match st.topic_name_by_id(id) {
                        Some(n) => n,
                        None => {
                            let mut t = MetadataResponseTopic::default();
                            t.error_code = code::UNKNOWN_TOPIC_ID;
                            t.topic_id = id;
                            r.topics.push(t);
                            continue;
                        }
                    },
                };
                if !st.topics.contains_key(&name) {
                    if let Err((c, _)) = ClusterState::validate_topic_name(&name) {
                        let mut t = MetadataResponseTopic::default();
                        t.error_code = c;
                        t.name = Some(topic_name(&name));
                        r.topics.push(t);
                        continue;
                    }
                    if allow_create {
                        st.auto_create(config, &name);
                    }
                }
                r.topics.push(topic(&st, version, &name, include_ops));
            }
        }
    }
    r
}

/// What a topic's authorized operations are without an authorizer (Kafka
/// then allows everything a topic supports): READ, WRITE, CREATE, DELETE,
/// ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
const TOPIC_OPERATIONS: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);

fn topic(st: &ClusterState, version: i16, name: &str, include_ops: bool) -> MetadataResponseTopic {
    let mut t = MetadataResponseTopic::default();
    t.name = Some(topic_name(name));
    let Some(topic) = st.topics.get(name) else {
        t.error_code = code::UNKNOWN_TOPIC_OR_PARTITION;
        return t;
    };
    if version >= 10 {
        t.topic_id = topic.id;
    }
    if version >= 8 {
        t.topic_authorized_operations = if include_ops {
            TOPIC_OPERATIONS
        } else {
            i32::MIN
        };
    }
    for (i, p) in topic.partitions.iter().enumerate() {
        let mut mp = MetadataResponsePartition::default();
        mp.partition_index = i as i32;
        let up = |id: &i32| st.is_up(*id);
        if st.is_up(p.leader) {
            mp.leader_id = BrokerId(p.leader);
        } else {
            mp.leader_id = BrokerId(-1);
            mp.error_code = code::LEADER_NOT_AVAILABLE;
        }
        mp.leader_epoch = if version >= 7 { p.leader_epoch } else { -1 };
        mp.replica_nodes = p.replicas.iter().map(|r| BrokerId(*r)).collect();
        mp.isr_nodes = p
            .replicas
            .iter()
            .filter(|r| up(r))
            .map(|r| BrokerId(*r))
            .collect();
        if version >= 5 {
            mp.offline_replicas = p
                .replicas
                .iter()
                .filter(|r| !up(r))
                .map(|r| BrokerId(*r))
                .collect();
        }
        t.partitions.push(mp);
    }
    t
}
