//! SCRAM credentials through the Admin API against the mock (KIP-554):
//! the builder's users are described with both mechanisms; a user created
//! with `alter_user_scram_credentials` logs in over SASL_PLAINTEXT with
//! that mechanism and password (and not with another mechanism or a
//! wrong password); deleting the credential ends its logins; and each bad
//! alteration fails alone with the broker's named error (too few
//! iterations, a credential that does not exist, a user named twice),
//! while the other users of the same call are altered.

use ferrokafka::admin::{
    AdminClient, AdminOptions, ScramAlteration, ScramCredentialInfo, ScramMechanism,
};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn sasl(c: &MockCluster, mechanism: &str, user: &str, password: &str) -> AdminClient {
    AdminClient::new(
        &ClientConfig::new()
            .set("bootstrap.servers", c.bootstrap_servers())
            .set("security.protocol", "sasl_plaintext")
            .set("sasl.mechanisms", mechanism)
            .set("sasl.username", user)
            .set("sasl.password", password),
    )
    .unwrap()
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

/// Whether `user` can log in: a metadata call over SASL within 5 s.
async fn logs_in(c: &MockCluster, mechanism: &str, user: &str, password: &str) -> bool {
    sasl(c, mechanism, user, password)
        .metadata(None, Duration::from_secs(5))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_user_created_with_alter_scram_logs_in_until_deleted() {
    let c = MockCluster::builder()
        .brokers(1)
        .sasl_user("admin", "admin-secret")
        .build()
        .await
        .unwrap();
    let admin = sasl(&c, "SCRAM-SHA-256", "admin", "admin-secret");
    let all = admin
        .describe_user_scram_credentials(None, &opts())
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].0, "admin");
    let infos = all[0].1.as_ref().unwrap();
    assert_eq!(
        infos
            .iter()
            .map(|i| (i.mechanism, i.iterations))
            .collect::<Vec<_>>(),
        vec![
            (ScramMechanism::Sha256, 4096),
            (ScramMechanism::Sha512, 4096)
        ]
    );

    assert!(!logs_in(&c, "SCRAM-SHA-512", "alice", "alice-pw").await);
    let r = admin
        .alter_user_scram_credentials(
            &[ScramAlteration::Upsert {
                user: "alice".into(),
                mechanism: ScramMechanism::Sha512,
                iterations: 8192,
                password: "alice-pw".into(),
            }],
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(r.len(), 1);
    assert!(r[0].1.is_ok(), "{r:?}");
    let d = admin
        .describe_user_scram_credentials(Some(&["alice".to_string()]), &opts())
        .await
        .unwrap();
    assert_eq!(
        d[0].1.as_ref().unwrap(),
        &vec![ScramCredentialInfo {
            mechanism: ScramMechanism::Sha512,
            iterations: 8192
        }]
    );
    assert!(logs_in(&c, "SCRAM-SHA-512", "alice", "alice-pw").await);
    assert!(
        c.authentications()
            .iter()
            .any(|a| a.principal == "alice" && a.mechanism == "SCRAM-SHA-512"),
        "{:?}",
        c.authentications()
    );
    assert!(!logs_in(&c, "SCRAM-SHA-512", "alice", "wrong").await);
    assert!(
        !logs_in(&c, "SCRAM-SHA-256", "alice", "alice-pw").await,
        "no SHA-256 credential was created"
    );

    let r = admin
        .alter_user_scram_credentials(
            &[ScramAlteration::delete("alice", ScramMechanism::Sha512)],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert!(!logs_in(&c, "SCRAM-SHA-512", "alice", "alice-pw").await);
    let d = admin
        .describe_user_scram_credentials(Some(&["alice".to_string()]), &opts())
        .await
        .unwrap();
    let e = d[0].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceNotFound, "{e}");
    assert!(e.message().contains("alice"), "{e}");
}

#[tokio::test]
async fn each_bad_alteration_fails_alone_with_its_named_error() {
    let c = MockCluster::builder().brokers(2).build().await.unwrap();
    let admin =
        AdminClient::new(&ClientConfig::new().set("bootstrap.servers", c.bootstrap_servers()))
            .unwrap();
    let r = admin
        .alter_user_scram_credentials(
            &[
                ScramAlteration::Upsert {
                    user: "few".into(),
                    mechanism: ScramMechanism::Sha256,
                    iterations: 1000,
                    password: "p".into(),
                },
                ScramAlteration::delete("ghost", ScramMechanism::Sha256),
                ScramAlteration::upsert("twice", ScramMechanism::Sha256, "a"),
                ScramAlteration::delete("twice", ScramMechanism::Sha256),
                ScramAlteration::upsert("good", ScramMechanism::Sha256, "p"),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let by = |u: &str| r.iter().find(|(n, _)| n == u).unwrap().1.clone();
    let e = by("few").unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnacceptableCredential, "{e}");
    assert!(
        e.message().contains("few") && e.message().contains("1000"),
        "{e}"
    );
    assert_eq!(by("ghost").unwrap_err().code(), ErrorCode::ResourceNotFound);
    assert_eq!(
        by("twice").unwrap_err().code(),
        ErrorCode::DuplicateResource
    );
    assert!(by("good").is_ok());
    let d = admin
        .describe_user_scram_credentials(None, &opts())
        .await
        .unwrap();
    let users: Vec<&str> = d.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, vec!["good"], "only the valid user was stored");
    assert!(admin
        .alter_user_scram_credentials(&[], &opts())
        .await
        .is_err());
}
