//! The mock cluster driven by raw Kafka requests over TCP: every served
//! API, every fault kind observed from the client side, and robustness
//! against malformed frames.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ferrokafka_mock::MockCluster;
use kafka_protocol::messages::*;
use tokio::io::AsyncWriteExt;

async fn cluster() -> MockCluster {
    MockCluster::builder()
        .brokers(3)
        .topic("t", 3, 2)
        .build()
        .await
        .expect("cluster starts")
}

/// Connects to the leader of `topic`/`partition`.
async fn leader_client(c: &MockCluster, topic: &str, partition: i32) -> Client {
    let leader = c
        .partition_leader(topic, partition)
        .expect("partition exists");
    Client::connect(c.broker_addr(leader).unwrap())
        .await
        .unwrap()
}

fn topic_id(resp: &ResponseKind, topic: &str) -> uuid::Uuid {
    let ResponseKind::Metadata(m) = resp else {
        panic!("{resp:?}")
    };
    m.topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic))
        .unwrap()
        .topic_id
}

#[tokio::test]
async fn api_versions_v0_to_v4_and_unsupported_version() {
    let c = cluster().await;
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    for v in 0..=4 {
        let mut req = ApiVersionsRequest::default();
        if v >= 3 {
            req = req
                .with_client_software_name(kafka_protocol::protocol::StrBytes::from_static_str("t"))
                .with_client_software_version(kafka_protocol::protocol::StrBytes::from_static_str(
                    "1",
                ));
        }
        let ResponseKind::ApiVersions(r) = cl
            .call(ApiKey::ApiVersions, v, RequestKind::ApiVersions(req))
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(r.error_code, 0, "v{v}");
        let produce = r
            .api_keys
            .iter()
            .find(|k| k.api_key == 0)
            .expect("Produce advertised");
        assert!(
            produce.min_version <= 3 && produce.max_version >= 9,
            "v{v}: {produce:?}"
        );
        assert!(r.api_keys.iter().any(|k| k.api_key == ApiKey::Fetch as i16));
    }
    // An unknown version is answered with UNSUPPORTED_VERSION in a v0 body.
    cl.send(
        ApiKey::ApiVersions,
        0,
        &RequestKind::ApiVersions(ApiVersionsRequest::default()),
    )
    .await
    .unwrap();
    let _ = cl.recv(ApiKey::ApiVersions, 0).await.unwrap();
    let mut raw = Vec::new();
    raw.extend_from_slice(&10i32.to_be_bytes());
    raw.extend_from_slice(&18i16.to_be_bytes());
    raw.extend_from_slice(&99i16.to_be_bytes());
    raw.extend_from_slice(&77i32.to_be_bytes());
    raw.extend_from_slice(&(-1i16).to_be_bytes());
    cl.stream.write_all(&raw).await.unwrap();
    let (corr, r) = cl.recv(ApiKey::ApiVersions, 0).await.unwrap();
    let ResponseKind::ApiVersions(r) = r else {
        panic!()
    };
    assert_eq!(corr, 77);
    assert_eq!(r.error_code, 35);
    assert_eq!(r.api_keys[0].max_version, 4);
}

#[tokio::test]
async fn metadata_lists_brokers_topics_and_auto_creates() {
    let c = cluster().await;
    let mut cl = Client::connect(c.broker_addr(2).unwrap()).await.unwrap();
    for v in [0i16, 1, 4, 7, 9, 10, 12, 13] {
        let topics: &[&str] = &["t", "auto"];
        let ResponseKind::Metadata(m) = cl
            .call(ApiKey::Metadata, v, metadata_req(Some(topics), true))
            .await
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(m.brokers.len(), 3, "v{v}");
        let t = &m.topics[0];
        assert_eq!((t.error_code, t.partitions.len()), (0, 3), "v{v}");
        assert_eq!(t.partitions[0].replica_nodes.len(), 2);
        assert_eq!(m.topics[1].error_code, 0, "auto-created at v{v}");
        assert_eq!(m.topics[1].partitions.len(), 1);
        if v >= 10 {
            assert!(!t.topic_id.is_nil());
        }
    }
    assert!(c.topics().contains(&"auto".to_string()));
    // All topics (null list).
    let ResponseKind::Metadata(m) = cl
        .call(ApiKey::Metadata, 12, metadata_req(None, true))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(m.topics.len(), 2);

    let no_auto = MockCluster::builder()
        .brokers(1)
        .auto_create_topics(false)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(no_auto.broker_addr(1).unwrap())
        .await
        .unwrap();
    let ResponseKind::Metadata(m) = cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["nope"]), true))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(m.topics[0].error_code, 3);
    let r = cl
        .call(
            ApiKey::Produce,
            9,
            produce_req("nope", 0, 1, batch(&[b"x"])),
        )
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 3);
}

#[tokio::test]
async fn produce_acks_0_1_all_then_fetch_back_at_every_version() {
    let c = cluster().await;
    let mut cl = leader_client(&c, "t", 0).await;
    let meta = cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap();
    let id = topic_id(&meta, "t");
    let mut expected = 0i64;
    for (i, v) in [3i16, 7, 8, 9, 12].into_iter().enumerate() {
        let acks = [1i16, -1][i % 2];
        let r = cl
            .call(
                ApiKey::Produce,
                v,
                produce_req("t", 0, acks, batch(&[b"a", b"b", b"c"])),
            )
            .await
            .unwrap();
        assert_eq!(produce_result(&r), (0, expected), "produce v{v}");
        expected += 3;
    }
    // acks=0: no response; the next request's answer comes first.
    cl.send(ApiKey::Produce, 9, &produce_req("t", 0, 0, batch(&[b"z"])))
        .await
        .unwrap();
    let ResponseKind::Metadata(_) = cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap()
    else {
        panic!("acks=0 produce was answered")
    };
    expected += 1;
    assert_eq!(c.high_watermark("t", 0), Some(expected));
    // acks=0 with an error: Kafka closes the connection, the producer's only signal.
    let mut doomed = leader_client(&c, "t", 0).await;
    doomed
        .send(ApiKey::Produce, 9, &produce_req("t", 99, 0, batch(&[b"z"])))
        .await
        .unwrap();
    assert!(
        doomed.closed_within(Duration::from_secs(2)).await,
        "acks=0 error closes the connection"
    );
    for v in [4i16, 7, 11, 12, 13, 16] {
        let r = cl
            .call(ApiKey::Fetch, v, fetch_req("t", id, 0, 4, 100))
            .await
            .unwrap();
        let p = fetch_partition(&r);
        assert_eq!(p.error_code, 0, "fetch v{v}");
        assert_eq!(p.high_watermark, expected);
        if v >= 5 {
            assert_eq!(p.log_start_offset, 0);
        }
        let got = batches_in(p.records.as_deref().unwrap());
        // The batch holding offset 4 (base 3) comes first.
        assert_eq!(
            got,
            vec![(3, 3), (6, 3), (9, 3), (12, 3), (15, 1)],
            "fetch v{v}"
        );
    }
    // At the end of the log: empty after max wait; beyond it: out of range.
    let r = cl
        .call(ApiKey::Fetch, 12, fetch_req("t", id, 0, expected, 10))
        .await
        .unwrap();
    assert_eq!(
        (
            fetch_partition(&r).error_code,
            fetch_partition(&r).records.as_deref().map(<[u8]>::len)
        ),
        (0, Some(0))
    );
    let r = cl
        .call(ApiKey::Fetch, 12, fetch_req("t", id, 0, expected + 1, 10))
        .await
        .unwrap();
    assert_eq!(fetch_partition(&r).error_code, 1);
}

#[tokio::test]
async fn fetch_parks_until_data_arrives() {
    let c = cluster().await;
    let mut consumer = leader_client(&c, "t", 1).await;
    let mut producer = leader_client(&c, "t", 1).await;
    let started = Instant::now();
    consumer
        .send(
            ApiKey::Fetch,
            12,
            &fetch_req("t", uuid::Uuid::nil(), 1, 0, 4000),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = producer
        .call(
            ApiKey::Produce,
            9,
            produce_req("t", 1, 1, batch(&[b"wake"])),
        )
        .await
        .unwrap();
    assert_eq!(produce_result(&r), (0, 0));
    let (_, r) = consumer.recv(ApiKey::Fetch, 12).await.unwrap();
    assert_eq!(
        batches_in(fetch_partition(&r).records.as_deref().unwrap()),
        vec![(0, 1)]
    );
    assert!(
        started.elapsed() < Duration::from_millis(3000),
        "fetch waited {:?}",
        started.elapsed()
    );
    // Without data the fetch answers when max wait expires.
    let started = Instant::now();
    let r = consumer
        .call(
            ApiKey::Fetch,
            12,
            fetch_req("t", uuid::Uuid::nil(), 1, 1, 300),
        )
        .await
        .unwrap();
    assert_eq!(
        fetch_partition(&r).records.as_deref().map(<[u8]>::len),
        Some(0)
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn fetch_byte_limits_return_at_least_one_batch() {
    let c = cluster().await;
    let mut cl = leader_client(&c, "t", 0).await;
    for _ in 0..4 {
        cl.call(
            ApiKey::Produce,
            9,
            produce_req("t", 0, 1, batch(&[&[7u8; 100]])),
        )
        .await
        .unwrap();
    }
    let mut req = fetch_req("t", uuid::Uuid::nil(), 0, 0, 10);
    if let RequestKind::Fetch(f) = &mut req {
        f.max_bytes = 10;
    }
    let r = cl.call(ApiKey::Fetch, 12, req).await.unwrap();
    assert_eq!(
        batches_in(fetch_partition(&r).records.as_deref().unwrap()).len(),
        1
    );
    let mut req = fetch_req("t", uuid::Uuid::nil(), 0, 0, 10);
    if let RequestKind::Fetch(f) = &mut req {
        f.topics[0].partitions[0].partition_max_bytes = 400;
    }
    let r = cl.call(ApiKey::Fetch, 12, req).await.unwrap();
    assert_eq!(
        batches_in(fetch_partition(&r).records.as_deref().unwrap()).len(),
        2
    );
}

#[tokio::test]
async fn produce_validation_errors() {
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .max_message_bytes(1000)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let mut bad = batch(&[b"abc"]).to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    let r = cl
        .call(ApiKey::Produce, 9, produce_req("t", 0, 1, Bytes::from(bad)))
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 2, "CRC mismatch is CORRUPT_MESSAGE");
    let big = vec![0u8; 2000];
    let r = cl
        .call(ApiKey::Produce, 9, produce_req("t", 0, 1, batch(&[&big])))
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 10, "MESSAGE_TOO_LARGE");
    let r = cl
        .call(ApiKey::Produce, 9, produce_req("t", 7, 1, batch(&[b"x"])))
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    let r = cl
        .call(
            ApiKey::Produce,
            9,
            produce_req("t", 0, 1, Bytes::from_static(&[1, 2, 3])),
        )
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 2, "truncated batch");
    assert_eq!(c.high_watermark("t", 0), Some(0));
}

#[tokio::test]
async fn log_append_time_stamps_batches_with_a_valid_crc() {
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .log_append_time(true)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let r = cl
        .call(
            ApiKey::Produce,
            9,
            produce_req("t", 0, 1, batch_with(&[b"a"], -1, -1, -1, 5)),
        )
        .await
        .unwrap();
    let ResponseKind::Produce(p) = &r else {
        panic!()
    };
    let stamped = p.responses[0].partition_responses[0].log_append_time_ms;
    assert!(stamped >= before, "log append time {stamped} < {before}");
    let r = cl
        .call(
            ApiKey::Fetch,
            12,
            fetch_req("t", uuid::Uuid::nil(), 0, 0, 10),
        )
        .await
        .unwrap();
    let rec = fetch_partition(&r).records.clone().unwrap();
    let attrs = i16::from_be_bytes([rec[21], rec[22]]);
    assert_eq!(attrs & 0x08, 0x08, "timestamp type LogAppendTime");
    assert_eq!(i64::from_be_bytes(rec[35..43].try_into().unwrap()), stamped);
    assert_eq!(
        crc32c::crc32c(&rec[21..]),
        u32::from_be_bytes(rec[17..21].try_into().unwrap())
    );
}

#[tokio::test]
async fn list_offsets_earliest_latest_and_by_timestamp() {
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    cl.call(
        ApiKey::Produce,
        9,
        produce_req("t", 0, 1, batch_with(&[b"a", b"b"], -1, -1, -1, 1000)),
    )
    .await
    .unwrap();
    cl.call(
        ApiKey::Produce,
        9,
        produce_req("t", 0, 1, batch_with(&[b"c", b"d"], -1, -1, -1, 2000)),
    )
    .await
    .unwrap();
    for v in [1i16, 4, 7, 10] {
        let r = cl
            .call(ApiKey::ListOffsets, v, list_offsets_req("t", 0, -2))
            .await
            .unwrap();
        assert_eq!(list_offsets_result(&r).1, 0, "earliest v{v}");
        let r = cl
            .call(ApiKey::ListOffsets, v, list_offsets_req("t", 0, -1))
            .await
            .unwrap();
        assert_eq!(list_offsets_result(&r).1, 4, "latest v{v}");
        let r = cl
            .call(ApiKey::ListOffsets, v, list_offsets_req("t", 0, 1001))
            .await
            .unwrap();
        assert_eq!(list_offsets_result(&r), (0, 1, 1001), "by timestamp v{v}");
        let r = cl
            .call(ApiKey::ListOffsets, v, list_offsets_req("t", 0, 1500))
            .await
            .unwrap();
        assert_eq!(list_offsets_result(&r), (0, 2, 2000));
        let r = cl
            .call(ApiKey::ListOffsets, v, list_offsets_req("t", 0, 9999))
            .await
            .unwrap();
        assert_eq!(list_offsets_result(&r), (0, -1, -1));
    }
}

#[tokio::test]
async fn create_delete_topics_and_partitions() {
    let c = cluster().await;
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let create = |name: &str, partitions: i32, rf: i16, validate_only: bool| {
        RequestKind::CreateTopics(
            CreateTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_validate_only(validate_only)
                .with_topics(vec![create_topics_request::CreatableTopic::default()
                    .with_name(common::name(name))
                    .with_num_partitions(partitions)
                    .with_replication_factor(rf)]),
        )
    };
    let code = |r: &ResponseKind| match r {
        ResponseKind::CreateTopics(r) => r.topics[0].error_code,
        other => panic!("{other:?}"),
    };
    for v in [2i16, 5, 7] {
        let n = format!("new{v}");
        assert_eq!(
            code(
                &cl.call(ApiKey::CreateTopics, v, create(&n, 2, 3, true))
                    .await
                    .unwrap()
            ),
            0
        );
        assert!(!c.topics().contains(&n), "validate_only creates nothing");
        assert_eq!(
            code(
                &cl.call(ApiKey::CreateTopics, v, create(&n, 2, 3, false))
                    .await
                    .unwrap()
            ),
            0
        );
        assert_eq!(
            code(
                &cl.call(ApiKey::CreateTopics, v, create(&n, 2, 3, false))
                    .await
                    .unwrap()
            ),
            36
        );
        assert_eq!(
            code(
                &cl.call(ApiKey::CreateTopics, v, create("zero", 0, 1, false))
                    .await
                    .unwrap()
            ),
            37
        );
        assert_eq!(
            code(
                &cl.call(ApiKey::CreateTopics, v, create("rf", 1, 4, false))
                    .await
                    .unwrap()
            ),
            38
        );
        assert_eq!(
            code(
                &cl.call(ApiKey::CreateTopics, v, create("bad name!", 1, 1, false))
                    .await
                    .unwrap()
            ),
            17
        );
    }
    let grow = RequestKind::CreatePartitions(CreatePartitionsRequest::default().with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(name("new2"))
                .with_count(5),
        ]));
    let ResponseKind::CreatePartitions(r) = cl
        .call(ApiKey::CreatePartitions, 3, grow.clone())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(c.high_watermark("new2", 4), Some(0));
    let ResponseKind::CreatePartitions(r) =
        cl.call(ApiKey::CreatePartitions, 0, grow).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, 37, "shrinking or same count");
    let del4 = RequestKind::DeleteTopics(
        DeleteTopicsRequest::default().with_topic_names(vec![name("new2"), name("ghost")]),
    );
    let ResponseKind::DeleteTopics(r) = cl.call(ApiKey::DeleteTopics, 4, del4).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        r.responses.iter().map(|t| t.error_code).collect::<Vec<_>>(),
        vec![0, 3]
    );
    let del6 = RequestKind::DeleteTopics(DeleteTopicsRequest::default().with_topics(vec![
        delete_topics_request::DeleteTopicState::default().with_name(Some(name("new5"))),
    ]));
    let ResponseKind::DeleteTopics(r) = cl.call(ApiKey::DeleteTopics, 6, del6).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(r.responses[0].error_code, 0);
    assert!(!c.topics().contains(&"new2".to_string()) && !c.topics().contains(&"new5".to_string()));
}

#[tokio::test]
async fn idempotent_sequences_are_checked() {
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let send = |seq: i32, epoch: i16| {
        produce_req("t", 0, -1, batch_with(&[b"a", b"b"], 1000, epoch, seq, 0))
    };
    let r = cl.call(ApiKey::Produce, 9, send(0, 0)).await.unwrap();
    assert_eq!(produce_result(&r), (0, 0));
    let r = cl.call(ApiKey::Produce, 9, send(2, 0)).await.unwrap();
    assert_eq!(produce_result(&r), (0, 2));
    let r = cl.call(ApiKey::Produce, 9, send(0, 0)).await.unwrap();
    assert_eq!(
        produce_result(&r),
        (0, 0),
        "a duplicate answers its original offset"
    );
    let r = cl.call(ApiKey::Produce, 9, send(7, 0)).await.unwrap();
    assert_eq!(produce_result(&r).0, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    let r = cl.call(ApiKey::Produce, 9, send(0, 1)).await.unwrap();
    assert_eq!(produce_result(&r), (0, 4), "a new epoch starts at 0");
    let r = cl.call(ApiKey::Produce, 9, send(4, 0)).await.unwrap();
    assert_eq!(produce_result(&r).0, 47, "INVALID_PRODUCER_EPOCH");
    let r = cl
        .call(
            ApiKey::Produce,
            9,
            produce_req("t", 0, -1, batch_with(&[b"x"], 2000, 0, 5, 0)),
        )
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 59, "UNKNOWN_PRODUCER_ID");
    assert_eq!(c.high_watermark("t", 0), Some(6));
}

#[tokio::test]
async fn pushed_errors_fail_requests_cluster_wide_and_per_broker() {
    let c = cluster().await;
    let mut cl = leader_client(&c, "t", 0).await;
    c.push_request_errors(ApiKey::Produce as i16, &[6, 7]);
    for want in [6, 7, 0] {
        let r = cl
            .call(ApiKey::Produce, 9, produce_req("t", 0, 1, batch(&[b"x"])))
            .await
            .unwrap();
        assert_eq!(produce_result(&r).0, want);
    }
    assert_eq!(
        c.high_watermark("t", 0),
        Some(1),
        "failed requests are not applied"
    );
    let leader = c.partition_leader("t", 0).unwrap();
    c.push_broker_request_errors(
        leader,
        ApiKey::Metadata as i16,
        &[(5, Duration::from_millis(300))],
    );
    let started = Instant::now();
    let ResponseKind::Metadata(m) = cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(m.topics[0].error_code, 5);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let ResponseKind::Metadata(m) = cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(m.topics[0].error_code, 0);
}

#[tokio::test]
async fn broker_down_refuses_and_closes_then_up_serves() {
    let c = cluster().await;
    let addr = c.broker_addr(3).unwrap();
    let mut open = Client::connect(addr).await.unwrap();
    c.broker_down(3).unwrap();
    assert!(
        open.closed_within(Duration::from_secs(2)).await,
        "open connection closed"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "connect refused while down"
    );
    let mut other = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let ResponseKind::Metadata(m) = other
        .call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(m.brokers.len(), 2, "down broker left out of metadata");
    c.broker_up(3).unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut back = loop {
        match Client::connect(addr).await {
            Ok(cl) => break cl,
            Err(e) if Instant::now() > deadline => panic!("broker 3 not back: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert!(back
        .call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .is_ok());
}

#[tokio::test]
async fn rtt_delays_responses() {
    let c = cluster().await;
    c.set_broker_rtt(2, Duration::from_millis(600)).unwrap();
    let mut cl = Client::connect(c.broker_addr(2).unwrap()).await.unwrap();
    let started = Instant::now();
    cl.call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(580),
        "{:?}",
        started.elapsed()
    );
    let mut fast = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let started = Instant::now();
    fast.call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn leader_move_answers_not_leader_on_the_old_leader() {
    let c = cluster().await;
    let old = c.partition_leader("t", 0).unwrap();
    let new = c.broker_ids().into_iter().find(|b| *b != old).unwrap();
    let mut old_cl = Client::connect(c.broker_addr(old).unwrap()).await.unwrap();
    let ResponseKind::Metadata(m) = old_cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap()
    else {
        panic!()
    };
    let epoch = m.topics[0].partitions[0].leader_epoch;
    c.move_leader("t", 0, new).unwrap();
    let r = old_cl
        .call(ApiKey::Produce, 9, produce_req("t", 0, 1, batch(&[b"x"])))
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 6, "NOT_LEADER_OR_FOLLOWER");
    let ResponseKind::Metadata(m) = old_cl
        .call(ApiKey::Metadata, 12, metadata_req(Some(&["t"]), false))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (
            m.topics[0].partitions[0].leader_id.0,
            m.topics[0].partitions[0].leader_epoch
        ),
        (new, epoch + 1)
    );
    let mut new_cl = Client::connect(c.broker_addr(new).unwrap()).await.unwrap();
    let r = new_cl
        .call(ApiKey::Produce, 9, produce_req("t", 0, 1, batch(&[b"x"])))
        .await
        .unwrap();
    assert_eq!(produce_result(&r), (0, 0));
    // A fetch that still carries the old epoch is fenced.
    let mut req = fetch_req("t", uuid::Uuid::nil(), 0, 0, 10);
    if let RequestKind::Fetch(f) = &mut req {
        f.topics[0].partitions[0].current_leader_epoch = epoch;
    }
    let r = new_cl.call(ApiKey::Fetch, 12, req).await.unwrap();
    assert_eq!(fetch_partition(&r).error_code, 74, "FENCED_LEADER_EPOCH");
}

#[tokio::test]
async fn close_after_n_requests_closes_the_connection() {
    let c = cluster().await;
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    c.close_connection_after(1, 2).unwrap();
    cl.call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .unwrap();
    cl.call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .unwrap();
    assert!(cl.closed_within(Duration::from_secs(2)).await);
    let mut again = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    for _ in 0..3 {
        again
            .call(ApiKey::Metadata, 12, metadata_req(None, false))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn dropped_response_times_out_but_the_data_is_in_the_log() {
    let c = cluster().await;
    let mut cl = leader_client(&c, "t", 2).await;
    c.drop_next_responses(ApiKey::Produce as i16, 1);
    cl.send(
        ApiKey::Produce,
        9,
        &produce_req("t", 2, -1, batch(&[b"maybe"])),
    )
    .await
    .unwrap();
    assert!(
        cl.read_frame(Duration::from_millis(500)).await.is_err(),
        "no response"
    );
    assert_eq!(
        c.high_watermark("t", 2),
        Some(1),
        "possibly persisted: it was"
    );
    let r = cl
        .call(
            ApiKey::Produce,
            9,
            produce_req("t", 2, -1, batch(&[b"next"])),
        )
        .await
        .unwrap();
    assert_eq!(produce_result(&r), (0, 1));
}

#[tokio::test]
async fn blackhole_acknowledges_offsets_without_storing() {
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .blackhole(true)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    for (v, want) in [(3i16, 0i64), (9, 3), (12, 6)] {
        let r = cl
            .call(
                ApiKey::Produce,
                v,
                produce_req("t", 0, 1, batch(&[b"a", b"b", b"c"])),
            )
            .await
            .unwrap();
        assert_eq!(produce_result(&r), (0, want), "v{v}");
    }
    assert_eq!(c.high_watermark("t", 0), Some(9));
    assert_eq!(c.log_start_offset("t", 0), Some(9), "nothing kept");
    let r = cl
        .call(ApiKey::Produce, 9, produce_req("t", 5, 1, batch(&[b"a"])))
        .await
        .unwrap();
    assert_eq!(produce_result(&r).0, 3);
    let r = cl
        .call(
            ApiKey::Fetch,
            12,
            fetch_req("t", uuid::Uuid::nil(), 0, 9, 10),
        )
        .await
        .unwrap();
    assert_eq!(fetch_partition(&r).high_watermark, 9);
}

#[tokio::test]
async fn retention_moves_the_log_start_offset() {
    let one = batch(&[&[0u8; 100]]).len() as u64;
    let c = MockCluster::builder()
        .brokers(1)
        .topic("t", 1, 1)
        .retention_bytes(one * 3)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    for _ in 0..10 {
        cl.call(
            ApiKey::Produce,
            9,
            produce_req("t", 0, 1, batch(&[&[0u8; 100]])),
        )
        .await
        .unwrap();
    }
    let r = cl
        .call(ApiKey::ListOffsets, 7, list_offsets_req("t", 0, -2))
        .await
        .unwrap();
    assert_eq!(list_offsets_result(&r).1, 7);
    let r = cl
        .call(
            ApiKey::Fetch,
            12,
            fetch_req("t", uuid::Uuid::nil(), 0, 0, 10),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            fetch_partition(&r).error_code,
            fetch_partition(&r).log_start_offset
        ),
        (1, 7)
    );
}

#[tokio::test]
async fn malformed_frames_close_only_their_connection() {
    let c = cluster().await;
    let addr = c.broker_addr(1).unwrap();
    let mut good = Client::connect(addr).await.unwrap();
    let bad_frames: Vec<Vec<u8>> = vec![
        (-5i32).to_be_bytes().to_vec(),                    // negative size
        (i32::MAX).to_be_bytes().to_vec(),                 // beyond the frame limit
        [&4i32.to_be_bytes()[..], &[0, 3, 0, 1]].concat(), // too short for a header
        [&8i32.to_be_bytes()[..], &[0x7f, 0x7f, 0, 0, 0, 0, 0, 1]].concat(), // unknown API
        [&8i32.to_be_bytes()[..], &[0, 0, 0, 99, 0, 0, 0, 1]].concat(), // unsupported Produce version
        // Metadata v12 with a huge declared array and nothing behind it.
        [
            &15i32.to_be_bytes()[..],
            &[0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f],
        ]
        .concat(),
        // Metadata v12 declaring 2^32-2 topics: must not make the decoder reserve them.
        [
            &16i32.to_be_bytes()[..],
            &[
                0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f,
            ],
        ]
        .concat(),
        // Metadata v1 declaring 2^31-1 topics.
        [
            &14i32.to_be_bytes()[..],
            &[0, 3, 0, 1, 0, 0, 0, 1, 0, 0, 0x7f, 0xff, 0xff, 0xff],
        ]
        .concat(),
        // Produce v9 whose body stops in the middle.
        [
            &13i32.to_be_bytes()[..],
            &[0, 0, 0, 9, 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0],
        ]
        .concat(),
    ];
    for (i, f) in bad_frames.iter().enumerate() {
        let mut cl = Client::connect(addr).await.unwrap();
        cl.stream.write_all(f).await.unwrap();
        assert!(
            cl.closed_within(Duration::from_secs(2)).await,
            "frame {i} closes its connection"
        );
        good.call(ApiKey::Metadata, 12, metadata_req(None, false))
            .await
            .expect("others keep being served");
    }
    // A client that sends half a frame and stalls does not block anyone.
    let mut stall = Client::connect(addr).await.unwrap();
    stall.stream.write_all(&100i32.to_be_bytes()).await.unwrap();
    good.call(ApiKey::Metadata, 12, metadata_req(None, false))
        .await
        .unwrap();
}

#[test]
fn blocking_cluster_and_control_lines() {
    let c = MockCluster::start_blocking(MockCluster::builder().brokers(2)).unwrap();
    assert_eq!(c.bootstrap_servers().split(',').count(), 2);
    assert_eq!(c.apply_control("create logs 2 2"), Ok("ok".into()));
    assert_eq!(c.apply_control("leader logs 0 2"), Ok("ok".into()));
    assert_eq!(c.partition_leader("logs", 0), Some(2));
    for line in [
        "errors produce 6,6",
        "broker-errors 1 Fetch 7:10,7",
        "rtt 1 5",
        "close-after 2 3",
        "drop Fetch 1",
        "down 2",
        "up 2",
    ] {
        assert_eq!(c.apply_control(line), Ok("ok".into()), "{line}");
    }
    assert!(c
        .apply_control("errors nosuchapi 1")
        .unwrap_err()
        .contains("unknown API"));
    assert!(c.apply_control("down 9").is_err());
    assert!(c.apply_control("frobnicate").is_err());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
        let r = cl
            .call(
                ApiKey::Produce,
                9,
                produce_req("auto", 0, 1, batch(&[b"x"])),
            )
            .await
            .unwrap();
        assert_eq!(produce_result(&r).0, 6, "queued by the control line");
    });
}

#[test]
fn fuzz_entry_survives_arbitrary_frames() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..2000 {
        let len = (next() % 64) as usize;
        let mut data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if data.len() >= 4 {
            // Steer half of the inputs to served APIs and versions.
            let keys = [
                0u8, 1, 2, 3, 8, 9, 10, 11, 12, 18, 19, 20, 22, 23, 24, 25, 26, 28, 37,
            ];
            data[0] = 0;
            data[1] = keys[i % keys.len()];
            data[2] = 0;
            data[3] %= 14;
        }
        ferrokafka_mock::fuzz_handle_frame(&data);
    }
}

#[tokio::test]
async fn describe_configs_reports_topic_and_broker_defaults() {
    let c = MockCluster::builder()
        .brokers(2)
        .topic("t", 1, 1)
        .retention_bytes(12345)
        .build()
        .await
        .unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    let resource = |kind: i8, name: &'static str, keys: Option<Vec<&'static str>>| {
        describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(kind)
            .with_resource_name(kafka_protocol::protocol::StrBytes::from_static_str(name))
            .with_configuration_keys(keys.map(|k| {
                k.into_iter()
                    .map(kafka_protocol::protocol::StrBytes::from_static_str)
                    .collect()
            }))
    };
    for v in [1i16, 3, 4] {
        let req =
            RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![
                resource(2, "t", None),
                resource(2, "t", Some(vec!["retention.bytes"])),
                resource(2, "ghost", None),
                resource(4, "2", Some(vec!["num.partitions"])),
            ]));
        let ResponseKind::DescribeConfigs(r) =
            cl.call(ApiKey::DescribeConfigs, v, req).await.unwrap()
        else {
            panic!()
        };
        let value = |i: usize, name: &str| {
            r.results[i]
                .configs
                .iter()
                .find(|c| c.name.as_str() == name)
                .and_then(|c| c.value.as_ref().map(|v| v.to_string()))
        };
        assert_eq!(r.results[0].error_code, 0, "v{v}");
        assert_eq!(value(0, "retention.bytes").as_deref(), Some("12345"));
        assert_eq!(value(0, "cleanup.policy").as_deref(), Some("delete"));
        assert_eq!(r.results[1].configs.len(), 1, "key filter");
        assert_eq!(r.results[2].error_code, 3, "unknown topic");
        assert_eq!(value(3, "num.partitions").as_deref(), Some("1"));
    }
}

#[tokio::test]
async fn delete_records_moves_log_start_and_describe_cluster_lists_live_brokers() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("t", 1, 1)
        .build()
        .await
        .unwrap();
    let mut cl = leader_client(&c, "t", 0).await;
    for _ in 0..3 {
        cl.call(
            ApiKey::Produce,
            9,
            produce_req("t", 0, 1, batch(&[b"a", b"b"])),
        )
        .await
        .unwrap();
    }
    let delete = |offset: i64| {
        RequestKind::DeleteRecords(
            DeleteRecordsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![delete_records_request::DeleteRecordsTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        delete_records_request::DeleteRecordsPartition::default()
                            .with_partition_index(0)
                            .with_offset(offset),
                    ])]),
        )
    };
    let result = |r: ResponseKind| match r {
        ResponseKind::DeleteRecords(r) => (
            r.topics[0].partitions[0].error_code,
            r.topics[0].partitions[0].low_watermark,
        ),
        other => panic!("{other:?}"),
    };
    for (v, offset, want) in [
        (0i16, 3i64, (0i16, 3i64)),
        (2, 99, (1, -1)),
        (2, -1, (0, 6)),
    ] {
        assert_eq!(
            result(
                cl.call(ApiKey::DeleteRecords, v, delete(offset))
                    .await
                    .unwrap()
            ),
            want,
            "v{v} offset {offset}"
        );
    }
    assert_eq!(c.log_start_offset("t", 0), Some(6));

    c.broker_down(3).unwrap();
    let mut cl = Client::connect(c.broker_addr(1).unwrap()).await.unwrap();
    for v in [0i16, 1] {
        let req = RequestKind::DescribeCluster(DescribeClusterRequest::default());
        let ResponseKind::DescribeCluster(r) =
            cl.call(ApiKey::DescribeCluster, v, req).await.unwrap()
        else {
            panic!()
        };
        let mut ids: Vec<i32> = r.brokers.iter().map(|b| b.broker_id.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec![1, 2], "v{v}: live brokers only");
        assert_eq!(r.cluster_id.as_str(), "ferrokafka-mock");
    }
}
