//! kafka-python's `KafkaProducer` keyword arguments, as a Python user would
//! pass them, are accepted and land on the property with the same meaning.

use ferrokafka::config::{self, ClientConfig, ClientRole};
use ferrokafka::ErrorCode;
use std::time::Duration;

/// Every keyword argument of `KafkaProducer` with a typical value, and the
/// canonical property it must set (`None`: accepted and ignored).
const KEYWORDS: &[(&str, &str, Option<&str>)] = &[
    (
        "bootstrap_servers",
        "localhost:9092",
        Some("metadata.broker.list"),
    ),
    ("client_id", "app-1", Some("client.id")),
    ("enable_idempotence", "False", Some("enable.idempotence")),
    ("transactional_id", "None", None),
    (
        "transaction_timeout_ms",
        "60000",
        Some("transaction.timeout.ms"),
    ),
    ("delivery_timeout_ms", "120000", Some("message.timeout.ms")),
    ("acks", "1", Some("request.required.acks")),
    ("compression_type", "gzip", Some("compression.codec")),
    ("retries", "5", Some("message.send.max.retries")),
    ("batch_size", "16384", Some("batch.size")),
    ("linger_ms", "0", Some("queue.buffering.max.ms")),
    ("partitioner", "murmur2_random", Some("partitioner")),
    (
        "connections_max_idle_ms",
        "540000",
        Some("connections.max.idle.ms"),
    ),
    ("max_block_ms", "60000", Some("max.block.ms")),
    ("max_request_size", "1048576", Some("message.max.bytes")),
    (
        "allow_auto_create_topics",
        "True",
        Some("allow.auto.create.topics"),
    ),
    (
        "metadata_max_age_ms",
        "300000",
        Some("topic.metadata.refresh.interval.ms"),
    ),
    (
        "client_dns_lookup",
        "use_all_dns_ips",
        Some("client.dns.lookup"),
    ),
    ("retry_backoff_ms", "100", Some("retry.backoff.ms")),
    ("retry_backoff_max_ms", "1000", Some("retry.backoff.max.ms")),
    ("request_timeout_ms", "30000", Some("socket.timeout.ms")),
    (
        "receive_message_max_bytes",
        "100000000",
        Some("receive.message.max.bytes"),
    ),
    (
        "receive_buffer_bytes",
        "32768",
        Some("socket.receive.buffer.bytes"),
    ),
    (
        "send_buffer_bytes",
        "131072",
        Some("socket.send.buffer.bytes"),
    ),
    ("sock_chunk_bytes", "4096", None),
    ("sock_chunk_buffer_count", "1000", None),
    ("reconnect_backoff_ms", "50", Some("reconnect.backoff.ms")),
    (
        "reconnect_backoff_max_ms",
        "30000",
        Some("reconnect.backoff.max.ms"),
    ),
    (
        "max_in_flight_requests_per_connection",
        "5",
        Some("max.in.flight.requests.per.connection"),
    ),
    ("security_protocol", "PLAINTEXT", Some("security.protocol")),
    (
        "ssl_check_hostname",
        "True",
        Some("ssl.endpoint.identification.algorithm"),
    ),
    ("ssl_cafile", "/etc/ca.pem", Some("ssl.ca.location")),
    (
        "ssl_certfile",
        "/etc/cert.pem",
        Some("ssl.certificate.location"),
    ),
    ("ssl_keyfile", "/etc/key.pem", Some("ssl.key.location")),
    ("ssl_crlfile", "/etc/crl.pem", Some("ssl.crl.location")),
    ("ssl_password", "secret", Some("ssl.key.password")),
    (
        "ssl_ciphers",
        "ECDHE-RSA-AES128-GCM-SHA256",
        Some("ssl.cipher.suites"),
    ),
    ("api_version", "(2, 8, 0)", Some("broker.version.fallback")),
    (
        "api_version_auto_timeout_ms",
        "2000",
        Some("api.version.request.timeout.ms"),
    ),
    ("bootstrap_timeout_ms", "30000", None),
    ("metrics_enabled", "True", None),
    ("metrics_num_samples", "2", None),
    ("metrics_sample_window_ms", "30000", None),
    ("sasl_mechanism", "PLAIN", Some("sasl.mechanisms")),
    ("sasl_plain_username", "alice", Some("sasl.username")),
    ("sasl_plain_password", "pw", Some("sasl.password")),
    (
        "sasl_kerberos_name",
        "client",
        Some("sasl.kerberos.principal"),
    ),
    (
        "sasl_kerberos_service_name",
        "kafka",
        Some("sasl.kerberos.service.name"),
    ),
    (
        "buffer_memory",
        "33554432",
        Some("queue.buffering.max.kbytes"),
    ),
];

/// Arguments that take Python objects: rejected, with the reason.
const REJECTED: &[&str] = &[
    "key_serializer",
    "value_serializer",
    "socket_options",
    "ssl_context",
    "metric_reporters",
    "selector",
    "sasl_kerberos_domain_name",
    "sasl_oauth_token_provider",
    "proxy_url",
    "socks5_proxy",
    "kafka_client",
];

#[test]
fn every_kafka_python_keyword_is_accepted() {
    for &(name, value, target) in KEYWORDS {
        // A TLS/SASL keyword needs a security_protocol that uses it (a
        // forgotten one is refused).
        let mut base = ClientConfig::new();
        if target.is_some_and(|t| t.starts_with("ssl.") || t.starts_with("sasl.")) {
            base.set_mut("security.protocol", "sasl_ssl");
            base.set_mut("sasl.mechanisms", "PLAIN");
        }
        let cfg = base.set(name, value).validate(ClientRole::Producer);
        if refused_as_security(target, value) {
            // Accepted as a keyword, then refused: this build cannot honour
            // TLS/SASL settings and never ignores them.
            let e = cfg.expect_err(name);
            assert_eq!(e.code(), ErrorCode::NotImplemented, "{name}: {e}");
            assert!(e.message().contains(name), "{name}: {e}");
            continue;
        }
        let cfg = cfg.unwrap_or_else(|e| panic!("{name}={value}: {e}"));
        if let Some(target) = target {
            assert!(cfg.is_set_explicitly(target), "{name} should set {target}");
        }
    }
    // All at once, as one KafkaProducer(**configs) call would.
    let all: ClientConfig = KEYWORDS
        .iter()
        .filter(|&&(_, value, target)| !refused_as_security(target, value))
        .map(|&(n, v, _)| match n {
            // The TLS and SASL keywords above need a protocol using both.
            "security_protocol" => (n, "SASL_SSL"),
            _ => (n, v),
        })
        .collect();
    let cfg = all.validate(ClientRole::Producer).unwrap();
    assert_eq!(cfg.get_list("bootstrap.servers"), ["localhost:9092"]);
    assert_eq!(cfg.get_i64("acks"), 1);
    assert_eq!(cfg.get_i64("queue.buffering.max.kbytes"), 32 * 1024);
    assert_eq!(cfg.get_duration("max.block.ms"), Duration::from_secs(60));
    assert_eq!(
        cfg.get_str("ssl.endpoint.identification.algorithm"),
        "https"
    );
    assert!(!cfg.get_bool("api.version.request"));
}

/// Whether a keyword sets a TLS/SASL property this build does not
/// implement yet to something other than its default (and so refuses at
/// construction).
fn refused_as_security(target: Option<&str>, value: &str) -> bool {
    target.and_then(config::property).is_some_and(|p| {
        (p.name().starts_with("ssl.") || p.name().starts_with("sasl."))
            && p.status() == config::Status::NotYet
            && p.default_value() != value
    })
}

#[test]
fn python_object_keywords_are_rejected_with_a_reason() {
    for &name in REJECTED {
        let err = ClientConfig::new()
            .set(name, "<object>")
            .validate(ClientRole::Producer)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArg);
        assert!(err.message().contains(name), "{err}");
        assert!(err.message().contains("<object>"), "{err}");
        let alias = config::aliases().find(|a| a.name() == name).unwrap();
        assert!(err.message().contains(alias.note()), "{err}");
        // kafka-python's default (None) is accepted.
        ClientConfig::new()
            .set(name, "None")
            .validate(ClientRole::Producer)
            .unwrap();
    }
}

#[test]
fn keyword_table_covers_every_kafka_python_alias() {
    for alias in config::aliases().filter(|a| a.origin() == config::Origin::KafkaPython) {
        // KafkaConsumer arguments (consumer properties, and client_rack) are
        // covered by the table tests; every producer argument is listed here.
        let consumer_side = alias.name() == "client_rack"
            || config::property(alias.name())
                .is_some_and(|p| p.applies_to() == config::AppliesTo::Consumer);
        let listed =
            KEYWORDS.iter().any(|k| k.0 == alias.name()) || REJECTED.contains(&alias.name());
        assert!(listed || consumer_side, "{} is not exercised", alias.name());
    }
}

#[test]
fn kafka_python_acks_spellings() {
    for (value, want) in [("0", 0), ("1", 1), ("all", -1), ("-1", -1)] {
        let cfg = ClientConfig::new()
            .set("acks", value)
            .validate(ClientRole::Producer)
            .unwrap();
        assert_eq!(cfg.get_i64("acks"), want);
    }
}
