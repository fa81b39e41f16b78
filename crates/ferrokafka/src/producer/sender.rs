//! The sender: the tokio task that moves the producer's bytes.
//!
//! It asks the accumulator for ready batches, encodes each batch once
//! (records into one buffer, compression and CRC once per batch), builds one
//! ProduceRequest per broker, keeps requests in flight, feeds responses,
//! timeouts and metadata back to the accumulator and completes delivery
//! reports outside the accumulator's lock. How bytes reach a broker is the
//! [`Transport`]'s business (the cluster layer in production, a fake in tests).

use super::accumulator::{complete, Accumulator, Batch, PartitionResult, ProduceJob};
use super::idempotence::ProducerId;
use crate::error::{Error, ErrorCode};
use crate::record::{BatchBuilder, BatchFlags};
use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Metadata of one topic: each partition's leader, or the broker's error.
pub(crate) type TopicLeaders = (Arc<str>, Result<Vec<Option<i32>>, ErrorCode>);

/// How the sender reaches brokers.
pub(crate) trait Transport: Send + Sync + 'static {
    /// Leaders of `topics`' partitions.
    fn metadata(&self, topics: Vec<Arc<str>>) -> BoxFuture<Result<Vec<TopicLeaders>, Error>>;

    /// Sends a ProduceRequest to `broker`; `Ok(None)` for acks=0 once the
    /// request is written.
    fn produce(
        &self,
        broker: i32,
        request: ProduceRequest,
    ) -> BoxFuture<Result<Option<ProduceResponse>, Error>>;

    /// InitProducerId through any broker: a fresh producer id, or the next
    /// epoch of `current` (KIP-360).
    fn init_producer_id(
        &self,
        _current: Option<ProducerId>,
    ) -> BoxFuture<Result<ProducerId, Error>> {
        Box::pin(async {
            Err(Error::new(
                ErrorCode::UnsupportedFeature,
                "this transport cannot ask for a producer id",
            ))
        })
    }

    /// Whether requests to `broker` can go out now (known, not backing off).
    fn can_send(&self, _broker: i32) -> bool {
        true
    }
}

/// State shared by the producer handles and the sender task.
pub(crate) struct Shared {
    pub acc: Mutex<Accumulator>,
    /// Wakes the sender: new batch, flush, purge, shutdown.
    pub wake: Notify,
    /// Threads blocked in `send_blocking` / `flush` wait here.
    pub changed: Condvar,
    /// Async senders waiting for queue space wait here.
    pub space: Notify,
    /// How many threads or tasks wait on `changed` / `space`.
    pub waiters: AtomicUsize,
    pub shutdown: AtomicBool,
    /// Called with the fatal error once it is raised.
    pub error_callback: Mutex<Option<ErrorCallback>>,
    /// Error events not yet taken by `Producer::next_error` (bounded: the
    /// oldest go first).
    pub errors: Mutex<std::collections::VecDeque<Error>>,
    /// Wakes `Producer::next_error`: an event, or the producer closing.
    pub error_ready: Notify,
}

/// Error events kept for `Producer::next_error` before the oldest is dropped.
const MAX_ERROR_EVENTS: usize = 64;

/// The application's error callback.
pub(crate) type ErrorCallback = Box<dyn Fn(&Error) + Send + Sync + 'static>;

impl Shared {
    pub(crate) fn new(acc: Accumulator) -> Self {
        Shared {
            acc: Mutex::new(acc),
            wake: Notify::new(),
            changed: Condvar::new(),
            space: Notify::new(),
            waiters: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            error_callback: Mutex::new(None),
            errors: Mutex::new(std::collections::VecDeque::new()),
            error_ready: Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Accumulator> {
        self.acc.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a newly raised fatal error to the error callback and the
    /// error events.
    fn report_fatal(&self, e: Option<Error>) {
        let Some(e) = e else { return };
        tracing::error!(target: "ferrokafka::producer", "fatal error: {e}");
        {
            let mut q = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            if q.len() >= MAX_ERROR_EVENTS {
                q.pop_front();
            }
            q.push_back(e.clone());
        }
        self.error_ready.notify_waiters();
        let cb = self
            .error_callback
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(cb) = cb.as_ref() {
            cb(&e);
        }
    }

    /// Completes reports taken from the accumulator and tells waiters.
    fn finish(&self, dones: Vec<super::accumulator::Done>) {
        if dones.is_empty() {
            return;
        }
        for d in dones {
            complete(d);
        }
        if self.waiters.load(Ordering::Acquire) > 0 {
            // Take the lock so a waiter between its check and its wait
            // cannot miss the notification.
            drop(self.lock());
            self.changed.notify_all();
            self.space.notify_waiters();
        }
    }
}

/// Encodes a batch's records into one RecordBatch (once; retries reuse it).
fn encode(b: &mut Batch, acc_cfg: &super::settings::Settings) -> Result<Bytes, Error> {
    if let Some(e) = &mut b.encoded {
        // A retry keeps its sequence; after an epoch bump only the header
        // is re-stamped (CRC recomputed, records untouched).
        if b.encoded_stamp != b.stamp {
            if let Some((pid, epoch, seq)) = b.stamp {
                e.set_producer(pid, epoch, seq);
            }
            b.encoded_stamp = b.stamp;
        }
        return Ok(e.bytes());
    }
    let base = b.msgs.first().map_or(0, |m| m.timestamp);
    let mut builder = BatchBuilder::new(base, usize::MAX);
    for m in &b.msgs {
        if !builder.try_append(
            m.timestamp,
            m.key.as_deref(),
            m.value.as_deref(),
            &m.headers,
        ) {
            return Err(Error::new(
                ErrorCode::MsgSizeTooLarge,
                format!(
                    "{} [{}]: a record field is too large to encode",
                    b.topic, b.partition
                ),
            ));
        }
    }
    if let Some((pid, epoch, seq)) = b.stamp {
        builder.set_producer(pid, epoch, seq);
    }
    let level = (acc_cfg.compression_level >= 0).then_some(acc_cfg.compression_level);
    let encoded = builder.finish(acc_cfg.compression, level, BatchFlags::default())?;
    let bytes = encoded.bytes();
    b.encoded = Some(encoded);
    b.encoded_stamp = b.stamp;
    Ok(bytes)
}

/// Builds the ProduceRequest of a job; batches that failed to encode are
/// reported in `failed` by position.
fn build_request(
    job: &mut ProduceJob,
    cfg: &super::settings::Settings,
    acc: &Mutex<Accumulator>,
) -> (ProduceRequest, Vec<(usize, Error)>) {
    let mut topics: Vec<TopicProduceData> = Vec::new();
    let mut failed = Vec::new();
    let mut sizes = Vec::with_capacity(job.batches.len());
    for (i, b) in job.batches.iter_mut().enumerate() {
        match encode(b, cfg) {
            Ok(bytes) => {
                sizes.push((i, bytes.len()));
                let pd = PartitionProduceData::default()
                    .with_index(b.partition)
                    .with_records(Some(bytes));
                match topics.iter_mut().find(|t| *t.name.0 == *b.topic) {
                    Some(t) => t.partition_data.push(pd),
                    None => topics.push(
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(b.topic.to_string())))
                            .with_partition_data(vec![pd]),
                    ),
                }
            }
            Err(e) => failed.push((i, e)),
        }
    }
    {
        let mut a = acc.lock().unwrap_or_else(|p| p.into_inner());
        for (i, len) in sizes {
            a.on_batch_sent(job.broker, &mut job.batches[i], len);
        }
    }
    let req = ProduceRequest::default()
        .with_acks(cfg.acks)
        .with_timeout_ms(cfg.request_timeout.as_millis().min(i32::MAX as u128) as i32)
        .with_topic_data(topics);
    (req, failed)
}

/// Matches a response's partitions to the job's batches.
fn results_for(
    job: &ProduceJob,
    resp: Option<ProduceResponse>,
    failed: &[(usize, Error)],
) -> Vec<Result<PartitionResult, Error>> {
    let mut out: Vec<Result<PartitionResult, Error>> = job
        .batches
        .iter()
        .map(|b| match &resp {
            None => Ok(PartitionResult {
                error: ErrorCode::NoError,
                base_offset: -1,
                log_append_time: -1,
                message: None,
            }),
            Some(r) => r
                .responses
                .iter()
                .filter(|t| *t.name.0 == *b.topic)
                .flat_map(|t| t.partition_responses.iter())
                .find(|p| p.index == b.partition)
                .map(|p| PartitionResult {
                    error: ErrorCode::from_kafka(p.error_code),
                    base_offset: p.base_offset,
                    log_append_time: p.log_append_time_ms,
                    message: p.error_message.as_ref().map(|m| m.to_string()),
                })
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::BadMsg,
                        format!("ProduceResponse lacks {} [{}]", b.topic, b.partition),
                    )
                }),
        })
        .collect();
    for (i, e) in failed {
        out[*i] = Err(e.clone().with_retriable(false));
    }
    out
}

/// A finished ProduceRequest task: the job id, the outcome, how long it
/// took, and whether it was cut off at message.timeout.ms.
type RequestDone = (u64, Result<Option<ProduceResponse>, Error>, Duration, bool);

/// The sender task. Returns when the producer shuts down, after failing
/// whatever is left.
pub(crate) async fn run(shared: Arc<Shared>, transport: Arc<dyn Transport>) {
    let cfg = shared.lock().settings().clone();
    let mut in_flight: HashMap<u64, (ProduceJob, Vec<(usize, Error)>)> = HashMap::new();
    let mut aborts: HashMap<u64, tokio::task::AbortHandle> = HashMap::new();
    let mut requests: JoinSet<RequestDone> = JoinSet::new();
    let mut metadata: JoinSet<Result<Vec<TopicLeaders>, Error>> = JoinSet::new();
    let mut inits: JoinSet<Result<ProducerId, Error>> = JoinSet::new();
    let mut next_metadata = Instant::now();
    let mut last_full_metadata = Instant::now();
    let metadata_retry = cfg.retry_backoff.max(Duration::from_millis(10));
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            break;
        }
        let now = Instant::now();
        let fatal;
        let (jobs, want_meta, purge, next, dones) = {
            let mut acc = shared.lock();
            acc.expire(now);
            if let Some(req) = acc.poll_init(now) {
                let fut = transport.init_producer_id(req.current);
                // Each connection attempt is bounded by socket.timeout.ms in
                // `net`; this bounds the whole request the same way.
                let timeout = cfg.socket_timeout + Duration::from_millis(500);
                inits.spawn(async move {
                    match tokio::time::timeout(timeout, fut).await {
                        Ok(r) => r,
                        Err(_) => Err(Error::new(ErrorCode::TimedOut, "InitProducerId timed out")),
                    }
                });
            }
            fatal = acc.take_fatal_event();
            let purge = acc.take_purge_in_flight();
            let full = cfg
                .metadata_refresh
                .is_some_and(|every| now.duration_since(last_full_metadata) >= every);
            let want_meta = if metadata.is_empty()
                && ((acc.metadata_incomplete() && now >= next_metadata) || full)
            {
                if full {
                    last_full_metadata = now;
                }
                let topics = acc.metadata_topics(full);
                (!topics.is_empty()).then_some(topics)
            } else {
                None
            };
            let jobs = acc.drain(now, |b| transport.can_send(b));
            let next = acc.next_wakeup(now);
            (jobs, want_meta, purge, next, acc.take_done())
        };
        shared.report_fatal(fatal);
        shared.finish(dones);
        if purge {
            let mut acc = shared.lock();
            aborts.clear();
            for (_, (job, _)) in in_flight.drain() {
                let n = job.batches.len();
                let e = Error::new(ErrorCode::PurgeInflight, "purged while in flight");
                acc.on_response(job, vec![Err(e); n], None, now);
            }
            let dones = acc.take_done();
            drop(acc);
            shared.finish(dones);
        }
        if let Some(topics) = want_meta {
            next_metadata = now + metadata_retry;
            metadata.spawn(transport.metadata(topics));
        }
        for mut job in jobs {
            let (req, failed) = build_request(&mut job, &cfg, &shared.acc);
            let id = job.id;
            let broker = job.broker;
            // The client-side bound of a ProduceRequest is socket.timeout.ms
            // (enforced by `net`, which then closes the connection), cut
            // short at the job's earliest message.timeout.ms deadline so a
            // delivery report is never late (librdkafka does the same);
            // request.timeout.ms is the broker's ack timeout only.
            let deadline = job.batches.iter().filter_map(|b| b.deadline).min();
            let fut = if req.topic_data.is_empty() {
                None
            } else {
                Some(transport.produce(broker, req))
            };
            in_flight.insert(id, (job, failed));
            let handle = requests.spawn(async move {
                let start = Instant::now();
                let mut cut = false;
                let r = match (fut, deadline) {
                    (None, _) => Ok(None),
                    (Some(f), None) => f.await,
                    (Some(f), Some(d)) => match tokio::time::timeout_at(d.into(), f).await {
                        Ok(r) => r,
                        Err(_) => {
                            cut = true;
                            Err(Error::new(
                                ErrorCode::TimedOut,
                                format!("ProduceRequest to broker {broker} unanswered when message.timeout.ms ran out"),
                            ))
                        }
                    },
                };
                (id, r, start.elapsed(), cut)
            });
            aborts.insert(id, handle);
        }
        let sleep_until = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let sleep_until = if metadata.is_empty() && next_metadata > Instant::now() {
            sleep_until.min(next_metadata)
        } else {
            sleep_until
        };
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(sleep_until.into()) => {}
            Some(r) = requests.join_next(), if !requests.is_empty() => {
                let mut batch = vec![r];
                // Take every response already there under one lock.
                while let Some(r) = requests.try_join_next() {
                    batch.push(r);
                }
                let now = Instant::now();
                let mut acc = shared.lock();
                for r in batch {
                    let Ok((id, result, rtt, cut)) = r else { continue };
                    aborts.remove(&id);
                    let Some((job, failed)) = in_flight.remove(&id) else { continue };
                    let broker = job.broker;
                    // Cut off at message.timeout.ms, the connection may be
                    // fine: only a transport error or `net`'s timeout (which
                    // closes the connection) broke it.
                    let broken = !cut && matches!(&result, Err(e) if matches!(e.code(), ErrorCode::Transport | ErrorCode::TimedOut));
                    let (results, rtt) = match result {
                        Ok(resp) => (results_for(&job, resp, &failed), Some(rtt)),
                        Err(e) => (vec![Err(e); job.batches.len()], None),
                    };
                    acc.on_response(job, results, rtt, now);
                    if broken && cfg.acks != 0 {
                        // The connection broke: requests still queued behind
                        // this one would go out on the next connection ahead
                        // of the retries of those that failed (with or
                        // without idempotence). Give them up (unwritten ones
                        // are then never sent) and retry everything in order.
                        let behind: Vec<u64> = in_flight
                            .iter()
                            .filter(|(_, (j, _))| j.broker == broker)
                            .map(|(id, _)| *id)
                            .collect();
                        for id in behind {
                            if let Some(h) = aborts.remove(&id) {
                                h.abort();
                            }
                            if let Some((job, _)) = in_flight.remove(&id) {
                                let e = Error::new(
                                    ErrorCode::Transport,
                                    format!("connection to broker {broker} broke with this request queued or in flight"),
                                );
                                let n = job.batches.len();
                                acc.on_response(job, vec![Err(e); n], None, now);
                            }
                        }
                    }
                }
                let dones = acc.take_done();
                drop(acc);
                shared.finish(dones);
            }
            Some(r) = inits.join_next(), if !inits.is_empty() => {
                let r = r.unwrap_or_else(|e| Err(Error::new(ErrorCode::Fail, format!("InitProducerId task failed: {e}"))));
                if let Err(e) = &r {
                    tracing::debug!(target: "ferrokafka::producer", "InitProducerId failed: {e}");
                }
                let now = Instant::now();
                let mut acc = shared.lock();
                acc.on_init(r, now);
                let fatal = acc.take_fatal_event();
                let dones = acc.take_done();
                drop(acc);
                shared.report_fatal(fatal);
                shared.finish(dones);
            }
            Some(r) = metadata.join_next(), if !metadata.is_empty() => {
                match r {
                    Ok(Ok(topics)) => {
                        let now = Instant::now();
                        let mut acc = shared.lock();
                        for (t, leaders) in topics {
                            acc.set_topic(&t, leaders, now);
                        }
                        let dones = acc.take_done();
                        drop(acc);
                        shared.finish(dones);
                    }
                    Ok(Err(e)) if matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl) => {
                        let mut acc = shared.lock();
                        acc.fail_unassigned(&e);
                        let dones = acc.take_done();
                        drop(acc);
                        shared.finish(dones);
                    }
                    _ => {}
                }
            }
        }
    }
    // Shutting down: fail what is left so no report is lost.
    let mut acc = shared.lock();
    acc.purge(true, false);
    for (_, (job, _)) in in_flight.drain() {
        let n = job.batches.len();
        let e = Error::new(ErrorCode::PurgeInflight, "producer closed while in flight");
        acc.on_response(job, vec![Err(e); n], None, Instant::now());
    }
    let dones = acc.take_done();
    drop(acc);
    shared.finish(dones);
    requests.abort_all();
    metadata.abort_all();
    inits.abort_all();
}
