//! The items behind a figure (SPEC §5.1): `GET /api/units/{unit}/items?period=&figure=`, a page
//! of JSON, the whole list as CSV (streamed as it is read) or as a workbook.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use domain::figures::{FIGURES, Figure};
use futures_lite::StreamExt;
use reporter::items::{Item, ListRequest, Refusal, Resolved};
use serde::{Deserialize, Serialize};
use store::items::{Order, SortKey};
use utoipa::openapi::{ObjectBuilder, Type, schema::Object};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, ErrorBody, Shared, parse_period, started, within};
use crate::AppState;

/// `/api/units/{unit}/items`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new().routes(routes!(items))
}

/// Which list, which page, in which order and form.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemsQuery {
    /// A figure's path in the indicators document, e.g. `procedures.pending_overdue`.
    #[param(schema_with = figure_schema)]
    pub figure: String,
    /// YYYY-MM; the open window without it.
    pub period: Option<String>,
    /// An issued revision: the items as counted at its issue. Without it: as the figures stand
    /// now (for a summary, each member's issued revision where it has one, as its row).
    #[param(minimum = 1, maximum = 2147483647)]
    pub revision: Option<i32>,
    /// The page, from 1 (JSON only).
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    /// Items per page, 1 to 1000 (default 100; JSON only).
    #[param(minimum = 1, maximum = 1000)]
    pub per_page: Option<i64>,
    /// The column sorted by, then unit and id: unit, id (the default), received_at, due_at,
    /// resolved_at.
    #[param(schema_with = sort_schema)]
    pub sort: Option<String>,
    /// asc (the default) or desc.
    #[param(schema_with = order_schema)]
    pub order: Option<String>,
    /// json (the default: one page), csv or xlsx (the whole list).
    #[param(schema_with = items_format_schema)]
    pub format: Option<String>,
}

fn enum_schema(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn figure_schema() -> Object {
    let paths: Vec<&str> = FIGURES.iter().map(|f| f.path).collect();
    enum_schema(&paths, "A figure's path in the indicators document")
}

fn sort_schema() -> Object {
    let keys: Vec<&str> = SortKey::ALL.iter().map(|(name, _)| *name).collect();
    enum_schema(&keys, "The column sorted by")
}

fn order_schema() -> Object {
    enum_schema(&["asc", "desc"], "Ascending or descending")
}

fn items_format_schema() -> Object {
    enum_schema(
        &["json", "csv", "xlsx"],
        "One page as JSON, or the whole list",
    )
}

/// A column of the list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnView {
    /// Its name: the CSV header and the item's field.
    pub name: &'static str,
    /// Its Vietnamese title.
    pub title: &'static str,
}

/// One page of a figure's items.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsPage {
    /// The unit or summary.
    pub unit: String,
    /// The period.
    pub period: String,
    /// The figure's path.
    pub figure: &'static str,
    /// Its group's Vietnamese name.
    pub group: &'static str,
    /// Its Vietnamese label.
    pub label: &'static str,
    /// What it counts: `dossier`, `petition`, `document` or `article`.
    pub kind: &'static str,
    /// The issued revision the list is of; null: as the figures stand now.
    pub revision: Option<i32>,
    /// The page, from 1.
    pub page: i64,
    /// Items per page.
    pub per_page: i64,
    /// Whether a next page has items.
    pub more: bool,
    /// The columns, in order, as the CSV and the workbook have them.
    pub columns: Vec<ColumnView>,
    /// The page's items.
    pub items: Vec<Item>,
}

/// What a list's parameters ask for, checked.
struct Asked {
    figure: Figure,
    order: Order,
    page: i64,
    per_page: i64,
    format: &'static str,
}

impl ItemsQuery {
    fn check(&self) -> ApiResult<Asked> {
        let figure = domain::figures::figure(&self.figure).ok_or_else(|| {
            let paths: Vec<&str> = FIGURES.iter().map(|f| f.path).collect();
            ApiError::bad_request(format!(
                "'{}' is not a figure: one of {}",
                self.figure,
                paths.join(", ")
            ))
        })?;
        let key = match self.sort.as_deref() {
            None => SortKey::default(),
            Some(name) => SortKey::ALL
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, key)| *key)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "sort '{name}' is not a column: unit, id, received_at, due_at or resolved_at"
                    ))
                })?,
        };
        let descending = match self.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "order '{other}' is neither asc nor desc"
                )));
            }
        };
        let format = match self.format.as_deref() {
            None | Some("json") => "json",
            Some("csv") => "csv",
            Some("xlsx") => "xlsx",
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "format '{other}' is not json, csv or xlsx"
                )));
            }
        };
        Ok(Asked {
            figure,
            order: Order { key, descending },
            page: within("page", self.page.unwrap_or(1), 1..=1_000_000)?,
            per_page: within("per_page", self.per_page.unwrap_or(100), 1..=1000)?,
            format,
        })
    }
}

/// The items a figure counts (SPEC §5.1): as the figures stand now, or with `revision` as that
/// issued revision counted them; a summary's code gives its members' items, each with its
/// unit. The list's length is the figure. JSON gives one page; `format=csv` (one header row,
/// then one row per item, streamed) and `format=xlsx` give the whole list.
#[utoipa::path(get, path = "/api/units/{unit}/items", tag = "live",
    security(("bearer" = [])),
    params(("unit" = String, Path, description = "The unit or summary code"), ItemsQuery),
    responses((status = 200, description = "The figure's items", content(
                  (ItemsPage = "application/json"), ("text/csv"),
                  ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "The revision was issued before its items were kept (`items_not_kept`)", body = ErrorBody),
              (status = 422, description = "The period has not started (`not_started`)", body = ErrorBody)))]
pub async fn items(
    State(state): Shared,
    Path(unit): Path<String>,
    Query(query): Query<ItemsQuery>,
) -> ApiResult<Response> {
    let job = state.config.reports.job(state.profile(&unit)?);
    let asked = query.check()?;
    let period = match &query.period {
        Some(text) => started(&state, parse_period(text)?)?,
        None => state.open_period(),
    };
    let revision = query
        .revision
        .map(|r| within("revision", r, 1..=i32::MAX))
        .transpose()?;
    let request = ListRequest {
        period,
        figure: asked.figure,
        revision,
    };
    let resolved = match reporter::items::resolve(&state.pool, &job, &request, Utc::now()).await? {
        Ok(resolved) => resolved,
        Err(refusal @ Refusal::NoRevision { .. }) => {
            return Err(ApiError::not_found(refusal.to_string()));
        }
        Err(refusal @ Refusal::NotKept { .. }) => {
            return Err(ApiError::new(StatusCode::CONFLICT, refusal.to_string())
                .with_code("items_not_kept"));
        }
    };
    let name = format!(
        "{unit}-{period}-{}{}",
        asked.figure.path,
        revision.map_or(String::new(), |r| format!("-r{r}"))
    );
    match asked.format {
        "csv" => Ok(csv(&state, resolved, asked.order, &name)),
        "xlsx" => {
            let items = resolved.all(&state.pool, asked.order).await?;
            let bytes = reporter::items::workbook(&job.profile.code, &request, &items, job.tz)
                .map_err(anyhow::Error::from)?;
            Ok(download(
                Body::from(bytes),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{name}.xlsx"),
            ))
        }
        _ => {
            let offset = (asked.page - 1) * asked.per_page;
            let mut items = resolved
                .page(&state.pool, asked.order, offset, asked.per_page + 1)
                .await?;
            let more = items.len() as i64 > asked.per_page;
            items.truncate(asked.per_page as usize);
            let columns = reporter::items::columns(asked.figure.kind)
                .into_iter()
                .map(|c| ColumnView {
                    name: c.name,
                    title: c.title,
                })
                .collect();
            Ok(Json(ItemsPage {
                unit,
                period: period.to_string(),
                figure: asked.figure.path,
                group: asked.figure.group,
                label: asked.figure.label,
                kind: asked.figure.kind.as_str(),
                revision,
                page: asked.page,
                per_page: asked.per_page,
                more,
                columns,
                items,
            })
            .into_response())
        }
    }
}

/// The whole list as CSV, written as it is read: a task reads the rows and hands the body
/// chunks of about 64 KiB; a client that goes away stops it.
fn csv(state: &AppState, resolved: Resolved, order: Order, name: &str) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let pool = state.pool.clone();
    tokio::spawn(async move {
        const CHUNK: usize = 64 * 1024;
        let kind = resolved.figure.kind;
        let mut chunk = reporter::items::csv_header(kind);
        let mut rows = std::pin::pin!(resolved.stream(&pool, order));
        while let Some(item) = rows.next().await {
            match item {
                Ok(item) => chunk.push_str(&reporter::items::csv_row(kind, &item, resolved.tz)),
                Err(error) => {
                    // The status is sent: the body ends short, which a client sees as an error.
                    tracing::error!(error = format!("{error:#}"), "the CSV list failed");
                    let failed = std::io::Error::other("the list could not be read");
                    let _ = sender.send(Err(failed)).await;
                    return;
                }
            }
            if chunk.len() >= CHUNK {
                let full = std::mem::take(&mut chunk);
                if sender.send(Ok(Bytes::from(full))).await.is_err() {
                    return;
                }
            }
        }
        let _ = sender.send(Ok(Bytes::from(chunk))).await;
    });
    let body = futures_lite::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    download(
        Body::from_stream(body),
        "text/csv; charset=utf-8",
        &format!("{name}.csv"),
    )
}

/// A file to save, under `file`.
fn download(body: Body, mime: &'static str, file: &str) -> Response {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let disposition = format!("attachment; filename=\"{file}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
