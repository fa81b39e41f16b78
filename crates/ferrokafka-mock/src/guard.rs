//! The shape check run on every served request body before the generic
//! decoder: `kafka-protocol` reserves a `Vec` from an array count on the
//! wire before reading any element, so a lying count would make the mock
//! abort on allocation. The schema walker and the per-API request schemas
//! live in `ferrokafka-wire`, shared with the client; this module owns
//! the mock's use of them and the tests that every served API and version
//! has a schema matching what the encoder writes.

use ferrokafka_wire as shape;
use kafka_protocol::messages::ApiKey;

/// Whether `body` (after the request header) has a believable shape for
/// `key`/`version`: every array count within what the body holds. APIs
/// without a request schema are refused.
pub(crate) fn check(key: ApiKey, version: i16, body: &[u8]) -> bool {
    shape::check_request(key, version, body)
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
            ApiKey::IncrementalAlterConfigs => R::IncrementalAlterConfigs(
                IncrementalAlterConfigsRequest::default().with_resources(vec![
                    incremental_alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s("a"))
                        .with_configs(vec![
                            incremental_alter_configs_request::AlterableConfig::default()
                                .with_name(s("retention.ms"))
                                .with_value(Some(s("1"))),
                            incremental_alter_configs_request::AlterableConfig::default()
                                .with_name(s("x"))
                                .with_config_operation(1),
                        ]),
                ]),
            ),
            ApiKey::AlterConfigs => {
                R::AlterConfigs(AlterConfigsRequest::default().with_resources(vec![
                    alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(4)
                        .with_resource_name(s("1"))
                        .with_configs(vec![
                            alter_configs_request::AlterableConfig::default()
                                .with_name(s("k"))
                                .with_value(Some(s("v")));
                            2
                        ]),
                ]))
            }
            ApiKey::CreateAcls => R::CreateAcls(CreateAclsRequest::default().with_creations(vec![
                create_acls_request::AclCreation::default()
                    .with_resource_name(s("t"))
                    .with_principal(s("User:a"))
                    .with_host(s("*"));
                2
            ])),
            ApiKey::DeleteAcls => R::DeleteAcls(DeleteAclsRequest::default().with_filters(vec![
                delete_acls_request::DeleteAclsFilter::default()
                    .with_resource_name_filter(Some(s("t")))
                    .with_principal_filter(None);
                2
            ])),
            ApiKey::DescribeLogDirs => {
                R::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(Some(
                    vec![describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(t("a"))
                    .with_partitions(vec![0, 1])],
                )))
            }
            // The later admin APIs (schemas in ferrokafka-wire).
            ApiKey::DescribeUserScramCredentials => R::DescribeUserScramCredentials(
                DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
                    describe_user_scram_credentials_request::UserName::default()
                        .with_name(s("alice"));
                    2
                ])),
            ),
            ApiKey::AlterUserScramCredentials => R::AlterUserScramCredentials(
                AlterUserScramCredentialsRequest::default()
                    .with_deletions(vec![
                        alter_user_scram_credentials_request::ScramCredentialDeletion::default()
                            .with_name(s("a"))
                            .with_mechanism(1),
                    ])
                    .with_upsertions(vec![
                        alter_user_scram_credentials_request::ScramCredentialUpsertion::default()
                            .with_name(s("b"))
                            .with_mechanism(2)
                            .with_iterations(4096)
                            .with_salt(B::from_static(b"salt"))
                            .with_salted_password(B::from_static(b"x"));
                        2
                    ]),
            ),
            ApiKey::UpdateFeatures => {
                R::UpdateFeatures(UpdateFeaturesRequest::default().with_feature_updates(vec![
                    update_features_request::FeatureUpdateKey::default()
                        .with_feature(s("group.version"))
                        .with_max_version_level(1);
                    2
                ]))
            }
            ApiKey::ElectLeaders => R::ElectLeaders(ElectLeadersRequest::default().with_topic_partitions(
                Some(vec![elect_leaders_request::TopicPartitions::default()
                    .with_topic(t("a"))
                    .with_partitions(vec![0, 1]); 2]),
            )),
            ApiKey::AlterPartitionReassignments => R::AlterPartitionReassignments(
                AlterPartitionReassignmentsRequest::default().with_topics(vec![
                    alter_partition_reassignments_request::ReassignableTopic::default()
                        .with_name(t("a"))
                        .with_partitions(vec![
                            alter_partition_reassignments_request::ReassignablePartition::default()
                                .with_replicas(Some(vec![BrokerId(1), BrokerId(2)])),
                            alter_partition_reassignments_request::ReassignablePartition::default()
                                .with_replicas(None),
                        ]),
                ]),
            ),
            ApiKey::ListPartitionReassignments => R::ListPartitionReassignments(
                ListPartitionReassignmentsRequest::default().with_topics(Some(vec![
                    list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                        .with_name(t("a"))
                        .with_partition_indexes(vec![0, 1]);
                    2
                ])),
            ),
            ApiKey::DescribeClientQuotas => R::DescribeClientQuotas(
                DescribeClientQuotasRequest::default().with_components(vec![
                    describe_client_quotas_request::ComponentData::default()
                        .with_entity_type(s("user"))
                        .with_match(Some(s("a")));
                    2
                ]),
            ),
            ApiKey::AlterClientQuotas => R::AlterClientQuotas(
                AlterClientQuotasRequest::default().with_entries(vec![
                    alter_client_quotas_request::EntryData::default()
                        .with_entity(vec![
                            alter_client_quotas_request::EntityData::default()
                                .with_entity_type(s("user"))
                                .with_entity_name(Some(s("a")));
                            2
                        ])
                        .with_ops(vec![
                            alter_client_quotas_request::OpData::default()
                                .with_key(s("producer_byte_rate"))
                                .with_value(1.0);
                            2
                        ]);
                    2
                ]),
            ),
            ApiKey::DescribeProducers => R::DescribeProducers(
                DescribeProducersRequest::default().with_topics(vec![
                    describe_producers_request::TopicRequest::default()
                        .with_name(t("a"))
                        .with_partition_indexes(vec![0, 1]);
                    2
                ]),
            ),
            ApiKey::WriteTxnMarkers => R::WriteTxnMarkers(
                WriteTxnMarkersRequest::default().with_markers(vec![
                    write_txn_markers_request::WritableTxnMarker::default()
                        .with_topics(vec![
                            write_txn_markers_request::WritableTxnMarkerTopic::default()
                                .with_name(t("a"))
                                .with_partition_indexes(vec![0, 1]);
                            2
                        ]);
                    2
                ]),
            ),
            ApiKey::ListTransactions => R::ListTransactions(
                ListTransactionsRequest::default()
                    .with_state_filters(vec![s("Ongoing"), s("Empty")])
                    .with_producer_id_filters(vec![ProducerId(1), ProducerId(2)]),
            ),
            ApiKey::DescribeTransactions => R::DescribeTransactions(
                DescribeTransactionsRequest::default()
                    .with_transactional_ids(vec![TransactionalId(s("x")), TransactionalId(s("y"))]),
            ),
            _ => return None,
        })
    }

    #[test]
    fn every_served_api_has_a_schema_that_matches_the_encoder() {
        let mut served = crate::api::served();
        served.extend(crate::coordinator::api_versions());
        for (key, lo, hi) in served {
            assert!(
                shape::request_schema(key).is_some(),
                "{key:?} is served but has no shape schema in ferrokafka-wire"
            );
            for v in lo..=hi {
                let Some(req) = populated(key, v) else {
                    assert!(
                        std::ptr::eq(shape::request_schema(key).unwrap(), shape::NO_ARRAYS),
                        "{key:?}: add a populated request"
                    );
                    continue;
                };
                let mut buf = bytes::BytesMut::new();
                req.encode(&mut buf, v)
                    .unwrap_or_else(|e| panic!("{key:?} v{v}: {e}"));
                let used = shape::walk(
                    shape::request_schema(key).unwrap(),
                    v,
                    shape::flexible(key, v),
                    &buf,
                )
                .unwrap_or_else(|e| panic!("{key:?} v{v}: walker refused a valid body: {e}"));
                assert_eq!(used, buf.len(), "{key:?} v{v}: walker stopped early");
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
