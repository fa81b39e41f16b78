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
mod validate;
mod value;

pub use aliases::{Alias, Origin};
pub use markdown::markdown;
pub use properties::{AppliesTo, Kind, Property, Scope, Status};

pub use value::Config;

use crate::error::Result;
use aliases::ALIASES;
use properties::PROPERTIES;
use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;
use validate::validate;

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

#[cfg(test)]
mod effect_tests;
#[cfg(test)]
mod tests;
