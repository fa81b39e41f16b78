//! The write side of a connection: framed requests queued in order.

use super::*;

/// Request bytes waiting to be written, in order. Small requests are
/// framed into one reused buffer; a body larger than
/// `message.copy.max.bytes` (a produce request's record batches) is queued
/// as the `Bytes` it came in and written with vectored writes after its
/// header, so its records are never copied here (more iovecs per write
/// instead: librdkafka's trade-off).
pub(super) struct Outbox {
    buf: BytesMut,
    chunks: VecDeque<Bytes>,
    /// Bodies up to this size are copied into `buf`.
    copy_max: usize,
}

/// At most this many chunks go into one vectored write.
const MAX_IOV: usize = 64;

impl Outbox {
    pub(super) fn new(copy_max: usize) -> Self {
        Outbox {
            buf: BytesMut::new(),
            chunks: VecDeque::new(),
            copy_max,
        }
    }

    /// Whether bodies are queued by reference (tests).
    #[cfg(test)]
    pub(super) fn referenced(&self) -> usize {
        self.chunks.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.chunks.is_empty()
    }

    /// Frames one request; returns its size on the wire. Each chunk of
    /// the body is copied or referenced by its own size, so a Produce
    /// request's small fields are copied and its large record batches
    /// referenced.
    pub(super) fn push(
        &mut self,
        api_key: ApiKey,
        version: i16,
        correlation_id: i32,
        client_id: Option<&str>,
        body: &Body,
    ) -> Result<usize> {
        let before = self.buf.len();
        frame::encode_request_header(
            &mut self.buf,
            api_key,
            version,
            correlation_id,
            client_id,
            body.len(),
        )?;
        let n = self.buf.len() - before + body.len();
        for c in body.chunks() {
            if c.len() <= self.copy_max {
                self.buf.extend_from_slice(c);
            } else {
                if !self.buf.is_empty() {
                    self.chunks.push_back(self.buf.split().freeze());
                }
                self.chunks.push_back(c.clone());
            }
        }
        Ok(n)
    }

    /// Writes what the socket takes; cancel-safe (state changes only after
    /// the write completed, except moving buffered bytes into the queue,
    /// which keeps their order).
    pub(super) async fn write_some<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
    ) -> std::io::Result<usize> {
        if self.chunks.is_empty() {
            let n = w.write_buf(&mut self.buf).await?;
            if self.buf.is_empty() {
                // Reuse the allocation for the next requests.
                self.buf.clear();
            }
            return Ok(n);
        }
        if !self.buf.is_empty() {
            self.chunks.push_back(self.buf.split().freeze());
        }
        let mut slices = [std::io::IoSlice::new(&[]); MAX_IOV];
        let mut k = 0;
        for (slot, c) in slices.iter_mut().zip(self.chunks.iter()) {
            *slot = std::io::IoSlice::new(c);
            k += 1;
        }
        let n = w.write_vectored(&slices[..k]).await?;
        let mut left = n;
        while left > 0 {
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            if front.len() <= left {
                left -= front.len();
                self.chunks.pop_front();
            } else {
                let _ = front.split_to(left);
                left = 0;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// message.copy.max.bytes: bodies up to it are copied into the write
    /// buffer, larger ones are queued by reference; the bytes on the wire
    /// are the same either way.
    #[tokio::test]
    async fn copy_max_decides_which_bodies_are_copied() {
        let body = Body::from(Bytes::from(vec![7u8; 1000]));
        let mut wire = Vec::new();
        for (copy_max, referenced) in [(65_535, 0), (999, 2)] {
            let mut out = Outbox::new(copy_max);
            out.push(ApiKey::Metadata, 1, 5, Some("c"), &body).unwrap();
            assert_eq!(out.referenced(), referenced, "copy_max {copy_max}");
            let mut written = Vec::new();
            while !out.is_empty() {
                out.write_some(&mut written).await.unwrap();
            }
            wire.push(written);
        }
        assert_eq!(wire[0], wire[1]);
    }
}
