//! A tiny fake Kafka broker on loopback for connection tests: it parses
//! request frames, answers ApiVersions itself, and hands every other
//! request to the test's script.
#![allow(dead_code)]

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};
use kafka_protocol::protocol::Encodable;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every socket operation of the fake is bounded by this.
pub const STEP: Duration = Duration::from_secs(10);

/// One parsed request.
#[derive(Debug, Clone)]
pub struct Req {
    pub api_key: i16,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
    pub body: Bytes,
}

pub async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// Reads one request frame; `None` at end of stream.
pub async fn read_request(s: &mut TcpStream) -> Option<Req> {
    let size = tokio::time::timeout(STEP, s.read_i32()).await.ok()?.ok()?;
    assert!((8..1 << 20).contains(&size), "test request size {size}");
    let mut buf = vec![0u8; size as usize];
    tokio::time::timeout(STEP, s.read_exact(&mut buf))
        .await
        .ok()?
        .ok()?;
    let api_key = i16::from_be_bytes([buf[0], buf[1]]);
    let version = i16::from_be_bytes([buf[2], buf[3]]);
    let correlation_id = i32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
    let hv = ApiKey::try_from(api_key)
        .unwrap()
        .request_header_version(version);
    let mut pos = 8;
    let client_id = if hv >= 1 {
        let len = i16::from_be_bytes([buf[8], buf[9]]);
        pos = 10;
        if len >= 0 {
            let s = String::from_utf8(buf[pos..pos + len as usize].to_vec()).unwrap();
            pos += len as usize;
            Some(s)
        } else {
            None
        }
    } else {
        None
    };
    if hv >= 2 {
        assert_eq!(buf[pos], 0, "no tagged fields expected");
        pos += 1;
    }
    Some(Req {
        api_key,
        version,
        correlation_id,
        client_id,
        body: Bytes::copy_from_slice(&buf[pos..]),
    })
}

/// A response frame for `req` carrying `body`.
pub fn response(req: &Req, body: &[u8]) -> Vec<u8> {
    let hv = ApiKey::try_from(req.api_key)
        .unwrap()
        .response_header_version(req.version);
    let mut out = BytesMut::new();
    let len = 4 + if hv >= 1 { 1 } else { 0 } + body.len();
    out.put_i32(len as i32);
    out.put_i32(req.correlation_id);
    if hv >= 1 {
        out.put_u8(0);
    }
    out.put_slice(body);
    out.to_vec()
}

/// The ranges the fake advertises.
pub const RANGES: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::FindCoordinator, 0, 4),
];

/// An ApiVersions response body at `version`, advertising `ranges`.
pub fn api_versions_body(version: i16, ranges: &[(ApiKey, i16, i16)]) -> Vec<u8> {
    let resp = ApiVersionsResponse::default().with_api_keys(
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
    let mut b = BytesMut::new();
    resp.encode(&mut b, version).unwrap();
    b.to_vec()
}

/// Reads requests, answering ApiVersions with [`RANGES`]; returns the first
/// other request, `None` at end of stream.
pub async fn next_request(s: &mut TcpStream) -> Option<Req> {
    loop {
        let req = read_request(s).await?;
        if req.api_key == ApiKey::ApiVersions as i16 {
            let body = api_versions_body(req.version, RANGES);
            s.write_all(&response(&req, &body)).await.ok()?;
            continue;
        }
        return Some(req);
    }
}

/// Accepts one connection within [`STEP`].
pub async fn accept(l: &TcpListener) -> TcpStream {
    tokio::time::timeout(STEP, l.accept())
        .await
        .expect("client connected in time")
        .unwrap()
        .0
}
