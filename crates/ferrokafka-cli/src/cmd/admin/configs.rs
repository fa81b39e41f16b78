//! The config verbs of `ferrokafka admin`: `describe-configs` and
//! `alter-configs` (incremental), as `kafka-configs.sh` for topics,
//! brokers (by id, or the cluster-wide default) and broker loggers.

use super::{kv, ok, per_resource, table, Bad, Outcome};
use ferrokafka::admin::{AdminClient, AdminOptions, AlterConfigOp, ConfigResource};
use serde_json::json;

/// Arguments of `alter-configs`.
#[derive(Debug, clap::Args)]
pub(super) struct AlterConfigs {
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

pub(super) fn describe(
    admin: &AdminClient,
    kind: String,
    name: String,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let res = resource(&kind, &name)?;
    let mut r = admin.describe_configs_blocking(&[res], opts)?;
    let (res, entries) = r.remove(0);
    Ok(match entries {
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
    })
}

pub(super) fn alter(
    admin: &AdminClient,
    a: AlterConfigs,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let AlterConfigs {
        kind,
        name,
        set,
        delete,
        append,
        subtract,
        validate_only,
    } = a;
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
            "alter-configs: give at least one --set, --delete, --append or --subtract".into(),
        ));
    }
    let r = admin.incremental_alter_configs_blocking(
        &[(res, ops)],
        &opts.clone().validate_only(validate_only),
    )?;
    let r = r.into_iter().map(|(res, x)| (res.to_string(), x)).collect();
    Ok(per_resource(
        r,
        |_| {
            if validate_only {
                "validated".into()
            } else {
                "altered".into()
            }
        },
        |_| json!({ "validate_only": validate_only }),
    ))
}
