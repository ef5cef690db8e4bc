//! Router composition, the middleware stack, background sweepers and graceful shutdown.

use crate::state::AppState;
use crate::{admin, callbacks, cashier, health, lists, middleware, protocols, sandbox, settle};
use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::map_request_body::MapRequestBodyLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The whole HTTP surface of one node.
pub fn build_router(state: AppState) -> Router {
    let config = state.config().clone();
    let request_id = middleware::REQUEST_ID.clone();
    let operator = Router::new()
        .merge(admin::router(state.clone()))
        .merge(crate::audit::router(state.clone()))
        .merge(callbacks::router(state.clone()))
        .merge(sandbox::router(state.clone()))
        .merge(settle::router(state.clone()))
        .merge(lists::router(state.clone()))
        .merge(crate::console::router(state.clone()))
        .layer(axum::middleware::from_fn(middleware::refuse_nul));
    let limit = config.body_limit_bytes;
    // The protocols answer a body over the limit in their own envelopes: theirs is only
    // bounded as it is read (a declared length over it is not refused up front, as the other
    // routes' layer does, with a plain-text 413), and each reads at most its spec's limit.
    let front_doors = protocols::routers(state.engine(), &state.inner.platform, limit)
        .layer(DefaultBodyLimit::max(limit))
        .layer(MapRequestBodyLayer::new(move |body: Body| {
            crate::bounded::bounded(body, limit)
        }));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .merge(operator)
        .merge(cashier::router())
        .with_state(state.clone())
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::map_response(admin::json_too_large))
        .merge(front_doors)
        .route_layer(axum::middleware::from_fn(middleware::record_metrics))
        .layer(CatchPanicLayer::new())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_millis(config.request_timeout_ms),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, middleware::RandomRequestId))
}

/// Serves until SIGINT/SIGTERM; in-flight requests finish, then queued writes commit.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let (stop_sweeps, sweeps_stopped) = tokio::sync::watch::channel(false);
    let mut sweeper = tokio::spawn(run_sweeper(state.clone(), sweeps_stopped));
    let (stop_callbacks, callbacks_stopped) = tokio::sync::oneshot::channel::<()>();
    let dispatcher = tokio::spawn(callbacks::dispatcher(&state).run(
        callbacks::DISPATCH_TICK,
        async {
            let _ = callbacks_stopped.await;
        },
    ));
    let (outgrown_tx, outgrown) = tokio::sync::watch::channel(None::<String>);
    let schema_watch = tokio::spawn(watch_schema(state.clone(), outgrown_tx));
    let mut told = outgrown.clone();
    let sweeps_of_outgrown = stop_sweeps.clone();
    let outgrown_said = async move {
        // A watcher that ended without a reason (it cannot, short of a panic) stops nothing.
        if told.wait_for(Option::is_some).await.is_err() {
            std::future::pending::<()>().await;
        }
        // No sweep is begun, or lease taken, from here on (QA saw one taken while stopping).
        let _ = sweeps_of_outgrown.send(true);
    };
    let stop = async move {
        tokio::select! {
            _ = shutdown_signal() => {}
            _ = outgrown_said => {}
        }
    };
    let router = build_router(state.clone());
    let limits = crate::listen::ConnectionLimits::of(state.config());
    crate::listen::serve(listener, router, limits, stop).await;
    schema_watch.abort();
    // The sweeper ends its tick and gives up its leases, for another node to take at once; a
    // tick stuck on the database is not waited for long (its leases then lapse).
    let _ = stop_sweeps.send(true);
    if tokio::time::timeout(SWEEPER_STOP, &mut sweeper)
        .await
        .is_err()
    {
        tracing::warn!("the sweep did not end in time; stopping without it");
        sweeper.abort();
    }
    // Callback attempts in flight finish and are recorded before the store closes.
    let _ = stop_callbacks.send(());
    let _ = dispatcher.await;
    let store = state.engine().store().clone();
    tokio::task::spawn_blocking(move || store.close()).await?;
    if let Some(why) = outgrown.borrow().clone() {
        anyhow::bail!("stopped: {why}");
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

/// How often every node checks that no newer node has migrated the database past it.
pub const SCHEMA_CHECK: Duration = Duration::from_secs(10);

/// Checks on every [`SCHEMA_CHECK`] that this node may still run on its database; once a
/// newer node has migrated it past what this one knows, with a migration older nodes must not
/// run beside (`schema_compat`), says why on `outgrown` and returns: the node then stops as on
/// SIGTERM (in-flight requests finish, queued writes commit) and exits with the reason. A node
/// of the older version restarted meanwhile refuses to start with the same reason.
pub async fn watch_schema(state: AppState, outgrown: tokio::sync::watch::Sender<Option<String>>) {
    let mut ticks = tokio::time::interval(SCHEMA_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let checked = state.engine().store().read(|db| db.outgrown_schema()).await;
        match checked {
            Ok(None) => {}
            Ok(Some(why)) => {
                tracing::error!(reason = %why, "a newer polypay migrated the database past this node; stopping");
                let _ = outgrown.send(Some(why));
                return;
            }
            Err(e) => tracing::warn!(error = %e, "could not check the database's schema version"),
        }
    }
}

/// How long a stopping node waits for its sweeps to end their tick and give up their leases.
const SWEEPER_STOP: Duration = Duration::from_secs(5);

/// How often a node deletes state past its life ([`housekeep`]). Claims live ten minutes and
/// tokens two hours, so a minute is plenty; each run is a write job even when nothing expired.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(60);

/// A background sweep a node runs on its own tick: the due work (expiry; sandbox payouts,
/// auto-success, refund delays and chain confirmations) or the housekeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    Due,
    Housekeeping,
}

impl Sweep {
    /// Its lease's name, and its label in `polypay_sweep_lease_held`.
    pub fn name(self) -> &'static str {
        match self {
            Sweep::Due => "due",
            Sweep::Housekeeping => "housekeeping",
        }
    }
}

/// A lease lasts this many of its sweep's ticks, and at least [`SWEEP_LEASE_MIN`]: a node that
/// misses a few (a slow tick, a pause) keeps it; one that stopped is replaced within as long.
pub const SWEEP_LEASE_TICKS: u32 = 5;

/// The shortest lease, whatever the tick: a sweep of 500 due objects under load can take
/// seconds, and a lease that lapses mid-sweep lets a second node start the same work.
pub const SWEEP_LEASE_MIN: Duration = Duration::from_secs(10);

/// Whether this node runs one sweep. On PostgreSQL, where nodes share a database, a node runs
/// a sweep only while it holds that sweep's lease (`sweep_leases`): renewed at each of its
/// ticks, taken over by another node once it has lapsed (a node that stopped or lost its
/// database), given up when the node stops. Without it every node read the same due list each
/// tick and raced the others to the same transitions. Lease times are the nodes' wall clocks
/// (kept in step by NTP), not the sandbox's travelled one. A SQLite installation has one node:
/// it always sweeps and writes no lease.
pub struct SweepLease {
    sweep: Sweep,
    shared: bool,
    held: bool,
}

impl SweepLease {
    pub fn of(state: &AppState, sweep: Sweep) -> SweepLease {
        let shared = matches!(
            state.engine().store().backend(),
            polypay_store::Backend::Postgres(_)
        );
        if shared {
            metrics::gauge!("polypay_sweep_lease_held", "sweep" => sweep.name()).set(0.0);
        }
        SweepLease {
            sweep,
            shared,
            held: false,
        }
    }

    /// How long a lease renewed at every `tick` lasts.
    pub fn length(tick: Duration) -> Duration {
        tick.saturating_mul(SWEEP_LEASE_TICKS).max(SWEEP_LEASE_MIN)
    }

    /// Whether this node runs the sweep now: it takes or renews the lease for
    /// [`SweepLease::length`]. When the lease cannot be written (the database away) the node
    /// does not sweep this tick, and keeps what it believed it held.
    pub async fn hold(&mut self, state: &AppState, tick: Duration) -> bool {
        if !self.shared {
            return true;
        }
        let node = state.inner.node_id.clone();
        let now = polypay_core::Clock::wall(state.inner.clock.as_ref()).0;
        let length = i64::try_from(Self::length(tick).as_millis()).unwrap_or(i64::MAX);
        let until = now.saturating_add(length);
        let name = self.sweep.name();
        let lock = polypay_store::Locks::Lease(name.into());
        let taken = state
            .engine()
            .store()
            .write_locking(lock, move |db| db.take_sweep_lease(name, &node, now, until))
            .await;
        let holds = match taken {
            Ok(holds) => holds,
            Err(e) => {
                tracing::warn!(error = %e, sweep = name, "could not take or renew the sweep lease");
                return false;
            }
        };
        if holds != self.held {
            let node = &state.inner.node_id;
            match holds {
                true => tracing::info!(sweep = name, node = %node, "this node runs the sweep now"),
                false => {
                    tracing::info!(sweep = name, node = %node, "another node runs the sweep now")
                }
            }
            self.held = holds;
            metrics::gauge!("polypay_sweep_lease_held", "sweep" => name)
                .set(f64::from(u8::from(holds)));
        }
        holds
    }

    /// Gives the lease up if this node holds it (it is stopping), for another node to take at
    /// its next tick.
    pub async fn release(&mut self, state: &AppState) {
        if !self.held {
            return;
        }
        self.held = false;
        let node = state.inner.node_id.clone();
        let name = self.sweep.name();
        let lock = polypay_store::Locks::Lease(name.into());
        let released = state
            .engine()
            .store()
            .write_locking(lock, move |db| db.release_sweep_lease(name, &node))
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, sweep = name, "could not give up the sweep lease");
        }
    }
}

/// One tick of the due sweep: this node sweeps when it holds the lease ([`SweepLease`]),
/// batch after batch while they come back full (a backlog drains at the writer's pace, not a
/// batch per tick), renewing the lease before each; otherwise it only follows the
/// installation's sandbox clock, as every node must. A node told to `stop` ends after the
/// batch it is in. Whether it swept.
pub async fn sweep_tick(
    state: &AppState,
    lease: &mut SweepLease,
    tick: Duration,
    stop: Option<&tokio::sync::watch::Receiver<bool>>,
) -> bool {
    if !lease.hold(state, tick).await {
        if let Err(e) = sandbox::follow_clock(state).await {
            tracing::warn!(error = %e, "could not read the sandbox clock");
        }
        return false;
    }
    let stopping = || stop.is_some_and(|s| *s.borrow());
    loop {
        match sandbox::sweep(state).await {
            Ok(true) if !stopping() && lease.hold(state, tick).await => continue,
            Ok(_) => return true,
            Err(e) => {
                tracing::warn!(error = %e, "sweep failed");
                return true;
            }
        }
    }
}

/// Runs `sweep` on its `tick` while this node holds its lease, until `stop` says so; then
/// gives the lease up.
async fn run_sweep(
    state: AppState,
    sweep: Sweep,
    tick: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(tick);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut lease = SweepLease::of(&state, sweep);
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = ticks.tick() => match sweep {
                Sweep::Due => {
                    sweep_tick(&state, &mut lease, tick, Some(&stop)).await;
                }
                Sweep::Housekeeping => {
                    if lease.hold(&state, tick).await
                        && let Err(e) = housekeep(&state).await
                    {
                        tracing::warn!(error = %e, "housekeeping failed");
                    }
                }
            },
        }
    }
    lease.release(&state).await;
}

/// Runs the due sweep on the configured tick and [`housekeep`] once a minute, side by side
/// (a long housekeeping run does not hold the due sweep's lease back), until `stop`.
async fn run_sweeper(state: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    let period = Duration::from_millis(state.config().sweep_interval_ms.max(10));
    tokio::join!(
        run_sweep(state.clone(), Sweep::Due, period, stop.clone()),
        run_sweep(state, Sweep::Housekeeping, HOUSEKEEPING_INTERVAL, stop),
    );
}

/// Deletes state past its life, in both modes: replay-guard claims past their window
/// (V2_SHA256 nonces), protocol records such as expired 33 Fintech tokens, and callback history
/// older than `callback_retention_days` (unless 0).
pub async fn housekeep(s: &AppState) -> Result<(), polypay_engine::EngineError> {
    let nonces = s.engine().purge_expired_nonces(50).await?;
    let records = crate::protocols::housekeeping(s.engine()).await?;
    let days = s.config().callback_retention_days;
    let callbacks = match days {
        0 => 0,
        days => {
            let retention_ms = i64::try_from(days.saturating_mul(DAY_MS)).unwrap_or(i64::MAX);
            s.engine()
                .purge_callback_history(retention_ms, 50, s.silent_events().clone())
                .await?
        }
    };
    if nonces + records + callbacks > 0 {
        tracing::debug!(
            nonces,
            records,
            callbacks,
            "purged expired nonce claims, records and callback history"
        );
    }
    Ok(())
}

const DAY_MS: u64 = 86_400_000;

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
