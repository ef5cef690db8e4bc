//! Payments in the console: the filtered, paged list and one payment's page (its fields, its
//! refunds, the sandbox actions while it is open, and its timeline).

use super::filters::{self, ListQuery};
use super::layout::{self, action_button, badge, escape, money, opt_time, time};
use super::session::Session;
use super::{Console, engine_error, merchant_name, timeline};
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use polypay_core::{Payment, PaymentId, Refund};
use polypay_engine::EngineError;

fn row(p: &Payment, merchant: &str) -> String {
    let refunded = if p.refunded_minor > 0 {
        money(&polypay_core::Money::new(
            p.refunded_minor,
            p.amount.currency,
        ))
    } else {
        String::new()
    };
    format!(
        "<tr><td>{}</td><td><a href=\"/console/payments/{}\" class=\"order\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
         <td class=\"num\">{}</td><td>{}</td><td class=\"num\">{refunded}</td></tr>",
        time(p.created_at),
        escape(p.id.as_str()),
        escape(&p.merchant_order_no),
        escape(&p.public_id),
        escape(merchant),
        p.protocol,
        money(&p.amount),
        badge(p.state.as_str()),
    )
}

/// `GET /console/payments`: filter by merchant, protocol, state, time range and order number.
pub async fn list(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Query(q): Query<ListQuery>,
) -> Response {
    let states = crate::lists::states(polypay_store::console::Listing::Payments);
    let parsed = filters::parse(&q, &states);
    let filter = parsed.filter.clone();
    let page = match c
        .app
        .engine()
        .store()
        .read(move |db| db.console_payments(&filter))
        .await
    {
        Ok(p) => p,
        Err(e) => return engine_error(EngineError::Store(e)),
    };
    let merchants = c.merchants().await;
    let rows: Vec<String> = page
        .items
        .iter()
        .map(|p| row(p, merchant_name(&merchants, &p.merchant_id)))
        .collect();
    let body = format!(
        "{}{}{}{}",
        filters::form(
            "/console/payments",
            &q,
            &merchants,
            &states,
            "Order no / id"
        ),
        filters::problems(&parsed),
        layout::table(
            &[
                "Created",
                "Order no",
                "Public id",
                "Merchant",
                "Protocol",
                "Amount",
                "State",
                "Refunded"
            ],
            &rows,
            "No payments match.",
        ),
        layout::pager(
            "/console/payments",
            &parsed.query,
            parsed.page,
            page.has_more
        ),
    );
    layout::page(&c.frame(&s, "/console/payments"), "Payments", &body)
}

fn details(p: &Payment, merchant: &str, cashier_url: &str) -> String {
    let error = match (&p.error_code, &p.error_message) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.clone(),
        _ => "—".into(),
    };
    let field = |k: &str, v: &str| format!("<dt>{k}</dt><dd>{}</dd>", escape(v));
    let pending = polypay_core::Money::new(p.refund_pending_minor, p.amount.currency);
    let refunded = polypay_core::Money::new(p.refunded_minor, p.amount.currency);
    format!(
        "<div class=\"card\"><dl class=\"wide\"><dt>State</dt><dd id=\"payment-state\">{}</dd>{}{}{}\
         <dt>Merchant</dt><dd><a href=\"/console/merchants/{}\">{}</a></dd>{}{}{}{}{}{}{}{}{}{}{}\
         <dt>Cashier</dt><dd><a href=\"{}\">{}</a></dd></dl>\
         <details><summary>attributes</summary>{}</details></div>",
        badge(p.state.as_str()),
        field("Amount", &money(&p.amount)),
        field("Order no", &p.merchant_order_no),
        field("Public id", &p.public_id),
        escape(p.merchant_id.as_str()),
        escape(merchant),
        field("Id", p.id.as_str()),
        field("Protocol", p.protocol.as_str()),
        field(
            "Refunded",
            &format!("{} ({} pending)", money(&refunded), money(&pending))
        ),
        field("Created", &time(p.created_at)),
        field("Updated", &time(p.updated_at)),
        field("Expires", &time(p.expires_at)),
        field("Finished", &opt_time(p.finished_at)),
        field(
            "Channel order no",
            p.channel_order_no.as_deref().unwrap_or("—")
        ),
        field("Error", &error),
        field("Notify URL", p.notify_url.as_deref().unwrap_or("—")),
        field("Return URL", p.return_url.as_deref().unwrap_or("—")),
        escape(cashier_url),
        escape(cashier_url),
        layout::json_block(&p.attrs),
    )
}

/// The sandbox buttons of an open payment.
fn sandbox_actions(c: &Console, s: &Session, p: &Payment) -> String {
    if !c.app.inner.platform.sandbox || !p.state.is_open() {
        return String::new();
    }
    let base = format!("/console/payments/{}", p.id);
    let button = |action: &str, label: &str, class: &str| {
        action_button(
            s,
            &format!("{base}/{action}"),
            label,
            &format!("sandbox-{action}"),
            class,
        )
    };
    format!(
        "<div class=\"card\"><h2>Sandbox</h2>{}{}{}{}<p class=\"muted\">Each button enters the engine as a command, \
         like a cashier click or the sweeper would.</p></div>",
        button("pay", "Pay", "primary"),
        button("fail", "Fail", "danger"),
        button("cancel", "Cancel", ""),
        button("expire", "Expire", ""),
    )
}

fn refunds_table(refunds: &[Refund]) -> String {
    let rows: Vec<String> = refunds
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"wrap\">{}</td></tr>",
                time(r.created_at),
                escape(&r.merchant_refund_no),
                escape(&r.public_id),
                money(&r.amount),
                badge(r.state.as_str()),
                escape(r.reason.as_deref().unwrap_or("")),
            )
        })
        .collect();
    layout::table(
        &[
            "Created",
            "Refund no",
            "Public id",
            "Amount",
            "State",
            "Reason",
        ],
        &rows,
        "No refunds.",
    )
}

/// `GET /console/payments/{id}`.
pub async fn show(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let engine = c.app.engine();
    let p = match engine.payment(&PaymentId(id)).await {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    let refunds = engine.refunds_of_payment(&p.id).await.unwrap_or_default();
    let merchants = c.merchants().await;
    let mut objects = vec![p.id.to_string()];
    objects.extend(refunds.iter().map(|r| r.id.to_string()));
    let entries = match timeline::collect(&c, objects, p.id.as_str()).await {
        Ok(t) => t,
        Err(e) => return engine_error(e),
    };
    let cashier = c.app.inner.platform.cashier_url(&p.cashier_token);
    let body = format!(
        "{}{}{}<h2>Refunds</h2>{}<h2>Timeline</h2>{}",
        details(&p, merchant_name(&merchants, &p.merchant_id), &cashier),
        sandbox_actions(&c, &s, &p),
        super::settle::payment_card(&c, &s, &p),
        refunds_table(&refunds),
        timeline::render(&entries),
    );
    let title = format!("Payment {}", p.merchant_order_no);
    layout::page(&c.frame(&s, "/console/payments"), &title, &body)
}
