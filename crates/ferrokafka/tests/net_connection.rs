//! One broker connection against a fake broker on loopback: pipelining,
//! correlation ids, timeouts, damaged frames, reconnect backoff, KIP-302.

mod net_fake;

use bytes::Bytes;
use ferrokafka::net::{
    BrokerAddress, Connection, ConnectionKind, ConnectionState, NetSettings, Resolver,
};
use ferrokafka::ErrorCode;
use kafka_protocol::messages::ApiKey;
use net_fake::*;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::{timeout, Instant};

fn settings() -> NetSettings {
    NetSettings {
        client_id: "net-test".into(),
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        ..NetSettings::default()
    }
}

fn connect(addr: SocketAddr, s: NetSettings) -> Connection {
    Connection::new(
        BrokerAddress {
            host: addr.ip().to_string(),
            port: addr.port(),
        },
        ConnectionKind::Admin,
        Arc::new(s),
        &tokio::runtime::Handle::current(),
    )
}

#[tokio::test]
async fn pipelined_requests_are_matched_by_correlation_id() {
    let (l, addr) = listener().await;
    const N: usize = 8;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        // Read all N before answering any: only a pipelining client gets here.
        let mut reqs = Vec::new();
        for _ in 0..N {
            reqs.push(next_request(&mut s).await.expect("request"));
        }
        // Answer in reverse order, echoing each body.
        for r in reqs.iter().rev() {
            s.write_all(&response(r, &r.body)).await.unwrap();
        }
        let ids: Vec<i32> = reqs.iter().map(|r| r.correlation_id).collect();
        (reqs[0].client_id.clone(), ids, s)
    });
    let conn = connect(addr, settings());
    assert_eq!(
        conn.state(),
        ConnectionState::Idle,
        "sparse: nothing opened yet"
    );
    let calls = (0..N).map(|i| {
        let c = conn.clone();
        async move {
            let body = Bytes::from(format!("request-{i}"));
            let got = c
                .send_raw(ApiKey::Metadata, 1, body.clone(), None)
                .await
                .unwrap();
            assert_eq!(got, body);
        }
    });
    let mut set = tokio::task::JoinSet::new();
    for c in calls {
        set.spawn(c);
    }
    timeout(STEP, async {
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    })
    .await
    .expect("all responses in time");
    let (client_id, ids, _s) = broker.await.unwrap();
    assert_eq!(client_id.as_deref(), Some("net-test"));
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), N, "distinct correlation ids: {ids:?}");
    assert_eq!(conn.state(), ConnectionState::Up);
}

#[tokio::test]
async fn in_flight_limit_holds_requests_back() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let first = next_request(&mut s).await.unwrap();
        // With max 1 in flight the second request must not arrive yet.
        let early = tokio::time::timeout(Duration::from_millis(300), next_request(&mut s)).await;
        assert!(
            early.is_err(),
            "second request arrived while one was in flight"
        );
        s.write_all(&response(&first, b"one")).await.unwrap();
        let second = next_request(&mut s).await.unwrap();
        s.write_all(&response(&second, b"two")).await.unwrap();
        s
    });
    let conn = connect(
        addr,
        NetSettings {
            max_in_flight: 1,
            ..settings()
        },
    );
    let (a, b) = tokio::join!(
        conn.send_raw(ApiKey::Metadata, 1, Bytes::from_static(b"a"), None),
        conn.send_raw(ApiKey::Metadata, 1, Bytes::from_static(b"b"), None)
    );
    let mut got = vec![a.unwrap(), b.unwrap()];
    got.sort();
    assert_eq!(
        got,
        vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]
    );
    let _s = timeout(STEP, broker).await.unwrap().unwrap();
}

#[tokio::test]
async fn request_timeout_fails_the_request_then_reconnects() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s1 = accept(&l).await;
        let _ignored = next_request(&mut s1).await.unwrap();
        // Never answer; the client gives up and closes.
        assert!(
            next_request(&mut s1).await.is_none(),
            "client closed after timeout"
        );
        let mut s2 = accept(&l).await;
        let r = next_request(&mut s2).await.unwrap();
        s2.write_all(&response(&r, b"ok")).await.unwrap();
        s2
    });
    let conn = connect(
        addr,
        NetSettings {
            reconnect_backoff: Duration::from_millis(10),
            ..settings()
        },
    );
    let t0 = Instant::now();
    let err = conn
        .send_raw(
            ApiKey::Metadata,
            1,
            Bytes::new(),
            Some(Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    let took = t0.elapsed();
    assert_eq!(err.code(), ErrorCode::TimedOut, "{err}");
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let ok = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(&ok[..], b"ok");
    let _s = timeout(STEP, broker).await.unwrap().unwrap();
}

/// Answers the first request with `reply` (raw bytes), then reports
/// whether the client closed the socket.
async fn damaged_reply(reply: fn(&Req) -> Vec<u8>, max: usize) -> (ferrokafka::Error, bool) {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let r = next_request(&mut s).await.unwrap();
        let _ = s.write_all(&reply(&r)).await;
        // The client must close the connection; give it time.
        let closed = tokio::time::timeout(STEP, next_request(&mut s)).await;
        matches!(closed, Ok(None))
    });
    let conn = connect(
        addr,
        NetSettings {
            receive_max: max,
            ..settings()
        },
    );
    let err = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap_err();
    // Drop the handle so a still-open socket ends the fake's wait.
    drop(conn);
    let closed = timeout(STEP + STEP, broker).await.unwrap().unwrap();
    (err, closed)
}

#[tokio::test]
async fn oversized_frame_is_an_error_not_an_allocation() {
    let (err, closed) = damaged_reply(|_| vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0], 1 << 20).await;
    assert_eq!(err.code(), ErrorCode::BadMsg, "{err}");
    assert!(err.message().contains("receive.message.max.bytes"), "{err}");
    assert!(closed);
}

#[tokio::test]
async fn negative_frame_size_is_an_error() {
    let (err, closed) = damaged_reply(|_| vec![0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4], 1 << 20).await;
    assert_eq!(err.code(), ErrorCode::BadMsg, "{err}");
    assert!(closed);
}

#[tokio::test]
async fn truncated_frame_then_close_is_a_transport_error() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let r = next_request(&mut s).await.unwrap();
        let mut full = response(&r, &[7u8; 100]);
        full.truncate(30);
        s.write_all(&full).await.unwrap();
        // close mid-frame
    });
    let conn = connect(addr, settings());
    let err = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Transport, "{err}");
    timeout(STEP, broker).await.unwrap().unwrap();
}

#[tokio::test]
async fn unknown_correlation_id_is_bad_msg() {
    let (err, closed) = damaged_reply(
        |r| {
            let mut other = r.clone();
            other.correlation_id = r.correlation_id.wrapping_add(1000);
            response(&other, b"x")
        },
        1 << 20,
    )
    .await;
    assert_eq!(err.code(), ErrorCode::BadMsg, "{err}");
    assert!(err.message().contains("correlation id"), "{err}");
    assert!(closed);
}

#[tokio::test]
async fn reconnects_are_spaced_by_the_backoff() {
    let (l, addr) = listener().await;
    // Accept and immediately close every connection, recording when.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let broker = tokio::spawn(async move {
        for _ in 0..4 {
            let (s, _) = l.accept().await.unwrap();
            tx.send(Instant::now()).unwrap();
            drop(s);
        }
    });
    let base = Duration::from_millis(200);
    let conn = connect(
        addr,
        NetSettings {
            reconnect_backoff: base,
            reconnect_backoff_max: Duration::from_millis(1000),
            ..settings()
        },
    );
    let mut errors = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while errors < 4 && Instant::now() < deadline {
        let e = conn
            .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Transport, "{e}");
        errors += 1;
    }
    timeout(STEP, broker).await.unwrap().unwrap();
    let mut at = Vec::new();
    while let Ok(t) = rx.try_recv() {
        at.push(t);
    }
    assert_eq!(at.len(), 4);
    // Gaps: >= backoff * 0.75, backoff doubling 200, 400, 800 (cap 1000).
    for (i, w) in at.windows(2).enumerate() {
        let gap = w[1] - w[0];
        let expected = base * (1 << i);
        assert!(
            gap >= expected * 3 / 4 - Duration::from_millis(5),
            "attempt {i}: gap {gap:?} < 75% of {expected:?}"
        );
        assert!(
            gap <= expected * 3 / 2 + Duration::from_millis(500),
            "attempt {i}: gap {gap:?}"
        );
    }
}

#[tokio::test]
async fn every_resolved_address_is_tried_in_turn() {
    let (l, live) = listener().await;
    // A port nothing listens on: bind, note, close.
    let dead = {
        let (d, a) = listener().await;
        drop(d);
        a
    };
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let r = next_request(&mut s).await.unwrap();
        s.write_all(&response(&r, b"live")).await.unwrap();
        s
    });
    let resolver = Resolver::Static(Arc::new(HashMap::from([(
        "kafka.test".to_string(),
        vec![dead, live],
    )])));
    let conn = Connection::new(
        BrokerAddress {
            host: "kafka.test".into(),
            port: 9092,
        },
        ConnectionKind::Produce,
        Arc::new(NetSettings {
            resolver,
            ..settings()
        }),
        &tokio::runtime::Handle::current(),
    );
    let got = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(&got[..], b"live");
    let _s = timeout(STEP, broker).await.unwrap().unwrap();
}

#[tokio::test]
async fn unresolvable_and_refused_hosts_fail_fast_with_clear_errors() {
    let dead = {
        let (d, a) = listener().await;
        drop(d);
        a
    };
    let conn = connect(dead, settings());
    let t0 = Instant::now();
    let err = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Transport);
    assert!(err.message().contains(&dead.to_string()), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3));

    let resolver = Resolver::Static(Arc::new(HashMap::new()));
    let conn = Connection::new(
        BrokerAddress {
            host: "nowhere.test".into(),
            port: 1,
        },
        ConnectionKind::Admin,
        Arc::new(NetSettings {
            resolver,
            ..settings()
        }),
        &tokio::runtime::Handle::current(),
    );
    let err = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Resolve, "{err}");
    assert!(err.message().contains("nowhere.test"), "{err}");
}

#[tokio::test]
async fn api_versions_falls_back_when_the_broker_refuses_v3() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let mut seen = Vec::new();
        loop {
            let r = read_request(&mut s).await.unwrap();
            if r.api_key != ApiKey::ApiVersions as i16 {
                s.write_all(&response(&r, &r.version.to_be_bytes()))
                    .await
                    .unwrap();
                return (seen, s);
            }
            seen.push((r.version, r.body.clone()));
            if r.version > 0 {
                // UNSUPPORTED_VERSION in the v0 layout, without our range.
                let mut body = vec![0, 35];
                body.extend_from_slice(&0i32.to_be_bytes());
                s.write_all(&response(&r, &body)).await.unwrap();
            } else {
                let body =
                    api_versions_body(0, &[(ApiKey::Metadata, 0, 5), (ApiKey::ApiVersions, 0, 0)]);
                s.write_all(&response(&r, &body)).await.unwrap();
            }
        }
    });
    let conn = connect(addr, settings());
    let got = conn
        .send(
            &kafka_protocol::messages::MetadataRequest::default().with_topics(Some(vec![])),
            None,
        )
        .await;
    // The fake echoes the version instead of a real body; what matters is
    // which version was chosen and which ApiVersions were sent.
    let _ = got;
    let (seen, _s) = timeout(STEP, broker).await.unwrap().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].0, 3);
    // v3 carries client software name and version (KIP-511)
    let body = &seen[0].1;
    assert_eq!(&body[1..11], b"ferrokafka");
    assert_eq!(seen[1].0, 0);
}

#[tokio::test]
async fn fallback_versions_skip_api_versions_when_disabled() {
    use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
    use kafka_protocol::protocol::Encodable;
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let r = read_request(&mut s).await.unwrap();
        let mut body = bytes::BytesMut::new();
        MetadataResponse::default()
            .encode(&mut body, r.version)
            .unwrap();
        s.write_all(&response(&r, &body)).await.unwrap();
        (r.api_key, r.version, s)
    });
    let conn = connect(
        addr,
        NetSettings {
            api_version_request: false,
            broker_version_fallback: "2.0.0".into(),
            ..settings()
        },
    );
    let resp = conn.send(&MetadataRequest::default(), None).await.unwrap();
    assert!(resp.brokers.is_empty());
    let (key, version, _s) = timeout(STEP, broker).await.unwrap().unwrap();
    assert_eq!(key, ApiKey::Metadata as i16, "no ApiVersions request first");
    assert_eq!(version, 6, "Metadata v6 is what a 2.0 broker speaks");
}

#[tokio::test]
async fn requests_without_response_do_not_disturb_matching() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let fire = next_request(&mut s).await.unwrap();
        let asked = next_request(&mut s).await.unwrap();
        s.write_all(&response(&asked, b"answer")).await.unwrap();
        (fire.body, s)
    });
    let conn = connect(addr, settings());
    conn.send_raw_no_response(ApiKey::Produce, 7, Bytes::from_static(b"acks0"))
        .unwrap();
    let got = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(&got[..], b"answer");
    let (fired, _s) = timeout(STEP, broker).await.unwrap().unwrap();
    assert_eq!(&fired[..], b"acks0");
}

#[tokio::test]
async fn idle_connections_close_and_reopen_on_demand() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s1 = accept(&l).await;
        let r = next_request(&mut s1).await.unwrap();
        s1.write_all(&response(&r, b"1")).await.unwrap();
        let t = Instant::now();
        assert!(next_request(&mut s1).await.is_none(), "closed when idle");
        let idle_for = t.elapsed();
        let mut s2 = accept(&l).await;
        let r = next_request(&mut s2).await.unwrap();
        s2.write_all(&response(&r, b"2")).await.unwrap();
        (idle_for, s2)
    });
    let conn = connect(
        addr,
        NetSettings {
            idle_timeout: Duration::from_millis(200),
            reconnect_backoff: Duration::from_millis(1),
            ..settings()
        },
    );
    let a = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(&a[..], b"1");
    timeout(STEP, async {
        while conn.state() != ConnectionState::Idle {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("connection went idle");
    let b = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap();
    assert_eq!(&b[..], b"2");
    let (idle_for, _s) = timeout(STEP, broker).await.unwrap().unwrap();
    assert!(idle_for >= Duration::from_millis(150), "{idle_for:?}");
}

#[tokio::test]
async fn large_and_small_bodies_interleave_intact() {
    let (l, addr) = listener().await;
    let sizes = [10usize, 100_000, 20, 16 * 1024, 500_000, 0, 30];
    let n = sizes.len();
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let mut reqs = Vec::new();
        for _ in 0..n {
            reqs.push(next_request(&mut s).await.expect("request"));
        }
        for r in &reqs {
            s.write_all(&response(r, &r.body)).await.unwrap();
        }
        s
    });
    let conn = connect(addr, settings());
    let mut set = tokio::task::JoinSet::new();
    for (i, size) in sizes.into_iter().enumerate() {
        let c = conn.clone();
        set.spawn(async move {
            let body = Bytes::from((0..size).map(|j| (i * 31 + j) as u8).collect::<Vec<u8>>());
            let got = c
                .send_raw(ApiKey::Produce, 7, body.clone(), None)
                .await
                .unwrap();
            assert_eq!(got.len(), body.len());
            assert!(got == body, "body {i} of {size} bytes came back changed");
        });
    }
    timeout(STEP, async {
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    })
    .await
    .expect("all answered");
    let _s = timeout(STEP, broker).await.unwrap().unwrap();
}

#[tokio::test]
async fn silent_peer_fails_the_api_versions_handshake_in_time() {
    let (l, addr) = listener().await;
    // Accepts and reads but never answers, like a non-Kafka service.
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let _ = read_request(&mut s).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    let conn = connect(
        addr,
        NetSettings {
            api_version_timeout: Duration::from_millis(200),
            ..settings()
        },
    );
    let t0 = Instant::now();
    let err = conn
        .send_raw(ApiKey::Metadata, 1, Bytes::new(), None)
        .await
        .unwrap_err();
    assert!(
        err.message().contains("api.version.request.timeout.ms"),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    broker.abort();
}

/// KIP-511: `client.software.name` and `client.software.version` reach the
/// broker in ApiVersions v3, through the one settings builder every client
/// uses; a value brokers would refuse is refused at construction.
#[tokio::test]
async fn client_software_name_and_version_are_sent_in_api_versions() {
    use kafka_protocol::protocol::Decodable;
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        let r = read_request(&mut s).await.unwrap();
        assert_eq!(r.api_key, ApiKey::ApiVersions as i16);
        let mut body = r.body.clone();
        kafka_protocol::messages::ApiVersionsRequest::decode(&mut body, r.version).unwrap()
    });
    let cfg = ferrokafka::ClientConfig::new()
        .set("bootstrap.servers", addr.to_string())
        .set("client.software.name", "acme-ingest")
        .set("client.software.version", "2.5.0-rc1")
        .set("socket.connection.setup.timeout.ms", "2000");
    let consumer = ferrokafka::consumer::Consumer::new(&cfg).unwrap();
    let _ = consumer
        .partitions_for("t", Duration::from_millis(500))
        .await;
    let req = timeout(STEP, broker).await.unwrap().unwrap();
    assert_eq!(req.client_software_name.as_str(), "acme-ingest");
    assert_eq!(req.client_software_version.as_str(), "2.5.0-rc1");

    for (name, value) in [
        ("client.software.name", "-leading-dash"),
        ("client.software.name", "has space"),
        ("client.software.version", "1.0_beta"),
    ] {
        let cfg = ferrokafka::ClientConfig::new()
            .set("bootstrap.servers", addr.to_string())
            .set(name, value);
        let e = ferrokafka::producer::Producer::new(&cfg).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArg, "{e}");
        assert!(e.to_string().contains(name), "{e}");
    }
}
