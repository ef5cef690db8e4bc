//! The HTTP listener: every connection is an HTTP/1.1 connection of hyper's with a deadline
//! for each request's head (which is also how long an idle keep-alive connection stays
//! open), and the node holds at most a configured number of connections at once.
//!
//! `axum::serve` sets no timer on hyper, and without one hyper enforces no header deadline: a
//! client could hold a connection by sending its request head a byte at a time, or just keep
//! idle connections open, until the node ran out of file descriptors. The per-request timeout
//! (`request_timeout_ms`, a layer of the router) only starts once a head has arrived.

use axum::Router;
use axum::http::{HeaderValue, Request, header};
use axum::response::Response;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// What a node allows each connection, and how many it holds at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From a connection's first byte of a request head (or the end of its previous response)
    /// to the whole head: past it the connection is closed.
    pub header_timeout: Duration,
    /// Connections open at once; past it the node stops accepting until one closes (new ones
    /// wait in the kernel's backlog).
    pub max_connections: usize,
    /// At shutdown, how long open connections are still served, each answer closing its
    /// connection, before idle ones are closed.
    pub shutdown_drain: Duration,
    /// At shutdown, how long connections get to finish the requests they are in; past it
    /// [`serve`] returns without them (a client that never reads its answer would otherwise
    /// hold the node's stop, and with it the store's orderly close, for ever).
    pub shutdown_grace: Duration,
}

impl ConnectionLimits {
    pub fn of(config: &crate::config::Config) -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: Duration::from_millis(config.header_timeout_ms.max(1)),
            max_connections: config.max_connections.clamp(1, Semaphore::MAX_PERMITS),
            shutdown_drain: Duration::from_millis(config.shutdown_drain_ms),
            // A request is answered (408 at worst) within the request timeout, once drained.
            shutdown_grace: Duration::from_millis(
                config
                    .shutdown_drain_ms
                    .saturating_add(config.request_timeout_ms)
                    .saturating_add(1_000),
            ),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, serves open
/// connections for [`ConnectionLimits::shutdown_drain`] more (every answer closing its
/// connection), lets every connection finish the request it is in (an idle one closes then)
/// and returns when all are closed, or when [`ConnectionLimits::shutdown_grace`] is over.
pub async fn serve(
    mut listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Dropping `stop` tells every connection to finish; each holds a clone of `open`, so
    // `open_tx.closed()` resolves once the last one has.
    let (stop, stopping) = watch::channel(());
    let (open_tx, open) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        // `Listener::accept` retries by itself on errors (it backs off when the process is
        // out of file descriptors).
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = Listener::accept(&mut listener) => accepted,
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        // Once `stop` is gone (shutdown began), every answer says `Connection: close`.
        let closing = stopping.clone();
        let close_when_draining = move |mut response: Response| {
            if closing.has_changed().is_err() {
                let close = HeaderValue::from_static("close");
                response.headers_mut().insert(header::CONNECTION, close);
            }
            response
        };
        // The peer's address, for the audit log of operator actions (only there: the
        // merchants' and customers' requests are spared the extension's allocation).
        let with_peer = move |mut request: Request<Incoming>| {
            if crate::audit::records_peer(request.uri().path()) {
                let info = axum::extract::ConnectInfo(peer);
                request.extensions_mut().insert(info);
            }
            request
        };
        let service = ServiceExt::<Request<Incoming>>::map_request(router.clone(), with_peer)
            .map_response(close_when_draining);
        let service = TowerToHyperService::new(service);
        let mut stopping = stopping.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!(error = %e, "connection ended");
                    }
                }
                _ = stopping.changed() => {
                    // Still served while draining: an answer then closes the connection.
                    let drained = tokio::time::timeout(limits.shutdown_drain, connection.as_mut());
                    if drained.await.is_err() {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            }
            drop(open);
            drop(permit);
        });
    }
    drop(listener);
    drop(stop);
    drop(open);
    if tokio::time::timeout(limits.shutdown_grace, open_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.shutdown_grace,
            "connections still open at the end of the shutdown grace; stopping without them"
        );
    }
}
