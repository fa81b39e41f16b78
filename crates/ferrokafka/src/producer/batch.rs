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

/// One record inside a batch. Up to `queue.buffering.max.messages` of
/// these wait at once, so its size is the producer's memory per queued
/// record (104 bytes; issue 19).
pub(crate) struct Msg {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub timestamp: i64,
    /// Bytes counted against `queue.buffering.max.kbytes`.
    pub size: usize,
    pub callback: Option<Callback>,
    /// Headers and a slot of its own, which most records lack: boxed so
    /// those records do not carry their room (24 of 128 bytes).
    pub rare: Option<Box<Rare>>,
}

/// The parts of a [`Msg`] few records have.
#[derive(Default)]
pub(crate) struct Rare {
    pub headers: Vec<Header>,
    /// A slot of its own (records that waited for metadata), else the batch's.
    pub own: Option<Arc<Completion>>,
}

impl Msg {
    pub(crate) fn new(
        key: Option<Bytes>,
        value: Option<Bytes>,
        headers: Vec<Header>,
        timestamp: i64,
        size: usize,
        callback: Option<Callback>,
    ) -> Msg {
        Msg {
            key,
            value,
            timestamp,
            size,
            callback,
            rare: (!headers.is_empty()).then(|| Box::new(Rare { headers, own: None })),
        }
    }

    pub(crate) fn headers(&self) -> &[Header] {
        self.rare.as_ref().map_or(&[], |r| &r.headers)
    }

    /// The record's own completion slot, if it has one.
    pub(crate) fn own(&self) -> Option<&Arc<Completion>> {
        self.rare.as_ref().and_then(|r| r.own.as_ref())
    }

    pub(crate) fn take_own(&mut self) -> Option<Arc<Completion>> {
        self.rare.as_mut().and_then(|r| r.own.take())
    }

    pub(crate) fn set_own(&mut self, own: Arc<Completion>) {
        self.rare.get_or_insert_with(Box::default).own = Some(own);
    }

    pub(crate) fn into_record(self, topic: &Arc<str>, partition: Option<i32>) -> ProducerRecord {
        ProducerRecord {
            topic: topic.clone(),
            partition,
            key: self.key,
            value: self.value,
            headers: self.rare.map(|r| r.headers).unwrap_or_default(),
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
    /// Records whose [`Msg`] was dropped once the batch was encoded (none
    /// had a slot of its own): `msgs` is then empty and a failure reads the
    /// records back from `encoded` ([`shed`]).
    pub shed: usize,
    /// The queue cost of the dropped `Msg`s, to release under the
    /// accumulator's lock (`on_batch_sent`).
    pub shed_cost: usize,
    /// The callbacks of shed records, one entry per record in order, with
    /// the record's timestamp (its report's `CreateTime`); empty when no
    /// record had one.
    pub shed_callbacks: Vec<Option<(i64, Callback)>>,
}

impl Batch {
    /// Records in the batch.
    pub(crate) fn records(&self) -> usize {
        self.msgs.len() + self.shed
    }
}

/// Drops an encoded batch's [`Msg`]s when nothing needs them before its
/// outcome but their callbacks: no record has a slot of its own, so the
/// batch's completion and the callbacks kept aside report them all, and a
/// failure hands the records back read from the encoded batch
/// ([`records_back`]). Until the answer comes, the encoded RecordBatch is
/// then the only copy of the records: about 108 bytes for a 100-byte record
/// instead of that plus its 104-byte `Msg` and the payload it held (issue
/// 19), and 24 bytes more for a record with a callback. Payloads that are
/// slices of a larger buffer, as the CLI's input chunks are, free that
/// buffer once the last batch with a record of it is encoded.
pub(crate) fn shed(b: &mut Batch) {
    if b.shed > 0 || b.encoded.is_none() {
        return;
    }
    // One walk: the cost is summed until a record that must stay is met.
    let mut cost = 0;
    let mut callbacks = 0usize;
    for m in &b.msgs {
        if m.own().is_some() {
            return;
        }
        callbacks += usize::from(m.callback.is_some());
        cost += queue_cost(m.size, m.headers().len());
    }
    b.shed = b.msgs.len();
    let msgs = std::mem::take(&mut b.msgs);
    if callbacks > 0 {
        b.shed_callbacks = msgs
            .into_iter()
            .map(|m| m.callback.map(|cb| (m.timestamp, cb)))
            .collect();
        cost -= b.shed_callbacks.len() * std::mem::size_of::<Option<(i64, Callback)>>();
    }
    b.shed_cost = cost;
}

/// The records of a shed batch, read back from its encoded RecordBatch to
/// hand them back on failure; `None` for any that cannot be read (the
/// batch was encoded here, so none is expected).
fn records_back(b: &Batch) -> Vec<Option<ProducerRecord>> {
    use crate::record::{BatchReader, DecodeOptions};
    let mut out = Vec::with_capacity(b.shed);
    if let Some(e) = &b.encoded {
        for batch in BatchReader::new(e.bytes(), DecodeOptions::default()) {
            let Ok(batch) = batch else { break };
            for r in batch.records() {
                let Ok(r) = r else { break };
                out.push(Some(ProducerRecord {
                    topic: b.topic.clone(),
                    partition: Some(b.partition),
                    key: r.key_bytes(),
                    value: r.value_bytes(),
                    headers: r.headers().filter_map(|h| h.to_header().ok()).collect(),
                    timestamp: Some(r.timestamp),
                }));
            }
        }
    }
    out.resize_with(b.shed, || None);
    out
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
            Done::Batch(b, _) => b.records(),
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
    let rare = if headers > 0 {
        std::mem::size_of::<Rare>()
    } else {
        0
    };
    size + std::mem::size_of::<Msg>() + rare + headers * std::mem::size_of::<Header>()
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
///
/// A delivery callback that panics is caught (see [`Panics`]); the records
/// after it are reported as usual.
pub(crate) fn complete(done: Done, reported: impl Fn(usize)) -> Panics {
    let mut panics = Panics::default();
    match done {
        Done::Batch(b, outcome) => {
            let failed = matches!(outcome, BatchOutcome::Failed { .. });
            if b.shed > 0 {
                let mut back = if failed { records_back(&b) } else { Vec::new() };
                if b.shed_callbacks.is_empty() {
                    // Shed records all report through the batch's slot.
                    reported(b.shed);
                    b.completion.complete(outcome, back);
                    return panics;
                }
                let mut returned = Vec::new();
                let (mut batch_slot, mut called) = (0usize, 0usize);
                for (i, entry) in b.shed_callbacks.into_iter().enumerate() {
                    let record = back.get_mut(i).and_then(Option::take);
                    match entry {
                        None => {
                            if failed {
                                returned.push(record);
                            }
                            batch_slot += 1;
                        }
                        Some((ts, cb)) => {
                            if failed {
                                returned.push(None);
                            }
                            let shifted = shift(&outcome, i as u32);
                            let r =
                                super::delivery::record_result(&shifted, &b.topic, 0, ts, || {
                                    record
                                });
                            run_callback(cb, r, &mut panics);
                            called += 1;
                        }
                    }
                }
                reported(called);
                reported(batch_slot);
                b.completion.complete(outcome, returned);
                return panics;
            }
            let mut returned = Vec::new();
            let partition = Some(b.partition);
            let mut batch_slot = 0usize;
            // Records whose callbacks ran, told once for the batch: one
            // update of a counter the application's threads read.
            let mut called = 0usize;
            for (i, mut m) in b.msgs.into_iter().enumerate() {
                let cb = m.callback.take();
                let own = m.take_own();
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
                called += finish_msg(
                    m,
                    own,
                    cb,
                    (&b.topic, partition),
                    &shifted,
                    &reported,
                    &mut panics,
                );
            }
            reported(called);
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
            let own = msg.take_own();
            let counted = cb.is_none() && own.is_none();
            let called = finish_msg(
                msg,
                own,
                cb,
                (&topic, partition),
                &outcome,
                &reported,
                &mut panics,
            );
            if counted {
                reported(1);
            }
            reported(called);
        }
    }
    panics
}

/// Delivery callbacks that panicked while reports were completed.
///
/// The application's callbacks run on the producer's background thread. A
/// panic left to unwind would end the sender task there: nothing sent
/// after it would ever be reported, and `flush` would wait out its
/// timeout. It is caught instead, the record counts as reported, and the
/// producer tells the application through its error events.
#[derive(Debug, Default)]
pub(crate) struct Panics {
    pub count: usize,
    /// The first panic's message.
    pub first: Option<String>,
}

/// Runs one delivery callback, catching a panic (see [`Panics`]).
fn run_callback(cb: Callback, r: super::delivery::DeliveryResult, panics: &mut Panics) {
    // The callback's own state is the application's: nothing of the
    // producer's is left half-updated by a callback that unwinds.
    let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(r))) else {
        return;
    };
    panics.count += 1;
    if panics.first.is_none() {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        panics.first = Some(text);
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

/// Reports one record through its callback and/or slot. Returns how many
/// callbacks ran (0 or 1), for the caller to tell `reported` after them;
/// a record with only a slot is told here, before its slot resolves.
pub(super) fn finish_msg(
    m: Msg,
    own: Option<Arc<Completion>>,
    cb: Option<Callback>,
    (topic, partition): (&Arc<str>, Option<i32>),
    outcome: &BatchOutcome,
    reported: &impl Fn(usize),
    panics: &mut Panics,
) -> usize {
    use super::delivery::record_result;
    let failed = matches!(outcome, BatchOutcome::Failed { .. });
    let ts = m.timestamp;
    match (cb, own) {
        (Some(cb), own) => {
            // The record goes back only with a failure.
            let r = record_result(outcome, topic, 0, ts, || {
                Some(m.into_record(topic, partition))
            });
            if let Some(own) = own {
                own.complete(outcome.clone(), Vec::new());
            }
            run_callback(cb, r, panics);
            1
        }
        (None, Some(own)) => {
            let returned = if failed {
                vec![Some(m.into_record(topic, partition))]
            } else {
                Vec::new()
            };
            reported(1);
            own.complete(outcome.clone(), returned);
            0
        }
        (None, None) => 0,
    }
}

pub(super) fn deadline(from: Instant, timeout: Duration) -> Option<Instant> {
    if timeout.is_zero() {
        None
    } else {
        from.checked_add(timeout)
    }
}
