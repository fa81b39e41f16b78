//! Client quotas (KIP-546): DescribeClientQuotas and AlterClientQuotas
//! over a per-cluster store. Quotas are stored and described, not
//! enforced (no throttling). Kafka's checks: entity types `user`,
//! `client-id` and `ip`, each at most once per entity, `ip` never with
//! another type; the keys valid for the entity (`producer_byte_rate`,
//! `consumer_byte_rate`, `request_percentage`, `controller_mutation_rate`
//! for users and client ids, `connection_creation_rate` for ips); values
//! positive. A failed entity is INVALID_REQUEST with the reason.

use std::collections::BTreeMap;
use std::sync::Mutex;

use kafka_protocol::messages::{
    alter_client_quotas_response, describe_client_quotas_response, AlterClientQuotasRequest,
    AlterClientQuotasResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse,
};

use super::str_bytes;

const INVALID_REQUEST: i16 = 42;

/// An entity: sorted `(type, name)` components, `None` the default.
type Entity = Vec<(String, Option<String>)>;

/// The stored quotas.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    inner: Mutex<BTreeMap<Entity, BTreeMap<String, f64>>>,
}

const CLIENT_KEYS: &[&str] = &[
    "producer_byte_rate",
    "consumer_byte_rate",
    "request_percentage",
    "controller_mutation_rate",
];
const IP_KEYS: &[&str] = &["connection_creation_rate"];

fn check_entity(e: &Entity) -> Result<(), String> {
    if e.is_empty() {
        return Err("Invalid empty client quota entity".into());
    }
    for (i, (t, _)) in e.iter().enumerate() {
        if !["user", "client-id", "ip"].contains(&t.as_str()) {
            return Err(format!("Unhandled client quota entity type: {t}"));
        }
        if e[..i].iter().any(|(u, _)| u == t) {
            return Err(format!("Duplicate {t} entity type in one entity"));
        }
    }
    if e.len() > 1 && e.iter().any(|(t, _)| t == "ip") {
        return Err("Invalid quota entity combination, IP entity should not be combined with User or ClientId".into());
    }
    if let Some((_, Some(ip))) = e.iter().find(|(t, _)| t == "ip") {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("{ip} is not a valid IP or resolvable host."));
        }
    }
    Ok(())
}

fn entity_text(e: &Entity) -> String {
    e.iter()
        .map(|(t, n)| format!("{t}={}", n.as_deref().unwrap_or("<default>")))
        .collect::<Vec<_>>()
        .join(",")
}

impl Quotas {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Entity, BTreeMap<String, f64>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn describe(
        &self,
        req: DescribeClientQuotasRequest,
    ) -> DescribeClientQuotasResponse {
        use describe_client_quotas_response::{EntityData, EntryData, ValueData};
        let mut r = DescribeClientQuotasResponse::default();
        for c in &req.components {
            if !["user", "client-id", "ip"].contains(&c.entity_type.as_str()) {
                r.error_code = INVALID_REQUEST;
                r.error_message = Some(str_bytes(&format!(
                    "Custom entity type {} not supported",
                    c.entity_type.as_str()
                )));
                return r;
            }
            if c.match_type > 2 || (c.match_type == 0) != c._match.is_some() {
                r.error_code = INVALID_REQUEST;
                r.error_message = Some(str_bytes(&format!(
                    "Invalid match type {} for entity type {}",
                    c.match_type,
                    c.entity_type.as_str()
                )));
                return r;
            }
        }
        let store = self.lock();
        let entries = store
            .iter()
            .filter(|(e, vals)| {
                !vals.is_empty()
                    && req.components.iter().all(|c| {
                        e.iter()
                            .find(|(t, _)| t.as_str() == c.entity_type.as_str())
                            .is_some_and(|(_, n)| match c.match_type {
                                0 => n.as_deref() == c._match.as_ref().map(|m| m.as_str()),
                                1 => n.is_none(),
                                _ => true,
                            })
                    })
                    && (!req.strict || e.len() == req.components.len())
            })
            .map(|(e, vals)| {
                let mut x = EntryData::default();
                x.entity = e
                    .iter()
                    .map(|(t, n)| {
                        let mut d = EntityData::default();
                        d.entity_type = str_bytes(t);
                        d.entity_name = n.as_deref().map(str_bytes);
                        d
                    })
                    .collect();
                x.values = vals
                    .iter()
                    .map(|(k, v)| {
                        let mut d = ValueData::default();
                        d.key = str_bytes(k);
                        d.value = *v;
                        d
                    })
                    .collect();
                x
            })
            .collect();
        r.entries = Some(entries);
        r
    }

    pub(crate) fn alter(&self, req: AlterClientQuotasRequest) -> AlterClientQuotasResponse {
        use alter_client_quotas_response::{EntityData, EntryData};
        let mut store = self.lock();
        let mut r = AlterClientQuotasResponse::default();
        for entry in req.entries {
            let mut entity: Entity = entry
                .entity
                .iter()
                .map(|c| {
                    (
                        c.entity_type.to_string(),
                        c.entity_name.as_ref().map(|n| n.to_string()),
                    )
                })
                .collect();
            entity.sort();
            let checked = check_entity(&entity).and_then(|()| {
                let ip = entity.iter().any(|(t, _)| t == "ip");
                let keys = if ip { IP_KEYS } else { CLIENT_KEYS };
                for op in &entry.ops {
                    if !keys.contains(&op.key.as_str()) {
                        return Err(format!(
                            "Invalid configuration key {} for entity {}",
                            op.key.as_str(),
                            entity_text(&entity)
                        ));
                    }
                    let positive = op.value.is_finite() && op.value > 0.0;
                    if !op.remove && !positive {
                        return Err(format!(
                            "Quota {} of {} must be positive, got {}",
                            op.key.as_str(),
                            entity_text(&entity),
                            op.value
                        ));
                    }
                }
                Ok(())
            });
            let mut x = EntryData::default();
            x.entity = entry
                .entity
                .iter()
                .map(|c| {
                    let mut d = EntityData::default();
                    d.entity_type = c.entity_type.clone();
                    d.entity_name = c.entity_name.clone();
                    d
                })
                .collect();
            match checked {
                Err(m) => {
                    x.error_code = INVALID_REQUEST;
                    x.error_message = Some(str_bytes(&m));
                }
                Ok(()) if !req.validate_only => {
                    let vals = store.entry(entity.clone()).or_default();
                    for op in &entry.ops {
                        if op.remove {
                            vals.remove(op.key.as_str());
                        } else {
                            vals.insert(op.key.to_string(), op.value);
                        }
                    }
                    if vals.is_empty() {
                        store.remove(&entity);
                    }
                }
                Ok(()) => {}
            }
            r.entries.push(x);
        }
        r
    }
}
