//! Turns one fetched partition's records into [`Message`]s: control batches
//! skipped, aborted transactions filtered for read_committed, records below
//! the requested offset dropped (a compressed batch may start earlier).
//!
//! Batch and record parsing (CRCs, codecs) is `record`'s; this module only
//! decides which records the application sees and where the next fetch
//! starts.

use super::message::{Message, Timestamp};
use crate::error::Error;
use crate::record::{BatchReader, ControlType, DecodeOptions, TimestampType};
use bytes::Bytes;
use std::sync::Arc;

/// What one partition's records decoded to.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    /// Records for the application, in offset order.
    pub messages: Vec<Message>,
    /// Where the next fetch starts: after the last complete batch, control
    /// and aborted batches included. `None` when no batch was complete.
    pub next_offset: Option<i64>,
    /// The records were not empty but held no complete batch: the
    /// partition's fetch size is too small for the next batch.
    pub too_small: bool,
    /// A batch that failed to decode (bad CRC, bad compression...), after
    /// the messages before it.
    pub error: Option<Error>,
    /// The [`footprint`] of `messages`, summed while decoding them.
    pub bytes: usize,
}

/// An aborted transaction from a fetch response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Aborted {
    pub producer_id: i64,
    pub first_offset: i64,
}

/// Decoding parameters of one partition.
pub(crate) struct DecodeParams<'a> {
    pub topic: &'a Arc<str>,
    pub partition: i32,
    /// The broker fetched from.
    pub broker: i32,
    /// The offset the fetch asked for; earlier records are dropped.
    pub fetch_offset: i64,
    pub check_crc: bool,
    /// Stop after the batch that takes the decoded messages past this many
    /// bytes (of [`footprint`]); later batches are fetched again when the
    /// queue has room. Keeps memory bounded when batches decompress to
    /// much more than their fetched size.
    pub budget: usize,
    /// `Some` (possibly empty) for read_committed: the response's aborted
    /// transactions. `None` for read_uncommitted.
    pub aborted: Option<Vec<Aborted>>,
}

/// Approximate memory a message holds on to (payload, key, headers and the
/// fixed part), the unit of `queued.max.messages.kbytes`.
pub(crate) fn footprint(m: &Message) -> usize {
    // The queue entry itself plus the record's framing in the buffer.
    const FIXED: usize = std::mem::size_of::<Message>() + 32;
    FIXED + m.key().map_or(0, <[u8]>::len) + m.value().map_or(0, <[u8]>::len) + m.headers_len()
}

/// The most messages one batch's header may make room for in advance.
const MAX_RESERVE: usize = 4096;

/// Decodes `records` (one partition of a fetch response).
pub(crate) fn decode(records: Bytes, p: DecodeParams<'_>) -> Decoded {
    let mut out = Decoded::default();
    let had_data = !records.is_empty();
    let opts = DecodeOptions {
        check_crc: p.check_crc,
        ..DecodeOptions::default()
    };
    let read_committed = p.aborted.is_some();
    let mut aborted = p.aborted.unwrap_or_default();
    aborted.sort_by_key(|a| a.first_offset);
    let mut next_aborted = 0usize;
    // Producer ids whose current transaction is aborted (few at a time).
    let mut active: Vec<i64> = Vec::new();
    let mut reader = BatchReader::new(records, opts);
    loop {
        if out.bytes >= p.budget && out.next_offset.is_some() {
            break;
        }
        let Some(batch) = reader.next() else { break };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        };
        let h = batch.header;
        let batch_next = h.next_offset();
        if read_committed {
            while next_aborted < aborted.len()
                && aborted[next_aborted].first_offset <= h.last_offset()
            {
                let pid = aborted[next_aborted].producer_id;
                if !active.contains(&pid) {
                    active.push(pid);
                }
                next_aborted += 1;
            }
        }
        if h.is_control() {
            if read_committed {
                for r in batch.records() {
                    match r.and_then(|r| r.control()) {
                        Ok(c) if c.kind == ControlType::Abort => {
                            active.retain(|&pid| pid != h.producer_id)
                        }
                        _ => {}
                    }
                }
            }
            out.next_offset = Some(batch_next);
            continue;
        }
        if read_committed && h.is_transactional() && active.contains(&h.producer_id) {
            out.next_offset = Some(batch_next);
            continue;
        }
        // Room for the batch up front rather than regrowing record by
        // record; the count is the wire's, so it is capped.
        out.messages.reserve(
            usize::try_from(h.record_count)
                .unwrap_or(0)
                .min(MAX_RESERVE),
        );
        let ts_type = h.timestamp_type();
        let epoch = (h.partition_leader_epoch >= 0).then_some(h.partition_leader_epoch);
        let mut failed = false;
        for r in batch.records() {
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    out.error = Some(e);
                    failed = true;
                    break;
                }
            };
            if r.offset < p.fetch_offset {
                continue;
            }
            let timestamp = if r.timestamp < 0 {
                Timestamp::NotAvailable
            } else {
                match ts_type {
                    TimestampType::CreateTime => Timestamp::CreateTime(r.timestamp),
                    TimestampType::LogAppendTime => Timestamp::LogAppendTime(r.timestamp),
                }
            };
            let m = Message {
                topic: p.topic.clone(),
                partition: p.partition,
                offset: r.offset,
                timestamp,
                record: r.fields,
                broker: p.broker,
                leader_epoch: epoch,
            };
            out.bytes = out.bytes.saturating_add(footprint(&m));
            out.messages.push(m);
        }
        if failed {
            // Resume after the last good record: the bad one is reported.
            if let Some(last) = out.messages.last() {
                out.next_offset = Some(last.offset.saturating_add(1));
            }
            break;
        }
        out.next_offset = Some(batch_next);
    }
    out.too_small =
        had_data && out.next_offset.is_none() && out.error.is_none() && reader.is_truncated();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{BatchBuilder, BatchFlags, Compression, Header};

    fn batch(base: i64, n: usize, flags: BatchFlags, pid: i64) -> Bytes {
        let mut b = BatchBuilder::new(1_000, 1 << 20);
        for i in 0..n {
            let v = format!("v{}", base + i as i64);
            let hdr = [Header::new("h", Some(&b"x"[..]))];
            assert!(b.try_append(1_000 + i as i64, Some(b"k"), Some(v.as_bytes()), &hdr));
        }
        if pid >= 0 {
            b.set_producer(pid, 0, 0);
        }
        at(
            base,
            b.finish(Compression::Lz4, None, flags).unwrap().bytes(),
        )
    }

    /// Sets the base offset (outside the CRC), as a broker does on append.
    fn at(base: i64, b: Bytes) -> Bytes {
        let mut v = b.to_vec();
        v[..8].copy_from_slice(&base.to_be_bytes());
        v.into()
    }

    fn control(base: i64, pid: i64, abort: bool) -> Bytes {
        // A control record: key = version(0) + type, value = version + epoch.
        let mut key = vec![0, 0, 0, u8::from(!abort)];
        key.truncate(4);
        let value = [0u8, 0, 0, 0, 0, 7];
        let mut b = BatchBuilder::new(1_000, 1 << 20);
        assert!(b.try_append(1_000, Some(&key[..]), Some(&value[..]), &[]));
        b.set_producer(pid, 0, 0);
        let flags = BatchFlags {
            transactional: true,
            control: true,
        };
        at(
            base,
            b.finish(Compression::None, None, flags).unwrap().bytes(),
        )
    }

    fn params(topic: &Arc<str>, from: i64, aborted: Option<Vec<Aborted>>) -> DecodeParams<'_> {
        DecodeParams {
            topic,
            partition: 3,
            broker: 1,
            fetch_offset: from,
            check_crc: true,
            budget: usize::MAX,
            aborted,
        }
    }

    fn cat(parts: &[Bytes]) -> Bytes {
        parts
            .iter()
            .flat_map(|b| b.iter().copied())
            .collect::<Vec<u8>>()
            .into()
    }

    #[test]
    fn skips_records_below_the_fetch_offset_and_keeps_fields() {
        let t: Arc<str> = Arc::from("t");
        let d = decode(
            batch(10, 5, BatchFlags::default(), -1),
            params(&t, 12, None),
        );
        let offs: Vec<i64> = d.messages.iter().map(|m| m.offset).collect();
        assert_eq!(offs, vec![12, 13, 14]);
        assert_eq!(d.next_offset, Some(15));
        let m = &d.messages[0];
        assert_eq!(m.value(), Some(&b"v12"[..]));
        assert_eq!(m.timestamp, Timestamp::CreateTime(1_002));
        assert_eq!(m.headers()[0], Header::new("h", Some(&b"x"[..])));
        assert_eq!(m.partition, 3);
    }

    #[test]
    fn read_committed_drops_aborted_transactions_and_control_records() {
        let t: Arc<str> = Arc::from("t");
        let txn = BatchFlags {
            transactional: true,
            control: false,
        };
        let data = cat(&[
            batch(0, 2, txn, 7),  // 0,1 aborted
            batch(2, 2, txn, 8),  // 2,3 committed
            control(4, 7, true),  // abort marker of 7
            control(5, 8, false), // commit marker of 8
            batch(6, 1, txn, 7),  // 6: a new, committed transaction of 7
            control(7, 7, false),
        ]);
        let aborted = vec![Aborted {
            producer_id: 7,
            first_offset: 0,
        }];
        let d = decode(data.clone(), params(&t, 0, Some(aborted)));
        let offs: Vec<i64> = d.messages.iter().map(|m| m.offset).collect();
        assert_eq!(offs, vec![2, 3, 6]);
        assert_eq!(d.next_offset, Some(8));
        let d = decode(data, params(&t, 0, None));
        let offs: Vec<i64> = d.messages.iter().map(|m| m.offset).collect();
        assert_eq!(
            offs,
            vec![0, 1, 2, 3, 6],
            "read_uncommitted skips only control records"
        );
    }

    #[test]
    fn decoding_stops_once_the_budget_is_spent() {
        let t: Arc<str> = Arc::from("t");
        let data = cat(&[
            batch(0, 3, BatchFlags::default(), -1),
            batch(3, 3, BatchFlags::default(), -1),
            batch(6, 3, BatchFlags::default(), -1),
        ]);
        let mut p = params(&t, 0, None);
        p.budget = 1;
        let d = decode(data.clone(), p);
        assert_eq!(
            (d.messages.len(), d.next_offset),
            (3, Some(3)),
            "one batch at least"
        );
        let mut p = params(&t, 0, None);
        p.budget = 3 * footprint(&d.messages[0]) + 1;
        let d = decode(data, p);
        assert_eq!((d.messages.len(), d.next_offset), (6, Some(6)));
    }

    #[test]
    fn partial_batch_is_reported_as_too_small_and_garbage_as_error() {
        let t: Arc<str> = Arc::from("t");
        let b = batch(0, 3, BatchFlags::default(), -1);
        let d = decode(b.slice(..b.len() - 5), params(&t, 0, None));
        assert!(d.too_small && d.messages.is_empty() && d.next_offset.is_none());
        let mut bad = b.to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        let d = decode(Bytes::from(bad), params(&t, 0, None));
        assert!(d.error.is_some() && d.messages.is_empty());
        let d = decode(Bytes::new(), params(&t, 0, None));
        assert!(!d.too_small && d.next_offset.is_none());
    }
}
