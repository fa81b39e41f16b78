//! Validation: alias resolution, parsing against the table, and the rules
//! across properties (security fails closed, idempotence, timeouts), run by
//! [`ClientConfig::validate`](super::ClientConfig::validate).

use super::aliases::{Conversion, ALIASES};
use super::value::{parse, Resolved};
use super::{
    index_for_accessor, lookup, property, ClientConfig, ClientRole, Config, Lookup, Property,
    Status, PROPERTIES,
};
use crate::error::{Error, ErrorCode, Result};

/// One explicit setting after alias resolution: the name and value the
/// application wrote (for error messages) and the value for the property.
struct Given {
    name: String,
    raw: String,
    value: String,
}

impl Given {
    /// How errors name the property: the name given, plus the canonical name
    /// when they differ.
    fn display_name(&self, p: &Property) -> String {
        if self.name == p.name() {
            self.name.clone()
        } else {
            format!("{} (= {})", self.name, p.name())
        }
    }
    fn display_value(&self) -> String {
        if self.raw == self.value {
            self.raw.clone()
        } else {
            format!("{} (converted to {})", self.raw, self.value)
        }
    }
}

pub(super) fn validate(cfg: &ClientConfig, role: ClientRole) -> Result<Config> {
    let mut given: Vec<Option<Given>> = PROPERTIES.iter().map(|_| None).collect();
    for (name, raw) in &cfg.props {
        let settings = match lookup(name) {
            Lookup::Property(i) => vec![(PROPERTIES[i].name(), raw.clone())],
            Lookup::Alias(a) => {
                if a.conversion() == Conversion::Ignored {
                    tracing::debug!(target: "ferrokafka::config", property = %name, "ignored: {}", a.note());
                }
                a.convert(raw)
                    .map_err(|allowed| Error::config(name, raw, allowed))?
            }
            Lookup::Unknown => return Err(unknown_property(name, raw)),
        };
        for (canonical, value) in settings {
            let Lookup::Property(i) = lookup(canonical) else {
                unreachable!("alias target {canonical:?} is checked by the table tests")
            };
            given[i] = Some(Given {
                name: name.clone(),
                raw: raw.clone(),
                value,
            });
        }
    }

    let mut values = Vec::with_capacity(PROPERTIES.len());
    for (p, g) in PROPERTIES.iter().zip(&given) {
        let resolved = match g {
            Some(g) => {
                let (text, typed) = parse(p, &g.value).map_err(|allowed| {
                    Error::config(&g.display_name(p), &g.display_value(), allowed)
                })?;
                if !role.uses(p.applies_to()) {
                    tracing::debug!(target: "ferrokafka::config", property = p.name(), ?role,
                        "property does not apply to this client type; ignored");
                }
                Resolved {
                    text,
                    typed,
                    explicit: true,
                }
            }
            None => {
                let (text, typed) = parse(p, p.default_value())
                    .unwrap_or_else(|e| panic!("default of {} is invalid: {e}", p.name()));
                Resolved {
                    text,
                    typed,
                    explicit: false,
                }
            }
        };
        values.push(resolved);
    }
    let mut config = Config {
        role,
        #[cfg(test)]
        reads: std::sync::Arc::new(
            (0..values.len())
                .map(|_| std::sync::atomic::AtomicBool::new(false))
                .collect(),
        ),
        values,
        oauth_provider: cfg.oauth_provider.clone(),
    };
    let shown = |name: &str| -> (String, String) {
        let i = index_for_accessor(name);
        match &given[i] {
            Some(g) => (g.display_name(&PROPERTIES[i]), g.display_value()),
            None => (
                PROPERTIES[i].name().to_string(),
                config_text(&PROPERTIES[i]),
            ),
        }
    };
    security_rules(&config, &shown)?;
    not_built_rules(&config, &shown)?;
    software_rules(&config, &shown)?;
    match role {
        ClientRole::Producer => producer_rules(&mut config, &shown)?,
        ClientRole::Consumer => consumer_rules(&mut config, &shown)?,
        ClientRole::Admin => {}
    }
    Ok(config)
}

/// KIP-511: brokers refuse an ApiVersions request (INVALID_REQUEST) whose
/// software name or version is not `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`,
/// which would fail every connection; refused at construction instead.
fn software_rules(c: &Config, shown: &dyn Fn(&str) -> (String, String)) -> Result<()> {
    fn valid(s: &str) -> bool {
        let b = s.as_bytes();
        let edge = |x: &u8| x.is_ascii_alphanumeric();
        !b.is_empty()
            && b.first().is_some_and(edge)
            && b.last().is_some_and(edge)
            && b.iter()
                .all(|x| x.is_ascii_alphanumeric() || *x == b'-' || *x == b'.')
    }
    for name in ["client.software.name", "client.software.version"] {
        let v = c.get_str(name);
        if (name == "client.software.version" && v.is_empty()) || valid(v) {
            continue;
        }
        let (n, v) = shown(name);
        return Err(Error::new(
            ErrorCode::InvalidArg,
            format!(
                "configuration property \"{n}\" = \"{v}\" is invalid: brokers accept only \
                 letters, digits, '.' and '-', starting and ending with a letter or digit (KIP-511)"
            ),
        ));
    }
    Ok(())
}

/// Whether a property belongs to the security settings (TLS, SASL and the
/// HTTPS token endpoint), which must never be ignored.
fn is_security_property(name: &str) -> bool {
    ["ssl.", "sasl.", "https.", "enable.ssl.", "enable.sasl."]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Fails closed on security: a `security.protocol` the build cannot speak,
/// a SASL mechanism it does not have (GSSAPI), or
/// any TLS/SASL setting it does not act on, is refused with
/// `_NOT_IMPLEMENTED` naming it. Accepting them would connect without the
/// protection or credentials the application believes it configured.
///
/// The rule reads each property's [`Status`]: marking a security property
/// implemented in the table is what lifts its refusal.
fn security_rules(c: &Config, shown: &dyn Fn(&str) -> (String, String)) -> Result<()> {
    let protocol = c.get_str("security.protocol");
    let protocol_done =
        property("security.protocol").map(Property::status) == Some(Status::Implemented);
    if protocol != "plaintext" && !protocol_done {
        let (n, v) = shown("security.protocol");
        return Err(Error::new(
            ErrorCode::NotImplemented,
            format!(
                "configuration property \"{n}\" = \"{v}\" is not implemented in this build: \
                 ferrokafka speaks only plaintext so far and refuses to connect unencrypted \
                 and unauthenticated when told otherwise"
            ),
        ));
    }
    let sasl = protocol.starts_with("sasl_");
    if sasl && c.get_str("sasl.mechanisms") == "GSSAPI" {
        let (n, v) = shown("sasl.mechanisms");
        return Err(Error::new(
            ErrorCode::NotImplemented,
            format!(
                "configuration property \"{n}\" = \"{v}\" (the default with SASL) is not \
                 implemented in this build: Kerberos needs a GSSAPI library; set sasl.mechanisms \
                 to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER"
            ),
        ));
    }
    for (i, p) in PROPERTIES.iter().enumerate() {
        // A TLS or SASL setting the chosen protocol does not use is most
        // often a forgotten security.protocol: connecting anyway would
        // send in clear, or without the credentials, what the application
        // meant to protect. Refused (librdkafka and Java ignore it).
        // (https.* verifies the OIDC token endpoint, a SASL matter.)
        let sasl_setting = p.name().starts_with("sasl.") || p.name().starts_with("https.");
        let unused =
            (sasl_setting && !sasl) || (p.name().starts_with("ssl.") && !protocol.ends_with("ssl"));
        if is_security_property(p.name())
            && p.status() == Status::Implemented
            && c.values[i].explicit
            && c.values[i].text != config_text(p)
            && unused
        {
            let (n, _) = shown(p.name());
            let (pn, pv) = shown("security.protocol");
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!(
                    "configuration property \"{n}\" is set, but \"{pn}\" = \"{pv}\" does not use it: \
                     set security.protocol to {} (or remove {n}); ferrokafka does not connect \
                     without the protection a setting asks for",
                    if sasl_setting { "sasl_plaintext or sasl_ssl" } else { "ssl or sasl_ssl" }
                ),
            ));
        }
    }
    Ok(())
}

/// Values of implemented properties that are not built, with why.
const REFUSED_VALUES: &[(&str, &str, &str)] = &[(
    "client.dns.lookup",
    "resolve_canonical_bootstrap_servers_only",
    "it expands bootstrap names into canonical host names for Kerberos (GSSAPI), \
     which this build does not have",
)];

/// No silent state: a property whose feature is not built ([`Status::NotYet`])
/// set to anything but its default, or a refused value of a built one, is
/// refused with `_NOT_IMPLEMENTED` naming it (the setting would do
/// nothing); a deprecated no-op ([`Status::Ignored`]) that is set logs a
/// warning naming it.
fn not_built_rules(c: &Config, shown: &dyn Fn(&str) -> (String, String)) -> Result<()> {
    for (i, p) in PROPERTIES.iter().enumerate() {
        let r = &c.values[i];
        if !r.explicit {
            continue;
        }
        let refused = REFUSED_VALUES
            .iter()
            .find(|(name, value, _)| *name == p.name() && *value == r.text);
        let not_built = p.status() == Status::NotYet && r.text != config_text(p);
        if refused.is_some() || not_built {
            let (n, v) = shown(p.name());
            let v = if p.is_secret() {
                "[redacted]".to_string()
            } else {
                v
            };
            let why = refused.map_or("the setting would have no effect, so it is refused", |r| {
                r.2
            });
            return Err(Error::new(
                ErrorCode::NotImplemented,
                format!(
                    "configuration property \"{n}\" = \"{v}\" is not implemented in this build: {why}"
                ),
            ));
        }
        if p.status() == Status::Ignored {
            let (n, v) = shown(p.name());
            tracing::warn!(target: "ferrokafka::config", property = %n, value = %v,
                "deprecated configuration property has no effect; it is ignored: {}", p.doc());
        }
    }
    Ok(())
}

fn config_text(p: &Property) -> String {
    p.default_value().to_string()
}

fn producer_rules(c: &mut Config, shown: &dyn Fn(&str) -> (String, String)) -> Result<()> {
    let transactional = c.get_opt_str("transactional.id").is_some();
    if transactional
        && c.is_set_explicitly("enable.idempotence")
        && !c.get_bool("enable.idempotence")
    {
        let (n, v) = shown("enable.idempotence");
        return Err(Error::config(
            &n,
            &v,
            "true (or unset) when transactional.id is set",
        ));
    }
    if transactional || c.get_bool("enable.idempotence") {
        if c.is_set_explicitly("acks") && c.get_i64("acks") != -1 {
            let (n, v) = shown("acks");
            return Err(Error::config(
                &n,
                &v,
                "all (-1) when enable.idempotence=true",
            ));
        }
        if c.is_set_explicitly("max.in.flight") && c.get_i64("max.in.flight") > 5 {
            let (n, v) = shown("max.in.flight");
            return Err(Error::config(&n, &v, "1 to 5 when enable.idempotence=true"));
        }
        if c.is_set_explicitly("retries") && c.get_i64("retries") == 0 {
            let (n, v) = shown("retries");
            return Err(Error::config(
                &n,
                &v,
                "at least 1 when enable.idempotence=true",
            ));
        }
        c.set_resolved("enable.idempotence", "true");
        c.set_resolved("acks", "-1");
        if !c.is_set_explicitly("max.in.flight") {
            c.set_resolved("max.in.flight", "5");
        }
    }
    if transactional {
        // A record may not outlive its transaction (librdkafka's rule): the
        // coordinator would have aborted the transaction by then.
        let txn_timeout = c.get_i64("transaction.timeout.ms");
        let msg_timeout = c.get_i64("message.timeout.ms");
        if msg_timeout == 0 || msg_timeout > txn_timeout {
            if c.is_set_explicitly("message.timeout.ms") {
                let (n, v) = shown("message.timeout.ms");
                return Err(Error::config(
                    &n,
                    &v,
                    format!("at most transaction.timeout.ms ({txn_timeout}) when transactional.id is set"),
                ));
            }
            c.set_resolved("message.timeout.ms", &txn_timeout.to_string());
        }
    }
    let timeout = c.get_i64("message.timeout.ms");
    let linger = c.get_i64("linger.ms");
    if timeout != 0 && timeout < linger {
        let (n, v) = shown("message.timeout.ms");
        return Err(Error::config(
            &n,
            &v,
            format!("0 or at least linger.ms ({linger})"),
        ));
    }
    Ok(())
}

fn consumer_rules(c: &mut Config, shown: &dyn Fn(&str) -> (String, String)) -> Result<()> {
    let needed = c.get_i64("fetch.max.bytes").saturating_add(512);
    if c.get_i64("receive.message.max.bytes") < needed {
        if c.is_set_explicitly("receive.message.max.bytes") {
            let (n, v) = shown("receive.message.max.bytes");
            return Err(Error::config(
                &n,
                &v,
                format!("at least fetch.max.bytes + 512 ({needed})"),
            ));
        }
        c.set_resolved("receive.message.max.bytes", &needed.to_string());
    }
    Ok(())
}

/// The error for a name that is neither a property nor an alias, with the
/// closest known name as a suggestion.
fn unknown_property(name: &str, value: &str) -> Error {
    let suggestion = suggest(name)
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    Error::new(
        ErrorCode::InvalidArg,
        format!(
            "unknown configuration property \"{name}\" (value \"{value}\"): allowed: a property from CONFIGURATION.md or `ferrokafka -X list`{suggestion}"
        ),
    )
}

/// The known name closest to `name`: first an exact match after normalising
/// `_`/`-` to `.` and case, then the smallest edit distance (if close enough).
fn suggest(name: &str) -> Option<&'static str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], ".");
    let wanted = norm(name);
    let known = PROPERTIES
        .iter()
        .map(|p| p.name())
        .chain(ALIASES.iter().map(|a| a.name()));
    if let Some(exact) = known.clone().find(|k| norm(k) == wanted) {
        return Some(exact);
    }
    let (best, distance) = known
        .map(|k| (k, edit_distance(&wanted, &norm(k))))
        .min_by_key(|&(_, d)| d)?;
    (distance <= wanted.len().max(3) / 3).then_some(best)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
