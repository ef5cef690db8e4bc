//! The hosted cashier page `GET /cashier/{token}`: what the customer sees and, in sandbox mode,
//! the Pay / Fail / Cancel actions, each a CSRF-protected form POST that enters the engine as a
//! command, followed by a redirect to the merchant's return URL in the protocol's own format.
//!
//! The CSRF token is bound to the page ([`csrf_token`]), not to a cookie: a SameSite=Strict
//! cookie is neither stored nor sent in a frame on the merchant's site (BlockATM's widget) nor
//! on a second arrival from another site, and the page worked in neither. Every answer says
//! `no-store`, `nosniff` and `no-referrer` (the link is the payment's capability); only
//! BlockATM's pages, which its widget frames, may be framed ([`headers`]).

mod page;

use crate::state::AppState;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use page::Stage;
use polypay_core::{Merchant, Payment, PaymentCommand, PaymentState};
use polypay_engine::EngineError;
use polypay_engine::sandbox::channel_order_no;
use polypay_notify::{CashierAction, CashierForm, CashierInput, CashierMarks};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cashier/{token}", get(show))
        .route("/cashier/{token}/qr.svg", get(qr_svg))
        .route("/cashier/{token}/return", get(returned))
        .route("/cashier/{token}/{action}", post(act))
        .layer(axum::middleware::from_fn(headers))
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
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let mut p = match payment(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    // The link's own parameters (OTT Pay's `redirect_url`, `selected`); unreadable ones: none.
    let link = query.map(|Query(q)| q).unwrap_or_default();
    let merchant = merchant_of(&s, &p).await;
    let form = cashier_form(&s, &p, merchant.as_ref(), &link);
    // Opening the page is the customer arriving: created -> pending (specs' "cashier opened"),
    // except where the protocol waits for the payment itself (BlockATM).
    let arriving = p.state == PaymentState::Created && !form.stays_created;
    if arriving && p.expires_at > s.engine().clock().now() {
        match s
            .engine()
            .transition_payment(&p.id, PaymentCommand::Open)
            .await
        {
            Ok(opened) => p = opened,
            Err(e) => tracing::warn!(error = %e, "could not open payment"),
        }
    }
    let csrf = csrf_token(&s, &token);
    let view = (csrf.as_str(), &form, &[][..]);
    framable(
        &s,
        &p,
        render(&s, &p, merchant.as_ref(), view, None, Stage::Inputs),
    )
}

/// The payment's merchant, read once per request (the page, the protocol's inputs and the
/// return redirect all need it).
async fn merchant_of(s: &AppState, p: &Payment) -> Option<Merchant> {
    match s.engine().merchant(&p.merchant_id).await {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(error = %e, "cashier: merchant lookup failed");
            None
        }
    }
}

/// The protocol's inputs for an open payment (none once it is final).
fn cashier_form(
    s: &AppState,
    p: &Payment,
    merchant: Option<&Merchant>,
    link: &[(String, String)],
) -> CashierForm {
    match (s.notifier(p.protocol), merchant) {
        (Some(n), Some(m)) if p.state.is_open() => n.cashier_form(p, m, CashierInput(link)),
        _ => CashierForm::default(),
    }
}

/// The page: `view` is the CSRF token, the protocol's form and what the customer entered.
fn render(
    s: &AppState,
    p: &Payment,
    merchant: Option<&Merchant>,
    (csrf, form, entered): (&str, &CashierForm, &[(String, String)]),
    error: Option<&str>,
    stage: Stage,
) -> Html<String> {
    page::cashier(&page::View {
        payment: p,
        merchant: merchant.map_or("", |m| m.name.as_str()),
        now: s.engine().clock().now(),
        sandbox: s.inner.platform.sandbox,
        cashier_url: s.inner.platform.cashier_url(&p.cashier_token),
        csrf,
        form,
        values: CashierInput(entered),
        error,
        stage,
    })
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

/// Pay / Fail / Cancel, and Continue to a verification step (sandbox only). The posted form
/// holds the CSRF token, the link's carried parameters and the protocol's inputs. Every answer
/// about a known payment, refusals included, may be framed where its pages may be.
async fn act(
    State(s): State<AppState>,
    Path((token, action)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !s.inner.platform.sandbox {
        return page::message(
            StatusCode::NOT_FOUND,
            "Not available",
            "Payment actions exist only in the sandbox.",
        );
    }
    let p = match payment(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let posted = form.map(|Form(f)| f).unwrap_or_default();
    let answer = act_on(&s, &p, &action, in_frame(&headers), posted).await;
    framable(&s, &p, answer)
}

async fn act_on(
    s: &AppState,
    p: &Payment,
    action: &str,
    framed: bool,
    mut posted: Vec<(String, String)>,
) -> Response {
    let token = p.cashier_token.as_str();
    let presented = posted
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let csrf = csrf_token(s, token);
    if !csrf_ok(&csrf, &presented) {
        return page::message(
            StatusCode::FORBIDDEN,
            "Session expired",
            "Reload the payment page and try again.",
        );
    }
    posted.retain(|(k, _)| k != "csrf");
    let action = match action {
        "pay" => CashierAction::Pay,
        "fail" => CashierAction::Fail,
        "cancel" => CashierAction::Cancel,
        "continue" => CashierAction::Verify,
        _ => return page::message(StatusCode::NOT_FOUND, "Not found", "Unknown action."),
    };
    let now = s.engine().clock().now();
    // Finished (in another tab, by the merchant) or expired meanwhile: the page says which.
    if !p.state.is_open() || p.expires_at <= now {
        return Redirect::to(&format!("/cashier/{token}")).into_response();
    }
    let merchant = merchant_of(s, p).await;
    let form = cashier_form(s, p, merchant.as_ref(), &posted);
    // Paid, waiting for confirmations: nothing left to press.
    if form.waiting.is_some() {
        return Redirect::to(&format!("/cashier/{token}")).into_response();
    }
    // Inputs the POST left out take the page's pre-filled values.
    for f in &form.fields {
        if let (false, Some(default)) =
            (posted.iter().any(|(k, _)| k == f.name()), f.default_value())
        {
            posted.push((f.name().to_owned(), default.to_owned()));
        }
    }
    let marks = match check(s, p, &form, action, &posted) {
        Ok(marks) => marks,
        Err((stage, message)) => {
            let view = (csrf.as_str(), &form, &posted[..]);
            let page = render(s, p, merchant.as_ref(), view, Some(&message), stage);
            return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
        }
    };
    if let (CashierAction::Pay, Some(ms)) = (action, form.confirm_after_ms) {
        // The transfer is seen; it succeeds once confirmed (the sandbox sweeper), with the
        // transfer's hash the engine records now as its channel reference.
        let seen = s.engine().confirm_payment_later(&p.id, marks, ms).await;
        return acted(s, token, seen, merchant.as_ref(), framed);
    }
    let cmd = match action {
        CashierAction::Pay => PaymentCommand::Succeed {
            channel_order_no: channel_order_no(p.amount.currency, now),
        },
        CashierAction::Fail => PaymentCommand::Fail {
            code: "SANDBOX_FAIL".into(),
            message: "payment failed".into(),
        },
        CashierAction::Cancel => PaymentCommand::Cancel,
        // The first step passed: the verification step comes next.
        CashierAction::Verify => {
            let view = (csrf.as_str(), &form, &posted[..]);
            return render(s, p, merchant.as_ref(), view, None, Stage::Challenge).into_response();
        }
    };
    let done = s
        .engine()
        .transition_payment_marked(&p.id, cmd, marks)
        .await;
    acted(s, token, done, merchant.as_ref(), framed)
}

/// After an action: the return redirect (or outcome page), the page again when the payment
/// moved on meanwhile, or a retry page.
fn acted(
    s: &AppState,
    token: &str,
    done: Result<Payment, EngineError>,
    merchant: Option<&Merchant>,
    framed: bool,
) -> Response {
    match done {
        Ok(done) => finish(s, &done, merchant, framed),
        Err(EngineError::Rule(polypay_core::CoreError::BalanceLimit { .. })) => page::message(
            StatusCode::CONFLICT,
            "Payment not possible",
            "The merchant cannot accept this payment: its balance is at its limit.",
        ),
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

/// The protocol's verdict on the inputs: what to record with the action, or the step to show
/// again and why. With a verification step, the first step's inputs are checked alone first,
/// so a refusal shows the page that has them.
fn check(
    s: &AppState,
    p: &Payment,
    form: &CashierForm,
    action: CashierAction,
    input: &[(String, String)],
) -> Result<CashierMarks, (Stage, String)> {
    let Some(n) = s.notifier(p.protocol) else {
        return Ok(CashierMarks::new());
    };
    let now = s.engine().clock().now();
    let submit = |a| n.cashier_submit(p, a, CashierInput(input), now);
    let stepped = form.challenge.is_some();
    match action {
        CashierAction::Cancel => submit(action).map_err(|e| (Stage::Inputs, e)),
        CashierAction::Verify if !stepped => Err((
            Stage::Inputs,
            "This payment has no verification step.".to_owned(),
        )),
        CashierAction::Verify => submit(action).map_err(|e| (Stage::Inputs, e)),
        CashierAction::Pay | CashierAction::Fail if stepped => {
            submit(CashierAction::Verify).map_err(|e| (Stage::Inputs, e))?;
            submit(action).map_err(|e| (Stage::Challenge, e))
        }
        CashierAction::Pay | CashierAction::Fail => submit(action).map_err(|e| (Stage::Inputs, e)),
    }
}

/// Where an open page sends itself when its time is up (a meta refresh): an order that
/// expired while the customer had the page open ends there too, so the browser goes to the
/// merchant's return URL as after Pay/Fail/Cancel (the specs: "EXPIRED while the page is
/// open"). Not yet due: back to the page.
async fn returned(
    State(s): State<AppState>,
    Path(token): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let framed = in_frame(&headers);
    let p = match payment(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let page = || framable(&s, &p, Redirect::to(&format!("/cashier/{token}")));
    let merchant = merchant_of(&s, &p).await;
    // The link's parameters the page carried here (OTT Pay's `redirect_url`).
    let link = query.map(|Query(q)| q).unwrap_or_default();
    if !p.state.is_open() {
        // It ended before the reload came (the sweeper expired it first, or time travel did):
        // the browser still goes where the link said, as if the reload had come first.
        let p = with_link_return(&s, &p, merchant.as_ref(), &link);
        return finish(&s, &p, merchant.as_ref(), framed);
    }
    let form = cashier_form(&s, &p, merchant.as_ref(), &link);
    // Not due yet, or paid and waiting for confirmations (which outlast the expiry).
    if form.waiting.is_some() || p.expires_at > s.engine().clock().now() {
        return page();
    }
    // What the protocol records when the customer leaves without paying (H5PAY: where the
    // browser goes), from the parameters the link carried; nothing when it carried none.
    let marks = match (s.notifier(p.protocol), form.carried.is_empty()) {
        (Some(n), false) => {
            let input = CashierInput(&form.carried);
            n.cashier_submit(&p, CashierAction::Cancel, input, s.engine().clock().now())
                .unwrap_or_default()
        }
        _ => CashierMarks::new(),
    };
    match s
        .engine()
        .transition_payment_marked(&p.id, PaymentCommand::Expire, marks)
        .await
    {
        Ok(expired) => finish(&s, &expired, merchant.as_ref(), framed),
        // The sweeper (or an action) finished it first: the page says how.
        Err(EngineError::Rule(_)) => page(),
        Err(e) => {
            tracing::error!(error = %e, "cashier expiry failed");
            page()
        }
    }
}

/// A finished payment with no return URL of its own, given the one its page's link carried
/// (H5PAY's `redirect_url`: the protocol's Cancel marks, checked as on the page), in memory
/// only; as it is otherwise.
fn with_link_return(
    s: &AppState,
    p: &Payment,
    merchant: Option<&Merchant>,
    link: &[(String, String)],
) -> Payment {
    let (Some(n), Some(m)) = (s.notifier(p.protocol), merchant) else {
        return p.clone();
    };
    let now = s.engine().clock().now();
    if link.is_empty() || n.redirect_url(p, m, s.engine().clock().wall()).is_some() {
        return p.clone();
    }
    let marks = n
        .cashier_submit(p, CashierAction::Cancel, CashierInput(link), now)
        .unwrap_or_default();
    let mut p = p.clone();
    match p.attrs.as_object_mut() {
        Some(attrs) => attrs.extend(marks),
        None => p.attrs = serde_json::Value::Object(marks),
    }
    p
}

/// After an action: to the merchant's return URL in the protocol's format (HTTP 302), or the
/// outcome page.
fn finish(s: &AppState, p: &Payment, merchant: Option<&Merchant>, framed: bool) -> Response {
    let target = match (s.notifier(p.protocol), merchant) {
        (Some(n), Some(m)) => n.redirect_url(p, m, s.engine().clock().wall()),
        _ => None,
    };
    // The specs' return redirects are 302s (a browser follows them with a GET after the form
    // POST, as it does a 303); a URL that cannot be a header value shows the outcome page.
    // In BlockATM's widget frame the merchant's page hears the outcome first (its `finish` or
    // `cancel`), then the frame goes where a redirect would send it.
    let message = s.notifier(p.protocol).and_then(|n| n.frame_message(p));
    if let (true, Some(message)) = (framed, message) {
        let own = format!("/cashier/{}", p.cashier_token);
        let to = target
            .as_deref()
            .filter(|u| page::navigable(u))
            .unwrap_or(&own);
        return framable(s, p, page::hand_off(&message, to));
    }
    let response = match target.and_then(|url| HeaderValue::try_from(url).ok()) {
        Some(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        None => Redirect::to(&format!("/cashier/{}", p.cashier_token)).into_response(),
    };
    framable(s, p, response)
}

/// Whether the browser loads this into a frame (`Sec-Fetch-Dest: iframe`).
fn in_frame(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-dest")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"iframe"))
}

/// The key of the pages' CSRF tokens: SHA-256 of a label and the platform's EC private key,
/// so the same on every node of an installation (computed once, [`AppState::new`]).
pub(crate) fn csrf_key(platform: &polypay_engine::Platform) -> aws_lc_rs::hmac::Key {
    use aws_lc_rs::{digest, hmac};
    let mut seed = b"polypay cashier csrf\0".to_vec();
    seed.extend_from_slice(platform.ec_key.private_pem.as_bytes());
    let derived = digest::digest(&digest::SHA256, &seed);
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

/// The page's CSRF token: HMAC-SHA256 of its cashier token under [`csrf_key`], 32 hex digits.
/// A cross-site form cannot know it; the page carries it in its forms.
fn csrf_token(s: &AppState, token: &str) -> String {
    let tag = aws_lc_rs::hmac::sign(&s.inner.cashier_csrf_key, token.as_bytes());
    tag.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The form's token is the page's (constant time).
fn csrf_ok(expected: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    expected.len() == presented.len() && bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
}

/// Marks a page of a protocol whose cashier the merchant's page frames (BlockATM's widget,
/// [`polypay_notify::ProtocolNotifier::framed_by_merchant`]) as one it may frame ([`headers`]).
fn framable(s: &AppState, p: &Payment, page: impl IntoResponse) -> Response {
    let mut response = page.into_response();
    if s.notifier(p.protocol)
        .is_some_and(|n| n.framed_by_merchant())
    {
        response.extensions_mut().insert(Framable);
    }
    response
}

/// A response a frame on another site may show.
#[derive(Clone, Copy)]
struct Framable;

/// Headers of every cashier answer: never cached (it shows an order's state and what the
/// customer typed), never sniffed, no referrer (the URL is the payment's capability), and not
/// framed (clickjacking) unless [`Framable`].
async fn headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let framable = response.extensions().get::<Framable>().is_some();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::middleware::page_headers(h, "no-referrer", framable);
    response
}
