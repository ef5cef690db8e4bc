//! Balances in the console: every merchant's available balance in each currency, with the
//! currency totals across merchants.

use super::layout::{self, escape, money};
use super::session::Session;
use super::{Console, engine_error, merchant_name};
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use polypay_core::{Currency, Money};
use polypay_engine::EngineError;
use std::collections::BTreeMap;

/// `GET /console/balances`.
pub async fn page(State(c): State<Console>, Extension(s): Extension<Session>) -> Response {
    let store = c.app.engine().store();
    let balances = match store.read(|db| db.all_balances()).await {
        Ok(b) => b,
        Err(e) => return engine_error(EngineError::Store(e)),
    };
    let merchants = c.merchants().await;
    let mut totals: BTreeMap<&'static str, (Currency, i64)> = BTreeMap::new();
    let rows: Vec<String> = balances
        .iter()
        .map(|(id, amount)| {
            let total = totals.entry(amount.currency.code()).or_insert((amount.currency, 0));
            total.1 = total.1.saturating_add(amount.minor);
            format!(
                "<tr><td><a href=\"/console/merchants/{0}\">{1}</a></td><td>{0}</td><td>{2}</td><td class=\"num\">{3}</td></tr>",
                escape(id.as_str()),
                escape(merchant_name(&merchants, id)),
                amount.currency.code(),
                money(amount),
            )
        })
        .collect();
    let total_rows: Vec<String> = totals
        .values()
        .map(|(currency, minor)| {
            format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                currency.code(),
                money(&Money::new(*minor, *currency))
            )
        })
        .collect();
    let body = format!(
        "{}<h2>Totals</h2>{}<p class=\"muted\">Available balances: paid-in money minus payouts and refunds \
         (a pending payout or refund is already taken out).</p>",
        layout::table(
            &["Merchant", "Id", "Currency", "Available"],
            &rows,
            "No balances yet."
        ),
        layout::table(&["Currency", "Total available"], &total_rows, "—"),
    );
    layout::page(&c.frame(&s, "/console/balances"), "Balances", &body)
}
