//! The consumer protocol's messages embedded as opaque bytes in group
//! requests and responses (JoinGroup metadata, SyncGroup assignments).

use crate::walker::{walk, ALL, F, K::*};
use kafka_protocol::protocol::Decodable;

/// A consumer-protocol topic and its partitions (owned partitions of a
/// subscription, assigned partitions of an assignment).
const CONSUMER_TOPIC_PARTITIONS: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
/// ConsumerProtocolSubscription v0-3 (never flexible).
const CONSUMER_SUBSCRIPTION: &[F] = &[
    F(0, ALL, ArrStr),
    F(0, ALL, Bytes),
    F(1, ALL, Arr(CONSUMER_TOPIC_PARTITIONS)),
    F(2, ALL, Fixed(4)),
    F(3, ALL, Str),
];
/// ConsumerProtocolAssignment v0-3 (never flexible).
const CONSUMER_ASSIGNMENT: &[F] = &[F(0, ALL, Arr(CONSUMER_TOPIC_PARTITIONS)), F(0, ALL, Bytes)];

/// The messages embedded as opaque bytes inside group requests and
/// responses: the consumer protocol's subscription (JoinGroup metadata) and
/// assignment (SyncGroup). They come from other group members through the
/// broker, so they are as untrusted as any response and are walked before
/// `kafka-protocol` decodes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedded {
    /// `ConsumerProtocolSubscription`.
    ConsumerSubscription,
    /// `ConsumerProtocolAssignment`.
    ConsumerAssignment,
}

/// Walks an embedded message's body (after its version prefix) at
/// `version`: what was wrong and where when an array count exceeds the
/// bytes present. Newer versions only append fields, so a body of a newer
/// version is walked at the newest known one.
pub fn check_embedded(
    which: Embedded,
    version: i16,
    body: &[u8],
) -> std::result::Result<(), String> {
    walk(consumer_schema(which), version, false, body).map(|_| ())
}

/// The schema of an embedded message.
pub fn consumer_schema(which: Embedded) -> &'static [F] {
    match which {
        Embedded::ConsumerSubscription => CONSUMER_SUBSCRIPTION,
        Embedded::ConsumerAssignment => CONSUMER_ASSIGNMENT,
    }
}

/// Decodes an embedded message `M` (`which`, its body after the version
/// prefix) at `version` after walking it: what was wrong when the shape
/// check or the decoder refuses it.
pub fn decode_embedded<M: Decodable>(
    which: Embedded,
    version: i16,
    mut body: bytes::Bytes,
) -> std::result::Result<M, String> {
    check_embedded(which, version, &body)?;
    M::decode(&mut body, version).map_err(|e| e.to_string())
}
