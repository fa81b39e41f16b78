//! A raw Kafka client for the mock's tests: frames kafka-protocol requests
//! over TCP and decodes the responses, with a timeout on every read.
#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for any response in these tests.
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub struct Client {
    pub stream: TcpStream,
    corr: i32,
}

pub fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr)).await??;
        Ok(Client { stream, corr: 0 })
    }

    /// Writes one request; returns its correlation id.
    pub async fn send(&mut self, key: ApiKey, version: i16, req: &RequestKind) -> io::Result<i32> {
        self.corr += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = self.corr;
        header.client_id = Some(StrBytes::from_static_str("mock-test"));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .map_err(io::Error::other)?;
        req.encode(&mut buf, version).map_err(io::Error::other)?;
        let len = (buf.len() - 4) as i32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&buf).await?;
        Ok(self.corr)
    }

    /// Reads one response frame (header included) within `wait`.
    pub async fn read_frame(&mut self, wait: Duration) -> io::Result<Bytes> {
        tokio::time::timeout(wait, async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await?;
            let len = i32::from_be_bytes(len);
            if !(0..=64 << 20).contains(&len) {
                return Err(io::Error::other(format!("bad response size {len}")));
            }
            let mut frame = vec![0u8; len as usize];
            self.stream.read_exact(&mut frame).await?;
            Ok(Bytes::from(frame))
        })
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no response"))?
    }

    /// Reads and decodes the response to a request of `key`/`version`.
    pub async fn recv(&mut self, key: ApiKey, version: i16) -> io::Result<(i32, ResponseKind)> {
        let mut frame = self.read_frame(TIMEOUT).await?;
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version))
            .map_err(io::Error::other)?;
        let resp = ResponseKind::decode(key, &mut frame, version).map_err(io::Error::other)?;
        Ok((header.correlation_id, resp))
    }

    pub async fn call(
        &mut self,
        key: ApiKey,
        version: i16,
        req: RequestKind,
    ) -> io::Result<ResponseKind> {
        let corr = self.send(key, version, &req).await?;
        let (got, resp) = self.recv(key, version).await?;
        assert_eq!(got, corr, "correlation id");
        Ok(resp)
    }

    /// True if the peer closed the connection within `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(wait, self.stream.read(&mut b)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn put_varint(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

/// An uncompressed v2 batch of `values`, with producer fields.
pub fn batch_with(values: &[&[u8]], pid: i64, epoch: i16, seq: i32, ts: i64) -> Bytes {
    let mut recs = BytesMut::new();
    for (i, v) in values.iter().enumerate() {
        let mut r = BytesMut::new();
        r.put_i8(0);
        put_varint(&mut r, i as i64);
        put_varint(&mut r, i as i64);
        put_varint(&mut r, -1);
        put_varint(&mut r, v.len() as i64);
        r.extend_from_slice(v);
        put_varint(&mut r, 0);
        put_varint(&mut recs, r.len() as i64);
        recs.extend_from_slice(&r);
    }
    let n = values.len() as i32;
    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32(0);
    b.put_i32(-1);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(0);
    b.put_i32(n - 1);
    b.put_i64(ts);
    b.put_i64(ts + i64::from(n) - 1);
    b.put_i64(pid);
    b.put_i16(epoch);
    b.put_i32(seq);
    b.put_i32(n);
    b.extend_from_slice(&recs);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

pub fn batch(values: &[&[u8]]) -> Bytes {
    batch_with(values, -1, -1, -1, 1_000)
}

pub fn produce_req(topic: &str, partition: i32, acks: i16, records: Bytes) -> RequestKind {
    RequestKind::Produce(
        ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(5000)
            .with_topic_data(vec![produce_request::TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    produce_request::PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(records)),
                ])]),
    )
}

/// (error code, base offset) of the single partition of a Produce response.
pub fn produce_result(resp: &ResponseKind) -> (i16, i64) {
    let ResponseKind::Produce(r) = resp else {
        panic!("not a produce response: {resp:?}")
    };
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

pub fn fetch_req(
    topic: &str,
    topic_id: uuid::Uuid,
    partition: i32,
    offset: i64,
    max_wait_ms: i32,
) -> RequestKind {
    RequestKind::Fetch(
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default()
                .with_topic(name(topic))
                .with_topic_id(topic_id)
                .with_partitions(vec![fetch_request::FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)])]),
    )
}

pub fn fetch_partition(resp: &ResponseKind) -> &fetch_response::PartitionData {
    let ResponseKind::Fetch(r) = resp else {
        panic!("not a fetch response: {resp:?}")
    };
    &r.responses[0].partitions[0]
}

/// Base offsets and record counts of the batches in fetched records.
pub fn batches_in(records: &[u8]) -> Vec<(i64, i32)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= records.len() {
        let base = i64::from_be_bytes(records[at..at + 8].try_into().unwrap());
        let len = i32::from_be_bytes(records[at + 8..at + 12].try_into().unwrap()) as usize;
        let count = i32::from_be_bytes(records[at + 57..at + 61].try_into().unwrap());
        out.push((base, count));
        at += 12 + len;
    }
    out
}

pub fn metadata_req(topics: Option<&[&str]>, auto_create: bool) -> RequestKind {
    RequestKind::Metadata(
        MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        metadata_request::MetadataRequestTopic::default().with_name(Some(name(t)))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(auto_create),
    )
}

pub fn list_offsets_req(topic: &str, partition: i32, timestamp: i64) -> RequestKind {
    RequestKind::ListOffsets(
        ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default()
                        .with_partition_index(partition)
                        .with_timestamp(timestamp),
                ])]),
    )
}

/// (error, offset, timestamp) of a single-partition ListOffsets response.
pub fn list_offsets_result(resp: &ResponseKind) -> (i16, i64, i64) {
    let ResponseKind::ListOffsets(r) = resp else {
        panic!("not a list offsets response: {resp:?}")
    };
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.offset, p.timestamp)
}
