//! [`ProducerRecord`]: what the application hands to the producer.
//!
//! Owns the record type and its builder; the payloads are `bytes::Bytes`, so
//! handing a record over moves it without copying.

use crate::record::Header;
use bytes::Bytes;
use std::sync::Arc;

/// A record to produce: topic, optional key, optional value (`None` is a
/// tombstone), headers (KIP-82), an optional timestamp (CreateTime; now when
/// unset) and an optional explicit partition (the partitioner chooses when
/// unset).
///
/// ```
/// use ferrokafka::producer::ProducerRecord;
///
/// let r = ProducerRecord::new("orders")
///     .key("customer-7")
///     .value("{\"total\": 12}")
///     .header("source", "web");
/// assert_eq!(r.topic(), "orders");
/// ```
#[derive(Debug, Clone)]
pub struct ProducerRecord {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: Option<i32>,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
    pub(crate) timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record for `topic` with no key, no value, no headers. A shared
    /// `Arc<str>` topic is cloned without allocating.
    #[inline]
    pub fn new(topic: impl Into<Arc<str>>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    #[inline]
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value; a record without a value is a tombstone.
    #[inline]
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Appends a header; a header may repeat a name.
    #[inline]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.headers
            .push(Header::new(name.into(), Some(value.into())));
        self
    }

    /// Replaces the headers.
    #[inline]
    pub fn headers(mut self, headers: Vec<Header>) -> Self {
        self.headers = headers;
        self
    }

    /// Sets the CreateTime timestamp in milliseconds since the epoch.
    #[inline]
    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp = Some(ms);
        self
    }

    /// Sends to this partition instead of asking the partitioner.
    #[inline]
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The key, if any.
    pub fn key_bytes(&self) -> Option<&Bytes> {
        self.key.as_ref()
    }

    /// The value, if any (`None`: a tombstone).
    pub fn value_bytes(&self) -> Option<&Bytes> {
        self.value.as_ref()
    }

    /// The headers.
    pub fn header_list(&self) -> &[Header] {
        &self.headers
    }

    /// The explicit partition, if any.
    pub fn partition_hint(&self) -> Option<i32> {
        self.partition
    }

    /// The explicit timestamp, if any.
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp
    }
}
