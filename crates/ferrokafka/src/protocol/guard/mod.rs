//! The client's use of the shape guard (`ferrokafka-wire`): every response
//! body is checked before `kafka-protocol` decodes it, through
//! [`decode`](super::decode). The walker and its schemas live in that crate,
//! shared with the mock cluster; this module turns its refusals into the
//! client's `BadMsg` errors and tests the response schemas against every
//! version the client speaks (`versions::SUPPORTED`).

use super::codes;
use crate::error::{Error, Result};
pub(crate) use ferrokafka_wire::Embedded;
use ferrokafka_wire::Refused;
use kafka_protocol::messages::ApiKey;

/// Checks a response body (after its header) before `kafka-protocol`
/// decodes it: a `BadMsg` error naming the API, version, peer and what was
/// wrong when an array count exceeds the bytes present, or when the API has
/// no response schema (add one to `ferrokafka-wire` before decoding a new
/// API with that crate).
pub(crate) fn check_response(key: ApiKey, version: i16, body: &[u8], peer: &str) -> Result<()> {
    ferrokafka_wire::check_response(key, version, body).map_err(|refused| match refused {
        Refused::NoSchema => Error::new(
            codes::BAD_MSG,
            format!(
                "refusing to decode {key:?} v{version} response from {peer}: \
                 no shape schema for this API in ferrokafka-wire"
            ),
        ),
        Refused::Malformed(why) => Error::new(
            codes::BAD_MSG,
            format!(
                "malformed {key:?} v{version} response from {peer} ({} bytes): {why}",
                body.len()
            ),
        ),
    })
}

#[cfg(test)]
mod tests;
