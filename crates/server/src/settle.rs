//! The settlement API (`/admin/v1/{payments,payouts,refunds}/{reference}/{action}`, admin
//! token, both modes): how the operator's payment rail reports what happened to an order.
//!
//! A gateway has no rail of its own: the cashier page shows the customer how to pay, and the
//! operator's settlement process, which sees the money arrive or leave, tells polypay here.
//! Each report enters the engine as a command, like a cashier click or a sandbox control
//! call, and is answered after it is durable; the merchant's callbacks follow. Unlike the
//! sandbox's control API, a success carries the rail's own reference (`channel_order_no`),
//! which the protocols report to the merchant, and a failure the rail's code and message.

use crate::admin::error;
use crate::audit::Operator;
use crate::sandbox::{
    Owner, PAYMENT_REFS, PAYOUT_REFS, REFUND_REFS, engine_error, find_payment, find_payout,
    find_refund,
};
use crate::state::AppState;
use axum::Extension;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use polypay_core::{Payment, PaymentCommand, Payout, PayoutCommand};
use polypay_engine::EngineError;
use serde::Deserialize;
use serde_json::json;

pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/admin/v1/payments/{reference}", get(show_payment))
        .route("/admin/v1/payouts/{reference}", get(show_payout))
        .route("/admin/v1/refunds/{reference}", get(show_refund))
        .route("/admin/v1/payments/{reference}/{action}", post(payment))
        .route("/admin/v1/payouts/{reference}/{action}", post(payout))
        .route("/admin/v1/refunds/{reference}/{action}", post(refund));
    crate::admin::guarded(routes, state)
}

/// `GET /admin/v1/payments/{reference}`: the payment any of its references names (polypay's
/// id, the protocol's, the cashier token, or the merchant's number with `?merchant=`), to find
/// the one a report is about.
async fn show_payment(
    State(s): State<AppState>,
    Path(reference): Path<String>,
    Query(owner): Query<Owner>,
) -> Response {
    shown(find_payment(&s, &reference, &owner).await, PAYMENT_REFS)
}

/// `GET /admin/v1/payouts/{reference}`, as [`show_payment`].
async fn show_payout(
    State(s): State<AppState>,
    Path(reference): Path<String>,
    Query(owner): Query<Owner>,
) -> Response {
    shown(find_payout(&s, &reference, &owner).await, PAYOUT_REFS)
}

/// `GET /admin/v1/refunds/{reference}`, as [`show_payment`].
async fn show_refund(
    State(s): State<AppState>,
    Path(reference): Path<String>,
    Query(owner): Query<Owner>,
) -> Response {
    shown(find_refund(&s, &reference, &owner).await, REFUND_REFS)
}

/// The object a lookup found, or the 404 that says what a reference is.
fn shown<T: serde::Serialize>(found: Result<Option<T>, EngineError>, refs: &str) -> Response {
    match found {
        Ok(Some(object)) => Json(object).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, refs),
        Err(e) => engine_error(e),
    }
}

/// What the rail reports: its reference for a success, its code and message for a failure,
/// and for a payment's success what its protocol reports beside the reference
/// ([`crate::protocols::settlement_marks`]: BlockATM's `fromAddress` and `blockTime`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Report {
    pub channel_order_no: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub details: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A report's text field: trimmed, 1 to `most` characters, no control characters.
fn text(value: Option<&str>, name: &str, most: usize) -> Result<String, String> {
    let value = value.map(str::trim).unwrap_or_default();
    let fits = !value.is_empty() && value.chars().count() <= most;
    if !fits || value.chars().any(char::is_control) {
        return Err(format!(
            "{name} must be 1-{most} characters without control characters"
        ));
    }
    Ok(value.to_owned())
}

impl Report {
    /// The rail's reference: 1 to 128 characters (a chain's transaction hash is 64 or 66).
    fn reference(&self) -> Result<String, String> {
        text(self.channel_order_no.as_deref(), "channel_order_no", 128)
    }

    /// Details are for a payment's success; anywhere else they would be dropped unseen.
    fn no_details(&self) -> Result<(), String> {
        match &self.details {
            Some(d) if !d.is_empty() => Err("details are taken by a payment's succeed only".into()),
            _ => Ok(()),
        }
    }

    /// The failure's code and message (the message defaults to the code).
    fn failure(&self) -> Result<(String, String), String> {
        let code = text(self.code.as_deref(), "code", 64)?;
        let message = match &self.message {
            Some(m) => text(Some(m), "message", 256)?,
            None => code.clone(),
        };
        Ok((code, message))
    }
}

/// What a report is, said when the body is not one.
const REPORT_SHAPE: &str = "body must be a JSON object: {\"channel_order_no\": …} to succeed, \
     {\"code\": …, \"message\": …} to fail";

/// Why a report was not applied.
pub(crate) enum Refused {
    /// The action is none of the object's; the text lists them.
    Action(&'static str),
    /// The report is malformed; the text says how.
    Invalid(String),
    Engine(EngineError),
}

impl Refused {
    fn answer(self) -> Response {
        match self {
            Refused::Action(which) => error(StatusCode::NOT_FOUND, which),
            Refused::Invalid(why) => error(StatusCode::BAD_REQUEST, &why),
            Refused::Engine(e) => engine_error(e),
        }
    }
}

/// Applies a report to `payment`: `succeed` (with the rail's `channel_order_no` and the
/// protocol's details) or `fail` (with its `code`). The admin API and the console's
/// settlement form both report through here.
pub(crate) async fn settle_payment(
    s: &AppState,
    op: &Operator,
    payment: &Payment,
    action: &str,
    r: Report,
) -> Result<Payment, Refused> {
    let cmd = match action {
        "succeed" => r
            .reference()
            .map(|channel_order_no| PaymentCommand::Succeed { channel_order_no }),
        "fail" => r
            .no_details()
            .and_then(|()| r.failure())
            .map(|(code, message)| PaymentCommand::Fail { code, message }),
        _ => return Err(Refused::Action("action must be succeed or fail")),
    }
    .map_err(Refused::Invalid)?;
    let marks = match &cmd {
        PaymentCommand::Succeed { .. } => {
            let details = r.details.unwrap_or_default();
            crate::protocols::settlement_marks(payment, &details).map_err(Refused::Invalid)?
        }
        _ => serde_json::Map::new(),
    };
    let detail = json!({"through": "settlement", "report": report_detail(&cmd), "details": marks});
    let audited = op.engine(
        s.engine(),
        &format!("payment.{action}"),
        ("payment", payment.id.as_str()),
        Some(&payment.merchant_id),
        detail,
    );
    let settled = audited
        .transition_payment_marked(&payment.id, cmd, marks)
        .await
        .map_err(Refused::Engine)?;
    tracing::info!(payment = %settled.id, state = ?settled.state, "payment settled by the operator");
    Ok(settled)
}

/// Applies a report to `payout`: `process` (the rail took it), `succeed` (with its
/// `channel_order_no`) or `fail` (with its `code`; the money goes back to the balance).
pub(crate) async fn settle_payout(
    s: &AppState,
    op: &Operator,
    payout: &Payout,
    action: &str,
    r: Report,
) -> Result<Payout, Refused> {
    r.no_details().map_err(Refused::Invalid)?;
    let cmd = match action {
        "process" => Ok(PayoutCommand::Process),
        "succeed" => r
            .reference()
            .map(|channel_order_no| PayoutCommand::Succeed { channel_order_no }),
        "fail" => r
            .failure()
            .map(|(code, message)| PayoutCommand::Fail { code, message }),
        _ => return Err(Refused::Action("action must be process, succeed or fail")),
    }
    .map_err(Refused::Invalid)?;
    let audited = op.engine(
        s.engine(),
        &format!("payout.{action}"),
        ("payout", payout.id.as_str()),
        Some(&payout.merchant_id),
        json!({"through": "settlement", "report": payout_report_detail(&cmd)}),
    );
    let settled = audited
        .transition_payout(&payout.id, cmd)
        .await
        .map_err(Refused::Engine)?;
    tracing::info!(payout = %settled.id, state = ?settled.state, "payout settled by the operator");
    Ok(settled)
}

/// What a payment report said, for the audit log.
fn report_detail(cmd: &PaymentCommand) -> serde_json::Value {
    match cmd {
        PaymentCommand::Succeed { channel_order_no } => {
            json!({"channel_order_no": channel_order_no})
        }
        PaymentCommand::Fail { code, message } => json!({"code": code, "message": message}),
        _ => json!({}),
    }
}

/// What a payout report said, for the audit log.
fn payout_report_detail(cmd: &PayoutCommand) -> serde_json::Value {
    match cmd {
        PayoutCommand::Succeed { channel_order_no } => {
            json!({"channel_order_no": channel_order_no})
        }
        PayoutCommand::Fail { code, message } => json!({"code": code, "message": message}),
        _ => json!({}),
    }
}

/// `POST /admin/v1/payments/{reference}/{action}` ([`settle_payment`]).
async fn payment(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((reference, action)): Path<(String, String)>,
    Query(owner): Query<Owner>,
    body: Result<Json<Report>, JsonRejection>,
) -> Response {
    let found = find_payment(&s, &reference, &owner);
    let settle = async |p: Payment, r| settle_payment(&s, &op, &p, &action, r).await;
    reported(body, found, PAYMENT_REFS, settle).await
}

/// `POST /admin/v1/payouts/{reference}/{action}` ([`settle_payout`]).
async fn payout(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((reference, action)): Path<(String, String)>,
    Query(owner): Query<Owner>,
    body: Result<Json<Report>, JsonRejection>,
) -> Response {
    let found = find_payout(&s, &reference, &owner);
    let settle = async |p: Payout, r| settle_payout(&s, &op, &p, &action, r).await;
    reported(body, found, PAYOUT_REFS, settle).await
}

/// A report's answer: the body read as a report, then the object its reference names (`refs`
/// says what a reference is when none does), then `settle` applied to both; the object as it
/// is now, or why not.
async fn reported<T, U: serde::Serialize>(
    body: Result<Json<Report>, JsonRejection>,
    found: impl Future<Output = Result<Option<T>, EngineError>>,
    refs: &str,
    settle: impl AsyncFnOnce(T, Report) -> Result<U, Refused>,
) -> Response {
    let r = match body {
        Ok(Json(r)) => r,
        Err(refused) => return crate::admin::refused_body(refused, REPORT_SHAPE),
    };
    let object = match found.await {
        Ok(Some(object)) => object,
        Ok(None) => return error(StatusCode::NOT_FOUND, refs),
        Err(e) => return engine_error(e),
    };
    match settle(object, r).await {
        Ok(settled) => Json(settled).into_response(),
        Err(refused) => refused.answer(),
    }
}

/// `succeed` (with the rail's `channel_order_no`) or `fail` (with its `code`; the money goes
/// back to the balance) a pending refund.
async fn refund(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((reference, action)): Path<(String, String)>,
    Query(owner): Query<Owner>,
    body: Result<Json<Report>, JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(r)) => r,
        Err(refused) => return crate::admin::refused_body(refused, REPORT_SHAPE),
    };
    if let Err(why) = r.no_details() {
        return error(StatusCode::BAD_REQUEST, &why);
    }
    let outcome = match action.as_str() {
        "succeed" => r.reference().map(|rail| (Some(rail), None)),
        "fail" => r.failure().map(|failure| (None, Some(failure))),
        _ => return error(StatusCode::NOT_FOUND, "action must be succeed or fail"),
    };
    let (rail, failure) = match outcome {
        Ok(outcome) => outcome,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let refund = match find_refund(&s, &reference, &owner).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, REFUND_REFS),
        Err(e) => return engine_error(e),
    };
    let report = match (&rail, &failure) {
        (Some(reference), _) => json!({"channel_order_no": reference}),
        (None, Some((code, message))) => json!({"code": code, "message": message}),
        (None, None) => json!({}),
    };
    let detail = json!({"through": "settlement", "report": report});
    let audited = op.engine(
        s.engine(),
        &format!("refund.{action}"),
        ("refund", refund.id.as_str()),
        Some(&refund.merchant_id),
        detail,
    );
    let settled = audited.settle_refund_reported(&refund, rail, failure).await;
    match settled {
        Ok((r, p)) => {
            tracing::info!(refund = %r.id, state = ?r.state, "refund settled through the admin API");
            Json(json!({"refund": r, "payment": p})).into_response()
        }
        Err(e) => engine_error(e),
    }
}
