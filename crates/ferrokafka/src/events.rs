//! Error events: the non-fatal errors a client meets in the background
//! (a broker refusing connections, a host name that does not resolve,
//! rejected credentials, every broker down, a broker throttling requests),
//! handed to the application as librdkafka's `error_cb` does.
//!
//! Each client (producer, consumer, admin) owns one [`Observer`], built from
//! its configuration with its `debug` contexts and shared by
//! every layer through the connection settings. The connections and the
//! cluster layer report what they see; the observer logs each event at warn
//! (error for a fatal one), calls the error callback
//! (`set_error_callback` on each client) and feeds every [`ErrorStream`]
//! (`error_stream()`), and keeps the last broker-level error so that a
//! call that runs out of time can name the cause instead of a bare timeout.
//!
//! Repeats are suppressed the way librdkafka suppresses "identical errors":
//! a connection reports a failure once until its text changes or the
//! connection comes up again, `_ALL_BROKERS_DOWN` once until some broker is
//! reachable again, and throttling at most once a second per broker. What
//! to do about an event is the application's business: the client keeps
//! retrying by itself; events that need action (credentials) say so.

use crate::debug::DebugContexts;
use crate::error::{Error, ErrorCode};
use crate::net::BrokerAddress;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Events one unread [`ErrorStream`] keeps; later ones are dropped for it.
pub(crate) const STREAM_DEPTH: usize = 64;

/// Throttling is reported at most this often per broker.
const THROTTLE_EVERY: Duration = Duration::from_secs(1);

/// The application's error callback.
pub(crate) type ErrorCallback = Arc<dyn Fn(&Error) + Send + Sync>;

/// Whether a broker's connections were last seen working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Up,
    Down,
}

#[derive(Default)]
struct Brokers {
    /// Every broker address the cluster layer knows (bootstrap and learned).
    known: Vec<BrokerAddress>,
    /// The last outcome of a connection to each address.
    health: HashMap<BrokerAddress, Health>,
    /// `_ALL_BROKERS_DOWN` was reported and no broker has come up since.
    all_down_reported: bool,
    /// When throttling by each broker was last reported.
    throttled: HashMap<BrokerAddress, Instant>,
    /// The text of the last failure reported per address, until it is up
    /// again (a broker's four connections fail alike: one event).
    reported: HashMap<BrokerAddress, String>,
}

struct Inner {
    debug: DebugContexts,
    /// `log_level`, syslog numbering: warnings (4) are logged only at 4
    /// and above, errors (3) at 3 and above.
    log_level: u8,
    callback: Mutex<Option<ErrorCallback>>,
    /// The client's own queue (the producer's `next_error`), set once.
    hook: OnceLock<ErrorCallback>,
    streams: Mutex<Vec<mpsc::Sender<Error>>>,
    last: Mutex<Option<Error>>,
    brokers: Mutex<Brokers>,
}

/// One client's error-event hub and debug contexts (see the module docs).
/// Internal: public only because the hidden `net::NetSettings` carries it.
#[doc(hidden)]
#[derive(Clone)]
pub struct Observer {
    inner: Arc<Inner>,
}

impl Default for Observer {
    /// No debug context, `log_level` 6, no callback.
    fn default() -> Self {
        Observer::new(DebugContexts::NONE, 6)
    }
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("debug", &self.inner.debug)
            .field("log_level", &self.inner.log_level)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Observer {
    pub(crate) fn new(debug: DebugContexts, log_level: u8) -> Self {
        // librdkafka raises the log level to debug when `debug` is set.
        let log_level = if debug.any() { 7 } else { log_level };
        Observer {
            inner: Arc::new(Inner {
                debug,
                log_level,
                callback: Mutex::new(None),
                hook: OnceLock::new(),
                streams: Mutex::new(Vec::new()),
                last: Mutex::new(None),
                brokers: Mutex::new(Brokers::default()),
            }),
        }
    }

    /// The observer of a validated configuration (`debug`, `log_level`).
    pub(crate) fn from_config(c: &crate::config::Config) -> Self {
        let level = u8::try_from(c.get_i64("log_level")).unwrap_or(6);
        Observer::new(DebugContexts::from_config(c), level)
    }

    /// The client's debug contexts, for [`trace_ctx!`](crate::debug::trace_ctx).
    #[inline]
    pub(crate) fn debug(&self) -> DebugContexts {
        self.inner.debug
    }

    /// Sets (replaces) the application's error callback.
    pub(crate) fn set_callback(&self, cb: ErrorCallback) {
        *lock(&self.inner.callback) = Some(cb);
    }

    /// Sets the client's own receiver of every event (once; later calls
    /// are ignored).
    pub(crate) fn set_hook(&self, cb: ErrorCallback) {
        let _ = self.inner.hook.set(cb);
    }

    /// A new stream of the events from now on.
    pub(crate) fn subscribe(&self) -> ErrorStream {
        let (tx, rx) = mpsc::channel(STREAM_DEPTH);
        lock(&self.inner.streams).push(tx);
        ErrorStream { rx }
    }

    /// The last broker-level error seen (connection, authentication,
    /// resolution, metadata), to name the cause of a timeout.
    pub(crate) fn last_error(&self) -> Option<Error> {
        lock(&self.inner.last).clone()
    }

    /// Remembers `e` as the last broker-level error without reporting it.
    pub(crate) fn note(&self, e: &Error) {
        *lock(&self.inner.last) = Some(e.clone());
    }

    /// Logs `e` and hands it to the callback, the hook and every stream.
    pub(crate) fn emit(&self, e: Error) {
        if e.is_fatal() {
            if self.inner.log_level >= 3 {
                tracing::error!(target: "ferrokafka::error", code = %e.code(), "{}", e.message());
            }
        } else if self.inner.log_level >= 4 {
            tracing::warn!(target: "ferrokafka::error", code = %e.code(), "{}", e.message());
        }
        if let Some(h) = self.inner.hook.get() {
            h(&e);
        }
        let cb = lock(&self.inner.callback).clone();
        if let Some(cb) = cb {
            cb(&e);
        }
        lock(&self.inner.streams).retain(|tx| match tx.try_send(e.clone()) {
            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    /// The cluster layer's broker addresses (bootstrap and learned), for
    /// telling when all of them are down.
    pub(crate) fn set_brokers(&self, addrs: impl IntoIterator<Item = BrokerAddress>) {
        let mut b = lock(&self.inner.brokers);
        for a in addrs {
            if !b.known.contains(&a) {
                b.known.push(a);
            }
        }
    }

    /// A connection to `addr` came up.
    pub(crate) fn connected(&self, addr: &BrokerAddress) {
        {
            // An authenticated connection: an earlier credential or
            // certificate failure is no longer the cause of anything.
            let mut last = lock(&self.inner.last);
            if last
                .as_ref()
                .is_some_and(|e| matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl))
            {
                *last = None;
            }
        }
        let mut b = lock(&self.inner.brokers);
        b.health.insert(addr.clone(), Health::Up);
        b.reported.remove(addr);
        b.all_down_reported = false;
    }

    /// A connection to `addr` failed to open or broke with `e`: reported
    /// unless it repeats the last failure reported for `addr` since it was
    /// last up; `_ALL_BROKERS_DOWN` follows when no known broker is
    /// reachable any more.
    pub(crate) fn broker_failed(&self, addr: &BrokerAddress, e: &Error) {
        self.note(e);
        let (report, all_down) = {
            let mut b = lock(&self.inner.brokers);
            b.health.insert(addr.clone(), Health::Down);
            let report = b.reported.get(addr).map(String::as_str) != Some(e.message());
            if report {
                b.reported.insert(addr.clone(), e.message().to_string());
            }
            let down = !b.known.is_empty()
                && b.known
                    .iter()
                    .all(|a| b.health.get(a) == Some(&Health::Down));
            let all_down = down && !b.all_down_reported;
            if all_down {
                b.all_down_reported = true;
            }
            (report, all_down.then(|| b.known.len()))
        };
        if report {
            self.emit(e.clone());
        }
        if let Some(n) = all_down {
            self.emit(Error::new(
                ErrorCode::AllBrokersDown,
                format!("{n}/{n} brokers are down (last error: {})", e.message()),
            ));
        }
    }

    /// A response from `addr` asked the client to wait `ms` (KIP-219
    /// `throttle_time_ms`): reported at most once a second per broker.
    pub(crate) fn throttled(&self, addr: &BrokerAddress, api: crate::protocol::ApiKey, ms: i32) {
        let now = Instant::now();
        {
            let mut b = lock(&self.inner.brokers);
            if b.throttled
                .get(addr)
                .is_some_and(|t| now.duration_since(*t) < THROTTLE_EVERY)
            {
                return;
            }
            b.throttled.insert(addr.clone(), now);
        }
        self.emit(Error::new(
            ErrorCode::ThrottlingQuotaExceeded,
            format!(
                "broker {addr} throttled a {api:?} request by {ms} ms (a quota is exceeded; KIP-219)"
            ),
        ));
    }
}

/// A client's error events from the moment it is created, as an async
/// stream (a [`futures_core::Stream`] of [`Error`]); also readable with
/// [`ErrorStream::next`]. Ends when the client is dropped.
///
/// Events are non-fatal unless [`Error::is_fatal`] says otherwise: the
/// client keeps retrying by itself. Their codes say what happened:
/// `_TRANSPORT` (a connection refused or closed, with the operating
/// system's text), `_RESOLVE` (a host name that does not resolve),
/// `_AUTHENTICATION` and `_SSL` (credentials or certificates no retry
/// fixes), `_ALL_BROKERS_DOWN` (no known broker reachable) and
/// `THROTTLING_QUOTA_EXCEEDED` (a broker throttles this client); a
/// producer's `_FAIL` says that delivery callbacks panicked (the panic is
/// caught, the producer goes on). A stream
/// that falls 64 events behind misses the next ones until it catches up.
///
/// ```no_run
/// # async fn watch(producer: ferrokafka::producer::Producer) {
/// let mut errors = producer.error_stream();
/// tokio::spawn(async move {
///     while let Some(e) = errors.next().await {
///         eprintln!("kafka: {e}");
///     }
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct ErrorStream {
    rx: mpsc::Receiver<Error>,
}

impl ErrorStream {
    /// The next event; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<Error> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for ErrorStream {
    type Item = Error;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn addr(port: u16) -> BrokerAddress {
        BrokerAddress {
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[test]
    fn all_brokers_down_is_reported_once_until_one_is_up() {
        let o = Observer::default();
        let mut s = o.subscribe();
        o.set_brokers([addr(1), addr(2)]);
        let e = Error::new(ErrorCode::Transport, "connection refused");
        o.broker_failed(&addr(1), &e);
        o.broker_failed(&addr(2), &e);
        // The same failure again (another connection, a retry): no event.
        o.broker_failed(&addr(2), &e);
        let codes: Vec<ErrorCode> = std::iter::from_fn(|| s.rx.try_recv().ok())
            .map(|e| e.code())
            .collect();
        assert_eq!(
            codes,
            [
                ErrorCode::Transport,
                ErrorCode::Transport,
                ErrorCode::AllBrokersDown
            ]
        );
        o.connected(&addr(1));
        o.broker_failed(&addr(1), &e);
        assert_eq!(s.rx.try_recv().unwrap().code(), ErrorCode::Transport);
        assert_eq!(s.rx.try_recv().unwrap().code(), ErrorCode::AllBrokersDown);
        assert_eq!(o.last_error().unwrap().message(), "connection refused");
    }

    #[test]
    fn callback_hook_and_streams_each_see_events_and_throttling_is_rate_limited() {
        let o = Observer::default();
        let seen = Arc::new(AtomicUsize::new(0));
        let (a, b) = (seen.clone(), seen.clone());
        o.set_callback(Arc::new(move |_| {
            a.fetch_add(1, Ordering::SeqCst);
        }));
        o.set_hook(Arc::new(move |_| {
            b.fetch_add(10, Ordering::SeqCst);
        }));
        let mut s = o.subscribe();
        for _ in 0..5 {
            o.throttled(&addr(1), crate::protocol::ApiKey::Produce, 100);
        }
        assert_eq!(seen.load(Ordering::SeqCst), 11);
        let e = s.rx.try_recv().unwrap();
        assert_eq!(e.code(), ErrorCode::ThrottlingQuotaExceeded);
        assert!(e.message().contains("100 ms"), "{e}");
        assert!(s.rx.try_recv().is_err());
        drop(o);
        assert!(s.rx.try_recv().is_err());
    }

    #[test]
    fn an_unread_stream_keeps_a_bounded_backlog() {
        let o = Observer::default();
        let mut s = o.subscribe();
        for i in 0..STREAM_DEPTH * 2 {
            o.emit(Error::new(ErrorCode::Transport, format!("e{i}")));
        }
        assert_eq!(
            std::iter::from_fn(|| s.rx.try_recv().ok()).count(),
            STREAM_DEPTH
        );
    }
}
