//! `ferrokafka consume`: kcat's consumer mode (`kcat -C`). Reads one topic
//! (all partitions, or `-p`), from `-o` (beginning by default, as kcat),
//! prints each record as its payload and a delimiter, as kcat's JSON
//! envelope (`-J`) or in a `-f` format; `-e` exits once every partition
//! reached its end, `-c` after a number of records.
//!
//! With `-G GROUP TOPIC|^REGEX...` it is kcat's balanced consumer: it
//! subscribes as a member of the group, prints the group's rebalances on
//! standard error and commits as it goes; `-e` exits once every assigned
//! partition reached its end.
//!
//! Both modes stop cleanly on SIGINT or SIGTERM (see [`super::shutdown`]):
//! the final commit is made and the group left, then the exit status is 0.
//! They exit with status 1 and a message naming the cause when a topic
//! does not exist (or may not be read), when `auto.offset.reset=error`
//! meets an offset out of range, and on fatal errors.
//!
//! Also holds [`perf_consume`], the consuming half of `ferrokafka perf`.

use super::shutdown::{Shutdown, CLOSE_TIMEOUT};
use ferrokafka::consumer::{Consumer, ConsumerError, Message, Offset, Rebalance, Timestamp};
use ferrokafka::{ClientConfig, ErrorCode, TopicPartition};
use std::collections::HashSet;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `ferrokafka consume`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    #[arg(short = 'b', long)]
    brokers: String,
    /// Topic to consume (without -G).
    #[arg(
        short = 't',
        long,
        required_unless_present = "group",
        default_value = ""
    )]
    topic: String,
    /// Balanced consumer mode: join this consumer group and consume the
    /// topics (or ^regex patterns) given after the options.
    #[arg(short = 'G', long = "group")]
    group: Option<String>,
    /// With -G: topics or ^regex patterns to subscribe to.
    #[arg(requires = "group")]
    topics: Vec<String>,
    /// Partition (default: all partitions).
    #[arg(short = 'p', long)]
    partition: Option<i32>,
    /// Start offset: beginning, end, stored, N, -N (N from the end),
    /// s@TIMESTAMP_MS.
    #[arg(
        short = 'o',
        long,
        default_value = "beginning",
        allow_hyphen_values = true
    )]
    offset: String,
    /// Exit after this many records.
    #[arg(short = 'c', long)]
    count: Option<u64>,
    /// Exit once every partition reached its end.
    #[arg(short = 'e', long)]
    exit_at_end: bool,
    /// Print each record as a JSON object (kcat's -J envelope).
    #[arg(short = 'J', long)]
    json: bool,
    /// Output format with kcat's tokens: %t topic, %p partition, %o offset,
    /// %k key, %K key length, %s payload, %S payload length, %T timestamp,
    /// %h headers, %%; escapes \n \r \t \\.
    #[arg(short = 'f', long)]
    format: Option<String>,
    /// Print the key and this delimiter before each payload.
    #[arg(short = 'K', long = "key-delimiter")]
    key_delimiter: Option<String>,
    /// Delimiter after each payload (default: newline).
    #[arg(short = 'D', long, default_value = "\\n")]
    delimiter: String,
    /// Quiet: no informational messages on standard error.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// A consumer property, `name=value` (repeatable).
    /// Append the consumer's statistics to FILE, one JSON line per
    /// `statistics.interval.ms` (default 1 s here) and one at exit.
    #[arg(long, value_name = "FILE")]
    stats_file: Option<std::path::PathBuf>,
    #[arg(short = 'X', value_name = "NAME=VALUE")]
    property: Vec<String>,
}

/// Turns `\n`-style escapes into bytes.
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let c = match b[i + 1] {
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'0' => Some(0),
                b'\\' => Some(b'\\'),
                _ => None,
            };
            if let Some(c) = c {
                out.push(c);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A JSON string as kcat's JSON writer emits it: `"` `\` and control
/// characters escaped, every other byte as is.
fn json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_opt(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// kcat's `-J` envelope of one record (without the trailing newline).
pub fn json_envelope(out: &mut Vec<u8>, m: &Message) {
    out.extend_from_slice(b"{\"topic\":");
    json_str(out, m.topic.as_bytes());
    let (tstype, ts) = match m.timestamp {
        Timestamp::CreateTime(t) => ("create", t),
        Timestamp::LogAppendTime(t) => ("logappend", t),
        Timestamp::NotAvailable => ("none", 0),
    };
    let _ = write!(
        out,
        ",\"partition\":{},\"offset\":{},\"tstype\":\"{tstype}\",\"ts\":{ts},\"broker\":{}",
        m.partition, m.offset, m.broker
    );
    if m.header_count() > 0 {
        out.extend_from_slice(b",\"headers\":[");
        for (i, (k, v)) in m.header_pairs().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, k);
            out.push(b',');
            json_opt(out, v);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"key\":");
    json_opt(out, m.key());
    out.extend_from_slice(b",\"payload\":");
    json_opt(out, m.value());
    out.push(b'}');
}

fn len_or_minus_one(b: Option<&[u8]>) -> i64 {
    b.map_or(-1, |b| b.len() as i64)
}

/// Formats one record with kcat's `-f` tokens.
pub fn format_message(out: &mut Vec<u8>, fmt: &[u8], m: &Message) {
    let mut i = 0;
    while i < fmt.len() {
        let c = fmt[i];
        if c == b'%' && i + 1 < fmt.len() {
            match fmt[i + 1] {
                b't' => out.extend_from_slice(m.topic.as_bytes()),
                b'p' => {
                    let _ = write!(out, "{}", m.partition);
                }
                b'o' => {
                    let _ = write!(out, "{}", m.offset);
                }
                b'k' => out.extend_from_slice(m.key().unwrap_or_default()),
                b'K' => {
                    let _ = write!(out, "{}", len_or_minus_one(m.key()));
                }
                b's' => out.extend_from_slice(m.value().unwrap_or_default()),
                b'S' => {
                    let _ = write!(out, "{}", len_or_minus_one(m.value()));
                }
                b'T' => {
                    let _ = write!(out, "{}", m.timestamp.millis().unwrap_or(-1));
                }
                b'h' => {
                    for (n, (k, v)) in m.header_pairs().enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(k);
                        out.push(b'=');
                        out.extend_from_slice(v.unwrap_or(b"NULL"));
                    }
                }
                b'%' => out.push(b'%'),
                other => {
                    out.push(b'%');
                    out.push(other);
                }
            }
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
}

enum Output {
    Json,
    Format(Vec<u8>),
    Plain {
        key_delim: Option<Vec<u8>>,
        delim: Vec<u8>,
    },
}

impl Output {
    fn write(&self, out: &mut Vec<u8>, m: &Message) {
        match self {
            Output::Json => {
                json_envelope(out, m);
                out.push(b'\n');
            }
            Output::Format(f) => format_message(out, f, m),
            Output::Plain { key_delim, delim } => {
                if let Some(k) = key_delim {
                    out.extend_from_slice(m.key().unwrap_or_default());
                    out.extend_from_slice(k);
                }
                out.extend_from_slice(m.value().unwrap_or_default());
                out.extend_from_slice(delim);
            }
        }
    }
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    if super::wants_property_list(&args.property) {
        super::print_property_list();
        return ExitCode::SUCCESS;
    }
    let Some(offset) = Offset::parse(&args.offset) else {
        eprintln!(
            "ferrokafka consume: invalid offset {:?}: use beginning, end, stored, N, -N or s@TIMESTAMP_MS",
            args.offset
        );
        return ExitCode::FAILURE;
    };
    let mut config = match super::client_config(Some(&args.brokers), &args.property) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ferrokafka consume: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.exit_at_end {
        config = config.set("enable.partition.eof", "true");
    }
    let output = if args.json {
        Output::Json
    } else if let Some(f) = &args.format {
        Output::Format(unescape(f))
    } else {
        Output::Plain {
            key_delim: args.key_delimiter.as_deref().map(unescape),
            delim: unescape(&args.delimiter),
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferrokafka consume: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let shutdown = Shutdown::install();
    let run = async {
        match &args.group {
            Some(g) => consume_group(&args, g, config, offset, &output, &shutdown).await,
            None => consume(&args, config, offset, &output, &shutdown).await,
        }
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrokafka consume: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Whether an error event ends the command: the consumer cannot go on
/// (fatal), was told not to guess a start (`auto.offset.reset=error`), or
/// a topic it was given does not exist or may not be read.
fn ends_consumption(e: &ConsumerError) -> bool {
    e.error().is_fatal()
        || matches!(
            e.code(),
            ErrorCode::AutoOffsetReset
                | ErrorCode::UnknownTopicOrPartition
                | ErrorCode::UnknownTopic
                | ErrorCode::TopicAuthorizationFailed
        )
}

/// Says on standard error that a signal stops the command.
fn closing(args: &Args, signal: &str) {
    if !args.quiet {
        eprintln!("% {signal} received: closing");
    }
}

async fn consume(
    args: &Args,
    config: ClientConfig,
    offset: Offset,
    output: &Output,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let (consumer, stats_file) = new_consumer(args, config)?;
    let result = consume_assigned(args, &consumer, offset, output, shutdown).await;
    if let Some(f) = &stats_file {
        f.write(&consumer.stats());
    }
    // With group.id and auto commit on, close commits what was consumed.
    let closed = consumer.close_within(CLOSE_TIMEOUT).await;
    result?;
    closed.map_err(|e| format!("close: {e}"))
}

async fn consume_assigned(
    args: &Args,
    consumer: &Consumer,
    offset: Offset,
    output: &Output,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let partitions = match args.partition {
        Some(p) => vec![p],
        None => {
            let found = tokio::select! {
                r = consumer.partitions_for(&args.topic, Duration::from_secs(30)) => r,
                sig = shutdown.wait() => {
                    closing(args, sig);
                    return Ok(());
                }
            };
            found.map_err(|e| format!("topic {}: {e}", args.topic))?
        }
    };
    let assignment: Vec<(&str, i32, Offset)> = partitions
        .iter()
        .map(|p| (args.topic.as_str(), *p, offset))
        .collect();
    consumer.assign(&assignment).map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut at_end: HashSet<i32> = HashSet::new();
    let mut n: u64 = 0;
    let write = |out: &mut std::io::StdoutLock<'_>, buf: &mut Vec<u8>| -> Result<(), String> {
        out.write_all(buf)
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write output: {e}"))?;
        buf.clear();
        Ok(())
    };
    loop {
        if args.count.is_some_and(|c| n >= c) {
            break;
        }
        if let Some(sig) = shutdown.requested() {
            closing(args, sig);
            break;
        }
        // Write out what is buffered before waiting for more.
        let item = match consumer.try_recv() {
            Some(item) => item,
            None => {
                write(&mut out, &mut buf)?;
                tokio::select! {
                    item = consumer.recv() => item,
                    sig = shutdown.wait() => {
                        closing(args, sig);
                        break;
                    }
                }
            }
        };
        match item {
            Ok(m) => {
                // Hashing per record costs more than printing it: only
                // when some partition is at its end.
                if !at_end.is_empty() {
                    at_end.remove(&m.partition);
                }
                output.write(&mut buf, &m);
                n += 1;
                if buf.len() >= 60 * 1024 {
                    write(&mut out, &mut buf)?;
                }
            }
            Err(e) if e.is_eof() => {
                let p = e.partition_id().unwrap_or(-1);
                at_end.insert(p);
                let all = partitions.iter().all(|p| at_end.contains(p));
                if !args.quiet {
                    write(&mut out, &mut buf)?;
                    let tail = if args.exit_at_end && all {
                        ": exiting"
                    } else {
                        ""
                    };
                    eprintln!(
                        "% Reached end of topic {} [{p}] at offset {}{tail}",
                        args.topic,
                        e.offset().unwrap_or(-1)
                    );
                }
                if args.exit_at_end && all {
                    break;
                }
            }
            Err(e) => {
                write(&mut out, &mut buf)?;
                if !args.quiet {
                    eprintln!("% ERROR: {e}");
                }
                if ends_consumption(&e) {
                    return Err(e.to_string());
                }
            }
        }
    }
    write(&mut out, &mut buf)?;
    Ok(())
}

fn list(parts: &[TopicPartition]) -> String {
    let v: Vec<String> = parts
        .iter()
        .map(|tp| format!("{} [{}]", tp.topic(), tp.partition()))
        .collect();
    v.join(", ")
}

/// kcat's `-G` mode: a group member printing what it is assigned.
async fn consume_group(
    args: &Args,
    group: &str,
    mut config: ClientConfig,
    offset: Offset,
    output: &Output,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let mut topics = args.topics.clone();
    if !args.topic.is_empty() {
        topics.push(args.topic.clone());
    }
    if topics.is_empty() {
        return Err("-G needs one or more topics (or ^regex patterns) after the options".into());
    }
    config = config.set("group.id", group);
    let reset_given = args
        .property
        .iter()
        .any(|p| p.starts_with("auto.offset.reset="));
    if !reset_given {
        // kcat: -o beginning/end picks where a group without offsets starts.
        let reset = if offset == Offset::End {
            "latest"
        } else {
            "earliest"
        };
        config = config.set("auto.offset.reset", reset);
    }
    let (consumer, stats_file) = new_consumer(args, config)?;
    if !args.quiet {
        let g = group.to_string();
        consumer.set_rebalance_callback(move |_, ev| match ev {
            Rebalance::Assigned(p) => eprintln!("% Group {g} rebalanced: assigned: {}", list(p)),
            Rebalance::Revoked(p) => eprintln!("% Group {g} rebalanced: revoked: {}", list(p)),
            Rebalance::Lost(p) => eprintln!("% Group {g}: partitions lost: {}", list(p)),
        });
    }
    let subs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&subs).map_err(|e| e.to_string())?;
    let stdout = std::io::stdout();
    let mut n: u64 = 0;
    // Partitions whose end was reached and nothing read since (-e).
    let mut at_end: HashSet<TopicPartition> = HashSet::new();
    // Records are formatted into one buffer, written out when it is full
    // and whenever no record is waiting (so output is never held back).
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let write = |buf: &mut Vec<u8>| -> Result<(), String> {
        if buf.is_empty() {
            return Ok(());
        }
        let mut out = stdout.lock();
        out.write_all(buf)
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write output: {e}"))?;
        buf.clear();
        Ok(())
    };
    let result: Result<(), String> = async {
        loop {
            if args.count.is_some_and(|c| n >= c) {
                return write(&mut buf);
            }
            if let Some(sig) = shutdown.requested() {
                closing(args, sig);
                return write(&mut buf);
            }
            let item = match consumer.try_recv() {
                Some(item) => item,
                None => {
                    write(&mut buf)?;
                    tokio::select! {
                        item = consumer.recv() => item,
                        sig = shutdown.wait() => {
                            closing(args, sig);
                            return Ok(());
                        }
                    }
                }
            };
            if item.is_err() {
                // Events go to standard error after the records before them.
                write(&mut buf)?;
            }
            match item {
                Ok(m) => {
                    if args.exit_at_end && !at_end.is_empty() {
                        at_end.remove(&TopicPartition::new(m.topic.clone(), m.partition));
                    }
                    output.write(&mut buf, &m);
                    n += 1;
                    if buf.len() >= 60 * 1024 {
                        write(&mut buf)?;
                    }
                }
                Err(e) if e.is_eof() => {
                    let tp = TopicPartition::new(
                        e.topic().unwrap_or(""),
                        e.partition_id().unwrap_or(-1),
                    );
                    at_end.insert(tp.clone());
                    // Every partition this member owns is at its end (kcat
                    // -e in -G mode); one that was revoked no longer counts.
                    let assigned = consumer.assignment();
                    let all = args.exit_at_end
                        && !assigned.is_empty()
                        && assigned.iter().all(|x| at_end.contains(x));
                    if !args.quiet {
                        let tail = if all { ": exiting" } else { "" };
                        eprintln!(
                            "% Reached end of topic {} [{}] at offset {}{tail}",
                            tp.topic(),
                            tp.partition(),
                            e.offset().unwrap_or(-1)
                        );
                    }
                    if all {
                        return Ok(());
                    }
                }
                Err(e) => {
                    if !args.quiet {
                        eprintln!("% ERROR: {e}");
                    }
                    if ends_consumption(&e) {
                        return Err(e.to_string());
                    }
                }
            }
        }
    }
    .await;
    if let Some(f) = &stats_file {
        f.write(&consumer.stats());
    }
    let closed = consumer.close_within(CLOSE_TIMEOUT).await;
    result?;
    closed.map_err(|e| format!("close: {e}"))
}

/// The consumer of `config`, with `--stats-file` wired to it.
fn new_consumer(
    args: &Args,
    config: ClientConfig,
) -> Result<(Consumer, Option<super::StatsFile>), String> {
    let stats_file = super::StatsFile::open(args.stats_file.as_deref())?;
    let config = match &stats_file {
        Some(f) => f.configure(config),
        None => config,
    };
    let consumer = Consumer::new(&config).map_err(|e| e.to_string())?;
    if let Some(f) = &stats_file {
        consumer.set_stats_callback(f.callback());
    }
    Ok((consumer, stats_file))
}

/// Writes the consumer's last statistics to `--stats-file` when dropped
/// (however the measurement ends).
struct LastStats<'a>(&'a Consumer, Option<&'a super::StatsFile>);

impl Drop for LastStats<'_> {
    fn drop(&mut self) {
        if let Some(f) = self.1 {
            f.write(&self.0.stats());
        }
    }
}

/// What [`perf_consume`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsumeStats {
    /// Records received.
    pub messages: u64,
    /// Key and value bytes received.
    pub bytes: u64,
    /// From the first assignment to the last record.
    pub elapsed: Duration,
}

/// Consumes every partition of `topic` from the beginning until `count`
/// records arrived (or every partition reached its end when `count` is
/// `None`), for `ferrokafka perf consume`. Gives up after `timeout`.
/// Blocking; runs its own runtime.
pub fn perf_consume(
    config: &ClientConfig,
    topic: &str,
    count: Option<u64>,
    timeout: Duration,
    stats_file: Option<&super::StatsFile>,
) -> Result<ConsumeStats, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let mut config = config.clone().set("enable.partition.eof", "true");
    if let Some(f) = stats_file {
        config = f.configure(config);
    }
    let topic = topic.to_string();
    let stats_file = stats_file.cloned();
    rt.block_on(async move {
        let consumer = Consumer::new(&config).map_err(|e| e.to_string())?;
        if let Some(f) = &stats_file {
            consumer.set_stats_callback(f.callback());
        }
        let _last = LastStats(&consumer, stats_file.as_ref());
        let parts = consumer
            .partitions_for(&topic, timeout)
            .await
            .map_err(|e| format!("topic {topic}: {e}"))?;
        let assignment: Vec<(&str, i32, Offset)> = parts
            .iter()
            .map(|p| (topic.as_str(), *p, Offset::Beginning))
            .collect();
        let start = Instant::now();
        consumer.assign(&assignment).map_err(|e| e.to_string())?;
        let mut stats = ConsumeStats {
            messages: 0,
            bytes: 0,
            elapsed: Duration::ZERO,
        };
        let mut at_end: HashSet<i32> = HashSet::new();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if count.is_some_and(|c| stats.messages >= c) {
                stats.elapsed = start.elapsed();
                break;
            }
            if stats.messages % 1024 == 0 {
                if let Some(sig) = super::shutdown::stop_requested() {
                    eprintln!("% {sig} received: stopping after {} records", stats.messages);
                    stats.elapsed = start.elapsed();
                    break;
                }
            }
            let item = match consumer.try_recv() {
                Some(i) => i,
                None => {
                    let next = tokio::time::timeout_at(deadline, consumer.recv());
                    tokio::select! {
                        item = next => item
                            .map_err(|_| format!("timed out after {} records", stats.messages))?,
                        sig = super::shutdown::stopped() => {
                            eprintln!("% {sig} received: stopping after {} records", stats.messages);
                            stats.elapsed = start.elapsed();
                            break;
                        }
                    }
                }
            };
            match item {
                Ok(m) => {
                    stats.messages += 1;
                    stats.bytes +=
                        (m.key().map_or(0, <[u8]>::len) + m.value().map_or(0, <[u8]>::len)) as u64;
                }
                Err(e) if e.is_eof() => {
                    at_end.insert(e.partition_id().unwrap_or(-1));
                    if count.is_none() && parts.iter().all(|p| at_end.contains(p)) {
                        // Read once at the end: a clock read per record
                        // would be a tenth of this loop's cost.
                        stats.elapsed = start.elapsed();
                        break;
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(stats)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_like_kcat() {
        let mut out = Vec::new();
        json_str(&mut out, b"a\"b\\c\nd\x01\xff");
        assert_eq!(out, b"\"a\\\"b\\\\c\\nd\\u0001\xff\"".to_vec());
    }

    #[test]
    fn escapes_and_offsets() {
        assert_eq!(unescape("a\\tb\\n"), b"a\tb\n".to_vec());
        assert_eq!(unescape("\\x"), b"\\x".to_vec());
    }
}
