//! Configuration: the one property table and its validation.
//!
//! This module owns every configuration property: the table in
//! [`properties()`] (name, scope, producer/consumer applicability, type,
//! range or allowed values, default, doc line, implementation status), the
//! alias names in [`aliases()`] (librdkafka's, Java's and kafka-python's),
//! validation with cross-property rules, and the generated
//! `CONFIGURATION.md` ([`markdown()`]). Components read resolved, typed
//! values from a [`Config`]; what each value *does* is theirs.
//!
//! ```
//! use ferrokafka::config::{ClientConfig, ClientRole};
//! use std::time::Duration;
//!
//! let config = ClientConfig::new()
//!     .set("bootstrap.servers", "localhost:9092")
//!     .set("linger_ms", "10") // kafka-python's name
//!     .validate(ClientRole::Producer)?;
//! assert_eq!(config.get_duration("linger.ms"), Duration::from_millis(10));
//! assert_eq!(config.get_i64("acks"), -1); // librdkafka's default: all
//! # Ok::<(), ferrokafka::Error>(())
//! ```
//!
//! # Names
//!
//! librdkafka's names are canonical; librdkafka's own aliases (`linger.ms`,
//! `acks`, `bootstrap.servers`, ...), Java names (`buffer.memory`,
//! `max.request.size`, ...) and kafka-python's keyword arguments
//! (`linger_ms`, `buffer_memory`, `ssl_cafile`, ...) are accepted as well.
//! kafka-python's `None` means "use the default". kafka-python arguments that
//! take Python objects (`key_serializer`, `ssl_context`, ...) are rejected
//! with an error saying why; a few that only tune kafka-python's metrics are
//! ignored.
//!
//! # Properties of another client type
//!
//! As in librdkafka, a consumer property set on a producer (or the other way
//! round) is accepted and ignored; it is logged at debug level on the
//! `ferrokafka::config` tracing target.
//!
//! # Cross-property rules (producer)
//!
//! - `enable.idempotence=true` (or a `transactional.id`, which implies it)
//!   requires `acks=all`, `max.in.flight.requests.per.connection <= 5` and
//!   `retries > 0`. Values the application did not set are adjusted; values it
//!   set explicitly to something else are an error.
//! - `transactional.id` with `enable.idempotence=false` set explicitly is an
//!   error.
//! - `message.timeout.ms` (unless 0) must not be smaller than `linger.ms`.
//!
//! For consumers, `receive.message.max.bytes` must leave room for
//! `fetch.max.bytes` plus 512 bytes of framing; it is raised when not set
//! explicitly.

mod aliases;
mod markdown;
mod properties;

pub use aliases::{Alias, Origin};
pub use markdown::markdown;
pub use properties::{AppliesTo, Kind, Property, Scope, Status};

use crate::error::{Error, ErrorCode, Result};
use aliases::{Conversion, ALIASES};
use properties::PROPERTIES;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

/// Every property in the table, in documentation order (for `-X list`).
pub fn properties() -> impl Iterator<Item = &'static Property> {
    PROPERTIES.iter()
}

/// Every alias name.
pub fn aliases() -> impl Iterator<Item = &'static Alias> {
    ALIASES.iter()
}

/// The property with canonical name or alias `name`, if `name` is a property
/// or an alias that maps to exactly one property.
pub fn property(name: &str) -> Option<&'static Property> {
    match lookup(name) {
        Lookup::Property(i) => Some(&PROPERTIES[i]),
        Lookup::Alias(a) => a.target().and_then(|t| match lookup(t) {
            Lookup::Property(i) => Some(&PROPERTIES[i]),
            _ => None,
        }),
        Lookup::Unknown => None,
    }
}

enum Lookup {
    Property(usize),
    Alias(&'static Alias),
    Unknown,
}

fn lookup(name: &str) -> Lookup {
    static INDEX: OnceLock<HashMap<&'static str, Lookup>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut m = HashMap::new();
        for (i, p) in PROPERTIES.iter().enumerate() {
            m.insert(p.name(), Lookup::Property(i));
        }
        for a in ALIASES {
            m.insert(a.name(), Lookup::Alias(a));
        }
        m
    });
    match index.get(name) {
        Some(Lookup::Property(i)) => Lookup::Property(*i),
        Some(Lookup::Alias(a)) => Lookup::Alias(a),
        _ => Lookup::Unknown,
    }
}

/// Table index of a property name or pure-rename alias; panics otherwise
/// (accessors are called with names fixed in code, so a miss is a bug).
fn index_for_accessor(name: &str) -> usize {
    match lookup(name) {
        Lookup::Property(i) => i,
        Lookup::Alias(a) if a.is_rename() => match a.target().map(lookup) {
            Some(Lookup::Property(i)) => i,
            _ => panic!("alias {name:?} points outside the property table"),
        },
        _ => panic!("{name:?} is not a property in ferrokafka's configuration table"),
    }
}

/// The kind of client a configuration is validated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientRole {
    /// A producer: producer and common properties apply.
    Producer,
    /// A consumer: consumer and common properties apply.
    Consumer,
    /// An admin client: only common properties apply.
    Admin,
}

impl ClientRole {
    fn uses(self, applies_to: AppliesTo) -> bool {
        matches!(
            (self, applies_to),
            (_, AppliesTo::Both)
                | (ClientRole::Producer, AppliesTo::Producer)
                | (ClientRole::Consumer, AppliesTo::Consumer)
        )
    }
}

/// A set of configuration properties as the application gave them, not yet
/// validated. Names may be canonical or aliases; [`validate`] checks them.
///
/// [`validate`]: ClientConfig::validate
#[derive(Clone, Default)]
pub struct ClientConfig {
    props: Vec<(String, String)>,
    oauth_provider: Option<crate::net::sasl::TokenSource>,
}

impl ClientConfig {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a property; validation happens in [`validate`](Self::validate).
    /// Setting the same name again replaces the value in place; otherwise
    /// insertion order is kept (later settings of aliases of the same
    /// property win).
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_mut(name, value);
        self
    }

    /// Like [`set`](Self::set), through a mutable reference.
    pub fn set_mut(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let (name, value) = (name.into(), value.into());
        match self.props.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = value,
            None => self.props.push((name, value)),
        }
        self
    }

    /// The value last set for `name` or for any pure alias of the same
    /// property (`linger.ms` finds a value set as `queue.buffering.max.ms`).
    pub fn get(&self, name: &str) -> Option<&str> {
        let want = rename_target(name);
        self.props
            .iter()
            .rev()
            .find(|(n, _)| n == name || (want.is_some() && rename_target(n) == want))
            .map(|(_, v)| v.as_str())
    }

    /// The settings as given, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.props.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Checks every setting against the table and the cross-property rules
    /// and resolves defaults. Errors name the property, the value given and
    /// what is allowed (see the [module docs](self) for the rules).
    pub fn validate(&self, role: ClientRole) -> Result<Config> {
        validate(self, role)
    }
}

/// The canonical name `name` stands for when it is a property or a pure
/// rename alias.
fn rename_target(name: &str) -> Option<&'static str> {
    match lookup(name) {
        Lookup::Property(i) => Some(PROPERTIES[i].name()),
        Lookup::Alias(a) if a.is_rename() => a.target(),
        _ => None,
    }
}

impl ClientConfig {
    /// Sets the source of OAUTHBEARER tokens (`sasl.mechanisms=OAUTHBEARER`):
    /// called on each connection's authentication, the token is kept and
    /// asked again once 80% of its lifetime has passed. Any closure
    /// `Fn() -> Result<OAuthToken>` serves; it runs on the client's runtime,
    /// so it must not block for long. Exclusive with
    /// `enable.sasl.oauthbearer.unsecure.jwt`.
    ///
    /// ```
    /// use ferrokafka::net::sasl::OAuthToken;
    /// use std::time::Duration;
    /// let config = ferrokafka::ClientConfig::new()
    ///     .set("bootstrap.servers", "broker:9093")
    ///     .set("security.protocol", "sasl_ssl")
    ///     .set("sasl.mechanisms", "OAUTHBEARER")
    ///     .set_oauthbearer_token_provider(|| {
    ///         Ok(OAuthToken::new("eyJ...", "alice", Duration::from_secs(3600)))
    ///     });
    /// ```
    pub fn set_oauthbearer_token_provider(
        mut self,
        provider: impl crate::net::sasl::OAuthTokenProvider,
    ) -> Self {
        self.oauth_provider = Some(crate::net::sasl::TokenSource::Call(std::sync::Arc::new(
            provider,
        )));
        self
    }

    /// Sets an async source of OAUTHBEARER tokens: as
    /// [`set_oauthbearer_token_provider`](Self::set_oauthbearer_token_provider),
    /// but the future `provider` returns is awaited on the connection's
    /// task, so the source may do I/O (ask an identity service) without
    /// holding up the client's other connections. While one token is
    /// awaited, the client's other connections wait for the same one.
    ///
    /// ```
    /// use ferrokafka::net::sasl::OAuthToken;
    /// use std::time::Duration;
    /// let config = ferrokafka::ClientConfig::new()
    ///     .set("bootstrap.servers", "broker:9093")
    ///     .set("security.protocol", "sasl_ssl")
    ///     .set("sasl.mechanisms", "OAUTHBEARER")
    ///     .set_oauthbearer_token_provider_async(|| async {
    ///         // e.g. an HTTP request to the identity service
    ///         Ok(OAuthToken::new("eyJ...", "alice", Duration::from_secs(3600)))
    ///     });
    /// ```
    pub fn set_oauthbearer_token_provider_async<F, Fut>(mut self, provider: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = crate::Result<crate::net::sasl::OAuthToken>>
            + Send
            + 'static,
    {
        let f = move || -> crate::net::sasl::TokenFuture { Box::pin(provider()) };
        self.oauth_provider = Some(crate::net::sasl::TokenSource::Await(std::sync::Arc::new(f)));
        self
    }
}

impl fmt::Debug for ClientConfig {
    /// Secret values (passwords, private keys) are shown as `[redacted]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in &self.props {
            let secret = property(name).is_some_and(|p| p.is_secret());
            m.entry(name, &if secret { "[redacted]" } else { value.as_str() });
        }
        m.finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ClientConfig {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut c = ClientConfig::new();
        for (k, v) in iter {
            c.set_mut(k, v);
        }
        c
    }
}

/// A validated configuration: every property of the table with its typed
/// value (the application's or the default).
///
/// Accessors take a canonical name or a pure alias (`linger.ms`). They panic
/// when the name is not in the table or the property does not have the type
/// asked for: both are bugs in the calling code, found by the first test that
/// reaches the call, never caused by user input.
#[derive(Clone)]
pub struct Config {
    role: ClientRole,
    values: Vec<Resolved>,
    oauth_provider: Option<crate::net::sasl::TokenSource>,
    /// Which properties some accessor read (the settings test checks that
    /// every implemented property is read by the roles it applies to).
    #[cfg(test)]
    reads: std::sync::Arc<Vec<std::sync::atomic::AtomicBool>>,
}

#[derive(Debug, Clone)]
struct Resolved {
    /// Canonical text: the string, the number, `true`/`false`, the enum's
    /// table spelling, or the list joined with commas.
    text: String,
    typed: Typed,
    explicit: bool,
}

#[derive(Debug, Clone)]
enum Typed {
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

    fn set_resolved(&mut self, name: &str, text: &str) {
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
fn parse(p: &Property, raw: &str) -> std::result::Result<(String, Typed), String> {
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

fn validate(cfg: &ClientConfig, role: ClientRole) -> Result<Config> {
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
        // Set to its default, an unimplemented setting asks for nothing.
        if is_security_property(p.name())
            && p.status() == Status::NotYet
            && c.values[i].explicit
            && c.values[i].text != config_text(p)
        {
            let (n, v) = shown(p.name());
            let v = if p.is_secret() {
                "[redacted]".to_string()
            } else {
                v
            };
            return Err(Error::new(
                ErrorCode::NotImplemented,
                format!(
                    "configuration property \"{n}\" = \"{v}\" is not implemented in this build: \
                     the setting would have no effect, so it is refused"
                ),
            ));
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

#[cfg(test)]
mod tests;
