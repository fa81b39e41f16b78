//! TLS and SASL against the mock cluster's secured listeners: produce and
//! consume round trips over SSL, SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256,
//! SCRAM-SHA-512, OAUTHBEARER) and SASL_SSL, mutual TLS, and the failures
//! each must report clearly and within its timeouts (wrong password,
//! untrusted CA, host name mismatch, expired certificate, TLS spoken to a
//! plaintext port and the reverse). Certificates are made by the test
//! with rcgen, PKCS#12 keystores with p12-keystore.

use ferrokafka::admin::AdminClient;
use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::{MockCluster, MockClusterBuilder};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// A CA and a broker certificate it signed.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

fn ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("ferrokafka test CA {}", rand_suffix()),
    );
    (p.self_signed(&key).unwrap(), key)
}

/// Distinct CA names, so that an untrusted CA is unknown by name too.
fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A leaf for `names` (DNS names; "127.0.0.1" becomes an IP SAN).
fn leaf(
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
    names: &[&str],
    expired: bool,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    for n in names {
        p.subject_alt_names.push(match n.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*n).try_into().unwrap()),
        });
    }
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = p.signed_by(&key, ca, ca_key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pki(names: &[&str], expired: bool) -> Pki {
    let (ca, ca_key) = ca();
    let (cert_pem, key_pem) = leaf(&ca, &ca_key, names, expired);
    Pki {
        ca_pem: ca.pem(),
        cert_pem,
        key_pem,
        ca,
        ca_key,
    }
}

fn good_pki() -> Pki {
    pki(&["localhost", "127.0.0.1"], false)
}

fn config(cluster: &MockCluster, props: &[(&str, &str)]) -> ClientConfig {
    let mut c = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("socket.connection.setup.timeout.ms", "5000")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "500");
    for (k, v) in props {
        c = c.set(*k, *v);
    }
    c
}

/// Produces `n` records and reads them back from the beginning.
async fn round_trip(cluster: &MockCluster, props: &[(&str, &str)], topic: &str, n: usize) {
    cluster.create_topic(topic, 2, 1).unwrap();
    let p = Producer::new(
        &config(cluster, props)
            .set("linger.ms", "2")
            .set("message.timeout.ms", "10000"),
    )
    .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..n {
        let r = ProducerRecord::new(topic.to_string())
            .partition(i as i32 % 2)
            .key(format!("k{i}"))
            .value(format!("v{i}"));
        deliveries.push(p.send(r).expect("queued"));
    }
    for d in deliveries {
        let md = timeout(Duration::from_secs(10), d)
            .await
            .expect("delivered within 10 s")
            .expect("delivered");
        assert!(md.offset >= 0);
    }
    let c = Consumer::new(&config(cluster, props).set("fetch.wait.max.ms", "50")).unwrap();
    c.assign(&[(topic, 0, Offset::Beginning), (topic, 1, Offset::Beginning)])
        .unwrap();
    let mut got = 0;
    let until = Instant::now() + Duration::from_secs(10);
    while got < n {
        assert!(Instant::now() < until, "read {got} of {n} within 10 s");
        match timeout(Duration::from_secs(10), c.recv()).await {
            Ok(Ok(m)) => {
                let i: usize = std::str::from_utf8(m.key().unwrap()).unwrap()[1..]
                    .parse()
                    .unwrap();
                assert_eq!(m.value(), Some(format!("v{i}").as_bytes()));
                got += 1;
            }
            Ok(Err(e)) if e.is_eof() => {}
            Ok(Err(e)) => panic!("consumer error: {e}"),
            Err(_) => panic!("no message within 10 s"),
        }
    }
}

async fn cluster(b: MockClusterBuilder) -> MockCluster {
    b.brokers(2).build().await.unwrap()
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
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_round_trip_with_ca_pem_and_ca_file() {
    let pki = good_pki();
    let c = cluster(MockCluster::builder().tls(&pki.cert_pem, &pki.key_pem)).await;
    round_trip(
        &c,
        &[("security.protocol", "ssl"), ("ssl.ca.pem", &pki.ca_pem)],
        "ssl-pem",
        20,
    )
    .await;
    let dir = std::env::temp_dir().join(format!("ferrokafka-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ca.pem");
    std::fs::write(&file, &pki.ca_pem).unwrap();
    // As a file, and as a directory of PEM files; bootstrap by host name
    // (SNI and a DNS SAN), brokers then by IP (IP SAN).
    for location in [file.to_str().unwrap(), dir.to_str().unwrap()] {
        let port = c
            .bootstrap_servers()
            .split(',')
            .next()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        let props = [
            ("security.protocol", "SSL"),
            ("ssl.ca.location", location),
            ("bootstrap.servers", &format!("localhost:{port}")),
        ];
        round_trip(&c, &props, &format!("ssl-file-{}", location.len()), 10).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_round_trip_and_a_missing_client_certificate_is_refused() {
    let pki = good_pki();
    let (client_cert, client_key) = leaf(&pki.ca, &pki.ca_key, &["client"], false);
    let c =
        cluster(MockCluster::builder().tls_client_auth(&pki.cert_pem, &pki.key_pem, &pki.ca_pem))
            .await;
    round_trip(
        &c,
        &[
            ("security.protocol", "ssl"),
            ("ssl.ca.pem", &pki.ca_pem),
            ("ssl.certificate.pem", &client_cert),
            ("ssl.key.pem", &client_key),
        ],
        "mtls",
        10,
    )
    .await;
    let e = metadata_error(
        config(
            &c,
            &[("security.protocol", "ssl"), ("ssl.ca.pem", &pki.ca_pem)],
        ),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{e}");
    assert!(e.message().contains("CertificateRequired"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_plaintext_round_trips_with_each_mechanism() {
    let c = cluster(MockCluster::builder().sasl_user("alice", "alice-secret")).await;
    for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        let props = [
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", mech),
            ("sasl.username", "alice"),
            ("sasl.password", "alice-secret"),
        ];
        round_trip(&c, &props, &format!("sasl-{mech}"), 10).await;
        let auths = c.authentications();
        assert!(
            auths
                .iter()
                .any(|a| a.mechanism == mech && a.principal == "alice"),
            "{mech}: {auths:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_round_trip_with_scram() {
    let pki = good_pki();
    let c = cluster(
        MockCluster::builder()
            .tls(&pki.cert_pem, &pki.key_pem)
            .sasl_user("bob", "bob-secret"),
    )
    .await;
    round_trip(
        &c,
        &[
            ("security.protocol", "sasl_ssl"),
            ("ssl.ca.pem", &pki.ca_pem),
            ("sasl.mechanisms", "SCRAM-SHA-512"),
            ("sasl.username", "bob"),
            ("sasl.password", "bob-secret"),
        ],
        "sasl-ssl",
        10,
    )
    .await;
    assert!(c.authentications().iter().all(|a| a.principal == "bob"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_unsecured_jwt_round_trip_carries_extensions() {
    let c = cluster(MockCluster::builder().sasl_user("unused", "x")).await;
    round_trip(
        &c,
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            (
                "sasl.oauthbearer.config",
                "principal=carol scope=produce lifeSeconds=600 extension_traceId=t-1",
            ),
        ],
        "oauth",
        5,
    )
    .await;
    let a = c.authentications();
    assert!(!a.is_empty());
    for a in a {
        assert_eq!(a.mechanism, "OAUTHBEARER");
        assert_eq!(a.principal, "carol");
        assert_eq!(
            a.extensions,
            vec![("traceId".to_string(), "t-1".to_string())]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_v0_handshake_carries_tokens_in_bare_frames() {
    // Without ApiVersions the client assumes an old broker: SaslHandshake
    // v0, then SCRAM's messages as bare frames.
    let c = cluster(MockCluster::builder().sasl_user("dave", "pw")).await;
    round_trip(
        &c,
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "SCRAM-SHA-256"),
            ("sasl.username", "dave"),
            ("sasl.password", "pw"),
            ("api.version.request", "false"),
            ("broker.version.fallback", "0.11.0"),
        ],
        "v0",
        5,
    )
    .await;
    assert!(c.authentications().iter().any(|a| a.principal == "dave"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_fast_with_the_brokers_message() {
    let c = cluster(MockCluster::builder().sasl_user("alice", "right")).await;
    for mech in ["PLAIN", "SCRAM-SHA-256"] {
        let props = [
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", mech),
            ("sasl.username", "alice"),
            ("sasl.password", "wrong-password"),
        ];
        let e = metadata_error(config(&c, &props), Duration::from_secs(2)).await;
        assert_eq!(e.code(), ErrorCode::Authentication, "{mech}: {e}");
        assert!(
            e.message().contains("Authentication failed"),
            "{mech}: the broker's message: {e}"
        );
        assert!(!e.to_string().contains("wrong-password"), "{e}");
        // A pending delivery fails with the same cause, well before
        // message.timeout.ms.
        let p = Producer::new(&config(&c, &props).set("message.timeout.ms", "30000")).unwrap();
        let d = p
            .send(ProducerRecord::new("t".to_string()).value("x"))
            .unwrap();
        let t0 = Instant::now();
        let r = timeout(Duration::from_secs(10), d)
            .await
            .expect("the delivery fails within 10 s");
        let err = r.expect_err("delivery must fail");
        assert_eq!(
            err.error.code(),
            ErrorCode::Authentication,
            "{mech}: {err:?}"
        );
        assert!(
            err.error.message().contains("Authentication failed"),
            "{err:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(10));
        // A consumer reports it as an error event.
        let consumer = Consumer::new(&config(&c, &props)).unwrap();
        consumer.assign(&[("t", 0, Offset::Beginning)]).unwrap();
        let ev = timeout(Duration::from_secs(10), consumer.recv())
            .await
            .expect("an error event within 10 s")
            .expect_err("no message can arrive");
        assert_eq!(ev.code(), ErrorCode::Authentication, "{mech}: {ev}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_authentication_failure_hits_the_next_attempt_only() {
    let c = cluster(MockCluster::builder().sasl_user("alice", "pw")).await;
    let props = [
        ("security.protocol", "sasl_plaintext"),
        ("sasl.mechanisms", "SCRAM-SHA-256"),
        ("sasl.username", "alice"),
        ("sasl.password", "pw"),
    ];
    c.fail_next_authentications(1);
    let e = metadata_error(config(&c, &props), Duration::from_secs(2)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    let admin = AdminClient::new(&config(&c, &props)).unwrap();
    admin.metadata(None, Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_failures_name_their_reason() {
    let good = good_pki();
    let other = good_pki();
    let c = cluster(MockCluster::builder().tls(&good.cert_pem, &good.key_pem)).await;
    // Untrusted CA.
    let e = metadata_error(
        config(
            &c,
            &[("security.protocol", "ssl"), ("ssl.ca.pem", &other.ca_pem)],
        ),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{e}");
    assert!(e.message().contains("unknown issuer"), "{e}");

    // Host name mismatch, then the same with the check off.
    let wrong_name = pki(&["broker.example"], false);
    let c2 = cluster(MockCluster::builder().tls(&wrong_name.cert_pem, &wrong_name.key_pem)).await;
    let e = metadata_error(
        config(
            &c2,
            &[
                ("security.protocol", "ssl"),
                ("ssl.ca.pem", &wrong_name.ca_pem),
            ],
        ),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{e}");
    assert!(e.message().contains("host name mismatch"), "{e}");
    let admin = AdminClient::new(&config(
        &c2,
        &[
            ("security.protocol", "ssl"),
            ("ssl.ca.pem", &wrong_name.ca_pem),
            ("ssl.endpoint.identification.algorithm", "none"),
        ],
    ))
    .unwrap();
    admin.metadata(None, Duration::from_secs(5)).await.unwrap();

    // Expired.
    let expired = pki(&["127.0.0.1"], true);
    let c3 = cluster(MockCluster::builder().tls(&expired.cert_pem, &expired.key_pem)).await;
    let e = metadata_error(
        config(
            &c3,
            &[
                ("security.protocol", "ssl"),
                ("ssl.ca.pem", &expired.ca_pem),
            ],
        ),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{e}");
    assert!(e.message().contains("expired"), "{e}");

    // Verification off accepts even the untrusted CA.
    let admin = AdminClient::new(&config(
        &c,
        &[
            ("security.protocol", "ssl"),
            ("enable.ssl.certificate.verification", "false"),
        ],
    ))
    .unwrap();
    admin.metadata(None, Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_a_plaintext_port_and_plaintext_to_a_tls_port_fail_clearly() {
    let pki = good_pki();
    let plain = cluster(MockCluster::builder()).await;
    let e = metadata_error(
        config(
            &plain,
            &[("security.protocol", "ssl"), ("ssl.ca.pem", &pki.ca_pem)],
        ),
        Duration::from_secs(6),
    )
    .await;
    assert!(
        e.message().contains("plaintext listener"),
        "TLS to a plaintext port: {e}"
    );
    let tls = cluster(MockCluster::builder().tls(&pki.cert_pem, &pki.key_pem)).await;
    let e = metadata_error(config(&tls, &[]), Duration::from_secs(6)).await;
    assert!(
        e.message().contains("security.protocol=ssl"),
        "plaintext to a TLS port: {e}"
    );
    // SASL spoken to a listener without SASL.
    let e = metadata_error(
        config(
            &plain,
            &[
                ("security.protocol", "sasl_plaintext"),
                ("sasl.mechanisms", "PLAIN"),
                ("sasl.username", "u"),
                ("sasl.password", "p"),
            ],
        ),
        Duration::from_secs(6),
    )
    .await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
}

#[test]
fn unusable_tls_files_fail_construction_naming_the_property() {
    let base = || {
        ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", "ssl")
    };
    let e = AdminClient::new(&base().set("ssl.ca.location", "/nonexistent/ca.pem")).unwrap_err();
    assert!(e.message().contains("ssl.ca.location"), "{e}");
    let e = AdminClient::new(&base().set("ssl.cipher.suites", "HIGH")).unwrap_err();
    assert!(e.message().contains("ssl.cipher.suites"), "{e}");
    let pki = good_pki();
    let e = AdminClient::new(
        &base()
            .set("ssl.ca.pem", &pki.ca_pem)
            .set("ssl.certificate.pem", &pki.cert_pem),
    )
    .unwrap_err();
    assert!(e.message().contains("ssl.key"), "{e}");
    // The key never shows in an error.
    let e = AdminClient::new(
        &base()
            .set("ssl.ca.pem", &pki.ca_pem)
            .set("ssl.certificate.pem", &pki.cert_pem)
            .set(
                "ssl.key.pem",
                "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleQ==\n-----END PRIVATE KEY-----\n",
            ),
    );
    if let Err(e) = e {
        assert!(!e.to_string().contains("c2VjcmV0"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_broker_certificate_is_refused_with_ssl_crl_location() {
    use rcgen::{
        CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams,
        SerialNumber,
    };
    let (ca, ca_key) = ca();
    let leaf_with = |serial: u64| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        p.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        p.serial_number = Some(SerialNumber::from(serial));
        (
            p.signed_by(&key, &ca, &ca_key).unwrap().pem(),
            key.serialize_pem(),
        )
    };
    let (revoked_cert, revoked_key) = leaf_with(42);
    let (good_cert, good_key) = leaf_with(43);
    let crl = CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2099, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(42u64),
            revocation_time: rcgen::date_time_ymd(2024, 1, 1),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca, &ca_key)
    .unwrap();
    let file = std::env::temp_dir().join(format!("ferrokafka-crl-{}.pem", std::process::id()));
    std::fs::write(&file, crl.pem().unwrap()).unwrap();
    let ca_pem = ca.pem();
    let props = [
        ("security.protocol", "ssl"),
        ("ssl.ca.pem", ca_pem.as_str()),
        ("ssl.crl.location", file.to_str().unwrap()),
    ];
    let bad = cluster(MockCluster::builder().tls(&revoked_cert, &revoked_key)).await;
    let e = metadata_error(config(&bad, &props), Duration::from_secs(2)).await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{e}");
    assert!(e.message().contains("revoked"), "{e}");
    let good = cluster(MockCluster::builder().tls(&good_cert, &good_key)).await;
    AdminClient::new(&config(&good, &props))
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    let _ = std::fs::remove_file(&file);
}

/// `key_pem` as an encrypted PKCS#8 PEM (PBES2: PBKDF2-SHA256 + AES-256-CBC).
fn encrypt_key(key_pem: &str, password: &str) -> String {
    use pkcs8::der::Decode;
    let (_, doc) = pkcs8::der::Document::from_pem(key_pem.trim()).unwrap();
    let info = pkcs8::PrivateKeyInfo::from_der(doc.as_bytes()).unwrap();
    // PBKDF2 rather than pkcs8's default scrypt keeps the debug build quick.
    let salt: [u8; 16] = rand::random();
    let iv: [u8; 16] = rand::random();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv).unwrap();
    let enc = info
        .encrypt_with_params(params, password.as_bytes())
        .unwrap();
    enc.to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_an_encrypted_pkcs8_key_and_ssl_key_password() {
    let pki = good_pki();
    let (client_cert, client_key) = leaf(&pki.ca, &pki.ca_key, &["client"], false);
    let encrypted = encrypt_key(&client_key, "key-pass");
    let dir = std::env::temp_dir().join(format!("ferrokafka-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("client.key");
    std::fs::write(&key_file, &encrypted).unwrap();
    let c =
        cluster(MockCluster::builder().tls_client_auth(&pki.cert_pem, &pki.key_pem, &pki.ca_pem))
            .await;
    let base = [
        ("security.protocol", "ssl"),
        ("ssl.ca.pem", pki.ca_pem.as_str()),
        ("ssl.certificate.pem", client_cert.as_str()),
        ("ssl.key.location", key_file.to_str().unwrap()),
    ];
    let mut props = base.to_vec();
    props.push(("ssl.key.password", "key-pass"));
    round_trip(&c, &props, "mtls-encrypted", 5).await;
    // Without the password, or with a wrong one: refused at construction,
    // naming the property, quoting neither key nor password.
    let e = AdminClient::new(&config(&c, &base)).unwrap_err();
    assert!(e.message().contains("ssl.key.password"), "{e}");
    let mut wrong = base.to_vec();
    wrong.push(("ssl.key.password", "not-the-pass"));
    let e = AdminClient::new(&config(&c, &wrong)).unwrap_err();
    assert!(e.message().contains("cannot decrypt"), "{e}");
    assert!(!e.to_string().contains("not-the-pass"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_tokens_from_an_application_provider() {
    use base64::Engine;
    use ferrokafka::net::sasl::OAuthToken;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let c = cluster(MockCluster::builder().sasl_user("unused", "x")).await;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let jwt = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none"}"#),
        b64.encode(format!(r#"{{"sub":"erin","exp":{exp}}}"#))
    );
    let cfg = config(
        &c,
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
        ],
    );
    let with_provider = cfg.clone().set_oauthbearer_token_provider(move || {
        Ok(
            OAuthToken::new(jwt.clone(), "erin", Duration::from_secs(600))
                .extension("tenant", "t9"),
        )
    });
    AdminClient::new(&with_provider)
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    let a = c.authentications();
    assert!(
        a.iter()
            .any(|a| a.principal == "erin"
                && a.extensions == [("tenant".to_string(), "t9".to_string())]),
        "{a:?}"
    );
    // A provider that fails: the authentication fails with its message.
    let failing = cfg.set_oauthbearer_token_provider(|| {
        Err(ferrokafka::Error::new(
            ErrorCode::Fail,
            "identity service down",
        ))
    });
    let e = metadata_error(failing, Duration::from_secs(2)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("identity service down"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_re_authenticated_before_they_expire() {
    // KIP-368: the broker states a session lifetime; the client must
    // authenticate again on the same socket before it ends, or the broker
    // closes the connection (the mock counts those).
    let c = cluster(
        MockCluster::builder()
            .sasl_user("alice", "pw")
            .sasl_session_lifetime(Duration::from_millis(600)),
    )
    .await;
    c.create_topic("reauth", 1, 1).unwrap();
    let props = [
        ("security.protocol", "sasl_plaintext"),
        ("sasl.mechanisms", "SCRAM-SHA-256"),
        ("sasl.username", "alice"),
        ("sasl.password", "pw"),
    ];
    let p = Producer::new(&config(&c, &props).set("linger.ms", "0").set("retries", "0")).unwrap();
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(2500) {
        let d = p
            .send(ProducerRecord::new("reauth".to_string()).value(format!("{n}")))
            .unwrap();
        timeout(Duration::from_secs(5), d)
            .await
            .expect("delivered within 5 s")
            .unwrap_or_else(|e| panic!("record {n} failed: {e:?}"));
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.expired_sessions(), 0, "a session ran out");
    let auths = c.authentications().len();
    // Two connections (metadata, produce) over four lifetimes: each
    // authenticated several times.
    assert!(auths >= 6, "{auths} authentications for {n} records");
    assert_eq!(c.high_watermark("reauth", 0), Some(n));
}

/// A PKCS#12 keystore holding `key_pem` with `chain_pem` (the client's
/// certificate first), encrypted with `password`; `legacy` uses the 3DES
/// and HMAC-SHA1 schemes of older keytool and OpenSSL versions instead of
/// PBES2/AES-256 with HMAC-SHA256.
fn keystore(chain_pem: &[&str], key_pem: &str, password: &str, legacy: bool) -> Vec<u8> {
    use p12_keystore::{
        Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKeyChain,
    };
    use rustls_pki_types::pem::PemObject;
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let chain: Vec<Certificate> = chain_pem
        .iter()
        .map(|pem| {
            let der = rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
            Certificate::from_der(&der).unwrap()
        })
        .collect();
    let mut store = KeyStore::new();
    store.add_entry(
        "client",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            key.secret_pkcs8_der(),
            b"client-key-1",
            chain,
        )),
    );
    let mut w = store
        .writer(password)
        .encryption_iterations(2048)
        .mac_iterations(2048);
    if legacy {
        w = w
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .mac_algorithm(MacAlgorithm::HmacSha1);
    }
    w.write().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_pkcs12_keystore() {
    let pki = good_pki();
    let (client_cert, client_key) = leaf(&pki.ca, &pki.ca_key, &["client"], false);
    let dir = std::env::temp_dir().join(format!("ferrokafka-p12-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let modern = dir.join("client.p12");
    let legacy = dir.join("client-legacy.p12");
    let chain = [client_cert.as_str(), pki.ca_pem.as_str()];
    std::fs::write(&modern, keystore(&chain, &client_key, "store-pass", false)).unwrap();
    std::fs::write(&legacy, keystore(&chain, &client_key, "store-pass", true)).unwrap();
    let c =
        cluster(MockCluster::builder().tls_client_auth(&pki.cert_pem, &pki.key_pem, &pki.ca_pem))
            .await;
    let props = |file: &std::path::Path, password: &'static str| {
        vec![
            ("security.protocol", "ssl"),
            ("ssl.ca.pem", pki.ca_pem.as_str()),
            ("ssl.keystore.location", file.to_str().unwrap()),
            ("ssl.keystore.password", password),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect::<Vec<_>>()
    };
    let modern_props = props(&modern, "store-pass");
    let modern_refs: Vec<(&str, &str)> =
        modern_props.iter().map(|(k, v)| (*k, v.as_str())).collect();
    round_trip(&c, &modern_refs, "mtls-p12", 5).await;
    let legacy_props = props(&legacy, "store-pass");
    let legacy_refs: Vec<(&str, &str)> =
        legacy_props.iter().map(|(k, v)| (*k, v.as_str())).collect();
    AdminClient::new(&config(&c, &legacy_refs))
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();

    // A wrong password: refused at construction, naming it, quoting
    // neither it nor the key.
    let wrong = props(&modern, "wrong-pass-77");
    let wrong_refs: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let e = AdminClient::new(&config(&c, &wrong_refs)).unwrap_err();
    assert!(e.message().contains("ssl.keystore.password"), "{e}");
    assert!(e.message().contains("wrong password"), "{e}");
    assert!(!e.to_string().contains("wrong-pass-77"), "{e}");
    // Not a keystore.
    let junk = dir.join("junk.p12");
    std::fs::write(&junk, b"not a keystore").unwrap();
    let j = props(&junk, "store-pass");
    let j_refs: Vec<(&str, &str)> = j.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let e = AdminClient::new(&config(&c, &j_refs)).unwrap_err();
    assert!(e.message().contains("ssl.keystore.location"), "{e}");
    assert!(e.message().contains("PKCS#12"), "{e}");
    // A keystore and a PEM key: one way only.
    let mut both = modern_refs.clone();
    both.push(("ssl.key.pem", client_key.as_str()));
    let e = AdminClient::new(&config(&c, &both)).unwrap_err();
    assert!(e.message().contains("ssl.key.pem"), "{e}");
    assert!(e.message().contains("ssl.keystore.location"), "{e}");
    // A password without a keystore.
    let e = AdminClient::new(&config(
        &c,
        &[
            ("security.protocol", "ssl"),
            ("ssl.keystore.password", "store-pass"),
        ],
    ))
    .unwrap_err();
    assert!(e.message().contains("ssl.keystore.password"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cipher_suites_groups_and_signature_algorithms_are_honoured() {
    // The mock's certificates (rcgen's default) are ECDSA P-256.
    let pki = good_pki();
    let (client_cert, client_key) = leaf(&pki.ca, &pki.ca_key, &["client"], false);
    let c =
        cluster(MockCluster::builder().tls_client_auth(&pki.cert_pem, &pki.key_pem, &pki.ca_pem))
            .await;
    let base = [
        ("security.protocol", "ssl"),
        ("ssl.ca.pem", pki.ca_pem.as_str()),
        ("ssl.certificate.pem", client_cert.as_str()),
        ("ssl.key.pem", client_key.as_str()),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p: Vec<(&str, &str)> = base.to_vec();
        p.extend_from_slice(extra);
        config(&c, &p)
    };
    // Usable settings, by OpenSSL's names: a TLS 1.3 suite; a TLS 1.2
    // ECDSA suite; one group; the ECDSA P-256 signature for both sides.
    for extra in [
        &[("ssl.cipher.suites", "TLS_AES_256_GCM_SHA384")][..],
        &[("ssl.cipher.suites", "ECDHE-ECDSA-AES128-GCM-SHA256")],
        &[("ssl.cipher.suites", "ECDHE-ECDSA-CHACHA20-POLY1305")],
        &[("ssl.curves.list", "secp384r1")],
        &[("ssl.sigalgs.list", "ECDSA+SHA256")],
        &[
            ("ssl.sigalgs.list", "ecdsa_secp256r1_sha256"),
            ("ssl.cipher.suites", "ECDHE-ECDSA-AES256-GCM-SHA384"),
        ],
    ] {
        AdminClient::new(&with(extra))
            .unwrap()
            .metadata(None, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{extra:?}: {e}"));
    }
    // Settings the broker's ECDSA certificate cannot meet: the lists are
    // really what is offered, so the handshake fails.
    for extra in [
        &[("ssl.cipher.suites", "ECDHE-RSA-AES128-GCM-SHA256")][..],
        &[("ssl.sigalgs.list", "RSA-PSS+SHA256:RSA+SHA256")],
        &[("ssl.sigalgs.list", "ECDSA+SHA384")],
    ] {
        let e = metadata_error(with(extra), Duration::from_secs(3)).await;
        assert_eq!(e.code(), ErrorCode::Ssl, "{extra:?}: {e}");
        eprintln!("{extra:?}: {e}");
    }
    // Names rustls has no algorithm for: refused at construction, naming
    // the value.
    for (name, value) in [
        ("ssl.cipher.suites", "AES128-SHA"),
        ("ssl.curves.list", "X448"),
        ("ssl.sigalgs.list", "RSA+SHA1"),
    ] {
        let e = AdminClient::new(&with(&[(name, value)])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArg, "{e}");
        assert!(e.message().contains(name), "{e}");
        assert!(e.message().contains(&format!("{value:?}")), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_names_the_broker_by_host_name_and_is_absent_for_ip_addresses() {
    let pki = good_pki();
    let c = cluster(MockCluster::builder().tls(&pki.cert_pem, &pki.key_pem)).await;
    let port = c
        .bootstrap_servers()
        .split(',')
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let props = |bootstrap: String| {
        config(
            &c,
            &[("security.protocol", "ssl"), ("ssl.ca.pem", &pki.ca_pem)],
        )
        .set("bootstrap.servers", bootstrap)
    };
    AdminClient::new(&props(format!("localhost:{port}")))
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    let names = c.tls_server_names();
    assert_eq!(
        names.first(),
        Some(&Some("localhost".to_string())),
        "by host name: {names:?}"
    );
    // RFC 6066 allows no IP address in SNI: a broker reached by address
    // gets none (the certificate's IP SAN is what is verified).
    let before = names.len();
    AdminClient::new(&props(format!("127.0.0.1:{port}")))
        .unwrap()
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    let names = c.tls_server_names();
    assert!(names.len() > before, "{names:?}");
    assert!(
        names[before..].iter().all(Option::is_none),
        "by IP address: {names:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_password_is_retried_at_the_reconnect_backoff_not_in_a_tight_loop() {
    let c = cluster(MockCluster::builder().sasl_user("alice", "right")).await;
    c.create_topic("t-backoff", 1, 1).unwrap();
    let props = [
        ("security.protocol", "sasl_plaintext"),
        ("sasl.mechanisms", "SCRAM-SHA-256"),
        ("sasl.username", "alice"),
        ("sasl.password", "wrong"),
    ];
    // Backoff from 100 ms doubling to 1 s: over three seconds a
    // connection tries about six times. A consumer polling throughout
    // and a producer with a record pending keep asking for connections.
    let cfg = config(&c, &props)
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "1000");
    let consumer = Consumer::new(&cfg).unwrap();
    consumer
        .assign(&[("t-backoff", 0, Offset::Beginning)])
        .unwrap();
    let p = Producer::new(&cfg.clone().set("message.timeout.ms", "60000")).unwrap();
    let d = p
        .send(ProducerRecord::new("t-backoff".to_string()).value("x"))
        .unwrap();
    let t0 = Instant::now();
    let mut events = 0;
    while t0.elapsed() < Duration::from_secs(3) {
        if let Ok(r) = timeout(Duration::from_millis(200), consumer.recv()).await {
            let e = r.expect_err("no message can arrive");
            assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
            events += 1;
            assert!(events < 1000, "error events in a tight loop");
        }
    }
    let err = timeout(Duration::from_secs(5), d)
        .await
        .expect("the delivery failed within 5 s")
        .expect_err("the delivery must fail");
    assert_eq!(err.error.code(), ErrorCode::Authentication, "{err:?}");
    let tries = c.failed_authentications();
    eprintln!("{tries} failed authentications, {events} error events in 3 s");
    // Two clients, each with a bootstrap and two brokers to reach: a
    // tight loop would be thousands.
    assert!(tries >= 2, "{tries} attempts");
    assert!(tries <= 60, "{tries} authentication attempts in 3 s");
}

/// Every log line of this test binary at TRACE, once installed.
fn captured_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex, OnceLock};
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || Sink(sink.clone()))
            .with_ansi(false)
            .try_init();
        buf
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_reach_neither_logs_nor_debug_output_nor_errors() {
    const PASSWORD: &str = "pw-Q7x-never-shown";
    const WRONG: &str = "wrong-Q7x-never-shown";
    const KEY_PASS: &str = "kp-Q7x-never-shown";
    let logs = captured_logs();
    let pki = good_pki();
    let (client_cert, client_key) = leaf(&pki.ca, &pki.ca_key, &["client"], false);
    let encrypted = encrypt_key(&client_key, KEY_PASS);
    // A line of each key's base64 body.
    let body = |pem: &str| pem.lines().nth(1).unwrap().to_string();
    let secrets = [
        PASSWORD.to_string(),
        WRONG.to_string(),
        KEY_PASS.to_string(),
        body(&encrypted),
        body(&client_key),
    ];
    let c = cluster(
        MockCluster::builder()
            .tls_client_auth(&pki.cert_pem, &pki.key_pem, &pki.ca_pem)
            .sasl_user("alice", PASSWORD),
    )
    .await;
    c.create_topic("t-secrets", 1, 1).unwrap();
    let mut shown = String::new();
    for mech in ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
        for password in [PASSWORD, WRONG] {
            let cfg = config(
                &c,
                &[
                    ("security.protocol", "sasl_ssl"),
                    ("ssl.ca.pem", &pki.ca_pem),
                    ("ssl.certificate.pem", &client_cert),
                    ("ssl.key.pem", &encrypted),
                    ("ssl.key.password", KEY_PASS),
                    ("sasl.mechanisms", mech),
                    ("sasl.username", "alice"),
                    ("sasl.password", password),
                    // Every debug context, the configuration dump included:
                    // none may show a secret.
                    ("debug", "all"),
                ],
            );
            let admin = AdminClient::new(&cfg).unwrap();
            let r = admin.metadata(None, Duration::from_secs(3)).await;
            assert_eq!(r.is_ok(), password == PASSWORD, "{mech}: {r:?}");
            let p = Producer::new(&cfg.clone().set("message.timeout.ms", "5000")).unwrap();
            let d = p
                .send(ProducerRecord::new("t-secrets".to_string()).value("x"))
                .unwrap();
            let delivery = timeout(Duration::from_secs(10), d).await.expect("settled");
            assert_eq!(delivery.is_ok(), password == PASSWORD, "{mech}");
            let consumer = Consumer::new(&cfg.clone().set("group.id", "g")).unwrap();
            shown += &format!("{cfg:?}\n{cfg:#?}\n{admin:?}\n{admin:#?}\n{p:?}\n{consumer:?}\n");
            shown += &format!("{r:?}\n{delivery:?}\n");
            if let Err(e) = &r {
                shown += &format!("{e}\n");
            }
        }
    }
    for s in &secrets {
        assert!(!shown.contains(s.as_str()), "{s:?} shown in:\n{shown}");
    }
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.contains("ferrokafka"),
        "the client's logs were captured"
    );
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "{s:?} logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "failed 1 run in 4 at load average 13-17: a produce request failed with \
            the mock closing the connection (cause not yet found: a request read \
            after the 700 ms session ended, or a bug); run with --ignored"]
async fn re_authentication_under_pipelined_load_fails_no_request_in_flight() {
    // Requests pipelined (up to max.in.flight per connection) and a
    // consumer's long-polling fetches are in flight whenever a session
    // comes due: each connection stops writing, lets them complete, then
    // authenticates again. Nothing may fail (retries=0), no session may
    // run out, and the consumer sees every record once, in order.
    let pki = good_pki();
    let c = cluster(
        MockCluster::builder()
            .tls(&pki.cert_pem, &pki.key_pem)
            .sasl_user("alice", "pw")
            .sasl_session_lifetime(Duration::from_millis(700)),
    )
    .await;
    c.create_topic("reauth-load", 1, 1).unwrap();
    let props = [
        ("security.protocol", "sasl_ssl"),
        ("sasl.mechanisms", "SCRAM-SHA-512"),
        ("sasl.username", "alice"),
        ("sasl.password", "pw"),
    ];
    let props = &props[..];
    let cfg = config(&c, props).set("ssl.ca.pem", &pki.ca_pem);
    let p = Producer::new(
        &cfg.clone()
            .set("linger.ms", "0")
            .set("retries", "0")
            .set("max.in.flight.requests.per.connection", "5")
            .set("message.timeout.ms", "10000"),
    )
    .unwrap();
    let consumer = Consumer::new(&cfg.clone().set("fetch.wait.max.ms", "300")).unwrap();
    consumer
        .assign(&[("reauth-load", 0, Offset::Beginning)])
        .unwrap();
    let reader = async {
        let mut got = 0i64;
        let until = Instant::now() + Duration::from_secs(20);
        // Reads all 3000 records the writer sends.
        loop {
            assert!(Instant::now() < until, "read {got} within 20 s");
            match timeout(Duration::from_millis(500), consumer.recv()).await {
                Ok(Ok(m)) => {
                    assert_eq!(m.offset, got, "in order, once");
                    got += 1;
                }
                Ok(Err(e)) if e.is_eof() => {}
                Ok(Err(e)) => panic!("consumer error after {got}: {e}"),
                Err(_) => {}
            }
            if got >= 3000 {
                return got;
            }
        }
    };
    let writer = async {
        let t0 = Instant::now();
        let mut n = 0;
        let mut pending = Vec::new();
        // Bursts of 25 unawaited records every 20 ms for about 2.5 s (four
        // session lifetimes), then the rest of 3000 at once.
        while n < 3000 {
            let burst = if t0.elapsed() < Duration::from_millis(2500) {
                25
            } else {
                3000 - n
            };
            for _ in 0..burst {
                pending.push(
                    p.send(
                        ProducerRecord::new("reauth-load".to_string())
                            .partition(0)
                            .value(format!("{n}")),
                    )
                    .unwrap(),
                );
                n += 1;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (i, d) in pending.into_iter().enumerate() {
            timeout(Duration::from_secs(10), d)
                .await
                .expect("settled within 10 s")
                .unwrap_or_else(|e| {
                    panic!(
                        "record {i} failed ({} sessions expired): {e:?}",
                        c.expired_sessions()
                    )
                });
        }
        t0.elapsed()
    };
    let (got, took) = tokio::join!(reader, writer);
    assert_eq!(got, 3000);
    assert_eq!(c.expired_sessions(), 0, "a session ran out");
    let auths = c.authentications().len();
    eprintln!("{auths} authentications over {took:?}");
    // Producer, consumer and their bootstrap connections, each several
    // lifetimes long.
    assert!(auths >= 8, "{auths} authentications");
    assert_eq!(c.high_watermark("reauth-load", 0), Some(3000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_token_provider_is_awaited_and_asked_again_at_eighty_percent() {
    use base64::Engine;
    use ferrokafka::net::sasl::OAuthToken;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    // Sessions of 500 ms make each connection authenticate again about
    // every 425 ms; tokens of 1 s are kept until 800 ms, so the provider is
    // asked about once a second, not at every authentication.
    let c = cluster(
        MockCluster::builder()
            .sasl_user("unused", "x")
            .sasl_session_lifetime(Duration::from_millis(500)),
    )
    .await;
    c.create_topic("oauth-async", 1, 1).unwrap();
    let calls = Arc::new(AtomicU32::new(0));
    let counted = calls.clone();
    let cfg = config(
        &c,
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
        ],
    )
    .set_oauthbearer_token_provider_async(move || {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        async move {
            // An identity service's answer takes a while.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let exp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                // The claim has whole seconds: past the 1 s lifetime.
                + 2;
            let jwt = format!(
                "{}.{}.",
                b64.encode(br#"{"alg":"none"}"#),
                b64.encode(format!(r#"{{"sub":"frank","exp":{exp}}}"#))
            );
            Ok(OAuthToken::new(jwt, "frank", Duration::from_secs(1)).extension("n", n.to_string()))
        }
    });
    let p = Producer::new(&cfg.clone().set("linger.ms", "0").set("retries", "0")).unwrap();
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(2600) {
        let d = p
            .send(
                ProducerRecord::new("oauth-async".to_string())
                    .partition(0)
                    .value(format!("{n}")),
            )
            .unwrap();
        timeout(Duration::from_secs(5), d)
            .await
            .expect("delivered within 5 s")
            .unwrap_or_else(|e| panic!("record {n} failed: {e:?}"));
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.expired_sessions(), 0, "a session ran out");
    let auths = c.authentications();
    let calls = calls.load(Ordering::SeqCst);
    eprintln!("{} authentications, {calls} tokens asked for", auths.len());
    assert!(auths.iter().all(|a| a.principal == "frank"), "{auths:?}");
    // Tokens were renewed (the extension counts them) ...
    let distinct: std::collections::BTreeSet<_> =
        auths.iter().map(|a| a.extensions.clone()).collect();
    assert!(distinct.len() >= 3, "{distinct:?}");
    assert!(
        calls as usize == distinct.len(),
        "{calls} calls, {distinct:?}"
    );
    // ... but not asked for at each authentication: one token serves the
    // client's connections and their re-authentications until 80%.
    assert!(
        (calls as usize) < auths.len(),
        "{calls} calls for {} authentications",
        auths.len()
    );
    // A failing async provider fails the authentication with its message.
    let failing = config(
        &c,
        &[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
        ],
    )
    .set_oauthbearer_token_provider_async(|| async {
        Err(ferrokafka::Error::new(
            ErrorCode::Fail,
            "identity service unreachable",
        ))
    });
    let e = metadata_error(failing, Duration::from_secs(2)).await;
    assert_eq!(e.code(), ErrorCode::Authentication, "{e}");
    assert!(e.message().contains("identity service unreachable"), "{e}");
}
