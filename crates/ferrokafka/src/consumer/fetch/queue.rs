//! The prefetch queue: records decoded for the application, in fetch
//! order, with per-partition and total bounds (`queued.min.messages`,
//! `queued.max.messages.kbytes`). Owns handing out the next message or
//! error, dropping entries a seek made stale (by version), moving the
//! application position as messages are taken, and noting when a pop took
//! a partition back under its bounds so fetching may resume. What gets
//! queued is decided where fetch answers are handled (mod.rs).

use super::*;
use crate::TopicPartition;

/// An entry of the prefetch queue. The messages one fetch decoded for one
/// partition stay in the vector decoding built, handed out from its front:
/// moving each message into the queue on its own cost as much as
/// decoding it.
#[derive(Debug)]
pub(super) enum Queued {
    /// Messages of one partition (never empty while queued), in order.
    Messages {
        /// The partition's slot in the table (see `table`).
        slot: usize,
        version: u64,
        msgs: std::vec::IntoIter<Message>,
    },
    Error(ConsumerError, u64),
}

impl FetchState {
    /// Messages and bytes held in the prefetch queue.
    pub(crate) fn queued(&self) -> (usize, usize) {
        let msgs = self.parts.values().map(|p| p.queued_msgs).sum();
        (msgs, self.queued_bytes)
    }

    pub(crate) fn has_items(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Takes the next item for the application.
    pub(crate) fn pop(&mut self) -> Option<Item> {
        loop {
            if let Some(Queued::Messages {
                slot,
                version,
                msgs,
            }) = self.queue.front_mut()
            {
                let (slot, v) = (*slot, *version);
                let next = msgs.next();
                if msgs.len() == 0 {
                    self.queue.pop_front();
                }
                let Some(m) = next else { continue };
                if self.took(&m, slot, v) {
                    return Some(Ok(m));
                }
                continue;
            }
            match self.queue.pop_front()? {
                Queued::Error(e, v) => {
                    if let (Some(t), Some(part)) = (e.topic(), e.partition_id()) {
                        let stale = self
                            .parts
                            .iter()
                            .find(|(tp, _)| tp.topic() == t && tp.partition() == part)
                            .is_none_or(|(_, p)| p.version != v);
                        if stale {
                            continue;
                        }
                    }
                    return Some(Err(e));
                }
                // Emptied chunks leave the queue as their last message does.
                Queued::Messages { .. } => continue,
            }
        }
    }

    /// Accounts for `m` leaving the queue; false when it is stale (its
    /// partition was unassigned, sought or reassigned since it was fetched).
    pub(super) fn took(&mut self, m: &Message, slot: usize, v: u64) -> bool {
        let size = footprint(m);
        let max = self.settings.queued_max_bytes;
        let before = self.queued_bytes;
        self.queued_bytes = before.saturating_sub(size);
        // Crossing the bound or half of it (where a queue backoff ends, see
        // `poll`) may let fetching resume.
        let crossed = |bound: usize| before >= bound && self.queued_bytes < bound;
        if crossed(max) || crossed(max / 2) || self.queue.is_empty() {
            self.unblocked = true;
        }
        let auto_store = self.settings.auto_store;
        let min = self.settings.queued_min_messages;
        let Some(p) = self.parts.by_slot_mut(slot) else {
            return false;
        };
        if p.version != v {
            return false;
        }
        let before = p.queued_msgs;
        p.queued_msgs = before.saturating_sub(1);
        if before == min
            || (before.saturating_mul(2) >= min && p.queued_msgs.saturating_mul(2) < min)
        {
            self.unblocked = true;
        }
        p.queued_bytes = p.queued_bytes.saturating_sub(size);
        p.app_pos = Some(m.offset.saturating_add(1));
        p.consumed = Some((m.offset.saturating_add(1), m.leader_epoch));
        if auto_store {
            p.stored = Some((m.offset.saturating_add(1), m.leader_epoch));
        }
        true
    }

    /// Whether a pop since the last call may let fetching resume.
    pub(crate) fn take_unblocked(&mut self) -> bool {
        std::mem::take(&mut self.unblocked)
    }

    /// Queues an error of the client as a whole (not of one partition).
    pub(crate) fn push_client_error(&mut self, err: ConsumerError) {
        self.queue.push_back(Queued::Error(err, 0));
    }

    pub(super) fn report(
        &mut self,
        tp: &TopicPartition,
        code: ErrorCode,
        text: String,
        offset: Option<i64>,
    ) {
        let Some(p) = self.parts.get(tp) else { return };
        let v = p.version;
        let err = ConsumerError::partition(
            Error::new(code, text),
            tp.topic_arc(),
            tp.partition(),
            offset,
        );
        self.queue.push_back(Queued::Error(err, v));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn queue_bounds_stop_fetching_until_the_application_catches_up() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings {
            queued_max_bytes: 1000,
            queue_backoff: Duration::ZERO,
            ..FetchSettings::default()
        });
        st.assign(tp(0), Offset::Offset(0));
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 10, 100))], t0);
        assert!(st.queued().1 >= 1000);
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
        while st.queued().1 >= 1000 {
            st.pop();
        }
        assert_eq!(
            fetch_parts(&st.poll(t0, &mut leaders.f()))[0].1[0].offset,
            10
        );

        let mut st = FetchState::new(FetchSettings {
            queued_min_messages: 2,
            queue_backoff: Duration::ZERO,
            ..FetchSettings::default()
        });
        st.assign(tp(0), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 3, 100))], t0);
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
        st.pop();
        st.pop();
        assert_eq!(fetch_parts(&st.poll(t0, &mut leaders.f())).len(), 1);
    }

    #[test]
    fn a_full_queue_backs_the_partition_off_for_fetch_queue_backoff() {
        let t0 = Instant::now();
        let pause = Duration::from_millis(1000);
        let mut st = FetchState::new(FetchSettings {
            queued_min_messages: 2,
            queue_backoff: pause,
            ..FetchSettings::default()
        });
        let leaders = Leaders(HashMap::from([(0, 1), (1, 1)]));
        st.assign(tp(0), Offset::Offset(0));
        st.assign(tp(1), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        let parts = &f[0].1;
        st.on_fetch(
            vec![
                (parts[0].clone(), data(0, 0, 3, 100)),
                (parts[1].clone(), data(1, 0, 1, 100)),
            ],
            t0,
        );
        // Partition 0 is over queued.min.messages: only partition 1 goes.
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(
            f[0].1.iter().map(|p| p.tp.partition()).collect::<Vec<_>>(),
            vec![1]
        );
        st.on_fetch(vec![(f[0].1[0].clone(), data(1, 1, 0, 100))], t0);
        assert_eq!(st.next_wakeup(), Some(t0 + pause));
        // Under its bound again, but still backed off.
        st.pop();
        st.pop();
        let t1 = t0 + Duration::from_millis(10);
        let f = fetch_parts(&st.poll(t1, &mut leaders.f()));
        assert!(f
            .iter()
            .all(|(_, ps)| ps.iter().all(|p| p.tp.partition() != 0)));
        for (_, ps) in &f {
            st.on_fetch(
                ps.iter()
                    .map(|p| (p.clone(), data(p.tp.partition(), p.offset, 0, 100)))
                    .collect(),
                t1,
            );
        }
        // The pause over: fetched from where it stopped.
        let f = fetch_parts(&st.poll(t0 + pause, &mut leaders.f()));
        let p0: Vec<i64> = f[0]
            .1
            .iter()
            .filter(|p| p.tp.partition() == 0)
            .map(|p| p.offset)
            .collect();
        assert_eq!(p0, vec![3]);

        // An application that empties the whole queue ends the pause.
        let mut st = FetchState::new(FetchSettings {
            queued_min_messages: 2,
            queue_backoff: pause,
            ..FetchSettings::default()
        });
        st.assign(tp(0), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 3, 100))], t0);
        assert!(fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty());
        while st.pop().is_some() {}
        let f = fetch_parts(&st.poll(t0 + Duration::from_millis(1), &mut leaders.f()));
        assert_eq!(f[0].1[0].offset, 3);
    }

    #[test]
    fn caught_up_partitions_do_not_long_poll_a_broker_whose_other_partition_waits_for_room() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings {
            queued_min_messages: 4,
            queue_backoff: Duration::from_millis(1000),
            ..FetchSettings::default()
        });
        // Partitions 0 and 1 on broker 1, partition 2 on broker 2.
        let leaders = Leaders(HashMap::from([(0, 1), (1, 1), (2, 2)]));
        for p in 0..3 {
            st.assign(tp(p), Offset::Offset(0));
        }
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        let answers = |f: &[(i32, Vec<FetchPart>)], n: &dyn Fn(i32) -> (i64, i64)| {
            f.iter()
                .flat_map(|(_, ps)| ps.iter())
                .map(|p| {
                    let (count, high) = n(p.tp.partition());
                    (p.clone(), data(p.tp.partition(), p.offset, count, high))
                })
                .collect::<Vec<_>>()
        };
        // Partition 0 is over queued.min.messages with more on the broker;
        // partitions 1 and 2 have everything there is.
        st.on_fetch(
            answers(&f, &|p| match p {
                0 => (5, 100),
                _ => (2, 2),
            }),
            t0,
        );
        let sent = |st: &mut FetchState, at: Instant| {
            let mut f = fetch_parts(&st.poll(at, &mut leaders.f()));
            f.sort_by_key(|(b, _)| *b);
            f.iter()
                .map(|(b, ps)| {
                    (
                        *b,
                        ps.iter().map(|p| (p.tp.partition(), p.offset)).collect(),
                    )
                })
                .collect::<Vec<(i32, Vec<(i32, i64)>)>>()
        };
        // Broker 2 has nothing held: its caught-up partition waits there
        // for new records as before. Broker 1's would hold partition 0 up.
        assert_eq!(sent(&mut st, t0), vec![(2, vec![(2, 2)])]);
        // Room for partition 0 (under half its bound): both go together.
        for _ in 0..4 {
            st.pop();
        }
        assert!(st.take_unblocked());
        let t1 = t0 + Duration::from_millis(10);
        assert_eq!(sent(&mut st, t1), vec![(1, vec![(0, 5), (1, 2)])]);
    }

    #[test]
    fn a_queue_backoff_ends_once_the_partition_is_down_to_half_its_bound() {
        let t0 = Instant::now();
        let pause = Duration::from_millis(1000);
        let mut st = FetchState::new(FetchSettings {
            queued_min_messages: 4,
            queue_backoff: pause,
            ..FetchSettings::default()
        });
        let leaders = Leaders(HashMap::from([(0, 1)]));
        st.assign(tp(0), Offset::Offset(0));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 5, 100))], t0);
        let fetches_p0 = |st: &mut FetchState, at: Instant| {
            fetch_parts(&st.poll(at, &mut leaders.f()))
                .iter()
                .flat_map(|(_, ps)| {
                    ps.iter()
                        .filter(|p| p.tp.partition() == 0)
                        .map(|p| p.offset)
                })
                .collect::<Vec<_>>()
        };
        // Over queued.min.messages: backed off.
        assert!(fetches_p0(&mut st, t0).is_empty());
        let t1 = t0 + Duration::from_millis(10);
        // 5 -> 3 queued: under the bound, not yet under half of it.
        st.pop();
        st.pop();
        assert!(st.take_unblocked(), "4 -> 3 crossed queued.min.messages");
        assert!(fetches_p0(&mut st, t1).is_empty());
        // 3 -> 1: under half; the pop says so and the partition goes at once.
        st.pop();
        st.pop();
        assert!(st.take_unblocked());
        assert_eq!(fetches_p0(&mut st, t1), vec![5]);
    }
}
