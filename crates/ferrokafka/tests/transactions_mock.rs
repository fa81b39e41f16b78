//! The transactional producer against ferrokafka-mock: librdkafka's
//! transaction scenarios (tests 0103 and 0105, by situation) as our own
//! tests. Each test is named after its situation; read_committed readers
//! must see exactly the committed records.

mod txn_support;

use ferrokafka::consumer::{Consumer, ConsumerGroupMetadata};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use std::time::Duration;
use txn_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_committed_transaction_is_read_by_read_committed() {
    let c = mock(1, "t", 3).await;
    let p = ready(&c, "tx-commit").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 3, &values("c", 9));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 3).await, sorted(values("c", 9)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_transaction_is_hidden_from_read_committed_only() {
    let c = mock(1, "t", 2).await;
    let p = ready(&c, "tx-abort").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 2, &values("a", 4));
    p.flush(T).unwrap();
    p.abort_transaction(T).await.unwrap();
    p.begin_transaction().unwrap();
    send(&p, "t", 2, &values("c", 4));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 2).await, sorted(values("c", 4)));
    let mut all = values("a", 4);
    all.extend(values("c", 4));
    assert_eq!(read_all(&c, "t", 2, "read_uncommitted").await, sorted(all));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_commits_and_aborts_are_read_exactly_once() {
    let c = mock(3, "t", 4).await;
    let p = ready(&c, "tx-alt").await;
    let mut expected = Vec::new();
    for round in 0..10 {
        p.begin_transaction().unwrap();
        let v = values(&format!("r{round}-"), 10);
        send(&p, "t", 4, &v);
        if round % 3 == 1 {
            p.abort_transaction(T).await.unwrap();
        } else {
            p.commit_transaction(T).await.unwrap();
            expected.extend(v);
        }
    }
    assert_eq!(committed(&c, "t", 4).await, sorted(expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sending_outside_a_transaction_is_refused_with_a_state_error() {
    let c = mock(1, "t", 1).await;
    let p = producer(&c, "tx-state");
    let e = p.send(ProducerRecord::new("t").value("x")).unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::State, "{}", e.error);
    assert_eq!(p.begin_transaction().unwrap_err().code(), ErrorCode::State);
    p.init_transactions(T).await.unwrap();
    let e = p.send(ProducerRecord::new("t").value("x")).unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::State, "{}", e.error);
    assert_eq!(
        p.init_transactions(T).await.unwrap_err().code(),
        ErrorCode::State
    );
    assert_eq!(
        p.commit_transaction(T).await.unwrap_err().code(),
        ErrorCode::State
    );
    assert_eq!(
        p.abort_transaction(T).await.unwrap_err().code(),
        ErrorCode::State
    );
    p.begin_transaction().unwrap();
    assert_eq!(p.begin_transaction().unwrap_err().code(), ErrorCode::State);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_transaction_commits_and_aborts() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "tx-empty").await;
    p.begin_transaction().unwrap();
    p.commit_transaction(T).await.unwrap();
    p.begin_transaction().unwrap();
    p.abort_transaction(T).await.unwrap();
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("x", 2));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 1).await, values("x", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_instance_fences_the_older_one_fatally() {
    let c = mock(1, "t", 1).await;
    let old = ready(&c, "tx-fence").await;
    old.begin_transaction().unwrap();
    send(&old, "t", 1, &values("old", 3));
    old.flush(T).unwrap();
    let new = ready(&c, "tx-fence").await;
    let e = old.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::ProducerFenced, "{e:?}");
    assert!(old.fatal_error().is_some());
    let e = old
        .send(ProducerRecord::new("t").value("zombie"))
        .unwrap_err();
    assert!(e.error.is_fatal());
    assert!(old.begin_transaction().unwrap_err().is_fatal());
    assert!(old.abort_transaction(T).await.unwrap_err().is_fatal());
    new.begin_transaction().unwrap();
    send(&new, "t", 1, &values("new", 2));
    new.commit_transaction(T).await.unwrap();
    // The old instance's open transaction was aborted by the new init.
    assert_eq!(committed(&c, "t", 1).await, values("new", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_aborts_the_open_transaction_of_the_crashed_one() {
    let c = mock(1, "t", 2).await;
    let crashed = ready(&c, "tx-restart").await;
    crashed.begin_transaction().unwrap();
    send(&crashed, "t", 2, &values("lost", 6));
    crashed.flush(T).unwrap();
    drop(crashed);
    let p = ready(&c, "tx-restart").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 2, &values("kept", 4));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 2).await, sorted(values("kept", 4)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_sent_to_a_committed_transaction_are_committed_for_the_group() {
    let c = mock(1, "t", 2).await;
    c.create_topic("in", 2, 1).unwrap();
    let p = ready(&c, "tx-offsets").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 2, &values("o", 2));
    let group = ConsumerGroupMetadata::new("g-offsets");
    p.send_offsets_to_transaction(&[("in", 0, 5), ("in", 1, 7)], &group, T)
        .await
        .unwrap();
    p.commit_transaction(T).await.unwrap();
    let consumer = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("group.id", "g-offsets"),
    )
    .unwrap();
    let got = consumer
        .committed(&[("in", 0), ("in", 1)], T)
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            ("in".to_string(), 0, Some(5)),
            ("in".to_string(), 1, Some(7))
        ]
    );
}

/// KIP-447: a read_committed consumer asks OffsetFetch for stable offsets
/// only, so while a transaction holds offsets for its group it waits for the
/// transaction's end instead of starting from the offset before it (which
/// would re-read what the transaction consumed). read_uncommitted does not
/// wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_offsets_pending_in_a_transaction_are_awaited_by_read_committed() {
    let c = mock(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "tx-stable").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("s", 2));
    let group = ConsumerGroupMetadata::new("g-stable");
    p.send_offsets_to_transaction(&[("in", 0, 5)], &group, T)
        .await
        .unwrap();
    let consumer = |isolation: &str| {
        Consumer::new(
            &ClientConfig::new()
                .set("bootstrap.servers", c.bootstrap_servers())
                .set("group.id", "g-stable")
                .set("isolation.level", isolation),
        )
        .unwrap()
    };
    let uncommitted = consumer("read_uncommitted");
    let got = uncommitted.committed(&[("in", 0)], T).await.unwrap();
    assert_eq!(got, vec![("in".to_string(), 0, None)], "read_uncommitted");
    let committed = consumer("read_committed");
    let waiting = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let got = committed.committed(&[("in", 0)], T).await;
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !waiting.is_finished(),
        "read_committed returned before the commit"
    );
    p.commit_transaction(T).await.unwrap();
    let (got, waited) = waiting.await.unwrap();
    assert_eq!(got.unwrap(), vec![("in".to_string(), 0, Some(5))]);
    assert!(
        waited >= Duration::from_millis(300),
        "waited only {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_sent_to_an_aborted_transaction_are_not_committed() {
    let c = mock(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "tx-offsets-abort").await;
    p.begin_transaction().unwrap();
    let group = ConsumerGroupMetadata::new("g-abort");
    p.send_offsets_to_transaction(&[("in", 0, 3)], &group, T)
        .await
        .unwrap();
    p.abort_transaction(T).await.unwrap();
    let consumer = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("group.id", "g-abort"),
    )
    .unwrap();
    let got = consumer.committed(&[("in", 0)], T).await.unwrap();
    assert_eq!(got, vec![("in".to_string(), 0, None)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_add_offsets_errors_are_retried() {
    let c = mock(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "tx-addoff").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(
        api::ADD_OFFSETS_TO_TXN,
        &[
            code::CONCURRENT_TRANSACTIONS,
            code::COORDINATOR_LOAD_IN_PROGRESS,
            code::NOT_COORDINATOR,
        ],
    );
    p.send_offsets_to_transaction(&[("in", 0, 1)], &ConsumerGroupMetadata::new("g"), T)
        .await
        .unwrap();
    send(&p, "t", 1, &values("x", 1));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 1).await, values("x", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_calls_work_from_a_plain_thread() {
    let c = mock(1, "t", 1).await;
    let p = producer(&c, "tx-blocking");
    let p2 = p.clone();
    let h = std::thread::spawn(move || {
        p2.init_transactions_blocking(T).unwrap();
        p2.begin_transaction().unwrap();
        let _report = p2
            .send(ProducerRecord::new("t").partition(0).value("b0"))
            .unwrap();
        p2.send_offsets_to_transaction_blocking(
            &[("t", 0, 1)],
            &ConsumerGroupMetadata::new("gb"),
            T,
        )
        .unwrap();
        p2.commit_transaction_blocking(T).unwrap();
        p2.begin_transaction().unwrap();
        let _report = p2
            .send(ProducerRecord::new("t").partition(0).value("b1"))
            .unwrap();
        p2.abort_transaction_blocking(T).unwrap();
    });
    tokio::task::spawn_blocking(move || h.join().unwrap())
        .await
        .unwrap();
    assert_eq!(committed(&c, "t", 1).await, vec!["b0".to_string()]);
    // Blocking calls from inside an async context are refused, not a hang.
    assert!(p.commit_transaction_blocking(T).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_refused_without_a_transactional_id() {
    let c = mock(1, "t", 1).await;
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", c.bootstrap_servers()))
        .unwrap();
    assert_eq!(
        p.init_transactions(T).await.unwrap_err().code(),
        ErrorCode::NotConfigured
    );
    assert_eq!(
        p.begin_transaction().unwrap_err().code(),
        ErrorCode::NotConfigured
    );
}

#[test]
fn a_message_timeout_longer_than_the_transaction_timeout_is_refused() {
    let e = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("transactional.id", "x")
            .set("transaction.timeout.ms", "10000")
            .set("message.timeout.ms", "20000"),
    )
    .unwrap_err();
    assert!(e.message().contains("message.timeout.ms"), "{e}");
    let _ = Duration::ZERO;
}

/// The smallest executor that is not tokio: polls `fut` on this thread,
/// parking between wake-ups (bounded).
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "not done in 60 s");
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn transaction_calls_awaited_from_another_executor_do_not_panic() {
    let c = ferrokafka_mock::MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .build_blocking()
        .unwrap();
    let p = producer(&c, "tx-executor");
    block_on(p.init_transactions(T)).unwrap();
    p.begin_transaction().unwrap();
    let _r = p
        .send(ProducerRecord::new("t").partition(0).value("e0"))
        .unwrap();
    block_on(p.send_offsets_to_transaction(&[("t", 0, 1)], &ConsumerGroupMetadata::new("ge"), T))
        .unwrap();
    block_on(p.commit_transaction(T)).unwrap();
    p.begin_transaction().unwrap();
    block_on(p.abort_transaction(T)).unwrap();
}
