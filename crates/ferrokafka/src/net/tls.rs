//! TLS for broker connections (`security.protocol=ssl` and `sasl_ssl`),
//! with rustls and its `ring` provider so the build needs nothing but cargo
//! and a C compiler.
//!
//! This module owns turning the `ssl.*` properties into one rustls client
//! configuration, built once per client: the roots that verify brokers
//! (`ssl.ca.location` as a file, a directory or `probe`, `ssl.ca.pem`, else
//! the system store), the client certificate for mutual TLS (PEM, or a
//! PKCS#12 keystore read with `p12-keystore`), the cipher
//! suites, key-exchange groups and signature algorithms offered (OpenSSL's
//! names mapped onto rustls's), revocation lists, and the two
//! verification switches (`enable.ssl.certificate.verification`,
//! `ssl.endpoint.identification.algorithm`). It also turns a failed
//! handshake into an error that names the reason (unknown issuer, name
//! mismatch, expired). Where the socket is wrapped is `connection`'s.
//!
//! Broker names: a host name is sent as SNI and checked against the
//! certificate's DNS names; an IP address gets no SNI and is checked
//! against the certificate's IP addresses.

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{ring as provider, CryptoProvider};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName, UnixTime,
};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;

/// The TLS side of a client's connection settings, built once from the
/// configuration. Holds no secret in a printable form: its `Debug` shows
/// only the switches.
#[derive(Clone)]
pub struct TlsSettings {
    config: Arc<rustls::ClientConfig>,
    verify: bool,
    check_name: bool,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TlsSettings");
        d.field("verify_certificate", &self.verify)
            .field("verify_host_name", &self.check_name);
        // The settings tests compare whole configurations (no secret is
        // in rustls's debug form: keys show as their algorithm).
        #[cfg(test)]
        d.field("rustls", &self.config);
        d.finish_non_exhaustive()
    }
}

/// A TLS stream over TCP, as the connection task uses it.
pub(crate) type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

fn config_error(name: &str, message: impl fmt::Display) -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        format!("configuration property \"{name}\": {message}"),
    )
}

impl TlsSettings {
    /// The TLS settings of a validated configuration; `None` when the
    /// security protocol does not use TLS. Files named by the
    /// configuration are read here, so a missing or unreadable file fails
    /// the client's construction, naming the property.
    pub fn from_config(c: &Config) -> Result<Option<Self>> {
        let protocol = c.get_str("security.protocol");
        if protocol != "ssl" && protocol != "sasl_ssl" {
            return Ok(None);
        }
        let mut prov = provider::default_provider();
        if let Some(list) = c.get_opt_str("ssl.cipher.suites") {
            prov.cipher_suites = cipher_suites(list)?;
        }
        if let Some(list) = c.get_opt_str("ssl.curves.list") {
            prov.kx_groups = kx_groups(list)?;
        }
        let sigalgs = c
            .get_opt_str("ssl.sigalgs.list")
            .map(sig_schemes)
            .transpose()?;
        let prov = Arc::new(prov);
        let verify = c.get_bool("enable.ssl.certificate.verification");
        let check_name = c.get_str("ssl.endpoint.identification.algorithm") == "https";
        let webpki = if verify {
            let roots = Arc::new(roots(c, "ssl.ca.location", "ssl.ca.pem")?);
            let mut b = WebPkiServerVerifier::builder_with_provider(roots, prov.clone());
            if let Some(path) = c.get_opt_str("ssl.crl.location") {
                let crls: Vec<CertificateRevocationListDer<'static>> =
                    CertificateRevocationListDer::pem_file_iter(path)
                        .and_then(|i| i.collect())
                        .map_err(|e| config_error("ssl.crl.location", format!("{path}: {e}")))?;
                if crls.is_empty() {
                    return Err(config_error(
                        "ssl.crl.location",
                        format!("{path} holds no PEM revocation list"),
                    ));
                }
                // As OpenSSL's CRL check that librdkafka enables: the
                // broker's own certificate must be covered by a list.
                b = b.with_crls(crls).only_check_end_entity_revocation();
            }
            Some(b.build().map_err(|e| {
                config_error("ssl.ca.location", format!("cannot build a verifier: {e}"))
            })?)
        } else {
            None
        };
        let verifier = Arc::new(Verifier {
            webpki,
            check_name,
            provider: prov.clone(),
            schemes: sigalgs.clone(),
        });
        let builder = rustls::ClientConfig::builder_with_provider(prov.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| {
                config_error(
                    "ssl.cipher.suites",
                    format!("no usable TLS 1.2 or 1.3 configuration: {e}"),
                )
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match (client_identity(c)?, sigalgs) {
            (Some((chain, key)), None) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| config_error("ssl.key.location", format!("{e}")))?,
            (Some((chain, key)), Some(schemes)) => {
                // The client's handshake signature, too, uses only the
                // listed schemes (as OpenSSL's sigalgs list does).
                let signer = prov
                    .key_provider
                    .load_private_key(key)
                    .map_err(|e| config_error("ssl.key.location", format!("{e}")))?;
                let key = rustls::sign::CertifiedKey::new(
                    chain,
                    Arc::new(FilteredKey {
                        inner: signer,
                        schemes,
                    }),
                );
                key.keys_match()
                    .map_err(|e| config_error("ssl.key.location", format!("{e}")))?;
                builder.with_client_cert_resolver(Arc::new(FixedClientCert(Arc::new(key))))
            }
            (None, _) => builder.with_no_client_auth(),
        };
        Ok(Some(TlsSettings {
            config: Arc::new(config),
            verify,
            check_name,
        }))
    }

    /// Runs the TLS handshake with broker `host` over `tcp`. A failure is
    /// an `_SSL` error that says why the broker was not trusted.
    pub(crate) async fn connect(&self, host: &str, tcp: TcpStream) -> Result<TlsStream> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            Error::new(
                ErrorCode::Ssl,
                format!("{host:?} is neither a valid DNS name nor an IP address for TLS"),
            )
        })?;
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| handshake_error(host, &e))
    }
}

/// An I/O error after the handshake that TLS raised (with TLS 1.3 a
/// refused client certificate is only reported then), as an `_SSL` error.
pub(crate) fn tls_io_error(host: &str, e: &std::io::Error) -> Option<Error> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .map(|_| handshake_error(host, e))
}

/// Explains a failed handshake, naming the certificate problem when there
/// is one.
fn handshake_error(host: &str, e: &std::io::Error) -> Error {
    let tls = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let why = match tls {
        Some(rustls::Error::InvalidCertificate(ce)) => {
            format!("certificate verify failed: {}", certificate_reason(ce))
        }
        Some(rustls::Error::AlertReceived(a @ rustls::AlertDescription::HandshakeFailure)) => {
            format!(
                "the broker refused the handshake with alert {a:?}: no cipher suite, group \
                 or signature algorithm in common (see ssl.cipher.suites, ssl.curves.list, \
                 ssl.sigalgs.list), or it requires a client certificate"
            )
        }
        Some(rustls::Error::AlertReceived(a)) => format!(
            "the broker refused the handshake with alert {a:?} (for a client certificate \
             it requires: set ssl.certificate.location and ssl.key.location, or \
             ssl.keystore.location)"
        ),
        Some(rustls::Error::InvalidMessage(m)) => {
            format!("the broker did not answer with TLS ({m:?}): is this a plaintext listener?")
        }
        Some(other) => other.to_string(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the broker closed the connection during the TLS handshake \
             (a plaintext listener, or it rejected this client)"
                .to_string()
        }
        None => e.to_string(),
    };
    Error::new(
        ErrorCode::Ssl,
        format!("TLS handshake with {host} failed: {why}"),
    )
}

fn certificate_reason(e: &CertificateError) -> String {
    match e {
        CertificateError::UnknownIssuer => {
            "unknown issuer: the broker's certificate is not signed \
            by a CA in ssl.ca.location / ssl.ca.pem (or the system store)"
                .to_string()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            format!(
                "host name mismatch: {e} (ssl.endpoint.identification.algorithm=none skips \
                 this check)"
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            format!("certificate expired: {e}")
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            format!("certificate not yet valid: {e}")
        }
        CertificateError::Revoked => "certificate revoked (ssl.crl.location)".to_string(),
        CertificateError::BadSignature => "bad signature: the certificate names a trusted CA \
            as its issuer but that CA did not sign it (unknown issuer)"
            .to_string(),
        other => other.to_string(),
    }
}

/// Checks the broker's certificate as configured: the whole chain and the
/// name, the chain only (`ssl.endpoint.identification.algorithm=none`), or
/// nothing (`enable.ssl.certificate.verification=false`). Handshake
/// signatures are always checked, so the peer still proves it holds the
/// key of the certificate it sent.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
    /// `ssl.sigalgs.list`: the only schemes offered and accepted.
    schemes: Option<Vec<SignatureScheme>>,
}

impl Verifier {
    fn scheme_allowed(&self, s: SignatureScheme) -> std::result::Result<(), rustls::Error> {
        match &self.schemes {
            Some(list) if !list.contains(&s) => Err(rustls::Error::PeerMisbehaved(
                rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
            )),
            _ => Ok(()),
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.scheme_allowed(dss.scheme)?;
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.scheme_allowed(dss.scheme)?;
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        let all = self
            .provider
            .signature_verification_algorithms
            .supported_schemes();
        match &self.schemes {
            Some(list) => list.iter().filter(|s| all.contains(s)).copied().collect(),
            None => all,
        }
    }
}

/// The client's key, signing only with the `ssl.sigalgs.list` schemes.
#[derive(Debug)]
struct FilteredKey {
    inner: Arc<dyn rustls::sign::SigningKey>,
    schemes: Vec<SignatureScheme>,
}

impl rustls::sign::SigningKey for FilteredKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        let both: Vec<SignatureScheme> = offered
            .iter()
            .filter(|s| self.schemes.contains(s))
            .copied()
            .collect();
        self.inner.choose_scheme(&both)
    }

    fn public_key(&self) -> Option<rustls_pki_types::SubjectPublicKeyInfoDer<'_>> {
        self.inner.public_key()
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        self.inner.algorithm()
    }
}

/// The one client certificate, whatever the server asks.
#[derive(Debug)]
struct FixedClientCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for FixedClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The TLS configuration for HTTPS endpoints (the OIDC token endpoint):
/// roots from `https.ca.location` / `https.ca.pem`, else the system store;
/// the chain and the host name are always verified; no client certificate.
pub(crate) fn https_client_config(c: &Config) -> Result<Arc<rustls::ClientConfig>> {
    let prov = Arc::new(provider::default_provider());
    let roots = roots(c, "https.ca.location", "https.ca.pem")?;
    let config = rustls::ClientConfig::builder_with_provider(prov)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| config_error("https.ca.location", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The roots named by a `*.ca.location` property (a PEM file, a directory
/// of them, or `probe` for the system store) and its `*.ca.pem`; the
/// system store when neither is set.
fn roots(c: &Config, location_name: &str, pem_name: &str) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    let location = c.get_opt_str(location_name);
    let pem = c.get_opt_str(pem_name);
    fn add(
        store: &mut RootCertStore,
        name: &str,
        certs: Vec<CertificateDer<'static>>,
        from: &str,
    ) -> Result<()> {
        if certs.is_empty() {
            return Err(config_error(
                name,
                format!("{from} holds no PEM certificate"),
            ));
        }
        for cert in certs {
            store
                .add(cert)
                .map_err(|e| config_error(name, format!("{from}: {e}")))?;
        }
        Ok(())
    }
    if location == Some("probe") || (location.is_none() && pem.is_none()) {
        let found = rustls_native_certs::load_native_certs();
        let n = found.certs.len();
        let (added, _) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            return Err(config_error(
                location_name,
                format!(
                    "no CA certificate found in the system store ({n} read, errors: {:?}); \
                     set {location_name} to a PEM file or directory, or {pem_name}",
                    found
                        .errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                ),
            ));
        }
    }
    if let Some(path) = location.filter(|l| *l != "probe") {
        let p = Path::new(path);
        let certs = if p.is_dir() {
            let mut certs = Vec::new();
            let entries = std::fs::read_dir(p)
                .map_err(|e| config_error(location_name, format!("{path}: {e}")))?;
            for entry in entries.flatten() {
                let f = entry.path();
                // Files without certificates (an OpenSSL hash directory's
                // other files) are skipped.
                if f.is_file() {
                    if let Ok(i) = CertificateDer::pem_file_iter(&f) {
                        certs.extend(i.flatten());
                    }
                }
            }
            certs
        } else {
            CertificateDer::pem_file_iter(p)
                .and_then(|i| i.collect())
                .map_err(|e| config_error(location_name, format!("{path}: {e}")))?
        };
        add(&mut store, location_name, certs, path)?;
    }
    if let Some(pem) = pem {
        let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| config_error(pem_name, e))?;
        add(&mut store, pem_name, certs, "the value")?;
    }
    Ok(store)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The client certificate chain and key for mutual TLS, if configured:
/// PEM (`ssl.certificate.*` with `ssl.key.*`) or a PKCS#12 keystore
/// (`ssl.keystore.location`), not both.
fn client_identity(c: &Config) -> Result<Option<Identity>> {
    if let Some(path) = c.get_opt_str("ssl.keystore.location") {
        for other in [
            "ssl.certificate.location",
            "ssl.certificate.pem",
            "ssl.key.location",
            "ssl.key.pem",
            "ssl.key.password",
        ] {
            if c.get_opt_str(other).is_some() {
                return Err(config_error(
                    other,
                    "is set with ssl.keystore.location: give the client certificate one way",
                ));
            }
        }
        return keystore_identity(path, c.get_opt_str("ssl.keystore.password").unwrap_or(""))
            .map(Some);
    }
    if c.get_opt_str("ssl.keystore.password").is_some() {
        return Err(config_error(
            "ssl.keystore.password",
            "is set without ssl.keystore.location",
        ));
    }
    let chain: Option<Vec<CertificateDer<'static>>> = if let Some(path) =
        c.get_opt_str("ssl.certificate.location")
    {
        Some(
            CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect())
                .map_err(|e| config_error("ssl.certificate.location", format!("{path}: {e}")))?,
        )
    } else if let Some(pem) = c.get_opt_str("ssl.certificate.pem") {
        Some(
            CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| config_error("ssl.certificate.pem", e))?,
        )
    } else {
        None
    };
    // The key's own parse error could quote key material: report only
    // the kind of failure.
    let key = match (
        c.get_opt_str("ssl.key.location"),
        c.get_opt_str("ssl.key.pem"),
    ) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| config_error("ssl.key.location", format!("{path}: {e}")))?;
            Some(private_key(
                &text,
                c.get_opt_str("ssl.key.password"),
                "ssl.key.location",
                path,
            )?)
        }
        (None, Some(pem)) => Some(private_key(
            pem,
            c.get_opt_str("ssl.key.password"),
            "ssl.key.pem",
            "the value",
        )?),
        (None, None) => None,
    };
    match (chain, key) {
        (None, None) => Ok(None),
        (Some(chain), Some(key)) => {
            if chain.is_empty() {
                // Name the property the chain came from.
                let name = if c.get_opt_str("ssl.certificate.location").is_some() {
                    "ssl.certificate.location"
                } else {
                    "ssl.certificate.pem"
                };
                return Err(config_error(name, "holds no PEM certificate"));
            }
            Ok(Some((chain, key)))
        }
        (Some(_), None) => Err(config_error(
            "ssl.certificate.location",
            "a client certificate needs its key: set ssl.key.location or ssl.key.pem",
        )),
        (None, Some(_)) => Err(config_error(
            "ssl.key.location",
            "a client key needs its certificate: set ssl.certificate.location or \
             ssl.certificate.pem",
        )),
    }
}

/// The key and chain of the PKCS#12 keystore at `path`: its one private
/// key entry (PKCS#8) with the certificates stored for it, the client's
/// own first. The MAC is checked with `password`, so a wrong password is
/// told apart from a damaged file only as far as the format allows; errors
/// never quote the password or key material.
fn keystore_identity(path: &str, password: &str) -> Result<Identity> {
    const NAME: &str = "ssl.keystore.location";
    let data = std::fs::read(path).map_err(|e| config_error(NAME, format!("{path}: {e}")))?;
    let store = p12_keystore::KeyStore::from_pkcs12(&data, password).map_err(|e| {
        use p12_keystore::error::Error as P12;
        let why = match e {
            P12::MacError(_) => {
                "cannot open the keystore with ssl.keystore.password (wrong password)".to_string()
            }
            P12::UnsupportedEncryptionScheme | P12::UnsupportedMacAlgorithm => {
                format!("the keystore uses an unsupported scheme ({e})")
            }
            _ => "not a readable PKCS#12 keystore (or a wrong ssl.keystore.password)".to_string(),
        };
        config_error(NAME, format!("{path}: {why}"))
    })?;
    let Some((_, chain)) = store.private_key_chain() else {
        return Err(config_error(
            NAME,
            format!("{path}: the keystore holds no private key entry"),
        ));
    };
    if chain.chain().is_empty() {
        return Err(config_error(
            NAME,
            format!("{path}: the keystore's key entry has no certificate"),
        ));
    }
    let certs = chain
        .chain()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(chain.key().to_vec().into());
    Ok((certs, key))
}

/// The private key in PEM `text`: unencrypted PKCS#8, PKCS#1 or SEC1, or
/// an encrypted PKCS#8 key (PBES2, as `openssl pkcs8 -topk8` writes) with
/// `ssl.key.password`. Errors never quote the key.
fn private_key(
    text: &str,
    password: Option<&str>,
    name: &str,
    from: &str,
) -> Result<PrivateKeyDer<'static>> {
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        use pkcs8::der::Decode;
        let Some(password) = password else {
            return Err(config_error(
                name,
                format!("{from}: the key is encrypted; set ssl.key.password"),
            ));
        };
        let (_, doc) = pkcs8::der::Document::from_pem(text.trim())
            .map_err(|_| config_error(name, format!("{from}: malformed encrypted key PEM")))?;
        let info = pkcs8::EncryptedPrivateKeyInfo::from_der(doc.as_bytes())
            .map_err(|_| config_error(name, format!("{from}: malformed encrypted PKCS#8 key")))?;
        let plain = info.decrypt(password).map_err(|_| {
            config_error(
                name,
                format!(
                    "{from}: cannot decrypt the key with ssl.key.password (wrong password, \
                     or an encryption scheme other than PBES2 with PBKDF2/scrypt and AES)"
                ),
            )
        })?;
        return Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()));
    }
    if text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(config_error(
            name,
            format!(
                "{from}: legacy OpenSSL-encrypted PEM keys are not supported; convert the key \
                 to encrypted PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
            ),
        ));
    }
    PrivateKeyDer::from_pem_slice(text.as_bytes()).map_err(|e| {
        let why = match e {
            rustls_pki_types::pem::Error::NoItemsFound => {
                "no private key (PKCS#8, PKCS#1 or SEC1 PEM) found".to_string()
            }
            _ => "malformed PEM".to_string(),
        };
        config_error(name, format!("{from}: {why}"))
    })
}

/// Splits an OpenSSL-style list (`:`, `,` or space separated).
fn list_items(list: &str) -> impl Iterator<Item = &str> {
    list.split([':', ',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// OpenSSL's names of the suites rustls offers, beside rustls's own.
const OPENSSL_SUITE_NAMES: &[(&str, &str)] = &[
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// `ssl.cipher.suites` as rustls suites, in the order given. Names are
/// rustls's (IANA) names or OpenSSL's; OpenSSL's keywords and operators
/// (`HIGH`, `!aNULL`) have no rustls meaning and are refused.
fn cipher_suites(list: &str) -> Result<Vec<rustls::SupportedCipherSuite>> {
    let all = provider::ALL_CIPHER_SUITES;
    let mut out = Vec::new();
    for item in list_items(list) {
        let canonical = OPENSSL_SUITE_NAMES
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(item))
            .map_or(item, |(_, r)| *r);
        let Some(s) = all
            .iter()
            .find(|s| format!("{:?}", s.suite()).eq_ignore_ascii_case(canonical))
        else {
            let known: Vec<String> = all.iter().map(|s| format!("{:?}", s.suite())).collect();
            return Err(config_error(
                "ssl.cipher.suites",
                format!(
                    "{item:?} is not a cipher suite this build offers (rustls offers {}; \
                     OpenSSL names such as ECDHE-RSA-AES128-GCM-SHA256 are accepted, \
                     OpenSSL keywords such as HIGH are not)",
                    known.join(", ")
                ),
            ));
        };
        if !out.contains(s) {
            out.push(*s);
        }
    }
    if out.is_empty() {
        return Err(config_error("ssl.cipher.suites", "names no cipher suite"));
    }
    Ok(out)
}

/// `ssl.curves.list` as rustls key-exchange groups, in the order given.
fn kx_groups(list: &str) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>> {
    use provider::kx_group::{SECP256R1, SECP384R1, X25519};
    let mut out: Vec<&'static dyn rustls::crypto::SupportedKxGroup> = Vec::new();
    for item in list_items(list) {
        let g: &'static dyn rustls::crypto::SupportedKxGroup =
            match item.to_ascii_lowercase().as_str() {
                "x25519" => X25519,
                "p-256" | "prime256v1" | "secp256r1" => SECP256R1,
                "p-384" | "secp384r1" => SECP384R1,
                _ => {
                    return Err(config_error(
                        "ssl.curves.list",
                        format!(
                            "{item:?} is not a group this build offers (X25519, P-256 \
                         (prime256v1), P-384 (secp384r1))"
                        ),
                    ))
                }
            };
        if !out.iter().any(|x| x.name() == g.name()) {
            out.push(g);
        }
    }
    if out.is_empty() {
        return Err(config_error("ssl.curves.list", "names no group"));
    }
    Ok(out)
}

/// The signature schemes rustls (ring) verifies and signs with, by
/// OpenSSL's names: the TLS 1.3 style (`rsa_pss_rsae_sha256`) and the
/// `ALG+HASH` style (`RSA-PSS+SHA256`), beside rustls's own
/// (`RSA_PSS_SHA256`).
const SIGALG_NAMES: &[(&[&str], SignatureScheme)] = &[
    (
        &["rsa_pkcs1_sha256", "RSA+SHA256"],
        SignatureScheme::RSA_PKCS1_SHA256,
    ),
    (
        &["rsa_pkcs1_sha384", "RSA+SHA384"],
        SignatureScheme::RSA_PKCS1_SHA384,
    ),
    (
        &["rsa_pkcs1_sha512", "RSA+SHA512"],
        SignatureScheme::RSA_PKCS1_SHA512,
    ),
    (
        &["rsa_pss_rsae_sha256", "RSA-PSS+SHA256", "PSS+SHA256"],
        SignatureScheme::RSA_PSS_SHA256,
    ),
    (
        &["rsa_pss_rsae_sha384", "RSA-PSS+SHA384", "PSS+SHA384"],
        SignatureScheme::RSA_PSS_SHA384,
    ),
    (
        &["rsa_pss_rsae_sha512", "RSA-PSS+SHA512", "PSS+SHA512"],
        SignatureScheme::RSA_PSS_SHA512,
    ),
    (
        &["ecdsa_secp256r1_sha256", "ECDSA+SHA256"],
        SignatureScheme::ECDSA_NISTP256_SHA256,
    ),
    (
        &["ecdsa_secp384r1_sha384", "ECDSA+SHA384"],
        SignatureScheme::ECDSA_NISTP384_SHA384,
    ),
    (&["ed25519"], SignatureScheme::ED25519),
];

/// `ssl.sigalgs.list` as rustls signature schemes, in the order given.
/// Schemes rustls does not have (SHA-1, P-521, Ed448, RSA-PSS with PSS
/// keys) are refused by name.
fn sig_schemes(list: &str) -> Result<Vec<SignatureScheme>> {
    let mut out = Vec::new();
    for item in list_items(list) {
        let found = SIGALG_NAMES.iter().find(|(names, scheme)| {
            names.iter().any(|n| n.eq_ignore_ascii_case(item))
                || format!("{scheme:?}").eq_ignore_ascii_case(item)
        });
        let Some((_, scheme)) = found else {
            return Err(config_error(
                "ssl.sigalgs.list",
                format!(
                    "{item:?} is not a signature algorithm this build offers (RSA+SHA256/384/512, \
                     RSA-PSS+SHA256/384/512, ECDSA+SHA256, ECDSA+SHA384, ed25519, or their TLS 1.3 \
                     names such as rsa_pss_rsae_sha256 and ecdsa_secp256r1_sha256)"
                ),
            ));
        };
        if !out.contains(scheme) {
            out.push(*scheme);
        }
    }
    if out.is_empty() {
        return Err(config_error(
            "ssl.sigalgs.list",
            "names no signature algorithm",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigalgs_take_openssl_and_rustls_names() {
        let s =
            sig_schemes("RSA-PSS+SHA256:ecdsa_secp384r1_sha384:ED25519:RSA_PKCS1_SHA512").unwrap();
        assert_eq!(
            s,
            [
                SignatureScheme::RSA_PSS_SHA256,
                SignatureScheme::ECDSA_NISTP384_SHA384,
                SignatureScheme::ED25519,
                SignatureScheme::RSA_PKCS1_SHA512
            ]
        );
        for bad in [
            "RSA+SHA1",
            "ecdsa_secp521r1_sha512",
            "ed448",
            "rsa_pss_pss_sha256",
        ] {
            let e = sig_schemes(bad).unwrap_err();
            assert!(e.message().contains("ssl.sigalgs.list"), "{e}");
            assert!(e.message().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn cipher_suites_take_rustls_and_openssl_names() {
        let s = cipher_suites("ECDHE-RSA-AES128-GCM-SHA256:TLS13_AES_256_GCM_SHA384").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            format!("{:?}", s[0].suite()),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        let e = cipher_suites("HIGH:!aNULL").unwrap_err();
        assert!(e.message().contains("ssl.cipher.suites"), "{e}");
        assert!(e.message().contains("\"HIGH\""), "{e}");
    }

    #[test]
    fn curves_map_to_groups() {
        assert_eq!(kx_groups("prime256v1:X25519").unwrap().len(), 2);
        let e = kx_groups("brainpoolP256r1").unwrap_err();
        assert!(e.message().contains("ssl.curves.list"), "{e}");
    }
}
