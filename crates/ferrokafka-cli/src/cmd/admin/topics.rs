//! The topic verbs of `ferrokafka admin`: `create-topic`, `delete-topic`,
//! `create-partitions`, `list-topics`, `describe-topic` (as
//! `kafka-topics.sh`), `delete-records` (`kafka-delete-records.sh`) and
//! `list-offsets` (`kafka-get-offsets.sh`).

use super::{ids, kv, ok, per_resource, table, tpo, Bad, Outcome};
use ferrokafka::admin::{
    AdminClient, AdminOptions, IsolationLevel, NewPartitions, NewTopic, OffsetSpec,
};
use serde_json::{json, Value};
use std::time::Duration;

/// Arguments of `create-topic`.
#[derive(Debug, clap::Args)]
pub(super) struct CreateTopic {
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
}

pub(super) fn create(
    admin: &AdminClient,
    a: CreateTopic,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let CreateTopic {
        name,
        partitions,
        replication_factor,
        replica_assignment,
        configs,
        validate_only,
    } = a;
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
    let r = admin.create_topics_blocking(&[t], &opts.clone().validate_only(validate_only))?;
    let verb = if validate_only {
        "validated"
    } else {
        "created"
    };
    Ok(per_resource(
        r,
        |id| match id {
            Some(id) => format!("{verb} (topic id {id})"),
            None => verb.to_string(),
        },
        |id| json!({ "topic_id": id.map(|i| i.to_string()), "validate_only": validate_only }),
    ))
}

pub(super) fn delete(
    admin: &AdminClient,
    names: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let n: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = admin.delete_topics_blocking(&n, opts)?;
    Ok(per_resource(r, |_| "deleted".into(), |_| json!({})))
}

pub(super) fn create_partitions(
    admin: &AdminClient,
    name: String,
    partitions: i32,
    validate_only: bool,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let r = admin.create_partitions_blocking(
        &[NewPartitions::new(&name, partitions)],
        &opts.clone().validate_only(validate_only),
    )?;
    Ok(per_resource(
        r,
        |_| format!("now {partitions} partitions"),
        |_| json!({ "partitions": partitions }),
    ))
}

pub(super) fn list(admin: &AdminClient, timeout: Duration) -> Result<Outcome, Bad> {
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
    Ok(ok(
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
    ))
}

pub(super) fn describe(
    admin: &AdminClient,
    names: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let n: Vec<&str> = names.iter().map(String::as_str).collect();
    let r = admin.describe_topics_blocking(&n, opts)?;
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
                js.push(json!({"name": name, "error": e.code().name(), "message": e.message()}));
                failures.push(e.to_string());
            }
        }
    }
    Ok(Outcome {
        json: Value::Array(js),
        text,
        failures,
    })
}

pub(super) fn delete_records(
    admin: &AdminClient,
    offsets: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let parsed: Vec<(String, i32, i64)> =
        offsets.iter().map(|s| tpo(s)).collect::<Result<_, _>>()?;
    let o: Vec<(&str, i32, i64)> = parsed
        .iter()
        .map(|(t, p, o)| (t.as_str(), *p, *o))
        .collect();
    let r = admin.delete_records_blocking(&o, opts)?;
    let r = r.into_iter().map(|(tp, x)| (tp.to_string(), x)).collect();
    Ok(per_resource(
        r,
        |low| format!("low watermark now {low}"),
        |low| json!({ "low_watermark": low }),
    ))
}

pub(super) fn list_offsets(
    admin: &AdminClient,
    topic: String,
    time: String,
    isolation: String,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
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
    let mut d = admin.describe_topics_blocking(&[topic.as_str()], opts)?;
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
    let r = admin.list_offsets_blocking(&q, isolation, opts)?;
    let r = r.into_iter().map(|(tp, x)| (tp.to_string(), x)).collect();
    Ok(per_resource(
        r,
        |o| {
            if o.timestamp >= 0 {
                format!("offset {} (timestamp {})", o.offset, o.timestamp)
            } else {
                format!("offset {}", o.offset)
            }
        },
        |o| json!({ "offset": o.offset, "timestamp": o.timestamp, "leader_epoch": o.leader_epoch }),
    ))
}
