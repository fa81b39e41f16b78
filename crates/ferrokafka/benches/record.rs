//! Throughput of the record batch codec: encoding 1,000 records of 100-byte
//! values into one batch, and decoding it back, per codec.
//!
//! Run: `cargo bench -p ferrokafka --bench record`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferrokafka::record::wire::{BatchBuilder, BatchFlags, BatchReader, DecodeOptions};
use ferrokafka::record::{Compression, Header};

const RECORDS: usize = 1_000;

fn payloads() -> Vec<(Vec<u8>, Vec<u8>)> {
    // Text-like values: compressible, not constant.
    (0..RECORDS)
        .map(|i| {
            let key = format!("key-{i:06}").into_bytes();
            let value = format!("{{\"id\":{i},\"user\":\"u{}\",\"event\":\"click\",\"path\":\"/p/{}\",\"pad\":\"{}\"}}", i % 97, i % 13, "x".repeat(20))
                .into_bytes();
            (key, value)
        })
        .collect()
}

fn encode(p: &[(Vec<u8>, Vec<u8>)], headers: &[Header], codec: Compression) -> Bytes {
    let mut b = BatchBuilder::new(1_700_000_000_000, 16 << 20);
    for (i, (k, v)) in p.iter().enumerate() {
        assert!(b.try_append(1_700_000_000_000 + i as i64, Some(k), Some(v), headers));
    }
    b.finish(codec, None, BatchFlags::default())
        .unwrap()
        .bytes()
}

fn bench(c: &mut Criterion) {
    let p = payloads();
    let bytes: u64 = p.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    let headers = [Header::new("trace", Some(&b"0123456789abcdef"[..]))];
    let codecs = [
        Compression::None,
        Compression::Lz4,
        Compression::Snappy,
        Compression::Zstd,
        Compression::Gzip,
    ];
    let mut g = c.benchmark_group("record_encode");
    g.throughput(Throughput::Bytes(bytes));
    for codec in codecs {
        g.bench_function(codec.name(), |b| {
            b.iter(|| black_box(encode(&p, &headers, codec)))
        });
    }
    g.finish();

    // Small batches (10 records), as low-latency producers with many
    // partitions send them: per-batch setup costs dominate.
    let small = &p[..10];
    let small_bytes: u64 = small.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
    let mut g = c.benchmark_group("record_encode_small");
    g.throughput(Throughput::Bytes(small_bytes));
    for codec in codecs {
        g.bench_function(codec.name(), |b| {
            b.iter(|| black_box(encode(small, &headers, codec)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("record_decode");
    g.throughput(Throughput::Bytes(bytes));
    for codec in codecs {
        let batch = encode(&p, &headers, codec);
        g.bench_function(codec.name(), |b| {
            b.iter(|| {
                let mut total = 0usize;
                for batch in BatchReader::new(batch.clone(), DecodeOptions::default()) {
                    for r in batch.unwrap().records() {
                        let r = r.unwrap();
                        total += r.value_bytes().map_or(0, |v| v.len()) + r.header_count();
                    }
                }
                black_box(total)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
