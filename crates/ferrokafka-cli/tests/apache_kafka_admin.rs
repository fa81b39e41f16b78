//! Every `ferrokafka admin` verb against Apache Kafka 4.4 (one KRaft node
//! with the StandardAuthorizer, `super.users` = the PLAINTEXT listener's
//! ANONYMOUS and alice; started once for this binary), each effect checked
//! with Java's own admin tools (TopicCommand, ConfigCommand, AclCommand,
//! ConsumerGroupCommand, GetOffsetShell, FeatureCommand,
//! LeaderElectionCommand, ReassignPartitionsCommand, TransactionsCommand)
//! or librdkafka, not with our client alone; and the failures the real
//! broker names per resource (topic exists, invalid config with the
//! broker's message, a partition count that does not grow, an unknown
//! group, an authorization failure, an unacceptable SCRAM credential).
//! A SCRAM user created with `alter-scram` logs in over SASL_PLAINTEXT,
//! with ferrokafka and with librdkafka.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_peers::{python_with, run_bounded, ApacheKafka};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// One test at a time: each runs Java tools (a JVM apiece) on a small
/// machine, and they share the node.
static SERIAL: Mutex<()> = Mutex::new(());

fn node() -> Option<&'static ApacheKafka> {
    static NODE: OnceLock<Option<ApacheKafka>> = OnceLock::new();
    NODE.get_or_init(|| {
        ApacheKafka::launch_with(
            1,
            &[
                (
                    "authorizer.class.name",
                    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                ),
                ("super.users", "User:ANONYMOUS;User:alice"),
            ],
        )
    })
    .as_ref()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ferro(bootstrap: &str, args: &[&str]) -> Output {
    run_bounded(
        Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
            .args(["admin", "-b", bootstrap, "--timeout-ms", "20000"])
            .args(args),
        Duration::from_secs(60),
    )
}

/// A verb that must succeed; its JSON.
fn ok(bootstrap: &str, args: &[&str]) -> Value {
    let mut all = vec!["-J"];
    all.extend_from_slice(args);
    let out = ferro(bootstrap, &all);
    assert!(
        out.status.success(),
        "ferrokafka admin {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: bad JSON ({e}): {}", text(&out.stdout)))
}

/// A verb that must exit 1; its stderr.
fn fails(bootstrap: &str, args: &[&str]) -> String {
    let out = ferro(bootstrap, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "ferrokafka admin {args:?} should fail:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

/// A Java tool that must succeed; its stdout.
fn java(kafka: &ApacheKafka, class: &str, args: &[&str]) -> String {
    let out = kafka.java_output(class, args, Duration::from_secs(90));
    assert!(
        out.status.success(),
        "{class} {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `-X` options logging in as `user` over SASL_PLAINTEXT.
fn sasl(mechanism: &str, user: &str, password: &str, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "-X".to_string(),
        "security.protocol=sasl_plaintext".into(),
        "-X".into(),
        format!("sasl.mechanisms={mechanism}"),
        "-X".into(),
        format!("sasl.username={user}"),
        "-X".into(),
        format!("sasl.password={password}"),
    ]
    .to_vec();
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn produce(bootstrap: &str, topic: &str, partition: i32, n: usize) {
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", bootstrap)).unwrap();
    for i in 0..n {
        let _d = p
            .send(
                ProducerRecord::new(topic.to_string())
                    .partition(partition)
                    .value(format!("v{i}")),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(30)).unwrap();
}

#[test]
fn topic_config_record_and_group_verbs_as_javas_tools_see_them() {
    let Some(kafka) = node() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();

    let j = ok(
        b,
        &[
            "create-topic",
            "aa-t1",
            "-p",
            "2",
            "-r",
            "1",
            "--config",
            "retention.ms=3600000",
        ],
    );
    assert!(j[0]["error"].is_null(), "{j}");
    let d = java(
        kafka,
        "org.apache.kafka.tools.TopicCommand",
        &["--bootstrap-server", b, "--describe", "--topic", "aa-t1"],
    );
    assert!(
        d.contains("PartitionCount: 2") && d.contains("retention.ms=3600000"),
        "{d}"
    );
    let e = fails(b, &["create-topic", "aa-t1", "-p", "1", "-r", "1"]);
    assert!(
        e.contains("TOPIC_ALREADY_EXISTS") && e.contains("aa-t1"),
        "{e}"
    );
    let e = fails(
        b,
        &[
            "create-topic",
            "aa-bad",
            "-p",
            "1",
            "-r",
            "1",
            "--config",
            "retention.ms=soon",
        ],
    );
    assert!(
        e.contains("INVALID_CONFIG") && e.contains("aa-bad") && e.contains("retention.ms"),
        "the broker's message names the config: {e}"
    );

    ok(b, &["create-partitions", "aa-t1", "-p", "4"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.TopicCommand",
        &["--bootstrap-server", b, "--describe", "--topic", "aa-t1"],
    );
    assert!(d.contains("PartitionCount: 4"), "{d}");
    let e = fails(b, &["create-partitions", "aa-t1", "-p", "3"]);
    assert!(
        e.contains("INVALID_PARTITIONS") && e.contains("aa-t1"),
        "{e}"
    );

    ok(
        b,
        &[
            "alter-configs",
            "topic",
            "aa-t1",
            "--set",
            "cleanup.policy=compact",
            "--delete",
            "retention.ms",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "aa-t1",
        ],
    );
    assert!(
        d.contains("cleanup.policy=compact") && !d.contains("retention.ms=3600000"),
        "{d}"
    );
    let e = fails(
        b,
        &[
            "alter-configs",
            "topic",
            "aa-t1",
            "--set",
            "no.such.config=1",
        ],
    );
    assert!(e.contains("aa-t1") && e.contains("no.such.config"), "{e}");

    ok(
        b,
        &[
            "alter-configs",
            "topic",
            "aa-t1",
            "--set",
            "cleanup.policy=delete",
        ],
    );
    produce(b, "aa-t1", 0, 5);
    let j = ok(b, &["delete-records", "aa-t1:0:3"]);
    assert!(j[0]["error"].is_null(), "{j}");
    let d = java(
        kafka,
        "org.apache.kafka.tools.GetOffsetShell",
        &[
            "--bootstrap-server",
            b,
            "--topic",
            "aa-t1",
            "--partitions",
            "0",
            "--time",
            "-2",
        ],
    );
    assert!(d.contains("aa-t1:0:3"), "Java's earliest offset: {d}");
    let j = ok(b, &["list-offsets", "aa-t1"]);
    let p0 = j
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "aa-t1:0")
        .unwrap();
    assert_eq!(p0["offset"], 5, "{j}");

    ok(b, &["alter-group-offsets", "aa-g1", "aa-t1:0:4"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--bootstrap-server", b, "--describe", "--group", "aa-g1"],
    );
    let row = d
        .lines()
        .find(|l| l.contains("aa-t1") && l.split_whitespace().nth(2) == Some("0"))
        .unwrap_or_else(|| panic!("no row for aa-t1 0: {d}"));
    assert_eq!(row.split_whitespace().nth(3), Some("4"), "{d}");
    let j = ok(b, &["group-offsets", "aa-g1"]);
    assert!(j.to_string().contains("aa-t1"), "{j}");
    let e = fails(b, &["delete-group", "aa-nobody"]);
    assert!(
        e.contains("GROUP_ID_NOT_FOUND") && e.contains("aa-nobody"),
        "{e}"
    );
    ok(b, &["delete-group", "aa-g1"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--bootstrap-server", b, "--list"],
    );
    assert!(!d.lines().any(|l| l.trim() == "aa-g1"), "{d}");

    ok(b, &["delete-topic", "aa-t1"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.TopicCommand",
        &["--bootstrap-server", b, "--list"],
    );
    assert!(!d.lines().any(|l| l.trim() == "aa-t1"), "{d}");
}

#[test]
fn a_scram_user_made_with_alter_scram_logs_in_with_ferrokafka_and_librdkafka() {
    let Some(kafka) = node() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();
    let sasl_addr = kafka.listeners(1).sasl_plaintext;

    ok(
        b,
        &[
            "alter-scram",
            "carol",
            "--mechanism",
            "SCRAM-SHA-512",
            "--password",
            "carol-pw",
            "--iterations",
            "8192",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--entity-type",
            "users",
            "--entity-name",
            "carol",
        ],
    );
    assert!(d.contains("SCRAM-SHA-512=iterations=8192"), "{d}");
    let j = ok(b, &["describe-scram"]);
    let users: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["user"].as_str())
        .collect();
    assert!(
        ["alice", "bob", "carol"].iter().all(|u| users.contains(u)),
        "{j}"
    );

    // ferrokafka logs in as carol.
    let login = sasl("SCRAM-SHA-512", "carol", "carol-pw", &["describe-cluster"]);
    let j = ok(&sasl_addr, &strs(&login));
    assert!(
        j["cluster_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{j}"
    );
    // So does librdkafka.
    if let Some(py) = python_with(&["confluent_kafka"]) {
        let out = py.run_timeout(
            r#"
import sys
from confluent_kafka.admin import AdminClient
a = AdminClient({"bootstrap.servers": sys.argv[1], "security.protocol": "SASL_PLAINTEXT",
                 "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "carol",
                 "sasl.password": sys.argv[2]})
md = a.list_topics(timeout=20)
print("brokers", len(md.brokers))
"#,
            &[&sasl_addr, "carol-pw"],
            Duration::from_secs(60),
        );
        assert!(
            out.status.success() && text(&out.stdout).contains("brokers 1"),
            "librdkafka login as carol: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let wrong = sasl("SCRAM-SHA-512", "carol", "nope", &["describe-cluster"]);
    assert!(!ferro(&sasl_addr, &strs(&wrong)).status.success());

    let e = fails(
        b,
        &[
            "alter-scram",
            "dave",
            "--mechanism",
            "SCRAM-SHA-256",
            "--password",
            "x",
            "--iterations",
            "100",
        ],
    );
    assert!(
        e.contains("UNACCEPTABLE_CREDENTIAL") && e.contains("dave"),
        "{e}"
    );
    ok(
        b,
        &["delete-scram", "carol", "--mechanism", "SCRAM-SHA-512"],
    );
    let e = fails(b, &["describe-scram", "carol"]);
    assert!(e.contains("RESOURCE_NOT_FOUND"), "{e}");
    assert!(!ferro(&sasl_addr, &strs(&login)).status.success());
}

#[test]
fn acls_made_by_create_acl_are_enforced_by_the_broker() {
    let Some(kafka) = node() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();
    let sasl_addr = kafka.listeners(1).sasl_plaintext;
    kafka.create_topic("aa-acl", 1, 1, &[]);
    kafka.create_topic("aa-other", 1, 1, &[]);

    let bob = |args: &[&str]| sasl("PLAIN", "bob", "bob-secret", args);
    let e = fails(&sasl_addr, &strs(&bob(&["describe-topic", "aa-acl"])));
    assert!(
        e.contains("TOPIC_AUTHORIZATION_FAILED") && e.contains("aa-acl"),
        "{e}"
    );
    ok(
        b,
        &[
            "create-acl",
            "--principal",
            "User:bob",
            "--operation",
            "describe",
            "--operation",
            "read",
            "--resource-type",
            "topic",
            "--resource-name",
            "aa-acl",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.AclCommand",
        &["--bootstrap-server", b, "--list", "--topic", "aa-acl"],
    );
    assert!(
        d.contains("User:bob") && d.contains("READ") && d.contains("DESCRIBE"),
        "{d}"
    );
    let j = ok(&sasl_addr, &strs(&bob(&["describe-topic", "aa-acl"])));
    assert!(j[0]["error"].is_null(), "{j}");
    let e = fails(&sasl_addr, &strs(&bob(&["describe-topic", "aa-other"])));
    assert!(
        e.contains("TOPIC_AUTHORIZATION_FAILED") && e.contains("aa-other"),
        "{e}"
    );
    let e = fails(
        &sasl_addr,
        &strs(&bob(&["create-topic", "aa-bobs", "-p", "1", "-r", "1"])),
    );
    assert!(
        e.contains("AUTHORIZATION_FAILED") && e.contains("aa-bobs"),
        "{e}"
    );

    let j = ok(
        b,
        &[
            "describe-acls",
            "--principal",
            "User:bob",
            "--resource-type",
            "topic",
        ],
    );
    assert_eq!(j.as_array().unwrap().len(), 2, "{j}");
    ok(
        b,
        &[
            "delete-acls",
            "--principal",
            "User:bob",
            "--resource-name",
            "aa-acl",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.AclCommand",
        &["--bootstrap-server", b, "--list", "--topic", "aa-acl"],
    );
    assert!(!d.contains("User:bob"), "{d}");
    assert!(
        !ferro(&sasl_addr, &strs(&bob(&["describe-topic", "aa-acl"])))
            .status
            .success()
    );
}

#[test]
fn features_elections_reassignments_and_quotas_as_javas_tools_see_them() {
    let Some(kafka) = node() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();

    let j = ok(b, &["describe-features"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.FeatureCommand",
        &["--bootstrap-server", b, "describe"],
    );
    for f in j["finalized"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let line = d
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("FeatureCommand lacks {name}: {d}"));
        // FeatureCommand names metadata.version levels (4.4-IV2); the
        // others are numbers.
        if name != "metadata.version" {
            let level = line
                .split("FinalizedVersionLevel:")
                .nth(1)
                .and_then(|r| r.split_whitespace().next());
            assert_eq!(
                level,
                Some(f["level"].to_string().as_str()),
                "{name}: {line}"
            );
        }
    }
    let mv = j["finalized"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "metadata.version")
        .unwrap()["level"]
        .as_i64()
        .unwrap();
    let j = ok(
        b,
        &[
            "update-features",
            "--feature",
            &format!("metadata.version={mv}"),
            "--validate-only",
        ],
    );
    assert!(j[0]["error"].is_null(), "{j}");
    let e = fails(b, &["update-features", "--feature", "metadata.version=1"]);
    assert!(
        e.contains("INVALID_UPDATE_VERSION") && e.contains("metadata.version"),
        "{e}"
    );

    kafka.create_topic("aa-e", 1, 1, &[]);
    let j = ok(b, &["elect-leaders", "aa-e:0"]);
    assert_eq!(j[0]["elected"], false, "one node: already preferred: {j}");
    let d = java(
        kafka,
        "org.apache.kafka.tools.LeaderElectionCommand",
        &[
            "--bootstrap-server",
            b,
            "--election-type",
            "preferred",
            "--topic",
            "aa-e",
            "--partition",
            "0",
        ],
    );
    assert!(d.contains("already elected"), "Java agrees: {d}");
    let j = ok(b, &["elect-leaders", "--unclean", "aa-e:0"]);
    assert_eq!(j[0]["elected"], false, "{j}");
    let e = fails(b, &["elect-leaders", "aa-gone:0"]);
    assert!(
        e.contains("UNKNOWN_TOPIC_OR_PARTITION") && e.contains("aa-gone:0"),
        "{e}"
    );

    ok(b, &["reassign-partitions", "aa-e:0=1"]);
    let e = fails(b, &["reassign-partitions", "aa-e:0=7"]);
    assert!(e.contains("aa-e:0"), "{e}");
    let j = ok(b, &["list-reassignments"]);
    assert_eq!(j, serde_json::json!([]));
    let d = java(
        kafka,
        "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
        &["--bootstrap-server", b, "--list"],
    );
    assert!(d.contains("No partition reassignments found"), "{d}");

    ok(
        b,
        &[
            "alter-quotas",
            "user=carol",
            "--set",
            "producer_byte_rate=1024",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--entity-type",
            "users",
            "--entity-name",
            "carol",
        ],
    );
    assert!(d.contains("producer_byte_rate=1024"), "{d}");
    java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--alter",
            "--add-config",
            "consumer_byte_rate=2048",
            "--entity-type",
            "clients",
            "--entity-name",
            "aa-app",
        ],
    );
    let j = ok(b, &["describe-quotas", "--entity", "client-id=aa-app"]);
    assert_eq!(j[0]["quotas"]["consumer_byte_rate"], 2048.0, "{j}");
    let e = fails(b, &["alter-quotas", "user=carol", "--set", "bogus_rate=1"]);
    assert!(e.contains("carol"), "{e}");
    ok(
        b,
        &[
            "alter-quotas",
            "user=carol",
            "--delete",
            "producer_byte_rate",
        ],
    );
    let j = ok(b, &["describe-quotas", "--entity", "user=carol"]);
    assert_eq!(j, serde_json::json!([]));
}

/// Opens a transaction as `tid` with librdkafka, writes one record to
/// `topic`/`part`, prints `ready` and waits for stdin to close.
const HOLD_TXN: &str = r#"
import sys
from confluent_kafka import Producer
bootstrap, tid, topic, part = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid,
              "transaction.timeout.ms": 120000})
p.init_transactions(60)
p.begin_transaction()
p.produce(topic, b"v", partition=part)
if p.flush(60) != 0:
    raise SystemExit("not delivered")
print("ready", flush=True)
sys.stdin.read()
"#;

struct Held(Child);

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hold(py: &ferrokafka_peers::Python, bootstrap: &str, tid: &str, topic: &str, part: i32) -> Held {
    let mut child = py
        .command()
        .arg("-c")
        .arg(HOLD_TXN)
        .args([bootstrap, tid, topic, &part.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let held = Held(child);
    let line = rx
        .recv_timeout(Duration::from_secs(90))
        .expect("the transactional producer did not get ready within 90 s");
    assert_eq!(line.trim(), "ready", "python said {line:?}");
    held
}

#[test]
fn transaction_verbs_as_javas_transactions_command_sees_them() {
    let Some(kafka) = node() else { return };
    let Some(py) = python_with(&["confluent_kafka"]) else {
        return;
    };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();
    kafka.create_topic("aa-tx", 2, 1, &[]);
    let _one_txn = hold(&py, b, "aa-app-1", "aa-tx", 0);
    let _two_txn = hold(&py, b, "aa-app-2", "aa-tx", 1);
    // read_committed stops at the open transactions (the last stable
    // offset), read_uncommitted does not.
    let offset_of = |j: &Value, name: &str| {
        j.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["offset"].as_i64())
            .unwrap_or_else(|| panic!("{name} missing: {j}"))
    };
    let j = ok(
        b,
        &["list-offsets", "aa-tx", "--isolation", "read_committed"],
    );
    let stable = offset_of(&j, "aa-tx:1");
    let j = ok(b, &["list-offsets", "aa-tx"]);
    assert!(offset_of(&j, "aa-tx:1") > stable, "{j} vs LSO {stable}");

    let j = ok(b, &["list-transactions", "--state", "Ongoing"]);
    let ids: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["transactional_id"].as_str())
        .collect();
    assert!(
        ids.contains(&"aa-app-1") && ids.contains(&"aa-app-2"),
        "{j}"
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.TransactionsCommand",
        &["--bootstrap-server", b, "list"],
    );
    assert!(d.contains("aa-app-1") && d.contains("aa-app-2"), "{d}");

    let j = ok(b, &["describe-transactions", "aa-app-1"]);
    assert_eq!(j[0]["state"], "Ongoing", "{j}");
    let pid = j[0]["producer_id"].as_i64().unwrap();
    let epoch = j[0]["producer_epoch"].as_i64().unwrap();
    let d = java(
        kafka,
        "org.apache.kafka.tools.TransactionsCommand",
        &[
            "--bootstrap-server",
            b,
            "describe",
            "--transactional-id",
            "aa-app-1",
        ],
    );
    assert!(d.contains(&pid.to_string()) && d.contains("Ongoing"), "{d}");

    let j = ok(b, &["describe-producers", "aa-tx:0"]);
    let p = &j[0]["producers"][0];
    assert_eq!(p["producer_id"], pid, "{j}");
    assert_eq!(p["current_txn_start_offset"], 0, "{j}");
    let d = java(
        kafka,
        "org.apache.kafka.tools.TransactionsCommand",
        &[
            "--bootstrap-server",
            b,
            "describe-producers",
            "--topic",
            "aa-tx",
            "--partition",
            "0",
        ],
    );
    assert!(d.contains(&pid.to_string()), "{d}");

    let j = ok(b, &["fence-producers", "aa-app-1"]);
    assert_eq!(j[0]["producer_id"], pid, "{j}");
    assert!(j[0]["producer_epoch"].as_i64().unwrap() > epoch, "{j}");
    let d = java(
        kafka,
        "org.apache.kafka.tools.TransactionsCommand",
        &[
            "--bootstrap-server",
            b,
            "describe",
            "--transactional-id",
            "aa-app-1",
        ],
    );
    assert!(!d.contains("Ongoing"), "fenced: the transaction ended: {d}");

    // aa-app-2's transaction hangs on aa-tx:1 until aborted there.
    let j = ok(b, &["describe-producers", "aa-tx:1"]);
    let p = j[0]["producers"][0].clone();
    let (pid2, epoch2) = (
        p["producer_id"].as_i64().unwrap().to_string(),
        p["producer_epoch"].as_i64().unwrap().to_string(),
    );
    assert_eq!(
        p["current_txn_start_offset"].as_i64(),
        Some(stable),
        "the read_committed end is where the open transaction starts: {j}"
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.TransactionsCommand",
        &[
            "--bootstrap-server",
            b,
            "describe-producers",
            "--topic",
            "aa-tx",
            "--partition",
            "1",
        ],
    );
    let row = d
        .lines()
        .find(|l| l.split_whitespace().next() == Some(pid2.as_str()))
        .unwrap_or_else(|| panic!("no row for producer {pid2}: {d}"));
    assert_eq!(
        row.split_whitespace().last(),
        Some(stable.to_string().as_str()),
        "Java's CurrentTransactionStartOffset: {d}"
    );
    ok(
        b,
        &[
            "abort-transaction",
            "aa-tx:1",
            "--producer-id",
            &pid2,
            "--producer-epoch",
            &epoch2,
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.TransactionsCommand",
        &[
            "--bootstrap-server",
            b,
            "describe-producers",
            "--topic",
            "aa-tx",
            "--partition",
            "1",
        ],
    );
    let row = d
        .lines()
        .find(|l| l.split_whitespace().next() == Some(pid2.as_str()))
        .unwrap_or_else(|| panic!("no row for producer {pid2}: {d}"));
    assert_eq!(
        row.split_whitespace().last(),
        Some("None"),
        "no open transaction left on aa-tx:1: {d}"
    );
    let e = fails(b, &["describe-transactions", "aa-nobody"]);
    assert!(e.contains("TRANSACTIONAL_ID_NOT_FOUND"), "{e}");
}

/// A topic id as Java prints it (`Uuid.toString`: URL-safe base64 of the
/// 16 bytes, no padding), from our hyphenated form.
fn java_uuid(hyphenated: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let hex: String = hyphenated.chars().filter(|c| *c != '-').collect();
    let bytes: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The reading verbs (`list-topics`, `describe-topic`, `describe-configs`
/// of a topic and a broker, `describe-cluster`, `describe-log-dirs`,
/// `list-offsets` at each --time, `list-groups`, `describe-group`) answer
/// what Java's tools answer; `alter-configs` of a broker and
/// `delete-group-offsets` change what Java's tools then show.
#[test]
fn reading_verbs_agree_with_javas_tools() {
    let Some(kafka) = node() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();
    kafka.create_topic("aa-r", 2, 1, &[("retention.ms", "7200000")]);
    produce(b, "aa-r", 0, 4);
    std::thread::sleep(Duration::from_millis(50));
    let mid = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    std::thread::sleep(Duration::from_millis(50));
    produce(b, "aa-r", 0, 2);
    produce(b, "aa-r", 1, 2);

    let j = ok(b, &["list-topics"]);
    let ours: Vec<&str> = j
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .filter(|n| !n.starts_with("__"))
        .collect();
    let d = java(
        kafka,
        "org.apache.kafka.tools.TopicCommand",
        &["--bootstrap-server", b, "--list", "--exclude-internal"],
    );
    let mut theirs: Vec<&str> = d.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut ours = ours;
    ours.sort_unstable();
    theirs.sort_unstable();
    assert_eq!(ours, theirs, "list-topics against TopicCommand --list");

    let j = ok(b, &["describe-topic", "aa-r"]);
    let id = j[0]["topic_id"].as_str().expect("a topic id").to_string();
    let d = java(
        kafka,
        "org.apache.kafka.tools.TopicCommand",
        &["--bootstrap-server", b, "--describe", "--topic", "aa-r"],
    );
    assert!(
        d.contains(&format!("TopicId: {}", java_uuid(&id))),
        "our id {id} is Java's: {d}"
    );
    for p in j[0]["partitions"].as_array().unwrap() {
        let row = format!(
            "Partition: {}\tLeader: {}\tReplicas: {}",
            p["partition"], p["leader"], p["replicas"][0]
        );
        assert!(d.contains(&row), "{row:?} in {d}");
    }
    assert!(
        j[0]["authorized_operations"]
            .as_array()
            .is_some_and(|o| o.iter().any(|x| x == "ALTER_CONFIGS")),
        "a super user may do everything: {j}"
    );

    let j = ok(b, &["describe-configs", "topic", "aa-r"]);
    let entry = j["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "retention.ms")
        .cloned()
        .unwrap();
    assert_eq!(entry["value"], "7200000");
    assert_eq!(entry["source"], "DYNAMIC_TOPIC_CONFIG");
    ok(
        b,
        &[
            "alter-configs",
            "broker",
            "1",
            "--set",
            "log.cleaner.backoff.ms=20000",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--entity-type",
            "brokers",
            "--entity-name",
            "1",
        ],
    );
    assert!(d.contains("log.cleaner.backoff.ms=20000"), "{d}");
    let j = ok(b, &["describe-configs", "broker", "1"]);
    let entry = j["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "log.cleaner.backoff.ms")
        .cloned()
        .unwrap();
    assert_eq!(entry["value"], "20000", "{entry}");
    assert_eq!(entry["source"], "DYNAMIC_BROKER_CONFIG", "{entry}");
    ok(
        b,
        &[
            "alter-configs",
            "broker",
            "1",
            "--delete",
            "log.cleaner.backoff.ms",
        ],
    );
    let d = java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--entity-type",
            "brokers",
            "--entity-name",
            "1",
        ],
    );
    assert!(!d.contains("log.cleaner.backoff.ms=20000"), "{d}");

    let j = ok(b, &["describe-cluster"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.ClusterTool",
        &["cluster-id", "--bootstrap-server", b],
    );
    let cid = j["cluster_id"].as_str().unwrap();
    assert!(d.contains(&format!("Cluster ID: {cid}")), "{cid} vs {d}");
    assert_eq!(j["brokers"][0]["id"], 1, "{j}");

    let j = ok(b, &["describe-log-dirs"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.LogDirsCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--topic-list",
            "aa-r",
        ],
    );
    let theirs: Value = d
        .lines()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON from LogDirsCommand: {d}"));
    for dir in theirs["brokers"][0]["logDirs"].as_array().unwrap() {
        let path = dir["logDir"].as_str().unwrap();
        let mine = j
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["path"] == path)
            .unwrap_or_else(|| panic!("log dir {path} missing: {j}"));
        for p in dir["partitions"].as_array().unwrap() {
            let name = p["partition"].as_str().unwrap();
            let (t, n) = name.rsplit_once('-').unwrap();
            let r = mine["replicas"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["topic"] == t && r["partition"].as_i64() == n.parse::<i64>().ok())
                .unwrap_or_else(|| panic!("{name} missing in {mine}"));
            assert_eq!(r["size"], p["size"], "{name}: {r} vs {p}");
        }
    }

    for (ours, javas) in [
        ("earliest", "-2"),
        ("latest", "-1"),
        ("max", "-3"),
        (mid.as_str(), mid.as_str()),
    ] {
        let j = ok(b, &["list-offsets", "aa-r", "--time", ours]);
        let d = java(
            kafka,
            "org.apache.kafka.tools.GetOffsetShell",
            &["--bootstrap-server", b, "--topic", "aa-r", "--time", javas],
        );
        if ours == mid {
            assert_eq!(j[0]["offset"], 4, "the first record after {mid}: {j}");
        }
        for r in j.as_array().unwrap() {
            let line = format!("{}:{}", r["name"].as_str().unwrap(), r["offset"]);
            assert!(
                d.lines().any(|l| l.trim() == line),
                "--time {ours}: {line} not in Java's {d}"
            );
        }
    }

    ok(b, &["alter-group-offsets", "aa-gr", "aa-r:0:3", "aa-r:1:1"]);
    let j = ok(b, &["list-groups"]);
    let g = j
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "aa-gr")
        .cloned()
        .unwrap_or_else(|| panic!("aa-gr not listed: {j}"));
    let d = java(
        kafka,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--bootstrap-server", b, "--list"],
    );
    assert!(d.lines().any(|l| l.trim() == "aa-gr"), "{d}");
    let j = ok(b, &["describe-group", "aa-gr"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--group",
            "aa-gr",
            "--state",
        ],
    );
    let state = j["state"].as_str().unwrap();
    assert_eq!(g["state"], state);
    let row = d
        .lines()
        .find(|l| l.starts_with("aa-gr"))
        .unwrap_or_else(|| panic!("no state row: {d}"));
    assert!(row.split_whitespace().any(|w| w == state), "{state} vs {d}");
    ok(b, &["delete-group-offsets", "aa-gr", "aa-r:1"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        &["--bootstrap-server", b, "--describe", "--group", "aa-gr"],
    );
    let parts: Vec<&str> = d
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("aa-r"))
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    assert_eq!(parts, vec!["0"], "only aa-r:0 keeps its offset: {d}");
    ok(b, &["delete-group", "aa-gr"]);
    ok(b, &["delete-topic", "aa-r"]);
}

/// The library's operations no verb exposes, against the real broker, each
/// effect read back by Java's tools: delete a topic by id, the legacy
/// AlterConfigs (which replaces a topic's whole dynamic configuration),
/// incremental append and subtract, broker logger configs, and removing a
/// static member that left without a LeaveGroup.
#[test]
fn library_only_operations_as_javas_tools_see_them() {
    use ferrokafka::admin::{AdminClient, AdminOptions, ConfigResource, MemberToRemove};
    use ferrokafka::consumer::Consumer;
    let Some(kafka) = node() else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _logs = kafka.logs_on_failure();
    let b = kafka.bootstrap();
    let b = b.as_str();
    let a = AdminClient::new(&ClientConfig::new().set("bootstrap.servers", b)).unwrap();
    let o = AdminOptions::new().request_timeout(Duration::from_secs(20));
    let topic_configs = |name: &str| {
        java(
            kafka,
            "org.apache.kafka.tools.ConfigCommand",
            &[
                "--bootstrap-server",
                b,
                "--describe",
                "--entity-type",
                "topics",
                "--entity-name",
                name,
            ],
        )
    };

    kafka.create_topic("aa-id", 1, 1, &[]);
    let d = a.describe_topics_blocking(&["aa-id"], &o).unwrap();
    let id = d[0]
        .1
        .as_ref()
        .unwrap()
        .topic_id
        .expect("Kafka 4.4 sends ids");
    let r = a.delete_topics_by_id_blocking(&[id], &o).unwrap();
    assert_eq!(r[0].1.as_ref().unwrap(), "aa-id", "{r:?}");
    let d = java(
        kafka,
        "org.apache.kafka.tools.TopicCommand",
        &["--bootstrap-server", b, "--list"],
    );
    assert!(!d.lines().any(|l| l.trim() == "aa-id"), "{d}");

    kafka.create_topic("aa-cf", 1, 1, &[("retention.ms", "7200000")]);
    let r = a
        .alter_configs_blocking(
            &[(
                ConfigResource::topic("aa-cf"),
                vec![("segment.ms".to_string(), "3600000".to_string())],
            )],
            &o,
        )
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let d = topic_configs("aa-cf");
    assert!(
        d.contains("segment.ms=3600000") && !d.contains("retention.ms=7200000"),
        "the legacy alter replaced the whole dynamic configuration: {d}"
    );
    ok(
        b,
        &[
            "alter-configs",
            "topic",
            "aa-cf",
            "--append",
            "cleanup.policy=compact",
        ],
    );
    let d = topic_configs("aa-cf");
    assert!(d.contains("cleanup.policy=delete,compact"), "{d}");
    ok(
        b,
        &[
            "alter-configs",
            "topic",
            "aa-cf",
            "--subtract",
            "cleanup.policy=delete",
        ],
    );
    let d = topic_configs("aa-cf");
    assert!(
        d.contains("cleanup.policy=compact") && !d.contains("delete,compact"),
        "{d}"
    );

    let j = ok(b, &["describe-configs", "broker-logger", "1"]);
    let d = java(
        kafka,
        "org.apache.kafka.tools.ConfigCommand",
        &[
            "--bootstrap-server",
            b,
            "--describe",
            "--entity-type",
            "broker-loggers",
            "--entity-name",
            "1",
        ],
    );
    let loggers = j["configs"].as_array().unwrap();
    assert!(loggers.len() > 3, "{j}");
    for l in loggers.iter().take(20) {
        let line = format!(
            "{}={}",
            l["name"].as_str().unwrap(),
            l["value"].as_str().unwrap()
        );
        assert!(d.contains(&line), "{line} not in Java's {d}");
    }

    // A static member that went away without leaving stays in its group
    // until removed.
    kafka.create_topic("aa-sm", 1, 1, &[]);
    let c = Consumer::new(
        &ClientConfig::new()
            .set("bootstrap.servers", b)
            .set("group.id", "aa-static")
            .set("group.instance.id", "aa-inst")
            .set("session.timeout.ms", "60000"),
    )
    .unwrap();
    c.subscribe(&["aa-sm"]).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while c.assignment().is_empty() {
        assert!(std::time::Instant::now() < deadline, "never assigned");
        let _ = c.try_recv();
        std::thread::sleep(Duration::from_millis(100));
    }
    c.close_blocking(Duration::from_secs(20)).unwrap();
    drop(c);
    let members = || {
        java(
            kafka,
            "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            &[
                "--bootstrap-server",
                b,
                "--describe",
                "--group",
                "aa-static",
                "--members",
            ],
        )
    };
    let d = members();
    assert!(d.contains("aa-inst"), "the static member stays: {d}");
    let r = a
        .remove_group_members_blocking(
            "aa-static",
            &[MemberToRemove::InstanceId("aa-inst".into())],
            &o,
        )
        .unwrap();
    assert!(r[0].1.is_ok(), "{r:?}");
    let d = members();
    assert!(!d.contains("aa-inst"), "removed: {d}");
    ok(b, &["delete-group", "aa-static"]);
}
