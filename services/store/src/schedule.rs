//! What the scheduler needs to know beyond the reports themselves: the issuing that failed,
//! per unit and period, until it succeeds; and ingest's heartbeat, which says whether events
//! may still be waiting in the queues when a report is due.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::{Period, UnitCode};
use sqlx::PgPool;
use uuid::Uuid;

/// An issuing that failed and has not succeeded since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueFailure {
    /// The unit (or summary).
    pub unit: String,
    /// The period.
    pub period: Period,
    /// The last error.
    pub error: String,
    /// When it first failed.
    pub first_failed_at: DateTime<Utc>,
    /// When it last failed.
    pub last_failed_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: i32,
}

/// Records that issuing `unit`'s report for `period` failed with `error` at `now`.
pub async fn record_failure(
    pool: &PgPool,
    unit: &UnitCode,
    period: Period,
    error: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into issue_failure (unit, period, error, first_failed_at, last_failed_at, attempts)
         values ($1, $2, $3, $4, $4, 1)
         on conflict (unit, period) do update
         set error = excluded.error, last_failed_at = excluded.last_failed_at,
             attempts = issue_failure.attempts + 1",
        unit.as_str(),
        period.to_string(),
        error,
        now,
    )
    .execute(pool)
    .await
    .context("Failed to record a failed issue")?;
    Ok(())
}

/// Forgets the failures of `unit`'s report for `period`, now that it was issued (or is no
/// longer due); within the issuing transaction, when given one.
pub async fn clear_failure(
    executor: impl sqlx::PgExecutor<'_>,
    unit: &UnitCode,
    period: Period,
) -> anyhow::Result<()> {
    sqlx::query!(
        "delete from issue_failure where unit = $1 and period = $2",
        unit.as_str(),
        period.to_string(),
    )
    .execute(executor)
    .await
    .context("Failed to clear a failed issue")?;
    Ok(())
}

/// Every failure not yet mended, by unit and period.
pub async fn failures(pool: &PgPool) -> anyhow::Result<Vec<IssueFailure>> {
    let rows = sqlx::query!(
        "select unit, period, error, first_failed_at, last_failed_at, attempts
         from issue_failure order by unit, period"
    )
    .fetch_all(pool)
    .await
    .context("Failed to read the failed issues")?;
    rows.into_iter()
        .map(|row| {
            Ok(IssueFailure {
                unit: row.unit,
                period: crate::reports::stored_period(&row.period)?,
                error: row.error,
                first_failed_at: row.first_failed_at,
                last_failed_at: row.last_failed_at,
                attempts: row.attempts,
            })
        })
        .collect()
}

/// Records that ingest process `instance` is alive and saw `ready_messages` waiting in its
/// queues; forgets processes not heard from for a day.
pub async fn heartbeat(pool: &PgPool, instance: Uuid, ready_messages: i64) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into ingest_heartbeat (instance, heard_at, ready_messages) values ($1, now(), $2)
         on conflict (instance) do update
         set heard_at = excluded.heard_at, ready_messages = excluded.ready_messages",
        instance,
        ready_messages,
    )
    .execute(pool)
    .await
    .context("Failed to record ingest's heartbeat")?;
    sqlx::query!("delete from ingest_heartbeat where heard_at < now() - interval '1 day'")
        .execute(pool)
        .await
        .context("Failed to forget old heartbeats")?;
    Ok(())
}

/// What ingest last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestHeard {
    /// How long ago the latest heartbeat came, by the database's clock.
    pub since: Duration,
    /// The most messages any process heard within `fresh` of now saw waiting.
    pub ready_messages: i64,
}

/// What ingest last said, counting as waiting messages only what processes heard within
/// `fresh` saw; `None` if no ingest process has ever been heard from.
pub async fn ingest_heard(pool: &PgPool, fresh: Duration) -> anyhow::Result<Option<IngestHeard>> {
    let fresh_seconds = fresh.as_secs_f64();
    let row = sqlx::query!(
        r#"select extract(epoch from now() - max(heard_at))::float8 as since,
                  coalesce(max(ready_messages) filter (
                      where heard_at > now() - make_interval(secs => $1)), 0)::bigint as "ready!"
           from ingest_heartbeat"#,
        fresh_seconds,
    )
    .fetch_one(pool)
    .await
    .context("Failed to read ingest's heartbeat")?;
    Ok(row.since.map(|since| IngestHeard {
        since: Duration::from_secs_f64(since.max(0.0)),
        ready_messages: row.ready,
    }))
}
