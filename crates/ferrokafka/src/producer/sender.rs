//! The sender: the tokio task that moves the producer's bytes.
//!
//! It asks the accumulator for ready batches, encodes each batch once
//! (records into one buffer, compression and CRC once per batch), builds one
//! ProduceRequest per broker, keeps requests in flight, feeds responses,
//! timeouts and the cluster layer's leaders back to the accumulator and
//! completes delivery reports outside the accumulator's lock. How bytes
//! reach a broker and where partitions lead is the [`Transport`]'s business
//! (the cluster layer in production, a fake in tests); the sender only
//! hands the accumulator each topic's leaders when the cluster's metadata
//! changes, and reports the topics whose leader failed.

use super::accumulator::{complete, Accumulator, Batch, Leader, PartitionResult, ProduceJob};
use super::idempotence::ProducerId;
use crate::cluster::state::TopicLookup;
use crate::cluster::TopicMetadata;
use crate::error::{Error, ErrorCode};
use crate::record::{BatchBuilder, BatchFlags};
use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// How the sender reaches brokers and learns where partitions lead.
pub(crate) trait Transport: Send + Sync + 'static {
    /// What the cluster layer knows of `topic` now (an unknown one is
    /// looked up); never waits.
    fn topic(&self, topic: &str) -> TopicLookup;

    /// A request for `topic` failed with a stale-leader error: refresh its
    /// metadata soon.
    fn leader_error(&self, _topic: &str) {}

    /// Whether `broker`'s address is known (a leader whose address no
    /// metadata gave is no leader yet).
    fn broker_known(&self, _broker: i32) -> bool {
        true
    }

    /// A receiver that changes whenever the metadata does (`None`: never).
    fn subscribe(&self) -> Option<watch::Receiver<u64>> {
        None
    }

    /// The last broker-level error (a refused connection, a failed
    /// metadata request), to name the cause of a timeout.
    fn last_error(&self) -> Option<Error> {
        None
    }

    /// A metadata refresh failed in a way no retry fixes (credentials, an
    /// untrusted certificate); each failure is handed out once.
    fn take_security_error(&self) -> Option<Error> {
        None
    }

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
    /// The producer's error events (callback, streams, debug contexts).
    pub observer: crate::events::Observer,
    /// Error events not yet taken by `Producer::next_error` (bounded: the
    /// oldest go first), fed by the observer.
    pub errors: Arc<Mutex<std::collections::VecDeque<Error>>>,
    /// Wakes `Producer::next_error`: an event, or the producer closing.
    pub error_ready: Arc<Notify>,
    /// Wakes the transaction driver: partitions wait to be added to the
    /// transaction (transactional producers only).
    pub txn_wake: Notify,
    /// Records whose reports were taken from the accumulator and are being
    /// completed (futures resolved, callbacks run) outside its lock. Counted
    /// so that `flush` returns only after every callback has run: the
    /// accumulator forgets a record before its callback is called.
    pub reporting: AtomicUsize,
}

thread_local! {
    /// Whether this thread is completing reports (running delivery
    /// callbacks) in [`Shared::finish`].
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

/// Error events kept for `Producer::next_error` before the oldest is dropped.
const MAX_ERROR_EVENTS: usize = 64;

impl Shared {
    pub(crate) fn new(acc: Accumulator, observer: crate::events::Observer) -> Self {
        let errors: Arc<Mutex<std::collections::VecDeque<Error>>> = Arc::default();
        let error_ready = Arc::new(Notify::new());
        {
            let (errors, ready) = (errors.clone(), error_ready.clone());
            observer.set_hook(Arc::new(move |e: &Error| {
                {
                    let mut q = errors.lock().unwrap_or_else(|p| p.into_inner());
                    if q.len() >= MAX_ERROR_EVENTS {
                        q.pop_front();
                    }
                    q.push_back(e.clone());
                }
                ready.notify_waiters();
            }));
        }
        Shared {
            acc: Mutex::new(acc),
            wake: Notify::new(),
            changed: Condvar::new(),
            space: Notify::new(),
            waiters: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            observer,
            errors,
            error_ready,
            txn_wake: Notify::new(),
            reporting: AtomicUsize::new(0),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Accumulator> {
        self.acc.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands a newly raised fatal error to the error callback and the
    /// error events.
    pub(crate) fn report_fatal(&self, e: Option<Error>) {
        if let Some(e) = e {
            self.observer.emit(e);
        }
    }

    /// Takes the reports the accumulator produced, to be handed to
    /// [`finish`](Self::finish) once `acc`'s lock is released. Until then
    /// they count as unreported.
    pub(crate) fn take_done(&self, acc: &mut Accumulator) -> Vec<super::accumulator::Done> {
        let dones = acc.take_done();
        let n: usize = dones.iter().map(super::batch::Done::records).sum();
        if n > 0 {
            self.reporting.fetch_add(n, Ordering::AcqRel);
        }
        dones
    }

    /// Records whose reports have not all been completed: queued, in
    /// flight, or reported but with callbacks still to run. `acc` is this
    /// producer's locked accumulator.
    ///
    /// Called from inside a delivery callback (a callback that flushes),
    /// the reports being completed around it do not count: they wait for
    /// that very callback, and the flush would wait for them until its
    /// timeout.
    pub(crate) fn unreported(&self, acc: &Accumulator) -> usize {
        if REPORTING.with(Cell::get) {
            acc.unreported()
        } else {
            acc.unreported() + self.reporting.load(Ordering::Acquire)
        }
    }

    /// Completes reports taken with [`take_done`](Self::take_done) and
    /// tells waiters.
    pub(crate) fn finish(&self, dones: Vec<super::accumulator::Done>) {
        if dones.is_empty() {
            return;
        }
        let was = REPORTING.with(|r| r.replace(true));
        let mut panicked = super::batch::Panics::default();
        for d in dones {
            let p = complete(d, |n| {
                if n > 0 {
                    self.reporting.fetch_sub(n, Ordering::AcqRel);
                }
            });
            panicked.count += p.count;
            panicked.first = panicked.first.or(p.first);
        }
        REPORTING.with(|r| r.set(was));
        if let Some(first) = panicked.first {
            self.observer.emit(Error::new(
                ErrorCode::Fail,
                format!(
                    "{} delivery callback(s) panicked (the first: {first}); their records count as reported and the producer goes on",
                    panicked.count
                ),
            ));
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
    // `b.bytes` counts 16 bytes of overhead per record, at least what a
    // record's lengths and deltas take in a batch of ordinary records, so
    // the buffer is sized once.
    let mut builder = BatchBuilder::with_capacity(
        base,
        usize::MAX,
        b.bytes.saturating_add(crate::record::BATCH_HEADER_LEN),
    );
    for m in &b.msgs {
        if !builder.try_append(
            m.timestamp,
            m.key.as_deref(),
            m.value.as_deref(),
            m.headers(),
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
    let flags = BatchFlags {
        transactional: acc_cfg.transactional_id.is_some(),
        control: false,
    };
    let encoded = builder.finish(acc_cfg.compression, level, flags)?;
    let bytes = encoded.bytes();
    b.encoded = Some(encoded);
    b.encoded_stamp = b.stamp;
    super::batch::shed(b);
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
    let req =
        ProduceRequest::default()
            // Brokers refuse transactional records in a request that does not
            // name the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
            .with_transactional_id(cfg.transactional_id.as_ref().map(|t| {
                kafka_protocol::messages::TransactionalId(StrBytes::from_string(t.clone()))
            }))
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
    broker_known: impl Fn(i32) -> bool,
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
                current_leader: None,
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
                    // KIP-951: followed only to a broker whose address is known.
                    current_leader: (p.current_leader.leader_id.0 >= 0
                        && p.current_leader.leader_epoch >= 0
                        && broker_known(p.current_leader.leader_id.0))
                    .then_some(Leader {
                        id: p.current_leader.leader_id.0,
                        epoch: Some(p.current_leader.leader_epoch),
                    }),
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
    let mut inits: JoinSet<Result<ProducerId, Error>> = JoinSet::new();
    let mut changes = transport.subscribe();
    let mut applied = Applied::default();
    // The first pass looks up every topic; later ones only those lacking
    // leaders, until the metadata changes.
    let mut sync_all = true;
    loop {
        if shared.shutdown.load(Ordering::Acquire) {
            break;
        }
        let now = Instant::now();
        let fatal;
        let (jobs, purge, next, dones) = {
            let mut acc = shared.lock();
            acc.expire_with(now, || transport.last_error());
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
            if let Some(e) = transport.take_security_error() {
                // No broker will let this client in: records waiting for
                // metadata fail with the cause instead of timing out.
                acc.fail_unassigned(&e);
            }
            applied.sync(&mut acc, &*transport, std::mem::take(&mut sync_all), now);
            let jobs = acc.drain(now, |b| transport.can_send(b));
            if acc.txn_wants_partitions_added() {
                shared.txn_wake.notify_one();
            }
            let next = acc.next_wakeup(now);
            (jobs, purge, next, shared.take_done(&mut acc))
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
            let dones = shared.take_done(&mut acc);
            drop(acc);
            shared.finish(dones);
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
            crate::debug::trace_ctx!(
                cfg.debug,
                Msg,
                broker,
                batches = job.batches.len(),
                records = job.batches.iter().map(|b| b.records()).sum::<usize>(),
                "ProduceRequest {id} to broker {broker}"
            );
            let fut = if req.topic_data.is_empty() {
                None
            } else {
                Some(transport.produce(broker, req))
            };
            in_flight.insert(id, (job, failed));
            let cause = transport.clone();
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
                                match cause.last_error() {
                                    Some(e) => format!("ProduceRequest to broker {broker} unanswered when message.timeout.ms ran out; last broker error: {e}"),
                                    None => format!("ProduceRequest to broker {broker} unanswered when message.timeout.ms ran out"),
                                },
                            ))
                        }
                    },
                };
                (id, r, start.elapsed(), cut)
            });
            aborts.insert(id, handle);
        }
        let sleep_until = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = metadata_changed(&mut changes) => sync_all = true,
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
                    match &result {
                        Ok(_) => crate::debug::trace_ctx!(cfg.debug, Msg, broker, "ProduceRequest {id} answered in {} us", rtt.as_micros()),
                        Err(e) => crate::debug::trace_ctx!(cfg.debug, Msg, broker, "ProduceRequest {id} failed: {e}"),
                    }
                    let broken = !cut && matches!(&result, Err(e) if matches!(e.code(), ErrorCode::Transport | ErrorCode::TimedOut));
                    let (results, rtt) = match result {
                        Ok(resp) => (results_for(&job, resp, &failed, |b| transport.broker_known(b)), Some(rtt)),
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
                let dones = shared.take_done(&mut acc);
                drop(acc);
                shared.finish(dones);
            }
            Some(r) = inits.join_next(), if !inits.is_empty() => {
                let r = r.unwrap_or_else(|e| Err(Error::new(ErrorCode::Fail, format!("InitProducerId task failed: {e}"))));
                if let Err(e) = &r {
                    crate::debug::trace_ctx!(cfg.debug, Eos, "InitProducerId failed: {e}");
                }
                let now = Instant::now();
                let mut acc = shared.lock();
                acc.on_init(r, now);
                let fatal = acc.take_fatal_event();
                let dones = shared.take_done(&mut acc);
                drop(acc);
                shared.report_fatal(fatal);
                shared.finish(dones);
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
    let dones = shared.take_done(&mut acc);
    drop(acc);
    shared.finish(dones);
    requests.abort_all();
    inits.abort_all();
}

/// Resolves when the metadata changes; never when there is no cache (or
/// it is gone).
async fn metadata_changed(changes: &mut Option<watch::Receiver<u64>>) {
    if let Some(rx) = changes {
        if rx.changed().await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

/// The cluster's answer each topic's leaders were last taken from. The
/// same answer is not applied twice: a partition whose leader just failed
/// waits for a fresh answer instead of going back to the same broker.
#[derive(Default)]
struct Applied(HashMap<Arc<str>, Arc<TopicMetadata>>);

impl Applied {
    /// Brings the accumulator's leaders up to date with the cluster layer:
    /// every topic when `all` (the metadata changed), else the topics that
    /// lack leaders. Topics that saw stale-leader errors are refreshed.
    fn sync(&mut self, acc: &mut Accumulator, transport: &dyn Transport, all: bool, now: Instant) {
        for topic in acc.take_stale_topics() {
            transport.leader_error(&topic);
        }
        for topic in acc.metadata_topics(all) {
            match transport.topic(&topic) {
                TopicLookup::Pending => {}
                TopicLookup::Failed(e) => {
                    if acc.fail_topic(&topic, &e) > 0 {
                        // Records keep coming for it: look again, in case
                        // it has been created since.
                        transport.leader_error(&topic);
                    }
                }
                TopicLookup::Known(md) => {
                    if self.0.get(&topic).is_some_and(|a| Arc::ptr_eq(a, &md)) {
                        continue;
                    }
                    match leaders_of(&md, |b| transport.broker_known(b)) {
                        Some((leaders, complete)) => {
                            acc.set_leaders(&topic, &leaders, now);
                            if !complete {
                                transport.leader_error(&topic);
                            }
                        }
                        None => transport.leader_error(&topic),
                    }
                    self.0.insert(topic, md);
                }
            }
        }
    }
}

/// Each partition's usable leader, by partition id, and whether every
/// partition has one; `None` for an answer without (plausible) partitions.
/// A leader whose address no metadata gave counts as none (a broker down
/// when the answer was built can be left out of its broker list), so the
/// metadata is asked again instead of the partition waiting for a
/// connection that cannot exist.
fn leaders_of(
    md: &TopicMetadata,
    known: impl Fn(i32) -> bool,
) -> Option<(Vec<Option<Leader>>, bool)> {
    let n = md.partitions.iter().map(|p| p.id).max()?.checked_add(1)?;
    // A partition count beyond any real cluster is a broken answer.
    if !(1..=1_000_000).contains(&n) {
        return None;
    }
    let mut leaders = vec![None; n as usize];
    let mut complete = md.partitions.len() == n as usize;
    for p in &md.partitions {
        let Ok(i) = usize::try_from(p.id) else {
            continue;
        };
        match p.leader {
            Some(id) if known(id) => {
                leaders[i] = Some(Leader {
                    id,
                    epoch: p.leader_epoch,
                })
            }
            _ => complete = false,
        }
    }
    Some((leaders, complete))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PartitionMetadata;
    use crate::producer::settings::Settings;
    use crate::producer::ProducerRecord;

    /// A cluster layer answering from a table; counts refresh requests.
    #[derive(Default)]
    struct FakeCluster {
        topics: Mutex<HashMap<String, Arc<TopicMetadata>>>,
        brokers: Vec<i32>,
        refreshes: Mutex<Vec<String>>,
    }

    impl Transport for FakeCluster {
        fn topic(&self, topic: &str) -> TopicLookup {
            match self.topics.lock().unwrap().get(topic) {
                Some(m) => TopicLookup::Known(m.clone()),
                None => TopicLookup::Pending,
            }
        }
        fn leader_error(&self, topic: &str) {
            self.refreshes.lock().unwrap().push(topic.to_string());
        }
        fn broker_known(&self, broker: i32) -> bool {
            self.brokers.contains(&broker)
        }
        fn produce(
            &self,
            _broker: i32,
            _request: ProduceRequest,
        ) -> BoxFuture<Result<Option<ProduceResponse>, Error>> {
            Box::pin(async { Ok(None) })
        }
    }

    fn answer(leaders: &[(i32, i32)]) -> Arc<TopicMetadata> {
        Arc::new(TopicMetadata {
            name: "t".into(),
            topic_id: None,
            authorized_operations: None,
            error: None,
            is_internal: false,
            partitions: leaders
                .iter()
                .enumerate()
                .map(|(i, &(leader, epoch))| PartitionMetadata {
                    id: i as i32,
                    leader: Some(leader),
                    leader_epoch: Some(epoch),
                    replicas: vec![leader],
                    isr: vec![leader],
                    offline_replicas: vec![],
                    error: None,
                })
                .collect(),
        })
    }

    /// Drains the one job `acc` holds once lingering is over and encodes
    /// it, every record accepted by the encoder.
    fn drain_and_encode(
        mut acc: Accumulator,
        cfg: &Settings,
        t0: Instant,
    ) -> (Mutex<Accumulator>, ProduceJob) {
        let mut job = acc
            .drain(t0 + Duration::from_secs(1), |_| true)
            .pop()
            .unwrap();
        let acc = Mutex::new(acc);
        let (_req, failed) = build_request(&mut job, cfg, &acc);
        assert!(failed.is_empty());
        (acc, job)
    }

    /// Answers a one-partition job with `error` at `base_offset` and runs
    /// its reports; returns the accumulator for the checks after.
    fn answer_job(
        acc: Mutex<Accumulator>,
        job: ProduceJob,
        error: ErrorCode,
        base_offset: i64,
        t0: Instant,
    ) -> Accumulator {
        let mut acc = acc.into_inner().unwrap();
        let result = PartitionResult {
            error,
            base_offset,
            log_append_time: -1,
            message: None,
            current_leader: None,
        };
        acc.on_response(job, vec![Ok(result)], None, t0);
        for d in acc.take_done() {
            complete(d, |_| {});
        }
        acc
    }

    /// Once encoded, a batch without callbacks drops its records' structs
    /// (issue 19); a failure still hands every record back whole, read
    /// from the encoded batch, and the queue accounting returns to zero.
    #[test]
    fn a_failed_batch_hands_back_records_it_dropped_after_encoding() {
        use crate::record::Header;
        let t0 = Instant::now();
        for codec in [
            crate::record::Compression::None,
            crate::record::Compression::Lz4,
        ] {
            let cfg = Settings {
                compression: codec,
                ..Settings::default()
            };
            let mut acc = Accumulator::new(cfg.clone(), None);
            acc.want_topic("t");
            acc.set_topic("t", Ok(vec![Some(1)]), t0);
            let sent: Vec<ProducerRecord> = (0..5)
                .map(|i| {
                    let r = ProducerRecord::new("t")
                        .partition(0)
                        .key(format!("k{i}"))
                        .value(format!("v{i}"));
                    if i % 2 == 0 {
                        r.headers(vec![Header::new(format!("h{i}"), Some(&b"x"[..]))])
                    } else {
                        r
                    }
                })
                .collect();
            let futures: Vec<_> = sent
                .iter()
                .map(|r| acc.enqueue(r.clone(), None, t0).ok().unwrap())
                .collect();
            let (acc, job) = drain_and_encode(acc, &cfg, t0);
            assert!(job.batches[0].msgs.is_empty(), "{codec:?}: structs dropped");
            assert_eq!(job.batches[0].records(), 5);
            let mut acc = answer_job(acc, job, ErrorCode::InvalidRecord, -1, t0);
            assert_eq!(acc.stats().msg_size, 0, "{codec:?}: nothing left counted");
            for (f, want) in futures.into_iter().zip(&sent) {
                let e = f.wait_timeout(Duration::from_secs(1)).unwrap().unwrap_err();
                let got = e.record.expect("the record comes back");
                assert_eq!(got.key, want.key, "{codec:?}");
                assert_eq!(got.value, want.value, "{codec:?}");
                assert_eq!(got.headers, want.headers, "{codec:?}");
                assert_eq!(got.partition, Some(0));
                assert!(got.timestamp.is_some());
            }
        }
    }

    /// Records with callbacks are shed too, their callbacks kept aside in
    /// order: each callback gets its own record's offset on success, and
    /// its record back (read from the encoded batch) on failure; records
    /// without one, mixed in, report through their futures.
    #[test]
    fn callbacks_of_a_shed_batch_get_their_own_offsets_and_records() {
        use super::super::delivery::DeliveryResult;
        let t0 = Instant::now();
        for fail in [false, true] {
            let cfg = Settings::default();
            let mut acc = Accumulator::new(cfg.clone(), None);
            acc.want_topic("t");
            acc.set_topic("t", Ok(vec![Some(1)]), t0);
            let got: Arc<Mutex<Vec<(usize, DeliveryResult)>>> = Arc::default();
            let mut futures = Vec::new();
            for i in 0..6usize {
                let r = ProducerRecord::new("t")
                    .partition(0)
                    .key(format!("k{i}"))
                    .value(format!("v{i}"));
                if i % 3 == 1 {
                    futures.push((i, acc.enqueue(r, None, t0).ok().unwrap()));
                } else {
                    let got = got.clone();
                    let cb: super::super::delivery::Callback =
                        Box::new(move |res| got.lock().unwrap().push((i, res)));
                    assert!(acc.enqueue(r, Some(cb), t0).is_ok());
                }
            }
            let (acc, job) = drain_and_encode(acc, &cfg, t0);
            let b = &job.batches[0];
            assert!(b.msgs.is_empty(), "structs dropped");
            assert_eq!(b.shed_callbacks.len(), 6);
            assert_eq!(b.records(), 6);
            let mut acc = if fail {
                answer_job(acc, job, ErrorCode::InvalidRecord, -1, t0)
            } else {
                answer_job(acc, job, ErrorCode::NoError, 100, t0)
            };
            assert_eq!(acc.stats().msg_size, 0, "nothing left counted");
            let got = std::mem::take(&mut *got.lock().unwrap());
            assert_eq!(
                got.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
                vec![0, 2, 3, 5],
                "every callback once, in order"
            );
            for (i, res) in got {
                match res {
                    Ok(md) => {
                        assert!(!fail);
                        assert_eq!(md.offset, 100 + i as i64);
                        assert_eq!(md.partition, 0);
                    }
                    Err(e) => {
                        assert!(fail);
                        let r = e.record.expect("the record comes back");
                        assert_eq!(r.value.as_deref(), Some(format!("v{i}").as_bytes()));
                        assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
                    }
                }
            }
            for (i, f) in futures {
                match f.wait_timeout(Duration::from_secs(1)).unwrap() {
                    Ok(md) => assert_eq!(md.offset, 100 + i as i64),
                    Err(e) => {
                        assert!(fail);
                        let r = e.record.expect("the record comes back");
                        assert_eq!(r.value.as_deref(), Some(format!("v{i}").as_bytes()));
                    }
                }
            }
        }
    }

    #[test]
    fn leaders_come_from_fresh_cluster_answers_only() {
        let t0 = Instant::now();
        let fake = FakeCluster {
            brokers: vec![1, 2],
            ..FakeCluster::default()
        };
        let mut acc = Accumulator::new(Settings::default(), None);
        let mut applied = Applied::default();
        let _f = acc.enqueue(ProducerRecord::new("t").value("v"), None, t0);
        applied.sync(&mut acc, &fake, true, t0);
        assert_eq!(acc.partition_count("t"), None, "no answer yet");
        // Broker 3 leads partition 1 but no metadata gave its address: no
        // leader, and the topic is asked for again.
        let first = answer(&[(1, 0), (3, 0)]);
        fake.topics.lock().unwrap().insert("t".into(), first);
        applied.sync(&mut acc, &fake, false, t0);
        assert_eq!(acc.partition_count("t"), Some(2));
        assert!(acc.metadata_incomplete());
        assert_eq!(*fake.refreshes.lock().unwrap(), vec!["t".to_string()]);
        // The same answer is not applied (nor asked for) again.
        applied.sync(&mut acc, &fake, true, t0);
        assert_eq!(fake.refreshes.lock().unwrap().len(), 1);
        // A fresh answer gives partition 1 a known leader.
        fake.topics
            .lock()
            .unwrap()
            .insert("t".into(), answer(&[(1, 0), (2, 1)]));
        applied.sync(&mut acc, &fake, true, t0);
        assert!(!acc.metadata_incomplete());
        assert_eq!(fake.refreshes.lock().unwrap().len(), 1);
    }
}
