//! ACLs against the embedded mock: create (with Kafka's validation per
//! binding), describe with filters (ANY, LITERAL, MATCH covering wildcards
//! and prefixes) and delete with filters returning what was removed.

use ferrokafka::admin::{
    AclBinding, AclBindingFilter, AclOperation, AclPermission, AclResourceType, AdminClient,
    AdminOptions, PatternType,
};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;

fn acl(name: &str, pattern: PatternType, principal: &str, op: AclOperation) -> AclBinding {
    AclBinding {
        resource_type: AclResourceType::Topic,
        name: name.into(),
        pattern,
        principal: principal.into(),
        host: "*".into(),
        operation: op,
        permission: AclPermission::Allow,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_and_delete_acls_with_filters() {
    let cluster = MockCluster::builder().brokers(2).build().await.unwrap();
    let a = AdminClient::new(
        &ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()),
    )
    .unwrap();
    let o = AdminOptions::new().request_timeout(Duration::from_secs(10));
    let good = vec![
        acl(
            "orders-eu",
            PatternType::Literal,
            "User:alice",
            AclOperation::Read,
        ),
        acl(
            "orders-",
            PatternType::Prefixed,
            "User:bob",
            AclOperation::Write,
        ),
        acl(
            "*",
            PatternType::Literal,
            "User:carol",
            AclOperation::Describe,
        ),
        acl(
            "billing",
            PatternType::Literal,
            "User:alice",
            AclOperation::Read,
        ),
    ];
    let mut all = good.clone();
    all.push(acl("x", PatternType::Literal, "alice", AclOperation::Read));
    all.push(acl(
        "x",
        PatternType::Match,
        "User:alice",
        AclOperation::Read,
    ));
    let r = a.create_acls(&all, &o).await.unwrap();
    for (b, res) in &r[..4] {
        assert!(res.is_ok(), "{b}: {res:?}");
    }
    let e = r[4].1.as_ref().unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert!(
        e.message().contains("Type:name"),
        "the broker's message: {e}"
    );
    assert_eq!(
        r[5].1.as_ref().unwrap_err().code(),
        ErrorCode::InvalidRequest
    );

    let every = a.describe_acls(&AclBindingFilter::any(), &o).await.unwrap();
    assert_eq!(every.len(), 4, "{every:?}");
    let mut alice = AclBindingFilter::any();
    alice.principal = Some("User:alice".into());
    assert_eq!(a.describe_acls(&alice, &o).await.unwrap().len(), 2);
    // MATCH: what applies to orders-eu (its literal, the wildcard, the prefix).
    let mut applies = AclBindingFilter::any();
    applies.resource_type = AclResourceType::Topic;
    applies.name = Some("orders-eu".into());
    applies.pattern = PatternType::Match;
    let got = a.describe_acls(&applies, &o).await.unwrap();
    let principals: Vec<&str> = got.iter().map(|b| b.principal.as_str()).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(principals.contains(&"User:bob") && principals.contains(&"User:carol"));

    // Delete alice's READs; the rest stay.
    let mut f = alice.clone();
    f.operation = AclOperation::Read;
    let r = a.delete_acls(&[f], &o).await.unwrap();
    let gone = r[0].1.as_ref().unwrap();
    assert_eq!(gone.len(), 2, "{gone:?}");
    let left = a.describe_acls(&AclBindingFilter::any(), &o).await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|b| b.principal != "User:alice"));
}
