//! `ferrokafka consume -G`: three balanced consumer processes share a
//! topic with each assignor, on the embedded mock and on librdkafka's mock
//! cluster; when one is killed the others take its partitions over and no
//! record is lost. With cooperative-sticky, a partition that stays with a
//! member is never revoked (checked on the rebalance events each member
//! prints on stderr).

use ferrokafka::producer::{Producer, ProducerRecord};
use ferrokafka::ClientConfig;
use ferrokafka_mock::MockCluster;
use ferrokafka_peers::RdkafkaMock;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 6;

/// How long a member may take to get its share, or the survivors to take
/// the killed member's partitions over.
const SETTLE: Duration = Duration::from_secs(25);

fn produce(bootstrap: &str, topic: &str, range: std::ops::Range<usize>) {
    let p = Producer::new(&ClientConfig::new().set("bootstrap.servers", bootstrap)).unwrap();
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

impl Member {
    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }
}

/// Where the group runs: a name for messages, and the session timeout its
/// members use.
struct Setup<'a> {
    name: &'a str,
    bootstrap: &'a str,
    session_timeout_ms: u32,
}

fn start(dir: &Path, n: usize, at: &Setup, group: &str, assignor: &str, topic: &str) -> Member {
    let out = dir.join(format!("out{n}"));
    let err = dir.join(format!("err{n}"));
    let child = Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .args(["consume", "-b", at.bootstrap, "-G", group])
        .args(["-X", &format!("partition.assignment.strategy={assignor}")])
        .args(["-X", "heartbeat.interval.ms=100", "-X"])
        .arg(format!("session.timeout.ms={}", at.session_timeout_ms))
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

fn stderrs(members: &[&Member]) -> String {
    let errs: Vec<String> = members.iter().map(|m| m.stderr()).collect();
    errs.join("\n---\n")
}

fn wait_for(members: &[&Member], want: &BTreeSet<String>, what: &str) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let seen = lines(members);
        if want.is_subset(&seen) {
            return;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = want.difference(&seen).collect();
            panic!("{what}: missing {missing:?}\n{}", stderrs(members));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One rebalance event as `consume -G` prints it on stderr.
#[derive(Debug, Clone, PartialEq)]
enum Event {
    Assigned(BTreeSet<i32>),
    Revoked(BTreeSet<i32>),
    Lost(BTreeSet<i32>),
}

/// The rebalance events of a member's stderr, oldest first.
fn events(stderr: &str) -> Vec<Event> {
    let parts = |list: &str| -> BTreeSet<i32> {
        list.split(", ")
            .filter_map(|x| {
                let (_, p) = x.rsplit_once('[')?;
                p.trim_end_matches(']').parse().ok()
            })
            .collect()
    };
    stderr
        .lines()
        .filter_map(|l| {
            if let Some((_, list)) = l.split_once("rebalanced: assigned: ") {
                Some(Event::Assigned(parts(list)))
            } else if let Some((_, list)) = l.split_once("rebalanced: revoked: ") {
                Some(Event::Revoked(parts(list)))
            } else {
                l.split_once("partitions lost: ")
                    .map(|(_, list)| Event::Lost(parts(list)))
            }
        })
        .collect()
}

/// What a member owns after its events: an eager assignor's assigned
/// event is the whole assignment (it revoked everything first), a
/// cooperative one's only the partitions added.
fn owned(events: &[Event]) -> BTreeSet<i32> {
    let mut own = BTreeSet::new();
    for e in events {
        match e {
            Event::Assigned(p) => own.extend(p.iter().copied()),
            Event::Revoked(p) | Event::Lost(p) => own.retain(|x| !p.contains(x)),
        }
    }
    own
}

/// Cooperative rebalancing (KIP-429): a member only revokes partitions it
/// owns and that move away, so none comes back in its next assignment.
fn assert_incremental(events: &[Event], who: &str) {
    let mut own = BTreeSet::new();
    let mut just_revoked = BTreeSet::new();
    for e in events {
        match e {
            Event::Assigned(p) => {
                let back: Vec<_> = p.intersection(&just_revoked).collect();
                assert!(
                    back.is_empty(),
                    "{who}: partitions {back:?} were revoked though they stayed: {events:?}"
                );
                let dup: Vec<_> = p.intersection(&own).collect();
                assert!(dup.is_empty(), "{who}: {dup:?} assigned twice: {events:?}");
                own.extend(p.iter().copied());
                just_revoked.clear();
            }
            Event::Revoked(p) => {
                assert!(
                    p.is_subset(&own),
                    "{who}: revoked {p:?} not owned: {events:?}"
                );
                own.retain(|x| !p.contains(x));
                just_revoked.extend(p.iter().copied());
            }
            Event::Lost(p) => panic!("{who}: partitions {p:?} lost in a healthy group"),
        }
    }
}

/// Waits until the `members`' assignments (from their events) are
/// disjoint and together cover every partition.
fn wait_covered(members: &[&Member], what: &str) {
    let all: BTreeSet<i32> = (0..PARTITIONS).collect();
    let deadline = Instant::now() + SETTLE;
    loop {
        let owned: Vec<BTreeSet<i32>> = members
            .iter()
            .map(|m| owned(&events(&m.stderr())))
            .collect();
        let total: usize = owned.iter().map(BTreeSet::len).sum();
        let union: BTreeSet<i32> = owned.iter().flatten().copied().collect();
        if union == all && total == all.len() && owned.iter().all(|o| !o.is_empty()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: assignments {owned:?} never covered {all:?}\n{}",
            stderrs(members)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn three_members_share_and_survive_a_kill(at: &Setup, assignor: &str, topic: &str) {
    let (name, bootstrap) = (at.name, at.bootstrap);
    let what = format!("{assignor} on {name}");
    let dir = std::env::temp_dir().join(format!(
        "ferrokafka-group-cli-{name}-{assignor}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let group = format!("cli-{assignor}");
    let m0 = start(&dir, 0, at, &group, assignor, topic);
    let m1 = start(&dir, 1, at, &group, assignor, topic);
    let mut m2 = start(&dir, 2, at, &group, assignor, topic);
    // Each member is told its share before anything is produced.
    wait_covered(&[&m0, &m1, &m2], &what);
    produce(bootstrap, topic, 0..60);
    let first: BTreeSet<String> = (0..60).map(|i| format!("v{i}")).collect();
    wait_for(&[&m0, &m1, &m2], &first, &what);
    let before_kill: Vec<String> = [&m0, &m1].iter().map(|m| m.stderr()).collect();
    m2.child.kill().unwrap();
    m2.child.wait().unwrap();
    produce(bootstrap, topic, 60..120);
    // The survivors own every partition between them.
    wait_covered(&[&m0, &m1], &what);
    let all: BTreeSet<String> = (0..120).map(|i| format!("v{i}")).collect();
    // Records the killed member printed count: at least once overall.
    wait_for(&[&m0, &m1, &m2], &all, &what);
    let later: BTreeSet<String> = (60..120).map(|i| format!("v{i}")).collect();
    wait_for(&[&m0, &m1], &later, &what);
    for (m, before) in [&m0, &m1].iter().zip(&before_kill) {
        let err = m.stderr();
        let after = &err[before.len().min(err.len())..];
        assert!(
            after.contains("assigned"),
            "{what}: a survivor takes over: {after}"
        );
        if assignor == "cooperative-sticky" {
            // Incremental: the survivors only gain, nothing they keep is
            // revoked.
            assert!(!after.contains("revoked"), "{what}: {after}");
            let (then, now) = (owned(&events(before)), owned(&events(&err)));
            assert!(then.is_subset(&now), "{what}: {then:?} -> {now:?}");
        }
    }
    if assignor == "cooperative-sticky" {
        // While the group only grows, whatever a member revokes moves to
        // another member: it never comes back in its next assignment.
        let killed = m2.stderr();
        for (i, err) in before_kill.iter().chain([&killed]).enumerate() {
            let who = format!("{what}: member {i} (all: {})", stderrs(&[&m0, &m1, &m2]));
            assert_incremental(&events(err), &who);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn on_ferrokafka_mock(assignor: &str) {
    let topic = format!("g-{assignor}");
    let cluster = MockCluster::builder()
        .brokers(2)
        .topic(&topic, PARTITIONS, 1)
        .build_blocking()
        .unwrap();
    let setup = Setup {
        name: "ferrokafka-mock",
        bootstrap: &cluster.bootstrap_servers(),
        session_timeout_ms: 2000,
    };
    three_members_share_and_survive_a_kill(&setup, assignor, &topic);
}

fn on_librdkafka_mock(assignor: &str) {
    let topic = format!("g-{assignor}");
    let Some(mock) = RdkafkaMock::start(2, &[&format!("{topic}:{PARTITIONS}")]) else {
        return;
    };
    // librdkafka's mock expires members by their session even while their
    // JoinGroup waits out its 3 s initial rebalance delay: a shorter
    // session never lets a first join complete.
    let setup = Setup {
        name: "librdkafka-mock",
        bootstrap: mock.bootstrap(),
        session_timeout_ms: 4000,
    };
    three_members_share_and_survive_a_kill(&setup, assignor, &topic);
}

#[test]
fn range_three_processes() {
    on_ferrokafka_mock("range");
}

#[test]
fn roundrobin_three_processes() {
    on_ferrokafka_mock("roundrobin");
}

#[test]
fn cooperative_sticky_three_processes() {
    on_ferrokafka_mock("cooperative-sticky");
}

#[test]
fn range_three_processes_on_librdkafka_mock() {
    on_librdkafka_mock("range");
}

#[test]
fn roundrobin_three_processes_on_librdkafka_mock() {
    on_librdkafka_mock("roundrobin");
}

#[test]
fn cooperative_sticky_three_processes_on_librdkafka_mock() {
    on_librdkafka_mock("cooperative-sticky");
}

#[test]
fn rebalance_events_are_parsed_as_printed() {
    let err = "% Group g rebalanced: assigned: t [0], t [3]\n\
               % Group g rebalanced: revoked: t [3]\n\
               % Reached end of topic t [0] at offset 4\n\
               % Group g: partitions lost: t [0]\n";
    let ev = events(err);
    assert_eq!(
        ev,
        vec![
            Event::Assigned([0, 3].into()),
            Event::Revoked([3].into()),
            Event::Lost([0].into()),
        ]
    );
    assert!(owned(&ev).is_empty());
    assert_eq!(owned(&ev[..2]), [0].into());
}
