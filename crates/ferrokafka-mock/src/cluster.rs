//! The cluster's shared state: brokers, topics, partitions (with their logs),
//! pending faults and the configuration fixed at build time.
//!
//! Everything mutable sits behind one `std::sync::Mutex` in [`Shared`]; no
//! lock is held across an `.await`. The coordinator keeps its own state in
//! [`Shared::coordinator`] and uses the partition log API of `log.rs`
//! through [`ClusterState::append_txn_marker`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use indexmap::IndexMap;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::coordinator;
use crate::log::PartitionLog;

/// Settings fixed when the cluster is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) auto_create_topics: bool,
    pub(crate) default_partitions: i32,
    pub(crate) default_replication: i16,
    pub(crate) retention_bytes: Option<u64>,
    pub(crate) blackhole: bool,
    pub(crate) max_message_bytes: usize,
    pub(crate) max_frame_bytes: usize,
    pub(crate) log_append_time: bool,
    pub(crate) cluster_id: String,
    /// Fetch sessions each broker keeps (KIP-227); 0 keeps none.
    pub(crate) fetch_session_slots: usize,
    /// TLS and SASL of every broker's listener.
    pub(crate) listener: crate::security::Listener,
    /// With `Some(super users)`, ACLs are enforced (see `api::authorizer`).
    pub(crate) authorizer: Option<std::sync::Arc<Vec<String>>>,
}

/// State shared by every broker task of one cluster.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<ClusterState>,
    /// Woken (`notify_waiters`) after every append, so parked fetches re-check.
    pub(crate) data_arrived: Notify,
    /// Group and transaction coordinator state (see `coordinator/`).
    pub(crate) coordinator: coordinator::State,
    /// Per broker: `true` while it is up. Listeners and connections watch it.
    pub(crate) broker_up: Vec<(i32, watch::Sender<bool>)>,
    /// Every broker's fetch-session cache (see `api::fetch_session`).
    pub(crate) fetch_sessions: crate::api::fetch_session::Sessions,
    /// Authentication faults and the record of who authenticated.
    pub(crate) security: crate::security::State,
    /// Finalized feature levels (see `api::features`).
    pub(crate) features: crate::api::features::Features,
    /// Client quotas (see `api::quotas`).
    pub(crate) quotas: crate::api::quotas::Quotas,
}

impl Shared {
    pub(crate) fn new(config: Config, state: ClusterState) -> Self {
        let broker_up = state
            .brokers
            .iter()
            .map(|b| (b.id, watch::channel(true).0))
            .collect();
        let security = crate::security::State::default();
        if let Some(users) = &config.listener.users {
            security.seed_scram(users);
        }
        Self {
            config,
            state: Mutex::new(state),
            data_arrived: Notify::new(),
            coordinator: coordinator::State::default(),
            broker_up,
            fetch_sessions: Default::default(),
            security,
            features: Default::default(),
            quotas: Default::default(),
        }
    }

    /// Locks the cluster state. A panic while holding the lock (a bug) must not
    /// wedge the mock, so a poisoned lock is taken over.
    pub(crate) fn state(&self) -> MutexGuard<'_, ClusterState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every fetch parked waiting for data.
    pub(crate) fn notify_data(&self) {
        self.data_arrived.notify_waiters();
    }

    pub(crate) fn up_watch(&self, broker_id: i32) -> Option<&watch::Sender<bool>> {
        self.broker_up
            .iter()
            .find(|(id, _)| *id == broker_id)
            .map(|(_, w)| w)
    }
}

/// One broker as the cluster sees it.
#[derive(Debug, Clone)]
pub(crate) struct BrokerState {
    pub(crate) id: i32,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) up: bool,
    /// Added to every response of this broker.
    pub(crate) rtt: Duration,
    /// Requests left before this broker closes the connection that serves
    /// the last of them (one shot).
    pub(crate) close_after: Option<u64>,
}

/// One partition: its replica set, leader, leader epoch and log.
#[derive(Debug)]
pub(crate) struct Partition {
    pub(crate) leader: i32,
    pub(crate) leader_epoch: i32,
    pub(crate) replicas: Vec<i32>,
    pub(crate) log: PartitionLog,
}

/// One topic.
#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) id: Uuid,
    pub(crate) partitions: Vec<Partition>,
    pub(crate) replication: i16,
    /// Topic configs set at creation or altered (see `api::configs`).
    pub(crate) configs: BTreeMap<String, String>,
}

/// An error code queued for the next request(s) of one API.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueuedError {
    pub(crate) code: i16,
    pub(crate) delay: Duration,
}

/// Faults waiting to hit future requests.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Cluster-wide, by api key.
    pub(crate) errors: HashMap<i16, VecDeque<QueuedError>>,
    /// Per (broker, api key).
    pub(crate) broker_errors: HashMap<(i32, i16), VecDeque<QueuedError>>,
    /// Responses to swallow, by api key.
    pub(crate) drop_responses: HashMap<i16, u32>,
    /// Write idempotent batches without checking their sequence.
    pub(crate) skip_sequence_checks: bool,
}

/// Mutable state of the whole cluster.
#[derive(Debug)]
pub(crate) struct ClusterState {
    pub(crate) brokers: Vec<BrokerState>,
    pub(crate) topics: IndexMap<String, Topic>,
    pub(crate) faults: Faults,
    /// Dynamic broker and broker-logger configs by (resource type, name);
    /// see `api::configs`.
    pub(crate) dynamic_configs: HashMap<(i8, String), BTreeMap<String, String>>,
    /// ACL bindings (see `api::acls`).
    pub(crate) acls: Vec<crate::api::acls::Acl>,
    /// Round-robin cursor for placing new partitions' leaders.
    next_leader: usize,
}

/// Why a topic or partition change was refused: a Kafka error code and message.
pub(crate) type Refusal = (i16, String);

impl ClusterState {
    pub(crate) fn new(brokers: Vec<BrokerState>) -> Self {
        Self {
            brokers,
            topics: IndexMap::new(),
            faults: Faults::default(),
            dynamic_configs: HashMap::new(),
            acls: Vec::new(),
            next_leader: 0,
        }
    }

    /// Ids of all brokers, up or down.
    pub(crate) fn broker_ids(&self) -> Vec<i32> {
        self.brokers.iter().map(|b| b.id).collect()
    }

    /// Ids of the brokers that are up.
    pub(crate) fn up_broker_ids(&self) -> Vec<i32> {
        self.brokers.iter().filter(|b| b.up).map(|b| b.id).collect()
    }

    pub(crate) fn broker(&self, id: i32) -> Option<&BrokerState> {
        self.brokers.iter().find(|b| b.id == id)
    }

    pub(crate) fn broker_mut(&mut self, id: i32) -> Option<&mut BrokerState> {
        self.brokers.iter_mut().find(|b| b.id == id)
    }

    pub(crate) fn is_up(&self, id: i32) -> bool {
        self.broker(id).is_some_and(|b| b.up)
    }

    /// Partition count of `topic`, if it exists (read API for the coordinator).
    #[allow(dead_code)]
    pub(crate) fn partition_count(&self, topic: &str) -> Option<usize> {
        self.topics.get(topic).map(|t| t.partitions.len())
    }

    pub(crate) fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut Partition> {
        let p = usize::try_from(partition).ok()?;
        self.topics.get_mut(topic)?.partitions.get_mut(p)
    }

    pub(crate) fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        let p = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(p)
    }

    pub(crate) fn topic_name_by_id(&self, id: Uuid) -> Option<String> {
        self.topics
            .iter()
            .find(|(_, t)| t.id == id)
            .map(|(n, _)| n.clone())
    }

    /// Checks a topic name the way Kafka does: 1..=249 characters of
    /// `[a-zA-Z0-9._-]`, and not `.` or `..`.
    pub(crate) fn validate_topic_name(name: &str) -> Result<(), Refusal> {
        let legal = name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || c == b'-');
        if name.is_empty() || name.len() > 249 || !legal || name == "." || name == ".." {
            return Err((
                17,
                format!("topic name {name:?} is invalid: 1 to 249 characters of [a-zA-Z0-9._-], not '.' or '..'"),
            ));
        }
        Ok(())
    }

    fn new_partition(
        &mut self,
        replication: i16,
        config: &Config,
        assignment: Option<&[i32]>,
    ) -> Partition {
        let ids = self.broker_ids();
        let replicas: Vec<i32> = match assignment {
            Some(a) => a.to_vec(),
            None => {
                let start = self.next_leader % ids.len().max(1);
                self.next_leader = self.next_leader.wrapping_add(1);
                (0..replication.max(1) as usize)
                    .map(|i| ids[(start + i) % ids.len()])
                    .collect()
            }
        };
        Partition {
            leader: replicas[0],
            leader_epoch: 0,
            replicas,
            log: PartitionLog::new(config.retention_bytes, config.blackhole),
        }
    }

    /// Creates a topic (or, with `validate_only`, checks that it could be).
    /// `partitions`/`replication` of -1 take the cluster defaults.
    pub(crate) fn create_topic(
        &mut self,
        config: &Config,
        name: &str,
        partitions: i32,
        replication: i16,
        assignments: &[(i32, Vec<i32>)],
        validate_only: bool,
    ) -> Result<Uuid, Refusal> {
        Self::validate_topic_name(name)?;
        if self.topics.contains_key(name) {
            return Err((36, format!("topic {name:?} already exists")));
        }
        let brokers = self.brokers.len();
        let (partitions, replication) = if assignments.is_empty() {
            let p = if partitions == -1 {
                config.default_partitions
            } else {
                partitions
            };
            let r = if replication == -1 {
                config.default_replication.min(brokers as i16)
            } else {
                replication
            };
            (p, r)
        } else {
            (assignments.len() as i32, assignments[0].1.len() as i16)
        };
        if !(1..=100_000).contains(&partitions) {
            return Err((
                37,
                format!("number of partitions {partitions} is invalid: allowed 1..=100000"),
            ));
        }
        if replication < 1 || replication as usize > brokers {
            return Err((
                38,
                format!(
                    "replication factor {replication} is invalid: allowed 1..={brokers} (brokers)"
                ),
            ));
        }
        for (i, (p, replicas)) in assignments.iter().enumerate() {
            if *p != i as i32
                || replicas.is_empty()
                || replicas.iter().any(|r| self.broker(*r).is_none())
            {
                return Err((
                    39,
                    format!("replica assignment of partition {p} is invalid: {replicas:?}"),
                ));
            }
        }
        let id = Uuid::from_u128(rand::random::<u128>() | 1);
        if validate_only {
            return Ok(id);
        }
        let mut parts = Vec::with_capacity(partitions as usize);
        for i in 0..partitions as usize {
            let a = assignments.get(i).map(|(_, r)| r.as_slice());
            parts.push(self.new_partition(replication, config, a));
        }
        self.topics.insert(
            name.to_string(),
            Topic {
                id,
                partitions: parts,
                replication,
                configs: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    /// Grows `name` to `count` partitions.
    pub(crate) fn create_partitions(
        &mut self,
        config: &Config,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), Refusal> {
        let (have, replication) = match self.topics.get(name) {
            Some(t) => (t.partitions.len() as i32, t.replication),
            None => return Err((3, format!("topic {name:?} does not exist"))),
        };
        if count <= have || count > 100_000 {
            return Err((37, format!("partition count {count} is invalid: the topic has {have}, the new count must be larger (max 100000)")));
        }
        if validate_only {
            return Ok(());
        }
        let mut new = Vec::new();
        for _ in have..count {
            new.push(self.new_partition(replication, config, None));
        }
        if let Some(t) = self.topics.get_mut(name) {
            t.partitions.extend(new);
        }
        Ok(())
    }

    /// Creates `name` with the default partition count if auto-creation is
    /// on and the name is legal; returns whether the topic now exists.
    pub(crate) fn auto_create(&mut self, config: &Config, name: &str) -> bool {
        if self.topics.contains_key(name) {
            return true;
        }
        config.auto_create_topics && self.create_topic(config, name, -1, -1, &[], false).is_ok()
    }

    /// Moves a partition's leader to `broker_id` (adding it to the replica
    /// set if needed) and bumps the leader epoch.
    pub(crate) fn move_leader(
        &mut self,
        topic: &str,
        partition: i32,
        broker_id: i32,
    ) -> Result<(), String> {
        if self.broker(broker_id).is_none() {
            return Err(format!("broker {broker_id} does not exist"));
        }
        let p = self
            .partition_mut(topic, partition)
            .ok_or_else(|| format!("partition {topic}/{partition} does not exist"))?;
        if !p.replicas.contains(&broker_id) {
            p.replicas.push(broker_id);
        }
        p.leader = broker_id;
        p.leader_epoch = p.leader_epoch.saturating_add(1);
        Ok(())
    }

    /// Takes the next queued error for `api_key` on `broker_id`: the broker's
    /// own queue first, then the cluster-wide one.
    pub(crate) fn take_error(&mut self, broker_id: i32, api_key: i16) -> Option<QueuedError> {
        if let Some(q) = self.faults.broker_errors.get_mut(&(broker_id, api_key)) {
            if let Some(e) = q.pop_front() {
                return Some(e);
            }
        }
        self.faults
            .errors
            .get_mut(&api_key)
            .and_then(|q| q.pop_front())
    }

    /// Whether the response to this request of `api_key` is to be swallowed.
    pub(crate) fn take_drop(&mut self, api_key: i16) -> bool {
        match self.faults.drop_responses.get_mut(&api_key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// Appends a transaction marker (`commit` or abort) for producer
    /// `producer_id`/`producer_epoch` to `topic`/`partition`; see
    /// [`PartitionLog::append_control`]. Returns the marker's offset or a
    /// Kafka error code (3: unknown partition). Callers then call
    /// [`Shared::notify_data`] so parked read_committed fetches see the
    /// new last stable offset.
    pub(crate) fn append_txn_marker(
        &mut self,
        topic: &str,
        partition: i32,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
    ) -> Result<i64, i16> {
        let part = self.partition_mut(topic, partition).ok_or(3i16)?;
        let epoch = part.leader_epoch;
        part.log.append_control(
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            epoch,
            crate::log::now_ms(),
        )
    }
}
