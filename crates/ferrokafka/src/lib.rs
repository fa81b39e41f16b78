//! ferrokafka: a pure-Rust Apache Kafka client.
//!
//! The crate is organised in layers, in the direction data flows (see
//! `ARCHITECTURE.md` at the repository root): [`config`] (one property table),
//! [`error`] (one error type), `protocol` (wire messages and version
//! negotiation), [`record`] (record batches and codecs), `net` (broker
//! connections), `cluster` (metadata cache and routing), [`producer`],
//! [`consumer`] and [`admin`].
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub(crate) mod cluster;
pub mod config;
pub mod consumer;
pub(crate) mod debug;
pub mod error;
pub mod events;
// Public only for ferrokafka's own integration tests and benches (hidden,
// not a stable API).
#[doc(hidden)]
pub mod net;
pub mod producer;
pub(crate) mod protocol;
pub mod record;
pub mod stats;
pub mod topic_partition;

pub use admin::AdminClient;
pub use cluster::{BrokerMetadata, Metadata, PartitionMetadata, TopicId, TopicMetadata};
pub use config::ClientConfig;
pub use error::{Error, ErrorCode, Result};
pub use topic_partition::TopicPartition;

// The README's example is compiled and run as a doctest, so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
