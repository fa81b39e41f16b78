//! Frames on the wire: a 4-byte big-endian size, then a request or response
//! header, then the body.
//!
//! Owns the bounded frame reader (never trusts a size prefix beyond
//! `receive.message.max.bytes`), request header encoding straight into the
//! connection's write buffer, response header stripping, and the hand-written
//! ApiVersions request/response codec: ApiVersions is the first thing any
//! peer on the port answers, so it is decoded with bounded reads only.

use super::codes;
use super::versions::API_VERSIONS_MAX;
use super::ApiKey;
use crate::error::{Error, Result};
use bytes::{BufMut, Bytes, BytesMut};

/// Software name sent in ApiVersions v3+ (KIP-511).
pub(crate) const CLIENT_SOFTWARE_NAME: &str = "ferrokafka";
/// Software version sent in ApiVersions v3+ (KIP-511).
pub(crate) const CLIENT_SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

fn bad(msg: impl Into<String>) -> Error {
    Error::new(codes::BAD_MSG, msg)
}

/// The request header version of `api_key` at `version`, from the API's
/// flexible versions.
pub(crate) fn request_header_version(api_key: ApiKey, version: i16) -> i16 {
    api_key.request_header_version(version)
}

/// The response header version of `api_key` at `version`. ApiVersions
/// responses always use header v0 so that a client can read them before it
/// knows which versions the broker speaks.
pub(crate) fn response_header_version(api_key: ApiKey, version: i16) -> i16 {
    api_key.response_header_version(version)
}

/// Appends one complete request frame (size, header, `body`) to `out`.
pub(crate) fn encode_request(
    out: &mut BytesMut,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body: &[u8],
) -> Result<()> {
    encode_request_header(out, api_key, version, correlation_id, client_id, body.len())?;
    out.put_slice(body);
    Ok(())
}

/// Appends the size prefix and request header of a frame whose body of
/// `body_len` bytes the caller writes (or sends) right after.
///
/// The header is written by hand rather than through `RequestHeader` so
/// that the hot path neither allocates nor clones the client id.
pub(crate) fn encode_request_header(
    out: &mut BytesMut,
    api_key: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: Option<&str>,
    body_len: usize,
) -> Result<()> {
    let header_version = request_header_version(api_key, version);
    let start = out.len();
    out.put_i32(0);
    out.put_i16(api_key as i16);
    out.put_i16(version);
    out.put_i32(correlation_id);
    if header_version >= 1 {
        match client_id {
            // The client id stays a non-compact nullable string even in
            // header v2, so that brokers can read it before negotiation.
            Some(id) => {
                let Ok(len) = i16::try_from(id.len()) else {
                    out.truncate(start);
                    return Err(Error::new(
                        crate::ErrorCode::InvalidArg,
                        format!("client.id is {} bytes, at most 32767 allowed", id.len()),
                    ));
                };
                out.put_i16(len);
                out.put_slice(id.as_bytes());
            }
            None => out.put_i16(-1),
        }
    }
    if header_version >= 2 {
        out.put_u8(0); // no tagged fields
    }
    let size = (out.len() - start - 4).saturating_add(body_len);
    match i32::try_from(size) {
        Ok(size) => {
            out[start..start + 4].copy_from_slice(&size.to_be_bytes());
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(Error::new(
                crate::ErrorCode::InvalidArg,
                format!("request of {size} bytes exceeds the protocol's 2 GiB frame limit"),
            ))
        }
    }
}

/// Cuts complete frames off the front of a read buffer, refusing sizes
/// above the configured maximum before allocating anything for them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameReader {
    max: usize,
}

impl FrameReader {
    /// A reader accepting frames of at most `max` bytes after the size prefix.
    pub(crate) fn new(max: usize) -> Self {
        FrameReader { max }
    }

    /// The next complete frame (without its size prefix), `None` when more
    /// bytes are needed. On `None`, `buf` has room reserved for the rest of
    /// the frame, bounded by the maximum.
    pub(crate) fn next_frame(&self, buf: &mut BytesMut) -> Result<Option<Bytes>> {
        let Some(prefix) = buf.get(..4) else {
            return Ok(None);
        };
        let size = i32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
        let size = usize::try_from(size)
            .map_err(|_| bad(format!("response frame has negative size {size}")))?;
        if size > self.max {
            return Err(bad(format!(
                "response frame of {size} bytes exceeds receive.message.max.bytes={}",
                self.max
            )));
        }
        if size < 4 {
            return Err(bad(format!(
                "response frame of {size} bytes is too short for a correlation id"
            )));
        }
        let total = size + 4;
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        let mut frame = buf.split_to(total);
        let _ = frame.split_to(4);
        Ok(Some(frame.freeze()))
    }
}

/// The correlation id at the start of a response frame.
pub(crate) fn correlation_id(frame: &[u8]) -> Option<i32> {
    let b = frame.get(..4)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The response body after a header of `header_version`.
pub(crate) fn response_body(frame: Bytes, header_version: i16) -> Result<Bytes> {
    let mut r = Reader::new(&frame);
    r.i32()?;
    if header_version >= 1 {
        r.skip_tagged_fields()?;
    }
    let consumed = frame.len() - r.remaining();
    Ok(frame.slice(consumed..))
}

/// A bounded big-endian reader over a byte slice; every read checks the
/// remaining length and every count is checked against it.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(bad(format!(
                "response truncated: needed {n} more bytes, {} left",
                self.buf.len()
            )));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// A big-endian i16.
    pub(crate) fn i16(&mut self) -> Result<i16> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    /// A big-endian i32.
    pub(crate) fn i32(&mut self) -> Result<i32> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// An unsigned varint of at most 5 bytes.
    pub(crate) fn uvarint(&mut self) -> Result<u32> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.take(1)?[0];
            value |= u32::from(b & 0x7f) << (i * 7);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("unsigned varint longer than 5 bytes"))
    }

    /// An array count (i32, or compact u32 minus one), refused when the
    /// remaining bytes cannot hold that many elements of `min_elem` bytes.
    pub(crate) fn count(&mut self, compact: bool, min_elem: usize) -> Result<usize> {
        let n: i64 = if compact {
            i64::from(self.uvarint()?) - 1
        } else {
            i64::from(self.i32()?)
        };
        if n < 0 {
            return Ok(0);
        }
        let n = n as usize;
        if n.saturating_mul(min_elem.max(1)) > self.remaining() {
            return Err(bad(format!(
                "array of {n} elements cannot fit in the {} bytes left",
                self.remaining()
            )));
        }
        Ok(n)
    }

    /// A boolean (one byte, non-zero is true).
    pub(crate) fn bool(&mut self) -> Result<bool> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A UUID (16 bytes, as Kafka's topic ids).
    pub(crate) fn uuid(&mut self) -> Result<[u8; 16]> {
        let mut id = [0u8; 16];
        id.copy_from_slice(self.take(16)?);
        Ok(id)
    }

    /// A nullable string: i16 length, or compact (varint length + 1).
    pub(crate) fn nullable_string(&mut self, compact: bool) -> Result<Option<&'a str>> {
        let len: i64 = if compact {
            i64::from(self.uvarint()?) - 1
        } else {
            i64::from(self.i16()?)
        };
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize)?;
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| bad("string is not valid UTF-8"))
    }

    /// A non-null string; null is read as empty.
    pub(crate) fn string(&mut self, compact: bool) -> Result<&'a str> {
        Ok(self.nullable_string(compact)?.unwrap_or(""))
    }

    /// An array of i32 (broker ids).
    pub(crate) fn i32_array(&mut self, compact: bool) -> Result<Vec<i32>> {
        let n = self.count(compact, 4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.i32()?);
        }
        Ok(out)
    }

    /// Skips a tagged-field section (flexible versions).
    pub(crate) fn skip_tagged_fields(&mut self) -> Result<()> {
        let n = self.uvarint()?;
        for _ in 0..n {
            self.uvarint()?;
            let len = self.uvarint()? as usize;
            self.take(len)?;
        }
        Ok(())
    }
}

/// The ApiVersions request body at `version`, naming the client software
/// `(name, version)` at v3+ (KIP-511; `client.software.name` and
/// `client.software.version`, validated at construction).
pub(crate) fn api_versions_request(version: i16, software: (&str, &str)) -> Vec<u8> {
    let mut body = Vec::new();
    if version >= 3 {
        for s in [software.0, software.1] {
            // compact string: length + 1 as an unsigned varint
            let mut n = s.len() as u64 + 1;
            while n >= 0x80 {
                body.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
            body.push(n as u8);
            body.extend_from_slice(s.as_bytes());
        }
        body.push(0);
    }
    body
}

/// What a broker answered to ApiVersions.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ApiVersionsAnswer {
    /// The broker's `(api key, min, max)` ranges.
    Ranges(Vec<(i16, i16, i16)>),
    /// The broker does not speak our ApiVersions version; ask again with
    /// this one (its advertised maximum, or 0).
    RetryWith(i16),
}

/// Decodes an ApiVersions response body sent for a request at `version`.
///
/// A broker that does not support `version` answers UNSUPPORTED_VERSION in
/// the v0 layout, listing its own ApiVersions range when it can.
pub(crate) fn api_versions_response(body: &[u8], version: i16) -> Result<ApiVersionsAnswer> {
    let mut r = Reader::new(body);
    let error = r.i16()?;
    if error == super::KAFKA_UNSUPPORTED_VERSION {
        if version == 0 {
            return Err(Error::new(
                codes::UNSUPPORTED_VERSION,
                "broker refused ApiVersions v0",
            ));
        }
        let retry = read_ranges(&mut r, false)
            .ok()
            .and_then(|ranges| {
                ranges
                    .into_iter()
                    .find(|(k, _, _)| *k == ApiKey::ApiVersions as i16)
                    .map(|(_, _, max)| max)
            })
            .unwrap_or(0)
            .clamp(0, API_VERSIONS_MAX);
        // Never ask for the same or a higher version again.
        return Ok(ApiVersionsAnswer::RetryWith(if retry >= version {
            0
        } else {
            retry
        }));
    }
    if error != 0 {
        return Err(Error::new(
            codes::from_kafka(error),
            format!("ApiVersions failed: {}", super::kafka_error_name(error)),
        ));
    }
    let ranges = read_ranges(&mut r, version >= 3)?;
    // Throttle time and the v3 tagged fields (features) follow; we use
    // neither, and a broker adding fields must not break the handshake.
    Ok(ApiVersionsAnswer::Ranges(ranges))
}

fn read_ranges(r: &mut Reader<'_>, flexible: bool) -> Result<Vec<(i16, i16, i16)>> {
    let n = r.count(flexible, if flexible { 7 } else { 6 })?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = r.i16()?;
        let min = r.i16()?;
        let max = r.i16()?;
        if flexible {
            r.skip_tagged_fields()?;
        }
        out.push((key, min, max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::KAFKA_UNSUPPORTED_VERSION;
    use kafka_protocol::messages::{
        api_versions_response::ApiVersion, ApiVersionsRequest, ApiVersionsResponse, RequestHeader,
    };
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

    #[test]
    fn request_header_matches_the_codec_crate() {
        for (key, version) in [
            (ApiKey::Metadata, 1),
            (ApiKey::Metadata, 12),
            (ApiKey::ApiVersions, 3),
            (ApiKey::Produce, 9),
        ] {
            let mut ours = BytesMut::new();
            encode_request(&mut ours, key, version, 77, Some("cid"), b"BODY").unwrap();
            let header = RequestHeader::default()
                .with_request_api_key(key as i16)
                .with_request_api_version(version)
                .with_correlation_id(77)
                .with_client_id(Some(StrBytes::from_static_str("cid")));
            let mut theirs = BytesMut::new();
            header
                .encode(&mut theirs, request_header_version(key, version))
                .unwrap();
            theirs.extend_from_slice(b"BODY");
            assert_eq!(&ours[4..], &theirs[..], "{key:?} v{version}");
            assert_eq!(
                i32::from_be_bytes(ours[..4].try_into().unwrap()) as usize,
                theirs.len()
            );
        }
    }

    #[test]
    fn api_versions_request_matches_the_codec_crate() {
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str(CLIENT_SOFTWARE_NAME))
            .with_client_software_version(StrBytes::from_static_str(CLIENT_SOFTWARE_VERSION));
        for v in 0..=3 {
            let mut theirs = BytesMut::new();
            req.encode(&mut theirs, v).unwrap();
            let ours = api_versions_request(v, (CLIENT_SOFTWARE_NAME, CLIENT_SOFTWARE_VERSION));
            assert_eq!(ours, &theirs[..], "v{v}");
        }
        // A name past 127 bytes takes a two-byte length.
        let long = "n".repeat(200);
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_string(long.clone()))
            .with_client_software_version(StrBytes::from_static_str("1.0"));
        let mut theirs = BytesMut::new();
        req.encode(&mut theirs, 3).unwrap();
        assert_eq!(api_versions_request(3, (&long, "1.0")), &theirs[..]);
    }

    fn response(version: i16, error: i16, keys: &[(i16, i16, i16)]) -> Bytes {
        let resp = ApiVersionsResponse::default()
            .with_error_code(error)
            .with_api_keys(
                keys.iter()
                    .map(|&(k, lo, hi)| {
                        ApiVersion::default()
                            .with_api_key(k)
                            .with_min_version(lo)
                            .with_max_version(hi)
                    })
                    .collect(),
            );
        let mut b = BytesMut::new();
        resp.encode(&mut b, version).unwrap();
        b.freeze()
    }

    #[test]
    fn api_versions_response_decodes_every_version() {
        let keys = [(0, 3, 9), (3, 0, 12), (18, 0, 3)];
        for v in 0..=3 {
            let body = response(v, 0, &keys);
            assert_eq!(
                api_versions_response(&body, v).unwrap(),
                ApiVersionsAnswer::Ranges(keys.to_vec())
            );
            let decoded = ApiVersionsResponse::decode(&mut body.clone(), v).unwrap();
            assert_eq!(decoded.api_keys.len(), keys.len());
        }
    }

    #[test]
    fn unsupported_version_answer_retries_lower() {
        let body = response(0, KAFKA_UNSUPPORTED_VERSION, &[(18, 0, 2)]);
        assert_eq!(
            api_versions_response(&body, 3).unwrap(),
            ApiVersionsAnswer::RetryWith(2)
        );
        let body = response(0, KAFKA_UNSUPPORTED_VERSION, &[]);
        assert_eq!(
            api_versions_response(&body, 3).unwrap(),
            ApiVersionsAnswer::RetryWith(0)
        );
        assert!(api_versions_response(&body, 0).is_err());
    }

    #[test]
    fn frame_reader_bounds_sizes() {
        let r = FrameReader::new(100);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 101][..]);
        assert!(r
            .next_frame(&mut buf)
            .unwrap_err()
            .message()
            .contains("101"));
        let mut buf = BytesMut::from(&[0xffu8, 0xff, 0xff, 0xff][..]);
        assert!(r.next_frame(&mut buf).is_err());
        let mut buf = BytesMut::from(&[0u8, 0, 0, 2, 1, 2][..]);
        assert!(
            r.next_frame(&mut buf).is_err(),
            "shorter than a correlation id"
        );
        let mut buf = BytesMut::from(&[0u8, 0, 0, 6, 0, 0, 0, 9][..]);
        assert_eq!(r.next_frame(&mut buf).unwrap(), None);
        assert!(buf.capacity() >= 10);
        buf.extend_from_slice(&[1, 2, 0, 0]);
        let f = r.next_frame(&mut buf).unwrap().unwrap();
        assert_eq!(&f[..], &[0, 0, 0, 9, 1, 2]);
        assert_eq!(correlation_id(&f), Some(9));
        assert_eq!(buf.len(), 2);
        assert_eq!(r.next_frame(&mut buf).unwrap(), None);
    }

    #[test]
    fn response_body_skips_flexible_header() {
        let frame = Bytes::from_static(&[0, 0, 0, 1, 1, 5, 2, 0xaa, 0xbb, 0x42]);
        assert_eq!(&response_body(frame.clone(), 1).unwrap()[..], &[0x42]);
        assert_eq!(
            &response_body(frame, 0).unwrap()[..],
            &[1, 5, 2, 0xaa, 0xbb, 0x42]
        );
        let truncated = Bytes::from_static(&[0, 0, 0, 1, 1, 5, 9]);
        assert!(response_body(truncated, 1).is_err());
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let body = [0u8, 0, 0x7f, 0xff, 0xff, 0xff, 0, 1];
        assert!(api_versions_response(&body, 0).is_err());
        let body = [0u8, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(api_versions_response(&body, 3).is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Frames come out whole and in order however the stream is cut.
        #[test]
        fn frames_survive_any_chunking(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 4..64), 1..8),
            cuts in proptest::collection::vec(1usize..40, 1..50),
        ) {
            let mut stream = Vec::new();
            for f in &frames {
                stream.extend_from_slice(&(f.len() as i32).to_be_bytes());
                stream.extend_from_slice(f);
            }
            let reader = FrameReader::new(64);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            let mut pos = 0;
            let mut cuts = cuts.into_iter().cycle();
            while pos < stream.len() {
                let n = cuts.next().unwrap().min(stream.len() - pos);
                buf.extend_from_slice(&stream[pos..pos + n]);
                pos += n;
                while let Some(f) = reader.next_frame(&mut buf).unwrap() {
                    out.push(f.to_vec());
                }
            }
            prop_assert_eq!(out, frames);
            prop_assert!(buf.is_empty());
        }

        /// Arbitrary bytes give frames, errors or "need more", never a panic
        /// or a reservation beyond the maximum.
        #[test]
        fn arbitrary_streams_are_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let reader = FrameReader::new(256);
            let mut buf = BytesMut::from(&bytes[..]);
            for _ in 0..bytes.len() + 1 {
                match reader.next_frame(&mut buf) {
                    Ok(Some(f)) => prop_assert!(f.len() <= 256),
                    Ok(None) | Err(_) => break,
                }
            }
            prop_assert!(buf.capacity() <= 512 + 260);
            let mut r = Reader::new(&bytes);
            let _ = api_versions_response(&bytes, 3);
            let _ = api_versions_response(&bytes, 0);
            let _ = r.skip_tagged_fields();
        }
    }
}
