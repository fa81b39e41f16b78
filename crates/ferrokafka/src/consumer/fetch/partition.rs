//! One assigned partition's fetch state ([`Part`], its [`Phase`]) and the
//! events that move it: assign, unassign, seek, pause and resume, the
//! hold while the group's rebalance callback runs, and the purge of its
//! queued and in-flight records. Owns the position, the version bump that
//! makes stale answers harmless, and the cached watermarks. Building
//! requests and handling their answers is `fetch`'s (mod.rs) and
//! `offsets`'; the prefetch queue itself is `queue`'s.

use super::*;
use crate::TopicPartition;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Needs its start offset resolved.
    Resolve(Offset),
    /// A lookup for this start offset is in flight.
    Resolving(Offset),
    Fetching,
    /// The leader changed: the position must be validated (KIP-320).
    Validate,
    /// A validation is in flight.
    Validating,
    /// Stopped after an error the application must act on (seek).
    Stopped,
}

#[derive(Debug)]
pub(super) struct Part {
    pub(super) phase: Phase,
    pub(super) version: u64,
    pub(super) fetch_pos: i64,
    /// Leader epoch sent with fetches (KIP-320), from metadata.
    pub(super) epoch: Option<i32>,
    /// Leader epoch of the last record fetched.
    pub(super) last_epoch: Option<i32>,
    pub(super) app_pos: Option<i64>,
    /// The offset after the last message given to the application, with
    /// that message's leader epoch (for explicit commits of the position).
    pub(super) consumed: Option<(i64, Option<i32>)>,
    pub(super) paused: bool,
    /// Assigned by the group while the application's rebalance callback
    /// runs: nothing is fetched until the callback returns (it may move the
    /// start offset).
    pub(super) held: bool,
    pub(super) in_flight: bool,
    pub(super) backoff_until: Option<Instant>,
    /// Not fetched before this: its queue was over its bounds
    /// (`fetch.queue.backoff.ms`).
    pub(super) queue_backoff_until: Option<Instant>,
    pub(super) preferred: Option<(i32, Instant)>,
    pub(super) low: i64,
    pub(super) high: i64,
    pub(super) lso: i64,
    pub(super) eof_reported_at: Option<i64>,
    pub(super) reported: Option<(ErrorCode, i64)>,
    pub(super) max_bytes: i32,
    pub(super) queued_msgs: usize,
    pub(super) queued_bytes: usize,
    pub(super) stored: Option<(i64, Option<i32>)>,
    pub(super) committed: Option<i64>,
    /// Statistics: records and bytes received since assigned.
    pub(super) rxmsgs: u64,
    pub(super) rxbytes: u64,
}

impl FetchState {
    /// Adds partitions (already assigned ones are restarted at `offset`).
    pub(crate) fn assign(&mut self, tp: TopicPartition, offset: Offset) {
        let version = self.bump();
        self.purge(&tp);
        let max_bytes = self.settings.partition_max_bytes;
        let part = Part {
            phase: Phase::Fetching,
            version,
            fetch_pos: -1,
            epoch: None,
            last_epoch: None,
            app_pos: None,
            consumed: None,
            paused: false,
            held: false,
            in_flight: self.parts.get(&tp).is_some_and(|p| p.in_flight),
            backoff_until: None,
            queue_backoff_until: None,
            preferred: None,
            low: -1,
            high: -1,
            lso: -1,
            eof_reported_at: None,
            reported: None,
            max_bytes,
            queued_msgs: 0,
            queued_bytes: 0,
            stored: None,
            committed: None,
            rxmsgs: 0,
            rxbytes: 0,
        };
        self.parts.insert(tp.clone(), part);
        self.start_at(&tp, offset);
    }

    /// Removes a partition and its queued messages.
    pub(crate) fn unassign(&mut self, tp: &TopicPartition) -> bool {
        self.purge(tp);
        self.parts.remove(tp).is_some()
    }

    pub(super) fn start_at(&mut self, tp: &TopicPartition, offset: Offset) {
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        p.last_epoch = None;
        p.eof_reported_at = None;
        p.reported = None;
        p.backoff_until = None;
        p.queue_backoff_until = None;
        match offset {
            Offset::Offset(o) if o >= 0 => {
                p.phase = Phase::Fetching;
                p.fetch_pos = o;
                p.app_pos = Some(o);
            }
            Offset::Offset(_) => p.phase = Phase::Resolve(Offset::End),
            other => p.phase = Phase::Resolve(other),
        }
    }

    /// Moves the fetch and application position; queued messages are
    /// dropped.
    pub(crate) fn seek(&mut self, tp: &TopicPartition, offset: Offset) -> bool {
        if !self.parts.contains_key(tp) {
            return false;
        }
        self.purge(tp);
        let v = self.bump();
        if let Some(p) = self.parts.get_mut(tp) {
            p.version = v;
        }
        self.start_at(tp, offset);
        true
    }

    /// Stops fetching a partition; queued messages are dropped and fetching
    /// resumes from the application position on resume.
    pub(crate) fn pause(&mut self, tp: &TopicPartition) -> bool {
        if !self.parts.contains_key(tp) {
            return false;
        }
        self.purge(tp);
        let v = self.bump();
        let p = self.parts.get_mut(tp).expect("checked above");
        p.paused = true;
        p.version = v;
        if p.phase == Phase::Fetching {
            if let Some(a) = p.app_pos {
                p.fetch_pos = a;
            }
        }
        true
    }

    /// Assigns `tp` at `offset` held: it stays out of fetching until
    /// [`release`](Self::release) (or a new assign) while the rebalance
    /// callback that may restart it elsewhere runs.
    pub(crate) fn assign_held(&mut self, tp: TopicPartition, offset: Offset) {
        self.assign(tp.clone(), offset);
        if let Some(p) = self.parts.get_mut(&tp) {
            p.held = true;
        }
    }

    /// Ends the hold of [`assign_held`](Self::assign_held).
    pub(crate) fn release(&mut self, tp: &TopicPartition) {
        if let Some(p) = self.parts.get_mut(tp) {
            p.held = false;
        }
    }

    pub(crate) fn resume(&mut self, tp: &TopicPartition) -> bool {
        match self.parts.get_mut(tp) {
            Some(p) => {
                p.paused = false;
                true
            }
            None => false,
        }
    }

    /// Drops queued items of `tp`.
    pub(super) fn purge(&mut self, tp: &TopicPartition) {
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        let is_tp = |e: &ConsumerError| {
            e.topic() == Some(tp.topic()) && e.partition_id() == Some(tp.partition())
        };
        if p.queued_msgs == 0
            && !self
                .queue
                .iter()
                .any(|i| matches!(i, Queued::Error(e, _) if is_tp(e)))
        {
            return;
        }
        let mut freed = 0;
        self.queue.retain(|i| match i {
            Queued::Messages { msgs, .. } => {
                let msgs = msgs.as_slice();
                let ours = msgs
                    .first()
                    .is_some_and(|m| m.partition == tp.partition() && *m.topic == *tp.topic());
                if ours {
                    freed += msgs.iter().map(footprint).sum::<usize>();
                }
                !ours
            }
            Queued::Error(e, _) => !is_tp(e),
        });
        p.queued_msgs = 0;
        p.queued_bytes = 0;
        self.queued_bytes = self.queued_bytes.saturating_sub(freed);
    }

    /// The offset of the next message the application will get.
    pub(crate) fn position(&self, tp: &TopicPartition) -> Option<i64> {
        self.parts.get(tp)?.app_pos
    }

    /// The leader epoch of the last message consumed when `offset` is the
    /// position right after it.
    pub(crate) fn epoch_at_position(&self, tp: &TopicPartition, offset: i64) -> Option<i32> {
        let p = self.parts.get(tp)?;
        match p.consumed {
            Some((o, e)) if o == offset && p.app_pos == Some(offset) => e,
            _ => None,
        }
    }

    /// Cached (low, high) watermarks from fetch responses.
    pub(crate) fn watermarks(&self, tp: &TopicPartition) -> Option<(i64, i64)> {
        let p = self.parts.get(tp)?;
        (p.high >= 0).then_some((p.low, p.high))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn seek_drops_queued_and_in_flight_records() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        st.assign(tp(0), Offset::Offset(0));
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 5, 10))], t0);
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert!(st.seek(&tp(0), Offset::Offset(7)));
        assert!(st.pop().is_none(), "queued records dropped");
        // The old fetch answers: dropped, and the next fetch starts at 7.
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 5, 5, 10))], t0);
        assert!(st.pop().is_none());
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(f[0].1[0].offset, 7);
        assert_eq!(st.queued(), (0, 0));
    }

    #[test]
    fn a_held_partition_waits_for_its_release() {
        let t0 = Instant::now();
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let mut st = FetchState::new(FetchSettings::default());
        st.assign_held(tp(0), Offset::Offset(0));
        assert!(st.is_assigned(&tp(0)));
        assert!(st.poll(t0, &mut leaders.f()).is_empty());
        st.release(&tp(0));
        assert_eq!(
            fetch_parts(&st.poll(t0, &mut leaders.f()))[0].1[0].offset,
            0
        );
        // A new assign during the hold (the callback moving the start) is
        // not held.
        let mut st = FetchState::new(FetchSettings::default());
        st.assign_held(tp(0), Offset::Offset(0));
        st.assign(tp(0), Offset::Offset(7));
        assert_eq!(
            fetch_parts(&st.poll(t0, &mut leaders.f()))[0].1[0].offset,
            7
        );
    }

    #[test]
    fn pause_drops_queue_and_resume_refetches_from_the_application_position() {
        let t0 = Instant::now();
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let mut st = FetchState::new(FetchSettings::default());
        st.assign(tp(0), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 5, 5))], t0);
        assert!(matches!(st.pop(), Some(Ok(m)) if m.offset == 0));
        st.pause(&tp(0));
        assert!(st.pop().is_none());
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
        st.resume(&tp(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(f[0].1[0].offset, 1);
    }
}
