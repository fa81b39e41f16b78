//! Issue 13 item 6: a consumer that creates no topics hears of a missing
//! one at once (kcat: 0.01 s), not after the 30 s propagation window meant
//! for producers racing a topic's creation; one that may create topics,
//! or was told a window, still waits it out.

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use tokio::time::{timeout, Instant};

/// Well under the 30 s window; generous for a loaded machine.
const AT_ONCE: Duration = Duration::from_secs(2);

async fn cluster() -> MockCluster {
    MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .topic("present", 1, 1)
        .build()
        .await
        .unwrap()
}

fn consumer(cluster: &MockCluster, extra: &[(&str, &str)]) -> Consumer {
    let mut c = ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers());
    for (k, v) in extra {
        c = c.set(*k, *v);
    }
    Consumer::new(&c).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_of_a_missing_topic_are_refused_at_once() {
    let cluster = cluster().await;
    let c = consumer(&cluster, &[]);
    let t0 = Instant::now();
    let r = timeout(
        Duration::from_secs(40),
        c.partitions_for("absent", Duration::from_secs(30)),
    )
    .await
    .expect("answers within its timeout");
    let took = t0.elapsed();
    let e = r.expect_err("the topic does not exist");
    eprintln!("missing topic reported after {took:?}: {e}");
    assert_eq!(e.code(), ErrorCode::UnknownTopic, "{e}");
    assert!(e.message().contains("absent"), "names the topic: {e}");
    assert!(took < AT_ONCE, "reported after {took:?}");
    // An existing topic is still served.
    assert_eq!(
        c.partitions_for("present", Duration::from_secs(5))
            .await
            .unwrap(),
        vec![0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assigned_partition_of_a_missing_topic_reports_an_error_event() {
    let cluster = cluster().await;
    let c = consumer(&cluster, &[]);
    let t0 = Instant::now();
    c.assign(&[("absent", 0, Offset::Beginning)]).unwrap();
    let item = timeout(Duration::from_secs(40), c.recv())
        .await
        .expect("an event arrives");
    let took = t0.elapsed();
    let e = item.expect_err("an error event, not a message");
    eprintln!("assigned missing topic reported after {took:?}: {e}");
    assert_eq!(e.code(), ErrorCode::UnknownTopicOrPartition, "{e}");
    assert_eq!(e.topic(), Some("absent"));
    assert_eq!(e.partition_id(), Some(0));
    assert!(e.to_string().contains("absent"), "names the topic: {e}");
    assert!(took < AT_ONCE, "reported after {took:?}");
    // Reported once, not once per poll.
    assert!(
        timeout(Duration::from_millis(500), c.recv()).await.is_err(),
        "one event per partition"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_propagation_window_is_honoured() {
    let cluster = cluster().await;
    let c = consumer(&cluster, &[("topic.metadata.propagation.max.ms", "1500")]);
    let t0 = Instant::now();
    let e = c
        .partitions_for("absent", Duration::from_secs(10))
        .await
        .expect_err("missing");
    assert_eq!(e.code(), ErrorCode::UnknownTopic, "{e}");
    assert!(
        t0.elapsed() >= Duration::from_millis(1400),
        "waited the window the application asked for: {:?}",
        t0.elapsed()
    );
}
