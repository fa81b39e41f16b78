//! `ferrokafka._ferrokafka`: the native half of the `ferrokafka` Python
//! package.
//!
//! Owns the bridge between Python and the Rust client: the producer
//! ([`producer`]) and consumer ([`consumer`]) classes, the conversion of
//! ferrokafka errors into the package's kafka-python exception classes, and
//! the rules for the GIL. The kafka-python API itself (keyword names,
//! serializers, partitioner objects, namedtuples, iteration) lives in the
//! pure-Python package, which hands this module its classes and helpers once
//! at import ([`init`]).
//!
//! GIL rules: every call that can wait (metadata, buffer space, delivery
//! reports, flush, fetches, commits) releases the GIL and waits in slices of
//! at most [`SLICE`], checking for signals between slices, so Ctrl-C
//! interrupts it. No Rust lock is held while Python code runs.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::OnceLock;
use std::time::Duration;

mod consumer;
mod producer;
mod txn;

/// The longest a blocking call waits without checking for signals.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// The Python-side helpers, set once by [`init`].
pub(crate) struct Hooks {
    /// `make_error(code, name, message, retriable) -> exception instance`.
    pub make_error: Py<PyAny>,
    /// `RecordMetadata` namedtuple class.
    pub record_metadata: Py<PyAny>,
    /// `TopicPartition` namedtuple class.
    pub topic_partition: Py<PyAny>,
    /// `ConsumerRecord` namedtuple class.
    pub consumer_record: Py<PyAny>,
    /// `callback_failed(exc)`: logs an exception raised by a callback.
    pub callback_failed: Py<PyAny>,
    /// `functools.partial`.
    pub partial: Py<PyAny>,
    /// `tuple.__new__`: builds a namedtuple instance from a tuple of its
    /// fields without running the class's Python `__new__`.
    pub tuple_new: Py<PyAny>,
}

impl Hooks {
    /// An instance of the namedtuple class `cls` with these fields.
    pub(crate) fn named<'py>(
        &self,
        py: Python<'py>,
        cls: &Py<PyAny>,
        fields: Bound<'py, PyTuple>,
    ) -> PyResult<Py<PyAny>> {
        self.tuple_new.call1(py, (cls.clone_ref(py), fields))
    }
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

pub(crate) fn hooks() -> PyResult<&'static Hooks> {
    HOOKS
        .get()
        .ok_or_else(|| PyRuntimeError::new_err("ferrokafka._ferrokafka.init was not called"))
}

/// Called once by `ferrokafka/__init__.py` with the package's classes.
#[pyfunction]
fn init(
    py: Python<'_>,
    make_error: Py<PyAny>,
    record_metadata: Py<PyAny>,
    topic_partition: Py<PyAny>,
    consumer_record: Py<PyAny>,
    callback_failed: Py<PyAny>,
    partial: Py<PyAny>,
) -> PyResult<()> {
    // A second import (importlib.reload) keeps the first set: the classes
    // are the same objects.
    let _ = HOOKS.set(Hooks {
        make_error,
        record_metadata,
        topic_partition,
        consumer_record,
        callback_failed,
        partial,
        tuple_new: py.get_type::<PyTuple>().getattr("__new__")?.unbind(),
    });
    Ok(())
}

/// The package exception for a ferrokafka error (an instance of the
/// kafka-python class matching its code, built by the Python side).
pub(crate) fn error_object(py: Python<'_>, e: &ferrokafka::Error) -> PyResult<Py<PyAny>> {
    let code = e.code();
    error_object_from(py, code.code(), code.name(), e.message(), e.is_retriable())
}

pub(crate) fn error_object_from(
    py: Python<'_>,
    code: i32,
    name: &str,
    message: &str,
    retriable: bool,
) -> PyResult<Py<PyAny>> {
    hooks()?
        .make_error
        .call1(py, (code, name, message, retriable))
}

/// A ferrokafka error as a raised Python exception.
pub(crate) fn to_pyerr(py: Python<'_>, e: &ferrokafka::Error) -> PyErr {
    match error_object(py, e) {
        Ok(obj) => PyErr::from_value(obj.into_bound(py)),
        Err(err) => err,
    }
}

/// A raised exception of the package's class for a local code (for errors
/// the extension itself detects, such as a timeout).
pub(crate) fn local_error(py: Python<'_>, code: ferrokafka::ErrorCode, message: &str) -> PyErr {
    to_pyerr(py, &ferrokafka::Error::new(code, message))
}

/// Builds a ClientConfig from `(name, value)` pairs the Python side mapped,
/// and kafka-python's `sasl_oauth_token_provider` object if one was given.
pub(crate) fn client_config(
    pairs: Vec<(String, String)>,
    token_provider: Option<Py<PyAny>>,
) -> ferrokafka::ClientConfig {
    let mut c = ferrokafka::ClientConfig::new();
    for (k, v) in pairs {
        c.set_mut(k, v);
    }
    match token_provider {
        Some(p) => {
            c.set_oauthbearer_token_provider(move || Python::attach(|py| python_token(py, &p)))
        }
        None => c,
    }
}

/// A token from a kafka-python `AbstractTokenProvider`: `token()` gives the
/// bearer token and the optional `extensions()` a dict of SASL extensions
/// (KIP-342). kafka-python asks the provider on every authentication, so
/// the token is given a lifetime of zero: it is never reused. Runs on the
/// client's runtime thread with the GIL (every blocking call of this
/// package releases the GIL, so it is never held against this thread).
fn python_token(
    py: Python<'_>,
    provider: &Py<PyAny>,
) -> ferrokafka::Result<ferrokafka::net::sasl::OAuthToken> {
    let failed = |what: &str, e: PyErr| {
        ferrokafka::Error::new(
            ferrokafka::ErrorCode::Authentication,
            format!("sasl_oauth_token_provider.{what}() failed: {e}"),
        )
    };
    let token: String = provider
        .call_method0(py, "token")
        .and_then(|t| t.extract(py))
        .map_err(|e| failed("token", e))?;
    let mut t = ferrokafka::net::sasl::OAuthToken::new(token, "", Duration::ZERO);
    if provider.bind(py).hasattr("extensions").unwrap_or(false) {
        let ext: Option<std::collections::HashMap<String, String>> = provider
            .call_method0(py, "extensions")
            .and_then(|x| x.extract(py))
            .map_err(|e| failed("extensions", e))?;
        let mut ext: Vec<_> = ext.unwrap_or_default().into_iter().collect();
        ext.sort();
        for (k, v) in ext {
            t = t.extension(k, v);
        }
    }
    Ok(t)
}

/// Runs `callbacks` (callables taking one argument) with `arg`; an exception
/// raised by one is logged and does not stop the others.
pub(crate) fn run_callbacks(py: Python<'_>, callbacks: Vec<Py<PyAny>>, arg: &Py<PyAny>) {
    for cb in callbacks {
        if let Err(e) = cb.call1(py, (arg.clone_ref(py),)) {
            let logged = hooks().and_then(|h| h.callback_failed.call1(py, (e.value(py),)));
            if let Err(e2) = logged {
                e2.print(py);
            }
        }
    }
}

/// `functools.partial(f, *args, **kwargs)`, or `f` when there is nothing to
/// bind.
pub(crate) fn bind_args(
    py: Python<'_>,
    f: Py<PyAny>,
    args: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
) -> PyResult<Py<PyAny>> {
    let has_kwargs = kwargs.is_some_and(|k| !k.is_empty());
    if args.is_empty() && !has_kwargs {
        return Ok(f);
    }
    let mut all = vec![f.into_bound(py)];
    all.extend(args.iter());
    let all = PyTuple::new(py, all)?;
    hooks()?
        .partial
        .bind(py)
        .call(all, kwargs)
        .map(Bound::unbind)
}

/// Runs `f` on a thread named `name` and waits for its answer with the
/// GIL released, in slices of [`SLICE`], checking for signals between
/// them: a blocking Rust call that may wait long (metadata, a transaction
/// step) stays interruptible with Ctrl-C. An interrupted call finishes on
/// its thread within its own timeout, and its answer is dropped.
pub(crate) fn wait_on_thread<T, F>(py: Python<'_>, name: &str, f: F) -> PyResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start thread {name}: {e}")))?;
    // Behind a mutex: the wait runs with the GIL released, on this thread,
    // and needs a `Sync` handle.
    let rx = std::sync::Mutex::new(rx);
    loop {
        let answer = py.detach(|| {
            rx.lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv_timeout(SLICE)
        });
        match answer {
            Ok(r) => return Ok(r),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(format!(
                    "thread {name} ended without an answer"
                )))
            }
        }
    }
}

/// Seconds from Python (`None`: no limit) as a duration; negative or NaN
/// values are refused as kafka-python refuses them.
pub(crate) fn timeout_from_secs(timeout: Option<f64>) -> PyResult<Option<Duration>> {
    match timeout {
        None => Ok(None),
        Some(t) if t.is_finite() && t >= 0.0 => Ok(Some(Duration::from_secs_f64(t.min(1e9)))),
        Some(t) if t == f64::INFINITY => Ok(None),
        Some(t) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "Invalid timeout: {t}"
        ))),
    }
}

/// The native module.
#[pymodule]
fn _ferrokafka(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(init, m)?)?;
    m.add_class::<producer::Producer>()?;
    m.add_class::<producer::FutureRecordMetadata>()?;
    m.add_class::<consumer::Consumer>()?;
    m.add_function(wrap_pyfunction!(producer::murmur2, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
