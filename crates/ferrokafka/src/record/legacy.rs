//! Decoding of legacy MessageSet entries (magic 0 and 1), as brokers still
//! return them for old data, into the same record view as RecordBatch v2.
//!
//! Entry: `offset i64, message_size i32, crc u32 (CRC-32 of the rest), magic i8,
//! attributes i8, [timestamp i64 if magic 1], key bytes, value bytes` with
//! int32 lengths (-1 = null). A compressed entry is a wrapper whose value is a
//! compressed MessageSet of inner messages. For magic 1 wrappers the inner
//! offsets are relative: inner absolute offset = wrapper offset - last inner
//! offset + inner offset. Nesting deeper than one wrapper is rejected.

use bytes::Bytes;

use crate::error::Result;
use crate::record::batch::{ATTR_CODEC_MASK, ATTR_LOG_APPEND_TIME, LOG_OVERHEAD};
use crate::record::compression::{self, Compression};
use crate::record::crc;
use crate::record::cursor::{bad, Cursor};
use crate::record::reader::{Batch, BatchHeader, DecodeOptions, Record};

struct Message {
    offset: i64,
    size: i32,
    crc: u32,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<std::ops::Range<usize>>,
    value: Option<std::ops::Range<usize>>,
}

/// Parses the message at the start of `buf`, which must hold all of it.
fn parse_message(buf: &[u8], check_crc: bool) -> Result<Message> {
    let mut c = Cursor::new(buf);
    let offset = c.i64("message offset")?;
    let size = c.i32("message size")?;
    if size < 0 {
        return Err(bad(format!(
            "message at offset {offset}: negative size {size}"
        )));
    }
    let end = LOG_OVERHEAD
        .checked_add(size as usize)
        .filter(|&e| e <= buf.len())
        .ok_or_else(|| {
            bad(format!(
                "message at offset {offset}: size {size} exceeds the {} bytes remaining",
                buf.len() - LOG_OVERHEAD
            ))
        })?;
    let mut c = Cursor::new(&buf[..end]);
    c.take(LOG_OVERHEAD, "message offset and size")?;
    let crc_field = c.u32("message crc")?;
    let magic = c.i8("message magic")?;
    if !(0..=1).contains(&magic) {
        return Err(bad(format!(
            "message at offset {offset}: magic {magic} inside a MessageSet"
        )));
    }
    if check_crc {
        let actual = crc::crc32(&buf[LOG_OVERHEAD + 4..end]);
        if actual != crc_field {
            return Err(bad(format!(
                "message at offset {offset}: CRC-32 mismatch: header says {crc_field:#010x}, data has {actual:#010x}"
            )));
        }
    }
    let attributes = c.i8("message attributes")?;
    let timestamp = if magic == 1 {
        c.i64("message timestamp")?
    } else {
        -1
    };
    let key = c.i32_bytes("message key")?;
    let value = c.i32_bytes("message value")?;
    if c.remaining() != 0 {
        return Err(bad(format!(
            "message at offset {offset}: {} bytes after its value",
            c.remaining()
        )));
    }
    Ok(Message {
        offset,
        size,
        crc: crc_field,
        magic,
        attributes,
        timestamp,
        key,
        value,
    })
}

/// The record of message `m`, which starts at byte `base` of `buf`.
fn record(buf: &Bytes, base: usize, m: &Message, offset: i64, timestamp: i64) -> Record {
    let len = LOG_OVERHEAD + m.size as usize;
    Record::new(
        offset,
        timestamp,
        buf.slice(base..base + len),
        m.key.clone(),
        m.value.clone(),
        0..0,
        0,
    )
}

/// Decodes one complete MessageSet entry (`entry` is exactly the entry).
pub(crate) fn decode_entry(entry: Bytes, opts: &DecodeOptions) -> Result<Batch> {
    let wrapper = parse_message(&entry, opts.check_crc)?;
    let codec = Compression::from_attributes(i16::from(wrapper.attributes))?;
    let log_append =
        wrapper.magic == 1 && i16::from(wrapper.attributes) & ATTR_LOG_APPEND_TIME != 0;
    let records = if codec == Compression::None {
        vec![record(
            &entry,
            0,
            &wrapper,
            wrapper.offset,
            wrapper.timestamp,
        )]
    } else {
        let Some(value) = wrapper.value.clone() else {
            return Err(bad(format!(
                "compressed message at offset {}: null value",
                wrapper.offset
            )));
        };
        let inner = Bytes::from(compression::decompress(
            codec,
            &entry[value],
            opts.max_decompressed_bytes,
        )?);
        let mut messages = Vec::new();
        let mut pos = 0;
        while pos < inner.len() {
            let m = parse_message(&inner[pos..], opts.check_crc)?;
            if i16::from(m.attributes) & ATTR_CODEC_MASK != 0 {
                return Err(bad(format!(
                    "compressed message at offset {}: nested compression inside it",
                    wrapper.offset
                )));
            }
            let start = pos;
            pos += LOG_OVERHEAD + m.size as usize;
            messages.push((start, m));
        }
        let last_inner = messages.last().map_or(0, |(_, m)| m.offset);
        messages
            .iter()
            .map(|(start, m)| {
                let offset = if wrapper.magic >= 1 {
                    wrapper
                        .offset
                        .wrapping_sub(last_inner)
                        .wrapping_add(m.offset)
                } else {
                    m.offset
                };
                let timestamp = if log_append {
                    wrapper.timestamp
                } else {
                    m.timestamp
                };
                record(&inner, *start, m, offset, timestamp)
            })
            .collect()
    };
    let first = records.first();
    let base_offset = first.map_or(wrapper.offset, |r| r.offset);
    let last_offset = records.last().map_or(wrapper.offset, |r| r.offset);
    let header = BatchHeader {
        base_offset,
        batch_length: wrapper.size,
        partition_leader_epoch: -1,
        magic: wrapper.magic,
        crc: wrapper.crc,
        attributes: i16::from(wrapper.attributes) & 0xff,
        last_offset_delta: i32::try_from(last_offset.wrapping_sub(base_offset)).unwrap_or(i32::MAX),
        base_timestamp: first.map_or(wrapper.timestamp, |r| r.timestamp),
        max_timestamp: records
            .iter()
            .map(|r| r.timestamp)
            .max()
            .unwrap_or(wrapper.timestamp),
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        record_count: i32::try_from(records.len()).unwrap_or(i32::MAX),
    };
    Ok(Batch::legacy(header, records))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::reader::{BatchReader, TimestampType};

    /// A MessageSet entry written by hand, per the layout in the module doc.
    fn entry(
        magic: i8,
        attrs: i8,
        offset: i64,
        ts: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut body = vec![magic as u8, attrs as u8];
        if magic == 1 {
            body.extend_from_slice(&ts.to_be_bytes());
        }
        for field in [key, value] {
            match field {
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    body.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    body.extend_from_slice(b);
                }
            }
        }
        let mut out = offset.to_be_bytes().to_vec();
        out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        out.extend_from_slice(&crc::crc32(&body).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        compression::compress(Compression::Gzip, None, data, &mut out).unwrap();
        out
    }

    fn decode(data: Vec<u8>, check_crc: bool) -> Result<Vec<Batch>> {
        let opts = DecodeOptions {
            check_crc,
            ..DecodeOptions::default()
        };
        BatchReader::new(Bytes::from(data), opts).collect()
    }

    #[test]
    fn v1_wrapper_relative_offsets_and_log_append_time() {
        let mut inner = Vec::new();
        for i in 0..3 {
            inner.extend(entry(
                1,
                0,
                i,
                10 + i,
                None,
                Some(format!("m{i}").as_bytes()),
            ));
        }
        // Wrapper: gzip, LogAppendTime, offset = absolute offset of the last inner.
        let wrapper = entry(1, 1 | 0x08, 100, 5_000, None, Some(&gzip(&inner)));
        let batches = decode(wrapper, true).unwrap();
        let b = &batches[0];
        assert_eq!(b.header.timestamp_type(), TimestampType::LogAppendTime);
        assert_eq!((b.header.base_offset, b.header.last_offset()), (98, 100));
        let recs: Vec<_> = b.records().map(|r| r.unwrap()).collect();
        let got: Vec<_> = recs
            .iter()
            .map(|r| (r.offset, r.timestamp, r.value_bytes().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (98, 5_000, Bytes::from_static(b"m0")),
                (99, 5_000, Bytes::from_static(b"m1")),
                (100, 5_000, Bytes::from_static(b"m2"))
            ]
        );
    }

    #[test]
    fn v0_wrapper_keeps_absolute_inner_offsets() {
        let mut inner = entry(0, 0, 40, -1, Some(b"k"), None);
        inner.extend(entry(0, 0, 41, -1, None, Some(b"v")));
        let wrapper = entry(0, 1, 41, -1, None, Some(&gzip(&inner)));
        let batches = decode(wrapper, true).unwrap();
        let recs: Vec<_> = batches[0].records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!((recs[0].offset, recs[1].offset), (40, 41));
        assert_eq!(recs[0].key(), Some(&b"k"[..]));
        assert_eq!(recs[0].value(), None);
        assert_eq!(recs[1].timestamp, -1);
    }

    #[test]
    fn malformed_entries_are_errors() {
        // Nested compression.
        let inner = entry(
            1,
            1,
            0,
            0,
            None,
            Some(&gzip(&entry(1, 0, 0, 0, None, Some(b"x")))),
        );
        let wrapper = entry(1, 1, 0, 0, None, Some(&gzip(&inner)));
        let err = decode(wrapper, true).unwrap_err();
        assert!(err.message().contains("nested compression"), "{err}");
        // Compressed wrapper with a null value.
        assert!(decode(entry(1, 2, 0, 0, None, None), true).is_err());
        // Truncated inner message set.
        let inner = entry(1, 0, 0, 0, None, Some(b"hello"));
        let wrapper = entry(1, 1, 0, 0, None, Some(&gzip(&inner[..inner.len() - 2])));
        assert!(decode(wrapper, true).is_err());
        // CRC mismatch, then the same entry with CRC checks off.
        let mut bad = entry(0, 0, 0, -1, None, Some(b"payload"));
        let last = bad.len() - 1;
        bad[last] ^= 0x20;
        let err = decode(bad.clone(), true).unwrap_err();
        assert!(err.message().contains("CRC-32 mismatch"), "{err}");
        assert_eq!(decode(bad, false).unwrap().len(), 1);
        // Key length past the end of the message.
        let mut bad = entry(0, 0, 0, -1, Some(b"k"), None);
        bad[12 + 4 + 2 + 3] = 50;
        assert!(decode(bad, false).is_err());
    }
}
