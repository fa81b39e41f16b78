//! Producer delivery against the embedded mock cluster: acks 0/1/all, every
//! codec, headers and tombstones read back by fetching, per-partition order
//! under injected faults.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ferrokafka::producer::{PersistenceStatus, Producer, ProducerRecord};
use ferrokafka::record::wire::{BatchReader, DecodeOptions};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{FetchRequest, FetchResponse, RequestHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One fetched record.
#[derive(Debug, Clone)]
struct Fetched {
    offset: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Vec<(String, Option<Bytes>)>,
}

/// Reads every record of `topic`/`partition` from its leader with plain
/// Fetch v4 requests (written here, independent of the producer's code).
async fn fetch_all(cluster: &MockCluster, topic: &str, partition: i32) -> Vec<Fetched> {
    let leader = cluster
        .partition_leader(topic, partition)
        .expect("partition exists");
    let addr: SocketAddr = cluster.broker_addr(leader).expect("leader address");
    let hw = cluster.high_watermark(topic, partition).unwrap_or(0);
    let mut sock = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut out = Vec::new();
    let mut offset = 0i64;
    for correlation in 0..10_000 {
        if offset >= hw {
            break;
        }
        let req = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(0)
            .with_min_bytes(0)
            .with_max_bytes(16 << 20)
            .with_topics(vec![FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(8 << 20)])]);
        let header = RequestHeader::default()
            .with_request_api_key(1)
            .with_request_api_version(4)
            .with_correlation_id(correlation)
            .with_client_id(Some(StrBytes::from_static_str("test-reader")));
        let mut body = BytesMut::new();
        header.encode(&mut body, 1).unwrap();
        req.encode(&mut body, 4).unwrap();
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.put(body);
        sock.write_all(&frame).await.unwrap();
        let len = sock.read_i32().await.unwrap() as usize;
        let mut buf = vec![0u8; len];
        sock.read_exact(&mut buf).await.unwrap();
        let mut buf = Bytes::from(buf);
        assert_eq!(buf.get_i32(), correlation);
        let resp = FetchResponse::decode(&mut buf, 4).unwrap();
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "fetch error");
        let records = p.records.clone().unwrap_or_default();
        let before = offset;
        for batch in BatchReader::new(records, DecodeOptions::default()) {
            let batch = batch.expect("batch decodes with a valid CRC");
            for r in batch.records() {
                let r = r.expect("record decodes");
                if r.offset < offset {
                    continue;
                }
                offset = r.offset + 1;
                out.push(Fetched {
                    offset: r.offset,
                    key: r.key_bytes(),
                    value: r.value_bytes(),
                    headers: r
                        .headers()
                        .map(|h| {
                            let h = h.to_header().unwrap();
                            (h.key, h.value)
                        })
                        .collect(),
                });
            }
        }
        assert!(offset > before, "fetch made no progress at offset {offset}");
    }
    out
}

fn config(cluster: &MockCluster) -> ClientConfig {
    ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("linger.ms", "2")
        .set("message.timeout.ms", "10000")
}

async fn wait_flush(p: &Producer, secs: u64) {
    let p = p.clone();
    tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(secs)))
        .await
        .unwrap()
        .expect("flush completes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acks_and_codec_round_trips_in_order() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("rt", 3, 3)
        .build()
        .await
        .unwrap();
    for acks in ["0", "1", "all"] {
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
            let topic = format!("rt-{acks}-{codec}");
            cluster.create_topic(&topic, 3, 3).unwrap();
            let producer = Producer::new(
                &config(&cluster)
                    .set("acks", acks)
                    .set("compression.codec", codec)
                    .set("partitioner", "murmur2_random"),
            )
            .unwrap();
            let n = 300;
            let mut futs = Vec::new();
            for i in 0..n {
                let mut r = ProducerRecord::new(topic.as_str())
                    .key(format!("k{}", i % 7))
                    .header("i", i.to_string());
                if i % 50 != 49 {
                    r = r.value(format!("value-{i}-{}", "x".repeat(i % 40)));
                }
                futs.push(producer.send(r).expect("queued"));
            }
            let mut by_partition: Vec<Vec<(i64, usize)>> = vec![Vec::new(); 3];
            for (i, f) in futs.into_iter().enumerate() {
                let m = tokio::time::timeout(Duration::from_secs(20), f)
                    .await
                    .expect("report in time")
                    .expect("delivered");
                assert_eq!(&*m.topic, topic.as_str());
                if acks == "0" {
                    assert_eq!(m.offset, -1, "acks=0 reports offset -1");
                } else {
                    assert!(m.offset >= 0);
                }
                by_partition[m.partition as usize].push((m.offset, i));
            }
            if acks == "0" {
                // No acknowledgement: wait (bounded) until the broker applied them.
                for _ in 0..500 {
                    let stored: i64 = (0..3)
                        .map(|p| cluster.high_watermark(&topic, p).unwrap_or(0))
                        .sum();
                    if stored >= n as i64 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            for p in 0..3 {
                let got = fetch_all(&cluster, &topic, p).await;
                let want: Vec<usize> = by_partition[p as usize].iter().map(|(_, i)| *i).collect();
                assert_eq!(got.len(), want.len(), "{acks}/{codec} partition {p}: count");
                for (rec, i) in got.iter().zip(&want) {
                    assert_eq!(
                        rec.key.as_deref(),
                        Some(format!("k{}", i % 7).as_bytes()),
                        "{acks}/{codec} p{p}: key order"
                    );
                    let want_value = (i % 50 != 49)
                        .then(|| format!("value-{i}-{}", "x".repeat(i % 40)).into_bytes());
                    assert_eq!(
                        rec.value.as_deref(),
                        want_value.as_deref(),
                        "tombstone or value"
                    );
                    assert_eq!(
                        rec.headers,
                        vec![("i".to_string(), Some(Bytes::from(i.to_string())))]
                    );
                }
                if acks != "0" {
                    let offsets: Vec<i64> =
                        by_partition[p as usize].iter().map(|(o, _)| *o).collect();
                    let fetched: Vec<i64> = got.iter().map(|r| r.offset).collect();
                    assert_eq!(offsets, fetched, "reported offsets are the log's");
                }
            }
            wait_flush(&producer, 5).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_follow_murmur2_like_kafka_python() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("keys", 8, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster).set("partitioner", "murmur2_random")).unwrap();
    // Partitions computed independently with kafka-python's murmur2 for 8 partitions.
    for (key, want) in [
        ("a", 4),
        ("abc", 3),
        ("foo", 0),
        ("hello world", 3),
        ("key-1234", 4),
    ] {
        let m = producer
            .send(ProducerRecord::new("keys").key(key).value("v"))
            .unwrap()
            .await
            .unwrap();
        assert_eq!(m.partition, want, "key {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_errors_keep_order_with_one_in_flight() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("ord", 2, 3)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("max.in.flight", "1")
            .set("retry.backoff.ms", "10")
            .set("retry.backoff.max.ms", "50")
            .set("batch.num.messages", "20"),
    )
    .unwrap();
    // NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS.
    cluster.push_request_errors(0, &[6, 7, 19, 6]);
    let mut futs = Vec::new();
    for i in 0..400u32 {
        futs.push(
            producer
                .send(
                    ProducerRecord::new("ord")
                        .partition((i % 2) as i32)
                        .value(i.to_string()),
                )
                .unwrap(),
        );
        if i == 150 {
            cluster.push_request_errors(0, &[6, 6]);
            cluster.move_leader("ord", 0, 3).unwrap();
        }
        if i % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for f in futs {
        tokio::time::timeout(Duration::from_secs(20), f)
            .await
            .unwrap()
            .expect("delivered");
    }
    for p in 0..2 {
        let values: Vec<u32> = fetch_all(&cluster, "ord", p)
            .await
            .iter()
            .map(|r| {
                std::str::from_utf8(r.value.as_ref().unwrap())
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let want: Vec<u32> = (0..400).filter(|i| i % 2 == p as u32).collect();
        assert_eq!(
            values, want,
            "partition {p}: no loss, no duplicate, no reordering"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_and_up_with_many_in_flight_reports_everything() {
    let cluster = MockCluster::builder()
        .brokers(3)
        .topic("bd", 4, 3)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(
        &config(&cluster)
            .set("max.in.flight", "5")
            .set("retry.backoff.ms", "20")
            .set("message.timeout.ms", "15000")
            .set("socket.timeout.ms", "2000")
            .set("request.timeout.ms", "2000"),
    )
    .unwrap();
    let mut futs = Vec::new();
    for i in 0..2000u32 {
        futs.push(
            producer
                .send(ProducerRecord::new("bd").value(i.to_string()))
                .unwrap(),
        );
        if i == 500 {
            cluster.broker_down(2).unwrap();
        }
        if i == 1500 {
            cluster.broker_up(2).unwrap();
        }
        if i % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let (mut ok, mut failed) = (0, 0);
    for f in futs {
        match tokio::time::timeout(Duration::from_secs(30), f)
            .await
            .expect("every record is reported")
        {
            Ok(_) => ok += 1,
            Err(e) => {
                assert_ne!(e.status, PersistenceStatus::Persisted);
                failed += 1;
            }
        }
    }
    assert_eq!(ok + failed, 2000);
    let stored: usize = {
        let mut n = 0;
        for p in 0..4 {
            n += fetch_all(&cluster, "bd", p).await.len();
        }
        n
    };
    assert!(
        stored >= ok,
        "every acknowledged record is in the log ({stored} < {ok})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_callback_that_panics_stops_neither_the_producer_nor_flush() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("cb", 1, 1)
        .build()
        .await
        .unwrap();
    let producer = Producer::new(&config(&cluster)).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let send = |i: u32| {
        let seen = seen.clone();
        producer
            .send_with_callback(
                ProducerRecord::new("cb")
                    .partition(0)
                    .value(format!("v{i}")),
                move |r| {
                    let offset = r.expect("delivered").offset;
                    if i == 0 {
                        panic!("the application's callback fails at offset {offset}");
                    }
                    seen.lock().unwrap().push(offset);
                },
            )
            .unwrap();
    };
    send(0);
    wait_flush(&producer, 10).await;
    // The producer still sends and reports after the panic.
    for i in 1..4 {
        send(i);
    }
    wait_flush(&producer, 10).await;
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    let event = tokio::time::timeout(Duration::from_secs(5), producer.next_error())
        .await
        .expect("an error event")
        .expect("the producer is open");
    assert!(
        event
            .message()
            .contains("delivery callback(s) panicked (the first: the application's callback fails at offset 0)"),
        "{event}"
    );
    assert!(!event.is_fatal());
}
