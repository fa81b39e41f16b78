//! `ferrokafka mock`: runs an embedded mock Kafka cluster until interrupted
//! or until its standard input closes; standard input lines inject faults.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use super::shutdown::Shutdown;

use ferrokafka_mock::MockCluster;

const CONTROL_HELP: &str = "\
The first line on standard output is BOOTSTRAP=127.0.0.1:PORT,... (broker ids 1..N
in that order). The cluster serves until SIGINT/SIGTERM or until standard input
closes (unless --no-stdin). Each standard input line is a command; each answer is
one line on standard output, `ok` or `error: ...`. API is a Kafka API name
(case-insensitive: Produce, Fetch, Metadata, FindCoordinator, ...) or its key
number; codes are Kafka error codes (6 NOT_LEADER_OR_FOLLOWER, 7 REQUEST_TIMED_OUT...).

  errors API C1,C2,...          next requests of API (any broker) fail with C1, C2...
  broker-errors B API C[:MS],...  same on broker B only, each answered after MS ms
  down B | up B                 broker B refuses and closes connections / serves again
  rtt B MS                      delay every response of broker B by MS ms
  leader TOPIC P B              move the leader of TOPIC/P to broker B (epoch + 1)
  close-after B N               close the connection serving B's N-th next request
  drop API N                    apply the next N requests of API but send no response
  evict-sessions B              broker B forgets every fetch session (KIP-227) it keeps
  create TOPIC P [R]            create a topic with P partitions, R replicas
  quit                          stop

Example: printf 'errors produce 6,6\\ndown 2\\n' | ferrokafka mock --brokers 3";

/// Arguments of `ferrokafka mock`.
#[derive(Debug, clap::Args)]
#[command(after_help = CONTROL_HELP)]
pub struct Args {
    /// Number of brokers.
    #[arg(long, default_value_t = 3)]
    brokers: usize,
    /// Topic to create at start, `NAME:PARTITIONS[:REPLICATION]`; repeatable.
    #[arg(long = "topic", value_name = "NAME:PARTITIONS[:REPLICATION]")]
    topics: Vec<String>,
    /// Acknowledge produce without storing records (benchmarks).
    #[arg(long)]
    blackhole: bool,
    /// Do not create unknown topics on Metadata/Produce.
    #[arg(long)]
    no_auto_create: bool,
    /// Partitions of auto-created topics.
    #[arg(long, default_value_t = 1)]
    default_partitions: i32,
    /// Per-partition retention in bytes (oldest batches dropped beyond it).
    #[arg(long)]
    retention_bytes: Option<u64>,
    /// Serve until a signal only; ignore standard input.
    #[arg(long)]
    no_stdin: bool,
    /// Require SASL (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER with unsecured
    /// JWTs) on every listener and add this user, `NAME:PASSWORD`;
    /// repeatable. Clients then connect with `security.protocol=sasl_plaintext`.
    #[arg(long = "sasl-user", value_name = "NAME:PASSWORD")]
    sasl_users: Vec<String>,
}

/// Parses `NAME:PARTITIONS[:REPLICATION]`.
fn parse_topic(spec: &str) -> Result<(String, i32, i16), String> {
    let bad =
        || format!("--topic {spec:?}: expected NAME:PARTITIONS[:REPLICATION], e.g. orders:6:3");
    let mut parts = spec.split(':');
    let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
    let partitions = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let replication = match parts.next() {
        Some(r) => r.parse().map_err(|_| bad())?,
        None => 1,
    };
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok((name.to_string(), partitions, replication))
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let shutdown = Shutdown::install();
    let mut builder = MockCluster::builder()
        .brokers(args.brokers)
        .blackhole(args.blackhole)
        .auto_create_topics(!args.no_auto_create)
        .default_partitions(args.default_partitions);
    if let Some(r) = args.retention_bytes {
        builder = builder.retention_bytes(r);
    }
    for spec in &args.topics {
        match parse_topic(spec) {
            Ok((name, p, r)) => builder = builder.topic(&name, p, r),
            Err(e) => {
                eprintln!("ferrokafka mock: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    for spec in &args.sasl_users {
        match spec.split_once(':') {
            Some((user, password)) if !user.is_empty() => {
                builder = builder.sasl_user(user, password)
            }
            _ => {
                eprintln!("ferrokafka mock: --sasl-user {spec:?}: expected NAME:PASSWORD");
                return ExitCode::FAILURE;
            }
        }
    }
    let cluster = match MockCluster::start_blocking(builder) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrokafka mock: cannot start the cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    if writeln!(out, "BOOTSTRAP={}", cluster.bootstrap_servers())
        .and_then(|()| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }

    // Stdin lines come through a channel (`None`: the input ended); the
    // loop also wakes to see a signal (see `super::shutdown`).
    let (tx, rx) = std::sync::mpsc::channel::<Option<String>>();
    if !args.no_stdin {
        // `tx` itself stays here: with --no-stdin the channel stays open.
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                match line {
                    Ok(l) => {
                        if tx.send(Some(l)).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = tx.send(None);
        });
    }
    loop {
        use std::sync::mpsc::RecvTimeoutError;
        if shutdown.requested().is_some() {
            break;
        }
        let line = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(line)) => line,
            Ok(None) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => continue,
        };
        let line = line.trim();
        if line == "quit" {
            break;
        }
        let answer = match cluster.apply_control(line) {
            Ok(s) if s.is_empty() => continue,
            Ok(s) => s,
            Err(e) => format!("error: {e}"),
        };
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
    drop(tx);
    drop(cluster);
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_specs_parse() {
        assert_eq!(parse_topic("a:3"), Ok(("a".into(), 3, 1)));
        assert_eq!(parse_topic("a.b:6:3"), Ok(("a.b".into(), 6, 3)));
        for bad in ["", "a", ":3", "a:x", "a:1:2:3", "a:1:x"] {
            assert!(parse_topic(bad).is_err(), "{bad}");
        }
    }
}
