//! Issue 13 item 2: a short outage of the group coordinator's broker.
//! The members find the coordinator again (the mock hands the group to a
//! broker that is up, and back when the first returns) and carry on in
//! the same generation: no rebalance, no callbacks, commits resume; a
//! close during the outage still makes its final commit.

mod support;

use ferrokafka::consumer::{Consumer, Rebalance};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{sleep, timeout, Instant};

const PARTITIONS: i32 = 6;

fn member(cluster: &MockCluster, group: &str, commit_every_ms: u64) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("heartbeat.interval.ms", "200")
            .set("session.timeout.ms", "10000")
            .set("auto.commit.interval.ms", commit_every_ms.to_string())
            .set("fetch.wait.max.ms", "50")
            .set("reconnect.backoff.ms", "50")
            .set("reconnect.backoff.max.ms", "500"),
    )
    .unwrap()
}

/// Counts the rebalance callbacks of a member.
fn count_callbacks(c: &Consumer) -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    c.set_rebalance_callback(move |_, _: &Rebalance| {
        seen.fetch_add(1, Ordering::SeqCst);
    });
    n
}

/// Polls every member (they must poll to stay in the group) until `done`
/// holds or `within` is over; returns whether it held.
async fn pump<F, Fut>(members: &[&Consumer], within: Duration, mut done: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        for c in members {
            for _ in 0..1000 {
                if c.try_recv().is_none() {
                    break;
                }
            }
        }
        if done().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(50)).await;
    }
}

/// The sum of the group's committed offsets over the topic's partitions.
async fn committed_sum(c: &Consumer, topic: &str) -> i64 {
    let parts: Vec<(&str, i32)> = (0..PARTITIONS).map(|p| (topic, p)).collect();
    match c.committed(&parts, Duration::from_secs(1)).await {
        Ok(v) => v.iter().map(|x| x.2.unwrap_or(0)).sum(),
        Err(_) => -1,
    }
}

async fn settled(cluster: &MockCluster, topic: &str, group: &str, every: u64) -> [Consumer; 2] {
    cluster.create_topic(topic, PARTITIONS, 1).unwrap();
    support::produce_values(cluster, topic, 0..60, PARTITIONS).await;
    let a = member(cluster, group, every);
    let b = member(cluster, group, every);
    a.subscribe(&[topic]).unwrap();
    b.subscribe(&[topic]).unwrap();
    let both = pump(&[&a, &b], Duration::from_secs(20), || async {
        a.assignment().len() + b.assignment().len() == PARTITIONS as usize
            && !a.assignment().is_empty()
            && !b.assignment().is_empty()
    })
    .await;
    assert!(both, "the two members share the partitions");
    [a, b]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_outage_keeps_the_generation_and_commits_resume() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let (topic, group) = ("blip", "g-blip");
    let [a, b] = settled(&cluster, topic, group, 100).await;
    let committed = pump(&[&a, &b], Duration::from_secs(20), || async {
        committed_sum(&a, topic).await == 60
    })
    .await;
    assert!(committed, "the first 60 records are committed");
    let generation = cluster.group_generation(group);
    let (owned_a, owned_b) = (a.assignment(), b.assignment());
    while a.next_rebalance().is_some() || b.next_rebalance().is_some() {}
    let calls_a = count_callbacks(&a);
    let calls_b = count_callbacks(&b);

    // The coordinator's broker is down for 3 s.
    let coordinator = cluster.coordinator(group).unwrap();
    cluster.broker_down(coordinator).unwrap();
    pump(&[&a, &b], Duration::from_secs(3), || async { false }).await;
    cluster.broker_up(coordinator).unwrap();
    let up = Instant::now();

    support::produce_values(&cluster, topic, 60..120, PARTITIONS).await;
    let resumed = pump(&[&a, &b], Duration::from_secs(15), || async {
        committed_sum(&a, topic).await == 120
    })
    .await;
    let took = up.elapsed();
    eprintln!("commits of the records produced after the outage complete {took:?} after it");
    assert!(
        resumed,
        "commits resumed after the outage (committed {})",
        committed_sum(&a, topic).await
    );
    // Give a late rejoin every chance to show.
    pump(&[&a, &b], Duration::from_secs(1), || async { false }).await;
    assert_eq!(
        cluster.group_generation(group),
        generation,
        "no rebalance: the generation stayed"
    );
    assert_eq!((a.assignment(), b.assignment()), (owned_a, owned_b));
    assert_eq!(
        (a.next_rebalance(), b.next_rebalance()),
        (None, None),
        "no rebalance event"
    );
    assert_eq!(
        (
            calls_a.load(Ordering::SeqCst),
            calls_b.load(Ordering::SeqCst)
        ),
        (0, 0),
        "no rebalance callback"
    );
    timeout(Duration::from_secs(10), a.close())
        .await
        .unwrap()
        .unwrap();
    timeout(Duration::from_secs(10), b.close())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_during_the_outage_makes_its_final_commit() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let (topic, group) = ("blip-close", "g-blip-close");
    // Auto commits far apart: what is consumed stays for close to commit.
    let [a, b] = settled(&cluster, topic, group, 600_000).await;
    let pos = |c: &Consumer| -> i64 {
        c.assignment()
            .iter()
            .map(|tp| c.position(tp.topic(), tp.partition()).unwrap_or(0))
            .sum()
    };
    let all = pump(&[&a, &b], Duration::from_secs(20), || async {
        pos(&a) + pos(&b) == 60
    })
    .await;
    assert!(all, "the first records consumed");
    // Records consumed in this generation, not committed before close.
    support::produce_values(&cluster, topic, 60..120, PARTITIONS).await;
    let all = pump(&[&a, &b], Duration::from_secs(20), || async {
        pos(&a) + pos(&b) == 120
    })
    .await;
    assert!(all, "every record consumed");
    assert!(
        committed_sum(&a, topic).await < 120,
        "left for close to commit"
    );
    let coordinator = cluster.coordinator(group).unwrap();
    cluster.broker_down(coordinator).unwrap();
    sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    let r = timeout(
        Duration::from_secs(10),
        a.close_within(Duration::from_secs(5)),
    )
    .await
    .expect("close returns within its timeout");
    eprintln!("close during the outage took {:?}: {r:?}", t0.elapsed());
    r.expect("the final commit goes to the new coordinator");
    let r = timeout(
        Duration::from_secs(10),
        b.close_within(Duration::from_secs(5)),
    )
    .await
    .expect("close returns within its timeout");
    r.expect("the final commit goes to the new coordinator");
    cluster.broker_up(coordinator).unwrap();
    let reader = member(&cluster, group, 100);
    assert_eq!(
        committed_sum(&reader, topic).await,
        120,
        "both final commits are stored"
    );
}

/// OffsetCommit answered NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, or
/// failed on the transport, is sent again to the coordinator found anew,
/// within the commit's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_failed_for_the_coordinator_are_sent_again() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let (topic, group) = ("blip-retry", "g-blip-retry");
    cluster.create_topic(topic, PARTITIONS, 1).unwrap();
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("enable.auto.commit", "false"),
    )
    .unwrap();
    const OFFSET_COMMIT: i16 = 8;
    // NOT_COORDINATOR, then COORDINATOR_NOT_AVAILABLE.
    cluster.push_request_errors(OFFSET_COMMIT, &[16, 15]);
    c.commit_offsets(&[(topic, 0, 5)]).await.unwrap();
    // The coordinator's broker goes down (the client still has it cached):
    // the transport error sends the commit to the one found anew.
    let coordinator = cluster.coordinator(group).unwrap();
    cluster.broker_down(coordinator).unwrap();
    c.commit_offsets(&[(topic, 1, 7)]).await.unwrap();
    assert_ne!(cluster.coordinator(group), Some(coordinator));
    let got = c
        .committed(&[(topic, 0), (topic, 1)], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|x| x.2).collect::<Vec<_>>(),
        vec![Some(5), Some(7)]
    );
}

/// A close right as the coordinator's broker goes down, before the member
/// noticed: the final commit and the LeaveGroup both go to the
/// coordinator found anew.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_as_the_coordinator_goes_down_commits_and_leaves() {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let (topic, group) = ("blip-now", "g-blip-now");
    let [a, b] = settled(&cluster, topic, group, 600_000).await;
    let pos = |c: &Consumer| -> i64 {
        c.assignment()
            .iter()
            .map(|tp| c.position(tp.topic(), tp.partition()).unwrap_or(0))
            .sum()
    };
    let all = pump(&[&a, &b], Duration::from_secs(20), || async {
        pos(&a) + pos(&b) == 60
    })
    .await;
    assert!(all, "every record consumed");
    let coordinator = cluster.coordinator(group).unwrap();
    cluster.broker_down(coordinator).unwrap();
    let r = timeout(
        Duration::from_secs(10),
        a.close_within(Duration::from_secs(5)),
    )
    .await
    .expect("close returns within its timeout");
    r.expect("final commit and LeaveGroup at the new coordinator");
    // b, left alone, gets every partition well before its session ends.
    let alone = pump(&[&b], Duration::from_secs(8), || async {
        b.assignment().len() == PARTITIONS as usize
    })
    .await;
    assert!(alone, "the remaining member takes the partitions over");
    b.close_within(Duration::from_secs(5)).await.unwrap();
}
