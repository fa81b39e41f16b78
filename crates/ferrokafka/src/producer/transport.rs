//! The producer's [`Transport`] over the cluster layer: Produce requests on
//! each leader's produce connection (`Cluster::connection(id,
//! ConnectionKind::Produce)`) and InitProducerId through any broker.
//!
//! Brokers, leaders, leader epochs, unknown topics, the propagation window
//! and metadata refreshes are the [`Cluster`]'s; connection handling
//! (sockets, version negotiation, pipelining, reconnect backoff) is
//! `net`'s. What stays here is the producer's ordering rule: a
//! ProduceRequest goes on its connection's queue in the order the sender
//! emitted it.

use super::idempotence::ProducerId;
use super::sender::{BoxFuture, Transport};
use super::settings::Settings;
use crate::cluster::state::TopicLookup;
use crate::cluster::{Cluster, ClusterSettings};
use crate::config::{ClientConfig, ClientRole, Config};
use crate::error::{Error, ErrorCode, Result};
use crate::net::{Connection, ConnectionKind, ConnectionState};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, ProduceRequest, ProduceResponse, ProducerId as KafkaProducerId,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Validates `config` for a producer: the producer's settings and those of
/// its cluster layer.
pub(crate) fn from_config(config: &ClientConfig) -> Result<(Settings, ClusterSettings)> {
    all_settings(&config.validate(ClientRole::Producer)?)
}

/// Everything a producer takes from a validated configuration, read in one
/// place.
pub(crate) fn all_settings(c: &Config) -> Result<(Settings, ClusterSettings)> {
    Ok((Settings::from_config(c)?, ClusterSettings::from_config(c)?))
}

/// The transport of a producer sitting on `cluster`.
/// `txn_v2` is the transactional producer's flag for KIP-890's
/// transaction version 2, under which its Produce requests go at v12
/// (partitions added implicitly); every other Produce stays at most v10.
pub(crate) fn connect(
    cluster: Cluster,
    acks: i16,
    txn_v2: Option<Arc<std::sync::atomic::AtomicBool>>,
) -> Arc<dyn Transport> {
    Arc::new(NetTransport {
        cluster,
        acks,
        waiting: Mutex::new(HashMap::new()),
        txn_v2,
    })
}

/// The highest Produce version for `request`.
fn produce_max(txn_v2: Option<&std::sync::atomic::AtomicBool>, request: &ProduceRequest) -> i16 {
    use super::txn::coordinator::{PRODUCE_V1_MAX, PRODUCE_V2};
    let v2 = txn_v2.is_some_and(|f| f.load(Ordering::Acquire));
    if v2 && request.transactional_id.is_some() {
        PRODUCE_V2
    } else {
        PRODUCE_V1_MAX
    }
}

/// Queues a ProduceRequest on `conn` right now, when the connection is up
/// and its versions known, and returns the future of its response; hands
/// the request back when the connection is not ready (it then goes the
/// ordinary way, after connecting).
///
/// The sender calls `produce` in the order batches must reach the broker;
/// a request queued only when its task first runs could overtake an
/// earlier one (tasks start in any order), and an idempotent producer's
/// sequences would then arrive out of order. Queuing here keeps the call
/// order on the wire.
fn submit_now(
    conn: &Connection,
    request: ProduceRequest,
    max: i16,
) -> std::result::Result<BoxFuture<Result<Option<ProduceResponse>>>, ProduceRequest> {
    if conn.state() != ConnectionState::Up {
        return Err(request);
    }
    let Some(version) = conn
        .negotiated()
        .and_then(|v| v.require(ApiKey::Produce).ok())
        .map(|v| v.min(max))
    else {
        return Err(request);
    };
    let c = conn.clone();
    let mut send: BoxFuture<Result<Option<ProduceResponse>>> =
        Box::pin(async move { c.send_version(&request, version, None).await.map(Some) });
    // `send_version` encodes and queues the request before its first
    // await: one poll now puts it on the connection's queue in call order.
    // The waker is replaced when the returned future is polled by its task.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match send.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => Ok(Box::pin(async move { r })),
        std::task::Poll::Pending => Ok(send),
    }
}

/// Counts a request down from its broker's waiting requests when dropped.
struct WaitingGuard(Arc<AtomicUsize>);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct NetTransport {
    cluster: Cluster,
    acks: i16,
    /// Per broker: Produce requests waiting for the connection before being
    /// queued (`can_send` holds later ones back meanwhile).
    waiting: Mutex<HashMap<i32, Arc<AtomicUsize>>>,
    /// A transactional producer's transaction-version-2 flag.
    txn_v2: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl NetTransport {
    fn waiting(&self, broker: i32) -> Arc<AtomicUsize> {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(broker)
            .or_default()
            .clone()
    }
}

impl Transport for NetTransport {
    fn topic(&self, topic: &str) -> TopicLookup {
        self.cluster.lookup(topic)
    }

    fn leader_error(&self, topic: &str) {
        self.cluster.leader_error(topic);
    }

    fn broker_known(&self, broker: i32) -> bool {
        self.cluster.broker(broker).is_some()
    }

    fn subscribe(&self) -> Option<watch::Receiver<u64>> {
        Some(self.cluster.subscribe())
    }

    fn take_security_error(&self) -> Option<Error> {
        self.cluster.take_security_error()
    }

    fn last_error(&self) -> Option<Error> {
        self.cluster.observer().last_error()
    }

    fn produce(
        &self,
        broker: i32,
        request: ProduceRequest,
    ) -> BoxFuture<Result<Option<ProduceResponse>>> {
        let conn = match self.cluster.connection(broker, ConnectionKind::Produce) {
            Ok(c) => c,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        if self.acks == 0 {
            let debug = self.cluster.observer().debug();
            return Box::pin(async move {
                conn.send_no_response(&request).await?;
                // The broker never answers acks=0, and the connection only
                // says the request is queued. An answered request behind it
                // on the same connection proves it was written, so a
                // delivery report never precedes the bytes leaving this
                // process. A failed barrier is not the record's failure:
                // with acks=0 nothing was promised beyond the write (and
                // some brokers, such as librdkafka's mock, answer acks=0
                // anyway, which makes the connection drop after reading it).
                if let Err(e) = conn.write_barrier().await {
                    crate::debug::trace_ctx!(
                        debug,
                        Msg,
                        broker,
                        "acks=0 write barrier failed: {e}"
                    );
                }
                Ok(None)
            });
        }
        let max = produce_max(self.txn_v2.as_deref(), &request);
        let request = match submit_now(&conn, request, max) {
            Ok(early) => return early,
            Err(request) => request,
        };
        // Not connected: this request waits for the connection and
        // `can_send` holds later ones back until it is queued, so the order
        // on the wire stays the call order.
        let waiting = self.waiting(broker);
        waiting.fetch_add(1, Ordering::AcqRel);
        let guard = WaitingGuard(waiting);
        Box::pin(async move {
            let ready = conn.api_versions(None).await;
            let queued = match &ready {
                Ok(_) => submit_now(&conn, request, max).ok(),
                Err(_) => None,
            };
            drop(guard);
            match (queued, ready) {
                (Some(f), _) => f.await,
                // Not queued in call order: sending it now, on a connection
                // made later, could put it behind requests the sender
                // emitted after it. It fails instead and is retried in order.
                (None, Err(e)) => Err(e),
                (None, Ok(_)) => Err(Error::new(
                    ErrorCode::Transport,
                    format!("connection to broker {broker} went down before the ProduceRequest was queued"),
                )),
            }
        })
    }

    fn init_producer_id(&self, current: Option<ProducerId>) -> BoxFuture<Result<ProducerId>> {
        let cluster = self.cluster.clone();
        Box::pin(async move {
            let mut req = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000);
            if let Some(p) = current {
                req = req
                    .with_producer_id(KafkaProducerId(p.id))
                    .with_producer_epoch(p.epoch);
            }
            let mut last = Error::new(ErrorCode::Transport, "no broker to ask for a producer id");
            for id in cluster.metadata_candidates() {
                let resp = match cluster.send(id, ConnectionKind::Admin, &req, None).await {
                    Ok(r) => r,
                    // A bump the broker's version cannot encode is not
                    // worth trying elsewhere: ask for a fresh id.
                    Err(e) if e.code() == ErrorCode::InvalidArg => return Err(e),
                    Err(e) => {
                        last = e;
                        continue;
                    }
                };
                if resp.error_code != 0 {
                    let at = cluster
                        .connection(id, ConnectionKind::Admin)
                        .map(|c| c.address().to_string())
                        .unwrap_or_else(|_| format!("broker {id}"));
                    return Err(Error::from_kafka(
                        resp.error_code,
                        format!("InitProducerId from {at}"),
                    ));
                }
                return Ok(ProducerId {
                    id: resp.producer_id.0,
                    epoch: resp.producer_epoch,
                });
            }
            Err(last)
        })
    }

    fn can_send(&self, broker: i32) -> bool {
        self.broker_known(broker) && self.waiting(broker).load(Ordering::Acquire) == 0
    }
}
