//! `ferrokafka metadata` (placeholder until its issue lands).

use std::process::ExitCode;

/// Arguments of `ferrokafka metadata`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("ferrokafka metadata: not implemented yet");
    ExitCode::FAILURE
}
