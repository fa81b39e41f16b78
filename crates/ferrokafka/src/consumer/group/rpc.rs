//! The group's requests to its coordinator: FindCoordinator, JoinGroup
//! (with the leader's assignment), SyncGroup, Heartbeat, LeaveGroup and
//! offset commits, each started as a task for a `Membership` action and
//! finished as a `Done` the task feeds back to the state machine; and the
//! versions they are sent at.

use super::assignor::{self, Subscription};
use super::membership::Action;
use super::task::{check_topics, resolve_topics, Done, GroupConfig};

use crate::cluster::CoordinatorType;
use crate::consumer::Shared;
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use crate::protocol::ApiKey;
use crate::TopicPartition;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    GroupId, HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

pub(super) fn gid(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_string()))
}

pub(super) fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

pub(super) fn start(sh: &Arc<Shared>, cfg: &GroupConfig, tasks: &mut JoinSet<Done>, a: Action) {
    let cluster = sh.cluster.clone();
    let group = cfg.group_id.clone();
    let timeout = cfg.request_timeout;
    let coordinator = sh.members.lock().coordinator;
    match a {
        Action::FindCoordinator => {
            cluster.invalidate_coordinator(CoordinatorType::Group, &group);
            tasks.spawn(async move {
                Done::Coordinator(
                    cluster
                        .coordinator(CoordinatorType::Group, &group, timeout)
                        .await,
                )
            });
        }
        Action::QueryCoordinator => {
            cluster.invalidate_coordinator(CoordinatorType::Group, &group);
            tasks.spawn(async move {
                Done::CoordinatorQueried(
                    cluster
                        .coordinator(CoordinatorType::Group, &group, timeout)
                        .await,
                )
            });
        }
        Action::Join {
            member_id,
            owned,
            generation,
        } => {
            let weak = Arc::downgrade(sh);
            let cfg = cfg.clone();
            tasks.spawn(async move {
                let r = async {
                    let sh = weak.upgrade().ok_or_else(gone)?;
                    let id = coordinator.ok_or_else(no_coordinator)?;
                    let patterns = sh.members.lock().topics.clone();
                    let topics = resolve_topics(&sh, &patterns).await;
                    let known = check_topics(&sh, &topics).await;
                    {
                        let mut g = sh.members.lock();
                        g.resolved = topics.clone();
                        g.known = known;
                    }
                    let mut req = JoinGroupRequest::default();
                    req.group_id = gid(&cfg.group_id);
                    req.session_timeout_ms = ms(cfg.member.session_timeout);
                    req.rebalance_timeout_ms = ms(cfg.member.max_poll_interval);
                    req.member_id = sb(&member_id);
                    req.group_instance_id = cfg.member.instance_id.as_deref().map(sb);
                    req.protocol_type = sb(&cfg.protocol_type);
                    // Ownership only matters to the sticky assignor; leaving it
                    // out otherwise keeps a restarted static member's
                    // subscription identical (no rebalance, KIP-345).
                    let (owned, generation) = if cfg.member.cooperative {
                        (owned, generation)
                    } else {
                        (Vec::new(), -1)
                    };
                    for name in &cfg.assignors {
                        let meta = assignor::encode_subscription(
                            &topics,
                            &owned,
                            generation,
                            cfg.rack.as_deref(),
                        )?;
                        let mut p = JoinGroupRequestProtocol::default();
                        p.name = sb(name);
                        p.metadata = meta.into();
                        req.protocols.push(p);
                    }
                    let wait = join_timeout(cfg.member.max_poll_interval, cfg.request_timeout);
                    drop(sh);
                    let v = version(&cluster, id, ApiKey::JoinGroup, timeout).await?;
                    cluster
                        .send_version(id, ConnectionKind::Group, &req, v, Some(wait))
                        .await
                }
                .await;
                Done::Join(r)
            });
        }
        Action::Assign { protocol, members } => {
            let weak = Arc::downgrade(sh);
            tasks.spawn(async move {
                let r = async {
                    let sh = weak.upgrade().ok_or_else(gone)?;
                    leader_assign(&sh, &protocol, &members, timeout).await
                }
                .await;
                Done::Assigned(r)
            });
        }
        Action::Sync {
            generation,
            member_id,
            protocol,
            assignments,
        } => {
            let instance = cfg.member.instance_id.clone();
            let protocol_type = cfg.protocol_type.clone();
            tasks.spawn(async move {
                let r = async {
                    let id = coordinator.ok_or_else(no_coordinator)?;
                    let v = version(&cluster, id, ApiKey::SyncGroup, timeout).await?;
                    let mut req = SyncGroupRequest::default();
                    req.group_id = gid(&group);
                    req.generation_id = generation;
                    req.member_id = sb(&member_id);
                    if v >= 3 {
                        req.group_instance_id = instance.as_deref().map(sb);
                    }
                    if v >= 5 {
                        req.protocol_type = Some(sb(&protocol_type));
                        req.protocol_name = Some(sb(&protocol));
                    }
                    for (m, a) in assignments {
                        let mut x = SyncGroupRequestAssignment::default();
                        x.member_id = sb(&m);
                        x.assignment = a.into();
                        req.assignments.push(x);
                    }
                    cluster
                        .send_version(id, ConnectionKind::Group, &req, v, Some(timeout))
                        .await
                }
                .await;
                Done::Sync(r)
            });
        }
        Action::Heartbeat {
            generation,
            member_id,
        } => {
            let instance = cfg.member.instance_id.clone();
            tasks.spawn(async move {
                let r = async {
                    let id = coordinator.ok_or_else(no_coordinator)?;
                    let v = version(&cluster, id, ApiKey::Heartbeat, timeout).await?;
                    let mut req = HeartbeatRequest::default();
                    req.group_id = gid(&group);
                    req.generation_id = generation;
                    req.member_id = sb(&member_id);
                    if v >= 3 {
                        req.group_instance_id = instance.as_deref().map(sb);
                    }
                    cluster
                        .send_version(id, ConnectionKind::Group, &req, v, Some(timeout))
                        .await
                }
                .await;
                Done::Heartbeat(r)
            });
        }
        Action::Leave { member_id } => {
            tasks.spawn(async move {
                if let Some(id) = coordinator {
                    let _ = send_leave(&cluster, id, &group, &member_id, timeout).await;
                }
                Done::Left
            });
        }
    }
}

pub(crate) async fn send_leave(
    cluster: &crate::cluster::Cluster,
    id: i32,
    group: &str,
    member_id: &str,
    timeout: Duration,
) -> Result<()> {
    let v = version(cluster, id, ApiKey::LeaveGroup, timeout).await?;
    let mut req = LeaveGroupRequest::default();
    req.group_id = gid(group);
    if v >= 3 {
        let mut m = MemberIdentity::default();
        m.member_id = sb(member_id);
        req.members.push(m);
    } else {
        req.member_id = sb(member_id);
    }
    let r = cluster
        .send_version(id, ConnectionKind::Group, &req, v, Some(timeout))
        .await?;
    if r.error_code != 0 {
        return Err(Error::from_kafka(
            r.error_code,
            format!("LeaveGroup {group}"),
        ));
    }
    Ok(())
}

/// The version of group request `key` to send to coordinator `id`: the
/// highest negotiated, except where a lower one says the same thing.
///
/// A version whose only change from the one before is the flexible encoding
/// (KIP-482: JoinGroup v6, SyncGroup and Heartbeat v4) is sent as the one
/// before, and LeaveGroup as at most v2: we leave as one dynamic member, so
/// v3's member batch adds nothing. The higher versions are not free:
/// librdkafka's mock cluster advertises them but reads their arrays as
/// non-flexible v0 layouts, closing the connection on the parse error or
/// answering in a shape we cannot decode (librdkafka itself stops at
/// v5/v3/v3/v1, so brokers accept these). Versions with new semantics
/// (JoinGroup v7+, SyncGroup v5+) are still used where negotiated.
pub(super) async fn version(
    cluster: &crate::cluster::Cluster,
    id: i32,
    key: ApiKey,
    timeout: Duration,
) -> Result<i16> {
    let v = cluster
        .connection(id, ConnectionKind::Group)?
        .api_versions(Some(timeout))
        .await?
        .require(key)?;
    Ok(preferred_version(key, v))
}

/// The version of `key` to send when `v` is the highest negotiated one (see
/// [`version`]).
pub(super) fn preferred_version(key: ApiKey, v: i16) -> i16 {
    match key {
        ApiKey::JoinGroup if v == 6 => 5,
        ApiKey::SyncGroup | ApiKey::Heartbeat if v == 4 => 3,
        ApiKey::LeaveGroup => v.min(2),
        _ => v,
    }
}

/// How long a JoinGroup answer is waited for: the coordinator holds a join
/// up to the rebalance timeout (`max.poll.interval.ms`), plus 5 s for
/// delays, never less than an ordinary request (the Java client's bound).
/// A coordinator silent longer is given up and found again.
pub(super) fn join_timeout(rebalance: Duration, request: Duration) -> Duration {
    rebalance
        .saturating_add(Duration::from_secs(5))
        .max(request)
}

pub(super) fn ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

pub(super) fn gone() -> Error {
    Error::new(ErrorCode::Destroy, "the consumer was dropped")
}

pub(super) fn no_coordinator() -> Error {
    Error::new(
        ErrorCode::CoordinatorNotAvailable,
        "no group coordinator known",
    )
}

pub(super) async fn leader_assign(
    sh: &Shared,
    protocol: &str,
    members: &[(String, Vec<u8>)],
    timeout: Duration,
) -> Result<Vec<(String, Vec<u8>)>> {
    let mut subs = Vec::with_capacity(members.len());
    for (id, meta) in members {
        match assignor::decode_subscription(id, meta) {
            Ok(mut s) => {
                s.instance_id = sh.members.lock().instances.get(id).cloned();
                subs.push(s)
            }
            Err(e) => {
                tracing::warn!(target: "ferrokafka::consumer", "member {id}: {e}");
                subs.push(Subscription {
                    member_id: id.clone(),
                    topics: Vec::new(),
                    owned: Vec::new(),
                    generation: -1,
                    rack: None,
                    instance_id: None,
                });
            }
        }
    }
    // The plan must use current partition counts, not a cache that may
    // predate a topic's creation or growth: ask the cluster first (as
    // librdkafka's leader does). A failure leaves the cache to answer.
    let topics: Vec<String> = subs
        .iter()
        .flat_map(|s| s.topics.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !topics.is_empty() {
        if let Err(e) = sh.cluster.metadata(Some(&topics), timeout).await {
            crate::debug::trace_ctx!(
                sh.cluster.observer().debug(),
                Assignor,
                "leader metadata refresh failed: {e}"
            );
        }
    }
    let mut counts: BTreeMap<String, i32> = BTreeMap::new();
    // Replica racks matter only when a member has one (KIP-881).
    let rack_aware = subs.iter().any(|s| s.rack.is_some());
    let mut racks = assignor::Racks::new();
    for s in &subs {
        for t in &s.topics {
            if counts.contains_key(t) {
                continue;
            }
            match sh.cluster.partitions_for(t, timeout).await {
                Ok(p) => {
                    counts.insert(t.clone(), i32::try_from(p.len()).unwrap_or(i32::MAX));
                    for part in p.iter().filter(|_| rack_aware) {
                        let r: BTreeSet<String> = part
                            .replicas
                            .iter()
                            .filter_map(|id| sh.cluster.broker(*id)?.rack)
                            .collect();
                        if !r.is_empty() {
                            racks.insert(TopicPartition::new(t.as_str(), part.id), r);
                        }
                    }
                }
                Err(e) => {
                    crate::debug::trace_ctx!(
                        sh.cluster.observer().debug(),
                        Assignor,
                        "no partitions for {t}: {e}"
                    )
                }
            }
        }
    }
    let plan = assignor::assign(protocol, &subs, &counts, &racks)?;
    let mut out = Vec::with_capacity(plan.len());
    for (m, parts) in plan {
        out.push((m, assignor::encode_assignment(&parts)?));
    }
    Ok(out)
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn flexible_only_group_versions_step_down() {
        assert_eq!(preferred_version(ApiKey::JoinGroup, 6), 5);
        assert_eq!(preferred_version(ApiKey::SyncGroup, 4), 3);
        assert_eq!(preferred_version(ApiKey::Heartbeat, 4), 3);
    }

    #[test]
    fn versions_with_new_fields_are_kept() {
        // KIP-814 skip_assignment (JoinGroup v9) and protocol type/name
        // (SyncGroup v5) must survive.
        assert_eq!(preferred_version(ApiKey::JoinGroup, 9), 9);
        assert_eq!(preferred_version(ApiKey::JoinGroup, 5), 5);
        assert_eq!(preferred_version(ApiKey::SyncGroup, 5), 5);
        assert_eq!(preferred_version(ApiKey::Heartbeat, 3), 3);
        assert_eq!(preferred_version(ApiKey::OffsetCommit, 8), 8);
    }

    #[test]
    fn join_waits_for_the_rebalance_timeout_and_five_seconds() {
        let s = Duration::from_secs;
        assert_eq!(join_timeout(s(300), s(60)), s(305));
        assert_eq!(join_timeout(s(1), s(60)), s(60));
        assert_eq!(join_timeout(Duration::MAX, s(60)), Duration::MAX);
    }

    #[test]
    fn leave_group_uses_the_single_member_layout() {
        assert_eq!(preferred_version(ApiKey::LeaveGroup, 5), 2);
        assert_eq!(preferred_version(ApiKey::LeaveGroup, 1), 1);
    }
}
