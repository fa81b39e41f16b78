//! The idempotence manager: the producer id and epoch, their bumps, the
//! fatal error, and how each Produce outcome of an idempotent producer is
//! handled — a state machine without I/O, driven by events and the time.
//!
//! The accumulator owns the per-partition message ids; each partition's
//! sequence state ([`PartitionSequence`], defined here) numbers them
//! `msgid - base_msgid`, where `base_msgid` is the first unacknowledged
//! message id when the partition first sends under a producer id/epoch
//! ([`Idempotence::generation`] tells when that changes), and keeps the
//! broker's duplicate window. The accumulator's idempotent paths (re-basing
//! partitions, handling each outcome, spotting a broker that broke the
//! sequence rules) are the `impl Accumulator` block at the end of this file.
//! The sender asks [`Idempotence::poll_init`] whether an InitProducerId
//! request is due, sends it through any broker and hands the answer to
//! [`Idempotence::on_init`].
//!
//! Rules (librdkafka's, from the seed's "Idempotent Producer" section):
//! - nothing is produced until a producer id is assigned;
//! - an epoch bump first drains every in-flight request, then asks for the
//!   same producer id with the next epoch (KIP-360), after which every
//!   partition restarts its sequence at its first unacknowledged message;
//! - `OUT_OF_ORDER_SEQUENCE_NUMBER` for the head-of-line batch is fatal,
//!   for a later batch it is retried once the partition has drained;
//! - after a retriable failure the partition's window drains and restarts
//!   from the oldest unacknowledged batch, one batch at a time until the
//!   failed one is acknowledged (the accumulator's `recover`; the plain
//!   producer follows the same rule);
//! - `DUPLICATE_SEQUENCE_NUMBER` means the batch was already written;
//! - `UNKNOWN_PRODUCER_ID` bumps the epoch when the batch is head of line
//!   and nothing of the partition may have been written unacknowledged,
//!   otherwise it is fatal;
//! - a batch that fails for good (permanent error or timeout) leaves a gap
//!   in the sequence: drain and bump, or a fatal error with
//!   `enable.gapless.guarantee` (timeouts are exempt, as in the seed).

use super::accumulator::Accumulator;
use super::batch::{possibly_persisted, Batch};
use super::delivery::{BatchOutcome, PersistenceStatus};
use super::queue::{PartitionQueue, PartitionResult};
use crate::cluster::stale_leader;
use crate::error::{Error, ErrorCode};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A producer id and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProducerId {
    pub id: i64,
    pub epoch: i16,
}

/// Where the manager stands.
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// An InitProducerId is due (at the instant, after a failure's backoff).
    NeedPid {
        at: Instant,
        bump: Option<ProducerId>,
    },
    /// An InitProducerId is in flight.
    Requesting { bump: Option<ProducerId> },
    /// Producing under `pid`.
    Assigned(ProducerId),
    /// Waiting for in-flight requests to drain before bumping the epoch.
    Draining(ProducerId),
    /// Nothing more can be produced.
    Fatal,
    /// Transactional: waiting for `init_transactions` to assign an id.
    Unassigned,
}

/// An InitProducerId to send: `current` is the id/epoch to bump (KIP-360),
/// `None` for a fresh producer id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InitRequest {
    pub current: Option<ProducerId>,
}

/// What to do with a batch after its Produce outcome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Written: report it delivered (`duplicate`: offset and timestamp
    /// unknown).
    Delivered { duplicate: bool },
    /// Retry with the same sequence once the partition's in-flight requests
    /// have drained.
    Retry,
    /// Retry after the epoch bump now requested (it gets a new sequence).
    RetryAfterBump,
    /// Fail the batch; the epoch bump now requested closes the gap.
    Fail,
    /// Fail the batch; the producer is now in a fatal state.
    Fatal,
}

/// What the accumulator knows about a batch when its outcome arrives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchView {
    /// Its first message id is the partition's next to be acknowledged.
    pub head_of_line: bool,
    /// Some unacknowledged batch of the partition may have been written.
    pub partition_maybe_persisted: bool,
    /// The error is retriable and the batch has retries and time left.
    pub can_retry: bool,
    /// The failure is a timeout (exempt from the gap-less guarantee).
    pub timed_out: bool,
}

/// The idempotence manager.
#[derive(Debug)]
pub(crate) struct Idempotence {
    state: State,
    gapless: bool,
    backoff: Duration,
    generation: u64,
    fatal: Option<Error>,
    /// Whether the last init failed (the next one asks for a fresh id).
    fresh_next: bool,
    /// Transactional: ids and bumps come from the transaction coordinator
    /// through [`assign`](Self::assign), never from `poll_init`.
    external: bool,
}

impl Idempotence {
    /// A manager that will ask for a producer id at once.
    pub(crate) fn new(gapless: bool, backoff: Duration, now: Instant) -> Self {
        Idempotence {
            state: State::NeedPid {
                at: now,
                bump: None,
            },
            gapless,
            backoff: backoff.max(Duration::from_millis(10)),
            generation: 0,
            fatal: None,
            fresh_next: false,
            external: false,
        }
    }

    /// A manager for a transactional producer: it waits for
    /// [`assign`](Self::assign) (InitProducerId with the transactional id
    /// goes to the transaction coordinator), and a bump it needs waits,
    /// drained, for the transaction's abort to perform it.
    pub(crate) fn new_external(backoff: Duration) -> Self {
        Idempotence {
            state: State::Unassigned,
            gapless: false,
            backoff: backoff.max(Duration::from_millis(10)),
            generation: 0,
            fatal: None,
            fresh_next: false,
            external: true,
        }
    }

    /// A producer id/epoch from the transaction coordinator: production
    /// resumes under it and every partition restarts its sequence.
    pub(crate) fn assign(&mut self, p: ProducerId) {
        if self.fatal.is_none() {
            self.generation += 1;
            self.state = State::Assigned(p);
        }
    }

    /// The current producer id/epoch, also while draining for a bump.
    pub(crate) fn current(&self) -> Option<ProducerId> {
        match self.state {
            State::Assigned(p) | State::Draining(p) => Some(p),
            _ => None,
        }
    }

    /// Whether an epoch bump was asked for and not yet performed.
    pub(crate) fn bump_wanted(&self) -> bool {
        matches!(self.state, State::Draining(_))
    }

    /// The producer id to stamp batches with, when producing is allowed.
    pub(crate) fn producer(&self) -> Option<ProducerId> {
        match self.state {
            State::Assigned(p) => Some(p),
            _ => None,
        }
    }

    /// Moves on each new producer id or epoch: partitions whose sequence
    /// base was set under an older generation restart their sequence.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The fatal error, once raised.
    pub(crate) fn fatal_error(&self) -> Option<&Error> {
        self.fatal.as_ref()
    }

    /// The state by librdkafka's name for it (statistics' `idemp_state`).
    pub(crate) fn state_name(&self) -> &'static str {
        match self.state {
            State::NeedPid { .. } => "RequestPID",
            State::Requesting { .. } => "WaitPID",
            State::Assigned(_) => "Assigned",
            State::Draining(_) => "DrainBump",
            State::Fatal => "FatalError",
            State::Unassigned => "Init",
        }
    }

    /// Whether an epoch bump waits for in-flight requests to drain.
    #[cfg(test)]
    pub(crate) fn draining(&self) -> bool {
        matches!(self.state, State::Draining(_))
    }

    /// Raises a fatal error (the first one wins). Returns true when this
    /// call raised it.
    pub(crate) fn set_fatal(&mut self, code: ErrorCode, reason: impl Into<String>) -> bool {
        if self.fatal.is_some() {
            return false;
        }
        self.fatal = Some(Error::fatal(code, reason));
        self.state = State::Fatal;
        true
    }

    /// Asks for an epoch bump: production stops until in-flight requests
    /// drain and the new epoch is assigned. Ignored while one is under way.
    pub(crate) fn request_bump(&mut self) {
        if let State::Assigned(p) = self.state {
            self.state = State::Draining(p);
        }
    }

    /// Called by the sender with the number of requests in flight; once
    /// none are left a drain becomes an InitProducerId.
    pub(crate) fn on_in_flight(&mut self, in_flight: usize, now: Instant) {
        if let State::Draining(p) = self.state {
            if in_flight == 0 && !self.external {
                self.state = State::NeedPid {
                    at: now,
                    bump: Some(p),
                };
            }
        }
    }

    /// The InitProducerId request due now, if any; the manager then waits
    /// for [`on_init`](Self::on_init).
    pub(crate) fn poll_init(&mut self, now: Instant) -> Option<InitRequest> {
        match self.state {
            State::NeedPid { at, bump } if now >= at => {
                let bump = if self.fresh_next { None } else { bump };
                self.state = State::Requesting { bump };
                Some(InitRequest { current: bump })
            }
            _ => None,
        }
    }

    /// When the manager next needs the sender (an init backoff ending).
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        match self.state {
            State::NeedPid { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The InitProducerId outcome.
    pub(crate) fn on_init(&mut self, result: Result<ProducerId, Error>, now: Instant) {
        let State::Requesting { bump } = self.state else {
            return;
        };
        match result {
            Ok(p) => {
                self.generation += 1;
                self.fresh_next = false;
                self.state = State::Assigned(p);
            }
            Err(e) if e.is_fatal() || init_error_is_fatal(e.code()) => {
                self.set_fatal(e.code(), format!("InitProducerId failed: {e}"));
            }
            Err(_) => {
                // A failed bump (the broker lost the id, or does not bump
                // epochs for producers without a transactional id) falls
                // back to a fresh producer id, which restarts every sequence
                // just as well for a non-transactional producer.
                if bump.is_some() {
                    self.fresh_next = true;
                }
                self.state = State::NeedPid {
                    at: now + self.backoff,
                    bump,
                };
            }
        }
    }

    /// Decides what a Produce outcome `code` means for a batch; may request
    /// a bump or raise the fatal error.
    pub(crate) fn on_produce_result(&mut self, code: ErrorCode, b: BatchView) -> Action {
        if self.fatal.is_some() {
            return match code {
                ErrorCode::NoError => Action::Delivered { duplicate: false },
                ErrorCode::DuplicateSequenceNumber => Action::Delivered { duplicate: true },
                _ => Action::Fatal,
            };
        }
        match code {
            ErrorCode::NoError => Action::Delivered { duplicate: false },
            ErrorCode::DuplicateSequenceNumber => Action::Delivered { duplicate: true },
            ErrorCode::OutOfOrderSequenceNumber if b.head_of_line => {
                self.set_fatal(
                    code,
                    "the broker expected another sequence number for the head-of-line batch: client and broker disagree",
                );
                Action::Fatal
            }
            // An earlier batch failed, so this one was refused: send it
            // again, in order, after the partition drains.
            ErrorCode::OutOfOrderSequenceNumber => Action::Retry,
            // Behind a failed batch the broker may not know the producer on
            // this partition yet: as for an out-of-order sequence, retry.
            ErrorCode::UnknownProducerId if !b.head_of_line => Action::Retry,
            ErrorCode::UnknownProducerId | ErrorCode::InvalidProducerEpoch => {
                if b.head_of_line && !b.partition_maybe_persisted {
                    self.request_bump();
                    Action::RetryAfterBump
                } else {
                    self.set_fatal(
                        code,
                        "the broker lost this producer's state while records may be unacknowledged in the log",
                    );
                    Action::Fatal
                }
            }
            _ if b.can_retry => Action::Retry,
            _ => {
                if self.gapless && !b.timed_out {
                    self.set_fatal(
                        ErrorCode::GaplessGuarantee,
                        format!("a batch failed for good ({code}); continuing would leave a gap (enable.gapless.guarantee)"),
                    );
                    return Action::Fatal;
                }
                self.request_bump();
                Action::Fail
            }
        }
    }

    /// Records of a partition timed out while queued: their sequence
    /// numbers must be skipped, which takes a bump (never fatal, per the
    /// seed's message timeout rules).
    pub(crate) fn on_queued_timeout(&mut self) {
        self.request_bump();
    }
}

/// InitProducerId errors no retry can cure (librdkafka's list): not
/// authorized, or the broker cannot serve the request. Everything else
/// (coordinator moving or loading, timeouts, connections) is retried after
/// the backoff; a refused epoch bump falls back to a fresh producer id.
fn init_error_is_fatal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ClusterAuthorizationFailed
            | ErrorCode::TransactionalIdAuthorizationFailed
            | ErrorCode::InvalidTransactionTimeout
            | ErrorCode::UnsupportedFeature
    )
}

/// A partition's sequence state under idempotence: where its numbering
/// starts under the current producer id/epoch and which batches are in the
/// broker's duplicate window.
#[derive(Debug)]
pub(super) struct PartitionSequence {
    /// The message id whose sequence is 0 under `generation`.
    pub(super) base_msgid: u64,
    /// The idempotence generation `base_msgid` belongs to (0: none yet).
    pub(super) generation: u64,
    /// First message ids of the batches sent since the oldest
    /// unacknowledged one, with whether each is acknowledged. At most five,
    /// so a retry of the oldest is still within the broker's duplicate
    /// window (it remembers five batches per producer and partition).
    pub(super) window: VecDeque<WindowEntry>,
    /// The first message id and base offset of the latest batch (by message
    /// id) acknowledged with an offset: a retry of an earlier batch must
    /// not land after it.
    pub(super) highest_acked: Option<(u64, i64)>,
    /// Of the batches acknowledged with an offset that have left the
    /// window, the one written at the highest offset (first message id,
    /// base offset): a later batch must not be acknowledged below it, even
    /// when the two answers came in the other order.
    pub(super) highest_offset_gone: Option<(u64, i64)>,
    /// A batch was acknowledged under the current producer id/epoch: until
    /// then one batch at a time, so no broker that accepts any first
    /// sequence of a new producer can take a later batch first.
    pub(super) acked_in_generation: bool,
}

impl Default for PartitionSequence {
    fn default() -> Self {
        PartitionSequence {
            base_msgid: 1,
            generation: 0,
            window: VecDeque::new(),
            highest_acked: None,
            highest_offset_gone: None,
            acked_in_generation: false,
        }
    }
}

impl PartitionSequence {
    /// Drops the acknowledged batches at the window's front, keeping the
    /// highest offset they were written at.
    pub(super) fn pop_acked(&mut self) {
        while let Some(w) = self.window.front().copied() {
            let Some(at) = w.acked else { break };
            self.window.pop_front();
            self.gone(w.first_msgid, at);
        }
    }

    /// Empties the window (a new producer id/epoch), keeping the highest
    /// offset its acknowledged batches were written at.
    pub(super) fn clear_window(&mut self) {
        for w in std::mem::take(&mut self.window) {
            if let Some(at) = w.acked {
                self.gone(w.first_msgid, at);
            }
        }
    }

    fn gone(&mut self, first_msgid: u64, at: i64) {
        if at >= 0 && self.highest_offset_gone.is_none_or(|(_, o)| o < at) {
            self.highest_offset_gone = Some((first_msgid, at));
        }
    }
}

/// A batch of the idempotence window: its first message id and, once
/// acknowledged, the base offset it was written at (-1 when unknown).
#[derive(Debug, Clone, Copy)]
pub(super) struct WindowEntry {
    pub(super) first_msgid: u64,
    pub(super) acked: Option<i64>,
}

// The accumulator's side of idempotence: producer id and epoch changes,
// the per-partition sequence window and the outcome of each batch under
// idempotence.

/// Whether acknowledging `b` (at `offset`, -1 when unknown) shows the broker
/// broke the sequence rules, and how; a broker that checks sequences, as
/// Kafka's do, never does either:
/// - an earlier batch of the same producer id/epoch waits to be retried and
///   every attempt of it was refused unwritten, yet `b`, sent after it in
///   sequence, was accepted: the broker wrote past a gap (retrying the
///   earlier batch would put it after `b`);
/// - `b` is a retry written at an offset after a later batch's: the broker
///   wrote it again out of order instead of recognising it;
/// - `b` is acknowledged at an offset below an earlier batch's (that
///   batch's retry was answered first): the same reordering, seen from the
///   later batch.
///
/// librdkafka's mock cluster does both for a producer without a
/// transactional id, which it does not check sequences for (RELIABILITY.md).
pub(super) fn inconsistent_ack(pq: &PartitionQueue, b: &Batch, offset: i64) -> Option<String> {
    let epoch_of = |x: &Batch| x.stamp.map(|(id, epoch, _)| (id, epoch));
    if let Some(x) = pq
        .queued_before(b.first_msgid)
        .find(|x| x.attempts > 0 && !x.maybe_persisted && epoch_of(x) == epoch_of(b))
    {
        return Some(format!(
            "{} [{}]: the broker accepted base sequence {} while the earlier batch with base sequence {} was refused unwritten; it does not check producer sequences, so retrying could reorder records",
            b.topic,
            b.partition,
            b.stamp.map_or(-1, |s| s.2),
            x.stamp.map_or(-1, |s| s.2),
        ));
    }
    // A later batch acknowledged at a lower offset while this one was
    // unacknowledged: the window keeps every such batch (its front is
    // the oldest unacknowledged one), whatever order the answers came in.
    let later_below = pq
        .seq
        .window
        .iter()
        .filter(|w| w.first_msgid > b.first_msgid)
        .filter_map(|w| w.acked.filter(|o| *o >= 0))
        .min()
        .filter(|at| offset >= 0 && offset > *at);
    let latest = pq
        .seq
        .highest_acked
        .filter(|(id, at)| *id > b.first_msgid && offset > *at)
        .map(|(_, at)| at);
    if let Some(at) = later_below.or(latest) {
        return Some(format!(
            "{} [{}]: the broker wrote the batch with base sequence {} at offset {offset}, after a later batch (offset {at}): it wrote a retry again instead of recognising it",
            b.topic,
            b.partition,
            b.stamp.map_or(-1, |s| s.2),
        ));
    }
    // The same pair the other way round: an earlier batch (a retry, say)
    // was acknowledged first, at an offset above the one `b` is
    // acknowledged at now. Acknowledged batches leave the window from its
    // front, so those gone from it are summed up by the highest offset.
    let gone = pq
        .seq
        .highest_offset_gone
        .filter(|(id, _)| *id < b.first_msgid)
        .map(|(_, at)| at);
    let earlier_above = pq
        .seq
        .window
        .iter()
        .filter(|w| w.first_msgid < b.first_msgid)
        .filter_map(|w| w.acked.filter(|o| *o >= 0))
        .chain(gone)
        .max()
        .filter(|at| offset >= 0 && offset < *at);
    earlier_above.map(|at| {
        format!(
            "{} [{}]: the broker acknowledged the batch with base sequence {} at offset {offset}, below an earlier batch written at offset {at}: it wrote the earlier one after it, reordering the log",
            b.topic,
            b.partition,
            b.stamp.map_or(-1, |s| s.2),
        )
    })
}

impl Accumulator {
    /// With idempotence: `Ok(Some(pid))` when batches may be sent (after
    /// re-basing every partition's sequence on a new producer id/epoch),
    /// `Err` when nothing may be sent now. `Ok(None)` without idempotence.
    pub(super) fn idempotent_producer(&mut self, now: Instant) -> Result<Option<ProducerId>, ()> {
        let in_flight = self.requests_in_flight();
        let Some(m) = &mut self.idem else {
            return Ok(None);
        };
        m.on_in_flight(in_flight, now);
        if m.bump_wanted() {
            if let Some(tx) = self.txn.as_mut() {
                tx.on_bump_needed();
            }
        }
        let Some(p) = m.producer() else {
            return Err(());
        };
        let generation = m.generation();
        if self.rebased_generation != generation {
            self.rebased_generation = generation;
            self.rebase(generation);
        }
        Ok(Some(p))
    }

    /// A new producer id/epoch (nothing is in flight then): each partition's
    /// sequence restarts at its first unacknowledged message. Batches that
    /// may already be in the log are not sent again under the new epoch
    /// (the broker could not recognise them as duplicates): they fail as
    /// possibly persisted.
    pub(super) fn rebase(&mut self, generation: u64) {
        let mut failed = Vec::new();
        for t in self.topics.values_mut() {
            for pq in &mut t.partitions {
                let mut i = 0;
                while i < pq.batches.len() {
                    if pq.batches[i].maybe_persisted {
                        failed.extend(pq.batches.remove(i));
                    } else {
                        i += 1;
                    }
                }
                let base = pq.batches.front().map_or(pq.next_msgid, |b| b.first_msgid);
                pq.seq.base_msgid = base;
                pq.seq.generation = generation;
                pq.drain = false;
                pq.seq.clear_window();
                pq.seq.acked_in_generation = false;
            }
        }
        for b in failed {
            let e = Error::new(
                ErrorCode::TimedOut,
                format!(
                    "{} [{}]: may have been written without acknowledgement before the producer epoch changed; not sent again so it cannot be duplicated",
                    b.topic, b.partition
                ),
            );
            self.finish(
                b,
                BatchOutcome::Failed {
                    error: e,
                    status: PersistenceStatus::PossiblyPersisted,
                },
            );
        }
    }

    /// ProduceRequests sent and not yet answered.
    pub(super) fn requests_in_flight(&self) -> usize {
        self.broker_in_flight.values().sum()
    }

    /// The fatal error, once raised (idempotence only).
    pub(crate) fn fatal_error(&self) -> Option<&Error> {
        self.idem.as_ref().and_then(Idempotence::fatal_error)
    }

    /// The fatal error, the first time it is asked for after being raised
    /// (for the error callback).
    pub(crate) fn take_fatal_event(&mut self) -> Option<Error> {
        if !std::mem::take(&mut self.fatal_event) {
            return None;
        }
        self.fatal_error().cloned()
    }

    /// The InitProducerId request due now, if any.
    pub(crate) fn poll_init(&mut self, now: Instant) -> Option<InitRequest> {
        let in_flight = self.requests_in_flight();
        let m = self.idem.as_mut()?;
        m.on_in_flight(in_flight, now);
        m.poll_init(now)
    }

    /// The InitProducerId outcome.
    pub(crate) fn on_init(&mut self, result: Result<ProducerId, Error>, now: Instant) {
        let fatal_before = self.fatal_error().is_some();
        if let Some(m) = &mut self.idem {
            m.on_init(result, now);
        }
        if !fatal_before && self.fatal_error().is_some() {
            self.on_fatal();
        }
    }

    /// A fatal error was just raised: queued records are purged and those
    /// in flight are failed by the sender.
    pub(super) fn on_fatal(&mut self) {
        self.fatal_event = true;
        self.purge(true, true);
    }

    /// Handles one batch's outcome under idempotence.
    pub(super) fn idempotent_result(
        &mut self,
        mut b: Batch,
        res: Result<PartitionResult, Error>,
        broker: i32,
        now: Instant,
    ) {
        let hint = res.as_ref().ok().and_then(|r| r.current_leader);
        let (code, error, offsets) = match res {
            Ok(r) if r.error == ErrorCode::NoError => {
                (ErrorCode::NoError, None, (r.base_offset, r.log_append_time))
            }
            Ok(r) => {
                let e = Error::new(
                    r.error,
                    match r.message {
                        Some(m) => format!("{} [{}]: {m}", b.topic, b.partition),
                        None => format!("{} [{}]", b.topic, b.partition),
                    },
                );
                (r.error, Some(e), (-1, -1))
            }
            Err(e) => (e.code(), Some(e), (-1, -1)),
        };
        let pq = &mut self.topics[b.topic_idx].partitions[b.partition as usize];
        let mut view = BatchView {
            // The oldest batch sent and not acknowledged (acknowledged
            // ones leave the window's front).
            head_of_line: pq
                .seq
                .window
                .front()
                .is_none_or(|w| w.first_msgid >= b.first_msgid),
            // Only earlier batches matter: if this one's earlier attempt had
            // been written the broker would know the producer.
            partition_maybe_persisted: pq.queued_before(b.first_msgid).any(|x| x.maybe_persisted),
            can_retry: false,
            timed_out: false,
        };
        let mut code = code;
        let mut error = error;
        if let Some(e) = &error {
            if possibly_persisted(e.code()) {
                b.maybe_persisted = true;
            }
            if stale_leader(e.code()) {
                pq.leader_failed(hint);
                self.stale_topics.push(b.topic_idx);
            }
            let expired = b.deadline.is_some_and(|d| now >= d);
            if expired && code != ErrorCode::DuplicateSequenceNumber {
                view.timed_out = true;
                code = ErrorCode::MsgTimedOut;
                error = Some(Error::new(
                    ErrorCode::MsgTimedOut,
                    format!(
                        "{} [{}]: message.timeout.ms expired in flight (last error: {e})",
                        b.topic, b.partition
                    ),
                ));
            } else {
                view.can_retry = e.is_retriable() && b.attempts <= self.cfg.retries;
            }
        }
        let inconsistent = if matches!(
            code,
            ErrorCode::NoError | ErrorCode::DuplicateSequenceNumber
        ) {
            inconsistent_ack(pq, &b, offsets.0)
        } else {
            None
        };
        if code == ErrorCode::NoError && offsets.0 >= 0 {
            let pq = &mut self.topics[b.topic_idx].partitions[b.partition as usize];
            if pq
                .seq
                .highest_acked
                .is_none_or(|(id, _)| id < b.first_msgid)
            {
                pq.seq.highest_acked = Some((b.first_msgid, offsets.0));
            }
        }
        let Some(m) = self.idem.as_mut() else { return };
        let was_fatal = m.fatal_error().is_some();
        let action = m.on_produce_result(code, view);
        if let Some(reason) = inconsistent {
            // The batch is in the log (report it so), but the broker broke
            // the sequence rules: retrying could reorder or duplicate.
            m.set_fatal(ErrorCode::Inconsistent, reason);
        }
        let raised_fatal = !was_fatal && m.fatal_error().is_some();
        let fatal = m.fatal_error().cloned();
        let pq = &mut self.topics[b.topic_idx].partitions[b.partition as usize];
        crate::debug::trace_ctx!(
            self.cfg.debug,
            Eos,
            topic = %b.topic,
            partition = b.partition,
            stamp = ?b.stamp,
            records = b.records(),
            attempt = b.attempts,
            broker,
            %code,
            offset = offsets.0,
            head_of_line = view.head_of_line,
            in_flight = pq.in_flight,
            "produce outcome: {action:?}"
        );
        match action {
            Action::Delivered { duplicate } => {
                pq.seq.acked_in_generation = true;
                if let Some(w) = pq
                    .seq
                    .window
                    .iter_mut()
                    .find(|w| w.first_msgid == b.first_msgid)
                {
                    w.acked = Some(if duplicate { -1 } else { offsets.0 });
                }
                pq.seq.pop_acked();
                let (base_offset, log_append_time) = if duplicate {
                    (-1, super::delivery::UNKNOWN_TIMESTAMP)
                } else {
                    offsets
                };
                let partition = b.partition;
                self.finish(
                    b,
                    BatchOutcome::Delivered {
                        partition,
                        base_offset,
                        log_append_time,
                    },
                );
            }
            Action::Retry | Action::RetryAfterBump => {
                pq.drain = true;
                pq.recover = Some(pq.recover.map_or(b.first_msgid, |r| r.max(b.first_msgid)));
                b.retry_at = Some(now + self.cfg.backoff(b.attempts));
                let pos = pq
                    .batches
                    .iter()
                    .position(|x| x.first_msgid > b.first_msgid)
                    .unwrap_or(pq.batches.len());
                pq.batches.insert(pos, b);
                self.broker_entry(broker).txretries += 1;
            }
            Action::Fail | Action::Fatal => {
                pq.seq.window.retain(|w| w.first_msgid != b.first_msgid);
                pq.seq.pop_acked();
                let status = if b.maybe_persisted {
                    PersistenceStatus::PossiblyPersisted
                } else {
                    PersistenceStatus::NotPersisted
                };
                let error = match (action, fatal) {
                    (Action::Fatal, Some(f)) => f,
                    _ => error.unwrap_or_else(|| Error::new(code, "produce failed")),
                };
                self.broker_entry(broker).txerrs += 1;
                self.finish(b, BatchOutcome::Failed { error, status });
            }
        }
        if raised_fatal {
            self.on_fatal();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> Instant {
        Instant::now()
    }

    const PID: ProducerId = ProducerId { id: 7, epoch: 0 };

    fn view(head: bool) -> BatchView {
        BatchView {
            head_of_line: head,
            partition_maybe_persisted: false,
            can_retry: true,
            timed_out: false,
        }
    }

    /// A manager with `PID` assigned.
    fn assigned(gapless: bool) -> (Idempotence, Instant) {
        let now = t0();
        let mut m = Idempotence::new(gapless, Duration::from_millis(100), now);
        assert_eq!(m.poll_init(now), Some(InitRequest { current: None }));
        m.on_init(Ok(PID), now);
        (m, now)
    }

    #[test]
    fn nothing_is_produced_before_a_producer_id() {
        let now = t0();
        let mut m = Idempotence::new(false, Duration::from_millis(100), now);
        assert_eq!(m.producer(), None);
        assert_eq!(m.poll_init(now), Some(InitRequest { current: None }));
        // Only one request at a time.
        assert_eq!(m.poll_init(now), None);
        assert_eq!(m.producer(), None);
        m.on_init(Ok(PID), now);
        assert_eq!(m.producer(), Some(PID));
        assert_eq!(m.generation(), 1);
    }

    #[test]
    fn a_failed_init_is_retried_after_the_backoff() {
        let now = t0();
        let mut m = Idempotence::new(false, Duration::from_millis(100), now);
        m.poll_init(now).unwrap();
        m.on_init(
            Err(Error::new(ErrorCode::CoordinatorNotAvailable, "not yet")),
            now,
        );
        assert_eq!(m.poll_init(now + Duration::from_millis(99)), None);
        assert_eq!(m.next_wakeup(), Some(now + Duration::from_millis(100)));
        assert!(m.poll_init(now + Duration::from_millis(100)).is_some());
        m.on_init(Ok(PID), now);
        assert_eq!(m.producer(), Some(PID));
    }

    #[test]
    fn a_fatal_init_error_is_fatal() {
        let now = t0();
        let mut m = Idempotence::new(false, Duration::from_millis(100), now);
        m.poll_init(now).unwrap();
        m.on_init(
            Err(Error::fatal(ErrorCode::ClusterAuthorizationFailed, "no")),
            now,
        );
        assert_eq!(
            m.fatal_error().map(Error::code),
            Some(ErrorCode::ClusterAuthorizationFailed)
        );
        assert_eq!(m.poll_init(now + Duration::from_secs(10)), None);
    }

    #[test]
    fn init_errors_no_retry_cures_are_fatal_the_others_retried() {
        for code in [
            ErrorCode::ClusterAuthorizationFailed,
            ErrorCode::TransactionalIdAuthorizationFailed,
            ErrorCode::InvalidTransactionTimeout,
            ErrorCode::UnsupportedFeature,
        ] {
            let now = t0();
            let mut m = Idempotence::new(false, Duration::from_millis(100), now);
            m.poll_init(now).unwrap();
            m.on_init(Err(Error::new(code, "from the broker")), now);
            assert_eq!(m.fatal_error().map(Error::code), Some(code));
        }
        for code in [
            ErrorCode::CoordinatorNotAvailable,
            ErrorCode::NotCoordinator,
            ErrorCode::CoordinatorLoadInProgress,
            ErrorCode::RequestTimedOut,
            ErrorCode::Transport,
            ErrorCode::TimedOut,
        ] {
            let now = t0();
            let mut m = Idempotence::new(false, Duration::from_millis(100), now);
            m.poll_init(now).unwrap();
            m.on_init(Err(Error::new(code, "from the broker")), now);
            assert!(m.fatal_error().is_none(), "{code}");
            assert!(m.poll_init(now + Duration::from_millis(100)).is_some());
        }
    }

    #[test]
    fn bump_drains_then_asks_for_the_next_epoch() {
        let (mut m, now) = assigned(false);
        m.request_bump();
        assert!(m.draining());
        assert_eq!(m.producer(), None, "nothing is sent while draining");
        m.on_in_flight(2, now);
        assert_eq!(m.poll_init(now), None, "requests are still in flight");
        m.on_in_flight(0, now);
        assert_eq!(m.poll_init(now), Some(InitRequest { current: Some(PID) }));
        let bumped = ProducerId { id: 7, epoch: 1 };
        m.on_init(Ok(bumped), now);
        assert_eq!(m.producer(), Some(bumped));
        assert_eq!(m.generation(), 2);
    }

    #[test]
    fn a_refused_bump_falls_back_to_a_fresh_id() {
        let (mut m, now) = assigned(false);
        m.request_bump();
        m.on_in_flight(0, now);
        m.poll_init(now).unwrap();
        m.on_init(
            Err(Error::new(ErrorCode::InvalidProducerEpoch, "stale")),
            now,
        );
        let later = now + Duration::from_millis(100);
        assert_eq!(m.poll_init(later), Some(InitRequest { current: None }));
    }

    #[test]
    fn success_and_duplicate_are_delivered() {
        let (mut m, _) = assigned(false);
        assert_eq!(
            m.on_produce_result(ErrorCode::NoError, view(true)),
            Action::Delivered { duplicate: false }
        );
        assert_eq!(
            m.on_produce_result(ErrorCode::DuplicateSequenceNumber, view(false)),
            Action::Delivered { duplicate: true }
        );
        assert!(m.fatal_error().is_none());
    }

    #[test]
    fn out_of_order_at_head_of_line_is_fatal() {
        let (mut m, _) = assigned(false);
        assert_eq!(
            m.on_produce_result(ErrorCode::OutOfOrderSequenceNumber, view(true)),
            Action::Fatal
        );
        let e = m.fatal_error().unwrap();
        assert_eq!(e.code(), ErrorCode::OutOfOrderSequenceNumber);
        assert!(e.is_fatal());
        assert_eq!(m.producer(), None);
    }

    #[test]
    fn out_of_order_behind_a_failed_batch_is_retried() {
        let (mut m, _) = assigned(false);
        assert_eq!(
            m.on_produce_result(ErrorCode::OutOfOrderSequenceNumber, view(false)),
            Action::Retry
        );
        assert!(m.fatal_error().is_none());
        assert_eq!(m.producer(), Some(PID));
    }

    #[test]
    fn unknown_producer_id_bumps_when_safe() {
        let (mut m, _) = assigned(false);
        assert_eq!(
            m.on_produce_result(ErrorCode::UnknownProducerId, view(true)),
            Action::RetryAfterBump
        );
        assert!(m.draining());
        assert!(m.fatal_error().is_none());
    }

    #[test]
    fn unknown_producer_id_behind_a_failed_batch_is_retried() {
        let (mut m, _) = assigned(false);
        assert_eq!(
            m.on_produce_result(ErrorCode::UnknownProducerId, view(false)),
            Action::Retry
        );
        assert!(m.fatal_error().is_none());
    }

    #[test]
    fn unknown_producer_id_is_fatal_when_not_safe() {
        let (mut m, _) = assigned(false);
        let v = BatchView {
            partition_maybe_persisted: true,
            ..view(true)
        };
        assert_eq!(
            m.on_produce_result(ErrorCode::UnknownProducerId, v),
            Action::Fatal
        );
        assert_eq!(
            m.fatal_error().map(Error::code),
            Some(ErrorCode::UnknownProducerId)
        );
    }

    #[test]
    fn retriable_errors_keep_the_sequence() {
        let (mut m, _) = assigned(false);
        for code in [
            ErrorCode::NotLeaderOrFollower,
            ErrorCode::RequestTimedOut,
            ErrorCode::NotEnoughReplicas,
        ] {
            assert_eq!(m.on_produce_result(code, view(true)), Action::Retry);
        }
        assert_eq!(m.producer(), Some(PID));
    }

    #[test]
    fn permanent_error_fails_and_bumps() {
        let (mut m, now) = assigned(false);
        let v = BatchView {
            can_retry: false,
            ..view(true)
        };
        assert_eq!(
            m.on_produce_result(ErrorCode::MsgSizeTooLarge, v),
            Action::Fail
        );
        assert!(m.draining());
        // Later in-flight batches of the partition are refused out of
        // order and retried after the bump.
        assert_eq!(
            m.on_produce_result(ErrorCode::OutOfOrderSequenceNumber, view(false)),
            Action::Retry
        );
        m.on_in_flight(0, now);
        assert_eq!(m.poll_init(now), Some(InitRequest { current: Some(PID) }));
    }

    #[test]
    fn gapless_turns_a_permanent_error_fatal_but_not_a_timeout() {
        let (mut m, _) = assigned(true);
        let timeout = BatchView {
            can_retry: false,
            timed_out: true,
            ..view(true)
        };
        assert_eq!(
            m.on_produce_result(ErrorCode::MsgTimedOut, timeout),
            Action::Fail
        );
        assert!(m.fatal_error().is_none());
        let (mut m, _) = assigned(true);
        let v = BatchView {
            can_retry: false,
            ..view(true)
        };
        assert_eq!(
            m.on_produce_result(ErrorCode::MsgSizeTooLarge, v),
            Action::Fatal
        );
        assert_eq!(
            m.fatal_error().map(Error::code),
            Some(ErrorCode::GaplessGuarantee)
        );
    }

    #[test]
    fn queued_timeout_bumps() {
        let (mut m, now) = assigned(true);
        m.on_queued_timeout();
        assert!(m.draining());
        m.on_in_flight(0, now);
        assert!(m.poll_init(now).is_some());
        assert!(m.fatal_error().is_none());
    }

    #[test]
    fn after_fatal_only_acknowledgements_count() {
        let (mut m, _) = assigned(false);
        assert!(m.set_fatal(ErrorCode::OutOfOrderSequenceNumber, "x"));
        assert!(!m.set_fatal(ErrorCode::UnknownProducerId, "second"));
        assert_eq!(
            m.on_produce_result(ErrorCode::NoError, view(false)),
            Action::Delivered { duplicate: false }
        );
        assert_eq!(
            m.on_produce_result(ErrorCode::NotLeaderOrFollower, view(false)),
            Action::Fatal
        );
        assert_eq!(
            m.fatal_error().map(Error::code),
            Some(ErrorCode::OutOfOrderSequenceNumber)
        );
    }
}
