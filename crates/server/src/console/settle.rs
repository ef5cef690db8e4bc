//! The console's settlement forms (gateway mode): an operator reports what the rail did with
//! an open payment or payout, by hand, through the same path as the settlement API
//! ([`crate::settle`]): a success with the rail's reference, a failure with its code.

use super::layout::{self, csrf_field, escape};
use super::session::Session;
use super::{Console, engine_error};
use crate::audit::Operator;
use crate::settle::{Refused, Report, settle_payment, settle_payout};
use axum::Extension;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use polypay_core::{Payment, PaymentId, PayoutId, PayoutState};
use serde::Deserialize;

/// What a settlement form posts.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettleForm {
    action: String,
    channel_order_no: String,
    code: String,
    message: String,
}

impl SettleForm {
    /// The form as a report: empty fields are absent ones.
    fn report(self) -> (String, Report) {
        let given = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        let report = Report {
            channel_order_no: given(self.channel_order_no),
            code: given(self.code),
            message: given(self.message),
            details: None,
        };
        (self.action, report)
    }
}

/// A form posting `action` to `target`, with the fields the action takes.
fn form(s: &Session, target: &str, action: &str, label: &str, class: &str) -> String {
    let fields = match action {
        "succeed" => "<label>Rail reference <input name=\"channel_order_no\" required maxlength=\"128\"></label>".to_owned(),
        "fail" => "<label>Code <input name=\"code\" required maxlength=\"64\"></label>\
                   <label>Message <input name=\"message\" maxlength=\"256\"></label>"
            .to_owned(),
        _ => String::new(),
    };
    format!(
        "<form method=\"post\" action=\"{}\" class=\"settle\">{}<input type=\"hidden\" name=\"action\" value=\"{action}\">{fields}<button type=\"submit\" class=\"{class}\" id=\"settle-{action}\">{}</button></form>",
        escape(target),
        csrf_field(s),
        escape(label),
    )
}

/// The settlement card of an open payment on a gateway (a sandbox has its buttons instead).
pub fn payment_card(c: &Console, s: &Session, p: &Payment) -> String {
    if c.app.inner.platform.sandbox || !p.state.is_open() {
        return String::new();
    }
    let target = format!("/console/payments/{}/settle", p.id);
    format!(
        "<div class=\"card\"><h2>Settlement</h2>{}{}<p class=\"muted\">What the rail did with this \
         payment: paid, with its reference (the merchant sees it as the channel order number), \
         or failed, with its code. The merchant's callback follows.</p></div>",
        form(s, &target, "succeed", "Paid", "primary"),
        form(s, &target, "fail", "Failed", "danger"),
    )
}

/// The settlement card of an unfinished payout on a gateway.
pub fn payout_card(c: &Console, s: &Session, p: &polypay_core::Payout) -> String {
    if c.app.inner.platform.sandbox || p.state.is_final() {
        return String::new();
    }
    let target = format!("/console/payouts/{}/settle", p.id);
    let process = match p.state {
        PayoutState::Pending => form(s, &target, "process", "Taken by the rail", ""),
        _ => String::new(),
    };
    format!(
        "<div class=\"card\"><h2>Settlement</h2>{process}{}{}<p class=\"muted\">A failed payout \
         gives the money back to the balance.</p></div>",
        form(s, &target, "succeed", "Paid out", "primary"),
        form(s, &target, "fail", "Failed", "danger"),
    )
}

/// A refused report, as a page.
fn refused(r: Refused) -> Response {
    match r {
        Refused::Action(why) => layout::message(StatusCode::NOT_FOUND, "Not found", why),
        Refused::Invalid(why) => layout::message(StatusCode::BAD_REQUEST, "Not done", &why),
        Refused::Engine(e) => engine_error(e),
    }
}

/// `POST /console/payments/{id}/settle`.
pub async fn payment(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    Form(f): Form<SettleForm>,
) -> Response {
    let p = match c.app.engine().payment(&PaymentId(id)).await {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    let (action, report) = f.report();
    match settle_payment(&c.app, &op, &p, &action, report).await {
        Ok(done) => Redirect::to(&format!("/console/payments/{}", done.id)).into_response(),
        Err(r) => refused(r),
    }
}

/// `POST /console/payouts/{id}/settle`.
pub async fn payout(
    State(c): State<Console>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    Form(f): Form<SettleForm>,
) -> Response {
    let p = match c.app.engine().payout(&PayoutId(id)).await {
        Ok(p) => p,
        Err(e) => return engine_error(e),
    };
    let (action, report) = f.report();
    match settle_payout(&c.app, &op, &p, &action, report).await {
        Ok(done) => Redirect::to(&format!("/console/payouts/{}", done.id)).into_response(),
        Err(r) => refused(r),
    }
}
