//! `ferrokafka produce` and `ferrokafka perf produce` as a user runs them.

use std::io::Write;
use std::process::{Command, Stdio};

fn ferrokafka() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
}

#[test]
fn produce_reads_lines_splits_keys_and_reports_deliveries() {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(2)
        .topic("cli", 3, 2)
        .build_blocking()
        .unwrap();
    let mut child = ferrokafka()
        .args([
            "produce",
            "-b",
            &cluster.bootstrap_servers(),
            "-t",
            "cli",
            "-K",
            ":",
        ])
        .args([
            "-z",
            "lz4",
            "-H",
            "src=test",
            "-X",
            "acks=all",
            "--delivery-report",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a:1\nb:2\nc:3\nnokey\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    let keys: Vec<Option<&str>> = lines.iter().map(|l| l["key"].as_str()).collect();
    assert_eq!(keys, [Some("a"), Some("b"), Some("c"), None]);
    let total: i64 = (0..3)
        .map(|p| cluster.high_watermark("cli", p).unwrap())
        .sum();
    assert_eq!(total, 4);
    for l in &lines {
        let p = l["partition"].as_i64().unwrap() as i32;
        assert!(l["offset"].as_i64().unwrap() < cluster.high_watermark("cli", p).unwrap());
    }
}

#[test]
fn produce_exits_nonzero_and_names_the_error_on_failure() {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .build_blocking()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("ferrokafka-cli-produce-{}", std::process::id()));
    std::fs::write(&dir, b"x|y|").unwrap();
    let out = ferrokafka()
        .args([
            "produce",
            "-b",
            &cluster.bootstrap_servers(),
            "-t",
            "missing",
            "-D",
            "|",
        ])
        .args([
            "-X",
            "topic.metadata.propagation.max.ms=100",
            "-X",
            "message.timeout.ms=3000",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("_UNKNOWN_TOPIC").count(), 2, "{err}");
    assert!(err.contains("NOT_PERSISTED"), "{err}");
}

/// Without --delivery-report the reports are counted, not kept per
/// record: every line of a large input (many reads, keys split at -K) must
/// still arrive whole, as `consume` prints it back.
#[test]
fn produce_without_reports_delivers_every_line_of_a_large_input() {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(3)
        .topic("big", 4, 1)
        .build_blocking()
        .unwrap();
    let mut input = Vec::new();
    for i in 0..60_000 {
        // Lengths vary so that lines straddle the reads' boundaries.
        input.extend_from_slice(format!("k{i}:{}\n", "v".repeat(i % 300)).as_bytes());
    }
    let mut child = ferrokafka()
        .args([
            "produce",
            "-b",
            &cluster.bootstrap_servers(),
            "-t",
            "big",
            "-K",
            ":",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = {
        let input = input.clone();
        // In pieces, as a pipe delivers them.
        std::thread::spawn(move || {
            for piece in input.chunks(7_777) {
                stdin.write_all(piece).unwrap();
            }
        })
    };
    let out = child.wait_with_output().unwrap();
    feed.join().unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total: i64 = (0..4)
        .map(|p| cluster.high_watermark("big", p).unwrap())
        .sum();
    assert_eq!(total, 60_000);
    let back = ferrokafka()
        .args([
            "consume",
            "-b",
            &cluster.bootstrap_servers(),
            "-t",
            "big",
            "-e",
            "-q",
            "-K",
            ":",
        ])
        .output()
        .unwrap();
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let mut got: Vec<&[u8]> = back
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mut want: Vec<&[u8]> = input
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "the records read back differ from the input lines"
    );
}

/// A delivery that fails in the counted path is still reported, with its
/// cause, and makes the exit status non-zero; the summary says how many.
#[test]
fn produce_without_reports_names_each_failed_delivery_and_exits_nonzero() {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(1)
        .topic("half", 1, 1)
        .build_blocking()
        .unwrap();
    // Let metadata and the first request through, then refuse one Produce
    // request with a non-retriable error: its records fail, later ones land.
    let path = std::env::temp_dir().join(format!("ferrokafka-cli-half-{}", std::process::id()));
    let lines: String = (0..2000).map(|i| format!("r{i}\n")).collect();
    std::fs::write(&path, &lines).unwrap();
    cluster.push_request_errors(0, &[87]);
    let out = ferrokafka()
        .args(["produce", "-b", &cluster.bootstrap_servers(), "-t", "half"])
        .args(["-X", "linger.ms=20"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let failed = err.matches("delivery failed: INVALID_RECORD").count() as i64;
    let stored = cluster.high_watermark("half", 0).unwrap();
    assert!(failed > 0, "{err}");
    assert_eq!(failed + stored, 2000, "{err}");
    assert!(
        err.contains(&format!(
            "% {failed} of 2000 records were not delivered ({stored} delivered)"
        )),
        "{err}"
    );
}

#[test]
fn perf_produce_runs_on_the_embedded_cluster_and_prints_json() {
    let out = ferrokafka()
        .args([
            "perf", "produce", "-n", "20000", "-s", "50", "--json", "-X", "acks=1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["delivered"], 20000);
    assert_eq!(v["failed"], 0);
    assert!(v["msgs_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["latency_us"]["p99"].as_u64().unwrap() >= v["latency_us"]["p50"].as_u64().unwrap());
    assert!(v["peak_rss_kb"].as_u64().unwrap() > 0);
}
