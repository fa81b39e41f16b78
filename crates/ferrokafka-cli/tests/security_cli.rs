//! The CLI reaches TLS and SASL through `-X`: `ferrokafka metadata` and
//! `produce` against the mock's SASL_SSL listener, and a wrong password
//! that fails with the broker's message instead of hanging.

use ferrokafka_mock::MockCluster;
use ferrokafka_peers::run_bounded;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn pki() -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = p.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

#[test]
fn metadata_and_produce_over_sasl_ssl_with_x_options() {
    let (ca, cert, key) = pki();
    let ca_file =
        std::env::temp_dir().join(format!("ferrokafka-cli-ca-{}.pem", std::process::id()));
    std::fs::write(&ca_file, &ca).unwrap();
    let cluster = MockCluster::builder()
        .brokers(1)
        .tls(&cert, &key)
        .sasl_user("cli", "cli-pw")
        .topic("cli-sec", 1, 1)
        .build_blocking()
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let ca_opt = format!("ssl.ca.location={}", ca_file.display());
    let security = |password: &str| {
        vec![
            "-X".to_string(),
            "security.protocol=SASL_SSL".to_string(),
            "-X".to_string(),
            ca_opt.clone(),
            "-X".to_string(),
            "sasl.mechanisms=SCRAM-SHA-256".to_string(),
            "-X".to_string(),
            "sasl.username=cli".to_string(),
            "-X".to_string(),
            format!("sasl.password={password}"),
        ]
    };
    let mut args = vec!["metadata".to_string(), "-b".to_string(), bootstrap.clone()];
    args.extend(security("cli-pw"));
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka")).args(&args),
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("cli-sec"),
        "metadata failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let mut args = vec![
        "produce".to_string(),
        "-b".to_string(),
        bootstrap.clone(),
        "-t".to_string(),
        "cli-sec".to_string(),
    ];
    args.extend(security("cli-pw"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"one\ntwo\nthree\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "produce failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(cluster.high_watermark("cli-sec", 0), Some(3));

    let mut args = vec!["metadata".to_string(), "-b".to_string(), bootstrap];
    args.extend(security("wrong-pw"));
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka")).args(&args),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a wrong password must fail");
    assert!(stderr.contains("_AUTHENTICATION"), "{stderr}");
    assert!(!stderr.contains("wrong-pw"), "{stderr}");
    let _ = std::fs::remove_file(&ca_file);
}

#[test]
fn the_system_store_serves_when_no_ca_is_set_or_ssl_ca_location_is_probe() {
    // The system store is read with rustls-native-certs, which takes
    // SSL_CERT_FILE instead of the platform's store when it is set: the
    // child process's store is this test's CA, or another one.
    let (ca, cert, key) = pki();
    let (other_ca, _, _) = pki();
    let dir = std::env::temp_dir().join(format!("ferrokafka-cli-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    let other_file = dir.join("other.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    std::fs::write(&other_file, &other_ca).unwrap();
    let cluster = MockCluster::builder()
        .brokers(1)
        .tls(&cert, &key)
        .topic("cli-probe", 1, 1)
        .build_blocking()
        .unwrap();
    let metadata = |store: &std::path::Path, extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokafka"));
        cmd.args(["metadata", "-b", &cluster.bootstrap_servers()])
            .args(["-X", "security.protocol=SSL"])
            .args(["-X", "socket.connection.setup.timeout.ms=5000"])
            .env("SSL_CERT_FILE", store)
            .env_remove("SSL_CERT_DIR");
        for x in extra {
            cmd.args(["-X", x]);
        }
        run_bounded(&mut cmd, Duration::from_secs(60))
    };
    for extra in [&[][..], &["ssl.ca.location=probe"]] {
        let out = metadata(&ca_file, extra);
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("cli-probe"),
            "{extra:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let out = metadata(&other_file, extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{extra:?}: an untrusted store must fail"
        );
        assert!(stderr.contains("unknown issuer"), "{extra:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
