//! Features, leader elections, reassignments and client quotas through
//! the Admin API against the mock, each effect checked in the mock's own
//! view (partition leaders) or by reading it back, and each bad input
//! failing alone with its named error.

use ferrokafka::admin::{
    AdminClient, AdminOptions, ElectionType, FeatureUpdate, FeatureUpgradeType, QuotaAlteration,
    QuotaEntity, QuotaFilterComponent, QuotaMatch,
};
use ferrokafka::TopicPartition;
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn admin(c: &MockCluster) -> AdminClient {
    AdminClient::new(&ClientConfig::new().set("bootstrap.servers", c.bootstrap_servers())).unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

#[tokio::test]
async fn features_are_described_and_updated_all_or_nothing() {
    let c = MockCluster::builder().brokers(1).build().await.unwrap();
    let a = admin(&c);
    let f = a.describe_features(&opts()).await.unwrap();
    let level = |f: &ferrokafka::admin::FeatureMetadata, n: &str| {
        f.finalized
            .iter()
            .find(|x| x.name == n)
            .map(|x| x.max_version_level)
    };
    assert_eq!(level(&f, "group.version"), Some(1), "{f:?}");
    assert!(f.supported.iter().any(|s| s.name == "metadata.version"));
    let epoch = f.finalized_epoch.unwrap();

    // A downgrade without a downgrade type fails, and takes the valid
    // update of the same request with it.
    let r = a
        .update_features(
            &[
                FeatureUpdate::upgrade("group.version", 0),
                FeatureUpdate::upgrade("transaction.version", 2),
            ],
            &opts(),
        )
        .await
        .unwrap();
    for (name, res) in &r {
        let e = res.as_ref().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidUpdateVersion, "{name}: {e}");
        assert!(e.message().contains("group.version"), "{e}");
    }
    let f = a.describe_features(&opts()).await.unwrap();
    assert_eq!(level(&f, "transaction.version"), None);

    let r = a
        .update_features(
            &[FeatureUpdate::upgrade("transaction.version", 2)],
            &opts().validate_only(true),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(
        level(
            &a.describe_features(&opts()).await.unwrap(),
            "transaction.version"
        ),
        None,
        "validate_only changed nothing"
    );
    let r = a
        .update_features(
            &[
                FeatureUpdate::upgrade("transaction.version", 2),
                FeatureUpdate {
                    name: "group.version".into(),
                    max_version_level: 0,
                    upgrade_type: FeatureUpgradeType::SafeDowngrade,
                },
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r.iter().all(|(_, x)| x.is_ok()), "{r:?}");
    let f = a.describe_features(&opts()).await.unwrap();
    assert_eq!(level(&f, "transaction.version"), Some(2));
    assert_eq!(level(&f, "group.version"), None);
    assert!(f.finalized_epoch.unwrap() > epoch);
    let r = a
        .update_features(&[FeatureUpdate::upgrade("no.such.feature", 1)], &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::InvalidUpdateVersion
    );
}

#[tokio::test]
async fn preferred_and_unclean_elections_and_reassignments_move_leaders() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("t", 2, 3)
        .build()
        .await
        .unwrap();
    let a = admin(&c);
    let md = a.metadata(Some("t"), Duration::from_secs(5)).await.unwrap();
    let replicas = md.topics[0].partitions[0].replicas.clone();
    let preferred = replicas[0];

    // Already preferred: nothing to do.
    let r = a
        .elect_leaders(ElectionType::Preferred, Some(&[tp("t", 0)]), &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::ElectionNotNeeded
    );
    c.move_leader("t", 0, replicas[1]).unwrap();
    let r = a
        .elect_leaders(
            ElectionType::Preferred,
            Some(&[tp("t", 0), tp("nope", 0)]),
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(c.partition_leader("t", 0), Some(preferred));
    let e = r[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownTopicOrPartition, "{e}");
    assert!(e.message().contains("nope:0"), "{e}");

    // Unclean: the leader's broker goes down, a live replica takes over.
    let r = a
        .elect_leaders(ElectionType::Unclean, Some(&[tp("t", 1)]), &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::ElectionNotNeeded,
        "the leader is alive"
    );
    let old = c.partition_leader("t", 1).unwrap();
    c.broker_down(old).unwrap();
    let a2 = AdminClient::new(
        &ClientConfig::new().set(
            "bootstrap.servers",
            c.broker_ids()
                .into_iter()
                .filter(|id| *id != old)
                .map(|id| c.broker_addr(id).unwrap().to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
    )
    .unwrap();
    let r = a2
        .elect_leaders(ElectionType::Unclean, Some(&[tp("t", 1)]), &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let new = c.partition_leader("t", 1).unwrap();
    assert_ne!(new, old);
    c.broker_up(old).unwrap();

    // Reassignment: partition 0 onto brokers [3, 1] (completes at once).
    let r = a
        .alter_partition_reassignments(
            &[
                (tp("t", 0), Some(vec![3, 1])),
                (tp("t", 1), Some(vec![1, 9])),
                (tp("t", 1), None),
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let e = r[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidReplicaAssignment, "{e}");
    assert!(e.message().contains("9"), "{e}");
    let md = a.metadata(Some("t"), Duration::from_secs(5)).await.unwrap();
    assert_eq!(md.topics[0].partitions[0].replicas, vec![3, 1]);
    let r = a
        .alter_partition_reassignments(&[(tp("t", 0), None)], &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::NoReassignmentInProgress
    );
    assert!(a
        .list_partition_reassignments(None, &opts())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn client_quotas_are_set_described_and_removed() {
    let c = MockCluster::builder().brokers(1).build().await.unwrap();
    let a = admin(&c);
    let alice = QuotaEntity::new("user", Some("alice"));
    let alice_app = alice.clone().and("client-id", Some("app"));
    let users_default = QuotaEntity::new("user", None);
    let r = a
        .alter_client_quotas(
            &[
                QuotaAlteration {
                    entity: alice.clone(),
                    ops: vec![("producer_byte_rate".into(), Some(1024.0))],
                },
                QuotaAlteration {
                    entity: alice_app.clone(),
                    ops: vec![("consumer_byte_rate".into(), Some(2048.0))],
                },
                QuotaAlteration {
                    entity: users_default.clone(),
                    ops: vec![("request_percentage".into(), Some(50.0))],
                },
                QuotaAlteration {
                    entity: QuotaEntity::new("user", Some("bad")),
                    ops: vec![("no_such_quota".into(), Some(1.0))],
                },
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[..3].iter().all(|(_, x)| x.is_ok()), "{r:?}");
    let e = r[3].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e}");
    assert!(e.message().contains("no_such_quota") && e.message().contains("user=bad"));

    let any_user = [QuotaFilterComponent {
        entity_type: "user".into(),
        matching: QuotaMatch::Any,
    }];
    let all = a
        .describe_client_quotas(&any_user, false, &opts())
        .await
        .unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    let strict = a
        .describe_client_quotas(&any_user, true, &opts())
        .await
        .unwrap();
    assert_eq!(
        strict.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>(),
        vec![alice.clone(), users_default.clone()]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    let exact = a
        .describe_client_quotas(
            &[QuotaFilterComponent {
                entity_type: "user".into(),
                matching: QuotaMatch::Exact("alice".into()),
            }],
            true,
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(
        exact,
        vec![(alice.clone(), vec![("producer_byte_rate".into(), 1024.0)])]
    );

    let r = a
        .alter_client_quotas(
            &[QuotaAlteration {
                entity: alice.clone(),
                ops: vec![("producer_byte_rate".into(), None)],
            }],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok());
    let exact = a
        .describe_client_quotas(
            &[QuotaFilterComponent {
                entity_type: "user".into(),
                matching: QuotaMatch::Exact("alice".into()),
            }],
            true,
            &opts(),
        )
        .await
        .unwrap();
    assert!(exact.is_empty(), "{exact:?}");
}
