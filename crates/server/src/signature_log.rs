//! Explains in the debug log why a live protocol request failed its signature: the signature
//! debugger's short explanation (expected against implied string, time window, keys by
//! fingerprint; secrets masked).
//!
//! A protocol front door marks such a response with [`SignatureRejected`]. Only while debug
//! logging of [`TARGET`] is on does this layer copy each request, to explain the marked ones
//! once their response is produced; otherwise requests pass straight through, nothing copied
//! or boxed (this is the throughput benchmark's hot path). The response is never changed.

use crate::console::signature::{self, Pasted};
use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::request::Parts;
use axum::response::Response;
use hyper::body::Frame;
use polypay_core::{Protocol, SignatureRejected};
use polypay_engine::{Engine, Platform};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};
use tracing::Instrument;

/// The log target: `POLYPAY_LOG=info,polypay::signature=debug` turns the explanations on.
pub const TARGET: &str = "polypay::signature";

/// Wraps the protocol routers (see [`crate::protocols::routers`]).
#[derive(Clone)]
pub struct SignatureLogLayer {
    explainer: Explainer,
}

impl SignatureLogLayer {
    pub fn new(engine: Engine, platform: Arc<Platform>) -> SignatureLogLayer {
        SignatureLogLayer {
            explainer: Explainer { engine, platform },
        }
    }
}

impl<S> Layer<S> for SignatureLogLayer {
    type Service = SignatureLog<S>;

    fn layer(&self, inner: S) -> SignatureLog<S> {
        SignatureLog {
            inner,
            explainer: self.explainer.clone(),
        }
    }
}

/// The service of [`SignatureLogLayer`].
#[derive(Clone)]
pub struct SignatureLog<S> {
    inner: S,
    explainer: Explainer,
}

impl<S> Service<Request> for SignatureLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Passage<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if !tracing::enabled!(target: TARGET, tracing::Level::DEBUG) {
            return Passage::Straight(self.inner.call(req));
        }
        // The service polled ready serves this request; its clone waits for the next one.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        Passage::Explained(Box::pin(self.explainer.clone().serve(ready, req)))
    }
}

/// The future of one request: the inner service's own, or the one that also explains.
pub enum Passage<F> {
    Straight(F),
    Explained(Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>),
}

impl<F> Future for Passage<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Passage::Straight(f) => Pin::new(f).poll(cx),
            Passage::Explained(f) => f.as_mut().poll(cx),
        }
    }
}

#[derive(Clone)]
struct Explainer {
    engine: Engine,
    platform: Arc<Platform>,
}

impl Explainer {
    /// Copies the request, lets `inner` answer it, then explains a marked answer.
    async fn serve<S>(self, mut inner: S, req: Request) -> Result<Response, Infallible>
    where
        S: Service<Request, Response = Response, Error = Infallible>,
    {
        let (parts, body) = req.into_parts();
        // The body is bounded outside (`app.rs` wraps it, `bounded.rs`): reading past the limit
        // fails, and the protocol answers that failure in its envelope.
        let (body, received) = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => (
                Body::from(bytes.clone()),
                Some(self.received(&parts, bytes)),
            ),
            Err(e) => (Body::new(Failed(Some(body_error(e)))), None),
        };
        let response = inner.call(Request::from_parts(parts, body)).await?;
        let mark = response.extensions().get::<SignatureRejected>().copied();
        if let (Some(SignatureRejected(protocol)), Some(p)) = (mark, received) {
            self.log(protocol, p).await;
        }
        Ok(response)
    }

    /// The request as the debugger takes a pasted one, at the time it was received.
    fn received(&self, parts: &Parts, body: Bytes) -> Pasted {
        let headers = parts.headers.iter().map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        });
        Pasted {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: headers.collect(),
            body: body.to_vec(),
            signed: None,
            now_ms: self.engine.clock().wall().0,
            public_base_url: self.platform.public_base_url.clone(),
        }
    }

    async fn log(&self, protocol: Protocol, p: Pasted) {
        let engine = self.engine.clone();
        let analysis = async move { signature::explain(&engine, protocol, &p).await };
        // Its own task: a panic in the analysis must not turn the merchant's answer into a 500.
        match tokio::spawn(analysis.in_current_span()).await {
            Ok(explanation) => tracing::debug!(
                target: TARGET,
                protocol = %protocol,
                explanation = %explanation,
                "signature rejected"
            ),
            // Not the panic's message: it could quote the strings being compared.
            Err(_) => tracing::debug!(
                target: TARGET,
                protocol = %protocol,
                "signature rejected; explaining it failed"
            ),
        }
    }
}

/// The body's own error, as the inner service would have met it: `to_bytes` wraps it once more.
fn body_error(e: axum::Error) -> BoxError {
    match e.into_inner().downcast::<axum::Error>() {
        Ok(own) => own.into_inner(),
        Err(other) => other,
    }
}

/// A body that fails at once with the error reading the original failed with (over the body
/// limit, a broken stream), so the inner service answers exactly as it would have.
struct Failed(Option<BoxError>);

impl HttpBody for Failed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.get_mut().0.take().map(Err))
    }
}
