//! `ferrokafka admin` against the embedded mock: every verb's effect,
//! checked through another verb's JSON or the mock's own view, and the
//! failure cases (topic exists, a count that does not grow, an invalid
//! config name or value with the broker's message, an unknown group):
//! each names the failed resource on stderr and exits 1.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use ferrokafka_peers::run_bounded;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

fn run(bootstrap: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokafka"));
    cmd.arg("admin").arg("-b").arg(bootstrap).args(args);
    run_bounded(&mut cmd, Duration::from_secs(60))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs a verb that must succeed and returns its JSON.
fn ok_json(bootstrap: &str, args: &[&str]) -> Value {
    let mut all = vec!["-J"];
    all.extend_from_slice(args);
    let out = run(bootstrap, &all);
    assert!(
        out.status.success(),
        "{args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: bad JSON ({e}): {}", text(&out.stdout)))
}

/// Runs a verb that must fail with exit 1; returns stderr.
fn failing(bootstrap: &str, args: &[&str]) -> String {
    let out = run(bootstrap, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

#[test]
fn topic_verbs_and_their_failures() {
    let c = MockCluster::builder().brokers(3).build_blocking().unwrap();
    let b = c.bootstrap_servers();
    let j = ok_json(
        &b,
        &[
            "create-topic",
            "t1",
            "-p",
            "2",
            "-r",
            "2",
            "--config",
            "retention.ms=1000",
        ],
    );
    assert_eq!(j[0]["name"], "t1");
    assert!(j[0]["error"].is_null(), "{j}");
    let err = failing(&b, &["create-topic", "t1", "-p", "2", "-r", "2"]);
    assert!(
        err.contains("TOPIC_ALREADY_EXISTS") && err.contains("t1"),
        "{err}"
    );
    let err = failing(
        &b,
        &[
            "create-topic",
            "t2",
            "-p",
            "1",
            "--config",
            "retention.ms=soon",
        ],
    );
    assert!(
        err.contains("INVALID_CONFIG") && err.contains("soon"),
        "{err}"
    );
    let err = failing(
        &b,
        &["create-topic", "t3", "-p", "1", "--config", "no.such=1"],
    );
    assert!(
        err.contains("INVALID_CONFIG") && err.contains("no.such"),
        "{err}"
    );
    let out = run(
        &b,
        &[
            "create-topic",
            "t4",
            "--replica-assignment",
            "1:2,2:3",
            "--validate-only",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!c.topics().contains(&"t4".to_string()), "validate only");

    let err = failing(&b, &["create-partitions", "t1", "-p", "2"]);
    assert!(
        err.contains("INVALID_PARTITIONS") && err.contains("t1"),
        "{err}"
    );
    ok_json(&b, &["create-partitions", "t1", "-p", "4"]);
    let j = ok_json(&b, &["describe-topic", "t1"]);
    assert_eq!(j[0]["partitions"].as_array().unwrap().len(), 4);
    assert_eq!(
        j[0]["partitions"][0]["replicas"].as_array().unwrap().len(),
        2
    );
    let j = ok_json(&b, &["list-topics"]);
    assert!(
        j.as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "t1" && t["partitions"] == 4),
        "{j}"
    );
    let err = failing(&b, &["describe-topic", "t1", "ghost"]);
    assert!(
        err.contains("ghost") && err.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{err}"
    );

    // Configs: set, read back, delete, bad value named.
    ok_json(
        &b,
        &[
            "alter-configs",
            "topic",
            "t1",
            "--set",
            "retention.ms=5000",
            "--append",
            "cleanup.policy=compact",
        ],
    );
    let j = ok_json(&b, &["describe-configs", "topic", "t1"]);
    let get = |j: &Value, n: &str| {
        j["configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .cloned()
            .unwrap_or_else(|| panic!("{n} missing: {j}"))
    };
    assert_eq!(get(&j, "retention.ms")["value"], "5000");
    assert_eq!(get(&j, "retention.ms")["source"], "DYNAMIC_TOPIC_CONFIG");
    assert_eq!(get(&j, "cleanup.policy")["value"], "delete,compact");
    ok_json(
        &b,
        &["alter-configs", "topic", "t1", "--delete", "retention.ms"],
    );
    let j = ok_json(&b, &["describe-configs", "topic", "t1"]);
    assert_eq!(get(&j, "retention.ms")["source"], "DEFAULT_CONFIG");
    let err = failing(
        &b,
        &[
            "alter-configs",
            "broker",
            "1",
            "--set",
            "log.cleaner.threads=lots",
        ],
    );
    assert!(
        err.contains("INVALID_CONFIG") && err.contains("lots"),
        "{err}"
    );
    let j = ok_json(&b, &["describe-configs", "broker", "2"]);
    assert!(j["configs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["name"] == "num.partitions"));
    let out = run(&b, &["alter-configs", "topic", "t1"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no change given is a usage error"
    );

    let j = ok_json(&b, &["describe-cluster"]);
    assert_eq!(j["brokers"].as_array().unwrap().len(), 3);
    let j = ok_json(&b, &["describe-log-dirs"]);
    let replicas: usize = j
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["topic"] == "t1")
                .count()
        })
        .sum();
    assert_eq!(replicas, 8, "4 partitions x 2 replicas: {j}");

    ok_json(&b, &["delete-topic", "t1"]);
    assert!(!c.topics().contains(&"t1".to_string()));
    let err = failing(&b, &["delete-topic", "t1"]);
    assert!(err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{err}");
}

#[test]
fn record_and_group_verbs() {
    let c = MockCluster::builder()
        .brokers(2)
        .topic("r", 2, 1)
        .build_blocking()
        .unwrap();
    let b = c.bootstrap_servers();
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", &b)).unwrap();
    for i in 0..6 {
        let _d = p
            .send(ProducerRecord::new("r").partition(0).value(format!("v{i}")))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();

    let j = ok_json(&b, &["list-offsets", "r"]);
    assert_eq!(j[0]["name"], "r:0");
    assert_eq!(j[0]["offset"], 6);
    assert_eq!(j[1]["offset"], 0);
    let j = ok_json(&b, &["delete-records", "r:0:4"]);
    assert_eq!(j[0]["low_watermark"], 4);
    assert_eq!(c.log_start_offset("r", 0), Some(4));
    let j = ok_json(&b, &["list-offsets", "r", "--time", "earliest"]);
    assert_eq!(j[0]["offset"], 4);
    let err = failing(&b, &["delete-records", "r:1:9", "r:0:5"]);
    assert!(
        err.contains("OFFSET_OUT_OF_RANGE") && err.contains("r/1"),
        "{err}"
    );
    assert_eq!(
        c.log_start_offset("r", 0),
        Some(5),
        "the good partition still applied"
    );
    let out = run(&b, &["delete-records", "r:0"]);
    assert_eq!(out.status.code(), Some(2));

    // A group made by committing offsets from outside.
    ok_json(&b, &["alter-group-offsets", "g1", "r:0:3", "r:1:0"]);
    let j = ok_json(&b, &["group-offsets", "g1"]);
    assert_eq!(j["offsets"].as_array().unwrap().len(), 2, "{j}");
    assert_eq!(j["offsets"][0]["offset"], 3);
    let j = ok_json(&b, &["list-groups"]);
    assert!(
        j.as_array().unwrap().iter().any(|g| g["group"] == "g1"),
        "{j}"
    );
    let j = ok_json(&b, &["describe-group", "g1"]);
    assert_eq!(j["state"], "Empty");
    ok_json(&b, &["delete-group-offsets", "g1", "r:1"]);
    let j = ok_json(&b, &["group-offsets", "g1"]);
    assert_eq!(j["offsets"].as_array().unwrap().len(), 1, "{j}");
    ok_json(&b, &["delete-group-offsets", "g1", "r"]);
    let j = ok_json(&b, &["group-offsets", "g1"]);
    assert!(j["offsets"].as_array().unwrap().is_empty(), "{j}");
    ok_json(&b, &["delete-group", "g1"]);
    let err = failing(&b, &["delete-group", "g1"]);
    assert!(
        err.contains("GROUP_ID_NOT_FOUND") && err.contains("g1"),
        "{err}"
    );
    let err = failing(&b, &["describe-group", "never"]);
    assert!(err.contains("never"), "{err}");
}

#[test]
fn without_brokers_an_embedded_mock_serves_the_call() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokafka"));
    cmd.args(["admin", "-J", "create-topic", "x", "-p", "2"]);
    let out = run_bounded(&mut cmd, Duration::from_secs(60));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(j[0]["error"].is_null(), "{j}");
    assert!(text(&out.stderr).contains("embedded mock"));
}

#[test]
fn acl_verbs() {
    let c = MockCluster::builder().brokers(1).build_blocking().unwrap();
    let b = c.bootstrap_servers();
    ok_json(
        &b,
        &[
            "create-acl",
            "--principal",
            "User:alice",
            "--operation",
            "read",
            "--operation",
            "describe",
            "--resource-type",
            "topic",
            "--resource-name",
            "orders-",
            "--pattern-type",
            "prefixed",
        ],
    );
    ok_json(
        &b,
        &[
            "create-acl",
            "--principal",
            "User:bob",
            "--operation",
            "alter",
            "--resource-type",
            "cluster",
        ],
    );
    let err = failing(
        &b,
        &[
            "create-acl",
            "--principal",
            "bob",
            "--operation",
            "read",
            "--resource-type",
            "topic",
            "--resource-name",
            "t",
        ],
    );
    assert!(
        err.contains("INVALID_REQUEST") && err.contains("Type:name"),
        "{err}"
    );
    let j = ok_json(&b, &["describe-acls"]);
    assert_eq!(j.as_array().unwrap().len(), 3, "{j}");
    let j = ok_json(
        &b,
        &[
            "describe-acls",
            "--resource-type",
            "topic",
            "--resource-name",
            "orders-eu",
            "--pattern-type",
            "match",
        ],
    );
    assert_eq!(j.as_array().unwrap().len(), 2, "the prefix applies: {j}");
    assert!(j
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["principal"] == "User:alice"));
    let j = ok_json(
        &b,
        &[
            "delete-acls",
            "--principal",
            "User:alice",
            "--operation",
            "read",
        ],
    );
    assert_eq!(j.as_array().unwrap().len(), 1, "{j}");
    assert_eq!(j[0]["operation"], "READ");
    let j = ok_json(&b, &["describe-acls", "--principal", "User:alice"]);
    assert_eq!(j.as_array().unwrap().len(), 1);
    let out = run(&b, &["delete-acls"]);
    assert_eq!(out.status.code(), Some(2), "an empty filter is refused");
    let out = run(&b, &["describe-acls", "--operation", "fly"]);
    assert_eq!(out.status.code(), Some(2));
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `alter-scram` creates a user that then logs in over SASL_PLAINTEXT with
/// SCRAM (a `describe-cluster` as that user succeeds); `describe-scram`
/// shows it; a bad iteration count and a missing credential each exit 1
/// naming the user; after `delete-scram` the login fails.
#[test]
fn scram_verbs_create_a_user_that_logs_in() {
    let c = MockCluster::builder()
        .brokers(1)
        .sasl_user("admin", "admin-secret")
        .build_blocking()
        .unwrap();
    let b = c.bootstrap_servers();
    let as_user = |mech: &str, user: &str, pw: &str, args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "-X",
            "security.protocol=sasl_plaintext",
            "-X",
            &format!("sasl.mechanisms={mech}"),
            "-X",
            &format!("sasl.username={user}"),
            "-X",
            &format!("sasl.password={pw}"),
            "--timeout-ms",
            "5000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let admin = |args: &[&str]| as_user("SCRAM-SHA-256", "admin", "admin-secret", args);

    let a = admin(&[
        "alter-scram",
        "alice",
        "--mechanism",
        "SCRAM-SHA-512",
        "--password",
        "alice-pw",
        "--iterations",
        "8192",
    ]);
    let j = ok_json(&b, &strs(&a));
    assert!(j[0]["error"].is_null() && j[0]["name"] == "alice", "{j}");
    let j = ok_json(&b, &strs(&admin(&["describe-scram", "alice"])));
    assert_eq!(j[0]["credentials"][0]["mechanism"], "SCRAM-SHA-512", "{j}");
    assert_eq!(j[0]["credentials"][0]["iterations"], 8192, "{j}");

    let login = as_user("SCRAM-SHA-512", "alice", "alice-pw", &["describe-cluster"]);
    let j = ok_json(&b, &strs(&login));
    assert!(j["brokers"].as_array().is_some_and(|v| v.len() == 1), "{j}");
    assert!(c
        .authentications()
        .iter()
        .any(|a| a.principal == "alice" && a.mechanism == "SCRAM-SHA-512"));

    let err = failing(
        &b,
        &strs(&admin(&[
            "alter-scram",
            "bob",
            "--mechanism",
            "SCRAM-SHA-256",
            "--password",
            "x",
            "--iterations",
            "100",
        ])),
    );
    assert!(
        err.contains("UNACCEPTABLE_CREDENTIAL") && err.contains("bob"),
        "{err}"
    );
    let err = failing(
        &b,
        &strs(&admin(&[
            "delete-scram",
            "bob",
            "--mechanism",
            "SCRAM-SHA-256",
        ])),
    );
    assert!(
        err.contains("RESOURCE_NOT_FOUND") && err.contains("bob"),
        "{err}"
    );

    ok_json(
        &b,
        &strs(&admin(&[
            "delete-scram",
            "alice",
            "--mechanism",
            "SCRAM-SHA-512",
        ])),
    );
    let err = failing(&b, &strs(&admin(&["describe-scram", "alice"])));
    assert!(err.contains("RESOURCE_NOT_FOUND"), "{err}");
    let out = run(&b, &strs(&login));
    assert!(!out.status.success(), "alice logged in after delete-scram");
}

/// `elect-leaders`, `reassign-partitions`, `describe-features`,
/// `update-features`, `alter-quotas` and `describe-quotas`: effects seen in
/// the mock or read back, failures exit 1 naming the resource.
#[test]
fn replica_feature_and_quota_verbs() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("r", 1, 3)
        .build_blocking()
        .unwrap();
    let b = c.bootstrap_servers();
    let preferred = ok_json(&b, &["describe-topic", "r"])[0]["partitions"][0]["replicas"][0]
        .as_i64()
        .unwrap() as i32;
    let other = c
        .broker_ids()
        .into_iter()
        .find(|id| *id != preferred)
        .unwrap();
    c.move_leader("r", 0, other).unwrap();
    let j = ok_json(&b, &["elect-leaders", "r:0"]);
    assert_eq!(j[0]["elected"], true, "{j}");
    assert_eq!(c.partition_leader("r", 0), Some(preferred));
    let j = ok_json(&b, &["elect-leaders", "r:0"]);
    assert_eq!(j[0]["elected"], false, "not needed is not a failure: {j}");
    let err = failing(&b, &["elect-leaders", "--unclean", "r:0", "gone:3"]);
    assert!(
        err.contains("UNKNOWN_TOPIC_OR_PARTITION") && err.contains("gone:3"),
        "{err}"
    );

    ok_json(&b, &["reassign-partitions", &format!("r:0={other}")]);
    assert_eq!(c.partition_leader("r", 0), Some(other));
    let err = failing(&b, &["reassign-partitions", "--cancel", "r:0"]);
    assert!(err.contains("NO_REASSIGNMENT_IN_PROGRESS"), "{err}");

    let j = ok_json(&b, &["describe-features"]);
    assert!(
        j["finalized"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "metadata.version"),
        "{j}"
    );
    ok_json(
        &b,
        &["update-features", "--feature", "transaction.version=2"],
    );
    let j = ok_json(&b, &["describe-features"]);
    assert!(j["finalized"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "transaction.version" && f["level"] == 2));
    let err = failing(
        &b,
        &["update-features", "--feature", "transaction.version=1"],
    );
    assert!(err.contains("INVALID_UPDATE_VERSION"), "{err}");

    ok_json(
        &b,
        &[
            "alter-quotas",
            "user=alice",
            "--set",
            "producer_byte_rate=1024",
        ],
    );
    let j = ok_json(&b, &["describe-quotas", "--entity", "user=alice"]);
    assert_eq!(j[0]["quotas"]["producer_byte_rate"], 1024.0, "{j}");
    let err = failing(&b, &["alter-quotas", "user=alice", "--set", "bogus=1"]);
    assert!(
        err.contains("INVALID_REQUEST") && err.contains("bogus"),
        "{err}"
    );
}

/// `describe-producers` shows an idempotent producer's state on the
/// partition it wrote; `fence-producers` registers a transactional id
/// (InitProducerId) that `list-transactions` and `describe-transactions`
/// then show; an unknown transactional id exits 1 naming it.
#[test]
fn transaction_verbs() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("p", 1, 1)
        .build_blocking()
        .unwrap();
    let b = c.bootstrap_servers();
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("enable.idempotence", "true"),
    )
    .unwrap();
    for i in 0..3 {
        let _d = p
            .send(ProducerRecord::new("p").partition(0).value(format!("v{i}")))
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
    let j = ok_json(&b, &["describe-producers", "p:0"]);
    let producers = j[0]["producers"].as_array().unwrap();
    assert_eq!(producers.len(), 1, "{j}");
    assert_eq!(producers[0]["last_sequence"], 2, "{j}");
    assert!(producers[0]["current_txn_start_offset"].is_null(), "{j}");
    let err = failing(&b, &["describe-producers", "p:7"]);
    assert!(err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{err}");

    let j = ok_json(&b, &["list-transactions"]);
    assert_eq!(j, serde_json::json!([]));
    let j = ok_json(&b, &["fence-producers", "etl"]);
    assert!(j[0]["producer_id"].as_i64().is_some(), "{j}");
    let j = ok_json(&b, &["list-transactions", "--state", "Empty"]);
    assert_eq!(j[0]["transactional_id"], "etl", "{j}");
    let j = ok_json(&b, &["describe-transactions", "etl"]);
    assert_eq!(j[0]["state"], "Empty", "{j}");
    let err = failing(&b, &["describe-transactions", "ghost"]);
    assert!(
        err.contains("TRANSACTIONAL_ID_NOT_FOUND") && err.contains("ghost"),
        "{err}"
    );
}

/// Runs a verb without `-J`, which must succeed; its table.
fn ok_text(bootstrap: &str, args: &[&str]) -> String {
    let out = run(bootstrap, args);
    assert!(
        out.status.success(),
        "{args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let t = text(&out.stdout);
    assert!(
        !t.trim_start().starts_with(['[', '{']),
        "{args:?}: JSON without -J:\n{t}"
    );
    t
}

/// Every string a JSON answer names its resources with.
fn named(j: &Value, out: &mut Vec<String>) {
    match j {
        Value::Array(v) => v.iter().for_each(|x| named(x, out)),
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    (
                        "name" | "group" | "topic" | "user" | "transactional_id" | "principal",
                        Value::String(s),
                    ) => out.push(s.clone()),
                    // A config's synonyms are for JSON readers only.
                    ("synonyms", _) => {}
                    _ => named(v, out),
                }
            }
        }
        _ => {}
    }
}

/// Every verb prints a readable table (or, for topics, kafka-topics.sh's
/// lines) without `-J`: its header, and every resource the JSON form of
/// the same call names. Verbs that change something are checked on a
/// resource of their own, their effect read back.
#[test]
fn every_verb_prints_a_table_without_json() {
    let c = MockCluster::builder()
        .brokers(3)
        .topic("tb", 2, 2)
        .build_blocking()
        .unwrap();
    let b = c.bootstrap_servers();
    let p = Producer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", &b)
            .set("enable.idempotence", "true"),
    )
    .unwrap();
    for i in 0..3 {
        let _d = p
            .send(
                ProducerRecord::new("tb")
                    .partition(0)
                    .value(format!("v{i}")),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();

    // Verbs that change something: (args, what the table must show).
    let changes: &[(&[&str], &[&str])] = &[
        (
            &["create-topic", "tt", "-p", "1", "-r", "1"],
            &["RESOURCE", "RESULT", "tt"],
        ),
        (&["create-partitions", "tt", "-p", "2"], &["RESOURCE", "tt"]),
        (
            &["alter-configs", "topic", "tt", "--set", "retention.ms=5000"],
            &["RESOURCE", "tt"],
        ),
        (&["delete-records", "tb:0:1"], &["RESOURCE", "tb"]),
        (
            &["alter-group-offsets", "gtb", "tb:0:1", "tb:1:0"],
            &["RESOURCE", "tb"],
        ),
        (
            &["delete-group-offsets", "gtb", "tb:1"],
            &["RESOURCE", "tb"],
        ),
        (
            &[
                "create-acl",
                "--principal",
                "User:tab",
                "--operation",
                "read",
                "--resource-type",
                "topic",
                "--resource-name",
                "tb",
            ],
            &["RESOURCE", "User:tab"],
        ),
        (
            &[
                "alter-scram",
                "tabu",
                "--mechanism",
                "SCRAM-SHA-256",
                "--password",
                "p",
            ],
            &["RESOURCE", "tabu"],
        ),
        (&["elect-leaders", "tb:0"], &["RESOURCE", "tb:0"]),
        (&["reassign-partitions", "tb:1=1,2"], &["RESOURCE", "tb:1"]),
        (
            &["update-features", "--feature", "transaction.version=2"],
            &["RESOURCE", "transaction.version"],
        ),
        (
            &[
                "alter-quotas",
                "user=tq",
                "--set",
                "producer_byte_rate=1024",
            ],
            &["RESOURCE", "tq"],
        ),
        (&["fence-producers", "txb"], &["RESOURCE", "txb"]),
    ];
    for (args, want) in changes {
        let t = ok_text(&b, args);
        for w in *want {
            assert!(t.contains(w), "{args:?} lacks {w:?}:\n{t}");
        }
    }
    assert!(c.topics().contains(&"tt".to_string()));
    assert_eq!(c.log_start_offset("tb", 0), Some(1));

    // Verbs that read: the table shows its header and whatever the JSON
    // form names.
    let reads: &[(&[&str], &[&str])] = &[
        (
            &["list-topics"],
            &["TOPIC", "PARTITIONS", "REPLICATION", "tt"],
        ),
        (
            &["describe-topic", "tb", "tt"],
            &["Topic: tb", "Partition: 1", "Leader:", "Isr:"],
        ),
        (
            &["describe-configs", "topic", "tt"],
            &["NAME", "VALUE", "SOURCE", "retention.ms", "5000"],
        ),
        (
            &["describe-configs", "broker", "1"],
            &["NAME", "VALUE", "num.partitions"],
        ),
        (
            &["list-offsets", "tb", "--time", "earliest"],
            &["RESOURCE", "tb"],
        ),
        (&["list-groups"], &["GROUP", "STATE", "gtb"]),
        (&["describe-group", "gtb"], &["gtb", "Empty"]),
        (
            &["group-offsets", "gtb"],
            &["TOPIC", "PARTITION", "OFFSET", "tb"],
        ),
        (&["describe-cluster"], &["BROKER", "ADDRESS", "CONTROLLER"]),
        (
            &["describe-log-dirs"],
            &["BROKER", "LOG-DIR", "REPLICA", "tb"],
        ),
        (
            &["describe-acls"],
            &["PRINCIPAL", "OPERATION", "User:tab", "READ"],
        ),
        (
            &["describe-scram"],
            &["USER", "MECHANISM", "tabu", "SCRAM-SHA-256"],
        ),
        (&["list-reassignments"], &["PARTITION", "REPLICAS"]),
        (
            &["describe-features"],
            &["FEATURE", "SUPPORTED", "transaction.version"],
        ),
        (
            &["describe-quotas"],
            &["ENTITY", "QUOTA", "producer_byte_rate"],
        ),
        (&["list-transactions"], &["TRANSACTIONAL-ID", "txb"]),
        (&["describe-transactions", "txb"], &["RESOURCE", "txb"]),
        (&["describe-producers", "tb:0"], &["tb:0"]),
    ];
    for (args, want) in reads {
        let t = ok_text(&b, args);
        for w in *want {
            assert!(t.contains(w), "{args:?} lacks {w:?}:\n{t}");
        }
        let mut names = Vec::new();
        named(&ok_json(&b, args), &mut names);
        for n in names {
            assert!(t.contains(&n), "{args:?}: the table lacks {n:?}:\n{t}");
        }
    }

    // abort-transaction writes an abort marker for the producer seen on
    // tb:0 (idempotent, no transaction open: nothing to abort is no error).
    let j = ok_json(&b, &["describe-producers", "tb:0"]);
    let pr = &j[0]["producers"][0];
    let (pid, epoch) = (
        pr["producer_id"].to_string(),
        pr["producer_epoch"].to_string(),
    );
    let t = ok_text(
        &b,
        &[
            "abort-transaction",
            "tb:0",
            "--producer-id",
            &pid,
            "--producer-epoch",
            &epoch,
        ],
    );
    assert!(t.contains("RESOURCE") && t.contains("tb:0"), "{t}");

    // And the verbs that take things away.
    let removals: &[(&[&str], &[&str])] = &[
        (
            &["delete-acls", "--principal", "User:tab"],
            &["PRINCIPAL", "User:tab"],
        ),
        (
            &["delete-scram", "tabu", "--mechanism", "SCRAM-SHA-256"],
            &["RESOURCE", "tabu"],
        ),
        (&["delete-group", "gtb"], &["RESOURCE", "gtb"]),
        (&["delete-topic", "tt"], &["RESOURCE", "tt"]),
    ];
    for (args, want) in removals {
        let t = ok_text(&b, args);
        for w in *want {
            assert!(t.contains(w), "{args:?} lacks {w:?}:\n{t}");
        }
    }
    assert!(!c.topics().contains(&"tt".to_string()));
    // A failed resource is a row of the table too, and exits 1.
    let out = run(&b, &["delete-topic", "tt"]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out.stdout);
    assert!(
        t.contains("tt") && t.contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{t}"
    );
}
