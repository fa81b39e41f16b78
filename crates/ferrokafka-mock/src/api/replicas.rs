//! Leader elections (ElectLeaders) and partition reassignments
//! (AlterPartitionReassignments, ListPartitionReassignments) over the
//! cluster's partitions, answered by any broker as if it were the
//! controller.
//!
//! A preferred election moves leadership to the first replica when it is
//! up (ELECTION_NOT_NEEDED when it already leads,
//! PREFERRED_LEADER_NOT_AVAILABLE when it is down); an unclean one moves
//! it off a leader that is down to the first replica that is up
//! (ELECTION_NOT_NEEDED while the leader is up, ELIGIBLE_LEADERS_NOT_AVAILABLE
//! when no replica is up). Replication is instantaneous in the mock, so a
//! reassignment completes as it is accepted: the replica set changes, the
//! leader moves to the first new replica when the old one left the set,
//! and there is never an ongoing reassignment to list or cancel
//! (NO_REASSIGNMENT_IN_PROGRESS).

use std::collections::BTreeSet;

use kafka_protocol::messages::{
    alter_partition_reassignments_response::{
        ReassignablePartitionResponse, ReassignableTopicResponse,
    },
    elect_leaders_response::{PartitionResult, ReplicaElectionResult},
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ElectLeadersRequest,
    ElectLeadersResponse, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
};

use super::{str_bytes, topic_name};
use crate::cluster::{ClusterState, Shared};
use crate::log::code::UNKNOWN_TOPIC_OR_PARTITION;

const INVALID_REPLICATION_FACTOR: i16 = 38;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const PREFERRED_LEADER_NOT_AVAILABLE: i16 = 80;
const ELIGIBLE_LEADERS_NOT_AVAILABLE: i16 = 83;
const ELECTION_NOT_NEEDED: i16 = 84;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;

/// One partition's election: `Ok` when the leader moved.
fn elect(st: &mut ClusterState, unclean: bool, topic: &str, p: i32) -> Result<(), (i16, String)> {
    let up = st.up_broker_ids();
    let Some(part) = st.partition_mut(topic, p) else {
        return Err((
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("The partition {topic}-{p} does not exist."),
        ));
    };
    let target = if unclean {
        if up.contains(&part.leader) {
            return Err((
                ELECTION_NOT_NEEDED,
                format!("Leader of {topic}-{p} is alive; no unclean election needed."),
            ));
        }
        part.replicas
            .iter()
            .copied()
            .find(|r| up.contains(r))
            .ok_or_else(|| {
                (
                    ELIGIBLE_LEADERS_NOT_AVAILABLE,
                    format!("No live replica of {topic}-{p} can become leader."),
                )
            })?
    } else {
        let preferred = part.replicas[0];
        if part.leader == preferred {
            return Err((
                ELECTION_NOT_NEEDED,
                format!("The preferred replica {preferred} already leads {topic}-{p}."),
            ));
        }
        if !up.contains(&preferred) {
            return Err((
                PREFERRED_LEADER_NOT_AVAILABLE,
                format!("Failed to elect leader for partition {topic}-{p}: the preferred replica {preferred} is not alive."),
            ));
        }
        preferred
    };
    part.leader = target;
    part.leader_epoch = part.leader_epoch.saturating_add(1);
    Ok(())
}

pub(crate) fn elect_leaders(shared: &Shared, req: ElectLeadersRequest) -> ElectLeadersResponse {
    let unclean = req.election_type == 1;
    let mut st = shared.state();
    let mut r = ElectLeadersResponse::default();
    if req.election_type > 1 {
        r.error_code = 42;
        return r;
    }
    // Null: every partition, reporting only those an election was tried on.
    let (asked, all) = match req.topic_partitions {
        Some(tps) => (
            tps.into_iter()
                .map(|t| (t.topic.0.to_string(), t.partitions))
                .collect::<Vec<_>>(),
            false,
        ),
        None => (
            st.topics
                .iter()
                .map(|(n, t)| (n.clone(), (0..t.partitions.len() as i32).collect()))
                .collect(),
            true,
        ),
    };
    for (topic, parts) in asked {
        let mut x = ReplicaElectionResult::default();
        x.topic = topic_name(&topic);
        for p in parts {
            let res = elect(&mut st, unclean, &topic, p);
            if all && matches!(res, Err((ELECTION_NOT_NEEDED, _))) {
                continue;
            }
            let mut pr = PartitionResult::default();
            pr.partition_id = p;
            if let Err((c, m)) = res {
                pr.error_code = c;
                pr.error_message = Some(str_bytes(&m));
            }
            x.partition_result.push(pr);
        }
        if !x.partition_result.is_empty() || !all {
            r.replica_election_results.push(x);
        }
    }
    r
}

fn reassign(
    st: &mut ClusterState,
    allow_rf_change: bool,
    topic: &str,
    p: i32,
    replicas: Option<Vec<i32>>,
) -> Result<(), (i16, String)> {
    let brokers = st.broker_ids();
    let Some(part) = st.partition_mut(topic, p) else {
        return Err((
            UNKNOWN_TOPIC_OR_PARTITION,
            format!("The partition {topic}-{p} does not exist."),
        ));
    };
    let Some(new) = replicas else {
        return Err((
            NO_REASSIGNMENT_IN_PROGRESS,
            format!("No reassignment of {topic}-{p} is in progress."),
        ));
    };
    let distinct: BTreeSet<i32> = new.iter().copied().collect();
    if new.is_empty() || distinct.len() != new.len() {
        return Err((
            INVALID_REPLICA_ASSIGNMENT,
            format!("The replica set {new:?} of {topic}-{p} is empty or names a broker twice."),
        ));
    }
    if let Some(b) = new.iter().find(|b| !brokers.contains(b)) {
        return Err((
            INVALID_REPLICA_ASSIGNMENT,
            format!("The replica set of {topic}-{p} names broker {b}, which does not exist."),
        ));
    }
    if !allow_rf_change && new.len() != part.replicas.len() {
        return Err((
            INVALID_REPLICATION_FACTOR,
            format!(
                "The replication factor of {topic}-{p} would change from {} to {}.",
                part.replicas.len(),
                new.len()
            ),
        ));
    }
    if !new.contains(&part.leader) {
        part.leader = new[0];
        part.leader_epoch = part.leader_epoch.saturating_add(1);
    }
    part.replicas = new;
    Ok(())
}

pub(crate) fn alter_partition_reassignments(
    shared: &Shared,
    version: i16,
    req: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    // v0 has no flag and always allowed a new replication factor.
    let allow = version == 0 || req.allow_replication_factor_change;
    let mut st = shared.state();
    let mut r = AlterPartitionReassignmentsResponse::default();
    r.allow_replication_factor_change = allow;
    for t in req.topics {
        let topic = t.name.0.to_string();
        let mut x = ReassignableTopicResponse::default();
        x.name = t.name.clone();
        for p in t.partitions {
            let replicas = p
                .replicas
                .map(|v| v.into_iter().map(|b| b.0).collect::<Vec<_>>());
            let mut pr = ReassignablePartitionResponse::default();
            pr.partition_index = p.partition_index;
            if let Err((c, m)) = reassign(&mut st, allow, &topic, p.partition_index, replicas) {
                pr.error_code = c;
                pr.error_message = Some(str_bytes(&m));
            }
            x.partitions.push(pr);
        }
        r.responses.push(x);
    }
    r
}

/// Reassignments complete at once in the mock: nothing is ever ongoing.
pub(crate) fn list_partition_reassignments(
    _req: ListPartitionReassignmentsRequest,
) -> ListPartitionReassignmentsResponse {
    ListPartitionReassignmentsResponse::default()
}
