//! The proof harness of the idempotent producer, shared by the fault runs
//! against ferrokafka-mock (`idempotence_faults.rs`) and librdkafka's mock
//! cluster (`ferrokafka-cli/tests/idempotence_rdkafka.rs`, which includes
//! this file by path).
//!
//! A run produces numbered records (record `i` goes to partition
//! `i % partitions`, so per-partition send order is numeric order) while a
//! fault schedule misbehaves, collects every delivery report, reads every
//! partition back and checks: each record in the log at most once, in send
//! order per partition, every `Persisted` record present (at its reported
//! offset when one was given), every `NotPersisted` record absent, and
//! every record missing from the log reported failed.
#![allow(dead_code)]
#![allow(clippy::result_large_err)]

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{FlushError, PersistenceStatus, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// What the application heard about one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// Delivered at this partition and offset (-1: unknown, a duplicate).
    Persisted { partition: i32, offset: i64 },
    /// Failed.
    Failed {
        status: PersistenceStatus,
        code: ErrorCode,
    },
}

/// Figures of one checked run.
#[derive(Debug, Default, Clone)]
pub struct Figures {
    pub records: usize,
    pub persisted: usize,
    pub failed_not_persisted: usize,
    pub failed_possibly_persisted: usize,
    pub in_log: usize,
    pub faults: usize,
    pub fatal: Option<String>,
    /// Failed records by error code.
    pub failed_codes: BTreeMap<String, usize>,
}

/// A small deterministic generator for fault schedules (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// A seed from the clock, for mixed runs (printed so a failure can be
/// replayed with `FERROKAFKA_FAULT_SEED`).
pub fn seed() -> u64 {
    std::env::var("FERROKAFKA_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        })
}

/// The idempotent producer the runs use: small batches so many requests
/// are in flight (5, or `FERROKAFKA_FAULT_INFLIGHT`), short request timeout
/// so dropped responses resolve fast.
pub fn producer(bootstrap: &str) -> Producer {
    producer_with(bootstrap, 5)
}

/// [`producer`] with `in_flight` requests in flight per connection (unless
/// `FERROKAFKA_FAULT_INFLIGHT` says otherwise).
pub fn producer_with(bootstrap: &str, in_flight: u32) -> Producer {
    Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.idempotence", "true")
            .set("linger.ms", "2")
            .set("batch.num.messages", "200")
            .set(
                "max.in.flight.requests.per.connection",
                std::env::var("FERROKAFKA_FAULT_INFLIGHT")
                    .unwrap_or_else(|_| in_flight.to_string()),
            )
            .set("request.timeout.ms", "1500")
            .set("socket.timeout.ms", "2000")
            .set("retry.backoff.ms", "20")
            .set("retry.backoff.max.ms", "200")
            .set("message.timeout.ms", "60000")
            .set("queue.buffering.max.messages", "20000"),
    )
    .expect("idempotent producer")
}

/// Produces `n` numbered records to `topic`, calling `fault(i)` before
/// record `i` at `points` evenly spaced places; returns one report per
/// record and whether/why the producer went fatal.
pub async fn produce(
    producer: &Producer,
    topic: &str,
    partitions: i32,
    n: usize,
    points: usize,
    fault: impl FnMut(usize),
) -> (Vec<Report>, Option<String>) {
    produce_paced(
        producer,
        topic,
        partitions,
        n,
        points,
        Duration::ZERO,
        fault,
    )
    .await
}

/// [`produce`], pausing `pause` before each fault so the records sent so
/// far are in flight (or answered) when it strikes, rather than all queued
/// before the first answer.
pub async fn produce_paced(
    producer: &Producer,
    topic: &str,
    partitions: i32,
    n: usize,
    points: usize,
    pause: Duration,
    mut fault: impl FnMut(usize),
) -> (Vec<Report>, Option<String>) {
    let every = (n / points.max(1)).max(1);
    let mut futs = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 && i % every == 0 {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            fault(i);
        }
        let r = ProducerRecord::new(topic.to_string())
            .partition(i as i32 % partitions)
            .value(i.to_string());
        match producer.send_wait(r).await {
            Ok(f) => futs.push(Some(f)),
            // Refused (the producer went fatal): never sent.
            Err(e) => {
                assert!(
                    e.error.is_fatal() || e.error.code() == ErrorCode::QueueFull,
                    "send refused for another reason: {}",
                    e.error
                );
                futs.push(None)
            }
        }
    }
    let p = producer.clone();
    let flushed = tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(120)))
        .await
        .unwrap();
    // A fatal error is a legitimate end of a run (the checks below still
    // apply to what was reported); flush must name it, never time out.
    match &flushed {
        Ok(()) => assert!(
            producer.fatal_error().is_none(),
            "flush hid the fatal error"
        ),
        Err(FlushError::Fatal(e)) => assert_eq!(
            Some(e.code()),
            producer.fatal_error().map(|f| f.code()),
            "flush returns the fatal error"
        ),
        Err(e) => panic!("flush failed: {e}"),
    }
    let mut reports = Vec::with_capacity(n);
    for f in futs {
        let r = match f {
            None => Report::Failed {
                status: PersistenceStatus::NotPersisted,
                code: ErrorCode::Fatal,
            },
            Some(f) => match timeout(Duration::from_secs(30), f)
                .await
                .expect("every report arrives after flush")
            {
                Ok(m) => Report::Persisted {
                    partition: m.partition,
                    offset: m.offset,
                },
                Err(e) => Report::Failed {
                    status: e.status,
                    code: e.error.code(),
                },
            },
        };
        reports.push(r);
    }
    let fatal = producer.fatal_error().map(|e| e.to_string());
    (reports, fatal)
}

/// Reads every partition of `topic` from the beginning to its high
/// watermark: the record numbers in log order, per partition.
pub async fn read_back(bootstrap: &str, topic: &str, partitions: i32) -> Vec<Vec<(i64, usize)>> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("fetch.wait.max.ms", "50")
            .set("enable.partition.eof", "false"),
    )
    .expect("consumer");
    let mut ends = Vec::new();
    for p in 0..partitions {
        let (_, high) = c
            .fetch_watermarks(topic, p, Duration::from_secs(20))
            .await
            .expect("watermarks");
        ends.push(high);
    }
    let assign: Vec<(&str, i32, Offset)> = (0..partitions)
        .filter(|p| ends[*p as usize] > 0)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    let mut logs = vec![Vec::new(); partitions as usize];
    if assign.is_empty() {
        return logs;
    }
    c.assign(&assign).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = |logs: &Vec<Vec<(i64, usize)>>| {
        logs.iter()
            .enumerate()
            .all(|(p, l)| l.last().map_or(ends[p] == 0, |(o, _)| *o + 1 >= ends[p]))
    };
    while !done(&logs) {
        assert!(
            Instant::now() < deadline,
            "read back did not finish in 120 s"
        );
        let m = match timeout(Duration::from_secs(10), c.recv()).await {
            Ok(Ok(m)) => m,
            Ok(Err(e)) if e.is_eof() => continue,
            Ok(Err(e)) => panic!("consumer error: {e}"),
            Err(_) => panic!("no record within 10 s while reading back"),
        };
        let v = std::str::from_utf8(m.value().expect("value")).expect("utf-8");
        let id: usize = v.parse().expect("a record number");
        logs[m.partition as usize].push((m.offset, id));
    }
    logs
}

/// Checks the reports against the log; panics naming the first violation.
pub fn check(reports: &[Report], logs: &[Vec<(i64, usize)>], partitions: i32) -> Figures {
    let mut seen: HashMap<usize, (i32, i64)> = HashMap::new();
    for (p, log) in logs.iter().enumerate() {
        let mut last: Option<usize> = None;
        for &(offset, id) in log {
            assert!(id < reports.len(), "partition {p}: unknown record {id}");
            assert_eq!(
                id as i32 % partitions,
                p as i32,
                "record {id} in the wrong partition {p}"
            );
            if let Some(prev) = seen.insert(id, (p as i32, offset)) {
                panic!("record {id} duplicated: at {prev:?} and at offset {offset}");
            }
            if let Some(l) = last {
                assert!(
                    id > l,
                    "partition {p}: record {id} at offset {offset} after {l} (reordered); the log there, as runs of consecutive records: {}",
                    runs_near(log, offset, partitions as usize)
                );
            }
            last = Some(id);
        }
    }
    let mut f = Figures {
        records: reports.len(),
        in_log: seen.len(),
        ..Figures::default()
    };
    for (id, r) in reports.iter().enumerate() {
        match *r {
            Report::Persisted { partition, offset } => {
                f.persisted += 1;
                let at = seen
                    .get(&id)
                    .unwrap_or_else(|| panic!("record {id} reported Persisted is missing"));
                assert_eq!(at.0, partition, "record {id}: reported partition");
                if offset >= 0 {
                    assert_eq!(at.1, offset, "record {id}: reported offset");
                }
            }
            Report::Failed { status, code } => {
                *f.failed_codes.entry(code.to_string()).or_insert(0) += 1;
                match status {
                    PersistenceStatus::NotPersisted => {
                        f.failed_not_persisted += 1;
                        assert!(
                            !seen.contains_key(&id),
                            "record {id} reported NotPersisted ({code}) is in the log"
                        );
                    }
                    PersistenceStatus::PossiblyPersisted => f.failed_possibly_persisted += 1,
                    other => panic!("record {id} failed with status {other}"),
                }
            }
        }
    }
    f
}

/// The log of one partition around `offset` (2,000 offsets either side) as
/// runs of consecutive records, `offsets a..=b: records x..=y`: shows which
/// batches were written out of place.
pub fn runs_near(log: &[(i64, usize)], offset: i64, step: usize) -> String {
    let mut runs: Vec<(i64, i64, usize, usize)> = Vec::new();
    for &(o, id) in log.iter().filter(|(o, _)| (o - offset).abs() <= 2_000) {
        match runs.last_mut() {
            Some(r) if r.1 + 1 == o && r.3 + step == id => {
                r.1 = o;
                r.3 = id;
            }
            _ => runs.push((o, o, id, id)),
        }
    }
    runs.iter()
        .map(|(a, b, x, y)| format!("offsets {a}..={b}: records {x}..={y}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Prints a run's figures (collected into RELIABILITY.md).
pub fn print(label: &str, f: &Figures) {
    println!(
        "FIGURES {label}: records={} persisted={} failed_not_persisted={} failed_possibly_persisted={} in_log={} faults={} fatal={:?} failed_codes={:?}",
        f.records,
        f.persisted,
        f.failed_not_persisted,
        f.failed_possibly_persisted,
        f.in_log,
        f.faults,
        f.fatal,
        f.failed_codes
    );
}

/// Per-partition counts of a check, by id (for tests of the checker).
pub fn by_partition(reports: &[Report]) -> BTreeMap<i32, usize> {
    let mut m = BTreeMap::new();
    for r in reports {
        if let Report::Persisted { partition, .. } = r {
            *m.entry(*partition).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn the_checker_catches_loss_duplication_and_reordering() {
    let ok = |p, o| Report::Persisted {
        partition: p,
        offset: o,
    };
    let reports = vec![ok(0, 0), ok(1, 0), ok(0, 1), ok(1, 1)];
    let good = vec![vec![(0, 0), (1, 2)], vec![(0, 1), (1, 3)]];
    let f = check(&reports, &good, 2);
    assert_eq!((f.persisted, f.in_log), (4, 4));
    assert_eq!(by_partition(&reports).get(&0), Some(&2));
    let bad_logs: Vec<Vec<Vec<(i64, usize)>>> = vec![
        // Record 2 lost.
        vec![vec![(0, 0)], vec![(0, 1), (1, 3)]],
        // Record 0 duplicated.
        vec![vec![(0, 0), (1, 0), (2, 2)], vec![(0, 1), (1, 3)]],
        // Partition 0 reordered.
        vec![vec![(0, 2), (1, 0)], vec![(0, 1), (1, 3)]],
    ];
    for logs in bad_logs {
        let r = std::panic::catch_unwind(|| check(&reports, &logs, 2));
        assert!(r.is_err(), "{logs:?} passed the checker");
    }
    // A record failed NotPersisted must not be in the log.
    let mut failed = reports.clone();
    failed[3] = Report::Failed {
        status: PersistenceStatus::NotPersisted,
        code: ErrorCode::MsgTimedOut,
    };
    assert!(std::panic::catch_unwind(|| check(&failed, &good, 2)).is_err());
}
