//! Side-by-side producer benchmarks: ferrokafka and librdkafka (through the
//! `rdkafka` crate, cargo feature `librdkafka`) produce the same workload to
//! the same broker in one invocation.
//!
//! The broker and each client run in processes of their own (this binary
//! re-invoked with `serve` / `client`), so CPU seconds and peak RSS read from
//! `/proc/self` belong to one client alone.
//!
//! ```text
//! ferrokafka-bench                      # the issue's matrix, markdown table
//! ferrokafka-bench run --count 1000000  # smaller runs
//! ferrokafka-bench serve --broker ferrokafka-mock
//! ferrokafka-bench client --lib ferrokafka --bootstrap HOST:PORT [...]
//! ```

use bytes::Bytes;
use ferrokafka::producer::{DeliveryFuture, Histogram, Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
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

fn arg_map(args: &[String]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(k) = a.strip_prefix("--") {
            m.insert(k.to_string(), it.next().cloned().unwrap_or_default());
        }
    }
    m
}

fn get<T: std::str::FromStr>(m: &HashMap<String, String>, k: &str, default: T) -> T {
    m.get(k).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn workload(m: &HashMap<String, String>) -> Workload {
    Workload {
        topic: get(m, "topic", "bench".to_string()),
        count: get(m, "count", 5_000_000),
        size: get(m, "size", 100),
        acks: get(m, "acks", "1".to_string()),
        codec: get(m, "codec", "none".to_string()),
        linger_ms: get(m, "linger", 5),
        rate: get(m, "rate", 0),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.first().map(String::as_str) {
        Some(c @ ("run" | "serve" | "client")) => (c.to_string(), args[1..].to_vec()),
        _ => ("run".to_string(), args.clone()),
    };
    let m = arg_map(&rest);
    let r = match cmd.as_str() {
        "serve" => serve(
            &get(&m, "broker", "ferrokafka-mock".to_string()),
            get(&m, "partitions", 8),
            &get(&m, "topic", "bench".to_string()),
        ),
        "client" => client(&m),
        _ => run(&m),
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
fn serve(kind: &str, partitions: i32, topic: &str) -> Result<(), String> {
    let bootstrap;
    let _keep: Box<dyn std::any::Any> = match kind {
        "ferrokafka-mock" => {
            let c = ferrokafka_mock::MockCluster::builder()
                .brokers(3)
                .blackhole(true)
                .topic(topic, partitions, 1)
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

fn client(m: &HashMap<String, String>) -> Result<(), String> {
    let w = workload(m);
    let bootstrap = m.get("bootstrap").ok_or("--bootstrap is required")?.clone();
    let lib = get(m, "lib", "ferrokafka".to_string());
    let f = match lib.as_str() {
        "ferrokafka" => client_ferrokafka(&w, &bootstrap)?,
        #[cfg(feature = "librdkafka")]
        "librdkafka" => client_librdkafka(&w, &bootstrap)?,
        other => return Err(format!("unknown client {other}")),
    };
    println!("{}", serde_json::to_string(&f).map_err(|e| e.to_string())?);
    Ok(())
}

fn client_ferrokafka(w: &Workload, bootstrap: &str) -> Result<Figures, String> {
    let producer = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("linger.ms", w.linger_ms.to_string())
            .set("acks", w.acks.clone())
            .set("compression.codec", w.codec.clone()),
    )
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
fn run(m: &HashMap<String, String>) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let base = workload(m);
    let latency_count: u64 = get(m, "latency-count", 50_000);
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
            let mut server = Command::new(&exe)
                .args([
                    "serve",
                    "--broker",
                    broker,
                    "--partitions",
                    "8",
                    "--topic",
                    &w.topic,
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let mut line = String::new();
            BufReader::new(server.stdout.take().ok_or("no broker stdout")?)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            let bootstrap = line.trim().to_string();
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
