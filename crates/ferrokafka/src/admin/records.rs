//! Records and offsets at partition leaders: DeleteRecords (moves a
//! partition's log start offset, its low watermark) and ListOffsets
//! (earliest, latest, max-timestamp or by time, with an isolation level).
//!
//! Partitions are grouped by their leader from fresh metadata, one request
//! per leader. A partition whose leader moved (NOT_LEADER_OR_FOLLOWER and
//! kin) is retried once at its new leader; a partition without a leader
//! or of an unknown topic gets its own error.

use super::{left, resource_error, AdminClient, AdminOptions, PartitionResults};
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use crate::TopicPartition;
use kafka_protocol::messages::{
    delete_records_request, list_offsets_request, BrokerId, DeleteRecordsRequest,
    ListOffsetsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use tokio::time::Instant;

/// Which offset [`AdminClient::list_offsets`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The end offset (high watermark, or last stable offset under
    /// read_committed).
    Latest,
    /// The offset of the record with the highest timestamp (ListOffsets
    /// v7+, Kafka 3.0+).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this many
    /// milliseconds since the epoch.
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// Which records count for [`OffsetSpec::Latest`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// Every record (the high watermark).
    #[default]
    ReadUncommitted,
    /// Committed transactional records only (the last stable offset).
    ReadCommitted,
}

/// One partition's answer to [`AdminClient::list_offsets`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The offset; -1 when no record matches a timestamp.
    pub offset: i64,
    /// The record's timestamp (for timestamp queries), else -1.
    pub timestamp: i64,
    /// The leader epoch of the record, when the broker says (v4+).
    pub leader_epoch: Option<i32>,
}

/// Leader error codes after which a partition is worth one retry at its
/// new leader: NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
/// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH.
fn leader_moved(code: i16) -> bool {
    matches!(code, 6 | 5 | 74 | 75)
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

impl AdminClient {
    /// The leader of each partition from fresh metadata, or its error.
    async fn leaders(
        &self,
        parts: &[TopicPartition],
        deadline: Instant,
    ) -> Result<(
        BTreeMap<i32, Vec<TopicPartition>>,
        Vec<(TopicPartition, Error)>,
    )> {
        let mut topics: Vec<String> = parts.iter().map(|tp| tp.topic().to_string()).collect();
        topics.sort();
        topics.dedup();
        let md = self
            .cluster
            .metadata(Some(&topics), left(deadline, "finding partition leaders")?)
            .await?;
        let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
        let mut failed = Vec::new();
        for tp in parts {
            let Some(t) = md.topics.iter().find(|t| t.name == tp.topic()) else {
                failed.push((
                    tp.clone(),
                    Error::from_kafka(3, format!("{}/{}", tp.topic(), tp.partition())),
                ));
                continue;
            };
            if let Some(e) = t.error {
                failed.push((
                    tp.clone(),
                    Error::new(
                        e,
                        format!("{}/{}: {}", tp.topic(), tp.partition(), e.description()),
                    ),
                ));
                continue;
            }
            match t.partitions.iter().find(|p| p.id == tp.partition()) {
                Some(p) => match p.leader {
                    Some(l) if l >= 0 => by_leader.entry(l).or_default().push(tp.clone()),
                    _ => failed.push((
                        tp.clone(),
                        Error::from_kafka(5, format!("{}/{}", tp.topic(), tp.partition())),
                    )),
                },
                None => failed.push((
                    tp.clone(),
                    Error::from_kafka(3, format!("{}/{}", tp.topic(), tp.partition())),
                )),
            }
        }
        Ok((by_leader, failed))
    }

    /// Runs a per-partition request at each partition's leader: `send`
    /// answers `(tp, code, value)` for the partitions it was given; leader
    /// moves are retried once.
    pub(super) async fn at_leaders<T, F, Fut>(
        &self,
        parts: &[TopicPartition],
        opts: &AdminOptions,
        send: F,
    ) -> Result<Vec<(TopicPartition, Result<T>)>>
    where
        F: Fn(i32, Vec<TopicPartition>, Instant) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(TopicPartition, i16, T)>>>,
    {
        if parts.is_empty() {
            return Err(Error::new(ErrorCode::InvalidArg, "no partitions given"));
        }
        let deadline = opts.deadline();
        let mut done: Vec<(TopicPartition, Result<T>)> = Vec::new();
        let mut todo: Vec<TopicPartition> = parts.to_vec();
        todo.sort();
        todo.dedup();
        for attempt in 0..2 {
            let (by_leader, failed) = self.leaders(&todo, deadline).await?;
            done.extend(failed.into_iter().map(|(tp, e)| (tp, Err(e))));
            let mut retry = Vec::new();
            for (leader, tps) in by_leader {
                for (tp, code, v) in send(leader, tps, deadline).await? {
                    if code != 0 && leader_moved(code) && attempt == 0 {
                        retry.push(tp);
                        continue;
                    }
                    let what = format!("{}/{}", tp.topic(), tp.partition());
                    done.push(match resource_error(code, None, &what) {
                        None => (tp, Ok(v)),
                        Some(e) => (tp, Err(e)),
                    });
                }
            }
            if retry.is_empty() {
                break;
            }
            todo = retry;
        }
        // In the caller's order.
        let mut out = Vec::with_capacity(parts.len());
        for tp in parts {
            if out.iter().any(|(o, _): &(TopicPartition, _)| o == tp) {
                continue;
            }
            match done.iter().position(|(d, _)| d == tp) {
                Some(i) => out.push(done.swap_remove(i)),
                None => out.push((
                    tp.clone(),
                    Err(Error::new(
                        ErrorCode::BadMsg,
                        format!(
                            "{}/{}: the leader's response did not mention it",
                            tp.topic(),
                            tp.partition()
                        ),
                    )),
                )),
            }
        }
        Ok(out)
    }

    /// Deletes the records before the given offsets (`(topic, partition,
    /// offset)`; offset -1 means the high watermark) at each partition's
    /// leader. Per partition: the new low watermark (log start offset) or
    /// the broker's error (`OffsetOutOfRange` beyond the high watermark).
    pub async fn delete_records(
        &self,
        offsets: &[(&str, i32, i64)],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<i64>> {
        let wanted: BTreeMap<TopicPartition, i64> = offsets
            .iter()
            .map(|(t, p, o)| (TopicPartition::new(*t, *p), *o))
            .collect();
        let parts: Vec<TopicPartition> = offsets
            .iter()
            .map(|(t, p, _)| TopicPartition::new(*t, *p))
            .collect();
        let op_ms = opts.operation_ms();
        let send = |leader: i32, tps: Vec<TopicPartition>, deadline: Instant| {
            let wanted = &wanted;
            async move {
                let build = |_v: i16| {
                    let mut req = DeleteRecordsRequest::default();
                    req.timeout_ms = op_ms;
                    let mut topics: BTreeMap<
                        &str,
                        Vec<delete_records_request::DeleteRecordsPartition>,
                    > = BTreeMap::new();
                    for tp in &tps {
                        let mut p = delete_records_request::DeleteRecordsPartition::default();
                        p.partition_index = tp.partition();
                        p.offset = wanted[tp];
                        topics.entry(tp.topic()).or_default().push(p);
                    }
                    req.topics = topics
                        .into_iter()
                        .map(|(t, ps)| {
                            let mut dt = delete_records_request::DeleteRecordsTopic::default();
                            dt.name = name(t);
                            dt.partitions = ps;
                            dt
                        })
                        .collect();
                    Ok(req)
                };
                let (_, resp) = self
                    .call_at(leader, ConnectionKind::Admin, deadline, &build)
                    .await?;
                Ok(resp
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let n = t.name.0.to_string();
                        t.partitions.into_iter().map(move |p| {
                            (
                                TopicPartition::new(n.clone(), p.partition_index),
                                p.error_code,
                                p.low_watermark,
                            )
                        })
                    })
                    .collect())
            }
        };
        self.at_leaders(&parts, opts, send).await
    }

    /// [`AdminClient::delete_records`] for synchronous code.
    pub fn delete_records_blocking(
        &self,
        offsets: &[(&str, i32, i64)],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<i64>> {
        let owned: Vec<(String, i32, i64)> = offsets
            .iter()
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect();
        let opts = opts.clone();
        self.blocking(move |a| async move {
            let o: Vec<(&str, i32, i64)> =
                owned.iter().map(|(t, p, o)| (t.as_str(), *p, *o)).collect();
            a.delete_records(&o, &opts).await
        })
    }

    /// Looks up offsets at each partition's leader. Per partition: the
    /// offset (and timestamp) or the broker's error.
    pub async fn list_offsets(
        &self,
        partitions: &[(&str, i32, OffsetSpec)],
        isolation: IsolationLevel,
        opts: &AdminOptions,
    ) -> Result<PartitionResults<ListedOffset>> {
        let wanted: BTreeMap<TopicPartition, OffsetSpec> = partitions
            .iter()
            .map(|(t, p, s)| (TopicPartition::new(*t, *p), *s))
            .collect();
        let parts: Vec<TopicPartition> = partitions
            .iter()
            .map(|(t, p, _)| TopicPartition::new(*t, *p))
            .collect();
        let send = |leader: i32, tps: Vec<TopicPartition>, deadline: Instant| {
            let wanted = &wanted;
            async move {
                let build = |v: i16| {
                    let mut req = ListOffsetsRequest::default();
                    req.replica_id = BrokerId(-1);
                    if v >= 2 {
                        req.isolation_level = match isolation {
                            IsolationLevel::ReadUncommitted => 0,
                            IsolationLevel::ReadCommitted => 1,
                        };
                    } else if isolation == IsolationLevel::ReadCommitted {
                        return Err(Error::new(
                            ErrorCode::UnsupportedVersion,
                            format!("read_committed offsets need ListOffsets v2; broker {leader} speaks v{v}"),
                        ));
                    }
                    let mut topics: BTreeMap<
                        &str,
                        Vec<list_offsets_request::ListOffsetsPartition>,
                    > = BTreeMap::new();
                    for tp in &tps {
                        let spec = wanted[tp];
                        if spec == OffsetSpec::MaxTimestamp && v < 7 {
                            return Err(Error::new(
                                ErrorCode::UnsupportedVersion,
                                format!("max-timestamp offsets need ListOffsets v7 (Kafka 3.0); broker {leader} speaks v{v}"),
                            ));
                        }
                        let mut p = list_offsets_request::ListOffsetsPartition::default();
                        p.partition_index = tp.partition();
                        p.timestamp = spec.wire();
                        if v >= 4 {
                            p.current_leader_epoch = -1;
                        }
                        topics.entry(tp.topic()).or_default().push(p);
                    }
                    req.topics = topics
                        .into_iter()
                        .map(|(t, ps)| {
                            let mut lt = list_offsets_request::ListOffsetsTopic::default();
                            lt.name = name(t);
                            lt.partitions = ps;
                            lt
                        })
                        .collect();
                    Ok(req)
                };
                let (v, resp) = self
                    .call_at(leader, ConnectionKind::Fetch, deadline, &build)
                    .await?;
                Ok(resp
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let n = t.name.0.to_string();
                        t.partitions.into_iter().map(move |p| {
                            (
                                TopicPartition::new(n.clone(), p.partition_index),
                                p.error_code,
                                ListedOffset {
                                    offset: p.offset,
                                    timestamp: p.timestamp,
                                    leader_epoch: (v >= 4 && p.leader_epoch >= 0)
                                        .then_some(p.leader_epoch),
                                },
                            )
                        })
                    })
                    .collect())
            }
        };
        self.at_leaders(&parts, opts, send).await
    }

    /// [`AdminClient::list_offsets`] for synchronous code.
    pub fn list_offsets_blocking(
        &self,
        partitions: &[(&str, i32, OffsetSpec)],
        isolation: IsolationLevel,
        opts: &AdminOptions,
    ) -> Result<PartitionResults<ListedOffset>> {
        let owned: Vec<(String, i32, OffsetSpec)> = partitions
            .iter()
            .map(|(t, p, s)| (t.to_string(), *p, *s))
            .collect();
        let opts = opts.clone();
        self.blocking(move |a| async move {
            let o: Vec<(&str, i32, OffsetSpec)> =
                owned.iter().map(|(t, p, s)| (t.as_str(), *p, *s)).collect();
            a.list_offsets(&o, isolation, &opts).await
        })
    }
}
