//! Schemas of the responses a connection reads before it serves
//! requests: ApiVersions and the SASL exchange.

use crate::walker::{ALL, F, K::*, NO_ARRAYS};
use kafka_protocol::messages::ApiKey;

const R_SASL_HANDSHAKE: &[F] = &[F(0, ALL, Fixed(2)), F(0, ALL, ArrStr)];
const R_API_VERSION: &[F] = &[F(0, ALL, Fixed(6))];
const R_SUPPORTED_FEATURE: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(4))];
const R_API_VERSIONS: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Arr(R_API_VERSION)),
    F(1, ALL, Fixed(4)),
    F(3, ALL, Tagged(0, &Arr(R_SUPPORTED_FEATURE))),
    F(3, ALL, Tagged(1, &Fixed(8))),
    F(3, ALL, Tagged(2, &Arr(R_SUPPORTED_FEATURE))),
    F(3, ALL, Tagged(3, &Fixed(1))),
];

/// The schema of a response of this family; `None` for other APIs.
pub(super) fn schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::ApiVersions => R_API_VERSIONS,
        ApiKey::SaslHandshake => R_SASL_HANDSHAKE,
        ApiKey::SaslAuthenticate => NO_ARRAYS,
        _ => return None,
    })
}
