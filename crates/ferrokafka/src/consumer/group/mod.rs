//! Consumer groups: subscribing to topics and sharing their partitions
//! with the other members of `group.id` (the classic group protocol).
//!
//! Owns the membership state machine (`membership`, no I/O), the
//! assignors and the consumer protocol's embedded messages (`assignor`),
//! the task that runs the membership against the coordinator and
//! applies its decisions to the fetch engine (`task`), and the requests it
//! sends for the membership's actions (`rpc`). The public API is
//! [`Consumer::subscribe`] and friends, below.

pub(crate) mod assignor;
pub(crate) mod membership;
mod rpc;
pub(crate) mod task;

#[cfg(test)]
mod pair_tests;
#[cfg(test)]
mod tests;

use super::{Consumer, Rebalance};
use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use membership::{MemberSettings, Membership};
use std::time::Duration;
use task::GroupConfig;

/// The group settings of a consumer with `group.id`.
pub(crate) fn config(c: &Config) -> Result<Option<GroupConfig>> {
    let group_id = c.get_str("group.id");
    if group_id.is_empty() {
        return Ok(None);
    }
    let mut assignors = Vec::new();
    for a in c.get_list("partition.assignment.strategy") {
        let a = a.trim();
        if !assignor::NAMES.contains(&a) {
            return Err(Error::config(
                "partition.assignment.strategy",
                a,
                "a list of range, roundrobin, cooperative-sticky",
            ));
        }
        assignors.push(a.to_string());
    }
    if assignors.is_empty() {
        assignors = vec!["range".into(), "roundrobin".into()];
    }
    let cooperative = assignors.iter().any(|a| a == "cooperative-sticky");
    if cooperative && assignors.len() > 1 {
        return Err(Error::config(
            "partition.assignment.strategy",
            &assignors.join(","),
            "cooperative-sticky alone (eager and cooperative assignors cannot be mixed)",
        ));
    }
    let rack = c.get_str("client.rack");
    Ok(Some(GroupConfig {
        group_id: group_id.to_string(),
        member: MemberSettings {
            session_timeout: c.get_duration("session.timeout.ms"),
            heartbeat_interval: c.get_duration("heartbeat.interval.ms"),
            max_poll_interval: c.get_duration("max.poll.interval.ms"),
            retry_backoff: c.get_duration("retry.backoff.ms"),
            instance_id: c
                .get_opt_str("group.instance.id")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            cooperative,
            coordinator_query: c.get_duration("coordinator.query.interval.ms"),
        },
        assignors,
        rack: (!rack.is_empty()).then(|| rack.to_string()),
        request_timeout: c.get_duration("socket.timeout.ms"),
        protocol_type: c.get_str("group.protocol.type").to_string(),
    }))
}

/// A group's committed offset of one partition, with what was committed
/// beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommittedOffset {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The next offset to consume; `None` when the group has committed
    /// nothing for the partition.
    pub offset: Option<i64>,
    /// The leader epoch of the last record consumed (KIP-320), when the
    /// committer knew it: the consumer commits it with the offsets it
    /// stored from messages and with explicit offsets at the position.
    pub leader_epoch: Option<i32>,
    /// The application's string committed with the offset (empty when
    /// none); brokers bound it by `offset.metadata.max.bytes` (4096).
    pub metadata: String,
}

impl Consumer {
    /// Commits explicit `(topic, partition, next_offset, metadata)`
    /// entries: each metadata string is stored with its offset and
    /// returned by [`committed_with_metadata`](Consumer::committed_with_metadata).
    pub async fn commit_offsets_with_metadata(
        &self,
        offsets: &[(&str, i32, i64, &str)],
    ) -> Result<()> {
        let who = self.group_or_err()?;
        let entries = self.explicit_entries(offsets.iter().map(|x| (x.0, x.1, x.2)));
        let metadata: Vec<String> = offsets.iter().map(|x| x.3.to_string()).collect();
        let work = super::commit_with_metadata(
            &self.shared,
            &who,
            entries,
            &metadata,
            self.shared.timeout,
        );
        self.rt.entered(work).await
    }

    /// The group's committed offsets of `partitions` with their leader
    /// epochs and metadata strings, in the order asked.
    pub async fn committed_with_metadata(
        &self,
        partitions: &[(&str, i32)],
        timeout: Duration,
    ) -> Result<Vec<CommittedOffset>> {
        let who = self.group_or_err()?;
        let tps: Vec<_> = partitions
            .iter()
            .map(|(t, p)| super::requests::tp(t, *p))
            .collect();
        let lookup = super::requests::fetch_committed_with_metadata(
            &self.shared.cluster,
            &who.group_id,
            &tps,
            self.shared.wire.read_committed,
            timeout,
        );
        let r = self.rt.entered(lookup).await?;
        Ok(r.into_iter()
            .map(|(tp, c)| {
                let (offset, leader_epoch, metadata) = match c {
                    Some(((o, e), m)) => (Some(o), e, m),
                    None => (None, None, String::new()),
                };
                CommittedOffset {
                    topic: tp.topic().to_string(),
                    partition: tp.partition(),
                    offset,
                    leader_epoch,
                    metadata,
                }
            })
            .collect())
    }

    /// Joins `group.id` and consumes the partitions the group assigns
    /// this member among `topics`: names, or regular expressions starting
    /// with `^` matched against the cluster's topics (re-evaluated when
    /// the metadata changes). Replaces any earlier subscription.
    pub fn subscribe(&self, topics: &[&str]) -> Result<()> {
        let Some(cfg) = self.shared.members.config.as_ref() else {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "subscribe needs a consumer group: set group.id",
            ));
        };
        if topics.is_empty() || topics.iter().any(|t| t.is_empty()) {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "subscribe needs one or more topic names or ^regex patterns",
            ));
        }
        for t in topics.iter().filter(|t| t.starts_with('^')) {
            if let Err(e) = regex::Regex::new(t) {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    format!("invalid topic pattern \"{t}\": {e}"),
                ));
            }
        }
        let now = tokio::time::Instant::now().into_std();
        {
            let mut g = self.shared.members.lock();
            g.topics = topics.iter().map(|t| t.to_string()).collect();
            let m = g
                .membership
                .get_or_insert_with(|| Membership::new(cfg.member.clone(), now));
            m.set_commit_on_revoke(self.shared.auto_commit.is_some());
            m.join(now);
        }
        task::ensure_running(&self.shared);
        self.shared.members.wake.notify_one();
        Ok(())
    }

    /// Leaves the group and stops consuming the subscribed topics.
    pub async fn unsubscribe(&self) -> Result<()> {
        self.rt.entered(self.leave_group(self.shared.timeout)).await
    }

    /// Blocking [`unsubscribe`](Consumer::unsubscribe), for code outside a
    /// runtime.
    pub fn unsubscribe_blocking(&self) -> Result<()> {
        let c = self.handle();
        let timeout = self.shared.timeout;
        self.rt
            .block_on(async move { c.leave_group(timeout).await })
    }

    /// The topics (and patterns) subscribed to.
    pub fn subscription(&self) -> Vec<String> {
        self.shared.members.lock().topics.clone()
    }

    /// Calls `f` with the consumer on every assignment change, before the
    /// change takes effect for a `Revoked` event: its partitions are still
    /// assigned while `f` runs, and the group waits for `f` to return
    /// before giving them up (librdkafka's rebalance callback).
    ///
    /// `f` runs on a thread of its own, where the consumer's blocking
    /// calls work: committing on revoke is
    /// [`commit_blocking`](Consumer::commit_blocking) or
    /// [`commit_offsets_blocking`](Consumer::commit_offsets_blocking).
    /// The partitions of an `Assigned` event are already assigned at their
    /// committed offsets, and fetched only once `f` returned;
    /// [`incremental_assign`](Consumer::incremental_assign) restarts them
    /// elsewhere. Heartbeats go on while `f` runs, so a
    /// long `f` keeps the assignment; the group's next join waits for it.
    ///
    /// ```no_run
    /// # use ferrokafka::consumer::{Consumer, Rebalance};
    /// # fn f(consumer: &Consumer) {
    /// consumer.set_rebalance_callback(|c, ev| {
    ///     if let Rebalance::Revoked(_) = ev {
    ///         if let Err(e) = c.commit_blocking() {
    ///             eprintln!("commit on revoke: {e}");
    ///         }
    ///     }
    /// });
    /// # }
    /// ```
    pub fn set_rebalance_callback(
        &self,
        f: impl Fn(&Consumer, &Rebalance) + Send + Sync + 'static,
    ) {
        self.shared.members.lock().callback = Some(std::sync::Arc::new(f));
    }

    /// The oldest rebalance event not taken yet (the last 1024 are kept).
    pub fn next_rebalance(&self) -> Option<Rebalance> {
        self.shared.members.lock().events.pop_front()
    }

    /// Commits (with `enable.auto.commit`), revokes the assignment and
    /// sends LeaveGroup (not for a static member), all within `timeout`.
    pub(crate) async fn leave_group(&self, timeout: Duration) -> Result<()> {
        let Some(cfg) = self.shared.members.config.clone() else {
            return Ok(());
        };
        let leave = {
            let mut g = self.shared.members.lock();
            g.topics.clear();
            match g.membership.as_mut() {
                Some(m) => m.leave(),
                None => return Ok(()),
            }
        };
        let shared = self.shared.clone();
        let group = cfg.group_id.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        let work = async move {
            task::apply_notices(&shared, None).await;
            for a in leave {
                if let membership::Action::Leave { member_id } = a {
                    // The coordinator may have moved or gone down since
                    // the member last heard from it (issue 13 item 2):
                    // found anew, and sent again, as a commit is.
                    let cluster = &shared.cluster;
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    super::requests::with_coordinator(cluster, &group, left, |id, left| {
                        rpc::send_leave(cluster, id, &group, &member_id, left)
                    })
                    .await?;
                }
            }
            Ok(())
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(
                ErrorCode::TimedOut,
                format!(
                    "leaving group {} did not finish within {} ms",
                    cfg.group_id,
                    timeout.as_millis()
                ),
            )),
        }
    }
}
