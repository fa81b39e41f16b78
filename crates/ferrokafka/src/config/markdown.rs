//! Renders the property and alias tables as `CONFIGURATION.md`.

use super::{aliases, properties, Kind, Property, Scope};
use std::fmt::Write;

/// The range or allowed values of a property, as one table cell.
pub(crate) fn range_text(p: &Property) -> String {
    match p.kind() {
        Kind::Bool => "true, false".to_string(),
        Kind::Int { min, max } | Kind::Ms { min, max } => format!("{min} .. {max}"),
        Kind::Float { min, max } => format!("{min} .. {max}"),
        Kind::Str | Kind::List => String::new(),
        Kind::Enum(values) | Kind::EnumList(values) => values.join(", "),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn table(out: &mut String, scope: Scope) {
    out.push_str("Property | P/C | Type | Range | Default | Description\n");
    out.push_str("---------|-----|------|-------|--------:|------------\n");
    for p in properties().filter(|p| p.scope() == scope) {
        let mut doc = p.doc_line();
        let names: Vec<&str> = p.aliases().collect();
        if !names.is_empty() {
            let _ = write!(
                doc,
                " Aliases: {}.",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if !p.value_synonyms().is_empty() {
            let syn: Vec<String> = p
                .value_synonyms()
                .iter()
                .map(|(a, c)| format!("`{a}` = `{c}`"))
                .collect();
            let _ = write!(doc, " Also accepted: {}.", syn.join(", "));
        }
        let _ = writeln!(
            out,
            "{} | {} | {} | {} | {} | {}",
            p.name(),
            p.applies_to().letter(),
            p.kind().type_name(),
            cell(&p.range()),
            cell(p.default_value()),
            cell(&doc),
        );
    }
}

/// `CONFIGURATION.md`, generated from the property and alias tables.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Configuration properties\n\n");
    out.push_str(
        "<!-- Generated from crates/ferrokafka/src/config by `ferrokafka::config::markdown()`; do not edit.\n     \
         Regenerate with: FERROKAFKA_BLESS=1 cargo test -p ferrokafka --lib config:: -->\n\n",
    );
    out.push_str(
        "Names, defaults and ranges follow librdkafka, whose names are canonical. \
         Set properties with `ClientConfig::new().set(name, value)` or `ferrokafka -X name=value`; \
         `ClientConfig::validate` rejects unknown names and invalid values with an error naming the \
         property, the value and what is allowed. Aliases (librdkafka's, Java's and kafka-python's) \
         are listed below. No property is silently ignored: a property marked \"(not implemented: only \
         the default is accepted)\" is refused with `_NOT_IMPLEMENTED` naming it when set to anything \
         else, and the deprecated ones described as \"accepted and ignored\" (librdkafka ignores them \
         too) log a warning naming them when set.\n\n",
    );
    out.push_str(
        "Rules across properties (producer): `enable.idempotence=true` (implied by `transactional.id`) \
         needs `acks=all`, `max.in.flight.requests.per.connection` <= 5 and `retries` > 0; values not set \
         explicitly are adjusted, conflicting explicit values are an error. `message.timeout.ms` \
         must be 0 or at least `linger.ms`; with `transactional.id` it must not exceed \
         `transaction.timeout.ms` (unset, it is lowered to it). A property of another client type (a consumer property \
         on a producer) is accepted and ignored.\n\n",
    );
    out.push_str("## Global properties\n\n");
    table(&mut out, Scope::Global);
    out.push_str("\n## Topic properties\n\nSet on the client, a topic property is the default for every topic.\n\n");
    table(&mut out, Scope::Topic);
    out.push_str("\nP/C legend: P = producer, C = consumer, * = both.\n");
    out.push_str("\n## Aliases\n\n");
    out.push_str(
        "kafka-python's `None` means \"use the default\" for every kafka-python name.\n\n",
    );
    out.push_str("Alias | From | Property | Value conversion\n");
    out.push_str("------|------|----------|-----------------\n");
    for a in aliases().filter(|a| a.target().is_some()) {
        let target = a.target().unwrap_or_default();
        let _ = writeln!(
            out,
            "{} | {} | {} | {}",
            a.name(),
            a.origin().label(),
            target,
            cell(a.note())
        );
    }
    out.push_str("\n## Accepted and ignored\n\n");
    for a in aliases().filter(|a| a.is_ignored()) {
        let _ = writeln!(
            out,
            "- `{}` ({}): {}.",
            a.name(),
            a.origin().label(),
            a.note()
        );
    }
    out.push_str("\n## Rejected\n\nThese names are recognised but have no meaning in a Rust client; setting them is an error that says what to use instead.\n\n");
    for a in aliases().filter(|a| a.is_unsupported()) {
        let _ = writeln!(
            out,
            "- `{}` ({}): {}.",
            a.name(),
            a.origin().label(),
            a.note()
        );
    }
    out
}
