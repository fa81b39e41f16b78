//! Fetch sessions (KIP-227): per broker, a bounded cache of the sessions
//! clients opened, each holding the partitions the client fetches with
//! their fetch positions and what its last response said about them.
//!
//! It decides how a Fetch relates to the cache (sessionless, a new session
//! answered in full, an incremental fetch, or a session error), hands the
//! fetch handler the list of partitions to read, and afterwards picks which
//! partitions an incremental response carries. Reading the logs is
//! `fetch.rs`'s. The cache holds at most `slots` sessions per broker and
//! evicts the least recently used; sessions of closed connections are not
//! tracked and simply age out.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use indexmap::IndexMap;
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::FetchRequest;
use uuid::Uuid;

/// The session id of the request is not in the broker's cache.
pub(crate) const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
/// The session epoch of the request is not the one the broker expects.
pub(crate) const INVALID_FETCH_SESSION_EPOCH: i16 = 71;
/// A session created with topic names was continued with topic ids or the
/// other way round.
pub(crate) const FETCH_SESSION_TOPIC_ID_ERROR: i16 = 106;

/// Epoch of a request that creates a session.
const INITIAL_EPOCH: i32 = 0;
/// Epoch of a sessionless request (and of one that closes a session).
const FINAL_EPOCH: i32 = -1;

/// A topic as a request names it: by name before Fetch v13, by id after.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TopicRef {
    Name(String),
    Id(Uuid),
}

/// One partition a fetch reads, from the request or from a session.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub(crate) topic: TopicRef,
    pub(crate) partition: i32,
    pub(crate) fetch_offset: i64,
    pub(crate) max_bytes: i32,
    pub(crate) current_leader_epoch: i32,
}

/// The partitions `req` lists, in request order.
pub(crate) fn requested(req: &FetchRequest, version: i16) -> Vec<Wanted> {
    let mut out = Vec::new();
    for t in &req.topics {
        let topic = topic_ref(version, &t.topic.0, t.topic_id);
        for p in &t.partitions {
            out.push(Wanted {
                topic: topic.clone(),
                partition: p.partition,
                fetch_offset: p.fetch_offset,
                max_bytes: p.partition_max_bytes,
                current_leader_epoch: p.current_leader_epoch,
            });
        }
    }
    out
}

fn topic_ref(version: i16, name: &str, id: Uuid) -> TopicRef {
    if version >= 13 {
        TopicRef::Id(id)
    } else {
        TopicRef::Name(name.to_string())
    }
}

/// What the last response of a session told the client about a partition;
/// `-1` everywhere for a partition not answered yet or last answered with
/// an error, so that it is answered next time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Told {
    high: i64,
    lso: i64,
    low: i64,
}

const UNTOLD: Told = Told {
    high: -1,
    lso: -1,
    low: -1,
};

#[derive(Debug)]
struct Cached {
    wanted: Wanted,
    told: Told,
}

#[derive(Debug)]
struct Session {
    /// Created by a request naming topics by id (v13+).
    by_ids: bool,
    /// The epoch the next incremental request must carry.
    next_epoch: i32,
    /// In the order responses read them; answered partitions move to the
    /// back so that a full response does not always favour the same ones.
    parts: IndexMap<(TopicRef, i32), Cached>,
    last_used: u64,
}

/// How a Fetch relates to the session cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// No session: a full response with session id 0.
    Sessionless,
    /// A full response for session `id` (just created).
    Full { id: i32 },
    /// An incremental fetch in session `id`: the response carries only the
    /// partitions with something new.
    Incremental { id: i32 },
    /// Refused with this top-level error and no partitions.
    Refused(i16),
}

impl Context {
    /// The session id the response carries.
    pub(crate) fn session_id(self) -> i32 {
        match self {
            Context::Full { id } | Context::Incremental { id } => id,
            Context::Sessionless | Context::Refused(_) => 0,
        }
    }
}

/// Counters of the fetch-session caches of every broker of a cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchSessionStats {
    /// Sessions created (requests with epoch 0 that got a session).
    pub created: u64,
    /// Incremental fetches served (epoch > 0, accepted).
    pub incremental: u64,
    /// Full fetches served without a session (epoch -1, Fetch v4-v6, or no
    /// room in the cache).
    pub sessionless: u64,
    /// Sessions closed by their client (epoch -1 or 0 with their id).
    pub closed: u64,
    /// Sessions evicted to make room, or dropped by
    /// `MockCluster::evict_fetch_sessions`.
    pub evicted: u64,
    /// Requests answered FETCH_SESSION_ID_NOT_FOUND (70).
    pub id_not_found: u64,
    /// Requests answered INVALID_FETCH_SESSION_EPOCH (71).
    pub invalid_epoch: u64,
    /// Sessions in the caches now.
    pub open: u64,
}

#[derive(Debug, Default)]
struct Inner {
    brokers: HashMap<i32, HashMap<i32, Session>>,
    last_id: i32,
    clock: u64,
    stats: FetchSessionStats,
}

impl Inner {
    /// A fresh session id: positive and not in use on any broker. Of
    /// `in_use + 1` consecutive candidates one is free, so the search ends.
    fn new_id(&mut self) -> i32 {
        let in_use: usize = self.brokers.values().map(HashMap::len).sum();
        for _ in 0..=in_use {
            self.last_id = next_epoch(self.last_id.max(0));
            let id = self.last_id;
            if !self.brokers.values().any(|b| b.contains_key(&id)) {
                return id;
            }
        }
        self.last_id
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// The fetch-session caches of every broker of one cluster.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    inner: Mutex<Inner>,
}

/// The number after `e`, wrapping from `i32::MAX` to 1 (for session
/// epochs and ids, where 0 and -1 mean something else).
fn next_epoch(e: i32) -> i32 {
    e.checked_add(1).unwrap_or(1)
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Places `req` (at `version`) in broker `broker`'s cache of at most
    /// `slots` sessions: the context of its response and the partitions to
    /// read, in order.
    pub(crate) fn open(
        &self,
        broker: i32,
        slots: usize,
        version: i16,
        req: &FetchRequest,
    ) -> (Context, Vec<Wanted>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let now = inner.tick();
        if version < 7 {
            inner.stats.sessionless += 1;
            return (Context::Sessionless, requested(req, version));
        }
        let (id, epoch) = (req.session_id, req.session_epoch);
        if epoch == FINAL_EPOCH || epoch == INITIAL_EPOCH {
            let cache = inner.brokers.entry(broker).or_default();
            if id != 0 && cache.remove(&id).is_some() {
                inner.stats.closed += 1;
            }
            let wanted = requested(req, version);
            if epoch == FINAL_EPOCH || slots == 0 {
                inner.stats.sessionless += 1;
                return (Context::Sessionless, wanted);
            }
            let new_id = inner.new_id();
            let cache = inner.brokers.entry(broker).or_default();
            while cache.len() >= slots {
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, s)| s.last_used)
                    .map(|(id, _)| *id);
                match oldest {
                    Some(old) => {
                        cache.remove(&old);
                        inner.stats.evicted += 1;
                    }
                    None => break,
                }
            }
            let mut parts = IndexMap::with_capacity(wanted.len());
            for w in &wanted {
                parts.insert(
                    (w.topic.clone(), w.partition),
                    Cached {
                        wanted: w.clone(),
                        told: UNTOLD,
                    },
                );
            }
            cache.insert(
                new_id,
                Session {
                    by_ids: version >= 13,
                    next_epoch: 1,
                    parts,
                    last_used: now,
                },
            );
            inner.stats.created += 1;
            return (Context::Full { id: new_id }, wanted);
        }
        let cache = inner.brokers.entry(broker).or_default();
        let Some(session) = cache.get_mut(&id) else {
            inner.stats.id_not_found += 1;
            return (Context::Refused(FETCH_SESSION_ID_NOT_FOUND), Vec::new());
        };
        if epoch != session.next_epoch {
            inner.stats.invalid_epoch += 1;
            return (Context::Refused(INVALID_FETCH_SESSION_EPOCH), Vec::new());
        }
        if session.by_ids != (version >= 13) {
            return (Context::Refused(FETCH_SESSION_TOPIC_ID_ERROR), Vec::new());
        }
        session.next_epoch = next_epoch(epoch);
        session.last_used = now;
        for w in requested(req, version) {
            match session.parts.get_mut(&(w.topic.clone(), w.partition)) {
                Some(c) => c.wanted = w,
                None => {
                    session.parts.insert(
                        (w.topic.clone(), w.partition),
                        Cached {
                            wanted: w,
                            told: UNTOLD,
                        },
                    );
                }
            }
        }
        for f in &req.forgotten_topics_data {
            let topic = topic_ref(version, &f.topic.0, f.topic_id);
            for p in &f.partitions {
                session.parts.shift_remove(&(topic.clone(), *p));
            }
        }
        inner.stats.incremental += 1;
        let wanted = session.parts.values().map(|c| c.wanted.clone()).collect();
        (Context::Incremental { id }, wanted)
    }

    /// Records what the response of session `ctx` tells about each of its
    /// partitions and returns, per partition of `answers`, whether the
    /// response carries it: all of them for a full response; for an
    /// incremental one those with records, an error, or a changed high
    /// watermark, last stable offset or log start offset.
    pub(crate) fn answered(
        &self,
        broker: i32,
        ctx: Context,
        answers: &[(Wanted, &PartitionData)],
    ) -> Vec<bool> {
        let incremental = matches!(ctx, Context::Incremental { .. });
        let mut inner = self.lock();
        let session = match ctx {
            Context::Full { id } | Context::Incremental { id } => {
                inner.brokers.get_mut(&broker).and_then(|c| c.get_mut(&id))
            }
            Context::Sessionless | Context::Refused(_) => None,
        };
        let Some(session) = session else {
            // No session (or it was evicted while the fetch was parked):
            // the response stays as built.
            return vec![true; answers.len()];
        };
        let mut keep = Vec::with_capacity(answers.len());
        let mut moved = Vec::new();
        for (w, pd) in answers {
            let key = (w.topic.clone(), w.partition);
            let Some(c) = session.parts.get_mut(&key) else {
                keep.push(true);
                continue;
            };
            let now = if pd.error_code != 0 {
                UNTOLD
            } else {
                Told {
                    high: pd.high_watermark,
                    lso: pd.last_stable_offset,
                    low: pd.log_start_offset,
                }
            };
            let has_records = pd.records.as_ref().is_some_and(|r| !r.is_empty());
            let respond = !incremental || has_records || pd.error_code != 0 || now != c.told;
            c.told = now;
            keep.push(respond);
            if incremental && respond {
                moved.push(key);
            }
        }
        for key in moved {
            if let Some(c) = session.parts.shift_remove(&key) {
                session.parts.insert(key, c);
            }
        }
        keep
    }

    /// Drops every session of `broker` (as a broker restart would); the
    /// number dropped.
    pub(crate) fn evict_all(&self, broker: i32) -> usize {
        let mut inner = self.lock();
        let n = inner.brokers.get_mut(&broker).map_or(0, |c| {
            let n = c.len();
            c.clear();
            n
        });
        inner.stats.evicted += n as u64;
        n
    }

    /// The counters, with `open` counted now.
    pub(crate) fn stats(&self) -> FetchSessionStats {
        let inner = self.lock();
        let mut s = inner.stats;
        s.open = inner.brokers.values().map(|c| c.len() as u64).sum();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::StrBytes;

    fn req(id: i32, epoch: i32, parts: &[(i32, i64)], forget: &[i32]) -> FetchRequest {
        let mut r = FetchRequest::default();
        r.session_id = id;
        r.session_epoch = epoch;
        if !parts.is_empty() {
            let mut t = FetchTopic::default();
            t.topic = TopicName(StrBytes::from_static_str("t"));
            for (p, o) in parts {
                let mut fp = FetchPartition::default();
                fp.partition = *p;
                fp.fetch_offset = *o;
                fp.partition_max_bytes = 1000;
                t.partitions.push(fp);
            }
            r.topics.push(t);
        }
        if !forget.is_empty() {
            let mut f = ForgottenTopic::default();
            f.topic = TopicName(StrBytes::from_static_str("t"));
            f.partitions = forget.to_vec();
            r.forgotten_topics_data.push(f);
        }
        r
    }

    fn data(high: i64, records: bool) -> PartitionData {
        let mut pd = PartitionData::default();
        pd.high_watermark = high;
        pd.last_stable_offset = high;
        pd.log_start_offset = 0;
        pd.records = Some(if records {
            Bytes::from_static(b"x")
        } else {
            Bytes::new()
        });
        pd
    }

    fn offsets(w: &[Wanted]) -> Vec<(i32, i64)> {
        w.iter().map(|w| (w.partition, w.fetch_offset)).collect()
    }

    #[test]
    fn create_then_incremental_applies_changes_and_forgets() {
        let s = Sessions::default();
        let (ctx, w) = s.open(1, 10, 12, &req(0, 0, &[(0, 0), (1, 0), (2, 0)], &[]));
        let Context::Full { id } = ctx else {
            panic!("expected a new session, got {ctx:?}")
        };
        assert_ne!(id, 0);
        assert_eq!(offsets(&w), vec![(0, 0), (1, 0), (2, 0)]);
        let pds = [data(5, true), data(0, false), data(0, false)];
        let answers: Vec<_> = w.iter().cloned().zip(pds.iter()).collect();
        assert_eq!(s.answered(1, ctx, &answers), vec![true; 3]);

        let (ctx, w) = s.open(1, 10, 12, &req(id, 1, &[(0, 5)], &[2]));
        assert_eq!(ctx, Context::Incremental { id });
        assert_eq!(offsets(&w), vec![(0, 5), (1, 0)]);
        // Nothing new on 0, partition 1's high watermark moved.
        let pds = [data(5, false), data(3, false)];
        let answers: Vec<_> = w.iter().cloned().zip(pds.iter()).collect();
        assert_eq!(s.answered(1, ctx, &answers), vec![false, true]);
        // Partition 1 answered: it now reads last.
        let (_, w) = s.open(1, 10, 12, &req(id, 2, &[], &[]));
        assert_eq!(offsets(&w), vec![(0, 5), (1, 0)]);
        let st = s.stats();
        assert_eq!((st.created, st.incremental, st.open), (1, 2, 1));
    }

    #[test]
    fn errors_always_answered_and_again_once_cleared() {
        let s = Sessions::default();
        let (ctx, w) = s.open(1, 10, 12, &req(0, 0, &[(0, 0)], &[]));
        let id = ctx.session_id();
        let ok = data(0, false);
        s.answered(1, ctx, &[(w[0].clone(), &ok)]);
        let mut bad = data(-1, false);
        bad.error_code = 6;
        let (ctx, w) = s.open(1, 10, 12, &req(id, 1, &[], &[]));
        assert_eq!(s.answered(1, ctx, &[(w[0].clone(), &bad)]), vec![true]);
        let (ctx, w) = s.open(1, 10, 12, &req(id, 2, &[], &[]));
        assert_eq!(s.answered(1, ctx, &[(w[0].clone(), &ok)]), vec![true]);
        let (ctx, w) = s.open(1, 10, 12, &req(id, 3, &[], &[]));
        assert_eq!(s.answered(1, ctx, &[(w[0].clone(), &ok)]), vec![false]);
    }

    #[test]
    fn unknown_id_and_wrong_epoch_are_refused() {
        let s = Sessions::default();
        let (ctx, _) = s.open(1, 10, 12, &req(0, 0, &[(0, 0)], &[]));
        let id = ctx.session_id();
        assert_eq!(
            s.open(1, 10, 12, &req(id + 1, 1, &[], &[])).0,
            Context::Refused(FETCH_SESSION_ID_NOT_FOUND)
        );
        // Sessions are per broker.
        assert_eq!(
            s.open(2, 10, 12, &req(id, 1, &[], &[])).0,
            Context::Refused(FETCH_SESSION_ID_NOT_FOUND)
        );
        assert_eq!(
            s.open(1, 10, 12, &req(id, 2, &[], &[])).0,
            Context::Refused(INVALID_FETCH_SESSION_EPOCH)
        );
        // The refused request changed nothing: epoch 1 is still expected.
        assert_eq!(
            s.open(1, 10, 12, &req(id, 1, &[], &[])).0,
            Context::Incremental { id }
        );
        // Topic ids in a session created with names.
        assert_eq!(
            s.open(1, 10, 13, &req(id, 2, &[], &[])).0,
            Context::Refused(FETCH_SESSION_TOPIC_ID_ERROR)
        );
        let st = s.stats();
        assert_eq!((st.id_not_found, st.invalid_epoch), (2, 1));
    }

    #[test]
    fn close_sessionless_and_old_versions() {
        let s = Sessions::default();
        let (ctx, _) = s.open(1, 10, 12, &req(0, 0, &[(0, 0)], &[]));
        let id = ctx.session_id();
        let (ctx, w) = s.open(1, 10, 12, &req(id, -1, &[(0, 3)], &[]));
        assert_eq!(ctx, Context::Sessionless);
        assert_eq!(offsets(&w), vec![(0, 3)]);
        assert_eq!(s.stats().open, 0);
        assert_eq!(
            s.open(1, 10, 12, &req(id, 1, &[], &[])).0,
            Context::Refused(FETCH_SESSION_ID_NOT_FOUND)
        );
        // Before v7 there are no session fields.
        assert_eq!(
            s.open(1, 10, 6, &req(0, 0, &[(0, 0)], &[])).0,
            Context::Sessionless
        );
        // Epoch 0 with an id closes that session and opens another.
        let (ctx, _) = s.open(1, 10, 12, &req(0, 0, &[(0, 0)], &[]));
        let (ctx2, _) = s.open(1, 10, 12, &req(ctx.session_id(), 0, &[(0, 0)], &[]));
        assert_ne!(ctx2.session_id(), ctx.session_id());
        assert_eq!(s.stats().open, 1);
        // No slots: no sessions.
        assert_eq!(
            s.open(3, 0, 12, &req(0, 0, &[(0, 0)], &[])).0,
            Context::Sessionless
        );
    }

    #[test]
    fn cache_is_bounded_and_evicts_the_least_recently_used() {
        let s = Sessions::default();
        let a = s.open(1, 2, 12, &req(0, 0, &[(0, 0)], &[])).0.session_id();
        let b = s.open(1, 2, 12, &req(0, 0, &[(0, 0)], &[])).0.session_id();
        // `a` used after `b`: `b` is the one to go.
        assert_eq!(
            s.open(1, 2, 12, &req(a, 1, &[], &[])).0,
            Context::Incremental { id: a }
        );
        let c = s.open(1, 2, 12, &req(0, 0, &[(0, 0)], &[])).0.session_id();
        assert_eq!(
            s.open(1, 2, 12, &req(b, 1, &[], &[])).0,
            Context::Refused(FETCH_SESSION_ID_NOT_FOUND)
        );
        assert_eq!(
            s.open(1, 2, 12, &req(a, 2, &[], &[])).0,
            Context::Incremental { id: a }
        );
        assert_eq!(
            s.open(1, 2, 12, &req(c, 1, &[], &[])).0,
            Context::Incremental { id: c }
        );
        let st = s.stats();
        assert_eq!((st.open, st.evicted), (2, 1));
        assert_eq!(s.evict_all(1), 2);
        assert_eq!(s.stats().open, 0);
    }

    #[test]
    fn epoch_wraps_to_one() {
        assert_eq!(next_epoch(1), 2);
        assert_eq!(next_epoch(i32::MAX), 1);
    }
}
