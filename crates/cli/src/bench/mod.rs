//! `polypay bench`: throughput and latency of create-payment for every protocol, each as a ratio
//! to a bare JSON echo route of the same server measured in the same run with the same
//! connections; the 33 Fintech RSA bound; callback delivery throughput to a local receiver; and
//! create-payment with 10k vs 1M orders already stored. Writes JSON, Markdown and a PNG chart.
//!
//! Each phase gets its own node over an empty database ([`node`]): the protocol rows, the
//! callback deliveries and the seeded store do not see each other's rows.

mod callbacks;
mod chart;
mod load;
mod node;
mod report;
mod requests;
mod rsa;
mod stored;

use anyhow::Context;
use clap::Args;
use load::{Measured, Prepared};
use metrics_exporter_prometheus::PrometheusHandle;
use node::{Database, Node};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;

/// Default pre-built requests per second of `--duration`: the baseline, a create-payment row,
/// and 33 Fintech (RSA-bound, ~9k/s on 2 cores).
const BASELINE_RATE: f64 = 150_000.0;
const CREATE_RATE: f64 = 40_000.0;
const RSA_RATE: f64 = 12_000.0;

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
    /// Database of the nodes the bench starts (default: SQLite files in a temp dir; with
    /// PostgreSQL each phase runs in a scratch schema of this database, dropped afterwards).
    #[arg(long)]
    database_url: Option<String>,
    /// Pre-signed requests per row (default: enough for the duration at 150k/s for the baseline,
    /// 40k/s per protocol, 12k/s for 33 Fintech).
    #[arg(long)]
    requests: Option<usize>,
    /// Where to write bench.json, bench.md and bench.png.
    #[arg(long, default_value = "bench-results")]
    out: std::path::PathBuf,
    /// Callbacks to deliver per callback protocol (paid orders whose callbacks go to a local
    /// receiver), timed from dispatcher start to the last acknowledgement.
    #[arg(long, default_value_t = 20_000)]
    callbacks: usize,
    /// Comma-separated protocols whose callback delivery is measured.
    #[arg(long, default_value = "passtopay")]
    callback_protocols: String,
    /// Stop delivering after this long and report the rate so far (the note says so).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    callback_time_limit: Duration,
    /// Skip the callback delivery measurement.
    #[arg(long)]
    skip_callbacks: bool,
    /// Stored-order counts at which PassToPay create-payment is measured again, e.g. 10k,1m;
    /// '' skips it (seeding a million rows takes a while).
    #[arg(long, default_value = "10k,1m", value_parser = parse_stored)]
    stored: Counts,
    /// RSA signatures timed for the 33 Fintech bound.
    #[arg(long, default_value_t = 2_000)]
    rsa_signatures: usize,
    /// Measure the baseline, each create-payment row and each callback row this many times in
    /// a row (fresh requests and orders each time) and report the median run with every run's
    /// rate, so the spread between runs is in the report.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    repeat: u32,
}

/// A parsed `--stored` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts(pub Vec<u64>);

fn parse_stored(text: &str) -> Result<Counts, String> {
    stored::parse_counts(text).map(Counts)
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

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// One row of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub backend: String,
    /// Requests/s; acknowledged callbacks/s for callback rows; the bound for the RSA row.
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub requests: u64,
    pub errors: u64,
    /// `None` where the comparison means nothing (callback delivery).
    pub ratio_to_baseline: Option<f64>,
    pub note: String,
    /// The rate of every run of a repeated row (`--repeat`), in the order they ran; the row's
    /// other columns come from the median run. Empty for a row measured once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<f64>,
}

/// The index of the median of `rates` (the lower middle one for an even count).
fn median_index(rates: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..rates.len()).collect();
    order.sort_by(|&a, &b| rates[a].total_cmp(&rates[b]));
    order
        .get(rates.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

/// The median of repeated runs by `rate`, and every run's rate for [`Row::runs`] (empty for a
/// single run); `None` without runs.
pub fn median_run<T>(runs: &[T], rate: impl Fn(&T) -> f64) -> Option<(&T, Vec<f64>)> {
    let rates: Vec<f64> = runs.iter().map(rate).collect();
    let median = runs.get(median_index(&rates))?;
    Some((median, if runs.len() > 1 { rates } else { Vec::new() }))
}

impl Row {
    /// The row of the median of `runs` (one or more runs of the same measurement); its ratio
    /// is to `baseline_rps`, or to its own rate without one (the baseline row itself).
    fn from_runs(
        name: &str,
        backend: &str,
        runs: &[Measured],
        baseline_rps: Option<f64>,
        note: String,
    ) -> Row {
        let Some((median, rates)) = median_run(runs, Measured::rps) else {
            return Row::from(name, backend, &Measured::default(), 0.0, note);
        };
        let baseline_rps = baseline_rps.unwrap_or_else(|| median.rps());
        Row {
            runs: rates,
            ..Row::from(name, backend, median, baseline_rps, note)
        }
    }

    /// The lowest and highest rate of a repeated row's runs (`None` for a row measured once).
    pub fn spread(&self) -> Option<(f64, f64)> {
        (self.runs.len() > 1).then(|| {
            self.runs
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
        })
    }

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
            ratio_to_baseline: (baseline_rps > 0.0).then(|| m.rps() / baseline_rps),
            note,
            runs: Vec::new(),
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
    let temp = tempfile::tempdir()?;
    let db = Database::from_args(args.database_url.as_deref(), temp.path());
    // The nodes get their own runtime (2 workers) so the generator's runtime does not starve them.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let gen_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let phases = Phases {
        args: &args,
        db,
        temp: temp.path(),
        server: server_rt.handle().clone(),
        metrics: recorder.as_ref(),
    };
    let rows = gen_rt.block_on(phases.run())?;
    std::fs::create_dir_all(&args.out)?;
    report::write(&args.out, &rows)?;
    println!("{}", report::markdown(&rows));
    println!(
        "wrote {0}/bench.json, {0}/bench.md and {0}/bench.png",
        args.out.display()
    );
    drop(gen_rt);
    drop(server_rt);
    Ok(())
}

/// Everything the phases share.
struct Phases<'a> {
    args: &'a BenchArgs,
    db: Database,
    temp: &'a Path,
    server: Handle,
    metrics: Option<&'a PrometheusHandle>,
}

impl Phases<'_> {
    async fn run(&self) -> anyhow::Result<Vec<Row>> {
        let main = self.start("main").await?;
        let (mut rows, baseline) = self.protocols(&main).await?;
        if let Some(h) = self.metrics {
            print_batching(&h.render());
        }
        let pem = main.state.inner.platform.rsa_key.private_pem.clone();
        main.stop().await?;
        let backend = rows[0].backend.clone();
        let rsa = self.rsa_bound(pem, &backend, baseline, &mut rows).await?;
        rows.push(rsa);
        if !self.args.skip_callbacks && self.args.callbacks > 0 {
            rows.extend(self.callbacks().await?);
        }
        if !self.args.stored.0.is_empty() {
            let node = self.start("stored").await?;
            let per_run = self.requests_per_run(CREATE_RATE);
            let counts = &self.args.stored.0;
            let (c, d) = (self.args.connections, self.args.duration);
            let measured = stored::measure(&node, counts, c, d, per_run, baseline).await;
            node.stop().await?;
            rows.extend(measured?);
        }
        Ok(rows)
    }

    /// A node on the server runtime over a fresh database for `phase`.
    async fn start(&self, phase: &'static str) -> anyhow::Result<Node> {
        let (db, temp) = (self.db.clone(), self.temp.to_path_buf());
        self.server
            .spawn(async move { Node::start(&db, phase, &temp).await })
            .await?
            .with_context(|| format!("starting the {phase} node"))
    }

    /// Pre-built requests for one row: `--requests`, or enough for the duration at `rate`/s (a
    /// row that uses them all up before its time is over reports the rate over the time it ran).
    fn requests_per_run(&self, rate: f64) -> usize {
        self.args
            .requests
            .unwrap_or((self.args.duration.as_secs_f64() * rate) as usize)
            .max(1000)
    }

    /// The baseline row and one create-payment row per protocol; returns the baseline's rate too.
    async fn protocols(&self, node: &Node) -> anyhow::Result<(Vec<Row>, f64)> {
        let args = self.args;
        let backend = node.state.engine().store().backend().kind();
        let host = node.addr.to_string();
        let ok: load::SuccessCheck = Arc::new(|status, _| status == 200);
        let (c, d) = (args.connections, args.duration);
        let mut base = Vec::new();
        for run in 1..=args.repeat {
            eprintln!(
                "measuring baseline (POST /__bench/echo) for {d:?} over {c} connections{}",
                self.of_runs(run)
            );
            let requests = Arc::new(requests::baseline(self.requests_per_run(BASELINE_RATE)));
            base.push(load::run(node.addr, &host, requests, c, d, ok.clone()).await?);
        }
        let baseline = Row::from_runs("baseline (JSON echo)", backend, &base, None, String::new());
        let baseline_rps = baseline.rps;
        let mut rows = vec![baseline];
        let (_, merchant) = requests::merchant(&node.state, None).await?;
        for protocol in list(&args.protocols) {
            // RSA signing makes 33 Fintech's requests slow to pre-sign and its rate RSA-bound.
            let rate = if protocol == "fintech33" {
                RSA_RATE
            } else {
                CREATE_RATE
            };
            let n = self.requests_per_run(rate);
            let (mut runs, mut note) = (Vec::new(), String::new());
            for run in 1..=args.repeat {
                let signing = std::time::Instant::now();
                let set = requests::create_payments(&protocol, &node.state, &merchant, n, None)
                    .await
                    .with_context(|| format!("preparing {protocol}"))?;
                eprintln!(
                    "{protocol}: pre-signed {} requests in {:.1?}; measuring{}",
                    set.requests.len(),
                    signing.elapsed(),
                    self.of_runs(run)
                );
                let m = load::run(node.addr, &host, Arc::new(set.requests), c, d, set.ok).await?;
                if let Some(e) = &m.first_error {
                    eprintln!("{protocol}: first error: {e}");
                }
                runs.push(m);
                note = set.note;
            }
            let name = format!("{protocol} create-payment");
            rows.push(Row::from_runs(
                &name,
                backend,
                &runs,
                Some(baseline_rps),
                note,
            ));
        }
        Ok((rows, baseline_rps))
    }

    /// " (run i of n)" when rows are repeated.
    fn of_runs(&self, run: u32) -> String {
        if self.args.repeat > 1 {
            format!(" (run {run} of {})", self.args.repeat)
        } else {
            String::new()
        }
    }

    /// The RSA bound row (timed on one thread while no load runs); notes the fintech33 row.
    async fn rsa_bound(
        &self,
        pem: String,
        backend: &str,
        baseline: f64,
        rows: &mut [Row],
    ) -> anyhow::Result<Row> {
        let n = self.args.rsa_signatures.max(1);
        eprintln!("timing {n} RSA-2048 signatures with the platform key");
        let times = tokio::task::spawn_blocking(move || rsa::measure(&pem, n)).await??;
        if let Some(r) = rows
            .iter_mut()
            .find(|r| r.name == "fintech33 create-payment")
        {
            r.note = format!("{}; {}", r.note, rsa::share_note(r.rps, &times));
        }
        Ok(rsa::row(&times, backend, baseline))
    }

    /// One callback-delivery row per callback protocol, on a node of their own.
    async fn callbacks(&self) -> anyhow::Result<Vec<Row>> {
        let node = self.start("callbacks").await?;
        let backend = node.state.engine().store().backend().kind();
        let mut rows = Vec::new();
        let mut result = Ok(());
        for protocol in list(&self.args.callback_protocols) {
            let plan = callbacks::Plan {
                protocol: &protocol,
                n: self.args.callbacks,
                connections: self.args.connections,
                time_limit: self.args.callback_time_limit,
            };
            match self.callback_runs(&node, &plan).await {
                Ok(runs) => rows.extend(callbacks::row_of_runs(&protocol, backend, plan.n, &runs)),
                Err(e) => {
                    result = Err(e.context(format!("{protocol} callback delivery")));
                    break;
                }
            }
        }
        node.stop().await?;
        result.map(|()| rows)
    }

    /// `--repeat` deliveries of `plan` on `node`, one after the other.
    async fn callback_runs(
        &self,
        node: &Node,
        plan: &callbacks::Plan<'_>,
    ) -> anyhow::Result<Vec<callbacks::Delivered>> {
        let mut runs = Vec::new();
        for run in 1..=self.args.repeat {
            if self.args.repeat > 1 {
                eprintln!("{} callback delivery{}", plan.protocol, self.of_runs(run));
            }
            runs.push(callbacks::measure(node, &self.server, plan, self.metrics).await?);
        }
        Ok(runs)
    }
}

/// Pre-built requests of one protocol and the check of its success envelope.
pub struct RequestSet {
    pub requests: Vec<Prepared>,
    pub ok: load::SuccessCheck,
    pub note: String,
    /// The merchant order number of each request.
    pub orders: Vec<String>,
}

impl RequestSet {
    fn new(requests: Vec<Prepared>, ok: load::SuccessCheck, note: &str) -> RequestSet {
        RequestSet {
            requests,
            ok,
            note: note.to_string(),
            orders: Vec::new(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn the_median_run_is_the_middle_rate_or_the_lower_middle_one() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), 2);
        assert_eq!(median_index(&[5.0, 1.0, 4.0, 2.0]), 3);
        assert_eq!(median_index(&[7.0]), 0);
        assert_eq!(median_index(&[]), 0);
        let runs: Vec<Measured> = [(100, 1000), (300, 1000), (200, 1000)]
            .into_iter()
            .map(|(requests, ms)| Measured {
                requests,
                elapsed: Duration::from_millis(ms),
                latencies_us: vec![u32::try_from(requests).unwrap()],
                ..Measured::default()
            })
            .collect();
        let row = Row::from_runs("r", "sqlite", &runs, Some(400.0), String::new());
        assert_eq!(row.rps, 200.0);
        assert_eq!(row.p99_ms, 0.2, "latencies come from the median run");
        assert_eq!(row.ratio_to_baseline, Some(0.5));
        assert_eq!(row.runs, vec![100.0, 300.0, 200.0]);
        let once = Row::from_runs("r", "sqlite", &runs[..1], Some(400.0), String::new());
        assert!(once.runs.is_empty());
        let own = Row::from_runs("r", "sqlite", &runs, None, String::new());
        assert_eq!(
            own.ratio_to_baseline,
            Some(1.0),
            "the baseline row's own ratio"
        );
    }

    #[test]
    fn lists_skip_blanks() {
        assert_eq!(
            list(" passtopay, ,fintech33 "),
            vec!["passtopay", "fintech33"]
        );
        assert!(list("").is_empty());
        assert_eq!(parse_stored(""), Ok(Counts(vec![])));
    }
}
