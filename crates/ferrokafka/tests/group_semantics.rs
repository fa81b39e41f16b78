//! Group semantics against the embedded mock: static membership keeps the
//! assignment across a restart, a duplicate group.instance.id fences the
//! old member (fatal), max.poll.interval.ms expiry, at-least-once with
//! manual offset storing.

mod support;

use ferrokafka::consumer::{Consumer, Rebalance};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use tokio::time::{timeout, Instant};

fn member(cluster: &MockCluster, group: &str, extra: &[(&str, &str)]) -> Consumer {
    let mut c = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("heartbeat.interval.ms", "100")
        .set("session.timeout.ms", "3000")
        .set("fetch.wait.max.ms", "50");
    for (k, v) in extra {
        c = c.set(*k, *v);
    }
    Consumer::new(&c).unwrap()
}

/// Polls (keeping the members alive) until `cond` holds, at most 20 s.
async fn until(members: &[&Consumer], what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        for c in members {
            while let Some(Ok(_)) = c.try_recv() {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_restart_keeps_its_partitions_without_rebalance() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("st", 4, 1)
        .build()
        .await
        .unwrap();
    let a = member(&cluster, "g-static", &[("group.instance.id", "i-a")]);
    let b = member(&cluster, "g-static", &[("group.instance.id", "i-b")]);
    a.subscribe(&["st"]).unwrap();
    b.subscribe(&["st"]).unwrap();
    until(&[&a, &b], "a shared assignment", || {
        a.assignment().len() == 2 && b.assignment().len() == 2
    })
    .await;
    let before = a.assignment();
    while b.next_rebalance().is_some() {}
    // A static member's close sends no LeaveGroup.
    a.close().await.unwrap();
    drop(a);
    let a2 = member(&cluster, "g-static", &[("group.instance.id", "i-a")]);
    a2.subscribe(&["st"]).unwrap();
    until(&[&a2, &b], "the restarted member's partitions", || {
        !a2.assignment().is_empty()
    })
    .await;
    assert_eq!(a2.assignment(), before, "same partitions after the restart");
    // The other member saw no rebalance.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = b.try_recv();
    assert_eq!(b.next_rebalance(), None);
    assert_eq!(b.assignment().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_instance_id_fences_the_old_member() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("fence", 2, 1)
        .build()
        .await
        .unwrap();
    let old = member(&cluster, "g-fence", &[("group.instance.id", "dup")]);
    old.subscribe(&["fence"]).unwrap();
    until(&[&old], "the first member's assignment", || {
        old.assignment().len() == 2
    })
    .await;
    let new = member(&cluster, "g-fence", &[("group.instance.id", "dup")]);
    new.subscribe(&["fence"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let fatal = loop {
        assert!(Instant::now() < deadline, "the old member was never fenced");
        let _ = new.try_recv();
        if let Ok(Err(e)) = timeout(Duration::from_millis(50), old.recv()).await {
            if e.code() == ErrorCode::FencedInstanceId {
                break e;
            }
        }
    };
    assert!(fatal.error().is_fatal(), "{fatal}");
    assert!(old.assignment().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_polling_within_max_poll_interval_leaves_the_group() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("mp", 2, 1)
        .build()
        .await
        .unwrap();
    let slow = member(
        &cluster,
        "g-mp",
        &[
            ("max.poll.interval.ms", "3000"),
            ("session.timeout.ms", "3000"),
        ],
    );
    let other = member(&cluster, "g-mp", &[]);
    slow.subscribe(&["mp"]).unwrap();
    other.subscribe(&["mp"]).unwrap();
    until(&[&slow, &other], "a shared assignment", || {
        slow.assignment().len() == 1 && other.assignment().len() == 1
    })
    .await;
    // `slow` stops polling; `other` keeps going and takes everything.
    let deadline = Instant::now() + Duration::from_secs(20);
    while other.assignment().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the other member never took over"
        );
        let _ = other.try_recv();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(slow.assignment().is_empty());
    let e = timeout(Duration::from_secs(5), slow.recv())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::MaxPollExceeded, "{e}");
    let mut revoked = false;
    while let Some(ev) = slow.next_rebalance() {
        revoked |= matches!(ev, Rebalance::Revoked(_));
    }
    assert!(revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_store_offset_gives_at_least_once() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("alo", 1, 1)
        .build()
        .await
        .unwrap();
    support::produce_values(&cluster, "alo", 0..10, 1).await;
    let opts = [
        ("enable.auto.offset.store", "false"),
        ("auto.commit.interval.ms", "100"),
    ];
    let c = member(&cluster, "g-alo", &opts);
    c.subscribe(&["alo"]).unwrap();
    // Processes all ten, but only the first five are "done".
    for i in 0..10 {
        let m = timeout(Duration::from_secs(20), c.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.offset, i);
        if i < 5 {
            c.store_offset(&m).unwrap();
        }
    }
    c.close().await.unwrap();
    let committed = c
        .committed(&[("alo", 0)], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(committed, vec![("alo".to_string(), 0, Some(5))]);
    // The next member resumes at the first unfinished record.
    let d = member(&cluster, "g-alo", &opts);
    d.subscribe(&["alo"]).unwrap();
    let m = timeout(Duration::from_secs(20), d.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.offset, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_subscribed_topic_is_reported_once() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .topic("here", 2, 1)
        .build()
        .await
        .unwrap();
    let c = member(
        &cluster,
        "g-unknown",
        &[
            ("topic.metadata.refresh.interval.ms", "200"),
            // Unknown topics are reported once this has passed (librdkafka).
            ("topic.metadata.propagation.max.ms", "300"),
        ],
    );
    c.subscribe(&["here", "nowhere"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut errors = Vec::new();
    while Instant::now() < deadline {
        if let Ok(Err(e)) = timeout(Duration::from_millis(50), c.recv()).await {
            errors.push(e);
        }
    }
    let unknown: Vec<_> = errors
        .iter()
        .filter(|e| e.code() == ErrorCode::UnknownTopicOrPartition)
        .collect();
    assert_eq!(unknown.len(), 1, "{errors:?}");
    assert!(unknown[0].to_string().contains("nowhere"), "{}", unknown[0]);
    assert_eq!(c.assignment().len(), 2, "the existing topic is consumed");
}
