//! The hosted cashier page `GET /cashier/{token}`: what the customer sees and, in sandbox mode,
//! the Pay / Fail / Cancel actions, each a CSRF-protected form POST that enters the engine as a
//! command, followed by a redirect to the merchant's return URL in the protocol's own format.

mod page;

use crate::state::AppState;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use polypay_core::{Payment, PaymentCommand, PaymentState};
use polypay_engine::EngineError;
use polypay_engine::sandbox::channel_order_no;
use serde::Deserialize;

const CSRF_COOKIE: &str = "polypay_csrf";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cashier/{token}", get(show))
        .route("/cashier/{token}/qr.svg", get(qr_svg))
        .route("/cashier/{token}/{action}", post(act))
}

/// The payment behind a cashier token, or a page saying why there is none.
async fn payment(s: &AppState, token: &str) -> Result<Payment, Response> {
    let valid = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(page::message(
            StatusCode::NOT_FOUND,
            "Order not found",
            "This payment link is not valid.",
        ));
    }
    match s.engine().payment_by_cashier_token(token).await {
        Ok(p) => Ok(p),
        Err(EngineError::NotFound(_)) => Err(page::message(
            StatusCode::NOT_FOUND,
            "Order not found",
            "This payment link is not valid.",
        )),
        Err(e) => {
            tracing::error!(error = %e, "cashier lookup failed");
            Err(page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The cashier is busy; please retry.",
            ))
        }
    }
}

async fn show(
    State(s): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut p = match payment(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // Opening the page is the customer arriving: created -> pending (specs' "cashier opened").
    if p.state == PaymentState::Created && p.expires_at > s.engine().clock().now() {
        match s
            .engine()
            .transition_payment(&p.id, PaymentCommand::Open)
            .await
        {
            Ok(opened) => p = opened,
            Err(e) => tracing::warn!(error = %e, "could not open payment"),
        }
    }
    let merchant = s
        .engine()
        .merchant(&p.merchant_id)
        .await
        .map(|m| m.name)
        .unwrap_or_default();
    let csrf = cookie(&headers, CSRF_COOKIE).unwrap_or_else(|| polypay_engine::random_hex(16));
    let view = page::View {
        payment: &p,
        merchant: &merchant,
        now: s.engine().clock().now(),
        sandbox: s.inner.platform.sandbox,
        cashier_url: s.inner.platform.cashier_url(&token),
        csrf: &csrf,
    };
    let set_cookie = format!("{CSRF_COOKIE}={csrf}; Path=/cashier; HttpOnly; SameSite=Strict");
    (
        [
            (header::SET_COOKIE, set_cookie),
            (header::CACHE_CONTROL, "no-store".into()),
        ],
        page::cashier(&view),
    )
        .into_response()
}

async fn qr_svg(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    let p = match payment(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let svg = page::qr_svg(&s.inner.platform.cashier_url(&p.cashier_token));
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response()
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
}

/// Pay / Fail / Cancel (sandbox only).
async fn act(
    State(s): State<AppState>,
    Path((token, action)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<ActionForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !s.inner.platform.sandbox {
        return page::message(
            StatusCode::NOT_FOUND,
            "Not available",
            "Payment actions exist only in the sandbox.",
        );
    }
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if !csrf_ok(cookie(&headers, CSRF_COOKIE).as_deref(), &presented) {
        return page::message(
            StatusCode::FORBIDDEN,
            "Session expired",
            "Reload the payment page and try again.",
        );
    }
    let p = match payment(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let now = s.engine().clock().now();
    let cmd = match action.as_str() {
        "pay" => PaymentCommand::Succeed {
            channel_order_no: channel_order_no(p.amount.currency, now),
        },
        "fail" => PaymentCommand::Fail {
            code: "SANDBOX_FAIL".into(),
            message: "payment failed".into(),
        },
        "cancel" => PaymentCommand::Cancel,
        _ => return page::message(StatusCode::NOT_FOUND, "Not found", "Unknown action."),
    };
    if p.expires_at <= now && p.state.is_open() {
        return Redirect::to(&format!("/cashier/{token}")).into_response();
    }
    match s.engine().transition_payment(&p.id, cmd).await {
        Ok(done) => finish(&s, &done).await,
        Err(EngineError::Rule(_)) => Redirect::to(&format!("/cashier/{token}")).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cashier action failed");
            page::message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The payment could not be updated.",
            )
        }
    }
}

/// After an action: to the merchant's return URL in the protocol's format, or the outcome page.
async fn finish(s: &AppState, p: &Payment) -> Response {
    let target = match (
        s.notifier(p.protocol),
        s.engine().merchant(&p.merchant_id).await,
    ) {
        (Some(n), Ok(m)) => n.redirect_url(p, &m, s.engine().clock().wall()),
        _ => None,
    };
    match target {
        Some(url) => Redirect::to(&url).into_response(),
        None => Redirect::to(&format!("/cashier/{}", p.cashier_token)).into_response(),
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Double-submit check: the form's token equals the SameSite=Strict cookie (constant time).
fn csrf_ok(cookie: Option<&str>, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    match cookie {
        Some(c) => {
            c.len() == presented.len() && bool::from(c.as_bytes().ct_eq(presented.as_bytes()))
        }
        None => false,
    }
}
