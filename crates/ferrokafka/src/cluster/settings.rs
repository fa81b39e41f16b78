//! The cluster layer's settings: bootstrap servers, connection settings
//! and metadata cache timing, taken from a validated configuration in one
//! place for every client.

use super::state::MetadataSettings;
use crate::error::{Error, ErrorCode, Result};
use crate::net::{BrokerAddress, NetSettings};
use std::sync::Arc;
use std::time::Duration;

/// Settings of a [`Cluster`], taken from the configuration once.
#[derive(Debug, Clone)]
pub(crate) struct ClusterSettings {
    /// `bootstrap.servers`.
    pub bootstrap: Vec<BrokerAddress>,
    /// Connection settings.
    pub net: Arc<NetSettings>,
    /// Metadata cache timing.
    pub metadata: MetadataSettings,
    /// `allow.auto.create.topics` for the cache's own refreshes.
    pub allow_auto_create: bool,
    /// `metadata.recovery.strategy=rebootstrap`: the bootstrap servers stay
    /// metadata candidates after brokers were learned (`none`: they are
    /// dropped from the candidates then).
    pub rebootstrap: bool,
    /// `topic.blacklist`: topics left out of every metadata answer.
    pub topic_blacklist: Vec<regex::Regex>,
}

impl ClusterSettings {
    /// The cluster settings of a validated configuration: the one place
    /// producer, consumer and admin clients turn their configuration into
    /// connection and metadata settings (the role-specific rules included).
    pub(crate) fn from_config(c: &crate::config::Config) -> Result<Self> {
        use crate::config::ClientRole;
        let mut bootstrap = Vec::new();
        for s in c.get_list("metadata.broker.list") {
            bootstrap.push(BrokerAddress::parse(s).ok_or_else(|| {
                Error::config(
                    "bootstrap.servers",
                    s,
                    "a comma-separated list of host:port",
                )
            })?);
        }
        if bootstrap.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "bootstrap.servers is not set: give at least one broker as host:port",
            ));
        }
        let refresh = c.get_duration("topic.metadata.refresh.interval.ms");
        let allow_auto_create = match c.role() {
            // librdkafka: producers may auto-create unless told otherwise.
            ClientRole::Producer => {
                !c.is_set_explicitly("allow.auto.create.topics")
                    || c.get_bool("allow.auto.create.topics")
            }
            _ => c.get_bool("allow.auto.create.topics"),
        };
        let mut propagation_max = c.get_duration("topic.metadata.propagation.max.ms");
        // A consumer that creates no topics reports a missing one at once,
        // as librdkafka's does (issue 13 item 6): the propagation window is
        // for a producer racing the topic's creation. Set explicitly, it
        // is honoured.
        if c.role() == ClientRole::Consumer
            && !allow_auto_create
            && !c.is_set_explicitly("topic.metadata.propagation.max.ms")
        {
            propagation_max = Duration::ZERO;
        }
        crate::debug::dump_config(c);
        Ok(ClusterSettings {
            bootstrap,
            net: Arc::new(NetSettings::from_config(c)?),
            metadata: MetadataSettings {
                max_age: c.get_duration("metadata.max.age.ms"),
                refresh_interval: (refresh != Duration::MAX && !refresh.is_zero())
                    .then_some(refresh),
                propagation_max,
                min_interval: c.get_duration("retry.backoff.ms"),
                // librdkafka: retry.backoff.ms unless set explicitly.
                fast_interval: if c.is_set_explicitly("topic.metadata.refresh.fast.interval.ms") {
                    c.get_duration("topic.metadata.refresh.fast.interval.ms")
                } else {
                    c.get_duration("retry.backoff.ms")
                },
                fast_interval_max: c.get_duration("retry.backoff.max.ms"),
                sparse: c.get_bool("topic.metadata.refresh.sparse"),
            },
            allow_auto_create,
            rebootstrap: c.get_str("metadata.recovery.strategy") == "rebootstrap",
            topic_blacklist: c
                .get_list("topic.blacklist")
                .into_iter()
                .map(|p| {
                    regex::Regex::new(p).map_err(|e| {
                        Error::config("topic.blacklist", p, format!("regular expressions ({e})"))
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Whether `topic.blacklist` hides `topic`.
    pub(crate) fn blacklisted(&self, topic: &str) -> bool {
        self.topic_blacklist.iter().any(|r| r.is_match(topic))
    }
}
