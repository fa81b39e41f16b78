//! ListOffsets (earliest, latest, max timestamp, by timestamp) and
//! OffsetForLeaderEpoch.
//!
//! The mock keeps no leader-epoch history: an OffsetForLeaderEpoch for an
//! older epoch answers the log end offset, so clients never see truncation.

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    ListOffsetsRequest, ListOffsetsResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse,
};

use crate::cluster::{ClusterState, Partition, Shared};
use crate::log::code;

/// Leader and leader-epoch checks shared by the offset APIs.
fn leader_partition<'a>(
    st: &'a ClusterState,
    broker_id: i32,
    topic: &str,
    partition: i32,
    current_leader_epoch: i32,
) -> Result<&'a Partition, i16> {
    let part = st
        .partition(topic, partition)
        .ok_or(code::UNKNOWN_TOPIC_OR_PARTITION)?;
    if part.leader != broker_id {
        return Err(code::NOT_LEADER_OR_FOLLOWER);
    }
    if current_leader_epoch >= 0 && current_leader_epoch > part.leader_epoch {
        return Err(code::UNKNOWN_LEADER_EPOCH);
    }
    if current_leader_epoch >= 0 && current_leader_epoch < part.leader_epoch {
        return Err(code::FENCED_LEADER_EPOCH);
    }
    Ok(part)
}

pub(crate) fn list_offsets(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let st = shared.state();
    let mut resp = ListOffsetsResponse::default();
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name;
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            match leader_partition(
                &st,
                broker_id,
                &name,
                p.partition_index,
                p.current_leader_epoch,
            ) {
                Err(c) => pr.error_code = c,
                Ok(part) => {
                    let log = &part.log;
                    if version >= 4 {
                        pr.leader_epoch = part.leader_epoch;
                    }
                    match p.timestamp {
                        -1 if req.isolation_level == 1 => pr.offset = log.last_stable_offset(),
                        -1 => pr.offset = log.high_watermark(),
                        -2 | -4 | -5 => pr.offset = log.log_start_offset(),
                        ts if ts >= 0 || ts == -3 => {
                            if let Some((off, t)) = log.offset_for_timestamp(ts) {
                                pr.offset = off;
                                pr.timestamp = t;
                            }
                        }
                        _ => pr.error_code = code::INVALID_REQUEST,
                    }
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}

pub(crate) fn offset_for_leader_epoch(
    shared: &Shared,
    broker_id: i32,
    req: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let st = shared.state();
    let mut resp = OffsetForLeaderEpochResponse::default();
    for t in req.topics {
        let name = t.topic.0.to_string();
        let mut tr = OffsetForLeaderTopicResult::default();
        tr.topic = t.topic;
        for p in t.partitions {
            let mut e = EpochEndOffset::default();
            e.partition = p.partition;
            e.leader_epoch = -1;
            e.end_offset = -1;
            match leader_partition(&st, broker_id, &name, p.partition, p.current_leader_epoch) {
                Err(c) => e.error_code = c,
                Ok(part) if p.leader_epoch <= part.leader_epoch => {
                    e.leader_epoch = p.leader_epoch;
                    e.end_offset = part.log.high_watermark();
                }
                Ok(_) => {}
            }
            tr.partitions.push(e);
        }
        resp.topics.push(tr);
    }
    resp
}
