//! What the group admin APIs read and remove: describe, list, delete a
//! group, and a member's metadata (for OffsetDelete's subscription check).

use super::*;

impl Groups {
    /// Handles one group of DeleteGroups: only a group without members can
    /// go, with its committed offsets.
    pub(crate) fn delete_group(&mut self, group_id: &str) -> i16 {
        match self.groups.get(group_id) {
            None => E::GroupIdNotFound.code(),
            Some(g) if g.state != GroupState::Empty || !g.pending_members.is_empty() => {
                E::NonEmptyGroup.code()
            }
            Some(_) => {
                self.groups.remove(group_id);
                NONE
            }
        }
    }

    /// The protocol type of a group and each member's metadata for the
    /// chosen protocol (what OffsetDelete reads subscriptions from), or
    /// `None` if the group does not exist.
    pub(crate) fn member_metadata(&self, group_id: &str) -> Option<(String, Vec<Bytes>)> {
        let g = self.groups.get(group_id)?;
        let protocol = g.protocol_name.clone().unwrap_or_default();
        let metadata = g
            .members
            .values()
            .map(|m| m.metadata_for(&protocol))
            .collect();
        Some((g.protocol_type.clone().unwrap_or_default(), metadata))
    }

    /// (group id, protocol type, state) of every group, optionally only those
    /// in one of `states` (case-insensitive state names).
    pub(crate) fn list(&self, states: &[String]) -> Vec<(String, String, GroupState)> {
        self.groups
            .iter()
            .filter(|(_, g)| {
                states.is_empty()
                    || states
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(g.state.name()))
            })
            .map(|(id, g)| {
                (
                    id.clone(),
                    g.protocol_type.clone().unwrap_or_default(),
                    g.state,
                )
            })
            .collect()
    }

    /// The current generation of a group, `None` if it does not exist.
    pub(crate) fn generation(&self, group_id: &str) -> Option<i32> {
        self.groups.get(group_id).map(|g| g.generation)
    }

    /// A group as DescribeGroups shows it, or `None` if it does not exist.
    pub(crate) fn describe(&self, group_id: &str) -> Option<GroupDescription> {
        let g = self.groups.get(group_id)?;
        let protocol = g.protocol_name.clone().unwrap_or_default();
        Some(GroupDescription {
            state: g.state,
            protocol_type: g.protocol_type.clone().unwrap_or_default(),
            protocol_name: protocol.clone(),
            members: g
                .members
                .iter()
                .map(|(id, m)| MemberDescription {
                    member_id: id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: m.metadata_for(&protocol),
                    assignment: if g.state == GroupState::Stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
        })
    }
}
