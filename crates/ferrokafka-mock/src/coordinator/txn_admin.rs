//! ListTransactions and DescribeTransactions (KIP-664), read-only over the
//! transaction coordinator's state: each broker reports the transactional
//! ids it coordinates (as a broker reports those of the
//! `__transaction_state` partitions it leads), so a client asking every
//! broker sees each id once. DescribeTransactions at another broker is
//! NOT_COORDINATOR; an unknown id TRANSACTIONAL_ID_NOT_FOUND.

use kafka_protocol::messages::{
    describe_transactions_response, list_transactions_response, DescribeTransactionsRequest,
    DescribeTransactionsResponse, ListTransactionsRequest, ListTransactionsResponse, ProducerId,
    TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::{check_coordinator, coordinator_for, State};
use crate::cluster::Shared;

const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;

/// The states ListTransactions may filter on.
const STATES: &[&str] = &[
    "Empty",
    "Ongoing",
    "PrepareCommit",
    "PrepareAbort",
    "CompleteCommit",
    "CompleteAbort",
    "PrepareEpochFence",
    "Dead",
];

fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

impl State {
    fn txn_views(&self) -> (Vec<super::txn::view::TxnView>, u64) {
        (self.lock().txns.views(), self.now())
    }

    /// Wall-clock milliseconds of a coordinator-clock instant.
    fn wall_ms(&self, at: u64, now: u64) -> i64 {
        crate::log::now_ms() - i64::try_from(now.saturating_sub(at)).unwrap_or(i64::MAX)
    }
}

pub(crate) fn list_transactions(
    shared: &Shared,
    broker_id: i32,
    req: ListTransactionsRequest,
) -> ListTransactionsResponse {
    let (views, now) = shared.coordinator.txn_views();
    let mine: Vec<_> = {
        let cs = shared.state();
        views
            .into_iter()
            .filter(|v| coordinator_for(&cs, &v.transactional_id) == Some(broker_id))
            .collect()
    };
    let mut r = ListTransactionsResponse::default();
    r.unknown_state_filters = req
        .state_filters
        .iter()
        .filter(|s| !STATES.contains(&s.as_str()))
        .cloned()
        .collect();
    let pattern = req
        .transactional_id_pattern
        .as_ref()
        .map(|p| p.to_string())
        .filter(|p| !p.is_empty());
    for v in mine {
        let state = v.state.name();
        let keep = (req.state_filters.is_empty()
            || req.state_filters.iter().any(|s| s.as_str() == state))
            && (req.producer_id_filters.is_empty()
                || req.producer_id_filters.contains(&ProducerId(v.producer_id)))
            && (req.duration_filter < 0
                || v.started.is_some_and(|s| {
                    i64::try_from(now.saturating_sub(s)).unwrap_or(i64::MAX) >= req.duration_filter
                }))
            // A pattern is matched as a plain prefix or exact name, the
            // common uses of the regular expression Kafka takes.
            && pattern.as_deref().is_none_or(|p| match p.strip_suffix(".*") {
                Some(prefix) => v.transactional_id.starts_with(prefix),
                None => v.transactional_id == p,
            });
        if keep {
            let mut t = list_transactions_response::TransactionState::default();
            t.transactional_id = TransactionalId(sb(&v.transactional_id));
            t.producer_id = ProducerId(v.producer_id);
            t.transaction_state = sb(state);
            r.transaction_states.push(t);
        }
    }
    r
}

pub(crate) fn describe_transactions(
    shared: &Shared,
    broker_id: i32,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let (views, now) = shared.coordinator.txn_views();
    let mut r = DescribeTransactionsResponse::default();
    for id in req.transactional_ids {
        let mut t = describe_transactions_response::TransactionState::default();
        t.transactional_id = id.clone();
        t.transaction_start_time_ms = -1;
        t.producer_id = ProducerId(-1);
        t.producer_epoch = -1;
        if let Err(code) = check_coordinator(shared, broker_id, id.0.as_str()) {
            t.error_code = code;
        } else if let Some(v) = views.iter().find(|v| v.transactional_id == id.0.as_str()) {
            t.transaction_state = sb(v.state.name());
            t.transaction_timeout_ms = v.timeout_ms;
            t.producer_id = ProducerId(v.producer_id);
            t.producer_epoch = v.epoch;
            if let Some(s) = v.started {
                t.transaction_start_time_ms = shared.coordinator.wall_ms(s, now);
            }
            let mut topics: Vec<describe_transactions_response::TopicData> = Vec::new();
            for (topic, p) in &v.partitions {
                match topics.iter_mut().find(|x| x.topic.0.as_str() == topic) {
                    Some(x) => x.partitions.push(*p),
                    None => {
                        let mut x = describe_transactions_response::TopicData::default();
                        x.topic = TopicName(sb(topic));
                        x.partitions = vec![*p];
                        topics.push(x);
                    }
                }
            }
            t.topics = topics;
        } else {
            t.error_code = TRANSACTIONAL_ID_NOT_FOUND;
        }
        r.transaction_states.push(t);
    }
    r
}
