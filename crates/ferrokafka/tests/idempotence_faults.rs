//! The idempotent producer under injected faults, against ferrokafka-mock
//! (which checks sequences per producer itself): each fault in a run of
//! its own, then all mixed at random with a printed seed. Every run reads
//! the log back and checks nothing was lost, duplicated or reordered (see
//! `idempotence_harness.rs`).
//!
//! Bounded by default (20,000 records over 8 partitions);
//! `FERROKAFKA_LONG_FAULTS=N` runs N records per run and three mixed seeds.
#![allow(clippy::result_large_err)]

#[path = "idempotence_harness.rs"]
mod harness;

use ferrokafka::producer::ProducerRecord;
use ferrokafka::ErrorCode;
use ferrokafka_mock::MockCluster;
use harness::{check, print, produce, producer, read_back, seed, Figures, Rng};
use std::sync::Arc;
use std::time::Duration;

const PRODUCE: i16 = 0;
const PARTITIONS: i32 = 8;

fn records() -> usize {
    std::env::var("FERROKAFKA_LONG_FAULTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

fn long() -> bool {
    std::env::var("FERROKAFKA_LONG_FAULTS").is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    RetriableErrors,
    ConnectionClosed,
    ResponseDropped,
    LeaderMove,
    BrokerDownUp,
    UnknownProducerId,
}

const ALL: [Fault; 6] = [
    Fault::RetriableErrors,
    Fault::ConnectionClosed,
    Fault::ResponseDropped,
    Fault::LeaderMove,
    Fault::BrokerDownUp,
    Fault::UnknownProducerId,
];

/// Applies one fault now (a broker taken down comes back 300 ms later).
fn inject(cluster: &Arc<MockCluster>, topic: &str, fault: Fault, rng: &mut Rng) {
    let brokers = cluster.broker_ids();
    let broker = brokers[rng.below(brokers.len() as u64) as usize];
    match fault {
        Fault::RetriableErrors => {
            let codes = [
                ErrorCode::NotLeaderOrFollower,
                ErrorCode::RequestTimedOut,
                ErrorCode::NotEnoughReplicas,
            ];
            let c = codes[rng.below(3) as usize].code() as i16;
            cluster.push_request_errors(PRODUCE, &[c, c]);
        }
        Fault::ConnectionClosed => {
            cluster.close_connection_after(broker, 2).unwrap();
        }
        Fault::ResponseDropped => cluster.drop_next_responses(PRODUCE, 1),
        Fault::LeaderMove => {
            let p = rng.below(PARTITIONS as u64) as i32;
            let current = cluster.partition_leader(topic, p);
            let to = brokers
                .iter()
                .copied()
                .find(|b| Some(*b) != current)
                .unwrap_or(broker);
            cluster.move_leader(topic, p, to).unwrap();
        }
        Fault::BrokerDownUp => {
            cluster.broker_down(broker).unwrap();
            let c = cluster.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                c.broker_up(broker).unwrap();
            });
        }
        Fault::UnknownProducerId => {
            cluster.push_request_errors(PRODUCE, &[ErrorCode::UnknownProducerId.code() as i16]);
        }
    }
}

/// One run: `faults` chosen by `pick` at 10 points (30 when long).
async fn run(label: &str, seed: u64, pick: impl Fn(&mut Rng) -> Fault) -> Figures {
    let topic = "idem";
    let cluster = Arc::new(
        MockCluster::builder()
            .brokers(3)
            .topic(topic, PARTITIONS, 3)
            .build()
            .await
            .unwrap(),
    );
    let bootstrap = cluster.bootstrap_servers();
    let p = producer(&bootstrap);
    let n = records();
    let points = if long() { 30 } else { 10 };
    let mut rng = Rng::new(seed);
    let mut count = 0;
    let (reports, fatal) = {
        let c = cluster.clone();
        produce(&p, topic, PARTITIONS, n, points, |_| {
            let f = pick(&mut rng);
            inject(&c, topic, f, &mut rng);
            count += 1;
        })
        .await
    };
    // Every broker back before reading.
    tokio::time::sleep(Duration::from_millis(400)).await;
    for b in cluster.broker_ids() {
        cluster.broker_up(b).unwrap();
    }
    let logs = read_back(&bootstrap, topic, PARTITIONS).await;
    let mut f = check(&reports, &logs, PARTITIONS);
    f.faults = count;
    f.fatal = fatal;
    print(label, &f);
    f
}

async fn single(fault: Fault) {
    let f = run(&format!("ferrokafka-mock {fault:?}"), 42, |_| fault).await;
    // Retriable faults are survived without a fatal error and without
    // losing a record.
    if fault != Fault::UnknownProducerId {
        assert_eq!(f.fatal, None, "{fault:?} made the producer fatal");
        assert_eq!(
            f.persisted + f.failed_possibly_persisted,
            f.records,
            "{fault:?}: records failed NotPersisted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_produce_errors() {
    single(Fault::RetriableErrors).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_closed_with_requests_in_flight() {
    single(Fault::ConnectionClosed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_dropped_after_the_write() {
    single(Fault::ResponseDropped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_moves() {
    single(Fault::LeaderMove).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_and_up() {
    single(Fault::BrokerDownUp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_producer_id() {
    single(Fault::UnknownProducerId).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_faults_with_a_recorded_seed() {
    let seeds: Vec<u64> = if long() {
        (0..3).map(|i| seed().wrapping_add(i)).collect()
    } else {
        vec![seed()]
    };
    for s in seeds {
        println!("mixed fault seed: {s} (replay with FERROKAFKA_FAULT_SEED={s})");
        run(&format!("ferrokafka-mock mixed seed={s}"), s, |r| {
            ALL[r.below(ALL.len() as u64) as usize]
        })
        .await;
    }
}

/// Without faults every record is delivered once, in order, with offsets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_baseline_delivers_everything_with_offsets() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("base", 2, 1)
        .build()
        .await
        .unwrap();
    let p = producer(&cluster.bootstrap_servers());
    let (reports, fatal) = produce(&p, "base", 2, 2_000, 1, |_| {}).await;
    assert_eq!(fatal, None);
    let logs = read_back(&cluster.bootstrap_servers(), "base", 2).await;
    let f = check(&reports, &logs, 2);
    assert_eq!(f.persisted, 2_000);
    assert_eq!(f.in_log, 2_000);
    // Sends after the run still work.
    let r = p
        .send(ProducerRecord::new("base").partition(0).value("after"))
        .unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(10), r)
        .await
        .unwrap()
        .is_ok());
}
