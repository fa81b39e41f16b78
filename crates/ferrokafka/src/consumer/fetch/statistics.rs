//! The fetch state's part of the statistics: each assigned partition's
//! fetch state, positions, watermarks, lag and prefetch queue, in the
//! layout of [`crate::stats::PartitionStatistics`].

use super::*;
use crate::stats::{PartitionStatistics, TopicStatistics, OFFSET_INVALID};
use std::collections::BTreeMap;

/// An offset the fetch state keeps as -1 (or `None`) when unknown.
fn known(o: i64) -> i64 {
    if o < 0 {
        OFFSET_INVALID
    } else {
        o
    }
}

impl FetchState {
    /// Adds every assigned partition to `topics` (creating topic entries).
    /// Returns the records and bytes received over the client's life.
    pub(crate) fn fill_stats(&self, topics: &mut BTreeMap<String, TopicStatistics>) -> (u64, u64) {
        for (tp, part) in self.parts.iter() {
            let (t, p) = (tp.topic_arc(), &tp.partition());
            let ts = topics
                .entry(t.to_string())
                .or_insert_with(|| TopicStatistics {
                    topic: t.to_string(),
                    ..TopicStatistics::default()
                });
            let mut ps = PartitionStatistics::new(*p);
            ps.desired = true;
            ps.fetch_state = match part.phase {
                Phase::Resolve(_) => "offset-query",
                Phase::Resolving(_) => "offset-wait",
                Phase::Validate | Phase::Validating => "validate-epoch-wait",
                Phase::Fetching => "active",
                Phase::Stopped => "stopped",
            }
            .into();
            ps.query_offset = match part.phase {
                Phase::Resolve(o) | Phase::Resolving(o) => match o {
                    Offset::Beginning => -2,
                    Offset::End => -1,
                    Offset::Stored => -1000,
                    Offset::Offset(n) => n,
                    Offset::OffsetTail(n) => -2000 - n,
                    Offset::Timestamp(_) => OFFSET_INVALID,
                },
                _ => OFFSET_INVALID,
            };
            ps.next_offset = known(part.fetch_pos);
            ps.app_offset = part.app_pos.map_or(OFFSET_INVALID, known);
            ps.stored_offset = part.stored.map_or(OFFSET_INVALID, |(o, _)| known(o));
            ps.stored_leader_epoch = part.stored.and_then(|(_, e)| e).unwrap_or(-1);
            ps.committed_offset = part.committed.map_or(OFFSET_INVALID, known);
            ps.commited_offset = ps.committed_offset;
            ps.eof_offset = part.eof_reported_at.map_or(OFFSET_INVALID, known);
            ps.lo_offset = known(part.low);
            ps.hi_offset = known(part.high);
            ps.ls_offset = known(part.lso);
            ps.leader_epoch = part.epoch.unwrap_or(-1);
            ps.fetchq_cnt = part.queued_msgs as u64;
            ps.fetchq_size = part.queued_bytes as u64;
            ps.rxmsgs = part.rxmsgs;
            ps.rxbytes = part.rxbytes;
            ps.msgs = part.rxmsgs;
            // The end a consumer can reach: the last stable offset under
            // read_committed, else the high watermark.
            let end = if self.settings.read_committed {
                ps.ls_offset
            } else {
                ps.hi_offset
            };
            if end >= 0 {
                let at = ps.app_offset.max(ps.committed_offset);
                if at >= 0 {
                    ps.consumer_lag = (end - at).max(0);
                }
                if ps.stored_offset >= 0 {
                    ps.consumer_lag_stored = (end - ps.stored_offset).max(0);
                } else if ps.committed_offset >= 0 {
                    ps.consumer_lag_stored = (end - ps.committed_offset).max(0);
                }
            }
            ts.partitions.insert(p.to_string(), ps);
        }
        self.rx_total
    }
}
