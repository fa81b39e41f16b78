//! Client statistics in the layout of librdkafka's `STATISTICS.md`: the
//! serialisable snapshot ([`Statistics`] and its parts), the histogram
//! behind every window ([`Histogram`]), and the periodic emission
//! (`statistics.interval.ms`) to a callback and an async stream
//! ([`StatsStream`]).
//!
//! The figures themselves are collected where they happen, as plain
//! counters: per connection in `net` (requests, bytes, round trips,
//! throttling), in the producer's accumulator (records, batches, queue
//! latency) and in the consumer's fetch state (positions, watermarks,
//! records received). Each client assembles one [`Statistics`] from them
//! on demand (`stats()`) and at every interval.
//!
//! Field names, nesting and units are librdkafka's, so tools written for
//! its `stats_cb` JSON read this one too: sizes in bytes, latencies in
//! microseconds, throttle times in milliseconds, an offset that is not
//! known is -1001 (`OFFSET_INVALID`). Fields librdkafka has and this
//! client does not fill are listed in `STATISTICS.md` at the repository
//! root with the reason.
//!
//! ```
//! let s = ferrokafka::stats::Statistics::default();
//! let json = serde_json::to_value(&s).unwrap();
//! assert!(json["brokers"].is_object() && json.get("cgrp").is_none());
//! ```

mod emit;
mod window;

pub(crate) use emit::Emitter;
pub use emit::StatsStream;
pub use window::Histogram;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// librdkafka's `RD_KAFKA_OFFSET_INVALID`: the offset is not known.
pub const OFFSET_INVALID: i64 = -1001;

/// One statistics emission: the whole client.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Statistics {
    /// The client instance's name (`ferrokafka#producer-1`).
    pub name: String,
    /// The configured `client.id`.
    pub client_id: String,
    /// `producer` or `consumer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Monotonic clock, microseconds (since this process's first client).
    pub ts: u64,
    /// Wall clock, seconds since the epoch.
    pub time: u64,
    /// Microseconds since the client was created.
    pub age: u64,
    /// Events waiting for the application (delivery reports, errors,
    /// rebalances not yet taken).
    pub replyq: u64,
    /// Records in the producer (queued or in flight, not yet reported).
    pub msg_cnt: u64,
    /// Bytes those records hold against `queue.buffering.max.kbytes`.
    pub msg_size: u64,
    /// `queue.buffering.max.messages`.
    pub msg_max: u64,
    /// `queue.buffering.max.kbytes` in bytes.
    pub msg_size_max: u64,
    /// librdkafka's legacy-consumer bookkeeping; always 0 here.
    pub simple_cnt: u64,
    /// Topics in the metadata cache.
    pub metadata_cache_cnt: u64,
    /// Per broker, keyed by `host:port/id` (`host:port/bootstrap` for a
    /// bootstrap entry).
    pub brokers: BTreeMap<String, BrokerStatistics>,
    /// Per topic.
    pub topics: BTreeMap<String, TopicStatistics>,
    /// Consumer group state (a consumer with `group.id`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cgrp: Option<GroupStatistics>,
    /// Idempotent / transactional producer state.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eos: Option<EosStatistics>,
    /// Requests sent to brokers.
    pub tx: u64,
    /// Bytes sent to brokers.
    pub tx_bytes: u64,
    /// Responses received from brokers.
    pub rx: u64,
    /// Bytes received from brokers.
    pub rx_bytes: u64,
    /// Records delivered (acknowledged, or written with acks=0).
    pub txmsgs: u64,
    /// Bytes of the records delivered: keys, values and headers plus 16
    /// bytes of framing per record and 8 per header.
    pub txmsg_bytes: u64,
    /// Records handed to the consumer from fetches.
    pub rxmsgs: u64,
    /// Bytes of those records (keys and values).
    pub rxmsg_bytes: u64,
}

/// A rolling window of samples (librdkafka's "window stats"): reset at
/// every periodic emission. Latencies in microseconds unless the field
/// says otherwise.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Window {
    /// Smallest sample.
    pub min: u64,
    /// Largest sample.
    pub max: u64,
    /// Mean.
    pub avg: u64,
    /// Sum of samples.
    pub sum: u64,
    /// Standard deviation.
    pub stddev: u64,
    /// Median.
    pub p50: u64,
    /// 75th percentile.
    pub p75: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.99th percentile.
    pub p99_99: u64,
    /// Samples outside the histogram's range (none: it covers all of u64).
    pub outofrange: u64,
    /// Memory held by the histogram, bytes.
    pub hdrsize: u64,
    /// Number of samples.
    pub cnt: u64,
}

/// One broker as this client sees it, over all its connections to it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct BrokerStatistics {
    /// `host:port/id`.
    pub name: String,
    /// Broker id; negative for bootstrap entries.
    pub nodeid: i32,
    /// `host:port`.
    pub nodename: String,
    /// `configured` (bootstrap) or `learned` (from metadata).
    pub source: String,
    /// `INIT` (never connected), `CONNECT`, `UP` or `DOWN`.
    pub state: String,
    /// Microseconds since the state last changed.
    pub stateage: u64,
    /// Requests queued, not yet written.
    pub outbuf_cnt: u64,
    /// Records in those requests (producer).
    pub outbuf_msg_cnt: u64,
    /// Requests written, waiting for their response.
    pub waitresp_cnt: u64,
    /// Records in those requests (producer).
    pub waitresp_msg_cnt: u64,
    /// Requests sent.
    pub tx: u64,
    /// Bytes sent.
    pub txbytes: u64,
    /// Requests that failed (transport errors, timeouts).
    pub txerrs: u64,
    /// Produce batches retried.
    pub txretries: u64,
    /// Microseconds since the last write, -1 if none.
    pub txidle: i64,
    /// Requests that timed out.
    pub req_timeouts: u64,
    /// Responses received.
    pub rx: u64,
    /// Bytes received.
    pub rxbytes: u64,
    /// Responses that could not be read (broken or undecodable frames).
    pub rxerrs: u64,
    /// Responses with an unknown correlation id.
    pub rxcorriderrs: u64,
    /// Partial record batches received (not counted; always 0).
    pub rxpartial: u64,
    /// Microseconds since the last read, -1 if none.
    pub rxidle: i64,
    /// Decompression buffer growths (not counted; always 0).
    pub zbuf_grow: u64,
    /// Deprecated in librdkafka; always 0.
    pub buf_grow: u64,
    /// Connection task wake-ups.
    pub wakeups: u64,
    /// Connection attempts, successful or not.
    pub connects: u64,
    /// Connections lost or closed after being up.
    pub disconnects: u64,
    /// Producer: time from a record's batch opening to the batch being
    /// sent, microseconds.
    pub int_latency: Window,
    /// Time a request waited before being written, microseconds.
    pub outbuf_latency: Window,
    /// Round trip from write to response, microseconds.
    pub rtt: Window,
    /// Throttle times the broker reported (KIP-219), milliseconds.
    pub throttle: Window,
    /// Requests sent, by API name.
    pub req: BTreeMap<String, u64>,
    /// Partitions this client uses that the broker leads, keyed
    /// `topic-partition`.
    pub toppars: BTreeMap<String, TopparStatistics>,
}

/// A partition led by a broker.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TopparStatistics {
    /// Topic name.
    pub topic: String,
    /// Partition id.
    pub partition: i32,
}

/// One topic.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TopicStatistics {
    /// Topic name.
    pub topic: String,
    /// Milliseconds since the client started using the topic.
    pub age: u64,
    /// Milliseconds since the topic's metadata was last refreshed (0 when
    /// unknown).
    pub metadata_age: u64,
    /// Producer: encoded batch sizes, bytes.
    pub batchsize: Window,
    /// Producer: records per batch.
    pub batchcnt: Window,
    /// Per partition id.
    pub partitions: BTreeMap<String, PartitionStatistics>,
}

/// One partition. Offsets not known are [`OFFSET_INVALID`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PartitionStatistics {
    /// Partition id.
    pub partition: i32,
    /// Broker the client talks to for it (the leader, or a preferred
    /// replica), -1 if none.
    pub broker: i32,
    /// Leader broker id, -1 if unknown.
    pub leader: i32,
    /// Assigned to a consumer, or produced to.
    pub desired: bool,
    /// Not in the topic's metadata.
    pub unknown: bool,
    /// Producer: records queued, not yet sent.
    pub msgq_cnt: u64,
    /// Producer: bytes of those records.
    pub msgq_bytes: u64,
    /// Producer: records in batches being sent (same figure as in flight).
    pub xmit_msgq_cnt: u64,
    /// Producer: bytes of those records.
    pub xmit_msgq_bytes: u64,
    /// Consumer: records prefetched, not yet taken by the application.
    pub fetchq_cnt: u64,
    /// Consumer: bytes of those records.
    pub fetchq_size: u64,
    /// Consumer: `none`, `stopped`, `offset-query`, `offset-wait`,
    /// `validate-epoch-wait` or `active`.
    pub fetch_state: String,
    /// Consumer: the logical offset being looked up (-1 latest, -2
    /// earliest), else [`OFFSET_INVALID`].
    pub query_offset: i64,
    /// Consumer: next offset to fetch.
    pub next_offset: i64,
    /// Consumer: offset after the last record given to the application.
    pub app_offset: i64,
    /// Consumer: offset stored for the next commit.
    pub stored_offset: i64,
    /// Consumer: leader epoch of the stored offset, -1 if none.
    pub stored_leader_epoch: i32,
    /// librdkafka's misspelt duplicate of `committed_offset`.
    pub commited_offset: i64,
    /// Consumer: last committed offset.
    pub committed_offset: i64,
    /// Consumer: leader epoch of the committed offset (not tracked: -1).
    pub committed_leader_epoch: i32,
    /// Consumer: offset of the last end-of-partition event.
    pub eof_offset: i64,
    /// Consumer: log start offset on the broker.
    pub lo_offset: i64,
    /// Consumer: high watermark on the broker.
    pub hi_offset: i64,
    /// Consumer: last stable offset on the broker.
    pub ls_offset: i64,
    /// Consumer: `hi_offset` (or `ls_offset` with read_committed) minus
    /// the larger of `app_offset` and `committed_offset`; -1 if unknown.
    pub consumer_lag: i64,
    /// Consumer: the same minus `stored_offset`; -1 if unknown.
    pub consumer_lag_stored: i64,
    /// Leader epoch known from metadata, -1 if none.
    pub leader_epoch: i32,
    /// Producer: records delivered.
    pub txmsgs: u64,
    /// Producer: bytes of those records.
    pub txbytes: u64,
    /// Consumer: records received.
    pub rxmsgs: u64,
    /// Consumer: bytes of those records.
    pub rxbytes: u64,
    /// Records received (consumer) or produced, delivered or not (producer).
    pub msgs: u64,
    /// Records dropped as outdated (not counted; always 0).
    pub rx_ver_drops: u64,
    /// Producer: records in flight.
    pub msgs_inflight: u64,
    /// Idempotent producer: next sequence expected acknowledged.
    pub next_ack_seq: i32,
    /// Idempotent producer: next sequence expected failed (as
    /// `next_ack_seq`: failures leave no gap to track).
    pub next_err_seq: i32,
    /// Idempotent producer: internal id of the last acknowledged record.
    pub acked_msgid: u64,
}

impl PartitionStatistics {
    /// A partition with nothing known yet.
    pub fn new(partition: i32) -> Self {
        PartitionStatistics {
            partition,
            broker: -1,
            leader: -1,
            desired: false,
            unknown: false,
            msgq_cnt: 0,
            msgq_bytes: 0,
            xmit_msgq_cnt: 0,
            xmit_msgq_bytes: 0,
            fetchq_cnt: 0,
            fetchq_size: 0,
            fetch_state: "none".into(),
            query_offset: OFFSET_INVALID,
            next_offset: OFFSET_INVALID,
            app_offset: OFFSET_INVALID,
            stored_offset: OFFSET_INVALID,
            stored_leader_epoch: -1,
            commited_offset: OFFSET_INVALID,
            committed_offset: OFFSET_INVALID,
            committed_leader_epoch: -1,
            eof_offset: OFFSET_INVALID,
            lo_offset: OFFSET_INVALID,
            hi_offset: OFFSET_INVALID,
            ls_offset: OFFSET_INVALID,
            consumer_lag: -1,
            consumer_lag_stored: -1,
            leader_epoch: -1,
            txmsgs: 0,
            txbytes: 0,
            rxmsgs: 0,
            rxbytes: 0,
            msgs: 0,
            rx_ver_drops: 0,
            msgs_inflight: 0,
            next_ack_seq: 0,
            next_err_seq: 0,
            acked_msgid: 0,
        }
    }
}

/// The consumer group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupStatistics {
    /// `init`, `wait-coord`, `up` (coordinator known) or `term`.
    pub state: String,
    /// Milliseconds since `state` changed.
    pub stateage: u64,
    /// `init`, `wait-join`, `wait-sync`, `steady` or `failed` (librdkafka's
    /// names for the membership's phases).
    pub join_state: String,
    /// Milliseconds since the last rebalance (assign or revoke), 0 if none.
    pub rebalance_age: u64,
    /// Rebalances (assign or revoke) so far.
    pub rebalance_cnt: u64,
    /// Why the last rebalance happened, empty if none.
    pub rebalance_reason: String,
    /// Partitions currently assigned.
    pub assignment_size: u64,
}

/// The idempotent or transactional producer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EosStatistics {
    /// `Init`, `RequestPID`, `Assigned`, `DrainBump`, `FatalError` or
    /// `WaitTransport` (transactional, before `init_transactions`).
    pub idemp_state: String,
    /// Milliseconds since `idemp_state` changed.
    pub idemp_stateage: u64,
    /// Transactional: `Init`, `Ready`, `InTransaction`, `CommittingTransaction`,
    /// `AbortingTransaction`, `AbortableError` or `FatalError`.
    pub txn_state: String,
    /// Milliseconds since `txn_state` changed.
    pub txn_stateage: u64,
    /// Records may be sent now (a transaction is open, or not
    /// transactional).
    pub txn_may_enq: bool,
    /// The producer id, -1 while none.
    pub producer_id: i64,
    /// The producer epoch, -1 while none.
    pub producer_epoch: i32,
    /// Producer id or epoch assignments so far.
    pub epoch_cnt: u64,
}

/// Microseconds since `since`.
pub(crate) fn micros(since: std::time::Instant, now: std::time::Instant) -> u64 {
    now.saturating_duration_since(since).as_micros() as u64
}

/// The instance-level fields every client fills the same way.
pub(crate) fn header(
    name: &str,
    client_id: &str,
    kind: &str,
    created: std::time::Instant,
) -> Statistics {
    use std::sync::OnceLock;
    static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
    let now = std::time::Instant::now();
    let epoch = *EPOCH.get_or_init(|| now);
    Statistics {
        name: name.to_string(),
        client_id: client_id.to_string(),
        kind: kind.to_string(),
        ts: micros(epoch, now),
        time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        age: micros(created, now),
        ..Statistics::default()
    }
}

/// The next instance name for a client of `kind` (`ferrokafka#producer-1`).
pub(crate) fn instance_name(kind: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "ferrokafka#{kind}-{}",
        N.fetch_add(1, Ordering::Relaxed) + 1
    )
}

impl Statistics {
    /// Adds the brokers' request and byte counters into the top-level
    /// totals.
    pub(crate) fn sum_brokers(&mut self) {
        for b in self.brokers.values() {
            self.tx += b.tx;
            self.tx_bytes += b.txbytes;
            self.rx += b.rx;
            self.rx_bytes += b.rxbytes;
        }
    }
}
