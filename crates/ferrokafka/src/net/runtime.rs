//! Where a client's background tasks run.
//!
//! A client created inside a tokio runtime spawns its tasks (connections,
//! the metadata driver, later the producer's sender) on that runtime. A
//! client created outside any runtime owns a small multi-thread runtime
//! (one worker thread, named `ferrokafka`), kept alive by the client's
//! handles and shut down without blocking when the last one is dropped.
//!
//! Every client (admin, producer, consumer) holds one [`ClientRuntime`] and
//! uses [`ClientRuntime::spawn`] for tasks and [`ClientRuntime::block_on`]
//! for its blocking API. Blocking calls made from inside an async context
//! are refused with an error instead of panicking or deadlocking. Its async
//! API is wrapped in `ClientRuntime::entered`, so it can be awaited from
//! any executor: tokio's timers and sockets panic when first polled outside
//! a tokio context, and an application may close a client from futures'
//! `block_on`, another runtime or a GUI loop.

use crate::error::{Error, ErrorCode, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::runtime::{Handle, Runtime};

/// A handle to the runtime a client's tasks run on; cheap to clone.
#[derive(Clone, Debug)]
pub struct ClientRuntime {
    handle: Handle,
    _owned: Option<Arc<OwnedRuntime>>,
}

#[derive(Debug)]
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        // Dropping a runtime from an async context would panic, and waiting
        // for tasks could hang past the client's timeouts.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl ClientRuntime {
    /// The current tokio runtime if there is one, else a new owned one.
    pub fn current_or_owned() -> Result<Self> {
        match Handle::try_current() {
            Ok(handle) => Ok(ClientRuntime {
                handle,
                _owned: None,
            }),
            Err(_) => Self::owned(),
        }
    }

    /// A new runtime owned by this handle and its clones.
    pub fn owned() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ferrokafka")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorCode::Fail,
                    format!("cannot start the client's background runtime: {e}"),
                )
            })?;
        Ok(ClientRuntime {
            handle: rt.handle().clone(),
            _owned: Some(Arc::new(OwnedRuntime(Some(rt)))),
        })
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Spawns a background task.
    pub fn spawn<F>(&self, fut: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// `fut`, polled inside this runtime's context whatever executor polls
    /// it: its timers and sockets register with this runtime's drivers,
    /// which the runtime's own threads keep running.
    pub(crate) fn entered<F: Future>(&self, fut: F) -> Entered<F> {
        Entered {
            handle: self.handle.clone(),
            fut: Box::pin(fut),
        }
    }

    /// Runs `fut` to completion from synchronous code. Refused inside an
    /// async context, where the caller should `.await` the async variant.
    pub fn block_on<F, T>(&self, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        if Handle::try_current().is_ok() {
            return Err(Error::new(
                ErrorCode::InvalidArg,
                "a blocking ferrokafka call was made from inside an async runtime; \
                 use the async variant (.await) instead",
            ));
        }
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(Error::new(
                ErrorCode::Destroy,
                "the client's runtime shut down before the call completed",
            ))
        })
    }
}

/// A future polled inside a runtime's context; see
/// [`ClientRuntime::entered`].
pub(crate) struct Entered<F> {
    handle: Handle,
    fut: Pin<Box<F>>,
}

impl<F: Future> Future for Entered<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let _context = this.handle.enter();
        this.fut.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_runtime_runs_blocking_calls_and_drops_cleanly() {
        let rt = ClientRuntime::current_or_owned().unwrap();
        let v = rt.block_on(async { Ok::<_, Error>(41 + 1) }).unwrap();
        assert_eq!(v, 42);
        let clone = rt.clone();
        drop(rt);
        assert_eq!(clone.block_on(async { Ok(7) }).unwrap(), 7);
    }

    #[tokio::test]
    async fn inside_a_runtime_uses_it_and_refuses_blocking() {
        let rt = ClientRuntime::current_or_owned().unwrap();
        assert!(rt._owned.is_none());
        assert_eq!(rt.spawn(async { 5 }).await.unwrap(), 5);
        let err = rt.block_on(async { Ok(1) }).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArg);
    }

    #[tokio::test]
    async fn owned_runtime_can_be_dropped_inside_async_code() {
        let rt = ClientRuntime::owned().unwrap();
        let h = rt.spawn(async { 3 });
        assert_eq!(h.await.unwrap(), 3);
        drop(rt);
    }
}
