//! Producer ids and transactions, as a state machine without I/O.
//!
//! Owns the producer-id registry (every id handed out by InitProducerId with
//! its current epoch, which the produce path consults to fence old epochs)
//! and the state of every `transactional.id`: the partitions and groups in
//! its open transaction, its timeout, and the Empty → Ongoing →
//! PrepareCommit/PrepareAbort → CompleteCommit/CompleteAbort cycle.
//!
//! Ending a transaction hands out a [`TxnEnd`]: the control markers the caller
//! writes to the partition logs, and the groups whose staged offsets it makes
//! visible or drops; [`Transactions::finish`] then completes the state. The
//! caller owns the logs and groups; this module only decides.

use std::collections::{BTreeSet, HashMap};

use kafka_protocol::error::ResponseError as E;

use super::group::NONE;

/// Largest transaction timeout accepted (the broker's
/// `transaction.max.timeout.ms` default).
const MAX_TXN_TIMEOUT_MS: i32 = 900_000;

/// The state of a transactional id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxnState {
    /// No transaction since InitProducerId.
    Empty,
    /// Partitions or offsets were added.
    Ongoing,
    /// EndTxn(commit) accepted; markers being written.
    PrepareCommit,
    /// EndTxn(abort) or a timeout accepted; markers being written.
    PrepareAbort,
    /// The last transaction committed.
    CompleteCommit,
    /// The last transaction aborted.
    CompleteAbort,
}

/// A control marker to write: the end of `producer_id`'s transaction on
/// one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    pub topic: String,
    pub partition: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub commit: bool,
}

/// The work of ending one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnEnd {
    pub transactional_id: String,
    pub producer_id: i64,
    pub commit: bool,
    /// One per partition of the transaction.
    pub markers: Vec<Marker>,
    /// Groups whose offsets staged by `producer_id` become visible (commit)
    /// or are dropped (abort).
    pub groups: Vec<String>,
}

#[derive(Debug)]
struct TxnMeta {
    producer_id: i64,
    epoch: i16,
    /// The epoch before the last bump, and whether its holder may still
    /// recover with InitProducerId (KIP-360): true when a timeout or that
    /// producer's own recovery bumped it, false when a new producer fenced it.
    last_epoch: Option<(i16, bool)>,
    timeout_ms: i32,
    state: TxnState,
    partitions: BTreeSet<(String, i32)>,
    groups: BTreeSet<String>,
    /// An Ongoing transaction is aborted when `now` reaches this.
    deadline: u64,
    /// The last transaction was ended by a transaction-version-2 EndTxn,
    /// which bumped the epoch: an EndTxn retried with the epoch before
    /// that bump gets the same answer again (KIP-890).
    ended_v2: Option<bool>,
}

/// Producer ids and transactional ids of the cluster.
#[derive(Debug)]
pub(crate) struct Transactions {
    next_producer_id: i64,
    /// Current epoch of every producer id handed out.
    epochs: HashMap<i64, i16>,
    txns: HashMap<String, TxnMeta>,
}

impl Default for Transactions {
    fn default() -> Self {
        Transactions {
            // Real clusters hand out ids from blocks well above 0; starting
            // higher makes an id confused with an offset or count stand out.
            next_producer_id: 1000,
            epochs: HashMap::new(),
            txns: HashMap::new(),
        }
    }
}

/// What InitProducerId answers: `(producer id, epoch)` or an error code,
/// and the transaction it had to abort first, if any.
pub(crate) type InitOutcome = (Result<(i64, i16), i16>, Option<TxnEnd>);

impl Transactions {
    fn allocate(&mut self) -> i64 {
        let id = self.next_producer_id;
        self.next_producer_id = self.next_producer_id.saturating_add(1);
        self.epochs.insert(id, 0);
        id
    }

    /// The current epoch of `producer_id`, if this cluster handed it out.
    pub(crate) fn producer_epoch(&self, producer_id: i64) -> Option<i16> {
        self.epochs.get(&producer_id).copied()
    }

    /// The state of a transactional id.
    #[cfg(test)]
    pub(crate) fn state(&self, transactional_id: &str) -> Option<TxnState> {
        self.txns.get(transactional_id).map(|t| t.state)
    }

    /// Whether `producer_id` at `epoch` has `topic`/`partition` in its
    /// ongoing transaction (for the produce path's check of transactional
    /// batches).
    pub(crate) fn in_transaction(
        &self,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> bool {
        self.txns.values().any(|t| {
            t.producer_id == producer_id
                && t.epoch == epoch
                && t.state == TxnState::Ongoing
                && t.partitions.contains(&(topic.to_string(), partition))
        })
    }

    /// Handles InitProducerId.
    ///
    /// Without a transactional id: a producer passing an id and epoch this
    /// registry knows gets the epoch bumped (KIP-360), anyone else a new id.
    /// With one: a new id starts at epoch 0; a known id gets its epoch bumped,
    /// fencing the previous holder, after its open transaction is aborted
    /// (the returned [`TxnEnd`], which the caller must carry out and then
    /// [`finish`](Self::finish)).
    pub(crate) fn init_producer_id(
        &mut self,
        transactional_id: Option<&str>,
        timeout_ms: i32,
        producer_id: i64,
        producer_epoch: i16,
    ) -> InitOutcome {
        let Some(txn_id) = transactional_id.filter(|t| !t.is_empty()) else {
            if producer_id >= 0 {
                if let Some(current) = self.epochs.get(&producer_id).copied() {
                    if current != producer_epoch {
                        return (Err(E::InvalidProducerEpoch.code()), None);
                    }
                    if current < i16::MAX - 1 {
                        self.epochs.insert(producer_id, current + 1);
                        return (Ok((producer_id, current + 1)), None);
                    }
                }
            }
            return (Ok((self.allocate(), 0)), None);
        };
        if timeout_ms <= 0 || timeout_ms > MAX_TXN_TIMEOUT_MS {
            return (Err(E::InvalidTransactionTimeout.code()), None);
        }
        let Some(meta) = self.txns.get(txn_id) else {
            let pid = self.allocate();
            self.txns.insert(
                txn_id.to_string(),
                TxnMeta {
                    producer_id: pid,
                    epoch: 0,
                    last_epoch: None,
                    timeout_ms,
                    state: TxnState::Empty,
                    partitions: BTreeSet::new(),
                    groups: BTreeSet::new(),
                    deadline: 0,
                    ended_v2: None,
                },
            );
            return (Ok((pid, 0)), None);
        };
        if matches!(meta.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return (Err(E::ConcurrentTransactions.code()), None);
        }
        // KIP-360: a producer naming its id and epoch may only recover its
        // own session: the current epoch, or the one a timeout replaced.
        let mut already_bumped = false;
        if producer_id >= 0 {
            if producer_id != meta.producer_id {
                return (Err(E::ProducerFenced.code()), None);
            }
            if producer_epoch != meta.epoch {
                match meta.last_epoch {
                    Some((last, true)) if last == producer_epoch => already_bumped = true,
                    _ => return (Err(E::ProducerFenced.code()), None),
                }
            }
        }
        let recovering = producer_id >= 0;
        let aborted = if meta.state == TxnState::Ongoing {
            self.bump_and_abort(txn_id, recovering)
        } else {
            None
        };
        let Some(meta) = self.txns.get_mut(txn_id) else {
            return (Err(E::UnknownServerError.code()), aborted);
        };
        if aborted.is_some() {
            // Aborting already bumped the epoch and fenced the old holder.
            meta.state = TxnState::CompleteAbort;
        } else if !already_bumped {
            bump_epoch(
                meta,
                recovering,
                &mut self.next_producer_id,
                &mut self.epochs,
            );
        }
        meta.timeout_ms = timeout_ms;
        meta.partitions.clear();
        meta.groups.clear();
        meta.ended_v2 = None;
        (Ok((meta.producer_id, meta.epoch)), aborted)
    }

    /// Moves an Ongoing transaction to PrepareAbort with a bumped epoch and
    /// returns its markers.
    fn bump_and_abort(&mut self, txn_id: &str, recoverable: bool) -> Option<TxnEnd> {
        let meta = self.txns.get_mut(txn_id)?;
        let old_pid = meta.producer_id;
        bump_epoch(
            meta,
            recoverable,
            &mut self.next_producer_id,
            &mut self.epochs,
        );
        meta.state = TxnState::PrepareAbort;
        // The markers carry the new epoch so they fence the old producer on
        // every partition; a new producer id (epoch exhaustion) still ends
        // the old id's transaction, so markers name the old id then.
        let (pid, epoch) = if meta.producer_id == old_pid {
            (meta.producer_id, meta.epoch)
        } else {
            (old_pid, i16::MAX)
        };
        Some(end_of(txn_id, meta, pid, epoch, false))
    }

    /// Checks a transactional request's id, producer id and epoch; an
    /// epoch replaced by a timeout gets `INVALID_PRODUCER_EPOCH` (abortable,
    /// the producer may recover), one replaced by a new producer
    /// `PRODUCER_FENCED` (fatal).
    fn check(&self, txn_id: &str, producer_id: i64, epoch: i16) -> Result<(), i16> {
        let Some(meta) = self.txns.get(txn_id) else {
            return Err(E::InvalidProducerIdMapping.code());
        };
        if meta.producer_id != producer_id {
            return Err(E::InvalidProducerIdMapping.code());
        }
        if meta.epoch != epoch {
            return Err(match meta.last_epoch {
                Some((last, true)) if last == epoch => E::InvalidProducerEpoch.code(),
                _ => E::ProducerFenced.code(),
            });
        }
        if matches!(meta.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
            return Err(E::ConcurrentTransactions.code());
        }
        Ok(())
    }

    fn begin(&mut self, now: u64, txn_id: &str) -> Option<&mut TxnMeta> {
        let meta = self.txns.get_mut(txn_id)?;
        if meta.state != TxnState::Ongoing {
            meta.state = TxnState::Ongoing;
            meta.ended_v2 = None;
            meta.partitions.clear();
            meta.groups.clear();
            meta.deadline = now.saturating_add(meta.timeout_ms.max(0) as u64);
        }
        Some(meta)
    }

    /// Handles AddPartitionsToTxn. `exists` says whether a partition exists.
    /// Returns one error code per partition, in order: all `NONE` and the
    /// partitions added, or nothing added and the failing ones named with the
    /// rest `OPERATION_NOT_ATTEMPTED`.
    pub(crate) fn add_partitions(
        &mut self,
        now: u64,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: &[(String, i32)],
        exists: impl Fn(&str, i32) -> bool,
    ) -> Vec<i16> {
        if let Err(code) = self.check(txn_id, producer_id, epoch) {
            return vec![code; partitions.len()];
        }
        let missing: Vec<bool> = partitions.iter().map(|(t, p)| !exists(t, *p)).collect();
        if missing.iter().any(|m| *m) {
            return missing
                .iter()
                .map(|m| {
                    if *m {
                        E::UnknownTopicOrPartition.code()
                    } else {
                        E::OperationNotAttempted.code()
                    }
                })
                .collect();
        }
        if let Some(meta) = self.begin(now, txn_id) {
            meta.partitions.extend(partitions.iter().cloned());
        }
        vec![NONE; partitions.len()]
    }

    /// Handles AddOffsetsToTxn: `group_id`'s offsets join the transaction.
    pub(crate) fn add_offsets(
        &mut self,
        now: u64,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        group_id: &str,
    ) -> i16 {
        if let Err(code) = self.check(txn_id, producer_id, epoch) {
            return code;
        }
        if let Some(meta) = self.begin(now, txn_id) {
            meta.groups.insert(group_id.to_string());
        }
        NONE
    }

    /// Checks a TxnOffsetCommit: the producer is current and the group was
    /// added with AddOffsetsToTxn.
    pub(crate) fn check_offset_commit(
        &self,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        group_id: &str,
    ) -> i16 {
        if let Err(code) = self.check(txn_id, producer_id, epoch) {
            return code;
        }
        match self.txns.get(txn_id) {
            Some(meta) if meta.state == TxnState::Ongoing && meta.groups.contains(group_id) => NONE,
            _ => E::InvalidTxnState.code(),
        }
    }

    /// Handles EndTxn. `Ok(Some(end))` hands out the work of ending an
    /// ongoing transaction; `Ok(None)` is a retried EndTxn that already took
    /// effect.
    pub(crate) fn end_txn(
        &mut self,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<Option<TxnEnd>, i16> {
        self.check(txn_id, producer_id, epoch)?;
        let Some(meta) = self.txns.get_mut(txn_id) else {
            return Err(E::InvalidProducerIdMapping.code());
        };
        match (meta.state, commit) {
            (TxnState::Ongoing, _) => {
                meta.state = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                Ok(Some(end_of(txn_id, meta, producer_id, epoch, commit)))
            }
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => Ok(None),
            _ => Err(E::InvalidTxnState.code()),
        }
    }

    /// Handles EndTxn under transaction version 2 (KIP-890, EndTxn v5+
    /// with `transaction.version` >= 2 finalized): as
    /// [`end_txn`](Self::end_txn), but ending a transaction bumps the
    /// epoch first (its markers carry the new epoch, so a zombie's late
    /// batch of the old epoch is fenced), and the answer names the
    /// producer id and epoch the client goes on with. An EndTxn retried
    /// with the epoch before that bump gets the same answer again.
    pub(crate) fn end_txn_v2(
        &mut self,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
    ) -> Result<(Option<TxnEnd>, (i64, i16)), i16> {
        if let Some(meta) = self.txns.get(txn_id) {
            let retried = meta.ended_v2 == Some(commit)
                && meta.last_epoch == Some((epoch, true))
                && meta.producer_id == producer_id;
            if retried {
                return Ok((None, (meta.producer_id, meta.epoch)));
            }
        }
        self.check(txn_id, producer_id, epoch)?;
        let Some(meta) = self.txns.get_mut(txn_id) else {
            return Err(E::InvalidProducerIdMapping.code());
        };
        match meta.state {
            TxnState::Ongoing => {
                let old_pid = meta.producer_id;
                bump_epoch(meta, true, &mut self.next_producer_id, &mut self.epochs);
                meta.state = if commit {
                    TxnState::PrepareCommit
                } else {
                    TxnState::PrepareAbort
                };
                meta.ended_v2 = Some(commit);
                // A new producer id (epoch exhaustion) still ends the old
                // id's transaction.
                let (pid, marker_epoch) = if meta.producer_id == old_pid {
                    (meta.producer_id, meta.epoch)
                } else {
                    (old_pid, i16::MAX)
                };
                let end = end_of(txn_id, meta, pid, marker_epoch, commit);
                Ok((Some(end), (meta.producer_id, meta.epoch)))
            }
            _ => Err(E::InvalidTxnState.code()),
        }
    }

    /// Produce v12+ under transaction version 2: a transactional batch's
    /// partition joins the producer's transaction implicitly (KIP-890),
    /// opening one if none is ongoing. `NONE` or the error to answer.
    pub(crate) fn add_partition_implicitly(
        &mut self,
        now: u64,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
        topic: &str,
        partition: i32,
    ) -> i16 {
        let codes = self.add_partitions(
            now,
            txn_id,
            producer_id,
            epoch,
            &[(topic.to_string(), partition)],
            |_, _| true,
        );
        codes.first().copied().unwrap_or(NONE)
    }

    /// Completes a transaction handed out by [`end_txn`](Self::end_txn),
    /// [`init_producer_id`](Self::init_producer_id) or
    /// [`handle_timeout`](Self::handle_timeout) once its markers are written.
    pub(crate) fn finish(&mut self, end: &TxnEnd) {
        if let Some(meta) = self.txns.get_mut(&end.transactional_id) {
            if matches!(meta.state, TxnState::PrepareCommit | TxnState::PrepareAbort) {
                meta.state = if end.commit {
                    TxnState::CompleteCommit
                } else {
                    TxnState::CompleteAbort
                };
            }
            meta.partitions.clear();
            meta.groups.clear();
        }
    }

    /// Aborts, with an epoch bump, every Ongoing transaction whose timeout
    /// passed; the caller carries out and finishes each returned end.
    pub(crate) fn handle_timeout(&mut self, now: u64) -> Vec<TxnEnd> {
        let expired: Vec<String> = self
            .txns
            .iter()
            .filter(|(_, t)| t.state == TxnState::Ongoing && t.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.bump_and_abort(&id, true))
            .collect()
    }
}

fn end_of(txn_id: &str, meta: &TxnMeta, producer_id: i64, epoch: i16, commit: bool) -> TxnEnd {
    TxnEnd {
        transactional_id: txn_id.to_string(),
        producer_id,
        commit,
        markers: meta
            .partitions
            .iter()
            .map(|(topic, partition)| Marker {
                topic: topic.clone(),
                partition: *partition,
                producer_id,
                producer_epoch: epoch,
                commit,
            })
            .collect(),
        groups: meta.groups.iter().cloned().collect(),
    }
}

/// Bumps a transactional id's epoch; when the epoch space is spent, the id
/// moves to a fresh producer id at epoch 0.
fn bump_epoch(
    meta: &mut TxnMeta,
    recoverable: bool,
    next_id: &mut i64,
    epochs: &mut HashMap<i64, i16>,
) {
    meta.last_epoch = Some((meta.epoch, recoverable));
    if meta.epoch < i16::MAX - 1 {
        meta.epoch += 1;
    } else {
        meta.producer_id = *next_id;
        *next_id = next_id.saturating_add(1);
        meta.epoch = 0;
        meta.last_epoch = None;
    }
    epochs.insert(meta.producer_id, meta.epoch);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &str, _: i32) -> bool {
        true
    }

    fn tp(t: &str, p: i32) -> (String, i32) {
        (t.to_string(), p)
    }

    #[test]
    fn idempotent_producers_get_distinct_ids_and_kip360_bumps() {
        let mut t = Transactions::default();
        let (a, _) = t.init_producer_id(None, 0, -1, -1);
        let (b, _) = t.init_producer_id(None, 0, -1, -1);
        let (a, b) = (a.expect("id"), b.expect("id"));
        assert_ne!(a.0, b.0);
        assert_eq!((a.1, b.1), (0, 0));
        let (bumped, _) = t.init_producer_id(None, 0, a.0, 0);
        assert_eq!(bumped, Ok((a.0, 1)));
        assert_eq!(t.producer_epoch(a.0), Some(1));
        let (stale, _) = t.init_producer_id(None, 0, a.0, 0);
        assert_eq!(stale, Err(E::InvalidProducerEpoch.code()));
    }

    #[test]
    fn commit_cycle_hands_out_markers_and_reaches_complete_commit() {
        let mut t = Transactions::default();
        let (pid, epoch) = t
            .init_producer_id(Some("tx"), 60_000, -1, -1)
            .0
            .expect("init");
        assert_eq!(t.state("tx"), Some(TxnState::Empty));
        let codes = t.add_partitions(1, "tx", pid, epoch, &[tp("a", 0), tp("b", 1)], any);
        assert_eq!(codes, vec![NONE, NONE]);
        assert_eq!(t.state("tx"), Some(TxnState::Ongoing));
        assert!(t.in_transaction(pid, epoch, "a", 0));
        assert!(!t.in_transaction(pid, epoch, "a", 1));
        assert_eq!(t.add_offsets(2, "tx", pid, epoch, "grp"), NONE);
        assert_eq!(t.check_offset_commit("tx", pid, epoch, "grp"), NONE);
        assert_eq!(
            t.check_offset_commit("tx", pid, epoch, "other"),
            E::InvalidTxnState.code()
        );

        let end = t
            .end_txn("tx", pid, epoch, true)
            .expect("accepted")
            .expect("work to do");
        assert_eq!(t.state("tx"), Some(TxnState::PrepareCommit));
        assert_eq!(end.markers.len(), 2);
        assert!(end
            .markers
            .iter()
            .all(|m| m.commit && m.producer_id == pid && m.producer_epoch == epoch));
        assert_eq!(end.groups, vec!["grp".to_string()]);
        assert_eq!(
            t.add_offsets(3, "tx", pid, epoch, "grp"),
            E::ConcurrentTransactions.code()
        );
        t.finish(&end);
        assert_eq!(t.state("tx"), Some(TxnState::CompleteCommit));
        // A retried EndTxn(commit) succeeds without new work; abort does not.
        assert_eq!(t.end_txn("tx", pid, epoch, true), Ok(None));
        assert_eq!(
            t.end_txn("tx", pid, epoch, false),
            Err(E::InvalidTxnState.code())
        );
    }

    #[test]
    fn transaction_version_2_bumps_the_epoch_at_every_end_and_answers_retries_alike() {
        let mut t = Transactions::default();
        let (pid, e0) = t
            .init_producer_id(Some("tx"), 60_000, -1, -1)
            .0
            .expect("init");
        assert_eq!(t.add_partition_implicitly(1, "tx", pid, e0, "a", 0), NONE);
        assert_eq!(t.state("tx"), Some(TxnState::Ongoing));
        assert!(t.in_transaction(pid, e0, "a", 0));
        let (end, next) = t.end_txn_v2("tx", pid, e0, true).expect("accepted");
        let end = end.expect("work to do");
        assert_eq!(next, (pid, e0 + 1));
        assert!(end
            .markers
            .iter()
            .all(|m| m.commit && m.producer_epoch == e0 + 1));
        assert_eq!(t.producer_epoch(pid), Some(e0 + 1));
        t.finish(&end);
        // A retry with the old epoch gets the same answer; an abort with
        // it, or an EndTxn with nothing ongoing, does not.
        assert_eq!(t.end_txn_v2("tx", pid, e0, true), Ok((None, next)));
        assert_eq!(
            t.end_txn_v2("tx", pid, e0, false),
            Err(E::InvalidProducerEpoch.code())
        );
        assert_eq!(
            t.end_txn_v2("tx", pid, e0 + 1, true),
            Err(E::InvalidTxnState.code())
        );
        // The next transaction runs at the new epoch; the old one is fenced.
        assert_eq!(
            t.add_partition_implicitly(2, "tx", pid, e0, "a", 0),
            E::InvalidProducerEpoch.code()
        );
        assert_eq!(
            t.add_partition_implicitly(2, "tx", pid, e0 + 1, "a", 1),
            NONE
        );
        let (end, next) = t.end_txn_v2("tx", pid, e0 + 1, false).expect("abort");
        assert_eq!(next, (pid, e0 + 2));
        assert!(end.expect("work").markers.iter().all(|m| !m.commit));
    }

    #[test]
    fn unknown_partition_fails_the_whole_add() {
        let mut t = Transactions::default();
        let (pid, epoch) = t
            .init_producer_id(Some("tx"), 60_000, -1, -1)
            .0
            .expect("init");
        let codes = t.add_partitions(
            1,
            "tx",
            pid,
            epoch,
            &[tp("a", 0), tp("gone", 0)],
            |topic, _| topic == "a",
        );
        assert_eq!(
            codes,
            vec![
                E::OperationNotAttempted.code(),
                E::UnknownTopicOrPartition.code()
            ]
        );
        assert_eq!(t.state("tx"), Some(TxnState::Empty));
        assert_eq!(
            t.end_txn("tx", pid, epoch, true),
            Err(E::InvalidTxnState.code())
        );
    }

    #[test]
    fn reinit_fences_old_epoch_and_aborts_its_transaction() {
        let mut t = Transactions::default();
        let (pid, e0) = t
            .init_producer_id(Some("tx"), 60_000, -1, -1)
            .0
            .expect("init");
        t.add_partitions(1, "tx", pid, e0, &[tp("a", 0)], any);
        let (res, aborted) = t.init_producer_id(Some("tx"), 60_000, -1, -1);
        let (pid2, e1) = res.expect("re-init");
        assert_eq!((pid2, e1), (pid, e0 + 1));
        let aborted = aborted.expect("the open transaction is aborted");
        assert!(!aborted.commit);
        assert_eq!(
            aborted.markers[0].producer_epoch, e1,
            "markers carry the new epoch"
        );
        t.finish(&aborted);
        assert_eq!(t.state("tx"), Some(TxnState::CompleteAbort));
        assert_eq!(t.producer_epoch(pid), Some(e1));
        let fenced = E::ProducerFenced.code();
        assert_eq!(
            t.add_partitions(3, "tx", pid, e0, &[tp("a", 0)], any),
            vec![fenced]
        );
        assert_eq!(t.end_txn("tx", pid, e0, true), Err(fenced));
        // The old producer may not recover its session with KIP-360 either.
        assert_eq!(
            t.init_producer_id(Some("tx"), 60_000, pid, e0).0,
            Err(fenced)
        );
        assert_eq!(
            t.end_txn("tx", pid + 1, e1, true),
            Err(E::InvalidProducerIdMapping.code())
        );
        assert_eq!(
            t.end_txn("nope", pid, e1, true),
            Err(E::InvalidProducerIdMapping.code())
        );
    }

    #[test]
    fn transaction_timeout_aborts_and_the_producer_can_recover() {
        let mut t = Transactions::default();
        let (pid, e0) = t
            .init_producer_id(Some("tx"), 1_000, -1, -1)
            .0
            .expect("init");
        t.add_partitions(100, "tx", pid, e0, &[tp("a", 0)], any);
        assert!(t.handle_timeout(1_099).is_empty());
        let ends = t.handle_timeout(1_100);
        assert_eq!(ends.len(), 1);
        assert!(!ends[0].commit);
        t.finish(&ends[0]);
        assert_eq!(t.state("tx"), Some(TxnState::CompleteAbort));
        // The timed-out producer sees an abortable error, not fencing...
        assert_eq!(
            t.end_txn("tx", pid, e0, true),
            Err(E::InvalidProducerEpoch.code())
        );
        // ...and recovers its session with KIP-360 without another bump.
        assert_eq!(
            t.init_producer_id(Some("tx"), 1_000, pid, e0).0,
            Ok((pid, e0 + 1))
        );
        assert_eq!(
            t.add_partitions(2_001, "tx", pid, e0 + 1, &[tp("a", 0)], any),
            vec![NONE]
        );
    }

    #[test]
    fn invalid_timeout_is_refused() {
        let mut t = Transactions::default();
        assert_eq!(
            t.init_producer_id(Some("tx"), 0, -1, -1).0,
            Err(E::InvalidTransactionTimeout.code())
        );
        assert_eq!(
            t.init_producer_id(Some("tx"), MAX_TXN_TIMEOUT_MS + 1, -1, -1)
                .0,
            Err(E::InvalidTransactionTimeout.code())
        );
    }

    #[test]
    fn epoch_exhaustion_moves_to_a_new_producer_id() {
        let mut t = Transactions::default();
        let (pid, _) = t
            .init_producer_id(Some("tx"), 1_000, -1, -1)
            .0
            .expect("init");
        if let Some(meta) = t.txns.get_mut("tx") {
            meta.epoch = i16::MAX - 1;
        }
        let (pid2, e) = t
            .init_producer_id(Some("tx"), 1_000, -1, -1)
            .0
            .expect("re-init");
        assert_ne!(pid2, pid);
        assert_eq!(e, 0);
    }
}

// Read-only accessors for the transaction admin APIs.
pub(crate) mod view;
