//! Alias names: librdkafka's own aliases, Java client names and every keyword
//! argument of kafka-python's `KafkaProducer` (plus its common consumer
//! arguments), each mapped to the canonical property with the same meaning,
//! with a value conversion where the units differ.
//!
//! A few kafka-python arguments hand over Python objects (serializers, an
//! `SSLContext`, a selector class); they have no meaning for a Rust client and
//! are rejected with an error that says why and what to do instead. A few
//! others only tune kafka-python's own metrics; they are accepted and ignored.

/// Where an alias name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// librdkafka's own alternative name.
    Librdkafka,
    /// The Java client's name.
    Java,
    /// A keyword argument of kafka-python.
    KafkaPython,
}

impl Origin {
    /// Short label for docs.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Librdkafka => "librdkafka",
            Origin::Java => "Java",
            Origin::KafkaPython => "kafka-python",
        }
    }
}

/// How an alias's value becomes the canonical property's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conversion {
    /// The value is used as given.
    Same,
    /// Bytes become KiB, rounded up (Java's `buffer.memory` to
    /// `queue.buffering.max.kbytes`).
    BytesToKiB,
    /// 0 becomes 1: kafka-python's `batch_size=0` ("no batching") is a batch
    /// limit of one message's size.
    ZeroToOne,
    /// kafka-python's `ssl_check_hostname` boolean becomes
    /// `ssl.endpoint.identification.algorithm` https/none.
    HostnameCheck,
    /// kafka-python's `api_version`: `auto` keeps version negotiation; a
    /// version such as `2.8.0` or `(2, 8, 0)` turns negotiation off and uses
    /// that version (`api.version.request=false`, `broker.version.fallback`).
    ApiVersion,
    /// A Python list such as `['a:9092', 'b:9092']` becomes `a:9092,b:9092`.
    PyList,
    /// Accepted for compatibility and ignored.
    Ignored,
    /// Rejected: the argument has no meaning in this client.
    Unsupported,
}

/// One alias name.
#[derive(Debug, Clone, Copy)]
pub struct Alias {
    name: &'static str,
    target: &'static str,
    origin: Origin,
    conversion: Conversion,
    note: &'static str,
}

impl Alias {
    /// The alias name.
    pub fn name(&self) -> &'static str {
        self.name
    }
    /// The canonical property it sets; `None` when the alias is ignored or
    /// rejected.
    pub fn target(&self) -> Option<&'static str> {
        if self.target.is_empty() {
            None
        } else {
            Some(self.target)
        }
    }
    /// Where the name comes from.
    pub fn origin(&self) -> Origin {
        self.origin
    }
    /// Whether the value is used unchanged (a pure rename).
    pub fn is_rename(&self) -> bool {
        self.conversion == Conversion::Same
    }
    /// Whether the alias is rejected at validation.
    pub fn is_unsupported(&self) -> bool {
        self.conversion == Conversion::Unsupported
    }
    /// Whether the alias is accepted and ignored.
    pub fn is_ignored(&self) -> bool {
        self.conversion == Conversion::Ignored
    }
    /// The value conversion or the reason the alias is ignored or rejected;
    /// empty for a pure rename.
    pub fn note(&self) -> &'static str {
        self.note
    }
    pub(crate) fn conversion(&self) -> Conversion {
        self.conversion
    }

    /// Turns the value given for this alias into `(canonical name, value)`
    /// settings. `Ok(vec![])` means nothing is set (ignored, or kafka-python's
    /// `None`, which means "use the default"). `Err` carries what is allowed.
    pub(crate) fn convert(&self, value: &str) -> Result<Vec<(&'static str, String)>, String> {
        let v = value.trim();
        if self.origin == Origin::KafkaPython && v == "None" {
            return Ok(Vec::new());
        }
        match self.conversion {
            Conversion::Same => Ok(vec![(self.target, value.to_string())]),
            Conversion::BytesToKiB => {
                let bytes: u64 = v
                    .parse()
                    .map_err(|_| "a non-negative integer number of bytes".to_string())?;
                Ok(vec![(self.target, bytes.div_ceil(1024).to_string())])
            }
            Conversion::ZeroToOne => {
                let out = if v == "0" { "1" } else { v };
                Ok(vec![(self.target, out.to_string())])
            }
            Conversion::HostnameCheck => {
                let out = match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => "https",
                    "false" | "0" => "none",
                    _ => return Err("true or false".to_string()),
                };
                Ok(vec![(self.target, out.to_string())])
            }
            Conversion::ApiVersion => {
                if v.eq_ignore_ascii_case("auto") || v.is_empty() {
                    return Ok(Vec::new());
                }
                let parts: Vec<&str> = v
                    .trim_start_matches('(')
                    .trim_end_matches(')')
                    .split([',', '.'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect();
                if parts.is_empty()
                    || parts.len() > 4
                    || parts.iter().any(|p| p.parse::<u16>().is_err())
                {
                    return Err(
                        "auto, a version such as 2.8.0, or a tuple such as (2, 8, 0)".to_string(),
                    );
                }
                Ok(vec![
                    ("api.version.request", "false".to_string()),
                    (self.target, parts.join(".")),
                ])
            }
            Conversion::PyList => {
                let items: Vec<&str> = v
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .split(',')
                    .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"'))
                    .filter(|s| !s.is_empty())
                    .collect();
                Ok(vec![(self.target, items.join(","))])
            }
            Conversion::Ignored => Ok(Vec::new()),
            Conversion::Unsupported => Err(format!("nothing: {}", self.note)),
        }
    }
}

const fn lib(name: &'static str, target: &'static str) -> Alias {
    Alias {
        name,
        target,
        origin: Origin::Librdkafka,
        conversion: Conversion::Same,
        note: "",
    }
}
const fn java(name: &'static str, target: &'static str) -> Alias {
    Alias {
        name,
        target,
        origin: Origin::Java,
        conversion: Conversion::Same,
        note: "",
    }
}
const fn py(name: &'static str, target: &'static str) -> Alias {
    Alias {
        name,
        target,
        origin: Origin::KafkaPython,
        conversion: Conversion::Same,
        note: "",
    }
}
const fn with(mut a: Alias, conversion: Conversion, note: &'static str) -> Alias {
    a.conversion = conversion;
    a.note = note;
    a
}
const fn py_unsupported(name: &'static str, note: &'static str) -> Alias {
    with(py(name, ""), Conversion::Unsupported, note)
}
const fn py_ignored(name: &'static str, note: &'static str) -> Alias {
    with(py(name, ""), Conversion::Ignored, note)
}

const SERIALIZER: &str =
    "ferrokafka sends bytes; serialize keys and values in your code before send()";
const METRICS: &str =
    "tunes kafka-python's own metrics; ferrokafka's statistics use statistics.interval.ms";

/// Every alias. A name appears once.
#[rustfmt::skip]
pub(crate) static ALIASES: &[Alias] = &[
    // librdkafka's own alternative names.
    lib("bootstrap.servers", "metadata.broker.list"),
    lib("max.in.flight", "max.in.flight.requests.per.connection"),
    lib("linger.ms", "queue.buffering.max.ms"),
    lib("retries", "message.send.max.retries"),
    lib("compression.type", "compression.codec"),
    lib("acks", "request.required.acks"),
    lib("delivery.timeout.ms", "message.timeout.ms"),
    lib("max.partition.fetch.bytes", "fetch.message.max.bytes"),
    lib("sasl.mechanism", "sasl.mechanisms"),
    lib("sasl.oauthbearer.client.credentials.client.id", "sasl.oauthbearer.client.id"),
    lib("sasl.oauthbearer.client.credentials.client.secret", "sasl.oauthbearer.client.secret"),
    lib("auto.commit.enable", "enable.auto.commit"),
    // Java client names librdkafka does not have.
    with(java("buffer.memory", "queue.buffering.max.kbytes"), Conversion::BytesToKiB,
         "bytes, converted to KiB (rounded up)"),
    java("max.request.size", "message.max.bytes"),
    java("send.buffer.bytes", "socket.send.buffer.bytes"),
    java("receive.buffer.bytes", "socket.receive.buffer.bytes"),
    java("fetch.max.wait.ms", "fetch.wait.max.ms"),
    with(java("key.serializer", ""), Conversion::Unsupported, SERIALIZER),
    with(java("value.serializer", ""), Conversion::Unsupported, SERIALIZER),
    with(java("key.deserializer", ""), Conversion::Unsupported,
         "ferrokafka hands out bytes; deserialize in your code"),
    with(java("value.deserializer", ""), Conversion::Unsupported,
         "ferrokafka hands out bytes; deserialize in your code"),
    with(java("partitioner.class", ""), Conversion::Unsupported,
         "choose a built-in partitioner with the partitioner property"),
    // kafka-python KafkaProducer keyword arguments (`acks`, `retries` and
    // `partitioner` are spelled like librdkafka's names and need no alias).
    with(py("bootstrap_servers", "metadata.broker.list"), Conversion::PyList,
         "a string or a Python list of host[:port]"),
    py("client_id", "client.id"),
    py_unsupported("key_serializer", SERIALIZER),
    py_unsupported("value_serializer", SERIALIZER),
    py("enable_idempotence", "enable.idempotence"),
    py("transactional_id", "transactional.id"),
    py("transaction_timeout_ms", "transaction.timeout.ms"),
    py("delivery_timeout_ms", "message.timeout.ms"),
    py("compression_type", "compression.codec"),
    with(py("batch_size", "batch.size"), Conversion::ZeroToOne,
         "0 (kafka-python: no batching) becomes 1 (one message per batch)"),
    py("linger_ms", "queue.buffering.max.ms"),
    py("connections_max_idle_ms", "connections.max.idle.ms"),
    py("max_block_ms", "max.block.ms"),
    with(py("buffer_memory", "queue.buffering.max.kbytes"), Conversion::BytesToKiB,
         "bytes, converted to KiB (rounded up)"),
    py("max_request_size", "message.max.bytes"),
    py("allow_auto_create_topics", "allow.auto.create.topics"),
    with(py("metadata_max_age_ms", "topic.metadata.refresh.interval.ms"), Conversion::Same,
         "kafka-python's value is the proactive refresh period, which is topic.metadata.refresh.interval.ms"),
    py("client_dns_lookup", "client.dns.lookup"),
    py("retry_backoff_ms", "retry.backoff.ms"),
    py("retry_backoff_max_ms", "retry.backoff.max.ms"),
    with(py("request_timeout_ms", "socket.timeout.ms"), Conversion::Same,
         "kafka-python's value is the client-side request timeout, which is socket.timeout.ms (request.timeout.ms is the broker's produce ack timeout)"),
    py("receive_message_max_bytes", "receive.message.max.bytes"),
    py("receive_buffer_bytes", "socket.receive.buffer.bytes"),
    py("send_buffer_bytes", "socket.send.buffer.bytes"),
    py_unsupported("socket_options",
        "raw socket options are not configurable; use socket.nagle.disable and socket.keepalive.enable"),
    py_ignored("sock_chunk_bytes", "kafka-python read chunking; not applicable"),
    py_ignored("sock_chunk_buffer_count", "kafka-python read chunking; not applicable"),
    py("reconnect_backoff_ms", "reconnect.backoff.ms"),
    py("reconnect_backoff_max_ms", "reconnect.backoff.max.ms"),
    py("max_in_flight_requests_per_connection", "max.in.flight.requests.per.connection"),
    py("security_protocol", "security.protocol"),
    py_unsupported("ssl_context",
        "a Python SSLContext cannot be passed; use ssl.ca.location, ssl.certificate.location and ssl.key.location"),
    with(py("ssl_check_hostname", "ssl.endpoint.identification.algorithm"), Conversion::HostnameCheck,
         "true becomes https, false becomes none"),
    py("ssl_cafile", "ssl.ca.location"),
    py("ssl_certfile", "ssl.certificate.location"),
    py("ssl_keyfile", "ssl.key.location"),
    py("ssl_crlfile", "ssl.crl.location"),
    py("ssl_password", "ssl.key.password"),
    py("ssl_ciphers", "ssl.cipher.suites"),
    with(py("api_version", "broker.version.fallback"), Conversion::ApiVersion,
         "auto keeps version negotiation; a version turns it off (api.version.request=false) and assumes that broker version"),
    py("api_version_auto_timeout_ms", "api.version.request.timeout.ms"),
    py_ignored("bootstrap_timeout_ms",
        "connections are made on demand; socket.connection.setup.timeout.ms bounds each attempt"),
    py_unsupported("metric_reporters", "Python reporter classes cannot be loaded; read statistics instead"),
    py_ignored("metrics_enabled", METRICS),
    py_ignored("metrics_num_samples", METRICS),
    py_ignored("metrics_sample_window_ms", METRICS),
    py_unsupported("selector", "a Python selector class has no meaning here"),
    py("sasl_mechanism", "sasl.mechanisms"),
    py("sasl_plain_username", "sasl.username"),
    py("sasl_plain_password", "sasl.password"),
    py("sasl_kerberos_name", "sasl.kerberos.principal"),
    py("sasl_kerberos_service_name", "sasl.kerberos.service.name"),
    py_unsupported("sasl_kerberos_domain_name",
        "the Kerberos host is the broker's host name; no override is available"),
    py_unsupported("sasl_oauth_token_provider",
        "a Python object: the ferrokafka Python package hands it to the token API (ClientConfig::set_oauthbearer_token_provider); as text, use sasl.oauthbearer.method=oidc"),
    py_unsupported("proxy_url", "connecting through a proxy is not supported"),
    py_unsupported("socks5_proxy", "connecting through a proxy is not supported"),
    py_unsupported("kafka_client", "a Python client class has no meaning here"),
    // kafka-python KafkaConsumer keyword arguments with an equivalent.
    py("group_id", "group.id"),
    py("group_instance_id", "group.instance.id"),
    py("auto_offset_reset", "auto.offset.reset"),
    py("enable_auto_commit", "enable.auto.commit"),
    py("auto_commit_interval_ms", "auto.commit.interval.ms"),
    py("fetch_min_bytes", "fetch.min.bytes"),
    py("fetch_max_wait_ms", "fetch.wait.max.ms"),
    py("fetch_max_bytes", "fetch.max.bytes"),
    py("max_partition_fetch_bytes", "fetch.message.max.bytes"),
    py("session_timeout_ms", "session.timeout.ms"),
    py("heartbeat_interval_ms", "heartbeat.interval.ms"),
    py("max_poll_interval_ms", "max.poll.interval.ms"),
    py("isolation_level", "isolation.level"),
    py("check_crcs", "check.crcs"),
    py("client_rack", "client.rack"),
];
