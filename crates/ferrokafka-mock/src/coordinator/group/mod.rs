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
//!
//! The group state lives here; the membership rules are in `membership`,
//! committed offsets in `offsets`, and what the group admin APIs read or
//! remove in `describe`.

mod describe;
mod membership;
mod offsets;

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
