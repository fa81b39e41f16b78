//! The group task: runs the [`Membership`] against the group coordinator
//! (FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup), computes
//! the assignment when this member leads, and carries out the membership's
//! [`Work`] on the fetch engine (hold, release, commit, unassign) and for
//! the application (rebalance events and callbacks, errors). The rules of
//! a rebalance (what is held, what is committed first, that only
//! heartbeats go while a callback runs) are the membership's; this task
//! moves bytes, runs the callback and keeps the timers, reading the clock
//! for the state machine.

use super::assignor::{self};
use super::membership::{Action, MemberSettings, Membership, Notice, Work};
use super::rpc::start;
use crate::consumer::message::{ConsumerError, Offset, Rebalance};
use crate::consumer::{Consumer, Shared};
use crate::error::{Error, ErrorCode, Result};
use crate::TopicPartition;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The application's rebalance callback.
pub(crate) type Callback = Arc<dyn Fn(&Consumer, &Rebalance) + Send + Sync>;

/// Most rebalance events kept for [`crate::consumer::Consumer::next_rebalance`].
const EVENTS_MAX: usize = 1024;

/// The group configuration, from the consumer's properties.
#[derive(Clone, Debug)]
pub(crate) struct GroupConfig {
    pub group_id: String,
    pub member: MemberSettings,
    pub assignors: Vec<String>,
    pub rack: Option<String>,
    pub request_timeout: Duration,
    /// `group.protocol.type`: the classic protocol's type in JoinGroup and
    /// SyncGroup.
    pub protocol_type: String,
}

/// The group state shared by the consumer handle and the group task.
pub(crate) struct GroupShared {
    pub config: Option<GroupConfig>,
    inner: Mutex<Inner>,
    pub wake: Notify,
    /// Set once the group task runs (see `polled`).
    started: AtomicBool,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub membership: Option<Membership>,
    pub topics: Vec<String>,
    pub errors: VecDeque<ConsumerError>,
    pub events: VecDeque<Rebalance>,
    pub callback: Option<Callback>,
    pub running: bool,
    pub coordinator: Option<i32>,
    /// The topics the subscription matched at the last join.
    pub resolved: Vec<String>,
    /// group.instance.id of the members of the last join (leader only).
    pub instances: BTreeMap<String, String>,
    /// Subscribed topics with metadata at the last check, and the ones
    /// already reported missing (one error per topic until it appears).
    pub known: BTreeSet<String>,
    pub reported: BTreeSet<String>,
    /// Statistics: rebalances (assign, revoke or lost) so far, the last
    /// one's time and kind.
    pub rebalance_cnt: u64,
    pub last_rebalance: Option<(Instant, &'static str)>,
}

impl GroupShared {
    pub(crate) fn new(config: Option<GroupConfig>) -> Self {
        GroupShared {
            config,
            inner: Mutex::new(Inner::default()),
            wake: Notify::new(),
            started: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called on every application poll: the max.poll.interval clock, and
    /// a group error waiting for the application.
    ///
    /// It runs once per record, so it costs nothing without a group task
    /// (no lock: nothing but the task queues errors here), and wakes the
    /// task only when the poll gives it work, not at every record.
    pub(crate) fn polled(&self) -> Option<ConsumerError> {
        if !self.started.load(Ordering::Acquire) {
            return None;
        }
        let mut g = self.lock();
        // Only a member reads the clock: without a subscription the read
        // would be a tenth of the cost of a record.
        let wake = g
            .membership
            .as_mut()
            .is_some_and(|m| m.polled(Instant::now().into_std()));
        let e = g.errors.pop_front();
        drop(g);
        if wake {
            self.wake.notify_one();
        }
        e
    }
}

pub(crate) enum Done {
    Coordinator(Result<i32>),
    /// The periodic coordinator lookup of a stable member.
    CoordinatorQueried(Result<i32>),
    Join(Result<kafka_protocol::messages::JoinGroupResponse>),
    Assigned(Result<Vec<(String, Vec<u8>)>>),
    Sync(Result<kafka_protocol::messages::SyncGroupResponse>),
    Heartbeat(Result<kafka_protocol::messages::HeartbeatResponse>),
    Left,
}

/// Starts the group task once.
pub(crate) fn ensure_running(sh: &Arc<Shared>) {
    let mut g = sh.members.lock();
    if g.running {
        return;
    }
    g.running = true;
    sh.members.started.store(true, Ordering::Release);
    drop(g);
    sh.cluster.runtime().spawn(run(Arc::downgrade(sh)));
}

async fn run(weak: Weak<Shared>) {
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let Some(mut changes) = weak.upgrade().map(|s| s.cluster.subscribe()) else {
        return;
    };
    let mut watching = true;
    loop {
        let wakeup = {
            let Some(sh) = weak.upgrade() else { break };
            let Some(cfg) = sh.members.config.clone() else {
                break;
            };
            let now = Instant::now();
            let actions = {
                let mut g = sh.members.lock();
                match g.membership.as_mut() {
                    Some(m) => m.poll(now.into_std()),
                    None => Vec::new(),
                }
            };
            // The application hears of (and commits for) revoked partitions
            // before the JoinGroup or LeaveGroup that gives them up goes
            // out: once the group completes the join, commits of the old
            // generation are refused.
            // A heartbeat goes now: it gives nothing up, and one marked
            // in flight but not sent would stop heartbeats while a
            // callback runs.
            let (beats, actions): (Vec<_>, Vec<_>) = actions
                .into_iter()
                .partition(|a| matches!(a, Action::Heartbeat { .. }));
            for a in beats {
                start(&sh, &cfg, &mut tasks, a);
            }
            apply_notices(&sh, Some((&cfg, &mut tasks))).await;
            for a in actions {
                crate::debug::trace_ctx!(sh.cluster.observer().debug(), Cgrp, group = %cfg.group_id, "group action {}", action_name(&a));
                start(&sh, &cfg, &mut tasks, a);
            }
            let next = sh
                .members
                .lock()
                .membership
                .as_ref()
                .and_then(|m| m.next_wakeup())
                .map(Instant::from_std);
            next.unwrap_or(now + Duration::from_secs(1))
                .min(now + Duration::from_secs(1))
        };
        tokio::select! {
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let Some(sh) = weak.upgrade() else { break };
                if let Ok(done) = done {
                    finish(&sh, done);
                }
            }
            r = changes.changed(), if watching => {
                if r.is_err() {
                    watching = false;
                } else if let Some(sh) = weak.upgrade() {
                    resubscribe_if_changed(&sh).await;
                }
            }
            _ = wait_wake(&weak) => {}
            _ = tokio::time::sleep_until(wakeup) => {}
        }
    }
}

async fn wait_wake(weak: &Weak<Shared>) {
    let Some(sh) = weak.upgrade() else { return };
    // The select ends within a second, releasing the consumer.
    tokio::time::timeout(Duration::from_secs(1), sh.members.wake.notified())
        .await
        .ok();
}

/// The topic names the subscription matches now: plain names as given,
/// `^regex` patterns matched against the cluster's topics.
pub(crate) async fn resolve_topics(sh: &Shared, patterns: &[String]) -> Vec<String> {
    let mut out: Vec<String> = patterns
        .iter()
        .filter(|p| !p.starts_with('^'))
        .cloned()
        .collect();
    let regexes: Vec<regex::Regex> = patterns
        .iter()
        .filter(|p| p.starts_with('^'))
        .filter_map(|p| regex::Regex::new(p).ok())
        .collect();
    if !regexes.is_empty() {
        if let Ok(md) = sh.cluster.metadata(None, Duration::from_secs(5)).await {
            for t in md.topics {
                if !t.is_internal && regexes.iter().any(|r| r.is_match(&t.name)) {
                    out.push(t.name);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Which of `topics` have metadata; an unknown or unauthorized one is
/// reported to the application once (until it appears).
pub(super) async fn check_topics(sh: &Shared, topics: &[String]) -> BTreeSet<String> {
    let mut known = BTreeSet::new();
    for t in topics {
        match sh.cluster.topic(t, Duration::from_secs(1)).await {
            Ok(md) if md.error.is_none() => {
                known.insert(t.clone());
                sh.members.lock().reported.remove(t);
            }
            Ok(md) => report_topic(
                sh,
                t,
                md.error.unwrap_or(ErrorCode::UnknownTopicOrPartition),
            ),
            // As librdkafka: a missing topic is UNKNOWN_TOPIC_OR_PART.
            Err(e) if e.code() == ErrorCode::UnknownTopic => {
                report_topic(sh, t, ErrorCode::UnknownTopicOrPartition)
            }
            Err(e) if e.code().kafka_code().is_some() => report_topic(sh, t, e.code()),
            Err(_) => {}
        }
    }
    known
}

fn report_topic(sh: &Shared, topic: &str, code: ErrorCode) {
    let mut g = sh.members.lock();
    if g.reported.insert(topic.to_string()) {
        g.errors.push_back(ConsumerError::client(Error::new(
            code,
            format!("subscribed topic {topic}: {code:?}"),
        )));
        drop(g);
        sh.data.notify_waiters();
    }
}

async fn resubscribe_if_changed(sh: &Shared) {
    let patterns = sh.members.lock().topics.clone();
    if patterns.is_empty() {
        return;
    }
    let now = resolve_topics(sh, &patterns).await;
    let known = check_topics(sh, &now).await;
    let mut g = sh.members.lock();
    let changed = g.resolved != now || g.known != known;
    if g.membership.as_ref().is_some_and(|m| m.is_stable()) && changed {
        g.resolved = now;
        g.known = known;
        if let Some(m) = g.membership.as_mut() {
            m.join(Instant::now().into_std());
        }
    }
}

/// A short name of `a` for debug output.
fn action_name(a: &Action) -> String {
    match a {
        Action::FindCoordinator => "FindCoordinator".into(),
        Action::QueryCoordinator => "FindCoordinator (periodic)".into(),
        Action::Join {
            member_id,
            generation,
            owned,
        } => {
            format!(
                "JoinGroup member={member_id} generation={generation} owned={}",
                owned.len()
            )
        }
        Action::Assign { protocol, members } => {
            format!("assign {protocol} to {} members", members.len())
        }
        Action::Sync {
            generation,
            member_id,
            ..
        } => format!("SyncGroup member={member_id} generation={generation}"),
        Action::Heartbeat { .. } => "Heartbeat".into(),
        Action::Leave { member_id } => format!("LeaveGroup member={member_id}"),
    }
}

/// Debug output of a group answer (`debug=cgrp`).
fn log_answer(d: crate::debug::DebugContexts, done: &Done) {
    use crate::debug::trace_ctx;
    match done {
        Done::Join(Ok(r)) => trace_ctx!(
            d,
            Cgrp,
            "JoinGroup answer: error {} generation {} member {} leader {} protocol {:?} members {}",
            r.error_code,
            r.generation_id,
            r.member_id.as_str(),
            r.leader.as_str(),
            r.protocol_name.as_deref(),
            r.members.len()
        ),
        Done::Sync(Ok(r)) => trace_ctx!(
            d,
            Cgrp,
            "SyncGroup answer: error {} ({} bytes)",
            r.error_code,
            r.assignment.len()
        ),
        Done::Heartbeat(Ok(r)) if r.error_code != 0 => {
            trace_ctx!(d, Cgrp, "Heartbeat answer: error {}", r.error_code)
        }
        Done::Coordinator(r) => trace_ctx!(d, Cgrp, "coordinator: {r:?}"),
        _ => {}
    }
}

fn finish(sh: &Shared, done: Done) {
    log_answer(sh.cluster.observer().debug(), &done);
    let now = Instant::now().into_std();
    let mut g = sh.members.lock();
    let inner = &mut *g;
    let Some(m) = inner.membership.as_mut() else {
        return;
    };
    match done {
        Done::CoordinatorQueried(Ok(id)) => {
            if inner.coordinator != Some(id) {
                tracing::debug!(target: "ferrokafka::consumer", from = ?inner.coordinator, to = id, "the group's coordinator moved");
                inner.coordinator = Some(id);
            }
        }
        Done::CoordinatorQueried(Err(e)) => {
            // The heartbeats' own errors find the coordinator again.
            tracing::debug!(target: "ferrokafka::consumer", "periodic coordinator lookup failed: {e}");
        }
        Done::Coordinator(r) => {
            if let Ok(id) = &r {
                inner.coordinator = Some(*id);
            }
            m.on_coordinator(now, r.map(|_| ()));
        }
        Done::Join(Ok(r)) => {
            inner.instances = r
                .members
                .iter()
                .filter_map(|x| {
                    let i = x.group_instance_id.as_ref()?;
                    Some((x.member_id.to_string(), i.to_string()))
                })
                .collect();
            let members = r
                .members
                .into_iter()
                .map(|x| (x.member_id.to_string(), x.metadata.to_vec()))
                .collect();
            // KIP-814: a static leader that rejoined keeps the current
            // assignment; it syncs like a follower.
            let leader = if r.skip_assignment {
                ""
            } else {
                r.leader.as_str()
            };
            m.on_join(
                now,
                r.error_code,
                r.generation_id,
                &r.member_id,
                leader,
                r.protocol_name.as_deref().unwrap_or(""),
                members,
            );
        }
        Done::Assigned(Ok(a)) => m.assignment_done(a),
        Done::Assigned(Err(e)) => {
            tracing::warn!(target: "ferrokafka::consumer", "assignment failed: {e}");
            m.assignment_done(Vec::new());
        }
        Done::Sync(Ok(r)) => {
            let parts = if r.error_code == 0 {
                match assignor::decode_assignment(&r.assignment) {
                    Ok(p) => p,
                    Err(e) => {
                        inner.errors.push_back(ConsumerError::client(e));
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            m.on_sync(now, r.error_code, parts);
        }
        Done::Heartbeat(Ok(r)) => m.on_heartbeat(now, r.error_code),
        Done::Join(Err(e)) | Done::Sync(Err(e)) | Done::Heartbeat(Err(e)) => {
            crate::debug::trace_ctx!(
                sh.cluster.observer().debug(),
                Cgrp,
                "group request failed: {e}"
            );
            m.on_transport_error(now);
        }
        Done::Left => {}
    }
}

/// The group task's requests, for heartbeating while a rebalance callback
/// runs.
pub(crate) type Heartbeats<'a> = Option<(&'a GroupConfig, &'a mut JoinSet<Done>)>;

/// Carries out the membership's [`Work`] on the fetch engine and tells the
/// application, until there is none. The order and the rules (hold until
/// the callback returned, commit before a revocation) are the
/// membership's; this only executes them. With `hb` (the group task),
/// heartbeats go on while the application's callback runs.
pub(crate) async fn apply_notices(sh: &Arc<Shared>, mut hb: Heartbeats<'_>) {
    loop {
        let work = match sh.members.lock().membership.as_mut() {
            Some(m) => m.take_work(Instant::now().into_std()),
            None => return,
        };
        if work.is_empty() {
            return;
        }
        for w in work {
            match w {
                Work::Identity {
                    generation,
                    member_id,
                } => sh.set_identity(generation, &member_id),
                Work::Error(e) => {
                    sh.members.lock().errors.push_back(ConsumerError::client(e));
                    sh.data.notify_waiters();
                }
                Work::Hold(p) => {
                    let mut st = sh.lock();
                    for tp in p {
                        st.assign_held(tp, Offset::Stored);
                    }
                }
                Work::Release(p) => {
                    {
                        let mut st = sh.lock();
                        for tp in &p {
                            st.release(tp);
                        }
                    }
                    sh.wake.notify_one();
                }
                Work::Commit(p) => commit_revoked(sh, &p).await,
                Work::Unassign(p) => {
                    let mut st = sh.lock();
                    for tp in &p {
                        st.unassign(tp);
                    }
                }
                Work::Callback(n) => {
                    let (ev, reason) = match n {
                        Notice::Assigned(p) => (Rebalance::Assigned(p), "assign"),
                        Notice::Revoked(p) => (Rebalance::Revoked(p), "revoke"),
                        Notice::Lost(p) => (Rebalance::Lost(p), "lost"),
                        Notice::Identity { .. } | Notice::Error(_) => continue,
                    };
                    {
                        let mut g = sh.members.lock();
                        g.rebalance_cnt += 1;
                        g.last_rebalance = Some((Instant::now(), reason));
                    }
                    deliver(sh, &ev, hb.as_mut()).await;
                    if let Some(m) = sh.members.lock().membership.as_mut() {
                        let now = Instant::now().into_std();
                        if let Some(took) = m.callback_running_for(now) {
                            crate::debug::trace_ctx!(
                                sh.cluster.observer().debug(),
                                Cgrp,
                                "rebalance callback took {took:?}"
                            );
                        }
                        m.on_callback_done(now);
                    }
                }
            }
        }
    }
}

/// Commits what was consumed from `p` before the partitions are given up.
async fn commit_revoked(sh: &Arc<Shared>, p: &[TopicPartition]) {
    let Some(who) = sh.group() else { return };
    let offsets: Vec<_> = sh
        .lock()
        .uncommitted()
        .into_iter()
        .filter(|e| p.contains(&e.0))
        .collect();
    if !offsets.is_empty() {
        let r = crate::consumer::commit_now(sh, &who, offsets, sh.timeout).await;
        if let Err(e) = r {
            tracing::warn!(target: "ferrokafka::consumer", "commit on revoke failed: {e}");
        }
    }
}

/// Queues `ev` for [`Consumer::next_rebalance`] and runs the application's
/// callback, waiting for it to return.
///
/// The callback runs on a thread of its own, holding no lock: there the
/// consumer's blocking calls (`commit_blocking`, `commit_offsets_blocking`)
/// are allowed and complete before the partitions of a `Revoked` event are
/// given up, whatever runtime the application uses (a current-thread
/// runtime stays free to drive the commit while this task waits).
///
/// Meanwhile the group task sends what the membership hands out while its
/// callback runs (heartbeats only: a callback longer than
/// `session.timeout.ms` would otherwise cost the assignment) and handles
/// the answers, so the JoinGroup or LeaveGroup that gives revoked
/// partitions up still waits for the callback.
async fn deliver(
    sh: &Arc<Shared>,
    ev: &Rebalance,
    hb: Option<&mut (&GroupConfig, &mut JoinSet<Done>)>,
) {
    let cb = {
        let mut g = sh.members.lock();
        if g.events.len() >= EVENTS_MAX {
            g.events.pop_front();
        }
        g.events.push_back(ev.clone());
        g.callback.clone()
    };
    let Some(cb) = cb else { return };
    let consumer = Consumer {
        shared: sh.clone(),
        rt: sh.cluster.runtime().clone(),
    };
    let event = ev.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("ferrokafka-rebalance".into())
        .spawn(move || {
            cb(&consumer, &event);
            drop(consumer);
            let _ = tx.send(());
        });
    match spawned {
        // A callback that panicked drops `tx`: the rebalance goes on.
        Ok(_) => match hb {
            Some((cfg, tasks)) => heartbeat_until(sh, cfg, tasks, rx).await,
            None => {
                let _ = rx.await;
            }
        },
        Err(e) => {
            tracing::warn!(target: "ferrokafka::consumer", "cannot start the rebalance callback's thread: {e}")
        }
    }
}

/// Heartbeats (and handles group answers) until `done` fires or is
/// dropped.
async fn heartbeat_until(
    sh: &Arc<Shared>,
    cfg: &GroupConfig,
    tasks: &mut JoinSet<Done>,
    mut done: tokio::sync::oneshot::Receiver<()>,
) {
    loop {
        let now = Instant::now();
        let (beat, next) = {
            let mut g = sh.members.lock();
            match g.membership.as_mut() {
                // A callback is running: the membership hands out only
                // heartbeats.
                Some(m) => (
                    m.poll(now.into_std()),
                    m.next_wakeup().map(Instant::from_std),
                ),
                None => (Vec::new(), None),
            }
        };
        for a in beat {
            start(sh, cfg, tasks, a);
        }
        // Never sooner than a few ms: a time already past must not spin.
        let wakeup = next
            .unwrap_or(now + Duration::from_secs(1))
            .clamp(now + Duration::from_millis(5), now + Duration::from_secs(1));
        tokio::select! {
            _ = &mut done => return,
            Some(d) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(d) = d {
                    finish(sh, d);
                }
            }
            _ = tokio::time::sleep_until(wakeup) => {}
        }
    }
}
