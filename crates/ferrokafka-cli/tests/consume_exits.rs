//! Issue 13 items 3 and 4: how `ferrokafka consume` (and the other
//! long-running commands) end. SIGTERM, as systemd and Kubernetes send,
//! closes as cleanly as SIGINT: final commit, LeaveGroup, exit 0. `-G`
//! exits by itself with `-e` once its partitions reached their end, and
//! with a message and status 1 for an unknown topic or an offset out of
//! range under `auto.offset.reset=error`. Every wait here is bounded.

mod support;

use ferrokafka::consumer::Consumer;
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use ferrokafka_peers::run_bounded;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use support::produce;

/// What `-G` members use: a session long enough that a member that did
/// not leave would hold its partitions far longer than the waits below.
const SESSION_MS: &str = "30000";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
}

/// A child process whose output goes to files (read while it runs); killed
/// if the test ends before it.
struct Proc {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn start(cmd: &mut Command, name: &str) -> Proc {
        let dir = std::env::temp_dir().join(format!(
            "ferrokafka-consume-exits-{}-{name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (out, err) = (dir.join("out"), dir.join("err"));
        let child = cmd
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
            .spawn()
            .unwrap();
        Proc { child, out, err }
    }

    fn stdout_lines(&self) -> usize {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .count()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until `cond` holds, panicking with the stderr after `within`.
    fn wait_until(&mut self, within: Duration, what: &str, mut cond: impl FnMut(&Proc) -> bool) {
        let deadline = Instant::now() + within;
        while !cond(self) {
            if let Ok(Some(s)) = self.child.try_wait() {
                panic!("{what}: exited early ({s})\n{}", self.stderr());
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    /// The exit status, waiting at most `within`.
    fn exit_within(&mut self, within: Duration) -> (ExitStatus, Duration) {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s, t0.elapsed());
            }
            assert!(
                t0.elapsed() < within,
                "still running after {within:?}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn group_member(bootstrap: &str, group: &str, topic: &str, extra: &[&str]) -> Command {
    let mut c = bin();
    c.args(["consume", "-b", bootstrap, "-G", group])
        .args(["-X", "heartbeat.interval.ms=100"])
        .args(["-X", &format!("session.timeout.ms={SESSION_MS}")])
        .args(["-X", "fetch.wait.max.ms=50"]);
    for x in extra {
        c.args(["-X", x]);
    }
    c.arg(topic);
    c
}

/// A library member of `group` that commits nothing itself.
fn observer(bootstrap: &str, group: &str) -> Consumer {
    Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("heartbeat.interval.ms", "100")
            .set("session.timeout.ms", SESSION_MS)
            .set("fetch.wait.max.ms", "50"),
    )
    .unwrap()
}

/// Polls `c` (outside a runtime) until `cond` or `within`; returns whether
/// it held.
fn poll_until(c: &Consumer, within: Duration, cond: impl Fn(&Consumer) -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond(c) {
            return true;
        }
        let _ = c.poll(Duration::from_millis(50));
    }
    cond(c)
}

fn committed(c: &Consumer, topic: &str, partition: i32) -> Option<i64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(c.committed(&[(topic, partition)], Duration::from_secs(5)))
        .unwrap()[0]
        .2
}

fn sigterm_closes_a_group_member(signal: &str) {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("sig", 2, 1)
        .build_blocking()
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let group = format!("g-{signal}");
    produce(&bootstrap, "sig", 2, 0..20);
    // Auto commits far apart: what the member consumed is committed by
    // its rebalance and its close, nothing else.
    let mut a = Proc::start(
        &mut group_member(
            &bootstrap,
            &group,
            "sig",
            &["auto.commit.interval.ms=600000"],
        ),
        signal,
    );
    a.wait_until(Duration::from_secs(20), "the member reads all", |p| {
        p.stdout_lines() >= 20
    });
    let b = observer(&bootstrap, &group);
    b.subscribe(&["sig"]).unwrap();
    assert!(
        poll_until(&b, Duration::from_secs(20), |b| b.assignment().len() == 1),
        "the second member gets one partition\n{}",
        a.stderr()
    );
    let kept = 1 - b.assignment()[0].partition();
    // More records for the member's own partition, consumed, not committed.
    produce(&bootstrap, "sig", 2, 20..40);
    let share: Vec<String> = (20..40)
        .filter(|i| i % 2 == kept as usize)
        .map(|i| format!("v{i}"))
        .collect();
    a.wait_until(Duration::from_secs(20), "the member reads its share", |p| {
        let seen = std::fs::read_to_string(&p.out).unwrap_or_default();
        let seen: std::collections::HashSet<&str> = seen.lines().collect();
        share.iter().all(|v| seen.contains(v.as_str()))
    });
    let end = cluster.high_watermark("sig", kept).unwrap();
    assert_eq!(end, 20);
    assert!(
        committed(&b, "sig", kept).unwrap_or(0) < end,
        "left for the close to commit"
    );
    a.signal(signal);
    let (status, took) = a.exit_within(Duration::from_secs(15));
    eprintln!("{signal}: {status} after {took:?}");
    assert_eq!(
        status.code(),
        Some(0),
        "{signal}: a clean close exits 0\n{}",
        a.stderr()
    );
    assert!(a.stderr().contains(&format!("{signal} received")));
    assert_eq!(
        committed(&b, "sig", kept),
        Some(end),
        "{signal}: the final commit was made"
    );
    // LeaveGroup: the other member gets the partition at once, not after
    // the 30 s session.
    let t0 = Instant::now();
    assert!(
        poll_until(&b, Duration::from_secs(10), |b| b.assignment().len() == 2),
        "{signal}: the partition moves within 10 s (session {SESSION_MS} ms)"
    );
    eprintln!(
        "{signal}: partition taken over {:?} after exit",
        t0.elapsed()
    );
}

#[test]
fn sigterm_makes_the_final_commit_and_leaves_the_group() {
    sigterm_closes_a_group_member("TERM");
}

#[test]
fn sigint_makes_the_final_commit_and_leaves_the_group() {
    sigterm_closes_a_group_member("INT");
}

#[test]
fn sigterm_stops_the_simple_consumer_and_produce_from_stdin() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("s", 1, 1)
        .build_blocking()
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "s", 1, 0..5);
    let mut c = Proc::start(
        bin().args(["consume", "-b", &bootstrap, "-t", "s"]),
        "simple",
    );
    c.wait_until(Duration::from_secs(20), "the consumer reads", |p| {
        p.stdout_lines() == 5
    });
    c.signal("TERM");
    let (status, took) = c.exit_within(Duration::from_secs(15));
    eprintln!("consume -t: {status} after {took:?}");
    assert_eq!(status.code(), Some(0), "{}", c.stderr());

    // produce reading a pipe that stays open: what was read is delivered.
    let mut p = Proc::start(
        bin()
            .args(["produce", "-b", &bootstrap, "-t", "s", "-X", "linger.ms=5"])
            .stdin(Stdio::piped()),
        "produce",
    );
    let mut stdin = p.child.stdin.take().unwrap();
    stdin.write_all(b"a\nb\nc\n").unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.high_watermark("s", 0) != Some(8) {
        assert!(Instant::now() < deadline, "produced\n{}", p.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    p.signal("TERM");
    let (status, took) = p.exit_within(Duration::from_secs(15));
    eprintln!("produce: {status} after {took:?}");
    assert_eq!(status.code(), Some(0), "{}", p.stderr());
    drop(stdin);
}

#[test]
fn group_exit_at_end_exits_once_every_partition_is_at_its_end() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("e", 3, 1)
        .build_blocking()
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    // One partition stays empty: its end is offset 0.
    produce(&bootstrap, "e", 2, 0..10);
    let out = run_bounded(
        group_member(&bootstrap, "g-e", "e", &[]).arg("-e"),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 10);
    assert!(stderr.contains(": exiting"), "{stderr}");
}

#[test]
fn group_exits_with_an_error_for_an_unknown_topic() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .build_blocking()
        .unwrap();
    let t0 = Instant::now();
    let out = run_bounded(
        &mut group_member(&cluster.bootstrap_servers(), "g-u", "nowhere", &[]),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("unknown topic: {} after {:?}", out.status, t0.elapsed());
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nowhere"), "names the topic: {stderr}");
    assert!(
        stderr.contains("UNKNOWN_TOPIC") || stderr.contains("UnknownTopic"),
        "{stderr}"
    );
}

#[test]
fn group_exits_with_an_error_when_the_offset_is_out_of_range_and_reset_is_error() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("r", 1, 1)
        .build_blocking()
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    produce(&bootstrap, "r", 1, 0..5);
    // The group's committed offset lies past the log's end.
    let c = observer(&bootstrap, "g-r");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(c.commit_offsets(&[("r", 0, 1000)])).unwrap();
    drop(c);
    let t0 = Instant::now();
    let out = run_bounded(
        &mut group_member(&bootstrap, "g-r", "r", &["auto.offset.reset=error"]),
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("out of range: {} after {:?}", out.status, t0.elapsed());
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("_AUTO_OFFSET_RESET"), "{stderr}");
}

#[test]
fn sigterm_stops_perf_with_a_report_and_the_mock() {
    // perf produce on its embedded cluster, far more records than it can
    // send before the signal.
    let mut perf = Proc::start(
        bin().args(["perf", "produce", "-n", "1000000000", "--json"]),
        "perf",
    );
    std::thread::sleep(Duration::from_millis(1500));
    perf.signal("TERM");
    let (status, took) = perf.exit_within(Duration::from_secs(20));
    eprintln!("perf produce: {status} after {took:?}");
    assert_eq!(status.code(), Some(0), "{}", perf.stderr());
    let report: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&perf.out).unwrap().trim())
            .expect("the report is printed");
    assert_eq!(report["failed"], 0, "{report}");
    assert!(report["delivered"].as_u64().unwrap() < 1_000_000_000);

    let mut mock = Proc::start(bin().args(["mock", "--no-stdin"]), "mock");
    mock.wait_until(Duration::from_secs(10), "the mock starts", |p| {
        p.stdout_lines() >= 1
    });
    mock.signal("TERM");
    let (status, _) = mock.exit_within(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{}", mock.stderr());
}

/// Issue 13 item 6 through the CLI: `consume -t` of a missing topic (with
/// and without `-p`) fails at once naming it (kcat: 0.01 s; it took 30 s).
#[test]
fn simple_consumer_reports_a_missing_topic_at_once() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .build_blocking()
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    for extra in [&[][..], &["-p", "0"][..]] {
        let t0 = Instant::now();
        let out = run_bounded(
            bin()
                .args(["consume", "-b", &bootstrap, "-t", "absent"])
                .args(extra),
            Duration::from_secs(40),
        );
        let took = t0.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("consume -t absent {extra:?}: {} after {took:?}", out.status);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("absent"), "names the topic: {stderr}");
        assert!(took < Duration::from_secs(5), "{extra:?}: took {took:?}");
    }
}
