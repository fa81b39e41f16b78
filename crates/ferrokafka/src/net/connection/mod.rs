//! One broker connection: a handle ([`Connection`]) and the task that owns
//! the socket.
//!
//! The task sleeps until the first request, then connects (waiting out the
//! reconnect backoff, trying every resolved address in turn), runs the
//! ApiVersions handshake and serves requests: each is framed into one
//! reused write buffer with a fresh correlation id, up to the in-flight
//! limit, and completed when the response with that id arrives. A request
//! past its deadline fails with `_TIMED_OUT` and closes the connection, as
//! its late answer could no longer be told apart from a broker that hangs;
//! an oversized, truncated or undecodable frame closes it too. Closing fails
//! every request in flight with `_TRANSPORT` or `_BAD_MSG`; the next request
//! reconnects. The task ends when the last handle is dropped.
//!
//! Opening a socket (connect, TLS, ApiVersions, SASL) is in `open`; the
//! write queue that frames requests without copying large bodies is in
//! `outbox`.

use super::backoff::Backoff;
use super::sasl::{self, SaslSettings};
use super::tls::TlsStream;
use super::{BrokerAddress, ConnectionKind, NetSettings};
use crate::debug::trace_ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::body::Body;
use crate::protocol::frame::{self, ApiVersionsAnswer, FrameReader};
use crate::protocol::versions::API_VERSIONS_MAX;
use crate::protocol::ApiRequest;
use crate::protocol::{codes, ApiKey, ApiVersionTable};
use bytes::{Bytes, BytesMut};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

mod counters;
mod open;
mod outbox;
pub(crate) use counters::Counters;
use open::{reauth_deadline, Stream};
use outbox::Outbox;

/// How long after a request's deadline its caller stops waiting for the
/// connection task to report the timeout itself.
const CALLER_GRACE: Duration = Duration::from_millis(50);

/// Read buffer growth step; frames larger than this reserve exactly.
const READ_CHUNK: usize = 64 * 1024;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Never connected, or closed while idle.
    Idle = 0,
    /// Resolving, connecting or handshaking.
    Connecting = 1,
    /// Serving requests.
    Up = 2,
    /// The last attempt failed or the connection broke.
    Down = 3,
}

impl ConnectionState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => ConnectionState::Connecting,
            2 => ConnectionState::Up,
            3 => ConnectionState::Down,
            _ => ConnectionState::Idle,
        }
    }
}

struct Request {
    api_key: ApiKey,
    version: i16,
    body: Body,
    deadline: Instant,
    /// `None`: the broker sends no response (Produce with acks=0).
    reply: Option<oneshot::Sender<Result<Bytes>>>,
    /// When it was handed to the connection (outbuf_latency).
    queued_at: Instant,
}

enum Command {
    Request(Request),
    /// Connect if needed and report the negotiated versions.
    Ready {
        deadline: Instant,
        reply: oneshot::Sender<Result<Arc<ApiVersionTable>>>,
    },
}

impl Command {
    fn deadline(&self) -> Instant {
        match self {
            Command::Request(r) => r.deadline,
            Command::Ready { deadline, .. } => *deadline,
        }
    }

    fn abandoned(&self) -> bool {
        match self {
            Command::Request(r) => r.reply.as_ref().is_some_and(|s| s.is_closed()),
            Command::Ready { reply, .. } => reply.is_closed(),
        }
    }

    fn fail(self, e: Error) {
        match self {
            Command::Request(r) => {
                if let Some(tx) = r.reply {
                    let _ = tx.send(Err(e));
                }
            }
            Command::Ready { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// State shared by the handles and the task.
struct Shared {
    addr: BrokerAddress,
    kind: ConnectionKind,
    settings: Arc<NetSettings>,
    state: AtomicU8,
    versions: Mutex<Option<Arc<ApiVersionTable>>>,
    counters: Counters,
}

/// A handle to one broker connection; cheap to clone. The connection task
/// ends, closing its socket, when the last handle is dropped.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.shared.addr)
            .field("kind", &self.shared.kind)
            .field("state", &self.state())
            .finish()
    }
}

impl Connection {
    /// A connection to `addr` for `kind` traffic, spawned on `rt`. Nothing
    /// is opened until the first request.
    pub fn new(
        addr: BrokerAddress,
        kind: ConnectionKind,
        settings: Arc<NetSettings>,
        rt: &tokio::runtime::Handle,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            addr,
            kind,
            settings: settings.clone(),
            state: AtomicU8::new(ConnectionState::Idle as u8),
            versions: Mutex::new(None),
            counters: Counters::default(),
        });
        let task = Task {
            backoff: Backoff::new(settings.reconnect_backoff, settings.reconnect_backoff_max),
            shared: shared.clone(),
            settings,
            rx,
            queue: VecDeque::new(),
            next_correlation_id: 0,
            resolved: None,
            fallback_until: None,
        };
        rt.spawn(task.run());
        Connection { shared, tx }
    }

    /// The broker address this connection goes to.
    pub fn address(&self) -> &BrokerAddress {
        &self.shared.addr
    }

    /// The traffic class of this connection.
    pub fn kind(&self) -> ConnectionKind {
        self.shared.kind
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> ConnectionState {
        ConnectionState::from_u8(self.shared.state.load(Ordering::Relaxed))
    }

    /// This connection's statistics counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.shared.counters
    }

    /// The versions negotiated on the current (or last) socket, if any.
    pub(crate) fn negotiated(&self) -> Option<Arc<ApiVersionTable>> {
        self.shared.versions.lock().ok()?.clone()
    }

    fn default_timeout(&self, timeout: Option<Duration>) -> Instant {
        Instant::now() + timeout.unwrap_or(self.shared.settings.request_timeout)
    }

    fn submit(&self, cmd: Command) -> Result<()> {
        self.tx.send(cmd).map_err(|_| {
            Error::new(
                codes::DESTROY,
                format!("connection to {} has shut down", self.shared.addr),
            )
        })
    }

    fn timed_out(&self, what: &str, timeout: Duration) -> Error {
        Error::new(
            codes::TIMED_OUT,
            format!(
                "{what} to broker {} timed out after {} ms",
                self.shared.addr,
                timeout.as_millis()
            ),
        )
    }

    /// Connects if needed and returns the versions negotiated with the
    /// broker, within `timeout` (default `socket.timeout.ms`).
    pub(crate) async fn api_versions(
        &self,
        timeout: Option<Duration>,
    ) -> Result<Arc<ApiVersionTable>> {
        if self.state() == ConnectionState::Up {
            if let Some(v) = self.negotiated() {
                return Ok(v);
            }
        }
        let deadline = self.default_timeout(timeout);
        let (tx, rx) = oneshot::channel();
        self.submit(Command::Ready {
            deadline,
            reply: tx,
        })?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(self.task_gone()),
            Err(_) => Err(self.timed_out(
                "connection setup",
                timeout.unwrap_or(self.shared.settings.request_timeout),
            )),
        }
    }

    fn task_gone(&self) -> Error {
        Error::new(
            codes::DESTROY,
            format!("connection task for {} ended", self.shared.addr),
        )
    }

    /// Sends an already-encoded request `body` of `api_key` at `version` and
    /// returns the response body (header stripped), within `timeout`
    /// (default `socket.timeout.ms`). Dropping the future abandons the
    /// request: if it is not written yet it never will be.
    pub async fn send_raw(
        &self,
        api_key: ApiKey,
        version: i16,
        body: Bytes,
        timeout: Option<Duration>,
    ) -> Result<Bytes> {
        self.send_body(api_key, version, body.into(), timeout).await
    }

    /// [`send_raw`](Self::send_raw) of a body in chunks.
    async fn send_body(
        &self,
        api_key: ApiKey,
        version: i16,
        body: Body,
        timeout: Option<Duration>,
    ) -> Result<Bytes> {
        let deadline = self.default_timeout(timeout);
        let (tx, rx) = oneshot::channel();
        self.submit(Command::Request(Request {
            api_key,
            version,
            body,
            deadline,
            reply: Some(tx),
            queued_at: Instant::now(),
        }))?;
        // The task enforces the deadline (and closes the socket first, so
        // that the next request goes to a fresh connection); this later
        // bound holds even while the task is still connecting.
        match tokio::time::timeout_at(deadline + CALLER_GRACE, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(self.task_gone()),
            Err(_) => Err(self.timed_out(
                &format!("{api_key:?} v{version} request"),
                timeout.unwrap_or(self.shared.settings.request_timeout),
            )),
        }
    }

    /// Queues a request the broker does not answer (Produce with acks=0).
    /// Returns once it is queued; a failure to connect is only logged.
    pub fn send_raw_no_response(&self, api_key: ApiKey, version: i16, body: Bytes) -> Result<()> {
        self.send_body_no_response(api_key, version, body.into())
    }

    fn send_body_no_response(&self, api_key: ApiKey, version: i16, body: Body) -> Result<()> {
        let deadline = self.default_timeout(None);
        self.submit(Command::Request(Request {
            api_key,
            version,
            body,
            deadline,
            reply: None,
            queued_at: Instant::now(),
        }))
    }

    /// Encodes `req` at the highest version negotiated with this broker and
    /// queues it as a request the broker does not answer (Produce with
    /// acks=0); returns once it is queued.
    pub(crate) async fn send_no_response<R: ApiRequest>(&self, req: &R) -> Result<()> {
        let version = self.api_versions(None).await?.require(R::KEY)?;
        let body = req.encode_body(version)?;
        self.send_body_no_response(R::KEY, version, body)
    }

    /// Resolves once the broker has handled every request queued on this
    /// connection before it: brokers handle a connection's requests in
    /// order, so the answer to a request sent now (an empty Metadata
    /// request, whose body is not needed and not decoded) proves the
    /// earlier ones, answered or not, were read.
    pub(crate) async fn write_barrier(&self) -> Result<()> {
        let req =
            kafka_protocol::messages::MetadataRequest::default().with_topics(Some(Vec::new()));
        let version = self.api_versions(None).await?.require(ApiKey::Metadata)?;
        let body = req.encode_body(version)?;
        self.send_body(ApiKey::Metadata, version, body, None)
            .await
            .map(drop)
    }

    /// Encodes `req` at the highest version negotiated with this broker,
    /// sends it and decodes the response with the `kafka-protocol` crate.
    ///
    /// That crate (0.18) reserves `Vec` capacity straight from array counts
    /// on the wire, so every body goes through `protocol::decode`, which
    /// first walks it by the response's schema (`ferrokafka-wire`): a count larger than the bytes present
    /// is a `BadMsg` error here instead of a multi-gigabyte allocation.
    pub async fn send<R: ApiRequest>(
        &self,
        req: &R,
        timeout: Option<Duration>,
    ) -> Result<R::Response> {
        let version = self.api_versions(timeout).await?.require(R::KEY)?;
        self.send_version(req, version, timeout).await
    }

    /// [`send`](Self::send) at a `version` the caller picked (one the
    /// broker negotiated, possibly lower than the highest).
    pub(crate) async fn send_version<R: ApiRequest>(
        &self,
        req: &R,
        version: i16,
        timeout: Option<Duration>,
    ) -> Result<R::Response> {
        let api_key = R::KEY;
        let body = req.encode_body(version)?;
        let body = self.send_body(api_key, version, body, timeout).await?;
        let resp = crate::protocol::decode::<R>(version, body, &self.shared.addr.to_string())?;
        let throttle = R::throttle_time_ms(&resp);
        if throttle > 0 {
            self.shared.counters.on_throttle(throttle);
            let observer = &self.shared.settings.observer;
            trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, api = ?api_key, throttle_ms = throttle, "throttled by the broker (KIP-219)");
            observer.throttled(&self.shared.addr, api_key, throttle);
        }
        Ok(resp)
    }
}

/// The task owning one connection's socket.
struct Task {
    shared: Arc<Shared>,
    settings: Arc<NetSettings>,
    rx: mpsc::UnboundedReceiver<Command>,
    backoff: Backoff,
    /// Commands received but not yet written.
    queue: VecDeque<Command>,
    next_correlation_id: i32,
    /// The broker name's addresses and when they were resolved
    /// (`broker.address.ttl`).
    resolved: Option<(Vec<std::net::SocketAddr>, Instant)>,
    /// Until then, `broker.version.fallback` is assumed instead of asking
    /// (`api.version.fallback.ms` after a failed ApiVersions request).
    fallback_until: Option<Instant>,
}

struct InFlight {
    api_key: ApiKey,
    version: i16,
    reply: oneshot::Sender<Result<Bytes>>,
    /// When it was framed for writing (rtt).
    sent_at: Instant,
}

impl Task {
    fn set_state(&self, s: ConnectionState) {
        let old = self.shared.state.swap(s as u8, Ordering::Relaxed);
        if old != s as u8 {
            self.shared
                .counters
                .state_changed(Instant::now().into_std());
        }
    }

    fn correlation_id(&mut self) -> i32 {
        let id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1) & i32::MAX;
        id
    }

    /// Drops queued commands whose caller gave up or whose deadline passed.
    fn prune_queue(&mut self, now: Instant) {
        let addr = &self.shared.addr;
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for cmd in self.queue.drain(..) {
            if cmd.abandoned() {
                continue;
            }
            if cmd.deadline() <= now {
                cmd.fail(Error::new(
                    codes::TIMED_OUT,
                    format!("request to broker {addr} timed out before it could be sent"),
                ));
                continue;
            }
            kept.push_back(cmd);
        }
        self.queue = kept;
    }

    fn fail_queued(&mut self, e: &Error) {
        while let Ok(cmd) = self.rx.try_recv() {
            self.queue.push_back(cmd);
        }
        for cmd in self.queue.drain(..) {
            cmd.fail(e.clone());
        }
    }

    async fn run(mut self) {
        loop {
            if self.queue.is_empty() {
                match self.rx.recv().await {
                    Some(cmd) => self.queue.push_back(cmd),
                    None => return,
                }
            }
            if let Some(at) = self.backoff.next_allowed() {
                tokio::time::sleep_until(Instant::from_std(at)).await;
            }
            while let Ok(cmd) = self.rx.try_recv() {
                self.queue.push_back(cmd);
            }
            self.prune_queue(Instant::now());
            if self.queue.is_empty() {
                continue;
            }
            self.set_state(ConnectionState::Connecting);
            self.shared
                .counters
                .connects
                .fetch_add(1, Ordering::Relaxed);
            self.backoff
                .on_attempt(Instant::now().into_std(), Backoff::random_jitter());
            let observer = self.settings.observer.clone();
            trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, kind = ?self.shared.kind, "connecting");
            let setup = tokio::time::timeout(self.settings.connect_timeout, self.open());
            let (stream, versions, reauth_at) = match setup.await {
                Ok(Ok(ok)) => ok,
                Ok(Err(e)) => {
                    trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, kind = ?self.shared.kind, error = %e, "connect failed");
                    self.set_state(ConnectionState::Down);
                    observer.broker_failed(&self.shared.addr, &e);
                    self.fail_queued(&e);
                    continue;
                }
                Err(_) => {
                    let e = Error::new(
                        codes::TIMED_OUT,
                        format!(
                            "connection setup to {} timed out after {} ms (socket.connection.setup.timeout.ms)",
                            self.shared.addr,
                            self.settings.connect_timeout.as_millis()
                        ),
                    );
                    trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, kind = ?self.shared.kind, error = %e, "connect failed");
                    self.set_state(ConnectionState::Down);
                    observer.broker_failed(&self.shared.addr, &e);
                    self.fail_queued(&e);
                    continue;
                }
            };
            self.backoff.on_connected();
            if let Ok(mut v) = self.shared.versions.lock() {
                *v = Some(versions.clone());
            }
            self.set_state(ConnectionState::Up);
            observer.connected(&self.shared.addr);
            trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, kind = ?self.shared.kind, "connected");
            let served = match stream {
                Stream::Plain(tcp) => {
                    let (rd, wr) = tcp.into_split();
                    self.serve(rd, wr, versions, reauth_at).await
                }
                Stream::Tls(tls) => {
                    let (rd, wr) = tokio::io::split(*tls);
                    self.serve(rd, wr, versions, reauth_at).await
                }
            };
            self.shared
                .counters
                .disconnects
                .fetch_add(1, Ordering::Relaxed);
            match served {
                Ok(Exit::Shutdown) => return,
                Ok(Exit::Idle) => {
                    trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, kind = ?self.shared.kind, "closed after connections.max.idle.ms without traffic");
                    self.set_state(ConnectionState::Idle)
                }
                Err(e) => {
                    trace_ctx!(observer.debug(), Broker, broker = %self.shared.addr, kind = ?self.shared.kind, error = %e, "connection closed");
                    self.set_state(ConnectionState::Down);
                    observer.broker_failed(&self.shared.addr, &e);
                }
            }
        }
    }

    async fn serve<R, W>(
        &mut self,
        mut rd: R,
        mut wr: W,
        versions: Arc<ApiVersionTable>,
        mut reauth_at: Option<Instant>,
    ) -> Result<Exit>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let reader = FrameReader::new(self.settings.receive_max);
        let max_in_flight =
            if self.settings.group_uncapped && self.shared.kind == ConnectionKind::Group {
                usize::MAX
            } else {
                self.settings.max_in_flight.max(1)
            };
        // Timed-out requests so far (socket.max.fails) and the ids whose
        // late answers are dropped when the connection outlived them.
        let mut fails: u32 = 0;
        let mut discard: std::collections::HashSet<i32> = std::collections::HashSet::new();
        let mut inflight: HashMap<i32, InFlight> = HashMap::new();
        let mut deadlines: BinaryHeap<Reverse<(Instant, i32)>> = BinaryHeap::new();
        let mut out = Outbox::new(self.settings.copy_max);
        let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
        let mut last_activity = Instant::now();
        let result = loop {
            // Re-authentication (KIP-368): once due, no new request is
            // written; when the last answer is in, the SASL exchange runs
            // again on this socket, then requests flow on.
            let reauth_due = reauth_at.is_some_and(|t| Instant::now() >= t);
            if reauth_due && inflight.is_empty() && out.is_empty() {
                let settings = self.settings.clone();
                let Some(sasl) = &settings.sasl else {
                    reauth_at = None;
                    continue;
                };
                let mut joined = tokio::io::join(&mut rd, &mut wr);
                let again = self.authenticate(&mut joined, &versions, sasl);
                match tokio::time::timeout(settings.connect_timeout, again).await {
                    Ok(Ok(lifetime)) => {
                        trace_ctx!(settings.observer.debug(), Security, broker = %self.shared.addr, "re-authenticated");
                        reauth_at = lifetime.map(reauth_deadline);
                        last_activity = Instant::now();
                        continue;
                    }
                    Ok(Err(e)) => break Err(e),
                    Err(_) => {
                        break Err(Error::new(
                            codes::TIMED_OUT,
                            format!(
                                "re-authentication with {} timed out after {} ms",
                                self.shared.addr,
                                settings.connect_timeout.as_millis()
                            ),
                        ))
                    }
                }
            }
            // Frame queued requests into the write buffer, up to the limit.
            while !reauth_due && inflight.len() < max_in_flight {
                let Some(cmd) = self.queue.pop_front() else {
                    break;
                };
                if cmd.abandoned() {
                    continue;
                }
                let req = match cmd {
                    Command::Ready { reply, .. } => {
                        let _ = reply.send(Ok(versions.clone()));
                        continue;
                    }
                    Command::Request(r) => r,
                };
                if req.deadline <= Instant::now() {
                    Command::Request(req).fail(Error::new(
                        codes::TIMED_OUT,
                        "request timed out before it could be sent",
                    ));
                    continue;
                }
                if req.api_key != ApiKey::Produce && req.body.len() > self.settings.request_max {
                    let e = Error::new(
                        ErrorCode::MsgSizeTooLarge,
                        format!(
                            "{:?} request of {} bytes exceeds message.max.bytes={}",
                            req.api_key,
                            req.body.len(),
                            self.settings.request_max
                        ),
                    );
                    Command::Request(req).fail(e);
                    continue;
                }
                let id = self.correlation_id();
                let framed = match out.push(
                    req.api_key,
                    req.version,
                    id,
                    Some(&self.settings.client_id),
                    &req.body,
                ) {
                    Ok(n) => n,
                    Err(e) => {
                        Command::Request(req).fail(e);
                        continue;
                    }
                };
                trace_ctx!(self.settings.observer.debug(), Protocol, broker = %self.shared.addr, "sent {:?} v{} request: correlation id {id}, {framed} bytes", req.api_key, req.version);
                let now = Instant::now();
                self.shared.counters.on_request(
                    req.api_key as i16,
                    framed,
                    now.saturating_duration_since(req.queued_at),
                );
                // Without a reply channel the broker sends no response.
                if let Some(reply) = req.reply {
                    deadlines.push(Reverse((req.deadline, id)));
                    inflight.insert(
                        id,
                        InFlight {
                            api_key: req.api_key,
                            version: req.version,
                            reply,
                            sent_at: now,
                        },
                    );
                }
            }
            // Lazily drop deadlines of completed requests.
            while let Some(Reverse((_, id))) = deadlines.peek() {
                if inflight.contains_key(id) {
                    break;
                }
                deadlines.pop();
            }
            let next_deadline = deadlines.peek().map(|Reverse((t, _))| *t);
            let idle = inflight.is_empty() && out.is_empty() && self.queue.is_empty();
            let idle_at = (!self.settings.idle_timeout.is_zero() && idle)
                .then(|| last_activity + self.settings.idle_timeout);
            let accepting = self.queue.len() < max_in_flight;
            let counters = &self.shared.counters;
            counters.wakeups.fetch_add(1, Ordering::Relaxed);
            counters
                .outbuf_cnt
                .store(self.queue.len() as u64, Ordering::Relaxed);
            counters
                .waitresp_cnt
                .store(inflight.len() as u64, Ordering::Relaxed);
            if rbuf.capacity() - rbuf.len() < 1024 {
                rbuf.reserve(READ_CHUNK);
            }
            tokio::select! {
                biased;
                r = rd.read_buf(&mut rbuf) => {
                    match r {
                        Ok(0) => {
                            let idle = last_activity.elapsed();
                            if self.settings.log_connection_close {
                                tracing::info!(target: "ferrokafka::broker", broker = %self.shared.addr, kind = ?self.shared.kind, idle_ms = idle.as_millis() as u64, "broker closed the connection");
                            } else {
                                tracing::debug!(target: "ferrokafka::broker", broker = %self.shared.addr, kind = ?self.shared.kind, idle_ms = idle.as_millis() as u64, "broker closed the connection");
                            }
                            break Err(Error::new(codes::TRANSPORT, format!(
                                "broker {} closed the connection", self.shared.addr)))
                        }
                        Ok(_) => {
                            last_activity = Instant::now();
                            if let Err(e) = self.complete(&reader, &mut rbuf, &mut inflight, &mut discard) {
                                break Err(e);
                            }
                        }
                        Err(e) => break Err(Error::new(codes::TRANSPORT, format!(
                            "read from broker {} failed: {e}", self.shared.addr))),
                    }
                }
                r = out.write_some(&mut wr), if !out.is_empty() => {
                    match r {
                        Ok(0) | Err(_) => break Err(Error::new(codes::TRANSPORT, format!(
                            "write to broker {} failed{}", self.shared.addr,
                            r.err().map(|e| format!(": {e}")).unwrap_or_default()))),
                        Ok(_) => last_activity = Instant::now(),
                    }
                }
                cmd = self.rx.recv(), if accepting => {
                    match cmd {
                        Some(c) => self.queue.push_back(c),
                        None => break Ok(Exit::Shutdown),
                    }
                }
                _ = sleep_until_opt(next_deadline) => {
                    let now = Instant::now();
                    let mut expired = Vec::new();
                    while let Some(Reverse((t, id))) = deadlines.peek().copied() {
                        if t > now {
                            break;
                        }
                        deadlines.pop();
                        if let Some(f) = inflight.remove(&id) {
                            expired.push((id, f));
                        }
                    }
                    if !expired.is_empty() {
                        let n = expired.len();
                        let counters = &self.shared.counters;
                        counters.req_timeouts.fetch_add(n as u64, Ordering::Relaxed);
                        for (id, f) in expired {
                            discard.insert(id);
                            let _ = f.reply.send(Err(Error::new(codes::TIMED_OUT, format!(
                                "{:?} v{} request to broker {} timed out",
                                f.api_key, f.version, self.shared.addr))));
                        }
                        // socket.max.fails: close once that many requests
                        // timed out on this connection (0: never); until
                        // then their late answers are dropped.
                        fails = fails.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
                        let max = self.settings.max_fails;
                        if max > 0 && fails >= max {
                            break Err(Error::new(codes::TIMED_OUT, format!(
                                "{fails} request(s) to broker {} timed out (socket.max.fails={max}); \
                                 closing the connection",
                                self.shared.addr)));
                        }
                    }
                }
                _ = sleep_until_opt(idle_at) => {
                    break Ok(Exit::Idle);
                }
                _ = sleep_until_opt(reauth_at), if !reauth_due => {}
            }
        };
        // Fail what is in flight. Queued, unsent requests stay queued and
        // go out on the next connection.
        let err = match &result {
            Ok(_) => Error::new(
                codes::TRANSPORT,
                format!("connection to broker {} closed", self.shared.addr),
            ),
            // Requests caught by another's timeout may be retried elsewhere.
            Err(e) if e.code() == codes::TIMED_OUT => {
                Error::new(codes::TRANSPORT, e.message().to_string())
            }
            Err(e) => e.clone(),
        };
        let counters = &self.shared.counters;
        counters
            .txerrs
            .fetch_add(inflight.len() as u64, Ordering::Relaxed);
        counters.waitresp_cnt.store(0, Ordering::Relaxed);
        for (_, f) in inflight.drain() {
            let _ = f.reply.send(Err(err.clone()));
        }
        result
    }

    /// Completes every whole frame in `rbuf`.
    fn complete(
        &self,
        reader: &FrameReader,
        rbuf: &mut BytesMut,
        inflight: &mut HashMap<i32, InFlight>,
        discard: &mut std::collections::HashSet<i32>,
    ) -> Result<()> {
        while let Some(f) = reader.next_frame(rbuf)? {
            let id = frame::correlation_id(&f).unwrap_or(-1);
            if discard.remove(&id) {
                tracing::debug!(target: "ferrokafka::broker", broker = %self.shared.addr, correlation_id = id, "late answer to a timed-out request dropped");
                continue;
            }
            let Some(req) = inflight.remove(&id) else {
                self.shared
                    .counters
                    .rxcorriderrs
                    .fetch_add(1, Ordering::Relaxed);
                return Err(Error::new(
                    codes::BAD_MSG,
                    format!(
                        "broker {} sent a response with unknown correlation id {id}",
                        self.shared.addr
                    ),
                ));
            };
            let rtt = req.sent_at.elapsed();
            self.shared.counters.on_response(f.len() + 4, rtt);
            trace_ctx!(self.settings.observer.debug(), Protocol, broker = %self.shared.addr, "received {:?} v{} response: correlation id {id}, {} bytes, rtt {} us", req.api_key, req.version, f.len() + 4, rtt.as_micros());
            let hv = frame::response_header_version(req.api_key, req.version);
            match frame::response_body(f, hv) {
                Ok(body) => {
                    let _ = req.reply.send(Ok(body));
                }
                Err(e) => {
                    self.shared.counters.rxerrs.fetch_add(1, Ordering::Relaxed);
                    let _ = req.reply.send(Err(e.clone()));
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

enum Exit {
    /// Every handle is gone.
    Shutdown,
    /// Closed after `connections.max.idle.ms` without traffic.
    Idle,
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod throttle_tests;
