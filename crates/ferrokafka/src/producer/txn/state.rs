//! The transaction state machine: which transaction calls are allowed now,
//! which partitions must be added to the transaction before their batches
//! may be sent, and what every broker answer means (retry, abortable or
//! fatal). No I/O: the application's calls and the sender feed it events.
//!
//! States follow librdkafka's transaction manager (the seed's
//! "Transactional Producer" section, KIP-98): `Uninit` until
//! `init_transactions` has a producer id, then `Ready` ⇄ `InTransaction` →
//! `Committing`/`Aborting` → `Ready`. A failure that spoils only the open
//! transaction moves to `AbortableError` (the application aborts and goes
//! on); one that spoils the producer (fenced by a newer instance, not
//! authorised) to `FatalError`, which never ends.

use crate::error::{Error, ErrorCode};
use crate::TopicPartition;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Where the transactional producer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// `init_transactions` has not completed.
    Uninit,
    /// No transaction is open.
    Ready,
    /// `begin_transaction` was called: records and offsets may be added.
    InTransaction,
    /// `commit_transaction` is flushing or ending the transaction.
    Committing,
    /// `abort_transaction` is purging or ending the transaction.
    Aborting,
    /// The open transaction failed; only `abort_transaction` helps.
    AbortableError,
    /// The producer cannot continue.
    FatalError,
}

/// How a transactional request's error is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Look the coordinator up again, then retry.
    Relookup,
    /// Retry after the backoff.
    Retry,
    /// The transaction must be aborted.
    Abortable,
    /// The transaction must be aborted, and the abort bumps the epoch
    /// (KIP-360/KIP-588) instead of sending EndTxn.
    AbortableBump,
    /// The producer is unusable.
    Fatal,
}

/// Which request an error came from (the rules differ slightly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    InitProducerId,
    AddPartitionsToTxn,
    AddOffsetsToTxn,
    TxnOffsetCommit,
    EndTxn,
}

/// The handling of `code` in an answer to `api` (librdkafka's tables in
/// rdkafka_txnmgr.c's response handlers and the Java client's
/// TransactionManager, by fact, with KIP-588's abortable epoch error).
pub(crate) fn classify(api: Api, code: ErrorCode) -> Disposition {
    use ErrorCode as C;
    match code {
        C::NotCoordinator | C::CoordinatorNotAvailable => Disposition::Relookup,
        C::CoordinatorLoadInProgress
        | C::ConcurrentTransactions
        | C::RequestTimedOut
        | C::TimedOut
        | C::Transport
        | C::NetworkException
        | C::UnknownTopicOrPartition
        | C::OperationNotAttempted => Disposition::Retry,
        C::ProducerFenced
        | C::TransactionalIdAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::InvalidTransactionTimeout
        | C::UnsupportedVersion
        | C::UnsupportedForMessageFormat
        | C::Fenced
        | C::Fatal => Disposition::Fatal,
        // A bump attempt the broker refuses means another instance owns the id.
        C::InvalidProducerEpoch if api == Api::InitProducerId => Disposition::Fatal,
        // An older epoch than the coordinators' on a request that adds to
        // the transaction means a newer instance took the transactional
        // id: fenced, as the Java client treats it. Recovering with a bump
        // would be wrong here: KIP-360 accepts InitProducerId with the
        // epoch just before the current one, so the fenced instance would
        // take the id back from the newer one, and the two would go on
        // fencing each other while both copy (seen on Apache Kafka 4.4
        // under transaction version 2).
        C::InvalidProducerEpoch
            if matches!(
                api,
                Api::AddPartitionsToTxn | Api::AddOffsetsToTxn | Api::TxnOffsetCommit
            ) =>
        {
            Disposition::Fatal
        }
        // KIP-588: the coordinator aborted the transaction on its timeout
        // and bumped the epoch; the producer recovers with a bump.
        C::InvalidProducerEpoch | C::UnknownProducerId | C::InvalidProducerIdMapping => {
            Disposition::AbortableBump
        }
        C::InvalidTxnState if api == Api::TxnOffsetCommit => Disposition::Abortable,
        C::InvalidTxnState => Disposition::Fatal,
        // KIP-447: a consumer that lost its group membership must not commit.
        C::UnknownMemberId
        | C::IllegalGeneration
        | C::FencedInstanceId
        | C::RebalanceInProgress
            if api == Api::TxnOffsetCommit =>
        {
            Disposition::Abortable
        }
        _ if code.is_retriable() => Disposition::Retry,
        _ => Disposition::Abortable,
    }
}

/// The error value of a failed transactional request `what`, flagged as
/// its disposition says (retriable, abortable or fatal).
pub(crate) fn error_for(disposition: Disposition, e: &Error, what: &str) -> Error {
    let msg = format!("{what}: {}", e.message());
    if disposition == Disposition::Fatal && e.code() == ErrorCode::InvalidProducerEpoch {
        // Fencing, whatever the broker called it: one error to match on.
        return Error::fatal(
            ErrorCode::ProducerFenced,
            format!(
                "fenced: a newer instance with the same transactional id took over \
                 (the broker answered INVALID_PRODUCER_EPOCH: {msg})"
            ),
        );
    }
    match disposition {
        Disposition::Relookup | Disposition::Retry => {
            Error::new(e.code(), msg).with_retriable(true)
        }
        Disposition::Abortable | Disposition::AbortableBump => Error::txn_abortable(e.code(), msg),
        Disposition::Fatal => Error::fatal(e.code(), msg),
    }
}

/// The transaction manager.
#[derive(Debug)]
pub(crate) struct Transaction {
    state: State,
    /// The abortable or fatal error, while in those states.
    error: Option<Error>,
    /// The abort must bump the epoch instead of sending EndTxn.
    needs_bump: bool,
    /// Partitions with records, not yet sent in an AddPartitionsToTxn.
    pending: BTreeSet<TopicPartition>,
    /// Partitions in the AddPartitionsToTxn in flight.
    adding: BTreeSet<TopicPartition>,
    /// Partitions the coordinator added: their batches may be sent.
    added: BTreeSet<TopicPartition>,
    /// AddOffsetsToTxn succeeded in this transaction.
    offsets_added: bool,
    /// EndTxn(commit) was sent: the outcome is the coordinator's now, so
    /// only another commit may follow (an abort could meet a completed
    /// commit).
    commit_sent: bool,
    /// Transaction version 2 (KIP-890): Produce adds partitions itself, so
    /// a partition is in the transaction once its first batch goes out.
    implicit_partitions: bool,
}

impl Transaction {
    pub(crate) fn new() -> Self {
        Transaction {
            state: State::Uninit,
            error: None,
            needs_bump: false,
            pending: BTreeSet::new(),
            adding: BTreeSet::new(),
            added: BTreeSet::new(),
            offsets_added: false,
            commit_sent: false,
            implicit_partitions: false,
        }
    }

    /// Transaction version 2 (`true`) or 1, from `init_transactions`.
    pub(crate) fn set_implicit_partitions(&mut self, implicit: bool) {
        self.implicit_partitions = implicit;
    }

    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// The abortable or fatal error, if the producer is in such a state.
    pub(crate) fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Whether the coming abort must bump the epoch.
    pub(crate) fn needs_bump(&self) -> bool {
        self.needs_bump
    }

    fn state_error(&self, call: &str) -> Error {
        match (&self.error, self.state) {
            (Some(e), State::FatalError | State::AbortableError) => e.clone(),
            _ => Error::new(
                ErrorCode::State,
                format!(
                    "{call} is not allowed now: the transaction state is {:?}",
                    self.state
                ),
            ),
        }
    }

    /// `init_transactions` may run now (again after a timeout).
    pub(crate) fn check_init(&self) -> Result<(), Error> {
        match self.state {
            State::Uninit => Ok(()),
            State::Ready => Err(Error::new(
                ErrorCode::State,
                "init_transactions was already called successfully",
            )),
            _ => Err(self.state_error("init_transactions")),
        }
    }

    /// InitProducerId succeeded (first init or the abort's epoch bump).
    pub(crate) fn on_initialized(&mut self) {
        if self.state != State::FatalError {
            self.state = State::Ready;
            self.reset();
        }
    }

    fn reset(&mut self) {
        self.error = None;
        self.needs_bump = false;
        self.pending.clear();
        self.adding.clear();
        self.added.clear();
        self.offsets_added = false;
        self.commit_sent = false;
    }

    /// `begin_transaction`.
    pub(crate) fn begin(&mut self) -> Result<(), Error> {
        if self.state != State::Ready {
            return Err(self.state_error("begin_transaction"));
        }
        self.reset();
        self.state = State::InTransaction;
        Ok(())
    }

    /// Whether a record may be produced now.
    pub(crate) fn check_send(&self) -> Result<(), Error> {
        match self.state {
            State::InTransaction => Ok(()),
            State::AbortableError | State::FatalError => Err(self.state_error("send")),
            _ => Err(Error::new(
                ErrorCode::State,
                format!(
                    "a transactional producer sends only inside a transaction (begin_transaction); the state is {:?}",
                    self.state
                ),
            )),
        }
    }

    /// `send_offsets_to_transaction` may run now.
    pub(crate) fn check_offsets(&self) -> Result<(), Error> {
        match self.state {
            State::InTransaction => Ok(()),
            _ => Err(self.state_error("send_offsets_to_transaction")),
        }
    }

    /// The sender has a batch for `tp`: whether it may go out (its partition
    /// is in the transaction). A partition seen for the first time becomes
    /// pending for the next AddPartitionsToTxn, or, under transaction
    /// version 2, is in the transaction as its batch goes out.
    pub(crate) fn may_send(&mut self, topic: &Arc<str>, partition: i32) -> bool {
        let tp = TopicPartition::new(topic.clone(), partition);
        if self.added.contains(&tp) {
            return true;
        }
        if self.implicit_partitions
            && matches!(self.state, State::InTransaction | State::Committing)
        {
            self.added.insert(tp);
            return true;
        }
        if matches!(self.state, State::InTransaction | State::Committing)
            && !self.adding.contains(&tp)
        {
            self.pending.insert(tp);
        }
        false
    }

    /// Partitions to add now (`None` while an add is in flight or nothing is
    /// pending); they move to "adding" until [`on_added`](Self::on_added).
    pub(crate) fn take_pending(&mut self) -> Option<Vec<TopicPartition>> {
        if !self.adding.is_empty()
            || self.pending.is_empty()
            || !matches!(self.state, State::InTransaction | State::Committing)
        {
            return None;
        }
        let v: Vec<TopicPartition> = std::mem::take(&mut self.pending).into_iter().collect();
        self.adding.extend(v.iter().cloned());
        Some(v)
    }

    /// Whether an AddPartitionsToTxn is in flight.
    pub(crate) fn adding_partitions(&self) -> bool {
        !self.adding.is_empty()
    }

    /// Whether partitions wait for an AddPartitionsToTxn.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
            && self.adding.is_empty()
            && matches!(self.state, State::InTransaction | State::Committing)
    }

    /// The AddPartitionsToTxn outcome: every partition's result, or the
    /// request's own error for all of them. Retriable failures go back to
    /// pending (the caller retries after a backoff).
    pub(crate) fn on_added(&mut self, results: Vec<(TopicPartition, Result<(), Error>)>) {
        for (tp, r) in results {
            self.adding.remove(&tp);
            match r {
                Ok(()) => {
                    self.added.insert(tp);
                }
                Err(e) => match classify(Api::AddPartitionsToTxn, e.code()) {
                    Disposition::Relookup | Disposition::Retry => {
                        if matches!(self.state, State::InTransaction | State::Committing) {
                            self.pending.insert(tp);
                        }
                    }
                    d => self.fail(error_for(d, &e, "AddPartitionsToTxn"), d),
                },
            }
        }
        // Anything left over from a request that was answered partially.
        let left: Vec<TopicPartition> = std::mem::take(&mut self.adding).into_iter().collect();
        self.pending.extend(left);
    }

    /// Whether anything reached the coordinator in this transaction (if not,
    /// commit and abort need no EndTxn).
    pub(crate) fn has_work(&self) -> bool {
        !self.added.is_empty() || self.offsets_added
    }

    /// AddOffsetsToTxn succeeded.
    pub(crate) fn on_offsets_added(&mut self) {
        self.offsets_added = true;
    }

    /// A record failed to be delivered inside the transaction: the commit
    /// would be partial, so the transaction must be aborted. The epoch is
    /// bumped by the abort, since the failed batch's sequence leaves a gap.
    pub(crate) fn on_delivery_failed(&mut self, e: &Error) {
        if !matches!(self.state, State::InTransaction | State::Committing) {
            return;
        }
        let d = match e.code() {
            ErrorCode::ProducerFenced | ErrorCode::TransactionalIdAuthorizationFailed => {
                Disposition::Fatal
            }
            _ => Disposition::AbortableBump,
        };
        let msg = format!("a record of the transaction was not delivered: {e}");
        let err = match d {
            Disposition::Fatal => Error::fatal(e.code(), msg),
            _ => Error::txn_abortable(e.code(), msg),
        };
        self.fail(err, d);
    }

    /// The producer's idempotence layer needs an epoch bump (a batch failed
    /// with a sequence gap): abortable, the abort bumps.
    pub(crate) fn on_bump_needed(&mut self) {
        if matches!(self.state, State::InTransaction | State::Committing) {
            self.fail(
                Error::txn_abortable(
                    ErrorCode::OutOfOrderSequenceNumber,
                    "the producer epoch must be bumped: abort the transaction",
                ),
                Disposition::AbortableBump,
            );
        } else {
            self.needs_bump = true;
        }
    }

    /// Moves to the abortable or fatal state `d` says, with `e`.
    pub(crate) fn fail(&mut self, e: Error, d: Disposition) {
        match d {
            Disposition::Fatal => {
                self.state = State::FatalError;
                self.error = Some(if e.is_fatal() {
                    e
                } else {
                    Error::fatal(e.code(), e.message().to_string())
                });
            }
            Disposition::Abortable | Disposition::AbortableBump => {
                if d == Disposition::AbortableBump {
                    self.needs_bump = true;
                }
                if matches!(
                    self.state,
                    State::InTransaction | State::Committing | State::Ready
                ) {
                    self.state = State::AbortableError;
                    self.error = Some(if e.txn_requires_abort() {
                        e
                    } else {
                        Error::txn_abortable(e.code(), e.message().to_string())
                    });
                }
            }
            Disposition::Relookup | Disposition::Retry => {}
        }
    }

    /// `commit_transaction` starts (or resumes after a timeout).
    pub(crate) fn begin_commit(&mut self) -> Result<(), Error> {
        match self.state {
            State::InTransaction | State::Committing => {
                self.state = State::Committing;
                Ok(())
            }
            _ => Err(self.state_error("commit_transaction")),
        }
    }

    /// EndTxn(commit) is about to be sent.
    pub(crate) fn on_commit_sent(&mut self) {
        self.commit_sent = true;
    }

    /// `abort_transaction` starts (or resumes after a timeout).
    pub(crate) fn begin_abort(&mut self) -> Result<(), Error> {
        if self.state == State::Committing && self.commit_sent {
            return Err(Error::new(
                ErrorCode::State,
                "abort_transaction is not allowed: the last commit_transaction timed out after asking the coordinator to commit; call commit_transaction again",
            ));
        }
        match self.state {
            State::InTransaction | State::Committing | State::Aborting | State::AbortableError => {
                self.state = State::Aborting;
                self.pending.clear();
                Ok(())
            }
            _ => Err(self.state_error("abort_transaction")),
        }
    }

    /// EndTxn (or the abort's bump) completed: the transaction is over.
    pub(crate) fn on_ended(&mut self) {
        if matches!(self.state, State::Committing | State::Aborting) {
            self.state = State::Ready;
            self.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    fn ready() -> Transaction {
        let mut t = Transaction::new();
        t.check_init().expect("uninit");
        t.on_initialized();
        t
    }

    #[test]
    fn nothing_is_allowed_before_init_and_sends_only_inside_a_transaction() {
        let mut t = Transaction::new();
        assert_eq!(t.begin().unwrap_err().code(), ErrorCode::State);
        assert_eq!(t.check_send().unwrap_err().code(), ErrorCode::State);
        t.on_initialized();
        assert_eq!(t.check_init().unwrap_err().code(), ErrorCode::State);
        assert_eq!(t.check_send().unwrap_err().code(), ErrorCode::State);
        t.begin().expect("begin");
        t.check_send().expect("in transaction");
        assert_eq!(t.begin().unwrap_err().code(), ErrorCode::State);
    }

    #[test]
    fn batches_wait_until_their_partition_is_added_and_adds_are_batched() {
        let mut t = ready();
        t.begin().unwrap();
        let a = Arc::from("a");
        assert!(!t.may_send(&a, 0));
        assert!(!t.may_send(&a, 1));
        let first = t.take_pending().expect("two partitions");
        assert_eq!(first, vec![tp("a", 0), tp("a", 1)]);
        // While an add is in flight, new partitions wait for the next one.
        assert!(!t.may_send(&a, 2));
        assert_eq!(t.take_pending(), None);
        t.on_added(vec![
            (tp("a", 0), Ok(())),
            (
                tp("a", 1),
                Err(Error::new(ErrorCode::ConcurrentTransactions, "busy")),
            ),
        ]);
        assert!(t.may_send(&a, 0));
        assert!(!t.may_send(&a, 1));
        assert_eq!(t.take_pending(), Some(vec![tp("a", 1), tp("a", 2)]));
        assert!(t.has_work());
    }

    #[test]
    fn a_fencing_answer_is_fatal_and_an_authorization_failure_on_a_topic_abortable() {
        let mut t = ready();
        t.begin().unwrap();
        let a = Arc::from("a");
        t.may_send(&a, 0);
        t.take_pending();
        t.on_added(vec![(
            tp("a", 0),
            Err(Error::from_kafka(29, "topic authorization")),
        )]);
        assert_eq!(t.state(), State::AbortableError);
        assert!(t.error().unwrap().txn_requires_abort());
        assert!(t.check_send().unwrap_err().txn_requires_abort());
        assert!(t.begin_commit().unwrap_err().txn_requires_abort());
        t.begin_abort().expect("abort allowed");
        t.on_ended();
        assert_eq!(t.state(), State::Ready);

        t.begin().unwrap();
        t.may_send(&a, 0);
        t.take_pending();
        t.on_added(vec![(
            tp("a", 0),
            Err(Error::new(ErrorCode::ProducerFenced, "fenced")),
        )]);
        assert_eq!(t.state(), State::FatalError);
        assert!(t.error().unwrap().is_fatal());
        assert!(t.begin_abort().unwrap_err().is_fatal());
        assert!(t.begin().unwrap_err().is_fatal());
    }

    #[test]
    fn a_failed_delivery_makes_the_commit_abortable_with_a_bump() {
        let mut t = ready();
        t.begin().unwrap();
        t.begin_commit().unwrap();
        t.on_delivery_failed(&Error::new(ErrorCode::MsgTimedOut, "late"));
        assert_eq!(t.state(), State::AbortableError);
        assert!(t.needs_bump());
        t.begin_abort().unwrap();
        // Purged records failing during the abort change nothing.
        t.on_delivery_failed(&Error::new(ErrorCode::PurgeQueue, "purged"));
        assert_eq!(t.state(), State::Aborting);
        t.on_ended();
        assert!(!t.needs_bump());
    }

    #[test]
    fn after_endtxn_commit_was_sent_only_another_commit_may_follow() {
        let mut t = ready();
        t.begin().unwrap();
        t.begin_commit().unwrap();
        // Flushing timed out: nothing asked of the coordinator, abort is fine.
        t.begin_abort().expect("abort before EndTxn");
        t.on_ended();
        t.begin().unwrap();
        t.begin_commit().unwrap();
        t.on_commit_sent();
        assert_eq!(t.begin_abort().unwrap_err().code(), ErrorCode::State);
        t.begin_commit().expect("commit again");
        t.on_ended();
        t.begin().unwrap();
        t.begin_abort().expect("a new transaction aborts");
    }

    #[test]
    fn classification_follows_kip_588_and_kip_447() {
        use Disposition as D;
        assert_eq!(
            classify(Api::EndTxn, ErrorCode::InvalidProducerEpoch),
            D::AbortableBump
        );
        assert_eq!(
            classify(Api::InitProducerId, ErrorCode::InvalidProducerEpoch),
            D::Fatal
        );
        for api in [
            Api::AddPartitionsToTxn,
            Api::AddOffsetsToTxn,
            Api::TxnOffsetCommit,
        ] {
            assert_eq!(
                classify(api, ErrorCode::InvalidProducerEpoch),
                D::Fatal,
                "{api:?}"
            );
        }
        assert_eq!(classify(Api::EndTxn, ErrorCode::ProducerFenced), D::Fatal);
        assert_eq!(
            classify(Api::EndTxn, ErrorCode::NotCoordinator),
            D::Relookup
        );
        assert_eq!(
            classify(Api::AddOffsetsToTxn, ErrorCode::ConcurrentTransactions),
            D::Retry
        );
        assert_eq!(
            classify(Api::TxnOffsetCommit, ErrorCode::IllegalGeneration),
            D::Abortable
        );
        assert_eq!(
            classify(Api::TxnOffsetCommit, ErrorCode::FencedInstanceId),
            D::Abortable
        );
        assert_eq!(classify(Api::EndTxn, ErrorCode::InvalidTxnState), D::Fatal);
        assert_eq!(
            classify(
                Api::InitProducerId,
                ErrorCode::TransactionalIdAuthorizationFailed
            ),
            D::Fatal
        );
    }
}
