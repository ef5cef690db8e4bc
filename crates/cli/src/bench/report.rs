//! The bench report: JSON for machines, a Markdown table and a PNG chart for people.

use super::Row;
use std::path::Path;

pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| measurement | backend | req/s | ratio to baseline | p50 ms | p90 ms | p99 ms | max ms | requests | errors | note |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let ratio = r
            .ratio_to_baseline
            .map_or_else(|| "–".to_string(), |v| format!("{v:.2}"));
        out.push_str(&format!(
            "| {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |\n",
            r.name,
            r.backend,
            r.rps,
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
