//! The producer's part of the statistics: what the accumulator counts
//! (records queued, delivered and failed per partition, batch sizes,
//! produce round trips and queue latency per broker) folded into the
//! shared [`Statistics`] layout, next to the connections' counters the
//! cluster layer adds.

use super::accumulator::Accumulator;
use crate::stats::{
    BrokerStatistics, EosStatistics, Histogram, PartitionStatistics, Statistics, TopicStatistics,
};
use std::time::Instant;

/// What the producer counts per broker, beyond the connection's counters.
#[derive(Debug, Default)]
pub(crate) struct ProduceBroker {
    /// ProduceRequests answered or failed.
    pub tx: u64,
    /// Bytes of record batches sent.
    pub txbytes: u64,
    /// ProduceRequests that failed.
    pub txerrs: u64,
    /// Batches retried.
    pub txretries: u64,
    /// Produce round trips, microseconds.
    pub rtt: Histogram,
    /// From a batch opening to its being sent, microseconds.
    pub int_latency: Histogram,
}

/// The idempotence and transaction states the statistics last saw, and
/// since when (their `*_stateage`: measured from the first snapshot that
/// saw the state, so at most one interval late).
#[derive(Debug, Default)]
pub(crate) struct EosSeen {
    idemp: Option<(&'static str, Instant)>,
    txn: Option<(&'static str, Instant)>,
}

fn age_ms(seen: &mut Option<(&'static str, Instant)>, state: &'static str, now: Instant) -> u64 {
    match seen {
        Some((s, at)) if *s == state => now.saturating_duration_since(*at).as_millis() as u64,
        _ => {
            *seen = Some((state, now));
            0
        }
    }
}

fn txn_state_name(s: super::txn::state::State) -> &'static str {
    use super::txn::state::State::*;
    match s {
        Uninit => "Init",
        Ready => "Ready",
        InTransaction => "InTransaction",
        Committing => "CommittingTransaction",
        Aborting => "AbortingTransaction",
        AbortableError => "AbortableError",
        FatalError => "FatalError",
    }
}

impl Accumulator {
    /// The partitions the producer has records for, for the brokers'
    /// `toppars`.
    pub(crate) fn stats_partitions(&self) -> Vec<(std::sync::Arc<str>, i32)> {
        let mut v = Vec::new();
        for t in self.topics.values() {
            for (p, pq) in t.partitions.iter().enumerate() {
                if pq.next_msgid > 1 {
                    v.push((t.name.clone(), p as i32));
                }
            }
        }
        v
    }

    /// Fills the producer's figures into `s` (whose `brokers` the cluster
    /// may have filled already); `roll` starts new windows.
    pub(crate) fn fill_stats(&mut self, s: &mut Statistics, roll: bool) {
        let now = Instant::now();
        s.msg_cnt = self.queued_msgs as u64;
        s.msg_size = self.queued_bytes as u64;
        s.msg_max = self.cfg.queue_max_messages as u64;
        s.msg_size_max = self.cfg.queue_max_bytes as u64;
        s.txmsgs = self.txmsgs;
        s.txmsg_bytes = self.txmsg_bytes;
        for (&id, pb) in self.brokers.iter_mut() {
            let int_latency = take(&mut pb.int_latency, roll);
            match s.brokers.values_mut().find(|b| b.nodeid == id) {
                Some(b) => {
                    b.txretries += pb.txretries;
                    b.int_latency = int_latency;
                }
                None => {
                    // No cluster (a test transport): the producer's own
                    // counts are all there is.
                    let name = id.to_string();
                    s.brokers.insert(
                        name.clone(),
                        BrokerStatistics {
                            name,
                            nodeid: id,
                            source: "learned".into(),
                            state: "INIT".into(),
                            tx: pb.tx,
                            txbytes: pb.txbytes,
                            txerrs: pb.txerrs,
                            txretries: pb.txretries,
                            txidle: -1,
                            rxidle: -1,
                            waitresp_cnt: self.broker_in_flight.get(&id).copied().unwrap_or(0)
                                as u64,
                            rtt: take(&mut pb.rtt, roll),
                            int_latency,
                            ..BrokerStatistics::default()
                        },
                    );
                }
            }
        }
        for t in self.topics.values_mut() {
            let mut ts = TopicStatistics {
                topic: t.name.to_string(),
                batchsize: take(&mut t.batchsize, roll),
                batchcnt: take(&mut t.batchcnt, roll),
                ..TopicStatistics::default()
            };
            for (p, pq) in t.partitions.iter().enumerate() {
                let msgs = pq.next_msgid - 1;
                let (queued, queued_bytes) = pq.batches.iter().fold((0u64, 0u64), |(n, b), x| {
                    (n + x.records() as u64, b + x.bytes as u64)
                });
                let inflight = msgs.saturating_sub(queued + pq.txmsgs + pq.failed);
                let mut ps = PartitionStatistics::new(p as i32);
                ps.leader = pq.leader.unwrap_or(-1);
                ps.broker = ps.leader;
                ps.leader_epoch = pq.leader_epoch.unwrap_or(-1);
                ps.desired = msgs > 0;
                ps.msgq_cnt = queued;
                ps.msgq_bytes = queued_bytes;
                ps.xmit_msgq_cnt = inflight;
                ps.msgs_inflight = inflight;
                ps.txmsgs = pq.txmsgs;
                ps.txbytes = pq.txbytes;
                ps.msgs = msgs;
                ps.acked_msgid = pq.txmsgs;
                if self.idem.is_some() {
                    // The oldest record not yet acknowledged, as a sequence.
                    let oldest = pq
                        .seq
                        .window
                        .iter()
                        .find(|w| w.acked.is_none())
                        .map(|w| w.first_msgid)
                        .or_else(|| pq.batches.front().map(|b| b.first_msgid))
                        .unwrap_or(pq.next_msgid);
                    ps.next_ack_seq = oldest.saturating_sub(pq.seq.base_msgid) as i32;
                    ps.next_err_seq = ps.next_ack_seq;
                }
                ts.partitions.insert(p.to_string(), ps);
            }
            if !t.unassigned.is_empty() {
                // librdkafka's "UA" partition: records waiting for metadata.
                let mut ua = PartitionStatistics::new(-1);
                ua.msgq_cnt = t.unassigned.len() as u64;
                ua.msgs = ua.msgq_cnt;
                ts.partitions.insert("-1".into(), ua);
            }
            s.topics.insert(ts.topic.clone(), ts);
        }
        if let Some(m) = &self.idem {
            let pid = m.current();
            let idemp_state = m.state_name();
            let (txn_state, may_enq) = match &self.txn {
                Some(t) => (
                    txn_state_name(t.state()),
                    t.state() == super::txn::state::State::InTransaction,
                ),
                None => ("Init", true),
            };
            s.eos = Some(EosStatistics {
                idemp_state: idemp_state.into(),
                idemp_stateage: age_ms(&mut self.eos_seen.idemp, idemp_state, now),
                txn_state: txn_state.into(),
                txn_stateage: age_ms(&mut self.eos_seen.txn, txn_state, now),
                txn_may_enq: may_enq,
                producer_id: pid.map_or(-1, |p| p.id),
                producer_epoch: pid.map_or(-1, |p| i32::from(p.epoch)),
                epoch_cnt: m.generation(),
            });
        }
    }

    /// A snapshot without a cluster (tests).
    #[cfg(test)]
    pub(crate) fn stats(&mut self) -> Statistics {
        let mut s = Statistics::default();
        self.fill_stats(&mut s, false);
        s
    }
}

fn take(h: &mut Histogram, roll: bool) -> crate::stats::Window {
    if roll {
        h.roll()
    } else {
        h.summary()
    }
}
