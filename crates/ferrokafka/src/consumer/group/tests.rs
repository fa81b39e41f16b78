//! The membership state machine on a simulated clock.

use super::membership::{Action, MemberSettings, Membership, Notice, Work};
use crate::error::ErrorCode;
use crate::TopicPartition;
use std::time::{Duration, Instant};

fn settings(cooperative: bool, instance: Option<&str>) -> MemberSettings {
    MemberSettings {
        session_timeout: Duration::from_secs(45),
        heartbeat_interval: Duration::from_secs(3),
        max_poll_interval: Duration::from_secs(300),
        retry_backoff: Duration::from_millis(100),
        instance_id: instance.map(str::to_string),
        cooperative,
        coordinator_query: Duration::from_secs(600),
    }
}

fn p(n: i32) -> TopicPartition {
    TopicPartition::new("t", n)
}

/// Drives a fresh member to Stable with `parts`, returning it and the time.
fn stable(s: MemberSettings, parts: Vec<TopicPartition>) -> (Membership, Instant) {
    let t0 = Instant::now();
    let mut m = Membership::new(s, t0);
    m.join(t0);
    assert_eq!(m.poll(t0), vec![Action::FindCoordinator]);
    m.on_coordinator(t0, Ok(()));
    let a = m.poll(t0);
    assert!(matches!(&a[..], [Action::Join { member_id, .. }] if member_id.is_empty()));
    // KIP-394: the first join is refused with the member id to use.
    m.on_join(t0, 79, -1, "m-1", "", "", vec![]);
    let a = m.poll(t0);
    assert!(matches!(&a[..], [Action::Join { member_id, .. }] if member_id == "m-1"));
    m.on_join(
        t0,
        0,
        1,
        "m-1",
        "m-1",
        "range",
        vec![("m-1".into(), vec![])],
    );
    let a = m.poll(t0);
    assert!(matches!(&a[..], [Action::Assign { protocol, .. }] if protocol == "range"));
    m.assignment_done(vec![("m-1".into(), vec![1])]);
    let a = m.poll(t0);
    assert!(
        matches!(&a[..], [Action::Sync { generation: 1, assignments, .. }] if assignments.len() == 1)
    );
    m.on_sync(t0, 0, parts.clone());
    assert!(m.is_stable());
    let n = m.take_notices();
    assert!(n.contains(&Notice::Assigned(parts)));
    assert!(n.contains(&Notice::Identity {
        generation: 1,
        member_id: "m-1".into()
    }));
    (m, t0)
}

/// coordinator.query.interval.ms: a stable member asks for its
/// coordinator again at that interval, beside its heartbeats.
#[test]
fn a_stable_member_queries_its_coordinator_at_the_interval() {
    let s = MemberSettings {
        coordinator_query: Duration::from_secs(10),
        ..settings(false, None)
    };
    let (mut m, t0) = stable(s, vec![p(0)]);
    assert!(m.poll(t0).is_empty());
    let mut queries = Vec::new();
    let mut t = t0;
    // Heartbeats every 3 s, answered; queries at 10 s and 20 s.
    while t < t0 + Duration::from_secs(25) {
        t += Duration::from_secs(1);
        for a in m.poll(t) {
            match a {
                Action::QueryCoordinator => queries.push(t - t0),
                Action::Heartbeat { .. } => m.on_heartbeat(t, 0),
                other => panic!("{other:?}"),
            }
        }
        assert!(m
            .next_wakeup()
            .is_some_and(|w| w <= t + Duration::from_secs(10)));
    }
    assert_eq!(queries, [Duration::from_secs(10), Duration::from_secs(20)]);
}

#[test]
fn joins_syncs_and_heartbeats_on_interval() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0), p(1)]);
    assert!(m.poll(t0).is_empty());
    let t = t0 + Duration::from_secs(3);
    assert_eq!(m.next_wakeup(), Some(t));
    let a = m.poll(t);
    assert_eq!(
        a,
        vec![Action::Heartbeat {
            generation: 1,
            member_id: "m-1".into()
        }]
    );
    // One heartbeat in flight at a time.
    assert!(m.poll(t + Duration::from_secs(4)).is_empty());
    m.on_heartbeat(t + Duration::from_secs(4), 0);
    assert_eq!(m.poll(t + Duration::from_secs(6)).len(), 1);
}

#[test]
fn rebalance_revokes_eagerly_and_rejoins_with_the_member_id() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0), p(1)]);
    m.polled(t0);
    m.poll(t0 + Duration::from_secs(3));
    m.on_heartbeat(t0 + Duration::from_secs(3), 27);
    assert_eq!(m.take_notices(), vec![Notice::Revoked(vec![p(0), p(1)])]);
    let a = m.poll(t0 + Duration::from_secs(3));
    assert!(matches!(&a[..], [Action::Join { member_id, .. }] if member_id == "m-1"));
}

#[test]
fn cooperative_keeps_what_stays_and_rejoins_after_revoking() {
    let (mut m, t0) = stable(settings(true, None), vec![p(0), p(1)]);
    m.poll(t0 + Duration::from_secs(3));
    m.on_heartbeat(t0 + Duration::from_secs(3), 27);
    // Nothing revoked on a cooperative rejoin; owned partitions go along.
    assert!(m.take_notices().is_empty());
    let a = m.poll(t0 + Duration::from_secs(3));
    assert!(matches!(&a[..], [Action::Join { owned, .. }] if owned == &vec![p(0), p(1)]));
    m.on_join(t0, 0, 2, "m-1", "other", "cooperative-sticky", vec![]);
    let a = m.poll(t0);
    assert!(matches!(&a[..], [Action::Sync { assignments, .. }] if assignments.is_empty()));
    m.on_sync(t0, 0, vec![p(1)]);
    assert_eq!(
        m.take_notices()
            .into_iter()
            .filter(|n| !matches!(n, Notice::Identity { .. }))
            .collect::<Vec<_>>(),
        vec![Notice::Revoked(vec![p(0)])]
    );
    // Having revoked, it joins again at once.
    assert!(matches!(&m.poll(t0)[..], [Action::Join { .. }]));
}

#[test]
fn unknown_member_loses_partitions_and_joins_anew() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    m.poll(t0 + Duration::from_secs(3));
    m.on_heartbeat(t0 + Duration::from_secs(3), 25);
    let n = m.take_notices();
    assert_eq!(n[0], Notice::Lost(vec![p(0)]));
    assert_eq!(m.identity(), (-1, ""));
    assert!(
        matches!(&m.poll(t0 + Duration::from_secs(3))[..], [Action::Join { member_id, .. }] if member_id.is_empty())
    );
}

#[test]
fn coordinator_errors_rediscover_after_backoff() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    let t = t0 + Duration::from_secs(3);
    m.poll(t);
    m.on_heartbeat(t, 16);
    assert!(m.poll(t).is_empty(), "backs off first");
    assert_eq!(
        m.poll(t + Duration::from_millis(150)),
        vec![Action::FindCoordinator]
    );
    // The assignment survives a coordinator move.
    assert_eq!(m.owned(), vec![p(0)]);
}

#[test]
fn session_timeout_without_contact_loses_the_assignment() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    m.polled(t0 + Duration::from_secs(46));
    m.poll(t0 + Duration::from_secs(46));
    assert!(m.take_notices().contains(&Notice::Lost(vec![p(0)])));
}

#[test]
fn max_poll_interval_leaves_and_reports_once() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    let mut t = t0;
    // Heartbeats alone do not keep the member in the group.
    for _ in 0..200 {
        t += Duration::from_secs(2);
        for a in m.poll(t) {
            if let Action::Heartbeat { .. } = a {
                m.on_heartbeat(t, 0);
            }
            if let Action::Leave { member_id } = a {
                assert_eq!(member_id, "m-1");
                let n = m.take_notices();
                assert!(n.contains(&Notice::Revoked(vec![p(0)])));
                let errs: Vec<_> = n
                    .iter()
                    .filter_map(|x| match x {
                        Notice::Error(e) => Some(e.code()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(errs, vec![ErrorCode::MaxPollExceeded]);
                assert!(t >= t0 + Duration::from_secs(300));
                assert!(m.poll(t).is_empty());
                // Polling again rejoins.
                m.polled(t);
                assert_eq!(m.poll(t), vec![Action::FindCoordinator]);
                return;
            }
        }
    }
    panic!("never left the group");
}

#[test]
fn static_member_does_not_leave_and_fencing_is_fatal() {
    let (mut m, t0) = stable(settings(false, Some("i-1")), vec![p(0)]);
    assert!(m.leave().is_empty(), "static members keep their session");
    let (mut m, _) = stable(settings(false, Some("i-1")), vec![p(0)]);
    m.poll(t0 + Duration::from_secs(3));
    m.on_heartbeat(t0 + Duration::from_secs(3), 82);
    let n = m.take_notices();
    assert!(m.is_failed());
    let fatal = n
        .iter()
        .find_map(|x| match x {
            Notice::Error(e) => Some(e.clone()),
            _ => None,
        })
        .unwrap();
    assert!(fatal.is_fatal());
    assert_eq!(fatal.code(), ErrorCode::FencedInstanceId);
    assert!(m.poll(t0 + Duration::from_secs(10)).is_empty());
}

#[test]
fn dynamic_member_leaves_on_close() {
    let (mut m, _) = stable(settings(false, None), vec![p(0)]);
    assert_eq!(
        m.leave(),
        vec![Action::Leave {
            member_id: "m-1".into()
        }]
    );
    assert_eq!(m.take_notices(), vec![Notice::Revoked(vec![p(0)])]);
}

#[test]
fn heartbeat_due_sends_only_heartbeats_of_a_stable_member() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    assert_eq!(m.heartbeat_due(t0), None);
    let t = t0 + Duration::from_secs(3);
    assert_eq!(m.next_heartbeat(), Some(t));
    assert!(matches!(
        m.heartbeat_due(t),
        Some(Action::Heartbeat { generation: 1, .. })
    ));
    // In flight: nothing more, and poll does not send a second one.
    assert_eq!(m.next_heartbeat(), None);
    assert_eq!(m.heartbeat_due(t + Duration::from_secs(4)), None);
    assert!(m.poll(t + Duration::from_secs(4)).is_empty());
    // A rebalance answer: the rejoin is left to poll, after the revocation.
    m.on_heartbeat(t + Duration::from_secs(4), 27);
    assert_eq!(m.heartbeat_due(t + Duration::from_secs(8)), None);
    assert_eq!(m.take_notices(), vec![Notice::Revoked(vec![p(0)])]);
    assert!(matches!(
        &m.poll(t + Duration::from_secs(8))[..],
        [Action::Join { .. }]
    ));
}

/// A stable member's heartbeat, 3 s after `t0`, fails on the transport:
/// the coordinator is lost. Returns that time.
fn lose_coordinator(m: &mut Membership, t0: Instant) -> Instant {
    let t = t0 + Duration::from_secs(3);
    m.polled(t);
    assert!(matches!(&m.poll(t)[..], [Action::Heartbeat { .. }]));
    m.on_transport_error(t);
    t
}

/// Issue 13 item 2: a coordinator lost by a stable member (its connection
/// dropped, or NOT_COORDINATOR) is found again and heartbeating resumes
/// in the same generation: no JoinGroup, no revoke or assign.
#[test]
fn a_lost_coordinator_is_found_again_and_the_generation_kept() {
    for cooperative in [false, true] {
        for lost_by in ["transport", "not-coordinator"] {
            let (mut m, t0) = stable(settings(cooperative, None), vec![p(0), p(1)]);
            let t = t0 + Duration::from_secs(3);
            m.polled(t);
            assert!(matches!(&m.poll(t)[..], [Action::Heartbeat { .. }]));
            match lost_by {
                "transport" => m.on_transport_error(t),
                _ => m.on_heartbeat(t, 16),
            }
            // The outage: FindCoordinator fails for a while.
            let mut now = t;
            let mut finds = 0;
            for _ in 0..30 {
                now += Duration::from_millis(100);
                m.polled(now);
                for a in m.poll(now) {
                    assert_eq!(a, Action::FindCoordinator, "{lost_by}: only lookups");
                    finds += 1;
                    m.on_coordinator(now, Err(crate::Error::new(ErrorCode::Transport, "refused")));
                }
            }
            assert!(finds > 3, "{lost_by}: looked up again and again ({finds})");
            // Found again: the next request is a heartbeat of generation 1.
            now += Duration::from_millis(200);
            assert_eq!(m.poll(now), vec![Action::FindCoordinator]);
            m.on_coordinator(now, Ok(()));
            assert!(m.is_stable(), "{lost_by}: stable again");
            assert_eq!(
                m.poll(now),
                vec![Action::Heartbeat {
                    generation: 1,
                    member_id: "m-1".into()
                }],
                "{lost_by}: heartbeat at once, same generation"
            );
            m.on_heartbeat(now, 0);
            assert_eq!(m.identity(), (1, "m-1"));
            assert_eq!(m.owned(), vec![p(0), p(1)]);
            assert!(
                m.take_notices().is_empty(),
                "{lost_by}: no rebalance event, no identity change"
            );
            // And it keeps heartbeating on its interval.
            let later = now + Duration::from_secs(3);
            m.polled(later);
            assert!(matches!(
                &m.poll(later)[..],
                [Action::Heartbeat { generation: 1, .. }]
            ));
        }
    }
}

/// After a coordinator blip the group may have moved on: the resumed
/// heartbeat's answer decides, as any heartbeat's does.
#[test]
fn the_resumed_heartbeat_follows_the_brokers_answer() {
    // (error code, expected first action after it, partitions kept)
    for (code, rejoins_with_id, lost) in [(27, true, false), (22, false, true), (25, false, true)] {
        let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
        let t = lose_coordinator(&mut m, t0) + Duration::from_millis(200);
        assert_eq!(m.poll(t), vec![Action::FindCoordinator]);
        m.on_coordinator(t, Ok(()));
        assert!(matches!(
            &m.poll(t)[..],
            [Action::Heartbeat { generation: 1, .. }]
        ));
        m.on_heartbeat(t, code);
        let n = m.take_notices();
        if lost {
            assert_eq!(n[0], Notice::Lost(vec![p(0)]), "code {code}");
            assert_eq!(m.identity(), (-1, ""));
        } else {
            assert_eq!(n, vec![Notice::Revoked(vec![p(0)])], "code {code}");
        }
        let a = m.poll(t);
        assert!(
            matches!(&a[..], [Action::Join { member_id, .. }] if (member_id == "m-1") == rejoins_with_id),
            "code {code}: {a:?}"
        );
    }
}

/// A subscription change asked while the coordinator was being found
/// still rejoins once it is back; a member that lost its coordinator in
/// the middle of a join joins again.
#[test]
fn a_blip_during_a_join_or_with_a_rejoin_pending_still_joins() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    let t = lose_coordinator(&mut m, t0);
    let t = t + Duration::from_millis(200);
    m.join(t);
    assert_eq!(m.poll(t), vec![Action::FindCoordinator]);
    m.on_coordinator(t, Ok(()));
    assert!(matches!(&m.poll(t)[..], [Action::Join { member_id, .. }] if member_id == "m-1"));
    // The coordinator goes away while the JoinGroup is in flight.
    m.on_transport_error(t);
    let t = t + Duration::from_millis(200);
    assert_eq!(m.poll(t), vec![Action::FindCoordinator]);
    m.on_coordinator(t, Ok(()));
    assert!(matches!(&m.poll(t)[..], [Action::Join { member_id, .. }] if member_id == "m-1"));
}

/// A blip longer than the session: the coordinator has dropped the
/// member, the partitions are lost and it joins anew.
#[test]
fn a_coordinator_lost_longer_than_the_session_loses_the_partitions() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    lose_coordinator(&mut m, t0);
    let t = t0 + Duration::from_secs(50);
    m.polled(t);
    assert_eq!(m.poll(t), vec![Action::FindCoordinator]);
    m.on_coordinator(t, Ok(()));
    assert!(m.take_notices().contains(&Notice::Lost(vec![p(0)])));
    assert!(matches!(&m.poll(t)[..], [Action::Join { member_id, .. }] if member_id.is_empty()));
}

fn kinds(w: &[Work]) -> Vec<String> {
    w.iter()
        .map(|w| match w {
            Work::Identity { .. } => "identity".to_string(),
            Work::Error(_) => "error".to_string(),
            Work::Hold(p) => format!("hold {p:?}"),
            Work::Release(p) => format!("release {p:?}"),
            Work::Commit(p) => format!("commit {p:?}"),
            Work::Unassign(p) => format!("unassign {p:?}"),
            Work::Callback(n) => format!("callback {n:?}"),
        })
        .collect()
}

#[test]
fn a_revocation_commits_first_and_gives_up_nothing_before_its_callback_returned() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    m.set_commit_on_revoke(true);
    let t = t0 + Duration::from_secs(3);
    m.polled(t);
    m.poll(t);
    m.on_heartbeat(t, 27);
    let w = m.take_work(t);
    assert_eq!(
        kinds(&w),
        vec![
            format!("commit {:?}", vec![p(0)]),
            format!("callback {:?}", Notice::Revoked(vec![p(0)])),
        ]
    );
    assert_eq!(m.callback_running(), Some(t));
    // A callback running for a minute: no JoinGroup overtakes it, and the
    // partition stays assigned until it returns.
    for s in 1..=60 {
        let now = t + Duration::from_secs(s);
        assert!(m.poll(now).is_empty(), "second {s}");
        assert!(m.take_work(now).is_empty(), "second {s}");
    }
    let done = t + Duration::from_secs(61);
    m.on_callback_done(done);
    assert_eq!(m.callback_running(), None);
    assert_eq!(
        kinds(&m.take_work(done)),
        vec![format!("unassign {:?}", vec![p(0)])]
    );
    let a = m.poll(done);
    assert!(matches!(&a[..], [Action::Join { member_id, .. }] if member_id == "m-1"));
}

#[test]
fn without_auto_commit_a_revocation_commits_nothing() {
    let (mut m, t0) = stable(settings(false, None), vec![p(0)]);
    let t = t0 + Duration::from_secs(3);
    m.polled(t);
    m.poll(t);
    m.on_heartbeat(t, 27);
    assert_eq!(
        kinds(&m.take_work(t)),
        vec![format!("callback {:?}", Notice::Revoked(vec![p(0)]))]
    );
}

#[test]
fn an_assignment_is_held_until_its_callback_returns_while_heartbeats_go_on() {
    let s = settings(true, None);
    let session = s.session_timeout;
    let t0 = Instant::now();
    let mut m = Membership::new(s, t0);
    m.join(t0);
    m.poll(t0);
    m.on_coordinator(t0, Ok(()));
    m.poll(t0);
    m.on_join(t0, 0, 1, "m-1", "", "range", vec![]);
    let a = m.poll(t0);
    assert!(matches!(&a[..], [Action::Sync { .. }]));
    m.on_sync(t0, 0, vec![p(0), p(1)]);
    let w = m.take_work(t0);
    assert_eq!(
        kinds(&w),
        vec![
            "identity".to_string(),
            format!("hold {:?}", vec![p(0), p(1)]),
            format!("callback {:?}", Notice::Assigned(vec![p(0), p(1)])),
        ]
    );
    // The callback outlasts the session: the member keeps heartbeating on
    // its interval (answered), so the assignment survives it.
    let mut now = t0;
    let mut beats = 0;
    while now < t0 + session * 2 {
        now += Duration::from_secs(1);
        m.polled(now);
        for a in m.poll(now) {
            assert!(
                matches!(a, Action::Heartbeat { generation: 1, .. }),
                "{a:?}"
            );
            beats += 1;
            m.on_heartbeat(now, 0);
        }
        assert!(m.take_work(now).is_empty());
    }
    assert_eq!(beats, 30);
    assert!(m.is_stable());
    m.on_callback_done(now);
    assert_eq!(
        kinds(&m.take_work(now)),
        vec![format!("release {:?}", vec![p(0), p(1)])]
    );
    assert!(m.take_work(now).is_empty());
}
