//! ferrokafka-mock: a Kafka cluster in one process.
//!
//! Placeholder; the mock cluster lands with its own issue.
#![deny(unsafe_code)]
