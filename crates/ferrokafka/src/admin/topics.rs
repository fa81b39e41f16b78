//! Topic administration: CreateTopics, DeleteTopics (by name and by id)
//! and CreatePartitions at the controller, and topic descriptions (with
//! authorized operations) from Metadata, through the cluster layer's decoder.

pub use crate::cluster::TopicId;

use super::{resource_result, AdminClient, AdminOptions, NOT_CONTROLLER};
use crate::error::{Error, ErrorCode, Result};
use kafka_protocol::messages::{
    create_partitions_request, create_topics_request, delete_topics_request, BrokerId,
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// The topic name.
    pub name: String,
    /// Partition count; -1 takes the broker's `num.partitions`.
    pub partitions: i32,
    /// Replication factor; -1 takes the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Explicit replica assignment: per partition (0, 1, ...), its replica
    /// broker ids, preferred leader first. When not empty, `partitions` and
    /// `replication_factor` are sent as -1 (Kafka requires that).
    pub assignment: Vec<Vec<i32>>,
    /// Topic configs to set, `(name, value)`.
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    /// A topic of `partitions` partitions with `replication_factor` replicas
    /// each (-1 for either takes the broker default).
    pub fn new(name: &str, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic {
            name: name.to_string(),
            partitions,
            replication_factor,
            assignment: Vec::new(),
            configs: Vec::new(),
        }
    }

    /// A topic with an explicit replica assignment (one entry per
    /// partition, each the replicas' broker ids).
    pub fn with_assignment(name: &str, assignment: Vec<Vec<i32>>) -> NewTopic {
        NewTopic {
            assignment,
            ..NewTopic::new(name, -1, -1)
        }
    }

    /// Adds a topic config.
    #[must_use]
    pub fn config(mut self, name: &str, value: &str) -> NewTopic {
        self.configs.push((name.to_string(), value.to_string()));
        self
    }
}

/// A topic as described by [`AdminClient::describe_topics`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    /// The topic name.
    pub name: String,
    /// Its id, from brokers that send one (Metadata v10+).
    pub topic_id: Option<TopicId>,
    /// Whether it is an internal topic (`__consumer_offsets`, ...).
    pub is_internal: bool,
    /// Its partitions, by index.
    pub partitions: Vec<TopicPartitionInfo>,
    /// The operations this client may perform on the topic, when the broker
    /// reports them (Metadata v8+).
    pub authorized_operations: Option<Vec<super::AclOperation>>,
}

/// One partition of a described topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPartitionInfo {
    /// The partition index.
    pub partition: i32,
    /// The leader's broker id, `None` when there is no leader.
    pub leader: Option<i32>,
    /// The replicas' broker ids, preferred leader first.
    pub replicas: Vec<i32>,
    /// The in-sync replicas.
    pub isr: Vec<i32>,
    /// A partition-level error, when the broker reported one.
    pub error: Option<ErrorCode>,
}

/// A partition-count increase for [`AdminClient::create_partitions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartitions {
    /// The topic.
    pub topic: String,
    /// The new total partition count (must exceed the current one).
    pub total: i32,
    /// Replicas of each new partition, or empty to let the broker place them.
    pub assignment: Vec<Vec<i32>>,
}

impl NewPartitions {
    /// Grows `topic` to `total` partitions, placed by the broker.
    pub fn new(topic: &str, total: i32) -> NewPartitions {
        NewPartitions {
            topic: topic.to_string(),
            total,
            assignment: Vec::new(),
        }
    }
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn broker_ids(v: &[i32]) -> Vec<BrokerId> {
    v.iter().copied().map(BrokerId).collect()
}

/// Refuses a call with no resources, or with one named twice (Kafka
/// answers INVALID_REQUEST for every duplicate; a local error is clearer).
fn check_names<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    let mut any = false;
    for n in names {
        any = true;
        if !seen.insert(n) {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                format!("{what}: {n:?} is given more than once"),
            ));
        }
    }
    if !any {
        return Err(Error::new(
            ErrorCode::InvalidArg,
            format!("{what}: no resources given"),
        ));
    }
    Ok(())
}

/// Answers in request order: the broker's result for each name, or an
/// error when the broker left a name out.
fn in_order<T>(
    names: impl Iterator<Item = String>,
    mut got: Vec<(String, Result<T>)>,
    what: &str,
) -> Vec<(String, Result<T>)> {
    names
        .map(|n| match got.iter().position(|(g, _)| *g == n) {
            Some(i) => got.swap_remove(i),
            None => {
                let e = Error::new(
                    ErrorCode::BadMsg,
                    format!("{what} {n:?}: the broker's response did not mention it"),
                );
                (n, Err(e))
            }
        })
        .collect()
}

impl AdminClient {
    /// Creates `topics` at the controller. Per topic: its id (from brokers
    /// that send one) or the broker's error, e.g. `TopicAlreadyExists`,
    /// `InvalidPartitions`, `InvalidReplicationFactor`, `InvalidConfig`
    /// with the broker's message. With `validate_only` nothing is created.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<Option<TopicId>>)>> {
        check_names("create topics", topics.iter().map(|t| t.name.as_str()))?;
        let deadline = opts.deadline();
        let build = |_v: i16| {
            let mut req = CreateTopicsRequest::default();
            req.timeout_ms = opts.operation_ms();
            req.validate_only = opts.validate_only;
            for t in topics {
                let mut c = create_topics_request::CreatableTopic::default();
                c.name = name(&t.name);
                if t.assignment.is_empty() {
                    c.num_partitions = t.partitions;
                    c.replication_factor = t.replication_factor;
                } else {
                    c.num_partitions = -1;
                    c.replication_factor = -1;
                    c.assignments = t
                        .assignment
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            let mut a =
                                create_topics_request::CreatableReplicaAssignment::default();
                            a.partition_index = i as i32;
                            a.broker_ids = broker_ids(r);
                            a
                        })
                        .collect();
                }
                c.configs = t
                    .configs
                    .iter()
                    .map(|(k, v)| {
                        let mut e = create_topics_request::CreatableTopicConfig::default();
                        e.name = StrBytes::from_string(k.clone());
                        e.value = Some(StrBytes::from_string(v.clone()));
                        e
                    })
                    .collect();
                req.topics.push(c);
            }
            Ok(req)
        };
        let (_, resp) = self
            .call_controller(deadline, build, |r| {
                r.topics.iter().any(|t| t.error_code == NOT_CONTROLLER)
            })
            .await?;
        let got = resp
            .topics
            .into_iter()
            .map(|t| {
                let n = t.name.0.to_string();
                let what = format!("create topic {n:?}");
                let r = resource_result(
                    t.error_code,
                    t.error_message.as_deref(),
                    &what,
                    TopicId::from_uuid(t.topic_id),
                );
                (n, r)
            })
            .collect();
        Ok(in_order(
            topics.iter().map(|t| t.name.clone()),
            got,
            "create topic",
        ))
    }

    /// [`AdminClient::create_topics`] for synchronous code.
    pub fn create_topics_blocking(
        &self,
        topics: &[NewTopic],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<Option<TopicId>>)>> {
        let (topics, opts) = (topics.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.create_topics(&topics, &opts).await })
    }

    /// Deletes topics by name at the controller. Per topic: `Ok(())` or the
    /// broker's error (`UnknownTopicOrPartition` for a missing one).
    pub async fn delete_topics(
        &self,
        topics: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        check_names("delete topics", topics.iter().copied())?;
        let deadline = opts.deadline();
        let build = |v: i16| {
            let mut req = DeleteTopicsRequest::default();
            req.timeout_ms = opts.operation_ms();
            if v >= 6 {
                req.topics = topics
                    .iter()
                    .map(|t| {
                        let mut s = delete_topics_request::DeleteTopicState::default();
                        s.name = Some(name(t));
                        s
                    })
                    .collect();
            } else {
                req.topic_names = topics.iter().map(|t| name(t)).collect();
            }
            Ok(req)
        };
        let (_, resp) = self
            .call_controller(deadline, build, |r| {
                r.responses.iter().any(|t| t.error_code == NOT_CONTROLLER)
            })
            .await?;
        let got = resp
            .responses
            .into_iter()
            .map(|t| {
                let n = t.name.map(|n| n.0.to_string()).unwrap_or_default();
                let what = format!("delete topic {n:?}");
                let r = resource_result(t.error_code, t.error_message.as_deref(), &what, ());
                (n, r)
            })
            .collect();
        Ok(in_order(
            topics.iter().map(|t| t.to_string()),
            got,
            "delete topic",
        ))
    }

    /// [`AdminClient::delete_topics`] for synchronous code.
    pub fn delete_topics_blocking(
        &self,
        topics: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        let (topics, opts): (Vec<String>, _) =
            (topics.iter().map(|s| s.to_string()).collect(), opts.clone());
        self.blocking(move |a| async move {
            let t: Vec<&str> = topics.iter().map(String::as_str).collect();
            a.delete_topics(&t, &opts).await
        })
    }

    /// Deletes topics by id (DeleteTopics v6+, Kafka 2.8+). Per id: the
    /// deleted topic's name, or the broker's error (`UnknownTopicId`).
    pub async fn delete_topics_by_id(
        &self,
        ids: &[TopicId],
        opts: &AdminOptions,
    ) -> Result<Vec<(TopicId, Result<String>)>> {
        if ids.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "delete topics: no resources given",
            ));
        }
        let deadline = opts.deadline();
        let build = |v: i16| {
            if v < 6 {
                return Err(Error::new(
                    ErrorCode::UnsupportedVersion,
                    format!(
                        "deleting topics by id needs DeleteTopics v6; the controller speaks v{v}"
                    ),
                ));
            }
            let mut req = DeleteTopicsRequest::default();
            req.timeout_ms = opts.operation_ms();
            req.topics = ids
                .iter()
                .map(|id| {
                    let mut s = delete_topics_request::DeleteTopicState::default();
                    s.topic_id = id.uuid();
                    s
                })
                .collect();
            Ok(req)
        };
        let (_, resp) = self
            .call_controller(deadline, build, |r| {
                r.responses.iter().any(|t| t.error_code == NOT_CONTROLLER)
            })
            .await?;
        Ok(ids
            .iter()
            .map(|id| {
                let r = match resp
                    .responses
                    .iter()
                    .find(|t| t.topic_id.as_bytes() == &id.0)
                {
                    Some(t) => resource_result(
                        t.error_code,
                        t.error_message.as_deref(),
                        &format!("delete topic id {id}"),
                        t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default(),
                    ),
                    None => Err(Error::new(
                        ErrorCode::BadMsg,
                        format!("delete topic id {id}: the broker's response did not mention it"),
                    )),
                };
                (*id, r)
            })
            .collect())
    }

    /// [`AdminClient::delete_topics_by_id`] for synchronous code.
    pub fn delete_topics_by_id_blocking(
        &self,
        ids: &[TopicId],
        opts: &AdminOptions,
    ) -> Result<Vec<(TopicId, Result<String>)>> {
        let (ids, opts) = (ids.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.delete_topics_by_id(&ids, &opts).await })
    }

    /// Grows topics' partition counts at the controller. Per topic:
    /// `Ok(())` or the broker's error (`InvalidPartitions` for a count that
    /// does not grow, `UnknownTopicOrPartition`).
    pub async fn create_partitions(
        &self,
        requests: &[NewPartitions],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        check_names(
            "create partitions",
            requests.iter().map(|r| r.topic.as_str()),
        )?;
        let deadline = opts.deadline();
        let build = |_v: i16| {
            let mut req = CreatePartitionsRequest::default();
            req.timeout_ms = opts.operation_ms();
            req.validate_only = opts.validate_only;
            req.topics = requests
                .iter()
                .map(|r| {
                    let mut t = create_partitions_request::CreatePartitionsTopic::default();
                    t.name = name(&r.topic);
                    t.count = r.total;
                    t.assignments = (!r.assignment.is_empty()).then(|| {
                        r.assignment
                            .iter()
                            .map(|b| {
                                let mut a =
                                    create_partitions_request::CreatePartitionsAssignment::default(
                                    );
                                a.broker_ids = broker_ids(b);
                                a
                            })
                            .collect()
                    });
                    t
                })
                .collect();
            Ok(req)
        };
        let (_, resp) = self
            .call_controller(deadline, build, |r| {
                r.results.iter().any(|t| t.error_code == NOT_CONTROLLER)
            })
            .await?;
        let got = resp
            .results
            .into_iter()
            .map(|t| {
                let n = t.name.0.to_string();
                let what = format!("create partitions of {n:?}");
                let r = resource_result(t.error_code, t.error_message.as_deref(), &what, ());
                (n, r)
            })
            .collect();
        Ok(in_order(
            requests.iter().map(|r| r.topic.clone()),
            got,
            "create partitions of",
        ))
    }

    /// [`AdminClient::create_partitions`] for synchronous code.
    pub fn create_partitions_blocking(
        &self,
        requests: &[NewPartitions],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<()>)>> {
        let (requests, opts) = (requests.to_vec(), opts.clone());
        self.blocking(move |a| async move { a.create_partitions(&requests, &opts).await })
    }

    /// Describes `topics` (partitions, leaders, replicas, ISR, id and the
    /// operations this client is authorized for) from any broker. Per
    /// topic: its description or the broker's error
    /// (`UnknownTopicOrPartition`, `TopicAuthorizationFailed`).
    pub async fn describe_topics(
        &self,
        topics: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<TopicDescription>)>> {
        check_names("describe topics", topics.iter().copied())?;
        let names: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        // The cluster layer's one Metadata decoder (brokers tried in turn
        // within the request timeout); never auto-creates.
        let md = self
            .cluster
            .metadata_with_operations(&names, opts.request_timeout)
            .await?;
        let got = md
            .topics
            .into_iter()
            .map(|t| {
                let what = format!("describe topic {:?}", t.name);
                let d = TopicDescription {
                    name: t.name.clone(),
                    topic_id: t.topic_id,
                    is_internal: t.is_internal,
                    partitions: t
                        .partitions
                        .into_iter()
                        .map(|p| TopicPartitionInfo {
                            partition: p.id,
                            leader: p.leader,
                            replicas: p.replicas,
                            isr: p.isr,
                            error: p.error,
                        })
                        .collect(),
                    authorized_operations: t
                        .authorized_operations
                        .and_then(super::AclOperation::from_bits),
                };
                let r = match t.error {
                    None => Ok(d),
                    Some(code) => Err(Error::new(code, format!("{what}: {}", code.description()))),
                };
                (t.name, r)
            })
            .collect();
        Ok(in_order(names.into_iter(), got, "describe topic"))
    }

    /// [`AdminClient::describe_topics`] for synchronous code.
    pub fn describe_topics_blocking(
        &self,
        topics: &[&str],
        opts: &AdminOptions,
    ) -> Result<Vec<(String, Result<TopicDescription>)>> {
        let (topics, opts): (Vec<String>, _) =
            (topics.iter().map(|s| s.to_string()).collect(), opts.clone());
        self.blocking(move |a| async move {
            let t: Vec<&str> = topics.iter().map(String::as_str).collect();
            a.describe_topics(&t, &opts).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_ids_print_and_parse_as_uuids() {
        let id: TopicId = "0f8b3a3c-1d2e-4f50-8a6b-7c8d9e0f1a2b".parse().unwrap();
        assert_eq!(id.to_string(), "0f8b3a3c-1d2e-4f50-8a6b-7c8d9e0f1a2b");
        assert!(!id.is_nil());
        let e = "nope".parse::<TopicId>().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArg);
        assert!(e.message().contains("nope"), "{e}");
    }

    #[test]
    fn duplicate_and_empty_resource_lists_are_refused() {
        let e = check_names("create topics", ["a", "b", "a"].into_iter()).unwrap_err();
        assert!(e.message().contains("\"a\""), "{e}");
        assert!(check_names("x", std::iter::empty()).is_err());
        assert!(check_names("x", ["a", "b"].into_iter()).is_ok());
    }
}
