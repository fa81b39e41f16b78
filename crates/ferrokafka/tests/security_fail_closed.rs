//! Fail closed on security: a client told to use a security feature this
//! build does not have (GSSAPI, JWT-bearer assertions, cloud metadata
//! token sources, OpenSSL engines...) must refuse to start, naming the setting, and must
//! not open a single connection (anything sent without the protection or
//! credentials the application gave is the defect this guards against).
//! What is implemented (TLS, SASL PLAIN/SCRAM/OAUTHBEARER with unsecured
//! JWTs or OIDC) is accepted; `security_tls_sasl` proves it works.

use ferrokafka::consumer::Consumer;
use ferrokafka::producer::Producer;
use ferrokafka::{AdminClient, ClientConfig, Error, ErrorCode};
use std::net::TcpListener;
use std::time::Duration;

const SASL_PROTOCOLS: &[&str] = &["sasl_plaintext", "SASL_PLAINTEXT", "sasl_ssl", "SASL_SSL"];

/// Settings this build still cannot honour, with a value a user would
/// plausibly give (secrets among them).
const SETTINGS: &[(&str, &str)] = &[
    ("ssl.ca.certificate.stores", "CA"),
    (
        "sasl.oauthbearer.metadata.authentication.type",
        "azure_imds",
    ),
    ("ssl.engine.location", "/usr/lib/engine.so"),
    ("ssl.providers", "default"),
    ("sasl.kerberos.keytab", "/etc/krb5.keytab"),
    (
        "sasl.oauthbearer.assertion.private.key.passphrase",
        "s3cret-assertion",
    ),
    (
        "sasl.oauthbearer.grant.type",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ),
    // Aliases land on the same properties.
    ("ssl.truststore.location", "/etc/ssl/truststore.jks"),
];

/// Settings that are implemented now: accepted (with plaintext they are
/// not used, as in librdkafka; a warning says so).
const IMPLEMENTED: &[(&str, &str)] = &[
    ("ssl.ca.location", "/etc/ssl/ca.pem"),
    ("ssl.certificate.location", "/etc/ssl/client.pem"),
    ("ssl.key.location", "/etc/ssl/client.key"),
    ("ssl.key.password", "s3cret-key-pass"),
    ("ssl.keystore.location", "/etc/ssl/client.p12"),
    ("ssl.keystore.password", "s3cret-store-pass"),
    ("ssl.sigalgs.list", "RSA-PSS+SHA256"),
    ("ssl.cipher.suites", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("ssl.curves.list", "X25519:P-256"),
    ("ssl_password", "s3cret-key-pass"),
    ("ssl.endpoint.identification.algorithm", "none"),
    ("enable.ssl.certificate.verification", "false"),
    ("sasl.mechanisms", "SCRAM-SHA-512"),
    ("sasl.username", "alice"),
    ("sasl.password", "s3cret-password"),
    ("sasl.oauthbearer.config", "principal=admin"),
    ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
    ("sasl_plain_password", "s3cret-password"),
    ("ssl_cafile", "/etc/ssl/ca.pem"),
];

/// Builds each kind of client from `config`, returning each one's error.
fn construct_each(config: &ClientConfig) -> Vec<(&'static str, Error)> {
    let mut errors = Vec::new();
    match Producer::new(config) {
        Ok(_) => panic!("producer accepted {config:?}"),
        Err(e) => errors.push(("producer", e)),
    }
    let consumer_config = config.clone().set("group.id", "g");
    match Consumer::new(&consumer_config) {
        Ok(_) => panic!("consumer accepted {config:?}"),
        Err(e) => errors.push(("consumer", e)),
    }
    match AdminClient::new(config) {
        Ok(_) => panic!("admin client accepted {config:?}"),
        Err(e) => errors.push(("admin", e)),
    }
    errors
}

/// A listener that must never see a connection.
fn silent_listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

fn assert_no_connection(l: &TcpListener) {
    // Construction has returned; a client that went ahead anyway would
    // connect within milliseconds. Give it a generous window.
    std::thread::sleep(Duration::from_millis(300));
    match l.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, peer)) => panic!("a client connected from {peer} after refusing its settings"),
        Err(e) => panic!("accept: {e}"),
    }
}

#[test]
fn sasl_with_the_default_gssapi_mechanism_is_refused() {
    for &protocol in SASL_PROTOCOLS {
        let (listener, addr) = silent_listener();
        let config = ClientConfig::new()
            .set("bootstrap.servers", &addr)
            .set("security.protocol", protocol);
        for (client, e) in construct_each(&config) {
            assert_eq!(
                e.code(),
                ErrorCode::NotImplemented,
                "{client}, {protocol}: {e}"
            );
            assert!(e.message().contains("sasl.mechanisms"), "{client}: {e}");
            assert!(e.message().contains("GSSAPI"), "{client}: {e}");
        }
        assert_no_connection(&listener);
    }
}

#[test]
fn oauthbearer_without_a_token_source_or_an_oidc_endpoint_is_refused() {
    let (listener, addr) = silent_listener();
    let base = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("security.protocol", "sasl_ssl")
        .set("sasl.mechanisms", "OAUTHBEARER");
    for (client, e) in construct_each(&base) {
        assert_eq!(e.code(), ErrorCode::NotImplemented, "{client}: {e}");
        assert!(e.message().contains("oauthbearer"), "{client}: {e}");
    }
    // OIDC is implemented; without its endpoint it names what is missing.
    let oidc = base.set("sasl.oauthbearer.method", "oidc");
    for (client, e) in construct_each(&oidc) {
        assert_eq!(e.code(), ErrorCode::InvalidArg, "{client}: {e}");
        assert!(
            e.message().contains("sasl.oauthbearer.token.endpoint.url"),
            "{client}: {e}"
        );
    }
    assert_no_connection(&listener);
}

#[test]
fn implemented_security_settings_are_accepted() {
    for &(name, value) in IMPLEMENTED {
        // With a protocol that uses them: an unused one is refused as a
        // forgotten security.protocol (tested in config's unit tests).
        let config = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", "sasl_ssl")
            .set("sasl.mechanisms", "PLAIN")
            .set(name, value);
        for role in [
            ferrokafka::config::ClientRole::Producer,
            ferrokafka::config::ClientRole::Consumer,
            ferrokafka::config::ClientRole::Admin,
        ] {
            let c = config
                .validate(role)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!format!("{c:?}").contains("s3cret"), "{name}");
        }
    }
    for protocol in ["ssl", "SSL"] {
        let config = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", protocol)
            .set("enable.ssl.certificate.verification", "false");
        Producer::new(&config).unwrap();
        Consumer::new(&config.clone().set("group.id", "g")).unwrap();
        AdminClient::new(&config).unwrap();
    }
}

#[test]
fn every_client_refuses_tls_and_sasl_settings_it_cannot_honour() {
    for &(name, value) in SETTINGS {
        let (listener, addr) = silent_listener();
        let config = ClientConfig::new()
            .set("bootstrap.servers", &addr)
            .set(name, value);
        for (client, e) in construct_each(&config) {
            // An alias with no counterpart is refused as unknown
            // configuration; every other setting as not implemented.
            let expected = if ferrokafka::config::property(name).is_some()
                || ferrokafka::config::aliases().any(|a| a.name() == name && a.target().is_some())
            {
                ErrorCode::NotImplemented
            } else {
                ErrorCode::InvalidArg
            };
            assert_eq!(e.code(), expected, "{client}, {name}: {e}");
            assert!(e.message().contains(name), "{client}: {e}");
            assert!(
                !e.to_string().contains("s3cret"),
                "{client}: a secret reached the error: {e}"
            );
        }
        assert_no_connection(&listener);
    }
}

#[test]
fn plaintext_stays_accepted() {
    for protocol in ["plaintext", "PLAINTEXT"] {
        let config = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("security.protocol", protocol);
        ferrokafka::config::ClientConfig::validate(
            &config,
            ferrokafka::config::ClientRole::Producer,
        )
        .unwrap();
        ferrokafka::config::ClientConfig::validate(
            &config,
            ferrokafka::config::ClientRole::Consumer,
        )
        .unwrap();
        ferrokafka::config::ClientConfig::validate(&config, ferrokafka::config::ClientRole::Admin)
            .unwrap();
    }
}
