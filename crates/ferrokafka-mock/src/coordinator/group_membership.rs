//! The wire side of classic group membership: JoinGroup, SyncGroup,
//! Heartbeat and LeaveGroup requests become inputs of the I/O-free
//! [`super::group`] machine, and its answers become responses. JoinGroup
//! and SyncGroup may wait: they take a ticket and wait (bounded) for its
//! completion while the clock advances.

use std::time::{Duration, Instant};

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

use super::group::{JoinParams, Reply, SyncParams, NONE};
use super::{check_coordinator, opt, own, own_opt, s, tick};
use crate::cluster::Shared;

/// How often a waiting JoinGroup/SyncGroup advances the clock.
const WAIT_TICK: Duration = Duration::from_millis(50);

/// Waits for a delayed answer, advancing the clock meanwhile; `None` after
/// `limit` or when the coordinator dropped the ticket.
async fn wait(shared: &Shared, mut rx: oneshot::Receiver<Reply>, limit: Duration) -> Option<Reply> {
    let deadline = Instant::now() + limit;
    loop {
        match tokio::time::timeout(WAIT_TICK, &mut rx).await {
            Ok(Ok(reply)) => return Some(reply),
            Ok(Err(_)) => return None,
            Err(_) if Instant::now() >= deadline => return None,
            Err(_) => tick(shared),
        }
    }
}

pub(super) async fn join_group(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    client_id: String,
    r: JoinGroupRequest,
) -> JoinGroupResponse {
    let mut resp = JoinGroupResponse::default().with_generation_id(-1);
    resp.member_id = r.member_id.clone();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let rebalance_timeout_ms = if version == 0 {
        r.session_timeout_ms
    } else {
        r.rebalance_timeout_ms
    };
    let params = JoinParams {
        group_id: own(&r.group_id),
        member_id: own(&r.member_id),
        group_instance_id: own_opt(&r.group_instance_id),
        client_id,
        client_host: "/127.0.0.1".to_string(),
        session_timeout_ms: r.session_timeout_ms,
        rebalance_timeout_ms,
        protocol_type: own(&r.protocol_type),
        protocols: r
            .protocols
            .iter()
            .map(|p| (own(&p.name), p.metadata.clone()))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let state = &shared.coordinator;
    let rx = {
        let mut inner = state.lock();
        let (ticket, rx) = inner.ticket();
        inner.groups.join(state.now(), ticket, params);
        inner.deliver();
        rx
    };
    let limit = Duration::from_millis(rebalance_timeout_ms.max(0) as u64) + Duration::from_secs(5);
    let Some(Reply::Join(j)) = wait(shared, rx, limit).await else {
        resp.error_code = E::RebalanceInProgress.code();
        return resp;
    };
    resp.error_code = j.error;
    resp.generation_id = j.generation_id;
    resp.protocol_type = opt(&j.protocol_type);
    resp.protocol_name = opt(&j.protocol_name);
    if version < 7 && resp.protocol_name.is_none() {
        // Before v7 the protocol name is not nullable on the wire.
        resp.protocol_name = Some(StrBytes::default());
    }
    resp.leader = s(&j.leader);
    resp.member_id = s(&j.member_id);
    resp.skip_assignment = j.skip_assignment && version >= 9;
    resp.members = j
        .members
        .iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(s(&m.member_id))
                .with_group_instance_id(opt(&m.group_instance_id))
                .with_metadata(m.metadata.clone())
        })
        .collect();
    resp
}

pub(super) async fn sync_group(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: SyncGroupRequest,
) -> SyncGroupResponse {
    let mut resp = SyncGroupResponse::default();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let params = SyncParams {
        group_id: own(&r.group_id),
        generation_id: r.generation_id,
        member_id: own(&r.member_id),
        group_instance_id: own_opt(&r.group_instance_id),
        protocol_type: own_opt(&r.protocol_type),
        protocol_name: own_opt(&r.protocol_name),
        assignments: r
            .assignments
            .iter()
            .map(|a| (own(&a.member_id), a.assignment.clone()))
            .collect(),
    };
    let state = &shared.coordinator;
    let rx = {
        let mut inner = state.lock();
        let (ticket, rx) = inner.ticket();
        inner.groups.sync(state.now(), ticket, params);
        inner.deliver();
        rx
    };
    // A follower waits for the leader; the leader's own session timeout
    // bounds that (expiry answers the waiters), this is a backstop.
    let Some(Reply::Sync(res)) = wait(shared, rx, Duration::from_secs(300)).await else {
        resp.error_code = E::RebalanceInProgress.code();
        return resp;
    };
    resp.error_code = res.error;
    if version >= 5 {
        resp.protocol_type = opt(&res.protocol_type);
        resp.protocol_name = opt(&res.protocol_name);
    }
    resp.assignment = res.assignment;
    resp
}

pub(super) fn heartbeat(shared: &Shared, broker_id: i32, r: HeartbeatRequest) -> HeartbeatResponse {
    let code = check_coordinator(shared, broker_id, &r.group_id)
        .err()
        .unwrap_or_else(|| {
            let state = &shared.coordinator;
            let mut inner = state.lock();
            let instance = own_opt(&r.group_instance_id);
            let code = inner.groups.heartbeat(
                state.now(),
                &r.group_id,
                &r.member_id,
                instance.as_deref(),
                r.generation_id,
            );
            inner.deliver();
            code
        });
    HeartbeatResponse::default().with_error_code(code)
}

pub(super) fn leave_group(
    shared: &Shared,
    broker_id: i32,
    version: i16,
    r: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let mut resp = LeaveGroupResponse::default();
    if let Err(code) = check_coordinator(shared, broker_id, &r.group_id) {
        resp.error_code = code;
        return resp;
    }
    let members: Vec<(String, Option<String>)> = if version >= 3 {
        r.members
            .iter()
            .map(|m| (own(&m.member_id), own_opt(&m.group_instance_id)))
            .collect()
    } else {
        vec![(own(&r.member_id), None)]
    };
    let state = &shared.coordinator;
    let codes = {
        let mut inner = state.lock();
        let codes = inner.groups.leave(state.now(), &r.group_id, &members);
        inner.deliver();
        codes
    };
    if version >= 3 {
        resp.members = members
            .into_iter()
            .zip(codes)
            .map(|((member_id, instance), code)| {
                MemberResponse::default()
                    .with_member_id(s(&member_id))
                    .with_group_instance_id(opt(&instance))
                    .with_error_code(code)
            })
            .collect();
    } else {
        resp.error_code = codes.first().copied().unwrap_or(NONE);
    }
    resp
}
