//! A read-only view of the producers writing to a partition, for
//! DescribeProducers (KIP-664).

use super::PartitionLog;

/// One producer as DescribeProducers reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveProducer {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    /// The last sequence written, -1 before any.
    pub(crate) last_sequence: i32,
    /// The append time of its last batch, -1 before any.
    pub(crate) last_timestamp: i64,
    /// The first offset of its open transaction, if one is open.
    pub(crate) txn_start_offset: Option<i64>,
}

impl PartitionLog {
    /// Every producer with idempotence state or an open transaction here,
    /// by id.
    pub(crate) fn active_producers(&self) -> Vec<ActiveProducer> {
        let mut ids: Vec<i64> = self.producers.keys().copied().collect();
        ids.extend(self.open_txns.keys().copied());
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let e = self.producers.get(&id);
                let last = e.and_then(|e| e.recent.back());
                ActiveProducer {
                    producer_id: id,
                    epoch: e.map_or(0, |e| e.epoch),
                    last_sequence: last.map_or(-1, |b| b.1),
                    last_timestamp: last.map_or(-1, |b| b.3),
                    txn_start_offset: self.open_txns.get(&id).copied(),
                }
            })
            .collect()
    }
}
