//! A batch and its records: what one partition sends (and retries) as one
//! RecordBatch, what each record costs against the queue limits, and the
//! delivery of a finished batch's reports (outside the accumulator's lock).

use super::delivery::{BatchOutcome, Callback, Completion};
use super::message::ProducerRecord;
use crate::error::ErrorCode;
use crate::record::Header;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One record inside a batch.
pub(crate) struct Msg {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    pub timestamp: i64,
    /// Bytes counted against `queue.buffering.max.kbytes`.
    pub size: usize,
    /// A slot of its own (records that waited for metadata), else the batch's.
    pub own: Option<Arc<Completion>>,
    pub callback: Option<Callback>,
}

impl Msg {
    pub(crate) fn into_record(self, topic: &Arc<str>, partition: Option<i32>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.clone(),
            partition,
            key: self.key,
            value: self.value,
            headers: self.headers,
            timestamp: Some(self.timestamp),
        }
    }
}

/// Records of one partition sent (and retried) together as one RecordBatch.
pub(crate) struct Batch {
    pub topic: Arc<str>,
    pub topic_idx: usize,
    pub partition: i32,
    pub msgs: Vec<Msg>,
    /// Sum of `Msg::size`.
    pub bytes: usize,
    /// What the batch counts against `queue.buffering.max.kbytes`: its
    /// records' [`queue_cost`], the batch itself and, once encoded, the
    /// encoded RecordBatch kept for retries.
    pub cost: usize,
    /// `cost` includes the encoded RecordBatch.
    pub encoded_counted: bool,
    /// While a request carrying the batch is in flight: the size of its
    /// copy in that request (the connection holds the encoded request until
    /// it is written), also counted against the cap.
    pub request_copy: usize,
    pub first_msgid: u64,
    pub created: Instant,
    /// An earlier attempt may have written the batch (it timed out or the
    /// connection dropped while in flight).
    pub maybe_persisted: bool,
    /// The oldest record's delivery deadline (`message.timeout.ms`).
    pub deadline: Option<Instant>,
    pub completion: Arc<Completion>,
    /// Requests this batch went out in.
    pub attempts: u32,
    pub retry_at: Option<Instant>,
    /// No more records may be added.
    pub sealed: bool,
    /// The encoded RecordBatch, kept for retries.
    pub encoded: Option<crate::record::EncodedBatch>,
    /// Idempotence: producer id, epoch and base sequence this attempt must
    /// carry (set when the batch is taken for sending).
    pub stamp: Option<(i64, i16, i32)>,
    /// What `encoded` carries now.
    pub encoded_stamp: Option<(i64, i16, i32)>,
}

/// How a finished batch or record is to be reported.
pub(crate) enum Done {
    /// A whole batch.
    Batch(Batch, BatchOutcome),
    /// One record that never joined a batch (it waited for metadata).
    Single {
        topic: Arc<str>,
        partition: Option<i32>,
        msg: Msg,
        outcome: BatchOutcome,
    },
}

impl Done {
    /// How many records this report covers.
    pub(crate) fn records(&self) -> usize {
        match self {
            Done::Batch(b, _) => b.msgs.len(),
            Done::Single { .. } => 1,
        }
    }
}

/// What a queued record costs in memory, counted against
/// `queue.buffering.max.kbytes`: its payload size (`record_size`) plus the
/// struct that holds it in its batch and one per header. Counting only the
/// payloads let a queue of small records take several times the cap
/// (issue 13: 3.3x); payloads shared between records are counted once per
/// record, which errs on the safe side.
pub(crate) fn queue_cost(size: usize, headers: usize) -> usize {
    size + std::mem::size_of::<Msg>() + headers * std::mem::size_of::<Header>()
}

/// Bytes a record counts for in batches and statistics: payloads, headers
/// and a fixed overhead.
pub(super) fn record_size(r: &ProducerRecord) -> usize {
    let mut n = 16 + r.key.as_ref().map_or(0, Bytes::len) + r.value.as_ref().map_or(0, Bytes::len);
    for h in &r.headers {
        n += 8 + h.key.len() + h.value.as_ref().map_or(0, |v| v.len());
    }
    n
}

/// Errors after which the records may have been written anyway.
pub(super) fn possibly_persisted(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::Transport
            | ErrorCode::TimedOut
            | ErrorCode::RequestTimedOut
            | ErrorCode::NetworkException
            | ErrorCode::NotEnoughReplicasAfterAppend
            | ErrorCode::MsgTimedOut
            | ErrorCode::PurgeInflight
    )
}

/// Delivers the reports of a finished batch or record: the per-batch slot,
/// per-record slots and callbacks. Runs outside the accumulator's lock.
///
/// `reported(n)` is told as records stop counting as unreported: a record
/// with a callback after its callback returned (a flush waits for it), one
/// with a future before its future resolves (whoever awaited it sees the
/// count without it).
pub(crate) fn complete(done: Done, reported: impl Fn(usize)) {
    match done {
        Done::Batch(b, outcome) => {
            let failed = matches!(outcome, BatchOutcome::Failed { .. });
            let mut returned = Vec::new();
            let partition = Some(b.partition);
            let mut batch_slot = 0usize;
            for (i, mut m) in b.msgs.into_iter().enumerate() {
                let cb = m.callback.take();
                let own = m.own.take();
                if cb.is_none() && own.is_none() {
                    if failed {
                        returned.push(Some(m.into_record(&b.topic, partition)));
                    }
                    batch_slot += 1;
                    continue;
                }
                if failed {
                    returned.push(None);
                }
                let shifted = shift(&outcome, i as u32);
                finish_msg(m, own, cb, &b.topic, partition, &shifted, &reported);
            }
            reported(batch_slot);
            b.completion.complete(outcome, returned);
        }
        Done::Single {
            topic,
            partition,
            mut msg,
            outcome,
        } => {
            let cb = msg.callback.take();
            let own = msg.own.take();
            let counted = cb.is_none() && own.is_none();
            finish_msg(msg, own, cb, &topic, partition, &outcome, &reported);
            if counted {
                reported(1);
            }
        }
    }
}

/// The outcome as seen by record `index` of a batch, for a record with a
/// slot of its own (index 0 there).
pub(super) fn shift(outcome: &BatchOutcome, index: u32) -> BatchOutcome {
    match outcome {
        BatchOutcome::Delivered {
            partition,
            base_offset,
            log_append_time,
        } => BatchOutcome::Delivered {
            partition: *partition,
            base_offset: if *base_offset < 0 {
                -1
            } else {
                base_offset + i64::from(index)
            },
            log_append_time: *log_append_time,
        },
        other => other.clone(),
    }
}

pub(super) fn finish_msg(
    m: Msg,
    own: Option<Arc<Completion>>,
    cb: Option<Callback>,
    topic: &Arc<str>,
    partition: Option<i32>,
    outcome: &BatchOutcome,
    reported: &impl Fn(usize),
) {
    use super::delivery::record_result;
    let failed = matches!(outcome, BatchOutcome::Failed { .. });
    let ts = m.timestamp;
    match (cb, own) {
        (Some(cb), own) => {
            let mut rec = Some(m.into_record(topic, partition));
            let r = record_result(outcome, topic, 0, ts, || rec.take());
            if let Some(own) = own {
                own.complete(outcome.clone(), Vec::new());
            }
            cb(r);
            reported(1);
        }
        (None, Some(own)) => {
            let returned = if failed {
                vec![Some(m.into_record(topic, partition))]
            } else {
                Vec::new()
            };
            reported(1);
            own.complete(outcome.clone(), returned);
        }
        (None, None) => {}
    }
}

pub(super) fn deadline(from: Instant, timeout: Duration) -> Option<Instant> {
    if timeout.is_zero() {
        None
    } else {
        from.checked_add(timeout)
    }
}
