//! Consumer groups against the embedded mock cluster: members share a
//! topic's partitions with each assignor, a leaving member's partitions
//! move to the others, and close() stays bounded with the coordinator down.

mod support;

use ferrokafka::consumer::{Consumer, Rebalance};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::{timeout, Instant};

const PARTITIONS: i32 = 6;

async fn produce(cluster: &MockCluster, topic: &str, from: usize, n: usize) {
    support::produce_values(cluster, topic, from..from + n, PARTITIONS).await;
}

fn member(cluster: &MockCluster, group: &str, assignor: &str) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("partition.assignment.strategy", assignor)
            .set("auto.offset.reset", "earliest")
            .set("heartbeat.interval.ms", "100")
            .set("session.timeout.ms", "6000")
            .set("max.poll.interval.ms", "10000")
            .set("auto.commit.interval.ms", "100")
            .set("fetch.wait.max.ms", "50"),
    )
    .unwrap()
}

/// Receives from every member until `want` distinct values were seen or
/// the time is over; returns the values seen by each member.
async fn consume_all(
    members: &[&Consumer],
    want: &BTreeSet<String>,
    within: Duration,
    mut seen: Vec<BTreeSet<String>>,
) -> Vec<BTreeSet<String>> {
    let deadline = Instant::now() + within;
    let done =
        |seen: &Vec<BTreeSet<String>>| want.iter().all(|v| seen.iter().any(|s| s.contains(v)));
    while Instant::now() < deadline && !done(&seen) {
        for (i, c) in members.iter().enumerate() {
            if let Ok(Ok(m)) = timeout(Duration::from_millis(20), c.recv()).await {
                if let Some(v) = m.value() {
                    seen[i].insert(String::from_utf8_lossy(v).to_string());
                }
            }
        }
    }
    seen
}

async fn wait_assigned(members: &[&Consumer], total: usize, seen: &mut Vec<BTreeSet<String>>) {
    seen.resize(members.len(), BTreeSet::new());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: usize = members.iter().map(|c| c.assignment().len()).sum();
        let disjoint = {
            let mut all = BTreeSet::new();
            members
                .iter()
                .all(|c| c.assignment().into_iter().all(|p| all.insert(p)))
        };
        let everyone = members.iter().all(|c| !c.assignment().is_empty());
        if n == total && disjoint && everyone {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "assignment never settled: {:?}",
            members.iter().map(|c| c.assignment()).collect::<Vec<_>>()
        );
        // Members must poll to stay in the group.
        for (i, c) in members.iter().enumerate() {
            while let Some(Ok(m)) = c.try_recv() {
                if let Some(v) = m.value() {
                    seen[i].insert(String::from_utf8_lossy(v).to_string());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn share_and_take_over(assignor: &str) {
    let cluster = MockCluster::builder().brokers(3).build().await.unwrap();
    let topic = format!("share-{assignor}");
    cluster.create_topic(&topic, PARTITIONS, 1).unwrap();
    produce(&cluster, &topic, 0, 60).await;
    let group = format!("g-{assignor}");
    let a = member(&cluster, &group, assignor);
    let b = member(&cluster, &group, assignor);
    a.subscribe(&[&topic]).unwrap();
    b.subscribe(&[&topic]).unwrap();
    let mut seen = Vec::new();
    wait_assigned(&[&a, &b], PARTITIONS as usize, &mut seen).await;
    assert!(
        !a.assignment().is_empty() && !b.assignment().is_empty(),
        "{assignor}: both members get partitions"
    );
    let first: BTreeSet<String> = (0..60).map(|i| format!("v{i}")).collect();
    let seen = consume_all(&[&a, &b], &first, Duration::from_secs(20), seen).await;
    let union: BTreeSet<_> = seen.iter().flatten().cloned().collect();
    if union.len() != 60 {
        let missing: Vec<usize> = (0..60)
            .filter(|i| !union.contains(&format!("v{i}")))
            .collect();
        eprintln!(
            "missing {missing:?}; a {:?} b {:?}",
            a.assignment(),
            b.assignment()
        );
        for tp in a.assignment().iter().chain(b.assignment().iter()) {
            let (t, p) = (tp.topic(), &tp.partition());
            eprintln!(
                "{t} {p}: a {:?} b {:?}",
                a.position(t, *p),
                b.position(t, *p)
            );
        }
    }
    assert_eq!(union.len(), 60, "{assignor}: every record consumed");
    // b leaves: a takes over everything, including records produced later.
    timeout(Duration::from_secs(10), b.close())
        .await
        .unwrap()
        .unwrap();
    produce(&cluster, &topic, 60, 30).await;
    let mut seen_a = vec![BTreeSet::new()];
    wait_assigned(&[&a], PARTITIONS as usize, &mut seen_a).await;
    let second: BTreeSet<String> = (60..90).map(|i| format!("v{i}")).collect();
    let later = consume_all(&[&a], &second, Duration::from_secs(20), seen_a).await;
    let later: BTreeSet<_> = later[0]
        .iter()
        .filter(|v| v[1..].parse::<usize>().unwrap() >= 60)
        .collect();
    assert_eq!(
        later.len(),
        30,
        "{assignor}: the remaining member consumes the leaver's partitions"
    );
    let mut events = Vec::new();
    while let Some(e) = a.next_rebalance() {
        events.push(e);
    }
    assert!(events.iter().any(|e| matches!(e, Rebalance::Assigned(_))));
    a.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_members_share_and_take_over() {
    share_and_take_over("range").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roundrobin_members_share_and_take_over() {
    share_and_take_over("roundrobin").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cooperative_sticky_members_share_and_take_over() {
    share_and_take_over("cooperative-sticky").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_bounded_with_the_coordinator_down() {
    let cluster = MockCluster::builder().brokers(1).build().await.unwrap();
    cluster.create_topic("down", 2, 1).unwrap();
    let c = member(&cluster, "g-down", "range");
    c.subscribe(&["down"]).unwrap();
    wait_assigned(&[&c], 2, &mut Vec::new()).await;
    for id in cluster.broker_ids() {
        cluster.broker_down(id).unwrap();
    }
    let t0 = Instant::now();
    let r = timeout(
        Duration::from_secs(5),
        c.close_within(Duration::from_secs(1)),
    )
    .await
    .expect("close returns");
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "close took {:?}",
        t0.elapsed()
    );
    let _ = r;
    assert!(c.assignment().is_empty());
}
