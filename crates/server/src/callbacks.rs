//! The admin API of merchant callbacks under `/admin/v1/callbacks`, behind the admin token:
//! list deliveries (filter by merchant, payment, state), show one with its attempts, re-send one.

use crate::admin::error;
use crate::audit::Operator;
use crate::state::AppState;
use axum::Extension;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use polypay_notify::{NotifyError, operator};
use polypay_store::DeliveryFilter;
use serde::Deserialize;
use serde_json::json;

pub fn router(state: AppState) -> Router<AppState> {
    let routes = Router::new()
        .route("/admin/v1/callbacks", get(list))
        .route("/admin/v1/callbacks/{id}", get(show))
        .route("/admin/v1/callbacks/{id}/resend", post(resend));
    crate::admin::guarded(routes, state)
}

/// `GET /admin/v1/callbacks`'s parameters; one it does not know, or an empty one, is a 400
/// naming it, never an unfiltered list.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    merchant: Option<String>,
    payment: Option<String>,
    state: Option<String>,
    limit: Option<String>,
    /// The `next_cursor` of the page before: deliveries with a smaller id.
    cursor: Option<String>,
    /// The same as `cursor` (the name earlier versions took).
    before: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<DeliveryFilter, String> {
        use crate::lists::given;
        let (state, attempted) = match given("state", &self.state)? {
            None => (None, false),
            Some(text) => operator::state_named(text)
                .map(|(state, attempted)| (Some(state), attempted))
                .ok_or(format!("state must be {}", operator::STATE_NAMES))?,
        };
        let limit = match given("limit", &self.limit)? {
            None => 100,
            Some(text) => text
                .parse()
                .ok()
                .filter(|n| (1..=operator::MAX_LIST).contains(n))
                .ok_or(format!("limit must be from 1 to {}", operator::MAX_LIST))?,
        };
        let cursor = match (
            given("cursor", &self.cursor)?,
            given("before", &self.before)?,
        ) {
            (Some(_), Some(_)) => return Err("give cursor or before, not both".into()),
            (Some(text), None) | (None, Some(text)) => Some(
                text.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0 && id.to_string() == text)
                    .ok_or("cursor must be the next_cursor of the page before")?,
            ),
            (None, None) => None,
        };
        Ok(DeliveryFilter {
            merchant_id: crate::lists::merchant_param(&self.merchant)?,
            payment: given("payment", &self.payment)?.map(str::to_owned),
            state,
            attempted,
            before_id: cursor,
            limit,
        })
    }
}

fn notify_error(e: NotifyError) -> Response {
    match e {
        NotifyError::NotFound(_) => error(StatusCode::NOT_FOUND, "callback not found"),
        NotifyError::NotSendable(..) => error(StatusCode::CONFLICT, &e.to_string()),
        NotifyError::Encode(_) => error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
        other => {
            tracing::error!(error = %other, "admin callbacks request failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

async fn list(
    State(s): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    let filter = match crate::lists::checked(query, ListQuery::filter) {
        Ok(f) => f,
        Err(why) => return error(StatusCode::BAD_REQUEST, &why),
    };
    let merchant = filter.merchant_id.clone();
    match operator::deliveries_page(s.engine(), filter).await {
        Ok(Some((list, more))) => {
            let callbacks: Vec<_> = list.iter().map(operator::delivery_summary_json).collect();
            let next = list.last().filter(|_| more).map(|d| d.id.to_string());
            Json(json!({ "callbacks": callbacks, "next_cursor": next })).into_response()
        }
        Ok(None) => {
            let m = merchant.map(|m| m.0).unwrap_or_default();
            error(StatusCode::BAD_REQUEST, &format!("no merchant {m}"))
        }
        Err(e) => notify_error(e),
    }
}

async fn show(State(s): State<AppState>, id: Result<Path<i64>, PathRejection>) -> Response {
    let Ok(Path(id)) = id else {
        return error(StatusCode::NOT_FOUND, "callback not found");
    };
    match operator::delivery_with_attempts(s.engine(), id).await {
        Ok(detail) => Json(operator::delivery_detail_json(&detail)).into_response(),
        Err(e) => notify_error(e),
    }
}

/// Makes the callback due now with a fresh schedule; the dispatcher sends it on its next tick.
async fn resend(
    State(s): State<AppState>,
    Extension(op): Extension<Operator>,
    id: Result<Path<i64>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return error(StatusCode::NOT_FOUND, "callback not found");
    };
    match resend_audited(s.engine(), &s.inner.notifiers, &op, id).await {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "state": "pending", "resend": "queued"})),
        )
            .into_response(),
        Err(e) => notify_error(e),
    }
}

/// Resends callback `id` ([`operator::resend`]), its write recorded in the audit log with the
/// callback's merchant and event.
pub async fn resend_audited(
    engine: &polypay_engine::Engine,
    notifiers: &[std::sync::Arc<dyn polypay_notify::ProtocolNotifier>],
    op: &Operator,
    id: i64,
) -> Result<(), polypay_notify::NotifyError> {
    let found = engine.store().read(move |db| db.delivery(id)).await?;
    let Some(d) = found else {
        return Err(polypay_notify::NotifyError::NotFound(id));
    };
    let audited = op.engine(
        engine,
        "callback.resend",
        ("callback", &id.to_string()),
        Some(&d.merchant_id),
        json!({"event": d.event, "object_id": d.object_id}),
    );
    operator::resend(&audited, notifiers, id).await
}

/// How often the dispatcher looks for due callbacks.
pub const DISPATCH_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// This node's callback dispatcher, configured from the server configuration.
pub fn dispatcher(state: &AppState) -> polypay_notify::Dispatcher {
    let c = state.config();
    let config = polypay_notify::DispatchConfig {
        concurrency: c.callback_concurrency,
        timeout_cap: c.callback_timeout_ms.map(std::time::Duration::from_millis),
        allow_private: c.allow_private_callbacks,
        node_id: state.inner.node_id.clone(),
        lease_ms: 60_000,
        // One cycle per writer: a second cycle's statements run beside the first's.
        cycles: state.engine().store().writers(),
    };
    tracing::info!(
        node = %config.node_id,
        concurrency = config.concurrency,
        cycles = config.cycles,
        timeout_cap_ms = c.callback_timeout_ms,
        allow_private = config.allow_private,
        "callback dispatcher started"
    );
    polypay_notify::Dispatcher::new(
        state.engine().clone(),
        state.inner.notifiers.clone(),
        config,
    )
}
