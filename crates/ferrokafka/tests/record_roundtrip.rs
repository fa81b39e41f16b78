//! Property tests of the record batch codec: encode -> decode is the identity
//! for arbitrary records under every codec and level, and damaged input is an
//! error, never a panic.

use bytes::Bytes;
use ferrokafka::record::wire::{BatchBuilder, BatchFlags, BatchReader, DecodeOptions, Record};
use ferrokafka::record::{Compression, Header};
use proptest::prelude::*;

#[derive(Debug, Clone, PartialEq)]
struct Rec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<Header>,
}

fn header() -> impl Strategy<Value = Header> {
    (
        "[a-zA-Z0-9_\\-é]{0,12}",
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..24)),
    )
        .prop_map(|(k, v)| Header::new(k, v))
}

fn rec() -> impl Strategy<Value = Rec> {
    (
        // Around "now" and anywhere: deltas may be negative or large.
        prop_oneof![1_600_000_000_000i64..1_900_000_000_000, any::<i64>()],
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
        proptest::collection::vec(header(), 0..4),
    )
        .prop_map(|(timestamp, key, value, headers)| Rec {
            timestamp,
            key,
            value,
            headers,
        })
}

fn codec_level() -> impl Strategy<Value = (Compression, Option<i32>)> {
    prop_oneof![
        Just((Compression::None, None)),
        proptest::option::of(0..=9).prop_map(|l| (Compression::Gzip, l)),
        Just((Compression::Snappy, None)),
        proptest::option::of(0..=12).prop_map(|l| (Compression::Lz4, l)),
        proptest::option::of(prop_oneof![-5..=-1, 1..=19]).prop_map(|l| (Compression::Zstd, l)),
    ]
}

fn encode(recs: &[Rec], codec: Compression, level: Option<i32>, flags: BatchFlags) -> Bytes {
    let mut b = BatchBuilder::new(recs[0].timestamp, usize::MAX);
    for r in recs {
        assert!(b.try_append(
            r.timestamp,
            r.key.as_deref(),
            r.value.as_deref(),
            &r.headers
        ));
    }
    assert_eq!(b.record_count() as usize, recs.len());
    b.finish(codec, level, flags).unwrap().bytes()
}

fn as_rec(r: &Record) -> Rec {
    Rec {
        timestamp: r.timestamp,
        key: r.key().map(<[u8]>::to_vec),
        value: r.value().map(<[u8]>::to_vec),
        headers: r.headers().map(|h| h.to_header().unwrap()).collect(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_is_identity(
        recs in proptest::collection::vec(rec(), 1..30),
        (codec, level) in codec_level(),
        transactional: bool,
        pid in proptest::option::of((0i64..1 << 40, 0i16..100, 0i32..1 << 30)),
    ) {
        let mut b = BatchBuilder::new(recs[0].timestamp, usize::MAX);
        for r in &recs {
            prop_assert!(b.try_append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &r.headers));
        }
        let mut enc = b.finish(codec, level, BatchFlags { transactional, control: false }).unwrap();
        if let Some((id, epoch, seq)) = pid {
            enc.set_producer(id, epoch, seq);
        }
        let mut reader = BatchReader::new(enc.bytes(), DecodeOptions::default());
        let batch = reader.next().unwrap().unwrap();
        prop_assert!(reader.next().is_none());
        prop_assert_eq!(reader.consumed(), enc.len());
        prop_assert!(!reader.is_truncated());
        let h = batch.header;
        prop_assert_eq!(h.magic, 2);
        prop_assert_eq!(h.compression(), codec);
        prop_assert_eq!(h.is_transactional(), transactional);
        prop_assert!(!h.is_control());
        prop_assert_eq!(h.record_count as usize, recs.len());
        prop_assert_eq!(h.last_offset_delta as usize, recs.len() - 1);
        prop_assert_eq!(h.base_timestamp, recs[0].timestamp);
        prop_assert_eq!(h.max_timestamp, recs.iter().map(|r| r.timestamp).max().unwrap());
        prop_assert_eq!(enc.max_timestamp(), h.max_timestamp);
        let (id, epoch, seq) = pid.unwrap_or((-1, -1, -1));
        prop_assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (id, epoch, seq));
        let decoded: Vec<Record> = batch.records().collect::<Result<_, _>>().unwrap();
        let got: Vec<Rec> = decoded.iter().map(as_rec).collect();
        prop_assert_eq!(&got, &recs);
        for (i, r) in decoded.iter().enumerate() {
            prop_assert_eq!(r.offset, i as i64);
        }
    }

    #[test]
    fn several_batches_then_a_truncated_one(
        a in proptest::collection::vec(rec(), 1..6),
        b in proptest::collection::vec(rec(), 1..6),
        (codec, level) in codec_level(),
        cut in 1usize..1000,
    ) {
        let first = encode(&a, codec, level, BatchFlags::default());
        let second = encode(&b, Compression::None, None, BatchFlags::default());
        let mut buf = first.to_vec();
        buf.extend_from_slice(&second);
        let cut = cut.min(second.len() - 1);
        buf.truncate(buf.len() - cut);
        let mut reader = BatchReader::new(Bytes::from(buf), DecodeOptions::default());
        let got = reader.next().unwrap().unwrap();
        prop_assert_eq!(got.records().count(), a.len());
        prop_assert!(reader.next().is_none());
        prop_assert!(reader.is_truncated());
        prop_assert_eq!(reader.consumed(), first.len());
    }

    #[test]
    fn mutated_batches_never_panic(
        recs in proptest::collection::vec(rec(), 1..8),
        (codec, level) in codec_level(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        check_crc: bool,
    ) {
        let mut buf = encode(&recs, codec, level, BatchFlags::default()).to_vec();
        for (at, byte) in flips {
            let i = at.index(buf.len());
            buf[i] ^= byte;
        }
        if let Some(cut) = cut {
            buf.truncate(cut.index(buf.len()));
        }
        let opts = DecodeOptions { check_crc, max_decompressed_bytes: 1 << 20 };
        let mut reader = BatchReader::new(Bytes::from(buf.clone()), opts);
        for batch in reader.by_ref().take(10) {
            let Ok(batch) = batch else { break };
            for r in batch.records().take(100) {
                let Ok(r) = r else { break };
                prop_assert!(r.headers().count() <= r.header_count());
            }
        }
        prop_assert!(reader.consumed() <= buf.len());
        ferrokafka::record::fuzzing::fuzz_decode(&buf);
    }
}

#[test]
fn crc_mismatch_is_reported_and_can_be_skipped() {
    let recs = [Rec {
        timestamp: 1,
        key: Some(b"k".to_vec()),
        value: Some(b"v".to_vec()),
        headers: vec![],
    }];
    let mut buf = encode(&recs, Compression::None, None, BatchFlags::default()).to_vec();
    let last = buf.len() - 1;
    buf[last] ^= 0x01; // inside the records section, which the CRC covers
    let err = BatchReader::new(Bytes::from(buf.clone()), DecodeOptions::default())
        .next()
        .unwrap()
        .unwrap_err();
    assert!(err.message().contains("CRC-32C mismatch"), "{err}");
    let opts = DecodeOptions {
        check_crc: false,
        ..DecodeOptions::default()
    };
    assert!(BatchReader::new(Bytes::from(buf), opts)
        .next()
        .unwrap()
        .is_ok());
}

#[test]
fn max_bytes_is_honoured_except_for_the_first_record() {
    let big = vec![7u8; 5000];
    let mut b = BatchBuilder::new(0, 1000);
    assert!(
        b.try_append(0, None, Some(&big), &[]),
        "first record always fits"
    );
    assert!(!b.try_append(0, None, Some(b"x"), &[]));
    assert_eq!(b.record_count(), 1);
    let mut b = BatchBuilder::new(0, 300);
    let mut n = 0;
    while b.try_append(0, None, Some(&[1u8; 50]), &[]) {
        n += 1;
        assert!(n < 100, "max_bytes not enforced");
    }
    assert!(b.len() <= 300, "len {} over max_bytes", b.len());
    let enc = b
        .finish(Compression::None, None, BatchFlags::default())
        .unwrap();
    assert_eq!(enc.len(), b_len_check(n));
    assert_eq!(enc.record_count(), n);
}

/// 61-byte header plus `n` records of a 50-byte value, offset delta < 64.
fn b_len_check(n: i32) -> usize {
    // length(1) attrs(1) ts(1) offset(1) key(1) value(1+50) headers(1)
    61 + n as usize * 57
}

#[test]
fn upper_bound_covers_the_real_size() {
    let headers = vec![Header::new("h", Some(&b"value"[..]))];
    let bound = BatchBuilder::record_size_upper_bound(Some(10), Some(1000), &headers);
    let mut b = BatchBuilder::new(0, usize::MAX);
    assert!(b.try_append(i64::MAX, Some(&[0; 10]), Some(&[0; 1000]), &headers));
    assert!(b.len() <= bound, "{} > {bound}", b.len());
}

#[test]
fn set_producer_restamps_and_crc_stays_valid() {
    let recs: Vec<Rec> = (0..100)
        .map(|i| Rec {
            timestamp: 1000 + i,
            key: None,
            value: Some(vec![i as u8; 100]),
            headers: vec![],
        })
        .collect();
    let mut b = BatchBuilder::new(1000, usize::MAX);
    b.set_producer(7, 1, 0);
    for r in &recs {
        assert!(b.try_append(r.timestamp, None, r.value.as_deref(), &[]));
    }
    let mut enc = b
        .finish(
            Compression::Lz4,
            None,
            BatchFlags {
                transactional: true,
                control: false,
            },
        )
        .unwrap();
    let before = enc.bytes();
    let check = |bytes: Bytes| {
        let batch = BatchReader::new(bytes, DecodeOptions::default())
            .next()
            .unwrap()
            .unwrap();
        (
            batch.header.producer_id,
            batch.header.producer_epoch,
            batch.header.base_sequence,
        )
    };
    assert_eq!(check(before.clone()), (7, 1, 0));
    // `before` still shares the bytes: the re-stamp must copy, not mutate it.
    enc.set_producer(7, 2, 500);
    assert_eq!(check(enc.bytes()), (7, 2, 500));
    assert_eq!(check(before), (7, 1, 0));
}
