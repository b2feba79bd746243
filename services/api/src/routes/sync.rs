//! `POST /sync/dvcqg` (SPEC §3.5): the one-stop system's dossier sync, as it already sends it to
//! the National Public Service Portal, with baocao as a second target. A machine route: its
//! source's bearer token (not the admin's), its own body limit and content type, no same-origin
//! rule. The body is read within [`SYNC_BODY_TIMEOUT`], checked as an envelope, split into
//! messages the parser takes and published to the portal's exchange; the answer (in the sync's
//! own shape, `error_code` 0) comes only once the broker has confirmed every part. Ingest then
//! reads the records like any message. `POST /sync/edxml`, the e-office system's packages, is
//! in [`edxml`].

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use broker::{OutgoingMessage, SOURCE_HEADER, text_headers};
use domain::dvcqg::{self, Service};
use domain::feeds::Dialect;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Shared;
use crate::AppState;
use crate::sources;

/// The largest sync body accepted.
pub const MAX_SYNC_BODY_BYTES: usize = 32 * 1024 * 1024;

/// How long a sync body may take to arrive: 32 MiB at about 280 KiB/s.
pub const SYNC_BODY_TIMEOUT: Duration = Duration::from_secs(120);

/// The largest message published: under the parser's 1 MiB, with room for the headers.
const MAX_MESSAGE_BYTES: usize = domain::parse::MAX_BODY_BYTES - 16 * 1024;

pub mod edxml;

/// `/sync/dvcqg` and `/sync/edxml`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(dvcqg))
        .routes(routes!(edxml::edxml))
}

/// The answer, in the shape the sync expects of the portal.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncAnswer {
    /// 0 when every record was accepted (published and confirmed), -1 otherwise.
    pub error_code: i32,
    /// What happened.
    pub message: String,
}

fn answer(status: StatusCode, error_code: i32, message: impl Into<String>) -> Response {
    let message = message.into();
    (
        status,
        Json(SyncAnswer {
            error_code,
            message,
        }),
    )
        .into_response()
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    answer(status, -1, message)
}

/// 401, with the challenge.
fn unauthorized() -> Response {
    let mut response = refused(
        StatusCode::UNAUTHORIZED,
        "a configured source's token is required (Authorization: Bearer …)",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Receives a `DongBoHoSoMC` body (or a `CapNhatTienDoHoSoMC` progress log, accepted and not
/// counted) from a configured source.
#[utoipa::path(post, path = "/sync/dvcqg", tag = "sync",
    security(("bearer" = [])),
    request_body(content = Object, content_type = "application/json",
        description = "A DVCQG sync body: `service`, `madonvi`, `data` (proto/dvcqg/)"),
    responses(
        (status = 200, description = "Every record published and confirmed", body = SyncAnswer),
        (status = 400, description = "The envelope cannot be used: not JSON, no `data` array, an unknown `service`, a `madonvi` that is no unit's agency code", body = SyncAnswer),
        (status = 401, description = "No token, or not a source's that may send this format", body = SyncAnswer),
        (status = 408, description = "The body did not arrive in time", body = SyncAnswer),
        (status = 413, description = "The body is over 32 MiB", body = SyncAnswer),
        (status = 415, description = "Not `application/json`", body = SyncAnswer),
        (status = 503, description = "The broker is unavailable; send again", body = SyncAnswer)))]
pub async fn dvcqg(State(state): Shared, headers: HeaderMap, body: Body) -> Response {
    let presented = crate::auth::bearer(&headers).unwrap_or_default();
    let Some(source) = sources::find(&state.config.sources, Dialect::Dvcqg, presented) else {
        return unauthorized();
    };
    if !is_json(&headers) {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be application/json",
        );
    }
    let bytes = match read(body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(error) => return refused(StatusCode::BAD_REQUEST, format!("not JSON: {error}")),
    };
    let body = match dvcqg::read_envelope(value, &state.config.known_units) {
        Ok(body) => body,
        Err(rejection) => return refused(StatusCode::BAD_REQUEST, rejection.to_string()),
    };
    publish(&state, &source.name, &body).await
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The whole body, within the time and size limits.
async fn read(body: Body) -> Result<axum::body::Bytes, Response> {
    let reading = axum::body::to_bytes(body, MAX_SYNC_BODY_BYTES);
    match tokio::time::timeout(SYNC_BODY_TIMEOUT, reading).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body could not be read whole: at most 32 MiB is accepted",
        )),
        Err(_) => Err(refused(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the body did not arrive within {} s",
                SYNC_BODY_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Publishes the body as messages of at most [`MAX_MESSAGE_BYTES`] each, named for `source`.
async fn publish(state: &AppState, source: &str, body: &dvcqg::SyncBody) -> Response {
    let routing_key = match body.service {
        Service::Sync => format!("{}{}", dvcqg::ROUTING_PREFIX, dvcqg::SYNC_SERVICE),
        Service::Progress => format!("{}{}", dvcqg::ROUTING_PREFIX, dvcqg::PROGRESS_SERVICE),
    };
    let parts = body.split(MAX_MESSAGE_BYTES);
    let headers = text_headers(&[(SOURCE_HEADER, source)]);
    let messages = parts
        .iter()
        .map(|part| OutgoingMessage {
            exchange: &state.config.topology.portal_exchange,
            routing_key: &routing_key,
            body: part,
            headers: Some(headers.clone()),
        })
        .collect();
    match state
        .sync_publisher
        .publish(&state.config.topology, messages)
        .await
    {
        Ok(()) => answer(
            StatusCode::OK,
            0,
            format!(
                "accepted {} records in {} messages",
                body.records.len(),
                parts.len()
            ),
        ),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), %source, "cannot publish a sync body");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the broker is unavailable; send the body again",
            )
        }
    }
}
