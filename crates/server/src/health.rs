//! `/healthz` (alive, mode, backend, version and schema), `/readyz` (the database answers) and `/metrics` (Prometheus).

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

pub async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    Json(serde_json::json!({
        "status": "ok",
        "mode": s.mode().as_str(),
        "backend": s.engine().store().backend().kind(),
        "version": env!("CARGO_PKG_VERSION"),
        // The last migration this node knows (see README, "Upgrading").
        "schema": polypay_store::schema_version(),
    }))
}

pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.engine().store().read(|db| db.count_payments()).await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unavailable"})),
            )
        }
    }
}

pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let body = s
        .inner
        .metrics
        .as_ref()
        .map(|h| h.render())
        .unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], body)
}
