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

use crate::{to_pyerr, SLICE};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::sync::mpsc;

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
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("ferrokafka-txn".into())
        .spawn(move || {
            let _ = tx.send(f(&p));
        })
        .map_err(|e| {
            PyRuntimeError::new_err(format!("cannot start the transaction call's thread: {e}"))
        })?;
    // Behind a mutex: the wait runs with the GIL released, on this thread,
    // and needs a `Sync` handle.
    let rx = std::sync::Mutex::new(rx);
    loop {
        let answer = py.detach(|| {
            rx.lock()
                .unwrap_or_else(|e| e.into_inner())
                .recv_timeout(SLICE)
        });
        match answer {
            Ok(r) => return r.map_err(|e| to_pyerr(py, &e)),
            Err(mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(PyRuntimeError::new_err(
                    "the transaction call's thread ended without an answer",
                ))
            }
        }
    }
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
