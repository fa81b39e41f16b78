//! `ferrokafka metadata`: brokers, topics and partitions of a cluster, as
//! text or JSON (`-J`). Without `-b` it starts an embedded mock cluster and
//! describes that.

use ferrokafka::{AdminClient, ErrorCode, Metadata};
use serde_json::json;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ferrokafka metadata`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bootstrap brokers, `host:port[,host:port...]`; without it an embedded
    /// mock cluster of 3 brokers is started and described.
    #[arg(short = 'b', long)]
    brokers: Option<String>,
    /// Only this topic.
    #[arg(short = 't', long)]
    topic: Option<String>,
    /// Print JSON.
    #[arg(short = 'J', long)]
    json: bool,
    /// Overall timeout in milliseconds (default: `socket.timeout.ms` or
    /// `request.timeout.ms` when given with `-X`, else 10000).
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// A client property `name=value` (repeatable); `-X list` prints them all.
    #[arg(short = 'X', value_name = "NAME=VALUE")]
    property: Vec<String>,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    if super::wants_property_list(&args.property) {
        super::print_property_list();
        return ExitCode::SUCCESS;
    }
    // Keeps the embedded cluster alive until the answer is printed.
    let mut _mock = None;
    let brokers = match &args.brokers {
        Some(b) => b.clone(),
        None => match ferrokafka_mock::MockCluster::builder()
            .brokers(3)
            .build_blocking()
        {
            Ok(m) => {
                let b = m.bootstrap_servers();
                eprintln!("% no -b given: describing an embedded mock cluster at {b}");
                _mock = Some(m);
                b
            }
            Err(e) => {
                eprintln!("% error: cannot start the embedded mock cluster: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let config = match super::client_config(Some(&brokers), &args.property) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("% error: {e}");
            return ExitCode::from(2);
        }
    };
    let admin = match AdminClient::new(&config) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("% error: {e}");
            return ExitCode::from(2);
        }
    };
    let timeout = Duration::from_millis(args.timeout_ms.unwrap_or_else(|| {
        ["socket.timeout.ms", "request.timeout.ms"]
            .iter()
            .filter_map(|name| property_ms(&args.property, name))
            .min()
            .unwrap_or(DEFAULT_TIMEOUT_MS)
    }));
    match admin.metadata_blocking(args.topic.as_deref(), timeout) {
        Ok(md) => {
            if args.json {
                println!("{}", to_json(&md));
            } else {
                print!("{}", to_text(&md, args.topic.as_deref()));
            }
            let missing = args.topic.is_some()
                && md
                    .topics
                    .iter()
                    .any(|t| t.error == Some(ErrorCode::UnknownTopicOrPartition));
            if missing {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("% error: failed to get metadata: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The metadata timeout when neither `--timeout-ms` nor a socket or request
/// timeout is given.
const DEFAULT_TIMEOUT_MS: u64 = 10_000;

/// The last `-X name=value` for `name`, as milliseconds.
fn property_ms(props: &[String], name: &str) -> Option<u64> {
    props
        .iter()
        .rev()
        .filter_map(|p| p.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .and_then(|(_, v)| v.trim().parse().ok())
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

fn err_name(e: Option<ErrorCode>) -> Option<&'static str> {
    e.map(ErrorCode::name)
}

/// kcat-like text.
fn to_text(md: &Metadata, topic: Option<&str>) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Metadata for {} (from broker {}: {}):",
        topic.unwrap_or("all topics"),
        md.orig_broker_id,
        md.orig_broker_name
    );
    if let Some(c) = &md.cluster_id {
        let _ = writeln!(s, " cluster id: {c}");
    }
    let _ = writeln!(s, " {} brokers:", md.brokers.len());
    for b in &md.brokers {
        let _ = write!(s, "  broker {} at {}:{}", b.id, b.host, b.port);
        if let Some(r) = &b.rack {
            let _ = write!(s, " rack {r}");
        }
        if md.controller_id == Some(b.id) {
            let _ = write!(s, " (controller)");
        }
        s.push('\n');
    }
    let _ = writeln!(s, " {} topics:", md.topics.len());
    for t in &md.topics {
        let _ = write!(
            s,
            "  topic \"{}\" with {} partitions:",
            t.name,
            t.partitions.len()
        );
        if let Some(e) = err_name(t.error) {
            let _ = write!(s, " Error: {e}");
        }
        s.push('\n');
        for p in &t.partitions {
            let leader = p.leader.map_or("none".to_string(), |l| l.to_string());
            let _ = write!(
                s,
                "    partition {}, leader {}, replicas: {}, isrs: {}",
                p.id,
                leader,
                ids(&p.replicas),
                ids(&p.isr)
            );
            if let Some(e) = err_name(p.error) {
                let _ = write!(s, ", Error: {e}");
            }
            s.push('\n');
        }
    }
    s
}

/// The same as JSON, with the field names of the library's metadata types.
fn to_json(md: &Metadata) -> serde_json::Value {
    json!({
        "originating_broker": { "id": md.orig_broker_id, "name": md.orig_broker_name },
        "cluster_id": md.cluster_id,
        "controller_id": md.controller_id,
        "brokers": md.brokers.iter().map(|b| json!({
            "id": b.id, "host": b.host, "port": b.port, "rack": b.rack,
        })).collect::<Vec<_>>(),
        "topics": md.topics.iter().map(|t| json!({
            "name": t.name,
            "error": err_name(t.error),
            "internal": t.is_internal,
            "partitions": t.partitions.iter().map(|p| json!({
                "id": p.id, "leader": p.leader, "leader_epoch": p.leader_epoch,
                "replicas": p.replicas, "isr": p.isr,
                "offline_replicas": p.offline_replicas,
                "error": err_name(p.error),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
