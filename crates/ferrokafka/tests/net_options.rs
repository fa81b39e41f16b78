//! Connection options against a fake broker on loopback: socket.max.fails,
//! api.version.fallback.ms, log.connection.close, broker.address.family
//! and broker.address.ttl (issue 18: every property does what it says).

mod net_fake;

use bytes::Bytes;
use ferrokafka::net::{
    AddressFamily, BrokerAddress, Connection, ConnectionKind, ConnectionState, NetSettings,
    Resolver,
};
use ferrokafka::ErrorCode;
use kafka_protocol::messages::ApiKey;
use net_fake::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

fn settings() -> NetSettings {
    NetSettings {
        client_id: "net-options".into(),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        reconnect_backoff: Duration::from_millis(10),
        ..NetSettings::default()
    }
}

fn connect_to(host: &str, port: u16, s: NetSettings) -> Connection {
    Connection::new(
        BrokerAddress {
            host: host.into(),
            port,
        },
        ConnectionKind::Admin,
        Arc::new(s),
        &tokio::runtime::Handle::current(),
    )
}

fn connect(addr: SocketAddr, s: NetSettings) -> Connection {
    connect_to(&addr.ip().to_string(), addr.port(), s)
}

/// A broker that answers every request at once except the first, which it
/// answers `late` after reading it; counts the connections it accepts.
fn late_first_answer(l: tokio::net::TcpListener, late: Duration) -> Arc<AtomicUsize> {
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut first = true;
        // Bounded: the tests open at most a few connections.
        for _ in 0..4 {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let delay_first = std::mem::take(&mut first);
            tokio::spawn(async move {
                let mut delayed = delay_first;
                while let Some(r) = next_request(&mut s).await {
                    if std::mem::take(&mut delayed) {
                        tokio::time::sleep(late).await;
                    }
                    if s.write_all(&response(&r, b"ok")).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    accepted
}

/// socket.max.fails: with 2, one timed-out request leaves the connection
/// open (its late answer is dropped, the next request is answered on the
/// same socket); with 1 (the default) the timeout closes it.
#[tokio::test]
async fn socket_max_fails_decides_when_timeouts_close_the_connection() {
    for (max_fails, connections) in [(2u32, 1usize), (1, 2)] {
        let (l, addr) = listener().await;
        let accepted = late_first_answer(l, Duration::from_millis(300));
        let conn = connect(
            addr,
            NetSettings {
                max_fails,
                ..settings()
            },
        );
        let short = Some(Duration::from_millis(100));
        let err = conn
            .send_raw(ApiKey::Metadata, 1, Bytes::new(), short)
            .await
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::TimedOut, "{err}");
        // Past the late answer: it must not break the connection.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let ok = conn
            .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
            .await
            .unwrap();
        assert_eq!(&ok[..], b"ok");
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            connections,
            "socket.max.fails={max_fails}"
        );
    }
}

/// api.version.fallback.ms: a broker that closes the connection on
/// ApiVersions (older than 0.10) is assumed to be broker.version.fallback
/// for that long, so the next connection sends Metadata at 2.0's v6
/// without asking; with 0 every connection asks again.
#[tokio::test]
async fn api_version_fallback_ms_assumes_the_fallback_after_a_failed_handshake() {
    use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
    use kafka_protocol::protocol::Encodable;
    for fallback_ms in [60_000u64, 0] {
        let (l, addr) = listener().await;
        let seen: Arc<Mutex<Vec<(i16, i16)>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            for _ in 0..4 {
                let Ok((mut s, _)) = l.accept().await else {
                    return;
                };
                let Some(r) = read_request(&mut s).await else {
                    continue;
                };
                log.lock().unwrap().push((r.api_key, r.version));
                if r.api_key == ApiKey::ApiVersions as i16 {
                    drop(s); // an old broker: closes on an unknown API
                    continue;
                }
                let mut body = bytes::BytesMut::new();
                MetadataResponse::default()
                    .encode(&mut body, r.version)
                    .unwrap();
                s.write_all(&response(&r, &body)).await.unwrap();
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        });
        let conn = connect(
            addr,
            NetSettings {
                api_version_fallback: Duration::from_millis(fallback_ms),
                broker_version_fallback: "2.0.0".into(),
                ..settings()
            },
        );
        let wait = Some(Duration::from_secs(2));
        let first = conn.send(&MetadataRequest::default(), wait).await;
        assert!(first.is_err(), "the handshake failed");
        let second = conn.send(&MetadataRequest::default(), wait).await;
        let seen = seen.lock().unwrap().clone();
        let versions = ApiKey::ApiVersions as i16;
        if fallback_ms > 0 {
            second.unwrap();
            assert_eq!(seen, vec![(versions, 3), (ApiKey::Metadata as i16, 6)]);
        } else {
            assert!(second.is_err());
            assert_eq!(seen, vec![(versions, 3), (versions, 3)]);
        }
    }
}

/// Captures what `tracing` logs at info level and above.
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// log.connection.close: a broker closing a connection (as brokers do with
/// idle ones) is logged at info level, or only at debug level when false.
#[test]
fn log_connection_close_chooses_the_level_of_the_close_log() {
    for log_close in [true, false] {
        let buf = Buf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .finish();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            rt.block_on(async {
                let (l, addr) = listener().await;
                tokio::spawn(async move {
                    let mut s = accept(&l).await;
                    let r = next_request(&mut s).await.unwrap();
                    s.write_all(&response(&r, b"ok")).await.unwrap();
                    drop(s); // the broker closes the connection
                    let _keep = l;
                    tokio::time::sleep(Duration::from_secs(5)).await;
                });
                let conn = connect(
                    addr,
                    NetSettings {
                        log_connection_close: log_close,
                        ..settings()
                    },
                );
                conn.send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
                    .await
                    .unwrap();
                timeout(STEP, async {
                    while conn.state() == ConnectionState::Up {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
                .await
                .unwrap();
            })
        });
        let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
        assert_eq!(
            text.contains("INFO") && text.contains("broker closed the connection"),
            log_close,
            "log.connection.close={log_close}: {text:?}"
        );
    }
}

/// broker.address.family: addresses of another family are skipped; a name
/// with none of the allowed family fails naming the property.
#[tokio::test]
async fn broker_address_family_filters_resolved_addresses() {
    let (l, addr) = listener().await;
    tokio::spawn(async move {
        let mut s = accept(&l).await;
        while let Some(r) = next_request(&mut s).await {
            s.write_all(&response(&r, b"ok")).await.unwrap();
        }
    });
    let v4: SocketAddr = format!("127.0.0.1:{}", addr.port()).parse().unwrap();
    let v6: SocketAddr = format!("[::1]:{}", addr.port()).parse().unwrap();
    let resolver = Resolver::Static(Arc::new(HashMap::from([
        ("dual".to_string(), vec![v6, v4]),
        ("v4only".to_string(), vec![v4]),
    ])));
    let with = |family| NetSettings {
        resolver: resolver.clone(),
        address_family: family,
        ..settings()
    };
    // v4: the IPv6 address (nobody listens there) is not even tried.
    let conn = connect_to("dual", addr.port(), with(AddressFamily::V4));
    let ok = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(&ok[..], b"ok");
    let conn = connect_to("v4only", addr.port(), with(AddressFamily::V6));
    let err = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap_err();
    assert!(err.message().contains("broker.address.family"), "{err}");
    assert!(err.message().contains("127.0.0.1"), "{err}");
}

/// broker.address.ttl: within it, a reconnect reuses the addresses resolved
/// before; with 0, every attempt resolves again.
#[tokio::test]
async fn broker_address_ttl_caches_resolutions() {
    for (ttl, resolutions) in [(Duration::from_secs(60), 1usize), (Duration::ZERO, 2)] {
        let (l, addr) = listener().await;
        tokio::spawn(async move {
            // Two connections: the first is closed by the broker.
            for keep in [false, true] {
                let mut s = accept(&l).await;
                let r = next_request(&mut s).await.unwrap();
                s.write_all(&response(&r, b"ok")).await.unwrap();
                if keep {
                    while next_request(&mut s).await.is_some() {}
                }
            }
        });
        let counted = Arc::new(AtomicUsize::new(0));
        let conn = connect_to(
            "counted",
            addr.port(),
            NetSettings {
                resolver: {
                    let counted = counted.clone();
                    Resolver::custom(move |_host, _port| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        Ok(vec![addr])
                    })
                },
                address_ttl: ttl,
                ..settings()
            },
        );
        for round in 0..2 {
            conn.send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
                .await
                .unwrap();
            if round == 0 {
                // Wait for the broker's close of the first connection.
                timeout(STEP, async {
                    while conn.state() == ConnectionState::Up {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                })
                .await
                .unwrap();
            }
        }
        assert_eq!(counted.load(Ordering::SeqCst), resolutions, "ttl {ttl:?}");
    }
}
