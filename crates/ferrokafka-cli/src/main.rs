//! `ferrokafka`: the command line client.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

/// ferrokafka: a kcat-like Kafka command line client.
#[derive(Debug, Parser)]
#[command(name = "ferrokafka", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List brokers, topics and partitions.
    Metadata(cmd::metadata::Args),
    /// Run an embedded mock cluster.
    Mock(cmd::mock::Args),
    /// Consume messages.
    Consume(cmd::consume::Args),
    /// Produce messages.
    Produce(cmd::produce::Args),
    /// Measure throughput and latency.
    Perf(cmd::perf::Args),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Metadata(a) => cmd::metadata::run(a),
        Command::Mock(a) => cmd::mock::run(a),
        Command::Consume(a) => cmd::consume::run(a),
        Command::Produce(a) => cmd::produce::run(a),
        Command::Perf(a) => cmd::perf::run(a),
    }
}
