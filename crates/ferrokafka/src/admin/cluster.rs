//! Cluster description: DescribeCluster (KIP-700, Kafka 2.8+) at any
//! broker, with the cluster's authorized operations when asked.

use super::{AclOperation, AdminClient, AdminOptions};
use crate::error::Result;
use kafka_protocol::messages::DescribeClusterRequest;

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

    /// [`AdminClient::describe_cluster`] for synchronous code.
    pub fn describe_cluster_blocking(&self, opts: &AdminOptions) -> Result<ClusterDescription> {
        let opts = opts.clone();
        self.blocking(move |a| async move { a.describe_cluster(&opts).await })
    }
}
