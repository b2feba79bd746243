//! A unit's reports: the list with each message's state, a period's report as sent or drafted,
//! sending it, and its narrative.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use domain::Period;
use domain::profile::{NarrativeField, split_paragraphs};
use reporter::Format;
use reporter::job::{Issued, Resend};
use reporter::narrative::{Change, ChangeError, FieldText};
use reporter::show::{Shown, Which};
use reporter::state::ReportView;
use reporter::status::PeriodReports;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, ErrorBody, Shared, json_body, parse_period, started};
use crate::AppState;
use crate::auth::SameOriginWrite;

/// `/api/units/{unit}/reports…`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(reports))
        .routes(routes!(report))
        .routes(routes!(send))
        .routes(routes!(narrative, edit_narrative))
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
    /// Where that period's report stands (the one judgement `report status` and the
    /// department's view show), and why.
    pub last_closed_plan: ReportView,
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
    let job = state.config.reports.job(state.profile(&unit)?);
    let now = Utc::now();
    let wait = state.config.reports.backlog_wait;
    let mut periods = reporter::status::reports(&state.pool, &job, None, 12, now, wait).await?;
    periods.reverse();
    let last_closed = state.open_period().previous();
    let plan = reporter::state::of_period(&state.pool, &job, last_closed, now, wait)
        .await?
        .view;
    Ok(Json(ReportsView {
        unit,
        open_period: state.open_period().to_string(),
        last_closed_period: last_closed.to_string(),
        last_closed_send_at: Some(job.schedule.send_at(last_closed, job.tz)),
        last_closed_plan: plan,
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

impl ReportQuery {
    fn which(&self) -> Which {
        match (self.draft, self.revision) {
            (Some(true), _) => Which::Draft,
            (_, Some(revision)) => Which::Revision(revision),
            _ => Which::Latest,
        }
    }
}

/// A period's report: the revision as sent if there is one (unless `draft`), else rendered
/// now as a draft. The `X-Baocao-Report` header says which.
#[utoipa::path(get, path = "/api/units/{unit}/reports/{period}", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM"), ReportQuery),
    responses((status = 200, description = "The report in the asked format"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "The period has not started (`not_started`)", body = ErrorBody)))]
pub async fn report(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
    Query(query): Query<ReportQuery>,
) -> ApiResult<Response> {
    let job = state.config.reports.job(state.profile(&unit)?);
    let period = started(&state, parse_period(&period)?)?;
    let format =
        Format::parse(query.format.as_deref().unwrap_or("html")).map_err(ApiError::bad_request)?;
    let shown = reporter::show::show(&state.pool, &job, period, format, query.which(), Utc::now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{unit} {period} has no such revision")))?;
    Ok(file_response(shown, format, &unit, period))
}

/// A report's file, rendered with no privilege of this origin if opened on its own.
fn file_response(shown: Shown, format: Format, unit: &str, period: Period) -> Response {
    let origin = match shown.revision {
        Some(revision) => format!("sent; revision={revision}"),
        None => "draft".to_owned(),
    };
    let mut response = Response::new(Body::from(shown.bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime_type()),
    );
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
    if format.is_attachment() {
        let name = format!(
            "attachment; filename=\"bao-cao-chuyen-doi-so-{unit}-{period}.{}\"",
            format.extension()
        );
        if let Ok(value) = HeaderValue::from_str(&name) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// Whether to send a corrected revision.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SendRequest {
    /// Send a corrected revision of a report already sent.
    #[serde(default)]
    pub force: bool,
    /// With `force`: the revision the correction replaces, as the requester saw it. Refused
    /// (409, `stale_revision`) if a later one was sent meanwhile, so that a repeated click sends
    /// one correction.
    #[serde(default)]
    pub replaces: Option<i32>,
}

impl SendRequest {
    fn resend(&self) -> Resend {
        if self.force {
            Resend::Correction {
                replaces: self.replaces,
            }
        } else {
            Resend::No
        }
    }
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
              (status = 409, description = "Already sent without force (`already_sent`), the window still open (`window_open`), a later correction sent meanwhile (`stale_revision`), or the unit's signing certificate cannot be used, so the report is held (`signing_unavailable`)", body = ErrorBody),
              (status = 422, description = "The window has no events (`no_events`)", body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send(
    _write: SameOriginWrite,
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let job = state.config.reports.job(state.profile(&unit)?);
    let period = parse_period(&period)?;
    let request: SendRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SendRequest::default()
    } else {
        json_body(&body, "a send request")?
    };
    let issued =
        reporter::job::issue(&state.pool, &job, period, Utc::now(), request.resend()).await?;
    tracing::info!(%unit, %period, force = request.force, ?issued, "report send asked for over the API");
    match issued {
        Issued::Stored {
            revision,
            number,
            messages,
        } => {
            let outcome = SendOutcome {
                revision,
                number,
                messages,
            };
            Ok((StatusCode::CREATED, Json(outcome)).into_response())
        }
        refused => Err(refusal(&unit, period, &refused)),
    }
}

/// The answer to an issue that stored nothing: the same outcome, message and code the command
/// line gives (`baocao report send` exits with its own status for each).
fn refusal(unit: &str, period: Period, issued: &Issued) -> ApiError {
    let status = match issued {
        Issued::NoEvents => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    };
    ApiError::new(status, issued.explain(unit, period)).with_code(issued.code())
}

/// The narrative paragraphs of a period's report, field by field.
#[utoipa::path(get, path = "/api/units/{unit}/reports/{period}/narrative", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    responses((status = 200, body = Vec<FieldText>), (status = 400, body = ErrorBody),
               (status = 404, body = ErrorBody)))]
pub async fn narrative(
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
) -> ApiResult<Json<Vec<FieldText>>> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    Ok(Json(
        reporter::narrative::fields(&state.pool, profile, period).await?,
    ))
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

impl NarrativeChange {
    fn parse(self) -> ApiResult<Change> {
        let field = NarrativeField::parse(&self.field).map_err(ApiError::bad_request)?;
        let paragraphs = split_paragraphs(&self.text);
        match self.action.as_deref().unwrap_or("replace") {
            "replace" => Ok(Change::Replace(field, paragraphs)),
            "append" => Ok(Change::Append(field, paragraphs)),
            "reset" => Ok(Change::Reset(Some(field))),
            other => Err(ApiError::bad_request(format!(
                "unknown action '{other}': use replace, append or reset"
            ))),
        }
    }
}

/// Edits one narrative field of a period's report; answers with every field.
#[utoipa::path(post, path = "/api/units/{unit}/reports/{period}/narrative", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM")),
    request_body(content = NarrativeChange, content_type = "application/json"),
    responses((status = 200, body = Vec<FieldText>),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn edit_narrative(
    _write: SameOriginWrite,
    State(state): Shared,
    Path((unit, period)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Vec<FieldText>>> {
    let profile = state.profile(&unit)?;
    let period = parse_period(&period)?;
    let change: NarrativeChange = json_body(&body, "a narrative change")?;
    let change = change.parse()?;
    let kind = state.config.reports.kind(&unit);
    reporter::narrative::apply(&state.pool, profile, kind, period, change)
        .await
        .map_err(|error| match error {
            ChangeError::Refused(message) => ApiError::bad_request(message),
            ChangeError::Store(error) => ApiError::from(error),
        })?;
    tracing::info!(%unit, %period, "narrative edited over the API");
    Ok(Json(
        reporter::narrative::fields(&state.pool, profile, period).await?,
    ))
}
