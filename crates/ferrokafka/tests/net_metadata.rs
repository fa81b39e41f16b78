//! `AdminClient::metadata` against a fake broker on loopback: a real
//! answer, garbage answers, and unreachable brokers.

mod net_fake;

use bytes::BytesMut;
use ferrokafka::{AdminClient, ClientConfig, ErrorCode};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataResponse, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};
use net_fake::*;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};

fn metadata_body(version: i16, port: u16) -> Vec<u8> {
    let brokers = (1..=3)
        .map(|id| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(id))
                .with_host(StrBytes::from_static_str("127.0.0.1"))
                .with_port(port as i32)
        })
        .collect();
    let resp = MetadataResponse::default()
        .with_brokers(brokers)
        .with_controller_id(BrokerId(2))
        .with_cluster_id(Some(StrBytes::from_static_str("fake")))
        .with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("orders"))))
            .with_partitions(
                (0..2)
                    .map(|p| {
                        MetadataResponsePartition::default()
                            .with_partition_index(p)
                            .with_leader_id(BrokerId(p + 1))
                            .with_leader_epoch(4)
                            .with_replica_nodes(vec![BrokerId(p + 1), BrokerId(3)])
                            .with_isr_nodes(vec![BrokerId(p + 1)])
                    })
                    .collect(),
            )]);
    let mut b = BytesMut::new();
    resp.encode(&mut b, version).unwrap();
    b.to_vec()
}

fn admin(bootstrap: &str, extra: &[(&str, &str)]) -> AdminClient {
    let mut c = ClientConfig::new().set("bootstrap.servers", bootstrap);
    for (k, v) in extra {
        c = c.set(*k, *v);
    }
    AdminClient::new(&c).unwrap()
}

#[tokio::test]
async fn lists_brokers_topics_and_partitions() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let r = next_request(&mut s).await.unwrap();
        assert_eq!(r.api_key, ApiKey::Metadata as i16);
        s.write_all(&response(&r, &metadata_body(r.version, addr.port())))
            .await
            .unwrap();
        (r.version, s)
    });
    let md = admin(&addr.to_string(), &[])
        .metadata(None, Duration::from_secs(5))
        .await
        .unwrap();
    let (version, _s) = timeout(STEP, broker).await.unwrap().unwrap();
    assert_eq!(version, 12, "highest version both sides speak");
    assert_eq!(
        md.brokers.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(md.controller_id, Some(2));
    assert_eq!(md.cluster_id.as_deref(), Some("fake"));
    assert_eq!(md.topics.len(), 1);
    let t = &md.topics[0];
    assert_eq!(t.name, "orders");
    assert_eq!(t.partitions[1].leader, Some(2));
    assert_eq!(t.partitions[1].leader_epoch, Some(4));
    assert_eq!(t.partitions[1].replicas, vec![2, 3]);
    assert_eq!(md.orig_broker_name, addr.to_string());
    assert_eq!(
        md.orig_broker_id, 1,
        "bootstrap address matched to its broker id"
    );
}

#[tokio::test]
async fn garbage_metadata_answers_are_errors_not_panics() {
    let garbage: Vec<Vec<u8>> = vec![
        vec![0xff; 40],
        vec![0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0],
        vec![0x7f, 0xff, 0xff, 0xff],
        vec![],
        vec![1, 2, 3],
    ];
    let n = garbage.len();
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        for g in garbage {
            let r = next_request(&mut s).await.unwrap();
            s.write_all(&response(&r, &g)).await.unwrap();
        }
        s
    });
    let a = admin(&addr.to_string(), &[]);
    for _ in 0..n {
        let err = a
            .metadata(Some("orders"), Duration::from_millis(250))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::BadMsg | ErrorCode::TimedOut | ErrorCode::AllBrokersDown
            ),
            "{err}"
        );
    }
    let _s = timeout(STEP, broker).await.unwrap().unwrap();
}

#[tokio::test]
async fn unreachable_brokers_fail_within_the_timeout() {
    let dead = {
        let (d, a) = listener().await;
        drop(d);
        a
    };
    let a = admin(
        &format!("{dead},127.0.0.1:1"),
        &[("reconnect.backoff.ms", "50")],
    );
    let t0 = Instant::now();
    let err = a
        .metadata(None, Duration::from_millis(1500))
        .await
        .unwrap_err();
    let took = t0.elapsed();
    assert_eq!(err.code(), ErrorCode::AllBrokersDown, "{err}");
    assert!(err.message().contains(&dead.to_string()), "{err}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn blocking_use_outside_a_runtime() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = dead.local_addr().unwrap();
    drop(dead);
    let a =
        AdminClient::new(&ClientConfig::new().set("bootstrap.servers", addr.to_string())).unwrap();
    let t0 = std::time::Instant::now();
    let err = a
        .metadata_blocking(None, Duration::from_millis(500))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AllBrokersDown);
    assert!(t0.elapsed() < Duration::from_secs(3));
    drop(a);
}

#[test]
fn bad_configuration_is_refused_at_construction() {
    let err = AdminClient::new(&ClientConfig::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArg);
    assert!(err.message().contains("bootstrap"), "{err}");
    let err =
        AdminClient::new(&ClientConfig::new().set("bootstrap.servers", "h:notaport")).unwrap_err();
    assert!(err.message().contains("notaport"), "{err}");
}
