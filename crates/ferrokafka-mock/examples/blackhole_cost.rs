//! Measures what the blackhole mode costs the broker: one broker on a
//! single-threaded runtime (one core), a client on another thread sending
//! pipelined Produce requests of 100-byte records. Prints records/s and the
//! records one broker-core-second absorbs (records / broker thread CPU time).
//!
//! `cargo run --release -p ferrokafka-mock --example blackhole_cost [SECONDS] [RECORDS_PER_BATCH]`
//! (Linux: broker CPU time is read from /proc.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use ferrokafka_mock::MockCluster;
use kafka_protocol::messages::{produce_request, ApiKey, ProduceRequest, RequestHeader, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

fn put_varint(buf: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    buf.put_u8(z as u8);
}

/// An uncompressed v2 batch of `n` records with 100-byte values.
fn batch(n: i32) -> bytes::Bytes {
    let mut recs = BytesMut::new();
    for i in 0..n {
        let mut r = BytesMut::new();
        r.put_i8(0);
        put_varint(&mut r, 0);
        put_varint(&mut r, i64::from(i));
        put_varint(&mut r, -1);
        put_varint(&mut r, 100);
        r.extend_from_slice(&[b'x'; 100]);
        put_varint(&mut r, 0);
        put_varint(&mut recs, r.len() as i64);
        recs.extend_from_slice(&r);
    }
    let mut b = BytesMut::new();
    b.put_i64(0);
    b.put_i32(0);
    b.put_i32(-1);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(0);
    b.put_i32(n - 1);
    b.put_i64(0);
    b.put_i64(0);
    b.put_i64(-1);
    b.put_i16(-1);
    b.put_i32(-1);
    b.put_i32(n);
    b.extend_from_slice(&recs);
    let len = (b.len() - 12) as i32;
    b[8..12].copy_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&b[21..]);
    b[17..21].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

/// CPU seconds used so far by the thread whose stat file is `path`.
fn thread_cpu(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the comm field.
    let ticks: f64 = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let per_batch: i32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let blackhole = !args.iter().any(|a| a == "--store");
    let partitions = 4;

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let c = MockCluster::builder()
                .brokers(1)
                .topic("bench", partitions, 1)
                .blackhole(blackhole)
                .retention_bytes(64 << 20)
                .build()
                .await
                .unwrap();
            let tid = std::fs::read_link("/proc/thread-self")
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            tx.send((c.bootstrap_servers(), format!("/proc/{tid}/stat")))
                .unwrap();
            std::future::pending::<()>().await;
        });
    });
    let (bootstrap, stat) = rx.recv().unwrap();

    let records = batch(per_batch);
    let req = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("bench")))
            .with_partition_data(
                (0..partitions)
                    .map(|p| {
                        produce_request::PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(records.clone()))
                    })
                    .collect(),
            )]);
    let version = 9;
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    let mut header = RequestHeader::default();
    header.request_api_key = ApiKey::Produce as i16;
    header.request_api_version = version;
    header
        .encode(&mut frame, ApiKey::Produce.request_header_version(version))
        .unwrap();
    req.encode(&mut frame, version).unwrap();
    let len = (frame.len() - 4) as i32;
    frame[0..4].copy_from_slice(&len.to_be_bytes());
    let frame = frame.freeze();

    let mut s = TcpStream::connect(bootstrap.as_str()).unwrap();
    s.set_nodelay(true).unwrap();
    let window = 8;
    let mut reader = s.try_clone().unwrap();
    let mut inflight = 0;
    let mut acked: u64 = 0;
    let read_one = |reader: &mut TcpStream| {
        let mut len = [0u8; 4];
        reader.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        reader.read_exact(&mut body).unwrap();
    };
    let cpu0 = thread_cpu(&stat);
    let start = Instant::now();
    let until = start + Duration::from_secs(seconds);
    while Instant::now() < until {
        while inflight < window {
            s.write_all(&frame).unwrap();
            inflight += 1;
        }
        read_one(&mut reader);
        inflight -= 1;
        acked += (per_batch * partitions) as u64;
    }
    while inflight > 0 {
        read_one(&mut reader);
        inflight -= 1;
        acked += (per_batch * partitions) as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = thread_cpu(&stat) - cpu0;
    println!(
        "mode={} batch={per_batch}x100B partitions={partitions} requests_of={:.0}KiB: {:.0} records/s acked, broker thread {:.0}% of a core, {:.0} records per broker-core-second",
        if blackhole { "blackhole" } else { "store" },
        frame.len() as f64 / 1024.0,
        acked as f64 / elapsed,
        100.0 * cpu / elapsed,
        acked as f64 / cpu.max(1e-9)
    );
}
