//! The producer's view of its configuration: the properties it reads, typed
//! and with librdkafka's defaults. Parsing and validation belong to
//! [`crate::config`]; this module only picks values out of a validated
//! configuration, so the accumulator can be built and tested without one.
//! Metadata timing (`topic.metadata.*`, `metadata.max.age.ms`) and
//! connection settings are the cluster layer's (`ClusterSettings`).

use super::partitioner::BuiltinPartitioner;
use crate::record::Compression;
use std::time::Duration;

/// Typed producer settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// `acks`: 0, 1 or -1 (all).
    pub acks: i16,
    /// `linger.ms` (`queue.buffering.max.ms`).
    pub linger: Duration,
    /// `batch.num.messages`.
    pub batch_num_messages: usize,
    /// `batch.size`: bytes per batch.
    pub batch_size: usize,
    /// `message.max.bytes` (`max.request.size`).
    pub message_max_bytes: usize,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: usize,
    /// `retries` (`message.send.max.retries`).
    pub retries: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`.
    pub retry_backoff_max: Duration,
    /// `message.timeout.ms` (`delivery.timeout.ms`); zero means infinite.
    pub message_timeout: Duration,
    /// `request.timeout.ms`: the broker's ack timeout, sent in each
    /// ProduceRequest (librdkafka's meaning), not a client-side deadline.
    pub request_timeout: Duration,
    /// `socket.timeout.ms`: the client-side bound of a request.
    pub socket_timeout: Duration,
    /// `queue.buffering.max.messages`.
    pub queue_max_messages: usize,
    /// `queue.buffering.max.kbytes` (`buffer.memory`), in bytes.
    pub queue_max_bytes: usize,
    /// `max.block.ms`: how long the waiting sends wait for queue space.
    pub max_block: Duration,
    /// `compression.codec` (`compression.type`).
    pub compression: Compression,
    /// `compression.level`; -1 is the codec's default.
    pub compression_level: i32,
    /// `partitioner`.
    pub partitioner: BuiltinPartitioner,
    /// `sticky.partitioning.linger.ms`.
    pub sticky_linger: Duration,
    /// `enable.idempotence` (also implied by `transactional.id`).
    pub idempotence: bool,
    /// `enable.gapless.guarantee`.
    pub gapless: bool,
    /// `transactional.id`: the transactional producer.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms`.
    pub transaction_timeout: Duration,
    /// `statistics.interval.ms` (zero: no periodic statistics).
    pub stats_interval: Duration,
    /// `delivery.report.only.error`: delivery callbacks are called for
    /// failed records only (the futures still resolve either way).
    pub dr_only_error: bool,
    /// `debug`: the contexts this producer logs.
    pub debug: crate::debug::DebugContexts,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            acks: -1,
            linger: Duration::from_millis(5),
            batch_num_messages: 10_000,
            batch_size: 1_000_000,
            message_max_bytes: 1_000_000,
            max_in_flight: 1_000_000,
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1000),
            message_timeout: Duration::from_millis(300_000),
            request_timeout: Duration::from_millis(30_000),
            socket_timeout: Duration::from_millis(60_000),
            queue_max_messages: 100_000,
            queue_max_bytes: 1_048_576 * 1024,
            max_block: Duration::from_millis(60_000),
            compression: Compression::None,
            compression_level: -1,
            partitioner: BuiltinPartitioner::ConsistentRandom,
            sticky_linger: Duration::from_millis(10),
            idempotence: false,
            gapless: false,
            transactional_id: None,
            transaction_timeout: Duration::from_millis(60_000),
            stats_interval: Duration::ZERO,
            dr_only_error: false,
            debug: crate::debug::DebugContexts::NONE,
        }
    }
}

impl Settings {
    /// The backoff before retry number `attempt` (1-based): `retry.backoff.ms`
    /// doubling per attempt up to `retry.backoff.max.ms`.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(20);
        let b = self.retry_backoff.saturating_mul(1u32 << shift);
        b.min(self.retry_backoff_max.max(self.retry_backoff))
    }
}

impl Settings {
    /// The producer settings of a validated configuration.
    pub(crate) fn from_config(c: &crate::config::Config) -> crate::error::Result<Self> {
        let usize_of = |name: &str| usize::try_from(c.get_i64(name).max(0)).unwrap_or(usize::MAX);
        let codec = c.get_str("compression.codec");
        let compression: Compression = match codec {
            "" | "inherit" => Compression::None,
            other => other.parse()?,
        };
        let compression_level = c.get_i32("compression.level");
        compression.validate_level(compression_level)?;
        let partitioner_name = c.get_str("partitioner");
        let partitioner = BuiltinPartitioner::from_name(partitioner_name).ok_or_else(|| {
            crate::error::Error::config(
                "partitioner",
                partitioner_name,
                "random, consistent, consistent_random, murmur2, murmur2_random, fnv1a, fnv1a_random",
            )
        })?;
        Ok(Settings {
            acks: c.get_i64("request.required.acks").clamp(-1, 1) as i16,
            linger: c.get_duration("queue.buffering.max.ms"),
            batch_num_messages: usize_of("batch.num.messages").max(1),
            // A batch must fit in one request of message.max.bytes.
            batch_size: usize_of("batch.size")
                .min(usize_of("message.max.bytes"))
                .max(1),
            message_max_bytes: usize_of("message.max.bytes"),
            max_in_flight: usize_of("max.in.flight.requests.per.connection").max(1),
            retries: u32::try_from(c.get_i64("message.send.max.retries").max(0))
                .unwrap_or(u32::MAX),
            retry_backoff: c.get_duration("retry.backoff.ms"),
            retry_backoff_max: c.get_duration("retry.backoff.max.ms"),
            message_timeout: c.get_duration("message.timeout.ms"),
            request_timeout: c.get_duration("request.timeout.ms"),
            socket_timeout: c.get_duration("socket.timeout.ms"),
            // 0 in librdkafka's table means "no limit" for messages.
            queue_max_messages: match usize_of("queue.buffering.max.messages") {
                0 => usize::MAX,
                n => n,
            },
            queue_max_bytes: usize_of("queue.buffering.max.kbytes").saturating_mul(1024),
            max_block: c.get_duration("max.block.ms"),
            compression,
            compression_level,
            partitioner,
            sticky_linger: c.get_duration("sticky.partitioning.linger.ms"),
            idempotence: c.get_bool("enable.idempotence"),
            gapless: c.get_bool("enable.gapless.guarantee"),
            transactional_id: c
                .get_opt_str("transactional.id")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            transaction_timeout: c.get_duration("transaction.timeout.ms"),
            stats_interval: c.get_duration("statistics.interval.ms"),
            dr_only_error: c.get_bool("delivery.report.only.error"),
            debug: crate::debug::DebugContexts::from_config(c),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_max() {
        let s = Settings::default();
        assert_eq!(s.backoff(1), Duration::from_millis(100));
        assert_eq!(s.backoff(2), Duration::from_millis(200));
        assert_eq!(s.backoff(3), Duration::from_millis(400));
        assert_eq!(s.backoff(4), Duration::from_millis(800));
        assert_eq!(s.backoff(5), Duration::from_millis(1000));
        assert_eq!(s.backoff(60), Duration::from_millis(1000));
    }
}
