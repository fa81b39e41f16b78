//! Group and transaction coordinator of the mock cluster: FindCoordinator,
//! classic consumer groups and their offsets, InitProducerId and
//! transactions: version 1, and KIP-890's version 2 for EndTxn v5 and
//! TxnOffsetCommit v5 (and Produce v12, in `api::produce`) once
//! `transaction.version` 2 is finalized.
//!
//! The decisions live in two state machines without I/O, [`group`] and
//! [`txn`]; this file only turns wire requests into their inputs, waits for
//! delayed answers (JoinGroup, SyncGroup) and writes transaction markers to
//! the partition logs through [`ClusterState::append_txn_marker`].
//!
//! Lock order: the coordinator's own lock is a leaf. It is never held while
//! the cluster state lock ([`Shared::state`]) is taken, so the produce path
//! may call [`State::producer_epoch`] while holding the cluster lock.
//!
//! Time: the machines run on milliseconds since the cluster started. They
//! advance on every coordinator request, while a JoinGroup/SyncGroup waits,
//! and on the cluster's periodic [`tick`], so session and transaction
//! timeouts fire even while no client talks to the coordinator.

// Its pub items reach only the hidden `sans_io` module (the pair test).
#[allow(missing_docs)]
pub(crate) mod group;
pub(crate) mod txn;
pub(crate) mod txn_admin;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

use crate::cluster::{ClusterState, Shared};
use group::{
    FetchedOffset, FetchedOffsets, GroupConfig, Groups, JoinParams, OffsetEntry, PartitionMap,
    Reply, SyncParams, Ticket, NONE,
};
use txn::{Transactions, TxnEnd};

/// How often a waiting JoinGroup/SyncGroup advances the clock.
const WAIT_TICK: Duration = Duration::from_millis(50);

/// Coordinator state kept in [`Shared::coordinator`]; built with `Default`.
#[derive(Debug)]
pub(crate) struct State {
    start: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    groups: Groups,
    txns: Transactions,
    next_ticket: Ticket,
    waiters: HashMap<Ticket, oneshot::Sender<Reply>>,
}

impl Default for State {
    fn default() -> Self {
        State {
            start: Instant::now(),
            inner: Mutex::new(Inner {
                groups: Groups::new(GroupConfig::default()),
                txns: Transactions::default(),
                next_ticket: 0,
                waiters: HashMap::new(),
            }),
        }
    }
}

impl State {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a bug; the mock keeps serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current generation of group `group_id`, `None` if it does not
    /// exist.
    pub(crate) fn group_generation(&self, group_id: &str) -> Option<i32> {
        self.lock().groups.generation(group_id)
    }

    /// The current epoch of a producer id handed out by InitProducerId, for
    /// the produce path's fencing check (`INVALID_PRODUCER_EPOCH` when a
    /// batch carries an older epoch).
    pub(crate) fn producer_epoch(&self, producer_id: i64) -> Option<i16> {
        self.lock().txns.producer_epoch(producer_id)
    }

    /// Produce v12+ under transaction version 2: adds `topic`/`partition`
    /// to the ongoing transaction of `transactional_id` (KIP-890); `NONE`
    /// or the error code to answer.
    pub(crate) fn add_partition_implicitly(
        &self,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> i16 {
        let now = self.now();
        self.lock().txns.add_partition_implicitly(
            now,
            transactional_id,
            producer_id,
            epoch,
            topic,
            partition,
        )
    }

    /// Whether a transactional batch of `producer_id`/`epoch` may go to
    /// `topic`/`partition`: the partition was added to its ongoing
    /// transaction with AddPartitionsToTxn.
    pub(crate) fn in_transaction(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> bool {
        self.lock()
            .txns
            .in_transaction(producer_id, epoch, topic, partition)
    }
}

impl Inner {
    /// Hands delayed answers to their waiting requests.
    fn deliver(&mut self) {
        for c in self.groups.take_completions() {
            if let Some(tx) = self.waiters.remove(&c.ticket) {
                let _ = tx.send(c.reply);
            }
        }
    }

    fn ticket(&mut self) -> (Ticket, oneshot::Receiver<Reply>) {
        self.next_ticket += 1;
        let (tx, rx) = oneshot::channel();
        self.waiters.insert(self.next_ticket, tx);
        (self.next_ticket, rx)
    }
}

/// The APIs this module serves, with the version range advertised for each.
pub(crate) fn api_versions() -> Vec<(ApiKey, i16, i16)> {
    vec![
        (ApiKey::FindCoordinator, 0, 5),
        (ApiKey::JoinGroup, 0, 9),
        (ApiKey::SyncGroup, 0, 5),
        (ApiKey::Heartbeat, 0, 4),
        (ApiKey::LeaveGroup, 0, 5),
        (ApiKey::OffsetCommit, 2, 9),
        (ApiKey::OffsetFetch, 1, 9),
        (ApiKey::ListGroups, 0, 5),
        (ApiKey::DescribeGroups, 0, 5),
        (ApiKey::DeleteGroups, 0, 2),
        (ApiKey::OffsetDelete, 0, 0),
        (ApiKey::InitProducerId, 0, 5),
        (ApiKey::AddPartitionsToTxn, 0, 5),
        (ApiKey::AddOffsetsToTxn, 0, 4),
        // EndTxn v5 and TxnOffsetCommit v5 follow KIP-890's transaction
        // version 2 (an epoch bump per transaction, groups added
        // implicitly) once `transaction.version` 2 is finalized.
        (ApiKey::EndTxn, 0, 5),
        (ApiKey::TxnOffsetCommit, 0, 5),
    ]
}

/// Advances the coordinator clock: expires group members and rebalances
/// whose time is up, and aborts timed-out transactions.
pub(crate) fn tick(shared: &Shared) {
    let state = &shared.coordinator;
    let now = state.now();
    let ends = {
        let mut inner = state.lock();
        inner.groups.handle_timeout(now);
        inner.deliver();
        inner.txns.handle_timeout(now)
    };
    for end in ends {
        carry_out(shared, &end);
    }
}

/// Writes the markers of an ended transaction, then applies or drops its
/// offsets and completes its state.
fn carry_out(shared: &Shared, end: &TxnEnd) {
    if !end.markers.is_empty() {
        let mut cs = shared.state();
        for m in &end.markers {
            // A partition deleted meanwhile has no log left to mark.
            let _ = cs.append_txn_marker(
                &m.topic,
                m.partition,
                m.producer_id,
                m.producer_epoch,
                m.commit,
                0,
            );
        }
        drop(cs);
        shared.notify_data();
    }
    let mut inner = shared.coordinator.lock();
    for g in &end.groups {
        inner
            .groups
            .complete_txn_offsets(g, end.producer_id, end.commit);
    }
    inner.txns.finish(end);
}

/// Java's `String.hashCode`, which Kafka uses to place group ids and
/// transactional ids; any deterministic spread would do.
fn java_hash(key: &str) -> i32 {
    key.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The broker coordinating `key`: a hash of the key over the brokers that
/// are up, in id order; `None` when every broker is down.
pub(crate) fn coordinator_for(cs: &ClusterState, key: &str) -> Option<i32> {
    let mut up = cs.up_broker_ids();
    up.sort_unstable();
    if up.is_empty() {
        return None;
    }
    let slot = java_hash(key).unsigned_abs() as usize % up.len();
    up.get(slot).copied()
}

/// `Ok` when `broker_id` coordinates `key`, else the error to answer.
fn check_coordinator(shared: &Shared, broker_id: i32, key: &str) -> Result<(), i16> {
    match coordinator_for(&shared.state(), key) {
        None => Err(E::CoordinatorNotAvailable.code()),
        Some(id) if id == broker_id => Ok(()),
        Some(_) => Err(E::NotCoordinator.code()),
    }
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn opt(v: &Option<String>) -> Option<StrBytes> {
    v.as_deref().map(s)
}

fn own(v: &StrBytes) -> String {
    v.as_str().to_string()
}

fn own_opt(v: &Option<StrBytes>) -> Option<String> {
    v.as_ref().map(own)
}

/// Answers one coordinator request; `None` sends no response at all.
pub(crate) async fn handle(
    shared: &Shared,
    broker_id: i32,
    header: &RequestHeader,
    request: RequestKind,
) -> Option<ResponseKind> {
    tick(shared);
    let v = header.request_api_version;
    let client_id = header.client_id.as_ref().map(own).unwrap_or_default();
    Some(match request {
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(find_coordinator(shared, v, r))
        }
        RequestKind::JoinGroup(r) => {
            ResponseKind::JoinGroup(join_group(shared, broker_id, v, client_id, r).await)
        }
        RequestKind::SyncGroup(r) => {
            ResponseKind::SyncGroup(sync_group(shared, broker_id, v, r).await)
        }
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(heartbeat(shared, broker_id, r)),
        RequestKind::LeaveGroup(r) => {
            ResponseKind::LeaveGroup(leave_group(shared, broker_id, v, r))
        }
        RequestKind::OffsetCommit(r) => {
            ResponseKind::OffsetCommit(offset_commit(shared, broker_id, r))
        }
        RequestKind::OffsetFetch(r) => {
            ResponseKind::OffsetFetch(offset_fetch(shared, broker_id, v, r))
        }
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(list_groups(shared, broker_id, r)),
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(describe_groups(shared, broker_id, v, r))
        }
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(delete_groups(shared, broker_id, r))
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(offset_delete(shared, broker_id, r))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(init_producer_id(shared, broker_id, r))
        }
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(add_partitions_to_txn(shared, broker_id, v, r))
        }
        RequestKind::AddOffsetsToTxn(r) => {
            ResponseKind::AddOffsetsToTxn(add_offsets_to_txn(shared, broker_id, r))
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(end_txn(shared, broker_id, v, r)),
        RequestKind::TxnOffsetCommit(r) => {
            ResponseKind::TxnOffsetCommit(txn_offset_commit(shared, broker_id, v, r))
        }
        _ => return None,
    })
}

fn find_coordinator(
    shared: &Shared,
    version: i16,
    r: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let keys: Vec<StrBytes> = if version >= 4 {
        r.coordinator_keys
    } else {
        vec![r.key]
    };
    let cs = shared.state();
    let answers: Vec<Coordinator> = keys
        .into_iter()
        .map(|key| {
            let mut c = Coordinator::default().with_key(key.clone());
            if r.key_type != 0 && r.key_type != 1 {
                c.node_id = BrokerId(-1);
                c.port = -1;
                c.error_code = E::InvalidRequest.code();
                c.error_message = Some(s(&format!(
                    "key type {} is not supported: allowed 0 (group) and 1 (transaction)",
                    r.key_type
                )));
                return c;
            }
            match coordinator_for(&cs, &key).and_then(|id| cs.broker(id)) {
                Some(b) => {
                    c.node_id = BrokerId(b.id);
                    c.host = s(&b.host);
                    c.port = i32::from(b.port);
                }
                None => {
                    c.node_id = BrokerId(-1);
                    c.port = -1;
                    c.error_code = E::CoordinatorNotAvailable.code();
                    c.error_message = Some(s("no broker is up to coordinate this key"));
                }
            }
            c
        })
        .collect();
    drop(cs);
    let mut resp = FindCoordinatorResponse::default();
    if version >= 4 {
        resp.coordinators = answers;
    } else if let Some(c) = answers.into_iter().next() {
        resp.error_code = c.error_code;
        resp.error_message = c.error_message;
        resp.node_id = c.node_id;
        resp.host = c.host;
        resp.port = c.port;
    }
    resp
}

/// Waits for a delayed answer, advancing the clock meanwhile; `None` after
/// `limit` or when the coordinator dropped the ticket.
async fn wait(shared: &Shared, mut rx: oneshot::Receiver<Reply>, limit: Duration) -> Option<Reply> {
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout(WAIT_TICK, &mut rx).await {
            Ok(Ok(reply)) => return Some(reply),
            Ok(Err(_)) => return None,
            Err(_) if Instant::now() >= deadline => return None,
            Err(_) => tick(shared),
        }
    }
}

async fn join_group(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    client_id: String,
    r: JoinGroupRequest,
) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default().with_generation_id(-1);
    resp.member_id = r.member_id.clone();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let rebalance_timeout_ms = if version == 0 {
        r.session_timeout_ms
    } else {
        r.rebalance_timeout_ms
    };
    let params = JoinParams {
        group_id: own(&r.group_id),
        member_id: own(&r.member_id),
        group_instance_id: own_opt(&r.group_instance_id),
        client_id,
        client_host: "/127.0.0.1".to_string(),
        session_timeout_ms: r.session_timeout_ms,
        rebalance_timeout_ms,
        protocol_type: own(&r.protocol_type),
        protocols: r
            .protocols
            .iter()
            .map(|p| (own(&p.name), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let state = &shared.coordinator;
    let rx = {
        let mut inner = state.lock();
        let (ticket, rx) = inner.ticket();
        inner.groups.join(state.now(), ticket, params);
        inner.deliver();
        rx
    };
    let limit = Duration::from_millis(rebalance_timeout_ms.max(0) as u64) + Duration::from_secs(5);
    let Some(Reply::Join(j)) = wait(shared, rx, limit).await else {
        resp.error_code = E::RebalanceInProgress.code();
        return resp;
    };
    resp.error_code = j.error;
    resp.generation_id = j.generation_id;
    resp.protocol_type = opt(&j.protocol_type);
    resp.protocol_name = opt(&j.protocol_name);
    if version < 7 && resp.protocol_name.is_none() {
        // Before v7 the protocol name is not nullable on the wire.
        resp.protocol_name = Some(StrBytes::default());
    }
    resp.leader = s(&j.leader);
    resp.member_id = s(&j.member_id);
    resp.skip_assignment = j.skip_assignment && version >= 9;
    resp.members = j
        .members
        .iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(s(&m.member_id))
                .with_group_instance_id(opt(&m.group_instance_id))
                .with_metadata(m.metadata.clone())
        })
        .collect();
    resp
}

async fn sync_group(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: SyncGroupRequest,
) -> SyncGroupResponse {
    let mut resp = SyncGroupResponse::default();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let params = SyncParams {
        group_id: own(&r.group_id),
        generation_id: r.generation_id,
        member_id: own(&r.member_id),
        group_instance_id: own_opt(&r.group_instance_id),
        protocol_type: own_opt(&r.protocol_type),
        protocol_name: own_opt(&r.protocol_name),
        assignments: r
            .assignments
            .iter()
            .map(|a| (own(&a.member_id), a.assignment.clone()))
            .collect(),
    };
    let state = &shared.coordinator;
    let rx = {
        let mut inner = state.lock();
        let (ticket, rx) = inner.ticket();
        inner.groups.sync(state.now(), ticket, params);
        inner.deliver();
        rx
    };
    // A follower waits for the leader; the leader's own session timeout
    // bounds that (expiry answers the waiters), this is a backstop.
    let Some(Reply::Sync(res)) = wait(shared, rx, Duration::from_secs(300)).await else {
        resp.error_code = E::RebalanceInProgress.code();
        return resp;
    };
    resp.error_code = res.error;
    if version >= 5 {
        resp.protocol_type = opt(&res.protocol_type);
        resp.protocol_name = opt(&res.protocol_name);
    }
    resp.assignment = res.assignment;
    resp
}

fn heartbeat(shared: &Shared, broker_id: i32, r: HeartbeatRequest) -> HeartbeatResponse {
    let code = check_coordinator(shared, broker_id, &r.group_id)
        .err()
        .unwrap_or_else(|| {
            let state = &shared.coordinator;
            let mut inner = state.lock();
            let instance = own_opt(&r.group_instance_id);
            let code = inner.groups.heartbeat(
                state.now(),
                &r.group_id,
                &r.member_id,
                instance.as_deref(),
                r.generation_id,
            );
            inner.deliver();
            code
        });
    HeartbeatResponse::default().with_error_code(code)
}

fn leave_group(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let mut resp = LeaveGroupResponse::default();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        r.members
            .iter()
            .map(|m| (own(&m.member_id), own_opt(&m.group_instance_id)))
            .collect()
    } else {
        vec![(own(&r.member_id), None)]
    };
    let state = &shared.coordinator;
    let codes = {
        let mut inner = state.lock();
        let codes = inner.groups.leave(state.now(), &r.group_id, &members);
        inner.deliver();
        codes
    };
    if version >= 3 {
        resp.members = members
            .into_iter()
            .zip(codes)
            .map(|((member_id, instance), code)| {
                MemberResponse::default()
                    .with_member_id(s(&member_id))
                    .with_group_instance_id(opt(&instance))
                    .with_error_code(code)
            })
            .collect();
    } else {
        resp.error_code = codes.first().copied().unwrap_or(NONE);
    }
    resp
}

/// The partitions of an OffsetCommit or TxnOffsetCommit request as
/// [`CommitAsk`]s: the two requests' topic types differ but have the same
/// fields.
macro_rules! commit_asks {
    ($topics:expr) => {
        $topics
            .iter()
            .map(|t| {
                let parts = t.partitions.iter().map(|p| {
                    let entry = offset_entry(
                        p.committed_offset,
                        p.committed_leader_epoch,
                        &p.committed_metadata,
                    );
                    (p.partition_index, entry)
                });
                (own(&t.name), parts.collect())
            })
            .collect()
    };
}

/// The partitions of one commit request, topic by topic in request order,
/// each with the offset entry it asks to store.
type CommitAsk = (String, Vec<(i32, OffsetEntry)>);

/// Whether each of `partitions` exists in the cluster, in order. Read
/// before the coordinator lock is taken, as every handler here does.
fn existing<'a>(shared: &Shared, partitions: impl Iterator<Item = (&'a str, i32)>) -> Vec<bool> {
    let cs = shared.state();
    partitions
        .map(|(t, p)| cs.partition(t, p).is_some())
        .collect()
}

/// The partitions of a commit request in request order.
fn commit_partitions(asks: &[CommitAsk]) -> impl Iterator<Item = (&str, i32)> {
    asks.iter()
        .flat_map(|(t, parts)| parts.iter().map(move |(p, _)| (t.as_str(), *p)))
}

/// Judges every partition of an OffsetCommit or TxnOffsetCommit the same
/// way: the request-wide `check` decides first, then whether the partition
/// exists, then whether the offset itself is acceptable. Returns the error
/// code of each partition (shaped like `asks`) and the entries to store.
fn judge_commit(
    asks: Vec<CommitAsk>,
    exists: &[bool],
    check: Result<(), i16>,
) -> (Vec<Vec<i16>>, PartitionMap<OffsetEntry>) {
    let mut store = PartitionMap::new();
    let mut exists = exists.iter();
    let codes = asks
        .into_iter()
        .map(|(topic, parts)| {
            parts
                .into_iter()
                .map(|(partition, entry)| {
                    let found = exists.next().copied().unwrap_or(false);
                    let code = match check {
                        Err(code) => code,
                        Ok(()) if !found => E::UnknownTopicOrPartition.code(),
                        Ok(()) => Groups::check_offset(&entry),
                    };
                    if code == NONE {
                        store.insert((topic.clone(), partition), entry);
                    }
                    code
                })
                .collect()
        })
        .collect();
    (codes, store)
}

fn offset_entry(offset: i64, leader_epoch: i32, metadata: &Option<StrBytes>) -> OffsetEntry {
    OffsetEntry {
        offset,
        leader_epoch,
        metadata: own_opt(metadata),
    }
}

fn offset_commit(shared: &Shared, broker_id: i32, r: OffsetCommitRequest) -> OffsetCommitResponse {
    let group_check = check_coordinator(shared, broker_id, &r.group_id);
    let asks: Vec<CommitAsk> = commit_asks!(r.topics);
    let exists = existing(shared, commit_partitions(&asks));
    let state = &shared.coordinator;
    let mut inner = state.lock();
    let instance = own_opt(&r.group_instance_id);
    let check = group_check.and_then(|()| {
        inner.groups.check_commit(
            state.now(),
            &r.group_id,
            r.generation_id_or_member_epoch,
            &r.member_id,
            instance.as_deref(),
        )
    });
    let (codes, to_store) = judge_commit(asks, &exists, check);
    let topics = r
        .topics
        .iter()
        .zip(codes)
        .map(|(t, codes)| {
            let partitions = t.partitions.iter().zip(codes).map(|(p, code)| {
                OffsetCommitResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(code)
            });
            OffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions.collect())
        })
        .collect();
    inner.groups.store_offsets(&r.group_id, to_store);
    inner.deliver();
    OffsetCommitResponse::default().with_topics(topics)
}

/// Offsets of one group for OffsetFetch, or the group-level error.
fn fetch_group(
    shared: &Shared,
    broker_id: i32,
    group_id: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<FetchedOffsets, i16> {
    check_coordinator(shared, broker_id, group_id)?;
    let inner = shared.coordinator.lock();
    Ok(inner
        .groups
        .fetch_offsets(group_id, topics.as_deref(), require_stable))
}

/// (offset, leader epoch, metadata, error) of one fetched partition.
fn fetched(value: FetchedOffset) -> (i64, i32, Option<StrBytes>, i16) {
    match value {
        Ok(Some(e)) => (
            e.offset,
            e.leader_epoch,
            Some(s(e.metadata.as_deref().unwrap_or(""))),
            NONE,
        ),
        Ok(None) => (-1, -1, Some(StrBytes::default()), NONE),
        Err(code) => (-1, -1, Some(StrBytes::default()), code),
    }
}

fn offset_fetch(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if version >= 8 {
        resp.groups = r
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (own(&t.name), t.partition_indexes.clone()))
                        .collect()
                });
                let mut out = OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone());
                match fetch_group(shared, broker_id, &g.group_id, topics, r.require_stable) {
                    Err(code) => out.error_code = code,
                    Ok(found) => {
                        out.topics = found
                            .into_iter()
                            .map(|(name, parts)| {
                                let partitions = parts
                                    .into_iter()
                                    .map(|(p, value)| {
                                        let (offset, epoch, metadata, code) = fetched(value);
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(offset)
                                            .with_committed_leader_epoch(epoch)
                                            .with_metadata(metadata)
                                            .with_error_code(code)
                                    })
                                    .collect();
                                OffsetFetchResponseTopics::default()
                                    .with_name(TopicName(s(&name)))
                                    .with_partitions(partitions)
                            })
                            .collect();
                    }
                }
                out
            })
            .collect();
        return resp;
    }
    let topics = r.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (own(&t.name), t.partition_indexes.clone()))
            .collect()
    });
    match fetch_group(
        shared,
        broker_id,
        &r.group_id,
        topics,
        r.require_stable && version >= 7,
    ) {
        Err(code) if version >= 2 => resp.error_code = code,
        Err(code) => {
            // v1 has no group-level error: every asked partition carries it.
            resp.topics = r
                .topics
                .iter()
                .flatten()
                .map(|t| {
                    let partitions = t
                        .partition_indexes
                        .iter()
                        .map(|p| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(*p)
                                .with_committed_offset(-1)
                                .with_metadata(Some(StrBytes::default()))
                                .with_error_code(code)
                        })
                        .collect();
                    OffsetFetchResponseTopic::default()
                        .with_name(t.name.clone())
                        .with_partitions(partitions)
                })
                .collect();
        }
        Ok(found) => {
            resp.topics = found
                .into_iter()
                .map(|(name, parts)| {
                    let partitions = parts
                        .into_iter()
                        .map(|(p, value)| {
                            let (offset, epoch, metadata, code) = fetched(value);
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(epoch)
                                .with_metadata(metadata)
                                .with_error_code(code)
                        })
                        .collect();
                    OffsetFetchResponseTopic::default()
                        .with_name(TopicName(s(&name)))
                        .with_partitions(partitions)
                })
                .collect();
        }
    }
    resp
}

fn list_groups(shared: &Shared, broker_id: i32, r: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = r.states_filter.iter().map(own).collect();
    let classic = r.types_filter.is_empty()
        || r.types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case("classic"));
    let listed = if classic {
        shared.coordinator.lock().groups.list(&states)
    } else {
        Vec::new()
    };
    let cs = shared.state();
    // Each broker lists the groups it coordinates, as Kafka brokers do;
    // admin clients ask every broker and merge.
    let groups = listed
        .into_iter()
        .filter(|(id, _, _)| coordinator_for(&cs, id) == Some(broker_id))
        .map(|(id, protocol_type, state)| {
            ListedGroup::default()
                .with_group_id(GroupId(s(&id)))
                .with_protocol_type(s(&protocol_type))
                .with_group_state(s(state.name()))
                .with_group_type(s("classic"))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

fn describe_groups(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let groups = r
        .groups
        .iter()
        .map(|id| {
            let mut out = DescribedGroup::default().with_group_id(id.clone());
            if r.include_authorized_operations && version >= 3 {
                // Everything a group allows: READ, DESCRIBE, DELETE (bits 3, 8, 6).
                out.authorized_operations = (1 << 3) | (1 << 8) | (1 << 6);
            }
            if let Err(code) = check_coordinator(shared, broker_id, id) {
                out.error_code = code;
                return out;
            }
            match shared.coordinator.lock().groups.describe(id) {
                None => {
                    out.group_state = s("Dead");
                }
                Some(d) => {
                    out.group_state = s(d.state.name());
                    out.protocol_type = s(&d.protocol_type);
                    out.protocol_data = s(&d.protocol_name);
                    out.members = d
                        .members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(s(&m.member_id))
                                .with_group_instance_id(opt(&m.group_instance_id))
                                .with_client_id(s(&m.client_id))
                                .with_client_host(s(&m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect();
                }
            }
            out
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

fn delete_groups(shared: &Shared, broker_id: i32, r: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let results = r
        .groups_names
        .iter()
        .map(|id| {
            let code = check_coordinator(shared, broker_id, id)
                .err()
                .unwrap_or_else(|| shared.coordinator.lock().groups.delete_group(id));
            DeletableGroupResult::default()
                .with_group_id(id.clone())
                .with_error_code(code)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

/// The topics a consumer-protocol member subscribes to, read from its
/// JoinGroup metadata (a version-prefixed ConsumerProtocolSubscription);
/// empty when the metadata does not decode.
fn subscribed_topics(metadata: &Bytes) -> Vec<String> {
    let mut buf = metadata.clone();
    if buf.len() < 2 {
        return Vec::new();
    }
    let version = i16::from_be_bytes([buf[0], buf[1]]);
    let _ = buf.split_to(2);
    // Newer versions only append fields, so the newest known one reads them.
    // The metadata is another client's bytes: walk it before the decoder
    // reserves memory from its counts.
    let version = version.clamp(0, 3);
    ferrokafka_wire::decode_embedded::<ConsumerProtocolSubscription>(
        ferrokafka_wire::Embedded::ConsumerSubscription,
        version,
        buf,
    )
    .map(|s| s.topics.iter().map(own).collect())
    .unwrap_or_default()
}

fn offset_delete(shared: &Shared, broker_id: i32, r: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let mut resp = OffsetDeleteResponse::default();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let mut inner = shared.coordinator.lock();
    let Some((protocol_type, metadata)) = inner.groups.member_metadata(&r.group_id) else {
        resp.error_code = E::GroupIdNotFound.code();
        return resp;
    };
    let subscribed: Vec<String> = if protocol_type == "consumer" {
        metadata.iter().flat_map(subscribed_topics).collect()
    } else {
        Vec::new()
    };
    let mut deletable = Vec::new();
    resp.topics = r
        .topics
        .iter()
        .map(|t| {
            let busy = subscribed.iter().any(|s| s.as_str() == t.name.as_str());
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = if busy {
                        E::GroupSubscribedToTopic.code()
                    } else {
                        deletable.push((own(&t.name), p.partition_index));
                        NONE
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    inner.groups.delete_offsets(&r.group_id, &deletable);
    resp
}

fn init_producer_id(
    shared: &Shared,
    broker_id: i32,
    r: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let mut resp = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let txn_id = r
        .transactional_id
        .as_ref()
        .map(|t| own(t))
        .filter(|t| !t.is_empty());
    if let Some(id) = &txn_id {
        if let Err(code) = check_coordinator(shared, broker_id, id) {
            resp.error_code = code;
            return resp;
        }
    }
    let state = &shared.coordinator;
    let (result, aborted) = state.lock().txns.init_producer_id(
        txn_id.as_deref(),
        r.transaction_timeout_ms,
        r.producer_id.0,
        r.producer_epoch,
    );
    if let Some(end) = aborted {
        carry_out(shared, &end);
    }
    match result {
        Ok((pid, epoch)) => {
            resp.producer_id = ProducerId(pid);
            resp.producer_epoch = epoch;
        }
        Err(code) => resp.error_code = code,
    }
    resp
}

/// One transaction's AddPartitionsToTxn: per topic, per partition errors.
fn add_partitions(
    shared: &Shared,
    broker_id: i32,
    txn_id: &str,
    producer_id: i64,
    epoch: i16,
    topics: &[AddPartitionsToTxnTopic],
    verify_only: bool,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let asked: Vec<(String, i32)> = topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (own(&t.name), *p)))
        .collect();
    let codes = match check_coordinator(shared, broker_id, txn_id) {
        Err(code) => vec![code; asked.len()],
        Ok(()) => {
            let found = existing(shared, asked.iter().map(|(t, p)| (t.as_str(), *p)));
            let exists: HashMap<(String, i32), bool> = asked.iter().cloned().zip(found).collect();
            let state = &shared.coordinator;
            let mut inner = state.lock();
            if verify_only {
                asked
                    .iter()
                    .map(|(t, p)| {
                        if inner.txns.in_transaction(producer_id, epoch, t, *p) {
                            NONE
                        } else {
                            E::InvalidTxnState.code()
                        }
                    })
                    .collect()
            } else {
                inner.txns.add_partitions(
                    state.now(),
                    txn_id,
                    producer_id,
                    epoch,
                    &asked,
                    |t, p| exists.get(&(t.to_string(), p)).copied().unwrap_or(false),
                )
            }
        }
    };
    let mut by_topic: BTreeMap<String, Vec<AddPartitionsToTxnPartitionResult>> = BTreeMap::new();
    for ((topic, partition), code) in asked.into_iter().zip(codes) {
        by_topic.entry(topic).or_default().push(
            AddPartitionsToTxnPartitionResult::default()
                .with_partition_index(partition)
                .with_partition_error_code(code),
        );
    }
    by_topic
        .into_iter()
        .map(|(name, results)| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(TopicName(s(&name)))
                .with_results_by_partition(results)
        })
        .collect()
}

fn add_partitions_to_txn(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let mut resp = AddPartitionsToTxnResponse::default();
    if version <= 3 {
        resp.results_by_topic_v3_and_below = add_partitions(
            shared,
            broker_id,
            &r.v3_and_below_transactional_id,
            r.v3_and_below_producer_id.0,
            r.v3_and_below_producer_epoch,
            &r.v3_and_below_topics,
            false,
        );
    } else {
        resp.results_by_transaction = r
            .transactions
            .iter()
            .map(|t| {
                AddPartitionsToTxnResult::default()
                    .with_transactional_id(t.transactional_id.clone())
                    .with_topic_results(add_partitions(
                        shared,
                        broker_id,
                        &t.transactional_id,
                        t.producer_id.0,
                        t.producer_epoch,
                        &t.topics,
                        t.verify_only,
                    ))
            })
            .collect();
    }
    resp
}

fn add_offsets_to_txn(
    shared: &Shared,
    broker_id: i32,
    r: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let code = check_coordinator(shared, broker_id, &r.transactional_id)
        .err()
        .unwrap_or_else(|| {
            let state = &shared.coordinator;
            let mut inner = state.lock();
            inner.txns.add_offsets(
                state.now(),
                &r.transactional_id,
                r.producer_id.0,
                r.producer_epoch,
                &r.group_id,
            )
        });
    AddOffsetsToTxnResponse::default().with_error_code(code)
}

fn end_txn(shared: &Shared, broker_id: i32, version: i16, r: EndTxnRequest) -> EndTxnResponse {
    let mut resp = EndTxnResponse::default()
        .with_producer_id(r.producer_id)
        .with_producer_epoch(r.producer_epoch);
    if let Err(code) = check_coordinator(shared, broker_id, &r.transactional_id) {
        resp.error_code = code;
        return resp;
    }
    if version >= 5 && shared.features.transaction_v2() {
        let outcome = shared.coordinator.lock().txns.end_txn_v2(
            &r.transactional_id,
            r.producer_id.0,
            r.producer_epoch,
            r.committed,
        );
        match outcome {
            Ok((end, (pid, epoch))) => {
                if let Some(end) = end {
                    carry_out(shared, &end);
                }
                resp.producer_id = ProducerId(pid);
                resp.producer_epoch = epoch;
            }
            Err(code) => resp.error_code = code,
        }
        return resp;
    }
    let outcome = shared.coordinator.lock().txns.end_txn(
        &r.transactional_id,
        r.producer_id.0,
        r.producer_epoch,
        r.committed,
    );
    match outcome {
        Ok(Some(end)) => carry_out(shared, &end),
        Ok(None) => {}
        Err(code) => resp.error_code = code,
    }
    resp
}

fn txn_offset_commit(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let group_check = check_coordinator(shared, broker_id, &r.group_id);
    let asks: Vec<CommitAsk> = commit_asks!(r.topics);
    let exists = existing(shared, commit_partitions(&asks));
    let implicit = version >= 5 && shared.features.transaction_v2();
    let state = &shared.coordinator;
    let mut inner = state.lock();
    let check = group_check.and_then(|()| {
        // Transaction version 2: the group joins the transaction with its
        // first TxnOffsetCommit, without AddOffsetsToTxn (KIP-890).
        if implicit {
            let code = inner.txns.add_offsets(
                state.now(),
                &r.transactional_id,
                r.producer_id.0,
                r.producer_epoch,
                &r.group_id,
            );
            if code != NONE {
                return Err(code);
            }
        }
        let code = inner.txns.check_offset_commit(
            &r.transactional_id,
            r.producer_id.0,
            r.producer_epoch,
            &r.group_id,
        );
        if code != NONE {
            return Err(code);
        }
        // v3+ carries the consumer's generation: a zombie consumer's offsets
        // must not commit. -1 (older clients) skips the check.
        if r.generation_id >= 0 {
            let instance = own_opt(&r.group_instance_id);
            inner.groups.check_commit(
                state.now(),
                &r.group_id,
                r.generation_id,
                &r.member_id,
                instance.as_deref(),
            )?;
        }
        Ok(())
    });
    let (codes, staged) = judge_commit(asks, &exists, check);
    let topics = r
        .topics
        .iter()
        .zip(codes)
        .map(|(t, codes)| {
            let partitions = t.partitions.iter().zip(codes).map(|(p, code)| {
                TxnOffsetCommitResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(code)
            });
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions.collect())
        })
        .collect();
    if !staged.is_empty() {
        inner
            .groups
            .stage_txn_offsets(&r.group_id, r.producer_id.0, staged);
    }
    inner.deliver();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_java_string_hash_code() {
        // Values of "".hashCode(), "a".hashCode() and "group".hashCode() in Java.
        assert_eq!(java_hash(""), 0);
        assert_eq!(java_hash("a"), 97);
        assert_eq!(java_hash("group"), 98_629_247);
    }

    /// A member's subscription with a lying topic count reads as no topics
    /// instead of a reservation of gigabytes.
    #[test]
    fn a_lying_subscription_reads_as_no_topics() {
        let mut lie = 3i16.to_be_bytes().to_vec();
        lie.extend_from_slice(&i32::MAX.to_be_bytes());
        lie.extend_from_slice(b"ab");
        assert!(subscribed_topics(&Bytes::from(lie)).is_empty());
        let mut ok = 0i16.to_be_bytes().to_vec();
        ok.extend_from_slice(&1i32.to_be_bytes());
        ok.extend_from_slice(&1i16.to_be_bytes());
        ok.push(b't');
        ok.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(subscribed_topics(&Bytes::from(ok)), ["t"]);
    }
}
