//! Transaction administration (KIP-664): list the transactions every
//! broker coordinates (ListTransactions at each broker), describe
//! transactional ids at their coordinators (DescribeTransactions), the
//! producers writing to partitions (DescribeProducers at the leaders),
//! fence the producers of transactional ids (InitProducerId at their
//! coordinators bumps the epoch, aborting an open transaction), and abort
//! a hanging transaction on one partition (WriteTxnMarkers with an ABORT
//! marker at the partition's leader).

use super::{left, resource_error, AdminClient, AdminOptions, PartitionResults};
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use crate::protocol::ApiRequest;
use crate::TopicPartition;
use kafka_protocol::messages::{
    describe_producers_request::TopicRequest,
    write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic},
    DescribeProducersRequest, DescribeTransactionsRequest, InitProducerIdRequest,
    ListTransactionsRequest, ProducerId, TopicName, TransactionalId, WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// One transaction as ListTransactions reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TransactionListing {
    /// The transactional id.
    pub transactional_id: String,
    /// Its producer id.
    pub producer_id: i64,
    /// Its state, as the coordinator names it (`Ongoing`, `Empty`,
    /// `PrepareCommit`, `CompleteAbort`...).
    pub state: String,
}

/// One transactional id as its coordinator describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionDescription {
    /// The coordinator's broker id.
    pub coordinator: i32,
    /// The state (`Ongoing`, `Empty`...).
    pub state: String,
    /// The producer id and epoch.
    pub producer_id: i64,
    /// See `producer_id`.
    pub producer_epoch: i16,
    /// The transaction timeout.
    pub timeout_ms: i32,
    /// When the open transaction started (ms since the epoch), if one is.
    pub start_time_ms: Option<i64>,
    /// The partitions in the open transaction, sorted.
    pub partitions: Vec<TopicPartition>,
}

/// A producer writing to a partition, as its leader reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerState {
    /// The producer id.
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i32,
    /// The last sequence number written.
    pub last_sequence: i32,
    /// The timestamp of its last write.
    pub last_timestamp: i64,
    /// The epoch of the coordinator that wrote its last marker, if known.
    pub coordinator_epoch: Option<i32>,
    /// The first offset of its open transaction, if one is open.
    pub current_txn_start_offset: Option<i64>,
}

/// A fenced transactional id's new `(producer id, epoch)`.
pub type FencedProducer = (i64, i16);

/// Which transaction [`AdminClient::abort_transaction`] ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbortTransactionSpec {
    /// The partition holding the hanging transaction.
    pub topic: String,
    /// See `topic`.
    pub partition: i32,
    /// The producer id of the transaction (from `describe_producers`).
    pub producer_id: i64,
    /// Its epoch.
    pub producer_epoch: i16,
    /// The coordinator epoch to stamp on the marker.
    pub coordinator_epoch: i32,
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Kafka's CONCURRENT_TRANSACTIONS.
const CONCURRENT_TRANSACTIONS: i16 = 51;

/// Whether a coordinator lookup failed only for now.
fn coordinator_unavailable(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::CoordinatorNotAvailable | ErrorCode::CoordinatorLoadInProgress
    )
}

/// Kafka's coordinator-routing codes: COORDINATOR_LOAD_IN_PROGRESS (14),
/// COORDINATOR_NOT_AVAILABLE (15), NOT_COORDINATOR (16).
fn coordinator_moved(code: i16) -> bool {
    matches!(code, 14..=16)
}

impl AdminClient {
    /// Sends a request to the transaction coordinator of `id`, re-routing
    /// while `code` of the response is a coordinator-routing error, and
    /// retrying (until the deadline) while the coordinator is not yet
    /// available (a new cluster creates `__transaction_state` on first
    /// use) or, with `concurrent_retries`, while another operation on the
    /// transaction is finishing (CONCURRENT_TRANSACTIONS, as when
    /// InitProducerId waits for the abort it started).
    async fn call_txn_coordinator<R: ApiRequest>(
        &self,
        id: &str,
        deadline: Instant,
        concurrent_retries: bool,
        build: impl Fn(i16) -> Result<R>,
        code: impl Fn(&R::Response) -> i16,
    ) -> Result<(i32, R::Response)> {
        let mut tries = 0;
        loop {
            tries += 1;
            let pause = Duration::from_millis((50 * tries as u64).min(500));
            let found = self
                .cluster
                .coordinator(
                    CoordinatorType::Transaction,
                    id,
                    left(
                        deadline,
                        &format!("finding the coordinator of transactional id {id:?}"),
                    )?,
                )
                .await;
            let broker = match found {
                Ok(b) => b,
                Err(e)
                    if coordinator_unavailable(e.code()) && Instant::now() + pause < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (_, resp) = self
                .call_at(broker, ConnectionKind::Admin, deadline, &build)
                .await?;
            let c = code(&resp);
            let retry = (coordinator_moved(c) && tries < super::MAX_REROUTES)
                || (concurrent_retries && c == CONCURRENT_TRANSACTIONS);
            if !retry || Instant::now() + pause >= deadline {
                return Ok((broker, resp));
            }
            if c == 15 || c == 16 {
                self.cluster
                    .invalidate_coordinator(CoordinatorType::Transaction, id);
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// The transactions of the cluster (every broker's coordinator), in
    /// one of `states` and of one of `producer_ids` (empty: any), open
    /// for at least `min_duration` (ListTransactions v1+), sorted by id.
    pub async fn list_transactions(
        &self,
        states: &[&str],
        producer_ids: &[i64],
        min_duration: Option<Duration>,
        opts: &AdminOptions,
    ) -> Result<Vec<TransactionListing>> {
        let deadline = opts.deadline();
        let md = self
            .cluster
            .metadata(Some(&[]), left(deadline, "list transactions")?)
            .await?;
        let mut out = Vec::new();
        for b in &md.brokers {
            let build = |v: i16| {
                let mut req = ListTransactionsRequest::default();
                req.state_filters = states.iter().map(|s| sb(s)).collect();
                req.producer_id_filters = producer_ids.iter().map(|p| ProducerId(*p)).collect();
                if let Some(d) = min_duration {
                    if v < 1 {
                        return Err(Error::new(
                            ErrorCode::UnsupportedVersion,
                            format!("a transaction duration filter needs ListTransactions v1; broker {} speaks v0", b.id),
                        ));
                    }
                    req.duration_filter = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                } else {
                    req.duration_filter = -1;
                }
                Ok(req)
            };
            let (_, r) = self
                .call_at(b.id, ConnectionKind::Admin, deadline, &build)
                .await?;
            if let Some(e) = resource_error(
                r.error_code,
                None,
                &format!("list transactions at broker {}", b.id),
            ) {
                return Err(e);
            }
            out.extend(
                r.transaction_states
                    .into_iter()
                    .map(|t| TransactionListing {
                        transactional_id: t.transactional_id.0.to_string(),
                        producer_id: t.producer_id.0,
                        state: t.transaction_state.to_string(),
                    }),
            );
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// [`AdminClient::list_transactions`] for synchronous code.
    pub fn list_transactions_blocking(
        &self,
        states: &[&str],
        producer_ids: &[i64],
        min_duration: Option<Duration>,
        opts: &AdminOptions,
    ) -> Result<Vec<TransactionListing>> {
        let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let (producer_ids, opts) = (producer_ids.to_vec(), opts.clone());
        self.blocking(move |a| async move {
            let s: Vec<&str> = states.iter().map(String::as_str).collect();
            a.list_transactions(&s, &producer_ids, min_duration, &opts)
                .await
        })
    }

    /// Describes transactional ids at their coordinators; per id its
    /// description or the broker's error (`TransactionalIdNotFound`).
    pub async fn describe_transactions(
        &self,
        ids: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<TransactionDescription>)>> {
        let deadline = opts.deadline();
        let mut out = Vec::new();
        for id in ids {
            let build = |_v: i16| {
                let mut req = DescribeTransactionsRequest::default();
                req.transactional_ids = vec![TransactionalId(sb(id))];
                Ok(req)
            };
            let (broker, r) = self
                .call_txn_coordinator(id, deadline, false, build, |r| {
                    r.transaction_states.first().map_or(0, |t| t.error_code)
                })
                .await?;
            let what = format!("describe transactional id {id:?}");
            let res = match r
                .transaction_states
                .iter()
                .find(|t| t.transactional_id.0.as_str() == *id)
            {
                None => Err(Error::new(
                    ErrorCode::BadMsg,
                    format!("{what}: the coordinator did not mention it"),
                )),
                Some(t) => match resource_error(t.error_code, None, &what) {
                    Some(e) => Err(e),
                    None => {
                        let mut partitions: Vec<TopicPartition> = t
                            .topics
                            .iter()
                            .flat_map(|x| {
                                x.partitions
                                    .iter()
                                    .map(|p| TopicPartition::new(x.topic.as_str(), *p))
                            })
                            .collect();
                        partitions.sort();
                        Ok(TransactionDescription {
                            coordinator: broker,
                            state: t.transaction_state.to_string(),
                            producer_id: t.producer_id.0,
                            producer_epoch: t.producer_epoch,
                            timeout_ms: t.transaction_timeout_ms,
                            start_time_ms: (t.transaction_start_time_ms >= 0)
                                .then_some(t.transaction_start_time_ms),
                            partitions,
                        })
                    }
                },
            };
            out.push((id.to_string(), res));
        }
        Ok(out)
    }

    /// [`AdminClient::describe_transactions`] for synchronous code.
    pub fn describe_transactions_blocking(
        &self,
        ids: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<TransactionDescription>)>> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let opts = opts.clone();
        self.blocking(move |a| async move {
            let i: Vec<&str> = ids.iter().map(String::as_str).collect();
            a.describe_transactions(&i, &opts).await
        })
    }

    /// The active producers of each partition, at its leader.
    pub async fn describe_producers(
        &self,
        partitions: &[TopicPartition],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<Vec<ProducerState>>> {
        let send = |leader: i32, tps: Vec<TopicPartition>, deadline: Instant| async move {
            let build = |_v: i16| {
                let mut by: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for tp in &tps {
                    by.entry(tp.topic()).or_default().push(tp.partition());
                }
                let mut req = DescribeProducersRequest::default();
                req.topics = by
                    .into_iter()
                    .map(|(t, ps)| {
                        let mut x = TopicRequest::default();
                        x.name = TopicName(sb(t));
                        x.partition_indexes = ps;
                        x
                    })
                    .collect();
                Ok(req)
            };
            let (_, r) = self
                .call_at(leader, ConnectionKind::Admin, deadline, &build)
                .await?;
            let mut got = Vec::new();
            for t in r.topics {
                for p in t.partitions {
                    let producers = p
                        .active_producers
                        .iter()
                        .map(|s| ProducerState {
                            producer_id: s.producer_id.0,
                            producer_epoch: s.producer_epoch,
                            last_sequence: s.last_sequence,
                            last_timestamp: s.last_timestamp,
                            coordinator_epoch: (s.coordinator_epoch >= 0)
                                .then_some(s.coordinator_epoch),
                            current_txn_start_offset: (s.current_txn_start_offset >= 0)
                                .then_some(s.current_txn_start_offset),
                        })
                        .collect();
                    got.push((
                        TopicPartition::new(t.name.as_str(), p.partition_index),
                        p.error_code,
                        producers,
                    ));
                }
            }
            Ok(got)
        };
        self.at_leaders(partitions, opts, send).await
    }

    /// [`AdminClient::describe_producers`] for synchronous code.
    pub fn describe_producers_blocking(
        &self,
        partitions: &[TopicPartition],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<Vec<ProducerState>>> {
        let (partitions, opts) = (partitions.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.describe_producers(&partitions, &opts).await })
    }

    /// Fences the producers of transactional ids: their coordinator bumps
    /// the epoch (aborting an open transaction), so the current holder's
    /// next request fails with a fencing error. Per id: the new
    /// `(producer id, epoch)`, or the broker's error.
    pub async fn fence_producers(
        &self,
        ids: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<FencedProducer>)>> {
        let deadline = opts.deadline();
        let mut out = Vec::new();
        for id in ids {
            let build = |_v: i16| {
                let mut req = InitProducerIdRequest::default();
                req.transactional_id = Some(TransactionalId(sb(id)));
                // Only the epoch bump matters; a short timeout keeps a
                // transaction started by mistake under this epoch brief.
                req.transaction_timeout_ms = 1;
                req.producer_id = ProducerId(-1);
                req.producer_epoch = -1;
                Ok(req)
            };
            let (_, r) = self
                .call_txn_coordinator(id, deadline, true, build, |r| r.error_code)
                .await?;
            let what = format!("fence producers of transactional id {id:?}");
            out.push((
                id.to_string(),
                super::resource_result(
                    r.error_code,
                    None,
                    &what,
                    (r.producer_id.0, r.producer_epoch),
                ),
            ));
        }
        Ok(out)
    }

    /// [`AdminClient::fence_producers`] for synchronous code.
    pub fn fence_producers_blocking(
        &self,
        ids: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<FencedProducer>)>> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let opts = opts.clone();
        self.blocking(move |a| async move {
            let i: Vec<&str> = ids.iter().map(String::as_str).collect();
            a.fence_producers(&i, &opts).await
        })
    }

    /// Aborts a hanging transaction on one partition: an ABORT marker for
    /// its producer written by the partition's leader, moving the last
    /// stable offset past it. Kafka requires ClusterAction on the cluster.
    pub async fn abort_transaction(
        &self,
        spec: &AbortTransactionSpec,
        opts: &AdminOptions,
    ) -> Result<()> {
        let send = |leader: i32, tps: Vec<TopicPartition>, deadline: Instant| async move {
            let build = |_v: i16| {
                let mut topic = WritableTxnMarkerTopic::default();
                topic.name = TopicName(sb(&spec.topic));
                topic.partition_indexes = vec![spec.partition];
                let mut m = WritableTxnMarker::default();
                m.producer_id = ProducerId(spec.producer_id);
                m.producer_epoch = spec.producer_epoch;
                m.transaction_result = false;
                m.coordinator_epoch = spec.coordinator_epoch;
                m.topics = vec![topic];
                let mut req = WriteTxnMarkersRequest::default();
                req.markers = vec![m];
                Ok(req)
            };
            let (_, r) = self
                .call_at(leader, ConnectionKind::Admin, deadline, &build)
                .await?;
            let code = r
                .markers
                .iter()
                .filter(|m| m.producer_id.0 == spec.producer_id)
                .flat_map(|m| &m.topics)
                .filter(|t| t.name.0.as_str() == spec.topic)
                .flat_map(|t| &t.partitions)
                .find(|p| p.partition_index == spec.partition)
                .map(|p| p.error_code);
            Ok(tps
                .into_iter()
                .filter_map(|tp| code.map(|c| (tp, c, ())))
                .collect())
        };
        let mut r = self
            .at_leaders(
                &[TopicPartition::new(spec.topic.as_str(), spec.partition)],
                opts,
                send,
            )
            .await?;
        r.remove(0).1.map_err(|e| {
            Error::new(
                e.code(),
                format!(
                    "abort the transaction of producer {} on {}: {}",
                    spec.producer_id,
                    spec.topic,
                    e.message()
                ),
            )
        })
    }

    /// [`AdminClient::abort_transaction`] for synchronous code.
    pub fn abort_transaction_blocking(
        &self,
        spec: &AbortTransactionSpec,
        opts: &AdminOptions,
    ) -> Result<()> {
        let (spec, opts) = (spec.clone(), opts.clone());
        self.blocking(move |a| async move { a.abort_transaction(&spec, &opts).await })
    }
}
