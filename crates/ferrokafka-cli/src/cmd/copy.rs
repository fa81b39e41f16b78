//! `ferrokafka copy`: an exactly-once consume-transform-produce loop,
//! modelled on Apache Kafka's `TransactionalMessageCopier`.
//!
//! It reads `--input` as a member of group `-G` with read_committed, and
//! copies every record (key, value and headers) to `--output` inside
//! transactions of `--transaction-size` records, committing the input
//! offsets in the same transaction (`send_offsets_to_transaction` with the
//! consumer's group metadata, so a member fenced by a rebalance cannot
//! commit). After an abort (`--random-aborts`, an abortable error, or a
//! rebalance in the middle of a transaction) it rewinds every assigned
//! partition to its committed offset and copies those records again, so
//! each input record reaches the output exactly once however often the
//! process is killed and restarted with the same transactional id.
//!
//! Exit status: 0 after `--max-messages` records were copied, when no
//! input arrived for `--idle-exit-ms` (counted from joining the group, and
//! from the end of the last transaction), or on SIGINT/SIGTERM (the open
//! transaction is aborted); 1 on a fatal error (for example
//! PRODUCER_FENCED when a newer copy with the same transactional id
//! started), with the error on standard error. Each transaction's outcome
//! is printed on standard output as one JSON object.

use super::shutdown::{Shutdown, CLOSE_TIMEOUT};
use ferrokafka::consumer::{Consumer, Offset};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::Error;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Arguments of `ferrokafka copy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Bootstrap brokers, `host:port[,host:port...]`.
    #[arg(short = 'b', long)]
    brokers: String,
    /// Topic to read.
    #[arg(long)]
    input: String,
    /// Topic to write.
    #[arg(long)]
    output: String,
    /// Consumer group of the input.
    #[arg(short = 'G', long = "group")]
    group: String,
    /// The producer's transactional.id.
    #[arg(long = "transactional-id")]
    transactional_id: String,
    /// Records per transaction.
    #[arg(long = "transaction-size", default_value_t = 200)]
    transaction_size: usize,
    /// Abort about one transaction in three (and copy its records again).
    #[arg(long = "random-aborts")]
    random_aborts: bool,
    /// Exit after this many records were copied (committed).
    #[arg(long = "max-messages")]
    max_messages: Option<u64>,
    /// Exit once no input arrived for this many milliseconds.
    #[arg(long = "idle-exit-ms", default_value_t = 10_000)]
    idle_exit_ms: u64,
    /// A property for both clients, `name=value` (repeatable); consumer
    /// and producer properties go to their own client.
    #[arg(short = 'X', value_name = "NAME=VALUE")]
    property: Vec<String>,
}

/// Timeout of each transaction call.
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

/// A small xorshift generator for `--random-aborts` (no need for quality).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng(t ^ (u64::from(std::process::id()) << 32) | 1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n == 0
    }
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("% error: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(copy(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("% error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Splits `-X` properties between the consumer and the producer by the
/// property table's scope (a property for both goes to both).
fn configs(args: &Args) -> Result<(ferrokafka::ClientConfig, ferrokafka::ClientConfig), String> {
    use ferrokafka::config::{self, AppliesTo};
    let mut consumer = super::client_config(Some(&args.brokers), &[])?;
    let mut producer = super::client_config(Some(&args.brokers), &[])?;
    for p in &args.property {
        let (name, value) = p
            .split_once('=')
            .ok_or_else(|| format!("-X {p:?}: expected name=value"))?;
        let name = name.trim();
        let scope = config::properties()
            .find(|x| x.name() == name)
            .map(|x| x.applies_to());
        match scope {
            Some(AppliesTo::Consumer) => consumer = consumer.set(name, value),
            Some(AppliesTo::Producer) => producer = producer.set(name, value),
            _ => {
                consumer = consumer.set(name, value);
                producer = producer.set(name, value);
            }
        }
    }
    let consumer = consumer
        .set("group.id", &args.group)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set("auto.offset.reset", "earliest");
    let producer = producer.set("transactional.id", &args.transactional_id);
    Ok((consumer, producer))
}

/// Moves every assigned partition back to the group's committed offset
/// (the beginning when none), so an aborted transaction's input is read
/// again.
async fn rewind(consumer: &Consumer) -> Result<(), String> {
    let assigned = consumer.assignment();
    if assigned.is_empty() {
        return Ok(());
    }
    let tps: Vec<(&str, i32)> = assigned
        .iter()
        .map(|tp| (tp.topic(), tp.partition()))
        .collect();
    let committed = consumer
        .committed(&tps, TXN_TIMEOUT)
        .await
        .map_err(|e| format!("cannot read committed offsets to rewind: {e}"))?;
    for (t, p, o) in committed {
        let to = o.map_or(Offset::Beginning, Offset::Offset);
        if let Err(e) = consumer.seek(&t, p, to) {
            // A rebalance may revoke the partition while its committed
            // offset is read (a coordinator's failover does). It then
            // needs no rewind: whoever is assigned it next, this consumer
            // included, starts from the committed offset.
            if is_assigned(consumer, &t, p) {
                return Err(format!("cannot rewind {t} [{p}]: {e}"));
            }
        }
    }
    Ok(())
}

fn is_assigned(consumer: &Consumer, topic: &str, partition: i32) -> bool {
    consumer
        .assignment()
        .iter()
        .any(|tp| tp.topic() == topic && tp.partition() == partition)
}

fn report(args: &Args, outcome: &str, records: usize, copied: u64) {
    println!(
        "{}",
        serde_json::json!({
            "transactionalId": args.transactional_id,
            "outcome": outcome,
            "records": records,
            "totalCopied": copied,
        })
    );
}

/// Aborts the open transaction and rewinds the input. A fatal error ends
/// the command.
async fn abort(producer: &Producer, consumer: &Consumer) -> Result<(), String> {
    let mut tries = 0;
    loop {
        match producer.abort_transaction(TXN_TIMEOUT).await {
            Ok(()) => break,
            Err(e) if e.is_retriable() && tries < 10 => tries += 1,
            Err(e) => return Err(format!("abort_transaction: {e}")),
        }
    }
    rewind(consumer).await
}

async fn copy(args: &Args) -> Result<(), String> {
    if args.transaction_size == 0 {
        return Err("--transaction-size must be at least 1".into());
    }
    let shutdown = Shutdown::install();
    let (cconf, pconf) = configs(args)?;
    let consumer = Consumer::new(&cconf).map_err(|e| e.to_string())?;
    let producer = Producer::new(&pconf).map_err(|e| e.to_string())?;
    producer
        .init_transactions(TXN_TIMEOUT)
        .await
        .map_err(|e| format!("init_transactions: {e}"))?;
    consumer
        .subscribe(&[args.input.as_str()])
        .map_err(|e| e.to_string())?;
    let idle = Duration::from_millis(args.idle_exit_ms);
    let mut rng = Rng::new();
    let mut copied: u64 = 0;
    let mut last_input = Instant::now();
    // Records read by the previous transaction.
    let mut last_n = 0usize;
    let result: Result<(), String> = async {
        loop {
            // Idle time is time spent waiting for input: ending a
            // transaction that took long (its coordinator failing over, a
            // commit retried for many seconds) is not idleness, and must
            // not end the copy while input is still waiting.
            if last_n > 0 {
                last_input = Instant::now();
            }
            if args.max_messages.is_some_and(|m| copied >= m) {
                return Ok(());
            }
            let want = match args.max_messages {
                Some(m) => (args.transaction_size as u64).min(m - copied) as usize,
                None => args.transaction_size,
            };
            producer
                .begin_transaction()
                .map_err(|e| format!("begin_transaction: {e}"))?;
            // Rebalances before this transaction are history.
            while consumer.next_rebalance().is_some() {}
            let mut positions: BTreeMap<(String, i32), i64> = BTreeMap::new();
            let mut n = 0usize;
            let mut rebalanced = false;
            let mut stop = false;
            while n < want {
                // Idle time counts only once the member joined the group: a
                // join may wait for members that died without leaving.
                if consumer.group_metadata().is_none_or(|g| g.generation_id() < 0) {
                    last_input = Instant::now();
                }
                let left = idle.saturating_sub(last_input.elapsed());
                if left.is_zero() {
                    stop = true;
                    break;
                }
                let item = tokio::select! {
                    item = tokio::time::timeout(left.min(Duration::from_millis(200)), consumer.recv()) => item,
                    _ = shutdown.wait() => { stop = true; break; }
                };
                if consumer.next_rebalance().is_some() {
                    rebalanced = true;
                }
                let m = match item {
                    Err(_) => {
                        // Nothing now: commit what there is rather than
                        // hold a transaction open while idle.
                        if n > 0 {
                            break;
                        }
                        continue;
                    }
                    Ok(Err(e)) if e.is_eof() => continue,
                    Ok(Err(e)) => {
                        if e.error().is_fatal() {
                            return Err(format!("consumer: {e}"));
                        }
                        eprintln!("% consumer: {e}");
                        continue;
                    }
                    Ok(Ok(m)) => m,
                };
                last_input = Instant::now();
                let mut r = ProducerRecord::new(args.output.clone()).headers(m.headers());
                if let Some(k) = m.key_bytes() {
                    r = r.key(k);
                }
                if let Some(v) = m.value_bytes() {
                    r = r.value(v);
                }
                positions.insert((m.topic.to_string(), m.partition), m.offset + 1);
                if let Err(e) = producer.send_wait(r).await {
                    if e.error.is_fatal() {
                        return Err(format!("send: {}", e.error));
                    }
                    // Abortable (or a full queue): this transaction is lost.
                    rebalanced = true;
                    break;
                }
                n += 1;
            }
            last_n = n;
            if rebalanced || (args.random_aborts && n > 0 && rng.one_in(3)) {
                abort(&producer, &consumer).await?;
                report(args, "aborted", n, copied);
                if stop {
                    return Ok(());
                }
                continue;
            }
            if n == 0 {
                abort(&producer, &consumer).await?;
                if stop {
                    return Ok(());
                }
                continue;
            }
            let offsets: Vec<(&str, i32, i64)> = positions
                .iter()
                .map(|((t, p), o)| (t.as_str(), *p, *o))
                .collect();
            let group = consumer
                .group_metadata()
                .ok_or("the consumer has no group metadata")?;
            // A failure before the commit was asked for can always be
            // aborted; a commit still timing out after its retries cannot
            // (the coordinator may have committed) and ends the command.
            let (committed, can_abort) = match producer
                .send_offsets_to_transaction(&offsets, &group, TXN_TIMEOUT)
                .await
            {
                Ok(()) => (commit(&producer).await, false),
                Err(e) => (Err(e), true),
            };
            match committed {
                Ok(()) => {
                    copied += n as u64;
                    report(args, "committed", n, copied);
                }
                Err(e) if e.is_fatal() || (e.is_retriable() && !can_abort) => {
                    return Err(format!("transaction: {e}"))
                }
                Err(e) => {
                    eprintln!("% transaction failed, aborting and copying again: {e}");
                    abort(&producer, &consumer).await?;
                    report(args, "aborted", n, copied);
                }
            }
            if stop {
                return Ok(());
            }
        }
    }
    .await;
    if let Err(e) = &result {
        // A fatal producer error leaves nothing to abort.
        if producer.fatal_error().is_none() {
            let _ = producer.abort_transaction(CLOSE_TIMEOUT).await;
        }
        let _ = consumer.close_within(CLOSE_TIMEOUT).await;
        return Err(e.clone());
    }
    let _ = producer.close(CLOSE_TIMEOUT);
    // Everything copied is committed by now; leaving the group is a
    // courtesy (its session would expire anyway), so a failure to leave
    // is reported without failing the copy.
    if let Err(e) = consumer.close_within(CLOSE_TIMEOUT).await {
        eprintln!("% warning: leaving group {}: {e}", args.group);
    }
    Ok(())
}

/// Commits, calling again after a retriable timeout (the commit resumes;
/// once the coordinator was asked to commit, an abort is no longer
/// allowed). Still failing after ten tries ends the command: a restart with
/// the same transactional id completes the transaction.
async fn commit(producer: &Producer) -> Result<(), Error> {
    let mut tries = 0;
    loop {
        match producer.commit_transaction(TXN_TIMEOUT).await {
            Err(e) if e.is_retriable() && tries < 10 => tries += 1,
            r => return r,
        }
    }
}
