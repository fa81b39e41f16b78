//! Produce: batch validation, leader check, offset assignment, idempotent
//! sequence checks, acks 0/1/all (replication is instantaneous, so acks=1
//! and acks=all answer alike; the server sends nothing for acks=0, or
//! closes the connection if a partition failed).

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};

use super::str_bytes;
use crate::cluster::Shared;
use crate::log::{self, code};

/// Kafka's INVALID_REQUIRED_ACKS.
const INVALID_REQUIRED_ACKS: i16 = 21;
/// Kafka's INVALID_TXN_STATE.
const INVALID_TXN_STATE: i16 = 48;
/// Kafka's TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;

pub(crate) fn handle(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    req: ProduceRequest,
) -> ProduceResponse {
    let config = &shared.config;
    let now = log::now_ms();
    let mut resp = ProduceResponse::default();
    let mut appended = false;
    {
        let mut st = shared.state();
        let check_sequences = !st.faults.skip_sequence_checks;
        let txn_id = req
            .transactional_id
            .as_ref()
            .map(|t| t.0.to_string())
            .filter(|t| !t.is_empty());
        // KIP-890 transaction version 2: Produce v12+ adds a transactional
        // batch's partition to the transaction itself.
        let implicit = version >= 12 && shared.features.transaction_v2();
        for t in req.topic_data {
            let name = t.name.0.to_string();
            let exists = st.auto_create(config, &name);
            let mut tr = TopicProduceResponse::default();
            tr.name = t.name.clone();
            for p in t.partition_data {
                let mut pr = PartitionProduceResponse::default();
                pr.index = p.index;
                pr.base_offset = -1;
                pr.log_append_time_ms = -1;
                pr.log_start_offset = -1;
                let part = if exists {
                    st.partition_mut(&name, p.index)
                } else {
                    None
                };
                let result = match part {
                    _ if ![0, 1, -1].contains(&req.acks) => Err(INVALID_REQUIRED_ACKS),
                    None => Err(code::UNKNOWN_TOPIC_OR_PARTITION),
                    Some(part) if part.leader != broker_id => Err(code::NOT_LEADER_OR_FOLLOWER),
                    Some(part) => {
                        let records = p.records.as_deref().unwrap_or(&[]);
                        let r = log::validate_batch(records, config.max_message_bytes)
                            .and_then(|h| {
                                fence(shared, &name, p.index, &h, txn_id.as_deref(), implicit)
                                    .map(|()| h)
                            })
                            .and_then(|h| {
                                part.log.append(
                                    records,
                                    &h,
                                    part.leader_epoch,
                                    config.log_append_time,
                                    now,
                                    check_sequences,
                                )
                            });
                        pr.log_start_offset = part.log.log_start_offset();
                        r
                    }
                };
                match result {
                    Ok(a) => {
                        appended = true;
                        pr.base_offset = a.base_offset;
                        pr.log_append_time_ms = a.log_append_time;
                    }
                    Err(c) => {
                        pr.error_code = c;
                        pr.error_message = Some(str_bytes(&describe(c)));
                    }
                }
                tr.partition_responses.push(pr);
            }
            resp.responses.push(tr);
        }
    }
    if appended {
        shared.notify_data();
    }
    resp
}

/// Checks a batch against the coordinator's view of its producer: an epoch
/// older than the one InitProducerId handed out is fenced, and a
/// transactional batch must go to a partition added to the transaction,
/// in a request naming its transactional id (Kafka refuses transactional
/// records without one as not authorised); with `implicit` (transaction
/// version 2) the partition is added here instead.
fn fence(
    shared: &Shared,
    topic: &str,
    partition: i32,
    h: &log::BatchHeader,
    txn_id: Option<&str>,
    implicit: bool,
) -> Result<(), i16> {
    if h.is_transactional() && txn_id.is_none() {
        return Err(TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    if h.producer_id < 0 {
        return Ok(());
    }
    if let Some(current) = shared.coordinator.producer_epoch(h.producer_id) {
        if h.producer_epoch < current {
            return Err(code::INVALID_PRODUCER_EPOCH);
        }
    }
    if h.is_transactional()
        && !shared
            .coordinator
            .in_transaction(h.producer_id, h.producer_epoch, topic, partition)
    {
        if let (true, Some(id)) = (implicit, txn_id) {
            let code = shared.coordinator.add_partition_implicitly(
                id,
                h.producer_id,
                h.producer_epoch,
                topic,
                partition,
            );
            return if code == 0 { Ok(()) } else { Err(code) };
        }
        return Err(INVALID_TXN_STATE);
    }
    Ok(())
}

/// The error message sent beside a produce error code.
fn describe(c: i16) -> String {
    match c {
        code::CORRUPT_MESSAGE => {
            "record batch failed validation (length, CRC-32C or record count)".into()
        }
        code::MESSAGE_TOO_LARGE => "record batch is larger than the maximum message size".into(),
        code::INVALID_RECORD => {
            "exactly one non-control v2 record batch per partition is accepted".into()
        }
        code::NOT_LEADER_OR_FOLLOWER => "this broker does not lead the partition".into(),
        code::UNKNOWN_TOPIC_OR_PARTITION => "unknown topic or partition".into(),
        code::OUT_OF_ORDER_SEQUENCE_NUMBER => "out of order sequence number".into(),
        code::INVALID_PRODUCER_EPOCH => "producer epoch is older than the current one".into(),
        code::UNKNOWN_PRODUCER_ID => "no state for this producer id on the partition".into(),
        INVALID_TXN_STATE => {
            "transactional batch for a partition not added to the transaction".into()
        }
        INVALID_REQUIRED_ACKS => "acks must be 0, 1 or -1".into(),
        other => format!("error {other}"),
    }
}
