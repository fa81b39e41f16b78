//! Fetch: leader and leader-epoch checks, byte limits (request, partition,
//! and Kafka's rule that the first batch is always returned), high
//! watermark, log start offset, last stable offset, aborted transactions for
//! read_committed, and parking until `min_bytes` arrive or `max_wait_ms`
//! passes.
//!
//! Fetch sessions (KIP-227) are kept by [`super::fetch_session`]: it says
//! which partitions a request reads (those of the request, or of its
//! session) and which of them an incremental response carries.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::{BrokerId, FetchRequest, FetchResponse, ProducerId};
use tokio::time::Instant;

use super::fetch_session::{Context, TopicRef, Wanted};
use crate::cluster::Shared;
use crate::log::code;

/// The longest a fetch is parked, whatever the client asks.
const MAX_WAIT_CAP: Duration = Duration::from_secs(60);

pub(crate) async fn handle(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    req: FetchRequest,
) -> FetchResponse {
    let (ctx, wanted) =
        shared
            .fetch_sessions
            .open(broker_id, shared.config.fetch_session_slots, version, &req);
    if let Context::Refused(code) = ctx {
        let mut resp = FetchResponse::default();
        resp.error_code = code;
        return resp;
    }
    let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64).min(MAX_WAIT_CAP);
    let deadline = Instant::now() + wait;
    loop {
        let notified = shared.data_arrived.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (answers, bytes, errors) = build(shared, broker_id, version, &req, &wanted);
        if bytes >= req.min_bytes.max(0) as usize || errors || Instant::now() >= deadline {
            return respond(shared, broker_id, version, ctx, wanted, answers);
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// The response of `ctx` from one answer per partition read: every
/// partition for a full response, those the session picks for an
/// incremental one. Consecutive partitions of one topic share a topic
/// entry, so a topic may appear more than once (as in Kafka).
fn respond(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    ctx: Context,
    wanted: Vec<Wanted>,
    answers: Vec<PartitionData>,
) -> FetchResponse {
    let pairs: Vec<(Wanted, &PartitionData)> = wanted.into_iter().zip(answers.iter()).collect();
    let keep = shared.fetch_sessions.answered(broker_id, ctx, &pairs);
    let topics: Vec<TopicRef> = pairs.into_iter().map(|(w, _)| w.topic).collect();
    let mut resp = FetchResponse::default();
    resp.session_id = ctx.session_id();
    let mut last: Option<&TopicRef> = None;
    for ((topic, pd), keep) in topics.iter().zip(answers).zip(keep) {
        if !keep {
            continue;
        }
        if last != Some(topic) || resp.responses.is_empty() {
            let mut tr = FetchableTopicResponse::default();
            match topic {
                TopicRef::Id(id) if version >= 13 => tr.topic_id = *id,
                TopicRef::Name(n) => tr.topic = super::topic_name(n),
                TopicRef::Id(_) => {}
            }
            resp.responses.push(tr);
            last = Some(topic);
        }
        if let Some(tr) = resp.responses.last_mut() {
            tr.partitions.push(pd);
        }
    }
    resp
}

/// One pass over the partitions to read: one answer each, the record bytes
/// in them and whether any partition answered an error.
fn build(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    req: &FetchRequest,
    wanted: &[Wanted],
) -> (Vec<PartitionData>, usize, bool) {
    let st = shared.state();
    let max_bytes = if req.max_bytes <= 0 {
        usize::MAX
    } else {
        req.max_bytes as usize
    };
    let read_committed = req.isolation_level == 1;
    let mut total = 0usize;
    let mut errors = false;
    let mut out = Vec::with_capacity(wanted.len());
    for p in wanted {
        let name = match &p.topic {
            TopicRef::Id(id) => st.topic_name_by_id(*id),
            TopicRef::Name(n) => Some(n.clone()),
        };
        let mut pd = PartitionData::default();
        pd.partition_index = p.partition;
        pd.high_watermark = -1;
        pd.last_stable_offset = -1;
        pd.log_start_offset = -1;
        pd.aborted_transactions = None;
        pd.records = None;
        let part = name.as_deref().and_then(|n| st.partition(n, p.partition));
        let outcome = match part {
            None if name.is_none() => Err(code::UNKNOWN_TOPIC_ID),
            None => Err(code::UNKNOWN_TOPIC_OR_PARTITION),
            Some(part) => {
                if version >= 12 {
                    pd.current_leader.leader_id = BrokerId(part.leader);
                    pd.current_leader.leader_epoch = part.leader_epoch;
                }
                if part.leader != broker_id {
                    Err(code::NOT_LEADER_OR_FOLLOWER)
                } else if p.current_leader_epoch >= 0 && p.current_leader_epoch > part.leader_epoch
                {
                    Err(code::UNKNOWN_LEADER_EPOCH)
                } else if p.current_leader_epoch >= 0 && p.current_leader_epoch < part.leader_epoch
                {
                    Err(code::FENCED_LEADER_EPOCH)
                } else {
                    pd.high_watermark = part.log.high_watermark();
                    pd.last_stable_offset = part.log.last_stable_offset();
                    pd.log_start_offset = part.log.log_start_offset();
                    let room = max_bytes
                        .saturating_sub(total)
                        .min(p.max_bytes.max(0) as usize);
                    part.log
                        .read(p.fetch_offset, room, total == 0, read_committed)
                }
            }
        };
        match outcome {
            Ok(read) => {
                total += read.bytes;
                let mut buf = BytesMut::with_capacity(read.bytes);
                for b in &read.records {
                    buf.extend_from_slice(b);
                }
                pd.records = Some(buf.freeze());
                if read_committed {
                    pd.aborted_transactions = Some(
                        read.aborted
                            .iter()
                            .map(|a| {
                                let mut at = AbortedTransaction::default();
                                at.producer_id = ProducerId(a.producer_id);
                                at.first_offset = a.first_offset;
                                at
                            })
                            .collect(),
                    );
                }
            }
            Err(c) => {
                errors = true;
                pd.error_code = c;
                pd.records = Some(Bytes::new());
            }
        }
        out.push(pd);
    }
    (out, total, errors)
}
