//! The admin client: cluster metadata and the Admin API (topics, configs,
//! records and offsets, consumer groups, cluster, ACLs, SCRAM credentials).
//!
//! An [`AdminClient`] works from async code (`.await` its methods inside a
//! tokio runtime) and from plain threads (the `*_blocking` methods). Created
//! outside a runtime it runs its tasks on a background runtime thread of its
//! own, stopped when the client is dropped.
//!
//! This module owns routing (which broker an admin request goes to: the
//! controller, a partition's leader, a group's coordinator or any broker),
//! per-call [`AdminOptions`] and the per-resource result convention: every
//! multi-resource call returns one `(name, Result<..>)` per resource, so one
//! failed topic does not hide the others. A resource's error carries the
//! broker's [`crate::ErrorCode`] and, when the broker sent one,
//! its message. The call itself fails only when no broker could answer.
//! Request encoding and response decoding stay in `protocol` and the
//! `kafka-protocol` crate; connections in `net`; metadata in `cluster`.
//!
//! ```no_run
//! use ferrokafka::admin::{AdminClient, AdminOptions, NewTopic};
//! use ferrokafka::ClientConfig;
//! use std::time::Duration;
//!
//! let admin = AdminClient::new(&ClientConfig::new().set("bootstrap.servers", "localhost:9092"))?;
//! let md = admin.metadata_blocking(None, Duration::from_secs(10))?;
//! for b in &md.brokers {
//!     println!("broker {} at {}:{}", b.id, b.host, b.port);
//! }
//! let created = admin.create_topics_blocking(
//!     &[NewTopic::new("events", 3, 1).config("retention.ms", "3600000")],
//!     &AdminOptions::new(),
//! )?;
//! for (name, result) in created {
//!     match result {
//!         Ok(_) => println!("created {name}"),
//!         Err(e) => eprintln!("{name}: {e}"),
//!     }
//! }
//! # Ok::<(), ferrokafka::Error>(())
//! ```

mod acl;
mod cluster;
mod configs;
mod features;
mod groups;
mod quotas;
mod records;
mod replicas;
mod scram;
mod topics;
mod transactions;

pub use acl::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, AclResourceType, PatternType,
};
pub use cluster::{ClusterBroker, ClusterDescription, LogDirDescription};
pub use configs::{
    AlterConfigOp, ConfigEntry, ConfigResource, ConfigSource, ConfigSynonym, ResourceType,
};
pub use features::{
    FeatureMetadata, FeatureUpdate, FeatureUpgradeType, FinalizedFeature, SupportedFeature,
};
pub use groups::{GroupDescription, GroupListing, GroupMember, MemberToRemove};
pub use quotas::{QuotaAlteration, QuotaEntity, QuotaEntry, QuotaFilterComponent, QuotaMatch};
pub use records::{IsolationLevel, ListedOffset, OffsetSpec};
pub use replicas::{ElectionType, PartitionReassignment, Reassignment};
pub use scram::{ScramAlteration, ScramCredentialInfo, ScramMechanism, SCRAM_DEFAULT_ITERATIONS};
pub use topics::{NewPartitions, NewTopic, TopicDescription, TopicId, TopicPartitionInfo};
pub use transactions::{
    AbortTransactionSpec, FencedProducer, ProducerState, TransactionDescription, TransactionListing,
};

use crate::cluster::{Cluster, ClusterSettings, Metadata};
use crate::config::{ClientConfig, ClientRole};
use crate::error::{Error, ErrorCode, Result};
use crate::net::{ClientRuntime, ConnectionKind};
use crate::protocol::ApiRequest;
use crate::TopicPartition;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// The result of one resource (topic, config resource, partition, group)
/// in a multi-resource admin call.
pub type ResourceResult<T> = Result<T>;

/// One result per partition, keyed by its [`TopicPartition`], in the order
/// the partitions were given.
pub type PartitionResults<T> = Vec<(TopicPartition, ResourceResult<T>)>;

/// Per-call options of the Admin API.
///
/// ```
/// use ferrokafka::admin::AdminOptions;
/// use std::time::Duration;
/// let opts = AdminOptions::new()
///     .request_timeout(Duration::from_secs(5))
///     .operation_timeout(Duration::from_secs(2))
///     .validate_only(true);
/// assert!(opts.is_validate_only());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminOptions {
    request_timeout: Duration,
    operation_timeout: Option<Duration>,
    validate_only: bool,
}

impl Default for AdminOptions {
    fn default() -> Self {
        AdminOptions {
            request_timeout: Duration::from_secs(30),
            operation_timeout: None,
            validate_only: false,
        }
    }
}

impl AdminOptions {
    /// Defaults: 30 s for the whole call, the broker may take as long for
    /// the operation, changes are applied.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long the whole call may take, including finding the broker to
    /// send to and retries after NOT_CONTROLLER or NOT_COORDINATOR.
    #[must_use]
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// How long the broker waits for an operation to complete before it
    /// answers (the `timeout_ms` of CreateTopics, DeleteTopics,
    /// CreatePartitions, DeleteRecords and ElectLeaders). Defaults to the
    /// request timeout.
    #[must_use]
    pub fn operation_timeout(mut self, t: Duration) -> Self {
        self.operation_timeout = Some(t);
        self
    }

    /// Only validate the request at the broker, changing nothing
    /// (CreateTopics, CreatePartitions, AlterConfigs and
    /// IncrementalAlterConfigs).
    #[must_use]
    pub fn validate_only(mut self, on: bool) -> Self {
        self.validate_only = on;
        self
    }

    /// Whether this call only validates.
    pub fn is_validate_only(&self) -> bool {
        self.validate_only
    }

    /// The whole call's deadline, from now.
    fn deadline(&self) -> Instant {
        Instant::now() + self.request_timeout
    }

    /// The operation timeout for the wire, in milliseconds.
    fn operation_ms(&self) -> i32 {
        let t = self.operation_timeout.unwrap_or(self.request_timeout);
        i32::try_from(t.as_millis()).unwrap_or(i32::MAX)
    }
}

/// A client for cluster metadata and administration.
#[derive(Debug, Clone)]
pub struct AdminClient {
    cluster: Cluster,
}

/// How many times a request is re-routed after NOT_CONTROLLER or
/// NOT_COORDINATOR before the error is reported.
const MAX_REROUTES: usize = 5;

/// The time left until `deadline`, or a TIMED_OUT error naming `what`.
fn left(deadline: Instant, what: &str) -> Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        return Err(Error::new(
            ErrorCode::TimedOut,
            format!("{what}: the request timeout passed"),
        ));
    }
    Ok(d)
}

/// The error of one resource from a broker's code and optional message.
/// `None` for code 0.
pub(crate) fn resource_error(code: i16, message: Option<&str>, what: &str) -> Option<Error> {
    if code == 0 {
        return None;
    }
    let c = ErrorCode::from_kafka(code);
    Some(match message.filter(|m| !m.is_empty()) {
        Some(m) => Error::new(c, format!("{what}: {m}")),
        None => Error::from_kafka(code, what),
    })
}

/// `Ok(v)` for code 0, else the resource's error.
pub(crate) fn resource_result<T>(code: i16, message: Option<&str>, what: &str, v: T) -> Result<T> {
    match resource_error(code, message, what) {
        None => Ok(v),
        Some(e) => Err(e),
    }
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

    /// Calls `callback` with every error event (on the client's runtime; it
    /// must not block): the non-fatal events listed at
    /// [`ErrorStream`](crate::events::ErrorStream), which a call that then
    /// fails also names in its error. Replaces an earlier callback.
    pub fn set_error_callback(&self, callback: impl Fn(&Error) + Send + Sync + 'static) {
        self.cluster
            .observer()
            .set_callback(std::sync::Arc::new(callback));
    }

    /// The client's error events from now on, as an async stream (see
    /// [`ErrorStream`](crate::events::ErrorStream)).
    pub fn error_stream(&self) -> crate::events::ErrorStream {
        self.cluster.observer().subscribe()
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
        let topic = topic.map(str::to_string);
        self.blocking(move |a| async move { a.metadata(topic.as_deref(), timeout).await })
    }

    /// Runs an async admin call from synchronous code on the client's
    /// runtime; refused inside an async runtime.
    fn blocking<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(AdminClient) -> Fut,
        Fut: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let fut = f(self.clone());
        self.cluster.runtime().clone().block_on(fut)
    }

    /// The negotiated version of `R` at broker `id` and the request built
    /// for it, sent; returns the version used and the response.
    async fn call_at<R: ApiRequest>(
        &self,
        id: i32,
        kind: ConnectionKind,
        deadline: Instant,
        build: &impl Fn(i16) -> Result<R>,
    ) -> Result<(i16, R::Response)> {
        let conn = self.cluster.connection(id, kind)?;
        let t = left(deadline, &format!("{:?}", R::KEY))?;
        let version = conn.api_versions(Some(t)).await?.require(R::KEY)?;
        let req = build(version)?;
        let t = left(deadline, &format!("{:?}", R::KEY))?;
        let resp = conn.send_version(&req, version, Some(t)).await?;
        Ok((version, resp))
    }

    /// The controller's id from fresh metadata.
    async fn controller(&self, deadline: Instant) -> Result<i32> {
        let md = self
            .cluster
            .metadata(Some(&[]), left(deadline, "finding the controller")?)
            .await?;
        match md.controller_id {
            Some(id) if id >= 0 => Ok(id),
            // A cluster that names no controller (old brokers, some
            // proxies): any broker forwards controller requests.
            _ => md.brokers.first().map(|b| b.id).ok_or_else(|| {
                Error::new(ErrorCode::BrokerNotAvailable, "metadata listed no brokers")
            }),
        }
    }

    /// Any broker, from fresh metadata (the one that answered it).
    async fn any_broker(&self, deadline: Instant) -> Result<i32> {
        let md = self
            .cluster
            .metadata(Some(&[]), left(deadline, "finding a broker")?)
            .await?;
        if md.brokers.iter().any(|b| b.id == md.orig_broker_id) {
            return Ok(md.orig_broker_id);
        }
        md.brokers
            .first()
            .map(|b| b.id)
            .ok_or_else(|| Error::new(ErrorCode::BrokerNotAvailable, "metadata listed no brokers"))
    }

    /// Sends a controller request, re-routing after the response shows
    /// NOT_CONTROLLER (`not_controller` says whether it does): metadata is
    /// refreshed and the request goes to the new controller.
    async fn call_controller<R: ApiRequest>(
        &self,
        deadline: Instant,
        build: impl Fn(i16) -> Result<R>,
        not_controller: impl Fn(&R::Response) -> bool,
    ) -> Result<(i16, R::Response)> {
        let mut tries = 0;
        loop {
            let id = self.controller(deadline).await?;
            let (v, resp) = self
                .call_at(id, ConnectionKind::Admin, deadline, &build)
                .await?;
            tries += 1;
            if !not_controller(&resp) || tries >= MAX_REROUTES {
                return Ok((v, resp));
            }
            crate::debug::trace_ctx!(self.cluster.observer().debug(), Admin, broker = id, api = ?R::KEY, "NOT_CONTROLLER: re-routing");
            // Give the cluster a moment to settle on a new controller.
            let pause = Duration::from_millis(50 * tries as u64);
            tokio::time::sleep_until((Instant::now() + pause).min(deadline)).await;
        }
    }

    /// Sends a request to any broker.
    async fn call_any<R: ApiRequest>(
        &self,
        deadline: Instant,
        build: impl Fn(i16) -> Result<R>,
    ) -> Result<(i16, R::Response)> {
        let id = self.any_broker(deadline).await?;
        self.call_at(id, ConnectionKind::Admin, deadline, &build)
            .await
    }
}

/// Kafka's NOT_CONTROLLER error code.
const NOT_CONTROLLER: i16 = 41;
