//! Request schemas: what the mock cluster serves. Each is written from the
//! request's message spec (field order and the versions each field exists
//! in); the mock's tests check every served API and version against what
//! `kafka-protocol` encodes.

use crate::walker::{flexible, walk, ALL, F, K::*, NO_ARRAYS};
use kafka_protocol::messages::ApiKey;

const PRODUCE_PART: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Bytes)];
const PRODUCE_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(PRODUCE_PART)),
];
const PRODUCE: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(6)),
    F(0, ALL, Arr(PRODUCE_TOPIC)),
];

const FETCH_PART: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(9, ALL, Fixed(4)),
    F(0, ALL, Fixed(8)),
    F(12, ALL, Fixed(4)),
    F(5, ALL, Fixed(8)),
    F(0, ALL, Fixed(4)),
];
const FETCH_TOPIC: &[F] = &[
    F(0, 12, Str),
    F(13, ALL, Fixed(16)),
    F(0, ALL, Arr(FETCH_PART)),
];
const FETCH_FORGOTTEN: &[F] = &[F(7, 12, Str), F(13, ALL, Fixed(16)), F(7, ALL, ArrOf(4))];
const FETCH: &[F] = &[
    F(0, 14, Fixed(4)),
    F(0, ALL, Fixed(13)),
    F(7, ALL, Fixed(8)),
    F(0, ALL, Arr(FETCH_TOPIC)),
    F(7, ALL, Arr(FETCH_FORGOTTEN)),
    F(11, ALL, Str),
];

const LIST_OFFSETS_PART: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(4, ALL, Fixed(4)),
    F(0, ALL, Fixed(8)),
];
const LIST_OFFSETS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(LIST_OFFSETS_PART))];
const LIST_OFFSETS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(2, ALL, Fixed(1)),
    F(0, ALL, Arr(LIST_OFFSETS_TOPIC)),
    F(10, ALL, Fixed(4)),
];

const METADATA_TOPIC: &[F] = &[F(10, ALL, Fixed(16)), F(0, ALL, Str)];
const METADATA: &[F] = &[
    F(0, ALL, Arr(METADATA_TOPIC)),
    F(4, ALL, Fixed(1)),
    F(8, 10, Fixed(1)),
    F(8, ALL, Fixed(1)),
];

const CREATE_TOPICS_ASSIGN: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, ArrOf(4))];
const CREATE_TOPICS_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const CREATE_TOPICS_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(6)),
    F(0, ALL, Arr(CREATE_TOPICS_ASSIGN)),
    F(0, ALL, Arr(CREATE_TOPICS_CONFIG)),
];
const CREATE_TOPICS: &[F] = &[F(0, ALL, Arr(CREATE_TOPICS_TOPIC)), F(0, ALL, Fixed(5))];

const DELETE_TOPICS_STATE: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(16))];
const DELETE_TOPICS: &[F] = &[
    F(6, ALL, Arr(DELETE_TOPICS_STATE)),
    F(0, 5, ArrStr),
    F(0, ALL, Fixed(4)),
];

const EPOCH_PART: &[F] = &[F(0, ALL, Fixed(12))];
const EPOCH_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(EPOCH_PART))];
const OFFSET_FOR_LEADER_EPOCH: &[F] = &[F(3, ALL, Fixed(4)), F(0, ALL, Arr(EPOCH_TOPIC))];

const CREATE_PARTITIONS_ASSIGN: &[F] = &[F(0, ALL, ArrOf(4))];
const CREATE_PARTITIONS_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(CREATE_PARTITIONS_ASSIGN)),
];
const CREATE_PARTITIONS: &[F] = &[F(0, ALL, Arr(CREATE_PARTITIONS_TOPIC)), F(0, ALL, Fixed(5))];

const FIND_COORDINATOR: &[F] = &[F(0, 3, Str), F(1, ALL, Fixed(1)), F(4, ALL, ArrStr)];

const JOIN_GROUP_PROTOCOL: &[F] = &[F(0, ALL, Str), F(0, ALL, Bytes)];
const JOIN_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(5, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Arr(JOIN_GROUP_PROTOCOL)),
    F(8, ALL, Str),
];

const SYNC_GROUP_ASSIGNMENT: &[F] = &[F(0, ALL, Str), F(0, ALL, Bytes)];
const SYNC_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(3, ALL, Str),
    F(5, ALL, Str),
    F(5, ALL, Str),
    F(0, ALL, Arr(SYNC_GROUP_ASSIGNMENT)),
];

const LEAVE_GROUP_MEMBER: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(5, ALL, Str)];
const LEAVE_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(0, 2, Str),
    F(3, ALL, Arr(LEAVE_GROUP_MEMBER)),
];

const OFFSET_COMMIT_PART: &[F] = &[F(0, ALL, Fixed(12)), F(6, ALL, Fixed(4)), F(0, ALL, Str)];
const OFFSET_COMMIT_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(OFFSET_COMMIT_PART))];
const OFFSET_COMMIT: &[F] = &[
    F(0, ALL, Str),
    F(1, ALL, Fixed(4)),
    F(1, ALL, Str),
    F(7, ALL, Str),
    F(2, 4, Fixed(8)),
    F(0, ALL, Arr(OFFSET_COMMIT_TOPIC)),
];

const OFFSET_FETCH_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const OFFSET_FETCH_GROUP: &[F] = &[
    F(0, ALL, Str),
    F(9, ALL, Str),
    F(9, ALL, Fixed(4)),
    F(0, ALL, Arr(OFFSET_FETCH_TOPIC)),
];
const OFFSET_FETCH: &[F] = &[
    F(0, 7, Str),
    F(0, 7, Arr(OFFSET_FETCH_TOPIC)),
    F(8, ALL, Arr(OFFSET_FETCH_GROUP)),
    F(7, ALL, Fixed(1)),
];

const LIST_GROUPS: &[F] = &[F(4, ALL, ArrStr), F(5, ALL, ArrStr)];
const DESCRIBE_GROUPS: &[F] = &[F(0, ALL, ArrStr), F(3, ALL, Fixed(1))];
const DELETE_GROUPS: &[F] = &[F(0, ALL, ArrStr)];
const OFFSET_DELETE_PART: &[F] = &[F(0, ALL, Fixed(4))];
const OFFSET_DELETE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(OFFSET_DELETE_PART))];
const OFFSET_DELETE: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(OFFSET_DELETE_TOPIC))];

const ADD_PARTITIONS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const ADD_PARTITIONS_TXN: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(11)),
    F(0, ALL, Arr(ADD_PARTITIONS_TOPIC)),
];
const ADD_PARTITIONS_TO_TXN: &[F] = &[
    F(4, ALL, Arr(ADD_PARTITIONS_TXN)),
    F(0, 3, Str),
    F(0, 3, Fixed(10)),
    F(0, 3, Arr(ADD_PARTITIONS_TOPIC)),
];

const TXN_COMMIT_PART: &[F] = &[F(0, ALL, Fixed(12)), F(2, ALL, Fixed(4)), F(0, ALL, Str)];
const TXN_COMMIT_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(TXN_COMMIT_PART))];
const TXN_OFFSET_COMMIT: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(10)),
    F(3, ALL, Fixed(4)),
    F(3, ALL, Str),
    F(3, ALL, Str),
    F(0, ALL, Arr(TXN_COMMIT_TOPIC)),
];

const DESCRIBE_CONFIGS_RESOURCE: &[F] = &[F(0, ALL, Fixed(1)), F(0, ALL, Str), F(0, ALL, ArrStr)];
const DESCRIBE_CONFIGS: &[F] = &[
    F(0, ALL, Arr(DESCRIBE_CONFIGS_RESOURCE)),
    F(0, ALL, Fixed(1)),
    F(3, ALL, Fixed(1)),
];

const DELETE_RECORDS_PART: &[F] = &[F(0, ALL, Fixed(12))];
const DELETE_RECORDS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(DELETE_RECORDS_PART))];
const DELETE_RECORDS: &[F] = &[F(0, ALL, Arr(DELETE_RECORDS_TOPIC)), F(0, ALL, Fixed(4))];

const INCREMENTAL_ALTER_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(1)), F(0, ALL, Str)];
const INCREMENTAL_ALTER_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(INCREMENTAL_ALTER_CONFIG)),
];
const INCREMENTAL_ALTER_CONFIGS: &[F] = &[
    F(0, ALL, Arr(INCREMENTAL_ALTER_RESOURCE)),
    F(0, ALL, Fixed(1)),
];
const ALTER_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const ALTER_CONFIGS_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(ALTER_CONFIG)),
];
const ALTER_CONFIGS: &[F] = &[F(0, ALL, Arr(ALTER_CONFIGS_RESOURCE)), F(0, ALL, Fixed(1))];

const ACL_CREATION: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const CREATE_ACLS: &[F] = &[F(0, ALL, Arr(ACL_CREATION))];
const ACL_FILTER: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const DELETE_ACLS: &[F] = &[F(0, ALL, Arr(ACL_FILTER))];

const LOG_DIR_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const DESCRIBE_LOG_DIRS: &[F] = &[F(0, ALL, Arr(LOG_DIR_TOPIC))];

// The later admin APIs: SCRAM credentials, features, leader elections and
// reassignments, client quotas, and the transaction admin APIs.
const USER_NAME: &[F] = &[F(0, ALL, Str)];
const DESCRIBE_USER_SCRAM: &[F] = &[F(0, ALL, Arr(USER_NAME))];

const SCRAM_DELETION: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(1))];
const SCRAM_UPSERTION: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(5)),
    F(0, ALL, Bytes),
    F(0, ALL, Bytes),
];
const ALTER_USER_SCRAM: &[F] = &[
    F(0, ALL, Arr(SCRAM_DELETION)),
    F(0, ALL, Arr(SCRAM_UPSERTION)),
];

const FEATURE_UPDATE: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
    F(0, 0, Fixed(1)),
    F(1, ALL, Fixed(1)),
];
const UPDATE_FEATURES: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(FEATURE_UPDATE)),
    F(1, ALL, Fixed(1)),
];

/// A topic and an int32 array of its partitions (ElectLeaders,
/// ListPartitionReassignments, DescribeProducers, WriteTxnMarkers).
const TOPIC_PARTITIONS: &[F] = &[F(0, ALL, Str), F(0, ALL, ArrOf(4))];
const ELECT_LEADERS: &[F] = &[
    F(1, ALL, Fixed(1)),
    F(0, ALL, Arr(TOPIC_PARTITIONS)),
    F(0, ALL, Fixed(4)),
];

const REASSIGNABLE_PARTITION: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, ArrOf(4))];
const REASSIGNABLE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(REASSIGNABLE_PARTITION))];
const ALTER_PARTITION_REASSIGNMENTS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Arr(REASSIGNABLE_TOPIC)),
];
const LIST_PARTITION_REASSIGNMENTS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(TOPIC_PARTITIONS))];

const QUOTA_COMPONENT: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(1)), F(0, ALL, Str)];
const DESCRIBE_CLIENT_QUOTAS: &[F] = &[F(0, ALL, Arr(QUOTA_COMPONENT)), F(0, ALL, Fixed(1))];

const QUOTA_ENTITY: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const QUOTA_OP: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(9))];
const QUOTA_ENTRY: &[F] = &[F(0, ALL, Arr(QUOTA_ENTITY)), F(0, ALL, Arr(QUOTA_OP))];
const ALTER_CLIENT_QUOTAS: &[F] = &[F(0, ALL, Arr(QUOTA_ENTRY)), F(0, ALL, Fixed(1))];

const DESCRIBE_PRODUCERS: &[F] = &[F(0, ALL, Arr(TOPIC_PARTITIONS))];
const DESCRIBE_TRANSACTIONS: &[F] = &[F(0, ALL, ArrStr)];
const LIST_TRANSACTIONS: &[F] = &[
    F(0, ALL, ArrStr),
    F(0, ALL, ArrOf(8)),
    F(1, ALL, Fixed(8)),
    F(2, ALL, Str),
];

const TXN_MARKER: &[F] = &[
    F(0, ALL, Fixed(11)),
    F(0, ALL, Arr(TOPIC_PARTITIONS)),
    F(0, ALL, Fixed(4)),
];
const WRITE_TXN_MARKERS: &[F] = &[F(0, ALL, Arr(TXN_MARKER))];

/// The schema of a request body; APIs without arrays map to [`NO_ARRAYS`].
pub fn request_schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::Produce => PRODUCE,
        ApiKey::Fetch => FETCH,
        ApiKey::ListOffsets => LIST_OFFSETS,
        ApiKey::Metadata => METADATA,
        ApiKey::CreateTopics => CREATE_TOPICS,
        ApiKey::DeleteTopics => DELETE_TOPICS,
        ApiKey::OffsetForLeaderEpoch => OFFSET_FOR_LEADER_EPOCH,
        ApiKey::CreatePartitions => CREATE_PARTITIONS,
        ApiKey::FindCoordinator => FIND_COORDINATOR,
        ApiKey::JoinGroup => JOIN_GROUP,
        ApiKey::SyncGroup => SYNC_GROUP,
        ApiKey::LeaveGroup => LEAVE_GROUP,
        ApiKey::OffsetCommit => OFFSET_COMMIT,
        ApiKey::OffsetFetch => OFFSET_FETCH,
        ApiKey::ListGroups => LIST_GROUPS,
        ApiKey::DescribeGroups => DESCRIBE_GROUPS,
        ApiKey::DeleteGroups => DELETE_GROUPS,
        ApiKey::OffsetDelete => OFFSET_DELETE,
        ApiKey::AddPartitionsToTxn => ADD_PARTITIONS_TO_TXN,
        ApiKey::TxnOffsetCommit => TXN_OFFSET_COMMIT,
        ApiKey::DescribeConfigs => DESCRIBE_CONFIGS,
        ApiKey::DeleteRecords => DELETE_RECORDS,
        ApiKey::IncrementalAlterConfigs => INCREMENTAL_ALTER_CONFIGS,
        ApiKey::AlterConfigs => ALTER_CONFIGS,
        ApiKey::CreateAcls => CREATE_ACLS,
        ApiKey::DescribeLogDirs => DESCRIBE_LOG_DIRS,
        ApiKey::DeleteAcls => DELETE_ACLS,
        ApiKey::DescribeUserScramCredentials => DESCRIBE_USER_SCRAM,
        ApiKey::AlterUserScramCredentials => ALTER_USER_SCRAM,
        ApiKey::UpdateFeatures => UPDATE_FEATURES,
        ApiKey::ElectLeaders => ELECT_LEADERS,
        ApiKey::AlterPartitionReassignments => ALTER_PARTITION_REASSIGNMENTS,
        ApiKey::ListPartitionReassignments => LIST_PARTITION_REASSIGNMENTS,
        ApiKey::DescribeClientQuotas => DESCRIBE_CLIENT_QUOTAS,
        ApiKey::AlterClientQuotas => ALTER_CLIENT_QUOTAS,
        ApiKey::DescribeProducers => DESCRIBE_PRODUCERS,
        ApiKey::DescribeTransactions => DESCRIBE_TRANSACTIONS,
        ApiKey::ListTransactions => LIST_TRANSACTIONS,
        ApiKey::WriteTxnMarkers => WRITE_TXN_MARKERS,
        ApiKey::ApiVersions
        | ApiKey::Heartbeat
        | ApiKey::InitProducerId
        | ApiKey::AddOffsetsToTxn
        | ApiKey::EndTxn
        | ApiKey::DescribeCluster
        | ApiKey::DescribeAcls => NO_ARRAYS,
        _ => return None,
    })
}

/// Whether a request body (after its header) has a believable shape for
/// `key`/`version`: every array count within what the body holds. APIs
/// without a request schema are refused.
pub fn check_request(key: ApiKey, version: i16, body: &[u8]) -> bool {
    match request_schema(key) {
        None => false,
        Some(f) if std::ptr::eq(f, NO_ARRAYS) => true,
        Some(f) => walk(f, version, flexible(key, version), body).is_ok(),
    }
}
