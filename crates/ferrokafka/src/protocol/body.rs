//! Request bodies as the connection writes them: one buffer for most
//! requests; for Produce, the fields around each record batch in small
//! buffers and the record batches themselves by reference.
//!
//! The producer keeps every encoded RecordBatch until it is acknowledged
//! (a retry resends it unchanged). Encoding the ProduceRequest into one
//! buffer copied each batch a second time, and the connection held that
//! copy until the socket took it: against a slow broker every in-flight
//! byte was in memory twice (issue 19). Here the request references the
//! batches' `Bytes`; `net`'s outbox copies small chunks into its write
//! buffer and writes large ones with vectored writes
//! (`message.copy.max.bytes`).
//!
//! Produce v3-v12 is encoded here (the request's fields are few and fixed);
//! the test below checks it byte for byte against `kafka-protocol` at every
//! version. Other versions, and requests carrying unknown tagged fields,
//! go through `kafka-protocol` in one buffer.

use crate::error::{Error, ErrorCode, Result};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ProduceRequest};
use kafka_protocol::protocol::Encodable;

/// An encoded request body: `head` then each of `rest`, in order. (Public
/// only because [`ApiRequest`](super::ApiRequest) is reachable through
/// `net`; nothing outside the crate can name it.)
#[derive(Debug, Clone, Default)]
pub struct Body {
    head: Bytes,
    /// Empty except for requests that reference buffers they do not own.
    rest: Vec<Bytes>,
    len: usize,
}

impl Body {
    /// Bytes in the body.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The body's chunks in order (some may be empty).
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        std::iter::once(&self.head).chain(self.rest.iter())
    }

    /// The body in one buffer (a copy when it has several chunks).
    #[cfg(test)]
    pub(crate) fn to_bytes(&self) -> Bytes {
        if self.rest.is_empty() {
            return self.head.clone();
        }
        let mut b = BytesMut::with_capacity(self.len);
        for c in self.chunks() {
            b.put_slice(c);
        }
        b.freeze()
    }

    fn from_chunks(mut chunks: Vec<Bytes>) -> Body {
        let len = chunks.iter().map(Bytes::len).sum();
        if chunks.is_empty() {
            return Body::default();
        }
        let head = chunks.remove(0);
        Body {
            head,
            rest: chunks,
            len,
        }
    }
}

impl From<Bytes> for Body {
    fn from(head: Bytes) -> Body {
        Body {
            len: head.len(),
            head,
            rest: Vec::new(),
        }
    }
}

/// Encodes `req` at `version` into one buffer with `kafka-protocol`.
pub(crate) fn encode_whole<R: Encodable>(req: &R, key: ApiKey, version: i16) -> Result<Body> {
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version)
        .map_err(|e| cannot(key, version, e))?;
    Ok(Body::from(buf.freeze()))
}

fn cannot(key: ApiKey, version: i16, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        format!("cannot encode {key:?} v{version}: {e}"),
    )
}

/// Encodes a ProduceRequest with its record batches referenced, not
/// copied.
pub(crate) fn encode_produce(req: &ProduceRequest, version: i16) -> Result<Body> {
    let tagged = !req.unknown_tagged_fields.is_empty()
        || req.topic_data.iter().any(|t| {
            !t.unknown_tagged_fields.is_empty()
                || t.partition_data
                    .iter()
                    .any(|p| !p.unknown_tagged_fields.is_empty())
        });
    if !(3..=12).contains(&version) || tagged {
        return encode_whole(req, ApiKey::Produce, version);
    }
    let too_long = |what: &str| cannot(ApiKey::Produce, version, format!("{what} too long"));
    let flexible = version >= 9;
    let mut out = Writer {
        buf: BytesMut::with_capacity(128),
        chunks: Vec::new(),
        flexible,
    };
    out.string(req.transactional_id.as_ref().map(|t| t.0.as_bytes()))
        .ok_or_else(|| too_long("transactional id"))?;
    out.buf.put_i16(req.acks);
    out.buf.put_i32(req.timeout_ms);
    out.array_len(req.topic_data.len())
        .ok_or_else(|| too_long("topic list"))?;
    for t in &req.topic_data {
        out.string(Some(t.name.0.as_bytes()))
            .ok_or_else(|| too_long("topic name"))?;
        out.array_len(t.partition_data.len())
            .ok_or_else(|| too_long("partition list"))?;
        for p in &t.partition_data {
            out.buf.put_i32(p.index);
            out.records(p.records.as_ref())
                .ok_or_else(|| too_long("record batch"))?;
            out.no_tags();
        }
        out.no_tags();
    }
    out.no_tags();
    let Writer {
        buf, mut chunks, ..
    } = out;
    if !buf.is_empty() {
        chunks.push(buf.freeze());
    }
    Ok(Body::from_chunks(chunks))
}

/// The Produce encoder's output so far: finished chunks, and the buffer
/// the next fields go to. Each method returns `None` for a length the
/// field cannot encode.
struct Writer {
    buf: BytesMut,
    chunks: Vec<Bytes>,
    flexible: bool,
}

impl Writer {
    fn uvarint(&mut self, v: u32) {
        crate::record::put_unsigned_varint(&mut self.buf, u64::from(v));
    }

    /// A nullable string: INT16 length (-1 for null), or COMPACT (length
    /// + 1 as an unsigned varint, 0 for null).
    fn string(&mut self, s: Option<&[u8]>) -> Option<()> {
        match (s, self.flexible) {
            (None, false) => self.buf.put_i16(-1),
            (None, true) => self.uvarint(0),
            (Some(s), false) => {
                self.buf.put_i16(i16::try_from(s.len()).ok()?);
                self.buf.put_slice(s);
            }
            (Some(s), true) => {
                self.uvarint(u32::try_from(s.len()).ok()?.checked_add(1)?);
                self.buf.put_slice(s);
            }
        }
        Some(())
    }

    fn array_len(&mut self, n: usize) -> Option<()> {
        if self.flexible {
            self.uvarint(u32::try_from(n).ok()?.checked_add(1)?);
        } else {
            self.buf.put_i32(i32::try_from(n).ok()?);
        }
        Some(())
    }

    /// Nullable bytes whose content is referenced: the length goes to the
    /// buffer, the bytes become a chunk of their own.
    fn records(&mut self, r: Option<&Bytes>) -> Option<()> {
        let Some(r) = r else {
            if self.flexible {
                self.uvarint(0);
            } else {
                self.buf.put_i32(-1);
            }
            return Some(());
        };
        if self.flexible {
            self.uvarint(u32::try_from(r.len()).ok()?.checked_add(1)?);
        } else {
            self.buf.put_i32(i32::try_from(r.len()).ok()?);
        }
        if !r.is_empty() {
            self.chunks.push(self.buf.split().freeze());
            self.chunks.push(r.clone());
        }
        Some(())
    }

    /// An empty tagged-field section (flexible versions).
    fn no_tags(&mut self) {
        if self.flexible {
            self.buf.put_u8(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::{TopicName, TransactionalId};
    use kafka_protocol::protocol::StrBytes;

    fn request(txn: Option<&str>) -> ProduceRequest {
        let batch = |n: usize, fill: u8| Some(Bytes::from(vec![fill; n]));
        let topic = |name: &str, parts: Vec<PartitionProduceData>| {
            TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                .with_partition_data(parts)
        };
        ProduceRequest::default()
            .with_transactional_id(txn.map(|t| TransactionalId(StrBytes::from_string(t.into()))))
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![
                topic(
                    "a",
                    vec![
                        PartitionProduceData::default()
                            .with_index(0)
                            .with_records(batch(70_000, 1)),
                        PartitionProduceData::default()
                            .with_index(3)
                            .with_records(batch(5, 2)),
                        PartitionProduceData::default()
                            .with_index(4)
                            .with_records(None),
                        PartitionProduceData::default()
                            .with_index(5)
                            .with_records(Some(Bytes::new())),
                    ],
                ),
                topic(&"t".repeat(200), vec![]),
                topic(
                    "c",
                    vec![PartitionProduceData::default()
                        .with_index(7)
                        .with_records(batch(200, 3))],
                ),
            ])
    }

    /// The chunked encoding is kafka-protocol's, byte for byte, at every
    /// version, and references the record batches instead of copying them.
    #[test]
    fn produce_chunks_match_kafka_protocol_at_every_version() {
        for txn in [None, Some("txn-1")] {
            let req = request(txn);
            for version in 3..=13 {
                let mut whole = BytesMut::new();
                req.encode(&mut whole, version).unwrap();
                let body = encode_produce(&req, version).unwrap();
                assert_eq!(body.len(), whole.len(), "v{version}");
                assert_eq!(body.to_bytes(), whole.freeze(), "v{version} {txn:?}");
                let big = req.topic_data[0].partition_data[0]
                    .records
                    .as_ref()
                    .unwrap();
                let referenced = body.chunks().any(|c| c.as_ptr() == big.as_ptr());
                assert_eq!(referenced, version <= 12, "v{version}");
            }
        }
    }

    /// Requests with unknown tagged fields go through kafka-protocol.
    #[test]
    fn produce_with_tagged_fields_is_encoded_whole() {
        let req = request(None).with_unknown_tagged_field(9, Bytes::from_static(b"x"));
        let mut whole = BytesMut::new();
        req.encode(&mut whole, 9).unwrap();
        let body = encode_produce(&req, 9).unwrap();
        assert_eq!(body.chunks().count(), 1);
        assert_eq!(body.to_bytes(), whole.freeze());
    }
}
