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
use crate::cluster::{ClusterState, Refusal, Shared};
use crate::log::code;

mod known;
use known::{
    built_default, default_of, find, Type, BROKER, BROKER_CONFIGS, BROKER_LOGGER, DEFAULT_CONFIG,
    DYNAMIC_BROKER_CONFIG, DYNAMIC_BROKER_LOGGER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG,
    DYNAMIC_TOPIC_CONFIG, INVALID_CONFIG, LOGGERS, LOG_LEVELS, STATIC_BROKER_CONFIG, TOPIC,
    TOPIC_CONFIGS,
};

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
    use super::known::POLICIES;
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
