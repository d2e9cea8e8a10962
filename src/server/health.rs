//! Liveness, readiness and metrics endpoints for orchestrators and Prometheus.

use super::AppState;
use crate::error::{ApiError, ErrorCode};
use axum::{Json, extract::State, http::header, response::IntoResponse};
use serde_json::{Value, json};
use std::time::Duration;

/// How long `/readyz` waits for the database before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The database answers. Pools reconnect on their own, so this recovers without a restart.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.db.ping()).await {
        Ok(Ok(())) => Ok(Json(
            json!({ "status": "ready", "database": state.db.backend() }),
        )),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            Err(ApiError::new(ErrorCode::ServiceUnavailable))
        }
        Err(_) => {
            tracing::warn!("readiness check: database did not answer in time");
            Err(ApiError::new(ErrorCode::ServiceUnavailable))
        }
    }
}

/// Prometheus text exposition.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
