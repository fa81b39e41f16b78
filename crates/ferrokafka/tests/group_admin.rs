//! Group admin reads against the embedded mock: ListGroups, DescribeGroups
//! (members and their decoded assignments) and a group's committed offsets.

use ferrokafka::admin::AdminClient;
use ferrokafka::consumer::Consumer;
use ferrokafka::ClientConfig;
use ferrokafka::TopicPartition;
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_describe_and_offsets_of_a_group() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("adm", 3, 1)
        .build()
        .await
        .unwrap();
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", "g-adm")
            .set("heartbeat.interval.ms", "100"),
    )
    .unwrap();
    c.subscribe(&["adm"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.assignment().len() < 3 {
        assert!(Instant::now() < deadline, "never assigned");
        let _ = c.try_recv();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.commit_offsets(&[("adm", 0, 7), ("adm", 2, 3)])
        .await
        .unwrap();
    let admin = AdminClient::new(
        &ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()),
    )
    .unwrap();
    let t = Duration::from_secs(10);
    let groups = admin.list_groups(t).await.unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g.group_id == "g-adm" && g.protocol_type == "consumer"),
        "{groups:?}"
    );
    let d = admin.describe_groups(&["g-adm"], t).await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].error, None);
    assert_eq!(d[0].protocol, "range");
    assert_eq!(d[0].members.len(), 1);
    let mut parts = d[0].members[0].assignment.clone();
    parts.sort();
    assert_eq!(
        parts,
        (0..3)
            .map(|p| TopicPartition::new("adm", p))
            .collect::<Vec<_>>()
    );
    let offsets = admin.list_group_offsets("g-adm", t).await.unwrap();
    assert_eq!(
        offsets,
        vec![("adm".to_string(), 0, 7), ("adm".to_string(), 2, 3)]
    );
}
