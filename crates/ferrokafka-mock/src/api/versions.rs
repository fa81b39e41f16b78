//! ApiVersions (KIP-35/KIP-511): the served APIs and their version ranges.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

pub(crate) fn handle(shared: &crate::cluster::Shared) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default();
    let mut apis = crate::server::all_supported();
    if shared.config.listener.users.is_some() {
        // SASL listeners only, as a broker does for its SASL listeners.
        apis.extend(crate::server::SASL_APIS);
        apis.sort_by_key(|(k, _, _)| *k as i16);
    }
    r.api_keys = apis
        .into_iter()
        .map(|(k, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = k as i16;
            v.min_version = lo;
            v.max_version = hi;
            v
        })
        .collect();
    shared.features.fill(&mut r);
    r
}

/// The answer to an ApiVersions request of a version the mock does not
/// serve: UNSUPPORTED_VERSION in a v0 body (header v0) that names the
/// ApiVersions range, so the client can retry with a version both know.
pub(crate) fn unsupported_version_frame(correlation_id: i32, lo: i16, hi: i16) -> Bytes {
    let mut b = BytesMut::with_capacity(20);
    b.put_i32(16);
    b.put_i32(correlation_id);
    b.put_i16(crate::log::code::UNSUPPORTED_VERSION);
    b.put_i32(1);
    b.put_i16(ApiKey::ApiVersions as i16);
    b.put_i16(lo);
    b.put_i16(hi);
    b.freeze()
}
