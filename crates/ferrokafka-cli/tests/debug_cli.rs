//! `-d CONTEXTS` and `-X debug=CONTEXTS` print the clients' debug contexts
//! on standard error without `RUST_LOG`, as kcat's `-d` does; without them
//! nothing is printed.

use std::process::Command;

fn ferrokafka() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferrokafka"));
    c.env_remove("RUST_LOG");
    c
}

/// Runs `metadata` against the embedded mock cluster with `args`; its
/// standard error.
fn metadata_stderr(args: &[&str]) -> String {
    let out = ferrokafka().arg("metadata").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "stderr: {stderr}");
    stderr
}

#[test]
fn dash_d_shows_the_api_versions_exchange_and_every_header() {
    let err = metadata_stderr(&["-d", "broker,protocol"]);
    assert!(
        err.contains("ferrokafka::broker") && err.contains("connected"),
        "{err}"
    );
    assert!(err.contains("ApiVersions v"), "{err}");
    assert!(err.contains("sent Metadata v"), "{err}");
    assert!(err.contains("received Metadata v"), "{err}");
    assert!(err.contains("correlation id"), "{err}");
    // A context not named stays quiet.
    assert!(!err.contains("ferrokafka::metadata"), "{err}");
}

#[test]
fn dash_x_debug_works_alone_and_nothing_is_printed_without_it() {
    let err = metadata_stderr(&["-X", "debug=metadata"]);
    assert!(err.contains("ferrokafka::metadata"), "{err}");
    assert!(!err.contains("ferrokafka::protocol"), "{err}");
    let quiet = metadata_stderr(&[]);
    assert!(!quiet.contains("ferrokafka::"), "{quiet}");
}
