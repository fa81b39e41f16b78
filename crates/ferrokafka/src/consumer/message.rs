//! What the consumer hands to the application: [`Message`], the
//! partition-scoped [`ConsumerError`], start positions ([`Offset`]),
//! timestamps and assignment changes ([`Rebalance`]).

use crate::error::{Error, ErrorCode};
use crate::record::{Fields, Header};
use crate::TopicPartition;
use bytes::Bytes;
use std::fmt;
use std::sync::Arc;

/// Where to start (or resume) consuming a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Offset {
    /// The oldest record the partition still holds.
    Beginning,
    /// The next record to be produced (the high watermark, or the last
    /// stable offset with read_committed).
    End,
    /// The group's committed offset (needs `group.id`); `auto.offset.reset`
    /// decides when there is none.
    Stored,
    /// An absolute offset.
    Offset(i64),
    /// This many records before the end (`-N` in kcat).
    OffsetTail(i64),
    /// The first record with a timestamp at or after this many milliseconds
    /// since the epoch (KIP-79); the end when there is none.
    Timestamp(i64),
}

impl Offset {
    /// Parses kcat's `-o` syntax: `beginning`, `end`, `stored`, `N`, `-N`
    /// (relative to the end) or `s@TIMESTAMP_MS`.
    pub fn parse(s: &str) -> Option<Offset> {
        let s = s.trim();
        match s {
            "beginning" | "earliest" | "smallest" => return Some(Offset::Beginning),
            "end" | "latest" | "largest" => return Some(Offset::End),
            "stored" => return Some(Offset::Stored),
            _ => {}
        }
        if let Some(ts) = s.strip_prefix("s@") {
            return ts
                .parse()
                .ok()
                .filter(|t: &i64| *t >= 0)
                .map(Offset::Timestamp);
        }
        let n: i64 = s.parse().ok()?;
        if s.starts_with('-') {
            n.checked_neg().map(Offset::OffsetTail)
        } else {
            Some(Offset::Offset(n))
        }
    }
}

/// A record's timestamp and what assigned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timestamp {
    /// No timestamp (MessageSet v0).
    NotAvailable,
    /// Set by the producer (milliseconds since the epoch).
    CreateTime(i64),
    /// Set by the broker on append (milliseconds since the epoch).
    LogAppendTime(i64),
}

impl Timestamp {
    /// The milliseconds, if there is a timestamp.
    pub fn millis(self) -> Option<i64> {
        match self {
            Timestamp::NotAvailable => None,
            Timestamp::CreateTime(t) | Timestamp::LogAppendTime(t) => Some(t),
        }
    }
}

/// One consumed record. Key, value and headers are slices of the fetched
/// buffer (no copy); keeping a message alive keeps its fetch buffer alive.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// The record's timestamp.
    pub timestamp: Timestamp,
    /// Key, value and headers (the offset and timestamp are above).
    pub(crate) record: Fields,
    /// The broker the record was fetched from.
    pub broker: i32,
    /// The leader epoch of the batch (KIP-320), when the broker stamped one.
    pub leader_epoch: Option<i32>,
}

impl Message {
    /// The key; `None` is a null key.
    pub fn key(&self) -> Option<&[u8]> {
        self.record.key()
    }

    /// The value; `None` is a null value (a tombstone).
    pub fn value(&self) -> Option<&[u8]> {
        self.record.value()
    }

    /// The key as a `Bytes` slice of the fetched buffer (no copy).
    pub fn key_bytes(&self) -> Option<Bytes> {
        self.record.key_bytes()
    }

    /// The value as a `Bytes` slice of the fetched buffer (no copy).
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.record.value_bytes()
    }

    /// The record's headers, in order (decoded on each call; values are
    /// slices of the fetched buffer).
    pub fn headers(&self) -> Vec<Header> {
        self.record
            .headers()
            .filter_map(|h| h.to_header().ok())
            .collect()
    }

    /// The headers as raw `(name, value)` pairs, without allocating.
    pub fn header_pairs(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.record.headers().map(|h| (h.key, h.value))
    }

    /// Number of headers.
    pub fn header_count(&self) -> usize {
        self.record.header_count()
    }

    pub(crate) fn headers_len(&self) -> usize {
        if self.record.header_count() == 0 {
            return 0;
        }
        self.record
            .headers()
            .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len))
            .sum()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("key_len", &self.key().map(<[u8]>::len))
            .field("value_len", &self.value().map(<[u8]>::len))
            .field("headers", &self.header_count())
            .finish()
    }
}

/// An error or event of one partition delivered in the message stream:
/// end of partition (`PartitionEof`, with `enable.partition.eof`),
/// `AutoOffsetReset`, authorization failures, corrupt batches...
#[derive(Debug, Clone)]
pub struct ConsumerError {
    error: Error,
    topic: Option<Arc<str>>,
    partition: Option<i32>,
    offset: Option<i64>,
}

impl ConsumerError {
    pub(crate) fn partition(
        error: Error,
        topic: &Arc<str>,
        partition: i32,
        offset: Option<i64>,
    ) -> Self {
        ConsumerError {
            error,
            topic: Some(topic.clone()),
            partition: Some(partition),
            offset,
        }
    }

    pub(crate) fn client(error: Error) -> Self {
        ConsumerError {
            error,
            topic: None,
            partition: None,
            offset: None,
        }
    }

    /// The error's code (`PartitionEof` is an event, not a failure).
    pub fn code(&self) -> ErrorCode {
        self.error.code()
    }

    /// The underlying error.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The topic it concerns, if any.
    pub fn topic(&self) -> Option<&str> {
        self.topic.as_deref()
    }

    /// The partition it concerns, if any.
    pub fn partition_id(&self) -> Option<i32> {
        self.partition
    }

    /// The offset it concerns (for `PartitionEof`: the end offset).
    pub fn offset(&self) -> Option<i64> {
        self.offset
    }

    /// True for the end-of-partition event.
    pub fn is_eof(&self) -> bool {
        self.error.code() == ErrorCode::PartitionEof
    }
}

impl fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.topic, self.partition) {
            (Some(t), Some(p)) => write!(f, "{t} [{p}]: {}", self.error),
            _ => write!(f, "{}", self.error),
        }
    }
}

impl std::error::Error for ConsumerError {}

impl From<ConsumerError> for Error {
    fn from(e: ConsumerError) -> Error {
        e.error
    }
}

impl From<Error> for ConsumerError {
    fn from(e: Error) -> ConsumerError {
        ConsumerError::client(e)
    }
}

/// A change of the consumer's assignment, told to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebalance {
    /// These partitions were assigned (fetching starts at the committed
    /// offsets, or per `auto.offset.reset`).
    Assigned(Vec<TopicPartition>),
    /// These partitions were given back; their stored offsets were
    /// committed first when `enable.auto.commit` is on.
    Revoked(Vec<TopicPartition>),
    /// These partitions were lost (the member was dropped by the group):
    /// another member may already own them, nothing was committed.
    Lost(Vec<TopicPartition>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_like_kcat() {
        assert_eq!(Offset::parse("beginning"), Some(Offset::Beginning));
        assert_eq!(Offset::parse("end"), Some(Offset::End));
        assert_eq!(Offset::parse("stored"), Some(Offset::Stored));
        assert_eq!(Offset::parse("42"), Some(Offset::Offset(42)));
        assert_eq!(Offset::parse("-10"), Some(Offset::OffsetTail(10)));
        assert_eq!(
            Offset::parse("s@1700000000000"),
            Some(Offset::Timestamp(1_700_000_000_000))
        );
        assert_eq!(Offset::parse("s@-1"), None);
        assert_eq!(Offset::parse("x"), None);
    }
}
