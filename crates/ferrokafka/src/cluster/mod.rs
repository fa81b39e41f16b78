//! The cluster as the client sees it: metadata cache, broker registry,
//! leaders, coordinators and routing of requests to broker connections.
//!
//! [`Cluster`] is the crate-internal handle every client (producer,
//! consumer, admin) holds: cheap to clone, it bootstraps, answers
//! `metadata`, `leader_for`, `partitions_for`, finds coordinators and hands
//! out the [`Connection`] of a broker for a traffic class. The cache logic
//! is the I/O-free state machine in [`state`]; a tokio task (the driver)
//! sends the refreshes it asks for. The public metadata types live here and
//! are re-exported at the crate root.

mod coordinator;
pub(crate) mod decode;
mod metadata;
mod settings;
pub(crate) mod state;

pub(crate) use coordinator::CoordinatorType;
pub use metadata::{BrokerMetadata, Metadata, PartitionMetadata, TopicId, TopicMetadata};
pub(crate) use settings::ClusterSettings;

use crate::debug::trace_ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::net::{BrokerAddress, ClientRuntime, Connection, ConnectionKind, ConnectionState};
use crate::protocol::{codes, ApiKey};
use crate::stats::{BrokerStatistics, Histogram, TopparStatistics};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use state::{MetadataState, MetadataUpdate, RefreshScope, TopicLookup};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

struct BrokerConns {
    addr: BrokerAddress,
    conns: [Option<Connection>; 4],
}

struct Inner {
    settings: ClusterSettings,
    rt: ClientRuntime,
    state: Mutex<MetadataState>,
    /// Learned brokers by id, plus bootstrap entries at ids -1, -2, ...
    brokers: Mutex<HashMap<i32, BrokerConns>>,
    coordinators: Mutex<HashMap<(CoordinatorType, String), i32>>,
    /// Rotates the broker chosen for metadata requests.
    rotation: AtomicUsize,
    wake: Arc<Notify>,
    changed: watch::Sender<u64>,
    /// The last refresh failure no retry can fix (wrong credentials, an
    /// untrusted certificate), until a client reports it.
    security_error: Mutex<Option<Error>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The driver holds only a weak reference; wake it so it sees that.
        self.wake.notify_one();
    }
}

/// The crate-internal cluster handle; cheap to clone.
#[derive(Clone)]
pub(crate) struct Cluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("bootstrap", &self.inner.settings.bootstrap)
            .finish()
    }
}

fn bootstrap_id(i: usize) -> i32 {
    -1 - i32::try_from(i).unwrap_or(i32::MAX - 1)
}

impl Cluster {
    /// A cluster handle for `settings`, with its driver task spawned on
    /// `rt`. No connection opens until something needs one.
    pub(crate) fn new(settings: ClusterSettings, rt: ClientRuntime) -> Result<Self> {
        if settings.bootstrap.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "bootstrap.servers is empty: give at least one host:port",
            ));
        }
        let mut brokers = HashMap::new();
        for (i, addr) in settings.bootstrap.iter().enumerate() {
            brokers.insert(
                bootstrap_id(i),
                BrokerConns {
                    addr: addr.clone(),
                    conns: Default::default(),
                },
            );
        }
        settings
            .net
            .observer
            .set_brokers(settings.bootstrap.iter().cloned());
        let state = MetadataState::new(settings.metadata.clone(), Instant::now().into_std());
        let (changed, _) = watch::channel(0);
        let inner = Arc::new(Inner {
            settings,
            rt: rt.clone(),
            state: Mutex::new(state),
            brokers: Mutex::new(brokers),
            coordinators: Mutex::new(HashMap::new()),
            rotation: AtomicUsize::new(0),
            wake: Arc::new(Notify::new()),
            changed,
            security_error: Mutex::new(None),
        });
        rt.spawn(drive(Arc::downgrade(&inner), inner.wake.clone()));
        Ok(Cluster { inner })
    }

    /// Takes the last authentication or TLS failure of a background
    /// metadata refresh, for a client to report (the consumer's error
    /// events); each failure is handed out once.
    pub(crate) fn take_security_error(&self) -> Option<Error> {
        self.inner
            .security_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The client's debug contexts and error events.
    pub(crate) fn observer(&self) -> &crate::events::Observer {
        &self.inner.settings.net.observer
    }

    /// The runtime this cluster's tasks run on.
    pub(crate) fn runtime(&self) -> &ClientRuntime {
        &self.inner.rt
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MetadataState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, HashMap<i32, BrokerConns>> {
        self.inner.brokers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds or updates brokers in the registry; never removes any.
    fn learn_brokers(&self, brokers: &[BrokerMetadata]) {
        self.observer()
            .set_brokers(brokers.iter().map(|b| BrokerAddress {
                host: b.host.clone(),
                port: b.port,
            }));
        let mut reg = self.registry();
        for b in brokers {
            let addr = BrokerAddress {
                host: b.host.clone(),
                port: b.port,
            };
            match reg.get_mut(&b.id) {
                Some(e) if e.addr == addr => {}
                Some(e) => {
                    // Moved: new connections go to the new address.
                    e.addr = addr;
                    e.conns = Default::default();
                }
                None => {
                    reg.insert(
                        b.id,
                        BrokerConns {
                            addr,
                            conns: Default::default(),
                        },
                    );
                }
            }
        }
    }

    /// The connection to broker `id` for `kind` traffic, created on first
    /// use (it connects on its first request).
    pub(crate) fn connection(&self, id: i32, kind: ConnectionKind) -> Result<Connection> {
        let mut reg = self.registry();
        let entry = reg.get_mut(&id).ok_or_else(|| {
            Error::new(
                codes::TRANSPORT,
                format!("broker {id} is not known from metadata"),
            )
        })?;
        let slot = &mut entry.conns[kind.index()];
        if let Some(c) = slot {
            return Ok(c.clone());
        }
        let c = Connection::new(
            entry.addr.clone(),
            kind,
            self.inner.settings.net.clone(),
            self.inner.rt.handle(),
        );
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Per broker (keyed `host:port/id`), the statistics of every
    /// connection to it summed, with `toppars` (the partitions the client
    /// uses) listed under their leaders. `roll` starts new windows.
    pub(crate) fn broker_statistics(
        &self,
        toppars: &[(&str, i32)],
        roll: bool,
    ) -> BTreeMap<String, BrokerStatistics> {
        let now = Instant::now().into_std();
        let mut leaders: HashMap<i32, Vec<(&str, i32)>> = HashMap::new();
        {
            let st = self.state();
            for &(t, p) in toppars {
                if let Some((l, _)) = st.leader(t, p) {
                    leaders.entry(l).or_default().push((t, p));
                }
            }
        }
        let reg = self.registry();
        let mut out = BTreeMap::new();
        for (&id, e) in reg.iter() {
            let nodename = e.addr.to_string();
            let name = if id < 0 {
                format!("{nodename}/bootstrap")
            } else {
                format!("{nodename}/{id}")
            };
            let mut b = BrokerStatistics {
                name: name.clone(),
                nodeid: id,
                nodename,
                source: if id < 0 { "configured" } else { "learned" }.into(),
                txidle: -1,
                rxidle: -1,
                ..BrokerStatistics::default()
            };
            let mut merged: [Histogram; 3] = Default::default();
            let mut state = ConnectionState::Idle;
            let mut state_age = u64::MAX;
            for c in e.conns.iter().flatten() {
                c.counters().add_to(&mut b, &mut merged, roll, now);
                state = best_state(state, c.state());
                state_age = state_age.min(c.counters().state_age(now));
            }
            b.state = match state {
                ConnectionState::Up => "UP",
                ConnectionState::Connecting => "CONNECT",
                ConnectionState::Down => "DOWN",
                _ => "INIT",
            }
            .into();
            b.stateage = if state_age == u64::MAX { 0 } else { state_age };
            let [rtt, outbuf, throttle] = merged;
            b.rtt = rtt.summary();
            b.outbuf_latency = outbuf.summary();
            b.throttle = throttle.summary();
            b.int_latency = Histogram::default().summary();
            for (t, p) in leaders.remove(&id).unwrap_or_default() {
                b.toppars.insert(
                    format!("{t}-{p}"),
                    TopparStatistics {
                        topic: t.to_string(),
                        partition: p,
                    },
                );
            }
            out.insert(name, b);
        }
        out
    }

    /// Topics in the metadata cache.
    pub(crate) fn metadata_cache_cnt(&self) -> u64 {
        self.state().topic_count() as u64
    }

    /// Milliseconds since the client started using `topic` and since its
    /// metadata was last updated (0 when never).
    pub(crate) fn topic_ages(&self, topic: &str) -> (u64, u64) {
        let now = Instant::now().into_std();
        let ms = |t: std::time::Instant| now.saturating_duration_since(t).as_millis() as u64;
        match self.state().topic_times(topic) {
            Some((first, updated)) => (ms(first), updated.map_or(0, ms)),
            None => (0, 0),
        }
    }

    /// Encodes `req`, sends it to broker `id` and decodes the answer.
    pub(crate) async fn send<R: crate::protocol::ApiRequest>(
        &self,
        id: i32,
        kind: ConnectionKind,
        req: &R,
        timeout: Option<Duration>,
    ) -> Result<R::Response> {
        self.connection(id, kind)?.send(req, timeout).await
    }

    /// [`send`](Self::send) at a `version` the caller picked.
    pub(crate) async fn send_version<R: crate::protocol::ApiRequest>(
        &self,
        id: i32,
        kind: ConnectionKind,
        req: &R,
        version: i16,
        timeout: Option<Duration>,
    ) -> Result<R::Response> {
        self.connection(id, kind)?
            .send_version(req, version, timeout)
            .await
    }

    /// Broker ids to ask for metadata (or anything any broker answers,
    /// such as a producer id), best first: connections that are up, then
    /// idle ones, then ones that failed last; learned brokers before
    /// bootstrap addresses; rotating among equals.
    pub(crate) fn metadata_candidates(&self) -> Vec<i32> {
        let reg = self.registry();
        let mut ids: Vec<i32> = reg.keys().copied().collect();
        // metadata.recovery.strategy=none: once brokers are learned, the
        // bootstrap servers are asked no more.
        if !self.inner.settings.rebootstrap && ids.iter().any(|&id| id >= 0) {
            ids.retain(|&id| id >= 0);
        }
        ids.sort_unstable();
        let n = ids.len().max(1);
        let start = self.inner.rotation.fetch_add(1, Ordering::Relaxed) % n;
        ids.rotate_left(start);
        let rank = |id: &i32| {
            let state = reg
                .get(id)
                .and_then(|e| e.conns[ConnectionKind::Admin.index()].as_ref())
                .map(|c| c.state());
            let s = match state {
                Some(ConnectionState::Up) => 0,
                Some(ConnectionState::Connecting) => 1,
                None | Some(ConnectionState::Idle) => 2,
                Some(ConnectionState::Down) => 4,
            };
            s * 2 + usize::from(*id < 0)
        };
        ids.sort_by_key(rank);
        ids
    }

    /// One Metadata request to broker `id`.
    async fn metadata_from(
        &self,
        id: i32,
        topics: Option<&[String]>,
        ask: MetadataAsk,
        timeout: Duration,
    ) -> Result<Metadata> {
        let conn = self.connection(id, ConnectionKind::Admin)?;
        let versions = conn.api_versions(Some(timeout)).await?;
        let version = versions.require(ApiKey::Metadata)?;
        let body = encode(&metadata_request(topics, ask, version), version)?;
        let resp = conn
            .send_raw(ApiKey::Metadata, version, body, Some(timeout))
            .await?;
        let mut md = decode::decode_metadata(&resp, version).map_err(|e| {
            Error::new(
                e.code(),
                format!(
                    "Metadata v{version} response from {}: {}",
                    conn.address(),
                    e.message()
                ),
            )
        })?;
        // A bootstrap address answers as the broker it turns out to be.
        let addr = conn.address();
        md.orig_broker_id = md
            .brokers
            .iter()
            .find(|b| id < 0 && b.host == addr.host && b.port == addr.port)
            .map_or(id, |b| b.id);
        md.orig_broker_name = addr.to_string();
        // topic.blacklist: as if those topics did not exist.
        let settings = &self.inner.settings;
        if !settings.topic_blacklist.is_empty() {
            md.topics.retain(|t| !settings.blacklisted(&t.name));
        }
        Ok(md)
    }

    /// Asks the cluster directly for `topics` (all when `None`), trying
    /// brokers in turn until one answers or `timeout` passes. The answer
    /// also updates the cache.
    pub(crate) async fn metadata(
        &self,
        topics: Option<&[String]>,
        timeout: Duration,
    ) -> Result<Metadata> {
        self.metadata_asking(topics, MetadataAsk::default(), timeout)
            .await
    }

    /// [`Self::metadata`] of `topics`, each with the operations this client
    /// is authorized for on it (Metadata v8+; older brokers leave them out):
    /// what the admin client's topic descriptions show.
    pub(crate) async fn metadata_with_operations(
        &self,
        topics: &[String],
        timeout: Duration,
    ) -> Result<Metadata> {
        let ask = MetadataAsk {
            topic_operations: true,
            ..MetadataAsk::default()
        };
        self.metadata_asking(Some(topics), ask, timeout).await
    }

    async fn metadata_asking(
        &self,
        topics: Option<&[String]>,
        ask: MetadataAsk,
        timeout: Duration,
    ) -> Result<Metadata> {
        let deadline = Instant::now() + timeout;
        let mut last: Option<Error> = None;
        let mut round = 0u32;
        while Instant::now() < deadline {
            for id in self.metadata_candidates() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                // One slow broker must not use up the whole budget.
                let attempt = left.min(self.inner.settings.net.request_timeout);
                match self.metadata_from(id, topics, ask, attempt).await {
                    Ok(md) => {
                        trace_ctx!(self.observer().debug(), Metadata, broker = %md.orig_broker_name, brokers = md.brokers.len(), topics = md.topics.len(), "metadata answered");
                        self.absorb(&md, false);
                        return Ok(md);
                    }
                    // Every broker would refuse the same credentials or
                    // certificate: fail now, with that cause.
                    Err(e) if matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl) => {
                        return Err(e)
                    }
                    Err(e) => {
                        trace_ctx!(self.observer().debug(), Metadata, broker = id, error = %e, "metadata request failed");
                        last = Some(e);
                    }
                }
            }
            // Every broker failed this round; pause before the next
            // (connections apply their own reconnect backoff as well).
            round = round.saturating_add(1);
            let pause = self
                .inner
                .settings
                .net
                .reconnect_backoff
                .saturating_mul(round)
                .min(Duration::from_secs(1));
            tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
        }
        Err(match last {
            Some(e) if e.code() == codes::TIMED_OUT || e.code() == ErrorCode::Transport || e.code() == ErrorCode::Resolve => Error::new(
                codes::ALL_BROKERS_DOWN,
                format!(
                    "no broker answered a metadata request within {} ms (bootstrap.servers={}); last error: {}",
                    timeout.as_millis(),
                    self.bootstrap_list(),
                    e
                ),
            ),
            Some(e) => e,
            None => Error::new(
                codes::TIMED_OUT,
                format!("metadata request timed out after {} ms", timeout.as_millis()),
            ),
        })
    }

    fn bootstrap_list(&self) -> String {
        self.inner
            .settings
            .bootstrap
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Feeds an answer into the registry and the cache.
    fn absorb(&self, md: &Metadata, solicited: bool) {
        self.learn_brokers(&md.brokers);
        let update = MetadataUpdate {
            brokers: md.brokers.clone(),
            topics: md.topics.clone(),
            cluster_id: md.cluster_id.clone(),
            controller_id: md.controller_id,
        };
        let generation = {
            let mut st = self.state();
            let now = Instant::now().into_std();
            if solicited {
                st.on_response(update, now);
            } else {
                st.on_unsolicited(update, now);
            }
            st.generation()
        };
        self.inner.changed.send_replace(generation);
        self.inner.wake.notify_one();
    }

    /// The cached metadata of `topic`, waiting up to `timeout` for it to be
    /// fetched; fails with `UnknownTopic` once the propagation window ran out.
    pub(crate) async fn topic(&self, topic: &str, timeout: Duration) -> Result<Arc<TopicMetadata>> {
        let deadline = Instant::now() + timeout;
        let mut changes = self.inner.changed.subscribe();
        {
            self.state().reference(topic, Instant::now().into_std());
            self.inner.wake.notify_one();
        }
        loop {
            match self.state().lookup(topic, Instant::now().into_std()) {
                TopicLookup::Known(m) => return Ok(m),
                TopicLookup::Failed(e) => return Err(e),
                // Credentials or a certificate no broker accepts: no
                // answer will come, say why now.
                TopicLookup::Pending => {
                    if let Some(e) = self
                        .observer()
                        .last_error()
                        .filter(|e| matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl))
                    {
                        return Err(e);
                    }
                }
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Error::new(codes::DESTROY, "cluster handle closed")),
                Err(_) => return Err(self.metadata_timeout(topic, timeout)),
            }
        }
    }

    /// Why metadata for `topic` did not come within `timeout`: the last
    /// authentication or TLS failure as itself, else `_TIMED_OUT` naming
    /// the last broker-level error (a refused connection, a name that
    /// does not resolve) when there was one.
    pub(crate) fn metadata_timeout(&self, topic: &str, timeout: Duration) -> Error {
        let last = self.observer().last_error();
        if let Some(e) = last
            .as_ref()
            .filter(|e| matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl))
        {
            return e.clone();
        }
        let base = format!(
            "metadata for topic {topic} not available within {} ms",
            timeout.as_millis()
        );
        match last {
            Some(e) => Error::new(codes::TIMED_OUT, format!("{base}; last error: {e}")),
            None => Error::new(codes::TIMED_OUT, base),
        }
    }

    /// What the cache knows about `topic` now, never waiting: a topic not
    /// known yet is looked up (its answer changes [`Self::subscribe`]).
    pub(crate) fn lookup(&self, topic: &str) -> TopicLookup {
        let now = Instant::now().into_std();
        let mut st = self.state();
        let found = st.lookup(topic, now);
        if matches!(found, TopicLookup::Pending) {
            st.reference(topic, now);
            drop(st);
            self.inner.wake.notify_one();
        }
        found
    }

    /// Why `topic` is unusable, when the cache has declared it so (missing
    /// past the propagation window, or a topic error); never waits.
    pub(crate) fn topic_failure(&self, topic: &str) -> Option<Error> {
        match self.state().lookup(topic, Instant::now().into_std()) {
            TopicLookup::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The partitions of `topic`, from the cache (waiting for it as
    /// [`Self::topic`] does).
    pub(crate) async fn partitions_for(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Vec<PartitionMetadata>> {
        Ok(self.topic(topic, timeout).await?.partitions.clone())
    }

    /// The cached leader (broker id, leader epoch) of a partition, without
    /// waiting; `None` when unknown (a refresh is then requested).
    pub(crate) fn leader_for(&self, topic: &str, partition: i32) -> Option<(i32, Option<i32>)> {
        let mut st = self.state();
        let leader = st.leader(topic, partition);
        if leader.is_none() {
            st.reference(topic, Instant::now().into_std());
            self.inner.wake.notify_one();
        }
        leader
    }

    /// Reports a leader or partition error for `topic`: the cache refreshes
    /// it soon, many reports sharing one request.
    pub(crate) fn leader_error(&self, topic: &str) {
        self.state().leader_error(topic, Instant::now().into_std());
        self.inner.wake.notify_one();
    }

    /// A receiver that changes whenever the cache does.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// A broker learned from metadata.
    pub(crate) fn broker(&self, id: i32) -> Option<BrokerMetadata> {
        self.state().broker(id).cloned()
    }
}

/// Whether a partition's error means the metadata used for it is stale
/// (the leader moved, its epoch changed, the partition is not where the
/// metadata said, or the leader could not be reached), so that a request
/// after a metadata refresh can succeed. One list for every client: the
/// producer's Produce and the consumer's ListOffsets both refresh on these.
/// The more alive of two connection states (a broker is up when any of
/// its connections is).
fn best_state(a: ConnectionState, b: ConnectionState) -> ConnectionState {
    let rank = |s| match s {
        ConnectionState::Up => 3,
        ConnectionState::Connecting => 2,
        ConnectionState::Down => 1,
        _ => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

pub(crate) fn stale_leader(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::FencedLeaderEpoch
            | ErrorCode::UnknownLeaderEpoch
            | ErrorCode::OffsetNotAvailable
            | ErrorCode::ReplicaNotAvailable
            | ErrorCode::KafkaStorageError
            | ErrorCode::Transport
            | ErrorCode::NetworkException
            // No answer within the request timeout: the leader may be dead
            // (a killed broker whose address still takes connections, or
            // one never reached). Without a metadata refresh every retry
            // went back to it, even after the cluster had moved the
            // leadership (seen against Apache Kafka).
            | ErrorCode::TimedOut
    )
}

/// Encodes a request body at `version`.
fn encode<T: kafka_protocol::protocol::Encodable>(req: &T, version: i16) -> Result<bytes::Bytes> {
    let mut buf = bytes::BytesMut::new();
    req.encode(&mut buf, version).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArg,
            format!("cannot encode request v{version}: {e}"),
        )
    })?;
    Ok(buf.freeze())
}

/// What a Metadata request asks for besides its topics.
#[derive(Debug, Clone, Copy, Default)]
struct MetadataAsk {
    /// Let the broker create a missing topic (v4+).
    allow_auto_create: bool,
    /// Each topic's authorized operations (v8+).
    topic_operations: bool,
}

/// The MetadataRequest for `topics` (all when `None`) at `version`.
fn metadata_request(topics: Option<&[String]>, ask: MetadataAsk, version: i16) -> MetadataRequest {
    let topics = match topics {
        // v0 has no null array: an empty one means "all topics".
        None if version == 0 => Some(Vec::new()),
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    MetadataRequestTopic::default()
                        .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                })
                .collect(),
        ),
    };
    // Before v4 the broker alone decides auto-creation and the codec
    // insists on the field's default (true).
    MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(ask.allow_auto_create || version < 4)
        .with_include_topic_authorized_operations(ask.topic_operations && version >= 8)
}

/// The driver: sends the refreshes the state machine asks for.
async fn drive(inner: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let cluster = Cluster { inner: strong };
        let now = Instant::now();
        let scope = cluster.state().poll_refresh(now.into_std());
        if let Some(scope) = scope {
            let topics = match &scope {
                RefreshScope::All => None,
                RefreshScope::Topics(t) => Some(t.as_slice()),
            };
            let timeout = cluster.inner.settings.net.request_timeout;
            let candidates = cluster.metadata_candidates();
            let result = match candidates.first() {
                Some(&id) => {
                    cluster
                        .metadata_from(
                            id,
                            topics,
                            MetadataAsk {
                                allow_auto_create: cluster.inner.settings.allow_auto_create,
                                ..MetadataAsk::default()
                            },
                            timeout,
                        )
                        .await
                }
                None => Err(Error::new(codes::ALL_BROKERS_DOWN, "no broker known")),
            };
            match result {
                Ok(md) => {
                    trace_ctx!(cluster.observer().debug(), Metadata, broker = %md.orig_broker_name, brokers = md.brokers.len(), topics = md.topics.len(), "metadata refreshed");
                    cluster.absorb(&md, true)
                }
                Err(e) => {
                    trace_ctx!(cluster.observer().debug(), Metadata, error = %e, "metadata refresh failed");
                    cluster.observer().note(&e);
                    if matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl) {
                        *cluster
                            .inner
                            .security_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(e);
                        // Wake the clients waiting for metadata: they
                        // report this now instead of timing out.
                        let generation = *cluster.inner.changed.borrow();
                        cluster.inner.changed.send_replace(generation);
                    }
                    cluster.state().on_failure(Instant::now().into_std());
                }
            }
            continue;
        }
        let next = cluster.state().next_wakeup(Instant::now().into_std());
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        // Release the strong reference while sleeping so that dropping
        // the last handle ends this task.
        drop(cluster);
        match next {
            Some(t) => {
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep_until(Instant::from_std(t)) => {}
                }
            }
            None => notified.await,
        }
        if inner.strong_count() == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::state::MetadataSettings;
    use super::*;
    use crate::net::NetSettings;
    use ferrokafka_mock::MockCluster;

    fn settings(bootstrap: &str, propagation_ms: u64) -> ClusterSettings {
        ClusterSettings {
            bootstrap: bootstrap
                .split(',')
                .map(|s| BrokerAddress::parse(s).unwrap())
                .collect(),
            net: Arc::new(NetSettings {
                request_timeout: Duration::from_secs(5),
                reconnect_backoff: Duration::from_millis(20),
                ..NetSettings::default()
            }),
            metadata: MetadataSettings {
                propagation_max: Duration::from_millis(propagation_ms),
                min_interval: Duration::from_millis(20),
                fast_interval: Duration::from_millis(20),
                ..MetadataSettings::default()
            },
            allow_auto_create: false,
            rebootstrap: true,
            topic_blacklist: Vec::new(),
        }
    }

    #[tokio::test]
    async fn cache_follows_the_mock_cluster() {
        let mock = MockCluster::builder()
            .brokers(3)
            .topic("orders", 4, 3)
            .auto_create_topics(false)
            .build()
            .await
            .unwrap();
        let c = Cluster::new(
            settings(&mock.bootstrap_servers(), 300),
            ClientRuntime::current_or_owned().unwrap(),
        )
        .unwrap();
        let wait = Duration::from_secs(5);
        let parts = c.partitions_for("orders", wait).await.unwrap();
        assert_eq!(parts.len(), 4);
        for p in &parts {
            let (leader, _) = c.leader_for("orders", p.id).unwrap();
            assert_eq!(Some(leader), mock.partition_leader("orders", p.id));
            assert!(
                c.broker(leader).is_some(),
                "leader {leader} is a known broker"
            );
        }
        // A leader move is picked up after a reported leader error.
        let old = c.leader_for("orders", 0).unwrap().0;
        let new = if old == 1 { 2 } else { 1 };
        mock.move_leader("orders", 0, new).unwrap();
        let mut changes = c.subscribe();
        c.leader_error("orders");
        tokio::time::timeout(wait, async {
            while c.leader_for("orders", 0).map(|l| l.0) != Some(new) {
                changes.changed().await.unwrap();
            }
        })
        .await
        .expect("leader move seen");
        // A topic that never appears is declared unknown after the window.
        let t0 = Instant::now();
        let err = c.topic("nope", wait).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnknownTopic, "{err}");
        assert!(
            t0.elapsed() >= Duration::from_millis(290),
            "{:?}",
            t0.elapsed()
        );
        // A topic created within the window is found.
        let c2 = c.clone();
        let late = tokio::spawn(async move { c2.topic("late", Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        mock.create_topic("late", 2, 1).unwrap();
        let late = late.await.unwrap().unwrap();
        assert_eq!(late.partitions.len(), 2);
        // Coordinator lookup.
        let coord = c
            .coordinator(CoordinatorType::Group, "g1", wait)
            .await
            .unwrap();
        assert!(mock.broker_ids().contains(&coord));
        assert!(c.connection(coord, ConnectionKind::Group).is_ok());
    }

    /// topic.blacklist: a matching topic is left out of every metadata
    /// answer (as if it did not exist); metadata.recovery.strategy=none
    /// drops the bootstrap servers from the candidates once brokers are
    /// known.
    #[tokio::test]
    async fn blacklisted_topics_do_not_exist_and_none_forgets_the_bootstrap() {
        let mock = MockCluster::builder()
            .brokers(1)
            .topic("orders", 1, 1)
            .topic("secret.payroll", 1, 1)
            .auto_create_topics(false)
            .build()
            .await
            .unwrap();
        let mut s = settings(&mock.bootstrap_servers(), 0);
        s.topic_blacklist = vec![regex::Regex::new("^secret").unwrap()];
        s.rebootstrap = false;
        let c = Cluster::new(s, ClientRuntime::current_or_owned().unwrap()).unwrap();
        let wait = Duration::from_secs(5);
        assert_eq!(c.partitions_for("orders", wait).await.unwrap().len(), 1);
        let err = c.topic("secret.payroll", wait).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::UnknownTopic, "{err}");
        let all = c.metadata(None, wait).await.unwrap();
        let names: Vec<&str> = all.topics.iter().map(|t| t.name.as_str()).collect();
        assert!(
            names.contains(&"orders") && !names.iter().any(|n| n.starts_with("secret")),
            "{names:?}"
        );
        let candidates = c.metadata_candidates();
        assert!(
            !candidates.is_empty() && candidates.iter().all(|&id| id >= 0),
            "{candidates:?}"
        );
    }

    #[test]
    fn settings_come_from_the_configuration() {
        use crate::config::ClientRole;
        let base = crate::ClientConfig::new()
            .set("bootstrap.servers", "a:1,[::1]:2")
            .set("topic.metadata.refresh.interval.ms", "-1")
            .set("topic.metadata.propagation.max.ms", "1234");
        let admin =
            ClusterSettings::from_config(&base.validate(ClientRole::Admin).unwrap()).unwrap();
        assert_eq!(admin.bootstrap.len(), 2);
        assert_eq!(admin.bootstrap[1].host, "::1");
        assert_eq!(admin.metadata.refresh_interval, None);
        assert_eq!(admin.metadata.propagation_max, Duration::from_millis(1234));
        assert!(!admin.allow_auto_create);
        let producer =
            ClusterSettings::from_config(&base.clone().validate(ClientRole::Producer).unwrap())
                .unwrap();
        assert!(
            producer.allow_auto_create,
            "producers may auto-create by default"
        );
        let off = base
            .set("allow.auto.create.topics", "false")
            .validate(ClientRole::Producer)
            .unwrap();
        assert!(
            !ClusterSettings::from_config(&off)
                .unwrap()
                .allow_auto_create
        );
    }

    #[tokio::test]
    async fn explicit_metadata_tries_the_next_broker() {
        let mock = MockCluster::builder()
            .brokers(2)
            .topic("t", 1, 1)
            .build()
            .await
            .unwrap();
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let c = Cluster::new(
            settings(&format!("{dead},{}", mock.bootstrap_servers()), 300),
            ClientRuntime::current_or_owned().unwrap(),
        )
        .unwrap();
        for _ in 0..3 {
            let md = c
                .metadata(Some(&["t".to_string()]), Duration::from_secs(5))
                .await
                .unwrap();
            assert_eq!(md.brokers.len(), 2);
            assert_eq!(md.topics[0].partitions.len(), 1);
            assert!(md.orig_broker_id > 0);
        }
    }
}
