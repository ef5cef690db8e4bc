//! The bench report: JSON for machines, a Markdown table and a PNG chart for people.

use super::Row;
use std::path::Path;

pub fn markdown(rows: &[Row]) -> String {
    let rate_heading = if rows.iter().any(|r| r.spread().is_some()) {
        "req/s, median run (lowest–highest)"
    } else {
        "req/s"
    };
    let mut out = format!(
        "| measurement | backend | {rate_heading} | ratio to baseline | p50 ms | p90 ms | p99 ms | max ms | requests | errors | note |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let ratio = r
            .ratio_to_baseline
            .map_or_else(|| "–".to_string(), |v| format!("{v:.2}"));
        let rate = match r.spread() {
            Some((lo, hi)) => format!("{:.0} ({lo:.0}–{hi:.0})", r.rps),
            None => format!("{:.0}", r.rps),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |\n",
            r.name,
            r.backend,
            rate,
            ratio,
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.requests,
            r.errors,
            r.note
        ));
    }
    out
}

/// Writes `bench.json`, `bench.md` and `bench.png` into `dir`.
pub fn write(dir: &Path, rows: &[Row]) -> anyhow::Result<()> {
    std::fs::write(dir.join("bench.json"), serde_json::to_string_pretty(rows)?)?;
    std::fs::write(dir.join("bench.md"), markdown(rows))?;
    std::fs::write(dir.join("bench.png"), super::chart::render(rows)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, rps: f64, runs: Vec<f64>) -> Row {
        Row {
            name: name.into(),
            backend: "sqlite".into(),
            rps,
            p50_ms: 1.0,
            p90_ms: 2.0,
            p99_ms: 3.0,
            max_ms: 4.0,
            requests: 10,
            errors: 0,
            ratio_to_baseline: Some(0.5),
            note: String::new(),
            runs,
        }
    }

    #[test]
    fn a_repeated_row_shows_its_median_and_spread() {
        let once = markdown(&[row("passtopay create-payment", 1234.4, vec![])]);
        assert!(once.contains("| req/s |"), "{once}");
        assert!(once.contains("| sqlite | 1234 | 0.50 |"), "{once}");
        let rows = [
            row("baseline (JSON echo)", 9000.0, vec![]),
            row(
                "passtopay create-payment",
                1234.4,
                vec![1300.2, 1234.4, 1100.6],
            ),
        ];
        let md = markdown(&rows);
        assert!(
            md.contains("| req/s, median run (lowest–highest) |"),
            "{md}"
        );
        assert!(md.contains("| sqlite | 9000 | 0.50 |"), "{md}");
        assert!(md.contains("| sqlite | 1234 (1101–1300) | 0.50 |"), "{md}");
    }
}
