//! The fetch state of every assigned partition, as a state machine without
//! I/O.
//!
//! It is fed events (assign, seek, pause, an offset lookup answered, a fetch
//! answered or failed, the application taking a message) together with
//! `now`, and hands out work ([`FetchState::poll`]: fetches grouped per
//! broker, offset lookups, committed-offset lookups, metadata refreshes) and
//! when to be woken ([`FetchState::next_wakeup`]). Owns: start-offset
//! resolution, fetch positions, the prefetch queue and its bounds
//! (`queued.min.messages`, `queued.max.messages.kbytes`), error handling as
//! librdkafka does it (auto.offset.reset, leader changes, backoff, one-time
//! authorization errors, end-of-partition events), the preferred read
//! replica (KIP-392), cached watermarks, the application position and the
//! offset store. Sending requests and decoding records is the driver's.
//!
//! Every change of a partition's position bumps its *version*; answers to
//! requests made for an older version are dropped, so a seek or a leader
//! change never lets stale records through.
//!
//! The state is split by concern: this file holds the shared types, the
//! work handed out ([`FetchState::poll`]) and the handling of fetch answers
//! and partition errors; [`partition`] holds one partition's state and the
//! events that move it (assign, seek, pause, hold); [`queue`] the prefetch
//! queue and the application position; [`offsets`] start-offset resolution,
//! position validation and the offset store.

mod offsets;
mod partition;
mod queue;
mod statistics;
mod table;

use crate::TopicPartition;
use partition::Phase;
use queue::Queued;

use super::decode::{footprint, Decoded};
use super::message::{ConsumerError, Message, Offset};
use crate::error::{Error, ErrorCode};
use std::collections::VecDeque;
use std::hash::Hasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The hasher of the partition table. Its keys are (topic, partition)
/// pairs named by the application and the cluster, and it is looked up once
/// per consumed message, so a multiply-rotate word hash replaces SipHash,
/// whose resistance to chosen keys buys nothing here and costs a few
/// percent of the consuming thread.
#[derive(Default, Clone, Copy)]
pub(crate) struct TpHasher(u64);

impl TpHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for TpHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_i32(&mut self, i: i32) {
        self.add(u64::from(i as u32));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

use table::PartTable;

/// A partition's leader broker and leader epoch, when known.
pub(crate) type Leader = Option<(i32, Option<i32>)>;

/// An offset with the leader epoch of the record before it, when known.
pub(crate) type EpochOffset = (i64, Option<i32>);

/// A partition's offset to commit, with its leader epoch.
pub(crate) type CommitEntry = (TopicPartition, i64, Option<i32>);

/// `auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reset {
    Earliest,
    Latest,
    Error,
}

/// Settings of the fetch state machine.
#[derive(Debug, Clone)]
pub(crate) struct FetchSettings {
    pub queued_min_messages: usize,
    pub queued_max_bytes: usize,
    pub error_backoff: Duration,
    /// `fetch.queue.backoff.ms`: how long a partition found over its queue
    /// bounds is not fetched (cut short when the application empties the
    /// whole queue); zero fetches again as soon as it is under them.
    pub queue_backoff: Duration,
    pub partition_max_bytes: i32,
    /// Largest per-partition fetch size it may grow to.
    pub partition_max_bytes_cap: i32,
    pub reset: Reset,
    pub enable_eof: bool,
    pub auto_store: bool,
    pub read_committed: bool,
    /// How long a preferred read replica is used before asking the leader
    /// again (`metadata.max.age.ms` in librdkafka).
    pub replica_ttl: Duration,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            queued_min_messages: 100_000,
            queued_max_bytes: 65_536 * 1024,
            error_backoff: Duration::from_millis(500),
            queue_backoff: Duration::from_millis(1000),
            partition_max_bytes: 1_048_576,
            partition_max_bytes_cap: 100_000_000,
            reset: Reset::Latest,
            enable_eof: false,
            auto_store: true,
            read_committed: true,
            replica_ttl: Duration::from_secs(300),
        }
    }
}

/// What an offset lookup asks the partition leader (ListOffsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffsetQuery {
    /// A ListOffsets timestamp: -2 earliest, -1 latest, or milliseconds.
    Time(i64),
    /// `n` before the end, not before the start.
    Tail(i64),
}

/// One partition in a fetch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchPart {
    /// The broker the request goes to.
    pub broker: i32,
    pub tp: TopicPartition,
    pub version: u64,
    pub offset: i64,
    pub epoch: Option<i32>,
    /// Leader epoch of the last record fetched (KIP-320 divergence check).
    pub last_epoch: Option<i32>,
    pub max_bytes: i32,
    /// Bytes of decoded messages this partition may add to the queue.
    pub budget: usize,
}

/// Work for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send one Fetch request to `broker` with these partitions.
    Fetch { broker: i32, parts: Vec<FetchPart> },
    /// Look up a start offset at the partition leader.
    ListOffsets {
        broker: i32,
        tp: TopicPartition,
        version: u64,
        query: OffsetQuery,
        epoch: Option<i32>,
    },
    /// Fetch the committed offset (group coordinator).
    Committed { tp: TopicPartition, version: u64 },
    /// Ask the new leader where `last_epoch` ends (OffsetForLeaderEpoch,
    /// KIP-320) to detect a log truncated under the fetch position.
    ValidateEpoch {
        broker: i32,
        tp: TopicPartition,
        version: u64,
        current_epoch: Option<i32>,
        last_epoch: i32,
    },
    /// Refresh the metadata of a topic (leader unknown or changed).
    Metadata { topic: Arc<str> },
}

/// One partition's answer in a fetch response.
#[derive(Debug)]
pub(crate) enum FetchResult {
    Data {
        decoded: Decoded,
        high: i64,
        lso: i64,
        low: i64,
        preferred_replica: Option<i32>,
        /// The broker's diverging epoch (Fetch v12+): `(epoch, end_offset)`.
        diverging: Option<(i32, i64)>,
    },
    Error(ErrorCode),
}

/// What the application receives.
pub(crate) type Item = Result<Message, ConsumerError>;

/// The fetch state of every assigned partition.
#[derive(Debug)]
pub(crate) struct FetchState {
    settings: FetchSettings,
    parts: PartTable,
    queue: VecDeque<Queued>,
    queued_bytes: usize,
    next_version: u64,
    refresh: Vec<Arc<str>>,
    /// A pop took a queue below one of its bounds: fetching may resume.
    unblocked: bool,
    /// Brokers with a fetch in flight: one at a time per broker, so that
    /// partitions becoming ready meanwhile join the next request together.
    busy: Vec<i32>,
    /// Statistics: records and bytes received over the consumer's life.
    rx_total: (u64, u64),
}

impl FetchState {
    pub(crate) fn new(settings: FetchSettings) -> Self {
        FetchState {
            settings,
            parts: PartTable::default(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            next_version: 1,
            refresh: Vec::new(),
            unblocked: false,
            busy: Vec::new(),
            rx_total: (0, 0),
        }
    }

    fn bump(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }

    /// Assigned partitions.
    pub(crate) fn assignment(&self) -> Vec<TopicPartition> {
        let mut v: Vec<TopicPartition> = self.parts.keys().cloned().collect();
        v.sort();
        v
    }

    pub(crate) fn is_assigned(&self, tp: &TopicPartition) -> bool {
        self.parts.contains_key(tp)
    }

    /// The cluster says `topic` does not exist: each assigned partition of
    /// it reports `err` to the application once (until it fetches again
    /// or is reassigned), instead of waiting silently for a leader.
    pub(crate) fn topic_missing(&mut self, topic: &str, err: &Error) {
        let tps: Vec<TopicPartition> = self
            .parts
            .iter_mut()
            .filter(|(tp, p)| tp.topic() == topic && p.reported != Some((err.code(), -1)))
            .map(|(tp, p)| {
                p.reported = Some((err.code(), -1));
                tp.clone()
            })
            .collect();
        for tp in tps {
            self.report(&tp, err.code(), err.message().to_string(), None);
        }
    }

    /// Hands out work: fetches for partitions whose queue is below its
    /// bounds, grouped per broker; lookups of start offsets. `leader` gives
    /// the cached leader and epoch of a partition.
    pub(crate) fn poll(
        &mut self,
        now: Instant,
        leader: &mut dyn FnMut(&str, i32) -> Leader,
    ) -> Vec<Action> {
        let mut out: Vec<Action> = self
            .refresh
            .drain(..)
            .map(|topic| Action::Metadata { topic })
            .collect();
        let mut fetches: Vec<(i32, Vec<FetchPart>)> = Vec::new();
        // Brokers with a partition that will soon be fetchable: held back
        // by the queue's bounds, or its position being looked up.
        let mut held: Vec<i32> = Vec::new();
        let full = self.queued_bytes >= self.settings.queued_max_bytes;
        let mut tps: Vec<&TopicPartition> = self.parts.keys().collect();
        tps.sort();
        let tps: Vec<TopicPartition> = tps.into_iter().cloned().collect();
        for tp in tps {
            let p = self.parts.get_mut(&tp).expect("key from map");
            if p.in_flight || p.paused || p.held || p.backoff_until.is_some_and(|t| t > now) {
                // A position lookup at the leader (not a committed-offset
                // one: the group coordinator may take seconds while it
                // loads) makes the partition fetchable in a round trip.
                let looked_up = match p.phase {
                    Phase::Resolving(spec) => spec != Offset::Stored,
                    Phase::Validating => true,
                    _ => false,
                };
                if p.in_flight && looked_up {
                    held.extend(leader(tp.topic(), tp.partition()).map(|(b, _)| b));
                }
                continue;
            }
            p.backoff_until = None;
            let lead = leader(tp.topic(), tp.partition());
            if let Some((_, e)) = lead {
                if e.is_some() {
                    if p.epoch.is_some()
                        && e > p.epoch
                        && p.last_epoch.is_some()
                        && p.phase == Phase::Fetching
                    {
                        p.phase = Phase::Validate;
                    }
                    p.epoch = e;
                }
            }
            match p.phase {
                Phase::Resolve(Offset::Stored) => {
                    p.phase = Phase::Resolving(Offset::Stored);
                    p.in_flight = true;
                    out.push(Action::Committed {
                        tp: tp.clone(),
                        version: p.version,
                    });
                }
                Phase::Resolve(spec) => {
                    let Some((broker, _)) = lead else { continue };
                    let query = match spec {
                        Offset::Beginning => OffsetQuery::Time(-2),
                        Offset::OffsetTail(n) => OffsetQuery::Tail(n),
                        Offset::Timestamp(t) => OffsetQuery::Time(t),
                        _ => OffsetQuery::Time(-1),
                    };
                    p.phase = Phase::Resolving(spec);
                    p.in_flight = true;
                    held.push(broker);
                    out.push(Action::ListOffsets {
                        broker,
                        tp: tp.clone(),
                        version: p.version,
                        query,
                        epoch: p.epoch,
                    });
                }
                Phase::Fetching => {
                    // librdkafka's queue backoff, with hysteresis instead of
                    // a plain timer: the pause also ends once the queue that
                    // stopped the partition is down to half its bound (or
                    // empty). librdkafka needs the timer because it polls its
                    // queues; here a pop that crosses a bound wakes the
                    // fetcher, and waiting on past that point only starves
                    // the application (a third of the throughput of an lz4
                    // topic in `perf consume`).
                    let still_high = p.queued_msgs.saturating_mul(2)
                        >= self.settings.queued_min_messages
                        || self.queued_bytes.saturating_mul(2) >= self.settings.queued_max_bytes;
                    let read_from = match p.preferred {
                        Some((b, until)) if until > now => Some(b),
                        _ => lead.map(|(l, _)| l),
                    };
                    if p.queue_backoff_until.is_some_and(|t| t > now)
                        && still_high
                        && !self.queue.is_empty()
                    {
                        held.extend(read_from);
                        continue;
                    }
                    p.queue_backoff_until = None;
                    if full || p.queued_msgs >= self.settings.queued_min_messages {
                        let pause = self.settings.queue_backoff;
                        if !pause.is_zero() {
                            p.queue_backoff_until = Some(now + pause);
                        }
                        held.extend(read_from);
                        continue;
                    }
                    // A fetch needs the leader known, even from a follower.
                    let Some(broker) = read_from.filter(|_| lead.is_some()) else {
                        continue;
                    };
                    if p.preferred.is_some_and(|(_, until)| until <= now) {
                        p.preferred = None;
                    }
                    if self.busy.contains(&broker) {
                        continue;
                    }
                    p.in_flight = true;
                    let part = FetchPart {
                        broker,
                        tp: tp.clone(),
                        version: p.version,
                        offset: p.fetch_pos,
                        epoch: p.epoch,
                        last_epoch: p.last_epoch,
                        max_bytes: p.max_bytes,
                        budget: 0,
                    };
                    match fetches.iter_mut().find(|(b, _)| *b == broker) {
                        Some((_, v)) => v.push(part),
                        None => fetches.push((broker, vec![part])),
                    }
                }
                Phase::Validate => {
                    let (Some((broker, _)), Some(last_epoch)) = (lead, p.last_epoch) else {
                        continue;
                    };
                    p.phase = Phase::Validating;
                    p.in_flight = true;
                    held.push(broker);
                    out.push(Action::ValidateEpoch {
                        broker,
                        tp: tp.clone(),
                        version: p.version,
                        current_epoch: p.epoch,
                        last_epoch,
                    });
                }
                Phase::Resolving(_) | Phase::Validating | Phase::Stopped => {}
            }
        }
        // A fetch of only caught-up partitions waits at the broker for new
        // records (`fetch.wait.max.ms`), and while it waits nothing else can
        // be fetched from that broker (one Fetch per broker). When another
        // of the broker's partitions is about to be fetchable, that wait
        // would keep it from fetching for half a second with its records on
        // the broker: a partition held back by the queue's bounds once the
        // application made room (at the end of a backlog), one whose start
        // offset is being looked up (an empty partition resolved first at
        // assignment). Such a fetch is not sent; the pop that makes room, or
        // the lookup's answer, sends it together with the other partition.
        // A partition never fetched since its position was set counts as
        // caught up (its end is unknown). New records of the caught-up
        // partitions would queue behind the held partition's backlog
        // anyway; a lookup takes one round trip.
        if !held.is_empty() {
            let parts = &mut self.parts;
            fetches.retain(|(broker, fs)| {
                let idle = held.contains(broker)
                    && fs.iter().all(|f| {
                        parts
                            .get(&f.tp)
                            .is_some_and(|p| p.high < 0 || f.offset >= p.high)
                    });
                if idle {
                    for f in fs {
                        if let Some(p) = parts.get_mut(&f.tp) {
                            p.in_flight = false;
                        }
                    }
                }
                !idle
            });
        }
        // The queue's room, shared by the partitions of each request.
        let room = self
            .settings
            .queued_max_bytes
            .saturating_sub(self.queued_bytes);
        for (_, parts) in &mut fetches {
            let share = (room / parts.len().max(1)).max(1);
            for part in parts.iter_mut() {
                part.budget = share;
            }
        }
        self.busy.extend(fetches.iter().map(|(b, _)| *b));
        out.extend(
            fetches
                .into_iter()
                .map(|(broker, parts)| Action::Fetch { broker, parts }),
        );
        out
    }

    /// When a backoff ends (the driver also wakes on every event).
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        self.parts
            .values()
            .filter(|p| !p.in_flight)
            .flat_map(|p| [p.backoff_until, p.queue_backoff_until])
            .flatten()
            .min()
    }

    fn backoff(&mut self, tp: &TopicPartition, now: Instant) {
        let b = self.settings.error_backoff;
        if let Some(p) = self.parts.get_mut(tp) {
            p.backoff_until = Some(now + b);
        }
    }

    /// A fetch request failed as a whole (connection, timeout): every
    /// partition in it backs off and its leader is looked up again.
    pub(crate) fn on_fetch_failed(&mut self, parts: &[FetchPart], now: Instant) {
        self.busy.retain(|b| !parts.iter().any(|p| p.broker == *b));
        for FetchPart { tp, .. } in parts {
            if let Some(p) = self.parts.get_mut(tp) {
                p.in_flight = false;
                p.preferred = None;
                self.refresh.push(tp.topic_arc().clone());
                self.backoff(tp, now);
            }
        }
        self.refresh.dedup();
    }

    /// A fetch answered as a whole (tests): every partition's result,
    /// then the end of the request.
    #[cfg(test)]
    pub(crate) fn on_fetch(
        &mut self,
        results: Vec<(FetchPart, FetchResult)>,
        now: Instant,
    ) -> bool {
        let mut queued = false;
        let brokers: Vec<i32> = results.iter().map(|(p, _)| p.broker).collect();
        for (req, result) in results {
            queued |= self.on_fetched(req, result, now);
        }
        for b in brokers {
            self.on_fetch_done(b);
        }
        queued
    }

    /// The request to `broker` ended after every partition's result was
    /// handed over with [`on_fetched`](Self::on_fetched): the broker can
    /// be fetched from again.
    pub(crate) fn on_fetch_done(&mut self, broker: i32) {
        self.busy.retain(|b| *b != broker);
        self.refresh.dedup();
    }

    /// One partition of a fetch answered, handed over as soon as it is
    /// decoded, so the application reads it while the request's other
    /// partitions are decoded. A partition missing from the response is
    /// passed as an error by the request. Returns whether messages or
    /// events were queued.
    pub(crate) fn on_fetched(&mut self, req: FetchPart, result: FetchResult, now: Instant) -> bool {
        let before = self.queue.len();
        'part: {
            let tp = req.tp.clone();
            let Some(slot) = self.parts.slot(&tp) else {
                break 'part;
            };
            let Some(p) = self.parts.by_slot_mut(slot) else {
                break 'part;
            };
            p.in_flight = false;
            if p.version != req.version || p.phase != Phase::Fetching || p.fetch_pos != req.offset {
                break 'part;
            }
            match result {
                FetchResult::Data {
                    decoded,
                    high,
                    lso,
                    low,
                    preferred_replica,
                    diverging,
                } => {
                    if let Some((epoch, end)) = diverging {
                        self.truncated(&tp, epoch, end);
                        break 'part;
                    }
                    if high >= 0 {
                        p.high = high;
                    }
                    if lso >= 0 {
                        p.lso = lso;
                    }
                    if low >= 0 {
                        p.low = low;
                    }
                    if let Some(r) = preferred_replica {
                        p.preferred = Some((r, now + self.settings.replica_ttl));
                    }
                    p.reported = None;
                    let n = decoded.messages.len();
                    if let Some(e) = decoded.messages.last().and_then(|m| m.leader_epoch) {
                        p.last_epoch = Some(e);
                    }
                    let bytes = decoded.bytes;
                    if n > 0 {
                        self.queue.push_back(Queued::Messages {
                            slot,
                            version: req.version,
                            msgs: decoded.messages.into_iter(),
                        });
                    }
                    p.queued_msgs += n;
                    p.queued_bytes += bytes;
                    p.rxmsgs += n as u64;
                    p.rxbytes += bytes as u64;
                    self.rx_total.0 += n as u64;
                    self.rx_total.1 += bytes as u64;
                    self.queued_bytes += bytes;
                    if let Some(next) = decoded.next_offset {
                        if next > p.fetch_pos {
                            p.fetch_pos = next;
                        }
                    }
                    if decoded.too_small {
                        let grown = p
                            .max_bytes
                            .saturating_mul(2)
                            .min(self.settings.partition_max_bytes_cap);
                        if grown == p.max_bytes {
                            p.phase = Phase::Stopped;
                            let text = format!(
                                "a record batch at offset {} is larger than the largest fetch size ({} bytes): raise receive.message.max.bytes",
                                req.offset, p.max_bytes
                            );
                            let pos = req.offset;
                            self.report(&tp, ErrorCode::MsgSizeTooLarge, text, Some(pos));
                            break 'part;
                        }
                        p.max_bytes = grown;
                    } else if n > 0 && p.max_bytes != self.settings.partition_max_bytes {
                        p.max_bytes = self.settings.partition_max_bytes;
                    }
                    if let Some(e) = decoded.error {
                        let pos = p.fetch_pos;
                        if p.reported != Some((e.code(), pos)) {
                            p.reported = Some((e.code(), pos));
                            let text = format!("cannot decode records at offset {pos}: {e}");
                            self.report(&tp, e.code(), text, Some(pos));
                        }
                        self.backoff(&tp, now);
                        break 'part;
                    }
                    let p = self.parts.by_slot_mut(slot).expect("present");
                    let end = if self.settings.read_committed && p.lso >= 0 {
                        p.lso
                    } else {
                        p.high
                    };
                    // The end is reported once the position reaches it,
                    // after the records that brought it there: waiting for
                    // an empty answer would cost a long poll
                    // (`fetch.wait.max.ms`) at the end of every partition.
                    if n > 0 {
                        p.eof_reported_at = None;
                    }
                    if self.settings.enable_eof
                        && end >= 0
                        && p.fetch_pos >= end
                        && p.eof_reported_at != Some(p.fetch_pos)
                    {
                        p.eof_reported_at = Some(p.fetch_pos);
                        let pos = p.fetch_pos;
                        let text = format!("reached the end of the partition at offset {pos}");
                        self.report(&tp, ErrorCode::PartitionEof, text, Some(pos));
                    }
                }
                FetchResult::Error(code) => self.on_partition_error(&tp, code, now),
            }
        }
        self.queue.len() != before
    }

    fn on_partition_error(&mut self, tp: &TopicPartition, code: ErrorCode, now: Instant) {
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        let pos = p.fetch_pos;
        match code {
            ErrorCode::OffsetOutOfRange => {
                if p.preferred.take().is_some() {
                    // A follower may lag: ask the leader before resetting.
                    return;
                }
                self.reset(tp, &format!("fetch offset {pos} is out of range"));
            }
            c if is_leader_error(c) => {
                p.preferred = None;
                self.refresh.push(tp.topic_arc().clone());
                self.backoff(tp, now);
            }
            ErrorCode::TopicAuthorizationFailed => {
                let first = p.reported.map(|r| r.0) != Some(code);
                p.reported = Some((code, pos));
                if first {
                    self.report(
                        tp,
                        code,
                        "not authorized to fetch this topic".into(),
                        Some(pos),
                    );
                }
                // Longer than the usual backoff: permissions change slowly.
                let b = self.settings.error_backoff * 10;
                if let Some(p) = self.parts.get_mut(tp) {
                    p.backoff_until = Some(now + b);
                }
            }
            c => {
                if p.reported != Some((c, pos)) {
                    p.reported = Some((c, pos));
                    self.report(tp, c, format!("fetch failed at offset {pos}"), Some(pos));
                }
                self.backoff(tp, now);
            }
        }
    }
}

/// Errors after which the partition's leader must be looked up again.
pub(crate) fn is_leader_error(c: ErrorCode) -> bool {
    matches!(
        c,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::ReplicaNotAvailable
            | ErrorCode::KafkaStorageError
            | ErrorCode::OffsetNotAvailable
            | ErrorCode::NotCoordinator
    )
}

#[cfg(test)]
mod testing {
    use super::*;
    pub(super) use crate::consumer::message::Timestamp;
    pub(super) use crate::record::Record;
    pub(super) use bytes::Bytes;
    pub(super) use std::collections::HashMap;

    pub(super) fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    pub(super) fn msg(p: i32, offset: i64, len: usize) -> Message {
        Message {
            topic: Arc::from("t"),
            partition: p,
            offset,
            timestamp: Timestamp::CreateTime(offset),
            broker: 1,
            record: Record::new(
                offset,
                offset,
                Bytes::from(vec![b'x'; len]),
                None,
                Some(0..len),
                len..len,
                0,
            )
            .fields,
            leader_epoch: Some(0),
        }
    }

    pub(super) fn data(p: i32, from: i64, n: i64, high: i64) -> FetchResult {
        let messages: Vec<Message> = (from..from + n).map(|o| msg(p, o, 100)).collect();
        FetchResult::Data {
            decoded: Decoded {
                bytes: messages.iter().map(footprint).sum(),
                messages,
                next_offset: (n > 0).then_some(from + n),
                too_small: false,
                error: None,
            },
            high,
            lso: high,
            low: 0,
            preferred_replica: None,
            diverging: None,
        }
    }

    pub(super) struct Leaders(pub(super) HashMap<i32, i32>);
    impl Leaders {
        pub(super) fn f(&self) -> impl FnMut(&str, i32) -> Option<(i32, Option<i32>)> + '_ {
            move |_, p| self.0.get(&p).map(|b| (*b, Some(5)))
        }
    }

    pub(super) fn fetch_parts(actions: &[Action]) -> Vec<(i32, Vec<FetchPart>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Fetch { broker, parts } => Some((*broker, parts.clone())),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn one_fetch_per_broker_carries_all_its_partitions() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        for p in 0..4 {
            st.assign(tp(p), Offset::Offset(10 * i64::from(p)));
        }
        let leaders = Leaders(HashMap::from([(0, 1), (1, 2), (2, 1), (3, 2)]));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(f.len(), 2);
        let b1 = &f.iter().find(|x| x.0 == 1).unwrap().1;
        assert_eq!(
            b1.iter()
                .map(|x| (x.tp.partition(), x.offset))
                .collect::<Vec<_>>(),
            vec![(0, 0), (2, 20)]
        );
        assert_eq!(b1[0].epoch, Some(5));
        // Nothing more while those are in flight.
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
    }

    #[test]
    fn partitions_ready_while_a_broker_is_busy_join_its_next_request() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        let leaders = Leaders(HashMap::from([(0, 1), (1, 1)]));
        st.assign(tp(0), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(f[0].1.len(), 1);
        st.assign(tp(1), Offset::Offset(0));
        assert!(
            fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty(),
            "broker 1 is busy"
        );
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 2, 2))], t0);
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].1.iter().map(|p| p.tp.partition()).collect::<Vec<_>>(),
            vec![0, 1]
        );
    }

    #[test]
    fn a_partition_is_readable_as_soon_as_it_is_handed_over_and_its_broker_is_free_at_the_end() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        let leaders = Leaders(HashMap::from([(0, 1), (1, 1)]));
        st.assign(tp(0), Offset::Offset(0));
        st.assign(tp(1), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        let parts = f[0].1.clone();
        assert_eq!(parts.len(), 2);
        assert!(st.on_fetched(parts[0].clone(), data(0, 0, 3, 10), t0));
        // Partition 0's records are read while partition 1 is decoded.
        let first = st.pop().map(|i| {
            i.map(|m| (m.partition, m.offset))
                .is_ok_and(|x| x == (0, 0))
        });
        assert_eq!(first, Some(true));
        // The request has not ended: no second Fetch to broker 1 yet.
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
        assert!(st.on_fetched(parts[1].clone(), data(1, 0, 2, 10), t0));
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
        st.on_fetch_done(1);
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(
            f[0].1
                .iter()
                .map(|p| (p.tp.partition(), p.offset))
                .collect::<Vec<_>>(),
            vec![(0, 3), (1, 2)]
        );
    }

    #[test]
    fn the_end_is_reported_after_the_records_that_reach_it_without_an_empty_answer() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings {
            enable_eof: true,
            ..FetchSettings::default()
        });
        st.assign(tp(0), Offset::Offset(0));
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let items = |st: &mut FetchState| {
            let mut out = Vec::new();
            while let Some(i) = st.pop() {
                out.push(i.map(|m| m.offset).map_err(|e| (e.is_eof(), e.offset())));
            }
            out
        };
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 3, 5))], t0);
        assert_eq!(
            items(&mut st),
            vec![Ok(0), Ok(1), Ok(2)],
            "not at the end yet"
        );
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 3, 2, 5))], t0);
        assert_eq!(items(&mut st), vec![Ok(3), Ok(4), Err((true, Some(5)))]);
    }

    #[test]
    fn records_flow_and_positions_advance_and_eof_is_reported_once() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings {
            enable_eof: true,
            ..FetchSettings::default()
        });
        st.assign(tp(0), Offset::Offset(0));
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert!(st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 3, 3))], t0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(
            f[0].1[0].offset, 3,
            "next fetch continues after the last batch"
        );
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 3, 0, 3))], t0);
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 3, 0, 3))], t0);
        let mut offsets = Vec::new();
        let mut eofs = 0;
        while let Some(i) = st.pop() {
            match i {
                Ok(m) => offsets.push(m.offset),
                Err(e) => {
                    assert!(e.is_eof());
                    assert_eq!(e.offset(), Some(3));
                    eofs += 1;
                }
            }
        }
        assert_eq!(offsets, vec![0, 1, 2]);
        assert_eq!(eofs, 1);
        assert_eq!(st.position(&tp(0)), Some(3));
        assert_eq!(st.watermarks(&tp(0)), Some((0, 3)));
        assert_eq!(st.uncommitted(), vec![(tp(0), 3, Some(0))]);
    }

    #[test]
    fn leader_change_refreshes_and_resumes_at_the_same_offset_after_backoff() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        st.assign(tp(0), Offset::Offset(8));
        let mut leaders = Leaders(HashMap::from([(0, 1)]));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(
            vec![(
                f[0].1[0].clone(),
                FetchResult::Error(ErrorCode::NotLeaderOrFollower),
            )],
            t0,
        );
        let acts = st.poll(t0, &mut leaders.f());
        assert!(acts.contains(&Action::Metadata {
            topic: Arc::from("t")
        }));
        assert!(fetch_parts(&acts).is_empty(), "backing off");
        let wake = st.next_wakeup().unwrap();
        assert_eq!(wake, t0 + Duration::from_millis(500));
        leaders.0.insert(0, 2);
        let f = fetch_parts(&st.poll(wake, &mut leaders.f()));
        assert_eq!((f[0].0, f[0].1[0].offset), (2, 8));
    }

    #[test]
    fn authorization_failure_is_reported_once() {
        let mut now = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        st.assign(tp(0), Offset::Offset(0));
        let leaders = Leaders(HashMap::from([(0, 1)]));
        for _ in 0..3 {
            let f = fetch_parts(&st.poll(now, &mut leaders.f()));
            assert_eq!(f.len(), 1);
            st.on_fetch(
                vec![(
                    f[0].1[0].clone(),
                    FetchResult::Error(ErrorCode::TopicAuthorizationFailed),
                )],
                now,
            );
            now = st.next_wakeup().unwrap();
        }
        let mut n = 0;
        while let Some(Err(e)) = st.pop() {
            assert_eq!(e.code(), ErrorCode::TopicAuthorizationFailed);
            n += 1;
        }
        assert_eq!(n, 1);
    }
}
