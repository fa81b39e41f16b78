//! Consumer groups: subscribing to topics and sharing their partitions
//! with the other members of `group.id` (the classic group protocol).
//!
//! Owns the membership state machine (`membership`, no I/O), the
//! assignors and the consumer protocol's embedded messages (`assignor`),
//! and the task that runs the membership against the coordinator and
//! applies its decisions to the fetch engine (`task`) through
//! `Consumer::assign` and friends.

#[allow(dead_code)] // wired by the group task in the next step
pub(crate) mod assignor;
#[allow(dead_code)]
pub(crate) mod membership;

#[cfg(test)]
mod tests;
