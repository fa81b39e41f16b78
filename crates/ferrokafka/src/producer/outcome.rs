//! What happens to a batch once its request is answered (or failed):
//! delivered, retried in its original place, or failed with its
//! persistence status; and the accounting of finished batches.

use super::accumulator::Accumulator;
use super::batch::{possibly_persisted, Batch, Done};
use super::delivery::{BatchOutcome, PersistenceStatus};
use super::queue::{PartitionResult, ProduceJob};
use super::statistics::ProduceBroker;
use crate::cluster::stale_leader;
use crate::error::{Error, ErrorCode};
use std::time::{Duration, Instant};

impl Accumulator {
    /// Records the encoded size of a batch sent to `broker` (statistics).
    /// The encoded RecordBatch stays with the batch until it is reported,
    /// so from now on it counts against `queue.buffering.max.kbytes` too.
    /// The request references those bytes instead of copying them
    /// (`protocol::body`), so the request adds nothing to count.
    pub(crate) fn on_batch_sent(&mut self, broker: i32, b: &mut Batch, encoded_len: usize) {
        if !b.encoded_counted {
            b.encoded_counted = true;
            b.cost += encoded_len;
            self.queued_bytes += encoded_len;
        }
        // Records whose `Msg` the sender dropped (`batch::shed`).
        let shed = std::mem::take(&mut b.shed_cost);
        b.cost -= shed;
        self.queued_bytes -= shed;
        let t = &mut self.topics[b.topic_idx];
        t.batchsize.record(encoded_len as u64);
        t.batchcnt.record(b.records() as u64);
        let waited = Instant::now().saturating_duration_since(b.created);
        let bs = self.broker_entry(broker);
        bs.txbytes += encoded_len as u64;
        bs.int_latency.record(waited.as_micros() as u64);
    }

    pub(super) fn broker_entry(&mut self, broker: i32) -> &mut ProduceBroker {
        self.brokers.entry(broker).or_default()
    }

    /// The outcome of a job: `results` holds one entry per batch, in the
    /// job's order (`Err` for a request-level failure such as a transport
    /// error or timeout). `rtt` is the request's round trip when it had one.
    pub(crate) fn on_response(
        &mut self,
        job: ProduceJob,
        results: Vec<Result<PartitionResult, Error>>,
        rtt: Option<Duration>,
        now: Instant,
    ) {
        let broker = job.broker;
        if let Some(n) = self.broker_in_flight.get_mut(&broker) {
            *n = n.saturating_sub(1);
        }
        {
            let bs = self.broker_entry(broker);
            bs.tx += 1;
            if let Some(rtt) = rtt {
                bs.rtt.record(rtt.as_micros() as u64);
            }
        }
        let mut results = results.into_iter();
        for mut b in job.batches {
            let res = results.next().unwrap_or_else(|| {
                Err(Error::new(
                    ErrorCode::BadMsg,
                    format!(
                        "ProduceResponse has no result for {} [{}]",
                        b.topic, b.partition
                    ),
                ))
            });
            let t = &mut self.topics[b.topic_idx];
            let pq = &mut t.partitions[b.partition as usize];
            pq.in_flight = pq.in_flight.saturating_sub(1);
            self.inflight_msgs = self.inflight_msgs.saturating_sub(b.records());
            if self.idem.is_some() {
                self.idempotent_result(b, res, broker, now);
                continue;
            }
            let hint = res.as_ref().ok().and_then(|r| r.current_leader);
            let error = match res {
                Ok(r) if r.error == ErrorCode::NoError => {
                    let partition = b.partition;
                    self.finish(
                        b,
                        BatchOutcome::Delivered {
                            partition,
                            base_offset: r.base_offset,
                            log_append_time: r.log_append_time,
                        },
                    );
                    continue;
                }
                Ok(r) => {
                    let mut e = Error::new(
                        r.error,
                        match r.message {
                            Some(m) => format!("{} [{}]: {m}", b.topic, b.partition),
                            None => format!("{} [{}]", b.topic, b.partition),
                        },
                    );
                    if r.error == ErrorCode::MsgSizeTooLarge {
                        e = e.with_retriable(false);
                    }
                    e
                }
                Err(e) => e,
            };
            if possibly_persisted(error.code()) {
                b.maybe_persisted = true;
            }
            if stale_leader(error.code()) {
                pq.leader_failed(hint);
                self.stale_topics.push(b.topic_idx);
            }
            let retriable = error.is_retriable() && self.cfg.acks != 0;
            let expired = b.deadline.is_some_and(|d| now >= d);
            if retriable && !expired && b.attempts <= self.cfg.retries {
                self.broker_entry(broker).txretries += 1;
                b.retry_at = Some(now + self.cfg.backoff(b.attempts));
                let pq = &mut self.topics[b.topic_idx].partitions[b.partition as usize];
                // As with idempotence: drain, then restart from the oldest
                // unacknowledged batch, one at a time, so later batches are
                // not written ahead of the retry.
                pq.recover = Some(pq.recover.map_or(b.first_msgid, |r| r.max(b.first_msgid)));
                let pos = pq
                    .batches
                    .iter()
                    .position(|x| x.first_msgid > b.first_msgid)
                    .unwrap_or(pq.batches.len());
                pq.batches.insert(pos, b);
                continue;
            }
            self.broker_entry(broker).txerrs += 1;
            let status = if b.maybe_persisted {
                PersistenceStatus::PossiblyPersisted
            } else {
                PersistenceStatus::NotPersisted
            };
            let error = if retriable && expired {
                Error::new(
                    ErrorCode::MsgTimedOut,
                    format!(
                        "{} [{}]: message.timeout.ms expired in flight (last error: {error})",
                        b.topic, b.partition
                    ),
                )
            } else {
                error
            };
            self.finish(b, BatchOutcome::Failed { error, status });
        }
        let in_flight = self.requests_in_flight();
        if let Some(m) = &mut self.idem {
            m.on_in_flight(in_flight, now);
        }
    }

    /// Accounts a finished batch and queues its report.
    pub(super) fn finish(&mut self, b: Batch, mut outcome: BatchOutcome) {
        if let BatchOutcome::Delivered { partition, .. } = &mut outcome {
            *partition = b.partition;
        }
        let n = b.records();
        self.queued_msgs -= n;
        self.queued_bytes -= b.cost;
        let pq = self.topics[b.topic_idx]
            .partitions
            .get_mut(b.partition as usize);
        match outcome {
            BatchOutcome::Delivered { .. } => {
                self.txmsgs += n as u64;
                self.txmsg_bytes += b.bytes as u64;
                if let Some(pq) = pq {
                    pq.txmsgs += n as u64;
                    pq.txbytes += b.bytes as u64;
                }
            }
            BatchOutcome::Failed { ref error, .. } => {
                self.txerrs += n as u64;
                if let Some(pq) = pq {
                    pq.failed += n as u64;
                }
                if let Some(tx) = self.txn.as_mut() {
                    tx.on_delivery_failed(error);
                }
            }
        }
        self.pending_done.push(Done::Batch(b, outcome));
    }
}
