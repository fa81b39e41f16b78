//! The cluster verbs of `ferrokafka admin`: `describe-cluster` (id,
//! controller, brokers) and `describe-log-dirs` (every broker's log
//! directories and the replicas in them, as `kafka-log-dirs.sh`).

use super::{ok, table, Bad, Outcome};
use ferrokafka::admin::{AdminClient, AdminOptions};
use serde_json::{json, Value};

pub(super) fn describe(admin: &AdminClient, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let d = admin.describe_cluster_blocking(opts)?;
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
    Ok(ok(
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
    ))
}

pub(super) fn log_dirs(admin: &AdminClient, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let dirs = admin.describe_log_dirs_blocking(opts)?;
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
    Ok(Outcome {
        json: Value::Array(
            dirs.iter()
                .map(|d| {
                    json!({
                        "broker": d.broker, "path": d.path, "error": d.error.map(|e| e.name()),
                        "total_bytes": d.total_bytes, "usable_bytes": d.usable_bytes,
                        "replicas": d.replicas.iter().map(|(t, p, s, l)| json!({
                            "topic": t, "partition": p, "size": s, "offset_lag": l,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        ),
        text: table(&["BROKER", "LOG-DIR", "REPLICA", "SIZE", "LAG"], &rows),
        failures,
    })
}
