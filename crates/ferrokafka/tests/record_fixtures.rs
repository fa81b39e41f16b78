//! Batches written by other clients decode to exactly what they hold: every
//! fixture under `tests/fixtures/records/` (made by librdkafka and kafka-python
//! for each codec and format, see `scripts/fixtures/`) is decoded and compared,
//! header fields and records, with its JSON sidecar.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use ferrokafka::record::wire::{BatchReader, DecodeOptions};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/records")
}

/// The sidecar's byte-string notation, see `scripts/fixtures/fixture_records.py`.
fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::Object(o) => {
            if let Some(hex) = o.get("hex").and_then(Value::as_str) {
                Some(
                    (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                        .collect(),
                )
            } else {
                let n = o["counter"].as_u64().unwrap() as usize;
                let mut out = Vec::with_capacity(n + 9);
                let mut i = 0u64;
                while out.len() < n {
                    out.extend_from_slice(format!("{:08},", i / 64).as_bytes());
                    i += 1;
                }
                out.truncate(n);
                Some(out)
            }
        }
        other => panic!("bad byte string in sidecar: {other}"),
    }
}

fn check_fixture(bin: &Path) -> usize {
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let data = std::fs::read(bin).unwrap();
    let sidecar: Value =
        serde_json::from_slice(&std::fs::read(bin.with_extension("json")).unwrap()).unwrap();
    let want_batches = sidecar["batches"].as_array().unwrap();
    let mut reader = BatchReader::new(Bytes::from(data.clone()), DecodeOptions::default());
    let legacy = want_batches[0]["magic"].as_i64().unwrap() < 2;
    // MessageSet v0/v1 sidecars list one logical batch; uncompressed ones are
    // one entry per record on the wire, so records are compared flattened.
    let want_records: Vec<&Value> = want_batches
        .iter()
        .flat_map(|b| b["records"].as_array().unwrap())
        .collect();
    let mut got_records = Vec::new();
    let mut n_batches = 0;
    for (bi, batch) in reader.by_ref().enumerate() {
        let batch = batch.unwrap_or_else(|e| panic!("{name}: batch {bi}: {e}"));
        let want = &want_batches[if legacy { 0 } else { bi }];
        let h = batch.header;
        let ctx = format!("{name}: batch {bi}");
        assert_eq!(
            i64::from(h.magic),
            want["magic"].as_i64().unwrap(),
            "{ctx}: magic"
        );
        assert_eq!(
            h.compression().name(),
            want["codec"].as_str().unwrap(),
            "{ctx}: codec"
        );
        assert_eq!(
            h.producer_id,
            want["producer_id"].as_i64().unwrap(),
            "{ctx}"
        );
        assert_eq!(
            i64::from(h.producer_epoch),
            want["producer_epoch"].as_i64().unwrap(),
            "{ctx}"
        );
        assert_eq!(
            i64::from(h.base_sequence),
            want["base_sequence"].as_i64().unwrap(),
            "{ctx}"
        );
        assert_eq!(
            h.is_transactional(),
            want["transactional"].as_bool().unwrap(),
            "{ctx}"
        );
        assert!(!h.is_control(), "{ctx}");
        let records: Vec<_> = batch
            .records()
            .enumerate()
            .map(|(ri, r)| r.unwrap_or_else(|e| panic!("{ctx}: record {ri}: {e}")))
            .collect();
        assert_eq!(
            h.record_count as usize,
            records.len(),
            "{ctx}: record count"
        );
        let first = records.first().expect("a batch with records");
        let last = records.last().unwrap();
        assert_eq!(h.base_offset, first.offset, "{ctx}: base offset");
        assert_eq!(h.last_offset(), last.offset, "{ctx}: last offset");
        let max_ts = records.iter().map(|r| r.timestamp).max().unwrap();
        assert_eq!(h.max_timestamp, max_ts, "{ctx}: max timestamp");
        if !legacy {
            let want_recs = want["records"].as_array().unwrap();
            assert_eq!(
                h.base_offset,
                want["base_offset"].as_i64().unwrap(),
                "{ctx}"
            );
            assert_eq!(records.len(), want_recs.len(), "{ctx}: records");
        }
        got_records.extend(records);
        n_batches += 1;
    }
    assert_eq!(
        got_records.len(),
        want_records.len(),
        "{name}: record count"
    );
    for (ri, (rec, w)) in got_records.iter().zip(&want_records).enumerate() {
        let ctx = format!("{name}: record {ri}");
        assert_eq!(rec.offset, w["offset"].as_i64().unwrap(), "{ctx}: offset");
        assert_eq!(
            rec.timestamp,
            w["timestamp"].as_i64().unwrap(),
            "{ctx}: timestamp"
        );
        assert_eq!(
            rec.key().map(<[u8]>::to_vec),
            bytes_of(&w["key"]),
            "{ctx}: key"
        );
        assert_eq!(
            rec.value().map(<[u8]>::to_vec),
            bytes_of(&w["value"]),
            "{ctx}: value"
        );
        let headers: Vec<(String, Option<Vec<u8>>)> = rec
            .headers()
            .map(|h| (h.key_str().unwrap().to_owned(), h.value.map(<[u8]>::to_vec)))
            .collect();
        let want_headers: Vec<(String, Option<Vec<u8>>)> = w["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_owned(), bytes_of(&p[1])))
            .collect();
        assert_eq!(headers, want_headers, "{ctx}: headers");
    }
    let (entries, last_len) = entries(&data);
    assert_eq!(n_batches, entries, "{name}: batch count");
    assert_eq!(reader.consumed(), data.len(), "{name}: bytes consumed");
    assert!(!reader.is_truncated(), "{name}");
    let n_records = got_records.len();

    // The same bytes cut anywhere inside the last batch: the complete batches
    // still decode and the rest is reported as truncated, not as an error.
    let last_start = data.len() - last_len;
    for cut in [last_start + 1, last_start + 12, data.len() - 1] {
        let mut r = BatchReader::new(Bytes::from(data[..cut].to_vec()), DecodeOptions::default());
        let mut complete = 0;
        for b in r.by_ref() {
            b.unwrap_or_else(|e| panic!("{name}: cut at {cut}: {e}"));
            complete += 1;
        }
        assert_eq!(complete, entries - 1, "{name}: cut at {cut}");
        assert!(r.is_truncated(), "{name}: cut at {cut}");
        assert_eq!(r.consumed(), last_start, "{name}: cut at {cut}");
    }
    n_records
}

/// Number of batches/entries in `data` and the length of the last one,
/// walking the length fields independently of the decoder.
fn entries(data: &[u8]) -> (usize, usize) {
    let mut pos = 0;
    let mut n = 0;
    let mut last = 0;
    while pos < data.len() {
        let len = i32::from_be_bytes(data[pos + 8..pos + 12].try_into().unwrap()) as usize;
        last = 12 + len;
        pos += last;
        n += 1;
    }
    (n, last)
}

#[test]
fn every_fixture_decodes_to_its_sidecar() {
    let mut bins: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bin"))
        .collect();
    bins.sort();
    let names: Vec<String> = bins
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    // Every codec from both producers, and every legacy format kafka-python writes.
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        for producer in ["librdkafka_v2", "kafka_python_v2"] {
            let want = format!("{producer}_{codec}");
            assert!(names.contains(&want), "missing fixture {want}");
        }
        if codec != "zstd" {
            for magic in [0, 1] {
                let want = format!("kafka_python_v{magic}_{codec}");
                assert!(names.contains(&want), "missing fixture {want}");
            }
        }
    }
    for bin in &bins {
        let n = check_fixture(bin);
        assert!(n > 0, "{}: no records", bin.display());
    }
}
