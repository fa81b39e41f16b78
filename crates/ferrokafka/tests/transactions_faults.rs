//! The transactional producer when things go wrong, against
//! ferrokafka-mock's fault controls: librdkafka's transaction scenarios
//! (tests 0103 and 0105, by situation) as our own tests. Every test ends by
//! checking what a read_committed reader sees.

mod txn_support;

use ferrokafka::consumer::{Consumer, ConsumerGroupMetadata};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use txn_support::*;

/// One more committed transaction works, and it is all read_committed sees
/// besides `before`.
async fn then_a_transaction_commits(c: &MockCluster, p: &Producer, before: Vec<String>) {
    p.begin_transaction().unwrap();
    send(p, "t", 1, &values("after", 2));
    p.commit_transaction(T).await.unwrap();
    let mut want = before;
    want.extend(values("after", 2));
    assert_eq!(committed(c, "t", 1).await, sorted(want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_not_available_during_init_is_retried() {
    let c = mock(1, "t", 1).await;
    c.push_request_errors(
        api::INIT_PRODUCER_ID,
        &[
            code::COORDINATOR_NOT_AVAILABLE,
            code::COORDINATOR_LOAD_IN_PROGRESS,
            code::NOT_COORDINATOR,
        ],
    );
    let p = ready(&c, "f-init").await;
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_coordinator_on_end_txn_is_retried_after_a_new_lookup() {
    let c = mock(3, "t", 1).await;
    let p = ready(&c, "f-endtxn").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("c", 3));
    c.push_request_errors(
        api::END_TXN,
        &[code::NOT_COORDINATOR, code::COORDINATOR_NOT_AVAILABLE],
    );
    p.commit_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, values("c", 3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transactions_on_add_partitions_is_retried() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-addparts").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(
        api::ADD_PARTITIONS_TO_TXN,
        &[
            code::CONCURRENT_TRANSACTIONS,
            code::CONCURRENT_TRANSACTIONS,
            code::COORDINATOR_LOAD_IN_PROGRESS,
        ],
    );
    send(&p, "t", 1, &values("c", 3));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 1).await, values("c", 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinator_broker_going_down_before_commit_moves_the_coordinator() {
    let c = mock(3, "t", 1).await;
    let id = "f-coord-down";
    let p = ready(&c, id).await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("c", 4));
    p.flush(T).unwrap();
    let coordinator = c.coordinator(id).expect("a coordinator");
    c.broker_down(coordinator).unwrap();
    assert_ne!(c.coordinator(id), Some(coordinator));
    p.commit_transaction(T).await.unwrap();
    c.broker_up(coordinator).unwrap();
    then_a_transaction_commits(&c, &p, values("c", 4)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_while_the_only_broker_is_down_times_out_retriably_and_resumes() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-down").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("c", 2));
    p.flush(T).unwrap();
    let b = c.broker_ids()[0];
    c.broker_down(b).unwrap();
    let e = p
        .commit_transaction(Duration::from_millis(800))
        .await
        .unwrap_err();
    assert!(e.is_retriable(), "{e:?}");
    assert!(!e.txn_requires_abort() && !e.is_fatal(), "{e:?}");
    c.broker_up(b).unwrap();
    p.commit_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, values("c", 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_end_txn_response_times_out_retriably_and_the_next_commit_succeeds() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-lost-endtxn").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("c", 2));
    p.flush(T).unwrap();
    c.drop_next_responses(api::END_TXN, 1);
    let e = p
        .commit_transaction(Duration::from_millis(800))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::TimedOut, "{e:?}");
    assert!(e.is_retriable(), "{e:?}");
    // The coordinator may have committed: an abort now is refused.
    let e = p.abort_transaction(T).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::State, "{e:?}");
    // The coordinator applied the first EndTxn: the retry is idempotent.
    p.commit_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, values("c", 2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timed_out_on_end_txn_is_retried() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-endtxn-rto").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("c", 1));
    c.push_request_errors(
        api::END_TXN,
        &[code::REQUEST_TIMED_OUT, code::CONCURRENT_TRANSACTIONS],
    );
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 1).await, values("c", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abortable_produce_error_fails_the_commit_and_the_abort_recovers() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-produce").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(api::PRODUCE, &[code::TOPIC_AUTHORIZATION_FAILED]);
    let report = p
        .send(ProducerRecord::new("t").partition(0).value("bad"))
        .unwrap();
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    assert!(!e.is_fatal() && !e.is_retriable(), "{e:?}");
    assert!(report.await.is_err());
    // Nothing else is accepted until the abort.
    assert!(p
        .send(ProducerRecord::new("t").value("x"))
        .unwrap_err()
        .error
        .txn_requires_abort());
    assert!(p
        .commit_transaction(T)
        .await
        .unwrap_err()
        .txn_requires_abort());
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_with_records_still_in_flight_waits_for_them_and_hides_them() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-inflight").await;
    p.begin_transaction().unwrap();
    c.set_broker_rtt(c.broker_ids()[0], Duration::from_millis(300))
        .unwrap();
    send(&p, "t", 1, &values("a", 5));
    tokio::time::sleep(Duration::from_millis(400)).await;
    p.abort_transaction(T).await.unwrap();
    assert_eq!(p.in_flight_count(), 0);
    c.set_broker_rtt(c.broker_ids()[0], Duration::ZERO).unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_purges_queued_records_with_purge_queue() {
    let c = mock(1, "t", 1).await;
    let p = Producer::new(&config(&c, "f-purge").set("linger.ms", "30000")).unwrap();
    p.init_transactions(T).await.unwrap();
    p.begin_transaction().unwrap();
    let reports: Vec<_> = (0..3)
        .map(|i| {
            p.send(ProducerRecord::new("t").partition(0).value(format!("q{i}")))
                .unwrap()
        })
        .collect();
    p.abort_transaction(T).await.unwrap();
    for r in reports {
        let e = r.await.unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::PurgeQueue, "{e:?}");
    }
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_id_authorization_failure_on_init_is_fatal() {
    let c = mock(1, "t", 1).await;
    c.push_request_errors(
        api::INIT_PRODUCER_ID,
        &[code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
    );
    let p = producer(&c, "f-auth");
    let e = p.init_transactions(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::TransactionalIdAuthorizationFailed);
    assert!(p.fatal_error().is_some());
    assert!(p.init_transactions(T).await.unwrap_err().is_fatal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactional_id_authorization_failure_on_add_partitions_is_fatal() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-auth-add").await;
    let events = p.clone();
    let first_event = tokio::spawn(async move { events.next_error().await });
    p.begin_transaction().unwrap();
    c.push_request_errors(
        api::ADD_PARTITIONS_TO_TXN,
        &[code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
    );
    let report = p
        .send(ProducerRecord::new("t").partition(0).value("x"))
        .unwrap();
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert!(report.await.is_err(), "the queued record is purged");
    let ev = tokio::time::timeout(T, first_event).await.unwrap().unwrap();
    assert!(ev.expect("a fatal error event").is_fatal());
    assert_eq!(committed(&c, "t", 1).await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_fenced_on_end_txn_is_fatal() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-fenced-endtxn").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("x", 1));
    c.push_request_errors(api::END_TXN, &[code::PRODUCER_FENCED]);
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::ProducerFenced);
    assert!(p
        .send(ProducerRecord::new("t").value("y"))
        .unwrap_err()
        .error
        .is_fatal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_txn_state_on_end_txn_is_fatal() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-invalid-state").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("x", 1));
    c.push_request_errors(api::END_TXN, &[code::INVALID_TXN_STATE]);
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
}

/// An older epoch than the coordinator's on AddPartitionsToTxn means a
/// newer instance took the transactional id: fatal, never recovered with
/// an epoch bump (which would take the id back from the newer instance).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_producer_epoch_on_add_partitions_is_fatal_like_fencing() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-epoch-add").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(api::ADD_PARTITIONS_TO_TXN, &[code::INVALID_PRODUCER_EPOCH]);
    send(&p, "t", 1, &values("x", 2));
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::ProducerFenced);
    assert!(e.to_string().contains("INVALID_PRODUCER_EPOCH"), "{e}");
    assert!(p.abort_transaction(T).await.unwrap_err().is_fatal());
    assert!(p.begin_transaction().unwrap_err().is_fatal());
}

/// The same on TxnOffsetCommit: on Apache Kafka 4.4 a fenced copy got
/// INVALID_PRODUCER_EPOCH there, and recovering with a bump let it fence
/// the newer copy in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_producer_epoch_on_txn_offset_commit_is_fatal_like_fencing() {
    let c = mock(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "f-epoch-offsets").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("x", 1));
    c.push_request_errors(api::TXN_OFFSET_COMMIT, &[code::INVALID_PRODUCER_EPOCH]);
    let e = p
        .send_offsets_to_transaction(&[("in", 0, 1)], &ConsumerGroupMetadata::new("g-epoch"), T)
        .await
        .unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::ProducerFenced);
    assert!(p.abort_transaction(T).await.unwrap_err().is_fatal());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_producer_id_mapping_on_end_txn_is_abortable_and_the_abort_bumps() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-mapping").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("x", 2));
    c.push_request_errors(api::END_TXN, &[code::INVALID_PRODUCER_ID_MAPPING]);
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_the_coordinator_timed_out_is_abortable_and_recovered_by_an_epoch_bump() {
    let c = mock(1, "t", 1).await;
    let p = Producer::new(&config(&c, "f-timeout").set("transaction.timeout.ms", "1000")).unwrap();
    p.init_transactions(T).await.unwrap();
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("late", 2));
    p.flush(T).unwrap();
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(
        e.txn_requires_abort(),
        "KIP-588: abortable, not fatal: {e:?}"
    );
    assert_eq!(e.code(), ErrorCode::InvalidProducerEpoch);
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_generation_on_txn_offset_commit_is_abortable() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-gen").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("x", 1));
    c.push_request_errors(api::TXN_OFFSET_COMMIT, &[code::ILLEGAL_GENERATION]);
    let e = p
        .send_offsets_to_transaction(&[("t", 0, 1)], &ConsumerGroupMetadata::new("g"), T)
        .await
        .unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_load_in_progress_on_txn_offset_commit_is_retried() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-txnoff-retry").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(
        api::TXN_OFFSET_COMMIT,
        &[code::COORDINATOR_LOAD_IN_PROGRESS, code::NOT_COORDINATOR],
    );
    p.send_offsets_to_transaction(&[("t", 0, 4)], &ConsumerGroupMetadata::new("g-retry"), T)
        .await
        .unwrap();
    p.commit_transaction(T).await.unwrap();
    let consumer = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("group.id", "g-retry"),
    )
    .unwrap();
    let got = consumer.committed(&[("t", 0)], T).await.unwrap();
    assert_eq!(got, vec![("t".to_string(), 0, Some(4))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_authorization_failure_on_add_offsets_is_abortable() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-group-auth").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(api::ADD_OFFSETS_TO_TXN, &[code::GROUP_AUTHORIZATION_FAILED]);
    let e = p
        .send_offsets_to_transaction(&[("t", 0, 1)], &ConsumerGroupMetadata::new("g"), T)
        .await
        .unwrap_err();
    assert!(e.txn_requires_abort() && !e.is_fatal(), "{e:?}");
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_for_a_missing_topic_makes_the_commit_abortable() {
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .auto_create_topics(false)
        .build()
        .await
        .unwrap();
    let p = Producer::new(&config(&c, "f-missing").set("topic.metadata.propagation.max.ms", "300"))
        .unwrap();
    p.init_transactions(T).await.unwrap();
    p.begin_transaction().unwrap();
    let _ok = p
        .send(ProducerRecord::new("t").partition(0).value("good"))
        .unwrap();
    let missing = p.send(ProducerRecord::new("nope").value("lost")).unwrap();
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    assert!(missing.await.is_err());
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_to_many_topics_and_partitions_commit_together() {
    let c = mock(3, "t", 1).await;
    c.create_topic("m1", 4, 1).unwrap();
    c.create_topic("m2", 3, 1).unwrap();
    let p = ready(&c, "f-many").await;
    p.begin_transaction().unwrap();
    send(&p, "m1", 4, &values("a", 12));
    send(&p, "m2", 3, &values("b", 9));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "m1", 4).await, sorted(values("a", 12)));
    assert_eq!(committed(&c, "m2", 3).await, sorted(values("b", 9)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_left_its_group_cannot_commit_offsets_in_a_transaction() {
    let c = mock(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let consumer = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("group.id", "g-zombie")
            .set("session.timeout.ms", "6000"),
    )
    .unwrap();
    consumer.subscribe(&["in"]).unwrap();
    let deadline = tokio::time::Instant::now() + T;
    let meta = loop {
        let _ = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await;
        let m = consumer.group_metadata().expect("group.id is set");
        if m.generation_id() > 0 && !consumer.assignment().is_empty() {
            break m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no assignment within 10 s"
        );
    };
    assert_eq!(meta.group_id(), "g-zombie");
    assert!(!meta.member_id().is_empty());
    assert_eq!(meta.group_instance_id(), None);
    consumer.close().await.unwrap();
    let p = ready(&c, "f-zombie").await;
    p.begin_transaction().unwrap();
    let e = p
        .send_offsets_to_transaction(&[("in", 0, 1)], &meta, T)
        .await
        .unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_producer_id_on_produce_is_abortable_and_the_abort_bumps() {
    let c = mock(1, "t", 1).await;
    let p = ready(&c, "f-unknown-pid").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(api::PRODUCE, &[code::UNKNOWN_PRODUCER_ID]);
    send(&p, "t", 1, &values("x", 2));
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    p.abort_transaction(T).await.unwrap();
    then_a_transaction_commits(&c, &p, vec![]).await;
}
