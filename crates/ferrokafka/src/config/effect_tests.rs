//! The table-driven proof that no property is a silent no-op: each one, set
//! to a value other than its default, changes what the client does for
//! every role it applies to, or is refused with `_NOT_IMPLEMENTED` naming
//! it, or (a deprecated no-op) logs a warning naming it.

use super::value::parse;
use super::*;
use crate::error::ErrorCode;
use std::sync::{Arc, Mutex};

/// The base every scenario starts from (and the baseline it is compared
/// with): what a property needs to be meaningful at all.
fn base_for(p: &Property) -> Vec<(&'static str, &'static str)> {
    let mut base = vec![("bootstrap.servers", "127.0.0.1:9092")];
    let name = p.name();
    if name.starts_with("ssl.") || name.contains(".ssl.") {
        base.push(("security.protocol", "ssl"));
    }
    if name.starts_with("sasl.") || name.starts_with("https.") || name.contains(".sasl.") {
        base.push(("security.protocol", "sasl_ssl"));
        let oidc_only = name.starts_with("https.")
            || crate::net::oidc_only(name)
            || name == "sasl.oauthbearer.sub.claim.name";
        if oidc_only || name == "enable.sasl.oauthbearer.unsecure.jwt" {
            base.extend([
                ("sasl.mechanisms", "OAUTHBEARER"),
                ("sasl.oauthbearer.method", "oidc"),
                (
                    "sasl.oauthbearer.token.endpoint.url",
                    "https://127.0.0.1:8443/token",
                ),
                ("sasl.oauthbearer.client.id", "client"),
                ("sasl.oauthbearer.client.secret", "secret"),
            ]);
        } else if name == "sasl.oauthbearer.config" || name == "sasl.oauthbearer.method" {
            base.extend([
                ("sasl.mechanisms", "OAUTHBEARER"),
                ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
                ("sasl.oauthbearer.config", "principal=admin"),
            ]);
        } else {
            base.extend([
                ("sasl.mechanisms", "PLAIN"),
                ("sasl.username", "u"),
                ("sasl.password", "p"),
            ]);
        }
    }
    // A client certificate goes with its key and the other way round.
    let (cert, key) = identity();
    if name.starts_with("ssl.key.") || name.starts_with("ssl.certificate.") {
        base.extend([("ssl.certificate.pem", cert), ("ssl.key.pem", key)]);
    }
    match name {
        // Meaningful with a group only.
        "group.instance.id"
        | "partition.assignment.strategy"
        | "session.timeout.ms"
        | "heartbeat.interval.ms"
        | "max.poll.interval.ms"
        | "enable.auto.commit"
        | "auto.commit.interval.ms"
        | "group.protocol.type"
        | "client.rack"
        | "coordinator.query.interval.ms" => base.push(("group.id", "g")),
        // Meaningful with a transactional id only.
        "transaction.timeout.ms" => base.push(("transactional.id", "t")),
        _ => {}
    }
    // Later entries win (the scenario's own needs over the defaults).
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for (k, v) in base {
        out.retain(|(n, _)| *n != k);
        out.push((k, v));
    }
    out
}

/// What the changed scenario sets beside the property (switching from one
/// token source to another takes more than one setting).
fn set_with(p: &Property) -> Vec<(&'static str, &'static str)> {
    match p.name() {
        "sasl.oauthbearer.method" => vec![
            ("enable.sasl.oauthbearer.unsecure.jwt", "false"),
            (
                "sasl.oauthbearer.token.endpoint.url",
                "https://127.0.0.1:8443/token",
            ),
            ("sasl.oauthbearer.client.id", "client"),
            ("sasl.oauthbearer.client.secret", "secret"),
        ],
        _ => Vec::new(),
    }
}

/// A self-signed certificate and its key, as PEM (made once).
fn identity() -> (&'static str, &'static str) {
    static PEM: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (c, k) = PEM.get_or_init(|| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    });
    (c, k)
}

/// A value other than the default (for free text, one the builders check).
fn non_default(p: &Property, role: ClientRole) -> String {
    let special = match p.name() {
        // A producer may auto-create unless told otherwise (librdkafka).
        "allow.auto.create.topics" if role == ClientRole::Producer => Some("false"),
        // Within message.timeout.ms's default, and under the batch size
        // message.max.bytes caps it to.
        "queue.buffering.max.ms" => Some("10"),
        "batch.size" => Some("16384"),
        "metadata.broker.list" => Some("127.0.0.1:9093"),
        "sasl.mechanisms" => Some("SCRAM-SHA-256"),
        "sasl.oauthbearer.method" => Some("oidc"),
        "sasl.oauthbearer.token.endpoint.url" => Some("https://127.0.0.1:9443/other"),
        "sasl.oauthbearer.config" => Some("principal=someone"),
        "broker.version.fallback" => Some("2.8.0"),
        "client.software.version" => Some("9.9.9"),
        "client.software.name" => Some("other-client"),
        "topic.blacklist" => Some("^secret"),
        "sasl.oauthbearer.extensions" => Some("k=v"),
        "partition.assignment.strategy" => Some("cooperative-sticky"),
        _ => None,
    };
    if let Some(v) = special {
        return v.to_string();
    }
    let default = p.default_value();
    match p.kind() {
        Kind::Bool => (default != "true").to_string(),
        Kind::Int { min, max } | Kind::Ms { min, max } => {
            let d: i64 = parse(p, default)
                .ok()
                .and_then(|(t, _)| t.parse().ok())
                .unwrap_or(min);
            // Not the default, and not the other extreme when that is a
            // sentinel: the middle of the range, or an end next to it.
            let mid = min + (max - min) / 2;
            [mid, min.max(1), max]
                .into_iter()
                .find(|&v| v != d && v >= min && v <= max)
                .unwrap()
                .to_string()
        }
        Kind::Float { min, max } => ((min + max) / 2.0).to_string(),
        Kind::Enum(values) | Kind::EnumList(values) => values
            .iter()
            .find(|v| !v.eq_ignore_ascii_case(default))
            .unwrap()
            .to_string(),
        Kind::Str | Kind::List => "x".to_string(),
    }
}

/// What a role's builders make of a configuration: the settings' debug
/// form, or the error.
fn fingerprint(
    role: ClientRole,
    pairs: &[(&str, String)],
) -> std::result::Result<String, crate::Error> {
    let cfg: ClientConfig = pairs.iter().map(|(k, v)| (*k, v.clone())).collect();
    let c = cfg.validate(role)?;
    Ok(match role {
        ClientRole::Producer => format!("{:?}", crate::producer::all_settings(&c)?),
        ClientRole::Consumer => format!("{:?}", crate::consumer::all_settings(&c)?),
        _ => format!("{:?}", crate::cluster::ClusterSettings::from_config(&c)?),
    })
}

/// Properties whose effect the settings' debug form cannot show (secrets
/// are redacted there, TLS keeps a built rustls configuration), with the
/// test that proves it. They must still be read by the builders.
const EFFECT_PROVEN_ELSEWHERE: &[(&str, &str)] = &[
    (
        "sasl.password",
        "tests/sasl_*: a wrong password fails authentication",
    ),
    (
        "sasl.oauthbearer.client.secret",
        "net::oidc tests: the secret goes into HTTP Basic authentication",
    ),
    (
        "ssl.key.password",
        "net::tls tests: an encrypted PKCS#8 key is decrypted with it",
    ),
    (
        "ssl.keystore.password",
        "net::tls tests: the PKCS#12 keystore is opened with it",
    ),
];

/// Captures what `tracing` logs while `f` runs on this thread.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    (out, text)
}

#[test]
fn every_property_set_to_a_non_default_value_has_an_effect_or_is_refused() {
    let mut silent = Vec::new();
    for p in properties() {
        let base: Vec<(&str, String)> = base_for(p)
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect();
        let roles: &[ClientRole] = match p.applies_to() {
            AppliesTo::Producer => &[ClientRole::Producer],
            AppliesTo::Consumer => &[ClientRole::Consumer],
            _ => &[ClientRole::Producer, ClientRole::Consumer],
        };
        for &role in roles {
            let value = non_default(p, role);
            let mut set = base.clone();
            for (k, v) in set_with(p).into_iter().chain([(p.name(), "")]) {
                set.retain(|(n, _)| *n != k);
                set.push((
                    k,
                    if k == p.name() {
                        value.clone()
                    } else {
                        v.to_string()
                    },
                ));
            }
            let before = match fingerprint(role, &base) {
                Ok(b) => b,
                Err(e) => {
                    silent.push(format!("{} base {base:?} for {role:?}: {e}", p.name()));
                    continue;
                }
            };
            let (after, log) = logged(|| fingerprint(role, &set));
            let shown = format!("{} = {value:?} for {role:?}", p.name());
            let problem = match (p.status(), after) {
                (Status::NotYet, Err(e))
                    if e.code() == ErrorCode::NotImplemented && e.message().contains(p.name()) =>
                {
                    None
                }
                (Status::NotYet, Err(e)) => Some(format!("refused, but not as not built: {e}")),
                (Status::NotYet, Ok(_)) => Some("not built, yet accepted".to_string()),
                (Status::Ignored, Ok(after)) if after != before => {
                    Some("documented as ignored, yet it changes the settings".to_string())
                }
                (Status::Ignored, Ok(_)) if log.contains("WARN") && log.contains(p.name()) => None,
                (Status::Ignored, Ok(_)) => Some(format!("no warning naming it in {log:?}")),
                (Status::Ignored, Err(e)) => Some(format!("ignored, yet refused: {e}")),
                // Acted on: the builders checked the value and refused it,
                // naming the property (a path that does not exist, a PEM
                // that is none).
                (_, Err(e)) if e.message().contains(p.name()) => None,
                (_, Err(e)) => Some(format!("refused without naming it: {e}")),
                (_, Ok(after)) if after != before => None,
                (_, Ok(_)) if EFFECT_PROVEN_ELSEWHERE.iter().any(|(n, _)| *n == p.name()) => None,
                (_, Ok(_)) => Some("changes nothing".to_string()),
            };
            if let Some(problem) = problem {
                silent.push(format!("{shown}: {problem}"));
            }
        }
    }
    assert!(
        silent.is_empty(),
        "set to a value other than the default, these do not show an effect:\n{}",
        silent.join("\n")
    );
}

/// The values of implemented properties that are not built are refused
/// naming the property and saying why.
#[test]
fn refused_values_of_built_properties_name_them() {
    let e = ClientConfig::new()
        .set(
            "client.dns.lookup",
            "resolve_canonical_bootstrap_servers_only",
        )
        .validate(ClientRole::Producer)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::NotImplemented, "{e}");
    assert!(
        e.message().contains("client.dns.lookup") && e.message().contains("Kerberos"),
        "{e}"
    );
}
