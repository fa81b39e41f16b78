//! read_committed against the mock cluster's transactions: an aborted
//! transaction is hidden, a committed one shown, and read_uncommitted shows
//! both. Transactions are driven with raw requests (InitProducerId,
//! AddPartitionsToTxn, Produce, EndTxn) written here, independent of the
//! client's producer.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::record::wire::{BatchBuilder, BatchFlags};
use ferrokafka::record::Compression;
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse,
    InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse, ProducerId,
    RequestHeader, TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

struct Raw {
    sock: TcpStream,
    correlation: i32,
}

impl Raw {
    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: i16,
        version: i16,
        req: &Req,
    ) -> Resp {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("txn-test")));
        let mut body = BytesMut::new();
        header.encode(&mut body, 1).unwrap();
        req.encode(&mut body, version).unwrap();
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.put(body);
        self.sock.write_all(&frame).await.unwrap();
        let len = self.sock.read_i32().await.unwrap() as usize;
        let mut buf = vec![0u8; len];
        self.sock.read_exact(&mut buf).await.unwrap();
        let mut buf = Bytes::from(buf);
        assert_eq!(buf.get_i32(), self.correlation);
        Resp::decode(&mut buf, version).unwrap()
    }
}

fn tid() -> TransactionalId {
    TransactionalId(StrBytes::from_static_str("txn-1"))
}

fn topic() -> TopicName {
    TopicName(StrBytes::from_static_str("tx"))
}

/// One transaction of `values` on partition 0, committed or aborted.
async fn transaction(raw: &mut Raw, pid: i64, epoch: i16, seq: i32, values: &[&str], commit: bool) {
    let add = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(tid())
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(topic())
            .with_partitions(vec![0])]);
    let r: AddPartitionsToTxnResponse = raw.call(24, 1, &add).await;
    for t in &r.results_by_topic_v3_and_below {
        for p in &t.results_by_partition {
            assert_eq!(p.partition_error_code, 0, "AddPartitionsToTxn");
        }
    }
    let mut b = BatchBuilder::new(1_000, 1 << 20);
    for v in values {
        assert!(b.try_append(1_000, None, Some(v.as_bytes()), &[]));
    }
    b.set_producer(pid, epoch, seq);
    let batch = b
        .finish(
            Compression::None,
            None,
            BatchFlags {
                transactional: true,
                control: false,
            },
        )
        .unwrap()
        .bytes();
    let produce = ProduceRequest::default()
        .with_transactional_id(Some(tid()))
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic())
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch))])]);
    let r: ProduceResponse = raw.call(0, 3, &produce).await;
    assert_eq!(
        r.responses[0].partition_responses[0].error_code, 0,
        "Produce"
    );
    let end = EndTxnRequest::default()
        .with_transactional_id(tid())
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let r: EndTxnResponse = raw.call(26, 1, &end).await;
    assert_eq!(r.error_code, 0, "EndTxn");
}

async fn read_all(cluster: &MockCluster, isolation: &str) -> Vec<String> {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("isolation.level", isolation)
            .set("enable.partition.eof", "true"),
    )
    .unwrap();
    c.assign(&[("tx", 0, Offset::Beginning)]).unwrap();
    let mut out = Vec::new();
    loop {
        match timeout(Duration::from_secs(10), c.recv())
            .await
            .expect("EOF within 10 s")
        {
            Ok(m) => out.push(String::from_utf8(m.value().unwrap().to_vec()).unwrap()),
            Err(e) if e.is_eof() => return out,
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_hides_an_aborted_transaction() {
    let cluster = MockCluster::builder()
        .brokers(1)
        .topic("tx", 1, 1)
        .build()
        .await
        .unwrap();
    let addr = cluster.broker_addr(cluster.broker_ids()[0]).unwrap();
    let mut raw = Raw {
        sock: TcpStream::connect(addr).await.unwrap(),
        correlation: 0,
    };
    let init = InitProducerIdRequest::default()
        .with_transactional_id(Some(tid()))
        .with_transaction_timeout_ms(60_000);
    let r: InitProducerIdResponse = raw.call(22, 1, &init).await;
    assert_eq!(r.error_code, 0, "InitProducerId");
    let (pid, epoch) = (r.producer_id.0, r.producer_epoch);
    transaction(&mut raw, pid, epoch, 0, &["a1", "a2"], false).await;
    transaction(&mut raw, pid, epoch, 2, &["c1", "c2"], true).await;
    transaction(&mut raw, pid, epoch, 4, &["a3"], false).await;

    assert_eq!(read_all(&cluster, "read_committed").await, vec!["c1", "c2"]);
    assert_eq!(
        read_all(&cluster, "read_uncommitted").await,
        vec!["a1", "a2", "c1", "c2", "a3"]
    );
}
