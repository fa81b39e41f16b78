//! What a commit stores beside the offset: the application's metadata
//! string and the leader epoch of the last consumed record (KIP-320),
//! both read back through OffsetFetch.

mod support;

use ferrokafka::consumer::Consumer;
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use tokio::time::{timeout, Instant};

fn consumer(cluster: &MockCluster, group: &str) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("heartbeat.interval.ms", "100")
            .set("fetch.wait.max.ms", "50"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_metadata_is_stored_and_read_back() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("meta", 3, 1)
        .build()
        .await
        .unwrap();
    let c = consumer(&cluster, "g-meta");
    c.commit_offsets_with_metadata(&[("meta", 0, 5, "checkpoint-a"), ("meta", 1, 7, "")])
        .await
        .unwrap();
    let got = c
        .committed_with_metadata(
            &[("meta", 0), ("meta", 1), ("meta", 2)],
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    let view: Vec<(i32, Option<i64>, &str)> = got
        .iter()
        .map(|x| (x.partition, x.offset, x.metadata.as_str()))
        .collect();
    assert_eq!(
        view,
        vec![
            (0, Some(5), "checkpoint-a"),
            (1, Some(7), ""),
            (2, None, "")
        ]
    );
    // A later commit without metadata replaces it.
    c.commit_offsets(&[("meta", 0, 6)]).await.unwrap();
    let got = c
        .committed_with_metadata(&[("meta", 0)], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((got[0].offset, got[0].metadata.as_str()), (Some(6), ""));
    assert_eq!(
        c.committed(&[("meta", 0)], Duration::from_secs(5))
            .await
            .unwrap(),
        vec![("meta".to_string(), 0, Some(6))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_offsets_are_committed_with_their_leader_epoch() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("epoch", 1, 2)
        .build()
        .await
        .unwrap();
    // A leader move makes the partition's epoch differ from its first one.
    let leader = cluster.partition_leader("epoch", 0).unwrap();
    cluster
        .move_leader("epoch", 0, if leader == 1 { 2 } else { 1 })
        .unwrap();
    support::produce_values(&cluster, "epoch", 0..3, 1).await;
    let c = consumer(&cluster, "g-epoch");
    c.subscribe(&["epoch"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while last
        .as_ref()
        .is_none_or(|m: &ferrokafka::consumer::Message| m.offset < 2)
    {
        assert!(Instant::now() < deadline, "never consumed the records");
        if let Ok(Ok(m)) = timeout(Duration::from_millis(100), c.recv()).await {
            last = Some(m);
        }
    }
    let last = last.unwrap();
    let epoch = last.leader_epoch.expect("records carry their leader epoch");
    assert!(epoch > 0, "the leader move raised the epoch: {epoch}");
    c.commit().await.unwrap();
    let got = c
        .committed_with_metadata(&[("epoch", 0)], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got[0].offset, Some(3));
    assert_eq!(got[0].leader_epoch, Some(epoch));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_commits_of_the_position_carry_the_consumed_leader_epoch() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("epoch-x", 1, 2)
        .build()
        .await
        .unwrap();
    let leader = cluster.partition_leader("epoch-x", 0).unwrap();
    cluster
        .move_leader("epoch-x", 0, if leader == 1 { 2 } else { 1 })
        .unwrap();
    support::produce_values(&cluster, "epoch-x", 0..3, 1).await;
    // Nothing stored: the epoch can only come from the consumed position.
    let c = std::sync::Arc::new(
        Consumer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .set("group.id", "g-epoch-x")
                .set("auto.offset.reset", "earliest")
                .set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false")
                .set("fetch.wait.max.ms", "50"),
        )
        .unwrap(),
    );
    c.subscribe(&["epoch-x"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while last
        .as_ref()
        .is_none_or(|m: &ferrokafka::consumer::Message| m.offset < 2)
    {
        assert!(Instant::now() < deadline, "never consumed the records");
        if let Ok(Ok(m)) = timeout(Duration::from_millis(100), c.recv()).await {
            last = Some(m);
        }
    }
    let epoch = last
        .unwrap()
        .leader_epoch
        .expect("records carry their leader epoch");
    assert!(epoch > 0, "the leader move raised the epoch: {epoch}");
    let read = || async {
        let got = c
            .committed_with_metadata(&[("epoch-x", 0)], Duration::from_secs(5))
            .await
            .unwrap();
        (got[0].offset, got[0].leader_epoch)
    };

    c.commit_offsets(&[("epoch-x", 0, 3)]).await.unwrap();
    assert_eq!(read().await, (Some(3), Some(epoch)));
    // Another offset than the position: the epoch is not known.
    c.commit_offsets(&[("epoch-x", 0, 1)]).await.unwrap();
    assert_eq!(read().await, (Some(1), None));
    c.commit_offsets_with_metadata(&[("epoch-x", 0, 3, "m")])
        .await
        .unwrap();
    assert_eq!(read().await, (Some(3), Some(epoch)));
    let blocking = c.clone();
    // Outside the runtime, as the blocking call requires.
    let t = std::thread::spawn(move || blocking.commit_offsets_blocking(&[("epoch-x", 0, 3)]));
    tokio::task::spawn_blocking(move || t.join())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(read().await, (Some(3), Some(epoch)));
}
