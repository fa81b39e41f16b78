//! Record batches: RecordBatch v2 encode and decode, legacy MessageSet v0/v1
//! decode, CRC-32C/CRC-32 and the compression codecs.
//!
//! This is the hot path of producer and consumer: encoding writes records
//! straight into one buffer per batch (no allocation per record) and
//! compresses and checksums once per batch; decoding hands out `Bytes` slices
//! of the fetched buffer (no copy for uncompressed batches). Building produce
//! and fetch requests around these bytes is left to `protocol`, `producer`
//! and the consumer.
//!
//! Public here: [`Header`] (record headers, KIP-82) and [`Compression`].

// Some codec methods serve only `wire` (tests, benches, fuzz targets).
#[cfg_attr(not(feature = "unstable-fuzzing"), allow(dead_code))]
mod batch;
mod compression;
mod crc;
mod cursor;
mod legacy;
#[cfg_attr(not(feature = "unstable-fuzzing"), allow(dead_code))]
mod reader;
mod varint;

use bytes::Bytes;

#[allow(unused_imports)]
pub(crate) use batch::{BatchBuilder, BatchFlags, EncodedBatch, HEADER_LEN as BATCH_HEADER_LEN};
pub use compression::Compression;
#[allow(unused_imports)]
pub(crate) use reader::{
    Batch, BatchHeader, BatchReader, ControlRecord, ControlType, DecodeOptions, Fields, HeaderIter,
    HeaderView, Record, Records, TimestampType, DEFAULT_MAX_DECOMPRESSED,
};
pub(crate) use varint::put_unsigned as put_unsigned_varint;

/// A record header (KIP-82): a string key and an optional binary value.
/// Keys need not be unique within a record; order is preserved.
///
/// ```
/// use ferrokafka::record::Header;
/// let h = Header::new("trace-id", Some(&b"abc"[..]));
/// assert_eq!(h.key, "trace-id");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header's name.
    pub key: String,
    /// The header's value; `None` is a null value, distinct from empty.
    pub value: Option<Bytes>,
}

impl Header {
    /// A header from a key and an optional value (copied into `Bytes` unless
    /// it already is one).
    pub fn new(key: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        Header {
            key: key.into(),
            value: value.map(Into::into),
        }
    }
}

/// The batch codec for the mock cluster, cross-crate tests, benchmarks and
/// fuzz targets (feature `unstable-fuzzing`). Not a stable API: the client
/// uses it crate-internally.
#[cfg(feature = "unstable-fuzzing")]
pub mod wire {
    pub use super::batch::{BatchBuilder, BatchFlags, EncodedBatch};
    pub use super::reader::{
        Batch, BatchHeader, BatchReader, ControlRecord, ControlType, DecodeOptions, HeaderIter,
        HeaderView, Record, Records, TimestampType, DEFAULT_MAX_DECOMPRESSED,
    };
}

/// Entry points for fuzz targets (`/fuzz`, feature `unstable-fuzzing`); not
/// part of the API.
#[cfg(feature = "unstable-fuzzing")]
pub mod fuzzing {
    use bytes::Bytes;

    use super::reader::{BatchReader, DecodeOptions};

    /// Runs the batch decoder over arbitrary bytes as if they were a fetched
    /// partition's records, with and without CRC checks, walking every record
    /// and header. Must never panic, loop forever or allocate without bound.
    pub fn fuzz_decode(data: &[u8]) {
        let buf = Bytes::copy_from_slice(data);
        for check_crc in [false, true] {
            let opts = DecodeOptions {
                check_crc,
                max_decompressed_bytes: 4 << 20,
            };
            let mut reader = BatchReader::new(buf.clone(), opts);
            for batch in reader.by_ref() {
                let Ok(batch) = batch else { break };
                let is_control = batch.header.is_control();
                let _ = batch.header.timestamp_type();
                let _ = batch.header.compression();
                for record in batch.records() {
                    let Ok(record) = record else { break };
                    for h in record.headers() {
                        let _ = h.key_str();
                    }
                    if is_control {
                        let _ = record.control();
                    }
                }
            }
            assert!(reader.consumed() <= data.len());
        }
    }
}
