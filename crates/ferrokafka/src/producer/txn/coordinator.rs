//! The wire side of transactions: InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn and EndTxn to the transaction coordinator, and
//! TxnOffsetCommit to the consumer group's coordinator, both found through
//! [`Cluster::coordinator`].
//!
//! Every call retries within its deadline what [`classify`] calls
//! retriable, looking the coordinator up again after NOT_COORDINATOR,
//! COORDINATOR_NOT_AVAILABLE or a broken connection (the coordinator moved
//! or its broker died); anything else comes back as an error flagged
//! abortable or fatal.
//!
//! Transaction version (KIP-890): [`TxnWire::detect_version`] asks the
//! coordinator for its finalized `transaction.version` (ApiVersions v3+).
//! At 2 or more, and when the coordinator speaks EndTxn v5,
//! TxnOffsetCommit v5 and Produce v12, the producer runs version 2:
//! Produce v12 adds partitions implicitly (no AddPartitionsToTxn),
//! TxnOffsetCommit v5 adds the group implicitly (no AddOffsetsToTxn), and
//! EndTxn v5 answers the bumped epoch the next transaction uses.
//! Otherwise it stays at version 1 with the versions it always used
//! (EndTxn and TxnOffsetCommit ≤ v3, Produce ≤ v10).

use super::state::{classify, error_for, Api, Disposition};
use crate::cluster::{Cluster, CoordinatorType};
use crate::consumer::ConsumerGroupMetadata;
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use crate::producer::idempotence::ProducerId;
use crate::TopicPartition;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, GroupId,
    InitProducerIdRequest, ProducerId as KafkaProducerId, TopicName, TransactionalId,
    TxnOffsetCommitRequest,
};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest};
use kafka_protocol::protocol::StrBytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The highest EndTxn and TxnOffsetCommit versions of transaction
/// version 1 (v4 adds TRANSACTION_ABORTABLE, v5 is version 2).
const V1_TXN_MAX: i16 = 3;
/// EndTxn and TxnOffsetCommit under transaction version 2.
const V2_TXN: i16 = 5;
/// The highest Produce version of a version-1 transactional producer,
/// and of every other producer.
pub(crate) const PRODUCE_V1_MAX: i16 = 10;
/// Produce under transaction version 2 (partitions added implicitly).
pub(crate) const PRODUCE_V2: i16 = 12;

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// The transaction coordinator's client for one transactional id.
#[derive(Debug, Clone)]
pub(crate) struct TxnWire {
    cluster: Cluster,
    txn_id: String,
    timeout_ms: i32,
    backoff: Duration,
    /// Transaction version 2 is in use (shared with the producer's
    /// transport, which then sends Produce v12).
    v2: Arc<AtomicBool>,
}

/// One attempt's outcome: the answer's error code (0 for none) and what
/// to return when it is 0.
type Attempt<T> = Result<(i16, T)>;

impl TxnWire {
    pub(crate) fn new(
        cluster: Cluster,
        txn_id: String,
        transaction_timeout: Duration,
        backoff: Duration,
    ) -> Self {
        TxnWire {
            cluster,
            txn_id,
            timeout_ms: transaction_timeout.as_millis().min(i32::MAX as u128) as i32,
            backoff: backoff.clamp(Duration::from_millis(10), Duration::from_millis(500)),
            v2: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether transaction version 2 is in use.
    pub(crate) fn v2(&self) -> bool {
        self.v2.load(Ordering::Acquire)
    }

    /// The flag the transport reads to pick the Produce version.
    pub(crate) fn v2_flag(&self) -> Arc<AtomicBool> {
        self.v2.clone()
    }

    /// The version of `key` to send to `broker`: the negotiated one, at
    /// most `v2_version` under transaction version 2 and [`V1_TXN_MAX`]
    /// otherwise.
    async fn txn_version(
        cluster: &Cluster,
        broker: i32,
        key: ApiKey,
        v2: bool,
        left: Duration,
    ) -> Result<i16> {
        let conn = cluster.connection(broker, ConnectionKind::Group)?;
        let v = conn.api_versions(Some(left)).await?.require(key)?;
        Ok(v.min(if v2 { V2_TXN } else { V1_TXN_MAX }))
    }

    /// Finds the transaction version to use (KIP-890) from the
    /// coordinator's finalized `transaction.version` and the versions it
    /// speaks, and records it; `true` for version 2.
    pub(crate) async fn detect_version(&self, deadline: Instant) -> Result<bool> {
        let cluster = self.cluster.clone();
        let v2 = self
            .retrying(
                Api::InitProducerId,
                "ApiVersions (transaction.version)",
                CoordinatorType::Transaction,
                &self.txn_id,
                deadline,
                |broker, left| {
                    let cluster = cluster.clone();
                    async move {
                        let conn = cluster.connection(broker, ConnectionKind::Group)?;
                        let table = conn.api_versions(Some(left)).await?;
                        let speaks = [
                            (ApiKey::EndTxn, V2_TXN),
                            (ApiKey::TxnOffsetCommit, V2_TXN),
                            (ApiKey::Produce, PRODUCE_V2),
                        ]
                        .iter()
                        .all(|(k, v)| table.version(*k).is_some_and(|n| n >= *v));
                        if !speaks || table.version(ApiKey::ApiVersions).unwrap_or(0) < 3 {
                            return Ok((0, false));
                        }
                        let mut req = ApiVersionsRequest::default();
                        req.client_software_name = sb("ferrokafka");
                        req.client_software_version = sb(env!("CARGO_PKG_VERSION"));
                        let r = cluster
                            .send(broker, ConnectionKind::Group, &req, Some(left))
                            .await?;
                        let level = r
                            .finalized_features
                            .iter()
                            .find(|f| f.name.as_str() == "transaction.version")
                            .map_or(0, |f| f.max_version_level);
                        Ok((r.error_code, level >= 2))
                    }
                },
            )
            .await?;
        self.v2.store(v2, Ordering::Release);
        Ok(v2)
    }

    pub(crate) fn transactional_id(&self) -> &str {
        &self.txn_id
    }

    fn tid(&self) -> TransactionalId {
        TransactionalId(sb(&self.txn_id))
    }

    /// Runs `attempt` against the coordinator of `key` until it succeeds,
    /// fails for good, or `deadline` passes.
    async fn retrying<T, F, Fut>(
        &self,
        api: Api,
        what: &str,
        kind: CoordinatorType,
        key: &str,
        deadline: Instant,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut(i32, Duration) -> Fut,
        Fut: std::future::Future<Output = Attempt<T>>,
    {
        let mut last: Option<Error> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let cause = last.map_or_else(String::new, |e| format!(" (last error: {e})"));
                return Err(Error::new(
                    ErrorCode::TimedOut,
                    format!(
                        "{what} for transactional id {} timed out{cause}",
                        self.txn_id
                    ),
                )
                .with_retriable(true));
            }
            let e: Error = match self.cluster.coordinator(kind, key, left).await {
                Ok(broker) => match tokio::time::timeout(left, attempt(broker, left)).await {
                    Ok(Ok((0, v))) => return Ok(v),
                    Ok(Ok((code, _))) => {
                        Error::from_kafka(code, format!("{what} at broker {broker}"))
                    }
                    Ok(Err(e)) => {
                        // A broken or unanswered connection: the broker may
                        // be gone, look the coordinator up again.
                        self.cluster.invalidate_coordinator(kind, key);
                        e
                    }
                    Err(_) => Error::new(ErrorCode::TimedOut, format!("{what} unanswered")),
                },
                Err(e) => e,
            };
            let d = classify(api, e.code());
            match d {
                Disposition::Relookup => self.cluster.invalidate_coordinator(kind, key),
                Disposition::Retry => {}
                _ => return Err(error_for(d, &e, what)),
            }
            crate::debug::trace_ctx!(
                self.cluster.observer().debug(),
                Eos,
                "{what}: {e}; retrying"
            );
            last = Some(e);
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::sleep(self.backoff.min(left)).await;
        }
    }

    /// InitProducerId with the transactional id; `current` asks for the
    /// next epoch of this producer (KIP-360), which also aborts its open
    /// transaction at the coordinator.
    pub(crate) async fn init_producer_id(
        &self,
        current: Option<ProducerId>,
        deadline: Instant,
    ) -> Result<ProducerId> {
        let (pid, epoch) = current.map_or((-1, -1), |p| (p.id, p.epoch));
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(self.tid()))
            .with_transaction_timeout_ms(self.timeout_ms)
            .with_producer_id(KafkaProducerId(pid))
            .with_producer_epoch(epoch);
        let cluster = self.cluster.clone();
        self.retrying(
            Api::InitProducerId,
            "InitProducerId",
            CoordinatorType::Transaction,
            &self.txn_id,
            deadline,
            |broker, left| {
                let cluster = cluster.clone();
                let req = req.clone();
                async move {
                    if current.is_some() {
                        // Bumping needs v3+ (KIP-360): older brokers would
                        // silently hand out a fresh id instead.
                        let conn = cluster.connection(broker, ConnectionKind::Group)?;
                        let v = conn
                            .api_versions(Some(left))
                            .await?
                            .require(kafka_protocol::messages::ApiKey::InitProducerId)?;
                        if v < 3 {
                            return Err(Error::fatal(
                                ErrorCode::UnsupportedVersion,
                                format!("broker {broker} cannot bump a transactional producer's epoch (InitProducerId v{v} < v3, KIP-360): the transaction cannot be recovered"),
                            ));
                        }
                    }
                    let r = cluster
                        .send(broker, ConnectionKind::Group, &req, Some(left))
                        .await?;
                    Ok((
                        r.error_code,
                        ProducerId {
                            id: r.producer_id.0,
                            epoch: r.producer_epoch,
                        },
                    ))
                }
            },
        )
        .await
    }

    /// One AddPartitionsToTxn for `partitions`: each partition's result
    /// (a request that failed as a whole fails every partition).
    pub(crate) async fn add_partitions(
        &self,
        pid: ProducerId,
        partitions: &[TopicPartition],
        timeout: Duration,
    ) -> Vec<(TopicPartition, Result<()>)> {
        let all = |e: Error| {
            partitions
                .iter()
                .map(|tp| (tp.clone(), Err(e.clone())))
                .collect()
        };
        let kind = CoordinatorType::Transaction;
        let broker = match self.cluster.coordinator(kind, &self.txn_id, timeout).await {
            Ok(b) => b,
            Err(e) => return all(e),
        };
        let mut topics: Vec<AddPartitionsToTxnTopic> = Vec::new();
        for tp in partitions {
            let (t, p) = (tp.topic_arc(), &tp.partition());
            match topics.iter_mut().find(|x| x.name.0.as_str() == &**t) {
                Some(x) => x.partitions.push(*p),
                None => topics.push(
                    AddPartitionsToTxnTopic::default()
                        .with_name(TopicName(sb(t)))
                        .with_partitions(vec![*p]),
                ),
            }
        }
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(self.tid())
            .with_v3_and_below_producer_id(KafkaProducerId(pid.id))
            .with_v3_and_below_producer_epoch(pid.epoch)
            .with_v3_and_below_topics(topics);
        let resp = match tokio::time::timeout(
            timeout,
            self.cluster
                .send(broker, ConnectionKind::Group, &req, Some(timeout)),
        )
        .await
        {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                self.cluster.invalidate_coordinator(kind, &self.txn_id);
                return all(e);
            }
            Err(_) => {
                return all(Error::new(
                    ErrorCode::TimedOut,
                    "AddPartitionsToTxn unanswered",
                ))
            }
        };
        if resp.error_code != 0 {
            return all(Error::from_kafka(resp.error_code, "AddPartitionsToTxn"));
        }
        let mut relookup = false;
        let out = partitions
            .iter()
            .map(|tp| {
                let (t, p) = (tp.topic_arc(), &tp.partition());
                let code = resp
                    .results_by_topic_v3_and_below
                    .iter()
                    .filter(|r| r.name.0.as_str() == &**t)
                    .flat_map(|r| r.results_by_partition.iter())
                    .find(|r| r.partition_index == *p)
                    .map(|r| r.partition_error_code);
                let r = match code {
                    Some(0) => Ok(()),
                    Some(c) => {
                        let e = Error::from_kafka(c, format!("AddPartitionsToTxn {t} [{p}]"));
                        relookup |=
                            classify(Api::AddPartitionsToTxn, e.code()) == Disposition::Relookup;
                        Err(e)
                    }
                    None => Err(Error::new(
                        ErrorCode::BadMsg,
                        format!("AddPartitionsToTxn response lacks {t} [{p}]"),
                    )
                    .with_retriable(true)),
                };
                (tp.clone(), r)
            })
            .collect();
        if relookup {
            self.cluster.invalidate_coordinator(kind, &self.txn_id);
        }
        out
    }

    /// AddOffsetsToTxn: the group's offsets join the transaction.
    pub(crate) async fn add_offsets(
        &self,
        pid: ProducerId,
        group_id: &str,
        deadline: Instant,
    ) -> Result<()> {
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(self.tid())
            .with_producer_id(KafkaProducerId(pid.id))
            .with_producer_epoch(pid.epoch)
            .with_group_id(GroupId(sb(group_id)));
        let cluster = self.cluster.clone();
        self.retrying(
            Api::AddOffsetsToTxn,
            "AddOffsetsToTxn",
            CoordinatorType::Transaction,
            &self.txn_id,
            deadline,
            |broker, left| {
                let cluster = cluster.clone();
                let req = req.clone();
                async move {
                    let r = cluster
                        .send(broker, ConnectionKind::Group, &req, Some(left))
                        .await?;
                    Ok((r.error_code, ()))
                }
            },
        )
        .await
    }

    /// TxnOffsetCommit to the group's coordinator, carrying the consumer's
    /// generation and member id (KIP-447) so a fenced member cannot commit.
    pub(crate) async fn txn_offset_commit(
        &self,
        pid: ProducerId,
        group: &ConsumerGroupMetadata,
        offsets: &[(String, i32, i64)],
        deadline: Instant,
    ) -> Result<()> {
        let mut topics: Vec<TxnOffsetCommitRequestTopic> = Vec::new();
        for (t, p, o) in offsets {
            let part = TxnOffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*o)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(StrBytes::default()));
            match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
                Some(x) => x.partitions.push(part),
                None => topics.push(
                    TxnOffsetCommitRequestTopic::default()
                        .with_name(TopicName(sb(t)))
                        .with_partitions(vec![part]),
                ),
            }
        }
        let req = TxnOffsetCommitRequest::default()
            .with_transactional_id(self.tid())
            .with_group_id(GroupId(sb(group.group_id())))
            .with_producer_id(KafkaProducerId(pid.id))
            .with_producer_epoch(pid.epoch)
            .with_generation_id(group.generation_id())
            .with_member_id(sb(group.member_id()))
            .with_group_instance_id(group.group_instance_id().map(sb))
            .with_topics(topics);
        let cluster = self.cluster.clone();
        let v2 = self.v2();
        self.retrying(
            Api::TxnOffsetCommit,
            "TxnOffsetCommit",
            CoordinatorType::Group,
            group.group_id(),
            deadline,
            |broker, left| {
                let cluster = cluster.clone();
                let req = req.clone();
                async move {
                    let v = Self::txn_version(&cluster, broker, ApiKey::TxnOffsetCommit, v2, left)
                        .await?;
                    let r = cluster
                        .send_version(broker, ConnectionKind::Group, &req, v, Some(left))
                        .await?;
                    // The first failing partition speaks for the request:
                    // the coordinator judges a commit as a whole.
                    let code = r
                        .topics
                        .iter()
                        .flat_map(|t| t.partitions.iter())
                        .map(|p| p.error_code)
                        .find(|c| *c != 0)
                        .unwrap_or(0);
                    Ok((code, ()))
                }
            },
        )
        .await
    }

    /// EndTxn: commit or abort the transaction. Under transaction version
    /// 2 the answer carries the producer id and bumped epoch to go on with.
    pub(crate) async fn end_txn(
        &self,
        pid: ProducerId,
        commit: bool,
        deadline: Instant,
    ) -> Result<Option<ProducerId>> {
        let req = EndTxnRequest::default()
            .with_transactional_id(self.tid())
            .with_producer_id(KafkaProducerId(pid.id))
            .with_producer_epoch(pid.epoch)
            .with_committed(commit);
        let cluster = self.cluster.clone();
        let v2 = self.v2();
        self.retrying(
            Api::EndTxn,
            if commit {
                "EndTxn(commit)"
            } else {
                "EndTxn(abort)"
            },
            CoordinatorType::Transaction,
            &self.txn_id,
            deadline,
            |broker, left| {
                let cluster = cluster.clone();
                let req = req.clone();
                async move {
                    let v = Self::txn_version(&cluster, broker, ApiKey::EndTxn, v2, left).await?;
                    let r = cluster
                        .send_version(broker, ConnectionKind::Group, &req, v, Some(left))
                        .await?;
                    let next = (v >= V2_TXN).then_some(ProducerId {
                        id: r.producer_id.0,
                        epoch: r.producer_epoch,
                    });
                    let bad = next.filter(|n| r.error_code == 0 && (n.id < 0 || n.epoch < 0));
                    if let Some(n) = bad {
                        return Err(Error::new(
                            ErrorCode::BadMsg,
                            format!(
                                "EndTxn v{v} from broker {broker} answered producer id {} epoch {}",
                                n.id, n.epoch
                            ),
                        ));
                    }
                    Ok((r.error_code, next))
                }
            },
        )
        .await
    }
}
