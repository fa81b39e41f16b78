//! Classic consumer groups (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and the
//! committed offsets of every group, as a state machine without I/O.
//!
//! Requests go in with the current time (`now`, milliseconds on any monotonic
//! clock) and, for the two requests that may have to wait (JoinGroup and
//! SyncGroup), a [`Ticket`] naming the waiting caller. Answers come out as
//! [`Completion`]s from [`Groups::take_completions`], possibly much later
//! (when the last member rejoins, or when [`Groups::handle_timeout`] sees the
//! rebalance timeout pass). Requests that never wait return their answer
//! directly. The async layer in `coordinator/mod.rs` only moves these values
//! to and from the wire; choosing the coordinator broker is left to it too.
//!
//! The rules follow the Kafka broker's classic group coordinator: KIP-394
//! (`MEMBER_ID_REQUIRED`), KIP-345 static membership, and the offset commit
//! checks on generation and member id.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use indexmap::IndexMap;
use kafka_protocol::error::ResponseError as E;

/// Names a caller waiting for a JoinGroup or SyncGroup answer.
pub type Ticket = u64;

/// The error code for "no error".
pub(crate) const NONE: i16 = 0;

/// Largest committed-offset metadata string accepted (the broker's
/// `offset.metadata.max.bytes` default).
const MAX_OFFSET_METADATA_BYTES: usize = 4096;

/// Most protocols one JoinGroup may list. Kafka sets no limit, but protocol
/// selection is quadratic in this count, and clients send one to three.
const MAX_PROTOCOLS: usize = 64;

/// Most members of one group (the broker's `group.max.size` is unlimited by
/// default; a bound keeps a misbehaving client from growing one forever).
const MAX_GROUP_SIZE: usize = 10_000;

/// Limits the coordinator applies to groups.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// Smallest session timeout a member may ask for. The broker's default is
    /// 6000 ms; the mock accepts shorter ones so tests can expire members fast.
    pub min_session_timeout_ms: i32,
    /// Largest session timeout a member may ask for (broker default).
    pub max_session_timeout_ms: i32,
    /// How long the first rebalance of an empty group waits for more members
    /// (the broker's `group.initial.rebalance.delay.ms`; 0 here by default so
    /// tests do not pay 3 s per group).
    pub initial_rebalance_delay_ms: u64,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            min_session_timeout_ms: 10,
            max_session_timeout_ms: 1_800_000,
            initial_rebalance_delay_ms: 0,
        }
    }
}

/// The state of a classic group, named as DescribeGroups/ListGroups name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupState {
    /// No members (may still hold committed offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's SyncGroup.
    CompletingRebalance,
    /// Assignments handed out.
    Stable,
}

impl GroupState {
    /// The wire name of the state.
    pub(crate) fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// One JoinGroup request.
#[derive(Debug, Clone, Default)]
pub struct JoinParams {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    /// For JoinGroup v0 (which has no such field) pass the session timeout.
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    /// (protocol name, member metadata) in the member's order of preference.
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: an unknown member first gets `MEMBER_ID_REQUIRED`.
    pub require_known_member_id: bool,
}

/// A member as listed to the leader in its JoinGroup answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinedMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Bytes,
}

/// The answer to a JoinGroup request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinResult {
    pub error: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    /// Filled for the leader only.
    pub members: Vec<JoinedMember>,
    /// KIP-345: a static leader that rejoined without changes must not
    /// compute a new assignment (JoinGroup v9+ carries this flag).
    pub skip_assignment: bool,
}

impl JoinResult {
    fn error(error: i16, member_id: &str) -> Self {
        JoinResult {
            error,
            generation_id: -1,
            member_id: member_id.to_string(),
            ..Default::default()
        }
    }
}

/// One SyncGroup request.
#[derive(Debug, Clone, Default)]
pub struct SyncParams {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// The leader's (member id, assignment) pairs; empty from followers.
    pub assignments: Vec<(String, Bytes)>,
}

/// The answer to a SyncGroup request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncResult {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncResult {
    fn error(error: i16) -> Self {
        SyncResult {
            error,
            ..Default::default()
        }
    }
}

/// A delayed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Join(JoinResult),
    Sync(SyncResult),
}

/// A delayed answer for the caller holding `ticket`.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub ticket: Ticket,
    pub reply: Reply,
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OffsetEntry {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

/// (topic, partition) → value.
pub(crate) type PartitionMap<T> = BTreeMap<(String, i32), T>;

/// One partition's committed offset as OffsetFetch reports it: `Ok(None)`
/// when nothing is committed, `Err(code)` when it cannot be answered.
pub(crate) type FetchedOffset = Result<Option<OffsetEntry>, i16>;

/// OffsetFetch's answer for one group: per topic, per partition.
pub(crate) type FetchedOffsets = Vec<(String, Vec<(i32, FetchedOffset)>)>;

/// One member of a group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MemberDescription {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub metadata: Bytes,
    pub assignment: Bytes,
}

/// A group as DescribeGroups shows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupDescription {
    pub state: GroupState,
    pub protocol_type: String,
    pub protocol_name: String,
    pub members: Vec<MemberDescription>,
}

#[derive(Debug)]
struct Member {
    instance_id: Option<String>,
    client_id: String,
    client_host: String,
    session_timeout_ms: i32,
    rebalance_timeout_ms: i32,
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    join_ticket: Option<Ticket>,
    sync_ticket: Option<Ticket>,
    /// The member is removed when `now` reaches this without a heartbeat.
    session_deadline: u64,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug)]
struct Group {
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol_name: Option<String>,
    leader: Option<String>,
    /// Insertion order decides the leader when the old one is gone.
    members: IndexMap<String, Member>,
    /// Member ids handed out with `MEMBER_ID_REQUIRED`, with their expiry.
    pending_members: HashMap<String, u64>,
    /// group.instance.id → the member id currently holding it.
    static_members: HashMap<String, String>,
    rebalance_deadline: u64,
    /// A new group's first rebalance does not complete before this.
    initial_delay_until: u64,
    offsets: PartitionMap<OffsetEntry>,
    /// Offsets of open transactions, by producer id, visible once committed.
    pending_txn_offsets: HashMap<i64, PartitionMap<OffsetEntry>>,
}

impl Group {
    fn new() -> Self {
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: IndexMap::new(),
            pending_members: HashMap::new(),
            static_members: HashMap::new(),
            rebalance_deadline: 0,
            initial_delay_until: 0,
            offsets: BTreeMap::new(),
            pending_txn_offsets: HashMap::new(),
        }
    }

    /// Checks that `member_id` (with its optional instance id) is a current
    /// member, reporting a replaced static member as fenced.
    fn check_member(&self, member_id: &str, instance_id: Option<&str>) -> Result<(), i16> {
        if let Some(instance) = instance_id {
            if let Some(holder) = self.static_members.get(instance) {
                if holder != member_id {
                    return Err(E::FencedInstanceId.code());
                }
            }
        }
        match self.members.get(member_id) {
            None => Err(E::UnknownMemberId.code()),
            Some(m) => match (instance_id, m.instance_id.as_deref()) {
                (Some(asked), Some(held)) if asked != held => Err(E::FencedInstanceId.code()),
                _ => Ok(()),
            },
        }
    }

    /// Whether `protocols` shares at least one protocol with every member
    /// (other than `except`).
    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)], except: &str) -> bool {
        if self.members.is_empty() {
            return true;
        }
        if self
            .protocol_type
            .as_deref()
            .is_some_and(|t| t != protocol_type)
        {
            return false;
        }
        protocols.iter().any(|(name, _)| {
            self.members
                .iter()
                .filter(|(id, _)| id.as_str() != except)
                .all(|(_, m)| m.protocols.iter().any(|(n, _)| n == name))
        })
    }

    /// The protocol every member supports that gets most first-choice votes
    /// (ties go to the earlier member's preference), as the broker picks it.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| &p == n))
            })
            .collect();
        let mut votes: Vec<(&String, usize)> = candidates.iter().map(|c| (*c, 0)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(&n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| *c == name) {
                    v.1 += 1;
                }
            }
        }
        let best = votes.iter().map(|(_, n)| *n).max()?;
        votes
            .into_iter()
            .find(|(_, n)| *n == best)
            .map(|(c, _)| c.clone())
    }

    fn all_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.join_ticket.is_some())
    }

    fn join_result_for(&self, member_id: &str, with_members: bool) -> JoinResult {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        let members = if with_members {
            self.members
                .iter()
                .map(|(id, m)| JoinedMember {
                    member_id: id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    metadata: m.metadata_for(&protocol),
                })
                .collect()
        } else {
            Vec::new()
        };
        JoinResult {
            error: NONE,
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: member_id.to_string(),
            members,
            skip_assignment: false,
        }
    }
}

/// Every classic group of the cluster, with its members and offsets.
#[derive(Debug, Default)]
pub struct Groups {
    config: GroupConfig,
    groups: BTreeMap<String, Group>,
    member_seq: u64,
    completions: Vec<Completion>,
}

impl Groups {
    /// An empty set of groups with the given limits.
    pub fn new(config: GroupConfig) -> Self {
        Groups {
            config,
            ..Default::default()
        }
    }

    /// The delayed answers produced since the last call.
    pub fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.completions)
    }

    fn complete(&mut self, ticket: Ticket, reply: Reply) {
        self.completions.push(Completion { ticket, reply });
    }

    fn new_member_id(&mut self, client_id: &str) -> String {
        self.member_seq += 1;
        // Kafka's member ids are "<client.id>-<uuid>"; a counter mixed through
        // a 64-bit permutation keeps ours unique and looking opaque.
        let mixed = self
            .member_seq
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
        format!("{client_id}-{mixed:016x}-{:04x}", self.member_seq & 0xffff)
    }

    /// Handles a JoinGroup request; the answer comes as a [`Completion`] for
    /// `ticket`, at once or when the rebalance completes.
    pub fn join(&mut self, now: u64, ticket: Ticket, p: JoinParams) {
        let error = if p.group_id.is_empty() {
            Some(E::InvalidGroupId.code())
        } else if p.session_timeout_ms < self.config.min_session_timeout_ms
            || p.session_timeout_ms > self.config.max_session_timeout_ms
        {
            Some(E::InvalidSessionTimeout.code())
        } else if p.protocol_type.is_empty() || p.protocols.is_empty() {
            Some(E::InconsistentGroupProtocol.code())
        } else if p.protocols.len() > MAX_PROTOCOLS {
            Some(E::InvalidRequest.code())
        } else {
            None
        };
        if let Some(error) = error {
            let r = JoinResult::error(error, &p.member_id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        let mut group = self.groups.remove(&p.group_id).unwrap_or_else(Group::new);
        self.join_group(&mut group, now, ticket, p.clone());
        self.groups.insert(p.group_id, group);
    }

    fn join_group(&mut self, g: &mut Group, now: u64, ticket: Ticket, p: JoinParams) {
        if !g.supports(&p.protocol_type, &p.protocols, &p.member_id) {
            let r = JoinResult::error(E::InconsistentGroupProtocol.code(), &p.member_id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        if p.member_id.is_empty() {
            let new_id = self.new_member_id(&p.client_id);
            if let Some(instance) = &p.group_instance_id {
                if let Some(old_id) = g.static_members.get(instance).cloned() {
                    if g.members.contains_key(&old_id) {
                        self.replace_static_member(g, now, ticket, &old_id, new_id, p);
                        return;
                    }
                }
            } else if p.require_known_member_id {
                let deadline = now.saturating_add(p.session_timeout_ms as u64);
                g.pending_members.insert(new_id.clone(), deadline);
                let r = JoinResult::error(E::MemberIdRequired.code(), &new_id);
                self.complete(ticket, Reply::Join(r));
                return;
            }
            self.add_member_and_rebalance(g, now, ticket, new_id, p);
            return;
        }
        if g.pending_members.remove(&p.member_id).is_some() {
            let id = p.member_id.clone();
            self.add_member_and_rebalance(g, now, ticket, id, p);
            return;
        }
        if let Err(error) = g.check_member(&p.member_id, p.group_instance_id.as_deref()) {
            let r = JoinResult::error(error, &p.member_id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        let id = p.member_id.clone();
        let Some(member) = g.members.get_mut(&id) else {
            return;
        };
        let unchanged = member.protocols == p.protocols;
        member.session_deadline = now.saturating_add(p.session_timeout_ms as u64);
        match g.state {
            GroupState::CompletingRebalance if unchanged => {
                let is_leader = g.leader.as_deref() == Some(id.as_str());
                let r = g.join_result_for(&id, is_leader);
                self.complete(ticket, Reply::Join(r));
            }
            GroupState::Stable if unchanged && g.leader.as_deref() != Some(id.as_str()) => {
                let r = g.join_result_for(&id, false);
                self.complete(ticket, Reply::Join(r));
            }
            _ => {
                let old = member.join_ticket.replace(ticket);
                member.protocols = p.protocols;
                member.session_timeout_ms = p.session_timeout_ms;
                member.rebalance_timeout_ms = p.rebalance_timeout_ms;
                if let Some(old) = old {
                    let r = JoinResult::error(E::RebalanceInProgress.code(), &id);
                    self.complete(old, Reply::Join(r));
                }
                if g.state != GroupState::PreparingRebalance {
                    self.prepare_rebalance(g, now);
                }
                self.try_complete_join(g, now);
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        g: &mut Group,
        now: u64,
        ticket: Ticket,
        id: String,
        p: JoinParams,
    ) {
        if g.members.len() >= MAX_GROUP_SIZE {
            let r = JoinResult::error(E::GroupMaxSizeReached.code(), &id);
            self.complete(ticket, Reply::Join(r));
            return;
        }
        if g.members.is_empty() {
            g.protocol_type = Some(p.protocol_type.clone());
        }
        if let Some(instance) = &p.group_instance_id {
            g.static_members.insert(instance.clone(), id.clone());
        }
        g.members.insert(
            id.clone(),
            Member {
                instance_id: p.group_instance_id,
                client_id: p.client_id,
                client_host: p.client_host,
                session_timeout_ms: p.session_timeout_ms,
                rebalance_timeout_ms: p.rebalance_timeout_ms,
                protocols: p.protocols,
                assignment: Bytes::new(),
                join_ticket: Some(ticket),
                sync_ticket: None,
                session_deadline: now.saturating_add(p.session_timeout_ms as u64),
            },
        );
        if g.leader.is_none() {
            g.leader = Some(id);
        }
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.try_complete_join(g, now);
    }

    /// KIP-345: a static member rejoined with an empty member id; it takes a
    /// new id and the old one is fenced.
    fn replace_static_member(
        &mut self,
        g: &mut Group,
        now: u64,
        ticket: Ticket,
        old_id: &str,
        new_id: String,
        p: JoinParams,
    ) {
        let Some(mut member) = g.members.shift_remove(old_id) else {
            return;
        };
        let fenced = E::FencedInstanceId.code();
        if let Some(t) = member.join_ticket.take() {
            self.complete(t, Reply::Join(JoinResult::error(fenced, old_id)));
        }
        if let Some(t) = member.sync_ticket.take() {
            self.complete(t, Reply::Sync(SyncResult::error(fenced)));
        }
        let unchanged = member.protocols == p.protocols;
        member.client_id = p.client_id;
        member.client_host = p.client_host;
        member.session_timeout_ms = p.session_timeout_ms;
        member.rebalance_timeout_ms = p.rebalance_timeout_ms;
        member.session_deadline = now.saturating_add(p.session_timeout_ms as u64);
        member.protocols = p.protocols;
        if g.leader.as_deref() == Some(old_id) {
            g.leader = Some(new_id.clone());
        }
        if let Some(instance) = &p.group_instance_id {
            g.static_members.insert(instance.clone(), new_id.clone());
        }
        if g.state == GroupState::Stable && unchanged {
            g.members.insert(new_id.clone(), member);
            let is_leader = g.leader.as_deref() == Some(new_id.as_str());
            let mut r = g.join_result_for(&new_id, is_leader);
            r.skip_assignment = is_leader;
            self.complete(ticket, Reply::Join(r));
            return;
        }
        member.join_ticket = Some(ticket);
        g.members.insert(new_id, member);
        if g.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(g, now);
        }
        self.try_complete_join(g, now);
    }

    fn prepare_rebalance(&mut self, g: &mut Group, now: u64) {
        let rebalance = E::RebalanceInProgress.code();
        let mut syncs = Vec::new();
        for m in g.members.values_mut() {
            if let Some(t) = m.sync_ticket.take() {
                syncs.push(t);
            }
            m.assignment = Bytes::new();
        }
        for t in syncs {
            self.complete(t, Reply::Sync(SyncResult::error(rebalance)));
        }
        let timeout = g
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms.max(0) as u64)
            .max()
            .unwrap_or(0);
        if g.state == GroupState::Empty {
            let delay = self.config.initial_rebalance_delay_ms.min(timeout);
            g.initial_delay_until = now.saturating_add(delay);
        }
        g.rebalance_deadline = now.saturating_add(timeout);
        g.state = GroupState::PreparingRebalance;
    }

    fn try_complete_join(&mut self, g: &mut Group, now: u64) {
        if g.state == GroupState::PreparingRebalance
            && g.all_joined()
            && now >= g.initial_delay_until
        {
            self.complete_join(g, now);
        }
    }

    /// Ends the join phase: members that did not rejoin are dropped, a new
    /// generation starts and every waiting JoinGroup is answered.
    fn complete_join(&mut self, g: &mut Group, now: u64) {
        let gone: Vec<String> = g
            .members
            .iter()
            .filter(|(_, m)| m.join_ticket.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            remove_member(g, &id);
        }
        g.pending_members.clear();
        g.generation = g.generation.saturating_add(1);
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.protocol_name = None;
            g.protocol_type = None;
            g.leader = None;
            return;
        }
        g.protocol_name = g.select_protocol();
        if g.leader.as_ref().is_none_or(|l| !g.members.contains_key(l)) {
            g.leader = g.members.keys().next().cloned();
        }
        g.state = GroupState::CompletingRebalance;
        let leader = g.leader.clone().unwrap_or_default();
        let mut answers = Vec::new();
        for (id, m) in g.members.iter_mut() {
            m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
            if let Some(t) = m.join_ticket.take() {
                answers.push((t, id.clone()));
            }
        }
        for (t, id) in answers {
            let r = g.join_result_for(&id, id == leader);
            self.complete(t, Reply::Join(r));
        }
    }

    /// Handles a SyncGroup request; the answer comes as a [`Completion`] for
    /// `ticket`, at once or when the leader's SyncGroup arrives.
    pub fn sync(&mut self, now: u64, ticket: Ticket, p: SyncParams) {
        let Some(mut g) = self.groups.remove(&p.group_id) else {
            self.complete(
                ticket,
                Reply::Sync(SyncResult::error(E::UnknownMemberId.code())),
            );
            return;
        };
        self.sync_group(&mut g, now, ticket, p.clone());
        self.groups.insert(p.group_id, g);
    }

    fn sync_group(&mut self, g: &mut Group, now: u64, ticket: Ticket, p: SyncParams) {
        let checked = g
            .check_member(&p.member_id, p.group_instance_id.as_deref())
            .and_then(|()| {
                if p.generation_id != g.generation {
                    Err(E::IllegalGeneration.code())
                } else if p
                    .protocol_type
                    .as_ref()
                    .is_some_and(|t| Some(t) != g.protocol_type.as_ref())
                    || p.protocol_name
                        .as_ref()
                        .is_some_and(|n| Some(n) != g.protocol_name.as_ref())
                {
                    Err(E::InconsistentGroupProtocol.code())
                } else {
                    Ok(())
                }
            });
        if let Err(error) = checked {
            self.complete(ticket, Reply::Sync(SyncResult::error(error)));
            return;
        }
        let ok = |g: &Group, assignment: Bytes| SyncResult {
            error: NONE,
            protocol_type: g.protocol_type.clone(),
            protocol_name: g.protocol_name.clone(),
            assignment,
        };
        match g.state {
            GroupState::Empty => {
                self.complete(
                    ticket,
                    Reply::Sync(SyncResult::error(E::UnknownMemberId.code())),
                );
            }
            GroupState::PreparingRebalance => {
                let error = E::RebalanceInProgress.code();
                self.complete(ticket, Reply::Sync(SyncResult::error(error)));
            }
            GroupState::Stable => {
                let Some(m) = g.members.get_mut(&p.member_id) else {
                    return;
                };
                m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
                let assignment = m.assignment.clone();
                let r = ok(g, assignment);
                self.complete(ticket, Reply::Sync(r));
            }
            GroupState::CompletingRebalance => {
                let Some(m) = g.members.get_mut(&p.member_id) else {
                    return;
                };
                m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
                if let Some(old) = m.sync_ticket.replace(ticket) {
                    let error = E::RebalanceInProgress.code();
                    self.complete(old, Reply::Sync(SyncResult::error(error)));
                }
                if g.leader.as_deref() != Some(p.member_id.as_str()) {
                    return;
                }
                let mut given: HashMap<String, Bytes> = p.assignments.into_iter().collect();
                let mut answers = Vec::new();
                for (id, m) in g.members.iter_mut() {
                    m.assignment = given.remove(id).unwrap_or_default();
                    if let Some(t) = m.sync_ticket.take() {
                        answers.push((t, m.assignment.clone()));
                    }
                }
                g.state = GroupState::Stable;
                for (t, assignment) in answers {
                    let r = ok(g, assignment);
                    self.complete(t, Reply::Sync(r));
                }
            }
        }
    }

    /// Handles a Heartbeat request and returns its error code.
    pub fn heartbeat(
        &mut self,
        now: u64,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
        generation_id: i32,
    ) -> i16 {
        let Some(g) = self.groups.get_mut(group_id) else {
            return E::UnknownMemberId.code();
        };
        if let Err(error) = g.check_member(member_id, instance_id) {
            return error;
        }
        if g.state == GroupState::Empty {
            return E::UnknownMemberId.code();
        }
        if let Some(m) = g.members.get_mut(member_id) {
            m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
        }
        if generation_id != g.generation {
            return E::IllegalGeneration.code();
        }
        if g.state == GroupState::PreparingRebalance {
            return E::RebalanceInProgress.code();
        }
        NONE
    }

    /// Handles a LeaveGroup request for `members` (member id, instance id);
    /// an empty member id with an instance id names the static member.
    /// Returns one error code per member, in order.
    pub(crate) fn leave(
        &mut self,
        now: u64,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<i16> {
        let Some(mut g) = self.groups.remove(group_id) else {
            return vec![E::UnknownMemberId.code(); members.len()];
        };
        let mut results = Vec::with_capacity(members.len());
        let mut removed_any = false;
        for (member_id, instance_id) in members {
            let id = match (member_id.is_empty(), instance_id) {
                (true, Some(instance)) => match g.static_members.get(instance) {
                    Some(id) => id.clone(),
                    None => {
                        results.push(E::UnknownMemberId.code());
                        continue;
                    }
                },
                _ => member_id.clone(),
            };
            if g.pending_members.remove(&id).is_some() {
                results.push(NONE);
                continue;
            }
            if let Err(error) = g.check_member(&id, instance_id.as_deref()) {
                results.push(error);
                continue;
            }
            if let Some(m) = remove_member(&mut g, &id) {
                if let Some(t) = m.join_ticket {
                    let r = JoinResult::error(E::UnknownMemberId.code(), &id);
                    self.complete(t, Reply::Join(r));
                }
                if let Some(t) = m.sync_ticket {
                    let r = SyncResult::error(E::UnknownMemberId.code());
                    self.complete(t, Reply::Sync(r));
                }
            }
            removed_any = true;
            results.push(NONE);
        }
        if removed_any {
            self.member_left(&mut g, now);
        }
        self.groups.insert(group_id.to_string(), g);
        results
    }

    fn member_left(&mut self, g: &mut Group, now: u64) {
        match g.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(g, now);
                self.try_complete_join(g, now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(g, now),
            GroupState::Empty => {}
        }
    }

    /// Expires members whose session ran out and completes rebalances whose
    /// timeout passed. Call it periodically.
    pub fn handle_timeout(&mut self, now: u64) {
        let ids: Vec<String> = self.groups.keys().cloned().collect();
        for id in ids {
            let Some(mut g) = self.groups.remove(&id) else {
                continue;
            };
            g.pending_members.retain(|_, deadline| *deadline > now);
            let expired: Vec<String> = g
                .members
                .iter()
                .filter(|(_, m)| m.join_ticket.is_none() && m.session_deadline <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for member in &expired {
                if let Some(m) = remove_member(&mut g, member) {
                    if let Some(t) = m.sync_ticket {
                        let r = SyncResult::error(E::UnknownMemberId.code());
                        self.complete(t, Reply::Sync(r));
                    }
                }
            }
            if !expired.is_empty() {
                self.member_left(&mut g, now);
            }
            if g.state == GroupState::PreparingRebalance {
                if now >= g.rebalance_deadline {
                    self.complete_join(&mut g, now);
                } else {
                    self.try_complete_join(&mut g, now);
                }
            }
            self.groups.insert(id, g);
        }
    }

    /// Checks an OffsetCommit's group, generation and member; creates the
    /// group for a simple (generation -1) commit to an unknown group.
    pub(crate) fn check_commit(
        &mut self,
        now: u64,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), i16> {
        if group_id.is_empty() {
            return Err(E::InvalidGroupId.code());
        }
        let Some(g) = self.groups.get_mut(group_id) else {
            if generation_id < 0 {
                self.groups.insert(group_id.to_string(), Group::new());
                return Ok(());
            }
            return Err(E::IllegalGeneration.code());
        };
        if let Some(instance) = instance_id {
            if g.static_members
                .get(instance)
                .is_some_and(|m| m != member_id)
            {
                return Err(E::FencedInstanceId.code());
            }
        }
        if generation_id < 0 && g.state == GroupState::Empty {
            return Ok(());
        }
        if g.state == GroupState::CompletingRebalance {
            return Err(E::RebalanceInProgress.code());
        }
        let Some(m) = g.members.get_mut(member_id) else {
            return Err(E::UnknownMemberId.code());
        };
        if generation_id != g.generation {
            return Err(E::IllegalGeneration.code());
        }
        m.session_deadline = now.saturating_add(m.session_timeout_ms as u64);
        Ok(())
    }

    /// Validates one offset to commit (metadata size).
    pub(crate) fn check_offset(entry: &OffsetEntry) -> i16 {
        if entry
            .metadata
            .as_ref()
            .is_some_and(|m| m.len() > MAX_OFFSET_METADATA_BYTES)
        {
            E::OffsetMetadataTooLarge.code()
        } else {
            NONE
        }
    }

    /// Stores committed offsets (after [`Groups::check_commit`] passed).
    pub(crate) fn store_offsets(&mut self, group_id: &str, offsets: PartitionMap<OffsetEntry>) {
        let g = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
        g.offsets.extend(offsets);
    }

    /// Stages offsets of an open transaction of `producer_id`.
    pub(crate) fn stage_txn_offsets(
        &mut self,
        group_id: &str,
        producer_id: i64,
        offsets: PartitionMap<OffsetEntry>,
    ) {
        let g = self
            .groups
            .entry(group_id.to_string())
            .or_insert_with(Group::new);
        g.pending_txn_offsets
            .entry(producer_id)
            .or_default()
            .extend(offsets);
    }

    /// Makes the staged offsets of `producer_id` visible (`commit`) or drops them.
    pub(crate) fn complete_txn_offsets(&mut self, group_id: &str, producer_id: i64, commit: bool) {
        let Some(g) = self.groups.get_mut(group_id) else {
            return;
        };
        if let Some(staged) = g.pending_txn_offsets.remove(&producer_id) {
            if commit {
                g.offsets.extend(staged);
            }
        }
    }

    /// The committed offsets of a group: of the listed topics and partitions,
    /// or all of them. Each partition's value is `Err(code)` when it cannot be
    /// answered (`UNSTABLE_OFFSET_COMMIT` with `require_stable` while a
    /// transaction holds an offset for it) and `Ok(None)` when nothing is
    /// committed.
    pub(crate) fn fetch_offsets(
        &self,
        group_id: &str,
        topics: Option<&[(String, Vec<i32>)]>,
        require_stable: bool,
    ) -> FetchedOffsets {
        let g = self.groups.get(group_id);
        let lookup = |topic: &str, partition: i32| {
            let Some(g) = g else {
                return Ok(None);
            };
            let key = (topic.to_string(), partition);
            if require_stable && g.pending_txn_offsets.values().any(|p| p.contains_key(&key)) {
                return Err(E::UnstableOffsetCommit.code());
            }
            Ok(g.offsets.get(&key).cloned())
        };
        match topics {
            Some(topics) => topics
                .iter()
                .map(|(t, parts)| {
                    (
                        t.clone(),
                        parts.iter().map(|p| (*p, lookup(t, *p))).collect(),
                    )
                })
                .collect(),
            None => {
                let mut out: FetchedOffsets = Vec::new();
                for (topic, partition) in g.iter().flat_map(|g| g.offsets.keys()) {
                    let value = lookup(topic, *partition);
                    match out.last_mut() {
                        Some((t, parts)) if t == topic => parts.push((*partition, value)),
                        _ => out.push((topic.clone(), vec![(*partition, value)])),
                    }
                }
                out
            }
        }
    }

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

    /// Drops committed offsets of a group (OffsetDelete, after its checks).
    pub(crate) fn delete_offsets(&mut self, group_id: &str, partitions: &[(String, i32)]) {
        if let Some(g) = self.groups.get_mut(group_id) {
            for key in partitions {
                g.offsets.remove(key);
            }
        }
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

fn remove_member(g: &mut Group, id: &str) -> Option<Member> {
    let m = g.members.shift_remove(id)?;
    if let Some(instance) = &m.instance_id {
        if g.static_members.get(instance).map(String::as_str) == Some(id) {
            g.static_members.remove(instance);
        }
    }
    if g.leader.as_deref() == Some(id) {
        g.leader = g.members.keys().next().cloned();
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: i32 = 10_000;
    const REBALANCE: i32 = 30_000;

    fn code(e: E) -> i16 {
        e.code()
    }

    fn params(member_id: &str, protocols: &[(&str, &[u8])]) -> JoinParams {
        JoinParams {
            group_id: "g".into(),
            member_id: member_id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: SESSION,
            rebalance_timeout_ms: REBALANCE,
            protocol_type: "consumer".into(),
            protocols: protocols
                .iter()
                .map(|(n, m)| (n.to_string(), Bytes::copy_from_slice(m)))
                .collect(),
            require_known_member_id: true,
        }
    }

    fn range() -> Vec<(&'static str, &'static [u8])> {
        vec![("range", b"r")]
    }

    /// The single answer the last call produced for `ticket`.
    fn join_reply(g: &mut Groups, ticket: Ticket) -> JoinResult {
        let mut found = None;
        for c in g.take_completions() {
            if c.ticket == ticket {
                if let Reply::Join(j) = c.reply {
                    found = Some(j);
                }
            }
        }
        found.expect("a JoinGroup answer")
    }

    fn sync_reply(completions: &[Completion], ticket: Ticket) -> SyncResult {
        completions
            .iter()
            .find_map(|c| match (&c.reply, c.ticket == ticket) {
                (Reply::Sync(s), true) => Some(s.clone()),
                _ => None,
            })
            .expect("a SyncGroup answer")
    }

    /// Joins a new dynamic member through the KIP-394 handshake and returns
    /// its id; the second JoinGroup is left pending as `ticket`.
    fn join_new(g: &mut Groups, now: u64, ticket: Ticket) -> String {
        g.join(now, 1000 + ticket, params("", &range()));
        let first = join_reply(g, 1000 + ticket);
        assert_eq!(first.error, code(E::MemberIdRequired));
        assert!(!first.member_id.is_empty());
        g.join(now, ticket, params(&first.member_id, &range()));
        first.member_id
    }

    #[test]
    fn single_member_joins_syncs_and_heartbeats() {
        let mut g = Groups::new(GroupConfig::default());
        let id = join_new(&mut g, 0, 1);
        let j = join_reply(&mut g, 1);
        assert_eq!(j.error, NONE);
        assert_eq!(j.generation_id, 1);
        assert_eq!(j.leader, id);
        assert_eq!(j.protocol_name.as_deref(), Some("range"));
        assert_eq!(j.members.len(), 1);
        assert_eq!(
            g.describe("g").map(|d| d.state),
            Some(GroupState::CompletingRebalance)
        );

        let sync = SyncParams {
            group_id: "g".into(),
            generation_id: 1,
            member_id: id.clone(),
            assignments: vec![(id.clone(), Bytes::from_static(b"A"))],
            ..Default::default()
        };
        g.sync(5, 2, sync);
        let s = sync_reply(&g.take_completions(), 2);
        assert_eq!(s.error, NONE);
        assert_eq!(&s.assignment[..], b"A");
        assert_eq!(g.describe("g").map(|d| d.state), Some(GroupState::Stable));

        assert_eq!(g.heartbeat(10, "g", &id, None, 1), NONE);
        assert_eq!(
            g.heartbeat(10, "g", &id, None, 0),
            code(E::IllegalGeneration)
        );
        assert_eq!(
            g.heartbeat(10, "g", "nobody", None, 1),
            code(E::UnknownMemberId)
        );
        assert_eq!(
            g.heartbeat(10, "other", &id, None, 1),
            code(E::UnknownMemberId)
        );
    }

    #[test]
    fn second_member_triggers_rebalance_and_both_get_generation_two() {
        let mut g = Groups::new(GroupConfig::default());
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        g.sync(
            0,
            2,
            SyncParams {
                group_id: "g".into(),
                generation_id: 1,
                member_id: a.clone(),
                ..Default::default()
            },
        );
        g.take_completions();

        let b = join_new(&mut g, 100, 3);
        assert!(g.take_completions().is_empty(), "B waits for A to rejoin");
        assert_eq!(
            g.heartbeat(200, "g", &a, None, 1),
            code(E::RebalanceInProgress)
        );
        g.join(300, 4, params(&a, &range()));
        let done = g.take_completions();
        assert_eq!(done.len(), 2);
        for c in &done {
            let Reply::Join(j) = &c.reply else {
                panic!("join answers expected")
            };
            assert_eq!(j.generation_id, 2);
            assert_eq!(j.leader, a, "the old leader stays leader");
            let expected_members = if j.member_id == a { 2 } else { 0 };
            assert_eq!(j.members.len(), expected_members);
        }
        // Followers wait in SyncGroup for the leader's assignments.
        g.sync(
            400,
            5,
            SyncParams {
                group_id: "g".into(),
                generation_id: 2,
                member_id: b.clone(),
                ..Default::default()
            },
        );
        assert!(g.take_completions().is_empty());
        g.sync(
            410,
            6,
            SyncParams {
                group_id: "g".into(),
                generation_id: 2,
                member_id: a.clone(),
                assignments: vec![
                    (a.clone(), Bytes::from_static(b"a")),
                    (b.clone(), Bytes::from_static(b"b")),
                ],
                ..Default::default()
            },
        );
        let done = g.take_completions();
        assert_eq!(&sync_reply(&done, 5).assignment[..], b"b");
        assert_eq!(&sync_reply(&done, 6).assignment[..], b"a");
    }

    #[test]
    fn rebalance_timeout_drops_members_that_do_not_rejoin() {
        let mut g = Groups::new(GroupConfig::default());
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        let b = join_new(&mut g, 10, 2);
        assert!(g.take_completions().is_empty());
        // A keeps heartbeating but never rejoins.
        for t in (1000..REBALANCE as u64).step_by(3000) {
            assert_eq!(
                g.heartbeat(t, "g", &a, None, 1),
                code(E::RebalanceInProgress)
            );
            g.handle_timeout(t);
            assert!(g.take_completions().is_empty());
        }
        g.handle_timeout(10 + REBALANCE as u64);
        let done = g.take_completions();
        assert_eq!(done.len(), 1);
        let Reply::Join(j) = &done[0].reply else {
            panic!("join answer expected")
        };
        assert_eq!(
            (j.error, j.generation_id, j.leader.as_str()),
            (NONE, 2, b.as_str())
        );
        assert_eq!(
            g.heartbeat(40_100, "g", &a, None, 2),
            code(E::UnknownMemberId)
        );
    }

    #[test]
    fn session_timeout_expiry_removes_member_and_rebalances() {
        let mut g = Groups::new(GroupConfig::default());
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        g.sync(
            0,
            2,
            SyncParams {
                group_id: "g".into(),
                generation_id: 1,
                member_id: a.clone(),
                ..Default::default()
            },
        );
        g.take_completions();
        g.handle_timeout(SESSION as u64 - 1);
        assert_eq!(g.describe("g").map(|d| d.members.len()), Some(1));
        g.handle_timeout(SESSION as u64);
        let d = g.describe("g").expect("group kept for its offsets");
        assert!(d.members.is_empty());
        assert_eq!(d.state, GroupState::Empty);
        assert_eq!(
            g.heartbeat(SESSION as u64 + 1, "g", &a, None, 1),
            code(E::UnknownMemberId)
        );
    }

    #[test]
    fn heartbeats_keep_a_member_alive() {
        let mut g = Groups::new(GroupConfig::default());
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        for t in (3000..60_000).step_by(3000) {
            assert_eq!(g.heartbeat(t, "g", &a, None, 1), NONE);
            g.handle_timeout(t);
        }
        assert_eq!(g.describe("g").map(|d| d.members.len()), Some(1));
    }

    #[test]
    fn leave_group_batch_and_unknown_member() {
        let mut g = Groups::new(GroupConfig::default());
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        let codes = g.leave(5, "g", &[(a.clone(), None), ("ghost".into(), None)]);
        assert_eq!(codes, vec![NONE, code(E::UnknownMemberId)]);
        assert_eq!(g.describe("g").map(|d| d.state), Some(GroupState::Empty));
    }

    #[test]
    fn protocol_selection_uses_only_protocols_every_member_supports() {
        let mut g = Groups::new(GroupConfig::default());
        let mut pa = params("", &[("roundrobin", b"1"), ("range", b"2")]);
        pa.require_known_member_id = false;
        g.join(0, 1, pa);
        let a = join_reply(&mut g, 1).member_id;
        let mut pb = params("", &[("range", b"3"), ("sticky", b"4")]);
        pb.require_known_member_id = false;
        g.join(1, 2, pb);
        g.join(2, 3, params(&a, &[("roundrobin", b"1"), ("range", b"2")]));
        let done = g.take_completions();
        for c in done {
            let Reply::Join(j) = c.reply else {
                panic!("join answers expected")
            };
            assert_eq!(j.protocol_name.as_deref(), Some("range"));
            for m in &j.members {
                let expected: &[u8] = if m.member_id == a { b"2" } else { b"3" };
                assert_eq!(&m.metadata[..], expected, "metadata of the chosen protocol");
            }
        }
        let mut pc = params("", &[("sticky", b"5")]);
        pc.require_known_member_id = false;
        g.join(3, 4, pc);
        assert_eq!(
            join_reply(&mut g, 4).error,
            code(E::InconsistentGroupProtocol)
        );
    }

    #[test]
    fn static_member_rejoin_replaces_member_id_without_rebalance() {
        let mut g = Groups::new(GroupConfig::default());
        let mut p = params("", &range());
        p.group_instance_id = Some("i1".into());
        g.join(0, 1, p.clone());
        let old = join_reply(&mut g, 1);
        assert_eq!(old.error, NONE, "static members skip MEMBER_ID_REQUIRED");
        g.sync(
            0,
            2,
            SyncParams {
                group_id: "g".into(),
                generation_id: 1,
                member_id: old.member_id.clone(),
                group_instance_id: Some("i1".into()),
                assignments: vec![(old.member_id.clone(), Bytes::from_static(b"x"))],
                ..Default::default()
            },
        );
        g.take_completions();

        g.join(100, 3, p.clone());
        let new = join_reply(&mut g, 3);
        assert_eq!(new.error, NONE);
        assert_ne!(new.member_id, old.member_id);
        assert_eq!(new.generation_id, 1, "no rebalance");
        assert!(new.skip_assignment, "the leader keeps its assignment");
        assert_eq!(g.describe("g").map(|d| d.state), Some(GroupState::Stable));
        let fenced = code(E::FencedInstanceId);
        assert_eq!(g.heartbeat(200, "g", &old.member_id, Some("i1"), 1), fenced);
        assert_eq!(g.heartbeat(200, "g", &new.member_id, Some("i1"), 1), NONE);
        g.sync(
            200,
            4,
            SyncParams {
                group_id: "g".into(),
                generation_id: 1,
                member_id: new.member_id.clone(),
                group_instance_id: Some("i1".into()),
                ..Default::default()
            },
        );
        assert_eq!(&sync_reply(&g.take_completions(), 4).assignment[..], b"x");
        assert_eq!(
            g.check_commit(300, "g", 1, &old.member_id, Some("i1")),
            Err(fenced)
        );

        // Changed metadata forces a rebalance.
        let mut changed = params("", &[("range", b"other")]);
        changed.group_instance_id = Some("i1".into());
        g.join(400, 5, changed);
        let again = join_reply(&mut g, 5);
        assert_eq!(again.generation_id, 2);
    }

    #[test]
    fn offset_commit_checks_generation_and_member() {
        let mut g = Groups::new(GroupConfig::default());
        // assign()-only consumers commit with generation -1 to an unknown group.
        assert_eq!(g.check_commit(0, "simple", -1, "", None), Ok(()));
        let mut offs = PartitionMap::new();
        offs.insert(
            ("t".into(), 0),
            OffsetEntry {
                offset: 42,
                leader_epoch: 3,
                metadata: Some("m".into()),
            },
        );
        g.store_offsets("simple", offs);
        let got = g.fetch_offsets("simple", Some(&[("t".into(), vec![0, 1])]), false);
        assert_eq!(
            got[0].1[0].1,
            Ok(Some(OffsetEntry {
                offset: 42,
                leader_epoch: 3,
                metadata: Some("m".into())
            }))
        );
        assert_eq!(got[0].1[1].1, Ok(None));
        assert_eq!(g.fetch_offsets("simple", None, false).len(), 1);

        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        assert_eq!(
            g.check_commit(1, "g", 1, &a, None),
            Err(code(E::RebalanceInProgress))
        );
        g.sync(
            2,
            2,
            SyncParams {
                group_id: "g".into(),
                generation_id: 1,
                member_id: a.clone(),
                ..Default::default()
            },
        );
        assert_eq!(g.check_commit(3, "g", 1, &a, None), Ok(()));
        assert_eq!(
            g.check_commit(3, "g", 7, &a, None),
            Err(code(E::IllegalGeneration))
        );
        assert_eq!(
            g.check_commit(3, "g", 1, "ghost", None),
            Err(code(E::UnknownMemberId))
        );
        assert_eq!(
            g.check_commit(3, "g", -1, "", None),
            Err(code(E::UnknownMemberId))
        );
        assert_eq!(
            g.check_commit(3, "nogroup", 1, "x", None),
            Err(code(E::IllegalGeneration))
        );
    }

    #[test]
    fn transactional_offsets_are_visible_only_after_commit() {
        let mut g = Groups::new(GroupConfig::default());
        let mut offs = PartitionMap::new();
        offs.insert(
            ("t".into(), 0),
            OffsetEntry {
                offset: 5,
                leader_epoch: -1,
                metadata: None,
            },
        );
        g.stage_txn_offsets("g", 77, offs.clone());
        let q = [("t".to_string(), vec![0])];
        assert_eq!(g.fetch_offsets("g", Some(&q), false)[0].1[0].1, Ok(None));
        assert_eq!(
            g.fetch_offsets("g", Some(&q), true)[0].1[0].1,
            Err(code(E::UnstableOffsetCommit))
        );
        g.complete_txn_offsets("g", 77, false);
        assert_eq!(g.fetch_offsets("g", Some(&q), true)[0].1[0].1, Ok(None));
        g.stage_txn_offsets("g", 77, offs);
        g.complete_txn_offsets("g", 77, true);
        assert_eq!(
            g.fetch_offsets("g", Some(&q), true)[0].1[0]
                .1
                .clone()
                .map(|e| e.map(|e| e.offset)),
            Ok(Some(5))
        );
    }

    #[test]
    fn pending_member_id_expires_after_session_timeout() {
        let mut g = Groups::new(GroupConfig::default());
        g.join(0, 1, params("", &range()));
        let id = join_reply(&mut g, 1).member_id;
        g.handle_timeout(SESSION as u64 + 1);
        g.join(SESSION as u64 + 2, 2, params(&id, &range()));
        assert_eq!(join_reply(&mut g, 2).error, code(E::UnknownMemberId));
    }

    #[test]
    fn list_and_describe_report_states() {
        let mut g = Groups::new(GroupConfig::default());
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        let listed = g.list(&[]);
        assert_eq!(
            listed,
            vec![(
                "g".to_string(),
                "consumer".to_string(),
                GroupState::CompletingRebalance
            )]
        );
        assert!(g.list(&["Stable".into()]).is_empty());
        let d = g.describe("g").expect("group exists");
        assert_eq!(d.members[0].member_id, a);
        assert_eq!(d.protocol_name, "range");
        assert!(g.describe("missing").is_none());
    }

    #[test]
    fn too_many_protocols_are_refused() {
        let mut g = Groups::new(GroupConfig::default());
        let mut p = params("", &range());
        p.protocols = (0..=MAX_PROTOCOLS)
            .map(|i| (format!("p{i}"), Bytes::new()))
            .collect();
        g.join(0, 1, p);
        assert_eq!(join_reply(&mut g, 1).error, code(E::InvalidRequest));
    }

    #[test]
    fn delete_group_only_when_empty() {
        let mut g = Groups::new(GroupConfig::default());
        assert_eq!(g.delete_group("g"), code(E::GroupIdNotFound));
        let a = join_new(&mut g, 0, 1);
        join_reply(&mut g, 1);
        assert_eq!(g.delete_group("g"), code(E::NonEmptyGroup));
        g.leave(1, "g", &[(a, None)]);
        let mut offs = PartitionMap::new();
        offs.insert(
            ("t".into(), 0),
            OffsetEntry {
                offset: 1,
                leader_epoch: -1,
                metadata: None,
            },
        );
        g.store_offsets("g", offs);
        assert_eq!(g.delete_group("g"), NONE);
        assert!(g.describe("g").is_none());
        assert!(
            g.fetch_offsets("g", None, false).is_empty(),
            "offsets went with the group"
        );
    }

    #[test]
    fn invalid_session_timeout_is_refused() {
        let mut g = Groups::new(GroupConfig::default());
        let mut p = params("", &range());
        p.session_timeout_ms = 1;
        g.join(0, 1, p);
        assert_eq!(join_reply(&mut g, 1).error, code(E::InvalidSessionTimeout));
    }
}
