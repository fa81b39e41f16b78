//! `ferrokafka`: the command line client.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

/// ferrokafka: a kcat-like Kafka command line client.
#[derive(Debug, Parser)]
#[command(name = "ferrokafka", version, about)]
struct Cli {
    /// `-X list` prints every configuration property (name, scope, type,
    /// range, default, description).
    #[arg(short = 'X', value_name = "list")]
    property: Vec<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List brokers, topics and partitions.
    Metadata(cmd::metadata::Args),
    /// Administer topics, configs, records, groups and the cluster.
    Admin(cmd::admin::Args),
    /// Run an embedded mock cluster.
    Mock(cmd::mock::Args),
    /// Consume messages.
    Consume(cmd::consume::Args),
    /// Produce messages.
    Produce(cmd::produce::Args),
    /// Measure throughput and latency.
    Perf(cmd::perf::Args),
    /// Copy a topic to another exactly once, in transactions (like Apache
    /// Kafka's TransactionalMessageCopier).
    Copy(cmd::copy::Args),
}

fn main() -> ExitCode {
    // Debug output goes to standard error, selected with RUST_LOG (e.g.
    // RUST_LOG=ferrokafka=debug); nothing is printed when it is unset.
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init();
    }
    let cli = Cli::parse();
    if cmd::wants_property_list(&cli.property) {
        cmd::print_property_list();
        return ExitCode::SUCCESS;
    }
    let Some(command) = cli.command else {
        if !cli.property.is_empty() {
            eprintln!("% error: -X before a subcommand only supports `-X list`");
            return ExitCode::from(2);
        }
        use clap::CommandFactory;
        let _ = Cli::command().print_help();
        return ExitCode::from(2);
    };
    match command {
        Command::Metadata(a) => cmd::metadata::run(a),
        Command::Admin(a) => cmd::admin::run(a),
        Command::Mock(a) => cmd::mock::run(a),
        Command::Consume(a) => cmd::consume::run(a),
        Command::Produce(a) => cmd::produce::run(a),
        Command::Perf(a) => cmd::perf::run(a),
        Command::Copy(a) => cmd::copy::run(a),
    }
}
