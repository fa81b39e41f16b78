//! ACLs enforced by the mock's authorizer (`MockClusterBuilder::authorizer`)
//! for SASL principals, as Kafka's StandardAuthorizer does: without ACLs a
//! user may not describe, produce to or create a topic, each refusal named
//! per topic (TOPIC_AUTHORIZATION_FAILED); ACLs created with the Admin API
//! open exactly what they name, a DENY wins over an ALLOW, and a topic
//! listing shows only what the user may describe. Super users pass.

use ferrokafka::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, AclResourceType, AdminClient,
    AdminOptions, NewTopic, PatternType,
};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn config(c: &MockCluster, user: &str, password: &str) -> ClientConfig {
    ClientConfig::new()
        .set("bootstrap.servers", c.bootstrap_servers())
        .set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanisms", "PLAIN")
        .set("sasl.username", user)
        .set("sasl.password", password)
}

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

fn allow(op: AclOperation, topic: &str, permission: AclPermission) -> AclBinding {
    AclBinding {
        resource_type: AclResourceType::Topic,
        name: topic.into(),
        pattern: PatternType::Literal,
        principal: "User:bob".into(),
        host: "*".into(),
        operation: op,
        permission,
    }
}

async fn produce(c: &ClientConfig, topic: &str) -> ferrokafka::Result<()> {
    let p = Producer::new(&c.clone().set("message.timeout.ms", "5000")).unwrap();
    let d = p
        .send(
            ProducerRecord::new(topic.to_string())
                .partition(0)
                .value("v"),
        )
        .unwrap();
    d.await.map(|_| ()).map_err(|e| e.into())
}

#[tokio::test]
async fn topic_operations_follow_the_acls_for_sasl_principals() {
    let c = MockCluster::builder()
        .brokers(2)
        .topic("open", 1, 1)
        .topic("closed", 1, 1)
        .auto_create_topics(false)
        .sasl_user("admin", "admin-secret")
        .sasl_user("bob", "bob-secret")
        .authorizer(&["User:admin"])
        .build()
        .await
        .unwrap();
    let admin = AdminClient::new(&config(&c, "admin", "admin-secret")).unwrap();
    let bob_cfg = config(&c, "bob", "bob-secret");
    let bob = AdminClient::new(&bob_cfg).unwrap();

    let d = bob.describe_topics(&["open"], &opts()).await.unwrap();
    let e = d[0].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::TopicAuthorizationFailed, "{e}");
    // Metadata refuses the topic, so the record is never sent. (The
    // producer reports this only when message.timeout.ms expires, not with
    // the metadata's TOPIC_AUTHORIZATION_FAILED.)
    assert!(produce(&bob_cfg, "open").await.is_err());
    assert_eq!(c.high_watermark("open", 0), Some(0));
    // DESCRIBE alone lets metadata through; Produce itself is refused.
    admin
        .create_acls(
            &[allow(AclOperation::Describe, "open", AclPermission::Allow)],
            &opts(),
        )
        .await
        .unwrap();
    let e = produce(&bob_cfg, "open").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::TopicAuthorizationFailed, "{e}");
    assert_eq!(c.high_watermark("open", 0), Some(0));

    let made = admin
        .create_acls(
            &[
                allow(AclOperation::Write, "open", AclPermission::Allow),
                allow(AclOperation::All, "closed", AclPermission::Allow),
                allow(AclOperation::Describe, "closed", AclPermission::Deny),
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert!(made.iter().all(|(_, r)| r.is_ok()), "{made:?}");
    // WRITE implies DESCRIBE; the DENY on closed wins over its ALL.
    let d = bob
        .describe_topics(&["open", "closed"], &opts())
        .await
        .unwrap();
    assert!(d[0].1.is_ok(), "{d:?}");
    let e = d[1].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::TopicAuthorizationFailed);
    assert!(e.message().contains("closed"), "{e}");
    produce(&bob_cfg, "open").await.unwrap();
    assert_eq!(c.high_watermark("open", 0), Some(1));

    let md = bob.metadata(None, Duration::from_secs(5)).await.unwrap();
    let names: Vec<&str> = md.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["open"],
        "the listing hides what bob may not describe"
    );
    let md = admin.metadata(None, Duration::from_secs(5)).await.unwrap();
    assert_eq!(md.topics.len(), 2, "super users see everything");

    let r = bob
        .create_topics(&[NewTopic::new("bobs", 1, 1)], &opts())
        .await
        .unwrap();
    let e = r[0].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::TopicAuthorizationFailed, "{e}");
    assert!(e.message().contains("bobs"), "{e}");
    let r = admin
        .create_topics(&[NewTopic::new("admins", 1, 1)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");

    let gone = admin
        .delete_acls(&[AclBindingFilter::any()], &opts())
        .await
        .unwrap();
    assert_eq!(gone[0].1.as_ref().unwrap().len(), 4);
    let d = bob.describe_topics(&["open"], &opts()).await.unwrap();
    assert_eq!(
        d[0].1.as_ref().unwrap_err().code(),
        ErrorCode::TopicAuthorizationFailed
    );
}
