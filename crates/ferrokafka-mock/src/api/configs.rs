//! Configs: DescribeConfigs, IncrementalAlterConfigs and AlterConfigs for
//! topics, brokers (by id, or the cluster-wide default with an empty name)
//! and broker loggers, with Kafka's validation and error codes.
//!
//! One table per resource type names every config the mock knows, with
//! its type, default, broker-level synonym and documentation line. Names
//! outside the table are refused with INVALID_CONFIG (topics) or
//! INVALID_REQUEST (brokers), values that do not parse as the config's
//! type (or fall outside its range) with INVALID_CONFIG, append/subtract
//! on a non-list config with INVALID_REQUEST — the codes and message
//! shapes Kafka's broker uses. Values are stored (topic configs on the
//! topic, so deleting the topic drops them) and described back with their
//! source and synonyms; apart from `max.message.bytes` and
//! `retention.bytes`, whose defaults come from the cluster's build
//! settings, the stored values do not change how the mock's logs behave.

use std::collections::BTreeMap;

use kafka_protocol::messages::{
    alter_configs_response, describe_configs_response, incremental_alter_configs_response,
    AlterConfigsRequest, AlterConfigsResponse, DescribeConfigsRequest, DescribeConfigsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};

use super::str_bytes;
use crate::cluster::{ClusterState, Config, Refusal, Shared};
use crate::log::code;

/// Kafka's INVALID_CONFIG.
const INVALID_CONFIG: i16 = 40;

/// Resource type codes.
const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const BROKER_LOGGER: i8 = 8;

/// ConfigSource codes.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const DYNAMIC_BROKER_CONFIG: i8 = 2;
const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;
const DYNAMIC_BROKER_LOGGER_CONFIG: i8 = 6;

/// A config's type, with the ConfigType code DescribeConfigs v3+ reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Boolean,
    String(&'static [&'static str]),
    Int(i64),
    Long(i64),
    Double,
    List(&'static [&'static str]),
}

impl Type {
    fn code(self) -> i8 {
        match self {
            Type::Boolean => 1,
            Type::String(_) => 2,
            Type::Int(_) => 3,
            Type::Long(_) => 5,
            Type::Double => 6,
            Type::List(_) => 7,
        }
    }
    /// Checks `v` the way Kafka's ConfigDef does; the error is Kafka's
    /// message.
    fn check(self, name: &str, v: &str) -> Result<(), String> {
        let bad = |why: String| format!("Invalid value {v} for configuration {name}: {why}");
        match self {
            Type::Boolean => match v.to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(()),
                _ => Err(bad("Expected value to be either true or false".into())),
            },
            Type::String(allowed) => {
                if allowed.is_empty() || allowed.contains(&v) {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "String must be one of: {}",
                        allowed.join(", ")
                    )))
                }
            }
            Type::Int(min) => match v.trim().parse::<i32>() {
                Ok(n) if i64::from(n) >= min => Ok(()),
                Ok(_) => Err(bad(format!("Value must be at least {min}"))),
                Err(_) => Err(bad("Not a number of type INT".into())),
            },
            Type::Long(min) => match v.trim().parse::<i64>() {
                Ok(n) if n >= min => Ok(()),
                Ok(_) => Err(bad(format!("Value must be at least {min}"))),
                Err(_) => Err(bad("Not a number of type LONG".into())),
            },
            Type::Double => v
                .trim()
                .parse::<f64>()
                .map(|_| ())
                .map_err(|_| bad("Not a number of type DOUBLE".into())),
            Type::List(allowed) => {
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !allowed.is_empty() && !allowed.contains(&item) {
                        return Err(bad(format!(
                            "Invalid value {item} for configuration {name}: String must be one of: {}",
                            allowed.join(", ")
                        )));
                    }
                }
                Ok(())
            }
        }
    }
}

/// One known config: name, type, built-in default (None: from the
/// cluster's build settings), broker synonym, whether a broker may change
/// it at runtime, documentation.
struct Known {
    name: &'static str,
    ty: Type,
    default: &'static str,
    synonym: Option<&'static str>,
    dynamic: bool,
    doc: &'static str,
}

const fn k(
    name: &'static str,
    ty: Type,
    default: &'static str,
    synonym: Option<&'static str>,
    doc: &'static str,
) -> Known {
    Known {
        name,
        ty,
        default,
        synonym,
        dynamic: true,
        doc,
    }
}

const POLICIES: &[&str] = &["compact", "delete"];
const CODECS: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
const TS_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];

/// Topic configs (Kafka's LogConfig), sorted by name.
const TOPIC_CONFIGS: &[Known] = &[
    k(
        "cleanup.policy",
        Type::List(POLICIES),
        "delete",
        Some("log.cleanup.policy"),
        "The retention policy to use on log segments: delete, compact or both.",
    ),
    k(
        "compression.type",
        Type::String(CODECS),
        "producer",
        Some("compression.type"),
        "The final compression type for the topic; producer keeps the producer's codec.",
    ),
    k(
        "delete.retention.ms",
        Type::Long(0),
        "86400000",
        Some("log.cleaner.delete.retention.ms"),
        "How long delete tombstones are retained for compacted topics.",
    ),
    k(
        "file.delete.delay.ms",
        Type::Long(0),
        "60000",
        Some("log.segment.delete.delay.ms"),
        "The time to wait before deleting a file from the filesystem.",
    ),
    k(
        "flush.messages",
        Type::Long(1),
        "9223372036854775807",
        Some("log.flush.interval.messages"),
        "Messages written before the log is forced to disk.",
    ),
    k(
        "flush.ms",
        Type::Long(0),
        "9223372036854775807",
        Some("log.flush.interval.ms"),
        "Time before the log is forced to disk.",
    ),
    k(
        "index.interval.bytes",
        Type::Int(0),
        "4096",
        Some("log.index.interval.bytes"),
        "How often an offset index entry is added.",
    ),
    k(
        "max.compaction.lag.ms",
        Type::Long(1),
        "9223372036854775807",
        Some("log.cleaner.max.compaction.lag.ms"),
        "The maximum time a message stays ineligible for compaction.",
    ),
    k(
        "max.message.bytes",
        Type::Int(0),
        "",
        Some("message.max.bytes"),
        "The largest record batch size allowed.",
    ),
    k(
        "message.timestamp.type",
        Type::String(TS_TYPES),
        "",
        Some("log.message.timestamp.type"),
        "Whether the timestamp is the producer's create time or the log append time.",
    ),
    k(
        "min.cleanable.dirty.ratio",
        Type::Double,
        "0.5",
        Some("log.cleaner.min.cleanable.ratio"),
        "How dirty a log must be before it is compacted.",
    ),
    k(
        "min.compaction.lag.ms",
        Type::Long(0),
        "0",
        Some("log.cleaner.min.compaction.lag.ms"),
        "The minimum time a message stays uncompacted.",
    ),
    k(
        "min.insync.replicas",
        Type::Int(1),
        "1",
        Some("min.insync.replicas"),
        "The minimum number of in-sync replicas for acks=all writes.",
    ),
    k(
        "preallocate",
        Type::Boolean,
        "false",
        Some("log.preallocate"),
        "Whether segment files are preallocated.",
    ),
    k(
        "retention.bytes",
        Type::Long(-1),
        "",
        Some("log.retention.bytes"),
        "The maximum size a partition grows to before old segments are discarded; -1 is unlimited.",
    ),
    k(
        "retention.ms",
        Type::Long(-1),
        "604800000",
        Some("log.retention.ms"),
        "How long a log is retained before old segments are discarded; -1 is unlimited.",
    ),
    k(
        "segment.bytes",
        Type::Int(14),
        "1073741824",
        Some("log.segment.bytes"),
        "The segment file size of the log.",
    ),
    k(
        "segment.index.bytes",
        Type::Int(4),
        "10485760",
        Some("log.index.size.max.bytes"),
        "The size of the offset index.",
    ),
    k(
        "segment.jitter.ms",
        Type::Long(0),
        "0",
        Some("log.roll.jitter.ms"),
        "The maximum random jitter subtracted from segment.ms.",
    ),
    k(
        "segment.ms",
        Type::Long(1),
        "604800000",
        Some("log.roll.ms"),
        "The time after which a segment is rolled.",
    ),
    k(
        "unclean.leader.election.enable",
        Type::Boolean,
        "false",
        Some("unclean.leader.election.enable"),
        "Whether out-of-sync replicas may be elected leader.",
    ),
];

/// Broker configs, sorted by name; `dynamic: false` ones are read-only.
const BROKER_CONFIGS: &[Known] = &[
    Known {
        dynamic: false,
        ..k(
            "auto.create.topics.enable",
            Type::Boolean,
            "",
            None,
            "Enables auto-creation of topics on the server.",
        )
    },
    k(
        "compression.type",
        Type::String(CODECS),
        "producer",
        None,
        "The default final compression type for topics.",
    ),
    Known {
        dynamic: false,
        ..k(
            "default.replication.factor",
            Type::Int(1),
            "",
            None,
            "The default replication factor for auto-created topics.",
        )
    },
    k(
        "log.cleaner.threads",
        Type::Int(0),
        "1",
        None,
        "The number of background threads for log cleaning.",
    ),
    k(
        "log.cleanup.policy",
        Type::List(POLICIES),
        "delete",
        None,
        "The default cleanup policy for segments beyond the retention window.",
    ),
    k(
        "log.retention.bytes",
        Type::Long(-1),
        "",
        None,
        "The maximum size of the log before deleting it.",
    ),
    k(
        "log.retention.ms",
        Type::Long(-1),
        "604800000",
        None,
        "How long a log file is kept before deletion.",
    ),
    k(
        "log.segment.bytes",
        Type::Int(14),
        "1073741824",
        None,
        "The maximum size of a single log file.",
    ),
    k(
        "message.max.bytes",
        Type::Int(0),
        "",
        None,
        "The largest record batch size allowed by Kafka.",
    ),
    k(
        "min.insync.replicas",
        Type::Int(1),
        "1",
        None,
        "The minimum number of replicas that must acknowledge an acks=all write.",
    ),
    Known {
        dynamic: false,
        ..k(
            "num.partitions",
            Type::Int(1),
            "",
            None,
            "The default number of log partitions per topic.",
        )
    },
    k(
        "unclean.leader.election.enable",
        Type::Boolean,
        "false",
        None,
        "Whether out-of-sync replicas may be elected leader.",
    ),
];

/// The loggers a broker reports, with their level when never altered.
const LOGGERS: &[&str] = &[
    "kafka",
    "kafka.controller",
    "kafka.coordinator.group",
    "kafka.log.LogCleaner",
    "kafka.request.logger",
    "kafka.server.KafkaApis",
    "root",
];
const LOG_LEVELS: &[&str] = &[
    "OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL",
];

fn table(resource_type: i8) -> &'static [Known] {
    match resource_type {
        TOPIC => TOPIC_CONFIGS,
        _ => BROKER_CONFIGS,
    }
}

fn find(resource_type: i8, name: &str) -> Option<&'static Known> {
    table(resource_type).iter().find(|c| c.name == name)
}

/// A default that comes from the cluster's build settings.
fn built_default(c: &Config, name: &str) -> Option<String> {
    Some(match name {
        "max.message.bytes" | "message.max.bytes" => c.max_message_bytes.to_string(),
        "retention.bytes" | "log.retention.bytes" => {
            c.retention_bytes.map_or(-1, |b| b as i64).to_string()
        }
        "message.timestamp.type" | "log.message.timestamp.type" => if c.log_append_time {
            "LogAppendTime"
        } else {
            "CreateTime"
        }
        .to_string(),
        "auto.create.topics.enable" => c.auto_create_topics.to_string(),
        "default.replication.factor" => c.default_replication.to_string(),
        "num.partitions" => c.default_partitions.to_string(),
        _ => return None,
    })
}

fn default_of(c: &Config, k: &Known) -> String {
    built_default(c, k.name).unwrap_or_else(|| k.default.to_string())
}

/// Validates topic configs given at creation: unknown names and bad
/// values are INVALID_CONFIG with Kafka's message.
pub(crate) fn validate_topic_configs<'a>(
    configs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut out = BTreeMap::new();
    for (name, value) in configs {
        let known = find(TOPIC, name)
            .ok_or_else(|| (INVALID_CONFIG, format!("Unknown topic config name: {name}")))?;
        let Some(v) = value else {
            // A null value at creation means "the default".
            continue;
        };
        known.ty.check(name, v).map_err(|m| (INVALID_CONFIG, m))?;
        out.insert(name.to_string(), v.to_string());
    }
    Ok(out)
}

/// The broker key for dynamic broker and logger configs: `(type, name)`.
fn broker_key(resource_type: i8, name: &str) -> (i8, String) {
    (resource_type, name.to_string())
}

/// Checks that a broker resource exists: an empty name is the cluster
/// default (not for loggers); otherwise a broker id of this cluster.
fn check_broker(st: &ClusterState, resource_type: i8, name: &str) -> Result<(), Refusal> {
    if name.is_empty() && resource_type == BROKER {
        return Ok(());
    }
    match name.parse::<i32>() {
        Ok(id) if st.broker(id).is_some() => Ok(()),
        _ => Err((
            code::INVALID_REQUEST,
            format!("Invalid broker id {name:?}: not a broker of this cluster"),
        )),
    }
}

/// One described config: name, value, source, read-only, synonyms, type,
/// doc.
type Described = (
    String,
    Option<String>,
    i8,
    bool,
    Vec<(String, Option<String>, i8)>,
    i8,
    String,
);

fn describe_one(
    shared: &Shared,
    st: &ClusterState,
    resource_type: i8,
    name: &str,
) -> Result<Vec<Described>, Refusal> {
    let c = &shared.config;
    match resource_type {
        TOPIC => {
            let topic = st.topics.get(name).ok_or_else(|| {
                (
                    code::UNKNOWN_TOPIC_OR_PARTITION,
                    format!("Topic {name} does not exist"),
                )
            })?;
            let cluster_default = st.dynamic_configs.get(&broker_key(BROKER, ""));
            Ok(TOPIC_CONFIGS
                .iter()
                .map(|k| {
                    let mut synonyms = Vec::new();
                    let set = topic.configs.get(k.name).cloned();
                    if let Some(v) = &set {
                        synonyms.push((k.name.to_string(), Some(v.clone()), DYNAMIC_TOPIC_CONFIG));
                    }
                    let broker_level = k.synonym.and_then(|s| {
                        cluster_default
                            .and_then(|m| m.get(s))
                            .map(|v| (s, v.clone()))
                    });
                    if let Some((s, v)) = &broker_level {
                        synonyms.push((
                            s.to_string(),
                            Some(v.clone()),
                            DYNAMIC_DEFAULT_BROKER_CONFIG,
                        ));
                    }
                    let built = built_default(c, k.name);
                    let default = default_of(c, k);
                    if let Some(s) = k.synonym {
                        let src = if built.is_some() {
                            STATIC_BROKER_CONFIG
                        } else {
                            DEFAULT_CONFIG
                        };
                        synonyms.push((s.to_string(), Some(default.clone()), src));
                    }
                    let (value, source) = match (set, broker_level) {
                        (Some(v), _) => (v, DYNAMIC_TOPIC_CONFIG),
                        (None, Some((_, v))) => (v, DYNAMIC_DEFAULT_BROKER_CONFIG),
                        (None, None) if built.is_some() => (default, STATIC_BROKER_CONFIG),
                        (None, None) => (default, DEFAULT_CONFIG),
                    };
                    (
                        k.name.to_string(),
                        Some(value),
                        source,
                        false,
                        synonyms,
                        k.ty.code(),
                        k.doc.to_string(),
                    )
                })
                .collect())
        }
        BROKER => {
            check_broker(st, resource_type, name)?;
            let own = (!name.is_empty())
                .then(|| st.dynamic_configs.get(&broker_key(BROKER, name)))
                .flatten();
            let cluster = st.dynamic_configs.get(&broker_key(BROKER, ""));
            Ok(BROKER_CONFIGS
                .iter()
                .map(|k| {
                    let mut synonyms = Vec::new();
                    let mine = own.and_then(|m| m.get(k.name)).cloned();
                    let all = cluster.and_then(|m| m.get(k.name)).cloned();
                    if let Some(v) = &mine {
                        synonyms.push((k.name.to_string(), Some(v.clone()), DYNAMIC_BROKER_CONFIG));
                    }
                    if let Some(v) = &all {
                        synonyms.push((
                            k.name.to_string(),
                            Some(v.clone()),
                            DYNAMIC_DEFAULT_BROKER_CONFIG,
                        ));
                    }
                    let built = built_default(c, k.name);
                    let default = default_of(c, k);
                    let base = if built.is_some() {
                        STATIC_BROKER_CONFIG
                    } else {
                        DEFAULT_CONFIG
                    };
                    synonyms.push((k.name.to_string(), Some(default.clone()), base));
                    let (value, source) = match (mine, all) {
                        (Some(v), _) => (v, DYNAMIC_BROKER_CONFIG),
                        (None, Some(v)) => (v, DYNAMIC_DEFAULT_BROKER_CONFIG),
                        (None, None) => (default, base),
                    };
                    (
                        k.name.to_string(),
                        Some(value),
                        source,
                        !k.dynamic,
                        synonyms,
                        k.ty.code(),
                        k.doc.to_string(),
                    )
                })
                .collect())
        }
        BROKER_LOGGER => {
            check_broker(st, resource_type, name)?;
            let set = st.dynamic_configs.get(&broker_key(BROKER_LOGGER, name));
            Ok(LOGGERS
                .iter()
                .map(|l| {
                    let (v, src) = match set.and_then(|m| m.get(*l)) {
                        Some(v) => (v.clone(), DYNAMIC_BROKER_LOGGER_CONFIG),
                        None => ("INFO".to_string(), DEFAULT_CONFIG),
                    };
                    (
                        l.to_string(),
                        Some(v),
                        src,
                        false,
                        Vec::new(),
                        Type::String(&[]).code(),
                        String::new(),
                    )
                })
                .collect())
        }
        other => Err((
            code::INVALID_REQUEST,
            format!(
                "resource type {other} is not served: 2 (topic), 4 (broker) or 8 (broker logger)"
            ),
        )),
    }
}

pub(crate) fn describe_configs(
    shared: &Shared,
    version: i16,
    req: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let st = shared.state();
    let mut resp = DescribeConfigsResponse::default();
    for r in req.resources {
        let mut out = describe_configs_response::DescribeConfigsResult::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        match describe_one(shared, &st, r.resource_type, &r.resource_name) {
            Ok(all) => {
                out.configs = all
                    .into_iter()
                    .filter(|d| {
                        r.configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == d.0))
                    })
                    .map(|(n, v, src, ro, syn, ty, doc)| {
                        let mut e =
                            describe_configs_response::DescribeConfigsResourceResult::default()
                                .with_name(str_bytes(&n))
                                .with_value(v.map(|v| str_bytes(&v)))
                                .with_read_only(ro)
                                .with_config_source(src);
                        if req.include_synonyms {
                            e.synonyms = syn
                                .into_iter()
                                .map(|(n, v, s)| {
                                    describe_configs_response::DescribeConfigsSynonym::default()
                                        .with_name(str_bytes(&n))
                                        .with_value(v.map(|v| str_bytes(&v)))
                                        .with_source(s)
                                })
                                .collect();
                        }
                        if version >= 3 {
                            e.config_type = ty;
                            if req.include_documentation && !doc.is_empty() {
                                e.documentation = Some(str_bytes(&doc));
                            }
                        }
                        e
                    })
                    .collect();
            }
            Err((c, msg)) => {
                out.error_code = c;
                out.error_message = Some(str_bytes(&msg));
            }
        }
        resp.results.push(out);
    }
    resp
}

/// An operation on one config: Set, Delete, Append, Subtract (the
/// IncrementalAlterConfigs codes), or a legacy full replacement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Set,
    Delete,
    Append,
    Subtract,
}

/// Applies `ops` to the current values `cur` of one resource (validating
/// everything first), or says why not.
fn apply(
    resource_type: i8,
    cur: &BTreeMap<String, String>,
    ops: &[(String, Op, Option<String>)],
    default_of_list: impl Fn(&str) -> String,
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut next = cur.clone();
    let mut seen = std::collections::HashSet::new();
    for (name, op, value) in ops {
        if !seen.insert(name.as_str()) {
            return Err((
                code::INVALID_REQUEST,
                format!("Error due to duplicate config keys: {name}"),
            ));
        }
        if resource_type == BROKER_LOGGER {
            if !LOGGERS.contains(&name.as_str()) {
                return Err((INVALID_CONFIG, format!("Logger {name} does not exist!")));
            }
            match op {
                Op::Set => {
                    let v = value.as_deref().unwrap_or("");
                    if !LOG_LEVELS.contains(&v.to_ascii_uppercase().as_str()) {
                        return Err((
                            INVALID_CONFIG,
                            format!("Cannot set the log level of {name} to {v} as it is not a supported log level. Valid log4j levels are {}", LOG_LEVELS.join(", ")),
                        ));
                    }
                    next.insert(name.clone(), v.to_ascii_uppercase());
                }
                Op::Delete => {
                    next.remove(name);
                }
                Op::Append | Op::Subtract => {
                    return Err((
                        code::INVALID_REQUEST,
                        format!(
                            "{} operation is not allowed for the BROKER_LOGGERS resource",
                            if *op == Op::Append {
                                "APPEND"
                            } else {
                                "SUBTRACT"
                            }
                        ),
                    ))
                }
            }
            continue;
        }
        let known = find(resource_type, name).ok_or_else(|| {
            if resource_type == TOPIC {
                (INVALID_CONFIG, format!("Unknown topic config name: {name}"))
            } else {
                (
                    code::INVALID_REQUEST,
                    format!("Unknown broker config name: {name}"),
                )
            }
        })?;
        if !known.dynamic {
            return Err((
                code::INVALID_REQUEST,
                format!("Cannot update these configs dynamically: Set({name})"),
            ));
        }
        let is_list = matches!(known.ty, Type::List(_));
        match op {
            Op::Set => {
                let v = value.as_deref().ok_or_else(|| {
                    (
                        INVALID_CONFIG,
                        format!("Null value not supported for : {name}"),
                    )
                })?;
                known.ty.check(name, v).map_err(|m| (INVALID_CONFIG, m))?;
                next.insert(name.clone(), v.to_string());
            }
            Op::Delete => {
                next.remove(name);
            }
            Op::Append | Op::Subtract if !is_list => {
                return Err((
                    code::INVALID_REQUEST,
                    format!(
                        "Config value {} is not allowed for config key: {name}",
                        if *op == Op::Append {
                            "append"
                        } else {
                            "subtract"
                        }
                    ),
                ))
            }
            Op::Append | Op::Subtract => {
                let base = next
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| default_of_list(name));
                let mut items: Vec<String> = base
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let given: Vec<&str> = value
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                for g in given {
                    if *op == Op::Append {
                        if !items.iter().any(|i| i == g) {
                            items.push(g.to_string());
                        }
                    } else {
                        items.retain(|i| i != g);
                    }
                }
                let v = items.join(",");
                known.ty.check(name, &v).map_err(|m| (INVALID_CONFIG, m))?;
                next.insert(name.clone(), v);
            }
        }
    }
    Ok(next)
}

/// Validates and (unless `validate_only`) stores the new configuration of
/// one resource; `replace` is the legacy AlterConfigs (unlisted configs
/// revert to defaults).
fn alter_one(
    shared: &Shared,
    resource_type: i8,
    name: &str,
    ops: &[(String, Op, Option<String>)],
    replace: bool,
    validate_only: bool,
) -> Result<(), Refusal> {
    let mut st = shared.state();
    let empty = BTreeMap::new();
    let cur = match resource_type {
        TOPIC => {
            &st.topics
                .get(name)
                .ok_or_else(|| {
                    (
                        code::UNKNOWN_TOPIC_OR_PARTITION,
                        format!("Topic {name} does not exist"),
                    )
                })?
                .configs
        }
        BROKER | BROKER_LOGGER => {
            check_broker(&st, resource_type, name)?;
            st.dynamic_configs
                .get(&broker_key(resource_type, name))
                .unwrap_or(&empty)
        }
        other => {
            return Err((
                code::INVALID_REQUEST,
                format!("resource type {other} cannot be altered: 2 (topic), 4 (broker) or 8 (broker logger)"),
            ))
        }
    };
    let base = if replace { &empty } else { cur };
    let c = &shared.config;
    let next = apply(resource_type, base, ops, |n| {
        find(resource_type, n)
            .map(|k| default_of(c, k))
            .unwrap_or_default()
    })?;
    if validate_only {
        return Ok(());
    }
    match resource_type {
        TOPIC => {
            if let Some(t) = st.topics.get_mut(name) {
                t.configs = next;
            }
        }
        _ => {
            st.dynamic_configs
                .insert(broker_key(resource_type, name), next);
        }
    }
    Ok(())
}

pub(crate) fn incremental_alter_configs(
    shared: &Shared,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut resp = IncrementalAlterConfigsResponse::default();
    for r in req.resources {
        let mut out = incremental_alter_configs_response::AlterConfigsResourceResponse::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        let ops: Result<Vec<_>, Refusal> = r
            .configs
            .iter()
            .map(|c| {
                let op = match c.config_operation {
                    0 => Op::Set,
                    1 => Op::Delete,
                    2 => Op::Append,
                    3 => Op::Subtract,
                    other => {
                        return Err((
                            code::INVALID_REQUEST,
                            format!("Unknown config operation {other} for {}", c.name),
                        ))
                    }
                };
                Ok((
                    c.name.to_string(),
                    op,
                    c.value.as_ref().map(|v| v.to_string()),
                ))
            })
            .collect();
        let res = ops.and_then(|ops| {
            alter_one(
                shared,
                r.resource_type,
                &r.resource_name,
                &ops,
                false,
                req.validate_only,
            )
        });
        if let Err((c, msg)) = res {
            out.error_code = c;
            out.error_message = Some(str_bytes(&msg));
        }
        resp.responses.push(out);
    }
    resp
}

pub(crate) fn alter_configs(shared: &Shared, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut resp = AlterConfigsResponse::default();
    for r in req.resources {
        let mut out = alter_configs_response::AlterConfigsResourceResponse::default()
            .with_resource_type(r.resource_type)
            .with_resource_name(r.resource_name.clone());
        let ops: Vec<_> = r
            .configs
            .iter()
            .map(|c| match &c.value {
                Some(v) => (c.name.to_string(), Op::Set, Some(v.to_string())),
                None => (c.name.to_string(), Op::Delete, None),
            })
            .collect();
        if let Err((c, msg)) = alter_one(
            shared,
            r.resource_type,
            &r.resource_name,
            &ops,
            true,
            req.validate_only,
        ) {
            out.error_code = c;
            out.error_message = Some(str_bytes(&msg));
        }
        resp.responses.push(out);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_by_type_with_kafkas_messages() {
        let e = Type::Long(-1).check("retention.ms", "abc").unwrap_err();
        assert_eq!(
            e,
            "Invalid value abc for configuration retention.ms: Not a number of type LONG"
        );
        assert!(Type::List(POLICIES)
            .check("cleanup.policy", "compact,delete")
            .is_ok());
        assert!(Type::List(POLICIES)
            .check("cleanup.policy", "nope")
            .is_err());
        let err = validate_topic_configs([("no.such", Some("1"))]).unwrap_err();
        assert_eq!(
            err,
            (
                INVALID_CONFIG,
                "Unknown topic config name: no.such".to_string()
            )
        );
    }

    #[test]
    fn append_and_subtract_edit_lists_and_refuse_scalars() {
        let cur = BTreeMap::new();
        let next = apply(
            TOPIC,
            &cur,
            &[("cleanup.policy".into(), Op::Append, Some("compact".into()))],
            |_| "delete".into(),
        )
        .unwrap();
        assert_eq!(next["cleanup.policy"], "delete,compact");
        let next = apply(
            TOPIC,
            &next,
            &[("cleanup.policy".into(), Op::Subtract, Some("delete".into()))],
            |_| "delete".into(),
        )
        .unwrap();
        assert_eq!(next["cleanup.policy"], "compact");
        let e = apply(
            TOPIC,
            &next,
            &[("retention.ms".into(), Op::Append, Some("5".into()))],
            |_| String::new(),
        )
        .unwrap_err();
        assert_eq!(e.0, code::INVALID_REQUEST);
    }
}
