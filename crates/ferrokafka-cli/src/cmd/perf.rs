//! `ferrokafka perf produce`: producer throughput and delivery latency.
//!
//! Without `-b` it starts the embedded mock cluster in blackhole mode (acks
//! with real offsets, stores nothing) in this process, so the figures show
//! the client (and a minimal broker) rather than a disk. Reports messages/s,
//! MB/s, delivery latency percentiles (send to delivery report, as recorded
//! by the producer), CPU seconds from `/proc/self/stat` (the process, and the
//! client's own threads apart from the embedded broker's) and peak RSS
//! (`VmHWM` of `/proc/self/status`).

use bytes::Bytes;
use ferrokafka::producer::{DeliveryFuture, Histogram, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use serde::Serialize;
use std::collections::VecDeque;
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
    }
}

fn produce(a: &ProduceArgs) -> Result<Report, String> {
    let cluster = match &a.brokers {
        Some(_) => None,
        None => Some(
            ferrokafka_mock::MockCluster::builder()
                .brokers(3)
                .blackhole(true)
                .topic(&a.topic, a.partitions.max(1), 1)
                .build_blocking()
                .map_err(|e| format!("cannot start the embedded mock cluster: {e}"))?,
        ),
    };
    let bootstrap = match (&a.brokers, &cluster) {
        (Some(b), _) => b.clone(),
        (None, Some(c)) => c.bootstrap_servers(),
        (None, None) => unreachable!("a cluster is started when no brokers are given"),
    };
    let mut config = ClientConfig::new()
        .set("bootstrap.servers", bootstrap.clone())
        .set("linger.ms", "5");
    for p in &a.property {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("-X {p}: expected name=value"))?;
        config = config.set(k.trim(), v.trim());
    }
    let producer = Producer::new(&config).map_err(|e| e.to_string())?;
    let topic: Arc<str> = Arc::from(a.topic.as_str());
    let payload = Bytes::from(vec![b'x'; a.size]);
    let progress = std::io::stderr().is_terminal() && !a.json;

    let cpu_before = cpu_times();
    let start = Instant::now();
    let mut latency = Histogram::default();
    let mut pending: VecDeque<(Instant, DeliveryFuture)> = VecDeque::new();
    let (mut delivered, mut failed) = (0u64, 0u64);
    let mut first_error: Option<String> = None;
    let mut account = |sent: Instant, r: (ferrokafka::producer::DeliveryResult, Instant)| match r.0
    {
        Ok(_) => {
            delivered += 1;
            latency.record(r.1.saturating_duration_since(sent).as_micros() as u64);
        }
        Err(e) => {
            failed += 1;
            if first_error.is_none() {
                first_error = Some(format!("{} ({})", e.error, e.status));
            }
        }
    };
    let mut last_progress = start;
    for i in 0..a.count {
        if a.rate > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / a.rate as f64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let mut record = ProducerRecord::new(topic.clone()).value(payload.clone());
        loop {
            let sent = Instant::now();
            match producer.send(record) {
                Ok(f) => {
                    pending.push_back((sent, f));
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
                a.count,
                i as f64 / secs.max(1e-9)
            );
            let _ = std::io::stderr().flush();
        }
    }
    let _ = producer.flush(Duration::from_secs(300));
    for (t, f) in pending.drain(..) {
        account(t, f.wait_with_time());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_after = cpu_times();
    if progress {
        eprint!("\r{:60}\r", "");
    }
    let stats = producer.stats();
    let batches = stats.topics.get(a.topic.as_str());
    let batch_records_avg = batches.map_or(0, |t| t.batchcnt.avg);
    let batch_bytes_avg = batches.map_or(0, |t| t.batchsize.avg);
    let _ = producer.close(Duration::from_secs(5));
    drop(producer);
    drop(cluster);
    if let Some(e) = &first_error {
        eprintln!("first delivery failure: {e}");
    }
    let total_cpu = cpu_after.process - cpu_before.process;
    let client_cpu = cpu_after.client - cpu_before.client;
    Ok(Report {
        broker: if a.brokers.is_some() {
            bootstrap
        } else {
            "embedded mock cluster (blackhole)".into()
        },
        topic: a.topic.clone(),
        messages: a.count,
        delivered,
        failed,
        value_size: a.size,
        seconds: elapsed,
        msgs_per_sec: delivered as f64 / elapsed.max(1e-9),
        mb_per_sec: (delivered as f64 * a.size as f64) / elapsed.max(1e-9) / 1e6,
        latency_us: Latency {
            p50: latency.quantile(0.50),
            p99: latency.quantile(0.99),
            p99_9: latency.quantile(0.999),
            max: latency.summary().max,
        },
        cpu_seconds: total_cpu,
        client_cpu_seconds: client_cpu,
        client_cpu_seconds_per_million: client_cpu / (delivered.max(1) as f64 / 1e6),
        peak_rss_kb: peak_rss_kb(),
        batch_records_avg,
        batch_bytes_avg,
        properties: a.property.clone(),
    })
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
/// the embedded broker's runtime workers).
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

fn cpu_times() -> CpuTimes {
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| parse_stat(&s))
        .map_or(0.0, |(_, t)| t as f64 / TICKS);
    let mut broker = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            let Ok(s) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            if let Some((name, t)) = parse_stat(&s) {
                // The embedded cluster's threads: its runtime thread and
                // tokio's default-named workers; the client's are "ferrokafka".
                if name.starts_with("ferrokafka-moc") || name.starts_with("tokio-r") {
                    broker += t;
                }
            }
        }
    }
    CpuTimes {
        process,
        client: (process - broker as f64 / TICKS).max(0.0),
    }
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
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
