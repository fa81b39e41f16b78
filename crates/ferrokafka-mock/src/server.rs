//! The network side of each broker: its listener (closed while the broker is
//! down), one task per connection, request framing, dispatch to the API
//! handlers and the faults applied on the way (queued errors, round-trip
//! delay, dropped responses, connections closed after N requests).
//!
//! Requests on one connection are served one at a time, in order, as a
//! Kafka broker does; a malformed frame closes the connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Decodable;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::time::timeout;

use crate::api;
use crate::cluster::Shared;
use crate::coordinator;
use crate::guard;
use crate::security;

/// A connection silent this long (or stalled inside a frame) is closed, as
/// the broker's `connections.max.idle.ms` default.
const IDLE: Duration = Duration::from_secs(600);

/// What the connection does after a request.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Write this frame (size prefix included).
    Respond(Bytes),
    /// Send nothing (acks=0 produce, dropped response).
    Silent,
    /// Close the connection (malformed or unsupported request).
    Close,
}

/// Binds a broker's listener on 127.0.0.1:`port` (0: any free port).
pub(crate) fn bind(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(1024)
}

/// Runs one broker until `shutdown` fires: accepts while the broker is up,
/// drops the listener (so connects are refused) while it is down.
pub(crate) async fn run_broker(
    shared: Arc<Shared>,
    broker_id: i32,
    first: TcpListener,
    port: u16,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(up_tx) = shared.up_watch(broker_id) else {
        return;
    };
    let mut up = up_tx.subscribe();
    let mut listener = Some(first);
    loop {
        if *shutdown.borrow() {
            return;
        }
        if !*up.borrow_and_update() {
            listener = None;
            tokio::select! {
                _ = up.changed() => continue,
                _ = shutdown.changed() => return,
            }
        }
        let l = match listener.take() {
            Some(l) => l,
            None => match bind(port) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(broker_id, port, "mock broker cannot listen again: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            },
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((stream, _)) = accepted {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(shared.clone(), broker_id, stream, up_tx.subscribe(), shutdown.clone()));
                }
                listener = Some(l);
            }
            _ = up.changed() => {
                listener = if *up.borrow() { Some(l) } else { None };
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Serves one connection until the peer closes it, a request closes it, the
/// broker goes down or the cluster shuts down.
async fn connection(
    shared: Arc<Shared>,
    broker_id: i32,
    stream: TcpStream,
    mut up: watch::Receiver<bool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let serve = serve(&shared, broker_id, stream);
    tokio::select! {
        _ = serve => {}
        // The broker may have gone down between accept and subscribe.
        _ = async { while *up.borrow_and_update() && up.changed().await.is_ok() {} } => {}
        _ = shutdown.changed() => {}
    }
}

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE: Duration = Duration::from_secs(10);

/// The SASL APIs a SASL listener adds to ApiVersions.
pub(crate) const SASL_APIS: [(ApiKey, i16, i16); 2] = [
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

async fn serve(shared: &Shared, broker_id: i32, stream: TcpStream) {
    match shared.config.listener.tls.clone() {
        None => {
            let (rd, wr) = stream.into_split();
            serve_halves(shared, broker_id, rd, wr).await
        }
        Some(tls) => {
            let accept = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
            match timeout(TLS_HANDSHAKE, accept).await {
                Ok(Ok(s)) => {
                    let sni = s.get_ref().1.server_name().map(str::to_string);
                    shared.security.tls_accepted(sni);
                    let (rd, wr) = tokio::io::split(s);
                    serve_halves(shared, broker_id, rd, wr).await
                }
                Ok(Err(e)) => tracing::debug!(broker_id, "mock: TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(broker_id, "mock: TLS handshake timed out"),
            }
        }
    }
}

/// Where a connection is in SASL authentication.
enum Auth {
    /// No SASL on this listener, or authenticated (until `expires`, when
    /// the listener sets a session lifetime, KIP-368).
    Open {
        expires: Option<tokio::time::Instant>,
        /// `User:name` after SASL, `User:ANONYMOUS` without.
        principal: String,
    },
    /// Waiting for SaslHandshake.
    Handshake,
    /// Mechanism chosen; tokens come in SaslAuthenticate requests, or as
    /// bare frames (`raw`) after a v0 handshake.
    Tokens {
        server: security::SaslServer,
        raw: bool,
    },
}

/// What a connection does with a frame before it is authenticated.
enum Gate {
    /// Serve it as usual (ApiVersions).
    Pass,
    /// Write this answer (already framed).
    Answer(Bytes),
    /// Close the connection.
    Close,
}

fn sasl_gate(shared: &Shared, broker_id: i32, auth: &mut Auth, frame: &Bytes) -> Gate {
    use kafka_protocol::messages::{
        SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
        SaslHandshakeResponse,
    };
    use kafka_protocol::protocol::StrBytes;
    let Some(users) = shared.config.listener.users.clone() else {
        return Gate::Pass;
    };
    if let Auth::Tokens { server, raw: true } = auth {
        return match server.step(&shared.security, frame) {
            Ok(security::Answer::Continue(t)) => Gate::Answer(raw_frame(&t)),
            Ok(security::Answer::Done(t)) => {
                *auth = Auth::Open {
                    expires: None,
                    principal: server.principal().unwrap_or_else(anonymous),
                };
                Gate::Answer(raw_frame(&t))
            }
            Err(security::Failed(why)) => {
                tracing::debug!(broker_id, "mock: SASL authentication failed: {why}");
                shared.security.authentication_failed();
                Gate::Close
            }
        };
    }
    if frame.len() < 8 {
        return Gate::Close;
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(key) = ApiKey::try_from(key) else {
        return Gate::Close;
    };
    let supported = SASL_APIS
        .iter()
        .any(|(k, lo, hi)| *k == key && (*lo..=*hi).contains(&version));
    if key == ApiKey::ApiVersions {
        return Gate::Pass;
    }
    if !supported {
        tracing::debug!(
            broker_id,
            ?key,
            "mock: request before SASL authentication; closing"
        );
        return Gate::Close;
    }
    let mut body = frame.clone();
    if RequestHeader::decode(&mut body, key.request_header_version(version)).is_err() {
        return Gate::Close;
    }
    let answer = match (key, &mut *auth) {
        (ApiKey::SaslHandshake, Auth::Handshake) => {
            let Ok(req) = SaslHandshakeRequest::decode(&mut body, version) else {
                return Gate::Close;
            };
            let mut r = SaslHandshakeResponse::default();
            r.mechanisms = security::MECHANISMS
                .iter()
                .map(|m| StrBytes::from_static_str(m))
                .collect();
            match security::SaslServer::new(req.mechanism.as_str(), users) {
                Some(server) => {
                    *auth = Auth::Tokens {
                        server,
                        raw: version == 0,
                    }
                }
                None => r.error_code = crate::log::code::UNSUPPORTED_SASL_MECHANISM,
            }
            ResponseKind::SaslHandshake(r)
        }
        (ApiKey::SaslAuthenticate, Auth::Tokens { server, raw: false }) => {
            let Ok(req) = SaslAuthenticateRequest::decode(&mut body, version) else {
                return Gate::Close;
            };
            let mut r = SaslAuthenticateResponse::default();
            match server.step(&shared.security, &req.auth_bytes) {
                Ok(security::Answer::Continue(t)) => r.auth_bytes = Bytes::from(t),
                Ok(security::Answer::Done(t)) => {
                    r.auth_bytes = Bytes::from(t);
                    let lifetime = shared.config.listener.session_lifetime;
                    if let (Some(l), true) = (lifetime, version >= 1) {
                        r.session_lifetime_ms = l.as_millis() as i64;
                    }
                    *auth = Auth::Open {
                        expires: lifetime.map(|l| tokio::time::Instant::now() + l),
                        principal: server.principal().unwrap_or_else(anonymous),
                    };
                }
                Err(security::Failed(why)) => {
                    shared.security.authentication_failed();
                    r.error_code = crate::log::code::SASL_AUTHENTICATION_FAILED;
                    r.error_message = Some(StrBytes::from_string(why));
                    // A failed exchange starts over with a new handshake.
                    *auth = Auth::Handshake;
                }
            }
            ResponseKind::SaslAuthenticate(r)
        }
        _ => {
            let mut r = SaslHandshakeResponse::default();
            r.error_code = crate::log::code::ILLEGAL_SASL_STATE;
            if key != ApiKey::SaslHandshake {
                return Gate::Close;
            }
            ResponseKind::SaslHandshake(r)
        }
    };
    match encode_response(correlation_id, key, version, &answer) {
        Outcome::Respond(b) => Gate::Answer(b),
        _ => Gate::Close,
    }
}

fn raw_frame(token: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + token.len());
    b.put_u32(token.len() as u32);
    b.put_slice(token);
    b.freeze()
}

async fn serve_halves<R, W>(shared: &Shared, broker_id: i32, rd: R, wr: W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    // Pipelined requests arrive together: read them with few syscalls, and
    // write their responses out once the pipeline is drained.
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let mut wr = BufWriter::with_capacity(64 * 1024, wr);
    let mut auth = if shared.config.listener.users.is_some() {
        Auth::Handshake
    } else {
        Auth::Open {
            expires: None,
            principal: anonymous(),
        }
    };
    let max = shared.config.max_frame_bytes;
    loop {
        if rd.buffer().is_empty() && wr.flush().await.is_err() {
            return;
        }
        let mut len = [0u8; 4];
        if !matches!(timeout(IDLE, rd.read_exact(&mut len)).await, Ok(Ok(_))) {
            return;
        }
        let len = i32::from_be_bytes(len);
        if len < 0 || len as usize > max {
            tracing::debug!(broker_id, len, "mock: frame size out of range, closing");
            return;
        }
        let mut frame = vec![0u8; len as usize];
        if !matches!(timeout(IDLE, rd.read_exact(&mut frame)).await, Ok(Ok(_))) {
            return;
        }
        let frame = Bytes::from(frame);
        if let Auth::Open { expires, .. } = auth {
            if shared.config.listener.users.is_some() && frame.len() >= 2 {
                let key = i16::from_be_bytes([frame[0], frame[1]]);
                if key == ApiKey::SaslHandshake as i16 {
                    // Re-authentication (KIP-368) starts over.
                    auth = Auth::Handshake;
                } else if expires.is_some_and(|t| tokio::time::Instant::now() >= t) {
                    tracing::debug!(broker_id, "mock: SASL session expired; closing");
                    shared.security.session_expired();
                    let _ = wr.flush().await;
                    return;
                }
            }
        }
        if !matches!(auth, Auth::Open { .. }) {
            match sasl_gate(shared, broker_id, &mut auth, &frame) {
                Gate::Pass => {}
                Gate::Answer(b) => {
                    if wr.write_all(&b).await.is_err() || wr.flush().await.is_err() {
                        return;
                    }
                    continue;
                }
                Gate::Close => {
                    let _ = wr.flush().await;
                    return;
                }
            }
        }
        // Only Produce is answered without waiting; anything that may park
        // (Fetch, JoinGroup...) must not hold earlier responses back.
        let is_produce = frame.len() >= 2 && frame[0] == 0 && frame[1] == 0;
        if !is_produce && wr.flush().await.is_err() {
            return;
        }
        let principal = match &auth {
            Auth::Open { principal, .. } => principal.clone(),
            _ => anonymous(),
        };
        let outcome = handle_frame(shared, broker_id, &principal, frame).await;
        let (rtt, close_now) = {
            let mut st = shared.state();
            match st.broker_mut(broker_id) {
                Some(b) => {
                    let close = match b.close_after.as_mut() {
                        Some(n) => {
                            *n = n.saturating_sub(1);
                            *n == 0
                        }
                        None => false,
                    };
                    if close {
                        b.close_after = None;
                    }
                    (b.rtt, close)
                }
                None => (Duration::ZERO, false),
            }
        };
        if !rtt.is_zero() {
            if wr.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(rtt).await;
        }
        match outcome {
            Outcome::Respond(bytes) => {
                if wr.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Outcome::Silent => {}
            Outcome::Close => {
                let _ = wr.flush().await;
                return;
            }
        }
        if close_now {
            let _ = wr.flush().await;
            return;
        }
    }
}

/// Supported version range of an API on this cluster, if served.
pub(crate) fn supported(key: ApiKey) -> Option<(i16, i16)> {
    if let Some(r) = api::versions(key) {
        return Some(r);
    }
    coordinator::api_versions()
        .into_iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, lo, hi)| (lo, hi))
}

/// Every API served, for ApiVersions.
pub(crate) fn all_supported() -> Vec<(ApiKey, i16, i16)> {
    let mut v: Vec<_> = api::served().into_iter().collect();
    for c in coordinator::api_versions() {
        if !v.iter().any(|(k, _, _)| *k == c.0) {
            v.push(c);
        }
    }
    v.sort_by_key(|(k, _, _)| *k as i16);
    v
}

/// The principal of a connection without SASL.
pub(crate) fn anonymous() -> String {
    "User:ANONYMOUS".to_string()
}

/// Decodes, applies and answers one request frame (without its size
/// prefix) from a connection authenticated as `principal`.
pub(crate) async fn handle_frame(
    shared: &Shared,
    broker_id: i32,
    principal: &str,
    frame: Bytes,
) -> Outcome {
    if frame.len() < 8 {
        return Outcome::Close;
    }
    let key_raw = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(key) = ApiKey::try_from(key_raw) else {
        return Outcome::Close;
    };
    let Some((lo, hi)) = supported(key) else {
        return Outcome::Close;
    };
    if version < lo || version > hi {
        if key == ApiKey::ApiVersions {
            return Outcome::Respond(api::versions::unsupported_version_frame(
                correlation_id,
                lo,
                hi,
            ));
        }
        return Outcome::Close;
    }
    let mut body = frame;
    let header = match RequestHeader::decode(&mut body, key.request_header_version(version)) {
        Ok(h) => h,
        Err(_) => return Outcome::Close,
    };
    if key == ApiKey::Produce && shared.config.blackhole {
        return crate::blackhole::produce(shared, broker_id, &header, body);
    }
    if !guard::check(key, version, &body) {
        return Outcome::Close;
    }
    let request = match RequestKind::decode(key, &mut body, version) {
        Ok(r) => r,
        Err(_) => return Outcome::Close,
    };
    // With the authorizer on, topics the principal may not touch leave the
    // request here and come back as authorization errors below.
    let (request, denied) = api::authorizer::screen(shared, principal, version, request);
    let acks_zero = matches!(&request, RequestKind::Produce(r) if r.acks == 0);
    let queued = shared.state().take_error(broker_id, key_raw);
    let response = if let Some(err) = queued {
        if !err.delay.is_zero() {
            tokio::time::sleep(err.delay).await;
        }
        match api::errors::error_response(&request, version, err.code) {
            Some(r) => Some(r),
            None => return Outcome::Close,
        }
    } else {
        dispatch(shared, broker_id, &header, request).await
    };
    let Some(mut response) = response else {
        return Outcome::Silent;
    };
    api::authorizer::answer(shared, principal, version, denied, &mut response);
    if acks_zero {
        // No response for acks=0; on an error Kafka closes the connection,
        // the only way such a producer can learn of it.
        let failed = matches!(&response, ResponseKind::Produce(p)
            if p.responses.iter().flat_map(|t| &t.partition_responses).any(|p| p.error_code != 0));
        return if failed {
            Outcome::Close
        } else {
            Outcome::Silent
        };
    }
    if shared.state().take_drop(key_raw) {
        return Outcome::Silent;
    }
    encode_response(correlation_id, key, version, &response)
}

async fn dispatch(
    shared: &Shared,
    broker_id: i32,
    header: &RequestHeader,
    request: RequestKind,
) -> Option<ResponseKind> {
    let v = header.request_api_version;
    Some(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api::versions::handle(shared)),
        RequestKind::Metadata(r) => {
            ResponseKind::Metadata(api::metadata::handle(shared, broker_id, v, r))
        }
        RequestKind::Produce(r) => {
            ResponseKind::Produce(api::produce::handle(shared, broker_id, v, r))
        }
        RequestKind::Fetch(r) => {
            ResponseKind::Fetch(api::fetch::handle(shared, broker_id, v, r).await)
        }
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(api::offsets::list_offsets(shared, broker_id, v, r))
        }
        RequestKind::OffsetForLeaderEpoch(r) => ResponseKind::OffsetForLeaderEpoch(
            api::offsets::offset_for_leader_epoch(shared, broker_id, r),
        ),
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(api::admin::create_topics(shared, v, r))
        }
        RequestKind::DeleteTopics(r) => {
            ResponseKind::DeleteTopics(api::admin::delete_topics(shared, v, r))
        }
        RequestKind::CreatePartitions(r) => {
            ResponseKind::CreatePartitions(api::admin::create_partitions(shared, r))
        }
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(api::configs::describe_configs(shared, v, r))
        }
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            api::configs::incremental_alter_configs(shared, r),
        ),
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(api::log_dirs::describe_log_dirs(shared, broker_id, v, r))
        }
        RequestKind::CreateAcls(r) => ResponseKind::CreateAcls(api::acls::create_acls(shared, r)),
        RequestKind::DescribeAcls(r) => {
            ResponseKind::DescribeAcls(api::acls::describe_acls(shared, r))
        }
        RequestKind::DeleteAcls(r) => ResponseKind::DeleteAcls(api::acls::delete_acls(shared, r)),
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(api::configs::alter_configs(shared, r))
        }
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(api::admin::delete_records(shared, broker_id, r))
        }
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(api::admin::describe_cluster(shared, v, r))
        }
        RequestKind::DescribeUserScramCredentials(r) => {
            ResponseKind::DescribeUserScramCredentials(api::scram::describe(shared, r))
        }
        RequestKind::AlterUserScramCredentials(r) => {
            ResponseKind::AlterUserScramCredentials(api::scram::alter(shared, r))
        }
        RequestKind::UpdateFeatures(r) => {
            ResponseKind::UpdateFeatures(shared.features.update(v, r))
        }
        RequestKind::ElectLeaders(r) => {
            ResponseKind::ElectLeaders(api::replicas::elect_leaders(shared, r))
        }
        RequestKind::AlterPartitionReassignments(r) => ResponseKind::AlterPartitionReassignments(
            api::replicas::alter_partition_reassignments(shared, v, r),
        ),
        RequestKind::ListPartitionReassignments(r) => {
            ResponseKind::ListPartitionReassignments(api::replicas::list_partition_reassignments(r))
        }
        RequestKind::DescribeClientQuotas(r) => {
            ResponseKind::DescribeClientQuotas(shared.quotas.describe(r))
        }
        RequestKind::AlterClientQuotas(r) => {
            ResponseKind::AlterClientQuotas(shared.quotas.alter(r))
        }
        RequestKind::DescribeProducers(r) => ResponseKind::DescribeProducers(
            api::producers::describe_producers(shared, broker_id, r),
        ),
        RequestKind::WriteTxnMarkers(r) => {
            ResponseKind::WriteTxnMarkers(api::producers::write_txn_markers(shared, broker_id, r))
        }
        RequestKind::ListTransactions(r) => ResponseKind::ListTransactions(
            coordinator::txn_admin::list_transactions(shared, broker_id, r),
        ),
        RequestKind::DescribeTransactions(r) => ResponseKind::DescribeTransactions(
            coordinator::txn_admin::describe_transactions(shared, broker_id, r),
        ),
        other => return coordinator::handle(shared, broker_id, header, other).await,
    })
}

/// Frames a response: size, header (v0 or v1 per API/version), body.
pub(crate) fn encode_response(
    correlation_id: i32,
    key: ApiKey,
    version: i16,
    response: &ResponseKind,
) -> Outcome {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    let mut header = ResponseHeader::default();
    header.correlation_id = correlation_id;
    if kafka_protocol::protocol::Encodable::encode(
        &header,
        &mut buf,
        key.response_header_version(version),
    )
    .is_err()
    {
        return Outcome::Close;
    }
    if let Err(e) = response.encode(&mut buf, version) {
        tracing::error!(?key, version, "mock: cannot encode response: {e}");
        return Outcome::Close;
    }
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Outcome::Respond(buf.freeze())
}
