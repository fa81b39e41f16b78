//! Transactions (KIP-98): the transactional producer's API on
//! [`Producer`], its state machine ([`state`]) and its requests to the
//! transaction coordinator ([`coordinator`]).
//!
//! The state machine lives inside the accumulator, under its lock, so that
//! accepting a record and checking the transaction state are one step, and
//! so that the sender releases a partition's batches only once
//! AddPartitionsToTxn added the partition. A small driver task sends those
//! AddPartitionsToTxn requests, batching every partition that showed up
//! while the previous one was in flight. The application's calls
//! (`init_transactions`, `commit_transaction`, ...) run on the caller's
//! task, one at a time.
//!
//! Rules kept here (the seed's "Transactional Producer" section, KIP-98,
//! KIP-360, KIP-447, KIP-588, KIP-890's client side):
//! - `commit_transaction` flushes first; a record that fails inside the
//!   transaction makes the commit fail with an abortable error, so a
//!   transaction is never committed with records missing;
//! - `abort_transaction` purges queued records, then waits for every
//!   request in flight to be answered before ending the transaction, so no
//!   Produce of the old transaction can land after its marker (KIP-890's
//!   client-side defence against hanging transactions);
//! - an abort after a failed record, a timed-out transaction (KIP-588's
//!   INVALID_PRODUCER_EPOCH) or an unknown producer bumps the epoch with
//!   InitProducerId(transactional id, producer id, epoch) (KIP-360)
//!   instead of sending EndTxn;
//! - a fatal error (fenced by a newer instance, not authorised) makes the
//!   producer unusable, like an idempotent producer's fatal error.
//!
//! Transaction version 2 (KIP-890 part 2) is used when the coordinator has
//! `transaction.version` >= 2 finalized and speaks its request versions
//! (found by `init_transactions`): partitions and the group join the
//! transaction implicitly with Produce v12 and TxnOffsetCommit v5 (no
//! AddPartitionsToTxn, no AddOffsetsToTxn), and every EndTxn v5 answers
//! the bumped epoch the next transaction runs at, so a late Produce of an
//! ended transaction is fenced by the broker. Otherwise version 1.

pub(crate) mod coordinator;
pub(crate) mod state;

pub(crate) use state::Transaction;

use super::{Producer, Waiting};
use crate::cluster::Cluster;
use crate::consumer::ConsumerGroupMetadata;
use crate::error::{Error, ErrorCode, Result};
use coordinator::TxnWire;
use state::{classify, error_for, Api, Disposition, State};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// A transactional producer's coordinator client and the lock that runs
/// the application's transaction calls one at a time.
pub(crate) struct Context {
    wire: TxnWire,
    ops: tokio::sync::Mutex<()>,
}

impl Context {
    /// The context of a producer configured with `transactional.id`, on
    /// the producer's cluster handle.
    pub(crate) fn new(
        cluster: &Cluster,
        settings: &super::settings::Settings,
    ) -> Option<Arc<Context>> {
        let id = settings.transactional_id.clone()?;
        Some(Arc::new(Context {
            wire: TxnWire::new(
                cluster.clone(),
                id,
                settings.transaction_timeout,
                settings.retry_backoff,
            ),
            ops: tokio::sync::Mutex::new(()),
        }))
    }

    /// The flag that tells the transport transaction version 2 is in use.
    pub(crate) fn v2_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        self.wire.v2_flag()
    }
}

/// The driver: sends AddPartitionsToTxn whenever the sender found batches
/// for partitions not yet in the transaction, retrying after the backoff.
pub(crate) async fn drive(shared: Weak<super::sender::Shared>, ctx: Arc<Context>) {
    let backoff = Duration::from_millis(20);
    loop {
        let Some(s) = shared.upgrade() else { return };
        if s.shutdown.load(Ordering::Acquire) {
            return;
        }
        let work = {
            let mut acc = s.lock();
            let pid = acc.idempotence().and_then(|m| m.current());
            match (pid, acc.txn().and_then(Transaction::take_pending)) {
                (Some(pid), Some(tps)) => Some((pid, tps)),
                (None, Some(tps)) => {
                    // No producer id: give them back for later.
                    if let Some(t) = acc.txn() {
                        t.on_added(
                            tps.into_iter()
                                .map(|tp| {
                                    (
                                        tp,
                                        Err(Error::new(ErrorCode::State, "no producer id")
                                            .with_retriable(true)),
                                    )
                                })
                                .collect(),
                        );
                    }
                    None
                }
                _ => None,
            }
        };
        let Some((pid, tps)) = work else {
            // Bounded, so a closed producer is noticed.
            let _ = tokio::time::timeout(Duration::from_millis(200), s.txn_wake.notified()).await;
            continue;
        };
        drop(s);
        let results = ctx
            .wire
            .add_partitions(pid, &tps, Duration::from_secs(30))
            .await;
        let retry = results.iter().any(|(_, r)| r.is_err());
        let Some(s) = shared.upgrade() else { return };
        {
            let mut acc = s.lock();
            if let Some(t) = acc.txn() {
                t.on_added(results);
            }
            fatal_from_txn(&mut acc);
        }
        s.wake.notify_one();
        drop(s);
        if retry {
            tokio::time::sleep(backoff).await;
        }
    }
}

/// The accumulator's transaction hooks, kept here so the accumulator's
/// files only call them.
impl super::accumulator::Accumulator {
    /// The transaction manager of a transactional producer.
    pub(crate) fn txn(&mut self) -> Option<&mut Transaction> {
        self.txn.as_mut()
    }

    /// The idempotence manager (transactional and idempotent producers).
    pub(crate) fn idempotence(&mut self) -> Option<&mut super::idempotence::Idempotence> {
        self.idem.as_mut()
    }

    /// Whether the transaction wants an AddPartitionsToTxn sent (the
    /// sender then wakes the transaction driver).
    pub(crate) fn txn_wants_partitions_added(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.has_pending())
    }

    /// Makes the producer fatal with a transaction's fatal error: queued
    /// records are purged and the error goes to the error callback.
    pub(crate) fn raise_txn_fatal(&mut self, e: &Error) {
        let raised = self
            .idem
            .as_mut()
            .is_some_and(|m| m.set_fatal(e.code(), e.message().to_string()));
        if raised {
            self.on_fatal();
        }
    }
}

/// A transaction that turned fatal makes the whole producer fatal.
fn fatal_from_txn(acc: &mut super::accumulator::Accumulator) {
    let e = acc
        .txn()
        .filter(|t| t.state() == State::FatalError)
        .and_then(|t| t.error().cloned());
    if let Some(e) = e {
        acc.raise_txn_fatal(&e);
    }
}

impl Producer {
    fn txn_context(&self) -> Result<Arc<Context>> {
        self.inner.txn.clone().ok_or_else(|| {
            Error::new(
                ErrorCode::NotConfigured,
                "transactions need transactional.id to be set",
            )
        })
    }

    /// Runs `f` on the transaction state under the accumulator's lock.
    fn with_txn<T>(&self, f: impl FnOnce(&mut Transaction) -> T) -> Result<T> {
        let mut acc = self.shared().lock();
        if let Some(e) = acc.fatal_error() {
            return Err(e.clone());
        }
        let t = acc.txn().ok_or_else(|| {
            Error::new(
                ErrorCode::NotConfigured,
                "transactions need transactional.id to be set",
            )
        })?;
        let r = f(t);
        fatal_from_txn(&mut acc);
        Ok(r)
    }

    /// Records `e` from transactional request `api` in the state machine
    /// (abortable or fatal) and returns the error to hand out.
    fn txn_failed(&self, api: Api, e: Error) -> Error {
        let d = if e.is_fatal() {
            Disposition::Fatal
        } else if e.is_retriable() || e.code() == ErrorCode::TimedOut {
            return e;
        } else {
            classify(api, e.code())
        };
        let _ = self.with_txn(|t| t.fail(e.clone(), d));
        let out = self.shared().lock().fatal_error().cloned();
        self.report_new_fatal();
        out.unwrap_or(e)
    }

    /// Completes the reports and error events the accumulator produced.
    fn report_new_fatal(&self) {
        let s = self.shared();
        let (fatal, dones) = {
            let mut acc = s.lock();
            (acc.take_fatal_event(), s.take_done(&mut acc))
        };
        s.report_fatal(fatal);
        s.finish(dones);
        s.wake.notify_one();
    }

    /// The current producer id and epoch.
    fn producer_id(&self) -> Result<super::idempotence::ProducerId> {
        let mut acc = self.shared().lock();
        acc.idempotence().and_then(|m| m.current()).ok_or_else(|| {
            Error::new(
                ErrorCode::State,
                "the producer has no producer id: call init_transactions first",
            )
        })
    }

    /// Waits until no record is outstanding, or `stop` says to give up, or
    /// `deadline`; `Ok(false)` when stopped.
    async fn wait_outstanding(
        &self,
        deadline: Instant,
        what: &str,
        stop: impl Fn(&mut super::accumulator::Accumulator) -> bool,
    ) -> Result<bool> {
        let s = self.shared();
        let _w = Waiting::new(s);
        loop {
            let notified = s.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut acc = s.lock();
                if stop(&mut acc) {
                    return Ok(false);
                }
                let adding = acc.txn().is_some_and(|t| t.adding_partitions());
                let n = s.unreported(&acc);
                if n == 0 && !adding {
                    return Ok(true);
                }
                if Instant::now() >= deadline {
                    return Err(Error::new(
                        ErrorCode::TimedOut,
                        format!("{what} timed out with {n} record(s) not yet delivered; call it again to resume"),
                    )
                    .with_retriable(true));
                }
            }
            let until = deadline.min(Instant::now() + Duration::from_millis(50));
            let _ = tokio::time::timeout_at(until, notified).await;
        }
    }

    /// Gets the producer id for the transactional id from the transaction
    /// coordinator (fencing older instances with the same id and aborting
    /// or completing their open transaction), within `timeout`. Call once,
    /// before the first [`begin_transaction`](Self::begin_transaction).
    ///
    /// A timeout is retriable (call again); a fatal error means no producer
    /// with this configuration can work (for example
    /// TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    pub async fn init_transactions(&self, timeout: Duration) -> Result<()> {
        // Polled in the producer's runtime whatever executor awaits it.
        let rt = self.inner._runtime.clone();
        rt.entered(self.init_transactions_here(timeout)).await
    }

    async fn init_transactions_here(&self, timeout: Duration) -> Result<()> {
        let ctx = self.txn_context()?;
        let _op = ctx.ops.lock().await;
        let deadline = Instant::now() + timeout;
        self.with_txn(|t| t.check_init())??;
        let v2 = match ctx.wire.detect_version(deadline).await {
            Ok(v2) => v2,
            Err(e) => return Err(self.txn_failed(Api::InitProducerId, e)),
        };
        match ctx.wire.init_producer_id(None, deadline).await {
            Ok(pid) => {
                let mut acc = self.shared().lock();
                if let Some(m) = acc.idempotence() {
                    m.assign(pid);
                }
                if let Some(t) = acc.txn() {
                    t.set_implicit_partitions(v2);
                    t.on_initialized();
                }
                crate::debug::trace_ctx!(
                    self.debug(),
                    Eos,
                    "transactional id {} has producer id {} epoch {} (transaction version {})",
                    ctx.wire.transactional_id(),
                    pid.id,
                    pid.epoch,
                    if v2 { 2 } else { 1 }
                );
                Ok(())
            }
            Err(e) => Err(self.txn_failed(Api::InitProducerId, e)),
        }
    }

    /// Blocking form of [`init_transactions`](Self::init_transactions).
    pub fn init_transactions_blocking(&self, timeout: Duration) -> Result<()> {
        let p = self.clone();
        self.inner
            ._runtime
            .block_on(async move { p.init_transactions(timeout).await })
    }

    /// Opens a transaction: records sent from now on, and offsets given to
    /// [`send_offsets_to_transaction`](Self::send_offsets_to_transaction),
    /// belong to it until [`commit_transaction`](Self::commit_transaction)
    /// or [`abort_transaction`](Self::abort_transaction). No request is
    /// sent (partitions join the transaction as records reach them), so it
    /// has no timeout and no async form.
    pub fn begin_transaction(&self) -> Result<()> {
        self.with_txn(|t| t.begin())?
    }

    /// Adds the consumer's `offsets` (the next offset to read, per
    /// partition) to the transaction: they are committed for the group of
    /// `group` when the transaction commits, and dropped if it aborts.
    /// `group` comes from [`Consumer::group_metadata`](crate::consumer::Consumer::group_metadata),
    /// so the group coordinator refuses the commit of a member a rebalance
    /// replaced (KIP-447; the error is abortable). Empty `offsets` do
    /// nothing.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: &[(&str, i32, i64)],
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        // Polled in the producer's runtime whatever executor awaits it.
        let rt = self.inner._runtime.clone();
        rt.entered(self.send_offsets_here(offsets, group, timeout))
            .await
    }

    async fn send_offsets_here(
        &self,
        offsets: &[(&str, i32, i64)],
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        let ctx = self.txn_context()?;
        let _op = ctx.ops.lock().await;
        let deadline = Instant::now() + timeout;
        self.with_txn(|t| t.check_offsets())??;
        if offsets.is_empty() {
            return Ok(());
        }
        if let Some((t, p, o)) = offsets.iter().find(|(_, p, o)| *p < 0 || *o < 0) {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!("offset {o} for {t} [{p}] is invalid: partitions and offsets must be >= 0"),
            ));
        }
        let pid = self.producer_id()?;
        // Transaction version 2: TxnOffsetCommit adds the group itself.
        if !ctx.wire.v2() {
            if let Err(e) = ctx.wire.add_offsets(pid, group.group_id(), deadline).await {
                return Err(self.txn_failed(Api::AddOffsetsToTxn, e));
            }
        }
        self.with_txn(|t| t.on_offsets_added())?;
        let owned: Vec<(String, i32, i64)> = offsets
            .iter()
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect();
        match ctx
            .wire
            .txn_offset_commit(pid, group, &owned, deadline)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(self.txn_failed(Api::TxnOffsetCommit, e)),
        }
    }

    /// Blocking form of
    /// [`send_offsets_to_transaction`](Self::send_offsets_to_transaction).
    pub fn send_offsets_to_transaction_blocking(
        &self,
        offsets: &[(&str, i32, i64)],
        group: &ConsumerGroupMetadata,
        timeout: Duration,
    ) -> Result<()> {
        let p = self.clone();
        let owned: Vec<(String, i32, i64)> = offsets
            .iter()
            .map(|(t, p, o)| (t.to_string(), *p, *o))
            .collect();
        let group = group.clone();
        self.inner._runtime.block_on(async move {
            let borrowed: Vec<(&str, i32, i64)> =
                owned.iter().map(|(t, p, o)| (t.as_str(), *p, *o)).collect();
            p.send_offsets_to_transaction(&borrowed, &group, timeout)
                .await
        })
    }

    /// Commits the transaction: flushes every record sent in it (ignoring
    /// `linger.ms`), then ends it with EndTxn(commit), within `timeout`.
    ///
    /// If a record of the transaction could not be delivered, nothing is
    /// committed and the error is abortable
    /// ([`Error::txn_requires_abort`]): call
    /// [`abort_transaction`](Self::abort_transaction). A timeout is
    /// retriable: call `commit_transaction` again (or abort).
    pub async fn commit_transaction(&self, timeout: Duration) -> Result<()> {
        // Polled in the producer's runtime whatever executor awaits it.
        let rt = self.inner._runtime.clone();
        rt.entered(self.commit_transaction_here(timeout)).await
    }

    async fn commit_transaction_here(&self, timeout: Duration) -> Result<()> {
        let ctx = self.txn_context()?;
        let _op = ctx.ops.lock().await;
        let deadline = Instant::now() + timeout;
        self.with_txn(|t| t.begin_commit())??;
        {
            let mut acc = self.shared().lock();
            acc.set_flushing(true);
        }
        self.shared().wake.notify_one();
        let flushed = self
            .wait_outstanding(deadline, "commit_transaction", |acc| {
                acc.fatal_error().is_some()
                    || acc.txn().is_some_and(|t| t.state() != State::Committing)
            })
            .await;
        self.shared().lock().set_flushing(false);
        flushed?;
        let (error, work) = self.with_txn(|t| (t.error().cloned(), t.has_work()))?;
        if let Some(e) = error {
            return Err(e);
        }
        if work {
            let pid = self.producer_id()?;
            self.with_txn(|t| t.on_commit_sent())?;
            match ctx.wire.end_txn(pid, true, deadline).await {
                Ok(next) => self.go_on_with(next),
                Err(e) => return Err(self.txn_failed(Api::EndTxn, e)),
            }
        }
        self.with_txn(|t| t.on_ended())?;
        Ok(())
    }

    /// Blocking form of [`commit_transaction`](Self::commit_transaction).
    pub fn commit_transaction_blocking(&self, timeout: Duration) -> Result<()> {
        let p = self.clone();
        self.inner
            ._runtime
            .block_on(async move { p.commit_transaction(timeout).await })
    }

    /// Aborts the transaction within `timeout`: queued records fail with
    /// `PurgeQueue`, records in flight are waited for, then the transaction
    /// ends with EndTxn(abort), or with an epoch bump when the abort
    /// follows a failed record or a transaction the coordinator timed out
    /// (KIP-360/KIP-588). A read_committed consumer sees none of its
    /// records. A timeout is retriable: call it again.
    pub async fn abort_transaction(&self, timeout: Duration) -> Result<()> {
        // Polled in the producer's runtime whatever executor awaits it.
        let rt = self.inner._runtime.clone();
        rt.entered(self.abort_transaction_here(timeout)).await
    }

    async fn abort_transaction_here(&self, timeout: Duration) -> Result<()> {
        let ctx = self.txn_context()?;
        let _op = ctx.ops.lock().await;
        let deadline = Instant::now() + timeout;
        self.with_txn(|t| t.begin_abort())??;
        {
            let s = self.shared();
            let dones = {
                let mut acc = s.lock();
                acc.purge(true, false);
                s.take_done(&mut acc)
            };
            s.finish(dones);
            s.wake.notify_one();
        }
        self.wait_outstanding(deadline, "abort_transaction", |acc| {
            acc.fatal_error().is_some()
        })
        .await?;
        if let Some(e) = self.shared().lock().fatal_error() {
            return Err(e.clone());
        }
        let bump = {
            let mut acc = self.shared().lock();
            let idem_bump = acc.idempotence().is_some_and(|m| m.bump_wanted());
            idem_bump || acc.txn().is_some_and(|t| t.needs_bump())
        };
        let work = self.with_txn(|t| t.has_work())?;
        let pid = self.producer_id()?;
        if bump {
            self.bump_epoch(&ctx, pid, deadline).await?;
        } else if work {
            match ctx.wire.end_txn(pid, false, deadline).await {
                Ok(next) => self.go_on_with(next),
                // The coordinator aborted it already on its timeout and
                // bumped the epoch (KIP-588): recover the session.
                Err(e) if classify(Api::EndTxn, e.code()) == Disposition::AbortableBump => {
                    self.bump_epoch(&ctx, pid, deadline).await?;
                }
                // Transaction version 2 adds the group with TxnOffsetCommit
                // itself, so after one that failed the client cannot know
                // whether the transaction exists at the coordinator. If not,
                // the abort is refused as INVALID_TXN_STATE; the bump ends
                // whatever is open and starts a fresh epoch either way.
                Err(e) if ctx.wire.v2() && e.code() == ErrorCode::InvalidTxnState => {
                    crate::debug::trace_ctx!(
                        self.debug(),
                        Eos,
                        "EndTxn(abort): {e}; bumping the epoch instead"
                    );
                    self.bump_epoch(&ctx, pid, deadline).await?;
                }
                Err(e) => return Err(self.txn_failed(Api::EndTxn, e)),
            }
        }
        self.with_txn(|t| t.on_ended())?;
        Ok(())
    }

    /// Transaction version 2: the producer id and epoch EndTxn answered
    /// (bumped) are the next transaction's; sequences restart with them.
    fn go_on_with(&self, next: Option<super::idempotence::ProducerId>) {
        if let Some(next) = next {
            crate::debug::trace_ctx!(
                self.debug(),
                Eos,
                "EndTxn: producer id {} epoch {}",
                next.id,
                next.epoch
            );
            let mut acc = self.shared().lock();
            if let Some(m) = acc.idempotence() {
                m.assign(next);
            }
        }
    }

    /// KIP-360: the next epoch of this producer id, which also aborts its
    /// open transaction at the coordinator.
    async fn bump_epoch(
        &self,
        ctx: &Context,
        pid: super::idempotence::ProducerId,
        deadline: Instant,
    ) -> Result<()> {
        match ctx.wire.init_producer_id(Some(pid), deadline).await {
            Ok(new) => {
                crate::debug::trace_ctx!(
                    self.debug(),
                    Eos,
                    "epoch bumped: producer id {} epoch {}",
                    new.id,
                    new.epoch
                );
                let mut acc = self.shared().lock();
                if let Some(m) = acc.idempotence() {
                    m.assign(new);
                }
                Ok(())
            }
            Err(e) => {
                // A refused bump (another instance took the id) is fatal.
                let e = if e.is_retriable() {
                    e
                } else {
                    error_for(Disposition::Fatal, &e, "epoch bump")
                };
                Err(self.txn_failed(Api::InitProducerId, e))
            }
        }
    }

    /// Blocking form of [`abort_transaction`](Self::abort_transaction).
    pub fn abort_transaction_blocking(&self, timeout: Duration) -> Result<()> {
        let p = self.clone();
        self.inner
            ._runtime
            .block_on(async move { p.abort_transaction(timeout).await })
    }
}
