//! Per-partition queues and their drain: which batches are ready, which
//! broker they go to, how many may be in flight, when the sender must look
//! again, and what expires in the queue.

use super::accumulator::Accumulator;
use super::batch::{deadline, Batch, Msg};
use super::delivery::{BatchOutcome, PersistenceStatus};
use super::idempotence::{Idempotence, PartitionSequence, WindowEntry};
use super::partitioner::Sticky;
use crate::error::{Error, ErrorCode};
use crate::stats::Histogram;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

pub(super) struct PartitionQueue {
    pub(super) batches: VecDeque<Batch>,
    pub(super) next_msgid: u64,
    pub(super) leader: Option<i32>,
    /// The epoch of the newest leader seen (metadata or a Produce answer's
    /// hint): an answer naming an older one is not followed.
    pub(super) leader_epoch: Option<i32>,
    pub(super) in_flight: u32,
    /// Capacity hint for the next batch's record vector.
    pub(super) last_batch_len: usize,
    /// Send nothing until the requests in flight have come back (after an
    /// error or a leader change).
    pub(super) drain: bool,
    /// The broker the requests in flight went to: with idempotence nothing
    /// goes to another broker (a new leader) until they are back.
    pub(super) sent_to: Option<i32>,
    /// Idempotence: the partition's sequence numbering and window.
    pub(super) seq: PartitionSequence,
    /// After a retriable failure: the highest first message id that failed.
    /// Until every batch up to it is acknowledged the partition sends one
    /// batch at a time, oldest first, and only once nothing is in flight
    /// (the window drains, then restarts from the oldest unacknowledged
    /// batch), so nothing later is written before the failed batch.
    pub(super) recover: Option<u64>,
    /// Statistics: records delivered, their bytes, records failed.
    pub(super) txmsgs: u64,
    pub(super) txbytes: u64,
    pub(super) failed: u64,
}

impl PartitionQueue {
    pub(super) fn new() -> Self {
        PartitionQueue {
            batches: VecDeque::new(),
            next_msgid: 1,
            leader: None,
            leader_epoch: None,
            in_flight: 0,
            last_batch_len: 16,
            drain: false,
            sent_to: None,
            seq: PartitionSequence::default(),
            recover: None,
            txmsgs: 0,
            txbytes: 0,
            failed: 0,
        }
    }

    /// Follows `leader` unless its epoch is older than one already seen
    /// (a broker whose metadata lags behind).
    pub(super) fn set_leader(&mut self, leader: Option<Leader>) {
        match leader {
            Some(l) if l.epoch.is_some() && l.epoch < self.leader_epoch => {}
            Some(l) => {
                self.leader = Some(l.id);
                self.leader_epoch = l.epoch.or(self.leader_epoch);
            }
            None => self.leader = None,
        }
    }

    /// The queued batches sent before message id `msgid`, oldest first. The
    /// queue is ordered by first message id (new batches go to the back,
    /// retries back to their place), so the scan stops at the first later
    /// batch: under idempotence every acknowledgement asks this, and the
    /// acknowledged batch is usually older than everything queued.
    pub(super) fn queued_before(&self, msgid: u64) -> impl Iterator<Item = &Batch> {
        debug_assert!(
            self.batches
                .iter()
                .zip(self.batches.iter().skip(1))
                .all(|(a, b)| a.first_msgid < b.first_msgid),
            "partition queue out of message id order"
        );
        self.batches
            .iter()
            .take_while(move |x| x.first_msgid < msgid)
    }

    /// A request to the leader failed with a stale-leader error: follow the
    /// answer's newer leader when it named one, else wait for metadata.
    pub(super) fn leader_failed(&mut self, hint: Option<Leader>) {
        match hint {
            Some(l) if l.epoch.is_some() && l.epoch > self.leader_epoch => self.set_leader(hint),
            _ => self.leader = None,
        }
    }
}

/// A partition's leader: its broker id and, when the metadata has it, the
/// leader epoch (KIP-320).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Leader {
    pub id: i32,
    pub epoch: Option<i32>,
}

pub(super) struct Unassigned {
    pub(super) msg: Msg,
    pub(super) enqueued: Instant,
    pub(super) partition: Option<i32>,
}

pub(super) struct TopicQueue {
    pub(super) name: Arc<str>,
    /// Empty until metadata gives the partition count.
    pub(super) partitions: Vec<PartitionQueue>,
    pub(super) unassigned: VecDeque<Unassigned>,
    pub(super) sticky: Sticky,
    pub(super) batchsize: Histogram,
    pub(super) batchcnt: Histogram,
}

/// One ProduceRequest's worth of batches for one broker.
pub(crate) struct ProduceJob {
    pub id: u64,
    pub broker: i32,
    pub batches: Vec<Batch>,
}

/// The outcome of one partition within a ProduceResponse.
#[derive(Debug, Clone)]
pub(crate) struct PartitionResult {
    pub error: ErrorCode,
    pub base_offset: i64,
    pub log_append_time: i64,
    pub message: Option<String>,
    /// The partition's current leader when the answer named one (a
    /// NOT_LEADER_OR_FOLLOWER answer carries it from Produce v10, KIP-951).
    pub current_leader: Option<Leader>,
}

/// Requests in flight per partition with idempotence (the broker keeps the
/// last five batches' sequences).
pub(super) const MAX_IDEMPOTENT_IN_FLIGHT: usize = 5;

impl Accumulator {
    pub(super) fn is_ready(&self, b: &Batch, queue_len: usize, now: Instant) -> bool {
        if b.retry_at.is_some_and(|t| now < t) {
            return false;
        }
        b.sealed
            || queue_len > 1
            || self.flushing > 0
            || b.records() >= self.cfg.batch_num_messages
            || now >= b.created + self.cfg.linger
    }

    /// Takes every ready batch (one per partition) of every broker that has
    /// a free in-flight slot and for which `can_send` says a connection is
    /// usable, one job per broker; partitions are visited in rotating order
    /// so none starves when requests fill up.
    pub(crate) fn drain(
        &mut self,
        now: Instant,
        can_send: impl Fn(i32) -> bool,
    ) -> Vec<ProduceJob> {
        let idem = match self.idempotent_producer(now) {
            Ok(p) => p,
            Err(()) => return Vec::new(),
        };
        let mut per_broker: Vec<(i32, Vec<(usize, usize)>)> = Vec::new();
        let strict_order = self.cfg.max_in_flight <= 1;
        for (ti, t) in self.topics.values().enumerate() {
            for (pi, pq) in t.partitions.iter().enumerate() {
                let (Some(leader), Some(front)) = (pq.leader, pq.batches.front()) else {
                    continue;
                };
                if (strict_order || pq.recover.is_some()) && pq.in_flight > 0 {
                    continue;
                }
                // Transactional: only once AddPartitionsToTxn added it.
                if let Some(tx) = self.txn.as_mut() {
                    if !tx.may_send(&t.name, pi as i32) {
                        continue;
                    }
                }
                if idem.is_some()
                    && ((pq.in_flight > 0
                        && (pq.drain || !pq.seq.acked_in_generation || pq.sent_to != Some(leader)))
                        || pq.in_flight as usize >= MAX_IDEMPOTENT_IN_FLIGHT
                        || (pq.seq.window.len() >= MAX_IDEMPOTENT_IN_FLIGHT
                            && !pq
                                .seq
                                .window
                                .iter()
                                .any(|w| w.first_msgid == front.first_msgid)))
                {
                    continue;
                }
                if !self.is_ready(front, pq.batches.len(), now) {
                    continue;
                }
                match per_broker.iter_mut().find(|(b, _)| *b == leader) {
                    Some((_, v)) => v.push((ti, pi)),
                    None => per_broker.push((leader, vec![(ti, pi)])),
                }
            }
        }
        let mut jobs = Vec::new();
        let max_bytes = self.cfg.message_max_bytes.max(self.cfg.batch_size);
        for (broker, mut parts) in per_broker {
            let used = self.broker_in_flight.get(&broker).copied().unwrap_or(0);
            if used >= self.cfg.max_in_flight || !can_send(broker) {
                continue;
            }
            let n = parts.len();
            parts.rotate_left(self.rotation % n);
            let mut batches = Vec::with_capacity(n);
            let mut bytes = 0usize;
            for (ti, pi) in parts {
                let pq = &mut self.topics[ti].partitions[pi];
                let Some(front) = pq.batches.front() else {
                    continue;
                };
                // Bound the request: at least one batch, then up to ~16 batches' worth.
                if !batches.is_empty() && bytes + front.bytes > max_bytes.saturating_mul(16) {
                    break;
                }
                let mut b = pq.batches.pop_front().expect("front exists");
                if pq.recover.is_some_and(|r| b.first_msgid > r) {
                    // Every batch up to the failed one is acknowledged.
                    pq.recover = None;
                }
                if let Some(p) = idem {
                    pq.drain = false;
                    pq.sent_to = Some(broker);
                    if !pq.seq.window.iter().any(|w| w.first_msgid == b.first_msgid) {
                        let pos = pq
                            .seq
                            .window
                            .iter()
                            .position(|w| w.first_msgid > b.first_msgid)
                            .unwrap_or(pq.seq.window.len());
                        let entry = WindowEntry {
                            first_msgid: b.first_msgid,
                            acked: None,
                        };
                        pq.seq.window.insert(pos, entry);
                    }
                    let seq = (b.first_msgid.wrapping_sub(pq.seq.base_msgid) & 0x7fff_ffff) as i32;
                    b.stamp = Some((p.id, p.epoch, seq));
                }
                b.sealed = true;
                b.retry_at = None;
                b.attempts += 1;
                pq.in_flight += 1;
                pq.last_batch_len = b.records().max(pq.last_batch_len / 2);
                bytes += b.bytes;
                self.inflight_msgs += b.records();
                batches.push(b);
            }
            if batches.is_empty() {
                continue;
            }
            *self.broker_in_flight.entry(broker).or_insert(0) += 1;
            let id = self.next_job;
            self.next_job += 1;
            jobs.push(ProduceJob {
                id,
                broker,
                batches,
            });
        }
        self.rotation = self.rotation.wrapping_add(1);
        jobs
    }

    /// Fails records whose `message.timeout.ms` passed while queued
    /// (unknown topics are the cluster layer's: [`Self::fail_topic`]).
    #[cfg(test)]
    pub(crate) fn expire(&mut self, now: Instant) {
        self.expire_with(now, || None)
    }

    /// [`Self::expire`], with the messages of the failed reports naming
    /// `cause()`, the last broker-level error (asked only when something
    /// expires): a record that timed out against a refused connection
    /// says so.
    pub(crate) fn expire_with(&mut self, now: Instant, cause: impl Fn() -> Option<Error>) {
        let because = |cause: &dyn Fn() -> Option<Error>| match cause() {
            Some(e) => format!("; last error: {e}"),
            None => String::new(),
        };
        self.wall.refresh(now);
        for ti in 0..self.topics.len() {
            // Batches: scan the whole queue, retried batches may sit in front.
            loop {
                let t = &mut self.topics[ti];
                let found = t.partitions.iter_mut().find_map(|pq| {
                    let i = pq
                        .batches
                        .iter()
                        .position(|b| b.deadline.is_some_and(|d| now >= d))?;
                    pq.batches.remove(i)
                });
                let Some(b) = found else { break };
                if let Some(m) = &mut self.idem {
                    // Its sequence numbers must be skipped: drain and bump.
                    m.on_queued_timeout();
                }
                let status = if b.maybe_persisted {
                    PersistenceStatus::PossiblyPersisted
                } else {
                    PersistenceStatus::NotPersisted
                };
                let msg = format!(
                    "{} [{}]: message.timeout.ms expired in queue ({} attempts){}",
                    b.topic,
                    b.partition,
                    b.attempts,
                    because(&cause)
                );
                self.finish(
                    b,
                    BatchOutcome::Failed {
                        error: Error::new(ErrorCode::MsgTimedOut, msg),
                        status,
                    },
                );
            }
            let t = &mut self.topics[ti];
            if t.unassigned.is_empty() {
                continue;
            }
            // Records wait in the order they were sent, each for the same
            // message.timeout.ms: the expired ones are at the front. Only
            // they are visited; this runs at every pass of the sender,
            // and a cluster that stays away may leave millions waiting.
            let timeout = self.cfg.message_timeout;
            let name = t.name.clone();
            while let Some(u) = self.topics[ti].unassigned.pop_front() {
                if deadline(u.enqueued, timeout).is_none_or(|d| now < d) {
                    self.topics[ti].unassigned.push_front(u);
                    break;
                }
                let e = Error::new(
                    ErrorCode::MsgTimedOut,
                    format!(
                        "topic {name}: message.timeout.ms expired waiting for metadata{}",
                        because(&cause)
                    ),
                );
                self.fail_single(ti, u, e, PersistenceStatus::NotPersisted);
            }
        }
    }

    /// When something next becomes due (a linger, a backoff, a timeout).
    pub(crate) fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        let strict_order = self.cfg.max_in_flight <= 1;
        if let Some(w) = self.idem.as_ref().and_then(Idempotence::next_wakeup) {
            at(w);
        }
        for t in self.topics.values() {
            if !t.unassigned.is_empty() {
                if let Some(d) = t
                    .unassigned
                    .front()
                    .and_then(|u| deadline(u.enqueued, self.cfg.message_timeout))
                {
                    at(d);
                }
            }
            for pq in &t.partitions {
                for b in &pq.batches {
                    if let Some(d) = b.deadline {
                        at(d);
                    }
                }
                let (Some(front), Some(leader)) = (pq.batches.front(), pq.leader) else {
                    continue;
                };
                // Partitions that wait for a response are woken by it.
                let broker_full = self.broker_in_flight.get(&leader).copied().unwrap_or(0)
                    >= self.cfg.max_in_flight;
                let waits_for_answers = pq.in_flight > 0
                    && (strict_order || pq.recover.is_some() || (self.idem.is_some() && pq.drain));
                if broker_full || waits_for_answers {
                    continue;
                }
                if let Some(r) = front.retry_at {
                    at(r);
                } else if !self.is_ready(front, pq.batches.len(), now) {
                    at(front.created + self.cfg.linger);
                }
            }
        }
        next.map(|n| n.max(now))
    }
}
