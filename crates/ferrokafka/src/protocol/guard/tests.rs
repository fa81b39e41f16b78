//! The response schemas against what `kafka-protocol` encodes at every
//! version the client speaks, and lying counts against the guard.

use super::*;
use crate::protocol::codes;
use crate::protocol::versions::SUPPORTED;
use bytes::Bytes as B;
use ferrokafka_wire::{flexible, response_schema, walk, walk_fields, F, K::*, NO_ARRAYS};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use proptest::prelude::*;

fn s(x: &'static str) -> StrBytes {
    StrBytes::from_static_str(x)
}
fn t(x: &'static str) -> TopicName {
    TopicName(s(x))
}
fn enc<M: Encodable>(m: M, v: i16) -> Vec<u8> {
    let mut b = bytes::BytesMut::new();
    m.encode(&mut b, v)
        .unwrap_or_else(|e| panic!("{} v{v}: {e}", std::any::type_name::<M>()));
    b.to_vec()
}

/// A response of `key` encoded at `v` with every array (and every
/// tagged field the decoder knows) holding something.
fn populated(key: ApiKey, v: i16) -> Option<Vec<u8>> {
    Some(match key {
        ApiKey::Produce => {
            use produce_response::*;
            let part = PartitionProduceResponse::default()
                .with_index(1)
                .with_record_errors(vec![
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index_error_message(Some(s("bad")));
                    2
                ])
                .with_error_message(Some(s("e")));
            let part = if v >= 10 {
                part.with_current_leader(LeaderIdAndEpoch::default().with_leader_id(BrokerId(3)))
            } else {
                part
            };
            let r = ProduceResponse::default()
                .with_responses(vec![TopicProduceResponse::default()
                    .with_name(t("a"))
                    .with_partition_responses(vec![part.clone(), part])]);
            let r = if v >= 10 {
                r.with_node_endpoints(vec![NodeEndpoint::default()
                    .with_node_id(BrokerId(3))
                    .with_host(s("h"))
                    .with_rack(Some(s("r")))])
            } else {
                r
            };
            enc(r, v)
        }
        ApiKey::Fetch => {
            use fetch_response::*;
            let part = PartitionData::default()
                .with_aborted_transactions(Some(vec![AbortedTransaction::default(); 2]))
                .with_records(Some(B::from_static(b"records")));
            let part = if v >= 12 {
                part.with_diverging_epoch(EpochEndOffset::default().with_epoch(4))
                    .with_current_leader(LeaderIdAndEpoch::default().with_leader_id(BrokerId(2)))
                    .with_snapshot_id(SnapshotId::default().with_epoch(7))
            } else {
                part
            };
            enc(
                FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
                    .with_topic(t("a"))
                    .with_partitions(vec![part.clone(), part.with_records(None)])]),
                v,
            )
        }
        ApiKey::ListOffsets => {
            use list_offsets_response::*;
            enc(
                ListOffsetsResponse::default().with_topics(vec![
                    ListOffsetsTopicResponse::default()
                        .with_name(t("a"))
                        .with_partitions(vec![ListOffsetsPartitionResponse::default(); 3]),
                ]),
                v,
            )
        }
        ApiKey::Metadata => {
            use metadata_response::*;
            enc(
                MetadataResponse::default()
                    .with_brokers(vec![MetadataResponseBroker::default()
                        .with_host(s("h"))
                        .with_rack(Some(s("r")))])
                    .with_cluster_id(Some(s("c")))
                    .with_topics(vec![MetadataResponseTopic::default()
                        .with_name(Some(t("a")))
                        .with_partitions(vec![MetadataResponsePartition::default()
                            .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
                            .with_isr_nodes(vec![BrokerId(1)])
                            .with_offline_replicas(vec![BrokerId(2)])])]),
                v,
            )
        }
        ApiKey::OffsetCommit => {
            use offset_commit_response::*;
            enc(
                OffsetCommitResponse::default().with_topics(vec![
                    OffsetCommitResponseTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![OffsetCommitResponsePartition::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::OffsetFetch => {
            use offset_fetch_response::*;
            let r = if v >= 8 {
                OffsetFetchResponse::default().with_groups(vec![OffsetFetchResponseGroup::default(
                )
                .with_group_id(GroupId(s("g")))
                .with_topics(vec![OffsetFetchResponseTopics::default()
                    .with_name(t("a"))
                    .with_partitions(vec![
                        OffsetFetchResponsePartitions::default().with_metadata(Some(s("m")))
                    ])])])
            } else {
                OffsetFetchResponse::default().with_topics(vec![OffsetFetchResponseTopic::default(
                )
                .with_name(t("a"))
                .with_partitions(vec![
                    OffsetFetchResponsePartition::default()
                        .with_metadata(Some(s("m")));
                    2
                ])])
            };
            enc(r, v)
        }
        ApiKey::OffsetForLeaderEpoch => {
            use offset_for_leader_epoch_response::*;
            enc(
                OffsetForLeaderEpochResponse::default().with_topics(vec![
                    OffsetForLeaderTopicResult::default()
                        .with_topic(t("a"))
                        .with_partitions(vec![EpochEndOffset::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::FindCoordinator => {
            use find_coordinator_response::*;
            enc(
                if v >= 4 {
                    FindCoordinatorResponse::default().with_coordinators(vec![
                        Coordinator::default()
                            .with_key(s("g"))
                            .with_host(s("h"))
                            .with_error_message(Some(s("e"))),
                    ])
                } else {
                    FindCoordinatorResponse::default().with_host(s("h"))
                },
                v,
            )
        }
        ApiKey::JoinGroup => {
            use join_group_response::*;
            enc(
                JoinGroupResponse::default()
                    .with_protocol_name(Some(s("range")))
                    .with_leader(s("l"))
                    .with_member_id(s("m"))
                    .with_members(vec![
                        JoinGroupResponseMember::default()
                            .with_member_id(s("m"))
                            .with_metadata(B::from_static(b"md"));
                        2
                    ]),
                v,
            )
        }
        ApiKey::LeaveGroup => {
            use leave_group_response::*;
            enc(
                if v >= 3 {
                    LeaveGroupResponse::default().with_members(vec![
                        MemberResponse::default()
                            .with_member_id(s("m"));
                        2
                    ])
                } else {
                    LeaveGroupResponse::default()
                },
                v,
            )
        }
        ApiKey::SyncGroup => enc(
            SyncGroupResponse::default().with_assignment(B::from_static(b"as")),
            v,
        ),
        ApiKey::DescribeGroups => {
            use describe_groups_response::*;
            enc(
                DescribeGroupsResponse::default().with_groups(vec![DescribedGroup::default()
                    .with_group_id(GroupId(s("g")))
                    .with_members(vec![
                        DescribedGroupMember::default()
                            .with_member_id(s("m"))
                            .with_member_assignment(B::from_static(b"a"));
                        2
                    ])]),
                v,
            )
        }
        ApiKey::ListGroups => {
            use list_groups_response::*;
            enc(
                ListGroupsResponse::default().with_groups(vec![
                    ListedGroup::default()
                        .with_group_id(GroupId(s("g")));
                    2
                ]),
                v,
            )
        }
        ApiKey::DeleteGroups => {
            use delete_groups_response::*;
            enc(
                DeleteGroupsResponse::default().with_results(vec![
                    DeletableGroupResult::default().with_group_id(GroupId(s("g")))
                ]),
                v,
            )
        }
        ApiKey::AddPartitionsToTxn => {
            use add_partitions_to_txn_response::*;
            let topics = vec![AddPartitionsToTxnTopicResult::default()
                .with_name(t("a"))
                .with_results_by_partition(vec![AddPartitionsToTxnPartitionResult::default(); 2])];
            enc(
                if v >= 4 {
                    AddPartitionsToTxnResponse::default().with_results_by_transaction(vec![
                        AddPartitionsToTxnResult::default().with_topic_results(topics),
                    ])
                } else {
                    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics)
                },
                v,
            )
        }
        ApiKey::TxnOffsetCommit => {
            use txn_offset_commit_response::*;
            enc(
                TxnOffsetCommitResponse::default().with_topics(vec![
                    TxnOffsetCommitResponseTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![TxnOffsetCommitResponsePartition::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::CreateTopics => {
            use create_topics_response::*;
            let topic = CreatableTopicResult::default()
                .with_name(t("a"))
                .with_error_message(Some(s("e")));
            let topic = if v >= 5 {
                topic
                    .with_configs(Some(vec![CreatableTopicConfigs::default()
                        .with_name(s("k"))
                        .with_value(Some(s("v")))]))
                    .with_topic_config_error_code(3)
            } else {
                topic
            };
            enc(
                CreateTopicsResponse::default().with_topics(vec![topic.clone(), topic]),
                v,
            )
        }
        ApiKey::DeleteTopics => {
            use delete_topics_response::*;
            enc(
                DeleteTopicsResponse::default().with_responses(vec![
                    DeletableTopicResult::default()
                        .with_name(Some(t("a")));
                    2
                ]),
                v,
            )
        }
        ApiKey::DeleteRecords => {
            use delete_records_response::*;
            enc(
                DeleteRecordsResponse::default().with_topics(vec![
                    DeleteRecordsTopicResult::default()
                        .with_name(t("a"))
                        .with_partitions(vec![DeleteRecordsPartitionResult::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::CreatePartitions => {
            use create_partitions_response::*;
            enc(
                CreatePartitionsResponse::default().with_results(vec![
                    CreatePartitionsTopicResult::default()
                        .with_name(t("a"))
                        .with_error_message(Some(s("e")));
                    2
                ]),
                v,
            )
        }
        ApiKey::DescribeConfigs => {
            use describe_configs_response::*;
            enc(
                DescribeConfigsResponse::default().with_results(vec![
                    DescribeConfigsResult::default()
                        .with_resource_name(s("a"))
                        .with_configs(vec![DescribeConfigsResourceResult::default()
                            .with_name(s("k"))
                            .with_value(Some(s("v")))
                            .with_synonyms(vec![
                                DescribeConfigsSynonym::default().with_name(s("k"));
                                2
                            ])
                            .with_documentation(if v >= 3 { Some(s("doc")) } else { None })]),
                ]),
                v,
            )
        }
        ApiKey::SaslHandshake => enc(
            SaslHandshakeResponse::default().with_mechanisms(vec![s("PLAIN"), s("SCRAM-SHA-256")]),
            v,
        ),
        ApiKey::ApiVersions => {
            use api_versions_response::*;
            let r = ApiVersionsResponse::default().with_api_keys(vec![
                ApiVersion::default()
                    .with_max_version(3);
                2
            ]);
            enc(
                if v >= 3 {
                    r.with_supported_features(
                        vec![SupportedFeatureKey::default().with_name(s("f"))],
                    )
                    .with_finalized_features_epoch(9)
                    .with_finalized_features(vec![FinalizedFeatureKey::default().with_name(s("f"))])
                    .with_zk_migration_ready(true)
                } else {
                    r
                },
                v,
            )
        }
        ApiKey::DescribeAcls => {
            use describe_acls_response::*;
            let acl = AclDescription::default()
                .with_principal(s("User:a"))
                .with_host(s("*"));
            enc(
                DescribeAclsResponse::default()
                    .with_error_message(Some(s("e")))
                    .with_resources(vec![DescribeAclsResource::default()
                        .with_resource_name(s("t"))
                        .with_acls(vec![acl; 2])]),
                v,
            )
        }
        ApiKey::CreateAcls => {
            use create_acls_response::*;
            enc(
                CreateAclsResponse::default().with_results(vec![
                    AclCreationResult::default()
                        .with_error_message(Some(s(
                            "e"
                        )));
                    2
                ]),
                v,
            )
        }
        ApiKey::DeleteAcls => {
            use delete_acls_response::*;
            enc(
                DeleteAclsResponse::default().with_filter_results(vec![
                    DeleteAclsFilterResult::default().with_matching_acls(vec![
                            DeleteAclsMatchingAcl::default()
                                .with_resource_name(s("t"))
                                .with_principal(s("User:a"))
                                .with_host(s("*"));
                            2
                        ]),
                ]),
                v,
            )
        }
        ApiKey::AlterConfigs => {
            use alter_configs_response::*;
            enc(
                AlterConfigsResponse::default().with_responses(vec![
                    AlterConfigsResourceResponse::default().with_resource_name(s("t"));
                    2
                ]),
                v,
            )
        }
        ApiKey::IncrementalAlterConfigs => {
            use incremental_alter_configs_response::*;
            enc(
                IncrementalAlterConfigsResponse::default().with_responses(vec![
                    AlterConfigsResourceResponse::default().with_resource_name(s("t"));
                    2
                ]),
                v,
            )
        }
        ApiKey::DescribeLogDirs => {
            use describe_log_dirs_response::*;
            enc(
                DescribeLogDirsResponse::default().with_results(vec![
                    DescribeLogDirsResult::default()
                        .with_log_dir(s("/d"))
                        .with_topics(vec![DescribeLogDirsTopic::default()
                            .with_name(t("a"))
                            .with_partitions(vec![DescribeLogDirsPartition::default(); 2])]),
                ]),
                v,
            )
        }
        ApiKey::ElectLeaders => {
            use elect_leaders_response::*;
            enc(
                ElectLeadersResponse::default().with_replica_election_results(vec![
                    ReplicaElectionResult::default()
                        .with_topic(t("a"))
                        .with_partition_result(vec![
                            PartitionResult::default()
                                .with_error_message(Some(s("e")));
                            2
                        ]),
                ]),
                v,
            )
        }
        ApiKey::AlterPartitionReassignments => {
            use alter_partition_reassignments_response::*;
            enc(
                AlterPartitionReassignmentsResponse::default().with_responses(vec![
                    ReassignableTopicResponse::default()
                        .with_name(t("a"))
                        .with_partitions(vec![ReassignablePartitionResponse::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::ListPartitionReassignments => {
            use list_partition_reassignments_response::*;
            enc(
                ListPartitionReassignmentsResponse::default().with_topics(vec![
                    OngoingTopicReassignment::default()
                        .with_name(t("a"))
                        .with_partitions(vec![OngoingPartitionReassignment::default()
                            .with_replicas(vec![BrokerId(1), BrokerId(2)])
                            .with_adding_replicas(vec![BrokerId(3)])
                            .with_removing_replicas(vec![BrokerId(1)])]),
                ]),
                v,
            )
        }
        ApiKey::OffsetDelete => {
            use offset_delete_response::*;
            enc(
                OffsetDeleteResponse::default().with_topics(vec![
                    OffsetDeleteResponseTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![OffsetDeleteResponsePartition::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::DescribeClientQuotas => {
            use describe_client_quotas_response::*;
            enc(
                DescribeClientQuotasResponse::default().with_entries(Some(vec![
                    EntryData::default()
                        .with_entity(vec![EntityData::default()
                            .with_entity_type(s("user"))
                            .with_entity_name(Some(s("a")))])
                        .with_values(vec![
                            ValueData::default().with_key(s("k")).with_value(1.5);
                            2
                        ]),
                ])),
                v,
            )
        }
        ApiKey::AlterClientQuotas => {
            use alter_client_quotas_response::*;
            enc(
                AlterClientQuotasResponse::default().with_entries(vec![EntryData::default()
                    .with_entity(vec![EntityData::default().with_entity_type(s("user")); 2])]),
                v,
            )
        }
        ApiKey::DescribeUserScramCredentials => {
            use describe_user_scram_credentials_response::*;
            enc(
                DescribeUserScramCredentialsResponse::default().with_results(vec![
                    DescribeUserScramCredentialsResult::default()
                        .with_user(s("u"))
                        .with_credential_infos(vec![CredentialInfo::default(); 2]),
                ]),
                v,
            )
        }
        ApiKey::AlterUserScramCredentials => {
            use alter_user_scram_credentials_response::*;
            enc(
                AlterUserScramCredentialsResponse::default().with_results(vec![
                    AlterUserScramCredentialsResult::default().with_user(s("u"));
                    2
                ]),
                v,
            )
        }
        ApiKey::DescribeCluster => {
            use describe_cluster_response::*;
            enc(
                DescribeClusterResponse::default()
                    .with_cluster_id(s("c"))
                    .with_brokers(vec![
                        DescribeClusterBroker::default()
                            .with_host(s("h"))
                            .with_rack(Some(s("r")));
                        2
                    ]),
                v,
            )
        }
        ApiKey::DescribeProducers => {
            use describe_producers_response::*;
            enc(
                DescribeProducersResponse::default().with_topics(vec![TopicResponse::default()
                    .with_name(t("a"))
                    .with_partitions(vec![PartitionResponse::default()
                        .with_active_producers(vec![ProducerState::default(); 2])])]),
                v,
            )
        }
        ApiKey::DescribeTransactions => {
            use describe_transactions_response::*;
            enc(
                DescribeTransactionsResponse::default().with_transaction_states(vec![
                    TransactionState::default()
                        .with_transactional_id(TransactionalId(s("tx")))
                        .with_transaction_state(s("Ongoing"))
                        .with_topics(vec![TopicData::default()
                            .with_topic(t("a"))
                            .with_partitions(vec![0, 1])]),
                ]),
                v,
            )
        }
        ApiKey::ListTransactions => {
            use list_transactions_response::*;
            enc(
                ListTransactionsResponse::default()
                    .with_unknown_state_filters(vec![s("Weird")])
                    .with_transaction_states(vec![
                        TransactionState::default()
                            .with_transactional_id(TransactionalId(s("tx")))
                            .with_transaction_state(s("Ongoing"));
                        2
                    ]),
                v,
            )
        }
        ApiKey::UpdateFeatures => {
            use update_features_response::*;
            let r = UpdatableFeatureResult::default()
                .with_feature(s("f"))
                .with_error_message(Some(s("no")));
            let resp = UpdateFeaturesResponse::default().with_error_message(Some(s("e")));
            enc(
                if v <= 1 {
                    resp.with_results(vec![r.clone(), r])
                } else {
                    resp
                },
                v,
            )
        }
        ApiKey::WriteTxnMarkers => {
            use write_txn_markers_response::*;
            let p = WritableTxnMarkerPartitionResult::default().with_error_code(3);
            let tp = WritableTxnMarkerTopicResult::default()
                .with_name(t("a"))
                .with_partitions(vec![p; 2]);
            let m = WritableTxnMarkerResult::default().with_topics(vec![tp.clone(), tp]);
            enc(
                WriteTxnMarkersResponse::default().with_markers(vec![m.clone(), m]),
                v,
            )
        }
        _ => return None,
    })
}

/// Every `(key, version)` we speak whose response has arrays.
fn walked_versions() -> Vec<(ApiKey, i16)> {
    SUPPORTED
        .iter()
        .filter(|(k, _, _)| response_schema(*k).is_some_and(|f| !std::ptr::eq(f, NO_ARRAYS)))
        .flat_map(|&(k, lo, hi)| (lo..=hi).map(move |v| (k, v)))
        .collect()
}

#[test]
fn every_response_schema_matches_the_encoder_at_every_supported_version() {
    let mut walked = 0;
    for (key, v) in walked_versions() {
        let body = populated(key, v).unwrap_or_else(|| panic!("{key:?}: add a populated response"));
        let used = walk(response_schema(key).unwrap(), v, flexible(key, v), &body)
            .unwrap_or_else(|e| panic!("{key:?} v{v}: walker refused a valid body: {e}"));
        assert_eq!(used, body.len(), "{key:?} v{v}: walker stopped early");
        check_response(key, v, &body, "test").unwrap();
        walked += 1;
    }
    assert!(walked > 100, "only {walked} versions walked");
}

/// The seeds of the `any_response` fuzz target: a populated response of
/// every walked API and version, prefixed as the target reads them (the
/// API's index in `SUPPORTED`, the version's offset in its range).
/// Written with `FERROKAFKA_BLESS=1`; otherwise only checked to exist.
#[test]
fn any_response_fuzz_seeds_exist() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/any_responses");
    if std::env::var("FERROKAFKA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(&dir).unwrap();
        for (key, v) in walked_versions() {
            let i = SUPPORTED.iter().position(|e| e.0 == key).unwrap();
            let (_, lo, _) = SUPPORTED[i];
            let mut seed = vec![i as u8, (v - lo) as u8];
            seed.extend(populated(key, v).unwrap());
            std::fs::write(dir.join(format!("{key:?}-v{v}.bin")), seed).unwrap();
        }
    }
    let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert!(
        n > 100,
        "{} holds {n} seeds; run with FERROKAFKA_BLESS=1",
        dir.display()
    );
}

/// The seeds of the per-family fuzz targets (`fuzz/fuzz_targets/
/// response_<family>.rs`): a populated response of every walked API and
/// version of the family, prefixed as `fuzz_family_response` reads them
/// (the API's index in the family's table, the version's offset in its
/// range). Written with `FERROKAFKA_BLESS=1`; otherwise each seed must go
/// through the fuzz entry point without a panic and, being a valid
/// response, pass the guard and decode.
#[test]
fn each_family_fuzz_seeds_decode_without_panic() {
    use crate::net::fuzzing::{family_table, fuzz_family_response, Family};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let bless = std::env::var("FERROKAFKA_BLESS").is_ok_and(|v| v == "1");
    for family in Family::ALL {
        let dir = root.join(format!("responses_{}", family.name()));
        let table = family_table(family);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            for (key, v) in walked_versions() {
                let Some(i) = table.iter().position(|e| e.0 == key) else {
                    continue;
                };
                let mut seed = vec![i as u8, (v - table[i].1) as u8];
                seed.extend(populated(key, v).unwrap());
                std::fs::write(dir.join(format!("{key:?}-v{v}.bin")), seed).unwrap();
            }
        }
        let mut n = 0;
        for entry in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}; run with FERROKAFKA_BLESS=1", dir.display()))
        {
            let seed = std::fs::read(entry.unwrap().path()).unwrap();
            fuzz_family_response(family, &seed);
            let (key, lo, _) = table[usize::from(seed[0])];
            let v = lo + i16::from(seed[1]);
            check_response(key, v, &seed[2..], "seed")
                .unwrap_or_else(|e| panic!("{family:?} seed {key:?} v{v}: {e}"));
            assert!(
                decode_any(key, v, &seed[2..]),
                "{family:?} seed {key:?} v{v}"
            );
            n += 1;
        }
        assert!(n > 0, "{} holds no seeds", dir.display());
    }
}

#[test]
fn every_api_we_speak_has_a_response_schema() {
    for &(key, _, _) in SUPPORTED {
        assert!(
            response_schema(key).is_some(),
            "{key:?} is in versions::SUPPORTED but has no response schema"
        );
    }
    let err = check_response(ApiKey::Vote, 0, &[], "peer:1").unwrap_err();
    assert_eq!(err.code(), codes::BAD_MSG);
    assert!(err.message().contains("no shape schema"), "{err}");
    assert!(err.message().contains("peer:1"), "{err}");
}

/// Every offset in `body` where a classic (4-byte) or compact (varint)
/// array count of the top-level or a nested array starts, found by
/// walking with a recording walker.
fn lie_at_every_count(key: ApiKey, v: i16, body: &[u8]) -> usize {
    let flex = flexible(key, v);
    let mut lies = 0;
    // Try every offset: where the body holds a count the walker must
    // refuse the lie; elsewhere the result is whatever, never a panic.
    for at in 0..body.len() {
        let mut m = body[..at].to_vec();
        if flex {
            m.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x07]);
        } else {
            m.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
        }
        m.extend_from_slice(&body[at..]);
        if check_response(key, v, &m, "t").is_ok() {
            // Accepted: then it must decode without a huge reservation;
            // the decoder is only safe to run on accepted bodies.
            let _ = decode_any(key, v, &m);
        } else {
            lies += 1;
        }
    }
    lies
}

fn decode_any(key: ApiKey, v: i16, body: &[u8]) -> bool {
    let mut b = B::copy_from_slice(body);
    macro_rules! d {
        ($t:ty) => {
            <$t>::decode(&mut b, v).is_ok()
        };
    }
    match key {
        ApiKey::Produce => d!(ProduceResponse),
        ApiKey::Fetch => d!(FetchResponse),
        ApiKey::ListOffsets => d!(ListOffsetsResponse),
        ApiKey::Metadata => d!(MetadataResponse),
        ApiKey::OffsetCommit => d!(OffsetCommitResponse),
        ApiKey::OffsetFetch => d!(OffsetFetchResponse),
        ApiKey::OffsetForLeaderEpoch => d!(OffsetForLeaderEpochResponse),
        ApiKey::FindCoordinator => d!(FindCoordinatorResponse),
        ApiKey::JoinGroup => d!(JoinGroupResponse),
        ApiKey::LeaveGroup => d!(LeaveGroupResponse),
        ApiKey::SyncGroup => d!(SyncGroupResponse),
        ApiKey::DescribeGroups => d!(DescribeGroupsResponse),
        ApiKey::ListGroups => d!(ListGroupsResponse),
        ApiKey::DeleteGroups => d!(DeleteGroupsResponse),
        ApiKey::AddPartitionsToTxn => d!(AddPartitionsToTxnResponse),
        ApiKey::TxnOffsetCommit => d!(TxnOffsetCommitResponse),
        ApiKey::CreateTopics => d!(CreateTopicsResponse),
        ApiKey::DeleteTopics => d!(DeleteTopicsResponse),
        ApiKey::DeleteRecords => d!(DeleteRecordsResponse),
        ApiKey::CreatePartitions => d!(CreatePartitionsResponse),
        ApiKey::DescribeConfigs => d!(DescribeConfigsResponse),
        ApiKey::SaslHandshake => d!(SaslHandshakeResponse),
        ApiKey::ApiVersions => d!(ApiVersionsResponse),
        ApiKey::DescribeAcls => d!(DescribeAclsResponse),
        ApiKey::CreateAcls => d!(CreateAclsResponse),
        ApiKey::DeleteAcls => d!(DeleteAclsResponse),
        ApiKey::AlterConfigs => d!(AlterConfigsResponse),
        ApiKey::IncrementalAlterConfigs => d!(IncrementalAlterConfigsResponse),
        ApiKey::DescribeLogDirs => d!(DescribeLogDirsResponse),
        ApiKey::ElectLeaders => d!(ElectLeadersResponse),
        ApiKey::AlterPartitionReassignments => d!(AlterPartitionReassignmentsResponse),
        ApiKey::ListPartitionReassignments => d!(ListPartitionReassignmentsResponse),
        ApiKey::OffsetDelete => d!(OffsetDeleteResponse),
        ApiKey::DescribeClientQuotas => d!(DescribeClientQuotasResponse),
        ApiKey::AlterClientQuotas => d!(AlterClientQuotasResponse),
        ApiKey::DescribeUserScramCredentials => d!(DescribeUserScramCredentialsResponse),
        ApiKey::AlterUserScramCredentials => d!(AlterUserScramCredentialsResponse),
        ApiKey::DescribeCluster => d!(DescribeClusterResponse),
        ApiKey::DescribeProducers => d!(DescribeProducersResponse),
        ApiKey::DescribeTransactions => d!(DescribeTransactionsResponse),
        ApiKey::ListTransactions => d!(ListTransactionsResponse),
        ApiKey::UpdateFeatures => d!(UpdateFeaturesResponse),
        ApiKey::WriteTxnMarkers => d!(WriteTxnMarkersResponse),
        other => panic!("{other:?}: add it to decode_any"),
    }
}

#[test]
fn lying_array_counts_in_every_response_are_refused() {
    for (key, v) in walked_versions() {
        let body = populated(key, v).unwrap();
        // A body that is nothing but a lying top-level count.
        let lie: &[u8] = if flexible(key, v) {
            &[0xff, 0xff, 0xff, 0xff, 0x0f]
        } else {
            &[0x7f, 0xff, 0xff, 0xff]
        };
        let first_array = response_schema(key)
            .unwrap()
            .iter()
            .position(|F(lo, hi, k)| {
                (*lo..=*hi).contains(&v) && matches!(k, Arr(_) | ArrOf(_) | ArrStr)
            });
        let Some(first_array) = first_array else {
            // No top-level array at this version (SyncGroup, FindCoordinator
            // before v4): nothing can lie about a count.
            continue;
        };
        // Keep the fields before the first array, replace the rest.
        let prefix = walk_fields(
            &response_schema(key).unwrap()[..first_array],
            v,
            flexible(key, v),
            &body,
        )
        .unwrap();
        let mut m = body[..prefix].to_vec();
        m.extend_from_slice(lie);
        let err = check_response(key, v, &m, "peer:9092").unwrap_err();
        assert_eq!(err.code(), codes::BAD_MSG, "{key:?} v{v}");
        assert!(
            err.message().contains("array count exceeds"),
            "{key:?} v{v}: {err}"
        );
        // A lie spliced in at every offset (so also into nested
        // arrays) is refused somewhere and never crashes the decoder
        // when accepted.
        assert!(lie_at_every_count(key, v, &body) > 0, "{key:?} v{v}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn mutated_responses_never_panic_through_guard_and_decode(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let all = walked_versions();
        let (key, v) = all[pick.index(all.len())];
        let mut body = populated(key, v).unwrap();
        for (at, byte) in &edits {
            let i = at.index(body.len());
            body[i] = *byte;
        }
        body.truncate(cut.index(body.len() + 1));
        if check_response(key, v, &body, "fuzz").is_ok() {
            let _ = decode_any(key, v, &body);
        }
    }
}
