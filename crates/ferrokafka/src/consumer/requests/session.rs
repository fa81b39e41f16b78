//! One broker's fetch session (KIP-227) as plain state without I/O: the
//! session id and the epoch of the next request, the partitions the broker
//! holds for us with the fetch positions it last heard, and the watermarks
//! it last answered. It decides what each Fetch carries (everything, or
//! only the partitions whose position or size changed plus the ones to
//! forget) and learns from each answer; sending is `requests::fetch`'s.
//!
//! After any failure the next request is full: epoch 0 with the old id
//! (the broker drops that session and opens another), or with id 0 when
//! the broker no longer knows the id. A broker that answers a full fetch
//! with session id 0 keeps no session for us (its cache is full or it has
//! none); the next request asks again, as KIP-227 leaves room for.

use super::super::fetch::FetchPart;
use crate::protocol::ApiVersionTable;
use crate::TopicPartition;
use std::collections::HashMap;
use std::sync::Arc;

/// Fetch v7 introduced sessions.
pub(crate) const MIN_VERSION: i16 = 7;
/// FETCH_SESSION_ID_NOT_FOUND: the broker evicted or never had the session.
pub(crate) const ID_NOT_FOUND: i16 = 70;
/// INVALID_FETCH_SESSION_EPOCH: a request was lost or reordered.
pub(crate) const INVALID_EPOCH: i16 = 71;

/// Epoch of a request that (re)creates a session.
const INITIAL_EPOCH: i32 = 0;
/// Epoch of a request outside any session.
const SESSIONLESS_EPOCH: i32 = -1;

/// What the broker's session holds for one partition: the request fields
/// that, when they change, must be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    offset: i64,
    max_bytes: i32,
    epoch: Option<i32>,
    last_epoch: Option<i32>,
}

impl Sent {
    fn of(p: &FetchPart) -> Self {
        Self {
            offset: p.offset,
            max_bytes: p.max_bytes,
            epoch: p.epoch,
            last_epoch: p.last_epoch,
        }
    }
}

/// Watermarks last answered for a partition, given again for a partition
/// an incremental response leaves out (it had nothing new).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marks {
    pub high: i64,
    pub lso: i64,
    pub low: i64,
}

/// A request's session fields and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub session_id: i32,
    pub epoch: i32,
    /// Indices into the parts given to [`FetchSession::plan`] that go on
    /// the wire.
    pub send: Vec<usize>,
    /// Partitions the broker's session should drop.
    pub forgotten: Vec<TopicPartition>,
    /// Whether the response may leave out partitions with nothing new.
    pub incremental: bool,
    /// The session's partitions once this request is answered.
    next: HashMap<TopicPartition, Sent>,
}

/// The fetch session with one broker.
#[derive(Debug, Default)]
pub(crate) struct FetchSession {
    /// 0: none.
    id: i32,
    /// Epoch of the next request: 0 creates a session (closing `id` if it
    /// is not 0), above 0 continues session `id`.
    epoch: i32,
    parts: HashMap<TopicPartition, Sent>,
    marks: HashMap<TopicPartition, Marks>,
    /// The versions negotiated on the socket of the last request: every
    /// new socket negotiates its own table, so another one means the
    /// connection was lost in between (held, so its address is not reused).
    socket: Option<Arc<ApiVersionTable>>,
}

impl FetchSession {
    /// Restarts the session if `socket` (the versions negotiated on the
    /// connection the next request goes on) is not the one of the last
    /// request: the connection was lost, and with it perhaps the broker.
    pub(crate) fn on_socket(&mut self, socket: &Arc<ApiVersionTable>) {
        let same = self.socket.as_ref().is_some_and(|s| Arc::ptr_eq(s, socket));
        if !same {
            if self.socket.is_some() {
                self.restart();
            }
            self.socket = Some(socket.clone());
        }
    }

    /// The next request is full and opens a new session, closing the
    /// current one on the broker: after a failed request, a lost
    /// connection, or a wrong epoch.
    pub(crate) fn restart(&mut self) {
        self.epoch = INITIAL_EPOCH;
        self.parts.clear();
        self.marks.clear();
    }

    /// The broker does not know our session: the next request is full and
    /// opens a new one.
    fn forget(&mut self) {
        self.restart();
        self.id = 0;
    }

    /// The session id (0 without a session).
    #[cfg(test)]
    pub(crate) fn id(&self) -> i32 {
        self.id
    }

    /// What the next request to this broker carries, at Fetch `version`,
    /// for the partitions it should fetch now.
    pub(crate) fn plan(&self, parts: &[FetchPart], version: i16) -> Plan {
        let next: HashMap<TopicPartition, Sent> =
            parts.iter().map(|p| (p.tp.clone(), Sent::of(p))).collect();
        let full = |session_id, epoch, next| Plan {
            session_id,
            epoch,
            send: (0..parts.len()).collect(),
            forgotten: Vec::new(),
            incremental: false,
            next,
        };
        if version < MIN_VERSION {
            return full(0, SESSIONLESS_EPOCH, next);
        }
        if self.id == 0 || self.epoch == INITIAL_EPOCH {
            return full(self.id, INITIAL_EPOCH, next);
        }
        let send = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| self.parts.get(&p.tp) != Some(&Sent::of(p)))
            .map(|(i, _)| i)
            .collect();
        let mut forgotten: Vec<TopicPartition> = self
            .parts
            .keys()
            .filter(|tp| !next.contains_key(*tp))
            .cloned()
            .collect();
        forgotten.sort();
        Plan {
            session_id: self.id,
            epoch: self.epoch,
            send,
            forgotten,
            incremental: true,
            next,
        }
    }

    /// Learns from the answer to `plan`: the response's session id and
    /// top-level error code. Returns `false` when the session broke: the
    /// answer carries no partitions to use and the next request is full.
    /// Another top-level error means the request was not applied: its
    /// partitions' answers are used, and the next request is full.
    pub(crate) fn answered(&mut self, plan: Plan, session_id: i32, error: i16) -> bool {
        match error {
            0 => {}
            ID_NOT_FOUND => {
                self.forget();
                return false;
            }
            INVALID_EPOCH => {
                self.restart();
                return false;
            }
            _ => {
                self.restart();
                return true;
            }
        }
        if plan.epoch == SESSIONLESS_EPOCH {
            return true;
        }
        if !plan.incremental {
            // Created (or, with id 0, declined: ask again next time).
            self.id = session_id;
            self.epoch = if session_id == 0 { INITIAL_EPOCH } else { 1 };
            self.parts = if session_id == 0 {
                HashMap::new()
            } else {
                plan.next
            };
            self.marks.clear();
            return true;
        }
        if session_id != self.id {
            self.forget();
            return false;
        }
        self.epoch = next_epoch(self.epoch);
        self.parts = plan.next;
        let keep = &self.parts;
        self.marks.retain(|tp, _| keep.contains_key(tp));
        true
    }

    /// Records the watermarks a response gave for `tp`.
    pub(crate) fn mark(&mut self, tp: &TopicPartition, marks: Marks) {
        if self.parts.contains_key(tp) {
            self.marks.insert(tp.clone(), marks);
        }
    }

    /// The last watermarks of `tp`, for a partition left out of an
    /// incremental response.
    pub(crate) fn marks(&self, tp: &TopicPartition) -> Option<Marks> {
        self.marks.get(tp).copied()
    }
}

/// Epochs run 1..=i32::MAX and wrap to 1 (0 creates, -1 is sessionless).
fn next_epoch(e: i32) -> i32 {
    if !(1..i32::MAX).contains(&e) {
        1
    } else {
        e + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn part(p: i32, offset: i64) -> FetchPart {
        FetchPart {
            broker: 1,
            tp: TopicPartition::new("t", p),
            version: 0,
            offset,
            epoch: None,
            last_epoch: None,
            max_bytes: 1024,
            budget: 1,
        }
    }

    fn fields(p: &Plan) -> (i32, i32, bool) {
        (p.session_id, p.epoch, p.incremental)
    }

    #[test]
    fn first_request_creates_then_incremental_requests_carry_changes() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0), part(1, 0)];
        let plan = s.plan(&parts, 12);
        assert_eq!(fields(&plan), (0, 0, false));
        assert_eq!(plan.send, vec![0, 1]);
        assert!(s.answered(plan, 42, 0));
        assert_eq!(s.id(), 42);

        // Partition 0 advanced, partition 1 did not.
        let parts = vec![part(0, 5), part(1, 0)];
        let plan = s.plan(&parts, 12);
        assert_eq!(fields(&plan), (42, 1, true));
        assert_eq!(plan.send, vec![0]);
        assert!(plan.forgotten.is_empty());
        assert!(s.answered(plan, 42, 0));

        // A larger fetch size is a change too.
        let mut bigger = part(1, 0);
        bigger.max_bytes = 2048;
        let plan = s.plan(&[part(0, 5), bigger], 12);
        assert_eq!((plan.epoch, plan.send.clone()), (2, vec![1]));
    }

    #[test]
    fn removed_partitions_are_forgotten_and_sent_again_when_back() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0), part(1, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 7, 0);
        let plan = s.plan(&[part(0, 0)], 12);
        assert!(plan.send.is_empty());
        assert_eq!(plan.forgotten, vec![TopicPartition::new("t", 1)]);
        assert!(s.answered(plan, 7, 0));
        let plan = s.plan(&parts, 12);
        assert_eq!((plan.epoch, plan.send.clone()), (2, vec![1]));
        assert!(plan.forgotten.is_empty());
    }

    #[test]
    fn session_errors_restart_with_a_full_fetch() {
        // Not found: the id is gone, a new session is asked for with id 0.
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 7, 0);
        let plan = s.plan(&parts, 12);
        assert!(plan.incremental);
        assert!(!s.answered(plan, 0, ID_NOT_FOUND));
        assert_eq!(fields(&s.plan(&parts, 12)), (0, 0, false));

        // Wrong epoch: the broker still has the id; epoch 0 with it closes
        // that session and opens another.
        let plan = s.plan(&parts, 12);
        s.answered(plan, 8, 0);
        let plan = s.plan(&parts, 12);
        assert!(!s.answered(plan, 0, INVALID_EPOCH));
        let plan = s.plan(&parts, 12);
        assert_eq!(fields(&plan), (8, 0, false));
        assert_eq!(plan.send, vec![0]);
        assert!(s.answered(plan, 9, 0));
        assert_eq!(fields(&s.plan(&parts, 12)), (9, 1, true));
    }

    #[test]
    fn another_top_level_error_keeps_the_answer_and_restarts() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 4, 0);
        let plan = s.plan(&parts, 12);
        assert!(s.answered(plan, 0, 6));
        assert_eq!(fields(&s.plan(&parts, 12)), (4, 0, false));
    }

    #[test]
    fn a_failed_request_or_lost_connection_restarts() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0), part(1, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 5, 0);
        // The driver calls `restart` when a request fails or the socket
        // changed under the session.
        s.restart();
        let plan = s.plan(&parts, 12);
        assert_eq!(fields(&plan), (5, 0, false));
        assert_eq!(plan.send, vec![0, 1]);
    }

    #[test]
    fn a_new_socket_restarts() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        let first = Arc::new(ApiVersionTable::negotiate([(1, 4, 12)]));
        s.on_socket(&first);
        let plan = s.plan(&parts, 12);
        s.answered(plan, 5, 0);
        s.on_socket(&first);
        assert_eq!(fields(&s.plan(&parts, 12)), (5, 1, true));
        // Same versions, another socket.
        let second = Arc::new(ApiVersionTable::negotiate([(1, 4, 12)]));
        s.on_socket(&second);
        assert_eq!(fields(&s.plan(&parts, 12)), (5, 0, false));
    }

    #[test]
    fn broker_without_room_is_asked_again() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        for _ in 0..3 {
            let plan = s.plan(&parts, 12);
            assert_eq!(fields(&plan), (0, 0, false));
            assert!(s.answered(plan, 0, 0));
        }
    }

    #[test]
    fn versions_before_7_are_sessionless() {
        let mut s = FetchSession::default();
        let plan = s.plan(&[part(0, 0)], 6);
        assert_eq!(fields(&plan), (0, -1, false));
        assert!(s.answered(plan, 0, 0));
        assert_eq!(s.id(), 0);
    }

    #[test]
    fn epoch_wraps_to_one() {
        assert_eq!(next_epoch(1), 2);
        assert_eq!(next_epoch(i32::MAX), 1);
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 9, 0);
        s.epoch = i32::MAX;
        let plan = s.plan(&parts, 12);
        assert_eq!(plan.epoch, i32::MAX);
        assert!(s.answered(plan, 9, 0));
        assert_eq!(s.plan(&parts, 12).epoch, 1);
    }

    #[test]
    fn an_incremental_answer_from_another_session_starts_over() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 9, 0);
        let plan = s.plan(&parts, 12);
        assert!(!s.answered(plan, 10, 0));
        assert_eq!(fields(&s.plan(&parts, 12)), (0, 0, false));
    }

    #[test]
    fn watermarks_kept_for_session_partitions_only() {
        let mut s = FetchSession::default();
        let parts = vec![part(0, 0)];
        let plan = s.plan(&parts, 12);
        s.answered(plan, 3, 0);
        let m = Marks {
            high: 10,
            lso: 10,
            low: 0,
        };
        s.mark(&TopicPartition::new("t", 0), m);
        s.mark(&TopicPartition::new("t", 1), m);
        assert_eq!(s.marks(&TopicPartition::new("t", 0)), Some(m));
        assert_eq!(s.marks(&TopicPartition::new("t", 1)), None);
        // Forgotten: its marks go with it.
        let plan = s.plan(&[], 12);
        s.answered(plan, 3, 0);
        assert_eq!(s.marks(&TopicPartition::new("t", 0)), None);
    }
}
