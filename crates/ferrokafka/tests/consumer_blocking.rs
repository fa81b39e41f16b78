//! The consumer's calls from code that is not on tokio: the blocking
//! forms (`close_blocking`, `unsubscribe_blocking`, `committed_blocking`,
//! `commit_message_blocking`), and the async ones awaited from another
//! executor, which must not panic for want of a tokio reactor.

use ferrokafka::consumer::Consumer;
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// The smallest executor that is not tokio: polls `fut` on this thread,
/// parking between wake-ups.
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the future did not finish in 60 s"
        );
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

fn cluster() -> MockCluster {
    MockCluster::builder()
        .brokers(1)
        .topic("t", 2, 1)
        .build_blocking()
        .unwrap()
}

fn produce(cluster: &MockCluster, n: usize) {
    let p =
        Producer::new(&ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()))
            .unwrap();
    for i in 0..n {
        let _delivery = p
            .send(ProducerRecord::new("t").partition(0).value(format!("v{i}")))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

fn member(cluster: &MockCluster, group: &str) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("heartbeat.interval.ms", "100")
            .set("session.timeout.ms", "6000"),
    )
    .unwrap()
}

/// Polls until a record arrives (bounded).
fn first_record(c: &Consumer) -> ferrokafka::consumer::Message {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(200)) {
            return m;
        }
    }
    panic!("no record within 30 s");
}

#[test]
fn blocking_commit_message_committed_unsubscribe_and_close() {
    let cluster = cluster();
    produce(&cluster, 3);
    let c = member(&cluster, "g-blocking");
    c.subscribe(&["t"]).unwrap();
    let m = first_record(&c);
    assert_eq!((m.partition, m.offset), (0, 0));
    c.commit_message_blocking(&m).unwrap();
    let got = c
        .committed_blocking(&[("t", 0), ("t", 1)], Duration::from_secs(10))
        .unwrap();
    assert_eq!(
        got,
        vec![("t".to_string(), 0, Some(1)), ("t".to_string(), 1, None)],
        "commit_message commits the next offset of its own partition only"
    );
    c.unsubscribe_blocking().unwrap();
    assert!(c.subscription().is_empty());
    c.close_blocking(Duration::from_secs(10)).unwrap();
    assert!(c.assignment().is_empty());
}

#[test]
fn async_calls_awaited_from_another_executor_do_not_panic() {
    let cluster = cluster();
    produce(&cluster, 3);
    let c = member(&cluster, "g-executor");
    c.subscribe(&["t"]).unwrap();
    let m = first_record(&c);
    block_on(c.commit_message(&m)).unwrap();
    let got = block_on(c.committed(&[("t", 0)], Duration::from_secs(10))).unwrap();
    assert_eq!(got, vec![("t".to_string(), 0, Some(m.offset + 1))]);
    block_on(c.unsubscribe()).unwrap();
    block_on(c.close()).unwrap();
    assert!(c.assignment().is_empty());
}
