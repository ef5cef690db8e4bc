//! The sandbox actions of the console (sandbox mode only): pay, fail, cancel or expire a
//! payment; complete or fail a payout; advance the sandbox clock. Each enters the engine as a
//! command, exactly like the control API (`/sandbox/v1`) and the cashier buttons do.

use super::layout::{self, csrf_field, time};
use super::session::Session;
use super::{Console, engine_error};
use crate::audit::Operator;
use axum::Extension;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use polypay_core::{PaymentId, PayoutId};
use serde::Deserialize;

/// Longest single jump of the clock (a year), so a typo cannot move it to the far future.
const MAX_ADVANCE_SECS: i64 = 366 * 86_400;

fn sandbox_only(c: &Console) -> Option<Response> {
    (!c.app.inner.platform.sandbox).then(|| {
        layout::message(
            StatusCode::NOT_FOUND,
            "Not available",
            "Sandbox actions exist only in sandbox mode.",
        )
    })
}

/// `POST /console/payments/{id}/{pay|fail|cancel|expire}`.
pub async fn payment_action(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if let Some(r) = sandbox_only(&c) {
        return r;
    }
    let engine = c.app.engine();
    let p = match engine.payment(&PaymentId(id)).await {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    // The console's buttons say "pay"; the control API, and the audit log, "succeed".
    let action = match action.as_str() {
        "pay" => "succeed",
        "fail" | "cancel" | "expire" => action.as_str(),
        _ => "",
    };
    match crate::sandbox::move_payment(&c.app, &op, &p, action).await {
        None => layout::message(
            StatusCode::NOT_FOUND,
            "Not found",
            "Unknown payment action.",
        ),
        Some(Ok(done)) => {
            tracing::info!(payment = %done.id, state = %done.state, "sandbox payment action from the console");
            Redirect::to(&format!("/console/payments/{}", done.id)).into_response()
        }
        Some(Err(e)) => engine_error(e),
    }
}

/// `POST /console/payouts/{id}/{complete|fail}`.
pub async fn payout_action(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    if let Some(r) = sandbox_only(&c) {
        return r;
    }
    let engine = c.app.engine();
    let p = match engine.payout(&PayoutId(id)).await {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    // The console's button says "complete"; the control API, and the audit log, "succeed".
    let action = match action.as_str() {
        "complete" => "succeed",
        "fail" => "fail",
        _ => "",
    };
    match crate::sandbox::move_payout(&c.app, &op, &p, action).await {
        None => layout::message(StatusCode::NOT_FOUND, "Not found", "Unknown payout action."),
        Some(Ok(done)) => {
            tracing::info!(payout = %done.id, state = %done.state, "sandbox payout action from the console");
            Redirect::to(&format!("/console/payouts/{}", done.id)).into_response()
        }
        Some(Err(e)) => engine_error(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClockQuery {
    moved: String,
}

/// `GET /console/sandbox`: the sandbox clock and the time-travel form.
pub async fn page(
    State(c): State<Console>,
    Extension(s): Extension<Session>,
    Query(q): Query<ClockQuery>,
) -> Response {
    if let Some(r) = sandbox_only(&c) {
        return r;
    }
    let now = c.app.engine().clock().now();
    let offset_s = c.app.inner.clock.offset_ms() / 1000;
    let notice = match q.moved.parse::<i64>() {
        Ok(secs) => format!(
            "<div class=\"notice\" id=\"moved\">The clock moved {secs} s forward; expiries, payouts and callback schedules ran.</div>"
        ),
        Err(_) => String::new(),
    };
    let preset = |secs: i64, label: &str| {
        format!(
            "<form class=\"inline\" method=\"post\" action=\"/console/sandbox/clock\">{}<input type=\"hidden\" name=\"seconds\" value=\"{secs}\">\
             <button type=\"submit\" id=\"advance-{secs}\">+{label}</button></form>",
            csrf_field(&s)
        )
    };
    let body = format!(
        "{notice}<div class=\"card\"><dl><dt>Sandbox time</dt><dd id=\"sandbox-now\">{}</dd><dt>Ahead of real time</dt><dd>{offset_s} s</dd></dl></div>\
         <div class=\"card\"><h2>Advance the clock</h2>{}{}{}{}\
         <form method=\"post\" action=\"/console/sandbox/clock\" class=\"filters\" style=\"margin-top:8px\">{}\
         <label>Seconds<input type=\"number\" name=\"seconds\" id=\"advance-seconds\" min=\"1\" max=\"{MAX_ADVANCE_SECS}\" required></label>\
         <button class=\"primary\" type=\"submit\" id=\"advance\">Advance</button></form>\
         <p class=\"muted\">The clock only moves forward. Payment and payout actions are on their pages.</p></div>",
        time(now),
        preset(60, "1 min"),
        preset(3600, "1 h"),
        preset(86_400, "1 day"),
        preset(7 * 86_400, "1 week"),
        csrf_field(&s),
    );
    layout::page(&c.frame(&s, "/console/sandbox"), "Sandbox", &body)
}

#[derive(Deserialize)]
pub struct AdvanceForm {
    #[serde(default)]
    seconds: String,
}

/// `POST /console/sandbox/clock`: time travel, then the due work swept so its effects are
/// visible.
pub async fn advance(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Form(f): Form<AdvanceForm>,
) -> Response {
    if let Some(r) = sandbox_only(&c) {
        return r;
    }
    let secs = match f.seconds.trim().parse::<i64>() {
        Ok(s) if (1..=MAX_ADVANCE_SECS).contains(&s) => s,
        _ => {
            return layout::message(
                StatusCode::BAD_REQUEST,
                "Clock not moved",
                "Give a whole number of seconds, at least 1 and at most a year.",
            );
        }
    };
    match crate::sandbox::travel(&c.app, &op, secs * 1000).await {
        Ok(true) => {}
        Ok(false) => {
            return layout::message(
                StatusCode::BAD_REQUEST,
                "Clock not moved",
                crate::sandbox::TOO_FAR,
            );
        }
        Err(e) => return engine_error(e),
    }
    tracing::info!(seconds = secs, "sandbox clock advanced from the console");
    crate::sandbox::sweep_all_due(&c.app).await;
    Redirect::to(&format!("/console/sandbox?moved={secs}")).into_response()
}
