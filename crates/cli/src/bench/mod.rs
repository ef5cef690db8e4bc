//! `polypay bench`: throughput and latency of create-payment for every protocol, each as a ratio
//! to a bare JSON echo route of the same server measured in the same run with the same
//! connections, plus the 33 Fintech RSA bound and callback delivery throughput.

mod load;
mod report;
mod requests;

use anyhow::Context;
use clap::Args;
use load::{Measured, Prepared};
use polypay_server::{AppState, Overrides};
use std::sync::Arc;
use std::time::Duration;

#[derive(Args)]
pub struct BenchArgs {
    /// How long each measurement runs, e.g. 10s or 500ms.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Comma-separated protocols to measure.
    #[arg(long, default_value = "passtopay,blockatm,ottpay,v2sha256,fintech33")]
    protocols: String,
    /// Database of the server the bench starts (default: SQLite in a temp dir).
    #[arg(long)]
    database_url: Option<String>,
    /// Pre-signed requests per protocol (default: enough for the duration at 20k/s).
    #[arg(long)]
    requests: Option<usize>,
    /// Where to write bench.json and bench.md.
    #[arg(long, default_value = "bench-results")]
    out: std::path::PathBuf,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let (num, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = num.parse().map_err(|_| format!("bad duration {text:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration unit in {text:?} (ms, s, m)")),
    }
}

/// One row of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub backend: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub requests: u64,
    pub errors: u64,
    pub ratio_to_baseline: f64,
    pub note: String,
}

impl Row {
    fn from(name: &str, backend: &str, m: &Measured, baseline_rps: f64, note: String) -> Row {
        Row {
            name: name.to_string(),
            backend: backend.to_string(),
            rps: m.rps(),
            p50_ms: m.quantile_ms(0.5),
            p90_ms: m.quantile_ms(0.9),
            p99_ms: m.quantile_ms(0.99),
            max_ms: m.quantile_ms(1.0),
            requests: m.requests,
            errors: m.errors,
            ratio_to_baseline: if baseline_rps > 0.0 {
                m.rps() / baseline_rps
            } else {
                0.0
            },
            note,
        }
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    // BlockATM's spec-default rate limit (100 requests/min per API key) would refuse a load test.
    // SAFETY: no other thread exists yet (the runtimes are built below).
    unsafe { std::env::set_var("POLYPAY_BLOCKATM_RATE_LIMIT_PER_MINUTE", "0") };
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .ok();
    let data_dir = tempfile::tempdir()?;
    let database_url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.path().join("bench.db").display()));
    // The server gets its own runtime (2 workers) so the generator's runtime does not starve it.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (state, addr) = server_rt.block_on(start_server(data_dir.path(), &database_url))?;
    let gen_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let rows = gen_rt.block_on(measure_all(&args, &state, addr))?;
    std::fs::create_dir_all(&args.out)?;
    report::write(&args.out, &rows)?;
    println!("{}", report::markdown(&rows));
    println!("wrote {}/bench.json and bench.md", args.out.display());
    if let Some(h) = &recorder {
        print_batching(&h.render());
    }
    let store = state.engine().store().clone();
    drop(gen_rt);
    server_rt.block_on(async move { tokio::task::spawn_blocking(move || store.close()).await })?;
    Ok(())
}

async fn start_server(
    data_dir: &std::path::Path,
    database_url: &str,
) -> anyhow::Result<(AppState, std::net::SocketAddr)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let overrides = Overrides {
        listen: Some(addr.to_string()),
        data_dir: Some(data_dir.to_path_buf()),
        database_url: Some(database_url.to_string()),
        admin_token: Some(polypay_engine::random_hex(16)),
        amount_rules: Some(false),
        ..Default::default()
    };
    let config = overrides.resolve()?;
    let boot = polypay_server::bootstrap(&config).await?;
    let platform = polypay_server::bootstrap::platform(&boot.engine, &config).await?;
    let state = AppState {
        inner: Arc::new(polypay_server::state::AppInner {
            engine: boot.engine,
            config,
            clock: boot.clock,
            admin_token: boot.admin_token,
            notifiers: polypay_server::protocols::notifiers(&platform),
            platform,
            metrics: None,
        }),
    };
    // The baseline route exists only in this process: the same server, minus all the work.
    let echo = axum::Router::new().route(
        "/__bench/echo",
        axum::routing::post(|body: axum::body::Bytes| async move {
            ([("content-type", "application/json")], body)
        }),
    );
    let router = polypay_server::build_router(state.clone()).merge(echo);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok((state, addr))
}

async fn measure_all(
    args: &BenchArgs,
    state: &AppState,
    addr: std::net::SocketAddr,
) -> anyhow::Result<Vec<Row>> {
    let backend = state.engine().store().backend().kind();
    let host = addr.to_string();
    let n = args
        .requests
        .unwrap_or((args.duration.as_secs_f64() * 20_000.0) as usize)
        .max(1000);
    let baseline_requests = Arc::new(requests::baseline(n));
    let ok: load::SuccessCheck = Arc::new(|status, _| status == 200);
    eprintln!(
        "measuring baseline (POST /__bench/echo) for {:?} over {} connections",
        args.duration, args.connections
    );
    let base = load::run(
        addr,
        &host,
        baseline_requests,
        args.connections,
        args.duration,
        ok,
    )
    .await?;
    let mut rows = vec![Row::from(
        "baseline (JSON echo)",
        backend,
        &base,
        base.rps(),
        String::new(),
    )];
    let merchant = requests::merchant(state).await?;
    for protocol in args
        .protocols
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let signing = std::time::Instant::now();
        let set = requests::create_payments(protocol, state, &merchant, n)
            .await
            .with_context(|| format!("preparing {protocol}"))?;
        eprintln!(
            "{protocol}: pre-signed {} requests in {:.1?}; measuring",
            set.requests.len(),
            signing.elapsed()
        );
        let m = load::run(
            addr,
            &host,
            Arc::new(set.requests),
            args.connections,
            args.duration,
            set.ok,
        )
        .await?;
        if let Some(e) = &m.first_error {
            eprintln!("{protocol}: first error: {e}");
        }
        rows.push(Row::from(
            &format!("{protocol} create-payment"),
            backend,
            &m,
            base.rps(),
            set.note,
        ));
    }
    Ok(rows)
}

/// Pre-built requests of one protocol and the check of its success envelope.
pub struct RequestSet {
    pub requests: Vec<Prepared>,
    pub ok: load::SuccessCheck,
    pub note: String,
}

/// Group commit at work: how many write jobs each committed transaction carried, on average.
fn print_batching(metrics: &str) {
    let value = |name: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    if let (Some(sum), Some(count)) = (
        value("polypay_store_batch_size_sum"),
        value("polypay_store_batch_size_count"),
    ) {
        let mean = sum / count.max(1.0);
        println!(
            "group commit: {count:.0} transactions carried {sum:.0} write jobs ({mean:.1} per commit)"
        );
    }
}
