//! The consumer's statistics: the fetch state's partitions, the group's
//! state and the cluster's connections assembled into one
//! [`Statistics`](crate::stats::Statistics).

use super::Shared;
use crate::stats::{GroupStatistics, Statistics};

/// A snapshot of `sh`; `roll` starts new windows (the periodic emission).
pub(super) fn snapshot(sh: &Shared, roll: bool) -> Statistics {
    let id = &sh.stats;
    let mut s = crate::stats::header(&id.name, &id.client_id, "consumer", id.created);
    let assignment = sh.lock().assignment();
    let toppars: Vec<(&str, i32)> = assignment
        .iter()
        .map(|tp| (tp.topic(), tp.partition()))
        .collect();
    s.brokers = sh.cluster.broker_statistics(&toppars, roll);
    s.metadata_cache_cnt = sh.cluster.metadata_cache_cnt();
    let (rxmsgs, rxbytes) = sh.lock().fill_stats(&mut s.topics);
    s.rxmsgs = rxmsgs;
    s.rxmsg_bytes = rxbytes;
    for t in s.topics.values_mut() {
        (t.age, t.metadata_age) = sh.cluster.topic_ages(&t.topic);
        for p in t.partitions.values_mut() {
            if let Some((leader, _)) = sh.cluster.leader_for(&t.topic, p.partition) {
                p.leader = leader;
                p.broker = leader;
            }
            s.replyq += p.fetchq_cnt;
        }
    }
    if sh.members.config.is_some() {
        let g = sh.members.lock();
        let now = tokio::time::Instant::now();
        let (state, join_state) = match &g.membership {
            None => ("init", "init"),
            Some(m) if m.is_failed() => ("term", m.join_state()),
            Some(m) => (
                if g.coordinator.is_some() {
                    "up"
                } else {
                    "wait-coord"
                },
                m.join_state(),
            ),
        };
        // The state's age counts from the first snapshot that saw it.
        let stateage = {
            let mut seen = id
                .group_state_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match *seen {
                Some((st, at)) if st == state => {
                    now.saturating_duration_since(at).as_millis() as u64
                }
                _ => {
                    *seen = Some((state, now));
                    0
                }
            }
        };
        s.cgrp = Some(GroupStatistics {
            state: state.into(),
            stateage,
            join_state: join_state.into(),
            rebalance_age: g.last_rebalance.map_or(0, |(at, _)| {
                now.saturating_duration_since(at).as_millis() as u64
            }),
            rebalance_cnt: g.rebalance_cnt,
            rebalance_reason: g
                .last_rebalance
                .map_or(String::new(), |(_, why)| why.to_string()),
            assignment_size: assignment.len() as u64,
        });
    }
    s.sum_brokers();
    s
}
