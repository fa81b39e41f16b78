//! The `debug` property's contexts: which kinds of debug output one client
//! emits, and the `tracing` target each kind goes to.
//!
//! librdkafka's `debug=broker,protocol` turns on debug logging per client;
//! `tracing` filters per target, process-wide. To keep librdkafka's
//! meaning, every debug event of the library is emitted through
//! [`trace_ctx!`], which first checks the client's own [`DebugContexts`]
//! (a bitmask read from its configuration once): a client whose `debug`
//! does not name a context emits nothing for it, whatever the application's
//! subscriber enables, and a client that names it emits it at debug level
//! on the context's target ([`Context::target`], e.g. `ferrokafka::broker`),
//! where the subscriber's own filter still applies.
//!
//! What each context covers: `broker` connection set-up, failures and
//! closes; `protocol` the ApiVersions exchange and every request and
//! response header (API key, version, correlation id, size); `security` TLS
//! and SASL; `metadata` and `topic` the metadata cache; `msg` produce
//! requests and their outcome; `eos` producer ids, epochs and
//! transactions; `cgrp` group membership; `assignor` partition assignment;
//! `fetch` and `consumer` the fetch loop and offsets; `admin` the admin
//! client's routing; `conf` the configuration dump at construction.
//! `generic`, `feature`, `queue`, `interceptor`, `plugin`, `mock` and
//! `telemetry` are accepted for compatibility; nothing is logged under
//! them today (there are no interceptors, plugins or telemetry to log).

use crate::config::Config;

/// One `debug` context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub(crate) enum Context {
    Generic,
    Broker,
    Topic,
    Metadata,
    Feature,
    Queue,
    Msg,
    Protocol,
    Cgrp,
    Security,
    Fetch,
    Interceptor,
    Plugin,
    Consumer,
    Admin,
    Eos,
    Mock,
    Assignor,
    Conf,
    Telemetry,
}

impl Context {
    /// Every context, in the property table's order.
    pub(crate) const ALL: [Context; 20] = [
        Context::Generic,
        Context::Broker,
        Context::Topic,
        Context::Metadata,
        Context::Feature,
        Context::Queue,
        Context::Msg,
        Context::Protocol,
        Context::Cgrp,
        Context::Security,
        Context::Fetch,
        Context::Interceptor,
        Context::Plugin,
        Context::Consumer,
        Context::Admin,
        Context::Eos,
        Context::Mock,
        Context::Assignor,
        Context::Conf,
        Context::Telemetry,
    ];

    /// The context's name in the `debug` property.
    pub(crate) fn name(self) -> &'static str {
        // The target is `ferrokafka::` followed by the name.
        &self.target()["ferrokafka::".len()..]
    }

    /// The `tracing` target its events go to.
    pub(crate) const fn target(self) -> &'static str {
        match self {
            Context::Generic => target::Generic,
            Context::Broker => target::Broker,
            Context::Topic => target::Topic,
            Context::Metadata => target::Metadata,
            Context::Feature => target::Feature,
            Context::Queue => target::Queue,
            Context::Msg => target::Msg,
            Context::Protocol => target::Protocol,
            Context::Cgrp => target::Cgrp,
            Context::Security => target::Security,
            Context::Fetch => target::Fetch,
            Context::Interceptor => target::Interceptor,
            Context::Plugin => target::Plugin,
            Context::Consumer => target::Consumer,
            Context::Admin => target::Admin,
            Context::Eos => target::Eos,
            Context::Mock => target::Mock,
            Context::Assignor => target::Assignor,
            Context::Conf => target::Conf,
            Context::Telemetry => target::Telemetry,
        }
    }
}

/// The targets as constants, named like [`Context`]'s variants, for
/// [`trace_ctx!`] (a `tracing` target must be a constant).
#[allow(non_upper_case_globals, missing_docs)]
pub(crate) mod target {
    pub const Generic: &str = "ferrokafka::generic";
    pub const Broker: &str = "ferrokafka::broker";
    pub const Topic: &str = "ferrokafka::topic";
    pub const Metadata: &str = "ferrokafka::metadata";
    pub const Feature: &str = "ferrokafka::feature";
    pub const Queue: &str = "ferrokafka::queue";
    pub const Msg: &str = "ferrokafka::msg";
    pub const Protocol: &str = "ferrokafka::protocol";
    pub const Cgrp: &str = "ferrokafka::cgrp";
    pub const Security: &str = "ferrokafka::security";
    pub const Fetch: &str = "ferrokafka::fetch";
    pub const Interceptor: &str = "ferrokafka::interceptor";
    pub const Plugin: &str = "ferrokafka::plugin";
    pub const Consumer: &str = "ferrokafka::consumer";
    pub const Admin: &str = "ferrokafka::admin";
    pub const Eos: &str = "ferrokafka::eos";
    pub const Mock: &str = "ferrokafka::mock";
    pub const Assignor: &str = "ferrokafka::assignor";
    pub const Conf: &str = "ferrokafka::conf";
    pub const Telemetry: &str = "ferrokafka::telemetry";
}

/// The contexts one client logs: a bitmask, copied freely.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DebugContexts(u32);

impl DebugContexts {
    /// No context (the default: no debug output).
    pub(crate) const NONE: DebugContexts = DebugContexts(0);

    /// The contexts of a list of names (`all` is every one); names the
    /// property table does not list are ignored (validation refused them).
    pub(crate) fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> DebugContexts {
        let mut bits = 0u32;
        for n in names {
            let n = n.trim();
            if n.eq_ignore_ascii_case("all") {
                bits = u32::MAX;
                continue;
            }
            if let Some(c) = Context::ALL
                .iter()
                .find(|c| c.name().eq_ignore_ascii_case(n))
            {
                bits |= 1 << (*c as u8);
            }
        }
        DebugContexts(bits)
    }

    /// The `debug` property of a validated configuration.
    pub(crate) fn from_config(c: &Config) -> DebugContexts {
        DebugContexts::parse(c.get_list("debug"))
    }

    /// Whether `c` is on.
    #[inline]
    pub(crate) fn has(self, c: Context) -> bool {
        self.0 & (1 << (c as u8)) != 0
    }

    /// Whether any context is on.
    pub(crate) fn any(self) -> bool {
        self.0 != 0
    }
}

/// `trace_ctx!(contexts, Broker, fields..., "message")`: a debug event on
/// the context's target, emitted only when `contexts` (a
/// [`DebugContexts`]) has the context on. The rest is `tracing::debug!`'s
/// syntax.
macro_rules! trace_ctx {
    ($on:expr, $ctx:ident, $($arg:tt)+) => {
        if $on.has($crate::debug::Context::$ctx) {
            ::tracing::debug!(target: $crate::debug::target::$ctx, $($arg)+)
        }
    };
}
pub(crate) use trace_ctx;

/// Logs the client's configuration under `conf` (secrets redacted): the
/// properties set explicitly, then the ones that do not apply to this
/// client's role, as librdkafka's `conf` context does at construction.
pub(crate) fn dump_config(c: &Config) {
    let on = DebugContexts::from_config(c);
    if !on.has(Context::Conf) {
        return;
    }
    let role = c.role();
    for (name, value) in c.iter() {
        if !c.is_set_explicitly(name) {
            continue;
        }
        use crate::config::{AppliesTo, ClientRole};
        let applies = crate::config::property(name).is_none_or(|p| {
            matches!(
                (role, p.applies_to()),
                (_, AppliesTo::Both)
                    | (ClientRole::Producer, AppliesTo::Producer)
                    | (ClientRole::Consumer, AppliesTo::Consumer)
            )
        });
        if applies {
            trace_ctx!(on, Conf, ?role, "{name} = {value}");
        } else {
            trace_ctx!(
                on,
                Conf,
                ?role,
                "{name} = {value} (does not apply to this client; ignored)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_match_the_property_table() {
        let p = crate::config::property("debug").unwrap();
        let crate::config::Kind::EnumList(names) = p.kind() else {
            panic!("debug is an enum list")
        };
        let mine: Vec<&str> = Context::ALL.iter().map(|c| c.name()).collect();
        let table: Vec<&str> = names.iter().copied().filter(|n| *n != "all").collect();
        assert_eq!(mine, table);
    }

    #[test]
    fn lists_parse_into_masks() {
        let d = DebugContexts::parse(["broker", " protocol"]);
        assert!(d.has(Context::Broker) && d.has(Context::Protocol));
        assert!(!d.has(Context::Metadata) && !d.has(Context::Generic));
        let all = DebugContexts::parse(["all"]);
        assert!(Context::ALL.iter().all(|c| all.has(*c)));
        assert!(!DebugContexts::parse([]).any());
        assert!(!DebugContexts::NONE.has(Context::Conf));
    }
}
