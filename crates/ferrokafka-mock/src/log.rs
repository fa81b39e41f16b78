//! One partition's log: record batches (v2) with broker-assigned offsets,
//! high watermark, log start offset, retention, per-producer idempotence
//! state, open transactions, the last stable offset and aborted ranges.
//!
//! Replication is instantaneous in the mock, so the high watermark is the
//! log end offset. Batches are stored as the producer sent them, with the
//! base offset and partition leader epoch rewritten (neither is covered by
//! the CRC).
//!
//! Partition log API for the transaction coordinator (kept stable):
//! [`PartitionLog::append_control`] writes a commit/abort marker for a
//! producer id and epoch, ends that producer's open transaction on this
//! partition, moves the last stable offset and, on abort, records the
//! aborted range returned to read_committed fetches. Reach it through
//! `ClusterState::append_txn_marker`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{BufMut, Bytes, BytesMut};

/// Size of the v2 batch header up to and including the record count.
pub(crate) const BATCH_HEADER_LEN: usize = 61;
/// Offset of the first byte covered by the CRC (the attributes).
const CRC_START: usize = 21;

/// Kafka error codes the log returns.
pub(crate) mod code {
    pub(crate) const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub(crate) const CORRUPT_MESSAGE: i16 = 2;
    pub(crate) const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub(crate) const LEADER_NOT_AVAILABLE: i16 = 5;
    pub(crate) const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub(crate) const MESSAGE_TOO_LARGE: i16 = 10;
    pub(crate) const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
    pub(crate) const ILLEGAL_SASL_STATE: i16 = 34;
    pub(crate) const UNSUPPORTED_VERSION: i16 = 35;
    pub(crate) const SASL_AUTHENTICATION_FAILED: i16 = 58;
    pub(crate) const INVALID_REQUEST: i16 = 42;
    pub(crate) const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub(crate) const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub(crate) const UNKNOWN_PRODUCER_ID: i16 = 59;
    pub(crate) const FENCED_LEADER_EPOCH: i16 = 74;
    pub(crate) const UNKNOWN_LEADER_EPOCH: i16 = 75;
    pub(crate) const INVALID_RECORD: i16 = 87;
    pub(crate) const UNKNOWN_TOPIC_ID: i16 = 100;
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}

/// The fields of a v2 batch header the broker acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub(crate) attributes: i16,
    pub(crate) last_offset_delta: i32,
    pub(crate) base_timestamp: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    pub(crate) base_sequence: i32,
    pub(crate) record_count: i32,
}

impl BatchHeader {
    /// Reads the header fields; `b` must hold at least [`BATCH_HEADER_LEN`] bytes.
    pub(crate) fn read(b: &[u8]) -> Option<Self> {
        if b.len() < BATCH_HEADER_LEN {
            return None;
        }
        Some(Self {
            attributes: be_i16(b, 21),
            last_offset_delta: be_i32(b, 23),
            base_timestamp: be_i64(b, 27),
            max_timestamp: be_i64(b, 35),
            producer_id: be_i64(b, 43),
            producer_epoch: be_i16(b, 51),
            base_sequence: be_i32(b, 53),
            record_count: be_i32(b, 57),
        })
    }
    pub(crate) fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }
    pub(crate) fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
    pub(crate) fn compression(&self) -> i16 {
        self.attributes & 0x07
    }
}

/// Validates the records of one partition in a Produce request: exactly one
/// v2 batch whose length field matches the bytes, a CRC-32C that matches, a
/// record count consistent with the last offset delta, and no control flag.
/// Returns the header or a Kafka error code.
pub(crate) fn validate_batch(records: &[u8], max_message_bytes: usize) -> Result<BatchHeader, i16> {
    if records.len() > max_message_bytes {
        return Err(code::MESSAGE_TOO_LARGE);
    }
    if records.len() < BATCH_HEADER_LEN {
        return Err(code::CORRUPT_MESSAGE);
    }
    let batch_len = be_i32(records, 8);
    if records[16] != 2 {
        return Err(code::INVALID_RECORD);
    }
    if batch_len < 0 || batch_len as usize + 12 != records.len() {
        // Either a truncated batch or several batches: Kafka accepts exactly one.
        return Err(
            if (batch_len as i64) + 12 < records.len() as i64 && batch_len >= 49 {
                code::INVALID_RECORD
            } else {
                code::CORRUPT_MESSAGE
            },
        );
    }
    let crc = u32::from_be_bytes([records[17], records[18], records[19], records[20]]);
    if crc32c::crc32c(&records[CRC_START..]) != crc {
        return Err(code::CORRUPT_MESSAGE);
    }
    let h = BatchHeader::read(records).ok_or(code::CORRUPT_MESSAGE)?;
    if h.record_count < 1 || h.last_offset_delta != h.record_count - 1 {
        return Err(code::CORRUPT_MESSAGE);
    }
    if h.is_control() {
        return Err(code::INVALID_RECORD);
    }
    Ok(h)
}

/// A batch in the log.
#[derive(Debug, Clone)]
struct StoredBatch {
    base_offset: i64,
    last_offset: i64,
    bytes: Bytes,
}

/// One producer's idempotence state on this partition.
#[derive(Debug, Default, Clone)]
struct ProducerEntry {
    epoch: i16,
    /// Up to five most recent batches: (first seq, last seq, base offset, log append time).
    recent: VecDeque<(i32, i32, i64, i64)>,
}

/// A transaction aborted on this partition, as fetch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    pub(crate) last_offset: i64,
}

/// Result of appending a producer batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    pub(crate) base_offset: i64,
    /// The broker's append time if the log stamps LogAppendTime, else -1.
    pub(crate) log_append_time: i64,
}

/// Data read for a fetch.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub(crate) records: Vec<Bytes>,
    pub(crate) bytes: usize,
    pub(crate) aborted: Vec<AbortedTxn>,
}

/// One partition's log.
#[derive(Debug)]
pub(crate) struct PartitionLog {
    batches: VecDeque<StoredBatch>,
    log_start_offset: i64,
    log_end_offset: i64,
    stored_bytes: u64,
    retention_bytes: Option<u64>,
    blackhole: bool,
    producers: HashMap<i64, ProducerEntry>,
    /// Producer id -> first offset of its open transaction.
    open_txns: BTreeMap<i64, i64>,
    aborted: Vec<AbortedTxn>,
}

impl PartitionLog {
    pub(crate) fn new(retention_bytes: Option<u64>, blackhole: bool) -> Self {
        Self {
            batches: VecDeque::new(),
            log_start_offset: 0,
            log_end_offset: 0,
            stored_bytes: 0,
            retention_bytes,
            blackhole,
            producers: HashMap::new(),
            open_txns: BTreeMap::new(),
            aborted: Vec::new(),
        }
    }

    pub(crate) fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }
    /// High watermark: every append is replicated at once, so the log end.
    pub(crate) fn high_watermark(&self) -> i64 {
        self.log_end_offset
    }
    /// Last stable offset: the first offset of the oldest open transaction,
    /// else the high watermark.
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.open_txns
            .values()
            .copied()
            .min()
            .unwrap_or(self.log_end_offset)
            .min(self.log_end_offset)
    }
    /// Bytes held by stored batches (DescribeLogDirs reports them).
    pub(crate) fn stored_bytes(&self) -> u64 {
        self.stored_bytes
    }

    /// Blackhole append: advances the log by `count` offsets, keeps nothing.
    pub(crate) fn append_blackhole(&mut self, count: i32) -> i64 {
        let base = self.log_end_offset;
        self.log_end_offset = base.saturating_add(i64::from(count.max(1)));
        self.log_start_offset = self.log_end_offset;
        base
    }

    /// Checks the idempotence sequence of a batch. `Ok(Some(offset))` means a
    /// duplicate of a batch already in the log at `offset`.
    fn check_sequence(&self, h: &BatchHeader) -> Result<Option<(i64, i64)>, i16> {
        let entry = match self.producers.get(&h.producer_id) {
            None => {
                return if h.base_sequence == 0 || h.is_transactional() {
                    Ok(None)
                } else {
                    Err(code::UNKNOWN_PRODUCER_ID)
                }
            }
            Some(e) => e,
        };
        if h.producer_epoch < entry.epoch {
            return Err(code::INVALID_PRODUCER_EPOCH);
        }
        if h.producer_epoch > entry.epoch {
            return if h.base_sequence == 0 {
                Ok(None)
            } else {
                Err(code::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let last_seq = h.base_sequence.wrapping_add(h.last_offset_delta);
        if let Some(&(_, _, off, t)) = entry
            .recent
            .iter()
            .find(|(f, l, _, _)| *f == h.base_sequence && *l == last_seq)
        {
            return Ok(Some((off, t)));
        }
        match entry.recent.back() {
            // A producer whose marker reset its sequences starts at 0 again.
            None => Ok(None),
            Some(&(_, prev_last, _, _)) => {
                let expected = if prev_last == i32::MAX {
                    0
                } else {
                    prev_last + 1
                };
                if h.base_sequence == expected {
                    Ok(None)
                } else {
                    Err(code::OUT_OF_ORDER_SEQUENCE_NUMBER)
                }
            }
        }
    }

    /// Appends a validated producer batch (`records` holds exactly one batch
    /// whose header is `h`). Idempotent batches are sequence-checked (unless
    /// `check_sequences` is off, a fault); a duplicate answers with the
    /// original offset and is not stored again.
    pub(crate) fn append(
        &mut self,
        records: &[u8],
        h: &BatchHeader,
        leader_epoch: i32,
        log_append_time: bool,
        now_ms: i64,
        check_sequences: bool,
    ) -> Result<Appended, i16> {
        let idempotent = h.producer_id >= 0;
        if idempotent && check_sequences {
            if let Some((base_offset, t)) = self.check_sequence(h)? {
                return Ok(Appended {
                    base_offset,
                    log_append_time: t,
                });
            }
        }
        let base_offset = self.log_end_offset;
        let mut buf = BytesMut::with_capacity(records.len());
        buf.extend_from_slice(records);
        buf[0..8].copy_from_slice(&base_offset.to_be_bytes());
        buf[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
        let append_time = if log_append_time {
            let attrs = h.attributes | 0x08;
            buf[21..23].copy_from_slice(&attrs.to_be_bytes());
            buf[35..43].copy_from_slice(&now_ms.to_be_bytes());
            let crc = crc32c::crc32c(&buf[CRC_START..]);
            buf[17..21].copy_from_slice(&crc.to_be_bytes());
            now_ms
        } else {
            -1
        };
        let count = i64::from(h.last_offset_delta) + 1;
        self.push(StoredBatch {
            base_offset,
            last_offset: base_offset + count - 1,
            bytes: buf.freeze(),
        });
        if idempotent {
            let e = self.producers.entry(h.producer_id).or_default();
            if h.producer_epoch != e.epoch {
                e.recent.clear();
            }
            e.epoch = h.producer_epoch;
            let last_seq = h.base_sequence.wrapping_add(h.last_offset_delta);
            e.recent
                .push_back((h.base_sequence, last_seq, base_offset, append_time));
            while e.recent.len() > 5 {
                e.recent.pop_front();
            }
        }
        if h.is_transactional() {
            self.open_txns.entry(h.producer_id).or_insert(base_offset);
        }
        Ok(Appended {
            base_offset,
            log_append_time: append_time,
        })
    }

    fn push(&mut self, batch: StoredBatch) {
        self.log_end_offset = batch.last_offset + 1;
        if self.blackhole {
            self.log_start_offset = self.log_end_offset;
            return;
        }
        self.stored_bytes += batch.bytes.len() as u64;
        self.batches.push_back(batch);
        if let Some(limit) = self.retention_bytes {
            while self.stored_bytes > limit && self.batches.len() > 1 {
                if let Some(old) = self.batches.pop_front() {
                    self.stored_bytes -= old.bytes.len() as u64;
                }
                if let Some(first) = self.batches.front() {
                    self.log_start_offset = self.log_start_offset.max(first.base_offset);
                }
            }
            let start = self.log_start_offset;
            self.aborted.retain(|a| a.last_offset >= start);
        }
    }

    /// DeleteRecords: moves the log start offset to `offset` (-1: the high
    /// watermark), dropping whole batches before it. Returns the new log
    /// start offset, or OFFSET_OUT_OF_RANGE beyond the high watermark.
    pub(crate) fn delete_before(&mut self, offset: i64) -> Result<i64, i16> {
        let target = if offset == -1 {
            self.log_end_offset
        } else {
            offset
        };
        if target < 0 || target > self.log_end_offset {
            return Err(code::OFFSET_OUT_OF_RANGE);
        }
        if target > self.log_start_offset {
            while self.batches.front().is_some_and(|b| b.last_offset < target) {
                if let Some(old) = self.batches.pop_front() {
                    self.stored_bytes -= old.bytes.len() as u64;
                }
            }
            self.log_start_offset = target;
            self.aborted.retain(|a| a.last_offset >= target);
        }
        Ok(self.log_start_offset)
    }

    /// Appends a transaction marker (control batch) for `producer_id` at
    /// `producer_epoch`: `commit` true writes COMMIT, false ABORT. Ends the
    /// producer's open transaction on this partition (moving the last stable
    /// offset); an abort records the aborted range for read_committed
    /// fetches. A marker from an older epoch than the producer's current one
    /// is refused with INVALID_PRODUCER_EPOCH (47). Returns the marker offset.
    pub(crate) fn append_control(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        leader_epoch: i32,
        now_ms: i64,
    ) -> Result<i64, i16> {
        if let Some(e) = self.producers.get(&producer_id) {
            if producer_epoch < e.epoch {
                return Err(code::INVALID_PRODUCER_EPOCH);
            }
        }
        let offset = self.log_end_offset;
        let bytes = control_batch(
            offset,
            leader_epoch,
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            now_ms,
        );
        self.push(StoredBatch {
            base_offset: offset,
            last_offset: offset,
            bytes,
        });
        let e = self.producers.entry(producer_id).or_default();
        if producer_epoch != e.epoch {
            e.recent.clear();
        }
        e.epoch = producer_epoch;
        if let Some(first) = self.open_txns.remove(&producer_id) {
            if !commit {
                self.aborted.push(AbortedTxn {
                    producer_id,
                    first_offset: first,
                    last_offset: offset,
                });
            }
        }
        Ok(offset)
    }

    /// Reads batches from `offset` for a fetch: whole batches, starting with
    /// the one holding `offset`, up to `max_bytes` — except that the first
    /// batch is returned whatever its size when `must_return_first` (Kafka's
    /// rule that a fetch always makes progress). `read_committed` stops at
    /// the last stable offset and lists the aborted transactions the data
    /// overlaps.
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        must_return_first: bool,
        read_committed: bool,
    ) -> Result<Read, i16> {
        if offset < self.log_start_offset || offset > self.log_end_offset {
            return Err(code::OFFSET_OUT_OF_RANGE);
        }
        let upper = if read_committed {
            self.last_stable_offset()
        } else {
            self.log_end_offset
        };
        let mut out = Read::default();
        let start = self.batches.partition_point(|b| b.last_offset < offset);
        let mut last = offset;
        for b in self.batches.range(start..) {
            if b.base_offset >= upper {
                break;
            }
            let len = b.bytes.len();
            let first = out.records.is_empty() && must_return_first;
            if out.bytes + len > max_bytes && !first {
                break;
            }
            out.bytes += len;
            last = b.last_offset;
            out.records.push(b.bytes.clone());
        }
        if read_committed && !out.records.is_empty() {
            out.aborted = self
                .aborted
                .iter()
                .filter(|a| a.last_offset >= offset && a.first_offset <= last)
                .copied()
                .collect();
        }
        Ok(out)
    }

    /// ListOffsets by timestamp: the first offset whose record timestamp is
    /// at or after `ts`, with that timestamp; `-3` asks for the record with
    /// the largest timestamp. `None` when no record qualifies.
    pub(crate) fn offset_for_timestamp(&self, ts: i64) -> Option<(i64, i64)> {
        if ts == -3 {
            let mut best: Option<(i64, i64)> = None;
            for b in &self.batches {
                for (off, t) in record_times(&b.bytes, b.base_offset) {
                    if best.is_none_or(|(_, bt)| t > bt) {
                        best = Some((off, t));
                    }
                }
            }
            return best;
        }
        for b in &self.batches {
            let h = BatchHeader::read(&b.bytes)?;
            if h.max_timestamp < ts {
                continue;
            }
            if let Some(found) = record_times(&b.bytes, b.base_offset)
                .into_iter()
                .find(|(_, t)| *t >= ts)
            {
                return Some(found);
            }
        }
        None
    }
}

/// Per-record (offset, timestamp) of a stored batch. Compressed batches and
/// LogAppendTime batches answer at batch granularity (base offset, max
/// timestamp), as records are not decompressed.
fn record_times(b: &[u8], base_offset: i64) -> Vec<(i64, i64)> {
    let Some(h) = BatchHeader::read(b) else {
        return Vec::new();
    };
    if h.compression() != 0 || h.attributes & 0x08 != 0 || h.is_control() {
        return vec![(base_offset, h.max_timestamp)];
    }
    let mut out = Vec::new();
    let mut pos = BATCH_HEADER_LEN;
    for _ in 0..h.record_count.max(0) {
        let Some((len, n)) = varint(&b[pos.min(b.len())..]) else {
            break;
        };
        let body_start = pos + n;
        let Some(body_end) = usize::try_from(len)
            .ok()
            .and_then(|l| body_start.checked_add(l))
        else {
            break;
        };
        if body_end > b.len() || body_start + 1 > body_end {
            break;
        }
        let rec = &b[body_start + 1..body_end];
        let Some((ts_delta, n1)) = varint(rec) else {
            break;
        };
        let Some((off_delta, _)) = varint(&rec[n1..]) else {
            break;
        };
        out.push((
            base_offset + off_delta,
            h.base_timestamp.saturating_add(ts_delta),
        ));
        pos = body_end;
    }
    if out.is_empty() {
        out.push((base_offset, h.max_timestamp));
    }
    out
}

/// Zigzag varint (up to 64 bits): value and bytes consumed.
pub(crate) fn varint(b: &[u8]) -> Option<(i64, usize)> {
    let mut v: u64 = 0;
    for (i, byte) in b.iter().take(10).enumerate() {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((((v >> 1) as i64) ^ -((v & 1) as i64), i + 1));
        }
    }
    None
}

fn put_varint(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

/// Builds a control batch holding one COMMIT or ABORT marker record.
fn control_batch(
    offset: i64,
    leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    now_ms: i64,
) -> Bytes {
    let mut rec = BytesMut::new();
    rec.put_i8(0); // attributes
    put_varint(&mut rec, 0); // timestamp delta
    put_varint(&mut rec, 0); // offset delta
    put_varint(&mut rec, 4);
    rec.put_i16(0); // key version
    rec.put_i16(i16::from(commit)); // 0 abort, 1 commit
    put_varint(&mut rec, 6);
    rec.put_i16(0); // value version
    rec.put_i32(coordinator_epoch);
    put_varint(&mut rec, 0); // headers
    let mut b = BytesMut::with_capacity(BATCH_HEADER_LEN + rec.len() + 2);
    b.put_i64(offset);
    b.put_i32(0); // length, patched below
    b.put_i32(leader_epoch);
    b.put_i8(2);
    b.put_u32(0); // crc, patched below
    b.put_i16(0x30); // transactional | control
    b.put_i32(0);
    b.put_i64(now_ms);
    b.put_i64(now_ms);
    b.put_i64(producer_id);
    b.put_i16(producer_epoch);
    b.put_i32(-1);
    b.put_i32(1);
    put_varint(&mut b, rec.len() as i64);
    b.extend_from_slice(&rec);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[CRC_START..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An uncompressed batch of `n` records with `value`, as a producer sends it.
    pub(crate) fn batch(n: i32, pid: i64, epoch: i16, seq: i32, txn: bool, ts: i64) -> Vec<u8> {
        let mut recs = BytesMut::new();
        for i in 0..n {
            let mut r = BytesMut::new();
            r.put_i8(0);
            put_varint(&mut r, i64::from(i)); // ts delta
            put_varint(&mut r, i64::from(i));
            put_varint(&mut r, -1); // null key
            put_varint(&mut r, 3);
            r.extend_from_slice(b"abc");
            put_varint(&mut r, 0);
            put_varint(&mut recs, r.len() as i64);
            recs.extend_from_slice(&r);
        }
        let mut b = BytesMut::new();
        b.put_i64(0);
        b.put_i32(0);
        b.put_i32(-1);
        b.put_i8(2);
        b.put_u32(0);
        b.put_i16(if txn { 0x10 } else { 0 });
        b.put_i32(n - 1);
        b.put_i64(ts);
        b.put_i64(ts + i64::from(n) - 1);
        b.put_i64(pid);
        b.put_i16(epoch);
        b.put_i32(seq);
        b.put_i32(n);
        b.extend_from_slice(&recs);
        let len = (b.len() - 12) as i32;
        b[8..12].copy_from_slice(&len.to_be_bytes());
        let crc = crc32c::crc32c(&b[CRC_START..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b.to_vec()
    }

    fn append(log: &mut PartitionLog, b: &[u8]) -> Result<Appended, i16> {
        let h = validate_batch(b, 1 << 20)?;
        log.append(b, &h, 0, false, 0, true)
    }

    #[test]
    fn offsets_are_assigned_and_read_back() {
        let mut log = PartitionLog::new(None, false);
        assert_eq!(
            append(&mut log, &batch(3, -1, -1, -1, false, 10))
                .unwrap()
                .base_offset,
            0
        );
        assert_eq!(
            append(&mut log, &batch(2, -1, -1, -1, false, 20))
                .unwrap()
                .base_offset,
            3
        );
        assert_eq!(log.high_watermark(), 5);
        let r = log.read(4, 1 << 20, true, false).unwrap();
        assert_eq!(r.records.len(), 1);
        assert_eq!(be_i64(&r.records[0], 0), 3);
        assert_eq!(
            log.read(6, 100, true, false).unwrap_err(),
            code::OFFSET_OUT_OF_RANGE
        );
        assert_eq!(log.offset_for_timestamp(11), Some((1, 11)));
        assert_eq!(log.offset_for_timestamp(20), Some((3, 20)));
        assert_eq!(log.offset_for_timestamp(-3), Some((4, 21)));
        assert_eq!(log.offset_for_timestamp(100), None);
    }

    #[test]
    fn corrupt_batches_are_refused() {
        let mut b = batch(1, -1, -1, -1, false, 0);
        let last = b.len() - 1;
        b[last] ^= 1;
        assert_eq!(
            validate_batch(&b, 1 << 20).unwrap_err(),
            code::CORRUPT_MESSAGE
        );
        assert_eq!(
            validate_batch(&b[..30], 1 << 20).unwrap_err(),
            code::CORRUPT_MESSAGE
        );
        let good = batch(1, -1, -1, -1, false, 0);
        assert_eq!(
            validate_batch(&good, 10).unwrap_err(),
            code::MESSAGE_TOO_LARGE
        );
        let mut two = good.clone();
        two.extend_from_slice(&good);
        assert_eq!(
            validate_batch(&two, 1 << 20).unwrap_err(),
            code::INVALID_RECORD
        );
    }

    #[test]
    fn sequences_are_checked() {
        let mut log = PartitionLog::new(None, false);
        assert_eq!(
            append(&mut log, &batch(2, 7, 0, 5, false, 0)).unwrap_err(),
            code::UNKNOWN_PRODUCER_ID
        );
        assert_eq!(
            append(&mut log, &batch(2, 7, 0, 0, false, 0))
                .unwrap()
                .base_offset,
            0
        );
        assert_eq!(
            append(&mut log, &batch(2, 7, 0, 2, false, 0))
                .unwrap()
                .base_offset,
            2
        );
        // A retry of the first batch answers with its original offset.
        assert_eq!(
            append(&mut log, &batch(2, 7, 0, 0, false, 0))
                .unwrap()
                .base_offset,
            0
        );
        assert_eq!(log.high_watermark(), 4);
        assert_eq!(
            append(&mut log, &batch(1, 7, 0, 9, false, 0)).unwrap_err(),
            code::OUT_OF_ORDER_SEQUENCE_NUMBER
        );
        assert_eq!(
            append(&mut log, &batch(1, 7, 1, 3, false, 0)).unwrap_err(),
            code::OUT_OF_ORDER_SEQUENCE_NUMBER
        );
        assert_eq!(
            append(&mut log, &batch(1, 7, 1, 0, false, 0))
                .unwrap()
                .base_offset,
            4
        );
        assert_eq!(
            append(&mut log, &batch(1, 7, 0, 4, false, 0)).unwrap_err(),
            code::INVALID_PRODUCER_EPOCH
        );
    }

    #[test]
    fn transactions_move_lso_and_record_aborts() {
        let mut log = PartitionLog::new(None, false);
        append(&mut log, &batch(1, -1, -1, -1, false, 0)).unwrap();
        append(&mut log, &batch(2, 9, 0, 0, true, 0)).unwrap();
        assert_eq!(log.last_stable_offset(), 1);
        assert_eq!(log.read(0, 1 << 20, true, true).unwrap().records.len(), 1);
        assert_eq!(log.append_control(9, 0, false, 0, 0, 0).unwrap(), 3);
        assert_eq!(log.last_stable_offset(), 4);
        let r = log.read(0, 1 << 20, true, true).unwrap();
        assert_eq!(r.records.len(), 3);
        assert_eq!(
            r.aborted,
            vec![AbortedTxn {
                producer_id: 9,
                first_offset: 1,
                last_offset: 3
            }]
        );
    }

    #[test]
    fn retention_moves_log_start() {
        let one = batch(1, -1, -1, -1, false, 0).len() as u64;
        let mut log = PartitionLog::new(Some(one * 2), false);
        for _ in 0..5 {
            append(&mut log, &batch(1, -1, -1, -1, false, 0)).unwrap();
        }
        assert_eq!(log.log_start_offset(), 3);
        assert!(log.stored_bytes() <= one * 2);
        assert_eq!(
            log.read(0, 100, true, false).unwrap_err(),
            code::OFFSET_OUT_OF_RANGE
        );
    }

    #[test]
    fn delete_records_moves_log_start_inside_a_batch() {
        let mut log = PartitionLog::new(None, false);
        append(&mut log, &batch(3, -1, -1, -1, false, 0)).unwrap();
        append(&mut log, &batch(3, -1, -1, -1, false, 0)).unwrap();
        assert_eq!(log.delete_before(4), Ok(4));
        assert_eq!(
            log.read(3, 1 << 20, true, false).unwrap_err(),
            code::OFFSET_OUT_OF_RANGE
        );
        assert_eq!(log.read(4, 1 << 20, true, false).unwrap().records.len(), 1);
        assert_eq!(log.delete_before(2), Ok(4), "never backwards");
        assert_eq!(log.delete_before(7), Err(code::OFFSET_OUT_OF_RANGE));
        assert_eq!(log.delete_before(-1), Ok(6));
        assert_eq!(log.stored_bytes(), 0);
    }

    #[test]
    fn first_batch_is_returned_over_the_limit() {
        let mut log = PartitionLog::new(None, false);
        append(&mut log, &batch(10, -1, -1, -1, false, 0)).unwrap();
        append(&mut log, &batch(10, -1, -1, -1, false, 0)).unwrap();
        assert_eq!(log.read(0, 1, true, false).unwrap().records.len(), 1);
        assert_eq!(log.read(0, 1, false, false).unwrap().records.len(), 0);
    }
}

// Read-only view of the producers, for DescribeProducers.
mod producers;
