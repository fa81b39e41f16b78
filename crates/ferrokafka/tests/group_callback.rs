//! The rebalance callback gets the consumer: committing on revoke inside it
//! persists offsets the next owner starts from (on a multi-thread and on a
//! current-thread runtime, where a blocking commit must not deadlock the
//! group task), and an assign inside it changes where fetching starts.

mod support;

use ferrokafka::consumer::{Consumer, Message, Offset, Rebalance};
use ferrokafka::{ClientConfig, TopicPartition};
use ferrokafka_mock::MockCluster;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::{timeout, Instant};

const PARTITIONS: i32 = 2;

async fn produce(cluster: &MockCluster, topic: &str, per_partition: usize) {
    let n = per_partition * PARTITIONS as usize;
    support::produce_values(cluster, topic, 0..n, PARTITIONS).await;
}

fn member(cluster: &MockCluster, group: &str) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("partition.assignment.strategy", "range")
            .set("auto.offset.reset", "earliest")
            // Nothing is committed unless the callback does it.
            .set("enable.auto.commit", "false")
            .set("heartbeat.interval.ms", "100")
            .set("session.timeout.ms", "6000")
            .set("fetch.wait.max.ms", "50"),
    )
    .unwrap()
}

/// Receives up to `n` messages from `c` within 20 s, polling `others` to
/// keep them in the group.
async fn receive(c: &Consumer, others: &[&Consumer], n: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        if let Ok(Ok(m)) = timeout(Duration::from_millis(50), c.recv()).await {
            got.push(m);
        }
        for o in others {
            let _ = o.try_recv();
        }
    }
    got
}

/// What the callback saw of one `Revoked` event.
#[derive(Debug)]
struct Seen {
    revoked: Vec<TopicPartition>,
    still_assigned: bool,
    commit: Result<(), String>,
}

async fn commit_on_revoke(group: &str) {
    let topic = format!("cb-{group}");
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic(&topic, PARTITIONS, 1)
        .build()
        .await
        .unwrap();
    produce(&cluster, &topic, 10).await;
    let a = member(&cluster, group);
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    a.set_rebalance_callback(move |c, ev| {
        if let Rebalance::Revoked(parts) = ev {
            let assigned = c.assignment();
            log.lock().unwrap().push(Seen {
                revoked: parts.clone(),
                still_assigned: parts.iter().all(|p| assigned.contains(p)),
                commit: c.commit_blocking().map_err(|e| e.to_string()),
            });
        }
    });
    a.subscribe(&[&topic]).unwrap();
    let first = receive(&a, &[], 20).await;
    assert_eq!(first.len(), 20, "the only member reads everything");
    // A second member makes the (eager) group revoke everything from the
    // first one, which commits in its callback.
    let b = member(&cluster, group);
    b.subscribe(&[&topic]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while a.assignment().len() != 1 || b.assignment().len() != 1 {
        assert!(
            Instant::now() < deadline,
            "never shared: {:?} {:?}",
            a.assignment(),
            b.assignment()
        );
        let _ = a.try_recv();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        let seen = seen.lock().unwrap();
        let s = seen.first().expect("a Revoked event reached the callback");
        assert_eq!(s.revoked.len(), PARTITIONS as usize, "{seen:?}");
        assert!(
            s.still_assigned,
            "revoked partitions are assigned during the callback"
        );
        assert_eq!(s.commit, Ok(()), "{seen:?}");
    }
    let parts: Vec<(&str, i32)> = (0..PARTITIONS).map(|p| (topic.as_str(), p)).collect();
    let committed = b.committed(&parts, Duration::from_secs(5)).await.unwrap();
    for (_, p, o) in &committed {
        assert_eq!(*o, Some(10), "partition {p}: {committed:?}");
    }
    // Without the callback's commit, b would start at 0 (earliest).
    produce(&cluster, &topic, 1).await;
    let next = receive(&b, &[&a], 1).await;
    assert_eq!(next.first().map(|m| m.offset), Some(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_on_revoke_in_the_callback_is_where_the_next_member_starts() {
    commit_on_revoke("g-cb-mt").await;
}

#[tokio::test(flavor = "current_thread")]
async fn commit_on_revoke_in_the_callback_works_on_a_current_thread_runtime() {
    commit_on_revoke("g-cb-ct").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigning_in_the_callback_sets_the_start_offset() {
    let topic = "cb-assign";
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic(topic, PARTITIONS, 1)
        .build()
        .await
        .unwrap();
    produce(&cluster, topic, 10).await;
    let a = member(&cluster, "g-cb-assign");
    a.set_rebalance_callback(|c, ev| {
        if let Rebalance::Assigned(parts) = ev {
            let from: Vec<(&str, i32, Offset)> = parts
                .iter()
                .map(|tp| (tp.topic(), tp.partition(), Offset::Offset(7)))
                .collect();
            c.incremental_assign(&from).unwrap();
        }
    });
    a.subscribe(&[topic]).unwrap();
    let got = receive(&a, &[], 6).await;
    assert_eq!(got.len(), 6);
    assert!(
        got.iter().all(|m| m.offset >= 7),
        "{:?}",
        got.iter().map(|m| m.offset).collect::<Vec<_>>()
    );
}
