//! API version negotiation (KIP-35): which version of each API we speak
//! with one broker.
//!
//! Owns our own supported range per API ([`SUPPORTED`]), the intersection
//! with what a broker advertises in its ApiVersions response, and the
//! built-in tables used when `api.version.request=false` (selected by
//! `broker.version.fallback`). Sending the ApiVersions request itself is the
//! connection's job (`net`).

use super::codes;
use crate::error::{Error, ErrorCode, Result};
use kafka_protocol::messages::ApiKey;

/// Our supported version range per API, `(api key, min, max)`.
///
/// The lower bounds follow what the `kafka-protocol` crate can encode (Kafka
/// 4 dropped the oldest versions of Produce and Fetch). Upper bounds stop
/// before versions that change semantics we do not implement yet: Fetch
/// v13+ (topic ids instead of names), FindCoordinator v5+ (share groups),
/// Produce v13+ (topic ids). Produce v11-12, EndTxn v4-5 and
/// TxnOffsetCommit v4-5 are KIP-890's: the producer caps them per request
/// (`producer::txn::coordinator`), using them only under transaction
/// version 2.
pub(crate) const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::ListTransactions, 0, 1),
    (ApiKey::UpdateFeatures, 0, 2),
    (ApiKey::WriteTxnMarkers, 1, 1),
];

/// The highest ApiVersions version we send first; answered with
/// UNSUPPORTED_VERSION by older brokers, then we retry lower.
pub(crate) const API_VERSIONS_MAX: i16 = 3;

/// Number of slots in a table indexed by API key (keys are 0..=92 today).
const SLOTS: usize = 128;

/// Our supported range for `key`, if we speak that API at all.
pub(crate) fn supported(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, lo, hi)| (lo, hi))
}

/// The versions negotiated with one broker: per API, the highest version
/// both sides support, plus the broker's advertised range for error text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ApiVersionTable {
    /// Negotiated version per API key, `-1` when there is no common version.
    chosen: [i16; SLOTS],
    /// The broker's `(min, max)` per API key, `(-1, -1)` when not advertised.
    broker: [(i16, i16); SLOTS],
}

impl std::fmt::Debug for ApiVersionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (i, v) in self.chosen.iter().enumerate() {
            if *v >= 0 {
                m.entry(&i, v);
            }
        }
        m.finish()
    }
}

impl ApiVersionTable {
    /// Intersects a broker's advertised `(key, min, max)` ranges with
    /// [`SUPPORTED`]. Unknown keys and inverted ranges are ignored.
    pub(crate) fn negotiate(broker: impl IntoIterator<Item = (i16, i16, i16)>) -> Self {
        let mut t = ApiVersionTable {
            chosen: [-1; SLOTS],
            broker: [(-1, -1); SLOTS],
        };
        for (key, min, max) in broker {
            let Ok(slot) = usize::try_from(key) else {
                continue;
            };
            if slot >= SLOTS || min < 0 || min > max {
                continue;
            }
            t.broker[slot] = (min, max);
            let Ok(api) = ApiKey::try_from(key) else {
                continue;
            };
            if let Some((lo, hi)) = supported(api) {
                let v = hi.min(max);
                if v >= lo.max(min) {
                    t.chosen[slot] = v;
                }
            }
        }
        t
    }

    /// The table for a broker of `version` (`broker.version.fallback`), used
    /// when `api.version.request=false` or the broker cannot answer
    /// ApiVersions. Versions below 0.10.0 have no table we can use: their
    /// Produce and Fetch versions predate what we encode.
    pub(crate) fn fallback(version: &str) -> Result<Self> {
        let parsed = parse_broker_version(version).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidArg,
                format!(
                    "broker.version.fallback={version:?} is not a version (expected e.g. \"2.0.0\")"
                ),
            )
        })?;
        let table = FALLBACK_TABLES
            .iter()
            .rev()
            .find(|(v, _)| *v <= parsed)
            .map(|(_, t)| *t)
            .unwrap_or(FALLBACK_0_9);
        Ok(Self::negotiate(
            table.iter().map(|&(k, max)| (k as i16, 0, max)),
        ))
    }

    /// The negotiated version of `key`, if there is one.
    pub(crate) fn version(&self, key: ApiKey) -> Option<i16> {
        let v = *self.chosen.get(key as i16 as usize)?;
        (v >= 0).then_some(v)
    }

    /// The negotiated version of `key`, or an error saying that neither
    /// side's range covers the other's.
    pub(crate) fn require(&self, key: ApiKey) -> Result<i16> {
        self.version(key).ok_or_else(|| {
            let slot = key as i16 as usize;
            let (bmin, bmax) = self.broker.get(slot).copied().unwrap_or((-1, -1));
            let ours = supported(key)
                .map(|(lo, hi)| format!("{lo}..={hi}"))
                .unwrap_or_else(|| "none".into());
            let theirs = if bmin < 0 {
                "none".to_string()
            } else {
                format!("{bmin}..={bmax}")
            };
            Error::new(
                codes::UNSUPPORTED_VERSION,
                format!(
                    "broker does not support a version of {key:?} we speak \
                     (client supports {ours}, broker advertises {theirs})"
                ),
            )
        })
    }
}

/// `"2.3.1"` -> `(2, 3, 1)`; extra components are ignored, missing ones are 0.
fn parse_broker_version(s: &str) -> Option<(u16, u16, u16)> {
    let mut parts = s.trim().split('.');
    let mut next = |required: bool| -> Option<u16> {
        match parts.next() {
            Some(p) => p.parse().ok(),
            None if required => None,
            None => Some(0),
        }
    };
    Some((next(true)?, next(false)?, next(false)?))
}

type Table = &'static [(ApiKey, i16)];

/// Highest version per API of Apache Kafka brokers before ApiVersions.
const FALLBACK_0_9: Table = &[
    (ApiKey::Produce, 1),
    (ApiKey::Fetch, 1),
    (ApiKey::ListOffsets, 0),
    (ApiKey::Metadata, 0),
    (ApiKey::OffsetCommit, 2),
    (ApiKey::OffsetFetch, 1),
    (ApiKey::FindCoordinator, 0),
    (ApiKey::JoinGroup, 0),
    (ApiKey::Heartbeat, 0),
    (ApiKey::LeaveGroup, 0),
    (ApiKey::SyncGroup, 0),
    (ApiKey::DescribeGroups, 0),
    (ApiKey::ListGroups, 0),
];

const FALLBACK_0_10: Table = &[
    (ApiKey::Produce, 2),
    (ApiKey::Fetch, 3),
    (ApiKey::ListOffsets, 1),
    (ApiKey::Metadata, 2),
    (ApiKey::OffsetCommit, 2),
    (ApiKey::OffsetFetch, 2),
    (ApiKey::FindCoordinator, 0),
    (ApiKey::JoinGroup, 1),
    (ApiKey::Heartbeat, 0),
    (ApiKey::LeaveGroup, 0),
    (ApiKey::SyncGroup, 0),
    (ApiKey::DescribeGroups, 0),
    (ApiKey::ListGroups, 0),
    (ApiKey::SaslHandshake, 0),
    (ApiKey::ApiVersions, 0),
    (ApiKey::CreateTopics, 1),
    (ApiKey::DeleteTopics, 0),
];

const FALLBACK_0_11: Table = &[
    (ApiKey::Produce, 3),
    (ApiKey::Fetch, 5),
    (ApiKey::ListOffsets, 2),
    (ApiKey::Metadata, 4),
    (ApiKey::OffsetCommit, 3),
    (ApiKey::OffsetFetch, 3),
    (ApiKey::FindCoordinator, 1),
    (ApiKey::JoinGroup, 2),
    (ApiKey::Heartbeat, 1),
    (ApiKey::LeaveGroup, 1),
    (ApiKey::SyncGroup, 1),
    (ApiKey::DescribeGroups, 1),
    (ApiKey::ListGroups, 1),
    (ApiKey::SaslHandshake, 0),
    (ApiKey::ApiVersions, 1),
    (ApiKey::CreateTopics, 2),
    (ApiKey::DeleteTopics, 1),
    (ApiKey::DeleteRecords, 0),
    (ApiKey::InitProducerId, 0),
    (ApiKey::OffsetForLeaderEpoch, 0),
    (ApiKey::AddPartitionsToTxn, 0),
    (ApiKey::AddOffsetsToTxn, 0),
    (ApiKey::EndTxn, 0),
    (ApiKey::TxnOffsetCommit, 0),
    (ApiKey::DescribeAcls, 0),
    (ApiKey::CreateAcls, 0),
    (ApiKey::DeleteAcls, 0),
    (ApiKey::DescribeConfigs, 0),
    (ApiKey::AlterConfigs, 0),
];

const FALLBACK_1_0: Table = &[
    (ApiKey::Produce, 5),
    (ApiKey::Fetch, 6),
    (ApiKey::ListOffsets, 2),
    (ApiKey::Metadata, 5),
    (ApiKey::OffsetCommit, 3),
    (ApiKey::OffsetFetch, 3),
    (ApiKey::FindCoordinator, 1),
    (ApiKey::JoinGroup, 2),
    (ApiKey::Heartbeat, 1),
    (ApiKey::LeaveGroup, 1),
    (ApiKey::SyncGroup, 1),
    (ApiKey::DescribeGroups, 1),
    (ApiKey::ListGroups, 1),
    (ApiKey::SaslHandshake, 1),
    (ApiKey::ApiVersions, 1),
    (ApiKey::CreateTopics, 2),
    (ApiKey::DeleteTopics, 1),
    (ApiKey::DeleteRecords, 0),
    (ApiKey::InitProducerId, 0),
    (ApiKey::OffsetForLeaderEpoch, 0),
    (ApiKey::AddPartitionsToTxn, 0),
    (ApiKey::AddOffsetsToTxn, 0),
    (ApiKey::EndTxn, 0),
    (ApiKey::TxnOffsetCommit, 0),
    (ApiKey::DescribeAcls, 0),
    (ApiKey::CreateAcls, 0),
    (ApiKey::DeleteAcls, 0),
    (ApiKey::DescribeConfigs, 0),
    (ApiKey::AlterConfigs, 0),
    (ApiKey::DescribeLogDirs, 0),
    (ApiKey::SaslAuthenticate, 0),
    (ApiKey::CreatePartitions, 0),
];

const FALLBACK_2_0: Table = &[
    (ApiKey::Produce, 6),
    (ApiKey::Fetch, 8),
    (ApiKey::ListOffsets, 3),
    (ApiKey::Metadata, 6),
    (ApiKey::OffsetCommit, 4),
    (ApiKey::OffsetFetch, 4),
    (ApiKey::FindCoordinator, 2),
    (ApiKey::JoinGroup, 3),
    (ApiKey::Heartbeat, 2),
    (ApiKey::LeaveGroup, 2),
    (ApiKey::SyncGroup, 2),
    (ApiKey::DescribeGroups, 2),
    (ApiKey::ListGroups, 2),
    (ApiKey::SaslHandshake, 1),
    (ApiKey::ApiVersions, 2),
    (ApiKey::CreateTopics, 3),
    (ApiKey::DeleteTopics, 2),
    (ApiKey::DeleteRecords, 1),
    (ApiKey::InitProducerId, 1),
    (ApiKey::OffsetForLeaderEpoch, 1),
    (ApiKey::AddPartitionsToTxn, 1),
    (ApiKey::AddOffsetsToTxn, 1),
    (ApiKey::EndTxn, 1),
    (ApiKey::TxnOffsetCommit, 1),
    (ApiKey::DescribeAcls, 1),
    (ApiKey::CreateAcls, 1),
    (ApiKey::DeleteAcls, 1),
    (ApiKey::DescribeConfigs, 2),
    (ApiKey::AlterConfigs, 1),
    (ApiKey::DescribeLogDirs, 1),
    (ApiKey::SaslAuthenticate, 0),
    (ApiKey::CreatePartitions, 1),
    (ApiKey::DeleteGroups, 1),
];

/// Built-in tables by the first broker release they describe, ascending.
const FALLBACK_TABLES: &[((u16, u16, u16), Table)] = &[
    ((0, 9, 0), FALLBACK_0_9),
    ((0, 10, 0), FALLBACK_0_10),
    ((0, 11, 0), FALLBACK_0_11),
    ((1, 0, 0), FALLBACK_1_0),
    ((2, 0, 0), FALLBACK_2_0),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_ranges_are_within_what_the_codec_crate_encodes() {
        for &(key, lo, hi) in SUPPORTED {
            let codec = key.valid_versions();
            assert!(
                lo <= hi && lo >= codec.min && hi <= codec.max,
                "{key:?}: ours {lo}..={hi}, kafka-protocol {}",
                codec
            );
        }
    }

    #[test]
    fn negotiation_picks_highest_common_version() {
        let t = ApiVersionTable::negotiate([
            (ApiKey::Metadata as i16, 0, 20),
            (ApiKey::Produce as i16, 0, 7),
            (ApiKey::Fetch as i16, 0, 3), // below our minimum 4
            (ApiKey::ApiVersions as i16, 0, 3),
        ]);
        assert_eq!(
            t.version(ApiKey::Metadata),
            supported(ApiKey::Metadata).map(|r| r.1)
        );
        assert_eq!(t.version(ApiKey::Produce), Some(7));
        assert_eq!(t.version(ApiKey::Fetch), None);
        assert_eq!(t.version(ApiKey::JoinGroup), None, "not advertised");
        let err = t.require(ApiKey::Fetch).unwrap_err();
        assert!(err.message().contains("broker advertises 0..=3"), "{err}");
        assert!(t
            .require(ApiKey::JoinGroup)
            .unwrap_err()
            .message()
            .contains("advertises none"));
    }

    #[test]
    fn negotiation_ignores_garbage_entries() {
        let t = ApiVersionTable::negotiate([
            (-5, 0, 3),
            (i16::MAX, 0, 3),
            (ApiKey::Metadata as i16, 9, 2), // inverted
            (ApiKey::Produce as i16, -1, 9),
        ]);
        assert_eq!(t.version(ApiKey::Metadata), None);
        assert_eq!(t.version(ApiKey::Produce), None);
    }

    #[test]
    fn fallback_tables_select_by_broker_version() {
        let t = ApiVersionTable::fallback("2.3.1").unwrap();
        assert_eq!(t.version(ApiKey::Metadata), Some(6));
        assert_eq!(t.version(ApiKey::Produce), Some(6));
        let t = ApiVersionTable::fallback("0.11.0.2").unwrap();
        assert_eq!(t.version(ApiKey::Produce), Some(3));
        assert_eq!(t.version(ApiKey::Metadata), Some(4));
        let t = ApiVersionTable::fallback("0.10.0").unwrap();
        assert_eq!(t.version(ApiKey::Metadata), Some(2));
        assert_eq!(
            t.version(ApiKey::Produce),
            None,
            "v2 is below what we encode"
        );
        let t = ApiVersionTable::fallback("0.8.2").unwrap();
        assert_eq!(t.version(ApiKey::Metadata), Some(0));
        let err = ApiVersionTable::fallback("banana").unwrap_err();
        assert!(err.message().contains("broker.version.fallback"));
    }

    #[test]
    fn every_fallback_table_is_sorted_and_known() {
        let mut prev = (0, 0, 0);
        for (v, table) in FALLBACK_TABLES {
            assert!(*v >= prev);
            prev = *v;
            assert!(!table.is_empty());
        }
    }
}
