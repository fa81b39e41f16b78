//! Replica placement at the controller: leader elections (preferred and
//! unclean, ElectLeaders), and partition reassignments (start or cancel
//! with AlterPartitionReassignments, list the ongoing ones with
//! ListPartitionReassignments). Results are per partition, in the order
//! given; a request-level error (e.g. CLUSTER_AUTHORIZATION_FAILED) fails
//! the call.

use super::{resource_error, resource_result, AdminClient, AdminOptions, PartitionResults};
use crate::error::{Error, ErrorCode, Result};
use crate::TopicPartition;
use kafka_protocol::messages::{
    alter_partition_reassignments_request::{ReassignablePartition, ReassignableTopic},
    elect_leaders_request::TopicPartitions,
    list_partition_reassignments_request::ListPartitionReassignmentsTopics,
    AlterPartitionReassignmentsRequest, BrokerId, ElectLeadersRequest,
    ListPartitionReassignmentsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

/// Which leader an election picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ElectionType {
    /// The first replica of the assignment, if it is in sync (wire 0).
    Preferred,
    /// Any live replica when no in-sync replica is left, accepting data
    /// loss (wire 1, KIP-460).
    Unclean,
}

/// A partition and its new replica set (`None`: cancel its reassignment).
pub type Reassignment = (TopicPartition, Option<Vec<i32>>);

/// An ongoing reassignment of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReassignment {
    /// The current replica set.
    pub replicas: Vec<i32>,
    /// Replicas being added.
    pub adding: Vec<i32>,
    /// Replicas being removed.
    pub removing: Vec<i32>,
}

fn topic_name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// Groups `(topic, partition)` pairs by topic, keeping first-seen order.
fn by_topic(partitions: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for tp in partitions {
        let (t, p) = (tp.topic(), tp.partition());
        match out.iter_mut().find(|(n, _)| n == t) {
            Some((_, v)) => v.push(p),
            None => out.push((t.to_string(), vec![p])),
        }
    }
    out
}

fn no_result(api: &str, t: &str, p: i32) -> Error {
    Error::new(
        ErrorCode::BadMsg,
        format!("{api}: the broker sent no result for {t}:{p}"),
    )
}

impl AdminClient {
    /// Elects leaders for `partitions` (every partition when `None`; the
    /// controller then reports only those it tried). A partition whose
    /// leader is already the one asked for gets `ElectionNotNeeded`.
    pub async fn elect_leaders(
        &self,
        election: ElectionType,
        partitions: Option<&[TopicPartition]>,
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        let build = |v: i16| {
            if election == ElectionType::Unclean && v < 1 {
                return Err(Error::new(
                    ErrorCode::UnsupportedVersion,
                    "unclean leader election needs ElectLeaders v1 (Kafka 2.4+)",
                ));
            }
            let mut req = ElectLeadersRequest::default();
            req.election_type = match election {
                ElectionType::Preferred => 0,
                ElectionType::Unclean => 1,
            };
            req.timeout_ms = opts.operation_ms();
            req.topic_partitions = partitions.map(|ps| {
                by_topic(ps)
                    .into_iter()
                    .map(|(t, parts)| {
                        let mut x = TopicPartitions::default();
                        x.topic = topic_name(&t);
                        x.partitions = parts;
                        x
                    })
                    .collect()
            });
            Ok(req)
        };
        let (_, r) = self
            .call_controller(opts.deadline(), build, |r| {
                r.error_code == super::NOT_CONTROLLER
            })
            .await?;
        if let Some(e) = resource_error(r.error_code, None, "elect leaders") {
            return Err(e);
        }
        let mut got = Vec::new();
        for t in &r.replica_election_results {
            for p in &t.partition_result {
                let (topic, part) = (t.topic.0.to_string(), p.partition_id);
                let what = format!("elect leader of {topic}:{part}");
                got.push((
                    TopicPartition::new(topic, part),
                    resource_result(p.error_code, p.error_message.as_deref(), &what, ()),
                ));
            }
        }
        match partitions {
            None => Ok(got),
            Some(ps) => Ok(ps
                .iter()
                .map(|tp| {
                    let res = got
                        .iter()
                        .find(|(g, _)| g == tp)
                        .map(|(_, r)| r.clone())
                        .unwrap_or_else(|| {
                            Err(no_result("ElectLeaders", tp.topic(), tp.partition()))
                        });
                    (tp.clone(), res)
                })
                .collect()),
        }
    }

    /// [`AdminClient::elect_leaders`] for synchronous code.
    pub fn elect_leaders_blocking(
        &self,
        election: ElectionType,
        partitions: Option<&[TopicPartition]>,
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        let (partitions, opts) = (partitions.map(<[_]>::to_vec), opts.clone());
        self.blocking(move |a| async move {
            a.elect_leaders(election, partitions.as_deref(), &opts)
                .await
        })
    }

    /// Moves partitions to new replica sets (`Some(brokers)`, the first
    /// the preferred leader) or cancels an ongoing reassignment (`None`;
    /// `NoReassignmentInProgress` when there is none).
    pub async fn alter_partition_reassignments(
        &self,
        reassignments: &[Reassignment],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        if reassignments.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "alter partition reassignments: no partitions given",
            ));
        }
        let build = |_v: i16| {
            let mut req = AlterPartitionReassignmentsRequest::default();
            req.timeout_ms = opts.operation_ms();
            req.allow_replication_factor_change = true;
            let mut topics: Vec<ReassignableTopic> = Vec::new();
            for (tp, replicas) in reassignments {
                let t = tp.topic();
                let mut part = ReassignablePartition::default();
                part.partition_index = tp.partition();
                part.replicas = replicas
                    .as_ref()
                    .map(|v| v.iter().map(|b| BrokerId(*b)).collect());
                match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
                    Some(x) => x.partitions.push(part),
                    None => {
                        let mut x = ReassignableTopic::default();
                        x.name = topic_name(t);
                        x.partitions.push(part);
                        topics.push(x);
                    }
                }
            }
            req.topics = topics;
            Ok(req)
        };
        let (_, r) = self
            .call_controller(opts.deadline(), build, |r| {
                r.error_code == super::NOT_CONTROLLER
            })
            .await?;
        if let Some(e) = resource_error(
            r.error_code,
            r.error_message.as_deref(),
            "alter partition reassignments",
        ) {
            return Err(e);
        }
        Ok(reassignments
            .iter()
            .map(|(tp, _)| {
                let (t, p) = (tp.topic(), &tp.partition());
                let found = r
                    .responses
                    .iter()
                    .filter(|x| x.name.0.as_str() == t)
                    .flat_map(|x| &x.partitions)
                    .find(|x| x.partition_index == *p);
                let what = format!("reassign {t}:{p}");
                let res = match found {
                    Some(x) => resource_result(x.error_code, x.error_message.as_deref(), &what, ()),
                    None => Err(no_result("AlterPartitionReassignments", t, *p)),
                };
                (tp.clone(), res)
            })
            .collect())
    }

    /// [`AdminClient::alter_partition_reassignments`] for synchronous code.
    pub fn alter_partition_reassignments_blocking(
        &self,
        reassignments: &[Reassignment],
        opts: &AdminOptions,
    ) -> Result<PartitionResults<()>> {
        let (reassignments, opts) = (reassignments.to_vec(), opts.clone());
        self.blocking(move |a| async move {
            a.alter_partition_reassignments(&reassignments, &opts).await
        })
    }

    /// The ongoing reassignments of `partitions` (of every partition when
    /// `None`), sorted by partition.
    pub async fn list_partition_reassignments(
        &self,
        partitions: Option<&[TopicPartition]>,
        opts: &AdminOptions,
    ) -> Result<Vec<(TopicPartition, PartitionReassignment)>> {
        let build = |_v: i16| {
            let mut req = ListPartitionReassignmentsRequest::default();
            req.timeout_ms = opts.operation_ms();
            req.topics = partitions.map(|ps| {
                by_topic(ps)
                    .into_iter()
                    .map(|(t, parts)| {
                        let mut x = ListPartitionReassignmentsTopics::default();
                        x.name = topic_name(&t);
                        x.partition_indexes = parts;
                        x
                    })
                    .collect()
            });
            Ok(req)
        };
        let (_, r) = self
            .call_controller(opts.deadline(), build, |r| {
                r.error_code == super::NOT_CONTROLLER
            })
            .await?;
        if let Some(e) = resource_error(
            r.error_code,
            r.error_message.as_deref(),
            "list partition reassignments",
        ) {
            return Err(e);
        }
        let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
        let mut out: Vec<(TopicPartition, PartitionReassignment)> = r
            .topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| {
                    (
                        TopicPartition::new(t.name.as_str(), p.partition_index),
                        PartitionReassignment {
                            replicas: ids(&p.replicas),
                            adding: ids(&p.adding_replicas),
                            removing: ids(&p.removing_replicas),
                        },
                    )
                })
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// [`AdminClient::list_partition_reassignments`] for synchronous code.
    pub fn list_partition_reassignments_blocking(
        &self,
        partitions: Option<&[TopicPartition]>,
        opts: &AdminOptions,
    ) -> Result<Vec<(TopicPartition, PartitionReassignment)>> {
        let (partitions, opts) = (partitions.map(<[_]>::to_vec), opts.clone());
        self.blocking(move |a| async move {
            a.list_partition_reassignments(partitions.as_deref(), &opts)
                .await
        })
    }
}
