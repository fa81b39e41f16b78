//! A minimal HTTP/1.1 client for the one HTTP call the client makes: the
//! POST to an OAUTHBEARER OIDC token endpoint (`oidc`).
//!
//! Owned here: parsing the endpoint URL, writing one request over TCP or
//! TLS (rustls, verifying the server), and reading one bounded response
//! (`Content-Length`, chunked, or until the server closes). A full HTTP
//! stack would bring a large dependency tree for a request made once per
//! token lifetime; this is all the token endpoint needs. Parsing is
//! I/O-free ([`Response::parse`]); [`post`] does the I/O, bounded by one
//! timeout and a size cap.

use crate::error::{Error, ErrorCode, Result};
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The largest response accepted (headers and body): token responses are
/// a few kilobytes.
const MAX_RESPONSE: usize = 1 << 20;

/// An `http://` or `https://` URL, split for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, starting with `/`.
    pub(crate) target: String,
}

impl Url {
    /// Parses `scheme://host[:port][/path][?query]`; user info and
    /// fragments are refused.
    pub(crate) fn parse(text: &str) -> std::result::Result<Url, String> {
        let (https, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("the URL must start with http:// or https://".into());
        };
        if text.contains('#') {
            return Err("the URL must not have a fragment".into());
        }
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err("user info in the URL is not supported".into());
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or("an IPv6 host must be closed with ]")?;
            match after.strip_prefix(':') {
                Some(p) => (h, p),
                None if after.is_empty() => (h, ""),
                None => return Err("unexpected text after the IPv6 host".into()),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p),
                None => (authority, ""),
            }
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        let port = if port.is_empty() {
            default_port
        } else {
            port.parse()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{port:?} is not a port"))?
        };
        if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err("the URL's path has spaces or control characters".into());
        }
        Ok(Url {
            https,
            host: host.to_string(),
            port,
            target,
        })
    }

    /// The `Host` header's value.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.https { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.target)
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) body: Vec<u8>,
}

fn bad(why: impl std::fmt::Display) -> String {
    format!("malformed HTTP response: {why}")
}

impl Response {
    /// The response in `buf` once it is complete: `Ok(None)` while more
    /// bytes are needed. `eof` says the server has closed, which ends a
    /// body framed by the connection's end and makes a shorter one an
    /// error.
    pub(crate) fn parse(buf: &[u8], eof: bool) -> std::result::Result<Option<Response>, String> {
        let Some(head_end) = find(buf, b"\r\n\r\n") else {
            if eof {
                return Err(bad("the server closed before the end of the headers"));
            }
            return Ok(None);
        };
        let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("headers not UTF-8"))?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(bad(format!(
                "status line {:?}",
                excerpt(status_line.as_bytes())
            )));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| bad(format!("status line {:?}", excerpt(status_line.as_bytes()))))?;
        let reason = parts.next().unwrap_or("").to_string();
        let mut length = None;
        let mut chunked = false;
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| bad(format!("header line {:?}", excerpt(line.as_bytes()))))?;
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n: usize = value
                    .parse()
                    .map_err(|_| bad(format!("Content-Length {value:?}")))?;
                if n > MAX_RESPONSE {
                    return Err(format!(
                        "HTTP response body of {n} bytes is over the {MAX_RESPONSE} byte limit"
                    ));
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
                if !chunked {
                    return Err(bad(format!("unsupported Transfer-Encoding {value:?}")));
                }
            }
        }
        if (100..200).contains(&status) {
            // An interim answer (100 Continue): the real one follows.
            return match Response::parse(&buf[head_end + 4..], eof)? {
                Some(r) => Ok(Some(r)),
                None => Ok(None),
            };
        }
        let rest = &buf[head_end + 4..];
        let body = if chunked {
            match dechunk(rest)? {
                Some(b) => b,
                None if eof => return Err(bad("the server closed inside a chunked body")),
                None => return Ok(None),
            }
        } else if let Some(n) = length {
            if rest.len() < n {
                if eof {
                    return Err(bad(format!(
                        "the server closed after {} of {n} body bytes",
                        rest.len()
                    )));
                }
                return Ok(None);
            }
            rest[..n].to_vec()
        } else if eof {
            rest.to_vec()
        } else {
            return Ok(None);
        };
        Ok(Some(Response {
            status,
            reason,
            body,
        }))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A chunked body (RFC 9112 section 7.1) once its last chunk is in `b`.
fn dechunk(mut b: &[u8]) -> std::result::Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(b, b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&b[..eol]).map_err(|_| bad("chunk size not UTF-8"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| bad(format!("chunk size {:?}", excerpt(line.as_bytes()))))?;
        if size > MAX_RESPONSE || out.len() + size > MAX_RESPONSE {
            return Err(format!(
                "HTTP response body is over the {MAX_RESPONSE} byte limit"
            ));
        }
        b = &b[eol + 2..];
        if size == 0 {
            // Trailers, if any, end with an empty line.
            return Ok(find(b, b"\r\n").map(|_| out));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        if &b[size..size + 2] != b"\r\n" {
            return Err(bad("a chunk does not end with CRLF"));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

/// The first 200 characters of `b` as text, for error messages.
pub(crate) fn excerpt(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push_str("...");
    }
    s
}

/// POSTs `body` (form-encoded) to `url` with the extra `headers` and
/// returns the response, all within `timeout`. `tls` verifies an https
/// server. Errors (which the caller prefixes with the URL) are
/// `_TRANSPORT` for connection failures, `_SSL` for TLS failures,
/// `_BAD_MSG` for a malformed response, `_TIMED_OUT` when `timeout`
/// passes.
pub(crate) async fn post(
    url: &Url,
    tls: Option<&Arc<rustls::ClientConfig>>,
    headers: &[(&str, String)],
    body: &str,
    timeout: Duration,
) -> Result<Response> {
    match tokio::time::timeout(timeout, post_inner(url, tls, headers, body)).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorCode::TimedOut,
            format!("no complete answer within {} ms", timeout.as_millis()),
        )),
    }
}

async fn post_inner(
    url: &Url,
    tls: Option<&Arc<rustls::ClientConfig>>,
    headers: &[(&str, String)],
    body: &str,
) -> Result<Response> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port))
        .await
        .map_err(|e| Error::new(ErrorCode::Transport, format!("cannot connect: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        url.target,
        url.host_header(),
        body.len()
    );
    for (name, value) in headers {
        request.push_str(name);
        request.push_str(": ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(body);
    if url.https {
        let Some(tls) = tls else {
            return Err(Error::new(
                ErrorCode::Ssl,
                "no TLS configuration for https".to_string(),
            ));
        };
        let name = ServerName::try_from(url.host.clone()).map_err(|_| {
            Error::new(
                ErrorCode::Ssl,
                format!("{:?} is not a valid TLS server name", url.host),
            )
        })?;
        let stream = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| Error::new(ErrorCode::Ssl, format!("TLS handshake failed: {e}")))?;
        exchange(stream, request.as_bytes()).await
    } else {
        exchange(tcp, request.as_bytes()).await
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<Response> {
    let io = |what: &str, e: std::io::Error| {
        Error::new(ErrorCode::Transport, format!("{what} failed: {e}"))
    };
    stream
        .write_all(request)
        .await
        .map_err(|e| io("sending", e))?;
    stream.flush().await.map_err(|e| io("sending", e))?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        let (n, eof) = match stream.read(&mut chunk).await {
            Ok(0) => (0, true),
            Ok(n) => (n, false),
            // A TLS server that closes without close_notify: the framing
            // check below still catches a truncated body.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => (0, true),
            Err(e) => return Err(io("reading", e)),
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE + 64 * 1024 {
            return Err(Error::new(
                ErrorCode::BadMsg,
                format!("the response is over the {MAX_RESPONSE} byte limit"),
            ));
        }
        match Response::parse(&buf, eof) {
            Ok(Some(r)) => return Ok(r),
            Ok(None) if !eof => {}
            Ok(None) => unreachable!("parse with eof is complete or an error"),
            Err(why) => return Err(Error::new(ErrorCode::BadMsg, why)),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub(crate) fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_target() {
        let u = Url::parse("https://idp.example:8443/oauth2/token?x=1").unwrap();
        assert_eq!(
            (u.https, u.host.as_str(), u.port, u.target.as_str()),
            (true, "idp.example", 8443, "/oauth2/token?x=1")
        );
        let u = Url::parse("http://127.0.0.1").unwrap();
        assert_eq!((u.port, u.target.as_str()), (80, "/"));
        let u = Url::parse("http://[::1]:9/t").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        assert_eq!(u.to_string(), "http://[::1]:9/t");
        for bad in [
            "ftp://h/x",
            "http://",
            "http://u:p@h/",
            "http://h:0/",
            "http://h:x/",
            "http://h/a b",
            "http://h/#f",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses_are_framed_by_length_chunks_or_close() {
        let r = Response::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", false)
            .unwrap()
            .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hi"[..]));
        assert_eq!(
            Response::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi", false).unwrap(),
            None
        );
        assert!(Response::parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhi", true).is_err());
        let chunked = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n\
                        3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = Response::parse(chunked, false).unwrap().unwrap();
        assert_eq!((r.status, r.body.as_slice()), (401, &b"abcde"[..]));
        assert_eq!(
            Response::parse(&chunked[..chunked.len() - 2], false).unwrap(),
            None
        );
        let r = Response::parse(b"HTTP/1.0 200 OK\r\n\r\nuntil close", true)
            .unwrap()
            .unwrap();
        assert_eq!(r.body, b"until close");
        let r = Response::parse(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.status, 200);
        for bad in [
            &b"SSH-2.0-x\r\n\r\n"[..],
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            assert!(Response::parse(bad, false).is_err(), "{:?}", excerpt(bad));
        }
    }

    #[test]
    fn form_encoding_escapes_reserved_bytes() {
        assert_eq!(form_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
