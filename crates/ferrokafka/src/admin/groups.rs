//! Consumer group reads for tools: ListGroups (every broker), DescribeGroups
//! and the committed offsets of a group (OffsetFetch for all partitions),
//! both at the group's coordinator.

use super::AdminClient;
use crate::cluster::CoordinatorType;
use crate::consumer::group::assignor;
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use kafka_protocol::messages::{
    DescribeGroupsRequest, GroupId, ListGroupsRequest, OffsetFetchRequest,
};
use kafka_protocol::protocol::StrBytes;
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
    pub assignment: Vec<(String, i32)>,
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
        let deadline = Instant::now() + timeout;
        let md = self.cluster.metadata(Some(&[]), timeout).await?;
        let mut out = Vec::new();
        for b in &md.brokers {
            let left = deadline.saturating_duration_since(Instant::now());
            let r = self
                .cluster
                .send(
                    b.id,
                    ConnectionKind::Admin,
                    &ListGroupsRequest::default(),
                    Some(left),
                )
                .await?;
            if r.error_code != 0 {
                return Err(Error::from_kafka(
                    r.error_code,
                    format!("ListGroups at broker {}", b.id),
                ));
            }
            for g in r.groups {
                let state = g.group_state.to_string();
                out.push(GroupListing {
                    group_id: g.group_id.0.to_string(),
                    protocol_type: g.protocol_type.to_string(),
                    state: (!state.is_empty()).then_some(state),
                });
            }
        }
        out.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        out.dedup_by(|a, b| a.group_id == b.group_id);
        Ok(out)
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
            let left = deadline.saturating_duration_since(Instant::now());
            let id = self
                .cluster
                .coordinator(CoordinatorType::Group, g, left)
                .await?;
            let mut req = DescribeGroupsRequest::default();
            req.groups = vec![gid(g)];
            let left = deadline.saturating_duration_since(Instant::now());
            let r = self
                .cluster
                .send(id, ConnectionKind::Group, &req, Some(left))
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
                                assignor::decode_assignment(&m.member_assignment)
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
        let id = self
            .cluster
            .coordinator(CoordinatorType::Group, group, timeout)
            .await?;
        let mut req = OffsetFetchRequest::default();
        req.group_id = gid(group);
        req.topics = None;
        let left = deadline.saturating_duration_since(Instant::now());
        let r = self
            .cluster
            .send(id, ConnectionKind::Group, &req, Some(left))
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
}
