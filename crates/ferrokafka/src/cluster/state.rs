//! The metadata cache as a state machine without I/O.
//!
//! It is fed events (a topic is referenced, a leader error was seen, a
//! refresh answered or failed) together with `now`, and hands out the next
//! refresh to send ([`MetadataState::poll_refresh`]) and when to be woken
//! ([`MetadataState::next_wakeup`]). Owns: the additive broker registry,
//! per-topic state with the propagation window
//! (`topic.metadata.propagation.max.ms`), leader epochs (older epochs never
//! overwrite newer ones), refresh on age (`metadata.max.age.ms`), periodic
//! refresh (`topic.metadata.refresh.interval.ms`), and coalescing of
//! on-demand refreshes. Sending requests is the driver's job (`cluster`).

use super::{BrokerMetadata, TopicMetadata};
use crate::error::Error;
use crate::protocol::{codes, KAFKA_UNKNOWN_TOPIC_OR_PARTITION};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Kafka's LEADER_NOT_AVAILABLE: a topic being created, transient.
const KAFKA_LEADER_NOT_AVAILABLE: i16 = 5;

/// Timing of the metadata cache.
#[derive(Debug, Clone)]
pub(crate) struct MetadataSettings {
    /// `metadata.max.age.ms`: a topic's entry older than this is refreshed
    /// and no longer served.
    pub max_age: Duration,
    /// `topic.metadata.refresh.interval.ms` (`None` when -1): periodic
    /// refresh of every referenced topic.
    pub refresh_interval: Option<Duration>,
    /// `topic.metadata.propagation.max.ms`: how long a referenced topic may
    /// be reported missing before it is declared unknown.
    pub propagation_max: Duration,
    /// `retry.backoff.ms`: the least time between two refreshes, and the
    /// first wait after a failed one.
    pub min_interval: Duration,
    /// `topic.metadata.refresh.fast.interval.ms` (`retry.backoff.ms` when
    /// not set): while a referenced topic has a partition without a
    /// leader, refreshes follow each other this far apart, doubling per
    /// refresh that still finds none.
    pub fast_interval: Duration,
    /// `retry.backoff.max.ms`: the longest wait after failed refreshes and
    /// between fast refreshes.
    pub fast_interval_max: Duration,
    /// `topic.metadata.refresh.sparse`: ask only for the topics in use
    /// (false: every refresh asks for every topic of the cluster).
    pub sparse: bool,
}

impl Default for MetadataSettings {
    fn default() -> Self {
        MetadataSettings {
            max_age: Duration::from_millis(900_000),
            refresh_interval: Some(Duration::from_millis(300_000)),
            propagation_max: Duration::from_millis(30_000),
            min_interval: Duration::from_millis(100),
            fast_interval: Duration::from_millis(100),
            fast_interval_max: Duration::from_millis(1_000),
            sparse: true,
        }
    }
}

/// A metadata response, reduced to what the cache keeps.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetadataUpdate {
    pub brokers: Vec<BrokerMetadata>,
    pub topics: Vec<TopicMetadata>,
    pub cluster_id: Option<String>,
    pub controller_id: Option<i32>,
}

/// Which topics a refresh asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshScope {
    /// Every topic in the cluster.
    All,
    /// These topics (sorted, no duplicates).
    Topics(Vec<String>),
}

/// What the cache knows about a topic.
#[derive(Debug, Clone)]
pub(crate) enum TopicLookup {
    /// Usable metadata.
    Known(Arc<TopicMetadata>),
    /// Not known yet (never answered, still propagating, or expired).
    Pending,
    /// Declared missing or failed permanently.
    Failed(Error),
}

#[derive(Debug)]
enum Status {
    Pending,
    Known(Arc<TopicMetadata>),
    Failed(Error),
}

#[derive(Debug)]
struct TopicState {
    first_referenced: Instant,
    updated: Option<Instant>,
    status: Status,
}

/// The metadata cache state machine.
#[derive(Debug)]
pub(crate) struct MetadataState {
    settings: MetadataSettings,
    brokers: BTreeMap<i32, BrokerMetadata>,
    cluster_id: Option<String>,
    controller_id: Option<i32>,
    topics: HashMap<String, TopicState>,
    /// Topics to ask for in the next refresh.
    wanted: BTreeSet<String>,
    want_all: bool,
    in_flight: Option<RefreshScope>,
    /// No refresh starts before this (rate limit and failure backoff).
    not_before: Option<Instant>,
    next_periodic: Option<Instant>,
    consecutive_failures: u32,
    /// Refreshes in a row whose answer left a partition without a leader.
    leaderless_streak: u32,
    /// Bumped on every change a waiter may care about.
    generation: u64,
}

impl MetadataState {
    /// An empty cache; the first refresh asks for the whole cluster, which
    /// also learns the brokers.
    pub(crate) fn new(settings: MetadataSettings, now: Instant) -> Self {
        let next_periodic = settings.refresh_interval.map(|i| now + i);
        MetadataState {
            settings,
            brokers: BTreeMap::new(),
            cluster_id: None,
            controller_id: None,
            topics: HashMap::new(),
            wanted: BTreeSet::new(),
            want_all: false,
            in_flight: None,
            not_before: None,
            next_periodic,
            consecutive_failures: 0,
            leaderless_streak: 0,
            generation: 0,
        }
    }

    /// Changes with every update that may interest a waiter.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    #[cfg(test)]
    /// Every broker ever learned (the registry is additive).
    pub(crate) fn brokers(&self) -> impl Iterator<Item = &BrokerMetadata> {
        self.brokers.values()
    }

    /// One broker.
    pub(crate) fn broker(&self, id: i32) -> Option<&BrokerMetadata> {
        self.brokers.get(&id)
    }

    #[cfg(test)]
    /// The cluster id and controller from the last answer that had them.
    pub(crate) fn cluster(&self) -> (Option<&str>, Option<i32>) {
        (self.cluster_id.as_deref(), self.controller_id)
    }

    /// The application uses `topic`: make sure it is (being) looked up.
    pub(crate) fn reference(&mut self, topic: &str, now: Instant) {
        if !self.topics.contains_key(topic) {
            self.topics.insert(
                topic.to_string(),
                TopicState {
                    first_referenced: now,
                    updated: None,
                    status: Status::Pending,
                },
            );
            self.wanted.insert(topic.to_string());
        }
    }

    /// A request failed with a leader or partition error for `topic`:
    /// refresh it soon. Many calls before the refresh starts make one
    /// request.
    pub(crate) fn leader_error(&mut self, topic: &str, now: Instant) {
        self.reference(topic, now);
        self.wanted.insert(topic.to_string());
    }

    #[cfg(test)]
    /// Ask for the whole cluster in the next refresh.
    pub(crate) fn request_full(&mut self) {
        self.want_all = true;
    }

    /// What the cache knows about `topic` at `now`.
    pub(crate) fn lookup(&self, topic: &str, now: Instant) -> TopicLookup {
        match self.topics.get(topic) {
            None => TopicLookup::Pending,
            Some(t) => match &t.status {
                Status::Pending => TopicLookup::Pending,
                Status::Failed(e) => TopicLookup::Failed(e.clone()),
                Status::Known(m) => {
                    if self.expired(t, now) {
                        TopicLookup::Pending
                    } else {
                        TopicLookup::Known(m.clone())
                    }
                }
            },
        }
    }

    /// The leader and its epoch of `topic`/`partition`, if known.
    pub(crate) fn leader(&self, topic: &str, partition: i32) -> Option<(i32, Option<i32>)> {
        let Status::Known(m) = &self.topics.get(topic)?.status else {
            return None;
        };
        let p = m.partitions.iter().find(|p| p.id == partition)?;
        // A leader whose address no metadata gave (a broker that was down
        // when the answer was built can be left out of its broker list) is
        // no leader yet: callers ask for metadata again rather than wait on
        // a connection that cannot be made.
        let leader = p.leader.filter(|id| self.brokers.contains_key(id))?;
        Some((leader, p.leader_epoch))
    }

    fn expired(&self, t: &TopicState, now: Instant) -> bool {
        t.updated
            .is_some_and(|u| now.saturating_duration_since(u) >= self.settings.max_age)
    }

    /// The refresh to send now, if any; at most one is in flight.
    pub(crate) fn poll_refresh(&mut self, now: Instant) -> Option<RefreshScope> {
        if self.in_flight.is_some() {
            return None;
        }
        if self.next_periodic.is_some_and(|t| now >= t) {
            self.wanted.extend(self.topics.keys().cloned());
            self.next_periodic = self.settings.refresh_interval.map(|i| now + i);
        }
        let expired: Vec<String> = self
            .topics
            .iter()
            .filter(|(_, t)| self.expired(t, now))
            .map(|(n, _)| n.clone())
            .collect();
        self.wanted.extend(expired);
        if !self.want_all && self.wanted.is_empty() {
            return None;
        }
        if self.not_before.is_some_and(|t| now < t) {
            return None;
        }
        let scope = if self.want_all || !self.settings.sparse {
            self.want_all = false;
            self.wanted.clear();
            RefreshScope::All
        } else {
            RefreshScope::Topics(std::mem::take(&mut self.wanted).into_iter().collect())
        };
        self.in_flight = Some(scope.clone());
        Some(scope)
    }

    /// When the driver should call [`Self::poll_refresh`] again; `None`
    /// while a refresh is in flight (its answer wakes the driver). A
    /// refresh due already wakes at `now`.
    pub(crate) fn next_wakeup(&self, now: Instant) -> Option<Instant> {
        if self.in_flight.is_some() {
            return None;
        }
        let mut wake = self.next_periodic;
        let mut earliest = |t: Instant| {
            wake = Some(wake.map_or(t, |w| w.min(t)));
        };
        for t in self.topics.values() {
            if let Some(u) = t.updated {
                earliest(u + self.settings.max_age);
            }
        }
        if self.want_all || !self.wanted.is_empty() {
            match self.not_before {
                Some(t) => earliest(t),
                // Due now.
                None => earliest(now),
            }
        }
        wake
    }

    /// The refresh handed out by [`Self::poll_refresh`] was answered.
    pub(crate) fn on_response(&mut self, update: MetadataUpdate, now: Instant) {
        let scope = self.in_flight.take();
        self.consecutive_failures = 0;
        let answered: BTreeSet<String> = update.topics.iter().map(|t| t.name.clone()).collect();
        let leaderless = self.apply(update, now);
        // Fast refresh while a leader is unknown: the fast interval,
        // doubling per answer that still lacks one, up to the max.
        let wait = if leaderless {
            self.leaderless_streak = self.leaderless_streak.saturating_add(1);
            let factor = 1u32 << self.leaderless_streak.min(16).saturating_sub(1);
            let s = &self.settings;
            s.fast_interval
                .saturating_mul(factor)
                .min(s.fast_interval_max.max(s.fast_interval))
        } else {
            self.leaderless_streak = 0;
            self.settings.min_interval
        };
        self.not_before = Some(now + wait);
        // Requested topics the broker left out count as missing.
        if let Some(RefreshScope::Topics(requested)) = scope {
            for name in requested {
                if !answered.contains(&name) {
                    self.missing(&name, KAFKA_UNKNOWN_TOPIC_OR_PARTITION, now);
                }
            }
        }
    }

    /// An answer to a request the application made itself (an explicit
    /// metadata call): updates the cache, leaves scheduling alone.
    pub(crate) fn on_unsolicited(&mut self, update: MetadataUpdate, now: Instant) {
        let _ = self.apply(update, now);
    }

    /// The refresh handed out by [`Self::poll_refresh`] failed: ask again
    /// after a backoff growing from `retry.backoff.ms` to
    /// `retry.backoff.max.ms`.
    pub(crate) fn on_failure(&mut self, now: Instant) {
        match self.in_flight.take() {
            Some(RefreshScope::All) => self.want_all = true,
            Some(RefreshScope::Topics(t)) => self.wanted.extend(t),
            None => {}
        }
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let factor = 1u32 << self.consecutive_failures.min(16).saturating_sub(1);
        let wait = self.settings.min_interval.saturating_mul(factor).min(
            self.settings
                .fast_interval_max
                .max(self.settings.min_interval),
        );
        self.not_before = Some(now + wait);
    }

    /// Takes `update` in; whether a referenced topic in it has a partition
    /// without a leader.
    fn apply(&mut self, update: MetadataUpdate, now: Instant) -> bool {
        let mut any_leaderless = false;
        for b in update.brokers {
            match self.brokers.get(&b.id) {
                Some(old) if *old == b => {}
                _ => {
                    self.brokers.insert(b.id, b);
                }
            }
        }
        if update.cluster_id.is_some() {
            self.cluster_id = update.cluster_id;
        }
        if update.controller_id.is_some() {
            self.controller_id = update.controller_id;
        }
        for topic in update.topics {
            let code = topic.error.and_then(|e| e.kafka_code()).unwrap_or(0);
            if code == KAFKA_UNKNOWN_TOPIC_OR_PARTITION || code == KAFKA_LEADER_NOT_AVAILABLE {
                self.missing(&topic.name, code, now);
                continue;
            }
            if topic.error.is_some() {
                if let Some(t) = self.topics.get_mut(&topic.name) {
                    let e = Error::from_kafka(code, format!("metadata for topic {}", topic.name));
                    t.status = Status::Failed(e);
                    t.updated = Some(now);
                }
                continue;
            }
            let leaderless = topic.partitions.iter().any(|p| p.leader.is_none());
            let name = topic.name.clone();
            // Only referenced topics are cached (sparse metadata): a full
            // listing must not make every topic of the cluster refreshed.
            let Some(entry) = self.topics.get_mut(&name) else {
                continue;
            };
            let merged = match &entry.status {
                Status::Known(old) => merge_epochs(old, topic),
                _ => topic,
            };
            entry.status = Status::Known(Arc::new(merged));
            entry.updated = Some(now);
            if leaderless {
                any_leaderless = true;
                self.wanted.insert(name);
            }
        }
        self.generation = self.generation.wrapping_add(1);
        any_leaderless
    }

    /// The cluster says `name` does not exist (yet): keep waiting within
    /// the propagation window, then declare it unknown.
    fn missing(&mut self, name: &str, code: i16, now: Instant) {
        let Some(t) = self.topics.get_mut(name) else {
            return;
        };
        let waited = now.saturating_duration_since(t.first_referenced);
        if code == KAFKA_LEADER_NOT_AVAILABLE || waited < self.settings.propagation_max {
            if !matches!(t.status, Status::Known(_)) {
                t.status = Status::Pending;
            }
            self.wanted.insert(name.to_string());
        } else {
            let text = if self.settings.propagation_max.is_zero() {
                format!("topic {name} does not exist in the cluster")
            } else {
                format!(
                    "topic {name} does not exist in the cluster (still missing {} ms after first use; \
                     topic.metadata.propagation.max.ms={})",
                    waited.as_millis(),
                    self.settings.propagation_max.as_millis()
                )
            };
            t.status = Status::Failed(Error::new(codes::UNKNOWN_TOPIC, text));
            t.updated = Some(now);
        }
        self.generation = self.generation.wrapping_add(1);
    }

    /// Since when `topic` is in use and when its metadata was last
    /// updated (statistics: a topic's `age` and `metadata_age`).
    pub(crate) fn topic_times(&self, topic: &str) -> Option<(Instant, Option<Instant>)> {
        self.topics
            .get(topic)
            .map(|t| (t.first_referenced, t.updated))
    }

    /// Number of topics known to the cache (tests, statistics).
    pub(crate) fn topic_count(&self) -> usize {
        self.topics.len()
    }
}

/// The new topic metadata, except partitions whose cached leader epoch is
/// newer than the answer's: those come from a broker that lags behind.
fn merge_epochs(old: &TopicMetadata, mut new: TopicMetadata) -> TopicMetadata {
    for p in &mut new.partitions {
        if let Some(o) = old.partitions.iter().find(|o| o.id == p.id) {
            if let (Some(oe), Some(ne)) = (o.leader_epoch, p.leader_epoch) {
                if ne < oe {
                    *p = o.clone();
                }
            }
        }
    }
    new
}

/// The error for a partition or topic code, `None` for 0.
#[cfg(test)]
fn error_of(code: i16) -> Option<crate::ErrorCode> {
    (code != 0).then(|| crate::ErrorCode::from_kafka(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PartitionMetadata;
    use crate::ErrorCode;

    const MS: Duration = Duration::from_millis(1);

    fn settings() -> MetadataSettings {
        MetadataSettings {
            max_age: 900_000 * MS,
            refresh_interval: Some(300_000 * MS),
            propagation_max: 30_000 * MS,
            min_interval: 100 * MS,
            fast_interval: 100 * MS,
            fast_interval_max: 1_000 * MS,
            sparse: true,
        }
    }

    /// topic.metadata.refresh.fast.interval.ms: while a partition has no
    /// leader, refreshes follow at the fast interval, doubling up to
    /// retry.backoff.max.ms; once leaders are back, retry.backoff.ms rules.
    #[test]
    fn leaderless_partitions_refresh_at_the_fast_interval() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(
            MetadataSettings {
                min_interval: 500 * MS,
                fast_interval: 10 * MS,
                fast_interval_max: 30 * MS,
                ..settings()
            },
            t0,
        );
        s.reference("t", t0);
        assert!(s.poll_refresh(t0).is_some());
        let leaderless = topic("t", &[(-1, 1)]);
        let mut now = t0;
        for want in [10, 20, 30, 30] {
            s.on_response(update(vec![broker(1, "a")], vec![leaderless.clone()]), now);
            assert_eq!(
                s.poll_refresh(now + (want - 1) * MS),
                None,
                "before {want} ms"
            );
            now += want * MS;
            assert_eq!(s.poll_refresh(now), Some(topics(&["t"])), "at {want} ms");
        }
        // A leader again: the next refresh waits retry.backoff.ms.
        s.on_response(
            update(vec![broker(1, "a")], vec![topic("t", &[(1, 1)])]),
            now,
        );
        s.leader_error("t", now);
        assert_eq!(s.poll_refresh(now + 499 * MS), None);
        assert_eq!(s.poll_refresh(now + 500 * MS), Some(topics(&["t"])));
    }

    /// topic.metadata.refresh.sparse=false: every refresh asks for all
    /// topics.
    #[test]
    fn a_dense_cache_asks_for_every_topic() {
        let t0 = Instant::now();
        let mut dense = MetadataState::new(
            MetadataSettings {
                sparse: false,
                ..settings()
            },
            t0,
        );
        let mut sparse = MetadataState::new(settings(), t0);
        for s in [&mut dense, &mut sparse] {
            s.reference("t", t0);
        }
        assert_eq!(dense.poll_refresh(t0), Some(RefreshScope::All));
        assert_eq!(sparse.poll_refresh(t0), Some(topics(&["t"])));
    }

    fn broker(id: i32, host: &str) -> BrokerMetadata {
        BrokerMetadata {
            id,
            host: host.into(),
            port: 9092,
            rack: None,
        }
    }

    fn topic(name: &str, leaders: &[(i32, i32)]) -> TopicMetadata {
        TopicMetadata {
            name: name.into(),
            topic_id: None,
            authorized_operations: None,
            error: None,
            is_internal: false,
            partitions: leaders
                .iter()
                .enumerate()
                .map(|(i, &(leader, epoch))| PartitionMetadata {
                    id: i as i32,
                    leader: (leader >= 0).then_some(leader),
                    leader_epoch: (epoch >= 0).then_some(epoch),
                    replicas: vec![leader],
                    isr: vec![leader],
                    offline_replicas: vec![],
                    error: None,
                })
                .collect(),
        }
    }

    fn missing(name: &str, code: i16) -> TopicMetadata {
        TopicMetadata {
            name: name.into(),
            topic_id: None,
            authorized_operations: None,
            error: error_of(code),
            is_internal: false,
            partitions: vec![],
        }
    }

    fn update(brokers: Vec<BrokerMetadata>, topics: Vec<TopicMetadata>) -> MetadataUpdate {
        MetadataUpdate {
            brokers,
            topics,
            cluster_id: Some("c".into()),
            controller_id: Some(1),
        }
    }

    fn topics(names: &[&str]) -> RefreshScope {
        RefreshScope::Topics(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn referenced_topic_is_fetched_then_known() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        assert_eq!(s.poll_refresh(t0), None, "nothing wanted yet");
        s.reference("a", t0);
        assert!(matches!(s.lookup("a", t0), TopicLookup::Pending));
        assert_eq!(s.poll_refresh(t0), Some(topics(&["a"])));
        assert_eq!(s.poll_refresh(t0), None, "one refresh in flight at a time");
        assert_eq!(s.next_wakeup(t0), None);
        s.on_response(
            update(vec![broker(1, "h1")], vec![topic("a", &[(1, 0)])]),
            t0 + MS,
        );
        match s.lookup("a", t0 + MS) {
            TopicLookup::Known(m) => assert_eq!(m.partitions.len(), 1),
            other => panic!("{other:?}"),
        }
        assert_eq!(s.leader("a", 0), Some((1, Some(0))));
        assert_eq!(s.leader("a", 5), None);
    }

    #[test]
    fn leader_errors_coalesce_into_one_refresh_and_respect_the_fast_interval() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("a", t0);
        s.reference("b", t0);
        s.poll_refresh(t0);
        s.on_response(
            update(
                vec![broker(1, "h")],
                vec![topic("a", &[(1, 0)]), topic("b", &[(1, 0)])],
            ),
            t0,
        );
        for _ in 0..10 {
            s.leader_error("a", t0);
            s.leader_error("b", t0);
        }
        assert_eq!(
            s.poll_refresh(t0 + 50 * MS),
            None,
            "within retry.backoff.ms"
        );
        assert_eq!(s.next_wakeup(t0), Some(t0 + 100 * MS));
        assert_eq!(s.poll_refresh(t0 + 100 * MS), Some(topics(&["a", "b"])));
        // An error arriving while that refresh is in flight gets its own.
        s.leader_error("a", t0 + 110 * MS);
        assert_eq!(s.poll_refresh(t0 + 110 * MS), None);
        s.on_response(
            update(vec![], vec![topic("a", &[(1, 1)]), topic("b", &[(1, 0)])]),
            t0 + 120 * MS,
        );
        assert_eq!(s.poll_refresh(t0 + 220 * MS), Some(topics(&["a"])));
    }

    #[test]
    fn missing_topic_waits_out_the_propagation_window() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("new", t0);
        let mut now = t0;
        let mut refreshes = 0;
        // The cluster keeps saying "unknown" every 100 ms.
        while now < t0 + 29_900 * MS {
            let scope = s.poll_refresh(now);
            if scope.is_some() {
                refreshes += 1;
                s.on_response(update(vec![], vec![missing("new", 3)]), now);
                assert!(
                    matches!(s.lookup("new", now), TopicLookup::Pending),
                    "at {:?}",
                    now - t0
                );
            }
            now += 100 * MS;
        }
        assert!(
            refreshes > 100,
            "kept asking within the window: {refreshes}"
        );
        now = t0 + 30_000 * MS;
        assert!(s.poll_refresh(now).is_some());
        s.on_response(update(vec![], vec![missing("new", 3)]), now);
        match s.lookup("new", now) {
            TopicLookup::Failed(e) => {
                assert_eq!(e.code(), ErrorCode::UnknownTopic);
                assert!(
                    e.message().contains("topic.metadata.propagation.max.ms"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        // Declared unknown: no more fast refreshes for it.
        assert_eq!(s.poll_refresh(now + 200 * MS), None);
    }

    #[test]
    fn topic_created_within_the_window_becomes_known() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("t", t0);
        s.poll_refresh(t0);
        s.on_response(update(vec![], vec![missing("t", 3)]), t0);
        assert!(s.poll_refresh(t0 + 100 * MS).is_some());
        s.on_response(update(vec![], vec![missing("t", 5)]), t0 + 100 * MS);
        assert!(matches!(s.lookup("t", t0 + 100 * MS), TopicLookup::Pending));
        assert!(s.poll_refresh(t0 + 200 * MS).is_some());
        s.on_response(
            update(vec![broker(2, "b")], vec![topic("t", &[(2, 0)])]),
            t0 + 200 * MS,
        );
        assert!(matches!(
            s.lookup("t", t0 + 200 * MS),
            TopicLookup::Known(_)
        ));
    }

    #[test]
    fn leaving_a_requested_topic_out_counts_as_missing() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(
            MetadataSettings {
                propagation_max: Duration::ZERO,
                ..settings()
            },
            t0,
        );
        s.reference("gone", t0);
        s.poll_refresh(t0);
        s.on_response(update(vec![], vec![]), t0);
        assert!(matches!(s.lookup("gone", t0), TopicLookup::Failed(_)));
    }

    #[test]
    fn broker_registry_is_additive() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.request_full();
        assert_eq!(s.poll_refresh(t0), Some(RefreshScope::All));
        s.on_response(
            update(vec![broker(1, "a"), broker(2, "b"), broker(3, "c")], vec![]),
            t0,
        );
        s.request_full();
        s.poll_refresh(t0 + 100 * MS);
        // A partial answer neither drops brokers 1 and 3 nor loses 2's update.
        s.on_response(update(vec![broker(2, "b2")], vec![]), t0 + 100 * MS);
        let hosts: Vec<_> = s.brokers().map(|b| (b.id, b.host.clone())).collect();
        assert_eq!(
            hosts,
            vec![(1, "a".into()), (2, "b2".into()), (3, "c".into())]
        );
    }

    #[test]
    fn older_leader_epochs_do_not_overwrite_newer_ones() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("e", t0);
        s.poll_refresh(t0);
        let brokers = || vec![broker(1, "a"), broker(2, "b"), broker(3, "c")];
        s.on_response(update(brokers(), vec![topic("e", &[(1, 5), (2, 3)])]), t0);
        s.leader_error("e", t0);
        s.poll_refresh(t0 + 100 * MS);
        // A lagging broker: partition 0 at epoch 4 (older), partition 1 at 4 (newer).
        s.on_response(
            update(brokers(), vec![topic("e", &[(3, 4), (3, 4)])]),
            t0 + 100 * MS,
        );
        assert_eq!(s.leader("e", 0), Some((1, Some(5))));
        assert_eq!(s.leader("e", 1), Some((3, Some(4))));
    }

    #[test]
    fn a_leader_missing_from_the_broker_list_is_no_leader() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("e", t0);
        s.poll_refresh(t0);
        // Broker 2 leads partition 1 but was left out of the broker list.
        s.on_response(
            update(vec![broker(1, "a")], vec![topic("e", &[(1, 5), (2, 5)])]),
            t0,
        );
        assert_eq!(s.leader("e", 0), Some((1, Some(5))));
        assert_eq!(s.leader("e", 1), None);
        s.leader_error("e", t0);
        s.poll_refresh(t0 + 100 * MS);
        s.on_response(
            update(
                vec![broker(1, "a"), broker(2, "b")],
                vec![topic("e", &[(1, 5), (2, 5)])],
            ),
            t0 + 100 * MS,
        );
        assert_eq!(s.leader("e", 1), Some((2, Some(5))));
    }

    #[test]
    fn failures_back_off_up_to_the_max_and_keep_the_request() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("x", t0);
        let mut now = t0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            assert_eq!(s.poll_refresh(now), Some(topics(&["x"])));
            s.on_failure(now);
            let next = s.next_wakeup(now).unwrap();
            waits.push((next - now).as_millis());
            assert_eq!(s.poll_refresh(next - MS), None);
            now = next;
        }
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        s.poll_refresh(now);
        s.on_response(update(vec![], vec![topic("x", &[(1, 0)])]), now);
        s.leader_error("x", now);
        assert_eq!(
            s.next_wakeup(now),
            Some(now + 100 * MS),
            "success resets the backoff"
        );
    }

    #[test]
    fn periodic_refresh_and_max_age() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(
            MetadataSettings {
                refresh_interval: Some(10_000 * MS),
                max_age: 25_000 * MS,
                ..settings()
            },
            t0,
        );
        s.reference("p", t0);
        s.poll_refresh(t0);
        s.on_response(update(vec![], vec![topic("p", &[(1, 0)])]), t0);
        assert_eq!(s.poll_refresh(t0 + 9_999 * MS), None);
        assert_eq!(s.next_wakeup(t0), Some(t0 + 10_000 * MS));
        assert_eq!(s.poll_refresh(t0 + 10_000 * MS), Some(topics(&["p"])));
        // The refresh fails for a long time: the entry expires at max age.
        s.on_failure(t0 + 10_000 * MS);
        assert!(matches!(
            s.lookup("p", t0 + 24_999 * MS),
            TopicLookup::Known(_)
        ));
        assert!(matches!(
            s.lookup("p", t0 + 25_000 * MS),
            TopicLookup::Pending
        ));
    }

    #[test]
    fn disabled_periodic_refresh_still_honours_max_age() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(
            MetadataSettings {
                refresh_interval: None,
                max_age: 5_000 * MS,
                ..settings()
            },
            t0,
        );
        s.reference("q", t0);
        s.poll_refresh(t0);
        s.on_response(update(vec![], vec![topic("q", &[(1, 0)])]), t0);
        assert_eq!(s.next_wakeup(t0), Some(t0 + 5_000 * MS));
        assert_eq!(s.poll_refresh(t0 + 4_000 * MS), None);
        assert_eq!(s.poll_refresh(t0 + 5_000 * MS), Some(topics(&["q"])));
    }

    #[test]
    fn leaderless_partitions_trigger_another_refresh() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("l", t0);
        s.poll_refresh(t0);
        s.on_response(update(vec![], vec![topic("l", &[(1, 0), (-1, -1)])]), t0);
        assert!(matches!(s.lookup("l", t0), TopicLookup::Known(_)));
        assert_eq!(s.poll_refresh(t0 + 100 * MS), Some(topics(&["l"])));
    }

    #[test]
    fn authorization_errors_fail_the_topic() {
        let t0 = Instant::now();
        let mut s = MetadataState::new(settings(), t0);
        s.reference("secret", t0);
        s.poll_refresh(t0);
        s.on_response(update(vec![], vec![missing("secret", 29)]), t0);
        match s.lookup("secret", t0) {
            TopicLookup::Failed(e) => assert_eq!(e.code(), ErrorCode::from_kafka(29)),
            other => panic!("{other:?}"),
        }
        let g = s.generation();
        s.on_unsolicited(update(vec![], vec![topic("secret", &[(1, 0)])]), t0);
        assert_ne!(s.generation(), g);
        assert!(matches!(s.lookup("secret", t0), TopicLookup::Known(_)));
        assert_eq!(s.topic_count(), 1);
        assert_eq!(s.cluster(), (Some("c"), Some(1)));
    }
}
