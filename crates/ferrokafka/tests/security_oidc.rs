//! OAUTHBEARER tokens from an OIDC token endpoint
//! (`sasl.oauthbearer.method=oidc`) against the mock cluster's SASL
//! listener: the client credentials request as sent (Basic client
//! authentication, grant type, scope), the token and its extensions as
//! the broker sees them, one fetch shared by a client's connections, a new
//! token at 80% of `expires_in`, HTTPS with the test's CA, and the
//! failures named (endpoint refused, HTTP status with its body, malformed
//! JSON). The client secret must never reach a log line, `Debug` output
//! or an error. The endpoint is served by the test on 127.0.0.1
//! (`token_endpoint`).

mod token_endpoint;

use ferrokafka::admin::AdminClient;
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use token_endpoint::{grant, TokenEndpoint};
use tokio::time::timeout;

const SECRET: &str = "cs-Zx9-very-secret";

/// Every log line of this test binary, at TRACE, to check that no secret
/// reaches one.
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let make = move || Sink(sink.clone());
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(make)
            .with_ansi(false)
            .try_init();
        buf
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn oidc_config(cluster: &MockCluster, url: &str) -> ClientConfig {
    ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("socket.connection.setup.timeout.ms", "5000")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "500")
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "OAUTHBEARER")
        .set("sasl.oauthbearer.method", "oidc")
        .set("sasl.oauthbearer.token.endpoint.url", url)
        .set("sasl.oauthbearer.client.id", "kafka-client")
        .set("sasl.oauthbearer.client.secret", SECRET)
}

async fn cluster() -> MockCluster {
    MockCluster::builder()
        .sasl_user("unused", "x")
        .brokers(2)
        .build()
        .await
        .unwrap()
}

/// Produces `n` records to `topic`, each delivered within 10 s.
async fn produce(p: &Producer, topic: &str, n: usize) {
    for i in 0..n {
        let d = p
            .send(ProducerRecord::new(topic.to_string()).value(format!("v{i}")))
            .unwrap();
        timeout(Duration::from_secs(10), d)
            .await
            .expect("delivered within 10 s")
            .unwrap_or_else(|e| panic!("record {i}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_credentials_token_authenticates_and_carries_extensions() {
    let logs = logs();
    let endpoint = TokenEndpoint::http(grant("svc-orders", Duration::from_secs(600))).await;
    let c = cluster().await;
    c.create_topic("oidc", 2, 1).unwrap();
    let config = oidc_config(&c, &endpoint.url)
        .set("sasl.oauthbearer.scope", "kafka produce")
        .set("sasl.oauthbearer.extensions", "tenant=t1, region=eu")
        .set("linger.ms", "0")
        // Every context that can log while authenticating, so the checks
        // below that no secret reaches a log line are not vacuous.
        .set("debug", "all");
    let shown = format!("{config:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    let p = Producer::new(&config).unwrap();
    produce(&p, "oidc", 5).await;

    // The request, as RFC 6749 section 4.4 and librdkafka send it.
    let reqs = endpoint.requests();
    // Metadata and produce connections share the client's one token.
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    assert_eq!(r.request_line, "POST /oauth2/token HTTP/1.1");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("kafka-client:{SECRET}"));
    assert_eq!(
        r.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        r.body,
        "grant_type=client_credentials&scope=kafka%20produce"
    );
    // The broker saw the token's subject and the extensions.
    let auths = c.authentications();
    assert!(auths.len() >= 2, "{auths:?}");
    for a in &auths {
        assert_eq!(a.mechanism, "OAUTHBEARER");
        assert_eq!(a.principal, "svc-orders");
        assert_eq!(
            a.extensions,
            [
                ("tenant".to_string(), "t1".to_string()),
                ("region".to_string(), "eu".to_string())
            ]
        );
    }
    drop(p);
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(text.contains("SASL authenticated"), "logs were captured");
    assert!(!text.contains(SECRET), "the secret reached a log line");
    assert!(
        !text.contains(&basic),
        "the Basic credentials reached a log line"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_token_is_fetched_at_eighty_percent_of_expires_in() {
    // Sessions of 400 ms make the client authenticate again (KIP-368)
    // about every 340 ms; a token of 1 s is reused until 800 ms, then
    // replaced: some authentications reuse it, none uses an expired one
    // (the mock refuses those).
    let endpoint = TokenEndpoint::http(grant("svc-refresh", Duration::from_secs(1))).await;
    let c = MockCluster::builder()
        .sasl_user("unused", "x")
        .sasl_session_lifetime(Duration::from_millis(400))
        .build()
        .await
        .unwrap();
    c.create_topic("oidc-refresh", 1, 1).unwrap();
    let p = Producer::new(
        &oidc_config(&c, &endpoint.url)
            .set("linger.ms", "0")
            .set("retries", "0"),
    )
    .unwrap();
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(3000) {
        produce(&p, "oidc-refresh", 1).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fetches = endpoint.requests().len();
    let auths = c.authentications().len();
    eprintln!("{fetches} token fetches for {auths} authentications, {n} records");
    assert_eq!(c.expired_sessions(), 0, "a session ran out");
    // Over 3 s: one token per 0.8 s (4, give or take the first), and
    // fewer fetches than authentications.
    assert!(
        (3..=6).contains(&fetches),
        "{fetches} fetches, {auths} authentications"
    );
    assert!(
        auths > fetches,
        "{fetches} fetches, {auths} authentications"
    );
    assert_eq!(c.high_watermark("oidc-refresh", 0), Some(n));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_endpoint_is_verified_with_https_ca_pem() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "ferrokafka OIDC test CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    let endpoint = TokenEndpoint::https(
        grant("svc-tls", Duration::from_secs(600)),
        &cert.pem(),
        &key.serialize_pem(),
    )
    .await;
    assert!(endpoint.url.starts_with("https://"));
    let c = cluster().await;
    let trusted = oidc_config(&c, &endpoint.url).set("https.ca.pem", ca.pem());
    AdminClient::new(&trusted)
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(c.authentications().iter().any(|a| a.principal == "svc-tls"));
    assert_eq!(endpoint.requests().len(), 1);
    // The same CA from a file.
    let dir = std::env::temp_dir().join(format!("ferrokafka-oidc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let from_file =
        oidc_config(&c, &endpoint.url).set("https.ca.location", ca_file.to_str().unwrap());
    AdminClient::new(&from_file)
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Without the CA (the system store): not trusted, and said so; no
    // request is sent.
    let e = metadata_error(oidc_config(&c, &endpoint.url), Duration::from_secs(3)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("TLS handshake"), "{e}");
    assert!(e.message().contains("UnknownIssuer"), "{e}");
    assert_eq!(endpoint.requests().len(), 2);
}

/// The error a metadata call gets, which must come within `bound`.
async fn metadata_error(c: ClientConfig, bound: Duration) -> ferrokafka::Error {
    let admin = AdminClient::new(&c).unwrap();
    let t0 = Instant::now();
    let e = admin
        .metadata(None, Duration::from_secs(3))
        .await
        .expect_err("metadata must fail");
    assert!(
        t0.elapsed() < bound,
        "failed after {:?}, bound {bound:?}: {e}",
        t0.elapsed()
    );
    assert!(!e.to_string().contains(SECRET), "{e}");
    eprintln!("{:?} after {:?}: {e}", e.code(), t0.elapsed());
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_failures_are_named() {
    let c = cluster().await;
    // Refused: nothing listens on the port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed}/token");
    let e = metadata_error(oidc_config(&c, &url), Duration::from_secs(3)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("OIDC token endpoint"), "{e}");
    assert!(e.message().contains("cannot connect"), "{e}");
    assert!(e.message().to_lowercase().contains("refused"), "{e}");

    // An HTTP error: its status and body. The body echoes the secret,
    // which the error must not repeat.
    let endpoint = TokenEndpoint::http(Box::new(|_| {
        (
            401,
            format!(r#"{{"error":"invalid_client","error_description":"bad secret {SECRET}"}}"#),
        )
    }))
    .await;
    let e = metadata_error(oidc_config(&c, &endpoint.url), Duration::from_secs(3)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("HTTP 401"), "{e}");
    assert!(e.message().contains("invalid_client"), "{e}");
    assert!(e.message().contains("[redacted]"), "{e}");

    // Not JSON.
    let endpoint =
        TokenEndpoint::http(Box::new(|_| (200, "<html>login page</html>".to_string()))).await;
    let e = metadata_error(oidc_config(&c, &endpoint.url), Duration::from_secs(3)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("not JSON"), "{e}");
    assert!(e.message().contains("<html>login page"), "{e}");

    // JSON without a token.
    let endpoint =
        TokenEndpoint::http(Box::new(|_| (200, r#"{"expires_in":60}"#.to_string()))).await;
    let e = metadata_error(oidc_config(&c, &endpoint.url), Duration::from_secs(3)).await;
    assert!(e.message().contains("no access_token"), "{e}");

    // A token the broker refuses: the broker's reason.
    let endpoint = TokenEndpoint::http(Box::new(|_| {
        (
            200,
            r#"{"access_token":"not-a-jwt","expires_in":60}"#.to_string(),
        )
    }))
    .await;
    let e = metadata_error(oidc_config(&c, &endpoint.url), Duration::from_secs(3)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("not a JWT"), "{e}");
}

#[test]
fn oidc_settings_are_checked_at_construction() {
    let base = ClientConfig::new()
        .set("bootstrap.servers", "127.0.0.1:1")
        .set("security.protocol", "sasl_ssl")
        .set("sasl.mechanisms", "OAUTHBEARER")
        .set("sasl.oauthbearer.method", "oidc")
        .set(
            "sasl.oauthbearer.token.endpoint.url",
            "http://127.0.0.1:1/t",
        )
        .set("sasl.oauthbearer.client.id", "id")
        .set("sasl.oauthbearer.client.secret", SECRET);
    AdminClient::new(&base).unwrap();
    // The librdkafka alias of the client id lands on the same property.
    AdminClient::new(
        &base
            .clone()
            .set("sasl.oauthbearer.client.credentials.client.id", "id2"),
    )
    .unwrap();
    let cases: Vec<(ClientConfig, &str)> = vec![
        (
            base.clone()
                .set("sasl.oauthbearer.token.endpoint.url", "ftp://h/t"),
            "sasl.oauthbearer.token.endpoint.url",
        ),
        (
            base.clone().set("sasl.oauthbearer.client.secret", ""),
            "sasl.oauthbearer.client.secret",
        ),
        (
            base.clone().set("sasl.oauthbearer.extensions", "auth=x"),
            "sasl.oauthbearer.extensions",
        ),
        (base.clone().set("https.ca.pem", "x"), "https.ca.pem"),
        (
            base.clone()
                .set(
                    "sasl.oauthbearer.token.endpoint.url",
                    "https://127.0.0.1:1/t",
                )
                .set("https.ca.location", "/nonexistent/ca.pem"),
            "https.ca.location",
        ),
        (
            base.clone()
                .set("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            "enable.sasl.oauthbearer.unsecure.jwt",
        ),
        // OIDC-only settings with another method would be ignored.
        (
            base.clone()
                .set("sasl.oauthbearer.method", "default")
                .set("enable.sasl.oauthbearer.unsecure.jwt", "true")
                .set("sasl.oauthbearer.config", "principal=p"),
            "sasl.oauthbearer.token.endpoint.url",
        ),
        (
            base.clone()
                .set("sasl.mechanisms", "PLAIN")
                .set("sasl.username", "u"),
            "sasl.oauthbearer.token.endpoint.url",
        ),
    ];
    for (config, name) in cases {
        let e = AdminClient::new(&config).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArg, "{name}: {e}");
        assert!(e.message().contains(name), "{name}: {e}");
        assert!(!e.to_string().contains(SECRET), "{e}");
    }
    // https.* with a protocol that has no SASL: refused as unused.
    let e = AdminClient::new(
        &ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("https.ca.location", "/etc/ssl/ca.pem"),
    )
    .unwrap_err();
    assert!(e.message().contains("https.ca.location"), "{e}");
}
