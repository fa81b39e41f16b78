//! Where admin requests go, and the per-call options on the wire.
//!
//! Routing, against the embedded mock: every broker but the one Kafka
//! wants a request at (the controller, the partition leader, the group
//! coordinator, the broker a config belongs to) is primed to refuse that
//! API with an error the call would report, so a call that succeeds went
//! to the right broker; the right broker answering NOT_CONTROLLER,
//! NOT_LEADER_OR_FOLLOWER or NOT_COORDINATOR once is retried there.
//!
//! Options, against a fake broker that records what it is sent: the
//! operation timeout and `validate_only` are the request's fields, and the
//! request timeout bounds a call whose answer never comes.

mod net_fake;

use bytes::BytesMut;
use ferrokafka::admin::{
    AdminClient, AdminOptions, ConfigResource, IsolationLevel, NewPartitions, NewTopic, OffsetSpec,
};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use kafka_protocol::messages::{
    create_partitions_response, create_topics_response, metadata_response, ApiKey, BrokerId,
    CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest, CreateTopicsResponse,
    MetadataResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

fn admin(bootstrap: &str) -> AdminClient {
    AdminClient::new(&ClientConfig::new().set("bootstrap.servers", bootstrap)).unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

/// Every broker of `c` except `keep` refuses `api_key` with `code`, many
/// times over.
fn refuse_elsewhere(c: &MockCluster, keep: i32, api_key: i16, code: i16) {
    for id in c.broker_ids() {
        if id != keep {
            c.push_broker_request_errors(id, api_key, &[(code, Duration::ZERO); 20]);
        }
    }
}

const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_requests_go_to_the_controller_and_follow_it() {
    let c = MockCluster::builder().brokers(3).build().await.unwrap();
    let a = admin(&c.bootstrap_servers());
    let controller = a
        .describe_cluster(&opts())
        .await
        .unwrap()
        .controller
        .unwrap();
    // CreateTopics (19), CreatePartitions (37) and DeleteTopics (20).
    for api in [19, 37, 20] {
        refuse_elsewhere(&c, controller, api, CLUSTER_AUTHORIZATION_FAILED);
    }
    for i in 0..4 {
        let name = format!("ctl-{i}");
        let r = a
            .create_topics(&[NewTopic::new(&name, 1, 1)], &opts())
            .await
            .unwrap();
        assert!(r[0].1.is_ok(), "{r:?}");
        let r = a
            .create_partitions(&[NewPartitions::new(&name, 2)], &opts())
            .await
            .unwrap();
        assert!(r[0].1.is_ok(), "{r:?}");
    }
    let r = a.delete_topics(&["ctl-0"], &opts()).await.unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");

    // The controller answers NOT_CONTROLLER (41) once: retried.
    c.push_broker_request_errors(controller, 19, &[(41, Duration::ZERO)]);
    let r = a
        .create_topics(&[NewTopic::new("ctl-retry", 1, 1)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");

    // The controller goes away: calls follow the new one (a fresh
    // cluster, whose brokers are not primed yet).
    let c = MockCluster::builder().brokers(3).build().await.unwrap();
    let a = admin(&c.bootstrap_servers());
    let old = a
        .describe_cluster(&opts())
        .await
        .unwrap()
        .controller
        .unwrap();
    c.broker_down(old).unwrap();
    let new = a
        .describe_cluster(&opts())
        .await
        .unwrap()
        .controller
        .unwrap();
    assert_ne!(new, old);
    refuse_elsewhere(&c, new, 19, CLUSTER_AUTHORIZATION_FAILED);
    for i in 0..3 {
        let name = format!("ctl-moved-{i}");
        let r = a
            .create_topics(&[NewTopic::new(&name, 1, 1)], &opts())
            .await
            .unwrap();
        assert!(r[0].1.is_ok(), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_requests_go_to_the_leader_and_retry_after_it_moved() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("led", 1, 1)
        .build()
        .await
        .unwrap();
    let a = admin(&c.bootstrap_servers());
    let leader = c.partition_leader("led", 0).unwrap();
    // ListOffsets (2) and DeleteRecords (21).
    refuse_elsewhere(&c, leader, 2, TOPIC_AUTHORIZATION_FAILED);
    refuse_elsewhere(&c, leader, 21, TOPIC_AUTHORIZATION_FAILED);
    for _ in 0..3 {
        let r = a
            .list_offsets(
                &[("led", 0, OffsetSpec::Latest)],
                IsolationLevel::ReadUncommitted,
                &opts(),
            )
            .await
            .unwrap();
        assert_eq!(r[0].1.as_ref().unwrap().offset, 0, "{r:?}");
        let r = a.delete_records(&[("led", 0, 0)], &opts()).await.unwrap();
        assert_eq!(*r[0].1.as_ref().unwrap(), 0, "{r:?}");
    }
    // The leader says NOT_LEADER_OR_FOLLOWER (6) once: asked again.
    c.push_broker_request_errors(leader, 21, &[(6, Duration::ZERO)]);
    c.push_broker_request_errors(leader, 2, &[(6, Duration::ZERO)]);
    let r = a.delete_records(&[("led", 0, 0)], &opts()).await.unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let r = a
        .list_offsets(
            &[("led", 0, OffsetSpec::Earliest)],
            IsolationLevel::ReadUncommitted,
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_requests_go_to_the_coordinator_and_retry_after_not_coordinator() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("gr", 1, 1)
        .build()
        .await
        .unwrap();
    let a = admin(&c.bootstrap_servers());
    let coord = c.coordinator("g-route").unwrap();
    // OffsetCommit (8), OffsetFetch (9) and DescribeGroups (15).
    for api in [8, 9, 15] {
        refuse_elsewhere(&c, coord, api, GROUP_AUTHORIZATION_FAILED);
    }
    let r = a
        .alter_group_offsets("g-route", &[("gr", 0, 3)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let got = a
        .list_group_offsets("g-route", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(got, vec![("gr".to_string(), 0, 3)]);
    let d = a
        .describe_groups(&["g-route"], Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(d[0].error, None, "{d:?}");

    // The coordinator says NOT_COORDINATOR (16) once to each: the
    // coordinator is looked up again and asked again.
    for api in [8, 9, 15] {
        c.push_broker_request_errors(coord, api, &[(16, Duration::ZERO)]);
    }
    let r = a
        .alter_group_offsets("g-route", &[("gr", 0, 4)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let got = a
        .list_group_offsets("g-route", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(got, vec![("gr".to_string(), 0, 4)]);
    let d = a
        .describe_groups(&["g-route"], Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(d[0].error, None, "{d:?}");
    assert_eq!(d[0].state, "Empty", "{d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brokers_config_is_asked_of_that_broker() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("cf", 1, 1)
        .build()
        .await
        .unwrap();
    let a = admin(&c.bootstrap_servers());
    // DescribeConfigs (32): only broker 2 answers.
    refuse_elsewhere(&c, 2, 32, CLUSTER_AUTHORIZATION_FAILED);
    for _ in 0..3 {
        let r = a
            .describe_configs(&[ConfigResource::broker(2)], &opts())
            .await
            .unwrap();
        let entries = r[0].1.as_ref().unwrap();
        assert!(entries.iter().any(|e| e.name == "num.partitions"));
    }
    // A broker that is not in the cluster is that resource's error.
    let r = a
        .describe_configs(&[ConfigResource::broker(9)], &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::BrokerNotAvailable
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_timeout_bounds_a_call_whose_answer_never_comes() {
    let c = MockCluster::builder().brokers(1).build().await.unwrap();
    let a = admin(&c.bootstrap_servers());
    // CreateTopics is applied but never answered.
    c.drop_next_responses(19, 1);
    let t0 = Instant::now();
    let e = a
        .create_topics(
            &[NewTopic::new("lost", 1, 1)],
            &AdminOptions::new().request_timeout(Duration::from_millis(1500)),
        )
        .await
        .unwrap_err();
    let took = t0.elapsed();
    assert_eq!(e.code(), ErrorCode::TimedOut, "{e}");
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

/// What the fake broker was sent in a CreateTopics or CreatePartitions
/// request: `(api, timeout_ms, validate_only)`.
type Seen = (&'static str, i32, bool);

/// A one-broker fake cluster (id 1) answering Metadata, CreateTopics and
/// CreatePartitions, reporting each admin request's options.
async fn fake_cluster() -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (listener, addr) = net_fake::listener().await;
    let (tx, rx) = mpsc::unbounded_channel();
    let port = i32::from(addr.port());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                while let Some(req) = net_fake::read_request(&mut s).await {
                    let mut body = req.body.clone();
                    let mut out = BytesMut::new();
                    match ApiKey::try_from(req.api_key).unwrap() {
                        ApiKey::ApiVersions => {
                            let ranges = [
                                (ApiKey::Metadata, 0, 12),
                                (ApiKey::ApiVersions, 0, 3),
                                (ApiKey::CreateTopics, 0, 7),
                                (ApiKey::CreatePartitions, 0, 3),
                            ];
                            out.extend_from_slice(&net_fake::api_versions_body(
                                req.version,
                                &ranges,
                            ));
                        }
                        ApiKey::Metadata => {
                            MetadataResponse::default()
                                .with_brokers(vec![
                                    metadata_response::MetadataResponseBroker::default()
                                        .with_node_id(BrokerId(1))
                                        .with_host(StrBytes::from_static_str("127.0.0.1"))
                                        .with_port(port),
                                ])
                                .with_controller_id(BrokerId(1))
                                .with_cluster_id(Some(StrBytes::from_static_str("fake")))
                                .encode(&mut out, req.version)
                                .unwrap();
                        }
                        ApiKey::CreateTopics => {
                            let r = CreateTopicsRequest::decode(&mut body, req.version).unwrap();
                            let _ = tx.send(("CreateTopics", r.timeout_ms, r.validate_only));
                            CreateTopicsResponse::default()
                                .with_topics(
                                    r.topics
                                        .iter()
                                        .map(|t| {
                                            create_topics_response::CreatableTopicResult::default()
                                                .with_name(t.name.clone())
                                        })
                                        .collect(),
                                )
                                .encode(&mut out, req.version)
                                .unwrap();
                        }
                        ApiKey::CreatePartitions => {
                            let r =
                                CreatePartitionsRequest::decode(&mut body, req.version).unwrap();
                            let _ = tx.send(("CreatePartitions", r.timeout_ms, r.validate_only));
                            CreatePartitionsResponse::default()
                                .with_results(
                                    r.topics
                                        .iter()
                                        .map(|t| {
                                            create_partitions_response::CreatePartitionsTopicResult::default()
                                                .with_name(t.name.clone())
                                        })
                                        .collect(),
                                )
                                .encode(&mut out, req.version)
                                .unwrap();
                        }
                        other => panic!("the fake does not serve {other:?}"),
                    }
                    if s.write_all(&net_fake::response(&req, &out)).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr.to_string(), rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_timeout_and_validate_only_are_sent_as_asked() {
    let (bootstrap, mut seen) = fake_cluster().await;
    let a = admin(&bootstrap);
    let mut next = || {
        let got = seen.try_recv();
        got.expect("the fake saw the request")
    };

    // Defaults: the broker may take the request timeout; changes apply.
    let r = a
        .create_topics(
            &[NewTopic::new("t", 1, 1)],
            &AdminOptions::new().request_timeout(Duration::from_secs(7)),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(next(), ("CreateTopics", 7000, false));

    let o = AdminOptions::new()
        .request_timeout(Duration::from_secs(9))
        .operation_timeout(Duration::from_millis(2500))
        .validate_only(true);
    let r = a
        .create_topics(&[NewTopic::new("t", 1, 1)], &o)
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(next(), ("CreateTopics", 2500, true));
    let r = a
        .create_partitions(&[NewPartitions::new("t", 3)], &o)
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(next(), ("CreatePartitions", 2500, true));
}
