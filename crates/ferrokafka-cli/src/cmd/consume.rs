//! `ferrokafka consume` (placeholder until its issue lands).

use std::process::ExitCode;

/// Arguments of `ferrokafka consume`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("ferrokafka consume: not implemented yet");
    ExitCode::FAILURE
}
