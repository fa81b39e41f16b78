//! `ferrokafka perf produce` and `ferrokafka perf consume --json` as a user
//! runs them: the JSON object's fields and that the counts match.

use std::process::Command;

fn perf(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .arg("perf")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one JSON object: {text}");
    serde_json::from_str(&text).unwrap()
}

fn positive(v: &serde_json::Value, field: &str) -> f64 {
    let x = v[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} missing in {v}"));
    assert!(x > 0.0, "{field} = {x} in {v}");
    x
}

#[test]
fn perf_produce_json_counts_every_delivery() {
    let v = perf(&["produce", "-n", "30000", "-s", "64", "-P", "4", "--json"]);
    assert_eq!(v["messages"], 30000);
    assert_eq!(v["delivered"], 30000);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["value_size"], 64);
    let rate = positive(&v, "msgs_per_sec");
    let secs = positive(&v, "seconds");
    assert!((rate * secs - 30000.0).abs() < 1.0, "{v}");
    positive(&v, "peak_rss_kb");
    let total = v["cpu_seconds"].as_f64().unwrap();
    let client = v["client_cpu_seconds"].as_f64().unwrap();
    assert!(client >= 0.0 && client <= total + 1e-9, "{v}");
}

#[test]
fn perf_consume_json_reads_back_every_filled_record() {
    let v = perf(&["consume", "-n", "40000", "-s", "50", "-P", "3", "--json"]);
    assert_eq!(v["messages"], 40000);
    assert_eq!(v["consumed"], 40000);
    assert_eq!(v["bytes"], 40000 * 50);
    assert_eq!(v["fill_codec"], "none");
    assert_eq!(v["broker"], "embedded mock cluster (storing)");
    let rate = positive(&v, "msgs_per_sec");
    let secs = positive(&v, "seconds");
    assert!((rate * secs - 40000.0).abs() < 1.0, "{v}");
    positive(&v, "mb_per_sec");
    positive(&v, "fill_seconds");
    let peak = positive(&v, "peak_rss_kb");
    assert!(peak >= v["rss_before_kb"].as_f64().unwrap(), "{v}");
    let total = v["cpu_seconds"].as_f64().unwrap();
    let client = v["client_cpu_seconds"].as_f64().unwrap();
    let broker = v["broker_cpu_seconds"].as_f64().unwrap();
    assert!(client >= 0.0 && broker >= 0.0, "{v}");
    assert!((client + broker - total).abs() < 0.02, "{v}");
}

#[test]
fn perf_consume_fill_honours_the_codec_and_an_external_broker() {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(2)
        .topic("perfz", 4, 1)
        .build_blocking()
        .unwrap();
    let v = perf(&[
        "consume",
        "-b",
        &cluster.bootstrap_servers(),
        "-t",
        "perfz",
        "-n",
        "20000",
        "-X",
        "compression.codec=lz4",
        "-X",
        "fetch.wait.max.ms=50",
        "--json",
    ]);
    assert_eq!(v["consumed"], 20000);
    assert_eq!(v["fill_codec"], "lz4");
    assert_eq!(v["properties"].as_array().unwrap().len(), 2);
    let filled: i64 = (0..4)
        .map(|p| cluster.high_watermark("perfz", p).unwrap())
        .sum();
    assert_eq!(filled, 20000);
}
