//! The HTTP routes of SPEC §10 and the dashboard's own, each documented for the OpenAPI
//! document by its `#[utoipa::path]`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use domain::profile::{NARRATIVE_FIELDS, UnitProfile, check_paragraphs, split_paragraphs};
use domain::{Indicators, Period, notation};
use reporter::job::{self, Issued, UnitJob};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::live::Snapshot;
use crate::pipeline::{DeadLetters, QueueDepth};

type Shared = State<Arc<AppState>>;

/// An error as the API answers it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub error: String,
}

/// A JSON error response.
pub fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message.into(),
        }),
    )
        .into_response()
}

/// A failed request: a status and a message.
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self(status, message.into())
    }
}

impl From<anyhow::Error> for ApiError {
    /// The whole error goes to the log; the client learns only what kind of failure it was.
    fn from(error: anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "request failed");
        if store::db::is_unavailable(&error) {
            Self(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; try again shortly".into(),
            )
        } else {
            Self(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request failed; the server's log says why".into(),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem(self.0, self.1)
    }
}

type ApiResult<T> = Result<T, ApiError>;

impl AppState {
    fn profile(&self, unit: &str) -> ApiResult<&UnitProfile> {
        self.config
            .reports
            .units
            .iter()
            .find(|p| p.code.as_str() == unit)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("unit '{unit}' is not configured"),
                )
            })
    }

    fn job<'a>(&self, profile: &'a UnitProfile) -> UnitJob<'a> {
        self.config.reports.job(profile)
    }

    fn open_period(&self) -> Period {
        Period::containing(Utc::now(), self.config.reports.tz)
    }
}

fn parse_period(text: &str) -> ApiResult<Period> {
    text.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("'{text}' is not a period: write YYYY-MM, e.g. 2026-05"),
        )
    })
}

fn started(state: &AppState, period: Period) -> ApiResult<Period> {
    let start = period.window(state.config.reports.tz).start();
    if start.to_utc() > Utc::now() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("period {period} has not started yet (its window opens {start})"),
        ));
    }
    Ok(period)
}

// ---------------------------------------------------------------- health, readiness, metrics

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
    let database = if !state.database_ready() {
        "starting"
    } else if crate::pipeline::database_ready(&state.pool).await.is_ok() {
        "ok"
    } else {
        "unavailable"
    };
    let broker = if state.broker.ready().is_ok() {
        "ok"
    } else {
        "unavailable"
    };
    let ready = database == "ok" && broker == "ok";
    let body = Readiness {
        database: database.to_owned(),
        broker: broker.to_owned(),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// The metrics, in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "OpenMetrics text", body = String,
               content_type = "application/openmetrics-text")))]
pub async fn metrics(State(state): Shared) -> Response {
    // The shared state (queues, outbox) is exported by the processes serving the whole API
    // only, so that summing over all targets does not count it several times.
    if state.serves_api() {
        crate::pipeline::refresh_gauges(&state.pool, &state.broker).await;
    }
    let text = metrics::global().encode();
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

// ---------------------------------------------------------------- units and live counters

/// A configured unit.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitSummary {
    /// The code events carry.
    pub code: String,
    /// How the unit names itself, e.g. "UBND phường Trí Quả".
    pub name: String,
    /// The open window's period.
    pub open_period: String,
    /// The open window.
    pub window: domain::indicators::WindowBounds,
    /// The period whose window closed last.
    pub last_closed_period: String,
}

/// The configured units.
#[utoipa::path(get, path = "/api/units", tag = "live", security(("bearer" = [])),
    responses((status = 200, body = Vec<UnitSummary>)))]
pub async fn units(State(state): Shared) -> Json<Vec<UnitSummary>> {
    let open = state.open_period();
    let window = domain::indicators::WindowBounds::of(&open.window(state.config.reports.tz));
    Json(
        state
            .config
            .reports
            .units
            .iter()
            .map(|p| UnitSummary {
                code: p.code.to_string(),
                name: p.short_name.clone(),
                open_period: open.to_string(),
                window: window.clone(),
                last_closed_period: open.previous().to_string(),
            })
            .collect(),
    )
}

/// Which period.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// YYYY-MM; the open window without it.
    pub period: Option<String>,
}

/// The indicators document of SPEC §5 for a period (the open window without `period`).
#[utoipa::path(get, path = "/api/units/{unit}/indicators", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"), PeriodQuery),
    responses((status = 200, body = Indicators),
               (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn indicators(
    State(state): Shared,
    Path(unit): Path<String>,
    Query(query): Query<PeriodQuery>,
) -> ApiResult<Json<Indicators>> {
    let profile = state.profile(&unit)?;
    let period = match query.period {
        Some(text) => started(&state, parse_period(&text)?)?,
        None => state.open_period(),
    };
    let indicators = store::indicators::for_period(
        &state.pool,
        &profile.code,
        period,
        state.config.reports.tz,
        Utc::now(),
    )
    .await?;
    Ok(Json(indicators))
}

/// Counts one connected stream for as long as it lives.
struct ClientGuard;

impl ClientGuard {
    fn new() -> Self {
        metrics::global().sse_clients.inc();
        Self
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        metrics::global().sse_clients.dec();
    }
}

struct StreamState {
    state: Arc<AppState>,
    receiver: tokio::sync::watch::Receiver<Option<Arc<Snapshot>>>,
    pending: Option<Arc<Snapshot>>,
    first: bool,
    _guard: ClientGuard,
}

/// Server-Sent Events: each event's data is the open window's indicators document, sent when
/// the stream opens and on every change, within a second of the commit. A reconnecting client
/// that sends `Last-Event-ID` of the current document is not sent it again.
#[utoipa::path(get, path = "/api/units/{unit}/stream", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("Last-Event-ID" = Option<String>, Header, description = "The last event received")),
    responses((status = 200, description = "An event stream of indicators documents",
               content_type = "text/event-stream", body = Indicators),
              (status = 404, body = ErrorBody)))]
pub async fn stream(
    State(state): Shared,
    Path(unit): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    state.profile(&unit)?;
    let subscription = state
        .hub
        .subscribe(&unit)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no live feed for this unit"))?;
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let pending = if subscription.current_is_fresh {
        subscription
            .receiver
            .borrow()
            .clone()
            .filter(|snapshot| Some(state.hub.event_id(snapshot)) != last_seen)
    } else {
        None
    };
    let stream_state = StreamState {
        state: Arc::clone(&state),
        receiver: subscription.receiver,
        pending,
        first: true,
        _guard: ClientGuard::new(),
    };
    let events = futures_lite::stream::unfold(stream_state, next_event);
    let sse = Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    let mut response = sse.into_response();
    // Tell proxies such as nginx not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

async fn next_event(mut s: StreamState) -> Option<(Result<Event, Infallible>, StreamState)> {
    let snapshot = match s.pending.take() {
        Some(snapshot) => snapshot,
        None => loop {
            let mut stop = s.state.stop.clone();
            tokio::select! {
                changed = s.receiver.changed() => changed.ok()?,
                _ = stop.wait_for(|stop| *stop) => return None,
            }
            if let Some(snapshot) = s.receiver.borrow_and_update().clone() {
                break snapshot;
            }
        },
    };
    let mut event = Event::default()
        .id(s.state.hub.event_id(&snapshot))
        .data(snapshot.json.as_str());
    if s.first {
        event = event.retry(Duration::from_secs(2));
        s.first = false;
    }
    Some((Ok(event), s))
}

/// One period's main rates, for the trend chart.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendPoint {
    /// The period.
    pub period: String,
    /// False for the open window.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Dossiers received.
    pub received: i64,
    /// Online dossiers of those received, in percent (null when none were received).
    pub online_share: Option<f64>,
    /// Dossiers resolved of those carried over and received, in percent.
    pub resolved_share: Option<f64>,
    /// Digitized dossiers of those received, in percent.
    pub digitized_share: Option<f64>,
    /// The same three as the report writes them ("84.55%", "không phát sinh").
    pub text: TrendText,
}

/// The rates as written in the report.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrendText {
    /// Online share.
    pub online: String,
    /// Resolved share.
    pub resolved: String,
    /// Digitized share.
    pub digitized: String,
}

/// How many months.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TrendQuery {
    /// Months back from the open window, 1–36 (12 without it).
    pub months: Option<u32>,
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10000.0 / whole as f64).round() / 100.0)
}

/// The main rates of the last months, oldest first, the open window last.
#[utoipa::path(get, path = "/api/units/{unit}/trend", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"), TrendQuery),
    responses((status = 200, body = Vec<TrendPoint>), (status = 404, body = ErrorBody)))]
pub async fn trend(
    State(state): Shared,
    Path(unit): Path<String>,
    Query(query): Query<TrendQuery>,
) -> ApiResult<Json<Vec<TrendPoint>>> {
    let profile = state.profile(&unit)?;
    let months = query.months.unwrap_or(12).clamp(1, 36);
    let now = Utc::now();
    let mut period = state.open_period();
    let mut points = Vec::with_capacity(months as usize);
    for _ in 0..months {
        let i = store::indicators::for_period(
            &state.pool,
            &profile.code,
            period,
            state.config.reports.tz,
            now,
        )
        .await?;
        let p = &i.procedures;
        let handled = p.carried_over + p.received;
        points.push(TrendPoint {
            period: period.to_string(),
            is_final: i.is_final,
            received: p.received,
            online_share: percent(p.online, p.received),
            resolved_share: percent(p.resolved, handled),
            digitized_share: percent(p.digitized, p.received),
            text: TrendText {
                online: notation::share(p.online, p.received),
                resolved: notation::share(p.resolved, handled),
                digitized: notation::share(p.digitized, p.received),
            },
        });
        period = period.previous();
    }
    points.reverse();
    Ok(Json(points))
}

// ---------------------------------------------------------------- reports

/// A report revision and what became of its messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// 1 for the scheduled report, then one more per correction.
    pub revision: i32,
    /// Its number, e.g. 103 (null when numbered by hand).
    pub number: Option<i32>,
    /// Its date.
    pub issued_on: NaiveDate,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// One message per address.
    pub deliveries: Vec<DeliveryView>,
}

/// One message's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// The address.
    pub address: String,
    /// The line of "Nơi nhận" it belongs to.
    pub label: String,
    /// queued, sending, retrying, sent or failed.
    pub state: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A period's report.
#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodReports {
    /// The period.
    pub period: String,
    /// Events arrived since the latest revision was sent, changing its figures.
    pub out_of_date: bool,
    /// Oldest first.
    pub revisions: Vec<RevisionView>,
}

/// A unit's reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportsView {
    /// The unit.
    pub unit: String,
    /// The open window's period (its report is a draft).
    pub open_period: String,
    /// The period whose window closed last: it can be sent if it has no report yet.
    pub last_closed_period: String,
    /// When that period's report is (or was) due to be sent on schedule.
    pub last_closed_send_at: Option<DateTime<Utc>>,
    /// The latest 12 periods with a report, newest first.
    pub periods: Vec<PeriodReports>,
}

/// The unit's reports: revisions, per-recipient delivery state and whether each is out of
/// date.
#[utoipa::path(get, path = "/api/units/{unit}/reports", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code")),
    responses((status = 200, body = ReportsView), (status = 404, body = ErrorBody)))]
pub async fn reports(
    State(state): Shared,
    Path(unit): Path<String>,
) -> ApiResult<Json<ReportsView>> {
    let profile = state.profile(&unit)?;
    let pool = &state.pool;
    let now = Utc::now();
    let deliveries = store::outbox::deliveries(pool, &profile.code, None).await?;
    let mut periods = Vec::new();
    let reported = store::reports::periods(pool, &profile.code, None).await?;
    let skip = reported.len().saturating_sub(12);
    for text in reported.into_iter().skip(skip) {
        let period = parse_period(&text)?;
        let revisions = store::reports::revisions(pool, &profile.code, period).await?;
        let out_of_date = job::out_of_date(
            pool,
            &profile.code,
            period,
            state.config.reports.tz,
            now,
            &revisions,
        )
        .await?;
        let revisions = revisions
            .iter()
            .map(|r| RevisionView {
                revision: r.revision,
                number: r.number,
                issued_on: r.issued_on,
                created_at: r.created_at,
                deliveries: deliveries
                    .iter()
                    .filter(|d| d.period == text && d.revision == r.revision)
                    .map(|d| DeliveryView {
                        address: d.address.clone(),
                        label: d.label.clone(),
                        state: d.state.clone(),
                        attempts: d.attempts,
                        next_attempt_at: d.next_attempt_at,
                        last_error: d.last_error.clone(),
                        sent_at: d.sent_at,
                    })
                    .collect(),
            })
            .collect();
        periods.push(PeriodReports {
            period: text,
            out_of_date,
            revisions,
        });
    }
    periods.reverse();
    let open = state.open_period();
    let last_closed = open.previous();
    Ok(Json(ReportsView {
        unit,
        open_period: open.to_string(),
        last_closed_period: last_closed.to_string(),
        last_closed_send_at: state
            .job(profile)
            .schedule
            .send_at(last_closed, state.config.reports.tz)
            .ok(),
        periods,
    }))
}

/// Which form of a report.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// html (the default), text, json, docx or pdf.
    pub format: Option<String>,
    /// A revision as sent; the latest without it.
    pub revision: Option<i32>,
    /// true: render the figures as of now even if a revision was sent.
    pub draft: Option<bool>,
}

/// A period's report: the revision as sent if there is one (unless `draft`), else rendered
/// now as a draft. The `X-Baocao-Report` header says which.
#[utoipa::path(get, path = "/api/units/{unit}/reports/{period}", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM"), ReportQuery),
    responses((status = 200, description = "The report in the asked format"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn report(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let profile = state.profile(&unit)?;
    let period = started(&state, parse_period(&period)?)?;
    let format = query.format.as_deref().unwrap_or("html");
    let render_format = match format {
        "json" => None,
        "text" | "txt" => Some(reporter::Format::Text),
        "html" => Some(reporter::Format::Html),
        "docx" => Some(reporter::Format::Docx),
        "pdf" => Some(reporter::Format::Pdf),
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("unknown format '{other}': use html, text, json, docx or pdf"),
            ));
        }
    };
    let sent = if query.draft.unwrap_or(false) {
        None
    } else {
        store::reports::sent(&state.pool, &profile.code, period, query.revision).await?
    };
    if query.revision.is_some() && sent.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{unit} {period} has no such revision"),
        ));
    }
    let (bytes, origin) = match sent {
        Some(sent) => {
            let bytes = match render_format {
                None => serde_json::to_vec_pretty(&sent.indicators).map_err(anyhow::Error::from)?,
                Some(reporter::Format::Text) => sent.body_text.into_bytes(),
                Some(reporter::Format::Html) => sent.body_html.into_bytes(),
                Some(reporter::Format::Docx) => sent.docx,
                Some(reporter::Format::Pdf) => sent.pdf,
            };
            (bytes, format!("sent; revision={}", sent.revision))
        }
        None => {
            let now = Utc::now();
            let bytes = match render_format {
                None => {
                    let indicators = store::indicators::for_period(
                        &state.pool,
                        &profile.code,
                        period,
                        state.config.reports.tz,
                        now,
                    )
                    .await?;
                    serde_json::to_vec_pretty(&indicators).map_err(anyhow::Error::from)?
                }
                Some(format) => {
                    let job = state.job(profile);
                    let content =
                        reporter::compose::preview(&state.pool, &job, period, now).await?;
                    let renderer = reporter::Renderer::new(
                        state.config.reports.templates.clone(),
                        profile.code.as_str(),
                    );
                    // Typesetting is CPU work: off the runtime's threads.
                    tokio::task::spawn_blocking(move || renderer.render(&content, format))
                        .await
                        .map_err(anyhow::Error::from)?
                        .map_err(|error| anyhow::anyhow!("{error}"))?
                }
            };
            (bytes, "draft".to_owned())
        }
    };
    let content_type = render_format.map_or("application/json", |f| f.mime_type());
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // A report opened on its own renders with no privilege of this origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(origin) = HeaderValue::from_str(&origin) {
        headers.insert("x-baocao-report", origin);
    }
    if let Some(format @ (reporter::Format::Docx | reporter::Format::Pdf)) = render_format {
        let name = format!(
            "attachment; filename=\"bao-cao-chuyen-doi-so-{unit}-{period}.{}\"",
            format.extension()
        );
        if let Ok(value) = HeaderValue::from_str(&name) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

/// Whether to send a corrected revision.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SendRequest {
    /// Send a corrected revision of a report already sent.
    #[serde(default)]
    pub force: bool,
}

/// What sending did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendOutcome {
    /// The revision stored.
    pub revision: i32,
    /// Its number, if baocao numbers reports.
    pub number: Option<u32>,
    /// The messages queued, one per address.
    pub messages: usize,
}

/// Issues the period's report now and queues it for every recipient (`force`: a corrected
/// revision of one already sent).
#[utoipa::path(post, path = "/api/units/{unit}/reports/{period}/send", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    request_body(content = SendRequest, content_type = "application/json"),
    responses((status = 201, body = SendOutcome),
              (status = 409, description = "Already sent (without force), or the window is still open", body = ErrorBody),
              (status = 422, description = "The window has no events", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn send(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    let force = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        serde_json::from_slice::<SendRequest>(&body)
            .map_err(|e| {
                ApiError::new(StatusCode::BAD_REQUEST, format!("not a send request: {e}"))
            })?
            .force
    };
    let now = Utc::now();
    let issued = job::issue(&state.pool, &state.job(profile), period, now, force).await?;
    tracing::info!(%unit, %period, force, ?issued, "report send asked for over the API");
    match issued {
        Issued::Stored {
            revision,
            number,
            messages,
        } => Ok((
            StatusCode::CREATED,
            Json(SendOutcome {
                revision,
                number,
                messages,
            }),
        )
            .into_response()),
        Issued::AlreadyIssued { revision } => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "{unit} {period} was already sent (revision {revision}); send with force to send a corrected revision"
            ),
        )),
        Issued::WindowOpen { closes } => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "the window of {period} is still open (it closes {closes}): its report cannot be sent yet"
            ),
        )),
        Issued::NoEvents => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{unit} {period} has no events: there is no report to send"),
        )),
    }
}

// ---------------------------------------------------------------- narrative

/// One narrative field of a period's report.
#[derive(Debug, Serialize, ToSchema)]
pub struct NarrativeField {
    /// The field, e.g. `limitations`.
    pub field: String,
    /// Its paragraphs in this period's report.
    pub paragraphs: Vec<String>,
    /// Edited for this period (false: the configured text).
    pub edited: bool,
}

/// A change to one field.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NarrativeChange {
    /// The field, e.g. `limitations`.
    pub field: String,
    /// replace (the default), append, or reset (back to the configured text).
    #[serde(default)]
    pub action: Option<String>,
    /// The paragraphs, separated by blank lines; empty with replace leaves the field empty.
    #[serde(default)]
    pub text: String,
}

async fn narrative_fields(
    state: &AppState,
    profile: &UnitProfile,
    period: Period,
) -> ApiResult<Vec<NarrativeField>> {
    let edits = store::narrative::for_period(&state.pool, &profile.code, period).await?;
    let narrative = reporter::compose::with_edits(&profile.narrative, &edits);
    Ok(narrative
        .fields()
        .iter()
        .map(|(field, paragraphs)| NarrativeField {
            field: (*field).to_owned(),
            paragraphs: paragraphs.to_vec(),
            edited: edits.iter().any(|edit| edit.field == *field),
        })
        .collect())
}

/// The narrative paragraphs of a period's report, field by field.
#[utoipa::path(get, path = "/api/units/{unit}/reports/{period}/narrative", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = Vec<NarrativeField>), (status = 404, body = ErrorBody)))]
pub async fn narrative(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
) -> ApiResult<Json<Vec<NarrativeField>>> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    Ok(Json(narrative_fields(&state, profile, period).await?))
}

/// Edits one narrative field of a period's report; answers with every field.
#[utoipa::path(post, path = "/api/units/{unit}/reports/{period}/narrative", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    request_body(content = NarrativeChange, content_type = "application/json"),
    responses((status = 200, body = Vec<NarrativeField>),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_narrative(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
    Json(change): Json<NarrativeChange>,
) -> ApiResult<Json<Vec<NarrativeField>>> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    let field = change.field.as_str();
    if !NARRATIVE_FIELDS.contains(&field) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown narrative field '{field}'; the fields are {}",
                NARRATIVE_FIELDS.join(", ")
            ),
        ));
    }
    let paragraphs = split_paragraphs(&change.text);
    check_paragraphs(&paragraphs).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e))?;
    let pool = &state.pool;
    match change.action.as_deref().unwrap_or("replace") {
        "replace" => {
            store::narrative::replace(pool, &profile.code, period, field, &paragraphs).await?
        }
        "append" => {
            if paragraphs.is_empty() {
                return Err(ApiError::new(StatusCode::BAD_REQUEST, "nothing to append"));
            }
            let mut configured = profile.narrative.clone();
            let configured = configured
                .field_mut(field)
                .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "unknown field"))?;
            store::narrative::append(pool, &profile.code, period, field, configured, &paragraphs)
                .await?;
        }
        "reset" => {
            store::narrative::reset(pool, &profile.code, period, Some(field)).await?;
        }
        other => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("unknown action '{other}': use replace, append or reset"),
            ));
        }
    }
    tracing::info!(%unit, %period, field, "narrative edited over the API");
    Ok(Json(narrative_fields(&state, profile, period).await?))
}

// ---------------------------------------------------------------- pipeline

/// How many to show.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LimitQuery {
    /// At most this many of the latest letters, 1–200 (20 without it).
    pub limit: Option<usize>,
}

/// Dead letters: how many wait in the dead-letter queue, and every one dead-lettered so far,
/// counted by reason, with the latest. Read from baocao's own record, so that looking never
/// touches the queue (`baocao dead-letters list | replay` work on the queue itself).
#[utoipa::path(get, path = "/api/dead-letters", tag = "pipeline",
    security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, body = DeadLetters)))]
pub async fn dead_letters(
    State(state): Shared,
    Query(query): Query<LimitQuery>,
) -> ApiResult<Json<DeadLetters>> {
    let limit = query.limit.unwrap_or(20).clamp(1, 200);
    let letters = crate::pipeline::dead_letters(&state.pool, &state.broker, limit).await?;
    Ok(Json(letters))
}

/// When a unit last heard of one event type.
#[derive(Debug, Serialize, ToSchema)]
pub struct SourceView {
    /// The event type.
    pub event_type: String,
    /// The system it comes from: "eoffice" or "portal".
    pub source: String,
    /// New events of this type stored so far.
    pub events: i64,
    /// When the latest was stored.
    pub last_stored_at: DateTime<Utc>,
    /// The latest time one happened.
    pub last_occurred_at: DateTime<Utc>,
}

/// A unit's stored data.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitHealth {
    /// The unit.
    pub unit: String,
    /// Events stored (each once; duplicates are not counted).
    pub events: i64,
    /// Petitions and dossiers resolved whose received event has not come.
    pub orphans: i64,
    /// Conflicts recorded.
    pub conflicts: i64,
    /// The latest activity of each event type.
    pub sources: Vec<SourceView>,
}

/// Outbox messages in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxCount {
    /// queued, sending, retrying, sent or failed.
    pub state: String,
    /// Messages.
    pub count: i64,
}

/// The pipeline's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineView {
    /// The inbound and dead-letter queues (empty if the broker cannot be read).
    pub queues: Vec<QueueDepth>,
    /// Why the queues could not be read.
    pub broker_error: Option<String>,
    /// Each unit's stored data.
    pub units: Vec<UnitHealth>,
    /// The email outbox by state.
    pub outbox: Vec<OutboxCount>,
    /// When this was read.
    pub as_of: DateTime<Utc>,
}

/// Queue depths, orphans and conflicts, the last event of each source, the outbox by state.
#[utoipa::path(get, path = "/api/pipeline", tag = "pipeline",
    security(("bearer" = [])), responses((status = 200, body = PipelineView)))]
pub async fn pipeline(State(state): Shared) -> ApiResult<Json<PipelineView>> {
    let pool = &state.pool;
    let (queues, broker_error) = match state.broker.queue_depths() {
        Ok(queues) => (queues, None),
        Err(error) => (Vec::new(), Some(format!("{error:#}"))),
    };
    let activity = store::health::activity(pool).await?;
    let mut units = Vec::new();
    for profile in &state.config.reports.units {
        let (orphans, conflicts) = store::health::problems(pool, profile.code.as_str()).await?;
        units.push(UnitHealth {
            unit: profile.code.to_string(),
            events: activity
                .iter()
                .filter(|a| a.unit == profile.code.as_str())
                .map(|a| a.events)
                .sum(),
            orphans,
            conflicts,
            sources: activity
                .iter()
                .filter(|a| a.unit == profile.code.as_str())
                .map(|a| SourceView {
                    source: if a.event_type.starts_with("document.") {
                        "eoffice"
                    } else {
                        "portal"
                    }
                    .to_owned(),
                    event_type: a.event_type.clone(),
                    events: a.events,
                    last_stored_at: a.last_stored_at,
                    last_occurred_at: a.last_occurred_at,
                })
                .collect(),
        });
    }
    let outbox = store::outbox::counts_by_state(pool)
        .await?
        .into_iter()
        .map(|(state, count)| OutboxCount { state, count })
        .collect();
    Ok(Json(PipelineView {
        queues,
        broker_error,
        units,
        outbox,
        as_of: Utc::now(),
    }))
}
