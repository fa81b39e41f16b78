//! Batches we encode are read correctly by kafka-python (an independent
//! decoder): for every codec and several levels, this test writes batches and
//! JSON sidecars to a temporary directory and runs
//! `scripts/fixtures/read_ours.py`, which decodes them with kafka-python,
//! checks CRCs, header fields and every record.
//!
//! Peers: `FERROKAFKA_PYTHON` (default `<repo>/.venv/bin/python`) with
//! kafka-python and its codecs. With `FERROKAFKA_REQUIRE_PEERS=1` a missing
//! peer fails the test; otherwise it is skipped with a message.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferrokafka::record::wire::{BatchBuilder, BatchFlags};
use ferrokafka::record::{Compression, Header};
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The peers' Python if it can import `modules`; `None` (test skipped) when
/// it cannot, unless `FERROKAFKA_REQUIRE_PEERS=1`.
fn python(modules: &str) -> Option<PathBuf> {
    let required = std::env::var("FERROKAFKA_REQUIRE_PEERS").is_ok_and(|v| v == "1");
    let py = std::env::var_os("FERROKAFKA_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    let usable = Command::new(&py)
        .args(["-c", &format!("import {modules}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if usable {
        return Some(py);
    }
    assert!(
        !required,
        "FERROKAFKA_REQUIRE_PEERS=1 but {} cannot import {modules}",
        py.display()
    );
    eprintln!(
        "skipped: peers not installed ({} cannot import {modules}; run scripts/test.sh)",
        py.display()
    );
    None
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn spec(b: Option<&[u8]>) -> Value {
    b.map_or(Value::Null, |b| json!({ "hex": hex(b) }))
}

/// The sidecar notation `{"counter": n}`, see `scripts/fixtures/fixture_records.py`.
fn counter(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 9);
    let mut i = 0u64;
    while out.len() < n {
        out.extend_from_slice(format!("{:08},", i / 64).as_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

struct Rec {
    ts: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    value_spec: Value,
    headers: Vec<Header>,
}

fn records() -> Vec<Rec> {
    let t = 1_700_000_000_000i64;
    let plain = |ts, key: Option<&[u8]>, value: Option<&[u8]>, headers| Rec {
        ts,
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        value_spec: spec(value),
        headers,
    };
    vec![
        plain(
            t,
            Some(b"k0"),
            Some(b"v0"),
            vec![Header::new("h", Some(&b"x"[..]))],
        ),
        plain(t - 50, None, Some(b"earlier, null key"), vec![]),
        plain(
            t + 9,
            Some(b"tomb"),
            None,
            vec![Header::new("n", None::<Bytes>)],
        ),
        plain(
            t + 3,
            Some(b""),
            Some(b""),
            vec![
                Header::new("a", Some(&b""[..])),
                Header::new("a", Some(&b"2"[..])),
                Header::new("ключ", Some(&[0u8, 255][..])),
            ],
        ),
        Rec {
            ts: t + 100,
            key: Some(b"big".to_vec()),
            value: Some(counter(150_000)),
            value_spec: json!({ "counter": 150_000 }),
            headers: vec![],
        },
        plain(t + 1, Some(b"last"), Some(&[7u8; 300]), vec![]),
    ]
}

use bytes::Bytes;

/// Encodes `recs` as one batch; returns the bytes and its sidecar entry.
fn batch(
    recs: &[Rec],
    codec: Compression,
    level: Option<i32>,
    producer: Option<(i64, i16, i32)>,
    base_offset: i64,
) -> (Bytes, Value) {
    let mut b = BatchBuilder::new(recs[0].ts, 1 << 24);
    for r in recs {
        assert!(b.try_append(r.ts, r.key.as_deref(), r.value.as_deref(), &r.headers));
    }
    let transactional = producer.is_some();
    let mut enc = b
        .finish(
            codec,
            level,
            BatchFlags {
                transactional,
                control: false,
            },
        )
        .unwrap();
    if let Some((id, epoch, seq)) = producer {
        enc.set_producer(id, epoch, seq);
    }
    let (id, epoch, seq) = producer.unwrap_or((-1, -1, -1));
    // A broker stamps the base offset on append; it is outside the CRC.
    let mut bytes = enc.bytes().to_vec();
    bytes[..8].copy_from_slice(&base_offset.to_be_bytes());
    let records: Vec<Value> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "offset": base_offset + i as i64,
                "timestamp": r.ts,
                "key": spec(r.key.as_deref()),
                "value": r.value_spec,
                "headers": r.headers.iter()
                    .map(|h| json!([h.key, spec(h.value.as_deref())]))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let meta = json!({
        "magic": 2, "codec": codec.name(), "base_offset": base_offset,
        "producer_id": id, "producer_epoch": epoch, "base_sequence": seq,
        "transactional": transactional, "records": records,
    });
    (Bytes::from(bytes), meta)
}

const CASES: &[(Compression, Option<i32>)] = &[
    (Compression::None, None),
    (Compression::Gzip, None),
    (Compression::Gzip, Some(1)),
    (Compression::Gzip, Some(9)),
    (Compression::Snappy, None),
    (Compression::Lz4, None),
    (Compression::Zstd, None),
    (Compression::Zstd, Some(-5)),
    (Compression::Zstd, Some(19)),
];

/// Writes one file per case (a plain batch, then a transactional one with
/// producer fields) with its sidecar into a fresh temporary directory.
fn write_cases(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrokafka-record-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let recs = records();
    for (codec, level) in CASES {
        let (a, ma) = batch(&recs, *codec, *level, None, 0);
        let (b, mb) = batch(
            &recs[2..],
            *codec,
            *level,
            Some((9001, 4, 123)),
            recs.len() as i64,
        );
        let level = level.map_or("default".into(), |l| l.to_string());
        let name = format!("ours_{}_{level}", codec.name());
        let mut data = a.to_vec();
        data.extend_from_slice(&b);
        std::fs::write(dir.join(format!("{name}.bin")), &data).unwrap();
        let sidecar = json!({ "producer": "ferrokafka", "batches": [ma, mb] });
        std::fs::write(dir.join(format!("{name}.json")), sidecar.to_string()).unwrap();
    }
    dir
}

/// Runs `script DIR` with a time limit; asserts it succeeded and said OK for
/// every case.
fn run_checker(py: &Path, script: &str, dir: &Path, limit: Duration) {
    let script = repo_root().join("scripts/fixtures").join(script);
    let mut child = Command::new(py)
        .arg(&script)
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not finish within {limit:?}", script.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        status.success(),
        "{} rejected our batches:\n{stdout}\n{stderr}",
        script.display()
    );
    let oks = stdout.lines().filter(|l| l.starts_with("OK ")).count();
    assert_eq!(oks, CASES.len(), "{stdout}");
}

#[test]
fn kafka_python_reads_our_batches() {
    let Some(py) = python("kafka, snappy, lz4.frame, zstandard") else {
        return;
    };
    let dir = write_cases("kafka-python");
    run_checker(&py, "read_ours.py", &dir, Duration::from_secs(120));
}

/// librdkafka reads our batches: they are written byte for byte into its mock
/// cluster with a raw Produce request and consumed with check.crcs=true.
#[test]
fn librdkafka_reads_our_batches() {
    let Some(py) = python("confluent_kafka") else {
        return;
    };
    let dir = write_cases("librdkafka");
    run_checker(
        &py,
        "read_ours_librdkafka.py",
        &dir,
        Duration::from_secs(240),
    );
}
