//! ferrokafka-mock: a Kafka cluster in one process, for tests, demos and
//! benchmarks.
//!
//! N brokers (default 3, ids `1..=N`) each listen on their own 127.0.0.1
//! port and speak the real Kafka protocol, flexible versions included, so
//! any client works against them unchanged (librdkafka, kafka-python, kcat,
//! ferrokafka). Topics live in memory with partitions, replica sets, leaders
//! and leader epochs; replication is instantaneous.
//!
//! Served (versions): ApiVersions 0-4, Metadata 0-13, Produce 3-12 (acks
//! 0/1/all, one v2 batch per partition with CRC-32C and header checks,
//! idempotent sequence checks), Fetch 4-16 (long polling, byte limits,
//! read_committed with aborted-transaction lists, fetch sessions (KIP-227)
//! from v7 in a bounded cache per broker), ListOffsets 1-10,
//! OffsetForLeaderEpoch 2-4, CreateTopics 2-7, DeleteTopics 1-6,
//! CreatePartitions 0-3, and the group and transaction coordinator APIs of
//! the `coordinator` module. The floors are Kafka 4's (those of the
//! `kafka-protocol` crate); clients negotiate through ApiVersions.
//!
//! Simplifications, each visible to a client: replication is instantaneous
//! (acks=1 and acks=all answer alike; the high watermark is the log end);
//! no leader-epoch history (OffsetForLeaderEpoch never reports truncation);
//! a broker that is down is left out of Metadata and the partitions it
//! leads answer LEADER_NOT_AVAILABLE until it is up or the leader is moved.
//! Malformed or unsupported requests close their connection, as Kafka does.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let cluster = ferrokafka_mock::MockCluster::builder().brokers(3).topic("orders", 4, 2).build().await?;
//! let bootstrap = cluster.bootstrap_servers(); // "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
//! cluster.push_request_errors(0, &[6, 6]); // next two Produce requests: NOT_LEADER_OR_FOLLOWER
//! cluster.broker_down(2)?; // connections to broker 2 refused and closed
//! # let _ = bootstrap; Ok(()) }
//! ```
//!
//! # Faults
//!
//! Every fault is a method of [`MockCluster`] and a line of the control
//! protocol read by `ferrokafka mock` on its standard input (one command a
//! line; it answers `ok` or `error: ...` on standard output). `API` is an API
//! name as Kafka spells it, case-insensitive (`Produce`, `fetch`,
//! `FindCoordinator`...) or its numeric key; codes are Kafka error codes.
//!
//! | line | method | effect |
//! |---|---|---|
//! | `errors API C1,C2,...` | [`MockCluster::push_request_errors`] | the next requests of API, on any broker, fail with C1, C2, ... (not applied) |
//! | `broker-errors B API C[:MS],...` | [`MockCluster::push_broker_request_errors`] | same on broker B only, each answered after MS ms |
//! | `down B` / `up B` | [`MockCluster::broker_down`] / [`MockCluster::broker_up`] | B refuses connections and closes open ones / serves again |
//! | `rtt B MS` | [`MockCluster::set_broker_rtt`] | every response of B is delayed by MS ms |
//! | `leader TOPIC P B` | [`MockCluster::move_leader`] | B leads TOPIC/P, leader epoch + 1 |
//! | `close-after B N` | [`MockCluster::close_connection_after`] | the connection serving B's N-th next request closes after answering it |
//! | `drop API N` | [`MockCluster::drop_next_responses`] | the next N requests of API are applied but not answered |
//! | `evict-sessions B` | [`MockCluster::evict_fetch_sessions`] | B drops every fetch session it keeps |
//! | `create TOPIC P [R]` | [`MockCluster::create_topic`] | creates a topic |
//! | `quit` | | stops the cluster |
//!
//! # Blackhole mode
//!
//! With [`MockClusterBuilder::blackhole`], Produce is acknowledged with real
//! offsets (each partition's high watermark advances by the batch's record
//! count) but nothing is stored, and the request is read by a lean parser
//! that stops at what the response needs: the broker side of benchmarks.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod blackhole;
mod cluster;
mod coordinator;
mod guard;
mod log;
mod security;
mod server;

/// The I/O-free group coordinator (JoinGroup, SyncGroup, Heartbeat on a
/// caller's clock), for the client's in-memory pair test of its group
/// membership (no sockets, one simulated clock). Not a stable API.
#[doc(hidden)]
pub mod sans_io {
    pub use crate::coordinator::group::{
        Completion, GroupConfig, Groups, JoinParams, JoinResult, JoinedMember, Reply, SyncParams,
        SyncResult, Ticket,
    };
}

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use tokio::sync::watch;

pub use api::fetch_session::FetchSessionStats;
use cluster::{BrokerState, ClusterState, Config, QueuedError, Shared};
pub use security::Authentication;

/// Builds a [`MockCluster`]; see [`MockCluster::builder`].
#[derive(Debug, Clone)]
pub struct MockClusterBuilder {
    brokers: usize,
    ports: Vec<u16>,
    topics: Vec<(String, i32, i16)>,
    config: Config,
    /// A listener setting that could not be applied, reported by `build`.
    error: Option<String>,
}

impl MockClusterBuilder {
    /// Number of brokers (default 3, at least 1). Broker ids are `1..=n`.
    pub fn brokers(mut self, n: usize) -> Self {
        self.brokers = n.max(1);
        self
    }
    /// Listening ports, one per broker in id order; 0 or a missing entry
    /// takes any free port (the default).
    pub fn ports(mut self, ports: &[u16]) -> Self {
        self.ports = ports.to_vec();
        self
    }
    /// Creates `name` with `partitions` partitions and `replication`
    /// replicas (at most the broker count) at start.
    pub fn topic(mut self, name: &str, partitions: i32, replication: i16) -> Self {
        self.topics
            .push((name.to_string(), partitions, replication));
        self
    }
    /// Creates unknown topics on Metadata and Produce requests (default
    /// true), as the broker's `auto.create.topics.enable`.
    pub fn auto_create_topics(mut self, on: bool) -> Self {
        self.config.auto_create_topics = on;
        self
    }
    /// Partitions of auto-created topics and of CreateTopics asking for -1
    /// (default 1, as the broker's `num.partitions`).
    pub fn default_partitions(mut self, n: i32) -> Self {
        self.config.default_partitions = n.max(1);
        self
    }
    /// Replication factor of auto-created topics (default 1), capped at the
    /// broker count.
    pub fn default_replication(mut self, n: i16) -> Self {
        self.config.default_replication = n.max(1);
        self
    }
    /// Per-partition retention in bytes: the oldest batches are dropped and
    /// the log start offset moves forward (default: unbounded).
    pub fn retention_bytes(mut self, bytes: u64) -> Self {
        self.config.retention_bytes = Some(bytes);
        self
    }
    /// Acknowledge produce without storing records (see the crate docs).
    pub fn blackhole(mut self, on: bool) -> Self {
        self.config.blackhole = on;
        self
    }
    /// Largest record batch accepted (default 1048588, the broker's
    /// `message.max.bytes`); larger ones get MESSAGE_TOO_LARGE.
    pub fn max_message_bytes(mut self, n: usize) -> Self {
        self.config.max_message_bytes = n;
        self
    }
    /// Stamp batches with the broker's time (`LogAppendTime`) instead of
    /// keeping the producer's `CreateTime` (default false).
    pub fn log_append_time(mut self, on: bool) -> Self {
        self.config.log_append_time = on;
        self
    }
    /// Fetch sessions (KIP-227) each broker keeps before evicting the least
    /// recently used (default 1000, as the broker's
    /// `max.incremental.fetch.session.cache.slots`); 0 keeps none, so every
    /// fetch is answered in full with session id 0.
    pub fn fetch_session_cache_slots(mut self, n: usize) -> Self {
        self.config.fetch_session_slots = n;
        self
    }

    /// Serves TLS on every broker's listener with this certificate chain
    /// and key (PEM text), TLS 1.2 and 1.3, no client certificate asked.
    /// An unusable certificate or key fails [`build`](Self::build).
    pub fn tls(self, cert_chain_pem: &str, key_pem: &str) -> Self {
        self.tls_config(cert_chain_pem, key_pem, None)
    }
    /// As [`tls`](Self::tls), and clients must present a certificate that
    /// chains to `client_ca_pem` (mutual TLS, the broker's
    /// `ssl.client.auth=required`).
    pub fn tls_client_auth(self, cert_chain_pem: &str, key_pem: &str, client_ca_pem: &str) -> Self {
        self.tls_config(cert_chain_pem, key_pem, Some(client_ca_pem))
    }
    fn tls_config(mut self, cert: &str, key: &str, ca: Option<&str>) -> Self {
        match security::server_config(cert, key, ca) {
            Ok(c) => self.config.listener.tls = Some(c),
            Err(e) => self.error = Some(e.to_string()),
        }
        self
    }
    /// Requires SASL authentication on every listener and adds `user` with
    /// `password`; PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER
    /// (unsecured JWTs: any token with a `sub` claim that has not expired)
    /// are offered. Call once per user.
    pub fn sasl_user(mut self, user: &str, password: &str) -> Self {
        let mut users = self
            .config
            .listener
            .users
            .as_deref()
            .cloned()
            .unwrap_or_default();
        users.insert(user.to_string(), password.to_string());
        self.config.listener.users = Some(Arc::new(users));
        self
    }

    /// Enforces ACLs on topic operations (Metadata, Produce, Fetch,
    /// ListOffsets, CreateTopics, DeleteTopics) for each connection's
    /// principal, `User:name` after SASL and `User:ANONYMOUS` without, as
    /// a broker with an authorizer and `allow.everyone.if.no.acl.found=false`
    /// does; `super_users` (e.g. `User:admin`) pass every check.
    pub fn authorizer(mut self, super_users: &[&str]) -> Self {
        self.config.authorizer = Some(Arc::new(
            super_users.iter().map(|s| s.to_string()).collect(),
        ));
        self
    }

    /// Authenticated sessions last `lifetime` (the broker's
    /// `connections.max.reauth.ms`, KIP-368): SaslAuthenticate v1+ tells the
    /// client, and a request after it closes the connection unless the
    /// client authenticated again.
    pub fn sasl_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.listener.session_lifetime = Some(lifetime);
        self
    }

    fn shared(&self, ports: &[u16]) -> io::Result<Shared> {
        if let Some(e) = &self.error {
            return Err(invalid(e.clone()));
        }
        let brokers = (0..self.brokers)
            .map(|i| BrokerState {
                id: i as i32 + 1,
                host: "127.0.0.1".into(),
                port: ports.get(i).copied().unwrap_or(0),
                up: true,
                rtt: Duration::ZERO,
                close_after: None,
            })
            .collect();
        let mut state = ClusterState::new(brokers);
        for (name, p, r) in &self.topics {
            state
                .create_topic(&self.config, name, *p, *r, &[], false)
                .map_err(|(_, msg)| io::Error::new(io::ErrorKind::InvalidInput, msg))?;
        }
        Ok(Shared::new(self.config.clone(), state))
    }

    /// Binds every broker and starts serving on the current tokio runtime.
    pub async fn build(self) -> io::Result<MockCluster> {
        let mut listeners = Vec::with_capacity(self.brokers);
        let mut ports = Vec::with_capacity(self.brokers);
        for i in 0..self.brokers {
            let l = server::bind(self.ports.get(i).copied().unwrap_or(0))?;
            ports.push(l.local_addr()?.port());
            listeners.push(l);
        }
        let shared = Arc::new(self.shared(&ports)?);
        let (shutdown, rx) = watch::channel(false);
        for (i, l) in listeners.into_iter().enumerate() {
            tokio::spawn(server::run_broker(
                shared.clone(),
                i as i32 + 1,
                l,
                ports[i],
                rx.clone(),
            ));
        }
        tokio::spawn(tick(shared.clone(), rx));
        Ok(MockCluster {
            shared,
            shutdown,
            ports,
            runtime: None,
        })
    }

    /// Starts the cluster on its own runtime thread, for code that is not
    /// async (the CLI, blocking tests). Dropping the cluster stops the thread.
    pub fn build_blocking(self) -> io::Result<MockCluster> {
        MockCluster::start_blocking(self)
    }
}

/// Lets the coordinator's timeouts (sessions, transactions) fire while no
/// client talks to it.
async fn tick(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = every.tick() => coordinator::tick(&shared),
            _ = shutdown.changed() => return,
        }
    }
}

/// The runtime thread of a cluster started with [`MockCluster::start_blocking`].
#[derive(Debug)]
struct RuntimeThread {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A running mock cluster. Dropping it (or [`MockCluster::shutdown`]) stops
/// every broker and closes every connection.
#[derive(Debug)]
pub struct MockCluster {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    ports: Vec<u16>,
    runtime: Option<RuntimeThread>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl MockCluster {
    /// A builder with the defaults: 3 brokers, no topics, auto-creation on
    /// with 1 partition, unbounded retention.
    pub fn builder() -> MockClusterBuilder {
        MockClusterBuilder {
            brokers: 3,
            ports: Vec::new(),
            topics: Vec::new(),
            config: Config {
                auto_create_topics: true,
                default_partitions: 1,
                default_replication: 1,
                retention_bytes: None,
                blackhole: false,
                max_message_bytes: 1_048_588,
                max_frame_bytes: 100 * 1024 * 1024,
                log_append_time: false,
                cluster_id: "ferrokafka-mock".into(),
                fetch_session_slots: 1000,
                listener: Default::default(),
                authorizer: None,
            },
            error: None,
        }
    }

    /// Starts `builder`'s cluster on a runtime thread of its own (two worker
    /// threads), so it can be used from code that is not async.
    pub fn start_blocking(builder: MockClusterBuilder) -> io::Result<MockCluster> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("ferrokafka-mock".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let _ = tx.send(builder.build().await);
                    let _ = stop_rx.await;
                });
            })?;
        let mut runtime = RuntimeThread {
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match rx.recv() {
            Ok(Ok(mut c)) => {
                c.runtime = Some(runtime);
                Ok(c)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                runtime.stop = None;
                Err(io::Error::other(
                    "the mock cluster's runtime thread ended before starting",
                ))
            }
        }
    }

    /// `127.0.0.1:p1,127.0.0.1:p2,...` in broker id order.
    pub fn bootstrap_servers(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Broker ids, `1..=n`.
    pub fn broker_ids(&self) -> Vec<i32> {
        (1..=self.ports.len() as i32).collect()
    }

    /// The address broker `id` listens on.
    pub fn broker_addr(&self, id: i32) -> Option<SocketAddr> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.ports
            .get(i)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
    }

    /// Stops every broker and closes every connection (also done on drop).
    pub fn shutdown(self) {}

    /// Creates a topic (`replication` at most the broker count).
    pub fn create_topic(&self, name: &str, partitions: i32, replication: i16) -> io::Result<()> {
        let mut st = self.shared.state();
        st.create_topic(
            &self.shared.config,
            name,
            partitions,
            replication,
            &[],
            false,
        )
        .map(|_| ())
        .map_err(|(_, msg)| invalid(msg))
    }

    /// The next requests of `api_key` (any broker) fail with `codes`, one
    /// code per request, without being applied.
    pub fn push_request_errors(&self, api_key: i16, codes: &[i16]) {
        let mut st = self.shared.state();
        let q = st.faults.errors.entry(api_key).or_default();
        q.extend(codes.iter().map(|&code| QueuedError {
            code,
            delay: Duration::ZERO,
        }));
    }

    /// The next requests of `api_key` on broker `broker_id` fail with the
    /// given codes, each answered after its delay, without being applied.
    pub fn push_broker_request_errors(
        &self,
        broker_id: i32,
        api_key: i16,
        errors: &[(i16, Duration)],
    ) {
        let mut st = self.shared.state();
        let q = st
            .faults
            .broker_errors
            .entry((broker_id, api_key))
            .or_default();
        q.extend(
            errors
                .iter()
                .map(|&(code, delay)| QueuedError { code, delay }),
        );
    }

    fn set_up(&self, id: i32, up: bool) -> io::Result<()> {
        let w = self
            .shared
            .up_watch(id)
            .ok_or_else(|| invalid(format!("broker {id} does not exist")))?;
        if let Some(b) = self.shared.state().broker_mut(id) {
            b.up = up;
        }
        w.send_replace(up);
        Ok(())
    }

    /// Takes broker `id` down: its listener closes (connects are refused)
    /// and its open connections are closed. Metadata leaves it out.
    pub fn broker_down(&self, id: i32) -> io::Result<()> {
        self.set_up(id, false)
    }

    /// Brings broker `id` back on the same port.
    pub fn broker_up(&self, id: i32) -> io::Result<()> {
        self.set_up(id, true)
    }

    /// Delays every response of broker `id` by `rtt`.
    pub fn set_broker_rtt(&self, id: i32, rtt: Duration) -> io::Result<()> {
        let mut st = self.shared.state();
        let b = st
            .broker_mut(id)
            .ok_or_else(|| invalid(format!("broker {id} does not exist")))?;
        b.rtt = rtt;
        Ok(())
    }

    /// Makes `broker_id` the leader of `topic`/`partition` and bumps the
    /// leader epoch; the old leader answers NOT_LEADER_OR_FOLLOWER.
    pub fn move_leader(&self, topic: &str, partition: i32, broker_id: i32) -> io::Result<()> {
        self.shared
            .state()
            .move_leader(topic, partition, broker_id)
            .map_err(invalid)
    }

    /// The connection on which broker `id` serves its `n`-th next request
    /// is closed right after answering it (one shot).
    pub fn close_connection_after(&self, id: i32, n: u64) -> io::Result<()> {
        let mut st = self.shared.state();
        let b = st
            .broker_mut(id)
            .ok_or_else(|| invalid(format!("broker {id} does not exist")))?;
        b.close_after = (n > 0).then_some(n);
        Ok(())
    }

    /// The next `n` SASL authentications fail as if the credentials were
    /// wrong (SASL_AUTHENTICATION_FAILED, or a closed connection after a
    /// v0 handshake).
    pub fn fail_next_authentications(&self, n: u32) {
        self.shared.security.fail_next(n);
    }

    /// Connections closed because their SASL session expired without
    /// re-authentication.
    pub fn expired_sessions(&self) -> u32 {
        self.shared.security.expired_sessions()
    }

    /// SASL exchanges that failed so far (wrong credentials, injected
    /// failures, malformed tokens): how often a client tried.
    pub fn failed_authentications(&self) -> u32 {
        self.shared.security.failed_authentications()
    }

    /// The SNI host name of every TLS handshake completed so far, oldest
    /// first (`None` when the client sent none, as for an IP address).
    pub fn tls_server_names(&self) -> Vec<Option<String>> {
        self.shared.security.tls_server_names()
    }

    /// Every successful SASL authentication so far, oldest first.
    pub fn authentications(&self) -> Vec<Authentication> {
        self.shared.security.log()
    }

    /// The next `n` requests of `api_key` are applied but get no response
    /// (the "possibly persisted" case); the connection stays open.
    pub fn drop_next_responses(&self, api_key: i16, n: u32) {
        *self
            .shared
            .state()
            .faults
            .drop_responses
            .entry(api_key)
            .or_default() += n;
    }

    /// With `on`, idempotent batches are written without their producer
    /// sequence being checked: no OUT_OF_ORDER_SEQUENCE_NUMBER, no duplicate
    /// recognised. This is what librdkafka's mock cluster does for a
    /// producer without a transactional id; a client must keep order there
    /// by itself.
    pub fn skip_sequence_checks(&self, on: bool) {
        self.shared.state().faults.skip_sequence_checks = on;
    }

    /// Current leader of `topic`/`partition`.
    pub fn partition_leader(&self, topic: &str, partition: i32) -> Option<i32> {
        self.shared
            .state()
            .partition(topic, partition)
            .map(|p| p.leader)
    }

    /// High watermark of `topic`/`partition`.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.shared
            .state()
            .partition(topic, partition)
            .map(|p| p.log.high_watermark())
    }

    /// Log start offset of `topic`/`partition`.
    pub fn log_start_offset(&self, topic: &str, partition: i32) -> Option<i64> {
        self.shared
            .state()
            .partition(topic, partition)
            .map(|p| p.log.log_start_offset())
    }

    /// The broker coordinating group (or transactional id) `key` now:
    /// a hash of the key over the brokers that are up; `None` when every
    /// broker is down.
    pub fn coordinator(&self, key: &str) -> Option<i32> {
        coordinator::coordinator_for(&self.shared.state(), key)
    }

    /// The current generation of consumer group `group`, `None` if the
    /// group does not exist. A generation that stays the same across a
    /// fault means no rebalance happened.
    pub fn group_generation(&self, group: &str) -> Option<i32> {
        self.shared.coordinator.group_generation(group)
    }

    /// Counters of the brokers' fetch-session caches (KIP-227).
    pub fn fetch_session_stats(&self) -> FetchSessionStats {
        self.shared.fetch_sessions.stats()
    }

    /// Drops every fetch session broker `id` keeps, as a restart would: the
    /// next incremental fetch of each is answered FETCH_SESSION_ID_NOT_FOUND.
    /// Returns how many were dropped.
    pub fn evict_fetch_sessions(&self, id: i32) -> io::Result<usize> {
        if self.shared.up_watch(id).is_none() {
            return Err(invalid(format!("broker {id} does not exist")));
        }
        Ok(self.shared.fetch_sessions.evict_all(id))
    }

    /// Topic names.
    pub fn topics(&self) -> Vec<String> {
        self.shared.state().topics.keys().cloned().collect()
    }

    /// Applies one line of the control protocol (see the crate docs) and
    /// returns what to print: `Ok("ok")` or a message naming the problem.
    pub fn apply_control(&self, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str, what: &str| -> Result<i64, String> {
            s.parse::<i64>()
                .map_err(|_| format!("{what} {s:?} is not a number"))
        };
        let usage =
            || format!("cannot parse {line:?}: see `ferrokafka mock --help` for the commands");
        let e = |r: io::Result<()>| r.map_err(|e| e.to_string());
        match words.as_slice() {
            [] => return Ok(String::new()),
            ["errors", api, codes] => {
                let codes = codes
                    .split(',')
                    .map(|c| num(c, "error code").map(|c| c as i16))
                    .collect::<Result<Vec<_>, _>>()?;
                self.push_request_errors(parse_api(api)?, &codes);
            }
            ["broker-errors", b, api, codes] => {
                let mut list = Vec::new();
                for item in codes.split(',') {
                    let (c, ms) = item.split_once(':').unwrap_or((item, "0"));
                    list.push((
                        num(c, "error code")? as i16,
                        Duration::from_millis(num(ms, "delay")?.max(0) as u64),
                    ));
                }
                self.push_broker_request_errors(num(b, "broker")? as i32, parse_api(api)?, &list);
            }
            ["down", b] => e(self.broker_down(num(b, "broker")? as i32))?,
            ["up", b] => e(self.broker_up(num(b, "broker")? as i32))?,
            ["rtt", b, ms] => e(self.set_broker_rtt(
                num(b, "broker")? as i32,
                Duration::from_millis(num(ms, "rtt")?.max(0) as u64),
            ))?,
            ["leader", t, p, b] => {
                e(self.move_leader(t, num(p, "partition")? as i32, num(b, "broker")? as i32))?
            }
            ["close-after", b, n] => e(self
                .close_connection_after(num(b, "broker")? as i32, num(n, "count")?.max(0) as u64))?,
            ["drop", api, n] => self.drop_next_responses(
                parse_api(api)?,
                num(n, "count")?.clamp(0, u32::MAX as i64) as u32,
            ),
            ["evict-sessions", b] => e(self
                .evict_fetch_sessions(num(b, "broker")? as i32)
                .map(|_| ()))?,
            ["create", t, p] => e(self.create_topic(t, num(p, "partitions")? as i32, 1))?,
            ["create", t, p, r] => e(self.create_topic(
                t,
                num(p, "partitions")? as i32,
                num(r, "replication")? as i16,
            ))?,
            _ => return Err(usage()),
        }
        Ok("ok".into())
    }
}

/// An API named as Kafka spells it (case-insensitive) or by number.
fn parse_api(s: &str) -> Result<i16, String> {
    if let Ok(n) = s.parse::<i16>() {
        return Ok(n);
    }
    ApiKey::iter()
        .find(|k| format!("{k:?}").eq_ignore_ascii_case(s))
        .map(|k| k as i16)
        .ok_or_else(|| format!("unknown API {s:?}: use a Kafka API name such as Produce or Fetch, or its key number"))
}

impl Drop for MockCluster {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        // `runtime` (if any) is dropped after this: it stops and joins its thread.
    }
}

/// Pushes arbitrary bytes through request decoding and dispatch of an
/// in-memory cluster (no sockets). Panics only on a bug: the fuzz target.
#[doc(hidden)]
pub fn fuzz_handle_frame(data: &[u8]) {
    let builder = MockCluster::builder()
        .brokers(3)
        .default_partitions(2)
        .retention_bytes(1 << 16)
        .topic("t", 2, 2);
    let Ok(shared) = builder.shared(&[9001, 9002, 9003]) else {
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    let frame = bytes::Bytes::copy_from_slice(data);
    rt.block_on(async {
        // Long polls and coordinator waits are cut at their first wait.
        let _ = tokio::time::timeout(
            Duration::ZERO,
            server::handle_frame(&shared, 1, "User:ANONYMOUS", frame),
        )
        .await;
    });
}
