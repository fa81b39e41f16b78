//! `ferrokafka-bench txn`: transactional produce throughput against one
//! Apache Kafka node, ferrokafka beside librdkafka (with the `librdkafka`
//! feature), at several transaction sizes, in one invocation.
//!
//! Each client runs in a process of its own (this binary re-invoked as
//! `client --mode txn`): `init_transactions`, then `--count` records of
//! `--size` bytes (no key, `--partitions` partitions, `linger.ms`) in
//! transactions of `--txn-size` records, each ended by
//! `commit_transaction` (which flushes first in both clients). The clock
//! covers the transactions only; the init and the first metadata request
//! come before it. Every client run has a transactional id of its own, so
//! no run waits for another's transaction to be fenced or to time out.

use crate::{cpu_seconds, libs, peak_rss_kb, run_client, Opts};
use ferrokafka::producer::Histogram;
use ferrokafka_peers::ApacheKafka;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What one transactional client run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TxnFigures {
    lib: String,
    /// Records acknowledged inside committed transactions.
    delivered: u64,
    transactions: u64,
    seconds: f64,
    msgs_per_sec: f64,
    cpu_per_million: f64,
    peak_rss_kb: u64,
    /// `commit_transaction`'s duration (flush included), microseconds.
    commit_p50_us: u64,
    commit_p99_us: u64,
}

fn txn_figures(
    lib: &str,
    delivered: u64,
    transactions: u64,
    start: Instant,
    cpu0: f64,
    commits: &Histogram,
) -> TxnFigures {
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    TxnFigures {
        lib: lib.to_string(),
        delivered,
        transactions,
        seconds,
        msgs_per_sec: delivered as f64 / seconds.max(1e-9),
        cpu_per_million: cpu / (delivered.max(1) as f64 / 1e6),
        peak_rss_kb: peak_rss_kb(),
        commit_p50_us: commits.quantile(0.5),
        commit_p99_us: commits.quantile(0.99),
    }
}

const T: Duration = Duration::from_secs(60);

/// The client side (`client --mode txn`): prints one JSON line.
pub(crate) fn client(m: &Opts, bootstrap: &str) -> Result<(), String> {
    if m.txn_size == 0 || m.count % m.txn_size != 0 {
        return Err(format!(
            "--count {} is not a multiple of --txn-size {}",
            m.count, m.txn_size
        ));
    }
    let id = format!("bench-txn-{}-{}", m.lib, std::process::id());
    let f = match m.lib.as_str() {
        "ferrokafka" => txn_ferrokafka(m, bootstrap, &id)?,
        #[cfg(feature = "librdkafka")]
        "librdkafka" => txn_librdkafka(m, bootstrap, &id)?,
        other => return Err(format!("unknown client {other}")),
    };
    println!("{}", serde_json::to_string(&f).map_err(|e| e.to_string())?);
    Ok(())
}

fn txn_ferrokafka(m: &Opts, bootstrap: &str, id: &str) -> Result<TxnFigures, String> {
    use ferrokafka::producer::{Producer, ProducerRecord};
    use ferrokafka::ClientConfig;
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("transactional.id", id)
            .set("linger.ms", m.linger.to_string())
            .set("compression.codec", m.codec.clone()),
    )
    .map_err(|e| e.to_string())?;
    let _ = p.partitions_for(&m.topic);
    p.init_transactions_blocking(T).map_err(|e| e.to_string())?;
    let topic: std::sync::Arc<str> = std::sync::Arc::from(m.topic.as_str());
    let payload = bytes::Bytes::from(vec![b'x'; m.size]);
    let mut commits = Histogram::default();
    let transactions = m.count / m.txn_size;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for _ in 0..transactions {
        p.begin_transaction().map_err(|e| e.to_string())?;
        for _ in 0..m.txn_size {
            // Delivery is known from the commit: a failed record fails it.
            let _delivery = p
                .send_blocking(ProducerRecord::new(topic.clone()).value(payload.clone()))
                .map_err(|e| e.error.to_string())?;
        }
        let t = Instant::now();
        p.commit_transaction_blocking(T)
            .map_err(|e| e.to_string())?;
        commits.record(t.elapsed().as_micros() as u64);
    }
    Ok(txn_figures(
        "ferrokafka",
        m.count,
        transactions,
        start,
        cpu0,
        &commits,
    ))
}

#[cfg(feature = "librdkafka")]
fn txn_librdkafka(m: &Opts, bootstrap: &str, id: &str) -> Result<TxnFigures, String> {
    use rdkafka::config::ClientConfig as RdConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
    use rdkafka::types::RDKafkaErrorCode;
    use rdkafka::ClientContext;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    struct Ctx {
        ok: AtomicU64,
        failed: AtomicU64,
    }
    impl ClientContext for Ctx {}
    impl ProducerContext for Ctx {
        type DeliveryOpaque = ();
        fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
            match r {
                Ok(_) => self.ok.fetch_add(1, Ordering::Relaxed),
                Err(_) => self.failed.fetch_add(1, Ordering::Relaxed),
            };
        }
    }
    let p: BaseProducer<Ctx> = RdConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("transactional.id", id)
        .set("linger.ms", m.linger.to_string())
        .set("compression.codec", &m.codec)
        .create_with_context(Ctx::default())
        .map_err(|e| e.to_string())?;
    let _ = p
        .client()
        .fetch_metadata(Some(&m.topic), Duration::from_secs(10));
    p.init_transactions(T).map_err(|e| e.to_string())?;
    let payload = vec![b'x'; m.size];
    let mut commits = Histogram::default();
    let transactions = m.count / m.txn_size;
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for _ in 0..transactions {
        p.begin_transaction().map_err(|e| e.to_string())?;
        for i in 0..m.txn_size {
            let mut rec = BaseRecord::<(), [u8], ()>::to(&m.topic).payload(&payload[..]);
            loop {
                match p.send(rec) {
                    Ok(()) => break,
                    Err((e, r)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                        rec = r;
                        p.poll(Duration::from_millis(1));
                    }
                    Err((e, _)) => return Err(e.to_string()),
                }
            }
            if i % 1000 == 0 {
                p.poll(Duration::ZERO);
            }
        }
        let t = Instant::now();
        p.commit_transaction(T).map_err(|e| e.to_string())?;
        commits.record(t.elapsed().as_micros() as u64);
    }
    p.poll(Duration::ZERO);
    let ctx = p.context();
    let (ok, failed) = (
        ctx.ok.load(Ordering::Relaxed),
        ctx.failed.load(Ordering::Relaxed),
    );
    if failed > 0 || ok != m.count {
        return Err(format!(
            "librdkafka: {ok} delivered, {failed} failed of {}",
            m.count
        ));
    }
    Ok(txn_figures(
        "librdkafka",
        ok,
        transactions,
        start,
        cpu0,
        &commits,
    ))
}

/// The table: for each transaction size, every client produces `--count`
/// records (`--count` must be a multiple of each size) to a topic of its
/// own on one Apache Kafka node.
pub(crate) fn run_txn(o: &Opts) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let kafka = ApacheKafka::launch(1).ok_or(
        "apache-kafka is not installed (run scripts/test.sh once, or set FERROKAFKA_KAFKA_LIBS)",
    )?;
    eprintln!(
        "apache kafka up in {:.1} s at {}",
        started.elapsed().as_secs_f64(),
        kafka.bootstrap()
    );
    println!("| workload | client | msgs/s | transactions/s | CPU s / 1M msgs | peak RSS MiB | commit p50 / p99 |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for size in [100u64, 10_000] {
        let what = format!(
            "{} x {}B in transactions of {size}, {} partitions, {}, linger.ms={}",
            o.count, o.size, o.partitions, o.codec, o.linger
        );
        let mut rows: Vec<TxnFigures> = Vec::new();
        for lib in libs() {
            let topic = format!("bench-txn-{size}-{lib}");
            kafka.create_topic(&topic, o.partitions, 1, &[]);
            let args: Vec<String> = [
                "--mode",
                "txn",
                "--lib",
                lib,
                "--bootstrap",
                &kafka.bootstrap(),
                "--topic",
                &topic,
                "--count",
                &o.count.to_string(),
                "--txn-size",
                &size.to_string(),
                "--size",
                &o.size.to_string(),
                "--codec",
                &o.codec,
                "--linger",
                &o.linger.to_string(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let f: TxnFigures = run_client(&exe, &args, &format!("{lib} in transactions"))?;
            if f.delivered != o.count {
                return Err(format!("{lib}: {} of {} delivered", f.delivered, o.count));
            }
            println!(
                "| {what} | {} | {:.0} | {:.1} | {:.2} | {:.1} | {:.1} / {:.1} ms |",
                f.lib,
                f.msgs_per_sec,
                f.transactions as f64 / f.seconds.max(1e-9),
                f.cpu_per_million,
                f.peak_rss_kb as f64 / 1024.0,
                f.commit_p50_us as f64 / 1e3,
                f.commit_p99_us as f64 / 1e3
            );
            rows.push(f);
        }
        if let [ours, peer] = &rows[..] {
            println!(
                "| {what} | ratio ferrokafka/{} | {:.2}x | {:.2}x | {:.2}x | {:.2}x | {:.2}x / {:.2}x |",
                peer.lib,
                ours.msgs_per_sec / peer.msgs_per_sec.max(1e-9),
                (ours.transactions as f64 / ours.seconds.max(1e-9))
                    / (peer.transactions as f64 / peer.seconds.max(1e-9)).max(1e-9),
                ours.cpu_per_million / peer.cpu_per_million.max(1e-9),
                ours.peak_rss_kb as f64 / (peer.peak_rss_kb as f64).max(1e-9),
                ours.commit_p50_us as f64 / (peer.commit_p50_us as f64).max(1e-9),
                ours.commit_p99_us as f64 / (peer.commit_p99_us as f64).max(1e-9),
            );
        }
    }
    Ok(())
}
