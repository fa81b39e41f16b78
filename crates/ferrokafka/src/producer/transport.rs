//! The producer's [`Transport`] over `net` connections: one produce
//! connection per broker, Metadata requests on admin connections (bootstrap
//! servers until brokers are known), broker addresses from the metadata.
//!
//! Connection handling itself (sockets, version negotiation, pipelining,
//! reconnect backoff) is `net`'s; this module only routes.

use super::idempotence::ProducerId;
use super::sender::{BoxFuture, TopicLeaders, Transport};
use super::settings::Settings;
use crate::config::{ClientConfig, ClientRole, Config};
use crate::error::{Error, ErrorCode, Result};
use crate::net::{BrokerAddress, Connection, ConnectionKind, NetSettings};
use bytes::BytesMut;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, MetadataRequest, MetadataResponse,
    ProduceRequest, ProduceResponse, ProducerId as KafkaProducerId, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What `Producer::new` needs to start: validated settings and the pieces of
/// the transport that need a runtime to start.
pub(crate) struct Pending {
    net: Arc<NetSettings>,
    bootstrap: Vec<BrokerAddress>,
    acks: i16,
    auto_create: bool,
}

/// Validates `config` for a producer.
pub(crate) fn from_config(config: &ClientConfig) -> Result<(Settings, Pending)> {
    let c: Config = config.validate(ClientRole::Producer)?;
    let settings = Settings::from_config(&c)?;
    let mut bootstrap = Vec::new();
    for s in c.get_list("metadata.broker.list") {
        let a = BrokerAddress::parse(s).ok_or_else(|| {
            Error::config(
                "bootstrap.servers",
                s,
                "a comma-separated list of host:port",
            )
        })?;
        bootstrap.push(a);
    }
    if bootstrap.is_empty() {
        return Err(Error::new(
            ErrorCode::InvalidArg,
            "bootstrap.servers is not set: give at least one broker as host:port",
        ));
    }
    let net = NetSettings {
        max_in_flight: settings.max_in_flight,
        ..NetSettings::from_config(&c)?
    };
    let auto_create =
        !c.is_set_explicitly("allow.auto.create.topics") || c.get_bool("allow.auto.create.topics");
    Ok((
        settings.clone(),
        Pending {
            net: Arc::new(net),
            bootstrap,
            acks: settings.acks,
            auto_create,
        },
    ))
}

impl Pending {
    /// Builds the transport; must run inside the runtime the connections
    /// will live on.
    pub(crate) fn connect(self) -> Result<Arc<dyn Transport>> {
        let rt = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::new(ErrorCode::Fail, "the producer transport needs a runtime"))?;
        let bootstrap = self
            .bootstrap
            .iter()
            .map(|a| Connection::new(a.clone(), ConnectionKind::Admin, self.net.clone(), &rt))
            .collect();
        Ok(Arc::new(Arc::new(NetTransport {
            net: self.net,
            rt,
            acks: self.acks,
            auto_create: self.auto_create,
            bootstrap,
            next_meta: AtomicUsize::new(0),
            brokers: Mutex::new(HashMap::new()),
        })))
    }
}

/// Encodes `req` at the broker's negotiated version of `key`, sends it and
/// decodes the answer (`None` when `no_response`, for acks=0).
async fn call<Req: Encodable, Resp: Decodable>(
    conn: &Connection,
    key: ApiKey,
    req: &Req,
    no_response: bool,
) -> Result<Option<Resp>> {
    let versions = conn.api_versions(None).await?;
    let version = versions.require(key)?;
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArg,
            format!("cannot encode {key:?} v{version}: {e}"),
        )
    })?;
    if no_response {
        conn.send_raw_no_response(key, version, buf.freeze())?;
        return Ok(None);
    }
    let mut body = conn.send_raw(key, version, buf.freeze(), None).await?;
    crate::protocol::guard::check_response(key, version, &body, &conn.address().to_string())?;
    Resp::decode(&mut body, version).map(Some).map_err(|e| {
        Error::new(
            ErrorCode::BadMsg,
            format!(
                "cannot decode {key:?} v{version} response from {}: {e}",
                conn.address()
            ),
        )
    })
}

/// Queues a ProduceRequest on `conn` right now, when the connection is up
/// and its versions known, and returns the future of its response.
///
/// The sender calls `produce` in the order batches must reach the broker;
/// a request queued only when its task first runs could overtake an
/// earlier one (tasks start in any order), and an idempotent producer's
/// sequences would then arrive out of order. Queuing here keeps the call
/// order on the wire. `None` when the connection is not ready (the request
/// then goes the ordinary way, after connecting).
fn submit_now(
    conn: &Connection,
    request: &ProduceRequest,
) -> Option<BoxFuture<Result<Option<ProduceResponse>>>> {
    if conn.state() != crate::net::ConnectionState::Up {
        return None;
    }
    let version = conn.negotiated()?.require(ApiKey::Produce).ok()?;
    let mut buf = BytesMut::new();
    request.encode(&mut buf, version).ok()?;
    let c = conn.clone();
    let mut send: BoxFuture<Result<bytes::Bytes>> = Box::pin(async move {
        c.send_raw(ApiKey::Produce, version, buf.freeze(), None)
            .await
    });
    // `send_raw` queues the request before its first await: one poll now
    // puts it on the connection's queue in call order. The waker is
    // replaced when the returned future is polled by its task.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let early = match send.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => Some(r),
        std::task::Poll::Pending => None,
    };
    let conn = conn.clone();
    Some(Box::pin(async move {
        let mut body = match early {
            Some(r) => r?,
            None => send.await?,
        };
        let key = ApiKey::Produce;
        crate::protocol::guard::check_response(key, version, &body, &conn.address().to_string())?;
        ProduceResponse::decode(&mut body, version)
            .map(Some)
            .map_err(|e| {
                Error::new(
                    ErrorCode::BadMsg,
                    format!(
                        "cannot decode {key:?} v{version} response from {}: {e}",
                        conn.address()
                    ),
                )
            })
    }))
}

/// Counts a request down from its broker's waiting requests when dropped.
struct WaitingGuard(Arc<AtomicUsize>);

impl Drop for WaitingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

struct BrokerConns {
    addr: BrokerAddress,
    /// Produce requests waiting for the connection before being queued.
    waiting: Arc<AtomicUsize>,
    produce: Connection,
    admin: Connection,
}

struct NetTransport {
    net: Arc<NetSettings>,
    rt: tokio::runtime::Handle,
    acks: i16,
    auto_create: bool,
    bootstrap: Vec<Connection>,
    next_meta: AtomicUsize,
    brokers: Mutex<HashMap<i32, BrokerConns>>,
}

impl NetTransport {
    /// Connections to ask for metadata, in the order to try: known brokers
    /// first (rotating), then the bootstrap servers.
    fn metadata_candidates(&self) -> Vec<Connection> {
        let start = self.next_meta.fetch_add(1, Ordering::Relaxed);
        let mut v: Vec<Connection> = {
            let b = self.brokers.lock().unwrap_or_else(|p| p.into_inner());
            let mut ids: Vec<&i32> = b.keys().collect();
            ids.sort();
            ids.iter().map(|id| b[id].admin.clone()).collect()
        };
        if !v.is_empty() {
            let n = v.len();
            v.rotate_left(start % n);
        }
        let mut boot = self.bootstrap.clone();
        if !boot.is_empty() {
            let n = boot.len();
            boot.rotate_left(start % n);
        }
        v.extend(boot);
        v
    }

    fn update_brokers(&self, list: &[(i32, BrokerAddress)]) {
        let mut b = self.brokers.lock().unwrap_or_else(|p| p.into_inner());
        for (id, addr) in list {
            if b.get(id).is_some_and(|c| c.addr == *addr) {
                continue;
            }
            b.insert(
                *id,
                BrokerConns {
                    addr: addr.clone(),
                    waiting: Arc::new(AtomicUsize::new(0)),
                    produce: Connection::new(
                        addr.clone(),
                        ConnectionKind::Produce,
                        self.net.clone(),
                        &self.rt,
                    ),
                    admin: Connection::new(
                        addr.clone(),
                        ConnectionKind::Admin,
                        self.net.clone(),
                        &self.rt,
                    ),
                },
            );
        }
    }
}

impl Transport for Arc<NetTransport> {
    fn metadata(&self, topics: Vec<Arc<str>>) -> BoxFuture<Result<Vec<TopicLeaders>>> {
        let this = self.clone();
        Box::pin(async move {
            let req = MetadataRequest::default()
                .with_topics(Some(
                    topics
                        .iter()
                        .map(|t| {
                            MetadataRequestTopic::default()
                                .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))
                        })
                        .collect(),
                ))
                .with_allow_auto_topic_creation(this.auto_create);
            let mut last = Error::new(ErrorCode::Transport, "no broker to ask for metadata");
            for conn in this.metadata_candidates() {
                let resp: MetadataResponse = match call(&conn, ApiKey::Metadata, &req, false).await
                {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    // Every broker would refuse the same credentials.
                    Err(e) if matches!(e.code(), ErrorCode::Authentication | ErrorCode::Ssl) => {
                        return Err(e)
                    }
                    Err(e) => {
                        last = e;
                        continue;
                    }
                };
                let brokers: Vec<(i32, BrokerAddress)> = resp
                    .brokers
                    .iter()
                    .filter_map(|b| {
                        let port = u16::try_from(b.port).ok()?;
                        Some((
                            b.node_id.0,
                            BrokerAddress {
                                host: b.host.to_string(),
                                port,
                            },
                        ))
                    })
                    .collect();
                this.update_brokers(&brokers);
                // A leader whose address this client has never been told
                // (a broker down when the metadata was built is left out of
                // the list, librdkafka's mock does that) counts as no
                // leader, so the metadata is asked again instead of the
                // partition waiting for a connection that cannot exist.
                let known: std::collections::HashSet<i32> = this
                    .brokers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .keys()
                    .copied()
                    .collect();
                let out = resp
                    .topics
                    .iter()
                    .filter_map(|t| {
                        let name: Arc<str> = Arc::from(t.name.as_ref()?.0.as_str());
                        let code = ErrorCode::from_kafka(t.error_code);
                        if code != ErrorCode::NoError || t.partitions.is_empty() {
                            let code = if code == ErrorCode::NoError {
                                ErrorCode::UnknownTopicOrPartition
                            } else {
                                code
                            };
                            return Some((name, Err(code)));
                        }
                        let n = t
                            .partitions
                            .iter()
                            .map(|p| p.partition_index)
                            .max()
                            .unwrap_or(-1)
                            .saturating_add(1);
                        // A partition count beyond any real cluster is a broken answer.
                        if !(1..=1_000_000).contains(&n) {
                            return Some((name, Err(ErrorCode::BadMsg)));
                        }
                        let mut leaders = vec![None; n as usize];
                        for p in &t.partitions {
                            if p.partition_index >= 0
                                && p.leader_id.0 >= 0
                                && known.contains(&p.leader_id.0)
                            {
                                leaders[p.partition_index as usize] = Some(p.leader_id.0);
                            }
                        }
                        Some((name, Ok(leaders)))
                    })
                    .collect();
                return Ok(out);
            }
            Err(last)
        })
    }

    fn produce(
        &self,
        broker: i32,
        request: ProduceRequest,
    ) -> BoxFuture<Result<Option<ProduceResponse>>> {
        let (conn, waiting) = {
            let b = self.brokers.lock().unwrap_or_else(|p| p.into_inner());
            match b.get(&broker) {
                Some(c) => (Some(c.produce.clone()), Some(c.waiting.clone())),
                None => (None, None),
            }
        };
        let acks = self.acks;
        if acks != 0 {
            if let Some(early) = conn.as_ref().and_then(|c| submit_now(c, &request)) {
                return early;
            }
            if let (Some(conn), Some(waiting)) = (conn.clone(), waiting) {
                // Not connected: this request waits for the connection and
                // `can_send` holds later ones back until it is queued, so
                // the order on the wire stays the call order.
                waiting.fetch_add(1, Ordering::AcqRel);
                let guard = WaitingGuard(waiting);
                return Box::pin(async move {
                    let ready = conn.api_versions(None).await;
                    let queued = match &ready {
                        Ok(_) => submit_now(&conn, &request),
                        Err(_) => None,
                    };
                    drop(guard);
                    match (queued, ready) {
                        (Some(f), _) => f.await,
                        // Not queued in call order: sending it now, on a
                        // connection made later, could put it behind
                        // requests the sender emitted after it. It fails
                        // instead and is retried in order.
                        (None, Err(e)) => Err(e),
                        (None, Ok(_)) => Err(Error::new(
                            ErrorCode::Transport,
                            format!("connection to broker {broker} went down before the ProduceRequest was queued"),
                        )),
                    }
                });
            }
        }
        Box::pin(async move {
            let conn = conn.ok_or_else(|| {
                Error::new(
                    ErrorCode::Transport,
                    format!("broker {broker} is not known"),
                )
            })?;
            let resp = call(&conn, ApiKey::Produce, &request, acks == 0).await?;
            if acks == 0 {
                // The broker never answers acks=0, and the connection only
                // says the request is queued. An answered request behind it
                // on the same connection proves it was written (brokers
                // handle a connection's requests in order), so a delivery
                // report never precedes the bytes leaving this process.
                // A failed barrier is not the record's failure: with acks=0
                // nothing was promised beyond the write (and some brokers,
                // such as librdkafka's mock, answer acks=0 anyway, which
                // makes the connection drop after reading it).
                let barrier = MetadataRequest::default().with_topics(Some(Vec::new()));
                if let Err(e) =
                    call::<_, MetadataResponse>(&conn, ApiKey::Metadata, &barrier, false).await
                {
                    tracing::debug!(target: "ferrokafka::producer", broker, "acks=0 write barrier failed: {e}");
                }
            }
            Ok(resp)
        })
    }

    fn init_producer_id(&self, current: Option<ProducerId>) -> BoxFuture<Result<ProducerId>> {
        let this = self.clone();
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
            for conn in this.metadata_candidates() {
                let resp: InitProducerIdResponse =
                    match call(&conn, ApiKey::InitProducerId, &req, false).await {
                        Ok(Some(r)) => r,
                        Ok(None) => continue,
                        // A bump the broker's version cannot encode is not
                        // worth trying elsewhere: ask for a fresh id.
                        Err(e) if e.code() == ErrorCode::InvalidArg => return Err(e),
                        Err(e) => {
                            last = e;
                            continue;
                        }
                    };
                if resp.error_code != 0 {
                    return Err(Error::from_kafka(
                        resp.error_code,
                        format!("InitProducerId from {}", conn.address()),
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
        self.brokers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&broker)
            .is_some_and(|c| c.waiting.load(Ordering::Acquire) == 0)
    }
}
