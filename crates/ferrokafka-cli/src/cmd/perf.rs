//! `ferrokafka perf` (placeholder until its issue lands).

use std::process::ExitCode;

/// Arguments of `ferrokafka perf`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("ferrokafka perf: not implemented yet");
    ExitCode::FAILURE
}
