//! A shape check run on every request body before the generic decoder.
//!
//! `kafka-protocol` reserves a `Vec` for an array from the count on the wire
//! before reading any element, so a 16-byte frame declaring four billion
//! elements makes it ask for hundreds of gigabytes and the process aborts.
//! This module walks each served request by its schema (written here from
//! the Kafka message specs: field order, version ranges, flexible
//! encodings) and refuses a body whose array counts exceed the elements
//! actually present. Strings and byte fields need no check: the decoder
//! bounds them by the bytes left. Tagged fields are skipped by their size.
//!
//! Every API the broker serves must be listed in [`schema`]; a unit test
//! checks it and round-trips encoded requests of every version through the
//! walker.

use kafka_protocol::messages::ApiKey;

/// What a field is on the wire (in both the classic and flexible forms).
#[derive(Debug, Clone, Copy)]
enum K {
    /// Fixed-size scalar(s) of this many bytes.
    Fixed(usize),
    /// (Nullable, compact) string.
    Str,
    /// (Nullable, compact) bytes.
    Bytes,
    /// (Nullable, compact) array of structs.
    Arr(&'static [F]),
    /// (Nullable, compact) array of fixed-size scalars.
    ArrOf(usize),
    /// (Nullable, compact) array of strings.
    ArrStr,
}

/// A field present in versions `.0..=.1`.
#[derive(Debug, Clone, Copy)]
struct F(i16, i16, K);

const ALL: i16 = i16::MAX;
use K::*;

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

/// The schema of a request body; `Some(&[])`-like empty schemas are not
/// used: APIs without arrays map to `NO_ARRAYS` and are not walked.
fn schema(key: ApiKey) -> Option<&'static [F]> {
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
        // Bodies without arrays: nothing to bound.
        ApiKey::ApiVersions
        | ApiKey::Heartbeat
        | ApiKey::InitProducerId
        | ApiKey::AddOffsetsToTxn
        | ApiKey::EndTxn
        | ApiKey::DescribeCluster => NO_ARRAYS,
        _ => return None,
    })
}

/// Marker schema of bodies without arrays.
const NO_ARRAYS: &[F] = &[];

/// Whether `body` (after the request header) has a believable shape for
/// `key`/`version`: every array count within what the body holds. APIs the
/// walker has no schema for are refused.
pub(crate) fn check(key: ApiKey, version: i16, body: &[u8]) -> bool {
    let Some(fields) = schema(key) else {
        return false;
    };
    if std::ptr::eq(fields, NO_ARRAYS) {
        return true;
    }
    let flexible = key.request_header_version(version) >= 2;
    let mut w = Walker {
        buf: body,
        flexible,
        version,
    };
    w.fields(fields).is_some()
}

struct Walker<'a> {
    buf: &'a [u8],
    flexible: bool,
    version: i16,
}

impl Walker<'_> {
    fn skip(&mut self, n: usize) -> Option<()> {
        self.buf = self.buf.get(n..)?;
        Some(())
    }
    fn int(&mut self, n: usize) -> Option<i64> {
        let b = self.buf.get(..n)?;
        let v = b.iter().fold(0i64, |acc, x| (acc << 8) | i64::from(*x));
        self.buf = &self.buf[n..];
        // Sign-extend 2- and 4-byte lengths.
        Some(match n {
            2 => i64::from(v as u16 as i16),
            4 => i64::from(v as u32 as i32),
            _ => v,
        })
    }
    fn uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..5 {
            let b = *self.buf.first()?;
            self.buf = &self.buf[1..];
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    /// A length or count: `None` on a malformed one, `Some(None)` for null.
    fn len(&mut self, classic_width: usize) -> Option<Option<usize>> {
        let n = if self.flexible {
            self.uvarint()? as i64 - 1
        } else {
            self.int(classic_width)?
        };
        if n < 0 {
            return Some(None);
        }
        Some(Some(usize::try_from(n).ok()?))
    }
    fn tagged(&mut self) -> Option<()> {
        if !self.flexible {
            return Some(());
        }
        let n = self.uvarint()?;
        if n > self.buf.len() as u64 {
            return None;
        }
        for _ in 0..n {
            self.uvarint()?;
            let size = usize::try_from(self.uvarint()?).ok()?;
            self.skip(size)?;
        }
        Some(())
    }
    fn fields(&mut self, fields: &[F]) -> Option<()> {
        for F(lo, hi, kind) in fields {
            if self.version < *lo || self.version > *hi {
                continue;
            }
            match *kind {
                Fixed(n) => self.skip(n)?,
                Str => {
                    if let Some(n) = self.len(2)? {
                        self.skip(n)?;
                    }
                }
                Bytes => {
                    if let Some(n) = self.len(4)? {
                        self.skip(n)?;
                    }
                }
                ArrOf(width) => {
                    if let Some(n) = self.len(4)? {
                        self.skip(n.checked_mul(width)?)?;
                    }
                }
                ArrStr => {
                    if let Some(n) = self.len(4)? {
                        if n > self.buf.len() {
                            return None;
                        }
                        for _ in 0..n {
                            if let Some(l) = self.len(2)? {
                                self.skip(l)?;
                            }
                        }
                    }
                }
                Arr(inner) => {
                    if let Some(n) = self.len(4)? {
                        // Every element takes at least one byte.
                        if n > self.buf.len() {
                            return None;
                        }
                        for _ in 0..n {
                            self.fields(inner)?;
                        }
                    }
                }
            }
        }
        self.tagged()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes as B;
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::StrBytes;

    fn s(x: &'static str) -> StrBytes {
        StrBytes::from_static_str(x)
    }
    fn t(x: &'static str) -> TopicName {
        TopicName(s(x))
    }

    /// A request of `key` with every array at `version` holding elements.
    fn populated(key: ApiKey, v: i16) -> Option<RequestKind> {
        use RequestKind as R;
        Some(match key {
            ApiKey::Produce => R::Produce(ProduceRequest::default().with_topic_data(vec![{
                let td = produce_request::TopicProduceData::default().with_partition_data(vec![
                    produce_request::PartitionProduceData::default()
                        .with_index(1)
                        .with_records(Some(B::from_static(b"abc"))),
                    produce_request::PartitionProduceData::default().with_records(None),
                ]);
                if v >= 13 {
                    td.with_topic_id(uuid::Uuid::from_u128(5))
                } else {
                    td.with_name(t("a"))
                }
            }])),
            ApiKey::Fetch => R::Fetch(
                FetchRequest::default()
                    .with_topics(vec![{
                        let ft = fetch_request::FetchTopic::default()
                            .with_partitions(vec![fetch_request::FetchPartition::default(); 2]);
                        if v >= 13 {
                            ft.with_topic_id(uuid::Uuid::from_u128(5))
                        } else {
                            ft.with_topic(t("x"))
                        }
                    }])
                    .with_forgotten_topics_data(if v >= 7 {
                        let f =
                            fetch_request::ForgottenTopic::default().with_partitions(vec![1, 2, 3]);
                        vec![if v >= 13 {
                            f.with_topic_id(uuid::Uuid::from_u128(5))
                        } else {
                            f.with_topic(t("y"))
                        }]
                    } else {
                        vec![]
                    })
                    .with_rack_id(if v >= 11 { s("r") } else { s("") }),
            ),
            ApiKey::ListOffsets => R::ListOffsets(ListOffsetsRequest::default().with_topics(vec![
                    list_offsets_request::ListOffsetsTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![
                            list_offsets_request::ListOffsetsPartition::default();
                            2
                        ]),
                ])),
            ApiKey::Metadata => R::Metadata(MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(t("a"))),
                metadata_request::MetadataRequestTopic::default().with_name(Some(t("bb"))),
            ]))),
            ApiKey::CreateTopics => {
                R::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
                    create_topics_request::CreatableTopic::default()
                        .with_name(t("a"))
                        .with_assignments(vec![
                            create_topics_request::CreatableReplicaAssignment::default()
                                .with_broker_ids(vec![BrokerId(1), BrokerId(2)]),
                        ])
                        .with_configs(vec![create_topics_request::CreatableTopicConfig::default()
                            .with_name(s("k"))
                            .with_value(Some(s("v")))]),
                ]))
            }
            ApiKey::DeleteTopics => R::DeleteTopics(if v >= 6 {
                DeleteTopicsRequest::default().with_topics(vec![
                    delete_topics_request::DeleteTopicState::default().with_name(Some(t("a"))),
                ])
            } else {
                DeleteTopicsRequest::default().with_topic_names(vec![t("a"), t("b")])
            }),
            ApiKey::OffsetForLeaderEpoch => {
                R::OffsetForLeaderEpoch(OffsetForLeaderEpochRequest::default().with_topics(vec![
                    offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                        .with_topic(t("a"))
                        .with_partitions(
                            vec![
                                offset_for_leader_epoch_request::OffsetForLeaderPartition::default(
                                );
                                2
                            ],
                        ),
                ]))
            }
            ApiKey::CreatePartitions => {
                R::CreatePartitions(CreatePartitionsRequest::default().with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(t("a"))
                        .with_assignments(Some(vec![
                            create_partitions_request::CreatePartitionsAssignment::default()
                                .with_broker_ids(vec![BrokerId(1)]),
                        ])),
                ]))
            }
            ApiKey::FindCoordinator => R::FindCoordinator(if v >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1"), s("g2")])
            } else {
                FindCoordinatorRequest::default().with_key(s("g"))
            }),
            ApiKey::JoinGroup => R::JoinGroup(
                JoinGroupRequest::default()
                    .with_group_id(GroupId(s("g")))
                    .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                    )
                    .with_name(s("range"))
                    .with_metadata(B::from_static(b"m"))]),
            ),
            ApiKey::SyncGroup => R::SyncGroup(SyncGroupRequest::default().with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s("m"))
                        .with_assignment(B::from_static(b"x")),
                ])),
            ApiKey::LeaveGroup => R::LeaveGroup(if v >= 3 {
                LeaveGroupRequest::default().with_members(vec![
                    leave_group_request::MemberIdentity::default().with_member_id(s("m")),
                ])
            } else {
                LeaveGroupRequest::default().with_member_id(s("m"))
            }),
            ApiKey::OffsetCommit => {
                R::OffsetCommit(OffsetCommitRequest::default().with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default()
                                .with_committed_metadata(Some(s("md"))),
                        ]),
                ]))
            }
            ApiKey::OffsetFetch => R::OffsetFetch(if v >= 8 {
                OffsetFetchRequest::default().with_groups(vec![
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(s("g")))
                        .with_topics(Some(vec![
                            offset_fetch_request::OffsetFetchRequestTopics::default()
                                .with_name(t("a"))
                                .with_partition_indexes(vec![0, 1]),
                        ])),
                ])
            } else {
                OffsetFetchRequest::default().with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(t("a"))
                        .with_partition_indexes(vec![0, 1]),
                ]))
            }),
            ApiKey::ListGroups => R::ListGroups(
                ListGroupsRequest::default()
                    .with_states_filter(if v >= 4 { vec![s("Stable")] } else { vec![] })
                    .with_types_filter(if v >= 5 { vec![s("classic")] } else { vec![] }),
            ),
            ApiKey::DescribeGroups => R::DescribeGroups(
                DescribeGroupsRequest::default().with_groups(vec![GroupId(s("g"))]),
            ),
            ApiKey::DeleteGroups => R::DeleteGroups(
                DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s("g"))]),
            ),
            ApiKey::OffsetDelete => {
                R::OffsetDelete(OffsetDeleteRequest::default().with_topics(vec![
                    offset_delete_request::OffsetDeleteRequestTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![
                            offset_delete_request::OffsetDeleteRequestPartition::default(),
                        ]),
                ]))
            }
            ApiKey::AddPartitionsToTxn => R::AddPartitionsToTxn({
                let topics = vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![0, 1]),
                ];
                if v >= 4 {
                    AddPartitionsToTxnRequest::default().with_transactions(vec![
                        add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                            .with_topics(topics),
                    ])
                } else {
                    AddPartitionsToTxnRequest::default().with_v3_and_below_topics(topics)
                }
            }),
            ApiKey::TxnOffsetCommit => {
                R::TxnOffsetCommit(TxnOffsetCommitRequest::default().with_topics(vec![
                    txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![
                            txn_offset_commit_request::TxnOffsetCommitRequestPartition::default(),
                        ]),
                ]))
            }
            ApiKey::DescribeConfigs => {
                R::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![
                describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s("a"))
                    .with_configuration_keys(Some(vec![s("retention.ms"), s("x")])),
            ]))
            }
            ApiKey::DeleteRecords => {
                R::DeleteRecords(DeleteRecordsRequest::default().with_topics(vec![
                    delete_records_request::DeleteRecordsTopic::default()
                        .with_name(t("a"))
                        .with_partitions(
                            vec![delete_records_request::DeleteRecordsPartition::default(); 2],
                        ),
                ]))
            }
            _ => return None,
        })
    }

    #[test]
    fn every_served_api_has_a_schema_that_matches_the_encoder() {
        let mut served = crate::api::served();
        served.extend(crate::coordinator::api_versions());
        for (key, lo, hi) in served {
            assert!(
                schema(key).is_some(),
                "{key:?} is served but has no shape schema in guard.rs"
            );
            for v in lo..=hi {
                let Some(req) = populated(key, v) else {
                    assert!(
                        std::ptr::eq(schema(key).unwrap(), NO_ARRAYS),
                        "{key:?}: add a populated request"
                    );
                    continue;
                };
                let mut buf = bytes::BytesMut::new();
                req.encode(&mut buf, v)
                    .unwrap_or_else(|e| panic!("{key:?} v{v}: {e}"));
                let flexible = key.request_header_version(v) >= 2;
                let mut w = Walker {
                    buf: &buf,
                    flexible,
                    version: v,
                };
                assert!(
                    w.fields(schema(key).unwrap()).is_some(),
                    "{key:?} v{v}: walker refused a valid body"
                );
                assert!(
                    w.buf.is_empty(),
                    "{key:?} v{v}: walker left {} bytes",
                    w.buf.len()
                );
                // Any truncation inside an array is refused, never accepted wrongly.
                for cut in 0..buf.len() {
                    let _ = check(key, v, &buf[..cut]);
                }
            }
        }
    }

    #[test]
    fn mutated_valid_requests_never_panic_the_broker() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut served = crate::api::served();
        served.extend(crate::coordinator::api_versions());
        for (key, lo, hi) in served {
            for v in lo..=hi {
                let Some(req) = populated(key, v) else {
                    continue;
                };
                let mut header = RequestHeader::default();
                header.request_api_key = key as i16;
                header.request_api_version = v;
                let mut buf = bytes::BytesMut::new();
                kafka_protocol::protocol::Encodable::encode(
                    &header,
                    &mut buf,
                    key.request_header_version(v),
                )
                .unwrap();
                req.encode(&mut buf, v).unwrap();
                crate::fuzz_handle_frame(&buf);
                for _ in 0..8 {
                    let mut m = buf.to_vec();
                    for _ in 0..1 + next() % 3 {
                        let i = 8 + (next() as usize) % (m.len() - 8).max(1);
                        if i < m.len() {
                            m[i] = next() as u8;
                        }
                    }
                    crate::fuzz_handle_frame(&m);
                }
            }
        }
    }

    #[test]
    fn lying_array_counts_are_refused() {
        // Metadata v12: compact array of 2^32-2 topics, nothing behind it.
        assert!(!check(
            ApiKey::Metadata,
            12,
            &[0xff, 0xff, 0xff, 0xff, 0x0f]
        ));
        // Metadata v1: classic array of 2^31-1 topics.
        assert!(!check(ApiKey::Metadata, 1, &[0x7f, 0xff, 0xff, 0xff]));
        // A null array is fine.
        assert!(check(ApiKey::Metadata, 1, &[0xff, 0xff, 0xff, 0xff]));
        assert!(!check(ApiKey::SaslHandshake, 0, &[]), "no schema: refused");
    }
}
