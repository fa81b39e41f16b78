//! Zero-copy decoding of fetched record data: a buffer holding zero or more
//! batches (RecordBatch v2, or MessageSet v0/v1 entries, see `legacy`) as a
//! Fetch response returns them, the last one possibly cut short.
//!
//! Records borrow the fetched buffer (uncompressed batches) or the batch's
//! decompressed buffer: keys, values and headers are `Bytes` slices, never
//! copies. Every length read from the buffer is checked against what remains.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::record::batch::{
    ATTR_CONTROL, ATTR_LOG_APPEND_TIME, ATTR_TRANSACTIONAL, HEADER_LEN, LOG_OVERHEAD,
    OFF_ATTRIBUTES, OFF_BATCH_LENGTH, OFF_MAGIC,
};
use crate::record::compression::{self, Compression};
use crate::record::cursor::{bad, Cursor};
use crate::record::{crc, legacy};

/// The default bound on one batch's decompressed size: the largest size the
/// format's int32 lengths can describe.
pub const DEFAULT_MAX_DECOMPRESSED: usize = i32::MAX as usize;

/// How to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Verify each batch's CRC (`check.crcs`).
    pub check_crc: bool,
    /// Reject a batch whose records decompress to more than this many bytes.
    pub max_decompressed_bytes: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            check_crc: true,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// How a batch's timestamps were assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker on append; every record carries the batch's max timestamp.
    LogAppendTime,
}

/// The header fields of one batch. For MessageSet v0/v1 entries they are
/// synthesised from the (wrapper) message: producer fields are -1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Bytes after the length field.
    pub batch_length: i32,
    /// Leader epoch stamped by the broker (-1 if unknown).
    pub partition_leader_epoch: i32,
    /// Format version: 0, 1 (MessageSet) or 2 (RecordBatch).
    pub magic: i8,
    /// Checksum as stored (CRC-32C for v2, CRC-32 for v0/v1).
    pub crc: u32,
    /// Codec (bits 0-2), timestamp type (3), transactional (4), control (5).
    pub attributes: i16,
    /// Offset of the last record minus `base_offset`.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp: i64,
    /// Largest record timestamp (the append time under LogAppendTime).
    pub max_timestamp: i64,
    /// Idempotent/transactional producer id (-1 if none).
    pub producer_id: i64,
    /// Producer epoch (-1 if none).
    pub producer_epoch: i16,
    /// Sequence number of the first record (-1 if none).
    pub base_sequence: i32,
    /// Records in the batch, as the header states it.
    pub record_count: i32,
}

impl BatchHeader {
    /// The codec named by the attributes (validated at decode).
    pub fn compression(&self) -> Compression {
        Compression::from_attributes(self.attributes).unwrap_or(Compression::None)
    }

    /// How timestamps were assigned.
    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic > 0 && self.attributes & ATTR_LOG_APPEND_TIME != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// The batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.magic >= 2 && self.attributes & ATTR_TRANSACTIONAL != 0
    }

    /// The batch holds control records (transaction markers).
    pub fn is_control(&self) -> bool {
        self.magic >= 2 && self.attributes & ATTR_CONTROL != 0
    }

    /// Offset of the batch's last record (also for compacted-away records).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    /// The offset to fetch from after this batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }
}

/// One decoded batch: header plus a lazy record iterator.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The batch's header fields.
    pub header: BatchHeader,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    /// The records section, decompressed if it was compressed.
    V2(Bytes),
    /// MessageSet entries are few and rare; decoded eagerly.
    Legacy(Vec<Record>),
}

impl Batch {
    pub(crate) fn legacy(header: BatchHeader, records: Vec<Record>) -> Self {
        Batch {
            header,
            body: Body::Legacy(records),
        }
    }

    /// Iterates the batch's records; stops after the first malformed one.
    pub fn records(&self) -> Records<'_> {
        match &self.body {
            Body::V2(data) => Records(RecordsInner::V2 {
                data,
                pos: 0,
                left: self.header.record_count,
                header: &self.header,
            }),
            Body::Legacy(v) => Records(RecordsInner::Legacy(v.iter())),
        }
    }
}

/// A decoded record. It holds one reference-counted slice of the fetched
/// (or decompressed) buffer, with key, value and headers as ranges in it:
/// decoding a record costs one reference count, and each `*_bytes()` handed
/// out costs one more. Nothing is copied.
#[derive(Clone)]
pub struct Record {
    /// Absolute offset.
    pub offset: i64,
    /// Timestamp in milliseconds since the epoch (-1 for MessageSet v0).
    pub timestamp: i64,
    pub(crate) fields: Fields,
}

/// A record's buffer and where its key, value and headers lie in it: a
/// [`Record`] without its offset and timestamp, for the consumer's
/// `Message`, which keeps those itself. Messages are moved several times
/// between decoding and the application; without the two copies a message
/// takes 128 bytes, which the compiler moves inline rather than through a
/// call to `memcpy` (144 bytes did: 29 instructions a move, 11 moves a
/// record).
#[derive(Clone)]
pub(crate) struct Fields {
    buf: Bytes,
    key: Option<(u32, u32)>,
    value: Option<(u32, u32)>,
    headers: (u32, u32),
    header_count: u32,
}

#[inline]
fn span(r: Range) -> (u32, u32) {
    // Callers only pass ranges within a record, whose length fits an i32.
    (r.start as u32, r.end as u32)
}

impl Record {
    /// Builds a record over `buf` from ranges within it.
    pub(crate) fn new(
        offset: i64,
        timestamp: i64,
        buf: Bytes,
        key: Option<Range>,
        value: Option<Range>,
        headers: Range,
        header_count: u32,
    ) -> Self {
        Record {
            offset,
            timestamp,
            fields: Fields {
                buf,
                key: key.map(span),
                value: value.map(span),
                headers: span(headers),
                header_count,
            },
        }
    }

    /// The key; `None` is null.
    #[inline]
    pub fn key(&self) -> Option<&[u8]> {
        self.fields.key()
    }

    /// The value; `None` is null (a tombstone).
    #[inline]
    pub fn value(&self) -> Option<&[u8]> {
        self.fields.value()
    }

    /// The key as a zero-copy `Bytes`.
    #[inline]
    pub fn key_bytes(&self) -> Option<Bytes> {
        self.fields.key_bytes()
    }

    /// The value as a zero-copy `Bytes`.
    #[inline]
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.fields.value_bytes()
    }

    /// Number of headers (always 0 for MessageSet v0/v1).
    pub fn header_count(&self) -> usize {
        self.fields.header_count()
    }

    /// Iterates the headers in order.
    pub fn headers(&self) -> HeaderIter<'_> {
        self.fields.headers()
    }

    /// The buffer the record's fields are slices of.
    pub fn buffer(&self) -> &Bytes {
        &self.fields.buf
    }
}

impl Fields {
    #[inline]
    pub(crate) fn key(&self) -> Option<&[u8]> {
        self.key.map(|(a, b)| &self.buf[a as usize..b as usize])
    }

    #[inline]
    pub(crate) fn value(&self) -> Option<&[u8]> {
        self.value.map(|(a, b)| &self.buf[a as usize..b as usize])
    }

    #[inline]
    pub(crate) fn key_bytes(&self) -> Option<Bytes> {
        self.key
            .map(|(a, b)| self.buf.slice(a as usize..b as usize))
    }

    #[inline]
    pub(crate) fn value_bytes(&self) -> Option<Bytes> {
        self.value
            .map(|(a, b)| self.buf.slice(a as usize..b as usize))
    }

    pub(crate) fn header_count(&self) -> usize {
        self.header_count as usize
    }

    pub(crate) fn headers(&self) -> HeaderIter<'_> {
        let (a, b) = self.headers;
        HeaderIter {
            buf: &self.buf,
            data: &self.buf[a as usize..b as usize],
            pos: 0,
            left: self.header_count as usize,
        }
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.offset == other.offset
            && self.timestamp == other.timestamp
            && self.fields == other.fields
    }
}

impl Eq for Record {}

/// Equal contents, wherever the buffers lie.
impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
            && self.value() == other.value()
            && self.headers().eq(other.headers())
    }
}

impl Eq for Fields {}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("key", &self.key().map(Bytes::copy_from_slice))
            .field("value", &self.value().map(Bytes::copy_from_slice))
            .field("headers", &self.headers().collect::<Vec<_>>())
            .finish()
    }
}

/// One record header as decoded: the key is not yet checked to be UTF-8.
#[derive(Clone, Copy)]
pub struct HeaderView<'a> {
    /// Key bytes (UTF-8 by contract, see [`HeaderView::key_str`]).
    pub key: &'a [u8],
    /// Value; `None` is null.
    pub value: Option<&'a [u8]>,
    buf: &'a Bytes,
}

impl PartialEq for HeaderView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key && self.value == other.value
    }
}

impl std::fmt::Debug for HeaderView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeaderView")
            .field("key", &String::from_utf8_lossy(self.key))
            .field("value", &self.value.map(Bytes::copy_from_slice))
            .finish()
    }
}

impl<'a> HeaderView<'a> {
    /// The key as text; Kafka header keys are strings.
    pub fn key_str(&self) -> Result<&'a str> {
        std::str::from_utf8(self.key)
            .map_err(|e| bad(format!("record header key is not UTF-8: {e}")))
    }

    /// The value as a zero-copy `Bytes`.
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|v| self.buf.slice_ref(v))
    }

    /// Converts to the public [`crate::record::Header`] (copies the key,
    /// shares the value).
    pub fn to_header(&self) -> Result<crate::record::Header> {
        Ok(crate::record::Header {
            key: self.key_str()?.to_owned(),
            value: self.value_bytes(),
        })
    }
}

/// Iterator over a record's headers.
pub struct HeaderIter<'a> {
    buf: &'a Bytes,
    data: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = HeaderView<'a>;

    fn next(&mut self) -> Option<HeaderView<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let data: &'a [u8] = self.data;
        let mut c = Cursor::new(&data[self.pos..]);
        // Validated when the record was decoded; a failure here cannot
        // happen, and ends the iteration rather than panicking.
        let parsed = parse_header(&mut c);
        let base = self.pos;
        self.pos += c.pos();
        match parsed {
            Ok((k, v)) => Some(HeaderView {
                key: &data[base + k.start..base + k.end],
                value: v.map(|v| &data[base + v.start..base + v.end]),
                buf: self.buf,
            }),
            Err(_) => {
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left))
    }
}

type Range = std::ops::Range<usize>;

#[inline]
fn parse_header(c: &mut Cursor<'_>) -> Result<(Range, Option<Range>)> {
    let klen = c.varint("record header key length")?;
    if klen < 0 {
        return Err(bad(format!("record header key length {klen} is negative")));
    }
    let k = c.take(klen as usize, "record header key")?;
    let v = c.varint_bytes("record header value")?;
    Ok((k, v))
}

/// Kind of a control record (transaction marker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlType {
    /// Transaction aborted.
    Abort,
    /// Transaction committed.
    Commit,
    /// A type this client does not know; skip it.
    Unknown(i16),
}

/// A decoded control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlRecord {
    /// Marker type.
    pub kind: ControlType,
    /// Control key version.
    pub version: i16,
    /// From the value of an end-transaction marker, when present.
    pub coordinator_epoch: Option<i32>,
}

impl Record {
    /// Parses this record as a control record (only meaningful in a batch
    /// whose header says `is_control()`).
    pub fn control(&self) -> Result<ControlRecord> {
        let key = self
            .key()
            .ok_or_else(|| bad("control record has a null key"))?;
        let mut c = Cursor::new(key);
        let version = c.i16("control record key version")?;
        let kind = match c.i16("control record type")? {
            0 => ControlType::Abort,
            1 => ControlType::Commit,
            other => ControlType::Unknown(other),
        };
        let coordinator_epoch = match (&kind, self.value()) {
            (ControlType::Abort | ControlType::Commit, Some(v)) if v.len() >= 6 => {
                let mut c = Cursor::new(v);
                c.i16("end transaction marker version")?;
                Some(c.i32("coordinator epoch")?)
            }
            _ => None,
        };
        Ok(ControlRecord {
            kind,
            version,
            coordinator_epoch,
        })
    }
}

/// Iterator over a batch's records.
pub struct Records<'a>(RecordsInner<'a>);

enum RecordsInner<'a> {
    V2 {
        data: &'a Bytes,
        pos: usize,
        left: i32,
        header: &'a BatchHeader,
    },
    Legacy(std::slice::Iter<'a, Record>),
}

impl Iterator for Records<'_> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        match &mut self.0 {
            RecordsInner::Legacy(it) => it.next().cloned().map(Ok),
            RecordsInner::V2 {
                data,
                pos,
                left,
                header,
            } => {
                if *left <= 0 {
                    if *left == 0 && *pos != data.len() {
                        *left = -1;
                        return Some(Err(bad(format!(
                            "record batch at offset {}: {} bytes follow the last of its {} records",
                            header.base_offset,
                            data.len() - *pos,
                            header.record_count
                        ))));
                    }
                    return None;
                }
                match decode_record(data, pos, header) {
                    Ok(r) => {
                        *left -= 1;
                        Some(Ok(r))
                    }
                    Err(e) => {
                        *left = -1;
                        Some(Err(e))
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            RecordsInner::Legacy(it) => it.size_hint(),
            RecordsInner::V2 { left, .. } => (0, Some((*left).max(0) as usize + 1)),
        }
    }
}

// Errors of `decode_record`, out of line to keep it small.

#[cold]
#[inline(never)]
fn negative(what: &str, n: i32) -> Error {
    bad(format!("{what} {n} is negative"))
}

#[cold]
#[inline(never)]
fn trailing(len: i32, left: usize) -> Error {
    bad(format!(
        "record of {len} bytes has {left} bytes after its last header"
    ))
}

#[inline]
fn decode_record(data: &Bytes, pos: &mut usize, header: &BatchHeader) -> Result<Record> {
    let mut outer = Cursor::new(&data[*pos..]);
    let len = outer.varint("record length")?;
    if len < 0 {
        return Err(negative("record length", len));
    }
    let body = outer.take(len as usize, "record")?;
    let base = *pos + body.start;
    let mut c = Cursor::new(&data[base..base + body.len()]);
    let _attributes = c.i8("record attributes")?;
    let ts_delta = c.varlong("record timestamp delta")?;
    let offset_delta = c.varint("record offset delta")?;
    let key = c.varint_bytes("record key")?;
    let value = c.varint_bytes("record value")?;
    let hcount = c.varint("record header count")?;
    if hcount < 0 {
        return Err(negative("record header count", hcount));
    }
    let h_start = c.pos();
    for _ in 0..hcount {
        parse_header(&mut c)?;
    }
    let h_end = c.pos();
    if c.remaining() != 0 {
        return Err(trailing(len, c.remaining()));
    }
    *pos += outer.pos();
    let timestamp = match header.timestamp_type() {
        TimestampType::LogAppendTime => header.max_timestamp,
        TimestampType::CreateTime => header.base_timestamp.wrapping_add(ts_delta),
    };
    Ok(Record::new(
        header.base_offset.wrapping_add(i64::from(offset_delta)),
        timestamp,
        data.slice(base..base + body.len()),
        key,
        value,
        h_start..h_end,
        hcount as u32,
    ))
}

/// Decodes one complete RecordBatch v2 (`b` is exactly the batch).
fn decode_v2(b: Bytes, opts: &DecodeOptions) -> Result<Batch> {
    let mut c = Cursor::new(&b);
    let header = BatchHeader {
        base_offset: c.i64("batch base offset")?,
        batch_length: c.i32("batch length")?,
        partition_leader_epoch: c.i32("partition leader epoch")?,
        magic: c.i8("batch magic")?,
        crc: c.u32("batch crc")?,
        attributes: c.i16("batch attributes")?,
        last_offset_delta: c.i32("batch last offset delta")?,
        base_timestamp: c.i64("batch base timestamp")?,
        max_timestamp: c.i64("batch max timestamp")?,
        producer_id: c.i64("batch producer id")?,
        producer_epoch: c.i16("batch producer epoch")?,
        base_sequence: c.i32("batch base sequence")?,
        record_count: c.i32("batch record count")?,
    };
    debug_assert_eq!(c.pos(), HEADER_LEN);
    if opts.check_crc {
        let actual = crc::crc32c(&b[OFF_ATTRIBUTES..]);
        if actual != header.crc {
            return Err(bad(format!(
                "record batch at offset {}: CRC-32C mismatch: header says {:#010x}, data has {actual:#010x}",
                header.base_offset, header.crc
            )));
        }
    }
    if header.record_count < 0 {
        return Err(bad(format!(
            "record batch at offset {}: negative record count {}",
            header.base_offset, header.record_count
        )));
    }
    let codec = Compression::from_attributes(header.attributes)?;
    let records = if codec == Compression::None {
        b.slice(HEADER_LEN..)
    } else {
        Bytes::from(compression::decompress(
            codec,
            &b[HEADER_LEN..],
            opts.max_decompressed_bytes,
        )?)
    };
    Ok(Batch {
        header,
        body: Body::V2(records),
    })
}

/// Iterates the batches of a fetched buffer. Stops cleanly at a trailing
/// incomplete batch (see [`BatchReader::is_truncated`]); stops after the
/// first malformed batch, which it yields as an error.
#[derive(Debug)]
pub struct BatchReader {
    buf: Bytes,
    pos: usize,
    opts: DecodeOptions,
    done: bool,
    truncated: bool,
}

impl BatchReader {
    /// A reader over `buf`, the records data of one fetched partition.
    pub fn new(buf: Bytes, opts: DecodeOptions) -> Self {
        BatchReader {
            buf,
            pos: 0,
            opts,
            done: false,
            truncated: false,
        }
    }

    /// Bytes of complete batches yielded so far (the start of the next batch).
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// True once iteration ended at a trailing batch cut short by the fetch
    /// size limit. If no batch was complete, the fetch size was too small.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    fn next_batch(&mut self) -> Option<Result<Batch>> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        if rest.len() < LOG_OVERHEAD {
            self.truncated = true;
            return None;
        }
        let mut c = Cursor::new(&rest[OFF_BATCH_LENGTH..]);
        let length = match c.i32("batch length") {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        // Smallest entry: a MessageSet v0 message (crc, magic, attributes,
        // two null lengths).
        if length < 14 {
            return Some(Err(bad(format!(
                "record batch at byte {}: length {length} is below the minimum of 14",
                self.pos
            ))));
        }
        let total = LOG_OVERHEAD + length as usize;
        if total > rest.len() {
            self.truncated = true;
            return None;
        }
        let magic = rest[OFF_MAGIC] as i8;
        let entry = self.buf.slice(self.pos..self.pos + total);
        let result = match magic {
            2 => decode_v2(entry, &self.opts),
            0 | 1 => legacy::decode_entry(entry, &self.opts),
            other => Err(bad(format!(
                "record batch at byte {}: unsupported magic {other}",
                self.pos
            ))),
        };
        if result.is_ok() {
            self.pos += total;
        }
        Some(result)
    }
}

impl Iterator for BatchReader {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.done {
            return None;
        }
        let item = self.next_batch();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}
