//! The [`Histogram`] behind every statistics window (fixed log-linear
//! buckets, no allocation per sample) and its summary, [`Window`].

use super::Window;

/// Sub-buckets per power of two: relative error about 1/16.
const SUB: usize = 16;
const BUCKETS: usize = 64 * SUB;

/// A fixed-size histogram of non-negative integer samples (latencies in
/// microseconds, sizes in bytes) with about 6% relative precision; recording
/// never allocates.
///
/// ```
/// let mut h = ferrokafka::stats::Histogram::default();
/// for v in 1..=100 { h.record(v); }
/// assert!((48..=53).contains(&h.quantile(0.5)));
/// ```
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    cnt: u64,
    sum: u64,
    min: u64,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("cnt", &self.cnt)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            cnt: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let log = 63 - v.leading_zeros() as usize; // >= 4
    let shift = log - 4;
    let sub = ((v >> shift) as usize) & (SUB - 1);
    ((log - 3) * SUB + sub).min(BUCKETS - 1)
}

fn bucket_value(b: usize) -> u64 {
    if b < SUB {
        return b as u64;
    }
    let log = b / SUB + 3;
    let sub = (b % SUB) as u64;
    let shift = log - 4;
    // Middle of the bucket.
    ((SUB as u64 + sub) << shift) + ((1u64 << shift) >> 1)
}

impl Histogram {
    /// Records one sample.
    pub fn record(&mut self, v: u64) {
        self.counts[bucket_of(v)] += 1;
        self.cnt += 1;
        self.sum = self.sum.saturating_add(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The value at quantile `q` (0..=1), 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.cnt == 0 {
            return 0;
        }
        let rank = ((q * self.cnt as f64).ceil() as u64).clamp(1, self.cnt);
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bucket_value(b).clamp(self.min, self.max);
            }
        }
        self.max
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.cnt += other.cnt;
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of samples recorded.
    pub fn count(&self) -> u64 {
        self.cnt
    }

    /// Standard deviation over the bucket values (as librdkafka's is, from
    /// its histogram), 0 when empty.
    fn stddev(&self) -> u64 {
        if self.cnt == 0 {
            return 0;
        }
        let mean = self.sum as f64 / self.cnt as f64;
        let mut acc = 0.0;
        for (b, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                let d = bucket_value(b).clamp(self.min, self.max) as f64 - mean;
                acc += d * d * c as f64;
            }
        }
        (acc / self.cnt as f64).sqrt() as u64
    }

    /// A serialisable summary.
    pub fn summary(&self) -> Window {
        Window {
            min: if self.cnt == 0 { 0 } else { self.min },
            max: self.max,
            avg: self.sum.checked_div(self.cnt).unwrap_or(0),
            sum: self.sum,
            stddev: self.stddev(),
            p50: self.quantile(0.50),
            p75: self.quantile(0.75),
            p90: self.quantile(0.90),
            p95: self.quantile(0.95),
            p99: self.quantile(0.99),
            p99_99: self.quantile(0.9999),
            // Every u64 fits a bucket: nothing is out of range.
            outofrange: 0,
            hdrsize: (BUCKETS * std::mem::size_of::<u64>()) as u64,
            cnt: self.cnt,
        }
    }

    /// The summary of the samples so far, starting a new window (the
    /// periodic emission rolls its windows, as librdkafka's do).
    pub fn roll(&mut self) -> Window {
        let w = self.summary();
        *self = Histogram::default();
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_bucket_precision() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let s = h.summary();
        assert_eq!((s.min, s.max, s.cnt), (1, 10_000, 10_000));
        for (q, want) in [(0.5, 5_000.0), (0.9, 9_000.0), (0.99, 9_900.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.07, "q{q}: {got} vs {want}");
        }
        assert_eq!(s.avg, 5_000);
    }

    #[test]
    fn small_values_are_exact_and_merge_adds() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        a.record(3);
        b.record(7);
        b.record(u64::MAX);
        a.merge(&b);
        assert_eq!(a.quantile(0.0), 3);
        assert_eq!(a.summary().cnt, 3);
        assert_eq!(a.summary().max, u64::MAX);
        assert_eq!(Histogram::default().summary().min, 0);
    }
}
