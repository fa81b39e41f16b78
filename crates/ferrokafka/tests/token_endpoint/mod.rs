//! An OAuth token endpoint served by the test itself on 127.0.0.1, over
//! HTTP or HTTPS: it records each request and answers with whatever the
//! test's closure returns (by default, an unsecured JWT for a principal).
//! Shared by the OIDC tests against the mock and against Apache Kafka.

#![allow(dead_code)]

use base64::Engine;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the endpoint read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub request_line: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the endpoint answers: the status and the body.
pub type Answer = Box<dyn Fn(&Request) -> (u16, String) + Send + Sync>;

/// A running endpoint; it stops with the test's runtime.
pub struct TokenEndpoint {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl TokenEndpoint {
    /// Serves plain HTTP at `http://127.0.0.1:PORT/oauth2/token`.
    pub async fn http(answer: Answer) -> TokenEndpoint {
        Self::serve(answer, None).await
    }

    /// Serves HTTPS with `cert_pem` / `key_pem` (a certificate for
    /// 127.0.0.1).
    pub async fn https(answer: Answer, cert_pem: &str, key_pem: &str) -> TokenEndpoint {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        Self::serve(
            answer,
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
        )
        .await
    }

    async fn serve(answer: Answer, tls: Option<tokio_rustls::TlsAcceptor>) -> TokenEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(answer);
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (answer, log, tls) = (answer.clone(), log.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(tcp).await {
                                serve_one(s, &answer, &log).await;
                            }
                        }
                        None => serve_one(tcp, &answer, &log).await,
                    }
                });
            }
        });
        TokenEndpoint {
            url: format!("{scheme}://127.0.0.1:{port}/oauth2/token"),
            requests,
        }
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    answer: &Answer,
    log: &Mutex<Vec<Request>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Bounded: a request is read within 5 s and 64 KiB.
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let mut lines = head.split("\r\n");
                    let request_line = lines.next().unwrap_or("").to_string();
                    let headers = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                    return Some(Request {
                        request_line,
                        headers,
                        body,
                    });
                }
            }
            if buf.len() > 65536 {
                return None;
            }
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let Ok(Some(req)) = read else { return };
    let (status, body) = answer(&req);
    log.lock().unwrap().push(req);
    let reply = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        if status == 200 { "OK" } else { "Error" },
        body.len()
    );
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// An unsecured JWT (`alg: none`) for `sub`, expiring `life` from now, as
/// the mock and Apache Kafka's unsecured validator accept it.
pub fn unsecured_jwt(sub: &str, life: Duration) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let exp = now + life;
    format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none"}"#),
        b64.encode(format!(
            r#"{{"sub":"{sub}","iat":{:.3},"exp":{:.3}}}"#,
            now.as_secs_f64(),
            exp.as_secs_f64()
        ))
    )
}

/// An answer giving a fresh unsecured JWT for `sub` with `expires_in`.
pub fn grant(sub: &'static str, expires_in: Duration) -> Answer {
    Box::new(move |_| {
        (
            200,
            format!(
                r#"{{"access_token":"{}","token_type":"Bearer","expires_in":{}}}"#,
                unsecured_jwt(sub, expires_in),
                expires_in.as_secs_f64()
            ),
        )
    })
}
