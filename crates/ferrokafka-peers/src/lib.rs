//! Third-party Kafka peers for ferrokafka's interop tests.
//!
//! This crate owns finding, starting and stopping the peers listed in the
//! project's TEST-PEERS notes: librdkafka's mock cluster (driven through
//! `scripts/peers/rdkafka_mock.py`), the Tansu broker, kcat and a Python
//! interpreter with `confluent-kafka` and `kafka-python`, and Apache Kafka
//! itself (broker and Java tools, [`ApacheKafka`]). `scripts/test.sh`
//! installs all of them into `./.venv`, a cache folder and the system.
//!
//! It leaves the tests themselves to each crate: add
//! `ferrokafka-peers.workspace = true` under `[dev-dependencies]` and write
//!
//! ```no_run
//! let Some(mock) = ferrokafka_peers::RdkafkaMock::start(3, &["events:4"]) else {
//!     return; // not installed and not required: the skip was printed
//! };
//! println!("{}", mock.bootstrap());
//! ```
//!
//! A missing peer skips the test (prints `skipped: <peer> not installed`) unless
//! `FERROKAFKA_REQUIRE_PEERS=1`, as in CI, where it panics and names what is
//! missing. Every wait is bounded and every process is killed on drop.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod apache_kafka;
mod process;
mod python;
mod rdkafka_mock;
mod tansu;

pub use apache_kafka::{ApacheKafka, Listeners, LogsOnFailure, SASL_MECHANISMS, USERS};
pub use process::{run_bounded, run_bounded_with_input};
pub use python::{python, python_with, run_python, Python};
pub use rdkafka_mock::RdkafkaMock;
pub use tansu::Tansu;

use std::path::{Path, PathBuf};

/// Whether missing peers are failures (`FERROKAFKA_REQUIRE_PEERS=1`, set by
/// `scripts/test.sh`) rather than reasons to skip.
pub fn require_peers() -> bool {
    std::env::var("FERROKAFKA_REQUIRE_PEERS").is_ok_and(|v| v == "1")
}

/// Reports a missing peer: panics when peers are required, otherwise prints
/// the skip line and returns `None` so the caller can `return`.
pub fn missing_peer<T>(peer: &str, why: &str) -> Option<T> {
    if require_peers() {
        panic!(
            "{peer} is required (FERROKAFKA_REQUIRE_PEERS=1) but missing: {why}; \
             run `bash scripts/test.sh` once to install the peers"
        );
    }
    eprintln!("skipped: {peer} not installed ({why})");
    None
}

/// The workspace root (where `scripts/` and `.venv/` live).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// The `kcat` binary: `FERROKAFKA_KCAT`, else `kcat` on `PATH`.
pub fn kcat() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FERROKAFKA_KCAT").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
        return missing_peer(
            "kcat",
            &format!("FERROKAFKA_KCAT={} does not exist", p.display()),
        );
    }
    match find_on_path("kcat") {
        Some(p) => Some(p),
        None => missing_peer("kcat", "no kcat on PATH (Debian package `kcat`)"),
    }
}

/// The `ferrokafka` binary for tests outside the CLI crate: `FERROKAFKA_BIN`,
/// else the `ferrokafka` beside the running test's target directory.
///
/// Inside `ferrokafka-cli`'s own tests prefer `env!("CARGO_BIN_EXE_ferrokafka")`,
/// which cargo guarantees is built; elsewhere run `cargo build -p ferrokafka-cli`
/// first (`scripts/test.sh` builds the whole workspace, so it is there).
pub fn ferrokafka_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("FERROKAFKA_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // Test executables live in target/<profile>/deps/; binaries one level up.
    let exe = std::env::current_exe().expect("path of the running test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable inside target/<profile>/deps");
    let bin = profile_dir.join("ferrokafka");
    assert!(
        bin.is_file(),
        "{} is not built; run `cargo build -p ferrokafka-cli` or set FERROKAFKA_BIN",
        bin.display()
    );
    bin
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A free loopback TCP port (bound, read and released: a peer started right
/// after can normally take it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// `n` distinct free loopback TCP ports. Each probe stays bound until all
/// are chosen: ports taken one `free_port` after another can repeat (the
/// kernel may hand a just-released port out again), and a broker given the
/// same port for two listeners refuses to start.
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("a bound listener's address").port())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(64);
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
    }

    #[test]
    fn workspace_root_holds_the_peer_scripts() {
        assert!(workspace_root()
            .join("scripts/peers/rdkafka_mock.py")
            .is_file());
    }

    #[test]
    fn free_ports_are_nonzero_and_bindable() {
        let p = free_port();
        assert_ne!(p, 0);
        std::net::TcpListener::bind(("127.0.0.1", p)).expect("port just released is bindable");
    }
}
