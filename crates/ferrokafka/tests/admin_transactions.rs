//! Transaction administration against the mock, with open transactions
//! held by librdkafka's transactional producer (confluent-kafka in the
//! peers' Python, so the transactions come from a client nobody here
//! wrote): list and describe transactions, describe the partition's
//! producers, fence the producer (its transaction is aborted and its
//! epoch bumped), and abort a hanging transaction on one partition with a
//! marker (the read_committed end offset moves past it). Skipped without
//! the peers' Python unless FERROKAFKA_REQUIRE_PEERS=1.

use ferrokafka::admin::{
    AbortTransactionSpec, AdminClient, AdminOptions, IsolationLevel, OffsetSpec,
};
use ferrokafka::TopicPartition;
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Opens a transaction as `tid`, produces one record to `topic`/`part`,
/// prints `ready PID EPOCH`-less `ready` and waits for stdin to close.
const HOLD_TXN: &str = r#"
import sys
from confluent_kafka import Producer
bootstrap, tid, topic, part = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid,
              "transaction.timeout.ms": 60000})
p.init_transactions(30)
p.begin_transaction()
p.produce(topic, b"v", partition=part)
if p.flush(30) != 0:
    raise SystemExit("not delivered")
print("ready", flush=True)
sys.stdin.read()
"#;

/// A held transaction; killed when dropped.
struct Held(Child);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hold(py: &ferrokafka_peers::Python, bootstrap: &str, tid: &str, topic: &str, part: i32) -> Held {
    let mut child = py
        .command()
        .arg("-c")
        .arg(HOLD_TXN)
        .args([bootstrap, tid, topic, &part.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let held = Held(child);
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the transactional producer did not get ready within 60 s");
    assert_eq!(line.trim(), "ready", "python said {line:?}");
    held
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_listed_described_fenced_and_aborted() {
    let Some(py) = ferrokafka_peers::python_with(&["confluent_kafka"]) else {
        return;
    };
    let c = MockCluster::builder()
        .brokers(3)
        .topic("tx", 2, 3)
        .build()
        .await
        .unwrap();
    let b = c.bootstrap_servers();
    let admin = AdminClient::new(&ClientConfig::new().set("bootstrap.servers", &b)).unwrap();
    let _one = tokio::task::block_in_place(|| hold(&py, &b, "app-1", "tx", 0));
    let _two = tokio::task::block_in_place(|| hold(&py, &b, "app-2", "tx", 1));

    let listed = admin
        .list_transactions(&[], &[], None, &opts())
        .await
        .unwrap();
    let ids: Vec<(&str, &str)> = listed
        .iter()
        .map(|t| (t.transactional_id.as_str(), t.state.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![("app-1", "Ongoing"), ("app-2", "Ongoing")],
        "{listed:?}"
    );
    let ongoing = admin
        .list_transactions(&["CompleteAbort"], &[], None, &opts())
        .await
        .unwrap();
    assert!(ongoing.is_empty(), "{ongoing:?}");

    let d = admin
        .describe_transactions(&["app-1", "nobody"], &opts())
        .await
        .unwrap();
    let one = d[0].1.as_ref().unwrap();
    assert_eq!(one.state, "Ongoing");
    assert_eq!(one.partitions, vec![TopicPartition::new("tx", 0)]);
    assert_eq!(one.coordinator, c.coordinator("app-1").unwrap());
    assert!(
        one.start_time_ms.is_some_and(|t| t > 1_600_000_000_000),
        "{one:?}"
    );
    assert_eq!(
        d[1].1.as_ref().unwrap_err().code(),
        ErrorCode::TransactionalIdNotFound
    );

    let p = admin
        .describe_producers(
            &[TopicPartition::new("tx", 0), TopicPartition::new("tx", 9)],
            &opts(),
        )
        .await
        .unwrap();
    let producers = p[0].1.as_ref().unwrap();
    assert_eq!(producers.len(), 1, "{producers:?}");
    assert_eq!(producers[0].producer_id, one.producer_id);
    assert_eq!(producers[0].current_txn_start_offset, Some(0));
    assert_eq!(
        p[1].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );

    // Fencing app-1 aborts its transaction and bumps its epoch.
    let f = admin.fence_producers(&["app-1"], &opts()).await.unwrap();
    let (pid, epoch) = f[0].1.clone().unwrap();
    assert_eq!(pid, one.producer_id);
    assert!(epoch > one.producer_epoch);
    let d = admin
        .describe_transactions(&["app-1"], &opts())
        .await
        .unwrap();
    let after = d[0].1.as_ref().unwrap();
    assert!(
        after.partitions.is_empty() && after.state != "Ongoing",
        "{after:?}"
    );
    let p = admin
        .describe_producers(&[TopicPartition::new("tx", 0)], &opts())
        .await
        .unwrap();
    assert_eq!(p[0].1.as_ref().unwrap()[0].current_txn_start_offset, None);

    // app-2's transaction hangs on tx:1 until an operator aborts it there.
    let lso = |admin: &AdminClient| {
        let admin = admin.clone();
        async move {
            admin
                .list_offsets(
                    &[("tx", 1, OffsetSpec::Latest)],
                    IsolationLevel::ReadCommitted,
                    &opts(),
                )
                .await
                .unwrap()[0]
                .1
                .clone()
                .unwrap()
                .offset
        }
    };
    assert_eq!(lso(&admin).await, 0, "the open transaction holds the LSO");
    let producer = admin
        .describe_producers(&[TopicPartition::new("tx", 1)], &opts())
        .await
        .unwrap()[0]
        .1
        .clone()
        .unwrap()[0]
        .clone();
    let spec = AbortTransactionSpec {
        topic: "tx".into(),
        partition: 1,
        producer_id: producer.producer_id,
        producer_epoch: producer.producer_epoch as i16,
        coordinator_epoch: 0,
    };
    admin.abort_transaction(&spec, &opts()).await.unwrap();
    assert_eq!(
        lso(&admin).await,
        2,
        "record and abort marker are below the LSO"
    );
    let stale = AbortTransactionSpec {
        producer_epoch: spec.producer_epoch - 1,
        ..spec.clone()
    };
    let e = admin.abort_transaction(&stale, &opts()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidProducerEpoch, "{e}");
}
