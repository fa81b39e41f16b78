//! The consumer: assigned partitions fetched into bounded prefetch queues,
//! start offsets, seek/pause/resume, watermarks, offsets by time, the
//! offset store and commits.
//!
//! Owns the public [`Consumer`] API, [`Message`], [`Offset`] and
//! [`ConsumerError`]. Inside: the per-partition fetch state machine
//! (`state`, no I/O), one driver task that turns its work into requests —
//! one Fetch per broker carrying every fetchable partition that broker
//! serves — and feeds the answers back (`driver`), record filtering
//! (`decode`) and the wire requests (`requests`). Routing and connections
//! are `cluster`'s and `net`'s; batch parsing is `record`'s.
//!
//! Group membership (subscribe, rebalances) builds on this: it decides the
//! assignment and calls [`Consumer::assign`] /
//! [`Consumer::incremental_assign`], and sets the generation and member id
//! commits are made under (`Consumer::set_group_identity`). Without it, a
//! consumer with `group.id` commits as a "simple" consumer (generation -1).
//!
//! ```no_run
//! use ferrokafka::consumer::{Consumer, Offset};
//! use ferrokafka::ClientConfig;
//! # async fn f() -> ferrokafka::Result<()> {
//! let consumer = Consumer::new(&ClientConfig::new().set("bootstrap.servers", "localhost:9092"))?;
//! consumer.assign(&[("events", 0, Offset::Beginning)])?;
//! while let Ok(m) = consumer.recv().await {
//!     println!("{} [{}] @{}: {:?}", m.topic, m.partition, m.offset, m.value());
//! }
//! # Ok(()) }
//! ```
//!
//! Leader epochs (KIP-320) go with every fetch; a new leader epoch makes
//! the position be validated with OffsetForLeaderEpoch (and a diverging
//! epoch in a fetch answer is handled the same way): after a truncated
//! log, fetching resumes where the logs agree, or, with
//! `auto.offset.reset=error`, a `LogTruncation` error goes to the
//! application.
//!
//! Fetches run in fetch sessions (KIP-227) where the broker has them
//! (Fetch v7+): after a full fetch opens the session, each request carries
//! only the partitions whose position changed and those to forget; any
//! session error or lost connection falls back to a full fetch.

mod decode;
mod driver;
mod fetch;
pub(crate) mod group;
mod group_metadata;
mod message;
mod requests;
mod statistics;
mod stream;

pub use group::CommittedOffset;
pub use group_metadata::ConsumerGroupMetadata;
pub use message::{ConsumerError, Message, Offset, Rebalance, Timestamp};
pub use stream::MessageStream;

use crate::cluster::{Cluster, ClusterSettings};
use crate::config::{ClientConfig, ClientRole, Config};
use crate::error::{Error, ErrorCode, Result};
use crate::net::ClientRuntime;
use crate::TopicPartition;
use fetch::{CommitEntry, FetchSettings, FetchState, Reset};
use requests::{GroupIdentity, WireSettings};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// State shared by the consumer handle and its driver task.
pub(crate) struct Shared {
    state: Mutex<FetchState>,
    /// Wakes the application when items are queued.
    data: Notify,
    /// Wakes the driver after the application changed something.
    wake: Arc<Notify>,
    cluster: Cluster,
    wire: WireSettings,
    group: Mutex<Option<GroupIdentity>>,
    auto_commit: Option<Duration>,
    timeout: Duration,
    /// Group membership (subscribe); inert without `group.id`.
    members: group::task::GroupShared,
    /// Statistics: instance name and the periodic emission.
    stats: StatsIdentity,
}

/// Who the consumer is in its statistics, and where they go.
struct StatsIdentity {
    name: String,
    client_id: String,
    created: std::time::Instant,
    emitter: Arc<crate::stats::Emitter>,
    /// The group state the statistics last saw, and since when.
    group_state_seen: Mutex<Option<(&'static str, tokio::time::Instant)>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn group(&self) -> Option<GroupIdentity> {
        self.group.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_identity(&self, generation: i32, member_id: &str) {
        if let Some(g) = self
            .group
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            g.generation = generation;
            g.member_id = member_id.to_string();
        }
    }
}

/// A consumer of explicitly assigned partitions (librdkafka's consumer with
/// `assign()`), usable from async code (`recv`, a [`Stream`]) and from
/// blocking code ([`Consumer::poll`]).
///
/// Dropping it stops fetching at once; call [`Consumer::close`] first to
/// commit stored offsets when `enable.auto.commit` is on.
///
/// [`Stream`]: futures_core::Stream
pub struct Consumer {
    shared: Arc<Shared>,
    rt: ClientRuntime,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("assignment", &self.shared.lock().assignment())
            .finish()
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        // The driver holds a weak reference; wake it so it sees it is gone.
        self.shared.wake.notify_one();
        self.shared.members.wake.notify_one();
    }
}

/// Everything a consumer takes from its configuration, read in one place
/// ([`all_settings`]).
#[derive(Debug)]
pub(crate) struct ConsumerSettings {
    fetch: FetchSettings,
    wire: WireSettings,
    cluster: ClusterSettings,
    group_config: Option<group::task::GroupConfig>,
    group: Option<GroupIdentity>,
    auto_commit: Option<Duration>,
    timeout: Duration,
    /// `statistics.interval.ms`.
    stats_interval: Duration,
}

/// The consumer's settings of a validated configuration.
pub(crate) fn all_settings(c: &Config) -> Result<ConsumerSettings> {
    let (fetch, wire, cluster) = settings(c)?;
    let group_config = group::config(c)?;
    let group_id = c.get_str("group.id");
    let group = (!group_id.is_empty()).then(|| GroupIdentity {
        group_id: group_id.to_string(),
        generation: -1,
        member_id: String::new(),
        instance_id: c
            .get_opt_str("group.instance.id")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    });
    let interval = c.get_duration("auto.commit.interval.ms");
    let auto_commit = (group.is_some() && c.get_bool("enable.auto.commit") && !interval.is_zero())
        .then_some(interval);
    Ok(ConsumerSettings {
        fetch,
        wire,
        cluster,
        group_config,
        group,
        auto_commit,
        timeout: c.get_duration("socket.timeout.ms"),
        stats_interval: c.get_duration("statistics.interval.ms"),
    })
}

fn settings(c: &Config) -> Result<(FetchSettings, WireSettings, ClusterSettings)> {
    let receive_max = c.get_i64("receive.message.max.bytes");
    let cluster = ClusterSettings::from_config(c)?;
    let reset = match c.get_str("auto.offset.reset") {
        "earliest" => Reset::Earliest,
        "error" => Reset::Error,
        _ => Reset::Latest,
    };
    let read_committed = c.get_str("isolation.level") == "read_committed";
    let fetch_max = c.get_i32("fetch.max.bytes");
    let fetch = FetchSettings {
        queued_min_messages: usize::try_from(c.get_i64("queued.min.messages")).unwrap_or(1),
        queued_max_bytes: usize::try_from(c.get_i64("queued.max.messages.kbytes"))
            .unwrap_or(1)
            .saturating_mul(1024),
        error_backoff: c.get_duration("fetch.error.backoff.ms"),
        queue_backoff: c.get_duration("fetch.queue.backoff.ms"),
        partition_max_bytes: c.get_i32("fetch.message.max.bytes"),
        partition_max_bytes_cap: i32::try_from(receive_max.saturating_sub(512).max(1))
            .unwrap_or(i32::MAX),
        reset,
        enable_eof: c.get_bool("enable.partition.eof"),
        auto_store: c.get_bool("enable.auto.offset.store"),
        read_committed,
        replica_ttl: c.get_duration("metadata.max.age.ms"),
    };
    let wire = WireSettings {
        max_wait: c.get_duration("fetch.wait.max.ms"),
        min_bytes: c.get_i32("fetch.min.bytes"),
        max_bytes: fetch_max,
        read_committed,
        check_crc: c.get_bool("check.crcs"),
        rack: c.get_str("client.rack").to_string(),
        request_timeout: c.get_duration("socket.timeout.ms"),
    };
    Ok((fetch, wire, cluster))
}

impl Consumer {
    /// A consumer for `config`. Configuration errors are reported here;
    /// no connection opens until something is assigned.
    ///
    /// Created inside a tokio runtime it runs its tasks there; created
    /// outside one it starts its own background thread.
    pub fn new(config: &ClientConfig) -> Result<Consumer> {
        let c = config.validate(ClientRole::Consumer)?;
        let ConsumerSettings {
            fetch,
            wire,
            cluster: cluster_settings,
            group_config,
            group,
            auto_commit,
            timeout,
            stats_interval,
        } = all_settings(&c)?;
        let stats = StatsIdentity {
            name: crate::stats::instance_name("consumer"),
            client_id: cluster_settings.net.client_id.clone(),
            created: std::time::Instant::now(),
            emitter: crate::stats::Emitter::new(stats_interval),
            group_state_seen: Mutex::new(None),
        };
        let rt = ClientRuntime::current_or_owned()?;
        let cluster = {
            let _guard = rt.handle().enter();
            Cluster::new(cluster_settings, rt.clone())?
        };
        let members = group::task::GroupShared::new(group_config);
        let shared = Arc::new(Shared {
            state: Mutex::new(FetchState::new(fetch)),
            data: Notify::new(),
            wake: Arc::new(Notify::new()),
            cluster,
            wire,
            group: Mutex::new(group),
            auto_commit,
            timeout,
            members,
            stats,
        });
        rt.spawn(driver::drive(Arc::downgrade(&shared), shared.wake.clone()));
        let weak = Arc::downgrade(&shared);
        shared.stats.emitter.spawn(rt.handle(), move || {
            weak.upgrade().map(|sh| statistics::snapshot(&sh, true))
        });
        Ok(Consumer { shared, rt })
    }

    fn changed(&self) {
        self.shared.wake.notify_one();
    }

    /// Replaces the assignment with `partitions`, each starting at its
    /// [`Offset`].
    pub fn assign(&self, partitions: &[(&str, i32, Offset)]) -> Result<()> {
        check_partitions(partitions.iter().map(|p| (p.0, p.1)))?;
        {
            let mut st = self.shared.lock();
            for tp in st.assignment() {
                st.unassign(&tp);
            }
            for (t, p, o) in partitions {
                st.assign(requests::tp(t, *p), *o);
            }
        }
        self.changed();
        Ok(())
    }

    /// Adds partitions to the assignment (a partition already assigned is
    /// restarted at the given offset).
    pub fn incremental_assign(&self, partitions: &[(&str, i32, Offset)]) -> Result<()> {
        check_partitions(partitions.iter().map(|p| (p.0, p.1)))?;
        {
            let mut st = self.shared.lock();
            for (t, p, o) in partitions {
                st.assign(requests::tp(t, *p), *o);
            }
        }
        self.changed();
        Ok(())
    }

    /// Removes partitions from the assignment; their queued messages are
    /// dropped. Partitions not assigned are an error (`State`).
    pub fn incremental_unassign(&self, partitions: &[(&str, i32)]) -> Result<()> {
        let mut st = self.shared.lock();
        let missing: Vec<String> = partitions
            .iter()
            .filter(|(t, p)| !st.is_assigned(&requests::tp(t, *p)))
            .map(|(t, p)| format!("{t} [{p}]"))
            .collect();
        if !missing.is_empty() {
            return Err(not_assigned(&missing));
        }
        for (t, p) in partitions {
            st.unassign(&requests::tp(t, *p));
        }
        Ok(())
    }

    /// The partition ids of `topic`, from metadata (waiting up to
    /// `timeout` for it).
    pub async fn partitions_for(&self, topic: &str, timeout: Duration) -> Result<Vec<i32>> {
        let lookup = self.shared.cluster.partitions_for(topic, timeout);
        let parts = self.rt.entered(lookup).await?;
        let mut ids: Vec<i32> = parts.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// The consumer's group membership for
    /// [`Producer::send_offsets_to_transaction`](crate::producer::Producer::send_offsets_to_transaction)
    /// (KIP-447): group id, generation, member id and group instance id as
    /// of now. `None` without `group.id`.
    pub fn group_metadata(&self) -> Option<ConsumerGroupMetadata> {
        self.shared.group().map(|g| {
            ConsumerGroupMetadata::with_member(g.group_id, g.generation, g.member_id, g.instance_id)
        })
    }

    /// The consumer's statistics now, in librdkafka's `STATISTICS.md`
    /// layout (see [`crate::stats`]): per partition its fetch state,
    /// positions, watermarks and lag; `cgrp` with `group.id`. Reading them
    /// does not start new windows; only the periodic emission does.
    pub fn stats(&self) -> crate::stats::Statistics {
        statistics::snapshot(&self.shared, false)
    }

    /// Calls `callback` with every periodic statistics emission
    /// (`statistics.interval.ms`; none when it is 0), on the consumer's
    /// runtime: it should return quickly. Replaces an earlier one.
    pub fn set_stats_callback(
        &self,
        callback: impl Fn(&crate::stats::Statistics) + Send + Sync + 'static,
    ) {
        self.shared.stats.emitter.set_callback(Arc::new(callback));
    }

    /// The periodic statistics emissions from now on, as an async stream
    /// (never yielding when `statistics.interval.ms` is 0).
    pub fn stats_stream(&self) -> crate::stats::StatsStream {
        self.shared.stats.emitter.subscribe()
    }

    /// Calls `callback` with every error event (on the consumer's runtime;
    /// it must not block): the non-fatal events listed at
    /// [`ErrorStream`](crate::events::ErrorStream) (refused connections,
    /// unresolvable hosts, authentication failures, all brokers down,
    /// throttling), after which the consumer keeps retrying by itself.
    /// Errors about the consumer's own partitions and group still come
    /// through [`recv`](Self::recv). Replaces an earlier callback.
    pub fn set_error_callback(&self, callback: impl Fn(&Error) + Send + Sync + 'static) {
        self.shared
            .cluster
            .observer()
            .set_callback(Arc::new(callback));
    }

    /// The consumer's error events from now on, as an async stream (see
    /// [`ErrorStream`](crate::events::ErrorStream)).
    pub fn error_stream(&self) -> crate::events::ErrorStream {
        self.shared.cluster.observer().subscribe()
    }

    /// The assigned partitions, sorted.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.shared.lock().assignment()
    }

    fn each_assigned(
        &self,
        partitions: &[(&str, i32)],
        mut f: impl FnMut(&mut FetchState, &TopicPartition) -> bool,
    ) -> Result<()> {
        let missing: Vec<String> = {
            let mut st = self.shared.lock();
            partitions
                .iter()
                .filter(|(t, p)| !f(&mut st, &requests::tp(t, *p)))
                .map(|(t, p)| format!("{t} [{p}]"))
                .collect()
        };
        self.changed();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(not_assigned(&missing))
        }
    }

    /// Continues `topic` \[`partition`\] from `offset`: messages already
    /// prefetched are dropped, the next one returned is at the new position.
    pub fn seek(&self, topic: &str, partition: i32, offset: Offset) -> Result<()> {
        self.each_assigned(&[(topic, partition)], |st, tp| st.seek(tp, offset))
    }

    /// Stops returning and fetching messages of these partitions until
    /// [`Consumer::resume`]; consumption resumes at the current position.
    pub fn pause(&self, partitions: &[(&str, i32)]) -> Result<()> {
        self.each_assigned(partitions, |st, tp| st.pause(tp))
    }

    /// Resumes paused partitions.
    pub fn resume(&self, partitions: &[(&str, i32)]) -> Result<()> {
        self.each_assigned(partitions, |st, tp| st.resume(tp))
    }

    /// The offset of the next message [`recv`](Consumer::recv) returns for
    /// the partition (last returned + 1), when known.
    pub fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.shared.lock().position(&requests::tp(topic, partition))
    }

    /// The low and high watermarks last seen in a fetch response of an
    /// assigned partition (no request is made).
    pub fn watermarks(&self, topic: &str, partition: i32) -> Option<(i64, i64)> {
        self.shared
            .lock()
            .watermarks(&requests::tp(topic, partition))
    }

    /// Asks the partition leader for the low and high watermarks.
    pub async fn fetch_watermarks(
        &self,
        topic: &str,
        partition: i32,
        timeout: Duration,
    ) -> Result<(i64, i64)> {
        let tp = requests::tp(topic, partition);
        self.rt.entered(self.watermarks_of(tp, timeout)).await
    }

    async fn watermarks_of(&self, tp: TopicPartition, timeout: Duration) -> Result<(i64, i64)> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = [0i64; 2];
        // A partition may appear once per ListOffsets request: two requests.
        // Read uncommitted: the high watermark proper, as librdkafka reports.
        for (slot, ts) in out.iter_mut().zip([-2, -1]) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let q = [(tp.clone(), ts)];
            let mut r = requests::list_offsets(&self.shared.cluster, &q, false, left).await?;
            *slot = r
                .pop()
                .map(|x| x.1)
                .unwrap_or_else(|| Err(missing_answer()))?;
        }
        Ok((out[0], out[1]))
    }

    /// For each `(topic, partition, timestamp_ms)`, the offset of the first
    /// record with a timestamp at or after it (KIP-79); `-1` when there is
    /// none (the partition's end).
    pub async fn offsets_for_times(
        &self,
        partitions: &[(&str, i32, i64)],
        timeout: Duration,
    ) -> Result<Vec<(String, i32, i64)>> {
        let q: Vec<(TopicPartition, i64)> = partitions
            .iter()
            .map(|(t, p, ts)| (requests::tp(t, *p), *ts))
            .collect();
        let read_committed = self.shared.wire.read_committed;
        let lookup = requests::list_offsets(&self.shared.cluster, &q, read_committed, timeout);
        let r = self.rt.entered(lookup).await?;
        let mut out = Vec::with_capacity(partitions.len());
        for (t, p, _) in partitions {
            let found = r
                .iter()
                .find(|(tp, _)| tp.topic() == *t && tp.partition() == *p);
            match found {
                Some((_, Ok(o))) => out.push((t.to_string(), *p, *o)),
                Some((_, Err(e))) => return Err(e.clone()),
                None => return Err(missing_answer()),
            }
        }
        Ok(out)
    }

    /// The next message, or an error/event of an assigned partition
    /// (`PartitionEof`, `AutoOffsetReset`, ...). Waits until there is one.
    ///
    /// Dropping the future loses nothing: items are taken only when
    /// returned.
    pub async fn recv(&self) -> std::result::Result<Message, ConsumerError> {
        loop {
            let notified = self.shared.data.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(item) = self.take() {
                return item;
            }
            notified.await;
        }
    }

    /// The next message or event if one is queued, without waiting.
    pub fn try_recv(&self) -> Option<std::result::Result<Message, ConsumerError>> {
        self.take()
    }

    fn take(&self) -> Option<std::result::Result<Message, ConsumerError>> {
        if let Some(e) = self.shared.members.polled() {
            return Some(Err(e));
        }
        let (item, wake) = {
            let mut st = self.shared.lock();
            let item = st.pop()?;
            // Fetching may resume once the queue fell below its bounds.
            (item, st.take_unblocked())
        };
        if wake {
            self.changed();
        }
        Some(item)
    }

    /// Like [`recv`](Consumer::recv) but returns `None` after `timeout`;
    /// for blocking code (refused inside an async runtime: use `recv`).
    pub fn poll(&self, timeout: Duration) -> Option<std::result::Result<Message, ConsumerError>> {
        if let Some(item) = self.take() {
            return Some(item);
        }
        if tokio::runtime::Handle::try_current().is_ok() {
            return Some(Err(ConsumerError::client(Error::new(
                ErrorCode::InvalidArg,
                "Consumer::poll blocks; inside an async runtime use recv().await",
            ))));
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            let shared = self.shared.clone();
            let waited = self.rt.block_on(async move {
                let notified = shared.data.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if shared.lock().has_items() {
                    return Ok(());
                }
                let _ = tokio::time::timeout(left, notified).await;
                Ok(())
            });
            if let Err(e) = waited {
                return Some(Err(ConsumerError::client(e)));
            }
            if let Some(item) = self.take() {
                return Some(item);
            }
        }
    }

    /// The messages as a [`futures_core::Stream`] (never ends).
    pub fn stream(&self) -> MessageStream<'_> {
        MessageStream::new(self)
    }

    /// Messages and bytes currently held in the prefetch queue.
    pub fn queued(&self) -> (usize, usize) {
        self.shared.lock().queued()
    }

    /// Stores `message.offset + 1` as the partition's offset to commit (for
    /// `enable.auto.offset.store=false`).
    pub fn store_offset(&self, message: &Message) -> Result<()> {
        self.store_offsets(&[(
            &message.topic,
            message.partition,
            message.offset.saturating_add(1),
        )])
    }

    /// Stores `(topic, partition, next_offset)`: the offset of the next
    /// message to consume, as committed.
    pub fn store_offsets(&self, offsets: &[(&str, i32, i64)]) -> Result<()> {
        let missing: Vec<String> = {
            let mut st = self.shared.lock();
            offsets
                .iter()
                .filter(|(t, p, o)| !st.store(&requests::tp(t, *p), *o, None))
                .map(|(t, p, _)| format!("{t} [{p}]"))
                .collect()
        };
        if missing.is_empty() {
            Ok(())
        } else {
            Err(not_assigned(&missing))
        }
    }

    /// Explicit `(topic, partition, next_offset)` commits; an offset at a
    /// partition's position carries the leader epoch of the message
    /// consumed before it (KIP-320), as stored offsets do.
    pub(crate) fn explicit_entries<'a>(
        &self,
        offsets: impl Iterator<Item = (&'a str, i32, i64)>,
    ) -> Vec<CommitEntry> {
        let st = self.shared.lock();
        offsets
            .map(|(t, p, o)| {
                let tp = requests::tp(t, p);
                let epoch = st.epoch_at_position(&tp, o);
                (tp, o, epoch)
            })
            .collect()
    }

    fn group_or_err(&self) -> Result<GroupIdentity> {
        self.shared.group().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                "offsets are committed through a consumer group: set group.id",
            )
        })
    }

    /// Commits the stored offsets not committed yet and waits for the
    /// coordinator's answer (`socket.timeout.ms` at most).
    pub async fn commit(&self) -> Result<()> {
        let who = self.group_or_err()?;
        let offsets = self.shared.lock().uncommitted();
        let work = commit_now(&self.shared, &who, offsets, self.shared.timeout);
        self.rt.entered(work).await
    }

    /// Starts committing the stored offsets without waiting; failures are
    /// logged on the `ferrokafka::consumer` target.
    pub fn commit_async(&self) -> Result<()> {
        let who = self.group_or_err()?;
        let offsets = self.shared.lock().uncommitted();
        let shared = self.shared.clone();
        self.rt.spawn(async move {
            if let Err(e) = commit_now(&shared, &who, offsets, shared.timeout).await {
                tracing::warn!(target: "ferrokafka::consumer", "asynchronous commit failed: {e}");
            }
        });
        Ok(())
    }

    /// Commits explicit `(topic, partition, next_offset)` entries; an
    /// offset equal to the partition's position goes with the leader epoch
    /// of the message consumed last (-1, unknown, otherwise).
    pub async fn commit_offsets(&self, offsets: &[(&str, i32, i64)]) -> Result<()> {
        let who = self.group_or_err()?;
        let offsets = self.explicit_entries(offsets.iter().map(|x| (x.0, x.1, x.2)));
        let work = commit_now(&self.shared, &who, offsets, self.shared.timeout);
        self.rt.entered(work).await
    }

    /// Blocking [`commit_offsets`](Consumer::commit_offsets), for code
    /// outside a runtime (and the rebalance callback).
    pub fn commit_offsets_blocking(&self, offsets: &[(&str, i32, i64)]) -> Result<()> {
        let who = self.group_or_err()?;
        let offsets = self.explicit_entries(offsets.iter().map(|x| (x.0, x.1, x.2)));
        let shared = self.shared.clone();
        self.rt
            .block_on(async move { commit_now(&shared, &who, offsets, shared.timeout).await })
    }

    /// Blocking [`commit`](Consumer::commit), for code outside a runtime.
    pub fn commit_blocking(&self) -> Result<()> {
        let who = self.group_or_err()?;
        let offsets = self.shared.lock().uncommitted();
        let shared = self.shared.clone();
        self.rt
            .block_on(async move { commit_now(&shared, &who, offsets, shared.timeout).await })
    }

    /// The group's committed offsets (next offset to consume) of
    /// `partitions`; `None` where nothing is committed.
    pub async fn committed(
        &self,
        partitions: &[(&str, i32)],
        timeout: Duration,
    ) -> Result<Vec<(String, i32, Option<i64>)>> {
        let who = self.group_or_err()?;
        let tps: Vec<TopicPartition> = partitions
            .iter()
            .map(|(t, p)| requests::tp(t, *p))
            .collect();
        let r = self
            .rt
            .entered(requests::fetch_committed(
                &self.shared.cluster,
                &who.group_id,
                &tps,
                self.shared.wire.read_committed,
                timeout,
            ))
            .await?;
        Ok(r.into_iter()
            .map(|(tp, o)| (tp.topic().to_string(), tp.partition(), o.map(|x| x.0)))
            .collect())
    }

    /// Blocking [`committed`](Consumer::committed), for code outside a
    /// runtime.
    pub fn committed_blocking(
        &self,
        partitions: &[(&str, i32)],
        timeout: Duration,
    ) -> Result<Vec<(String, i32, Option<i64>)>> {
        let parts: Vec<TopicPartition> = partitions
            .iter()
            .map(|(t, p)| TopicPartition::new(*t, *p))
            .collect();
        let c = self.handle();
        self.rt.block_on(async move {
            let refs: Vec<(&str, i32)> = parts
                .iter()
                .map(|tp| (tp.topic(), tp.partition()))
                .collect();
            c.committed(&refs, timeout).await
        })
    }

    /// Commits `message`'s offset + 1 (the next record to consume) for its
    /// partition, whatever else is stored, and waits for the coordinator.
    pub async fn commit_message(&self, message: &Message) -> Result<()> {
        let next = [(
            message.topic.as_ref(),
            message.partition,
            message.offset + 1,
        )];
        self.commit_offsets(&next).await
    }

    /// Blocking [`commit_message`](Consumer::commit_message).
    pub fn commit_message_blocking(&self, message: &Message) -> Result<()> {
        let next = [(
            message.topic.as_ref(),
            message.partition,
            message.offset + 1,
        )];
        self.commit_offsets_blocking(&next)
    }

    /// Commits stored offsets when `enable.auto.commit` is on, then stops
    /// fetching (the assignment is cleared). Awaitable from any executor:
    /// the work runs on the client's runtime.
    pub async fn close(&self) -> Result<()> {
        self.close_within(self.shared.timeout).await
    }

    /// [`close`](Consumer::close) bounded by `timeout`: with a group, the
    /// final commit and LeaveGroup give up when it is over (the
    /// coordinator may be down).
    pub async fn close_within(&self, timeout: Duration) -> Result<()> {
        self.rt.entered(self.close_work(timeout)).await
    }

    /// Blocking [`close_within`](Consumer::close_within), for code outside
    /// a runtime.
    pub fn close_blocking(&self, timeout: Duration) -> Result<()> {
        let c = self.handle();
        self.rt.block_on(async move { c.close_work(timeout).await })
    }

    /// Another handle on this consumer, for work moved onto the client's
    /// runtime (dropping it only wakes the background tasks).
    fn handle(&self) -> Consumer {
        Consumer {
            shared: self.shared.clone(),
            rt: self.rt.clone(),
        }
    }

    async fn close_work(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(tokio::time::Instant::now());
        let mut result = Ok(());
        if self.shared.auto_commit.is_some() {
            if let Some(who) = self.shared.group() {
                let offsets = self.shared.lock().uncommitted();
                let t = left();
                result = match tokio::time::timeout(t, commit_now(&self.shared, &who, offsets, t))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Err(Error::new(
                        ErrorCode::TimedOut,
                        "final commit did not finish within the close timeout",
                    )),
                };
            }
        }
        let left_group = self.leave_group(left()).await;
        if result.is_ok() {
            result = left_group;
        }
        {
            let mut st = self.shared.lock();
            for tp in st.assignment() {
                st.unassign(&tp);
            }
        }
        self.changed();
        result
    }

    /// Sets the group generation and member id commits are made under (the
    /// group consumer calls this after each join).
    #[allow(dead_code)]
    pub(crate) fn set_group_identity(&self, generation: i32, member_id: &str) {
        self.shared.set_identity(generation, member_id);
    }
}

async fn commit_now(
    shared: &Shared,
    who: &GroupIdentity,
    offsets: Vec<CommitEntry>,
    timeout: Duration,
) -> Result<()> {
    commit_with_metadata(shared, who, offsets, &[], timeout).await
}

/// Commits `offsets`, `metadata[i]` beside `offsets[i]`, and remembers them
/// as committed.
async fn commit_with_metadata(
    shared: &Shared,
    who: &GroupIdentity,
    offsets: Vec<CommitEntry>,
    metadata: &[String],
    timeout: Duration,
) -> Result<()> {
    if offsets.is_empty() {
        return Ok(());
    }
    requests::commit_with_metadata(&shared.cluster, who, &offsets, metadata, timeout).await?;
    let mut st = shared.lock();
    for (tp, o, _) in &offsets {
        st.committed(tp, *o);
    }
    Ok(())
}

fn missing_answer() -> Error {
    Error::new(
        ErrorCode::BadMsg,
        "the broker's ListOffsets answer lacks a partition asked for",
    )
}

fn not_assigned(which: &[String]) -> Error {
    Error::new(
        ErrorCode::State,
        format!("not assigned to this consumer: {}", which.join(", ")),
    )
}

fn check_partitions<'a>(parts: impl Iterator<Item = (&'a str, i32)>) -> Result<()> {
    for (t, p) in parts {
        if t.is_empty() || p < 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!("invalid partition \"{t}\" [{p}]: a topic name and a partition >= 0 are required"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Consumer>();
        send_sync::<Message>();
        send_sync::<ConsumerError>();
        fn send<T: Send>() {}
        send::<MessageStream<'static>>();
    }

    #[test]
    fn settings_follow_the_configuration() {
        let c = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9092")
            .set("queued.max.messages.kbytes", "10")
            .set("isolation.level", "read_uncommitted")
            .set("auto.offset.reset", "smallest")
            .set("client.rack", "r1")
            .validate(ClientRole::Consumer)
            .unwrap();
        let (fetch, wire, cluster) = settings(&c).unwrap();
        assert_eq!(fetch.queued_max_bytes, 10 * 1024);
        assert_eq!(fetch.reset, Reset::Earliest);
        assert!(!fetch.read_committed && !wire.read_committed);
        assert_eq!(wire.rack, "r1");
        assert_eq!(wire.max_wait, Duration::from_millis(500));
        assert_eq!(cluster.bootstrap.len(), 1);
    }
}
