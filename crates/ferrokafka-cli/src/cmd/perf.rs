//! `ferrokafka perf produce` and `ferrokafka perf consume`: client
//! throughput, CPU and memory.
//!
//! Without `-b` they start the embedded mock cluster in this process:
//! `produce` in blackhole mode (acks with real offsets, stores nothing), so
//! the figures show the client (and a minimal broker) rather than a disk;
//! `consume` in storing mode, filled first with COUNT records by our
//! producer. Both report messages/s, MB/s, CPU seconds from `/proc` (the
//! process, and the client's own threads apart from the embedded broker's)
//! and peak RSS (`VmHWM` of `/proc/self/status`); `produce` also delivery
//! latency percentiles (send to delivery report, as recorded by the
//! producer).
//!
//! SIGINT or SIGTERM stops a run early (see [`super::shutdown`]): the
//! records sent are delivered within the close timeout and the report
//! covers what was done (`perf consume` then exits 1: it read fewer
//! records than asked).

use bytes::Bytes;
use ferrokafka::producer::{DeliveryFuture, Histogram, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use serde::Serialize;
use std::collections::{HashSet, VecDeque};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `ferrokafka perf`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Produce COUNT records of SIZE bytes as fast as possible (or at RATE/s).
    Produce(ProduceArgs),
    /// Fill a topic with COUNT records of SIZE bytes, then consume them from
    /// the beginning as fast as possible.
    Consume(ConsumeArgs),
}

/// Arguments of `ferrokafka perf consume`.
#[derive(Debug, clap::Args)]
struct ConsumeArgs {
    /// Bootstrap brokers; without it an embedded mock cluster (3 brokers,
    /// storing mode) runs in this process.
    #[arg(short = 'b', long)]
    brokers: Option<String>,
    /// Topic to fill and consume.
    #[arg(short = 't', long, default_value = "perf")]
    topic: String,
    /// Number of records.
    #[arg(short = 'n', long, default_value_t = 20_000_000)]
    count: u64,
    /// Value size in bytes.
    #[arg(short = 's', long, default_value_t = 100)]
    size: usize,
    /// Partitions of the topic on the embedded cluster.
    #[arg(short = 'P', long, default_value_t = 8)]
    partitions: i32,
    /// Compression codec of the fill (none, gzip, snappy, lz4, zstd).
    #[arg(short = 'z', long)]
    codec: Option<String>,
    /// Do not fill: consume COUNT records already in the topic (with `-b`).
    #[arg(long)]
    no_fill: bool,
    /// A client property, `name=value` (repeatable); producer properties
    /// apply to the fill, consumer properties to the consumer, common ones
    /// to both.
    #[arg(short = 'X', value_name = "NAME=VALUE")]
    property: Vec<String>,
    /// Seconds to wait for the records before giving up.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Append the client's statistics to FILE, one JSON line per
    /// `statistics.interval.ms` (default 1 s here) and one at the end.
    #[arg(long, value_name = "FILE")]
    stats_file: Option<std::path::PathBuf>,
}

/// The figures of one `perf consume` run.
#[derive(Debug, Serialize)]
struct ConsumeReport {
    broker: String,
    topic: String,
    /// Records asked for (and filled, unless `--no-fill`).
    messages: u64,
    /// Records received.
    consumed: u64,
    /// Key and value bytes received.
    bytes: u64,
    value_size: usize,
    fill_codec: String,
    fill_seconds: f64,
    /// From the assignment to the last record.
    seconds: f64,
    msgs_per_sec: f64,
    mb_per_sec: f64,
    cpu_seconds: f64,
    client_cpu_seconds: f64,
    client_cpu_seconds_per_million: f64,
    broker_cpu_seconds: f64,
    /// Peak RSS while consuming (the high-water mark is reset after the
    /// fill where the kernel allows it); with the embedded cluster it
    /// includes the stored records.
    peak_rss_kb: u64,
    /// RSS when consuming started (the embedded broker's stored records).
    rss_before_kb: u64,
    properties: Vec<String>,
}

/// Arguments of `ferrokafka perf produce`.
#[derive(Debug, clap::Args)]
struct ProduceArgs {
    /// Bootstrap brokers; without it an embedded mock cluster (3 brokers,
    /// blackhole mode) runs in this process.
    #[arg(short = 'b', long)]
    brokers: Option<String>,
    /// Topic to produce to.
    #[arg(short = 't', long, default_value = "perf")]
    topic: String,
    /// Number of records.
    #[arg(short = 'n', long, default_value_t = 5_000_000)]
    count: u64,
    /// Value size in bytes.
    #[arg(short = 's', long, default_value_t = 100)]
    size: usize,
    /// Records per second (0: as fast as possible).
    #[arg(short = 'r', long, default_value_t = 0)]
    rate: u64,
    /// Partitions of the topic on the embedded cluster.
    #[arg(short = 'P', long, default_value_t = 8)]
    partitions: i32,
    /// A producer property, `name=value` (repeatable), e.g. `-X acks=1`.
    #[arg(short = 'X', value_name = "NAME=VALUE")]
    property: Vec<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Append the client's statistics to FILE, one JSON line per
    /// `statistics.interval.ms` (default 1 s here) and one at the end.
    #[arg(long, value_name = "FILE")]
    stats_file: Option<std::path::PathBuf>,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
struct Report {
    broker: String,
    topic: String,
    messages: u64,
    delivered: u64,
    failed: u64,
    value_size: usize,
    seconds: f64,
    msgs_per_sec: f64,
    mb_per_sec: f64,
    latency_us: Latency,
    cpu_seconds: f64,
    client_cpu_seconds: f64,
    client_cpu_seconds_per_million: f64,
    peak_rss_kb: u64,
    /// Records per batch and batch bytes, from the producer's statistics.
    batch_records_avg: u64,
    batch_bytes_avg: u64,
    properties: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Latency {
    p50: u64,
    p99: u64,
    p99_9: u64,
    max: u64,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    super::shutdown::Shutdown::install();
    match args.what {
        What::Produce(a) => match produce(&a) {
            Ok(report) => {
                print_report(&report, a.json);
                if report.failed == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("ferrokafka perf produce: {e}");
                ExitCode::FAILURE
            }
        },
        What::Consume(a) => match consume(&a) {
            Ok(report) => {
                print_consume_report(&report, a.json);
                if report.consumed >= report.messages {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => {
                eprintln!("ferrokafka perf consume: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Splits `-X name=value` options into (name, value) pairs.
fn properties(props: &[String]) -> Result<Vec<(&str, &str)>, String> {
    props
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("-X {p}: expected name=value"))
        })
        .collect()
}

/// Whether a property is meant for a client of that role: unknown names go
/// to both, so that validation reports them.
fn applies(name: &str, producer: bool) -> bool {
    use ferrokafka::config::AppliesTo;
    match ferrokafka::config::property(name).map(|p| p.applies_to()) {
        Some(AppliesTo::Producer) => producer,
        Some(AppliesTo::Consumer) => !producer,
        _ => true,
    }
}

/// The embedded cluster for a run without `-b`, and the ids of its threads
/// (every thread but this one when it has just started), which the CPU
/// figures attribute to the broker.
fn embedded_cluster(
    topic: &str,
    partitions: i32,
    blackhole: bool,
) -> Result<(ferrokafka_mock::MockCluster, HashSet<u64>), String> {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(3)
        .blackhole(blackhole)
        .topic(topic, partitions.max(1), 1)
        .build_blocking()
        .map_err(|e| format!("cannot start the embedded mock cluster: {e}"))?;
    let me = u64::from(std::process::id());
    let threads = thread_ids().into_iter().filter(|t| *t != me).collect();
    Ok((cluster, threads))
}

fn thread_ids() -> Vec<u64> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What [`send_records`] saw.
struct Sent {
    delivered: u64,
    failed: u64,
    latency: Histogram,
    first_error: Option<String>,
}

/// Sends `count` records of `payload` to `topic` (at `rate`/s unless 0),
/// waiting for the oldest delivery whenever the queue is full, then flushes
/// and collects every delivery.
fn send_records(
    producer: &Producer,
    topic: &str,
    payload: &Bytes,
    count: u64,
    rate: u64,
    progress: bool,
) -> Result<Sent, String> {
    let topic: Arc<str> = Arc::from(topic);
    let start = Instant::now();
    let mut sent = Sent {
        delivered: 0,
        failed: 0,
        latency: Histogram::default(),
        first_error: None,
    };
    let mut pending: VecDeque<(Instant, DeliveryFuture)> = VecDeque::new();
    let mut account = |at: Instant, r: (ferrokafka::producer::DeliveryResult, Instant)| match r.0 {
        Ok(_) => {
            sent.delivered += 1;
            sent.latency
                .record(r.1.saturating_duration_since(at).as_micros() as u64);
        }
        Err(e) => {
            sent.failed += 1;
            if sent.first_error.is_none() {
                sent.first_error = Some(format!("{} ({})", e.error, e.status));
            }
        }
    };
    let mut last_progress = start;
    let mut stopped = None;
    for i in 0..count {
        if i % 1024 == 0 {
            stopped = super::shutdown::stop_requested();
            if let Some(sig) = stopped {
                eprintln!("% {sig} received: stopping after {i} records");
                break;
            }
        }
        if rate > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let mut record = ProducerRecord::new(topic.clone()).value(payload.clone());
        loop {
            let at = Instant::now();
            match producer.send(record) {
                Ok(f) => {
                    pending.push_back((at, f));
                    break;
                }
                Err(e) if e.error.code() == ErrorCode::QueueFull => {
                    record = e.record;
                    // Wait for the oldest record: it frees room for more.
                    match pending.pop_front() {
                        Some((t, f)) => account(t, f.wait_with_time()),
                        None => std::thread::sleep(Duration::from_micros(100)),
                    }
                }
                Err(e) => return Err(format!("send failed: {}", e.error)),
            }
        }
        while pending.front().is_some_and(|(_, f)| f.is_done()) {
            if let Some((t, f)) = pending.pop_front() {
                account(t, f.wait_with_time());
            }
        }
        if progress && i % 4096 == 0 && last_progress.elapsed() >= Duration::from_millis(250) {
            last_progress = Instant::now();
            let secs = start.elapsed().as_secs_f64();
            eprint!(
                "\r{:>10} / {} records  {:>12.0} msg/s  ",
                i,
                count,
                i as f64 / secs.max(1e-9)
            );
            let _ = std::io::stderr().flush();
        }
    }
    // On a timeout the reports below still arrive; a fatal error is named
    // as the first failure, since it caused the ones after it.
    let flush_timeout = match stopped {
        Some(_) => super::shutdown::CLOSE_TIMEOUT,
        None => Duration::from_secs(300),
    };
    let fatal = match producer.flush(flush_timeout) {
        Err(ferrokafka::producer::FlushError::Fatal(e)) => Some(e),
        _ => None,
    };
    if stopped.is_some() {
        // Bounded: what is still undelivered is purged, its report says so.
        producer.purge(true, true);
    }
    for (t, f) in pending.drain(..) {
        account(t, f.wait_with_time());
    }
    if let Some(e) = fatal {
        sent.first_error = Some(format!("the producer stopped: {e}"));
    }
    if progress {
        eprint!("\r{:60}\r", "");
    }
    Ok(sent)
}

fn produce(a: &ProduceArgs) -> Result<Report, String> {
    let (cluster, broker_threads) = match &a.brokers {
        Some(_) => (None, HashSet::new()),
        None => {
            let (c, t) = embedded_cluster(&a.topic, a.partitions, true)?;
            (Some(c), t)
        }
    };
    let bootstrap = match (&a.brokers, &cluster) {
        (Some(b), _) => b.clone(),
        (None, Some(c)) => c.bootstrap_servers(),
        (None, None) => unreachable!("a cluster is started when no brokers are given"),
    };
    let mut config = ClientConfig::new()
        .set("bootstrap.servers", bootstrap.clone())
        .set("linger.ms", "5");
    for (k, v) in properties(&a.property)? {
        config = config.set(k, v);
    }
    let stats_file = super::StatsFile::open(a.stats_file.as_deref())?;
    if let Some(f) = &stats_file {
        config = f.configure(config);
    }
    let producer = Producer::new(&config).map_err(|e| e.to_string())?;
    if let Some(f) = &stats_file {
        producer.set_stats_callback(f.callback());
    }
    let payload = Bytes::from(vec![b'x'; a.size]);
    let progress = std::io::stderr().is_terminal() && !a.json;

    let cpu_before = cpu_times(&broker_threads);
    let start = Instant::now();
    let sent = send_records(&producer, &a.topic, &payload, a.count, a.rate, progress)?;
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_after = cpu_times(&broker_threads);
    let stats = producer.stats();
    if let Some(f) = &stats_file {
        f.write(&stats);
    }
    let batches = stats.topics.get(a.topic.as_str());
    let batch_records_avg = batches.map_or(0, |t| t.batchcnt.avg);
    let batch_bytes_avg = batches.map_or(0, |t| t.batchsize.avg);
    let _ = producer.close(Duration::from_secs(5));
    drop(producer);
    drop(cluster);
    if let Some(e) = &sent.first_error {
        eprintln!("first delivery failure: {e}");
    }
    let total_cpu = cpu_after.process - cpu_before.process;
    let client_cpu = cpu_after.client - cpu_before.client;
    let delivered = sent.delivered;
    Ok(Report {
        broker: if a.brokers.is_some() {
            bootstrap
        } else {
            "embedded mock cluster (blackhole)".into()
        },
        topic: a.topic.clone(),
        messages: a.count,
        delivered,
        failed: sent.failed,
        value_size: a.size,
        seconds: elapsed,
        msgs_per_sec: delivered as f64 / elapsed.max(1e-9),
        mb_per_sec: (delivered as f64 * a.size as f64) / elapsed.max(1e-9) / 1e6,
        latency_us: Latency {
            p50: sent.latency.quantile(0.50),
            p99: sent.latency.quantile(0.99),
            p99_9: sent.latency.quantile(0.999),
            max: sent.latency.summary().max,
        },
        cpu_seconds: total_cpu,
        client_cpu_seconds: client_cpu,
        client_cpu_seconds_per_million: client_cpu / (delivered.max(1) as f64 / 1e6),
        peak_rss_kb: status_kb("VmHWM:"),
        batch_records_avg,
        batch_bytes_avg,
        properties: a.property.clone(),
    })
}

fn consume(a: &ConsumeArgs) -> Result<ConsumeReport, String> {
    let (cluster, broker_threads) = match &a.brokers {
        Some(_) => (None, HashSet::new()),
        None => {
            let (c, t) = embedded_cluster(&a.topic, a.partitions, false)?;
            (Some(c), t)
        }
    };
    let bootstrap = match (&a.brokers, &cluster) {
        (Some(b), _) => b.clone(),
        (None, Some(c)) => c.bootstrap_servers(),
        (None, None) => unreachable!("a cluster is started when no brokers are given"),
    };
    let props = properties(&a.property)?;
    let progress = std::io::stderr().is_terminal() && !a.json;
    let codec = a.codec.clone().unwrap_or_else(|| {
        props
            .iter()
            .rev()
            .find(|(k, _)| matches!(*k, "compression.codec" | "compression.type"))
            .map_or("none".into(), |(_, v)| v.to_string())
    });

    let fill_start = Instant::now();
    if !a.no_fill {
        let mut config = ClientConfig::new()
            .set("bootstrap.servers", bootstrap.clone())
            .set("linger.ms", "5");
        for (k, v) in props.iter().filter(|(k, _)| applies(k, true)) {
            config = config.set(*k, *v);
        }
        if let Some(c) = &a.codec {
            config = config.set("compression.codec", c.clone());
        }
        let producer = Producer::new(&config).map_err(|e| format!("fill: {e}"))?;
        let payload = Bytes::from(vec![b'x'; a.size]);
        let sent = send_records(&producer, &a.topic, &payload, a.count, 0, progress)?;
        let _ = producer.close(Duration::from_secs(5));
        if sent.failed > 0 {
            return Err(format!(
                "fill: {} of {} records failed, first: {}",
                sent.failed,
                a.count,
                sent.first_error.unwrap_or_default()
            ));
        }
    }
    let fill_seconds = fill_start.elapsed().as_secs_f64();

    let mut config = ClientConfig::new().set("bootstrap.servers", bootstrap.clone());
    for (k, v) in props.iter().filter(|(k, _)| applies(k, false)) {
        config = config.set(*k, *v);
    }
    // "5" resets the peak RSS to the current RSS (Linux 4.0 and later), so
    // the peak is the consumer's and not the fill's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before_kb = status_kb("VmRSS:");
    let cpu_before = cpu_times(&broker_threads);
    let stats_file = super::StatsFile::open(a.stats_file.as_deref())?;
    let stats = super::consume::perf_consume(
        &config,
        &a.topic,
        Some(a.count),
        Duration::from_secs(a.timeout),
        stats_file.as_ref(),
    )?;
    let cpu_after = cpu_times(&broker_threads);
    let peak_rss_kb = status_kb("VmHWM:");
    drop(cluster);
    let seconds = stats.elapsed.as_secs_f64().max(1e-9);
    let client_cpu = cpu_after.client - cpu_before.client;
    let total_cpu = cpu_after.process - cpu_before.process;
    Ok(ConsumeReport {
        broker: if a.brokers.is_some() {
            bootstrap
        } else {
            "embedded mock cluster (storing)".into()
        },
        topic: a.topic.clone(),
        messages: a.count,
        consumed: stats.messages,
        bytes: stats.bytes,
        value_size: a.size,
        fill_codec: if a.no_fill { String::new() } else { codec },
        fill_seconds,
        seconds,
        msgs_per_sec: stats.messages as f64 / seconds,
        mb_per_sec: stats.bytes as f64 / seconds / 1e6,
        cpu_seconds: total_cpu,
        client_cpu_seconds: client_cpu,
        client_cpu_seconds_per_million: client_cpu / (stats.messages.max(1) as f64 / 1e6),
        broker_cpu_seconds: (total_cpu - client_cpu).max(0.0),
        peak_rss_kb,
        rss_before_kb,
        properties: a.property.clone(),
    })
}

fn print_consume_report(r: &ConsumeReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!("broker        {}", r.broker);
    println!(
        "records       {} of {} consumed, {} bytes each, fill {} ({:.2} s)",
        r.consumed, r.messages, r.value_size, r.fill_codec, r.fill_seconds
    );
    println!("elapsed       {:.2} s", r.seconds);
    println!(
        "throughput    {:.0} msg/s, {:.1} MB/s",
        r.msgs_per_sec, r.mb_per_sec
    );
    println!(
        "cpu           {:.2} s process, {:.2} s client ({:.2} s per million records), {:.2} s broker",
        r.cpu_seconds,
        r.client_cpu_seconds,
        r.client_cpu_seconds_per_million,
        r.broker_cpu_seconds
    );
    println!(
        "peak rss      {} KiB ({} KiB when consuming started)",
        r.peak_rss_kb, r.rss_before_kb
    );
}

fn print_report(r: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!("broker        {}", r.broker);
    println!(
        "records       {} delivered, {} failed, {} bytes each",
        r.delivered, r.failed, r.value_size
    );
    println!("elapsed       {:.2} s", r.seconds);
    println!(
        "throughput    {:.0} msg/s, {:.1} MB/s",
        r.msgs_per_sec, r.mb_per_sec
    );
    println!(
        "latency       p50 {} us, p99 {} us, p99.9 {} us, max {} us",
        r.latency_us.p50, r.latency_us.p99, r.latency_us.p99_9, r.latency_us.max
    );
    println!(
        "cpu           {:.2} s process, {:.2} s client ({:.2} s per million records)",
        r.cpu_seconds, r.client_cpu_seconds, r.client_cpu_seconds_per_million
    );
    println!("peak rss      {} KiB", r.peak_rss_kb);
    println!(
        "batches       {} records, {} bytes on average",
        r.batch_records_avg, r.batch_bytes_avg
    );
}

/// CPU seconds of the whole process and of the client's threads (all but
/// the embedded broker's).
struct CpuTimes {
    process: f64,
    client: f64,
}

/// Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// utime + stime in ticks from a `/proc/.../stat` line, and the thread name.
fn parse_stat(s: &str) -> Option<(String, u64)> {
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let name = s.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = s.get(close + 2..)?.split_whitespace().collect();
    // Fields after the name start at field 3 (state); utime is 14, stime 15.
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// The embedded broker's threads are told apart by id rather than by name:
/// a client running on a caller's tokio runtime has the same thread names.
fn cpu_times(broker_threads: &HashSet<u64>) -> CpuTimes {
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0.0, |(_, t)| t as f64 / TICKS);
    let broker: u64 = broker_threads
        .iter()
        .filter_map(|t| std::fs::read_to_string(format!("/proc/self/task/{t}/stat")).ok())
        .filter_map(|s| parse_stat(&s))
        .map(|(_, t)| t)
        .sum();
    CpuTimes {
        process,
        client: (process - broker as f64 / TICKS).max(0.0),
    }
}

/// A `kB` field of `/proc/self/status` (`VmHWM:`, `VmRSS:`), 0 if unreadable.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_with_spaces_in_names() {
        let line = "1234 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0";
        let (name, ticks) = parse_stat(line).unwrap();
        assert_eq!(name, "tokio runtime");
        assert_eq!(ticks, 300);
        assert!(parse_stat("garbage").is_none());
    }
}
