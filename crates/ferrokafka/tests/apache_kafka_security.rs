//! ferrokafka's TLS and SASL against Apache Kafka itself (one KRaft node
//! with PLAINTEXT, SASL_PLAINTEXT, SSL and SASL_SSL listeners, started once
//! for this binary by `ferrokafka_peers::ApacheKafka::start`): produce and
//! consume round trips over SSL, SASL_PLAINTEXT and SASL_SSL with PLAIN,
//! SCRAM-SHA-256, SCRAM-SHA-512 and unsecured OAUTHBEARER; records
//! ferrokafka wrote over SASL_SSL read by librdkafka over the same
//! listener; and the failures the real broker must produce: a wrong
//! password, an untrusted CA, a host name mismatch, TLS spoken to the
//! PLAINTEXT port and plaintext spoken to the SSL port. A second node
//! (`ApacheKafka::launch_with`) requires client certificates on its SSL
//! listener and limits SASL sessions with `connections.max.reauth.ms`:
//! mutual TLS (PEM files, and a PKCS#12 keystore), and re-authentication
//! (KIP-368) under a steady stream of produce requests and long-polling
//! fetches, with no connection lost. OIDC tokens
//! (`sasl.oauthbearer.method=oidc`) come from a token endpoint the test
//! serves on 127.0.0.1, handing out unsecured JWTs the broker's default
//! validator accepts.

mod token_endpoint;

use ferrokafka::admin::AdminClient;
use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_peers::{python_with, ApacheKafka, Python, USERS};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// Held while a node starts: the two nodes' format and start JVMs one
/// after the other rather than four JVMs at once on a small machine.
static LAUNCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn peers() -> Option<(&'static ApacheKafka, Python)> {
    let kafka = {
        let _one_at_a_time = LAUNCH.lock().unwrap_or_else(|e| e.into_inner());
        ApacheKafka::start()?
    };
    let py = python_with(&["confluent_kafka"])?;
    Some((kafka, py))
}

/// How long the strict node's SASL sessions last.
const REAUTH_MS: u64 = 3000;

/// The second node: `ssl.client.auth=required` on its SSL listener and
/// SASL sessions of [`REAUTH_MS`]; started on first use, once per binary.
fn strict_node() -> Option<&'static ApacheKafka> {
    static STRICT: OnceLock<Option<ApacheKafka>> = OnceLock::new();
    let _one_at_a_time = LAUNCH.lock().unwrap_or_else(|e| e.into_inner());
    STRICT
        .get_or_init(|| {
            ApacheKafka::launch_with(
                1,
                &[
                    ("listener.name.ssl.ssl.client.auth", "required"),
                    ("connections.max.reauth.ms", &REAUTH_MS.to_string()),
                ],
            )
        })
        .as_ref()
}

/// Client settings for `listener` (`SSL`, `SASL_PLAINTEXT`, `SASL_SSL`)
/// at `addr`, with `mechanism` as the first user of [`USERS`] and
/// `password` (the right one unless a test says otherwise).
fn config(
    kafka: &ApacheKafka,
    addr: &str,
    listener: &str,
    mechanism: Option<&str>,
    password: &str,
) -> ClientConfig {
    let mut c = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("security.protocol", listener)
        .set("socket.connection.setup.timeout.ms", "10000")
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "1000");
    if listener.contains("SSL") {
        c = c.set("ssl.ca.location", kafka.ca_pem().display().to_string());
    }
    match mechanism {
        Some("OAUTHBEARER") => {
            c = c
                .set("sasl.mechanisms", "OAUTHBEARER")
                .set("enable.sasl.oauthbearer.unsecure.jwt", "true")
                .set(
                    "sasl.oauthbearer.config",
                    format!("principal={} lifeSeconds=600", USERS[0].0),
                );
        }
        Some(m) => {
            c = c
                .set("sasl.mechanisms", m)
                .set("sasl.username", USERS[0].0)
                .set("sasl.password", password);
        }
        None => {}
    }
    c
}

/// Produces `n` records to partition 0 of `topic` and reads them back from
/// the beginning, in order, over the same settings.
async fn round_trip(c: &ClientConfig, topic: &str, n: usize) {
    let p = Producer::new(
        &c.clone()
            .set("linger.ms", "5")
            .set("message.timeout.ms", "30000"),
    )
    .unwrap_or_else(|e| panic!("{topic}: producer: {e}"));
    let mut deliveries = Vec::new();
    for i in 0..n {
        let r = ProducerRecord::new(topic.to_string())
            .partition(0)
            .key(format!("k{i}"))
            .value(format!("{topic}-v{i}"));
        deliveries.push(p.send(r).expect("queued"));
    }
    for (i, d) in deliveries.into_iter().enumerate() {
        let md = match timeout(Duration::from_secs(30), d).await {
            Ok(Ok(md)) => md,
            Ok(Err(e)) => panic!("{topic}: record {i}: {e:?}"),
            Err(_) => panic!("{topic}: record {i} not delivered within 30 s"),
        };
        assert_eq!(md.offset, i as i64, "{topic}: offsets of a fresh topic");
    }
    p.flush(Duration::from_secs(10)).expect("flush");
    let consumer = Consumer::new(&c.clone().set("fetch.wait.max.ms", "100"))
        .unwrap_or_else(|e| panic!("{topic}: consumer: {e}"));
    consumer.assign(&[(topic, 0, Offset::Beginning)]).unwrap();
    let mut got = Vec::new();
    let until = Instant::now() + Duration::from_secs(30);
    while got.len() < n {
        assert!(
            Instant::now() < until,
            "{topic}: read {} of {n} within 30 s",
            got.len()
        );
        match timeout(Duration::from_secs(10), consumer.recv()).await {
            Ok(Ok(m)) => got.push((
                m.offset,
                String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                String::from_utf8_lossy(m.value().unwrap_or_default()).into_owned(),
            )),
            Ok(Err(e)) if e.is_eof() => {}
            Ok(Err(e)) => panic!("{topic}: consumer error: {e}"),
            Err(_) => {}
        }
    }
    let want: Vec<_> = (0..n)
        .map(|i| (i as i64, format!("k{i}"), format!("{topic}-v{i}")))
        .collect();
    assert_eq!(got, want, "{topic}: read back what was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_over_every_secured_listener_and_mechanism() {
    let Some((kafka, py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    let cases: [(&str, &str, Option<&str>); 9] = [
        ("SSL", &l.ssl, None),
        ("SASL_PLAINTEXT", &l.sasl_plaintext, Some("PLAIN")),
        ("SASL_PLAINTEXT", &l.sasl_plaintext, Some("SCRAM-SHA-256")),
        ("SASL_PLAINTEXT", &l.sasl_plaintext, Some("SCRAM-SHA-512")),
        ("SASL_PLAINTEXT", &l.sasl_plaintext, Some("OAUTHBEARER")),
        ("SASL_SSL", &l.sasl_ssl, Some("PLAIN")),
        ("SASL_SSL", &l.sasl_ssl, Some("SCRAM-SHA-256")),
        ("SASL_SSL", &l.sasl_ssl, Some("SCRAM-SHA-512")),
        ("SASL_SSL", &l.sasl_ssl, Some("OAUTHBEARER")),
    ];
    for (listener, addr, mechanism) in cases {
        let topic = format!(
            "sec-{}-{}",
            listener.to_lowercase().replace('_', "-"),
            mechanism.unwrap_or("tls").to_lowercase()
        );
        kafka.create_topic(&topic, 1, 1, &[]);
        let c = config(kafka, addr, listener, mechanism, USERS[0].1);
        round_trip(&c, &topic, 10).await;
    }

    // librdkafka reads, over the same SASL_SSL listener with SCRAM-SHA-512,
    // what ferrokafka wrote there.
    const SCRIPT: &str = r#"
import sys, time
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
addr, ca, user, password, topic, n = sys.argv[1:7]
c = Consumer({"bootstrap.servers": addr, "security.protocol": "SASL_SSL", "ssl.ca.location": ca,
              "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": user, "sasl.password": password,
              "group.id": "librdkafka-reader", "enable.auto.commit": False})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
got, deadline = 0, time.time() + 30
while got < int(n) and time.time() < deadline:
    m = c.poll(1.0)
    if m is None:
        continue
    if m.error():
        raise SystemExit("consumer error: %s" % m.error())
    print(m.offset(), m.key().decode(), m.value().decode())
    got += 1
c.close()
"#;
    let topic = "sec-sasl-ssl-scram-sha-512";
    let ca = kafka.ca_pem().display().to_string();
    let out = py.run_ok(
        SCRIPT,
        &[&l.sasl_ssl, &ca, USERS[0].0, USERS[0].1, topic, "10"],
    );
    let want: String = (0..10)
        .map(|i| format!("{i} k{i} {topic}-v{i}\n"))
        .collect();
    assert_eq!(
        out, want,
        "librdkafka over SASL_SSL read what ferrokafka wrote"
    );
}

/// The error a metadata call over `c` gets; it must come within `bound`,
/// well below the 20 s the call allows.
async fn metadata_error(c: &ClientConfig, bound: Duration) -> ferrokafka::Error {
    let admin = AdminClient::new(c).unwrap();
    let t0 = Instant::now();
    let e = admin
        .metadata(None, Duration::from_secs(20))
        .await
        .expect_err("metadata must fail");
    assert!(
        t0.elapsed() < bound,
        "failed after {:?}, bound {bound:?}: {e}",
        t0.elapsed()
    );
    eprintln!("{:?} after {:?}: {e}", e.code(), t0.elapsed());
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_fast_with_the_brokers_message() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    for (listener, addr, mechanism) in [
        ("SASL_PLAINTEXT", &l.sasl_plaintext, "PLAIN"),
        ("SASL_PLAINTEXT", &l.sasl_plaintext, "SCRAM-SHA-256"),
        ("SASL_SSL", &l.sasl_ssl, "SCRAM-SHA-512"),
    ] {
        let c = config(kafka, addr, listener, Some(mechanism), "wrong-password");
        let e = metadata_error(&c, Duration::from_secs(5)).await;
        assert_eq!(e.code(), ErrorCode::Authentication, "{mechanism}: {e}");
        // Apache Kafka's own words, passed through.
        assert!(
            e.message().contains("Authentication failed"),
            "{mechanism}: the broker's message: {e}"
        );
        assert!(!e.to_string().contains("wrong-password"), "{e}");
        // A pending delivery fails with the same cause, far below
        // message.timeout.ms.
        let p = Producer::new(&c.clone().set("message.timeout.ms", "60000")).unwrap();
        let d = p
            .send(ProducerRecord::new("sec-wrong-password".to_string()).value("x"))
            .unwrap();
        let err = timeout(Duration::from_secs(10), d)
            .await
            .expect("the delivery fails within 10 s")
            .expect_err("the delivery must fail");
        assert_eq!(
            err.error.code(),
            ErrorCode::Authentication,
            "{mechanism}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_ca_and_a_host_name_mismatch_are_refused_by_name() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);

    // A CA the broker's certificate was not signed by.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "some other CA");
    let other_ca = p.self_signed(&key).unwrap().pem();
    for (listener, addr) in [("SSL", &l.ssl), ("SASL_SSL", &l.sasl_ssl)] {
        let mechanism = (listener == "SASL_SSL").then_some("SCRAM-SHA-512");
        let c = config(kafka, addr, listener, mechanism, USERS[0].1)
            .set("ssl.ca.location", "")
            .set("ssl.ca.pem", &other_ca);
        let e = metadata_error(&c, Duration::from_secs(5)).await;
        assert_eq!(e.code(), ErrorCode::Ssl, "{listener}: {e}");
        assert!(e.message().contains("unknown issuer"), "{listener}: {e}");
    }

    // A name that reaches the broker (127.0.0.1 in /etc/hosts) but is not
    // among the certificate's SANs (DNS:localhost, IP:127.0.0.1).
    let port = l.ssl.rsplit(':').next().unwrap();
    let Some(name) = loopback_name_not_in_the_certificate() else {
        eprintln!("skipped the host name mismatch: no other name of 127.0.0.1 here");
        return;
    };
    let addr = format!("{name}:{port}");
    let c = config(kafka, &addr, "SSL", None, "");
    let e = metadata_error(&c, Duration::from_secs(5)).await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{addr}: {e}");
    assert!(e.message().contains("host name mismatch"), "{addr}: {e}");
    // With the check off the same address works (the chain is still
    // verified), and so does `localhost`, which is in the certificate.
    let admin = AdminClient::new(&c.set("ssl.endpoint.identification.algorithm", "none")).unwrap();
    admin.metadata(None, Duration::from_secs(20)).await.unwrap();
    let c = config(kafka, &format!("localhost:{port}"), "SSL", None, "");
    let admin = AdminClient::new(&c).unwrap();
    admin.metadata(None, Duration::from_secs(20)).await.unwrap();
}

/// A host name in /etc/hosts for 127.0.0.1 other than `localhost` (this
/// machine's name, usually).
fn loopback_name_not_in_the_certificate() -> Option<String> {
    use std::net::ToSocketAddrs;
    let hosts = std::fs::read_to_string("/etc/hosts").ok()?;
    hosts
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "127.0.0.1").then(|| words.map(str::to_string).collect::<Vec<_>>())
        })
        .flatten()
        .filter(|n| n != "localhost" && !n.starts_with('#'))
        .find(|n| {
            (n.as_str(), 9)
                .to_socket_addrs()
                .is_ok_and(|mut a| a.all(|a| a.ip() == std::net::Ipv4Addr::LOCALHOST))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_plaintext_port_and_plaintext_to_the_ssl_port_fail_clearly() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    let c = config(kafka, &l.plaintext, "SSL", None, "");
    let e = metadata_error(&c, Duration::from_secs(10)).await;
    assert_eq!(e.code(), ErrorCode::Ssl, "TLS to PLAINTEXT: {e}");
    assert!(
        e.message().contains("plaintext listener"),
        "TLS to PLAINTEXT: {e}"
    );
    let c = config(kafka, &l.ssl, "PLAINTEXT", None, "");
    let e = metadata_error(&c, Duration::from_secs(10)).await;
    assert!(
        e.message().contains("security.protocol=ssl"),
        "plaintext to SSL: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_ssl_client_auth_required() {
    let Some(kafka) = strict_node() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    kafka.create_topic("sec-mtls", 1, 1, &[]);
    let (cert, key) = kafka.client_cert_pem();
    let c = config(kafka, &l.ssl, "SSL", None, "")
        .set("ssl.certificate.location", cert.display().to_string())
        .set("ssl.key.location", key.display().to_string());
    round_trip(&c, "sec-mtls", 10).await;
    // Without a certificate the broker refuses the handshake.
    let c = config(kafka, &l.ssl, "SSL", None, "");
    let e = metadata_error(&c, Duration::from_secs(10)).await;
    assert_eq!(e.code(), ErrorCode::Ssl, "{e}");
}

/// Sends one record every 100 ms for three session lifetimes with no
/// retries (a connection the broker closes for an expired session fails a
/// delivery); returns how many.
async fn produce_across_sessions(c: &ClientConfig, topic: &str) -> usize {
    let p = Producer::new(
        &c.clone()
            .set("linger.ms", "0")
            .set("retries", "0")
            .set("message.timeout.ms", "10000"),
    )
    .unwrap();
    let t0 = Instant::now();
    let mut n = 0;
    while t0.elapsed() < Duration::from_millis(3 * REAUTH_MS) {
        let d = p
            .send(
                ProducerRecord::new(topic.to_string())
                    .partition(0)
                    .value(format!("{topic}-v{n}")),
            )
            .unwrap();
        match timeout(Duration::from_secs(10), d).await {
            Ok(Ok(md)) => assert_eq!(md.offset, n as i64, "{topic}"),
            Ok(Err(e)) => panic!("{topic}: record {n} after {:?}: {e:?}", t0.elapsed()),
            Err(_) => panic!("{topic}: record {n} not delivered within 10 s"),
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    n
}

/// Reads the `n` records [`produce_across_sessions`] wrote, in order.
async fn read_back(c: &ClientConfig, topic: &str, n: usize) {
    let consumer = Consumer::new(&c.clone().set("fetch.wait.max.ms", "100")).unwrap();
    consumer.assign(&[(topic, 0, Offset::Beginning)]).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    let mut got = 0;
    while got < n {
        assert!(Instant::now() < until, "{topic}: read {got} of {n}");
        match timeout(Duration::from_secs(10), consumer.recv()).await {
            Ok(Ok(m)) => {
                assert_eq!(m.offset, got as i64, "{topic}");
                assert_eq!(m.value(), Some(format!("{topic}-v{got}").as_bytes()));
                got += 1;
            }
            Ok(Err(e)) if e.is_eof() => {}
            Ok(Err(e)) => panic!("{topic}: consumer error: {e}"),
            Err(_) => {}
        }
    }
}

/// The client's log lines (`ferrokafka::broker` at DEBUG: each connection
/// made, failed or closed), for tests that must see no connection lost.
fn client_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    use std::sync::{Arc, Mutex};
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
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || Sink(sink.clone()))
            .with_ansi(false)
            .try_init();
        buf
    })
    .clone()
}

/// Reads `topic` partition 0 from the beginning for `for_how_long`, with
/// fetches long-polling `fetch.wait.max.ms=500` (so one is in flight
/// whenever a session comes due); returns how many records, checked in
/// order.
async fn read_while_writing(c: &ClientConfig, topic: &str, for_how_long: Duration) -> usize {
    let consumer = Consumer::new(&c.clone().set("fetch.wait.max.ms", "500")).unwrap();
    consumer.assign(&[(topic, 0, Offset::Beginning)]).unwrap();
    let until = Instant::now() + for_how_long;
    let mut got = 0;
    while Instant::now() < until {
        match timeout(Duration::from_millis(600), consumer.recv()).await {
            Ok(Ok(m)) => {
                assert_eq!(m.offset, got as i64, "{topic}");
                got += 1;
            }
            Ok(Err(e)) if e.is_eof() => {}
            Ok(Err(e)) => panic!("{topic}: consumer error after {got}: {e}"),
            Err(_) => {}
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_re_authenticated_when_the_broker_sets_connections_max_reauth_ms() {
    let Some(kafka) = strict_node() else { return };
    let _logs = kafka.logs_on_failure();
    let client_logs = client_logs();
    let l = kafka.listeners(1);
    kafka.create_topic("sec-reauth-scram", 1, 1, &[]);
    kafka.create_topic("sec-reauth-oauth", 1, 1, &[]);
    // The connection log lines below are the `broker` debug context's:
    // emitted only by a client that names it.
    let scram = config(
        kafka,
        &l.sasl_ssl,
        "SASL_SSL",
        Some("SCRAM-SHA-512"),
        USERS[0].1,
    )
    .set("debug", "broker,security");
    let oauth = config(
        kafka,
        &l.sasl_plaintext,
        "SASL_PLAINTEXT",
        Some("OAUTHBEARER"),
        "",
    )
    .set("debug", "broker,security");
    // The broker logs every OAUTHBEARER token it validates (at INFO), at
    // the first authentication and at each re-authentication; only this
    // test uses OAUTHBEARER on this node.
    let validations = || {
        std::fs::read_to_string(kafka.log_path(1))
            .unwrap_or_default()
            .matches("Successfully validated token with principal alice")
            .count()
    };
    let before = validations();
    let (n_scram, n_oauth, first, read_meanwhile) = tokio::join!(
        produce_across_sessions(&scram, "sec-reauth-scram"),
        produce_across_sessions(&oauth, "sec-reauth-oauth"),
        async {
            // By now every connection has authenticated once; none is due
            // again before 2.55 s.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            validations() - before
        },
        read_while_writing(
            &scram,
            "sec-reauth-scram",
            Duration::from_millis(3 * REAUTH_MS + 1000)
        ),
    );
    // Nine seconds over 3 s sessions: each of the producer's connections
    // authenticated again (three times) on the same socket; a failed or
    // skipped re-authentication would have closed it and failed a
    // delivery above (retries=0).
    let again = validations() - before - first;
    eprintln!("OAUTHBEARER: {first} first authentications, {again} re-authentications");
    assert!(
        first >= 1 && again >= 2 * first,
        "{first} first OAUTHBEARER authentications, {again} later ones, in {n_oauth} records"
    );
    // The consumer, its fetches long-polling across each session's end,
    // kept up, and none of the clients' SASL connections to this node was
    // lost: the broker closes one that sends a request after its session
    // expired.
    assert!(
        read_meanwhile + 5 >= n_scram,
        "read {read_meanwhile} of {n_scram} while they were written"
    );
    let text = String::from_utf8_lossy(&client_logs.lock().unwrap()).into_owned();
    for addr in [&l.sasl_ssl, &l.sasl_plaintext] {
        let port = format!(":{}", addr.rsplit(':').next().unwrap());
        let lost: Vec<&str> = text
            .lines()
            .filter(|line| line.contains(&port) && line.contains("connection closed"))
            .collect();
        assert!(lost.is_empty(), "connections to {addr} lost: {lost:#?}");
        assert!(
            text.lines()
                .any(|line| line.contains(&port) && line.contains("connected")),
            "the client's logs name {addr}"
        );
    }
    read_back(&scram, "sec-reauth-scram", n_scram).await;
    read_back(&oauth, "sec-reauth-oauth", n_oauth).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauthbearer_tokens_from_an_oidc_token_endpoint() {
    let Some((kafka, _py)) = peers() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    let endpoint = token_endpoint::TokenEndpoint::http(token_endpoint::grant(
        USERS[0].0,
        Duration::from_secs(600),
    ))
    .await;
    for (listener, addr) in [
        ("SASL_PLAINTEXT", &l.sasl_plaintext),
        ("SASL_SSL", &l.sasl_ssl),
    ] {
        let topic = format!("sec-oidc-{}", listener.to_lowercase().replace('_', "-"));
        kafka.create_topic(&topic, 1, 1, &[]);
        let c = config(kafka, addr, listener, None, "")
            .set("sasl.mechanisms", "OAUTHBEARER")
            .set("sasl.oauthbearer.method", "oidc")
            .set("sasl.oauthbearer.token.endpoint.url", &endpoint.url)
            .set("sasl.oauthbearer.client.id", "ferrokafka-test")
            .set("sasl.oauthbearer.client.secret", "oidc-secret")
            .set("sasl.oauthbearer.scope", "kafka");
        round_trip(&c, &topic, 10).await;
    }
    // A producer and a consumer per listener, each fetching one token.
    let n = endpoint.requests().len();
    assert_eq!(n, 4, "{n} token requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_a_pkcs12_keystore() {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKeyChain};
    use rustls_pki_types::pem::PemObject;
    let Some(kafka) = strict_node() else { return };
    let _logs = kafka.logs_on_failure();
    let l = kafka.listeners(1);
    kafka.create_topic("sec-mtls-p12", 1, 1, &[]);
    // The peer's client certificate and key, as a keystore made here.
    let (cert, key) = kafka.client_cert_pem();
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_file(key).unwrap();
    let mut chain: Vec<Certificate> = rustls_pki_types::CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(|c| Certificate::from_der(&c.unwrap()).unwrap())
        .collect();
    for ca in rustls_pki_types::CertificateDer::pem_file_iter(kafka.ca_pem()).unwrap() {
        chain.push(Certificate::from_der(&ca.unwrap()).unwrap());
    }
    let mut store = KeyStore::new();
    store.add_entry(
        "client",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            key.secret_pkcs8_der(),
            b"client",
            chain,
        )),
    );
    let file = std::env::temp_dir().join(format!("ferrokafka-ak-{}.p12", std::process::id()));
    std::fs::write(&file, store.writer("p12-pass").write().unwrap()).unwrap();
    let c = config(kafka, &l.ssl, "SSL", None, "")
        .set("ssl.keystore.location", file.display().to_string())
        .set("ssl.keystore.password", "p12-pass");
    round_trip(&c, "sec-mtls-p12", 10).await;
    let _ = std::fs::remove_file(&file);
}
