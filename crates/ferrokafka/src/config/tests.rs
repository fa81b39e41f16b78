use super::*;
use crate::error::ErrorCode;
use proptest::prelude::*;
use std::collections::HashSet;
use std::time::Duration;

fn producer(pairs: &[(&str, &str)]) -> Result<Config> {
    pairs
        .iter()
        .copied()
        .collect::<ClientConfig>()
        .validate(ClientRole::Producer)
}

#[test]
fn defaults_match_librdkafka() {
    let c = producer(&[]).unwrap();
    assert_eq!(c.get_i64("acks"), -1);
    assert_eq!(c.get_duration("linger.ms"), Duration::from_millis(5));
    for (name, want) in [
        ("batch.num.messages", 10_000),
        ("batch.size", 1_000_000),
        ("queue.buffering.max.messages", 100_000),
        ("queue.buffering.max.kbytes", 1_048_576),
        ("message.timeout.ms", 300_000),
        ("request.timeout.ms", 30_000),
        ("retries", 2_147_483_647),
        ("retry.backoff.ms", 100),
        ("retry.backoff.max.ms", 1000),
        ("reconnect.backoff.ms", 100),
        ("reconnect.backoff.max.ms", 10_000),
        ("metadata.max.age.ms", 900_000),
        ("topic.metadata.refresh.interval.ms", 300_000),
        ("topic.metadata.propagation.max.ms", 30_000),
        ("socket.timeout.ms", 60_000),
        ("max.block.ms", 60_000),
        ("max.in.flight", 1_000_000),
    ] {
        assert_eq!(c.get_i64(name), want, "{name}");
        assert!(!c.is_set_explicitly(name), "{name}");
    }
    assert_eq!(c.get_str("partitioner"), "consistent_random");
    assert_eq!(c.get_str("compression.codec"), "none");
    assert_eq!(c.get_str("compression.type"), "none");
    assert!(!c.get_bool("enable.idempotence"));
    assert!(c.get_list("bootstrap.servers").is_empty());
    assert_eq!(c.get_opt_str("transactional.id"), None);
}

#[test]
fn names_are_unique_and_aliases_resolve() {
    let mut seen = HashSet::new();
    for p in properties() {
        assert!(seen.insert(p.name()), "duplicate {}", p.name());
        assert!(!p.doc().is_empty(), "{}", p.name());
    }
    for a in aliases() {
        assert!(seen.insert(a.name()), "duplicate {}", a.name());
        match a.target() {
            Some(t) => {
                let target = property(t).unwrap_or_else(|| panic!("{} -> {t}", a.name()));
                assert_eq!(
                    target.name(),
                    t,
                    "alias {} must point at a canonical name",
                    a.name()
                );
                assert!(!a.is_unsupported() && !a.is_ignored(), "{}", a.name());
                if a.is_rename() {
                    assert_eq!(property(a.name()).map(Property::name), Some(t));
                }
            }
            None => assert!(a.is_unsupported() || a.is_ignored(), "{}", a.name()),
        }
    }
}

#[test]
fn every_rename_alias_sets_its_property() {
    for a in aliases().filter(|a| a.is_rename()) {
        let p = property(a.name()).unwrap();
        let value = match p.default_value() {
            "" => sample_value(p),
            d => d.to_string(),
        };
        // A TLS/SASL setting needs a protocol that uses it (else it is
        // refused as a forgotten security.protocol).
        let mut base = ClientConfig::new();
        if p.name().starts_with("sasl.") || p.name().starts_with("ssl.") {
            base.set_mut("security.protocol", "sasl_ssl");
            base.set_mut("sasl.mechanisms", "PLAIN");
        }
        let value = if p.name() == "sasl.mechanisms" {
            "SCRAM-SHA-256".to_string()
        } else {
            value
        };
        let c = base.set(a.name(), value).validate(ClientRole::Admin);
        // Security settings this build cannot honour are refused (fail
        // closed), naming the alias.
        if let (Status::NotYet, Err(e)) = (p.status(), &c) {
            assert_eq!(e.code(), ErrorCode::NotImplemented, "{}: {e}", a.name());
            assert!(e.message().contains(a.name()), "{e}");
            continue;
        }
        let c = c.unwrap();
        assert!(
            c.is_set_explicitly(p.name()),
            "{} -> {}",
            a.name(),
            p.name()
        );
    }
}

fn sample_value(p: &Property) -> String {
    match p.kind() {
        Kind::Bool => "true".into(),
        Kind::Int { min, .. } | Kind::Ms { min, .. } => min.to_string(),
        Kind::Float { min, .. } => min.to_string(),
        Kind::Enum(v) | Kind::EnumList(v) => v[0].to_string(),
        Kind::Str | Kind::List => "x".into(),
    }
}

/// Client properties named in the seed documents (librdkafka's
/// INTRODUCTION.md excerpt and the acks article); kafka-python's keywords are
/// covered by `tests/config_kafka_python.rs`.
#[test]
fn every_property_the_seeds_name_is_known() {
    for name in [
        "acks",
        "retries",
        "max.in.flight.requests.per.connection",
        "api.version.request",
        "auto.commit.enable",
        "auto.offset.reset",
        "batch.num.messages",
        "batch.size",
        "bootstrap.servers",
        "broker.version.fallback",
        "client.rack",
        "compression.codec",
        "enable.gapless.guarantee",
        "enable.idempotence",
        "enable.ssl.certificate.verification",
        "internal.termination.signal",
        "log.connection.close",
        "max.partition.fetch.bytes",
        "max.poll.interval.ms",
        "max.poll.records",
        "message.max.bytes",
        "message.send.max.retries",
        "queue.buffering.max.messages",
        "queued.min.messages",
        "request.required.acks",
        "security.protocol",
    ] {
        assert!(property(name).is_some(), "{name}");
    }
}

#[test]
fn librdkafka_aliases_are_the_brief_pairs() {
    for (alias, canonical) in [
        ("linger.ms", "queue.buffering.max.ms"),
        ("acks", "request.required.acks"),
        ("retries", "message.send.max.retries"),
        ("compression.type", "compression.codec"),
        ("delivery.timeout.ms", "message.timeout.ms"),
        ("bootstrap.servers", "metadata.broker.list"),
        ("max.in.flight", "max.in.flight.requests.per.connection"),
    ] {
        assert_eq!(property(alias).map(Property::name), Some(canonical));
    }
}

#[test]
fn default_of_every_property_validates_for_every_role() {
    for p in properties() {
        for role in [
            ClientRole::Producer,
            ClientRole::Consumer,
            ClientRole::Admin,
        ] {
            let c = ClientConfig::new()
                .set(p.name(), p.default_value())
                .validate(role);
            let c = c.unwrap_or_else(|e| panic!("{} default: {e}", p.name()));
            assert!(c.is_set_explicitly(p.name()));
        }
    }
}

proptest! {
    /// Any combination of properties set explicitly to their table defaults
    /// validates for every role and is marked explicit.
    #[test]
    fn combinations_of_defaults_validate(picks in proptest::collection::vec(0..PROPERTIES.len(), 0..40)) {
        let mut cfg = ClientConfig::new();
        for &i in &picks {
            let p = &PROPERTIES[i];
            cfg.set_mut(p.name(), p.default_value());
        }
        let c = cfg.validate(ClientRole::Consumer).unwrap();
        for &i in &picks {
            prop_assert!(c.is_set_explicitly(PROPERTIES[i].name()));
        }
        cfg.validate(ClientRole::Producer).unwrap();
        cfg.validate(ClientRole::Admin).unwrap();
    }

    /// An integer outside the range is rejected with the property, the value
    /// and the range in the message.
    #[test]
    fn out_of_range_integers_are_rejected(i in 0..PROPERTIES.len(), above in any::<bool>(), delta in 1i64..1000) {
        let p = &PROPERTIES[i];
        if let Kind::Int { min, max } | Kind::Ms { min, max } = p.kind() {
            let bad = if above { max.saturating_add(delta) } else { min.saturating_sub(delta) };
            let err = ClientConfig::new().set(p.name(), bad.to_string()).validate(ClientRole::Admin).unwrap_err();
            prop_assert_eq!(err.code(), ErrorCode::InvalidArg);
            for part in [p.name().to_string(), bad.to_string(), format!("{min} to {max}")] {
                prop_assert!(err.message().contains(&part), "{} lacks {}", err, part);
            }
        }
    }
}

#[test]
fn errors_name_property_value_and_allowed() {
    let cases = [
        ("linger.ms", "soon", "milliseconds from 0 to 900000"),
        ("acks", "2", "an integer from -1 to 1"),
        (
            "compression.codec",
            "brotli",
            "none, gzip, snappy, lz4, zstd",
        ),
        ("enable.idempotence", "maybe", "true or false"),
        ("debug", "broker,everything", "generic"),
        ("buffer.memory", "lots", "bytes"),
        ("ssl_check_hostname", "perhaps", "true or false"),
        (
            "key_serializer",
            "str.encode",
            "serialize keys and values in your code",
        ),
    ];
    for (name, value, allowed) in cases {
        let err = producer(&[(name, value)]).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArg);
        let msg = err.message();
        for part in [name, value, allowed] {
            assert!(msg.contains(part), "{msg:?} lacks {part:?}");
        }
    }
    // An alias error also names the canonical property.
    let err = producer(&[("linger_ms", "-3")]).unwrap_err();
    assert!(
        err.message()
            .contains("linger_ms (= queue.buffering.max.ms)"),
        "{err}"
    );
}

#[test]
fn unknown_names_suggest_the_closest_known_name() {
    let err = producer(&[("linger.msec", "5")]).unwrap_err();
    assert!(err.message().contains("\"linger.msec\""), "{err}");
    assert!(err.message().contains("\"5\""), "{err}");
    assert!(
        err.message().contains("did you mean \"linger.ms\""),
        "{err}"
    );
    let err = producer(&[("queue_buffering_max_messages", "5")]).unwrap_err();
    assert!(
        err.message()
            .contains("did you mean \"queue.buffering.max.messages\""),
        "{err}"
    );
    let err = producer(&[("completely.unrelated.thing.xyz", "1")]).unwrap_err();
    assert!(!err.message().contains("did you mean"), "{err}");
}

#[test]
fn enum_values_accept_other_spellings() {
    for (acks, want) in [("all", -1), ("ALL", -1), ("-1", -1), ("0", 0), ("1", 1)] {
        assert_eq!(producer(&[("acks", acks)]).unwrap().get_i64("acks"), want);
    }
    for codec in ["none", "gzip", "snappy", "lz4", "zstd", "None", "GZIP"] {
        let c = producer(&[("compression.type", codec)]).unwrap();
        assert_eq!(c.get_str("compression.codec"), codec.to_ascii_lowercase());
    }
    let c = producer(&[("partitioner", "default")]).unwrap();
    assert_eq!(c.get_str("partitioner"), "murmur2_random");
    let c = producer(&[("retries", "inf")]).unwrap();
    assert_eq!(c.get_i64("retries"), i64::from(i32::MAX));
    let c = producer(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanisms", "PLAIN"),
    ])
    .unwrap();
    assert_eq!(c.get_str("security.protocol"), "sasl_ssl");
    let c = ClientConfig::new()
        .set("auto.offset.reset", "smallest")
        .validate(ClientRole::Consumer)
        .unwrap();
    assert_eq!(c.get_str("auto.offset.reset"), "earliest");
}

#[test]
fn unit_conversions() {
    let c = producer(&[("buffer_memory", "33554432")]).unwrap();
    assert_eq!(c.get_i64("queue.buffering.max.kbytes"), 32_768);
    let c = producer(&[("buffer.memory", "1025")]).unwrap();
    assert_eq!(c.get_i64("queue.buffering.max.kbytes"), 2);
    let c = producer(&[("batch_size", "0")]).unwrap();
    assert_eq!(c.get_i64("batch.size"), 1);
    let c = producer(&[
        ("security.protocol", "ssl"),
        ("ssl_check_hostname", "False"),
    ])
    .unwrap();
    assert_eq!(c.get_str("ssl.endpoint.identification.algorithm"), "none");
    let c = producer(&[("api_version", "(2, 8, 0)")]).unwrap();
    assert!(!c.get_bool("api.version.request"));
    assert_eq!(c.get_str("broker.version.fallback"), "2.8.0");
    let c = producer(&[("api_version", "auto")]).unwrap();
    assert!(c.get_bool("api.version.request"));
    let c = producer(&[("bootstrap_servers", "['a:9092', 'b:9093']")]).unwrap();
    assert_eq!(c.get_list("bootstrap.servers"), ["a:9092", "b:9093"]);
    let c = producer(&[("metadata_max_age_ms", "60000")]).unwrap();
    assert_eq!(c.get_i64("topic.metadata.refresh.interval.ms"), 60_000);
    let c = producer(&[
        ("compression_type", "None"),
        ("receive_buffer_bytes", "None"),
    ])
    .unwrap();
    assert!(!c.is_set_explicitly("compression.codec"));
    assert!(!c.is_set_explicitly("socket.receive.buffer.bytes"));
}

#[test]
fn idempotence_rules() {
    let c = producer(&[("enable.idempotence", "true")]).unwrap();
    assert_eq!(c.get_i64("acks"), -1);
    assert_eq!(c.get_i64("max.in.flight"), 5);
    assert!(!c.is_set_explicitly("max.in.flight"));

    let c = producer(&[("enable.idempotence", "true"), ("max.in.flight", "3")]).unwrap();
    assert_eq!(c.get_i64("max.in.flight"), 3);

    for (name, value, allowed) in [
        ("acks", "1", "all (-1) when enable.idempotence=true"),
        ("acks", "0", "all (-1)"),
        ("max.in.flight.requests.per.connection", "6", "1 to 5"),
        ("retries", "0", "at least 1"),
    ] {
        let err = producer(&[("enable.idempotence", "true"), (name, value)]).unwrap_err();
        for part in [name, value, allowed] {
            assert!(err.message().contains(part), "{err} lacks {part}");
        }
    }
    // acks=all set explicitly is fine.
    producer(&[("enable.idempotence", "true"), ("acks", "all")]).unwrap();

    let c = producer(&[("transactional.id", "tx-1")]).unwrap();
    assert!(c.get_bool("enable.idempotence"));
    assert_eq!(c.get_i64("max.in.flight"), 5);
    let err = producer(&[
        ("transactional.id", "tx-1"),
        ("enable.idempotence", "false"),
    ])
    .unwrap_err();
    assert!(err.message().contains("enable.idempotence"), "{err}");
    let err = producer(&[("transactional.id", "tx-1"), ("acks", "1")]).unwrap_err();
    assert!(err.message().contains("acks"), "{err}");

    // Without idempotence nothing is adjusted.
    let c = producer(&[("acks", "1"), ("max.in.flight", "100")]).unwrap();
    assert_eq!(c.get_i64("max.in.flight"), 100);
    // A consumer ignores producer rules.
    ClientConfig::new()
        .set("enable.idempotence", "true")
        .set("acks", "0")
        .validate(ClientRole::Consumer)
        .unwrap();
}

#[test]
fn message_timeout_must_cover_linger() {
    let err = producer(&[("linger.ms", "1000"), ("message.timeout.ms", "500")]).unwrap_err();
    assert!(
        err.message().contains("message.timeout.ms") && err.message().contains("500"),
        "{err}"
    );
    producer(&[("linger.ms", "1000"), ("message.timeout.ms", "0")]).unwrap();
}

#[test]
fn consumer_receive_limit_follows_fetch_max_bytes() {
    let c = ClientConfig::new()
        .set("fetch.max.bytes", "200000000")
        .validate(ClientRole::Consumer)
        .unwrap();
    assert_eq!(c.get_i64("receive.message.max.bytes"), 200_000_512);
    let err = ClientConfig::new()
        .set("fetch.max.bytes", "200000000")
        .set("receive.message.max.bytes", "1000000")
        .validate(ClientRole::Consumer)
        .unwrap_err();
    assert!(err.message().contains("receive.message.max.bytes"), "{err}");
}

#[test]
fn other_roles_properties_are_accepted_and_ignored() {
    let c = ClientConfig::new()
        .set("group.id", "g")
        .set("fetch.min.bytes", "10")
        .validate(ClientRole::Producer);
    assert_eq!(c.unwrap().get_str("group.id"), "g");
}

#[test]
fn client_config_get_and_set() {
    let c = ClientConfig::new()
        .set("queue.buffering.max.ms", "7")
        .set("client.id", "a")
        .set("client.id", "b")
        .set("unknown.thing", "z");
    assert_eq!(c.get("linger.ms"), Some("7"));
    assert_eq!(c.get("client.id"), Some("b"));
    assert_eq!(c.get("unknown.thing"), Some("z"));
    assert_eq!(c.get("group.id"), None);
    let names: Vec<&str> = c.iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["queue.buffering.max.ms", "client.id", "unknown.thing"]
    );
    // The later alias wins over the earlier canonical name.
    let cfg = producer(&[("linger.ms", "9"), ("queue.buffering.max.ms", "8")]).unwrap();
    assert_eq!(cfg.get_i64("linger.ms"), 8);
}

#[test]
fn secrets_are_redacted() {
    let c = ClientConfig::new()
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.password", "hunter2")
        .set("sasl_plain_password", "hunter3");
    let shown = format!("{c:?}");
    assert!(!shown.contains("hunter"), "{shown}");
    let cfg = c.validate(ClientRole::Producer).unwrap();
    assert!(!format!("{cfg:?}").contains("hunter"));
    assert!(cfg.iter().all(|(_, v)| !v.contains("hunter")));
    assert_eq!(cfg.get_str("sasl.password"), "hunter3");
}

/// A TLS or SASL setting the chosen security.protocol does not use is a
/// forgotten protocol, refused naming both (the client would otherwise
/// connect without the protection the setting asks for).
#[test]
fn security_settings_unused_by_the_protocol_are_refused() {
    for (name, value, protocol) in [
        ("sasl.username", "alice", "plaintext"),
        ("sasl.password", "secret", "ssl"),
        ("ssl.ca.location", "/etc/ca.pem", "plaintext"),
        ("ssl.ca.location", "/etc/ca.pem", "sasl_plaintext"),
    ] {
        let mut c = ClientConfig::new().set("security.protocol", protocol);
        if protocol.starts_with("sasl") {
            c.set_mut("sasl.mechanisms", "PLAIN");
        }
        let e = c
            .set(name, value)
            .validate(ClientRole::Producer)
            .unwrap_err();
        assert_eq!(
            e.code(),
            ErrorCode::InvalidArg,
            "{name} with {protocol}: {e}"
        );
        assert!(e.message().contains(name), "{e}");
        assert!(e.message().contains(protocol), "{e}");
        assert!(!e.message().contains("secret"), "{e}");
    }
}

#[test]
fn durations_and_disabled_values() {
    let c = producer(&[("topic.metadata.refresh.interval.ms", "-1")]).unwrap();
    assert_eq!(
        c.get_duration("topic.metadata.refresh.interval.ms"),
        Duration::MAX
    );
    assert_eq!(c.get_i32("socket.timeout.ms"), 60_000);
}

#[test]
#[should_panic(expected = "not a property")]
fn accessor_panics_on_a_name_outside_the_table() {
    producer(&[]).unwrap().get_i64("no.such.property");
}

#[test]
fn not_yet_properties_say_so() {
    let p = property("queuing.strategy").unwrap();
    assert_eq!(p.status(), Status::NotYet);
    assert!(p
        .doc_line()
        .ends_with("(not implemented: only the default is accepted)"));
    let e = producer(&[("queuing.strategy", "lifo")]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotImplemented, "{e}");
    assert!(e.message().contains("queuing.strategy"), "{e}");
    producer(&[("queuing.strategy", "fifo")]).unwrap();
    let p = property("bootstrap.servers").unwrap();
    assert_eq!(p.status(), Status::Implemented);
    assert!(!p.doc_line().contains("not implemented"));
}

/// `CONFIGURATION.md` at the repository root must equal `markdown()`.
/// `FERROKAFKA_BLESS=1` rewrites it.
#[test]
fn configuration_md_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../CONFIGURATION.md");
    let want = markdown();
    if std::env::var_os("FERROKAFKA_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "CONFIGURATION.md is stale; run: FERROKAFKA_BLESS=1 cargo test -p ferrokafka --lib config::"
    );
}

/// The properties a role's settings builders read from `pairs` (plus a
/// bootstrap server), whether or not building succeeds: a setting that
/// cannot be honoured fails the build after reading it.
fn read_by(role: ClientRole, pairs: &[(&str, &str)]) -> HashSet<&'static str> {
    let mut cfg = ClientConfig::new().set("bootstrap.servers", "127.0.0.1:9092");
    for (k, v) in pairs {
        cfg = cfg.set(*k, *v);
    }
    let c = match cfg.validate(role) {
        Ok(c) => c,
        Err(e) => panic!("{role:?} {pairs:?}: {e}"),
    };
    match role {
        ClientRole::Producer => drop(crate::producer::all_settings(&c)),
        ClientRole::Consumer => drop(crate::consumer::all_settings(&c)),
        _ => drop(crate::cluster::ClusterSettings::from_config(&c)),
    }
    c.read_properties().into_iter().collect()
}

/// Properties the table marks implemented for a role that the role's
/// settings never read, with why; reported to the issues that own them.
/// The list must stay exact: a property wired since fails the test until
/// it is taken off.
const KNOWN_UNREAD: &[(ClientRole, &str, &str)] = &[];

/// A self-signed certificate and its key, as PEM.
fn identity_pem() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

#[test]
fn every_implemented_property_is_read_by_each_role_it_applies_to() {
    // Configurations that take each branch of the builders: plaintext,
    // SASL over TLS with each mechanism, TLS with and without verification.
    let (cert, key) = identity_pem();
    let scenarios: &[&[(&str, &str)]] = &[
        &[],
        &[("group.id", "g"), ("group.instance.id", "i")],
        &[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "u"),
            ("sasl.password", "p"),
            ("ssl.cipher.suites", "TLS13_AES_128_GCM_SHA256"),
            ("ssl.curves.list", "X25519"),
        ],
        &[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ("sasl.oauthbearer.config", "principal=admin"),
            ("enable.ssl.certificate.verification", "false"),
        ],
        &[
            ("security.protocol", "sasl_ssl"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("sasl.oauthbearer.method", "oidc"),
            (
                "sasl.oauthbearer.token.endpoint.url",
                "https://127.0.0.1:8443/token",
            ),
            ("sasl.oauthbearer.client.id", "client"),
            ("sasl.oauthbearer.client.secret", "secret"),
            ("sasl.oauthbearer.scope", "kafka"),
            ("https.ca.pem", &cert),
            ("ssl.ca.pem", &cert),
        ],
        &[
            ("security.protocol", "ssl"),
            ("ssl.ca.pem", &cert),
            ("ssl.certificate.pem", &cert),
            ("ssl.key.pem", &key),
            ("ssl.key.password", "unused for a plain key"),
        ],
    ];
    // Accepted for compatibility and documented as doing nothing.
    let ignored_by_design = |p: &Property| p.status() == Status::Ignored;
    let mut missing = Vec::new();
    let mut wired = Vec::new();
    for (role, applies) in [
        (ClientRole::Producer, [AppliesTo::Producer, AppliesTo::Both]),
        (ClientRole::Consumer, [AppliesTo::Consumer, AppliesTo::Both]),
    ] {
        let read: HashSet<&str> = scenarios.iter().flat_map(|s| read_by(role, s)).collect();
        for p in PROPERTIES {
            if p.status() != Status::Implemented
                || !applies.contains(&p.applies_to())
                || ignored_by_design(p)
            {
                continue;
            }
            let known = KNOWN_UNREAD
                .iter()
                .any(|(r, n, _)| *r == role && *n == p.name());
            match (read.contains(p.name()), known) {
                (false, false) => missing.push(format!("{role:?}: {}", p.name())),
                (true, true) => wired.push(format!("{role:?}: {}", p.name())),
                _ => {}
            }
        }
    }
    assert!(
        missing.is_empty(),
        "implemented for a role but never read by it:\n{}",
        missing.join("\n")
    );
    assert!(
        wired.is_empty(),
        "read now: take these off KNOWN_UNREAD:\n{}",
        wired.join("\n")
    );
}
