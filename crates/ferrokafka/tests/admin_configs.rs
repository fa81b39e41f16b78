//! Config administration against the embedded mock: describe topic,
//! broker and broker-logger configs (sources, synonyms, documentation);
//! incremental alter (set, delete, append, subtract, validate_only) and
//! the legacy full replacement, with per-resource errors carrying the
//! broker's message.

use ferrokafka::admin::{
    AdminClient, AdminOptions, AlterConfigOp, ConfigEntry, ConfigResource, ConfigSource, NewTopic,
};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

async fn setup() -> (MockCluster, AdminClient) {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("cfg", 1, 1)
        .build()
        .await
        .unwrap();
    let a = AdminClient::new(
        &ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()),
    )
    .unwrap();
    (cluster, a)
}

async fn topic_configs(a: &AdminClient, topic: &str) -> Vec<ConfigEntry> {
    let mut r = a
        .describe_configs(&[ConfigResource::topic(topic)], &opts())
        .await
        .unwrap();
    r.remove(0).1.unwrap()
}

fn entry<'a>(all: &'a [ConfigEntry], name: &str) -> &'a ConfigEntry {
    all.iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("{name} not described: {all:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_topic_broker_and_logger_configs() {
    let (_cluster, a) = setup().await;
    let r = a
        .create_topics(
            &[NewTopic::new("with-cfg", 1, 1).config("retention.ms", "1234")],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let all = topic_configs(&a, "with-cfg").await;
    let e = entry(&all, "retention.ms");
    assert_eq!(e.value.as_deref(), Some("1234"));
    assert_eq!(e.source, ConfigSource::DynamicTopic);
    assert!(e.synonyms.len() >= 2, "{e:?}");
    assert_eq!(e.synonyms[0].source, ConfigSource::DynamicTopic);
    assert!(
        e.synonyms.iter().any(|s| s.name == "log.retention.ms"),
        "{e:?}"
    );
    assert_eq!(e.config_type, Some("LONG"));
    assert!(e.documentation.as_deref().is_some_and(|d| !d.is_empty()));
    let c = entry(&all, "cleanup.policy");
    assert_eq!(c.value.as_deref(), Some("delete"));
    assert!(c.is_default());

    let r = a
        .describe_configs(
            &[
                ConfigResource::broker(1),
                ConfigResource::broker_logger(2),
                ConfigResource::topic("missing"),
                ConfigResource::broker(99),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let broker = r[0].1.as_ref().unwrap();
    assert!(broker
        .iter()
        .any(|e| e.name == "num.partitions" && e.read_only));
    let loggers = r[1].1.as_ref().unwrap();
    assert!(loggers.iter().any(|e| e.name == "root"), "{loggers:?}");
    assert_eq!(
        r[2].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );
    assert!(r[3].1.is_err(), "broker 99 does not exist: {:?}", r[3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_alter_set_delete_append_subtract() {
    let (_cluster, a) = setup().await;
    let t = ConfigResource::topic("cfg");
    let r = a
        .incremental_alter_configs(
            &[(
                t.clone(),
                vec![
                    AlterConfigOp::set("retention.ms", "5000"),
                    AlterConfigOp::Append("cleanup.policy".into(), "compact".into()),
                ],
            )],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let all = topic_configs(&a, "cfg").await;
    assert_eq!(entry(&all, "retention.ms").value.as_deref(), Some("5000"));
    assert_eq!(
        entry(&all, "cleanup.policy").value.as_deref(),
        Some("delete,compact")
    );

    let r = a
        .incremental_alter_configs(
            &[(
                t.clone(),
                vec![
                    AlterConfigOp::delete("retention.ms"),
                    AlterConfigOp::Subtract("cleanup.policy".into(), "delete".into()),
                ],
            )],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let all = topic_configs(&a, "cfg").await;
    let ret = entry(&all, "retention.ms");
    assert_eq!(
        ret.source,
        ConfigSource::Default,
        "deleted: back to the default"
    );
    assert_eq!(
        entry(&all, "cleanup.policy").value.as_deref(),
        Some("compact")
    );

    // validate_only changes nothing.
    let r = a
        .incremental_alter_configs(
            &[(t.clone(), vec![AlterConfigOp::set("retention.ms", "1")])],
            &opts().validate_only(true),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok());
    let all = topic_configs(&a, "cfg").await;
    assert_eq!(entry(&all, "retention.ms").source, ConfigSource::Default);

    // Errors per resource with the broker's message; the good one applies.
    let r = a
        .incremental_alter_configs(
            &[
                (t.clone(), vec![AlterConfigOp::set("no.such", "1")]),
                (
                    ConfigResource::topic("missing"),
                    vec![AlterConfigOp::set("retention.ms", "1")],
                ),
                (
                    ConfigResource::broker(1),
                    vec![AlterConfigOp::set("log.cleaner.threads", "3")],
                ),
                (
                    ConfigResource::broker(2),
                    vec![AlterConfigOp::set("min.insync.replicas", "many")],
                ),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let e = r[0].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfig);
    assert!(e.message().contains("no.such"), "{e}");
    assert_eq!(
        r[1].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownTopicOrPartition
    );
    assert!(r[2].1.is_ok(), "{r:?}");
    let e = r[3].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidConfig);
    assert!(e.message().contains("many"), "{e}");
    let b = a
        .describe_configs(&[ConfigResource::broker(1)], &opts())
        .await
        .unwrap();
    let threads = entry(b[0].1.as_ref().unwrap(), "log.cleaner.threads");
    assert_eq!(threads.value.as_deref(), Some("3"));
    assert_eq!(threads.source, ConfigSource::DynamicBroker);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_alter_replaces_the_whole_configuration() {
    let (_cluster, a) = setup().await;
    let t = ConfigResource::topic("cfg");
    let r = a
        .incremental_alter_configs(
            &[(t.clone(), vec![AlterConfigOp::set("retention.ms", "5000")])],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok());
    let r = a
        .alter_configs(
            &[(t.clone(), vec![("segment.ms".into(), "100000".into())])],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let all = topic_configs(&a, "cfg").await;
    assert_eq!(entry(&all, "segment.ms").value.as_deref(), Some("100000"));
    assert_eq!(
        entry(&all, "retention.ms").source,
        ConfigSource::Default,
        "not listed: reverted"
    );
    // The blocking variant, from a plain thread, with a bad value.
    let b = a.clone();
    let code = std::thread::spawn(move || {
        let r = b
            .alter_configs_blocking(&[(t, vec![("retention.ms".into(), "x".into())])], &opts())
            .unwrap();
        r[0].1.as_ref().unwrap_err().code()
    })
    .join()
    .unwrap();
    assert_eq!(code, ErrorCode::InvalidConfig);
}
