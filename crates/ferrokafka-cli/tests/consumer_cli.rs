//! `ferrokafka consume` options against the embedded mock: start offsets
//! (`-o`), `-c`, `-e`, `-f` tokens, `-K`, errors.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use ferrokafka_peers::run_bounded;
use std::process::{Command, Output};
use std::time::Duration;

fn run(args: &[&str]) -> Output {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka")).args(args),
        Duration::from_secs(60),
    )
}

fn stdout_ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "ferrokafka {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn filled() -> MockCluster {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("t", 2, 1)
        .build_blocking()
        .unwrap();
    let p =
        Producer::new(&ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()))
            .unwrap();
    for i in 0..10i64 {
        let mut r = ProducerRecord::new("t")
            .partition(0)
            .value(format!("v{i}"))
            .timestamp(1_000 + i);
        if i % 2 == 0 {
            r = r.key(format!("k{i}")).header("h", format!("x{i}"));
        }
        let _delivery = p.send(r).unwrap();
        // One batch per record, so that offsets by time are exact.
        p.flush(Duration::from_secs(10)).unwrap();
    }
    cluster
}

#[test]
fn offsets_counts_formats_and_end() {
    let cluster = filled();
    let b = cluster.bootstrap_servers();
    let fmt = "%t|%p|%o|%k|%K|%s|%S|%T|%h\\n";
    let out = stdout_ok(&[
        "consume", "-b", &b, "-t", "t", "-p", "0", "-o", "-3", "-e", "-q", "-f", fmt,
    ]);
    assert_eq!(
        out,
        "t|0|7||-1|v7|2|1007|\nt|0|8|k8|2|v8|2|1008|h=x8\nt|0|9||-1|v9|2|1009|\n"
    );

    let out = stdout_ok(&[
        "consume", "-b", &b, "-t", "t", "-o", "s@1004", "-c", "2", "-K", ":",
    ]);
    assert_eq!(out, "k4:v4\n:v5\n");

    let out = stdout_ok(&[
        "consume", "-b", &b, "-t", "t", "-o", "8", "-p", "0", "-e", "-D", ";",
    ]);
    assert_eq!(out, "v8;v9;");

    // Every partition, partition 1 empty: -e still ends.
    let out = run(&["consume", "-b", &b, "-t", "t", "-e", "-J"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 10);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Reached end of topic t [1] at offset 0"),
        "{err}"
    );
    assert!(
        err.contains("Reached end of topic t [0] at offset 10"),
        "{err}"
    );
}

#[test]
fn bad_arguments_fail_with_a_reason() {
    let out = run(&["consume", "-b", "127.0.0.1:1", "-t", "t", "-o", "sometime"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid offset"));
    let out = run(&[
        "consume",
        "-b",
        "127.0.0.1:1",
        "-t",
        "t",
        "-X",
        "fetch.wait.max.ms=-5",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fetch.wait.max.ms"));
}
