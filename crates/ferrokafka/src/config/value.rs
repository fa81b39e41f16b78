//! The validated configuration ([`Config`]): every property's resolved,
//! typed value, the accessors components read them with, and the parser
//! that turns a property's text into its typed value.

use super::{index_for_accessor, ClientRole, Kind, Property, PROPERTIES};
use std::fmt;
use std::time::Duration;

/// A validated configuration: every property of the table with its typed
/// value (the application's or the default).
///
/// Accessors take a canonical name or a pure alias (`linger.ms`). They panic
/// when the name is not in the table or the property does not have the type
/// asked for: both are bugs in the calling code, found by the first test that
/// reaches the call, never caused by user input.
#[derive(Clone)]
pub struct Config {
    pub(super) role: ClientRole,
    pub(super) values: Vec<Resolved>,
    pub(super) oauth_provider: Option<crate::net::sasl::TokenSource>,
    /// Which properties some accessor read (the settings test checks that
    /// every implemented property is read by the roles it applies to).
    #[cfg(test)]
    pub(super) reads: std::sync::Arc<Vec<std::sync::atomic::AtomicBool>>,
}

#[derive(Debug, Clone)]
pub(super) struct Resolved {
    /// Canonical text: the string, the number, `true`/`false`, the enum's
    /// table spelling, or the list joined with commas.
    pub(super) text: String,
    pub(super) typed: Typed,
    pub(super) explicit: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Typed {
    Text,
    Bool(bool),
    Int(i64),
    Float(f64),
    List(Vec<String>),
}

impl Config {
    /// The OAUTHBEARER token source set with
    /// [`ClientConfig::set_oauthbearer_token_provider`] or
    /// [`ClientConfig::set_oauthbearer_token_provider_async`].
    pub(crate) fn oauth_provider(&self) -> Option<&crate::net::sasl::TokenSource> {
        self.oauth_provider.as_ref()
    }

    /// The role this configuration was validated for.
    pub fn role(&self) -> ClientRole {
        self.role
    }

    fn resolved(&self, name: &str) -> (&'static Property, &Resolved) {
        let i = index_for_accessor(name);
        #[cfg(test)]
        self.reads[i].store(true, std::sync::atomic::Ordering::Relaxed);
        (&PROPERTIES[i], &self.values[i])
    }

    /// The properties some accessor has read so far.
    #[cfg(test)]
    pub(crate) fn read_properties(&self) -> Vec<&'static str> {
        PROPERTIES
            .iter()
            .zip(self.reads.iter())
            .filter(|(_, r)| r.load(std::sync::atomic::Ordering::Relaxed))
            .map(|(p, _)| p.name())
            .collect()
    }

    fn type_bug(p: &Property, asked: &str) -> ! {
        panic!(
            "configuration property {:?} is {}, not {asked}",
            p.name(),
            p.kind().type_name()
        )
    }

    /// The value as text (canonical spelling; empty when unset and without a
    /// default). Works for every type.
    pub fn get_str(&self, name: &str) -> &str {
        &self.resolved(name).1.text
    }

    /// The value as text, `None` when it is empty (unset).
    pub fn get_opt_str(&self, name: &str) -> Option<&str> {
        Some(self.get_str(name)).filter(|s| !s.is_empty())
    }

    /// An integer or millisecond property.
    pub fn get_i64(&self, name: &str) -> i64 {
        match self.resolved(name) {
            (
                _,
                Resolved {
                    typed: Typed::Int(v),
                    ..
                },
            ) => *v,
            (p, _) => Self::type_bug(p, "an integer"),
        }
    }

    /// An integer or millisecond property whose range fits `i32`.
    pub fn get_i32(&self, name: &str) -> i32 {
        let v = self.get_i64(name);
        i32::try_from(v).unwrap_or_else(|_| panic!("{name:?}={v} does not fit i32"))
    }

    /// A boolean property.
    pub fn get_bool(&self, name: &str) -> bool {
        match self.resolved(name) {
            (
                _,
                Resolved {
                    typed: Typed::Bool(v),
                    ..
                },
            ) => *v,
            (p, _) => Self::type_bug(p, "a boolean"),
        }
    }

    /// A float property (integer properties convert too).
    pub fn get_f64(&self, name: &str) -> f64 {
        match self.resolved(name) {
            (
                _,
                Resolved {
                    typed: Typed::Float(v),
                    ..
                },
            ) => *v,
            #[allow(clippy::cast_precision_loss)]
            (
                _,
                Resolved {
                    typed: Typed::Int(v),
                    ..
                },
            ) => *v as f64,
            (p, _) => Self::type_bug(p, "a number"),
        }
    }

    /// A millisecond property as a [`Duration`]. A negative value (which
    /// means "off" for the few properties that allow it, such as
    /// `topic.metadata.refresh.interval.ms=-1`) is [`Duration::MAX`]: never.
    pub fn get_duration(&self, name: &str) -> Duration {
        let (p, _) = self.resolved(name);
        if !matches!(p.kind(), Kind::Ms { .. }) {
            Self::type_bug(p, "milliseconds");
        }
        match u64::try_from(self.get_i64(name)) {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => Duration::MAX,
        }
    }

    /// A list property's items (empty when unset).
    pub fn get_list(&self, name: &str) -> Vec<&str> {
        match self.resolved(name) {
            (
                _,
                Resolved {
                    typed: Typed::List(v),
                    ..
                },
            ) => v.iter().map(String::as_str).collect(),
            (p, _) => Self::type_bug(p, "a list"),
        }
    }

    /// Whether the application set the property (under any of its names),
    /// as opposed to a default or an automatic adjustment.
    pub fn is_set_explicitly(&self, name: &str) -> bool {
        self.resolved(name).1.explicit
    }

    /// Every property with its canonical text value, in table order; secret
    /// values are replaced by `[redacted]`. For `-X dump`-style listings.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        PROPERTIES.iter().zip(&self.values).map(|(p, r)| {
            let v = if p.is_secret() && !r.text.is_empty() {
                "[redacted]"
            } else {
                r.text.as_str()
            };
            (p.name(), v)
        })
    }

    pub(super) fn set_resolved(&mut self, name: &str, text: &str) {
        let i = index_for_accessor(name);
        let parsed =
            parse(&PROPERTIES[i], text).unwrap_or_else(|_| panic!("{name}={text} is not valid"));
        self.values[i].text = parsed.0;
        self.values[i].typed = parsed.1;
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("role", &self.role)
            .field("explicit", &{
                let mut m = std::collections::BTreeMap::new();
                for (p, r) in PROPERTIES
                    .iter()
                    .zip(&self.values)
                    .filter(|(_, r)| r.explicit)
                {
                    m.insert(
                        p.name(),
                        if p.is_secret() {
                            "[redacted]"
                        } else {
                            r.text.as_str()
                        },
                    );
                }
                m
            })
            .finish()
    }
}

/// Parses `raw` for property `p`: canonical text and typed value, or what is
/// allowed.
pub(super) fn parse(p: &Property, raw: &str) -> std::result::Result<(String, Typed), String> {
    let trimmed = raw.trim();
    let v = p
        .value_synonyms()
        .iter()
        .find(|(alt, _)| alt.eq_ignore_ascii_case(trimmed))
        .map_or(trimmed, |(_, canon)| canon);
    let allowed = || {
        let mut s = p.kind().to_string();
        if !p.value_synonyms().is_empty() {
            let syn: Vec<String> = p
                .value_synonyms()
                .iter()
                .map(|(a, c)| format!("{a} (= {c})"))
                .collect();
            s.push_str(&format!("; also {}", syn.join(", ")));
        }
        s
    };
    match p.kind() {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(("true".into(), Typed::Bool(true))),
            "false" | "0" => Ok(("false".into(), Typed::Bool(false))),
            _ => Err(allowed()),
        },
        Kind::Int { min, max } | Kind::Ms { min, max } => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok((n.to_string(), Typed::Int(n))),
            _ => Err(allowed()),
        },
        Kind::Float { min, max } => match v.parse::<f64>() {
            Ok(n) if n >= min && n <= max => Ok((n.to_string(), Typed::Float(n))),
            _ => Err(allowed()),
        },
        Kind::Str => Ok((raw.to_string(), Typed::Text)),
        Kind::Enum(values) => values
            .iter()
            .find(|c| c.eq_ignore_ascii_case(v))
            .map(|c| (c.to_string(), Typed::Text))
            .ok_or_else(allowed),
        Kind::List => {
            let items: Vec<String> = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            Ok((items.join(","), Typed::List(items)))
        }
        Kind::EnumList(values) => {
            let mut items = Vec::new();
            for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match values.iter().find(|c| c.eq_ignore_ascii_case(item)) {
                    Some(c) => items.push(c.to_string()),
                    None => return Err(allowed()),
                }
            }
            Ok((items.join(","), Typed::List(items)))
        }
    }
}
