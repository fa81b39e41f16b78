//! Group and transaction coordinator of the mock cluster: FindCoordinator,
//! classic consumer groups and their offsets, InitProducerId and
//! transactions: version 1, and KIP-890's version 2 for EndTxn v5 and
//! TxnOffsetCommit v5 (and Produce v12, in `api::produce`) once
//! `transaction.version` 2 is finalized.
//!
//! The decisions live in two state machines without I/O, [`group`] and
//! [`txn`]; the handlers only turn wire requests into their inputs, wait for
//! delayed answers (JoinGroup, SyncGroup) and write transaction markers to
//! the partition logs through [`ClusterState::append_txn_marker`]. This
//! file holds FindCoordinator, the transaction APIs and the shared clock;
//! the group APIs are in `group_membership` (JoinGroup, SyncGroup,
//! Heartbeat, LeaveGroup), `group_offsets` (OffsetCommit, OffsetFetch,
//! OffsetDelete) and `group_admin` (ListGroups, DescribeGroups,
//! DeleteGroups).
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
mod group_admin;
mod group_membership;
mod group_offsets;
pub(crate) mod txn;
pub(crate) mod txn_admin;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

use crate::cluster::{ClusterState, Shared};
use group::{GroupConfig, Groups, Reply, Ticket, NONE};
use group_admin::{delete_groups, describe_groups, list_groups};
use group_membership::{heartbeat, join_group, leave_group, sync_group};
use group_offsets::{
    commit_asks, commit_partitions, existing, judge_commit, offset_commit, offset_delete,
    offset_entry, offset_fetch, CommitAsk,
};
use txn::{Transactions, TxnEnd};

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
}
