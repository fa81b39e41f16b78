//! Consumer group administration: ListGroups at every broker (with state
//! and type filters), and at each group's coordinator DescribeGroups,
//! DeleteGroups, removing members (LeaveGroup), the committed offsets of a
//! group (OffsetFetch for all partitions), altering them (OffsetCommit
//! outside any generation, as Kafka's admin tools do; the group must have
//! no members) and deleting them (OffsetDelete).
//!
//! Coordinator requests are re-routed after NOT_COORDINATOR or
//! COORDINATOR_NOT_AVAILABLE (the cached coordinator is forgotten) and
//! retried after COORDINATOR_LOAD_IN_PROGRESS, within the call's timeout.

use super::{left, resource_error, resource_result, AdminClient, AdminOptions, PartitionResults};
use crate::cluster::CoordinatorType;
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use crate::protocol::consumer_protocol;
use crate::protocol::ApiRequest;
use crate::TopicPartition;
use kafka_protocol::messages::{
    leave_group_request, offset_commit_request, offset_delete_request, DeleteGroupsRequest,
    DescribeGroupsRequest, GroupId, LeaveGroupRequest, ListGroupsRequest, OffsetCommitRequest,
    OffsetDeleteRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// A group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    /// The group id.
    pub group_id: String,
    /// `consumer` for consumer groups, empty for groups with no members.
    pub protocol_type: String,
    /// The group's state (`Stable`, `Empty`, ...), when the broker says.
    pub state: Option<String>,
    /// The group's type (`classic`, `consumer`, `share`), from brokers
    /// that say (ListGroups v5+, Kafka 3.8+).
    pub group_type: Option<String>,
}

/// A member to remove with [`AdminClient::remove_group_members`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemberToRemove {
    /// A static member, by its `group.instance.id`.
    InstanceId(String),
    /// A dynamic member, by the member id its coordinator gave
    /// (LeaveGroup v5+, Kafka 2.4+).
    MemberId(String),
}

impl MemberToRemove {
    fn label(&self) -> String {
        match self {
            MemberToRemove::InstanceId(i) => format!("instance {i:?}"),
            MemberToRemove::MemberId(m) => format!("member {m:?}"),
        }
    }
}

/// A member of a described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// The member id the coordinator gave.
    pub member_id: String,
    /// `group.instance.id` of a static member.
    pub instance_id: Option<String>,
    /// The member's `client.id`.
    pub client_id: String,
    /// The member's host as the coordinator sees it.
    pub client_host: String,
    /// Its partitions (decoded for consumer groups).
    pub assignment: Vec<TopicPartition>,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    /// The group id.
    pub group_id: String,
    /// The error the coordinator reported for this group, if any.
    pub error: Option<ErrorCode>,
    /// The group's state (`Stable`, `Empty`, `PreparingRebalance`, ...).
    pub state: String,
    /// `consumer` for consumer groups.
    pub protocol_type: String,
    /// The assignor chosen for the current generation.
    pub protocol: String,
    /// The members.
    pub members: Vec<GroupMember>,
}

fn gid(s: &str) -> GroupId {
    GroupId(StrBytes::from_string(s.to_string()))
}

impl AdminClient {
    /// Every group of the cluster (ListGroups sent to each broker).
    pub async fn list_groups(&self, timeout: Duration) -> Result<Vec<GroupListing>> {
        self.list_groups_filtered(&[], &[], &AdminOptions::new().request_timeout(timeout))
            .await
    }

    /// The groups of the cluster in one of `states` (e.g. `Stable`,
    /// `Empty`; ListGroups v4+) and of one of `types` (`classic`,
    /// `consumer`, `share`; v5+). An empty filter matches everything. A
    /// filter the brokers cannot apply is refused with
    /// `UnsupportedVersion` rather than ignored.
    pub async fn list_groups_filtered(
        &self,
        states: &[&str],
        types: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<GroupListing>> {
        let deadline = opts.deadline();
        let md = self
            .cluster
            .metadata(Some(&[]), left(deadline, "list groups")?)
            .await?;
        let mut out = Vec::new();
        for b in &md.brokers {
            let build = |v: i16| {
                let mut req = ListGroupsRequest::default();
                let need = |what: &str, min: i16| {
                    Error::new(
                        ErrorCode::UnsupportedVersion,
                        format!(
                            "a group {what} filter needs ListGroups v{min}; broker {} speaks v{v}",
                            b.id
                        ),
                    )
                };
                if !states.is_empty() {
                    if v < 4 {
                        return Err(need("state", 4));
                    }
                    req.states_filter = states.iter().map(|s| sb(s)).collect();
                }
                if !types.is_empty() {
                    if v < 5 {
                        return Err(need("type", 5));
                    }
                    req.types_filter = types.iter().map(|s| sb(s)).collect();
                }
                Ok(req)
            };
            let (_, r) = self
                .call_at(b.id, ConnectionKind::Admin, deadline, &build)
                .await?;
            if r.error_code != 0 {
                return Err(Error::from_kafka(
                    r.error_code,
                    format!("ListGroups at broker {}", b.id),
                ));
            }
            for g in r.groups {
                let state = g.group_state.to_string();
                let kind = g.group_type.to_string();
                out.push(GroupListing {
                    group_id: g.group_id.0.to_string(),
                    protocol_type: g.protocol_type.to_string(),
                    state: (!state.is_empty()).then_some(state),
                    group_type: (!kind.is_empty()).then_some(kind),
                });
            }
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(out)
    }

    /// [`AdminClient::list_groups_filtered`] for synchronous code.
    pub fn list_groups_blocking(
        &self,
        states: &[&str],
        types: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<GroupListing>> {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<String>>();
        let (states, types, opts) = (own(states), own(types), opts.clone());
        self.blocking(move |a| async move {
            let s: Vec<&str> = states.iter().map(String::as_str).collect();
            let t: Vec<&str> = types.iter().map(String::as_str).collect();
            a.list_groups_filtered(&s, &t, &opts).await
        })
    }

    /// Describes `groups` at their coordinators.
    pub async fn describe_groups(
        &self,
        groups: &[&str],
        timeout: Duration,
    ) -> Result<Vec<GroupDescription>> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let build = |_v: i16| {
                let mut req = DescribeGroupsRequest::default();
                req.groups = vec![gid(g)];
                Ok(req)
            };
            let r = self
                .call_coordinator(g, deadline, build, |r| {
                    r.groups.first().map_or(0, |d| d.error_code)
                })
                .await?;
            for d in r.groups {
                let consumer = d.protocol_type.as_str() == "consumer";
                out.push(GroupDescription {
                    group_id: d.group_id.0.to_string(),
                    error: (d.error_code != 0).then(|| ErrorCode::from_kafka(d.error_code)),
                    state: d.group_state.to_string(),
                    protocol_type: d.protocol_type.to_string(),
                    protocol: d.protocol_data.to_string(),
                    members: d
                        .members
                        .into_iter()
                        .map(|m| GroupMember {
                            member_id: m.member_id.to_string(),
                            instance_id: m.group_instance_id.map(|s| s.to_string()),
                            client_id: m.client_id.to_string(),
                            client_host: m.client_host.to_string(),
                            assignment: if consumer {
                                consumer_protocol::decode_assignment(&m.member_assignment)
                                    .unwrap_or_default()
                            } else {
                                Vec::new()
                            },
                        })
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    /// The offsets `group` committed: `(topic, partition, next offset)`,
    /// sorted.
    pub async fn list_group_offsets(
        &self,
        group: &str,
        timeout: Duration,
    ) -> Result<Vec<(String, i32, i64)>> {
        let deadline = Instant::now() + timeout;
        let build = |_v: i16| {
            let mut req = OffsetFetchRequest::default();
            req.group_id = gid(group);
            req.topics = None;
            Ok(req)
        };
        let r = self
            .call_coordinator(group, deadline, build, |r| r.error_code)
            .await?;
        if r.error_code != 0 {
            return Err(Error::from_kafka(
                r.error_code,
                format!("committed offsets of group {group}"),
            ));
        }
        let mut out = Vec::new();
        for t in r.topics {
            for p in t.partitions {
                if p.error_code == 0 && p.committed_offset >= 0 {
                    out.push((t.name.0.to_string(), p.partition_index, p.committed_offset));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// [`AdminClient::describe_groups`] for synchronous code.
    pub fn describe_groups_blocking(
        &self,
        groups: &[&str],
        timeout: Duration,
    ) -> Result<Vec<GroupDescription>> {
        let groups: Vec<String> = groups.iter().map(|s| s.to_string()).collect();
        self.blocking(move |a| async move {
            let g: Vec<&str> = groups.iter().map(String::as_str).collect();
            a.describe_groups(&g, timeout).await
        })
    }

    /// [`AdminClient::list_group_offsets`] for synchronous code.
    pub fn list_group_offsets_blocking(
        &self,
        group: &str,
        timeout: Duration,
    ) -> Result<Vec<(String, i32, i64)>> {
        let group = group.to_string();
        self.blocking(move |a| async move { a.list_group_offsets(&group, timeout).await })
    }

    /// Sends a request to `group`'s coordinator; `code` reads the
    /// response's group-level error. NOT_COORDINATOR and
    /// COORDINATOR_NOT_AVAILABLE re-route (forgetting the cached
    /// coordinator), COORDINATOR_LOAD_IN_PROGRESS retries after a pause.
    async fn call_coordinator<R: ApiRequest>(
        &self,
        group: &str,
        deadline: Instant,
        build: impl Fn(i16) -> Result<R>,
        code: impl Fn(&R::Response) -> i16,
    ) -> Result<R::Response> {
        let mut tries = 0;
        loop {
            // A new cluster creates `__consumer_offsets` on the first
            // lookup and answers COORDINATOR_NOT_AVAILABLE until it is
            // ready: wait for it within the deadline.
            let found = self
                .cluster
                .coordinator(
                    CoordinatorType::Group,
                    group,
                    left(
                        deadline,
                        &format!("finding the coordinator of group {group:?}"),
                    )?,
                )
                .await;
            let id = match found {
                Ok(id) => id,
                Err(e)
                    if matches!(
                        e.code(),
                        ErrorCode::CoordinatorNotAvailable | ErrorCode::CoordinatorLoadInProgress
                    ) && Instant::now() + Duration::from_millis(200) < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let (_, resp) = self
                .call_at(id, ConnectionKind::Group, deadline, &build)
                .await?;
            tries += 1;
            let c = code(&resp);
            if !matches!(c, 14..=16) || tries >= super::MAX_REROUTES {
                return Ok(resp);
            }
            if c != 14 {
                self.cluster
                    .invalidate_coordinator(CoordinatorType::Group, group);
            }
            let pause = Duration::from_millis(50 * tries as u64);
            tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
        }
    }

    /// Deletes `groups` (each must have no members) at their coordinators.
    /// Per group: `Ok(())` or the broker's error (`GroupIdNotFound`,
    /// `NonEmptyGroup`).
    pub async fn delete_groups(
        &self,
        groups: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        if groups.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "delete groups: no groups given",
            ));
        }
        let deadline = opts.deadline();
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let build = |_v: i16| {
                let mut req = DeleteGroupsRequest::default();
                req.groups_names = vec![gid(g)];
                Ok(req)
            };
            let r = self
                .call_coordinator(g, deadline, build, |r| {
                    r.results.first().map_or(0, |x| x.error_code)
                })
                .await?;
            let res = match r.results.iter().find(|x| x.group_id.0.as_str() == *g) {
                Some(x) => resource_result(x.error_code, None, &format!("delete group {g:?}"), ()),
                None => Err(Error::new(
                    ErrorCode::BadMsg,
                    format!("delete group {g:?}: the coordinator's response did not mention it"),
                )),
            };
            out.push((g.to_string(), res));
        }
        Ok(out)
    }

    /// [`AdminClient::delete_groups`] for synchronous code.
    pub fn delete_groups_blocking(
        &self,
        groups: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        let (groups, opts): (Vec<String>, _) =
            (groups.iter().map(|s| s.to_string()).collect(), opts.clone());
        self.blocking(move |a| async move {
            let g: Vec<&str> = groups.iter().map(String::as_str).collect();
            a.delete_groups(&g, &opts).await
        })
    }

    /// Removes members from `group` (LeaveGroup v3+ on their behalf). Per
    /// member: `Ok(())` or the broker's error (`UnknownMemberId`); a
    /// group-level error (`GroupIdNotFound`, ...) fails every member.
    pub async fn remove_group_members(
        &self,
        group: &str,
        members: &[MemberToRemove],
        opts: &AdminOptions,
    ) -> Result<Vec<(MemberToRemove, Result<()>)>> {
        if members.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!("remove members of group {group:?}: no members given"),
            ));
        }
        let deadline = opts.deadline();
        let build = |v: i16| {
            if v < 3 {
                return Err(Error::new(
                    ErrorCode::UnsupportedVersion,
                    format!("removing members needs LeaveGroup v3 (Kafka 2.4); the coordinator speaks v{v}"),
                ));
            }
            let mut req = LeaveGroupRequest::default();
            req.group_id = gid(group);
            for m in members {
                let mut id = leave_group_request::MemberIdentity::default();
                match m {
                    MemberToRemove::InstanceId(i) => {
                        id.member_id = sb("");
                        id.group_instance_id = Some(sb(i));
                    }
                    MemberToRemove::MemberId(mid) => {
                        if v < 5 {
                            return Err(Error::new(
                                ErrorCode::UnsupportedVersion,
                                format!("removing a member by member id needs LeaveGroup v5; the coordinator speaks v{v}"),
                            ));
                        }
                        id.member_id = sb(mid);
                        id.group_instance_id = None;
                    }
                }
                if v >= 5 {
                    id.reason = Some(sb("removed by an admin client"));
                }
                req.members.push(id);
            }
            Ok(req)
        };
        let r = self
            .call_coordinator(group, deadline, build, |r| r.error_code)
            .await?;
        Ok(members
            .iter()
            .map(|m| {
                let what = format!("remove {} from group {group:?}", m.label());
                let res = if let Some(e) = resource_error(r.error_code, None, &what) {
                    Err(e)
                } else {
                    let found = r.members.iter().find(|x| match m {
                        MemberToRemove::InstanceId(i) => {
                            x.group_instance_id.as_deref() == Some(i.as_str())
                        }
                        MemberToRemove::MemberId(mid) => x.member_id.as_str() == mid,
                    });
                    match found {
                        Some(x) => resource_result(x.error_code, None, &what, ()),
                        None => Err(Error::new(
                            ErrorCode::BadMsg,
                            format!("{what}: the coordinator's response did not mention it"),
                        )),
                    }
                };
                (m.clone(), res)
            })
            .collect())
    }

    /// [`AdminClient::remove_group_members`] for synchronous code.
    pub fn remove_group_members_blocking(
        &self,
        group: &str,
        members: &[MemberToRemove],
        opts: &AdminOptions,
    ) -> Result<Vec<(MemberToRemove, Result<()>)>> {
        let (group, members, opts) = (group.to_string(), members.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.remove_group_members(&group, &members, &opts).await })
    }

    /// Sets `group`'s committed offsets (`(topic, partition, offset)`), as
    /// Kafka's admin tools do: outside any generation, so the group must
    /// have no active members (a live group answers `UnknownMemberId`).
    /// Per partition: `Ok(())` or the broker's error.
    pub async fn alter_group_offsets(
        &self,
        group: &str,
        offsets: &[(&str, i32, i64)],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        if offsets.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!("alter offsets of group {group:?}: no partitions given"),
            ));
        }
        let deadline = opts.deadline();
        let build = |v: i16| {
            let mut req = OffsetCommitRequest::default();
            req.group_id = gid(group);
            req.generation_id_or_member_epoch = -1;
            req.member_id = sb("");
            if (2..=4).contains(&v) {
                req.retention_time_ms = -1;
            }
            let mut topics: BTreeMap<
                &str,
                Vec<offset_commit_request::OffsetCommitRequestPartition>,
            > = BTreeMap::new();
            for (t, p, o) in offsets {
                let mut part = offset_commit_request::OffsetCommitRequestPartition::default();
                part.partition_index = *p;
                part.committed_offset = *o;
                if v >= 6 {
                    part.committed_leader_epoch = -1;
                }
                part.committed_metadata = Some(sb(""));
                topics.entry(t).or_default().push(part);
            }
            req.topics = topics
                .into_iter()
                .map(|(t, ps)| {
                    let mut ot = offset_commit_request::OffsetCommitRequestTopic::default();
                    ot.name = tname(t);
                    ot.partitions = ps;
                    ot
                })
                .collect();
            Ok(req)
        };
        // OffsetCommit has no group-level error: a coordinator problem shows
        // on every partition.
        let r = self
            .call_coordinator(group, deadline, build, |r| {
                r.topics
                    .first()
                    .and_then(|t| t.partitions.first())
                    .map_or(0, |p| p.error_code)
            })
            .await?;
        let got: Vec<(TopicPartition, i16)> = r
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| {
                    (
                        TopicPartition::new(t.name.as_str(), p.partition_index),
                        p.error_code,
                    )
                })
            })
            .collect();
        Ok(per_partition(
            offsets.iter().map(|(t, p, _)| TopicPartition::new(*t, *p)),
            &got,
            0,
            &format!("alter offset of group {group:?} at"),
        ))
    }

    /// [`AdminClient::alter_group_offsets`] for synchronous code.
    pub fn alter_group_offsets_blocking(
        &self,
        group: &str,
        offsets: &[(&str, i32, i64)],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        let owned: Vec<(String, i32, i64)> = offsets
            .iter()
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect();
        let (group, opts) = (group.to_string(), opts.clone());
        self.blocking(move |a| async move {
            let o: Vec<(&str, i32, i64)> =
                owned.iter().map(|(t, p, o)| (t.as_str(), *p, *o)).collect();
            a.alter_group_offsets(&group, &o, &opts).await
        })
    }

    /// Deletes `group`'s committed offsets of the given partitions
    /// (OffsetDelete, Kafka 2.4+). Per partition: `Ok(())` or the broker's
    /// error (`GroupSubscribedToTopic` while members consume the topic); a
    /// group-level error (`GroupIdNotFound`, ...) fails every partition.
    pub async fn delete_group_offsets(
        &self,
        group: &str,
        partitions: &[(&str, i32)],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        if partitions.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!("delete offsets of group {group:?}: no partitions given"),
            ));
        }
        let deadline = opts.deadline();
        let build = |_v: i16| {
            let mut req = OffsetDeleteRequest::default();
            req.group_id = gid(group);
            let mut topics: BTreeMap<
                &str,
                Vec<offset_delete_request::OffsetDeleteRequestPartition>,
            > = BTreeMap::new();
            for (t, p) in partitions {
                let mut part = offset_delete_request::OffsetDeleteRequestPartition::default();
                part.partition_index = *p;
                topics.entry(t).or_default().push(part);
            }
            req.topics = topics
                .into_iter()
                .map(|(t, ps)| {
                    let mut ot = offset_delete_request::OffsetDeleteRequestTopic::default();
                    ot.name = tname(t);
                    ot.partitions = ps;
                    ot
                })
                .collect();
            Ok(req)
        };
        let r = self
            .call_coordinator(group, deadline, build, |r| r.error_code)
            .await?;
        let got: Vec<(TopicPartition, i16)> = r
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| {
                    (
                        TopicPartition::new(t.name.as_str(), p.partition_index),
                        p.error_code,
                    )
                })
            })
            .collect();
        Ok(per_partition(
            partitions.iter().map(|(t, p)| TopicPartition::new(*t, *p)),
            &got,
            r.error_code,
            &format!("delete offset of group {group:?} at"),
        ))
    }

    /// [`AdminClient::delete_group_offsets`] for synchronous code.
    pub fn delete_group_offsets_blocking(
        &self,
        group: &str,
        partitions: &[(&str, i32)],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        let owned: Vec<TopicPartition> = partitions
            .iter()
            .map(|(t, p)| TopicPartition::new(*t, *p))
            .collect();
        let (group, opts) = (group.to_string(), opts.clone());
        self.blocking(move |a| async move {
            let o: Vec<(&str, i32)> = owned
                .iter()
                .map(|tp| (tp.topic(), tp.partition()))
                .collect();
            a.delete_group_offsets(&group, &o, &opts).await
        })
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn tname(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// Per-partition results in the caller's order: a group-level error
/// fails all; otherwise each partition's code, or an error when the
/// broker left it out.
fn per_partition(
    wanted: impl Iterator<Item = TopicPartition>,
    got: &[(TopicPartition, i16)],
    group_code: i16,
    what: &str,
) -> PartitionResults<()> {
    wanted
        .map(|tp| {
            let label = format!("{what} {}/{}", tp.topic(), tp.partition());
            let res = if let Some(e) = resource_error(group_code, None, &label) {
                Err(e)
            } else {
                match got.iter().find(|(g, _)| *g == tp) {
                    Some((_, c)) => resource_result(*c, None, &label, ()),
                    None => Err(Error::new(
                        ErrorCode::BadMsg,
                        format!("{label}: the coordinator's response did not mention it"),
                    )),
                }
            };
            (tp, res)
        })
        .collect()
}
