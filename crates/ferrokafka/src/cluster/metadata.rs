//! The public metadata types the cluster layer hands out (re-exported at
//! the crate root): what one broker said about the cluster's brokers,
//! topics and partitions, and the topic id type.

use crate::error::{Error, ErrorCode, Result};

/// Brokers and topics of a cluster, as one broker described them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// Every broker the answer listed, by id.
    pub brokers: Vec<BrokerMetadata>,
    /// The topics asked for (or every topic), by name.
    pub topics: Vec<TopicMetadata>,
    /// The cluster id (Metadata v2+).
    pub cluster_id: Option<String>,
    /// The controller broker's id (Metadata v1+).
    pub controller_id: Option<i32>,
    /// The broker that answered: its id (negative for a bootstrap address
    /// not yet matched to an id) and address.
    pub orig_broker_id: i32,
    /// The address of the broker that answered.
    pub orig_broker_name: String,
}

/// One broker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerMetadata {
    /// Broker id (`node.id`).
    pub id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: u16,
    /// Rack, when the broker has `broker.rack` set.
    pub rack: Option<String>,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicMetadata {
    /// Topic name.
    pub name: String,
    /// The topic-level error the broker reported, e.g.
    /// `UnknownTopicOrPartition` for a topic that does not exist.
    pub error: Option<ErrorCode>,
    /// Whether this is an internal topic such as `__consumer_offsets`.
    pub is_internal: bool,
    /// The topic's id (Metadata v10+, KIP-516), `None` from older brokers.
    pub topic_id: Option<TopicId>,
    /// Partitions, by id.
    pub partitions: Vec<PartitionMetadata>,
    /// The broker's bit field of the operations this client may perform
    /// on the topic (Metadata v8+, only when the request asked for it);
    /// the admin client turns it into ACL operations.
    pub(crate) authorized_operations: Option<i32>,
}

/// A topic id (KIP-516), printed as a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicId(pub [u8; 16]);

impl TopicId {
    /// Whether this is the all-zero id brokers send when there is none.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
    /// The id of `bytes`, `None` for the all-zero "no id".
    pub(crate) fn from_bytes(bytes: [u8; 16]) -> Option<TopicId> {
        let id = TopicId(bytes);
        (!id.is_nil()).then_some(id)
    }
    pub(crate) fn from_uuid(u: uuid::Uuid) -> Option<TopicId> {
        TopicId::from_bytes(*u.as_bytes())
    }
    pub(crate) fn uuid(&self) -> uuid::Uuid {
        uuid::Uuid::from_bytes(self.0)
    }
}

impl std::fmt::Display for TopicId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.uuid().hyphenated(), f)
    }
}

impl std::str::FromStr for TopicId {
    type Err = Error;
    /// Parses the hyphenated or plain hex UUID form.
    fn from_str(s: &str) -> Result<TopicId> {
        uuid::Uuid::try_parse(s)
            .map(|u| TopicId(*u.as_bytes()))
            .map_err(|e| {
                Error::new(
                    ErrorCode::InvalidArg,
                    format!("topic id {s:?} is not a UUID: {e}"),
                )
            })
    }
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionMetadata {
    /// Partition id.
    pub id: i32,
    /// The leader's broker id; `None` while there is no leader.
    pub leader: Option<i32>,
    /// The leader epoch (Metadata v7+, KIP-320).
    pub leader_epoch: Option<i32>,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
    /// Offline replica broker ids (Metadata v5+).
    pub offline_replicas: Vec<i32>,
    /// The partition-level error the broker reported.
    pub error: Option<ErrorCode>,
}
