//! Blackhole Produce: a lean parser that reads a ProduceRequest only as far
//! as the response needs (acks, topic names, partition indexes and each
//! batch's record count from its header), advances each partition's high
//! watermark by that count and keeps nothing. No CRC, no record decode, no
//! sequence checks: this is the broker side of throughput benchmarks.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ApiKey, ProduceResponse, RequestHeader, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::cluster::Shared;
use crate::log::code;
use crate::server::{encode_response, Outcome};

/// Cursor over the request body; every read is bounds-checked.
struct Cursor {
    buf: Bytes,
    flexible: bool,
}

impl Cursor {
    fn i16(&mut self) -> Option<i16> {
        (self.buf.remaining() >= 2).then(|| self.buf.get_i16())
    }
    fn i32(&mut self) -> Option<i32> {
        (self.buf.remaining() >= 4).then(|| self.buf.get_i32())
    }
    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            if !self.buf.has_remaining() {
                return None;
            }
            let b = self.buf.get_u8();
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn take(&mut self, n: usize) -> Option<Bytes> {
        (self.buf.remaining() >= n).then(|| self.buf.split_to(n))
    }
    /// A (compact) nullable string or bytes field: `Some(None)` for null.
    fn nullable(&mut self, wide_len: bool) -> Option<Option<Bytes>> {
        let len: i64 = if self.flexible {
            self.uvarint()? as i64 - 1
        } else if wide_len {
            i64::from(self.i32()?)
        } else {
            i64::from(self.i16()?)
        };
        if len < 0 {
            return Some(None);
        }
        self.take(usize::try_from(len).ok()?).map(Some)
    }
    fn array_len(&mut self) -> Option<usize> {
        let n: i64 = if self.flexible {
            self.uvarint()? as i64 - 1
        } else {
            i64::from(self.i32()?)
        };
        // Each element takes at least 4 bytes: a count beyond that is a lie.
        let n = usize::try_from(n).ok()?;
        (n <= self.buf.remaining() / 4).then_some(n)
    }
    fn skip_tagged(&mut self) -> Option<()> {
        if !self.flexible {
            return Some(());
        }
        let n = self.uvarint()?;
        for _ in 0..n.min(1 << 16) {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.take(size)?;
        }
        Some(())
    }
}

/// One topic of a parsed request: its name and, per partition, the index
/// and the batch's record count (or the error to answer).
type TopicCounts = (Bytes, Vec<(i32, Result<i32, i16>)>);

/// Parses the body into acks and the topics.
fn parse(body: Bytes, version: i16) -> Option<(i16, Vec<TopicCounts>)> {
    let mut c = Cursor {
        buf: body,
        flexible: version >= 9,
    };
    c.nullable(false)?; // transactional id
    let acks = c.i16()?;
    c.i32()?; // timeout
    let topics = c.array_len()?;
    let mut out = Vec::with_capacity(topics);
    for _ in 0..topics {
        let name = c.nullable(false)??;
        let parts = c.array_len()?;
        let mut ps = Vec::with_capacity(parts);
        for _ in 0..parts {
            let index = c.i32()?;
            let records = c.nullable(true)?.unwrap_or_default();
            let count = if records.len() >= crate::log::BATCH_HEADER_LEN && records[16] == 2 {
                let n = i32::from_be_bytes([records[57], records[58], records[59], records[60]]);
                if n >= 1 {
                    Ok(n)
                } else {
                    Err(code::CORRUPT_MESSAGE)
                }
            } else {
                Err(code::CORRUPT_MESSAGE)
            };
            ps.push((index, count));
            c.skip_tagged()?;
        }
        c.skip_tagged()?;
        out.push((name, ps));
    }
    c.skip_tagged()?;
    Some((acks, out))
}

pub(crate) fn produce(
    shared: &Shared,
    broker_id: i32,
    header: &RequestHeader,
    body: Bytes,
) -> Outcome {
    let version = header.request_api_version;
    let Some((acks, topics)) = parse(body, version) else {
        return Outcome::Close;
    };
    let mut resp = ProduceResponse::default();
    {
        let mut st = shared.state();
        for (name, parts) in topics {
            let Ok(name) = StrBytes::from_utf8(name) else {
                return Outcome::Close;
            };
            let exists = st.auto_create(&shared.config, name.as_str());
            let mut tr = TopicProduceResponse::default();
            for (index, count) in parts {
                let mut pr = PartitionProduceResponse::default()
                    .with_index(index)
                    .with_log_append_time_ms(-1);
                let part = if exists {
                    st.partition_mut(name.as_str(), index)
                } else {
                    None
                };
                match (part, count) {
                    (None, _) => pr.error_code = code::UNKNOWN_TOPIC_OR_PARTITION,
                    (Some(p), _) if p.leader != broker_id => {
                        pr.error_code = code::NOT_LEADER_OR_FOLLOWER
                    }
                    (Some(_), Err(c)) => pr.error_code = c,
                    (Some(p), Ok(n)) => {
                        pr.base_offset = p.log.append_blackhole(n);
                        pr.log_start_offset = p.log.log_start_offset();
                    }
                }
                if pr.error_code != 0 {
                    pr.base_offset = -1;
                    pr.log_start_offset = -1;
                }
                tr.partition_responses.push(pr);
            }
            tr.name = TopicName(name);
            resp.responses.push(tr);
        }
    }
    if acks == 0 {
        let failed = resp
            .responses
            .iter()
            .flat_map(|t| &t.partition_responses)
            .any(|p| p.error_code != 0);
        return if failed {
            Outcome::Close
        } else {
            Outcome::Silent
        };
    }
    encode_response(
        header.correlation_id,
        ApiKey::Produce,
        version,
        &ResponseKind::Produce(resp),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::ProduceRequest;
    use kafka_protocol::protocol::Encodable;

    #[test]
    fn lean_parser_reads_what_the_generic_encoder_writes() {
        let batch = crate::log::tests::batch(7, -1, -1, -1, false, 0);
        for version in 3..=12 {
            let req = ProduceRequest::default()
                .with_acks(-1)
                .with_topic_data(vec![TopicProduceData::default()
                    .with_name(crate::api::topic_name("t"))
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(2)
                        .with_records(Some(Bytes::from(batch.clone())))])]);
            let mut buf = bytes::BytesMut::new();
            req.encode(&mut buf, version).unwrap();
            let (acks, topics) = parse(buf.freeze(), version).expect("parses");
            assert_eq!(acks, -1);
            assert_eq!(&topics[0].0[..], b"t");
            assert_eq!(topics[0].1, vec![(2, Ok(7))]);
        }
    }

    #[test]
    fn lean_parser_refuses_truncation() {
        let mut buf = bytes::BytesMut::new();
        ProduceRequest::default()
            .with_acks(1)
            .encode(&mut buf, 9)
            .unwrap();
        let full = buf.freeze();
        for cut in 0..full.len() {
            assert!(parse(full.slice(..cut), 9).is_none());
        }
    }
}
