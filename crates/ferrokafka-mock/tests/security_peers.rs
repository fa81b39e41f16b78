//! librdkafka (confluent-kafka) as a client of the mock's TLS and SASL
//! listeners: SSL, SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256 and
//! SCRAM-SHA-512 round trips, and a wrong password reported as
//! `_AUTHENTICATION`; kafka-python over SSL, SASL_PLAINTEXT and SASL_SSL
//! with PLAIN and SCRAM. That a client nobody here wrote gets through proves
//! the mock speaks Kafka's TLS and SASL, not just ferrokafka's dialect.
//!
//! Without the peer the test prints why and skips, unless
//! `FERROKAFKA_REQUIRE_PEERS=1`.

use std::path::PathBuf;
use std::time::Duration;

use ferrokafka_mock::MockCluster;
use ferrokafka_peers::{python_with, run_bounded};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};

/// A CA (PEM) and a broker certificate and key for 127.0.0.1 and localhost.
fn pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "mock security peers CA");
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn confluent_kafka_over_ssl_and_sasl() {
    let Some(python) = python_with(&["confluent_kafka"]) else {
        return;
    };
    let (ca, cert, key) = pki();
    let dir = std::env::temp_dir().join(format!("ferrokafka-mock-sec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let ca_path = ca_file.to_str().unwrap();
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "peers",
        "security_confluent.py",
    ]
    .iter()
    .collect();
    let ssl = MockCluster::builder()
        .brokers(2)
        .tls(&cert, &key)
        .build_blocking()
        .unwrap();
    let sasl = MockCluster::builder()
        .brokers(2)
        .sasl_user("alice", "alice-pw")
        .build_blocking()
        .unwrap();
    let sasl_ssl = MockCluster::builder()
        .brokers(2)
        .tls(&cert, &key)
        .sasl_user("alice", "alice-pw")
        .build_blocking()
        .unwrap();
    let cases: Vec<(&MockCluster, &str, &str, &str, &str, &str)> = vec![
        (&ssl, "SSL", ca_path, "-", "-", "good"),
        (&sasl, "SASL_PLAINTEXT", "-", "PLAIN", "alice-pw", "good"),
        (
            &sasl,
            "SASL_PLAINTEXT",
            "-",
            "SCRAM-SHA-256",
            "alice-pw",
            "good",
        ),
        (
            &sasl_ssl,
            "SASL_SSL",
            ca_path,
            "SCRAM-SHA-512",
            "alice-pw",
            "good",
        ),
        (
            &sasl,
            "SASL_PLAINTEXT",
            "-",
            "SCRAM-SHA-256",
            "wrong",
            "badpass",
        ),
        (&sasl_ssl, "SASL_SSL", ca_path, "OAUTHBEARER", "-", "good"),
    ];
    for (i, (cluster, protocol, ca, mech, password, mode)) in cases.into_iter().enumerate() {
        let topic = format!("sec-{i}");
        let out = run_bounded(
            python.command().arg(&script).args([
                &cluster.bootstrap_servers(),
                protocol,
                ca,
                mech,
                "alice",
                password,
                &topic,
                mode,
            ]),
            Duration::from_secs(90),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("PASS"),
            "{protocol} {mech} {mode} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        );
    }
    let mechs: Vec<String> = sasl
        .authentications()
        .into_iter()
        .map(|a| a.mechanism)
        .collect();
    assert!(mechs.iter().any(|m| m == "PLAIN"), "{mechs:?}");
    assert!(mechs.iter().any(|m| m == "SCRAM-SHA-256"), "{mechs:?}");
    let auths = sasl_ssl.authentications();
    assert!(
        auths.iter().any(|a| a.mechanism == "OAUTHBEARER"
            && a.principal == "alice"
            && a.extensions == [("traceId".to_string(), "lib".to_string())]),
        "{auths:?}"
    );
    assert!(sasl_ssl
        .authentications()
        .iter()
        .any(|a| a.mechanism == "SCRAM-SHA-512" && a.principal == "alice"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kafka_python_over_ssl_sasl_plaintext_and_sasl_ssl() {
    let Some(python) = python_with(&["kafka"]) else {
        return;
    };
    let (ca, cert, key) = pki();
    let dir = std::env::temp_dir().join(format!("ferrokafka-mock-kp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let ca_path = ca_file.to_str().unwrap();
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "peers",
        "security_kafka_python.py",
    ]
    .iter()
    .collect();
    let ssl = MockCluster::builder()
        .brokers(1)
        .tls(&cert, &key)
        .build_blocking()
        .unwrap();
    let sasl = MockCluster::builder()
        .brokers(1)
        .sasl_user("kp", "kp-pw")
        .build_blocking()
        .unwrap();
    let sasl_ssl = MockCluster::builder()
        .brokers(1)
        .tls(&cert, &key)
        .sasl_user("kp", "kp-pw")
        .build_blocking()
        .unwrap();
    let cases: [(&MockCluster, &str, &str, &str); 5] = [
        (&ssl, "SSL", ca_path, "-"),
        (&sasl, "SASL_PLAINTEXT", "-", "PLAIN"),
        (&sasl, "SASL_PLAINTEXT", "-", "SCRAM-SHA-512"),
        (&sasl_ssl, "SASL_SSL", ca_path, "PLAIN"),
        (&sasl_ssl, "SASL_SSL", ca_path, "SCRAM-SHA-256"),
    ];
    for (i, (cluster, protocol, ca, mech)) in cases.into_iter().enumerate() {
        let out = run_bounded(
            python.command().arg(&script).args([
                &cluster.bootstrap_servers(),
                protocol,
                ca,
                mech,
                "kp",
                "kp-pw",
                &format!("kp-{i}"),
            ]),
            Duration::from_secs(90),
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("PASS"),
            "kafka-python {protocol} {mech} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status
        );
        if mech != "-" {
            assert!(cluster
                .authentications()
                .iter()
                .any(|a| a.mechanism == mech && a.principal == "kp"));
        }
    }
    assert!(!ssl.tls_server_names().is_empty(), "kafka-python spoke TLS");
    let _ = std::fs::remove_dir_all(&dir);
}
