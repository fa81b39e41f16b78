//! SASL authentication of broker connections (`security.protocol` =
//! `sasl_plaintext` or `sasl_ssl`): the settings, the mechanisms' I/O-free
//! exchanges, and the Kafka messages that carry them.
//!
//! After ApiVersions, a connection sends SaslHandshake naming the mechanism,
//! then the mechanism's tokens: inside SaslAuthenticate requests (KIP-152)
//! when the broker offers that API, else (handshake v0, brokers before 1.0)
//! as bare length-prefixed frames. The connection task does the I/O
//! (`connection::Task::authenticate`); this module says what to send and
//! what an answer means.
//!
//! Mechanisms: PLAIN; SCRAM-SHA-256/512 (`scram`); OAUTHBEARER (RFC 7628)
//! with the built-in unsecured JWT (`enable.sasl.oauthbearer.unsecure.jwt`
//! and `sasl.oauthbearer.config`), an application's [`OAuthTokenProvider`]
//! or an OIDC token endpoint (`sasl.oauthbearer.method=oidc`, `oidc`), each
//! token asked again at 80% of its lifetime, with SASL extensions
//! (KIP-342). A session lifetime stated by the broker (SaslAuthenticate
//! v1, KIP-368) makes the connection authenticate again before it ends
//! (`connection::Task::serve`). GSSAPI is not built; the configuration
//! refuses it.
//!
//! Secrets (the password, the token) are never logged or shown by `Debug`.

use super::scram::{Scram, ScramHash};
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::protocol::{decode_as, ApiKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The SASL mechanism a client authenticates with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mechanism {
    Plain,
    Scram(ScramHash),
    OAuthBearer,
}

impl Mechanism {
    fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(ScramHash::Sha256) => "SCRAM-SHA-256",
            Mechanism::Scram(ScramHash::Sha512) => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
}

/// An OAUTHBEARER token from an application's
/// [`OAuthTokenProvider`]. `Debug` does not show the token.
#[derive(Clone)]
pub struct OAuthToken {
    value: String,
    principal: String,
    lifetime: Duration,
    extensions: Vec<(String, String)>,
}

impl fmt::Debug for OAuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthToken")
            .field("principal", &self.principal)
            .field("lifetime", &self.lifetime)
            .field("extensions", &self.extensions)
            .finish_non_exhaustive()
    }
}

impl OAuthToken {
    /// A token (the compact JWS the broker validates) for `principal`,
    /// valid for `lifetime` from now.
    pub fn new(value: impl Into<String>, principal: impl Into<String>, lifetime: Duration) -> Self {
        OAuthToken {
            value: value.into(),
            principal: principal.into(),
            lifetime,
            extensions: Vec::new(),
        }
    }

    /// Adds a SASL extension (KIP-342) sent with the token; names are
    /// letters only and not `auth` (checked when the token is used).
    pub fn extension(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extensions.push((key.into(), value.into()));
        self
    }

    /// How long the token is valid from when it was obtained.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The principal the token names.
    pub fn principal(&self) -> &str {
        &self.principal
    }
}

/// Whether a token obtained `at` is still used at `now`: under 80% of its
/// lifetime, so that a new one is fetched well before it expires.
pub(crate) fn still_fresh(t: &OAuthToken, at: SystemTime, now: SystemTime) -> bool {
    now.duration_since(at).unwrap_or_default() < t.lifetime.mul_f64(0.8)
}

/// Where OAUTHBEARER tokens come from: set with
/// `ClientConfig::set_oauthbearer_token_provider`. Any
/// `Fn() -> Result<OAuthToken>` closure is one; an async source is set with
/// `ClientConfig::set_oauthbearer_token_provider_async`.
pub trait OAuthTokenProvider: Send + Sync + 'static {
    /// A fresh token. An error fails the authentication with its message.
    fn token(&self) -> Result<OAuthToken>;
}

impl<F> OAuthTokenProvider for F
where
    F: Fn() -> Result<OAuthToken> + Send + Sync + 'static,
{
    fn token(&self) -> Result<OAuthToken> {
        self()
    }
}

/// The future an async token source returns.
pub(crate) type TokenFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<OAuthToken>> + Send>>;

/// An application's source of OAUTHBEARER tokens, as the configuration
/// holds it: a closure called in place, or an async function awaited on
/// the connection's task (for a source that does I/O).
#[derive(Clone)]
pub(crate) enum TokenSource {
    Call(std::sync::Arc<dyn OAuthTokenProvider>),
    Await(std::sync::Arc<dyn Fn() -> TokenFuture + Send + Sync>),
}

/// An application's source with the token it last gave and when. The lock
/// is held while a new token is awaited: a client's connections share one
/// request.
#[derive(Clone)]
struct ProvidedTokens {
    source: TokenSource,
    cached: std::sync::Arc<tokio::sync::Mutex<Option<(OAuthToken, SystemTime)>>>,
}

impl ProvidedTokens {
    /// The cached token while under 80% of its lifetime, else a new one.
    async fn current(&self, now: SystemTime) -> Result<OAuthToken> {
        let mut cached = self.cached.lock().await;
        if let Some((t, at)) = &*cached {
            if still_fresh(t, *at, now) {
                return Ok(t.clone());
            }
        }
        let got = match &self.source {
            TokenSource::Call(p) => p.token(),
            TokenSource::Await(f) => f().await,
        };
        let t = got.map_err(|e| {
            Error::new(
                ErrorCode::Authentication,
                format!("the OAUTHBEARER token provider failed: {}", e.message()),
            )
        })?;
        for (k, v) in &t.extensions {
            check_extension(k, v)
                .map_err(|e| Error::new(ErrorCode::Authentication, e.message().to_string()))?;
        }
        *cached = Some((t.clone(), now));
        Ok(t)
    }
}

/// The built-in unsecured JWT's settings (`sasl.oauthbearer.config`).
#[derive(Clone)]
#[cfg_attr(test, derive(Debug))]
struct UnsecuredJwt {
    principal_claim: String,
    principal: String,
    scope_claim: String,
    scope: Vec<String>,
    life: Duration,
    extensions: Vec<(String, String)>,
}

/// The SASL side of a client's connection settings, built once from the
/// configuration. `Debug` shows the mechanism and user, never the password
/// or token settings.
#[derive(Clone)]
pub struct SaslSettings {
    mechanism: Mechanism,
    username: String,
    password: String,
    jwt: Option<UnsecuredJwt>,
    provider: Option<ProvidedTokens>,
    oidc: Option<super::oidc::Oidc>,
}

impl fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SaslSettings");
        d.field("mechanism", &self.mechanism.name())
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("oidc", &self.oidc);
        // The settings tests compare whole configurations.
        #[cfg(test)]
        d.field("jwt", &self.jwt);
        d.finish_non_exhaustive()
    }
}

fn config_error(name: &str, message: impl fmt::Display) -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        format!("configuration property \"{name}\": {message}"),
    )
}

impl SaslSettings {
    /// The SASL settings of a validated configuration; `None` when the
    /// security protocol does not use SASL.
    pub fn from_config(c: &Config) -> Result<Option<Self>> {
        let protocol = c.get_str("security.protocol");
        if protocol != "sasl_plaintext" && protocol != "sasl_ssl" {
            return Ok(None);
        }
        let mechanism = match c.get_str("sasl.mechanisms") {
            "PLAIN" => Mechanism::Plain,
            "SCRAM-SHA-256" => Mechanism::Scram(ScramHash::Sha256),
            "SCRAM-SHA-512" => Mechanism::Scram(ScramHash::Sha512),
            "OAUTHBEARER" => Mechanism::OAuthBearer,
            other => {
                return Err(Error::new(
                    ErrorCode::NotImplemented,
                    format!("configuration property \"sasl.mechanisms\" = \"{other}\" is not implemented in this build"),
                ))
            }
        };
        let username = c.get_str("sasl.username").to_string();
        let password = c.get_str("sasl.password").to_string();
        let mut jwt = None;
        let mut provider = None;
        let mut oidc = None;
        let method_oidc = c.get_str("sasl.oauthbearer.method") == "oidc";
        if !method_oidc || mechanism != Mechanism::OAuthBearer {
            // Read only by the OIDC method: set otherwise, ignored.
            if let Some(name) = super::oidc::OIDC_ONLY
                .iter()
                .find(|n| c.get_opt_str(n).is_some())
            {
                return Err(config_error(
                    name,
                    "is set, but only sasl.mechanisms=OAUTHBEARER with \
                     sasl.oauthbearer.method=oidc uses it",
                ));
            }
        }
        match mechanism {
            Mechanism::Plain | Mechanism::Scram(_) => {
                if username.is_empty() {
                    return Err(config_error(
                        "sasl.username",
                        format!("{} needs a user name", mechanism.name()),
                    ));
                }
            }
            Mechanism::OAuthBearer if method_oidc => {
                if c.get_bool("enable.sasl.oauthbearer.unsecure.jwt") {
                    return Err(config_error(
                        "enable.sasl.oauthbearer.unsecure.jwt",
                        "true, and sasl.oauthbearer.method=oidc: choose one",
                    ));
                }
                if c.oauth_provider().is_some() {
                    return Err(config_error(
                        "sasl.oauthbearer.method",
                        "oidc, and a token provider is set: choose one",
                    ));
                }
                oidc = Some(super::oidc::Oidc::from_config(c)?);
            }
            Mechanism::OAuthBearer => {
                let unsecured = c.get_bool("enable.sasl.oauthbearer.unsecure.jwt");
                match (c.oauth_provider(), unsecured) {
                    (Some(_), true) => {
                        return Err(config_error(
                            "enable.sasl.oauthbearer.unsecure.jwt",
                            "true, and a token provider is set: choose one",
                        ))
                    }
                    (Some(p), false) => {
                        provider = Some(ProvidedTokens {
                            source: p.clone(),
                            cached: Default::default(),
                        })
                    }
                    (None, true) => {
                        jwt = Some(parse_unsecured(c.get_str("sasl.oauthbearer.config"))?)
                    }
                    (None, false) => {
                        return Err(Error::new(
                            ErrorCode::NotImplemented,
                            "sasl.mechanisms=OAUTHBEARER needs a token source: \
                             ClientConfig::set_oauthbearer_token_provider, or the unsecured JWT \
                             (enable.sasl.oauthbearer.unsecure.jwt=true with \
                             sasl.oauthbearer.config), or an OIDC token endpoint \
                             (sasl.oauthbearer.method=oidc)",
                        ))
                    }
                }
            }
        }
        Ok(Some(SaslSettings {
            mechanism,
            username,
            password,
            jwt,
            provider,
            oidc,
        }))
    }

    /// The mechanism's name as SaslHandshake sends it.
    pub(crate) fn mechanism_name(&self) -> &'static str {
        self.mechanism.name()
    }

    /// Starts one exchange: the state and the client's first message,
    /// asking the OIDC endpoint or the application's provider for a token
    /// first when the cached one is due.
    pub(crate) async fn begin(&self, now: SystemTime) -> Result<(Session, Vec<u8>)> {
        let t = match (&self.oidc, &self.provider) {
            (Some(oidc), _) => oidc.token(now).await?,
            (None, Some(p)) => p.current(now).await?,
            (None, None) => return self.start(now),
        };
        Ok((
            Session::OAuth { failed: None },
            oauth_initial(&t.value, &t.extensions),
        ))
    }

    /// Starts one exchange with a mechanism whose first message needs no
    /// token source (PLAIN, SCRAM, the unsecured JWT).
    pub(crate) fn start(&self, now: SystemTime) -> Result<(Session, Vec<u8>)> {
        Ok(match self.mechanism {
            Mechanism::Plain => {
                // authzid NUL authcid NUL passwd (RFC 4616), empty authzid.
                let mut m = Vec::with_capacity(self.username.len() + self.password.len() + 2);
                m.push(0);
                m.extend_from_slice(self.username.as_bytes());
                m.push(0);
                m.extend_from_slice(self.password.as_bytes());
                (Session::Plain, m)
            }
            Mechanism::Scram(h) => {
                let s = Scram::new(h, &self.username, &self.password, &Scram::random_nonce());
                let first = s.client_first();
                (Session::ScramFirst(Box::new(s)), first)
            }
            Mechanism::OAuthBearer => {
                let message = match &self.jwt {
                    Some(jwt) => oauth_initial(&unsecured_token(jwt, now), &jwt.extensions),
                    None => {
                        return Err(Error::new(
                            ErrorCode::Authentication,
                            "OAUTHBEARER: no unsecured JWT (provided and OIDC tokens come \
                             through begin)",
                        ))
                    }
                };
                (Session::OAuth { failed: None }, message)
            }
        })
    }
}

/// `sasl.oauthbearer.config` of the unsecured JWT: space-separated
/// `principalClaimName=`, `principal=`, `scopeClaimName=`, `scope=`
/// (comma-separated), `lifeSeconds=` and `extension_NAME=value`.
fn parse_unsecured(text: &str) -> Result<UnsecuredJwt> {
    const NAME: &str = "sasl.oauthbearer.config";
    let mut j = UnsecuredJwt {
        principal_claim: "sub".into(),
        principal: String::new(),
        scope_claim: "scope".into(),
        scope: Vec::new(),
        life: Duration::from_secs(3600),
        extensions: Vec::new(),
    };
    for item in text.split_whitespace() {
        let Some((k, v)) = item.split_once('=') else {
            return Err(config_error(NAME, format!("{item:?} is not key=value")));
        };
        match k {
            "principalClaimName" => j.principal_claim = v.to_string(),
            "principal" => j.principal = v.to_string(),
            "scopeClaimName" => j.scope_claim = v.to_string(),
            "scope" => {
                j.scope = v
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "lifeSeconds" => {
                let s: u64 = v.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    config_error(NAME, format!("lifeSeconds={v:?} is not a positive integer"))
                })?;
                j.life = Duration::from_secs(s);
            }
            _ => match k.strip_prefix("extension_") {
                Some(ext) => {
                    check_extension(ext, v)?;
                    j.extensions.push((ext.to_string(), v.to_string()));
                }
                None => {
                    return Err(config_error(
                        NAME,
                        format!(
                            "unknown key {k:?} (known: principalClaimName, principal, \
                             scopeClaimName, scope, lifeSeconds, extension_NAME)"
                        ),
                    ))
                }
            },
        }
    }
    if j.principal.is_empty() {
        return Err(config_error(NAME, "the unsecured JWT needs principal=NAME"));
    }
    Ok(j)
}

/// RFC 7628 key and value rules (KIP-342): keys are letters, `auth` is
/// reserved; values are printable ASCII, space, tab, CR and LF.
pub(crate) fn check_extension(key: &str, value: &str) -> Result<()> {
    const NAME: &str = "sasl.oauthbearer.config";
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) || key == "auth" {
        return Err(config_error(
            NAME,
            format!("extension name {key:?} must be letters only and not \"auth\""),
        ));
    }
    if !value
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) || matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
    {
        return Err(config_error(
            NAME,
            format!("extension {key:?} has a character RFC 7628 does not allow"),
        ));
    }
    Ok(())
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// An unsecured JWT (`alg: none`, RFC 7515 section A.5) as Kafka's
/// unsecured validator takes it.
fn unsecured_token(j: &UnsecuredJwt, now: SystemTime) -> String {
    let iat = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let exp = iat + j.life;
    let header = B64URL.encode(br#"{"alg":"none"}"#);
    let scope = if j.scope.is_empty() {
        String::new()
    } else {
        let items: Vec<String> = j.scope.iter().map(|s| json_string(s)).collect();
        format!(",{}:[{}]", json_string(&j.scope_claim), items.join(","))
    };
    let payload = format!(
        "{{{}:{},\"iat\":{:.3},\"exp\":{:.3}{scope}}}",
        json_string(&j.principal_claim),
        json_string(&j.principal),
        iat.as_secs_f64(),
        exp.as_secs_f64(),
    );
    format!("{header}.{}.", B64URL.encode(payload))
}

/// The OAUTHBEARER initial client response (RFC 7628 section 3.1).
fn oauth_initial(token: &str, extensions: &[(String, String)]) -> Vec<u8> {
    let mut m = format!("n,,\x01auth=Bearer {token}");
    for (k, v) in extensions {
        m.push('\x01');
        m.push_str(k);
        m.push('=');
        m.push_str(v);
    }
    m.push_str("\x01\x01");
    m.into_bytes()
}

/// Where one exchange is.
#[derive(Debug)]
pub(crate) enum Session {
    /// PLAIN's single message is sent; the answer ends it.
    Plain,
    /// SCRAM: client-first sent, waiting for server-first.
    ScramFirst(Box<Scram>),
    /// SCRAM: client-final sent, waiting for server-final.
    ScramFinal(Box<Scram>),
    /// OAUTHBEARER: the token is sent; a non-empty answer is the server's
    /// error, kept to explain the failure that follows.
    OAuth { failed: Option<String> },
    /// The exchange is over.
    Done,
}

/// What to do after a server message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send this to the server and wait for its answer.
    Send(Vec<u8>),
    /// Authenticated.
    Done,
}

impl Session {
    /// Takes the server's message.
    pub(crate) fn on_server(&mut self, message: &[u8]) -> Result<Step> {
        match std::mem::replace(self, Session::Done) {
            Session::Plain => Ok(Step::Done),
            Session::ScramFirst(mut s) => {
                let fin = s.client_final(message)?;
                *self = Session::ScramFinal(s);
                Ok(Step::Send(fin))
            }
            Session::ScramFinal(s) => {
                s.verify_server_final(message)?;
                Ok(Step::Done)
            }
            Session::OAuth { failed: None } if message.is_empty() => Ok(Step::Done),
            Session::OAuth { failed: None } => {
                // RFC 7628 3.2.2: acknowledge the error with a lone kvsep;
                // the server then fails the exchange.
                *self = Session::OAuth {
                    failed: Some(String::from_utf8_lossy(message).into_owned()),
                };
                Ok(Step::Send(b"\x01".to_vec()))
            }
            Session::OAuth { failed: Some(why) } => Err(Error::new(
                ErrorCode::Authentication,
                format!("OAUTHBEARER token refused: {why}"),
            )),
            Session::Done => Err(Error::new(
                ErrorCode::Authentication,
                "SASL: the server sent a message after the exchange ended",
            )),
        }
    }

    /// The server's OAUTHBEARER error, if it sent one.
    pub(crate) fn server_error(&self) -> Option<&str> {
        match self {
            Session::OAuth { failed: Some(w) } => Some(w),
            _ => None,
        }
    }
}

fn encode<T: Encodable>(m: &T, version: i16, what: &str) -> Result<Bytes> {
    let mut buf = BytesMut::new();
    m.encode(&mut buf, version).map_err(|e| {
        Error::new(
            ErrorCode::InvalidArg,
            format!("cannot encode {what} v{version}: {e}"),
        )
    })?;
    Ok(buf.freeze())
}

/// The SaslHandshake request body for `mechanism`.
pub(crate) fn handshake_request(mechanism: &str, version: i16) -> Result<Bytes> {
    let req =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_string(mechanism.into()));
    encode(&req, version, "SaslHandshake")
}

/// Checks the SaslHandshake answer: the broker must accept `mechanism`.
pub(crate) fn handshake_response(
    body: Bytes,
    version: i16,
    mechanism: &str,
    peer: &str,
) -> Result<()> {
    let r: SaslHandshakeResponse = decode_as(ApiKey::SaslHandshake, version, body, peer)?;
    if r.error_code == 0 {
        return Ok(());
    }
    let offered: Vec<&str> = r.mechanisms.iter().map(|m| m.as_str()).collect();
    Err(Error::new(
        ErrorCode::Authentication,
        format!(
            "the broker does not accept SASL mechanism {mechanism} ({}); it offers: {}",
            ErrorCode::from_kafka(r.error_code).name(),
            if offered.is_empty() {
                "none".to_string()
            } else {
                offered.join(", ")
            }
        ),
    ))
}

/// The SaslAuthenticate request body carrying `token`.
pub(crate) fn authenticate_request(token: Vec<u8>, version: i16) -> Result<Bytes> {
    let req = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token));
    encode(&req, version, "SaslAuthenticate")
}

/// The server's token from a SaslAuthenticate answer and the session
/// lifetime it states (v1+, KIP-368; zero: none); a broker error is an
/// `_AUTHENTICATION` error carrying the broker's message.
pub(crate) fn authenticate_response(
    body: Bytes,
    version: i16,
    session: &Session,
    peer: &str,
) -> Result<(Bytes, i64)> {
    let r: SaslAuthenticateResponse = decode_as(ApiKey::SaslAuthenticate, version, body, peer)?;
    if r.error_code != 0 {
        let msg = r.error_message.as_ref().map(|m| m.as_str()).unwrap_or("");
        let extra = session
            .server_error()
            .map(|s| format!(" (server said: {s})"))
            .unwrap_or_default();
        return Err(Error::new(
            ErrorCode::Authentication,
            format!(
                "SASL authentication failed ({}): {msg}{extra}",
                ErrorCode::from_kafka(r.error_code).name()
            ),
        ));
    }
    Ok((r.auth_bytes, r.session_lifetime_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(props: &[(&str, &str)]) -> Result<Option<SaslSettings>> {
        let mut cfg = crate::ClientConfig::new().set("bootstrap.servers", "h:1");
        for (k, v) in props {
            cfg = cfg.set(*k, *v);
        }
        SaslSettings::from_config(&cfg.validate(crate::config::ClientRole::Admin)?)
    }

    #[test]
    fn plain_sends_user_and_password() {
        let s = settings(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "PLAIN"),
            ("sasl.username", "alice"),
            ("sasl.password", "s3cret"),
        ])
        .unwrap()
        .unwrap();
        let (mut sess, first) = s.start(SystemTime::now()).unwrap();
        assert_eq!(first, b"\0alice\0s3cret");
        assert_eq!(sess.on_server(b"").unwrap(), Step::Done);
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn unsecured_jwt_carries_principal_scope_and_extensions() {
        let s = settings(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            (
                "sasl.oauthbearer.config",
                "principal=bob scope=read,write lifeSeconds=60 extension_traceId=abc",
            ),
        ])
        .unwrap()
        .unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        let (mut sess, first) = s.start(now).unwrap();
        let text = String::from_utf8(first).unwrap();
        let rest = text.strip_prefix("n,,\x01auth=Bearer ").unwrap();
        let (token, tail) = rest.split_once('\x01').unwrap();
        assert_eq!(tail, "traceId=abc\x01\x01");
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["sub"], "bob");
        assert_eq!(payload["exp"], 1060.0);
        assert_eq!(payload["scope"], serde_json::json!(["read", "write"]));
        // A server error is acknowledged, then reported.
        let step = sess.on_server(br#"{"status":"invalid_token"}"#).unwrap();
        assert_eq!(step, Step::Send(b"\x01".to_vec()));
        assert_eq!(sess.server_error(), Some(r#"{"status":"invalid_token"}"#));
    }

    #[tokio::test]
    async fn provided_tokens_are_kept_until_eighty_percent_of_their_lifetime() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::Arc;
        let calls = Arc::new(AtomicU32::new(0));
        let c2 = calls.clone();
        let cfg = crate::ClientConfig::new()
            .set("bootstrap.servers", "h:1")
            .set("security.protocol", "sasl_plaintext")
            .set("sasl.mechanisms", "OAUTHBEARER")
            .set_oauthbearer_token_provider(move || {
                let n = c2.fetch_add(1, Ordering::SeqCst);
                Ok(
                    OAuthToken::new(format!("tok{n}"), "p", Duration::from_secs(100))
                        .extension("k", "v"),
                )
            });
        let s = SaslSettings::from_config(&cfg.validate(crate::config::ClientRole::Admin).unwrap())
            .unwrap()
            .unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let first = |at| {
            let s = s.clone();
            async move { String::from_utf8(s.begin(at).await.unwrap().1).unwrap() }
        };
        assert_eq!(first(t0).await, "n,,\x01auth=Bearer tok0\x01k=v\x01\x01");
        assert_eq!(
            first(t0 + Duration::from_secs(79)).await,
            "n,,\x01auth=Bearer tok0\x01k=v\x01\x01"
        );
        assert_eq!(
            first(t0 + Duration::from_secs(81)).await,
            "n,,\x01auth=Bearer tok1\x01k=v\x01\x01"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(
            !format!("{:?}", OAuthToken::new("secret-token", "p", Duration::ZERO))
                .contains("secret")
        );
    }

    #[test]
    fn oauthbearer_without_a_token_source_is_refused() {
        let e = settings(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
        ])
        .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotImplemented);
        let e = settings(&[
            ("security.protocol", "sasl_plaintext"),
            ("sasl.mechanisms", "OAUTHBEARER"),
            ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
            ("sasl.oauthbearer.config", "principal=x extension_auth=y"),
        ])
        .unwrap_err();
        assert!(e.message().contains("auth"), "{e}");
    }
}
