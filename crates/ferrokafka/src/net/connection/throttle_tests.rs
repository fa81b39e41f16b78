//! KIP-219 throttling seen by a connection becomes an error event of the
//! client (at most one a second per broker) and a `broker` debug line.

use super::*;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiVersionsResponse, FindCoordinatorRequest, FindCoordinatorResponse,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use tokio::net::TcpListener;

const STEP: Duration = Duration::from_secs(10);

/// Reads one request frame: (api key, version, correlation id).
async fn read_request(s: &mut TcpStream) -> Option<(i16, i16, i32)> {
    let size = tokio::time::timeout(STEP, s.read_i32()).await.ok()?.ok()?;
    assert!((8..1 << 20).contains(&size));
    let mut buf = vec![0u8; size as usize];
    tokio::time::timeout(STEP, s.read_exact(&mut buf))
        .await
        .ok()?
        .ok()?;
    let key = i16::from_be_bytes([buf[0], buf[1]]);
    let version = i16::from_be_bytes([buf[2], buf[3]]);
    let id = i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    Some((key, version, id))
}

/// A response frame with a v0 header (ApiVersions, FindCoordinator v0-2).
fn frame(id: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn encode_at(m: &impl Encodable, version: i16) -> Vec<u8> {
    let mut b = BytesMut::new();
    m.encode(&mut b, version).unwrap();
    b.to_vec()
}

#[tokio::test]
async fn a_throttled_response_is_one_error_event_per_second_per_broker() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (done, until_done) = oneshot::channel::<()>();
    let broker = tokio::spawn(async move {
        let (mut s, _) = tokio::time::timeout(STEP, l.accept())
            .await
            .unwrap()
            .unwrap();
        // Bounded: ApiVersions and three FindCoordinator requests.
        for _ in 0..4 {
            let Some((key, version, id)) = read_request(&mut s).await else {
                return;
            };
            let body = if key == ApiKey::ApiVersions as i16 {
                let ranges = [(ApiKey::ApiVersions, 0, 3), (ApiKey::FindCoordinator, 0, 2)];
                let r = ApiVersionsResponse::default().with_api_keys(
                    ranges
                        .iter()
                        .map(|&(k, lo, hi)| {
                            ApiVersion::default()
                                .with_api_key(k as i16)
                                .with_min_version(lo)
                                .with_max_version(hi)
                        })
                        .collect(),
                );
                encode_at(&r, version)
            } else {
                let r = FindCoordinatorResponse::default()
                    .with_throttle_time_ms(250)
                    .with_node_id(kafka_protocol::messages::BrokerId(1))
                    .with_host(StrBytes::from_static_str("127.0.0.1"))
                    .with_port(1);
                encode_at(&r, version)
            };
            s.write_all(&frame(id, &body)).await.unwrap();
        }
        // Keep the socket open (a close would be an event of its own).
        let _ = tokio::time::timeout(STEP, until_done).await;
    });
    let settings = NetSettings {
        observer: crate::events::Observer::new(crate::debug::DebugContexts::parse(["broker"]), 6),
        ..NetSettings::default()
    };
    let observer = settings.observer.clone();
    let mut events = observer.subscribe();
    let conn = Connection::new(
        BrokerAddress {
            host: addr.ip().to_string(),
            port: addr.port(),
        },
        ConnectionKind::Group,
        Arc::new(settings),
        &tokio::runtime::Handle::current(),
    );
    let req = FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"));
    for _ in 0..3 {
        let r = conn.send(&req, Some(STEP)).await.unwrap();
        assert_eq!(r.throttle_time_ms, 250);
    }
    let e = tokio::time::timeout(STEP, events.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.code(), ErrorCode::ThrottlingQuotaExceeded);
    assert!(
        e.message().contains("250 ms") && e.message().contains("FindCoordinator"),
        "{e}"
    );
    assert!(!e.is_fatal());
    // Three throttled answers within a second: one event.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), events.next())
            .await
            .is_err(),
        "rate limited"
    );
    let _ = done.send(());
    broker.await.unwrap();
}
