//! The periodic emission of `statistics.interval.ms`: one task per client
//! that takes a snapshot every interval (rolling the windows) and hands it
//! to the statistics callback and to every [`StatsStream`].
//!
//! A stream that is not read keeps at most [`STREAM_DEPTH`] snapshots;
//! later ones are dropped for it (statistics are a sample, not a log), so
//! an idle subscriber never grows memory.

use super::Statistics;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

/// Snapshots one unread stream keeps.
pub(crate) const STREAM_DEPTH: usize = 16;

/// The application's statistics callback.
pub(crate) type StatsCallback = Arc<dyn Fn(&Statistics) + Send + Sync>;

/// Where a client's periodic snapshots go.
pub(crate) struct Emitter {
    interval: Duration,
    callback: Mutex<Option<StatsCallback>>,
    streams: Mutex<Vec<mpsc::Sender<Arc<Statistics>>>>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("interval", &self.interval)
            .finish()
    }
}

impl Emitter {
    /// An emitter for `statistics.interval.ms` (zero: never emits).
    pub(crate) fn new(interval: Duration) -> Arc<Self> {
        Arc::new(Emitter {
            interval,
            callback: Mutex::new(None),
            streams: Mutex::new(Vec::new()),
        })
    }

    /// Whether statistics are emitted at all.
    pub(crate) fn enabled(&self) -> bool {
        !self.interval.is_zero()
    }

    /// Sets (replaces) the callback.
    pub(crate) fn set_callback(&self, cb: StatsCallback) {
        *self.callback.lock().unwrap_or_else(|p| p.into_inner()) = Some(cb);
    }

    /// A new stream of the emissions from now on.
    pub(crate) fn subscribe(&self) -> StatsStream {
        let (tx, rx) = mpsc::channel(STREAM_DEPTH);
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        StatsStream { rx }
    }

    /// Hands `s` to the callback and every open stream.
    pub(crate) fn emit(&self, s: Statistics) {
        let cb = self
            .callback
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(cb) = cb {
            cb(&s);
        }
        let s = Arc::new(s);
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|tx| match tx.try_send(s.clone()) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
    }

    /// Starts the periodic task on `rt`: every interval it asks
    /// `snapshot` for a rolled snapshot and emits it; it ends when
    /// `snapshot` returns `None` (the client is gone) or the emitter is.
    pub(crate) fn spawn<F>(self: &Arc<Self>, rt: &tokio::runtime::Handle, snapshot: F)
    where
        F: Fn() -> Option<Statistics> + Send + 'static,
    {
        if !self.enabled() {
            return;
        }
        let me: Weak<Emitter> = Arc::downgrade(self);
        let interval = self.interval;
        rt.spawn(async move {
            let mut tick =
                tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(me) = me.upgrade() else { return };
                let Some(s) = snapshot() else { return };
                me.emit(s);
            }
        });
    }
}

/// The statistics a client emits every `statistics.interval.ms`, as an
/// async stream (a [`futures_core::Stream`] of [`Statistics`]); also
/// readable with [`StatsStream::next`]. Ends when the client is dropped.
/// A stream that falls 16 emissions behind misses the next
/// ones until it catches up.
#[derive(Debug)]
pub struct StatsStream {
    rx: mpsc::Receiver<Arc<Statistics>>,
}

impl StatsStream {
    /// The next emission; `None` once the client is gone.
    pub async fn next(&mut self) -> Option<Arc<Statistics>> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for StatsStream {
    type Item = Arc<Statistics>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn emits_every_interval_to_the_callback_and_streams() {
        let e = Emitter::new(Duration::from_millis(100));
        let seen = Arc::new(AtomicUsize::new(0));
        let s2 = seen.clone();
        e.set_callback(Arc::new(move |_| {
            s2.fetch_add(1, Ordering::SeqCst);
        }));
        let mut stream = e.subscribe();
        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        e.spawn(&tokio::runtime::Handle::current(), move || {
            let i = n2.fetch_add(1, Ordering::SeqCst);
            (i < 3).then(|| Statistics {
                age: i as u64,
                ..Statistics::default()
            })
        });
        for want in 0..3u64 {
            assert_eq!(stream.next().await.unwrap().age, want);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(seen.load(Ordering::SeqCst), 3);
        drop(e);
        assert!(stream.next().await.is_none(), "ends with the client");
    }

    #[test]
    fn an_unread_stream_keeps_a_bounded_backlog() {
        let e = Emitter::new(Duration::from_millis(1));
        let mut s = e.subscribe();
        for _ in 0..STREAM_DEPTH * 3 {
            e.emit(Statistics::default());
        }
        let mut n = 0;
        while s.rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, STREAM_DEPTH);
    }
}
