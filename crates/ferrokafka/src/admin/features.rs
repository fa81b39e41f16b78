//! Cluster features (KIP-584): what the brokers support and what the
//! cluster has finalized, read from any broker's ApiVersions response
//! (v3+), and changes of finalized levels with UpdateFeatures at the
//! controller. KRaft controllers apply an UpdateFeatures request all or
//! nothing; a version-2 response carries only the request's error, which
//! is then every feature's result.

use super::{resource_error, AdminClient, AdminOptions};
use crate::error::{Error, ErrorCode, Result};
use crate::net::ConnectionKind;
use kafka_protocol::messages::{
    update_features_request::FeatureUpdateKey, ApiVersionsRequest, UpdateFeaturesRequest,
};
use kafka_protocol::protocol::StrBytes;

/// A feature's range of supported versions (at the broker asked).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SupportedFeature {
    /// The feature's name, e.g. `metadata.version`.
    pub name: String,
    /// The lowest supported version.
    pub min_version: i16,
    /// The highest supported version.
    pub max_version: i16,
}

/// A feature's finalized level, cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FinalizedFeature {
    /// The feature's name.
    pub name: String,
    /// The finalized level.
    pub max_version_level: i16,
    /// The lowest level (as brokers report it; equal to the finalized one
    /// on current brokers).
    pub min_version_level: i16,
}

/// What [`AdminClient::describe_features`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureMetadata {
    /// Finalized features, by name.
    pub finalized: Vec<FinalizedFeature>,
    /// The epoch of the finalized features, when the broker knows it.
    pub finalized_epoch: Option<i64>,
    /// The features the answering broker supports, by name.
    pub supported: Vec<SupportedFeature>,
}

/// How [`FeatureUpdate`] may move a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeatureUpgradeType {
    /// Only up (wire code 1).
    Upgrade,
    /// Down, where no metadata is lost (2).
    SafeDowngrade,
    /// Down, even if metadata is lost (3).
    UnsafeDowngrade,
}

impl FeatureUpgradeType {
    fn code(self) -> i8 {
        match self {
            FeatureUpgradeType::Upgrade => 1,
            FeatureUpgradeType::SafeDowngrade => 2,
            FeatureUpgradeType::UnsafeDowngrade => 3,
        }
    }

    /// `upgrade`, `safe-downgrade` or `unsafe-downgrade`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "upgrade" => Some(FeatureUpgradeType::Upgrade),
            "safe-downgrade" | "downgrade" => Some(FeatureUpgradeType::SafeDowngrade),
            "unsafe-downgrade" => Some(FeatureUpgradeType::UnsafeDowngrade),
            _ => None,
        }
    }
}

/// A requested change of one feature's finalized level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureUpdate {
    /// The feature's name.
    pub name: String,
    /// The new level; 0 removes the feature's finalized level.
    pub max_version_level: i16,
    /// Which direction is allowed.
    pub upgrade_type: FeatureUpgradeType,
}

impl FeatureUpdate {
    /// An upgrade of `name` to `level`.
    pub fn upgrade(name: &str, level: i16) -> Self {
        FeatureUpdate {
            name: name.to_string(),
            max_version_level: level,
            upgrade_type: FeatureUpgradeType::Upgrade,
        }
    }
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl AdminClient {
    /// The cluster's finalized features and the supported ranges of the
    /// broker that answers (any broker). Brokers older than ApiVersions v3
    /// report none.
    pub async fn describe_features(&self, opts: &AdminOptions) -> Result<FeatureMetadata> {
        let deadline = opts.deadline();
        let id = self.any_broker(deadline).await?;
        let build = |_v: i16| {
            let mut req = ApiVersionsRequest::default();
            req.client_software_name = sb("ferrokafka");
            req.client_software_version = sb(env!("CARGO_PKG_VERSION"));
            Ok(req)
        };
        let (v, r) = self
            .call_at(id, ConnectionKind::Admin, deadline, &build)
            .await?;
        if let Some(e) = resource_error(r.error_code, None, "describe features") {
            return Err(e);
        }
        let mut finalized: Vec<FinalizedFeature> = r
            .finalized_features
            .iter()
            .map(|f| FinalizedFeature {
                name: f.name.to_string(),
                max_version_level: f.max_version_level,
                min_version_level: f.min_version_level,
            })
            .collect();
        finalized.sort();
        let mut supported: Vec<SupportedFeature> = r
            .supported_features
            .iter()
            .map(|f| SupportedFeature {
                name: f.name.to_string(),
                min_version: f.min_version,
                max_version: f.max_version,
            })
            .collect();
        supported.sort();
        Ok(FeatureMetadata {
            finalized,
            finalized_epoch: (v >= 3 && r.finalized_features_epoch >= 0)
                .then_some(r.finalized_features_epoch),
            supported,
        })
    }

    /// [`AdminClient::describe_features`] for synchronous code.
    pub fn describe_features_blocking(&self, opts: &AdminOptions) -> Result<FeatureMetadata> {
        let opts = opts.clone();
        self.blocking(move |a| async move { a.describe_features(&opts).await })
    }

    /// Changes finalized feature levels at the controller; one result per
    /// feature, in the order given. Honours `validate_only` (brokers that
    /// speak UpdateFeatures v1+). A downgrade without a downgrade type and
    /// an unknown feature or level get `InvalidUpdateVersion`.
    pub async fn update_features(
        &self,
        updates: &[FeatureUpdate],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        if updates.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "update features: no updates given",
            ));
        }
        let validate_only = opts.is_validate_only();
        let build = |v: i16| {
            if validate_only && v < 1 {
                return Err(Error::new(
                    ErrorCode::UnsupportedVersion,
                    "update features: validate_only needs UpdateFeatures v1 (Kafka 3.3+)",
                ));
            }
            let mut req = UpdateFeaturesRequest::default();
            req.timeout_ms = opts.operation_ms();
            req.validate_only = validate_only;
            req.feature_updates = updates
                .iter()
                .map(|u| {
                    let mut k = FeatureUpdateKey::default();
                    k.feature = sb(&u.name);
                    k.max_version_level = u.max_version_level;
                    // v0 has a flag, v1+ the kind of change.
                    if v == 0 {
                        k.allow_downgrade = u.upgrade_type != FeatureUpgradeType::Upgrade;
                    } else {
                        k.upgrade_type = u.upgrade_type.code();
                    }
                    k
                })
                .collect();
            Ok(req)
        };
        let (_, r) = self
            .call_controller(opts.deadline(), build, |r| {
                r.error_code == super::NOT_CONTROLLER
            })
            .await?;
        let top = resource_error(r.error_code, r.error_message.as_deref(), "update features");
        updates
            .iter()
            .map(|u| {
                let what = format!("update feature {}", u.name);
                let res = match r.results.iter().find(|x| x.feature.as_str() == u.name) {
                    Some(x) => {
                        match resource_error(x.error_code, x.error_message.as_deref(), &what) {
                            Some(e) => Err(e),
                            None => match &top {
                                Some(t) => {
                                    Err(Error::new(t.code(), format!("{what}: {}", t.message())))
                                }
                                None => Ok(()),
                            },
                        }
                    }
                    None => match &top {
                        Some(t) => Err(Error::new(t.code(), format!("{what}: {}", t.message()))),
                        None if r.results.is_empty() => Ok(()),
                        None => Err(Error::new(
                            ErrorCode::BadMsg,
                            format!("UpdateFeatures: no result for feature {}", u.name),
                        )),
                    },
                };
                Ok((u.name.clone(), res))
            })
            .collect()
    }

    /// [`AdminClient::update_features`] for synchronous code.
    pub fn update_features_blocking(
        &self,
        updates: &[FeatureUpdate],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        let (updates, opts) = (updates.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.update_features(&updates, &opts).await })
    }
}
