//! Topic administration against the embedded mock: create (counts,
//! explicit assignment, configs, validate_only), delete by name and by id,
//! create partitions and describe, each with its per-topic errors; routing
//! to the controller with a retry after NOT_CONTROLLER; blocking use.
//!
//! Assertions check what any Kafka broker answers (error codes, effects
//! seen through metadata), not mock internals.

use ferrokafka::admin::{AclOperation, AdminClient, AdminOptions, NewPartitions, NewTopic};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn admin(cluster: &MockCluster) -> AdminClient {
    AdminClient::new(&ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()))
        .unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_grow_and_delete_topics() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let a = admin(&cluster);
    let r = a
        .create_topics(
            &[
                NewTopic::new("t-plain", 3, 2).config("retention.ms", "60000"),
                NewTopic::with_assignment("t-assigned", vec![vec![2, 1], vec![3, 2]]),
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(r.len(), 2);
    for (name, res) in &r {
        assert!(res.is_ok(), "{name}: {res:?}");
    }
    let id = r[0]
        .1
        .as_ref()
        .unwrap()
        .expect("CreateTopics v7 returns the topic id");

    let d = a
        .describe_topics(&["t-plain", "t-assigned", "t-missing"], &opts())
        .await
        .unwrap();
    let plain = d[0].1.as_ref().unwrap();
    assert_eq!(plain.partitions.len(), 3);
    assert!(plain.partitions.iter().all(|p| p.replicas.len() == 2));
    assert_eq!(plain.topic_id, Some(id));
    let ops = plain
        .authorized_operations
        .as_ref()
        .expect("asked for authorized operations");
    assert!(
        ops.contains(&AclOperation::Describe) && ops.contains(&AclOperation::Write),
        "{ops:?}"
    );
    let assigned = d[1].1.as_ref().unwrap();
    assert_eq!(
        assigned
            .partitions
            .iter()
            .map(|p| p.replicas.clone())
            .collect::<Vec<_>>(),
        vec![vec![2, 1], vec![3, 2]]
    );
    assert_eq!(assigned.partitions[0].leader, Some(2));
    assert_eq!(d[2].0, "t-missing");
    assert_eq!(
        d[2].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );

    // Growing works; a count that does not grow and an unknown topic fail
    // on their own without hiding the success.
    let r = a
        .create_partitions(
            &[
                NewPartitions::new("t-plain", 5),
                NewPartitions::new("t-assigned", 2),
                NewPartitions::new("t-missing", 4),
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let e = r[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidPartitions);
    assert!(e.message().contains("t-assigned"), "{e}");
    assert_eq!(
        r[2].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );
    let md = a
        .metadata(Some("t-plain"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(md.topics[0].partitions.len(), 5);

    // Delete by name (one missing) and by id.
    let r = a
        .delete_topics(&["t-assigned", "t-missing"], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(
        r[1].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );
    let r = a.delete_topics_by_id(&[id], &opts()).await.unwrap();
    assert_eq!(r[0].1.as_ref().unwrap(), "t-plain");
    let r = a.delete_topics_by_id(&[id], &opts()).await.unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicId
    );
    let mut left = cluster.topics();
    left.retain(|t| t.starts_with("t-"));
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topic_errors_are_per_topic_with_the_brokers_message() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("exists", 1, 1)
        .build()
        .await
        .unwrap();
    let a = admin(&cluster);
    let r = a
        .create_topics(
            &[
                NewTopic::new("exists", 1, 1),
                NewTopic::new("good", 2, 1),
                NewTopic::new("zero-parts", 0, 1),
                NewTopic::new("too-many-replicas", 1, 3),
                NewTopic::new("bad-config-name", 1, 1).config("no.such.config", "1"),
                NewTopic::new("bad-config-value", 1, 1).config("retention.ms", "soon"),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let code = |i: usize| r[i].1.as_ref().map(|_| ()).map_err(|e| e.code());
    assert_eq!(code(0), Err(ErrorCode::TopicAlreadyExists));
    assert_eq!(code(1), Ok(()));
    assert_eq!(code(2), Err(ErrorCode::InvalidPartitions));
    assert_eq!(code(3), Err(ErrorCode::InvalidReplicationFactor));
    assert_eq!(code(4), Err(ErrorCode::InvalidConfig));
    assert_eq!(code(5), Err(ErrorCode::InvalidConfig));
    let msg = r[4].1.as_ref().unwrap_err().message().to_string();
    assert!(
        msg.contains("no.such.config"),
        "the broker's message is kept: {msg}"
    );
    let msg = r[5].1.as_ref().unwrap_err().message().to_string();
    assert!(
        msg.contains("retention.ms") && msg.contains("soon"),
        "{msg}"
    );
    let topics = cluster.topics();
    assert!(topics.contains(&"good".to_string()));
    for refused in [
        "zero-parts",
        "too-many-replicas",
        "bad-config-name",
        "bad-config-value",
    ] {
        assert!(
            !topics.contains(&refused.to_string()),
            "{refused} was created"
        );
    }

    // validate_only checks without creating.
    let r = a
        .create_topics(&[NewTopic::new("dry", 2, 1)], &opts().validate_only(true))
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert!(!cluster.topics().contains(&"dry".to_string()));
    let r = a
        .create_partitions(
            &[NewPartitions::new("good", 4)],
            &opts().validate_only(true),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok());
    let md = a
        .metadata(Some("good"), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(md.topics[0].partitions.len(), 2);

    // Bad input refused locally, naming it.
    let e = a
        .create_topics(
            &[NewTopic::new("x", 1, 1), NewTopic::new("x", 1, 1)],
            &opts(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArg);
    assert!(e.message().contains("\"x\""), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_controller_is_retried_after_a_metadata_refresh() {
    let cluster = MockCluster::builder().brokers(2).build().await.unwrap();
    // CreateTopics (api key 19) answers NOT_CONTROLLER (41) twice.
    cluster.push_request_errors(19, &[41, 41]);
    let a = admin(&cluster);
    let r = a
        .create_topics(&[NewTopic::new("after-move", 1, 1)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert!(cluster.topics().contains(&"after-move".to_string()));
}

#[test]
fn blocking_calls_work_outside_a_runtime() {
    let cluster = MockCluster::builder().brokers(1).build_blocking().unwrap();
    let a = admin(&cluster);
    let r = a
        .create_topics_blocking(&[NewTopic::new("sync", 2, 1)], &opts())
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let d = a.describe_topics_blocking(&["sync"], &opts()).unwrap();
    assert_eq!(d[0].1.as_ref().unwrap().partitions.len(), 2);
    let r = a
        .create_partitions_blocking(&[NewPartitions::new("sync", 3)], &opts())
        .unwrap();
    assert!(r[0].1.is_ok());
    let r = a.delete_topics_blocking(&["sync"], &opts()).unwrap();
    assert!(r[0].1.is_ok());
    assert!(!cluster.topics().contains(&"sync".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_cluster_lists_brokers_controller_and_operations() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let a = admin(&cluster);
    let d = a.describe_cluster(&opts()).await.unwrap();
    assert!(!d.cluster_id.is_empty());
    assert_eq!(
        d.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(d.controller.is_some_and(|c| (1..=3).contains(&c)));
    let ops = d.authorized_operations.expect("asked for them");
    assert!(ops.contains(&AclOperation::Describe), "{ops:?}");
    cluster.broker_down(3).unwrap();
    let d = a.describe_cluster(&opts()).await.unwrap();
    assert_eq!(d.brokers.len(), 2, "a broker that is down is not listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_dirs_list_each_brokers_replicas_with_their_sizes() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("ld", 2, 2)
        .build()
        .await
        .unwrap();
    let config = ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers());
    let p = ferrokafka::producer::Producer::new(&config).unwrap();
    let f = p
        .send(
            ferrokafka::producer::ProducerRecord::new("ld")
                .partition(0)
                .value("x".repeat(100)),
        )
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .unwrap()
        .unwrap();
    let a = admin(&cluster);
    let dirs = a.describe_log_dirs(&opts()).await.unwrap();
    assert_eq!(dirs.len(), 2, "one directory per broker: {dirs:?}");
    for d in &dirs {
        assert!(d.error.is_none());
        let parts: Vec<i32> = d
            .replicas
            .iter()
            .filter(|r| r.0 == "ld")
            .map(|r| r.1)
            .collect();
        assert_eq!(parts, vec![0, 1], "replication 2 of 2 brokers: {d:?}");
        let p0 = d.replicas.iter().find(|r| r.0 == "ld" && r.1 == 0).unwrap();
        assert!(p0.2 > 100, "the record's batch is counted: {p0:?}");
        assert!(d.total_bytes.is_some());
    }
}
