//! Configuration administration: DescribeConfigs (topics, brokers, broker
//! loggers; with synonyms and documentation), IncrementalAlterConfigs (set,
//! delete, append, subtract) and the legacy AlterConfigs (replace a
//! resource's whole dynamic configuration).
//!
//! Routing follows Kafka: a broker or broker-logger resource named by a
//! broker id goes to that broker; topics and the cluster-wide broker
//! default (an empty broker name) go to any broker. One request is sent
//! per destination; results come back in the order the resources were
//! given.

use super::{resource_result, AdminClient, AdminOptions};
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use kafka_protocol::messages::{
    alter_configs_request, describe_configs_request, incremental_alter_configs_request,
    AlterConfigsRequest, DescribeConfigsRequest, IncrementalAlterConfigsRequest,
};
use kafka_protocol::protocol::StrBytes;
use std::fmt;

/// The kind of a config resource (Kafka's ConfigResource.Type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ResourceType {
    /// A topic's configuration.
    Topic,
    /// A broker's configuration (name: the broker id, or empty for the
    /// cluster-wide default).
    Broker,
    /// A broker's log4j logger levels (name: the broker id).
    BrokerLogger,
}

impl ResourceType {
    /// The wire code.
    pub fn code(self) -> i8 {
        match self {
            ResourceType::Topic => 2,
            ResourceType::Broker => 4,
            ResourceType::BrokerLogger => 8,
        }
    }
    /// The type for a wire code.
    pub fn from_code(c: i8) -> Option<ResourceType> {
        Some(match c {
            2 => ResourceType::Topic,
            4 => ResourceType::Broker,
            8 => ResourceType::BrokerLogger,
            _ => return None,
        })
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceType::Topic => "topic",
            ResourceType::Broker => "broker",
            ResourceType::BrokerLogger => "broker-logger",
        })
    }
}

/// A resource whose configuration is described or altered.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigResource {
    /// Its kind.
    pub kind: ResourceType,
    /// Its name: the topic name or the broker id.
    pub name: String,
}

impl ConfigResource {
    /// A topic's configuration.
    pub fn topic(name: &str) -> ConfigResource {
        ConfigResource {
            kind: ResourceType::Topic,
            name: name.to_string(),
        }
    }
    /// Broker `id`'s configuration.
    pub fn broker(id: i32) -> ConfigResource {
        ConfigResource {
            kind: ResourceType::Broker,
            name: id.to_string(),
        }
    }
    /// The cluster-wide default broker configuration.
    pub fn broker_default() -> ConfigResource {
        ConfigResource {
            kind: ResourceType::Broker,
            name: String::new(),
        }
    }
    /// Broker `id`'s logger levels.
    pub fn broker_logger(id: i32) -> ConfigResource {
        ConfigResource {
            kind: ResourceType::BrokerLogger,
            name: id.to_string(),
        }
    }

    /// The broker this resource must be sent to, if a specific one.
    fn broker_id(&self) -> Result<Option<i32>> {
        match self.kind {
            ResourceType::Topic => Ok(None),
            ResourceType::Broker if self.name.is_empty() => Ok(None),
            ResourceType::Broker | ResourceType::BrokerLogger => {
                self.name.parse::<i32>().map(Some).map_err(|_| {
                    Error::new(
                        ErrorCode::InvalidArg,
                        format!("{self}: a {} resource is named by a broker id", self.kind),
                    )
                })
            }
        }
    }
}

impl fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind, self.name)
    }
}

/// Where a config value comes from (Kafka's ConfigSource).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Not reported.
    Unknown,
    /// Set on the topic.
    DynamicTopic,
    /// Set dynamically on this broker.
    DynamicBroker,
    /// Set dynamically as the cluster-wide broker default.
    DynamicDefaultBroker,
    /// From the broker's properties file.
    StaticBroker,
    /// Kafka's built-in default.
    Default,
    /// A broker logger level set dynamically.
    DynamicBrokerLogger,
    /// Any other code a newer broker sends.
    Other(i8),
}

impl ConfigSource {
    fn from_code(c: i8) -> ConfigSource {
        match c {
            0 => ConfigSource::Unknown,
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            o => ConfigSource::Other(o),
        }
    }
    /// Kafka's name (`DYNAMIC_TOPIC_CONFIG`, `DEFAULT_CONFIG`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConfigSource::Unknown => "UNKNOWN",
            ConfigSource::DynamicTopic => "DYNAMIC_TOPIC_CONFIG",
            ConfigSource::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
            ConfigSource::DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            ConfigSource::StaticBroker => "STATIC_BROKER_CONFIG",
            ConfigSource::Default => "DEFAULT_CONFIG",
            ConfigSource::DynamicBrokerLogger => "DYNAMIC_BROKER_LOGGER_CONFIG",
            ConfigSource::Other(_) => "OTHER",
        }
    }
}

/// One source of a config's value, highest precedence first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    /// The config name at that level (e.g. `log.retention.ms` for a
    /// topic's `retention.ms`).
    pub name: String,
    /// Its value, `None` when sensitive.
    pub value: Option<String>,
    /// The level.
    pub source: ConfigSource,
}

/// One described config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The config name.
    pub name: String,
    /// Its value, `None` when sensitive or unset.
    pub value: Option<String>,
    /// Where the value comes from.
    pub source: ConfigSource,
    /// Whether it cannot be altered.
    pub read_only: bool,
    /// Whether the value is hidden.
    pub sensitive: bool,
    /// The values from every level, highest precedence first.
    pub synonyms: Vec<ConfigSynonym>,
    /// The type (`BOOLEAN`, `STRING`, `INT`, `SHORT`, `LONG`, `DOUBLE`,
    /// `LIST`, `CLASS`, `PASSWORD`), from brokers that say (v3+).
    pub config_type: Option<&'static str>,
    /// The broker's documentation line, from brokers that send it (v3+).
    pub documentation: Option<String>,
}

impl ConfigEntry {
    /// Whether the value is Kafka's built-in default.
    pub fn is_default(&self) -> bool {
        self.source == ConfigSource::Default
    }
}

fn config_type_name(t: i8) -> Option<&'static str> {
    Some(match t {
        1 => "BOOLEAN",
        2 => "STRING",
        3 => "INT",
        4 => "SHORT",
        5 => "LONG",
        6 => "DOUBLE",
        7 => "LIST",
        8 => "CLASS",
        9 => "PASSWORD",
        _ => return None,
    })
}

/// One change of an incremental alter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlterConfigOp {
    /// Sets `name` to a value.
    Set(String, String),
    /// Removes the dynamic value of `name` (back to the next level).
    Delete(String),
    /// Appends a value to a list config.
    Append(String, String),
    /// Removes a value from a list config.
    Subtract(String, String),
}

impl AlterConfigOp {
    /// Sets `name` to `value`.
    pub fn set(name: &str, value: &str) -> AlterConfigOp {
        AlterConfigOp::Set(name.to_string(), value.to_string())
    }
    /// Deletes `name`.
    pub fn delete(name: &str) -> AlterConfigOp {
        AlterConfigOp::Delete(name.to_string())
    }
    fn wire(&self) -> (i8, &str, Option<&str>) {
        match self {
            AlterConfigOp::Set(n, v) => (0, n, Some(v)),
            AlterConfigOp::Delete(n) => (1, n, None),
            AlterConfigOp::Append(n, v) => (2, n, Some(v)),
            AlterConfigOp::Subtract(n, v) => (3, n, Some(v)),
        }
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Groups resources by destination (`None`: any broker), keeping each
/// resource's position.
fn by_destination<T>(items: &[(ConfigResource, T)]) -> Result<Vec<(Option<i32>, Vec<usize>)>> {
    let mut out: Vec<(Option<i32>, Vec<usize>)> = Vec::new();
    for (i, (r, _)) in items.iter().enumerate() {
        let dest = r.broker_id()?;
        match out.iter_mut().find(|(d, _)| *d == dest) {
            Some((_, v)) => v.push(i),
            None => out.push((dest, vec![i])),
        }
    }
    if out.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArg,
            "configs: no resources given",
        ));
    }
    Ok(out)
}

/// A result for each resource of `items`, from per-resource answers
/// `(type, name, result)`.
fn collect<T, U>(
    items: &[(ConfigResource, U)],
    answers: Vec<(i8, String, Result<T>)>,
    what: &str,
) -> Vec<(ConfigResource, Result<T>)> {
    let mut answers: Vec<Option<(i8, String, Result<T>)>> = answers.into_iter().map(Some).collect();
    items
        .iter()
        .map(|(r, _)| {
            let slot = answers.iter_mut().find(|a| {
                a.as_ref()
                    .is_some_and(|(t, n, _)| *t == r.kind.code() && *n == r.name)
            });
            let res = match slot.and_then(Option::take) {
                Some((_, _, res)) => res,
                None => Err(Error::new(
                    ErrorCode::BadMsg,
                    format!("{what} {r}: the broker's response did not mention it"),
                )),
            };
            (r.clone(), res)
        })
        .collect()
}

impl AdminClient {
    /// Sends one request per destination of `items` and gathers the
    /// per-resource answers.
    async fn per_destination<T, U, R: crate::protocol::ApiRequest>(
        &self,
        items: &[(ConfigResource, U)],
        opts: &AdminOptions,
        build: impl Fn(i16, &[&(ConfigResource, U)]) -> Result<R>,
        answers: impl Fn(R::Response) -> Vec<(i8, String, Result<T>)>,
    ) -> Result<Vec<(i8, String, Result<T>)>> {
        let deadline = opts.deadline();
        let mut out = Vec::new();
        for (dest, idx) in by_destination(items)? {
            let mine: Vec<&(ConfigResource, U)> = idx.iter().map(|&i| &items[i]).collect();
            let b = |v: i16| build(v, &mine);
            let resp = match dest {
                Some(id) => {
                    // A broker id not in metadata is an error of those
                    // resources, not of the whole call.
                    let md = self
                        .cluster
                        .metadata(Some(&[]), super::left(deadline, "configs")?)
                        .await?;
                    if !md.brokers.iter().any(|b| b.id == id) {
                        for (r, _) in &mine {
                            out.push((
                                r.kind.code(),
                                r.name.clone(),
                                Err(Error::new(
                                    ErrorCode::BrokerNotAvailable,
                                    format!("{r}: broker {id} is not in the cluster's metadata"),
                                )),
                            ));
                        }
                        continue;
                    }
                    self.call_at(id, ConnectionKind::Admin, deadline, &b)
                        .await?
                        .1
                }
                None => self.call_any(deadline, b).await?.1,
            };
            out.extend(answers(resp));
        }
        Ok(out)
    }

    /// Describes the configuration of `resources` (every config, with its
    /// synonyms and, from Kafka 2.6+ brokers, its type and documentation).
    /// Per resource: its entries sorted by name, or the broker's error
    /// (`UnknownTopicOrPartition` for a missing topic).
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        opts: &AdminOptions,
    ) -> Result<Vec<(ConfigResource, Result<Vec<ConfigEntry>>)>> {
        let items: Vec<(ConfigResource, ())> = resources.iter().map(|r| (r.clone(), ())).collect();
        let answers = self
            .per_destination(
                &items,
                opts,
                |v, mine| {
                    let mut req = DescribeConfigsRequest::default();
                    req.include_synonyms = true;
                    req.include_documentation = v >= 3;
                    req.resources = mine
                        .iter()
                        .map(|(r, _)| {
                            let mut d =
                                describe_configs_request::DescribeConfigsResource::default();
                            d.resource_type = r.kind.code();
                            d.resource_name = sb(&r.name);
                            d.configuration_keys = None;
                            d
                        })
                        .collect();
                    Ok(req)
                },
                |resp| {
                    resp.results
                        .into_iter()
                        .map(|r| {
                            let name = r.resource_name.to_string();
                            let what = format!(
                                "describe configs of {}",
                                ResourceType::from_code(r.resource_type)
                                    .map_or_else(|| r.resource_type.to_string(), |t| t.to_string())
                            );
                            let mut entries: Vec<ConfigEntry> = r
                                .configs
                                .into_iter()
                                .map(|c| ConfigEntry {
                                    name: c.name.to_string(),
                                    value: c.value.map(|v| v.to_string()),
                                    source: ConfigSource::from_code(c.config_source),
                                    read_only: c.read_only,
                                    sensitive: c.is_sensitive,
                                    synonyms: c
                                        .synonyms
                                        .into_iter()
                                        .map(|s| ConfigSynonym {
                                            name: s.name.to_string(),
                                            value: s.value.map(|v| v.to_string()),
                                            source: ConfigSource::from_code(s.source),
                                        })
                                        .collect(),
                                    config_type: config_type_name(c.config_type),
                                    documentation: c.documentation.map(|d| d.to_string()),
                                })
                                .collect();
                            entries.sort_by(|a, b| a.name.cmp(&b.name));
                            let res = resource_result(
                                r.error_code,
                                r.error_message.as_deref(),
                                &format!("{what} {name:?}"),
                                entries,
                            );
                            (r.resource_type, name, res)
                        })
                        .collect()
                },
            )
            .await?;
        Ok(collect(&items, answers, "describe configs of"))
    }

    /// [`AdminClient::describe_configs`] for synchronous code.
    pub fn describe_configs_blocking(
        &self,
        resources: &[ConfigResource],
        opts: &AdminOptions,
    ) -> Result<Vec<(ConfigResource, Result<Vec<ConfigEntry>>)>> {
        let (resources, opts) = (resources.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.describe_configs(&resources, &opts).await })
    }

    /// Applies set/delete/append/subtract changes to each resource's
    /// configuration (IncrementalAlterConfigs, Kafka 2.3+); other configs
    /// keep their values. Per resource: `Ok(())` or the broker's error
    /// (`InvalidConfig` with the broker's message for an unknown name or
    /// a bad value). Honours `validate_only`.
    pub async fn incremental_alter_configs(
        &self,
        changes: &[(ConfigResource, Vec<AlterConfigOp>)],
        opts: &AdminOptions,
    ) -> Result<Vec<(ConfigResource, Result<()>)>> {
        let answers = self
            .per_destination(
                changes,
                opts,
                |_v, mine| {
                    let mut req = IncrementalAlterConfigsRequest::default();
                    req.validate_only = opts.validate_only;
                    req.resources = mine
                        .iter()
                        .map(|(r, ops)| {
                            let mut a =
                                incremental_alter_configs_request::AlterConfigsResource::default();
                            a.resource_type = r.kind.code();
                            a.resource_name = sb(&r.name);
                            a.configs = ops
                                .iter()
                                .map(|op| {
                                    let (code, n, v) = op.wire();
                                    let mut c =
                                        incremental_alter_configs_request::AlterableConfig::default(
                                        );
                                    c.name = sb(n);
                                    c.config_operation = code;
                                    c.value = v.map(sb);
                                    c
                                })
                                .collect();
                            a
                        })
                        .collect();
                    Ok(req)
                },
                |resp| {
                    resp.responses
                        .into_iter()
                        .map(|r| {
                            let name = r.resource_name.to_string();
                            let res = resource_result(
                                r.error_code,
                                r.error_message.as_deref(),
                                &format!("alter configs of {name:?}"),
                                (),
                            );
                            (r.resource_type, name, res)
                        })
                        .collect()
                },
            )
            .await?;
        Ok(collect(changes, answers, "alter configs of"))
    }

    /// [`AdminClient::incremental_alter_configs`] for synchronous code.
    pub fn incremental_alter_configs_blocking(
        &self,
        changes: &[(ConfigResource, Vec<AlterConfigOp>)],
        opts: &AdminOptions,
    ) -> Result<Vec<(ConfigResource, Result<()>)>> {
        let (changes, opts) = (changes.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.incremental_alter_configs(&changes, &opts).await })
    }

    /// Replaces each resource's whole dynamic configuration with the given
    /// `(name, value)` pairs (the legacy AlterConfigs: configs not listed
    /// go back to their defaults). Prefer
    /// [`AdminClient::incremental_alter_configs`]. Honours `validate_only`.
    pub async fn alter_configs(
        &self,
        configs: &[(ConfigResource, Vec<(String, String)>)],
        opts: &AdminOptions,
    ) -> Result<Vec<(ConfigResource, Result<()>)>> {
        let answers = self
            .per_destination(
                configs,
                opts,
                |_v, mine| {
                    let mut req = AlterConfigsRequest::default();
                    req.validate_only = opts.validate_only;
                    req.resources = mine
                        .iter()
                        .map(|(r, kv)| {
                            let mut a = alter_configs_request::AlterConfigsResource::default();
                            a.resource_type = r.kind.code();
                            a.resource_name = sb(&r.name);
                            a.configs = kv
                                .iter()
                                .map(|(k, v)| {
                                    let mut c = alter_configs_request::AlterableConfig::default();
                                    c.name = sb(k);
                                    c.value = Some(sb(v));
                                    c
                                })
                                .collect();
                            a
                        })
                        .collect();
                    Ok(req)
                },
                |resp| {
                    resp.responses
                        .into_iter()
                        .map(|r| {
                            let name = r.resource_name.to_string();
                            let res = resource_result(
                                r.error_code,
                                r.error_message.as_deref(),
                                &format!("alter configs of {name:?}"),
                                (),
                            );
                            (r.resource_type, name, res)
                        })
                        .collect()
                },
            )
            .await?;
        Ok(collect(configs, answers, "alter configs of"))
    }

    /// [`AdminClient::alter_configs`] for synchronous code.
    pub fn alter_configs_blocking(
        &self,
        configs: &[(ConfigResource, Vec<(String, String)>)],
        opts: &AdminOptions,
    ) -> Result<Vec<(ConfigResource, Result<()>)>> {
        let (configs, opts) = (configs.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.alter_configs(&configs, &opts).await })
    }
}
