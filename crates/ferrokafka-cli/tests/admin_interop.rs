//! `ferrokafka admin` checked by admin clients nobody here wrote:
//! confluent-kafka (librdkafka) and kafka-python read back what our CLI did
//! to a mock cluster, then make their own changes, which our library reads
//! back. Both directions go through the broker, so each side's view of the
//! other's effect is the proof (the mock alone is not the judge).
//!
//! Without the peers the tests print why and skip, unless
//! `FERROKAFKA_REQUIRE_PEERS=1`.

use ferrokafka::admin::{
    AclBindingFilter, AclOperation, AdminClient, AdminOptions, ConfigResource, IsolationLevel,
    OffsetSpec, PatternType,
};
use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::{ClientConfig, ErrorCode};
use ferrokafka_mock::MockCluster;
use ferrokafka_peers::{python_with, run_bounded};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(90);

fn cli(bootstrap: &str, args: &[&str]) {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
            .args(["admin", "-b", bootstrap])
            .args(args),
        LIMIT,
    );
    assert!(
        out.status.success(),
        "ferrokafka admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn both_ways(client: &str, modules: &[&str]) {
    let Some(python) = python_with(modules) else {
        return;
    };
    let c = MockCluster::builder().brokers(3).build_blocking().unwrap();
    let b = c.bootstrap_servers();
    cli(
        &b,
        &[
            "create-topic",
            "ix",
            "-p",
            "2",
            "-r",
            "2",
            "--config",
            "retention.ms=4321",
        ],
    );
    cli(
        &b,
        &["alter-configs", "topic", "ix", "--set", "segment.ms=99999"],
    );
    cli(&b, &["create-partitions", "ix", "-p", "3"]);
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", &b)).unwrap();
    for i in 0..5 {
        let _d = p
            .send(ProducerRecord::new("ix").partition(0).value(format!("{i}")))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    cli(&b, &["delete-records", "ix:0:2"]);
    cli(&b, &["alter-group-offsets", "gx", "ix:0:4"]);
    cli(
        &b,
        &[
            "create-acl",
            "--principal",
            "User:alice",
            "--operation",
            "read",
            "--resource-type",
            "topic",
            "--resource-name",
            "ix",
            "--pattern-type",
            "prefixed",
        ],
    );

    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "peers",
        "admin_peer.py",
    ]
    .iter()
    .collect();
    for phase in ["verify", "act"] {
        let out = run_bounded(
            python.command().arg(&script).args([&b, phase, client]),
            LIMIT,
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains(&format!("PASS admin_peer {phase}")),
            "{client} {phase} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // What the peer did, as our library sees it.
    let a = AdminClient::new(&ClientConfig::new().set("bootstrap.servers", &b)).unwrap();
    let o = AdminOptions::new().request_timeout(Duration::from_secs(10));
    let d = a.describe_topics_blocking(&["py"], &o).unwrap();
    assert_eq!(d[0].1.as_ref().unwrap().partitions.len(), 4);
    let cfg = a
        .describe_configs_blocking(
            &[ConfigResource::topic("py"), ConfigResource::topic("ix")],
            &o,
        )
        .unwrap();
    let value = |i: usize, n: &str| {
        cfg[i]
            .1
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.name == n)
            .and_then(|e| e.value.clone())
    };
    assert_eq!(value(0, "cleanup.policy").as_deref(), Some("compact"));
    assert_eq!(value(1, "retention.ms").as_deref(), Some("777"));
    // Both peers alter incrementally (kafka-python 3 picks
    // IncrementalAlterConfigs when the broker offers it), so the config our
    // CLI set survives.
    assert_eq!(value(1, "segment.ms").as_deref(), Some("99999"));
    let r = a
        .list_offsets_blocking(
            &[("ix", 0, OffsetSpec::Earliest)],
            IsolationLevel::ReadUncommitted,
            &o,
        )
        .unwrap();
    assert_eq!(r[0].1.as_ref().unwrap().offset, 3);
    let mut f = AclBindingFilter::any();
    f.principal = Some("User:py".into());
    let acls = a.describe_acls_blocking(&f, &o).unwrap();
    assert_eq!(acls.len(), 1, "{acls:?}");
    assert_eq!(
        (acls[0].name.as_str(), acls[0].operation, acls[0].pattern),
        ("py", AclOperation::Write, PatternType::Literal)
    );
    let r = a.delete_groups_blocking(&["gx"], &o).unwrap();
    assert_eq!(
        r[0].1.as_ref().unwrap_err().code(),
        ErrorCode::GroupIdNotFound,
        "the peer deleted the group"
    );
}

#[test]
fn confluent_kafka_admin_sees_our_changes_and_we_see_its() {
    both_ways("confluent", &["confluent_kafka"]);
}

#[test]
fn kafka_python_admin_sees_our_changes_and_we_see_its() {
    both_ways("kafka-python", &["kafka"]);
}

/// Runs `ferrokafka admin -J` against `bootstrap` and returns (exit code,
/// stdout JSON or Null, stderr).
fn cli_any(bootstrap: &str, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
            .args(["admin", "-J", "--timeout-ms", "10000", "-b", bootstrap])
            .args(args),
        LIMIT,
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Tansu (a broker nobody here wrote) serves topic creation, description,
/// deletion, configs, list offsets, group offsets commits, group deletion
/// and DescribeCluster. What it lacks (see the list in the README's admin
/// section) must fail cleanly: exit 1 with a named error, never a hang or a
/// panic.
#[test]
fn tansu_serves_the_topic_config_and_cluster_verbs() {
    let Some(tansu) = ferrokafka_peers::Tansu::start() else {
        return;
    };
    let b = tansu.bootstrap().to_string();
    let (code, j, err) = cli_any(
        &b,
        &[
            "create-topic",
            "tz",
            "-p",
            "2",
            "-r",
            "1",
            "--config",
            "retention.ms=4321",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(j[0]["error"].is_null(), "{j}");
    let (code, _, err) = cli_any(&b, &["create-topic", "tz", "-p", "2", "-r", "1"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("TOPIC_ALREADY_EXISTS"), "{err}");
    let (code, j, err) = cli_any(&b, &["describe-topic", "tz"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(j[0]["partitions"].as_array().map(Vec::len), Some(2), "{j}");
    let (code, _, err) = cli_any(
        &b,
        &["alter-configs", "topic", "tz", "--set", "retention.ms=5000"],
    );
    assert_eq!(code, Some(0), "{err}");
    let (code, j, err) = cli_any(&b, &["describe-configs", "topic", "tz"]);
    assert_eq!(code, Some(0), "{err}");
    let ret = j["configs"]
        .as_array()
        .and_then(|c| c.iter().find(|e| e["name"] == "retention.ms").cloned());
    assert_eq!(ret.map(|e| e["value"].clone()), Some("5000".into()), "{j}");
    let (code, j, err) = cli_any(&b, &["list-offsets", "tz", "--time", "latest"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(j[0]["offset"], 0, "{j}");
    let (code, j, err) = cli_any(&b, &["describe-cluster"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(j["brokers"].as_array().map(Vec::len), Some(1), "{j}");
    let (code, _, err) = cli_any(&b, &["alter-group-offsets", "gz", "tz:0:0"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = cli_any(&b, &["delete-group", "gz"]);
    assert_eq!(code, Some(0), "{err}");
    // Not served by the Tansu in the venv: CreatePartitions and OffsetDelete
    // (not advertised), DeleteRecords (closes the connection), OffsetFetch
    // of all topics (a response without its tagged-field byte). Each must
    // fail cleanly or, in a newer Tansu, succeed.
    for args in [
        &["create-partitions", "tz", "-p", "3"][..],
        &["delete-group-offsets", "gz", "tz:0"],
        &["delete-records", "tz:0:0"],
        &["group-offsets", "gz"],
    ] {
        let (code, _, err) = cli_any(&b, args);
        assert!(
            code == Some(0) || (code == Some(1) && err.contains("% error:")),
            "{args:?}: exit {code:?}\n{err}"
        );
    }
    let (code, _, err) = cli_any(&b, &["delete-topic", "tz"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, j, _) = cli_any(&b, &["list-topics"]);
    assert_eq!(code, Some(0));
    assert!(!j.to_string().contains("\"tz\""), "deleted: {j}");
}

/// The later admin verbs against Tansu. Tansu in the venv serves
/// ApiVersions' features (describe-features), AlterUserScramCredentials,
/// ListPartitionReassignments and InitProducerId (fence-producers); its
/// DescribeUserScramCredentials answer is cut short (8 bytes), which the
/// client refuses as BAD_MSG; it advertises none of UpdateFeatures,
/// ElectLeaders, AlterPartitionReassignments, the client quota APIs,
/// ListTransactions, DescribeTransactions and DescribeProducers, which
/// must fail by name (UNSUPPORTED_VERSION) -- or succeed in a newer Tansu.
/// Never a hang or a panic.
#[test]
fn tansu_answers_the_later_admin_verbs_or_refuses_them_by_name() {
    let Some(tansu) = ferrokafka_peers::Tansu::start() else {
        return;
    };
    let b = tansu.bootstrap().to_string();
    let (code, _, err) = cli_any(&b, &["create-topic", "tl", "-p", "1", "-r", "1"]);
    assert_eq!(code, Some(0), "{err}");
    for args in [
        &["describe-features"][..],
        &[
            "alter-scram",
            "zed",
            "--mechanism",
            "SCRAM-SHA-256",
            "--password",
            "p",
        ],
        &["list-reassignments"],
        &["fence-producers", "tz-app"],
    ] {
        let (code, _, err) = cli_any(&b, args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
    }
    let (code, _, err) = cli_any(&b, &["describe-scram"]);
    assert!(
        code == Some(0) || (code == Some(1) && err.contains("BAD_MSG")),
        "describe-scram: exit {code:?} {err}"
    );
    let unadvertised: &[&[&str]] = &[
        &["update-features", "--feature", "transaction.version=2"],
        &["elect-leaders", "tl:0"],
        &["reassign-partitions", "tl:0=1"],
        &["alter-quotas", "user=zed", "--set", "producer_byte_rate=1"],
        &["describe-quotas"],
        &["list-transactions"],
        &["describe-transactions", "nobody"],
        &["describe-producers", "tl:0"],
    ];
    for args in unadvertised {
        let (code, _, err) = cli_any(&b, args);
        assert!(
            code == Some(0) || (code == Some(1) && err.contains("UNSUPPORTED_VERSION")),
            "{args:?}: exit {code:?}\n{err}"
        );
    }
}

/// The group, ACL, broker-config and log-dir verbs against Tansu. Served
/// by the Tansu in the venv: list-groups, describe-group, describe-acls
/// (always empty), describe-configs of a broker (no entries) and
/// list-offsets by time. Lacking, each refused by name or cut short,
/// never a hang: DescribeLogDirs, DeleteAcls and DescribeProducers are
/// not advertised (UNSUPPORTED_VERSION), CreateAcls answers 5 bytes
/// (BAD_MSG), ListOffsets for the max timestamp closes the connection.
/// A newer Tansu may serve them: success passes too.
#[test]
fn tansu_group_acl_config_and_log_dir_verbs() {
    let Some(tansu) = ferrokafka_peers::Tansu::start() else {
        return;
    };
    let b = tansu.bootstrap().to_string();
    let (code, _, err) = cli_any(&b, &["create-topic", "tg", "-p", "2", "-r", "1"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = cli_any(&b, &["alter-group-offsets", "gt", "tg:0:0"]);
    assert_eq!(code, Some(0), "{err}");
    let (code, j, err) = cli_any(&b, &["list-groups"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        j.as_array().unwrap().iter().any(|g| g["group"] == "gt"),
        "{j}"
    );
    let (code, j, err) = cli_any(&b, &["describe-group", "gt"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(j["group"], "gt", "{j}");
    let (code, j, err) = cli_any(&b, &["describe-cluster"]);
    assert_eq!(code, Some(0), "{err}");
    let id = j["brokers"][0]["id"].to_string();
    let (code, j, err) = cli_any(&b, &["describe-configs", "broker", &id]);
    assert_eq!(code, Some(0), "{err}");
    assert!(j["configs"].is_array(), "{j}");
    let (code, j, err) = cli_any(&b, &["describe-acls"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(j.is_array(), "{j}");
    let (code, j, err) = cli_any(&b, &["list-offsets", "tg", "--time", "0"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(j[0]["offset"], 0, "{j}");
    let lacking: &[(&[&str], &str)] = &[
        (&["describe-log-dirs"], "UNSUPPORTED_VERSION"),
        (
            &["delete-acls", "--principal", "User:a"],
            "UNSUPPORTED_VERSION",
        ),
        (&["describe-producers", "tg:0"], "UNSUPPORTED_VERSION"),
        (
            &[
                "create-acl",
                "--principal",
                "User:a",
                "--operation",
                "read",
                "--resource-type",
                "topic",
                "--resource-name",
                "tg",
            ],
            "BAD_MSG",
        ),
        (&["list-offsets", "tg", "--time", "max"], "% error:"),
    ];
    for (args, named) in lacking {
        let (code, _, err) = cli_any(&b, args);
        assert!(
            code == Some(0) || (code == Some(1) && err.contains(named)),
            "{args:?}: exit {code:?}\n{err}"
        );
    }
}
