//! `ferrokafka produce` (placeholder until its issue lands).

use std::process::ExitCode;

/// Arguments of `ferrokafka produce`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("ferrokafka produce: not implemented yet");
    ExitCode::FAILURE
}
