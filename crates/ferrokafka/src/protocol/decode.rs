//! The one way a response body becomes a `kafka-protocol` message.
//!
//! Every response the client decodes with `kafka-protocol` (sent through
//! [`Connection::send`](crate::net::Connection::send) by the cluster,
//! consumer and admin layers, and the SASL exchange) and the two consumer
//! protocol messages other group members relay through the coordinator go
//! through here: the body is walked by its shape schema first
//! ([`guard`](super::guard)), and only a body whose array counts fit in its
//! bytes reaches the decoder, which would otherwise reserve memory from a
//! lying count. (Metadata, FindCoordinator and ApiVersions have their own
//! checked-length readers and do not use `kafka-protocol` at all.)

use super::guard;
use super::{codes, ApiKey, ApiRequest};
use crate::error::{Error, Result};
use bytes::Bytes;
use kafka_protocol::protocol::Decodable;

/// Decodes the response to request type `R` at `version` from `peer`
/// (named in errors): a `BadMsg` error when the body's shape is wrong or
/// the decoder refuses it.
pub(crate) fn decode<R: ApiRequest>(version: i16, body: Bytes, peer: &str) -> Result<R::Response> {
    decode_as::<R::Response>(R::KEY, version, body, peer)
}

/// [`decode`] by API key, for callers that hold a response type without
/// its request (the SASL exchange).
pub(crate) fn decode_as<M: Decodable>(
    key: ApiKey,
    version: i16,
    mut body: Bytes,
    peer: &str,
) -> Result<M> {
    guard::check_response(key, version, &body, peer)?;
    M::decode(&mut body, version).map_err(|e| {
        Error::new(
            codes::BAD_MSG,
            format!("cannot decode {key:?} v{version} response from {peer}: {e}"),
        )
    })
}

/// Decodes an embedded consumer-protocol message (`which`, its body after
/// the version prefix) at `version`, walked first like a response; the
/// error says what was wrong.
pub(crate) use ferrokafka_wire::decode_embedded;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::guard::Embedded;
    use kafka_protocol::messages::{ConsumerProtocolAssignment, MetadataRequest};

    #[test]
    fn a_lying_count_is_refused_before_the_decoder_runs() {
        // Metadata v1: a classic array of 2^31-1 brokers in four bytes.
        let err =
            decode::<MetadataRequest>(1, Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]), "p:1")
                .unwrap_err();
        assert_eq!(err.code(), codes::BAD_MSG);
        assert!(err.message().contains("array count exceeds"), "{err}");
        assert!(err.message().contains("p:1"), "{err}");
        let err = decode_embedded::<ConsumerProtocolAssignment>(
            Embedded::ConsumerAssignment,
            0,
            Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]),
        )
        .unwrap_err();
        assert!(err.contains("array count exceeds"), "{err}");
    }

    #[test]
    fn a_valid_body_decodes() {
        use kafka_protocol::messages::MetadataResponse;
        use kafka_protocol::protocol::Encodable;
        let mut b = bytes::BytesMut::new();
        MetadataResponse::default().encode(&mut b, 12).unwrap();
        let r = decode::<MetadataRequest>(12, b.freeze(), "p:1").unwrap();
        assert!(r.brokers.is_empty());
    }
}
