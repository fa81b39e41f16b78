//! `ferrokafka produce`: records from a file or standard input, one per
//! line (or per `-D` delimiter), optionally split into key and value at
//! `-K`; exits 0 only when every record was delivered.
//!
//! SIGINT or SIGTERM stops reading; what was read is delivered within the
//! close timeout (see [`super::shutdown`]), and the exit status says
//! whether all of it was.

use super::shutdown::{Shutdown, CLOSE_TIMEOUT};
use bytes::Bytes;
use ferrokafka::producer::{DeliveryFuture, Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
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
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Splits the input into records at `delim`; a trailing delimiter does not
/// make an empty last record.
fn records(
    mut input: Box<dyn BufRead>,
    delim: &[u8],
    mut each: impl FnMut(Vec<u8>) -> bool,
) -> std::io::Result<()> {
    if delim.len() == 1 {
        loop {
            let mut buf = Vec::new();
            if input.read_until(delim[0], &mut buf)? == 0 {
                return Ok(());
            }
            if buf.last() == Some(&delim[0]) {
                buf.pop();
            }
            if !each(buf) {
                return Ok(());
            }
        }
    }
    let mut all = Vec::new();
    input.read_to_end(&mut all)?;
    let mut rest = &all[..];
    while !rest.is_empty() {
        let (rec, next) = match find(rest, delim) {
            Some(i) => (&rest[..i], &rest[i + delim.len()..]),
            None => (rest, &rest[rest.len()..]),
        };
        if !each(rec.to_vec()) {
            break;
        }
        rest = next;
    }
    Ok(())
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
    Record(Vec<u8>),
    /// The input ended, or could not be read.
    End(std::io::Result<()>),
}

/// Reads the records on a thread of their own, so that a signal is seen
/// while the input (a terminal, a pipe) has nothing to give.
fn read_input(
    input: Box<dyn BufRead + Send>,
    delim: Vec<u8>,
) -> Result<std::sync::mpsc::Receiver<Input>, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1024);
    std::thread::Builder::new()
        .name("ferrokafka-input".into())
        .spawn(move || {
            let r = records(input, &delim, |rec| tx.send(Input::Record(rec)).is_ok());
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
    let input: Box<dyn BufRead + Send> = match &args.file {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(BufReader::new(std::io::stdin())),
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
    let mut pending: VecDeque<Sent> = VecDeque::new();
    let mut all_ok = true;
    let mut number = 0u64;
    let mut send_error: Option<String> = None;
    let rx = read_input(input, delim)?;
    let mut handle = |line: Vec<u8>| -> bool {
        number += 1;
        let (key, value) = match &key_delim {
            Some(kd) => match find(&line, kd) {
                Some(i) => (
                    Some(Bytes::copy_from_slice(&line[..i])),
                    Bytes::copy_from_slice(&line[i + kd.len()..]),
                ),
                None => (fixed_key.clone(), Bytes::from(line)),
            },
            None => (fixed_key.clone(), Bytes::from(line)),
        };
        let mut r = ProducerRecord::new(topic.clone())
            .value(value)
            .headers(headers.clone());
        if let Some(k) = &key {
            r = r.key(k.clone());
        }
        if let Some(p) = args.partition {
            r = r.partition(p);
        }
        match producer.send_blocking(r) {
            Ok(report) => pending.push_back(Sent {
                number,
                key,
                report,
            }),
            Err(e) => {
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
        }
        while pending.front().is_some_and(|s| s.report.is_done()) {
            if let Some(s) = pending.pop_front() {
                all_ok &= settle(s, args.delivery_report, &mut out);
            }
        }
        true
    };
    let mut stopped = None;
    let read: std::io::Result<()> = loop {
        use std::sync::mpsc::RecvTimeoutError;
        if let Some(sig) = shutdown.requested() {
            stopped = Some(sig);
            break Ok(());
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Input::Record(line)) => {
                if !handle(line) {
                    break Ok(());
                }
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
        records(Box::new(input), &unescape(delim), |r| {
            v.push(r);
            true
        })
        .unwrap();
        v
    }

    #[test]
    fn lines_and_custom_delimiters() {
        assert_eq!(split(b"a\nb\n", "\\n"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(b"a\nb", "\\n"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(b"a||b||", "||"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(split(b"x\ty", "\\t"), vec![b"x".to_vec(), b"y".to_vec()]);
        assert!(split(b"", "\\n").is_empty());
        assert_eq!(unescape("\\0"), vec![0]);
        assert_eq!(find(b"k:v", b":"), Some(1));
    }
}
