//! Broker connections: TCP sockets, pipelined requests, timeouts, reconnect
//! backoff, and the runtime the client's tasks run on.
//!
//! One [`Connection`] is one socket to one broker for one class of traffic
//! ([`ConnectionKind`]): produce, fetch, group and admin/metadata requests
//! each get their own socket (as franz-go does) so a slow fetch never holds
//! up a produce. A connection is a tokio task owning its socket; it connects
//! only when the first request arrives (sparse connections), tries every
//! address the host resolves to (KIP-302), negotiates API versions, then
//! pipelines requests up to the in-flight limit and matches responses by
//! correlation id. What to send and to whom is `cluster`'s business; the
//! bytes of messages are `protocol`'s and `record`'s.
//!
//! Transport security plugs in where the socket is opened and handshaken
//! (`connection::open`): TLS (`tls`) wraps the TCP stream before the first
//! byte, SASL (`sasl`, `scram`; `oidc` fetches OAUTHBEARER tokens with
//! the small `http` client) authenticates after ApiVersions; everything
//! after works on any `AsyncRead + AsyncWrite` pair. No setting ever falls
//! back to plaintext or to no authentication.

pub mod backoff;
pub mod connection;
#[cfg(any(test, feature = "unstable-fuzzing"))]
pub mod fuzzing;
mod http;
mod oidc;
pub mod runtime;
pub mod sasl;
pub(crate) mod scram;
pub mod tls;

pub use backoff::Backoff;
pub use connection::{Connection, ConnectionState};
pub use runtime::ClientRuntime;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The class of traffic a connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionKind {
    /// Produce requests.
    Produce,
    /// Fetch and list-offsets requests.
    Fetch,
    /// Group coordination and transaction coordinator requests.
    Group,
    /// Metadata and admin requests.
    Admin,
}

impl ConnectionKind {
    /// Every kind, in a fixed order (index with [`ConnectionKind::index`]).
    pub const ALL: [ConnectionKind; 4] = [
        ConnectionKind::Produce,
        ConnectionKind::Fetch,
        ConnectionKind::Group,
        ConnectionKind::Admin,
    ];

    /// Position in [`ConnectionKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A broker's advertised host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAddress {
    /// Host name or IP literal.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl BrokerAddress {
    /// `host:port`, with IPv6 literals in brackets (`[::1]:9092`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s
            .strip_prefix("PLAINTEXT://")
            .or_else(|| s.strip_prefix("plaintext://"))
            .unwrap_or(s);
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, p) = rest.split_once(']')?;
            (h, p.strip_prefix(':')?)
        } else {
            let (h, p) = s.rsplit_once(':').unwrap_or((s, "9092"));
            (h, p)
        };
        if host.is_empty() {
            return None;
        }
        Some(BrokerAddress {
            host: host.to_string(),
            port: port.parse().ok()?,
        })
    }
}

impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How host names become socket addresses.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Resolver {
    /// The system resolver.
    #[default]
    System,
    /// A fixed table (tests): host name to addresses, in the order given;
    /// an entry with port 0 takes the requested port.
    Static(Arc<HashMap<String, Vec<SocketAddr>>>),
    /// The application's resolver (librdkafka's `resolve_cb`): called with
    /// the host and port, it returns the addresses to try, in order. It
    /// runs on the connection's task, so it must not block for long.
    Custom(Arc<ResolveFn>),
}

/// A resolver function for [`Resolver::Custom`].
pub type ResolveFn = dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolver::System => f.write_str("System"),
            Resolver::Static(m) => f.debug_map().entries(m.iter()).finish(),
            Resolver::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Resolver {
    /// A [`Resolver::Custom`] calling `f`.
    pub fn custom(
        f: impl Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Self {
        Resolver::Custom(Arc::new(f))
    }

    /// Every address `host` resolves to, duplicates removed, order kept.
    pub async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let mut out: Vec<SocketAddr> = Vec::new();
        match self {
            Resolver::System => {
                for a in tokio::net::lookup_host((host, port)).await? {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
            Resolver::Static(map) => match map.get(host) {
                Some(entries) => {
                    for e in entries {
                        let mut a = *e;
                        if a.port() == 0 {
                            a.set_port(port);
                        }
                        if !out.contains(&a) {
                            out.push(a);
                        }
                    }
                }
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{host} is not in the static resolver table"),
                    ))
                }
            },
            Resolver::Custom(f) => {
                for a in f(host, port)? {
                    if !out.contains(&a) {
                        out.push(a);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Which IP address families may be used to reach brokers
/// (`broker.address.family`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AddressFamily {
    /// IPv4 and IPv6, in the order the resolver gives.
    #[default]
    Any,
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

impl AddressFamily {
    /// Whether `addr` may be used.
    pub fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            AddressFamily::Any => true,
            AddressFamily::V4 => addr.is_ipv4(),
            AddressFamily::V6 => addr.is_ipv6(),
        }
    }

    fn from_name(name: &str) -> Self {
        match name {
            "v4" => AddressFamily::V4,
            "v6" => AddressFamily::V6,
            _ => AddressFamily::Any,
        }
    }
}

/// Options set on each broker socket before it connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// `socket.send.buffer.bytes` (SO_SNDBUF); `None` keeps the system's.
    pub send_buffer: Option<usize>,
    /// `socket.receive.buffer.bytes` (SO_RCVBUF); `None` keeps the
    /// system's. Set before connecting, so the TCP window scale the
    /// handshake agrees on can use it.
    pub receive_buffer: Option<usize>,
    /// `socket.keepalive.enable` (SO_KEEPALIVE).
    pub keepalive: bool,
    /// `socket.nagle.disable` (TCP_NODELAY).
    pub nodelay: bool,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            send_buffer: None,
            receive_buffer: None,
            keepalive: false,
            nodelay: true,
        }
    }
}

/// Connection settings, taken from the client configuration once.
#[derive(Debug, Clone)]
pub struct NetSettings {
    /// `client.id`, sent in every request header.
    pub client_id: String,
    /// `client.software.name` (KIP-511), sent in ApiVersions v3+.
    pub software_name: String,
    /// `client.software.version` (KIP-511), sent in ApiVersions v3+.
    pub software_version: String,
    /// `socket.timeout.ms`: default timeout of a request.
    pub request_timeout: Duration,
    /// `socket.connection.setup.timeout.ms`: resolve, connect and the
    /// ApiVersions handshake together.
    pub connect_timeout: Duration,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight: usize,
    /// `receive.message.max.bytes`: largest response frame accepted.
    pub receive_max: usize,
    /// `reconnect.backoff.ms`.
    pub reconnect_backoff: Duration,
    /// `reconnect.backoff.max.ms`.
    pub reconnect_backoff_max: Duration,
    /// `api.version.request`: ask brokers which versions they speak.
    pub api_version_request: bool,
    /// `api.version.request.timeout.ms`: how long to wait for that answer.
    pub api_version_timeout: Duration,
    /// `broker.version.fallback`: the broker version assumed otherwise.
    pub broker_version_fallback: String,
    /// `connections.max.idle.ms` (zero: never close idle connections).
    pub idle_timeout: Duration,
    /// Host name resolution.
    pub resolver: Resolver,
    /// `client.dns.lookup=use_all_dns_ips`: every address a broker's name
    /// resolves to is tried before the attempt fails (KIP-302); otherwise
    /// only the first. (`resolve_canonical_bootstrap_servers_only`, for
    /// Kerberos, is refused at construction.)
    pub use_all_dns_ips: bool,
    /// `broker.address.family`: the addresses of a resolved name used.
    pub address_family: AddressFamily,
    /// `broker.address.ttl`: how long a connection reuses the addresses
    /// its broker's name resolved to (zero: resolve on every attempt).
    pub address_ttl: Duration,
    /// Socket options set before connecting.
    pub socket: SocketOptions,
    /// `socket.max.fails`: timed-out requests after which the connection
    /// is closed (zero: never for this reason).
    pub max_fails: u32,
    /// `api.version.fallback.ms`: after an ApiVersions request failed,
    /// assume `broker.version.fallback` for this long (zero: never).
    pub api_version_fallback: Duration,
    /// `log.connection.close`: a broker closing a connection is logged at
    /// info level (otherwise at debug).
    pub log_connection_close: bool,
    /// `message.max.bytes`: the largest request (other than Produce, which
    /// the producer sizes itself) a connection sends.
    pub request_max: usize,
    /// `message.copy.max.bytes`: request bodies up to this size are copied
    /// into the write buffer; larger ones are written from where they are.
    pub copy_max: usize,
    /// Group connections are not capped by `max_in_flight` (the consumer:
    /// a JoinGroup held for a rebalance must not block heartbeats).
    pub group_uncapped: bool,
    /// TLS, for `security.protocol` `ssl` and `sasl_ssl`.
    pub tls: Option<tls::TlsSettings>,
    /// SASL, for `security.protocol` `sasl_plaintext` and `sasl_ssl`.
    pub sasl: Option<sasl::SaslSettings>,
    /// The client's debug contexts and error events (`debug`, `log_level`,
    /// the error callback and streams), shared by all its connections.
    pub observer: crate::events::Observer,
}

impl Default for NetSettings {
    fn default() -> Self {
        NetSettings {
            client_id: "ferrokafka".into(),
            software_name: crate::protocol::frame::CLIENT_SOFTWARE_NAME.into(),
            software_version: crate::protocol::frame::CLIENT_SOFTWARE_VERSION.into(),
            request_timeout: Duration::from_millis(60_000),
            connect_timeout: Duration::from_millis(30_000),
            max_in_flight: 1_000_000,
            receive_max: 100_000_000,
            reconnect_backoff: Duration::from_millis(100),
            reconnect_backoff_max: Duration::from_millis(10_000),
            api_version_request: true,
            api_version_timeout: Duration::from_millis(10_000),
            broker_version_fallback: "0.10.0".into(),
            idle_timeout: Duration::ZERO,
            resolver: Resolver::System,
            use_all_dns_ips: true,
            address_family: AddressFamily::Any,
            address_ttl: Duration::from_millis(1000),
            socket: SocketOptions::default(),
            max_fails: 1,
            api_version_fallback: Duration::ZERO,
            log_connection_close: true,
            request_max: 1_000_000,
            copy_max: 65_535,
            group_uncapped: false,
            tls: None,
            sasl: None,
            observer: crate::events::Observer::default(),
        }
    }
}

impl NetSettings {
    /// The connection settings of a validated configuration: the one
    /// builder every client (producer, consumer, admin) goes through, so
    /// that each honours the same connection and security settings.
    pub fn from_config(c: &crate::config::Config) -> crate::error::Result<Self> {
        Ok(NetSettings {
            client_id: c.get_str("client.id").to_string(),
            software_name: c.get_str("client.software.name").to_string(),
            software_version: software_version(c),
            request_timeout: c.get_duration("socket.timeout.ms"),
            connect_timeout: c.get_duration("socket.connection.setup.timeout.ms"),
            max_in_flight: usize::try_from(c.get_i64("max.in.flight.requests.per.connection"))
                .unwrap_or(1)
                .max(1),
            // Group calls (a JoinGroup held for the rebalance) must not
            // block heartbeats on the same socket: the consumer's group
            // connections have no in-flight cap.
            group_uncapped: c.role() == crate::config::ClientRole::Consumer,
            receive_max: usize::try_from(c.get_i64("receive.message.max.bytes"))
                .unwrap_or(usize::MAX),
            reconnect_backoff: c.get_duration("reconnect.backoff.ms"),
            reconnect_backoff_max: c.get_duration("reconnect.backoff.max.ms"),
            api_version_request: c.get_bool("api.version.request"),
            api_version_timeout: c.get_duration("api.version.request.timeout.ms"),
            broker_version_fallback: c.get_str("broker.version.fallback").to_string(),
            idle_timeout: c.get_duration("connections.max.idle.ms"),
            resolver: Resolver::System,
            use_all_dns_ips: c.get_str("client.dns.lookup") == "use_all_dns_ips",
            address_family: AddressFamily::from_name(c.get_str("broker.address.family")),
            address_ttl: c.get_duration("broker.address.ttl"),
            socket: SocketOptions {
                send_buffer: buffer_size(c, "socket.send.buffer.bytes"),
                receive_buffer: buffer_size(c, "socket.receive.buffer.bytes"),
                keepalive: c.get_bool("socket.keepalive.enable"),
                nodelay: c.get_bool("socket.nagle.disable"),
            },
            max_fails: u32::try_from(c.get_i64("socket.max.fails")).unwrap_or(u32::MAX),
            api_version_fallback: c.get_duration("api.version.fallback.ms"),
            log_connection_close: c.get_bool("log.connection.close"),
            request_max: usize::try_from(c.get_i64("message.max.bytes")).unwrap_or(usize::MAX),
            copy_max: usize::try_from(c.get_i64("message.copy.max.bytes")).unwrap_or(0),
            tls: tls::TlsSettings::from_config(c)?,
            sasl: sasl::SaslSettings::from_config(c)?,
            observer: crate::events::Observer::from_config(c),
        })
    }
}

/// A socket buffer size property: `None` for 0 (the system's default).
fn buffer_size(c: &crate::config::Config, name: &str) -> Option<usize> {
    usize::try_from(c.get_i64(name)).ok().filter(|&n| n > 0)
}

/// Whether `name` is read only by the OIDC token method (settings tests).
#[cfg(test)]
pub(crate) fn oidc_only(name: &str) -> bool {
    oidc::OIDC_ONLY.contains(&name)
}

/// `client.software.version`, or this crate's version when it is empty
/// (the table's default: the version is not known to the table).
fn software_version(c: &crate::config::Config) -> String {
    match c.get_str("client.software.version") {
        "" => crate::protocol::frame::CLIENT_SOFTWARE_VERSION.to_string(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_addresses_parse() {
        let a = BrokerAddress::parse("kafka-1:9093").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("kafka-1", 9093));
        let a = BrokerAddress::parse(" PLAINTEXT://h ").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("h", 9092));
        let a = BrokerAddress::parse("[::1]:9000").unwrap();
        assert_eq!((a.host.as_str(), a.port), ("::1", 9000));
        assert_eq!(a.to_string(), "[::1]:9000");
        assert!(BrokerAddress::parse("h:notaport").is_none());
        assert!(BrokerAddress::parse(":9092").is_none());
        assert!(BrokerAddress::parse("[::1]9000").is_none());
    }

    #[test]
    fn settings_follow_the_configuration() {
        let c = crate::ClientConfig::new()
            .set("bootstrap.servers", "h:1")
            .set("socket.timeout.ms", "1234")
            .set("reconnect.backoff.ms", "7")
            .set("api.version.request", "false")
            .set("broker.version.fallback", "2.0.0")
            .validate(crate::config::ClientRole::Admin)
            .unwrap();
        let n = NetSettings::from_config(&c).unwrap();
        assert_eq!(n.request_timeout, Duration::from_millis(1234));
        assert_eq!(n.reconnect_backoff, Duration::from_millis(7));
        assert!(!n.api_version_request);
        assert_eq!(n.broker_version_fallback, "2.0.0");
        assert_eq!(n.receive_max, 100_000_000);
        assert!(n.idle_timeout.is_zero() || n.idle_timeout >= Duration::from_millis(1));
    }

    #[tokio::test]
    async fn static_resolver_keeps_order_and_dedups() {
        let sa = |s: &str| s.parse::<SocketAddr>().unwrap();
        let r = Resolver::Static(Arc::new(HashMap::from([(
            "multi".to_string(),
            vec![sa("127.0.0.1:7"), sa("127.0.0.1:0"), sa("127.0.0.1:7")],
        )])));
        let got = r.resolve("multi", 5).await.unwrap();
        assert_eq!(got, vec![sa("127.0.0.1:7"), sa("127.0.0.1:5")]);
        assert!(r.resolve("other", 5).await.is_err());
    }
}
