//! The `debug` property is per client: with one subscriber that enables
//! every target at every level, a client whose `debug` names a context
//! emits it and a client that does not name it emits nothing for it.
//!
//! The clients talk to different mock clusters, so each line is told
//! apart by the broker port it names.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Everything any test in this binary logged.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        log
    })
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

/// The captured lines that mention `port`.
fn lines_about(port: u16) -> Vec<String> {
    let log = captured().lock().unwrap();
    String::from_utf8_lossy(&log)
        .lines()
        .filter(|l| l.contains(&format!(":{port}")))
        .map(str::to_string)
        .collect()
}

async fn cluster(topic: &str) -> (MockCluster, u16) {
    let c = MockCluster::builder()
        .brokers(1)
        .topic(topic, 1, 1)
        .build()
        .await
        .unwrap();
    let port = c.broker_addr(c.broker_ids()[0]).unwrap().port();
    (c, port)
}

async fn produce_one(bootstrap: String, topic: &str, debug: Option<&str>) {
    let mut config = ClientConfig::new().set("bootstrap.servers", bootstrap);
    if let Some(d) = debug {
        config = config.set("debug", d);
    }
    let producer = Producer::new(&config).unwrap();
    let f = producer
        .send(ProducerRecord::new(topic).value("v"))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("delivered in time")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_client_that_names_a_context_emits_it() {
    captured();
    let (with, with_port) = cluster("dbg").await;
    let (without, without_port) = cluster("dbg").await;
    let (metadata_only, metadata_port) = cluster("dbg").await;
    produce_one(with.bootstrap_servers(), "dbg", Some("broker,protocol")).await;
    produce_one(without.bootstrap_servers(), "dbg", None).await;
    produce_one(metadata_only.bootstrap_servers(), "dbg", Some("metadata")).await;

    let on = lines_about(with_port).join("\n");
    // broker: connection set-up; protocol: ApiVersions and every header.
    assert!(
        on.contains("ferrokafka::broker") && on.contains("connected"),
        "{on}"
    );
    assert!(on.contains("ApiVersions v"), "{on}");
    for header in [
        "sent ApiVersions v",
        "received ApiVersions v",
        "sent Metadata v",
        "sent Produce v",
        "received Produce v",
        "correlation id",
        "bytes",
    ] {
        assert!(on.contains(header), "{header} missing from:\n{on}");
    }
    // Contexts it did not name stay quiet even for it.
    assert!(!on.contains("ferrokafka::metadata"), "{on}");

    let off = lines_about(without_port);
    assert!(
        off.is_empty(),
        "no debug: nothing logged, got:\n{}",
        off.join("\n")
    );

    let md = lines_about(metadata_port).join("\n");
    assert!(md.contains("ferrokafka::metadata"), "{md}");
    assert!(
        !md.contains("ferrokafka::protocol") && !md.contains("ferrokafka::broker"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conf_dumps_the_configuration_with_secrets_redacted() {
    captured();
    let (c, _) = cluster("conf").await;
    let config = ClientConfig::new()
        .set("bootstrap.servers", c.bootstrap_servers())
        .set("client.id", "conf-dump-client")
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", "u")
        .set("sasl.password", "hunter2")
        .set("debug", "conf");
    // Creation alone dumps it (no connection is opened yet).
    let _p = Producer::new(&config).unwrap();
    let log = String::from_utf8_lossy(&captured().lock().unwrap()).to_string();
    let dump: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("ferrokafka::conf"))
        .collect();
    assert!(
        dump.iter()
            .any(|l| l.contains("client.id = conf-dump-client")),
        "{log}"
    );
    assert!(
        dump.iter()
            .any(|l| l.contains("sasl.password = [redacted]")),
        "{log}"
    );
    assert!(!log.contains("hunter2"), "{log}");
}
