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

use super::backoff::Backoff;
use super::sasl::{self, SaslSettings};
use super::tls::TlsStream;
use super::{BrokerAddress, ConnectionKind, NetSettings};
use crate::error::{Error, ErrorCode, Result};
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

/// How long after a request's deadline its caller stops waiting for the
/// connection task to report the timeout itself.
const CALLER_GRACE: Duration = Duration::from_millis(50);

/// Read buffer growth step; frames larger than this reserve exactly.
const READ_CHUNK: usize = 64 * 1024;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
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
    body: Bytes,
    deadline: Instant,
    /// `None`: the broker sends no response (Produce with acks=0).
    reply: Option<oneshot::Sender<Result<Bytes>>>,
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
        });
        let task = Task {
            backoff: Backoff::new(settings.reconnect_backoff, settings.reconnect_backoff_max),
            shared: shared.clone(),
            settings,
            rx,
            queue: VecDeque::new(),
            next_correlation_id: 0,
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
        let deadline = self.default_timeout(timeout);
        let (tx, rx) = oneshot::channel();
        self.submit(Command::Request(Request {
            api_key,
            version,
            body,
            deadline,
            reply: Some(tx),
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
        let deadline = self.default_timeout(None);
        self.submit(Command::Request(Request {
            api_key,
            version,
            body,
            deadline,
            reply: None,
        }))
    }

    /// Encodes `req` at the highest version negotiated with this broker and
    /// queues it as a request the broker does not answer (Produce with
    /// acks=0); returns once it is queued.
    pub(crate) async fn send_no_response<R: ApiRequest>(&self, req: &R) -> Result<()> {
        let version = self.api_versions(None).await?.require(R::KEY)?;
        let body = encode(req, version)?;
        self.send_raw_no_response(R::KEY, version, body)
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
        let body = encode(&req, version)?;
        self.send_raw(ApiKey::Metadata, version, body, None)
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
        let body = encode(req, version)?;
        let body = self.send_raw(api_key, version, body, timeout).await?;
        crate::protocol::decode::<R>(version, body, &self.shared.addr.to_string())
    }
}

/// Encodes a request body of `R` at `version`.
fn encode<R: ApiRequest>(req: &R, version: i16) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    req.encode(&mut buf, version).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArg,
            format!("cannot encode {:?} v{version}: {e}", R::KEY),
        )
    })?;
    Ok(buf.freeze())
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
}

struct InFlight {
    api_key: ApiKey,
    version: i16,
    reply: oneshot::Sender<Result<Bytes>>,
}

impl Task {
    fn set_state(&self, s: ConnectionState) {
        self.shared.state.store(s as u8, Ordering::Relaxed);
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
            self.backoff
                .on_attempt(Instant::now().into_std(), Backoff::random_jitter());
            let setup = tokio::time::timeout(self.settings.connect_timeout, self.open());
            let (stream, versions, reauth_at) = match setup.await {
                Ok(Ok(ok)) => ok,
                Ok(Err(e)) => {
                    tracing::debug!(target: "ferrokafka::broker", broker = %self.shared.addr, error = %e, "connect failed");
                    self.set_state(ConnectionState::Down);
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
                    self.set_state(ConnectionState::Down);
                    self.fail_queued(&e);
                    continue;
                }
            };
            self.backoff.on_connected();
            if let Ok(mut v) = self.shared.versions.lock() {
                *v = Some(versions.clone());
            }
            self.set_state(ConnectionState::Up);
            tracing::debug!(target: "ferrokafka::broker", broker = %self.shared.addr, kind = ?self.shared.kind, "connected");
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
            match served {
                Ok(Exit::Shutdown) => return,
                Ok(Exit::Idle) => self.set_state(ConnectionState::Idle),
                Err(e) => {
                    tracing::debug!(target: "ferrokafka::broker", broker = %self.shared.addr, error = %e, "connection closed");
                    self.set_state(ConnectionState::Down);
                }
            }
        }
    }

    /// Resolves, connects to the first address that accepts, runs the TLS
    /// handshake when configured, negotiates versions and authenticates
    /// with SASL when configured. A TLS or authentication failure ends the
    /// attempt at once (another address of the same broker would answer
    /// the same) and keeps its `_SSL` / `_AUTHENTICATION` code.
    async fn open(&mut self) -> Result<Opened> {
        let addr = self.shared.addr.clone();
        let addrs = self
            .settings
            .resolver
            .resolve(&addr.host, addr.port)
            .await
            .map_err(|e| Error::new(codes::RESOLVE, format!("failed to resolve {addr}: {e}")))?;
        if addrs.is_empty() {
            return Err(Error::new(
                codes::RESOLVE,
                format!("{addr} resolved to no address"),
            ));
        }
        let mut failures = Vec::new();
        for sa in &addrs {
            match TcpStream::connect(sa).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    match self.secure_and_handshake(tcp).await {
                        Ok(ok) => return Ok(ok),
                        Err(e)
                            if matches!(e.code(), ErrorCode::Ssl | ErrorCode::Authentication) =>
                        {
                            return Err(Error::new(e.code(), format!("{sa}: {}", e.message())))
                        }
                        Err(e) => failures.push(format!("{sa}: {}", e.message())),
                    }
                }
                Err(e) => failures.push(format!("{sa}: {e}")),
            }
        }
        Err(Error::new(
            codes::TRANSPORT,
            format!("connect to {addr} failed ({})", failures.join("; ")),
        ))
    }

    async fn secure_and_handshake(&mut self, tcp: TcpStream) -> Result<Opened> {
        let settings = self.settings.clone();
        let mut stream = match &settings.tls {
            Some(tls) => Stream::Tls(Box::new(tls.connect(&self.shared.addr.host, tcp).await?)),
            None => Stream::Plain(tcp),
        };
        let versions = self.handshake(&mut stream).await?;
        let mut reauth_at = None;
        if let Some(sasl) = &settings.sasl {
            let lifetime = self.authenticate(&mut stream, &versions, sasl).await?;
            reauth_at = lifetime.map(reauth_deadline);
        }
        Ok((stream, Arc::new(versions), reauth_at))
    }

    /// Authenticates with SASL: SaslHandshake, then the mechanism's
    /// messages in SaslAuthenticate requests (KIP-152), or as bare frames
    /// after a v0 handshake when the broker has no SaslAuthenticate.
    async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        versions: &ApiVersionTable,
        sasl: &SaslSettings,
    ) -> Result<Option<Duration>> {
        let mechanism = sasl.mechanism_name();
        let Some(handshake_v) = versions.version(ApiKey::SaslHandshake) else {
            return Err(Error::new(
                ErrorCode::Authentication,
                format!(
                    "broker {} offers no SaslHandshake: it does not speak SASL on this listener",
                    self.shared.addr
                ),
            ));
        };
        let authenticate_v = versions
            .version(ApiKey::SaslAuthenticate)
            .filter(|_| handshake_v >= 1);
        let handshake_v = if authenticate_v.is_some() {
            handshake_v
        } else {
            0
        };
        let body = sasl::handshake_request(mechanism, handshake_v)?;
        let resp = self
            .exchange(stream, ApiKey::SaslHandshake, handshake_v, &body)
            .await?;
        let peer = self.shared.addr.to_string();
        sasl::handshake_response(resp, handshake_v, mechanism, &peer)?;
        let (mut session, mut out) = sasl.start(std::time::SystemTime::now())?;
        let mut lifetime_ms = 0;
        // Every mechanism here ends within three round trips; bounded.
        for _ in 0..4 {
            let reply = match authenticate_v {
                Some(v) => {
                    let body = sasl::authenticate_request(out, v)?;
                    let resp = self
                        .exchange(stream, ApiKey::SaslAuthenticate, v, &body)
                        .await?;
                    let (reply, lifetime) = sasl::authenticate_response(resp, v, &session, &peer)?;
                    lifetime_ms = lifetime;
                    reply
                }
                None => self.raw_token_exchange(stream, &out).await?,
            };
            match session.on_server(&reply)? {
                sasl::Step::Done => {
                    tracing::debug!(target: "ferrokafka::security", broker = %self.shared.addr, mechanism, lifetime_ms, "authenticated");
                    return Ok((lifetime_ms > 0).then(|| Duration::from_millis(lifetime_ms as u64)));
                }
                sasl::Step::Send(next) => out = next,
            }
        }
        Err(Error::new(
            ErrorCode::Authentication,
            format!("SASL {mechanism} exchange did not end"),
        ))
    }

    /// One token round trip as bare length-prefixed frames (after a v0
    /// SaslHandshake). Such brokers close the connection on failure.
    async fn raw_token_exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        token: &[u8],
    ) -> Result<Bytes> {
        let len = u32::try_from(token.len())
            .map_err(|_| Error::new(ErrorCode::InvalidArg, "SASL token too large"))?;
        let mut out = Vec::with_capacity(4 + token.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(token);
        stream.write_all(&out).await?;
        let closed = |e: std::io::Error| {
            Error::new(
                ErrorCode::Authentication,
                format!(
                    "broker {} closed the connection during SASL authentication                      (wrong credentials?): {e}",
                    self.shared.addr
                ),
            )
        };
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).await.map_err(closed)?;
        let len = u32::from_be_bytes(len) as usize;
        if len > self.settings.receive_max {
            return Err(Error::new(
                codes::BAD_MSG,
                format!("SASL token of {len} bytes exceeds receive.message.max.bytes"),
            ));
        }
        let mut buf = vec![0u8; len];
        stream.read_exact(&mut buf).await.map_err(closed)?;
        Ok(Bytes::from(buf))
    }

    async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> Result<ApiVersionTable> {
        if !self.settings.api_version_request {
            return ApiVersionTable::fallback(&self.settings.broker_version_fallback);
        }
        let mut version = API_VERSIONS_MAX;
        // At most one retry per lower version; bounded.
        for _ in 0..=API_VERSIONS_MAX {
            let body = frame::api_versions_request(version);
            let wait = self.settings.api_version_timeout;
            let exchange = self.exchange(stream, ApiKey::ApiVersions, version, &body);
            let resp = tokio::time::timeout(wait, exchange).await.map_err(|_| {
                Error::new(
                    codes::TIMED_OUT,
                    format!(
                        "no ApiVersions answer within {} ms (api.version.request.timeout.ms)",
                        wait.as_millis()
                    ),
                )
            })??;
            match frame::api_versions_response(&resp, version)? {
                ApiVersionsAnswer::Ranges(r) => return Ok(ApiVersionTable::negotiate(r)),
                ApiVersionsAnswer::RetryWith(v) => {
                    tracing::debug!(target: "ferrokafka::protocol", broker = %self.shared.addr, from = version, to = v, "ApiVersions downgrade");
                    version = v;
                }
            }
        }
        Err(Error::new(
            codes::BAD_MSG,
            "ApiVersions negotiation did not converge",
        ))
    }

    /// One request/response exchange on a socket before pipelining starts.
    async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
        api_key: ApiKey,
        version: i16,
        body: &[u8],
    ) -> Result<Bytes> {
        let id = self.correlation_id();
        let mut out = BytesMut::new();
        frame::encode_request(
            &mut out,
            api_key,
            version,
            id,
            Some(&self.settings.client_id),
            body,
        )?;
        let host = &self.shared.addr.host;
        let io = |e: std::io::Error| super::tls::tls_io_error(host, &e).unwrap_or_else(|| e.into());
        stream.write_all(&out).await.map_err(io)?;
        let reader = FrameReader::new(self.settings.receive_max);
        let mut buf = BytesMut::with_capacity(1024);
        loop {
            // A TLS record (handshake or alert) where a Kafka frame should
            // be: the listener speaks TLS and this client does not.
            if api_key == ApiKey::ApiVersions
                && buf.len() >= 3
                && matches!(buf[0], 0x15 | 0x16)
                && buf[1] == 0x03
                && buf[2] <= 0x04
            {
                return Err(Error::new(
                    ErrorCode::Ssl,
                    format!(
                        "broker {} answered with TLS: this listener needs \
                         security.protocol=ssl or sasl_ssl",
                        self.shared.addr
                    ),
                ));
            }
            if let Some(f) = reader.next_frame(&mut buf)? {
                if frame::correlation_id(&f) != Some(id) {
                    return Err(Error::new(
                        codes::BAD_MSG,
                        format!("{api_key:?} response carries the wrong correlation id"),
                    ));
                }
                return frame::response_body(f, frame::response_header_version(api_key, version));
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(READ_CHUNK);
            }
            if stream.read_buf(&mut buf).await.map_err(io)? == 0 {
                return Err(Error::new(
                    codes::TRANSPORT,
                    format!(
                        "broker closed the connection during {api_key:?} v{version} \
                         (not a Kafka broker, or it refused the request)"
                    ),
                ));
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
        let max_in_flight = self.settings.max_in_flight.max(1);
        let mut inflight: HashMap<i32, InFlight> = HashMap::new();
        let mut deadlines: BinaryHeap<Reverse<(Instant, i32)>> = BinaryHeap::new();
        let mut out = Outbox::default();
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
                        tracing::debug!(target: "ferrokafka::security", broker = %self.shared.addr, "re-authenticated");
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
                let id = self.correlation_id();
                if let Err(e) = out.push(
                    req.api_key,
                    req.version,
                    id,
                    Some(&self.settings.client_id),
                    &req.body,
                ) {
                    Command::Request(req).fail(e);
                    continue;
                }
                // Without a reply channel the broker sends no response.
                if let Some(reply) = req.reply {
                    deadlines.push(Reverse((req.deadline, id)));
                    inflight.insert(
                        id,
                        InFlight {
                            api_key: req.api_key,
                            version: req.version,
                            reply,
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
            if rbuf.capacity() - rbuf.len() < 1024 {
                rbuf.reserve(READ_CHUNK);
            }
            tokio::select! {
                biased;
                r = rd.read_buf(&mut rbuf) => {
                    match r {
                        Ok(0) => break Err(Error::new(codes::TRANSPORT, format!(
                            "broker {} closed the connection", self.shared.addr))),
                        Ok(_) => {
                            last_activity = Instant::now();
                            if let Err(e) = self.complete(&reader, &mut rbuf, &mut inflight) {
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
                            expired.push(f);
                        }
                    }
                    if !expired.is_empty() {
                        let n = expired.len();
                        for f in expired {
                            let _ = f.reply.send(Err(Error::new(codes::TIMED_OUT, format!(
                                "{:?} v{} request to broker {} timed out",
                                f.api_key, f.version, self.shared.addr))));
                        }
                        break Err(Error::new(codes::TIMED_OUT, format!(
                            "{n} request(s) to broker {} timed out; closing the connection",
                            self.shared.addr)));
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
    ) -> Result<()> {
        while let Some(f) = reader.next_frame(rbuf)? {
            let id = frame::correlation_id(&f).unwrap_or(-1);
            let Some(req) = inflight.remove(&id) else {
                return Err(Error::new(
                    codes::BAD_MSG,
                    format!(
                        "broker {} sent a response with unknown correlation id {id}",
                        self.shared.addr
                    ),
                ));
            };
            let hv = frame::response_header_version(req.api_key, req.version);
            match frame::response_body(f, hv) {
                Ok(body) => {
                    let _ = req.reply.send(Ok(body));
                }
                Err(e) => {
                    let _ = req.reply.send(Err(e.clone()));
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

/// Request bytes waiting to be written, in order. Small requests are
/// framed into one reused buffer; a large body (a produce request's record
/// batches) is queued as the `Bytes` it came in and written with vectored
/// writes after its header, so records are never copied here.
#[derive(Default)]
struct Outbox {
    buf: BytesMut,
    chunks: VecDeque<Bytes>,
}

/// Bodies at least this large are written without copying.
const ZERO_COPY_MIN: usize = 16 * 1024;

/// At most this many chunks go into one vectored write.
const MAX_IOV: usize = 64;

impl Outbox {
    fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.chunks.is_empty()
    }

    fn push(
        &mut self,
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
        client_id: Option<&str>,
        body: &Bytes,
    ) -> Result<()> {
        if body.len() < ZERO_COPY_MIN {
            return frame::encode_request(
                &mut self.buf,
                api_key,
                version,
                correlation_id,
                client_id,
                body,
            );
        }
        frame::encode_request_header(
            &mut self.buf,
            api_key,
            version,
            correlation_id,
            client_id,
            body.len(),
        )?;
        self.chunks.push_back(self.buf.split().freeze());
        self.chunks.push_back(body.clone());
        Ok(())
    }

    /// Writes what the socket takes; cancel-safe (state changes only after
    /// the write completed, except moving buffered bytes into the queue,
    /// which keeps their order).
    async fn write_some<W: AsyncWrite + Unpin>(&mut self, w: &mut W) -> std::io::Result<usize> {
        if self.chunks.is_empty() {
            let n = w.write_buf(&mut self.buf).await?;
            if self.buf.is_empty() {
                // Reuse the allocation for the next requests.
                self.buf.clear();
            }
            return Ok(n);
        }
        if !self.buf.is_empty() {
            self.chunks.push_back(self.buf.split().freeze());
        }
        let mut slices = [std::io::IoSlice::new(&[]); MAX_IOV];
        let mut k = 0;
        for (slot, c) in slices.iter_mut().zip(self.chunks.iter()) {
            *slot = std::io::IoSlice::new(c);
            k += 1;
        }
        let n = w.write_vectored(&slices[..k]).await?;
        let mut left = n;
        while left > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                self.chunks.pop_front();
            } else {
                let _ = front.split_to(left);
                left = 0;
            }
        }
        Ok(n)
    }
}

/// A connection ready to serve: the socket, the negotiated versions and
/// when to re-authenticate (KIP-368).
type Opened = (Stream, Arc<ApiVersionTable>, Option<Instant>);

/// When to re-authenticate a session of `lifetime`: at 85% of it, as the
/// Java client does at the earliest, leaving time for the exchange.
fn reauth_deadline(lifetime: Duration) -> Instant {
    Instant::now() + lifetime.mul_f64(0.85)
}

/// An open socket, with or without TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => std::pin::Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => std::pin::Pin::new(s.as_mut()).poll_shutdown(cx),
        }
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
