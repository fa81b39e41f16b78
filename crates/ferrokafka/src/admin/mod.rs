//! The admin client: cluster metadata now, the Admin API (topics, configs,
//! groups, ACLs) as it lands.
//!
//! An [`AdminClient`] works from async code (`.await` its methods inside a
//! tokio runtime) and from plain threads (the `*_blocking` methods). Created
//! outside a runtime it runs its tasks on a background runtime thread of its
//! own, stopped when the client is dropped.
//!
//! ```no_run
//! use ferrokafka::{admin::AdminClient, ClientConfig};
//! use std::time::Duration;
//!
//! let admin = AdminClient::new(&ClientConfig::new().set("bootstrap.servers", "localhost:9092"))?;
//! let md = admin.metadata_blocking(None, Duration::from_secs(10))?;
//! for b in &md.brokers {
//!     println!("broker {} at {}:{}", b.id, b.host, b.port);
//! }
//! # Ok::<(), ferrokafka::Error>(())
//! ```

mod groups;

pub use groups::{GroupDescription, GroupListing, GroupMember};

use crate::cluster::{Cluster, ClusterSettings, Metadata};
use crate::config::{ClientConfig, ClientRole};
use crate::error::Result;
use crate::net::ClientRuntime;
use std::time::Duration;

/// A client for cluster metadata and administration.
#[derive(Debug, Clone)]
pub struct AdminClient {
    cluster: Cluster,
}

impl AdminClient {
    /// Validates `config` (common properties; `bootstrap.servers` is
    /// required) and creates the client. No connection is opened until the
    /// first call.
    pub fn new(config: &ClientConfig) -> Result<AdminClient> {
        let c = config.validate(ClientRole::Admin)?;
        let settings = ClusterSettings::from_config(&c)?;
        let rt = ClientRuntime::current_or_owned()?;
        Ok(AdminClient {
            cluster: Cluster::new(settings, rt)?,
        })
    }

    /// Brokers and topics of the cluster: every topic when `topic` is
    /// `None`, else just that one (a missing topic is listed with its
    /// `UnknownTopicOrPartition` error, not created). Brokers are tried in
    /// turn until one answers; fails with `AllBrokersDown` when none does
    /// within `timeout`.
    pub async fn metadata(&self, topic: Option<&str>, timeout: Duration) -> Result<Metadata> {
        let topics = topic.map(|t| vec![t.to_string()]);
        self.cluster.metadata(topics.as_deref(), timeout).await
    }

    /// [`AdminClient::metadata`] for synchronous code. Must not be called
    /// from inside an async runtime (it returns an error there).
    pub fn metadata_blocking(&self, topic: Option<&str>, timeout: Duration) -> Result<Metadata> {
        let admin = self.clone();
        let topic = topic.map(str::to_string);
        self.cluster
            .runtime()
            .clone()
            .block_on(async move { admin.metadata(topic.as_deref(), timeout).await })
    }
}
