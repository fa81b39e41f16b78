//! What one connection counts for the statistics: requests and bytes each
//! way, errors, timeouts, connects, requests by API, and the round-trip,
//! queueing and throttle windows.
//!
//! Counters are atomics bumped by the connection task per request (never
//! per record); the windows sit behind one mutex that only the task and a
//! statistics snapshot take, so it is never contended on the hot path.

use crate::stats::{BrokerStatistics, Histogram};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

/// API keys counted one by one (every key Kafka defines is below this).
const KEYS: usize = 96;

#[derive(Default)]
struct Windows {
    rtt: Histogram,
    outbuf_latency: Histogram,
    throttle: Histogram,
}

/// One connection's counters.
pub(crate) struct Counters {
    created: Instant,
    pub tx: AtomicU64,
    pub txbytes: AtomicU64,
    pub txerrs: AtomicU64,
    pub req_timeouts: AtomicU64,
    pub rx: AtomicU64,
    pub rxbytes: AtomicU64,
    pub rxerrs: AtomicU64,
    pub rxcorriderrs: AtomicU64,
    pub wakeups: AtomicU64,
    pub connects: AtomicU64,
    pub disconnects: AtomicU64,
    /// Requests queued but not yet written.
    pub outbuf_cnt: AtomicU64,
    /// Requests written and waiting for their response.
    pub waitresp_cnt: AtomicU64,
    /// Microseconds after `created` of the last state change, last write
    /// and last read (0: never).
    pub state_at: AtomicU64,
    pub last_tx: AtomicU64,
    pub last_rx: AtomicU64,
    req: [AtomicU64; KEYS],
    windows: Mutex<Windows>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            created: Instant::now(),
            tx: AtomicU64::new(0),
            txbytes: AtomicU64::new(0),
            txerrs: AtomicU64::new(0),
            req_timeouts: AtomicU64::new(0),
            rx: AtomicU64::new(0),
            rxbytes: AtomicU64::new(0),
            rxerrs: AtomicU64::new(0),
            rxcorriderrs: AtomicU64::new(0),
            wakeups: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            outbuf_cnt: AtomicU64::new(0),
            waitresp_cnt: AtomicU64::new(0),
            state_at: AtomicU64::new(0),
            last_tx: AtomicU64::new(0),
            last_rx: AtomicU64::new(0),
            req: std::array::from_fn(|_| AtomicU64::new(0)),
            windows: Mutex::new(Windows::default()),
        }
    }
}

impl Counters {
    /// Microseconds since this connection was created, at least 1 (0 means
    /// "never" in the `last_*` fields).
    fn stamp(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.created).as_micros() as u64).max(1)
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, Windows> {
        self.windows.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn state_changed(&self, at: Instant) {
        self.state_at.store(self.stamp(at), Relaxed);
    }

    /// A request of `api_key` (`bytes` on the wire) was framed for writing
    /// after waiting `queued` since it was submitted.
    pub(crate) fn on_request(&self, api_key: i16, bytes: usize, queued: std::time::Duration) {
        self.tx.fetch_add(1, Relaxed);
        self.txbytes.fetch_add(bytes as u64, Relaxed);
        if let Some(c) = usize::try_from(api_key).ok().and_then(|k| self.req.get(k)) {
            c.fetch_add(1, Relaxed);
        }
        self.last_tx.store(self.stamp(Instant::now()), Relaxed);
        self.windows()
            .outbuf_latency
            .record(queued.as_micros() as u64);
    }

    /// A response of `bytes` arrived `rtt` after its request was framed.
    pub(crate) fn on_response(&self, bytes: usize, rtt: std::time::Duration) {
        self.rx.fetch_add(1, Relaxed);
        self.rxbytes.fetch_add(bytes as u64, Relaxed);
        self.last_rx.store(self.stamp(Instant::now()), Relaxed);
        self.windows().rtt.record(rtt.as_micros() as u64);
    }

    /// The broker reported `ms` of throttling in a response (KIP-219).
    pub(crate) fn on_throttle(&self, ms: i32) {
        self.windows().throttle.record(ms.max(0) as u64);
    }

    /// Adds this connection's figures into `b` and its rtt, outbuf_latency
    /// and throttle samples into `merged` (a broker sums its connections),
    /// starting new windows if `roll`.
    pub(crate) fn add_to(
        &self,
        b: &mut BrokerStatistics,
        merged: &mut [Histogram; 3],
        roll: bool,
        now: Instant,
    ) {
        let idle = |v: u64| -> i64 {
            if v == 0 {
                -1
            } else {
                (self.stamp(now).saturating_sub(v)) as i64
            }
        };
        let min_idle = |a: i64, b: i64| match (a, b) {
            (-1, x) | (x, -1) => x,
            (x, y) => x.min(y),
        };
        b.tx += self.tx.load(Relaxed);
        b.txbytes += self.txbytes.load(Relaxed);
        b.txerrs += self.txerrs.load(Relaxed);
        b.req_timeouts += self.req_timeouts.load(Relaxed);
        b.rx += self.rx.load(Relaxed);
        b.rxbytes += self.rxbytes.load(Relaxed);
        b.rxerrs += self.rxerrs.load(Relaxed);
        b.rxcorriderrs += self.rxcorriderrs.load(Relaxed);
        b.wakeups += self.wakeups.load(Relaxed);
        b.connects += self.connects.load(Relaxed);
        b.disconnects += self.disconnects.load(Relaxed);
        b.outbuf_cnt += self.outbuf_cnt.load(Relaxed);
        b.waitresp_cnt += self.waitresp_cnt.load(Relaxed);
        b.txidle = min_idle(b.txidle, idle(self.last_tx.load(Relaxed)));
        b.rxidle = min_idle(b.rxidle, idle(self.last_rx.load(Relaxed)));
        for (k, c) in self.req.iter().enumerate() {
            let n = c.load(Relaxed);
            if n > 0 {
                let name = i16::try_from(k)
                    .ok()
                    .and_then(|k| crate::protocol::ApiKey::try_from(k).ok())
                    .map_or_else(|| format!("Unknown-{k}"), |key| format!("{key:?}"));
                let name = name.strip_suffix("Key").unwrap_or(&name).to_string();
                *b.req.entry(name).or_default() += n;
            }
        }
        let mut guard = self.windows();
        let w = &mut *guard;
        for (into, h) in merged
            .iter_mut()
            .zip([&mut w.rtt, &mut w.outbuf_latency, &mut w.throttle])
        {
            into.merge(h);
            if roll {
                *h = Histogram::default();
            }
        }
    }

    /// Microseconds since the last state change.
    pub(crate) fn state_age(&self, now: Instant) -> u64 {
        let at = self.state_at.load(Relaxed);
        self.stamp(now).saturating_sub(at)
    }
}
