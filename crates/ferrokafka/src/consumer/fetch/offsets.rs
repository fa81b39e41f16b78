//! Offsets of assigned partitions: resolving a start offset (an offset
//! lookup or the committed offset, with `auto.offset.reset` when neither
//! applies), validating the position after a leader change and rewinding
//! on truncation (KIP-320), and the offset store the application commits
//! from. Sending the lookups and commits is the driver's; the fetch
//! positions themselves live in `partition`.

use super::*;
use crate::TopicPartition;

impl FetchState {
    /// Stores `next` (the offset after the last processed message) for the
    /// next commit.
    pub(crate) fn store(&mut self, tp: &TopicPartition, next: i64, epoch: Option<i32>) -> bool {
        match self.parts.get_mut(tp) {
            Some(p) => {
                p.stored = Some((next, epoch));
                true
            }
            None => false,
        }
    }

    /// Stored offsets not committed yet.
    pub(crate) fn uncommitted(&self) -> Vec<CommitEntry> {
        let mut v: Vec<_> = self
            .parts
            .iter()
            .filter_map(|(tp, p)| {
                let (o, e) = p.stored?;
                (p.committed != Some(o)).then(|| (tp.clone(), o, e))
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Records a successful commit.
    pub(crate) fn committed(&mut self, tp: &TopicPartition, offset: i64) {
        if let Some(p) = self.parts.get_mut(tp) {
            p.committed = Some(offset);
        }
    }

    /// Applies `auto.offset.reset` to a partition without a valid offset.
    pub(super) fn reset(&mut self, tp: &TopicPartition, why: &str) {
        let reset = self.settings.reset;
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        match reset {
            Reset::Earliest => p.phase = Phase::Resolve(Offset::Beginning),
            Reset::Latest => p.phase = Phase::Resolve(Offset::End),
            Reset::Error => {
                p.phase = Phase::Stopped;
                let pos = p.fetch_pos;
                self.report(
                    tp,
                    ErrorCode::AutoOffsetReset,
                    format!("{why}, and auto.offset.reset is 'error': seek to a valid offset to continue"),
                    (pos >= 0).then_some(pos),
                );
            }
        }
    }

    /// A start-offset lookup answered.
    pub(crate) fn on_offset(
        &mut self,
        tp: &TopicPartition,
        version: u64,
        now: Instant,
        result: Result<i64, Error>,
    ) {
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        if p.version != version {
            if p.in_flight && matches!(p.phase, Phase::Resolving(_)) {
                // Not ours any more, but nothing else is in flight.
            }
            p.in_flight = false;
            return;
        }
        p.in_flight = false;
        let spec = match p.phase {
            Phase::Resolving(s) => s,
            _ => return,
        };
        match result {
            Ok(o) if o >= 0 => {
                p.phase = Phase::Fetching;
                p.fetch_pos = o;
                p.app_pos = Some(o);
            }
            Ok(_) => {
                // A timestamp past the last record: start at the end.
                p.phase = Phase::Resolve(Offset::End);
            }
            Err(e) if e.is_retriable() || is_leader_error(e.code()) || e.code().is_local() => {
                p.phase = Phase::Resolve(spec);
                self.refresh.push(tp.topic_arc().clone());
                self.backoff(tp, now);
            }
            Err(e) => {
                p.phase = Phase::Stopped;
                let text = format!("cannot look up the start offset: {e}");
                self.report(tp, e.code(), text, None);
            }
        }
    }

    /// An OffsetForLeaderEpoch answered: where the last fetched epoch ends
    /// on the new leader, `(epoch, end_offset)`.
    pub(crate) fn on_validated(
        &mut self,
        tp: &TopicPartition,
        version: u64,
        now: Instant,
        result: Result<(i32, i64), Error>,
    ) {
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        p.in_flight = false;
        if p.version != version || p.phase != Phase::Validating {
            return;
        }
        match result {
            Ok((epoch, end)) if end >= 0 && end < p.fetch_pos => {
                p.phase = Phase::Fetching;
                self.truncated(tp, epoch, end);
            }
            Ok(_) => p.phase = Phase::Fetching,
            Err(e) if e.code() == ErrorCode::UnsupportedVersion => p.phase = Phase::Fetching,
            Err(_) => {
                p.phase = Phase::Validate;
                self.refresh.push(tp.topic_arc().clone());
                self.backoff(tp, now);
            }
        }
    }

    /// The leader's log ends at `end` for the epoch we fetched from, below
    /// our position: records past it were truncated. Fetching continues at
    /// `end` (records between it and the old position were replaced);
    /// with auto.offset.reset=error the application decides instead.
    pub(super) fn truncated(&mut self, tp: &TopicPartition, epoch: i32, end: i64) {
        let reset = self.settings.reset;
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        let from = p.fetch_pos;
        if end < 0 || end >= from {
            return;
        }
        let text = format!("log truncation detected: epoch {epoch} ends at offset {end}, below the fetch position {from}");
        tracing::warn!(target: "ferrokafka::consumer", "{} [{}]: {text}", tp.topic(), tp.partition());
        p.last_epoch = None;
        if reset == Reset::Error {
            p.phase = Phase::Stopped;
            self.report(tp, ErrorCode::LogTruncation, text, Some(end));
        } else {
            p.phase = Phase::Fetching;
            p.fetch_pos = end;
            if p.app_pos.is_some_and(|a| a > end) {
                p.app_pos = Some(end);
            }
        }
    }

    /// A committed-offset lookup answered: `None` is "no committed offset".
    pub(crate) fn on_committed(
        &mut self,
        tp: &TopicPartition,
        version: u64,
        now: Instant,
        result: Result<Option<EpochOffset>, Error>,
    ) {
        let Some(p) = self.parts.get_mut(tp) else {
            return;
        };
        p.in_flight = false;
        if p.version != version || p.phase != Phase::Resolving(Offset::Stored) {
            return;
        }
        match result {
            Ok(Some((o, epoch))) if o >= 0 => {
                p.phase = Phase::Fetching;
                p.fetch_pos = o;
                p.app_pos = Some(o);
                p.committed = Some(o);
                if epoch.is_some() && p.epoch.is_none() {
                    p.epoch = None;
                }
            }
            Ok(_) => self.reset(tp, "no committed offset"),
            Err(e) if e.is_retriable() => {
                p.phase = Phase::Resolve(Offset::Stored);
                self.backoff(tp, now);
            }
            Err(e) => self.reset(tp, &format!("cannot fetch the committed offset ({e})")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn a_new_leader_epoch_validates_the_position_and_truncation_rewinds() {
        let t0 = Instant::now();
        let mut st = FetchState::new(FetchSettings::default());
        st.assign(tp(0), Offset::Offset(0));
        let mut lead = |_: &str, _: i32| Some((1, Some(5)));
        let f = fetch_parts(&st.poll(t0, &mut lead));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 0, 10, 10))], t0);
        // Same epoch: just fetch on, with the last fetched epoch attached.
        let f = fetch_parts(&st.poll(t0, &mut lead));
        assert_eq!((f[0].1[0].offset, f[0].1[0].last_epoch), (10, Some(0)));
        st.on_fetch(vec![(f[0].1[0].clone(), data(0, 10, 0, 10))], t0);
        let mut lead = |_: &str, _: i32| Some((2, Some(6)));
        let acts = st.poll(t0, &mut lead);
        let Some(Action::ValidateEpoch {
            broker,
            version,
            last_epoch,
            current_epoch,
            ..
        }) = acts.first().cloned()
        else {
            panic!("{acts:?}")
        };
        assert_eq!((broker, last_epoch, current_epoch), (2, 0, Some(6)));
        assert!(fetch_parts(&acts).is_empty(), "no fetch before validation");
        st.on_validated(&tp(0), version, t0, Ok((0, 7)));
        let f = fetch_parts(&st.poll(t0, &mut lead));
        assert_eq!(
            (f[0].0, f[0].1[0].offset),
            (2, 7),
            "resumes where the logs agree"
        );
        // A diverging epoch in a fetch response does the same.
        let mut r = data(0, 7, 0, 9);
        if let FetchResult::Data { diverging, .. } = &mut r {
            *diverging = Some((0, 5));
        }
        st.on_fetch(vec![(f[0].1[0].clone(), r)], t0);
        let f = fetch_parts(&st.poll(t0, &mut lead));
        assert_eq!(f[0].1[0].offset, 5);
    }

    #[test]
    fn out_of_range_applies_auto_offset_reset() {
        let t0 = Instant::now();
        let leaders = Leaders(HashMap::from([(0, 1)]));
        for (reset, expect) in [
            (Reset::Earliest, Some(OffsetQuery::Time(-2))),
            (Reset::Latest, Some(OffsetQuery::Time(-1))),
            (Reset::Error, None),
        ] {
            let mut st = FetchState::new(FetchSettings {
                reset,
                ..FetchSettings::default()
            });
            st.assign(tp(0), Offset::Offset(50));
            let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
            st.on_fetch(
                vec![(
                    f[0].1[0].clone(),
                    FetchResult::Error(ErrorCode::OffsetOutOfRange),
                )],
                t0,
            );
            let acts = st.poll(t0, &mut leaders.f());
            let q = acts.iter().find_map(|a| match a {
                Action::ListOffsets {
                    query, version, tp, ..
                } => Some((*query, *version, tp.clone())),
                _ => None,
            });
            assert_eq!(q.as_ref().map(|x| x.0), expect);
            if let Some((_, v, t)) = q {
                st.on_offset(&t, v, t0, Ok(4));
                assert_eq!(
                    fetch_parts(&st.poll(t0, &mut leaders.f()))[0].1[0].offset,
                    4
                );
            } else {
                match st.pop() {
                    Some(Err(e)) => assert_eq!(e.code(), ErrorCode::AutoOffsetReset),
                    other => panic!("expected an AutoOffsetReset error, got {other:?}"),
                }
                assert!(
                    fetch_parts(&st.poll(t0, &mut leaders.f())).is_empty(),
                    "stopped until seek"
                );
            }
        }
    }

    #[test]
    fn a_broker_is_fetched_from_once_the_lookups_of_its_partitions_are_answered() {
        // An empty partition resolved first would otherwise wait at the
        // broker for fetch.wait.max.ms, alone, and hold up its neighbours.
        let t0 = Instant::now();
        let leaders = Leaders(HashMap::from([(0, 1), (1, 1), (2, 2)]));
        let mut st = FetchState::new(FetchSettings::default());
        for p in 0..3 {
            st.assign(tp(p), Offset::Beginning);
        }
        let lookups: HashMap<i32, u64> = st
            .poll(t0, &mut leaders.f())
            .into_iter()
            .filter_map(|a| match a {
                Action::ListOffsets { tp, version, .. } => Some((tp.partition(), version)),
                _ => None,
            })
            .collect();
        assert_eq!(lookups.len(), 3);
        let sent = |st: &mut FetchState| {
            fetch_parts(&st.poll(t0, &mut leaders.f()))
                .iter()
                .map(|(b, ps)| (*b, ps.iter().map(|p| p.tp.partition()).collect()))
                .collect::<Vec<(i32, Vec<i32>)>>()
        };
        st.on_offset(&tp(0), lookups[&0], t0, Ok(0));
        assert!(sent(&mut st).is_empty(), "partition 1 is being looked up");
        st.on_offset(&tp(2), lookups[&2], t0, Ok(0));
        assert_eq!(sent(&mut st), vec![(2, vec![2])]);
        st.on_offset(&tp(1), lookups[&1], t0, Ok(0));
        assert_eq!(sent(&mut st), vec![(1, vec![0, 1])]);
    }

    #[test]
    fn stored_uses_committed_offset_or_reset_and_preferred_replica_is_followed() {
        let t0 = Instant::now();
        let leaders = Leaders(HashMap::from([(0, 1)]));
        let mut st = FetchState::new(FetchSettings {
            reset: Reset::Earliest,
            ..FetchSettings::default()
        });
        st.assign(tp(0), Offset::Stored);
        let acts = st.poll(t0, &mut leaders.f());
        let Some(Action::Committed { version, .. }) = acts.first().cloned() else {
            panic!("{acts:?}")
        };
        st.on_committed(&tp(0), version, t0, Ok(None));
        let acts = st.poll(t0, &mut leaders.f());
        let Some(Action::ListOffsets {
            query: OffsetQuery::Time(-2),
            version: old,
            ..
        }) = acts.first().cloned()
        else {
            panic!("{acts:?}")
        };

        st.assign(tp(0), Offset::Stored);
        assert!(
            st.poll(t0, &mut leaders.f()).is_empty(),
            "waits for the lookup in flight"
        );
        st.on_offset(&tp(0), old, t0, Ok(0));
        let acts = st.poll(t0, &mut leaders.f());
        let Some(Action::Committed { version, .. }) = acts.first().cloned() else {
            panic!("{acts:?}")
        };
        st.on_committed(&tp(0), version, t0, Ok(Some((42, None))));
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!((f[0].0, f[0].1[0].offset), (1, 42));
        let mut r = data(0, 42, 0, 50);
        if let FetchResult::Data {
            preferred_replica, ..
        } = &mut r
        {
            *preferred_replica = Some(3);
        }
        st.on_fetch(vec![(f[0].1[0].clone(), r)], t0);
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(f[0].0, 3, "fetches go to the preferred read replica");
        st.on_fetch(
            vec![(
                f[0].1[0].clone(),
                FetchResult::Error(ErrorCode::OffsetOutOfRange),
            )],
            t0,
        );
        let f = fetch_parts(&st.poll(t0, &mut leaders.f()));
        assert_eq!(
            (f[0].0, f[0].1[0].offset),
            (1, 42),
            "back to the leader, same offset"
        );
    }
}
