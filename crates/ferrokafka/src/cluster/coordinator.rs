//! Coordinator lookup: FindCoordinator for a group id or a transactional
//! id, asked of the metadata candidates in turn until one answers, and
//! cached per key until a client reports NOT_COORDINATOR
//! ([`Cluster::invalidate_coordinator`]). The connections and the broker
//! registry it uses are the parent module's.

use super::{decode, encode, BrokerMetadata, Cluster};
use crate::error::{Error, Result};
use crate::net::ConnectionKind;
use crate::protocol::{codes, ApiKey};
use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use std::time::Duration;
use tokio::time::Instant;

/// Kind of coordinator (FindCoordinator key type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum CoordinatorType {
    /// A consumer group's coordinator.
    Group = 0,
    /// A transactional id's coordinator.
    Transaction = 1,
}

impl Cluster {
    /// The coordinator of `key` (a group id or transactional id), cached
    /// until [`Self::invalidate_coordinator`].
    pub(crate) async fn coordinator(
        &self,
        kind: CoordinatorType,
        key: &str,
        timeout: Duration,
    ) -> Result<i32> {
        if let Some(id) = self
            .inner
            .coordinators
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(kind, key.to_string()))
        {
            return Ok(*id);
        }
        let deadline = Instant::now() + timeout;
        let mut last = None;
        for id in self.metadata_candidates() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.find_coordinator_at(id, kind, key, left).await {
                Ok(b) => {
                    self.learn_brokers(std::slice::from_ref(&b));
                    self.inner
                        .coordinators
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert((kind, key.to_string()), b.id);
                    return Ok(b.id);
                }
                // A broker answering with an error is authoritative.
                Err(e) if e.code().kafka_code().is_some() => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::new(
                codes::TIMED_OUT,
                format!("no coordinator for {key} within {} ms", timeout.as_millis()),
            )
        }))
    }

    /// Forgets the cached coordinator of `key` (after NOT_COORDINATOR).
    pub(crate) fn invalidate_coordinator(&self, kind: CoordinatorType, key: &str) {
        self.inner
            .coordinators
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(kind, key.to_string()));
    }

    async fn find_coordinator_at(
        &self,
        id: i32,
        kind: CoordinatorType,
        key: &str,
        timeout: Duration,
    ) -> Result<BrokerMetadata> {
        let conn = self.connection(id, ConnectionKind::Admin)?;
        let version = conn
            .api_versions(Some(timeout))
            .await?
            .require(ApiKey::FindCoordinator)?;
        let key_str = StrBytes::from_string(key.to_string());
        let mut req = FindCoordinatorRequest::default().with_key_type(kind as i8);
        if version >= 4 {
            req.coordinator_keys = vec![key_str];
        } else {
            req.key = key_str;
        }
        let body = encode(&req, version)?;
        let resp = conn
            .send_raw(ApiKey::FindCoordinator, version, body, Some(timeout))
            .await?;
        let c = decode::decode_find_coordinator(&resp, version)?;
        if c.error != 0 {
            let mut e = Error::from_kafka(c.error, format!("FindCoordinator for {key}"));
            if let Some(m) = c.message {
                e = Error::new(e.code(), format!("{} ({m})", e.message()));
            }
            return Err(e);
        }
        Ok(c.broker)
    }
}
