//! The partition assignors the group leader runs (`range`, `roundrobin`,
//! `cooperative-sticky`) and the consumer protocol's embedded messages
//! (ConsumerProtocolSubscription / ConsumerProtocolAssignment, each a
//! big-endian version followed by the body), as Java and librdkafka
//! encode them.
//!
//! Rack awareness (KIP-881): members send their `client.rack` in the
//! subscription; when the leader knows the racks of the partitions'
//! replicas and some member shares one, each assignor's plan is rearranged
//! so that members get partitions with a replica in their rack (fetching
//! from a nearby follower), keeping every member's count per topic, so
//! balance is unchanged. A sticky member keeps what it owns regardless.

use crate::error::{Error, ErrorCode, Result};
use crate::protocol::consumer_protocol;
pub(crate) use crate::protocol::consumer_protocol::{
    decode_assignment, encode_assignment, encode_subscription,
};
use crate::TopicPartition;
use std::collections::{BTreeMap, BTreeSet};

/// The assignors ferrokafka implements, by their protocol names.
pub(crate) const NAMES: [&str; 3] = ["range", "roundrobin", "cooperative-sticky"];

/// One member's subscription as the leader sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Subscription {
    pub member_id: String,
    pub topics: Vec<String>,
    pub owned: Vec<TopicPartition>,
    pub generation: i32,
    pub rack: Option<String>,
    /// group.instance.id: static members are ordered by it, so that a
    /// restarted member (new member id) gets the same partitions.
    pub instance_id: Option<String>,
}

impl Subscription {
    fn order_key(&self) -> &str {
        self.instance_id.as_deref().unwrap_or(&self.member_id)
    }
}

/// Decodes a member's subscription from its JoinGroup metadata.
pub(crate) fn decode_subscription(member_id: &str, data: &[u8]) -> Result<Subscription> {
    let m = consumer_protocol::decode_subscription(data)?;
    Ok(Subscription {
        member_id: member_id.to_string(),
        topics: m.topics,
        owned: m.owned,
        generation: m.generation,
        rack: m.rack,
        instance_id: None,
    })
}

/// The racks of each partition's replicas (partitions without a known
/// rack are absent).
pub(crate) type Racks = BTreeMap<TopicPartition, BTreeSet<String>>;

/// Runs assignor `name` over the members' subscriptions; `partitions`
/// gives each known topic's partition count, `racks` where their replicas
/// live. Every member gets an entry.
pub(crate) fn assign(
    name: &str,
    members: &[Subscription],
    partitions: &BTreeMap<String, i32>,
    racks: &Racks,
) -> Result<BTreeMap<String, Vec<TopicPartition>>> {
    let mut out: BTreeMap<String, Vec<TopicPartition>> = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    match name {
        "range" => {
            range(members, partitions, &mut out);
            rack_align(members, racks, &mut out, |_, _| false);
        }
        "roundrobin" => {
            roundrobin(members, partitions, &mut out);
            rack_align(members, racks, &mut out, |_, _| false);
        }
        "cooperative-sticky" => sticky(members, partitions, racks, &mut out),
        other => {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!(
                    "unknown partition assignor \"{other}\": use one of {}",
                    NAMES.join(", ")
                ),
            ))
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    Ok(out)
}

fn subscribers<'a>(members: &'a [Subscription], topic: &str) -> Vec<&'a str> {
    let mut v: Vec<&Subscription> = members
        .iter()
        .filter(|m| m.topics.iter().any(|t| t == topic))
        .collect();
    v.sort_by(|a, b| (a.order_key(), &a.member_id).cmp(&(b.order_key(), &b.member_id)));
    v.into_iter().map(|m| m.member_id.as_str()).collect()
}

fn subscribed_parts(
    members: &[Subscription],
    partitions: &BTreeMap<String, i32>,
) -> Vec<TopicPartition> {
    let topics: BTreeSet<&str> = members
        .iter()
        .flat_map(|m| m.topics.iter().map(String::as_str))
        .collect();
    let mut out = Vec::new();
    for t in topics {
        if let Some(&n) = partitions.get(t) {
            out.extend((0..n.max(0)).map(|p| TopicPartition::new(t, p)));
        }
    }
    out
}

/// Per topic, consecutive ranges to the subscribers sorted by member id;
/// the first `n % m` get one more.
fn range(
    members: &[Subscription],
    partitions: &BTreeMap<String, i32>,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    for (topic, &n) in partitions {
        let subs = subscribers(members, topic);
        if subs.is_empty() || n <= 0 {
            continue;
        }
        let m = subs.len() as i32;
        let (per, extra) = (n / m, n % m);
        let mut next = 0;
        for (i, id) in subs.iter().enumerate() {
            let count = per + i32::from((i as i32) < extra);
            if let Some(v) = out.get_mut(*id) {
                v.extend((next..next + count).map(|p| TopicPartition::new(topic.as_str(), p)));
            }
            next += count;
        }
    }
}

/// All partitions sorted, dealt one by one to the members in turn,
/// skipping members not subscribed to the partition's topic.
fn roundrobin(
    members: &[Subscription],
    partitions: &BTreeMap<String, i32>,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    let mut ids: Vec<&Subscription> = members.iter().collect();
    ids.sort_by(|a, b| (a.order_key(), &a.member_id).cmp(&(b.order_key(), &b.member_id)));
    if ids.is_empty() {
        return;
    }
    let mut turn = 0usize;
    for part in subscribed_parts(members, partitions) {
        for step in 0..ids.len() {
            let m = ids[(turn + step) % ids.len()];
            if m.topics.iter().any(|t| t == part.topic()) {
                if let Some(v) = out.get_mut(&m.member_id) {
                    v.push(part.clone());
                }
                turn = (turn + step + 1) % ids.len();
                break;
            }
        }
    }
}

/// Who owned each partition before this rebalance, from the members'
/// subscriptions (KIP-429's owned partitions with their generation): the
/// claims of the newest generation win; two members claiming a partition in
/// the same generation (a stale view on one side) both lose it to
/// stickiness, as in Kafka's sticky assignor. Claims of partitions that do
/// not exist or are no longer subscribed are dropped.
fn owners(
    members: &[Subscription],
    exists: &BTreeSet<&TopicPartition>,
) -> BTreeMap<TopicPartition, Vec<String>> {
    let mut claims: BTreeMap<TopicPartition, (i32, Vec<String>)> = BTreeMap::new();
    for m in members {
        for p in &m.owned {
            if !exists.contains(p) || !m.topics.iter().any(|t| t == p.topic()) {
                continue;
            }
            let e = claims
                .entry(p.clone())
                .or_insert((m.generation, Vec::new()));
            if m.generation > e.0 {
                *e = (m.generation, Vec::new());
            }
            if m.generation == e.0 && !e.1.contains(&m.member_id) {
                e.1.push(m.member_id.clone());
            }
        }
    }
    claims.into_iter().map(|(p, (_, who))| (p, who)).collect()
}

/// The sticky plan, then, cooperatively (KIP-429), a partition moving away
/// from a member that still owns it is withheld this round: its owner
/// revokes it and rejoins, and the next rebalance hands it over.
///
/// Every member first keeps what it alone owns; unowned partitions go to
/// the least loaded subscriber; then partitions move one at a time from the
/// most to the least loaded member able to take them while their loads
/// differ by more than one, preferring partitions the giver did not own
/// (and, with racks, partitions local to the taker). Unequal subscriptions
/// are balanced as far as they allow.
fn sticky(
    members: &[Subscription],
    partitions: &BTreeMap<String, i32>,
    racks: &Racks,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
) {
    let all = subscribed_parts(members, partitions);
    let exists: BTreeSet<&TopicPartition> = all.iter().collect();
    let claims = owners(members, &exists);
    let mut order: Vec<&Subscription> = members.iter().collect();
    order.sort_by(|a, b| (a.order_key(), &a.member_id).cmp(&(b.order_key(), &b.member_id)));
    let index: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.member_id.as_str(), i))
        .collect();
    let mut plan: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); order.len()];
    let mut unowned = Vec::new();
    for p in &all {
        match claims.get(p).map(Vec::as_slice) {
            Some([only]) => match index.get(only.as_str()) {
                Some(&i) => {
                    plan[i].insert(p.clone());
                }
                None => unowned.push(p.clone()),
            },
            _ => unowned.push(p.clone()),
        }
    }
    for p in unowned {
        let target = (0..order.len())
            .filter(|&i| order[i].topics.iter().any(|t| t == p.topic()))
            .min_by_key(|&i| (plan[i].len(), i));
        if let Some(i) = target {
            plan[i].insert(p);
        }
    }
    let local = |i: usize, p: &TopicPartition| {
        order[i]
            .rack
            .as_deref()
            .is_some_and(|r| racks.get(p).is_some_and(|x| x.contains(r)))
    };
    // Each move lowers the sum of squared loads: the bound only guards
    // against a logic error.
    let most_moves = all.len().saturating_mul(order.len()).saturating_add(1);
    for _ in 0..most_moves {
        let mut by_load: Vec<usize> = (0..order.len()).collect();
        by_load.sort_by_key(|&i| (std::cmp::Reverse(plan[i].len()), i));
        let found = by_load.iter().find_map(|&src| {
            let mut takers: Vec<usize> = (0..order.len())
                .filter(|&d| plan[d].len() + 1 < plan[src].len())
                .collect();
            takers.sort_by_key(|&d| (plan[d].len(), d));
            takers.into_iter().find_map(|dst| {
                let owned_by_src = |p: &TopicPartition| order[src].owned.contains(p);
                plan[src]
                    .iter()
                    .filter(|p| order[dst].topics.iter().any(|t| t == p.topic()))
                    .min_by_key(|p| (owned_by_src(p), !local(dst, p), (*p).clone()))
                    .map(|p| (src, dst, p.clone()))
            })
        });
        let Some((src, dst, p)) = found else { break };
        plan[src].remove(&p);
        plan[dst].insert(p);
    }
    for (i, m) in order.iter().enumerate() {
        if let Some(v) = out.get_mut(&m.member_id) {
            v.extend(plan[i].iter().cloned());
        }
    }
    // Only partitions a member does not own already may move for racks.
    let kept = |m: &Subscription, p: &TopicPartition| m.owned.contains(p);
    rack_align(members, racks, out, kept);
    // Withhold partitions still owned by another member.
    for (id, v) in out.iter_mut() {
        v.retain(|p| match claims.get(p) {
            Some(who) => who.contains(id),
            None => true,
        });
    }
}

/// Rearranges `out` so that members get partitions with a replica in their
/// rack where possible, keeping each member's number of partitions of each
/// topic (so the assignor's balance holds) and every partition `fixed`
/// says a member keeps. Does nothing unless some member's rack holds some
/// replica.
fn rack_align(
    members: &[Subscription],
    racks: &Racks,
    out: &mut BTreeMap<String, Vec<TopicPartition>>,
    fixed: impl Fn(&Subscription, &TopicPartition) -> bool,
) {
    let member_racks: BTreeSet<&str> = members.iter().filter_map(|m| m.rack.as_deref()).collect();
    let useful = racks
        .values()
        .any(|r| r.iter().any(|x| member_racks.contains(x.as_str())));
    if !useful {
        return;
    }
    let mut order: Vec<&Subscription> = members.iter().collect();
    order.sort_by(|a, b| (a.order_key(), &a.member_id).cmp(&(b.order_key(), &b.member_id)));
    let topics: BTreeSet<String> = out
        .values()
        .flatten()
        .map(|p| p.topic().to_string())
        .collect();
    for topic in topics {
        // The movable partitions of this topic and how many each member has.
        let mut free: Vec<TopicPartition> = Vec::new();
        let mut cap: Vec<usize> = vec![0; order.len()];
        for (i, m) in order.iter().enumerate() {
            let Some(v) = out.get_mut(&m.member_id) else {
                continue;
            };
            v.retain(|p| {
                if p.topic() != topic || fixed(m, p) {
                    return true;
                }
                free.push(p.clone());
                cap[i] += 1;
                false
            });
        }
        let local = |i: usize, p: &TopicPartition| {
            order[i]
                .rack
                .as_deref()
                .is_some_and(|r| racks.get(p).is_some_and(|x| x.contains(r)))
        };
        // Most constrained partitions (fewest local members) first.
        let candidates = |p: &TopicPartition, cap: &[usize]| -> usize {
            (0..order.len())
                .filter(|&i| cap[i] > 0 && local(i, p))
                .count()
        };
        free.sort_by_cached_key(|p| (candidates(p, &cap), p.clone()));
        let mut rest = Vec::new();
        for p in free {
            // The local member with the most room left takes it.
            let best = (0..order.len())
                .filter(|&i| cap[i] > 0 && local(i, &p))
                .max_by_key(|&i| (cap[i], std::cmp::Reverse(i)));
            match best {
                Some(i) => {
                    cap[i] -= 1;
                    if let Some(v) = out.get_mut(&order[i].member_id) {
                        v.push(p);
                    }
                }
                None => rest.push(p),
            }
        }
        rest.sort();
        let mut rest = rest.into_iter();
        for (i, m) in order.iter().enumerate() {
            for p in rest.by_ref().take(cap[i]) {
                if let Some(v) = out.get_mut(&m.member_id) {
                    v.push(p);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: &str, topics: &[&str], owned: &[(&str, i32)]) -> Subscription {
        Subscription {
            member_id: id.into(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            owned: owned
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
            generation: 1,
            rack: None,
            instance_id: None,
        }
    }

    fn counts(a: &BTreeMap<String, Vec<TopicPartition>>) -> Vec<usize> {
        a.values().map(Vec::len).collect()
    }

    fn union(a: &BTreeMap<String, Vec<TopicPartition>>) -> BTreeSet<TopicPartition> {
        let mut all = BTreeSet::new();
        for v in a.values() {
            for p in v {
                assert!(all.insert(p.clone()), "{p:?} assigned twice");
            }
        }
        all
    }

    fn topics(t: &[(&str, i32)]) -> BTreeMap<String, i32> {
        t.iter().map(|(n, c)| (n.to_string(), *c)).collect()
    }

    #[test]
    fn range_gives_consecutive_ranges_per_topic() {
        let m = [sub("b", &["t"], &[]), sub("a", &["t"], &[])];
        let a = assign("range", &m, &topics(&[("t", 5)]), &Racks::new()).unwrap();
        let first: Vec<i32> = a["a"].iter().map(|p| p.partition()).collect();
        let second: Vec<i32> = a["b"].iter().map(|p| p.partition()).collect();
        assert_eq!(first, vec![0, 1, 2]);
        assert_eq!(second, vec![3, 4]);
    }

    #[test]
    fn roundrobin_deals_in_turn_and_respects_subscriptions() {
        let m = [
            sub("a", &["t", "u"], &[]),
            sub("b", &["t"], &[]),
            sub("c", &["t", "u"], &[]),
        ];
        let parts = topics(&[("t", 3), ("u", 3)]);
        let a = assign("roundrobin", &m, &parts, &Racks::new()).unwrap();
        assert_eq!(union(&a).len(), 6);
        assert!(a["b"].iter().all(|p| p.topic() == "t"));
        assert_eq!(a["a"].len() + a["c"].len(), 5);
        assert!(counts(&a).iter().all(|&c| (1..=3).contains(&c)));
    }

    #[test]
    fn assignors_are_deterministic_and_balanced() {
        let parts = topics(&[("t", 7), ("u", 4)]);
        for name in NAMES {
            let m = [
                sub("m1", &["t", "u"], &[]),
                sub("m2", &["t", "u"], &[]),
                sub("m3", &["t", "u"], &[]),
            ];
            let a = assign(name, &m, &parts, &Racks::new()).unwrap();
            let mut rev = m.clone();
            rev.reverse();
            assert_eq!(
                a,
                assign(name, &rev, &parts, &Racks::new()).unwrap(),
                "{name}"
            );
            assert_eq!(union(&a).len(), 11, "{name}");
            let c = counts(&a);
            let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
            // Range balances per topic (at most one extra per topic).
            assert!(
                hi - lo <= if name == "range" { 2 } else { 1 },
                "{name}: {c:?}"
            );
        }
    }

    #[test]
    fn sticky_keeps_ownership_and_withholds_moving_partitions() {
        let parts = topics(&[("t", 6)]);
        let m = [
            sub("a", &["t"], &[("t", 0), ("t", 1), ("t", 2)]),
            sub("b", &["t"], &[("t", 3), ("t", 4), ("t", 5)]),
            sub("c", &["t"], &[]),
        ];
        let a = assign("cooperative-sticky", &m, &parts, &Racks::new()).unwrap();
        // Nobody gets a partition another member still owns...
        assert!(a["c"].is_empty());
        // ...and what stays is never taken away.
        assert_eq!(a["a"].len(), 2);
        assert_eq!(a["b"].len(), 2);
        assert!(a["a"].iter().all(|p| p.partition() <= 2));
        // Second round: the owners revoked one each, c gets them.
        let m2 = [
            sub(
                "a",
                &["t"],
                &a["a"]
                    .iter()
                    .map(|p| (p.topic(), p.partition()))
                    .collect::<Vec<_>>(),
            ),
            sub(
                "b",
                &["t"],
                &a["b"]
                    .iter()
                    .map(|p| (p.topic(), p.partition()))
                    .collect::<Vec<_>>(),
            ),
            sub("c", &["t"], &[]),
        ];
        let b = assign("cooperative-sticky", &m2, &parts, &Racks::new()).unwrap();
        assert_eq!(b["a"], a["a"]);
        assert_eq!(b["b"], a["b"]);
        assert_eq!(b["c"].len(), 2);
        assert_eq!(union(&b).len(), 6);
    }

    fn racked(id: &str, rack: &str, topics: &[&str], owned: &[(&str, i32)]) -> Subscription {
        Subscription {
            rack: Some(rack.into()),
            ..sub(id, topics, owned)
        }
    }

    /// Partition `p` of each topic has its replicas in `rack_of(p)`.
    fn racks_by(parts: &BTreeMap<String, i32>, rack_of: impl Fn(i32) -> &'static str) -> Racks {
        let mut r = Racks::new();
        for (t, &n) in parts {
            for p in 0..n {
                r.insert(
                    TopicPartition::new(t.as_str(), p),
                    [rack_of(p).to_string()].into(),
                );
            }
        }
        r
    }

    fn local_count(
        a: &BTreeMap<String, Vec<TopicPartition>>,
        m: &[Subscription],
        racks: &Racks,
    ) -> usize {
        m.iter()
            .map(|s| {
                a[&s.member_id]
                    .iter()
                    .filter(|p| racks[*p].contains(s.rack.as_deref().unwrap_or("")))
                    .count()
            })
            .sum()
    }

    fn per_topic(a: &BTreeMap<String, Vec<TopicPartition>>) -> BTreeMap<(String, String), usize> {
        let mut c = BTreeMap::new();
        for (m, v) in a {
            for p in v {
                *c.entry((m.clone(), p.topic().to_string())).or_default() += 1;
            }
        }
        c
    }

    #[test]
    fn range_and_roundrobin_prefer_local_replicas_with_the_same_balance() {
        let parts = topics(&[("t", 4), ("u", 6)]);
        // Even partitions live in rack r1, odd ones in r0: the plain plans
        // (consecutive ranges, dealing in turn) are half remote at best.
        let racks = racks_by(&parts, |p| if p % 2 == 0 { "r1" } else { "r0" });
        let m = [
            racked("a", "r0", &["t", "u"], &[]),
            racked("b", "r1", &["t", "u"], &[]),
        ];
        for name in ["range", "roundrobin"] {
            let plain = assign(name, &m, &parts, &Racks::new()).unwrap();
            let aware = assign(name, &m, &parts, &racks).unwrap();
            assert_eq!(union(&aware).len(), 10, "{name}");
            assert_eq!(
                per_topic(&aware),
                per_topic(&plain),
                "{name}: same counts per topic"
            );
            assert_eq!(local_count(&aware, &m, &racks), 10, "{name}: {aware:?}");
            assert!(
                local_count(&plain, &m, &racks) < 10,
                "{name}: the test discriminates"
            );
        }
    }

    #[test]
    fn rack_aware_plans_stay_balanced_when_racks_are_uneven() {
        let parts = topics(&[("t", 7)]);
        // Everything lives in r0, where only one of three members is.
        let racks = racks_by(&parts, |_| "r0");
        let m = [
            racked("a", "r1", &["t"], &[]),
            racked("b", "r0", &["t"], &[]),
            racked("c", "r2", &["t"], &[]),
        ];
        for name in NAMES {
            let plain = assign(name, &m, &parts, &Racks::new()).unwrap();
            let aware = assign(name, &m, &parts, &racks).unwrap();
            assert_eq!(union(&aware).len(), 7, "{name}");
            assert_eq!(per_topic(&aware), per_topic(&plain), "{name}");
            assert_eq!(
                aware,
                assign(name, &m, &parts, &racks).unwrap(),
                "{name}: deterministic"
            );
        }
    }

    #[test]
    fn no_shared_rack_leaves_the_plain_plan() {
        let parts = topics(&[("t", 5)]);
        let racks = racks_by(&parts, |_| "elsewhere");
        let m = [racked("a", "r0", &["t"], &[]), sub("b", &["t"], &[])];
        for name in NAMES {
            assert_eq!(
                assign(name, &m, &parts, &racks).unwrap(),
                assign(name, &m, &parts, &Racks::new()).unwrap(),
                "{name}"
            );
        }
    }

    #[test]
    fn sticky_keeps_owned_remote_partitions_and_places_new_ones_by_rack() {
        let parts = topics(&[("t", 6)]);
        let racks = racks_by(&parts, |p| if p < 3 { "r0" } else { "r1" });
        // a (rack r1) owns two partitions of r0; nobody owns the rest.
        let m = [
            racked("a", "r1", &["t"], &[("t", 0), ("t", 1)]),
            racked("b", "r0", &["t"], &[]),
            racked("c", "r1", &["t"], &[]),
        ];
        let a = assign("cooperative-sticky", &m, &parts, &racks).unwrap();
        assert_eq!(union(&a).len(), 6);
        assert_eq!(
            a["a"],
            vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)],
            "kept"
        );
        // The free partitions: b (r0) gets t-2, c (r1) two of t-3..5.
        assert_eq!(a["b"].len(), 2);
        assert!(a["b"].contains(&TopicPartition::new("t", 2)), "{a:?}");
        assert_eq!(a["c"].len(), 2);
        assert!(a["c"].iter().all(|p| p.partition() >= 3), "{a:?}");
    }

    fn owning(
        id: &str,
        topics: &[&str],
        owned: &[TopicPartition],
        generation: i32,
    ) -> Subscription {
        Subscription {
            owned: owned.to_vec(),
            generation,
            ..sub(id, topics, &[])
        }
    }

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    /// Runs cooperative rounds (each member then owns what it was given)
    /// until every partition is assigned; checks that no round hands out a
    /// partition another member still owns and that a member only loses
    /// partitions it owned more than its fair share of. Returns the final
    /// plan and the number of rounds.
    fn converge(
        members: &[(&str, Vec<&str>)],
        owned: &BTreeMap<String, Vec<TopicPartition>>,
        parts: &BTreeMap<String, i32>,
    ) -> (BTreeMap<String, Vec<TopicPartition>>, usize) {
        // A member that left owns nothing any more.
        let mut owned: BTreeMap<String, Vec<TopicPartition>> = owned
            .iter()
            .filter(|(id, _)| members.iter().any(|m| m.0 == id.as_str()))
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect();
        let total: usize = parts.values().map(|&n| n as usize).sum();
        for round in 1..=4 {
            let subs: Vec<Subscription> = members
                .iter()
                .map(|(id, t)| {
                    let o = owned.get(*id).cloned().unwrap_or_default();
                    owning(id, t, &o, round)
                })
                .collect();
            let a = assign("cooperative-sticky", &subs, parts, &Racks::new()).unwrap();
            let given = union(&a);
            for (id, v) in &a {
                for p in v {
                    let other = owned.iter().find(|(o, v)| *o != id && v.contains(p));
                    assert!(
                        other.is_none(),
                        "round {round}: {p:?} to {id} while {other:?} owns it"
                    );
                }
            }
            if given.len() == total {
                return (a, round as usize);
            }
            owned = a;
        }
        panic!("no full assignment within 4 rounds");
    }

    #[test]
    fn sticky_balances_unequal_subscriptions() {
        let parts = topics(&[("t", 2), ("u", 10)]);
        let members = [("a", vec!["t"]), ("b", vec!["t", "u"])];
        // b owned everything while alone; a can only take t's partitions.
        let mut owned = BTreeMap::new();
        let all: Vec<TopicPartition> = [("t", 2), ("u", 10)]
            .iter()
            .flat_map(|(t, n)| (0..*n).map(|p| tp(t, p)))
            .collect();
        owned.insert("b".to_string(), all);
        let (a, rounds) = converge(&members, &owned, &parts);
        assert_eq!(a["a"], vec![tp("t", 0), tp("t", 1)]);
        assert_eq!(a["b"].len(), 10);
        assert!(a["b"].iter().all(|p| p.topic() == "u"));
        assert_eq!(rounds, 2, "one round to revoke, one to hand over");
    }

    #[test]
    fn sticky_moves_only_what_balance_needs() {
        let parts = topics(&[("t", 7), ("u", 5)]);
        let both = vec!["t", "u"];
        let three = [
            ("m1", both.clone()),
            ("m2", both.clone()),
            ("m3", both.clone()),
        ];
        let (before, _) = converge(&three, &BTreeMap::new(), &parts);
        let c = counts(&before);
        assert!(
            c.iter().max().unwrap() - c.iter().min().unwrap() <= 1,
            "{c:?}"
        );
        // A fourth member joins: each old member gives up only its excess.
        let four = [
            ("m1", both.clone()),
            ("m2", both.clone()),
            ("m3", both.clone()),
            ("m4", both.clone()),
        ];
        let (after, _) = converge(&four, &before, &parts);
        for id in ["m1", "m2", "m3"] {
            let kept = after[id].iter().filter(|p| before[id].contains(p)).count();
            assert_eq!(kept, after[id].len(), "{id} only loses partitions");
            assert_eq!(kept, 3, "{id} keeps its share of 12/4");
        }
        assert_eq!(after["m4"].len(), 3);
        // m2 leaves: the others keep everything and split m2's share.
        let (left, rounds) = converge(
            &[("m1", both.clone()), ("m3", both.clone()), ("m4", both)],
            &after,
            &parts,
        );
        assert_eq!(rounds, 1, "nothing owned moves: no second round");
        for id in ["m1", "m3", "m4"] {
            assert!(
                after[id].iter().all(|p| left[id].contains(p)),
                "{id} keeps its partitions"
            );
            assert_eq!(left[id].len(), 4);
        }
    }

    #[test]
    fn sticky_claims_of_a_newer_generation_win_and_equal_ones_conflict() {
        let parts = topics(&[("t", 4)]);
        // a's view is a generation old: b's claim on t-0 wins.
        let m = [
            owning("a", &["t"], &[tp("t", 0), tp("t", 1)], 3),
            owning("b", &["t"], &[tp("t", 0)], 4),
        ];
        let x = assign("cooperative-sticky", &m, &parts, &Racks::new()).unwrap();
        assert!(x["b"].contains(&tp("t", 0)), "{x:?}");
        assert!(!x["a"].contains(&tp("t", 0)), "{x:?}");
        assert!(x["a"].contains(&tp("t", 1)), "{x:?}");
        // Same generation, same partition: no claim wins by stickiness and
        // only a claimer may be given it (the other revokes it).
        let m = [
            owning("a", &["t"], &[tp("t", 0), tp("t", 1), tp("t", 2)], 4),
            owning("b", &["t"], &[tp("t", 0)], 4),
        ];
        let x = assign("cooperative-sticky", &m, &parts, &Racks::new()).unwrap();
        union(&x);
        assert_eq!(x["a"], vec![tp("t", 1), tp("t", 2)], "{x:?}");
        assert_eq!(x["b"], vec![tp("t", 0), tp("t", 3)], "{x:?}");
    }
}
