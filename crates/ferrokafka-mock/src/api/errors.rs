//! Answers built for injected errors: the request is not applied and the
//! queued error code is put in every slot a client reads (top level, each
//! topic, partition or group), the way a broker failing the whole request
//! would answer.

use kafka_protocol::messages::*;

use super::str_bytes;

/// The error answer to `request` carrying `code`; `None` for an API this
/// module does not know how to fail (the connection is then closed).
pub(crate) fn error_response(
    request: &RequestKind,
    version: i16,
    code: i16,
) -> Option<ResponseKind> {
    use RequestKind as Q;
    use ResponseKind as A;
    Some(match request {
        Q::Produce(r) => A::Produce(ProduceResponse::default().with_responses(
            r.topic_data
                .iter()
                .map(|t| {
                    produce_response::TopicProduceResponse::default().with_name(t.name.clone()).with_partition_responses(
                        t.partition_data
                            .iter()
                            .map(|p| {
                                produce_response::PartitionProduceResponse::default()
                                    .with_index(p.index)
                                    .with_error_code(code)
                                    .with_base_offset(-1)
                                    .with_log_append_time_ms(-1)
                                    .with_log_start_offset(-1)
                            })
                            .collect(),
                    )
                })
                .collect(),
        )),
        Q::Fetch(r) => A::Fetch(
            FetchResponse::default().with_error_code(if version >= 7 { code } else { 0 }).with_responses(
                r.topics
                    .iter()
                    .map(|t| {
                        let tr = fetch_response::FetchableTopicResponse::default();
                        let tr = if version >= 13 { tr.with_topic_id(t.topic_id) } else { tr.with_topic(t.topic.clone()) };
                        tr.with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    fetch_response::PartitionData::default()
                                        .with_partition_index(p.partition)
                                        .with_error_code(code)
                                        .with_high_watermark(-1)
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        ),
        Q::ListOffsets(r) => A::ListOffsets(
            ListOffsetsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        list_offsets_response::ListOffsetsTopicResponse::default().with_name(t.name.clone()).with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    list_offsets_response::ListOffsetsPartitionResponse::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(code)
                                        .with_offset(-1)
                                        .with_timestamp(-1)
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        ),
        Q::Metadata(r) => A::Metadata(
            MetadataResponse::default().with_topics(
                r.topics
                    .iter()
                    .flatten()
                    .map(|t| {
                        metadata_response::MetadataResponseTopic::default()
                            .with_name(t.name.clone())
                            .with_topic_id(if version >= 10 { t.topic_id } else { Default::default() })
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        Q::OffsetForLeaderEpoch(r) => A::OffsetForLeaderEpoch(
            OffsetForLeaderEpochResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        offset_for_leader_epoch_response::OffsetForLeaderTopicResult::default()
                            .with_topic(t.topic.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        offset_for_leader_epoch_response::EpochEndOffset::default()
                                            .with_partition(p.partition)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        Q::CreateTopics(r) => A::CreateTopics(
            CreateTopicsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        create_topics_response::CreatableTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(code)
                            .with_error_message(Some(str_bytes("injected error")))
                    })
                    .collect(),
            ),
        ),
        Q::DeleteTopics(r) => A::DeleteTopics(
            DeleteTopicsResponse::default().with_responses(if version >= 6 {
                r.topics
                    .iter()
                    .map(|t| {
                        delete_topics_response::DeletableTopicResult::default()
                            .with_name(t.name.clone())
                            .with_topic_id(t.topic_id)
                            .with_error_code(code)
                    })
                    .collect()
            } else {
                r.topic_names
                    .iter()
                    .map(|n| delete_topics_response::DeletableTopicResult::default().with_name(Some(n.clone())).with_error_code(code))
                    .collect()
            }),
        ),
        Q::CreatePartitions(r) => A::CreatePartitions(
            CreatePartitionsResponse::default().with_results(
                r.topics
                    .iter()
                    .map(|t| {
                        create_partitions_response::CreatePartitionsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        Q::DescribeConfigs(r) => A::DescribeConfigs(
            DescribeConfigsResponse::default().with_results(
                r.resources
                    .iter()
                    .map(|x| {
                        describe_configs_response::DescribeConfigsResult::default()
                            .with_resource_type(x.resource_type)
                            .with_resource_name(x.resource_name.clone())
                            .with_error_code(code)
                    })
                    .collect(),
            ),
        ),
        Q::DeleteRecords(r) => A::DeleteRecords(
            DeleteRecordsResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        delete_records_response::DeleteRecordsTopicResult::default()
                            .with_name(t.name.clone())
                            .with_partitions(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        delete_records_response::DeleteRecordsPartitionResult::default()
                                            .with_partition_index(p.partition_index)
                                            .with_low_watermark(-1)
                                            .with_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            ),
        ),
        Q::DescribeCluster(_) => A::DescribeCluster(DescribeClusterResponse::default().with_error_code(code)),
        Q::ApiVersions(_) => A::ApiVersions(ApiVersionsResponse::default().with_error_code(code)),
        Q::FindCoordinator(r) => A::FindCoordinator(if version >= 4 {
            FindCoordinatorResponse::default().with_coordinators(
                r.coordinator_keys
                    .iter()
                    .map(|k| {
                        find_coordinator_response::Coordinator::default()
                            .with_key(k.clone())
                            .with_node_id(BrokerId(-1))
                            .with_port(-1)
                            .with_error_code(code)
                    })
                    .collect(),
            )
        } else {
            FindCoordinatorResponse::default().with_error_code(code).with_node_id(BrokerId(-1)).with_port(-1)
        }),
        Q::InitProducerId(_) => {
            A::InitProducerId(InitProducerIdResponse::default().with_error_code(code).with_producer_id(ProducerId(-1)).with_producer_epoch(-1))
        }
        Q::JoinGroup(_) => A::JoinGroup(JoinGroupResponse::default().with_error_code(code).with_generation_id(-1)),
        Q::SyncGroup(_) => A::SyncGroup(SyncGroupResponse::default().with_error_code(code)),
        Q::Heartbeat(_) => A::Heartbeat(HeartbeatResponse::default().with_error_code(code)),
        Q::LeaveGroup(_) => A::LeaveGroup(LeaveGroupResponse::default().with_error_code(code)),
        Q::ListGroups(_) => A::ListGroups(ListGroupsResponse::default().with_error_code(code)),
        Q::AddOffsetsToTxn(_) => A::AddOffsetsToTxn(AddOffsetsToTxnResponse::default().with_error_code(code)),
        Q::EndTxn(_) => A::EndTxn(EndTxnResponse::default().with_error_code(code)),
        Q::DescribeGroups(r) => A::DescribeGroups(
            DescribeGroupsResponse::default().with_groups(
                r.groups
                    .iter()
                    .map(|g| describe_groups_response::DescribedGroup::default().with_group_id(g.clone()).with_error_code(code))
                    .collect(),
            ),
        ),
        Q::OffsetCommit(r) => A::OffsetCommit(
            OffsetCommitResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        offset_commit_response::OffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    offset_commit_response::OffsetCommitResponsePartition::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        ),
        Q::TxnOffsetCommit(r) => A::TxnOffsetCommit(
            TxnOffsetCommitResponse::default().with_topics(
                r.topics
                    .iter()
                    .map(|t| {
                        txn_offset_commit_response::TxnOffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(
                            t.partitions
                                .iter()
                                .map(|p| {
                                    txn_offset_commit_response::TxnOffsetCommitResponsePartition::default()
                                        .with_partition_index(p.partition_index)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        ),
        Q::AddPartitionsToTxn(r) => {
            let topics = |ts: &Vec<add_partitions_to_txn_request::AddPartitionsToTxnTopic>| {
                ts.iter()
                    .map(|t| {
                        add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default()
                            .with_name(t.name.clone())
                            .with_results_by_partition(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default()
                                            .with_partition_index(*p)
                                            .with_partition_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect::<Vec<_>>()
            };
            A::AddPartitionsToTxn(if version >= 4 {
                AddPartitionsToTxnResponse::default().with_error_code(code).with_results_by_transaction(
                    r.transactions
                        .iter()
                        .map(|t| {
                            add_partitions_to_txn_response::AddPartitionsToTxnResult::default()
                                .with_transactional_id(t.transactional_id.clone())
                                .with_topic_results(topics(&t.topics))
                        })
                        .collect(),
                )
            } else {
                AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics(&r.v3_and_below_topics))
            })
        }
        Q::OffsetFetch(r) => A::OffsetFetch(if version >= 8 {
            OffsetFetchResponse::default().with_groups(
                r.groups
                    .iter()
                    .map(|g| offset_fetch_response::OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone()).with_error_code(code))
                    .collect(),
            )
        } else {
            OffsetFetchResponse::default().with_error_code(code)
        }),
        _ => return None,
    })
}
