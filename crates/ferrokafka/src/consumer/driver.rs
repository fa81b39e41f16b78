//! The consumer's driver task: asks the fetch state machine for work, runs
//! each piece as a task (one Fetch per broker, offset lookups, auto
//! commits), and feeds the answers back. It holds the consumer only weakly
//! and ends when the consumer is dropped; its tasks end with it.

use super::fetch::{Action, CommitEntry, EpochOffset, FetchPart, FetchResult};
use super::requests;
use super::ConsumerError;
use super::Shared;
use crate::TopicPartition;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

enum Done {
    Fetch {
        broker: i32,
        /// The broker's fetch session, back from the request (`None` only
        /// once the driver took it back).
        session: Option<Box<requests::FetchSession>>,
        parts: Vec<super::fetch::FetchPart>,
        /// Every partition's result went to the state as it was decoded
        /// (see `requests::fetch`); this says how the request ended.
        result: crate::Result<()>,
    },
    Offset {
        tp: TopicPartition,
        version: u64,
        result: crate::Result<i64>,
    },
    Committed {
        parts: Vec<(TopicPartition, u64)>,
        result: crate::Result<Vec<(TopicPartition, Option<EpochOffset>)>>,
    },
    Validated {
        tp: TopicPartition,
        version: u64,
        result: crate::Result<(i32, i64)>,
    },
    AutoCommit {
        offsets: Vec<CommitEntry>,
        result: crate::Result<()>,
    },
}

/// Longest sleep without any event (a safety net; every change wakes the
/// driver directly).
const IDLE: Duration = Duration::from_secs(1);

pub(super) async fn drive(weak: Weak<Shared>, wake: Arc<Notify>) {
    let mut tasks: JoinSet<Done> = JoinSet::new();
    let Some(mut changes) = weak.upgrade().map(|s| s.cluster.subscribe()) else {
        return;
    };
    let mut watching = true;
    let mut next_commit = weak
        .upgrade()
        .and_then(|s| s.auto_commit)
        .map(|d| Instant::now() + d);
    let mut commit_in_flight = false;
    // Per broker its fetch session (KIP-227); out with the one Fetch in
    // flight to that broker, back with its answer.
    let mut sessions: HashMap<i32, Box<requests::FetchSession>> = HashMap::new();
    loop {
        let wakeup = {
            let Some(sh) = weak.upgrade() else { break };
            let now = Instant::now();
            let actions = {
                let cluster = sh.cluster.clone();
                let mut leaderless: Vec<String> = Vec::new();
                let mut leader = |t: &str, p: i32| {
                    let l = cluster.leader_for(t, p);
                    if l.is_none() && leaderless.last().is_none_or(|x| x != t) {
                        leaderless.push(t.to_string());
                    }
                    l
                };
                let mut st = sh.lock();
                let actions = st.poll(now.into_std(), &mut leader);
                // A topic the cluster declared missing is told at once
                // (issue 13 item 6), not waited on for a leader.
                let before = st.has_items();
                for t in &leaderless {
                    if let Some(e) = cluster.topic_failure(t) {
                        st.topic_missing(t, &missing_topic(t, &e));
                    }
                }
                if !before && st.has_items() {
                    sh.data.notify_waiters();
                }
                actions
            };
            start(&sh, &weak, &mut tasks, actions, &mut sessions);
            if let Some(e) = sh.cluster.take_security_error() {
                sh.lock().push_client_error(ConsumerError::client(e));
                sh.data.notify_waiters();
            }
            if let (Some(at), Some(every)) = (next_commit, sh.auto_commit) {
                if at <= now && !commit_in_flight {
                    next_commit = Some(now + every);
                    if let Some(who) = sh.group() {
                        let offsets = sh.lock().uncommitted();
                        if !offsets.is_empty() {
                            commit_in_flight = true;
                            let cluster = sh.cluster.clone();
                            let timeout = sh.timeout;
                            tasks.spawn(async move {
                                let result =
                                    requests::commit(&cluster, &who, &offsets, timeout).await;
                                Done::AutoCommit { offsets, result }
                            });
                        }
                    }
                }
            }
            let backoff = sh.lock().next_wakeup().map(Instant::from_std);
            [backoff, next_commit]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(now + IDLE)
                .min(now + IDLE)
        };
        tokio::select! {
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let Some(sh) = weak.upgrade() else { break };
                if let Ok(mut done) = done {
                    if let Done::AutoCommit { .. } = done {
                        commit_in_flight = false;
                    }
                    if let Done::Fetch { broker, session, .. } = &mut done {
                        if let Some(s) = session.take() {
                            sessions.insert(*broker, s);
                        }
                    }
                    apply(&sh, done);
                }
            }
            _ = wake.notified() => {}
            r = changes.changed(), if watching => {
                if r.is_err() {
                    watching = false;
                }
            }
            _ = tokio::time::sleep_until(wakeup) => {}
        }
    }
}

/// The error an assigned partition of a missing topic reports: as
/// librdkafka, UNKNOWN_TOPIC_OR_PART, naming the topic.
fn missing_topic(topic: &str, cause: &crate::Error) -> crate::Error {
    let code = match cause.code() {
        crate::ErrorCode::UnknownTopic => crate::ErrorCode::UnknownTopicOrPartition,
        c => c,
    };
    let text = cause.message();
    if text.contains(topic) {
        crate::Error::new(code, text.to_string())
    } else {
        crate::Error::new(code, format!("topic {topic}: {text}"))
    }
}

/// Runs a request in a task of its own, so that a bug that panics turns
/// into an error answer (and the partitions waiting on it are released)
/// instead of leaving them waiting forever.
async fn guarded<T: Send + 'static>(
    fut: impl std::future::Future<Output = crate::Result<T>> + Send + 'static,
) -> crate::Result<T> {
    match tokio::spawn(fut).await {
        Ok(r) => r,
        Err(e) => Err(crate::Error::new(
            crate::ErrorCode::Fail,
            format!("consumer request task failed: {e}"),
        )),
    }
}

fn start(
    sh: &Shared,
    weak: &Weak<Shared>,
    tasks: &mut JoinSet<Done>,
    actions: Vec<Action>,
    sessions: &mut HashMap<i32, Box<requests::FetchSession>>,
) {
    let mut committed: Vec<(TopicPartition, u64)> = Vec::new();
    for a in actions {
        match a {
            Action::Metadata { topic } => sh.cluster.leader_error(&topic),
            Action::Fetch { broker, parts } => {
                let cluster = sh.cluster.clone();
                let wire = sh.wire.clone();
                // Only one Fetch per broker is in flight, so the session
                // is here unless a task panicked (then a new one starts).
                let session = sessions.remove(&broker).unwrap_or_default();
                // Each partition goes to the state as soon as it is
                // decoded: the application reads the first while the
                // others are decoded.
                let weak = weak.clone();
                let deliver = move |part: FetchPart, result: FetchResult| {
                    let Some(sh) = weak.upgrade() else { return };
                    let queued = sh
                        .lock()
                        .on_fetched(part, result, Instant::now().into_std());
                    if queued {
                        sh.data.notify_waiters();
                    }
                };
                tasks.spawn(async move {
                    let req = parts.clone();
                    let result = guarded(async move {
                        let mut session = session;
                        let r =
                            requests::fetch(&cluster, broker, &req, &wire, &mut session, &deliver)
                                .await
                                .map(|_| ());
                        Ok((r, session))
                    })
                    .await;
                    // A request task that panicked took the session with
                    // it: the next request opens a new one.
                    let (result, session) = match result {
                        Ok((r, session)) => (r, Some(session)),
                        Err(e) => (Err(e), None),
                    };
                    Done::Fetch {
                        broker,
                        session,
                        parts,
                        result,
                    }
                });
            }
            Action::ListOffsets {
                broker,
                tp,
                version,
                query,
                epoch,
            } => {
                let cluster = sh.cluster.clone();
                let read_committed = sh.wire.read_committed;
                let timeout = sh.timeout;
                tasks.spawn(async move {
                    let t = tp.clone();
                    let result = guarded(async move {
                        requests::resolve_offset(
                            &cluster,
                            broker,
                            &t,
                            query,
                            epoch,
                            read_committed,
                            timeout,
                        )
                        .await
                    })
                    .await;
                    Done::Offset {
                        tp,
                        version,
                        result,
                    }
                });
            }
            Action::Committed { tp, version } => committed.push((tp, version)),
            Action::ValidateEpoch {
                broker,
                tp,
                version,
                current_epoch,
                last_epoch,
            } => {
                let cluster = sh.cluster.clone();
                let timeout = sh.timeout;
                tasks.spawn(async move {
                    let t = tp.clone();
                    let result = guarded(async move {
                        requests::epoch_end(
                            &cluster,
                            broker,
                            &t,
                            current_epoch,
                            last_epoch,
                            timeout,
                        )
                        .await
                    })
                    .await;
                    Done::Validated {
                        tp,
                        version,
                        result,
                    }
                });
            }
        }
    }
    if !committed.is_empty() {
        let cluster = sh.cluster.clone();
        let group = sh.group();
        let timeout = sh.timeout;
        let stable = sh.wire.read_committed;
        tasks.spawn(async move {
            let tps: Vec<TopicPartition> = committed.iter().map(|x| x.0.clone()).collect();
            let result = match group {
                Some(g) => {
                    let tps = tps.clone();
                    guarded(async move {
                        requests::fetch_committed(&cluster, &g.group_id, &tps, stable, timeout)
                            .await
                    })
                    .await
                }
                // Without a group there is nothing stored.
                None => Ok(tps.into_iter().map(|tp| (tp, None)).collect()),
            };
            Done::Committed {
                parts: committed,
                result,
            }
        });
    }
}

fn apply(sh: &Shared, done: Done) {
    let now = Instant::now().into_std();
    let queued = {
        let mut st = sh.lock();
        match done {
            Done::Fetch {
                broker,
                parts,
                result,
                ..
            } => match result {
                Ok(()) => {
                    st.on_fetch_done(broker);
                    false
                }
                Err(e) => {
                    crate::debug::trace_ctx!(
                        sh.cluster.observer().debug(),
                        Fetch,
                        "fetch failed: {e}"
                    );
                    st.on_fetch_failed(&parts, now);
                    false
                }
            },
            Done::Offset {
                tp,
                version,
                result,
            } => {
                st.on_offset(&tp, version, now, result);
                st.has_items()
            }
            Done::Validated {
                tp,
                version,
                result,
            } => {
                st.on_validated(&tp, version, now, result);
                st.has_items()
            }
            Done::Committed { parts, result } => {
                for (tp, version) in parts {
                    let r = match &result {
                        Ok(v) => Ok(v.iter().find(|x| x.0 == tp).and_then(|x| x.1)),
                        Err(e) => Err(e.clone()),
                    };
                    st.on_committed(&tp, version, now, r);
                }
                st.has_items()
            }
            Done::AutoCommit { offsets, result } => {
                match result {
                    Ok(()) => {
                        for (tp, o, _) in &offsets {
                            st.committed(tp, *o);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "ferrokafka::consumer", "auto commit failed: {e}")
                    }
                }
                false
            }
        }
    };
    if queued {
        sh.data.notify_waiters();
    }
}
