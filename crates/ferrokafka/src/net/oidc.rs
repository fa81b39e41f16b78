//! OAUTHBEARER tokens from an OIDC token endpoint
//! (`sasl.oauthbearer.method=oidc`): the OAuth 2.0 client credentials
//! grant (RFC 6749 section 4.4) against
//! `sasl.oauthbearer.token.endpoint.url`.
//!
//! Owned here: the settings (client id and secret, scope, the SASL
//! extensions sent with each token, the CA for an https endpoint), the
//! request (a form POST with HTTP Basic client authentication, as
//! librdkafka sends it), reading the answer (`access_token`, and its
//! lifetime from `expires_in` or the JWT's `exp` claim), and the cache
//! every connection of the client shares: a token is reused until 80% of
//! its lifetime has passed, then the next authentication (a new connection
//! or a KIP-368 re-authentication) fetches a new one. One fetch runs at a
//! time; connections authenticating meanwhile wait for its result.
//!
//! Failures are `_AUTHENTICATION` errors naming the endpoint and the cause:
//! refused connection, TLS failure, HTTP status with an excerpt of the
//! body, or malformed JSON. The client secret never appears in `Debug`,
//! logs or error messages.

use super::http::{self, Url};
use super::sasl::OAuthToken;
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A client's OIDC settings and its shared token cache. `Debug` shows the
/// endpoint, client id and scope, never the secret or a token.
#[derive(Clone)]
pub(crate) struct Oidc {
    url: Url,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    extensions: Vec<(String, String)>,
    sub_claim: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
    cached: Arc<tokio::sync::Mutex<Option<(OAuthToken, SystemTime)>>>,
}

impl fmt::Debug for Oidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Oidc");
        d.field("url", &self.url.to_string())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("scope", &self.scope)
            .field("extensions", &self.extensions)
            .field("sub_claim", &self.sub_claim);
        // The settings tests compare whole configurations.
        #[cfg(test)]
        d.field("tls", &self.tls);
        d.finish_non_exhaustive()
    }
}

fn config_error(name: &str, message: impl fmt::Display) -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        format!("configuration property \"{name}\": {message}"),
    )
}

/// The properties only the OIDC method reads: set with another method,
/// they would be ignored, so they are refused.
pub(crate) const OIDC_ONLY: &[&str] = &[
    "sasl.oauthbearer.token.endpoint.url",
    "sasl.oauthbearer.client.id",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.scope",
    "sasl.oauthbearer.extensions",
    "https.ca.location",
    "https.ca.pem",
];

impl Oidc {
    /// The OIDC settings of a validated configuration with
    /// `sasl.oauthbearer.method=oidc`.
    pub(crate) fn from_config(c: &Config) -> Result<Oidc> {
        let need = |name: &str| {
            c.get_opt_str(name)
                .map(str::to_string)
                .ok_or_else(|| config_error(name, "must be set with sasl.oauthbearer.method=oidc"))
        };
        let url_text = need("sasl.oauthbearer.token.endpoint.url")?;
        let url = Url::parse(&url_text)
            .map_err(|why| config_error("sasl.oauthbearer.token.endpoint.url", why))?;
        let client_id = need("sasl.oauthbearer.client.id")?;
        let client_secret = need("sasl.oauthbearer.client.secret")?;
        let tls = if url.https {
            Some(super::tls::https_client_config(c)?)
        } else {
            for name in ["https.ca.location", "https.ca.pem"] {
                if c.get_opt_str(name).is_some() {
                    return Err(config_error(
                        name,
                        format!("is set, but the token endpoint {url} is not https"),
                    ));
                }
            }
            None
        };
        Ok(Oidc {
            url,
            client_id,
            client_secret,
            scope: c.get_opt_str("sasl.oauthbearer.scope").map(str::to_string),
            extensions: parse_extensions(c.get_str("sasl.oauthbearer.extensions"))?,
            sub_claim: c.get_str("sasl.oauthbearer.sub.claim.name").to_string(),
            tls,
            timeout: c.get_duration("socket.connection.setup.timeout.ms"),
            cached: Default::default(),
        })
    }

    /// The current token: the cached one while under 80% of its lifetime,
    /// else a new one from the endpoint.
    pub(crate) async fn token(&self, now: SystemTime) -> Result<OAuthToken> {
        let mut cached = self.cached.lock().await;
        if let Some((t, at)) = &*cached {
            if super::sasl::still_fresh(t, *at, now) {
                return Ok(t.clone());
            }
        }
        let t = self.fetch(now).await.map_err(|e| {
            Error::new(
                ErrorCode::Authentication,
                format!(
                    "OIDC token endpoint {}: {}",
                    self.url,
                    redact(e.message(), &self.client_secret)
                ),
            )
        })?;
        *cached = Some((t.clone(), now));
        Ok(t)
    }

    /// The request's body: the grant type and the scope.
    fn request_body(&self) -> String {
        let mut body = "grant_type=client_credentials".to_string();
        if let Some(scope) = &self.scope {
            body.push_str("&scope=");
            body.push_str(&http::form_encode(scope));
        }
        body
    }

    /// HTTP Basic client authentication (RFC 6749 section 2.3.1).
    fn authorization(&self) -> String {
        let pair = format!("{}:{}", self.client_id, self.client_secret);
        format!("Basic {}", B64.encode(pair))
    }

    async fn fetch(&self, now: SystemTime) -> Result<OAuthToken> {
        let response = http::post(
            &self.url,
            self.tls.as_ref(),
            &[("Authorization", self.authorization())],
            &self.request_body(),
            self.timeout,
        )
        .await?;
        let mut t = token_from_response(&response, &self.sub_claim, now)?;
        for (k, v) in &self.extensions {
            t = t.extension(k.clone(), v.clone());
        }
        Ok(t)
    }
}

/// Replaces any occurrence of `secret` in `text` (an endpoint that echoes
/// the request would otherwise put it into an error message).
fn redact(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "[redacted]")
}

/// `sasl.oauthbearer.extensions`: comma-separated `key=value` pairs.
fn parse_extensions(text: &str) -> Result<Vec<(String, String)>> {
    const NAME: &str = "sasl.oauthbearer.extensions";
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((k, v)) = item.split_once('=') else {
            return Err(config_error(NAME, format!("{item:?} is not key=value")));
        };
        super::sasl::check_extension(k, v).map_err(|e| {
            Error::new(
                ErrorCode::InvalidArg,
                e.message()
                    .replace("sasl.oauthbearer.config", NAME)
                    .to_string(),
            )
        })?;
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// The token in a token endpoint's answer (RFC 6749 section 5.1; an error
/// answer, section 5.2, is reported with its status and body).
fn token_from_response(r: &http::Response, sub_claim: &str, now: SystemTime) -> Result<OAuthToken> {
    let bad = |why: String| Error::new(ErrorCode::BadMsg, why);
    if r.status != 200 {
        return Err(Error::new(
            ErrorCode::Authentication,
            format!("HTTP {} {}: {}", r.status, r.reason, http::excerpt(&r.body)),
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&r.body).map_err(|e| {
        bad(format!(
            "the answer is not JSON ({e}): {}",
            http::excerpt(&r.body)
        ))
    })?;
    let Some(obj) = json.as_object() else {
        return Err(bad("the answer is not a JSON object".into()));
    };
    let token = obj
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("the answer has no access_token string".into()))?;
    if let Some(kind) = obj.get("token_type").and_then(|t| t.as_str()) {
        if !kind.eq_ignore_ascii_case("bearer") {
            return Err(bad(format!("token_type {kind:?} is not Bearer")));
        }
    }
    // The token's claims, when it is a JWT: the principal, and the
    // expiry when the answer has no expires_in.
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| B64URL.decode(p.trim_end_matches('=')).ok())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok());
    let principal = claims
        .as_ref()
        .and_then(|c| c.get(sub_claim))
        .and_then(|s| s.as_str())
        .unwrap_or("")
        .to_string();
    let lifetime = match obj.get("expires_in") {
        Some(v) => {
            let s = v
                .as_f64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|s| s.is_finite() && *s > 0.0)
                .ok_or_else(|| bad(format!("expires_in {v} is not a positive number")))?;
            Duration::from_secs_f64(s.min(1e9))
        }
        None => {
            let exp = claims
                .as_ref()
                .and_then(|c| c.get("exp"))
                .and_then(|e| e.as_f64())
                .ok_or_else(|| {
                    bad("the answer has no expires_in and the token no JWT exp claim".into())
                })?;
            let now_s = now
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            if !exp.is_finite() || exp <= now_s {
                return Err(bad(format!(
                    "the token's exp claim ({exp}) is not in the future"
                )));
            }
            Duration::from_secs_f64((exp - now_s).min(1e9))
        }
    };
    Ok(OAuthToken::new(token, principal, lifetime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> http::Response {
        http::Response {
            status,
            reason: "X".into(),
            body: body.as_bytes().to_vec(),
        }
    }

    fn jwt(claims: &str) -> String {
        format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none"}"#),
            B64URL.encode(claims)
        )
    }

    #[test]
    fn answers_give_the_token_its_principal_and_lifetime() {
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let tok = jwt(r#"{"sub":"svc","client":"c1","exp":1600}"#);
        let body = format!(r#"{{"access_token":"{tok}","token_type":"bearer","expires_in":300}}"#);
        let t = token_from_response(&response(200, &body), "sub", now).unwrap();
        assert_eq!(t.lifetime(), Duration::from_secs(300));
        assert_eq!(t.principal(), "svc");
        // No expires_in: the JWT's exp; another principal claim.
        let body = format!(r#"{{"access_token":"{tok}"}}"#);
        let t = token_from_response(&response(200, &body), "client", now).unwrap();
        assert_eq!(t.lifetime(), Duration::from_secs(600));
        assert_eq!(t.principal(), "c1");
    }

    #[test]
    fn bad_answers_are_named() {
        let now = SystemTime::now();
        let cases = [
            (401, r#"{"error":"invalid_client"}"#, "HTTP 401"),
            (200, "<html>", "not JSON"),
            (200, "[1]", "not a JSON object"),
            (200, r#"{"expires_in":5}"#, "no access_token"),
            (200, r#"{"access_token":"opaque"}"#, "no expires_in"),
            (
                200,
                r#"{"access_token":"t","expires_in":-1}"#,
                "not a positive number",
            ),
            (
                200,
                r#"{"access_token":"t","token_type":"mac","expires_in":1}"#,
                "not Bearer",
            ),
        ];
        for (status, body, want) in cases {
            let e = token_from_response(&response(status, body), "sub", now).unwrap_err();
            assert!(e.message().contains(want), "{body}: {e}");
        }
        let e = token_from_response(&response(401, r#"{"error":"invalid_client"}"#), "sub", now)
            .unwrap_err();
        assert!(e.message().contains("invalid_client"), "{e}");
    }

    #[test]
    fn extensions_are_checked() {
        assert_eq!(
            parse_extensions("a=1, traceId=x").unwrap(),
            [("a".into(), "1".into()), ("traceId".into(), "x".into())]
        );
        let e = parse_extensions("auth=x").unwrap_err();
        assert!(e.message().contains("sasl.oauthbearer.extensions"), "{e}");
        assert!(parse_extensions("novalue").is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("got s3cr3t back", "s3cr3t"), "got [redacted] back");
    }
}
