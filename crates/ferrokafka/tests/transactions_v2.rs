//! KIP-890 transaction version 2 against ferrokafka-mock: with
//! `transaction.version` 2 finalized (UpdateFeatures), the producer adds
//! partitions with Produce v12 and the group with TxnOffsetCommit v5
//! (AddPartitionsToTxn and AddOffsetsToTxn are never sent: errors queued on
//! them would fail the transaction), and every EndTxn v5 bumps the epoch
//! the next transaction runs at. Without the feature it stays at version 1
//! (one epoch for every transaction).

mod txn_support;

use ferrokafka::admin::{AdminClient, AdminOptions, FeatureUpdate};
use ferrokafka::consumer::{Consumer, ConsumerGroupMetadata};
use ferrokafka::producer::ProducerRecord;
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use txn_support::*;

fn admin(c: &MockCluster) -> AdminClient {
    AdminClient::new(&ClientConfig::new().set("bootstrap.servers", c.bootstrap_servers())).unwrap()
}

/// A mock with `transaction.version` 2 finalized.
async fn mock_v2(brokers: usize, topic: &str, partitions: i32) -> MockCluster {
    let c = mock(brokers, topic, partitions).await;
    let results = admin(&c)
        .update_features(
            &[FeatureUpdate::upgrade("transaction.version", 2)],
            &AdminOptions::new(),
        )
        .await
        .unwrap();
    for (name, r) in results {
        r.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    c
}

/// The coordinator's epoch of `txn_id`.
async fn epoch(c: &MockCluster, txn_id: &str) -> i16 {
    let d = admin(c)
        .describe_transactions(&[txn_id], &AdminOptions::new())
        .await
        .unwrap();
    d.into_iter().next().unwrap().1.unwrap().producer_epoch
}

/// AddPartitionsToTxn and AddOffsetsToTxn fail fatally if they are sent.
fn forbid_explicit_adds(c: &MockCluster) {
    let fatal = [code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED; 4];
    c.push_request_errors(api::ADD_PARTITIONS_TO_TXN, &fatal);
    c.push_request_errors(api::ADD_OFFSETS_TO_TXN, &fatal);
}

async fn group_offsets(c: &MockCluster, group: &str, tps: &[(&str, i32)]) -> Vec<Option<i64>> {
    let consumer = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("group.id", group),
    )
    .unwrap();
    let got = consumer.committed(tps, T).await.unwrap();
    got.into_iter().map(|(_, _, o)| o).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_2_adds_partitions_and_offsets_implicitly_and_bumps_the_epoch_per_transaction() {
    let c = mock_v2(1, "t", 2).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "v2-implicit").await;
    let start = epoch(&c, "v2-implicit").await;
    forbid_explicit_adds(&c);
    let group = ConsumerGroupMetadata::new("g-v2");
    for round in 0..3i64 {
        p.begin_transaction().unwrap();
        send(&p, "t", 2, &values(&format!("r{round}-"), 4));
        p.send_offsets_to_transaction(&[("in", 0, 10 * (round + 1))], &group, T)
            .await
            .unwrap();
        p.commit_transaction(T).await.unwrap();
        assert_eq!(
            epoch(&c, "v2-implicit").await,
            start + round as i16 + 1,
            "EndTxn v5 bumped the epoch"
        );
    }
    // An abort bumps too, and hides its records and offsets.
    p.begin_transaction().unwrap();
    send(&p, "t", 2, &values("aborted-", 3));
    p.send_offsets_to_transaction(&[("in", 0, 99)], &group, T)
        .await
        .unwrap();
    p.flush(T).unwrap();
    p.abort_transaction(T).await.unwrap();
    assert_eq!(epoch(&c, "v2-implicit").await, start + 4);
    // The next transaction runs at the bumped epoch (sequences restarted).
    p.begin_transaction().unwrap();
    send(&p, "t", 2, &values("last-", 2));
    p.commit_transaction(T).await.unwrap();
    let mut want = Vec::new();
    for round in 0..3 {
        want.extend(values(&format!("r{round}-"), 4));
    }
    want.extend(values("last-", 2));
    assert_eq!(committed(&c, "t", 2).await, sorted(want));
    assert_eq!(
        group_offsets(&c, "g-v2", &[("in", 0)]).await,
        vec![Some(30)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_feature_the_producer_stays_at_version_1() {
    let c = mock(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "v1-fallback").await;
    let start = epoch(&c, "v1-fallback").await;
    for i in 0..2 {
        p.begin_transaction().unwrap();
        send(&p, "t", 1, &values(&format!("v1-{i}-"), 2));
        p.send_offsets_to_transaction(&[("in", 0, 5)], &ConsumerGroupMetadata::new("g-v1"), T)
            .await
            .unwrap();
        p.commit_transaction(T).await.unwrap();
    }
    assert_eq!(
        epoch(&c, "v1-fallback").await,
        start,
        "no bump per transaction"
    );
    // Version 1 sends AddPartitionsToTxn: a fatal answer to it is fatal.
    c.push_request_errors(
        api::ADD_PARTITIONS_TO_TXN,
        &[code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED],
    );
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("never", 1));
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    let mut want = values("v1-0-", 2);
    want.extend(values("v1-1-", 2));
    assert_eq!(committed(&c, "t", 1).await, sorted(want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_end_txn_response_under_version_2_is_retried_at_the_old_epoch() {
    let c = mock_v2(1, "t", 1).await;
    let p = ready(&c, "v2-lost").await;
    let start = epoch(&c, "v2-lost").await;
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("a", 3));
    p.flush(T).unwrap();
    c.drop_next_responses(api::END_TXN, 1);
    let e = p
        .commit_transaction(Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert!(e.is_retriable(), "{e:?}");
    // The coordinator committed and bumped; the retry (old epoch) gets the
    // same answer and the bumped epoch.
    p.commit_transaction(T).await.unwrap();
    assert_eq!(epoch(&c, "v2-lost").await, start + 1);
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("b", 2));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(epoch(&c, "v2-lost").await, start + 2);
    let mut want = values("a", 3);
    want.extend(values("b", 2));
    assert_eq!(committed(&c, "t", 1).await, sorted(want));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_version_2_an_abortable_produce_error_is_recovered_by_the_abort() {
    let c = mock_v2(1, "t", 1).await;
    let p = ready(&c, "v2-abortable").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(api::PRODUCE, &[code::TOPIC_AUTHORIZATION_FAILED]);
    let report = p.send(ProducerRecord::new("t").value("lost")).unwrap();
    let e = p.commit_transaction(T).await.unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    assert!(report.await.is_err());
    p.abort_transaction(T).await.unwrap();
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("ok", 2));
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 1).await, values("ok", 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_version_2_a_newer_instance_fences_the_older_one_fatally() {
    let c = mock_v2(1, "t", 1).await;
    let old = ready(&c, "v2-fence").await;
    old.begin_transaction().unwrap();
    send(&old, "t", 1, &values("old", 2));
    old.commit_transaction(T).await.unwrap();
    old.begin_transaction().unwrap();
    send(&old, "t", 1, &values("zombie", 2));
    old.flush(T).unwrap();
    let new = ready(&c, "v2-fence").await;
    let e = old.commit_transaction(T).await.unwrap_err();
    assert!(e.is_fatal(), "{e:?}");
    assert_eq!(e.code(), ErrorCode::ProducerFenced, "{e:?}");
    assert!(old
        .send(ProducerRecord::new("t").value("late"))
        .unwrap_err()
        .error
        .is_fatal());
    new.begin_transaction().unwrap();
    send(&new, "t", 1, &values("new", 2));
    new.commit_transaction(T).await.unwrap();
    let mut want = values("old", 2);
    want.extend(values("new", 2));
    assert_eq!(committed(&c, "t", 1).await, sorted(want));
}

/// Under version 2 TxnOffsetCommit adds the group itself, so after one
/// that failed the client cannot know whether the coordinator has a
/// transaction at all. The abort that follows must end it either way: an
/// EndTxn(abort) the coordinator refuses for an empty transaction
/// (INVALID_TXN_STATE) is replaced by an epoch bump, and the next
/// transaction commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_version_2_an_abort_after_a_failed_txn_offset_commit_alone_recovers() {
    let c = mock_v2(1, "t", 1).await;
    c.create_topic("in", 1, 1).unwrap();
    let p = ready(&c, "v2-empty-abort").await;
    let start = epoch(&c, "v2-empty-abort").await;
    p.begin_transaction().unwrap();
    c.push_request_errors(api::TXN_OFFSET_COMMIT, &[code::GROUP_AUTHORIZATION_FAILED]);
    let group = ConsumerGroupMetadata::new("g-empty-abort");
    let e = p
        .send_offsets_to_transaction(&[("in", 0, 3)], &group, T)
        .await
        .unwrap_err();
    assert!(e.txn_requires_abort(), "{e:?}");
    p.abort_transaction(T).await.unwrap();
    assert!(
        epoch(&c, "v2-empty-abort").await > start,
        "the epoch moved on"
    );
    p.begin_transaction().unwrap();
    send(&p, "t", 1, &values("after", 2));
    p.send_offsets_to_transaction(&[("in", 0, 5)], &group, T)
        .await
        .unwrap();
    p.commit_transaction(T).await.unwrap();
    assert_eq!(committed(&c, "t", 1).await, values("after", 2));
    assert_eq!(
        group_offsets(&c, "g-empty-abort", &[("in", 0)]).await,
        vec![Some(5)]
    );
}
