//! [`ConsumerGroupMetadata`]: what a transactional producer needs to know
//! about a consumer's group membership to commit its offsets inside a
//! transaction (KIP-447).
//!
//! With the generation and member id in the TxnOffsetCommit, the group
//! coordinator refuses the commit of a member that a rebalance has already
//! replaced, so a zombie copy of a consume-transform-produce application
//! cannot commit input offsets a newer member now owns.

/// A consumer's group membership as of the call to
/// [`Consumer::group_metadata`](super::Consumer::group_metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroupMetadata {
    group_id: String,
    generation_id: i32,
    member_id: String,
    group_instance_id: Option<String>,
}

impl ConsumerGroupMetadata {
    /// Metadata naming only the group (generation -1, no member id): the
    /// coordinator then checks no membership, as for a consumer that
    /// assigns its partitions itself.
    pub fn new(group_id: impl Into<String>) -> Self {
        ConsumerGroupMetadata {
            group_id: group_id.into(),
            generation_id: -1,
            member_id: String::new(),
            group_instance_id: None,
        }
    }

    /// Metadata of a group member, as [`Consumer::group_metadata`](crate::consumer::Consumer::group_metadata)
    /// gives it. For callers that hold the membership in another form (a
    /// language binding, a proxy relaying another process's consumer); the
    /// coordinator checks the generation and member id when the transaction
    /// commits the offsets.
    pub fn with_member(
        group_id: String,
        generation_id: i32,
        member_id: String,
        group_instance_id: Option<String>,
    ) -> Self {
        ConsumerGroupMetadata {
            group_id,
            generation_id,
            member_id,
            group_instance_id,
        }
    }

    /// The group id (`group.id`).
    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    /// The group generation the consumer joined (-1 when not a member).
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// The member id the coordinator gave the consumer (empty when not a
    /// member).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// `group.instance.id` of a static member.
    pub fn group_instance_id(&self) -> Option<&str> {
        self.group_instance_id.as_deref()
    }
}
