//! Client quotas (KIP-546): describe the quotas of the entities a filter
//! selects (DescribeClientQuotas, any broker) and set or remove quota
//! values (AlterClientQuotas, the controller), one result per entity.
//!
//! An entity is a combination of `user`, `client-id` and `ip` components,
//! each with a name or the type's default (`None`), as `kafka-configs.sh
//! --entity-type users --entity-default` names it.

use super::{resource_error, resource_result, AdminClient, AdminOptions};
use crate::error::{Error, ErrorCode, Result};
use kafka_protocol::messages::{
    alter_client_quotas_request::{EntityData, EntryData, OpData},
    describe_client_quotas_request::ComponentData,
    AlterClientQuotasRequest, DescribeClientQuotasRequest,
};
use kafka_protocol::protocol::StrBytes;

/// A quota entity: `(entity type, name)` components, sorted by type; a
/// `None` name is the type's default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuotaEntity(pub Vec<(String, Option<String>)>);

impl QuotaEntity {
    /// An entity of one component.
    pub fn new(entity_type: &str, name: Option<&str>) -> Self {
        QuotaEntity(vec![(entity_type.to_string(), name.map(str::to_string))])
    }

    /// Adds a component (kept sorted by type).
    #[must_use]
    pub fn and(mut self, entity_type: &str, name: Option<&str>) -> Self {
        self.0
            .push((entity_type.to_string(), name.map(str::to_string)));
        self.0.sort();
        self
    }

    /// Parses `type=name[,type=name...]`, `<default>` for a default name
    /// (`user=alice,client-id=<default>`).
    pub fn parse(s: &str) -> Option<Self> {
        let mut v = Vec::new();
        for part in s.split(',') {
            let (t, n) = part.split_once('=')?;
            if t.is_empty() || n.is_empty() {
                return None;
            }
            v.push((t.to_string(), (n != "<default>").then(|| n.to_string())));
        }
        v.sort();
        (!v.is_empty()).then_some(QuotaEntity(v))
    }
}

impl std::fmt::Display for QuotaEntity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (t, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{t}={}", n.as_deref().unwrap_or("<default>"))?;
        }
        Ok(())
    }
}

/// An entity and its quota values `(key, value)`, sorted by key.
pub type QuotaEntry = (QuotaEntity, Vec<(String, f64)>);

/// How a filter component matches an entity's name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QuotaMatch {
    /// Exactly this name (wire 0).
    Exact(String),
    /// The type's default (wire 1).
    Default,
    /// Any name, default included (wire 2).
    Any,
}

/// One component of a [`AdminClient::describe_client_quotas`] filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaFilterComponent {
    /// `user`, `client-id` or `ip`.
    pub entity_type: String,
    /// How the name is matched.
    pub matching: QuotaMatch,
}

/// Quota values to set (`Some`) or remove (`None`) on one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaAlteration {
    /// The entity.
    pub entity: QuotaEntity,
    /// `(quota key, value)`, e.g. `("producer_byte_rate", Some(1024.0))`.
    pub ops: Vec<(String, Option<f64>)>,
}

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl AdminClient {
    /// The quotas of the entities `filter` selects; with `strict`, only
    /// entities with no components besides the filter's. Sorted by entity,
    /// values by key.
    pub async fn describe_client_quotas(
        &self,
        filter: &[QuotaFilterComponent],
        strict: bool,
        opts: &AdminOptions,
    ) -> Result<Vec<QuotaEntry>> {
        let build = |_v: i16| {
            let mut req = DescribeClientQuotasRequest::default();
            req.strict = strict;
            req.components = filter
                .iter()
                .map(|c| {
                    let mut x = ComponentData::default();
                    x.entity_type = sb(&c.entity_type);
                    (x.match_type, x._match) = match &c.matching {
                        QuotaMatch::Exact(n) => (0, Some(sb(n))),
                        QuotaMatch::Default => (1, None),
                        QuotaMatch::Any => (2, None),
                    };
                    x
                })
                .collect();
            Ok(req)
        };
        let (_, r) = self.call_any(opts.deadline(), build).await?;
        if let Some(e) = resource_error(
            r.error_code,
            r.error_message.as_deref(),
            "describe client quotas",
        ) {
            return Err(e);
        }
        let mut out: Vec<QuotaEntry> = r
            .entries
            .unwrap_or_default()
            .iter()
            .map(|e| {
                let mut ent: Vec<(String, Option<String>)> = e
                    .entity
                    .iter()
                    .map(|c| {
                        (
                            c.entity_type.to_string(),
                            c.entity_name.as_ref().map(|n| n.to_string()),
                        )
                    })
                    .collect();
                ent.sort();
                let mut vals: Vec<(String, f64)> = e
                    .values
                    .iter()
                    .map(|v| (v.key.to_string(), v.value))
                    .collect();
                vals.sort_by(|a, b| a.0.cmp(&b.0));
                (QuotaEntity(ent), vals)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// [`AdminClient::describe_client_quotas`] for synchronous code.
    pub fn describe_client_quotas_blocking(
        &self,
        filter: &[QuotaFilterComponent],
        strict: bool,
        opts: &AdminOptions,
    ) -> Result<Vec<QuotaEntry>> {
        let (filter, opts) = (filter.to_vec(), opts.clone());
        self.blocking(
            move |a| async move { a.describe_client_quotas(&filter, strict, &opts).await },
        )
    }

    /// Sets and removes quota values; one result per entity, in the order
    /// given. Honours `validate_only`.
    pub async fn alter_client_quotas(
        &self,
        alterations: &[QuotaAlteration],
        opts: &AdminOptions,
    ) -> Result<Vec<(QuotaEntity, Result<()>)>> {
        if alterations.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "alter client quotas: no alterations given",
            ));
        }
        let build = |_v: i16| {
            let mut req = AlterClientQuotasRequest::default();
            req.validate_only = opts.is_validate_only();
            req.entries = alterations
                .iter()
                .map(|a| {
                    let mut e = EntryData::default();
                    e.entity = a
                        .entity
                        .0
                        .iter()
                        .map(|(t, n)| {
                            let mut x = EntityData::default();
                            x.entity_type = sb(t);
                            x.entity_name = n.as_deref().map(sb);
                            x
                        })
                        .collect();
                    e.ops = a
                        .ops
                        .iter()
                        .map(|(k, v)| {
                            let mut o = OpData::default();
                            o.key = sb(k);
                            o.value = v.unwrap_or(0.0);
                            o.remove = v.is_none();
                            o
                        })
                        .collect();
                    e
                })
                .collect();
            Ok(req)
        };
        let (_, r) = self
            .call_controller(opts.deadline(), build, |r| {
                r.entries
                    .iter()
                    .any(|e| e.error_code == super::NOT_CONTROLLER)
            })
            .await?;
        alterations
            .iter()
            .map(|a| {
                let found = r.entries.iter().find(|e| {
                    let mut ent: Vec<(String, Option<String>)> = e
                        .entity
                        .iter()
                        .map(|c| {
                            (
                                c.entity_type.to_string(),
                                c.entity_name.as_ref().map(|n| n.to_string()),
                            )
                        })
                        .collect();
                    ent.sort();
                    let mut want = a.entity.0.clone();
                    want.sort();
                    ent == want
                });
                let what = format!("client quotas of {}", a.entity);
                let res = match found {
                    Some(e) => resource_result(e.error_code, e.error_message.as_deref(), &what, ()),
                    None => Err(Error::new(
                        ErrorCode::BadMsg,
                        format!("AlterClientQuotas: no result for {}", a.entity),
                    )),
                };
                Ok((a.entity.clone(), res))
            })
            .collect()
    }

    /// [`AdminClient::alter_client_quotas`] for synchronous code.
    pub fn alter_client_quotas_blocking(
        &self,
        alterations: &[QuotaAlteration],
        opts: &AdminOptions,
    ) -> Result<Vec<(QuotaEntity, Result<()>)>> {
        let (alterations, opts) = (alterations.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.alter_client_quotas(&alterations, &opts).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_parse_and_print_with_defaults() {
        let e = QuotaEntity::parse("user=alice,client-id=<default>").unwrap();
        assert_eq!(e.to_string(), "client-id=<default>,user=alice");
        assert_eq!(
            e,
            QuotaEntity::new("user", Some("alice")).and("client-id", None)
        );
        assert!(QuotaEntity::parse("user").is_none());
        assert!(QuotaEntity::parse("=x").is_none());
    }
}
