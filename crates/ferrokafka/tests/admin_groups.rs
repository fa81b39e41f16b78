//! Consumer group administration against the embedded mock: list with
//! state and type filters, delete (NON_EMPTY_GROUP while members are
//! there, GROUP_ID_NOT_FOUND for an unknown group), remove a static
//! member, and alter / list / delete a group's committed offsets.

use ferrokafka::admin::{AdminClient, AdminOptions, MemberToRemove};
use ferrokafka::consumer::Consumer;
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use std::time::Duration;
use tokio::time::Instant;

fn opts() -> AdminOptions {
    AdminOptions::new().request_timeout(Duration::from_secs(10))
}

async fn joined(cluster: &MockCluster, group: &str, instance: &str) -> Consumer {
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .set("group.id", group)
            .set("group.instance.id", instance)
            .set("heartbeat.interval.ms", "100"),
    )
    .unwrap();
    c.subscribe(&["gt"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.assignment().len() < 2 {
        assert!(Instant::now() < deadline, "never assigned");
        let _ = c.try_recv();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_lifecycle_through_the_admin_api() {
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic("gt", 2, 1)
        .build()
        .await
        .unwrap();
    let a = AdminClient::new(
        &ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()),
    )
    .unwrap();
    let c = joined(&cluster, "g-life", "inst-1").await;

    let stable = a
        .list_groups_filtered(&["Stable"], &[], &opts())
        .await
        .unwrap();
    assert!(stable.iter().any(|g| g.group_id == "g-life"), "{stable:?}");
    let empty = a
        .list_groups_filtered(&["Empty"], &[], &opts())
        .await
        .unwrap();
    assert!(!empty.iter().any(|g| g.group_id == "g-life"), "{empty:?}");
    let classic = a
        .list_groups_filtered(&[], &["classic"], &opts())
        .await
        .unwrap();
    let g = classic
        .iter()
        .find(|g| g.group_id == "g-life")
        .expect("listed");
    assert_eq!(g.group_type.as_deref(), Some("classic"));
    let share = a
        .list_groups_filtered(&[], &["share"], &opts())
        .await
        .unwrap();
    assert!(!share.iter().any(|g| g.group_id == "g-life"));

    // A live group can be neither deleted nor have offsets set from outside.
    let r = a
        .delete_groups(&["g-life", "g-unknown"], &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::NonEmptyGroup
    );
    assert_eq!(
        r[1].1.as_ref().unwrap_err().code(),
        ErrorCode::GroupIdNotFound
    );
    let r = a
        .alter_group_offsets("g-life", &[("gt", 0, 5)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_err(), "a live group refuses admin commits: {r:?}");

    // Remove the static member: the group empties.
    let r = a
        .remove_group_members(
            "g-life",
            &[
                MemberToRemove::InstanceId("inst-1".into()),
                MemberToRemove::InstanceId("inst-unknown".into()),
            ],
            &opts(),
        )
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    assert_eq!(
        r[1].1.as_ref().unwrap_err().code(),
        ErrorCode::UnknownMemberId
    );
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = a
            .describe_groups(&["g-life"], Duration::from_secs(5))
            .await
            .unwrap();
        if d[0].members.is_empty() && d[0].state == "Empty" {
            break;
        }
        assert!(Instant::now() < deadline, "group never emptied: {d:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Offsets of the empty group: alter, read back, delete one.
    let r = a
        .alter_group_offsets("g-life", &[("gt", 0, 5), ("gt", 1, 9)], &opts())
        .await
        .unwrap();
    assert!(r.iter().all(|(_, res)| res.is_ok()), "{r:?}");
    let got = a
        .list_group_offsets("g-life", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![("gt".to_string(), 0, 5), ("gt".to_string(), 1, 9)]
    );
    let r = a
        .delete_group_offsets("g-life", &[("gt", 1)], &opts())
        .await
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let got = a
        .list_group_offsets("g-life", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got, vec![("gt".to_string(), 0, 5)]);
    let r = a
        .delete_group_offsets("g-none", &[("gt", 0)], &opts())
        .await
        .unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::GroupIdNotFound
    );

    // Now the group can go.
    let r = a.delete_groups(&["g-life"], &opts()).await.unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let all = a.list_groups(Duration::from_secs(5)).await.unwrap();
    assert!(!all.iter().any(|g| g.group_id == "g-life"), "{all:?}");
}
