//! Group membership of the classic protocol as a state machine without
//! I/O: the driver feeds it answers and the time, it says which request to
//! send next and which partitions the application gains or loses.
//!
//! FindCoordinator -> JoinGroup (a first join without member id is answered
//! MEMBER_ID_REQUIRED with one, KIP-394) -> the leader's assignment ->
//! SyncGroup -> Stable, heartbeating every `heartbeat.interval.ms`. A
//! rebalance (REBALANCE_IN_PROGRESS) rejoins keeping the member id;
//! UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION mean the partitions are lost and
//! the member joins anew; coordinator errors rediscover the coordinator.
//!
//! A stable member that loses its coordinator (connection lost, request
//! timed out, NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE) finds it again
//! and resumes heartbeating in the same generation, keeping its member id
//! and partitions, as librdkafka and the Java client do: the coordinator
//! keeps the member for `session.timeout.ms`, and a rejoin would be a
//! group-wide rebalance for every coordinator blip. The first heartbeat
//! goes at once and its answer decides (REBALANCE_IN_PROGRESS rejoins,
//! UNKNOWN_MEMBER_ID / ILLEGAL_GENERATION join anew); a member out of
//! contact longer than the session joins anew without asking. A member
//! that lost its coordinator in the middle of a join joins again.
//! Not polling within `max.poll.interval.ms` (KIP-62) leaves the group and
//! reports `MaxPollExceeded` once.
//!
//! Applying a rebalance is ruled here too, as [`Work`] the driver carries
//! out in order ([`Membership::take_work`]): newly assigned partitions are
//! *held* (assigned without fetching) until the application's rebalance
//! callback returns, since the callback may move their start offset;
//! revoked partitions get their consumed offsets committed first when
//! `enable.auto.commit` is on, and are given up only once the callback
//! returned. While a callback runs ([`Membership::on_callback_done`] ends
//! it) the member only heartbeats, so a callback longer than the session
//! keeps the assignment and no JoinGroup overtakes a revocation. The driver
//! moves bytes, runs the callback and keeps the timers; every rule takes
//! `now` from it.

use crate::error::{Error, ErrorCode};
use crate::TopicPartition;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// The settings the membership runs under.
#[derive(Debug, Clone)]
pub(crate) struct MemberSettings {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub max_poll_interval: Duration,
    pub retry_backoff: Duration,
    pub instance_id: Option<String>,
    /// KIP-429: keep the partitions that stay, revoke only the ones moving.
    pub cooperative: bool,
    /// `coordinator.query.interval.ms`: how often a stable member asks
    /// again which broker coordinates its group.
    pub coordinator_query: Duration,
}

/// What the driver has to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    FindCoordinator,
    /// Ask again which broker coordinates the group (a stable member,
    /// every `coordinator.query.interval.ms`); the answer moves later
    /// requests to a new coordinator without leaving the group.
    QueryCoordinator,
    Join {
        member_id: String,
        /// Partitions owned, sent in the subscription (cooperative).
        owned: Vec<TopicPartition>,
        generation: i32,
    },
    /// Only the leader: compute the assignment of `members` (member id,
    /// subscription metadata) with `protocol`, then call `assignment_done`.
    Assign {
        protocol: String,
        members: Vec<(String, Vec<u8>)>,
    },
    Sync {
        generation: i32,
        member_id: String,
        protocol: String,
        assignments: Vec<(String, Vec<u8>)>,
    },
    Heartbeat {
        generation: i32,
        member_id: String,
    },
    Leave {
        member_id: String,
    },
}

/// What the application is told.
#[derive(Debug, Clone)]
pub(crate) enum Notice {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
    Lost(Vec<TopicPartition>),
    /// The generation and member id commits are made under changed.
    Identity {
        generation: i32,
        member_id: String,
    },
    Error(Error),
}

impl PartialEq for Notice {
    fn eq(&self, other: &Self) -> bool {
        use Notice::*;
        match (self, other) {
            (Assigned(a), Assigned(b)) | (Revoked(a), Revoked(b)) | (Lost(a), Lost(b)) => a == b,
            (
                Identity {
                    generation: g,
                    member_id: m,
                },
                Identity {
                    generation: h,
                    member_id: n,
                },
            ) => g == h && m == n,
            (Error(a), Error(b)) => a.code() == b.code(),
            _ => false,
        }
    }
}

/// One step of applying the membership's changes, for the driver to carry
/// out in the order given.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    /// The generation and member id commits are made under changed.
    Identity { generation: i32, member_id: String },
    /// An error for the application.
    Error(Error),
    /// Assign these partitions to the fetch engine without fetching them:
    /// the rebalance callback about to run may move their start.
    Hold(Vec<TopicPartition>),
    /// Start fetching these held partitions (their callback returned).
    Release(Vec<TopicPartition>),
    /// Commit the consumed offsets of these partitions and wait for the
    /// answer (`enable.auto.commit` before a revocation).
    Commit(Vec<TopicPartition>),
    /// Remove these partitions from the fetch engine.
    Unassign(Vec<TopicPartition>),
    /// Tell the application (an `Assigned`, `Revoked` or `Lost` notice) and
    /// run its rebalance callback; call [`Membership::on_callback_done`]
    /// once it returned.
    Callback(Notice),
}

/// A rebalance callback the driver is running.
#[derive(Debug)]
struct CallbackRun {
    since: Instant,
    /// Work due once it returned.
    then: Vec<Work>,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Not subscribed, or left.
    Idle,
    NeedCoordinator,
    Finding,
    NeedJoin,
    Joining,
    /// Leader, waiting for the driver's assignment.
    Assigning,
    Syncing,
    Stable,
    /// Fenced or otherwise unusable.
    Failed,
}

/// One member's view of its group.
#[derive(Debug)]
pub(crate) struct Membership {
    s: MemberSettings,
    phase: Phase,
    member_id: String,
    generation: i32,
    protocol: String,
    owned: BTreeSet<TopicPartition>,
    notices: Vec<Notice>,
    /// Earliest time the next request may go (backoff).
    not_before: Option<Instant>,
    next_heartbeat: Option<Instant>,
    /// When a stable member asks for its coordinator again.
    next_query: Option<Instant>,
    heartbeat_in_flight: bool,
    /// Last successful heartbeat (or sync): the session's reference.
    last_contact: Option<Instant>,
    last_poll: Instant,
    poll_expired: bool,
    /// A rejoin was asked while a request was in flight.
    rejoin_pending: bool,
    /// The coordinator was lost while stable: once found again, go back
    /// to heartbeating in the same generation instead of rejoining.
    resume: bool,
    pending_assign: Option<Action>,
    pending_sync: Option<Vec<(String, Vec<u8>)>>,
    /// Commit revoked partitions before the callback (enable.auto.commit).
    commit_on_revoke: bool,
    callback: Option<CallbackRun>,
    /// Work released by a callback's return, handed out first.
    ready: Vec<Work>,
}

fn code(c: i16) -> ErrorCode {
    ErrorCode::from_kafka(c)
}

impl Membership {
    pub(crate) fn new(s: MemberSettings, now: Instant) -> Self {
        Membership {
            s,
            phase: Phase::Idle,
            member_id: String::new(),
            generation: -1,
            protocol: String::new(),
            owned: BTreeSet::new(),
            notices: Vec::new(),
            not_before: None,
            next_heartbeat: None,
            next_query: None,
            heartbeat_in_flight: false,
            last_contact: None,
            last_poll: now,
            poll_expired: false,
            rejoin_pending: false,
            resume: false,
            pending_assign: None,
            pending_sync: None,
            commit_on_revoke: false,
            callback: None,
            ready: Vec::new(),
        }
    }

    /// Commits the consumed offsets of revoked partitions before their
    /// callback runs (`enable.auto.commit`).
    pub(crate) fn set_commit_on_revoke(&mut self, on: bool) {
        self.commit_on_revoke = on;
    }

    /// A rebalance callback is running: since when.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn callback_running(&self) -> Option<Instant> {
        self.callback.as_ref().map(|c| c.since)
    }

    /// The next work of applying the membership's changes, in order. Stops
    /// after a [`Work::Callback`]: nothing more is handed out until
    /// [`Self::on_callback_done`].
    pub(crate) fn take_work(&mut self, now: Instant) -> Vec<Work> {
        let mut out = std::mem::take(&mut self.ready);
        if self.callback.is_some() {
            self.ready = out;
            return Vec::new();
        }
        while !self.notices.is_empty() {
            let then = match self.notices.remove(0) {
                Notice::Identity {
                    generation,
                    member_id,
                } => {
                    out.push(Work::Identity {
                        generation,
                        member_id,
                    });
                    continue;
                }
                Notice::Error(e) => {
                    out.push(Work::Error(e));
                    continue;
                }
                Notice::Assigned(p) => {
                    out.push(Work::Hold(p.clone()));
                    out.push(Work::Callback(Notice::Assigned(p.clone())));
                    vec![Work::Release(p)]
                }
                Notice::Revoked(p) => {
                    if self.commit_on_revoke {
                        out.push(Work::Commit(p.clone()));
                    }
                    out.push(Work::Callback(Notice::Revoked(p.clone())));
                    vec![Work::Unassign(p)]
                }
                Notice::Lost(p) => {
                    out.push(Work::Unassign(p.clone()));
                    out.push(Work::Callback(Notice::Lost(p)));
                    Vec::new()
                }
            };
            self.callback = Some(CallbackRun { since: now, then });
            break;
        }
        out
    }

    /// How long the rebalance callback has been running, if one is.
    pub(crate) fn callback_running_for(&self, now: Instant) -> Option<std::time::Duration> {
        self.callback
            .as_ref()
            .map(|run| now.saturating_duration_since(run.since))
    }

    /// The application's rebalance callback returned (or there was none,
    /// or it panicked): the work it held back is handed out next. (`now`
    /// keeps the signature of every other event; the task logs how long
    /// the callback took, from [`Self::callback_running_for`].)
    pub(crate) fn on_callback_done(&mut self, _now: Instant) {
        if let Some(run) = self.callback.take() {
            self.ready.extend(run.then);
        }
    }

    /// Starts (or restarts after a subscription change) joining.
    pub(crate) fn join(&mut self, now: Instant) {
        self.last_poll = now;
        match self.phase {
            Phase::Failed => {}
            Phase::Idle => self.phase = Phase::NeedCoordinator,
            Phase::Stable => self.rejoin(),
            _ => self.rejoin_pending = true,
        }
    }

    /// The member id and generation (for commits).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn identity(&self) -> (i32, &str) {
        (self.generation, &self.member_id)
    }

    /// The partitions owned now.
    pub(crate) fn owned(&self) -> Vec<TopicPartition> {
        self.owned.iter().cloned().collect()
    }

    /// The phase by librdkafka's join-state names (statistics'
    /// `join_state`).
    pub(crate) fn join_state(&self) -> &'static str {
        match self.phase {
            Phase::Idle => "init",
            Phase::NeedCoordinator | Phase::Finding => "wait-coord",
            Phase::NeedJoin | Phase::Joining => "wait-join",
            Phase::Assigning => "wait-metadata",
            Phase::Syncing => "wait-sync",
            Phase::Stable if self.callback.is_some() => "wait-assign-call",
            Phase::Stable => "steady",
            Phase::Failed => "failed",
        }
    }

    pub(crate) fn is_stable(&self) -> bool {
        self.phase == Phase::Stable
    }

    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn is_failed(&self) -> bool {
        self.phase == Phase::Failed
    }

    /// Notices for the application, oldest first.
    #[cfg(test)]
    pub(crate) fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    /// The application polled: resets the max.poll.interval clock; after
    /// an expiry, rejoins.
    /// The application polled at `now`. Returns whether the member has
    /// work for its task: it had left the group for polling too late
    /// (max.poll.interval.ms) and now rejoins.
    pub(crate) fn polled(&mut self, now: Instant) -> bool {
        self.last_poll = now;
        if !self.poll_expired {
            return false;
        }
        self.poll_expired = false;
        if self.phase == Phase::Idle {
            self.phase = Phase::NeedCoordinator;
        }
        true
    }

    fn lose_all(&mut self) {
        if !self.owned.is_empty() {
            let lost = std::mem::take(&mut self.owned);
            self.notices.push(Notice::Lost(lost.into_iter().collect()));
        }
    }

    fn revoke_all(&mut self) {
        if !self.owned.is_empty() {
            let revoked = std::mem::take(&mut self.owned);
            self.notices
                .push(Notice::Revoked(revoked.into_iter().collect()));
        }
    }

    /// A rejoin keeping the member id (rebalance).
    fn rejoin(&mut self) {
        if !self.s.cooperative {
            // Eager: everything is given back before joining.
            self.revoke_all();
        }
        self.phase = Phase::NeedJoin;
        self.next_heartbeat = None;
        self.rejoin_pending = false;
        self.resume = false;
    }

    /// A fresh join: the member is unknown to the coordinator.
    fn reset_member(&mut self) {
        self.lose_all();
        self.member_id.clear();
        self.generation = -1;
        self.identity_changed();
        self.phase = Phase::NeedJoin;
        self.next_heartbeat = None;
        self.rejoin_pending = false;
        self.resume = false;
    }

    /// No answer from the coordinator for longer than the session.
    fn session_expired(&self, now: Instant) -> bool {
        self.last_contact
            .is_some_and(|last| now.saturating_duration_since(last) > self.s.session_timeout)
    }

    fn identity_changed(&mut self) {
        self.notices.push(Notice::Identity {
            generation: self.generation,
            member_id: self.member_id.clone(),
        });
    }

    fn coordinator_lost(&mut self, now: Instant) {
        match self.phase {
            Phase::Stable => self.resume = true,
            // A join or sync cut short must be done again.
            Phase::Joining | Phase::Assigning | Phase::Syncing | Phase::NeedJoin => {
                self.resume = false
            }
            // Still looking: whatever was true before the loss holds.
            _ => {}
        }
        self.phase = Phase::NeedCoordinator;
        self.heartbeat_in_flight = false;
        self.not_before = Some(now + self.s.retry_backoff);
    }

    /// Handles an error common to every group request; true when handled.
    fn common_error(&mut self, c: i16, now: Instant, what: &str) -> bool {
        match code(c) {
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress => {
                self.coordinator_lost(now);
                true
            }
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                self.reset_member();
                true
            }
            ErrorCode::FencedInstanceId => {
                self.fail(Error::fatal(
                    ErrorCode::FencedInstanceId,
                    format!(
                        "{what}: group.instance.id {} is used by a newer member of the group",
                        self.s.instance_id.as_deref().unwrap_or("")
                    ),
                ));
                true
            }
            _ => false,
        }
    }

    fn fail(&mut self, e: Error) {
        self.lose_all();
        self.phase = Phase::Failed;
        self.notices.push(Notice::Error(e));
    }

    /// The next requests to send, given the time.
    pub(crate) fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Idle || self.phase == Phase::Failed {
            return out;
        }
        if self.callback.is_some() {
            // Only heartbeats while the application's callback runs: the
            // session stays alive, and nothing that gives partitions up
            // overtakes the callback.
            out.extend(self.heartbeat_due(now));
            return out;
        }
        if !self.poll_expired
            && now.saturating_duration_since(self.last_poll) > self.s.max_poll_interval
        {
            self.poll_expired = true;
            self.notices.push(Notice::Error(Error::new(
                ErrorCode::MaxPollExceeded,
                format!(
                    "the application did not poll within max.poll.interval.ms ({} ms): left the group",
                    self.s.max_poll_interval.as_millis()
                ),
            )));
            return self.leave();
        }
        if let Some(t) = self.not_before {
            if now < t {
                return out;
            }
            self.not_before = None;
        }
        match self.phase {
            Phase::NeedCoordinator => {
                self.phase = Phase::Finding;
                out.push(Action::FindCoordinator);
            }
            Phase::NeedJoin => {
                self.phase = Phase::Joining;
                out.push(Action::Join {
                    member_id: self.member_id.clone(),
                    owned: self.owned(),
                    generation: self.generation,
                });
            }
            Phase::Assigning => out.extend(self.pending_assign.take()),
            Phase::Syncing => {
                if let Some(assignments) = self.pending_sync.take() {
                    out.push(Action::Sync {
                        generation: self.generation,
                        member_id: self.member_id.clone(),
                        protocol: self.protocol.clone(),
                        assignments,
                    });
                }
            }
            Phase::Stable => {
                if self.session_expired(now) {
                    // The coordinator has dropped us by now.
                    self.reset_member();
                    self.phase = Phase::NeedCoordinator;
                    return out;
                }
                match self.next_query {
                    Some(t) if t <= now => {
                        out.push(Action::QueryCoordinator);
                        self.next_query = Some(now + self.s.coordinator_query);
                    }
                    None => self.next_query = Some(now + self.s.coordinator_query),
                    Some(_) => {}
                }
                let due = self.next_heartbeat.is_none_or(|t| t <= now);
                if due && !self.heartbeat_in_flight {
                    self.heartbeat_in_flight = true;
                    self.next_heartbeat = Some(now + self.s.heartbeat_interval);
                    out.push(Action::Heartbeat {
                        generation: self.generation,
                        member_id: self.member_id.clone(),
                    });
                }
            }
            _ => {}
        }
        out
    }

    /// A heartbeat to send while the driver cannot run [`Self::poll`]
    /// (the application's rebalance callback is running): only the
    /// heartbeat of a stable member, nothing that changes the phase, so
    /// no JoinGroup can overtake the revocations being delivered.
    pub(crate) fn heartbeat_due(&mut self, now: Instant) -> Option<Action> {
        if self.phase != Phase::Stable
            || self.heartbeat_in_flight
            || self.not_before.is_some_and(|t| now < t)
            || self.next_heartbeat.is_some_and(|t| now < t)
        {
            return None;
        }
        self.heartbeat_in_flight = true;
        self.next_heartbeat = Some(now + self.s.heartbeat_interval);
        Some(Action::Heartbeat {
            generation: self.generation,
            member_id: self.member_id.clone(),
        })
    }

    /// When [`Self::heartbeat_due`] may next have a heartbeat; `None` when
    /// no heartbeat is to be sent before an answer or a phase change.
    pub(crate) fn next_heartbeat(&self) -> Option<Instant> {
        if self.phase != Phase::Stable || self.heartbeat_in_flight {
            return None;
        }
        [self.next_heartbeat, self.not_before]
            .into_iter()
            .flatten()
            .max()
    }

    /// When [`Self::poll`] wants to be called again at the latest.
    pub(crate) fn next_wakeup(&self) -> Option<Instant> {
        if self.callback.is_some() {
            return self.next_heartbeat();
        }
        let mut t = self.not_before;
        if self.phase == Phase::Stable {
            t = [t, self.next_heartbeat, self.next_query]
                .into_iter()
                .flatten()
                .min();
        }
        if !matches!(self.phase, Phase::Idle | Phase::Failed) && !self.poll_expired {
            let p = self.last_poll + self.s.max_poll_interval + Duration::from_millis(1);
            t = Some(t.map_or(p, |x| x.min(p)));
        }
        t
    }

    pub(crate) fn on_coordinator(&mut self, now: Instant, found: Result<(), Error>) {
        if self.phase != Phase::Finding {
            return;
        }
        match found {
            Ok(()) if self.resume && self.session_expired(now) => {
                // Out of contact longer than the session: the coordinator
                // has dropped the member by now.
                self.reset_member();
            }
            Ok(()) if std::mem::take(&mut self.resume) => {
                // Same generation: heartbeat at once, its answer tells
                // whether the group moved on meanwhile.
                self.phase = Phase::Stable;
                self.heartbeat_in_flight = false;
                self.next_heartbeat = Some(now);
                if self.rejoin_pending {
                    self.rejoin();
                }
            }
            Ok(()) => self.phase = Phase::NeedJoin,
            Err(_) => self.coordinator_lost(now),
        }
    }

    /// A request failed on the transport (timeout, disconnect).
    pub(crate) fn on_transport_error(&mut self, now: Instant) {
        match self.phase {
            Phase::Joining | Phase::Syncing | Phase::Finding => self.coordinator_lost(now),
            Phase::Stable => {
                // Keep the assignment: the session may well still be alive.
                self.heartbeat_in_flight = false;
                self.coordinator_lost(now);
            }
            _ => {}
        }
    }

    /// The JoinGroup answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_join(
        &mut self,
        now: Instant,
        error: i16,
        generation: i32,
        member_id: &str,
        leader: &str,
        protocol: &str,
        members: Vec<(String, Vec<u8>)>,
    ) {
        if self.phase != Phase::Joining {
            return;
        }
        if error != 0 {
            match code(error) {
                ErrorCode::MemberIdRequired => {
                    self.member_id = member_id.to_string();
                    self.phase = Phase::NeedJoin;
                }
                ErrorCode::RebalanceInProgress => self.phase = Phase::NeedJoin,
                ErrorCode::UnknownMemberId => self.reset_member(),
                _ if self.common_error(error, now, "JoinGroup") => {}
                ErrorCode::InconsistentGroupProtocol
                | ErrorCode::InvalidSessionTimeout
                | ErrorCode::GroupAuthorizationFailed
                | ErrorCode::GroupMaxSizeReached => {
                    self.lose_all();
                    self.phase = Phase::NeedJoin;
                    self.not_before =
                        Some(now + self.s.retry_backoff.max(Duration::from_millis(500)));
                    self.notices
                        .push(Notice::Error(Error::from_kafka(error, "JoinGroup")));
                }
                _ => {
                    self.phase = Phase::NeedJoin;
                    self.not_before = Some(now + self.s.retry_backoff);
                }
            }
            return;
        }
        self.member_id = member_id.to_string();
        self.generation = generation;
        self.protocol = protocol.to_string();
        self.identity_changed();
        if self.member_id == leader {
            self.phase = Phase::Assigning;
            self.pending_assign = Some(Action::Assign {
                protocol: self.protocol.clone(),
                members,
            });
            return;
        }
        self.phase = Phase::Syncing;
        self.pending_sync = Some(Vec::new());
    }

    /// The leader's computed assignment (member id -> encoded assignment).
    pub(crate) fn assignment_done(&mut self, assignments: Vec<(String, Vec<u8>)>) {
        if self.phase == Phase::Assigning {
            self.phase = Phase::Syncing;
            self.pending_sync = Some(assignments);
        }
    }

    /// The SyncGroup answer, with the member's assignment decoded.
    pub(crate) fn on_sync(&mut self, now: Instant, error: i16, assigned: Vec<TopicPartition>) {
        if self.phase != Phase::Syncing {
            return;
        }
        if error != 0 {
            if code(error) == ErrorCode::RebalanceInProgress {
                self.rejoin();
            } else if !self.common_error(error, now, "SyncGroup") {
                self.phase = Phase::NeedJoin;
                self.not_before = Some(now + self.s.retry_backoff);
            }
            return;
        }
        let new: BTreeSet<TopicPartition> = assigned.into_iter().collect();
        let revoked: Vec<TopicPartition> = self.owned.difference(&new).cloned().collect();
        let added: Vec<TopicPartition> = new.difference(&self.owned).cloned().collect();
        if !revoked.is_empty() {
            self.notices.push(Notice::Revoked(revoked.clone()));
        }
        if !added.is_empty() || (self.owned.is_empty() && new.is_empty()) {
            self.notices.push(Notice::Assigned(added));
        }
        self.owned = new;
        self.phase = Phase::Stable;
        self.last_contact = Some(now);
        self.next_heartbeat = Some(now + self.s.heartbeat_interval);
        self.heartbeat_in_flight = false;
        // KIP-429: after giving partitions back, join again so that the
        // leader can hand them to their new owner.
        if (self.s.cooperative && !revoked.is_empty()) || self.rejoin_pending {
            self.rejoin();
        }
    }

    pub(crate) fn on_heartbeat(&mut self, now: Instant, error: i16) {
        self.heartbeat_in_flight = false;
        if self.phase != Phase::Stable {
            return;
        }
        if error == 0 {
            self.last_contact = Some(now);
            return;
        }
        if code(error) == ErrorCode::RebalanceInProgress {
            self.last_contact = Some(now);
            self.rejoin();
        } else if !self.common_error(error, now, "Heartbeat") {
            self.not_before = Some(now + self.s.retry_backoff);
        }
    }

    /// Leaves the group (close, unsubscribe, max.poll expiry): revokes the
    /// partitions and returns the LeaveGroup to send, none for a static
    /// member (its session outlives the process, KIP-345).
    pub(crate) fn leave(&mut self) -> Vec<Action> {
        self.revoke_all();
        let was = std::mem::replace(&mut self.phase, Phase::Idle);
        self.next_heartbeat = None;
        self.heartbeat_in_flight = false;
        self.pending_assign = None;
        self.pending_sync = None;
        self.resume = false;
        let mut out = Vec::new();
        if was != Phase::Failed && self.s.instance_id.is_none() && !self.member_id.is_empty() {
            out.push(Action::Leave {
                member_id: self.member_id.clone(),
            });
        }
        if self.s.instance_id.is_none() {
            self.member_id.clear();
            self.generation = -1;
        }
        if was == Phase::Failed {
            self.phase = Phase::Failed;
        }
        out
    }
}
