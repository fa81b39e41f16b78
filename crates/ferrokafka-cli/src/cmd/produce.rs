//! `ferrokafka produce`: records from a file or standard input, one per
//! line (or per `-D` delimiter), optionally split into key and value at
//! `-K`; exits 0 only when every record was delivered.
//!
//! SIGINT or SIGTERM stops reading; what was read is delivered within the
//! close timeout (see [`super::shutdown`]), and the exit status says
//! whether all of it was.

use super::shutdown::{Shutdown, CLOSE_TIMEOUT};
use bytes::Bytes;
use bytes::BytesMut;
use ferrokafka::producer::{DeliveryFuture, Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Arguments of `ferrokafka produce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    #[arg(short = 'b', long)]
    brokers: String,
    /// Topic to produce to.
    #[arg(short = 't', long)]
    topic: String,
    /// Partition (default: the partitioner chooses).
    #[arg(short = 'p', long)]
    partition: Option<i32>,
    /// Key of every record.
    #[arg(short = 'k', long)]
    key: Option<String>,
    /// Split each record at the first KEY_DELIMITER into key and value.
    #[arg(short = 'K', long = "key-delimiter")]
    key_delimiter: Option<String>,
    /// Record delimiter (default: newline); `\n`, `\t`, `\r`, `\0` escapes.
    #[arg(short = 'D', long, default_value = "\\n")]
    delimiter: String,
    /// Compression codec: none, gzip, snappy, lz4, zstd.
    #[arg(short = 'z', long)]
    compression: Option<String>,
    /// A header `NAME=VALUE` added to every record (repeatable).
    #[arg(short = 'H', value_name = "NAME=VALUE")]
    header: Vec<String>,
    /// A producer property, `name=value` (repeatable).
    #[arg(short = 'X', value_name = "NAME=VALUE")]
    property: Vec<String>,
    /// Print one JSON line per delivered record (partition, offset, key).
    #[arg(long)]
    delivery_report: bool,
    /// Append the producer's statistics to FILE, one JSON line per
    /// `statistics.interval.ms` (default 1 s here) and one at exit.
    #[arg(long, value_name = "FILE")]
    stats_file: Option<std::path::PathBuf>,
    /// Input file (default: standard input).
    file: Option<std::path::PathBuf>,
}

/// Turns `\n`-style escapes into bytes.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some('0') => out.push(0),
            Some('\\') => out.push(b'\\'),
            Some(other) => {
                out.push(b'\\');
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => None,
        [b] => memchr::memchr(*b, hay),
        _ => memchr::memmem::find(hay, needle),
    }
}

/// Input is read in buffers of this size, and every record is a slice of
/// its buffer (`Bytes::slice`): no allocation and no copy per record.
/// 128 KiB reads as fast as 1 MiB did, and a 1M-line produce from a file
/// peaks at 22.5 MiB instead of 42.7 (BENCHMARKS.md "Session 13"). From a
/// pipe, whose reads return at most 64 KiB, 1 MiB buffers already peaked
/// at 21 MiB: what costs is how much one read hands on at once, though
/// the exact mechanism is not established.
const CHUNK: usize = 128 << 10;

/// A read is not attempted into less room than this: the unread tail moves
/// to a fresh buffer first.
const MIN_READ: usize = 64 << 10;

/// Splits the input into records at `delim`, handing `each` the records of
/// every read at once (false stops). A trailing delimiter does not make an
/// empty last record; a record longer than a buffer grows the next one.
/// Each read is handed on as soon as it arrives, so records typed on a
/// terminal go out line by line.
fn records(
    mut input: impl Read,
    delim: &[u8],
    mut each: impl FnMut(Vec<Bytes>) -> bool,
) -> std::io::Result<()> {
    // `buf[..filled]` was read and not yet handed on; of it, `scanned`
    // bytes are known to hold no delimiter start.
    let mut buf = BytesMut::zeroed(CHUNK);
    let (mut filled, mut scanned) = (0usize, 0usize);
    loop {
        if buf.len() - filled < MIN_READ {
            // Zeroed once per buffer, not per read.
            let mut next = BytesMut::zeroed(CHUNK.max(2 * filled + MIN_READ));
            next[..filled].copy_from_slice(&buf[..filled]);
            buf = next;
        }
        let n = match input.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            if filled > 0 {
                each(vec![buf.split_to(filled).freeze()]);
            }
            return Ok(());
        }
        filled += n;
        let mut ends = Vec::new();
        let mut at = scanned;
        while let Some(i) = find(&buf[at..filled], delim) {
            ends.push(at + i);
            at += i + delim.len();
        }
        scanned = filled.saturating_sub(delim.len().saturating_sub(1)).max(at);
        if ends.is_empty() {
            continue;
        }
        let read = buf.split_to(at).freeze();
        filled -= at;
        scanned -= at;
        let mut start = 0;
        let recs: Vec<Bytes> = ends
            .iter()
            .map(|&end| {
                let r = read.slice(start..end);
                start = end + delim.len();
                r
            })
            .collect();
        if !each(recs) {
            return Ok(());
        }
    }
}

/// The outcome of the records sent without a report handle (no
/// `--delivery-report`): counted by [`count_delivery`], a callback that
/// captures nothing, so that sending costs no allocation per record. One
/// `produce` runs per process, hence a static.
struct Tally {
    delivered: AtomicU64,
    failed: AtomicU64,
    /// Failures not yet printed (the callback runs on the producer's
    /// thread, which must not block on standard error).
    errors: Mutex<Vec<String>>,
}

static TALLY: Tally = Tally {
    delivered: AtomicU64::new(0),
    failed: AtomicU64::new(0),
    errors: Mutex::new(Vec::new()),
};

fn count_delivery(r: ferrokafka::producer::DeliveryResult) {
    match r {
        Ok(_) => {
            TALLY.delivered.fetch_add(1, Ordering::Release);
        }
        Err(e) => {
            let key = match e.record.as_ref().and_then(|r| r.key_bytes()) {
                Some(k) => format!(" with key {:?}", String::from_utf8_lossy(k)),
                None => String::new(),
            };
            let line = format!(
                "record{key}: delivery failed: {} ({}): {}",
                e.error.code().name(),
                e.status,
                e.error.message()
            );
            TALLY
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(line);
            // After the line: whoever sees the count finds the line too.
            TALLY.failed.fetch_add(1, Ordering::Release);
        }
    }
}

/// Prints the failures counted so far; false if there were any.
fn print_failures() -> bool {
    let lines = std::mem::take(&mut *TALLY.errors.lock().unwrap_or_else(|p| p.into_inner()));
    for l in &lines {
        eprintln!("{l}");
    }
    lines.is_empty()
}

struct Sent {
    number: u64,
    key: Option<Bytes>,
    report: DeliveryFuture,
}

/// Waits for the oldest report; prints it; false on failure.
fn settle(s: Sent, json: bool, out: &mut impl Write) -> bool {
    match s.report.wait() {
        Ok(m) => {
            if json {
                let line = serde_json::json!({
                    "topic": &*m.topic,
                    "partition": m.partition,
                    "offset": m.offset,
                    "key": s.key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()),
                });
                let _ = writeln!(out, "{line}");
            }
            true
        }
        Err(e) => {
            eprintln!(
                "record {}: delivery failed: {} ({}): {}",
                s.number,
                e.error.code().name(),
                e.status,
                e.error.message()
            );
            false
        }
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let shutdown = Shutdown::install();
    match produce(args, &shutdown) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("ferrokafka produce: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the input thread hands over.
enum Input {
    /// The records of one read.
    Records(Vec<Bytes>),
    /// The input ended, or could not be read.
    End(std::io::Result<()>),
}

/// Reads the records on a thread of their own, so that a signal is seen
/// while the input (a terminal, a pipe) has nothing to give.
fn read_input(
    input: Box<dyn Read + Send>,
    delim: Vec<u8>,
) -> Result<std::sync::mpsc::Receiver<Input>, String> {
    // Two reads ahead keep the producer fed; more only hold buffers
    // alive (9 MiB of peak RSS at 8 with 1 MiB buffers, for no speed).
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    std::thread::Builder::new()
        .name("ferrokafka-input".into())
        .spawn(move || {
            let r = records(input, &delim, |recs| tx.send(Input::Records(recs)).is_ok());
            let _ = tx.send(Input::End(r));
        })
        .map_err(|e| format!("cannot start the input thread: {e}"))?;
    Ok(rx)
}

fn produce(args: Args, shutdown: &Shutdown) -> Result<bool, String> {
    let mut config: ClientConfig = super::client_config(Some(&args.brokers), &[])?;
    if let Some(z) = &args.compression {
        config = config.set("compression.codec", z.clone());
    }
    for p in &args.property {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("-X {p}: expected name=value"))?;
        config = config.set(k.trim(), v.trim());
    }
    let mut headers = Vec::new();
    for h in &args.header {
        let (k, v) = h
            .split_once('=')
            .ok_or_else(|| format!("-H {h}: expected NAME=VALUE"))?;
        headers.push(ferrokafka::record::Header::new(
            k,
            Some(v.as_bytes().to_vec()),
        ));
    }
    let stats_file = super::StatsFile::open(args.stats_file.as_deref())?;
    if let Some(f) = &stats_file {
        config = f.configure(config);
    }
    let producer = Producer::new(&config).map_err(|e| e.to_string())?;
    if let Some(f) = &stats_file {
        producer.set_stats_callback(f.callback());
    }
    let input: Box<dyn Read + Send> = match &args.file {
        Some(path) => {
            Box::new(std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?)
        }
        None => Box::new(std::io::stdin()),
    };
    let topic: Arc<str> = Arc::from(args.topic.as_str());
    let delim = unescape(&args.delimiter);
    let key_delim = args.key_delimiter.as_deref().map(unescape);
    let fixed_key = args
        .key
        .as_ref()
        .map(|k| Bytes::from(k.clone().into_bytes()));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Report handles are kept only when each report is printed
    // (--delivery-report); otherwise a counting callback tallies them.
    let mut pending: VecDeque<Sent> = VecDeque::new();
    let mut all_ok = true;
    let mut number = 0u64;
    let mut send_error: Option<String> = None;
    // Records handed to the counting callback.
    let mut counted = 0u64;
    let rx = read_input(input, delim)?;
    let mut handle = |line: Bytes| -> bool {
        number += 1;
        let (key, value) = match &key_delim {
            Some(kd) => match find(&line, kd) {
                Some(i) => (Some(line.slice(..i)), line.slice(i + kd.len()..)),
                None => (fixed_key.clone(), line),
            },
            None => (fixed_key.clone(), line),
        };
        let mut r = ProducerRecord::new(topic.clone()).value(value);
        if !headers.is_empty() {
            r = r.headers(headers.clone());
        }
        if let Some(k) = &key {
            r = r.key(k.clone());
        }
        if let Some(p) = args.partition {
            r = r.partition(p);
        }
        let sent = if args.delivery_report {
            producer.send_blocking(r).map(|report| {
                pending.push_back(Sent {
                    number,
                    key,
                    report,
                })
            })
        } else {
            let r = producer.send_blocking_with_callback(r, count_delivery);
            counted += u64::from(r.is_ok());
            r
        };
        if let Err(e) = sent {
            eprintln!(
                "record {number}: not sent: {} ({}): {}",
                e.error.code().name(),
                ferrokafka::producer::PersistenceStatus::NotPersisted,
                e.error.message()
            );
            all_ok = false;
            if e.error.code() != ferrokafka::ErrorCode::MsgSizeTooLarge {
                send_error = Some(e.error.to_string());
                return false;
            }
        }
        while pending.front().is_some_and(|s| s.report.is_done()) {
            if let Some(s) = pending.pop_front() {
                all_ok &= settle(s, args.delivery_report, &mut out);
            }
        }
        true
    };
    // Failures counted by the callback, printed after each read.
    let mut reports_ok = true;
    let mut stopped = None;
    let read: std::io::Result<()> = loop {
        use std::sync::mpsc::RecvTimeoutError;
        if let Some(sig) = shutdown.requested() {
            stopped = Some(sig);
            break Ok(());
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Input::Records(recs)) => {
                if !recs.into_iter().all(&mut handle) {
                    break Ok(());
                }
                reports_ok &= print_failures();
            }
            Ok(Input::End(r)) => break r,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Ok(()),
        }
    };
    read.map_err(|e| format!("reading input: {e}"))?;
    // A timeout leaves the reports to the loop below; a fatal error is the
    // reason every later record failed, so it is what the command reports.
    let flushed = match stopped {
        Some(sig) => {
            eprintln!("% {sig} received: delivering what was read, then exiting");
            // Bounded: what is not delivered by then is purged, and its
            // report says so.
            producer.close(CLOSE_TIMEOUT)
        }
        None => producer.flush(Duration::from_secs(600)),
    };
    if let Err(ferrokafka::producer::FlushError::Fatal(e)) = flushed {
        send_error.get_or_insert_with(|| format!("the producer stopped: {e}"));
    }
    for s in pending.drain(..) {
        all_ok &= settle(s, args.delivery_report, &mut out);
    }
    // `flush` returns after every callback ran; after `close` (a signal)
    // the reports of records purged in flight may still be arriving.
    let deadline = std::time::Instant::now() + CLOSE_TIMEOUT;
    while TALLY.delivered.load(Ordering::Acquire) + TALLY.failed.load(Ordering::Acquire) < counted
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let reported = TALLY.delivered.load(Ordering::Acquire) + TALLY.failed.load(Ordering::Acquire);
    if reported < counted {
        eprintln!(
            "% {} records have no delivery report after the flush",
            counted - reported
        );
        all_ok = false;
    }
    all_ok &= reports_ok & print_failures();
    let failed = TALLY.failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!(
            "% {failed} of {number} records were not delivered ({} delivered)",
            TALLY.delivered.load(Ordering::Relaxed)
        );
    }
    let _ = out.flush();
    if let Some(f) = &stats_file {
        f.write(&producer.stats());
    }
    if let Some(e) = send_error {
        return Err(e);
    }
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &'static [u8], delim: &str) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        records(input, &unescape(delim), |recs| {
            v.extend(recs.iter().map(|r| r.to_vec()));
            true
        })
        .unwrap();
        v
    }

    /// Hands out the input a few bytes per read, as a pipe may.
    struct Trickle(&'static [u8], usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_and_custom_delimiters() {
        assert_eq!(split(b"a\nb\n", "\\n"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(b"a\nb", "\\n"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(b"a||b||", "||"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(b"x\ty", "\\t"), vec![b"x".to_vec(), b"y".to_vec()]);
        assert_eq!(
            split(b"a\n\nb\n", "\\n"),
            vec![b"a".to_vec(), vec![], b"b".to_vec()]
        );
        assert!(split(b"", "\\n").is_empty());
        assert_eq!(split(b"no delimiter", ""), vec![b"no delimiter".to_vec()]);
        assert_eq!(unescape("\\0"), vec![0]);
        assert_eq!(find(b"k:v", b":"), Some(1));
        assert_eq!(find(b"k::v", b"::"), Some(1));
    }

    #[test]
    fn records_and_delimiters_split_across_reads() {
        for step in [1, 2, 3, 7] {
            let mut v = Vec::new();
            records(Trickle(b"ab||cd|e||||f", step), b"||", |recs| {
                v.extend(recs.iter().map(|r| r.to_vec()));
                true
            })
            .unwrap();
            assert_eq!(
                v,
                vec![b"ab".to_vec(), b"cd|e".to_vec(), vec![], b"f".to_vec()],
                "{step} bytes per read"
            );
        }
    }

    #[test]
    fn records_longer_than_a_buffer_and_many_buffers() {
        // Three buffers' worth of 100-byte lines, then one line 2.5
        // buffers long: every record whole, in order, however the reads
        // fall.
        let mut input = Vec::new();
        for i in 0..(3 * CHUNK / 100) {
            input.extend_from_slice(format!("{i:099}\n").as_bytes());
        }
        let long = vec![b'L'; CHUNK * 5 / 2];
        input.extend_from_slice(&long);
        input.push(b'\n');
        let input: &'static [u8] = Box::leak(input.into_boxed_slice());
        let mut v: Vec<Bytes> = Vec::new();
        let mut reads = 0;
        records(Trickle(input, 300_000), b"\n", |recs| {
            reads += 1;
            v.extend(recs);
            true
        })
        .unwrap();
        assert!(reads > 3, "{reads}");
        assert_eq!(v.len(), 3 * CHUNK / 100 + 1);
        for (i, r) in v[..v.len() - 1].iter().enumerate() {
            assert_eq!(&r[..], format!("{i:099}").as_bytes());
        }
        assert_eq!(&v[v.len() - 1][..], &long[..]);
    }

    #[test]
    fn a_false_answer_stops_reading() {
        let mut calls = 0;
        records(Trickle(b"a\nb\nc\n", 2), b"\n", |_| {
            calls += 1;
            false
        })
        .unwrap();
        assert_eq!(calls, 1);
    }
}
