//! `polypay callbacks list|show|resend`: operate on the database directly (no server needed).
//! A re-send only makes the callback due now; a running server's dispatcher sends it.

use crate::DbArgs;
use anyhow::Context;
use clap::Subcommand;
use polypay_notify::operator;
use polypay_store::DeliveryFilter;

#[derive(Subcommand)]
pub enum CallbacksCommand {
    /// List callback deliveries, newest first.
    List {
        /// Only this merchant's (mch_…).
        #[arg(long)]
        merchant: Option<String>,
        /// Only this payment's (its own callbacks and its refunds'), or any object id.
        #[arg(long)]
        payment: Option<String>,
        /// pending, failing (pending after a failed attempt), acknowledged, dead or skipped.
        #[arg(long)]
        state: Option<String>,
        /// At most this many, newest first (1-500).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i64).range(1..=500))]
        limit: i64,
        /// Older deliveries: those with an id below this one (the list's last id).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
        before: Option<i64>,
        /// Print JSON instead of one line per delivery.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Show one delivery with every attempt (requests as sent, responses, errors).
    Show {
        id: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Make a delivery due now with a fresh schedule, even if dead or acknowledged.
    Resend {
        id: i64,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(cmd: CallbacksCommand) -> anyhow::Result<()> {
    match cmd {
        CallbacksCommand::List {
            merchant,
            payment,
            state,
            limit,
            before,
            json,
            db,
        } => {
            let named = state
                .map(|s| {
                    operator::state_named(&s).with_context(|| {
                        format!("state must be {}, not {s:?}", operator::STATE_NAMES)
                    })
                })
                .transpose()?;
            let merchant_id = merchant
                .map(|m| {
                    polypay_server::lists::merchant_param(&Some(m))
                        .map_err(|why| anyhow::anyhow!("--{why}"))
                })
                .transpose()?
                .flatten();
            let filter = DeliveryFilter {
                merchant_id: merchant_id.clone(),
                payment,
                state: named.map(|(state, _)| state),
                attempted: named.is_some_and(|(_, attempted)| attempted),
                before_id: before,
                limit,
            };
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let page = operator::deliveries_page(&boot.engine, filter).await;
            boot.engine.store().close();
            let Some((list, more)) = page? else {
                let m = merchant_id.map(|m| m.0).unwrap_or_default();
                anyhow::bail!("no merchant {m}");
            };
            if json {
                let v: Vec<_> = list.iter().map(operator::delivery_summary_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            for d in &list {
                let next = d
                    .next_attempt_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                let last = match (&d.last_status, &d.last_error) {
                    (Some(s), Some(e)) => format!("HTTP {s}: {e}"),
                    (None, Some(e)) => e.clone(),
                    (Some(s), None) => format!("HTTP {s}"),
                    (None, None) => String::new(),
                };
                println!(
                    "{:>8}  {:<12}  {:<22}  {}  {}  attempts={}  next={next}  {last}",
                    d.id,
                    d.state.as_str(),
                    d.event,
                    d.merchant_id,
                    d.object_id,
                    d.attempts
                );
            }
            if more && let Some(last) = list.last() {
                println!("older deliveries: --before {}", last.id);
            }
            Ok(())
        }
        CallbacksCommand::Show { id, db } => {
            let boot = polypay_server::bootstrap(&mut db.load_existing()?).await?;
            let detail = operator::delivery_with_attempts(&boot.engine, id).await?;
            let v = operator::delivery_detail_json(&detail);
            println!("{}", serde_json::to_string_pretty(&v)?);
            Ok(())
        }
        CallbacksCommand::Resend { id, db } => {
            let mut config = db.load_existing()?;
            let boot = polypay_server::bootstrap(&mut config).await?;
            let platform = polypay_server::bootstrap::platform(&boot.engine, &config).await?;
            let notifiers = polypay_server::protocols::notifiers(&platform);
            let op = polypay_server::audit::Operator::cli();
            polypay_server::callbacks::resend_audited(&boot.engine, &notifiers, &op, id).await?;
            boot.engine.store().close();
            println!(
                "callback {id} is due now; a running polypay server sends it on its next tick"
            );
            Ok(())
        }
    }
}
