//! Delivery reports: what the application gets back for each record.
//!
//! Owns the per-batch completion slot shared by every record of a batch, the
//! [`DeliveryFuture`] handle (batch completion + index, no channel or task per
//! record), [`RecordMetadata`], [`DeliveryError`] and [`PersistenceStatus`].
//! Deciding *when* a batch completes is the accumulator's job.

use super::message::ProducerRecord;
use crate::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Where a record ended up: the acknowledgement of a delivered record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition the record was written to.
    pub partition: i32,
    /// The record's offset in the partition; -1 with `acks=0`, where the
    /// broker sends no acknowledgement, and for an idempotent producer's
    /// retry the broker recognised as already written
    /// (`DUPLICATE_SEQUENCE_NUMBER`).
    pub offset: i64,
    /// The record's timestamp in milliseconds since the epoch: its CreateTime,
    /// or the broker's LogAppendTime when the topic uses that; -1 when the
    /// broker answered `DUPLICATE_SEQUENCE_NUMBER` (unknown).
    pub timestamp: i64,
}

/// Whether a record that failed may nevertheless be in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PersistenceStatus {
    /// The record was never sent (or the broker rejected it for certain):
    /// producing it again cannot duplicate it.
    NotPersisted,
    /// The record was sent but no answer came (for example it timed out in
    /// flight): it may be in the log; producing it again may duplicate it.
    PossiblyPersisted,
    /// The broker acknowledged the record.
    Persisted,
}

impl PersistenceStatus {
    /// The status name as librdkafka spells it.
    pub fn name(self) -> &'static str {
        match self {
            PersistenceStatus::NotPersisted => "NOT_PERSISTED",
            PersistenceStatus::PossiblyPersisted => "POSSIBLY_PERSISTED",
            PersistenceStatus::Persisted => "PERSISTED",
        }
    }
}

impl fmt::Display for PersistenceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A record that was not delivered: the record itself (so the application can
/// log or re-send it), why, and whether it may be in the log anyway.
#[derive(Debug)]
pub struct DeliveryError {
    /// The record, handed back; `None` only when it was already taken by an
    /// earlier clone of the report.
    pub record: Option<ProducerRecord>,
    /// Why delivery failed.
    pub error: Error,
    /// Whether the record may be in the log despite the failure.
    pub status: PersistenceStatus,
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delivery failed ({}): {}", self.status, self.error)
    }
}

impl std::error::Error for DeliveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// The outcome of one record's delivery.
pub type DeliveryResult = std::result::Result<RecordMetadata, DeliveryError>;

/// A delivery callback, called once per record on the producer's background
/// thread; it must not block.
pub(crate) type Callback = Box<dyn FnOnce(DeliveryResult) + Send + 'static>;

/// `log_append_time` of a delivered batch whose timestamp is unknown (an
/// idempotent retry answered `DUPLICATE_SEQUENCE_NUMBER`).
pub(crate) const UNKNOWN_TIMESTAMP: i64 = i64::MIN;

/// How a whole batch ended.
#[derive(Debug, Clone)]
pub(crate) enum BatchOutcome {
    /// Acknowledged: record `i` of the batch has offset `base_offset + i`
    /// (or -1 when `base_offset` is -1, acks=0); `log_append_time` is -1
    /// unless the topic uses LogAppendTime.
    Delivered {
        partition: i32,
        base_offset: i64,
        log_append_time: i64,
    },
    /// Failed.
    Failed {
        error: Error,
        status: PersistenceStatus,
    },
}

/// The completion slot of one batch, shared by the [`DeliveryFuture`]s of its
/// records. Records that waited for topic metadata have a slot of their own.
/// Once set, the outcome is read without locking.
pub(crate) struct Completion {
    done: OnceLock<(BatchOutcome, Instant)>,
    state: Mutex<CompletionState>,
    /// The records' topic: kept here once per batch rather than in every
    /// [`DeliveryFuture`] (an application holds one per record in flight).
    topic: Arc<str>,
}

#[derive(Default)]
struct CompletionState {
    /// Records handed back on failure, by index.
    returned: Vec<Option<ProducerRecord>>,
    wakers: Vec<Waker>,
}

impl Completion {
    pub(crate) fn new(topic: Arc<str>) -> Arc<Self> {
        Arc::new(Completion {
            done: OnceLock::new(),
            state: Mutex::new(CompletionState::default()),
            topic,
        })
    }

    fn lock(&self) -> MutexGuard<'_, CompletionState> {
        // A panic elsewhere while holding the lock leaves consistent data
        // (plain assignments), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets the outcome and wakes every waiting handle. `returned` holds the
    /// failed records by index (empty on success).
    pub(crate) fn complete(&self, outcome: BatchOutcome, returned: Vec<Option<ProducerRecord>>) {
        let wakers = {
            let mut st = self.lock();
            if self.done.get().is_some() {
                return;
            }
            // Under the lock, so a handle registering its waker either sees
            // the outcome or is in `wakers`.
            st.returned = returned;
            let _ = self.done.set((outcome, Instant::now()));
            std::mem::take(&mut st.wakers)
        };
        for w in wakers {
            w.wake();
        }
    }
}

/// Turns a batch outcome into one record's report.
pub(crate) fn record_result(
    outcome: &BatchOutcome,
    topic: &Arc<str>,
    index: u32,
    create_time: i64,
    record: impl FnOnce() -> Option<ProducerRecord>,
) -> DeliveryResult {
    match outcome {
        BatchOutcome::Delivered {
            partition,
            base_offset,
            log_append_time,
        } => Ok(RecordMetadata {
            topic: topic.clone(),
            partition: *partition,
            offset: if *base_offset < 0 {
                -1
            } else {
                base_offset.saturating_add(i64::from(index))
            },
            timestamp: if *log_append_time >= 0 {
                *log_append_time
            } else if *log_append_time == UNKNOWN_TIMESTAMP {
                -1
            } else {
                create_time
            },
        }),
        BatchOutcome::Failed { error, status } => Err(DeliveryError {
            record: record(),
            error: error.clone(),
            status: *status,
        }),
    }
}

/// The handle to one record's delivery report, returned by
/// [`Producer::send`](super::Producer::send).
///
/// Await it (or call [`wait`](DeliveryFuture::wait) from synchronous code)
/// to learn where the record was written or why it failed. Dropping it does
/// not cancel the delivery: the record is sent either way.
#[must_use = "a dropped DeliveryFuture does not cancel the send, but its report is lost"]
pub struct DeliveryFuture {
    completion: Arc<Completion>,
    timestamp: i64,
    index: u32,
}

impl fmt::Debug for DeliveryFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryFuture")
            .field("topic", &self.completion.topic)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl DeliveryFuture {
    pub(crate) fn new(completion: Arc<Completion>, index: u32, timestamp: i64) -> Self {
        DeliveryFuture {
            completion,
            timestamp,
            index,
        }
    }

    fn try_take(&self, cx: Option<&Context<'_>>) -> Option<(DeliveryResult, Instant)> {
        let c = &self.completion;
        if let Some((outcome, at)) = c.done.get() {
            let index = self.index as usize;
            let result = record_result(outcome, &c.topic, self.index, self.timestamp, || {
                c.lock().returned.get_mut(index).and_then(Option::take)
            });
            return Some((result, *at));
        }
        let cx = cx?;
        let mut st = c.lock();
        if c.done.get().is_some() {
            drop(st);
            return self.try_take(None);
        }
        if !st.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            st.wakers.push(cx.waker().clone());
        }
        None
    }

    /// Whether the report is available (awaiting will not wait).
    pub fn is_done(&self) -> bool {
        self.completion.done.get().is_some()
    }

    /// Blocks the calling thread until the report is available. Do not call
    /// this from an async task; await the future instead.
    pub fn wait(self) -> DeliveryResult {
        self.wait_with_time().0
    }

    /// Like [`wait`](Self::wait), also returning when the producer completed
    /// the record (not when this call noticed it): for latency measurements.
    pub fn wait_with_time(self) -> (DeliveryResult, Instant) {
        if let Some(r) = self.try_take(None) {
            return r;
        }
        block_on(self.timed())
    }

    /// A future of the report and the instant the producer completed it.
    pub fn timed(self) -> impl Future<Output = (DeliveryResult, Instant)> {
        std::future::poll_fn(move |cx| match self.try_take(Some(cx)) {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        })
    }

    /// Waits at most `timeout` for the report; `None` when it is not there yet
    /// (the handle is then consumed, but the record is still being delivered).
    pub fn wait_timeout(self, timeout: Duration) -> Option<DeliveryResult> {
        let deadline = Instant::now() + timeout;
        let thread = Arc::new(ThreadWaker(std::thread::current()));
        let waker = Waker::from(thread);
        let cx = Context::from_waker(&waker);
        loop {
            if let Some((r, _)) = self.try_take(Some(&cx)) {
                return Some(r);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            std::thread::park_timeout(deadline - now);
        }
    }
}

impl Future for DeliveryFuture {
    type Output = DeliveryResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<DeliveryResult> {
        match self.try_take(Some(cx)) {
            Some((r, _)) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

struct ThreadWaker(std::thread::Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor for waiting on a future from synchronous code.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn delivered_offsets_follow_index() {
        let c = Completion::new(Arc::from("t"));
        let f0 = DeliveryFuture::new(c.clone(), 0, 10);
        let f2 = DeliveryFuture::new(c.clone(), 2, 12);
        assert!(!f0.is_done());
        c.complete(
            BatchOutcome::Delivered {
                partition: 3,
                base_offset: 100,
                log_append_time: -1,
            },
            Vec::new(),
        );
        let m0 = f0.wait().unwrap();
        let m2 = f2.wait().unwrap();
        assert_eq!((m0.partition, m0.offset, m0.timestamp), (3, 100, 10));
        assert_eq!((m2.partition, m2.offset, m2.timestamp), (3, 102, 12));
    }

    #[test]
    fn acks0_offset_is_minus_one() {
        let c = Completion::new(Arc::from("t"));
        let f = DeliveryFuture::new(c.clone(), 5, 1);
        c.complete(
            BatchOutcome::Delivered {
                partition: 0,
                base_offset: -1,
                log_append_time: -1,
            },
            Vec::new(),
        );
        assert_eq!(f.wait().unwrap().offset, -1);
    }

    #[test]
    fn failure_hands_back_the_record_and_wakes_a_waiting_thread() {
        let c = Completion::new(Arc::from("t"));
        let f = DeliveryFuture::new(c.clone(), 1, 0);
        let c2 = c.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            c2.complete(
                BatchOutcome::Failed {
                    error: Error::new(ErrorCode::MsgTimedOut, "x"),
                    status: PersistenceStatus::PossiblyPersisted,
                },
                vec![None, Some(ProducerRecord::new("t").value("v1"))],
            );
        });
        let e = f.wait().unwrap_err();
        t.join().unwrap();
        assert_eq!(e.error.code(), ErrorCode::MsgTimedOut);
        assert_eq!(e.status, PersistenceStatus::PossiblyPersisted);
        assert_eq!(e.record.unwrap().value_bytes().unwrap().as_ref(), b"v1");
    }

    #[test]
    fn wait_timeout_returns_none_when_pending() {
        let c = Completion::new(Arc::from("t"));
        let f = DeliveryFuture::new(c, 0, 0);
        assert!(f.wait_timeout(Duration::from_millis(10)).is_none());
    }
}
