//! The department's overview of one period (SPEC §12): for every unit of a list, its latest
//! report revision with that revision's messages counted by state, where the scheduler stands
//! with it, and its issuing failure not yet mended. Two statements, whatever the number of
//! units; the figures themselves come from [`crate::indicators::for_units`].

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{Period, UnitCode};
use sqlx::PgPool;

use crate::reports::{Registration, stored_period};
use crate::schedule::IssueFailure;

/// A unit's latest revision of a period's report, without its text and attachments.
#[derive(Debug, Clone)]
pub struct LatestReport {
    /// The unit (or summary).
    pub unit: String,
    /// The latest revision.
    pub revision: i32,
    /// Its number (none when numbered by hand).
    pub number: Option<i32>,
    /// Its date.
    pub issued_on: NaiveDate,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// The figures it was issued with, as frozen.
    pub indicators: serde_json::Value,
    /// Who signed its PDF, if it was signed.
    pub signed_by: Option<String>,
    /// Its messages by state.
    pub messages: MessageCounts,
}

/// A revision's messages counted by outbox state (see [`crate::outbox`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCounts {
    /// Waiting for their first attempt.
    pub queued: i64,
    /// Claimed by a sender now.
    pub sending: i64,
    /// To be tried again after a transient failure.
    pub retrying: i64,
    /// Accepted by the mail server.
    pub sent: i64,
    /// Refused for good.
    pub failed: i64,
    /// Not sent: a correction replaced the revision first.
    pub superseded: i64,
}

impl MessageCounts {
    /// Messages that are still to go out (queued, being sent or to be retried).
    pub fn pending(&self) -> i64 {
        self.queued + self.sending + self.retrying
    }
}

/// Where the scheduler stands with one unit for the period.
#[derive(Debug, Clone)]
pub struct Standing {
    /// The unit (or summary).
    pub unit: String,
    /// Its registration, if the scheduler has ever run for it.
    pub registration: Option<Registration>,
    /// Its issuing of the period that failed and has not succeeded since.
    pub failure: Option<IssueFailure>,
}

/// Everything stored about the reports of `units` for one period.
#[derive(Debug, Clone)]
pub struct PeriodReports {
    /// The latest revision of each unit that has one, in no particular order.
    pub reports: Vec<LatestReport>,
    /// Every unit of the list, in the list's order.
    pub standings: Vec<Standing>,
}

/// The reports of `units` for `period` and where the scheduler stands with each: two
/// statements, run side by side.
#[tracing::instrument(skip_all, fields(units = units.len(), period = %period))]
pub async fn period_reports(
    pool: &PgPool,
    units: &[UnitCode],
    period: Period,
) -> anyhow::Result<PeriodReports> {
    let codes: Vec<&str> = units.iter().map(UnitCode::as_str).collect();
    let (reports, standings) = tokio::try_join!(
        latest_reports(pool, &codes, period),
        standings(pool, &codes, period)
    )?;
    Ok(PeriodReports { reports, standings })
}

/// The latest revision of each unit that has one, its messages counted by state.
async fn latest_reports(
    pool: &PgPool,
    codes: &[&str],
    period: Period,
) -> anyhow::Result<Vec<LatestReport>> {
    let rows = sqlx::query!(
        r#"
        select latest.unit, latest.revision, latest.number, latest.issued_on, latest.created_at,
               latest.indicators, latest.signed_by,
               messages.queued as "queued!", messages.sending as "sending!",
               messages.retrying as "retrying!", messages.sent as "sent!",
               messages.failed as "failed!", messages.superseded as "superseded!"
        from (
            select distinct on (unit) report_id, unit, revision, number, issued_on, created_at,
                   indicators, signed_by
            from report
            where unit = any($1) and period = $2
            order by unit, revision desc
        ) as latest
        cross join lateral (
            select count(*) filter (where state = 'queued') as queued,
                   count(*) filter (where state = 'sending') as sending,
                   count(*) filter (where state = 'retrying') as retrying,
                   count(*) filter (where state = 'sent') as sent,
                   count(*) filter (where state = 'failed') as failed,
                   count(*) filter (where state = 'superseded') as superseded
            from outbox where outbox.report_id = latest.report_id
        ) as messages
        "#,
        codes as &[&str],
        period.to_string(),
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the units' latest reports")?;
    Ok(rows
        .into_iter()
        .map(|row| LatestReport {
            unit: row.unit,
            revision: row.revision,
            number: row.number,
            issued_on: row.issued_on,
            created_at: row.created_at,
            indicators: row.indicators,
            signed_by: row.signed_by,
            messages: MessageCounts {
                queued: row.queued,
                sending: row.sending,
                retrying: row.retrying,
                sent: row.sent,
                failed: row.failed,
                superseded: row.superseded,
            },
        })
        .collect())
}

/// Each unit's registration and its failure for `period`, in the order of `codes`; read only
/// (the scheduler registers units, not the overview).
async fn standings(pool: &PgPool, codes: &[&str], period: Period) -> anyhow::Result<Vec<Standing>> {
    let rows = sqlx::query!(
        r#"
        select listed.unit as "unit!", registration.configured_at as "configured_at?",
               registration.settled_through,
               failure.error as "error?", failure.first_failed_at as "first_failed_at?",
               failure.last_failed_at as "last_failed_at?", failure.attempts as "attempts?"
        from unnest($1::text[]) with ordinality as listed (unit, position)
        left join unit_registration as registration on registration.unit = listed.unit
        left join issue_failure as failure
               on failure.unit = listed.unit and failure.period = $2
        order by listed.position
        "#,
        codes as &[&str],
        period.to_string(),
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the units' schedule")?;
    rows.into_iter()
        .map(|row| {
            let registration = match row.configured_at {
                Some(configured_at) => Some(Registration {
                    unit: row.unit.clone(),
                    configured_at,
                    settled_through: row
                        .settled_through
                        .as_deref()
                        .map(stored_period)
                        .transpose()?,
                }),
                None => None,
            };
            let failure = match (row.error, row.first_failed_at, row.last_failed_at) {
                (Some(error), Some(first_failed_at), Some(last_failed_at)) => Some(IssueFailure {
                    unit: row.unit.clone(),
                    period,
                    error,
                    first_failed_at,
                    last_failed_at,
                    attempts: row.attempts.unwrap_or(1),
                }),
                _ => None,
            };
            Ok(Standing {
                unit: row.unit,
                registration,
                failure,
            })
        })
        .collect()
}
