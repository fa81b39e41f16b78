//! `--stats-file FILE` on `produce`, `consume` and `perf`: each statistics
//! emission appended to FILE as one JSON line in librdkafka's layout, and
//! a last one when the command ends.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn ferrokafka() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
}

/// The JSON lines of `path`.
fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn temp(name: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("ferrokafka-{}-{name}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn ok(out: std::process::Output) {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn produce_and_consume_append_their_statistics() {
    let cluster = ferrokafka_mock::MockCluster::builder()
        .brokers(1)
        .topic("sf", 1, 1)
        .build_blocking()
        .unwrap();
    let b = cluster.bootstrap_servers();
    let pfile = temp("produce");
    // An existing line stays: the file is appended to.
    std::fs::write(&pfile, "{\"earlier\":true}\n").unwrap();
    let mut child = ferrokafka()
        .args([
            "produce",
            "-b",
            &b,
            "-t",
            "sf",
            "-X",
            "statistics.interval.ms=100",
        ])
        .arg("--stats-file")
        .arg(&pfile)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a\nb\nc\n").unwrap();
    // Keep the input open past a few intervals.
    std::thread::sleep(std::time::Duration::from_millis(450));
    drop(stdin);
    ok(child.wait_with_output().unwrap());
    let got = lines(&pfile);
    assert_eq!(got[0]["earlier"], true);
    assert!(got.len() >= 4, "periodic lines and the last: {}", got.len());
    let last = got.last().unwrap();
    assert_eq!(last["type"], "producer");
    assert_eq!(last["txmsgs"], 3);
    assert_eq!(last["topics"]["sf"]["partitions"]["0"]["txmsgs"], 3);
    assert!(got[1]["ts"].as_u64() < last["ts"].as_u64());

    let cfile = temp("consume");
    let out = ferrokafka()
        .args([
            "consume",
            "-b",
            &b,
            "-t",
            "sf",
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        .arg("--stats-file")
        .arg(&cfile)
        .output()
        .unwrap();
    ok(out);
    let got = lines(&cfile);
    let last = got.last().expect("at least the last statistics");
    assert_eq!(last["type"], "consumer");
    let p = &last["topics"]["sf"]["partitions"]["0"];
    assert_eq!(p["hi_offset"], 3);
    assert_eq!(p["app_offset"], 3);
    assert_eq!(p["consumer_lag"], 0);
    assert_eq!(last["rxmsgs"], 3);
    let _ = std::fs::remove_file(pfile);
    let _ = std::fs::remove_file(cfile);
}

#[test]
fn perf_produce_appends_its_statistics() {
    let file = temp("perf");
    let out = ferrokafka()
        .args([
            "perf", "produce", "-n", "2000", "-s", "10", "-P", "2", "--json",
        ])
        .arg("--stats-file")
        .arg(&file)
        .output()
        .unwrap();
    ok(out);
    let got = lines(&file);
    let last = got.last().expect("the last statistics");
    assert_eq!(last["type"], "producer");
    let t = &last["topics"].as_object().unwrap().values().next().unwrap()["partitions"];
    let sent: u64 = t
        .as_object()
        .unwrap()
        .values()
        .map(|p| p["txmsgs"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, 2000);
    let _ = std::fs::remove_file(file);
}
