//! The operator console at `/console`: server-rendered pages to see and act on merchants,
//! payments, payouts, refunds, callbacks and balances, the sandbox controls, and the signature
//! debugger.
//!
//! Sign-in takes the admin token and opens a session ([`session`]); every state-changing form
//! carries the session's CSRF token. Reads go through the engine's store and the notifier's
//! operator API; actions enter the engine as commands, like every other entry point.

mod audit;
mod balances;
mod callbacks;
mod filters;
mod layout;
mod merchants;
mod payments;
mod payouts;
mod sandbox;
mod session;
mod settle;
pub(crate) mod signature;
mod timeline;

use crate::state::AppState;
use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::routing::{get, post};
use layout::{Frame, escape};
use polypay_core::Merchant;
use polypay_engine::EngineError;
use polypay_store::console::Listing;
use session::{Session, Sessions};
use std::sync::Arc;

/// The console's state: the app's, plus this node's sessions.
#[derive(Clone)]
pub struct Console {
    app: AppState,
    sessions: Arc<Sessions>,
}

impl Console {
    fn frame<'a>(&self, session: &'a Session, active: &'a str) -> Frame<'a> {
        Frame {
            session,
            active,
            sandbox: self.app.inner.platform.sandbox,
        }
    }

    /// Every merchant (for names and filter choices); empty if the store cannot answer.
    async fn merchants(&self) -> Vec<Merchant> {
        self.app.engine().merchants().await.unwrap_or_default()
    }
}

/// The console's routes, to merge into the app router.
pub fn router(state: AppState) -> Router<AppState> {
    let console = Console {
        app: state,
        sessions: Arc::new(Sessions::default()),
    };
    let signed_in = Router::new()
        .route("/console", get(overview))
        .route(
            "/console/merchants",
            get(merchants::list).post(merchants::create),
        )
        .route("/console/merchants/{id}", get(merchants::show))
        .route("/console/merchants/{id}/rotate", post(merchants::rotate))
        .route("/console/merchants/{id}/profile", post(merchants::profile))
        .route("/console/merchants/{id}/ledger", get(merchants::statement))
        .route("/console/payments", get(payments::list))
        .route("/console/payments/{id}", get(payments::show))
        .route(
            "/console/payments/{id}/{action}",
            post(sandbox::payment_action),
        )
        .route("/console/payments/{id}/settle", post(settle::payment))
        .route("/console/payouts", get(payouts::list))
        .route("/console/payouts/{id}", get(payouts::show))
        .route(
            "/console/payouts/{id}/{action}",
            post(sandbox::payout_action),
        )
        .route("/console/payouts/{id}/settle", post(settle::payout))
        .route("/console/refunds", get(payouts::refunds))
        .route("/console/callbacks", get(callbacks::list))
        .route("/console/callbacks/{id}", get(callbacks::show))
        .route("/console/callbacks/{id}/resend", post(callbacks::resend))
        .route("/console/balances", get(balances::page))
        .route("/console/audit", get(audit::page))
        .route("/console/sandbox", get(sandbox::page))
        .route("/console/sandbox/clock", post(sandbox::advance))
        .route(
            "/console/signature",
            get(signature::page).post(signature::debug),
        )
        .route("/console/logout", post(session::logout))
        .route_layer(from_fn_with_state(console.clone(), session::require));
    Router::new()
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .merge(signed_in)
        .layer(axum::middleware::from_fn(headers))
        .with_state(console)
}

/// Headers of every console answer: an operator's pages are not framed by anyone (its forms
/// rotate secrets and settle orders: clickjacking), not cached, not sniffed, and no console
/// URL leaves as a referrer.
async fn headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::{HeaderValue, header};
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    crate::middleware::page_headers(h, "same-origin", false);
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// An engine failure as a page: not found, refused by a rule, malformed, or an internal error
/// (logged).
fn engine_error(e: EngineError) -> Response {
    match e {
        EngineError::NotFound(what) => layout::message(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("No such {what}."),
        ),
        EngineError::Rule(rule) => {
            layout::message(StatusCode::CONFLICT, "Not allowed", &rule.to_string())
        }
        EngineError::Invalid(why) => layout::message(StatusCode::BAD_REQUEST, "Not done", &why),
        other => {
            tracing::error!(error = %other, "console request failed");
            layout::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The request failed; the server log has the details.",
            )
        }
    }
}

/// A merchant's name by id, for tables.
fn merchant_name<'a>(merchants: &'a [Merchant], id: &polypay_core::MerchantId) -> &'a str {
    merchants
        .iter()
        .find(|m| &m.id == id)
        .map_or("", |m| m.name.as_str())
}

fn counts_card(title: &str, path: &str, counts: &[(String, i64)]) -> String {
    let total: i64 = counts.iter().map(|(_, n)| n).sum();
    let rows: String = counts
        .iter()
        .map(|(state, n)| {
            format!(
                "<tr><td><a href=\"{path}?state={0}\">{1}</a></td><td class=\"num\">{n}</td></tr>",
                layout::url_encode(state),
                layout::badge(state)
            )
        })
        .collect();
    format!(
        "<div class=\"card\"><h2><a href=\"{path}\">{}</a> <span class=\"muted\">{total}</span></h2><table>{rows}</table></div>",
        escape(title)
    )
}

/// `GET /console`: counts by state, the callback queue and the clock.
async fn overview(State(c): State<Console>, Extension(s): Extension<Session>) -> Response {
    let counts = c
        .app
        .engine()
        .store()
        .read(|db| {
            Ok::<_, EngineError>([
                db.console_state_counts(Listing::Payments)?,
                db.console_state_counts(Listing::Payouts)?,
                db.console_state_counts(Listing::Refunds)?,
            ])
        })
        .await;
    let [payments, payouts, refunds] = match counts {
        Ok(c) => c,
        Err(e) => return engine_error(e),
    };
    let body = format!(
        "<div class=\"grid\">{}{}{}{}</div><p class=\"muted\">Server time {} ({} mode).</p>",
        counts_card("Payments", "/console/payments", &payments),
        counts_card("Payouts", "/console/payouts", &payouts),
        counts_card("Refunds", "/console/refunds", &refunds),
        callbacks::queue_card(&c).await,
        layout::time(c.app.engine().clock().now()),
        c.app.mode().as_str(),
    );
    layout::page(&c.frame(&s, "/console"), "Overview", &body)
}
