//! What became of a unit's reports (`report status`, the dashboard's report list): each
//! period's state (the one judgement of [`crate::state`]), its revisions with the delivery
//! state of every message, and whether events that arrived since the latest revision have
//! changed its figures.

use chrono::{DateTime, NaiveDate, Utc};
use domain::Period;
use serde::Serialize;
use store::PgPool;
use store::outbox::Delivery;

use crate::job::UnitJob;
use crate::state::{self, ReportView};

/// A period's report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeriodReports {
    /// The period.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub period: Period,
    /// Events arrived since the latest revision was sent, changing its figures.
    pub out_of_date: bool,
    /// Where the period's report stands, as `report status` and the department's view say.
    pub report: ReportView,
    /// Oldest first.
    pub revisions: Vec<RevisionState>,
}

/// A report revision and what became of its messages.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionState {
    /// 1 for the scheduled report, then one more per correction.
    pub revision: i32,
    /// Its number, e.g. 103 (null when numbered by hand).
    pub number: Option<i32>,
    /// Its date.
    pub issued_on: NaiveDate,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// Who signed its PDF (null: not signed).
    pub signed_by: Option<String>,
    /// Until when the signing certificate is valid.
    pub signature_valid_until: Option<DateTime<Utc>>,
    /// Whether the signature was time-stamped (PAdES B-T).
    pub timestamped: Option<bool>,
    /// One message per address.
    pub deliveries: Vec<DeliveryState>,
}

/// One message's state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryState {
    /// The address.
    pub address: String,
    /// The line of "Nơi nhận" it belongs to.
    pub label: String,
    /// queued, sending, retrying, sent, failed or superseded.
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

impl From<Delivery> for DeliveryState {
    fn from(d: Delivery) -> Self {
        Self {
            address: d.address,
            label: d.label,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            sent_at: d.sent_at,
        }
    }
}

/// The latest `latest` periods of `job`'s unit that have a report (only `only`, if given),
/// oldest first, as of `now`; `backlog_wait` as the reporter waits for ingest.
pub async fn reports(
    pool: &PgPool,
    job: &UnitJob<'_>,
    only: Option<Period>,
    latest: usize,
    now: DateTime<Utc>,
    backlog_wait: std::time::Duration,
) -> anyhow::Result<Vec<PeriodReports>> {
    let unit = &job.profile.code;
    let deliveries = store::outbox::deliveries(pool, unit, only).await?;
    let periods = store::reports::periods(pool, unit, only).await?;
    let skip = periods.len().saturating_sub(latest);
    let mut out = Vec::with_capacity(periods.len() - skip);
    for period in periods.into_iter().skip(skip) {
        let revisions = store::reports::revisions(pool, unit, period).await?;
        let judged = state::of_period(pool, job, period, now, backlog_wait).await?;
        let revisions = revisions
            .into_iter()
            .map(|r| RevisionState {
                revision: r.revision,
                number: r.number,
                issued_on: r.issued_on,
                created_at: r.created_at,
                signed_by: r.signed_by,
                signature_valid_until: r.signature_valid_until,
                timestamped: r.timestamped,
                deliveries: deliveries
                    .iter()
                    .filter(|d| d.period == period && d.revision == r.revision)
                    .cloned()
                    .map(DeliveryState::from)
                    .collect(),
            })
            .collect();
        out.push(PeriodReports {
            period,
            out_of_date: judged.out_of_date,
            report: judged.view,
            revisions,
        });
    }
    Ok(out)
}
