//! The I/O-free core of the producer: queues, batching, readiness, retries,
//! timeouts and backpressure, driven by events and the current time.
//!
//! The application thread calls [`Accumulator::enqueue`]; the sender (the
//! tokio task in `sender.rs`) calls [`Accumulator::drain`] to get one
//! ProduceRequest's worth of ready batches per broker, reports the outcome
//! with [`Accumulator::on_response`], feeds the cluster layer's leaders with
//! [`Accumulator::set_leaders`], and sleeps until [`Accumulator::next_wakeup`].
//! Which topics exist, where partitions lead and when metadata is refreshed
//! is the cluster layer's (`crate::cluster`); this core only reports the
//! topics whose leader failed ([`Accumulator::take_stale_topics`]).
//! Batches are moved out to the sender while in flight and come back on
//! retry, re-inserted at their original place (ordered by message id).
//! Completing delivery reports is left to the caller ([`Done`]), so it runs
//! outside the lock that guards this state.
//!
//! Order: after a retriable failure a partition drains its requests in
//! flight and restarts from its oldest unacknowledged batch, one batch at a
//! time until the failed one is written (`PartitionQueue::recover`), with
//! or without idempotence. Backpressure (`queue.buffering.max.kbytes`)
//! counts what records and batches really hold in memory ([`queue_cost`],
//! `Batch::cost`), not only payload bytes.
//!
//! The state and the application-facing side (enqueue, partitioning,
//! leaders, purge, statistics) are here; the rest of the core is split by
//! concern: `batch` (records, batches, completing reports), `queue`
//! (per-partition queues, drain, expiry, wake-ups), `outcome` (answered
//! and failed requests), and `idempotence` (sequence state and the
//! idempotent outcome rules).

// The pieces of the accumulator live in their own modules; these names are
// re-exported here so `accumulator::X` keeps naming them.
pub(crate) use super::batch::{complete, queue_cost, Batch, Done, Msg};
pub(crate) use super::queue::{Leader, PartitionResult, ProduceJob};
pub(crate) use super::SendError;

use super::batch::{deadline, record_size};
use super::delivery::{
    BatchOutcome, Callback, Completion, DeliveryFuture, DeliveryResult, PersistenceStatus,
};
use super::idempotence::Idempotence;
use super::message::ProducerRecord;
use super::partitioner::{Choice, FastRng, Partitioner, Sticky};
use super::queue::{PartitionQueue, TopicQueue, Unassigned};
use super::settings::Settings;
use crate::error::{Error, ErrorCode};
use crate::stats::Histogram;
use bytes::Bytes;
use indexmap::IndexMap;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The producer's state: every record not yet reported.
pub(crate) struct Accumulator {
    pub(super) cfg: Settings,
    pub(super) topics: IndexMap<Arc<str>, TopicQueue>,
    pub(super) rng: FastRng,
    pub(super) queued_msgs: usize,
    pub(super) queued_bytes: usize,
    pub(super) inflight_msgs: usize,
    pub(super) broker_in_flight: HashMap<i32, usize>,
    pub(super) rotation: usize,
    pub(super) next_job: u64,
    pub(super) wall: WallClock,
    /// The application's topic name of the last `enqueue` and its index
    /// (compared by pointer; the accumulator's own copy is in `topics`).
    pub(super) last_topic: Option<(Arc<str>, usize)>,
    /// Counts events the sender must hear of at once (a batch opened or
    /// filled, a topic added): `send` wakes the sender only when it moves.
    pub(super) wake_events: u64,
    /// Make every batch ready now (flush / close).
    pub(super) flushing: usize,
    /// Topics (by index) whose leader failed since the sender last asked.
    pub(super) stale_topics: Vec<usize>,
    pub(super) user_partitioner: Option<Arc<dyn Partitioner>>,
    /// Reports produced under the lock, completed by the caller after it.
    pub(super) pending_done: Vec<Done>,
    /// `purge(in_flight)` was called: the sender fails its in-flight jobs.
    pub(super) purge_in_flight: bool,
    pub(super) txmsgs: u64,
    pub(super) txmsg_bytes: u64,
    pub(super) txerrs: u64,
    pub(super) brokers: HashMap<i32, super::statistics::ProduceBroker>,
    /// Statistics: when the idempotence and transaction states last
    /// changed, as seen by the statistics.
    pub(super) eos_seen: super::statistics::EosSeen,
    /// The idempotence manager, with `enable.idempotence`.
    pub(super) idem: Option<Idempotence>,
    /// The idempotence generation partitions were last re-based on.
    pub(super) rebased_generation: u64,
    /// A fatal error was raised and not yet handed to the error callback.
    pub(super) fatal_event: bool,
    /// The transaction manager, with `transactional.id`.
    pub(super) txn: Option<super::txn::Transaction>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Wall-clock milliseconds derived from a monotonic instant, so `send` reads
/// the clock once per record; re-based every second to follow wall-clock
/// adjustments.
#[derive(Debug, Clone, Copy)]
pub(super) struct WallClock {
    pub(super) base: Instant,
    pub(super) base_ms: i64,
}

impl WallClock {
    pub(super) fn new() -> Self {
        WallClock {
            base: Instant::now(),
            base_ms: now_ms(),
        }
    }

    pub(super) fn ms_at(&self, at: Instant) -> i64 {
        self.base_ms + at.saturating_duration_since(self.base).as_millis() as i64
    }

    pub(super) fn refresh(&mut self, now: Instant) {
        if now.saturating_duration_since(self.base) >= Duration::from_secs(1) {
            *self = WallClock::new();
        }
    }
}

impl Accumulator {
    pub(crate) fn new(cfg: Settings, user_partitioner: Option<Arc<dyn Partitioner>>) -> Self {
        let txn = cfg
            .transactional_id
            .is_some()
            .then(super::txn::Transaction::new);
        let idem = if txn.is_some() {
            Some(Idempotence::new_external(cfg.retry_backoff))
        } else {
            cfg.idempotence
                .then(|| Idempotence::new(cfg.gapless, cfg.retry_backoff, Instant::now()))
        };
        Accumulator {
            idem,
            txn,
            rebased_generation: 0,
            fatal_event: false,
            cfg,
            topics: IndexMap::new(),
            rng: FastRng::from_entropy(),
            queued_msgs: 0,
            queued_bytes: 0,
            inflight_msgs: 0,
            broker_in_flight: HashMap::new(),
            rotation: 0,
            next_job: 1,
            wall: WallClock::new(),
            last_topic: None,
            wake_events: 0,
            flushing: 0,
            stale_topics: Vec::new(),
            user_partitioner,
            pending_done: Vec::new(),
            purge_in_flight: false,
            txmsgs: 0,
            txmsg_bytes: 0,
            txerrs: 0,
            brokers: HashMap::new(),
            eos_seen: Default::default(),
        }
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.cfg
    }

    /// Records not yet reported (queued, unassigned or in flight).
    #[cfg(test)]
    pub(crate) fn outstanding(&self) -> usize {
        self.queued_msgs
    }

    /// Records not yet handed out for reporting: those queued, unassigned
    /// or in flight, plus those whose reports wait in
    /// [`take_done`](Self::take_done).
    pub(crate) fn unreported(&self) -> usize {
        self.queued_msgs + self.pending_done.iter().map(Done::records).sum::<usize>()
    }

    /// Whether a record of `size` bytes fits the queue limits now.
    pub(super) fn has_room(&self, size: usize) -> bool {
        self.queued_msgs < self.cfg.queue_max_messages
            && self.queued_bytes.saturating_add(size) <= self.cfg.queue_max_bytes
    }

    /// Whether a `send` of `record` would fail with `QueueFull` right now.
    pub(crate) fn would_block(&self, record: &ProducerRecord) -> bool {
        !self.has_room(queue_cost(record_size(record), record.headers.len()))
    }

    /// Enqueues a record. Fails without side effects when the queue is full,
    /// the record is larger than `message.max.bytes`, or its explicit
    /// partition does not exist.
    pub(crate) fn enqueue(
        &mut self,
        record: ProducerRecord,
        callback: Option<Callback>,
        now: Instant,
    ) -> Result<DeliveryFuture, (SendError, Option<Callback>)> {
        if let Some(e) = self.fatal_error() {
            let error = e.clone();
            return Err((SendError { record, error }, callback));
        }
        if let Some(Err(error)) = self.txn.as_ref().map(|t| t.check_send()) {
            return Err((SendError { record, error }, callback));
        }
        let size = record_size(&record);
        let refuse = |record, code, msg: String, cb| {
            Err((
                SendError {
                    record,
                    error: Error::new(code, msg),
                },
                cb,
            ))
        };
        // `size` plus the batch header and worst-case varints bounds the
        // encoded size; only records near the limit need the exact bound.
        let surely_fits = size
            .saturating_add(128)
            .saturating_add(4 * record.headers.len())
            <= self.cfg.message_max_bytes;
        let upper = if surely_fits {
            0
        } else {
            crate::record::BatchBuilder::record_size_upper_bound(
                record.key.as_ref().map(Bytes::len),
                record.value.as_ref().map(Bytes::len),
                &record.headers,
            )
        };
        if upper > self.cfg.message_max_bytes {
            let msg = format!(
                "record of about {upper} bytes exceeds message.max.bytes={}",
                self.cfg.message_max_bytes
            );
            return refuse(record, ErrorCode::MsgSizeTooLarge, msg, callback);
        }
        let cost = queue_cost(size, record.headers.len());
        if !self.has_room(cost) {
            let msg = format!(
                "producer queue full: {} records / {} bytes queued (queue.buffering.max.messages={}, queue.buffering.max.kbytes={})",
                self.queued_msgs,
                self.queued_bytes,
                self.cfg.queue_max_messages,
                self.cfg.queue_max_bytes / 1024
            );
            return refuse(record, ErrorCode::QueueFull, msg, callback);
        }
        // Applications usually send many records with one shared topic name:
        // compare the pointer before hashing the string.
        let topic_idx = match &self.last_topic {
            Some((name, i)) if Arc::ptr_eq(name, &record.topic) => *i,
            _ => {
                let i = match self.topics.get_index_of(&*record.topic) {
                    Some(i) => i,
                    // A name of the producer's own, not the application's:
                    // the sender clones and drops it for every record it
                    // reports, and the application does the same with its
                    // own at every send. Sharing one reference count between
                    // the two threads would bounce its cache line.
                    None => self.add_topic(Arc::from(&*record.topic)),
                };
                self.last_topic = Some((record.topic.clone(), i));
                i
            }
        };
        let count = self.topics[topic_idx].partitions.len() as i32;
        let partition = if count == 0 {
            None
        } else {
            let key = record.key.as_deref();
            match self.choose_partition(topic_idx, record.partition, key, count, now) {
                Ok(p) => Some(p),
                Err(e) => return Err((SendError { record, error: e }, callback)),
            }
        };
        let timestamp = record.timestamp.unwrap_or_else(|| self.wall.ms_at(now));
        let ProducerRecord {
            topic: _,
            partition: hint,
            key,
            value,
            headers,
            ..
        } = record;
        let mut msg = Msg::new(
            key,
            value,
            headers,
            timestamp,
            size,
            // delivery.report.only.error: a success reaches no callback.
            match callback {
                Some(cb) if self.cfg.dr_only_error => Some(Box::new(move |r: DeliveryResult| {
                    if r.is_err() {
                        cb(r);
                    }
                })),
                other => other,
            },
        );
        self.queued_msgs += 1;
        self.queued_bytes += cost;
        let (completion, index) = match partition {
            Some(p) => self.append(topic_idx, p, msg, now, now),
            None => {
                let c = Completion::new(self.topics[topic_idx].name.clone());
                msg.set_own(c.clone());
                self.topics[topic_idx].unassigned.push_back(Unassigned {
                    msg,
                    enqueued: now,
                    partition: hint,
                });
                (c, 0)
            }
        };
        Ok(DeliveryFuture::new(completion, index, timestamp))
    }

    pub(super) fn add_topic(&mut self, name: Arc<str>) -> usize {
        self.wake_events += 1;
        self.topics
            .insert_full(
                name.clone(),
                TopicQueue {
                    name,
                    partitions: Vec::new(),
                    unassigned: VecDeque::new(),
                    sticky: Sticky::default(),
                    batchsize: Histogram::default(),
                    batchcnt: Histogram::default(),
                },
            )
            .0
    }

    /// Starts tracking `topic` (metadata wanted) without records.
    pub(crate) fn want_topic(&mut self, topic: &str) {
        if !self.topics.contains_key(topic) {
            self.add_topic(Arc::from(topic));
        }
    }

    /// A counter that moves whenever the sender should look at once.
    pub(crate) fn batches_opened(&self) -> u64 {
        self.wake_events
    }

    /// The partition of a record (`explicit` when the application named
    /// one, else the custom or built-in partitioner's choice for `key`) in
    /// a topic of `count` partitions: the one chooser for records placed
    /// at `send` and for records that waited for metadata. A partition
    /// outside the topic fails the record with `UnknownPartition`.
    pub(super) fn choose_partition(
        &mut self,
        topic_idx: usize,
        explicit: Option<i32>,
        key: Option<&[u8]>,
        count: i32,
        now: Instant,
    ) -> Result<i32, Error> {
        let p = match explicit {
            Some(p) => p,
            None => match &self.user_partitioner {
                Some(up) => up.partition(&self.topics[topic_idx].name, key, count),
                None => match self.cfg.partitioner.choose(key, count) {
                    Choice::Partition(p) => p,
                    Choice::Random => self.rng.below(count as u32) as i32,
                    Choice::Spread => {
                        let linger = self.cfg.sticky_linger;
                        let t = &mut self.topics[topic_idx];
                        t.sticky.pick(now, linger, count, &mut self.rng)
                    }
                },
            },
        };
        if (0..count).contains(&p) {
            Ok(p)
        } else {
            Err(Error::new(
                ErrorCode::UnknownPartition,
                format!(
                    "partition {p} of topic {} does not exist (it has {count} partitions)",
                    self.topics[topic_idx].name
                ),
            ))
        }
    }

    /// Appends to the partition's open batch, opening one if needed.
    pub(super) fn append(
        &mut self,
        topic_idx: usize,
        partition: i32,
        msg: Msg,
        now: Instant,
        enqueued: Instant,
    ) -> (Arc<Completion>, u32) {
        let cfg = &self.cfg;
        let t = &mut self.topics[topic_idx];
        let name = &t.name;
        let pq = &mut t.partitions[partition as usize];
        let fits = match pq.batches.back() {
            Some(b) => {
                !b.sealed
                    && b.msgs.len() < cfg.batch_num_messages
                    && (b.msgs.is_empty() || b.bytes + msg.size <= cfg.batch_size)
            }
            None => false,
        };
        if !fits {
            self.wake_events += 1;
            if let Some(b) = pq.batches.back_mut() {
                b.sealed = true;
            }
            let cap = pq.last_batch_len.max(8).min(cfg.batch_num_messages.max(1));
            self.queued_bytes += std::mem::size_of::<Batch>();
            pq.batches.push_back(Batch {
                topic: name.clone(),
                topic_idx,
                partition,
                msgs: Vec::with_capacity(cap),
                bytes: 0,
                cost: std::mem::size_of::<Batch>(),
                encoded_counted: false,
                first_msgid: pq.next_msgid,
                created: now,
                maybe_persisted: false,
                deadline: deadline(enqueued, cfg.message_timeout),
                completion: Completion::new(name.clone()),
                attempts: 0,
                retry_at: None,
                sealed: false,
                encoded: None,
                stamp: None,
                encoded_stamp: None,
                shed: 0,
                shed_cost: 0,
                shed_callbacks: Vec::new(),
            });
        }
        pq.next_msgid += 1;
        let b = pq.batches.back_mut().expect("a batch was just ensured");
        if enqueued < now {
            // A record that waited for metadata keeps its own deadline.
            let d = deadline(enqueued, cfg.message_timeout);
            b.deadline = match (b.deadline, d) {
                (Some(a), Some(d)) => Some(a.min(d)),
                (a, d) => a.or(d),
            };
        }
        let index = b.msgs.len() as u32;
        b.bytes += msg.size;
        b.cost += queue_cost(msg.size, msg.headers().len());
        let completion = match msg.own() {
            Some(own) => own.clone(),
            None => b.completion.clone(),
        };
        let own_slot = msg.own().is_some();
        if b.msgs.len() == b.msgs.capacity() {
            // Grow by doubling, but not past the records the batch can
            // still take (`batch.num.messages`, `batch.size` at this
            // record's size): a full batch's records then take what they
            // need, not up to twice that (issue 19: 47% of a batch of
            // 8,600 was spare capacity).
            let room = cfg
                .batch_num_messages
                .saturating_sub(b.msgs.len())
                .min(cfg.batch_size.saturating_sub(b.bytes) / msg.size.max(1) + 1);
            b.msgs.reserve_exact(b.msgs.len().max(8).min(room.max(1)));
        }
        b.msgs.push(msg);
        if b.msgs.len() >= cfg.batch_num_messages || b.bytes >= cfg.batch_size {
            b.sealed = true;
            self.wake_events += 1;
        }
        (completion, if own_slot { 0 } else { index })
    }

    /// Metadata for `topic` from the cluster layer: its partitions' leaders
    /// by partition id (`None`: no leader now). A leader with an older
    /// epoch than one already seen is not followed. Records waiting for
    /// the topic are partitioned now.
    pub(crate) fn set_leaders(&mut self, topic: &str, leaders: &[Option<Leader>], now: Instant) {
        let Some(topic_idx) = self.topics.get_index_of(topic) else {
            return;
        };
        if leaders.is_empty() {
            return;
        }
        {
            let t = &mut self.topics[topic_idx];
            for (i, l) in leaders.iter().enumerate() {
                if t.partitions.len() <= i {
                    t.partitions.push(PartitionQueue::new());
                }
                t.partitions[i].set_leader(*l);
            }
            // Partition counts only grow in Kafka; a shrink is ignored.
            let pending = std::mem::take(&mut t.unassigned);
            let count = t.partitions.len() as i32;
            for u in pending {
                let key = u.msg.key.as_deref();
                let p = match self.choose_partition(topic_idx, u.partition, key, count, now) {
                    Ok(p) => p,
                    Err(e) => {
                        self.fail_single(topic_idx, u, e, PersistenceStatus::NotPersisted);
                        continue;
                    }
                };
                self.append(topic_idx, p, u.msg, now, u.enqueued);
            }
        }
    }

    /// [`set_leaders`](Self::set_leaders) with leader ids only, or `Err`
    /// for a topic the cluster declared missing (its waiting records fail).
    #[cfg(test)]
    pub(crate) fn set_topic(
        &mut self,
        topic: &str,
        leaders: Result<Vec<Option<i32>>, ErrorCode>,
        now: Instant,
    ) {
        match leaders {
            Ok(l) => {
                let l: Vec<Option<Leader>> = l
                    .into_iter()
                    .map(|id| id.map(|id| Leader { id, epoch: None }))
                    .collect();
                self.set_leaders(topic, &l, now);
            }
            Err(code) => {
                let e = Error::new(code, format!("topic {topic} does not exist"));
                self.fail_topic(topic, &e);
            }
        }
    }

    /// The cluster layer declared `topic` unusable (missing past the
    /// propagation window, or a topic error): records waiting for its
    /// metadata fail with `error`. Returns how many did.
    pub(crate) fn fail_topic(&mut self, topic: &str, error: &Error) -> usize {
        let Some(ti) = self.topics.get_index_of(topic) else {
            return 0;
        };
        let unassigned = std::mem::take(&mut self.topics[ti].unassigned);
        let n = unassigned.len();
        for u in unassigned {
            self.fail_single(ti, u, error.clone(), PersistenceStatus::NotPersisted);
        }
        n
    }

    /// Topics whose leader failed since the last call (their metadata is
    /// to be refreshed).
    pub(crate) fn take_stale_topics(&mut self) -> Vec<Arc<str>> {
        let mut idx = std::mem::take(&mut self.stale_topics);
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter()
            .map(|i| self.topics[i].name.clone())
            .collect()
    }

    /// Records a failed record that never joined a batch; it is reported by
    /// the next [`take_done`](Self::take_done).
    pub(super) fn fail_single(
        &mut self,
        topic_idx: usize,
        u: Unassigned,
        error: Error,
        status: PersistenceStatus,
    ) {
        self.queued_msgs -= 1;
        self.queued_bytes -= queue_cost(u.msg.size, u.msg.headers().len());
        self.txerrs += 1;
        if let Some(tx) = self.txn.as_mut() {
            tx.on_delivery_failed(&error);
        }
        let topic = self.topics[topic_idx].name.clone();
        self.pending_done.push(Done::Single {
            topic,
            partition: u.partition,
            msg: u.msg,
            outcome: BatchOutcome::Failed { error, status },
        });
    }
}

impl Accumulator {
    /// Reports produced since the last call, to be completed (with
    /// [`complete`]) after the lock is released.
    pub(crate) fn take_done(&mut self) -> Vec<Done> {
        std::mem::take(&mut self.pending_done)
    }

    /// Topics whose leaders to look up: all of them when `all`, else the
    /// unknown ones and those with leaderless partitions.
    pub(crate) fn metadata_topics(&self, all: bool) -> Vec<Arc<str>> {
        self.topics
            .values()
            .filter(|t| {
                all || t.partitions.is_empty() || t.partitions.iter().any(|p| p.leader.is_none())
            })
            .map(|t| t.name.clone())
            .collect()
    }

    /// Whether some topic lacks leaders.
    #[cfg(test)]
    pub(crate) fn metadata_incomplete(&self) -> bool {
        !self.stale_topics.is_empty() || !self.metadata_topics(false).is_empty()
    }

    /// The partition count of a known topic.
    pub(crate) fn partition_count(&self, topic: &str) -> Option<usize> {
        self.topics
            .get(topic)
            .map(|t| t.partitions.len())
            .filter(|n| *n > 0)
    }

    /// Makes every batch ready at once while `flushing` is raised.
    pub(crate) fn set_flushing(&mut self, on: bool) {
        if on {
            self.flushing += 1;
        } else {
            self.flushing = self.flushing.saturating_sub(1);
        }
    }

    /// Fails every queued record (`PurgeQueue`) and, when `in_flight`, asks
    /// the sender to fail what is in flight (`PurgeInflight`).
    pub(crate) fn purge(&mut self, queued: bool, in_flight: bool) {
        if let Some(m) = &mut self.idem {
            let batches_queued = || {
                self.topics
                    .values()
                    .any(|t| t.partitions.iter().any(|pq| !pq.batches.is_empty()))
            };
            if in_flight || (queued && batches_queued()) {
                // Purged records leave a gap in the sequence (records
                // still waiting for a partition have no sequence yet).
                m.request_bump();
            }
        }
        if in_flight {
            self.purge_in_flight = true;
        }
        if !queued {
            return;
        }
        for ti in 0..self.topics.len() {
            let t = &mut self.topics[ti];
            let mut batches = Vec::new();
            for pq in &mut t.partitions {
                batches.extend(pq.batches.drain(..));
            }
            let unassigned = std::mem::take(&mut t.unassigned);
            for b in batches {
                let msg = format!("{} [{}]: purged from the queue", b.topic, b.partition);
                let status = if b.maybe_persisted {
                    PersistenceStatus::PossiblyPersisted
                } else {
                    PersistenceStatus::NotPersisted
                };
                self.finish(
                    b,
                    BatchOutcome::Failed {
                        error: Error::new(ErrorCode::PurgeQueue, msg),
                        status,
                    },
                );
            }
            for u in unassigned {
                let e = Error::new(ErrorCode::PurgeQueue, "purged from the queue");
                self.fail_single(ti, u, e, PersistenceStatus::NotPersisted);
            }
        }
    }

    /// Fails every record still waiting for its topic's metadata with
    /// `error`: no broker will let this client in (wrong credentials, an
    /// untrusted certificate), and waiting out message.timeout.ms would
    /// only hide the cause.
    pub(crate) fn fail_unassigned(&mut self, error: &Error) {
        for ti in 0..self.topics.len() {
            let unassigned = std::mem::take(&mut self.topics[ti].unassigned);
            for u in unassigned {
                self.fail_single(ti, u, error.clone(), PersistenceStatus::NotPersisted);
            }
        }
    }

    /// Whether the sender must fail its in-flight jobs (clears the request).
    pub(crate) fn take_purge_in_flight(&mut self) -> bool {
        std::mem::take(&mut self.purge_in_flight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::producer::batch::Panics;
    use crate::producer::delivery::DeliveryResult;
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;

    fn settings() -> Settings {
        Settings {
            linger: Duration::from_millis(5),
            batch_num_messages: 3,
            message_timeout: Duration::from_millis(1000),
            ..Settings::default()
        }
    }

    fn rec(i: u32) -> ProducerRecord {
        ProducerRecord::new("t").value(format!("v{i}"))
    }

    fn ok(base: i64) -> Result<PartitionResult, Error> {
        Ok(PartitionResult {
            error: ErrorCode::NoError,
            base_offset: base,
            log_append_time: -1,
            message: None,
            current_leader: None,
        })
    }

    fn kafka_err(code: ErrorCode) -> Result<PartitionResult, Error> {
        Ok(PartitionResult {
            error: code,
            base_offset: -1,
            log_append_time: -1,
            message: None,
            current_leader: None,
        })
    }

    fn send(acc: &mut Accumulator, r: ProducerRecord, t: Instant) -> DeliveryFuture {
        match acc.enqueue(r, None, t) {
            Ok(f) => f,
            Err((e, _)) => panic!("send refused: {e}"),
        }
    }

    fn run_done(acc: &mut Accumulator) {
        for d in acc.take_done() {
            complete(d, |_| {});
        }
    }

    fn values(job: &ProduceJob) -> Vec<String> {
        job.batches
            .iter()
            .flat_map(|b| b.msgs.iter())
            .map(|m| String::from_utf8(m.value.as_ref().unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn records_wait_for_metadata_then_batch_by_count_and_linger() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let futs: Vec<_> = (0..4)
            .map(|i| send(&mut acc, rec(i).partition(0), t0))
            .collect();
        assert_eq!(acc.metadata_topics(false), vec![Arc::<str>::from("t")]);
        assert!(acc.drain(t0, |_| true).is_empty(), "no leader known yet");
        acc.set_topic("t", Ok(vec![Some(1), Some(2)]), t0);
        // The first batch is full (3 records): ready before linger.
        let jobs = acc.drain(t0, |_| true);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].broker, 1);
        assert_eq!(values(&jobs[0]), ["v0", "v1", "v2"]);
        // The 4th waits for linger.ms.
        assert!(acc
            .drain(t0 + Duration::from_millis(1), |_| true)
            .is_empty());
        assert_eq!(acc.next_wakeup(t0), Some(t0 + Duration::from_millis(5)));
        let late = acc.drain(t0 + Duration::from_millis(5), |_| true);
        assert_eq!(values(&late[0]), ["v3"]);
        for job in jobs.into_iter().chain(late) {
            let base = if job.batches[0].first_msgid == 1 {
                10
            } else {
                13
            };
            acc.on_response(job, vec![ok(base)], Some(Duration::from_micros(50)), t0);
        }
        run_done(&mut acc);
        let offsets: Vec<i64> = futs.into_iter().map(|f| f.wait().unwrap().offset).collect();
        assert_eq!(offsets, [10, 11, 12, 13]);
        assert_eq!(acc.outstanding(), 0);
        let st = acc.stats();
        assert_eq!(st.txmsgs, 4);
        assert_eq!(st.brokers["1"].rtt.cnt, 2);
    }

    #[test]
    fn records_waiting_for_metadata_expire_oldest_first_and_the_rest_keep_their_order() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut acc = Accumulator::new(settings(), None);
        // Sent 100 ms apart; message.timeout.ms is 1000.
        let futs: Vec<_> = (0..5)
            .map(|i| send(&mut acc, rec(i).partition(0), t0 + ms(100 * u64::from(i))))
            .collect();
        acc.expire_with(t0 + ms(999), || None);
        run_done(&mut acc);
        assert!(futs.iter().all(|f| !f.is_done()), "none expired yet");
        assert_eq!(acc.next_wakeup(t0 + ms(999)), Some(t0 + ms(1000)));
        // At 1150 ms the first two have waited their 1000 ms.
        acc.expire_with(t0 + ms(1150), || None);
        run_done(&mut acc);
        let done: Vec<bool> = futs.iter().map(|f| f.is_done()).collect();
        assert_eq!(done, [true, true, false, false, false]);
        assert_eq!(acc.next_wakeup(t0 + ms(1150)), Some(t0 + ms(1200)));
        acc.set_topic("t", Ok(vec![Some(1)]), t0 + ms(1150));
        let jobs = acc.drain(t0 + ms(1150), |_| true);
        let sent: Vec<String> = jobs.iter().flat_map(values).collect();
        assert_eq!(sent, ["v2", "v3", "v4"]);
        let mut futs = futs.into_iter();
        let first = futs.next().unwrap().wait().unwrap_err();
        assert_eq!(first.error.code(), ErrorCode::MsgTimedOut, "{first:?}");
    }

    #[test]
    fn one_request_per_broker_carries_every_ready_partition() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let _report = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1), Some(1), Some(2)]), t0);
        for p in 0..3 {
            for i in 0..3 {
                let _report = send(&mut acc, rec(i).partition(p), t0);
            }
        }
        let jobs = acc.drain(t0, |_| true);
        assert_eq!(jobs.len(), 2);
        let b1 = jobs.iter().find(|j| j.broker == 1).unwrap();
        let mut parts: Vec<i32> = b1.batches.iter().map(|b| b.partition).collect();
        parts.sort();
        assert_eq!(parts, [0, 1]);
    }

    #[test]
    fn retriable_error_requeues_in_original_order_with_backoff() {
        let t0 = Instant::now();
        let mut cfg = settings();
        cfg.max_in_flight = 1;
        let mut acc = Accumulator::new(cfg, None);
        let _report = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let futs: Vec<_> = (1..6)
            .map(|i| send(&mut acc, rec(i).partition(0), t0))
            .collect();
        let job = acc.drain(t0, |_| true).pop().unwrap();
        assert_eq!(values(&job), ["v0", "v1", "v2"]);
        // max.in.flight=1: nothing else for this partition until the answer.
        assert!(acc
            .drain(t0 + Duration::from_millis(10), |_| true)
            .is_empty());
        acc.on_response(
            job,
            vec![kafka_err(ErrorCode::NotLeaderOrFollower)],
            None,
            t0,
        );
        assert!(acc.metadata_incomplete(), "leader error asks for metadata");
        acc.set_topic("t", Ok(vec![Some(2)]), t0);
        // Backing off for retry.backoff.ms.
        assert!(acc
            .drain(t0 + Duration::from_millis(50), |_| true)
            .is_empty());
        let job = acc
            .drain(t0 + Duration::from_millis(100), |_| true)
            .pop()
            .unwrap();
        assert_eq!(job.broker, 2);
        assert_eq!(
            values(&job),
            ["v0", "v1", "v2"],
            "the retried batch goes first"
        );
        acc.on_response(job, vec![ok(0)], None, t0);
        let job = acc
            .drain(t0 + Duration::from_millis(100), |_| true)
            .pop()
            .unwrap();
        assert_eq!(values(&job), ["v3", "v4", "v5"]);
        acc.on_response(job, vec![ok(3)], None, t0);
        run_done(&mut acc);
        let offsets: Vec<i64> = futs.into_iter().map(|f| f.wait().unwrap().offset).collect();
        assert_eq!(offsets, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn without_idempotence_a_retry_drains_the_partition_and_goes_alone() {
        // Five in flight, no idempotence: after a retriable failure nothing
        // more of the partition is sent while its requests are in flight,
        // then the failed batch alone, then the rest once it is written
        // (librdkafka kept order on the same schedule; issue 13).
        let t0 = Instant::now();
        let mut cfg = settings();
        cfg.max_in_flight = 5;
        cfg.linger = Duration::ZERO;
        let mut acc = Accumulator::new(cfg, None);
        acc.want_topic("t");
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        for i in 0..12 {
            let _report = send(&mut acc, rec(i).partition(0), t0);
        }
        let a = acc.drain(t0, |_| true).pop().unwrap();
        let b = acc.drain(t0, |_| true).pop().unwrap();
        assert_eq!(values(&b), ["v3", "v4", "v5"]);
        acc.on_response(a, vec![kafka_err(ErrorCode::NotEnoughReplicas)], None, t0);
        let t1 = t0 + Duration::from_secs(1);
        assert!(
            acc.drain(t1, |_| true).is_empty(),
            "the partition drains while a request is in flight"
        );
        acc.on_response(b, vec![ok(0)], None, t1);
        let retry = acc.drain(t1, |_| true).pop().unwrap();
        assert_eq!(values(&retry), ["v0", "v1", "v2"]);
        assert!(acc.drain(t1, |_| true).is_empty(), "the retry goes alone");
        acc.on_response(retry, vec![ok(3)], None, t1);
        let c = acc.drain(t1, |_| true).pop().unwrap();
        assert_eq!(values(&c), ["v6", "v7", "v8"]);
        let d = acc.drain(t1, |_| true).pop().unwrap();
        assert_eq!(values(&d), ["v9", "v10", "v11"], "pipelining again");
    }

    #[test]
    fn permanent_error_fails_batch_not_persisted_and_returns_records() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let _report = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let f = send(&mut acc, rec(1).partition(0), t0);
        let job = acc
            .drain(t0 + Duration::from_millis(5), |_| true)
            .pop()
            .unwrap();
        acc.on_response(
            job,
            vec![kafka_err(ErrorCode::TopicAuthorizationFailed)],
            None,
            t0,
        );
        run_done(&mut acc);
        let e = f.wait().unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::TopicAuthorizationFailed);
        assert_eq!(e.status, PersistenceStatus::NotPersisted);
        assert_eq!(e.record.unwrap().value_bytes().unwrap().as_ref(), b"v1");
        assert_eq!(acc.txerrs, 2);
    }

    #[test]
    fn timeouts_in_queue_and_in_flight_have_their_status() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let _report = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1), None]), t0);
        let queued = send(&mut acc, rec(1).partition(1), t0);
        let flying = send(&mut acc, rec(2).partition(0), t0);
        let job = acc
            .drain(t0 + Duration::from_millis(5), |_| true)
            .pop()
            .unwrap();
        let t1 = t0 + Duration::from_millis(1000);
        acc.expire(t1);
        acc.on_response(
            job,
            vec![Err(Error::new(ErrorCode::TimedOut, "request timed out"))],
            None,
            t1,
        );
        run_done(&mut acc);
        let q = queued.wait().unwrap_err();
        assert_eq!(
            (q.error.code(), q.status),
            (ErrorCode::MsgTimedOut, PersistenceStatus::NotPersisted)
        );
        let f = flying.wait().unwrap_err();
        assert_eq!(
            (f.error.code(), f.status),
            (ErrorCode::MsgTimedOut, PersistenceStatus::PossiblyPersisted)
        );
    }

    #[test]
    fn a_topic_the_cluster_declares_missing_fails_its_waiting_records() {
        // The propagation window is the cluster layer's (cluster::state
        // `missing_topic_waits_out_the_propagation_window`); the
        // accumulator fails what waits for the topic with its verdict.
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let f = send(&mut acc, rec(0), t0);
        acc.expire(t0 + Duration::from_millis(100));
        assert_eq!(acc.outstanding(), 1);
        let verdict = Error::new(ErrorCode::UnknownTopic, "topic t does not exist");
        assert_eq!(acc.fail_topic("t", &verdict), 1);
        run_done(&mut acc);
        let e = f.wait().unwrap_err();
        assert_eq!(
            (e.error.code(), e.status),
            (ErrorCode::UnknownTopic, PersistenceStatus::NotPersisted)
        );
        assert_eq!(acc.outstanding(), 0);
    }

    #[test]
    fn an_older_leader_epoch_is_not_followed_and_a_newer_hint_is() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let leader = |id, epoch| {
            Some(Leader {
                id,
                epoch: Some(epoch),
            })
        };
        acc.want_topic("t");
        acc.set_leaders("t", &[leader(1, 5)], t0);
        // A lagging broker's answer names the leader before the election.
        acc.set_leaders("t", &[leader(2, 4)], t0);
        let _f = send(
            &mut acc,
            ProducerRecord::new("t").partition(0).value("a"),
            t0,
        );
        acc.set_flushing(true);
        let job = acc.drain(t0, |_| true).pop().unwrap();
        assert_eq!(job.broker, 1, "epoch 4 is older than 5");
        // NOT_LEADER_OR_FOLLOWER naming the new leader (KIP-951): followed
        // at once, and the topic is reported for a refresh.
        let res = Ok(PartitionResult {
            error: ErrorCode::NotLeaderOrFollower,
            base_offset: -1,
            log_append_time: -1,
            message: None,
            current_leader: leader(3, 6),
        });
        acc.on_response(job, vec![res], None, t0);
        assert_eq!(acc.take_stale_topics(), vec![Arc::<str>::from("t")]);
        let later = t0 + Duration::from_millis(150);
        let job = acc.drain(later, |_| true).pop().unwrap();
        assert_eq!(job.broker, 3);
        // A stale-leader error without a hint: no leader until metadata.
        let res = Err(Error::new(ErrorCode::Transport, "connection reset"));
        acc.on_response(job, vec![res], None, later);
        let past_backoff = later + Duration::from_millis(250);
        assert!(acc.drain(past_backoff, |_| true).is_empty());
        assert!(acc.metadata_incomplete());
        acc.set_leaders("t", &[leader(3, 6)], past_backoff);
        assert_eq!(acc.drain(past_backoff, |_| true)[0].broker, 3);
    }

    #[test]
    fn queue_limits_and_size_limit_refuse_at_send() {
        let t0 = Instant::now();
        let mut cfg = settings();
        cfg.queue_max_messages = 2;
        cfg.message_max_bytes = 1000;
        let mut acc = Accumulator::new(cfg, None);
        let big = ProducerRecord::new("t").value(vec![0u8; 2000]);
        let (e, _) = acc.enqueue(big, None, t0).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::MsgSizeTooLarge);
        assert_eq!(e.record.value_bytes().unwrap().len(), 2000);
        let _a = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let (e, _) = acc.enqueue(rec(3).partition(7), None, t0).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::UnknownPartition);
        let _b = send(&mut acc, rec(1), t0);
        let (e, _) = acc.enqueue(rec(2), None, t0).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::QueueFull);
        assert_eq!(e.record.value_bytes().unwrap().as_ref(), b"v2");
    }

    #[test]
    fn a_queued_record_costs_its_struct_and_its_batch_buffers_not_only_its_payload() {
        // A 1 MiB cap: tiny records (an empty value) cost at least the
        // struct holding each in its batch, so far fewer than a million fit
        // (payload-only accounting let 65,536 in, 16 bytes each).
        let t0 = Instant::now();
        let cap = 1 << 20;
        let mut cfg = settings();
        cfg.queue_max_messages = usize::MAX;
        cfg.queue_max_bytes = cap;
        cfg.batch_num_messages = 10_000;
        let mut acc = Accumulator::new(cfg, None);
        acc.want_topic("t");
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let mut fitted = 0usize;
        for _ in 0..1_000_000 {
            match acc.enqueue(ProducerRecord::new("t").partition(0), None, t0) {
                Ok(_) => fitted += 1,
                Err((e, _)) => {
                    assert_eq!(e.error.code(), ErrorCode::QueueFull);
                    break;
                }
            }
        }
        let per_record = std::mem::size_of::<Msg>();
        assert!(
            fitted <= cap / per_record,
            "{fitted} records of {per_record}+ bytes each fit in a {cap}-byte cap"
        );
        assert!(
            fitted > cap / (2 * per_record),
            "{fitted}: the cap still holds records"
        );
        assert!(acc.stats().msg_size as usize <= cap);
        // Sent: the encoded batch kept for retries counts too, until the
        // batch is reported.
        let before = acc.stats().msg_size;
        let mut job = acc
            .drain(t0 + Duration::from_secs(1), |_| true)
            .pop()
            .unwrap();
        // Kept for retries; the request in flight references it instead
        // of holding a copy (protocol::body), so it counts once.
        acc.on_batch_sent(1, &mut job.batches[0], 300_000);
        assert_eq!(acc.stats().msg_size, before + 300_000);
        acc.on_batch_sent(1, &mut job.batches[0], 300_000);
        assert_eq!(acc.stats().msg_size, before + 300_000, "counted once");
        let sent = job.batches[0].records();
        let n = job.batches.len();
        acc.on_response(job, vec![ok(0); n], None, t0);
        assert!(acc.stats().msg_size < before, "{sent} records reported");
        run_done(&mut acc);
        // Everything reported: nothing left counted.
        acc.purge(true, false);
        run_done(&mut acc);
        assert_eq!(acc.stats().msg_size, 0);
        assert_eq!(acc.outstanding(), 0);
    }

    #[test]
    fn a_custom_partitioners_out_of_range_answer_fails_the_record_on_both_paths() {
        struct Beyond;
        impl Partitioner for Beyond {
            fn partition(&self, _topic: &str, _key: Option<&[u8]>, count: i32) -> i32 {
                count
            }
        }
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), Some(Arc::new(Beyond)));
        // Sent before the topic's metadata: placed when it arrives. This
        // path used to send it to a random partition instead.
        let waited = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1), Some(1)]), t0);
        assert_eq!(acc.outstanding(), 0, "failed, not queued");
        run_done(&mut acc);
        let e = waited.wait().unwrap_err();
        assert_eq!(
            (e.error.code(), e.status),
            (ErrorCode::UnknownPartition, PersistenceStatus::NotPersisted),
            "{}",
            e.error
        );
        assert!(e.error.message().contains("partition 2"), "{}", e.error);
        // Sent once the topic is known: refused at send, as before.
        let refused = acc.enqueue(rec(1), None, t0).map(drop).unwrap_err().0;
        assert_eq!(refused.error.code(), ErrorCode::UnknownPartition);
        assert_eq!(acc.outstanding(), 0);
    }

    #[test]
    fn purge_and_callbacks() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let seen: Arc<Mutex<Vec<DeliveryResult>>> = Arc::default();
        let s2 = seen.clone();
        assert!(acc
            .enqueue(
                rec(0),
                Some(Box::new(move |r| s2.lock().unwrap().push(r))),
                t0
            )
            .is_ok());
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let f = send(&mut acc, rec(1), t0);
        acc.purge(true, true);
        assert!(acc.take_purge_in_flight());
        run_done(&mut acc);
        assert_eq!(f.wait().unwrap_err().error.code(), ErrorCode::PurgeQueue);
        let seen = seen.lock().unwrap();
        let e = seen[0].as_ref().unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::PurgeQueue);
        assert_eq!(
            e.record.as_ref().unwrap().value_bytes().unwrap().as_ref(),
            b"v0"
        );
        assert_eq!(acc.outstanding(), 0);
    }

    #[test]
    fn delivery_report_only_error_calls_back_for_failures_only() {
        for only_error in [false, true] {
            let t0 = Instant::now();
            let mut cfg = settings();
            cfg.dr_only_error = only_error;
            let mut acc = Accumulator::new(cfg, None);
            let seen: Arc<Mutex<Vec<bool>>> = Arc::default();
            let callback = |seen: &Arc<Mutex<Vec<bool>>>| -> Option<Callback> {
                let seen = seen.clone();
                Some(Box::new(move |r: DeliveryResult| {
                    seen.lock().unwrap().push(r.is_ok())
                }))
            };
            let delivered = acc.enqueue(rec(0), callback(&seen), t0).ok().unwrap();
            acc.set_topic("t", Ok(vec![Some(1)]), t0);
            let job = acc
                .drain(t0 + Duration::from_millis(5), |_| true)
                .pop()
                .unwrap();
            acc.on_response(job, vec![ok(7)], None, t0);
            run_done(&mut acc);
            assert_eq!(delivered.wait().unwrap().offset, 7);
            let _purged = acc.enqueue(rec(1), callback(&seen), t0).ok().unwrap();
            acc.purge(true, true);
            run_done(&mut acc);
            let want = if only_error {
                vec![false]
            } else {
                vec![true, false]
            };
            assert_eq!(*seen.lock().unwrap(), want, "only_error={only_error}");
        }
    }

    #[test]
    fn a_callback_that_panics_does_not_stop_the_reports_after_it() {
        let t0 = Instant::now();
        let mut acc = Accumulator::new(settings(), None);
        let seen: Arc<Mutex<Vec<i64>>> = Arc::default();
        for i in 0..3 {
            let seen = seen.clone();
            let cb: Callback = Box::new(move |r: DeliveryResult| {
                let offset = r.unwrap().offset;
                if i == 1 {
                    panic!("callback {i} panics at offset {offset}");
                }
                seen.lock().unwrap().push(offset);
            });
            assert!(acc.enqueue(rec(i).partition(0), Some(cb), t0).is_ok());
        }
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let job = acc.drain(t0, |_| true).pop().unwrap();
        acc.on_response(job, vec![ok(20)], None, t0);
        let reported = std::sync::atomic::AtomicUsize::new(0);
        let mut panics = Panics::default();
        for d in acc.take_done() {
            let p = complete(d, |n| {
                reported.fetch_add(n, Ordering::Relaxed);
            });
            panics.count += p.count;
            panics.first = panics.first.or(p.first);
        }
        assert_eq!(*seen.lock().unwrap(), [20, 22]);
        assert_eq!(panics.count, 1);
        assert_eq!(
            panics.first.as_deref(),
            Some("callback 1 panics at offset 21")
        );
        assert_eq!(
            reported.load(Ordering::Relaxed),
            3,
            "all three count as reported"
        );
    }

    #[test]
    fn acks0_reports_offset_minus_one_and_never_retries() {
        let t0 = Instant::now();
        let mut cfg = settings();
        cfg.acks = 0;
        let mut acc = Accumulator::new(cfg, None);
        let _report = send(&mut acc, rec(0), t0);
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let f = send(&mut acc, rec(1), t0);
        let job = acc
            .drain(t0 + Duration::from_millis(5), |_| true)
            .pop()
            .unwrap();
        acc.on_response(job, vec![ok(-1)], None, t0);
        run_done(&mut acc);
        assert_eq!(f.wait().unwrap().offset, -1);
    }
}

#[cfg(test)]
mod wakeup_tests {
    use super::*;

    #[test]
    fn no_wakeup_in_the_past_while_waiting_for_answers() {
        let t0 = Instant::now();
        let cfg = Settings {
            message_timeout: Duration::from_millis(1000),
            max_in_flight: 1,
            ..Settings::default()
        };
        let mut acc = Accumulator::new(cfg, None);
        let _a = acc.enqueue(ProducerRecord::new("t").value("a"), None, t0);
        // No metadata answer yet: the propagation window does not apply.
        let later = t0 + Duration::from_millis(200);
        assert!(acc.next_wakeup(later).is_some_and(|w| w > later));
        // A batch waiting behind a full broker is woken by the response.
        acc.set_topic("t", Ok(vec![Some(1)]), t0);
        let _b = acc.enqueue(ProducerRecord::new("t").partition(0).value("b"), None, t0);
        let jobs = acc.drain(later, |_| true);
        assert_eq!(jobs.len(), 1);
        let _c = acc.enqueue(
            ProducerRecord::new("t").partition(0).value("c"),
            None,
            later,
        );
        let much_later = later + Duration::from_millis(100);
        assert!(acc.next_wakeup(much_later).is_some_and(|w| w > much_later));
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn records_near_message_max_bytes_use_the_exact_bound() {
        let t0 = Instant::now();
        let cfg = Settings {
            message_max_bytes: 1000,
            ..Settings::default()
        };
        let mut acc = Accumulator::new(cfg, None);
        let exact =
            |n: usize| crate::record::BatchBuilder::record_size_upper_bound(None, Some(n), &[]);
        let fits = (800..1000).rev().find(|n| exact(*n) <= 1000).unwrap();
        assert!(acc
            .enqueue(ProducerRecord::new("t").value(vec![0u8; fits]), None, t0)
            .is_ok());
        let err = match acc.enqueue(
            ProducerRecord::new("t").value(vec![0u8; fits + 1]),
            None,
            t0,
        ) {
            Err((e, _)) => e,
            Ok(_) => panic!("a record one byte over the bound was accepted"),
        };
        assert_eq!(err.error.code(), ErrorCode::MsgSizeTooLarge);
    }
}

/// The accumulator with idempotence, driven by a simulated clock and
/// scripted broker answers.
#[cfg(test)]
mod idempotence_tests {
    use super::*;
    use crate::producer::idempotence::ProducerId;

    const PID: ProducerId = ProducerId { id: 42, epoch: 0 };

    /// An accumulator and a start time not before its construction.
    fn acc_at() -> (Accumulator, Instant) {
        let cfg = Settings {
            idempotence: true,
            max_in_flight: 5,
            batch_num_messages: 2,
            linger: Duration::ZERO,
            message_timeout: Duration::from_secs(30),
            retry_backoff: Duration::from_millis(10),
            ..Settings::default()
        };
        let mut a = Accumulator::new(cfg, None);
        let t0 = Instant::now();
        a.want_topic("t");
        a.set_topic("t", Ok(vec![Some(1)]), t0);
        (a, t0)
    }

    fn send(a: &mut Accumulator, n: usize, t: Instant) {
        for i in 0..n {
            let r = ProducerRecord::new("t").partition(0).value(format!("{i}"));
            assert!(a.enqueue(r, None, t).is_ok());
        }
    }

    fn result(code: ErrorCode, base: i64) -> Result<PartitionResult, Error> {
        Ok(PartitionResult {
            error: code,
            base_offset: base,
            log_append_time: -1,
            message: None,
            current_leader: None,
        })
    }

    fn stamps(jobs: &[ProduceJob]) -> Vec<(i64, i16, i32)> {
        jobs.iter()
            .flat_map(|j| j.batches.iter().map(|b| b.stamp.unwrap()))
            .collect()
    }

    /// Drains until nothing more goes out, returning every job.
    fn drain_all(a: &mut Accumulator, t: Instant) -> Vec<ProduceJob> {
        let mut out = Vec::new();
        for _ in 0..10 {
            let jobs = a.drain(t, |_| true);
            if jobs.is_empty() {
                break;
            }
            out.extend(jobs);
        }
        out
    }

    #[test]
    fn nothing_is_sent_before_a_producer_id_then_sequences_follow_message_ids() {
        let (mut a, t0) = acc_at();
        send(&mut a, 6, t0);
        assert!(a.drain(t0, |_| true).is_empty(), "no producer id yet");
        assert_eq!(a.poll_init(t0).map(|r| r.current), Some(None));
        a.on_init(Ok(PID), t0);
        // Until the first batch is acknowledged it is alone in flight.
        let first = drain_all(&mut a, t0);
        assert_eq!(stamps(&first), vec![(42, 0, 0)]);
        for j in first {
            a.on_response(j, vec![result(ErrorCode::NoError, 0)], None, t0);
        }
        let rest = drain_all(&mut a, t0);
        assert_eq!(stamps(&rest), vec![(42, 0, 2), (42, 0, 4)]);
    }

    #[test]
    fn a_duplicate_is_delivered_with_unknown_offset_and_timestamp() {
        let (mut a, t0) = acc_at();
        send(&mut a, 2, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        for j in drain_all(&mut a, t0) {
            a.on_response(
                j,
                vec![result(ErrorCode::DuplicateSequenceNumber, -1)],
                None,
                t0,
            );
        }
        let done = a.take_done();
        assert_eq!(done.len(), 1);
        let Done::Batch(b, outcome) = &done[0] else {
            panic!("a batch report")
        };
        let r = crate::producer::delivery::record_result(outcome, &b.topic, 1, 1234, || None);
        let m = r.expect("delivered");
        assert_eq!((m.offset, m.timestamp), (-1, -1));
        assert_eq!(a.outstanding(), 0);
    }

    #[test]
    fn a_retry_keeps_its_sequence_and_goes_first() {
        let (mut a, t0) = acc_at();
        send(&mut a, 6, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        let first = drain_all(&mut a, t0);
        for j in first {
            a.on_response(j, vec![result(ErrorCode::NoError, 0)], None, t0);
        }
        let mut jobs = drain_all(&mut a, t0);
        assert_eq!(stamps(&jobs), vec![(42, 0, 2), (42, 0, 4)]);
        // seq 2 fails retriably; seq 4 is refused out of order behind it.
        let second = jobs.remove(1);
        let first = jobs.remove(0);
        a.on_response(
            first,
            vec![result(ErrorCode::NotLeaderOrFollower, -1)],
            None,
            t0,
        );
        a.on_response(
            second,
            vec![result(ErrorCode::OutOfOrderSequenceNumber, -1)],
            None,
            t0,
        );
        assert!(a.fatal_error().is_none());
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        // Drain-and-restart: the failed batch goes alone; nothing later
        // is sent before it is acknowledged.
        let again = drain_all(&mut a, t1);
        assert_eq!(stamps(&again), vec![(42, 0, 2)]);
        for j in again {
            a.on_response(j, vec![result(ErrorCode::NoError, 2)], None, t1);
        }
        let rest = drain_all(&mut a, t1);
        assert_eq!(stamps(&rest), vec![(42, 0, 4)]);
    }

    #[test]
    fn after_a_retriable_failure_the_window_drains_then_restarts_one_batch_at_a_time() {
        // Seq 2 fails with a transport error while seq 4 is in flight: seq
        // 4's request may still be written (the trace of issue 13), so
        // nothing is sent until it is back, then seq 2 goes alone, and seq
        // 4 and later only once seq 2 is acknowledged.
        let (mut a, t0, first, second) = two_in_flight();
        a.on_response(
            first,
            vec![Err(Error::new(ErrorCode::Transport, "connection refused"))],
            None,
            t0,
        );
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        assert!(
            drain_all(&mut a, t1).is_empty(),
            "seq 4 is still in flight: the window drains first"
        );
        assert_eq!(a.next_wakeup(t1), Some(t0 + Duration::from_secs(30)));
        a.on_response(
            second,
            vec![Err(Error::new(ErrorCode::Transport, "connection refused"))],
            None,
            t1,
        );
        let t2 = t1 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t2);
        let retry = drain_all(&mut a, t2);
        assert_eq!(stamps(&retry), vec![(42, 0, 2)], "the oldest, alone");
        // It fails again: still alone on the next attempt.
        for j in retry {
            a.on_response(
                j,
                vec![Err(Error::new(ErrorCode::Transport, "refused"))],
                None,
                t2,
            );
        }
        let t3 = t2 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t3);
        let retry = drain_all(&mut a, t3);
        assert_eq!(stamps(&retry), vec![(42, 0, 2)]);
        for j in retry {
            a.on_response(j, vec![result(ErrorCode::NoError, 2)], None, t3);
        }
        // Seq 4 also failed: it too goes alone before the window reopens.
        let next = drain_all(&mut a, t3);
        assert_eq!(stamps(&next), vec![(42, 0, 4)]);
        for j in next {
            a.on_response(j, vec![result(ErrorCode::NoError, 4)], None, t3);
        }
        send(&mut a, 4, t3);
        let reopened = drain_all(&mut a, t3);
        assert_eq!(stamps(&reopened).len(), 2, "pipelining again");
        assert!(a.fatal_error().is_none());
    }

    #[test]
    fn a_retry_written_after_a_later_batch_is_fatal_whatever_order_the_answers_came_in() {
        // Seq 2, 4 and 6 in flight; seq 2's answer is lost; seq 4 is written
        // at offset 2 and seq 6 (whose answer is handled first) at offset
        // 10. A retry of seq 2 written at offset 6 lies after seq 4: the
        // check must compare with every later batch, not only the latest.
        let (mut a, t0) = acc_at();
        send(&mut a, 8, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        for j in drain_all(&mut a, t0) {
            a.on_response(j, vec![result(ErrorCode::NoError, 0)], None, t0);
        }
        let mut jobs = drain_all(&mut a, t0);
        assert_eq!(stamps(&jobs), vec![(42, 0, 2), (42, 0, 4), (42, 0, 6)]);
        let s6 = jobs.remove(2);
        let s4 = jobs.remove(1);
        let s2 = jobs.remove(0);
        let lost = Err(Error::new(ErrorCode::TimedOut, "no answer"));
        a.on_response(s2, vec![lost], None, t0);
        a.on_response(s6, vec![result(ErrorCode::NoError, 10)], None, t0);
        a.on_response(s4, vec![result(ErrorCode::NoError, 2)], None, t0);
        assert!(a.fatal_error().is_none(), "consistent so far");
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        let retry = drain_all(&mut a, t1);
        assert_eq!(stamps(&retry), vec![(42, 0, 2)]);
        for j in retry {
            a.on_response(j, vec![result(ErrorCode::NoError, 6)], None, t1);
        }
        assert_eq!(
            a.fatal_error().map(Error::code),
            Some(ErrorCode::Inconsistent)
        );
    }

    #[test]
    fn unknown_producer_id_at_head_drains_bumps_and_resequences() {
        let (mut a, t0) = acc_at();
        send(&mut a, 4, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        let first = drain_all(&mut a, t0);
        for j in first {
            a.on_response(j, vec![result(ErrorCode::NoError, 0)], None, t0);
        }
        let jobs = drain_all(&mut a, t0);
        assert_eq!(stamps(&jobs), vec![(42, 0, 2)]);
        for j in jobs {
            a.on_response(j, vec![result(ErrorCode::UnknownProducerId, -1)], None, t0);
        }
        let t1 = t0 + Duration::from_secs(1);
        assert!(a.drain(t1, |_| true).is_empty(), "waiting for the bump");
        assert_eq!(a.poll_init(t1).map(|r| r.current), Some(Some(PID)));
        let bumped = ProducerId { id: 42, epoch: 1 };
        a.on_init(Ok(bumped), t1);
        // The first unacknowledged message gets sequence 0 under the new epoch.
        let again = drain_all(&mut a, t1);
        assert_eq!(stamps(&again), vec![(42, 1, 0)]);
        assert!(a.fatal_error().is_none());
    }

    #[test]
    fn out_of_order_at_head_is_fatal_and_purges_the_queue() {
        let (mut a, t0) = acc_at();
        send(&mut a, 4, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        let jobs = drain_all(&mut a, t0);
        for j in jobs {
            a.on_response(
                j,
                vec![result(ErrorCode::OutOfOrderSequenceNumber, -1)],
                None,
                t0,
            );
        }
        let e = a.fatal_error().cloned().expect("fatal");
        assert_eq!(e.code(), ErrorCode::OutOfOrderSequenceNumber);
        assert_eq!(a.take_fatal_event().map(|e| e.code()), Some(e.code()));
        assert!(a.take_fatal_event().is_none(), "reported once");
        assert_eq!(a.outstanding(), 0, "queued records purged");
        let codes: Vec<ErrorCode> = a
            .take_done()
            .iter()
            .map(|d| match d {
                Done::Batch(_, BatchOutcome::Failed { error, .. }) => error.code(),
                _ => ErrorCode::NoError,
            })
            .collect();
        assert_eq!(
            codes,
            vec![ErrorCode::OutOfOrderSequenceNumber, ErrorCode::PurgeQueue]
        );
        let refused = a.enqueue(ProducerRecord::new("t").value("x"), None, t0);
        assert!(refused.is_err_and(|(e, _)| e.error.is_fatal()));
    }

    #[test]
    fn a_queued_timeout_bumps_the_epoch_and_skips_the_expired_records() {
        let (mut a, t0) = acc_at();
        send(&mut a, 2, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        let first = drain_all(&mut a, t0);
        for j in first {
            a.on_response(j, vec![result(ErrorCode::NoError, 0)], None, t0);
        }
        // Two more records time out in the queue (no leader), two more follow.
        a.set_topic("t", Ok(vec![None]), t0);
        send(&mut a, 2, t0);
        let t1 = t0 + Duration::from_secs(31);
        send(&mut a, 2, t1);
        a.expire(t1);
        assert_eq!(a.outstanding(), 2);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        assert!(a.drain(t1, |_| true).is_empty(), "bump first");
        assert_eq!(a.poll_init(t1).map(|r| r.current), Some(Some(PID)));
        a.on_init(Ok(ProducerId { id: 42, epoch: 1 }), t1);
        assert_eq!(stamps(&drain_all(&mut a, t1)), vec![(42, 1, 0)]);
    }

    /// An accumulator with seq 0 acknowledged and seq 2 and 4 in flight.
    fn two_in_flight() -> (Accumulator, Instant, ProduceJob, ProduceJob) {
        let (mut a, t0) = acc_at();
        send(&mut a, 6, t0);
        a.poll_init(t0);
        a.on_init(Ok(PID), t0);
        for j in drain_all(&mut a, t0) {
            a.on_response(j, vec![result(ErrorCode::NoError, 0)], None, t0);
        }
        let mut jobs = drain_all(&mut a, t0);
        assert_eq!(stamps(&jobs), vec![(42, 0, 2), (42, 0, 4)]);
        let second = jobs.remove(1);
        let first = jobs.remove(0);
        (a, t0, first, second)
    }

    #[test]
    fn a_later_batch_accepted_past_a_refused_one_is_fatal_not_reordered() {
        // A broker that checks sequences refuses seq 4 once seq 2 was
        // refused; one that accepts it wrote past a gap, and retrying seq 2
        // would put it after seq 4.
        let (mut a, t0, first, second) = two_in_flight();
        a.on_response(
            first,
            vec![result(ErrorCode::NotEnoughReplicas, -1)],
            None,
            t0,
        );
        assert!(a.fatal_error().is_none());
        a.on_response(second, vec![result(ErrorCode::NoError, 2)], None, t0);
        let e = a.fatal_error().expect("fatal");
        assert_eq!(e.code(), ErrorCode::Inconsistent);
        assert!(e.to_string().contains("base sequence 4"), "{e}");
        // Seq 4 is in the log and reported so; seq 2 is never sent again.
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        assert!(drain_all(&mut a, t1).is_empty());
        let delivered = a
            .take_done()
            .into_iter()
            .filter(|d| matches!(d, Done::Batch(_, BatchOutcome::Delivered { .. })))
            .count();
        assert_eq!(delivered, 2, "seq 0 and seq 4");
    }

    #[test]
    fn a_retry_written_after_a_later_batch_is_fatal() {
        // Seq 2's response is lost (it may be written); seq 4 is accepted at
        // offset 2. The retry of seq 2 must be recognised (a duplicate, or
        // its original offset); a broker that writes it again at offset 4
        // reordered the log.
        let (mut a, t0, first, second) = two_in_flight();
        a.on_response(
            first,
            vec![Err(Error::new(ErrorCode::TimedOut, "no answer"))],
            None,
            t0,
        );
        a.on_response(second, vec![result(ErrorCode::NoError, 2)], None, t0);
        assert!(a.fatal_error().is_none(), "consistent so far");
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        let retry = drain_all(&mut a, t1);
        assert_eq!(stamps(&retry)[0], (42, 0, 2));
        for j in retry {
            let n = j.batches.len();
            a.on_response(j, vec![result(ErrorCode::NoError, 4); n], None, t1);
        }
        assert_eq!(
            a.fatal_error().map(Error::code),
            Some(ErrorCode::Inconsistent)
        );
    }

    #[test]
    fn a_later_batch_acknowledged_below_an_earlier_retry_is_fatal() {
        // Both answers are lost. The broker had written seq 4 at offset 2
        // but not seq 2; its retry is written at offset 4, after seq 4, and
        // answered first. Seq 4's retry is then recognised at its original
        // offset 2: the log holds seq 4 before seq 2, whichever answer came
        // first.
        let (mut a, t0, first, second) = two_in_flight();
        for j in [first, second] {
            a.on_response(
                j,
                vec![Err(Error::new(ErrorCode::TimedOut, "no answer"))],
                None,
                t0,
            );
        }
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        let mut answered = Vec::new();
        for _ in 0..4 {
            for j in drain_all(&mut a, t1) {
                let s = stamps(std::slice::from_ref(&j));
                answered.extend(s.iter().copied());
                let at: Vec<_> = s
                    .iter()
                    .map(|&(_, _, seq)| result(ErrorCode::NoError, if seq == 2 { 4 } else { 2 }))
                    .collect();
                a.on_response(j, at, None, t1);
            }
        }
        assert_eq!(answered, vec![(42, 0, 2), (42, 0, 4)], "retried in order");
        let e = a.fatal_error().expect("fatal");
        assert_eq!(e.code(), ErrorCode::Inconsistent);
        assert!(e.to_string().contains("base sequence 4"), "{e}");
    }

    #[test]
    fn a_retry_answered_with_its_original_offset_is_fine() {
        let (mut a, t0, first, second) = two_in_flight();
        a.on_response(
            first,
            vec![Err(Error::new(ErrorCode::TimedOut, "no answer"))],
            None,
            t0,
        );
        a.on_response(second, vec![result(ErrorCode::NoError, 2)], None, t0);
        let t1 = t0 + Duration::from_secs(1);
        a.set_topic("t", Ok(vec![Some(1)]), t1);
        let retry = drain_all(&mut a, t1);
        for j in retry {
            let n = j.batches.len();
            a.on_response(j, vec![result(ErrorCode::NoError, 0); n], None, t1);
        }
        assert!(a.fatal_error().is_none());
    }
}
