//! Third-party clients use the mock's data path unchanged: librdkafka
//! (confluent-kafka), kafka-python and kcat list metadata, create topics,
//! produce with every codec (plain and idempotent) and consume it back.
//!
//! Without the peers the tests print why and skip, unless
//! `FERROKAFKA_REQUIRE_PEERS=1` (CI). The kcat test goes through the
//! `ferrokafka mock` binary when it is built (the path a new user takes),
//! else through the embedded cluster.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ferrokafka_mock::MockCluster;
use ferrokafka_peers::{python_with, run_bounded, run_bounded_with_input};

mod peer_script;
use peer_script::{run_script, SCRIPT_LIMIT};

#[test]
fn confluent_kafka_metadata_admin_every_codec_plain_and_idempotent() {
    run_script("data_confluent.py", &["confluent_kafka"]);
}

#[test]
fn kafka_python_metadata_admin_every_codec_plain_and_idempotent() {
    run_script(
        "data_kafka_python.py",
        &["kafka", "snappy", "lz4", "zstandard"],
    );
}

/// The next Produce requests fail in every way the mock can fail them; the
/// idempotent producer must still write each message exactly once, in order.
fn faults_then_exactly_once(client: &str, modules: &[&str]) {
    let Some(python) = python_with(modules) else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("once", 1, 3)
        .build_blocking()
        .expect("mock cluster starts");
    let leader = cluster.partition_leader("once", 0).unwrap();
    let produce = 0;
    cluster.push_request_errors(produce, &[6, 7]);
    cluster.push_broker_request_errors(leader, produce, &[(55, Duration::from_millis(100))]);
    cluster.drop_next_responses(produce, 2);
    cluster.close_connection_after(leader, 25).unwrap();
    cluster
        .set_broker_rtt(leader, Duration::from_millis(5))
        .unwrap();
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "peers",
        "faults_idempotent.py",
    ]
    .iter()
    .collect();
    let out = run_bounded(
        python
            .command()
            .arg(&path)
            .args([&cluster.bootstrap_servers(), "once", "2000", client]),
        SCRIPT_LIMIT,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{client} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    assert!(stdout.contains("PASS faults_idempotent"), "{stdout}");
    assert_eq!(
        cluster.high_watermark("once", 0),
        Some(2000),
        "no duplicate reached the log"
    );
    print!("{stdout}");
}

#[test]
fn confluent_kafka_idempotent_producer_survives_faults_exactly_once() {
    faults_then_exactly_once("confluent", &["confluent_kafka"]);
}

#[test]
fn kafka_python_idempotent_producer_survives_faults_exactly_once() {
    faults_then_exactly_once("kafka-python", &["kafka"]);
}

/// While the producer runs: the leader moves to another broker, the old
/// leader goes down, then the new leader goes down and comes back.
fn failover(client: &str, modules: &[&str]) {
    let Some(python) = python_with(modules) else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("fo", 1, 3)
        .build_blocking()
        .expect("mock cluster starts");
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "peers", "failover.py"]
        .iter()
        .collect();
    let mut child = python
        .command()
        .arg(&path)
        .args([&cluster.bootstrap_servers(), "fo", "1500", "4", client])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    // Drain the pipes while waiting, so a chatty client never blocks on them.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let first = cluster.partition_leader("fo", 0).unwrap();
    let second = cluster
        .broker_ids()
        .into_iter()
        .find(|b| *b != first)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    cluster.move_leader("fo", 0, second).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    cluster.broker_down(first).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    cluster.broker_down(second).unwrap();
    std::thread::sleep(Duration::from_millis(800));
    cluster.broker_up(second).unwrap();
    cluster.broker_up(first).unwrap();
    let deadline = std::time::Instant::now() + SCRIPT_LIMIT;
    while child.try_wait().expect("wait for python").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("failover.py ({client}) did not finish within {SCRIPT_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait().expect("python status");
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    assert!(
        status.success(),
        "{client} failed ({status}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("PASS failover"), "{stdout}");
    assert_eq!(cluster.high_watermark("fo", 0), Some(1500));
    print!("{stdout}");
}

#[test]
fn confluent_kafka_producer_follows_leader_moves_and_broker_restarts() {
    failover("confluent", &["confluent_kafka"]);
}

#[test]
fn kafka_python_producer_follows_leader_moves_and_broker_restarts() {
    failover("kafka-python", &["kafka"]);
}

/// `ferrokafka mock` as a child process; killed on drop.
struct MockProcess {
    child: Child,
    bootstrap: String,
    lines: std::sync::mpsc::Receiver<String>,
}

impl MockProcess {
    /// Starts the built binary, if there is one beside this test.
    fn start() -> Option<MockProcess> {
        let exe = std::env::current_exe().ok()?;
        let bin = exe.parent()?.parent()?.join("ferrokafka");
        if !bin.is_file() {
            return None;
        }
        let mut child = Command::new(bin)
            .args(["mock", "--brokers", "3", "--topic", "pre:2:2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut p = MockProcess {
            child,
            bootstrap: String::new(),
            lines,
        };
        let line = p
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("ferrokafka mock prints its bootstrap line");
        p.bootstrap = line
            .trim()
            .strip_prefix("BOOTSTRAP=")
            .expect("first line is BOOTSTRAP=...")
            .to_string();
        Some(p)
    }

    /// Sends one control line and returns the answer line.
    fn command(&mut self, line: &str) -> String {
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write a control line");
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("an answer to the control line")
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn kcat_metadata_produce_every_codec_and_consume() {
    let Some(kcat) = ferrokafka_peers::kcat() else {
        return;
    };
    let mut process = MockProcess::start();
    let embedded;
    let bootstrap = match &process {
        Some(p) => p.bootstrap.clone(),
        None => {
            eprintln!(
                "note: target/*/ferrokafka not built; kcat runs against the embedded cluster"
            );
            embedded = MockCluster::builder()
                .topic("pre", 2, 2)
                .build_blocking()
                .unwrap();
            embedded.bootstrap_servers()
        }
    };
    let limit = Duration::from_secs(30);
    let out = run_bounded(Command::new(&kcat).args(["-b", &bootstrap, "-L"]), limit);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kcat -L: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listing.contains("3 brokers") && listing.contains("topic \"pre\" with 2 partitions"),
        "{listing}"
    );
    let mut expected = Vec::new();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let lines: String = (0..50).map(|i| format!("{codec}-{i}\n")).collect();
        expected.extend((0..50).map(|i| format!("{codec}-{i}")));
        let out = run_bounded_with_input(
            Command::new(&kcat)
                .args(["-b", &bootstrap, "-P", "-t", "kc", "-X"])
                .arg(format!("compression.codec={codec}"))
                .args(["-X", "enable.idempotence=true"]),
            lines.as_bytes(),
            limit,
        );
        assert!(
            out.status.success(),
            "kcat -P {codec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run_bounded(
        Command::new(&kcat).args([
            "-b",
            &bootstrap,
            "-C",
            "-t",
            "kc",
            "-o",
            "beginning",
            "-e",
            "-q",
        ]),
        limit,
    );
    assert!(
        out.status.success(),
        "kcat -C: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(got, expected, "one partition (auto-created): order kept");

    // The standalone process takes faults on its standard input.
    if let Some(p) = process.as_mut() {
        assert_eq!(p.command("down 2"), "ok");
        let out = run_bounded(Command::new(&kcat).args(["-b", &bootstrap, "-L"]), limit);
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            listing.contains("2 brokers") && !listing.contains("broker 2 at"),
            "{listing}"
        );
        assert_eq!(p.command("up 2"), "ok");
        assert!(p
            .command("errors nosuch 6")
            .starts_with("error: unknown API"));
    }
}
