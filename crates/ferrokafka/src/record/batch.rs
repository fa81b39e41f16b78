//! RecordBatch v2 (magic 2) encoding: records are written straight into one
//! growing buffer behind a reserved 61-byte header; `finish` compresses the
//! records section once and computes the CRC-32C once.
//!
//! Layout (offsets in bytes):
//! ```text
//!  0 baseOffset i64        8 batchLength i32      12 partitionLeaderEpoch i32
//! 16 magic i8             17 crc u32 (CRC-32C of bytes 21..end)
//! 21 attributes i16       23 lastOffsetDelta i32 27 baseTimestamp i64
//! 35 maxTimestamp i64     43 producerId i64      51 producerEpoch i16
//! 53 baseSequence i32     57 recordCount i32     61 records...
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Error, ErrorCode, Result};
use crate::record::compression::{self, Compression};
use crate::record::crc;
use crate::record::reader::ControlType;
use crate::record::varint::{
    put_varint, varint_len, varlong_len, write_varint, write_varlong, MAX_VARINT_LEN,
    MAX_VARLONG_LEN,
};
use crate::record::Header;

pub(crate) const HEADER_LEN: usize = 61;
pub(crate) const OFF_BATCH_LENGTH: usize = 8;
pub(crate) const OFF_MAGIC: usize = 16;
pub(crate) const OFF_CRC: usize = 17;
pub(crate) const OFF_ATTRIBUTES: usize = 21;
pub(crate) const OFF_PRODUCER_ID: usize = 43;
/// Bytes before the batchLength field's coverage starts (baseOffset + batchLength).
pub(crate) const LOG_OVERHEAD: usize = 12;

pub(crate) const ATTR_CODEC_MASK: i16 = 0x07;
pub(crate) const ATTR_LOG_APPEND_TIME: i16 = 0x08;
pub(crate) const ATTR_TRANSACTIONAL: i16 = 0x10;
pub(crate) const ATTR_CONTROL: i16 = 0x20;

/// Initial buffer capacity; batches grow by doubling from here so that many
/// idle partitions do not each hold a `batch.size` allocation.
const INITIAL_CAPACITY: usize = 16 * 1024;

/// Batch-level flags set at `finish`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchFlags {
    /// The batch is part of a transaction.
    pub transactional: bool,
    /// The batch holds control records (transaction markers).
    pub control: bool,
}

/// Accumulates records of one partition into a RecordBatch v2.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: BytesMut,
    base_timestamp: i64,
    max_timestamp: i64,
    max_bytes: usize,
    count: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
}

#[inline]
fn bytes_field_len(b: Option<usize>) -> usize {
    match b {
        None => 1,
        Some(n) => varint_len(n as i32) + n,
    }
}

fn headers_len(headers: &[Header]) -> Option<usize> {
    let mut total = varint_len(i32::try_from(headers.len()).ok()?);
    for h in headers {
        let k = h.key.len();
        i32::try_from(k).ok()?;
        let v = h.value.as_ref().map(|v| v.len());
        if let Some(v) = v {
            i32::try_from(v).ok()?;
        }
        total = total.checked_add(varint_len(k as i32) + k)?;
        total = total.checked_add(bytes_field_len(v))?;
    }
    Some(total)
}

impl BatchBuilder {
    /// A new batch whose timestamps are deltas from `base_timestamp` (the
    /// first record's timestamp) and which refuses records beyond `max_bytes`
    /// of encoded size (header included), except its first record.
    pub fn new(base_timestamp: i64, max_bytes: usize) -> Self {
        Self::with_capacity(
            base_timestamp,
            max_bytes,
            max_bytes.clamp(HEADER_LEN + 64, INITIAL_CAPACITY),
        )
    }

    /// [`new`](Self::new) with room for `capacity` bytes (header included)
    /// from the start: a caller that knows the records' size spares the
    /// buffer's growth, its copies and the spare room a doubled buffer
    /// keeps once frozen (a producer holds each encoded batch until it is
    /// acknowledged).
    pub fn with_capacity(base_timestamp: i64, max_bytes: usize, capacity: usize) -> Self {
        let mut buf = BytesMut::with_capacity(capacity.max(HEADER_LEN));
        buf.put_bytes(0, HEADER_LEN);
        BatchBuilder {
            buf,
            base_timestamp,
            max_timestamp: base_timestamp,
            max_bytes,
            count: 0,
            producer_id: -1,
            producer_epoch: -1,
            base_sequence: -1,
        }
    }

    /// The encoded size of one record (length prefix included) at the largest
    /// offset and timestamp deltas, plus the batch header: an upper bound of
    /// the batch a record alone would form, for `message.max.bytes` checks.
    pub fn record_size_upper_bound(
        key_len: Option<usize>,
        value_len: Option<usize>,
        headers: &[Header],
    ) -> usize {
        let body = 1
            + crate::record::varint::MAX_VARLONG_LEN
            + crate::record::varint::MAX_VARINT_LEN
            + key_len.map_or(1, |n| {
                crate::record::varint::MAX_VARINT_LEN.saturating_add(n)
            })
            + value_len.map_or(1, |n| {
                crate::record::varint::MAX_VARINT_LEN.saturating_add(n)
            });
        let h = headers_len(headers).unwrap_or(usize::MAX / 2);
        HEADER_LEN
            .saturating_add(crate::record::varint::MAX_VARINT_LEN)
            .saturating_add(body)
            .saturating_add(h)
    }

    /// Appends a record. Returns false, appending nothing, when the record
    /// would take the batch past `max_bytes` (never for the first record), or
    /// when the batch already holds `i32::MAX` records or a field is longer
    /// than the format can express (2 GiB).
    pub fn try_append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> bool {
        if self.count == i32::MAX {
            return false;
        }
        let ts_delta = timestamp.wrapping_sub(self.base_timestamp);
        let offset_delta = self.count;
        let (Ok(_), Ok(_)) = (
            i32::try_from(key.map_or(0, <[u8]>::len)),
            i32::try_from(value.map_or(0, <[u8]>::len)),
        ) else {
            return false;
        };
        let Some(h_len) = headers_len(headers) else {
            return false;
        };
        let body = 1
            + varlong_len(ts_delta)
            + varint_len(offset_delta)
            + bytes_field_len(key.map(<[u8]>::len))
            + bytes_field_len(value.map(<[u8]>::len));
        let Some(body) = body.checked_add(h_len) else {
            return false;
        };
        let Ok(body_i32) = i32::try_from(body) else {
            return false;
        };
        let total = varint_len(body_i32) + body;
        if self.count > 0 && self.buf.len().saturating_add(total) > self.max_bytes {
            return false;
        }
        let buf = &mut self.buf;
        buf.reserve(total);
        // The fields before the key, and those between the key and the
        // value, go through a small array: one copy each instead of a
        // capacity check per field.
        let mut head = [0u8; 2 * MAX_VARINT_LEN + 1 + MAX_VARLONG_LEN + MAX_VARINT_LEN];
        let mut n = write_varint(&mut head, 0, body_i32);
        n += 1; // record attributes: unused, 0
        n = write_varlong(&mut head, n, ts_delta);
        n = write_varint(&mut head, n, offset_delta);
        n = write_varint(&mut head, n, key.map_or(-1, |k| k.len() as i32));
        buf.extend_from_slice(&head[..n]);
        if let Some(k) = key {
            buf.extend_from_slice(k);
        }
        let n = write_varint(&mut head, 0, value.map_or(-1, |v| v.len() as i32));
        buf.extend_from_slice(&head[..n]);
        if let Some(v) = value {
            buf.extend_from_slice(v);
        }
        put_varint(buf, headers.len() as i32);
        for h in headers {
            put_varint(buf, h.key.len() as i32);
            buf.put_slice(h.key.as_bytes());
            put_nullable(buf, h.value.as_deref());
        }
        if timestamp > self.max_timestamp || self.count == 0 {
            self.max_timestamp = timestamp;
        }
        self.count += 1;
        true
    }

    /// Appends a control record (transaction marker): key = version 0 and
    /// the marker type, value = version 0 and the coordinator epoch. Such
    /// records belong in a batch finished with `control` (and
    /// `transactional`) set; brokers write them, so this serves the mock
    /// cluster and tests.
    pub fn try_append_control(
        &mut self,
        timestamp: i64,
        kind: ControlType,
        coordinator_epoch: i32,
    ) -> bool {
        let code: i16 = match kind {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
            ControlType::Unknown(c) => c,
        };
        let mut key = [0u8; 4];
        key[2..].copy_from_slice(&code.to_be_bytes());
        let mut value = [0u8; 6];
        value[2..].copy_from_slice(&coordinator_epoch.to_be_bytes());
        self.try_append(timestamp, Some(&key), Some(&value), &[])
    }

    /// Encoded bytes so far, the 61-byte header included, before compression.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no record has been appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Records appended so far.
    pub fn record_count(&self) -> i32 {
        self.count
    }

    /// The size the batch takes on the wire if sent uncompressed; an upper
    /// bound in practice for compressed batches.
    pub fn size_estimate(&self) -> usize {
        self.buf.len()
    }

    /// The base timestamp given at construction.
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// Stamps producer id, epoch and base sequence before `finish`, so the
    /// CRC is computed only once. Idempotent producers that know these when
    /// the batch is sealed use this; [`EncodedBatch::set_producer`] re-stamps
    /// later.
    pub fn set_producer(&mut self, producer_id: i64, epoch: i16, base_sequence: i32) {
        self.producer_id = producer_id;
        self.producer_epoch = epoch;
        self.base_sequence = base_sequence;
    }

    /// Seals the batch: compresses the records section with `compression` at
    /// `level` (`None`/`-1` = codec default), writes the header and computes
    /// the CRC. Fails if the batch is empty, the level is out of the codec's
    /// range, or the compressed batch exceeds 2 GiB.
    pub fn finish(
        mut self,
        compression: Compression,
        level: Option<i32>,
        attrs: BatchFlags,
    ) -> Result<EncodedBatch> {
        if self.count == 0 {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "record batch: cannot finish a batch with no records",
            ));
        }
        let mut attributes = compression.attribute_bits();
        if attrs.transactional {
            attributes |= ATTR_TRANSACTIONAL;
        }
        if attrs.control {
            attributes |= ATTR_CONTROL;
        }
        let bytes = if compression == Compression::None {
            let mut buf = std::mem::take(&mut self.buf);
            self.write_header(&mut buf, attributes)?;
            buf.freeze()
        } else {
            let records = &self.buf[HEADER_LEN..];
            let mut out = Vec::with_capacity(HEADER_LEN + records.len() / 2 + 64);
            out.resize(HEADER_LEN, 0);
            compression::compress(compression, level, records, &mut out)?;
            self.write_header(&mut out, attributes)?;
            Bytes::from(out)
        };
        let records_crc = crc::crc32c(&bytes[HEADER_LEN..]);
        let mut batch = EncodedBatch {
            bytes,
            record_count: self.count,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            records_crc,
        };
        batch.stamp_crc_with(|_| {});
        Ok(batch)
    }

    /// Writes the 61-byte header (CRC left zero) at the start of `buf`.
    fn write_header(&self, buf: &mut [u8], attributes: i16) -> Result<()> {
        let batch_length = i32::try_from(buf.len() - LOG_OVERHEAD).map_err(|_| {
            Error::new(
                ErrorCode::InvalidArg,
                format!(
                    "record batch: {} bytes exceeds the 2 GiB format limit",
                    buf.len()
                ),
            )
        })?;
        let mut h = &mut buf[..HEADER_LEN];
        h.put_i64(0); // base offset: assigned by the broker
        h.put_i32(batch_length);
        h.put_i32(-1); // partition leader epoch: set by the broker
        h.put_i8(2); // magic
        h.put_u32(0); // crc: computed last
        h.put_i16(attributes);
        h.put_i32(self.count - 1);
        h.put_i64(self.base_timestamp);
        h.put_i64(self.max_timestamp);
        h.put_i64(self.producer_id);
        h.put_i16(self.producer_epoch);
        h.put_i32(self.base_sequence);
        h.put_i32(self.count);
        Ok(())
    }
}

#[inline]
fn put_nullable(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

/// A sealed RecordBatch v2, ready to go into a ProduceRequest.
#[derive(Debug, Clone)]
pub struct EncodedBatch {
    bytes: Bytes,
    record_count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    /// CRC-32C of the records section alone, so a header re-stamp costs
    /// O(header), not O(batch).
    records_crc: u32,
}

impl EncodedBatch {
    /// Rewrites producer id, epoch and base sequence and recomputes the CRC
    /// (records are not re-read). Copies the batch only if its bytes are
    /// still shared with an in-flight request.
    pub fn set_producer(&mut self, producer_id: i64, epoch: i16, base_sequence: i32) {
        self.stamp_crc_with(|h| {
            let mut w = &mut h[OFF_PRODUCER_ID..];
            w.put_i64(producer_id);
            w.put_i16(epoch);
            w.put_i32(base_sequence);
        });
    }

    /// Rewrites the header with `edit`, then the CRC over it.
    fn stamp_crc_with(&mut self, edit: impl FnOnce(&mut [u8])) {
        let mut buf = match std::mem::take(&mut self.bytes).try_into_mut() {
            Ok(b) => b,
            Err(shared) => BytesMut::from(&shared[..]),
        };
        edit(&mut buf[..HEADER_LEN]);
        let header_crc = crc::crc32c(&buf[OFF_ATTRIBUTES..HEADER_LEN]);
        let crc = crc::crc32c_combine(header_crc, self.records_crc, buf.len() - HEADER_LEN);
        buf[OFF_CRC..OFF_CRC + 4].copy_from_slice(&crc.to_be_bytes());
        self.bytes = buf.freeze();
    }

    /// The batch's wire bytes (a reference-counted handle, not a copy).
    pub fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    /// Records in the batch.
    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// Wire size in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Always false: a sealed batch holds at least one record.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The first record's timestamp.
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// The largest record timestamp.
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::reader::{BatchReader, DecodeOptions};

    #[test]
    fn control_batch_round_trips() {
        let mut b = BatchBuilder::new(5, 1 << 20);
        assert!(b.try_append_control(5, ControlType::Commit, 17));
        assert!(b.try_append_control(6, ControlType::Abort, 18));
        let flags = BatchFlags {
            transactional: true,
            control: true,
        };
        let mut enc = b.finish(Compression::None, None, flags).unwrap();
        enc.set_producer(77, 2, -1);
        let batch = BatchReader::new(enc.bytes(), DecodeOptions::default())
            .next()
            .unwrap()
            .unwrap();
        assert!(batch.header.is_control() && batch.header.is_transactional());
        let kinds: Vec<_> = batch
            .records()
            .map(|r| r.unwrap().control().unwrap())
            .map(|c| (c.kind, c.version, c.coordinator_epoch))
            .collect();
        assert_eq!(
            kinds,
            [
                (ControlType::Commit, 0, Some(17)),
                (ControlType::Abort, 0, Some(18))
            ]
        );
    }

    #[test]
    fn header_layout_matches_the_spec() {
        let mut b = BatchBuilder::new(1_000, 1 << 20);
        assert!(b.try_append(1_000, Some(b"k"), Some(b"v"), &[]));
        assert!(b.try_append(990, None, Some(b"w"), &[]));
        assert!(b.try_append(1_020, None, None, &[]));
        let enc = b
            .finish(Compression::None, None, BatchFlags::default())
            .unwrap();
        let h = enc.bytes();
        let i64_at = |o: usize| i64::from_be_bytes(h[o..o + 8].try_into().unwrap());
        let i32_at = |o: usize| i32::from_be_bytes(h[o..o + 4].try_into().unwrap());
        assert_eq!(i64_at(0), 0, "base offset");
        assert_eq!(i32_at(OFF_BATCH_LENGTH) as usize, h.len() - LOG_OVERHEAD);
        assert_eq!(i32_at(12), -1, "partition leader epoch");
        assert_eq!(h[OFF_MAGIC], 2);
        assert_eq!(i32_at(23), 2, "last offset delta");
        assert_eq!(i64_at(27), 1_000, "base timestamp");
        assert_eq!(i64_at(35), 1_020, "max timestamp");
        assert_eq!(i64_at(OFF_PRODUCER_ID), -1);
        assert_eq!(i32_at(57), 3, "record count");
        let crc = u32::from_be_bytes(h[OFF_CRC..OFF_CRC + 4].try_into().unwrap());
        assert_eq!(crc, crc::crc32c(&h[OFF_ATTRIBUTES..]));
        // Zigzag varints. First record: length 8, attributes 0, ts delta 0,
        // offset delta 0, key len 1 "k", value len 1 "v", 0 headers. Second:
        // length 7, attributes 0, ts delta -10, offset delta 1, null key...
        assert_eq!(
            h[HEADER_LEN..HEADER_LEN + 14],
            [16, 0, 0, 0, 2, b'k', 2, b'v', 0, 14, 0, 19, 2, 1]
        );
    }

    #[test]
    fn empty_batch_is_refused() {
        let b = BatchBuilder::new(0, 100);
        let err = b
            .finish(Compression::None, None, BatchFlags::default())
            .unwrap_err();
        assert!(err.message().contains("no records"));
    }
}
