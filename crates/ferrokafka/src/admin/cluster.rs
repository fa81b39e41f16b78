//! Cluster description: DescribeCluster (KIP-700, Kafka 2.8+) at any
//! broker, with the cluster's authorized operations when asked; and the
//! log directories of every broker (DescribeLogDirs at each broker, which
//! reports only its own).

use super::{left, resource_error, AclOperation, AdminClient, AdminOptions};
use crate::error::Result;
use crate::net::ConnectionKind;
use kafka_protocol::messages::{DescribeClusterRequest, DescribeLogDirsRequest};

/// One log directory of a broker, from [`AdminClient::describe_log_dirs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDirDescription {
    /// The broker.
    pub broker: i32,
    /// The directory's path.
    pub path: String,
    /// The directory's error (e.g. `KafkaStorageError` for an offline
    /// directory), if any.
    pub error: Option<crate::ErrorCode>,
    /// The replicas in it: `(topic, partition, size in bytes, offset lag)`,
    /// sorted.
    pub replicas: Vec<(String, i32, i64, i64)>,
    /// The volume's total and usable bytes, from brokers that say (v4+).
    pub total_bytes: Option<i64>,
    /// See `total_bytes`.
    pub usable_bytes: Option<i64>,
}

/// The cluster as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// The controller's broker id, `None` when the broker names none.
    pub controller: Option<i32>,
    /// The live brokers `(id, host, port, rack)`, by id.
    pub brokers: Vec<ClusterBroker>,
    /// What this client may do on the cluster resource, when the broker
    /// reports it.
    pub authorized_operations: Option<Vec<AclOperation>>,
}

/// One broker of a [`ClusterDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterBroker {
    /// The broker id.
    pub id: i32,
    /// Its advertised host.
    pub host: String,
    /// Its advertised port.
    pub port: i32,
    /// Its rack, if configured.
    pub rack: Option<String>,
}

impl AdminClient {
    /// Describes the cluster (id, controller, brokers, and the
    /// authorized operations on the cluster resource).
    pub async fn describe_cluster(&self, opts: &AdminOptions) -> Result<ClusterDescription> {
        let deadline = opts.deadline();
        let build = |_v: i16| {
            let mut req = DescribeClusterRequest::default();
            req.include_cluster_authorized_operations = true;
            Ok(req)
        };
        let (_, r) = self.call_any(deadline, build).await?;
        if let Some(e) =
            super::resource_error(r.error_code, r.error_message.as_deref(), "describe cluster")
        {
            return Err(e);
        }
        let mut brokers: Vec<ClusterBroker> = r
            .brokers
            .into_iter()
            .map(|b| ClusterBroker {
                id: b.broker_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.map(|r| r.to_string()),
            })
            .collect();
        brokers.sort_by_key(|b| b.id);
        Ok(ClusterDescription {
            cluster_id: r.cluster_id.to_string(),
            controller: (r.controller_id.0 >= 0).then_some(r.controller_id.0),
            brokers,
            authorized_operations: AclOperation::from_bits(r.cluster_authorized_operations),
        })
    }

    /// The log directories of every broker with the replicas they hold.
    /// A broker that cannot be reached fails the call.
    pub async fn describe_log_dirs(&self, opts: &AdminOptions) -> Result<Vec<LogDirDescription>> {
        let deadline = opts.deadline();
        let md = self
            .cluster
            .metadata(Some(&[]), left(deadline, "describe log dirs")?)
            .await?;
        let mut out = Vec::new();
        for b in &md.brokers {
            let build = |_v: i16| {
                let mut req = DescribeLogDirsRequest::default();
                req.topics = None;
                Ok(req)
            };
            let (v, r) = self
                .call_at(b.id, ConnectionKind::Admin, deadline, &build)
                .await?;
            if let Some(e) = resource_error(
                r.error_code,
                None,
                &format!("describe log dirs of broker {}", b.id),
            ) {
                return Err(e);
            }
            for d in r.results {
                let mut replicas: Vec<(String, i32, i64, i64)> = d
                    .topics
                    .iter()
                    .flat_map(|t| {
                        t.partitions.iter().map(move |p| {
                            (
                                t.name.0.to_string(),
                                p.partition_index,
                                p.partition_size,
                                p.offset_lag,
                            )
                        })
                    })
                    .collect();
                replicas.sort();
                out.push(LogDirDescription {
                    broker: b.id,
                    path: d.log_dir.to_string(),
                    error: resource_error(d.error_code, None, "").map(|e| e.code()),
                    replicas,
                    total_bytes: (v >= 4 && d.total_bytes >= 0).then_some(d.total_bytes),
                    usable_bytes: (v >= 4 && d.usable_bytes >= 0).then_some(d.usable_bytes),
                });
            }
        }
        Ok(out)
    }

    /// [`AdminClient::describe_log_dirs`] for synchronous code.
    pub fn describe_log_dirs_blocking(
        &self,
        opts: &AdminOptions,
    ) -> Result<Vec<LogDirDescription>> {
        let opts = opts.clone();
        self.blocking(move |a| async move { a.describe_log_dirs(&opts).await })
    }

    /// [`AdminClient::describe_cluster`] for synchronous code.
    pub fn describe_cluster_blocking(&self, opts: &AdminOptions) -> Result<ClusterDescription> {
        let opts = opts.clone();
        self.blocking(move |a| async move { a.describe_cluster(&opts).await })
    }
}
