//! The client's group membership against the mock's I/O-free group
//! coordinator, in memory, on one simulated clock (no sockets, no tokio):
//! a quinn-style pair test. The driver here does what the group task does
//! (move requests and answers, run the "callback" for a simulated time)
//! and nothing else, so the schedule is fixed and every run replays it.

use super::assignor::{self, Racks, Subscription};
use super::membership::{Action, MemberSettings, Membership, Notice, Work};
use crate::consumer::fetch::{self, FetchSettings, FetchState};
use crate::consumer::message::Offset;
use crate::TopicPartition;
use bytes::Bytes;
use ferrokafka_mock::sans_io::{Groups, JoinParams, Reply, SyncParams};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

const SESSION: Duration = Duration::from_secs(10);
const HEARTBEAT: Duration = Duration::from_secs(1);

/// One member: its state machine, its fetch engine, and the callback it
/// is "running" (until when, and what it does on return).
struct Member {
    m: Membership,
    fetch: FetchState,
    /// A callback in progress: returns at this simulated time.
    callback_until: Option<Duration>,
    /// Ignores [`Work::Hold`]'s rule and fetches at once, as the driver
    /// did before the hold: the control run that shows the race.
    naive: bool,
    /// When the last callback started.
    callback_started: Duration,
    /// How long this member's callbacks for an assignment take.
    assigned_callback: Duration,
    /// Where the assignment callback seeks its partitions just before it
    /// returns (the start it moves).
    seek_to: Option<i64>,
    /// The partitions the running assignment callback will seek.
    seeking: Vec<TopicPartition>,
    /// Pending work not yet carried out (after a callback).
    work: Vec<Work>,
    heartbeats: usize,
    committed_lookups: Vec<TopicPartition>,
    fetched_from: Vec<(TopicPartition, i64)>,
    tickets: Vec<u64>,
}

struct Pair {
    t0: Instant,
    now: Duration,
    groups: Groups,
    members: Vec<Member>,
    next_ticket: u64,
}

fn settings() -> MemberSettings {
    MemberSettings {
        session_timeout: SESSION,
        heartbeat_interval: HEARTBEAT,
        max_poll_interval: Duration::from_secs(3600),
        retry_backoff: Duration::from_millis(100),
        instance_id: None,
        cooperative: false,
        coordinator_query: Duration::from_secs(600),
    }
}

fn tp(p: &TopicPartition) -> TopicPartition {
    p.clone()
}

impl Pair {
    fn new() -> Self {
        Pair {
            t0: Instant::now(),
            now: Duration::ZERO,
            groups: Groups::new(Default::default()),
            members: Vec::new(),
            next_ticket: 1,
        }
    }

    fn instant(&self) -> Instant {
        self.t0 + self.now
    }

    fn add(&mut self, assigned_callback: Duration, seek_to: Option<i64>) -> usize {
        let now = self.instant();
        let mut m = Membership::new(settings(), now);
        m.set_commit_on_revoke(true);
        m.join(now);
        self.members.push(Member {
            m,
            fetch: FetchState::new(FetchSettings::default()),
            callback_until: None,
            callback_started: Duration::ZERO,
            naive: false,
            assigned_callback,
            seek_to,
            seeking: Vec::new(),
            work: Vec::new(),
            heartbeats: 0,
            committed_lookups: Vec::new(),
            fetched_from: Vec::new(),
            tickets: Vec::new(),
        });
        self.members.len() - 1
    }

    /// Runs every member and the coordinator at the current time until
    /// nothing moves.
    fn settle(&mut self) {
        for _ in 0..50 {
            let mut moved = false;
            for i in 0..self.members.len() {
                moved |= self.step(i);
            }
            let ms = self.now.as_millis() as u64;
            self.groups.handle_timeout(ms);
            for c in self.groups.take_completions() {
                moved = true;
                self.complete(c.ticket, c.reply);
            }
            if !moved {
                return;
            }
        }
        panic!("the pair did not settle at {:?}", self.now);
    }

    fn complete(&mut self, ticket: u64, reply: Reply) {
        let now = self.instant();
        let i = self
            .members
            .iter()
            .position(|x| x.tickets.contains(&ticket))
            .expect("a ticket of a member");
        let m = &mut self.members[i].m;
        match reply {
            Reply::Join(r) => m.on_join(
                now,
                r.error,
                r.generation_id,
                &r.member_id,
                &r.leader,
                r.protocol_name.as_deref().unwrap_or(""),
                r.members
                    .into_iter()
                    .map(|x| (x.member_id, x.metadata.to_vec()))
                    .collect(),
            ),
            Reply::Sync(r) => {
                let parts = if r.error == 0 {
                    assignor::decode_assignment(&r.assignment).expect("assignment")
                } else {
                    Vec::new()
                };
                m.on_sync(now, r.error, parts);
            }
        }
    }

    /// One pass of member `i`'s driver: what the group task does.
    fn step(&mut self, i: usize) -> bool {
        let now = self.instant();
        let ms = self.now.as_millis() as u64;
        let mut moved = false;
        // The callback returns at its simulated time.
        if self.members[i]
            .callback_until
            .is_some_and(|t| t <= self.now)
        {
            let x = &mut self.members[i];
            x.callback_until = None;
            // The callback's last act: move the start of its partitions.
            if let Some(o) = x.seek_to {
                for p in std::mem::take(&mut x.seeking) {
                    x.fetch.seek(&tp(&p), Offset::Offset(o));
                }
            }
            x.m.on_callback_done(now);
            moved = true;
        }
        let actions = self.members[i].m.poll(now);
        for a in actions {
            moved = true;
            match a {
                Action::FindCoordinator => self.members[i].m.on_coordinator(now, Ok(())),
                Action::QueryCoordinator => {}
                Action::Join {
                    member_id,
                    owned,
                    generation,
                } => {
                    let meta =
                        assignor::encode_subscription(&["t".to_string()], &owned, generation, None)
                            .unwrap();
                    let ticket = self.next_ticket;
                    self.next_ticket += 1;
                    self.members[i].tickets.push(ticket);
                    self.groups.join(
                        ms,
                        ticket,
                        JoinParams {
                            group_id: "g".into(),
                            member_id,
                            client_id: format!("c{i}"),
                            client_host: "/127.0.0.1".into(),
                            session_timeout_ms: SESSION.as_millis() as i32,
                            rebalance_timeout_ms: 60_000,
                            protocol_type: "consumer".into(),
                            protocols: vec![("range".into(), Bytes::from(meta))],
                            require_known_member_id: true,
                            ..Default::default()
                        },
                    );
                }
                Action::Assign { protocol, members } => {
                    let subs: Vec<Subscription> = members
                        .iter()
                        .map(|(id, meta)| assignor::decode_subscription(id, meta).unwrap())
                        .collect();
                    let counts = BTreeMap::from([("t".to_string(), 4)]);
                    let plan = assignor::assign(&protocol, &subs, &counts, &Racks::new()).unwrap();
                    let out = plan
                        .into_iter()
                        .map(|(id, parts)| (id, assignor::encode_assignment(&parts).unwrap()))
                        .collect();
                    self.members[i].m.assignment_done(out);
                }
                Action::Sync {
                    generation,
                    member_id,
                    protocol,
                    assignments,
                } => {
                    let ticket = self.next_ticket;
                    self.next_ticket += 1;
                    self.members[i].tickets.push(ticket);
                    self.groups.sync(
                        ms,
                        ticket,
                        SyncParams {
                            group_id: "g".into(),
                            generation_id: generation,
                            member_id,
                            protocol_type: Some("consumer".into()),
                            protocol_name: Some(protocol),
                            assignments: assignments
                                .into_iter()
                                .map(|(m, a)| (m, Bytes::from(a)))
                                .collect(),
                            ..Default::default()
                        },
                    );
                }
                Action::Heartbeat {
                    generation,
                    member_id,
                } => {
                    let code = self.groups.heartbeat(ms, "g", &member_id, None, generation);
                    let x = &mut self.members[i];
                    x.heartbeats += 1;
                    x.m.on_heartbeat(now, code);
                }
                Action::Leave { .. } => {}
            }
        }
        let more = self.members[i].m.take_work(now);
        self.members[i].work.extend(more);
        let x = &mut self.members[i];
        while !x.work.is_empty() {
            moved = true;
            match x.work.remove(0) {
                Work::Hold(p) => {
                    for p in &p {
                        if x.naive {
                            x.fetch.assign(tp(p), Offset::Stored);
                        } else {
                            x.fetch.assign_held(tp(p), Offset::Stored);
                        }
                    }
                }
                Work::Release(p) => {
                    for p in &p {
                        x.fetch.release(&tp(p));
                    }
                }
                Work::Unassign(p) => {
                    for p in &p {
                        x.fetch.unassign(&tp(p));
                    }
                }
                Work::Callback(n) => {
                    let long = match &n {
                        Notice::Assigned(p) => {
                            // It seeks what it got just before returning.
                            x.seeking = p.clone();
                            x.assigned_callback
                        }
                        _ => Duration::ZERO,
                    };
                    x.callback_started = self.now;
                    x.callback_until = Some(self.now + long);
                    if long.is_zero() {
                        x.callback_until = None;
                        x.m.on_callback_done(now);
                    }
                }
                Work::Commit(_) | Work::Identity { .. } | Work::Error(_) => {}
            }
        }
        // The fetch engine: every partition led by broker 1.
        for a in x.fetch.poll(now, &mut |_, _| Some((1, Some(0)))) {
            match a {
                fetch::Action::Committed { tp, .. } => x.committed_lookups.push(tp),
                fetch::Action::Fetch { parts, .. } => {
                    for p in parts {
                        x.fetched_from.push((p.tp, p.offset));
                    }
                }
                _ => {}
            }
        }
        moved
    }

    /// Advances the clock in `step` increments up to `until`.
    fn run_until(&mut self, until: Duration, step: Duration) {
        while self.now < until {
            self.now += step;
            self.settle();
        }
    }
}

fn owned(x: &Member) -> Vec<TopicPartition> {
    x.m.owned()
}

#[test]
fn a_rebalance_with_a_callback_longer_than_the_session_keeps_the_group_and_the_seek() {
    let mut pair = Pair::new();
    let a = pair.add(Duration::ZERO, None);
    pair.settle();
    assert!(pair.members[a].m.is_stable());
    assert_eq!(owned(&pair.members[a]).len(), 4);
    pair.run_until(Duration::from_secs(3), Duration::from_millis(500));

    // A second member joins; its assignment callback takes twice the
    // session timeout and seeks its partitions to 1000.
    let b = pair.add(SESSION * 2, Some(1000));
    pair.run_until(Duration::from_secs(6), Duration::from_millis(500));
    assert!(pair.members[a].m.is_stable(), "a rejoined");
    assert!(pair.members[b].m.is_stable(), "b synced");
    let (oa, ob) = (owned(&pair.members[a]), owned(&pair.members[b]));
    assert_eq!(oa.len(), 2);
    assert_eq!(ob.len(), 2);
    assert!(
        pair.members[b].callback_until.is_some(),
        "b's callback runs"
    );
    let beats_before = pair.members[b].heartbeats;
    let started = pair.members[b].callback_started;

    // The callback runs past the session: heartbeats go on, the group does
    // not rebalance, and nothing of b's is fetched or looked up.
    pair.run_until(
        started + SESSION * 2 - Duration::from_secs(1),
        Duration::from_millis(500),
    );
    let x = &pair.members[b];
    assert!(x.callback_until.is_some());
    assert!(x.m.is_stable());
    let beats = x.heartbeats - beats_before;
    assert!(beats >= 15, "{beats} heartbeats during the callback");
    assert_eq!(owned(x), ob, "b kept its partitions through the callback");
    assert!(x.committed_lookups.is_empty(), "{:?}", x.committed_lookups);
    assert!(x.fetched_from.is_empty(), "{:?}", x.fetched_from);
    assert_eq!(owned(&pair.members[a]), oa);

    // Once it returned, b fetches from where the callback moved it, never
    // from the committed offset.
    pair.run_until(
        started + SESSION * 2 + Duration::from_secs(2),
        Duration::from_millis(500),
    );
    let x = &pair.members[b];
    assert!(x.callback_until.is_none());
    assert!(x.committed_lookups.is_empty(), "{:?}", x.committed_lookups);
    let mut fetched: Vec<_> = x.fetched_from.clone();
    fetched.sort();
    fetched.dedup();
    let want: Vec<_> = ob.iter().map(|p| (tp(p), 1000)).collect();
    assert_eq!(fetched, want);
    // a's partitions it kept are fetched from their committed offsets.
    let a_lookups: HashMap<_, _> = pair.members[a]
        .committed_lookups
        .iter()
        .map(|t| (t.clone(), ()))
        .collect();
    for p in &oa {
        assert!(a_lookups.contains_key(&tp(p)), "{p:?}");
    }
}

#[test]
fn the_same_schedule_without_the_hold_races_the_committed_offset() {
    // The race seen once in group_callback, replayed: a driver that
    // fetches newly assigned partitions at once looks up the committed
    // offset while the callback is still moving the start.
    let mut pair = Pair::new();
    pair.add(Duration::ZERO, None);
    pair.settle();
    pair.run_until(Duration::from_secs(3), Duration::from_millis(500));
    let b = pair.add(SESSION * 2, Some(1000));
    pair.members[b].naive = true;
    pair.run_until(Duration::from_secs(6), Duration::from_millis(500));
    let x = &pair.members[b];
    assert!(x.callback_until.is_some(), "b's callback runs");
    let mut looked: Vec<_> = x.committed_lookups.clone();
    looked.sort();
    let want: Vec<_> = owned(x).iter().map(tp).collect();
    assert_eq!(
        looked, want,
        "committed offsets looked up during the callback"
    );
}
