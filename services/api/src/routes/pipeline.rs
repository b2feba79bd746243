//! The pipeline's health as the administrator sees it: the queues, dead letters, each unit's
//! stored data and the outbox.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use broker::QueueDepth;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::health::Overview;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiResult, ErrorBody, Shared, within};
use crate::AppState;

/// `/api/dead-letters` and `/api/pipeline`.
pub fn router() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(dead_letters))
        .routes(routes!(pipeline))
}

/// How many to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    /// At most this many of the latest letters, 1–200 (20 without it).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<usize>,
}

/// A dead letter as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetterView {
    /// When it was dead-lettered.
    pub rejected_at: DateTime<Utc>,
    /// The reason code.
    pub reason: String,
    /// The explanation.
    pub detail: String,
    /// Where it was first published.
    pub exchange: String,
    /// Its routing key there.
    pub routing_key: String,
    /// The body as received, its first 4,000 characters.
    pub body: String,
    /// The body's size in bytes.
    pub body_bytes: i32,
}

/// How many dead letters had one reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonCount {
    /// The reason code.
    pub reason: String,
    /// The dead letters with it.
    pub count: i64,
    /// The latest.
    pub last_at: DateTime<Utc>,
}

/// Dead letters: the queue's depth and the log of every message dead-lettered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeadLetters {
    /// The dead-letter queue.
    pub queue: String,
    /// Messages in it now (null when the broker cannot be read); `baocao dead-letters replay`
    /// sends them back.
    pub messages: Option<u32>,
    /// Every dead letter recorded, counted by reason, most frequent first.
    pub by_reason: Vec<ReasonCount>,
    /// The latest dead letters, newest first (at most `limit`).
    pub letters: Vec<DeadLetterView>,
}

/// Dead letters: how many wait in the dead-letter queue, and every one dead-lettered so far,
/// counted by reason, with the latest. Read from baocao's own record, so that looking never
/// touches the queue (`baocao dead-letters list | replay` work on the queue itself).
#[utoipa::path(get, path = "/api/dead-letters", tag = "pipeline",
    security(("bearer" = [])), params(LimitQuery),
    responses((status = 200, body = DeadLetters), (status = 400, body = ErrorBody)))]
pub async fn dead_letters(
    State(state): Shared,
    Query(query): Query<LimitQuery>,
) -> ApiResult<Json<DeadLetters>> {
    let limit = within("limit", query.limit.unwrap_or(20), 1..=200)?;
    let recorded = store::rejections::recorded(&state.pool, limit as i64).await?;
    Ok(Json(DeadLetters {
        queue: state.queues.topology().dead_queue.clone(),
        messages: state.queues.dead_letter_depth(),
        by_reason: recorded
            .by_reason
            .into_iter()
            .map(|r| ReasonCount {
                reason: r.reason,
                count: r.count,
                last_at: r.last_at,
            })
            .collect(),
        letters: recorded
            .latest
            .into_iter()
            .map(|r| DeadLetterView {
                rejected_at: r.rejected_at,
                reason: r.reason,
                detail: r.detail,
                exchange: r.exchange,
                routing_key: r.routing_key,
                body: r.body_excerpt,
                body_bytes: r.body_bytes,
            })
            .collect(),
    }))
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
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct UnitHealth {
    /// The unit.
    pub unit: String,
    /// Events stored (each once; duplicates are not counted).
    pub events: i64,
    /// Petitions and dossiers resolved whose received event has not come.
    pub orphans: i64,
    /// Conflicts recorded.
    pub conflicts: i64,
    /// Documents their sender recalled (edXML): stored and shown, not subtracted.
    pub recalled: i64,
    /// The latest activity of each event type.
    pub sources: Vec<SourceView>,
}

/// Outbox messages in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxCount {
    /// queued, sending, retrying, sent, failed or superseded.
    pub state: String,
    /// Messages.
    pub count: i64,
}

/// A unit's report whose issuing failed and has not succeeded since.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailureView {
    /// The unit.
    pub unit: String,
    /// The period.
    pub period: String,
    /// The last error.
    pub error: String,
    /// When it first failed.
    pub since: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: i32,
}

/// A unit whose signing certificate cannot be used: its reports are held.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeldView {
    /// The unit (or summary).
    pub unit: String,
    /// Why, naming the unit and never the password.
    pub cause: String,
}

/// Records of a source refused today for one reason.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedView {
    /// The reason code.
    pub reason: String,
    /// Records (or whole bodies) refused today.
    pub count: i64,
}

/// A source of the upstream systems' own formats, as the dashboard shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    /// The source: a `[[source]]`, or `broker` (bodies published straight to the broker without
    /// `x-baocao-source`), or the name such a body gave.
    pub source: String,
    /// Whether it is a configured `[[source]]`.
    pub configured: bool,
    /// The formats it may send (a configured source), or the one it sent.
    pub dialects: Vec<String>,
    /// Why it cannot send (its token), if it cannot.
    pub problem: Option<String>,
    /// When its last body was read, if ever.
    pub last_body_at: Option<DateTime<Utc>>,
    /// How many records that body held.
    pub last_records: Option<i32>,
    /// Bodies and records read since installation.
    pub bodies: i64,
    /// Records read since installation.
    pub records: i64,
    /// What of it was refused today (local day), by reason.
    pub refused_today: Vec<RefusedView>,
    /// Silent in office hours for longer than its allowance: an alert fires.
    pub silent: bool,
}

/// The pipeline's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineView {
    /// The inbound and dead-letter queues (empty if the broker cannot be read).
    pub queues: Vec<QueueDepth>,
    /// Why the queues could not be read.
    pub broker_error: Option<String>,
    /// Each configured unit's stored data.
    pub units: Vec<UnitHealth>,
    /// The email outbox by state.
    pub outbox: Vec<OutboxCount>,
    /// Reports whose issuing fails, by unit and period.
    pub failures: Vec<FailureView>,
    /// Units whose signing certificate cannot be used, so that their reports are held.
    pub held: Vec<HeldView>,
    /// The sources of the upstream systems' own formats.
    pub sources: Vec<FeedView>,
    /// When this was read.
    pub as_of: DateTime<Utc>,
}

/// Queue depths, orphans and conflicts, the last event of each source, the outbox by state.
#[utoipa::path(get, path = "/api/pipeline", tag = "pipeline",
    security(("bearer" = [])), responses((status = 200, body = PipelineView)))]
pub async fn pipeline(State(state): Shared) -> ApiResult<Json<PipelineView>> {
    let overview = store::health::overview(&state.pool).await?;
    let (queues, broker_error) = match state.queues.depths() {
        Ok(queues) => (queues, None),
        Err(error) => (Vec::new(), Some(format!("{error:#}"))),
    };
    let units = state.config.reports.units.iter().map(|p| p.code.as_str());
    Ok(Json(PipelineView {
        queues,
        broker_error,
        units: unit_health(units, &overview),
        outbox: overview
            .outbox
            .iter()
            .map(|(state, count)| OutboxCount {
                state: state.clone(),
                count: *count,
            })
            .collect(),
        failures: overview
            .failures
            .iter()
            .map(|f| FailureView {
                unit: f.unit.clone(),
                period: f.period.to_string(),
                error: f.error.clone(),
                since: f.first_failed_at,
                attempts: f.attempts,
            })
            .collect(),
        held: state
            .config
            .reports
            .certificates
            .unavailable(Utc::now())
            .into_iter()
            .map(|(unit, cause)| HeldView { unit, cause })
            .collect(),
        sources: feeds(&state).await?,
        as_of: Utc::now(),
    }))
}

/// Each source: configured ones first, with their token's problem and silence, then any other
/// that sent bodies.
async fn feeds(state: &AppState) -> anyhow::Result<Vec<FeedView>> {
    let now = Utc::now();
    let feeds = store::feeds::feeds(&state.pool).await?;
    let today = state.config.local_day_start(now);
    let refused = store::feeds::refused_since(&state.pool, today).await?;
    let views = state
        .silence
        .judge(&feeds, now)
        .into_iter()
        .map(|(source, feed, silent)| {
            let configured = state.config.sources.iter().find(|s| s.name == source);
            let dialects = match (configured, feed) {
                (Some(c), _) => c.dialects.iter().map(|d| d.as_str().to_owned()).collect(),
                (None, Some(f)) => vec![f.dialect.clone()],
                (None, None) => Vec::new(),
            };
            let refused_today = refused
                .iter()
                .filter(|(s, ..)| *s == source)
                .map(|(_, reason, count)| RefusedView {
                    reason: reason.clone(),
                    count: *count,
                })
                .collect();
            FeedView {
                configured: configured.is_some(),
                dialects,
                problem: configured.and_then(|c| c.problem()).map(str::to_owned),
                last_body_at: feed.map(|f| f.last_body_at),
                last_records: feed.map(|f| f.last_records),
                bodies: feed.map_or(0, |f| f.bodies),
                records: feed.map_or(0, |f| f.records),
                refused_today,
                silent,
                source,
            }
        })
        .collect();
    Ok(views)
}

/// Each of `units` with its activity and problems from `overview`, in the given order.
fn unit_health<'a>(units: impl Iterator<Item = &'a str>, overview: &Overview) -> Vec<UnitHealth> {
    let mut healths: Vec<UnitHealth> = units
        .map(|unit| UnitHealth {
            unit: unit.to_owned(),
            ..UnitHealth::default()
        })
        .collect();
    let index: HashMap<String, usize> = healths
        .iter()
        .enumerate()
        .map(|(at, health)| (health.unit.clone(), at))
        .collect();
    for problems in &overview.problems {
        if let Some(&at) = index.get(&problems.unit) {
            healths[at].orphans = problems.orphans;
            healths[at].conflicts = problems.conflicts;
            healths[at].recalled = problems.recalled;
        }
    }
    for a in &overview.activity {
        let Some(&at) = index.get(&a.unit) else {
            continue;
        };
        healths[at].events += a.events;
        healths[at].sources.push(SourceView {
            source: domain::Source::of_type(&a.event_type)
                .map_or("unknown", domain::Source::as_str)
                .to_owned(),
            event_type: a.event_type.clone(),
            events: a.events,
            last_stored_at: a.last_stored_at,
            last_occurred_at: a.last_occurred_at,
        });
    }
    healths
}
