//! The configured units and summaries, their figures, the open window's live stream and the
//! trend chart. Every route takes a summary's code like a unit's.

use std::sync::Arc;

use axum::Json;
use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::Indicators;
use domain::indicators::{SummaryIndicators, WindowBounds};
use reporter::certificates::Signing;
use reporter::figures::Figures;
use reporter::trend::TrendPoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, ErrorBody, Shared, parse_period, started, within};
use crate::AppState;
use crate::access::Who;
use crate::streams::{Client, StreamRefused};

/// `/api/units`, `…/indicators`, `…/stream`, `…/trend`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(units))
        .routes(routes!(indicators))
        .routes(routes!(stream))
        .routes(routes!(trend))
}

/// A configured unit or summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitSummary {
    /// The code events carry (a summary's: the code its reports are filed under).
    pub code: String,
    /// How the unit names itself, e.g. "UBND phường Trí Quả".
    pub name: String,
    /// `unit`, or `summary` for a `[[summary]]`.
    pub kind: IssuerKind,
    /// A summary's members' codes, in its table's order (absent for a unit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    /// The open window's period.
    pub open_period: String,
    /// The open window.
    pub window: WindowBounds,
    /// The period whose window closed last.
    pub last_closed_period: String,
    /// The unit's signing certificate (null: its reports are not signed).
    pub certificate: Option<CertificateView>,
}

/// What issues a report: a unit, or a summary of units.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IssuerKind {
    /// A ward, commune or special zone (`[[unit]]`).
    Unit,
    /// A roll-up of units (`[[summary]]`).
    Summary,
}

/// A unit's signing certificate, as this process last read it.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CertificateView {
    /// The organisation the certificate names, as the visible signature shows it (null: it
    /// cannot be used).
    pub organisation: Option<String>,
    /// Its subject.
    pub subject: Option<String>,
    /// When it ends.
    pub not_after: Option<DateTime<Utc>>,
    /// It ends within 30 days: a new one is needed.
    pub expires_soon: bool,
    /// Why it cannot be used (naming the unit, never the password): the unit's reports are
    /// held until it is mended. Null when it works.
    pub unavailable: Option<String>,
}

impl CertificateView {
    /// The view of `signing` for a unit named `name`; `None` for a unit that does not sign.
    fn of(signing: Signing, name: &str, now: DateTime<Utc>) -> Option<Self> {
        match signing {
            Signing::Unsigned => None,
            Signing::Ready(signer) => Some(Self {
                organisation: Some(signer.organisation(name)),
                subject: Some(signer.info.subject.clone()),
                not_after: Some(signer.info.not_after),
                expires_soon: signer.expires_soon(now),
                unavailable: None,
            }),
            Signing::Unavailable(cause) => Some(Self {
                unavailable: Some(cause),
                ..Self::default()
            }),
        }
    }
}

/// The configured units, then the summaries (for a person, those their roles let them see).
#[utoipa::path(get, path = "/api/units", tag = "live", security(("bearer" = [])),
    responses((status = 200, body = Vec<UnitSummary>)))]
pub async fn units(State(state): Shared, Extension(who): Extension<Who>) -> Json<Vec<UnitSummary>> {
    let open = state.open_period();
    let reports = &state.config.reports;
    let window = WindowBounds::of(&open.window(reports.tz));
    let now = Utc::now();
    let summary = |p: &domain::profile::UnitProfile| UnitSummary {
        code: p.code.to_string(),
        name: p.short_name.clone(),
        kind: if reports.is_summary(p.code.as_str()) {
            IssuerKind::Summary
        } else {
            IssuerKind::Unit
        },
        members: reports
            .job(p)
            .members
            .map(|codes| codes.iter().map(ToString::to_string).collect()),
        open_period: open.to_string(),
        window: window.clone(),
        last_closed_period: open.previous().to_string(),
        certificate: CertificateView::of(
            reports.certificates.signing(p.code.as_str(), now),
            &p.short_name,
            now,
        ),
    };
    // A person sees the units their roles name.
    let visible = reports.issuers().filter(|p| who.may_read(p.code.as_str()));
    Json(visible.map(summary).collect())
}

/// Which period.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// YYYY-MM; the open window without it.
    pub period: Option<String>,
}

/// A unit's indicators document (SPEC §5), or a summary's (§12).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FiguresDocument {
    /// A unit's.
    Unit(Indicators),
    /// A summary's: its members', their total and how many had reported.
    Summary(SummaryIndicators),
}

/// The indicators document of SPEC §5 for a period (the open window without `period`); for a
/// summary, its document of SPEC §12.
#[utoipa::path(get, path = "/api/units/{unit}/indicators", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit or summary code"), PeriodQuery),
    responses((status = 200, body = FiguresDocument),
               (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
               (status = 422, description = "The period has not started (`not_started`)", body = ErrorBody)))]
pub async fn indicators(
    State(state): Shared,
    Path(unit): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<Json<FiguresDocument>> {
    let job = state.config.reports.job(state.profile(&unit)?);
    let period = match query.period {
        Some(text) => started(&state, parse_period(&text)?)?,
        None => state.open_period(),
    };
    let figures = Figures::read(&state.pool, &job, period, Utc::now()).await?;
    Ok(Json(match figures {
        Figures::Unit(own) => FiguresDocument::Unit(own),
        Figures::Summary { document } => FiguresDocument::Summary(document),
    }))
}

/// One Server-Sent Event of a live stream.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamEvent {
    /// The open window's indicators document (SPEC §5; a summary's of SPEC §12), as JSON text.
    #[schema(content_media_type = "application/json")]
    pub data: String,
    /// Its id, to send back as `Last-Event-ID` when reconnecting.
    pub id: Option<String>,
    /// How long to wait before reconnecting, in milliseconds (on the first event).
    pub retry: Option<u64>,
    /// The event's type (always the default, `message`).
    pub event: Option<String>,
}

/// Server-Sent Events: each event's data is the open window's indicators document, sent when
/// the stream opens and on every change, within a second of the commit. A reconnecting client
/// that sends `Last-Event-ID` of the current document is not sent it again. One client (a
/// signed-in person, else a peer address) may hold a few streams open, and the server a few hundred (`[http]`
/// `sse_per_client`, `sse_total`).
#[utoipa::path(get, path = "/api/units/{unit}/stream", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("Last-Event-ID" = Option<String>, Header, description = "The last event received")),
    responses((status = 200, description = "An event stream of indicators documents",
               content_type = "text/event-stream", body = StreamEvent),
              (status = 404, body = ErrorBody),
              (status = 429, description = "This client holds its most streams (`streams_per_client`); `Retry-After` says when to try again", body = ErrorBody),
              (status = 503, description = "The server holds its most streams (`streams_total`)", body = ErrorBody)))]
pub async fn stream(
    State(state): Shared,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(who): Extension<Who>,
    Path(unit): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    state.profile(&unit)?;
    // A signed-in person is the client wherever they connect from.
    let client = match who {
        Who::Person { subject, .. } => Client::Person(subject),
        Who::Admin => Client::from(peer.ip()),
    };
    let slot = state.streams.take(client).map_err(|refused| {
        metrics::global().count_http_refused(refused.code());
        let status = match refused {
            StreamRefused::PerClient(_) => StatusCode::TOO_MANY_REQUESTS,
            StreamRefused::Total(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, refused.to_string())
            .with_code(refused.code())
            .retry_after(STREAM_RETRY_AFTER)
    })?;
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let shutdown = state.shutdown.clone();
    crate::live::stream(&state.hub, &unit, last_seen, shutdown, slot)
        .ok_or_else(|| ApiError::not_found("no live feed for this unit"))
}

/// When a refused stream may try again, in seconds.
const STREAM_RETRY_AFTER: u32 = 10;

/// How many months.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// Months back from the open window, 1–36 (12 without it).
    #[param(minimum = 1, maximum = 36)]
    pub months: Option<u32>,
}

/// The main rates of the last months, oldest first, the open window last.
#[utoipa::path(get, path = "/api/units/{unit}/trend", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"), TrendQuery),
    responses((status = 200, body = Vec<TrendPoint>), (status = 400, body = ErrorBody),
               (status = 404, body = ErrorBody)))]
pub async fn trend(
    State(state): Shared,
    Path(unit): Path<String>,
    Query(query): Query<TrendQuery>,
) -> ApiResult<Json<Vec<TrendPoint>>> {
    let job = state.config.reports.job(state.profile(&unit)?);
    let months = within("months", query.months.unwrap_or(12), 1..=36)?;
    let points = reporter::trend::trend(&state.pool, &job, months, Utc::now()).await?;
    Ok(Json(points))
}
