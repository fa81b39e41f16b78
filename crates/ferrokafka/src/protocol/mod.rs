//! Wire protocol: framing, request/response headers and API version
//! negotiation.
//!
//! Message bodies for the ~70 Kafka APIs come from the `kafka-protocol`
//! crate; this module owns what surrounds them: the size-prefixed frame with
//! its bounded reader ([`frame`]), header versions derived from each API's
//! flexible versions, the ApiVersions exchange (KIP-35, KIP-511) and the
//! per-API version table ([`versions`]). Record batches inside Produce and
//! Fetch bodies belong to `record`; sockets and pipelining to `net`.

pub(crate) mod frame;
pub(crate) mod versions;

pub(crate) use kafka_protocol::messages::ApiKey;
pub(crate) use versions::ApiVersionTable;

/// Error codes this layer raises, named in one place so that the mapping to
/// [`crate::ErrorCode`] follows that table as it grows.
pub(crate) mod codes {
    use crate::error::ErrorCode;

    /// A connection could not be made or broke.
    pub(crate) const TRANSPORT: ErrorCode = ErrorCode::Transport;
    /// A frame or response could not be decoded.
    pub(crate) const BAD_MSG: ErrorCode = ErrorCode::BadMsg;
    /// A request got no answer within its timeout (librdkafka `_TIMED_OUT`).
    pub(crate) const TIMED_OUT: ErrorCode = ErrorCode::Transport;
    /// No version of an API both sides speak.
    pub(crate) const UNSUPPORTED_VERSION: ErrorCode = ErrorCode::UnknownServerError;
    /// A topic is not known to the cluster (librdkafka `_UNKNOWN_TOPIC`).
    pub(crate) const UNKNOWN_TOPIC: ErrorCode = ErrorCode::UnknownServerError;
    /// No broker could be reached (librdkafka `_ALL_BROKERS_DOWN`).
    pub(crate) const ALL_BROKERS_DOWN: ErrorCode = ErrorCode::Transport;
    /// The client was closed while the operation was pending.
    pub(crate) const DESTROY: ErrorCode = ErrorCode::Transport;

    /// The [`ErrorCode`] for a Kafka protocol error code.
    pub(crate) fn from_kafka(_code: i16) -> ErrorCode {
        ErrorCode::UnknownServerError
    }
}

/// Kafka's UNSUPPORTED_VERSION error code.
pub(crate) const KAFKA_UNSUPPORTED_VERSION: i16 = 35;

/// Kafka's UNKNOWN_TOPIC_OR_PARTITION error code.
pub(crate) const KAFKA_UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// The Kafka name of a protocol error code, for messages.
pub(crate) fn kafka_error_name(code: i16) -> String {
    use kafka_protocol::error::ParseResponseErrorCode;
    match code.err() {
        Some(e) => format!("{e:?} ({code})"),
        None => "NONE (0)".to_string(),
    }
}
