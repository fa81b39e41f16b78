//! `ferrokafka copy` against the mock cluster: every input record reaches
//! the output exactly once (read back with read_committed) with random
//! aborts, after SIGKILLs and restarts with the same transactional id, and
//! with a zombie copy fenced by a newer one.

use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn ferrokafka() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
}

fn cluster(partitions: i32) -> MockCluster {
    MockCluster::builder()
        .brokers(3)
        .topic("in", partitions, 1)
        .topic("out", partitions, 1)
        .build_blocking()
        .unwrap()
}

/// Writes `n` records `k{i}`/`v{i}` with a header `i={i}` to `in`.
fn fill(c: &MockCluster, n: usize) {
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", c.bootstrap_servers()))
        .unwrap();
    for i in 0..n {
        let _r = p
            .send_blocking(
                ProducerRecord::new("in")
                    .key(format!("k{i}"))
                    .value(format!("v{i}"))
                    .header("i", i.to_string()),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

/// Every record of `topic` read with read_committed: (key, value, header)
/// with how many times it was seen.
fn read_back(
    c: &MockCluster,
    topic: &str,
    partitions: i32,
) -> BTreeMap<(String, String, String), usize> {
    let consumer = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true"),
    )
    .unwrap();
    let parts: Vec<(&str, i32, Offset)> = (0..partitions)
        .map(|p| (topic, p, Offset::Beginning))
        .collect();
    consumer.assign(&parts).unwrap();
    let mut seen = BTreeMap::new();
    let mut eofs = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while eofs.len() < partitions as usize {
        assert!(Instant::now() < deadline, "read_back did not reach the end");
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                let s =
                    |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).to_string();
                let h = m
                    .headers()
                    .iter()
                    .map(|h| {
                        format!(
                            "{}={}",
                            h.key,
                            String::from_utf8_lossy(h.value.as_deref().unwrap_or_default())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                *seen.entry((s(m.key()), s(m.value()), h)).or_insert(0) += 1;
            }
            Some(Err(e)) if e.is_eof() => {
                eofs.insert(e.partition_id());
            }
            Some(Err(e)) => panic!("{e}"),
            None => {}
        }
    }
    seen
}

fn assert_exactly_once(c: &MockCluster, n: usize, partitions: i32) {
    let seen = read_back(c, "out", partitions);
    let dups: Vec<_> = seen.iter().filter(|(_, k)| **k > 1).collect();
    assert!(dups.is_empty(), "duplicates: {dups:?}");
    assert_eq!(seen.len(), n, "records copied exactly once");
    for i in 0..n {
        let key = (format!("k{i}"), format!("v{i}"), format!("i={i}"));
        assert_eq!(seen.get(&key), Some(&1), "record {i}");
    }
}

fn copy(c: &MockCluster, id: &str, extra: &[&str]) -> Child {
    ferrokafka()
        .args([
            "copy",
            "-b",
            &c.bootstrap_servers(),
            "--input",
            "in",
            "--output",
            "out",
        ])
        .args([
            "-G",
            "copiers",
            "--transactional-id",
            id,
            "--transaction-size",
            "25",
        ])
        .args(["--idle-exit-ms", "3000", "-X", "retry.backoff.ms=20"])
        .args(["-X", "session.timeout.ms=6000"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `k` committed transactions on the child's standard output.
fn wait_commits(child: &mut Child, k: usize) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut commits = 0;
    let mut line = String::new();
    while commits < k {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains("\"committed\"") {
            commits += 1;
        }
    }
    out
}

#[test]
fn copy_with_random_aborts_copies_every_record_exactly_once() {
    let c = cluster(3);
    fill(&c, 400);
    let out = copy(&c, "copy-aborts", &["--random-aborts"])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"aborted\""),
        "some transactions aborted: {stdout}"
    );
    assert_exactly_once(&c, 400, 3);
}

#[test]
fn copy_killed_with_sigkill_and_restarted_copies_exactly_once() {
    let c = cluster(2);
    fill(&c, 1500);
    for _ in 0..3 {
        let mut child = copy(&c, "copy-kill", &["--random-aborts"]);
        let _out = wait_commits(&mut child, 3);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let out = copy(&c, "copy-kill", &["--random-aborts"])
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_exactly_once(&c, 1500, 2);
}

/// A commit that takes longer than `--idle-exit-ms` (its offsets'
/// coordinator still loading for seconds, as after a broker died) is not
/// idleness: the copy goes on and copies every record. It used to exit
/// right after such a commit, because no input had arrived meanwhile.
#[test]
fn a_commit_slower_than_the_idle_exit_does_not_end_the_copy() {
    let c = cluster(2);
    fill(&c, 400);
    let mut child = copy(&c, "copy-slow-commit", &[]);
    let mut out = wait_commits(&mut child, 1);
    // TxnOffsetCommit (28) answered COORDINATOR_LOAD_IN_PROGRESS (14) for
    // about 6 s of retries, twice the idle exit.
    c.push_request_errors(28, &[14; 250]);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    let _ = std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err);
    assert!(status.success(), "stderr: {err}");
    assert_exactly_once(&c, 400, 2);
}

#[test]
fn max_messages_stops_after_that_many_records() {
    let c = cluster(1);
    fill(&c, 100);
    let out = copy(&c, "copy-max", &["--max-messages", "60"])
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = read_back(&c, "out", 1);
    assert_eq!(seen.values().sum::<usize>(), 60);
}

#[test]
fn a_second_copy_with_the_same_transactional_id_fences_the_first() {
    let c = cluster(2);
    fill(&c, 1000);
    let mut zombie = copy(&c, "copy-zombie", &[]);
    let zombie_out = wait_commits(&mut zombie, 2);
    let newer = copy(&c, "copy-zombie", &[]);
    let status = zombie.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut zombie.stderr.take().unwrap(), &mut err).unwrap();
    drop(zombie_out);
    assert!(!status.success(), "the fenced copy exits with an error");
    assert!(
        err.contains("PRODUCER_FENCED") || err.contains("fenced"),
        "stderr: {err}"
    );
    let out = newer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_exactly_once(&c, 1000, 2);
}
