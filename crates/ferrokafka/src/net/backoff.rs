//! Reconnect backoff: a pure state machine handing out the next time a
//! connection attempt may start.
//!
//! Each attempt pushes the next allowed attempt `backoff * (1 + jitter)`
//! into the future, where `backoff` starts at `reconnect.backoff.ms`, doubles
//! with every attempt that did not lead to an established connection and
//! never exceeds `reconnect.backoff.max.ms` (jitter included). The jitter is
//! drawn uniformly from -25%..+50% by the caller so that tests can fix it.

use std::time::{Duration, Instant};

/// The lowest jitter, in thousandths of the backoff.
pub const JITTER_MIN_PERMILLE: i32 = -250;
/// The highest jitter, in thousandths of the backoff.
pub const JITTER_MAX_PERMILLE: i32 = 500;

/// Exponential reconnect backoff with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    current: Duration,
    next_allowed: Option<Instant>,
}

impl Backoff {
    /// A backoff starting at `base` (`reconnect.backoff.ms`), capped at `max`
    /// (`reconnect.backoff.max.ms`).
    pub fn new(base: Duration, max: Duration) -> Self {
        let max = max.max(base);
        Backoff {
            base,
            max,
            current: base,
            next_allowed: None,
        }
    }

    /// The earliest time the next attempt may start; `None` means now.
    pub fn next_allowed(&self) -> Option<Instant> {
        self.next_allowed
    }

    /// Whether an attempt may start at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.next_allowed.is_none_or(|t| now >= t)
    }

    /// Records an attempt starting at `now` with a jitter in thousandths
    /// (clamped to -250..=500); returns when the following attempt may start.
    pub fn on_attempt(&mut self, now: Instant, jitter_permille: i32) -> Instant {
        let jitter = jitter_permille.clamp(JITTER_MIN_PERMILLE, JITTER_MAX_PERMILLE);
        let millis = self.current.as_millis().min(u128::from(u32::MAX)) as i64;
        let jittered = millis + millis * i64::from(jitter) / 1000;
        let wait = Duration::from_millis(jittered.max(0) as u64).min(self.max);
        let at = now + wait;
        self.next_allowed = Some(at);
        self.current = self.current.saturating_mul(2).min(self.max);
        at
    }

    /// Records an established connection: the next failure starts from the
    /// base backoff again. The attempt's own wait still applies to an
    /// immediate reconnect so that a flapping broker is not hammered.
    pub fn on_connected(&mut self) {
        self.current = self.base;
    }

    /// A jitter drawn uniformly from the allowed range.
    pub fn random_jitter() -> i32 {
        use rand::Rng;
        rand::thread_rng().gen_range(JITTER_MIN_PERMILLE..=JITTER_MAX_PERMILLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_attempt_is_immediate() {
        let b = Backoff::new(100 * MS, 10_000 * MS);
        assert!(b.ready(Instant::now()));
        assert_eq!(b.next_allowed(), None);
    }

    #[test]
    fn doubles_until_the_cap_without_jitter() {
        let t0 = Instant::now();
        let mut b = Backoff::new(100 * MS, 1_000 * MS);
        let waits: Vec<_> = (0..6).map(|_| b.on_attempt(t0, 0) - t0).collect();
        assert_eq!(
            waits,
            [100, 200, 400, 800, 1000, 1000].map(|m| m * MS).to_vec()
        );
    }

    #[test]
    fn jitter_stays_within_minus_25_plus_50_percent_and_under_the_cap() {
        let t0 = Instant::now();
        let mut lo = Backoff::new(100 * MS, 10_000 * MS);
        let mut hi = lo.clone();
        assert_eq!(lo.on_attempt(t0, -250) - t0, 75 * MS);
        assert_eq!(hi.on_attempt(t0, 500) - t0, 150 * MS);
        // out-of-range jitter is clamped
        let mut wild = Backoff::new(100 * MS, 10_000 * MS);
        assert_eq!(wild.on_attempt(t0, 9_000) - t0, 150 * MS);
        // +50% never exceeds the cap
        let mut capped = Backoff::new(8_000 * MS, 10_000 * MS);
        capped.on_attempt(t0, 0);
        assert_eq!(capped.on_attempt(t0, 500) - t0, 10_000 * MS);
        for _ in 0..100 {
            let j = Backoff::random_jitter();
            assert!((JITTER_MIN_PERMILLE..=JITTER_MAX_PERMILLE).contains(&j));
        }
    }

    #[test]
    fn ready_follows_the_clock() {
        let t0 = Instant::now();
        let mut b = Backoff::new(100 * MS, 10_000 * MS);
        let at = b.on_attempt(t0, 0);
        assert!(!b.ready(t0 + 99 * MS));
        assert!(b.ready(at));
    }

    #[test]
    fn success_resets_to_base() {
        let t0 = Instant::now();
        let mut b = Backoff::new(100 * MS, 10_000 * MS);
        for _ in 0..5 {
            b.on_attempt(t0, 0);
        }
        b.on_connected();
        let t1 = t0 + 60_000 * MS;
        assert_eq!(b.on_attempt(t1, 0) - t1, 100 * MS);
    }

    #[test]
    fn zero_base_means_no_wait() {
        let t0 = Instant::now();
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.on_attempt(t0, 500), t0);
        assert_eq!(b.on_attempt(t0, 500), t0);
    }
}
