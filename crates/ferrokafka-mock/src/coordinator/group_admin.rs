//! The group admin APIs: ListGroups, DescribeGroups and DeleteGroups,
//! read from (or, for DeleteGroups, applied to) the I/O-free
//! [`super::group`] machine. Each broker lists the groups it coordinates.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;

use super::{check_coordinator, coordinator_for, opt, own, s};
use crate::cluster::Shared;

pub(super) fn list_groups(
    shared: &Shared,
    broker_id: i32,
    r: ListGroupsRequest,
) -> ListGroupsResponse {
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

pub(super) fn describe_groups(
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

pub(super) fn delete_groups(
    shared: &Shared,
    broker_id: i32,
    r: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
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
