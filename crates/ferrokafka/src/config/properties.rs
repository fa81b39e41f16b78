//! The property table: every configuration property ferrokafka knows, with
//! its scope, who it applies to, its type and range, its default and a
//! one-line description. Parsing, validation, defaults, `-X list` and the
//! generated `CONFIGURATION.md` all read this table and nothing else.
//!
//! Names, defaults and ranges follow librdkafka's `CONFIGURATION.md`; the
//! descriptions are ours. Aliases (librdkafka's own, Java's and
//! kafka-python's) live in [`super::aliases`].

use std::fmt;

/// Where a property may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// A client-wide property.
    Global,
    /// A per-topic property; set on the client it is the default for every
    /// topic.
    Topic,
}

/// Which kind of client a property affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AppliesTo {
    /// Producers only (librdkafka's `P`).
    Producer,
    /// Consumers only (librdkafka's `C`).
    Consumer,
    /// Every client (librdkafka's `*`).
    Both,
}

impl AppliesTo {
    /// librdkafka's one-letter legend: `P`, `C` or `*`.
    pub fn letter(self) -> &'static str {
        match self {
            AppliesTo::Producer => "P",
            AppliesTo::Consumer => "C",
            AppliesTo::Both => "*",
        }
    }
}

/// The type of a property's value and what values are allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Kind {
    /// `true` or `false` (case-insensitive; `1`/`0` accepted too).
    Bool,
    /// An integer from `min` to `max` inclusive.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A duration in milliseconds from `min` to `max` inclusive; a negative
    /// minimum means the negative value disables the feature.
    Ms {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A floating-point number from `min` to `max` inclusive.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// Free text.
    Str,
    /// One of the listed values (matched case-insensitively).
    Enum(&'static [&'static str]),
    /// A comma-separated list of free-text items.
    List,
    /// A comma-separated list of the listed values.
    EnumList(&'static [&'static str]),
}

impl Kind {
    /// The type's name as shown in docs and errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Bool => "boolean",
            Kind::Int { .. } => "integer",
            Kind::Ms { .. } => "milliseconds",
            Kind::Float { .. } => "float",
            Kind::Str => "string",
            Kind::Enum(_) => "enum",
            Kind::List => "list",
            Kind::EnumList(_) => "enum list",
        }
    }
}

impl fmt::Display for Kind {
    /// What is allowed, in words: `an integer from 1 to 5`, `one of: a, b`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Bool => f.write_str("true or false"),
            Kind::Int { min, max } => write!(f, "an integer from {min} to {max}"),
            Kind::Ms { min, max } => write!(f, "milliseconds from {min} to {max}"),
            Kind::Float { min, max } => write!(f, "a number from {min} to {max}"),
            Kind::Str => f.write_str("any string"),
            Kind::Enum(values) => write!(f, "one of: {}", values.join(", ")),
            Kind::List => f.write_str("a comma-separated list"),
            Kind::EnumList(values) => {
                write!(f, "a comma-separated list of: {}", values.join(", "))
            }
        }
    }
}

/// Whether ferrokafka acts on a property.
///
/// There is no silent state: a property is honoured, refused unless set to
/// its default, or a deprecated no-op that logs a warning when set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// The property is honoured.
    Implemented,
    /// The feature behind the property is not built: its default is
    /// accepted (it asks for nothing), any other value is refused at
    /// construction with `_NOT_IMPLEMENTED` naming the property. Its doc
    /// line says "(not implemented: only the default is accepted)".
    NotYet,
    /// Deprecated in librdkafka and without effect there too: accepted, and
    /// a warning naming it is logged when it is set.
    Ignored,
}

/// One entry of the property table.
#[derive(Debug, Clone, Copy)]
pub struct Property {
    name: &'static str,
    scope: Scope,
    applies_to: AppliesTo,
    kind: Kind,
    default: &'static str,
    doc: &'static str,
    status: Status,
    /// Alternative spellings of values, rewritten before parsing
    /// (`("all", "-1")` for acks). Matched case-insensitively.
    synonyms: &'static [(&'static str, &'static str)],
    secret: bool,
}

impl Property {
    /// The canonical (librdkafka) name.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// Global or per-topic.
    pub fn scope(&self) -> Scope {
        self.scope
    }
    /// Producer, consumer or both.
    pub fn applies_to(&self) -> AppliesTo {
        self.applies_to
    }
    /// Type and allowed values.
    pub fn kind(&self) -> Kind {
        self.kind
    }
    /// The default as text; empty when the property has no default (unset).
    pub fn default_value(&self) -> &'static str {
        self.default
    }
    /// One-line description (without the implementation-status note).
    pub fn doc(&self) -> &'static str {
        self.doc
    }
    /// Whether ferrokafka acts on the property yet.
    pub fn status(&self) -> Status {
        self.status
    }
    /// Whether the value is a secret that must not be logged or printed.
    pub fn is_secret(&self) -> bool {
        self.secret
    }
    /// Value spellings accepted besides the canonical ones, as
    /// `(spelling, canonical)` pairs.
    pub fn value_synonyms(&self) -> &'static [(&'static str, &'static str)] {
        self.synonyms
    }
    /// Every alias name that means this property.
    pub fn aliases(&self) -> impl Iterator<Item = &'static str> + '_ {
        super::aliases::ALIASES
            .iter()
            .filter(move |a| a.target() == Some(self.name))
            .map(|a| a.name())
    }
    /// The range or allowed values as shown in `CONFIGURATION.md`
    /// (`1 .. 5`, `none, gzip`); empty for free text and lists.
    pub fn range(&self) -> String {
        super::markdown::range_text(self)
    }
    /// The doc line with the status note, as `-X list` and
    /// `CONFIGURATION.md` show it.
    pub fn doc_line(&self) -> String {
        match self.status {
            Status::Implemented | Status::Ignored => self.doc.to_string(),
            Status::NotYet => format!(
                "{} (not implemented: only the default is accepted)",
                self.doc
            ),
        }
    }

    const fn done(mut self) -> Self {
        self.status = Status::Implemented;
        self
    }
    const fn ignored(mut self) -> Self {
        self.status = Status::Ignored;
        self
    }
    const fn syn(mut self, synonyms: &'static [(&'static str, &'static str)]) -> Self {
        self.synonyms = synonyms;
        self
    }
    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }
}

use AppliesTo::{Both, Consumer, Producer};
use Scope::{Global, Topic};

const fn p(
    name: &'static str,
    scope: Scope,
    applies_to: AppliesTo,
    kind: Kind,
    default: &'static str,
    doc: &'static str,
) -> Property {
    Property {
        name,
        scope,
        applies_to,
        kind,
        default,
        doc,
        status: Status::NotYet,
        synonyms: &[],
        secret: false,
    }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn ms(min: i64, max: i64) -> Kind {
    Kind::Ms { min, max }
}
const BOOL: Kind = Kind::Bool;
const STR: Kind = Kind::Str;
const I32MAX: i64 = i32::MAX as i64;

const DEBUG_CONTEXTS: &[&str] = &[
    "generic",
    "broker",
    "topic",
    "metadata",
    "feature",
    "queue",
    "msg",
    "protocol",
    "cgrp",
    "security",
    "fetch",
    "interceptor",
    "plugin",
    "consumer",
    "admin",
    "eos",
    "mock",
    "assignor",
    "conf",
    "telemetry",
    "all",
];
const CODECS: &[&str] = &["none", "gzip", "snappy", "lz4", "zstd"];
const PARTITIONERS: &[&str] = &[
    "random",
    "consistent",
    "consistent_random",
    "murmur2",
    "murmur2_random",
    "fnv1a",
    "fnv1a_random",
];
const SASL_MECHANISMS: &[&str] = &[
    "GSSAPI",
    "PLAIN",
    "SCRAM-SHA-256",
    "SCRAM-SHA-512",
    "OAUTHBEARER",
];

/// The table. Order is the order of `CONFIGURATION.md`: global properties
/// first (general, connection, metadata, security, consumer, producer), then
/// topic properties.
#[rustfmt::skip]
pub(crate) static PROPERTIES: &[Property] = &[
    // ---- general and connection ----
    p("client.id", Global, Both, STR, "ferrokafka",
      "Client identifier sent with every request; shows up in broker logs and quotas.").done(),
    p("client.software.name", Global, Both, STR, "ferrokafka",
      "Client software name sent to brokers in ApiVersions (KIP-511), shown in their client metrics; letters, digits, '.' and '-', starting and ending with a letter or digit.").done(),
    p("client.software.version", Global, Both, STR, "",
      "Client software version sent to brokers in ApiVersions (KIP-511); empty sends this ferrokafka's version. Same character rules as client.software.name.").done(),
    p("metadata.broker.list", Global, Both, Kind::List, "",
      "Initial brokers as a comma-separated list of host or host:port (port 9092 by default); more are discovered from metadata.").done(),
    p("message.max.bytes", Global, Both, int(1000, 1_000_000_000), "1000000",
      "Largest protocol request the client sends, and so the largest record batch it builds.").done(),
    p("message.copy.max.bytes", Global, Both, int(0, 1_000_000_000), "65535",
      "Request bodies (a produce request's record batches) up to this size are copied into the connection's write buffer; larger ones are written from where they are, with vectored writes (more iovecs, no copy).").done(),
    p("receive.message.max.bytes", Global, Both, int(1000, I32MAX), "100000000",
      "Largest response frame accepted from a broker; bigger frames close the connection instead of allocating.").done(),
    p("max.in.flight.requests.per.connection", Global, Both, int(1, 1_000_000), "1000000",
      "How many requests may be outstanding on one broker connection at a time.").done(),
    p("socket.timeout.ms", Global, Both, ms(10, 300_000), "60000",
      "Client-side timeout of network requests, ProduceRequests included; a request unanswered for this long fails and its connection is closed (a ProduceRequest is also cut short when its records' message.timeout.ms runs out).").done(),
    p("socket.send.buffer.bytes", Global, Both, int(0, 100_000_000), "0",
      "Socket send buffer size (SO_SNDBUF); 0 keeps the system default.").done(),
    p("socket.receive.buffer.bytes", Global, Both, int(0, 100_000_000), "0",
      "Socket receive buffer size (SO_RCVBUF); 0 keeps the system default.").done(),
    p("socket.keepalive.enable", Global, Both, BOOL, "false",
      "Turn on TCP keep-alive (SO_KEEPALIVE) on broker connections.").done(),
    p("socket.nagle.disable", Global, Both, BOOL, "true",
      "Turn off Nagle's algorithm (TCP_NODELAY) on broker connections.").done(),
    p("socket.max.fails", Global, Both, int(0, 1_000_000), "1",
      "Close a broker connection once this many requests on it timed out (late answers to them are dropped until then); 0 never closes for this reason.").done(),
    p("socket.connection.setup.timeout.ms", Global, Both, ms(1000, I32MAX), "30000",
      "Longest time to set a connection up (TCP, TLS and SASL) before it is closed and retried.").done(),
    p("connections.max.idle.ms", Global, Both, ms(0, I32MAX), "0",
      "Close a broker connection after this long without traffic; 0 keeps idle connections open.").done(),
    p("broker.address.ttl", Global, Both, ms(0, 86_400_000), "1000",
      "How long a connection reuses the addresses its broker's name resolved to; 0 resolves on every attempt, and an attempt that fails on every address resolves again.").done(),
    p("broker.address.family", Global, Both, Kind::Enum(&["any", "v4", "v6"]), "any",
      "Which IP address families may be used to reach brokers: any, v4 or v6 (other addresses a name resolves to are skipped).").done(),
    p("client.dns.lookup", Global, Both,
      Kind::Enum(&["use_all_dns_ips", "resolve_canonical_bootstrap_servers_only"]), "use_all_dns_ips",
      "use_all_dns_ips tries every address a host name resolves to before giving up (KIP-302); resolve_canonical_bootstrap_servers_only (for Kerberos, which this build lacks) is refused.").done(),
    p("reconnect.backoff.ms", Global, Both, ms(0, 3_600_000), "100",
      "First wait before reconnecting to a broker; doubles per failed attempt with -25%..+50% jitter; 0 reconnects at once.").done(),
    p("reconnect.backoff.max.ms", Global, Both, ms(0, 3_600_000), "10000",
      "Upper bound of the reconnect backoff.").done(),
    p("retry.backoff.ms", Global, Both, ms(1, 300_000), "100",
      "First wait before retrying a failed request; grows exponentially up to retry.backoff.max.ms.").done(),
    p("retry.backoff.max.ms", Global, Both, ms(1, 300_000), "1000",
      "Upper bound of the request retry backoff.").done(),
    p("api.version.request", Global, Both, BOOL, "true",
      "Ask each broker which API versions it supports (KIP-35); when false, broker.version.fallback decides.").done(),
    p("api.version.request.timeout.ms", Global, Both, ms(1, 300_000), "10000",
      "Timeout of the ApiVersions request.").done(),
    p("api.version.fallback.ms", Global, Both, ms(0, 604_800_000), "0",
      "After an ApiVersions request that a broker closed the connection on or never answered, assume broker.version.fallback for this long (brokers older than 0.10); 0 asks again on every connection.").done(),
    p("broker.version.fallback", Global, Both, STR, "0.10.0",
      "Broker version assumed when API versions cannot be asked (api.version.request=false or request failure).").done(),
    p("statistics.interval.ms", Global, Both, ms(0, 86_400_000), "0",
      "Interval at which statistics (librdkafka's STATISTICS.md layout) go to the statistics callback and stream; 0 turns the periodic emission off (stats() still answers).").done(),
    p("debug", Global, Both, Kind::EnumList(DEBUG_CONTEXTS), "",
      "Debug contexts this client logs, comma-separated: each at debug level on the tracing target ferrokafka::<context>; a context not named is never emitted by this client.").done(),
    p("log_level", Global, Both, int(0, 7), "6",
      "Log level, syslog numbering (0 emergency .. 7 debug): error events are logged at warn from 4, fatal errors at error from 3; debug raises it to 7.").done(),
    p("log.connection.close", Global, Both, BOOL, "true",
      "Log a broker closing a connection (such as an idle one) at info level; false logs it at debug level.").done(),
    p("internal.termination.signal", Global, Both, int(0, 128), "0",
      "librdkafka's shutdown signal; accepted and ignored, as ferrokafka shuts down without one.").ignored(),
    p("socket.blocking.max.ms", Global, Both, ms(1, 60_000), "1000",
      "Deprecated in librdkafka and unused; accepted and ignored.").ignored(),
    p("reconnect.backoff.jitter.ms", Global, Both, ms(0, 3_600_000), "0",
      "Deprecated in librdkafka and unused (see reconnect.backoff.ms); accepted and ignored.").ignored(),
    p("topic.metadata.refresh.fast.cnt", Global, Both, int(0, 1000), "10",
      "Deprecated in librdkafka and unused; accepted and ignored.").ignored(),
    p("client.rack", Global, Consumer, STR, "",
      "Rack of this client: for fetching from the closest replica (KIP-392) and for rack-aware group assignment (KIP-881).").done(),
    p("enable.metrics.push", Global, Both, BOOL, "false",
      "Push client metrics to the cluster when it subscribes to them (KIP-714); librdkafka's default is true, ferrokafka's false, as it has no metrics push."),
    // ---- metadata ----
    p("topic.metadata.refresh.interval.ms", Global, Both, ms(-1, 3_600_000), "300000",
      "Interval of proactive metadata refreshes; -1 turns them off.").done(),
    p("metadata.max.age.ms", Global, Both, ms(1, 86_400_000), "900000",
      "Cached metadata older than this is refreshed before use.").done(),
    p("topic.metadata.refresh.fast.interval.ms", Global, Both, ms(1, 60_000), "100",
      "First retry interval of metadata refreshes after a partition lost its leader; grows up to retry.backoff.max.ms.").done(),
    p("topic.metadata.refresh.sparse", Global, Both, BOOL, "true",
      "Request metadata only for the topics in use; false asks for every topic of the cluster in each refresh (only the topics in use are cached either way).").done(),
    p("topic.metadata.propagation.max.ms", Global, Both, ms(0, 3_600_000), "30000",
      "How long a topic missing from metadata is waited for before it is reported unknown (new topics take time to propagate).").done(),
    p("allow.auto.create.topics", Global, Both, BOOL, "false",
      "Let metadata requests create missing topics on brokers that allow it.").done(),
    p("metadata.recovery.strategy", Global, Both, Kind::Enum(&["none", "rebootstrap"]), "rebootstrap",
      "rebootstrap: the bootstrap servers stay candidates for metadata requests, tried when no learned broker answers; none: once brokers are learned from metadata only those are asked.").done(),
    p("metadata.recovery.rebootstrap.trigger.ms", Global, Both, ms(0, I32MAX), "300000",
      "Re-bootstrap after failing to get metadata from any broker for this long."),
    p("topic.blacklist", Global, Both, Kind::List, "",
      "Regular expressions (comma-separated, unanchored) of topic names to leave out of every metadata answer, as if those topics did not exist.").done(),
    // ---- security ----
    p("security.protocol", Global, Both,
      Kind::Enum(&["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"]), "plaintext",
      "How to talk to brokers: plain TCP or TLS, each with or without SASL authentication.").done(),
    p("ssl.cipher.suites", Global, Both, STR, "",
      "TLS cipher suites to offer, separated by colons: rustls names (TLS13_AES_128_GCM_SHA256) or OpenSSL names (ECDHE-RSA-AES128-GCM-SHA256); OpenSSL keywords such as HIGH are refused.").done(),
    p("ssl.curves.list", Global, Both, STR, "",
      "Key-exchange groups to offer in the TLS handshake, separated by colons: X25519, P-256 (prime256v1), P-384 (secp384r1).").done(),
    p("ssl.sigalgs.list", Global, Both, STR, "",
      "Signature algorithms offered, accepted from the broker and used for the client's own handshake signature, separated by colons: OpenSSL names (RSA+SHA256, RSA-PSS+SHA256, ECDSA+SHA256, ed25519, rsa_pss_rsae_sha256, ecdsa_secp384r1_sha384) or rustls's; SHA-1, P-521 and Ed448 schemes are refused.").done(),
    p("ssl.key.location", Global, Both, STR, "",
      "Path to the client's private key (PEM: PKCS#8, PKCS#1, SEC1, or encrypted PKCS#8 with ssl.key.password) for TLS client authentication.").done(),
    p("ssl.key.password", Global, Both, STR, "",
      "Password of the client's private key when it is an encrypted PKCS#8 PEM (PBES2).").secret().done(),
    p("ssl.key.pem", Global, Both, STR, "",
      "The client's private key as a PEM string.").secret().done(),
    p("ssl.certificate.location", Global, Both, STR, "",
      "Path to the client's certificate (PEM) for TLS client authentication.").done(),
    p("ssl.certificate.pem", Global, Both, STR, "",
      "The client's certificate as a PEM string.").done(),
    p("ssl.ca.location", Global, Both, STR, "",
      "File or directory of PEM CA certificates that verify brokers, or probe for the system store; the system store when neither this nor ssl.ca.pem is set.").done(),
    p("ssl.ca.pem", Global, Both, STR, "",
      "CA certificates that verify brokers, as a PEM string.").done(),
    p("ssl.ca.certificate.stores", Global, Both, STR, "Root",
      "Windows certificate stores to load CA certificates from."),
    p("ssl.crl.location", Global, Both, STR, "",
      "Path to PEM certificate revocation lists; the broker's certificate must then be covered by one and not revoked.").done(),
    p("ssl.keystore.location", Global, Both, STR, "",
      "Path to a PKCS#12 keystore holding the client's key and certificate chain for TLS client authentication (instead of ssl.certificate.* and ssl.key.*).").done(),
    p("ssl.keystore.password", Global, Both, STR, "",
      "Password of the PKCS#12 keystore (integrity and encryption: PBES2 with AES, or the legacy 3DES/RC2 schemes).").secret().done(),
    p("ssl.providers", Global, Both, STR, "",
      "OpenSSL 3 providers to load; ferrokafka's TLS is rustls, so any other value than the default is refused."),
    p("ssl.engine.location", Global, Both, STR, "",
      "OpenSSL engine library (deprecated in librdkafka); ferrokafka's TLS is rustls, so a value is refused."),
    p("ssl.engine.id", Global, Both, STR, "dynamic",
      "OpenSSL engine id; ferrokafka's TLS is rustls, so any other value than the default is refused."),
    p("enable.ssl.certificate.verification", Global, Both, BOOL, "true",
      "Verify the broker's certificate chain.").done(),
    p("ssl.endpoint.identification.algorithm", Global, Both, Kind::Enum(&["none", "https"]), "https",
      "https checks that the broker's certificate matches its host name; none skips that check.").done(),
    p("https.ca.location", Global, Both, STR, "",
      "CA certificates (a PEM file, a directory of them, or probe for the system store) that verify an https OIDC token endpoint; the system store when neither this nor https.ca.pem is set.").done(),
    p("https.ca.pem", Global, Both, STR, "",
      "CA certificates for an https OIDC token endpoint, as a PEM string.").done(),
    p("sasl.mechanisms", Global, Both, Kind::Enum(SASL_MECHANISMS), "GSSAPI",
      "SASL mechanism to authenticate with (exactly one): PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER; GSSAPI is not implemented.").done(),
    p("sasl.kerberos.service.name", Global, Both, STR, "kafka",
      "Kerberos principal name the brokers run as, without host and realm."),
    p("sasl.kerberos.principal", Global, Both, STR, "kafkaclient",
      "This client's Kerberos principal."),
    p("sasl.kerberos.kinit.cmd", Global, Both, STR, "",
      "Shell command that obtains or refreshes the Kerberos ticket."),
    p("sasl.kerberos.keytab", Global, Both, STR, "",
      "Path to the Kerberos keytab."),
    p("sasl.kerberos.min.time.before.relogin", Global, Both, ms(0, 86_400_000), "60000",
      "Minimum time between Kerberos ticket refreshes; 0 turns automatic refresh off."),
    p("sasl.username", Global, Both, STR, "",
      "User name for the PLAIN and SCRAM mechanisms.").done(),
    p("sasl.password", Global, Both, STR, "",
      "Password for the PLAIN and SCRAM mechanisms.").secret().done(),
    p("sasl.oauthbearer.config", Global, Both, STR, "",
      "Settings of the built-in unsecured OAUTHBEARER token: principal=..., principalClaimName=..., scope=a,b, scopeClaimName=..., lifeSeconds=..., extension_NAME=value (space-separated).").secret().done(),
    p("enable.sasl.oauthbearer.unsecure.jwt", Global, Both, BOOL, "false",
      "Use the built-in unsecured JWT token handler (for development only).").done(),
    p("sasl.oauthbearer.method", Global, Both, Kind::Enum(&["default", "oidc"]), "default",
      "How OAUTHBEARER tokens are obtained: default (the unsecured JWT or an application's token provider); oidc (the client credentials grant against sasl.oauthbearer.token.endpoint.url, a new token at 80% of the last one's lifetime).").done(),
    p("sasl.oauthbearer.client.id", Global, Both, STR, "",
      "OIDC client id, sent with the secret as HTTP Basic authentication to the token endpoint.").done(),
    p("sasl.oauthbearer.client.secret", Global, Both, STR, "",
      "OIDC client secret.").secret().done(),
    p("sasl.oauthbearer.scope", Global, Both, STR, "",
      "Scope requested from the OIDC token endpoint; none when empty.").done(),
    p("sasl.oauthbearer.extensions", Global, Both, STR, "",
      "SASL extensions (KIP-342) sent with each OIDC token, as comma-separated key=value pairs.").done(),
    p("sasl.oauthbearer.token.endpoint.url", Global, Both, STR, "",
      "URL (http or https) of the OIDC token endpoint.").done(),
    p("sasl.oauthbearer.sub.claim.name", Global, Both, STR, "sub",
      "Claim of an OIDC token (a JWT) that holds the principal name.").done(),
    p("sasl.oauthbearer.grant.type", Global, Both,
      Kind::Enum(&["client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer"]), "client_credentials",
      "OAuth grant type used with the token endpoint."),
    p("sasl.oauthbearer.assertion.algorithm", Global, Both, Kind::Enum(&["RS256", "ES256"]), "RS256",
      "Signing algorithm of the JWT assertion."),
    p("sasl.oauthbearer.assertion.private.key.file", Global, Both, STR, "",
      "Path to the private key (PEM) that signs the JWT assertion."),
    p("sasl.oauthbearer.assertion.private.key.passphrase", Global, Both, STR, "",
      "Passphrase of the assertion's private key.").secret(),
    p("sasl.oauthbearer.assertion.private.key.pem", Global, Both, STR, "",
      "The assertion's private key as a PEM string.").secret(),
    p("sasl.oauthbearer.assertion.file", Global, Both, STR, "",
      "Path to a ready-made JWT assertion."),
    p("sasl.oauthbearer.assertion.claim.aud", Global, Both, STR, "",
      "Audience claim of the JWT assertion."),
    p("sasl.oauthbearer.assertion.claim.exp.seconds", Global, Both, int(1, I32MAX), "300",
      "Lifetime in seconds of the JWT assertion."),
    p("sasl.oauthbearer.assertion.claim.iss", Global, Both, STR, "",
      "Issuer claim of the JWT assertion."),
    p("sasl.oauthbearer.assertion.claim.jti.include", Global, Both, BOOL, "false",
      "Put a random JWT id claim into the assertion."),
    p("sasl.oauthbearer.assertion.claim.nbf.seconds", Global, Both, int(0, I32MAX), "60",
      "How many seconds before now the assertion becomes valid."),
    p("sasl.oauthbearer.assertion.claim.sub", Global, Both, STR, "",
      "Subject claim of the JWT assertion."),
    p("sasl.oauthbearer.assertion.jwt.template.file", Global, Both, STR, "",
      "Path to a JWT template for the assertion."),
    p("sasl.oauthbearer.metadata.authentication.type", Global, Both,
      Kind::Enum(&["none", "azure_imds", "aws_iam"]), "none",
      "Obtain tokens from a cloud metadata service instead of client credentials."),
    // ---- consumer ----
    p("group.id", Global, Consumer, STR, "",
      "Consumer group id; consumers with the same id share the partitions of their subscription.").done(),
    p("group.instance.id", Global, Consumer, STR, "",
      "Static membership id (KIP-345): a restart within session.timeout.ms does not trigger a rebalance.").done(),
    p("partition.assignment.strategy", Global, Consumer,
      Kind::EnumList(&["range", "roundrobin", "cooperative-sticky"]), "range,roundrobin",
      "Assignors this member supports, in order of preference (classic group protocol).").done(),
    p("session.timeout.ms", Global, Consumer, ms(1, 3_600_000), "45000",
      "A member that sends no heartbeat for this long is removed from the group.").done(),
    p("heartbeat.interval.ms", Global, Consumer, ms(1, 3_600_000), "3000",
      "Interval of group heartbeats.").done(),
    p("group.protocol.type", Global, Consumer, STR, "consumer",
      "Protocol type of the classic group protocol, sent in JoinGroup and SyncGroup; members of one group must agree on it.").done(),
    p("group.protocol", Global, Consumer, Kind::Enum(&["classic", "consumer"]), "classic",
      "Group protocol: classic, or consumer for the KIP-848 protocol."),
    p("group.remote.assignor", Global, Consumer, STR, "",
      "Server-side assignor for the consumer group protocol; the broker picks one when unset."),
    p("coordinator.query.interval.ms", Global, Consumer, ms(1, 3_600_000), "600000",
      "How often a stable member looks its group coordinator up again; a new coordinator takes its next requests, without a rebalance.").done(),
    p("max.poll.interval.ms", Global, Consumer, ms(1, 86_400_000), "300000",
      "Longest allowed time between polls before the member leaves the group.").done(),
    p("enable.auto.commit", Global, Consumer, BOOL, "true",
      "Commit stored offsets in the background every auto.commit.interval.ms.").done(),
    p("auto.commit.interval.ms", Global, Consumer, ms(0, 86_400_000), "5000",
      "Interval of background offset commits; 0 turns them off.").done(),
    p("enable.auto.offset.store", Global, Consumer, BOOL, "true",
      "Store the offset of each message handed to the application, ready for the next commit.").done(),
    p("queued.min.messages", Global, Consumer, int(1, 10_000_000), "100000",
      "Messages per partition the consumer tries to keep prefetched.").done(),
    p("queued.max.messages.kbytes", Global, Consumer, int(1, 2_097_151), "65536",
      "Most kilobytes of prefetched messages held by the consumer.").done(),
    p("fetch.wait.max.ms", Global, Consumer, ms(0, 300_000), "500",
      "Longest time a broker waits to gather fetch.min.bytes before answering a fetch.").done(),
    p("fetch.queue.backoff.ms", Global, Consumer, ms(0, 300_000), "1000",
      "Pause before fetching a partition again when its prefetch queue is over queued.min.messages or queued.max.messages.kbytes; cut short when the application empties the queue; 0 fetches again as soon as it is under them.").done(),
    p("fetch.message.max.bytes", Global, Consumer, int(1, 1_000_000_000), "1048576",
      "Bytes per partition asked for in a fetch (grows automatically for larger messages).").done(),
    p("fetch.max.bytes", Global, Consumer, int(0, 2_147_483_135), "52428800",
      "Most bytes a broker returns for one fetch request.").done(),
    p("fetch.min.bytes", Global, Consumer, int(0, I32MAX), "1",
      "Fewest bytes a broker gathers before answering a fetch (unless fetch.wait.max.ms passes).").done(),
    p("fetch.error.backoff.ms", Global, Consumer, ms(0, 300_000), "500",
      "Pause before fetching a partition again after a fetch error.").done(),
    p("isolation.level", Global, Consumer, Kind::Enum(&["read_uncommitted", "read_committed"]), "read_committed",
      "read_committed hides records of open and aborted transactions; read_uncommitted returns everything.").done(),
    p("enable.partition.eof", Global, Consumer, BOOL, "false",
      "Report reaching the end of a partition as a _PARTITION_EOF event.").done(),
    p("check.crcs", Global, Consumer, BOOL, "false",
      "Verify the CRC of consumed record batches.").done(),
    p("max.poll.records", Global, Consumer, int(1, I32MAX), "500",
      "Most records one poll returns (share consumers)."),
    p("share.acknowledgement.mode", Global, Consumer, Kind::Enum(&["implicit", "explicit"]), "implicit",
      "How a share consumer acknowledges records: implicitly on the next poll, or explicitly."),
    p("offset.store.method", Global, Consumer, Kind::Enum(&["none", "file", "broker"]), "broker",
      "Where offsets are committed (deprecated in librdkafka): broker, the group coordinator."),
    // ---- producer ----
    p("transactional.id", Global, Producer, STR, "",
      "Transactional id: turns on the transactional producer (and idempotence) and fences older instances with the same id.").done(),
    p("transaction.timeout.ms", Global, Producer, ms(1000, I32MAX), "60000",
      "The transaction coordinator aborts a transaction that stays open longer than this.").done(),
    p("enable.idempotence", Global, Producer, BOOL, "false",
      "Exactly-once, in-order delivery per partition; requires acks=all, retries > 0 and max.in.flight <= 5 (set automatically when not given).").done(),
    p("enable.gapless.guarantee", Global, Producer, BOOL, "false",
      "With idempotence, raise a fatal error rather than let a failed batch leave a gap in the sequence.").done(),
    p("queue.buffering.max.messages", Global, Producer, int(0, I32MAX), "100000",
      "Most messages waiting in the producer queue; 0 means no limit by count.").done(),
    p("queue.buffering.max.kbytes", Global, Producer, int(1, I32MAX), "1048576",
      "Most kilobytes of messages waiting in the producer queue.").done(),
    p("queue.buffering.max.ms", Global, Producer, ms(0, 900_000), "5",
      "How long to wait for more messages before sending a batch that is not full.").done(),
    p("message.send.max.retries", Global, Producer, int(0, I32MAX), "2147483647",
      "How often a failing produce request is retried (within message.timeout.ms).")
        .syn(&[("inf", "2147483647"), ("infinity", "2147483647")]).done(),
    p("queue.buffering.backpressure.threshold", Global, Producer, int(1, 1_000_000), "1",
      "Outstanding unsent requests per broker at which batch building waits."),
    p("compression.codec", Topic, Producer, Kind::Enum(CODECS), "none",
      "Compression of record batches.").done(),
    p("batch.num.messages", Global, Producer, int(1, 1_000_000), "10000",
      "Most messages in one record batch.").done(),
    p("batch.size", Global, Producer, int(1, I32MAX), "1000000",
      "Most bytes in one record batch (a first message larger than this still gets a batch of its own).").done(),
    p("delivery.report.only.error", Global, Producer, BOOL, "false",
      "Call delivery callbacks for failed records only (the delivery futures resolve either way).").done(),
    p("sticky.partitioning.linger.ms", Global, Producer, ms(0, 900_000), "10",
      "How long keyless messages stick to one partition before another is picked; 0 turns stickiness off.").done(),
    p("max.block.ms", Global, Producer, ms(0, I32MAX), "60000",
      "How long a blocking send waits for queue space (Java and kafka-python semantics); the non-blocking send fails with _QUEUE_FULL at once.").done(),
    // ---- topic ----
    p("request.required.acks", Topic, Producer, int(-1, 1), "all",
      "Acknowledgements the leader needs before answering a produce: all (-1) waits for every in-sync replica, 1 for the leader only, 0 for none.")
        .syn(&[("all", "-1")]).done(),
    p("request.timeout.ms", Topic, Producer, ms(1, 900_000), "30000",
      "The broker's ack timeout: sent in each ProduceRequest, how long the leader waits for the acknowledgements of acks (acks != 0). Not a client-side deadline: the client waits socket.timeout.ms, and message.timeout.ms bounds delivery.").done(),
    p("message.timeout.ms", Topic, Producer, ms(0, I32MAX), "300000",
      "Longest time a message may take to be delivered, retries included; 0 means no limit.").done(),
    p("queuing.strategy", Topic, Producer, Kind::Enum(&["fifo", "lifo"]), "fifo",
      "Order of the producer queue (deprecated and experimental in librdkafka)."),
    p("produce.offset.report", Topic, Producer, BOOL, "false",
      "Deprecated in librdkafka and unused; accepted and ignored.").ignored(),
    p("partitioner", Topic, Producer, Kind::Enum(PARTITIONERS), "consistent_random",
      "How keyed messages map to partitions: CRC32 (consistent), Java's murmur2 or FNV-1a; the _random forms spread keyless messages.")
        .syn(&[("default", "murmur2_random"), ("DefaultPartitioner", "murmur2_random")]).done(),
    p("compression.level", Topic, Producer, int(-1, 12), "-1",
      "Compression level, codec-dependent (gzip 0-9, lz4 0-12, zstd 1-12, snappy 0); -1 is the codec's default.").done(),
    p("auto.offset.reset", Topic, Consumer, Kind::Enum(&["earliest", "latest", "error"]), "latest",
      "Where to start without a valid committed offset: earliest, latest, or fail with _AUTO_OFFSET_RESET.")
        .syn(&[("smallest", "earliest"), ("beginning", "earliest"), ("largest", "latest"), ("end", "latest")]).done(),
    p("offset.store.path", Topic, Consumer, STR, ".",
      "File offset store location; deprecated, and unused by librdkafka since its file offset store was removed: accepted and ignored.").ignored(),
    p("offset.store.sync.interval.ms", Topic, Consumer, ms(-1, 86_400_000), "-1",
      "fsync interval of the file offset store; deprecated and unused by librdkafka (no file offset store): accepted and ignored.").ignored(),
];
