//! `ferrokafka admin`: the Admin API from the command line, in the spirit
//! of `kafka-topics.sh`, `kafka-configs.sh` and `kafka-consumer-groups.sh`.
//! Every verb prints a readable table, or JSON with `-J`; a call in which
//! any resource failed names each failure on standard error and exits 1.
//! Without `-b` it starts an embedded mock cluster of 3 brokers for the
//! one call (useful to try a verb; the cluster is gone afterwards).
//!
//! This file holds the arguments, the dispatch and the output helpers
//! every verb shares (tables, per-resource results, argument parsing);
//! the verbs themselves live by family in `admin/`: `topics`, `configs`,
//! `groups`, `acls`, `cluster`, `scram`, `replicas` (replicas, features,
//! quotas) and `transactions`.

use ferrokafka::admin::{AdminClient, AdminOptions};
use ferrokafka::Error;

mod acls;
mod cluster;
mod configs;
mod groups;
mod replicas;
mod scram;
mod topics;
mod transactions;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `ferrokafka admin`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bootstrap brokers, `host:port[,host:port...]`; without it an embedded
    /// mock cluster of 3 brokers is started for this one call.
    #[arg(short = 'b', long, global = true)]
    brokers: Option<String>,
    /// Print JSON.
    #[arg(short = 'J', long, global = true)]
    json: bool,
    /// Timeout of the whole call in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30_000, global = true)]
    timeout_ms: u64,
    /// A client property `name=value` (repeatable).
    #[arg(short = 'X', value_name = "NAME=VALUE", global = true)]
    property: Vec<String>,
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, clap::Subcommand)]
enum Verb {
    /// Create a topic.
    CreateTopic(topics::CreateTopic),
    /// Delete topics.
    DeleteTopic {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Grow a topic's partition count.
    CreatePartitions {
        /// The topic.
        name: String,
        /// The new total partition count.
        #[arg(short = 'p', long)]
        partitions: i32,
        /// Only validate at the broker.
        #[arg(long)]
        validate_only: bool,
    },
    /// List the cluster's topics.
    ListTopics,
    /// Describe topics (partitions, leaders, replicas, ISR, id).
    DescribeTopic {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Describe a resource's configuration.
    DescribeConfigs {
        /// `topic`, `broker` or `broker-logger`.
        kind: String,
        /// The topic name or broker id (empty for the cluster-wide broker default).
        name: String,
    },
    /// Alter a resource's configuration (incremental).
    AlterConfigs(configs::AlterConfigs),
    /// Delete records before offsets (`-1`: up to the high watermark).
    DeleteRecords {
        /// `TOPIC:PARTITION:OFFSET` (repeatable).
        #[arg(required = true, value_name = "TOPIC:PARTITION:OFFSET")]
        offsets: Vec<String>,
    },
    /// Offsets of every partition of a topic.
    ListOffsets {
        /// The topic.
        topic: String,
        /// `earliest`, `latest`, `max` (max timestamp) or a timestamp in ms.
        #[arg(long, default_value = "latest")]
        time: String,
        /// `read_uncommitted` or `read_committed`.
        #[arg(long, default_value = "read_uncommitted")]
        isolation: String,
    },
    /// List consumer groups.
    ListGroups {
        /// Only groups in this state (repeatable), e.g. Stable, Empty.
        #[arg(long = "state")]
        states: Vec<String>,
        /// Only groups of this type (repeatable): classic, consumer, share.
        #[arg(long = "type")]
        types: Vec<String>,
    },
    /// Describe a consumer group.
    DescribeGroup {
        /// The group id.
        group: String,
    },
    /// Delete consumer groups (they must be empty).
    DeleteGroup {
        /// Group ids.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// A group's committed offsets.
    GroupOffsets {
        /// The group id.
        group: String,
    },
    /// Set a group's committed offsets (the group must be empty).
    AlterGroupOffsets {
        /// The group id.
        group: String,
        /// `TOPIC:PARTITION:OFFSET` (repeatable).
        #[arg(required = true, value_name = "TOPIC:PARTITION:OFFSET")]
        offsets: Vec<String>,
    },
    /// Delete a group's committed offsets.
    DeleteGroupOffsets {
        /// The group id.
        group: String,
        /// `TOPIC` (every partition) or `TOPIC:PARTITION` (repeatable).
        #[arg(required = true, value_name = "TOPIC[:PARTITION]")]
        partitions: Vec<String>,
    },
    /// Describe the cluster (id, controller, brokers).
    DescribeCluster,
    /// Every broker's log directories and the replicas in them.
    DescribeLogDirs,
    /// Create ACLs (one per --operation).
    CreateAcl(acls::AclArgs),
    /// List the ACLs a filter selects (every option is optional).
    DescribeAcls(acls::AclArgs),
    /// Delete the ACLs a filter selects (give at least one option).
    DeleteAcls(acls::AclArgs),
    /// Create or replace a user's SCRAM credential.
    AlterScram(scram::AlterScram),
    /// Delete a user's SCRAM credential for one mechanism.
    DeleteScram(scram::DeleteScram),
    /// The SCRAM credentials of users (every user when none is named).
    DescribeScram {
        /// User names.
        users: Vec<String>,
    },
    /// Elect partition leaders (preferred replica, or unclean).
    ElectLeaders {
        /// Unclean election: any live replica when no in-sync one is left.
        #[arg(long)]
        unclean: bool,
        /// `TOPIC:PARTITION` (repeatable; none: every partition).
        #[arg(value_name = "TOPIC:PARTITION")]
        partitions: Vec<String>,
    },
    /// Move partitions to new replica sets, or cancel their moves.
    ReassignPartitions(replicas::Reassign),
    /// Ongoing partition reassignments.
    ListReassignments {
        /// `TOPIC:PARTITION` (repeatable; none: every partition).
        #[arg(value_name = "TOPIC:PARTITION")]
        partitions: Vec<String>,
    },
    /// Supported and finalized cluster features.
    DescribeFeatures,
    /// Change finalized feature levels.
    UpdateFeatures(replicas::UpdateFeatures),
    /// Client quotas of users, client ids and ips.
    DescribeQuotas(replicas::DescribeQuotas),
    /// Set or remove an entity's client quotas.
    AlterQuotas(replicas::AlterQuotas),
    /// Transactions every broker coordinates.
    ListTransactions(transactions::List),
    /// Describe transactional ids at their coordinators.
    DescribeTransactions {
        /// Transactional ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// The producers writing to partitions, with their open transactions.
    DescribeProducers {
        /// `TOPIC:PARTITION` (repeatable).
        #[arg(required = true, value_name = "TOPIC:PARTITION")]
        partitions: Vec<String>,
    },
    /// Fence the producers of transactional ids (bumps their epoch).
    FenceProducers {
        /// Transactional ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Abort a hanging transaction on one partition.
    AbortTransaction(transactions::Abort),
}

/// What a verb produced: JSON, its text form, and the failures to name.
struct Outcome {
    json: Value,
    text: String,
    failures: Vec<String>,
}

fn ok(json: Value, text: String) -> Outcome {
    Outcome {
        json,
        text,
        failures: Vec::new(),
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let mut _mock = None;
    let brokers = match &args.brokers {
        Some(b) => b.clone(),
        None => match ferrokafka_mock::MockCluster::builder()
            .brokers(3)
            .build_blocking()
        {
            Ok(m) => {
                let b = m.bootstrap_servers();
                eprintln!("% no -b given: using an embedded mock cluster at {b} for this call");
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
    let timeout = Duration::from_millis(args.timeout_ms);
    let opts = AdminOptions::new().request_timeout(timeout);
    match execute(&admin, args.verb, opts, timeout) {
        Ok(out) => {
            if args.json {
                println!("{}", out.json);
            } else {
                print!("{}", out.text);
            }
            for f in &out.failures {
                eprintln!("% error: {f}");
            }
            if out.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(Bad::Usage(m)) => {
            eprintln!("% error: {m}");
            ExitCode::from(2)
        }
        Err(Bad::Call(e)) => {
            eprintln!("% error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why a verb could not run at all.
enum Bad {
    /// Bad arguments (exit 2).
    Usage(String),
    /// The call failed as a whole (exit 1).
    Call(Error),
}

impl From<Error> for Bad {
    fn from(e: Error) -> Self {
        Bad::Call(e)
    }
}

fn kv(s: &str, flag: &str) -> Result<(String, String), Bad> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Bad::Usage(format!("{flag} {s:?}: expected name=value")))
}

/// `TOPIC:PARTITION:OFFSET`; the topic may itself hold `:` (split from the right).
fn tpo(s: &str) -> Result<(String, i32, i64), Bad> {
    let bad = || Bad::Usage(format!("{s:?}: expected TOPIC:PARTITION:OFFSET"));
    let (rest, off) = s.rsplit_once(':').ok_or_else(bad)?;
    let (topic, part) = rest.rsplit_once(':').ok_or_else(bad)?;
    if topic.is_empty() {
        return Err(bad());
    }
    Ok((
        topic.to_string(),
        part.parse().map_err(|_| bad())?,
        off.parse().map_err(|_| bad())?,
    ))
}

/// Pads columns for a table.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.len());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn ids(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Collects per-resource results into JSON rows, a text table and failures.
fn per_resource<T>(
    results: Vec<(String, ferrokafka::Result<T>)>,
    ok_text: impl Fn(&T) -> String,
    ok_json: impl Fn(&T) -> Value,
) -> Outcome {
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    let mut failures = Vec::new();
    for (name, r) in results {
        match r {
            Ok(v) => {
                rows.push(vec![name.clone(), "ok".into(), ok_text(&v)]);
                let mut j = json!({ "name": name, "error": null });
                if let (Value::Object(m), Value::Object(extra)) = (&mut j, ok_json(&v)) {
                    m.extend(extra);
                }
                json_rows.push(j);
            }
            Err(e) => {
                rows.push(vec![
                    name.clone(),
                    e.code().name().into(),
                    e.message().to_string(),
                ]);
                json_rows.push(json!({
                    "name": name, "error": e.code().name(), "message": e.message(),
                }));
                failures.push(e.to_string());
            }
        }
    }
    Outcome {
        json: Value::Array(json_rows),
        text: table(&["RESOURCE", "RESULT", "DETAIL"], &rows),
        failures,
    }
}

fn parse_enum<T>(flag: &str, v: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, Bad> {
    parse(v).ok_or_else(|| Bad::Usage(format!("{flag} {v:?} is not a valid value (see --help)")))
}

fn execute(
    admin: &AdminClient,
    verb: Verb,
    opts: AdminOptions,
    timeout: Duration,
) -> Result<Outcome, Bad> {
    Ok(match verb {
        Verb::CreateTopic(a) => topics::create(admin, a, &opts)?,
        Verb::DeleteTopic { names } => topics::delete(admin, names, &opts)?,
        Verb::CreatePartitions {
            name,
            partitions,
            validate_only,
        } => topics::create_partitions(admin, name, partitions, validate_only, &opts)?,
        Verb::ListTopics => topics::list(admin, timeout)?,
        Verb::DescribeTopic { names } => topics::describe(admin, names, &opts)?,
        Verb::DescribeConfigs { kind, name } => configs::describe(admin, kind, name, &opts)?,
        Verb::AlterConfigs(a) => configs::alter(admin, a, &opts)?,
        Verb::DeleteRecords { offsets } => topics::delete_records(admin, offsets, &opts)?,
        Verb::ListOffsets {
            topic,
            time,
            isolation,
        } => topics::list_offsets(admin, topic, time, isolation, &opts)?,
        Verb::ListGroups { states, types } => groups::list(admin, states, types, &opts)?,
        Verb::DescribeGroup { group } => groups::describe(admin, group, timeout)?,
        Verb::DeleteGroup { groups } => groups::delete(admin, groups, &opts)?,
        Verb::GroupOffsets { group } => groups::offsets(admin, group, timeout)?,
        Verb::AlterGroupOffsets { group, offsets } => {
            groups::alter_offsets(admin, group, offsets, &opts)?
        }
        Verb::DeleteGroupOffsets { group, partitions } => {
            groups::delete_offsets(admin, group, partitions, &opts)?
        }
        Verb::DescribeLogDirs => cluster::log_dirs(admin, &opts)?,
        Verb::CreateAcl(a) => acls::create(admin, a, &opts)?,
        Verb::DescribeAcls(a) => acls::describe(admin, a, &opts)?,
        Verb::DeleteAcls(a) => acls::delete(admin, a, &opts)?,
        Verb::AlterScram(a) => scram::alter(admin, a, &opts)?,
        Verb::DeleteScram(a) => scram::delete(admin, a, &opts)?,
        Verb::DescribeScram { users } => scram::describe(admin, users, &opts)?,
        Verb::ElectLeaders {
            unclean,
            partitions,
        } => replicas::elect(admin, unclean, partitions, &opts)?,
        Verb::ReassignPartitions(a) => replicas::reassign(admin, a, &opts)?,
        Verb::ListReassignments { partitions } => {
            replicas::list_reassignments(admin, partitions, &opts)?
        }
        Verb::DescribeFeatures => replicas::describe_features(admin, &opts)?,
        Verb::UpdateFeatures(a) => replicas::update_features(admin, a, &opts)?,
        Verb::DescribeQuotas(a) => replicas::describe_quotas(admin, a, &opts)?,
        Verb::AlterQuotas(a) => replicas::alter_quotas(admin, a, &opts)?,
        Verb::ListTransactions(a) => transactions::list(admin, a, &opts)?,
        Verb::DescribeTransactions { ids } => transactions::describe(admin, ids, &opts)?,
        Verb::DescribeProducers { partitions } => {
            transactions::describe_producers(admin, partitions, &opts)?
        }
        Verb::FenceProducers { ids } => transactions::fence(admin, ids, &opts)?,
        Verb::AbortTransaction(a) => transactions::abort(admin, a, &opts)?,
        Verb::DescribeCluster => cluster::describe(admin, &opts)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_partition_offset_arguments_parse_from_the_right() {
        assert_eq!(tpo("a:1:5").ok(), Some(("a".into(), 1, 5)));
        assert_eq!(tpo("ns:a:0:-1").ok(), Some(("ns:a".into(), 0, -1)));
        assert!(tpo("a:1").is_err());
        assert!(tpo(":1:2").is_err());
        assert!(tpo("a:x:2").is_err());
    }
}
