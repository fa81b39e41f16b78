//! `ferrokafka consume -G`: three balanced consumer processes share a
//! topic on the embedded mock with each assignor; when one is killed the
//! others take its partitions over and no record is lost.

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 6;

fn produce(cluster: &MockCluster, topic: &str, range: std::ops::Range<usize>) {
    let p =
        Producer::new(&ClientConfig::new().set("bootstrap.servers", cluster.bootstrap_servers()))
            .unwrap();
    for i in range {
        let _delivery = p
            .send(
                ProducerRecord::new(topic)
                    .partition(i as i32 % PARTITIONS)
                    .value(format!("v{i}")),
            )
            .unwrap();
    }
    p.flush(Duration::from_secs(10)).unwrap();
}

struct Member {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(
    dir: &std::path::Path,
    n: usize,
    bootstrap: &str,
    group: &str,
    assignor: &str,
    topic: &str,
) -> Member {
    let out = dir.join(format!("out{n}"));
    let err = dir.join(format!("err{n}"));
    let child = Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .args(["consume", "-b", bootstrap, "-G", group])
        .args(["-X", &format!("partition.assignment.strategy={assignor}")])
        .args([
            "-X",
            "heartbeat.interval.ms=100",
            "-X",
            "session.timeout.ms=2000",
        ])
        .args([
            "-X",
            "auto.commit.interval.ms=100",
            "-X",
            "fetch.wait.max.ms=50",
        ])
        .arg(topic)
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .unwrap();
    Member { child, out, err }
}

fn lines(members: &[&Member]) -> BTreeSet<String> {
    members
        .iter()
        .flat_map(|m| {
            std::fs::read_to_string(&m.out)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn wait_for(members: &[&Member], want: &BTreeSet<String>, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let seen = lines(members);
        if want.is_subset(&seen) {
            return;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = want.difference(&seen).collect();
            let errs: Vec<String> = members
                .iter()
                .map(|m| std::fs::read_to_string(&m.err).unwrap_or_default())
                .collect();
            panic!("{what}: missing {missing:?}\n{}", errs.join("\n---\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn three_members_share_and_survive_a_kill(assignor: &str) {
    let topic = format!("g-{assignor}");
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic(&topic, PARTITIONS, 1)
        .build_blocking()
        .unwrap();
    let b = cluster.bootstrap_servers();
    let dir = std::env::temp_dir().join(format!(
        "ferrokafka-group-cli-{assignor}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let group = format!("cli-{assignor}");
    let m0 = start(&dir, 0, &b, &group, assignor, &topic);
    let m1 = start(&dir, 1, &b, &group, assignor, &topic);
    let mut m2 = start(&dir, 2, &b, &group, assignor, &topic);
    // Each member is told its share before anything is produced.
    let deadline = Instant::now() + Duration::from_secs(30);
    for m in [&m0, &m1, &m2] {
        loop {
            let err = std::fs::read_to_string(&m.err).unwrap_or_default();
            if err.contains(&format!("rebalanced: assigned: {topic} [")) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{assignor}: a member never got partitions: {err}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    produce(&cluster, &topic, 0..60);
    let first: BTreeSet<String> = (0..60).map(|i| format!("v{i}")).collect();
    wait_for(&[&m0, &m1, &m2], &first, assignor);
    let before_kill: Vec<usize> = [&m0, &m1]
        .iter()
        .map(|m| std::fs::read_to_string(&m.err).unwrap_or_default().len())
        .collect();
    m2.child.kill().unwrap();
    m2.child.wait().unwrap();
    produce(&cluster, &topic, 60..120);
    let all: BTreeSet<String> = (0..120).map(|i| format!("v{i}")).collect();
    // Records the killed member printed count: at least once overall.
    wait_for(&[&m0, &m1, &m2], &all, assignor);
    let later: BTreeSet<String> = (60..120).map(|i| format!("v{i}")).collect();
    wait_for(&[&m0, &m1], &later, assignor);
    for (m, from) in [&m0, &m1].iter().zip(before_kill) {
        let err = std::fs::read_to_string(&m.err).unwrap_or_default();
        let after = &err[from.min(err.len())..];
        assert!(
            after.contains("assigned"),
            "{assignor}: a survivor takes over: {after}"
        );
        if assignor == "cooperative-sticky" {
            // Incremental: the survivors only gain, nothing they keep is revoked.
            assert!(!after.contains("revoked"), "{assignor}: {after}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn range_three_processes() {
    three_members_share_and_survive_a_kill("range");
}

#[test]
fn roundrobin_three_processes() {
    three_members_share_and_survive_a_kill("roundrobin");
}

#[test]
fn cooperative_sticky_three_processes() {
    three_members_share_and_survive_a_kill("cooperative-sticky");
}
