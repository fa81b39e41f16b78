//! Schemas of the admin responses: topics, partitions, records, configs,
//! ACLs, log dirs, leader elections, reassignments, quotas, SCRAM
//! credentials and the cluster description.

use crate::walker::{ALL, F, K::*};
use kafka_protocol::messages::ApiKey;

const R_CREATABLE_TOPIC_CONFIG: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(3))];
const R_CREATABLE_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(7, ALL, Fixed(16)),
    F(0, ALL, Fixed(2)),
    F(1, ALL, Str),
    F(5, ALL, Fixed(6)),
    F(5, ALL, Arr(R_CREATABLE_TOPIC_CONFIG)),
    F(5, ALL, Tagged(0, &Fixed(2))),
];
const R_CREATE_TOPICS: &[F] = &[F(2, ALL, Fixed(4)), F(0, ALL, Arr(R_CREATABLE_TOPIC))];
const R_DELETABLE_TOPIC: &[F] = &[
    F(0, ALL, Str),
    F(6, ALL, Fixed(16)),
    F(0, ALL, Fixed(2)),
    F(5, ALL, Str),
];
const R_DELETE_TOPICS: &[F] = &[F(1, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETABLE_TOPIC))];
const R_DELETE_RECORDS_PART: &[F] = &[F(0, ALL, Fixed(14))];
const R_DELETE_RECORDS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_DELETE_RECORDS_PART))];
const R_DELETE_RECORDS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETE_RECORDS_TOPIC))];
const R_CREATE_PARTITIONS_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_CREATE_PARTITIONS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_CREATE_PARTITIONS_TOPIC)),
];
const R_CONFIG_SYNONYM: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(1))];
const R_CONFIG_ENTRY: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(1, ALL, Fixed(1)),
    F(0, 0, Fixed(1)),
    F(0, ALL, Fixed(1)),
    F(1, ALL, Arr(R_CONFIG_SYNONYM)),
    F(3, ALL, Fixed(1)),
    F(3, ALL, Str),
];
const R_DESCRIBE_CONFIGS_RESULT: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_CONFIG_ENTRY)),
];
const R_DESCRIBE_CONFIGS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_DESCRIBE_CONFIGS_RESULT)),
];
const R_ACL_DESCRIPTION: &[F] = &[F(0, ALL, Str), F(0, ALL, Str), F(0, ALL, Fixed(2))];
const R_ACL_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Arr(R_ACL_DESCRIPTION)),
];
const R_DESCRIBE_ACLS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_ACL_RESOURCE)),
];
const R_ERROR_AND_MESSAGE: &[F] = &[F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_CREATE_ACLS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_ERROR_AND_MESSAGE))];
const R_MATCHING_ACL: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
];
const R_DELETE_ACLS_FILTER: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_MATCHING_ACL)),
];
const R_DELETE_ACLS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_DELETE_ACLS_FILTER))];
const R_ALTER_CONFIGS_RESOURCE: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(1)),
    F(0, ALL, Str),
];
const R_ALTER_CONFIGS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_ALTER_CONFIGS_RESOURCE)),
];
const R_LOG_DIR_PART: &[F] = &[F(0, ALL, Fixed(21))];
const R_LOG_DIR_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_LOG_DIR_PART))];
const R_LOG_DIR: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_LOG_DIR_TOPIC)),
    F(4, ALL, Fixed(16)),
];
const R_DESCRIBE_LOG_DIRS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(3, ALL, Fixed(2)),
    F(0, ALL, Arr(R_LOG_DIR)),
];
const R_ELECTION_PART: &[F] = &[F(0, ALL, Fixed(6)), F(0, ALL, Str)];
const R_ELECTION_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ELECTION_PART))];
const R_ELECT_LEADERS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(2)),
    F(0, ALL, Arr(R_ELECTION_TOPIC)),
];
const R_REASSIGNABLE_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ELECTION_PART))];
const R_ALTER_PARTITION_REASSIGNMENTS: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_REASSIGNABLE_TOPIC)),
];
const R_ONGOING_PART: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, ArrOf(4)),
    F(0, ALL, ArrOf(4)),
    F(0, ALL, ArrOf(4)),
];
const R_ONGOING_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_ONGOING_PART))];
const R_LIST_PARTITION_REASSIGNMENTS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_ONGOING_TOPIC)),
];
const R_QUOTA_ENTITY: &[F] = &[F(0, ALL, Str), F(0, ALL, Str)];
const R_QUOTA_VALUE: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(8))];
const R_QUOTA_ENTRY: &[F] = &[
    F(0, ALL, Arr(R_QUOTA_ENTITY)),
    F(0, ALL, Arr(R_QUOTA_VALUE)),
];
const R_DESCRIBE_CLIENT_QUOTAS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_QUOTA_ENTRY)),
];
const R_ALTERED_QUOTA: &[F] = &[
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_QUOTA_ENTITY)),
];
const R_ALTER_CLIENT_QUOTAS: &[F] = &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_ALTERED_QUOTA))];
const R_SCRAM_CREDENTIAL: &[F] = &[F(0, ALL, Fixed(5))];
const R_SCRAM_USER: &[F] = &[
    F(0, ALL, Str),
    F(0, ALL, Fixed(2)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_SCRAM_CREDENTIAL)),
];
const R_DESCRIBE_USER_SCRAM_CREDENTIALS: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, ALL, Arr(R_SCRAM_USER)),
];
const R_ALTERED_SCRAM_USER: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_ALTER_USER_SCRAM_CREDENTIALS: &[F] =
    &[F(0, ALL, Fixed(4)), F(0, ALL, Arr(R_ALTERED_SCRAM_USER))];
const R_CLUSTER_BROKER: &[F] = &[
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Str),
    F(2, ALL, Fixed(1)),
];
const R_DESCRIBE_CLUSTER: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(1, ALL, Fixed(1)),
    F(0, ALL, Str),
    F(0, ALL, Fixed(4)),
    F(0, ALL, Arr(R_CLUSTER_BROKER)),
    F(0, ALL, Fixed(4)),
];

const R_FEATURE_RESULT: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_UPDATE_FEATURES: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, 1, Arr(R_FEATURE_RESULT)),
];

/// The schema of a response of this family; `None` for other APIs.
pub(super) fn schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::CreateTopics => R_CREATE_TOPICS,
        ApiKey::DeleteTopics => R_DELETE_TOPICS,
        ApiKey::DeleteRecords => R_DELETE_RECORDS,
        ApiKey::CreatePartitions => R_CREATE_PARTITIONS,
        ApiKey::DescribeConfigs => R_DESCRIBE_CONFIGS,
        ApiKey::DescribeAcls => R_DESCRIBE_ACLS,
        ApiKey::CreateAcls => R_CREATE_ACLS,
        ApiKey::DeleteAcls => R_DELETE_ACLS,
        ApiKey::AlterConfigs => R_ALTER_CONFIGS,
        ApiKey::IncrementalAlterConfigs => R_ALTER_CONFIGS,
        ApiKey::DescribeLogDirs => R_DESCRIBE_LOG_DIRS,
        ApiKey::ElectLeaders => R_ELECT_LEADERS,
        ApiKey::AlterPartitionReassignments => R_ALTER_PARTITION_REASSIGNMENTS,
        ApiKey::ListPartitionReassignments => R_LIST_PARTITION_REASSIGNMENTS,
        ApiKey::DescribeClientQuotas => R_DESCRIBE_CLIENT_QUOTAS,
        ApiKey::AlterClientQuotas => R_ALTER_CLIENT_QUOTAS,
        ApiKey::DescribeUserScramCredentials => R_DESCRIBE_USER_SCRAM_CREDENTIALS,
        ApiKey::AlterUserScramCredentials => R_ALTER_USER_SCRAM_CREDENTIALS,
        ApiKey::DescribeCluster => R_DESCRIBE_CLUSTER,
        ApiKey::UpdateFeatures => R_UPDATE_FEATURES,
        _ => return None,
    })
}
