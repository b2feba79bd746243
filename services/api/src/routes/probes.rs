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

/// Ready when the database answers, and for the ingest target also the broker. The API and the
/// reporter stay ready during a broker outage (the dashboard is needed most then) and say the
/// broker is down. Both are read from the last looks (every 5 s): a probe costs neither
/// anything.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready: the database answers (and, for ingest, the broker)", body = Readiness),
    (status = 503, description = "Not ready", body = Readiness)))]
pub async fn readyz(State(state): Shared) -> Response {
    let (ready, database, broker) = state.readiness();
    let status = if ready {
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

/// The metrics, in the OpenMetrics text format. The gauges read from the broker and the
/// database are those of the last looks (every 5 s, and every 30 s for the database's), so a
/// scrape costs neither anything.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "OpenMetrics text", body = String,
               content_type = "application/openmetrics-text")))]
pub async fn metrics(State(state): Shared) -> Response {
    state.readiness();
    state.export_shared_gauges();
    let text = metrics::global().encode();
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}
