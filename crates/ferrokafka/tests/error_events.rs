//! Error events of every client (producer, consumer, admin) and the real
//! cause in the errors of calls and delivery reports: a refused port, a
//! host name that does not resolve, and a broker going down mid-run.

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::events::ErrorStream;
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{AdminClient, ClientConfig, Error, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A port nothing listens on: bound, then released.
fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

/// Events from `s` until one has `code` (bounded by `within`); all seen.
async fn until(s: &mut ErrorStream, code: ErrorCode, within: Duration) -> Vec<Error> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, s.next()).await {
            Ok(Some(e)) => {
                let done = e.code() == code;
                seen.push(e);
                if done {
                    return seen;
                }
            }
            Ok(None) => panic!("stream ended; saw {seen:?}"),
            Err(_) => panic!("no {code} event within {within:?}; saw {seen:?}"),
        }
    }
}

fn refused(e: &Error) -> bool {
    e.message().to_lowercase().contains("connection refused")
}

fn base(bootstrap: &str) -> ClientConfig {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "200")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_reaches_the_producers_events_reports_and_calls() {
    let bootstrap = format!("127.0.0.1:{}", refused_port());
    let producer = Producer::new(&base(&bootstrap).set("message.timeout.ms", "1500")).unwrap();
    let called: Arc<Mutex<Vec<Error>>> = Arc::default();
    let c2 = called.clone();
    producer.set_error_callback(move |e| c2.lock().unwrap().push(e.clone()));
    let mut events = producer.error_stream();
    let report = producer.send(ProducerRecord::new("t").value("v")).unwrap();

    let seen = until(
        &mut events,
        ErrorCode::AllBrokersDown,
        Duration::from_secs(10),
    )
    .await;
    let first = &seen[0];
    assert_eq!(first.code(), ErrorCode::Transport, "{seen:?}");
    assert!(refused(first), "the OS error text: {first}");
    assert!(!first.is_fatal());
    assert!(refused(seen.last().unwrap()), "{seen:?}");
    // The callback saw the same events.
    let cb: Vec<ErrorCode> = called.lock().unwrap().iter().map(Error::code).collect();
    assert!(
        cb.contains(&ErrorCode::Transport) && cb.contains(&ErrorCode::AllBrokersDown),
        "{cb:?}"
    );
    // The pull queue too.
    let pulled = tokio::time::timeout(Duration::from_secs(5), producer.next_error())
        .await
        .unwrap()
        .unwrap();
    assert!(refused(&pulled), "{pulled}");

    // The delivery report names the cause, not only the timeout.
    let e = tokio::time::timeout(Duration::from_secs(10), report)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::MsgTimedOut);
    assert!(refused(&e.error), "{}", e.error);

    // And so does a metadata call, async and blocking.
    let e = producer
        .partitions_for_async("t", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(refused(&e), "{e}");
    let p = producer.clone();
    let e = tokio::task::spawn_blocking(move || {
        p.partitions_for_timeout("t", Duration::from_millis(500))
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(refused(&e), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_reaches_the_consumers_and_admins_events() {
    let bootstrap = format!("127.0.0.1:{}", refused_port());
    let consumer = Consumer::new(&base(&bootstrap)).unwrap();
    let mut events = consumer.error_stream();
    consumer.assign(&[("t", 0, Offset::Beginning)]).unwrap();
    let seen = until(
        &mut events,
        ErrorCode::AllBrokersDown,
        Duration::from_secs(10),
    )
    .await;
    assert!(refused(&seen[0]), "{seen:?}");
    let e = consumer
        .partitions_for("t", Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(refused(&e), "{e}");

    let admin = AdminClient::new(&base(&bootstrap)).unwrap();
    let mut events = admin.error_stream();
    let e = admin
        .metadata(None, Duration::from_millis(800))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::AllBrokersDown, "{e}");
    assert!(refused(&e), "{e}");
    let seen = until(
        &mut events,
        ErrorCode::AllBrokersDown,
        Duration::from_secs(5),
    )
    .await;
    assert!(refused(&seen[0]), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_host_is_a_resolve_event_for_producer_and_consumer() {
    // `.invalid` never resolves (RFC 2606); the lookup fails fast.
    let bootstrap = "ferrokafka-no-such-host.invalid:9092";
    let producer = Producer::new(&base(bootstrap).set("message.timeout.ms", "1000")).unwrap();
    let mut events = producer.error_stream();
    let report = producer.send(ProducerRecord::new("t").value("v")).unwrap();
    let seen = until(&mut events, ErrorCode::Resolve, Duration::from_secs(15)).await;
    let e = seen.last().unwrap();
    assert!(
        e.message().contains("ferrokafka-no-such-host.invalid"),
        "{e}"
    );
    let e = tokio::time::timeout(Duration::from_secs(15), report)
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.error.message().contains("resolve"), "{}", e.error);

    let consumer = Consumer::new(&base(bootstrap)).unwrap();
    let mut events = consumer.error_stream();
    consumer.assign(&[("t", 0, Offset::Beginning)]).unwrap();
    until(&mut events, ErrorCode::Resolve, Duration::from_secs(15)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_going_down_mid_run_is_reported_to_producer_and_consumer() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("down", 1, 1)
        .build()
        .await
        .unwrap();
    let id = cluster.broker_ids()[0];
    let config = base(&cluster.bootstrap_servers());
    let producer = Producer::new(&config.clone().set("message.timeout.ms", "1500")).unwrap();
    let mut p_events = producer.error_stream();
    let consumer = Consumer::new(&config).unwrap();
    let mut c_events = consumer.error_stream();
    producer
        .send(ProducerRecord::new("down").value("before"))
        .unwrap()
        .await
        .unwrap();
    consumer.assign(&[("down", 0, Offset::Beginning)]).unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), consumer.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.value_bytes().unwrap().as_ref(), b"before");

    cluster.broker_down(id).unwrap();
    let report = producer
        .send(ProducerRecord::new("down").value("after"))
        .unwrap();
    for events in [&mut p_events, &mut c_events] {
        let seen = until(events, ErrorCode::AllBrokersDown, Duration::from_secs(10)).await;
        assert!(
            seen.iter()
                .all(|e| e.code() == ErrorCode::Transport || e.code() == ErrorCode::AllBrokersDown),
            "{seen:?}"
        );
    }
    let e = tokio::time::timeout(Duration::from_secs(10), report)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        e.error.message().contains("last error"),
        "the report names the broker error: {}",
        e.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_for_names_a_rejected_password_and_an_unknown_topic_at_once() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .sasl_user("alice", "right")
        .topic("sasl", 2, 1)
        .build()
        .await
        .unwrap();
    let config = base(&cluster.bootstrap_servers())
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", "alice");
    let wrong = Producer::new(&config.clone().set("sasl.password", "wrong")).unwrap();
    let mut events = wrong.error_stream();
    let started = std::time::Instant::now();
    let e = wrong
        .partitions_for_async("sasl", Duration::from_secs(20))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let seen = until(
        &mut events,
        ErrorCode::Authentication,
        Duration::from_secs(5),
    )
    .await;
    assert!(seen.iter().all(|e| !e.is_fatal()), "{seen:?}");
    let w = wrong.clone();
    let e = tokio::task::spawn_blocking(move || w.partitions_for("sasl"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");

    let right = Producer::new(
        &config
            .set("sasl.password", "right")
            .set("topic.metadata.propagation.max.ms", "200")
            .set("allow.auto.create.topics", "false"),
    )
    .unwrap();
    let parts = right
        .partitions_for_async("sasl", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(parts, vec![0, 1]);
    let e = right
        .partitions_for_async("no-such-topic", Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e.code(),
            ErrorCode::UnknownTopicOrPartition | ErrorCode::UnknownTopic
        ),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_async_waits_for_the_reports() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("fa", 1, 1)
        .build()
        .await
        .unwrap();
    let producer =
        Producer::new(&base(&cluster.bootstrap_servers()).set("linger.ms", "60000")).unwrap();
    let reports: Vec<_> = (0..5)
        .map(|i| {
            producer
                .send(ProducerRecord::new("fa").value(format!("{i}")))
                .unwrap()
        })
        .collect();
    // linger.ms is a minute: only the flush sends them.
    producer.flush_async(Duration::from_secs(10)).await.unwrap();
    assert_eq!(producer.in_flight_count(), 0);
    for r in reports {
        r.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "issue 18: once in four full runs (session 6) the record sent after broker_down \
            was reported within 300 ms, so flush_async returned Ok instead of timing out; \
            the race between broker_down and the send is not understood yet"]
async fn flush_async_times_out_with_the_count_while_a_broker_is_down() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("fa", 1, 1)
        .build()
        .await
        .unwrap();
    let producer =
        Producer::new(&base(&cluster.bootstrap_servers()).set("linger.ms", "60000")).unwrap();
    let id = cluster.broker_ids()[0];
    cluster.broker_down(id).unwrap();
    let _pending = producer
        .send(ProducerRecord::new("fa").value("stuck"))
        .unwrap();
    match producer.flush_async(Duration::from_millis(300)).await {
        Err(ferrokafka::producer::FlushError::Timeout { remaining }) => assert_eq!(remaining, 1),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_partitions_for_a_send_to_a_missing_partition_is_refused_at_once() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("pf", 2, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&base(&cluster.bootstrap_servers())).unwrap();
    let parts = producer
        .partitions_for_async("pf", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(parts, vec![0, 1]);
    let e = producer
        .send(ProducerRecord::new("pf").partition(7).value("v"))
        .unwrap_err();
    assert_eq!(e.error.code(), ErrorCode::UnknownPartition, "{}", e.error);
}
