//! [`TopicPartition`], the one name of a partition across the library: the
//! consumer's assignment and rebalance events, group membership and its
//! assignors, fetch state, transaction state and the admin client's
//! per-partition results all use it. Each layer keeps its own per-partition
//! data keyed by it; nothing about a partition beyond its name lives here.

use std::fmt;
use std::sync::Arc;

/// A topic and a partition index.
///
/// Cheap to clone (the topic is shared), ordered by topic then partition
/// (the order the client sorts assignments and results in), hashable, and
/// built from a pair:
///
/// ```
/// use ferrokafka::TopicPartition;
///
/// let tp = TopicPartition::new("events", 3);
/// assert_eq!(tp.topic(), "events");
/// assert_eq!(tp.partition(), 3);
/// assert_eq!(tp.to_string(), "events:3");
/// assert_eq!(TopicPartition::from(("events", 3)), tp);
/// assert!(TopicPartition::new("events", 2) < tp);
/// ```
///
/// It displays as `topic:partition`, the form the `ferrokafka` command line
/// takes and prints. That form is unambiguous: Kafka topic names hold only
/// ASCII letters, digits, `.`, `_` and `-`, never `:`.
///
/// The fields are private, so the type can grow (a topic id, say) without
/// breaking callers; build it with [`TopicPartition::new`] or `From`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    // Field order matters: the derived `Ord` and `Hash` compare and feed
    // the topic first, as the (topic, partition) pairs this type replaced.
    topic: Arc<str>,
    partition: i32,
}

impl TopicPartition {
    /// A partition of `topic`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic's name as the shared string this value holds (cloning it
    /// does not copy the name).
    pub fn topic_arc(&self) -> &Arc<str> {
        &self.topic
    }

    /// The partition index.
    pub fn partition(&self) -> i32 {
        self.partition
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.topic, self.partition)
    }
}

impl From<(&str, i32)> for TopicPartition {
    fn from((topic, partition): (&str, i32)) -> Self {
        TopicPartition::new(topic, partition)
    }
}

impl From<(String, i32)> for TopicPartition {
    fn from((topic, partition): (String, i32)) -> Self {
        TopicPartition::new(topic, partition)
    }
}

impl From<(&String, i32)> for TopicPartition {
    fn from((topic, partition): (&String, i32)) -> Self {
        TopicPartition::new(topic.as_str(), partition)
    }
}

impl From<(Arc<str>, i32)> for TopicPartition {
    fn from((topic, partition): (Arc<str>, i32)) -> Self {
        TopicPartition::new(topic, partition)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;
    use std::hash::{Hash, Hasher};

    fn hash<T: Hash>(v: &T) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    /// Sorting and hashing are those of the (topic, partition) pairs the
    /// type replaced, so maps keyed by it iterate and spread as before.
    #[test]
    fn orders_and_hashes_as_the_pair_it_replaced() {
        let mut v = vec![
            TopicPartition::new("b", 0),
            TopicPartition::new("a", 10),
            TopicPartition::new("a", 2),
        ];
        v.sort();
        assert_eq!(
            v,
            [
                TopicPartition::new("a", 2),
                TopicPartition::new("a", 10),
                TopicPartition::new("b", 0)
            ]
        );
        let pair: (Arc<str>, i32) = (Arc::from("a"), 2);
        assert_eq!(hash(&TopicPartition::new("a", 2)), hash(&pair));
    }

    #[test]
    fn displays_as_topic_colon_partition_and_converts_from_pairs() {
        let tp = TopicPartition::new(String::from("t.x"), 7);
        assert_eq!(format!("{tp}"), "t.x:7");
        assert_eq!(TopicPartition::from((String::from("t.x"), 7)), tp);
        assert_eq!(TopicPartition::from((Arc::<str>::from("t.x"), 7)), tp);
        let clone = tp.clone();
        assert!(Arc::ptr_eq(clone.topic_arc(), tp.topic_arc()));
    }
}
