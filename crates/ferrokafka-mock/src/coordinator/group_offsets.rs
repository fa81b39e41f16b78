//! The wire side of committed offsets: OffsetCommit, OffsetFetch and
//! OffsetDelete requests become calls on the I/O-free [`super::group`]
//! machine. The judging of a commit's partitions is shared with
//! TxnOffsetCommit (in the parent module), whose topics have the same fields.

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::group::{FetchedOffset, FetchedOffsets, Groups, OffsetEntry, PartitionMap, NONE};
use super::{check_coordinator, own, own_opt, s};
use crate::cluster::Shared;

/// The partitions of an OffsetCommit or TxnOffsetCommit request as
/// [`CommitAsk`]s: the two requests' topic types differ but have the same
/// fields.
macro_rules! commit_asks {
    ($topics:expr) => {
        $topics
            .iter()
            .map(|t| {
                let parts = t.partitions.iter().map(|p| {
                    let entry = offset_entry(
                        p.committed_offset,
                        p.committed_leader_epoch,
                        &p.committed_metadata,
                    );
                    (p.partition_index, entry)
                });
                (own(&t.name), parts.collect())
            })
            .collect()
    };
}
pub(super) use commit_asks;

/// The partitions of one commit request, topic by topic in request order,
/// each with the offset entry it asks to store.
pub(super) type CommitAsk = (String, Vec<(i32, OffsetEntry)>);

/// Whether each of `partitions` exists in the cluster, in order. Read
/// before the coordinator lock is taken, as every handler here does.
pub(super) fn existing<'a>(
    shared: &Shared,
    partitions: impl Iterator<Item = (&'a str, i32)>,
) -> Vec<bool> {
    let cs = shared.state();
    partitions
        .map(|(t, p)| cs.partition(t, p).is_some())
        .collect()
}

/// The partitions of a commit request in request order.
pub(super) fn commit_partitions(asks: &[CommitAsk]) -> impl Iterator<Item = (&str, i32)> {
    asks.iter()
        .flat_map(|(t, parts)| parts.iter().map(move |(p, _)| (t.as_str(), *p)))
}

/// Judges every partition of an OffsetCommit or TxnOffsetCommit the same
/// way: the request-wide `check` decides first, then whether the partition
/// exists, then whether the offset itself is acceptable. Returns the error
/// code of each partition (shaped like `asks`) and the entries to store.
pub(super) fn judge_commit(
    asks: Vec<CommitAsk>,
    exists: &[bool],
    check: Result<(), i16>,
) -> (Vec<Vec<i16>>, PartitionMap<OffsetEntry>) {
    let mut store = PartitionMap::new();
    let mut exists = exists.iter();
    let codes = asks
        .into_iter()
        .map(|(topic, parts)| {
            parts
                .into_iter()
                .map(|(partition, entry)| {
                    let found = exists.next().copied().unwrap_or(false);
                    let code = match check {
                        Err(code) => code,
                        Ok(()) if !found => E::UnknownTopicOrPartition.code(),
                        Ok(()) => Groups::check_offset(&entry),
                    };
                    if code == NONE {
                        store.insert((topic.clone(), partition), entry);
                    }
                    code
                })
                .collect()
        })
        .collect();
    (codes, store)
}

pub(super) fn offset_entry(
    offset: i64,
    leader_epoch: i32,
    metadata: &Option<StrBytes>,
) -> OffsetEntry {
    OffsetEntry {
        offset,
        leader_epoch,
        metadata: own_opt(metadata),
    }
}

pub(super) fn offset_commit(
    shared: &Shared,
    broker_id: i32,
    r: OffsetCommitRequest,
) -> OffsetCommitResponse {
    let group_check = check_coordinator(shared, broker_id, &r.group_id);
    let asks: Vec<CommitAsk> = commit_asks!(r.topics);
    let exists = existing(shared, commit_partitions(&asks));
    let state = &shared.coordinator;
    let mut inner = state.lock();
    let instance = own_opt(&r.group_instance_id);
    let check = group_check.and_then(|()| {
        inner.groups.check_commit(
            state.now(),
            &r.group_id,
            r.generation_id_or_member_epoch,
            &r.member_id,
            instance.as_deref(),
        )
    });
    let (codes, to_store) = judge_commit(asks, &exists, check);
    let topics = r
        .topics
        .iter()
        .zip(codes)
        .map(|(t, codes)| {
            let partitions = t.partitions.iter().zip(codes).map(|(p, code)| {
                OffsetCommitResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(code)
            });
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions.collect())
        })
        .collect();
    inner.groups.store_offsets(&r.group_id, to_store);
    inner.deliver();
    OffsetCommitResponse::default().with_topics(topics)
}

/// Offsets of one group for OffsetFetch, or the group-level error.
fn fetch_group(
    shared: &Shared,
    broker_id: i32,
    group_id: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<FetchedOffsets, i16> {
    check_coordinator(shared, broker_id, group_id)?;
    let inner = shared.coordinator.lock();
    Ok(inner
        .groups
        .fetch_offsets(group_id, topics.as_deref(), require_stable))
}

/// (offset, leader epoch, metadata, error) of one fetched partition.
fn fetched(value: FetchedOffset) -> (i64, i32, Option<StrBytes>, i16) {
    match value {
        Ok(Some(e)) => (
            e.offset,
            e.leader_epoch,
            Some(s(e.metadata.as_deref().unwrap_or(""))),
            NONE,
        ),
        Ok(None) => (-1, -1, Some(StrBytes::default()), NONE),
        Err(code) => (-1, -1, Some(StrBytes::default()), code),
    }
}

pub(super) fn offset_fetch(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        resp.groups = r
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (own(&t.name), t.partition_indexes.clone()))
                        .collect()
                });
                let mut out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                match fetch_group(shared, broker_id, &g.group_id, topics, r.require_stable) {
                    Err(code) => out.error_code = code,
                    Ok(found) => {
                        out.topics = found
                            .into_iter()
                            .map(|(name, parts)| {
                                let partitions = parts
                                    .into_iter()
                                    .map(|(p, value)| {
                                        let (offset, epoch, metadata, code) = fetched(value);
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(offset)
                                            .with_committed_leader_epoch(epoch)
                                            .with_metadata(metadata)
                                            .with_error_code(code)
                                    })
                                    .collect();
                                OffsetFetchResponseTopics::default()
                                    .with_name(TopicName(s(&name)))
                                    .with_partitions(partitions)
                            })
                            .collect();
                    }
                }
                out
            })
            .collect();
        return resp;
    }
    let topics = r.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (own(&t.name), t.partition_indexes.clone()))
            .collect()
    });
    match fetch_group(
        shared,
        broker_id,
        &r.group_id,
        topics,
        r.require_stable && version >= 7,
    ) {
        Err(code) if version >= 2 => resp.error_code = code,
        Err(code) => {
            // v1 has no group-level error: every asked partition carries it.
            resp.topics = r
                .topics
                .iter()
                .flatten()
                .map(|t| {
                    let partitions = t
                        .partition_indexes
                        .iter()
                        .map(|p| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(-1)
                                .with_metadata(Some(StrBytes::default()))
                                .with_error_code(code)
                        })
                        .collect();
                    OffsetFetchResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
        }
        Ok(found) => {
            resp.topics = found
                .into_iter()
                .map(|(name, parts)| {
                    let partitions = parts
                        .into_iter()
                        .map(|(p, value)| {
                            let (offset, epoch, metadata, code) = fetched(value);
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(epoch)
                                .with_metadata(metadata)
                                .with_error_code(code)
                        })
                        .collect();
                    OffsetFetchResponseTopic::default()
                        .with_name(TopicName(s(&name)))
                        .with_partitions(partitions)
                })
                .collect();
        }
    }
    resp
}

/// The topics a consumer-protocol member subscribes to, read from its
/// JoinGroup metadata (a version-prefixed ConsumerProtocolSubscription);
/// empty when the metadata does not decode.
fn subscribed_topics(metadata: &Bytes) -> Vec<String> {
    let mut buf = metadata.clone();
    if buf.len() < 2 {
        return Vec::new();
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]);
    let _ = buf.split_to(2);
    // Newer versions only append fields, so the newest known one reads them.
    // The metadata is another client's bytes: walk it before the decoder
    // reserves memory from its counts.
    let version = version.clamp(0, 3);
    ferrokafka_wire::decode_embedded::<ConsumerProtocolSubscription>(
        ferrokafka_wire::Embedded::ConsumerSubscription,
        version,
        buf,
    )
    .map(|s| s.topics.iter().map(own).collect())
    .unwrap_or_default()
}

pub(super) fn offset_delete(
    shared: &Shared,
    broker_id: i32,
    r: OffsetDeleteRequest,
) -> OffsetDeleteResponse {
    let mut resp = OffsetDeleteResponse::default();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let mut inner = shared.coordinator.lock();
    let Some((protocol_type, metadata)) = inner.groups.member_metadata(&r.group_id) else {
        resp.error_code = E::GroupIdNotFound.code();
        return resp;
    };
    let subscribed: Vec<String> = if protocol_type == "consumer" {
        metadata.iter().flat_map(subscribed_topics).collect()
    } else {
        Vec::new()
    };
    let mut deletable = Vec::new();
    resp.topics = r
        .topics
        .iter()
        .map(|t| {
            let busy = subscribed.iter().any(|s| s.as_str() == t.name.as_str());
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = if busy {
                        E::GroupSubscribedToTopic.code()
                    } else {
                        deletable.push((own(&t.name), p.partition_index));
                        NONE
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    inner.groups.delete_offsets(&r.group_id, &deletable);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A member's subscription with a lying topic count reads as no topics
    /// instead of a reservation of gigabytes.
    #[test]
    fn a_lying_subscription_reads_as_no_topics() {
        let mut lie = 3i16.to_be_bytes().to_vec();
        lie.extend_from_slice(&i32::MAX.to_be_bytes());
        lie.extend_from_slice(b"ab");
        assert!(subscribed_topics(&Bytes::from(lie)).is_empty());
        let mut ok = 0i16.to_be_bytes().to_vec();
        ok.extend_from_slice(&1i32.to_be_bytes());
        ok.extend_from_slice(&1i16.to_be_bytes());
        ok.push(b't');
        ok.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(subscribed_topics(&Bytes::from(ok)), ["t"]);
    }
}
