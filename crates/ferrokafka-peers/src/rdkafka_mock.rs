//! librdkafka's mock cluster as a child process
//! (`scripts/peers/rdkafka_mock.py`), with its fault commands.

use crate::process::{stop, Tail};
use crate::{python_with, workspace_root};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// How long the cluster may take to print its bootstrap line.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one fault command may take to be acknowledged.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// A running librdkafka mock cluster; stopped when dropped.
///
/// Its brokers have ids `1..=N`. Topics not created up front are
/// auto-created with 4 partitions on first use, as librdkafka's mock does.
pub struct RdkafkaMock {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Tail,
    bootstrap: String,
}

impl RdkafkaMock {
    /// Starts a cluster of `brokers` brokers with `topics`, each
    /// `NAME:PARTITIONS[:REPLICATION]` (replication defaults to 1).
    ///
    /// `None` (after printing the skip) when Python or `confluent-kafka` is
    /// missing and peers are not required. Panics if the cluster fails to start.
    pub fn start(brokers: u32, topics: &[&str]) -> Option<Self> {
        let py = python_with(&["confluent_kafka"])?;
        let script = workspace_root().join("scripts/peers/rdkafka_mock.py");
        let mut cmd = py.command();
        cmd.arg(&script).arg("--brokers").arg(brokers.to_string());
        for t in topics {
            cmd.arg("--topic").arg(t);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", script.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = Tail::collect(child.stderr.take().expect("piped stderr"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut mock = RdkafkaMock {
            child,
            stdin,
            lines,
            stderr,
            bootstrap: String::new(),
        };
        let first = mock.next_line(START_TIMEOUT, "its BOOTSTRAP= line");
        match first.strip_prefix("BOOTSTRAP=") {
            Some(b) if !b.is_empty() => mock.bootstrap = b.to_owned(),
            _ => panic!(
                "rdkafka_mock.py printed {first:?} instead of BOOTSTRAP=...; stderr:\n{}",
                mock.stderr.text()
            ),
        }
        Some(mock)
    }

    /// The `host:port,...` list of every broker.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Sends one raw command line (see `scripts/peers/rdkafka_mock.py`) and
    /// returns the text after `OK`, or the `ERR` message.
    pub fn command(&mut self, line: &str) -> Result<String, String> {
        let stdin = self.stdin.as_mut().expect("stdin open until drop");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("rdkafka mock gone ({e}); stderr:\n{}", self.stderr.text()));
        let reply = self.next_line(COMMAND_TIMEOUT, &format!("the reply to {line:?}"));
        if let Some(rest) = reply.strip_prefix("OK") {
            Ok(rest.trim_start().to_owned())
        } else {
            Err(reply)
        }
    }

    fn must(&mut self, line: &str) -> String {
        self.command(line)
            .unwrap_or_else(|e| panic!("rdkafka mock refused {line:?}: {e}"))
    }

    /// Makes the next requests of `api_key` (cluster-wide) fail with
    /// `codes`, one code per request, in order (0 lets one succeed).
    pub fn push_errors(&mut self, api_key: i16, codes: &[i16]) {
        assert!(!codes.is_empty(), "push_errors needs at least one code");
        self.must(&format!("errors {api_key} {}", join(codes)));
    }

    /// Like [`push_errors`](Self::push_errors) on one broker, each response
    /// delayed by its `rtt_ms`.
    pub fn push_broker_errors(&mut self, broker: i32, api_key: i16, codes_rtt_ms: &[(i16, u32)]) {
        assert!(
            !codes_rtt_ms.is_empty(),
            "push_broker_errors needs at least one code"
        );
        let list: Vec<String> = codes_rtt_ms
            .iter()
            .map(|(c, r)| format!("{c}:{r}"))
            .collect();
        self.must(&format!("berrors {broker} {api_key} {}", list.join(",")));
    }

    /// Forgets the errors still queued for `api_key`.
    pub fn clear_errors(&mut self, api_key: i16) {
        self.must(&format!("clear {api_key}"));
    }

    /// Takes a broker down: its connections are closed and refused.
    pub fn broker_down(&mut self, broker: i32) {
        self.must(&format!("down {broker}"));
    }

    /// Brings a broker back up.
    pub fn broker_up(&mut self, broker: i32) {
        self.must(&format!("up {broker}"));
    }

    /// Delays every response of `broker` by `ms`.
    pub fn set_rtt(&mut self, broker: i32, ms: u32) {
        self.must(&format!("rtt {broker} {ms}"));
    }

    /// Moves the leader of `topic`/`partition` to `broker`.
    pub fn set_leader(&mut self, topic: &str, partition: i32, broker: i32) {
        self.must(&format!("leader {topic} {partition} {broker}"));
    }

    /// Creates a topic.
    pub fn create_topic(&mut self, topic: &str, partitions: i32, replication: i32) {
        self.must(&format!("topic {topic} {partitions} {replication}"));
    }

    /// Pins the coordinator of a `group` or `transaction` key to `broker`.
    pub fn set_coordinator(&mut self, kind: &str, key: &str, broker: i32) {
        self.must(&format!("coordinator {kind} {key} {broker}"));
    }

    /// Starts recording which broker received which API.
    pub fn track_requests(&mut self) {
        self.must("track");
    }

    /// The `(broker id, api key)` of the requests received since
    /// [`track_requests`](Self::track_requests), oldest first (consumed).
    pub fn requests(&mut self) -> Vec<(i32, i16)> {
        let text = self.must("requests");
        text.split_whitespace()
            .filter_map(|pair| {
                let (b, k) = pair.split_once(':')?;
                Some((b.parse().ok()?, k.parse().ok()?))
            })
            .collect()
    }

    fn next_line(&mut self, timeout: Duration, what: &str) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "rdkafka mock: no {what} within {timeout:?}; stderr:\n{}",
                    self.stderr.text()
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "rdkafka mock exited ({status:?}) before {what}; stderr:\n{}",
                    self.stderr.text()
                )
            }
        }
    }
}

impl Drop for RdkafkaMock {
    fn drop(&mut self) {
        // Closing stdin is the script's signal to destroy the cluster and exit.
        drop(self.stdin.take());
        stop(&mut self.child, Duration::from_secs(3));
    }
}

fn join(codes: &[i16]) -> String {
    codes
        .iter()
        .map(i16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
