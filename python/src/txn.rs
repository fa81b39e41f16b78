//! The transactional methods of the native producer
//! (`KafkaProducer.init_transactions` and the rest).
//!
//! Each call runs the Rust producer's blocking form on a thread of its own
//! while the calling Python thread waits for the answer in slices with the
//! GIL released, so Ctrl-C interrupts the wait as it does `get` and
//! `flush`. An interrupted call carries on in the background within its
//! timeout, exactly as a call that timed out: calling it again resumes it
//! (the producer's transaction state machine decides what the next call
//! may do).

use crate::to_pyerr;
use pyo3::prelude::*;

/// Runs `f` on the producer off the calling thread and waits for its
/// answer, interruptibly.
pub(crate) fn call<F>(
    py: Python<'_>,
    producer: &ferrokafka::producer::Producer,
    f: F,
) -> PyResult<()>
where
    F: FnOnce(&ferrokafka::producer::Producer) -> ferrokafka::Result<()> + Send + 'static,
{
    let p = producer.clone();
    crate::wait_on_thread(py, "ferrokafka-txn", move || f(&p))?.map_err(|e| to_pyerr(py, &e))
}

/// The consumer group metadata Python hands over: `(group_id,
/// generation_id, member_id, group_instance_id)`.
pub(crate) type GroupMetadata = (String, i32, String, Option<String>);

/// The Rust form of [`GroupMetadata`].
pub(crate) fn group_metadata(g: GroupMetadata) -> ferrokafka::consumer::ConsumerGroupMetadata {
    let (group_id, generation, member_id, instance_id) = g;
    ferrokafka::consumer::ConsumerGroupMetadata::with_member(
        group_id,
        generation,
        member_id,
        instance_id,
    )
}
