//! Entry points for the fuzz targets in `fuzz/`: bytes as a broker would
//! send them, through the frame reader and the bounded response decoders.
//! Not a stable API.

use crate::cluster::decode as metadata;
use crate::protocol::frame::{self, FrameReader};
use bytes::BytesMut;

/// Arbitrary bytes as a response stream, fed to the frame reader in chunks
/// whose sizes come from the input; every frame's header is stripped both
/// ways. Must never panic, loop or allocate beyond the frame maximum.
/// Returns the number of whole frames read.
pub fn fuzz_frames(data: &[u8]) -> usize {
    let Some((&chunk, rest)) = data.split_first() else {
        return 0;
    };
    let mut frames = 0;
    let chunk = usize::from(chunk).max(1);
    let reader = FrameReader::new(1 << 16);
    let mut buf = BytesMut::new();
    for piece in rest.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match reader.next_frame(&mut buf) {
                Ok(Some(f)) => {
                    frames += 1;
                    let _ = frame::correlation_id(&f);
                    let _ = frame::response_body(f.clone(), 0);
                    let _ = frame::response_body(f, 1);
                }
                Ok(None) => break,
                Err(_) => return frames,
            }
        }
        assert!(buf.capacity() <= (1 << 16) + 4 + rest.len() + 64);
    }
    frames
}

/// Arbitrary bytes as a response body: the first byte picks the API
/// version, the rest goes through the ApiVersions, Metadata and
/// FindCoordinator decoders; the whole input also goes through the consumer
/// protocol's embedded subscription and assignment decoders (other members'
/// bytes, relayed by the coordinator). Must never panic.
pub fn fuzz_responses(data: &[u8]) {
    let _ = crate::protocol::consumer_protocol::decode_subscription(data);
    let _ = crate::protocol::consumer_protocol::decode_assignment(data);
    let Some((&v, body)) = data.split_first() else {
        return;
    };
    let _ = frame::api_versions_response(body, i16::from(v % 4));
    let _ = metadata::decode_metadata(body, i16::from(v % 13));
    let _ = metadata::decode_find_coordinator(body, i16::from(v % 5));
}

/// Arbitrary bytes as the body of any response the client decodes with
/// `kafka-protocol`: the first byte picks the API (an index into the
/// client's supported-version table), the second the version within its
/// range, the rest is the body. It goes the way every response goes: the
/// shape guard first, then the generic decoder only when the guard passed.
/// Must never panic, abort or allocate without bound.
pub fn fuzz_any_response(data: &[u8]) {
    let [k, v, body @ ..] = data else {
        return;
    };
    let table = crate::protocol::versions::SUPPORTED;
    let (key, min, max) = table[usize::from(*k) % table.len()];
    let version = min + i16::from(*v) % (max - min + 1);
    fuzz_response_of(key, version, body);
}

/// A family of responses (`ferrokafka-wire`'s grouping), one fuzz target
/// each.
pub use ferrokafka_wire::Family;

/// The supported-version table's entries whose responses are in `family`,
/// in table order: what the first byte of [`fuzz_family_response`]'s input
/// indexes.
pub fn family_table(family: Family) -> Vec<(kafka_protocol::messages::ApiKey, i16, i16)> {
    crate::protocol::versions::SUPPORTED
        .iter()
        .copied()
        .filter(|(key, _, _)| Family::of(*key) == Some(family))
        .collect()
}

/// [`fuzz_any_response`] within one family: the first byte picks the API
/// (an index into [`family_table`]), the second the version within its
/// range, the rest is the body. Must never panic, abort or allocate
/// without bound.
pub fn fuzz_family_response(family: Family, data: &[u8]) {
    let [k, v, body @ ..] = data else {
        return;
    };
    let table = family_table(family);
    let Some(&(key, min, max)) = table.get(usize::from(*k) % table.len().max(1)) else {
        return;
    };
    let version = min + i16::from(*v) % (max - min + 1);
    fuzz_response_of(key, version, body);
}

/// One response body of `key` at `version` through the guard and, when it
/// passes, `kafka-protocol`'s decoder.
pub fn fuzz_response_of(key: kafka_protocol::messages::ApiKey, version: i16, body: &[u8]) {
    if crate::protocol::guard::check_response(key, version, body, "fuzz").is_ok() {
        let mut b = bytes::Bytes::copy_from_slice(body);
        let _ = kafka_protocol::messages::ResponseKind::decode(key, &mut b, version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_entry_points_accept_anything(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            prop_assert!(fuzz_frames(&data) <= data.len() / 8);
            fuzz_responses(&data);
            fuzz_any_response(&data);
            for family in Family::ALL {
                fuzz_family_response(family, &data);
            }
        }
    }

    #[test]
    fn fuzz_frames_reads_real_frames() {
        let mut data = vec![3u8];
        for body in [&b"abcd"[..], &b"0123456789"[..]] {
            data.extend_from_slice(&(body.len() as i32).to_be_bytes());
            data.extend_from_slice(body);
        }
        assert_eq!(fuzz_frames(&data), 2);
        assert_eq!(fuzz_frames(&[1, 0x7f, 0xff, 0xff, 0xff, 1, 2]), 0);
    }
}
