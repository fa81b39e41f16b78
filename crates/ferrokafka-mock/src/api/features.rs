//! Cluster features (KIP-584): the supported ranges and finalized levels
//! ApiVersions v3+ reports, and UpdateFeatures, applied as a KRaft
//! controller does: all or nothing, every feature's result carrying the
//! request's error. Kafka's rules: an unknown feature or a level outside
//! the supported range is INVALID_UPDATE_VERSION, so is a lower level
//! without a downgrade type; `metadata.version` can neither be removed
//! (level 0) nor downgraded unsafely; a feature named twice is
//! INVALID_REQUEST.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kafka_protocol::messages::{
    api_versions_response::{FinalizedFeatureKey, SupportedFeatureKey},
    update_features_response::UpdatableFeatureResult,
    ApiVersionsResponse, UpdateFeaturesRequest, UpdateFeaturesResponse,
};

use super::str_bytes;

const INVALID_REQUEST: i16 = 42;
const INVALID_UPDATE_VERSION: i16 = 95;

/// `(name, min, max, finalized at start)`: Kafka 4.0's features, with
/// `transaction.version` finalized at 0 (the classic protocol); finalizing
/// 2 (UpdateFeatures) turns on KIP-890's transaction version 2 for clients
/// that speak EndTxn v5, TxnOffsetCommit v5 and Produce v12.
const SUPPORTED: &[(&str, i16, i16, i16)] = &[
    ("group.version", 0, 1, 1),
    ("kraft.version", 0, 1, 0),
    ("metadata.version", 7, 25, 25),
    ("transaction.version", 0, 2, 0),
];

/// The finalized levels and their epoch.
#[derive(Debug)]
pub(crate) struct Features {
    inner: Mutex<(i64, BTreeMap<String, i16>)>,
}

impl Default for Features {
    fn default() -> Self {
        let levels = SUPPORTED
            .iter()
            .filter(|f| f.3 > 0)
            .map(|f| (f.0.to_string(), f.3))
            .collect();
        Features {
            inner: Mutex::new((1, levels)),
        }
    }
}

impl Features {
    fn lock(&self) -> std::sync::MutexGuard<'_, (i64, BTreeMap<String, i16>)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The finalized level of feature `name` (0 when not finalized).
    pub(crate) fn level(&self, name: &str) -> i16 {
        self.lock().1.get(name).copied().unwrap_or(0)
    }

    /// Whether the coordinators follow KIP-890's transaction version 2
    /// for clients speaking its request versions.
    pub(crate) fn transaction_v2(&self) -> bool {
        self.level("transaction.version") >= 2
    }

    /// Fills the feature fields of an ApiVersions response (sent from v3).
    pub(crate) fn fill(&self, r: &mut ApiVersionsResponse) {
        let g = self.lock();
        r.supported_features = SUPPORTED
            .iter()
            .map(|(n, lo, hi, _)| {
                let mut f = SupportedFeatureKey::default();
                f.name = str_bytes(n);
                f.min_version = *lo;
                f.max_version = *hi;
                f
            })
            .collect();
        r.finalized_features_epoch = g.0;
        r.finalized_features =
            g.1.iter()
                .map(|(n, level)| {
                    let mut f = FinalizedFeatureKey::default();
                    f.name = str_bytes(n);
                    f.max_version_level = *level;
                    f.min_version_level = *level;
                    f
                })
                .collect();
    }

    pub(crate) fn update(
        &self,
        version: i16,
        req: UpdateFeaturesRequest,
    ) -> UpdateFeaturesResponse {
        let mut g = self.lock();
        let mut error: Option<(i16, String)> = None;
        let mut next = g.1.clone();
        let mut seen = Vec::new();
        for u in &req.feature_updates {
            let name = u.feature.to_string();
            let level = u.max_version_level;
            // v0 says "may downgrade" with a flag; v1+ names the kind (1
            // upgrade, 2 safe, 3 unsafe downgrade).
            let kind = if version == 0 {
                if u.allow_downgrade {
                    2
                } else {
                    1
                }
            } else {
                u.upgrade_type
            };
            let bad = |m: String| Some((INVALID_UPDATE_VERSION, m));
            let why = if seen.contains(&name) {
                Some((
                    INVALID_REQUEST,
                    format!("Feature {name} was specified more than once."),
                ))
            } else if let Some(&(_, lo, hi, _)) = SUPPORTED.iter().find(|f| f.0 == name) {
                let current = g.1.get(&name).copied().unwrap_or(0);
                if !(1..=3).contains(&kind) {
                    Some((INVALID_REQUEST, format!("Unknown upgrade type {kind}.")))
                } else if level != 0 && (level < lo || level > hi) {
                    bad(format!(
                        "Invalid update version {level} for feature {name}. Local controller supports versions {lo}-{hi}."
                    ))
                } else if level < current && kind == 1 {
                    bad(format!(
                        "Invalid update version {level} for feature {name}. Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade."
                    ))
                } else if name == "metadata.version" && level == 0 {
                    bad("Invalid update version 0 for feature metadata.version. The metadata.version cannot be removed.".to_string())
                } else if name == "metadata.version" && level < current && kind == 3 {
                    bad("Invalid metadata.version: unsafe metadata downgrade is not supported in this version.".to_string())
                } else {
                    None
                }
            } else {
                bad(format!(
                    "Invalid update version {level} for feature {name}. The controller does not support the given feature."
                ))
            };
            seen.push(name.clone());
            if let Some(w) = why {
                error.get_or_insert(w);
            } else if level == 0 {
                next.remove(&name);
            } else {
                next.insert(name, level);
            }
        }
        let mut r = UpdateFeaturesResponse::default();
        if let Some((c, m)) = &error {
            r.error_code = *c;
            r.error_message = Some(str_bytes(m));
        } else if !req.validate_only && next != g.1 {
            g.1 = next;
            g.0 += 1;
        }
        if version <= 1 {
            r.results = req
                .feature_updates
                .iter()
                .map(|u| {
                    let mut x = UpdatableFeatureResult::default();
                    x.feature = u.feature.clone();
                    if let Some((c, m)) = &error {
                        x.error_code = *c;
                        x.error_message = Some(str_bytes(m));
                    }
                    x
                })
                .collect();
        }
        r
    }
}
