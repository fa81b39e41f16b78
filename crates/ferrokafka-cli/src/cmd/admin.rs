//! `ferrokafka admin`: the Admin API from the command line, in the spirit
//! of `kafka-topics.sh`, `kafka-configs.sh` and `kafka-consumer-groups.sh`.
//! Every verb prints a readable table, or JSON with `-J`; a call in which
//! any resource failed names each failure on standard error and exits 1.
//! Without `-b` it starts an embedded mock cluster of 3 brokers for the
//! one call (useful to try a verb; the cluster is gone afterwards).

use ferrokafka::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, AclResourceType, AdminClient,
    AdminOptions, AlterConfigOp, ConfigResource, IsolationLevel, NewPartitions, NewTopic,
    OffsetSpec, PatternType,
};
use ferrokafka::Error;

mod replicas;
mod scram;
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
    CreateTopic {
        /// The topic name.
        name: String,
        /// Partition count (default: the broker's num.partitions).
        #[arg(short = 'p', long)]
        partitions: Option<i32>,
        /// Replication factor (default: the broker's default.replication.factor).
        #[arg(short = 'r', long)]
        replication_factor: Option<i16>,
        /// Explicit replicas, partitions separated by `,` and replicas by
        /// `:` (as kafka-topics.sh: `1:2,2:3`); replaces -p and -r.
        #[arg(long, value_name = "ASSIGNMENT", conflicts_with_all = ["partitions", "replication_factor"])]
        replica_assignment: Option<String>,
        /// A topic config `name=value` (repeatable).
        #[arg(long = "config", value_name = "NAME=VALUE")]
        configs: Vec<String>,
        /// Only validate at the broker.
        #[arg(long)]
        validate_only: bool,
    },
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
    AlterConfigs {
        /// `topic`, `broker` or `broker-logger`.
        kind: String,
        /// The topic name or broker id.
        name: String,
        /// Set `name=value` (repeatable).
        #[arg(long = "set", value_name = "NAME=VALUE")]
        set: Vec<String>,
        /// Remove a dynamic value (repeatable).
        #[arg(long = "delete", value_name = "NAME")]
        delete: Vec<String>,
        /// Append `name=value` to a list config (repeatable).
        #[arg(long = "append", value_name = "NAME=VALUE")]
        append: Vec<String>,
        /// Remove `name=value` from a list config (repeatable).
        #[arg(long = "subtract", value_name = "NAME=VALUE")]
        subtract: Vec<String>,
        /// Only validate at the broker.
        #[arg(long)]
        validate_only: bool,
    },
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
    CreateAcl(AclArgs),
    /// List the ACLs a filter selects (every option is optional).
    DescribeAcls(AclArgs),
    /// Delete the ACLs a filter selects (give at least one option).
    DeleteAcls(AclArgs),
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

/// The ACL options of kafka-acls.sh.
#[derive(Debug, clap::Args)]
struct AclArgs {
    /// The principal, `Type:name` (e.g. `User:alice`).
    #[arg(long)]
    principal: Option<String>,
    /// The operation (repeatable): read, write, create, delete, alter,
    /// describe, cluster-action, describe-configs, alter-configs,
    /// idempotent-write, all (filters also: any).
    #[arg(long = "operation")]
    operations: Vec<String>,
    /// topic, group, cluster, transactional-id, delegation-token, user
    /// (filters also: any).
    #[arg(long)]
    resource_type: Option<String>,
    /// The resource name (`*` for all; `kafka-cluster` for the cluster).
    #[arg(long)]
    resource_name: Option<String>,
    /// literal or prefixed (filters also: any, match); default literal
    /// when creating, any when filtering.
    #[arg(long)]
    pattern_type: Option<String>,
    /// allow or deny (filters also: any); default allow when creating.
    #[arg(long)]
    permission: Option<String>,
    /// The host; default `*` when creating.
    #[arg(long)]
    host: Option<String>,
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

fn resource(kind: &str, name: &str) -> Result<ConfigResource, Bad> {
    match kind {
        "topic" => Ok(ConfigResource::topic(name)),
        "broker" | "broker-logger" => {
            let default = kind == "broker" && name.is_empty();
            if default {
                return Ok(ConfigResource::broker_default());
            }
            let id: i32 = name.parse().map_err(|_| {
                Bad::Usage(format!(
                    "{kind} {name:?}: a broker is named by its numeric id"
                ))
            })?;
            Ok(if kind == "broker" {
                ConfigResource::broker(id)
            } else {
                ConfigResource::broker_logger(id)
            })
        }
        other => Err(Bad::Usage(format!(
            "resource type {other:?}: expected topic, broker or broker-logger"
        ))),
    }
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

/// The filter the ACL options describe (unset options match everything).
fn acl_filter(a: &AclArgs) -> Result<Vec<AclBindingFilter>, Bad> {
    let mut base = AclBindingFilter::any();
    if let Some(t) = &a.resource_type {
        base.resource_type = parse_enum("--resource-type", t, AclResourceType::parse)?;
    }
    base.name = a.resource_name.clone();
    if let Some(p) = &a.pattern_type {
        base.pattern = parse_enum("--pattern-type", p, PatternType::parse)?;
    }
    base.principal = a.principal.clone();
    base.host = a.host.clone();
    if let Some(p) = &a.permission {
        base.permission = parse_enum("--permission", p, AclPermission::parse)?;
    }
    if a.operations.is_empty() {
        return Ok(vec![base]);
    }
    a.operations
        .iter()
        .map(|o| {
            let mut f = base.clone();
            f.operation = parse_enum("--operation", o, AclOperation::parse)?;
            Ok(f)
        })
        .collect()
}

/// The bindings `create-acl` makes: one per --operation.
fn acl_bindings(a: &AclArgs) -> Result<Vec<AclBinding>, Bad> {
    let need = |v: &Option<String>, flag: &str| {
        v.clone()
            .ok_or_else(|| Bad::Usage(format!("create-acl needs {flag}")))
    };
    let principal = need(&a.principal, "--principal")?;
    let resource_type = parse_enum(
        "--resource-type",
        &need(&a.resource_type, "--resource-type")?,
        AclResourceType::parse,
    )?;
    let name = match (&a.resource_name, resource_type) {
        (Some(n), _) => n.clone(),
        (None, AclResourceType::Cluster) => "kafka-cluster".into(),
        (None, _) => return Err(Bad::Usage("create-acl needs --resource-name".into())),
    };
    let pattern = match &a.pattern_type {
        Some(p) => parse_enum("--pattern-type", p, PatternType::parse)?,
        None => PatternType::Literal,
    };
    let permission = match &a.permission {
        Some(p) => parse_enum("--permission", p, AclPermission::parse)?,
        None => AclPermission::Allow,
    };
    if a.operations.is_empty() {
        return Err(Bad::Usage("create-acl needs --operation".into()));
    }
    a.operations
        .iter()
        .map(|o| {
            Ok(AclBinding {
                resource_type,
                name: name.clone(),
                pattern,
                principal: principal.clone(),
                host: a.host.clone().unwrap_or_else(|| "*".into()),
                operation: parse_enum("--operation", o, AclOperation::parse)?,
                permission,
            })
        })
        .collect()
}

fn acl_json(b: &AclBinding) -> Value {
    json!({
        "resource_type": b.resource_type.name(), "resource_name": b.name,
        "pattern_type": b.pattern.name(), "principal": b.principal, "host": b.host,
        "operation": b.operation.name(), "permission": b.permission.name(),
    })
}

fn acl_rows(v: &[AclBinding]) -> Vec<Vec<String>> {
    v.iter()
        .map(|b| {
            vec![
                b.principal.clone(),
                b.permission.name().into(),
                b.operation.name().into(),
                b.resource_type.name().into(),
                b.pattern.name().into(),
                b.name.clone(),
                b.host.clone(),
            ]
        })
        .collect()
}

const ACL_HEADER: [&str; 7] = [
    "PRINCIPAL",
    "PERMISSION",
    "OPERATION",
    "RESOURCE-TYPE",
    "PATTERN",
    "NAME",
    "HOST",
];

fn execute(
    admin: &AdminClient,
    verb: Verb,
    opts: AdminOptions,
    timeout: Duration,
) -> Result<Outcome, Bad> {
    Ok(match verb {
        Verb::CreateTopic {
            name,
            partitions,
            replication_factor,
            replica_assignment,
            configs,
            validate_only,
        } => {
            let mut t = match replica_assignment {
                Some(a) => {
                    let parts: Result<Vec<Vec<i32>>, Bad> = a
                        .split(',')
                        .map(|p| {
                            p.split(':')
                                .map(|b| {
                                    b.trim().parse::<i32>().map_err(|_| {
                                        Bad::Usage(format!(
                                            "--replica-assignment {a:?}: broker ids separated by ':' per partition, partitions by ','"
                                        ))
                                    })
                                })
                                .collect()
                        })
                        .collect();
                    NewTopic::with_assignment(&name, parts?)
                }
                None => NewTopic::new(
                    &name,
                    partitions.unwrap_or(-1),
                    replication_factor.unwrap_or(-1),
                ),
            };
            for c in &configs {
                let (k, v) = kv(c, "--config")?;
                t = t.config(&k, &v);
            }
            let r = admin.create_topics_blocking(&[t], &opts.validate_only(validate_only))?;
            let verb = if validate_only {
                "validated"
            } else {
                "created"
            };
            per_resource(
                r,
                |id| match id {
                    Some(id) => format!("{verb} (topic id {id})"),
                    None => verb.to_string(),
                },
                |id| json!({ "topic_id": id.map(|i| i.to_string()), "validate_only": validate_only }),
            )
        }
        Verb::DeleteTopic { names } => {
            let n: Vec<&str> = names.iter().map(String::as_str).collect();
            let r = admin.delete_topics_blocking(&n, &opts)?;
            per_resource(r, |_| "deleted".into(), |_| json!({}))
        }
        Verb::CreatePartitions {
            name,
            partitions,
            validate_only,
        } => {
            let r = admin.create_partitions_blocking(
                &[NewPartitions::new(&name, partitions)],
                &opts.validate_only(validate_only),
            )?;
            per_resource(
                r,
                |_| format!("now {partitions} partitions"),
                |_| json!({ "partitions": partitions }),
            )
        }
        Verb::ListTopics => {
            let md = admin.metadata_blocking(None, timeout)?;
            let mut topics: Vec<_> = md.topics.iter().collect();
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            let rows: Vec<Vec<String>> = topics
                .iter()
                .map(|t| {
                    vec![
                        t.name.clone(),
                        t.partitions.len().to_string(),
                        t.partitions
                            .first()
                            .map_or(0, |p| p.replicas.len())
                            .to_string(),
                    ]
                })
                .collect();
            ok(
                Value::Array(
                    topics
                        .iter()
                        .map(|t| {
                            json!({
                                "name": t.name, "partitions": t.partitions.len(),
                                "replication_factor": t.partitions.first().map_or(0, |p| p.replicas.len()),
                                "internal": t.is_internal,
                            })
                        })
                        .collect(),
                ),
                table(&["TOPIC", "PARTITIONS", "REPLICATION"], &rows),
            )
        }
        Verb::DescribeTopic { names } => {
            let n: Vec<&str> = names.iter().map(String::as_str).collect();
            let r = admin.describe_topics_blocking(&n, &opts)?;
            let mut text = String::new();
            let mut js = Vec::new();
            let mut failures = Vec::new();
            for (name, res) in r {
                match res {
                    Ok(d) => {
                        text.push_str(&format!(
                            "Topic: {}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: {}\n",
                            d.name,
                            d.topic_id.map_or("-".into(), |i| i.to_string()),
                            d.partitions.len(),
                            d.partitions.first().map_or(0, |p| p.replicas.len()),
                        ));
                        for p in &d.partitions {
                            text.push_str(&format!(
                                "\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}{}\n",
                                p.partition,
                                p.leader.map_or("none".into(), |l| l.to_string()),
                                ids(&p.replicas),
                                ids(&p.isr),
                                p.error
                                    .map_or(String::new(), |e| format!("\tError: {}", e.name())),
                            ));
                        }
                        js.push(json!({
                            "name": d.name,
                            "error": null,
                            "topic_id": d.topic_id.map(|i| i.to_string()),
                            "internal": d.is_internal,
                            "authorized_operations": d.authorized_operations.map(|o| o.iter().map(|x| x.name()).collect::<Vec<_>>()),
                            "partitions": d.partitions.iter().map(|p| json!({
                                "partition": p.partition, "leader": p.leader,
                                "replicas": p.replicas, "isr": p.isr,
                                "error": p.error.map(|e| e.name()),
                            })).collect::<Vec<_>>(),
                        }));
                    }
                    Err(e) => {
                        text.push_str(&format!("Topic: {name}\tError: {}\n", e.code().name()));
                        js.push(
                            json!({"name": name, "error": e.code().name(), "message": e.message()}),
                        );
                        failures.push(e.to_string());
                    }
                }
            }
            Outcome {
                json: Value::Array(js),
                text,
                failures,
            }
        }
        Verb::DescribeConfigs { kind, name } => {
            let res = resource(&kind, &name)?;
            let mut r = admin.describe_configs_blocking(&[res], &opts)?;
            let (res, entries) = r.remove(0);
            match entries {
                Ok(entries) => {
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| {
                            vec![
                                e.name.clone(),
                                if e.sensitive {
                                    "(sensitive)".into()
                                } else {
                                    e.value.clone().unwrap_or_else(|| "(null)".into())
                                },
                                e.source.name().into(),
                                if e.read_only {
                                    "yes".into()
                                } else {
                                    "no".into()
                                },
                            ]
                        })
                        .collect();
                    ok(
                        json!({
                            "resource": { "type": res.kind.to_string(), "name": res.name },
                            "configs": entries.iter().map(|e| json!({
                                "name": e.name, "value": e.value, "source": e.source.name(),
                                "read_only": e.read_only, "sensitive": e.sensitive,
                                "type": e.config_type, "documentation": e.documentation,
                                "synonyms": e.synonyms.iter().map(|s| json!({
                                    "name": s.name, "value": s.value, "source": s.source.name(),
                                })).collect::<Vec<_>>(),
                            })).collect::<Vec<_>>(),
                        }),
                        format!(
                            "Configs of {res}:\n{}",
                            table(&["NAME", "VALUE", "SOURCE", "READ-ONLY"], &rows)
                        ),
                    )
                }
                Err(e) => Outcome {
                    json: json!({
                        "resource": { "type": res.kind.to_string(), "name": res.name },
                        "error": e.code().name(), "message": e.message(),
                    }),
                    text: String::new(),
                    failures: vec![e.to_string()],
                },
            }
        }
        Verb::AlterConfigs {
            kind,
            name,
            set,
            delete,
            append,
            subtract,
            validate_only,
        } => {
            let res = resource(&kind, &name)?;
            let mut ops = Vec::new();
            for s in &set {
                let (k, v) = kv(s, "--set")?;
                ops.push(AlterConfigOp::Set(k, v));
            }
            for d in &delete {
                ops.push(AlterConfigOp::delete(d));
            }
            for s in &append {
                let (k, v) = kv(s, "--append")?;
                ops.push(AlterConfigOp::Append(k, v));
            }
            for s in &subtract {
                let (k, v) = kv(s, "--subtract")?;
                ops.push(AlterConfigOp::Subtract(k, v));
            }
            if ops.is_empty() {
                return Err(Bad::Usage(
                    "alter-configs: give at least one --set, --delete, --append or --subtract"
                        .into(),
                ));
            }
            let r = admin.incremental_alter_configs_blocking(
                &[(res, ops)],
                &opts.validate_only(validate_only),
            )?;
            let r = r.into_iter().map(|(res, x)| (res.to_string(), x)).collect();
            per_resource(
                r,
                |_| {
                    if validate_only {
                        "validated".into()
                    } else {
                        "altered".into()
                    }
                },
                |_| json!({ "validate_only": validate_only }),
            )
        }
        Verb::DeleteRecords { offsets } => {
            let parsed: Vec<(String, i32, i64)> =
                offsets.iter().map(|s| tpo(s)).collect::<Result<_, _>>()?;
            let o: Vec<(&str, i32, i64)> = parsed
                .iter()
                .map(|(t, p, o)| (t.as_str(), *p, *o))
                .collect();
            let r = admin.delete_records_blocking(&o, &opts)?;
            let r = r
                .into_iter()
                .map(|((t, p), x)| (format!("{t}:{p}"), x))
                .collect();
            per_resource(
                r,
                |low| format!("low watermark now {low}"),
                |low| json!({ "low_watermark": low }),
            )
        }
        Verb::ListOffsets {
            topic,
            time,
            isolation,
        } => {
            let spec = match time.as_str() {
                "earliest" => OffsetSpec::Earliest,
                "latest" => OffsetSpec::Latest,
                "max" | "max-timestamp" => OffsetSpec::MaxTimestamp,
                ms => OffsetSpec::Timestamp(ms.parse().map_err(|_| {
                    Bad::Usage(format!(
                        "--time {ms:?}: expected earliest, latest, max or milliseconds"
                    ))
                })?),
            };
            let isolation = match isolation.as_str() {
                "read_uncommitted" => IsolationLevel::ReadUncommitted,
                "read_committed" => IsolationLevel::ReadCommitted,
                other => {
                    return Err(Bad::Usage(format!(
                        "--isolation {other:?}: expected read_uncommitted or read_committed"
                    )))
                }
            };
            let mut d = admin.describe_topics_blocking(&[topic.as_str()], &opts)?;
            let desc = match d.remove(0).1 {
                Ok(desc) => desc,
                Err(e) => {
                    return Ok(Outcome {
                        json: json!([{ "name": topic, "error": e.code().name(), "message": e.message() }]),
                        text: String::new(),
                        failures: vec![format!("list offsets of {topic}: {e}")],
                    })
                }
            };
            let q: Vec<(&str, i32, OffsetSpec)> = desc
                .partitions
                .iter()
                .map(|p| (topic.as_str(), p.partition, spec))
                .collect();
            let r = admin.list_offsets_blocking(&q, isolation, &opts)?;
            let r = r
                .into_iter()
                .map(|((t, p), x)| (format!("{t}:{p}"), x))
                .collect();
            per_resource(
                r,
                |o| {
                    if o.timestamp >= 0 {
                        format!("offset {} (timestamp {})", o.offset, o.timestamp)
                    } else {
                        format!("offset {}", o.offset)
                    }
                },
                |o| json!({ "offset": o.offset, "timestamp": o.timestamp, "leader_epoch": o.leader_epoch }),
            )
        }
        Verb::ListGroups { states, types } => {
            let s: Vec<&str> = states.iter().map(String::as_str).collect();
            let t: Vec<&str> = types.iter().map(String::as_str).collect();
            let g = admin.list_groups_blocking(&s, &t, &opts)?;
            let rows: Vec<Vec<String>> = g
                .iter()
                .map(|g| {
                    vec![
                        g.group_id.clone(),
                        g.state.clone().unwrap_or_default(),
                        g.group_type.clone().unwrap_or_default(),
                        g.protocol_type.clone(),
                    ]
                })
                .collect();
            ok(
                Value::Array(
                    g.iter()
                        .map(|g| {
                            json!({
                                "group": g.group_id, "state": g.state, "type": g.group_type,
                                "protocol_type": g.protocol_type,
                            })
                        })
                        .collect(),
                ),
                table(&["GROUP", "STATE", "TYPE", "PROTOCOL-TYPE"], &rows),
            )
        }
        Verb::DescribeGroup { group } => {
            let mut d = admin.describe_groups_blocking(&[group.as_str()], timeout)?;
            let Some(d) = d.pop() else {
                return Err(Bad::Call(Error::new(
                    ferrokafka::ErrorCode::BadMsg,
                    format!(
                        "describe group {group}: the coordinator's response did not mention it"
                    ),
                )));
            };
            let mut failures = Vec::new();
            if let Some(e) = d.error {
                failures.push(format!(
                    "describe group {group}: {} ({})",
                    e.name(),
                    e.description()
                ));
            }
            // Kafka describes an unknown group as state Dead with no members.
            if d.error.is_none() && d.state == "Dead" {
                failures.push(format!(
                    "describe group {group}: GROUP_ID_NOT_FOUND (the group does not exist)"
                ));
            }
            let rows: Vec<Vec<String>> = d
                .members
                .iter()
                .map(|m| {
                    vec![
                        m.member_id.clone(),
                        m.instance_id.clone().unwrap_or_else(|| "-".into()),
                        m.client_id.clone(),
                        m.client_host.clone(),
                        m.assignment
                            .iter()
                            .map(|(t, p)| format!("{t}:{p}"))
                            .collect::<Vec<_>>()
                            .join(","),
                    ]
                })
                .collect();
            Outcome {
                json: json!({
                    "group": d.group_id, "error": d.error.map(|e| e.name()), "state": d.state,
                    "protocol_type": d.protocol_type, "protocol": d.protocol,
                    "members": d.members.iter().map(|m| json!({
                        "member_id": m.member_id, "instance_id": m.instance_id,
                        "client_id": m.client_id, "client_host": m.client_host,
                        "assignment": m.assignment.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                }),
                text: format!(
                    "Group {} state {} protocol {} ({} members)\n{}",
                    d.group_id,
                    d.state,
                    if d.protocol.is_empty() {
                        "-"
                    } else {
                        &d.protocol
                    },
                    d.members.len(),
                    table(
                        &["MEMBER", "INSTANCE", "CLIENT-ID", "HOST", "ASSIGNMENT"],
                        &rows
                    )
                ),
                failures,
            }
        }
        Verb::DeleteGroup { groups } => {
            let g: Vec<&str> = groups.iter().map(String::as_str).collect();
            let r = admin.delete_groups_blocking(&g, &opts)?;
            per_resource(r, |_| "deleted".into(), |_| json!({}))
        }
        Verb::GroupOffsets { group } => {
            let o = admin.list_group_offsets_blocking(&group, timeout)?;
            let rows: Vec<Vec<String>> = o
                .iter()
                .map(|(t, p, off)| vec![t.clone(), p.to_string(), off.to_string()])
                .collect();
            ok(
                json!({
                    "group": group,
                    "offsets": o.iter().map(|(t, p, off)| json!({"topic": t, "partition": p, "offset": off})).collect::<Vec<_>>(),
                }),
                format!(
                    "Committed offsets of group {group}:\n{}",
                    table(&["TOPIC", "PARTITION", "OFFSET"], &rows)
                ),
            )
        }
        Verb::AlterGroupOffsets { group, offsets } => {
            let parsed: Vec<(String, i32, i64)> =
                offsets.iter().map(|s| tpo(s)).collect::<Result<_, _>>()?;
            let o: Vec<(&str, i32, i64)> = parsed
                .iter()
                .map(|(t, p, o)| (t.as_str(), *p, *o))
                .collect();
            let r = admin.alter_group_offsets_blocking(&group, &o, &opts)?;
            let r = r
                .into_iter()
                .map(|((t, p), x)| (format!("{t}:{p}"), x))
                .collect();
            per_resource(r, |_| "committed".into(), |_| json!({}))
        }
        Verb::DeleteGroupOffsets { group, partitions } => {
            let mut parts: Vec<(String, i32)> = Vec::new();
            for s in &partitions {
                match s
                    .rsplit_once(':')
                    .and_then(|(t, p)| Some((t, p.parse::<i32>().ok()?)))
                {
                    Some((t, p)) if !t.is_empty() => parts.push((t.to_string(), p)),
                    _ => {
                        // A whole topic: every partition it has.
                        let mut d = admin.describe_topics_blocking(&[s.as_str()], &opts)?;
                        match d.remove(0).1 {
                            Ok(desc) => parts
                                .extend(desc.partitions.iter().map(|p| (s.clone(), p.partition))),
                            Err(e) => {
                                return Ok(Outcome {
                                    json: json!([{ "name": s, "error": e.code().name(), "message": e.message() }]),
                                    text: String::new(),
                                    failures: vec![format!(
                                        "delete offsets of group {group} for {s}: {e}"
                                    )],
                                })
                            }
                        }
                    }
                }
            }
            let p: Vec<(&str, i32)> = parts.iter().map(|(t, p)| (t.as_str(), *p)).collect();
            let r = admin.delete_group_offsets_blocking(&group, &p, &opts)?;
            let r = r
                .into_iter()
                .map(|((t, p), x)| (format!("{t}:{p}"), x))
                .collect();
            per_resource(r, |_| "deleted".into(), |_| json!({}))
        }
        Verb::DescribeLogDirs => {
            let dirs = admin.describe_log_dirs_blocking(&opts)?;
            let mut rows = Vec::new();
            for d in &dirs {
                for (t, p, size, lag) in &d.replicas {
                    rows.push(vec![
                        d.broker.to_string(),
                        d.path.clone(),
                        format!("{t}:{p}"),
                        size.to_string(),
                        lag.to_string(),
                    ]);
                }
            }
            let failures = dirs
                .iter()
                .filter_map(|d| {
                    d.error
                        .map(|e| format!("log dir {} of broker {}: {}", d.path, d.broker, e.name()))
                })
                .collect();
            Outcome {
                json: Value::Array(
                    dirs.iter()
                        .map(|d| json!({
                            "broker": d.broker, "path": d.path, "error": d.error.map(|e| e.name()),
                            "total_bytes": d.total_bytes, "usable_bytes": d.usable_bytes,
                            "replicas": d.replicas.iter().map(|(t, p, s, l)| json!({
                                "topic": t, "partition": p, "size": s, "offset_lag": l,
                            })).collect::<Vec<_>>(),
                        }))
                        .collect(),
                ),
                text: table(&["BROKER", "LOG-DIR", "REPLICA", "SIZE", "LAG"], &rows),
                failures,
            }
        }
        Verb::CreateAcl(a) => {
            let bindings = acl_bindings(&a)?;
            let r = admin.create_acls_blocking(&bindings, &opts)?;
            let r = r.into_iter().map(|(b, x)| (b.to_string(), x)).collect();
            per_resource(r, |_| "created".into(), |_| json!({}))
        }
        Verb::DescribeAcls(a) => {
            let mut found = Vec::new();
            for f in acl_filter(&a)? {
                found.extend(admin.describe_acls_blocking(&f, &opts)?);
            }
            found.sort();
            found.dedup();
            ok(
                Value::Array(found.iter().map(acl_json).collect()),
                table(&ACL_HEADER, &acl_rows(&found)),
            )
        }
        Verb::DeleteAcls(a) => {
            let filters = acl_filter(&a)?;
            if filters.len() == 1 && filters[0] == AclBindingFilter::any() {
                return Err(Bad::Usage(
                    "delete-acls: give at least one filter option (refusing to delete every ACL)"
                        .into(),
                ));
            }
            let r = admin.delete_acls_blocking(&filters, &opts)?;
            let mut deleted = Vec::new();
            let mut failures = Vec::new();
            for (_, res) in r {
                match res {
                    Ok(v) => deleted.extend(v),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            Outcome {
                json: Value::Array(deleted.iter().map(acl_json).collect()),
                text: format!(
                    "Deleted {} ACLs\n{}",
                    deleted.len(),
                    table(&ACL_HEADER, &acl_rows(&deleted))
                ),
                failures,
            }
        }
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
        Verb::DescribeCluster => {
            let d = admin.describe_cluster_blocking(&opts)?;
            let rows: Vec<Vec<String>> = d
                .brokers
                .iter()
                .map(|b| {
                    vec![
                        b.id.to_string(),
                        format!("{}:{}", b.host, b.port),
                        b.rack.clone().unwrap_or_else(|| "-".into()),
                        if d.controller == Some(b.id) {
                            "yes".into()
                        } else {
                            "".into()
                        },
                    ]
                })
                .collect();
            ok(
                json!({
                    "cluster_id": d.cluster_id, "controller": d.controller,
                    "brokers": d.brokers.iter().map(|b| json!({
                        "id": b.id, "host": b.host, "port": b.port, "rack": b.rack,
                    })).collect::<Vec<_>>(),
                    "authorized_operations": d.authorized_operations.map(|o| o.iter().map(|x| x.name()).collect::<Vec<_>>()),
                }),
                format!(
                    "Cluster {} (controller {})\n{}",
                    d.cluster_id,
                    d.controller.map_or("none".into(), |c| c.to_string()),
                    table(&["BROKER", "ADDRESS", "RACK", "CONTROLLER"], &rows)
                ),
            )
        }
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
