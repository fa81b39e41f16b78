//! Schemas of the data-path responses: Produce, Fetch, ListOffsets,
//! Metadata and OffsetForLeaderEpoch.

use crate::walker::{ALL, F, K::*};
use kafka_protocol::messages::ApiKey;

const R_PRODUCE_BATCH_ERROR: &[F] = &[F(8, ALL, Fixed(4)), F(8, ALL, Str)];
const R_LEADER_ID_EPOCH: &[F] = &[F(0, ALL, Fixed(8))];
const R_NODE_ENDPOINT: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
];
const R_PRODUCE_PART: &[F] = &[
    F(0, ALL, Fixed(22)),
    F(5, ALL, Fixed(8)),
    F(8, ALL, Arr(R_PRODUCE_BATCH_ERROR)),
    F(8, ALL, Str),
    F(10, ALL, Tagged(0, &Struct(R_LEADER_ID_EPOCH))),
];
const R_PRODUCE_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(R_PRODUCE_PART)),
];
const R_PRODUCE: &[F] = &[
    F(0, ALL, Arr(R_PRODUCE_TOPIC)),
    F(1, ALL, Fixed(4)),
    F(10, ALL, Tagged(0, &Arr(R_NODE_ENDPOINT))),
];
const R_FETCH_ABORTED: &[F] = &[F(0, ALL, Fixed(16))];
const R_FETCH_EPOCH_END: &[F] = &[F(0, ALL, Fixed(12))];
const R_FETCH_PART: &[F] = &[
    F(0, ALL, Fixed(22)),
    F(5, ALL, Fixed(8)),
    F(4, ALL, Arr(R_FETCH_ABORTED)),
    F(11, ALL, Fixed(4)),
    F(0, ALL, Bytes),
    F(12, ALL, Tagged(0, &Struct(R_FETCH_EPOCH_END))),
    F(12, ALL, Tagged(1, &Struct(R_LEADER_ID_EPOCH))),
    F(12, ALL, Tagged(2, &Struct(R_FETCH_EPOCH_END))),
];
const R_FETCH_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(R_FETCH_PART)),
];
const R_FETCH: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(7, ALL, Fixed(6)),
    F(0, ALL, Arr(R_FETCH_TOPIC)),
    F(16, ALL, Tagged(0, &Arr(R_NODE_ENDPOINT))),
];
const R_LIST_OFFSETS_PART: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(1, ALL, Fixed(16)),
    F(4, ALL, Fixed(4)),
];
const R_LIST_OFFSETS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_LIST_OFFSETS_PART))];
const R_LIST_OFFSETS: &[F] = &[F(2, ALL, Fixed(4)), F(0, ALL, Arr(R_LIST_OFFSETS_TOPIC))];
const R_METADATA_BROKER: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(1, ALL, Str),
];
const R_METADATA_PART: &[F] = &[
    F(0, ALL, Fixed(10)),
    F(7, ALL, Fixed(4)),
    F(0, ALL, ArrOf(4)),
    F(0, ALL, ArrOf(4)),
    F(5, ALL, ArrOf(4)),
];
const R_METADATA_TOPIC: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(10, ALL, Fixed(16)),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Arr(R_METADATA_PART)),
    F(8, ALL, Fixed(4)),
];
const R_METADATA: &[F] = &[
    F(3, ALL, Fixed(4)),
    F(0, ALL, Arr(R_METADATA_BROKER)),
    F(2, ALL, Str),
    F(1, ALL, Fixed(4)),
    F(0, ALL, Arr(R_METADATA_TOPIC)),
    F(8, 10, Fixed(4)),
    F(13, ALL, Fixed(2)),
];
const R_EPOCH_END_OFFSET: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(8)),
];
const R_EPOCH_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_EPOCH_END_OFFSET))];
const R_OFFSET_FOR_LEADER_EPOCH: &[F] = &[F(2, ALL, Fixed(4)), F(0, ALL, Arr(R_EPOCH_TOPIC))];

/// The schema of a response of this family; `None` for other APIs.
pub(super) fn schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::Produce => R_PRODUCE,
        ApiKey::Fetch => R_FETCH,
        ApiKey::ListOffsets => R_LIST_OFFSETS,
        ApiKey::Metadata => R_METADATA,
        ApiKey::OffsetForLeaderEpoch => R_OFFSET_FOR_LEADER_EPOCH,
        _ => return None,
    })
}
