//! [`MessageStream`], the consumer's messages as a
//! [`futures_core::Stream`]: each poll drives one [`Consumer::recv`].

use super::{Consumer, ConsumerError, Message};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

type RecvFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Message, ConsumerError>> + Send + 'a>>;

/// The consumer's messages as a [`futures_core::Stream`]; see
/// [`Consumer::stream`].
pub struct MessageStream<'a> {
    consumer: &'a Consumer,
    next: Option<RecvFuture<'a>>,
}

impl<'a> MessageStream<'a> {
    pub(super) fn new(consumer: &'a Consumer) -> Self {
        MessageStream {
            consumer,
            next: None,
        }
    }
}

impl std::fmt::Debug for MessageStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStream").finish_non_exhaustive()
    }
}

impl futures_core::Stream for MessageStream<'_> {
    type Item = std::result::Result<Message, ConsumerError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let consumer = self.consumer;
        let fut = self.next.get_or_insert_with(|| Box::pin(consumer.recv()));
        match fut.as_mut().poll(cx) {
            Poll::Ready(item) => {
                self.next = None;
                Poll::Ready(Some(item))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
