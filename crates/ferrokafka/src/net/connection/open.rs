//! Opening a connection: resolve and connect, the TLS handshake, the
//! ApiVersions exchange and SASL authentication, each a plain
//! request/response exchange on the socket before pipelining starts.

use super::*;
use crate::net::SocketOptions;

impl Task {
    /// Resolves, connects to the first address that accepts, runs the TLS
    /// handshake when configured, negotiates versions and authenticates
    /// with SASL when configured. A TLS or authentication failure ends the
    /// attempt at once (another address of the same broker would answer
    /// the same) and keeps its `_SSL` / `_AUTHENTICATION` code.
    pub(super) async fn open(&mut self) -> Result<Opened> {
        let addr = self.shared.addr.clone();
        let addrs = self.addresses().await?;
        let mut failures = Vec::new();
        for sa in &addrs {
            match connect(sa, &self.settings.socket).await {
                Ok(tcp) => match self.secure_and_handshake(tcp).await {
                    Ok(ok) => return Ok(ok),
                    Err(e) if matches!(e.code(), ErrorCode::Ssl | ErrorCode::Authentication) => {
                        return Err(Error::new(e.code(), format!("{sa}: {}", e.message())))
                    }
                    Err(e) => failures.push(format!("{sa}: {}", e.message())),
                },
                Err(e) => failures.push(format!("{sa}: {e}")),
            }
        }
        // Every address failed: the next attempt resolves the name again
        // (the broker may have moved), whatever broker.address.ttl says.
        self.resolved = None;
        Err(Error::new(
            codes::TRANSPORT,
            format!("connect to {addr} failed ({})", failures.join("; ")),
        ))
    }

    /// The addresses to try: the cached answer while it is younger than
    /// `broker.address.ttl`, else a fresh resolution; only the families
    /// `broker.address.family` allows, and only the first one unless
    /// `client.dns.lookup=use_all_dns_ips`.
    async fn addresses(&mut self) -> Result<Vec<std::net::SocketAddr>> {
        let addr = &self.shared.addr;
        let now = Instant::now();
        let cached = self
            .resolved
            .as_ref()
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.settings.address_ttl);
        let all = match cached {
            Some((addrs, _)) => addrs.clone(),
            None => {
                let addrs = self
                    .settings
                    .resolver
                    .resolve(&addr.host, addr.port)
                    .await
                    .map_err(|e| {
                        Error::new(codes::RESOLVE, format!("failed to resolve {addr}: {e}"))
                    })?;
                self.resolved = Some((addrs.clone(), now));
                addrs
            }
        };
        let family = self.settings.address_family;
        let mut addrs: Vec<_> = all.iter().copied().filter(|a| family.allows(a)).collect();
        if !self.settings.use_all_dns_ips {
            addrs.truncate(1);
        }
        if addrs.is_empty() {
            let why = if all.is_empty() {
                String::new()
            } else {
                format!(
                    " of family {family:?} (broker.address.family; it resolved to {})",
                    all.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Error::new(
                codes::RESOLVE,
                format!("{addr} resolved to no address{why}"),
            ));
        }
        Ok(addrs)
    }

    async fn secure_and_handshake(&mut self, tcp: TcpStream) -> Result<Opened> {
        let settings = self.settings.clone();
        let mut stream = match &settings.tls {
            Some(tls) => {
                let s = tls.connect(&self.shared.addr.host, tcp).await?;
                trace_ctx!(settings.observer.debug(), Security, broker = %self.shared.addr, "TLS handshake done");
                Stream::Tls(Box::new(s))
            }
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
    pub(super) async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
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
        let (mut session, mut out) = sasl.begin(std::time::SystemTime::now()).await?;
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
                    trace_ctx!(self.settings.observer.debug(), Security, broker = %self.shared.addr, mechanism, lifetime_ms, "SASL authenticated");
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
        let now = Instant::now();
        if !self.settings.api_version_request || self.fallback_until.is_some_and(|t| now < t) {
            return ApiVersionTable::fallback(&self.settings.broker_version_fallback);
        }
        let asked = self.ask_versions(stream).await;
        // api.version.fallback.ms: a broker that closes the connection on
        // (or never answers) ApiVersions is taken to be older than KIP-35
        // for that long; the next attempt assumes broker.version.fallback.
        let fallback = self.settings.api_version_fallback;
        if let Err(e) = &asked {
            if !fallback.is_zero() && matches!(e.code(), codes::TRANSPORT | codes::TIMED_OUT) {
                tracing::info!(target: "ferrokafka::protocol", broker = %self.shared.addr, error = %e,
                    fallback = %self.settings.broker_version_fallback, fallback_ms = fallback.as_millis() as u64,
                    "ApiVersions failed: assuming broker.version.fallback for api.version.fallback.ms");
                self.fallback_until = Some(Instant::now() + fallback);
            }
        }
        asked
    }

    async fn ask_versions<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        stream: &mut S,
    ) -> Result<ApiVersionTable> {
        let mut version = API_VERSIONS_MAX;
        // At most one retry per lower version; bounded.
        for _ in 0..=API_VERSIONS_MAX {
            let software = (
                self.settings.software_name.as_str(),
                self.settings.software_version.as_str(),
            );
            let body = frame::api_versions_request(version, software);
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
                ApiVersionsAnswer::Ranges(r) => {
                    let n = r.len();
                    let table = ApiVersionTable::negotiate(r);
                    trace_ctx!(self.settings.observer.debug(), Protocol, broker = %self.shared.addr, "ApiVersions v{version}: the broker offers {n} APIs; negotiated {table:?}");
                    return Ok(table);
                }
                ApiVersionsAnswer::RetryWith(v) => {
                    trace_ctx!(self.settings.observer.debug(), Protocol, broker = %self.shared.addr, from = version, to = v, "ApiVersions downgrade");
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
        let io =
            |e: std::io::Error| crate::net::tls::tls_io_error(host, &e).unwrap_or_else(|| e.into());
        trace_ctx!(self.settings.observer.debug(), Protocol, broker = %self.shared.addr, "sent {api_key:?} v{version} request: correlation id {id}, {} bytes", out.len());
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
                trace_ctx!(self.settings.observer.debug(), Protocol, broker = %self.shared.addr, "received {api_key:?} v{version} response: correlation id {id}, {} bytes", f.len() + 4);
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
}

/// Connects to `sa` with the socket options set first (buffer sizes
/// before the handshake, so the window scale can use them).
async fn connect(sa: &std::net::SocketAddr, o: &SocketOptions) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(*sa),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    if let Some(n) = o.send_buffer {
        socket.set_send_buffer_size(n)?;
    }
    if let Some(n) = o.receive_buffer {
        socket.set_recv_buffer_size(n)?;
    }
    socket.set_keepalive(o.keepalive)?;
    socket.set_tcp_nodelay(o.nodelay)?;
    socket.set_nonblocking(true)?;
    let socket = tokio::net::TcpSocket::from_std_stream(socket.into());
    socket.connect(*sa).await
}

/// A connection ready to serve: the socket, the negotiated versions and
/// when to re-authenticate (KIP-368).
pub(super) type Opened = (Stream, Arc<ApiVersionTable>, Option<Instant>);

/// When to re-authenticate a session of `lifetime`: at 85% of it, as the
/// Java client does at the earliest, leaving time for the exchange.
pub(super) fn reauth_deadline(lifetime: Duration) -> Instant {
    Instant::now() + lifetime.mul_f64(0.85)
}

/// An open socket, with or without TLS.
pub(super) enum Stream {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The socket options are on the socket the connect path opens, read
    /// back with getsockopt on a real loopback connection.
    #[tokio::test]
    async fn socket_options_are_set_on_the_connected_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sa = listener.local_addr().unwrap();
        let read_back = |tcp: &TcpStream| {
            let s = socket2::SockRef::from(tcp);
            (
                s.send_buffer_size().unwrap(),
                s.recv_buffer_size().unwrap(),
                s.keepalive().unwrap(),
                s.tcp_nodelay().unwrap(),
            )
        };
        let plain = connect(&sa, &SocketOptions::default()).await.unwrap();
        let _peer = listener.accept().await.unwrap();
        let (sndbuf0, rcvbuf0, keepalive0, nodelay0) = read_back(&plain);
        assert!(!keepalive0, "socket.keepalive.enable defaults to false");
        assert!(nodelay0, "socket.nagle.disable defaults to true");
        let n = 48_000;
        let tuned = SocketOptions {
            send_buffer: Some(n),
            receive_buffer: Some(n),
            keepalive: true,
            nodelay: false,
        };
        let tcp = connect(&sa, &tuned).await.unwrap();
        let _peer = listener.accept().await.unwrap();
        let (sndbuf, rcvbuf, keepalive, nodelay) = read_back(&tcp);
        assert!(keepalive);
        assert!(!nodelay);
        // Linux reports twice the size asked for (its bookkeeping share).
        for (got, default) in [(sndbuf, sndbuf0), (rcvbuf, rcvbuf0)] {
            assert!(got >= n && got <= 2 * n, "{got} for {n}");
            assert_ne!(got, default, "the system default was kept");
        }
    }
}
