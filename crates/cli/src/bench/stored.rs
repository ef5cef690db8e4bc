//! Create-payment cost against the number of orders already stored: the node's store is seeded
//! up to each count in turn (bulk `INSERT … SELECT` through the real schema and indexes, see
//! `polypay_store::seed`) and PassToPay create-payment is measured at each, so the rows show
//! whether the cost stays flat as the tables grow.

use super::node::Node;
use super::{Row, load, requests};
use polypay_core::MerchantId;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows inserted per store job while seeding (one statement each).
const CHUNK: i64 = 100_000;

/// Parses `10000,1000000`, `10k,1m` or `` (nothing); sorted, deduplicated.
pub fn parse_counts(text: &str) -> Result<Vec<u64>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let lower = part.to_ascii_lowercase().replace('_', "");
        let (digits, scale) = match lower.strip_suffix('k') {
            Some(d) => (d, 1_000),
            None => match lower.strip_suffix('m') {
                Some(d) => (d, 1_000_000),
                None => (lower.as_str(), 1),
            },
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("bad count {part:?} (e.g. 10000, 10k, 1m)"))?;
        out.push(
            n.checked_mul(scale)
                .ok_or(format!("{part:?} is too large"))?,
        );
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// `10000` -> `10k`, `1000000` -> `1M`, `1500` -> `1500`.
pub fn short(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Seeds the node's store up to each of `counts` payments and measures PassToPay
/// create-payment there; returns one row per count (the last one's note holds the flatness).
pub async fn measure(
    node: &Node,
    counts: &[u64],
    connections: usize,
    duration: Duration,
    per_run: usize,
    baseline_rps: f64,
) -> anyhow::Result<Vec<Row>> {
    let backend = node.state.engine().store().backend().kind();
    let (merchant, credentials) = requests::merchant(&node.state, None).await?;
    let host = node.addr.to_string();
    let template = template(node, &merchant, &credentials).await?;
    let mut rows: Vec<Row> = Vec::new();
    let mut next = 1;
    for &target in counts {
        let stored = count(node).await?;
        let missing = i64::try_from(target).unwrap_or(i64::MAX) - stored;
        let seeding = Instant::now();
        if missing > 0 {
            seed(node, &template, next, missing).await?;
            next += missing;
        }
        let seeded = seeding.elapsed();
        let at_start = count(node).await?;
        eprintln!(
            "stored: seeded {} payments in {seeded:.1?} ({at_start} stored); measuring passtopay",
            missing.max(0)
        );
        let set = requests::create_payments("passtopay", &node.state, &credentials, per_run, None)
            .await?;
        let m = load::run(
            node.addr,
            &host,
            Arc::new(set.requests),
            connections,
            duration,
            set.ok,
        )
        .await?;
        let note = format!(
            "{at_start} stored at start (seeded {} in {:.1} s)",
            missing.max(0),
            seeded.as_secs_f64()
        );
        let name = format!("passtopay create-payment @ {} stored", short(target));
        rows.push(Row::from(&name, backend, &m, baseline_rps, note));
    }
    if let [first, .., last] = rows.as_mut_slice() {
        last.note = format!(
            "{}; flatness {:.2} (req/s vs {}: {:.0} -> {:.0}; p99 {:.1} -> {:.1} ms)",
            last.note,
            last.rps / first.rps.max(1e-9),
            first.name.rsplit(" @ ").next().unwrap_or(""),
            first.rps,
            last.rps,
            first.p99_ms,
            last.p99_ms
        );
    }
    Ok(rows)
}

/// One real PassToPay payment of the merchant, created over HTTP: the model of the seeded rows.
async fn template(
    node: &Node,
    merchant: &MerchantId,
    credentials: &serde_json::Value,
) -> anyhow::Result<polypay_core::Payment> {
    let set = requests::create_payments("passtopay", &node.state, credentials, 1, None).await?;
    let order = set.orders[0].clone();
    let host = node.addr.to_string();
    let m = load::run(
        node.addr,
        &host,
        Arc::new(set.requests),
        1,
        Duration::from_secs(60),
        set.ok,
    )
    .await?;
    anyhow::ensure!(m.errors == 0, "template payment: {:?}", m.first_error);
    Ok(node
        .state
        .engine()
        .payment_by_order_no(merchant, &order)
        .await?)
}

async fn count(node: &Node) -> anyhow::Result<i64> {
    Ok(node
        .state
        .engine()
        .store()
        .read(|db| db.payment_count())
        .await?)
}

/// Inserts payments numbered `first .. first + n`, `CHUNK` rows per store job.
async fn seed(
    node: &Node,
    template: &polypay_core::Payment,
    first: i64,
    n: i64,
) -> anyhow::Result<()> {
    let store = node.state.engine().store().clone();
    let prefix = format!("seed{}-", polypay_engine::random_hex(3));
    let mut done = 0;
    while done < n {
        let size = CHUNK.min(n - done);
        let (t, p, start) = (template.clone(), prefix.clone(), first + done);
        let inserted = store
            .write(move |db| db.seed_payments(&t, &p, start, size))
            .await?;
        anyhow::ensure!(
            inserted == u64::try_from(size).unwrap_or(0),
            "seeding inserted {inserted} of {size} rows"
        );
        done += size;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parse_with_suffixes() {
        assert_eq!(parse_counts("10000,1000000"), Ok(vec![10_000, 1_000_000]));
        assert_eq!(parse_counts(" 1m, 10k ,10k"), Ok(vec![10_000, 1_000_000]));
        assert_eq!(parse_counts("1_000"), Ok(vec![1_000]));
        assert_eq!(parse_counts(""), Ok(vec![]));
        assert!(parse_counts("ten").is_err());
        assert!(parse_counts("99999999999999999999m").is_err());
    }

    #[test]
    fn short_counts() {
        assert_eq!(short(10_000), "10k");
        assert_eq!(short(1_000_000), "1M");
        assert_eq!(short(1_500), "1500");
        assert_eq!(short(2_500_000), "2500k");
    }
}
