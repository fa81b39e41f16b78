//! Schemas of the transaction responses: adding partitions and offsets
//! to a transaction, describing producers and transactions, and writing
//! transaction markers (the admin call that aborts a hanging transaction).

use super::R_PARTITION_ERROR;
use crate::walker::{ALL, F, K::*, NO_ARRAYS};
use kafka_protocol::messages::ApiKey;

const R_ADD_PARTITIONS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_ADD_PARTITIONS_TXN: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ADD_PARTITIONS_TOPIC))];
const R_ADD_PARTITIONS_TO_TXN: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(4, ALL, Fixed(2)),
    F(4, ALL, Arr(R_ADD_PARTITIONS_TXN)),
    F(0, 3, Arr(R_ADD_PARTITIONS_TOPIC)),
];
const R_TXN_OFFSET_COMMIT_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_TXN_OFFSET_COMMIT: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_TXN_OFFSET_COMMIT_TOPIC)),
];
const R_PRODUCER_STATE: &[F] = &[F(0, ALL, Fixed(36))];
const R_PRODUCERS_PART: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_PRODUCER_STATE)),
];
const R_PRODUCERS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PRODUCERS_PART))];
const R_DESCRIBE_PRODUCERS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_PRODUCERS_TOPIC))];
const R_TXN_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const R_TXN_STATE: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(22)),
    F(0, ALL, Arr(R_TXN_TOPIC)),
];
const R_DESCRIBE_TRANSACTIONS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_TXN_STATE))];
const R_LISTED_TXN: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(8)), F(0, ALL, Str)];
const R_LIST_TRANSACTIONS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, ArrStr),
    F(0, ALL, Arr(R_LISTED_TXN)),
];

const R_TXN_MARKER_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_PARTITION_ERROR))];
const R_TXN_MARKER: &[F] = &[F(0, ALL, Fixed(8)), F(0, ALL, Arr(R_TXN_MARKER_TOPIC))];
const R_WRITE_TXN_MARKERS: &[F] = &[F(0, ALL, Arr(R_TXN_MARKER))];

/// The schema of a response of this family; `None` for other APIs.
pub(super) fn schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::AddPartitionsToTxn => R_ADD_PARTITIONS_TO_TXN,
        ApiKey::TxnOffsetCommit => R_TXN_OFFSET_COMMIT,
        ApiKey::DescribeProducers => R_DESCRIBE_PRODUCERS,
        ApiKey::DescribeTransactions => R_DESCRIBE_TRANSACTIONS,
        ApiKey::ListTransactions => R_LIST_TRANSACTIONS,
        ApiKey::WriteTxnMarkers => R_WRITE_TXN_MARKERS,
        ApiKey::InitProducerId | ApiKey::AddOffsetsToTxn | ApiKey::EndTxn => NO_ARRAYS,
        _ => return None,
    })
}
