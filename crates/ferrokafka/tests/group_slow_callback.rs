//! Slowness around a rebalance: a rebalance callback longer than
//! `session.timeout.ms` does not cost the member its assignment (the group
//! task heartbeats while it runs), and a coordinator that never answers a
//! JoinGroup is given up after the rebalance timeout plus 5 s.

use ferrokafka::consumer::{Consumer, Rebalance};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

const SESSION_MS: u64 = 1500;
/// How long the callback takes: well over the session timeout.
const CALLBACK_MS: u64 = 2500;

fn member(cluster: &MockCluster, group: &str) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("partition.assignment.strategy", "range")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", SESSION_MS.to_string())
            .set("heartbeat.interval.ms", "300")
            .set("fetch.wait.max.ms", "50"),
    )
    .unwrap()
}

/// Polls the consumers until `done` holds, for at most `limit`.
async fn until(cs: &[&Consumer], limit: Duration, done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        for c in cs {
            let _ = c.try_recv();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_longer_than_the_session_keeps_the_assignment() {
    let topic = "slow-cb";
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic(topic, 2, 1)
        .build()
        .await
        .unwrap();
    let group = "g-slow-cb";
    let b = member(&cluster, group);
    b.subscribe(&[topic]).unwrap();
    assert!(
        until(&[&b], Duration::from_secs(20), || b.assignment().len() == 2).await,
        "the first member never got both partitions: {:?}",
        b.assignment()
    );

    let a = member(&cluster, group);
    let events: Arc<Mutex<Vec<Rebalance>>> = Arc::default();
    let slept = Arc::new(AtomicBool::new(false));
    let (log, flag) = (events.clone(), slept.clone());
    a.set_rebalance_callback(move |_, ev| {
        log.lock().unwrap().push(ev.clone());
        if matches!(ev, Rebalance::Assigned(p) if !p.is_empty()) && !flag.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(CALLBACK_MS));
            flag.store(true, Ordering::SeqCst);
        }
    });
    a.subscribe(&[topic]).unwrap();
    assert!(
        until(&[&a, &b], Duration::from_secs(20), || slept
            .load(Ordering::SeqCst))
        .await,
        "the callback never ran for an assignment: {:?}",
        events.lock().unwrap()
    );

    // Longer than a session: an expired member would have been dropped,
    // its partitions handed to b, and a told they were lost.
    let watch = Instant::now() + Duration::from_millis(2 * SESSION_MS);
    while Instant::now() < watch {
        let (ra, rb) = (a.assignment(), b.assignment());
        assert_eq!(ra.len(), 1, "a's assignment changed: {ra:?} (b {rb:?})");
        assert_eq!(rb.len(), 1, "b's assignment changed: {rb:?} (a {ra:?})");
        let _ = a.try_recv();
        let _ = b.try_recv();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = events.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![Rebalance::Assigned(a.assignment())],
        "a saw more than its one assignment"
    );
    // b gave both back once (eager) and got one back: no second rebalance.
    let mut b_events = Vec::new();
    while let Some(e) = b.next_rebalance() {
        b_events.push(e);
    }
    assert_eq!(b_events.len(), 3, "{b_events:?}");
    assert_eq!(b_events[2], Rebalance::Assigned(b.assignment()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_join_is_given_up_after_the_rebalance_timeout_and_five_seconds() {
    let topic = "silent-join";
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic(topic, 2, 1)
        .build()
        .await
        .unwrap();
    const MAX_POLL_MS: u64 = 1500;
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "g-silent-join")
            .set("enable.auto.commit", "false")
            .set("max.poll.interval.ms", MAX_POLL_MS.to_string())
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "300")
            // Below 5 s: the join's own bound is the rebalance timeout + 5 s.
            .set("socket.timeout.ms", "2000")
            .set("fetch.wait.max.ms", "50"),
    )
    .unwrap();
    // JoinGroup (API key 11): the first answer never comes.
    cluster.drop_next_responses(11, 1);
    let t0 = Instant::now();
    c.subscribe(&[topic]).unwrap();
    assert!(
        until(&[&c], Duration::from_secs(30), || c.assignment().len() == 2).await,
        "never joined after the silent JoinGroup"
    );
    let took = t0.elapsed();
    let bound = Duration::from_millis(MAX_POLL_MS + 5000);
    // Given up no sooner than the bound (not after the 2 s request
    // timeout), and rejoined soon after it.
    assert!(took >= bound, "joined after {took:?}, before {bound:?}");
    assert!(
        took < bound + Duration::from_secs(8),
        "joined only after {took:?}"
    );
}
