//! The configs the mock knows, one table per resource type: each with its
//! type (and the check Kafka's ConfigDef makes of a value), its default
//! (built in, or from the cluster's build settings), its broker-level
//! synonym and its documentation line; and the resource-type and
//! config-source codes of the Configs APIs. The requests that read and
//! change them are in the parent module.

use crate::cluster::Config;

/// Kafka's INVALID_CONFIG.
pub(super) const INVALID_CONFIG: i16 = 40;

/// Resource type codes.
pub(super) const TOPIC: i8 = 2;
pub(super) const BROKER: i8 = 4;
pub(super) const BROKER_LOGGER: i8 = 8;

/// ConfigSource codes.
pub(super) const DYNAMIC_TOPIC_CONFIG: i8 = 1;
pub(super) const DYNAMIC_BROKER_CONFIG: i8 = 2;
pub(super) const DYNAMIC_DEFAULT_BROKER_CONFIG: i8 = 3;
pub(super) const STATIC_BROKER_CONFIG: i8 = 4;
pub(super) const DEFAULT_CONFIG: i8 = 5;
pub(super) const DYNAMIC_BROKER_LOGGER_CONFIG: i8 = 6;

/// A config's type, with the ConfigType code DescribeConfigs v3+ reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    Boolean,
    String(&'static [&'static str]),
    Int(i64),
    Long(i64),
    Double,
    List(&'static [&'static str]),
}

impl Type {
    pub(super) fn code(self) -> i8 {
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
    pub(super) fn check(self, name: &str, v: &str) -> Result<(), String> {
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
pub(super) struct Known {
    pub(super) name: &'static str,
    pub(super) ty: Type,
    pub(super) default: &'static str,
    pub(super) synonym: Option<&'static str>,
    pub(super) dynamic: bool,
    pub(super) doc: &'static str,
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

pub(super) const POLICIES: &[&str] = &["compact", "delete"];
const CODECS: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];
const TS_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];

/// Topic configs (Kafka's LogConfig), sorted by name.
pub(super) const TOPIC_CONFIGS: &[Known] = &[
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
pub(super) const BROKER_CONFIGS: &[Known] = &[
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
pub(super) const LOGGERS: &[&str] = &[
    "kafka",
    "kafka.controller",
    "kafka.coordinator.group",
    "kafka.log.LogCleaner",
    "kafka.request.logger",
    "kafka.server.KafkaApis",
    "root",
];
pub(super) const LOG_LEVELS: &[&str] = &[
    "OFF", "FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE", "ALL",
];

fn table(resource_type: i8) -> &'static [Known] {
    match resource_type {
        TOPIC => TOPIC_CONFIGS,
        _ => BROKER_CONFIGS,
    }
}

pub(super) fn find(resource_type: i8, name: &str) -> Option<&'static Known> {
    table(resource_type).iter().find(|c| c.name == name)
}

/// A default that comes from the cluster's build settings.
pub(super) fn built_default(c: &Config, name: &str) -> Option<String> {
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

pub(super) fn default_of(c: &Config, k: &Known) -> String {
    built_default(c, k.name).unwrap_or_else(|| k.default.to_string())
}
