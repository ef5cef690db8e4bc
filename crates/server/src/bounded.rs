//! A request body bounded as it is read, for the protocols' routes: past the limit, reading
//! fails (and the protocol answers in its own envelope), but only after the rest of the body
//! was read and dropped, up to [`DRAIN_BYTES`] more.
//!
//! A server that answers before reading a request whole and then closes the connection makes
//! the kernel reset it while the client is still sending, and the client may lose the answer
//! (a QA run reported about one 3 MB request in forty; loops here lose one rarely, if at all).
//! The node's limit bounds every protocol route (`app.rs`); a protocol with a smaller limit
//! of its own (1 MiB for OTT Pay, V2_SHA256 and 33 Fintech) is bounded at it too
//! (`protocols::routers`), so its refusal also waits for the body's end. Reading the rest
//! first, as a
//! lingering close does, lets the answer arrive; beyond the drain bound (and the request
//! timeout) the connection is given up, so the cost stays bounded.

use axum::body::{Body, Bytes, HttpBody};
use hyper::body::Frame;
use std::pin::Pin;
use std::task::{Context, Poll};

/// How much past the limit a body is read and dropped before the refusal.
pub const DRAIN_BYTES: usize = 8 << 20;

/// Reading passed the body limit.
#[derive(Debug)]
pub struct TooLarge {
    pub limit: usize,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body over {} bytes", self.limit)
    }
}

impl std::error::Error for TooLarge {}

/// `body`, failing with [`TooLarge`] once more than `limit` bytes came, after draining; at
/// once when its declared length is past what a drain would read (the answer could not
/// arrive anyway).
pub fn bounded(body: Body, limit: usize) -> Body {
    let declared = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    Body::new(Bounded {
        inner: body,
        limit,
        seen: 0,
        over: false,
        hopeless: declared > limit.saturating_add(DRAIN_BYTES),
    })
}

struct Bounded {
    inner: Body,
    limit: usize,
    seen: usize,
    /// Past the limit: what comes now is read and dropped.
    over: bool,
    /// Declared longer than the limit and the drain together: refused at the first read.
    hopeless: bool,
}

impl HttpBody for Bounded {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.hopeless {
            return Poll::Ready(Some(Err(TooLarge { limit: this.limit }.into())));
        }
        loop {
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(frame) => frame,
            };
            let too_large = || Poll::Ready(Some(Err(TooLarge { limit: this.limit }.into())));
            match frame {
                // The end of the body, or of the drain: refuse now if it was too large.
                None if this.over => return too_large(),
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                Some(Ok(frame)) => {
                    let len = frame.data_ref().map_or(0, Bytes::len);
                    this.seen = this.seen.saturating_add(len);
                    if this.seen <= this.limit {
                        return Poll::Ready(Some(Ok(frame)));
                    }
                    this.over = true;
                    if this.seen > this.limit.saturating_add(DRAIN_BYTES) {
                        return too_large();
                    }
                    // Over the limit: keep reading (and dropping) what the client still sends.
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn chunks(n: usize) -> (Body, Arc<AtomicUsize>) {
        sized(n, false)
    }

    fn sized(n: usize, declared: bool) -> (Body, Arc<AtomicUsize>) {
        crate::testing::ChunkedBody::body(n, declared)
    }

    #[tokio::test]
    async fn within_the_limit_the_body_is_read_whole() {
        let (body, _) = chunks(4);
        let read = axum::body::to_bytes(bounded(body, 4096), usize::MAX).await;
        assert_eq!(read.unwrap().len(), 4096);
    }

    #[tokio::test]
    async fn past_the_limit_the_rest_is_drained_before_the_refusal() {
        let (body, read) = chunks(100);
        let refused = axum::body::to_bytes(bounded(body, 4096), usize::MAX).await;
        let why = refused.unwrap_err().to_string();
        assert!(why.contains("over 4096 bytes"), "{why}");
        assert_eq!(read.load(Ordering::SeqCst), 100, "every chunk was read");
    }

    #[tokio::test]
    async fn a_declared_length_past_the_drain_is_refused_unread() {
        let (body, read) = sized((4096 + DRAIN_BYTES) / 1024 + 1, true);
        let refused = axum::body::to_bytes(bounded(body, 4096), usize::MAX).await;
        assert!(refused.unwrap_err().to_string().contains("over 4096 bytes"));
        assert_eq!(read.load(Ordering::SeqCst), 0, "not a byte read");
        // Declared within the drain: read to its end, then refused.
        let (body, read) = sized(100, true);
        assert!(
            axum::body::to_bytes(bounded(body, 4096), usize::MAX)
                .await
                .is_err()
        );
        assert_eq!(read.load(Ordering::SeqCst), 100);
    }

    #[tokio::test]
    async fn a_body_past_the_drain_bound_is_refused_without_reading_on() {
        let chunks_past = (4096 + DRAIN_BYTES) / 1024 + 1;
        let (body, read) = chunks(chunks_past + 1_000);
        let refused = axum::body::to_bytes(bounded(body, 4096), usize::MAX).await;
        assert!(refused.is_err());
        assert_eq!(read.load(Ordering::SeqCst), chunks_past);
    }
}
