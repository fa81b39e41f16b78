//! Bounded decoding of Kafka message bodies: a shape check run on a body
//! before `kafka-protocol`'s generic decoder sees it.
//!
//! `kafka-protocol` 0.18 reserves a `Vec` for an array from the count on the
//! wire (`Vec::with_capacity`) before reading any element, so a frame of a
//! few bytes declaring two billion elements makes it ask for tens of
//! gigabytes and the process aborts. This crate owns the one schema walker
//! shared by the ferrokafka client (every response decoded with that crate,
//! and the consumer-protocol messages other group members relay) and the
//! mock cluster (every served request): it walks a body by a per-API schema
//! written from the Kafka message specs (field order, the versions each
//! field exists in, classic and flexible encodings) and refuses a body whose
//! array counts exceed the elements actually present. Strings and byte
//! fields need no check: the decoder bounds them by the bytes left. Unknown
//! tagged fields are skipped by their size; tagged fields the decoder reads
//! itself (some hold arrays) are walked like any other field and must fill
//! their declared size.
//!
//! **When this crate can go:** once a `kafka-protocol` release bounds its
//! reservations by the bytes left (no `Vec::with_capacity` from an
//! unchecked wire count; 0.18.0 is the newest and the upstream fix is still
//! unreleased), the walker is redundant. Then delete this crate, decode
//! directly, and keep the client's and the mock's lying-count tests (they
//! then test the decoder).
//!
//! Layout: the walker ([`walk`]), request schemas ([`request_schema`], what
//! the mock serves), response schemas by [`Family`] ([`response_schema`],
//! what the client decodes) and the embedded consumer-protocol messages
//! ([`Embedded`]). The client's tests check every response schema against
//! what `kafka-protocol` encodes at every version the client speaks; the
//! mock's tests do the same for every request it serves.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod embedded;
mod request;
mod response;
mod walker;

pub use embedded::{check_embedded, consumer_schema, decode_embedded, Embedded};
pub use request::{check_request, request_schema};
pub use response::{response_schema, Family};
pub use walker::{flexible, walk, walk_fields, ALL, F, K, NO_ARRAYS};

use kafka_protocol::messages::ApiKey;

/// Why a response body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The API has no response schema here: add one to [`response_schema`]
    /// before decoding a new API with `kafka-protocol`.
    NoSchema,
    /// An array count exceeds the bytes present, or the body ends inside a
    /// field: what was wrong and at which byte offset.
    Malformed(String),
}

/// Checks a response body (after its header) of `key` at `version` before
/// `kafka-protocol` decodes it.
pub fn check_response(key: ApiKey, version: i16, body: &[u8]) -> Result<(), Refused> {
    let fields = response_schema(key).ok_or(Refused::NoSchema)?;
    if std::ptr::eq(fields, NO_ARRAYS) {
        return Ok(());
    }
    walk(fields, version, flexible(key, version), body)
        .map(|_| ())
        .map_err(Refused::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lying_count_is_refused_in_requests_responses_and_embedded_messages() {
        // Metadata v12: a compact array of 2^32-2 entries, nothing behind it.
        let lie = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(!check_request(ApiKey::Metadata, 12, &lie));
        // Response v12 starts with throttle_time_ms.
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&lie);
        match check_response(ApiKey::Metadata, 12, &body) {
            Err(Refused::Malformed(why)) => assert!(why.contains("array count exceeds"), "{why}"),
            other => panic!("{other:?}"),
        }
        let why =
            check_embedded(Embedded::ConsumerAssignment, 0, &[0x7f, 0xff, 0xff, 0xff]).unwrap_err();
        assert!(why.contains("array count exceeds"), "{why}");
        assert_eq!(check_response(ApiKey::Vote, 0, &[]), Err(Refused::NoSchema));
    }

    #[test]
    fn a_null_array_and_bodies_without_arrays_pass() {
        assert!(check_request(
            ApiKey::Metadata,
            1,
            &[0xff, 0xff, 0xff, 0xff]
        ));
        assert_eq!(check_response(ApiKey::Heartbeat, 0, &[]), Ok(()));
    }
}
