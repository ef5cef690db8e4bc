//! The callback queue in the console: pending, failing (pending after a failed attempt) and
//! dead deliveries, one delivery with its attempt log, and "re-send now". Everything goes
//! through the notifier's operator API (`polypay_notify::operator`), the same one the admin API
//! and the CLI use; a re-send makes the delivery due at once and any node's dispatcher sends it.

use super::layout::{self, action_button, badge, escape, opt_time, time};
use super::session::Session;
use super::{Console, merchant_name};
use crate::audit::Operator;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use polypay_core::MerchantId;
use polypay_notify::{NotifyError, operator};
use polypay_store::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryFilter, DeliveryState, StoredRequest,
};
use serde::Deserialize;

/// Rows per page of the queue.
const PAGE: i64 = 50;
/// The queue tabs: name, label.
const TABS: [(&str, &str); 5] = [
    ("pending", "Pending"),
    ("failing", "Failing"),
    ("dead", "Dead"),
    ("acknowledged", "Acknowledged"),
    ("skipped", "Skipped"),
];

/// A request exactly as stored: request line, headers, blank line, body.
pub fn request_block(r: &StoredRequest) -> String {
    let mut text = format!("{} {}\n", r.method, r.url);
    for (name, value) in &r.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    text.push('\n');
    text.push_str(&String::from_utf8_lossy(&r.body));
    format!("<pre>{}</pre>", escape(&text))
}

/// An attempt's request as sent and response as received.
pub fn attempt_details(a: &DeliveryAttempt) -> String {
    let request = a
        .request
        .as_ref()
        .map(request_block)
        .unwrap_or_else(|| "<p class=\"muted\">No request was sent.</p>".into());
    let response = match a.response_status {
        Some(status) => format!(
            "<pre>HTTP {status}\n\n{}</pre>",
            escape(a.response_body.as_deref().unwrap_or(""))
        ),
        None => "<p class=\"muted\">No response.</p>".into(),
    };
    let error = a
        .error
        .as_deref()
        .map(|e| format!("<p>Error: {}</p>", escape(e)))
        .unwrap_or_default();
    let latency = a
        .latency_ms
        .map(|ms| format!(" · {ms} ms"))
        .unwrap_or_default();
    // Failed attempts are what an operator comes to read: shown open.
    let open = if a.outcome == AttemptOutcome::Acknowledged {
        ""
    } else {
        " open"
    };
    format!(
        "<details{open}><summary>request and response{latency}</summary><p class=\"muted\">sent</p>{request}\
         <p class=\"muted\">received</p>{response}{error}</details>"
    )
}

/// Every delivery of an object (a payment's include its refunds') with its attempts, oldest first.
pub async fn of_object(c: &Console, key: &str) -> Vec<(Delivery, Vec<DeliveryAttempt>)> {
    let filter = DeliveryFilter {
        payment: Some(key.to_string()),
        limit: operator::MAX_LIST,
        ..DeliveryFilter::default()
    };
    match operator::list_deliveries_with_attempts(c.app.engine(), filter).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "console could not list callbacks");
            Vec::new()
        }
    }
}

/// How many deliveries a filter finds, up to the listing limit ("500+" beyond).
async fn count(c: &Console, state: DeliveryState, attempted: bool) -> String {
    let filter = DeliveryFilter {
        state: Some(state),
        attempted,
        limit: operator::MAX_LIST,
        ..DeliveryFilter::default()
    };
    let list = operator::list_deliveries(c.app.engine(), filter)
        .await
        .unwrap_or_default();
    let n = list.len();
    if list.len() as i64 >= operator::MAX_LIST {
        format!("{n}+")
    } else {
        n.to_string()
    }
}

/// The overview's card: the queue's pending, failing and dead counts.
pub async fn queue_card(c: &Console) -> String {
    let rows = [
        ("pending", count(c, DeliveryState::Pending, false).await),
        ("failing", count(c, DeliveryState::Pending, true).await),
        ("dead", count(c, DeliveryState::Dead, false).await),
    ];
    let rows: String = rows
        .iter()
        .map(|(tab, n)| {
            format!(
                "<tr><td><a href=\"/console/callbacks?state={tab}\">{}</a></td><td class=\"num\">{n}</td></tr>",
                badge(tab)
            )
        })
        .collect();
    format!(
        "<div class=\"card\"><h2><a href=\"/console/callbacks\">Callbacks</a></h2><table>{rows}</table></div>"
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct QueueQuery {
    state: String,
    merchant: String,
    before: String,
}

fn tabs(current: &str, merchant: &str) -> String {
    let m = if merchant.is_empty() {
        String::new()
    } else {
        format!("&merchant={}", layout::url_encode(merchant))
    };
    let links: String = TABS
        .iter()
        .map(|(tab, label)| {
            let style = if *tab == current {
                " style=\"font-weight:700\""
            } else {
                ""
            };
            format!(
                "<a href=\"/console/callbacks?state={tab}{m}\" id=\"tab-{tab}\"{style}>{label}</a>"
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    format!("<p>{links}</p>")
}

fn queue_row(s: &Session, d: &Delivery, merchant: &str) -> String {
    let object = match d.object_kind.as_str() {
        "payout" => format!("/console/payouts/{}", d.object_id),
        _ => format!(
            "/console/payments/{}",
            polypay_notify::schedule::keyed_object(&d.order_key)
        ),
    };
    // An answer that was not the acknowledgement says so ("HTTP 200" alone read as success).
    let last = match (d.last_status, &d.last_error) {
        (Some(status), Some(e)) => format!("HTTP {status}: {e}"),
        (Some(status), None) => format!("HTTP {status}"),
        (None, Some(e)) => e.clone(),
        _ => String::new(),
    };
    format!(
        "<tr><td><a href=\"/console/callbacks/{0}\">#{0}</a></td><td>{1}</td><td>{2}</td><td class=\"wrap\"><a href=\"{3}\">{4}</a></td>\
         <td>{5}</td><td class=\"num\">{6}</td><td>{7}</td><td class=\"wrap\">{8}</td><td>{9}</td></tr>",
        d.id,
        escape(merchant),
        escape(&d.event),
        escape(&object),
        escape(&d.object_id),
        badge(if d.state == DeliveryState::Pending && d.attempts > 0 {
            "failing"
        } else {
            d.state.as_str()
        }),
        d.attempts,
        opt_time(d.next_attempt_at),
        escape(&last),
        action_button(
            s,
            &format!("/console/callbacks/{}/resend", d.id),
            "Re-send now",
            &format!("resend-{}", d.id),
            ""
        ),
    )
}

/// `GET /console/callbacks?state=pending|failing|dead|acknowledged|skipped&merchant=&before=`.
pub async fn list(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Query(q): Query<QueueQuery>,
) -> Response {
    // Only a known tab name goes back into links; anything else is the pending tab.
    let tab = TABS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name == q.state)
        .unwrap_or("pending");
    let named = operator::state_named(tab);
    let merchant = q.merchant.trim();
    let filter = DeliveryFilter {
        merchant_id: Some(merchant)
            .filter(|m| !m.is_empty())
            .map(|m| MerchantId(m.to_string())),
        state: named.map(|(state, _)| state),
        attempted: named.is_some_and(|(_, attempted)| attempted),
        before_id: q.before.parse().ok(),
        limit: PAGE,
        ..DeliveryFilter::default()
    };
    let list = match operator::list_deliveries(c.app.engine(), filter).await {
        Ok(l) => l,
        Err(e) => return notify_error(e),
    };
    let full = list.len() as i64 >= PAGE;
    let older = list.last().map(|d| d.id).filter(|_| full);
    let merchants = c.merchants().await;
    let rows: Vec<String> = list
        .iter()
        .map(|d| queue_row(&s, d, merchant_name(&merchants, &d.merchant_id)))
        .collect();
    let pager = older
        .map(|id| format!("<div class=\"pager\"><a id=\"older\" href=\"/console/callbacks?state={tab}&merchant={}&before={id}\">older →</a></div>", layout::url_encode(merchant)))
        .unwrap_or_default();
    let body = format!(
        "{}{}{pager}",
        tabs(tab, merchant),
        layout::table(
            &[
                "Id",
                "Merchant",
                "Event",
                "Object",
                "State",
                "Attempts",
                "Next attempt",
                "Last result",
                ""
            ],
            &rows,
            "The queue is empty.",
        ),
    );
    layout::page(&c.frame(&s, "/console/callbacks"), "Callbacks", &body)
}

fn notify_error(e: NotifyError) -> Response {
    match e {
        NotifyError::NotFound(_) => {
            layout::message(StatusCode::NOT_FOUND, "Not found", "No such callback.")
        }
        NotifyError::NotSendable(..) | NotifyError::Encode(_) => {
            layout::message(StatusCode::CONFLICT, "Cannot re-send", &e.to_string())
        }
        other => {
            tracing::error!(error = %other, "console callback request failed");
            layout::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The request failed; the server log has the details.",
            )
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShowQuery {
    resent: String,
}

/// `GET /console/callbacks/{id}`: the delivery, its request and every attempt.
pub async fn show(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let operator::DeliveryDetail {
        delivery: d,
        attempts,
        waiting_for,
    } = match operator::delivery_with_attempts(c.app.engine(), id).await {
        Ok(found) => found,
        Err(e) => return notify_error(e),
    };
    let waiting = waiting_for.map_or(String::new(), |w| {
        format!(
            "<dt>Waiting for</dt><dd id=\"waiting-for\"><a href=\"/console/callbacks/{w}\">#{w}</a>, \
             an earlier callback of this object to this endpoint, to be acknowledged or given \
             up</dd>"
        )
    });
    let notice = if q.resent.is_empty() {
        String::new()
    } else {
        "<div class=\"notice\" id=\"resent\">Re-send queued: the dispatcher sends it on its next tick.</div>".into()
    };
    let request = d
        .request
        .as_ref()
        .map(request_block)
        .unwrap_or_else(|| "<p class=\"muted\">None stored.</p>".into());
    let items: String = attempts
        .iter()
        .map(|a| {
            format!(
                "<li class=\"callback\"><span class=\"muted\">{}</span> attempt {} {} {}</li>",
                time(a.started_at),
                a.attempt,
                badge(a.outcome.as_str()),
                attempt_details(a)
            )
        })
        .collect();
    let body = format!(
        "{notice}<div class=\"card\"><dl><dt>State</dt><dd id=\"callback-state\">{}</dd><dt>Event</dt><dd>{}</dd>\
         <dt>Object</dt><dd>{} {}</dd><dt>Merchant</dt><dd>{}</dd><dt>Attempts</dt><dd>{}</dd><dt>Next attempt</dt><dd>{}</dd>\
         {waiting}<dt>Created</dt><dd>{}</dd></dl><p>{}</p></div><h2>Request</h2>{request}<h2>Attempts</h2>\
         <div class=\"card\"><ol class=\"timeline\">{items}</ol></div>",
        badge(d.state.as_str()),
        escape(&d.event),
        escape(&d.object_kind),
        escape(&d.object_id),
        escape(d.merchant_id.as_str()),
        d.attempts,
        opt_time(d.next_attempt_at),
        time(d.created_at),
        action_button(
            &s,
            &format!("/console/callbacks/{}/resend", d.id),
            "Re-send now",
            "resend",
            "primary"
        ),
    );
    layout::page(
        &c.frame(&s, "/console/callbacks"),
        &format!("Callback #{}", d.id),
        &body,
    )
}

/// `POST /console/callbacks/{id}/resend`: due now with a fresh schedule, whatever its state.
pub async fn resend(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Path(id): Path<i64>,
) -> Response {
    match crate::callbacks::resend_audited(c.app.engine(), &c.app.inner.notifiers, &op, id).await {
        Ok(()) => Redirect::to(&format!("/console/callbacks/{id}?resent=1")).into_response(),
        Err(e) => notify_error(e),
    }
}
