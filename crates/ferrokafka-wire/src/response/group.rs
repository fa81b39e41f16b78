//! Schemas of the consumer-group responses: coordinator lookup,
//! membership (join, sync, heartbeat, leave), committed offsets and the
//! group admin APIs (describe, list, delete, offset delete).

use super::R_PARTITION_ERROR;
use crate::walker::{ALL, F, K::*, NO_ARRAYS};
use kafka_protocol::messages::ApiKey;

const R_OFFSET_COMMIT_TOPIC: &[F] = &[
    F(0, 9, Str),
    F(10, ALL, Fixed(16)),
    F(0, ALL, Arr(R_PARTITION_ERROR)),
];
const R_OFFSET_COMMIT: &[F] = &[F(3, ALL, Fixed(4)), F(0, ALL, Arr(R_OFFSET_COMMIT_TOPIC))];
const R_OFFSET_FETCH_PART: &[F] = &[
    F(0, ALL, Fixed(12)),
    F(5, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const R_OFFSET_FETCH_TOPIC: &[F] = &[
    F(0, 9, Str),
    F(10, ALL, Fixed(16)),
    F(0, ALL, Arr(R_OFFSET_FETCH_PART)),
];
const R_OFFSET_FETCH_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Arr(R_OFFSET_FETCH_TOPIC)),
    F(0, ALL, Fixed(2)),
];
const R_OFFSET_FETCH: &[F] = &[
    F(3, ALL, Fixed(4)),
    F(0, 7, Arr(R_OFFSET_FETCH_TOPIC)),
    F(2, 7, Fixed(2)),
    F(8, ALL, Arr(R_OFFSET_FETCH_GROUP)),
];
const R_COORDINATOR: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
];
const R_FIND_COORDINATOR: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, 3, Fixed(2)),
    F(1, 3, Str),
    F(0, 3, Fixed(4)),
    F(0, 3, Str),
    F(0, 3, Fixed(4)),
    F(4, ALL, Arr(R_COORDINATOR)),
];
const R_JOIN_GROUP_MEMBER: &[F] = &[F(0, ALL, Str), F(5, ALL, Str), F(0, ALL, Bytes)];
const R_JOIN_GROUP: &[F] = &[
    F(2, ALL, Fixed(4)),
    F(0, ALL, Fixed(6)),
    F(7, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(9, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_JOIN_GROUP_MEMBER)),
];
const R_LEAVE_GROUP_MEMBER: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(2))];
const R_LEAVE_GROUP: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(2)),
    F(3, ALL, Arr(R_LEAVE_GROUP_MEMBER)),
];
const R_SYNC_GROUP: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(2)),
    F(5, ALL, Str),
    F(5, ALL, Str),
    F(0, ALL, Bytes),
];
const R_DESCRIBED_MEMBER: &[F] = &[
    F(0, ALL, Str),
    F(4, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Bytes),
    F(0, ALL, Bytes),
];
const R_DESCRIBED_GROUP: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(6, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_DESCRIBED_MEMBER)),
    F(3, ALL, Fixed(4)),
];
const R_DESCRIBE_GROUPS: &[F] = &[F(1, ALL, Fixed(4)), F(0, ALL, Arr(R_DESCRIBED_GROUP))];
const R_LISTED_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(4, ALL, Str),
    F(5, ALL, Str),
];
const R_LIST_GROUPS: &[F] = &[
    F(1, ALL, Fixed(4)),
    F(0, ALL, Fixed(2)),
    F(0, ALL, Arr(R_LISTED_GROUP)),
];
const R_DELETABLE_GROUP: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2))];
const R_DELETE_GROUPS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETABLE_GROUP))];
const R_OFFSET_DELETE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_OFFSET_DELETE: &[F] = &[F(0, ALL, Fixed(6)), F(0, ALL, Arr(R_OFFSET_DELETE_TOPIC))];

/// The schema of a response of this family; `None` for other APIs.
pub(super) fn schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::OffsetCommit => R_OFFSET_COMMIT,
        ApiKey::OffsetFetch => R_OFFSET_FETCH,
        ApiKey::FindCoordinator => R_FIND_COORDINATOR,
        ApiKey::JoinGroup => R_JOIN_GROUP,
        ApiKey::LeaveGroup => R_LEAVE_GROUP,
        ApiKey::SyncGroup => R_SYNC_GROUP,
        ApiKey::DescribeGroups => R_DESCRIBE_GROUPS,
        ApiKey::ListGroups => R_LIST_GROUPS,
        ApiKey::DeleteGroups => R_DELETE_GROUPS,
        ApiKey::OffsetDelete => R_OFFSET_DELETE,
        ApiKey::Heartbeat => NO_ARRAYS,
        _ => return None,
    })
}
