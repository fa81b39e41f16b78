//! The consumer's requests on the wire: Fetch (built from the state
//! machine's [`FetchPart`]s, answered as [`FetchResult`]s with the records
//! decoded off the driver task), ListOffsets, and the group coordinator's
//! OffsetFetch/OffsetCommit for a "simple" consumer (generation -1).
//!
//! Fetches go on the brokers' fetch connections; offset lookups
//! (ListOffsets, OffsetForLeaderEpoch) on the admin connections, so they
//! never queue behind a fetch the broker holds for `fetch.wait.max.ms`.
//! Routing (leaders, coordinators, connections per traffic class) is the
//! `cluster`'s; decoding records is [`super::decode`]'s; what each Fetch
//! carries within its broker's fetch session (KIP-227) is
//! [`FetchSession`]'s.

mod session;

use super::decode::{decode, Aborted, DecodeParams};
use super::fetch::{CommitEntry, EpochOffset, FetchPart, FetchResult, OffsetQuery};
use crate::cluster::{Cluster, CoordinatorType};
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use crate::TopicPartition;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, GroupId, ListOffsetsRequest, OffsetCommitRequest,
    OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
pub(crate) use session::FetchSession;
use session::Marks;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Fetch settings that go on the wire.
#[derive(Debug, Clone)]
pub(crate) struct WireSettings {
    pub max_wait: Duration,
    pub min_bytes: i32,
    pub max_bytes: i32,
    pub read_committed: bool,
    pub check_crc: bool,
    pub rack: String,
    pub request_timeout: Duration,
}

/// The group identity commits are made under: generation -1 and no member
/// for a consumer that only assigns; the group consumer sets its own.
#[derive(Debug, Clone)]
pub(crate) struct GroupIdentity {
    pub group_id: String,
    pub generation: i32,
    pub member_id: String,
    pub instance_id: Option<String>,
}

/// Where a fetch hands each decoded partition (the consumer's state, under
/// its lock).
pub(crate) type Deliver = dyn Fn(FetchPart, FetchResult) + Send + Sync;

/// A ListOffsets query: partition, timestamp (-2/-1 or ms), leader epoch.
type TimeQuery = (TopicPartition, i64, Option<i32>);

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Sends one Fetch for `parts` to `broker` within its fetch `session`
/// (full or incremental, KIP-227) and decodes every partition, handing
/// each to `deliver` as soon as it is decoded (one call per requested
/// partition; a partition missing from the answer is passed as an error).
/// Returns how many were handed over. A session
/// the broker refuses (evicted, wrong epoch) is replaced at once by a full
/// fetch; any other failure restarts the session, so the next request is
/// full.
pub(crate) async fn fetch(
    cluster: &Cluster,
    broker: i32,
    parts: &[FetchPart],
    s: &WireSettings,
    session: &mut FetchSession,
    deliver: &Deliver,
) -> Result<usize> {
    let mut r = fetch_in(cluster, broker, parts, s, session, deliver).await;
    if let Ok(None) = r {
        // The retry is a full fetch: it cannot be refused for the session.
        r = fetch_in(cluster, broker, parts, s, session, deliver).await;
    }
    match r {
        Ok(Some(out)) => {
            crate::debug::trace_ctx!(
                cluster.observer().debug(),
                Fetch,
                broker,
                "Fetch from broker {broker}: {} partition(s) asked, {} answered",
                parts.len(),
                out
            );
            Ok(out)
        }
        Ok(None) => {
            session.restart();
            Err(Error::new(
                ErrorCode::BadMsg,
                format!("broker {broker} refused a full fetch for its fetch session"),
            ))
        }
        Err(e) => {
            session.restart();
            Err(e)
        }
    }
}

/// One Fetch; `Ok(None)` when the broker refused the session (the
/// session is then reset for a full fetch), which is before anything was
/// handed to `deliver`.
async fn fetch_in(
    cluster: &Cluster,
    broker: i32,
    parts: &[FetchPart],
    s: &WireSettings,
    session: &mut FetchSession,
    deliver: &Deliver,
) -> Result<Option<usize>> {
    let timeout = s.request_timeout + s.max_wait;
    let conn = cluster.connection(broker, ConnectionKind::Fetch)?;
    let versions = conn.api_versions(Some(timeout)).await?;
    let version = versions.require(ApiKey::Fetch)?;
    session.on_socket(&versions);
    let plan = session.plan(parts, version);
    let mut topics: Vec<FetchTopic> = Vec::new();
    for p in plan.send.iter().filter_map(|i| parts.get(*i)) {
        let mut fp = FetchPartition::default();
        fp.partition = p.tp.partition();
        fp.current_leader_epoch = p.epoch.unwrap_or(-1);
        fp.fetch_offset = p.offset;
        fp.last_fetched_epoch = p.last_epoch.unwrap_or(-1);
        fp.log_start_offset = -1;
        fp.partition_max_bytes = p.max_bytes;
        match topics.last_mut() {
            Some(t) if *t.topic.0 == *p.tp.topic() => t.partitions.push(fp),
            _ => {
                let mut t = FetchTopic::default();
                t.topic = name(p.tp.topic());
                t.partitions.push(fp);
                topics.push(t);
            }
        }
    }
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = i32::try_from(s.max_wait.as_millis()).unwrap_or(i32::MAX);
    req.min_bytes = s.min_bytes;
    req.max_bytes = s.max_bytes;
    req.isolation_level = i8::from(s.read_committed);
    req.session_id = plan.session_id;
    req.session_epoch = plan.epoch;
    req.topics = topics;
    req.forgotten_topics_data = forgotten(&plan.forgotten);
    req.rack_id = StrBytes::from_string(s.rack.clone());
    let incremental = plan.incremental;
    let resp = conn.send_version(&req, version, Some(timeout)).await?;
    let top = resp.error_code;
    // Partitions left out of a failed incremental answer were not looked at.
    let incremental = incremental && top == 0;
    if !session.answered(plan, resp.session_id, top) {
        crate::debug::trace_ctx!(
            cluster.observer().debug(),
            Fetch,
            broker,
            error = top,
            "fetch session refused, fetching in full"
        );
        return Ok(None);
    }
    // Any other request-level error with no partitions fails the request;
    // with partitions it applies to those without their own.
    if top != 0 && resp.responses.is_empty() {
        return Err(Error::from_kafka(
            top,
            format!("fetch from broker {broker}"),
        ));
    }
    let mut by_tp: HashMap<(&str, i32), PartitionData> = HashMap::new();
    let mut names: Vec<(String, Vec<PartitionData>)> = Vec::new();
    for t in resp.responses {
        names.push((t.topic.0.to_string(), t.partitions));
    }
    for (t, ps) in &mut names {
        for pd in ps.drain(..) {
            by_tp.insert((t.as_str(), pd.partition_index), pd);
        }
    }
    let mut out = 0;
    for p in parts {
        let pd = match by_tp.remove(&(p.tp.topic(), p.tp.partition())) {
            Some(pd) => pd,
            // An incremental response leaves out the partitions with
            // nothing new: no records, the watermarks as last answered.
            None if incremental => unchanged(p, session.marks(&p.tp)),
            None => {
                // A partition the broker left out: treat like a leader change.
                deliver(
                    p.clone(),
                    FetchResult::Error(ErrorCode::NotLeaderOrFollower),
                );
                out += 1;
                continue;
            }
        };
        if pd.error_code == 0 && top == 0 {
            let marks = Marks {
                high: pd.high_watermark,
                lso: pd.last_stable_offset,
                low: pd.log_start_offset,
            };
            session.mark(&p.tp, marks);
        }
        let code = if pd.error_code != 0 {
            pd.error_code
        } else {
            top
        };
        if code != 0 {
            deliver(p.clone(), FetchResult::Error(ErrorCode::from_kafka(code)));
            out += 1;
            continue;
        }
        let aborted = if s.read_committed {
            Some(
                pd.aborted_transactions
                    .unwrap_or_default()
                    .iter()
                    .map(|a| Aborted {
                        producer_id: a.producer_id.0,
                        first_offset: a.first_offset,
                    })
                    .collect(),
            )
        } else {
            None
        };
        // The messages get a topic name of their own, allocated once per
        // partition answer: every message clones it here and the
        // application drops it on its thread. One name shared with the
        // rest of the consumer would have its reference count bounce
        // between the two threads' caches for every message.
        let topic: Arc<str> = Arc::from(p.tp.topic());
        let decoded = decode(
            pd.records.unwrap_or_default(),
            DecodeParams {
                topic: &topic,
                partition: p.tp.partition(),
                broker,
                fetch_offset: p.offset,
                check_crc: s.check_crc,
                budget: p.budget,
                aborted,
            },
        );
        let preferred = pd.preferred_read_replica.0;
        let div = &pd.diverging_epoch;
        let diverging =
            (div.epoch >= 0 && div.end_offset >= 0).then_some((div.epoch, div.end_offset));
        deliver(
            p.clone(),
            FetchResult::Data {
                decoded,
                high: pd.high_watermark,
                lso: pd.last_stable_offset,
                low: pd.log_start_offset,
                preferred_replica: (preferred >= 0 && preferred != broker).then_some(preferred),
                diverging,
            },
        );
        out += 1;
    }
    Ok(Some(out))
}

/// The forgotten partitions of a request, grouped by topic.
fn forgotten(tps: &[TopicPartition]) -> Vec<ForgottenTopic> {
    let mut out: Vec<ForgottenTopic> = Vec::new();
    for tp in tps {
        match out.last_mut() {
            Some(t) if *t.topic.0 == *tp.topic() => t.partitions.push(tp.partition()),
            _ => {
                let mut t = ForgottenTopic::default();
                t.topic = name(tp.topic());
                t.partitions.push(tp.partition());
                out.push(t);
            }
        }
    }
    out
}

/// The answer for a partition an incremental response left out: no
/// records, the watermarks last answered (-1 when unknown).
fn unchanged(p: &FetchPart, marks: Option<Marks>) -> PartitionData {
    let m = marks.unwrap_or(Marks {
        high: -1,
        lso: -1,
        low: -1,
    });
    let mut pd = PartitionData::default();
    pd.partition_index = p.tp.partition();
    pd.high_watermark = m.high;
    pd.last_stable_offset = m.lso;
    pd.log_start_offset = m.low;
    pd.records = Some(bytes::Bytes::new());
    pd.aborted_transactions = None;
    pd
}

/// ListOffsets for some partitions of one leader: offsets by timestamp
/// (-2 earliest, -1 latest).
async fn list_offsets_at(
    cluster: &Cluster,
    broker: i32,
    queries: &[TimeQuery],
    read_committed: bool,
    timeout: Duration,
) -> Result<Vec<(TopicPartition, Result<i64>)>> {
    let mut topics: Vec<ListOffsetsTopic> = Vec::new();
    for (tp, ts, epoch) in queries {
        let mut p = ListOffsetsPartition::default();
        p.partition_index = tp.partition();
        p.current_leader_epoch = epoch.unwrap_or(-1);
        p.timestamp = *ts;
        match topics.iter_mut().find(|t| *t.name.0 == *tp.topic()) {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = ListOffsetsTopic::default();
                t.name = name(tp.topic());
                t.partitions.push(p);
                topics.push(t);
            }
        }
    }
    let mut req = ListOffsetsRequest::default();
    req.replica_id = BrokerId(-1);
    req.isolation_level = i8::from(read_committed);
    req.topics = topics;
    req.timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let resp = cluster
        .send(broker, ConnectionKind::Admin, &req, Some(timeout))
        .await?;
    let mut out = Vec::new();
    for (tp, _, _) in queries {
        let found = resp
            .topics
            .iter()
            .filter(|t| *t.name.0 == *tp.topic())
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition_index == tp.partition());
        let r = match found {
            None => Err(Error::new(
                ErrorCode::UnknownTopicOrPartition,
                format!(
                    "{} [{}]: missing from the ListOffsets response",
                    tp.topic(),
                    tp.partition()
                ),
            )),
            Some(p) if p.error_code != 0 => Err(Error::from_kafka(
                p.error_code,
                format!("list offsets of {} [{}]", tp.topic(), tp.partition()),
            )),
            Some(p) => Ok(p.offset),
        };
        out.push((tp.clone(), r));
    }
    Ok(out)
}

/// Resolves one start offset at its leader.
pub(crate) async fn resolve_offset(
    cluster: &Cluster,
    broker: i32,
    tp: &TopicPartition,
    query: OffsetQuery,
    epoch: Option<i32>,
    read_committed: bool,
    timeout: Duration,
) -> Result<i64> {
    let one = |ts: i64| {
        let q = [(tp.clone(), ts, epoch)];
        async move {
            list_offsets_at(cluster, broker, &q, read_committed, timeout)
                .await?
                .pop()
                .map(|x| x.1)
                .unwrap_or_else(|| Err(Error::new(ErrorCode::BadMsg, "empty ListOffsets answer")))
        }
    };
    match query {
        OffsetQuery::Time(ts) => one(ts).await,
        OffsetQuery::Tail(n) => {
            let end = one(-1).await?;
            let start = one(-2).await?;
            Ok(end.saturating_sub(n).max(start))
        }
    }
}

/// Pause between two rounds of a lookup whose leader moved.
const LEADER_RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Looks up offsets by timestamp (or -1/-2) for any partitions, grouping
/// them per leader; waits for metadata up to `timeout`. A partition whose
/// answer says the leader moved (FENCED_LEADER_EPOCH after a leader
/// election, NOT_LEADER_OR_FOLLOWER, a dead broker) is asked again at its
/// new leader after a metadata refresh, until `timeout`; only then is its
/// error returned.
pub(crate) async fn list_offsets(
    cluster: &Cluster,
    queries: &[(TopicPartition, i64)],
    read_committed: bool,
    timeout: Duration,
) -> Result<Vec<(TopicPartition, Result<i64>)>> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<(TopicPartition, i64)> = queries.to_vec();
    let mut done = Vec::with_capacity(queries.len());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let round = list_offsets_once(cluster, &pending, read_committed, left).await?;
        let may_retry = Instant::now() + LEADER_RETRY_BACKOFF < deadline;
        let mut retry = Vec::new();
        for (tp, r) in round {
            match &r {
                Err(e) if may_retry && crate::cluster::stale_leader(e.code()) => {
                    cluster.leader_error(tp.topic());
                    if let Some(q) = pending.iter().find(|(p, _)| *p == tp) {
                        retry.push(q.clone());
                    }
                }
                _ => done.push((tp, r)),
            }
        }
        if retry.is_empty() {
            return Ok(done);
        }
        tokio::time::sleep(LEADER_RETRY_BACKOFF).await;
        pending = retry;
    }
}

/// One round of [`list_offsets`]: each partition asked once at the leader
/// the metadata names.
async fn list_offsets_once(
    cluster: &Cluster,
    queries: &[(TopicPartition, i64)],
    read_committed: bool,
    timeout: Duration,
) -> Result<Vec<(TopicPartition, Result<i64>)>> {
    let deadline = Instant::now() + timeout;
    let mut per_broker: Vec<(i32, Vec<TimeQuery>)> = Vec::new();
    let mut out = Vec::new();
    for (tp, ts) in queries {
        let left = deadline.saturating_duration_since(Instant::now());
        let parts = cluster.partitions_for(tp.topic(), left).await?;
        let Some(p) = parts.iter().find(|p| p.id == tp.partition()) else {
            out.push((
                tp.clone(),
                Err(Error::new(
                    ErrorCode::UnknownPartition,
                    format!("{} has no partition {}", tp.topic(), tp.partition()),
                )),
            ));
            continue;
        };
        let Some(leader) = p.leader else {
            out.push((
                tp.clone(),
                Err(Error::new(
                    ErrorCode::LeaderNotAvailable,
                    format!("{} [{}] has no leader", tp.topic(), tp.partition()),
                )),
            ));
            continue;
        };
        let q = (tp.clone(), *ts, p.leader_epoch);
        match per_broker.iter_mut().find(|(b, _)| *b == leader) {
            Some((_, v)) => v.push(q),
            None => per_broker.push((leader, vec![q])),
        }
    }
    for (broker, qs) in per_broker {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        match list_offsets_at(cluster, broker, &qs, read_committed, left).await {
            Ok(v) => out.extend(v),
            Err(e) => {
                for (tp, _, _) in qs {
                    out.push((tp, Err(e.clone())));
                }
            }
        }
    }
    Ok(out)
}

fn coordinator_error(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
    )
}

/// Errors after which the same request is sent again, to the same
/// coordinator, once a backoff has passed: a transaction's offsets still
/// pending (`UNSTABLE_OFFSET_COMMIT`, KIP-447) resolve when it ends.
fn wait_error(code: ErrorCode) -> bool {
    code == ErrorCode::UnstableOffsetCommit
}

/// Runs `op` against the group's coordinator, looking it up again after
/// coordinator errors, until it succeeds or `timeout` passes.
pub(crate) async fn with_coordinator<T, F, Fut>(
    cluster: &Cluster,
    group: &str,
    timeout: Duration,
    mut op: F,
) -> Result<T>
where
    F: FnMut(i32, Duration) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut backoff = Duration::from_millis(50);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = async {
            let id = cluster
                .coordinator(CoordinatorType::Group, group, left)
                .await?;
            op(id, left).await
        }
        .await;
        match attempt {
            Ok(v) => return Ok(v),
            Err(e)
                if (coordinator_error(e.code()) || wait_error(e.code()) || e.code().is_local())
                    && Instant::now() + backoff < deadline =>
            {
                if coordinator_error(e.code()) || e.code() == ErrorCode::Transport {
                    cluster.invalidate_coordinator(CoordinatorType::Group, group);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(1000));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The committed offsets (and leader epochs) of `tps`; `None` where the
/// group has none.
pub(crate) async fn fetch_committed(
    cluster: &Cluster,
    group: &str,
    tps: &[TopicPartition],
    require_stable: bool,
    timeout: Duration,
) -> Result<Vec<(TopicPartition, Option<EpochOffset>)>> {
    let r = fetch_committed_with_metadata(cluster, group, tps, require_stable, timeout).await?;
    Ok(r.into_iter().map(|(tp, o)| (tp, o.map(|x| x.0))).collect())
}

/// [`fetch_committed`] with each offset's commit metadata string.
///
/// With `require_stable` (a read_committed consumer, KIP-447) the request
/// asks the coordinator to refuse partitions whose transactional offsets are
/// still pending (`UNSTABLE_OFFSET_COMMIT`), and the call waits for the
/// transaction to end instead of reading the offset from before it: a
/// new member would otherwise re-consume what a committed transaction
/// already covered. Brokers older than OffsetFetch v7 cannot be asked;
/// there the last committed offset is all there is.
pub(crate) async fn fetch_committed_with_metadata(
    cluster: &Cluster,
    group: &str,
    tps: &[TopicPartition],
    require_stable: bool,
    timeout: Duration,
) -> Result<Vec<(TopicPartition, Option<(EpochOffset, String)>)>> {
    let mut topics: Vec<OffsetFetchRequestTopic> = Vec::new();
    for tp in tps {
        match topics.iter_mut().find(|t| *t.name.0 == *tp.topic()) {
            Some(t) => t.partition_indexes.push(tp.partition()),
            None => {
                let mut t = OffsetFetchRequestTopic::default();
                t.name = name(tp.topic());
                t.partition_indexes.push(tp.partition());
                topics.push(t);
            }
        }
    }
    let mut req = OffsetFetchRequest::default();
    req.group_id = GroupId(StrBytes::from_string(group.to_string()));
    req.topics = Some(topics);
    with_coordinator(cluster, group, timeout, |id, left| {
        let mut req = req.clone();
        async move {
            let version = cluster
                .connection(id, ConnectionKind::Group)?
                .api_versions(Some(left))
                .await?
                .require(ApiKey::OffsetFetch)?;
            req.require_stable = require_stable && version >= 7;
            let resp = cluster
                .send_version(id, ConnectionKind::Group, &req, version, Some(left))
                .await?;
            if resp.error_code != 0 {
                return Err(Error::from_kafka(
                    resp.error_code,
                    format!("fetch committed offsets of group {group}"),
                ));
            }
            let mut out = Vec::new();
            for tp in tps {
                let p = resp
                    .topics
                    .iter()
                    .filter(|t| *t.name.0 == *tp.topic())
                    .flat_map(|t| t.partitions.iter())
                    .find(|p| p.partition_index == tp.partition());
                match p {
                    Some(p) if p.error_code != 0 => {
                        return Err(Error::from_kafka(
                            p.error_code,
                            format!("committed offset of {} [{}]", tp.topic(), tp.partition()),
                        ))
                    }
                    Some(p) if p.committed_offset >= 0 => out.push((
                        tp.clone(),
                        Some((
                            (
                                p.committed_offset,
                                (p.committed_leader_epoch >= 0).then_some(p.committed_leader_epoch),
                            ),
                            p.metadata.as_deref().unwrap_or("").to_string(),
                        )),
                    )),
                    _ => out.push((tp.clone(), None)),
                }
            }
            Ok(out)
        }
    })
    .await
}

/// Commits `offsets` (the offsets of the next records to consume).
pub(crate) async fn commit(
    cluster: &Cluster,
    who: &GroupIdentity,
    offsets: &[CommitEntry],
    timeout: Duration,
) -> Result<()> {
    commit_with_metadata(cluster, who, offsets, &[], timeout).await
}

/// [`commit`] with `metadata[i]` stored beside `offsets[i]` (empty where
/// `metadata` is shorter).
pub(crate) async fn commit_with_metadata(
    cluster: &Cluster,
    who: &GroupIdentity,
    offsets: &[CommitEntry],
    metadata: &[String],
    timeout: Duration,
) -> Result<()> {
    let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
    for (i, (tp, o, e)) in offsets.iter().enumerate() {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = tp.partition();
        p.committed_offset = *o;
        p.committed_leader_epoch = e.unwrap_or(-1);
        let m = metadata.get(i).map_or("", String::as_str);
        p.committed_metadata = Some(StrBytes::from_string(m.to_string()));
        match topics.iter_mut().find(|t| *t.name.0 == *tp.topic()) {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = OffsetCommitRequestTopic::default();
                t.name = name(tp.topic());
                t.partitions.push(p);
                topics.push(t);
            }
        }
    }
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(StrBytes::from_string(who.group_id.clone()));
    req.generation_id_or_member_epoch = who.generation;
    req.member_id = StrBytes::from_string(who.member_id.clone());
    req.group_instance_id = who.instance_id.clone().map(StrBytes::from_string);
    req.retention_time_ms = -1;
    req.topics = topics;
    let group = who.group_id.as_str();
    with_coordinator(cluster, group, timeout, |id, left| {
        let req = req.clone();
        async move {
            let resp = cluster
                .send(id, ConnectionKind::Group, &req, Some(left))
                .await?;
            for t in &resp.topics {
                for p in &t.partitions {
                    if p.error_code != 0 {
                        return Err(Error::from_kafka(
                            p.error_code,
                            format!(
                                "commit offset of {} [{}] for group {group}",
                                t.name.0, p.partition_index
                            ),
                        ));
                    }
                }
            }
            Ok(())
        }
    })
    .await
}

/// Shared name of the topic as an `Arc<str>`.
pub(crate) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// OffsetForLeaderEpoch for one partition at its leader: where
/// `last_epoch` ends, as `(epoch, end_offset)`.
pub(crate) async fn epoch_end(
    cluster: &Cluster,
    broker: i32,
    tp: &TopicPartition,
    current_epoch: Option<i32>,
    last_epoch: i32,
    timeout: Duration,
) -> Result<(i32, i64)> {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::OffsetForLeaderEpochRequest;
    let mut p = OffsetForLeaderPartition::default();
    p.partition = tp.partition();
    p.current_leader_epoch = current_epoch.unwrap_or(-1);
    p.leader_epoch = last_epoch;
    let mut t = OffsetForLeaderTopic::default();
    t.topic = name(tp.topic());
    t.partitions.push(p);
    let mut req = OffsetForLeaderEpochRequest::default();
    req.replica_id = BrokerId(-1);
    req.topics.push(t);
    let resp = cluster
        .send(broker, ConnectionKind::Admin, &req, Some(timeout))
        .await?;
    let r = resp
        .topics
        .iter()
        .filter(|t| *t.topic.0 == *tp.topic())
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition == tp.partition())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::BadMsg,
                "OffsetForLeaderEpoch answer lacks the partition asked for",
            )
        })?;
    if r.error_code != 0 {
        return Err(Error::from_kafka(
            r.error_code,
            format!("leader epoch of {} [{}]", tp.topic(), tp.partition()),
        ));
    }
    Ok((r.leader_epoch, r.end_offset))
}
