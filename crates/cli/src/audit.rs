//! `polypay audit`: the audit log of operator changes, read on the database (no server
//! needed), newest first, as `GET /admin/v1/audit` lists it.

use crate::DbArgs;
use clap::Args;
use polypay_server::audit::Params;

#[derive(Args)]
pub struct AuditArgs {
    /// Only entries about this merchant and its objects (mch_…).
    #[arg(long)]
    merchant: Option<String>,
    /// Only entries about this object (polypay's id: pay_…, po_…, rf_…, mch_…, a callback's number).
    #[arg(long)]
    object: Option<String>,
    /// At most this many entries (1 to 1000).
    #[arg(long, default_value = "50")]
    limit: String,
    /// Entries older than this one (the id of the last entry shown).
    #[arg(long)]
    before: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
}

pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let params = Params {
        merchant: args.merchant,
        object: args.object,
        limit: Some(args.limit),
        cursor: args.before,
    };
    let filter = params
        .filter()
        .map_err(|why| match why.starts_with("cursor") {
            true => anyhow::anyhow!("--before must be the id of an entry shown"),
            false => anyhow::anyhow!(why),
        })?;
    let boot = polypay_server::bootstrap(&mut args.db.load_existing()?).await?;
    let read = polypay_server::audit::read_log(&boot.engine, filter).await;
    boot.engine.store().close();
    let Some((entries, more)) = read? else {
        anyhow::bail!(
            "no merchant {}",
            params.merchant.as_deref().unwrap_or("").trim()
        );
    };
    for e in &entries {
        if args.json {
            println!("{}", serde_json::to_string(e)?);
        } else {
            println!(
                "{:>6}  {}  {:<16}  {:<24}  {:<18}  {} {}  {}",
                e.id,
                e.at.to_rfc3339(),
                shown(&e.actor),
                shown(&e.source),
                shown(&e.action),
                shown(&e.object_kind),
                shown(&e.object_id),
                shown(&e.detail.to_string())
            );
        }
    }
    if more
        && !args.json
        && let Some(last) = entries.last()
    {
        println!("older entries: --before {}", last.id);
    }
    Ok(())
}

/// Text as the table prints it: control characters escaped (`\n`, `\u{1b}`), so no stored
/// value can forge a row or drive the terminal.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
