//! The transaction verbs of `ferrokafka admin`, in the spirit of
//! `kafka-transactions.sh`: `list-transactions`, `describe-transactions`,
//! `describe-producers`, `fence-producers` and `abort-transaction`.

use super::replicas::topic_partition;
use super::{per_resource, table, Bad, Outcome};
use ferrokafka::admin::{AbortTransactionSpec, AdminClient, AdminOptions};
use ferrokafka::TopicPartition;
use serde_json::{json, Value};
use std::time::Duration;

/// Arguments of `list-transactions`.
#[derive(Debug, clap::Args)]
pub(super) struct List {
    /// Only transactions in this state (repeatable), e.g. Ongoing.
    #[arg(long = "state")]
    states: Vec<String>,
    /// Only transactions of this producer id (repeatable).
    #[arg(long = "producer-id")]
    producer_ids: Vec<i64>,
    /// Only transactions open for at least this many milliseconds.
    #[arg(long, value_name = "MS")]
    duration_ms: Option<u64>,
}

/// Arguments of `abort-transaction`.
#[derive(Debug, clap::Args)]
pub(super) struct Abort {
    /// The partition holding the hanging transaction.
    #[arg(value_name = "TOPIC:PARTITION")]
    partition: String,
    /// The transaction's producer id (see describe-producers).
    #[arg(long)]
    producer_id: i64,
    /// The transaction's producer epoch.
    #[arg(long)]
    producer_epoch: i16,
    /// The coordinator epoch to write on the marker.
    #[arg(long, default_value_t = 0)]
    coordinator_epoch: i32,
}

pub(super) fn list(admin: &AdminClient, a: List, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let states: Vec<&str> = a.states.iter().map(String::as_str).collect();
    let r = admin.list_transactions_blocking(
        &states,
        &a.producer_ids,
        a.duration_ms.map(Duration::from_millis),
        opts,
    )?;
    let rows: Vec<Vec<String>> = r
        .iter()
        .map(|t| {
            vec![
                t.transactional_id.clone(),
                t.producer_id.to_string(),
                t.state.clone(),
            ]
        })
        .collect();
    Ok(super::ok(
        Value::Array(
            r.iter()
                .map(|t| {
                    json!({
                        "transactional_id": t.transactional_id, "producer_id": t.producer_id,
                        "state": t.state,
                    })
                })
                .collect(),
        ),
        table(&["TRANSACTIONAL-ID", "PRODUCER-ID", "STATE"], &rows),
    ))
}

pub(super) fn describe(
    admin: &AdminClient,
    ids: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let i: Vec<&str> = ids.iter().map(String::as_str).collect();
    let r = admin.describe_transactions_blocking(&i, opts)?;
    Ok(per_resource(
        r,
        |d| {
            format!(
                "{} producer {}/{} coordinator {} timeout {} ms partitions {}",
                d.state,
                d.producer_id,
                d.producer_epoch,
                d.coordinator,
                d.timeout_ms,
                d.partitions
                    .iter()
                    .map(|tp| tp.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            )
        },
        |d| {
            json!({
                "state": d.state, "producer_id": d.producer_id, "producer_epoch": d.producer_epoch,
                "coordinator": d.coordinator, "timeout_ms": d.timeout_ms,
                "start_time_ms": d.start_time_ms,
                "partitions": d.partitions.iter().map(|tp| json!({"topic": tp.topic(), "partition": tp.partition()})).collect::<Vec<_>>(),
            })
        },
    ))
}

pub(super) fn describe_producers(
    admin: &AdminClient,
    partitions: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let parts: Vec<TopicPartition> = partitions
        .iter()
        .map(|s| topic_partition(s))
        .collect::<Result<_, _>>()?;
    let r = admin.describe_producers_blocking(&parts, opts)?;
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    let mut failures = Vec::new();
    for (tp, res) in r {
        let name = tp.to_string();
        match res {
            Ok(ps) => {
                for s in &ps {
                    rows.push(vec![
                        name.clone(),
                        s.producer_id.to_string(),
                        s.producer_epoch.to_string(),
                        s.last_sequence.to_string(),
                        s.last_timestamp.to_string(),
                        s.current_txn_start_offset
                            .map_or("-".into(), |o| o.to_string()),
                    ]);
                }
                json_rows.push(json!({
                    "name": name, "error": null,
                    "producers": ps.iter().map(|s| json!({
                        "producer_id": s.producer_id, "producer_epoch": s.producer_epoch,
                        "last_sequence": s.last_sequence, "last_timestamp": s.last_timestamp,
                        "coordinator_epoch": s.coordinator_epoch,
                        "current_txn_start_offset": s.current_txn_start_offset,
                    })).collect::<Vec<_>>(),
                }));
            }
            Err(e) => {
                rows.push(vec![
                    name.clone(),
                    e.code().name().into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                ]);
                json_rows.push(
                    json!({ "name": name, "error": e.code().name(), "message": e.message() }),
                );
                failures.push(e.to_string());
            }
        }
    }
    Ok(Outcome {
        json: Value::Array(json_rows),
        text: table(
            &[
                "PARTITION",
                "PRODUCER-ID",
                "EPOCH",
                "LAST-SEQUENCE",
                "LAST-TIMESTAMP",
                "TXN-START-OFFSET",
            ],
            &rows,
        ),
        failures,
    })
}

pub(super) fn fence(
    admin: &AdminClient,
    ids: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let i: Vec<&str> = ids.iter().map(String::as_str).collect();
    let r = admin.fence_producers_blocking(&i, opts)?;
    Ok(per_resource(
        r,
        |(pid, epoch)| format!("fenced: producer {pid} now at epoch {epoch}"),
        |(pid, epoch)| json!({ "producer_id": pid, "producer_epoch": epoch }),
    ))
}

pub(super) fn abort(admin: &AdminClient, a: Abort, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let tp = topic_partition(&a.partition)?;
    let (topic, partition) = (tp.topic().to_string(), tp.partition());
    let spec = AbortTransactionSpec {
        topic,
        partition,
        producer_id: a.producer_id,
        producer_epoch: a.producer_epoch,
        coordinator_epoch: a.coordinator_epoch,
    };
    let r = admin.abort_transaction_blocking(&spec, opts);
    Ok(per_resource(
        vec![(a.partition.clone(), r)],
        |_| "transaction aborted".into(),
        |_| json!({}),
    ))
}
