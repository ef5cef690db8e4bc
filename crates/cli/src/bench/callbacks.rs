//! Callback delivery throughput: a local merchant receiver answering each protocol's ack, `N`
//! payments created over HTTP with the receiver as notify URL and marked succeeded through the
//! engine (so their outbox events are the real ones), then the node's real dispatcher, built and
//! run as `polypay serve` runs it, timed from its start until every delivery is acknowledged.
//!
//! The measured interval holds the whole notifier path: outbox ingestion (encoding and signing
//! each callback), leasing, sending over keep-alive connections, and recording every attempt.

use super::node::Node;
use super::{Row, load, requests};
use anyhow::Context;
use axum::extract::Path;
use axum::response::IntoResponse;
use polypay_core::{MerchantId, PaymentCommand};
use polypay_engine::Engine;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often the bench looks whether everything was delivered (a read; cheap next to the work).
const POLL: Duration = Duration::from_millis(10);
/// Give up when no callback was acknowledged for this long.
const STALL: Duration = Duration::from_secs(30);

/// The status and body a merchant answers to acknowledge a callback of `protocol`.
pub fn ack(protocol: &str) -> (u16, &'static str) {
    match protocol {
        "passtopay" => (200, "success"),
        "v2sha256" => (200, r#"{"code":"OK"}"#),
        "fintech33" => (200, r#"{"code":0}"#),
        // BlockATM and OTT Pay: any 200 (2xx) answer.
        _ => (200, "ok"),
    }
}

/// The local merchant: `ANY /cb/{protocol}` answers that protocol's ack and counts it.
pub struct Receiver {
    pub addr: SocketAddr,
    pub received: Arc<AtomicU64>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let received = Arc::new(AtomicU64::new(0));
        let counter = received.clone();
        let router = axum::Router::new().route(
            "/cb/{protocol}",
            axum::routing::any(move |Path(protocol): Path<String>| {
                counter.fetch_add(1, Ordering::Relaxed);
                async move {
                    let (status, body) = ack(&protocol);
                    let status = axum::http::StatusCode::from_u16(status)
                        .unwrap_or(axum::http::StatusCode::OK);
                    (status, body).into_response()
                }
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Receiver {
            addr,
            received,
            stop,
        })
    }

    pub fn url(&self, protocol: &str) -> String {
        format!("http://{}/cb/{protocol}", self.addr)
    }

    pub fn stop(self) {
        let _ = self.stop.send(());
    }
}

/// What one delivery run measured.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    pub acknowledged: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// False when the time limit stopped the run before every callback was acknowledged.
    pub complete: bool,
    /// Attempt latency quantiles (p50, p90, p99, max) in ms, from the notifier's histogram.
    pub latency_ms: Option<[f64; 4]>,
    /// Creating the payments and marking them succeeded (not measured).
    pub setup: Duration,
}

impl Delivered {
    /// Acknowledged callbacks per second of the delivery.
    pub fn rate(&self) -> f64 {
        self.acknowledged as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What to deliver and how.
pub struct Plan<'a> {
    pub protocol: &'a str,
    /// Paid orders, one success callback each.
    pub n: usize,
    pub connections: usize,
    /// Stop the dispatcher after this long even if callbacks are still pending.
    pub time_limit: Duration,
}

/// Creates `n` paid payments of `protocol` on `node` whose callbacks go to a local receiver, then
/// runs the node's dispatcher on `server` until every delivery is acknowledged (or the limit).
pub async fn measure(
    node: &Node,
    server: &tokio::runtime::Handle,
    plan: &Plan<'_>,
    metrics: Option<&metrics_exporter_prometheus::PrometheusHandle>,
) -> anyhow::Result<Delivered> {
    let (protocol, n, connections) = (plan.protocol, plan.n, plan.connections);
    let receiver = Receiver::start().await?;
    let setup = Instant::now();
    let url = receiver.url(protocol);
    let (merchant, credentials) = requests::merchant(&node.state, Some(url.clone())).await?;
    let set = requests::create_payments(protocol, &node.state, &credentials, n, Some(&url))
        .await
        .with_context(|| format!("preparing {protocol}"))?;
    let host = node.addr.to_string();
    let orders = set.orders.clone();
    let long = Duration::from_secs(3600);
    let created = load::run(
        node.addr,
        &host,
        Arc::new(set.requests),
        connections,
        long,
        set.ok,
    )
    .await?;
    anyhow::ensure!(
        created.errors == 0,
        "{protocol}: {} of {n} creates failed; first: {:?}",
        created.errors,
        created.first_error
    );
    let succeeding = Instant::now();
    succeed_all(node.state.engine(), &merchant, orders, connections).await?;
    let succeeded = succeeding.elapsed();
    let setup = setup.elapsed();
    eprintln!(
        "{protocol} callbacks: {n} payments created and succeeded in {setup:.1?} (succeeded \
         in {succeeded:.1?}, {:.0}/s); delivering",
        n as f64 / succeeded.as_secs_f64().max(1e-9)
    );
    let before = Counters::read(metrics, protocol);
    let mut d = deliver(node, server, &receiver, n, plan.time_limit).await?;
    let after = Counters::read(metrics, protocol);
    receiver.stop();
    d.setup = setup;
    // The notifier's own counters when a recorder is installed; else the receiver's count.
    if let (Some(b), Some(a)) = (before, after) {
        d.acknowledged = a.acknowledged - b.acknowledged;
        d.failed = a.failed - b.failed;
        d.latency_ms = metrics.and_then(|m| latency_ms(&m.render(), protocol));
    }
    Ok(d)
}

/// Marks every payment succeeded through the engine, `concurrency` at a time.
async fn succeed_all(
    engine: &Engine,
    merchant: &MerchantId,
    orders: Vec<String>,
    concurrency: usize,
) -> anyhow::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, order) in orders.into_iter().enumerate() {
        let permit = permits.clone().acquire_owned().await?;
        let (engine, merchant) = (engine.clone(), merchant.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let p = engine.payment_by_order_no(&merchant, &order).await?;
            let cmd = PaymentCommand::Succeed {
                channel_order_no: format!("BENCH{i:010}"),
            };
            engine.transition_payment(&p.id, cmd).await?;
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Runs the node's dispatcher on the server runtime until nothing is left to ingest or deliver,
/// or `limit` has passed.
async fn deliver(
    node: &Node,
    server: &tokio::runtime::Handle,
    receiver: &Receiver,
    expected: usize,
    limit: Duration,
) -> anyhow::Result<Delivered> {
    let dispatcher = polypay_server::callbacks::dispatcher(&node.state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let running = server.spawn(dispatcher.run(
        polypay_server::callbacks::DISPATCH_TICK,
        async move {
            let _ = stopped.await;
        },
    ));
    let store = node.state.engine().store().clone();
    let silent = node.state.silent_events().clone();
    let (mut seen, mut progress) = (0, Instant::now());
    let result = loop {
        tokio::time::sleep(POLL).await;
        // The database is asked only once every callback has arrived: its check scans the
        // outbox, and polling it would compete with the dispatcher being measured.
        let arrived = receiver.received.load(Ordering::Relaxed) >= expected as u64;
        let silent = silent.clone();
        let done = arrived
            && store
                .read(move |db| {
                    Ok::<_, polypay_store::StoreError>(
                        db.outbox_to_ingest(0, 1, &silent)?.is_empty()
                            && db.pending_delivery_count()? == 0,
                    )
                })
                .await?;
        if done || started.elapsed() >= limit {
            break Ok((started.elapsed(), done));
        }
        let now = receiver.received.load(Ordering::Relaxed);
        if now > seen {
            (seen, progress) = (now, Instant::now());
        } else if progress.elapsed() > STALL {
            break Err(anyhow::anyhow!(
                "callback delivery stalled: {now} received, none for {STALL:?}"
            ));
        }
    };
    let _ = stop.send(());
    running.await?;
    let (elapsed, complete) = result?;
    Ok(Delivered {
        acknowledged: receiver.received.load(Ordering::Relaxed),
        elapsed,
        complete,
        ..Delivered::default()
    })
}

/// The notifier's attempt counters for one protocol.
#[derive(Debug, Clone, Copy)]
struct Counters {
    acknowledged: u64,
    failed: u64,
}

impl Counters {
    fn read(
        metrics: Option<&metrics_exporter_prometheus::PrometheusHandle>,
        protocol: &str,
    ) -> Option<Counters> {
        let text = metrics?.render();
        let label = format!("protocol=\"{protocol}\"");
        let value = |name: &str| {
            text.lines()
                .filter(|l| l.starts_with(name) && l.contains(&label))
                .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0) as u64
        };
        Some(Counters {
            acknowledged: value(polypay_notify::metrics::ACKNOWLEDGED),
            failed: value(polypay_notify::metrics::FAILED),
        })
    }
}

/// p50, p90, p99 and max of the notifier's attempt latency for `protocol`, in ms.
fn latency_ms(metrics: &str, protocol: &str) -> Option<[f64; 4]> {
    let label = format!("protocol=\"{protocol}\"");
    let quantile = |q: &str| {
        let tag = format!("quantile=\"{q}\"");
        metrics
            .lines()
            .filter(|l| l.starts_with(polypay_notify::metrics::LATENCY))
            .filter(|l| l.contains(&label) && l.contains(&tag))
            .find_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|s| s * 1000.0)
    };
    Some([
        quantile("0.5")?,
        quantile("0.9")?,
        quantile("0.99")?,
        quantile("1")?,
    ])
}

/// The report row of the median of one protocol's delivery runs (`--repeat`), with every run's
/// rate; `None` without runs.
pub fn row_of_runs(protocol: &str, backend: &str, n: usize, runs: &[Delivered]) -> Option<Row> {
    let (median, rates) = super::median_run(runs, Delivered::rate)?;
    Some(Row {
        runs: rates,
        ..row(protocol, backend, n, median)
    })
}

/// The report row of one protocol's callback delivery.
pub fn row(protocol: &str, backend: &str, n: usize, d: &Delivered) -> Row {
    let [p50, p90, p99, max] = d.latency_ms.unwrap_or_default();
    let span = if d.complete {
        format!(
            "dispatcher start to last ack {:.2} s",
            d.elapsed.as_secs_f64()
        )
    } else {
        format!(
            "time limit: {} of them acked in {:.1} s",
            d.acknowledged,
            d.elapsed.as_secs_f64()
        )
    };
    Row {
        name: format!("{protocol} callback delivery"),
        backend: backend.into(),
        rps: d.rate(),
        p50_ms: p50,
        p90_ms: p90,
        p99_ms: p99,
        max_ms: max,
        requests: d.acknowledged,
        errors: d.failed,
        ratio_to_baseline: None,
        note: format!(
            "acked callbacks/s: {n} paid orders, {span} (ingest + sign + send + record, \
             tick {:?}); latency columns: attempt time",
            polypay_server::callbacks::DISPATCH_TICK,
        ),
        runs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_answers_each_protocols_ack() {
        let (s, b) = ack("passtopay");
        assert!(polypay_passtopay::notify::is_ack(s, b.as_bytes()));
        let (s, b) = ack("blockatm");
        assert!(polypay_blockatm::notify::is_ack(s, b.as_bytes()));
        let (s, b) = ack("ottpay");
        assert!(polypay_ottpay::notify::is_ack(s, b.as_bytes()));
        let (s, b) = ack("v2sha256");
        assert!(polypay_v2sha256::notify::is_ack(s, b.as_bytes()));
        let (s, b) = ack("fintech33");
        assert!(polypay_fintech33::is_ack(s, b.as_bytes()));
    }

    #[test]
    fn latency_quantiles_come_from_the_protocols_summary() {
        let text = "\
polypay_callback_attempt_duration_seconds{protocol=\"ottpay\",quantile=\"0.5\"} 0.9
polypay_callback_attempt_duration_seconds{protocol=\"passtopay\",quantile=\"0.5\"} 0.001
polypay_callback_attempt_duration_seconds{protocol=\"passtopay\",quantile=\"0.9\"} 0.002
polypay_callback_attempt_duration_seconds{protocol=\"passtopay\",quantile=\"0.99\"} 0.004
polypay_callback_attempt_duration_seconds{protocol=\"passtopay\",quantile=\"1\"} 0.0125
polypay_callback_attempt_duration_seconds_sum{protocol=\"passtopay\"} 3.5
";
        let q = latency_ms(text, "passtopay").unwrap();
        assert_eq!(q, [1.0, 2.0, 4.0, 12.5]);
        assert!(latency_ms(text, "ottpay").is_none(), "ottpay has only p50");
    }
}
