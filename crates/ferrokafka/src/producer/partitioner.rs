//! Partitioners: which partition a record goes to.
//!
//! Owns the built-in hash partitioners (librdkafka's names and hash functions,
//! Java/kafka-python compatible `murmur2`), the [`Partitioner`] trait for
//! application-supplied partitioners and the sticky choice for keyless records
//! (KIP-480). It knows nothing of queues or brokers: it maps a key and a
//! partition count to a partition.

use std::time::{Duration, Instant};

/// An application-supplied partitioner.
///
/// Called on the application's thread inside `send` for records without an
/// explicit partition; it must be cheap and must not block.
///
/// ```
/// use ferrokafka::producer::Partitioner;
///
/// struct FirstByte;
/// impl Partitioner for FirstByte {
///     fn partition(&self, _topic: &str, key: Option<&[u8]>, partition_count: i32) -> i32 {
///         key.and_then(|k| k.first()).map_or(0, |b| i32::from(*b) % partition_count)
///     }
/// }
/// ```
pub trait Partitioner: Send + Sync {
    /// The partition for a record with `key` in a topic of `partition_count`
    /// (at least 1) partitions. A value outside `0..partition_count` fails the
    /// record with `UnknownPartition`.
    fn partition(&self, topic: &str, key: Option<&[u8]>, partition_count: i32) -> i32;
}

/// A built-in partitioner, named as librdkafka's `partitioner` property names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuiltinPartitioner {
    /// Every record to a random partition.
    Random,
    /// CRC32 of the key; empty and null keys all map to one partition.
    Consistent,
    /// CRC32 of the key; empty and null keys are spread (librdkafka's default).
    ConsistentRandom,
    /// Java-compatible murmur2 of the key; null keys map to one partition.
    Murmur2,
    /// Java-compatible murmur2 of the key; null keys are spread (the Java and
    /// kafka-python default).
    Murmur2Random,
    /// FNV-1a of the key; null keys map to one partition.
    Fnv1a,
    /// FNV-1a of the key; null keys are spread.
    Fnv1aRandom,
}

impl BuiltinPartitioner {
    /// Parses librdkafka's `partitioner` value.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "random" => Self::Random,
            "consistent" => Self::Consistent,
            "consistent_random" => Self::ConsistentRandom,
            "murmur2" => Self::Murmur2,
            "murmur2_random" => Self::Murmur2Random,
            "fnv1a" => Self::Fnv1a,
            "fnv1a_random" => Self::Fnv1aRandom,
            _ => return None,
        })
    }

    /// What this partitioner does with `key` in a topic of `count` partitions.
    pub(crate) fn choose(self, key: Option<&[u8]>, count: i32) -> Choice {
        let n = count.max(1) as u32;
        match (self, key) {
            (Self::Random, None) => Choice::Spread,
            (Self::Random, Some(_)) => Choice::Random,
            (Self::Consistent, k) => Choice::Partition((crc32(k.unwrap_or(&[])) % n) as i32),
            (Self::ConsistentRandom, None) => Choice::Spread,
            (Self::ConsistentRandom, Some([])) => Choice::Spread,
            (Self::ConsistentRandom, Some(k)) => Choice::Partition((crc32(k) % n) as i32),
            (Self::Murmur2, k) => Choice::Partition(murmur2_partition(k.unwrap_or(&[]), n)),
            (Self::Murmur2Random, None) => Choice::Spread,
            (Self::Murmur2Random, Some(k)) => Choice::Partition(murmur2_partition(k, n)),
            (Self::Fnv1a, k) => Choice::Partition((fnv1a(k.unwrap_or(&[])) % n) as i32),
            (Self::Fnv1aRandom, None) => Choice::Spread,
            (Self::Fnv1aRandom, Some(k)) => Choice::Partition((fnv1a(k) % n) as i32),
        }
    }
}

/// The outcome of a built-in partitioner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    /// This partition.
    Partition(i32),
    /// Any partition: keyless records, eligible for sticky partitioning.
    Spread,
    /// A fresh random partition for this record.
    Random,
}

/// CRC-32 (IEEE), the hash of librdkafka's `consistent` partitioners.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// The 32-bit murmur2 hash exactly as Kafka's Java client computes it
/// (seed 0x9747b28c), returned as the unsigned bit pattern. Java's and
/// kafka-python's default partitioner picks `(murmur2(key) & 0x7fffffff) %
/// partitions`; exposed for bindings and tools that must agree with it.
pub fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    const SEED: u32 = 0x9747_b28c;
    let len = data.len();
    let mut h = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// Java's `toPositive(murmur2(key)) % n`.
fn murmur2_partition(key: &[u8], n: u32) -> i32 {
    ((murmur2(key) & 0x7fff_ffff) % n) as i32
}

/// 32-bit FNV-1a.
pub(crate) fn fnv1a(data: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in data {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A small, fast pseudo-random generator (xorshift64*) for spreading records;
/// not for anything that needs unpredictability.
#[derive(Debug, Clone)]
pub(crate) struct FastRng(u64);

impl FastRng {
    pub(crate) fn new(seed: u64) -> Self {
        FastRng(seed | 1)
    }

    pub(crate) fn from_entropy() -> Self {
        Self::new(rand::random())
    }

    /// A value in `0..n` (`n` at least 1).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (((x >> 32) * u64::from(n.max(1))) >> 32) as u32
    }
}

/// The sticky partition of one topic's keyless records (KIP-480): keyless
/// records go to the same partition until `linger` has passed since it was
/// picked, so they fill one batch instead of many small ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sticky {
    current: Option<(i32, Instant)>,
}

impl Sticky {
    /// The partition for a keyless record at `now`; `linger` zero disables
    /// stickiness (a random partition for every record).
    pub(crate) fn pick(
        &mut self,
        now: Instant,
        linger: Duration,
        count: i32,
        rng: &mut FastRng,
    ) -> i32 {
        if linger.is_zero() {
            return rng.below(count.max(1) as u32) as i32;
        }
        match self.current {
            Some((p, since)) if p < count && now.saturating_duration_since(since) < linger => p,
            _ => {
                let p = rng.below(count.max(1) as u32) as i32;
                self.current = Some((p, now));
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed independently with kafka-python 3.0's
    // `kafka.partitioner.default.murmur2` (the Java algorithm in Python),
    // and Python's `zlib.crc32` for the consistent partitioner.
    const MURMUR2: &[(&[u8], u32, i32)] = &[
        (b"", 275_646_681, 1),
        (b"a", 2_731_586_172, 4),
        (b"ab", 316_155_434, 2),
        (b"abc", 479_470_107, 3),
        (b"foo", 597_841_616, 0),
        (b"hello world", 1_221_641_059, 3),
        (b"21", 3_321_034_988, 4),
        (b"key-1234", 292_976_100, 4),
        (b"\x00\xff\x10", 2_225_607_023, 7),
    ];

    #[test]
    fn murmur2_matches_java_vectors() {
        for (key, hash, p8) in MURMUR2 {
            assert_eq!(murmur2(key), *hash, "key {key:?}");
            assert_eq!(
                BuiltinPartitioner::Murmur2Random.choose(Some(key), 8),
                Choice::Partition(*p8),
                "key {key:?}"
            );
        }
    }

    #[test]
    fn consistent_is_crc32_mod_n() {
        let vectors: &[(&[u8], u32)] = &[
            (b"a", 3_904_355_907),
            (b"abc", 891_568_578),
            (b"foo", 2_356_372_769),
            (b"hello world", 222_957_957),
            (b"key-1234", 2_666_956_997),
        ];
        for (key, crc) in vectors {
            assert_eq!(crc32(key), *crc);
            let want = (*crc % 8) as i32;
            assert_eq!(
                BuiltinPartitioner::ConsistentRandom.choose(Some(key), 8),
                Choice::Partition(want)
            );
            assert_eq!(
                BuiltinPartitioner::Consistent.choose(Some(key), 8),
                Choice::Partition(want)
            );
        }
        // Empty and null keys: one partition for `consistent`, spread otherwise.
        assert_eq!(
            BuiltinPartitioner::Consistent.choose(None, 8),
            Choice::Partition(0)
        );
        assert_eq!(
            BuiltinPartitioner::ConsistentRandom.choose(Some(b""), 8),
            Choice::Spread
        );
        assert_eq!(
            BuiltinPartitioner::ConsistentRandom.choose(None, 8),
            Choice::Spread
        );
    }

    #[test]
    fn fnv1a_reference_values() {
        // The FNV-1a 32-bit reference values published with the algorithm.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
        assert_eq!(
            BuiltinPartitioner::Fnv1a.choose(Some(b"foobar"), 7),
            Choice::Partition((0xbf9c_f968u32 % 7) as i32)
        );
        assert_eq!(
            BuiltinPartitioner::Fnv1aRandom.choose(None, 7),
            Choice::Spread
        );
        assert!(matches!(
            BuiltinPartitioner::Fnv1a.choose(None, 7),
            Choice::Partition(_)
        ));
    }

    #[test]
    fn names_parse() {
        for name in [
            "random",
            "consistent",
            "consistent_random",
            "murmur2",
            "murmur2_random",
            "fnv1a",
            "fnv1a_random",
        ] {
            assert!(BuiltinPartitioner::from_name(name).is_some(), "{name}");
        }
        assert_eq!(BuiltinPartitioner::from_name("roundrobin"), None);
    }

    #[test]
    fn rng_stays_in_range_and_covers() {
        let mut rng = FastRng::new(42);
        let mut seen = [0u32; 5];
        for _ in 0..10_000 {
            let v = rng.below(5);
            seen[v as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 1500), "{seen:?}");
    }

    #[test]
    fn sticky_keeps_partition_for_linger_then_moves_on() {
        let mut rng = FastRng::new(7);
        let mut s = Sticky::default();
        let t0 = Instant::now();
        let linger = Duration::from_millis(10);
        let p = s.pick(t0, linger, 16, &mut rng);
        for ms in 0..10 {
            assert_eq!(
                s.pick(t0 + Duration::from_millis(ms), linger, 16, &mut rng),
                p
            );
        }
        // After the window a new pick happens; across many windows more than
        // one partition is used.
        let mut distinct = std::collections::HashSet::new();
        for w in 1..50u64 {
            distinct.insert(s.pick(t0 + Duration::from_millis(10 * w), linger, 16, &mut rng));
        }
        assert!(distinct.len() > 1);
    }
}
