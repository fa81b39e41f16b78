//! The producer: `send` -> partitioner -> per-partition accumulator -> one
//! ProduceRequest per broker -> delivery reports.
//!
//! Owns the public producer API ([`Producer`], [`ProducerRecord`],
//! [`DeliveryFuture`], [`RecordMetadata`], [`DeliveryError`]). The I/O-free
//! core (queues, batching, retries, timeouts, backpressure) is the
//! `accumulator`; the tokio task that encodes and sends batches is the
//! `sender`; broker connections and metadata belong to `net`/`cluster`.
//! With `enable.idempotence=true` the I/O-free `idempotence` manager owns
//! the producer id/epoch, epoch bumps and the fatal error
//! ([`Producer::fatal_error`], [`Producer::set_error_callback`],
//! [`Producer::next_error`], [`FlushError::Fatal`]); every
//! failed delivery report carries a [`PersistenceStatus`].
//!
//! ```no_run
//! use ferrokafka::{ClientConfig, producer::{Producer, ProducerRecord}};
//! use std::time::Duration;
//!
//! let producer = Producer::new(
//!     &ClientConfig::new()
//!         .set("bootstrap.servers", "127.0.0.1:9092")
//!         .set("linger.ms", "5"),
//! )?;
//! let report = producer
//!     .send(ProducerRecord::new("events").key("k").value("hello"))
//!     .map_err(|e| e.error)?;
//! producer.flush(Duration::from_secs(10)).ok();
//! let meta = report.wait()?;
//! println!("written to {} [{}] at offset {}", meta.topic, meta.partition, meta.offset);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Transactions
//!
//! With `transactional.id` the producer is transactional (KIP-98): records
//! are sent only between [`Producer::begin_transaction`] and
//! [`Producer::commit_transaction`] / [`Producer::abort_transaction`], and
//! a read_committed consumer sees a transaction's records (and the input
//! offsets given to [`Producer::send_offsets_to_transaction`]) all or none.
//! Every transaction call returns an [`Error`] that says what to do next,
//! as librdkafka's do: [`Error::is_retriable`] (call again),
//! [`Error::txn_requires_abort`] (abort, then redo the work) or
//! [`Error::is_fatal`] (the producer is unusable, for example fenced by a
//! newer instance with the same transactional id). A consume-transform-
//! produce loop (the `ferrokafka copy` command is a complete one):
//!
//! ```no_run
//! use ferrokafka::consumer::{Consumer, Message};
//! use ferrokafka::producer::{Producer, ProducerRecord};
//! use ferrokafka::{ClientConfig, Error};
//! use std::time::Duration;
//!
//! const T: Duration = Duration::from_secs(30);
//!
//! /// One transaction: copy `batch` to "out" and commit its input offsets.
//! async fn copy_once(p: &Producer, c: &Consumer, batch: &[Message]) -> Result<(), Error> {
//!     p.begin_transaction()?;
//!     for m in batch {
//!         let r = ProducerRecord::new("out").value(m.value_bytes().unwrap_or_default());
//!         p.send(r)?;
//!     }
//!     let offsets: Vec<(&str, i32, i64)> =
//!         batch.iter().map(|m| (&*m.topic, m.partition, m.offset + 1)).collect();
//!     let group = c.group_metadata().expect("group.id is set");
//!     p.send_offsets_to_transaction(&offsets, &group, T).await?;
//!     loop {
//!         match p.commit_transaction(T).await {
//!             Err(e) if e.is_retriable() => continue, // resumes the commit
//!             r => return r,
//!         }
//!     }
//! }
//!
//! async fn run(p: Producer, c: Consumer, batch: Vec<Message>) -> Result<(), Error> {
//!     p.init_transactions(T).await?;
//!     match copy_once(&p, &c, &batch).await {
//!         Ok(()) => Ok(()),
//!         // Abort; then rewind the consumer to its committed offsets and
//!         // process those records again.
//!         Err(e) if e.txn_requires_abort() => p.abort_transaction(T).await,
//!         // Fatal (or a bug in the caller): stop and recreate the producer.
//!         Err(e) => Err(e),
//!     }
//! }
//! ```

// Refused sends and failed deliveries hand the record back by value, so the
// error path (QueueFull under backpressure) never allocates; the Err variants
// are large by design.
#![allow(clippy::result_large_err)]

mod accumulator;
mod batch;
mod delivery;
mod idempotence;
mod message;
mod outcome;
mod partitioner;
mod queue;
mod sender;
mod settings;
mod statistics;
mod transport;
mod txn;

pub use crate::stats::Histogram;
pub use delivery::{
    DeliveryError, DeliveryFuture, DeliveryResult, PersistenceStatus, RecordMetadata,
};
pub use message::ProducerRecord;
pub use partitioner::{murmur2, BuiltinPartitioner, Partitioner};

use crate::config::ClientConfig;
use crate::error::{Error, ErrorCode, Result};
use crate::stats::{Statistics, StatsStream};
use accumulator::Accumulator;
use sender::{Shared, Transport};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
#[cfg(test)]
pub(crate) use transport::all_settings;

/// A `send` that was refused: the record is handed back with the reason.
#[derive(Debug)]
pub struct SendError {
    /// The record, unchanged.
    pub record: ProducerRecord,
    /// Why it was refused (`QueueFull`, `MsgSizeTooLarge`, `UnknownPartition`,
    /// or a closed producer).
    pub error: Error,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "send refused: {}", self.error)
    }
}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Why [`Producer::flush`] or [`Producer::close`] returned before every
/// record was reported delivered or failed, or with a fatal error.
///
/// Converts into [`Error`] for `?`: a timeout becomes `_TIMED_OUT`, a fatal
/// error stays itself.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FlushError {
    /// The timeout passed; `remaining` records were still queued or in
    /// flight (their reports arrive later).
    Timeout {
        /// Records not yet reported.
        remaining: usize,
    },
    /// The producer raised a fatal error ([`Producer::fatal_error`]): it
    /// sends nothing more and must be recreated.
    Fatal(Error),
}

impl std::fmt::Display for FlushError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlushError::Timeout { remaining } => {
                write!(
                    f,
                    "flush timed out with {remaining} record(s) not yet reported"
                )
            }
            FlushError::Fatal(e) => write!(f, "the producer raised a fatal error: {e}"),
        }
    }
}

impl std::error::Error for FlushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FlushError::Timeout { .. } => None,
            FlushError::Fatal(e) => Some(e),
        }
    }
}

impl From<FlushError> for Error {
    fn from(e: FlushError) -> Error {
        match e {
            FlushError::Timeout { remaining } => Error::new(
                ErrorCode::TimedOut,
                format!("flush timed out with {remaining} record(s) not yet reported"),
            ),
            FlushError::Fatal(e) => e,
        }
    }
}

/// `producer.send(record)?` in a function returning [`crate::Result`]: the
/// refused record is dropped with the conversion (match on [`SendError`]
/// to keep it).
///
/// ```no_run
/// # use ferrokafka::producer::{Producer, ProducerRecord};
/// async fn publish(p: &Producer) -> ferrokafka::Result<i64> {
///     let meta = p.send(ProducerRecord::new("events").value("v"))?.await?;
///     Ok(meta.offset)
/// }
/// ```
impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        e.error
    }
}

/// A failed delivery as an [`Error`], for `?`: the error keeps its code and
/// message, and the message says whether the record may be in the log
/// anyway; the record itself is dropped (match on [`DeliveryError`] to keep
/// it and its [`PersistenceStatus`]).
impl From<DeliveryError> for Error {
    fn from(e: DeliveryError) -> Error {
        let message = format!("{} (persistence: {})", e.error.message(), e.status);
        e.error.with_message(message)
    }
}

/// A Kafka producer. Cheap to clone; clones share one queue and one
/// background sender. See the [module docs](self) for an example.
///
/// The sender runs on a runtime thread of the producer's own, so blocking
/// calls ([`flush`](Producer::flush), [`send_blocking`](Producer::send_blocking),
/// [`DeliveryFuture::wait`]) are safe anywhere, and async code can await
/// the futures and [`send_wait`](Producer::send_wait).
#[derive(Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").finish_non_exhaustive()
    }
}

struct Inner {
    shared: Arc<Shared>,
    /// Statistics: the cluster's connections, the instance name and the
    /// periodic emission.
    stats: Arc<StatsSource>,
    /// The transaction coordinator's client, with `transactional.id`.
    txn: Option<Arc<txn::Context>>,
    max_block: Duration,
    _runtime: crate::net::ClientRuntime,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The sender fails what is left and exits; nothing here waits.
        self.shared.shutdown.store(true, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// RAII registration of a waiter, so the sender knows to notify.
struct Waiting<'a>(&'a Shared);

impl<'a> Waiting<'a> {
    fn new(s: &'a Shared) -> Self {
        s.waiters.fetch_add(1, Ordering::AcqRel);
        Waiting(s)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Producer {
    /// A producer from `config`; bad or unknown properties fail here, with a
    /// message naming the property. No connection is made until the first
    /// record needs one.
    pub fn new(config: &ClientConfig) -> Result<Producer> {
        Self::build(config, None)
    }

    /// A producer that places records without an explicit partition with
    /// `partitioner` instead of the `partitioner` property.
    pub fn with_partitioner(
        config: &ClientConfig,
        partitioner: Arc<dyn Partitioner>,
    ) -> Result<Producer> {
        Self::build(config, Some(partitioner))
    }

    fn build(config: &ClientConfig, partitioner: Option<Arc<dyn Partitioner>>) -> Result<Producer> {
        let (settings, cluster_settings) = transport::from_config(config)?;
        let runtime = crate::net::ClientRuntime::owned()?;
        let client_id = cluster_settings.net.client_id.clone();
        let observer = cluster_settings.net.observer.clone();
        let cluster = {
            let _guard = runtime.handle().enter();
            crate::cluster::Cluster::new(cluster_settings, runtime.clone())?
        };
        // The transaction coordinator is reached through the same cluster.
        let txn = txn::Context::new(&cluster, &settings);
        let source = StatsSource::new(Some(cluster.clone()), client_id, settings.stats_interval);
        let v2 = txn.as_ref().map(|t| t.v2_flag());
        let transport = transport::connect(cluster, settings.acks, v2);
        Ok(Self::start(
            settings,
            partitioner,
            transport,
            runtime,
            txn,
            source,
            observer,
        ))
    }

    fn start(
        settings: settings::Settings,
        partitioner: Option<Arc<dyn Partitioner>>,
        transport: Arc<dyn Transport>,
        runtime: crate::net::ClientRuntime,
        txn: Option<Arc<txn::Context>>,
        stats: Arc<StatsSource>,
        observer: crate::events::Observer,
    ) -> Producer {
        let max_block = settings.max_block;
        let shared = Arc::new(Shared::new(
            Accumulator::new(settings, partitioner),
            observer,
        ));
        let shared_for_sender = shared.clone();
        // The sender keeps the runtime alive until it has failed what is
        // left after the last handle is dropped, so no report is lost.
        let keep = runtime.clone();
        runtime.spawn(async move {
            sender::run(shared_for_sender, transport).await;
            drop(keep);
        });
        if let Some(ctx) = &txn {
            runtime.spawn(txn::drive(Arc::downgrade(&shared), ctx.clone()));
        }
        {
            let weak = Arc::downgrade(&shared);
            let source = stats.clone();
            stats.emitter.spawn(runtime.handle(), move || {
                let shared = weak.upgrade()?;
                if shared.shutdown.load(Ordering::Acquire) {
                    return None;
                }
                Some(source.snapshot(&shared, true))
            });
        }
        Producer {
            inner: Arc::new(Inner {
                shared,
                stats,
                txn,
                max_block,
                _runtime: runtime,
            }),
        }
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The producer's debug contexts (without taking the accumulator's
    /// lock: callers may hold it).
    fn debug(&self) -> crate::debug::DebugContexts {
        self.shared().observer.debug()
    }

    fn enqueue(
        &self,
        record: ProducerRecord,
        callback: Option<delivery::Callback>,
    ) -> std::result::Result<DeliveryFuture, (SendError, Option<delivery::Callback>)> {
        let s = self.shared();
        if s.shutdown.load(Ordering::Relaxed) {
            let error = Error::new(ErrorCode::Destroy, "the producer is closed");
            return Err((SendError { record, error }, callback));
        }
        let mut acc = s.lock();
        let before = acc.batches_opened();
        let r = acc.enqueue(record, callback, Instant::now());
        let wake = acc.batches_opened() != before;
        drop(acc);
        if wake {
            s.wake.notify_one();
        }
        r
    }

    /// Enqueues `record` without blocking and returns the handle to its
    /// delivery report. Fails at once, handing the record back, with
    /// `QueueFull` when `queue.buffering.max.messages`/`.kbytes` are reached,
    /// `MsgSizeTooLarge` when it exceeds `message.max.bytes`, or
    /// `UnknownPartition` for an explicit partition the topic lacks.
    #[inline]
    pub fn send(&self, record: ProducerRecord) -> std::result::Result<DeliveryFuture, SendError> {
        self.enqueue(record, None).map_err(|(e, _)| e)
    }

    /// Like [`send`](Self::send), but the report goes to `callback`, called
    /// once on the producer's background thread (it must not block). On a
    /// refused send the callback is not called. A callback that panics is
    /// caught there: its record counts as reported, the producer goes on,
    /// and an error event (`ErrorCode::Fail`) says so.
    pub fn send_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> std::result::Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.enqueue(record, Some(Box::new(callback)))
            .map(|_| ())
            .map_err(|(e, _)| e)
    }

    /// Like [`send`](Self::send), but when the queue is full waits up to
    /// `max.block.ms` for space (kafka-python/Java semantics). Blocks the
    /// calling thread; use [`send_wait`](Self::send_wait) in async code.
    pub fn send_blocking(
        &self,
        record: ProducerRecord,
    ) -> std::result::Result<DeliveryFuture, SendError> {
        self.enqueue_blocking(record, None).map_err(|(e, _)| e)
    }

    /// [`send_with_callback`](Self::send_with_callback) that waits for
    /// queue space like [`send_blocking`](Self::send_blocking). For
    /// applications that count reports instead of keeping a handle per
    /// record (the CLI's `produce`): a callback that captures nothing is
    /// boxed without an allocation.
    pub fn send_blocking_with_callback<F>(
        &self,
        record: ProducerRecord,
        callback: F,
    ) -> std::result::Result<(), SendError>
    where
        F: FnOnce(DeliveryResult) + Send + 'static,
    {
        self.enqueue_blocking(record, Some(Box::new(callback)))
            .map(|_| ())
            .map_err(|(e, _)| e)
    }

    /// Enqueues, waiting up to `max.block.ms` while the queue is full.
    fn enqueue_blocking(
        &self,
        record: ProducerRecord,
        callback: Option<delivery::Callback>,
    ) -> std::result::Result<DeliveryFuture, (SendError, Option<delivery::Callback>)> {
        // The clock is read only once the queue is full: most sends
        // succeed at the first try.
        let mut deadline = None;
        let s = self.shared();
        let (mut record, mut callback) = (record, callback);
        loop {
            match self.enqueue(record, callback) {
                Err((e, cb)) if e.error.code() == ErrorCode::QueueFull => {
                    let now = Instant::now();
                    let deadline = *deadline.get_or_insert(now + self.inner.max_block);
                    if now >= deadline {
                        return Err((e, cb));
                    }
                    (record, callback) = (e.record, cb);
                    let _w = Waiting::new(s);
                    let acc = s.lock();
                    if acc.would_block(&record) {
                        let _ = s.changed.wait_timeout(acc, deadline - now);
                    }
                }
                r => return r,
            }
        }
    }

    /// Async form of [`send_blocking`](Self::send_blocking): waits up to
    /// `max.block.ms` for queue space instead of failing with `QueueFull`.
    pub async fn send_wait(
        &self,
        record: ProducerRecord,
    ) -> std::result::Result<DeliveryFuture, SendError> {
        let deadline = tokio::time::Instant::now() + self.inner.max_block;
        let s = self.shared();
        let mut record = record;
        loop {
            let _w = Waiting::new(s);
            let notified = s.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.send(record) {
                Err(e) if e.error.code() == ErrorCode::QueueFull => {
                    record = e.record;
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        return self.send(record);
                    }
                }
                r => return r,
            }
        }
    }

    /// Sends every queued record now (ignoring `linger.ms`) and waits up to
    /// `timeout` until all reports are in. Blocks the calling thread.
    ///
    /// Fails with [`FlushError::Fatal`] when the producer has raised a fatal
    /// error (before or during the flush; the records it purged have their
    /// reports by then), else with [`FlushError::Timeout`] and the number of
    /// records still outstanding when `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> std::result::Result<(), FlushError> {
        let s = self.shared();
        let deadline = Instant::now() + timeout;
        let _w = Waiting::new(s);
        let mut acc = s.lock();
        acc.set_flushing(true);
        s.wake.notify_one();
        let result = loop {
            let n = s.unreported(&acc);
            let now = Instant::now();
            if n == 0 || now >= deadline {
                break match acc.fatal_error() {
                    Some(e) => Err(FlushError::Fatal(e.clone())),
                    None if n == 0 => Ok(()),
                    None => Err(FlushError::Timeout { remaining: n }),
                };
            }
            // Bounded waits: a lost wakeup costs at most 100 ms.
            let wait = (deadline - now).min(Duration::from_millis(100));
            acc = s
                .changed
                .wait_timeout(acc, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        };
        acc.set_flushing(false);
        result
    }

    /// Async form of [`flush`](Self::flush): sends every queued record now
    /// and resolves once all reports are in, or fails as `flush` does.
    /// Dropping the future stops the wait (records keep going out; the
    /// linger is honoured again).
    ///
    /// ```no_run
    /// # async fn f(p: ferrokafka::producer::Producer) -> ferrokafka::Result<()> {
    /// p.flush_async(std::time::Duration::from_secs(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn flush_async(&self, timeout: Duration) -> std::result::Result<(), FlushError> {
        struct Flushing<'a>(&'a Shared);
        impl Drop for Flushing<'_> {
            fn drop(&mut self) {
                self.0.lock().set_flushing(false);
            }
        }
        let s = self.shared();
        let deadline = tokio::time::Instant::now() + timeout;
        let _w = Waiting::new(s);
        s.lock().set_flushing(true);
        let _flushing = Flushing(s);
        s.wake.notify_one();
        loop {
            // `space` is notified whenever reports complete; armed before
            // the check so that none is missed, and bounded anyway.
            let notified = s.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let acc = s.lock();
                let n = s.unreported(&acc);
                if n == 0 || tokio::time::Instant::now() >= deadline {
                    return match acc.fatal_error() {
                        Some(e) => Err(FlushError::Fatal(e.clone())),
                        None if n == 0 => Ok(()),
                        None => Err(FlushError::Timeout { remaining: n }),
                    };
                }
            }
            let wake = (tokio::time::Instant::now() + Duration::from_millis(100)).min(deadline);
            let _ = tokio::time::timeout_at(wake, notified).await;
        }
    }

    /// Fails queued records with `PurgeQueue` (when `queued`) and records in
    /// flight with `PurgeInflight` (when `in_flight`; their responses are
    /// ignored). Reports arrive through the usual futures and callbacks.
    pub fn purge(&self, queued: bool, in_flight: bool) {
        let s = self.shared();
        let dones = {
            let mut acc = s.lock();
            acc.purge(queued, in_flight);
            s.take_done(&mut acc)
        };
        s.finish(dones);
        s.wake.notify_one();
    }

    /// The partitions of `topic`, fetching metadata if needed (waits up to
    /// `max.block.ms`); see [`partitions_for_timeout`](Self::partitions_for_timeout).
    pub fn partitions_for(&self, topic: &str) -> Result<Vec<i32>> {
        self.partitions_for_timeout(topic, self.inner.max_block)
    }

    /// The partitions of `topic`, fetching metadata if needed, waiting up to
    /// `timeout`. Blocks the calling thread; async code awaits
    /// [`partitions_for_async`](Self::partitions_for_async).
    ///
    /// When the metadata cannot be had, the error is the cause, not a bare
    /// timeout: `_AUTHENTICATION` or `_SSL` when the brokers refuse this
    /// client's credentials or certificate, `UNKNOWN_TOPIC_OR_PART` /
    /// `_UNKNOWN_TOPIC` when the topic does not exist (once
    /// `topic.metadata.propagation.max.ms` ran out), or `_TIMED_OUT` whose
    /// message names the last broker error (a refused connection, a host
    /// name that does not resolve).
    pub fn partitions_for_timeout(&self, topic: &str, timeout: Duration) -> Result<Vec<i32>> {
        if let Some(n) = self.cached_partition_count(topic) {
            return Ok((0..n as i32).collect());
        }
        let Some(cluster) = self.inner.stats.cluster.clone() else {
            return self.partitions_from_sender(topic, timeout);
        };
        let started = Instant::now();
        self.want_topic(topic);
        // Run on the producer's own runtime and wait here, bounded: this
        // works from any thread, including a blocking task of another
        // runtime.
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let name = topic.to_string();
        self.inner._runtime.spawn(async move {
            let _ = tx.send(cluster.partitions_for(&name, timeout).await);
        });
        match rx.recv_timeout(timeout + Duration::from_secs(1)) {
            Ok(r) => {
                let parts: Vec<i32> = r?.iter().map(|p| p.id).collect();
                // The accumulator learns the topic from the sender right
                // after; `send` then checks explicit partitions at once.
                let until = Instant::now() + timeout.saturating_sub(started.elapsed());
                while self.cached_partition_count(topic).is_none() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Ok(parts)
            }
            Err(_) => Err(Error::new(
                ErrorCode::TimedOut,
                format!(
                    "no metadata for topic {topic} within {} ms",
                    timeout.as_millis()
                ),
            )),
        }
    }

    /// Async form of [`partitions_for_timeout`](Self::partitions_for_timeout),
    /// with the same errors. Dropping the future abandons the wait.
    ///
    /// ```no_run
    /// # async fn f(p: ferrokafka::producer::Producer) -> ferrokafka::Result<()> {
    /// let parts = p.partitions_for_async("events", std::time::Duration::from_secs(5)).await?;
    /// println!("events has {} partitions", parts.len());
    /// # Ok(()) }
    /// ```
    pub async fn partitions_for_async(&self, topic: &str, timeout: Duration) -> Result<Vec<i32>> {
        if let Some(n) = self.cached_partition_count(topic) {
            return Ok((0..n as i32).collect());
        }
        let Some(cluster) = self.inner.stats.cluster.clone() else {
            return Err(Error::new(
                ErrorCode::State,
                "this producer has no cluster to ask for metadata",
            ));
        };
        let until = tokio::time::Instant::now() + timeout;
        self.want_topic(topic);
        let parts = cluster.partitions_for(topic, timeout).await?;
        while self.cached_partition_count(topic).is_none() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(parts.iter().map(|p| p.id).collect())
    }

    /// Asks the sender to learn `topic` into the accumulator.
    fn want_topic(&self, topic: &str) {
        self.shared().lock().want_topic(topic);
        self.shared().wake.notify_one();
    }

    /// The partition count the accumulator already knows, never waiting.
    fn cached_partition_count(&self, topic: &str) -> Option<usize> {
        self.shared().lock().partition_count(topic)
    }

    /// Without a cluster (tests' transports): asks the sender for the
    /// topic and polls until it knows it.
    fn partitions_from_sender(&self, topic: &str, timeout: Duration) -> Result<Vec<i32>> {
        let s = self.shared();
        let deadline = Instant::now() + timeout;
        self.want_topic(topic);
        loop {
            if let Some(n) = s.lock().partition_count(topic) {
                return Ok((0..n as i32).collect());
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorCode::UnknownTopic,
                    format!(
                        "no metadata for topic {topic} within {} ms",
                        timeout.as_millis()
                    ),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Flushes for up to `timeout`, then stops the producer; records still
    /// outstanding fail with `PurgeQueue`/`PurgeInflight`. Fails as
    /// [`flush`](Self::flush) does.
    pub fn close(&self, timeout: Duration) -> std::result::Result<(), FlushError> {
        let r = self.flush(timeout);
        self.purge(true, true);
        self.shared().shutdown.store(true, Ordering::Release);
        self.shared().wake.notify_one();
        self.shared().error_ready.notify_waiters();
        r
    }

    /// Records not yet reported (queued, in flight, or with a delivery
    /// callback still to run).
    pub fn in_flight_count(&self) -> usize {
        let s = self.shared();
        s.unreported(&s.lock())
    }

    /// The fatal error that stopped this producer, if one was raised: its
    /// code is the underlying cause (for example
    /// `OUT_OF_ORDER_SEQUENCE_NUMBER`, `UNKNOWN_PRODUCER_ID` or
    /// `_GAPLESS_GUARANTEE`) and [`Error::is_fatal`] is true. Once raised,
    /// `send` fails with it, [`flush`](Self::flush) and
    /// [`close`](Self::close) return it ([`FlushError::Fatal`]), queued
    /// records are purged (`PurgeQueue`), and it is delivered once to the
    /// error callback and to [`next_error`](Self::next_error); the producer
    /// must be recreated. Only idempotent producers raise
    /// fatal errors.
    pub fn fatal_error(&self) -> Option<Error> {
        self.shared().lock().fatal_error().cloned()
    }

    /// Sets the callback called with every error event (on the
    /// producer's background threads; it must not block): the fatal error
    /// once it is raised, and the non-fatal events of
    /// [`ErrorStream`](crate::events::ErrorStream) (refused connections,
    /// unresolvable hosts, authentication failures, all brokers down,
    /// throttling), after which the producer keeps retrying by itself.
    /// Replaces an earlier callback.
    pub fn set_error_callback<F>(&self, callback: F)
    where
        F: Fn(&Error) + Send + Sync + 'static,
    {
        self.shared().observer.set_callback(Arc::new(callback));
    }

    /// The producer's error events from now on, as an async stream (see
    /// [`ErrorStream`](crate::events::ErrorStream)); each stream sees every
    /// event, unlike [`next_error`](Self::next_error), whose queue the
    /// clones share.
    pub fn error_stream(&self) -> crate::events::ErrorStream {
        self.shared().observer.subscribe()
    }

    /// Waits for the producer's next error event and takes it; `None` once
    /// the producer is closed and no event is left.
    ///
    /// The pull-based twin of [`set_error_callback`](Self::set_error_callback):
    /// both see every event: the fatal error (raised once, see
    /// [`fatal_error`](Self::fatal_error)) and the non-fatal events listed
    /// at [`ErrorStream`](crate::events::ErrorStream). Clones share one event queue,
    /// so each event is taken by one caller; up to 64 untaken events are
    /// kept, the oldest dropped first. Cancel-safe.
    ///
    /// ```no_run
    /// # async fn watch(producer: ferrokafka::producer::Producer) {
    /// let p = producer.clone();
    /// tokio::spawn(async move {
    ///     while let Some(e) = p.next_error().await {
    ///         eprintln!("producer error: {e} (fatal: {})", e.is_fatal());
    ///     }
    /// });
    /// # }
    /// ```
    pub async fn next_error(&self) -> Option<Error> {
        let s = self.shared();
        loop {
            let notified = s.error_ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(e) = s
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop_front()
            {
                return Some(e);
            }
            if s.shutdown.load(Ordering::Acquire) {
                return None;
            }
            notified.await;
        }
    }

    /// The producer's statistics now, in librdkafka's `STATISTICS.md`
    /// layout (see [`crate::stats`]). Reading them does not start new
    /// windows; only the periodic emission does.
    pub fn stats(&self) -> Statistics {
        self.inner.stats.snapshot(self.shared(), false)
    }

    /// Calls `callback` with every periodic statistics emission
    /// (`statistics.interval.ms`; none when it is 0), on the producer's
    /// runtime thread: it should return quickly. Replaces an earlier one.
    pub fn set_stats_callback(&self, callback: impl Fn(&Statistics) + Send + Sync + 'static) {
        self.inner.stats.emitter.set_callback(Arc::new(callback));
    }

    /// The periodic statistics emissions from now on, as an async stream
    /// (empty, never yielding, when `statistics.interval.ms` is 0).
    pub fn stats_stream(&self) -> StatsStream {
        self.inner.stats.emitter.subscribe()
    }
}

/// Where a producer's statistics come from besides the accumulator.
struct StatsSource {
    cluster: Option<crate::cluster::Cluster>,
    name: String,
    client_id: String,
    created: Instant,
    emitter: Arc<crate::stats::Emitter>,
}

impl StatsSource {
    fn new(
        cluster: Option<crate::cluster::Cluster>,
        client_id: String,
        interval: Duration,
    ) -> Arc<Self> {
        Arc::new(StatsSource {
            cluster,
            name: crate::stats::instance_name("producer"),
            client_id,
            created: Instant::now(),
            emitter: crate::stats::Emitter::new(interval),
        })
    }

    fn snapshot(&self, shared: &Shared, roll: bool) -> Statistics {
        let mut s = crate::stats::header(&self.name, &self.client_id, "producer", self.created);
        let parts = shared.lock().stats_partitions();
        if let Some(c) = &self.cluster {
            let toppars: Vec<(&str, i32)> = parts.iter().map(|(t, p)| (&**t, *p)).collect();
            s.brokers = c.broker_statistics(&toppars, roll);
            s.metadata_cache_cnt = c.metadata_cache_cnt();
        }
        shared.lock().fill_stats(&mut s, roll);
        if let Some(c) = &self.cluster {
            for t in s.topics.values_mut() {
                (t.age, t.metadata_age) = c.topic_ages(&t.topic);
            }
        }
        s.replyq = shared
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len() as u64;
        s.sum_brokers();
        s
    }
}
