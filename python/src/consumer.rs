//! The native consumer behind `ferrokafka.KafkaConsumer`.
//!
//! Owns the translation of the Rust consumer's calls into blocking,
//! interruptible Python calls: polling in slices with the GIL released,
//! building `ConsumerRecord`s grouped by `TopicPartition`, the rebalance
//! listener bridge and the async Rust calls (offset lookups, commits with
//! metadata, metadata) run to completion on a shared runtime.
//!
//! Threads: deserializers run on the thread that calls `poll`, with the GIL.
//! The rebalance listener runs on the Rust consumer's rebalance thread,
//! which takes the GIL for it; the group waits for it to return before the
//! revoked partitions are given up.

use crate::{client_config, hooks, local_error, to_pyerr, SLICE};
use ferrokafka::consumer::{Offset, Rebalance, Timestamp};
use ferrokafka::{ErrorCode, TopicPartition};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use pyo3::BoundObject;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The runtime the async Rust calls run on: a multi-thread runtime, so
/// anything registered with its reactor keeps being driven between calls.
fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<std::io::Result<tokio::runtime::Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ferrokafka-py")
            .enable_all()
            .build()
    })
    .as_ref()
    .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("no tokio runtime: {e}")))
}

/// Runs `fut` to completion with the GIL released.
fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl std::future::Future<Output = T> + Send,
) -> PyResult<T> {
    let rt = runtime()?;
    Ok(py.detach(|| rt.block_on(fut)))
}

/// kafka-python's start positions: where an assigned partition begins.
fn offset_of(kind: &str, value: i64) -> PyResult<Offset> {
    Ok(match kind {
        "stored" => Offset::Stored,
        "beginning" => Offset::Beginning,
        "end" => Offset::End,
        "offset" => Offset::Offset(value),
        "timestamp" => Offset::Timestamp(value),
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown offset kind {kind}"
            )))
        }
    })
}

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> PyResult<Py<PyAny>> {
    v.into_pyobject(py)
        .map(|b| b.into_any().unbind())
        .map_err(Into::into)
}

fn secs(t: f64) -> Duration {
    if t.is_finite() && t > 0.0 {
        Duration::from_secs_f64(t.min(1e9))
    } else {
        Duration::ZERO
    }
}

/// The exception for an error the Rust consumer handed out. kafka-python
/// tells a fetch position past the log (`OffsetOutOfRangeError`) from a
/// partition with no position at all (`NoOffsetForPartitionError`) when
/// there is no reset policy; the Rust consumer reports both as
/// `_AUTO_OFFSET_RESET`, with the offending offset only in the first case.
fn consumer_error(py: Python<'_>, e: &ferrokafka::consumer::ConsumerError) -> PyErr {
    if e.code() == ErrorCode::AutoOffsetReset && e.offset().is_some() {
        let out_of_range = ferrokafka::Error::new(ErrorCode::OffsetOutOfRange, e.error().message());
        return to_pyerr(py, &out_of_range);
    }
    to_pyerr(py, e.error())
}

/// The native consumer; `ferrokafka.KafkaConsumer` is its kafka-python face.
#[pyclass(frozen, module = "ferrokafka._ferrokafka")]
pub(crate) struct Consumer {
    inner: Arc<ferrokafka::consumer::Consumer>,
    config: ferrokafka::ClientConfig,
    /// An error that arrived in a poll which also returned records: the
    /// records go out first and the next poll raises it, as kafka-python
    /// does (the Rust consumer hands each error out once, so it is kept
    /// here rather than lost).
    pending_error: std::sync::Mutex<Option<ferrokafka::consumer::ConsumerError>>,
}

/// A committed offset as Python sees it: `(topic, partition, offset or
/// None, leader_epoch or -1, metadata)`.
type Committed = (String, i32, Option<i64>, i32, String);

fn parts_ref(parts: &[(String, i32)]) -> Vec<(&str, i32)> {
    parts.iter().map(|(t, p)| (t.as_str(), *p)).collect()
}

/// Partitions as Python sees them: `(topic, partition)` tuples, which the
/// Python package turns into kafka-python's `TopicPartition` namedtuple.
fn pairs(parts: &[TopicPartition]) -> Vec<(String, i32)> {
    parts
        .iter()
        .map(|tp| (tp.topic().to_string(), tp.partition()))
        .collect()
}

#[pymethods]
impl Consumer {
    /// A consumer from `(property, value)` pairs.
    #[new]
    #[pyo3(signature = (config, token_provider=None))]
    fn new(
        py: Python<'_>,
        config: Vec<(String, String)>,
        token_provider: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let cfg = client_config(config, token_provider);
        let inner = py
            .detach(|| ferrokafka::consumer::Consumer::new(&cfg))
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(Consumer {
            inner: Arc::new(inner),
            config: cfg,
            pending_error: std::sync::Mutex::new(None),
        })
    }

    /// Replaces the assignment: `(topic, partition, kind, value)` with kind
    /// stored, beginning, end, offset or timestamp.
    fn assign(&self, py: Python<'_>, parts: Vec<(String, i32, String, i64)>) -> PyResult<()> {
        let mut v = Vec::with_capacity(parts.len());
        for (t, p, k, o) in &parts {
            v.push((t.as_str(), *p, offset_of(k, *o)?));
        }
        self.inner.assign(&v).map_err(|e| to_pyerr(py, &e))
    }

    /// `(group_id, generation_id, member_id, group_instance_id)` of the
    /// group membership (generation -1 before the first join); None
    /// without a group.
    fn group_metadata(&self) -> Option<crate::txn::GroupMetadata> {
        self.inner.group_metadata().map(|g| {
            (
                g.group_id().to_string(),
                g.generation_id(),
                g.member_id().to_string(),
                g.group_instance_id().map(str::to_string),
            )
        })
    }

    /// The assigned partitions.
    fn assignment(&self) -> Vec<(String, i32)> {
        pairs(&self.inner.assignment())
    }

    /// Joins the group for `topics` (names or `^regex`); `listener(kind,
    /// [(topic, partition)])` is called on each rebalance with kind
    /// assigned, revoked or lost.
    #[pyo3(signature = (topics, listener=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        topics: Vec<String>,
        listener: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        if let Some(l) = listener {
            let l = Arc::new(l);
            self.inner.set_rebalance_callback(move |_, ev| {
                let (kind, parts) = match ev {
                    Rebalance::Assigned(p) => ("assigned", p),
                    Rebalance::Revoked(p) => ("revoked", p),
                    Rebalance::Lost(p) => ("lost", p),
                };
                // During interpreter shutdown there is no one to tell.
                let _ = Python::try_attach(|py| {
                    if let Err(e) = l.call1(py, (kind, pairs(parts))) {
                        let logged =
                            hooks().and_then(|h| h.callback_failed.call1(py, (e.value(py),)));
                        if let Err(e2) = logged {
                            e2.print(py);
                        }
                    }
                });
            });
        }
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        self.inner.subscribe(&refs).map_err(|e| to_pyerr(py, &e))
    }

    /// Leaves the group.
    fn unsubscribe(&self, py: Python<'_>) -> PyResult<()> {
        let c = self.inner.clone();
        block_on(py, async move { c.unsubscribe().await })?.map_err(|e| to_pyerr(py, &e))
    }

    /// The subscribed topics and patterns.
    fn subscription(&self) -> Vec<String> {
        self.inner.subscription()
    }

    /// Up to `max_records` records within `timeout` seconds, as
    /// `{TopicPartition: [ConsumerRecord]}`; `key_deserializer` and
    /// `value_deserializer` (when given) are called as `f(topic, headers,
    /// data)`.
    #[pyo3(signature = (timeout, max_records, key_deserializer=None, value_deserializer=None))]
    fn poll<'py>(
        &self,
        py: Python<'py>,
        timeout: f64,
        max_records: usize,
        key_deserializer: Option<Py<PyAny>>,
        value_deserializer: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let kept = self
            .pending_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(e) = kept {
            return Err(consumer_error(py, &e));
        }
        let deadline = Instant::now() + secs(timeout);
        let max_records = max_records.max(1);
        let mut messages = Vec::new();
        let mut error = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let inner = &self.inner;
            let first = py.detach(|| inner.poll(left.min(SLICE)));
            match first {
                Some(Ok(m)) => {
                    messages.push(m);
                    while messages.len() < max_records {
                        match inner.try_recv() {
                            Some(Ok(m)) => messages.push(m),
                            Some(Err(e)) => {
                                if e.code() != ErrorCode::PartitionEof {
                                    error = Some(e);
                                }
                                break;
                            }
                            None => break,
                        }
                    }
                    break;
                }
                Some(Err(e)) if e.code() == ErrorCode::PartitionEof => {}
                Some(Err(e)) => {
                    error = Some(e);
                    break;
                }
                None => {}
            }
            if Instant::now() >= deadline {
                break;
            }
            py.check_signals()?;
        }
        if let Some(e) = error {
            if messages.is_empty() {
                return Err(consumer_error(py, &e));
            }
            // Records first; the next poll raises the error.
            *self.pending_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        }
        let h = hooks()?;
        let out = PyDict::new(py);
        let mut current: Option<(Arc<str>, i32, Bound<'py, PyList>)> = None;
        for m in messages {
            let same = current
                .as_ref()
                .is_some_and(|(t, p, _)| Arc::ptr_eq(t, &m.topic) && *p == m.partition);
            if !same {
                let tp = h
                    .topic_partition
                    .call1(py, (m.topic.as_ref(), m.partition))?;
                let list = match out.get_item(tp.bind(py))? {
                    Some(l) => l.cast_into::<PyList>()?,
                    None => {
                        let l = PyList::empty(py);
                        out.set_item(tp, &l)?;
                        l
                    }
                };
                current = Some((m.topic.clone(), m.partition, list));
            }
            let list = &current.as_ref().expect("set above").2;
            let (ts, ts_type) = match m.timestamp {
                Timestamp::CreateTime(t) => (t, 0),
                Timestamp::LogAppendTime(t) => (t, 1),
                Timestamp::NotAvailable => (-1, -1),
            };
            let mut header_size: i64 = 0;
            let headers = PyList::empty(py);
            for (k, v) in m.header_pairs() {
                header_size += (k.len() + v.map_or(0, <[u8]>::len)) as i64;
                let name = String::from_utf8_lossy(k);
                let value: Py<PyAny> = match v {
                    Some(v) => PyBytes::new(py, v).into_any().unbind(),
                    None => py.None(),
                };
                headers.append(PyTuple::new(
                    py,
                    [name.into_pyobject(py)?.into_any().unbind(), value],
                )?)?;
            }
            if headers.is_empty() {
                header_size = -1;
            }
            let key_size = m.key().map_or(-1, |k| k.len() as i64);
            let value_size = m.value().map_or(-1, |v| v.len() as i64);
            let mut key: Py<PyAny> = match m.key() {
                Some(k) => PyBytes::new(py, k).into_any().unbind(),
                None => py.None(),
            };
            let mut value: Py<PyAny> = match m.value() {
                Some(v) => PyBytes::new(py, v).into_any().unbind(),
                None => py.None(),
            };
            if let Some(d) = &key_deserializer {
                key = d.call1(py, (m.topic.as_ref(), &headers, key))?;
            }
            if let Some(d) = &value_deserializer {
                value = d.call1(py, (m.topic.as_ref(), &headers, value))?;
            }
            let fields = [
                obj(py, m.topic.as_ref())?,
                obj(py, m.partition)?,
                obj(py, m.leader_epoch.unwrap_or(-1))?,
                obj(py, m.offset)?,
                obj(py, ts)?,
                obj(py, ts_type)?,
                key,
                value,
                headers.into_any().unbind(),
                py.None(),
                obj(py, key_size)?,
                obj(py, value_size)?,
                obj(py, header_size)?,
            ];
            let record = h.named(py, &h.consumer_record, PyTuple::new(py, fields)?)?;
            list.append(record)?;
        }
        Ok(out)
    }

    /// Continues the partition from `(kind, value)` (see `assign`).
    fn seek(
        &self,
        py: Python<'_>,
        topic: &str,
        partition: i32,
        kind: &str,
        value: i64,
    ) -> PyResult<()> {
        self.inner
            .seek(topic, partition, offset_of(kind, value)?)
            .map_err(|e| to_pyerr(py, &e))
    }

    fn pause(&self, py: Python<'_>, parts: Vec<(String, i32)>) -> PyResult<()> {
        self.inner
            .pause(&parts_ref(&parts))
            .map_err(|e| to_pyerr(py, &e))
    }

    fn resume(&self, py: Python<'_>, parts: Vec<(String, i32)>) -> PyResult<()> {
        self.inner
            .resume(&parts_ref(&parts))
            .map_err(|e| to_pyerr(py, &e))
    }

    /// The next offset the consumer returns for the partition, when known.
    fn position(&self, topic: &str, partition: i32) -> Option<i64> {
        self.inner.position(topic, partition)
    }

    /// The last high watermark seen in a fetch of the partition.
    fn highwater(&self, topic: &str, partition: i32) -> Option<i64> {
        self.inner.watermarks(topic, partition).map(|w| w.1)
    }

    /// Asks the leader for the partition's low and high watermarks.
    fn watermarks(
        &self,
        py: Python<'_>,
        topic: String,
        partition: i32,
        timeout: f64,
    ) -> PyResult<(i64, i64)> {
        let c = self.inner.clone();
        let t = secs(timeout);
        block_on(
            py,
            async move { c.fetch_watermarks(&topic, partition, t).await },
        )?
        .map_err(|e| to_pyerr(py, &e))
    }

    /// For each `(topic, partition, timestamp_ms)`, the first offset at or
    /// after it (-1: none).
    fn offsets_for_times(
        &self,
        py: Python<'_>,
        query: Vec<(String, i32, i64)>,
        timeout: f64,
    ) -> PyResult<Vec<(String, i32, i64)>> {
        let c = self.inner.clone();
        let t = secs(timeout);
        block_on(py, async move {
            let q: Vec<(&str, i32, i64)> =
                query.iter().map(|(a, b, c)| (a.as_str(), *b, *c)).collect();
            c.offsets_for_times(&q, t).await
        })?
        .map_err(|e| to_pyerr(py, &e))
    }

    /// Commits the offsets of the records returned so far (None) or the
    /// given `(topic, partition, offset, metadata)` entries; waits for the
    /// coordinator.
    #[pyo3(signature = (offsets=None))]
    fn commit(
        &self,
        py: Python<'_>,
        offsets: Option<Vec<(String, i32, i64, String)>>,
    ) -> PyResult<()> {
        let c = self.inner.clone();
        let r = match offsets {
            None => py.detach(|| c.commit_blocking()),
            Some(o) => block_on(py, async move {
                let v: Vec<(&str, i32, i64, &str)> = o
                    .iter()
                    .map(|(t, p, off, m)| (t.as_str(), *p, *off, m.as_str()))
                    .collect();
                c.commit_offsets_with_metadata(&v).await
            })?,
        };
        r.map_err(|e| to_pyerr(py, &e))
    }

    /// The group's committed `(offset, leader_epoch, metadata)` of each
    /// partition (offset None: nothing committed).
    fn committed(
        &self,
        py: Python<'_>,
        parts: Vec<(String, i32)>,
        timeout: f64,
    ) -> PyResult<Vec<Committed>> {
        let c = self.inner.clone();
        let t = secs(timeout);
        let r = block_on(py, async move {
            c.committed_with_metadata(&parts_ref(&parts), t).await
        })?
        .map_err(|e| to_pyerr(py, &e))?;
        Ok(r.into_iter()
            .map(|x| {
                (
                    x.topic,
                    x.partition,
                    x.offset,
                    x.leader_epoch.unwrap_or(-1),
                    x.metadata,
                )
            })
            .collect())
    }

    /// The partition ids of `topic`; None when the topic does not exist.
    fn partitions_for(
        &self,
        py: Python<'_>,
        topic: String,
        timeout: f64,
    ) -> PyResult<Option<Vec<i32>>> {
        let c = self.inner.clone();
        let t = secs(timeout);
        match block_on(py, async move { c.partitions_for(&topic, t).await })? {
            Ok(p) => Ok(Some(p)),
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::UnknownTopic | ErrorCode::UnknownTopicOrPartition
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }

    /// Every topic of the cluster that is not internal, with its partition
    /// ids.
    fn topics(&self, py: Python<'_>, timeout: f64) -> PyResult<Vec<(String, Vec<i32>)>> {
        let t = secs(timeout);
        let cfg = &self.config;
        let md = py
            .detach(|| ferrokafka::AdminClient::new(cfg).and_then(|a| a.metadata_blocking(None, t)))
            .map_err(|e| to_pyerr(py, &e))?;
        Ok(md
            .topics
            .into_iter()
            .filter(|t| !t.is_internal && t.error.is_none())
            .map(|t| (t.name, t.partitions.iter().map(|p| p.id).collect()))
            .collect())
    }

    /// Whether a broker answers a metadata request within 2 seconds.
    fn bootstrap_connected(&self, py: Python<'_>) -> bool {
        let cfg = &self.config;
        py.detach(|| {
            ferrokafka::AdminClient::new(cfg)
                .and_then(|a| a.metadata_blocking(None, Duration::from_secs(2)))
                .is_ok()
        })
    }

    /// Messages and bytes held in the prefetch queue.
    fn queued(&self) -> (usize, usize) {
        self.inner.queued()
    }

    /// Commits (with enable.auto.commit), leaves the group and stops, within
    /// `timeout` seconds.
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let c = self.inner.clone();
        let t = secs(timeout);
        let r = block_on(py, async move { c.close_within(t).await })?;
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.code() == ErrorCode::TimedOut => {
                Err(local_error(py, ErrorCode::TimedOut, e.message()))
            }
            Err(e) => Err(to_pyerr(py, &e)),
        }
    }
}
