//! The replica, feature and quota verbs of `ferrokafka admin`:
//! `elect-leaders`, `reassign-partitions`, `list-reassignments` (as
//! `kafka-leader-election.sh` and `kafka-reassign-partitions.sh`),
//! `describe-features`, `update-features` (`kafka-features.sh`),
//! `describe-quotas` and `alter-quotas` (`kafka-configs.sh
//! --entity-type users|clients|ips`).

use super::{ids, kv, per_resource, table, Bad, Outcome};
use ferrokafka::admin::{
    AdminClient, AdminOptions, ElectionType, FeatureUpdate, FeatureUpgradeType, QuotaAlteration,
    QuotaEntity, QuotaFilterComponent, QuotaMatch,
};
use ferrokafka::{ErrorCode, TopicPartition};
use serde_json::{json, Value};

/// `TOPIC:PARTITION`, split from the right (topics may hold `:`).
pub(super) fn topic_partition(s: &str) -> Result<TopicPartition, Bad> {
    s.rsplit_once(':')
        .and_then(|(t, p)| Some((t, p.parse::<i32>().ok()?)))
        .filter(|(t, _)| !t.is_empty())
        .map(TopicPartition::from)
        .ok_or_else(|| Bad::Usage(format!("{s:?}: expected TOPIC:PARTITION")))
}

/// Arguments of `reassign-partitions`.
#[derive(Debug, clap::Args)]
pub(super) struct Reassign {
    /// `TOPIC:PARTITION=B1,B2,...` (the first broker the preferred
    /// leader), or `TOPIC:PARTITION` with --cancel (repeatable).
    #[arg(required = true, value_name = "TOPIC:PARTITION=BROKERS")]
    moves: Vec<String>,
    /// Cancel the partitions' ongoing reassignments.
    #[arg(long)]
    cancel: bool,
}

/// Arguments of `update-features`.
#[derive(Debug, clap::Args)]
pub(super) struct UpdateFeatures {
    /// `NAME=LEVEL` (repeatable); level 0 removes the finalized level.
    #[arg(long = "feature", required = true, value_name = "NAME=LEVEL")]
    features: Vec<String>,
    /// upgrade, safe-downgrade or unsafe-downgrade.
    #[arg(long, default_value = "upgrade")]
    upgrade_type: String,
    /// Only validate at the controller.
    #[arg(long)]
    validate_only: bool,
}

/// Arguments of `describe-quotas`.
#[derive(Debug, clap::Args)]
pub(super) struct DescribeQuotas {
    /// `TYPE=NAME`, `TYPE=<default>` or `TYPE` (any name) for user,
    /// client-id or ip (repeatable; none: every entity).
    #[arg(long = "entity", value_name = "TYPE[=NAME]")]
    entities: Vec<String>,
    /// Only entities with no other components.
    #[arg(long)]
    strict: bool,
}

/// Arguments of `alter-quotas`.
#[derive(Debug, clap::Args)]
pub(super) struct AlterQuotas {
    /// The entity: `user=alice[,client-id=app]`, `<default>` for a
    /// default name.
    entity: String,
    /// Set `KEY=VALUE`, e.g. producer_byte_rate=1048576 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Remove a quota key (repeatable).
    #[arg(long = "delete", value_name = "KEY")]
    delete: Vec<String>,
    /// Only validate at the controller.
    #[arg(long)]
    validate_only: bool,
}

pub(super) fn elect(
    admin: &AdminClient,
    unclean: bool,
    partitions: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let parts: Vec<TopicPartition> = partitions
        .iter()
        .map(|s| topic_partition(s))
        .collect::<Result<_, _>>()?;
    let election = if unclean {
        ElectionType::Unclean
    } else {
        ElectionType::Preferred
    };
    let r =
        admin.elect_leaders_blocking(election, (!parts.is_empty()).then_some(&parts[..]), opts)?;
    // A partition already led by the replica asked for is not a failure,
    // as kafka-leader-election.sh reports it.
    let r = r
        .into_iter()
        .map(|(tp, x)| {
            let x = match x {
                Err(e) if e.code() == ErrorCode::ElectionNotNeeded => Ok(false),
                Err(e) => Err(e),
                Ok(()) => Ok(true),
            };
            (tp.to_string(), x)
        })
        .collect();
    Ok(per_resource(
        r,
        |moved| {
            if *moved {
                "leader elected".into()
            } else {
                "election not needed".into()
            }
        },
        |moved| json!({ "elected": moved }),
    ))
}

pub(super) fn reassign(
    admin: &AdminClient,
    a: Reassign,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let mut moves = Vec::new();
    for m in &a.moves {
        if a.cancel {
            moves.push((topic_partition(m)?, None));
            continue;
        }
        let (tp, brokers) = m
            .split_once('=')
            .ok_or_else(|| Bad::Usage(format!("{m:?}: expected TOPIC:PARTITION=B1,B2,...")))?;
        let brokers: Vec<i32> = brokers
            .split(',')
            .map(|b| {
                b.trim()
                    .parse()
                    .map_err(|_| Bad::Usage(format!("{m:?}: broker ids are numbers")))
            })
            .collect::<Result<_, _>>()?;
        moves.push((topic_partition(tp)?, Some(brokers)));
    }
    let r = admin.alter_partition_reassignments_blocking(&moves, opts)?;
    let cancel = a.cancel;
    let r = r.into_iter().map(|(tp, x)| (tp.to_string(), x)).collect();
    Ok(per_resource(
        r,
        move |_| {
            if cancel {
                "reassignment cancelled".into()
            } else {
                "reassignment started".into()
            }
        },
        |_| json!({}),
    ))
}

pub(super) fn list_reassignments(
    admin: &AdminClient,
    partitions: Vec<String>,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let parts: Vec<TopicPartition> = partitions
        .iter()
        .map(|s| topic_partition(s))
        .collect::<Result<_, _>>()?;
    let r = admin
        .list_partition_reassignments_blocking((!parts.is_empty()).then_some(&parts[..]), opts)?;
    let rows: Vec<Vec<String>> = r
        .iter()
        .map(|(tp, x)| {
            vec![
                tp.to_string(),
                ids(&x.replicas),
                ids(&x.adding),
                ids(&x.removing),
            ]
        })
        .collect();
    Ok(super::ok(
        Value::Array(
            r.iter()
                .map(|(tp, x)| {
                    json!({
                        "topic": tp.topic(), "partition": tp.partition(), "replicas": x.replicas,
                        "adding": x.adding, "removing": x.removing,
                    })
                })
                .collect(),
        ),
        table(&["PARTITION", "REPLICAS", "ADDING", "REMOVING"], &rows),
    ))
}

pub(super) fn describe_features(admin: &AdminClient, opts: &AdminOptions) -> Result<Outcome, Bad> {
    let f = admin.describe_features_blocking(opts)?;
    let mut rows = Vec::new();
    for s in &f.supported {
        let fin = f.finalized.iter().find(|x| x.name == s.name);
        rows.push(vec![
            s.name.clone(),
            format!("{}-{}", s.min_version, s.max_version),
            fin.map_or("-".into(), |x| x.max_version_level.to_string()),
        ]);
    }
    for x in &f.finalized {
        if !f.supported.iter().any(|s| s.name == x.name) {
            rows.push(vec![
                x.name.clone(),
                "-".into(),
                x.max_version_level.to_string(),
            ]);
        }
    }
    Ok(super::ok(
        json!({
            "finalized_epoch": f.finalized_epoch,
            "finalized": f.finalized.iter().map(|x| json!({
                "name": x.name, "level": x.max_version_level,
            })).collect::<Vec<_>>(),
            "supported": f.supported.iter().map(|s| json!({
                "name": s.name, "min_version": s.min_version, "max_version": s.max_version,
            })).collect::<Vec<_>>(),
        }),
        format!(
            "Finalized features epoch {}\n{}",
            f.finalized_epoch.map_or("-".into(), |e| e.to_string()),
            table(&["FEATURE", "SUPPORTED", "FINALIZED"], &rows)
        ),
    ))
}

pub(super) fn update_features(
    admin: &AdminClient,
    a: UpdateFeatures,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let upgrade_type = FeatureUpgradeType::parse(&a.upgrade_type).ok_or_else(|| {
        Bad::Usage(format!(
            "--upgrade-type {:?}: expected upgrade, safe-downgrade or unsafe-downgrade",
            a.upgrade_type
        ))
    })?;
    let updates: Vec<FeatureUpdate> = a
        .features
        .iter()
        .map(|f| {
            let (name, level) = kv(f, "--feature")?;
            let level: i16 = level
                .parse()
                .map_err(|_| Bad::Usage(format!("--feature {f:?}: the level is a number")))?;
            Ok(FeatureUpdate {
                name,
                max_version_level: level,
                upgrade_type,
            })
        })
        .collect::<Result<_, Bad>>()?;
    let opts = opts.clone().validate_only(a.validate_only);
    let r = admin.update_features_blocking(&updates, &opts)?;
    Ok(per_resource(r, |_| "updated".into(), |_| json!({})))
}

pub(super) fn describe_quotas(
    admin: &AdminClient,
    a: DescribeQuotas,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let filter: Vec<QuotaFilterComponent> = a
        .entities
        .iter()
        .map(|e| match e.split_once('=') {
            None => QuotaFilterComponent {
                entity_type: e.clone(),
                matching: QuotaMatch::Any,
            },
            Some((t, "<default>")) => QuotaFilterComponent {
                entity_type: t.to_string(),
                matching: QuotaMatch::Default,
            },
            Some((t, n)) => QuotaFilterComponent {
                entity_type: t.to_string(),
                matching: QuotaMatch::Exact(n.to_string()),
            },
        })
        .collect();
    let r = admin.describe_client_quotas_blocking(&filter, a.strict, opts)?;
    let mut rows = Vec::new();
    for (e, vals) in &r {
        for (k, v) in vals {
            rows.push(vec![e.to_string(), k.clone(), v.to_string()]);
        }
    }
    Ok(super::ok(
        Value::Array(
            r.iter()
                .map(|(e, vals)| {
                    json!({
                        "entity": e.to_string(),
                        "quotas": vals.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    })
                })
                .collect(),
        ),
        table(&["ENTITY", "QUOTA", "VALUE"], &rows),
    ))
}

pub(super) fn alter_quotas(
    admin: &AdminClient,
    a: AlterQuotas,
    opts: &AdminOptions,
) -> Result<Outcome, Bad> {
    let entity = QuotaEntity::parse(&a.entity).ok_or_else(|| {
        Bad::Usage(format!(
            "{:?}: expected TYPE=NAME[,TYPE=NAME], <default> for a default name",
            a.entity
        ))
    })?;
    let mut ops = Vec::new();
    for s in &a.set {
        let (k, v) = kv(s, "--set")?;
        let v: f64 = v
            .parse()
            .map_err(|_| Bad::Usage(format!("--set {s:?}: the value is a number")))?;
        ops.push((k, Some(v)));
    }
    ops.extend(a.delete.iter().map(|k| (k.clone(), None)));
    if ops.is_empty() {
        return Err(Bad::Usage("alter-quotas needs --set or --delete".into()));
    }
    let opts = opts.clone().validate_only(a.validate_only);
    let r = admin.alter_client_quotas_blocking(&[QuotaAlteration { entity, ops }], &opts)?;
    let r = r.into_iter().map(|(e, x)| (e.to_string(), x)).collect();
    Ok(per_resource(r, |_| "altered".into(), |_| json!({})))
}
