//! Probes and metrics, open without the token: every target serves them.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Shared;
use crate::AppState;

/// `/healthz`, `/readyz` and `/metrics`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = String)))]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether the database and the broker answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// "ok", "starting" (not yet migrated) or "unavailable".
    pub database: String,
    /// "ok" or "unavailable" (not answering in the last 20 s).
    pub broker: String,
}

/// Ready when the database and the broker both answer.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Both answer", body = Readiness),
    (status = 503, description = "One does not", body = Readiness)))]
pub async fn readyz(State(state): Shared) -> Response {
    let database = state.database_readiness().await;
    let broker = if state.queues.ready().is_ok() {
        "ok"
    } else {
        "unavailable"
    };
    let status = if database == "ok" && broker == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        database: database.to_owned(),
        broker: broker.to_owned(),
    };
    (status, Json(body)).into_response()
}

/// The metrics, in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "OpenMetrics text", body = String,
               content_type = "application/openmetrics-text")))]
pub async fn metrics(State(state): Shared) -> Response {
    state.export_shared_gauges().await;
    let text = metrics::global().encode();
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
