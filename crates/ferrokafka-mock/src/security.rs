//! TLS listeners and SASL authentication of the mock brokers.
//!
//! This module owns the listener security fixed at build time (a TLS
//! server certificate, optionally a CA that client certificates must chain
//! to, the SASL users) and the server side of each SASL exchange: PLAIN,
//! SCRAM-SHA-256/512 (RFC 5802/7677, the server proves it knows the
//! password with its signature) and OAUTHBEARER with unsecured JWTs (RFC
//! 7628, KIP-342 extensions recorded). Where the bytes come from is
//! `server`'s business: it calls [`SaslServer::step`] for each token, in
//! SaslAuthenticate requests (KIP-152) or in bare frames after a v0
//! SaslHandshake.
//!
//! A fault ([`State::fail_next`]) makes the next authentications fail as
//! if the credentials were wrong.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine;
use hmac::{Hmac, Mac};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256, Sha512};

/// Mechanisms the mock offers when SASL is on.
pub(crate) const MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

/// SCRAM iteration count (the broker's default for new credentials).
const ITERATIONS: u32 = 4096;

/// Listener security, fixed when the cluster is built.
#[derive(Clone, Default)]
pub(crate) struct Listener {
    /// TLS server configuration; `None`: plaintext.
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    /// SASL users and their passwords; `None`: no SASL.
    pub(crate) users: Option<Arc<HashMap<String, String>>>,
    /// Lifetime of an authenticated session (the broker's
    /// `connections.max.reauth.ms`); a request after it closes the
    /// connection unless the client re-authenticated.
    pub(crate) session_lifetime: Option<std::time::Duration>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("tls", &self.tls.is_some())
            .field("sasl_users", &self.users.as_ref().map(|u| u.len()))
            .finish()
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// A rustls server configuration from PEM text; with `client_ca`, clients
/// must present a certificate that chains to it.
pub(crate) fn server_config(
    cert_chain_pem: &str,
    key_pem: &str,
    client_ca: Option<&str>,
) -> io::Result<Arc<rustls::ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(format!("mock TLS certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| invalid(format!("mock TLS key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| invalid(format!("mock TLS: {e}")))?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                let c = c.map_err(|e| invalid(format!("mock TLS client CA: {e}")))?;
                roots
                    .add(c)
                    .map_err(|e| invalid(format!("mock TLS client CA: {e}")))?;
            }
            let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| invalid(format!("mock TLS client CA: {e}")))?;
            builder.with_client_cert_verifier(v)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| invalid(format!("mock TLS: {e}")))?;
    Ok(Arc::new(config))
}

/// One successful authentication, as tests inspect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// The SASL mechanism used.
    pub mechanism: String,
    /// The authenticated principal (user name or token subject).
    pub principal: String,
    /// SASL extensions sent with an OAUTHBEARER token (KIP-342).
    pub extensions: Vec<(String, String)>,
}

/// One stored SCRAM credential (KIP-554): what the broker keeps instead
/// of the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ScramCredential {
    pub(crate) salt: Vec<u8>,
    pub(crate) iterations: u32,
    /// `Hi(password, salt, iterations)` of RFC 5802.
    pub(crate) salted: Vec<u8>,
}

impl fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

/// SCRAM credentials by (user, mechanism code: 1 SHA-256, 2 SHA-512).
pub(crate) type ScramStore = std::collections::BTreeMap<(String, i8), ScramCredential>;

/// Authentication state shared by all brokers: the fault counter, the
/// record of who authenticated and the SCRAM credentials (those of the
/// builder's users, and those AlterUserScramCredentials set).
#[derive(Debug, Default)]
pub(crate) struct State {
    fail_next: AtomicU32,
    log: Mutex<Vec<Authentication>>,
    expired: AtomicU32,
    failed: AtomicU32,
    server_names: Mutex<Vec<Option<String>>>,
    scram: Mutex<ScramStore>,
}

impl State {
    /// Gives every configured user a SCRAM credential for both mechanisms
    /// at the default iteration count, as `kafka-storage format
    /// --add-scram` would.
    pub(crate) fn seed_scram(&self, users: &HashMap<String, String>) {
        let mut store = self.scram();
        for (user, password) in users {
            for (code, hash) in [(1, Hash::Sha256), (2, Hash::Sha512)] {
                let salt: [u8; 16] = rand::random();
                store.insert(
                    (user.clone(), code),
                    ScramCredential {
                        salt: salt.to_vec(),
                        iterations: ITERATIONS,
                        salted: hash.salted(password.as_bytes(), &salt, ITERATIONS),
                    },
                );
            }
        }
    }

    /// The SCRAM credential store, locked.
    pub(crate) fn scram(&self) -> std::sync::MutexGuard<'_, ScramStore> {
        self.scram.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the next `n` authentications fail.
    pub(crate) fn fail_next(&self, n: u32) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    /// A connection was closed because its session expired.
    pub(crate) fn session_expired(&self) {
        self.expired.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn expired_sessions(&self) -> u32 {
        self.expired.load(Ordering::SeqCst)
    }

    /// A SASL exchange failed (wrong credentials, an injected failure, a
    /// malformed token).
    pub(crate) fn authentication_failed(&self) {
        self.failed.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn failed_authentications(&self) -> u32 {
        self.failed.load(Ordering::SeqCst)
    }

    /// A TLS handshake completed; `name` is the SNI host name the client
    /// sent, if any.
    pub(crate) fn tls_accepted(&self, name: Option<String>) {
        self.server_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name);
    }

    pub(crate) fn tls_server_names(&self) -> Vec<Option<String>> {
        self.server_names
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn take_failure(&self) -> bool {
        self.fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    pub(crate) fn log(&self) -> Vec<Authentication> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn record(&self, a: Authentication) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(a);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha256,
    Sha512,
}

impl Hash {
    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            Hash::Sha512 => {
                let mut m = Hmac::<Sha512>::new_from_slice(key).expect("any key");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }
    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
    fn salted(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Hash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            Hash::Sha512 => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
    /// The KIP-554 mechanism code.
    fn code(self) -> i8 {
        match self {
            Hash::Sha256 => 1,
            Hash::Sha512 => 2,
        }
    }
}

/// A failed authentication: the message the broker sends back.
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) String);

/// What the server answers to a token.
#[derive(Debug)]
pub(crate) enum Answer {
    /// Send this token; more client tokens follow.
    Continue(Vec<u8>),
    /// Authenticated; send this final token.
    Done(Vec<u8>),
}

#[derive(Debug)]
enum Stage {
    Start,
    ScramFinal {
        hash: Hash,
        user: String,
        client_first_bare: String,
        server_first: String,
        nonce: String,
        salted: Vec<u8>,
    },
    OAuthFailed(String),
}

/// The server side of one SASL exchange.
#[derive(Debug)]
pub(crate) struct SaslServer {
    mechanism: String,
    users: Arc<HashMap<String, String>>,
    stage: Stage,
    /// The principal once authenticated.
    authenticated: Option<String>,
}

fn bad_credentials(mechanism: &str) -> Failed {
    Failed(format!(
        "Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
    ))
}

impl SaslServer {
    /// An exchange for `mechanism`, or `None` when the mock does not offer it.
    pub(crate) fn new(mechanism: &str, users: Arc<HashMap<String, String>>) -> Option<Self> {
        MECHANISMS.contains(&mechanism).then(|| SaslServer {
            mechanism: mechanism.to_string(),
            users,
            stage: Stage::Start,
            authenticated: None,
        })
    }

    /// Takes the client's next token.
    pub(crate) fn step(&mut self, state: &State, token: &[u8]) -> Result<Answer, Failed> {
        match std::mem::replace(&mut self.stage, Stage::Start) {
            Stage::Start => match self.mechanism.as_str() {
                "PLAIN" => self.plain(state, token),
                "SCRAM-SHA-256" => self.scram_first(state, Hash::Sha256, token),
                "SCRAM-SHA-512" => self.scram_first(state, Hash::Sha512, token),
                _ => self.oauth(state, token),
            },
            Stage::ScramFinal {
                hash,
                user,
                client_first_bare,
                server_first,
                nonce,
                salted,
            } => {
                let text =
                    std::str::from_utf8(token).map_err(|_| bad_credentials(&self.mechanism))?;
                let (without_proof, proof) = text
                    .rsplit_once(",p=")
                    .ok_or_else(|| Failed("SCRAM client-final-message without proof".into()))?;
                if without_proof != format!("c=biws,r={nonce}") {
                    return Err(Failed("SCRAM: channel binding or nonce mismatch".into()));
                }
                let proof = B64
                    .decode(proof)
                    .map_err(|_| Failed("SCRAM proof is not base64".into()))?;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let client_key = hash.hmac(&salted, b"Client Key");
                let stored_key = hash.hash(&client_key);
                let signature = hash.hmac(&stored_key, auth_message.as_bytes());
                let recovered: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
                if proof.len() != signature.len()
                    || hash.hash(&recovered) != stored_key
                    || state.take_failure()
                {
                    return Err(bad_credentials(&self.mechanism));
                }
                let server_key = hash.hmac(&salted, b"Server Key");
                let server_signature = hash.hmac(&server_key, auth_message.as_bytes());
                self.record(
                    state,
                    Authentication {
                        mechanism: self.mechanism.clone(),
                        principal: user,
                        extensions: Vec::new(),
                    },
                );
                Ok(Answer::Done(
                    format!("v={}", B64.encode(server_signature)).into_bytes(),
                ))
            }
            Stage::OAuthFailed(why) => Err(Failed(why)),
        }
    }

    /// The authenticated principal (`User:name`), once the exchange is done.
    pub(crate) fn principal(&self) -> Option<String> {
        self.authenticated.as_ref().map(|n| format!("User:{n}"))
    }

    fn record(&mut self, state: &State, a: Authentication) {
        self.authenticated = Some(a.principal.clone());
        state.record(a);
    }

    fn plain(&mut self, state: &State, token: &[u8]) -> Result<Answer, Failed> {
        let mut parts = token.split(|b| *b == 0);
        let (Some(_authzid), Some(user), Some(pass), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Failed("malformed PLAIN message".into()));
        };
        let user = String::from_utf8_lossy(user).into_owned();
        let ok = self.users.get(&user).map(|p| p.as_bytes()) == Some(pass);
        if !ok || state.take_failure() {
            return Err(Failed(
                "Authentication failed: Invalid username or password".into(),
            ));
        }
        self.record(
            state,
            Authentication {
                mechanism: "PLAIN".into(),
                principal: user,
                extensions: Vec::new(),
            },
        );
        Ok(Answer::Done(Vec::new()))
    }

    fn scram_first(&mut self, state: &State, hash: Hash, token: &[u8]) -> Result<Answer, Failed> {
        let text = std::str::from_utf8(token).map_err(|_| bad_credentials(&self.mechanism))?;
        let bare = text
            .strip_prefix("n,,")
            .ok_or_else(|| Failed("SCRAM: only the GS2 header n,, is supported".into()))?;
        let mut user = None;
        let mut cnonce = None;
        for attr in bare.split(',') {
            match attr.split_once('=') {
                Some(("n", v)) => user = Some(v.replace("=2C", ",").replace("=3D", "=")),
                Some(("r", v)) => cnonce = Some(v.to_string()),
                _ => {}
            }
        }
        let (Some(user), Some(cnonce)) = (user, cnonce) else {
            return Err(Failed("SCRAM client-first-message lacks n or r".into()));
        };
        // A user without a credential for this mechanism gets a fake salt
        // so that the exchange runs on and fails at the proof, as Kafka
        // does.
        let stored = state.scram().get(&(user.clone(), hash.code())).cloned();
        let (salt, iterations, salted) = match stored {
            Some(c) => (c.salt, c.iterations, c.salted),
            None => (
                rand::random::<[u8; 16]>().to_vec(),
                ITERATIONS,
                rand::random::<[u8; 32]>().to_vec(),
            ),
        };
        let snonce: [u8; 18] = rand::random();
        let nonce = format!("{cnonce}{}", B64.encode(snonce));
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(&salt));
        self.stage = Stage::ScramFinal {
            hash,
            user,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
            nonce,
            salted,
        };
        Ok(Answer::Continue(server_first.into_bytes()))
    }

    fn oauth(&mut self, state: &State, token: &[u8]) -> Result<Answer, Failed> {
        let text = String::from_utf8_lossy(token);
        let rest = text
            .strip_prefix("n,")
            .and_then(|r| r.split_once(',').map(|(_, r)| r))
            .ok_or_else(|| Failed("malformed OAUTHBEARER message".into()))?;
        let mut bearer = None;
        let mut extensions = Vec::new();
        for kv in rest.split('\x01').filter(|s| !s.is_empty()) {
            match kv.split_once('=') {
                Some(("auth", v)) => bearer = v.strip_prefix("Bearer ").map(str::to_string),
                Some((k, v)) => extensions.push((k.to_string(), v.to_string())),
                None => return Err(Failed("malformed OAUTHBEARER key/value".into())),
            }
        }
        let refuse = |this: &mut Self, why: &str| {
            // RFC 7628 3.2.2: an error status first; the client's kvsep
            // then ends the exchange with the failure.
            this.stage = Stage::OAuthFailed(format!("invalid token: {why}"));
            Ok(Answer::Continue(
                format!("{{\"status\":\"invalid_token\",\"detail\":\"{why}\"}}").into_bytes(),
            ))
        };
        let Some(jwt) = bearer else {
            return refuse(self, "no bearer token");
        };
        let claims = jwt
            .split('.')
            .nth(1)
            .and_then(|p| B64URL.decode(p).ok())
            .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok());
        let Some(claims) = claims else {
            return refuse(self, "not a JWT");
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let Some(sub) = claims.get("sub").and_then(|s| s.as_str()) else {
            return refuse(self, "no sub claim");
        };
        if claims
            .get("exp")
            .and_then(|e| e.as_f64())
            .is_none_or(|e| e <= now)
        {
            return refuse(self, "expired or no exp claim");
        }
        if state.take_failure() {
            return refuse(self, "rejected by fault injection");
        }
        self.record(
            state,
            Authentication {
                mechanism: "OAUTHBEARER".into(),
                principal: sub.to_string(),
                extensions,
            },
        );
        Ok(Answer::Done(Vec::new()))
    }
}
