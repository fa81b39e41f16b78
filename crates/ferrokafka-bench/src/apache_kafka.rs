//! `ferrokafka-bench kafka`: the producer and consumer rows against one
//! Apache Kafka node (started through `ferrokafka-peers`), for ferrokafka,
//! librdkafka (with the `librdkafka` feature) and Java's own
//! `ProducerPerformance` / `ConsumerPerformance`, in one invocation.
//!
//! Every client runs in a process of its own. The Rust clients report their
//! own CPU and peak RSS (`/proc/self`); the Java tools are run under
//! `/usr/bin/time`, so their CPU includes the JVM's start-up and JIT
//! (reported apart from the steady figures in the table's notes). On a
//! 2-core machine the broker is the bottleneck, so the comparable figure is
//! CPU per message at (about) equal throughput, given as a ratio.

use crate::{libs, run_client, ConsumeFigures, Figures, Opts};
use ferrokafka_peers::ApacheKafka;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one Java tool run measured.
struct JavaFigures {
    msgs_per_sec: f64,
    cpu_seconds: f64,
    peak_rss_kb: u64,
    /// `p50 / p99` latency for the producer (ms, as the tool prints them).
    latency: String,
}

/// Runs `cmd` under `/usr/bin/time` and returns its output and the
/// `(wall, user+sys, max RSS KiB)` the wrapper reported.
fn timed(cmd: Command, limit: Duration) -> Result<(String, f64, f64, u64), String> {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let marker = "FERROKAFKA-TIME";
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .arg("-f")
        .arg(format!("{marker} %e %U %S %M"))
        .arg(program)
        .args(args);
    let out = ferrokafka_peers::run_bounded(&mut wrapped, limit);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{:?} failed: {stderr}", cmd.get_program()));
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with(marker))
        .ok_or_else(|| format!("no timing line from /usr/bin/time: {stderr}"))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let [wall, user, sys, rss] = f[..] else {
        return Err(format!("unparsable timing line {line:?}"));
    };
    Ok((stdout, wall, user + sys, rss as u64))
}

/// `ProducerPerformance`'s summary line: `N records sent, X records/sec
/// (...), A ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th, P99
/// ms 99th, ...`.
fn parse_producer_summary(out: &str) -> Option<(f64, String)> {
    let line = out.lines().rev().find(|l| l.contains("records/sec"))?;
    let rate = line
        .split(',')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let pick = |suffix: &str| {
        line.split(',')
            .find(|f| f.trim_end_matches('.').ends_with(suffix))
            .and_then(|f| f.split_whitespace().next())
            .unwrap_or("?")
            .to_string()
    };
    Some((rate, format!("{} / {} ms", pick("50th"), pick("99th"))))
}

/// A Java tool as Kafka's own `bin/kafka-producer-perf-test.sh` runs it:
/// a 512 MiB heap and the JVM's default JIT and collector (the test
/// harness's quick-start flags would handicap it).
fn java_tool(class: &str) -> Result<Command, String> {
    let libs = ApacheKafka::libs().ok_or("apache-kafka jars not found")?;
    let mut cmd = Command::new("java");
    cmd.args(["-Xmx512m", "-Djava.awt.headless=true", "-cp"])
        .arg(format!("{}/*", libs.display()))
        .arg(class);
    Ok(cmd)
}

fn java_produce(kafka: &ApacheKafka, topic: &str, o: &Opts) -> Result<JavaFigures, String> {
    let mut cmd = java_tool("org.apache.kafka.tools.ProducerPerformance")?;
    cmd.args(["--topic", topic])
        .args(["--num-records", &o.count.to_string()])
        .args(["--record-size", &o.size.to_string()])
        .args(["--throughput", "-1", "--producer-props"])
        .arg(format!("bootstrap.servers={}", kafka.bootstrap()))
        .arg(format!("acks={}", o.acks))
        .arg(format!("compression.type={}", o.codec))
        .arg(format!("linger.ms={}", o.linger));
    let (out, _, cpu, rss) = timed(cmd, Duration::from_secs(600))?;
    let (rate, latency) = parse_producer_summary(&out)
        .ok_or_else(|| format!("no summary from ProducerPerformance: {out}"))?;
    Ok(JavaFigures {
        msgs_per_sec: rate,
        cpu_seconds: cpu,
        peak_rss_kb: rss,
        latency,
    })
}

/// `ConsumerPerformance` prints a CSV header and one line of values; the
/// `fetch.nMsg.sec` column excludes the group's join time.
fn java_consume(kafka: &ApacheKafka, topic: &str, o: &Opts) -> Result<JavaFigures, String> {
    let mut cmd = java_tool("org.apache.kafka.tools.ConsumerPerformance")?;
    cmd.args(["--bootstrap-server", &kafka.bootstrap()])
        .args(["--topic", topic])
        .args(["--messages", &o.count.to_string()])
        .args(["--timeout", "60000"]);
    let (out, _, cpu, rss) = timed(cmd, Duration::from_secs(600))?;
    let mut lines = out.lines().filter(|l| l.contains(','));
    let header: Vec<&str> = lines
        .next()
        .ok_or("no header")?
        .split(',')
        .map(str::trim)
        .collect();
    let values: Vec<&str> = lines
        .next()
        .ok_or("no values")?
        .split(',')
        .map(str::trim)
        .collect();
    let col = |name: &str| -> Option<f64> {
        let i = header.iter().position(|h| *h == name)?;
        values.get(i)?.parse().ok()
    };
    let consumed = col("data.consumed.in.nMsg").unwrap_or(0.0);
    if consumed < o.count as f64 {
        return Err(format!(
            "ConsumerPerformance read {consumed} of {} records: {out}",
            o.count
        ));
    }
    Ok(JavaFigures {
        msgs_per_sec: col("fetch.nMsg.sec").ok_or_else(|| format!("no fetch.nMsg.sec: {out}"))?,
        cpu_seconds: cpu,
        peak_rss_kb: rss,
        latency: String::new(),
    })
}

fn rust_args(lib: &str, bootstrap: &str, topic: &str, o: &Opts, partitions: i32) -> Vec<String> {
    [
        "--lib",
        lib,
        "--bootstrap",
        bootstrap,
        "--topic",
        topic,
        "--count",
        &o.count.to_string(),
        "--size",
        &o.size.to_string(),
        "--acks",
        &o.acks,
        "--codec",
        &o.codec,
        "--linger",
        &o.linger.to_string(),
        "--partitions",
        &partitions.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(
        o.client_set
            .iter()
            .filter(|_| lib == "ferrokafka")
            .flat_map(|v| ["--client-set".to_string(), v.clone()]),
    )
    .collect()
}

/// A row: client, msgs/s, CPU s per million, peak RSS MiB, latency.
struct Row {
    client: String,
    msgs_per_sec: f64,
    cpu_per_million: f64,
    rss_mib: f64,
    latency: String,
}

fn print_rows(what: &str, rows: &[Row]) {
    for r in rows {
        println!(
            "| {what} | {} | {:.0} | {:.2} | {:.1} | {} |",
            r.client, r.msgs_per_sec, r.cpu_per_million, r.rss_mib, r.latency
        );
    }
    let Some(ours) = rows.iter().find(|r| r.client == "ferrokafka") else {
        return;
    };
    for peer in rows.iter().filter(|r| r.client != "ferrokafka") {
        println!(
            "| {what} | ratio ferrokafka/{} | {:.2}x | {:.2}x | {:.2}x | |",
            peer.client,
            ours.msgs_per_sec / peer.msgs_per_sec.max(1e-9),
            ours.cpu_per_million / peer.cpu_per_million.max(1e-9),
            ours.rss_mib / peer.rss_mib.max(1e-9),
        );
    }
}

/// The Apache Kafka rows: for each codec, every client produces
/// `--count` records to a topic of its own, then every client reads the
/// topic ferrokafka wrote from the beginning.
pub(crate) fn run_kafka(o: &Opts) -> Result<(), String> {
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
    let partitions = o.partitions;
    // A fresh broker runs interpreted until its JIT has compiled the hot
    // paths: whichever client went first measured that. Every client
    // produces once, unmeasured, before the rows.
    for lib in libs() {
        let topic = format!("warmup-{lib}");
        kafka.create_topic(&topic, partitions, 1, &[]);
        let f: Figures = run_client(
            &exe,
            &rust_args(lib, &kafka.bootstrap(), &topic, o, partitions),
            &format!("{lib} warming Apache Kafka up"),
        )?;
        eprintln!("warm-up: {lib} produced {} records", f.delivered);
    }
    println!("| workload | client | msgs/s | CPU s / 1M msgs | peak RSS MiB | latency p50 / p99 |");
    println!("|---|---|---:|---:|---:|---|");
    for codec in ["none", "lz4"] {
        let o = Opts {
            codec: codec.to_string(),
            ..o.clone()
        };
        let what = format!(
            "produce {} x {}B, acks={}, {codec}, linger.ms={}",
            o.count, o.size, o.acks, o.linger
        );
        let mut rows = Vec::new();
        for lib in libs() {
            let topic = format!("bench-{codec}-{lib}");
            kafka.create_topic(&topic, partitions, 1, &[]);
            let f: Figures = run_client(
                &exe,
                &rust_args(lib, &kafka.bootstrap(), &topic, &o, partitions),
                &format!("{lib} producing to Apache Kafka"),
            )?;
            if f.delivered != o.count {
                return Err(format!("{lib}: {} of {} delivered", f.delivered, o.count));
            }
            rows.push(Row {
                client: f.lib,
                msgs_per_sec: f.msgs_per_sec,
                cpu_per_million: f.cpu_per_million,
                rss_mib: f.peak_rss_kb as f64 / 1024.0,
                latency: format!(
                    "{:.1} / {:.1} ms",
                    f.p50_us as f64 / 1e3,
                    f.p99_us as f64 / 1e3
                ),
            });
        }
        let topic = format!("bench-{codec}-java");
        kafka.create_topic(&topic, partitions, 1, &[]);
        let j = java_produce(&kafka, &topic, &o)?;
        rows.push(Row {
            client: "java".into(),
            msgs_per_sec: j.msgs_per_sec,
            cpu_per_million: j.cpu_seconds / (o.count as f64 / 1e6),
            rss_mib: j.peak_rss_kb as f64 / 1024.0,
            latency: j.latency,
        });
        print_rows(&what, &rows);

        let what = format!("consume {} x {}B, {codec}", o.count, o.size);
        let filled = format!("bench-{codec}-ferrokafka");
        let mut rows = Vec::new();
        for lib in libs() {
            let mut args = rust_args(lib, &kafka.bootstrap(), &filled, &o, partitions);
            args.extend(["--mode", "consume"].map(String::from));
            if let Some(extra) = &o.rdkafka_set {
                args.extend(["--rdkafka-set".to_string(), extra.clone()]);
            }
            let f: ConsumeFigures =
                run_client(&exe, &args, &format!("{lib} consuming from Apache Kafka"))?;
            rows.push(Row {
                client: f.lib,
                msgs_per_sec: f.msgs_per_sec,
                cpu_per_million: f.cpu_per_million,
                rss_mib: f.peak_rss_kb as f64 / 1024.0,
                latency: String::new(),
            });
        }
        let j = java_consume(&kafka, &filled, &o)?;
        rows.push(Row {
            client: "java".into(),
            msgs_per_sec: j.msgs_per_sec,
            cpu_per_million: j.cpu_seconds / (o.count as f64 / 1e6),
            rss_mib: j.peak_rss_kb as f64 / 1024.0,
            latency: String::new(),
        });
        print_rows(&what, &rows);
    }
    println!();
    println!("- Java's CPU and RSS are the whole JVM's (/usr/bin/time), start-up and JIT included; its consumer msgs/s is ConsumerPerformance's fetch.nMsg.sec (group join excluded).");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_performance_summary_is_read() {
        let out = "1000 records sent, 250000.5 records/sec (23.84 MB/sec), 12.5 ms avg latency, 300.0 ms max latency, 10 ms 50th, 20 ms 95th, 25 ms 99th, 29 ms 99.9th.\n";
        let (rate, lat) = parse_producer_summary(out).unwrap();
        assert_eq!(rate, 250000.5);
        assert_eq!(lat, "10 / 25 ms");
        assert!(parse_producer_summary("nothing").is_none());
    }
}
