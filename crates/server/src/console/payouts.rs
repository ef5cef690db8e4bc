//! Payouts and refunds in the console: their filtered, paged lists, and one payout's page
//! (fields, sandbox complete / fail while it is not final, timeline). A refund's page is its
//! payment's, where its state changes, postings and callbacks appear.

use super::filters::{self, ListQuery, Parsed};
use super::layout::{self, action_button, badge, escape, money, opt_time, time};
use super::session::Session;
use super::{Console, engine_error, merchant_name, timeline};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use polypay_core::{Merchant, Payout, PayoutId, Refund};
use polypay_engine::EngineError;
use polypay_store::console::Listing;

fn payout_row(p: &Payout, merchant: &str) -> String {
    format!(
        "<tr><td>{}</td><td><a href=\"/console/payouts/{}\" class=\"order\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
         <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
        time(p.created_at),
        escape(p.id.as_str()),
        escape(&p.merchant_order_no),
        escape(&p.public_id),
        escape(merchant),
        p.protocol,
        money(&p.amount),
        badge(p.state.as_str()),
        opt_time(p.finished_at),
    )
}

fn refund_row(r: &Refund, merchant: &str) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/console/payments/{}\">{}</a></td><td>{}</td><td>{}</td>\
         <td class=\"num\">{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
        time(r.created_at),
        escape(&r.merchant_refund_no),
        escape(&r.public_id),
        escape(r.payment_id.as_str()),
        escape(r.payment_id.as_str()),
        escape(merchant),
        r.protocol,
        money(&r.amount),
        badge(r.state.as_str()),
        escape(
            r.error_message
                .as_deref()
                .or(r.reason.as_deref())
                .unwrap_or("")
        ),
    )
}

/// The page body of a list: filters, notices, table, pager.
fn list_body(
    path: &str,
    q: &ListQuery,
    parsed: &Parsed,
    merchants: &[Merchant],
    states: &[&str],
    (headers, rows): (&[&str], Vec<String>),
    has_more: bool,
) -> String {
    format!(
        "{}{}{}{}",
        filters::form(path, q, merchants, states, "Order no / id"),
        filters::problems(parsed),
        layout::table(headers, &rows, "Nothing matches."),
        layout::pager(path, &parsed.query, parsed.page, has_more),
    )
}

/// `GET /console/payouts`.
pub async fn list(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Query(q): Query<ListQuery>,
) -> Response {
    let states = crate::lists::states(Listing::Payouts);
    let parsed = filters::parse(&q, &states);
    let filter = parsed.filter.clone();
    let store = c.app.engine().store();
    let page = match store.read(move |db| db.console_payouts(&filter)).await {
        Ok(p) => p,
        Err(e) => return engine_error(EngineError::Store(e)),
    };
    let merchants = c.merchants().await;
    let rows = page
        .items
        .iter()
        .map(|p| payout_row(p, merchant_name(&merchants, &p.merchant_id)))
        .collect();
    let headers: &[&str] = &[
        "Created",
        "Order no",
        "Public id",
        "Merchant",
        "Protocol",
        "Amount",
        "State",
        "Finished",
    ];
    let body = list_body(
        "/console/payouts",
        &q,
        &parsed,
        &merchants,
        &states,
        (headers, rows),
        page.has_more,
    );
    layout::page(&c.frame(&s, "/console/payouts"), "Payouts", &body)
}

/// `GET /console/refunds` (the number filter matches the merchant's refund number).
pub async fn refunds(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Query(q): Query<ListQuery>,
) -> Response {
    let states = crate::lists::states(Listing::Refunds);
    let parsed = filters::parse(&q, &states);
    let filter = parsed.filter.clone();
    let store = c.app.engine().store();
    let page = match store.read(move |db| db.console_refunds(&filter)).await {
        Ok(p) => p,
        Err(e) => return engine_error(EngineError::Store(e)),
    };
    let merchants = c.merchants().await;
    let rows = page
        .items
        .iter()
        .map(|r| refund_row(r, merchant_name(&merchants, &r.merchant_id)))
        .collect();
    let headers: &[&str] = &[
        "Created",
        "Refund no",
        "Public id",
        "Payment",
        "Merchant",
        "Protocol",
        "Amount",
        "State",
        "Note",
    ];
    let body = list_body(
        "/console/refunds",
        &q,
        &parsed,
        &merchants,
        &states,
        (headers, rows),
        page.has_more,
    );
    layout::page(&c.frame(&s, "/console/refunds"), "Refunds", &body)
}

fn details(p: &Payout, merchant: &str) -> String {
    let field = |k: &str, v: &str| format!("<dt>{k}</dt><dd>{}</dd>", escape(v));
    let error = match (&p.error_code, &p.error_message) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        _ => "—".into(),
    };
    format!(
        "<div class=\"card\"><dl class=\"wide\"><dt>State</dt><dd id=\"payout-state\">{}</dd>{}{}{}\
         <dt>Merchant</dt><dd><a href=\"/console/merchants/{}\">{}</a></dd>{}{}{}{}{}{}{}{}</dl>\
         <details><summary>attributes</summary>{}</details></div>",
        badge(p.state.as_str()),
        field("Amount", &money(&p.amount)),
        field("Order no", &p.merchant_order_no),
        field("Public id", &p.public_id),
        escape(p.merchant_id.as_str()),
        escape(merchant),
        field("Id", p.id.as_str()),
        field("Protocol", p.protocol.as_str()),
        field("Created", &time(p.created_at)),
        field("Updated", &time(p.updated_at)),
        field("Finished", &opt_time(p.finished_at)),
        field(
            "Channel order no",
            p.channel_order_no.as_deref().unwrap_or("—")
        ),
        field("Error", &error),
        field("Notify URL", p.notify_url.as_deref().unwrap_or("—")),
        layout::json_block(&p.attrs),
    )
}

fn sandbox_actions(c: &Console, s: &Session, p: &Payout) -> String {
    if !c.app.inner.platform.sandbox || p.state.is_final() {
        return String::new();
    }
    let base = format!("/console/payouts/{}", p.id);
    format!(
        "<div class=\"card\"><h2>Sandbox</h2>{}{}<p class=\"muted\">A failed payout gives the money back to the balance.</p></div>",
        action_button(
            s,
            &format!("{base}/complete"),
            "Complete",
            "sandbox-complete",
            "primary"
        ),
        action_button(s, &format!("{base}/fail"), "Fail", "sandbox-fail", "danger"),
    )
}

/// `GET /console/payouts/{id}`.
pub async fn show(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let p = match c.app.engine().payout(&PayoutId(id)).await {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    let merchants = c.merchants().await;
    let entries = match timeline::collect(&c, vec![p.id.to_string()], p.id.as_str()).await {
        Ok(t) => t,
        Err(e) => return engine_error(e),
    };
    let body = format!(
        "{}{}{}<h2>Timeline</h2>{}",
        details(&p, merchant_name(&merchants, &p.merchant_id)),
        sandbox_actions(&c, &s, &p),
        super::settle::payout_card(&c, &s, &p),
        timeline::render(&entries),
    );
    let title = format!("Payout {}", p.merchant_order_no);
    layout::page(&c.frame(&s, "/console/payouts"), &title, &body)
}
