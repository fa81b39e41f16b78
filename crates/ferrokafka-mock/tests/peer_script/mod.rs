//! Runs one Python peer script of `tests/peers/` against a fresh 3-broker
//! mock and requires its exit status 0 and its `PASS <name>` line; shared by
//! the peer test files.

use std::path::PathBuf;
use std::time::Duration;

use ferrokafka_mock::MockCluster;
use ferrokafka_peers::python_with;

/// Each script bounds its own waits well below this.
pub const SCRIPT_LIMIT: Duration = Duration::from_secs(150);

/// Runs `script` with the venv's Python when it has `modules` (else skips,
/// or fails under `FERROKAFKA_REQUIRE_PEERS=1`).
pub fn run_script(script: &str, modules: &[&str]) {
    let Some(python) = python_with(modules) else {
        return;
    };
    let cluster = MockCluster::builder()
        .brokers(3)
        .build_blocking()
        .expect("mock cluster starts");
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "peers", script]
        .iter()
        .collect();
    let out = ferrokafka_peers::run_bounded(
        python.command().arg(&path).arg(cluster.bootstrap_servers()),
        SCRIPT_LIMIT,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    let name = script.trim_end_matches(".py");
    assert!(
        stdout.contains(&format!("PASS {name}")),
        "{script} exited 0 without its PASS line:\n{stdout}"
    );
    print!("{stdout}");
}
