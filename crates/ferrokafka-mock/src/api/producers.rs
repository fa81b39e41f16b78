//! DescribeProducers and WriteTxnMarkers (KIP-664's admin side), served
//! by partition leaders: the producers with state on each partition, and
//! control markers written on an operator's request to end a hanging
//! transaction. Another broker answers NOT_LEADER_OR_FOLLOWER, an unknown
//! partition UNKNOWN_TOPIC_OR_PARTITION; a marker from an epoch older than
//! the producer's is refused by the log (INVALID_PRODUCER_EPOCH).

use kafka_protocol::messages::{
    describe_producers_response, write_txn_markers_response, DescribeProducersRequest,
    DescribeProducersResponse, ProducerId, WriteTxnMarkersRequest, WriteTxnMarkersResponse,
};

use crate::cluster::{ClusterState, Shared};
use crate::log::code::{NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION};

/// `Ok` when `broker_id` leads `topic`/`p`, else the error to answer.
fn leads(st: &ClusterState, broker_id: i32, topic: &str, p: i32) -> Result<(), i16> {
    match st.partition(topic, p) {
        None => Err(UNKNOWN_TOPIC_OR_PARTITION),
        Some(part) if part.leader != broker_id => Err(NOT_LEADER_OR_FOLLOWER),
        Some(_) => Ok(()),
    }
}

pub(crate) fn describe_producers(
    shared: &Shared,
    broker_id: i32,
    req: DescribeProducersRequest,
) -> DescribeProducersResponse {
    use describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
    let st = shared.state();
    let mut r = DescribeProducersResponse::default();
    for t in req.topics {
        let topic = t.name.0.to_string();
        let mut x = TopicResponse::default();
        x.name = t.name;
        for p in t.partition_indexes {
            let mut pr = PartitionResponse::default();
            pr.partition_index = p;
            match leads(&st, broker_id, &topic, p) {
                Err(c) => pr.error_code = c,
                Ok(()) => {
                    let log = &st.partition(&topic, p).expect("checked by leads").log;
                    pr.active_producers = log
                        .active_producers()
                        .into_iter()
                        .map(|a| {
                            let mut s = ProducerState::default();
                            s.producer_id = ProducerId(a.producer_id);
                            s.producer_epoch = i32::from(a.epoch);
                            s.last_sequence = a.last_sequence;
                            s.last_timestamp = a.last_timestamp;
                            s.coordinator_epoch = -1;
                            s.current_txn_start_offset = a.txn_start_offset.unwrap_or(-1);
                            s
                        })
                        .collect();
                }
            }
            x.partitions.push(pr);
        }
        r.topics.push(x);
    }
    r
}

pub(crate) fn write_txn_markers(
    shared: &Shared,
    broker_id: i32,
    req: WriteTxnMarkersRequest,
) -> WriteTxnMarkersResponse {
    use write_txn_markers_response::{
        WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
    };
    let mut r = WriteTxnMarkersResponse::default();
    {
        let mut st = shared.state();
        for m in req.markers {
            let mut mr = WritableTxnMarkerResult::default();
            mr.producer_id = m.producer_id;
            for t in m.topics {
                let topic = t.name.0.to_string();
                let mut tr = WritableTxnMarkerTopicResult::default();
                tr.name = t.name;
                for p in t.partition_indexes {
                    let mut pr = WritableTxnMarkerPartitionResult::default();
                    pr.partition_index = p;
                    let res = leads(&st, broker_id, &topic, p).and_then(|()| {
                        st.append_txn_marker(
                            &topic,
                            p,
                            m.producer_id.0,
                            m.producer_epoch,
                            m.transaction_result,
                            m.coordinator_epoch,
                        )
                    });
                    if let Err(c) = res {
                        pr.error_code = c;
                    }
                    tr.partitions.push(pr);
                }
                mr.topics.push(tr);
            }
            r.markers.push(mr);
        }
    }
    shared.notify_data();
    r
}
