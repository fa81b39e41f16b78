//! A broker answering typed requests with bodies whose array counts lie
//! (issue 3): the request fails with BadMsg on that connection, the process
//! neither panics nor tries the huge allocation, and the connection still
//! serves the next request.

mod net_fake;

use ferrokafka::net::{BrokerAddress, Connection, ConnectionKind, NetSettings};
use ferrokafka::ErrorCode;
use kafka_protocol::messages::{MetadataRequest, MetadataResponse, ProduceRequest};
use kafka_protocol::protocol::Encodable;
use net_fake::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

fn connect(addr: std::net::SocketAddr) -> Connection {
    Connection::new(
        BrokerAddress {
            host: addr.ip().to_string(),
            port: addr.port(),
        },
        ConnectionKind::Admin,
        Arc::new(NetSettings {
            client_id: "guard-test".into(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            ..NetSettings::default()
        }),
        &tokio::runtime::Handle::current(),
    )
}

/// A body of `prefix` fixed bytes followed by an array count of 2^31-1
/// (classic) or 2^32-2 (compact) with nothing behind it.
fn lying(prefix: usize, flexible: bool) -> Vec<u8> {
    let mut b = vec![0u8; prefix];
    if flexible {
        b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    } else {
        b.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
    }
    b
}

#[tokio::test]
async fn lying_array_counts_in_typed_responses_are_bad_msg_not_an_abort() {
    let (l, addr) = listener().await;
    let broker = tokio::spawn(async move {
        let mut s = accept(&l).await;
        // Metadata (v12 from RANGES, flexible): throttle time, then brokers.
        let r = next_request(&mut s).await.unwrap();
        assert_eq!(r.version, 12);
        s.write_all(&response(&r, &lying(4, true))).await.unwrap();
        // Produce (v9, flexible): the responses array comes first.
        let r = next_request(&mut s).await.unwrap();
        assert_eq!(r.version, 9);
        s.write_all(&response(&r, &lying(0, true))).await.unwrap();
        // Then an honest Metadata answer on the same connection.
        let r = next_request(&mut s).await.unwrap();
        let mut body = bytes::BytesMut::new();
        MetadataResponse::default()
            .with_cluster_id(Some("c1".into()))
            .encode(&mut body, r.version)
            .unwrap();
        s.write_all(&response(&r, &body)).await.unwrap();
        s
    });
    let conn = connect(addr);

    let err = timeout(STEP, conn.send(&MetadataRequest::default(), None))
        .await
        .expect("answered in time")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadMsg, "{err}");
    assert!(err.message().contains("Metadata v12"), "{err}");
    assert!(err.message().contains("array count exceeds"), "{err}");

    let err = timeout(STEP, conn.send(&ProduceRequest::default(), None))
        .await
        .expect("answered in time")
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::BadMsg, "{err}");
    assert!(err.message().contains("Produce v9"), "{err}");

    let ok = timeout(STEP, conn.send(&MetadataRequest::default(), None))
        .await
        .expect("answered in time")
        .expect("an honest answer after the lies decodes");
    assert_eq!(ok.cluster_id.as_deref(), Some("c1"));
    let _s = timeout(STEP, broker).await.unwrap().unwrap();
}
