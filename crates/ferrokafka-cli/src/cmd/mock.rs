//! `ferrokafka mock` (placeholder until its issue lands).

use std::process::ExitCode;

/// Arguments of `ferrokafka mock`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the subcommand.
pub fn run(_args: Args) -> ExitCode {
    eprintln!("ferrokafka mock: not implemented yet");
    ExitCode::FAILURE
}
