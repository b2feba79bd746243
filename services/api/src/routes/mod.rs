//! The HTTP routes of SPEC §10 and the dashboard's own, by resource; each module has its own
//! `router()`, and each handler is documented for `/api/openapi.json` by its
//! `#[utoipa::path]`. A handler parses its request, makes one call into the reporter or the
//! store, and answers.
//!
//! - [`probes`]: `/healthz`, `/readyz`, `/metrics`, open without the token.
//! - [`units`]: the units, their indicators, the live stream and the trend.
//! - [`items`]: the items behind each figure, a page, CSV or a workbook.
//! - [`reports`]: reports as sent or drafted, and sending.
//! - [`narrative`]: a period's narrative paragraphs, read and edited.
//! - [`pipeline`]: dead letters and the pipeline's health.
//! - [`overview`]: the department's view: every unit's key figures and report for a period.
//! - [`audit`]: the audit list of edits, sends and corrections, and who is asking.
//! - [`sync`]: `POST /sync/dvcqg` and `/sync/edxml`, the upstream systems' own formats, with their sources' tokens.

pub mod audit;
pub mod items;
pub mod narrative;
pub mod overview;
pub mod pipeline;
pub mod probes;
pub mod reports;
pub mod sync;
pub mod units;

use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::Period;
use domain::profile::UnitProfile;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The state handlers extract.
type Shared = axum::extract::State<Arc<AppState>>;

/// Every guarded route (everything under `/api`).
pub fn guarded() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .merge(units::router())
        .merge(items::router())
        .merge(reports::router())
        .merge(narrative::router())
        .merge(pipeline::router())
        .merge(overview::router())
        .merge(audit::router())
}

/// An error as the API answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
    /// A stable code for a script, when the outcome has one (`already_sent`, `window_open`,
    /// `stale_revision`, `no_events`, `not_started`, `items_not_kept`, `narrative_refused`, `signing_unavailable`,
    /// `forbidden`, `no_role`,
    /// `streams_per_client`, `streams_total`, `connections_full`, `body_timeout`,
    /// `body_too_large`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

/// A JSON error response.
pub fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::new(status, message).into_response()
}

/// A failed request: a status, a message and perhaps a code.
pub struct ApiError {
    status: StatusCode,
    message: String,
    code: Option<&'static str>,
    /// Seconds for a `Retry-After` header (a refusal that passes).
    retry_after: Option<u32>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            code: None,
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// Tells the client to try again after `seconds`.
    pub(crate) fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl From<anyhow::Error> for ApiError {
    /// The whole error goes to the log; the client learns only what kind of failure it was.
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "request failed");
        if store::db::is_unavailable(&error) {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; try again shortly",
            )
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed; the server's log says why",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.message,
            code: self.code,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Answers axum's own refusals (a query or path its extractors cannot read, sent as plain
/// text) as every other error is answered: the JSON [`ErrorBody`].
pub(crate) async fn json_rejections(response: Response) -> Response {
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !response.status().is_client_error() || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    ApiError::new(parts.status, text).into_response()
}

impl AppState {
    /// The configured unit `code`, or 404.
    fn profile(&self, code: &str) -> ApiResult<&UnitProfile> {
        self.config
            .reports
            .unit(code)
            .ok_or_else(|| ApiError::not_found(format!("unit '{code}' is not configured")))
    }

    fn open_period(&self) -> Period {
        Period::containing(Utc::now(), self.config.reports.tz)
    }
}

/// A period from a path or query, or 400.
fn parse_period(text: &str) -> ApiResult<Period> {
    text.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "'{text}' is not a period: write YYYY-MM, e.g. 2026-05"
        ))
    })
}

/// `period` if its window has started, else 422 (`not_started`): a well-formed period the
/// calendar has not reached.
fn started(state: &AppState, period: Period) -> ApiResult<Period> {
    let start = period.window(state.config.reports.tz).start();
    if start.to_utc() > Utc::now() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("period {period} has not started yet (its window opens {start})"),
        )
        .with_code("not_started"));
    }
    Ok(period)
}

/// `value` if it lies within `range`, else 400 naming `name`.
fn within<T: PartialOrd + std::fmt::Display>(
    name: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> ApiResult<T> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::bad_request(format!(
            "{name} must be {} to {}, not {value}",
            range.start(),
            range.end()
        )))
    }
}

/// A JSON request body of type `T`, or 400 saying why not (an empty body is `T`'s default
/// when `T` has one).
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("not {what}: {e}")))
}
