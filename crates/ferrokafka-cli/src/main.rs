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
    /// Debug contexts to print on standard error, comma-separated (the
    /// `debug` property: broker, protocol, metadata, msg, cgrp, fetch,
    /// security, eos, admin, conf, ..., all), as kcat's `-d`; no `RUST_LOG`
    /// needed.
    #[arg(short = 'd', value_name = "CONTEXTS", global = true)]
    debug: Option<String>,
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

/// Whether the command line asks for debug contexts (`-d`, `-X debug=`).
fn debug_requested(cli: &Cli) -> bool {
    let mut args = std::env::args().skip(1);
    let mut found = cli.debug.is_some();
    while let Some(a) = args.next() {
        let prop = match a.strip_prefix("-X") {
            Some("") => args.next().unwrap_or_default(),
            Some(p) => p.to_string(),
            None => continue,
        };
        found |= prop.trim_start().starts_with("debug=");
    }
    found
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logging goes to standard error. RUST_LOG selects it (e.g.
    // RUST_LOG=ferrokafka=debug); without it, `-d` or `-X debug=` show
    // the clients' debug contexts and warnings (each client emits only
    // the contexts it was given), and otherwise nothing is printed.
    let filter = match std::env::var("RUST_LOG") {
        Ok(_) => Some(tracing_subscriber::EnvFilter::from_default_env()),
        Err(_) if debug_requested(&cli) => {
            Some(tracing_subscriber::EnvFilter::new("ferrokafka=debug"))
        }
        Err(_) => None,
    };
    if let Some(filter) = filter {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init();
    }
    if let Some(d) = &cli.debug {
        let _ = cmd::DEBUG.set(d.clone());
    }
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
