//! A read-only view of the transactional ids, for the transaction admin
//! APIs (ListTransactions, DescribeTransactions); the state machine above
//! stays the only writer.

use super::{Transactions, TxnState};

/// One transactional id as the admin APIs report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnView {
    pub(crate) transactional_id: String,
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) state: TxnState,
    pub(crate) timeout_ms: i32,
    /// When the open transaction started, on the coordinator clock; `None`
    /// outside a transaction.
    pub(crate) started: Option<u64>,
    pub(crate) partitions: Vec<(String, i32)>,
}

impl TxnState {
    /// The state's name as Kafka's coordinator spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }
}

impl Transactions {
    /// Every transactional id, sorted.
    pub(crate) fn views(&self) -> Vec<TxnView> {
        let mut v: Vec<TxnView> = self
            .txns
            .iter()
            .map(|(id, t)| TxnView {
                transactional_id: id.clone(),
                producer_id: t.producer_id,
                epoch: t.epoch,
                state: t.state,
                timeout_ms: t.timeout_ms,
                // An ongoing transaction times out `timeout_ms` after it
                // started.
                started: (t.state == TxnState::Ongoing).then(|| {
                    t.deadline
                        .saturating_sub(u64::try_from(t.timeout_ms).unwrap_or(0))
                }),
                partitions: t.partitions.iter().cloned().collect(),
            })
            .collect();
        v.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        v
    }
}
