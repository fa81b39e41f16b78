//! Side-by-side producer and consumer benchmarks: ferrokafka and librdkafka
//! (through the `rdkafka` crate, cargo feature `librdkafka`) produce, or
//! consume, the same workload on the same broker in one invocation.
//!
//! The broker and each client run in processes of their own (this binary
//! re-invoked with `serve` / `client`), so CPU seconds and peak RSS read from
//! `/proc/self` belong to one client alone.
//!
//! ```text
//! ferrokafka-bench                      # the producer matrix, markdown table
//! ferrokafka-bench run --count 1000000  # smaller runs
//! ferrokafka-bench consume              # the consumer matrix (prefilled topic)
//! ferrokafka-bench consume --rdkafka-set fetch.queue.backoff.ms=10   # librdkafka tuned
//! ferrokafka-bench kafka --count 1000000  # against Apache Kafka, with Java's perf tools
//! ferrokafka-bench tls --count 1000000    # TLS: ferrokafka vs librdkafka (kcat), and vs plaintext
//! ferrokafka-bench txn --count 200000     # transactions of 100 and 10,000 records on Apache Kafka
//! ferrokafka-bench serve --broker ferrokafka-mock [--store 1]
//! ferrokafka-bench client --lib ferrokafka --bootstrap HOST:PORT [--mode consume] [...]
//! ```

mod apache_kafka;
mod tls;
mod txn;

use bytes::Bytes;
use ferrokafka::producer::{DeliveryFuture, Histogram, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Workload {
    topic: String,
    count: u64,
    size: usize,
    acks: String,
    codec: String,
    linger_ms: u64,
    /// Records per second; 0 is as fast as possible.
    rate: u64,
}

/// What a client run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Figures {
    lib: String,
    delivered: u64,
    failed: u64,
    seconds: f64,
    msgs_per_sec: f64,
    cpu_seconds: f64,
    cpu_per_million: f64,
    peak_rss_kb: u64,
    p50_us: u64,
    p99_us: u64,
    p99_9_us: u64,
    max_us: u64,
}

/// Every option of every subcommand. Unknown flags and values that do not
/// parse are refused (clap): a benchmark must never run another workload
/// than the one asked for (`--count 1e6` once ran the default 5,000,000).
#[derive(Debug, Clone, clap::Args)]
struct Opts {
    /// Topic to produce to or consume from.
    #[arg(long, default_value = "bench")]
    topic: String,
    /// Records per run.
    #[arg(long, default_value_t = 5_000_000)]
    count: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Producer acks.
    #[arg(long, default_value = "1", value_parser = ["0", "1", "all", "-1"])]
    acks: String,
    /// Compression codec.
    #[arg(long, default_value = "none", value_parser = ["none", "gzip", "snappy", "lz4", "zstd"])]
    codec: String,
    /// linger.ms of the producers.
    #[arg(long, default_value_t = 5)]
    linger: u64,
    /// Records per second; 0 is as fast as possible.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Records of the latency run (`run`).
    #[arg(long = "latency-count", default_value_t = 50_000)]
    latency_count: u64,
    /// Broker to serve (`serve`).
    #[arg(long, default_value = "ferrokafka-mock", value_parser = ["ferrokafka-mock", "librdkafka-mock"])]
    broker: String,
    /// Partitions of the topic.
    #[arg(long, default_value_t = 8)]
    partitions: i32,
    /// Whether the ferrokafka mock stores records (`serve`): 0 or 1.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    store: u8,
    /// Bootstrap servers (`client`).
    #[arg(long)]
    bootstrap: Option<String>,
    /// Client library (`client`).
    #[arg(long, default_value = "ferrokafka", value_parser = ["ferrokafka", "librdkafka"])]
    lib: String,
    /// What a client does (`client`).
    #[arg(long, default_value = "produce", value_parser = ["produce", "consume", "txn"])]
    mode: String,
    /// Records per transaction (`client --mode txn`).
    #[arg(long = "txn-size", default_value_t = 100)]
    txn_size: u64,
    /// Extra librdkafka properties, `k=v,k=v` (consumer runs).
    #[arg(long = "rdkafka-set")]
    rdkafka_set: Option<String>,
    /// Extra ferrokafka properties, `k=v,k=v` (`client` and the ferrokafka
    /// rows of `kafka`; the TLS runs' security settings).
    #[arg(long = "client-set")]
    client_set: Option<String>,
    /// Serve TLS with `cert.pem` and `key.pem` from this directory
    /// (`serve`).
    #[arg(long = "tls-dir")]
    tls_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, clap::Parser)]
#[command(
    name = "ferrokafka-bench",
    about = "Side-by-side Kafka client benchmarks",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Options of the default subcommand (`run`).
    #[command(flatten)]
    opts: Opts,
}

#[derive(Debug, clap::Subcommand)]
enum Cmd {
    /// The producer matrix (the default).
    Run(Opts),
    /// The consumer matrix (prefilled topic).
    Consume(Opts),
    /// Serve a broker until stdin closes (used by the matrices).
    Serve(Opts),
    /// One client run, printing its figures as JSON (used by the matrices).
    Client(Opts),
    /// Producer and consumer rows against one Apache Kafka node, with Java's
    /// ProducerPerformance / ConsumerPerformance beside the Rust clients.
    Kafka(Opts),
    /// Produce and consume over TLS: ferrokafka beside librdkafka (kcat)
    /// on the same TLS listener, and ferrokafka over TLS beside plaintext.
    Tls(Opts),
    /// Transactional produce throughput against one Apache Kafka node,
    /// transactions of 100 and 10,000 records, ferrokafka beside librdkafka.
    Txn(Opts),
}

fn workload(m: &Opts) -> Workload {
    Workload {
        topic: m.topic.clone(),
        count: m.count,
        size: m.size,
        acks: m.acks.clone(),
        codec: m.codec.clone(),
        linger_ms: m.linger,
        rate: m.rate,
    }
}

fn main() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    let r = match cli.cmd {
        Some(Cmd::Serve(m)) => serve(
            &m.broker,
            m.partitions,
            &m.topic,
            m.store != 0,
            m.tls_dir.as_deref(),
        ),
        Some(Cmd::Client(m)) => client(&m),
        Some(Cmd::Consume(m)) => run_consume(&m),
        Some(Cmd::Run(m)) => run(&m),
        Some(Cmd::Kafka(m)) => apache_kafka::run_kafka(&m),
        Some(Cmd::Tls(m)) => tls::run_tls(&m),
        Some(Cmd::Txn(m)) => txn::run_txn(&m),
        None => run(&cli.opts),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrokafka-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Starts a broker, prints its bootstrap servers, serves until stdin closes.
/// The ferrokafka mock stores records only with `store` (the consumer
/// benchmarks); librdkafka's mock always stores them. `tls_dir` makes the
/// ferrokafka mock serve TLS only.
fn serve(
    kind: &str,
    partitions: i32,
    topic: &str,
    store: bool,
    tls_dir: Option<&std::path::Path>,
) -> Result<(), String> {
    let bootstrap;
    if tls_dir.is_some() && kind != "ferrokafka-mock" {
        return Err(format!("--tls-dir: {kind} cannot serve TLS here"));
    }
    let _keep: Box<dyn std::any::Any> = match kind {
        "ferrokafka-mock" => {
            let mut b = ferrokafka_mock::MockCluster::builder()
                .brokers(3)
                .blackhole(!store)
                .topic(topic, partitions, 1);
            if let Some(dir) = tls_dir {
                let (cert, key) = tls::server_tls(dir)?;
                b = b.tls(&cert, &key);
            }
            let c = b
                .build_blocking()
                .map_err(|e| e.to_string())?;
            bootstrap = c.bootstrap_servers();
            Box::new(c)
        }
        #[cfg(feature = "librdkafka")]
        "librdkafka-mock" => {
            let c = rdkafka::mocking::MockCluster::new(3).map_err(|e| e.to_string())?;
            c.create_topic(topic, partitions, 1).map_err(|e| e.to_string())?;
            bootstrap = c.bootstrap_servers();
            Box::new(c)
        }
        other => return Err(format!("unknown broker kind {other} (ferrokafka-mock, librdkafka-mock with --features librdkafka)")),
    };
    println!("{bootstrap}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    Ok(())
}

fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(close) = s.rfind(')') else {
        return 0.0;
    };
    let f: Vec<&str> = s[close + 2..].split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (t(11) + t(12)) as f64 / 100.0
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn figures(
    lib: &str,
    w: &Workload,
    delivered: u64,
    failed: u64,
    start: Instant,
    cpu0: f64,
    lat: &Histogram,
) -> Figures {
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let _ = w;
    Figures {
        lib: lib.to_string(),
        delivered,
        failed,
        seconds,
        msgs_per_sec: delivered as f64 / seconds.max(1e-9),
        cpu_seconds: cpu,
        cpu_per_million: cpu / (delivered.max(1) as f64 / 1e6),
        peak_rss_kb: peak_rss_kb(),
        p50_us: lat.quantile(0.5),
        p99_us: lat.quantile(0.99),
        p99_9_us: lat.quantile(0.999),
        max_us: lat.summary().max,
    }
}

/// Sleeps until record `i` is due at `rate` records/s.
fn pace(start: Instant, i: u64, rate: u64) -> Option<Duration> {
    if rate == 0 {
        return None;
    }
    let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
    due.checked_duration_since(Instant::now())
}

/// `--client-set k=v,...` as pairs.
fn extra_props(list: Option<&str>) -> Result<Vec<(String, String)>, String> {
    list.unwrap_or("")
        .split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("--client-set {kv}: expected name=value"))
        })
        .collect()
}

fn client(m: &Opts) -> Result<(), String> {
    let w = workload(m);
    let extra = extra_props(m.client_set.as_deref())?;
    let bootstrap = m.bootstrap.clone().ok_or("--bootstrap is required")?;
    let lib = m.lib.clone();
    if m.mode == "txn" {
        return txn::client(m, &bootstrap);
    }
    if m.mode == "consume" {
        let partitions: i32 = m.partitions;
        let f = match lib.as_str() {
            "ferrokafka" => consume_ferrokafka(&w, partitions, &bootstrap, &extra)?,
            #[cfg(feature = "librdkafka")]
            "librdkafka" => consume_librdkafka(
                &w,
                partitions,
                &bootstrap,
                m.rdkafka_set.as_deref().unwrap_or(""),
            )?,
            other => return Err(format!("unknown client {other}")),
        };
        println!("{}", serde_json::to_string(&f).map_err(|e| e.to_string())?);
        return Ok(());
    }
    let f = match lib.as_str() {
        "ferrokafka" => client_ferrokafka(&w, &bootstrap, &extra)?,
        #[cfg(feature = "librdkafka")]
        "librdkafka" => client_librdkafka(&w, &bootstrap)?,
        other => return Err(format!("unknown client {other}")),
    };
    println!("{}", serde_json::to_string(&f).map_err(|e| e.to_string())?);
    Ok(())
}

fn with_extra(mut c: ClientConfig, extra: &[(String, String)]) -> ClientConfig {
    for (k, v) in extra {
        c = c.set(k.clone(), v.clone());
    }
    c
}

fn client_ferrokafka(
    w: &Workload,
    bootstrap: &str,
    extra: &[(String, String)],
) -> Result<Figures, String> {
    let producer = Producer::new(&with_extra(
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", w.linger_ms.to_string())
            .set("acks", w.acks.clone())
            .set("compression.codec", w.codec.clone()),
        extra,
    ))
    .map_err(|e| e.to_string())?;
    // Metadata and connections before the clock starts, as for librdkafka.
    let _ = producer.partitions_for(&w.topic);
    let topic: Arc<str> = Arc::from(w.topic.as_str());
    let payload = Bytes::from(vec![b'x'; w.size]);
    let mut lat = Histogram::default();
    let (mut ok, mut failed) = (0u64, 0u64);
    let mut pending: VecDeque<(Instant, DeliveryFuture)> = VecDeque::new();
    let mut settle = |t: Instant, f: DeliveryFuture| {
        let (r, at) = f.wait_with_time();
        match r {
            Ok(_) => {
                ok += 1;
                lat.record(at.saturating_duration_since(t).as_micros() as u64);
            }
            Err(_) => failed += 1,
        }
    };
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for i in 0..w.count {
        if let Some(d) = pace(start, i, w.rate) {
            std::thread::sleep(d);
        }
        let mut rec = ProducerRecord::new(topic.clone()).value(payload.clone());
        loop {
            let t = Instant::now();
            match producer.send(rec) {
                Ok(f) => {
                    pending.push_back((t, f));
                    break;
                }
                Err(e) if e.error.code() == ErrorCode::QueueFull => {
                    rec = e.record;
                    if let Some((t, f)) = pending.pop_front() {
                        settle(t, f);
                    }
                }
                Err(e) => return Err(e.error.to_string()),
            }
        }
        while pending.front().is_some_and(|(_, f)| f.is_done()) {
            if let Some((t, f)) = pending.pop_front() {
                settle(t, f);
            }
        }
    }
    let _ = producer.flush(Duration::from_secs(300));
    for (t, f) in pending.drain(..) {
        settle(t, f);
    }
    Ok(figures("ferrokafka", w, ok, failed, start, cpu0, &lat))
}

#[cfg(feature = "librdkafka")]
fn client_librdkafka(w: &Workload, bootstrap: &str) -> Result<Figures, String> {
    use rdkafka::config::ClientConfig as RdConfig;
    use rdkafka::producer::{
        BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext,
    };
    use rdkafka::types::RDKafkaErrorCode;
    use rdkafka::ClientContext;
    use std::sync::Mutex;

    struct Ctx {
        epoch: Instant,
        lat: Mutex<(Histogram, u64, u64)>,
    }
    impl ClientContext for Ctx {}
    impl ProducerContext for Ctx {
        type DeliveryOpaque = usize;
        fn delivery(&self, r: &DeliveryResult<'_>, sent_ns: usize) {
            let now = self.epoch.elapsed().as_nanos() as u64;
            let mut g = self.lat.lock().unwrap();
            match r {
                Ok(_) => {
                    g.1 += 1;
                    g.0.record(now.saturating_sub(sent_ns as u64) / 1000);
                }
                Err(_) => g.2 += 1,
            }
        }
    }
    let ctx = Ctx {
        epoch: Instant::now(),
        lat: Mutex::new((Histogram::default(), 0, 0)),
    };
    let producer: BaseProducer<Ctx> = RdConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", w.linger_ms.to_string())
        .set("acks", &w.acks)
        .set("compression.codec", &w.codec)
        .create_with_context(ctx)
        .map_err(|e| e.to_string())?;
    let _ = producer
        .client()
        .fetch_metadata(Some(&w.topic), Duration::from_secs(10));
    let payload = vec![b'x'; w.size];
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    for i in 0..w.count {
        // poll returns early on delivery events: wait until really due.
        while let Some(d) = pace(start, i, w.rate) {
            producer.poll(d);
        }
        let mut rec =
            BaseRecord::<(), [u8], usize>::with_opaque_to(&w.topic, 0).payload(&payload[..]);
        loop {
            rec.delivery_opaque = producer.context().epoch.elapsed().as_nanos() as usize;
            match producer.send(rec) {
                Ok(()) => break,
                Err((e, r)) => {
                    if e.rdkafka_error_code() != Some(RDKafkaErrorCode::QueueFull) {
                        return Err(e.to_string());
                    }
                    rec = r;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
        if i % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .map_err(|e| e.to_string())?;
    let (lat, ok, failed) = {
        let g = producer.context().lat.lock().unwrap();
        (g.0.clone(), g.1, g.2)
    };
    Ok(figures("librdkafka", w, ok, failed, start, cpu0, &lat))
}

/// What a consuming client run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ConsumeFigures {
    lib: String,
    consumed: u64,
    bytes: u64,
    seconds: f64,
    msgs_per_sec: f64,
    cpu_seconds: f64,
    cpu_per_million: f64,
    peak_rss_kb: u64,
}

fn consume_figures(
    lib: &str,
    consumed: u64,
    bytes: u64,
    start: Instant,
    cpu0: f64,
) -> ConsumeFigures {
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    ConsumeFigures {
        lib: lib.to_string(),
        consumed,
        bytes,
        seconds,
        msgs_per_sec: consumed as f64 / seconds.max(1e-9),
        cpu_seconds: cpu,
        cpu_per_million: cpu / (consumed.max(1) as f64 / 1e6),
        peak_rss_kb: peak_rss_kb(),
    }
}

/// How long a consuming client waits for the prefilled records.
const CONSUME_TIMEOUT: Duration = Duration::from_secs(300);

/// How many polls pass between two reads of the clock in the consume
/// loops (both clients alike): a read per record costs more than some
/// clients spend on the record itself.
const CLOCK_EVERY: u32 = 1024;

/// Reads every partition from the beginning until `w.count` records arrived
/// or each partition reported its end (librdkafka's mock keeps only the
/// newest records of a partition), with
/// ferrokafka's blocking `poll`, as an application without a runtime does.
fn consume_ferrokafka(
    w: &Workload,
    partitions: i32,
    bootstrap: &str,
    extra: &[(String, String)],
) -> Result<ConsumeFigures, String> {
    use ferrokafka::consumer::{Consumer, Offset};
    let consumer = Consumer::new(&with_extra(
        ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("enable.partition.eof", "true"),
        extra,
    ))
    .map_err(|e| e.to_string())?;
    // Metadata and a connection before the clock starts, as for librdkafka.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(consumer.partitions_for(&w.topic, Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    drop(rt);
    let assignment: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (w.topic.as_str(), p, Offset::Beginning))
        .collect();
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    consumer.assign(&assignment).map_err(|e| e.to_string())?;
    let (mut n, mut bytes) = (0u64, 0u64);
    let mut at_end = std::collections::HashSet::new();
    let mut polls = 0u32;
    while n < w.count && at_end.len() < partitions as usize {
        polls = polls.wrapping_add(1);
        if polls % CLOCK_EVERY == 0 && start.elapsed() > CONSUME_TIMEOUT {
            return Err(format!("ferrokafka: timed out after {n} records"));
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                n += 1;
                bytes += m.value().map_or(0, <[u8]>::len) as u64;
            }
            Some(Err(e)) if e.is_eof() => {
                at_end.insert(e.partition_id());
            }
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
    }
    Ok(consume_figures("ferrokafka", n, bytes, start, cpu0))
}

/// The same with librdkafka's `BaseConsumer::poll`, one message a call.
#[cfg(feature = "librdkafka")]
fn consume_librdkafka(
    w: &Workload,
    partitions: i32,
    bootstrap: &str,
    extra: &str,
) -> Result<ConsumeFigures, String> {
    use rdkafka::config::ClientConfig as RdConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    use rdkafka::error::KafkaError;
    use rdkafka::{Message as _, Offset, TopicPartitionList};
    // `--rdkafka-set name=value,...`: tuning runs beside the defaults.
    let mut config = RdConfig::new();
    for kv in extra.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--rdkafka-set {kv}: expected name=value"))?;
        config.set(k, v);
    }
    let consumer: BaseConsumer = config
        .set("bootstrap.servers", bootstrap)
        .set("enable.partition.eof", "true")
        // librdkafka refuses assign() without a group; nothing is committed.
        .set("group.id", "ferrokafka-bench")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| e.to_string())?;
    consumer
        .fetch_metadata(Some(&w.topic), Duration::from_secs(10))
        .map_err(|e| e.to_string())?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(&w.topic, p, Offset::Beginning)
            .map_err(|e| e.to_string())?;
    }
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    consumer.assign(&tpl).map_err(|e| e.to_string())?;
    let (mut n, mut bytes) = (0u64, 0u64);
    let mut at_end = std::collections::HashSet::new();
    let mut polls = 0u32;
    while n < w.count && at_end.len() < partitions as usize {
        polls = polls.wrapping_add(1);
        if polls % CLOCK_EVERY == 0 && start.elapsed() > CONSUME_TIMEOUT {
            return Err(format!("librdkafka: timed out after {n} records"));
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                n += 1;
                bytes += m.payload().map_or(0, <[u8]>::len) as u64;
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => return Err(e.to_string()),
            None => {}
        }
    }
    Ok(consume_figures("librdkafka", n, bytes, start, cpu0))
}

/// Starts `broker` in a process of its own; returns it and its bootstrap.
fn spawn_broker(
    exe: &std::path::Path,
    broker: &str,
    topic: &str,
    store: bool,
) -> Result<(std::process::Child, String), String> {
    let mut server = Command::new(exe)
        .args([
            "serve",
            "--broker",
            broker,
            "--partitions",
            "8",
            "--topic",
            topic,
        ])
        .args(["--store", if store { "1" } else { "0" }])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().ok_or("no broker stdout")?)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok((server, line.trim().to_string()))
}

/// Runs a client process and parses its one-line JSON answer.
fn run_client<T: serde::de::DeserializeOwned>(
    exe: &std::path::Path,
    args: &[String],
    what: &str,
) -> Result<T, String> {
    let out = Command::new(exe)
        .arg("client")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{what}: {e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The consumer matrix: for each broker and codec a fresh broker process
/// (storing), filled by ferrokafka's producer in a process of its own, then
/// read from the beginning by each client in turn, each in its own process.
fn run_consume(m: &Opts) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let base = workload(m);
    println!("| broker | workload | client | records read | msgs/s | MB/s | CPU s / 1M msgs | peak RSS MiB |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    let mut fills = Vec::new();
    for broker in brokers() {
        for codec in ["none", "lz4", "zstd"] {
            let w = Workload {
                codec: codec.into(),
                acks: "1".into(),
                ..base.clone()
            };
            let name = format!("{} x {}B, 8 partitions, {codec}", w.count, w.size);
            let (mut server, bootstrap) = spawn_broker(&exe, broker, &w.topic, true)?;
            let common = |lib: &str| -> Vec<String> {
                [
                    "--lib",
                    lib,
                    "--bootstrap",
                    &bootstrap,
                    "--topic",
                    &w.topic,
                    "--count",
                    &w.count.to_string(),
                    "--size",
                    &w.size.to_string(),
                    "--partitions",
                    "8",
                ]
                .iter()
                .map(|s| s.to_string())
                .collect()
            };
            let mut fill_args = common("ferrokafka");
            fill_args.extend(["--acks", "1", "--codec", codec, "--linger", "5"].map(String::from));
            let fill: Figures = run_client(&exe, &fill_args, &format!("fill on {broker}"))?;
            if fill.delivered != w.count {
                return Err(format!(
                    "fill on {broker}: {} of {} records delivered",
                    fill.delivered, w.count
                ));
            }
            fills.push(format!(
                "{broker}, {codec}: filled in {:.2} s ({:.0} msgs/s)",
                fill.seconds, fill.msgs_per_sec
            ));
            let mut results: Vec<ConsumeFigures> = Vec::new();
            for lib in libs() {
                let mut args = common(lib);
                args.extend(["--mode", "consume"].map(String::from));
                if let Some(extra) = &m.rdkafka_set {
                    args.extend(["--rdkafka-set".to_string(), extra.clone()]);
                }
                let f: ConsumeFigures = run_client(&exe, &args, &format!("{lib} on {broker}"))?;
                println!(
                    "| {broker} | {name} | {} | {} | {:.0} | {:.1} | {:.2} | {:.1} |",
                    f.lib,
                    f.consumed,
                    f.msgs_per_sec,
                    f.bytes as f64 / f.seconds.max(1e-9) / 1e6,
                    f.cpu_per_million,
                    f.peak_rss_kb as f64 / 1024.0,
                );
                results.push(f);
            }
            if let [a, b] = &results[..] {
                println!(
                    "| {broker} | {name} | ratio ferrokafka/librdkafka | | {:.2}x | | {:.2}x | {:.2}x |",
                    a.msgs_per_sec / b.msgs_per_sec.max(1e-9),
                    a.cpu_per_million / b.cpu_per_million.max(1e-9),
                    a.peak_rss_kb as f64 / (b.peak_rss_kb.max(1)) as f64,
                );
            }
            drop(server.stdin.take());
            let _ = server.wait();
        }
    }
    println!();
    for f in fills {
        println!("- {f}");
    }
    Ok(())
}

fn libs() -> Vec<&'static str> {
    let mut v = vec!["ferrokafka"];
    if cfg!(feature = "librdkafka") {
        v.push("librdkafka");
    }
    v
}

fn brokers() -> Vec<&'static str> {
    let mut v = vec!["ferrokafka-mock"];
    if cfg!(feature = "librdkafka") {
        v.push("librdkafka-mock");
    }
    v
}

/// Runs the matrix and prints a markdown table with ratios.
fn run(m: &Opts) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let base = workload(m);
    let latency_count: u64 = m.latency_count;
    let mut cases: Vec<(String, Workload)> = Vec::new();
    for acks in ["1", "all"] {
        for codec in ["none", "lz4"] {
            let w = Workload {
                acks: acks.into(),
                codec: codec.into(),
                ..base.clone()
            };
            cases.push((
                format!("{} x {}B, acks={acks}, {codec}", w.count, w.size),
                w,
            ));
        }
    }
    let lat = Workload {
        count: latency_count,
        rate: 10_000,
        linger_ms: 0,
        acks: "1".into(),
        ..base.clone()
    };
    cases.push((
        format!(
            "latency: {} x {}B at 10000/s, linger.ms=0",
            lat.count, lat.size
        ),
        lat,
    ));
    println!("| broker | workload | client | msgs/s | CPU s / 1M msgs | peak RSS MiB | p50 us | p99 us | failed |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for broker in brokers() {
        for (name, w) in &cases {
            let (mut server, bootstrap) = spawn_broker(&exe, broker, &w.topic, false)?;
            let mut results: Vec<Figures> = Vec::new();
            for lib in libs() {
                let out = Command::new(&exe)
                    .args(["client", "--lib", lib, "--bootstrap", &bootstrap])
                    .args([
                        "--topic",
                        &w.topic,
                        "--count",
                        &w.count.to_string(),
                        "--size",
                        &w.size.to_string(),
                    ])
                    .args([
                        "--acks",
                        &w.acks,
                        "--codec",
                        &w.codec,
                        "--linger",
                        &w.linger_ms.to_string(),
                        "--rate",
                        &w.rate.to_string(),
                    ])
                    .output()
                    .map_err(|e| e.to_string())?;
                let f: Figures = serde_json::from_slice(&out.stdout).map_err(|e| {
                    format!(
                        "{lib} on {broker}: {e}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    )
                })?;
                println!(
                    "| {broker} | {name} | {} | {:.0} | {:.2} | {:.1} | {} | {} | {} |",
                    f.lib,
                    f.msgs_per_sec,
                    f.cpu_per_million,
                    f.peak_rss_kb as f64 / 1024.0,
                    f.p50_us,
                    f.p99_us,
                    f.failed
                );
                results.push(f);
            }
            if let [a, b] = &results[..] {
                println!(
                    "| {broker} | {name} | ratio ferrokafka/librdkafka | {:.2}x | {:.2}x | {:.2}x | {:.2}x | {:.2}x | |",
                    a.msgs_per_sec / b.msgs_per_sec.max(1e-9),
                    a.cpu_per_million / b.cpu_per_million.max(1e-9),
                    a.peak_rss_kb as f64 / (b.peak_rss_kb.max(1)) as f64,
                    a.p50_us as f64 / (b.p50_us.max(1)) as f64,
                    a.p99_us as f64 / (b.p99_us.max(1)) as f64,
                );
            }
            drop(server.stdin.take());
            let _ = server.wait();
        }
    }
    Ok(())
}
