//! Shape schemas (see [`super::guard`]) of the admin APIs added after the
//! guard's main tables: SCRAM credentials, features, leader elections and
//! reassignments, client quotas, and the transaction admin APIs (requests,
//! as the mock serves them) plus the responses of UpdateFeatures and
//! WriteTxnMarkers (as the client decodes them). Kept apart so the guard's
//! own tables stay one file per concern; the guard falls back to
//! [`request_schema`] and [`response_schema`] for keys it does not list.
//! Field order and versions follow the Kafka message specs.

use super::guard::{F, K::*};
use kafka_protocol::messages::ApiKey;

const ALL: i16 = i16::MAX;

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

/// Request schemas of the APIs above.
pub(super) fn request_schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
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
        _ => return None,
    })
}

const R_FEATURE_RESULT: &[F] = &[F(0, ALL, Str), F(0, ALL, Fixed(2)), F(0, ALL, Str)];
const R_UPDATE_FEATURES: &[F] = &[
    F(0, ALL, Fixed(6)),
    F(0, ALL, Str),
    F(0, 1, Arr(R_FEATURE_RESULT)),
];

const R_TXN_MARKER_PARTITION: &[F] = &[F(0, ALL, Fixed(6))];
const R_TXN_MARKER_TOPIC: &[F] = &[F(0, ALL, Str), F(0, ALL, Arr(R_TXN_MARKER_PARTITION))];
const R_TXN_MARKER: &[F] = &[F(0, ALL, Fixed(8)), F(0, ALL, Arr(R_TXN_MARKER_TOPIC))];
const R_WRITE_TXN_MARKERS: &[F] = &[F(0, ALL, Arr(R_TXN_MARKER))];

/// Response schemas of the APIs above that the guard's table lacks.
pub(super) fn response_schema(key: ApiKey) -> Option<&'static [F]> {
    Some(match key {
        ApiKey::UpdateFeatures => R_UPDATE_FEATURES,
        ApiKey::WriteTxnMarkers => R_WRITE_TXN_MARKERS,
        _ => return None,
    })
}

/// A response of `key` at `v` with every array holding elements, for the
/// guard's tests over every supported version.
#[cfg(test)]
pub(super) fn populated_response(key: ApiKey, v: i16) -> Option<Vec<u8>> {
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, StrBytes};
    let s = StrBytes::from_static_str;
    let mut b = bytes::BytesMut::new();
    match key {
        ApiKey::UpdateFeatures => {
            let r = update_features_response::UpdatableFeatureResult::default()
                .with_feature(s("f"))
                .with_error_message(Some(s("no")));
            let resp = UpdateFeaturesResponse::default().with_error_message(Some(s("e")));
            let resp = if v <= 1 {
                resp.with_results(vec![r.clone(), r])
            } else {
                resp
            };
            resp.encode(&mut b, v).ok()?;
        }
        ApiKey::WriteTxnMarkers => {
            use write_txn_markers_response::*;
            let p = WritableTxnMarkerPartitionResult::default().with_error_code(3);
            let tp = WritableTxnMarkerTopicResult::default()
                .with_name(TopicName(s("a")))
                .with_partitions(vec![p; 2]);
            let m = WritableTxnMarkerResult::default().with_topics(vec![tp.clone(), tp]);
            WriteTxnMarkersResponse::default()
                .with_markers(vec![m.clone(), m])
                .encode(&mut b, v)
                .ok()?;
        }
        _ => return None,
    }
    Some(b.to_vec())
}

/// Whether `body` decodes as `key`'s response at `v`; `None` for keys not
/// covered here.
#[cfg(test)]
pub(super) fn decode_response(key: ApiKey, v: i16, body: &[u8]) -> Option<bool> {
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::Decodable;
    let mut b = bytes::Bytes::copy_from_slice(body);
    Some(match key {
        ApiKey::UpdateFeatures => UpdateFeaturesResponse::decode(&mut b, v).is_ok(),
        ApiKey::WriteTxnMarkers => WriteTxnMarkersResponse::decode(&mut b, v).is_ok(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::guard::{flexible, walk};
    use super::*;
    use bytes::Bytes as B;
    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    fn s(x: &'static str) -> StrBytes {
        StrBytes::from_static_str(x)
    }
    fn t(x: &'static str) -> TopicName {
        TopicName(s(x))
    }
    fn enc<M: Encodable>(m: &M, v: i16) -> Vec<u8> {
        let mut b = bytes::BytesMut::new();
        m.encode(&mut b, v).unwrap_or_else(|e| panic!("v{v}: {e}"));
        b.to_vec()
    }

    /// Every array holding elements, every version: the schema consumes
    /// exactly the encoded body, and refuses every truncation of it.
    fn check(
        key: ApiKey,
        fields: &[F],
        versions: std::ops::RangeInclusive<i16>,
        body: impl Fn(i16) -> Vec<u8>,
    ) {
        for v in versions {
            let b = body(v);
            let flex = flexible(key, v);
            assert_eq!(walk(fields, v, flex, &b), Ok(b.len()), "{key:?} v{v}");
            for cut in 0..b.len() {
                assert!(
                    walk(fields, v, flex, &b[..cut]).is_err(),
                    "{key:?} v{v}: a body cut at {cut} of {} passed",
                    b.len()
                );
            }
        }
    }

    #[test]
    fn request_schemas_match_the_encoder() {
        use ApiKey as A;
        let req = |k| request_schema(k).unwrap();
        check(
            A::DescribeUserScramCredentials,
            req(A::DescribeUserScramCredentials),
            0..=0,
            |v| {
                let mut u = describe_user_scram_credentials_request::UserName::default();
                u.name = s("alice");
                enc(
                    &DescribeUserScramCredentialsRequest::default()
                        .with_users(Some(vec![u.clone(), u])),
                    v,
                )
            },
        );
        check(
            A::AlterUserScramCredentials,
            req(A::AlterUserScramCredentials),
            0..=0,
            |v| {
                use alter_user_scram_credentials_request::*;
                let d = ScramCredentialDeletion::default()
                    .with_name(s("a"))
                    .with_mechanism(1);
                let u = ScramCredentialUpsertion::default()
                    .with_name(s("b"))
                    .with_mechanism(2)
                    .with_iterations(4096)
                    .with_salt(B::from_static(b"salt"))
                    .with_salted_password(B::from_static(b"salted"));
                enc(
                    &AlterUserScramCredentialsRequest::default()
                        .with_deletions(vec![d.clone(), d])
                        .with_upsertions(vec![u.clone(), u]),
                    v,
                )
            },
        );
        check(A::UpdateFeatures, req(A::UpdateFeatures), 0..=2, |v| {
            let k = update_features_request::FeatureUpdateKey::default()
                .with_feature(s("metadata.version"))
                .with_max_version_level(7);
            enc(
                &UpdateFeaturesRequest::default().with_feature_updates(vec![k.clone(), k]),
                v,
            )
        });
        check(A::ElectLeaders, req(A::ElectLeaders), 0..=2, |v| {
            let tp = elect_leaders_request::TopicPartitions::default()
                .with_topic(t("a"))
                .with_partitions(vec![0, 1, 2]);
            enc(
                &ElectLeadersRequest::default().with_topic_partitions(Some(vec![tp.clone(), tp])),
                v,
            )
        });
        check(
            A::AlterPartitionReassignments,
            req(A::AlterPartitionReassignments),
            0..=1,
            |v| {
                use alter_partition_reassignments_request::*;
                let p = ReassignablePartition::default()
                    .with_replicas(Some(vec![BrokerId(1), BrokerId(2)]));
                let tp = ReassignableTopic::default()
                    .with_name(t("a"))
                    .with_partitions(vec![p.clone(), p.with_replicas(None)]);
                enc(
                    &AlterPartitionReassignmentsRequest::default()
                        .with_topics(vec![tp.clone(), tp]),
                    v,
                )
            },
        );
        check(
            A::ListPartitionReassignments,
            req(A::ListPartitionReassignments),
            0..=0,
            |v| {
                let tp = list_partition_reassignments_request::ListPartitionReassignmentsTopics::default()
                .with_name(t("a"))
                .with_partition_indexes(vec![3, 4]);
                enc(
                    &ListPartitionReassignmentsRequest::default()
                        .with_topics(Some(vec![tp.clone(), tp])),
                    v,
                )
            },
        );
        check(
            A::DescribeClientQuotas,
            req(A::DescribeClientQuotas),
            0..=1,
            |v| {
                let c = describe_client_quotas_request::ComponentData::default()
                    .with_entity_type(s("user"))
                    .with_match(Some(s("alice")));
                enc(
                    &DescribeClientQuotasRequest::default().with_components(vec![c.clone(), c]),
                    v,
                )
            },
        );
        check(
            A::AlterClientQuotas,
            req(A::AlterClientQuotas),
            0..=1,
            |v| {
                use alter_client_quotas_request::*;
                let e = EntityData::default()
                    .with_entity_type(s("user"))
                    .with_entity_name(Some(s("a")));
                let o = OpData::default()
                    .with_key(s("producer_byte_rate"))
                    .with_value(1024.0);
                let entry = EntryData::default()
                    .with_entity(vec![e.clone(), e])
                    .with_ops(vec![o.clone(), o]);
                enc(
                    &AlterClientQuotasRequest::default().with_entries(vec![entry.clone(), entry]),
                    v,
                )
            },
        );
        check(
            A::DescribeProducers,
            req(A::DescribeProducers),
            0..=0,
            |v| {
                let tp = describe_producers_request::TopicRequest::default()
                    .with_name(t("a"))
                    .with_partition_indexes(vec![0, 1]);
                enc(
                    &DescribeProducersRequest::default().with_topics(vec![tp.clone(), tp]),
                    v,
                )
            },
        );
        check(
            A::DescribeTransactions,
            req(A::DescribeTransactions),
            0..=0,
            |v| {
                enc(
                    &DescribeTransactionsRequest::default().with_transactional_ids(vec![
                        TransactionalId(s("x")),
                        TransactionalId(s("yy")),
                    ]),
                    v,
                )
            },
        );
        check(A::ListTransactions, req(A::ListTransactions), 0..=2, |v| {
            let r = ListTransactionsRequest::default()
                .with_state_filters(vec![s("Ongoing"), s("Empty")])
                .with_producer_id_filters(vec![ProducerId(5), ProducerId(6)]);
            let r = if v >= 2 {
                r.with_transactional_id_pattern(Some(s("t.*")))
            } else {
                r
            };
            enc(&r, v)
        });
        check(A::WriteTxnMarkers, req(A::WriteTxnMarkers), 1..=1, |v| {
            use write_txn_markers_request::*;
            let tp = WritableTxnMarkerTopic::default()
                .with_name(t("a"))
                .with_partition_indexes(vec![0, 1]);
            let m = WritableTxnMarker::default().with_topics(vec![tp.clone(), tp]);
            enc(
                &WriteTxnMarkersRequest::default().with_markers(vec![m.clone(), m]),
                v,
            )
        });
    }

    #[test]
    fn response_schemas_match_the_encoder() {
        for (key, versions) in [
            (ApiKey::UpdateFeatures, 0..=2),
            (ApiKey::WriteTxnMarkers, 1..=1),
        ] {
            check(key, response_schema(key).unwrap(), versions, |v| {
                populated_response(key, v).unwrap()
            });
            assert_eq!(
                decode_response(key, 1, &populated_response(key, 1).unwrap()),
                Some(true)
            );
        }
    }
}
