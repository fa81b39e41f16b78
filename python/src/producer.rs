//! The native producer behind `ferrokafka.KafkaProducer` and its
//! `FutureRecordMetadata`.
//!
//! Owns the blocking semantics kafka-python defines on top of the Rust
//! producer's non-blocking `send`: waiting up to `max_block_ms` for a
//! topic's metadata and for buffer space (`KafkaTimeoutError` after), the
//! per-record future with kafka-python's methods, and the delivery thread
//! that runs Python callbacks.
//!
//! Threads: the Rust producer reports each record on its background thread,
//! which never takes the GIL: it stores the outcome in the record's slot and
//! wakes waiters. Futures that have callbacks are then queued to the
//! producer's delivery thread (a Python daemon thread the package starts,
//! named `ferrokafka-delivery`), which runs the callbacks in completion
//! order with the GIL. A callback added to a future that is already done
//! runs at once on the thread that adds it, as in kafka-python.
//! `flush()` returns only once the callbacks of the records it waited for
//! have run (unless called from a callback, where that would deadlock).

use crate::{bind_args, client_config, error_object_from, hooks, local_error, to_pyerr, SLICE};
use ferrokafka::producer::{DeliveryResult, FlushError, ProducerRecord};
use ferrokafka::record::Header;
use ferrokafka::ErrorCode;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyTuple};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Callers only assign plain values under these locks: a poisoned lock
    // still holds consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How one record ended, copied out of the Rust report so the producer's
/// thread never touches Python objects.
enum Outcome {
    Delivered {
        partition: i32,
        offset: i64,
        timestamp: i64,
    },
    Failed {
        code: i32,
        name: &'static str,
        message: String,
        retriable: bool,
    },
}

#[derive(Default)]
struct SlotState {
    outcome: Option<Outcome>,
    /// `(callable, is_errback)` not yet run.
    callbacks: Vec<(Py<PyAny>, bool)>,
    /// The RecordMetadata or exception, built once on first use.
    value: Option<Py<PyAny>>,
}

/// One record's report, shared by its future and the Rust callback.
struct Slot {
    state: Mutex<SlotState>,
    done: Condvar,
    topic: Arc<str>,
    key_size: i64,
    value_size: i64,
    header_size: i64,
}

impl Slot {
    fn complete(self: &Arc<Self>, result: DeliveryResult, deliveries: &Deliveries) {
        let outcome = match result {
            Ok(m) => Outcome::Delivered {
                partition: m.partition,
                offset: m.offset,
                timestamp: m.timestamp,
            },
            Err(e) => {
                let code = e.error.code();
                Outcome::Failed {
                    code: code.code(),
                    name: code.name(),
                    message: e.error.message().to_string(),
                    retriable: e.error.is_retriable(),
                }
            }
        };
        let has_callbacks = {
            let mut st = lock(&self.state);
            if st.outcome.is_some() {
                return;
            }
            st.outcome = Some(outcome);
            !st.callbacks.is_empty()
        };
        self.done.notify_all();
        if has_callbacks {
            deliveries.queue(self.clone());
        }
    }

    /// The RecordMetadata (Ok) or the exception (Err) of a done slot, built
    /// once. No lock is held while Python code runs (it may release the GIL
    /// to a thread that wants the lock).
    fn value(&self, py: Python<'_>) -> PyResult<Option<(Py<PyAny>, bool)>> {
        enum Snap {
            Ok(i32, i64, i64),
            Err(i32, &'static str, String, bool),
        }
        let snap = {
            let st = lock(&self.state);
            let failed = match &st.outcome {
                None => return Ok(None),
                Some(o) => matches!(o, Outcome::Failed { .. }),
            };
            if let Some(v) = &st.value {
                return Ok(Some((v.clone_ref(py), failed)));
            }
            match st.outcome.as_ref().expect("checked above") {
                Outcome::Delivered {
                    partition,
                    offset,
                    timestamp,
                } => Snap::Ok(*partition, *offset, *timestamp),
                Outcome::Failed {
                    code,
                    name,
                    message,
                    retriable,
                } => Snap::Err(*code, name, message.clone(), *retriable),
            }
        };
        let h = hooks()?;
        let (v, failed) = match snap {
            Snap::Ok(partition, offset, timestamp) => {
                let tp = h.named(
                    py,
                    &h.topic_partition,
                    (self.topic.as_ref(), partition).into_pyobject(py)?,
                )?;
                let fields = (
                    self.topic.as_ref(),
                    partition,
                    tp,
                    offset,
                    timestamp,
                    py.None(),
                    self.key_size,
                    self.value_size,
                    self.header_size,
                )
                    .into_pyobject(py)?;
                let m = h.named(py, &h.record_metadata, fields)?;
                (m, false)
            }
            Snap::Err(code, name, message, retriable) => (
                error_object_from(py, code, name, &message, retriable)?,
                true,
            ),
        };
        let mut st = lock(&self.state);
        // Another thread may have built it meanwhile: keep the first.
        let v = st.value.get_or_insert(v).clone_ref(py);
        Ok(Some((v, failed)))
    }

    /// Runs the callbacks registered so far (the delivery thread's job).
    fn run_callbacks(&self, py: Python<'_>) {
        let callbacks = std::mem::take(&mut lock(&self.state).callbacks);
        let (value, failed) = match self.value(py) {
            Ok(Some(v)) => v,
            Ok(None) => return,
            Err(e) => {
                e.print(py);
                return;
            }
        };
        let chosen = callbacks
            .into_iter()
            .filter(|(_, errback)| *errback == failed)
            .map(|(f, _)| f)
            .collect();
        crate::run_callbacks(py, chosen, &value);
    }
}

/// The queue of futures whose callbacks wait for the delivery thread.
struct Deliveries {
    tx: Mutex<Option<mpsc::Sender<Arc<Slot>>>>,
    rx: Mutex<mpsc::Receiver<Arc<Slot>>>,
    /// Futures queued and not yet run.
    pending: Mutex<usize>,
    drained: Condvar,
    thread: Mutex<Option<ThreadId>>,
}

impl Deliveries {
    fn new() -> Self {
        let (tx, rx) = mpsc::channel();
        Deliveries {
            tx: Mutex::new(Some(tx)),
            rx: Mutex::new(rx),
            pending: Mutex::new(0),
            drained: Condvar::new(),
            thread: Mutex::new(None),
        }
    }

    fn queue(&self, slot: Arc<Slot>) {
        let tx = lock(&self.tx);
        if let Some(tx) = tx.as_ref() {
            *lock(&self.pending) += 1;
            if tx.send(slot).is_err() {
                *lock(&self.pending) -= 1;
            }
        }
    }

    fn done_one(&self) {
        let mut n = lock(&self.pending);
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.drained.notify_all();
        }
    }

    fn on_delivery_thread(&self) -> bool {
        *lock(&self.thread) == Some(std::thread::current().id())
    }
}

/// Waits up to `deadline` (None: no limit) for `ready`, in slices with the
/// GIL released, checking for signals between slices. Returns whether
/// `ready` held.
fn wait_sliced<T>(
    py: Python<'_>,
    mutex: &Mutex<T>,
    cv: &Condvar,
    deadline: Option<Instant>,
    ready: impl Fn(&T) -> bool + Send + Sync,
) -> PyResult<bool>
where
    T: Send,
{
    loop {
        let slice = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(ready(&lock(mutex)));
                }
                left.min(SLICE)
            }
            None => SLICE,
        };
        let ok = py.detach(|| {
            let g = lock(mutex);
            if ready(&g) {
                return true;
            }
            let (g, _) = cv.wait_timeout(g, slice).unwrap_or_else(|p| p.into_inner());
            ready(&g)
        });
        if ok {
            return Ok(true);
        }
        py.check_signals()?;
    }
}

/// The handle `KafkaProducer.send` returns: resolves to a `RecordMetadata`
/// or fails with the package's exception for the delivery error.
#[pyclass(frozen, module = "ferrokafka._ferrokafka")]
pub(crate) struct FutureRecordMetadata {
    slot: Arc<Slot>,
}

#[pymethods]
impl FutureRecordMetadata {
    /// Waits up to `timeout` seconds (None: without limit) for the report;
    /// returns the RecordMetadata, raises the delivery error, or raises
    /// KafkaTimeoutError when the timeout passes first. Ctrl-C interrupts
    /// the wait.
    #[pyo3(signature = (timeout=None))]
    fn get(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        let limit = crate::timeout_from_secs(timeout)?;
        let deadline = limit.map(|d| Instant::now() + d);
        let s = &self.slot;
        if !wait_sliced(py, &s.state, &s.done, deadline, |st| st.outcome.is_some())? {
            let shown = timeout.map_or("None".to_string(), |t| t.to_string());
            return Err(local_error(
                py,
                ErrorCode::TimedOut,
                &format!("Timeout after waiting for {shown} secs."),
            ));
        }
        let (v, failed) = s.value(py)?.expect("done");
        if failed {
            Err(PyErr::from_value(v.into_bound(py)))
        } else {
            Ok(v)
        }
    }

    /// Whether the record was delivered or failed.
    #[getter]
    fn is_done(&self) -> bool {
        lock(&self.slot.state).outcome.is_some()
    }

    /// The RecordMetadata once delivered, else None.
    #[getter]
    fn value(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        Ok(match self.slot.value(py)? {
            Some((v, false)) => Some(v),
            _ => None,
        })
    }

    /// The exception once failed, else None.
    #[getter]
    fn exception(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        Ok(match self.slot.value(py)? {
            Some((v, true)) => Some(v),
            _ => None,
        })
    }

    /// Done and delivered.
    fn succeeded(&self) -> bool {
        matches!(
            lock(&self.slot.state).outcome,
            Some(Outcome::Delivered { .. })
        )
    }

    /// Done and failed.
    fn failed(&self) -> bool {
        matches!(lock(&self.slot.state).outcome, Some(Outcome::Failed { .. }))
    }

    /// Failed with an error worth retrying.
    fn retriable(&self) -> bool {
        matches!(
            lock(&self.slot.state).outcome,
            Some(Outcome::Failed {
                retriable: true,
                ..
            })
        )
    }

    /// Calls `f(*args, metadata, **kwargs)` when the record is delivered;
    /// returns this future (chainable).
    #[pyo3(signature = (f, *args, **kwargs))]
    fn add_callback(
        slf: Bound<'_, Self>,
        f: Py<PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Self>> {
        let f = bind_args(slf.py(), f, args, kwargs)?;
        slf.get().add(slf.py(), f, false)?;
        Ok(slf.unbind())
    }

    /// Calls `f(*args, exception, **kwargs)` when the record fails; returns
    /// this future (chainable).
    #[pyo3(signature = (f, *args, **kwargs))]
    fn add_errback(
        slf: Bound<'_, Self>,
        f: Py<PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Self>> {
        let f = bind_args(slf.py(), f, args, kwargs)?;
        slf.get().add(slf.py(), f, true)?;
        Ok(slf.unbind())
    }

    /// `f` as both callback and errback.
    #[pyo3(signature = (f, *args, **kwargs))]
    fn add_both(
        slf: Bound<'_, Self>,
        f: Py<PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<Self>> {
        let py = slf.py();
        let f = bind_args(py, f, args, kwargs)?;
        slf.get().add(py, f.clone_ref(py), false)?;
        slf.get().add(py, f, true)?;
        Ok(slf.unbind())
    }

    fn __repr__(&self) -> String {
        let st = lock(&self.slot.state);
        let state = match &st.outcome {
            None => "pending".to_string(),
            Some(Outcome::Delivered {
                partition, offset, ..
            }) => format!("delivered to [{partition}] at offset {offset}"),
            Some(Outcome::Failed { name, .. }) => format!("failed with {name}"),
        };
        format!("<FutureRecordMetadata {} {state}>", self.slot.topic)
    }
}

impl FutureRecordMetadata {
    fn add(&self, py: Python<'_>, f: Py<PyAny>, errback: bool) -> PyResult<()> {
        {
            let mut st = lock(&self.slot.state);
            if st.outcome.is_none() {
                st.callbacks.push((f, errback));
                return Ok(());
            }
        }
        // Already done: run it now, on this thread, outside the lock.
        let (v, failed) = self.slot.value(py)?.expect("done");
        if failed == errback {
            crate::run_callbacks(py, vec![f], &v);
        }
        Ok(())
    }
}

/// The native producer; `ferrokafka.KafkaProducer` is its kafka-python face.
#[pyclass(frozen, module = "ferrokafka._ferrokafka")]
pub(crate) struct Producer {
    inner: ferrokafka::producer::Producer,
    /// Topics whose metadata the producer has (send need not wait).
    /// (The shared name is reused by every record and report of the topic.)
    known: RwLock<HashMap<String, Arc<str>>>,
    deliveries: Arc<Deliveries>,
    max_block: Duration,
    closed: AtomicBool,
    /// The configuration, for the metadata client of `bootstrap_connected`.
    config: ferrokafka::ClientConfig,
    connected: AtomicBool,
}

impl Producer {
    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(local_error(
                py,
                ErrorCode::State,
                "KafkaProducer already closed!",
            ));
        }
        Ok(())
    }

    /// kafka-python's KafkaTimeoutError for metadata that did not come,
    /// with the cause the client knows (a refused connection, a host name
    /// that does not resolve).
    fn metadata_timeout(&self, py: Python<'_>, cause: &ferrokafka::Error) -> PyErr {
        local_error(
            py,
            ErrorCode::TimedOut,
            &format!(
                "Failed to update metadata after {:.1} secs: {}",
                self.max_block.as_secs_f64(),
                cause.message()
            ),
        )
    }

    /// The partitions of `topic`, waiting up to max_block_ms for metadata.
    ///
    /// The Rust call waits without a way to interrupt it, so when the
    /// metadata is not at hand it runs on a helper thread while this one
    /// waits in slices, checking for signals (Ctrl-C leaves the helper to
    /// finish within max_block_ms on its own).
    fn partitions(&self, py: Python<'_>, topic: &str) -> PyResult<Vec<i32>> {
        let known = self
            .known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(topic);
        if known {
            // Cached: the Rust call answers without waiting.
            return py
                .detach(|| self.inner.partitions_for(topic))
                .map_err(|e| to_pyerr(py, &e));
        }
        let producer = self.inner.clone();
        let name = topic.to_string();
        let r = crate::wait_on_thread(py, "ferrokafka-metadata", move || {
            producer.partitions_for(&name)
        })?;
        match r {
            Ok(p) => {
                self.connected.store(true, Ordering::Release);
                Ok(p)
            }
            // Authentication, TLS and other causes are raised as
            // themselves (AuthenticationFailedError, ...).
            Err(e) if matches!(e.code(), ErrorCode::UnknownTopic | ErrorCode::TimedOut) => {
                Err(self.metadata_timeout(py, &e))
            }
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    fn flush_within(&self, py: Python<'_>, deadline: Option<Instant>) -> PyResult<bool> {
        loop {
            let slice = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(SLICE),
                None => SLICE,
            };
            match py.detach(|| self.inner.flush(slice)) {
                Ok(()) => break,
                Err(FlushError::Fatal(e)) => return Err(to_pyerr(py, &e)),
                Err(_) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Ok(false);
                    }
                    py.check_signals()?;
                }
            }
        }
        let d = &self.deliveries;
        if d.on_delivery_thread() {
            return Ok(true);
        }
        wait_sliced(py, &d.pending, &d.drained, deadline, |n| *n == 0)
    }
}

impl Producer {
    /// The body of both send methods.
    #[allow(clippy::too_many_arguments)]
    fn send_record(
        &self,
        py: Python<'_>,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<Vec<(String, Option<Vec<u8>>)>>,
        partition: Option<i32>,
        timestamp_ms: Option<i64>,
    ) -> PyResult<FutureRecordMetadata> {
        self.check_open(py)?;
        let deadline = Instant::now() + self.max_block;
        let cached = self
            .known
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(topic)
            .cloned();
        let name = match cached {
            Some(n) => n,
            None => {
                let parts = self.partitions(py, topic)?;
                if let Some(p) = partition {
                    if !parts.contains(&p) {
                        return Err(PyValueError::new_err(format!(
                            "Unrecognized partition {p} for topic {topic}"
                        )));
                    }
                }
                self.remember(topic)
            }
        };
        let key_size = key.map_or(-1, |k| k.len() as i64);
        let value_size = value.map_or(-1, |v| v.len() as i64);
        let mut record = ProducerRecord::new(name.clone());
        if let Some(k) = key {
            record = record.key(k.to_vec());
        }
        if let Some(v) = value {
            record = record.value(v.to_vec());
        }
        let header_size = match headers {
            Some(hs) if !hs.is_empty() => {
                let size = hs
                    .iter()
                    .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                    .sum::<usize>() as i64;
                record = record.headers(
                    hs.into_iter()
                        .map(|(k, v)| Header::new(k, v))
                        .collect::<Vec<_>>(),
                );
                size
            }
            _ => -1,
        };
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if let Some(ts) = timestamp_ms {
            record = record.timestamp(ts);
        }
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::default()),
            done: Condvar::new(),
            topic: name,
            key_size,
            value_size,
            header_size,
        });
        let mut pause = Duration::from_micros(200);
        loop {
            let s = slot.clone();
            let d = self.deliveries.clone();
            match self
                .inner
                .send_with_callback(record, move |r| s.complete(r, &d))
            {
                Ok(()) => return Ok(FutureRecordMetadata { slot }),
                Err(e) if e.error.code() == ErrorCode::QueueFull => {
                    if Instant::now() >= deadline {
                        return Err(local_error(
                            py,
                            ErrorCode::TimedOut,
                            &format!(
                                "Failed to allocate memory within the configured max blocking time {} ms.",
                                self.max_block.as_millis()
                            ),
                        ));
                    }
                    record = e.record;
                    // Space frees as batches are acknowledged; poll for it
                    // with a growing pause (the Rust producer's blocking send
                    // has no callback form).
                    py.detach(|| std::thread::sleep(pause));
                    pause = (pause * 2).min(Duration::from_millis(10));
                    py.check_signals()?;
                }
                Err(e) if e.error.code() == ErrorCode::UnknownPartition => {
                    // kafka-python's error for a partition the topic lacks.
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "Unrecognized partition {} for topic {topic}",
                        partition.unwrap_or(-1)
                    )));
                }
                Err(e) => return Err(to_pyerr(py, &e.error)),
            }
        }
    }

    /// Notes that `topic` has metadata; returns its shared name.
    fn remember(&self, topic: &str) -> Arc<str> {
        self.known
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(topic.to_string())
            .or_insert_with(|| Arc::from(topic))
            .clone()
    }
}

#[pymethods]
impl Producer {
    /// A producer from `(property, value)` pairs (ferrokafka's property
    /// names or their aliases).
    #[new]
    #[pyo3(signature = (config, token_provider=None))]
    fn new(
        py: Python<'_>,
        config: Vec<(String, String)>,
        token_provider: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let cfg = client_config(config, token_provider);
        let validated = cfg
            .validate(ferrokafka::config::ClientRole::Producer)
            .map_err(|e| to_pyerr(py, &e))?;
        let max_block = validated.get_duration("max.block.ms");
        let inner = py
            .detach(|| ferrokafka::producer::Producer::new(&cfg))
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(Producer {
            inner,
            known: RwLock::new(HashMap::new()),
            deliveries: Arc::new(Deliveries::new()),
            max_block,
            closed: AtomicBool::new(false),
            config: cfg,
            connected: AtomicBool::new(false),
        })
    }

    /// Enqueues one record (key, value and header values already bytes);
    /// waits up to max_block_ms for the topic's metadata and for buffer
    /// space, then raises KafkaTimeoutError.
    #[pyo3(signature = (topic, key, value, headers, partition, timestamp_ms))]
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        py: Python<'_>,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<Vec<(String, Option<Vec<u8>>)>>,
        partition: Option<i32>,
        timestamp_ms: Option<i64>,
    ) -> PyResult<FutureRecordMetadata> {
        self.send_record(py, topic, key, value, headers, partition, timestamp_ms)
    }

    /// `KafkaProducer.send` itself for a producer without serializers or a
    /// Python partitioner: kafka-python's signature and checks, without a
    /// Python frame per record.
    #[pyo3(signature = (topic, value=None, key=None, headers=None, partition=None, timestamp_ms=None))]
    #[allow(clippy::too_many_arguments)]
    fn send_kp(
        &self,
        py: Python<'_>,
        topic: &str,
        value: Option<&Bound<'_, PyAny>>,
        key: Option<&Bound<'_, PyAny>>,
        headers: Option<&Bound<'_, PyAny>>,
        partition: Option<i32>,
        timestamp_ms: Option<i64>,
    ) -> PyResult<FutureRecordMetadata> {
        self.check_open(py)?;
        let value = value.filter(|v| !v.is_none());
        let key = key.filter(|k| !k.is_none());
        if value.is_none() && key.is_none() {
            return Err(PyValueError::new_err("Need at least one: key or value"));
        }
        let headers = match headers.filter(|h| !h.is_none()) {
            None => None,
            Some(h) => {
                if !h.is_instance_of::<PyList>() {
                    return Err(PyTypeError::new_err("headers must be list-type"));
                }
                Some(h.extract::<Vec<(String, Option<Vec<u8>>)>>().map_err(|_| {
                    PyTypeError::new_err("All headers items must be (str, bytes) tuples")
                })?)
            }
        };
        if partition.is_some_and(|p| p < 0) {
            return Err(PyValueError::new_err("partition must be >= 0"));
        }
        let key_bytes = key.map(|k| serialized(k, "key")).transpose()?;
        let value_bytes = value.map(|v| serialized(v, "value")).transpose()?;
        self.send_record(
            py,
            topic,
            key_bytes.as_ref().map(|k| k.as_bytes()),
            value_bytes.as_ref().map(|v| v.as_bytes()),
            headers,
            partition,
            timestamp_ms,
        )
    }
    /// Sends everything queued now and waits up to `timeout` seconds for
    /// every report and its callbacks; raises KafkaTimeoutError after.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        let deadline = crate::timeout_from_secs(timeout)?.map(|d| Instant::now() + d);
        if self.flush_within(py, deadline)? {
            Ok(())
        } else {
            let shown = timeout.map_or("None".to_string(), |t| t.to_string());
            Err(local_error(
                py,
                ErrorCode::TimedOut,
                &format!("Timeout after waiting for {shown} secs."),
            ))
        }
    }

    /// Flushes for up to `timeout` seconds, then fails what is left
    /// (`PurgeQueue`/`PurgeInflight`) and stops. Idempotent.
    #[pyo3(signature = (timeout=None))]
    fn close(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let deadline = crate::timeout_from_secs(timeout)?.map(|d| Instant::now() + d);
        let flushed = self.flush_within(py, deadline);
        let _ = py.detach(|| self.inner.close(Duration::ZERO));
        // Reports of purged records are in; let their callbacks run, then
        // end the delivery thread.
        let d = &self.deliveries;
        if !d.on_delivery_thread() {
            let _ = wait_sliced(
                py,
                &d.pending,
                &d.drained,
                Some(Instant::now() + Duration::from_secs(1)),
                |n| *n == 0,
            );
        }
        lock(&d.tx).take();
        flushed.map(|_| ())
    }

    /// The partition ids of `topic`, waiting up to max_block_ms for them.
    fn partitions_for(&self, py: Python<'_>, topic: &str) -> PyResult<Vec<i32>> {
        self.check_open(py)?;
        let p = self.partitions(py, topic)?;
        self.remember(topic);
        Ok(p)
    }

    /// `init_transactions`: waits up to max_block_ms.
    fn init_transactions(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open(py)?;
        let t = self.max_block;
        crate::txn::call(py, &self.inner, move |p| p.init_transactions_blocking(t))
    }

    /// `begin_transaction` (local: no request is sent).
    fn begin_transaction(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open(py)?;
        self.inner.begin_transaction().map_err(|e| to_pyerr(py, &e))
    }

    /// `send_offsets_to_transaction`: `offsets` as `(topic, partition,
    /// offset)`; waits up to max_block_ms.
    fn send_offsets_to_transaction(
        &self,
        py: Python<'_>,
        offsets: Vec<(String, i32, i64)>,
        group: crate::txn::GroupMetadata,
    ) -> PyResult<()> {
        self.check_open(py)?;
        let t = self.max_block;
        let group = crate::txn::group_metadata(group);
        crate::txn::call(py, &self.inner, move |p| {
            let borrowed: Vec<(&str, i32, i64)> = offsets
                .iter()
                .map(|(t, p, o)| (t.as_str(), *p, *o))
                .collect();
            p.send_offsets_to_transaction_blocking(&borrowed, &group, t)
        })
    }

    /// `commit_transaction`: flushes, then commits, within max_block_ms.
    fn commit_transaction(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open(py)?;
        let t = self.max_block;
        crate::txn::call(py, &self.inner, move |p| p.commit_transaction_blocking(t))
    }

    /// `abort_transaction`: drops what is queued, then aborts, within
    /// max_block_ms.
    fn abort_transaction(&self, py: Python<'_>) -> PyResult<()> {
        self.check_open(py)?;
        let t = self.max_block;
        crate::txn::call(py, &self.inner, move |p| p.abort_transaction_blocking(t))
    }

    /// Whether a broker answered: true once metadata arrived; otherwise
    /// asks the bootstrap brokers for metadata (up to 2 seconds).
    fn bootstrap_connected(&self, py: Python<'_>) -> bool {
        if self.connected.load(Ordering::Acquire) {
            return true;
        }
        let ok = py.detach(|| {
            ferrokafka::AdminClient::new(&self.config)
                .and_then(|a| a.metadata_blocking(None, Duration::from_secs(2)))
                .is_ok()
        });
        if ok {
            self.connected.store(true, Ordering::Release);
        }
        ok
    }

    /// The producer's statistics as JSON (librdkafka's field names).
    fn stats_json(&self) -> String {
        serde_json::to_string(&self.inner.stats()).unwrap_or_else(|_| "{}".to_string())
    }

    /// Records not yet reported.
    fn in_flight_count(&self) -> usize {
        self.inner.in_flight_count()
    }

    /// The delivery thread's loop: runs queued callbacks until the producer
    /// is closed. The package starts it on a daemon thread.
    fn run_deliveries(&self, py: Python<'_>) {
        let d = &self.deliveries;
        *lock(&d.thread) = Some(std::thread::current().id());
        loop {
            let next = py.detach(|| lock(&d.rx).recv_timeout(SLICE));
            match next {
                Ok(slot) => {
                    slot.run_callbacks(py);
                    d.done_one();
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if lock(&d.tx).is_none() {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // Ends the delivery thread; the Rust producer stops when dropped.
        lock(&self.deliveries.tx).take();
    }
}

/// Java's (and kafka-python's) murmur2 hash of `data`, as used by the
/// default partitioner: `(murmur2(key) & 0x7fffffff) % partitions`.
#[pyfunction]
pub(crate) fn murmur2(data: &[u8]) -> u32 {
    ferrokafka::producer::murmur2(data)
}

/// A serialized key or value as bytes: bytes as they are, bytearray and
/// memoryview copied; anything else is kafka-python's TypeError.
fn serialized<'py>(data: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyBytes>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.clone());
    }
    if data.is_instance_of::<PyByteArray>() || data.hasattr("tobytes")? {
        let bytes = data.py().get_type::<PyBytes>().call1((data,))?;
        return Ok(bytes.cast_into::<PyBytes>()?);
    }
    Err(PyTypeError::new_err(format!(
        "Unsupported type for serialized {what}: {}",
        data.get_type().name()?
    )))
}
