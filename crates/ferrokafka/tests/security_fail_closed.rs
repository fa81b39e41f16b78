//! Fail closed on security: this build has no TLS and no SASL yet, so a
//! client told to use them must refuse to start, naming the setting, and
//! must not open a single connection (a plaintext ApiVersions sent to a TLS
//! listener, or anything sent without the credentials the application
//! gave, is the defect this guards against).

use ferrokafka::consumer::Consumer;
use ferrokafka::producer::Producer;
use ferrokafka::{AdminClient, ClientConfig, Error, ErrorCode};
use std::net::TcpListener;
use std::time::Duration;

const PROTOCOLS: &[&str] = &[
    "ssl",
    "SSL",
    "sasl_plaintext",
    "SASL_PLAINTEXT",
    "sasl_ssl",
    "SASL_SSL",
];

/// Settings that would have no effect without TLS or SASL, with a value a
/// user would plausibly give (secrets among them).
const SETTINGS: &[(&str, &str)] = &[
    ("ssl.ca.location", "/etc/ssl/ca.pem"),
    ("ssl.certificate.location", "/etc/ssl/client.pem"),
    ("ssl.key.location", "/etc/ssl/client.key"),
    ("ssl.key.password", "s3cret-key-pass"),
    ("ssl.endpoint.identification.algorithm", "none"),
    ("enable.ssl.certificate.verification", "false"),
    ("sasl.mechanisms", "SCRAM-SHA-512"),
    ("sasl.username", "alice"),
    ("sasl.password", "s3cret-password"),
    ("sasl.oauthbearer.config", "principal=admin"),
    ("enable.sasl.oauthbearer.unsecure.jwt", "true"),
    ("https.ca.location", "/etc/ssl/ca.pem"),
    // Aliases land on the same properties.
    ("sasl_plain_password", "s3cret-password"),
    ("ssl_cafile", "/etc/ssl/ca.pem"),
    ("ssl.truststore.location", "/etc/ssl/truststore.jks"),
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
fn every_client_refuses_every_security_protocol_it_cannot_honour() {
    for &protocol in PROTOCOLS {
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
            assert!(e.message().contains("security.protocol"), "{client}: {e}");
            assert!(e.message().contains(protocol), "{client}: {e}");
        }
        assert_no_connection(&listener);
    }
}

#[test]
fn every_client_refuses_tls_and_sasl_settings_without_effect() {
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
