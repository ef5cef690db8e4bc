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
use polypay_core::MerchantId;
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

#[derive(Deserialize)]
struct ListQuery {
    merchant: Option<String>,
    payment: Option<String>,
    state: Option<String>,
    limit: Option<i64>,
    /// Paging: only deliveries with a smaller id.
    before: Option<i64>,
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
    let Ok(Query(q)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "query: merchant, payment, state, limit, before",
        );
    };
    let (state, attempted) = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => (None, false),
        Some(text) => match operator::state_named(text) {
            Some((state, attempted)) => (Some(state), attempted),
            None => {
                let why = format!("state must be {}", operator::STATE_NAMES);
                return error(StatusCode::BAD_REQUEST, &why);
            }
        },
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=operator::MAX_LIST).contains(&limit) {
        let why = format!("limit must be from 1 to {}", operator::MAX_LIST);
        return error(StatusCode::BAD_REQUEST, &why);
    }
    let filter = DeliveryFilter {
        merchant_id: q.merchant.filter(|m| !m.is_empty()).map(MerchantId),
        payment: q.payment.filter(|p| !p.is_empty()),
        state,
        attempted,
        before_id: q.before,
        limit,
    };
    match operator::list_deliveries(s.engine(), filter).await {
        Ok(list) => {
            let callbacks: Vec<_> = list.iter().map(operator::delivery_summary_json).collect();
            Json(json!({ "callbacks": callbacks })).into_response()
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
