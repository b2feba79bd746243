//! A unit's reports: the list with each message's state, a period's report as sent or drafted,
//! and sending it (its narrative: [`super::narrative`]).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use domain::Period;
use reporter::Format;
use reporter::job::{Issued, Resend};
use reporter::show::{Shown, Which};
use reporter::state::ReportView;
use reporter::status::PeriodReports;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::units::FiguresDocument;
use super::{ApiError, ApiResult, ErrorBody, Shared, json_body, parse_period, started, within};
use crate::AppState;
use crate::access::Who;
use crate::auth::SameOriginWrite;

/// `/api/units/{unit}/reports…` but the narrative.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(reports))
        .routes(routes!(report))
        .routes(routes!(send))
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
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// html (the default), text (or txt), json, docx, pdf or xlsx.
    #[param(schema_with = format_schema)]
    pub format: Option<String>,
    /// A revision as sent; the latest without it.
    #[param(minimum = 1, maximum = 2147483647)]
    pub revision: Option<i32>,
    /// true: render the figures as of now even if a revision was sent.
    pub draft: Option<bool>,
}

impl ReportQuery {
    /// Which revision, or 400 for a number no revision has (a revision is 1 or more).
    fn which(&self) -> ApiResult<Which> {
        let revision = self
            .revision
            .map(|revision| within("revision", revision, 1..=i32::MAX))
            .transpose()?;
        Ok(match (self.draft, revision) {
            (Some(true), _) => Which::Draft,
            (_, Some(revision)) => Which::Revision(revision),
            _ => Which::Latest,
        })
    }
}

/// `format` in the OpenAPI document: one of the names [`Format::parse`] takes.
fn format_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Format::NAMES))
        .description(Some(
            "html (the default), text (or txt), json, docx, pdf or xlsx",
        ))
        .build()
}

/// A period's report: the revision as sent if there is one (unless `draft`), else rendered
/// now as a draft. The `X-Baocao-Report` header says which.
#[utoipa::path(get, path = "/api/units/{unit}/reports/{period}", tag = "reports",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit code"),
           ("period" = String, Path, description = "YYYY-MM"), ReportQuery),
    responses((status = 200, description = "The report in the asked format", content(
                  ("text/html"), ("text/plain"), (FiguresDocument = "application/json"),
                  ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                  ("application/pdf"),
                  ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
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
    let which = query.which()?;
    let shown = reporter::show::show(&state.pool, &job, period, format, which, Utc::now())
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
    #[serde(default, deserialize_with = "revision_number")]
    #[schema(minimum = 1, maximum = 2147483647)]
    pub replaces: Option<i32>,
}

/// A revision's number from JSON: any number with no fraction from 1 up (`3` and `3.0` are the
/// same number in JSON, as in the OpenAPI document's `integer`), or null for none.
fn revision_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|n| n.fract() == 0.0 && n.abs() <= f64::from(i32::MAX))
            // A whole number within i32's range: the conversion is exact.
            .map(|n| n as i64)
    });
    whole
        .and_then(|n| i32::try_from(n).ok())
        .filter(|n| *n >= 1)
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "replaces must be a revision's number (1 or more), not {number}"
            ))
        })
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
    request_body(content = Option<SendRequest>, content_type = "application/json",
                 description = "May be left out (or null), as `{}`: a send without `force`"),
    responses((status = 201, body = SendOutcome),
              (status = 409, description = "Already sent without force (`already_sent`), the window still open (`window_open`), a later correction sent meanwhile (`stale_revision`), or the unit's signing certificate cannot be used, so the report is held (`signing_unavailable`)", body = ErrorBody),
              (status = 422, description = "The window has no events (`no_events`)", body = ErrorBody),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn send(
    _write: SameOriginWrite,
    State(state): Shared,
    Extension(who): Extension<Who>,
    Path((unit, period)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let job = state.config.reports.job(state.profile(&unit)?);
    let period = parse_period(&period)?;
    // No body, or `null` (the document's `Option`), asks for a first send.
    let request: SendRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SendRequest::default()
    } else {
        json_body::<Option<SendRequest>>(&body, "a send request")?.unwrap_or_default()
    };
    let (now, resend, actor) = (Utc::now(), request.resend(), who.actor());
    let issued = reporter::job::issue_as(&state.pool, &job, period, now, resend, &actor).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn replaces(body: &str) -> Result<Option<i32>, String> {
        serde_json::from_str::<SendRequest>(body)
            .map(|request| request.replaces)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn a_replaced_revision_is_any_whole_number_from_one() {
        assert_eq!(replaces("{}"), Ok(None));
        assert_eq!(replaces(r#"{"replaces": null}"#), Ok(None));
        assert_eq!(replaces(r#"{"replaces": 3}"#), Ok(Some(3)));
        assert_eq!(replaces(r#"{"replaces": 3375.0}"#), Ok(Some(3375)));
        assert_eq!(replaces(r#"{"replaces": 2e1}"#), Ok(Some(20)));
        assert_eq!(replaces(r#"{"replaces": 2147483647}"#), Ok(Some(i32::MAX)));
        for refused in ["0", "-1", "1.5", "2147483648", "1e300", "\"3\"", "true"] {
            let body = format!(r#"{{"replaces": {refused}}}"#);
            assert!(replaces(&body).is_err(), "{body}");
        }
    }
}
